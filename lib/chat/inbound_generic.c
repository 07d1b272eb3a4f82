/* The generic chat channel, for custom integrations and tests: POST JSON
 * {"user","text"[,"id","chat","type"]} signed with X-Zhuqi-Timestamp and
 * X-Zhuqi-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." +
 * body)); the replies come back in the answer as {"replies":[...]}. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/channel.h"
#include "zhuqi/inbound.h"

static bool generic_configured(const zq_config *cfg)
{
    return cfg->generic.secret[0] != '\0';
}

static int generic_parse(const zq_config *cfg, const zq_inbound_http *h, zq_inbound_msg *msg,
                         zq_inbound_resp *resp, zq_err *err)
{
    const char *ts = h->header ? h->header(h->ctx, "X-Zhuqi-Timestamp") : NULL;
    const char *sig = h->header ? h->header(h->ctx, "X-Zhuqi-Signature") : NULL;
    const char *type;
    char want[72];
    json_t *j, *id, *text;
    long long t;
    int rc = 0;

    msg->channel = "generic";
    if (ts == NULL || sig == NULL) {
        zq_err_set(err, ZQ_EAUTH, "generic: X-Zhuqi-Timestamp or X-Zhuqi-Signature missing");
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_signature", "签名参数缺失。");
    }
    if (zq_parse_ll(ts, strlen(ts), 0, 99999999999LL, &t) < 0 ||
        llabs(t * 1000 - h->now_ms) > ZQ_INBOUND_GENERIC_WINDOW_MS) {
        zq_err_set(err, ZQ_EAUTH, "generic: timestamp %.20s outside the window", ts);
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "stale_timestamp",
                                 "请求时间戳无效或已过期。");
    }
    if (zq_sign_generic(cfg->generic.secret, ts, h->body, h->body_len, want, sizeof(want)) < 0 ||
        !zq_ct_equal(sig, strlen(sig), want, strlen(want))) {
        zq_err_set(err, ZQ_EAUTH, "generic: signature does not match");
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_signature", "签名校验失败。");
    }
    j = json_loadb(h->body, h->body_len, 0, NULL);
    if (!json_is_object(j) ||
        !zq_inbound_copy(msg->user, 129, json_string_value(json_object_get(j, "user"))) ||
        msg->user[0] == '\0') {
        zq_err_set(err, ZQ_EINVAL, "generic: body must be {\"user\": 1..128 bytes, ...}");
        rc = zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_request",
                               "请求内容应为 JSON 对象，并包含 user（1 到 128 字节）。");
        goto out;
    }
    if (!zq_inbound_copy(msg->chat, 129, json_string_value(json_object_get(j, "chat"))) ||
        msg->chat[0] == '\0')
        memcpy(msg->chat, msg->user, sizeof(msg->chat));
    /* 订阅 pushes to [generic] push_url, signed like every generic push,
     * with the chat in the body. */
    if (cfg->generic.push_url[0] != '\0' &&
        zq_inbound_copy(msg->target_address, sizeof(msg->target_address), cfg->generic.push_url) &&
        zq_inbound_copy(msg->target_chat_id, sizeof(msg->target_chat_id), msg->chat) &&
        zq_inbound_copy(msg->target_secret, sizeof(msg->target_secret), cfg->generic.secret)) {
        msg->can_push = true;
        msg->target_kind = ZQ_CH_GENERIC;
    }
    /* Without an id, a replay of the very same signed request is caught
     * by its signature. */
    id = json_object_get(j, "id");
    if (json_is_integer(id))
        rc = zq_fmt(msg->msg_id, sizeof(msg->msg_id), "%lld", (long long)json_integer_value(id));
    else if (!zq_inbound_copy(msg->msg_id, 129, json_string_value(id)) || msg->msg_id[0] == '\0')
        rc = zq_fmt(msg->msg_id, sizeof(msg->msg_id), "sig:%s", want + 7);
    if (rc < 0) {
        /* Not expected: both fit msg_id's 256 bytes. A cut id could
         * drop another message as its duplicate. */
        zq_err_set(err, ZQ_ETOOBIG, "generic: message id too long");
        rc = zq_inbound_reject(resp, 500, ZQ_ETOOBIG, "internal_error", "服务器内部错误。");
        goto out;
    }
    type = json_string_value(json_object_get(j, "type"));
    text = json_object_get(j, "text");
    if (type != NULL && strcmp(type, "text") != 0) {
        msg->kind = ZQ_INBOUND_OTHER;
    } else if (json_is_string(text)) {
        rc = zq_inbound_take_text(msg, text, resp);
    } else {
        zq_err_set(err, ZQ_EINVAL, "generic: text missing");
        rc = zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_request", "请求内容缺少 text。");
    }
out:
    json_decref(j);
    return rc;
}

static int generic_render(const zq_config *cfg, const zq_inbound_msg *msg,
                          const zq_dialogue_replies *r, int64_t now_ms, zq_inbound_resp *resp,
                          zq_chat_outbox *out, zq_err *err)
{
    size_t max = zq_inbound_limit(cfg->channels.generic_max_bytes, ZQ_INBOUND_GENERIC_MAX);
    json_t *list = json_array(), *b;
    char *s;
    size_t i;

    (void)msg;
    (void)now_ms;
    (void)out;
    for (i = 0; list != NULL && i < r->n; i++) {
        const char *p = r->text[i];
        size_t len = strlen(p);

        while (len > 0) {
            size_t n = zq_inbound_part(p, len, max);

            json_array_append_new(list, json_stringn(p, n));
            p += n;
            len -= n;
        }
    }
    b = list ? json_pack("{s:o}", "replies", list) : NULL;
    s = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (s == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "generic: out of memory");
    zq_buf_reset(&resp->body);
    zq_buf_puts(&resp->body, s);
    free(s);
    resp->status = 200;
    resp->content_type = "application/json; charset=utf-8";
    return 0;
}

const zq_inbound_adapter zq_inbound_generic = {
    .name = "generic",
    .configured = generic_configured,
    .parse = generic_parse,
    .render = generic_render,
};

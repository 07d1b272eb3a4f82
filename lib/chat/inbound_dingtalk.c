/* DingTalk (钉钉) enterprise robot in HTTP mode: timestamp and sign
 * headers, JSON messages, replies posted to the message's session webhook
 * by zhuqi-bot (priority lane) before the webhook expires. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/channel.h"
#include "zhuqi/inbound.h"
#include "zhuqi/log.h"

static bool dingtalk_configured(const zq_config *cfg)
{
    return cfg->dingtalk.app_secret[0] != '\0';
}

static const char *hdr(const zq_inbound_http *h, const char *name)
{
    return h->header ? h->header(h->ctx, name) : NULL;
}

/* A JSON string or integer member as text. */
static bool member(json_t *o, const char *key, char *out, size_t outsz)
{
    json_t *v = json_object_get(o, key);

    if (json_is_integer(v))
        return zq_fmt(out, outsz, "%lld", (long long)json_integer_value(v)) == 0;
    return zq_inbound_copy(out, outsz, json_string_value(v));
}

/* True when s is 1..max bytes of printable ASCII without spaces, quotes
 * or backslashes (what an id may hold in a target address). */
static bool plain_id(const char *s, size_t max)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '"' ||
            s[i] == '\\')
            return false;
    return i > 0 && i <= max;
}

/* 订阅 here creates a dingtalk-app target when the app's AppKey is set:
 * the group (conversationId, which DingTalk's group-send API takes as
 * openConversationId) or, in a one-to-one chat, the sender's staff id
 * (senderStaffId: only members of the organisation have one). A message
 * for another robot (robotCode, when present) is not offered 订阅. */
static void set_push(const zq_config *cfg, json_t *j, zq_inbound_msg *msg)
{
    const char *code = json_string_value(json_object_get(j, "robotCode"));
    const char *staff = json_string_value(json_object_get(j, "senderStaffId"));
    const char *want =
        cfg->dingtalk.robot_code[0] ? cfg->dingtalk.robot_code : cfg->dingtalk.app_key;

    if (cfg->dingtalk.app_key[0] == '\0' ||
        (code != NULL && code[0] != '\0' && strcmp(code, want) != 0))
        return;
    if (msg->group) {
        if (!plain_id(msg->chat, 256) ||
            zq_fmt(msg->target_address, sizeof(msg->target_address), "group:%s", msg->chat) < 0)
            return;
    } else {
        if (staff == NULL || !plain_id(staff, 64) ||
            zq_fmt(msg->target_address, sizeof(msg->target_address), "user:%s", staff) < 0)
            return;
    }
    msg->can_push = true;
    msg->target_kind = ZQ_CH_DINGTALK_APP;
}

static int dingtalk_parse(const zq_config *cfg, const zq_inbound_http *h, zq_inbound_msg *msg,
                          zq_inbound_resp *resp, zq_err *err)
{
    const char *ts = hdr(h, "timestamp"), *sign = hdr(h, "sign"), *type, *hook, *content;
    char want[64], base[300], pair[128];
    json_t *j = NULL, *exp;
    long long t, window = cfg->dingtalk.sign_window_s * 1000LL;
    int rc = 0;

    msg->channel = "dingtalk";
    if (ts == NULL || sign == NULL) {
        zq_err_set(err, ZQ_EAUTH, "dingtalk: timestamp or sign header missing");
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_signature", "签名参数缺失。");
    }
    if (zq_parse_ll(ts, strlen(ts), 0, 99999999999999LL, &t) < 0 || llabs(t - h->now_ms) > window) {
        zq_err_set(err, ZQ_EAUTH, "dingtalk: timestamp %.20s outside the window", ts);
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "stale_timestamp",
                                 "请求时间戳无效或已过期。");
    }
    if (zq_sign_dingtalk(cfg->dingtalk.app_secret, t, want, sizeof(want)) < 0 ||
        !zq_ct_equal(sign, strlen(sign), want, strlen(want))) {
        zq_err_set(err, ZQ_EAUTH, "dingtalk: sign does not match");
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_signature", "签名校验失败。");
    }
    /* The sign covers only the timestamp: within the window a captured
     * pair could carry any body. The dialogue remembers the message id
     * first seen with it for as long as it verifies, and refuses another. */
    if (zq_fmt(pair, sizeof(pair), "%lld:%.100s", t, sign) < 0)
        pair[0] = '\0';
    zq_inbound_safe_id(pair, msg->sig_id);
    msg->sig_ttl_s = (int)((t + window - h->now_ms) / 1000 + 1);
    j = json_loadb(h->body, h->body_len, 0, NULL);
    type = json_string_value(json_object_get(j, "msgtype"));
    hook = json_string_value(json_object_get(j, "sessionWebhook"));
    if (!json_is_object(j) || type == NULL ||
        !member(j, "msgId", msg->msg_id, sizeof(msg->msg_id)) || msg->msg_id[0] == '\0') {
        zq_err_set(err, ZQ_EINVAL, "dingtalk: not a message (msgtype, msgId)");
        rc = zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_message", "消息格式不正确。");
        goto out;
    }
    if (!member(j, "senderStaffId", msg->user, sizeof(msg->user)) || msg->user[0] == '\0')
        member(j, "senderId", msg->user, sizeof(msg->user));
    member(j, "conversationId", msg->chat, sizeof(msg->chat));
    if (msg->user[0] == '\0') {
        zq_err_set(err, ZQ_EINVAL, "dingtalk: no sender");
        rc = zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_message", "消息缺少发送人。");
        goto out;
    }
    if (msg->chat[0] == '\0')
        memcpy(msg->chat, msg->user, sizeof(msg->chat));
    /* Replies go only where DingTalk lives (or the configured fake). */
    /* A cut base would let replies go elsewhere: one that does not fit
     * (it always does: the setting has 255 bytes) refuses every hook. */
    if (zq_fmt(base, sizeof(base), "%s/", cfg->channels.dingtalk_base_url) < 0 || hook == NULL ||
        strncmp(hook, base, strlen(base)) != 0 ||
        !zq_inbound_copy(msg->reply_url, sizeof(msg->reply_url), hook) ||
        strpbrk(hook, " \r\n\"'<>\\") != NULL) {
        zq_err_set(err, ZQ_EINVAL, "dingtalk: sessionWebhook missing or not under %s", base);
        rc = zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_message", "消息缺少有效的回复地址。");
        goto out;
    }
    exp = json_object_get(j, "sessionWebhookExpiredTime");
    msg->reply_expires_ms = json_is_integer(exp) ? json_integer_value(exp) : 0;
    {
        const char *ct = json_string_value(json_object_get(j, "conversationType"));

        msg->group = ct != NULL && strcmp(ct, "2") == 0;
    }
    set_push(cfg, j, msg);
    /* The staff id (not the encrypted senderId): what at.atUserIds takes. */
    if (!msg->group || !member(j, "senderStaffId", msg->reply_at, sizeof(msg->reply_at)) ||
        !plain_id(msg->reply_at, 64))
        msg->reply_at[0] = '\0';
    if (strcmp(type, "text") == 0) {
        content = json_string_value(json_object_get(json_object_get(j, "text"), "content"));
        msg->kind = ZQ_INBOUND_TEXT;
        msg->text = strdup(content ? content : "");
        msg->text_len = msg->text ? strlen(msg->text) : 0;
        if (msg->text == NULL)
            rc = zq_inbound_reject(resp, 500, ZQ_ENOMEM, "internal_error", "服务器内部错误。");
    } else {
        msg->kind = ZQ_INBOUND_OTHER;
    }
out:
    json_decref(j);
    return rc;
}

/* A session-webhook text message; in a group the first part @-mentions
 * the asker (DingTalk shows the mention only when "@<staff id>" is also
 * in the text). */
static json_t *dingtalk_reply_part(const void *ctx, const char *s, size_t n, size_t i)
{
    const zq_inbound_msg *msg = ctx;
    zq_buf t = {0};
    json_t *b;

    if (i > 0 || msg->reply_at[0] == '\0')
        return json_pack("{s:s, s:{s:s%}}", "msgtype", "text", "text", "content", s, n);
    zq_buf_printf(&t, "@%s\n", msg->reply_at);
    zq_buf_append(&t, s, n);
    b = t.oom ? NULL
              : json_pack("{s:s, s:{s:s%}, s:{s:[s], s:b}}", "msgtype", "text", "text", "content",
                          t.data, t.len, "at", "atUserIds", msg->reply_at, "isAtAll", 0);
    zq_buf_free(&t);
    return b;
}

static int dingtalk_render(const zq_config *cfg, const zq_inbound_msg *msg,
                           const zq_dialogue_replies *r, int64_t now_ms, zq_inbound_resp *resp,
                           zq_chat_outbox *out, zq_err *err)
{
    static const char *const headers[] = {"Content-Type: application/json; charset=utf-8"};
    size_t max = zq_inbound_limit(cfg->channels.dingtalk_max_bytes, ZQ_INBOUND_DINGTALK_MAX);
    /* Room for the "@<staff id>" line of the first part. */
    size_t at = msg->reply_at[0] != '\0' ? strlen(msg->reply_at) + 2 : 0;
    zq_inbound_series_req q = {
        .channel = "dingtalk",
        .url = msg->reply_url,
        .headers = headers,
        .nheaders = 1,
        .expires_ms = msg->reply_expires_ms,
        .texts = (const char *const *)r->text,
        .ntexts = r->n,
        .max = max > 2 * at ? max - at : max,
        .part = dingtalk_reply_part,
        .ctx = msg,
    };

    zq_buf_reset(&resp->body);
    resp->status = 200;
    resp->content_type = "application/json; charset=utf-8";
    zq_buf_puts(&resp->body, "{}");
    if (r->n > 0 && msg->reply_expires_ms > 0 && now_ms >= msg->reply_expires_ms) {
        ZQ_WARN("event=reply_dropped channel=dingtalk reason=\"session webhook expired\"");
        return 0;
    }
    return zq_inbound_series(out, &q, err);
}

const zq_inbound_adapter zq_inbound_dingtalk = {
    .name = "dingtalk",
    .configured = dingtalk_configured,
    .parse = dingtalk_parse,
    .render = dingtalk_render,
};

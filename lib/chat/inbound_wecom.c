/* WeCom (企业微信) self-built app callback: URL verification with echostr,
 * encrypted XML messages, and the encrypted passive reply, or, for replies
 * longer than one passive reply can hold, app messages sent by zhuqi-bot. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/chatcrypt.h"
#include "zhuqi/inbound.h"
#include "zhuqi/log.h"
#include "zhuqi/targets.h"
#include "zhuqi/xml.h"

#define TRUNCATED "\n……（内容较长，未能全部显示）"

static bool wecom_configured(const zq_config *cfg)
{
    return cfg->wecom.token[0] != '\0' && cfg->wecom.encoding_aes_key[0] != '\0' &&
           cfg->wecom.corp_id[0] != '\0';
}

static const char *q(const zq_inbound_http *h, const char *name)
{
    return h->query ? h->query(h->ctx, name) : NULL;
}

/* Checks msg_signature over encrypted and the timestamp window. */
static int check_signature(const zq_config *cfg, const zq_inbound_http *h, const char *encrypted,
                           zq_inbound_resp *resp, zq_err *err)
{
    const char *sig = q(h, "msg_signature"), *ts = q(h, "timestamp"), *nonce = q(h, "nonce");
    char want[41];
    long long t;

    if (sig == NULL || ts == NULL || nonce == NULL) {
        zq_err_set(err, ZQ_EAUTH, "wecom: msg_signature, timestamp or nonce missing");
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_signature", "签名参数缺失。");
    }
    if (zq_parse_ll(ts, strlen(ts), 0, 99999999999LL, &t) < 0 ||
        llabs(t * 1000 - h->now_ms) > ZQ_INBOUND_WINDOW_MS) {
        zq_err_set(err, ZQ_EAUTH, "wecom: timestamp %.20s outside the window", ts);
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "stale_timestamp",
                                 "请求时间戳无效或已过期。");
    }
    zq_chatcrypt_wecom_signature(cfg->wecom.token, ts, nonce, encrypted, want);
    if (!zq_ct_equal(sig, strlen(sig), want, strlen(want))) {
        zq_err_set(err, ZQ_EAUTH, "wecom: msg_signature does not match");
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_signature", "签名校验失败。");
    }
    return 0;
}

static int decrypt(const zq_config *cfg, const char *b64, size_t len, zq_buf *out,
                   zq_inbound_resp *resp, zq_err *err)
{
    int rc = zq_chatcrypt_wecom_decrypt(cfg->wecom.encoding_aes_key, b64, len, cfg->wecom.corp_id,
                                        out, err);

    if (rc == -ZQ_EAUTH)
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_receiver", "消息接收方不匹配。");
    if (rc < 0)
        return zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_ciphertext", "消息解密失败。");
    return 0;
}

/* GET: the URL check. The plaintext of echostr is the whole answer. */
static int verify_url(const zq_config *cfg, const zq_inbound_http *h, zq_inbound_msg *msg,
                      zq_inbound_resp *resp, zq_err *err)
{
    const char *e = q(h, "echostr");
    char *echo;
    size_t i, n;
    int rc;

    if (e == NULL || (n = strlen(e)) == 0 || n > 4096) {
        zq_err_set(err, ZQ_EINVAL, "wecom: echostr missing or too long");
        return zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_request", "缺少 echostr 参数。");
    }
    /* A '+' that was not percent-encoded arrives as a space. */
    echo = strdup(e);
    if (echo == NULL)
        return zq_inbound_reject(resp, 500, ZQ_ENOMEM, "internal_error", "服务器内部错误。");
    for (i = 0; i < n; i++)
        if (echo[i] == ' ')
            echo[i] = '+';
    rc = check_signature(cfg, h, echo, resp, err);
    if (rc == 0) {
        zq_buf_reset(&resp->body);
        rc = decrypt(cfg, echo, n, &resp->body, resp, err);
    }
    free(echo);
    if (rc < 0)
        return rc;
    resp->status = 200;
    resp->content_type = "text/plain; charset=utf-8";
    msg->kind = ZQ_INBOUND_DONE;
    return 0;
}

static bool field(const zq_xml_doc *d, const char *name, char *out, size_t outsz)
{
    return zq_inbound_copy(out, outsz, zq_xml_get(d, name, NULL));
}

/* 订阅 here creates a wecom-app target: app messages to this member
 * through the app's message API (corp_secret and agent_id set), when the
 * message came to that very app (its AgentID, when it names one). A
 * userid the message API cannot take (WeCom's are 1..64 of letters,
 * digits and _-.@) is not offered 订阅. */
static void set_push(const zq_config *cfg, const zq_xml_doc *inner, zq_inbound_msg *msg)
{
    const char *agent = zq_xml_get(inner, "AgentID", NULL);
    char want[24];
    size_t i, n = strlen(msg->user);

    if (cfg->wecom.corp_secret[0] == '\0' || cfg->wecom.agent_id <= 0 || n == 0 || n > 64 ||
        zq_fmt(want, sizeof(want), "%d", cfg->wecom.agent_id) < 0)
        return;
    if (agent != NULL && agent[0] != '\0' && strcmp(agent, want) != 0)
        return;
    for (i = 0; i < n; i++) {
        char c = msg->user[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '-' || c == '.' || c == '@'))
            return;
    }
    msg->can_push = true;
    msg->target_kind = ZQ_CH_WECOM_APP;
    memcpy(msg->target_address, msg->user, n + 1);
}

static int wecom_parse(const zq_config *cfg, const zq_inbound_http *h, zq_inbound_msg *msg,
                       zq_inbound_resp *resp, zq_err *err)
{
    zq_pool pool = {0};
    zq_xml_doc outer, inner;
    zq_buf plain = {0};
    const char *enc, *type, *content;
    size_t enclen, clen;
    char created[32], event[64], id[128];
    int rc;

    msg->channel = "wecom";
    if (strcmp(h->method, "GET") == 0 || strcmp(h->method, "HEAD") == 0)
        return verify_url(cfg, h, msg, resp, err);
    rc = zq_xml_parse(&pool, h->body, h->body_len, &outer, err);
    if (rc < 0) {
        rc = zq_inbound_reject(resp, rc == -ZQ_ETOOBIG ? 413 : 400, -rc, "bad_xml",
                               "消息格式不正确。");
        goto out;
    }
    enc = zq_xml_get(&outer, "Encrypt", &enclen);
    if (strcmp(outer.root, "xml") != 0 || enc == NULL || enclen == 0) {
        rc = zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_xml", "消息格式不正确。");
        zq_err_set(err, ZQ_EINVAL, "wecom: no <xml><Encrypt>");
        goto out;
    }
    if ((rc = check_signature(cfg, h, enc, resp, err)) < 0)
        goto out;
    if ((rc = decrypt(cfg, enc, enclen, &plain, resp, err)) < 0)
        goto out;
    /* From here on the message is WeCom's own (signed, decrypted for our
     * CorpID): what the flat parser cannot read (approval, card and
     * contact events nest deeper than it goes) or what lacks the fields
     * of a message is nothing for the chat, and gets the empty 200 of an
     * ignored event. A 4xx would only make WeCom send it again. */
    if (zq_xml_parse(&pool, plain.data ? plain.data : "", plain.len, &inner, err) < 0) {
        ZQ_INFO("event=hook_ignored channel=wecom reason=\"unreadable XML: %s\"", err->msg);
        msg->kind = ZQ_INBOUND_IGNORE;
        rc = 0;
        goto out;
    }
    type = zq_xml_get(&inner, "MsgType", NULL);
    if (type == NULL || !field(&inner, "FromUserName", msg->user, sizeof(msg->user)) ||
        msg->user[0] == '\0') {
        ZQ_INFO("event=hook_ignored channel=wecom reason=\"MsgType or FromUserName missing\"");
        msg->user[0] = '\0';
        msg->kind = ZQ_INBOUND_IGNORE;
        rc = 0;
        goto out;
    }
    memcpy(msg->chat, msg->user, sizeof(msg->chat));
    set_push(cfg, &inner, msg);
    /* MsgIds are unique per sender only (two members' messages can carry
     * the same one): the sender is part of the de-duplication id. Events
     * carry no MsgId: the sender, time and event name are one. */
    if (field(&inner, "MsgId", id, sizeof(id)) && id[0] != '\0')
        rc = zq_fmt(msg->msg_id, sizeof(msg->msg_id), "m:%.100s:%s", msg->user, id);
    else {
        field(&inner, "CreateTime", created, sizeof(created));
        field(&inner, "Event", event, sizeof(event));
        rc = zq_fmt(msg->msg_id, sizeof(msg->msg_id), "ev:%.100s:%.31s:%.63s", msg->user, created,
                    event);
    }
    if (rc < 0) {
        /* Not expected: the precisions keep it under 256 bytes. */
        zq_err_set(err, ZQ_ETOOBIG, "wecom: message id too long");
        rc = zq_inbound_reject(resp, 500, ZQ_ETOOBIG, "internal_error", "服务器内部错误。");
        goto out;
    }
    rc = 0;
    if (strcmp(type, "text") == 0) {
        content = zq_xml_get(&inner, "Content", &clen);
        msg->kind = ZQ_INBOUND_TEXT;
        msg->text = strndup(content ? content : "", content ? clen : 0);
        msg->text_len = msg->text ? strlen(msg->text) : 0;
        if (msg->text == NULL)
            rc = zq_inbound_reject(resp, 500, ZQ_ENOMEM, "internal_error", "服务器内部错误。");
    } else if (strcmp(type, "event") == 0) {
        const char *ev = zq_xml_get(&inner, "Event", NULL);

        /* A new follower is greeted with the menu; other events are quiet. */
        if (ev != NULL && strcmp(ev, "subscribe") == 0) {
            msg->kind = ZQ_INBOUND_TEXT;
            msg->text = strdup("菜单");
            msg->text_len = msg->text ? strlen(msg->text) : 0;
        } else {
            msg->kind = ZQ_INBOUND_IGNORE;
        }
    } else {
        msg->kind = ZQ_INBOUND_OTHER;
        /* An image or a file: its MediaId fetches it (media/get) for three
         * days; a file's Title is its name. */
        if (strcmp(type, "image") == 0 || strcmp(type, "file") == 0) {
            field(&inner, "MediaId", msg->media_id, sizeof(msg->media_id));
            field(&inner, "Title", msg->media_name, sizeof(msg->media_name));
        }
    }
out:
    zq_buf_free(&plain);
    zq_pool_free(&pool);
    return rc;
}

int zq_inbound_wecom_app_parts(const zq_config *cfg, const char *user, const char *s, size_t len,
                               zq_chat_outbox *out, zq_err *err)
{
    char url[400], source[16 + ZQ_DIALOGUE_USER_MAX], ukey[ZQ_DIALOGUE_USER_MAX + 1];
    char rl[ZQ_TARGET_ID_MAX];
    size_t max = ZQ_INBOUND_WECOM_MAX, cut;
    json_t *arr = json_array(), *one;
    zq_buf last = {0};
    char *body = NULL;
    int n, rc = 0;

    if (len == 0) {
        json_decref(arr);
        return zq_err_set(err, ZQ_EINVAL, "wecom: no text for app messages");
    }
    if (arr == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "wecom: out of memory");
    for (n = 0; len > 0 && n < ZQ_CHAT_OUTBOX_MAX_PARTS; n++) {
        const char *part = s;
        size_t plen;

        cut = zq_inbound_part(s, len, max);
        plen = cut;
        if (n == ZQ_CHAT_OUTBOX_MAX_PARTS - 1 && cut < len) {
            /* The last part the series may hold: cut short, and say so. */
            cut = zq_inbound_part(s, len, max - strlen(TRUNCATED));
            ZQ_WARN("event=reply_truncated channel=wecom parts=%d bytes_left=%zu",
                    ZQ_CHAT_OUTBOX_MAX_PARTS, len - cut);
            zq_buf_append(&last, s, cut);
            zq_buf_puts(&last, TRUNCATED);
            part = last.data;
            plen = last.len;
            cut = len; /* nothing is left after this part */
        }
        one = last.oom ? NULL
                       : json_pack("{s:s, s:s, s:I, s:{s:s%}, s:i}", "touser", user, "msgtype",
                                   "text", "agentid", (json_int_t)cfg->wecom.agent_id, "text",
                                   "content", part, plen, "safe", 0);
        if (one == NULL || json_array_append_new(arr, one) < 0) {
            rc = zq_err_set(err, ZQ_ENOMEM, "wecom: cannot build app message %d", n + 1);
            goto out;
        }
        s += cut;
        len -= cut;
    }
    body = json_dumps(arr, JSON_COMPACT);
    if (zq_fmt(url, sizeof(url), "%s/cgi-bin/message/send", cfg->channels.wecom_base_url) < 0) {
        rc = zq_err_set(err, ZQ_ETOOBIG, "wecom: message API URL too long");
        goto out;
    }
    /* The chat's subscription target id: replies and reminders to this
     * member share one rate-limit log (WeCom counts both); without one
     * the messages are sent unlogged, as before a subscription. */
    zq_dialogue_user_key(user, ukey);
    if (zq_fmt(source, sizeof(source), "chat:wecom:%s", ukey) < 0 ||
        zq_target_chat_id(source, rl) < 0)
        rl[0] = '\0';
    if (body == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "wecom: out of memory");
        goto out;
    }
    rc = zq_chat_outbox_push(out, "wecom-app", url, body, NULL, 0, ZQ_CHAT_AUTH_WECOM, 0);
    if (rc < 0) {
        zq_err_set(err, -rc, "wecom: cannot queue the app messages");
        goto out;
    }
    rc = zq_chat_outbox_series(&out->e[out->n - 1], n, rl);
out:
    free(body);
    json_decref(arr);
    zq_buf_free(&last);
    return rc;
}

static int wecom_render(const zq_config *cfg, const zq_inbound_msg *msg,
                        const zq_dialogue_replies *r, int64_t now_ms, zq_inbound_resp *resp,
                        zq_chat_outbox *out, zq_err *err)
{
    zq_buf text = {0}, xml = {0}, enc = {0};
    unsigned char rnd[8];
    char ts[24], nonce[24], sig[41];
    size_t n;
    int rc = 0;

    zq_buf_reset(&resp->body);
    resp->status = 200;
    resp->content_type = "text/plain; charset=utf-8";
    if (r->n == 0 || msg->kind == ZQ_INBOUND_DONE)
        return 0; /* an empty answer: WeCom takes it as "received" */
    zq_inbound_join(&text, r);
    if (text.oom) {
        rc = zq_err_set(err, ZQ_ENOMEM, "wecom: out of memory");
        goto out;
    }
    /* One passive reply per callback. A longer answer goes whole through
     * the app message API when it is configured for the app this message
     * came to (what makes 订阅 available): the callback is answered empty
     * and zhuqi-bot sends every part in order. Not the first part
     * passively and the rest later: the bot could deliver part 2 before
     * WeCom has handed part 1 over, and a passive reply WeCom did not
     * receive (a timeout: its retry gets the empty answer of a duplicate)
     * would be lost. */
    if (text.len > ZQ_INBOUND_WECOM_MAX && msg->can_push && msg->target_kind == ZQ_CH_WECOM_APP) {
        rc = zq_inbound_wecom_app_parts(cfg, msg->user, text.data, text.len, out, err);
        goto out;
    }
    /* Without the app API: cut (on a character boundary), saying so. */
    if (text.len > ZQ_INBOUND_WECOM_MAX) {
        n = zq_inbound_part(text.data, text.len, ZQ_INBOUND_WECOM_MAX - strlen(TRUNCATED));
        text.len = n;
        zq_buf_puts(&text, TRUNCATED);
    }
    if (zq_random_bytes(rnd, sizeof(rnd)) < 0)
        memset(rnd, 7, sizeof(rnd));
    /* Both are signed: cut, they would not verify. */
    if (zq_fmt(ts, sizeof(ts), "%lld", (long long)(now_ms / 1000)) < 0 ||
        zq_fmt(nonce, sizeof(nonce), "%u%u", (unsigned)rnd[0] << 16 | rnd[1] << 8 | rnd[2],
               (unsigned)rnd[3] << 16 | rnd[4] << 8 | rnd[5]) < 0) {
        rc = zq_err_set(err, ZQ_ETOOBIG, "wecom: timestamp or nonce too long");
        goto out;
    }
    zq_buf_puts(&xml, "<xml><ToUserName>");
    zq_xml_cdata(&xml, msg->user, strlen(msg->user));
    zq_buf_puts(&xml, "</ToUserName><FromUserName>");
    zq_xml_cdata(&xml, cfg->wecom.corp_id, strlen(cfg->wecom.corp_id));
    zq_buf_printf(&xml, "</FromUserName><CreateTime>%s</CreateTime><MsgType>", ts);
    zq_xml_cdata(&xml, "text", 4);
    zq_buf_puts(&xml, "</MsgType><Content>");
    zq_xml_cdata(&xml, text.data ? text.data : "", text.len);
    zq_buf_puts(&xml, "</Content></xml>");
    if (text.oom || xml.oom) {
        rc = zq_err_set(err, ZQ_ENOMEM, "wecom: out of memory");
        goto out;
    }
    rc = zq_chatcrypt_wecom_encrypt(cfg->wecom.encoding_aes_key, xml.data, xml.len,
                                    cfg->wecom.corp_id, NULL, &enc, err);
    if (rc < 0)
        goto out;
    zq_chatcrypt_wecom_signature(cfg->wecom.token, ts, nonce, enc.data, sig);
    zq_buf_puts(&resp->body, "<xml><Encrypt>");
    zq_xml_cdata(&resp->body, enc.data, enc.len);
    zq_buf_puts(&resp->body, "</Encrypt><MsgSignature>");
    zq_xml_cdata(&resp->body, sig, strlen(sig));
    zq_buf_printf(&resp->body, "</MsgSignature><TimeStamp>%s</TimeStamp><Nonce>", ts);
    zq_xml_cdata(&resp->body, nonce, strlen(nonce));
    zq_buf_puts(&resp->body, "</Nonce></xml>");
    resp->content_type = "application/xml; charset=utf-8";
    if (resp->body.oom)
        rc = zq_err_set(err, ZQ_ENOMEM, "wecom: out of memory");
out:
    zq_buf_free(&text);
    zq_buf_free(&xml);
    zq_buf_free(&enc);
    return rc;
}

const zq_inbound_adapter zq_inbound_wecom = {
    .name = "wecom",
    .configured = wecom_configured,
    .parse = wecom_parse,
    .render = wecom_render,
};

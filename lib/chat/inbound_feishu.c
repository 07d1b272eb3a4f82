/* Feishu / Lark (飞书) app bot, event subscription: the url_verification
 * challenge (plain or encrypted), encrypted events with X-Lark-Signature,
 * the verification token, im.message.receive_v1 with its content as a
 * JSON string, and replies through the IM reply API (queued for
 * zhuqi-bot, which adds the tenant access token). */
#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/buf.h"
#include "zhuqi/chatcrypt.h"
#include "zhuqi/inbound.h"
#include "zhuqi/log.h"

static bool feishu_configured(const zq_config *cfg)
{
    return cfg->feishu.verification_token[0] != '\0' && cfg->feishu.app_id[0] != '\0' &&
           cfg->feishu.app_secret[0] != '\0';
}

static const char *hdr(const zq_inbound_http *h, const char *name)
{
    return h->header ? h->header(h->ctx, name) : NULL;
}

static bool token_ok(const zq_config *cfg, const char *tok)
{
    const char *want = cfg->feishu.verification_token;

    return tok != NULL && zq_ct_equal(tok, strlen(tok), want, strlen(want));
}

/* X-Lark-Signature over the raw body, and the timestamp window, which
 * covers Feishu's retries (ZQ_CONFIG_FEISHU_WINDOW_S). */
static int check_signature(const zq_config *cfg, const zq_inbound_http *h, zq_inbound_resp *resp,
                           zq_err *err)
{
    const char *ts = hdr(h, "X-Lark-Request-Timestamp"), *nonce = hdr(h, "X-Lark-Request-Nonce");
    const char *sig = hdr(h, "X-Lark-Signature");
    char want[65];
    long long t;

    if (ts == NULL || nonce == NULL || sig == NULL) {
        zq_err_set(err, ZQ_EAUTH, "feishu: signature headers missing");
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_signature", "签名参数缺失。");
    }
    if (zq_parse_ll(ts, strlen(ts), 0, 99999999999LL, &t) < 0 ||
        llabs(t * 1000 - h->now_ms) > ZQ_INBOUND_FEISHU_WINDOW_MS) {
        zq_err_set(err, ZQ_EAUTH, "feishu: timestamp %.20s outside the window", ts);
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "stale_timestamp",
                                 "请求时间戳无效或已过期。");
    }
    zq_chatcrypt_feishu_signature(ts, nonce, cfg->feishu.encrypt_key, h->body, h->body_len, want);
    if (!zq_ct_equal(sig, strlen(sig), want, strlen(want))) {
        zq_err_set(err, ZQ_EAUTH, "feishu: X-Lark-Signature does not match");
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_signature", "签名校验失败。");
    }
    return 0;
}

/* Drops the "@_user_1" placeholders Feishu puts where people were
 * mentioned, and collapses the spaces around them. */
static void strip_mentions(char *s)
{
    char *r = s, *w = s;

    while (*r != '\0') {
        if (strncmp(r, "@_user_", 7) == 0 && isdigit((unsigned char)r[7])) {
            r += 7;
            while (isdigit((unsigned char)*r))
                r++;
            continue;
        }
        if (strncmp(r, "@_all", 5) == 0) {
            r += 5;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

static bool id_ok(const char *s)
{
    size_t i, n = s ? strlen(s) : 0;

    if (n == 0 || n > 128)
        return false;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

/* When the event was made, in ms since the epoch: v2 header.create_time
 * (ms, a string), v1 ts (seconds, a string with a fraction); -1 when
 * missing or unreadable. */
static long long created_ms(json_t *ev, json_t *header)
{
    json_t *v = header ? json_object_get(header, "create_time") : json_object_get(ev, "ts");
    const char *s = json_string_value(v), *dot;
    long long t;

    if (json_is_integer(v))
        return header ? (long long)json_integer_value(v) : (long long)json_integer_value(v) * 1000;
    if (s == NULL)
        return -1;
    dot = header ? NULL : strchr(s, '.');
    if (zq_parse_ll(s, dot ? (size_t)(dot - s) : strlen(s), 0, 99999999999999LL, &t) < 0)
        return -1;
    return header ? t : t * 1000;
}

static int event(const zq_config *cfg, json_t *ev, int64_t now_ms, zq_inbound_msg *msg,
                 zq_inbound_resp *resp, zq_err *err)
{
    json_t *header = json_object_get(ev, "header"), *e = json_object_get(ev, "event");
    json_t *m = json_object_get(e, "message"), *sender = json_object_get(e, "sender");
    const char *tok, *type, *mtype, *stype, *content;

    /* v2 events carry the token in header, v1 at the top. */
    tok = header ? json_string_value(json_object_get(header, "token"))
                 : json_string_value(json_object_get(ev, "token"));
    if (!token_ok(cfg, tok)) {
        zq_err_set(err, ZQ_EAUTH, "feishu: verification token does not match");
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_token", "校验令牌不正确。");
    }
    type = header ? json_string_value(json_object_get(header, "event_type"))
                  : json_string_value(json_object_get(e, "type"));
    if (!zq_inbound_copy(msg->msg_id, sizeof(msg->msg_id),
                         header ? json_string_value(json_object_get(header, "event_id"))
                                : json_string_value(json_object_get(ev, "uuid"))) ||
        msg->msg_id[0] == '\0') {
        zq_err_set(err, ZQ_EINVAL, "feishu: event without an id");
        return zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_event", "事件缺少编号。");
    }
    if (type == NULL || strcmp(type, "im.message.receive_v1") != 0) {
        msg->kind = ZQ_INBOUND_IGNORE;
        return 0;
    }
    /* Event ids are forgotten after [chat] dedup_ttl, and a plain event
     * is not signed: a replay older than that would be taken again.
     * Answered like an ignored event (200): an error would only make
     * Feishu retry an event that can only get older. */
    {
        long long made = created_ms(ev, header);

        if (made < 0 || now_ms - made > (long long)cfg->chat.dedup_ttl_s * 1000) {
            ZQ_WARN("event=hook_stale channel=feishu event_id=\"%.100s\" reason=\"older than "
                    "dedup_ttl\"",
                    msg->msg_id);
            msg->kind = ZQ_INBOUND_IGNORE;
            return 0;
        }
    }
    stype = json_string_value(json_object_get(sender, "sender_type"));
    if (stype != NULL && strcmp(stype, "user") != 0) {
        msg->kind = ZQ_INBOUND_IGNORE; /* never talk to other bots */
        return 0;
    }
    if (!zq_inbound_copy(
            msg->user, sizeof(msg->user),
            json_string_value(json_object_get(json_object_get(sender, "sender_id"), "open_id"))) ||
        !zq_inbound_copy(msg->chat, sizeof(msg->chat),
                         json_string_value(json_object_get(m, "chat_id"))) ||
        !zq_inbound_copy(msg->reply_to, sizeof(msg->reply_to),
                         json_string_value(json_object_get(m, "message_id"))) ||
        msg->user[0] == '\0' || !id_ok(msg->reply_to) || !id_ok(msg->chat)) {
        zq_err_set(err, ZQ_EINVAL, "feishu: message without sender, chat or message id");
        return zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_event", "消息格式不正确。");
    }
    {
        const char *ct = json_string_value(json_object_get(m, "chat_type"));

        msg->group = ct != NULL && strcmp(ct, "group") == 0;
    }
    /* 订阅 here creates a feishu-chat target: the app's IM API sends to
     * this chat (group or p2p) with the tenant access token. */
    if (cfg->feishu.app_id[0] != '\0' && cfg->feishu.app_secret[0] != '\0') {
        msg->can_push = true;
        msg->target_kind = ZQ_CH_FEISHU_CHAT;
        memcpy(msg->target_address, msg->chat, strlen(msg->chat) + 1);
    }
    mtype = json_string_value(json_object_get(m, "message_type"));
    content = json_string_value(json_object_get(m, "content"));
    if (mtype != NULL && strcmp(mtype, "text") == 0 && content != NULL) {
        /* content is JSON inside a JSON string: {"text":"..."} */
        json_t *c = json_loads(content, 0, NULL);
        const char *text = json_string_value(json_object_get(c, "text"));

        if (text == NULL) {
            json_decref(c);
            zq_err_set(err, ZQ_EINVAL, "feishu: text content is not {\"text\":...}");
            return zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_event", "消息格式不正确。");
        }
        msg->text = strdup(text);
        json_decref(c);
        if (msg->text == NULL)
            return zq_inbound_reject(resp, 500, ZQ_ENOMEM, "internal_error", "服务器内部错误。");
        strip_mentions(msg->text);
        msg->text_len = strlen(msg->text);
        msg->kind = ZQ_INBOUND_TEXT;
        return 0;
    }
    msg->kind = ZQ_INBOUND_OTHER;
    return 0;
}

/* The one answer to a body that cannot be decrypted or read, whatever
 * went wrong: an endpoint that told bad padding from bad JSON would be a
 * decryption oracle. err (for the log only) keeps the detail. */
static int undecryptable(zq_inbound_resp *resp, zq_err *err, const char *why)
{
    if (err != NULL && err->code == 0)
        zq_err_set(err, ZQ_EINVAL, "feishu: %s", why);
    return zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_ciphertext", "消息解密失败。");
}

/* Decrypts an encrypted body into a new JSON object in *ev. With the
 * signature headers, the signature over the raw body is checked first:
 * nothing unsigned reaches the cipher then. Without them only Feishu's URL
 * check may come (unsigned, as the SDKs take it): anything else, like any
 * decrypt or parse failure, gets the one undecryptable() answer. */
static int open_envelope(const zq_config *cfg, const zq_inbound_http *h, const char *enc,
                         json_t **ev, zq_inbound_resp *resp, zq_err *err)
{
    bool signed_ = hdr(h, "X-Lark-Signature") != NULL ||
                   hdr(h, "X-Lark-Request-Timestamp") != NULL ||
                   hdr(h, "X-Lark-Request-Nonce") != NULL;
    const char *type, *tok;
    zq_buf plain = {0};
    int rc;

    *ev = NULL;
    if (cfg->feishu.encrypt_key[0] == '\0')
        return undecryptable(resp, err, "encrypted event but no encrypt_key configured");
    if (signed_ && (rc = check_signature(cfg, h, resp, err)) < 0)
        return rc;
    if (zq_chatcrypt_feishu_decrypt(cfg->feishu.encrypt_key, enc, strlen(enc), &plain, err) == 0)
        *ev = json_loadb(plain.data ? plain.data : "", plain.len, 0, NULL);
    zq_buf_free(&plain);
    if (!json_is_object(*ev)) {
        json_decref(*ev);
        *ev = NULL;
        return undecryptable(resp, err, "encrypted event does not decrypt to a JSON object");
    }
    if (signed_)
        return 0;
    type = json_string_value(json_object_get(*ev, "type"));
    tok = json_string_value(json_object_get(*ev, "token"));
    if (type == NULL || strcmp(type, "url_verification") != 0 || !token_ok(cfg, tok)) {
        json_decref(*ev);
        *ev = NULL;
        return undecryptable(resp, err, "encrypted event without signature headers");
    }
    return 0;
}

static int feishu_parse(const zq_config *cfg, const zq_inbound_http *h, zq_inbound_msg *msg,
                        zq_inbound_resp *resp, zq_err *err)
{
    json_t *outer = json_loadb(h->body, h->body_len, 0, NULL), *ev = NULL;
    const char *enc = json_string_value(json_object_get(outer, "encrypt"));
    const char *type;
    bool encrypted = enc != NULL;
    int rc = 0;

    msg->channel = "feishu";
    if (!json_is_object(outer)) {
        zq_err_set(err, ZQ_EINVAL, "feishu: body is not a JSON object");
        rc = zq_inbound_reject(resp, 400, ZQ_EINVAL, "malformed_json", "请求内容不是有效的 JSON。");
        goto out;
    }
    if (encrypted) {
        if ((rc = open_envelope(cfg, h, enc, &ev, resp, err)) < 0)
            goto out;
    } else {
        ev = json_incref(outer);
    }
    type = json_string_value(json_object_get(ev, "type"));
    if (type != NULL && strcmp(type, "url_verification") == 0) {
        const char *challenge = json_string_value(json_object_get(ev, "challenge"));
        json_t *ans;
        char *s;

        if (!token_ok(cfg, json_string_value(json_object_get(ev, "token")))) {
            zq_err_set(err, ZQ_EAUTH, "feishu: challenge with a wrong token");
            rc = zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_token", "校验令牌不正确。");
            goto out;
        }
        ans = json_pack("{s:s}", "challenge", challenge ? challenge : "");
        s = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
        json_decref(ans);
        zq_buf_reset(&resp->body);
        zq_buf_puts(&resp->body, s ? s : "{}");
        free(s);
        resp->status = 200;
        resp->content_type = "application/json; charset=utf-8";
        msg->kind = ZQ_INBOUND_DONE;
        goto out;
    }
    /* With an Encrypt Key every event is encrypted and signed (an
     * encrypted one was checked by open_envelope). */
    if (cfg->feishu.encrypt_key[0] != '\0' && !encrypted) {
        zq_err_set(err, ZQ_EAUTH, "feishu: plain event while encrypt_key is set");
        rc = zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_signature", "事件必须加密并签名。");
        goto out;
    }
    rc = event(cfg, ev, h->now_ms, msg, resp, err);
out:
    json_decref(outer);
    json_decref(ev);
    return rc;
}

/* An IM reply: a text message whose content is itself a JSON string, with
 * a uuid made of the message it answers and the part's place: Feishu
 * delivers one request per uuid within an hour, so a part sent again
 * after its answer was lost (by the bot's retry, or libcurl's on a
 * reused connection) reaches the chat once. ctx: the message id. */
static json_t *feishu_reply_part(const void *ctx, const char *s, size_t n, size_t i)
{
    json_t *c = json_pack("{s:s%}", "text", s, n), *b;
    char *content = c ? json_dumps(c, JSON_COMPACT) : NULL, seed[300], uuid[33];
    unsigned char md[32];
    unsigned int mdlen = 0;

    b = content ? json_pack("{s:s, s:s}", "msg_type", "text", "content", content) : NULL;
    if (b != NULL && zq_fmt(seed, sizeof(seed), "reply:%s:%zu", (const char *)ctx, i) == 0 &&
        EVP_Digest(seed, strlen(seed), md, &mdlen, EVP_sha256(), NULL) == 1) {
        zq_hex(md, 16, uuid); /* 32 hex digits: Feishu takes at most 50 */
        json_object_set_new(b, "uuid", json_string(uuid));
    }
    json_decref(c);
    free(content);
    return b;
}

static int feishu_render(const zq_config *cfg, const zq_inbound_msg *msg,
                         const zq_dialogue_replies *r, int64_t now_ms, zq_inbound_resp *resp,
                         zq_chat_outbox *out, zq_err *err)
{
    static const char *const headers[] = {"Content-Type: application/json; charset=utf-8"};
    char url[1024];
    zq_inbound_series_req q = {
        .channel = "feishu",
        .url = url,
        .headers = headers,
        .nheaders = 1,
        .auth = ZQ_CHAT_AUTH_FEISHU,
        .texts = (const char *const *)r->text,
        .ntexts = r->n,
        .max = zq_inbound_limit(cfg->channels.feishu_max_bytes, ZQ_INBOUND_FEISHU_MAX),
        .part = feishu_reply_part,
        .ctx = msg->reply_to,
    };

    (void)now_ms;
    zq_buf_reset(&resp->body);
    resp->status = 200;
    resp->content_type = "application/json; charset=utf-8";
    zq_buf_puts(&resp->body, "{}");
    if (r->n == 0)
        return 0;
    if (zq_fmt(url, sizeof(url), "%s/open-apis/im/v1/messages/%s/reply",
               cfg->channels.feishu_base_url, msg->reply_to) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "feishu: reply URL too long");
    return zq_inbound_series(out, &q, err);
}

const zq_inbound_adapter zq_inbound_feishu = {
    .name = "feishu",
    .configured = feishu_configured,
    .parse = feishu_parse,
    .render = feishu_render,
};

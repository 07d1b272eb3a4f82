/* Telegram bot webhook: the secret-token header, updates as JSON, and the
 * reply carried in the webhook answer as a sendMessage call. What does
 * not fit in one message goes through the bot's priority lane. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zhuqi/inbound.h"
#include "zhuqi/log.h"

static bool telegram_configured(const zq_config *cfg)
{
    return cfg->telegram.secret_token[0] != '\0';
}

/* Update kinds that are messages from people but not text. */
static const char *const non_text[] = {"photo", "sticker",  "voice",     "video",    "video_note",
                                       "audio", "document", "animation", "location", "contact",
                                       "venue", "poll",     "dice",      NULL};

/* The photo or document of message m, for the media fetch: a photo's
 * largest size (Telegram lists the sizes smallest first, but the area is
 * what counts), a document's file_id, name and size. Leaves msg alone
 * when m has neither, or an id that does not fit. */
static void take_media(json_t *m, zq_inbound_msg *msg)
{
    json_t *photo = json_object_get(m, "photo"), *doc = json_object_get(m, "document"),
           *best = NULL;
    json_t *p, *cap = json_object_get(m, "caption");
    long long area = -1;
    size_t i;

    json_array_foreach(photo, i, p)
    {
        long long a = (long long)json_integer_value(json_object_get(p, "width")) *
                      (long long)json_integer_value(json_object_get(p, "height"));

        if (json_is_string(json_object_get(p, "file_id")) && a >= area) {
            best = p;
            area = a;
        }
    }
    if (best == NULL && json_is_object(doc) && json_is_string(json_object_get(doc, "file_id")))
        best = doc;
    if (best == NULL || !zq_inbound_copy(msg->media_id, sizeof(msg->media_id),
                                         json_string_value(json_object_get(best, "file_id"))))
        return;
    if (best == doc)
        zq_inbound_copy(msg->media_name, sizeof(msg->media_name),
                        json_string_value(json_object_get(doc, "file_name")));
    if (json_is_integer(json_object_get(best, "file_size")))
        msg->media_size = (long long)json_integer_value(json_object_get(best, "file_size"));
    zq_inbound_copy(msg->media_caption, sizeof(msg->media_caption), json_string_value(cap));
}

/* True when a message's date (seconds) is missing or older than the
 * de-duplication memory. */
static bool stale(const zq_config *cfg, json_t *date, int64_t now_ms)
{
    return !json_is_integer(date) ||
           now_ms / 1000 - (int64_t)json_integer_value(date) > cfg->chat.dedup_ttl_s;
}

/* True for "/command@name" where name is not [telegram] username: a
 * group's command for another bot (seen when privacy mode is off or the
 * bot is an admin). Unknown without a configured username: taken. */
static bool for_another_bot(const zq_config *cfg, const char *text)
{
    const char *at, *end;
    size_t n;

    if (cfg->telegram.username[0] == '\0' || text[0] != '/')
        return false;
    end = text + strcspn(text, " \t\r\n");
    at = memchr(text, '@', (size_t)(end - text));
    if (at == NULL)
        return false;
    /* The name ends where username characters do ("/help@x_bot." too). */
    n = strspn(at + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
    return n != strlen(cfg->telegram.username) ||
           strncasecmp(at + 1, cfg->telegram.username, n) != 0;
}

static int telegram_parse(const zq_config *cfg, const zq_inbound_http *h, zq_inbound_msg *msg,
                          zq_inbound_resp *resp, zq_err *err)
{
    const char *got = h->header ? h->header(h->ctx, "X-Telegram-Bot-Api-Secret-Token") : NULL;
    const char *want = cfg->telegram.secret_token;
    json_t *j, *m, *from, *chat, *uid, *text;
    int rc = 0;
    size_t i;

    msg->channel = "telegram";
    if (got == NULL || !zq_ct_equal(got, strlen(got), want, strlen(want))) {
        zq_err_set(err, ZQ_EAUTH, "telegram: secret token %s", got ? "does not match" : "missing");
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_token", "密钥令牌不正确。");
    }
    j = json_loadb(h->body, h->body_len, 0, NULL);
    uid = json_object_get(j, "update_id");
    if (!json_is_object(j) || !json_is_integer(uid)) {
        zq_err_set(err, ZQ_EINVAL, "telegram: not an update");
        rc = zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_update", "更新内容格式不正确。");
        goto out;
    }
    /* Numbers always fit the 256-byte fields; a cut id could pass for
     * another message's (or below, another user's). */
    if (zq_fmt(msg->msg_id, sizeof(msg->msg_id), "%lld", (long long)json_integer_value(uid)) < 0) {
        zq_err_set(err, ZQ_ETOOBIG, "telegram: update id too long");
        rc = zq_inbound_reject(resp, 500, ZQ_ETOOBIG, "internal_error", "服务器内部错误。");
        goto out;
    }
    m = json_object_get(j, "message");
    from = json_object_get(m, "from");
    chat = json_object_get(m, "chat");
    if (!json_is_object(m) || !json_is_integer(json_object_get(chat, "id")) ||
        !json_is_integer(json_object_get(from, "id")) ||
        json_is_true(json_object_get(from, "is_bot"))) {
        /* Edits, channel posts, callbacks, bots: nothing to answer. */
        msg->kind = ZQ_INBOUND_IGNORE;
        goto out;
    }
    /* Remembered update ids are forgotten after [chat] dedup_ttl: a
     * replay older than that would be taken again. Answered like an
     * ignored update (200): an error would only make Telegram retry a
     * message that can only get older. */
    if (stale(cfg, json_object_get(m, "date"), h->now_ms)) {
        ZQ_WARN("event=hook_stale channel=telegram update_id=%s reason=\"older than dedup_ttl\"",
                msg->msg_id);
        msg->kind = ZQ_INBOUND_IGNORE;
        goto out;
    }
    if (zq_fmt(msg->user, sizeof(msg->user), "%lld",
               (long long)json_integer_value(json_object_get(from, "id"))) < 0 ||
        zq_fmt(msg->chat, sizeof(msg->chat), "%lld",
               (long long)json_integer_value(json_object_get(chat, "id"))) < 0) {
        zq_err_set(err, ZQ_ETOOBIG, "telegram: user or chat id too long");
        rc = zq_inbound_reject(resp, 500, ZQ_ETOOBIG, "internal_error", "服务器内部错误。");
        goto out;
    }
    memcpy(msg->reply_to, msg->chat, sizeof(msg->reply_to));
    {
        const char *ct = json_string_value(json_object_get(chat, "type"));

        msg->group = ct != NULL && strcmp(ct, "private") != 0;
    }
    if (cfg->telegram.bot_token[0] != '\0') {
        msg->can_push = true;
        msg->target_kind = ZQ_CH_TELEGRAM;
        zq_inbound_copy(msg->target_address, sizeof(msg->target_address), cfg->telegram.bot_token);
        memcpy(msg->target_chat_id, msg->chat, strlen(msg->chat) + 1);
    }
    text = json_object_get(m, "text");
    if (json_is_string(text) && for_another_bot(cfg, json_string_value(text))) {
        msg->kind = ZQ_INBOUND_IGNORE;
        goto out;
    }
    if (json_is_string(text)) {
        rc = zq_inbound_take_text(msg, text, resp);
        goto out;
    }
    msg->kind = ZQ_INBOUND_IGNORE;
    for (i = 0; non_text[i] != NULL; i++)
        if (json_object_get(m, non_text[i]) != NULL)
            msg->kind = ZQ_INBOUND_OTHER;
    if (msg->kind == ZQ_INBOUND_OTHER)
        take_media(m, msg);
out:
    json_decref(j);
    return rc;
}

/* A sendMessage in plain text (no parse_mode: nothing to escape). */
static json_t *telegram_reply_part(const void *ctx, const char *s, size_t n, size_t i)
{
    (void)i;
    return json_pack("{s:I, s:s%}", "chat_id", *(const json_int_t *)ctx, "text", s, n);
}

static int telegram_render(const zq_config *cfg, const zq_inbound_msg *msg,
                           const zq_dialogue_replies *r, int64_t now_ms, zq_inbound_resp *resp,
                           zq_chat_outbox *out, zq_err *err)
{
    static const char *const headers[] = {"Content-Type: application/json; charset=utf-8"};
    size_t max = zq_inbound_limit(cfg->channels.telegram_max_bytes, ZQ_INBOUND_TELEGRAM_MAX);
    zq_buf all = {0};
    char url[1024];
    const char *text;
    size_t n;
    long long chat = 0;
    json_int_t chat_j;
    json_t *b;
    char *body;
    int rc = 0;
    zq_inbound_series_req q = {
        .channel = "telegram",
        .url = url,
        .headers = headers,
        .nheaders = 1,
        .texts = &text,
        .ntexts = 1,
        .max = max,
        .part = telegram_reply_part,
        .ctx = &chat_j,
    };

    (void)now_ms;
    zq_buf_reset(&resp->body);
    resp->status = 200;
    resp->content_type = "application/json; charset=utf-8";
    zq_parse_ll(msg->reply_to, strlen(msg->reply_to), -9223372036854775807LL, 9223372036854775807LL,
                &chat);
    chat_j = (json_int_t)chat;
    if (r->n > 0 && zq_inbound_join(&all, r) < 0)
        return zq_err_set(err, ZQ_ENOMEM, "telegram: out of memory");
    text = all.data;
    n = r->n > 0 ? zq_inbound_part(all.data, all.len, max) : 0;
    /* A reply in several parts goes out as one series through the Bot
     * API, all of it: a first part in this answer would race the rest. */
    if (n > 0 && n < all.len && cfg->telegram.bot_token[0] != '\0') {
        if (zq_fmt(url, sizeof(url), "%s/bot%s/sendMessage", cfg->channels.telegram_base_url,
                   cfg->telegram.bot_token) == 0) {
            zq_buf_puts(&resp->body, "{}");
            rc = zq_inbound_series(out, &q, err);
            goto out;
        }
        ZQ_WARN("event=reply_truncated channel=telegram reason=\"send URL too long\"");
    } else if (n > 0 && n < all.len) {
        ZQ_WARN("event=reply_truncated channel=telegram reason=\"no bot_token for the rest\"");
    }
    if (n == 0) {
        zq_buf_puts(&resp->body, "{}");
        goto out;
    }
    b = json_pack("{s:s, s:I, s:s%}", "method", "sendMessage", "chat_id", chat_j, "text", all.data,
                  n);
    body = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (body == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "telegram: out of memory");
        goto out;
    }
    zq_buf_puts(&resp->body, body);
    free(body);
out:
    zq_buf_free(&all);
    return rc;
}

const zq_inbound_adapter zq_inbound_telegram = {
    .name = "telegram",
    .configured = telegram_configured,
    .parse = telegram_parse,
    .render = telegram_render,
};

/* Telegram: the Bot API's sendMessage with HTML (specs/channels.md); the
 * limit counts the visible characters as Telegram does, and the answer is
 * {"ok":true} or {"ok":false,"error_code","description","parameters":
 * {"retry_after"}}. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "channel_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"

/* A chat id that is a number goes out as a JSON number. */
static json_t *telegram_chat(const char *id)
{
    long long v;

    if (zq_parse_ll(id, strlen(id), -9000000000000000000LL, 9000000000000000000LL, &v) == 0)
        return json_integer((json_int_t)v);
    return json_string(id);
}

static json_t *telegram_part(const zq_ch_render *rd, size_t i, zq_buf *c, zq_buf *unused)
{
    json_t *root = json_object();
    int bad = root == NULL || zq_ch_labelled(c, rd, i) < 0;

    (void)unused;
    bad |= json_object_set_new(root, "chat_id", telegram_chat(rd->t->chat_id));
    bad |= json_object_set_new(root, "text", zq_ch_jstr(c->data, c->len));
    bad |= json_object_set_new(root, "parse_mode", json_string("HTML"));
    bad |= json_object_set_new(root, "disable_web_page_preview", json_true());
    return zq_ch_built(root, bad);
}

static int render_telegram(zq_ch_render *rd)
{
    zq_buf url = {0};
    int rc;

    zq_buf_puts(&url, rd->cc->base_url[ZQ_CH_TELEGRAM]);
    zq_buf_puts(&url, "/bot");
    zq_buf_puts(&url, rd->t->address); /* checked: [A-Za-z0-9:_-] */
    zq_buf_puts(&url, "/sendMessage");
    rc = zq_ch_render_parts(rd, &url, ZQ_AUTH_NONE, telegram_part);
    zq_buf_free(&url);
    return rc;
}

/* The title in bold, then the body as Telegram's HTML. */
static int telegram_compose(const zq_ch_render *rd, const zq_buf *title, const zq_buf *body,
                            zq_ch_text *tx)
{
    (void)rd;
    if (title->len > 0) {
        zq_buf_puts(&tx->full, "<b>");
        zq_ch_md_escape(&tx->full, MD_HTML, title->data, title->len, false);
        zq_buf_puts(&tx->full, "</b>\n\n");
    }
    if (body->len > 0)
        zq_ch_md_convert(&tx->full, MD_HTML, body->data, body->len);
    tx->wm = W_TELEGRAM;
    tx->label_in_text = true;
    return tx->full.oom ? -ZQ_ENOMEM : 0;
}

static int telegram_check(const zq_channel_config *cc, const zq_target *t, zq_err *err)
{
    (void)cc;
    if (!zq_ch_token_ok(t->address, false))
        return zq_err_set(err, ZQ_EINVAL, "target %.48s: bad telegram bot token", t->id);
    if (t->chat_id[0] == '\0' || !zq_ch_token_ok(t->chat_id, true) ||
        !zq_utf8_valid(t->chat_id, strlen(t->chat_id)))
        return zq_err_set(err, ZQ_EINVAL, "target %.48s: bad telegram chat id", t->id);
    return 0;
}

static void telegram_settings(const zq_config *cfg, zq_channel_limits *lim, const char **base_url)
{
    *base_url = cfg->channels.telegram_base_url;
    lim->max_bytes = cfg->channels.telegram_max_bytes;
    lim->per_minute = cfg->channels.telegram_per_minute;
    lim->per_second = cfg->channels.telegram_per_second;
}

static zq_delivery telegram_classify(long status, json_t *o, const char *retry_after,
                                     int64_t *retry_after_ms, char *reason, size_t reasonsz)
{
    json_t *ok = o != NULL ? json_object_get(o, "ok") : NULL;
    long long code = status, ra;

    (void)retry_after;
    if (!json_is_boolean(ok)) {
        if (status >= 200 && status < 300) {
            zq_ch_say(reason, reasonsz, "telegram: unknown answer (HTTP %ld, no ok)", status);
            return ZQ_DELIVERY_RETRY;
        }
        zq_ch_say(reason, reasonsz, "telegram: HTTP %ld", status);
        return status == 429 ? ZQ_DELIVERY_RETRY : ZQ_DELIVERY_FAIL;
    }
    if (json_is_true(ok) && status >= 200 && status < 300) {
        zq_ch_say(reason, reasonsz, "ok");
        return ZQ_DELIVERY_DONE;
    }
    zq_ch_get_int(o, "error_code", &code);
    zq_ch_say(reason, reasonsz, "telegram %lld: %.120s", code, zq_ch_get_str(o, "description"));
    if (code == 429 || status == 429) {
        if (zq_ch_get_int(json_object_get(o, "parameters"), "retry_after", &ra) && ra > 0) {
            if (ra > ZQ_CHANNEL_RETRY_AFTER_MAX_S)
                ra = ZQ_CHANNEL_RETRY_AFTER_MAX_S;
            *retry_after_ms = (int64_t)ra * 1000;
        }
        return ZQ_DELIVERY_RETRY;
    }
    if (code >= 500)
        return ZQ_DELIVERY_RETRY;
    return ZQ_DELIVERY_FAIL;
}

/* The token BotFather gives: "<digits>:<letters, digits, - and _>". */
static int telegram_address(const char *in, char *out, size_t outsz, const char **msg)
{
    const char *colon;
    size_t n;

    *msg = "Telegram 地址应为 BotFather 给出的机器人 token（形如 123456:ABC-def）。";
    if (zq_ch_take_segment(in, "/bot", out, outsz) < 0 || (n = strlen(out)) < 10 || n > 128 ||
        (colon = strchr(out, ':')) == NULL || colon == out ||
        !zq_ch_token_chars(out, (size_t)(colon - out), "") ||
        !zq_ch_token_chars(colon + 1, strlen(colon + 1), "-_") || colon[1] == '\0')
        return -1;
    for (const char *p = out; p < colon; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    *msg = NULL;
    return 0;
}

/* A chat: a number (groups negative) or an @channel name. */
static bool chat_id_valid(const char *s)
{
    size_t n = strlen(s), i = 0;

    if (n == 0 || n >= 64)
        return false;
    if (s[0] == '@')
        return n >= 6 && n <= 33 && zq_ch_token_chars(s + 1, n - 1, "_");
    if (s[0] == '-')
        i = 1;
    if (i == n || n - i > 20)
        return false;
    for (; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int telegram_chat_id(const char *s, zq_target *t, const char **msg)
{
    if (s == NULL || !chat_id_valid(s)) {
        *msg = "请填写 Telegram 聊天编号（数字，群组为负数）或 @频道名。";
        return -1;
    }
    memcpy(t->chat_id, s, strlen(s) + 1); /* chat_id_valid: 33 bytes at most */
    return 0;
}

const zq_channel_ops zq_ch_telegram = {
    .kind = ZQ_CH_TELEGRAM,
    .name = "telegram",
    .default_base = "https://api.telegram.org",
    .limits = {4096, 20, 0},
    .json_answer = true,
    .reply_prefix = {"telegram"},
    .address = telegram_address,
    .chat_id = telegram_chat_id,
    .chat_id_required = true,
    .sample_address = "123456:BOT-TOKEN",
    .sample_chat_id = "-1001234567890",
    .settings = telegram_settings,
    .check = telegram_check,
    .compose = telegram_compose,
    .render = render_telegram,
    .classify = telegram_classify,
};

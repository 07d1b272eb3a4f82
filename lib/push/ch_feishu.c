/* Feishu / Lark (飞书): the custom bot's webhook, an interactive card signed
 * in the body with the target's secret (specs/channels.md), and the app
 * bot's message to a chat through the IM API (vendor docs: 发送消息; the
 * tenant access token goes into a header when the bot sends, apptoken.h).
 * Both answer {"code","msg"} (the bot also the older {"StatusCode"});
 * the IM API's 99991400 and 230020 are frequency limits and its
 * 9999166x / 99991677 token problems. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "channel_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"

/* Feishu's mention of everyone, for card markdown. */
#define FEISHU_AT_ALL "\n<at id=all></at>"

/* A Feishu card: header = title, one "markdown" element. Returns a new
 * reference or NULL. */
static json_t *card_new(const char *header, size_t hlen, const char *content, size_t clen)
{
    json_t *card = json_object(), *cfg = json_object();
    json_t *hdr = json_object(), *title = json_object(), *els = json_array();
    json_t *el = json_object();
    int bad =
        card == NULL || cfg == NULL || hdr == NULL || title == NULL || els == NULL || el == NULL;

    bad |= json_object_set_new(cfg, "wide_screen_mode", json_true());
    bad |= json_object_set_new(title, "tag", json_string("plain_text"));
    bad |= json_object_set_new(title, "content", zq_ch_jstr(header, hlen));
    bad |= json_object_set_new(hdr, "title", title);
    bad |= json_object_set_new(hdr, "template", json_string("blue"));
    bad |= json_object_set_new(el, "tag", json_string("markdown"));
    bad |= json_object_set_new(el, "content", zq_ch_jstr(content, clen));
    bad |= json_array_append_new(els, el);
    bad |= json_object_set_new(card, "config", cfg);
    bad |= json_object_set_new(card, "header", hdr);
    bad |= json_object_set_new(card, "elements", els);
    if (bad) {
        json_decref(card);
        return NULL;
    }
    return card;
}

/* The Feishu custom bot's interactive card message; signed into the body
 * when the target has a secret. Returns a new reference or NULL. */
static json_t *feishu_card(const zq_ch_render *rd, const char *header, size_t hlen,
                           const char *content, size_t clen)
{
    json_t *root = json_object();
    char sign[64], ts[32];
    int bad = root == NULL;
    int64_t now_s = rd->now_ms / 1000;

    bad |= json_object_set_new(root, "msg_type", json_string("interactive"));
    bad |= json_object_set_new(root, "card", card_new(header, hlen, content, clen));
    if (rd->t->secret[0] != '\0') {
        bad |= zq_fmt(ts, sizeof(ts), "%lld", (long long)now_s) < 0;
        bad |= zq_sign_feishu(rd->t->secret, now_s, sign, sizeof(sign)) < 0;
        bad |= json_object_set_new(root, "timestamp", json_string(ts));
        bad |= json_object_set_new(root, "sign", json_string(sign));
    }
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* The IM API's "uuid" of part i: requests with the same uuid succeed at
 * most once an hour (vendor docs, im/v1/messages create; at most 50
 * characters), so a retry of a send whose answer was lost is not shown
 * twice. 32 hex digits of SHA-256("<idem>#<i>"): the same for every retry
 * of one outbox entry, a fixed width for the size budget. Returns 0, or -1
 * when the message has no idem key or the digest failed. */
static int chat_uuid(const zq_ch_render *rd, size_t i, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char seed[256];

    if (rd->m->idem == NULL || rd->m->idem[0] == '\0' ||
        zq_fmt(seed, sizeof(seed), "%s#%zu", rd->m->idem, i) < 0 ||
        EVP_Digest(seed, strlen(seed), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 16)
        return -1;
    zq_hex(md, 16, out);
    return 0;
}

/* The IM API's send-message body for a chat of the Feishu app: the same
 * card, serialised into the "content" string (Feishu wants JSON inside
 * JSON there), with the uuid of part i. Returns a new reference or NULL. */
static json_t *feishu_chat_body(const zq_ch_render *rd, size_t i, const char *header, size_t hlen,
                                const char *content, size_t clen)
{
    json_t *card = card_new(header, hlen, content, clen), *root;
    char *c = card != NULL ? json_dumps(card, JSON_COMPACT) : NULL;
    char uuid[33];

    json_decref(card);
    if (c == NULL)
        return NULL;
    root = json_pack("{s:s, s:s, s:s}", "receive_id", rd->t->address, "msg_type", "interactive",
                     "content", c);
    free(c);
    if (root != NULL && chat_uuid(rd, i, uuid) == 0 &&
        json_object_set_new(root, "uuid", json_string(uuid)) < 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* The request body of part i of a Feishu kind (custom bot or app chat). */
static json_t *feishu_body(const zq_ch_render *rd, size_t i, const char *header, size_t hlen,
                           const char *content, size_t clen)
{
    if (rd->t->kind == ZQ_CH_FEISHU_CHAT)
        return feishu_chat_body(rd, i, header, hlen, content, clen);
    return feishu_card(rd, header, hlen, content, clen);
}

/* The bytes of a Feishu body without content, with the widest label:
 * what each part's content must leave room for. */
static size_t feishu_envelope(const zq_ch_render *rd)
{
    char lab[48], *s;
    zq_buf h = {0};
    json_t *root;
    size_t n = (size_t)-1;

    if (zq_fmt(lab, sizeof(lab), ZQ_CHANNEL_LABEL_FMT, (size_t)ZQ_CHANNEL_MAX_PARTS,
               (size_t)ZQ_CHANNEL_MAX_PARTS) < 0)
        return n;
    zq_buf_puts(&h, rd->title[0] != '\0' ? rd->title : ZQ_CHANNEL_DEFAULT_TITLE);
    zq_buf_puts(&h, lab);
    root = h.oom ? NULL : feishu_body(rd, 0, h.data, h.len, "", 0);
    s = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;
    if (s != NULL)
        n = strlen(s);
    free(s);
    json_decref(root);
    zq_buf_free(&h);
    return n;
}

/* A part as a card: the label in its header; the last part of a custom
 * bot's message mentions everyone when asked. */
static json_t *feishu_part(const zq_ch_render *rd, size_t i, zq_buf *c, zq_buf *h)
{
    bool chat = rd->t->kind == ZQ_CH_FEISHU_CHAT;

    zq_buf_append(c, rd->parts[i].data ? rd->parts[i].data : "", rd->parts[i].len);
    if (i + 1 == rd->nparts && rd->m->mention_all && !chat)
        zq_buf_puts(c, FEISHU_AT_ALL);
    if (zq_ch_titled(h, rd, i) < 0 || c->oom)
        return NULL;
    return feishu_body(rd, i, h->data, h->len, c->data, c->len);
}

static int render_feishu(zq_ch_render *rd)
{
    bool chat = rd->t->kind == ZQ_CH_FEISHU_CHAT;
    zq_buf url = {0};
    int rc;

    if (chat) {
        /* The IM API (vendor docs, not specs/channels.md); the chat id goes
         * in the body. */
        zq_buf_puts(&url, rd->cc->base_url[ZQ_CH_FEISHU_CHAT]);
        zq_buf_puts(&url, "/open-apis/im/v1/messages?receive_id_type=chat_id");
    } else {
        zq_buf_puts(&url, rd->cc->base_url[ZQ_CH_FEISHU]);
        zq_buf_puts(&url, "/open-apis/bot/v2/hook/");
        zq_url_encode(&url, rd->t->address);
    }
    rc = zq_ch_render_parts(rd, &url, chat ? ZQ_AUTH_FEISHU : ZQ_AUTH_NONE, feishu_part);
    zq_buf_free(&url);
    return rc;
}

/* The title is the card's header and the label goes there too; the limit
 * is on the whole body, so the card's envelope is counted. */
static int feishu_compose(const zq_ch_render *rd, const zq_buf *title, const zq_buf *body,
                          zq_ch_text *tx)
{
    bool chat = rd->t->kind == ZQ_CH_FEISHU_CHAT;

    if (body->len > 0)
        zq_ch_md_convert(&tx->full, MD_LARK, body->data, body->len);
    else
        zq_ch_md_escape(&tx->full, MD_LARK, title->data, title->len, false);
    if (rd->m->mention_all && !chat)
        zq_buf_puts(&tx->suffix, FEISHU_AT_ALL);
    tx->wm = chat ? W_JSON2 : W_JSON;
    tx->label_in_text = false;
    tx->fixed = feishu_envelope(rd);
    return tx->fixed == (size_t)-1 ? -ZQ_ENOMEM : 0;
}

static void feishu_settings(const zq_config *cfg, zq_channel_limits *lim, const char **base_url)
{
    *base_url = cfg->channels.feishu_base_url;
    lim->max_bytes = cfg->channels.feishu_max_bytes;
    lim->per_minute = cfg->channels.feishu_per_minute;
    lim->per_second = cfg->channels.feishu_per_second;
}

/* Feishu's answers when the tenant access token is missing, invalid or
 * expired: fetch it again (the one place these codes are listed). */
static bool feishu_token_code(long long code)
{
    return code == 99991661 || code == 99991663 || code == 99991668 || code == 99991677;
}

/* {"code":N,"msg":"..."} or the older {"StatusCode":N}; chat: the IM
 * API's frequency limits and token codes retry too. */
static zq_delivery feishu_answer(bool chat, long status, json_t *o, char *reason, size_t reasonsz)
{
    long long code;
    const char *msg;

    if (o == NULL || !(zq_ch_get_int(o, "code", &code) || zq_ch_get_int(o, "StatusCode", &code))) {
        if (status >= 200 && status < 300) {
            zq_ch_say(reason, reasonsz, "feishu: unknown answer (HTTP %ld, no code)", status);
            return ZQ_DELIVERY_RETRY;
        }
        zq_ch_say(reason, reasonsz, "feishu: HTTP %ld", status);
        return ZQ_DELIVERY_FAIL;
    }
    msg = zq_ch_get_str(o, "msg");
    if (*msg == '\0')
        msg = zq_ch_get_str(o, "StatusMessage");
    if (code == 0) {
        zq_ch_say(reason, reasonsz, "ok");
        return ZQ_DELIVERY_DONE;
    }
    zq_ch_say(reason, reasonsz, "feishu code %lld: %.120s", code, msg);
    if (code == 11232)
        return ZQ_DELIVERY_RETRY;
    if (code == 9499 && strcasestr(msg, "too many request") != NULL)
        return ZQ_DELIVERY_RETRY;
    if (chat && (code == 99991400 || code == 230020 || feishu_token_code(code)))
        return ZQ_DELIVERY_RETRY;
    return ZQ_DELIVERY_FAIL;
}

static zq_delivery feishu_classify(long status, json_t *o, const char *retry_after,
                                   int64_t *retry_after_ms, char *reason, size_t reasonsz)
{
    (void)retry_after;
    (void)retry_after_ms;
    return feishu_answer(false, status, o, reason, reasonsz);
}

static int feishu_address(const char *in, char *out, size_t outsz, const char **msg)
{
    if (zq_ch_robot_key(in, "/hook/", false, out, outsz) < 0) {
        *msg = "飞书机器人地址应为 Webhook 地址最后一段，或完整的 .../bot/v2/hook/... 地址。";
        return -1;
    }
    return 0;
}

const zq_channel_ops zq_ch_feishu = {
    .kind = ZQ_CH_FEISHU,
    .name = "feishu-bot",
    .default_base = "https://open.feishu.cn",
    .limits = {20000, 100, 5},
    .limit_on_body = true,
    .json_answer = true,
    .takes_secret = true,
    .address = feishu_address,
    .sample_address = "HOOK-TOKEN",
    .sample_secret = "SECRET",
    .settings = feishu_settings,
    .compose = feishu_compose,
    .render = render_feishu,
    .classify = feishu_classify,
};

static zq_delivery feishu_chat_classify(long status, json_t *o, const char *retry_after,
                                        int64_t *retry_after_ms, char *reason, size_t reasonsz)
{
    (void)retry_after;
    (void)retry_after_ms;
    return feishu_answer(true, status, o, reason, reasonsz);
}

static bool feishu_chat_token_rejected(long status, json_t *o)
{
    long long code;

    (void)status;
    return zq_ch_get_int(o, "code", &code) && feishu_token_code(code);
}

static int feishu_chat_check(const zq_channel_config *cc, const zq_target *t, zq_err *err)
{
    (void)cc;
    if (!zq_ch_id_chars(t->address, 128, "_-"))
        return zq_err_set(err, ZQ_EINVAL, "target %.48s: bad feishu chat_id", t->id);
    return 0;
}

static int feishu_chat_address(const char *in, char *out, size_t outsz, const char **msg)
{
    size_t n = strlen(in);

    if (n > 128 || !zq_ch_token_chars(in, n, "_-")) {
        *msg = "飞书应用群聊的地址应为会话的 chat_id（形如 oc_…）。";
        return -1;
    }
    if (zq_fmt(out, outsz, "%s", in) < 0) {
        *msg = "地址过长。";
        return -1;
    }
    return 0;
}

/* The Feishu app's credentials ([feishu] app_id and app_secret). */
static bool feishu_chat_configured(const zq_config *cfg)
{
    return cfg->feishu.app_id[0] != '\0' && cfg->feishu.app_secret[0] != '\0';
}

const zq_channel_ops zq_ch_feishu_chat = {
    .kind = ZQ_CH_FEISHU_CHAT,
    .name = "feishu-chat",
    .default_base = "https://open.feishu.cn",
    /* Vendor docs: cards take 30 KB of request body. */
    .limits = {30000, 100, 5},
    .app = true,
    .limit_on_body = true,
    .json_answer = true,
    /* Chat replies go through the IM API with the tenant token, like
     * these messages: their frequency limits (230020, 99991400) retry. */
    .reply_prefix = {"feishu", "lark"},
    .address = feishu_chat_address,
    .sample_address = "oc_CHAT_ID",
    .settings = feishu_settings,
    .configured = feishu_chat_configured,
    .check = feishu_chat_check,
    .compose = feishu_compose,
    .render = render_feishu,
    .classify = feishu_chat_classify,
    .token_rejected = feishu_chat_token_rejected,
};

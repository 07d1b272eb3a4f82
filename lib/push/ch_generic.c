/* The generic webhook: our own JSON to any http(s) URL, signed in the
 * headers X-Zhuqi-Timestamp / X-Zhuqi-Signature with the target's secret
 * (specs/channels.md); 2xx is done, whatever the body. */
#include <stdio.h>
#include <strings.h>
#include <string.h>

#include <jansson.h>

#include "channel_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"
#include "zhuqi/netguard.h"

/* Our JSON: the text as markdown and plain, the mentions, which part. */
static json_t *generic_part(const zq_ch_render *rd, size_t i, zq_buf *md, zq_buf *plain)
{
    json_t *root = json_object();
    int bad = root == NULL || zq_ch_labelled(md, rd, i) < 0 ||
              zq_ch_md_convert(plain, MD_PLAIN, md->data, md->len) < 0;

    bad |= json_object_set_new(root, "title", json_string(rd->title));
    bad |=
        json_object_set_new(root, "text", zq_ch_jstr(plain->data ? plain->data : "", plain->len));
    bad |= json_object_set_new(root, "markdown", zq_ch_jstr(md->data, md->len));
    bad |= json_object_set_new(root, "mentions", zq_ch_mobiles_json(rd->m, false));
    bad |= json_object_set_new(root, "mention_all", json_boolean(rd->m->mention_all));
    bad |= json_object_set_new(root, "part", json_integer((json_int_t)i + 1));
    bad |= json_object_set_new(root, "parts", json_integer((json_int_t)rd->nparts));
    /* A chat subscription (订阅 on /hook/generic): which chat. */
    if (rd->t->chat_id[0] != '\0')
        bad |= json_object_set_new(root, "chat", json_string(rd->t->chat_id));
    return zq_ch_built(root, bad);
}

/* Signs r's body with secret at ts (Unix seconds) into its headers. */
static int generic_sign(zq_outreq *r, const char *secret, const char *ts)
{
    char sig[96];
    int rc = zq_sign_generic(secret, ts, r->body.data, r->body.len, sig, sizeof(sig));

    if (rc < 0)
        return rc;
    if (zq_fmt(r->headers[0], sizeof(r->headers[0]), "X-Zhuqi-Timestamp: %s", ts) < 0 ||
        zq_fmt(r->headers[1], sizeof(r->headers[1]), "X-Zhuqi-Signature: %s", sig) < 0)
        return -ZQ_ETOOBIG;
    r->nheaders = 2;
    return 0;
}

static int render_generic(zq_ch_render *rd)
{
    zq_buf url = {0};
    char ts[32];
    size_t i;
    int rc;

    zq_buf_puts(&url, rd->t->address);
    rc = zq_fmt(ts, sizeof(ts), "%lld", (long long)(rd->now_ms / 1000));
    if (rc == 0)
        rc = zq_ch_render_parts(rd, &url, ZQ_AUTH_NONE, generic_part);
    for (i = 0; rc == 0 && rd->t->secret[0] != '\0' && i < rd->nparts; i++)
        rc = generic_sign(&rd->reqs[i], rd->t->secret, ts);
    zq_buf_free(&url);
    return rc;
}

static int generic_compose(const zq_ch_render *rd, const zq_buf *title, const zq_buf *body,
                           zq_ch_text *tx)
{
    (void)rd;
    (void)title;
    zq_buf_append(&tx->full, body->data ? body->data : "", body->len);
    tx->wm = W_BYTES;
    tx->label_in_text = true;
    return tx->full.oom ? -ZQ_ENOMEM : 0;
}

static int generic_check(const zq_channel_config *cc, const zq_target *t, zq_err *err)
{
    const char *msg;

    if (!zq_ch_token_ok(t->address, true) ||
        (strncasecmp(t->address, "http://", 7) != 0 && strncasecmp(t->address, "https://", 8) != 0))
        return zq_err_set(err, ZQ_EINVAL, "target %.48s: generic address is not an http(s) URL",
                          t->id);
    /* Stored before the rules of zq_netguard_url() (or straight into
     * Redis): refused here too, for good, before anything is sent. */
    if (zq_url_has_userinfo(t->address))
        return zq_err_set(err, ZQ_EINVAL, "target %.48s: generic address has user:pass@", t->id);
    if (zq_netguard_url(&cc->generic_guard, t->address, &msg) < 0)
        return zq_err_set(err, ZQ_EINVAL,
                          "target %.48s: generic address refused: plain http or a "
                          "loopback/private address not in [channels] generic_allow",
                          t->id);
    if (!zq_utf8_valid(t->chat_id, strlen(t->chat_id)))
        return zq_err_set(err, ZQ_EINVAL, "target %.48s: generic chat is not UTF-8", t->id);
    return 0;
}

/* No base URL: the address is the whole URL. */
static void generic_settings(const zq_config *cfg, zq_channel_limits *lim, const char **base_url)
{
    *base_url = NULL;
    lim->max_bytes = cfg->channels.generic_max_bytes;
    lim->per_minute = cfg->channels.generic_per_minute;
    lim->per_second = cfg->channels.generic_per_second;
}

/* 2xx done; 429 retries with Retry-After; any other 4xx fails. */
static zq_delivery generic_classify(long status, json_t *o, const char *retry_after,
                                    int64_t *retry_after_ms, char *reason, size_t reasonsz)
{
    (void)o;
    if (status < 300) {
        zq_ch_say(reason, reasonsz, "ok");
        return ZQ_DELIVERY_DONE;
    }
    zq_ch_say(reason, reasonsz, "generic: HTTP %ld", status);
    if (status == 429) {
        *retry_after_ms = zq_ch_retry_after(retry_after);
        return ZQ_DELIVERY_RETRY;
    }
    return ZQ_DELIVERY_FAIL;
}

static int generic_address(const char *in, char *out, size_t outsz, const char **msg)
{
    if (!zq_ch_http_url(in)) {
        *msg = "通用 Webhook 地址应为以 https:// 开头的完整地址。";
        return -1;
    }
    if (zq_url_has_userinfo(in)) {
        *msg = "地址中不能包含用户名或密码（user:pass@）；请改用签名密钥。";
        return -1;
    }
    if (zq_fmt(out, outsz, "%s", in) < 0) {
        *msg = "地址过长。";
        return -1;
    }
    return 0;
}

/* Optional: the chat a generic push names ("chat" in its body), as a
 * subscription through [generic] push_url stores it. */
static int generic_chat_id(const char *s, zq_target *t, const char **msg)
{
    if (s != NULL &&
        (strlen(s) >= sizeof(t->chat_id) || !zq_utf8_valid(s, strlen(s)) || zq_ch_has_control(s))) {
        *msg = "聊天编号过长或含有无效字符。";
        return -1;
    }
    if (s != NULL)
        memcpy(t->chat_id, s, strlen(s) + 1); /* length checked above */
    return 0;
}

const zq_channel_ops zq_ch_generic = {
    .kind = ZQ_CH_GENERIC,
    .name = "generic",
    .default_base = "",
    .limits = {65536, 0, 0},
    .takes_secret = true,
    .address = generic_address,
    .chat_id = generic_chat_id,
    .address_public = true,
    .sample_address = "https://example.invalid/webhook",
    .sample_secret = "SECRET",
    .settings = generic_settings,
    .check = generic_check,
    .compose = generic_compose,
    .render = render_generic,
    .classify = generic_classify,
};

/* The outbound platforms' registry and the steps every platform goes
 * through: a message is checked, laid out by its platform, split at the
 * platform's limit and rendered into requests; an answer is read for what
 * holds on every platform (no answer, 5xx, redirects, 429) and then by
 * the platform. Each platform is one zq_channel_ops in ch_<platform>.c
 * (channel_int.h); specs/channels.md has the wire formats of the robots.
 *
 * The app message APIs (wecom-app, dingtalk-app, feishu-chat) are NOT in
 * specs/channels.md: their URLs, bodies and limits (in ch_wecom.c,
 * ch_dingtalk.c and ch_feishu.c) come from the vendors' public
 * documentation (WeCom 发送应用消息, DingTalk 机器人发送群聊
 * 消息 / 批量发送人与机器人会话中机器人消息, Feishu 发送消息) and are kept
 * behind configuration (base URLs, [wecom] agent_id, [dingtalk]
 * robot_code) so that a change on their side is a setting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "channel_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"
#include "zhuqi/log.h"

#define TITLE_MAX 200   /* bytes of the title kept; longer ones end in "…" */
#define MENTIONS_MAX 50 /* mobiles per message */
#define MIN_BUDGET 64   /* a limit leaving less than this per part is refused */

static const zq_channel_ops *const registry[ZQ_CH__COUNT] = {
    [ZQ_CH_WECOM] = &zq_ch_wecom,
    [ZQ_CH_DINGTALK] = &zq_ch_dingtalk,
    [ZQ_CH_FEISHU] = &zq_ch_feishu,
    [ZQ_CH_TELEGRAM] = &zq_ch_telegram,
    [ZQ_CH_GENERIC] = &zq_ch_generic,
    [ZQ_CH_WECOM_APP] = &zq_ch_wecom_app,
    [ZQ_CH_DINGTALK_APP] = &zq_ch_dingtalk_app,
    [ZQ_CH_FEISHU_CHAT] = &zq_ch_feishu_chat,
    [ZQ_CH_SMS] = &zq_ch_sms,
};

const zq_channel_ops *zq_channel_ops_of(zq_channel_kind k)
{
    if ((int)k < 0 || k >= ZQ_CH__COUNT)
        return NULL;
    return registry[k];
}

const char *zq_channel_name(zq_channel_kind k)
{
    const zq_channel_ops *ops = zq_channel_ops_of(k);

    return ops != NULL ? ops->name : "unknown";
}

int zq_channel_parse(const char *name, zq_channel_kind *out)
{
    int i;

    if (name == NULL)
        return -ZQ_EINVAL;
    for (i = 0; i < ZQ_CH__COUNT; i++) {
        if (strcmp(name, registry[i]->name) == 0) {
            if (out != NULL)
                *out = (zq_channel_kind)i;
            return 0;
        }
    }
    return -ZQ_EINVAL;
}

zq_channel_kind zq_channel_of_reply(const char *channel)
{
    zq_channel_kind k;
    size_t j;
    int i;

    if (zq_channel_parse(channel, &k) == 0)
        return k; /* "wecom-app", "telegram" */
    for (i = 0; i < ZQ_CH__COUNT; i++)
        for (j = 0; j < ZQ_ARRAY_LEN(registry[i]->reply_prefix); j++)
            if (registry[i]->reply_prefix[j] != NULL &&
                strncmp(channel, registry[i]->reply_prefix[j],
                        strlen(registry[i]->reply_prefix[j])) == 0)
                return (zq_channel_kind)i;
    return ZQ_CH_GENERIC;
}

bool zq_channel_is_app(zq_channel_kind k)
{
    const zq_channel_ops *ops = zq_channel_ops_of(k);

    return ops != NULL && ops->app;
}

/* Copies s into dst (dstsz bytes) when it fits whole, else leaves dst
 * "": a cut URL or code would send somewhere else, an empty one fails
 * loudly. The sources are constants or config fields no longer than dst. */
static void copy_whole(char *dst, size_t dstsz, const char *s)
{
    if (zq_fmt(dst, dstsz, "%s", s) < 0)
        dst[0] = '\0';
}

void zq_channel_config_defaults(zq_channel_config *cc)
{
    int i;

    memset(cc, 0, sizeof(*cc));
    for (i = 0; i < ZQ_CH__COUNT; i++) {
        copy_whole(cc->base_url[i], sizeof(cc->base_url[i]), registry[i]->default_base);
        cc->limits[i] = registry[i]->limits;
    }
}

/* The [channels] settings of k: its limits (max_bytes 0: the default)
 * and its base URL (NULL: the default). */
static const char *settings_of(const zq_config *cfg, zq_channel_kind k, zq_channel_limits *lim)
{
    const char *base = NULL;

    memset(lim, 0, sizeof(*lim));
    registry[k]->settings(cfg, lim, &base);
    /* The app kinds' byte limits are the documented ones (channel.h). */
    if (registry[k]->app)
        lim->max_bytes = 0;
    return base;
}

zq_channel_limits zq_channel_limits_from(const zq_config *cfg, zq_channel_kind k)
{
    zq_channel_limits lim = {0, 0, 0};

    if (zq_channel_ops_of(k) != NULL)
        settings_of(cfg, k, &lim);
    return lim;
}

int zq_channel_warn_limits(const zq_config *cfg)
{
    int n = 0;

    if (cfg->channels.wecom_app_per_minute > ZQ_WECOM_APP_PER_MINUTE_MAX) {
        ZQ_WARN("event=limit_clamped key=channels.wecom_app_per_minute asked=%d used=%d "
                "msg=\"WeCom drops app messages over its limit silently\"",
                cfg->channels.wecom_app_per_minute, ZQ_WECOM_APP_PER_MINUTE_MAX);
        n++;
    }
    if (cfg->channels.wecom_app_per_hour > ZQ_WECOM_APP_PER_HOUR_MAX) {
        ZQ_WARN("event=limit_clamped key=channels.wecom_app_per_hour asked=%d used=%d "
                "msg=\"WeCom drops app messages over its limit silently\"",
                cfg->channels.wecom_app_per_hour, ZQ_WECOM_APP_PER_HOUR_MAX);
        n++;
    }
    return n;
}

void zq_channel_config_from(const zq_config *cfg, zq_channel_config *cc)
{
    zq_channel_limits lim;
    const char *base;
    char why[200];
    int i;

    zq_channel_config_defaults(cc);
    for (i = 0; i < ZQ_CH__COUNT; i++) {
        base = settings_of(cfg, (zq_channel_kind)i, &lim);
        if (base != NULL)
            copy_whole(cc->base_url[i], sizeof(cc->base_url[i]), base);
        /* The app kinds keep their documented limits (channel.h). */
        if (!registry[i]->app)
            cc->limits[i] = lim;
    }
    /* The apps' identities: only with the credentials that go with them. */
    cc->wecom_agent_id = cfg->wecom.corp_secret[0] != '\0' ? cfg->wecom.agent_id : 0;
    if (cfg->dingtalk.app_key[0] != '\0')
        copy_whole(cc->dingtalk_robot_code, sizeof(cc->dingtalk_robot_code),
                   cfg->dingtalk.robot_code[0] != '\0' ? cfg->dingtalk.robot_code
                                                       : cfg->dingtalk.app_key);
    /* The loader checked the list: an error cannot happen here, and would
     * leave an empty list (the strict default). */
    if (zq_netguard_parse(cfg->channels.generic_allow, &cc->generic_guard, why, sizeof(why)) < 0)
        ZQ_ERROR("event=generic_allow_invalid err=\"%s\"", why);
    cc->sms = cfg->sms;
}

bool zq_channel_app_configured(const zq_config *cfg, zq_channel_kind k)
{
    const zq_channel_ops *ops = zq_channel_ops_of(k);

    return ops != NULL && ops->configured != NULL && ops->configured(cfg);
}

void zq_channel_sample_target(zq_channel_kind k, zq_target *t)
{
    const zq_channel_ops *ops = zq_channel_ops_of(k);

    memset(t, 0, sizeof(*t));
    copy_whole(t->id, sizeof(t->id), "dry-run");
    t->kind = k;
    if (ops == NULL)
        ops = &zq_ch_generic;
    copy_whole(t->address, sizeof(t->address), ops->sample_address ? ops->sample_address : "");
    copy_whole(t->secret, sizeof(t->secret), ops->sample_secret ? ops->sample_secret : "");
    copy_whole(t->chat_id, sizeof(t->chat_id), ops->sample_chat_id ? ops->sample_chat_id : "");
}

void zq_outreq_free_all(zq_outreq *reqs, size_t n)
{
    size_t i;

    if (reqs == NULL)
        return;
    for (i = 0; i < n; i++)
        zq_buf_free(&reqs[i].body);
    free(reqs);
}

/* ---- rendering ---- */

/* Checks the target (what every kind needs, then its platform's
 * checks) and the message. Returns 0 or -ZQ_EINVAL / -ZQ_ETOOBIG. */
static int check_input(const zq_channel_config *cc, const zq_target *t, const zq_message *m,
                       zq_err *err)
{
    const zq_channel_ops *ops;
    size_t i;
    int rc;

    if ((int)t->kind < 0 || t->kind >= ZQ_CH__COUNT)
        return zq_err_set(err, ZQ_EINVAL, "unknown channel %d", (int)t->kind);
    if (memchr(t->address, '\0', sizeof(t->address)) == NULL ||
        memchr(t->secret, '\0', sizeof(t->secret)) == NULL ||
        memchr(t->chat_id, '\0', sizeof(t->chat_id)) == NULL)
        return zq_err_set(err, ZQ_EINVAL, "target fields not terminated");
    if (t->address[0] == '\0')
        return zq_err_set(err, ZQ_EINVAL, "target %.48s has no address", t->id);
    if (!zq_utf8_valid(t->secret, strlen(t->secret)))
        return zq_err_set(err, ZQ_EINVAL, "target %.48s: secret is not UTF-8", t->id);
    ops = registry[t->kind];
    if (ops->check != NULL) {
        rc = ops->check(cc, t, err);
        if (rc < 0)
            return rc;
    } else if (!zq_utf8_valid(t->address, strlen(t->address))) {
        return zq_err_set(err, ZQ_EINVAL, "target %.48s: address is not UTF-8", t->id);
    }
    if ((m->title != NULL && !zq_utf8_valid(m->title, strlen(m->title))) ||
        (m->body != NULL && !zq_utf8_valid(m->body, strlen(m->body))))
        return zq_err_set(err, ZQ_EINVAL, "message is not UTF-8");
    if ((m->title == NULL || m->title[0] == '\0') && (m->body == NULL || m->body[0] == '\0'))
        return zq_err_set(err, ZQ_EINVAL, "message has neither title nor body");
    if (m->nmentions > MENTIONS_MAX)
        return zq_err_set(err, ZQ_ETOOBIG, "more than %d mentions", MENTIONS_MAX);
    if (m->nmentions > 0 && m->mention_mobiles == NULL)
        return zq_err_set(err, ZQ_EINVAL, "mentions missing");
    for (i = 0; i < m->nmentions; i++)
        if (m->mention_mobiles[i] == NULL || !zq_ch_mobile_ok(m->mention_mobiles[i]))
            return zq_err_set(err, ZQ_EINVAL, "mention %zu is not a mobile number", i + 1);
    return 0;
}

/* The limit of t's kind: the configured one, or the documented default. */
static size_t limit_of(const zq_channel_config *cc, const zq_channel_ops *ops)
{
    return cc->limits[ops->kind].max_bytes > 0 ? cc->limits[ops->kind].max_bytes
                                               : ops->limits.max_bytes;
}

/* The title normalised to one line and cut at TITLE_MAX, and the body
 * normalised. Returns 0 or -ZQ_ENOMEM. */
static int normalise(const zq_message *m, zq_buf *title, zq_buf *body)
{
    size_t cut;

    if (zq_ch_norm_text(title, m->title != NULL ? m->title : "", true) < 0 ||
        zq_ch_norm_text(body, m->body != NULL ? m->body : "", false) < 0)
        return -ZQ_ENOMEM;
    if (title->len > TITLE_MAX) {
        cut = zq_utf8_cut(title->data, title->len, TITLE_MAX);
        title->len = cut;
        title->data[cut] = '\0';
        zq_buf_puts(title, "…");
    }
    if (title->data == NULL && zq_buf_puts(title, "") < 0)
        return -ZQ_ENOMEM;
    return title->oom ? -ZQ_ENOMEM : 0;
}

/* Splits the laid-out text into parts of the limit: one part when it all
 * fits, else parts with room for a label each. Returns 0, -ZQ_ETOOBIG or
 * -ZQ_ENOMEM. */
static int split_parts(const zq_ch_text *tx, const char *name, size_t limit, zq_buf *parts,
                       size_t *nparts, zq_err *err)
{
    size_t overhead =
        tx->fixed + zq_ch_weigh(tx->wm, tx->suffix.data ? tx->suffix.data : "", tx->suffix.len);
    char lab[48];
    bool truncated;

    if (limit < overhead + MIN_BUDGET)
        return zq_err_set(err, ZQ_ETOOBIG, "%s limit %zu leaves no room for the text", name, limit);
    if (zq_ch_weigh(tx->wm, tx->full.data, tx->full.len) + overhead <= limit) {
        *nparts = 1;
        return zq_buf_append(&parts[0], tx->full.data, tx->full.len) < 0 ? -ZQ_ENOMEM : 0;
    }
    if (tx->label_in_text) {
        if (zq_fmt(lab, sizeof(lab), ZQ_CHANNEL_LABEL_FMT "\n", (size_t)ZQ_CHANNEL_MAX_PARTS,
                   (size_t)ZQ_CHANNEL_MAX_PARTS) < 0)
            return zq_err_set(err, ZQ_ETOOBIG, "%s: part label too long", name);
        overhead += zq_ch_weigh(tx->wm, lab, strlen(lab));
    }

    if (limit < overhead + MIN_BUDGET)
        return zq_err_set(err, ZQ_ETOOBIG, "%s limit %zu leaves no room for the text", name, limit);
    if (zq_ch_split(tx->wm, tx->full.data, tx->full.len, limit - overhead, parts, nparts,
                    &truncated) < 0)
        return -ZQ_ENOMEM;
    return 0;
}

/* Builds the requests of rd (its parts set) and checks what was built.
 * Returns 0 or a negative code. */
static int build(const zq_channel_ops *ops, zq_ch_render *rd, size_t limit)
{
    size_t i;
    int rc;

    rc = ops->render(rd);
    if (rc == -ZQ_ENOMEM)
        return rc;
    if (rc < 0) {
        if (rd->err != NULL && rd->err->code == 0)
            zq_err_set(rd->err, -rc, "%s: rendering failed", ops->name);
        return rc;
    }
    for (i = 0; i < rd->nreqs; i++) {
        if (rd->reqs[i].body.oom || rd->reqs[i].body.data == NULL)
            return -ZQ_ENOMEM;
        /* A limit on the whole body (Feishu): check what was built. */
        if (ops->limit_on_body && rd->reqs[i].body.len > limit)
            return zq_err_set(rd->err, ZQ_ETOOBIG, "%s body of %zu bytes over %zu", ops->name,
                              rd->reqs[i].body.len, limit);
    }
    return 0;
}

int zq_channel_render(const zq_channel_config *cc, const zq_target *t, const zq_message *m,
                      int64_t now_ms, zq_outreq **out, size_t *n, zq_err *err)
{
    zq_buf title = {0}, body = {0};
    zq_buf parts[ZQ_CHANNEL_MAX_PARTS];
    zq_ch_text tx;
    zq_ch_render rd;
    const zq_channel_ops *ops;
    size_t limit, i;
    int rc;

    memset(parts, 0, sizeof(parts));
    memset(&rd, 0, sizeof(rd));
    memset(&tx, 0, sizeof(tx));
    if (out != NULL)
        *out = NULL;
    if (n != NULL)
        *n = 0;
    if (cc == NULL || t == NULL || m == NULL || out == NULL || n == NULL)
        return zq_err_set(err, ZQ_EINVAL, "missing argument");
    rc = check_input(cc, t, m, err);
    if (rc < 0)
        return rc;
    ops = registry[t->kind];
    limit = limit_of(cc, ops);
    rd.cc = cc;
    rd.t = t;
    rd.m = m;
    rd.now_ms = now_ms;
    rd.err = err;
    rc = normalise(m, &title, &body);
    if (rc == 0) {
        rd.title = title.data;
        rc = ops->compose(&rd, &title, &body, &tx);
    }
    if (rc == 0 && (tx.full.oom || tx.suffix.oom || title.oom ||
                    (tx.full.data == NULL && zq_buf_puts(&tx.full, "") < 0)))
        rc = -ZQ_ENOMEM;
    if (rc == 0)
        rc = split_parts(&tx, ops->name, limit, parts, &rd.nparts, err);
    if (rc == 0) {
        rd.parts = parts;
        rd.nreqs = rd.nparts + (ops->extra_requests != NULL ? ops->extra_requests(m) : 0);
        rd.reqs = calloc(rd.nreqs, sizeof(*rd.reqs));
        rc = rd.reqs != NULL ? build(ops, &rd, limit) : -ZQ_ENOMEM;
    }
    if (rc == -ZQ_ENOMEM)
        rc = zq_err_set(err, ZQ_ENOMEM, "out of memory");
    if (rc == 0) {
        *out = rd.reqs;
        *n = rd.nreqs;
        rd.reqs = NULL;
    }
    zq_outreq_free_all(rd.reqs, rd.nreqs);
    for (i = 0; i < ZQ_CHANNEL_MAX_PARTS; i++)
        zq_buf_free(&parts[i]);
    zq_buf_free(&title);
    zq_buf_free(&body);
    zq_buf_free(&tx.full);
    zq_buf_free(&tx.suffix);
    return rc;
}

/* ---- answers ---- */

bool zq_channel_token_rejected(zq_channel_kind k, long http_status, const char *body, size_t len)
{
    const zq_channel_ops *ops = zq_channel_ops_of(k);
    json_t *o;
    bool yes;

    if (ops == NULL || ops->token_rejected == NULL)
        return false;
    o = zq_ch_parse_object(body, len);
    yes = ops->token_rejected(http_status, o);
    json_decref(o);
    return yes;
}

zq_delivery zq_channel_classify(zq_channel_kind k, long http_status, const char *body, size_t len,
                                const char *retry_after, int64_t *retry_after_ms, char *reason,
                                size_t reasonsz)
{
    int64_t ra_dummy;
    zq_delivery d;
    json_t *o = NULL;
    const zq_channel_ops *ops = zq_channel_ops_of(k);
    const char *name = zq_channel_name(k);

    if (retry_after_ms == NULL)
        retry_after_ms = &ra_dummy;
    *retry_after_ms = 0;
    if (reason != NULL && reasonsz > 0)
        reason[0] = '\0';
    if (http_status <= 0) {
        zq_ch_say(reason, reasonsz, "%s: no answer", name);
        return ZQ_DELIVERY_RETRY;
    }
    if (http_status >= 500) {
        zq_ch_say(reason, reasonsz, "%s: HTTP %ld", name, http_status);
        *retry_after_ms = zq_ch_retry_after(retry_after); /* 503 may say */
        return ZQ_DELIVERY_RETRY;
    }
    if (http_status < 200) {
        zq_ch_say(reason, reasonsz, "%s: unexpected HTTP %ld", name, http_status);
        return ZQ_DELIVERY_RETRY;
    }
    if (http_status >= 300 && http_status < 400) {
        /* Redirects are not followed: the address is wrong. */
        zq_ch_say(reason, reasonsz, "%s: HTTP %ld redirect (not followed)", name, http_status);
        return ZQ_DELIVERY_FAIL;
    }
    if (ops == NULL) {
        zq_ch_say(reason, reasonsz, "unknown channel %d", (int)k);
        d = ZQ_DELIVERY_FAIL;
    } else {
        o = ops->json_answer ? zq_ch_parse_object(body, len) : NULL;
        d = ops->classify(http_status, o, retry_after, retry_after_ms, reason, reasonsz);
    }
    /* Whatever the body says, an HTTP 429 is a throttle: the request was
     * not sent, even when the body claims success. */
    if (http_status == 429) {
        if (d == ZQ_DELIVERY_DONE && reason != NULL && reasonsz > 0)
            reason[0] = '\0'; /* not "ok" */
        d = ZQ_DELIVERY_RETRY;
        if (*retry_after_ms == 0)
            *retry_after_ms = zq_ch_retry_after(retry_after);
        if (reason != NULL && reason[0] == '\0')
            zq_ch_say(reason, reasonsz, "%s: HTTP 429", name);
    }
    json_decref(o);
    return d;
}

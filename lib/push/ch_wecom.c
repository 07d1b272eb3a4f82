/* WeCom (企业微信): the group robot's webhook (specs/channels.md) and the
 * self-built app's message to one member (vendor docs: 发送应用消息; the
 * access token goes into the URL when the bot sends, apptoken.h). Its
 * answers are {"errcode","errmsg"}; the app's also list the members it
 * could not reach ("invaliduser", "unlicenseduser"), and 42001, 40014,
 * 40001 (token expired or invalid) and 45033 (too many concurrent calls)
 * come from the vendor's documentation. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "channel_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"

/* A part as markdown. */
static json_t *wecom_part(const zq_ch_render *rd, size_t i, zq_buf *c, zq_buf *unused)
{
    json_t *root = json_object(), *md = json_object();
    int bad = root == NULL || md == NULL || zq_ch_labelled(c, rd, i) < 0;

    (void)unused;
    bad |= json_object_set_new(md, "content", zq_ch_jstr(c->data, c->len));
    bad |= json_object_set_new(root, "msgtype", json_string("markdown"));
    bad |= json_object_set_new(root, "markdown", md);
    return zq_ch_built(root, bad);
}

/* WeCom markdown cannot mention by mobile: a short text message after
 * the content carries the mentions. */
static json_t *wecom_mentions(const zq_ch_render *rd)
{
    zq_buf c = {0};
    json_t *root = json_object(), *text = json_object();
    int bad;

    zq_buf_puts(&c, "请留意以上消息");
    if (rd->title[0] != '\0') {
        zq_buf_puts(&c, "：");
        zq_buf_puts(&c, rd->title);
    }
    bad = root == NULL || text == NULL || c.oom;
    bad |= json_object_set_new(text, "content", zq_ch_jstr(c.data, c.len));
    bad |= json_object_set_new(text, "mentioned_mobile_list", zq_ch_mobiles_json(rd->m, true));
    bad |= json_object_set_new(root, "msgtype", json_string("text"));
    bad |= json_object_set_new(root, "text", text);
    zq_buf_free(&c);
    return zq_ch_built(root, bad);
}

static int render_wecom(zq_ch_render *rd)
{
    zq_buf url = {0};
    int rc;

    zq_buf_puts(&url, rd->cc->base_url[ZQ_CH_WECOM]);
    zq_buf_puts(&url, "/cgi-bin/webhook/send?key=");
    zq_url_encode(&url, rd->t->address);
    rc = zq_ch_render_parts(rd, &url, ZQ_AUTH_NONE, wecom_part);
    if (rc == 0 && rd->nreqs > rd->nparts)
        rc = zq_ch_set_body(&rd->reqs[rd->nparts], wecom_mentions(rd));
    zq_buf_free(&url);
    return rc;
}

/* WeCom markdown cannot mention by mobile: one more text message does. */
static size_t wecom_extra(const zq_message *m)
{
    return m->nmentions > 0 || m->mention_all ? 1 : 0;
}

static void wecom_settings(const zq_config *cfg, zq_channel_limits *lim, const char **base_url)
{
    *base_url = cfg->channels.wecom_base_url;
    lim->max_bytes = cfg->channels.wecom_max_bytes;
    lim->per_minute = cfg->channels.wecom_per_minute;
    lim->per_second = 0;
}

static zq_delivery wecom_classify(long status, json_t *o, const char *retry_after,
                                  int64_t *retry_after_ms, char *reason, size_t reasonsz)
{
    static const long long retry[] = {45009};

    (void)retry_after;
    (void)retry_after_ms;
    return zq_ch_errcode("wecom", status, o, retry, ZQ_ARRAY_LEN(retry), reason, reasonsz);
}

static int wecom_address(const char *in, char *out, size_t outsz, const char **msg)
{
    if (zq_ch_robot_key(in, "key", true, out, outsz) < 0) {
        *msg = "企业微信群机器人地址应为机器人的 key，或包含 key= 的完整 Webhook 地址。";
        return -1;
    }
    return 0;
}

const zq_channel_ops zq_ch_wecom = {
    .kind = ZQ_CH_WECOM,
    .name = "wecom-robot",
    .default_base = "https://qyapi.weixin.qq.com",
    .limits = {4096, 20, 0},
    .json_answer = true,
    .reply_prefix = {"wecom"},
    .address = wecom_address,
    .sample_address = "ROBOT-KEY",
    .settings = wecom_settings,
    .compose = zq_ch_compose_md,
    .extra_requests = wecom_extra,
    .render = render_wecom,
    .classify = wecom_classify,
};

/* WeCom app message to one member (vendor docs: 发送应用消息): markdown
 * with the app's agentid; the access token goes into the URL later. */
static json_t *wecom_app_part(const zq_ch_render *rd, size_t i, zq_buf *c, zq_buf *unused)
{
    json_t *root = json_object(), *md = json_object();
    int bad = root == NULL || md == NULL || zq_ch_labelled(c, rd, i) < 0;

    (void)unused;
    bad |= json_object_set_new(root, "touser", json_string(rd->t->address));
    bad |= json_object_set_new(root, "msgtype", json_string("markdown"));
    bad |= json_object_set_new(root, "agentid", json_integer(rd->cc->wecom_agent_id));
    bad |= json_object_set_new(md, "content", zq_ch_jstr(c->data, c->len));
    bad |= json_object_set_new(root, "markdown", md);
    /* The platform's duplicate check (vendor docs, 发送应用消息): the same
     * request JSON within the interval is not delivered again. An outbox
     * entry renders the same JSON on every retry, so a retry whose first
     * answer was lost shows once; the interval is WeCom's maximum, to
     * cover the retries of [bot] max_attempts. */
    if (rd->m->idem != NULL && rd->m->idem[0] != '\0') {
        bad |= json_object_set_new(root, "enable_duplicate_check", json_integer(1));
        bad |= json_object_set_new(root, "duplicate_check_interval",
                                   json_integer(ZQ_WECOM_DUP_INTERVAL_S));
    }
    return zq_ch_built(root, bad);
}

static int render_wecom_app(zq_ch_render *rd)
{
    zq_buf url = {0};
    int rc;

    zq_buf_puts(&url, rd->cc->base_url[ZQ_CH_WECOM_APP]);
    zq_buf_puts(&url, "/cgi-bin/message/send");
    rc = zq_ch_render_parts(rd, &url, ZQ_AUTH_WECOM, wecom_app_part);
    zq_buf_free(&url);
    return rc;
}

/* An expired or refused access token (the sender fetches a new one). */
static bool wecom_token_code(long long code)
{
    return code == 42001 || code == 40014 || code == 40001;
}

static zq_delivery wecom_app_classify(long status, json_t *o, const char *retry_after,
                                      int64_t *retry_after_ms, char *reason, size_t reasonsz)
{
    /* The token codes, or too many calls at once: the message itself is
     * fine. */
    static const long long retry[] = {42001, 40014, 40001, 45033, 45009};
    long long code;
    char bad[80];

    (void)retry_after;
    (void)retry_after_ms;
    if (o != NULL && zq_ch_get_int(o, "errcode", &code) && code == 0) {
        /* An app message to a member who left (or has no licence) is
         * answered 0 with the member listed: nothing was delivered. */
        zq_ch_id_list(o, "invaliduser", bad, sizeof(bad));
        if (bad[0] == '\0')
            zq_ch_id_list(o, "unlicenseduser", bad, sizeof(bad));
        if (bad[0] != '\0') {
            zq_ch_say(reason, reasonsz, "wecom-app: user %.60s is invalid or unlicensed", bad);
            return ZQ_DELIVERY_FAIL;
        }
    }
    return zq_ch_errcode("wecom-app", status, o, retry, ZQ_ARRAY_LEN(retry), reason, reasonsz);
}

static bool wecom_app_token_rejected(long status, json_t *o)
{
    long long code;

    (void)status;
    return zq_ch_get_int(o, "errcode", &code) && wecom_token_code(code);
}

/* A member of the app: WeCom userids are letters, digits, "_-.@", at most
 * 64 bytes. */
static int wecom_app_check(const zq_channel_config *cc, const zq_target *t, zq_err *err)
{
    if (!zq_ch_id_chars(t->address, 64, "_-.@"))
        return zq_err_set(err, ZQ_EINVAL, "target %.48s: bad wecom userid", t->id);
    if (cc->wecom_agent_id <= 0)
        return zq_err_set(err, ZQ_EINVAL, "wecom-app: [wecom] agent_id is not configured");
    return 0;
}

static int wecom_app_address(const char *in, char *out, size_t outsz, const char **msg)
{
    size_t n = strlen(in);

    if (n > 64 || !zq_ch_token_chars(in, n, "_-.@")) {
        *msg = "企业微信应用的地址应为成员的 UserID（最长 64 位字母、数字、_-.@）。";
        return -1;
    }
    if (zq_fmt(out, outsz, "%s", in) < 0) {
        *msg = "地址过长。";
        return -1;
    }
    return 0;
}

/* The member limits: the configured ones, never above WeCom's (which
 * drops the excess silently; zq_channel_warn_limits says so at start). */
static void wecom_app_settings(const zq_config *cfg, zq_channel_limits *lim, const char **base_url)
{
    int m = cfg->channels.wecom_app_per_minute, h = cfg->channels.wecom_app_per_hour;

    *base_url = cfg->channels.wecom_base_url;
    lim->per_minute = m > 0 && m < ZQ_WECOM_APP_PER_MINUTE_MAX ? m : ZQ_WECOM_APP_PER_MINUTE_MAX;
    lim->per_hour = h > 0 && h < ZQ_WECOM_APP_PER_HOUR_MAX ? h : ZQ_WECOM_APP_PER_HOUR_MAX;
    lim->per_second = 0;
}

static bool wecom_app_configured(const zq_config *cfg)
{
    return cfg->wecom.corp_secret[0] != '\0' && cfg->wecom.agent_id > 0 &&
           cfg->wecom.corp_id[0] != '\0';
}

const zq_channel_ops zq_ch_wecom_app = {
    .kind = ZQ_CH_WECOM_APP,
    .name = "wecom-app",
    .default_base = "https://qyapi.weixin.qq.com",
    /* Vendor documentation: app markdown takes 2048 bytes. */
    .limits = {2048, ZQ_WECOM_APP_PER_MINUTE_MAX, 0, ZQ_WECOM_APP_PER_HOUR_MAX},
    .app = true,
    .json_answer = true,
    .address = wecom_app_address,
    .sample_address = "USERID",
    .settings = wecom_app_settings,
    .configured = wecom_app_configured,
    .check = wecom_app_check,
    .compose = zq_ch_compose_md,
    .render = render_wecom_app,
    .classify = wecom_app_classify,
    .token_rejected = wecom_app_token_rejected,
};

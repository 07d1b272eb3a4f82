/* DingTalk (钉钉): the custom group robot's webhook, signed with the
 * target's secret (specs/channels.md), and the app robot's messages to a
 * group or a user through api.dingtalk.com (vendor docs: 机器人发送群聊消息,
 * 批量发送人与机器人会话中机器人消息; the access token goes into a header
 * when the bot sends, apptoken.h). The robot answers {"errcode","errmsg"};
 * the app API answers HTTP 4xx with {"code","message"}
 * (InvalidAuthentication for a bad token; Forbidden.AccessDenied.
 * QpsLimitForApi and the like, with 403 or 429, for throttling) and 200
 * with a processQueryKey, plus invalidStaffIdList /
 * flowControlledStaffIdList for one-to-one sends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "channel_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"

/* The DingTalk mention line: "@138... @139..." (empty without mobiles). */
static int dingtalk_mentions(zq_buf *b, const zq_message *m)
{
    size_t i;

    if (m->nmentions == 0)
        return 0;
    zq_buf_puts(b, "\n\n");
    for (i = 0; i < m->nmentions; i++) {
        if (i > 0)
            zq_buf_puts(b, " ");
        zq_buf_puts(b, "@");
        zq_buf_puts(b, m->mention_mobiles[i]);
    }
    return b->oom ? -ZQ_ENOMEM : 0;
}

/* A part as markdown; the last carries the mentions. */
static json_t *dingtalk_part(const zq_ch_render *rd, size_t i, zq_buf *c, zq_buf *title)
{
    bool last = i + 1 == rd->nparts;
    json_t *root = json_object(), *md = json_object(), *at;
    int bad = root == NULL || md == NULL || zq_ch_titled(title, rd, i) < 0 ||
              zq_ch_labelled(c, rd, i) < 0 || (last && dingtalk_mentions(c, rd->m) < 0);

    bad |= json_object_set_new(md, "title", zq_ch_jstr(title->data, title->len));
    bad |= json_object_set_new(md, "text", zq_ch_jstr(c->data, c->len));
    bad |= json_object_set_new(root, "msgtype", json_string("markdown"));
    bad |= json_object_set_new(root, "markdown", md);
    if (last && (rd->m->nmentions > 0 || rd->m->mention_all)) {
        at = json_object();
        bad |= at == NULL;
        bad |= json_object_set_new(at, "atMobiles", zq_ch_mobiles_json(rd->m, false));
        bad |= json_object_set_new(at, "isAtAll", json_boolean(rd->m->mention_all));
        bad |= json_object_set_new(root, "at", at);
    }
    return zq_ch_built(root, bad);
}

static int render_dingtalk(zq_ch_render *rd)
{
    zq_buf url = {0};
    char sign[64];
    int rc = 0;

    zq_buf_puts(&url, rd->cc->base_url[ZQ_CH_DINGTALK]);
    zq_buf_puts(&url, "/robot/send?access_token=");
    zq_url_encode(&url, rd->t->address);
    if (rd->t->secret[0] != '\0') {
        rc = zq_sign_dingtalk(rd->t->secret, rd->now_ms, sign, sizeof(sign));
        zq_buf_printf(&url, "&timestamp=%lld&sign=", (long long)rd->now_ms);
        /* Base64 has '+', '/' and '=': encoded here, once. */
        zq_url_encode(&url, sign);
    }
    if (rc == 0)
        rc = zq_ch_render_parts(rd, &url, ZQ_AUTH_NONE, dingtalk_part);
    zq_buf_free(&url);
    return rc;
}

/* The title, the body, and the mobiles to mention after the last part. */
static int dingtalk_compose(const zq_ch_render *rd, const zq_buf *title, const zq_buf *body,
                            zq_ch_text *tx)
{
    if (zq_ch_compose_md(rd, title, body, tx) < 0 || dingtalk_mentions(&tx->suffix, rd->m) < 0)
        return -ZQ_ENOMEM;
    return 0;
}

static void dingtalk_settings(const zq_config *cfg, zq_channel_limits *lim, const char **base_url)
{
    *base_url = cfg->channels.dingtalk_base_url;
    lim->max_bytes = cfg->channels.dingtalk_max_bytes;
    lim->per_minute = cfg->channels.dingtalk_per_minute;
    lim->per_second = 0;
}

static zq_delivery dingtalk_classify(long status, json_t *o, const char *retry_after,
                                     int64_t *retry_after_ms, char *reason, size_t reasonsz)
{
    static const long long retry[] = {130101};

    (void)retry_after;
    (void)retry_after_ms;
    return zq_ch_errcode("dingtalk", status, o, retry, ZQ_ARRAY_LEN(retry), reason, reasonsz);
}

static int dingtalk_address(const char *in, char *out, size_t outsz, const char **msg)
{
    if (zq_ch_robot_key(in, "access_token", true, out, outsz) < 0) {
        *msg = "钉钉机器人地址应为 access_token，或包含 access_token= 的完整 Webhook 地址。";
        return -1;
    }
    return 0;
}

const zq_channel_ops zq_ch_dingtalk = {
    .kind = ZQ_CH_DINGTALK,
    .name = "dingtalk-robot",
    .default_base = "https://oapi.dingtalk.com",
    .limits = {20000, 20, 0},
    .json_answer = true,
    .reply_prefix = {"dingtalk"},
    .takes_secret = true,
    .address = dingtalk_address,
    .sample_address = "ACCESS-TOKEN",
    .sample_secret = "SECRET",
    .settings = dingtalk_settings,
    .compose = dingtalk_compose,
    .render = render_dingtalk,
    .classify = dingtalk_classify,
};

/* DingTalk app robot (vendor docs: 机器人发送群聊消息 and 批量发送人与机器人
 * 会话中机器人消息): "sampleMarkdown" with its parameters as a JSON string
 * in msgParam; the access token goes into a header later. */
/* "sampleMarkdown" with its title and text as a JSON string. */
static json_t *dingtalk_app_part(const zq_ch_render *rd, size_t i, zq_buf *c, zq_buf *title)
{
    bool group = strncmp(rd->t->address, "group:", 6) == 0;
    const char *who = rd->t->address + (group ? 6 : 5);
    json_t *root, *param = json_object();
    int bad = param == NULL || zq_ch_titled(title, rd, i) < 0 || zq_ch_labelled(c, rd, i) < 0;
    char *ps;

    bad |= json_object_set_new(param, "title", zq_ch_jstr(title->data, title->len));
    bad |= json_object_set_new(param, "text", zq_ch_jstr(c->data, c->len));
    ps = bad ? NULL : json_dumps(param, JSON_COMPACT);
    json_decref(param);
    if (ps == NULL)
        return NULL;
    root = json_object();
    bad = root == NULL;
    bad |= json_object_set_new(root, "robotCode", json_string(rd->cc->dingtalk_robot_code));
    if (group)
        bad |= json_object_set_new(root, "openConversationId", json_string(who));
    else
        bad |= json_object_set_new(root, "userIds", json_pack("[s]", who));
    bad |= json_object_set_new(root, "msgKey", json_string("sampleMarkdown"));
    bad |= json_object_set_new(root, "msgParam", json_string(ps));
    free(ps);
    return zq_ch_built(root, bad);
}

/* The vendor doc (机器人发送群聊消息) limits msgParam to 15,000 bytes:
 * the JSON string {"title":"…","text":"…"} as sent, escapes included. The
 * text weighs what it takes once JSON-escaped; the envelope, the title
 * and its longest label "（20/20）" are what every part spends beside it. */
static int dingtalk_app_compose(const zq_ch_render *rd, const zq_buf *title, const zq_buf *body,
                                zq_ch_text *tx)
{
    static const char envelope[] = "{\"title\":\"\",\"text\":\"\"}";
    const char *t = rd->title[0] != '\0' ? rd->title : ZQ_CHANNEL_DEFAULT_TITLE;
    char lab[48];

    if (zq_ch_compose_md(rd, title, body, tx) < 0)
        return -ZQ_ENOMEM;
    if (zq_ch_label(lab, sizeof(lab), ZQ_CHANNEL_MAX_PARTS - 1, ZQ_CHANNEL_MAX_PARTS) < 0)
        return -ZQ_ETOOBIG;
    tx->wm = W_JSON;
    tx->fixed = strlen(envelope) + zq_ch_weigh(W_JSON, t, strlen(t)) +
                zq_ch_weigh(W_JSON, lab, strlen(lab));
    return 0;
}

static int render_dingtalk_app(zq_ch_render *rd)
{
    zq_buf url = {0};
    int rc;

    zq_buf_puts(&url, rd->cc->base_url[ZQ_CH_DINGTALK_APP]);
    zq_buf_puts(&url, strncmp(rd->t->address, "group:", 6) == 0
                          ? "/v1.0/robot/groupMessages/send"
                          : "/v1.0/robot/oToMessages/batchSend");
    rc = zq_ch_render_parts(rd, &url, ZQ_AUTH_DINGTALK, dingtalk_app_part);
    zq_buf_free(&url);
    return rc;
}

/* An api.dingtalk.com error code that means "later", not "never". */
static bool dingtalk_app_throttled(const char *code)
{
    return strstr(code, "QpsLimit") != NULL || strstr(code, "Throttling") != NULL ||
           strstr(code, "FlowControl") != NULL || strstr(code, "flowControl") != NULL ||
           strcmp(code, "InvalidAuthentication") == 0;
}

/* 2xx {"processQueryKey",...}; errors 4xx {"code","message"}. */
static zq_delivery dingtalk_app_classify(long status, json_t *o, const char *retry_after,
                                         int64_t *retry_after_ms, char *reason, size_t reasonsz)
{
    const char *code = zq_ch_get_str(o, "code");
    char ids[80];

    (void)retry_after;
    (void)retry_after_ms;
    if (status >= 200 && status < 300) {
        if (o == NULL) {
            zq_ch_say(reason, reasonsz, "dingtalk-app: unknown answer (HTTP %ld, not JSON)",
                      status);
            return ZQ_DELIVERY_RETRY;
        }
        if (*code != '\0') {
            /* Not seen in practice: an error inside a 2xx. */
            zq_ch_say(reason, reasonsz, "dingtalk-app %.60s: %.120s", code,
                      zq_ch_get_str(o, "message"));
            return dingtalk_app_throttled(code) ? ZQ_DELIVERY_RETRY : ZQ_DELIVERY_FAIL;
        }
        zq_ch_id_list(o, "invalidStaffIdList", ids, sizeof(ids));
        if (ids[0] != '\0') {
            zq_ch_say(reason, reasonsz, "dingtalk-app: user %.60s is invalid", ids);
            return ZQ_DELIVERY_FAIL;
        }
        zq_ch_id_list(o, "flowControlledStaffIdList", ids, sizeof(ids));
        if (ids[0] != '\0') {
            zq_ch_say(reason, reasonsz, "dingtalk-app: flow control for user %.60s", ids);
            return ZQ_DELIVERY_RETRY;
        }
        zq_ch_say(reason, reasonsz, "ok");
        return ZQ_DELIVERY_DONE;
    }
    if (*code == '\0') {
        zq_ch_say(reason, reasonsz, "dingtalk-app: HTTP %ld", status);
        return status == 401 ? ZQ_DELIVERY_RETRY : ZQ_DELIVERY_FAIL;
    }
    zq_ch_say(reason, reasonsz, "dingtalk-app HTTP %ld %.60s: %.120s", status, code,
              zq_ch_get_str(o, "message"));
    return dingtalk_app_throttled(code) ? ZQ_DELIVERY_RETRY : ZQ_DELIVERY_FAIL;
}

static bool dingtalk_app_token_rejected(long status, json_t *o)
{
    return status == 401 || strcmp(zq_ch_get_str(o, "code"), "InvalidAuthentication") == 0;
}

/* "group:<id>" (at most 256) or "user:<id>" (at most 64). */
static bool dingtalk_app_who(const char *s, bool ascii)
{
    const char *id = strncmp(s, "group:", 6) == 0  ? s + 6
                     : strncmp(s, "user:", 5) == 0 ? s + 5
                                                   : NULL;
    size_t n = id != NULL ? strlen(id) : 0;

    return id != NULL && n > 0 && n <= (id == s + 6 ? 256u : 64u) && strpbrk(id, "\"\\") == NULL &&
           (!ascii || zq_ch_token_ok(id, true));
}

/* Printable ASCII ids: they only ever go into the JSON body. */
static int dingtalk_app_check(const zq_channel_config *cc, const zq_target *t, zq_err *err)
{
    if (!dingtalk_app_who(t->address, true))
        return zq_err_set(err, ZQ_EINVAL,
                          "target %.48s: dingtalk-app address is not group:<id> or user:<id>",
                          t->id);
    if (cc->dingtalk_robot_code[0] == '\0')
        return zq_err_set(err, ZQ_EINVAL, "dingtalk-app: [dingtalk] robot code is not configured");
    return 0;
}

static int dingtalk_app_address(const char *in, char *out, size_t outsz, const char **msg)
{
    if (!dingtalk_app_who(in, false)) {
        *msg = "钉钉应用机器人的地址应为 group:群会话 openConversationId，或 user:成员 userId。";
        return -1;
    }
    if (zq_fmt(out, outsz, "%s", in) < 0) {
        *msg = "地址过长。";
        return -1;
    }
    return 0;
}

/* The app robot: the new-style API lives on another host than the
 * custom robots. */
static void dingtalk_app_settings(const zq_config *cfg, zq_channel_limits *lim,
                                  const char **base_url)
{
    dingtalk_settings(cfg, lim, base_url);
    *base_url = cfg->channels.dingtalk_api_base_url;
}

static bool dingtalk_app_configured(const zq_config *cfg)
{
    return cfg->dingtalk.app_key[0] != '\0' && cfg->dingtalk.app_secret[0] != '\0';
}

const zq_channel_ops zq_ch_dingtalk_app = {
    .kind = ZQ_CH_DINGTALK_APP,
    .name = "dingtalk-app",
    .default_base = "https://api.dingtalk.com",
    /* msgParam: 15,000 bytes (vendor doc); the rate is the custom robot's. */
    .limits = {15000, 20, 0},
    .app = true,
    .json_answer = true,
    .address = dingtalk_app_address,
    .sample_address = "group:OPEN-CONVERSATION-ID",
    .settings = dingtalk_app_settings,
    .configured = dingtalk_app_configured,
    .check = dingtalk_app_check,
    .compose = dingtalk_app_compose,
    .render = render_dingtalk_app,
    .classify = dingtalk_app_classify,
    .token_rejected = dingtalk_app_token_rejected,
};

/* Unit tests of the app message kinds of lib/channel (wecom-app,
 * dingtalk-app, feishu-chat): the requests they render (parsed back with
 * jansson, the JSON inside JSON too), the access token each asks for and
 * how it is applied, byte limits with Feishu's double escaping, the input
 * refused, the classification of the platforms' answers, the token
 * rejections that trigger a refresh, and targets of these kinds from the
 * staff API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "zhuqi/apptoken.h"
#include "zhuqi/channel.h"
#include "zhuqi/config.h"
#include "zhuqi/targets.h"

#define NOW_MS 1764115200000LL

static zq_channel_config app_config(void)
{
    zq_channel_config cc;

    zq_channel_config_defaults(&cc);
    snprintf(cc.base_url[ZQ_CH_WECOM_APP], sizeof(cc.base_url[0]), "http://127.0.0.1:9/wecom");
    snprintf(cc.base_url[ZQ_CH_DINGTALK_APP], sizeof(cc.base_url[0]), "http://127.0.0.1:9/dt");
    snprintf(cc.base_url[ZQ_CH_FEISHU_CHAT], sizeof(cc.base_url[0]), "http://127.0.0.1:9/feishu");
    cc.wecom_agent_id = 1000002;
    snprintf(cc.dingtalk_robot_code, sizeof(cc.dingtalk_robot_code), "dingrobot01");
    return cc;
}

static zq_target target(zq_channel_kind k, const char *address)
{
    zq_target t;

    memset(&t, 0, sizeof(t));
    snprintf(t.id, sizeof(t.id), "chat-%s", zq_channel_name(k));
    t.kind = k;
    snprintf(t.address, sizeof(t.address), "%s", address);
    return t;
}

static json_t *body_of(const zq_outreq *r)
{
    json_error_t je;
    json_t *j = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);

    if (!json_is_object(j))
        fail_msg("body is not a JSON object: %s: %.200s", je.text, r->body.data);
    return j;
}

/* A string member parsed as JSON (the platforms' JSON inside JSON). */
static json_t *inner(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    json_t *j = s ? json_loads(s, JSON_REJECT_DUPLICATES, NULL) : NULL;

    if (!json_is_object(j))
        fail_msg("%s is not a JSON string holding an object", key);
    return j;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    if (s == NULL)
        fail_msg("no string %s", key);
    return s;
}

static zq_outreq *render(const zq_channel_config *cc, const zq_target *t, const zq_message *m,
                         size_t *n)
{
    zq_outreq *reqs = NULL;
    zq_err err = {0};

    if (zq_channel_render(cc, t, m, NOW_MS, &reqs, n, &err) != 0)
        fail_msg("render %s: %s", zq_channel_name(t->kind), err.msg);
    return reqs;
}

static void test_names_and_defaults(void **state)
{
    zq_channel_config cc;
    zq_channel_kind k;

    (void)state;
    assert_int_equal(zq_channel_parse("wecom-app", &k), 0);
    assert_int_equal(k, ZQ_CH_WECOM_APP);
    assert_int_equal(zq_channel_parse("dingtalk-app", &k), 0);
    assert_int_equal(k, ZQ_CH_DINGTALK_APP);
    assert_int_equal(zq_channel_parse("feishu-chat", &k), 0);
    assert_int_equal(k, ZQ_CH_FEISHU_CHAT);
    assert_true(zq_channel_is_app(ZQ_CH_WECOM_APP));
    assert_true(zq_channel_is_app(ZQ_CH_FEISHU_CHAT));
    assert_false(zq_channel_is_app(ZQ_CH_WECOM));
    assert_false(zq_channel_is_app(ZQ_CH_TELEGRAM));
    zq_channel_config_defaults(&cc);
    assert_string_equal(cc.base_url[ZQ_CH_DINGTALK_APP], "https://api.dingtalk.com");
    assert_string_equal(cc.base_url[ZQ_CH_WECOM_APP], "https://qyapi.weixin.qq.com");
    assert_int_equal(cc.limits[ZQ_CH_WECOM_APP].max_bytes, 2048);
    assert_int_equal(cc.limits[ZQ_CH_FEISHU_CHAT].max_bytes, 30000);
    assert_int_equal(cc.wecom_agent_id, 0);
}

static void test_wecom_app(void **state)
{
    zq_channel_config cc = app_config();
    zq_target t = target(ZQ_CH_WECOM_APP, "zhang.san@corp");
    const char *mob[] = {"13800138000"};
    zq_message m = {.title = "税务助企宣讲日",
                    .body = "明天 **14:30** 开课",
                    .mention_mobiles = mob,
                    .nmentions = 1};
    zq_outreq *reqs;
    size_t n;
    json_t *j;

    (void)state;
    reqs = render(&cc, &t, &m, &n);
    /* One request: a member cannot be mentioned, no extra text message. */
    assert_int_equal(n, 1);
    assert_string_equal(reqs[0].url, "http://127.0.0.1:9/wecom/cgi-bin/message/send");
    assert_int_equal(reqs[0].auth, ZQ_AUTH_WECOM);
    assert_int_equal(reqs[0].nheaders, 0);
    j = body_of(&reqs[0]);
    assert_string_equal(str(j, "touser"), "zhang.san@corp");
    assert_string_equal(str(j, "msgtype"), "markdown");
    assert_int_equal(json_integer_value(json_object_get(j, "agentid")), 1000002);
    assert_string_equal(str(json_object_get(j, "markdown"), "content"),
                        "**税务助企宣讲日**\n\n明天 **14:30** 开课");
    json_decref(j);
    zq_outreq_free_all(reqs, n);
}

static void test_wecom_app_splits_at_2048_bytes(void **state)
{
    zq_channel_config cc = app_config();
    zq_target t = target(ZQ_CH_WECOM_APP, "zhangsan");
    char body[8000];
    zq_message m = {.title = "长通知", .body = body};
    zq_outreq *reqs;
    size_t n, i, total = 0;

    (void)state;
    for (i = 0; i + 3 < sizeof(body) - 1 && i < 3 * 1500; i += 3)
        memcpy(body + i, "税", 3);
    body[i] = '\0';
    reqs = render(&cc, &t, &m, &n);
    /* 4500 bytes of text: at least three parts of at most 2048 bytes. */
    assert_true(n >= 3 && n <= 4);
    for (i = 0; i < n; i++) {
        json_t *j = body_of(&reqs[i]);
        const char *c = str(json_object_get(j, "markdown"), "content");
        char lab[32];

        assert_true(strlen(c) <= 2048);
        snprintf(lab, sizeof(lab), "（%zu/%zu）\n", i + 1, n);
        assert_true(strncmp(c, lab, strlen(lab)) == 0);
        total += strlen(c) - strlen(lab);
        json_decref(j);
    }
    /* Nothing lost: the text and the bold title line. */
    assert_int_equal(total, strlen(body) + strlen("**长通知**\n\n"));
    zq_outreq_free_all(reqs, n);
}

static void test_dingtalk_app(void **state)
{
    zq_channel_config cc = app_config();
    zq_target g = target(ZQ_CH_DINGTALK_APP, "group:cidAbC+/x==");
    zq_target u = target(ZQ_CH_DINGTALK_APP, "user:manager4321");
    zq_message m = {.title = "服务通知",
                    .body = "- 第一条\n- [链接](https://example.gov.cn/a)",
                    .mention_all = true};
    zq_outreq *reqs;
    json_t *j, *p;
    size_t n;

    (void)state;
    reqs = render(&cc, &g, &m, &n);
    assert_int_equal(n, 1);
    assert_string_equal(reqs[0].url, "http://127.0.0.1:9/dt/v1.0/robot/groupMessages/send");
    assert_int_equal(reqs[0].auth, ZQ_AUTH_DINGTALK);
    j = body_of(&reqs[0]);
    assert_string_equal(str(j, "robotCode"), "dingrobot01");
    assert_string_equal(str(j, "openConversationId"), "cidAbC+/x==");
    assert_null(json_object_get(j, "userIds"));
    assert_string_equal(str(j, "msgKey"), "sampleMarkdown");
    p = inner(j, "msgParam");
    assert_string_equal(str(p, "title"), "服务通知");
    assert_string_equal(str(p, "text"),
                        "**服务通知**\n\n- 第一条\n- [链接](https://example.gov.cn/a)");
    json_decref(p);
    json_decref(j);
    zq_outreq_free_all(reqs, n);

    reqs = render(&cc, &u, &m, &n);
    assert_string_equal(reqs[0].url, "http://127.0.0.1:9/dt/v1.0/robot/oToMessages/batchSend");
    j = body_of(&reqs[0]);
    assert_null(json_object_get(j, "openConversationId"));
    assert_int_equal(json_array_size(json_object_get(j, "userIds")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "userIds"), 0)),
                        "manager4321");
    json_decref(j);
    zq_outreq_free_all(reqs, n);
}

/* groupMessages/send takes at most 15,000 bytes of msgParam, the JSON
 * string as sent: text full of quotes and line breaks (each escaped to two
 * bytes) and Chinese (three bytes each) must split under it, on character
 * boundaries, and lose nothing. */
static void test_dingtalk_app_msgparam_limit(void **state)
{
    zq_channel_config cc = app_config();
    zq_target g = target(ZQ_CH_DINGTALK_APP, "group:cid1");
    zq_buf body = {0};
    zq_message m = {.title = "投诉 \"复核\" 结果"};
    zq_outreq *reqs;
    size_t n, i, lines = 0;

    (void)state;
    for (i = 0; i < 1500; i++)
        zq_buf_printf(&body, "第%zu行 \"引号\" \\ 反斜杠\n", i);
    m.body = body.data;
    reqs = render(&cc, &g, &m, &n);
    assert_true(n > 1);
    for (i = 0; i < n; i++) {
        json_t *j = body_of(&reqs[i]), *p = inner(j, "msgParam");
        const char *ps = str(j, "msgParam"), *text = str(p, "text");

        if (strlen(ps) > 15000)
            fail_msg("part %zu: msgParam of %zu bytes", i + 1, strlen(ps));
        if (i + 1 < n && strlen(ps) < 12000)
            fail_msg("part %zu: msgParam of %zu bytes, split far below the limit", i + 1,
                     strlen(ps));
        for (const char *c = strstr(text, "行 \"引号\" \\ 反斜杠"); c != NULL;
             c = strstr(c + 1, "行 \"引号\" \\ 反斜杠"))
            lines++;
        json_decref(p);
        json_decref(j);
    }
    /* Cut at line breaks: every line arrives whole. */
    assert_int_equal(lines, 1500);
    zq_outreq_free_all(reqs, n);
    zq_buf_free(&body);
}

static void test_feishu_chat(void **state)
{
    zq_channel_config cc = app_config();
    zq_target t = target(ZQ_CH_FEISHU_CHAT, "oc_84983ff6516d731e5b5f68d4ea2e1da5");
    zq_message m = {.title = "税务助企宣讲日", .body = "a < b & \"c\"", .mention_all = true};
    zq_outreq *reqs;
    json_t *j, *card, *el;
    size_t n;

    (void)state;
    reqs = render(&cc, &t, &m, &n);
    assert_int_equal(n, 1);
    assert_string_equal(
        reqs[0].url, "http://127.0.0.1:9/feishu/open-apis/im/v1/messages?receive_id_type=chat_id");
    assert_int_equal(reqs[0].auth, ZQ_AUTH_FEISHU);
    j = body_of(&reqs[0]);
    assert_string_equal(str(j, "receive_id"), "oc_84983ff6516d731e5b5f68d4ea2e1da5");
    assert_string_equal(str(j, "msg_type"), "interactive");
    /* No signature: the token is the proof. */
    assert_null(json_object_get(j, "sign"));
    card = inner(j, "content");
    assert_string_equal(str(json_object_get(json_object_get(card, "header"), "title"), "content"),
                        "税务助企宣讲日");
    el = json_array_get(json_object_get(card, "elements"), 0);
    assert_string_equal(str(el, "tag"), "markdown");
    /* Escaped for Lark markdown; an app bot does not @all. */
    assert_string_equal(str(el, "content"), "a &lt; b &amp; \"c\"");
    json_decref(card);
    json_decref(j);
    zq_outreq_free_all(reqs, n);
}

/* Quotes and line breaks weigh 4 and 3 bytes in the body (JSON inside
 * JSON): every part still fits the limit, and nothing is lost. */
static void test_feishu_chat_double_escaping(void **state)
{
    zq_channel_config cc = app_config();
    zq_target t = target(ZQ_CH_FEISHU_CHAT, "oc_abc");
    static char body[40000];
    zq_message m = {.title = "引号", .body = body};
    zq_buf all = {0};
    zq_outreq *reqs;
    size_t n, i, len = 0;

    (void)state;
    cc.limits[ZQ_CH_FEISHU_CHAT].max_bytes = 4000;
    while (len + 8 < sizeof(body) - 1 && len < 12000) {
        memcpy(body + len, "\"x\"\\\n税", 8);
        len += 8;
    }
    body[len] = '\0';
    reqs = render(&cc, &t, &m, &n);
    assert_true(n > 3);
    for (i = 0; i < n; i++) {
        json_t *j = body_of(&reqs[i]), *card = inner(j, "content");

        assert_true(reqs[i].body.len <= 4000);
        /* Close to the limit, not wastefully short (all but the last). */
        if (i + 1 < n)
            assert_true(reqs[i].body.len > 3500);
        zq_buf_puts(&all, str(json_array_get(json_object_get(card, "elements"), 0), "content"));
        json_decref(card);
        json_decref(j);
    }
    /* The parts put back together are the text (without the part labels,
     * which Feishu carries in the card header). */
    assert_int_equal(all.len, len);
    assert_memory_equal(all.data, body, len);
    zq_buf_free(&all);
    zq_outreq_free_all(reqs, n);
}

static void test_refused_input(void **state)
{
    zq_channel_config cc = app_config(), bare;
    zq_message m = {.title = "t", .body = "b"};
    zq_outreq *reqs = NULL;
    zq_err err = {0};
    size_t n = 0;
    zq_target t;

    (void)state;
    zq_channel_config_defaults(&bare);
    /* The app's identity is configuration. */
    t = target(ZQ_CH_WECOM_APP, "zhangsan");
    assert_int_equal(zq_channel_render(&bare, &t, &m, NOW_MS, &reqs, &n, &err), -ZQ_EINVAL);
    assert_non_null(strstr(err.msg, "agent_id"));
    t = target(ZQ_CH_DINGTALK_APP, "group:cid1");
    assert_int_equal(zq_channel_render(&bare, &t, &m, NOW_MS, &reqs, &n, &err), -ZQ_EINVAL);
    assert_non_null(strstr(err.msg, "robot code"));
    /* Addresses. */
    t = target(ZQ_CH_WECOM_APP, "zhang san");
    assert_int_equal(zq_channel_render(&cc, &t, &m, NOW_MS, &reqs, &n, &err), -ZQ_EINVAL);
    t = target(ZQ_CH_DINGTALK_APP, "cid1");
    assert_int_equal(zq_channel_render(&cc, &t, &m, NOW_MS, &reqs, &n, &err), -ZQ_EINVAL);
    t = target(ZQ_CH_DINGTALK_APP, "group:");
    assert_int_equal(zq_channel_render(&cc, &t, &m, NOW_MS, &reqs, &n, &err), -ZQ_EINVAL);
    t = target(ZQ_CH_DINGTALK_APP, "user:a\"b");
    assert_int_equal(zq_channel_render(&cc, &t, &m, NOW_MS, &reqs, &n, &err), -ZQ_EINVAL);
    t = target(ZQ_CH_FEISHU_CHAT, "oc_1/../x");
    assert_int_equal(zq_channel_render(&cc, &t, &m, NOW_MS, &reqs, &n, &err), -ZQ_EINVAL);
    assert_null(reqs);
}

typedef struct answer {
    zq_channel_kind k;
    long status;
    const char *body;
    zq_delivery want;
    bool token;     /* zq_channel_token_rejected */
    const char *in; /* in the reason */
} answer;

#define U10 "uuuuuuuuuu"
#define U60 U10 U10 U10 U10 U10 U10

static void test_classify(void **state)
{
    static const answer cases[] = {
        /* WeCom app message. */
        {ZQ_CH_WECOM_APP, 200, "{\"errcode\":0,\"errmsg\":\"ok\",\"msgid\":\"m1\"}",
         ZQ_DELIVERY_DONE, false, "ok"},
        {ZQ_CH_WECOM_APP, 200, "{\"errcode\":0,\"errmsg\":\"ok\",\"invaliduser\":\"\"}",
         ZQ_DELIVERY_DONE, false, "ok"},
        {ZQ_CH_WECOM_APP, 200, "{\"errcode\":0,\"errmsg\":\"ok\",\"invaliduser\":\"zhangsan\"}",
         ZQ_DELIVERY_FAIL, false, "zhangsan"},
        {ZQ_CH_WECOM_APP, 200, "{\"errcode\":0,\"errmsg\":\"ok\",\"unlicenseduser\":\"lisi\"}",
         ZQ_DELIVERY_FAIL, false, "lisi"},
        /* A user id longer than the reason shows: cut, still a failure. */
        {ZQ_CH_WECOM_APP, 200,
         "{\"errcode\":0,\"errmsg\":\"ok\",\"invaliduser\":\"" U60 U60 U60 "\"}", ZQ_DELIVERY_FAIL,
         false, "user " U60 " is invalid"},
        {ZQ_CH_WECOM_APP, 200, "{\"errcode\":42001,\"errmsg\":\"access_token expired\"}",
         ZQ_DELIVERY_RETRY, true, "42001"},
        {ZQ_CH_WECOM_APP, 200, "{\"errcode\":40014,\"errmsg\":\"invalid access_token\"}",
         ZQ_DELIVERY_RETRY, true, "40014"},
        {ZQ_CH_WECOM_APP, 200, "{\"errcode\":45009,\"errmsg\":\"api freq out of limit\"}",
         ZQ_DELIVERY_RETRY, false, "45009"},
        {ZQ_CH_WECOM_APP, 200, "{\"errcode\":-1,\"errmsg\":\"system busy\"}", ZQ_DELIVERY_RETRY,
         false, "-1"},
        {ZQ_CH_WECOM_APP, 200, "{\"errcode\":81013,\"errmsg\":\"user & party & tag all invalid\"}",
         ZQ_DELIVERY_FAIL, false, "81013"},
        {ZQ_CH_WECOM_APP, 200, "{\"errcode\":40056,\"errmsg\":\"invalid agentid\"}",
         ZQ_DELIVERY_FAIL, false, "40056"},
        {ZQ_CH_WECOM_APP, 200, "<html>gateway</html>", ZQ_DELIVERY_RETRY, false, "unknown"},
        {ZQ_CH_WECOM_APP, 502, "", ZQ_DELIVERY_RETRY, false, "502"},
        /* DingTalk app robot. */
        {ZQ_CH_DINGTALK_APP, 200, "{\"processQueryKey\":\"pqk1\"}", ZQ_DELIVERY_DONE, false, "ok"},
        {ZQ_CH_DINGTALK_APP, 200,
         "{\"processQueryKey\":\"k\",\"invalidStaffIdList\":[],\"flowControlledStaffIdList\":[]}",
         ZQ_DELIVERY_DONE, false, "ok"},
        {ZQ_CH_DINGTALK_APP, 200,
         "{\"processQueryKey\":\"k\",\"invalidStaffIdList\":[\"u9\"],"
         "\"flowControlledStaffIdList\":[]}",
         ZQ_DELIVERY_FAIL, false, "u9"},
        {ZQ_CH_DINGTALK_APP, 200,
         "{\"processQueryKey\":\"k\",\"invalidStaffIdList\":[],"
         "\"flowControlledStaffIdList\":[\"u8\"]}",
         ZQ_DELIVERY_RETRY, false, "flow control"},
        {ZQ_CH_DINGTALK_APP, 400,
         "{\"code\":\"InvalidAuthentication\",\"requestid\":\"R\",\"message\":\"不合法的access_"
         "token\"}",
         ZQ_DELIVERY_RETRY, true, "InvalidAuthentication"},
        {ZQ_CH_DINGTALK_APP, 401, "", ZQ_DELIVERY_RETRY, true, "401"},
        {ZQ_CH_DINGTALK_APP, 403,
         "{\"code\":\"Forbidden.AccessDenied.QpsLimitForApi\",\"message\":\"流控\"}",
         ZQ_DELIVERY_RETRY, false, "QpsLimit"},
        {ZQ_CH_DINGTALK_APP, 429, "{\"code\":\"Throttling.Api\",\"message\":\"x\"}",
         ZQ_DELIVERY_RETRY, false, "Throttling"},
        {ZQ_CH_DINGTALK_APP, 400, "{\"code\":\"robot.not.exist\",\"message\":\"机器人不存在\"}",
         ZQ_DELIVERY_FAIL, false, "robot.not.exist"},
        {ZQ_CH_DINGTALK_APP, 403,
         "{\"code\":\"Forbidden.AccessDenied.IpNotInWhiteList\",\"message\":\"ip\"}",
         ZQ_DELIVERY_FAIL, false, "IpNotInWhiteList"},
        {ZQ_CH_DINGTALK_APP, 200, "garbage", ZQ_DELIVERY_RETRY, false, "unknown"},
        {ZQ_CH_DINGTALK_APP, 503, "{\"code\":\"ServiceUnavailable\"}", ZQ_DELIVERY_RETRY, false,
         "503"},
        {ZQ_CH_DINGTALK_APP, 404, "", ZQ_DELIVERY_FAIL, false, "404"},
        /* Feishu IM API. */
        {ZQ_CH_FEISHU_CHAT, 200, "{\"code\":0,\"msg\":\"success\",\"data\":{}}", ZQ_DELIVERY_DONE,
         false, "ok"},
        {ZQ_CH_FEISHU_CHAT, 400, "{\"code\":99991663,\"msg\":\"Invalid access token\"}",
         ZQ_DELIVERY_RETRY, true, "99991663"},
        {ZQ_CH_FEISHU_CHAT, 400, "{\"code\":99991677,\"msg\":\"Authentication token expired\"}",
         ZQ_DELIVERY_RETRY, true, "99991677"},
        {ZQ_CH_FEISHU_CHAT, 400, "{\"code\":99991400,\"msg\":\"request trigger frequency limit\"}",
         ZQ_DELIVERY_RETRY, false, "99991400"},
        {ZQ_CH_FEISHU_CHAT, 400, "{\"code\":230020,\"msg\":\"frequency limit\"}", ZQ_DELIVERY_RETRY,
         false, "230020"},
        {ZQ_CH_FEISHU_CHAT, 400,
         "{\"code\":230002,\"msg\":\"Bot/User can NOT be out of the "
         "chat.\"}",
         ZQ_DELIVERY_FAIL, false, "230002"},
        {ZQ_CH_FEISHU_CHAT, 400, "{\"code\":230025,\"msg\":\"too long\"}", ZQ_DELIVERY_FAIL, false,
         "230025"},
        /* The same codes do not make a robot's token "rejected". */
        {ZQ_CH_FEISHU, 400, "{\"code\":99991663,\"msg\":\"x\"}", ZQ_DELIVERY_FAIL, false,
         "99991663"},
        {ZQ_CH_WECOM, 200, "{\"errcode\":42001,\"errmsg\":\"x\"}", ZQ_DELIVERY_FAIL, false,
         "42001"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < ZQ_ARRAY_LEN(cases); i++) {
        const answer *c = &cases[i];
        char reason[256];
        int64_t ra = -1;
        zq_delivery d = zq_channel_classify(c->k, c->status, c->body, strlen(c->body), NULL, &ra,
                                            reason, sizeof(reason));

        if (d != c->want || strstr(reason, c->in) == NULL)
            fail_msg("case %zu (%s %ld %s): got %d \"%s\"", i, zq_channel_name(c->k), c->status,
                     c->body, (int)d, reason);
        if (zq_channel_token_rejected(c->k, c->status, c->body, strlen(c->body)) != c->token)
            fail_msg("case %zu: token_rejected should be %d", i, c->token);
    }
}

static void test_apply_token(void **state)
{
    char url[64], hdr[64];

    (void)state;
    snprintf(url, sizeof(url), "http://h/cgi-bin/message/send");
    assert_int_equal(zq_apptoken_apply(ZQ_AUTH_WECOM, "T0K", url, sizeof(url), hdr, sizeof(hdr)),
                     0);
    assert_string_equal(url, "http://h/cgi-bin/message/send?access_token=T0K");
    assert_string_equal(hdr, "");
    snprintf(url, sizeof(url), "http://h/x?a=1");
    assert_int_equal(zq_apptoken_apply(ZQ_AUTH_WECOM, "T", url, sizeof(url), hdr, sizeof(hdr)), 0);
    assert_string_equal(url, "http://h/x?a=1&access_token=T");
    snprintf(url, sizeof(url), "http://h/v1.0/robot/groupMessages/send");
    assert_int_equal(zq_apptoken_apply(ZQ_AUTH_DINGTALK, "dt", url, sizeof(url), hdr, sizeof(hdr)),
                     0);
    assert_string_equal(url, "http://h/v1.0/robot/groupMessages/send");
    assert_string_equal(hdr, "x-acs-dingtalk-access-token: dt");
    assert_int_equal(zq_apptoken_apply(ZQ_AUTH_FEISHU, "t-1", url, sizeof(url), hdr, sizeof(hdr)),
                     0);
    assert_string_equal(hdr, "Authorization: Bearer t-1");
    /* Too long: refused, nothing half-written. */
    snprintf(url, sizeof(url), "http://h/cgi-bin/message/send");
    assert_int_equal(zq_apptoken_apply(ZQ_AUTH_WECOM, "0123456789012345678901234567890123456789",
                                       url, sizeof(url), hdr, sizeof(hdr)),
                     -ZQ_ETOOBIG);
    assert_string_equal(url, "http://h/cgi-bin/message/send");
}

static void test_apptoken_for(void **state)
{
    zq_config cfg;
    zq_apptoken_app app;

    (void)state;
    zq_config_defaults(&cfg);
    snprintf(cfg.wecom.corp_id, sizeof(cfg.wecom.corp_id), "wwcorp");
    snprintf(cfg.wecom.corp_secret, sizeof(cfg.wecom.corp_secret), "s1");
    cfg.wecom.agent_id = 1000002;
    snprintf(cfg.dingtalk.app_key, sizeof(cfg.dingtalk.app_key), "dingkey");
    snprintf(cfg.dingtalk.app_secret, sizeof(cfg.dingtalk.app_secret), "s2");
    assert_int_equal(zq_apptoken_for(&cfg, ZQ_AUTH_WECOM, &app), 0);
    assert_int_equal(app.kind, ZQ_APPTOKEN_WECOM);
    assert_string_equal(app.id, "wwcorp");
    assert_string_equal(app.secret, "s1");
    assert_string_equal(app.scope, "1000002");
    assert_string_equal(app.base_url, "https://qyapi.weixin.qq.com");
    assert_int_equal(zq_apptoken_for(&cfg, ZQ_AUTH_DINGTALK, &app), 0);
    assert_string_equal(app.base_url, "https://api.dingtalk.com");
    assert_string_equal(app.id, "dingkey");
    assert_int_equal(zq_apptoken_for(&cfg, ZQ_AUTH_FEISHU, &app), 0);
    assert_int_equal(app.kind, ZQ_APPTOKEN_FEISHU);
    assert_int_equal(zq_apptoken_for(&cfg, ZQ_AUTH_NONE, &app), -ZQ_EINVAL);
}

/* The channel settings taken from the configuration, per kind. */
static void test_channel_config_from(void **state)
{
    zq_config cfg;
    zq_channel_config cc;
    zq_channel_limits lim;
    zq_target t;
    zq_message m = {.title = "T", .body = "B"};
    zq_outreq *reqs = NULL;
    size_t n = 0;
    zq_err err = {0};

    (void)state;
    zq_config_defaults(&cfg);
    snprintf(cfg.channels.wecom_base_url, sizeof(cfg.channels.wecom_base_url), "http://w");
    cfg.channels.wecom_max_bytes = 1000;
    cfg.channels.telegram_per_second = 3;
    zq_channel_config_from(&cfg, &cc);
    assert_string_equal(cc.base_url[ZQ_CH_WECOM], "http://w");
    assert_string_equal(cc.base_url[ZQ_CH_WECOM_APP], "http://w");
    assert_string_equal(cc.base_url[ZQ_CH_GENERIC], "");
    assert_int_equal(cc.limits[ZQ_CH_WECOM].max_bytes, 1000);
    /* The app kinds keep their documented limits. */
    assert_int_equal(cc.limits[ZQ_CH_WECOM_APP].max_bytes, 2048);
    assert_int_equal(cc.wecom_agent_id, 0);
    assert_string_equal(cc.dingtalk_robot_code, "");
    lim = zq_channel_limits_from(&cfg, ZQ_CH_TELEGRAM);
    assert_int_equal(lim.per_second, 3);
    lim = zq_channel_limits_from(&cfg, ZQ_CH_FEISHU_CHAT);
    assert_int_equal(lim.per_minute, cfg.channels.feishu_per_minute);
    assert_int_equal(lim.max_bytes, 0);
    assert_false(zq_channel_app_configured(&cfg, ZQ_CH_FEISHU_CHAT));
    assert_false(zq_channel_app_configured(&cfg, ZQ_CH_FEISHU));
    snprintf(cfg.feishu.app_id, sizeof(cfg.feishu.app_id), "cli_1");
    snprintf(cfg.feishu.app_secret, sizeof(cfg.feishu.app_secret), "s");
    assert_true(zq_channel_app_configured(&cfg, ZQ_CH_FEISHU_CHAT));
    assert_int_equal(zq_channel_of_reply("wecom"), ZQ_CH_WECOM);
    assert_int_equal(zq_channel_of_reply("wecom-app"), ZQ_CH_WECOM_APP);
    assert_int_equal(zq_channel_of_reply("dingtalk-session"), ZQ_CH_DINGTALK);
    /* Feishu replies are IM API messages, not custom-bot ones. */
    assert_int_equal(zq_channel_of_reply("feishu"), ZQ_CH_FEISHU_CHAT);
    assert_int_equal(zq_channel_of_reply("lark"), ZQ_CH_FEISHU_CHAT);
    assert_int_equal(zq_channel_of_reply("telegram"), ZQ_CH_TELEGRAM);
    assert_int_equal(zq_channel_of_reply("webchat"), ZQ_CH_GENERIC);
    /* Every kind's stand-in target renders (the app kinds with their
     * apps' identities). */
    cc.wecom_agent_id = 1000002;
    snprintf(cc.dingtalk_robot_code, sizeof(cc.dingtalk_robot_code), "dingcode");
    for (int k = 0; k < ZQ_CH__COUNT; k++) {
        zq_channel_sample_target((zq_channel_kind)k, &t);
        if (k == ZQ_CH_SMS) {
            /* Without an [sms] provider: refused, not sent anywhere. */
            assert_int_equal(zq_channel_render(&cc, &t, &m, 1764000000000LL, &reqs, &n, &err),
                             -ZQ_ENOTSUP);
            continue;
        }
        assert_int_equal(zq_channel_render(&cc, &t, &m, 1764000000000LL, &reqs, &n, &err), 0);
        assert_true(n >= 1);
        zq_outreq_free_all(reqs, n);
    }
}

/* What the staff API (and a chat subscription stored and read back)
 * accepts for the app kinds. */
static void test_targets_from_json(void **state)
{
    static const struct {
        const char *json;
        int rc;
        const char *field;
    } cases[] = {
        {"{\"channel\":\"wecom-app\",\"address\":\"zhang.san@corp\"}", 0, NULL},
        {"{\"channel\":\"wecom-app\",\"address\":\"zhang san\"}", -ZQ_EINVAL, "address"},
        {"{\"channel\":\"wecom-app\",\"address\":\"u1\",\"secret\":\"x\"}", -ZQ_EINVAL, "secret"},
        {"{\"channel\":\"dingtalk-app\",\"address\":\"group:cidAbC+/=\"}", 0, NULL},
        {"{\"channel\":\"dingtalk-app\",\"address\":\"user:manager4321\"}", 0, NULL},
        {"{\"channel\":\"dingtalk-app\",\"address\":\"cidAbC\"}", -ZQ_EINVAL, "address"},
        {"{\"channel\":\"dingtalk-app\",\"address\":\"user:\"}", -ZQ_EINVAL, "address"},
        {"{\"channel\":\"feishu-chat\",\"address\":\"oc_84983ff6516d731e\"}", 0, NULL},
        {"{\"channel\":\"feishu-chat\",\"address\":\"oc_1?x=1\"}", -ZQ_EINVAL, "address"},
        {"{\"channel\":\"feishu-chat\",\"address\":\"oc_1\",\"chat_id\":\"1\"}", -ZQ_EINVAL,
         "chat_id"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < ZQ_ARRAY_LEN(cases); i++) {
        json_t *in = json_loads(cases[i].json, 0, NULL);
        const char *field = NULL, *msg = NULL;
        zq_target_rec r;
        int rc = zq_target_from_json(in, &r, &field, &msg);

        json_decref(in);
        if (rc != cases[i].rc)
            fail_msg("case %zu %s: rc %d (%s)", i, cases[i].json, rc, msg ? msg : "");
        if (rc < 0) {
            assert_string_equal(field, cases[i].field);
            assert_non_null(msg);
        } else {
            assert_true(zq_channel_is_app(r.t.kind));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_defaults),
        cmocka_unit_test(test_wecom_app),
        cmocka_unit_test(test_wecom_app_splits_at_2048_bytes),
        cmocka_unit_test(test_dingtalk_app),
        cmocka_unit_test(test_dingtalk_app_msgparam_limit),
        cmocka_unit_test(test_feishu_chat),
        cmocka_unit_test(test_feishu_chat_double_escaping),
        cmocka_unit_test(test_refused_input),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_apply_token),
        cmocka_unit_test(test_apptoken_for),
        cmocka_unit_test(test_channel_config_from),
        cmocka_unit_test(test_targets_from_json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

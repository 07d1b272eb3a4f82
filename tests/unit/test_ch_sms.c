/* Unit tests for SMS as an outbound kind (lib/push/ch_sms.c): the
 * requests rendered for Tencent, Alibaba and the gateway from the body
 * smsq.c writes (template order and names, the signature recomputed here,
 * a fresh timestamp and nonce per render), what refuses to render, the
 * answers (zq_sms_answer: the gateway's rules, masking of numbers), the
 * per-number limits and zhuqi-bot's windows for them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bot/bot.h"
#include "zhuqi/channel.h"
#include "zhuqi/sms.h"

#define T_ID "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
#define T_KEY "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
#define NOW_MS 1765012345000LL

static const char CODE_BODY[] =
    "{\"use\":\"code\",\"params\":{\"code\":\"123456\",\"minutes\":\"5\"}}";
static const char STATUS_BODY[] =
    "{\"use\":\"accepted\",\"params\":{\"case\":\"TS20261206-0001\",\"status\":\"已受理\","
    "\"deadline\":\"2026-12-20\"}}";

static void tencent_cc(zq_channel_config *cc)
{
    zq_channel_config_defaults(cc);
    snprintf(cc->sms.provider, sizeof(cc->sms.provider), "tencent");
    snprintf(cc->sms.tencent_base_url, sizeof(cc->sms.tencent_base_url),
             "http://127.0.0.1:9/tencent");
    snprintf(cc->sms.alibaba_base_url, sizeof(cc->sms.alibaba_base_url),
             "http://127.0.0.1:9/alibaba");
    snprintf(cc->sms.key_id, sizeof(cc->sms.key_id), T_ID);
    snprintf(cc->sms.secret, sizeof(cc->sms.secret), T_KEY);
    snprintf(cc->sms.app_id, sizeof(cc->sms.app_id), "1400006666");
    snprintf(cc->sms.region, sizeof(cc->sms.region), "ap-guangzhou");
    snprintf(cc->sms.sign_name, sizeof(cc->sms.sign_name), "助企平台");
    /* The template's order, not the message's. */
    snprintf(cc->sms.tpl[0], sizeof(cc->sms.tpl[0]), "2100001: minutes, code");
    snprintf(cc->sms.tpl[1], sizeof(cc->sms.tpl[1]),
             "SMS_480000002: caseno=case, status, deadline");
}

static zq_target sms_target(void)
{
    zq_target t;

    memset(&t, 0, sizeof(t));
    t.kind = ZQ_CH_SMS;
    snprintf(t.id, sizeof(t.id), "sms-0123456789abcdef");
    snprintf(t.address, sizeof(t.address), "13800138000");
    return t;
}

/* The value of header name in r ("" when absent). */
static const char *header(const zq_outreq *r, const char *name)
{
    size_t n = strlen(name);

    for (int i = 0; i < r->nheaders; i++)
        if (strncmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
            return r->headers[i] + n + 2;
    return "";
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int render(const zq_channel_config *cc, const char *body, int64_t now_ms, zq_outreq **reqs,
                  size_t *n, zq_err *err)
{
    zq_target t = sms_target();
    zq_message m = {.title = "短信", .body = body, .idem = "RP20261206-0001:sms-0123456789abcdef"};

    return zq_channel_render(cc, &t, &m, now_ms, reqs, n, err);
}

static void test_tencent(void **state)
{
    zq_channel_config cc;
    zq_outreq *reqs = NULL, *again = NULL;
    zq_err err = {0};
    size_t n = 0;
    zq_sms_tc3_in in;
    zq_sms_tc3_sig sig;
    json_t *j;

    (void)state;
    tencent_cc(&cc);
    assert_int_equal(render(&cc, CODE_BODY, NOW_MS, &reqs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(reqs[0].url, "http://127.0.0.1:9/tencent/");
    assert_false(reqs[0].get);
    assert_string_equal(reqs[0].content_type, "application/json; charset=utf-8");
    assert_string_equal(header(&reqs[0], "Host"), "127.0.0.1:9");
    assert_string_equal(header(&reqs[0], "X-TC-Action"), "SendSms");
    assert_string_equal(header(&reqs[0], "X-TC-Version"), "2021-01-11");
    assert_string_equal(header(&reqs[0], "X-TC-Timestamp"), "1765012345");
    assert_string_equal(header(&reqs[0], "X-TC-Region"), "ap-guangzhou");
    assert_string_equal(header(&reqs[0], "Content-Type"), "");
    j = json_loads(reqs[0].body.data, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "PhoneNumberSet"), 0)),
                        "+8613800138000");
    assert_string_equal(json_string_value(json_object_get(j, "SmsSdkAppId")), "1400006666");
    assert_string_equal(json_string_value(json_object_get(j, "SignName")), "助企平台");
    assert_string_equal(json_string_value(json_object_get(j, "TemplateId")), "2100001");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(j, "TemplateParamSet"), 0)), "5");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(j, "TemplateParamSet"), 1)), "123456");
    assert_string_equal(json_string_value(json_object_get(j, "SessionContext")),
                        "RP20261206-0001:sms-0123456789abcdef");
    json_decref(j);
    /* The signature of exactly these bytes, for the Host sent. */
    memset(&in, 0, sizeof(in));
    in.secret_id = T_ID;
    in.secret_key = T_KEY;
    in.service = "sms";
    in.host = "127.0.0.1:9";
    in.content_type = "application/json; charset=utf-8";
    in.timestamp = NOW_MS / 1000;
    in.body = reqs[0].body.data;
    in.len = reqs[0].body.len;
    assert_int_equal(zq_sms_tc3_sign(&in, &sig), 0);
    assert_string_equal(header(&reqs[0], "Authorization"), sig.authorization);
    /* Each attempt renders again: a later one signs its own time. */
    assert_int_equal(render(&cc, CODE_BODY, NOW_MS + 61000, &again, &n, &err), 0);
    assert_string_equal(header(&again[0], "X-TC-Timestamp"), "1765012406");
    assert_string_not_equal(header(&again[0], "Authorization"), header(&reqs[0], "Authorization"));
    zq_outreq_free_all(reqs, 1);
    zq_outreq_free_all(again, 1);
}

static void test_alibaba(void **state)
{
    zq_channel_config cc;
    zq_outreq *a = NULL, *b = NULL;
    zq_err err = {0};
    size_t n = 0;

    (void)state;
    tencent_cc(&cc);
    snprintf(cc.sms.provider, sizeof(cc.sms.provider), "alibaba");
    assert_int_equal(render(&cc, STATUS_BODY, NOW_MS, &a, &n, &err), 0);
    assert_true(starts_with(a[0].url, "http://127.0.0.1:9/alibaba/?OutId=RP20261206-0001%3Asms-"));
    assert_non_null(strstr(a[0].url, "&PhoneNumbers=13800138000&"));
    /* The vendor's variable names, from the template. */
    assert_non_null(strstr(a[0].url, "TemplateCode=SMS_480000002"));
    assert_non_null(strstr(a[0].url,
                           "TemplateParam=%7B%22caseno%22%3A%22TS20261206-0001%22%2C"
                           "%22status%22%3A%22%E5%B7%B2%E5%8F%97%E7%90%86%22%2C%22deadline"
                           "%22%3A%222026-12-20%22%7D"));
    assert_string_equal(a[0].content_type, "");
    assert_int_equal(a[0].body.len, 0);
    assert_string_equal(header(&a[0], "x-acs-action"), "SendSms");
    assert_string_equal(header(&a[0], "x-acs-date"), "2025-12-06T09:12:25Z");
    assert_int_equal(strlen(header(&a[0], "x-acs-signature-nonce")), 32);
    assert_int_equal(strncmp(header(&a[0], "Authorization"),
                             "ACS3-HMAC-SHA256 Credential=" T_ID ",SignedHeaders=host;", 70),
                     0);
    /* Same second, same message: still a new nonce, so a new signature. */
    assert_int_equal(render(&cc, STATUS_BODY, NOW_MS, &b, &n, &err), 0);
    assert_string_not_equal(header(&a[0], "x-acs-signature-nonce"),
                            header(&b[0], "x-acs-signature-nonce"));
    assert_string_not_equal(header(&a[0], "Authorization"), header(&b[0], "Authorization"));
    zq_outreq_free_all(a, 1);
    zq_outreq_free_all(b, 1);
}

static void gateway_cc(zq_channel_config *cc)
{
    tencent_cc(cc);
    snprintf(cc->sms.provider, sizeof(cc->sms.provider), "gateway");
    snprintf(cc->sms.secret, sizeof(cc->sms.secret), "gw-key");
    snprintf(cc->sms.text[0], sizeof(cc->sms.text[0]), "您的验证码为{code}，{minutes}分钟内有效。");
    snprintf(cc->sms.gw.url, sizeof(cc->sms.gw.url), "http://127.0.0.1:9/smsgw/send");
    snprintf(cc->sms.gw.method, sizeof(cc->sms.gw.method), "POST");
    snprintf(cc->sms.gw.body_format, sizeof(cc->sms.gw.body_format), "json");
    snprintf(cc->sms.gw.content_mode, sizeof(cc->sms.gw.content_mode), "text");
    snprintf(cc->sms.gw.auth, sizeof(cc->sms.gw.auth), "header");
    snprintf(cc->sms.gw.auth_header, sizeof(cc->sms.gw.auth_header), "X-Api-Key");
    snprintf(cc->sms.gw.field[0], sizeof(cc->sms.gw.field[0]), "mobile = {phone_bare}");
    snprintf(cc->sms.gw.field[1], sizeof(cc->sms.gw.field[1]), "content = {rendered_text}");
    snprintf(cc->sms.gw.field[2], sizeof(cc->sms.gw.field[2]), "requestId = {uuid}");
    snprintf(cc->sms.gw.field[3], sizeof(cc->sms.gw.field[3]), "ts = {unix_ms}");
    snprintf(cc->sms.gw.success_pointer, sizeof(cc->sms.gw.success_pointer), "/code");
    snprintf(cc->sms.gw.success_values, sizeof(cc->sms.gw.success_values), "\"0000\",0");
    snprintf(cc->sms.gw.msgid_pointer, sizeof(cc->sms.gw.msgid_pointer), "/data/msgId");
    snprintf(cc->sms.gw.error_message_pointer, sizeof(cc->sms.gw.error_message_pointer), "/msg");
    snprintf(cc->sms.gw.retry_codes, sizeof(cc->sms.gw.retry_codes), "SYSTEM_BUSY");
    snprintf(cc->sms.gw.throttle_codes, sizeof(cc->sms.gw.throttle_codes), "FREQ_LIMIT");
    snprintf(cc->sms.gw.http_success, sizeof(cc->sms.gw.http_success), "200-299");
    cc->sms.gw.throttle_s = 60;
}

static void test_gateway(void **state)
{
    zq_channel_config cc;
    zq_outreq *r = NULL;
    zq_err err = {0};
    size_t n = 0;
    json_t *j;

    (void)state;
    gateway_cc(&cc);
    assert_int_equal(render(&cc, CODE_BODY, NOW_MS, &r, &n, &err), 0);
    assert_string_equal(r[0].url, "http://127.0.0.1:9/smsgw/send");
    assert_string_equal(header(&r[0], "X-Api-Key"), "gw-key");
    j = json_loads(r[0].body.data, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "mobile")), "13800138000");
    assert_string_equal(json_string_value(json_object_get(j, "content")),
                        "【助企平台】您的验证码为123456，5分钟内有效。");
    assert_int_equal(strlen(json_string_value(json_object_get(j, "requestId"))), 36);
    assert_string_equal(json_string_value(json_object_get(j, "ts")), "1765012345000");
    json_decref(j);
    zq_outreq_free_all(r, 1);

    /* A form body, basic auth. */
    snprintf(cc.sms.gw.body_format, sizeof(cc.sms.gw.body_format), "form");
    snprintf(cc.sms.gw.auth, sizeof(cc.sms.gw.auth), "basic");
    snprintf(cc.sms.key_id, sizeof(cc.sms.key_id), "zhuqi");
    assert_int_equal(render(&cc, CODE_BODY, NOW_MS, &r, &n, &err), 0);
    assert_string_equal(r[0].content_type, "application/x-www-form-urlencoded");
    assert_true(
        starts_with(r[0].body.data, "mobile=13800138000&content=%E3%80%90%E5%8A%A9%E4%BC%81"));
    assert_string_equal(header(&r[0], "Authorization"), "Basic emh1cWk6Z3cta2V5");
    zq_outreq_free_all(r, 1);

    /* A GET with the fields in the query (Kannel), bearer auth. */
    snprintf(cc.sms.gw.method, sizeof(cc.sms.gw.method), "GET");
    snprintf(cc.sms.gw.body_format, sizeof(cc.sms.gw.body_format), "query");
    snprintf(cc.sms.gw.auth, sizeof(cc.sms.gw.auth), "bearer");
    snprintf(cc.sms.gw.url, sizeof(cc.sms.gw.url), "http://127.0.0.1:9/cgi-bin/sendsms?coding=2");
    assert_int_equal(render(&cc, CODE_BODY, NOW_MS, &r, &n, &err), 0);
    assert_true(r[0].get);
    assert_int_equal(r[0].body.len, 0);
    assert_true(
        starts_with(r[0].url, "http://127.0.0.1:9/cgi-bin/sendsms?coding=2&mobile=13800138000&"));
    assert_string_equal(header(&r[0], "Authorization"), "Bearer gw-key");
    zq_outreq_free_all(r, 1);

    /* Template mode: the template id and the params as an object. */
    snprintf(cc.sms.gw.method, sizeof(cc.sms.gw.method), "POST");
    snprintf(cc.sms.gw.body_format, sizeof(cc.sms.gw.body_format), "json");
    snprintf(cc.sms.gw.content_mode, sizeof(cc.sms.gw.content_mode), "template");
    snprintf(cc.sms.gw.field[1], sizeof(cc.sms.gw.field[1]), "templateId = {template_id}");
    snprintf(cc.sms.gw.field[2], sizeof(cc.sms.gw.field[2]), "params = {params_json}");
    assert_int_equal(render(&cc, STATUS_BODY, NOW_MS, &r, &n, &err), 0);
    j = json_loads(r[0].body.data, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "templateId")), "SMS_480000002");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "params"), "caseno")),
                        "TS20261206-0001");
    json_decref(j);
    zq_outreq_free_all(r, 1);
}

/* What does not render: no provider, no template for the use, not an
 * SMS body, a target that is not a bare mobile. */
static void test_refused(void **state)
{
    zq_channel_config cc;
    zq_outreq *r = NULL;
    zq_err err = {0};
    size_t n = 0;
    zq_target t = sms_target();
    zq_message m = {.title = "x", .body = CODE_BODY};

    (void)state;
    zq_channel_config_defaults(&cc);
    assert_int_equal(render(&cc, CODE_BODY, NOW_MS, &r, &n, &err), -ZQ_ENOTSUP);
    tencent_cc(&cc);
    assert_int_equal(render(&cc, "{\"use\":\"closed\",\"params\":{}}", NOW_MS, &r, &n, &err),
                     -ZQ_ENOTSUP);
    assert_non_null(strstr(err.msg, "tpl_closed"));
    assert_int_equal(render(&cc, "hello", NOW_MS, &r, &n, &err), -ZQ_EINVAL);
    assert_int_equal(
        render(&cc, "{\"use\":\"code\",\"params\":{\"code\":1}}", NOW_MS, &r, &n, &err),
        -ZQ_EINVAL);
    snprintf(t.address, sizeof(t.address), "+8613800138000");
    assert_int_equal(zq_channel_render(&cc, &t, &m, NOW_MS, &r, &n, &err), -ZQ_EINVAL);
    assert_null(r);
}

static void test_gateway_answers(void **state)
{
    static const struct {
        long status;
        const char *body;
        const char *retry_after;
        zq_sms_verdict v;
        int64_t wait;
        const char *code, *msg_id, *reason;
    } cases[] = {
        {200, "{\"code\":\"0000\",\"msg\":\"ok\",\"data\":{\"msgId\":\"m-1\"}}", NULL, ZQ_SMS_SENT,
         0, "0000", "m-1", "accepted"},
        {200, "{\"code\":0}", NULL, ZQ_SMS_SENT, 0, "0", "", "accepted"},
        {200, "{\"code\":\"FREQ_LIMIT\",\"msg\":\"too often\"}", NULL, ZQ_SMS_THROTTLED, 60000,
         "FREQ_LIMIT", "", "too often"},
        {200, "{\"code\":\"FREQ_LIMIT\"}", "7", ZQ_SMS_THROTTLED, 7000, "FREQ_LIMIT", "", ""},
        {429, "", "3", ZQ_SMS_THROTTLED, 3000, "", "", "HTTP 429"},
        {200, "{\"code\":\"SYSTEM_BUSY\"}", NULL, ZQ_SMS_RETRY, 0, "SYSTEM_BUSY", "", ""},
        {503, "<html>", NULL, ZQ_SMS_RETRY, 0, "", "", "HTTP 503"},
        {0, NULL, NULL, ZQ_SMS_RETRY, 0, "", "", "no answer"},
        {200, "garbage", NULL, ZQ_SMS_RETRY, 0, "", "", "without a readable code"},
        {200, "{\"code\":\"E_MOBILE\",\"msg\":\"bad number 13800138000\"}", NULL, ZQ_SMS_PERMANENT,
         0, "E_MOBILE", "", "bad number 138****8000"},
        {400, "{\"code\":\"E_AUTH\",\"msg\":\"bad key\"}", NULL, ZQ_SMS_PERMANENT, 0, "E_AUTH", "",
         "E_AUTH (HTTP 400): bad key"},
        {401, "", NULL, ZQ_SMS_PERMANENT, 0, "", "", "HTTP 401"},
    };
    zq_channel_config cc;

    (void)state;
    gateway_cc(&cc);
    for (size_t i = 0; i < ZQ_ARRAY_LEN(cases); i++) {
        zq_sms_result r =
            zq_sms_answer(&cc.sms, cases[i].status, cases[i].body,
                          cases[i].body ? strlen(cases[i].body) : 0, cases[i].retry_after, 0);

        if (r.verdict != cases[i].v || r.retry_after_ms != cases[i].wait ||
            strcmp(r.code, cases[i].code) != 0 || strcmp(r.msg_id, cases[i].msg_id) != 0 ||
            strstr(r.reason, cases[i].reason) == NULL)
            fail_msg("case %zu: %s %lld \"%s\" \"%s\" \"%s\"", i, zq_sms_verdict_name(r.verdict),
                     (long long)r.retry_after_ms, r.code, r.msg_id, r.reason);
    }
    /* Without success_pointer the status decides; Kannel answers 202. */
    cc.sms.gw.success_pointer[0] = '\0';
    snprintf(cc.sms.gw.http_success, sizeof(cc.sms.gw.http_success), "202");
    assert_int_equal(zq_sms_answer(&cc.sms, 202, "0: Accepted for delivery", 24, NULL, 0).verdict,
                     ZQ_SMS_SENT);
    assert_int_equal(zq_sms_answer(&cc.sms, 200, "", 0, NULL, 0).verdict, ZQ_SMS_PERMANENT);
    /* JSON pointers: escapes, arrays. */
    snprintf(cc.sms.gw.http_success, sizeof(cc.sms.gw.http_success), "200-299");
    snprintf(cc.sms.gw.success_pointer, sizeof(cc.sms.gw.success_pointer), "/r~1s/0/c~0d");
    {
        static const char body[] = "{\"r/s\":[{\"c~d\":\"0000\"}]}";
        assert_int_equal(zq_sms_answer(&cc.sms, 200, body, sizeof(body) - 1, NULL, 0).verdict,
                         ZQ_SMS_SENT);
    }
    snprintf(cc.sms.gw.success_pointer, sizeof(cc.sms.gw.success_pointer), "/r~1s/01/c");
    assert_int_equal(zq_sms_answer(&cc.sms, 200, "{\"r/s\":[1,2]}", 13, NULL, 0).verdict,
                     ZQ_SMS_RETRY);
}

/* The vendors' answers go through zq_sms_classify; numbers are masked. */
static void test_vendor_answers(void **state)
{
    static const char ok[] =
        "{\"Response\":{\"SendStatusSet\":[{\"SerialNo\":\"5000:1\",\"PhoneNumber\":"
        "\"+8613800138000\",\"Fee\":1,\"Code\":\"Ok\",\"Message\":\"send success\"}],"
        "\"RequestId\":\"r\"}}";
    static const char bad[] =
        "{\"Response\":{\"SendStatusSet\":[{\"SerialNo\":\"\",\"PhoneNumber\":\"+8613800138000\","
        "\"Fee\":0,\"Code\":\"InvalidParameterValue.IncorrectPhoneNumber\",\"Message\":"
        "\"13800138000 is not a number\"}],\"RequestId\":\"r\"}}";
    zq_channel_config cc;
    zq_sms_result r;

    (void)state;
    tencent_cc(&cc);
    r = zq_sms_answer(&cc.sms, 200, ok, sizeof(ok) - 1, NULL, 1765012345);
    assert_int_equal(r.verdict, ZQ_SMS_SENT);
    assert_string_equal(r.msg_id, "5000:1");
    r = zq_sms_answer(&cc.sms, 200, bad, sizeof(bad) - 1, NULL, 1765012345);
    assert_int_equal(r.verdict, ZQ_SMS_PERMANENT);
    assert_string_equal(r.code, "InvalidParameterValue.IncorrectPhoneNumber");
    assert_null(strstr(r.reason, "13800138000"));
    assert_non_null(strstr(r.reason, "138****8000"));
    assert_true(zq_sms_resign_code("AuthFailure.SignatureExpire"));
    assert_true(zq_sms_resign_code("SignatureNonceUsed"));
    assert_true(zq_sms_resign_code("InvalidTimeStamp.Expired"));
    assert_false(zq_sms_resign_code("AuthFailure.SignatureFailure"));
    assert_false(zq_sms_resign_code(NULL));
}

static void test_limits(void **state)
{
    zq_config cfg;
    zq_rate_window w[4];
    int iv, hour, day, n;
    bool clamped;

    (void)state;
    zq_config_defaults(&cfg);
    snprintf(cfg.sms.provider, sizeof(cfg.sms.provider), "tencent");
    zq_sms_limits(&cfg.sms, &iv, &hour, &day, &clamped);
    assert_int_equal(iv, 30);
    assert_int_equal(hour, 0);
    assert_int_equal(day, 10);
    assert_false(clamped);
    snprintf(cfg.sms.provider, sizeof(cfg.sms.provider), "alibaba");
    cfg.sms.interval_s = 10; /* looser than the vendor: raised */
    cfg.sms.per_hour = 3;    /* stricter: kept */
    cfg.sms.per_day = 40;    /* looser: lowered */
    zq_sms_limits(&cfg.sms, &iv, &hour, &day, &clamped);
    assert_int_equal(iv, 60);
    assert_int_equal(hour, 3);
    assert_int_equal(day, 10);
    assert_true(clamped);
    snprintf(cfg.sms.provider, sizeof(cfg.sms.provider), "gateway");
    cfg.sms.interval_s = 2;
    cfg.sms.per_hour = 0;
    cfg.sms.per_day = 0;
    zq_sms_limits(&cfg.sms, &iv, &hour, &day, &clamped);
    assert_int_equal(iv, 2);
    assert_int_equal(hour, 0);
    assert_int_equal(day, 0);
    assert_false(clamped);
    /* zhuqi-bot's windows per number, in minutes of rate_window_ms. */
    snprintf(cfg.sms.provider, sizeof(cfg.sms.provider), "alibaba");
    cfg.sms.interval_s = 0;
    cfg.sms.per_hour = 0;
    cfg.channels.rate_window_ms = 6000;
    cfg.channels.rate_slack_ms = 100;
    n = zq_bot_rate_windows(&cfg, ZQ_CH_SMS, w);
    assert_int_equal(n, 3);
    assert_int_equal(w[0].limit, 1);
    assert_int_equal(w[0].window_ms, 6000 + 100);
    assert_int_equal(w[1].limit, 5);
    assert_int_equal(w[1].window_ms, 60 * 6000 + 100);
    assert_int_equal(w[2].limit, 10);
    assert_int_equal(w[2].window_ms, 1440 * 6000 + 100);
    snprintf(cfg.sms.provider, sizeof(cfg.sms.provider), "tencent");
    n = zq_bot_rate_windows(&cfg, ZQ_CH_SMS, w);
    assert_int_equal(n, 2);
    assert_int_equal(w[0].window_ms, 3000 + 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tencent),         cmocka_unit_test(test_alibaba),
        cmocka_unit_test(test_gateway),         cmocka_unit_test(test_refused),
        cmocka_unit_test(test_gateway_answers), cmocka_unit_test(test_vendor_answers),
        cmocka_unit_test(test_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the SMS providers (lib/push/sms_sign.c, sms.c): every
 * signature vector of specs/sms.md §5 bit for bit, the SendSms requests,
 * and the classification of each error code of §1.5 and §2.5.
 * With "--cross" the binary reads signing inputs on stdin (one per line,
 * tab-separated) and prints what zhuqi computes: tests/e2e/test_sms_sign.py
 * compares that with tests/fake/smssign.py on random inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "zhuqi/buf.h"
#include "zhuqi/common.h"
#include "zhuqi/sms.h"

#define T_ID "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
#define T_KEY "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"

static void hex32(const unsigned char k[32], char out[65])
{
    zq_hex(k, 32, out);
}

static void test_tc3_t1(void **state)
{
    static const char body[] = "{\"Limit\": 1, \"Filters\": [{\"Values\": "
                               "[\"\\u672a\\u547d\\u540d\"], \"Name\": \"instance-name\"}]}";
    zq_sms_tc3_in in = {T_ID,
                        T_KEY,
                        "cvm",
                        "cvm.tencentcloudapi.com",
                        "application/json; charset=utf-8",
                        1551113065,
                        body,
                        sizeof(body) - 1};
    zq_sms_tc3_sig sig;
    unsigned char kd[32], ks[32], kk[32];
    char hex[65];

    (void)state;
    assert_int_equal(zq_sms_tc3_sign(&in, &sig), 0);
    assert_string_equal(sig.date, "2019-02-25");
    assert_string_equal(sig.payload_sha256,
                        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
    assert_string_equal(sig.canonical_sha256,
                        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
    assert_string_equal(sig.signature,
                        "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
    assert_string_equal(
        sig.authorization,
        "TC3-HMAC-SHA256 Credential=" T_ID "/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
    assert_int_equal(zq_sms_tc3_keys(T_KEY, "2019-02-25", "cvm", kd, ks, kk), 0);
    hex32(kd, hex);
    assert_string_equal(hex, "d1308c81fe71cfd4e06437bbc067b2b8a3d2d8c0e375d547f15c41d5214b395a");
    hex32(ks, hex);
    assert_string_equal(hex, "3c7cb7c7795393edc14fd2e0e6434a518564b4504b88e94f5d11bf59ba3e7050");
    hex32(kk, hex);
    assert_string_equal(hex, "ac658d5dde49e9bfdd14e04e062f66b05d9f637d44b8a8d845327d4a77f666b1");

    /* A line break in a signed header value is refused, not signed. */
    in.host = "cvm.tencentcloudapi.com\nx: y";
    assert_int_equal(zq_sms_tc3_sign(&in, &sig), -ZQ_EINVAL);
    in.host = "cvm.tencentcloudapi.com";
    in.timestamp = -1;
    assert_int_equal(zq_sms_tc3_sign(&in, &sig), -ZQ_EINVAL);
}

/* T2: the SendSms request of §1.2, built and signed. */
static void test_tencent_request_t2(void **state)
{
    static const char *phones[] = {"+8613800138000"};
    static const char *params[] = {"123456", "5"};
    zq_sms_send s = {0};
    zq_sms_req r;
    zq_err err = {0};

    (void)state;
    s.key_id = T_ID;
    s.secret = T_KEY;
    s.app_id = "1400006666";
    s.sign_name = "腾讯云";
    s.template_id = "1110";
    s.params = params;
    s.nparams = 2;
    s.phones = phones;
    s.nphones = 1;
    s.timestamp = 1765012345;
    assert_int_equal(
        zq_sms_request(ZQ_SMS_TENCENT, &s, "https://sms.tencentcloudapi.com", &r, &err), 0);
    assert_string_equal(r.body.data,
                        "{\"PhoneNumberSet\":[\"+8613800138000\"],\"SmsSdkAppId\":\"1400006666\","
                        "\"SignName\":\"腾讯云\",\"TemplateId\":\"1110\","
                        "\"TemplateParamSet\":[\"123456\",\"5\"]}");
    assert_int_equal(r.body.len, 141);
    assert_string_equal(r.url, "https://sms.tencentcloudapi.com/");
    assert_int_equal(r.nheaders, 7);
    assert_string_equal(r.headers[0], "Host: sms.tencentcloudapi.com");
    assert_string_equal(r.headers[1], "Content-Type: application/json; charset=utf-8");
    assert_string_equal(r.headers[2], "X-TC-Action: SendSms");
    assert_string_equal(r.headers[3], "X-TC-Version: 2021-01-11");
    assert_string_equal(r.headers[4], "X-TC-Timestamp: 1765012345");
    assert_string_equal(r.headers[5], "X-TC-Region: ap-guangzhou");
    assert_string_equal(
        r.headers[6], "Authorization: TC3-HMAC-SHA256 Credential=" T_ID
                      "/2025-12-06/sms/tc3_request, SignedHeaders=content-type;host, "
                      "Signature=a22639e547569cca82eceb91451787780c2e111be3b3285e5b4746961a4e9ef1");
    zq_sms_req_free(&r);

    /* Bare numbers become +86; the session context and the host go in. */
    phones[0] = "13800138000";
    s.session = "case-42";
    s.host = "127.0.0.1:8999";
    s.region = "ap-beijing";
    assert_int_equal(zq_sms_request(ZQ_SMS_TENCENT, &s, "http://127.0.0.1:8999", &r, &err), 0);
    assert_non_null(strstr(r.body.data, "[\"+8613800138000\"]"));
    assert_non_null(strstr(r.body.data, ",\"SessionContext\":\"case-42\"}"));
    assert_string_equal(r.headers[0], "Host: 127.0.0.1:8999");
    assert_string_equal(r.headers[5], "X-TC-Region: ap-beijing");
    zq_sms_req_free(&r);
    phones[0] = "+8613800138000";
}

static void v1(const char *secret, const char *method, const zq_sms_kv *p, size_t n,
               const char *want, const char *want_sts)
{
    char out[29];
    zq_buf sts = {0};

    assert_int_equal(zq_sms_acs_v1_sign(secret, method, p, n, out, sizeof(out), &sts), 0);
    assert_string_equal(out, want);
    if (want_sts != NULL)
        assert_string_equal(sts.data, want_sts);
    zq_buf_free(&sts);
}

static void test_acs_v1_vectors(void **state)
{
    /* Deliberately out of order: the signer sorts. */
    static const zq_sms_kv a1[] = {
        {"Version", "2014-05-26"},
        {"AccessKeyId", "testid"},
        {"Action", "DescribeRegions"},
        {"Format", "XML"},
        {"SignatureMethod", "HMAC-SHA1"},
        {"SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
        {"SignatureVersion", "1.0"},
        {"Timestamp", "2016-02-23T12:46:24Z"},
    };
    static const zq_sms_kv a2[] = {
        {"AccessKeyId", "testId"},
        {"Action", "SendSms"},
        {"Format", "XML"},
        {"OutId", "123"},
        {"PhoneNumbers", "15300000001"},
        {"RegionId", "cn-hangzhou"},
        {"SignName", "阿里云短信测试专用"},
        {"SignatureMethod", "HMAC-SHA1"},
        {"SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"},
        {"SignatureVersion", "1.0"},
        {"TemplateCode", "SMS_71390007"},
        {"TemplateParam", "{\"customer\":\"test\"}"},
        {"Timestamp", "2017-07-12T02:42:19Z"},
        {"Version", "2017-05-25"},
    };
    static const zq_sms_kv a3[] = {{"query", "test"}, {"body", "test"}};
    static const zq_sms_kv a4[] = {
        {"AccessKeyId", "testId"},
        {"Action", "SendSms"},
        {"Format", "JSON"},
        {"OutId", "TS20261206-0001"},
        {"PhoneNumbers", "13800138000"},
        {"RegionId", "cn-hangzhou"},
        {"SignName", "阿里云短信测试"},
        {"SignatureMethod", "HMAC-SHA1"},
        {"SignatureNonce", "c7a0e6b2-6d1f-4d7e-9f3a-2b1c0d9e8f70"},
        {"SignatureVersion", "1.0"},
        {"TemplateCode", "SMS_154950909"},
        {"TemplateParam", "{\"caseno\":\"TS20261206-0001\",\"status\":\"已受理\"}"},
        {"Timestamp", "2026-12-06T02:30:00Z"},
        {"Version", "2017-05-25"},
    };
    zq_buf q = {0};
    char small[28];

    (void)state;
    v1("testsecret", "GET", a1, ZQ_ARRAY_LEN(a1), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=",
       "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26"
       "SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26"
       "SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26");
    v1("testsecret", "POST", a1, ZQ_ARRAY_LEN(a1), "MxbnVAM4w6sft9xjVpe/GCKueuk=", NULL);
    v1("testSecret", "GET", a2, ZQ_ARRAY_LEN(a2), "zJDF+Lrzhj/ThnlvIToysFRq6t4=", NULL);
    v1("testsecret", "GET", a2, ZQ_ARRAY_LEN(a2), "EpROzuoKhdewdxdmVWhll2qdKbk=", NULL);
    assert_int_equal(zq_sms_acs_query(&q, a2, ZQ_ARRAY_LEN(a2), false), 0);
    assert_non_null(strstr(q.data,
                           "&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B"
                           "%E8%AF%95%E4%B8%93%E7%94%A8&"));
    assert_non_null(strstr(q.data, "&TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp="
                                   "2017-07-12T02%3A42%3A19Z&Version=2017-05-25"));
    zq_buf_free(&q);
    v1("secret", "GET", a3, 2,
       "XlUyV4sXjOuX5FnjUz9IF9tm5rU=", "GET&%2F&body%3Dtest%26query%3Dtest");
    v1("testSecret", "POST", a4, ZQ_ARRAY_LEN(a4), "sCTP8o6wS/yOtTMuwGirVpZ6XXY=", NULL);
    v1("testSecret", "GET", a4, ZQ_ARRAY_LEN(a4), "/Tc+UEU0Vt1ShP1A58WHhOgBCJ0=", NULL);
    /* The signature in the URL: encoded once more. */
    assert_int_equal(zq_sms_acs_encode(&q, "zJDF+Lrzhj/ThnlvIToysFRq6t4=", 28), 0);
    assert_string_equal(q.data, "zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D");
    zq_buf_free(&q);
    assert_int_equal(zq_sms_acs_v1_sign("s", "GET", a3, 2, small, sizeof(small), NULL),
                     -ZQ_ETOOBIG);
}

static void test_acs_encode(void **state)
{
    zq_buf b = {0};

    (void)state;
    assert_int_equal(zq_sms_acs_encode(&b, "a b*c~d/e+f=g&h:i-_.Z9", 22), 0);
    assert_string_equal(b.data, "a%20b%2Ac~d%2Fe%2Bf%3Dg%26h%3Ai-_.Z9");
    zq_buf_reset(&b);
    assert_int_equal(zq_sms_acs_encode(&b, "已\xff", 4), 0);
    assert_string_equal(b.data, "%E5%B7%B2%FF");
    zq_buf_free(&b);
}

static void test_acs3_vectors(void **state)
{
    static const zq_sms_kv v1q[] = {
        {"RegionId", "cn-shanghai"},
        {"ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"},
    };
    static const zq_sms_kv v1h[] = {
        {"host", "ecs.cn-shanghai.aliyuncs.com"},
        {"x-acs-action", "RunInstances"},
        {"x-acs-version", "2014-05-26"},
        {"x-acs-date", "2023-10-26T10:22:32Z"},
        {"x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"},
        {"x-acs-content-sha256",
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    };
    static const zq_sms_kv v2q[] = {{"test", "ok"}, {"empty", ""}};
    static const zq_sms_kv v2h[] = {{"x-acs-test", "http"}, {"x-acs-TEST", "https"}};
    zq_sms_acs3_in in = {"YourAccessKeyId",
                         "YourAccessKeySecret",
                         "POST",
                         "/",
                         v1q,
                         2,
                         v1h,
                         6,
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
    zq_sms_acs3_sig sig;

    (void)state;
    assert_int_equal(zq_sms_acs3_sign(&in, &sig), 0);
    assert_string_equal(sig.canonical_sha256,
                        "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259");
    assert_string_equal(
        sig.authorization,
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
        "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");

    in = (zq_sms_acs3_in){
        "acesskey", "secret", "GET",
        "",         v2q,      2,
        v2h,        2,        "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23"};
    assert_int_equal(zq_sms_acs3_sign(&in, &sig), 0);
    assert_string_equal(
        sig.authorization,
        "ACS3-HMAC-SHA256 Credential=acesskey,SignedHeaders=x-acs-test,"
        "Signature=da772425f29289d3460d5fc961455d40c5e8c6afd0888b78a910c991e6a14846");

    in.headers = (const zq_sms_kv[]){{"x-acs-test", "a\r\nx-evil: 1"}};
    in.nheaders = 1;
    assert_int_equal(zq_sms_acs3_sign(&in, &sig), -ZQ_EINVAL);
}

/* V3: the Alibaba SendSms request, built and signed with ACS3. */
static void test_alibaba_request_v3(void **state)
{
    static const char *phones[] = {"+8613800138000"};
    static const char *params[] = {"123456"};
    static const char *names[] = {"code"};
    zq_sms_send s = {0};
    zq_sms_req r;
    zq_err err = {0};

    (void)state;
    s.key_id = "YourAccessKeyId";
    s.secret = "YourAccessKeySecret";
    s.sign_name = "阿里云短信测试";
    s.template_id = "SMS_154950909";
    s.params = params;
    s.param_names = names;
    s.nparams = 1;
    s.phones = phones;
    s.nphones = 1;
    s.timestamp = 1796524200; /* 2026-12-06T02:30:00Z */
    s.nonce = "3156853299f313e23d1673dc12e1703d";
    assert_int_equal(zq_sms_request(ZQ_SMS_ALIBABA, &s, "https://dysmsapi.aliyuncs.com", &r, &err),
                     0);
    assert_string_equal(r.url, "https://dysmsapi.aliyuncs.com/?PhoneNumbers=13800138000&SignName="
                               "%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95&"
                               "TemplateCode=SMS_154950909&TemplateParam=%7B%22code%22%3A%22123456%"
                               "22%7D");
    assert_int_equal(r.body.len, 0);
    assert_int_equal(r.nheaders, 7);
    assert_string_equal(r.headers[0], "host: dysmsapi.aliyuncs.com");
    assert_string_equal(r.headers[3], "x-acs-date: 2026-12-06T02:30:00Z");
    assert_string_equal(
        r.headers[6],
        "Authorization: ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;"
        "x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=df589fe5a2eb45a032c0770675c28ac2d63ea5d39af0ac6edd10ca6ae6da1323");
    zq_sms_req_free(&r);

    /* Several numbers: bare, comma-separated; OutId carries the session. */
    phones[0] = "0086 13800138000";
    assert_int_equal(zq_sms_request(ZQ_SMS_ALIBABA, &s, "https://x.example", &r, &err), -ZQ_EINVAL);
    phones[0] = "+8613800138000";
    s.phones = (const char *const[]){"13800138000", "8613900139000"};
    s.nphones = 2;
    s.session = "TS20261206-0001";
    assert_int_equal(zq_sms_request(ZQ_SMS_ALIBABA, &s, "https://x.example", &r, &err), 0);
    assert_non_null(
        strstr(r.url, "?OutId=TS20261206-0001&PhoneNumbers=13800138000%2C13900139000&"));
    zq_sms_req_free(&r);
}

static void test_request_bad_input(void **state)
{
    static const char *phones[] = {"13800138000"};
    static const char *params[] = {"123456"};
    zq_sms_send s = {0}, good;
    zq_sms_req r;
    zq_err err = {0};
    const char *many[ZQ_SMS_MAX_PHONES + 1];
    char longs[ZQ_SMS_MAX_FIELD + 2];

    (void)state;
    s.key_id = "id";
    s.secret = "key";
    s.app_id = "1400006666";
    s.sign_name = "签名";
    s.template_id = "1";
    s.params = params;
    s.nparams = 1;
    s.phones = phones;
    s.nphones = 1;
    s.timestamp = 1765012345;
    good = s;
    assert_int_equal(zq_sms_request(ZQ_SMS_TENCENT, &s, "https://h", &r, &err), 0);
    zq_sms_req_free(&r);
    assert_int_equal(zq_sms_request(ZQ_SMS_TENCENT, &s, "ftp://h", &r, &err), -ZQ_EINVAL);
    assert_int_equal(zq_sms_request(ZQ_SMS__COUNT, &s, "https://h", &r, &err), -ZQ_EINVAL);
    /* Alibaba needs names for the params and a nonce. */
    assert_int_equal(zq_sms_request(ZQ_SMS_ALIBABA, &s, "https://h", &r, &err), -ZQ_EINVAL);
    s.app_id = NULL;
    assert_int_equal(zq_sms_request(ZQ_SMS_TENCENT, &s, "https://h", &r, &err), -ZQ_EINVAL);
    assert_non_null(strstr(err.msg, "SmsSdkAppId"));
    s = good;
    s.sign_name = "签\n名";
    assert_int_equal(zq_sms_request(ZQ_SMS_TENCENT, &s, "https://h", &r, &err), -ZQ_EINVAL);
    s.sign_name = "\xe7\xad";
    assert_int_equal(zq_sms_request(ZQ_SMS_TENCENT, &s, "https://h", &r, &err), -ZQ_EINVAL);
    s = good;
    memset(longs, 'a', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = '\0';
    s.template_id = longs;
    assert_int_equal(zq_sms_request(ZQ_SMS_TENCENT, &s, "https://h", &r, &err), -ZQ_EINVAL);
    s = good;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(many); i++)
        many[i] = "13800138000";
    s.phones = many;
    s.nphones = ZQ_SMS_MAX_PHONES;
    assert_int_equal(zq_sms_request(ZQ_SMS_TENCENT, &s, "https://h", &r, &err), 0);
    zq_sms_req_free(&r);
    /* The most numbers fit Alibaba's URL too. */
    s.param_names = (const char *const[]){"code"};
    s.nonce = "n";
    assert_int_equal(zq_sms_request(ZQ_SMS_ALIBABA, &s, "https://h", &r, &err), 0);
    zq_sms_req_free(&r);
    s.nphones = ZQ_SMS_MAX_PHONES + 1;
    assert_int_equal(zq_sms_request(ZQ_SMS_TENCENT, &s, "https://h", &r, &err), -ZQ_EINVAL);
    s.nphones = 0;
    assert_int_equal(zq_sms_request(ZQ_SMS_TENCENT, &s, "https://h", &r, &err), -ZQ_EINVAL);
    s = good;
    s.nparams = ZQ_SMS_MAX_PARAMS + 1;
    assert_int_equal(zq_sms_request(ZQ_SMS_TENCENT, &s, "https://h", &r, &err), -ZQ_EINVAL);
}

static void test_phone(void **state)
{
    char out[12];

    (void)state;
    assert_int_equal(zq_sms_phone_bare("13800138000", out), 0);
    assert_string_equal(out, "13800138000");
    assert_int_equal(zq_sms_phone_bare("+8619912345678", out), 0);
    assert_string_equal(out, "19912345678");
    assert_int_equal(zq_sms_phone_bare("008613800138000", out), 0);
    assert_int_equal(zq_sms_phone_bare("8613800138000", out), 0);
    assert_string_equal(out, "13800138000");
    assert_int_equal(zq_sms_phone_bare("12800138000", out), -ZQ_EINVAL);
    assert_int_equal(zq_sms_phone_bare("1380013800", out), -ZQ_EINVAL);
    assert_int_equal(zq_sms_phone_bare("138001380001", out), -ZQ_EINVAL);
    assert_int_equal(zq_sms_phone_bare("1380013800a", out), -ZQ_EINVAL);
    assert_int_equal(zq_sms_phone_bare("+85213800138000", out), -ZQ_EINVAL);
    assert_int_equal(zq_sms_phone_bare("", out), -ZQ_EINVAL);
    assert_int_equal(zq_sms_phone_bare(NULL, out), -ZQ_EINVAL);
    assert_string_equal(out, "");
}

/* 2026-12-06T02:30:00Z = 10:30 Beijing: 13.5 h to Beijing midnight, and
 * 25 days more to 2027-01-01. */
#define NOW 1796524200LL
#define TO_MIDNIGHT (48600LL * 1000)
#define TO_MONTH ((48600LL + 25 * 86400) * 1000)

typedef struct code_case {
    const char *code;
    zq_sms_verdict v;
    int64_t after_ms;
} code_case;

static const code_case TENCENT_CASES[] = {
    {"LimitExceeded.PhoneNumberThirtySecondLimit", ZQ_SMS_THROTTLED, 30000},
    {"LimitExceeded.PhoneNumberOneHourLimit", ZQ_SMS_THROTTLED, 3600000},
    {"LimitExceeded.PhoneNumberDailyLimit", ZQ_SMS_THROTTLED, TO_MIDNIGHT},
    {"LimitExceeded.PhoneNumberSameContentDailyLimit", ZQ_SMS_THROTTLED, TO_MIDNIGHT},
    {"LimitExceeded.DeliveryFrequencyLimit", ZQ_SMS_THROTTLED, 60000},
    {"LimitExceeded.AppDailyLimit", ZQ_SMS_THROTTLED, TO_MIDNIGHT},
    {"LimitExceeded.DailyLimit", ZQ_SMS_THROTTLED, TO_MIDNIGHT},
    {"RequestLimitExceeded", ZQ_SMS_THROTTLED, 1000},
    {"InternalError.Timeout", ZQ_SMS_RETRY, 0},
    {"InternalError.SendAndRecvFail", ZQ_SMS_RETRY, 0},
    {"InternalError.UnknownError", ZQ_SMS_RETRY, 0},
    {"InternalError.OtherError", ZQ_SMS_RETRY, 0},
    {"InternalError", ZQ_SMS_RETRY, 0},
    {"AuthFailure.SignatureExpire", ZQ_SMS_RETRY, 0},
    {"InternalError.RequestTimeException", ZQ_SMS_RETRY, 0},
    {"FailedOperation.TemplateIncorrectOrUnapproved", ZQ_SMS_PERMANENT, 0},
    {"FailedOperation.SignatureIncorrectOrUnapproved", ZQ_SMS_PERMANENT, 0},
    {"InvalidParameterValue.TemplateParameterFormatError", ZQ_SMS_PERMANENT, 0},
    {"InvalidParameterValue.TemplateParameterLengthLimit", ZQ_SMS_PERMANENT, 0},
    {"InvalidParameterValue.ContentLengthLimit", ZQ_SMS_PERMANENT, 0},
    {"InvalidParameterValue.ProhibitedUseUrlInTemplateParameter", ZQ_SMS_PERMANENT, 0},
    {"FailedOperation.ContainSensitiveWord", ZQ_SMS_PERMANENT, 0},
    {"InvalidParameterValue.DirtyWordFound", ZQ_SMS_PERMANENT, 0},
    {"FailedOperation.FailResolvePacket", ZQ_SMS_PERMANENT, 0},
    {"FailedOperation.JsonParseFail", ZQ_SMS_PERMANENT, 0},
    {"InvalidParameter", ZQ_SMS_PERMANENT, 0},
    {"InvalidParameter.AppidAndBizId", ZQ_SMS_PERMANENT, 0},
    {"MissingParameter", ZQ_SMS_PERMANENT, 0},
    {"MissingParameter.EmptyPhoneNumberSet", ZQ_SMS_PERMANENT, 0},
    {"InvalidParameterValue.SdkAppIdNotExist", ZQ_SMS_PERMANENT, 0},
    {"InvalidParameterValue.IncorrectPhoneNumber", ZQ_SMS_PERMANENT, 0},
    {"FailedOperation.PhoneNumberInBlacklist", ZQ_SMS_PERMANENT, 0},
    {"FailedOperation.PhoneNumberOnBlacklist", ZQ_SMS_PERMANENT, 0},
    {"FailedOperation.InsufficientBalanceInSmsPackage", ZQ_SMS_PERMANENT, 0},
    {"UnauthorizedOperation.SerivceSuspendDueToArrears", ZQ_SMS_PERMANENT, 0},
    {"UnauthorizedOperation.SdkAppIdIsDisabled", ZQ_SMS_PERMANENT, 0},
    {"UnauthorizedOperation.SmsSdkAppIdVerifyFail", ZQ_SMS_PERMANENT, 0},
    {"UnauthorizedOperation.RequestIpNotInWhitelist", ZQ_SMS_PERMANENT, 0},
    {"UnauthorizedOperation.RequestPermissionDeny", ZQ_SMS_PERMANENT, 0},
    {"AuthFailure.SignatureFailure", ZQ_SMS_PERMANENT, 0},
    {"AuthFailure.SecretIdNotFound", ZQ_SMS_PERMANENT, 0},
    {"AuthFailure.InvalidSecretId", ZQ_SMS_PERMANENT, 0},
    {"UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber", ZQ_SMS_PERMANENT, 0},
    {"UnsupportedOperation.UnsuportedRegion", ZQ_SMS_PERMANENT, 0},
    {"FailedOperation.MarketingSendTimeConstraint", ZQ_SMS_PERMANENT, 0},
};

static const code_case ALIBABA_CASES[] = {
    {"isv.BUSINESS_LIMIT_CONTROL", ZQ_SMS_THROTTLED, 60000},
    {"isv.DAY_LIMIT_CONTROL", ZQ_SMS_THROTTLED, TO_MIDNIGHT},
    {"isv.MONTH_LIMIT_CONTROL", ZQ_SMS_THROTTLED, TO_MONTH},
    {"Throttling", ZQ_SMS_THROTTLED, 1000},
    {"Throttling.User", ZQ_SMS_THROTTLED, 1000},
    {"Throttling.Api", ZQ_SMS_THROTTLED, 1000},
    {"isp.SYSTEM_ERROR", ZQ_SMS_RETRY, 0},
    {"isp.GATEWAY_ERROR", ZQ_SMS_RETRY, 0},
    {"ServiceUnavailable", ZQ_SMS_RETRY, 0},
    {"InternalError", ZQ_SMS_RETRY, 0},
    {"SignatureNonceUsed", ZQ_SMS_RETRY, 0},
    {"InvalidTimeStamp.Expired", ZQ_SMS_RETRY, 0},
    {"isv.SMS_TEMPLATE_ILLEGAL", ZQ_SMS_PERMANENT, 0},
    {"isv.SMS_SIGNATURE_ILLEGAL", ZQ_SMS_PERMANENT, 0},
    {"isv.SMS_SIGNATURE_SCENE_ILLEGAL", ZQ_SMS_PERMANENT, 0},
    {"isv.SIGN_STATE_ILLEGAL", ZQ_SMS_PERMANENT, 0},
    {"isv.SMS_SIGN_ILLEGAL", ZQ_SMS_PERMANENT, 0},
    {"isv.TEMPLATE_MISSING_PARAMETERS", ZQ_SMS_PERMANENT, 0},
    {"isv.INVALID_JSON_PARAM", ZQ_SMS_PERMANENT, 0},
    {"isv.PARAM_LENGTH_LIMIT", ZQ_SMS_PERMANENT, 0},
    {"isv.PARAM_NOT_SUPPORT_URL", ZQ_SMS_PERMANENT, 0},
    {"isv.BLACK_KEY_CONTROL_LIMIT", ZQ_SMS_PERMANENT, 0},
    {"isv.SMS_CONTENT_ILLEGAL", ZQ_SMS_PERMANENT, 0},
    {"isv.INVALID_PARAMETERS", ZQ_SMS_PERMANENT, 0},
    {"isv.EXTEND_CODE_ERROR", ZQ_SMS_PERMANENT, 0},
    {"isv.MOBILE_NUMBER_ILLEGAL", ZQ_SMS_PERMANENT, 0},
    {"isv.MOBILE_COUNT_OVER_LIMIT", ZQ_SMS_PERMANENT, 0},
    {"isv.DOMESTIC_NUMBER_NOT_SUPPORTED", ZQ_SMS_PERMANENT, 0},
    {"isv.AMOUNT_NOT_ENOUGH", ZQ_SMS_PERMANENT, 0},
    {"isv.OUT_OF_SERVICE", ZQ_SMS_PERMANENT, 0},
    {"isv.ACCOUNT_NOT_EXISTS", ZQ_SMS_PERMANENT, 0},
    {"isv.ACCOUNT_ABNORMAL", ZQ_SMS_PERMANENT, 0},
    {"isv.PRODUCT_UN_SUBSCRIPT", ZQ_SMS_PERMANENT, 0},
    {"isv.PRODUCT_UNSUBSCRIBE", ZQ_SMS_PERMANENT, 0},
    {"isp.RAM_PERMISSION_DENY", ZQ_SMS_PERMANENT, 0},
    {"isv.DENY_IP_RANGE", ZQ_SMS_PERMANENT, 0},
    {"SignatureDoesNotMatch", ZQ_SMS_PERMANENT, 0},
    {"InvalidAccessKeyId.NotFound", ZQ_SMS_PERMANENT, 0},
};

static zq_sms_result classify(zq_sms_provider p, long status, const char *body)
{
    return zq_sms_classify(p, status, body, body != NULL ? strlen(body) : 0, NOW);
}

static void check_code(zq_sms_provider p, const code_case *c, long status, const char *body)
{
    zq_sms_result r = classify(p, status, body);

    if (r.verdict != c->v || r.retry_after_ms != c->after_ms)
        fail_msg("%s (HTTP %ld): %s %lld, want %s %lld", c->code, status,
                 zq_sms_verdict_name(r.verdict), (long long)r.retry_after_ms,
                 zq_sms_verdict_name(c->v), (long long)c->after_ms);
    assert_string_equal(r.code, c->code);
    assert_non_null(strstr(r.reason, c->code));
    assert_string_equal(r.msg_id, "");
}

static void test_classify_tencent_codes(void **state)
{
    char body[512];

    (void)state;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(TENCENT_CASES); i++) {
        const code_case *c = &TENCENT_CASES[i];

        /* As a request error ... */
        assert_int_equal(zq_fmt(body, sizeof(body),
                                "{\"Response\":{\"Error\":{\"Code\":\"%s\",\"Message\":\"m\"},"
                                "\"RequestId\":\"r\"}}",
                                c->code),
                         0);
        check_code(ZQ_SMS_TENCENT, c, 200, body);
        /* ... and for one number of the set. */
        assert_int_equal(
            zq_fmt(body, sizeof(body),
                   "{\"Response\":{\"SendStatusSet\":[{\"SerialNo\":\"1\",\"Code\":"
                   "\"Ok\"},{\"SerialNo\":\"\",\"PhoneNumber\":\"+8613800138000\","
                   "\"Fee\":0,\"Code\":\"%s\",\"Message\":\"m\"}],\"RequestId\":\"r\"}}",
                   c->code),
            0);
        check_code(ZQ_SMS_TENCENT, c, 200, body);
    }
}

static void test_classify_alibaba_codes(void **state)
{
    char body[512];

    (void)state;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(ALIBABA_CASES); i++) {
        const code_case *c = &ALIBABA_CASES[i];

        assert_int_equal(zq_fmt(body, sizeof(body),
                                "{\"Code\":\"%s\",\"Message\":\"m\",\"RequestId\":\"r\"}", c->code),
                         0);
        check_code(ZQ_SMS_ALIBABA, c, 200, body);
        /* Gateway errors come with a 4xx and the same body. */
        if (c->v != ZQ_SMS_RETRY)
            check_code(ZQ_SMS_ALIBABA, c, c->v == ZQ_SMS_THROTTLED ? 429 : 400, body);
    }
}

static void test_classify_answers(void **state)
{
    zq_sms_result r;

    (void)state;
    r = classify(ZQ_SMS_TENCENT, 200,
                 "{\"Response\":{\"SendStatusSet\":[{\"SerialNo\":\"5000:104\",\"PhoneNumber\":"
                 "\"+8613800138000\",\"Fee\":1,\"SessionContext\":\"case-42\",\"Code\":\"Ok\","
                 "\"Message\":\"send success\",\"IsoCode\":\"CN\"}],\"RequestId\":\"a0aa\"}}");
    assert_int_equal(r.verdict, ZQ_SMS_SENT);
    assert_string_equal(r.msg_id, "5000:104");
    assert_string_equal(r.code, "Ok");
    /* Case matters: "OK" is Alibaba's, not Tencent's. */
    r = classify(ZQ_SMS_TENCENT, 200, "{\"Response\":{\"SendStatusSet\":[{\"Code\":\"OK\"}]}}");
    assert_int_equal(r.verdict, ZQ_SMS_PERMANENT);
    r = classify(ZQ_SMS_ALIBABA, 200,
                 "{\"Code\":\"OK\",\"Message\":\"OK\",\"BizId\":\"9006197469364984^0\","
                 "\"RequestId\":\"F655A8D5\"}");
    assert_int_equal(r.verdict, ZQ_SMS_SENT);
    assert_string_equal(r.msg_id, "9006197469364984^0");
    r = classify(ZQ_SMS_ALIBABA, 200, "{\"Code\":\"Ok\"}");
    assert_int_equal(r.verdict, ZQ_SMS_PERMANENT);
    /* A success code on a non-2xx is not believed. */
    r = classify(ZQ_SMS_ALIBABA, 500, "{\"Code\":\"OK\"}");
    assert_int_equal(r.verdict, ZQ_SMS_RETRY);
    assert_string_equal(r.msg_id, "");
    /* 5xx is never permanent; throttling still says when. */
    r = classify(ZQ_SMS_ALIBABA, 503, "{\"Code\":\"isv.SMS_TEMPLATE_ILLEGAL\"}");
    assert_int_equal(r.verdict, ZQ_SMS_RETRY);
    r = classify(ZQ_SMS_TENCENT, 502, "<html>bad gateway</html>");
    assert_int_equal(r.verdict, ZQ_SMS_RETRY);
    assert_string_equal(r.code, "");
    /* No answer, an unreadable 2xx: retry; 429 without a code: throttled. */
    assert_int_equal(classify(ZQ_SMS_TENCENT, 0, NULL).verdict, ZQ_SMS_RETRY);
    assert_int_equal(classify(ZQ_SMS_TENCENT, 200, "").verdict, ZQ_SMS_RETRY);
    assert_int_equal(classify(ZQ_SMS_TENCENT, 200, "{\"Response\":{}}").verdict, ZQ_SMS_RETRY);
    assert_int_equal(classify(ZQ_SMS_TENCENT, 200, "{\"Response\":{\"SendStatusSet\":[]}}").verdict,
                     ZQ_SMS_RETRY);
    assert_int_equal(classify(ZQ_SMS_ALIBABA, 200, "{\"Code\":\"\"}").verdict, ZQ_SMS_RETRY);
    assert_int_equal(classify(ZQ_SMS_ALIBABA, 200, "[1]").verdict, ZQ_SMS_RETRY);
    r = classify(ZQ_SMS_ALIBABA, 429, "");
    assert_int_equal(r.verdict, ZQ_SMS_THROTTLED);
    assert_int_equal(r.retry_after_ms, 1000);
    assert_int_equal(classify(ZQ_SMS_ALIBABA, 403, "forbidden").verdict, ZQ_SMS_PERMANENT);
    assert_int_equal(classify(ZQ_SMS_ALIBABA, 301, "{\"Code\":\"OK\"}").verdict, ZQ_SMS_PERMANENT);
    /* An unknown code is permanent. */
    assert_int_equal(classify(ZQ_SMS_ALIBABA, 200, "{\"Code\":\"isv.NEW_THING\"}").verdict,
                     ZQ_SMS_PERMANENT);
    /* The vendor's message is made printable in the reason. */
    r = classify(ZQ_SMS_ALIBABA, 200, "{\"Code\":\"isv.X\",\"Message\":\"a\\nb\\u0001\"}");
    assert_null(strchr(r.reason, '\n'));
    assert_null(strchr(r.reason, '\x01'));
    assert_int_equal(classify(ZQ_SMS__COUNT, 200, "{}").verdict, ZQ_SMS_PERMANENT);
    /* The daily window from 23:59:59 Beijing is one second. */
    r = zq_sms_classify(ZQ_SMS_ALIBABA, 200, "{\"Code\":\"isv.DAY_LIMIT_CONTROL\"}", 32,
                        1796486400LL - 1);
    assert_int_equal(r.retry_after_ms, 1000);
}

/* ---- the cross-check mode ---- */

/* Splits line at tabs into at most max fields. */
static size_t split(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;

    while (n < max) {
        f[n++] = p;
        p = strchr(p, '\t');
        if (p == NULL)
            break;
        *p++ = '\0';
    }
    return n;
}

/* Lines: "tc3 id key service host ts body", "v1 secret method name value
 * ...", "acs3 id secret method uri payload nquery name value ... name value
 * (headers)"; prints the Authorization (tc3, acs3) or the signature (v1),
 * or "error". */
static int cross(void)
{
    static char line[65536];
    char *f[80];
    zq_sms_kv kv[40];
    size_t n, i;
    int rc;

    while (fgets(line, sizeof(line), stdin) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        n = split(line, f, ZQ_ARRAY_LEN(f));
        rc = -1;
        if (strcmp(f[0], "tc3") == 0 && n == 7) {
            zq_sms_tc3_in in = {f[1],
                                f[2],
                                f[3],
                                f[4],
                                "application/json; charset=utf-8",
                                strtoll(f[5], NULL, 10),
                                f[6],
                                strlen(f[6])};
            zq_sms_tc3_sig sig;

            rc = zq_sms_tc3_sign(&in, &sig);
            if (rc == 0)
                printf("%s\n", sig.authorization);
        } else if (strcmp(f[0], "v1") == 0 && n >= 3 && (n - 3) % 2 == 0) {
            char out[29];

            for (i = 0; i < (n - 3) / 2; i++)
                kv[i] = (zq_sms_kv){f[3 + 2 * i], f[4 + 2 * i]};
            rc = zq_sms_acs_v1_sign(f[1], f[2], kv, (n - 3) / 2, out, sizeof(out), NULL);
            if (rc == 0)
                printf("%s\n", out);
        } else if (strcmp(f[0], "acs3") == 0 && n >= 7 && (n - 7) % 2 == 0) {
            size_t nq = strtoul(f[6], NULL, 10), np = (n - 7) / 2;
            zq_sms_acs3_sig sig;

            for (i = 0; i < np; i++)
                kv[i] = (zq_sms_kv){f[7 + 2 * i], f[8 + 2 * i]};
            if (nq <= np) {
                zq_sms_acs3_in in = {f[1], f[2], f[3], f[4], kv, nq, kv + nq, np - nq, f[5]};

                rc = zq_sms_acs3_sign(&in, &sig);
                if (rc == 0)
                    printf("%s\n", sig.authorization);
            }
        }
        if (rc != 0)
            printf("error\n");
        fflush(stdout);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tc3_t1),
        cmocka_unit_test(test_tencent_request_t2),
        cmocka_unit_test(test_acs_v1_vectors),
        cmocka_unit_test(test_acs_encode),
        cmocka_unit_test(test_acs3_vectors),
        cmocka_unit_test(test_alibaba_request_v3),
        cmocka_unit_test(test_request_bad_input),
        cmocka_unit_test(test_phone),
        cmocka_unit_test(test_classify_tencent_codes),
        cmocka_unit_test(test_classify_alibaba_codes),
        cmocka_unit_test(test_classify_answers),
    };

    if (argc > 1 && strcmp(argv[1], "--cross") == 0)
        return cross();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

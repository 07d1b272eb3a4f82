/* SendSms requests of Tencent Cloud and Alibaba Cloud (specs/sms.md §1.2,
 * §2.1, signed by sms_sign.c) and the classification of their answers
 * (§1.4-1.5, §2.4-2.5). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "channel_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/common.h"
#include "zhuqi/sms.h"

#define TC_HOST "sms.tencentcloudapi.com"
#define TC_CTYPE "application/json; charset=utf-8"
#define ALI_HOST "dysmsapi.aliyuncs.com"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Bodies larger than this are not parsed: a SendSms answer for
 * ZQ_SMS_MAX_PHONES numbers is well below it. */
#define SMS_MAX_ANSWER 262144

/* A text field that may go into a request: UTF-8, no control character,
 * bounded. */
static bool field_ok(const char *s, bool required)
{
    size_t n;

    if (s == NULL)
        return !required;
    n = strlen(s);
    if ((required && n == 0) || n > ZQ_SMS_MAX_FIELD || !zq_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static int check_send(zq_sms_provider p, const zq_sms_send *s, zq_err *err)
{
    char bare[12];
    size_t i;

    if (!field_ok(s->key_id, true) || !field_ok(s->secret, true))
        return zq_err_set(err, ZQ_EINVAL, "sms: missing or bad credentials");
    if (!field_ok(s->sign_name, true) || !field_ok(s->template_id, true))
        return zq_err_set(err, ZQ_EINVAL, "sms: missing or bad sign name or template");
    if (!field_ok(s->session, false) || !field_ok(s->host, false) || !field_ok(s->region, false))
        return zq_err_set(err, ZQ_EINVAL, "sms: bad session, host or region");
    if (p == ZQ_SMS_TENCENT && !field_ok(s->app_id, true))
        return zq_err_set(err, ZQ_EINVAL, "sms: missing SmsSdkAppId");
    if (p == ZQ_SMS_ALIBABA && !field_ok(s->nonce, true))
        return zq_err_set(err, ZQ_EINVAL, "sms: missing signature nonce");
    if (s->nphones == 0 || s->nphones > ZQ_SMS_MAX_PHONES || s->phones == NULL)
        return zq_err_set(err, ZQ_EINVAL, "sms: 1 to %d phone numbers", ZQ_SMS_MAX_PHONES);
    for (i = 0; i < s->nphones; i++)
        if (zq_sms_phone_bare(s->phones[i], bare) < 0)
            return zq_err_set(err, ZQ_EINVAL, "sms: phone number %zu is not a mainland mobile",
                              i + 1);
    if (s->nparams > ZQ_SMS_MAX_PARAMS || (s->nparams > 0 && s->params == NULL))
        return zq_err_set(err, ZQ_EINVAL, "sms: at most %d template params", ZQ_SMS_MAX_PARAMS);
    for (i = 0; i < s->nparams; i++) {
        if (!field_ok(s->params[i], true) && !(s->params[i] != NULL && s->params[i][0] == '\0'))
            return zq_err_set(err, ZQ_EINVAL, "sms: bad template param %zu", i + 1);
        if (p == ZQ_SMS_ALIBABA && (s->param_names == NULL || !field_ok(s->param_names[i], true)))
            return zq_err_set(err, ZQ_EINVAL, "sms: template param %zu has no name", i + 1);
    }
    if (s->timestamp < 0 || s->timestamp > 253402300799LL)
        return zq_err_set(err, ZQ_EINVAL, "sms: bad timestamp");
    return 0;
}

static int add_header(zq_sms_req *r, const char *name, const char *value)
{
    if (r->nheaders >= ZQ_SMS_MAX_HEADERS)
        return -ZQ_ETOOBIG;
    return zq_fmt(r->headers[r->nheaders++], sizeof(r->headers[0]), "%s: %s", name, value);
}

/* The compact JSON of root (raw UTF-8, members in insertion order) as the
 * body. Takes root. */
static int set_json(zq_buf *b, json_t *root)
{
    char *s;
    int rc;

    if (root == NULL)
        return -ZQ_ENOMEM;
    s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (s == NULL)
        return -ZQ_ENOMEM;
    rc = strlen(s) > ZQ_SMS_MAX_BODY ? -ZQ_ETOOBIG : zq_buf_puts(b, s);
    free(s);
    return rc;
}

static int tencent_request(const zq_sms_send *s, const char *base_url, zq_sms_req *r)
{
    json_t *root = json_object(), *phones = json_array(), *params = json_array();
    zq_sms_tc3_in in;
    zq_sms_tc3_sig sig;
    char bare[12], e164[16], ts[24];
    int bad = root == NULL || phones == NULL || params == NULL;
    int rc;

    for (size_t i = 0; !bad && i < s->nphones; i++) {
        bad |= zq_sms_phone_bare(s->phones[i], bare) < 0 ||
               zq_fmt(e164, sizeof(e164), "+86%s", bare) < 0 ||
               json_array_append_new(phones, json_string(e164)) < 0;
    }
    for (size_t i = 0; !bad && i < s->nparams; i++)
        bad |= json_array_append_new(params, json_string(s->params[i])) < 0;
    /* Members in the order of sms.md §1.2 (what T2 signs). */
    bad = bad || json_object_set(root, "PhoneNumberSet", phones) < 0 ||
          json_object_set_new(root, "SmsSdkAppId", json_string(s->app_id)) < 0 ||
          json_object_set_new(root, "SignName", json_string(s->sign_name)) < 0 ||
          json_object_set_new(root, "TemplateId", json_string(s->template_id)) < 0 ||
          json_object_set(root, "TemplateParamSet", params) < 0 ||
          (s->session != NULL &&
           json_object_set_new(root, "SessionContext", json_string(s->session)) < 0);
    json_decref(phones);
    json_decref(params);
    if (bad) {
        json_decref(root);
        return -ZQ_ENOMEM;
    }
    rc = set_json(&r->body, root);
    if (rc < 0)
        return rc;
    memset(&in, 0, sizeof(in));
    in.secret_id = s->key_id;
    in.secret_key = s->secret;
    in.service = "sms";
    in.host = s->host != NULL ? s->host : TC_HOST;
    in.content_type = TC_CTYPE;
    in.timestamp = s->timestamp;
    in.body = r->body.data;
    in.len = r->body.len;
    rc = zq_sms_tc3_sign(&in, &sig);
    if (rc < 0)
        return rc;
    if (zq_fmt(r->url, sizeof(r->url), "%s/", base_url) < 0 ||
        zq_fmt(ts, sizeof(ts), "%lld", (long long)s->timestamp) < 0)
        return -ZQ_ETOOBIG;
    if (add_header(r, "Host", in.host) < 0 || add_header(r, "Content-Type", TC_CTYPE) < 0 ||
        add_header(r, "X-TC-Action", "SendSms") < 0 ||
        add_header(r, "X-TC-Version", "2021-01-11") < 0 ||
        add_header(r, "X-TC-Timestamp", ts) < 0 ||
        add_header(r, "X-TC-Region", s->region != NULL ? s->region : "ap-guangzhou") < 0 ||
        add_header(r, "Authorization", sig.authorization) < 0)
        return -ZQ_ETOOBIG;
    return 0;
}

static int alibaba_request(const zq_sms_send *s, const char *base_url, zq_sms_req *r)
{
    zq_buf phones = {0}, tparam = {0}, query = {0};
    json_t *tp = NULL;
    zq_sms_kv q[5], h[6];
    size_t nq = 0;
    zq_sms_acs3_in in;
    zq_sms_acs3_sig sig;
    char bare[12], date[24];
    const char *host = s->host != NULL ? s->host : ALI_HOST;
    time_t t = (time_t)s->timestamp;
    struct tm tm;
    int rc;

    for (size_t i = 0; i < s->nphones; i++)
        if (zq_sms_phone_bare(s->phones[i], bare) < 0 ||
            zq_buf_printf(&phones, "%s%s", i ? "," : "", bare) < 0) {
            rc = -ZQ_ENOMEM;
            goto out;
        }
    q[nq++] = (zq_sms_kv){"PhoneNumbers", phones.data};
    q[nq++] = (zq_sms_kv){"SignName", s->sign_name};
    q[nq++] = (zq_sms_kv){"TemplateCode", s->template_id};
    if (s->nparams > 0) {
        tp = json_object();
        for (size_t i = 0; tp != NULL && i < s->nparams; i++)
            if (json_object_set_new(tp, s->param_names[i], json_string(s->params[i])) < 0) {
                json_decref(tp);
                tp = NULL;
            }
        rc = set_json(&tparam, tp);
        tp = NULL;
        if (rc < 0)
            goto out;
        q[nq++] = (zq_sms_kv){"TemplateParam", tparam.data};
    }
    if (s->session != NULL && s->session[0] != '\0')
        q[nq++] = (zq_sms_kv){"OutId", s->session};
    rc = zq_sms_acs_query(&query, q, nq, false);
    if (rc < 0)
        goto out;
    if (query.len > ZQ_SMS_MAX_BODY || gmtime_r(&t, &tm) == NULL ||
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm) != 20) {
        rc = -ZQ_ETOOBIG;
        goto out;
    }
    h[0] = (zq_sms_kv){"host", host};
    h[1] = (zq_sms_kv){"x-acs-action", "SendSms"};
    h[2] = (zq_sms_kv){"x-acs-version", "2017-05-25"};
    h[3] = (zq_sms_kv){"x-acs-date", date};
    h[4] = (zq_sms_kv){"x-acs-signature-nonce", s->nonce};
    h[5] = (zq_sms_kv){"x-acs-content-sha256", EMPTY_SHA256};
    memset(&in, 0, sizeof(in));
    in.key_id = s->key_id;
    in.secret = s->secret;
    in.method = "POST";
    in.uri = "/";
    in.query = q;
    in.nquery = nq;
    in.headers = h;
    in.nheaders = 6;
    in.payload_sha256 = EMPTY_SHA256;
    rc = zq_sms_acs3_sign(&in, &sig);
    if (rc < 0)
        goto out;
    if (zq_fmt(r->url, sizeof(r->url), "%s/?%s", base_url, query.data) < 0) {
        rc = -ZQ_ETOOBIG;
        goto out;
    }
    for (size_t i = 0; i < 6; i++)
        if (add_header(r, h[i].name, h[i].value) < 0) {
            rc = -ZQ_ETOOBIG;
            goto out;
        }
    rc = add_header(r, "Authorization", sig.authorization);
out:
    zq_buf_free(&phones);
    zq_buf_free(&tparam);
    zq_buf_free(&query);
    return rc;
}

int zq_sms_request(zq_sms_provider p, const zq_sms_send *s, const char *base_url, zq_sms_req *out,
                   zq_err *err)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if (p != ZQ_SMS_TENCENT && p != ZQ_SMS_ALIBABA)
        return zq_err_set(err, ZQ_EINVAL, "sms: unknown provider");
    if (base_url == NULL || !zq_ch_http_url(base_url))
        return zq_err_set(err, ZQ_EINVAL, "sms: bad base URL");
    rc = check_send(p, s, err);
    if (rc < 0)
        return rc;
    rc =
        p == ZQ_SMS_TENCENT ? tencent_request(s, base_url, out) : alibaba_request(s, base_url, out);
    if (rc < 0) {
        zq_sms_req_free(out);
        return zq_err_set(err, -rc, "sms: cannot build the request (%s)", zq_strerror(-rc));
    }
    return 0;
}

void zq_sms_req_free(zq_sms_req *r)
{
    if (r == NULL)
        return;
    zq_buf_free(&r->body);
    memset(r, 0, sizeof(*r));
}

/* ---- answers ---- */

const char *zq_sms_verdict_name(zq_sms_verdict v)
{
    switch (v) {
    case ZQ_SMS_SENT: return "sent";
    case ZQ_SMS_THROTTLED: return "throttled";
    case ZQ_SMS_RETRY: return "retry";
    case ZQ_SMS_PERMANENT: return "permanent";
    }
    return "?";
}

/* Windows of the throttling codes. */
enum { W_NONE = 0, W_QPS, W_30S, W_MIN, W_HOUR, W_DAY, W_MONTH };

typedef struct code_class {
    const char *code;
    zq_sms_verdict v;
    int window;
} code_class;

static const code_class TENCENT_CODES[] = {
    {"LimitExceeded.PhoneNumberThirtySecondLimit", ZQ_SMS_THROTTLED, W_30S},
    {"LimitExceeded.PhoneNumberOneHourLimit", ZQ_SMS_THROTTLED, W_HOUR},
    {"LimitExceeded.PhoneNumberDailyLimit", ZQ_SMS_THROTTLED, W_DAY},
    {"LimitExceeded.PhoneNumberSameContentDailyLimit", ZQ_SMS_THROTTLED, W_DAY},
    {"LimitExceeded.DeliveryFrequencyLimit", ZQ_SMS_THROTTLED, W_MIN},
    {"LimitExceeded.AppDailyLimit", ZQ_SMS_THROTTLED, W_DAY},
    {"LimitExceeded.DailyLimit", ZQ_SMS_THROTTLED, W_DAY},
    {"RequestLimitExceeded", ZQ_SMS_THROTTLED, W_QPS},
    {"InternalError.Timeout", ZQ_SMS_RETRY, W_NONE},
    {"InternalError.SendAndRecvFail", ZQ_SMS_RETRY, W_NONE},
    {"InternalError.UnknownError", ZQ_SMS_RETRY, W_NONE},
    {"InternalError.OtherError", ZQ_SMS_RETRY, W_NONE},
    {"InternalError", ZQ_SMS_RETRY, W_NONE},
    /* Clock: retried once with a fresh timestamp (a new signature). */
    {"AuthFailure.SignatureExpire", ZQ_SMS_RETRY, W_NONE},
    {"InternalError.RequestTimeException", ZQ_SMS_RETRY, W_NONE},
};

static const code_class ALIBABA_CODES[] = {
    {"isv.BUSINESS_LIMIT_CONTROL", ZQ_SMS_THROTTLED, W_MIN},
    {"isv.DAY_LIMIT_CONTROL", ZQ_SMS_THROTTLED, W_DAY},
    {"isv.MONTH_LIMIT_CONTROL", ZQ_SMS_THROTTLED, W_MONTH},
    {"isp.SYSTEM_ERROR", ZQ_SMS_RETRY, W_NONE},
    {"isp.GATEWAY_ERROR", ZQ_SMS_RETRY, W_NONE},
    {"ServiceUnavailable", ZQ_SMS_RETRY, W_NONE},
    {"InternalError", ZQ_SMS_RETRY, W_NONE},
    /* Fixable by signing again (a new nonce, a fresh timestamp). */
    {"SignatureNonceUsed", ZQ_SMS_RETRY, W_NONE},
    {"InvalidTimeStamp.Expired", ZQ_SMS_RETRY, W_NONE},
};

bool zq_sms_resign_code(const char *code)
{
    static const char *const clock_codes[] = {"AuthFailure.SignatureExpire",
                                              "InternalError.RequestTimeException",
                                              "SignatureNonceUsed", "InvalidTimeStamp.Expired"};

    for (size_t i = 0; code != NULL && i < ZQ_ARRAY_LEN(clock_codes); i++)
        if (strcmp(code, clock_codes[i]) == 0)
            return true;
    return false;
}

/* Milliseconds from now_s to the next Beijing midnight, or to the first
 * of the next month there. */
static int64_t until_beijing(int64_t now_s, bool month)
{
    time_t t = (time_t)(now_s + ZQ_BEIJING_OFFSET_S);
    struct tm tm;
    int64_t day = 86400, left;

    if (now_s < 0 || gmtime_r(&t, &tm) == NULL)
        return day * 1000;
    left = day - ((now_s + ZQ_BEIJING_OFFSET_S) % day);
    if (month) {
        static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int y = tm.tm_year + 1900, days = mdays[tm.tm_mon];

        if (tm.tm_mon == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
            days = 29;
        left += (int64_t)(days - tm.tm_mday) * day;
    }
    return left * 1000;
}

static int64_t window_ms(int w, int64_t now_s)
{
    switch (w) {
    case W_QPS: return 1000;
    case W_30S: return 30000;
    case W_MIN: return 60000;
    case W_HOUR: return 3600000;
    case W_DAY: return until_beijing(now_s, false);
    case W_MONTH: return until_beijing(now_s, true);
    default: return 0;
    }
}

/* The class of a vendor code: the table, then Alibaba's "Throttling*"
 * family (its spelling varies), else permanent. */
static code_class class_of(zq_sms_provider p, const char *code)
{
    const code_class *t = p == ZQ_SMS_TENCENT ? TENCENT_CODES : ALIBABA_CODES;
    size_t n = p == ZQ_SMS_TENCENT ? ZQ_ARRAY_LEN(TENCENT_CODES) : ZQ_ARRAY_LEN(ALIBABA_CODES);
    code_class c = {code, ZQ_SMS_PERMANENT, W_NONE};

    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].code, code) == 0)
            return t[i];
    if (p == ZQ_SMS_ALIBABA && strncmp(code, "Throttling", 10) == 0)
        c = (code_class){code, ZQ_SMS_THROTTLED, W_QPS};
    return c;
}

/* A string member as printable text for the result ("" when absent). */
static const char *str_or_empty(json_t *o, const char *key)
{
    return o != NULL ? zq_ch_get_str(o, key) : "";
}

/* The vendor's code: a non-empty string member, or NULL. */
static const char *code_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL && s[0] != '\0' ? s : NULL;
}

static void set_code(zq_sms_result *r, zq_sms_provider p, const char *code, const char *msg,
                     long status, int64_t now_s)
{
    code_class c = class_of(p, code);

    zq_ch_say(r->code, sizeof(r->code), "%s", code);
    r->verdict = c.v;
    r->retry_after_ms = c.v == ZQ_SMS_THROTTLED ? window_ms(c.window, now_s) : 0;
    /* A 5xx is the vendor's trouble whatever its body says. */
    if (status >= 500 && r->verdict == ZQ_SMS_PERMANENT)
        r->verdict = ZQ_SMS_RETRY;
    zq_ch_say(r->reason, sizeof(r->reason), "%s %s (HTTP %ld): %s",
              p == ZQ_SMS_TENCENT ? "tencent" : "alibaba", r->code, status, msg);
}

/* Tencent: {"Response":{"Error":{...}}} or {"Response":{"SendStatusSet":
 * [...]}}; false when neither is readable. */
static bool tencent_answer(zq_sms_result *r, json_t *root, long status, int64_t now_s)
{
    json_t *resp = json_object_get(root, "Response"), *err, *set, *e;
    const char *code;
    size_t i;

    if (!json_is_object(resp))
        return false;
    err = json_object_get(resp, "Error");
    if (json_is_object(err)) {
        code = code_of(err, "Code");
        if (code == NULL)
            return false;
        set_code(r, ZQ_SMS_TENCENT, code, str_or_empty(err, "Message"), status, now_s);
        return true;
    }
    set = json_object_get(resp, "SendStatusSet");
    if (!json_is_array(set) || json_array_size(set) == 0)
        return false;
    json_array_foreach(set, i, e)
    {
        code = json_is_object(e) ? code_of(e, "Code") : NULL;
        if (code == NULL)
            return false;
        if (strcmp(code, "Ok") != 0) {
            set_code(r, ZQ_SMS_TENCENT, code, str_or_empty(e, "Message"), status, now_s);
            return true;
        }
    }
    r->verdict = ZQ_SMS_SENT;
    e = json_array_get(set, 0);
    zq_ch_say(r->code, sizeof(r->code), "Ok");
    zq_ch_say(r->msg_id, sizeof(r->msg_id), "%s", str_or_empty(e, "SerialNo"));
    zq_ch_say(r->reason, sizeof(r->reason), "tencent Ok: %zu number(s) accepted",
              json_array_size(set));
    return true;
}

/* Alibaba: {"Code","Message","BizId","RequestId"} at any status. */
static bool alibaba_answer(zq_sms_result *r, json_t *root, long status, int64_t now_s)
{
    const char *code = code_of(root, "Code");

    if (code == NULL)
        return false;
    if (strcmp(code, "OK") == 0) {
        r->verdict = ZQ_SMS_SENT;
        zq_ch_say(r->code, sizeof(r->code), "OK");
        zq_ch_say(r->msg_id, sizeof(r->msg_id), "%s", str_or_empty(root, "BizId"));
        zq_ch_say(r->reason, sizeof(r->reason), "alibaba OK");
        return true;
    }
    set_code(r, ZQ_SMS_ALIBABA, code, str_or_empty(root, "Message"), status, now_s);
    return true;
}

zq_sms_result zq_sms_classify(zq_sms_provider p, long http_status, const char *body, size_t len,
                              int64_t now_s)
{
    zq_sms_result r;
    json_t *root = NULL;
    bool read = false;
    const char *who = p == ZQ_SMS_TENCENT ? "tencent" : "alibaba";

    memset(&r, 0, sizeof(r));
    r.verdict = ZQ_SMS_PERMANENT;
    if (p != ZQ_SMS_TENCENT && p != ZQ_SMS_ALIBABA) {
        zq_ch_say(r.reason, sizeof(r.reason), "unknown sms provider");
        return r;
    }
    if (http_status == 0) {
        r.verdict = ZQ_SMS_RETRY;
        zq_ch_say(r.reason, sizeof(r.reason), "%s: no answer", who);
        return r;
    }
    if (body != NULL && len > 0 && len <= SMS_MAX_ANSWER)
        root = zq_ch_parse_object(body, len);
    /* A 3xx is not followed, so its body is not the vendor's answer. */
    if (root != NULL &&
        ((http_status >= 200 && http_status < 300) || (http_status >= 400 && http_status < 600)))
        read = p == ZQ_SMS_TENCENT ? tencent_answer(&r, root, http_status, now_s)
                                   : alibaba_answer(&r, root, http_status, now_s);
    json_decref(root);
    /* Sent is only believed from a 2xx. */
    if (read && r.verdict == ZQ_SMS_SENT && (http_status < 200 || http_status >= 300)) {
        r.verdict = ZQ_SMS_RETRY;
        r.msg_id[0] = '\0';
        zq_ch_say(r.reason, sizeof(r.reason), "%s: HTTP %ld with a success code", who, http_status);
    }
    if (read)
        return r;
    r.code[0] = '\0';
    r.msg_id[0] = '\0';
    r.retry_after_ms = 0;
    if (http_status == 429) {
        r.verdict = ZQ_SMS_THROTTLED;
        r.retry_after_ms = 1000;
    } else if (http_status >= 500 || (http_status >= 200 && http_status < 300)) {
        /* 2xx without a readable answer: it may or may not have gone. */
        r.verdict = ZQ_SMS_RETRY;
    } else {
        r.verdict = ZQ_SMS_PERMANENT;
    }
    zq_ch_say(r.reason, sizeof(r.reason), "%s: HTTP %ld without a readable answer", who,
              http_status);
    return r;
}

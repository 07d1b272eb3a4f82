/* SMS verification codes over HTTP (see verify.h). Codes never reach a
 * log line, numbers only masked (138****8000). */
#include "verify.h"

#include <openssl/crypto.h>
#include <string.h>

#include "zhuqi/app.h"
#include "zhuqi/client.h"
#include "zhuqi/log.h"
#include "zhuqi/lookup.h"
#include "zhuqi/otp.h"
#include "zhuqi/smsq.h"
#include "zhuqi/workflow.h"

/* The most cases the lookup by mobile lists (newest first). */
#define LOOKUP_MAX 50

/* Queues the code's SMS (template use "code": the code and its lifetime
 * in minutes) on the outbox's priority lane. Returns 0 or a negative
 * code. */
static int send_code(zq_req *req, const char *mobile, const char *code, zq_err *err)
{
    static const char *const names[] = {"code", "minutes"};
    const char *values[2];
    char minutes[16], id[ZQ_NOTICE_ID_MAX];
    zq_sms_msg m;
    bool created = false;

    if (zq_fmt(minutes, sizeof(minutes), "%d", (req->cfg->verify.code_ttl_s + 59) / 60) < 0)
        return zq_err_set(err, ZQ_EINVAL, "sms: minutes do not fit");
    values[0] = code;
    values[1] = minutes;
    memset(&m, 0, sizeof(m));
    m.mobile = mobile;
    m.use = "code";
    m.names = names;
    m.values = values;
    m.nparams = 2;
    m.now_ms = zq_now_ms();
    return zq_sms_queue(req->store, req->cfg, &m, id, &created, err);
}

int zq_verify_check_config(const zq_app *app, zq_err *err)
{
    const zq_config *c = &app->cfg;
    bool uses = c->verify.submit_complaint || c->verify.submit_consult || c->verify.resume ||
                c->verify.lookup || c->verify.supplement;

    if (zq_sms_enabled(c) && uses && app->pepper_len == 0)
        return zq_err_set(err, ZQ_EINVAL,
                          "[sms] provider is set but [verify] has no pepper: set "
                          "ZHUQI_VERIFY_PEPPER or [verify] pepper_file (openssl rand -hex 32), or "
                          "turn the [verify] uses off");
    return 0;
}

bool zq_verify_available(const zq_req *req)
{
    return req->app != NULL && req->app->pepper_len >= ZQ_OTP_PEPPER_MIN &&
           zq_sms_enabled(req->cfg);
}

bool zq_verify_purpose_on(const zq_req *req, const char *purpose, const zq_form *form)
{
    const zq_config *c = req->cfg;

    if (!zq_verify_available(req))
        return false;
    if (strcmp(purpose, "submit") == 0) {
        if (form == NULL)
            return c->verify.submit_complaint || c->verify.submit_consult;
        if (strcmp(form->id, "complaint") == 0)
            return c->verify.submit_complaint;
        if (strcmp(form->id, "consult") == 0)
            return c->verify.submit_consult;
        return false;
    }
    if (strcmp(purpose, "resume") == 0)
        return c->verify.resume;
    if (strcmp(purpose, "lookup") == 0)
        return c->verify.lookup;
    if (strcmp(purpose, "supplement") == 0)
        return c->verify.supplement;
    return false;
}

bool zq_verify_require_on(zq_req *req, const char *purpose, const zq_form *form)
{
    if (!zq_verify_available(req)) {
        zq_resp_error(req, 409, "sms_not_configured",
                      "本系统尚未开通短信验证码服务，暂时无法发送验证码。");
        return false;
    }
    if (!zq_verify_purpose_on(req, purpose, form)) {
        zq_resp_error(req, 409, "purpose_disabled", "该事项暂未开放短信验证。");
        return false;
    }
    return true;
}

int zq_verify_session(zq_req *req, zq_session *s)
{
    const char *t;
    zq_err err = {0};
    int rc = zq_session_load(req->store, zq_req_cookie(req, "zq_sid"), NULL,
                             req->cfg->intake.session_ttl_s, s, &err);

    if (rc < 0)
        return rc;
    if (!s->exists) {
        if (zq_req_cookie(req, "zq_sid") != NULL)
            zq_resp_error(req, 410, "session_expired", "页面已超时，请刷新页面后重试。");
        else
            zq_resp_error(req, 403, "csrf_failed",
                          "页面已过期或请求来源不可信，请刷新页面后重试。");
        return 1;
    }
    t = zq_req_header(req, "X-CSRF-Token");
    if (t == NULL || !zq_ct_equal(t, strlen(t), s->csrf, strlen(s->csrf))) {
        zq_resp_error(req, 403, "csrf_failed", "页面已过期或请求来源不可信，请刷新页面后重试。");
        return 1;
    }
    return 0;
}

static zq_schema_opts schema_opts(const zq_req *req)
{
    zq_schema_opts o = {0};

    o.uscc_checksum_warn_only = req->cfg->intake.uscc_warn_only;
    o.money_ceiling_fen = req->cfg->intake.money_ceiling_yuan * 100;
    return o;
}

const char *zq_verify_mobile_param(zq_req *req, json_t *body)
{
    zq_schema_opts o = schema_opts(req);
    json_t *norm = NULL;
    const char *msg, *m = NULL;

    if (zq_lookup_mobile(req->app ? req->app->schema : NULL, &o, json_object_get(body, "mobile"),
                         &norm, &msg) < 0) {
        zq_resp_error_fields(req, 422, "validation_failed", "请检查手机号码。",
                             json_pack("{s:s}", "mobile", msg));
        return NULL;
    }
    m = zq_pool_strdup(&req->pool, json_string_value(norm));
    json_decref(norm);
    /* Only mainland mobiles get codes: what the validator accepts is that. */
    if (m == NULL || strlen(m) != 11) {
        zq_resp_error_fields(req, 422, "validation_failed", "请检查手机号码。",
                             json_pack("{s:s}", "mobile", "请填写11位手机号码"));
        return NULL;
    }
    return m;
}

/* The purpose of a request body, or NULL after a 422. */
static const char *purpose_param(zq_req *req, json_t *body)
{
    const char *p = json_string_value(json_object_get(body, "purpose"));

    if (!zq_otp_purpose_valid(p)) {
        zq_resp_error_fields(req, 422, "validation_failed", "请检查请求内容。",
                             json_pack("{s:s}", "purpose", "验证码用途不正确"));
        return NULL;
    }
    return p;
}

json_t *zq_verify_view(const zq_req *req)
{
    return json_pack("{s:b, s:i, s:{s:b, s:b, s:b, s:b}}", "available", zq_verify_available(req),
                     "resend_after", req->cfg->verify.resend_s, "purposes", "submit",
                     zq_verify_purpose_on(req, "submit", NULL), "resume",
                     zq_verify_purpose_on(req, "resume", NULL), "lookup",
                     zq_verify_purpose_on(req, "lookup", NULL), "supplement",
                     zq_verify_purpose_on(req, "supplement", NULL));
}

int zq_h_verify(zq_req *req)
{
    json_t *v = zq_verify_view(req);

    if (v == NULL)
        return -ZQ_ENOMEM;
    req->cache_control = "public, max-age=60";
    zq_resp_json(req, 200, json_pack("{s:o}", "verify", v));
    return 0;
}

int zq_h_sms_code(zq_req *req)
{
    zq_otp_limits lim;
    zq_otp_issue_in in;
    zq_otp_limit which;
    zq_session s = {0};
    zq_err err = {0};
    json_t *body;
    const char *mobile, *purpose;
    char code[ZQ_OTP_CODE_MAX] = "", client[80], masked[32], msg[256], ra[16];
    int rc, retry_s = 0;

    if ((rc = zq_verify_session(req, &s)) != 0)
        return rc < 0 ? rc : 0;
    if (zq_req_json(req, &body) < 0 || (mobile = zq_verify_mobile_param(req, body)) == NULL ||
        (purpose = purpose_param(req, body)) == NULL || !zq_verify_require_on(req, purpose, NULL))
        return 0;
    zq_otp_limits_from_config(req->cfg, &lim);
    memset(&in, 0, sizeof(in));
    in.purpose = purpose;
    in.mobile = mobile;
    /* An address that does not fit a key is not counted per client: the
     * number's limits and the daily budget still hold. */
    if (zq_client_key(req->remote_addr, client, sizeof(client)) == 0)
        in.client = client;
    in.pepper = req->app->pepper;
    in.pepper_len = req->app->pepper_len;
    in.now_ms = zq_now_ms();
    in.lim = &lim;
    zq_mask_mobile(mobile, masked, sizeof(masked));
    rc = zq_otp_issue(req->store, &in, code, &which, &retry_s, &err);
    if (rc == -ZQ_EBUSY) {
        ZQ_INFO("event=sms_code_limited mobile=%s purpose=%s limit=%d retry_s=%d", masked, purpose,
                (int)which, retry_s);
        zq_resp_error(req, 429, "rate_limited",
                      zq_otp_limit_message(which, retry_s, msg, sizeof(msg)));
        if (zq_fmt(ra, sizeof(ra), "%d", retry_s > 0 ? retry_s : 1) == 0)
            zq_resp_header(req, "Retry-After", ra);
        return 0;
    }
    if (rc < 0) {
        if (rc != -ZQ_EUNAVAIL)
            ZQ_ERROR("event=sms_code_failed mobile=%s err=\"%s\"", masked, err.msg);
        return rc == -ZQ_EUNAVAIL ? rc : -ZQ_EREPLY;
    }
    rc = send_code(req, mobile, code, &err);
    OPENSSL_cleanse(code, sizeof(code));
    if (rc < 0) {
        ZQ_WARN("event=sms_code_not_queued mobile=%s purpose=%s err=\"%s\"", masked, purpose,
                err.msg);
        /* The outbox is Redis: away, or refusing writes. Anything else is
         * a fault of ours, not of the request. */
        return rc == -ZQ_EUNAVAIL ? rc : -ZQ_EREPLY;
    }
    ZQ_INFO("event=sms_code_sent mobile=%s purpose=%s", masked, purpose);
    /* The same answer for every number: whether it has cases is not
     * anybody's business here. */
    zq_resp_json(req, 202,
                 json_pack("{s:i, s:i}", "resend_after", lim.resend_s, "expires_in", lim.ttl_s));
    return 0;
}

/* The code of a request body (six digits), or NULL after a 422. */
static const char *code_param(zq_req *req, json_t *body)
{
    const char *c = json_string_value(json_object_get(body, "code"));
    size_t i;

    for (i = 0; c != NULL && c[i] != '\0'; i++)
        if (c[i] < '0' || c[i] > '9')
            break;
    if (c == NULL || c[i] != '\0' || i != ZQ_OTP_DIGITS) {
        zq_resp_error_fields(req, 422, "validation_failed", "请检查验证码。",
                             json_pack("{s:s}", "code", "请输入短信中的6位数字验证码"));
        return NULL;
    }
    return c;
}

int zq_h_sms_verify(zq_req *req)
{
    zq_otp_limits lim;
    zq_otp_check_in in;
    zq_otp_result res;
    zq_session s = {0};
    zq_err err = {0};
    json_t *body;
    const char *mobile, *purpose, *code;
    char masked[32], msg[160], ra[16];
    int rc, left = 0, retry_s = 0;

    if ((rc = zq_verify_session(req, &s)) != 0)
        return rc < 0 ? rc : 0;
    if (zq_req_json(req, &body) < 0 || (mobile = zq_verify_mobile_param(req, body)) == NULL ||
        (purpose = purpose_param(req, body)) == NULL || (code = code_param(req, body)) == NULL ||
        !zq_verify_require_on(req, purpose, NULL))
        return 0;
    zq_otp_limits_from_config(req->cfg, &lim);
    memset(&in, 0, sizeof(in));
    in.purpose = purpose;
    in.mobile = mobile;
    in.code = code;
    in.pepper = req->app->pepper;
    in.pepper_len = req->app->pepper_len;
    in.now_ms = zq_now_ms();
    in.lim = &lim;
    zq_mask_mobile(mobile, masked, sizeof(masked));
    rc = zq_otp_check(req->store, &in, &res, &left, &retry_s, &err);
    if (rc < 0) {
        if (rc != -ZQ_EUNAVAIL)
            ZQ_ERROR("event=sms_verify_failed mobile=%s err=\"%s\"", masked, err.msg);
        return rc == -ZQ_EUNAVAIL ? rc : -ZQ_EREPLY;
    }
    ZQ_INFO("event=sms_verify mobile=%s purpose=%s result=%d", masked, purpose, (int)res);
    switch (res) {
    case ZQ_OTP_WRONG:
        zq_resp_json(req, 422,
                     json_pack("{s:{s:s, s:s, s:i, s:{s:s}}}", "error", "code", "code_invalid",
                               "message",
                               zq_resp_msgf(msg, sizeof(msg), "验证码不正确，请重新输入。",
                                            "验证码不正确，还可尝试%d次。", left),
                               "tries_left", left, "fields", "code", msg));
        return 0;
    case ZQ_OTP_GONE:
        zq_resp_error_fields(req, 422, "code_expired", "验证码已使用或已过期，请重新获取。",
                             json_pack("{s:s}", "code", "验证码已使用或已过期，请重新获取"));
        return 0;
    case ZQ_OTP_BURNT:
        zq_resp_error(req, 429, "too_many_tries", "验证码错误次数过多，已失效，请重新获取。");
        if (zq_fmt(ra, sizeof(ra), "%d", retry_s > 0 ? retry_s : 1) == 0)
            zq_resp_header(req, "Retry-After", ra);
        return 0;
    case ZQ_OTP_OK: break;
    }
    rc =
        zq_session_mark_verified(req->store, s.sid, purpose, mobile,
                                 in.now_ms + (int64_t)req->cfg->verify.verified_ttl_s * 1000, &err);
    if (rc == -ZQ_ENOTFOUND) {
        zq_resp_error(req, 410, "session_expired", "页面已超时，请刷新页面后重新获取验证码。");
        return 0;
    }
    if (rc < 0)
        return rc == -ZQ_EUNAVAIL ? rc : -ZQ_EREPLY;
    zq_resp_json(req, 200,
                 json_pack("{s:b, s:s, s:s, s:i}", "verified", 1, "purpose", purpose, "mobile",
                           masked, "expires_in", req->cfg->verify.verified_ttl_s));
    return 0;
}

int zq_h_cases_lookup_mobile(zq_req *req)
{
    zq_session s = {0};
    zq_lookup_in in;
    zq_wf_limits wl;
    zq_err err = {0};
    json_t *body, *list = NULL;
    const char *mobile;
    bool ok = false;
    int rc;

    if ((rc = zq_verify_session(req, &s)) != 0)
        return rc < 0 ? rc : 0;
    if (zq_req_json(req, &body) < 0 || (mobile = zq_verify_mobile_param(req, body)) == NULL ||
        !zq_verify_require_on(req, "lookup", NULL))
        return 0;
    if ((rc = zq_session_verified(req->store, s.sid, "lookup", mobile, zq_now_ms(), &ok, &err)) < 0)
        return rc == -ZQ_EUNAVAIL ? rc : -ZQ_EREPLY;
    if (!ok) {
        zq_resp_error(req, 403, "mobile_unverified",
                      "请先获取短信验证码，验证该手机号码后再查询。");
        return 0;
    }
    zq_wf_limits_from_config(req->cfg, &wl);
    memset(&in, 0, sizeof(in));
    in.mobile = mobile;
    in.now_ms = zq_now_ms();
    in.schema = req->app ? req->app->schema : NULL;
    in.cal = req->app ? req->app->calendar : NULL;
    in.lim = &wl;
    rc = zq_lookup_by_mobile(req->store, &in, LOOKUP_MAX, &list, &err);
    if (rc < 0) {
        if (rc != -ZQ_EUNAVAIL)
            ZQ_ERROR("event=lookup_by_mobile_failed err=\"%s\"", err.msg);
        return rc == -ZQ_EUNAVAIL ? rc : -ZQ_EREPLY;
    }
    zq_resp_json(req, 200, json_pack("{s:o}", "cases", list));
    return 0;
}

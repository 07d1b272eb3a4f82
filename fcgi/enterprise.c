/* The enterprise's actions on its own case (see enterprise.h): every one
 * needs the page's session, its CSRF token and an SMS code proving the
 * case's mobile. */
#include "enterprise.h"

#include <string.h>

#include "verify.h"
#include "zhuqi/app.h"
#include "zhuqi/cases.h"
#include "zhuqi/log.h"
#include "zhuqi/staff.h"
#include "zhuqi/workflow.h"

/* Tries of a withdrawal that finds the case changed under it (a staff
 * move, a note from another tab) before it answers 409. */
#define WITHDRAW_TRIES 3

/* True when the session proved mobile for a purpose that shows the
 * enterprise owns its cases: "supplement" (the contract's), or "lookup"
 * (the same proof: a code sent to that mobile). */
static int proved(zq_req *req, const zq_session *s, const char *mobile, bool *ok, zq_err *err)
{
    static const char *const purposes[] = {"supplement", "lookup"};
    int64_t now = zq_now_ms();
    int rc = 0;

    *ok = false;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(purposes) && !*ok && rc == 0; i++)
        rc = zq_session_verified(req->store, s->sid, purposes[i], mobile, now, ok, err);
    return rc;
}

/* A text member of the body: *out NULL when absent or null. Returns 0,
 * or -1 after a 422 (not a string, too long, or control characters
 * other than line breaks). */
static int text_param(zq_req *req, json_t *body, const char *key, const char *label,
                      const char **out)
{
    json_t *v = json_object_get(body, key);
    const char *s;
    char msg[160];
    size_t i, n;

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    s = json_string_value(v);
    n = json_string_length(v);
    if (s == NULL) {
        zq_resp_msgf(msg, sizeof(msg), "提交的内容不符合要求。", "%s应为文字。", label);
        goto bad;
    }
    if (zq_utf8_chars(s, n) > ZQ_STAFF_REASON_MAX) {
        zq_resp_msgf(msg, sizeof(msg), "提交的内容不符合要求。", "%s最多 %d 个字。", label,
                     ZQ_STAFF_REASON_MAX);
        goto bad;
    }
    for (i = 0; i < n; i++)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\r' && s[i] != '\t') ||
            s[i] == 0x7f)
            break;
    if (i < n) {
        zq_resp_msgf(msg, sizeof(msg), "提交的内容不符合要求。", "%s含有无法识别的字符。", label);
        goto bad;
    }
    *out = s;
    return 0;
bad:
    zq_resp_error_fields(req, 422, "validation_failed", msg, json_pack("{s:s}", key, msg));
    return -1;
}

/* What both actions start with: the session and its token, codes
 * available, a JSON object body, the case of the route, and the proof of
 * its mobile. Returns 0 with c loaded (clear it) and *body, 1 after
 * having answered, or a negative code. */
static int begin(zq_req *req, zq_staff_case *c, json_t **body)
{
    zq_session s = {0};
    zq_err err = {0};
    bool ok = false;
    int rc;

    memset(c, 0, sizeof(*c));
    if ((rc = zq_verify_session(req, &s)) != 0)
        return rc < 0 ? rc : 1;
    if (!zq_verify_available(req)) {
        zq_verify_require_on(req, "supplement", NULL); /* answers 409 */
        rc = 1;
        goto out;
    }
    if (!zq_verify_purpose_on(req, "supplement", NULL) &&
        !zq_verify_require_on(req, "lookup", NULL)) {
        rc = 1;
        goto out;
    }
    if (zq_req_json(req, body) < 0) {
        rc = 1;
        goto out;
    }
    if (!json_is_object(*body)) {
        zq_resp_error(req, 400, "malformed_json", "请求内容应为 JSON 对象。");
        rc = 1;
        goto out;
    }
    rc = zq_staff_case_load(req->store, req->params[0], false, c, &err);
    if (rc == -ZQ_ENOTFOUND) {
        zq_resp_error(req, 404, "not_found", "未找到该案件，请核对案件编号。");
        rc = 1;
        goto out;
    }
    if (rc < 0)
        goto out;
    if ((rc = proved(req, &s, c->row.mobile, &ok, &err)) < 0) {
        rc = rc == -ZQ_EUNAVAIL ? rc : -ZQ_EREPLY;
        goto out;
    }
    if (!ok) {
        zq_resp_error(req, 403, "mobile_unverified",
                      "请先获取短信验证码，验证本案件登记的手机号码后再操作。");
        rc = 1;
    }
out:
    if (rc != 0)
        zq_staff_case_clear(c);
    zq_session_clear(&s);
    return rc;
}

/* Answers 200 with the case's public view as it is now. */
static int respond_case(zq_req *req, const char *id)
{
    zq_wf_limits lim;
    zq_case c;
    zq_err err = {0};
    json_t *pub;
    int rc = zq_case_load(req->store, id, &c, &err);

    if (rc < 0)
        return rc;
    zq_wf_limits_from_config(req->cfg, &lim);
    pub = zq_case_public_json_at(req->app ? req->app->schema : NULL,
                                 req->app ? req->app->calendar : NULL, &lim, &c,
                                 zq_date_from_ms(zq_now_ms()));
    zq_case_clear(&c);
    if (pub == NULL)
        return -ZQ_ENOMEM;
    zq_resp_json(req, 200, json_pack("{s:o}", "case", pub));
    return 0;
}

/* 409 for a case that can no longer be withdrawn. */
static void not_withdrawable(zq_req *req, const zq_case_row *r)
{
    char msg[200];

    if (strcmp(r->status, "withdrawn") == 0) {
        zq_resp_error(req, 409, "already_withdrawn", "该案件已撤回，无需重复操作。");
        return;
    }
    zq_resp_json(req, 409,
                 json_pack("{s:{s:s, s:s, s:s}}", "error", "code", "decision_taken", "message",
                           zq_resp_msgf(msg, sizeof(msg), "该案件已进入办理程序，不能撤回。",
                                        "该案件当前状态为“%s”，已进入办理程序，不能撤回。如有疑问，"
                                        "请联系承办部门。",
                                        zq_staff_status_label(r->form, r->status)),
                           "status", r->status));
}

int zq_h_case_withdraw(zq_req *req)
{
    const char *reason = NULL;
    zq_staff_case c;
    zq_staff_act act;
    zq_err err = {0};
    json_t *body = NULL;
    char masked[32];
    int rc, tries;

    if ((rc = begin(req, &c, &body)) != 0)
        return rc < 0 ? rc : 0;
    if (text_param(req, body, "reason", "撤回理由", &reason) < 0)
        goto done;
    memset(&act, 0, sizeof(act));
    act.audit.addr = req->remote_addr;
    act.audit.rid = req->request_id;
    for (tries = 0;; tries++) {
        if (!zq_wf_withdrawable(c.row.form, c.row.status)) {
            not_withdrawable(req, &c.row);
            rc = 0;
            goto done;
        }
        act.now_ms = zq_now_ms();
        rc = zq_staff_withdraw(req->store, &c, reason, &act, &err);
        if (rc != -ZQ_ECONFLICT || tries + 1 >= WITHDRAW_TRIES)
            break;
        /* Changed meanwhile: look again at what it is now. */
        zq_staff_case_clear(&c);
        if ((rc = zq_staff_case_load(req->store, req->params[0], false, &c, &err)) < 0)
            goto done;
    }
    if (rc == -ZQ_ECONFLICT) {
        zq_resp_error(req, 409, "case_changed", "案件状态刚刚发生变化，请刷新页面后重试。");
        rc = 0;
        goto done;
    }
    if (rc < 0) {
        if (rc != -ZQ_EUNAVAIL)
            ZQ_ERROR("event=case_withdraw_failed id=%s err=\"%s\"", c.row.id, err.msg);
        rc = rc == -ZQ_EUNAVAIL || rc == -ZQ_ENOTFOUND ? rc : -ZQ_EREPLY;
        goto done;
    }
    zq_mask_mobile(c.row.mobile, masked, sizeof(masked));
    ZQ_INFO("event=case_withdrawn id=%s from=%s mobile=%s reason=%d", c.row.id, c.row.status,
            masked, reason != NULL && *reason != '\0');
    rc = respond_case(req, c.row.id);
done:
    zq_staff_case_clear(&c);
    return rc;
}

int zq_h_case_evaluation(zq_req *req)
{
    const char *rating, *comment = NULL;
    zq_staff_case c;
    zq_staff_act act;
    zq_err err = {0};
    json_t *body = NULL;
    char cur[24], msg[200];
    int rc;

    if ((rc = begin(req, &c, &body)) != 0)
        return rc < 0 ? rc : 0;
    rating = json_string_value(json_object_get(body, "rating"));
    if (zq_wf_rating_label(rating) == NULL) {
        zq_resp_error_fields(req, 422, "validation_failed", "请选择满意程度。",
                             json_pack("{s:s}", "rating", "请选择满意、基本满意或不满意"));
        goto done;
    }
    if (text_param(req, body, "comment", "评价意见", &comment) < 0)
        goto done;
    memset(&act, 0, sizeof(act));
    act.audit.addr = req->remote_addr;
    act.audit.rid = req->request_id;
    act.now_ms = zq_now_ms();
    rc = zq_staff_evaluate(req->store, c.row.id, rating, comment, &act, cur, &err);
    switch (rc) {
    case 0:
        ZQ_INFO("event=case_evaluated id=%s rating=%s comment=%d", c.row.id, rating,
                comment != NULL && *comment != '\0');
        rc = respond_case(req, c.row.id);
        break;
    case -ZQ_EBUSY:
        zq_resp_error(req, 409, "already_evaluated", "该案件已评价，每个案件只能评价一次。");
        rc = 0;
        break;
    case -ZQ_ECONFLICT:
        zq_resp_json(req, 409,
                     json_pack("{s:{s:s, s:s, s:s}}", "error", "code", "not_closed", "message",
                               zq_resp_msgf(msg, sizeof(msg), "案件办结后才能评价。",
                                            "该案件当前状态为“%s”，办结后才能评价。",
                                            zq_staff_status_label(c.row.form, cur)),
                               "status", cur));
        rc = 0;
        break;
    default:
        if (rc != -ZQ_EUNAVAIL && rc != -ZQ_ENOTFOUND)
            ZQ_ERROR("event=case_evaluate_failed id=%s err=\"%s\"", c.row.id, err.msg);
        rc = rc == -ZQ_EUNAVAIL || rc == -ZQ_ENOTFOUND ? rc : -ZQ_EREPLY;
        break;
    }
done:
    zq_staff_case_clear(&c);
    return rc;
}

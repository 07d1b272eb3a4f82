/* The intake API: form schemas, drafts in a web session, step saves,
 * submission with an Idempotency-Key, and the public status lookup.
 *
 * A web session is one Redis hash, sess:{sid}, with a sliding TTL:
 *   csrf        the token writes must echo in X-CSRF-Token
 *   f:{form}    the draft of that flow as JSON:
 *               {"step": next step id, "answers": {...}, "done": [step ids]}
 * Reading a session refreshes its TTL in the same round trip. */
#include "intake.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "zhuqi/app.h"
#include "zhuqi/cases.h"
#include "zhuqi/classes.h"
#include "zhuqi/log.h"
#include "zhuqi/workflow.h"

#define SID_HEX 64
#define CSRF_HEX 64

static const zq_schema *schema_of(zq_req *req)
{
    return req->app ? req->app->schema : NULL;
}

static zq_schema_opts schema_opts(zq_req *req)
{
    zq_schema_opts o = {0};

    o.uscc_checksum_warn_only = req->cfg->intake.uscc_warn_only;
    o.money_ceiling_fen = req->cfg->intake.money_ceiling_yuan * 100;
    return o;
}

/* The form named by the first route parameter, or NULL after a 404. */
static const zq_form *form_param(zq_req *req)
{
    const zq_schema *s = schema_of(req);
    const zq_form *f = s && req->nparams > 0 ? zq_schema_form(s, req->params[0]) : NULL;

    if (f == NULL)
        zq_resp_error(req, 404, "unknown_form", "没有这个办理事项。");
    return f;
}

static bool hex_ok(const char *s, size_t n)
{
    size_t i;

    if (s == NULL || strlen(s) != n)
        return false;
    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* A web session as read from Redis. */
typedef struct session {
    char sid[SID_HEX + 1];
    char csrf[CSRF_HEX + 1];
    json_t *draft; /* the draft of the form asked for, new reference or NULL */
    bool exists;
    bool had_cookie;
} session;

static void session_clear(session *s)
{
    json_decref(s->draft);
    s->draft = NULL;
}

/* Reads the session named by the cookie (refreshing its TTL). Returns 0
 * (s->exists tells whether it was there), or -ZQ_EUNAVAIL after a 503. */
static int session_load(zq_req *req, const zq_form *f, session *s)
{
    const char *sid = zq_req_cookie(req, "zq_sid");
    const char *p = zq_store_prefix(req->store);
    redisReply *rep[2] = {NULL, NULL};
    zq_err err = {0};
    char field[64], key[160], ttl[16];

    memset(s, 0, sizeof(*s));
    if (sid == NULL)
        return 0;
    s->had_cookie = true;
    if (!hex_ok(sid, SID_HEX))
        return 0;
    memcpy(s->sid, sid, SID_HEX + 1);
    /* Only the two fields this request needs, not every form's draft.
     * Append failures show up in read_replies, which must always follow. */
    snprintf(field, sizeof(field), "f:%s", f ? f->id : "");
    snprintf(key, sizeof(key), "%ssess:%s", p, sid);
    snprintf(ttl, sizeof(ttl), "%d", req->cfg->intake.session_ttl_s);
    zq_store_appendv(req->store, 4, (const char *[]){"HMGET", key, "csrf", field}, NULL);
    zq_store_appendv(req->store, 3, (const char *[]){"EXPIRE", key, ttl}, NULL);
    if (zq_store_read_replies(req->store, &err, 2, rep) < 0) {
        zq_resp_unavailable(req);
        return -ZQ_EUNAVAIL;
    }
    if (rep[0]->type == REDIS_REPLY_ARRAY && rep[0]->elements == 2) {
        const redisReply *csrf = rep[0]->element[0], *draft = rep[0]->element[1];

        if (csrf->type == REDIS_REPLY_STRING && csrf->len == CSRF_HEX) {
            memcpy(s->csrf, csrf->str, CSRF_HEX + 1);
            s->exists = true;
        }
        if (f != NULL && draft->type == REDIS_REPLY_STRING)
            s->draft = json_loadb(draft->str, draft->len, 0, NULL);
    }
    freeReplyObject(rep[0]);
    freeReplyObject(rep[1]);
    return 0;
}

static void set_cookie(zq_req *req, const char *sid)
{
    char v[256];

    snprintf(v, sizeof(v), "zq_sid=%s; Path=/api/; Max-Age=%d; HttpOnly; SameSite=Lax%s", sid,
             req->cfg->intake.session_ttl_s, req->cfg->server.cookie_secure ? "; Secure" : "");
    zq_resp_header(req, "Set-Cookie", v);
}

/* Writes the draft of form f into session s (creating the session when
 * csrf is set but not stored yet). Returns 0 or -ZQ_EUNAVAIL after 503. */
static int session_save(zq_req *req, const zq_form *f, session *s, bool create)
{
    const char *p = zq_store_prefix(req->store);
    redisReply *rep[2] = {NULL, NULL};
    char *draft = json_dumps(s->draft, JSON_COMPACT);
    zq_err err = {0};
    char field[64], key[160], ttl[16];
    int rc = 0;

    if (draft == NULL) {
        zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
        return -ZQ_ENOMEM;
    }
    snprintf(field, sizeof(field), "f:%s", f->id);
    snprintf(key, sizeof(key), "%ssess:%s", p, s->sid);
    snprintf(ttl, sizeof(ttl), "%d", req->cfg->intake.session_ttl_s);
    if (create)
        zq_store_appendv(req->store, 6,
                         (const char *[]){"HSET", key, "csrf", s->csrf, field, draft}, NULL);
    else
        zq_store_appendv(req->store, 4, (const char *[]){"HSET", key, field, draft}, NULL);
    /* Again after the write: a session that expired between the read and
     * the write would otherwise come back without a TTL. */
    zq_store_appendv(req->store, 3, (const char *[]){"EXPIRE", key, ttl}, NULL);
    if (zq_store_read_replies(req->store, &err, 2, rep) < 0) {
        zq_resp_unavailable(req);
        rc = -ZQ_EUNAVAIL;
    } else if (rep[0]->type == REDIS_REPLY_ERROR) {
        ZQ_ERROR("event=session_save_failed err=\"%s\"", rep[0]->str);
        zq_resp_unavailable(req);
        rc = -ZQ_EREPLY;
    }
    if (rep[0] != NULL)
        freeReplyObject(rep[0]);
    if (rep[1] != NULL)
        freeReplyObject(rep[1]);
    free(draft);
    return rc;
}

static json_t *new_draft(const zq_form *f)
{
    return json_pack("{s:s, s:o, s:o}", "step", f->nsteps > 0 ? f->steps[0].id : "", "answers",
                     json_object(), "done", json_array());
}

static bool step_done(json_t *draft, const char *step)
{
    json_t *v;
    size_t i;

    json_array_foreach(json_object_get(draft, "done"), i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), step) == 0)
            return true;
    }
    return false;
}

/* The first step not done yet: where the flow goes on. */
static const char *next_step(const zq_form *f, json_t *draft)
{
    size_t i;

    for (i = 0; i < f->nsteps; i++)
        if (!f->steps[i].review && !step_done(draft, f->steps[i].id))
            return f->steps[i].id;
    return f->nsteps > 0 ? f->steps[f->nsteps - 1].id : "";
}

/* {"csrf", "form", "step", "answers", "done"} for the pages. */
static json_t *draft_view(const zq_form *f, session *s)
{
    json_t *answers = json_object_get(s->draft, "answers");
    json_t *done = json_object_get(s->draft, "done");

    answers = json_is_object(answers) ? json_incref(answers) : json_object();
    done = json_is_array(done) ? json_incref(done) : json_array();
    return json_pack("{s:s, s:s, s:s, s:o, s:o}", "csrf", s->csrf, "form", f->id, "step",
                     next_step(f, s->draft), "answers", answers, "done", done);
}

/* 410 when the cookie names a session that has gone, 404 when there was
 * never one. */
static void no_session(zq_req *req, const session *s)
{
    if (s->had_cookie)
        zq_resp_error(req, 410, "session_expired", "填写已超时，请重新开始。");
    else
        zq_resp_error(req, 404, "no_draft", "没有正在填写的内容，请先开始填写。");
}

/* Checks X-CSRF-Token against the session. Returns 0, or -1 after a 403. */
static int check_csrf(zq_req *req, const session *s)
{
    const char *t = zq_req_header(req, "X-CSRF-Token");

    if (t == NULL || !zq_ct_equal(t, strlen(t), s->csrf, strlen(s->csrf))) {
        zq_resp_error(req, 403, "csrf_failed", "页面已过期或请求来源不可信，请刷新页面后重试。");
        return -1;
    }
    return 0;
}

int zq_h_forms(zq_req *req)
{
    const zq_schema *s = schema_of(req);
    json_t *list = json_array();
    size_t i, n = s ? zq_schema_nforms(s) : 0;

    for (i = 0; i < n; i++) {
        const zq_form *f = zq_schema_form_at(s, i);
        json_array_append_new(list, json_pack("{s:s, s:s}", "id", f->id, "title", f->title));
    }
    zq_resp_json(req, 200, list);
    return 0;
}

int zq_h_form(zq_req *req)
{
    const zq_form *f = form_param(req);
    const char *inm;

    if (f == NULL)
        return 0;
    req->cache_control = "no-cache";
    zq_resp_header(req, "ETag", f->etag);
    inm = zq_req_header(req, "If-None-Match");
    if (inm != NULL && strstr(inm, f->etag) != NULL) {
        zq_resp_raw(req, 304, "application/json; charset=utf-8", "", 0);
        return 0;
    }
    zq_resp_json(req, 200, json_incref(f->public_json));
    return 0;
}

int zq_h_intake_start(zq_req *req)
{
    const zq_form *f = form_param(req);
    session s;
    int status = 200;

    if (f == NULL || session_load(req, f, &s) < 0)
        return 0;
    if (!s.exists) {
        if (zq_random_hex(s.sid, SID_HEX / 2) < 0 || zq_random_hex(s.csrf, CSRF_HEX / 2) < 0) {
            zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
            goto out;
        }
        status = 201;
    }
    if (s.draft == NULL || !json_is_object(s.draft)) {
        json_decref(s.draft);
        s.draft = new_draft(f);
        if (session_save(req, f, &s, status == 201) < 0)
            goto out;
    }
    if (status == 201)
        set_cookie(req, s.sid);
    zq_resp_json(req, status, draft_view(f, &s));
out:
    session_clear(&s);
    return 0;
}

int zq_h_intake_get(zq_req *req)
{
    const zq_form *f = form_param(req);
    session s;

    if (f == NULL || session_load(req, f, &s) < 0)
        return 0;
    if (!s.exists || s.draft == NULL)
        no_session(req, &s);
    else
        zq_resp_json(req, 200, draft_view(f, &s));
    session_clear(&s);
    return 0;
}

/* The answers of every step but st, for conditions and cross-field rules.
 * A shallow copy: the values are shared, and never changed in place. */
static json_t *other_answers(const zq_step *st, json_t *answers)
{
    json_t *copy = json_copy(answers);
    size_t i;

    for (i = 0; copy != NULL && i < st->nfields; i++)
        json_object_del(copy, st->fields[i].id);
    return copy;
}

int zq_h_intake_step(zq_req *req)
{
    const zq_form *f = form_param(req);
    const zq_step *st;
    zq_schema_opts o = schema_opts(req);
    json_t *body = NULL, *input, *others = NULL, *norm = NULL, *errors = NULL, *answers;
    session s = {0};
    size_t i;

    if (f == NULL)
        return 0;
    st = zq_form_step(f, req->params[1]);
    if (st == NULL) {
        zq_resp_error(req, 404, "unknown_step", "没有这个填写步骤。");
        return 0;
    }
    if (session_load(req, f, &s) < 0)
        return 0;
    if (!s.exists || s.draft == NULL) {
        no_session(req, &s);
        goto out;
    }
    if (check_csrf(req, &s) < 0 || zq_req_json(req, &body) < 0)
        goto out;
    if (st->review) {
        zq_resp_error(req, 409, "review_step", "确认步骤无需保存，请直接提交。");
        goto out;
    }
    /* Every earlier step must be done first. */
    for (i = 0; i < f->nsteps && strcmp(f->steps[i].id, st->id) != 0; i++) {
        if (!step_done(s.draft, f->steps[i].id)) {
            zq_resp_json(req, 409,
                         json_pack("{s:{s:s, s:s, s:s}}", "error", "code", "step_out_of_order",
                                   "message", "请先完成前面的步骤。", "step", f->steps[i].id));
            goto out;
        }
    }
    input = json_object_get(body, "answers");
    if (!json_is_object(input)) {
        zq_resp_error(req, 400, "bad_request", "请求内容应包含 answers 对象。");
        goto out;
    }
    answers = json_object_get(s.draft, "answers");
    if (!json_is_object(answers)) {
        answers = json_object();
        json_object_set_new(s.draft, "answers", answers);
    }
    others = other_answers(st, answers);
    if (zq_step_validate(schema_of(req), f, st, input, others, &o, &norm, &errors) < 0) {
        zq_resp_error_fields(req, 422, "validation_failed", "请检查标出的内容。", errors);
        errors = NULL;
        goto out;
    }
    /* Replace this step's answers (hidden fields dropped) and mark it. */
    json_object_update(others, norm);
    json_object_set(s.draft, "answers", others);
    if (!step_done(s.draft, st->id)) {
        json_t *done = json_object_get(s.draft, "done");
        if (!json_is_array(done)) {
            done = json_array();
            json_object_set_new(s.draft, "done", done);
        }
        json_array_append_new(done, json_string(st->id));
    }
    json_object_set_new(s.draft, "step", json_string(next_step(f, s.draft)));
    if (session_save(req, f, &s, false) < 0)
        goto out;
    zq_resp_json(req, 200, draft_view(f, &s));
out:
    json_decref(body);
    json_decref(others);
    json_decref(norm);
    json_decref(errors);
    session_clear(&s);
    return 0;
}

/* The public view with the deadline running now. */
static json_t *public_view(zq_req *req, const zq_case *c)
{
    zq_wf_limits lim;

    zq_wf_limits_from_config(req->cfg, &lim);
    return zq_case_public_json_at(schema_of(req), req->app ? req->app->calendar : NULL, &lim, c,
                                  zq_date_today());
}

/* Answers with the case's public view. */
static void respond_case(zq_req *req, const char *id, int status)
{
    zq_case c;
    zq_err err = {0};
    int rc = zq_case_load(req->store, id, &c, &err);

    if (rc == -ZQ_EUNAVAIL) {
        zq_resp_unavailable(req);
        return;
    }
    if (rc < 0) {
        ZQ_ERROR("event=case_reload_failed id=%s err=\"%s\"", id, err.msg);
        zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
        return;
    }
    zq_resp_json(req, status, json_pack("{s:o}", "case", public_view(req, &c)));
    zq_case_clear(&c);
}

int zq_h_intake_submit(zq_req *req)
{
    const zq_form *f = form_param(req);
    const char *key = zq_req_header(req, "Idempotency-Key");
    const char *p, *bad_step = NULL;
    zq_schema_opts o = schema_opts(req);
    json_t *errors = NULL, *answers, *visible = NULL;
    redisReply *r;
    zq_case_new in;
    zq_err err = {0};
    char id[ZQ_CASE_ID_MAX], dup[ZQ_CASE_ID_MAX], field[64];
    bool created = false;
    session s = {0};
    int rc;

    if (f == NULL)
        return 0;
    if (!zq_idem_key_valid(key)) {
        zq_resp_error(req, 400, "missing_idempotency_key",
                      "缺少或无效的 Idempotency-Key 请求头（8 到 64 位字母、数字、- 或 _）。");
        return 0;
    }
    if (session_load(req, f, &s) < 0)
        return 0;
    if (!s.exists) {
        no_session(req, &s);
        goto out;
    }
    if (check_csrf(req, &s) < 0)
        goto out;
    p = zq_store_prefix(req->store);
    /* A retry of a submission that already made a case gets that case,
     * even though its draft is gone. */
    r = zq_store_command(req->store, &err, "GET %sidem:%s:%s", p, f->id, key);
    if (r == NULL) {
        zq_resp_unavailable(req);
        goto out;
    }
    if (r->type == REDIS_REPLY_STRING) {
        snprintf(id, sizeof(id), "%s", r->str);
        freeReplyObject(r);
        /* The first attempt may have got 503 because no replica confirmed
         * the case in time. session_load's EXPIRE was a write on this
         * connection after that case, so WAIT covers the case as well. */
        if (zq_store_wait(req->store, &err) < 0) {
            ZQ_WARN("event=case_not_replicated id=%s err=\"%s\"", id, err.msg);
            zq_resp_unavailable(req);
            goto out;
        }
        respond_case(req, id, 200);
        goto out;
    }
    freeReplyObject(r);
    if (s.draft == NULL) {
        zq_resp_error(req, 409, "no_draft", "没有可提交的内容，请重新填写。");
        goto out;
    }
    /* Only what the complainant can see goes into the case: a value left
     * behind by a field that a later answer hid is dropped. */
    visible = zq_form_visible_answers(f, json_object_get(s.draft, "answers"));
    answers = visible;
    if (answers == NULL) {
        zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
        goto out;
    }
    if (zq_form_validate_all(schema_of(req), f, answers, &o, &errors, &bad_step) < 0) {
        json_t *e = json_pack("{s:{s:s, s:s, s:s, s:O}}", "error", "code", "validation_failed",
                              "message", "还有内容需要补充或修改。", "step",
                              bad_step ? bad_step : "", "fields", errors);
        zq_resp_json(req, 422, e);
        goto out;
    }
    memset(&in, 0, sizeof(in));
    in.form = f;
    in.answers = answers;
    in.idem_key = key;
    in.source = "web";
    in.now_ms = zq_now_ms();
    in.idem_ttl_s = req->cfg->intake.idempotency_ttl_s;
    in.dup_window_days = req->cfg->intake.duplicate_window_days;
    rc = zq_case_create(req->store, &in, id, &created, dup, &err);
    if (rc == -ZQ_EUNAVAIL) {
        /* Redis away, refusing writes, or no replica in time: the case
         * may exist, and a retry with the same key returns it. */
        ZQ_WARN("event=case_create_unavailable form=%s err=\"%s\"", f->id, err.msg);
        zq_resp_unavailable(req);
        goto out;
    }
    if (rc < 0) {
        ZQ_ERROR("event=case_create_failed form=%s err=\"%s\"", f->id, err.msg);
        zq_resp_unavailable(req);
        goto out;
    }
    ZQ_INFO("event=case_created id=%s form=%s created=%d dup_of=%s", id, f->id, created,
            dup[0] ? dup : "-");
    /* The draft has become the case; losing this delete is harmless. */
    snprintf(field, sizeof(field), "f:%s", f->id);
    r = zq_store_command(req->store, &err, "HDEL %ssess:%s %s", p, s.sid, field);
    if (r != NULL)
        freeReplyObject(r);
    respond_case(req, id, created ? 201 : 200);
out:
    json_decref(errors);
    json_decref(visible);
    session_clear(&s);
    return 0;
}

/* Appends the rate limiter's two commands: count one lookup for this
 * client in this minute. */
static void lookup_rate_append(zq_req *req, int64_t now_s)
{
    char key[200];

    snprintf(key, sizeof(key), "%srl:lookup:%s:%lld", zq_store_prefix(req->store), req->remote_addr,
             (long long)(now_s / 60));
    zq_store_appendv(req->store, 2, (const char *[]){"INCR", key}, NULL);
    zq_store_appendv(req->store, 3, (const char *[]){"EXPIRE", key, "120"}, NULL);
}

int zq_h_case_lookup(zq_req *req)
{
    static const zq_field mobile_field = {
        .id = "mobile", .label = "手机号码", .type = ZQ_FIELD_MOBILE, .required = true};
    const char *id = req->params[0];
    const char *msg = NULL;
    zq_schema_opts o = schema_opts(req);
    json_t *body = NULL, *norm = NULL;
    redisReply *rep[4] = {NULL, NULL, NULL, NULL};
    int64_t now_s = zq_now_ms() / 1000;
    const char *mobile;
    zq_case c;
    zq_err err = {0};
    char ra[16];
    int rc = -ZQ_ENOTFOUND, n = 2, i;

    if (zq_req_json(req, &body) < 0)
        return 0;
    if (zq_field_validate(schema_of(req), &mobile_field, json_object_get(body, "mobile"), &o, &norm,
                          &msg) < 0 ||
        !json_is_string(norm)) {
        zq_resp_error_fields(req, 422, "validation_failed", "请检查手机号码。",
                             json_pack("{s:s}", "mobile", msg ? msg : "请填写手机号码"));
        goto out;
    }
    /* One round trip: the limiter's count and the case together; the
     * case is only looked at when the count allows it. */
    lookup_rate_append(req, now_s);
    if (zq_case_load_append(req->store, id) == 0)
        n = 4;
    if (zq_store_read_replies(req->store, &err, n, rep) < 0) {
        zq_resp_unavailable(req);
        goto out;
    }
    for (i = 0; i < n; i++)
        if (zq_store_reply_unavailable(rep[i])) {
            zq_resp_unavailable(req); /* LOADING, MISCONF...: try again later */
            goto out;
        }
    if (rep[0]->type == REDIS_REPLY_INTEGER &&
        rep[0]->integer > req->cfg->intake.lookup_per_minute) {
        zq_resp_error(req, 429, "rate_limited", "查询过于频繁，请稍后再试。");
        snprintf(ra, sizeof(ra), "%d", (int)(60 - now_s % 60));
        zq_resp_header(req, "Retry-After", ra);
        goto out;
    }
    if (n == 4)
        rc = zq_case_from_replies_public(rep[2], rep[3], id, &c, &err);
    mobile = json_string_value(norm);
    /* A wrong mobile and an unknown number look the same from outside. */
    if (rc < 0 || !zq_ct_equal(c.mobile, strlen(c.mobile), mobile, strlen(mobile))) {
        if (rc == 0)
            zq_case_clear(&c);
        zq_resp_error(req, 404, "not_found", "未找到该案件，请核对案件编号和手机号码。");
        goto out;
    }
    zq_resp_json(req, 200, json_pack("{s:o}", "case", public_view(req, &c)));
    zq_case_clear(&c);
out:
    for (i = 0; i < 4; i++)
        if (rep[i] != NULL)
            freeReplyObject(rep[i]);
    json_decref(body);
    json_decref(norm);
    return 0;
}

int zq_h_classes(zq_req *req)
{
    zq_err err = {0};
    json_t *list;
    int rc = zq_classes_upcoming(req->store, zq_now_ms(), 24, &list, &err);

    if (rc < 0)
        return rc;
    zq_resp_json(req, 200, json_pack("{s:o}", "classes", list));
    return 0;
}

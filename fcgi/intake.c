/* The intake API: form schemas, drafts in a web session (the layout is
 * lib/intake/session.c's), step saves, submission with an
 * Idempotency-Key, the public status lookup and the upcoming classes. */
#include "intake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zhuqi/app.h"
#include "zhuqi/cases.h"
#include "zhuqi/classes.h"
#include "zhuqi/files.h"
#include "zhuqi/jsonq.h"
#include "zhuqi/client.h"
#include "zhuqi/jsontext.h"
#include "zhuqi/log.h"
#include "zhuqi/lookup.h"
#include "zhuqi/session.h"
#include "zhuqi/smsq.h"
#include "zhuqi/workflow.h"
#include "verify.h"

static const zq_schema *schema_of(zq_req *req)
{
    return req->app ? req->app->schema : NULL;
}

static zq_schema_opts schema_opts(zq_req *req)
{
    zq_schema_opts o = {0};

    o.uscc_checksum_warn_only = req->cfg->intake.uscc_warn_only;
    o.money_ceiling_fen = req->cfg->intake.money_ceiling_yuan * 100;
    o.files_kinds_optional = !req->cfg->files.require_kinds;
    return o;
}

const zq_form *zq_intake_form_param(zq_req *req)
{
    const zq_schema *s = schema_of(req);
    const zq_form *f = s && req->nparams > 0 ? zq_schema_form(s, req->params[0]) : NULL;

    if (f == NULL)
        zq_resp_error(req, 404, "unknown_form", "没有这个办理事项。");
    return f;
}

/* The cookie outlives the session it names by this much, so that a
 * page opened after the draft expired learns so (410, or "expired" from
 * GET .../state) instead of finding nothing and starting an empty form. */
#define COOKIE_GRACE_S (7 * 86400)

/* Appends the n bytes of s at v[*at] when they fit in cap (with a NUL);
 * false when not. */
static bool cookie_put(char *v, size_t cap, size_t *at, const char *s, size_t n)
{
    if (n >= cap - *at)
        return false;
    memcpy(v + *at, s, n);
    *at += n;
    v[*at] = '\0';
    return true;
}

void zq_intake_set_cookie(zq_req *req, const char *sid)
{
    static const char path[] = "; Path=/api/; Max-Age=", flags[] = "; HttpOnly; SameSite=Lax",
                      secure[] = "; Secure";
    const int max_age = req->cfg->intake.session_ttl_s + COOKIE_GRACE_S;
    char v[256], digits[ZQ_DEC_MAX];
    size_t at = 0, nd = zq_dec(digits, max_age);

    /* Put together by hand, not with zq_fmt: every step save sends it. */
    if (cookie_put(v, sizeof(v), &at, "zq_sid=", 7) &&
        cookie_put(v, sizeof(v), &at, sid, strlen(sid)) &&
        cookie_put(v, sizeof(v), &at, path, sizeof(path) - 1) &&
        cookie_put(v, sizeof(v), &at, digits, nd) &&
        cookie_put(v, sizeof(v), &at, flags, sizeof(flags) - 1) &&
        (!req->cfg->server.cookie_secure ||
         cookie_put(v, sizeof(v), &at, secure, sizeof(secure) - 1)))
        zq_resp_header(req, "Set-Cookie", v);
}

/* Reads the session named by the cookie with the draft of f (NULL: none). */
static int session_load(zq_req *req, const zq_form *f, zq_session *s)
{
    zq_err err = {0};

    return zq_session_load(req->store, zq_req_cookie(req, "zq_sid"), f ? f->id : NULL,
                           req->cfg->intake.session_ttl_s, s, &err);
}

static int session_save(zq_req *req, const zq_form *f, zq_session *s, bool create)
{
    zq_err err = {0};

    return zq_session_save(req->store, s, f->id, create, req->cfg->intake.session_ttl_s, &err);
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

/* {"csrf", "form", "step", "answers", "done"} for the pages, and "stop"
 * ({"field", "reason", "where"}) while an answer to the eligibility
 * check rules the complaint out. */
static json_t *draft_view(const zq_form *f, const zq_session *s)
{
    json_t *answers = zq_files_merge(f, json_object_get(s->draft, "answers"), s->files);
    json_t *done = json_object_get(s->draft, "done"), *v;
    const zq_field *gate = NULL;
    const zq_option *stop = zq_form_stop(f, answers, &gate);

    done = json_is_array(done) ? json_incref(done) : json_array();
    v = json_pack("{s:s, s:s, s:s, s:o, s:o}", "csrf", s->csrf, "form", f->id, "step",
                  next_step(f, s->draft), "answers", answers, "done", done);
    if (v != NULL && stop != NULL)
        json_object_set_new(v, "stop",
                            json_pack("{s:s, s:s, s:s}", "field", gate->id, "reason", stop->stop,
                                      "where", stop->stop_where));
    return v;
}

/* Adds "verify" to a draft view: whether the flow asks for the mobile to
 * be verified by SMS code before submission, and whether a draft may be
 * resumed elsewhere with one. Takes v, returns it. */
static json_t *with_verify(zq_req *req, const zq_form *f, json_t *v)
{
    if (v != NULL)
        json_object_set_new(v, "verify",
                            json_pack("{s:b, s:b, s:i}", "mobile_required",
                                      zq_verify_purpose_on(req, "submit", f), "resume",
                                      zq_verify_purpose_on(req, "resume", f), "resend_after",
                                      req->cfg->verify.resend_s));
    return v;
}

/* The step that asks for field id, or "". */
static const char *step_of_field(const zq_form *f, const char *id)
{
    size_t i, k;

    for (i = 0; i < f->nsteps; i++)
        for (k = 0; k < f->steps[i].nfields; k++)
            if (strcmp(f->steps[i].fields[k].id, id) == 0)
                return f->steps[i].id;
    return "";
}

/* 410 when the cookie names a session that has gone, 404 when there was
 * never one. */
void zq_intake_no_session(zq_req *req)
{
    if (zq_req_cookie(req, "zq_sid") != NULL)
        zq_resp_error(req, 410, "session_expired", "填写已超时，请重新开始。");
    else
        zq_resp_error(req, 404, "no_draft", "没有正在填写的内容，请先开始填写。");
}

int zq_intake_check_csrf(zq_req *req, const zq_session *s)
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
    const zq_form *f = zq_intake_form_param(req);
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
    const zq_form *f = zq_intake_form_param(req);
    zq_session s;
    int status = 200, rc;

    if (f == NULL)
        return 0;
    if ((rc = session_load(req, f, &s)) < 0)
        return rc;
    if (!s.exists) {
        if ((rc = zq_session_new_ids(&s)) < 0)
            goto out;
        status = 201;
    }
    if (s.draft == NULL || !json_is_object(s.draft)) {
        json_decref(s.draft);
        s.draft = new_draft(f);
        if ((rc = session_save(req, f, &s, status == 201)) < 0)
            goto out;
    }
    if (status == 201)
        zq_intake_set_cookie(req, s.sid);
    zq_resp_json(req, status, with_verify(req, f, draft_view(f, &s)));
out:
    zq_session_clear(&s);
    return rc;
}

int zq_h_intake_get(zq_req *req)
{
    const zq_form *f = zq_intake_form_param(req);
    zq_session s;
    int rc;

    if (f == NULL)
        return 0;
    if ((rc = session_load(req, f, &s)) < 0)
        return rc;
    if (!s.exists || s.draft == NULL)
        zq_intake_no_session(req);
    else
        zq_resp_json(req, 200, with_verify(req, f, draft_view(f, &s)));
    zq_session_clear(&s);
    return 0;
}

/* How many steps of the draft are saved. */
static json_int_t done_count(json_t *draft)
{
    json_t *done = json_object_get(draft, "done");

    return json_is_array(done) ? (json_int_t)json_array_size(done) : 0;
}

int zq_h_intake_state(zq_req *req)
{
    const zq_form *f = zq_intake_form_param(req);
    const char *cookie;
    zq_session s;
    json_t *v;
    int rc;

    if (f == NULL)
        return 0;
    if ((rc = session_load(req, f, &s)) < 0)
        return rc;
    cookie = zq_req_cookie(req, "zq_sid");
    /* No personal data: whether there is a draft, where it goes on, how
     * far it got. A cookie whose session is gone means it expired (the
     * cookie outlives the session by COOKIE_GRACE_S). */
    if (!s.exists)
        v = json_pack("{s:s, s:b}", "state", cookie != NULL ? "expired" : "none", "exists", 0);
    else if (s.draft == NULL || !json_is_object(s.draft))
        v = json_pack("{s:s, s:b}", "state", "none", "exists", 0);
    else
        v = json_pack("{s:s, s:b, s:s, s:I, s:I}", "state", "draft", "exists", 1, "step",
                      next_step(f, s.draft), "done", done_count(s.draft), "steps",
                      (json_int_t)f->nsteps);
    zq_resp_json(req, 200, v);
    zq_session_clear(&s);
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

/* The step's input with each files field of st set to the session's
 * uploads (or left out when none). Returns a new object, NULL when out of
 * memory. */
static json_t *step_input_with_files(const zq_form *f, const zq_step *st, json_t *input,
                                     json_t *files)
{
    json_t *copy = json_copy(input), *merged = zq_files_merge(f, NULL, files);
    size_t i;

    if (copy == NULL || merged == NULL) {
        json_decref(copy);
        json_decref(merged);
        return NULL;
    }
    for (i = 0; i < st->nfields; i++) {
        const zq_field *fld = &st->fields[i];
        json_t *list = json_object_get(merged, fld->id);

        if (fld->type != ZQ_FIELD_FILES)
            continue;
        json_object_del(copy, fld->id);
        if (list != NULL)
            json_object_set(copy, fld->id, list);
    }
    json_decref(merged);
    return copy;
}

/* A step save that reads the whole draft first: for steps whose rules
 * read other steps' answers, uploads, requests the one-trip save cannot
 * judge (a body that is not JSON...), and drafts stored whole. */
static int step_two_trips(zq_req *req, const zq_form *f, const zq_step *st)
{
    zq_schema_opts o = schema_opts(req);
    json_t *body = NULL, *input, *others = NULL, *norm = NULL, *errors = NULL, *answers;
    zq_session s = {0};
    size_t i;
    int rc = 0;

    if ((rc = session_load(req, f, &s)) < 0)
        return rc;
    if (!s.exists || s.draft == NULL) {
        zq_intake_no_session(req);
        goto out;
    }
    if (zq_intake_check_csrf(req, &s) < 0 || zq_req_json(req, &body) < 0)
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
    /* A files field's value is the uploads, whatever the page sent. */
    if ((input = step_input_with_files(f, st, input, s.files)) == NULL) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    rc = zq_step_validate(schema_of(req), f, st, input, others, &o, &norm, &errors);
    json_decref(input);
    if (rc < 0) {
        rc = 0;
        zq_resp_error_fields(req, 422, "validation_failed", "请检查标出的内容。", errors);
        errors = NULL;
        goto out;
    }
    /* Replace this step's answers (hidden fields dropped) and mark it.
     * The uploads stay in their own list (u:{form}), not in the draft. */
    for (i = 0; i < st->nfields; i++)
        if (st->fields[i].type == ZQ_FIELD_FILES)
            json_object_del(norm, st->fields[i].id);
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
    if ((rc = session_save(req, f, &s, false)) < 0)
        goto out;
    /* The session's TTL slides with every save: the cookie's too (a
     * header, no round trip), or a draft kept alive for weeks would lose
     * the cookie that names it. */
    zq_intake_set_cookie(req, s.sid);
    zq_resp_json(req, 200, draft_view(f, &s));
out:
    json_decref(others);
    json_decref(norm);
    json_decref(errors);
    zq_session_clear(&s);
    return rc;
}

/* The most of each list the one-trip save takes; a form beyond them
 * saves in two trips. */
#define STEP_MAX 64

/* Lists for zq_session_step, filled by step_lists. */
typedef struct step_lists {
    const char *before[STEP_MAX];
    const char *stop_fields[STEP_MAX], *stop_values[STEP_MAX];
    const zq_option *stops[STEP_MAX];
    const char *set_ids[STEP_MAX], *set_json[STEP_MAX], *del_ids[STEP_MAX];
    size_t offs[STEP_MAX];
    zq_buf vals; /* the set_json strings, back to back */
} step_lists;

/* Appends v to b through jansson (compact, any value). Returns 0 or
 * -ZQ_ENOMEM. */
static int dump_jansson(zq_buf *b, json_t *v)
{
    size_t n, room;

    /* Straight into the buffer; again when it did not fit. */
    for (;;) {
        if (zq_buf_reserve(b, 64) < 0)
            return -ZQ_ENOMEM;
        room = b->cap - b->len - 1;
        n = json_dumpb(v, b->data + b->len, room, JSON_COMPACT | JSON_ENCODE_ANY);
        if (n == 0)
            return -ZQ_ENOMEM;
        if (n < room)
            break;
        if (zq_buf_reserve(b, n + 1) < 0)
            return -ZQ_ENOMEM;
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* Appends v to b as compact JSON, the bytes json_dumpb writes: the
 * values a validator gives (strings with nothing to escape, integers,
 * booleans, null, lists of them) by hand, anything else through jansson.
 * Returns 0 or -ZQ_ENOMEM. */
static int append_json(zq_buf *b, json_t *v, int depth)
{
    const char *s;
    char num[32];
    size_t i, n;

    switch (json_typeof(v)) {
    case JSON_STRING:
        s = json_string_value(v);
        n = json_string_length(v);
        for (i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == '"' || s[i] == '\\')
                return dump_jansson(b, v);
        zq_buf_append(b, "\"", 1);
        zq_buf_append(b, s, n);
        zq_buf_append(b, "\"", 1);
        break;
    case JSON_INTEGER:
        if (zq_fmt(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
            return dump_jansson(b, v);
        zq_buf_puts(b, num);
        break;
    case JSON_TRUE: zq_buf_puts(b, "true"); break;
    case JSON_FALSE: zq_buf_puts(b, "false"); break;
    case JSON_NULL: zq_buf_puts(b, "null"); break;
    case JSON_ARRAY:
        if (depth > 0)
            return dump_jansson(b, v);
        zq_buf_append(b, "[", 1);
        for (i = 0; i < json_array_size(v); i++) {
            if (i > 0)
                zq_buf_append(b, ",", 1);
            if (append_json(b, json_array_get(v, i), depth + 1) < 0)
                return -ZQ_ENOMEM;
        }
        zq_buf_append(b, "]", 1);
        break;
    default: return dump_jansson(b, v);
    }
    return b->oom ? -ZQ_ENOMEM : 0;
}

/* Fills in from the step and its normalised answers (NULL: checks
 * only). Returns 0, -ZQ_ENOMEM, or -ZQ_ETOOBIG when a list is too long. */
static int step_lists_fill(const zq_form *f, const zq_step *st, json_t *norm, step_lists *l,
                           zq_step_save *in)
{
    size_t i, k;

    if (st->nfields > STEP_MAX)
        return -ZQ_ETOOBIG;
    for (i = 0; i < f->nsteps && &f->steps[i] != st; i++) {
        if (in->nbefore == STEP_MAX)
            return -ZQ_ETOOBIG;
        l->before[in->nbefore++] = f->steps[i].id;
    }
    /* The stop rule's pairs in zq_form_stop's order: the first that holds
     * is the one it reports. */
    for (i = 0; !st->gate && f->nsteps > 0 && f->steps[0].gate && i < f->steps[0].nfields; i++) {
        const zq_field *g = &f->steps[0].fields[i];

        for (k = 0; k < g->noptions; k++) {
            if (g->options[k].stop == NULL)
                continue;
            if (in->nstop == STEP_MAX)
                return -ZQ_ETOOBIG;
            l->stop_fields[in->nstop] = g->id;
            l->stop_values[in->nstop] = g->options[k].value;
            l->stops[in->nstop++] = &g->options[k];
        }
    }
    for (i = 0; norm != NULL && i < st->nfields; i++) {
        const zq_field *fld = &st->fields[i];
        json_t *v = fld->type == ZQ_FIELD_FILES ? NULL : json_object_get(norm, fld->id);

        if (v == NULL) {
            l->del_ids[in->ndel++] = fld->id;
            continue;
        }
        l->offs[in->nset] = l->vals.len;
        if (append_json(&l->vals, v, 0) < 0 || zq_buf_append(&l->vals, "", 1) < 0)
            return -ZQ_ENOMEM;
        l->set_ids[in->nset++] = fld->id;
    }
    for (i = 0; i < in->nset; i++)
        l->set_json[i] = l->vals.data + l->offs[i];
    in->before = l->before;
    in->stop_fields = l->stop_fields;
    in->stop_values = l->stop_values;
    in->set_ids = l->set_ids;
    in->set_json = l->set_json;
    in->del_ids = l->del_ids;
    return 0;
}

/* Whether st has a field with this id. */
static bool step_field(const zq_step *st, const char *id)
{
    size_t i;

    for (i = 0; i < st->nfields; i++)
        if (strcmp(st->fields[i].id, id) == 0)
            return true;
    return false;
}

/* The answer to a step the stop rule refuses: the unknown fields of input
 * and the stop's message, as zq_step_validate reports them. */
static int step_stopped(zq_req *req, const zq_step *st, json_t *input, const zq_option *stop)
{
    json_t *errs = json_object(), *v;
    char msg[1024];
    const char *k;

    if (errs == NULL)
        return -ZQ_ENOMEM;
    json_object_foreach(input, k, v)
    {
        if (!step_field(st, k) && json_object_get(errs, k) == NULL)
            json_object_set_new(errs, k, json_string("表单中没有这一项"));
    }
    zq_stop_message(stop, msg, sizeof(msg));
    if (json_object_get(errs, "_") == NULL)
        json_object_set_new(errs, "_", json_string(msg));
    zq_resp_error_fields(req, 422, "validation_failed", "请检查标出的内容。", errs);
    return 0;
}

/* Whether id is one of the n ids in files (the form's uploads fields,
 * never an answer of the draft). */
static bool files_field(const char *const *files, size_t n, const char *id)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(files[i], id) == 0)
            return true;
    return false;
}

/* A literal appended without strlen. */
#define PUT_LIT(b, lit) zq_buf_append((b), (lit), sizeof(lit) - 1)

/* zq_buf_json_escape of s, copied whole when no byte of it needs
 * escaping (every id of the shipped forms): the same bytes. */
static void put_escaped(zq_buf *b, const char *s)
{
    size_t n = strlen(s), i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&')
            break;
    }
    if (i == n)
        zq_buf_append(b, s, n);
    else
        zq_buf_json_escape(b, s, n);
}

/* The saved step's draft view (draft_view's), from what the save read
 * back: through jansson when the draft has uploads to merge. */
static int step_view(zq_req *req, const zq_form *f, const zq_step *st, json_t *norm,
                     const char *csrf, const zq_step_result *r)
{
    const char *next, *id, *json;
    const zq_field *gate = NULL;
    const zq_option *stop = st->gate ? zq_form_stop(f, norm, &gate) : NULL;
    const char *files[STEP_MAX];
    bool first = true, found = false, slow = r->files_len > 0;
    zq_buf b = {0};
    size_t i, k, len, nfiles = 0;
    int rc = 0;

    /* next_step's choice: the first step not done, else the last. */
    next = f->nsteps > 0 ? f->steps[f->nsteps - 1].id : "";
    for (i = 0; i < f->nsteps && !found; i++) {
        if (f->steps[i].review)
            continue;
        for (k = 0; k < r->ndone && strcmp(zq_step_result_done(r, k), f->steps[i].id) != 0; k++)
            ;
        if (k == r->ndone) {
            next = f->steps[i].id;
            found = true;
        }
    }
    for (i = 0; i < f->nsteps; i++)
        for (k = 0; k < f->steps[i].nfields; k++)
            if (f->steps[i].fields[k].type == ZQ_FIELD_FILES) {
                if (nfiles == STEP_MAX)
                    slow = true;
                else
                    files[nfiles++] = f->steps[i].fields[k].id;
            }
    if (slow) {
        zq_session s = {0};
        json_t *answers = json_object();

        for (i = 0; answers != NULL && i < r->nanswers; i++) {
            zq_step_result_answer(r, i, &id, &json, &len);
            json_object_set_new(answers, id, json_loadb(json, len, JSON_DECODE_ANY, NULL));
        }
        memcpy(s.csrf, csrf, strlen(csrf) + 1);
        s.draft = json_pack("{s:o, s:o}", "answers", answers ? answers : json_object(), "done",
                            json_loadb(r->done, r->done_len, 0, NULL));
        s.files = json_loadb(r->files, r->files_len, 0, NULL);
        if (s.draft == NULL) {
            zq_session_clear(&s);
            return -ZQ_ENOMEM;
        }
        zq_resp_json(req, 200, draft_view(f, &s));
        zq_session_clear(&s);
        return 0;
    }
    zq_buf_reserve(&b, 1024);
    PUT_LIT(&b, "{\"csrf\":\"");
    zq_buf_puts(&b, csrf);
    PUT_LIT(&b, "\",\"form\":\"");
    put_escaped(&b, f->id);
    PUT_LIT(&b, "\",\"step\":\"");
    put_escaped(&b, next);
    PUT_LIT(&b, "\",\"answers\":{");
    for (i = 0; i < r->nanswers; i++) {
        zq_step_result_answer(r, i, &id, &json, &len);
        if (files_field(files, nfiles, id))
            continue;
        if (first)
            PUT_LIT(&b, "\"");
        else
            PUT_LIT(&b, ",\"");
        put_escaped(&b, id);
        PUT_LIT(&b, "\":");
        zq_buf_append(&b, json, len);
        first = false;
    }
    PUT_LIT(&b, "},\"done\":");
    zq_buf_append(&b, r->done, r->done_len);
    if (stop != NULL) {
        json_t *j = json_pack("{s:s, s:s, s:s}", "field", gate->id, "reason", stop->stop, "where",
                              stop->stop_where);
        char *t = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

        zq_buf_puts(&b, ",\"stop\":");
        if (t == NULL)
            b.oom = true;
        else
            zq_buf_puts(&b, t);
        free(t);
        json_decref(j);
    }
    zq_buf_puts(&b, "}");
    if (b.oom)
        rc = -ZQ_ENOMEM;
    else
        zq_resp_raw(req, 200, "application/json; charset=utf-8", b.data, b.len);
    zq_buf_free(&b);
    return rc;
}

/* A step whose rules read its own answers only, saved in one round trip
 * (zq_session_step): validated from the request alone, then checked
 * (session, CSRF, order, stop rule) and written by one script. Sets
 * *again when the two-trip save must answer instead (nothing written). */
/* The one-trip save's script call and answer, for step_one_trip and
 * step_raw: in and l filled, input the request's answers (NULL: none but
 * the step's own fields), norm and *errors zq_step_validate's (NULL when
 * validated from the bytes; *errors is taken when answered). */
static int step_save(zq_req *req, const zq_form *f, const zq_step *st, zq_step_save *in,
                     const step_lists *l, json_t *input, json_t *norm, json_t **errors, bool *again)
{
    zq_step_result r = {0};
    zq_err err = {0};
    int rc;

    if ((rc = zq_session_step(req->store, in, &r, &err)) < 0)
        goto out;
    switch (r.outcome) {
    case ZQ_STEP_NO_DRAFT: zq_intake_no_session(req); break;
    case ZQ_STEP_CSRF:
        zq_resp_error(req, 403, "csrf_failed", "页面已过期或请求来源不可信，请刷新页面后重试。");
        break;
    case ZQ_STEP_LEGACY: *again = true; break;
    case ZQ_STEP_ORDER:
        zq_resp_json(req, 409,
                     json_pack("{s:{s:s, s:s, s:s}}", "error", "code", "step_out_of_order",
                               "message", "请先完成前面的步骤。", "step", l->before[r.order]));
        break;
    case ZQ_STEP_STOP: rc = step_stopped(req, st, input, l->stops[r.stop]); break;
    case ZQ_STEP_SAVED:
        if (!in->write) {
            zq_resp_error_fields(req, 422, "validation_failed", "请检查标出的内容。", *errors);
            *errors = NULL;
            break;
        }
        /* The session's TTL slides with every save: the cookie's too. */
        zq_intake_set_cookie(req, in->sid);
        rc = step_view(req, f, st, norm, in->token, &r);
        break;
    }
out:
    zq_step_result_clear(&r);
    return rc;
}

/* The request's part of a one-trip save. */
static void step_save_init(zq_req *req, const zq_form *f, const zq_step *st, zq_step_save *in)
{
    in->sid = zq_req_cookie(req, "zq_sid");
    in->form = f->id;
    in->ttl_s = req->cfg->intake.session_ttl_s;
    in->token = zq_req_header(req, "X-CSRF-Token");
    in->step = st->id;
    in->has_mobile = step_field(st, "mobile");
}

/* A step whose rules read its own answers only, saved in one round trip
 * (zq_session_step): validated from the request alone, then checked
 * (session, CSRF, order, stop rule) and written by one script. Sets
 * *again when the two-trip save must answer instead (nothing written). */
static int step_one_trip(zq_req *req, const zq_form *f, const zq_step *st, json_t *input,
                         bool *again)
{
    zq_schema_opts o = schema_opts(req);
    json_t *norm = NULL, *errors = NULL;
    zq_step_save in = {0};
    step_lists lists, *l = &lists;
    int rc, vrc;

    *again = false;
    /* Only the buffer needs zeroing: the lists are filled before use. */
    memset(&l->vals, 0, sizeof(l->vals));
    vrc = zq_step_validate(schema_of(req), f, st, input, NULL, &o, &norm, &errors);
    if (vrc < 0 && vrc != -ZQ_EINVAL) {
        rc = vrc;
        goto out;
    }
    step_save_init(req, f, st, &in);
    in.write = vrc == 0;
    in.mobile = json_string_value(json_object_get(norm, "mobile"));
    if ((rc = step_lists_fill(f, st, in.write ? norm : NULL, l, &in)) < 0) {
        if (rc == -ZQ_ETOOBIG) {
            *again = true;
            rc = 0;
        }
        goto out;
    }
    rc = step_save(req, f, st, &in, l, input, norm, &errors, again);
out:
    zq_buf_free(&l->vals);
    json_decref(norm);
    json_decref(errors);
    return rc;
}

/* Whether the request says its body is JSON: zq_req_json's test of the
 * media type, so as not to answer yet. */
static bool body_is_json(zq_req *req)
{
    const char *ct = zq_req_header(req, "Content-Type");
    static const char type[] = "application/json";

    if (ct == NULL)
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, type, sizeof(type) - 1) != 0)
        return false;
    ct += sizeof(type) - 1;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* step_one_trip for a plain step (zq_step_plain) without a tree: the
 * body's answers read as bytes (zq_jsonq_members), validated straight
 * into the script's list (zq_step_validate_raw), and the answer written
 * from what the script read back. Sets *tree (nothing sent to Redis yet)
 * when step_one_trip must take the request (a body of another shape, an
 * invalid step: their answers and errors are its), *again when the
 * two-trip save must. */
static int step_raw(zq_req *req, const zq_form *f, const zq_step *st, bool *tree, bool *again)
{
    zq_schema_opts o = schema_opts(req);
    zq_jsonq_member m[STEP_MAX];
    zq_step_save in = {0};
    step_lists lists, *l = &lists;
    zq_buf tmp = {0};
    json_t *none = NULL; /* no errors: the step is valid */
    char mobile[12];
    int n, rc = 0;

    *tree = true;
    *again = false;
    memset(&l->vals, 0, sizeof(l->vals));
    if (!body_is_json(req) ||
        (n = zq_jsonq_members(req->body, req->body_len, "answers", m, STEP_MAX, &tmp)) < 0)
        goto out;
    /* The list's usual size at once: ids, values and new lines. */
    zq_buf_reserve(&l->vals, req->body_len + 64);
    rc = zq_step_validate_raw(schema_of(req), st, m, (size_t)n, &o, &l->vals, mobile);
    if (rc < 0) {
        if (rc == -ZQ_EINVAL)
            rc = 0;
        goto out;
    }
    step_save_init(req, f, st, &in);
    in.write = true;
    in.mobile = mobile[0] != '\0' ? mobile : NULL;
    if ((rc = step_lists_fill(f, st, NULL, l, &in)) < 0) {
        if (rc == -ZQ_ETOOBIG)
            rc = 0;
        goto out;
    }
    in.set_list = l->vals.data;
    *tree = false;
    rc = step_save(req, f, st, &in, l, NULL, NULL, &none, again);
out:
    zq_buf_free(&tmp);
    zq_buf_free(&l->vals);
    return rc;
}

/* The step's body, read quickly when it has the common shape (jansson
 * otherwise): a new reference, or NULL when it is not a JSON object sent
 * as one (the two-trip save answers then, after the session's checks). */
static json_t *step_body(zq_req *req)
{
    json_t *j;

    if (!body_is_json(req))
        return NULL;
    if ((j = zq_jsonq_parse(req->body, req->body_len)) == NULL && zq_req_json(req, &j) == 0)
        json_incref(j);
    return j;
}

int zq_h_intake_step(zq_req *req)
{
    const zq_form *f = zq_intake_form_param(req);
    const zq_step *st;
    json_t *body = NULL, *input;
    bool again = true, tree = true;
    int rc = 0;

    if (f == NULL)
        return 0;
    st = zq_form_step(f, req->params[1]);
    if (st == NULL) {
        zq_resp_error(req, 404, "unknown_step", "没有这个填写步骤。");
        return 0;
    }
    if (zq_step_plain(schema_of(req), f, st)) {
        rc = step_raw(req, f, st, &tree, &again);
        again = again || tree;
    }
    if (rc == 0 && tree && zq_step_standalone(schema_of(req), f, st) &&
        (body = step_body(req)) != NULL && json_is_object(input = json_object_get(body, "answers")))
        rc = step_one_trip(req, f, st, input, &again);
    json_decref(body);
    if (rc < 0 || !again)
        return rc;
    return step_two_trips(req, f, st);
}

/* The limits and calendar deadlines are computed with. */
static const zq_calendar *calendar_of(zq_req *req)
{
    return req->app ? req->app->calendar : NULL;
}

/* Answers with the case's public view, the deadline running now; 409
 * instead when the case was submitted by another than owner (a key
 * replayed from another session must not show someone else's case). */
static int respond_case(zq_req *req, const char *id, int status, const char *owner)
{
    zq_wf_limits lim;
    zq_case c;
    zq_err err = {0};
    json_t *pub;
    int rc = zq_case_load(req->store, id, &c, &err);

    if (rc < 0) {
        if (rc != -ZQ_EUNAVAIL)
            ZQ_ERROR("event=case_reload_failed id=%s err=\"%s\"", id, err.msg);
        return rc == -ZQ_EUNAVAIL ? rc : -ZQ_EREPLY;
    }
    if (!zq_case_owner_matches(&c, owner)) {
        ZQ_WARN("event=idempotency_key_other_session id=%s", id);
        zq_resp_error(req, 409, "idempotency_key_conflict",
                      "该提交标识（Idempotency-Key）已在另一次填写中使用，请刷新页面后重新提交。");
        zq_case_clear(&c);
        return 0;
    }
    zq_wf_limits_from_config(req->cfg, &lim);
    pub = zq_case_public_json_at(schema_of(req), calendar_of(req), &lim, &c, zq_date_today());
    /* Whether the complainant will get progress SMS: the success page
     * promises them only then. */
    if (pub != NULL)
        json_object_set_new(pub, "sms_progress",
                            json_boolean(req->cfg->events.sms_progress &&
                                         zq_sms_enabled(req->cfg) && c.mobile[0] != '\0'));
    zq_resp_json(req, status, json_pack("{s:o}", "case", pub));
    zq_case_clear(&c);
    return 0;
}

int zq_h_intake_submit(zq_req *req)
{
    const zq_form *f = zq_intake_form_param(req);
    const char *key = zq_req_header(req, "Idempotency-Key");
    const char *bad_step = NULL;
    zq_schema_opts o = schema_opts(req);
    json_t *errors = NULL, *answers, *visible = NULL, *merged = NULL, *pub = NULL;
    char *pub_s = NULL;
    zq_buf pending = {0};
    zq_case_new in;
    zq_err err = {0};
    char id[ZQ_CASE_ID_MAX], dup[ZQ_CASE_ID_MAX], owner[ZQ_CASE_OWNER_LEN + 1], client[80];
    bool created = false;
    zq_session s = {0};
    int rc;

    if (f == NULL)
        return 0;
    if (!zq_idem_key_valid_min(key, ZQ_IDEM_KEY_MIN_PUBLIC)) {
        zq_resp_error(req, 400, "missing_idempotency_key",
                      "缺少或无效的 Idempotency-Key 请求头（16 到 64 位字母、数字、- 或 _）。");
        return 0;
    }
    if ((rc = session_load(req, f, &s)) < 0)
        return rc;
    if (!s.exists) {
        zq_intake_no_session(req);
        goto out;
    }
    if (zq_intake_check_csrf(req, &s) < 0)
        goto out;
    zq_case_owner(s.sid, owner);
    /* A retry of a submission that already made a case gets that case,
     * even though its draft is gone. */
    rc = zq_case_find_idem(req->store, f->id, key, id, &err);
    if (rc == -ZQ_EUNAVAIL)
        goto out;
    if (rc == 0) {
        /* The first attempt may have got 503 because no replica confirmed
         * the case in time. session_load's EXPIRE was a write on this
         * connection after that case, so WAIT covers the case as well. */
        if ((rc = zq_store_wait(req->store, &err)) < 0) {
            ZQ_WARN("event=case_not_replicated id=%s err=\"%s\"", id, err.msg);
            goto out;
        }
        rc = respond_case(req, id, 200, owner);
        goto out;
    }
    rc = 0;
    if (s.draft == NULL) {
        zq_resp_error(req, 409, "no_draft", "没有可提交的内容，请重新填写。");
        goto out;
    }
    /* Only what the complainant can see goes into the case: a value left
     * behind by a field that a later answer hid is dropped. */
    merged = zq_files_merge(f, json_object_get(s.draft, "answers"), s.files);
    visible = merged ? zq_form_visible_answers(f, merged) : NULL;
    answers = visible;
    if (answers == NULL) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    if (zq_form_validate_all(schema_of(req), f, answers, &o, &errors, &bad_step) < 0) {
        json_t *e = json_pack("{s:{s:s, s:s, s:s, s:O}}", "error", "code", "validation_failed",
                              "message", "还有内容需要补充或修改。", "step",
                              bad_step ? bad_step : "", "fields", errors);
        zq_resp_json(req, 422, e);
        goto out;
    }
    /* Where the flow wants it, the mobile given must be the one this
     * session proved by SMS code: nobody files in another's number. */
    if (zq_verify_purpose_on(req, "submit", f)) {
        const char *m = json_string_value(json_object_get(answers, "mobile"));
        bool ok = false;

        if ((rc = zq_session_verified(req->store, s.sid, "submit", m, zq_now_ms(), &ok, &err)) <
            0) {
            rc = rc == -ZQ_EUNAVAIL ? rc : -ZQ_EREPLY;
            goto out;
        }
        if (!ok) {
            zq_resp_json(req, 422,
                         json_pack("{s:{s:s, s:s, s:s, s:{s:s}}}", "error", "code",
                                   "mobile_unverified", "message",
                                   "请先验证手机号码：获取短信验证码并填写后再提交。", "step",
                                   step_of_field(f, "mobile"), "fields", "mobile",
                                   "手机号码尚未验证，请点击“获取验证码”并填写短信验证码"));
            goto out;
        }
    }
    memset(&in, 0, sizeof(in));
    in.form = f;
    in.answers = answers;
    in.idem_key = key;
    in.owner = owner;
    in.source = "web";
    in.now_ms = zq_now_ms();
    in.idem_ttl_s = req->cfg->intake.idempotency_ttl_s;
    in.dup_window_days = req->cfg->intake.duplicate_window_days;
    /* An address that does not fit a key is not counted per client: the
     * mobile and code quotas still hold. */
    if (zq_client_key(req->remote_addr, client, sizeof(client)) == 0)
        in.client = client;
    in.quota_ip = req->cfg->intake.quota_ip;
    in.quota_mobile = req->cfg->intake.quota_mobile;
    in.quota_uscc = req->cfg->intake.quota_uscc;
    /* The uploads become the case's: off the list of abandoned ones. */
    zq_files_pending_members(f, answers, s.sid, &pending);
    if (pending.oom) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    in.files_pending = pending.data;
    pub = zq_files_public(f, answers);
    if (json_array_size(pub) > 0 && (pub_s = json_dumps(pub, JSON_COMPACT)) == NULL) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    in.files_pub = pub_s;
    rc = zq_case_create(req->store, &in, id, &created, dup, &err);
    if (rc == -ZQ_EBUSY) {
        char ra[16];
        ZQ_INFO("event=case_quota_full form=%s quota=%s", f->id, id);
        zq_resp_error(req, 429, "quota_exceeded", zq_case_quota_message(id));
        /* 1..86400 always fits. */
        if (zq_fmt(ra, sizeof(ra), "%d", zq_case_quota_retry_s(in.now_ms)) == 0)
            zq_resp_header(req, "Retry-After", ra);
        rc = 0;
        goto out;
    }
    if (rc == -ZQ_ECONFLICT) {
        /* Resumed on another device meanwhile: the uploads went there. */
        ZQ_INFO("event=case_refused form=%s reason=files_moved", f->id);
        zq_resp_error(req, 409, "files_moved",
                      "您已在其他设备上继续填写，已上传的文件也已转到那里。请在该设备上提交，"
                      "或刷新本页面后重新上传文件。");
        rc = 0;
        goto out;
    }
    if (rc < 0) {
        /* Redis away, refusing writes, or no replica in time: the case
         * may exist, and a retry with the same key returns it. Anything
         * else is 503 as well: a retry is what the client should do. */
        if (rc == -ZQ_EUNAVAIL)
            ZQ_WARN("event=case_create_unavailable form=%s err=\"%s\"", f->id, err.msg);
        else
            ZQ_ERROR("event=case_create_failed form=%s err=\"%s\"", f->id, err.msg);
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    ZQ_INFO("event=case_created id=%s form=%s created=%d dup_of=%s", id, f->id, created,
            dup[0] ? dup : "-");
    /* The draft has become the case; losing this delete is harmless. A
     * key that had made a case already leaves the draft alone: it may be
     * another session's key (respond_case refuses it then). */
    if (created)
        zq_session_drop_draft(req->store, s.sid, f->id, &err);
    rc = respond_case(req, id, created ? 201 : 200, owner);
out:
    json_decref(errors);
    json_decref(visible);
    json_decref(merged);
    json_decref(pub);
    free(pub_s);
    zq_buf_free(&pending);
    zq_session_clear(&s);
    return rc;
}

int zq_h_session(zq_req *req)
{
    zq_session s;
    zq_err err = {0};
    int rc = zq_session_load(req->store, zq_req_cookie(req, "zq_sid"), NULL,
                             req->cfg->intake.session_ttl_s, &s, &err);

    if (rc < 0)
        return rc;
    if (s.exists) {
        zq_resp_json(req, 200,
                     json_pack("{s:s, s:o}", "csrf", s.csrf, "verify", zq_verify_view(req)));
        return 0;
    }
    if ((rc = zq_session_new_ids(&s)) < 0 ||
        (rc = zq_session_create(req->store, &s, req->cfg->intake.session_ttl_s, &err)) < 0)
        return rc;
    zq_intake_set_cookie(req, s.sid);
    zq_resp_json(req, 201, json_pack("{s:s, s:o}", "csrf", s.csrf, "verify", zq_verify_view(req)));
    return 0;
}

int zq_h_intake_resume(zq_req *req)
{
    const zq_form *f = zq_intake_form_param(req);
    zq_session s = {0};
    zq_err err = {0};
    json_t *body, *draft = NULL;
    const char *mobile;
    char masked[32], from[ZQ_SESSION_HEX + 1] = "";
    zq_files_limits lim = {req->cfg->files.max_files, req->cfg->files.max_case_size};
    json_t *files = NULL, *view;
    bool ok = false;
    int rc, moved, left = 0;

    if (f == NULL)
        return 0;
    if ((rc = session_load(req, f, &s)) < 0)
        return rc;
    if (!s.exists) {
        zq_intake_no_session(req);
        goto out;
    }
    if (zq_intake_check_csrf(req, &s) < 0 || zq_req_json(req, &body) < 0 ||
        (mobile = zq_verify_mobile_param(req, body)) == NULL ||
        !zq_verify_require_on(req, "resume", f))
        goto out;
    if ((rc = zq_session_verified(req->store, s.sid, "resume", mobile, zq_now_ms(), &ok, &err)) < 0)
        goto fail;
    if (!ok) {
        zq_resp_error(req, 403, "mobile_unverified",
                      "请先获取短信验证码，验证该手机号码后再继续填写。");
        goto out;
    }
    if ((rc = zq_session_find_draft(req->store, f->id, mobile, &draft, from, &err)) < 0)
        goto fail;
    zq_mask_mobile(mobile, masked, sizeof(masked));
    if (draft == NULL || !json_is_object(draft)) {
        ZQ_INFO("event=draft_resume_none form=%s mobile=%s", f->id, masked);
        zq_resp_error(req, 404, "no_draft",
                      "没有找到使用该手机号码填写中的内容，可能已提交或已超时，请重新填写。");
        goto out;
    }
    /* A copy: the other device keeps its draft too. This session now
     * holds the draft, and the number's index points here. */
    json_decref(s.draft);
    s.draft = draft;
    draft = NULL;
    if ((rc = session_save(req, f, &s, false)) < 0)
        goto fail;
    /* The uploads come along: moved, not copied, so that each file is
     * named by one draft and swept with that one only. */
    if ((moved = zq_files_take(req->store, f->id, from, s.sid, &lim, req->cfg->intake.session_ttl_s,
                               zq_now_ms(), &left, &files, &err)) < 0) {
        rc = moved;
        goto fail;
    }
    if (files != NULL) {
        json_decref(s.files);
        s.files = files;
    }
    /* The code just proved the number: submitting it needs no second SMS. */
    if ((rc = zq_session_mark_verified(
             req->store, s.sid, "submit", mobile,
             zq_now_ms() + (int64_t)req->cfg->verify.verified_ttl_s * 1000, &err)) < 0 &&
        rc != -ZQ_ENOTFOUND)
        goto fail;
    rc = 0;
    ZQ_INFO("event=draft_resumed form=%s mobile=%s files_moved=%d files_left=%d", f->id, masked,
            moved, left);
    view = with_verify(req, f, draft_view(f, &s));
    if (view != NULL && left > 0)
        json_object_set_new(view, "files_left", json_integer(left));
    zq_resp_json(req, 200, view);
    goto out;
fail:
    rc = rc == -ZQ_EUNAVAIL ? rc : -ZQ_EREPLY;
out:
    json_decref(draft);
    zq_session_clear(&s);
    return rc;
}

/* The mobile of a lookup body of the one shape clients send,
 * {"mobile":"..."} (spaces allowed, no escapes), read without a parse:
 * a new string, or NULL for any other body, which zq_req_json then reads
 * with its own errors (415, 400). Only a body jansson would read the same
 * way takes this path. */
static json_t *lookup_body_mobile(zq_req *req)
{
    static const char key[] = "\"mobile\"";
    const char *ct = zq_req_header(req, "Content-Type"), *s = req->body, *v;
    size_t n = req->body_len, i = 0, vlen;

    if (ct == NULL || strncmp(ct, "application/json", 16) != 0 || (ct[16] != '\0' && ct[16] != ';'))
        return NULL;
    if (s == NULL || !zq_utf8_valid(s, n))
        return NULL;
    i = zq_json_ws(s, n, i);
    if (i >= n || s[i] != '{')
        return NULL;
    i = zq_json_ws(s, n, i + 1);
    if (n - i < sizeof(key) - 1 || memcmp(s + i, key, sizeof(key) - 1) != 0)
        return NULL;
    i = zq_json_ws(s, n, i + sizeof(key) - 1);
    if (i >= n || s[i] != ':')
        return NULL;
    i = zq_json_ws(s, n, i + 1);
    if (i >= n || s[i] != '"')
        return NULL;
    v = s + ++i;
    while (i < n && s[i] != '"' && s[i] != '\\' && (unsigned char)s[i] >= 0x20)
        i++;
    if (i >= n || s[i] != '"')
        return NULL;
    vlen = (size_t)(s + i - v);
    i = zq_json_ws(s, n, i + 1);
    if (i >= n || s[i] != '}' || zq_json_ws(s, n, i + 1) != n)
        return NULL;
    return json_stringn(v, vlen);
}

int zq_h_case_lookup(zq_req *req)
{
    zq_schema_opts o = schema_opts(req);
    json_t *body = NULL, *norm = NULL, *raw = lookup_body_mobile(req);
    zq_lookup_in in;
    zq_wf_limits lim;
    zq_err err = {0};
    const char *msg;
    char ra[16], who[80];
    int rc, retry_s = 0;

    if (raw == NULL) {
        if (zq_req_json(req, &body) < 0)
            return 0;
        raw = json_incref(json_object_get(body, "mobile"));
    }
    if (zq_lookup_mobile(schema_of(req), &o, raw, &norm, &msg) < 0) {
        zq_resp_error_fields(req, 422, "validation_failed", "请检查手机号码。",
                             json_pack("{s:s}", "mobile", msg));
        rc = 0;
        goto out;
    }
    zq_wf_limits_from_config(req->cfg, &lim);
    memset(&in, 0, sizeof(in));
    in.id = req->params[0];
    in.mobile = json_string_value(norm);
    /* An IPv6 client is counted by its /64; an address that does not fit
     * is counted as one unknown asker with all the others. */
    if (zq_client_key(req->remote_addr, who, sizeof(who)) < 0)
        memcpy(who, "-", 2);
    in.who = who;
    in.per_minute = req->cfg->intake.lookup_per_minute;
    in.fail_max = req->cfg->intake.lookup_fail_max;
    in.lockout_s = req->cfg->intake.lookup_lockout_s;
    in.now_ms = zq_now_ms();
    in.schema = schema_of(req);
    in.cal = calendar_of(req);
    in.lim = &lim;
    /* The view goes straight into the answer's body: no tree to build,
     * dump and free on this hot path. */
    zq_buf_reset(&req->body_out);
    ZQ_JSONW_LIT(&req->body_out, "{\"case\":");
    rc = zq_lookup_case_write(req->store, &in, &req->body_out, &retry_s, &err);
    if (rc == -ZQ_EBUSY || rc == -ZQ_ECONFLICT) {
        char m[256];
        if (rc == -ZQ_EBUSY)
            zq_resp_error(req, 429, "rate_limited", "查询过于频繁，请稍后再试。");
        else
            zq_resp_error(req, 429, "lookup_locked",
                          zq_resp_msgf(m, sizeof(m),
                                       "该案件的查询因多次手机号码不符已暂时锁定，请稍后再试。",
                                       "该案件的查询因多次手机号码不符已暂时锁定，请在约 %d "
                                       "分钟后再试。",
                                       (retry_s + 59) / 60));
        /* A number always fits; were it cut, no Retry-After beats a wrong one. */
        if (zq_fmt(ra, sizeof(ra), "%d", retry_s > 0 ? retry_s : 1) == 0)
            zq_resp_header(req, "Retry-After", ra);
        rc = 0;
    } else if (rc == -ZQ_ENOTFOUND) {
        zq_resp_error(req, 404, "not_found", "未找到该案件，请核对案件编号和手机号码。");
        rc = 0;
    } else if (rc == 0) {
        ZQ_JSONW_LIT(&req->body_out, "}");
        req->status = 200;
        req->content_type = "application/json; charset=utf-8";
        req->responded = true;
    }
out:
    json_decref(raw);
    json_decref(norm);
    return rc;
}

int zq_h_classes(zq_req *req)
{
    zq_err err = {0};
    json_t *list;
    int rc = zq_classes_public(req->store, zq_now_ms(), 24, &list, &err);

    if (rc < 0)
        return rc;
    zq_resp_json(req, 200, json_pack("{s:o}", "classes", list));
    return 0;
}

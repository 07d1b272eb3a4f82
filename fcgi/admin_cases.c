/* The staff API for cases: list, detail, transitions, notes, assignment,
 * extensions, exports, statistics, digest, audit. Every handler starts
 * with zq_req_require_staff; every action that reads personal data or
 * changes a case is written to the audit stream. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/app.h"
#include "http.h"
#include "zhuqi/log.h"
#include "admin_cases.h"
#include "zhuqi/staff.h"
#include "zhuqi/workflow.h"

#define REASON_MAX 500

/* "Now" for the workflow: the clock, or in test setups (debug_routes)
 * the X-Debug-Now-Ms header, so that deadlines across holidays can be
 * tested end to end. */
static int64_t now_ms(zq_req *req)
{
    const char *h = zq_req_header(req, "X-Debug-Now-Ms");
    long long v;

    if (req->cfg->server.debug_routes && h != NULL &&
        zq_parse_ll(h, strlen(h), 946684800000LL, 4102444800000LL, &v) == 0)
        return v;
    return zq_now_ms();
}

static void staff_ctx(zq_req *req, zq_staff_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->schema = req->app ? req->app->schema : NULL;
    ctx->cal = req->app ? req->app->calendar : NULL;
    zq_wf_limits_from_config(req->cfg, &ctx->lim);
    ctx->today = zq_wf_date_of_ms(now_ms(req));
}

static bool is_loopback(const char *a)
{
    return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0 || strcmp(a, "unix:") == 0;
}

/* The client's address: REMOTE_ADDR, or the last X-Forwarded-For hop
 * when REMOTE_ADDR is a proxy on this host (nginx passes the real client
 * as REMOTE_ADDR; a header from anyone else is not believed). */
static const char *client_addr(zq_req *req)
{
    const char *xff = zq_req_header(req, "X-Forwarded-For");
    const char *last;
    size_t n;
    char *out;

    if (xff == NULL || !is_loopback(req->remote_addr))
        return req->remote_addr;
    last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ')
        last++;
    n = strcspn(last, " ");
    if (n == 0 || n > 45 || strspn(last, "0123456789abcdefABCDEF:.") < n)
        return req->remote_addr;
    out = zq_pool_strndup(&req->pool, last, n);
    return out ? out : req->remote_addr;
}

static void audit_init(zq_req *req, const zq_token *who, const char *action, const char *target,
                       zq_audit *a)
{
    memset(a, 0, sizeof(*a));
    a->who = who ? who->name : "-";
    a->role = who ? zq_role_name(who->role) : "-";
    a->action = action;
    a->target = target ? target : "";
    a->addr = client_addr(req);
    a->rid = req->request_id;
    a->at_ms = now_ms(req);
}

/* Writes an audit entry; a failure is logged, not shown (the action
 * itself already happened or was only a read). */
static void audit(zq_req *req, const zq_token *who, const char *action, const char *target,
                  const char *detail)
{
    zq_audit a;
    zq_err err = {0};

    audit_init(req, who, action, target, &a);
    a.detail = detail;
    if (zq_audit_write(req->store, &a, &err) < 0)
        ZQ_ERROR("event=audit_failed action=%s err=\"%s\"", action, err.msg);
}

static const char *query_get(void *ctx, const char *name)
{
    return zq_req_query(ctx, name);
}

/* Parses the list filters; 400 with the parameter named on error. */
static int parse_filter(zq_req *req, const zq_staff_ctx *ctx, zq_case_filter *f)
{
    const char *param = NULL, *msg = NULL;

    if (zq_case_filter_parse(f, query_get, req, ctx->schema, &param, &msg) < 0) {
        zq_resp_error_fields(req, 400, "bad_filter", msg, json_pack("{s:s}", param, msg));
        return -ZQ_EINVAL;
    }
    return 0;
}

/* A filter as text for the audit log. */
static char *filter_text(const zq_case_filter *f, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz,
             "type=%s status=%s region=%s handler=%s from_ms=%lld to_ms=%lld "
             "overdue=%d q=%s",
             f->type, f->status, f->region, f->handler, (long long)f->from_ms, (long long)f->to_ms,
             f->overdue, f->q);
    return buf;
}

int zq_h_admin_me(zq_req *req)
{
    const zq_token *who;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, &who) < 0)
        return 0;
    audit(req, who, "sign_in", "", NULL);
    zq_resp_json(req, 200,
                 json_pack("{s:s, s:s}", "name", who->name, "role", zq_role_name(who->role)));
    return 0;
}

int zq_h_admin_workflow(zq_req *req)
{
    zq_staff_ctx ctx;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, NULL) < 0)
        return 0;
    staff_ctx(req, &ctx);
    zq_resp_json(req, 200,
                 json_pack("{s:o, s:{s:i, s:i, s:i, s:i}}", "machines", zq_wf_machines_json(),
                           "limits", "review_workdays", ctx.lim.review_workdays,
                           "transfer_workdays", ctx.lim.transfer_workdays, "answer_days",
                           ctx.lim.answer_days, "answer_max_days", ctx.lim.answer_max_days));
    return 0;
}

int zq_h_admin_cases(zq_req *req)
{
    char(*ids)[ZQ_CASE_ID_MAX] = NULL;
    const char *cs = zq_req_query(req, "cursor"), *ls = zq_req_query(req, "limit");
    zq_case_row *rows = NULL;
    zq_case_filter f;
    zq_staff_ctx ctx;
    zq_staff_memo memo = {{{0}}};
    zq_cursor cur = {0};
    zq_err err = {0};
    long long limit = 50;
    zq_buf body = {0};
    bool done = false, first;
    int n = 0, got, i, calls, rc = 0;
    char next[64];

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, NULL) < 0)
        return 0;
    staff_ctx(req, &ctx);
    ctx.memo = &memo;
    if (parse_filter(req, &ctx, &f) < 0)
        return 0;
    if (ls != NULL && zq_parse_ll(ls, strlen(ls), 1, ZQ_STAFF_PAGE_MAX, &limit) < 0) {
        zq_resp_error_fields(req, 400, "bad_filter", "每页条数应为 1 到 200 之间的整数。",
                             json_pack("{s:s}", "limit", "每页条数应为 1 到 200 之间的整数。"));
        return 0;
    }
    if (cs != NULL && *cs != '\0' && zq_cursor_parse(cs, &cur) < 0) {
        zq_resp_error_fields(req, 400, "bad_cursor", "翻页参数无效，请从第一页重新查询。",
                             json_pack("{s:s}", "cursor", "翻页参数无效"));
        return 0;
    }
    ids = malloc((size_t)limit * sizeof(*ids));
    rows = calloc((size_t)limit, sizeof(*rows));
    if (ids == NULL || rows == NULL) {
        zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
        goto out;
    }
    /* A sparse filter may need several budgeted steps to fill a page. */
    for (calls = 0; calls < 10 && !done && n < limit; calls++) {
        rc = zq_staff_scan(req->store, &ctx, &f, &cur, (int)limit - n, 20000, ZQ_SCAN_LIST, ids + n,
                           rows + n, &got, &done, &err);
        if (rc < 0)
            break;
        n += got;
    }
    if (rc == -ZQ_EUNAVAIL) {
        zq_resp_unavailable(req);
        goto out;
    }
    if (rc < 0) {
        ZQ_ERROR("event=admin_list_failed err=\"%s\"", err.msg);
        zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
        goto out;
    }
    /* Written directly, into room for the whole page (a row is some 800
     * bytes): the list is the console's hottest path. */
    zq_buf_reserve(&body, (size_t)n * 1024 + 128);
    zq_buf_puts(&body, "{\"cases\":[");
    for (i = 0, first = true; i < n; i++) {
        if (!rows[i].found)
            continue;
        if (!first)
            zq_buf_append(&body, ",", 1);
        first = false;
        zq_staff_row_write(&body, &ctx, &rows[i], true, false);
    }
    if (!done) {
        zq_cursor_format(&cur, next);
        zq_buf_printf(&body, "],\"next_cursor\":\"%s\",\"limit\":%lld}", next, limit);
    } else {
        zq_buf_printf(&body, "],\"next_cursor\":null,\"limit\":%lld}", limit);
    }
    if (body.oom)
        zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
    else
        zq_resp_raw(req, 200, "application/json; charset=utf-8", body.data, body.len);
out:
    if (rows != NULL)
        for (i = 0; i < n; i++)
            zq_case_row_clear(&rows[i]);
    zq_buf_free(&body);
    free(rows);
    free(ids);
    return 0;
}

/* ---- export ---------------------------------------------------------------- */

typedef struct export_ctx {
    zq_req *req;
    zq_export_format fmt;
} export_ctx;

static int export_begin(void *p)
{
    export_ctx *e = p;
    char disp[128], day[ZQ_DATE_STRLEN];
    zq_date today = zq_wf_date_of_ms(now_ms(e->req));

    zq_date_format(today, day, sizeof(day));
    snprintf(disp, sizeof(disp), "attachment; filename=\"cases-%s.%s\"", day,
             e->fmt == ZQ_EXPORT_CSV ? "csv" : "jsonl");
    zq_resp_header(e->req, "Content-Disposition", disp);
    return zq_resp_stream_begin(e->req, 200,
                                e->fmt == ZQ_EXPORT_CSV ? "text/csv; charset=utf-8"
                                                        : "application/x-ndjson; charset=utf-8");
}

static int export_write(void *p, const void *data, size_t len)
{
    export_ctx *e = p;
    return zq_resp_stream_write(e->req, data, len);
}

static void export(zq_req *req, zq_export_format fmt)
{
    const zq_token *who;
    zq_case_filter f;
    zq_staff_ctx ctx;
    export_ctx ec = {req, fmt};
    zq_export_sink sink = {export_begin, export_write, &ec};
    zq_err err = {0};
    long long rows = 0;
    char detail[512], ftxt[400];
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, &who) < 0)
        return;
    staff_ctx(req, &ctx);
    if (parse_filter(req, &ctx, &f) < 0)
        return;
    rc = zq_staff_export(req->store, &ctx, &f, fmt, &sink, &rows, &err);
    if (!req->responded) {
        if (rc == -ZQ_EUNAVAIL)
            zq_resp_unavailable(req);
        else
            zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
    }
    snprintf(detail, sizeof(detail), "format=%s rows=%lld ok=%d %s",
             fmt == ZQ_EXPORT_CSV ? "csv" : "jsonl", rows, rc == 0,
             filter_text(&f, ftxt, sizeof(ftxt)));
    audit(req, who, "export", "", detail);
    ZQ_INFO("event=export staff=%s format=%s rows=%lld rc=%d", who->name,
            fmt == ZQ_EXPORT_CSV ? "csv" : "jsonl", rows, rc);
}

int zq_h_admin_cases_csv(zq_req *req)
{
    export(req, ZQ_EXPORT_CSV);
    return 0;
}

int zq_h_admin_cases_jsonl(zq_req *req)
{
    export(req, ZQ_EXPORT_JSONL);
    return 0;
}

/* ---- one case ------------------------------------------------------------- */

/* A loaded case for the detail view and the actions. */
typedef struct loaded {
    zq_case_row row;
    json_t *log;   /* history, owned */
    json_t *notes; /* owned */
} loaded;

static void loaded_clear(loaded *l)
{
    zq_case_row_clear(&l->row);
    json_decref(l->log);
    json_decref(l->notes);
    l->log = l->notes = NULL;
}

/* Loads the case named by the first route parameter. Returns 0, or a
 * negative code after having answered 404 or 503. */
static int load_case(zq_req *req, loaded *l, bool notes)
{
    char ids[1][ZQ_CASE_ID_MAX];
    const char *id = req->params[0];
    zq_err err = {0};
    int rc;

    memset(l, 0, sizeof(*l));
    if (id == NULL || strlen(id) >= ZQ_CASE_ID_MAX || !zq_case_id_valid(id)) {
        zq_resp_error(req, 404, "not_found", "没有这个案件。");
        return -ZQ_ENOTFOUND;
    }
    snprintf(ids[0], sizeof(ids[0]), "%s", id);
    rc = zq_staff_fetch_rows(req->store, ids, 1, true, &l->row, &err);
    if (rc == 0 && l->row.found)
        rc = zq_staff_load_list(req->store, id, "log", ZQ_STAFF_HISTORY_MAX, &l->log, &err);
    if (rc == 0 && l->row.found && notes)
        rc = zq_staff_load_list(req->store, id, "notes", ZQ_STAFF_NOTES_MAX, &l->notes, &err);
    if (rc < 0) {
        loaded_clear(l);
        zq_resp_unavailable(req);
        return rc;
    }
    if (!l->row.found) {
        loaded_clear(l);
        zq_resp_error(req, 404, "not_found", "没有这个案件。");
        return -ZQ_ENOTFOUND;
    }
    if (l->notes == NULL)
        l->notes = json_array();
    return 0;
}

static const char *status_label_of(const char *form, const char *status)
{
    const zq_wf_status *s = zq_wf_status_find(zq_wf_machine_for(form), status);
    return s ? s->label : zq_case_status_label(status);
}

/* The history for staff: every entry with its time and labels. */
static json_t *history_json(const loaded *l)
{
    json_t *out = json_array(), *e;
    size_t i;

    json_array_foreach(l->log, i, e)
    {
        json_t *c = json_deep_copy(e);
        json_t *at = json_object_get(e, "at_ms");
        const char *from = json_string_value(json_object_get(e, "from"));
        const char *to = json_string_value(json_object_get(e, "to"));
        char iso[32];

        if (c == NULL)
            continue;
        zq_time_iso(json_is_integer(at) ? json_integer_value(at) : 0, iso);
        json_object_set_new(c, "at", json_string(iso));
        if (json_object_get(c, "kind") == NULL)
            json_object_set_new(c, "kind", json_string("status"));
        if (from != NULL && *from != '\0')
            json_object_set_new(c, "from_label", json_string(status_label_of(l->row.form, from)));
        if (to != NULL)
            json_object_set_new(c, "to_label", json_string(status_label_of(l->row.form, to)));
        json_array_append_new(out, c);
    }
    return out;
}

static json_t *notes_json(const loaded *l)
{
    json_t *out = json_array(), *e;
    size_t i;

    json_array_foreach(l->notes, i, e)
    {
        json_t *c = json_deep_copy(e);
        json_t *at = json_object_get(e, "at_ms");
        char iso[32];

        if (c == NULL)
            continue;
        zq_time_iso(json_is_integer(at) ? json_integer_value(at) : 0, iso);
        json_object_set_new(c, "at", json_string(iso));
        json_array_append_new(out, c);
    }
    return out;
}

/* The answers grouped by step with labels and display values. */
static json_t *fields_json(const zq_schema *s, const zq_case_row *r)
{
    const zq_form *f = s ? zq_schema_form(s, r->form) : NULL;
    json_t *out = json_array();
    size_t i, j;

    if (f == NULL)
        return out;
    for (i = 0; i < f->nsteps; i++) {
        const zq_step *st = &f->steps[i];
        json_t *items = json_array();

        for (j = 0; j < st->nfields; j++) {
            json_t *v = json_object_get(r->answers, st->fields[j].id);
            char *disp;
            if (v == NULL)
                continue;
            disp = json_is_null(v) ? NULL : zq_field_display(s, &st->fields[j], v, false);
            json_array_append_new(items,
                                  json_pack("{s:s, s:s, s:s}", "id", st->fields[j].id, "label",
                                            st->fields[j].label, "value", disp ? disp : ""));
            free(disp);
        }
        if (json_array_size(items) > 0)
            json_array_append_new(out, json_pack("{s:s, s:s, s:o}", "step", st->id, "title",
                                                 st->title, "fields", items));
        else
            json_decref(items);
    }
    return out;
}

/* The deadline from the history: the authoritative computation. */
static void case_deadline(const zq_staff_ctx *ctx, const loaded *l, zq_deadline *d)
{
    zq_wf_deadline(ctx->cal, &ctx->lim, l->row.form, l->row.status, l->log, l->row.created_ms, d);
}

static json_t *detail_json(const zq_staff_ctx *ctx, const loaded *l, const zq_token *who)
{
    const zq_wf_machine *m = zq_wf_machine_for(l->row.form);
    const zq_wf_status *st = zq_wf_status_find(m, l->row.status);
    json_t *o = zq_staff_row_json(ctx, &l->row, false);
    zq_deadline d;

    if (o == NULL)
        return NULL;
    case_deadline(ctx, l, &d);
    json_object_set_new(o, "deadline",
                        zq_wf_deadline_json(ctx->cal, &d, l->row.status, ctx->today));
    json_object_set(o, "answers", l->row.answers);
    json_object_set_new(o, "fields", fields_json(ctx->schema, &l->row));
    json_object_set_new(o, "history", history_json(l));
    json_object_set_new(o, "notes", notes_json(l));
    json_object_set_new(o, "allowed_moves", zq_wf_moves_json(m, l->row.status, who->role));
    json_object_set_new(
        o, "extension",
        json_pack("{s:b, s:i, s:i, s:i}", "allowed",
                  st != NULL && st->clock == ZQ_WF_CLOCK_ANSWER && who->role >= ZQ_ROLE_HANDLER,
                  "current_days", d.clock == ZQ_WF_CLOCK_ANSWER ? d.limit : 0, "min_days",
                  ctx->lim.answer_days + 1, "max_days", ctx->lim.answer_max_days));
    return o;
}

int zq_h_admin_case(zq_req *req)
{
    const zq_token *who;
    zq_staff_ctx ctx;
    loaded l;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, &who) < 0)
        return 0;
    staff_ctx(req, &ctx);
    if (load_case(req, &l, true) < 0)
        return 0;
    audit(req, who, "case_view", l.row.id, NULL);
    zq_resp_json(req, 200, json_pack("{s:o}", "case", detail_json(&ctx, &l, who)));
    loaded_clear(&l);
    return 0;
}

/* Answers with the case as it is now (after a change). */
static void respond_fresh(zq_req *req, const zq_staff_ctx *ctx, const zq_token *who, int status)
{
    loaded l;

    if (load_case(req, &l, true) < 0)
        return;
    zq_resp_json(req, status, json_pack("{s:o}", "case", detail_json(ctx, &l, who)));
    loaded_clear(&l);
}

/* 409 with the moves allowed from the current status. */
static void conflict(zq_req *req, const char *form, const char *status, const zq_token *who,
                     const char *message)
{
    json_t *moves = zq_wf_moves_json(zq_wf_machine_for(form), status, who->role);

    zq_resp_json(req, 409,
                 json_pack("{s:{s:s, s:s, s:s, s:s, s:o}}", "error", "code", "illegal_transition",
                           "message", message, "status", status, "status_label",
                           status_label_of(form, status), "allowed", moves));
}

/* A text member of the body: NULL when absent or null; -1 after a 422
 * when it is not a string or too long. */
static int body_text(zq_req *req, json_t *body, const char *key, size_t max_chars,
                     const char *label, const char **out)
{
    json_t *v = json_object_get(body, key);
    char msg[160];

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        snprintf(msg, sizeof(msg), "%s应为文字。", label);
        zq_resp_error_fields(req, 422, "validation_failed", msg, json_pack("{s:s}", key, msg));
        return -1;
    }
    if (zq_utf8_chars(json_string_value(v), json_string_length(v)) > max_chars) {
        snprintf(msg, sizeof(msg), "%s最多 %zu 个字。", label, max_chars);
        zq_resp_error_fields(req, 422, "validation_failed", msg, json_pack("{s:s}", key, msg));
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/* Reads the JSON object body; -1 after an error answer. */
static int body_object(zq_req *req, json_t **body)
{
    if (zq_req_json(req, body) < 0)
        return -1;
    if (!json_is_object(*body)) {
        json_decref(*body);
        *body = NULL;
        zq_resp_error(req, 400, "malformed_json", "请求内容应为 JSON 对象。");
        return -1;
    }
    return 0;
}

static void update_failed(zq_req *req, int rc, const zq_err *err, const loaded *l,
                          const zq_token *who)
{
    char cur[24];

    if (rc == -ZQ_EUNAVAIL) {
        zq_resp_unavailable(req);
    } else if (rc == -ZQ_ENOTFOUND) {
        zq_resp_error(req, 404, "not_found", "没有这个案件。");
    } else if (rc == -ZQ_ECONFLICT) {
        /* Someone else changed it meanwhile: show what is allowed now. */
        loaded now;
        if (load_case(req, &now, false) < 0)
            return;
        snprintf(cur, sizeof(cur), "%s", now.row.status);
        conflict(req, now.row.form, cur, who, "案件已被他人更新，请刷新后重试。");
        loaded_clear(&now);
    } else {
        ZQ_ERROR("event=case_update_failed id=%s err=\"%s\"", l->row.id, err->msg);
        zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
    }
}

/* The request's Idempotency-Key for who's action on the case of the
 * route (docs/STAFF.md). Returns 0 with *key the key (NULL when none) when
 * the change is to be made, 1 when it was already made with this key
 * (*val, when not NULL, gets the recorded value: free()), or -1 after
 * having answered 400 or 503. */
static int idem_check(zq_req *req, const zq_token *who, const char *action, const char **key,
                      char **val)
{
    const char *k = zq_req_header(req, "Idempotency-Key");
    const char *id = req->params[0];
    zq_err err = {0};
    int rc;

    *key = NULL;
    if (val != NULL)
        *val = NULL;
    if (k == NULL)
        return 0;
    if (!zq_idem_key_valid(k)) {
        zq_resp_error(req, 400, "bad_idempotency_key",
                      "Idempotency-Key 应为 8 到 64 位字母、数字、- 或 _。");
        return -1;
    }
    /* An unknown case id is answered 404 by the handler itself. */
    if (id == NULL || strlen(id) >= ZQ_CASE_ID_MAX || !zq_case_id_valid(id))
        return 0;
    rc = zq_staff_idem_find(req->store, who->name, action, id, k, val, &err);
    if (rc == -ZQ_EINVAL) {
        zq_resp_error(req, 400, "bad_idempotency_key", "Idempotency-Key 无法使用。");
        return -1;
    }
    if (rc < 0) {
        zq_resp_unavailable(req);
        return -1;
    }
    *key = k;
    if (rc == 1)
        ZQ_INFO("event=idempotent_replay action=%s id=%s staff=%s", action, id, who->name);
    return rc;
}

/* Answers a repeated change (same Idempotency-Key) as its first success. */
static void respond_replayed(zq_req *req, const zq_staff_ctx *ctx, const zq_token *who)
{
    respond_fresh(req, ctx, who, 200);
    if (req->status == 200)
        zq_resp_header(req, "Idempotent-Replayed", "true");
}

int zq_h_admin_case_transition(zq_req *req)
{
    const zq_token *who;
    const zq_wf_machine *m;
    const zq_wf_move *mv;
    const char *to, *note = NULL;
    json_t *body = NULL, *entry = NULL, *hist = NULL, *pub;
    zq_staff_ctx ctx;
    zq_deadline before, after;
    zq_case_update u;
    zq_audit a;
    zq_err err = {0};
    char detail[256], answered_ms[24], msg[200];
    const char *fields[8];
    int64_t now;
    const char *idem;
    bool public_note;
    loaded l;
    int rc, nf = 0;

    if (zq_req_require_staff(req, ZQ_ROLE_HANDLER, &who) < 0)
        return 0;
    staff_ctx(req, &ctx);
    rc = idem_check(req, who, "case_transition", &idem, NULL);
    if (rc != 0) {
        if (rc == 1)
            respond_replayed(req, &ctx, who);
        return 0;
    }
    now = now_ms(req);
    if (body_object(req, &body) < 0)
        return 0;
    to = json_string_value(json_object_get(body, "to"));
    if (to == NULL || !zq_wf_status_known(to)) {
        zq_resp_error_fields(req, 422, "validation_failed", "请选择要变更到的状态。",
                             json_pack("{s:s}", "to", "状态不正确"));
        goto out;
    }
    if (body_text(req, body, "note", ZQ_STAFF_NOTE_MAX, "说明", &note) < 0)
        goto out;
    pub = json_object_get(body, "public");
    if (pub != NULL && !json_is_boolean(pub) && !json_is_null(pub)) {
        zq_resp_error_fields(req, 422, "validation_failed", "public 应为 true 或 false。",
                             json_pack("{s:s}", "public", "应为 true 或 false"));
        goto out;
    }
    if (load_case(req, &l, false) < 0)
        goto out;
    m = zq_wf_machine_for(l.row.form);
    rc = zq_wf_check(m, l.row.status, to, who->role, note);
    if (rc == -ZQ_ECONFLICT) {
        snprintf(msg, sizeof(msg), "案件当前状态为“%s”，不能变更为“%s”。",
                 status_label_of(l.row.form, l.row.status), status_label_of(l.row.form, to));
        conflict(req, l.row.form, l.row.status, who, msg);
        goto done;
    }
    if (rc == -ZQ_EFORBIDDEN) {
        zq_resp_error(req, 403, "forbidden", "当前账号没有执行此操作的权限。");
        goto done;
    }
    if (rc == -ZQ_EINVAL) {
        zq_resp_error_fields(req, 422, "validation_failed", "这一操作需要填写理由或说明。",
                             json_pack("{s:s}", "note", "请填写理由或说明"));
        goto done;
    }
    mv = zq_wf_move_find(m, l.row.status, to);
    public_note = json_is_boolean(pub) ? json_is_true(pub) : mv->public_note;
    entry =
        json_pack("{s:I, s:s, s:s, s:s, s:s, s:b}", "at_ms", (json_int_t)now, "from", l.row.status,
                  "to", to, "by", who->name, "note", note ? note : "", "public", public_note);
    hist = json_copy(l.log);
    json_array_append(hist, entry);
    case_deadline(&ctx, &l, &before);
    zq_wf_deadline(ctx.cal, &ctx.lim, l.row.form, to, hist, l.row.created_ms, &after);
    if (strcmp(to, "answered") == 0) {
        zq_date answered = zq_wf_date_of_ms(now);
        snprintf(answered_ms, sizeof(answered_ms), "%lld", (long long)now);
        fields[nf++] = "answered_ms";
        fields[nf++] = answered_ms;
        fields[nf++] = "answered_on_time";
        fields[nf++] = before.clock == ZQ_WF_CLOCK_ANSWER
                           ? (zq_date_cmp(answered, before.due) <= 0 ? "1" : "0")
                           : "";
    }
    fields[nf] = NULL;
    snprintf(detail, sizeof(detail), "from=%s to=%s public=%d", l.row.status, to, public_note);
    audit_init(req, who, "case_transition", l.row.id, &a);
    a.detail = detail;
    memset(&u, 0, sizeof(u));
    u.id = l.row.id;
    u.expect_status = l.row.status;
    u.expect_loglen = (long long)json_array_size(l.log);
    u.new_status = to;
    u.log_entry = entry;
    u.due = &after;
    u.fields = fields;
    u.event = true;
    u.public_note = public_note && note ? note : "";
    u.audit = &a;
    u.now_ms = now;
    u.row = &l.row;
    u.idem_key = idem;
    rc = zq_staff_update(req->store, &u, NULL, &err);
    if (rc < 0) {
        update_failed(req, rc, &err, &l, who);
        goto done;
    }
    ZQ_INFO("event=case_transition id=%s from=%s to=%s staff=%s", l.row.id, l.row.status, to,
            who->name);
    respond_fresh(req, &ctx, who, 200);
done:
    loaded_clear(&l);
out:
    json_decref(body);
    json_decref(entry);
    json_decref(hist);
    return 0;
}

int zq_h_admin_case_note(zq_req *req)
{
    const zq_token *who;
    const char *text = NULL;
    json_t *body = NULL, *note = NULL;
    char *dump = NULL;
    zq_audit a;
    zq_err err = {0};
    const char *idem;
    char *done = NULL;
    int64_t now;
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_HANDLER, &who) < 0)
        return 0;
    rc = idem_check(req, who, "case_note", &idem, &done);
    if (rc != 0) {
        /* The note this key added, as its first answer gave it. */
        json_t *was = done ? json_loads(done, 0, NULL) : NULL;
        free(done);
        if (rc == 1 && json_is_object(was)) {
            zq_resp_json(req, 201, json_pack("{s:o}", "note", was));
            zq_resp_header(req, "Idempotent-Replayed", "true");
        } else if (rc == 1) {
            json_decref(was);
            zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
        }
        return 0;
    }
    now = now_ms(req);
    if (body_object(req, &body) < 0)
        return 0;
    if (body_text(req, body, "text", ZQ_STAFF_NOTE_MAX, "备注", &text) < 0)
        goto out;
    if (text == NULL || zq_utf8_chars(text, strlen(text)) < 1 ||
        strspn(text, " \t\r\n") == strlen(text)) {
        zq_resp_error_fields(req, 422, "validation_failed", "请填写备注内容。",
                             json_pack("{s:s}", "text", "请填写备注内容"));
        goto out;
    }
    if (req->params[0] == NULL || !zq_case_id_valid(req->params[0])) {
        zq_resp_error(req, 404, "not_found", "没有这个案件。");
        goto out;
    }
    note = json_pack("{s:I, s:s, s:s}", "at_ms", (json_int_t)now, "by", who->name, "text", text);
    dump = note ? json_dumps(note, JSON_COMPACT) : NULL;
    if (dump == NULL) {
        zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
        goto out;
    }
    audit_init(req, who, "case_note", req->params[0], &a);
    rc = zq_staff_add_note(req->store, req->params[0], dump, &a, idem, &err);
    if (rc == -ZQ_EUNAVAIL)
        zq_resp_unavailable(req);
    else if (rc == -ZQ_ENOTFOUND)
        zq_resp_error(req, 404, "not_found", "没有这个案件。");
    else if (rc == -ZQ_ETOOBIG)
        zq_resp_error(req, 409, "too_many_notes", "这个案件的备注已达上限。");
    else if (rc < 0)
        zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
    else
        zq_resp_json(req, 201, json_pack("{s:O}", "note", note));
out:
    free(dump);
    json_decref(note);
    json_decref(body);
    return 0;
}

/* True when name is a configured staff token allowed to handle cases. */
static bool handler_known(const zq_config *cfg, const char *name)
{
    int i;

    for (i = 0; i < cfg->staff.ntokens; i++)
        if (strcmp(cfg->staff.tokens[i].name, name) == 0 &&
            cfg->staff.tokens[i].role >= ZQ_ROLE_HANDLER)
            return true;
    return false;
}

/* An office code: a Sichuan division of the schema, or "510000". */
static bool office_ok(const zq_schema *s, const char *code)
{
    const zq_region *r;

    if (strcmp(code, "510000") == 0)
        return true;
    r = s ? zq_schema_region(s, code) : NULL;
    return r != NULL && r->sichuan;
}

int zq_h_admin_case_assign(zq_req *req)
{
    const zq_token *who;
    const zq_wf_machine *m;
    const char *handler = NULL, *office = NULL, *note = NULL, *new_status = NULL;
    json_t *body = NULL, *entry = NULL, *hist = NULL;
    char def_office[8], partner[8], detail[256], notebuf[300];
    const char *fields[8];
    zq_staff_ctx ctx;
    zq_deadline after;
    zq_case_update u;
    zq_audit a;
    zq_err err = {0};
    const char *idem;
    int64_t now;
    loaded l;
    int rc, nf = 0;

    if (zq_req_require_staff(req, ZQ_ROLE_HANDLER, &who) < 0)
        return 0;
    staff_ctx(req, &ctx);
    rc = idem_check(req, who, "case_assign", &idem, NULL);
    if (rc != 0) {
        if (rc == 1)
            respond_replayed(req, &ctx, who);
        return 0;
    }
    now = now_ms(req);
    if (body_object(req, &body) < 0)
        return 0;
    if (body_text(req, body, "handler", 63, "承办人", &handler) < 0 ||
        body_text(req, body, "office", 6, "承办单位", &office) < 0 ||
        body_text(req, body, "note", ZQ_STAFF_NOTE_MAX, "说明", &note) < 0)
        goto out;
    if (handler != NULL && *handler != '\0' && !handler_known(req->cfg, handler)) {
        zq_resp_error_fields(req, 422, "validation_failed", "没有这个承办人。",
                             json_pack("{s:s}", "handler", "承办人须为有办理权限的工作人员"));
        goto out;
    }
    if (office != NULL && *office != '\0' && !office_ok(ctx.schema, office)) {
        zq_resp_error_fields(
            req, 422, "validation_failed", "承办单位不正确。",
            json_pack("{s:s}", "office", "承办单位应为四川省内市（州）代码或 510000"));
        goto out;
    }
    if (load_case(req, &l, false) < 0)
        goto out;
    m = zq_wf_machine_for(l.row.form);
    zq_wf_default_office(l.row.form, l.row.answers, def_office, partner);
    if (office == NULL || *office == '\0')
        office = l.row.office[0] ? l.row.office : def_office;
    if (handler == NULL)
        handler = l.row.handler;
    /* A consultation waiting for assignment moves on with it. */
    if (*handler != '\0' && zq_wf_move_find(m, l.row.status, "assigned") != NULL &&
        zq_wf_check(m, l.row.status, "assigned", who->role, NULL) == 0)
        new_status = "assigned";
    snprintf(notebuf, sizeof(notebuf), "%s", note ? note : "");
    entry = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "kind",
                      new_status ? "status" : "assign", "at_ms", (json_int_t)now, "from",
                      l.row.status, "to", new_status ? new_status : l.row.status, "by", who->name,
                      "note", notebuf, "handler", handler, "office", office);
    if (new_status != NULL)
        json_object_set_new(entry, "public", json_false());
    hist = json_copy(l.log);
    json_array_append(hist, entry);
    zq_wf_deadline(ctx.cal, &ctx.lim, l.row.form, new_status ? new_status : l.row.status, hist,
                   l.row.created_ms, &after);
    fields[nf++] = "handler";
    fields[nf++] = handler;
    fields[nf++] = "office";
    fields[nf++] = office;
    fields[nf++] = "cross_region";
    fields[nf++] = partner;
    fields[nf] = NULL;
    snprintf(detail, sizeof(detail), "handler=%s office=%s cross_region=%s", handler, office,
             partner);
    audit_init(req, who, "case_assign", l.row.id, &a);
    a.detail = detail;
    memset(&u, 0, sizeof(u));
    u.id = l.row.id;
    u.expect_status = l.row.status;
    u.expect_loglen = (long long)json_array_size(l.log);
    u.new_status = new_status;
    u.log_entry = entry;
    u.due = &after;
    u.fields = fields;
    u.event = new_status != NULL;
    u.audit = &a;
    u.now_ms = now;
    u.row = &l.row;
    u.idem_key = idem;
    rc = zq_staff_update(req->store, &u, NULL, &err);
    if (rc < 0)
        update_failed(req, rc, &err, &l, who);
    else
        respond_fresh(req, &ctx, who, 200);
    loaded_clear(&l);
out:
    json_decref(body);
    json_decref(entry);
    json_decref(hist);
    return 0;
}

int zq_h_admin_case_extension(zq_req *req)
{
    const zq_token *who;
    const zq_wf_status *st;
    const char *reason = NULL;
    json_t *body = NULL, *entry = NULL, *hist = NULL, *days;
    char detail[128], msg[160];
    zq_staff_ctx ctx;
    zq_deadline after;
    zq_case_update u;
    zq_audit a;
    zq_err err = {0};
    int64_t now;
    const char *idem;
    long long n;
    loaded l;
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_HANDLER, &who) < 0)
        return 0;
    staff_ctx(req, &ctx);
    rc = idem_check(req, who, "case_extension", &idem, NULL);
    if (rc != 0) {
        if (rc == 1)
            respond_replayed(req, &ctx, who);
        return 0;
    }
    now = now_ms(req);
    if (body_object(req, &body) < 0)
        return 0;
    days = json_object_get(body, "days");
    n = json_is_integer(days) ? (long long)json_integer_value(days) : -1;
    if (n <= ctx.lim.answer_days || n > ctx.lim.answer_max_days) {
        snprintf(msg, sizeof(msg), "延长后的答复期限应为 %d 到 %d 天。", ctx.lim.answer_days + 1,
                 ctx.lim.answer_max_days);
        zq_resp_error_fields(req, 422, "validation_failed", msg, json_pack("{s:s}", "days", msg));
        goto out;
    }
    if (body_text(req, body, "reason", REASON_MAX, "延期理由", &reason) < 0)
        goto out;
    if (reason == NULL || zq_utf8_chars(reason, strlen(reason)) < 2) {
        zq_resp_error_fields(req, 422, "validation_failed", "延长答复期限须填写理由。",
                             json_pack("{s:s}", "reason", "请填写延期理由"));
        goto out;
    }
    if (load_case(req, &l, false) < 0)
        goto out;
    st = zq_wf_status_find(zq_wf_machine_for(l.row.form), l.row.status);
    if (st == NULL || st->clock != ZQ_WF_CLOCK_ANSWER) {
        conflict(req, l.row.form, l.row.status, who, "只有已转办或办理中的案件可以延长答复期限。");
        goto done;
    }
    entry = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:s}", "kind", "extension", "at_ms",
                      (json_int_t)now, "from", l.row.status, "to", l.row.status, "by", who->name,
                      "days", (json_int_t)n, "note", reason);
    hist = json_copy(l.log);
    json_array_append(hist, entry);
    zq_wf_deadline(ctx.cal, &ctx.lim, l.row.form, l.row.status, hist, l.row.created_ms, &after);
    snprintf(detail, sizeof(detail), "days=%lld", n);
    audit_init(req, who, "case_extension", l.row.id, &a);
    a.detail = detail;
    memset(&u, 0, sizeof(u));
    u.id = l.row.id;
    u.expect_status = l.row.status;
    u.expect_loglen = (long long)json_array_size(l.log);
    u.log_entry = entry;
    u.due = &after;
    u.audit = &a;
    u.now_ms = now;
    u.row = &l.row;
    u.idem_key = idem;
    rc = zq_staff_update(req->store, &u, NULL, &err);
    if (rc < 0)
        update_failed(req, rc, &err, &l, who);
    else
        respond_fresh(req, &ctx, who, 200);
done:
    loaded_clear(&l);
out:
    json_decref(body);
    json_decref(entry);
    json_decref(hist);
    return 0;
}

int zq_h_admin_stats(zq_req *req)
{
    zq_case_filter f;
    zq_staff_ctx ctx;
    zq_err err = {0};
    json_t *stats = NULL;
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, NULL) < 0)
        return 0;
    staff_ctx(req, &ctx);
    if (parse_filter(req, &ctx, &f) < 0)
        return 0;
    rc = zq_staff_stats(req->store, &ctx, &f, &stats, &err);
    if (rc == -ZQ_EUNAVAIL) {
        zq_resp_unavailable(req);
        return 0;
    }
    if (rc < 0) {
        ZQ_ERROR("event=stats_failed err=\"%s\"", err.msg);
        zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
        return 0;
    }
    zq_resp_json(req, 200, json_pack("{s:o}", "stats", stats));
    return 0;
}

int zq_h_admin_digest(zq_req *req)
{
    const char *ds = zq_req_query(req, "date"), *ws = zq_req_query(req, "within");
    zq_staff_ctx ctx;
    zq_err err = {0};
    json_t *digest = NULL;
    long long within = 2;
    char *text;
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, NULL) < 0)
        return 0;
    staff_ctx(req, &ctx);
    if (ds != NULL && *ds != '\0' && zq_date_parse(ds, strlen(ds), &ctx.today) < 0) {
        zq_resp_error_fields(req, 400, "bad_request", "日期格式应为 YYYY-MM-DD。",
                             json_pack("{s:s}", "date", "日期格式应为 YYYY-MM-DD"));
        return 0;
    }
    if (ws != NULL && zq_parse_ll(ws, strlen(ws), 0, 30, &within) < 0) {
        zq_resp_error_fields(req, 400, "bad_request", "within 应为 0 到 30 之间的整数。",
                             json_pack("{s:s}", "within", "应为 0 到 30 之间的整数"));
        return 0;
    }
    rc = zq_staff_digest(req->store, &ctx, (int)within, &digest, &err);
    if (rc == -ZQ_EUNAVAIL) {
        zq_resp_unavailable(req);
        return 0;
    }
    if (rc < 0) {
        zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
        return 0;
    }
    text = zq_staff_digest_text(digest);
    zq_resp_json(req, 200, json_pack("{s:o, s:s}", "digest", digest, "text", text ? text : ""));
    free(text);
    return 0;
}

static bool stream_id_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n < 48 && strspn(s, "0123456789-") == n;
}

int zq_h_admin_audit(zq_req *req)
{
    const char *before = zq_req_query(req, "before"), *ls = zq_req_query(req, "limit");
    zq_err err = {0};
    redisReply *r;
    json_t *list = json_array();
    long long limit = 100;
    size_t i, j;
    char last[48] = "";

    if (zq_req_require_staff(req, ZQ_ROLE_ADMIN, NULL) < 0) {
        json_decref(list);
        return 0;
    }
    if ((ls != NULL && zq_parse_ll(ls, strlen(ls), 1, 500, &limit) < 0) ||
        (before != NULL && *before != '\0' && !stream_id_ok(before))) {
        json_decref(list);
        zq_resp_error(req, 400, "bad_request", "参数不正确。");
        return 0;
    }
    if (before != NULL && *before != '\0')
        r = zq_store_command(req->store, &err, "XREVRANGE %saudit (%s - COUNT %lld",
                             zq_store_prefix(req->store), before, limit);
    else
        r = zq_store_command(req->store, &err, "XREVRANGE %saudit + - COUNT %lld",
                             zq_store_prefix(req->store), limit);
    if (r == NULL) {
        json_decref(list);
        zq_resp_unavailable(req);
        return 0;
    }
    if (r->type == REDIS_REPLY_ARRAY)
        for (i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            json_t *o;
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            o = json_pack("{s:s}", "id", e->element[0]->str);
            for (j = 0; j + 1 < e->element[1]->elements; j += 2)
                json_object_set_new(o, e->element[1]->element[j]->str,
                                    json_stringn(e->element[1]->element[j + 1]->str,
                                                 e->element[1]->element[j + 1]->len));
            snprintf(last, sizeof(last), "%s", e->element[0]->str);
            json_array_append_new(list, o);
        }
    freeReplyObject(r);
    zq_resp_json(req, 200,
                 json_pack("{s:o, s:o}", "entries", list, "next_before",
                           (long long)json_array_size(list) == limit && last[0] ? json_string(last)
                                                                                : json_null()));
    return 0;
}

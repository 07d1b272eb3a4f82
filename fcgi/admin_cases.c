/* The staff API for cases: list, detail, transitions, notes, assignment,
 * extensions, exports, statistics, digest, audit. Every handler starts
 * with zq_req_require_staff; every action that reads personal data or
 * changes a case is written to the audit stream. */
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
/* What a 422 says should its own message not fit its buffer. */
#define BAD_INPUT "提交的内容不符合要求。"

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
    ctx->handling = req->app ? req->app->handling : NULL;
    zq_wf_limits_from_config(req->cfg, &ctx->lim);
    ctx->today = zq_date_from_ms(now_ms(req));
}

static void audit_init(zq_req *req, const zq_token *who, const char *action, const char *target,
                       zq_audit *a)
{
    memset(a, 0, sizeof(*a));
    a->who = who ? who->name : "-";
    a->role = who ? zq_role_name(who->role) : "-";
    a->action = action;
    a->target = target ? target : "";
    a->addr = req->remote_addr;
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
    const json_t *handling;
    json_t *deps, *msgs;
    zq_staff_ctx ctx;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, NULL) < 0)
        return 0;
    staff_ctx(req, &ctx);
    handling = req->app ? req->app->handling : NULL;
    /* "O": the lists stay the app's; the answer holds its own references. */
    deps = handling ? json_incref(json_object_get(handling, "departments")) : NULL;
    msgs = handling ? json_incref(json_object_get(handling, "messages")) : NULL;
    zq_resp_json(req, 200,
                 json_pack("{s:o, s:{s:i, s:i, s:i, s:i}, s:o, s:o, s:o}", "machines",
                           zq_wf_machines_json(), "limits", "review_workdays",
                           ctx.lim.review_workdays, "transfer_workdays", ctx.lim.transfer_workdays,
                           "answer_days", ctx.lim.answer_days, "answer_max_days",
                           ctx.lim.answer_max_days, "results", zq_wf_results_json(), "departments",
                           deps ? deps : json_array(), "messages", msgs ? msgs : json_array()));
    return 0;
}

/* The staff a case can be assigned to: the configured tokens with the
 * handler role or more, one entry per name, for the console's list. */
int zq_h_admin_staff(zq_req *req)
{
    const zq_config *cfg = req->cfg;
    json_t *list;
    int i, j;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, NULL) < 0)
        return 0;
    list = json_array();
    for (i = 0; i < cfg->staff.ntokens; i++) {
        const zq_token *t = &cfg->staff.tokens[i];
        bool seen = false;

        if (t->role < ZQ_ROLE_HANDLER)
            continue;
        for (j = 0; j < i && !seen; j++)
            seen = strcmp(cfg->staff.tokens[j].name, t->name) == 0 &&
                   cfg->staff.tokens[j].role >= ZQ_ROLE_HANDLER;
        if (!seen)
            json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "name", t->name, "role",
                                                  zq_role_name(t->role), "role_label",
                                                  t->role >= ZQ_ROLE_ADMIN ? "管理员" : "承办人"));
    }
    zq_resp_json(req, 200, json_pack("{s:o}", "staff", list));
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
    zq_staff_page page = {{0}};
    zq_cursor cur = {0};
    zq_err err = {0};
    long long limit = 50;
    zq_buf *body = &req->body_out;
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
    /* Not zeroed: a page of rows is some 36 KB, and the scan writes every
     * row it returns (only those are read or cleared). */
    rows = malloc((size_t)limit * sizeof(*rows));
    if (ids == NULL || rows == NULL) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    /* A sparse filter may need several budgeted steps to fill a page. */
    for (calls = 0; calls < ZQ_STAFF_PAGE_STEPS && !done && n < limit; calls++) {
        rc = zq_staff_scan_page(req->store, &ctx, &f, &cur, (int)limit - n, 20000, ids + n,
                                rows + n, &got, &done, &page, &err);
        if (rc < 0)
            break;
        n += got;
    }
    if (rc < 0) {
        if (rc != -ZQ_EUNAVAIL)
            ZQ_ERROR("event=admin_list_failed err=\"%s\"", err.msg);
        goto out;
    }
    /* Written directly into the response, in room for the whole page (a
     * row is some 800 bytes): the list is the console's hottest path. */
    zq_buf_reset(body);
    zq_buf_reserve(body, (size_t)n * 1024 + 128);
    zq_buf_puts(body, "{\"cases\":[");
    for (i = 0, first = true; i < n; i++) {
        if (!rows[i].found)
            continue;
        if (!first)
            zq_buf_append(body, ",", 1);
        first = false;
        zq_staff_row_write(body, &ctx, &rows[i], true, false);
    }
    if (!done) {
        zq_cursor_format(&cur, next);
        zq_buf_printf(body, "],\"next_cursor\":\"%s\",\"limit\":%lld}", next, limit);
    } else {
        zq_buf_printf(body, "],\"next_cursor\":null,\"limit\":%lld}", limit);
    }
    if (body->oom) {
        rc = -ZQ_ENOMEM;
    } else {
        req->status = 200;
        req->content_type = "application/json; charset=utf-8";
        req->responded = true;
    }
out:
    if (rows != NULL)
        for (i = 0; i < n; i++)
            zq_case_row_clear(&rows[i]);
    zq_staff_page_free(&page);
    free(rows);
    free(ids);
    return rc;
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
    zq_date today = zq_date_from_ms(now_ms(e->req));
    int n;

    zq_date_format(today, day, sizeof(day));
    n = snprintf(disp, sizeof(disp), "attachment; filename=\"cases-%s.%s\"", day,
                 e->fmt == ZQ_EXPORT_CSV ? "csv" : "jsonl");
    if (n < 0 || (size_t)n >= sizeof(disp))
        return -ZQ_EINVAL;
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

/* Streams the export; a failure before the first byte goes back to the
 * router, one after it ends the file with a line saying so. */
static int export(zq_req *req, zq_export_format fmt)
{
    const zq_token *who;
    zq_case_filter f;
    zq_staff_ctx ctx;
    export_ctx ec = {req, fmt};
    zq_export_sink sink = {export_begin, export_write, &ec};
    zq_err err = {0};
    long long rows = 0;
    const char *mq = zq_req_query(req, "masked");
    bool masked = mq != NULL && (strcmp(mq, "1") == 0 || strcmp(mq, "true") == 0);
    char detail[512], ftxt[400];
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, &who) < 0)
        return 0;
    staff_ctx(req, &ctx);
    if (parse_filter(req, &ctx, &f) < 0)
        return 0;
    /* Taking personal data away in bulk is a handler's call; a viewer
     * reads it case by case, or exports it masked. */
    if (!masked && who->role < ZQ_ROLE_HANDLER) {
        zq_resp_error(req, 403, "forbidden",
                      "导出未脱敏的数据需要办理（handler）或管理员权限；"
                      "查看权限可以加参数 masked=1 导出脱敏数据。");
        return 0;
    }
    rc = zq_staff_export(req->store, &ctx, &f, fmt, masked, &sink, &rows, &err);
    /* ftxt's 400 bytes fit in detail; should they ever not, the audit
     * keeps the counts without the filter rather than a cut one. */
    if (zq_fmt(detail, sizeof(detail), "format=%s masked=%d rows=%lld ok=%d %s",
               fmt == ZQ_EXPORT_CSV ? "csv" : "jsonl", masked, rows, rc == 0,
               zq_case_filter_text(&f, ftxt, sizeof(ftxt))) < 0 &&
        zq_fmt(detail, sizeof(detail), "format=%s masked=%d rows=%lld ok=%d",
               fmt == ZQ_EXPORT_CSV ? "csv" : "jsonl", masked, rows, rc == 0) < 0)
        detail[0] = '\0';
    audit(req, who, "export", "", detail);
    ZQ_INFO("event=export staff=%s format=%s rows=%lld rc=%d", who->name,
            fmt == ZQ_EXPORT_CSV ? "csv" : "jsonl", rows, rc);
    return rc;
}

int zq_h_admin_cases_csv(zq_req *req)
{
    return export(req, ZQ_EXPORT_CSV);
}

int zq_h_admin_cases_jsonl(zq_req *req)
{
    return export(req, ZQ_EXPORT_JSONL);
}

/* ---- one case ------------------------------------------------------------- */

/* Loads the case named by the first route parameter. Returns 0, or a
 * negative code (after having answered 404 when there is no such case). */
static int load_case(zq_req *req, zq_staff_case *c, bool notes)
{
    zq_err err = {0};
    int rc = zq_staff_case_load(req->store, req->params[0], notes, c, &err);

    if (rc == -ZQ_ENOTFOUND)
        zq_resp_error(req, 404, "not_found", "没有这个案件。");
    return rc;
}

int zq_h_admin_case(zq_req *req)
{
    const zq_token *who;
    zq_staff_ctx ctx;
    zq_staff_case c;
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, &who) < 0)
        return 0;
    staff_ctx(req, &ctx);
    if ((rc = load_case(req, &c, true)) < 0)
        return rc;
    audit(req, who, "case_view", c.row.id, NULL);
    zq_resp_json(req, 200, json_pack("{s:o}", "case", zq_staff_case_json(&ctx, &c, who->role)));
    zq_staff_case_clear(&c);
    return 0;
}

/* Answers with the case as it is now (after a change). */
static int respond_fresh(zq_req *req, const zq_staff_ctx *ctx, const zq_token *who)
{
    zq_staff_case c;
    int rc;

    if ((rc = load_case(req, &c, true)) < 0)
        return rc;
    zq_resp_json(req, 200, json_pack("{s:o}", "case", zq_staff_case_json(ctx, &c, who->role)));
    zq_staff_case_clear(&c);
    return 0;
}

/* 409 with the moves allowed from the current status. */
static void conflict(zq_req *req, const char *form, const char *status, const zq_token *who,
                     const char *message)
{
    json_t *moves = zq_wf_moves_json(zq_wf_machine_for(form), status, who->role);

    zq_resp_json(req, 409,
                 json_pack("{s:{s:s, s:s, s:s, s:s, s:o}}", "error", "code", "illegal_transition",
                           "message", message, "status", status, "status_label",
                           zq_staff_status_label(form, status), "allowed", moves));
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
        zq_resp_msgf(msg, sizeof(msg), BAD_INPUT, "%s应为文字。", label);
        zq_resp_error_fields(req, 422, "validation_failed", msg, json_pack("{s:s}", key, msg));
        return -1;
    }
    if (zq_utf8_chars(json_string_value(v), json_string_length(v)) > max_chars) {
        zq_resp_msgf(msg, sizeof(msg), BAD_INPUT, "%s最多 %zu 个字。", label, max_chars);
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
        *body = NULL; /* the request keeps it */
        zq_resp_error(req, 400, "malformed_json", "请求内容应为 JSON 对象。");
        return -1;
    }
    return 0;
}

/* Answers a change that failed: 404, or 409 with the case as it is now
 * when someone else changed it meanwhile; other codes go to the router. */
static int update_failed(zq_req *req, int rc, const zq_err *err, const zq_staff_case *c,
                         const zq_token *who)
{
    zq_staff_case now;

    if (rc == -ZQ_ENOTFOUND) {
        zq_resp_error(req, 404, "not_found", "没有这个案件。");
    } else if (rc == -ZQ_ECONFLICT) {
        /* Someone else changed it meanwhile: show what is allowed now. */
        if ((rc = load_case(req, &now, false)) < 0)
            return rc;
        conflict(req, now.row.form, now.row.status, who, "案件已被他人更新，请刷新后重试。");
        zq_staff_case_clear(&now);
    } else if (rc != -ZQ_EUNAVAIL) {
        ZQ_ERROR("event=case_update_failed id=%s err=\"%s\"", c->row.id, err->msg);
    }
    return rc;
}

/* Answers a change made (with the case as it is now) or failed
 * (update_failed), and clears c. Returns 0 or a negative code. */
static int change_done(zq_req *req, const zq_staff_ctx *ctx, const zq_token *who, zq_staff_case *c,
                       int rc, const zq_err *err)
{
    rc = rc < 0 ? update_failed(req, rc, err, c, who) : respond_fresh(req, ctx, who);
    zq_staff_case_clear(c);
    return rc;
}

/* The request's Idempotency-Key for who's action on the case of the
 * route (docs/STAFF.md). Returns 0 with *key the key (NULL when none) when
 * the change is to be made, 1 when it was already made with this key
 * (*val, when not NULL, gets the recorded value: free()), or a negative
 * code (after having answered 400 for a key that cannot be used). */
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
        return -ZQ_EINVAL;
    }
    /* An unknown case id is answered 404 by the handler itself. */
    if (id == NULL || strlen(id) >= ZQ_CASE_ID_MAX || !zq_case_id_valid(id))
        return 0;
    rc = zq_staff_idem_find(req->store, who->name, action, id, k, val, &err);
    if (rc == -ZQ_EINVAL)
        zq_resp_error(req, 400, "bad_idempotency_key", "Idempotency-Key 无法使用。");
    if (rc < 0)
        return rc;
    *key = k;
    if (rc == 1)
        ZQ_INFO("event=idempotent_replay action=%s id=%s staff=%s", action, id, who->name);
    return rc;
}

/* Answers a repeated change (same Idempotency-Key) as its first success. */
static int respond_replayed(zq_req *req, const zq_staff_ctx *ctx, const zq_token *who)
{
    int rc = respond_fresh(req, ctx, who);

    if (req->status == 200)
        zq_resp_header(req, "Idempotent-Replayed", "true");
    return rc;
}

/* What every change starts with: the actor's role, the staff context,
 * the Idempotency-Key check (a repeated change is answered here), the
 * time and the JSON body. Returns 0 to go on, 1 when answered, or a
 * negative code. */
static int change_begin(zq_req *req, const zq_token *who, const char *action, zq_staff_ctx *ctx,
                        zq_staff_act *act, json_t **body)
{
    const char *idem;
    int rc;

    staff_ctx(req, ctx);
    rc = idem_check(req, who, action, &idem, NULL);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        rc = respond_replayed(req, ctx, who);
        return rc < 0 ? rc : 1;
    }
    memset(act, 0, sizeof(*act));
    audit_init(req, who, action, req->params[0], &act->audit);
    act->role = who->role;
    act->idem_key = idem;
    act->now_ms = act->audit.at_ms;
    if (body_object(req, body) < 0)
        return 1;
    return 0;
}

/* The amount recovered of a transition body: "recovered_fen" (integer
 * fen) or "recovered" (yuan text, the money rules of the forms: "1,234.50",
 * full-width digits; "0" allowed). Returns 0 with *fen (-1 when absent),
 * or -1 with a Chinese message in *msg. */
static int parse_recovered(zq_req *req, json_t *body, long long *fen, const char **msg)
{
    static const zq_field money = {
        .id = "recovered", .label = "追回金额", .type = ZQ_FIELD_MONEY, .required = true};
    json_t *f = json_object_get(body, "recovered_fen"), *y = json_object_get(body, "recovered");
    zq_schema_opts o = {0};
    json_t *norm = NULL;
    const char *t;

    *fen = -1;
    if (f != NULL && !json_is_null(f)) {
        if (!json_is_integer(f) || json_integer_value(f) < 0 ||
            json_integer_value(f) > req->cfg->intake.money_ceiling_yuan * 100) {
            *msg = "追回金额应为不小于 0 的整数（单位：分）";
            return -1;
        }
        *fen = (long long)json_integer_value(f);
        return 0;
    }
    if (y == NULL || json_is_null(y))
        return 0;
    t = json_string_value(y);
    /* Zero is a legal amount recovered, though not a legal amount owed. */
    if (t != NULL && (strcmp(t, "0") == 0 || strcmp(t, "0.0") == 0 || strcmp(t, "0.00") == 0)) {
        *fen = 0;
        return 0;
    }
    if (t == NULL) {
        *msg = "追回金额应填写为以元为单位的文字，如 1,234.50";
        return -1;
    }
    o.money_ceiling_fen = req->cfg->intake.money_ceiling_yuan * 100;
    if (zq_field_validate(NULL, &money, y, &o, &norm, msg) < 0 || !json_is_integer(norm)) {
        json_decref(norm);
        if (*msg == NULL)
            *msg = "追回金额格式不正确";
        return -1;
    }
    *fen = (long long)json_integer_value(norm);
    json_decref(norm);
    return 0;
}

/* True when s has a character other than spaces. */
static bool has_text(const char *s)
{
    return s != NULL && s[strspn(s, " \t\r\n")] != '\0';
}

/* The latest date a request for material may give (days from today). */
#define SUPPLY_MAX_DAYS 90 /* the message below says it too */

/* True when s is a date (YYYY-MM-DD) after today and at most
 * SUPPLY_MAX_DAYS days ahead. */
static bool supply_by_ok(zq_req *req, const char *s)
{
    zq_date today = zq_date_from_ms(now_ms(req)), d;

    return strlen(s) == 10 && zq_date_parse(s, 10, &d) == 0 && zq_date_cmp(d, today) > 0 &&
           zq_date_days_between(today, d) <= SUPPLY_MAX_DAYS;
}

/* Reads and checks what a move needs besides its note: the message for
 * the enterprise, and for the moves that need them the result type, the
 * amount recovered, the reason and the receiving department. Returns 0,
 * or -1 after a 422 that names every bad field. */
static int parse_outcome(zq_req *req, json_t *body, const zq_wf_move *mv, const char *note,
                         zq_staff_outcome *o)
{
    const json_t *handling = req->app ? req->app->handling : NULL;
    json_t *fields = json_object(), *pub = json_object_get(body, "public");
    const zq_wf_result *res = NULL;
    const char *msg = NULL;
    int rc = 0;

    memset(o, 0, sizeof(*o));
    o->recovered_fen = -1;
    if (body_text(req, body, "message", ZQ_STAFF_NOTE_MAX, "给企业的答复", &o->message) < 0 ||
        body_text(req, body, "result", 32, "办理结果", &o->result) < 0 ||
        body_text(req, body, "reason", REASON_MAX, "不予受理理由", &o->reason) < 0 ||
        body_text(req, body, "department", 32, "接收部门", &o->department) < 0 ||
        body_text(req, body, "supply_by", 10, "补充期限", &o->supply_by) < 0) {
        json_decref(fields);
        return -1;
    }
    if (pub != NULL && !json_is_boolean(pub) && !json_is_null(pub))
        json_object_set_new(fields, "public", json_string("应为 true 或 false"));
    /* Deprecated: "public": true published the note itself. A client that
     * still sends it asks for it explicitly; nothing is public by default. */
    if (json_is_true(pub) && (o->message == NULL || *o->message == '\0'))
        o->message = note;
    if (parse_recovered(req, body, &o->recovered_fen, &msg) < 0)
        json_object_set_new(fields, "recovered", json_string(msg));
    if (o->result != NULL && *o->result != '\0') {
        res = zq_wf_result_find(o->result);
        if (res == NULL)
            json_object_set_new(fields, "result", json_string("请从列表中选择办理结果"));
    }
    if (mv != NULL && mv->outcome_required) {
        if (o->result == NULL || *o->result == '\0')
            json_object_set_new(fields, "result", json_string("请选择办理结果"));
        if (o->recovered_fen < 0 && json_object_get(fields, "recovered") == NULL)
            json_object_set_new(fields, "recovered", json_string("请填写追回金额（没有追回填 0）"));
        if (res != NULL && res->amount_positive && o->recovered_fen == 0)
            json_object_set_new(fields, "recovered",
                                json_string("已支付（全额或部分）时，追回金额应大于 0"));
        if (res != NULL && res->reason_required &&
            (o->reason == NULL || zq_utf8_chars(o->reason, strlen(o->reason)) < 2))
            json_object_set_new(fields, "reason", json_string("请填写不予受理的理由"));
    } else if (res != NULL || o->recovered_fen >= 0) {
        json_object_set_new(fields, "result", json_string("这一操作不需要填写办理结果"));
    }
    if (mv != NULL && mv->department_required) {
        o->department_label = zq_wf_department_label(handling, o->department);
        if (o->department == NULL || *o->department == '\0')
            json_object_set_new(fields, "department", json_string("请选择接收部门"));
        else if (o->department_label == NULL)
            json_object_set_new(fields, "department", json_string("请从列表中选择接收部门"));
    } else if (o->department != NULL && *o->department != '\0') {
        json_object_set_new(fields, "department", json_string("只有转办需要选择接收部门"));
    }
    if (mv != NULL && mv->message_required && !has_text(o->message))
        json_object_set_new(fields, "message",
                            json_string("请填写给企业的说明，列明需要补充的全部材料"));
    if (o->supply_by != NULL && (mv == NULL || strcmp(mv->to, "needs_info") != 0))
        json_object_set_new(fields, "supply_by", json_string("只有要求补充材料需要填写补充期限"));
    else if (o->supply_by != NULL && !supply_by_ok(req, o->supply_by))
        json_object_set_new(fields, "supply_by",
                            json_string("补充期限应为今天以后 90 天内的日期，格式如 2026-12-31"));
    if (json_object_size(fields) > 0) {
        const char *k;
        json_t *v;
        char text[300];

        json_object_foreach(fields, k, v)
        {
            (void)k;
            if (zq_fmt(text, sizeof(text), "%s。", json_string_value(v)) < 0)
                memcpy(text, BAD_INPUT, sizeof(BAD_INPUT));
            break;
        }
        zq_resp_error_fields(req, 422, "validation_failed", text, fields);
        rc = -1;
    } else {
        json_decref(fields);
    }
    return rc;
}

int zq_h_admin_case_transition(zq_req *req)
{
    const zq_token *who;
    const char *to, *note = NULL;
    json_t *body = NULL;
    zq_staff_outcome o;
    zq_staff_ctx ctx;
    zq_staff_act act;
    zq_staff_case c;
    zq_err err = {0};
    char msg[200];
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_HANDLER, &who) < 0)
        return 0;
    rc = change_begin(req, who, "case_transition", &ctx, &act, &body);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    to = json_string_value(json_object_get(body, "to"));
    if (to == NULL || !zq_wf_status_known(to)) {
        zq_resp_error_fields(req, 422, "validation_failed", "请选择要变更到的状态。",
                             json_pack("{s:s}", "to", "状态不正确"));
        goto out;
    }
    if (body_text(req, body, "note", ZQ_STAFF_NOTE_MAX, "说明", &note) < 0)
        goto out;
    if ((rc = load_case(req, &c, false)) < 0)
        goto out;
    switch (zq_wf_check(zq_wf_machine_for(c.row.form), c.row.status, to, who->role, note)) {
    case 0: break;
    case -ZQ_ECONFLICT:
        zq_resp_msgf(msg, sizeof(msg), "案件当前状态不能变更为所选状态。",
                     "案件当前状态为“%s”，不能变更为“%s”。",
                     zq_staff_status_label(c.row.form, c.row.status),
                     zq_staff_status_label(c.row.form, to));
        conflict(req, c.row.form, c.row.status, who, msg);
        goto done;
    case -ZQ_EFORBIDDEN:
        zq_resp_error(req, 403, "forbidden", "当前账号没有执行此操作的权限。");
        goto done;
    default:
        zq_resp_error_fields(req, 422, "validation_failed", "这一操作需要填写理由或说明。",
                             json_pack("{s:s}", "note", "请填写理由或说明"));
        goto done;
    }
    if (parse_outcome(req, body, zq_wf_move_find(zq_wf_machine_for(c.row.form), c.row.status, to),
                      note, &o) < 0)
        goto done;
    rc = zq_staff_transition(req->store, &ctx, &c, to, note, &o, &act, &err);
    if (rc == 0)
        ZQ_INFO("event=case_transition id=%s from=%s to=%s staff=%s public=%d", c.row.id,
                c.row.status, to, who->name, o.message != NULL && *o.message != '\0');
    rc = change_done(req, &ctx, who, &c, rc, &err);
    goto out;
done:
    zq_staff_case_clear(&c);
out:
    return rc;
}

int zq_h_admin_case_note(zq_req *req)
{
    const zq_token *who;
    const char *text = NULL;
    json_t *body = NULL, *note = NULL;
    zq_staff_act act;
    zq_err err = {0};
    const char *idem;
    char *done = NULL;
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_HANDLER, &who) < 0)
        return 0;
    rc = idem_check(req, who, "case_note", &idem, &done);
    if (rc == 1) {
        /* The note this key added, as its first answer gave it. */
        json_t *was = done ? json_loads(done, 0, NULL) : NULL;
        free(done);
        if (!json_is_object(was)) {
            json_decref(was);
            return -ZQ_EREPLY;
        }
        zq_resp_json(req, 201, json_pack("{s:o}", "note", was));
        zq_resp_header(req, "Idempotent-Replayed", "true");
        return 0;
    }
    if (rc < 0)
        return rc;
    memset(&act, 0, sizeof(act));
    audit_init(req, who, "case_note", req->params[0], &act.audit);
    act.role = who->role;
    act.idem_key = idem;
    act.now_ms = act.audit.at_ms;
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
    rc = zq_staff_note(req->store, req->params[0], text, &act, &note, &err);
    if (rc == -ZQ_ENOTFOUND)
        zq_resp_error(req, 404, "not_found", "没有这个案件。");
    else if (rc == -ZQ_ETOOBIG)
        zq_resp_error(req, 409, "too_many_notes", "这个案件的备注已达上限。");
    else if (rc == 0)
        zq_resp_json(req, 201, json_pack("{s:o}", "note", note));
out:
    return rc;
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

int zq_h_admin_case_assign(zq_req *req)
{
    const zq_token *who;
    const char *handler = NULL, *office = NULL, *note = NULL;
    json_t *body = NULL;
    zq_staff_ctx ctx;
    zq_staff_act act;
    zq_staff_case c;
    zq_err err = {0};
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_HANDLER, &who) < 0)
        return 0;
    rc = change_begin(req, who, "case_assign", &ctx, &act, &body);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    if (body_text(req, body, "handler", 63, "承办人", &handler) < 0 ||
        body_text(req, body, "office", 6, "承办单位", &office) < 0 ||
        body_text(req, body, "note", ZQ_STAFF_NOTE_MAX, "说明", &note) < 0)
        goto out;
    if (handler != NULL && *handler != '\0' && !handler_known(req->cfg, handler)) {
        zq_resp_error_fields(req, 422, "validation_failed", "没有这个承办人。",
                             json_pack("{s:s}", "handler", "承办人须为有办理权限的工作人员"));
        goto out;
    }
    if (office != NULL && *office != '\0' && !zq_staff_office_valid(ctx.schema, office)) {
        zq_resp_error_fields(
            req, 422, "validation_failed", "承办单位不正确。",
            json_pack("{s:s}", "office", "承办单位应为四川省内市（州）代码或 510000"));
        goto out;
    }
    if ((rc = load_case(req, &c, false)) < 0)
        goto out;
    rc = zq_staff_assign(req->store, &ctx, &c, handler, office, note, &act, &err);
    rc = change_done(req, &ctx, who, &c, rc, &err);
out:
    return rc;
}

int zq_h_admin_case_extension(zq_req *req)
{
    const char *reason = NULL;
    const zq_token *who;
    json_t *body = NULL, *days;
    char msg[160];
    zq_staff_ctx ctx;
    zq_staff_act act;
    zq_staff_case c;
    zq_err err = {0};
    long long n;
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_HANDLER, &who) < 0)
        return 0;
    rc = change_begin(req, who, "case_extension", &ctx, &act, &body);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    days = json_object_get(body, "days");
    n = json_is_integer(days) ? (long long)json_integer_value(days) : -1;
    if (n <= ctx.lim.answer_days || n > ctx.lim.answer_max_days) {
        zq_resp_msgf(msg, sizeof(msg), BAD_INPUT, "延长后的答复期限应为 %d 到 %d 天。",
                     ctx.lim.answer_days + 1, ctx.lim.answer_max_days);
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
    if ((rc = load_case(req, &c, false)) < 0)
        goto out;
    if (!zq_staff_case_extendable(&c)) {
        conflict(req, c.row.form, c.row.status, who, "只有已转办或办理中的案件可以延长答复期限。");
        zq_staff_case_clear(&c);
        goto out;
    }
    rc = zq_staff_extend(req->store, &ctx, &c, (int)n, reason, &act, &err);
    rc = change_done(req, &ctx, who, &c, rc, &err);
out:
    return rc;
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
    if (rc < 0) {
        if (rc != -ZQ_EUNAVAIL)
            ZQ_ERROR("event=stats_failed err=\"%s\"", err.msg);
        return rc;
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
    if (rc < 0)
        return rc;
    text = zq_staff_digest_text(digest);
    zq_resp_json(req, 200, json_pack("{s:o, s:s}", "digest", digest, "text", text ? text : ""));
    free(text);
    return 0;
}

int zq_h_admin_audit(zq_req *req)
{
    const char *before = zq_req_query(req, "before"), *ls = zq_req_query(req, "limit");
    char last[ZQ_AUDIT_ID_MAX];
    zq_err err = {0};
    json_t *list;
    long long limit = 100;
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_ADMIN, NULL) < 0)
        return 0;
    if ((ls != NULL && zq_parse_ll(ls, strlen(ls), 1, 500, &limit) < 0) ||
        (before != NULL && *before != '\0' && !zq_audit_id_valid(before))) {
        zq_resp_error(req, 400, "bad_request", "参数不正确。");
        return 0;
    }
    list = json_array();
    rc = zq_audit_list(req->store, before, limit, list, last, &err);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    zq_resp_json(req, 200,
                 json_pack("{s:o, s:o}", "entries", list, "next_before",
                           (long long)json_array_size(list) == limit && last[0] ? json_string(last)
                                                                                : json_null()));
    return 0;
}

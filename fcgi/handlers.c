/* The core endpoints: liveness, readiness, metrics, and the debug routes
 * the end-to-end tests use. */
#include "handlers.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin_push.h"
#include "files.h"
#include "hooks.h"
#include "zhuqi/app.h"
#include "intake.h"
#include "zhuqi/log.h"
#include "zhuqi/retention.h"
#include "metrics.h"
#include "admin_cases.h"
#include "receipt.h"
#include "verify.h"
#include "enterprise.h"

static const zq_route routes[] = {
    {"GET", "/api/ping", zq_h_ping, "ping"},
    {"GET", "/api/health", zq_h_health, "health"},
    {"GET", "/api/metrics", zq_h_metrics, "metrics"},
    {"GET", "/api/forms", zq_h_forms, "forms"},
    {"GET", "/api/forms/{form}", zq_h_form, "form"},
    {"POST", "/api/intake/{form}", zq_h_intake_start, "intake_start"},
    {"GET", "/api/intake/{form}", zq_h_intake_get, "intake_get"},
    {"PUT", "/api/intake/{form}/steps/{step}", zq_h_intake_step, "intake_step"},
    {"POST", "/api/intake/{form}/submit", zq_h_intake_submit, "intake_submit"},
    {"POST", "/api/cases/{id}/lookup", zq_h_case_lookup, "case_lookup"},
    {"GET", "/api/classes", zq_h_classes, "classes"},
    {"GET", "/api/intake/{form}/state", zq_h_intake_state, "intake_state"},
    {"GET", "/api/site", zq_h_site, "site"},
    /* SMS verification codes (fcgi/verify.c). */
    {"POST", "/api/session", zq_h_session, "session"},
    {"POST", "/api/sms/code", zq_h_sms_code, "sms_code"},
    {"POST", "/api/sms/verify", zq_h_sms_verify, "sms_verify"},
    {"POST", "/api/cases/lookup", zq_h_cases_lookup_mobile, "cases_lookup_mobile"},
    {"POST", "/api/intake/{form}/resume", zq_h_intake_resume, "intake_resume"},
    {"GET", "/api/privacy", zq_h_privacy, "privacy"},
    {"GET", "/api/cases/{id}/receipt", zq_h_case_receipt, "case_receipt"},
    {"GET", "/api/verify", zq_h_verify, "verify"},
    /* Chat webhooks and the chat-to-web hand-over (fcgi/hooks.c, fcgi/handoff.c). */
    {"GET", "/hook/wecom", zq_h_hook_wecom, "hook_wecom_verify"},
    {"POST", "/hook/wecom", zq_h_hook_wecom, "hook_wecom"},
    {"POST", "/hook/dingtalk", zq_h_hook_dingtalk, "hook_dingtalk"},
    {"POST", "/hook/feishu", zq_h_hook_feishu, "hook_feishu"},
    {"POST", "/hook/telegram", zq_h_hook_telegram, "hook_telegram"},
    {"POST", "/hook/generic", zq_h_hook_generic, "hook_generic"},
    {"POST", "/api/intake/{form}/handoff", zq_h_intake_handoff, "intake_handoff"},
    /* Evidence files (fcgi/files.c). */
    {"POST", "/api/intake/{form}/files", zq_h_intake_file_upload, "intake_file_upload"},
    {"DELETE", "/api/intake/{form}/files/{fid}", zq_h_intake_file_delete, "intake_file_delete"},
    {"GET", "/api/admin/cases/{id}/files/{fid}", zq_h_admin_case_file, "admin_case_file"},
    /* The enterprise's withdrawal and evaluation (fcgi/enterprise.c). */
    {"POST", "/api/cases/{id}/withdraw", zq_h_case_withdraw, "case_withdraw"},
    {"POST", "/api/cases/{id}/evaluation", zq_h_case_evaluation, "case_evaluation"},
    /* The answer to a request for more material (fcgi/files.c). */
    {"POST", "/api/cases/{id}/files", zq_h_case_file_upload, "case_file_upload"},
    {"DELETE", "/api/cases/{id}/files/{fid}", zq_h_case_file_delete, "case_file_delete"},
    {"POST", "/api/cases/{id}/supplements", zq_h_case_supplement, "case_supplement"},
    /* Staff: cases (fcgi/admin_cases.c). */
    {"GET", "/api/admin/me", zq_h_admin_me, "admin_me"},
    {"GET", "/api/admin/workflow", zq_h_admin_workflow, "admin_workflow"},
    {"GET", "/api/admin/staff", zq_h_admin_staff, "admin_staff"},
    {"GET", "/api/admin/cases", zq_h_admin_cases, "admin_cases"},
    {"GET", "/api/admin/cases.csv", zq_h_admin_cases_csv, "admin_cases_csv"},
    {"GET", "/api/admin/cases.jsonl", zq_h_admin_cases_jsonl, "admin_cases_jsonl"},
    {"GET", "/api/admin/cases/{id}", zq_h_admin_case, "admin_case"},
    {"POST", "/api/admin/cases/{id}/transitions", zq_h_admin_case_transition,
     "admin_case_transition"},
    {"POST", "/api/admin/cases/{id}/notes", zq_h_admin_case_note, "admin_case_note"},
    {"POST", "/api/admin/cases/{id}/assign", zq_h_admin_case_assign, "admin_case_assign"},
    {"POST", "/api/admin/cases/{id}/extension", zq_h_admin_case_extension, "admin_case_extension"},
    {"GET", "/api/admin/stats", zq_h_admin_stats, "admin_stats"},
    {"GET", "/api/admin/digest", zq_h_admin_digest, "admin_digest"},
    {"GET", "/api/admin/audit", zq_h_admin_audit, "admin_audit"},
    /* Staff: push targets, classes, notices (fcgi/admin_push.c). */
    {"GET", "/api/admin/targets", zq_h_admin_targets, "admin_targets"},
    {"POST", "/api/admin/targets", zq_h_admin_target_save, "admin_target_save"},
    {"DELETE", "/api/admin/targets/{id}", zq_h_admin_target_delete, "admin_target_delete"},
    {"POST", "/api/admin/targets/{id}/enable", zq_h_admin_target_enable, "admin_target_enable"},
    {"GET", "/api/admin/classes", zq_h_admin_classes, "admin_classes"},
    {"POST", "/api/admin/classes", zq_h_admin_class_save, "admin_class_save"},
    {"GET", "/api/admin/notices", zq_h_admin_notices, "admin_notices"},
    {"POST", "/api/admin/notices", zq_h_admin_notice_create, "admin_notice_create"},
    {"GET", "/api/admin/notices/{id}", zq_h_admin_notice, "admin_notice"},
    {"POST", "/api/_debug/echo", zq_h_debug_echo, "debug_echo"},
    {"GET", "/api/_debug/sleep", zq_h_debug_sleep, "debug_sleep"},
};

static const char *route_names[ZQ_ARRAY_LEN(routes)];

const zq_route *zq_handlers_routes(size_t *n)
{
    *n = ZQ_ARRAY_LEN(routes);
    return routes;
}

const char *const *zq_handlers_route_names(size_t *n)
{
    size_t i;

    for (i = 0; i < ZQ_ARRAY_LEN(routes); i++)
        route_names[i] = routes[i].name;
    *n = ZQ_ARRAY_LEN(routes);
    return route_names;
}

int zq_h_ping(zq_req *req)
{
    zq_resp_raw(req, 200, "application/json; charset=utf-8", "{\"ok\":true}", 11);
    return 0;
}

/* The retention periods the pages' privacy notice states ([retention],
 * [intake] and [chat] session_ttl): no Redis, no personal data. */
int zq_h_privacy(zq_req *req)
{
    json_t *p = zq_retention_public(req->cfg);

    if (p == NULL)
        return -ZQ_ENOMEM;
    zq_resp_json(req, 200, json_pack("{s:o}", "retention", p));
    return 0;
}

/* What every page's footer and "cannot connect" state say ([site]): no
 * Redis, so it answers while storage is down; cacheable, since it
 * changes only with the configuration. */
int zq_h_site(zq_req *req)
{
    const zq_config *c = req->cfg;
    json_t *v =
        json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s}}", "site", "organizer", c->site.organizer,
                  "hotline", c->site.hotline, "hotline_hours", c->site.hotline_hours, "icp",
                  c->site.icp, "police", c->site.police, "subscribe", c->site.subscribe);

    if (v == NULL)
        return -ZQ_ENOMEM;
    req->cache_control = "public, max-age=300";
    zq_resp_json(req, 200, v);
    return 0;
}

int zq_h_health(zq_req *req)
{
    zq_err err = {0};
    int rc = zq_store_probe_write(req->store, &err);
    json_t *body;

    if (rc == 0) {
        body = json_pack("{s:b, s:s}", "ok", 1, "redis", "up");
        zq_date today = zq_date_today();
        /* Deadlines this year fall back to Monday-Friday without its
         * holiday file: tell monitors (still 200: the service works). */
        if (body != NULL && req->app != NULL && !zq_cal_year_known(req->app->calendar, today.y))
            json_object_set_new(
                body, "calendar",
                json_pack("{s:[i], s:s}", "missing_years", today.y, "fallback", "mon-fri"));
        zq_resp_json(req, 200, body);
        return 0;
    }
    zq_resp_unavailable(req);
    /* Keep the error shape, and say what is down for monitors: Redis
     * away, or there but refusing writes (a full disk: MISCONF; a replica:
     * READONLY), when every submission would fail too. */
    body = json_pack("{s:b, s:s, s:{s:s, s:s}}", "ok", 0, "redis",
                     rc == -ZQ_EUNAVAIL ? "down" : "read-only", "error", "code",
                     "storage_unavailable", "message", "服务暂时不可用，请稍后重试。");
    if (rc != -ZQ_EUNAVAIL) {
        ZQ_WARN("event=health_redis_refuses_writes err=\"%s\"", err.msg);
        /* Redis's own words name its setup (MISCONF paths, replica
         * counts): for monitors on this host only. */
        if (body != NULL)
            json_object_set_new(
                body, "redis_error",
                json_string(zq_req_from_loopback(req) ? err.msg : "存储暂时无法写入"));
    }
    zq_resp_json(req, 503, body);
    return 0;
}

int zq_h_metrics(zq_req *req)
{
    zq_buf b = {0};

    zq_metrics_render(&b);
    zq_resp_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "", b.len);
    zq_buf_free(&b);
    return 0;
}

/* The debug routes exist only with [server] debug_routes. */
static bool debug_enabled(const zq_req *req)
{
    return req->cfg->server.debug_routes;
}

int zq_h_debug_echo(zq_req *req)
{
    const char *ct = zq_req_header(req, "Content-Type");
    zq_kv *kv;
    size_t n, i;
    json_t *j, *form;

    if (!debug_enabled(req))
        return -ZQ_ENOTFOUND;
    if (ct != NULL && strncmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
        if (zq_req_form(req, &kv, &n) < 0)
            return 0;
        form = json_object();
        for (i = 0; i < n; i++)
            json_object_set_new(form, kv[i].key, json_stringn(kv[i].val, kv[i].val_len));
        zq_resp_json(req, 200, json_pack("{s:o}", "form", form));
        return 0;
    }
    if (zq_req_json(req, &j) < 0)
        return 0;
    zq_resp_json(req, 200, json_pack("{s:O}", "json", j)); /* j is the request's */
    return 0;
}

int zq_h_debug_sleep(zq_req *req)
{
    const char *ms = zq_req_query(req, "ms");
    long long v = 0;
    struct timespec ts;

    if (!debug_enabled(req))
        return -ZQ_ENOTFOUND;
    if (ms == NULL || zq_parse_ll(ms, strlen(ms), 0, 10000, &v) < 0) {
        zq_resp_error(req, 400, "bad_request", "参数 ms 应为 0 到 10000 之间的整数。");
        return 0;
    }
    ts.tv_sec = v / 1000;
    ts.tv_nsec = (v % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0)
        ;
    zq_resp_json(req, 200, json_pack("{s:I}", "slept_ms", (json_int_t)v));
    return 0;
}

/* Staff endpoints for pushing messages: targets (robots, bots, chats,
 * webhooks), the class calendar that reminders name, and service notices
 * with their delivery report. zhuqi-fcgi only stores; zhuqi-bot fans out
 * and delivers (see lib/push/outbox.c). */
#include "admin_push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/cases.h"
#include "zhuqi/classes.h"
#include "zhuqi/log.h"
#include "zhuqi/notices.h"
#include "zhuqi/reminders.h"
#include "zhuqi/audit.h"
#include "zhuqi/targets.h"

#define SEND_AT_MAX_MS (366LL * 86400 * 1000)
#define IDEM_TTL_S 86400

static void audit(zq_req *req, const zq_token *who, const char *action, const char *target,
                  const char *detail)
{
    zq_audit a;
    zq_err err = {0};

    memset(&a, 0, sizeof(a));
    a.who = who ? who->name : "-";
    a.role = who ? zq_role_name(who->role) : "-";
    a.action = action;
    a.target = target ? target : "";
    a.addr = req->remote_addr;
    a.detail = detail;
    a.rid = req->request_id ? req->request_id : "";
    a.at_ms = zq_now_ms();
    if (zq_audit_write(req->store, &a, &err) < 0)
        ZQ_ERROR("event=audit_failed action=%s err=\"%s\"", action, err.msg);
}

static void invalid(zq_req *req, const char *field, const char *msg)
{
    if (field == NULL || strcmp(field, "_") == 0) {
        zq_resp_error(req, 400, "bad_request", msg);
        return;
    }
    zq_resp_error_fields(req, 422, "validation_failed", "请检查标出的内容。",
                         json_pack("{s:s}", field, msg));
}

static void storage_error(zq_req *req, int rc, const zq_err *err, const char *what)
{
    if (rc == -ZQ_EUNAVAIL) {
        zq_resp_unavailable(req);
        return;
    }
    ZQ_ERROR("event=%s_failed err=\"%s\"", what, err->msg);
    zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
}

/* A storage failure for the router to answer: logged unless Redis is
 * merely away (the router's 503 says so). Returns rc. */
static int storage_failed(int rc, const zq_err *err, const char *what)
{
    if (rc != -ZQ_EUNAVAIL)
        ZQ_ERROR("event=%s_failed err=\"%s\"", what, err->msg);
    return rc;
}

/* An integer query parameter in [min, max], def when absent. Returns 0,
 * or -1 after a 400. */
static int query_int(zq_req *req, const char *name, long long min, long long max, long long def,
                     long long *out)
{
    const char *v = zq_req_query(req, name);
    char msg[128];

    *out = def;
    if (v == NULL)
        return 0;
    if (zq_parse_ll(v, strlen(v), min, max, out) < 0) {
        zq_resp_msgf(msg, sizeof(msg), "查询参数不正确。", "参数 %s 应为 %lld 到 %lld 之间的整数。",
                     name, min, max);
        zq_resp_error(req, 400, "bad_request", msg);
        return -1;
    }
    return 0;
}

/* A Redis SCAN cursor: digits only. */
static bool cursor_ok(const char *c)
{
    size_t n = strlen(c);

    return n >= 1 && n <= 20 && strspn(c, "0123456789") == n;
}

int zq_h_admin_targets(zq_req *req)
{
    const char *tag = zq_req_query(req, "tag");
    const char *cursor = zq_req_query(req, "cursor");
    json_t *list;
    zq_err err = {0};
    long long limit;
    char next[32];
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, NULL) < 0)
        return 0;
    if (tag != NULL && !zq_tag_valid(tag)) {
        zq_resp_error(req, 400, "bad_request", "参数 tag 不是有效的标签。");
        return 0;
    }
    if (cursor != NULL && !cursor_ok(cursor)) {
        zq_resp_error(req, 400, "bad_request", "参数 cursor 无效。");
        return 0;
    }
    if (query_int(req, "limit", 1, 500, 100, &limit) < 0)
        return 0;
    list = json_array();
    rc = zq_target_page(req->store, tag, cursor ? cursor : "0", (int)limit, list, next, &err);
    if (rc < 0) {
        json_decref(list);
        return storage_failed(rc, &err, "targets_list");
    }
    zq_resp_json(req, 200,
                 json_pack("{s:o, s:o}", "targets", list, "next_cursor",
                           strcmp(next, "0") != 0 ? json_string(next) : json_null()));
    return 0;
}

int zq_h_admin_target_save(zq_req *req)
{
    const zq_token *who = NULL;
    json_t *body = NULL;
    zq_target_rec r;
    const char *field, *msg;
    zq_err err = {0};
    bool created = false;
    char detail[200];
    int rc = 0;

    if (zq_req_require_staff(req, ZQ_ROLE_ADMIN, &who) < 0 || zq_req_json(req, &body) < 0)
        return 0;
    if (zq_target_from_json(body, &r, &field, &msg) < 0) {
        invalid(req, field, msg);
        goto out;
    }
    if (zq_target_check_outbound(&r.t, req->cfg, &msg) < 0) {
        invalid(req, "address", msg);
        goto out;
    }
    rc = zq_target_save(req->store, &r, zq_now_ms(), &created, &err);
    if (rc < 0) {
        rc = storage_failed(rc, &err, "target_save");
        goto out;
    }
    /* A channel name always fits; were it cut, the audit would hold
     * broken JSON: then it holds none of the detail. */
    if (zq_fmt(detail, sizeof(detail), "{\"channel\":\"%s\",\"created\":%s}",
               zq_channel_name(r.t.kind), created ? "true" : "false") < 0)
        memcpy(detail, "{}", 3);
    audit(req, who, "target_save", r.t.id, detail);
    ZQ_INFO("event=target_saved id=%s channel=%s created=%d tags=%d", r.t.id,
            zq_channel_name(r.t.kind), created, r.ntags);
    zq_resp_json(req, created ? 201 : 200, json_pack("{s:o}", "target", zq_target_to_json(&r)));
out:
    return rc;
}

int zq_h_admin_target_delete(zq_req *req)
{
    const zq_token *who = NULL;
    const char *id = req->params[0];
    zq_err err = {0};
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_ADMIN, &who) < 0)
        return 0;
    rc = zq_target_delete(req->store, id, &err);
    if (rc == -ZQ_ENOTFOUND) {
        zq_resp_error(req, 404, "not_found", "没有这个推送对象。");
        return 0;
    }
    if (rc < 0)
        return storage_failed(rc, &err, "target_delete");
    audit(req, who, "target_delete", id, NULL);
    ZQ_INFO("event=target_deleted id=%s", id);
    zq_resp_json(req, 200, json_pack("{s:b, s:s}", "ok", 1, "deleted", id));
    return 0;
}

int zq_h_admin_target_enable(zq_req *req)
{
    const zq_token *who = NULL;
    const char *id = req->params[0];
    zq_target_rec r;
    zq_err err = {0};
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_ADMIN, &who) < 0)
        return 0;
    rc = zq_target_set_disabled(req->store, id, NULL, zq_now_ms(), &err);
    if (rc == 0)
        rc = zq_target_load(req->store, id, &r, &err);
    if (rc == -ZQ_ENOTFOUND) {
        zq_resp_error(req, 404, "not_found", "没有这个推送对象。");
        return 0;
    }
    if (rc < 0)
        return storage_failed(rc, &err, "target_enable");
    audit(req, who, "target_enable", id, NULL);
    ZQ_INFO("event=target_enabled id=%s", id);
    zq_resp_json(req, 200, json_pack("{s:o}", "target", zq_target_to_json(&r)));
    return 0;
}

int zq_h_admin_classes(zq_req *req)
{
    zq_err err = {0};
    json_t *list;
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, NULL) < 0)
        return 0;
    rc = zq_classes_all(req->store, &list, &err);
    if (rc < 0)
        return rc;
    zq_resp_json(req, 200, json_pack("{s:o}", "classes", list));
    return 0;
}

int zq_h_admin_class_save(zq_req *req)
{
    const zq_token *who = NULL;
    json_t *body = NULL;
    zq_class c;
    const char *field, *msg;
    zq_err err = {0};
    bool created = false;
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_ADMIN, &who) < 0 || zq_req_json(req, &body) < 0)
        return 0;
    if (zq_class_from_json(body, &c, &field, &msg) < 0) {
        invalid(req, field, msg);
        goto out;
    }
    rc = zq_class_save(req->store, &c, &created, &err);
    if (rc == -ZQ_ETOOBIG) {
        zq_resp_error(req, 409, "too_many_classes", "课程太多，请先清理过期课程。");
        goto out;
    }
    if (rc < 0) {
        storage_error(req, rc, &err, "class_save");
        goto out;
    }
    audit(req, who, "class_save", c.id, c.date);
    ZQ_INFO("event=class_saved id=%s date=%s created=%d", c.id, c.date, created);
    zq_resp_json(req, created ? 201 : 200, json_pack("{s:o}", "class", zq_class_to_json(&c)));
out:
    return 0;
}

/* Title: one line of 1..100 characters. */
static bool title_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || !zq_utf8_valid(s, n) || zq_utf8_chars(s, n) > ZQ_NOTICE_TITLE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* Body: text with line breaks and tabs only as control characters. */
static bool body_ok(const char *s, size_t n)
{
    if (n == 0 || n > ZQ_NOTICE_BODY_MAX || !zq_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t' && s[i] != '\r') ||
            s[i] == 0x7f)
            return false;
    return true;
}

int zq_h_admin_notice_create(zq_req *req)
{
    static const char *const known[] = {"title", "body", "audience", "send_at", "mentions"};
    const zq_token *who = NULL;
    const char *idem = zq_req_header(req, "Idempotency-Key");
    json_t *body = NULL, *aud = NULL, *mentions = NULL, *fields = NULL, *v;
    char *aud_s = NULL, *mentions_s = NULL;
    const char *title, *text, *key, *msg;
    int64_t now = zq_now_ms(), send_at = 0;
    char id[ZQ_NOTICE_ID_MAX], mark[200], iso[32], loc[80];
    zq_notice_new in;
    zq_err err = {0};
    bool created = false;
    int rc = 0;

    if (zq_req_require_staff(req, ZQ_ROLE_ADMIN, &who) < 0)
        return 0;
    if (idem != NULL && !zq_idem_key_valid(idem)) {
        zq_resp_error(req, 400, "bad_idempotency_key",
                      "Idempotency-Key 应为 8 到 64 位字母、数字、- 或 _。");
        return 0;
    }
    if (zq_req_json(req, &body) < 0)
        return 0;
    if (!json_is_object(body)) {
        zq_resp_error(req, 400, "bad_request", "请求内容应为 JSON 对象。");
        goto out;
    }
    json_object_foreach(body, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < ZQ_ARRAY_LEN(known); i++)
            ok = ok || strcmp(known[i], key) == 0;
        if (!ok) {
            zq_resp_error(req, 400, "bad_request", "请求中含有不认识的字段。");
            goto out;
        }
    }
    fields = json_object();
    title = json_string_value(json_object_get(body, "title"));
    if (title == NULL || !title_ok(title))
        json_object_set_new(fields, "title", json_string("请填写标题（一行，最长 100 个字）。"));
    v = json_object_get(body, "body");
    text = json_string_value(v);
    if (text == NULL || !body_ok(text, json_string_length(v)))
        json_object_set_new(fields, "body",
                            json_string("请填写正文（最长 16384 字节，不能含控制字符）。"));
    if (zq_audience_parse(json_object_get(body, "audience"), &aud, &msg) < 0)
        json_object_set_new(fields, "audience", json_string(msg));
    v = json_object_get(body, "mentions");
    if (v != NULL && !json_is_null(v) && zq_mentions_parse(v, &mentions, &msg) < 0)
        json_object_set_new(fields, "mentions", json_string(msg));
    v = json_object_get(body, "send_at");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v) || zq_time_parse(json_string_value(v), &send_at) < 0)
            json_object_set_new(
                fields, "send_at",
                json_string("发送时间格式应为 2026-11-26T09:30:00+08:00（不写时区按北京时间）。"));
        else if (send_at > now + SEND_AT_MAX_MS)
            json_object_set_new(fields, "send_at", json_string("发送时间不能晚于一年以后。"));
    }
    if (json_object_size(fields) > 0) {
        zq_resp_error_fields(req, 422, "validation_failed", "请检查标出的内容。", fields);
        fields = NULL;
        goto out;
    }
    aud_s = json_dumps(aud, JSON_COMPACT);
    mentions_s = mentions ? json_dumps(mentions, JSON_COMPACT) : NULL;
    if (aud_s == NULL) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    memset(&in, 0, sizeof(in));
    in.kind = ZQ_NOTICE_NOTICE;
    in.title = title;
    in.body = text;
    in.mentions = mentions_s;
    in.audience = aud_s;
    in.created_by = who ? who->name : "";
    in.now_ms = now;
    in.send_at_ms = send_at;
    if (idem != NULL) {
        if ((rc = zq_notice_idem_mark(req->store, idem, mark, sizeof(mark))) < 0)
            goto out;
        in.mark = mark;
        in.mark_ttl_s = IDEM_TTL_S;
    }
    rc = zq_notice_create(req->store, &in, id, &created, &err);
    if (rc < 0) {
        rc = storage_failed(rc, &err, "notice_create");
        goto out;
    }
    if (created) {
        audit(req, who, "notice_create", id, aud_s);
        ZQ_INFO("event=notice_created id=%s send_at=%lld audience=%s", id,
                (long long)(send_at > now ? send_at : now), aud_s);
    }
    zq_time_iso(send_at > now ? send_at : now, iso);
    if (zq_fmt(loc, sizeof(loc), "/api/admin/notices/%s", id) < 0) {
        rc = -ZQ_ETOOBIG; /* not expected: notice ids are short */
        goto out;
    }
    zq_resp_header(req, "Location", loc);
    zq_resp_json(req, 202,
                 json_pack("{s:{s:s, s:s, s:s, s:s, s:b}}", "notice", "id", id, "state",
                           send_at > now ? "scheduled" : "pending", "send_at", iso, "report", loc,
                           "created", created));
out:
    json_decref(aud);
    json_decref(mentions);
    json_decref(fields);
    free(aud_s);
    free(mentions_s);
    return rc;
}

int zq_h_admin_notices(zq_req *req)
{
    json_t *list = NULL;
    zq_err err = {0};
    long long limit;
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, NULL) < 0 ||
        query_int(req, "limit", 1, 100, 20, &limit) < 0)
        return 0;
    rc = zq_notice_recent(req->store, (int)limit, zq_now_ms(), &list, &err);
    if (rc < 0)
        return storage_failed(rc, &err, "notices_list");
    zq_resp_json(req, 200, json_pack("{s:o}", "notices", list));
    return 0;
}

int zq_h_admin_notice(zq_req *req)
{
    const char *id = req->params[0];
    const char *cursor = zq_req_query(req, "cursor");
    json_t *view = NULL;
    zq_err err = {0};
    long long limit;
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, NULL) < 0 ||
        query_int(req, "limit", 1, 1000, 200, &limit) < 0)
        return 0;
    if (cursor != NULL && !cursor_ok(cursor)) {
        zq_resp_error(req, 400, "bad_request", "参数 cursor 无效。");
        return 0;
    }
    if (!zq_notice_id_valid(id)) {
        zq_resp_error(req, 404, "not_found", "没有这条通知。");
        return 0;
    }
    rc = zq_notice_report(req->store, id, cursor ? cursor : "0", (int)limit, zq_now_ms(), &view,
                          &err);
    if (rc == -ZQ_ENOTFOUND) {
        zq_resp_error(req, 404, "not_found", "没有这条通知。");
        return 0;
    }
    if (rc < 0)
        return storage_failed(rc, &err, "notice_report");
    zq_resp_json(req, 200, json_pack("{s:o}", "notice", view));
    return 0;
}

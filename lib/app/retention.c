/* Personal data retention (retention.h). Lives in app because one run
 * spans the cases (intake, staff's audit) and the delivery reports (push).
 *
 * Keys read and written (prefix omitted): cases:status:{final status},
 * case:{id}, case:{id}:log, audit, notices, notice:{id}:report. */
#include "zhuqi/retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/audit.h"
#include "zhuqi/buf.h"
#include "zhuqi/calendar.h"
#include "zhuqi/files.h"
#include "zhuqi/log.h"
#include "zhuqi/summary.h"
#include "zhuqi/workflow.h"

#define BATCH 200
#define DAY_MS 86400000LL

/* The hash fields a purged case keeps: the list row's fields without the
 * mobile, the outcome (result, amount recovered, department, the clocks'
 * on-time marks), the answers (filtered), the packs, the mark, and the
 * enterprise's rating (statistics; its comment is free text and goes).
 * Any other field (mobile, idempotency owner, what later features add)
 * goes. */
#define KEEP_FIELDS_LUA                                                                            \
    "'id', 'form', 'status', 'created_ms', 'updated_ms', 'region', 'source', 'dup_of', "           \
    "'handler', 'office', 'cross_region', 'due_kind', 'due_start', 'due_date', 'due_limit', "      \
    "'due_ext', 'answered_ms', 'answered_on_time', 'result', 'recovered_fen', 'department', "      \
    "'review_on_time', 'transfer_on_time', 'answers', 'list_sum', 'list_row', 'purged_ms', "       \
    "'rating', 'rated_ms'"

/* KEYS[1] case:{id}, KEYS[2] case:{id}:log. ARGV: 1 status and 2
 * updated_ms as read (the case must not have changed since), 3 the log's
 * length as read, 4 filtered answers, 5 list_sum ("" for none), 6
 * purged_ms, 7 the new log entries as a JSON array of strings. 1 purged,
 * 0 changed meanwhile. Fields outside KEEP_FIELDS_LUA are deleted. */
static zq_script purge_script = {
    .src = ZQ_SUMMARY_LUA_PACK_ROW
    "local ck, lk = KEYS[1], KEYS[2]\n"
    "local h = redis.call('HMGET', ck, 'status', 'updated_ms', 'purged_ms')\n"
    "if h[1] ~= ARGV[1] or h[2] ~= ARGV[2] or h[3] then return 0 end\n"
    "if redis.call('LLEN', lk) ~= tonumber(ARGV[3]) then return 0 end\n"
    "local keep = {}\n"
    "for _, f in ipairs({" KEEP_FIELDS_LUA "}) do keep[f] = true end\n"
    "for _, f in ipairs(redis.call('HKEYS', ck)) do\n"
    "  if not keep[f] then redis.call('HDEL', ck, f) end\n"
    "end\n"
    "redis.call('HSET', ck, 'answers', ARGV[4], 'purged_ms', ARGV[6])\n"
    "if ARGV[5] ~= '' then redis.call('HSET', ck, 'list_sum', ARGV[5])\n"
    "else redis.call('HDEL', ck, 'list_sum') end\n"
    "zq_pack_row(ck)\n"
    "redis.call('DEL', lk)\n"
    "for _, e in ipairs(cjson.decode(ARGV[7])) do redis.call('RPUSH', lk, e) end\n"
    "return 1\n",
};

void zq_retention_opts_from(zq_retention_opts *o, const zq_config *cfg)
{
    memset(o, 0, sizeof(*o));
    o->closed_case_days = cfg->retention.closed_case_days;
    o->audit_days = cfg->retention.audit_days;
    o->report_days = cfg->retention.report_days;
}

json_t *zq_retention_public(const zq_config *cfg)
{
    return json_pack("{s:i, s:i, s:i, s:i, s:i}", "closed_case_days",
                     cfg->retention.closed_case_days, "draft_seconds", cfg->intake.session_ttl_s,
                     "chat_seconds", cfg->chat.session_ttl_s, "audit_days",
                     cfg->retention.audit_days, "report_days", cfg->retention.report_days);
}

/* True when answers of this type may stay: they are what statistics
 * count (categories, amounts, dates, places, yes/no), never a name, a
 * number that identifies someone, or free text. */
static bool type_kept(zq_field_type t)
{
    return t == ZQ_FIELD_ENUM || t == ZQ_FIELD_MONEY || t == ZQ_FIELD_DATE ||
           t == ZQ_FIELD_REGION || t == ZQ_FIELD_BOOL;
}

/* The answers a purged case keeps (new object; NULL when out of memory). */
static json_t *filter_answers(const zq_schema *schema, const char *form, json_t *answers)
{
    const zq_form *f = schema ? zq_schema_form(schema, form) : NULL;
    json_t *out = json_object(), *v;
    const char *k;

    if (out == NULL || f == NULL || !json_is_object(answers))
        return out;
    json_object_foreach(answers, k, v)
    {
        const zq_field *fd = zq_form_field(f, k, NULL);

        if (fd != NULL && type_kept(fd->type))
            json_object_set(out, k, v);
    }
    return out;
}

/* The history without its free text: each entry keeps when, from, to,
 * by, and what kind of entry it is with its rating (an evaluation). Appends each new entry's JSON
 * text to list (strings). Returns when the case closed (the last entry into status), or 0. */
static int64_t scrub_log(const redisReply *log, const char *status, json_t *list)
{
    int64_t closed = 0;

    for (size_t i = 0; i < log->elements; i++) {
        json_t *e = json_loads(log->element[i]->str, 0, NULL), *o;
        const char *to;
        char *s;

        if (e == NULL)
            continue; /* unreadable: dropped with the rest of the text */
        to = json_string_value(json_object_get(e, "to"));
        if (to != NULL && strcmp(to, status) == 0)
            closed = json_integer_value(json_object_get(e, "at_ms"));
        o = json_pack("{s:O*, s:O*, s:O*, s:O*, s:s, s:O*, s:O*}", "at_ms",
                      json_object_get(e, "at_ms"), "from", json_object_get(e, "from"), "to",
                      json_object_get(e, "to"), "by", json_object_get(e, "by"), "note", "", "kind",
                      json_object_get(e, "kind"), "rating", json_object_get(e, "rating"));
        s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        if (s != NULL)
            json_array_append_new(list, json_string(s));
        free(s);
        json_decref(o);
        json_decref(e);
    }
    return closed;
}

static int audit_purge(zq_store *st, const zq_retention_opts *o, const char *id, int64_t closed,
                       int64_t now, zq_err *err)
{
    char detail[128];
    zq_audit a = {.who = o->who ? o->who : "retention",
                  .role = "system",
                  .action = "retention_purge",
                  .target = id,
                  .addr = "",
                  .rid = "",
                  .detail = detail,
                  .at_ms = now};

    if (zq_fmt(detail, sizeof(detail), "{\"closed_ms\":%lld,\"closed_case_days\":%d}",
               (long long)closed, o->closed_case_days) < 0)
        detail[0] = '\0';
    return zq_audit_write(st, &a, err);
}

/* Purges one case when it is due. Returns 1 purged (or due, in a dry
 * run), 0 not due, or a negative code (Redis). */
static int one_case(zq_store *st, const zq_schema *schema, const zq_retention_opts *o,
                    const char *id, int64_t now, zq_retention_result *res, zq_err *err)
{
    char ck[160], lk[170], llen[24], purged[24];
    redisReply *h = NULL, *log = NULL, *r = NULL;
    json_t *answers = NULL, *kept = NULL, *entries = json_array();
    zq_buf sum = {0};
    zq_summary s;
    const char *argv[9];
    char *kept_s = NULL, *entries_s = NULL;
    int64_t closed;
    int rc = 0;

    if (zq_store_key(st, ck, sizeof(ck), "case:%s", id) < 0 ||
        zq_store_key(st, lk, sizeof(lk), "case:%s:log", id) < 0)
        return 0;
    zq_store_append(st, "HMGET %s status updated_ms purged_ms form answers", ck);
    zq_store_append(st, "LRANGE %s 0 -1", lk);
    {
        redisReply *rr[2] = {NULL, NULL};

        if ((rc = zq_store_read_replies(st, err, 2, rr)) < 0)
            return rc;
        h = rr[0];
        log = rr[1];
    }
    if (h->type != REDIS_REPLY_ARRAY || h->elements != 5 || log->type != REDIS_REPLY_ARRAY ||
        h->element[0]->type != REDIS_REPLY_STRING || h->element[1]->type != REDIS_REPLY_STRING ||
        h->element[2]->type == REDIS_REPLY_STRING || h->element[3]->type != REDIS_REPLY_STRING)
        goto out; /* gone, half-written, or purged already */
    if (entries == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "out of memory");
        goto out;
    }
    closed = scrub_log(log, h->element[0]->str, entries);
    if (closed <= 0) {
        long long upd;

        /* No history entry into the status: its last change then. */
        if (zq_parse_ll(h->element[1]->str, h->element[1]->len, 0, INT64_MAX, &upd) < 0)
            goto out;
        closed = upd;
    }
    if (closed > now - (int64_t)o->closed_case_days * DAY_MS)
        goto out;
    res->cases_due++;
    rc = 1;
    if (!o->apply)
        goto out;
    if (o->remove_files != NULL && o->remove_files(o->files_ctx, id, err) < 0) {
        ZQ_WARN("event=retention_files_failed case=%s err=\"%s\"", id, err ? err->msg : "");
        res->failed++;
        rc = 0;
        goto out;
    }
    answers =
        h->element[4]->type == REDIS_REPLY_STRING ? json_loads(h->element[4]->str, 0, NULL) : NULL;
    kept = filter_answers(schema, h->element[3]->str, answers);
    kept_s = kept ? json_dumps(kept, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    zq_summary_from_answers(h->element[3]->str, kept, &s);
    rc = kept_s != NULL ? zq_summary_pack(&s, &sum) : -ZQ_ENOMEM;
    if (rc == -ZQ_EINVAL)
        zq_buf_reset(&sum); /* no pack: the list reads the answers */
    if (rc == -ZQ_ENOMEM || zq_buf_append(&sum, "", 1) < 0) {
        rc = zq_err_set(err, ZQ_ENOMEM, "out of memory");
        goto out;
    }
    entries_s = json_dumps(entries, JSON_COMPACT);
    if (entries_s == NULL || zq_fmt(llen, sizeof(llen), "%zu", log->elements) < 0 ||
        zq_fmt(purged, sizeof(purged), "%lld", (long long)now) < 0) {
        rc = zq_err_set(err, ZQ_ENOMEM, "out of memory");
        goto out;
    }
    argv[0] = ck;
    argv[1] = lk;
    argv[2] = h->element[0]->str;
    argv[3] = h->element[1]->str;
    argv[4] = llen;
    argv[5] = kept_s;
    argv[6] = sum.data != NULL ? sum.data : "";
    argv[7] = purged;
    argv[8] = entries_s;
    r = zq_store_script(st, err, &purge_script, 2, 9, argv, NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (r->type != REDIS_REPLY_INTEGER) {
        rc = zq_err_set(err, ZQ_EREPLY, "purge %s: %s", id,
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected answer");
        goto out;
    }
    if (r->integer != 1) {
        res->failed++; /* changed meanwhile: the next run sees it again */
        rc = 0;
        goto out;
    }
    res->cases_purged++;
    if ((rc = audit_purge(st, o, id, closed, now, err)) < 0)
        goto out;
    ZQ_INFO("event=retention_purged case=%s closed_ms=%lld", id, (long long)closed);
    rc = 1;
out:
    free(entries_s);
    free(kept_s);
    json_decref(entries);
    json_decref(kept);
    json_decref(answers);
    zq_buf_free(&sum);
    if (r != NULL)
        freeReplyObject(r);
    if (h != NULL)
        freeReplyObject(h);
    if (log != NULL)
        freeReplyObject(log);
    return rc;
}

/* Every case of one final status: ids in batches from its index. */
static int cases_of(zq_store *st, const zq_schema *schema, const zq_retention_opts *o,
                    const char *status, int64_t now, zq_retention_result *res, zq_err *err)
{
    char key[96];
    long long start = 0;
    int rc = 0;

    if (zq_store_key(st, key, sizeof(key), "cases:status:%s", status) < 0)
        return 0;
    for (;;) {
        redisReply *r =
            zq_store_command(st, err, "ZRANGE %s %lld %lld", key, start, start + BATCH - 1);

        if (r == NULL)
            return -ZQ_EUNAVAIL;
        if (r->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            return zq_err_set(err, ZQ_EREPLY, "ZRANGE %s: unexpected answer", key);
        }
        for (size_t i = 0; i < r->elements && rc >= 0; i++)
            rc = one_case(st, schema, o, r->element[i]->str, now, res, err);
        start += (long long)r->elements;
        if (r->elements < BATCH || rc < 0) {
            freeReplyObject(r);
            break;
        }
        freeReplyObject(r);
    }
    return rc < 0 ? rc : 0;
}

/* Audit entries older than the period: counted, and trimmed when
 * applying (XTRIM MINID, Redis 6.2+). */
static int trim_audit(zq_store *st, const zq_retention_opts *o, int64_t now,
                      zq_retention_result *res, zq_err *err)
{
    char key[64], minid[32];
    redisReply *r;
    long long cut = now - (long long)o->audit_days * DAY_MS;

    if (zq_store_key(st, key, sizeof(key), "audit") < 0 ||
        zq_fmt(minid, sizeof(minid), "%lld", cut) < 0)
        return 0;
    r = zq_store_command(st, err, "XRANGE %s - (%s", key, minid);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ARRAY)
        res->audit_due = (long long)r->elements;
    freeReplyObject(r);
    if (!o->apply || res->audit_due == 0)
        return 0;
    r = zq_store_command(st, err, "XTRIM %s MINID %s", key, minid);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    freeReplyObject(r);
    return 0;
}

/* Delivery reports of notices created before the period. */
static int drop_reports(zq_store *st, const zq_retention_opts *o, int64_t now,
                        zq_retention_result *res, zq_err *err)
{
    char key[64], rk[160];
    long long cut = now - (long long)o->report_days * DAY_MS;
    redisReply *r;
    int rc = 0;

    if (zq_store_key(st, key, sizeof(key), "notices") < 0)
        return 0;
    r = zq_store_command(st, err, "ZRANGEBYSCORE %s -inf (%lld", key, cut);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && rc == 0; i++) {
        redisReply *d;

        if (zq_store_key(st, rk, sizeof(rk), "notice:%s:report", r->element[i]->str) < 0)
            continue;
        d = zq_store_command(st, err, o->apply ? "DEL %s" : "EXISTS %s", rk);
        if (d == NULL) {
            rc = -ZQ_EUNAVAIL;
            break;
        }
        if (d->type == REDIS_REPLY_INTEGER && d->integer > 0)
            res->reports_due++;
        freeReplyObject(d);
    }
    freeReplyObject(r);
    return rc;
}

int zq_retention_run(zq_store *st, const zq_schema *schema, const zq_retention_opts *o,
                     zq_retention_result *res, zq_err *err)
{
    int64_t now = o->now_ms > 0 ? o->now_ms : zq_now_ms();
    const char *done[16];
    size_t nd = 0;
    int rc = 0;

    memset(res, 0, sizeof(*res));
    /* The final statuses of every workflow, each once. */
    for (size_t m = 0; rc == 0 && m < zq_wf_nmachines(); m++) {
        const zq_wf_machine *wm = zq_wf_machine_at(m);

        for (size_t s = 0; rc == 0 && s < wm->nstatuses; s++) {
            const char *name = wm->statuses[s].id;
            bool seen = false;

            if (!wm->statuses[s].final)
                continue;
            for (size_t k = 0; k < nd; k++)
                seen |= strcmp(done[k], name) == 0;
            if (seen || nd >= ZQ_ARRAY_LEN(done))
                continue;
            done[nd++] = name;
            rc = cases_of(st, schema, o, name, now, res, err);
        }
    }
    if (rc == 0)
        rc = trim_audit(st, o, now, res, err);
    if (rc == 0)
        rc = drop_reports(st, o, now, res, err);
    return rc;
}

int zq_retention_remove_files(void *ctx, const char *case_id, zq_err *err)
{
    const zq_retention_files *c = ctx;
    int removed = 0;
    int rc = zq_files_remove_case(c->st, c->schema, c->fs, case_id, &removed, err);

    if (removed > 0)
        ZQ_INFO("event=retention_files_removed case=%s files=%d", case_id, removed);
    return rc;
}

int zq_retention_daily(zq_store *st, const zq_schema *schema, zq_filestore *fs,
                       const zq_config *cfg, const char *who, int64_t now_ms, bool *ran,
                       zq_retention_result *res, zq_err *err)
{
    zq_retention_files files = {.st = st, .schema = schema, .fs = fs};
    const char *t = cfg->retention.daily_time;
    int64_t local_s = now_ms / 1000 + ZQ_BEIJING_OFFSET_S;
    int minute = (int)((local_s % 86400) / 60);
    char day[ZQ_DATE_STRLEN], mark[96];
    zq_retention_opts o;
    redisReply *r;
    bool claimed;
    int rc;

    *ran = false;
    memset(res, 0, sizeof(*res));
    if (t[0] == '\0' ||
        minute < ((t[0] - '0') * 10 + (t[1] - '0')) * 60 + (t[3] - '0') * 10 + (t[4] - '0'))
        return 0;
    zq_date_format(zq_date_from_unix((time_t)(now_ms / 1000)), day, sizeof(day));
    if (zq_store_key(st, mark, sizeof(mark), "retention:day:%s", day) < 0)
        return zq_err_set(err, ZQ_EINVAL, "retention mark too long");
    r = zq_store_command(st, err, "SET %s %s NX EX 259200", mark, who);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    claimed = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (!claimed)
        return 0;
    zq_retention_opts_from(&o, cfg);
    o.apply = true;
    o.now_ms = now_ms;
    o.who = who;
    o.remove_files = zq_retention_remove_files;
    o.files_ctx = &files;
    rc = zq_retention_run(st, schema, &o, res, err);
    *ran = true;
    if (rc < 0) {
        zq_err e2 = {0};

        r = zq_store_command(st, &e2, "DEL %s", mark);
        if (r != NULL)
            freeReplyObject(r);
    }
    return rc;
}

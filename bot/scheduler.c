/* The scheduler: one instance at a time (a lease in Redis, renewed by a
 * compare-and-expire script) turns reminder rules into notices, each
 * occurrence once (a mark per rule and occurrence, set in the same script
 * that creates the notice); and every instance fans due notices out into
 * the outbox, in atomic chunks, pausing while the outbox is long. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "zhuqi/cases.h"
#include "zhuqi/log.h"
#include "zhuqi/notices.h"
#include "zhuqi/retention.h"
#include "zhuqi/schedule.h"
#include "zhuqi/staff.h"
#include "zhuqi/workflow.h"

#define FANOUT_CHUNK 1000
#define FANOUT_CHUNKS_PER_TURN 8
#define OUTBOX_HIGH_WATER 50000
#define SCHED_EVERY_MS 1000
/* How far back the scheduler looks for occurrences to log as skipped. */
#define SKIP_LOOKBACK_MS (7LL * 86400 * 1000)
#define MARK_TTL_S (400 * 86400)
#define MAX_OCC 256

static void renew_lease(zq_bot *b, int64_t now)
{
    zq_err err = {0};
    bool was = b->leader;
    int rc;

    if (now < b->next_lease_mono)
        return;
    b->next_lease_mono = now + b->cfg->bot.lease_ms / 3;
    /* Without Redis we cannot know: b->leader is false, and we stop
     * scheduling until we can. */
    rc = zq_schedule_lease(b->st, b->consumer, b->cfg->bot.lease_ms, &b->leader, &err);
    zq_bot_redis(b, rc, "lease", &err);
    if (b->leader != was)
        ZQ_INFO("event=%s consumer=%s",
                b->leader ? "scheduler_lease_acquired" : "scheduler_lease_lost", b->consumer);
}

void zq_sched_release(zq_bot *b)
{
    zq_err err = {0};

    if (!b->leader)
        return;
    zq_schedule_release(b->st, b->consumer, &err);
    b->leader = false;
}

/* The scheduler's clock: the wall clock, shifted in tests. */
static int64_t sched_now(const zq_bot *b)
{
    return zq_now_ms() + b->cfg->bot.clock_offset_s * 1000;
}

/* Creates the notice of a due occurrence once. */
static void create_occurrence(zq_bot *b, const zq_occurrence *o, int64_t now_ms)
{
    zq_class cls;
    zq_buf title = {0}, body = {0};
    zq_notice_new in;
    zq_err err = {0};
    char mark[ZQ_SCHEDULE_KEY_MAX], id[ZQ_NOTICE_ID_MAX], ev[ZQ_DATE_STRLEN], fire[32];
    json_t *meta;
    char *meta_s = NULL;
    bool created = false, have_class;
    int rc;

    rc = zq_class_for_month(b->st, o->event, &cls, &err);
    if (rc == -ZQ_EUNAVAIL) {
        zq_bot_redis(b, rc, "classes", &err);
        return;
    }
    have_class = rc == 0;
    if (zq_reminder_render(o, have_class ? &cls : NULL, &title, &body) < 0)
        goto out;
    zq_date_format(o->event, ev, sizeof(ev));
    zq_time_iso(o->fire_ms, fire);
    meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "rule", o->rule->id, "occurrence", o->id,
                     "event_date", ev, "due_at", fire, "shift", zq_cal_shift_name(o->rule->shift),
                     "class", have_class ? cls.id : "");
    meta_s = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
    json_decref(meta);
    zq_schedule_mark_key(b->st, o->id, mark);
    memset(&in, 0, sizeof(in));
    in.kind = ZQ_NOTICE_REMINDER;
    in.title = title.data ? title.data : "";
    in.body = body.data ? body.data : "";
    in.audience = o->rule->audience;
    in.meta = meta_s;
    in.created_by = "scheduler";
    in.now_ms = zq_now_ms();
    in.mark = mark;
    in.mark_ttl_s = MARK_TTL_S;
    rc = zq_notice_create(b->st, &in, id, &created, &err);
    zq_bot_redis(b, rc == -ZQ_EUNAVAIL ? rc : 0, "reminder", &err);
    if (rc < 0 && rc != -ZQ_EUNAVAIL)
        ZQ_ERROR("event=reminder_failed occurrence=%s err=\"%s\"", o->id, err.msg);
    else if (rc == 0 && created)
        ZQ_INFO("event=reminder_created occurrence=%s notice=%s late_s=%lld class=%s", o->id, id,
                (long long)((now_ms - o->fire_ms) / 1000), have_class ? cls.id : "none");
out:
    free(meta_s);
    zq_buf_free(&title);
    zq_buf_free(&body);
}

static void run_reminders(zq_bot *b)
{
    int64_t now_ms = sched_now(b);
    int64_t grace_ms = (int64_t)b->cfg->bot.catch_up_grace_s * 1000;
    zq_occurrence *occ;
    bool *marked = NULL, first;
    zq_err err = {0};
    int n, rc;

    if (b->app->reminders == NULL || b->app->reminders->n == 0)
        return;
    occ = calloc(MAX_OCC, sizeof(*occ));
    if (occ == NULL)
        return;
    n = zq_reminder_occurrences(b->app->reminders, b->app->calendar,
                                now_ms - grace_ms - SKIP_LOOKBACK_MS, now_ms, occ, MAX_OCC);
    if (n == 0)
        goto out;
    marked = calloc((size_t)n, sizeof(*marked));
    if (marked == NULL)
        goto out;
    rc = zq_schedule_marked(b->st, occ, n, marked, &err);
    if (rc < 0) {
        zq_bot_redis(b, rc, "schedule", &err);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        zq_occ_state s = zq_occurrence_state(&occ[i], now_ms, b->cfg->bot.catch_up_grace_s);

        if (marked[i] || s == ZQ_OCC_FUTURE)
            continue;
        if (s == ZQ_OCC_DUE) {
            create_occurrence(b, &occ[i], now_ms);
        } else if (zq_schedule_skip(b->st, occ[i].id, MARK_TTL_S, &first, &err) == 0 && first) {
            /* Too late to be useful: never sent, logged once. */
            char fire[32];

            zq_time_iso(occ[i].fire_ms, fire);
            ZQ_WARN("event=reminder_skipped occurrence=%s due_at=%s late_s=%lld grace_s=%d",
                    occ[i].id, fire, (long long)((now_ms - occ[i].fire_ms) / 1000),
                    b->cfg->bot.catch_up_grace_s);
        }
    }
out:
    free(marked);
    free(occ);
}

/* The staff digest: on a working day, from digest_time until noon (Beijing
 * time), one notice per day to the targets tagged digest_tag listing the
 * cases overdue or due within two working days, per office. A mark per
 * date makes it once across restarts and instances; a bot that was down
 * all morning skips the day rather than sending a stale digest late. */
static void run_digest(zq_bot *b)
{
    const zq_config *cfg = b->cfg;
    int64_t now_ms = sched_now(b);
    int64_t local_s = now_ms / 1000 + ZQ_BEIJING_OFFSET_S;
    int minute = (int)((local_s % 86400) / 60), at;
    zq_staff_ctx ctx;
    zq_notice_new in;
    zq_err err = {0};
    json_t *digest = NULL, *aud = NULL;
    char *text = NULL, *aud_s = NULL;
    char day[ZQ_DATE_STRLEN], mark[ZQ_SCHEDULE_KEY_MAX], id[ZQ_NOTICE_ID_MAX], title[96];
    bool created = false, done;
    int rc;

    if (cfg->bot.digest_time[0] == '\0')
        return;
    at = ((cfg->bot.digest_time[0] - '0') * 10 + (cfg->bot.digest_time[1] - '0')) * 60 +
         (cfg->bot.digest_time[3] - '0') * 10 + (cfg->bot.digest_time[4] - '0');
    at = zq_reminder_off_peak(at, cfg->bot.reminder_shift_min);
    if (minute < at || minute >= 12 * 60)
        return;
    memset(&ctx, 0, sizeof(ctx));
    ctx.today = zq_date_from_unix((time_t)(now_ms / 1000));
    if (!zq_cal_is_workday(b->app->calendar, ctx.today))
        return;
    zq_date_format(ctx.today, day, sizeof(day));
    zq_schedule_digest_key(b->st, day, mark);
    rc = zq_schedule_mark_exists(b->st, mark, &done, &err);
    if (rc < 0) {
        zq_bot_redis(b, rc, "digest", &err);
        return;
    }
    if (done)
        return;
    ctx.schema = b->app->schema;
    ctx.cal = b->app->calendar;
    zq_wf_limits_from_config(cfg, &ctx.lim);
    rc = zq_staff_digest(b->st, &ctx, 2, &digest, &err);
    if (rc < 0) {
        zq_bot_redis(b, rc == -ZQ_EUNAVAIL ? rc : 0, "digest", &err);
        if (rc != -ZQ_EUNAVAIL)
            ZQ_ERROR("event=digest_failed date=%s err=\"%s\"", day, err.msg);
        return;
    }
    text = zq_staff_digest_text(digest);
    aud = json_pack("{s:[s]}", "tags", cfg->bot.digest_tag);
    aud_s = aud ? json_dumps(aud, JSON_COMPACT) : NULL;
    /* A date in 96 bytes: it fits. */
    if (text == NULL || aud_s == NULL || zq_fmt(title, sizeof(title), "办件期限提醒 %s", day) < 0)
        goto out;

    memset(&in, 0, sizeof(in));
    in.kind = ZQ_NOTICE_REMINDER;
    in.title = title;
    in.body = text;
    in.audience = aud_s;
    in.created_by = "scheduler";
    in.now_ms = zq_now_ms();
    in.mark = mark;
    in.mark_ttl_s = 40 * 86400;
    rc = zq_notice_create(b->st, &in, id, &created, &err);
    zq_bot_redis(b, rc == -ZQ_EUNAVAIL ? rc : 0, "digest", &err);
    if (rc == 0 && created)
        ZQ_INFO("event=digest_created date=%s notice=%s overdue=%lld due_soon=%lld", day, id,
                (long long)json_integer_value(json_object_get(digest, "total_overdue")),
                (long long)json_integer_value(json_object_get(digest, "total_due_soon")));
    else if (rc < 0 && rc != -ZQ_EUNAVAIL)
        ZQ_ERROR("event=digest_failed date=%s err=\"%s\"", day, err.msg);
out:
    json_decref(digest);
    json_decref(aud);
    free(text);
    free(aud_s);
}

/* Fans due notices out. Returns true when there is more to do at once. */
static bool run_fanout(zq_bot *b)
{
    char ids[8][ZQ_NOTICE_ID_MAX];
    zq_outbox_stats stats;
    zq_err err = {0};
    int n = 0, rc, chunks = 0;
    bool more = false;

    rc = zq_notice_due(b->st, zq_now_ms(), ids, 8, &n, &err);
    zq_bot_redis(b, rc, "notices_due", &err);
    if (rc < 0 || n == 0)
        return false;
    rc = zq_outbox_stats_get(b->st, &stats, &err);
    if (rc == 0 && stats.main + stats.prio > OUTBOX_HIGH_WATER) {
        ZQ_DEBUG("event=fanout_paused outbox=%lld", stats.main + stats.prio);
        return false;
    }
    for (int i = 0; i < n && chunks < FANOUT_CHUNKS_PER_TURN; i++) {
        int added = 0, left = 1;

        while (left > 0 && chunks < FANOUT_CHUNKS_PER_TURN) {
            rc = zq_notice_fanout(b->st, ids[i], FANOUT_CHUNK, zq_now_ms(), &added, &left, &err);
            chunks++;
            if (rc == -ZQ_ENOTFOUND)
                break;
            zq_bot_redis(b, rc, "fanout", &err);
            if (rc < 0) {
                if (rc == -ZQ_EREPLY)
                    ZQ_ERROR("event=fanout_failed notice=%s err=\"%s\"", ids[i], err.msg);
                return false;
            }
            if (added > 0)
                ZQ_INFO("event=fanout notice=%s queued=%d left=%d", ids[i], added, left);
            b->next_read_mono = 0;
        }
        if (left > 0)
            more = true;
    }
    return more || n == 8;
}

/* Personal data retention once a day (retention.h), by the lease holder. */
static void run_retention(zq_bot *b)
{
    zq_retention_result res;
    zq_err err = {0};
    bool ran;
    int rc = zq_retention_daily(b->st, b->app->schema, b->app->files, b->cfg, b->consumer,
                                sched_now(b), &ran, &res, &err);

    zq_bot_redis(b, rc == -ZQ_EUNAVAIL ? rc : 0, "retention", &err);
    if (rc < 0 && rc != -ZQ_EUNAVAIL)
        ZQ_ERROR("event=retention_failed err=\"%s\"", err.msg);
    else if (ran)
        ZQ_INFO("event=retention_run cases_due=%lld cases_purged=%lld failed=%lld audit_due=%lld "
                "reports_due=%lld",
                res.cases_due, res.cases_purged, res.failed, res.audit_due, res.reports_due);
}

void zq_sched_step(zq_bot *b, int64_t now)
{
    if (b->stopping)
        return;
    renew_lease(b, now);
    if (b->leader && now >= b->next_sched_mono) {
        b->next_sched_mono = now + SCHED_EVERY_MS;
        run_reminders(b);
        run_digest(b);
        zq_files_sweep_step(b);
        run_retention(b);
    }
    if (now >= b->next_fanout_mono) {
        bool more = run_fanout(b);
        b->next_fanout_mono = more ? now : now + b->cfg->bot.poll_ms;
    }
}

bool zq_sched_busy(const zq_bot *b, int64_t now)
{
    return b->next_fanout_mono <= now;
}

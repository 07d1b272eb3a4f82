/* Case events: the `events` stream the intake (lib/intake/cases.c) and the staff
 * workflow (lib/staff/) write, read through the consumer group "bot".
 * A new case is announced to the targets tagged both "staff" and the
 * case's region ("region:<code>"), without personal data; a status change
 * of a case that came from a chat goes to that chat when a target exists
 * for it (the id zq_target_chat_id() gives, created when the user
 * subscribes in the chat); a case the enterprise withdrew is announced to
 * the same staff as a new one. Each event makes its notice once: a mark
 * per event id is set in the script that creates the notice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "zhuqi/announce.h"
#include "zhuqi/cases.h"
#include "zhuqi/events.h"
#include "zhuqi/log.h"
#include "zhuqi/notices.h"
#include "zhuqi/smsq.h"
#include "zhuqi/targets.h"
#include "zhuqi/workflow.h"

#define EVENT_MARK_TTL_S (30 * 86400)

typedef zq_event event;

static int render_case(zq_bot *b, const zq_template *t, const event *ev, const char *deadline,
                       zq_buf *title, zq_buf *body)
{
    const zq_form *f = b->app->schema ? zq_schema_form(b->app->schema, ev->form) : NULL;
    const zq_region *r = b->app->schema ? zq_schema_region(b->app->schema, ev->region) : NULL;
    zq_tvar vars[8];

    vars[0] = (zq_tvar){"case.id", ev->id};
    vars[1] = (zq_tvar){"case.type", f ? f->title : ev->form};
    vars[2] = (zq_tvar){"case.region", r ? r->name : (*ev->region ? ev->region : "未填写")};
    vars[3] = (zq_tvar){"case.status", ev->to};
    vars[4] = (zq_tvar){"case.status_label", zq_case_status_label(ev->to)};
    vars[5] = (zq_tvar){"case.duplicate", ev->dup_of};
    vars[6] = (zq_tvar){"case.message", ev->note};
    vars[7] = (zq_tvar){"case.deadline", deadline};
    return zq_template_render(t, vars, 8, title, body);
}

/* The meta ({"case","event","type"}, a new string into *meta) and the
 * text of ev's notice from template t. Returns 0, or -1 (out of memory,
 * or the template failed: the caller drops the notice). */
static int event_text(zq_bot *b, const zq_template *t, const event *ev, const char *type,
                      const char *deadline, char **meta, zq_buf *title, zq_buf *body)
{
    json_t *m = json_pack("{s:s, s:s, s:s}", "case", ev->id, "event", ev->sid, "type", type);

    *meta = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    return *meta != NULL && render_case(b, t, ev, deadline, title, body) == 0 ? 0 : -1;
}

/* The targets of ev's announcement: everyone tagged "staff" and the
 * case's region when batching is off, else (zq_announce_split) those
 * still within [events] announce_per_minute in this window; *skip when
 * no one gets it alone. Returns 0, -ZQ_EUNAVAIL, or another code (logged,
 * the event is dropped). */
static int case_audience(zq_bot *b, const event *ev, const char *region_tag, char **aud_s,
                         bool *skip)
{
    const char *tags[2] = {"staff", region_tag};
    json_t *aud, *alone = NULL;
    int64_t window = 0;
    zq_err err = {0};
    int rc, ntargets = 0;

    *aud_s = NULL;
    *skip = false;
    if (b->cfg->events.announce_per_minute <= 0) {
        aud = json_pack("{s:[s,s], s:s, s:[]}", "tags", "staff", region_tag, "match", "all",
                        "targets");
    } else {
        rc = zq_announce_split(b->st, ev->sid, ev->id, tags, 2, b->cfg->events.announce_per_minute,
                               b->cfg->events.announce_window_ms, zq_now_ms(), &alone, &window,
                               &ntargets, &err);
        if (rc < 0) {
            if (rc != -ZQ_EUNAVAIL)
                ZQ_ERROR("event=case_announce_failed case=%s err=\"%s\"", ev->id, err.msg);
            return rc;
        }
        if (json_array_size(alone) == 0) {
            if (ntargets > 0)
                ZQ_INFO("event=case_batched case=%s region=%s window=%lld targets=%d", ev->id,
                        ev->region, (long long)window, ntargets);
            else
                ZQ_INFO("event=case_not_announced case=%s region=%s reason=no_staff_target", ev->id,
                        ev->region);
            json_decref(alone);
            *skip = true;
            return 0;
        }
        aud = json_pack("{s:[], s:s, s:o}", "tags", "match", "any", "targets", alone);
    }
    *aud_s = aud ? json_dumps(aud, JSON_COMPACT) : NULL;
    json_decref(aud);
    return *aud_s != NULL ? 0 : -ZQ_ENOMEM;
}

/* Creates a case notice to the staff audience aud_s, once per mark (an
 * event's): zq_notice_create's returns. */
static int staff_notice(zq_bot *b, const char *aud_s, const char *meta_s, const zq_buf *title,
                        const zq_buf *body, const char *mark, char id[ZQ_NOTICE_ID_MAX],
                        bool *created, zq_err *err)
{
    zq_notice_new in;

    memset(&in, 0, sizeof(in));
    in.kind = ZQ_NOTICE_CASE;
    in.title = title->data ? title->data : "";
    in.body = body->data ? body->data : "";
    in.audience = aud_s;
    in.meta = meta_s;
    in.created_by = "events";
    in.now_ms = zq_now_ms();
    in.mark = mark;
    in.mark_ttl_s = EVENT_MARK_TTL_S;
    return zq_notice_create(b->st, &in, id, created, err);
}

/* Returns 0 when the event is dealt with (acknowledge it), or a negative
 * code to leave it pending (Redis trouble). */
static int case_created(zq_bot *b, const event *ev)
{
    zq_buf title = {0}, body = {0};
    zq_err err = {0};
    char mark[ZQ_EVENTS_KEY_MAX], id[ZQ_NOTICE_ID_MAX], region_tag[ZQ_TAG_MAX];
    char *aud_s = NULL, *meta_s = NULL;
    bool created = false, skip = false;
    int rc = 0;

    if (b->app->case_created == NULL)
        return 0;
    /* A cut tag would reach another region's staff: tell no one instead. */
    if (zq_fmt(region_tag, sizeof(region_tag), "region:%s", *ev->region ? ev->region : "none") <
        0) {
        ZQ_ERROR("event=case_created_skipped case=%s reason=region_too_long", ev->id);
        return 0;
    }
    /* The split is stored under the event's id before the notice is made:
     * handled again after a crash, the event gets the same split, and the
     * notice's mark makes it once. */
    rc = case_audience(b, ev, region_tag, &aud_s, &skip);
    if (rc < 0 || skip)
        goto out;
    if (event_text(b, b->app->case_created, ev, "case_created", "", &meta_s, &title, &body) < 0)
        goto out;
    zq_events_mark_key(b->st, ev->sid, mark);
    rc = staff_notice(b, aud_s, meta_s, &title, &body, mark, id, &created, &err);
    if (rc == 0 && created)
        ZQ_INFO("event=case_announced case=%s notice=%s region=%s", ev->id, id, ev->region);
    else if (rc < 0 && rc != -ZQ_EUNAVAIL)
        ZQ_ERROR("event=case_announce_failed case=%s err=\"%s\"", ev->id, err.msg);
out:
    free(aud_s);
    free(meta_s);
    zq_buf_free(&title);
    zq_buf_free(&body);
    return rc == -ZQ_EUNAVAIL ? rc : 0;
}

/* Sends the summaries of the windows that have closed (announce.h): each
 * sealed batch becomes one direct notice to its target, whose mark names
 * the batch, so a batch sent twice (a crash before zq_announce_done, or
 * two instances) makes one notice. Returns 0 or -ZQ_EUNAVAIL. */
static int send_summaries(zq_bot *b)
{
    zq_announce_batch batch[ZQ_ANNOUNCE_TAKE_MAX];
    zq_err err = {0};
    int n = 0, rc;

    if (b->cfg->events.announce_per_minute <= 0)
        return 0;
    rc = zq_announce_take(b->st, zq_now_ms(), batch, ZQ_ANNOUNCE_TAKE_MAX, &n, &err);
    if (rc < 0) {
        if (rc != -ZQ_EUNAVAIL)
            ZQ_ERROR("event=case_summary_take_failed err=\"%s\"", err.msg);
        return rc == -ZQ_EUNAVAIL ? rc : 0;
    }
    for (int i = 0; i < n; i++) {
        const zq_announce_batch *s = &batch[i];
        zq_buf title = {0}, body = {0};
        zq_direct_new in;
        char id[ZQ_NOTICE_ID_MAX], *meta_s = NULL;
        json_t *meta;
        bool created = false;

        meta = json_pack("{s:s, s:i, s:I, s:s}", "type", "case_summary", "count", s->count,
                         "window_start_ms", (json_int_t)s->window, "cases", s->ids);
        meta_s = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
        json_decref(meta);
        rc = meta_s == NULL ? -ZQ_ENOMEM
                            : zq_announce_text(s, b->cfg->events.announce_window_ms, &title, &body);
        if (rc == 0) {
            memset(&in, 0, sizeof(in));
            in.kind = ZQ_NOTICE_CASE;
            in.title = title.data;
            in.body = body.data;
            in.meta = meta_s;
            in.target_id = s->target;
            in.now_ms = zq_now_ms();
            in.ttl_s = EVENT_MARK_TTL_S;
            in.mark = s->mark;
            in.mark_ttl_s = EVENT_MARK_TTL_S;
            rc = zq_notice_send_direct(b->st, &in, id, &created, &err);
        }
        free(meta_s);
        zq_buf_free(&title);
        zq_buf_free(&body);
        if (rc == -ZQ_EUNAVAIL)
            return rc;
        if (rc < 0) {
            /* Kept sealed: tried again next time. */
            ZQ_ERROR("event=case_summary_failed target=%s err=\"%s\"", s->target, err.msg);
            continue;
        }
        if (created)
            ZQ_INFO("event=case_summary_sent target=%s notice=%s count=%d window=%lld", s->target,
                    id, s->count, (long long)s->window);
        rc = zq_announce_done(b->st, s, &err);
        if (rc == -ZQ_EUNAVAIL)
            return rc;
        if (rc < 0)
            ZQ_ERROR("event=case_summary_done_failed target=%s err=\"%s\"", s->target, err.msg);
    }
    return 0;
}

/* The date of the time limit ev's new status runs on the case, from its
 * history ("" when none, or the case is gone), into due[16]: a request
 * for more material tells its date. Returns 0 or -ZQ_EUNAVAIL. */
static int status_deadline(zq_bot *b, const event *ev, char due[16])
{
    zq_wf_limits lim;
    zq_deadline d;
    zq_case c;
    zq_err err = {0};
    int rc;

    due[0] = '\0';
    memset(&c, 0, sizeof(c));
    rc = zq_case_load(b->st, ev->id, &c, &err);
    if (rc == -ZQ_EUNAVAIL)
        return rc;
    if (rc == 0) {
        zq_wf_limits_from_config(b->cfg, &lim);
        zq_wf_deadline(b->app->calendar, &lim, c.form, ev->to, c.history, c.created_ms, &d);
        if (d.clock != ZQ_WF_CLOCK_NONE)
            zq_date_format(d.due, due, 16);
    }
    zq_case_clear(&c);
    return 0;
}

static int case_status(zq_bot *b, const event *ev)
{
    char tid[ZQ_TARGET_ID_MAX], mark[ZQ_EVENTS_KEY_MAX], id[ZQ_NOTICE_ID_MAX], due[16];
    zq_buf title = {0}, body = {0};
    zq_direct_new in;
    zq_err err = {0};
    char *meta_s = NULL;
    bool created = false, active;
    int rc = 0;

    if (b->app->case_status == NULL || zq_target_chat_id(ev->source, tid) < 0)
        return 0; /* not from a chat: the complainant looks it up on the web */
    if (zq_target_active(b->st, tid, &active, &err) < 0)
        return -ZQ_EUNAVAIL;
    if (!active) {
        /* None, or disabled because the platform said the chat is gone. */
        ZQ_INFO("event=case_status_no_chat_target case=%s to=%s target=%s", ev->id, ev->to, tid);
        return 0;
    }
    if ((rc = status_deadline(b, ev, due)) < 0)
        goto out;
    if (event_text(b, b->app->case_status, ev, "case_status", due, &meta_s, &title, &body) < 0)
        goto out;
    zq_events_mark_key(b->st, ev->sid, mark);
    memset(&in, 0, sizeof(in));
    in.kind = ZQ_NOTICE_CASE;
    in.title = title.data ? title.data : "";
    in.body = body.data ? body.data : "";
    in.meta = meta_s;
    in.target_id = tid;
    in.now_ms = zq_now_ms();
    in.ttl_s = EVENT_MARK_TTL_S;
    in.mark = mark;
    in.mark_ttl_s = EVENT_MARK_TTL_S;
    rc = zq_notice_send_direct(b->st, &in, id, &created, &err);
    if (rc == 0 && created)
        ZQ_INFO("event=case_status_sent case=%s to=%s notice=%s", ev->id, ev->to, id);
    else if (rc < 0 && rc != -ZQ_EUNAVAIL)
        ZQ_ERROR("event=case_status_failed case=%s err=\"%s\"", ev->id, err.msg);
out:
    free(meta_s);
    zq_buf_free(&title);
    zq_buf_free(&body);
    return rc == -ZQ_EUNAVAIL ? rc : 0;
}

/* An enterprise that withdrew its case: the staff of its region are told
 * at once, as of a new case (targets tagged "staff" and its region, no
 * personal data, not batched: withdrawals are few), so that no one works
 * on. The event carries no region: the case is read. Once per event (its
 * own mark beside the chat notice's). Returns 0 or -ZQ_EUNAVAIL. */
static int case_withdrawn(zq_bot *b, const event *ev)
{
    char mark[ZQ_EVENTS_KEY_MAX + 8], id[ZQ_NOTICE_ID_MAX], region_tag[ZQ_TAG_MAX];
    zq_buf title = {0}, body = {0};
    zq_err err = {0};
    zq_case c;
    event with = *ev;
    json_t *aud = NULL;
    char *aud_s = NULL, *meta_s = NULL;
    bool created = false;
    int rc;

    if (b->app->case_withdrawn == NULL || strcmp(ev->to, "withdrawn") != 0)
        return 0;
    memset(&c, 0, sizeof(c));
    if ((rc = zq_case_load(b->st, ev->id, &c, &err)) == -ZQ_EUNAVAIL)
        return rc;
    if (rc < 0) {
        ZQ_INFO("event=case_withdrawn_skipped case=%s reason=case_not_found", ev->id);
        rc = 0;
        goto out;
    }
    with.region = c.region;
    /* A cut tag would reach another region's staff: tell no one instead. */
    if (zq_fmt(region_tag, sizeof(region_tag), "region:%s", *c.region ? c.region : "none") < 0)
        goto out;
    aud = json_pack("{s:[s,s], s:s, s:[]}", "tags", "staff", region_tag, "match", "all", "targets");
    if (aud == NULL || (aud_s = json_dumps(aud, JSON_COMPACT)) == NULL ||
        event_text(b, b->app->case_withdrawn, &with, "case_withdrawn", "", &meta_s, &title, &body) <
            0)
        goto out;
    zq_events_mark_key(b->st, ev->sid, mark);
    memcpy(mark + strlen(mark), ":staff", sizeof(":staff"));
    rc = staff_notice(b, aud_s, meta_s, &title, &body, mark, id, &created, &err);
    if (rc == 0 && created)
        ZQ_INFO("event=case_withdrawn_announced case=%s notice=%s region=%s", ev->id, id, c.region);
    else if (rc < 0 && rc != -ZQ_EUNAVAIL)
        ZQ_ERROR("event=case_withdrawn_failed case=%s err=\"%s\"", ev->id, err.msg);
out:
    json_decref(aud);
    free(aud_s);
    free(meta_s);
    zq_buf_free(&title);
    zq_buf_free(&body);
    zq_case_clear(&c);
    return rc == -ZQ_EUNAVAIL ? rc : 0;
}

/* The statuses whose change the complainant is told of by SMS (issue 14:
 * 受理, 不予受理, 转办, 需补充材料, 书面答复, 办结); each is an SMS use
 * (smsq.h) with its own template. */
static bool sms_status(const char *to)
{
    static const char *const told[] = {"accepted",   "rejected", "transferred",
                                       "needs_info", "answered", "closed"};

    for (size_t i = 0; i < ZQ_ARRAY_LEN(told); i++)
        if (strcmp(to, told[i]) == 0)
            return true;
    return false;
}

/* A progress SMS to the complainant's mobile for a status change ev, once
 * per event (its own mark beside the chat notice's): the case number, the
 * status and the deadline now running, nothing more personal. Cases
 * filed in a chat get both. Returns 0 or -ZQ_EUNAVAIL. */
static int case_sms(zq_bot *b, const event *ev)
{
    char mark[ZQ_EVENTS_KEY_MAX + 8], id[ZQ_NOTICE_ID_MAX], due[16] = "";
    const char *names[3] = {"case", "status", "deadline"}, *values[3];
    zq_wf_limits lim;
    zq_deadline d;
    zq_sms_msg m;
    zq_case c;
    zq_err err = {0};
    bool created = false;
    int rc;

    if (!b->cfg->events.sms_progress || !zq_sms_enabled(b->cfg) || !sms_status(ev->to))
        return 0;
    memset(&c, 0, sizeof(c));
    rc = zq_case_load(b->st, ev->id, &c, &err);
    if (rc == -ZQ_EUNAVAIL)
        return rc;
    if (rc < 0 || c.mobile[0] == '\0') {
        ZQ_INFO("event=case_sms_skipped case=%s reason=%s", ev->id,
                rc < 0 ? "case_not_found" : "no_mobile");
        zq_case_clear(&c);
        return 0;
    }
    zq_wf_limits_from_config(b->cfg, &lim);
    zq_wf_deadline(b->app->calendar, &lim, c.form, ev->to, c.history, c.created_ms, &d);
    if (d.clock != ZQ_WF_CLOCK_NONE)
        zq_date_format(d.due, due, sizeof(due));
    values[0] = ev->id;
    values[1] = zq_case_status_label(ev->to);
    values[2] = due;
    zq_events_mark_key(b->st, ev->sid, mark);
    memcpy(mark + strlen(mark), ":sms", sizeof(":sms"));
    memset(&m, 0, sizeof(m));
    m.mobile = c.mobile;
    m.use = ev->to;
    m.names = names;
    m.values = values;
    m.nparams = 3;
    m.case_id = ev->id;
    m.mark = mark;
    m.mark_ttl_s = EVENT_MARK_TTL_S;
    m.now_ms = zq_now_ms();
    rc = zq_sms_queue(b->st, b->cfg, &m, id, &created, &err);
    if (rc == 0 && created)
        ZQ_INFO("event=case_sms_queued case=%s to=%s notice=%s", ev->id, ev->to, id);
    else if (rc < 0 && rc != -ZQ_EUNAVAIL)
        ZQ_ERROR("event=case_sms_failed case=%s err=\"%s\"", ev->id, err.msg);
    zq_case_clear(&c);
    return rc == -ZQ_EUNAVAIL ? rc : 0;
}

/* An event whose stream id (milliseconds of its XADD) is older than this
 * is acknowledged without being announced: news of a day-old case is no
 * news, and a first start on an old stream must not flood the targets. */
#define EVENT_MAX_AGE_MS (24LL * 3600 * 1000)

static bool event_too_old(const char *sid, int64_t now_ms)
{
    long long ms = 0;
    const char *dash = strchr(sid, '-');

    if (dash == NULL || zq_parse_ll(sid, (size_t)(dash - sid), 0, INT64_MAX, &ms) < 0)
        return false;
    return ms < now_ms - EVENT_MAX_AGE_MS;
}

/* Handles the events of one read or claim; acknowledges each that is
 * dealt with, and stops at the first that must wait for Redis. */
static void handle_entries(zq_bot *b, const zq_events *evs)
{
    for (int i = 0; i < evs->n; i++) {
        const event *ev = &evs->ev[i];
        zq_err err = {0};
        int rc = 0;

        if (event_too_old(ev->sid, zq_now_ms())) {
            ZQ_WARN("event=event_skipped_too_old stream_id=%s", ev->sid);
        } else if (ev->fields) {
            if (!zq_case_id_valid(ev->id))
                rc = 0;
            else if (strcmp(ev->type, "case_created") == 0)
                rc = case_created(b, ev);
            else if (strcmp(ev->type, "case_status") == 0 && (rc = case_status(b, ev)) == 0 &&
                     (rc = case_sms(b, ev)) == 0)
                rc = case_withdrawn(b, ev);
        }
        if (rc < 0) {
            zq_bot_redis(b, rc, "events", NULL);
            return; /* stays pending; claimed again later */
        }
        zq_events_ack(b->st, ev->sid, &err);
    }
}

static bool ensure_group(zq_bot *b)
{
    zq_err err = {0};
    int rc;

    if (b->ev_group_ok)
        return true;
    /* From the start of the stream; handle_entries skips events older
     * than EVENT_MAX_AGE_MS so a long history is not sent all at once. */
    rc = zq_events_init(b->st, &err);
    if (rc == -ZQ_EUNAVAIL) {
        zq_bot_redis(b, rc, "events_init", &err);
        return false;
    }
    b->ev_group_ok = rc == 0;
    if (!b->ev_group_ok)
        ZQ_ERROR("event=events_init_failed err=\"%s\"", err.msg);
    return b->ev_group_ok;
}

void zq_events_step(zq_bot *b, int64_t now)
{
    zq_events evs;
    zq_err err = {0};
    int rc;

    if (b->stopping || now < b->next_events_mono || !ensure_group(b))
        return;
    b->next_events_mono = now + b->cfg->bot.poll_ms;
    if (now >= b->next_ev_claim_mono) {
        b->next_ev_claim_mono = now + b->cfg->bot.claim_idle_ms / 2;
        rc = zq_events_claim(b->st, b->consumer, b->cfg->bot.claim_idle_ms, b->ev_cursor, &evs,
                             &err);
        if (rc == 0)
            handle_entries(b, &evs);
        else if (rc == -ZQ_ENOTFOUND)
            b->ev_group_ok = false;
        zq_events_clear(&evs);
    }
    rc = zq_events_read(b->st, b->consumer, &evs, &err);
    if (rc == -ZQ_EUNAVAIL) {
        zq_bot_redis(b, rc, "events", &err);
        return;
    }
    if (rc == -ZQ_ENOTFOUND) {
        b->ev_group_ok = false;
    } else if (rc < 0) {
        ZQ_ERROR("event=events_read_failed err=\"%s\"", err.msg);
    } else {
        handle_entries(b, &evs);
        if (evs.full)
            b->next_events_mono = now;
    }
    zq_events_clear(&evs);
    if (send_summaries(b) == -ZQ_EUNAVAIL)
        zq_bot_redis(b, -ZQ_EUNAVAIL, "case_summaries", NULL);
}

/* Case events: the `events` stream the intake (lib/cases.c) and the staff
 * workflow (lib/staff.c) write, read through the consumer group "bot".
 * A new case is announced to the targets tagged both "staff" and the
 * case's region ("region:<code>"), without personal data; a status change
 * of a case that came from a chat goes to that chat when a target exists
 * for it (the id zq_target_chat_id() gives, created when the user
 * subscribes in the chat). Each event makes its notice once: a mark per
 * event id is set in the script that creates the notice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "zhuqi/cases.h"
#include "zhuqi/log.h"
#include "zhuqi/notices.h"
#include "zhuqi/targets.h"

#define EVENTS_BATCH 32
#define EVENT_MARK_TTL_S (30 * 86400)

typedef struct event {
    const char *sid;
    const char *type, *id, *form, *region, *source, *dup_of, *to;
} event;

static const char *field(const redisReply *fv, const char *name)
{
    for (size_t i = 0; i + 1 < fv->elements; i += 2)
        if (fv->element[i]->type == REDIS_REPLY_STRING && strcmp(fv->element[i]->str, name) == 0 &&
            fv->element[i + 1]->type == REDIS_REPLY_STRING)
            return fv->element[i + 1]->str;
    return "";
}

static int render_case(zq_bot *b, const zq_template *t, const event *ev, zq_buf *title,
                       zq_buf *body)
{
    const zq_form *f = b->res.schema ? zq_schema_form(b->res.schema, ev->form) : NULL;
    const zq_region *r = b->res.schema ? zq_schema_region(b->res.schema, ev->region) : NULL;
    zq_tvar vars[6];

    vars[0] = (zq_tvar){"case.id", ev->id};
    vars[1] = (zq_tvar){"case.type", f ? f->title : ev->form};
    vars[2] = (zq_tvar){"case.region", r ? r->name : (*ev->region ? ev->region : "未填写")};
    vars[3] = (zq_tvar){"case.status", ev->to};
    vars[4] = (zq_tvar){"case.status_label", zq_case_status_label(ev->to)};
    vars[5] = (zq_tvar){"case.duplicate", ev->dup_of};
    return zq_template_render(t, vars, 6, title, body);
}

/* Returns 0 when the event is dealt with (acknowledge it), or a negative
 * code to leave it pending (Redis trouble). */
static int case_created(zq_bot *b, const event *ev)
{
    const char *p = zq_store_prefix(b->st);
    zq_buf title = {0}, body = {0};
    zq_notice_new in;
    zq_err err = {0};
    char mark[160], id[ZQ_NOTICE_ID_MAX], region_tag[ZQ_TAG_MAX];
    json_t *aud, *meta;
    char *aud_s = NULL, *meta_s = NULL;
    bool created = false;
    int rc = 0;

    if (b->res.case_created == NULL)
        return 0;
    snprintf(region_tag, sizeof(region_tag), "region:%s", *ev->region ? ev->region : "none");
    aud = json_pack("{s:[s,s], s:s, s:[]}", "tags", "staff", region_tag, "match", "all", "targets");
    meta = json_pack("{s:s, s:s, s:s}", "case", ev->id, "event", ev->sid, "type", "case_created");
    aud_s = aud ? json_dumps(aud, JSON_COMPACT) : NULL;
    meta_s = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
    json_decref(aud);
    json_decref(meta);
    if (aud_s == NULL || meta_s == NULL ||
        render_case(b, b->res.case_created, ev, &title, &body) < 0)
        goto out;
    snprintf(mark, sizeof(mark), "%sevdone:%s", p, ev->sid);
    memset(&in, 0, sizeof(in));
    in.kind = ZQ_NOTICE_CASE;
    in.title = title.data ? title.data : "";
    in.body = body.data ? body.data : "";
    in.audience = aud_s;
    in.meta = meta_s;
    in.created_by = "events";
    in.now_ms = zq_now_ms();
    in.mark = mark;
    in.mark_ttl_s = EVENT_MARK_TTL_S;
    rc = zq_notice_create(b->st, &in, id, &created, &err);
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

static int case_status(zq_bot *b, const event *ev)
{
    const char *p = zq_store_prefix(b->st);
    char tid[ZQ_TARGET_ID_MAX], mark[160], id[ZQ_NOTICE_ID_MAX];
    zq_buf title = {0}, body = {0};
    zq_direct_new in;
    zq_err err = {0};
    redisReply *r;
    json_t *meta;
    char *meta_s = NULL;
    bool created = false;
    int rc = 0;

    if (b->res.case_status == NULL || zq_target_chat_id(ev->source, tid) < 0)
        return 0; /* not from a chat: the complainant looks it up on the web */
    r = zq_store_command(b->st, &err, "EXISTS %starget:%s", p, tid);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type != REDIS_REPLY_INTEGER || r->integer != 1) {
        freeReplyObject(r);
        ZQ_INFO("event=case_status_no_chat_target case=%s to=%s target=%s", ev->id, ev->to, tid);
        return 0;
    }
    freeReplyObject(r);
    meta = json_pack("{s:s, s:s, s:s}", "case", ev->id, "event", ev->sid, "type", "case_status");
    meta_s = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
    json_decref(meta);
    if (meta_s == NULL || render_case(b, b->res.case_status, ev, &title, &body) < 0)
        goto out;
    snprintf(mark, sizeof(mark), "%sevdone:%s", p, ev->sid);
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

/* Handles the entries of one XREADGROUP/XAUTOCLAIM array. */
static void handle_entries(zq_bot *b, const redisReply *arr)
{
    const char *p = zq_store_prefix(b->st);

    for (size_t i = 0; arr != NULL && arr->type == REDIS_REPLY_ARRAY && i < arr->elements; i++) {
        const redisReply *e = arr->element[i];
        const redisReply *fv;
        event ev;
        redisReply *r;
        zq_err err = {0};
        int rc = 0;

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        ev.sid = e->element[0]->str;
        fv = e->element[1];
        if (event_too_old(ev.sid, zq_now_ms())) {
            ZQ_WARN("event=event_skipped_too_old stream_id=%s", ev.sid);
        } else if (fv->type == REDIS_REPLY_ARRAY) {
            ev.type = field(fv, "type");
            ev.id = field(fv, "id");
            ev.form = field(fv, "form");
            ev.region = field(fv, "region");
            ev.source = field(fv, "source");
            ev.dup_of = field(fv, "dup_of");
            ev.to = field(fv, "to");
            if (!zq_case_id_valid(ev.id))
                rc = 0;
            else if (strcmp(ev.type, "case_created") == 0)
                rc = case_created(b, &ev);
            else if (strcmp(ev.type, "case_status") == 0)
                rc = case_status(b, &ev);
        }
        if (rc < 0) {
            zq_bot_redis(b, rc, "events", NULL);
            return; /* stays pending; claimed again later */
        }
        r = zq_store_command(b->st, &err, "XACK %sevents %s %s", p, ZQ_OUTBOX_GROUP, ev.sid);
        if (r != NULL)
            freeReplyObject(r);
    }
}

static bool ensure_group(zq_bot *b)
{
    redisReply *r;
    zq_err err = {0};

    if (b->ev_group_ok)
        return true;
    /* "0": the whole stream, so cases filed before the bot first ran
     * (zhuqi-fcgi started first, or the bot was down when the group did
     * not exist yet) are announced too; handle_entries skips events older
     * than EVENT_MAX_AGE_MS so a long history is not sent all at once. */
    r = zq_store_command(b->st, &err, "XGROUP CREATE %sevents %s 0 MKSTREAM",
                         zq_store_prefix(b->st), ZQ_OUTBOX_GROUP);
    if (r == NULL) {
        zq_bot_redis(b, -ZQ_EUNAVAIL, "events_init", &err);
        return false;
    }
    b->ev_group_ok = r->type != REDIS_REPLY_ERROR || strncmp(r->str, "BUSYGROUP", 9) == 0;
    if (!b->ev_group_ok)
        ZQ_ERROR("event=events_init_failed err=\"%s\"", r->str);
    freeReplyObject(r);
    return b->ev_group_ok;
}

void zq_events_step(zq_bot *b, int64_t now)
{
    const char *p = zq_store_prefix(b->st);
    redisReply *r;
    zq_err err = {0};

    if (b->stopping || now < b->next_events_mono || !ensure_group(b))
        return;
    b->next_events_mono = now + b->cfg->bot.poll_ms;
    if (now >= b->next_ev_claim_mono) {
        b->next_ev_claim_mono = now + b->cfg->bot.claim_idle_ms / 2;
        r = zq_store_command(b->st, &err, "XAUTOCLAIM %sevents %s %s %d %s COUNT %d", p,
                             ZQ_OUTBOX_GROUP, b->consumer, b->cfg->bot.claim_idle_ms,
                             b->ev_cursor[0] ? b->ev_cursor : "0-0", EVENTS_BATCH);
        if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
            r->element[0]->type == REDIS_REPLY_STRING) {
            snprintf(b->ev_cursor, sizeof(b->ev_cursor), "%s", r->element[0]->str);
            handle_entries(b, r->element[1]);
        } else if (r != NULL && r->type == REDIS_REPLY_ERROR && strstr(r->str, "NOGROUP")) {
            b->ev_group_ok = false;
        }
        if (r != NULL)
            freeReplyObject(r);
    }
    r = zq_store_command(b->st, &err, "XREADGROUP GROUP %s %s COUNT %d STREAMS %sevents >",
                         ZQ_OUTBOX_GROUP, b->consumer, EVENTS_BATCH, p);
    if (r == NULL) {
        zq_bot_redis(b, -ZQ_EUNAVAIL, "events", &err);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        if (strstr(r->str, "NOGROUP") != NULL)
            b->ev_group_ok = false;
        else
            ZQ_ERROR("event=events_read_failed err=\"%s\"", r->str);
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
               r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2) {
        handle_entries(b, r->element[0]->element[1]);
        if (r->element[0]->element[1]->elements == EVENTS_BATCH)
            b->next_events_mono = now;
    }
    freeReplyObject(r);
}

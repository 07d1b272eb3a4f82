/* The case events stream read through the bot's consumer group (see
 * include/zhuqi/events.h). */
#include "zhuqi/events.h"

#include <stdio.h>
#include <string.h>

#include "zhuqi/outbox.h"

void zq_events_clear(zq_events *b)
{
    if (b->reply != NULL)
        freeReplyObject(b->reply);
    memset(b, 0, sizeof(*b));
}

/* The value of field name in an entry's field list, or "". */
static const char *field(const redisReply *fv, const char *name)
{
    for (size_t i = 0; i + 1 < fv->elements; i += 2)
        if (fv->element[i]->type == REDIS_REPLY_STRING && strcmp(fv->element[i]->str, name) == 0 &&
            fv->element[i + 1]->type == REDIS_REPLY_STRING)
            return fv->element[i + 1]->str;
    return "";
}

/* Fills out from an array of entries [id, [field, value, ...]]; out takes
 * reply. */
static void take_entries(zq_events *out, redisReply *reply, const redisReply *arr)
{
    out->reply = reply;
    out->full = arr != NULL && arr->type == REDIS_REPLY_ARRAY && arr->elements >= ZQ_EVENTS_BATCH;
    for (size_t i = 0; arr != NULL && arr->type == REDIS_REPLY_ARRAY && i < arr->elements &&
                       out->n < ZQ_EVENTS_BATCH;
         i++) {
        const redisReply *e = arr->element[i];
        const redisReply *fv;
        zq_event *ev = &out->ev[out->n];

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        memset(ev, 0, sizeof(*ev));
        ev->sid = e->element[0]->str;
        fv = e->element[1];
        ev->fields = fv->type == REDIS_REPLY_ARRAY;
        if (ev->fields) {
            ev->type = field(fv, "type");
            ev->id = field(fv, "id");
            ev->form = field(fv, "form");
            ev->region = field(fv, "region");
            ev->source = field(fv, "source");
            ev->dup_of = field(fv, "dup_of");
            ev->to = field(fv, "to");
        } else {
            ev->type = ev->id = ev->form = ev->region = ev->source = ev->dup_of = ev->to = "";
        }
        out->n++;
    }
}

/* The code for an error reply: -ZQ_ENOTFOUND when the group is gone. */
static int reply_error(const redisReply *r, zq_err *err)
{
    if (strstr(r->str, "NOGROUP") != NULL)
        return zq_err_set(err, ZQ_ENOTFOUND, "%s", r->str);
    return zq_err_set(err, ZQ_EREPLY, "%s", r->str);
}

int zq_events_init(zq_store *st, zq_err *err)
{
    redisReply *r;
    int rc = 0;

    /* "0": the whole stream, so cases filed before the bot first ran
     * (zhuqi-fcgi started first, or the bot was down when the group did
     * not exist yet) are seen too. */
    r = zq_store_command(st, err, "XGROUP CREATE %sevents %s 0 MKSTREAM", zq_store_prefix(st),
                         ZQ_OUTBOX_GROUP);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0)
        rc = zq_err_set(err, ZQ_EREPLY, "%s", r->str);
    freeReplyObject(r);
    return rc;
}

int zq_events_read(zq_store *st, const char *consumer, zq_events *out, zq_err *err)
{
    redisReply *r;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    r = zq_store_command(st, err, "XREADGROUP GROUP %s %s COUNT %d STREAMS %sevents >",
                         ZQ_OUTBOX_GROUP, consumer, ZQ_EVENTS_BATCH, zq_store_prefix(st));
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR) {
        rc = reply_error(r, err);
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
               r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2) {
        take_entries(out, r, r->element[0]->element[1]);
        return 0;
    }
    freeReplyObject(r);
    return rc;
}

int zq_events_claim(zq_store *st, const char *consumer, int min_idle_ms, char *cursor,
                    zq_events *out, zq_err *err)
{
    redisReply *r;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    r = zq_store_command(st, err, "XAUTOCLAIM %sevents %s %s %d %s COUNT %d", zq_store_prefix(st),
                         ZQ_OUTBOX_GROUP, consumer, min_idle_ms, cursor[0] != '\0' ? cursor : "0-0",
                         ZQ_EVENTS_BATCH);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
        r->element[0]->type == REDIS_REPLY_STRING) {
        if (zq_fmt(cursor, ZQ_EVENTS_SID_MAX, "%s", r->element[0]->str) < 0)
            memcpy(cursor, "0-0", sizeof("0-0")); /* not a stream id: start over */

        take_entries(out, r, r->element[1]);
        return 0;
    }
    if (r->type == REDIS_REPLY_ERROR)
        rc = reply_error(r, err);
    freeReplyObject(r);
    return rc;
}

int zq_events_ack(zq_store *st, const char *sid, zq_err *err)
{
    redisReply *r =
        zq_store_command(st, err, "XACK %sevents %s %s", zq_store_prefix(st), ZQ_OUTBOX_GROUP, sid);

    if (r == NULL)
        return -ZQ_EUNAVAIL;
    freeReplyObject(r);
    return 0;
}

void zq_events_mark_key(zq_store *st, const char *sid, char out[ZQ_EVENTS_KEY_MAX])
{
    /* "" when it does not fit (zq_store_key's answer too): no mark. */
    if (zq_store_key(st, out, ZQ_EVENTS_KEY_MAX, "evdone:%s", sid) < 0)
        out[0] = '\0';
}

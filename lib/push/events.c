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
            ev->note = field(fv, "note");
        } else {
            ev->type = ev->id = ev->form = ev->region = ev->source = ev->dup_of = ev->to = "";
            ev->note = "";
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

/* The stream's key into key[ZQ_STORE_KEY_MAX]. Returns 0 or -ZQ_ETOOBIG
 * (the namespace is too long for a key). */
static int events_key(zq_store *st, char *key, zq_err *err)
{
    if (zq_store_key(st, key, ZQ_STORE_KEY_MAX, "events") < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "events: key prefix too long");
    return 0;
}

int zq_events_init(zq_store *st, zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX];
    redisReply *r;
    int rc = 0;

    if (events_key(st, key, err) < 0)
        return -ZQ_ETOOBIG;
    /* "0": the whole stream, so cases filed before the bot first ran
     * (zhuqi-fcgi started first, or the bot was down when the group did
     * not exist yet) are seen too. */
    r = zq_store_command(st, err, "XGROUP CREATE %s %s 0 MKSTREAM", key, ZQ_OUTBOX_GROUP);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0)
        rc = zq_err_set(err, ZQ_EREPLY, "%s", r->str);
    freeReplyObject(r);
    return rc;
}

int zq_events_read(zq_store *st, const char *consumer, zq_events *out, zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX];
    redisReply *r;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (events_key(st, key, err) < 0)
        return -ZQ_ETOOBIG;
    r = zq_store_command(st, err, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s >", ZQ_OUTBOX_GROUP,
                         consumer, ZQ_EVENTS_BATCH, key);
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
    char key[ZQ_STORE_KEY_MAX];
    redisReply *r;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (events_key(st, key, err) < 0)
        return -ZQ_ETOOBIG;
    r = zq_store_command(st, err, "XAUTOCLAIM %s %s %s %d %s COUNT %d", key, ZQ_OUTBOX_GROUP,
                         consumer, min_idle_ms, cursor[0] != '\0' ? cursor : "0-0",
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
    char key[ZQ_STORE_KEY_MAX];
    redisReply *r;

    if (events_key(st, key, err) < 0)
        return -ZQ_ETOOBIG;
    r = zq_store_commandv(st, err, 4, (const char *[]){"XACK", key, ZQ_OUTBOX_GROUP, sid}, NULL);
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

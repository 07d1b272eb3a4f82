/* The case events as zhuqi-bot consumes them: the stream {prefix}events
 * that the intake (cases.h) and the staff workflow (staff.h) append to,
 * read through the consumer group "bot" (ZQ_OUTBOX_GROUP) so that every
 * event is handled by one instance and taken over when that instance
 * dies. Fields of an entry: type ("case_created", "case_status"), id,
 * form, region, source, dup_of, to.
 *
 * An event's notice is made once: the script that creates it sets the
 * event's mark, {prefix}evdone:{stream id} (zq_events_mark_key). */
#ifndef ZHUQI_EVENTS_H
#define ZHUQI_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "zhuqi/common.h"
#include "zhuqi/store.h"

/* Entries read at most at once. */
#define ZQ_EVENTS_BATCH 32
/* Room for a stream id, a read cursor and a mark's key. */
#define ZQ_EVENTS_SID_MAX 48
#define ZQ_EVENTS_KEY_MAX 160

/* One event. Strings borrowed from the batch; a field the entry lacks is
 * "". */
typedef struct zq_event {
    const char *sid; /* the stream id, "<ms>-<n>" */
    bool fields;     /* false: the entry had no field list (acknowledge it) */
    const char *type, *id, *form, *region, *source, *dup_of, *to;
    const char *note; /* case_status: the message for the enterprise ("" for none) */
} zq_event;

/* What one read or claim returned. Clear with zq_events_clear(). */
typedef struct zq_events {
    zq_event ev[ZQ_EVENTS_BATCH];
    int n;
    bool full;   /* the read returned as many entries as it asked for: more may wait */
    void *reply; /* private: what the strings point into */
} zq_events;

void zq_events_clear(zq_events *b);

/* Creates the group on the stream (from its start, so events written
 * before the bot first ran are seen too) when it is missing. Returns 0
 * (created, or there already), -ZQ_EUNAVAIL, or -ZQ_EREPLY (err says). */
int zq_events_init(zq_store *st, zq_err *err);

/* Reads up to ZQ_EVENTS_BATCH new events for consumer into out. Returns
 * 0, -ZQ_ENOTFOUND (the group is gone: init again), -ZQ_EUNAVAIL, or
 * -ZQ_EREPLY (err says). */
int zq_events_read(zq_store *st, const char *consumer, zq_events *out, zq_err *err);

/* Takes over up to ZQ_EVENTS_BATCH events another consumer has held for
 * min_idle_ms (XAUTOCLAIM) into out. cursor (ZQ_EVENTS_SID_MAX bytes, ""
 * or "0-0" to start) is advanced. Returns like zq_events_read. */
int zq_events_claim(zq_store *st, const char *consumer, int min_idle_ms, char *cursor,
                    zq_events *out, zq_err *err);

/* Acknowledges the event sid: it is done. Returns 0 or -ZQ_EUNAVAIL. */
int zq_events_ack(zq_store *st, const char *sid, zq_err *err);

/* The key of the mark of event sid (for zq_notice_new.mark). */
void zq_events_mark_key(zq_store *st, const char *sid, char out[ZQ_EVENTS_KEY_MAX]);

#endif

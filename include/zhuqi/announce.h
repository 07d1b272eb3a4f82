/* Batching of the new-case announcements, per target: in each window
 * ([events] announce_window_ms, a minute) a target gets the first N new
 * cases ([events] announce_per_minute) announced one by one; the rest of
 * that window's cases wait in Redis and go out as one summary message when
 * the window closes, so a flood of cases cannot flood a staff robot.
 *
 * Exactly once, across crashes and instances: the decision for an event
 * (which targets get it alone, which summaries it joins) is made by one
 * script and stored under the event's stream id, so handling the event
 * again returns the same decision; a summary is sealed (its cases taken
 * out of the window) by one script and sent as a direct notice whose mark
 * names the sealed batch, so sending it again creates nothing.
 *
 * Keys, all under the prefix: announce:ev:{sid} (the decision,
 * "<window>|<number of targets>|<id>,<id>..."), announce:n:{target}:{window} (cases counted),
 * announce:sum:{target}:{window} (a list of case ids waiting),
 * announce:sealed:{target}:{window} (a hash gen, n, ids: a batch being
 * sent), announce:gen:{target}:{window}, announce:sent:{target}:{window}:
 * {gen} (the notice mark) and the sorted set announce:due of
 * "{target}:{window}" by the window's end. */
#ifndef ZHUQI_ANNOUNCE_H
#define ZHUQI_ANNOUNCE_H

#include <jansson.h>
#include <stdint.h>

#include "zhuqi/buf.h"
#include "zhuqi/store.h"
#include "zhuqi/targets.h"

/* Case numbers a summary names at most. */
#define ZQ_ANNOUNCE_IDS_SHOWN 5
/* Summaries sealed at most per call of zq_announce_take(). */
#define ZQ_ANNOUNCE_TAKE_MAX 16

/* Splits event sid (case case_id) over the targets tagged with all of
 * tags[0..ntags): each target's count in the window holding now_ms goes up;
 * within per_window the target is put in *alone (a new JSON array of
 * target ids, for the individual notice's audience), past it the case
 * joins the target's summary of that window. *window is the window's
 * start (ms), *ntargets how many targets have the tags. Handling the same sid again returns the
 * first answer and counts nothing. Returns 0, -ZQ_EUNAVAIL, -ZQ_EREPLY or -ZQ_ENOMEM. */
int zq_announce_split(zq_store *st, const char *sid, const char *case_id, const char *const *tags,
                      int ntags, int per_window, int window_ms, int64_t now_ms, json_t **alone,
                      int64_t *window, int *ntargets, zq_err *err);

/* A summary sealed for sending. */
typedef struct zq_announce_batch {
    char target[ZQ_TARGET_ID_MAX];
    int64_t window; /* start, ms */
    long long gen;  /* which batch of that window (1, then 2 for late cases) */
    int count;      /* cases in it */
    char ids[ZQ_ANNOUNCE_IDS_SHOWN * 40]; /* the first few case ids, comma-separated */
    char mark[ZQ_STORE_KEY_MAX];          /* zq_direct_new.mark for its notice */
} zq_announce_batch;

/* Seals up to max (<= ZQ_ANNOUNCE_TAKE_MAX) summaries whose window ended
 * by now_ms into out[0..*n); a batch sealed before and not yet marked done
 * is returned again as it was. Returns 0, -ZQ_EUNAVAIL or -ZQ_EREPLY. */
int zq_announce_take(zq_store *st, int64_t now_ms, zq_announce_batch *out, int max, int *n,
                     zq_err *err);

/* Marks batch b sent (its notice exists). Returns 0, -ZQ_EUNAVAIL or
 * -ZQ_EREPLY. */
int zq_announce_done(zq_store *st, const zq_announce_batch *b, zq_err *err);

/* The summary message of b in Chinese (window_ms names the window's
 * length) into title and body. Returns 0 or -ZQ_ENOMEM. */
int zq_announce_text(const zq_announce_batch *b, int window_ms, zq_buf *title, zq_buf *body);

#endif

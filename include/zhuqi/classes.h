/* The tax-assistance classes in Redis: the zset {prefix}classes, JSON
 * members scored by their start time (ms since the epoch). Every read and
 * the write go through here; what a class is made of (zq_class, its
 * checks and its JSON) is in include/zhuqi/reminders.h. */
#ifndef ZHUQI_CLASSES_H
#define ZHUQI_CLASSES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuqi/store.h"

/* The stored classes at most; a save beyond it is refused. */
#define ZQ_CLASSES_MAX 2000

/* A class counts as upcoming until this long after it started. */
#define ZQ_CLASSES_PAST_MS 7200000LL /* two hours */

/* The classes not past at now_ms (started at most ZQ_CLASSES_PAST_MS
 * ago), earliest first, at most max. Returns 0 with a new array of the
 * stored objects in *list (members that are not JSON are left out), or
 * -ZQ_EUNAVAIL, or -ZQ_EREPLY (*list NULL). */
int zq_classes_upcoming(zq_store *st, int64_t now_ms, size_t max, json_t **list, zq_err *err);

/* A class counts as live from its start for this long (a class has no
 * end time of its own): the public view says "live" then, "ended" after. */
#define ZQ_CLASSES_LIVE_MS ZQ_CLASSES_PAST_MS

/* An ended class stays on the public list this long, for its replay. */
#define ZQ_CLASSES_REPLAY_MS (30LL * 86400000LL)

/* What GET /api/classes serves: the classes not ended at now_ms (at most
 * max, earliest first) after the last ZQ_CLASSES_REPLAY_MS's ended ones
 * that have a replay link (at most 3, the latest). Each is
 *   {"id", "title", "speaker", "date", "time", "starts_at", "ends_at",
 *    "state": "upcoming" | "live" | "ended", "live_url"?, "replay_url"?}
 * with live_url only while not ended and replay_url only once ended, so
 * that the page shows 进入直播 or 观看回放 by the server's clock. Returns
 * 0 with a new array in *list, -ZQ_EUNAVAIL or -ZQ_EREPLY (*list NULL). */
int zq_classes_public(zq_store *st, int64_t now_ms, size_t max, json_t **list, zq_err *err);

/* Every stored class, earliest first; as zq_classes_upcoming. */
int zq_classes_all(zq_store *st, json_t **list, zq_err *err);

/* The classes starting in [from_ms, to_ms), earliest first, at most max;
 * as zq_classes_upcoming. */
int zq_classes_between(zq_store *st, int64_t from_ms, int64_t to_ms, size_t max, json_t **list,
                       zq_err *err);

/* Stores member (a class's JSON object as text, with its "id") scored by
 * start_ms, replacing the class with the same id. *created is false when
 * one was replaced. Returns 0, -ZQ_ETOOBIG (ZQ_CLASSES_MAX stored and id
 * new), -ZQ_EUNAVAIL or -ZQ_EREPLY. */
int zq_classes_save(zq_store *st, const char *id, const char *member, int64_t start_ms,
                    bool *created, zq_err *err);

#endif

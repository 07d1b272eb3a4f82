/* The scheduler's state in Redis: the lease that lets one zhuqi-bot
 * instance at a time turn reminder rules into notices, and the marks that
 * make each occurrence and each day's staff digest once:
 *
 *   {prefix}sched:lease          string  the holder (its consumer name), PX lease_ms
 *   {prefix}sched:{occurrence}   string  the notice id (set by the script that
 *                                        creates the notice, notices.h), or "skipped"
 *   {prefix}sched:digest:{date}  string  the digest's notice id, likewise
 *
 * Every function returns 0, or -ZQ_EUNAVAIL when Redis is away (err says
 * why). */
#ifndef ZHUQI_SCHEDULE_H
#define ZHUQI_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>

#include "zhuqi/common.h"
#include "zhuqi/reminders.h"
#include "zhuqi/store.h"

/* Room for a mark's key. */
#define ZQ_SCHEDULE_KEY_MAX 256

/* Takes or renews the lease for holder for lease_ms (a compare-and-expire
 * script). Sets *held: true when holder has it now. */
int zq_schedule_lease(zq_store *st, const char *holder, int lease_ms, bool *held, zq_err *err);

/* Gives the lease up when holder has it, so another instance takes over
 * at once. */
int zq_schedule_release(zq_store *st, const char *holder, zq_err *err);

/* The key of an occurrence's mark (for zq_notice_new.mark) into out. */
void zq_schedule_mark_key(zq_store *st, const char *occurrence, char out[ZQ_SCHEDULE_KEY_MAX]);

/* The key of the mark of the staff digest of date ("2026-12-01"). */
void zq_schedule_digest_key(zq_store *st, const char *date, char out[ZQ_SCHEDULE_KEY_MAX]);

/* Whether each of the n occurrences has its mark, in one round trip:
 * marked[i] for occ[i]. */
int zq_schedule_marked(zq_store *st, const zq_occurrence *occ, int n, bool *marked, zq_err *err);

/* Whether the mark with key (from zq_schedule_*_key) exists. */
int zq_schedule_mark_exists(zq_store *st, const char *key, bool *exists, zq_err *err);

/* Marks an occurrence that came too late to be sent as "skipped" for
 * ttl_s, unless it has a mark. Sets *first when this call set it. */
int zq_schedule_skip(zq_store *st, const char *occurrence, int ttl_s, bool *first, zq_err *err);

/* The value of an occurrence's mark (the notice id, or "skipped") into
 * out; "" when it has none. */
int zq_schedule_mark_get(zq_store *st, const char *occurrence, char *out, size_t outsz,
                         zq_err *err);

#endif

/* The public status lookup: a case number and the mobile given with it
 * give the case's public view, with the deadline running now. The web
 * (POST /api/cases/{id}/lookup) and the chat (查询) answer from here.
 *
 * Lookups are counted per asker and minute in
 * {prefix}rl:lookup:{who}:{minute} (2 minutes), and wrong mobiles per
 * case in {prefix}lookupfail:{id} (lockout seconds): fail_max of them
 * lock that case's lookup for the lockout, for every asker and even with
 * the right mobile, so that a case number cannot be brute-forced from
 * many addresses. One script does all of it and loads the case in the
 * same round trip. */
#ifndef ZHUQI_LOOKUP_H
#define ZHUQI_LOOKUP_H

#include <jansson.h>
#include <stdint.h>

#include "zhuqi/buf.h"
#include "zhuqi/calendar.h"
#include "zhuqi/schema.h"
#include "zhuqi/store.h"
#include "zhuqi/workflow.h"

/* One lookup. Strings are borrowed. */
typedef struct zq_lookup_in {
    const char *id;     /* the case number as given */
    const char *mobile; /* the mobile as zq_lookup_mobile normalised it */
    const char *who;    /* whom the limit counts: zq_client_key, "chat:{channel}:{user}" */
    int per_minute;     /* lookups allowed per who and minute */
    int fail_max;       /* wrong mobiles that lock the case's lookup; 0: no lock */
    int lockout_s;      /* the window they are counted in, and the lock's length */
    int64_t now_ms;
    const zq_schema *schema;
    const zq_calendar *cal; /* may be NULL: Monday-Friday */
    const zq_wf_limits *lim;
} zq_lookup_in;

/* Checks a mobile the way the lookup wants it (raw borrowed). Returns 0
 * with the normalised string in *norm (new), or -ZQ_EINVAL with a Chinese
 * message in *msg (static) and *norm NULL. */
int zq_lookup_mobile(const zq_schema *s, const zq_schema_opts *o, json_t *raw, json_t **norm,
                     const char **msg);

/* Counts this lookup and, within the limit, finds the case. Returns 0
 * with the public view (zq_case_public_json_at, as of the Beijing day of
 * now_ms) in *pub (new); -ZQ_EBUSY when who is over the limit this
 * minute, -ZQ_ECONFLICT when the case's lookup is locked after too many
 * wrong mobiles, both with the seconds to wait in *retry_s (0 otherwise);
 * -ZQ_ENOTFOUND when there is no such case or the mobile is not its own
 * (the same answer, so that numbers cannot be probed; a wrong mobile is
 * counted against the case); -ZQ_EUNAVAIL when Redis is away or cannot
 * answer now; -ZQ_EREPLY when the script fails. */
int zq_lookup_case(zq_store *st, const zq_lookup_in *in, json_t **pub, int *retry_s, zq_err *err);

/* As zq_lookup_case, with the public view written as JSON text at the
 * end of out (the web lookup writes it into its answer) instead of a new
 * object; out is left as it was unless 0 is returned (or b->oom set). */
int zq_lookup_case_write(zq_store *st, const zq_lookup_in *in, zq_buf *out, int *retry_s,
                         zq_err *err);

/* Every case filed with in->mobile (11 digits; the caller has proved it
 * by SMS code), newest first, at most max, as public views (the same as
 * zq_lookup_case's): returns 0 with a new array in *list (empty when
 * there is none; cases filed before the index existed are not in it), or
 * -ZQ_EUNAVAIL / -ZQ_EREPLY. Uses in->mobile, schema, cal, lim and now_ms;
 * the lookup limits are the SMS code's. */
int zq_lookup_by_mobile(zq_store *st, const zq_lookup_in *in, int max, json_t **list, zq_err *err);

#endif

/* Personal data retention ([retention] in zhuqi.ini; 个人信息保护法: no
 * longer than the purpose needs). One run, by `zhuqi-admin retention` or
 * zhuqi-bot's daily run:
 *
 *   closed cases  a case in a final status (办结, 撤回) whose closing is
 *                 older than closed_case_days keeps what statistics need
 *                 (form, status, region, office, dates, deadlines,
 *                 outcome, and the answers of types enum, money, date,
 *                 region and bool) and loses the rest: names, mobiles,
 *                 USCCs, addresses and every free text in the answers,
 *                 the mobile field, the list summary's company, contact
 *                 and respondent, the notes of its history, and the
 *                 case's files (through remove_files). It gets purged_ms;
 *                 each purge is written to the audit stream.
 *   audit         entries older than audit_days are trimmed.
 *   reports       delivery reports (per-target results) of notices older
 *                 than report_days are deleted; the notice stays.
 *
 * Drafts and chat sessions need no run: they expire in Redis after
 * [intake] and [chat] session_ttl. Statistics (zq_staff_stats) read only
 * what a purge keeps, so they are the same before and after. */
#ifndef ZHUQI_RETENTION_H
#define ZHUQI_RETENTION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "zhuqi/common.h"
#include "zhuqi/config.h"
#include "zhuqi/filestore.h"
#include "zhuqi/schema.h"
#include "zhuqi/store.h"

/* Removes every file of a case from the evidence file store; returns 0
 * (also when it had none) or a negative ZQ_E* code with err set (the case
 * is then left unpurged and counted in failed). The extension point for
 * the file store: zq_retention_remove_files below. */
typedef int (*zq_retention_files_fn)(void *ctx, const char *case_id, zq_err *err);

/* The context of zq_retention_remove_files; all borrowed. */
typedef struct zq_retention_files {
    zq_store *st;
    const zq_schema *schema;
    zq_filestore *fs; /* NULL: the store could not be opened */
} zq_retention_files;

/* The evidence file store's zq_retention_files_fn (ctx: a
 * zq_retention_files): removes the bytes of every file the case's records
 * name (zq_files_remove_case); the purge then drops the records. Returns
 * 0, or a negative code with err set (also when the case has files but
 * the store is NULL). */
int zq_retention_remove_files(void *ctx, const char *case_id, zq_err *err);

typedef struct zq_retention_opts {
    int closed_case_days;
    int audit_days;
    int report_days;
    int64_t now_ms;  /* 0: now */
    bool apply;      /* false: a dry run that only counts */
    const char *who; /* the audit entries' "who" */
    zq_retention_files_fn remove_files;
    void *files_ctx;
} zq_retention_opts;

typedef struct zq_retention_result {
    long long cases_due;    /* closed cases past the period, not yet purged */
    long long cases_purged; /* of which purged by this run */
    long long failed;       /* changed meanwhile, or their files could not go */
    long long audit_due;    /* audit entries older than audit_days */
    long long reports_due;  /* delivery reports older than report_days */
} zq_retention_result;

/* Fills o's periods from cfg's [retention]. */
void zq_retention_opts_from(zq_retention_opts *o, const zq_config *cfg);

/* One run as described above; with !o->apply nothing is written. The
 * schema gives the answers' field types. Returns 0 or a negative ZQ_E*
 * code (Redis unavailable) with err set; res holds what was done so far. */
int zq_retention_run(zq_store *st, const zq_schema *schema, const zq_retention_opts *o,
                     zq_retention_result *res, zq_err *err);

/* zhuqi-bot's daily run: from [retention] daily_time (Beijing) until
 * midnight, the first caller of the day claims the day's mark
 * (retention:day:{date}, SET NX, 3 days) and applies a run as who; later
 * callers, or any before daily_time or with daily_time empty, do nothing.
 * A purged case's files go from fs (borrowed; NULL: no store, then cases
 * with files stay unpurged, counted in failed).
 * Call it only while holding the scheduler's lease. *ran tells whether
 * this call ran. Returns 0 or a negative code (then the mark is given
 * back, so the next call tries again). */
int zq_retention_daily(zq_store *st, const zq_schema *schema, zq_filestore *fs,
                       const zq_config *cfg, const char *who, int64_t now_ms, bool *ran,
                       zq_retention_result *res, zq_err *err);

/* The public summary of the periods, for the privacy notice on the pages
 * (GET /api/privacy): a new JSON object, or NULL when out of memory. */
json_t *zq_retention_public(const zq_config *cfg);

#endif

/* The staff side of cases: list filters and their cursor scan, rows,
 * atomic updates with history, deadline index and events, notes, exports
 * (CSV and JSON Lines, written in chunks), statistics, the audit log and
 * the morning digest. lib/staff/ is shared by zhuqi-fcgi's staff API
 * (fcgi/admin_cases.c), zhuqi-bot's digest and the zhuqi-admin tool.
 *
 * Keys beyond those of cases.h (prefix omitted):
 *   case:{id}        also: handler, office, cross_region, due_kind,
 *                    due_start, due_date, due_limit, due_ext, answered_ms,
 *                    answered_on_time ("1", "0" or "" without a limit),
 *                    and the list packs list_sum, list_row (summary.h)
 *   case:{id}:notes  list: internal notes, JSON {at_ms, by, text}
 *   cases:due        zset: open cases with a deadline, scored YYYYMMDD
 *   audit            stream: every staff action (audit.h)
 *   idem:staff:{who}:{action}:{id}:{key}
 *                    string: an Idempotency-Key a change was made with
 *                    ("1", or the note's JSON), written by the change's own
 *                    script, expiring after ZQ_STAFF_IDEM_TTL_S
 * A case still in its first status has no due_kind field: its review
 * deadline follows from created_ms alone. */
#ifndef ZHUQI_STAFF_H
#define ZHUQI_STAFF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "zhuqi/audit.h"
#include "zhuqi/buf.h"
#include "zhuqi/calendar.h"
#include "zhuqi/config.h"
#include "zhuqi/cases.h"
#include "zhuqi/schema.h"
#include "zhuqi/store.h"
#include "zhuqi/summary.h"
#include "zhuqi/workflow.h"

#define ZQ_STAFF_PAGE_MAX 200    /* rows per list page */
#define ZQ_STAFF_NOTE_MAX 2000   /* characters in a note */
#define ZQ_STAFF_NOTES_MAX 500   /* notes per case */
#define ZQ_STAFF_Q_MAX 50        /* characters in a search */
#define ZQ_STAFF_HISTORY_MAX 500 /* history entries per case */

/* How long a staff Idempotency-Key is kept (seconds). */
#define ZQ_STAFF_IDEM_TTL_S 86400

/* What a list, an export or the statistics are restricted to. Empty
 * strings and zero times mean "any". */
typedef struct zq_case_filter {
    char type[32];
    char status[24];
    char region[8];
    char handler[64];
    int64_t from_ms; /* created at or after */
    int64_t to_ms;   /* created before */
    bool overdue;
    char q[160]; /* a substring of the number, the mobile or the answers */
} zq_case_filter;

/* Where a listing goes on: the (creation ms, id) of the last row seen.
 * Rows come newest first, ties by id descending, so rows created after
 * the first page never shift the later pages. */
typedef struct zq_cursor {
    bool set;
    int64_t score;
    char id[ZQ_CASE_ID_MAX];
} zq_cursor;

/* Remembers deadline arithmetic within one request or export: rows
 * created on the same day share a review deadline, rows due on the same
 * day share the days left. Zero-initialise; never shared by threads. */
#define ZQ_STAFF_MEMO 16
#define ZQ_STAFF_PIECES 4
#define ZQ_STAFF_PIECE_KEY 128
#define ZQ_STAFF_PIECE_TEXT 384
#define ZQ_STAFF_PIECE_SLOTS 2
/* A piece of row JSON remembered (see zq_staff_memo's piece). */
typedef struct zq_staff_piece {
    size_t klen, len;
    unsigned char key[ZQ_STAFF_PIECE_KEY];
    char text[ZQ_STAFF_PIECE_TEXT];
} zq_staff_piece;
typedef struct zq_staff_memo {
    struct {
        /* created day number and machine (review) or due day and unit
         * (left); 0 empty */
        int64_t key;
        zq_deadline d;
        int left;
    } review[ZQ_STAFF_MEMO], left[ZQ_STAFF_MEMO];
    /* The last Beijing day written as an ISO time: its "YYYY-MM-DDT".
     * Rows of a page are mostly of a few days, and the date is the dear
     * part of a time. */
    bool iso_set;
    int64_t iso_day; /* days since 1970-01-01, Beijing */
    char iso_date[11];
    /* Labels (schema and program text, stable through a request) found
     * to need no escaping, by address: a row writes the same few. */
    struct {
        const char *s;
        size_t len;
    } plain[ZQ_STAFF_MEMO];
    /* Pieces of a row's JSON that depend only on a few of its fields and
     * the request (the type and status with their labels, the region,
     * the office, the deadline): the last text written for each, with
     * the fields it was written from (klen 0: none yet), two of each (a
     * page often alternates between two forms or regions). Rows of a
     * page mostly share them, and writing them again was a third of a
     * row. */
    struct {
        unsigned victim; /* the slot the next new text replaces */
        zq_staff_piece slot[ZQ_STAFF_PIECE_SLOTS];
    } piece[ZQ_STAFF_PIECES];
} zq_staff_memo;

/* Everything the deadline-dependent parts need. Borrowed pointers. */
typedef struct zq_staff_ctx {
    const zq_schema *schema; /* may be NULL (no labels) */
    const zq_calendar *cal;  /* may be NULL (Monday-Friday) */
    const json_t *handling;  /* may be NULL (department ids without labels) */
    zq_wf_limits lim;
    zq_date today;       /* Beijing date used for "overdue" */
    zq_staff_memo *memo; /* may be NULL; written through a const ctx */
} zq_staff_ctx;

/* Days left until d->due (zq_wf_days_left), through ctx's memo. */
int zq_staff_days_left(const zq_staff_ctx *ctx, const zq_deadline *d);

/* Reads a request parameter by name; NULL when absent. */
typedef const char *(*zq_param_fn)(void *ctx, const char *name);

/* Parses the filters type, status, region, handler, from, to (dates,
 * inclusive, Beijing time), overdue (1/0/true/false) and q through get.
 * Returns 0, or -ZQ_EINVAL with the parameter's name in *param and a
 * Chinese message in *msg (both static). */
int zq_case_filter_parse(zq_case_filter *f, zq_param_fn get, void *ctx, const zq_schema *s,
                         const char **param, const char **msg);

/* f as text for the audit log ("type=... status=... q=..."), into buf
 * (400 bytes are enough; "" when buf is too small). Returns buf. */
char *zq_case_filter_text(const zq_case_filter *f, char *buf, size_t bufsz);

/* Cursor text: "<ms>_<id>". Parse returns 0 or -ZQ_EINVAL. */
int zq_cursor_parse(const char *s, zq_cursor *out);
void zq_cursor_format(const zq_cursor *c, char out[64]);

struct zq_case_row;

/* What a scan step returns besides the ids. */
enum {
    ZQ_SCAN_IDS = 0,     /* ids only */
    ZQ_SCAN_ROWS = 1,    /* and each row's fields (rows[]), without the answers */
    ZQ_SCAN_ANSWERS = 2, /* and the answers' JSON text (not parsed) */
    ZQ_SCAN_LIST = 3,    /* rows from their packs (summary.h), with the summary; the
                            answers text only for a row without usable packs */
};

/* One step of a listing: finds up to limit case ids matching f after
 * *cur (newest first), looking at no more than budget candidates; *cur is
 * moved to the last candidate looked at. ids must hold limit entries, and
 * rows too unless want is ZQ_SCAN_IDS (then rows may be NULL; else clear
 * each with zq_case_row_clear()). *done is true when nothing can follow.
 * A step may return fewer than limit ids without being done (the budget
 * ran out): call again. Returns 0, -ZQ_EUNAVAIL, or -ZQ_EREPLY. */
int zq_staff_scan(zq_store *st, const zq_staff_ctx *ctx, const zq_case_filter *f, zq_cursor *cur,
                  int limit, int budget, int want, char (*ids)[ZQ_CASE_ID_MAX],
                  struct zq_case_row *rows, int *n, bool *done, zq_err *err);

/* What the rows of a list page point into (zq_staff_scan_page): the
 * replies of the scan steps, held until zq_staff_page_free(), so that a
 * row's summary is read where the reply holds it rather than copied.
 * Zero-initialise; free after the rows are cleared. */
#define ZQ_STAFF_PAGE_STEPS 10
typedef struct zq_staff_page {
    void *held[ZQ_STAFF_PAGE_STEPS]; /* the replies, opaque outside lib/staff */
    int n;
} zq_staff_page;

/* zq_staff_scan with want ZQ_SCAN_LIST, whose rows' summary strings
 * point into a reply that page holds (once the page holds
 * ZQ_STAFF_PAGE_STEPS, the rows own copies as zq_staff_scan's do). Same
 * returns as zq_staff_scan. */
int zq_staff_scan_page(zq_store *st, const zq_staff_ctx *ctx, const zq_case_filter *f,
                       zq_cursor *cur, int limit, int budget, char (*ids)[ZQ_CASE_ID_MAX],
                       struct zq_case_row *rows, int *n, bool *done, zq_staff_page *page,
                       zq_err *err);

/* Frees what page holds; the rows that point into it must not be read
 * after. */
void zq_staff_page_free(zq_staff_page *page);

/* A case as the staff views need it. Clear with zq_case_row_clear(). */
typedef struct zq_case_row {
    bool found;
    char id[ZQ_CASE_ID_MAX];
    char form[32];
    char status[24];
    int64_t created_ms, updated_ms, answered_ms;
    char mobile[16];
    char region[8];
    char source[128];
    char dup_of[ZQ_CASE_ID_MAX];
    char handler[64];
    char office[8];
    char cross_region[8]; /* the partner region, "" when none */
    bool has_due;         /* due_* fields written by a move */
    char due_kind[16];
    char due_start[ZQ_DATE_STRLEN];
    char due_date[ZQ_DATE_STRLEN];
    int due_limit;
    bool due_ext;
    char answered_on_time[2];
    /* The outcome (workflow.h results), the receiving department of the
     * transfer, and whether the review and transfer decisions were on
     * time ("1", "0", or "" when not taken or without a limit). */
    char result[16];
    bool has_recovered;
    long long recovered_fen;
    char department[40];
    char review_on_time[2];
    char transfer_on_time[2];
    /* The enterprise's evaluation of a closed case (staff.h ratings):
     * "" when not rated; the comment owned, NULL when none. */
    char rating[24];
    char *rating_comment;
    /* The reason given with the result (not_accepted needs one): owned,
     * NULL when none. */
    char *result_reason;
    /* The list summary (list_sum, summary.h), when has_summary: the
     * strings point into summary_text (owned), or into a list page's
     * reply (zq_staff_page) when summary_text is NULL; "" for an empty
     * field. */
    bool has_summary;
    char *summary_text;
    const char *company_name, *contact_name, *respondent_name, *topic;
    char amount_fen[24]; /* digits or "" */
    char default_office[8];
    char default_partner[8];
    char *answers_text; /* owned; the stored JSON, NULL when not asked for */
    size_t answers_len;
    json_t *answers; /* owned; parsed, NULL until zq_case_row_parse() */
} zq_case_row;

/* Parses answers_text into answers (an empty object when there is none
 * or it is not JSON). Returns r->answers (borrowed). */
json_t *zq_case_row_parse(zq_case_row *r);

/* Loads rows for n ids in one pipeline, with their summaries (answers
 * too, parsed, when with_answers).
 * rows[i].found is false for an id that has no case. Returns 0 or
 * -ZQ_EUNAVAIL. */
int zq_staff_fetch_rows(zq_store *st, char (*ids)[ZQ_CASE_ID_MAX], int n, bool with_answers,
                        zq_case_row *rows, zq_err *err);
void zq_case_row_clear(zq_case_row *r);

/* The deadline of a row, from its index fields (or, for a case that
 * never moved, from its creation). */
void zq_staff_row_deadline(const zq_staff_ctx *ctx, const zq_case_row *r, zq_deadline *out);

/* True when code can be the office a case is assigned to: a Sichuan
 * division of the schema s (none when s is NULL), or "510000", the
 * provincial cross-region desk. */
bool zq_staff_office_valid(const zq_schema *s, const char *code);

/* The label of status in form's machine, or the generic one
 * (zq_case_status_label). A static string. */
const char *zq_staff_status_label(const char *form, const char *status);

/* "成都市经济和信息化局" for "510100"; a static or borrowed string. */
const char *zq_staff_office_name(const zq_schema *s, const char *office, char *buf, size_t bufsz);

/* Appends a row as a JSON object to b, written directly (the list and
 * the JSON Lines export are hot paths): mobile and contact masked when
 * mask; the stored answers as they are, plus "created_ms", when
 * with_answers. The columns from the answers come from the row's summary,
 * or for a row without one from the answers text (never the parsed
 * answers). Returns 0 or -ZQ_ENOMEM. */
int zq_staff_row_write(zq_buf *b, const zq_staff_ctx *ctx, const zq_case_row *r, bool mask,
                       bool with_answers);

/* The same row (without the answers) as a new JSON object, for the
 * detail view. */
json_t *zq_staff_row_json(const zq_staff_ctx *ctx, const zq_case_row *r, bool mask);

/* A change to a case, applied atomically by one script: it checks that
 * the case is still in expect_status (and that its history has
 * expect_loglen entries unless that is negative), then sets the status
 * and its indexes, the deadline fields and cases:due, extra fields (and
 * the list summary when row has none), rebuilds the list row pack
 * (summary.h), appends the history entry, XADDs case_status to events
 * when event is set, and writes the audit entry. */
typedef struct zq_case_update {
    const char *id;
    const char *expect_status;
    long long expect_loglen;
    const char *new_status;    /* NULL: unchanged */
    json_t *log_entry;         /* borrowed; NULL: none */
    const zq_deadline *due;    /* NULL: unchanged; clock NONE: cleared */
    const char *const *fields; /* extra name/value pairs, NULL-terminated; may be NULL */
    bool event;
    const char *public_note; /* for the event; NULL: none */
    const zq_audit *audit;   /* required */
    int64_t now_ms;
    /* The case as loaded with parsed answers, or NULL: when it has no
     * list summary, its summary is written too. */
    const struct zq_case_row *row;
    /* The client's Idempotency-Key (zq_idem_key_valid), or NULL: recorded
     * by the same script, for audit->who, audit->action and id. */
    const char *idem_key;
    /* A sorted set (key without the prefix, e.g. "cases:withdrawn") the
     * case is added to with index_score, or NULL. */
    const char *index;
    int64_t index_score;
} zq_case_update;

/* Returns 0; -ZQ_ENOTFOUND; -ZQ_ECONFLICT with the current status in
 * cur (24 bytes, may be NULL) when the case moved meanwhile;
 * -ZQ_EUNAVAIL (Redis away or refusing writes, or the change made but not
 * confirmed by a replica in time: see zq_store_wait); -ZQ_EREPLY. */
int zq_staff_update(zq_store *st, const zq_case_update *u, char *cur, zq_err *err);

/* Appends a note (JSON text) to case id, with its audit entry, and
 * records idem_key (NULL: none) with the note as its value, as
 * zq_staff_update does. Returns 0, -ZQ_ENOTFOUND, -ZQ_ETOOBIG
 * (ZQ_STAFF_NOTES_MAX reached), -ZQ_EUNAVAIL (as for zq_staff_update). */
int zq_staff_add_note(zq_store *st, const char *id, const char *note_json, const zq_audit *a,
                      const char *idem_key, zq_err *err);

/* Looks up the Idempotency-Key key of who's action (the audit action,
 * "case_transition") on case id. Returns 1 when a change was made with it
 * (*val, when not NULL, gets the recorded value: free()), 0 when not,
 * -ZQ_EINVAL when the names are too long for a key, -ZQ_EUNAVAIL. */
int zq_staff_idem_find(zq_store *st, const char *who, const char *action, const char *id,
                       const char *key, char **val, zq_err *err);

/* Loads a list key (history or notes) of case id as a new JSON array of
 * at most max entries. which is "log" or "notes". Returns 0, -ZQ_EINVAL
 * when id is too long for a key, or -ZQ_EUNAVAIL. */
int zq_staff_load_list(zq_store *st, const char *id, const char *which, long max, json_t **out,
                       zq_err *err);

/* A case loaded for the detail view and the staff actions. Clear with
 * zq_staff_case_clear(). */
typedef struct zq_staff_case {
    zq_case_row row;    /* with its answers, parsed */
    json_t *log;        /* the history: owned array */
    json_t *notes;      /* owned array; empty unless loaded with the notes */
    json_t *files_more; /* owned array: files attached after submission (files.h); may be empty */
} zq_staff_case;

/* Loads case id with its history (and its notes when notes). Returns 0;
 * -ZQ_ENOTFOUND when id is not a case id or there is no such case;
 * -ZQ_EUNAVAIL; -ZQ_ENOMEM. On failure c is cleared. */
int zq_staff_case_load(zq_store *st, const char *id, bool notes, zq_staff_case *c, zq_err *err);
void zq_staff_case_clear(zq_staff_case *c);

/* The deadline of c from its history: the authoritative computation (the
 * row's index fields are a copy for the list). */
void zq_staff_case_deadline(const zq_staff_ctx *ctx, const zq_staff_case *c, zq_deadline *d);

/* The detail view of c for a member of staff with role: the row, the
 * deadline, the answers as stored and by step with labels, the history,
 * the notes, the moves allowed and the extension limits. A new object, or
 * NULL when out of memory. */
json_t *zq_staff_case_json(const zq_staff_ctx *ctx, const zq_staff_case *c, zq_role role);

/* How a staff action is recorded: the audit entry as the caller fills it
 * (who, role, action, target, addr, rid, at_ms; the action writes its own
 * detail), the actor's role, the client's Idempotency-Key (or NULL) and
 * the time of the change. */
typedef struct zq_staff_act {
    zq_audit audit;
    zq_role role;
    const char *idem_key;
    int64_t now_ms;
} zq_staff_act;

/* What a move carries besides its internal note, checked by the caller
 * (the move's outcome_required and department_required). Borrowed. */
typedef struct zq_staff_outcome {
    const char *message;     /* for the enterprise (public view, event); NULL or "": none */
    const char *result;      /* a zq_wf_result id, or NULL */
    const char *reason;      /* why not accepted, or NULL */
    long long recovered_fen; /* the amount recovered; negative: not given */
    const char *department;  /* a handling.json department id, or NULL */
    const char *department_label;
    /* A request for more material: the date to supply it by (YYYY-MM-DD,
     * checked by the caller), or NULL for [workflow] supplement_days
     * working days from now. */
    const char *supply_by;
} zq_staff_outcome;

/* Moves c to status to, which zq_wf_check allowed for the actor, with
 * note (internal, may be NULL) and o (may be NULL: no message, no
 * outcome); writes the history entry (note, and "message" with
 * "public":true only when there is a message), the deadline, the answer
 * fields (to "answered"), the outcome fields (result, recovered_fen,
 * department), whether the review or transfer decision was on time, the
 * event (its note is the message) and the audit entry. A move to
 * "needs_info" records "supply_by" (o->supply_by or the default date); a
 * move out of it records "waited_workdays" (zq_wf_waited). Returns what
 * zq_staff_update returns (-ZQ_ECONFLICT: c changed meanwhile). */
int zq_staff_transition(zq_store *st, const zq_staff_ctx *ctx, const zq_staff_case *c,
                        const char *to, const char *note, const zq_staff_outcome *o,
                        const zq_staff_act *act, zq_err *err);

/* Assigns c to handler (NULL: unchanged) and office (NULL or "": the
 * current one, else the default for its answers), with note (the history
 * keeps 299 bytes of it); a consultation waiting for assignment moves to
 * "assigned". Returns what zq_staff_update returns. */
int zq_staff_assign(zq_store *st, const zq_staff_ctx *ctx, const zq_staff_case *c,
                    const char *handler, const char *office, const char *note,
                    const zq_staff_act *act, zq_err *err);

/* True when c is in a status whose clock is the answer time limit, the
 * only one zq_staff_extend can lengthen. */
bool zq_staff_case_extendable(const zq_staff_case *c);

/* Sets the answer time limit of c to days (checked by the caller against
 * ctx->lim), for reason. Returns -ZQ_ECONFLICT when c is not
 * extendable, else what zq_staff_update returns. */
int zq_staff_extend(zq_store *st, const zq_staff_ctx *ctx, const zq_staff_case *c, int days,
                    const char *reason, const zq_staff_act *act, zq_err *err);

/* Adds a note with text by act->audit.who to case id (zq_staff_add_note).
 * Returns 0 and the note {at_ms, by, text} as a new object in *out, or
 * what zq_staff_add_note returns. */
int zq_staff_note(zq_store *st, const char *id, const char *text, const zq_staff_act *act,
                  json_t **out, zq_err *err);

/* ---- the enterprise's own actions (enterprise.c) ---- */

#define ZQ_STAFF_REASON_MAX 500 /* characters of a withdrawal reason or an evaluation comment */

/* Withdraws c for the enterprise, which proved the case's mobile (the
 * caller checked that), with reason (NULL or "": none; at most
 * ZQ_STAFF_REASON_MAX characters, checked by the caller): moves it to
 * "withdrawn" with a history entry by "enterprise" (note and public
 * message "企业撤回：reason"), clears its deadline, records withdrawn_by
 * and withdrawn_ms, adds it to cases:withdrawn (scored by the time, for
 * the digest), writes the case_status event and the audit entry
 * (act->audit's addr and rid; who and role "enterprise"). Returns 0;
 * -ZQ_ECONFLICT when c is not withdrawable (zq_wf_withdrawable) or
 * changed since it was loaded; else what zq_staff_update returns. */
int zq_staff_withdraw(zq_store *st, const zq_staff_case *c, const char *reason,
                      const zq_staff_act *act, zq_err *err);

/* Records the enterprise's evaluation of closed case id: rating (an id
 * of zq_wf_rating_label) and comment (NULL or "": none; at most
 * ZQ_STAFF_REASON_MAX characters, no control characters: checked by the
 * caller) in the hash (rating, rating_comment, rated_ms), a history
 * entry {"kind":"evaluation"} and the audit log, all in one script that
 * first checks the case is closed and not yet rated. Returns 0;
 * -ZQ_ENOTFOUND; -ZQ_ECONFLICT when the case is not closed (its status
 * in cur, 24 bytes, may be NULL); -ZQ_EBUSY when it was rated already
 * (the rating in cur); -ZQ_EINVAL for an unknown rating; -ZQ_EUNAVAIL
 * (as zq_staff_update); -ZQ_EREPLY. */
int zq_staff_evaluate(zq_store *st, const char *id, const char *rating, const char *comment,
                      const zq_staff_act *act, char cur[24], zq_err *err);

/* Export. */
typedef enum zq_export_format {
    ZQ_EXPORT_CSV = 0,
    ZQ_EXPORT_JSONL = 1,
} zq_export_format;

/* Where an export goes. begin is called once, right before the first
 * byte, after the first rows were read (so a failure to read can still be
 * answered properly); write may be called many times with chunks of about
 * 64 KiB. Both return 0 or a negative code (stop). */
typedef struct zq_export_sink {
    int (*begin)(void *ctx);
    int (*write)(void *ctx, const void *data, size_t len);
    void *ctx;
} zq_export_sink;

/* Streams every case matching f, newest first: CSV (UTF-8 with BOM, CRLF,
 * RFC 4180, formula-neutralised, a header row of Chinese column names) or
 * JSON Lines (one object per case). Memory stays bounded whatever the
 * number of rows. When reading fails after the first byte, a last line
 * says that the export is incomplete. Returns 0 and the number of rows in
 * *rows, -ZQ_EUNAVAIL (before begin when the first read fails), or the
 * sink's code. masked: mobiles and the contact's name as the staff list
 * shows them (zq_mask_mobile, zq_mask_name), in the row and in the
 * answers, and mobile numbers inside free-text answers masked
 * (zq_mask_text); for roles that may not take personal data away. */
int zq_staff_export(zq_store *st, const zq_staff_ctx *ctx, const zq_case_filter *f,
                    zq_export_format fmt, bool masked, const zq_export_sink *sink, long long *rows,
                    zq_err *err);

/* Counts by type, status, region and month (of submission), the median
 * days from submission to the written answer, and the share of answers
 * given within their time limit, over the cases matching f; the
 * enterprises' evaluations as "satisfaction": {"rated", "satisfied",
 * "basically_satisfied", "dissatisfied", "satisfied_share" (满意 or
 * 基本满意 among the rated; null when none), "closed", "response_share"
 * (rated among the closed), "by_type", "by_region", "by_month" (arrays of
 * {"type"|"region"|"month", "label"?, the same counts and share})}. Returns 0
 * and a new object in *out, or -ZQ_EUNAVAIL. */
int zq_staff_stats(zq_store *st, const zq_staff_ctx *ctx, const zq_case_filter *f, json_t **out,
                   zq_err *err);

/* The morning digest for the staff targets: every open case whose
 * deadline is past (overdue) or within `within` working days of
 * ctx->today (due_soon), grouped by office:
 *   {"date":"2026-11-26", "within_workdays":2, "total_overdue":n,
 *    "total_due_soon":n, "offices":[{"office":"510100",
 *    "office_name":"成都市经济和信息化局", "overdue":[case…],
 *    "due_soon":[case…]}…], "calendar_missing":[2027]}
 * with case = {"id","type","status","status_label","what","due",
 * "days_left","handler","company_name","cross_region"}; and
 * "total_withdrawn", "withdrawn": the cases the enterprises withdrew
 * (zq_staff_withdraw) since the start of the previous working day, still
 * withdrawn, at most 200, [{"id","type","type_label","company_name",
 * "withdrawn_at"}]. Offices are in
 * code order, the cross-region desk last; cases by due date. At most 2000
 * cases are read. calendar_missing lists the years ctx->cal lacks that
 * working-day deadlines need: this year, and from November the next.
 * Returns 0 and a new object, or -ZQ_EUNAVAIL. */
int zq_staff_digest(zq_store *st, const zq_staff_ctx *ctx, int within, json_t **out, zq_err *err);

/* The digest as a Chinese plain-text message (markdown-free, short lines)
 * for a group robot; "" cases give a one-line "no case due" message; the
 * enterprises' withdrawals follow; a warning line per missing holiday
 * year ends it.
 * Returns a new string (free()), NULL when out of memory. */
char *zq_staff_digest_text(const json_t *digest);

#endif

/* Case workflow: the state machine of each case type written once as a
 * table (statuses, allowed moves, who may make them, whether a note is
 * required, which time limit each status starts), and the legal time
 * limits computed on working days from a case's history. Pure functions:
 * no Redis here (see staff.h for the stored side). */
#ifndef ZHUQI_WORKFLOW_H
#define ZHUQI_WORKFLOW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuqi/calendar.h"
#include "zhuqi/config.h"
#include "zhuqi/jsontext.h"

/* The time limits of [workflow] in zhuqi.ini. */
typedef struct zq_wf_limits {
    int review_workdays;     /* submission -> decision on acceptance (working days) */
    int transfer_workdays;   /* acceptance -> transfer (working days; 10 by law) */
    int answer_days;         /* transfer -> written result (days; 30 by law) */
    int answer_max_days;     /* with an extension (days; 90 by law) */
    int supplement_workdays; /* default time to supply more material (working days) */
    bool review_restart;     /* the review period starts again after more material,
                                instead of pausing while it is awaited */
} zq_wf_limits;

/* Copies the limits out of a configuration. */
void zq_wf_limits_from_config(const zq_config *cfg, zq_wf_limits *out);

/* The clock a status starts. */
typedef enum zq_wf_clock {
    ZQ_WF_CLOCK_NONE = 0,
    ZQ_WF_CLOCK_REVIEW = 1,   /* decide on acceptance, from (re)submission */
    ZQ_WF_CLOCK_TRANSFER = 2, /* transfer, from acceptance */
    ZQ_WF_CLOCK_ANSWER = 3,   /* written result, from transfer */
    ZQ_WF_CLOCK_SUPPLY = 4,   /* the enterprise supplies more material (its own date) */
} zq_wf_clock;

typedef struct zq_wf_status {
    const char *id;    /* "submitted" */
    const char *label; /* "已提交" */
    zq_wf_clock clock; /* the limit that runs while a case is here */
    bool final;        /* no move leaves it */
    bool withdrawable; /* no decision yet: the enterprise may withdraw the case */
} zq_wf_status;

typedef struct zq_wf_move {
    const char *from;
    const char *to;
    const char *action;       /* the button: "受理" */
    zq_role role;             /* the least role allowed to make it */
    bool note_required;       /* a reason must be given */
    bool public_note;         /* a message to the complainant is usual here (never pre-ticked) */
    bool outcome_required;    /* a result type and the amount recovered must be given */
    bool department_required; /* the receiving department must be picked (handling.json) */
    bool message_required;    /* a message to the complainant must be given (what is missing) */
} zq_wf_move;

typedef struct zq_wf_machine {
    const char *form;    /* the form id it governs: "complaint", "consult" */
    const char *initial; /* the status a new case has */
    const zq_wf_status *statuses;
    size_t nstatuses;
    const zq_wf_move *moves;
    size_t nmoves;
} zq_wf_machine;

/* The machine of a form; NULL for an unknown form. Static, borrowed. */
const zq_wf_machine *zq_wf_machine_for(const char *form);
/* Every machine, for listing. */
const zq_wf_machine *zq_wf_machine_at(size_t i);
size_t zq_wf_nmachines(void);

/* A status of m, or NULL. */
const zq_wf_status *zq_wf_status_find(const zq_wf_machine *m, const char *status);
/* The move from -> to of m, or NULL when the table has none. */
const zq_wf_move *zq_wf_move_find(const zq_wf_machine *m, const char *from, const char *to);
/* True when the enterprise may withdraw a case of form in status (no
 * decision taken yet: the status is marked withdrawable and the machine
 * has "withdrawn"). */
bool zq_wf_withdrawable(const char *form, const char *status);
/* True when some machine knows status. */
bool zq_wf_status_known(const char *status);

/* Checks one move for a role and a note. Returns 0 when allowed,
 * -ZQ_ECONFLICT when the table has no such move, -ZQ_EFORBIDDEN when the
 * role is too low, -ZQ_EINVAL when the move needs a note and note is NULL
 * or blank. */
int zq_wf_check(const zq_wf_machine *m, const char *from, const char *to, zq_role role,
                const char *note);

/* The moves out of from that role may make, as a new array of
 * {"to","to_label","action","note_required","public_note","outcome_required",
 * "department_required","message_required"}. */
json_t *zq_wf_moves_json(const zq_wf_machine *m, const char *from, zq_role role);

/* Every machine as a new object {form: {"initial","statuses":[…],"moves":[…]}}
 * for the console. */
json_t *zq_wf_machines_json(void);

/* A result type of a written answer or a closing (stable codes). */
typedef struct zq_wf_result {
    const char *id;       /* "paid_full" */
    const char *label;    /* "已全额支付" */
    bool amount_positive; /* the amount recovered must be above zero */
    bool reason_required; /* a reason must be given ("not_accepted") */
} zq_wf_result;

/* The result type id, or NULL when there is none. Static, borrowed. */
const zq_wf_result *zq_wf_result_find(const char *id);
/* Every result type as a new array of {"id","label","amount_positive",
 * "reason_required"}. */
json_t *zq_wf_results_json(void);

/* The Chinese label of an evaluation rating ("satisfied" -> "满意",
 * "basically_satisfied" -> "基本满意", "dissatisfied" -> "不满意"), or
 * NULL for anything else. Static. */
const char *zq_wf_rating_label(const char *rating);
/* The i-th rating id (in the order above), or NULL past the last. */
const char *zq_wf_rating_at(size_t i);

/* The handling lists of config/handling.json: the departments a case is
 * transferred to and the message templates for the enterprise:
 *   {"departments":[{"id":"jxj","label":"市（州）经济和信息化局"}…],
 *    "messages":[{"to":"accepted","title":"受理","text":"…"}…]}
 * Loads and checks path (ids [a-z0-9_], unique; labels and texts
 * non-empty; "to" a known status). Returns 0 and a new object in *out, or
 * a negative code with err naming the file and the problem. */
int zq_wf_handling_load(const char *path, json_t **out, zq_err *err);
/* The label of department id in handling (borrowed), or NULL when it is
 * not in the list (or handling is NULL). */
const char *zq_wf_department_label(const json_t *handling, const char *id);

/* The deadline running on a case. */
typedef struct zq_deadline {
    zq_wf_clock clock; /* ZQ_WF_CLOCK_NONE: none runs */
    zq_date start;     /* the day the clock started (not counted) */
    zq_date due;       /* the last day on time */
    bool workdays;     /* the limit counts working days, else calendar days */
    int limit;         /* its length in those units */
    bool extended;     /* an extension of the answer limit applies */
    bool fallback;     /* a working-day limit spans a year without a holiday file */
    int paused;        /* review: working days waited for more material, not counted */
} zq_deadline;

/* One history entry (a case:{id}:log JSON object) as the deadlines read
 * it: a has_ flag is false where the member is absent or not of its type
 * (as json_string_value / json_is_integer would say); strings decoded,
 * cut when longer than ours ever are. */
typedef struct zq_wf_entry {
    int64_t at_ms;   /* -1: no number */
    bool at_integer; /* at_ms was written as an integer */
    bool has_kind, has_to, has_from, has_supply_by, has_days;
    char kind[24];
    char to[24];
    char from[24];
    char supply_by[32];
    int days;
} zq_wf_entry;

/* The members of an entry that zq_wf_entry_from_toks reads, in its order,
 * for zq_json_members (a caller may append its own after them). */
#define ZQ_WF_ENTRY_KEYS "at_ms", "kind", "to", "from", "supply_by", "days"
#define ZQ_WF_ENTRY_NKEYS 6
/* The entry from its members' tokens t[0..ZQ_WF_ENTRY_NKEYS). */
void zq_wf_entry_from_toks(const zq_json_tok *t, zq_wf_entry *out);
/* The entry from a jansson object (not an object: every member absent). */
void zq_wf_entry_from_json(json_t *e, zq_wf_entry *out);

/* zq_wf_deadline over entries already read (n of them, oldest first;
 * entries may be NULL when n is 0). */
int zq_wf_deadline_entries(const zq_calendar *cal, const zq_wf_limits *lim, const char *form,
                           const char *status, const zq_wf_entry *entries, size_t n,
                           int64_t created_ms, zq_deadline *out);

/* Computes the deadline of a case of form in status from its history
 * (the case:{id}:log entries {at_ms, from, to, kind?, days?}, oldest
 * first; borrowed, may be NULL) and its creation time:
 *   review    review_workdays working days from the last entry into
 *             "submitted" (the submission; the return from needs_info only
 *             when lim->review_restart), plus, when the clock pauses, the
 *             working days spent in needs_info since then (out->paused;
 *             see zq_wf_waited)
 *   supply    the "supply_by" date (YYYY-MM-DD) of the entry into
 *             needs_info, or supplement_workdays working days after it
 *   transfer  transfer_workdays working days from the entry into "accepted"
 *   answer    answer_days days from the entry into "transferred", or the
 *             days of the latest extension entry ({"kind":"extension",
 *             "days":N}) after it; a last day that is not a working day
 *             moves to the next working day (a legal period ends on a
 *             working day).
 * Statuses without a clock give clock == ZQ_WF_CLOCK_NONE. cal may be NULL
 * (Monday-Friday). Always returns 0. */
int zq_wf_deadline(const zq_calendar *cal, const zq_wf_limits *lim, const char *form,
                   const char *status, json_t *history, int64_t created_ms, zq_deadline *out);

/* The working days a case waited for more material: from the day it
 * entered needs_info (at from_ms, not counted) to the day it left it
 * (at to_ms, counted), 0 when the same day or earlier. cal may be NULL. */
int zq_wf_waited(const zq_calendar *cal, int64_t from_ms, int64_t to_ms);

/* The time of the last entry into needs_info in history (as in
 * zq_wf_deadline), or -1 when there is none. The entry itself goes to
 * *entry when not NULL (borrowed). */
int64_t zq_wf_last_request(json_t *history, json_t **entry);

/* The review deadline of a case created on day created and never moved. */
zq_date zq_wf_review_due(const zq_calendar *cal, const zq_wf_limits *lim, zq_date created);

/* The latest creation day whose untouched review deadline (see above) is
 * on or before limit: a case created on that day or earlier and still in
 * "submitted" without a move is due by limit. */
zq_date zq_wf_review_cutoff(const zq_calendar *cal, const zq_wf_limits *lim, zq_date limit);

/* Days left until d->due seen from today, in d's units: 0 when due
 * today, negative when overdue (minus the working days, or days, past
 * it). */
int zq_wf_days_left(const zq_calendar *cal, const zq_deadline *d, zq_date today);

/* The clock's name ("review") and its Chinese label ("受理审查期限"). */
const char *zq_wf_clock_name(zq_wf_clock c);
const char *zq_wf_clock_label(zq_wf_clock c);
/* Parses a clock name; ZQ_WF_CLOCK_NONE for anything else. */
zq_wf_clock zq_wf_clock_parse(const char *s);

/* The deadline as a new JSON object for the APIs:
 *   {"status", "status_label", "clock", "what", "start", "due",
 *    "unit": "workdays"|"days", "limit", "days_left", "overdue",
 *    "extended", "fallback_calendar"}, with "paused_workdays" when the
 * review clock paused
 * or json_null() when no clock runs. */
json_t *zq_wf_deadline_json(const zq_calendar *cal, const zq_deadline *d, const char *status,
                            zq_date today);

/* The same object (or null) written as JSON text into b. */
void zq_wf_deadline_write(zq_buf *b, const zq_calendar *cal, const zq_deadline *d,
                          const char *status, zq_date today);
void zq_wf_deadline_write_left(zq_buf *b, const zq_deadline *d, const char *status, zq_date today,
                               int days_left);

/* The same with days_left computed already (see zq_wf_days_left). */
json_t *zq_wf_deadline_json_left(const zq_deadline *d, const char *status, zq_date today,
                                 int days_left);

/* The deadline as YYYYMMDD, the score of the cases:due index; 0 for none. */
int64_t zq_wf_date_score(zq_date d);

/* The office that handles a case by default and the partner region when
 * the respondent (complaints) or the enterprise (consultations) is outside
 * Sichuan: Sichuan codes are 51xxxx; others go to the provincial
 * department's cross-region desk "510000" (Chongqing, 500000, through the
 * Sichuan-Chongqing channel). office and partner get 7 bytes each. */
void zq_wf_default_office(const char *form, json_t *answers, char office[8], char partner[8]);

#endif

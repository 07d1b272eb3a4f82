/* Cases in Redis: creation (numbered per day, idempotent, with history,
 * indexes and an event for the bot, in one atomic script), loading, and
 * the public view shown to whoever knows the number and the mobile. */
#ifndef ZHUQI_CASES_H
#define ZHUQI_CASES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "zhuqi/buf.h"
#include "zhuqi/calendar.h"
#include "zhuqi/schema.h"
#include "zhuqi/store.h"

struct zq_wf_limits;

#define ZQ_CASE_ID_MAX 32
#define ZQ_CASE_OWNER_LEN 32 /* hex characters of zq_case_owner */

/* What a new case is made of. Strings are borrowed. */
typedef struct zq_case_new {
    const zq_form *form;
    json_t *answers;      /* normalised answers (borrowed) */
    const char *idem_key; /* client's Idempotency-Key, scoped by form */
    const char *owner;    /* zq_case_owner of who submits; NULL or "": nobody */
    const char *source;   /* "web" or "chat:<channel>:<user>" */
    int64_t now_ms;       /* creation time (ms since the epoch) */
    int idem_ttl_s;
    int dup_window_days; /* 0: no duplicate check */
    /* Daily quotas (Beijing day) of stored cases, 0: off: per client
     * (zq_client_key; NULL: none, e.g. chat), per mobile and per credit
     * code of the answers (a missing answer: not counted). */
    const char *client;
    int quota_ip, quota_mobile, quota_uscc;
    /* The uploads that become the case's: their files:pending members
     * (zq_files_pending_members), space-separated; NULL or "": none. */
    const char *files_pending;
    /* The public list of the case's files (zq_files_public, JSON), kept
     * beside the answers so the public view need not parse them; NULL
     * or "": none. */
    const char *files_pub;
} zq_case_new;

/* A loaded case. Clear with zq_case_clear(). */
typedef struct zq_case {
    char id[ZQ_CASE_ID_MAX];
    char form[32];
    char status[24];
    int64_t created_ms;
    int64_t updated_ms;
    char mobile[16];
    char region[8];
    char source[128];
    char dup_of[ZQ_CASE_ID_MAX];
    char owner[ZQ_CASE_OWNER_LEN + 1]; /* who submitted it (zq_case_owner); "" for older cases */
    json_t *answers;                   /* owned */
    json_t *history;                   /* owned: [{"at_ms","from","to","by","note"}] */
    json_t *files;                     /* owned: the public file list (files_pub), or NULL */
    json_t *files_more;                /* owned: records attached later (files.h), or NULL */
    /* The enterprise's evaluation (workflow.h ratings): "" when not
     * rated; the comment owned, NULL when none. */
    char rating[24];
    int64_t rated_ms;
    char *rating_comment;
} zq_case;

/* Creates a case, or finds the one this idempotency key already created.
 * On success returns 0, copies the id into id (ZQ_CASE_ID_MAX bytes) and
 * sets *created (false when the key had been used). dup_of (may be NULL,
 * ZQ_CASE_ID_MAX bytes) receives the earlier case with the same
 * complainant code, respondent and amount, or "". Returns
 * -ZQ_EBUSY when a daily quota is full (nothing stored; an Idempotency-Key
 * that made a case already returns it whatever the quotas): id then holds
 * the quota's name, "ip", "mobile" or "uscc". Returns -ZQ_EUNAVAIL
 * when Redis is away or refuses writes (MISCONF, OOM...: nothing stored),
 * or when the case was stored but fewer replicas than wanted confirmed it
 * in time (zq_store_wait; id is set): a retry with the same idem_key then
 * returns that case. -ZQ_ECONFLICT (nothing stored) when an upload in
 * files_pending is no longer pending under that name: the draft was
 * resumed elsewhere and its uploads went with it (zq_files_take).
 * -ZQ_EREPLY on a script error. */
int zq_case_create(zq_store *st, const zq_case_new *in, char *id, bool *created, char *dup_of,
                   zq_err *err);

/* The Chinese message for a full quota (the name zq_case_create gave);
 * static. */
const char *zq_case_quota_message(const char *quota);
/* Seconds from now_ms to the end of the quotas' day: the next midnight,
 * Beijing time (1..86400). */
int zq_case_quota_retry_s(int64_t now_ms);

/* The case that form's Idempotency-Key key created: returns 0 with its
 * number in id, -ZQ_ENOTFOUND when the key made none (or has expired), or
 * -ZQ_EUNAVAIL. */
int zq_case_find_idem(zq_store *st, const char *form, const char *key, char id[ZQ_CASE_ID_MAX],
                      zq_err *err);

/* Loads a case and its history. -ZQ_ENOTFOUND when there is none. */
int zq_case_load(zq_store *st, const char *id, zq_case *out, zq_err *err);
/* The same in two halves, so a caller can pipeline it with its own
 * commands: append appends two commands (HGETALL, LRANGE) and returns 0, or
 * -ZQ_ENOTFOUND for an id of the wrong shape (nothing appended); the two
 * replies, in that order, go to from_replies (borrowed). */
int zq_case_load_append(zq_store *st, const char *id);
int zq_case_from_replies(const redisReply *h, const redisReply *l, const char *id, zq_case *out,
                         zq_err *err);
/* As zq_case_from_replies, for the public view, which shows two answers:
 * when the case has a usable list_sum (include/zhuqi/summary.h),
 * out->answers holds only company_name and contact_name, taken from it,
 * and the answers JSON is not parsed. Older cases are read whole. */
int zq_case_from_replies_public(const redisReply *h, const redisReply *l, const char *id,
                                zq_case *out, zq_err *err);
void zq_case_clear(zq_case *c);

/* The owner mark of a submission made by who (the web session id, or
 * the chat source): the first 16 bytes of SHA-256("owner:" who) in hex,
 * so that the record binds its Idempotency-Key to the submitter without
 * holding a session id. Writes ZQ_CASE_OWNER_LEN + 1 bytes into out. */
void zq_case_owner(const char *who, char out[ZQ_CASE_OWNER_LEN + 1]);

/* True when a replay of c's Idempotency-Key by owner may see c: the
 * owners agree, or c has no owner (a case from before owners were kept). */
bool zq_case_owner_matches(const zq_case *c, const char *owner);

/* True when id has the shape of a case number (TS20261126-0001). */
bool zq_case_id_valid(const char *id);

/* The Chinese label of a status ("已提交"), or the status itself. */
const char *zq_case_status_label(const char *status);

/* A case as its public view reads it, without a JSON tree: every
 * pointer is borrowed (from a Redis reply, or from a zq_case). */
typedef struct zq_case_pubsrc {
    const char *id, *form, *status, *mobile, *rating; /* NUL-terminated; rating "" when none */
    int64_t created_ms, rated_ms;
    const char *company_name, *contact_name; /* text, not masked yet */
    const char *files;                       /* files_pub (a JSON array), or NULL */
    size_t files_len;
    const char *rating_comment; /* NULL: none */
    size_t rating_comment_len;
    /* The history: the case:{id}:log entries' JSON texts, oldest first. */
    size_t nlog;
    const char *const *log;
    const size_t *log_len;
} zq_case_pubsrc;

/* Writes the public view of c as JSON text into b: the object of
 * zq_case_public_json_at, or of zq_case_public_json when lim is NULL (no
 * "deadline" then). An entry of the history that is not one JSON object
 * is left out, as a parse would. Sets b->oom when memory ran out. */
void zq_case_public_write(zq_buf *b, const zq_schema *s, const zq_calendar *cal,
                          const struct zq_wf_limits *lim, const zq_case_pubsrc *c, zq_date today);

/* The public view: status, history, deadlines, with personal data masked,
 * and "files" (kind, name, size of each) when the case has any; what the
 * enterprise may do now ("can_withdraw": no decision yet;
 * "can_evaluate": closed and not rated) and its "evaluation" ({"rating",
 * "label", "comment"?, "at"}) once given.
 * Returns a new object. Only status changes appear in the history
 * (assignments and extensions are internal); the duplicate mark
 * (dup_of) is internal too and never appears. */
json_t *zq_case_public_json(const zq_schema *s, const zq_case *c);

/* The public view with "deadline": the time limit running now (see
 * zq_wf_deadline_json in workflow.h: status, what, due date, days left,
 * overdue), or null when none runs, and for a case waiting for more
 * material "supplement": {"message" (what the office asked for),
 * "requested_at", "supply_by", "overdue"}; computed from the history with the
 * calendar cal (may be NULL: Monday-Friday) and the limits lim, as of
 * today (Beijing). Returns a new object. */
json_t *zq_case_public_json_at(const zq_schema *s, const zq_calendar *cal,
                               const struct zq_wf_limits *lim, const zq_case *c, zq_date today);

#endif

/* The web session in Redis: one hash {prefix}sess:{sid} with a sliding
 * TTL, holding
 *   csrf        the token writes must echo in X-CSRF-Token
 *   d:{form}    the draft of that flow: its done steps, a JSON array of
 *               step ids; present whenever the draft is
 *   a:{form}:{field}  one answer of that draft, its normalised value as
 *               JSON (one field per answer, so that a step reads and
 *               writes its own answers only)
 *   m:{form}    the draftmob key (below) of the draft's mobile answer
 *   f:{form}    a draft stored before the per-answer layout, whole, as
 *               JSON {"step", "answers", "done"}: still read (and
 *               preferred to a: fields beside it: only an older release
 *               writes it), and replaced by d: and a: fields at its next
 *               save
 *   u:{form}    the uploads of that draft: a JSON array of file records
 *               (include/zhuqi/files.h), kept apart from the draft so
 *               that a step save never races an upload
 *   v:{purpose} "{tag}:{until ms}": the session proved the mobile with
 *               that tag (zq_otp_mobile_tag) by SMS code for purpose
 * and {prefix}draftmob:{form}:{tag} names the session that last saved a
 * draft of form with that mobile answer (the draft's TTL), so that a
 * verified session elsewhere can resume it.
 * The intake API and the chat-to-web hand-over both keep drafts here.
 * Reading a session refreshes its TTL in the same round trip. A draft
 * read here is {"answers": {...}, "done": [...]}. */
#ifndef ZHUQI_SESSION_H
#define ZHUQI_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "zhuqi/store.h"

#define ZQ_SESSION_HEX 64 /* sid and csrf: 64 lowercase hex digits */

typedef struct zq_session {
    char sid[ZQ_SESSION_HEX + 1];
    char csrf[ZQ_SESSION_HEX + 1];
    json_t *draft; /* the draft of the form asked for: new reference or NULL */
    json_t *files; /* its uploads (u:{form}): new reference to an array, or NULL */
    bool exists;   /* the session was found (it has a csrf) */
} zq_session;

/* True when sid has the shape of a session id. */
bool zq_session_sid_valid(const char *sid);

/* Reads session sid (the cookie's value; any value that is not a session
 * id gives no session) with the draft of form (NULL: none), and refreshes
 * its TTL to ttl_s. s is filled in (sid copied when valid, exists, draft)
 * and must be cleared with zq_session_clear. Returns 0, -ZQ_EUNAVAIL when
 * Redis is away or answers "not now" (LOADING, MASTERDOWN...: never taken
 * for a missing session), or -ZQ_EREPLY for another error reply. */
int zq_session_load(zq_store *st, const char *sid, const char *form, int ttl_s, zq_session *s,
                    zq_err *err);

/* Fills s->sid and s->csrf with new random values. Returns 0 or -ZQ_EIO. */
int zq_session_new_ids(zq_session *s);

/* Writes s->draft (borrowed: its "answers" and "done") as the draft of
 * form, replacing every answer stored before, and s->csrf too when
 * with_csrf (a new session), then sets the TTL. Returns 0, -ZQ_ENOMEM, or
 * -ZQ_EUNAVAIL when Redis is away or refuses the write (logged). */
int zq_session_save(zq_store *st, const zq_session *s, const char *form, bool with_csrf, int ttl_s,
                    zq_err *err);

/* Writes a new session with its csrf only (no draft), for pages that
 * write without a form (the lookup page). Returns 0 or -ZQ_EUNAVAIL. */
int zq_session_create(zq_store *st, const zq_session *s, int ttl_s, zq_err *err);

/* Marks session sid verified for purpose and mobile (11 digits) until
 * until_ms. Returns 0, -ZQ_ENOTFOUND when the session does not exist
 * (nothing written), -ZQ_EUNAVAIL or -ZQ_EREPLY. */
int zq_session_mark_verified(zq_store *st, const char *sid, const char *purpose, const char *mobile,
                             int64_t until_ms, zq_err *err);

/* Whether session sid proved mobile (11 digits; NULL: never) for purpose
 * by SMS code, and that proof still holds at now_ms: sets *ok. The check
 * every use of a code makes ("submit", "resume", "lookup", "supplement").
 * Returns 0, -ZQ_EUNAVAIL or -ZQ_EREPLY. */
int zq_session_verified(zq_store *st, const char *sid, const char *purpose, const char *mobile,
                        int64_t now_ms, bool *ok, zq_err *err);

/* The most purposes zq_session_verified_any checks at once. */
#define ZQ_SESSION_PURPOSES_MAX 4

/* Whether session sid exists (*exists) and proved mobile (11 digits;
 * NULL: never) by SMS code for any of the n purposes (at most
 * ZQ_SESSION_PURPOSES_MAX), that proof still holding at now_ms (*ok): one
 * round trip, which does not refresh the session's TTL. Returns 0,
 * -ZQ_EUNAVAIL or -ZQ_EREPLY. */
int zq_session_verified_any(zq_store *st, const char *sid, const char *const *purposes, size_t n,
                            const char *mobile, int64_t now_ms, bool *exists, bool *ok,
                            zq_err *err);

/* The draft of form that some session last saved with mobile (11
 * digits) as its mobile answer, if it still has it: returns 0 with *draft
 * new and that session's id in sid, or *draft NULL when there is none.
 * -ZQ_EUNAVAIL or -ZQ_EREPLY. */
int zq_session_find_draft(zq_store *st, const char *form, const char *mobile, json_t **draft,
                          char sid[ZQ_SESSION_HEX + 1], zq_err *err);

/* Deletes the draft of form and its uploads' list from session sid. Returns 0 or -ZQ_EUNAVAIL. */
int zq_session_drop_draft(zq_store *st, const char *sid, const char *form, zq_err *err);

/* What zq_session_step found. */
typedef enum zq_step_outcome {
    ZQ_STEP_SAVED,    /* written, or for a check only: every check passed */
    ZQ_STEP_NO_DRAFT, /* no session, or no draft of the form in it */
    ZQ_STEP_CSRF,     /* the token is not the session's */
    ZQ_STEP_LEGACY,   /* the draft is stored whole (f:{form}): nothing done */
    ZQ_STEP_ORDER,    /* an earlier step is not done: result.order */
    ZQ_STEP_STOP,     /* a stored gate answer rules the flow out: result.stop */
} zq_step_outcome;

/* One step's save, in one round trip. */
typedef struct zq_step_save {
    const char *sid;
    const char *form;
    int ttl_s;
    const char *token;         /* the request's X-CSRF-Token, NULL: none */
    const char *step;          /* its id: marked done */
    const char *const *before; /* the steps that must be done first, in order */
    size_t nbefore;
    const char *const *stop_fields; /* a gate field's answer equal to */
    const char *const *stop_values; /* this option value stops the flow */
    size_t nstop;
    bool write;                  /* false: the checks only */
    const char *const *set_ids;  /* the step's answers */
    const char *const *set_json; /* their values as JSON */
    size_t nset;
    const char *const *del_ids; /* the step's fields left without an answer */
    size_t ndel;
    /* When not NULL, the answers already as the script's list (each
     * field id and its compact JSON followed by "\n", as
     * zq_step_validate_raw writes them), in place of set_ids/set_json. */
    const char *set_list;
    bool has_mobile;    /* the step asks for the "mobile" answer */
    const char *mobile; /* its value, NULL when not 11 characters */
} zq_step_save;

typedef struct zq_step_result {
    zq_step_outcome outcome;
    size_t order;     /* ZQ_STEP_ORDER: index into before */
    size_t stop;      /* ZQ_STEP_STOP: index into stop_fields */
    const char *done; /* written: the done steps as JSON (borrowed) */
    size_t done_len;
    const char *files; /* written: the uploads' JSON, "" when none */
    size_t files_len;
    size_t ndone, nanswers; /* written: see zq_step_result_done/_answer */
    void *reply;            /* private */
    const char **items;     /* private */
} zq_step_result;

/* Checks and saves one step of a draft stored per answer, in one round
 * trip: the session must exist with a draft of in->form, in->token must be
 * its csrf, the steps in->before must be done and no stored answer of
 * in->stop_fields may equal its in->stop_values; then (in->write) the
 * step's answers replace its stored ones, the step is marked done, the
 * TTL slides and the mobile's index is refreshed. Sets r (clear it with
 * zq_step_result_clear) and returns 0, -ZQ_EUNAVAIL or -ZQ_EREPLY (r
 * unset then), -ZQ_ENOMEM or -ZQ_EINVAL. */
int zq_session_step(zq_store *st, const zq_step_save *in, zq_step_result *r, zq_err *err);

/* The i-th done step of a written step (borrowed from r). */
const char *zq_step_result_done(const zq_step_result *r, size_t i);

/* The i-th stored answer of a written step: its field id and JSON value
 * (borrowed from r). */
void zq_step_result_answer(const zq_step_result *r, size_t i, const char **id, const char **json,
                           size_t *len);

/* Frees what r holds. */
void zq_step_result_clear(zq_step_result *r);

/* Drops s->draft. */
void zq_session_clear(zq_session *s);

#endif

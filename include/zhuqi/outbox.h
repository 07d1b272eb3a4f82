/* The outbox: Redis streams holding one entry per (message, target), read
 * by zhuqi-bot instances through one consumer group, with a delayed set
 * for retries and rate-limit waits, a dead-letter stream, completion marks
 * and the delivery report kept in step by Lua scripts. The producer side
 * (notices, direct messages) is in notices.h; this is what a consumer
 * does with entries. Layout and guarantees: the comment atop lib/push/outbox.c. */
#ifndef ZHUQI_OUTBOX_H
#define ZHUQI_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "zhuqi/notices.h"
#include "zhuqi/store.h"
#include "zhuqi/targets.h"

#define ZQ_OUTBOX_GROUP "bot"
#define ZQ_OUTBOX_DONE_TTL_S 2592000 /* completion marks live 30 days */

/* One outbox entry as read from a stream. */
typedef struct zq_entry {
    char sid[48]; /* stream entry id; "" for one that is not in a stream */
    bool prio;    /* read from outbox:prio */
    char notice[ZQ_NOTICE_ID_MAX];
    char target[ZQ_TARGET_ID_MAX];
    int attempts;        /* attempts made before this one */
    int64_t first_ms;    /* when it was first queued */
    int parts_done;      /* parts of a split message already delivered */
    char *inline_target; /* JSON (zq_target_inline_encode), owned, or NULL */
    bool malformed;      /* fields missing or bad: dead-letter it */
    /* A chat reply queued by the inbound adapters (chat_outbox.h: fields
     * kind=reply channel url body headers auth created_ms expires_ms): a
     * ready request (or an ordered series of them: parts) instead of a
     * notice and a target. Its notice is "reply" and its target "r<id of
     * the first entry>", which names its completion mark. */
    bool reply;
    char reply_channel[16];
    char reply_auth[32];
    char *reply_url;                 /* owned */
    char *reply_body;                /* owned */
    char *reply_headers;             /* owned: JSON array of "Name: value" */
    int64_t reply_expires_ms;        /* 0: none */
    int reply_parts;                 /* 0: reply_body is one request; else an array of this many */
    char reply_rl[ZQ_TARGET_ID_MAX]; /* "" or the rate-limit log the sends take a slot in */
} zq_entry;

void zq_entry_clear(zq_entry *e);

/* What zhuqi-bot must know of an entry before it can send it, looked up
 * for a batch of entries in one pipelined round trip. */
typedef struct zq_outbox_lookup {
    const zq_entry *e;         /* in, borrowed */
    bool want_target;          /* in: load the record of target:{e->target} */
    bool want_content;         /* in: load the title, body and mentions of notice:{e->notice} */
    bool done;                 /* out: its completion mark done:{notice}:{target} is set */
    int target_rc;             /* out: 0, -ZQ_ENOTFOUND (deleted) or -ZQ_EREPLY (unusable record) */
    zq_target target;          /* out: the channel part of the record */
    int content_rc;            /* out: 0, -ZQ_ENOTFOUND (no such notice) or -ZQ_ENOMEM */
    zq_notice_content content; /* out, owned: take it or zq_notice_content_clear it */
} zq_outbox_lookup;

/* Fills the out fields of l[0..n) (zeroed first). Returns 0, or
 * -ZQ_EUNAVAIL, -ZQ_ENOMEM or -ZQ_ETOOBIG (a notice or target id too long
 * for a key) with nothing filled. */
int zq_outbox_lookup_all(zq_store *st, zq_outbox_lookup *l, int n, zq_err *err);

/* Creates the consumer group on outbox and outbox:prio (and the streams)
 * when missing. Returns 0, -ZQ_EUNAVAIL or -ZQ_EREPLY. */
int zq_outbox_init(zq_store *st, zq_err *err);

/* Reads up to max new entries for consumer, outbox:prio first. Fills
 * out[0..*n). Returns 0, -ZQ_EUNAVAIL or -ZQ_EREPLY. */
int zq_outbox_read(zq_store *st, const char *consumer, int max, zq_entry *out, int *n, zq_err *err);

/* Takes over up to max entries of either stream that another consumer has
 * held for at least min_idle_ms (XAUTOCLAIM). cursor (48 bytes, "0-0" to
 * start) is advanced and wraps to "0-0". */
int zq_outbox_claim(zq_store *st, const char *consumer, bool prio, int64_t min_idle_ms,
                    char *cursor, int max, zq_entry *out, int *n, zq_err *err);

/* Resets the idle time of entries this consumer still works on, so that
 * nobody claims them while they are alive (XCLAIM ... JUSTID). */
int zq_outbox_touch(zq_store *st, const char *consumer, const zq_entry *const *e, int n,
                    zq_err *err);

/* Moves up to max entries whose time has come from outbox:delayed back to
 * their stream, atomically. *moved is how many. */
int zq_outbox_move_due(zq_store *st, int64_t now_ms, int max, int *moved, zq_err *err);

/* What became of one entry. */
typedef enum zq_settle_kind {
    ZQ_SETTLE_DONE = 0, /* delivered: mark done, report sent */
    ZQ_SETTLE_RETRY,    /* failed for now: delayed, report retrying */
    ZQ_SETTLE_DEFER,    /* rate limit: delayed, report unchanged */
    ZQ_SETTLE_DEAD,     /* failed for good: dead letter, report failed */
    ZQ_SETTLE_SKIP,     /* already done elsewhere: just acknowledge */
} zq_settle_kind;

typedef struct zq_settle {
    zq_settle_kind kind;
    const zq_entry *e;
    int64_t now_ms;
    int64_t due_ms;      /* RETRY, DEFER */
    int attempts;        /* attempts made, this one included */
    int parts_done;      /* RETRY, DEFER: parts delivered so far */
    const char *reason;  /* RETRY, DEAD: why; "" otherwise */
    const char *channel; /* the target's channel name, for the report; may be "" */
} zq_settle;

/* Applies n settlements in one pipelined round trip; each is atomic (one
 * Lua script: state change, report line and counters, XACK + XDEL of the
 * entry). results[i] (may be NULL) is 1 when applied, 0 when the entry
 * had already been completed (for DONE: someone else confirmed it first,
 * so this was a duplicate delivery; RETRY/DEFER/DEAD: dropped because it
 * was done). Returns 0, or -ZQ_EUNAVAIL when Redis could not be reached
 * (nothing is known to be applied: call again with the same ops; they are
 * idempotent), -ZQ_EREPLY when a script failed. */
int zq_outbox_settle(zq_store *st, const zq_settle *ops, int n, int *results, zq_err *err);

/* The back-off before attempt number `attempt` + 1 (attempt >= 1 failed
 * attempts so far): retry_after_ms when the platform said so (plus up to
 * 10% jitter), else base * 2^(attempt-1) capped at max, with "equal
 * jitter" (half fixed, half random). rnd is any random number. */
int64_t zq_outbox_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, int64_t retry_after_ms,
                             uint64_t rnd);

/* Counts for metrics and tests: lengths of outbox, outbox:prio,
 * outbox:delayed and outbox:dead. */
typedef struct zq_outbox_stats {
    long long main, prio, delayed, dead, pending;
} zq_outbox_stats;

int zq_outbox_stats_get(zq_store *st, zq_outbox_stats *out, zq_err *err);

#endif

/* zhuqi-bot's parts as they see each other: the shared state of the loop
 * (bot.c), delivery (delivery.c), the scheduler (scheduler.c) and the
 * case-event consumer (events.c). Private to bot/. */
#ifndef ZHUQI_BOT_INTERNAL_H
#define ZHUQI_BOT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "bot.h"
#include "zhuqi/app.h"

struct job;
struct content;

typedef struct zq_bot {
    const char *config_path;
    zq_config *cfg; /* owned; replaced on SIGHUP */
    zq_channel_config cc;
    zq_app *app; /* owned: calendar, schemas, reminder rules, case templates */
    zq_store *st;
    zq_sender *snd;
    char consumer[96];
    uint64_t rng;
    bool stopping;
    bool redis_ok; /* the last Redis call worked (for up/down logs) */

    /* delivery.c */
    struct job *jobs;
    int njobs; /* capacity: 2 * max_transfers */
    struct content *cache;
    int ncache;
    /* resolve_new's batch: njobs lookups and the jobs they are for. */
    struct zq_outbox_lookup *lookups;
    struct job **resolving;
    uint64_t tick; /* LRU clock of the cache */
    /* Rate-limit slots of finished transfers, released together at the
     * next zq_delivery_flush (one round trip for all); njobs of room. */
    struct rate_release *releases;
    int nreleases;
    int64_t next_read_mono, next_claim_mono, next_touch_mono, next_move_mono;
    char claim_cursor[2][48];
    /* After a failed access-token fetch (apptoken.h), per platform: until
     * when (monotonic ms) the app's messages wait (or, credentials refused,
     * fail with the same reason) instead of asking the token endpoint
     * again, so that its outage does not stall the loop once per message.
     * Indexed by zq_apptoken_kind. */
    struct zq_token_failure {
        int64_t until_mono;
        int rc;
        char msg[200];
    } token_failed[3];

    /* scheduler.c */
    bool leader;
    int64_t next_lease_mono, next_sched_mono, next_fanout_mono;

    /* events.c */
    int64_t next_events_mono, next_ev_claim_mono;
    char ev_cursor[48];
    bool ev_group_ok;
    bool outbox_group_ok;

    /* media.c: the fetch jobs in progress (allocated on first use) */
    int64_t next_media_mono;
    struct media_job *media;

    /* counters, logged at exit */
    uint64_t n_sent, n_retry, n_dead, n_deferred, n_dup, n_skipped;
} zq_bot;

/* Notes whether a Redis call worked, logging the transitions. */
void zq_bot_redis(zq_bot *b, int rc, const char *what, const zq_err *err);

/* A random number (xorshift), for jitter. */
uint64_t zq_bot_random(zq_bot *b);

/* delivery.c */
int zq_delivery_init(zq_bot *b);
void zq_delivery_free(zq_bot *b);
/* Reads, claims, resolves and starts work; moves due delayed entries. */
void zq_delivery_step(zq_bot *b, int64_t now_mono);
/* Handles one finished transfer. */
void zq_delivery_done(zq_bot *b, const zq_sent *r);
/* Writes the outcomes waiting for Redis. */
void zq_delivery_flush(zq_bot *b);
/* Entries held (read and not yet settled). */
int zq_delivery_held(const zq_bot *b);
/* Entries waiting to be written to Redis. */
int zq_delivery_unsettled(const zq_bot *b);
/* The milliseconds until delivery wants to run again (0: at once). */
int zq_delivery_wait_ms(const zq_bot *b, int64_t now_mono);

/* scheduler.c */
void zq_sched_step(zq_bot *b, int64_t now_mono);
/* Gives the lease up (at exit) so another instance takes over at once. */
void zq_sched_release(zq_bot *b);
/* True when the fan-out has more to do right away. */
bool zq_sched_busy(const zq_bot *b, int64_t now_mono);

/* events.c */
void zq_events_step(zq_bot *b, int64_t now_mono);

/* files_sweep.c: removes the uploads of drafts never submitted, once
 * their session is gone (run by the scheduler's lease holder). */
void zq_files_sweep_step(zq_bot *b);

/* media.c: images and files sent in a chat (include/zhuqi/chatmedia.h).
 * zq_media_step takes due fetch jobs and starts their transfers (while
 * stopping: aborts them); zq_media_done handles a finished transfer:
 * true when it was a fetch's (else it is delivery's); zq_media_free (at
 * exit, no transfer in flight) hands unfinished jobs back and removes
 * their temporary files. */
void zq_media_step(zq_bot *b, int64_t now_mono);
bool zq_media_done(zq_bot *b, const zq_sent *r);
void zq_media_free(zq_bot *b);

#endif

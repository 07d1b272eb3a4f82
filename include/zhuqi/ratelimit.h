/* Rate limits shared by every zhuqi-bot instance: a sliding log of send
 * times in Redis (one sorted set per limited thing: a target, a Telegram
 * bot), checked and recorded atomically by a Lua script, so that no
 * target ever gets more than `limit` messages in any `window`
 * milliseconds, however many instances send. A send may have to pass
 * several logs at once (its chat and its bot); it takes a slot in all of
 * them or in none. A message over the limit is not refused for good: the
 * caller learns how long to wait. A request counts from the moment its
 * slot is reserved until it has ended (in flight included), so the limit
 * holds at the moment it reaches the platform, whatever the latency. */
#ifndef ZHUQI_RATELIMIT_H
#define ZHUQI_RATELIMIT_H

#include <stdint.h>

#include "zhuqi/store.h"

#define ZQ_RATE_MAX_WINDOWS 4
#define ZQ_RATE_MAX_KEYS 4

/* Room for a log's key. */
#define ZQ_RATE_KEY_MAX 160

/* The key of the send log of one limited thing (a target id, a chat
 * reply's log, a Telegram bot's "tgbot:..." name): {prefix}rl:{log}.
 * Writes it into out; returns 0, or -ZQ_ETOOBIG (out is then ""). */
int zq_rate_log_key(zq_store *st, const char *log, char out[ZQ_RATE_KEY_MAX]);

/* One limit: at most limit sends in any window_ms. */
typedef struct zq_rate_window {
    int limit;
    int64_t window_ms;
} zq_rate_window;

/* Takes one slot under every window in w for key (a full Redis key, e.g.
 * "zq:rl:{target}") at time now_ms (the Redis server's clock when
 * now_ms < 0, so that instances with skewed clocks agree). Returns 0 and
 * records the send when every window has room; otherwise records nothing
 * and sets *wait_ms to the time until a slot frees up under every window
 * (> 0). Windows with limit <= 0 are ignored; with none left it returns 0
 * without touching Redis. Returns -ZQ_EUNAVAIL or -ZQ_EREPLY on storage
 * trouble. */
int zq_rate_take(zq_store *st, const char *key, const zq_rate_window *w, int nw, int64_t now_ms,
                 int64_t *wait_ms, zq_err *err);

/* One log and its windows (borrowed). */
typedef struct zq_rate_key {
    const char *key;
    const zq_rate_window *w;
    int nw;
} zq_rate_key;

/* zq_rate_take over several logs at once (at most ZQ_RATE_MAX_KEYS):
 * records the send in every log when each has room under all its
 * windows; otherwise records nothing in any of them and sets *wait_ms to
 * the longest wait. So a send that one log defers takes no slot in the
 * others. Keys whose windows are all off are left alone. */
int zq_rate_take_all(zq_store *st, const zq_rate_key *keys, int nkeys, int64_t now_ms,
                     int64_t *wait_ms, zq_err *err);

/* Reserves a slot for a request about to leave, as zq_rate_take_all at
 * the Redis server's time, under member (borrowed; unique among the
 * sends of these logs, e.g. instance name and a random number). Until
 * zq_rate_release the send counts as in flight: it holds its slot in
 * every window up to now + hold_ms (the longest the request can take),
 * so the limit holds wherever in its flight the platform receives it,
 * and a crashed instance's slot frees up by itself. While the sends in
 * the way are in flight, *wait_ms is the shortest possible wait: ask
 * again then. Returns as zq_rate_take_all. */
int zq_rate_reserve_all(zq_store *st, const zq_rate_key *keys, int nkeys, const char *member,
                        int64_t hold_ms, int64_t *wait_ms, zq_err *err);

/* One send to reserve for zq_rate_reserve_many (everything borrowed). */
typedef struct zq_rate_reserve_op {
    const zq_rate_key *keys;
    int nkeys;
    const char *member;
    int64_t hold_ms;
} zq_rate_reserve_op;

/* zq_rate_reserve_all for n sends in one round trip, each as if reserved
 * after the ones before it: waits[i] is 0 when ops[i] got its slots in
 * all its logs, else its wait (and it took none). Returns 0 or
 * -ZQ_EUNAVAIL / -ZQ_EREPLY (then no send took a slot). */
int zq_rate_reserve_many(zq_store *st, const zq_rate_reserve_op *ops, int n, int64_t *waits,
                         zq_err *err);

/* Marks member's send (zq_rate_reserve_all) as ended, at the Redis
 * server's time, in the logs keys (full keys, as reserved). Returns 0,
 * or -ZQ_EUNAVAIL / -ZQ_EREPLY on storage trouble (the slot then frees up
 * at the end of its hold). */
int zq_rate_release(zq_store *st, const char *const *keys, int nkeys, const char *member,
                    zq_err *err);

/* One send to mark as ended: its logs (borrowed, at most
 * ZQ_RATE_MAX_KEYS) and its member (borrowed). */
typedef struct zq_rate_release_op {
    const char *const *keys;
    int nkeys;
    const char *member;
} zq_rate_release_op;

/* zq_rate_release for n sends in one round trip (sends without keys or
 * member are skipped). Returns as zq_rate_release. */
int zq_rate_release_all(zq_store *st, const zq_rate_release_op *ops, int n, zq_err *err);

#endif

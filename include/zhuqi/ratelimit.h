/* Rate limits shared by every zhuqi-bot instance: a sliding log of send
 * times in Redis (one sorted set per limited thing: a target, a Telegram
 * bot), checked and recorded atomically by a Lua script, so that no
 * target ever gets more than `limit` messages in any `window`
 * milliseconds, however many instances send. A send may have to pass
 * several logs at once (its chat and its bot); it takes a slot in all of
 * them or in none. A message over the limit is not refused for good: the
 * caller learns how long to wait. */
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

#endif

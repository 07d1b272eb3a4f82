/* Sliding-log rate limits in Redis; see include/zhuqi/ratelimit.h.
 *
 * Why a log and not GCRA or fixed buckets: the platforms count messages
 * in their own windows, which we cannot see, and the guarantee we want is
 * "never more than N in ANY window of W ms". A log of the last send times
 * (at most max(limit) members per target, trimmed on every call) gives
 * that exactly and tells precisely when the next slot frees up: with c
 * sends inside (now - W, now] and c >= N, the (c - N + 1)-th oldest of
 * them leaves the window at its time + W. */
#include "zhuqi/ratelimit.h"

#include <stdio.h>
#include <string.h>

/* KEYS[1] the log. ARGV[1] now (ms; "" = server time), then limit, window
 * pairs. Returns 0 after recording a send, or the wait in ms. Members are
 * "now:n" with n the log size after trimming, unique within one ms
 * because trimming at a given now removes the same members every time. */
static zq_script take_script = {
    .src = "local now = tonumber(ARGV[1])\n"
           "if not now then\n"
           "  local t = redis.call('TIME')\n"
           "  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
           "end\n"
           "local maxw = 0\n"
           "for i = 2, #ARGV, 2 do\n"
           "  local w = tonumber(ARGV[i + 1])\n"
           "  if w > maxw then maxw = w end\n"
           "end\n"
           "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - maxw)\n"
           "local wait = 0\n"
           "for i = 2, #ARGV, 2 do\n"
           "  local limit = tonumber(ARGV[i])\n"
           "  local w = tonumber(ARGV[i + 1])\n"
           "  local c = redis.call('ZCOUNT', KEYS[1], '(' .. (now - w), '+inf')\n"
           "  if c >= limit then\n"
           "    local e = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - w), '+inf',\n"
           "      'WITHSCORES', 'LIMIT', c - limit, 1)\n"
           "    local t = tonumber(e[2]) + w - now\n"
           "    if t < 1 then t = 1 end\n"
           "    if t > wait then wait = t end\n"
           "  end\n"
           "end\n"
           "if wait > 0 then return wait end\n"
           "local n = redis.call('ZCARD', KEYS[1])\n"
           "redis.call('ZADD', KEYS[1], now, now .. ':' .. n)\n"
           "redis.call('PEXPIRE', KEYS[1], maxw + 1000)\n"
           "return 0\n"};

int zq_rate_take(zq_store *st, const char *key, const zq_rate_window *w, int nw, int64_t now_ms,
                 int64_t *wait_ms, zq_err *err)
{
    char nums[1 + 2 * ZQ_RATE_MAX_WINDOWS][24];
    const char *argv[2 + 2 * ZQ_RATE_MAX_WINDOWS];
    redisReply *r;
    int argc = 0, used = 0, rc = 0;

    *wait_ms = 0;
    if (nw > ZQ_RATE_MAX_WINDOWS)
        nw = ZQ_RATE_MAX_WINDOWS;
    argv[argc++] = key;
    if (now_ms >= 0)
        snprintf(nums[0], sizeof(nums[0]), "%lld", (long long)now_ms);
    else
        nums[0][0] = '\0';
    argv[argc++] = nums[0];
    for (int i = 0; i < nw; i++) {
        if (w[i].limit <= 0 || w[i].window_ms <= 0)
            continue;
        snprintf(nums[1 + 2 * used], sizeof(nums[0]), "%d", w[i].limit);
        snprintf(nums[2 + 2 * used], sizeof(nums[0]), "%lld", (long long)w[i].window_ms);
        argv[argc++] = nums[1 + 2 * used];
        argv[argc++] = nums[2 + 2 * used];
        used++;
    }
    if (used == 0)
        return 0;
    r = zq_store_script(st, err, &take_script, 1, argc, argv, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type != REDIS_REPLY_INTEGER)
        rc = zq_err_set(err, ZQ_EREPLY, "ratelimit: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    else
        *wait_ms = r->integer;
    freeReplyObject(r);
    return rc;
}

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

/* KEYS[1..n] the logs. ARGV[1] now (ms; "" = server time), ARGV[2] how
 * long a new send may stay in flight (ms), ARGV[3] its member ("" = one
 * made here), then for each key the number of its windows and its limit,
 * window pairs. Returns 0 after recording a send in every log, or the
 * longest wait in ms (and records nothing anywhere: a send refused by one
 * log takes no slot in the others).
 *
 * A member's score is the time its request ended, or for one still in
 * flight the latest it can end (now + hold): a send counts in every
 * window that overlaps [start, end], so wherever in that span the
 * platform saw it, no window of the platform's holds more than the
 * limit. Waiting on a send in flight, the wait is the shortest it can be
 * (as if it ended now); the caller asks again then. Generated members are
 * "now:n" with n the log size after trimming, unique within one ms
 * because trimming at a given now removes the same members every time. */
static zq_script take_script = {
    .src = "local now = tonumber(ARGV[1])\n"
           "if not now then\n"
           "  local t = redis.call('TIME')\n"
           "  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
           "end\n"
           "local hold = tonumber(ARGV[2])\n"
           "local i, wait, maxws = 4, 0, {}\n"
           "for k = 1, #KEYS do\n"
           "  local nw = tonumber(ARGV[i])\n"
           "  local maxw = 0\n"
           "  for x = 0, nw - 1 do\n"
           "    local w = tonumber(ARGV[i + 2 + 2 * x])\n"
           "    if w > maxw then maxw = w end\n"
           "  end\n"
           "  maxws[k] = maxw\n"
           "  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', now - maxw)\n"
           "  for x = 0, nw - 1 do\n"
           "    local limit = tonumber(ARGV[i + 1 + 2 * x])\n"
           "    local w = tonumber(ARGV[i + 2 + 2 * x])\n"
           "    local c = redis.call('ZCOUNT', KEYS[k], '(' .. (now - w), '+inf')\n"
           "    if c >= limit then\n"
           "      local e = redis.call('ZRANGEBYSCORE', KEYS[k], '(' .. (now - w), '+inf',\n"
           "        'WITHSCORES', 'LIMIT', c - limit, 1)\n"
           "      local t = math.min(tonumber(e[2]), now) + w - now\n"
           "      if t < 1 then t = 1 end\n"
           "      if t > wait then wait = t end\n"
           "    end\n"
           "  end\n"
           "  i = i + 1 + 2 * nw\n"
           "end\n"
           "if wait > 0 then return wait end\n"
           "for k = 1, #KEYS do\n"
           "  local m = ARGV[3]\n"
           "  if m == '' then m = now .. ':' .. redis.call('ZCARD', KEYS[k]) end\n"
           "  redis.call('ZADD', KEYS[k], now + hold, m)\n"
           "  redis.call('PEXPIRE', KEYS[k], maxws[k] + hold + 1000)\n"
           "end\n"
           "return 0\n"};

/* KEYS the logs, ARGV[1] the member: its score becomes the server's now
 * unless it is already earlier (a send is never made to end later). */
static zq_script release_script = {
    .src = "local t = redis.call('TIME')\n"
           "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
           "for k = 1, #KEYS do\n"
           "  local s = redis.call('ZSCORE', KEYS[k], ARGV[1])\n"
           "  if s and tonumber(s) > now then\n"
           "    redis.call('ZADD', KEYS[k], 'XX', now, ARGV[1])\n"
           "  end\n"
           "end\n"
           "return 0\n"};

/* zq_rate_take_all and zq_rate_reserve_all: hold_ms 0 records a send
 * that has ended already. */
static int take(zq_store *st, const zq_rate_key *keys, int nkeys, int64_t now_ms,
                const char *member, int64_t hold_ms, int64_t *wait_ms, zq_err *err)
{
    enum { MAXW = ZQ_RATE_MAX_WINDOWS, MAXK = ZQ_RATE_MAX_KEYS, NV = 3 + MAXK * (1 + 2 * MAXW) };
    char nums[NV][24];
    const char *argv[MAXK + 1 + NV];
    const char *use[MAXK];
    const char *vals[1 + NV];
    redisReply *r;
    int nk = 0, nv = 0, argc = 0, rc = 0, bad = 0;

    /* Every number below is an int or int64: 24 bytes hold it, so bad
     * only guards against the impossible. */
    *wait_ms = 0;
    if (nkeys > MAXK)
        nkeys = MAXK;
    if (now_ms >= 0)
        bad |= zq_fmt(nums[nv], sizeof(nums[0]), "%lld", (long long)now_ms);
    else
        nums[nv][0] = '\0';
    vals[nv] = nums[nv];
    nv++;
    bad |= zq_fmt(nums[nv], sizeof(nums[0]), "%lld", (long long)(hold_ms > 0 ? hold_ms : 0));
    vals[nv] = nums[nv];
    nv++;
    vals[nv++] = member != NULL ? member : "";
    for (int k = 0; k < nkeys; k++) {
        int nw = keys[k].nw < MAXW ? keys[k].nw : MAXW, used = 0, at = nv++;

        for (int i = 0; i < nw; i++) {
            if (keys[k].w[i].limit <= 0 || keys[k].w[i].window_ms <= 0)
                continue;
            bad |= zq_fmt(nums[nv], sizeof(nums[0]), "%d", keys[k].w[i].limit);
            vals[nv] = nums[nv];
            nv++;
            bad |= zq_fmt(nums[nv], sizeof(nums[0]), "%lld", (long long)keys[k].w[i].window_ms);
            vals[nv] = nums[nv];
            nv++;
            used++;
        }
        if (used == 0) {
            nv = at; /* no limit on this key: not touched */
            continue;
        }
        bad |= zq_fmt(nums[at], sizeof(nums[0]), "%d", used);
        vals[at] = nums[at];
        use[nk++] = keys[k].key;
    }
    if (bad < 0)
        return zq_err_set(err, ZQ_EINVAL, "rate: cannot write a number");
    if (nk == 0)
        return 0;

    for (int k = 0; k < nk; k++)
        argv[argc++] = use[k];
    for (int i = 0; i < nv; i++)
        argv[argc++] = vals[i];
    r = zq_store_script(st, err, &take_script, nk, argc, argv, NULL);
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

int zq_rate_take_all(zq_store *st, const zq_rate_key *keys, int nkeys, int64_t now_ms,
                     int64_t *wait_ms, zq_err *err)
{
    return take(st, keys, nkeys, now_ms, NULL, 0, wait_ms, err);
}

int zq_rate_reserve_all(zq_store *st, const zq_rate_key *keys, int nkeys, const char *member,
                        int64_t hold_ms, int64_t *wait_ms, zq_err *err)
{
    return take(st, keys, nkeys, -1, member, hold_ms, wait_ms, err);
}

int zq_rate_release(zq_store *st, const char *const *keys, int nkeys, const char *member,
                    zq_err *err)
{
    const char *argv[ZQ_RATE_MAX_KEYS + 1];
    redisReply *r;
    int rc = 0;

    if (nkeys <= 0 || member == NULL || member[0] == '\0')
        return 0;
    if (nkeys > ZQ_RATE_MAX_KEYS)
        nkeys = ZQ_RATE_MAX_KEYS;
    for (int k = 0; k < nkeys; k++)
        argv[k] = keys[k];
    argv[nkeys] = member;
    r = zq_store_script(st, err, &release_script, nkeys, nkeys + 1, argv, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR)
        rc = zq_err_set(err, ZQ_EREPLY, "ratelimit: %s", r->str);
    freeReplyObject(r);
    return rc;
}

int zq_rate_take(zq_store *st, const char *key, const zq_rate_window *w, int nw, int64_t now_ms,
                 int64_t *wait_ms, zq_err *err)
{
    zq_rate_key k = {key, w, nw};

    return zq_rate_take_all(st, &k, 1, now_ms, wait_ms, err);
}

int zq_rate_log_key(zq_store *st, const char *log, char out[ZQ_RATE_KEY_MAX])
{
    return zq_store_key(st, out, ZQ_RATE_KEY_MAX, "rl:%s", log);
}

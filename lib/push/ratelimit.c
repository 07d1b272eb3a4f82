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
#include <stdlib.h>
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

/* zq_rate_reserve_many: the take script's check and record, for a batch
 * of sends one after the other (a later send sees the slots an earlier
 * one took), at the server's time. KEYS the logs of every send, in
 * order. ARGV[1] the number of sends, then per send: how many logs, the
 * hold (ms), the member, then per log the number of its windows and its
 * limit, window pairs. Returns each send's wait (0: recorded). */
static zq_script reserve_many_script = {
    .src = "local t = redis.call('TIME')\n"
           "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
           "local out, i, kb = {}, 2, 0\n"
           "for op = 1, tonumber(ARGV[1]) do\n"
           "  local nk, hold, m = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), ARGV[i + 2]\n"
           "  local wait, maxws = 0, {}\n"
           "  i = i + 3\n"
           "  for k = 1, nk do\n"
           "    local key, nw, maxw = KEYS[kb + k], tonumber(ARGV[i]), 0\n"
           "    for x = 0, nw - 1 do\n"
           "      local w = tonumber(ARGV[i + 2 + 2 * x])\n"
           "      if w > maxw then maxw = w end\n"
           "    end\n"
           "    maxws[k] = maxw\n"
           "    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - maxw)\n"
           "    for x = 0, nw - 1 do\n"
           "      local limit = tonumber(ARGV[i + 1 + 2 * x])\n"
           "      local w = tonumber(ARGV[i + 2 + 2 * x])\n"
           "      local c = redis.call('ZCOUNT', key, '(' .. (now - w), '+inf')\n"
           "      if c >= limit then\n"
           "        local e = redis.call('ZRANGEBYSCORE', key, '(' .. (now - w), '+inf',\n"
           "          'WITHSCORES', 'LIMIT', c - limit, 1)\n"
           "        local tt = math.min(tonumber(e[2]), now) + w - now\n"
           "        if tt < 1 then tt = 1 end\n"
           "        if tt > wait then wait = tt end\n"
           "      end\n"
           "    end\n"
           "    i = i + 1 + 2 * nw\n"
           "  end\n"
           "  if wait == 0 then\n"
           "    for k = 1, nk do\n"
           "      redis.call('ZADD', KEYS[kb + k], now + hold, m)\n"
           "      redis.call('PEXPIRE', KEYS[kb + k], maxws[k] + hold + 1000)\n"
           "    end\n"
           "  end\n"
           "  out[op] = wait\n"
           "  kb = kb + nk\n"
           "end\n"
           "return out\n"};

/* KEYS the logs of every send, in order; ARGV per send: how many of the
 * keys are its logs, and its member. Each member's score becomes the
 * server's now unless it is already earlier (a send is never made to end
 * later). One call for a batch of sends: one round trip, not one each. */
static zq_script release_script = {
    .src = "local t = redis.call('TIME')\n"
           "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
           "local k = 1\n"
           "for i = 1, #ARGV, 2 do\n"
           "  local n, m = tonumber(ARGV[i]), ARGV[i + 1]\n"
           "  for x = k, k + n - 1 do\n"
           "    local s = redis.call('ZSCORE', KEYS[x], m)\n"
           "    if s and tonumber(s) > now then\n"
           "      redis.call('ZADD', KEYS[x], 'XX', now, m)\n"
           "    end\n"
           "  end\n"
           "  k = k + n\n"
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

int zq_rate_reserve_many(zq_store *st, const zq_rate_reserve_op *ops, int n, int64_t *waits,
                         zq_err *err)
{
    enum { MAXW = ZQ_RATE_MAX_WINDOWS, MAXK = ZQ_RATE_MAX_KEYS, NV = 3 + MAXK * (1 + 2 * MAXW) };
    char(*nums)[24] = NULL;
    const char **keys = NULL, **vals = NULL, **argv = NULL;
    int *which = NULL, nkeys = 0, nv = 1, nops = 0, bad = 0, rc = 0;
    redisReply *r = NULL;

    for (int i = 0; i < n; i++)
        waits[i] = 0;
    if (n <= 0)
        return 0;
    nums = malloc(sizeof(*nums) * ((size_t)n * NV + 1));
    keys = malloc(sizeof(*keys) * (size_t)n * MAXK);
    vals = malloc(sizeof(*vals) * ((size_t)n * NV + 1));
    argv = malloc(sizeof(*argv) * ((size_t)n * (MAXK + NV) + 1));
    which = malloc(sizeof(*which) * (size_t)n);
    if (nums == NULL || keys == NULL || vals == NULL || argv == NULL || which == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "ratelimit: out of memory");
        goto out;
    }
    /* As take(): keys without a window in force are left alone, and a
     * send without any is not sent to Redis (its wait stays 0). */
    for (int i = 0; i < n; i++) {
        int at = nv, nk = 0, k0 = nkeys;

        nv += 3;
        for (int k = 0; k < ops[i].nkeys && k < MAXK; k++) {
            const zq_rate_key *key = &ops[i].keys[k];
            int used = 0, kat = nv++;

            for (int w = 0; w < key->nw && w < MAXW; w++) {
                if (key->w[w].limit <= 0 || key->w[w].window_ms <= 0)
                    continue;
                bad |= zq_fmt(nums[nv], sizeof(nums[0]), "%d", key->w[w].limit);
                vals[nv] = nums[nv];
                nv++;
                bad |= zq_fmt(nums[nv], sizeof(nums[0]), "%lld", (long long)key->w[w].window_ms);
                vals[nv] = nums[nv];
                nv++;
                used++;
            }
            if (used == 0) {
                nv = kat;
                continue;
            }
            bad |= zq_fmt(nums[kat], sizeof(nums[0]), "%d", used);
            vals[kat] = nums[kat];
            keys[nkeys++] = key->key;
            nk++;
        }
        if (nk == 0) {
            nv = at;
            nkeys = k0;
            continue;
        }
        bad |= zq_fmt(nums[at], sizeof(nums[0]), "%d", nk);
        vals[at] = nums[at];
        bad |= zq_fmt(nums[at + 1], sizeof(nums[0]), "%lld",
                      (long long)(ops[i].hold_ms > 0 ? ops[i].hold_ms : 0));
        vals[at + 1] = nums[at + 1];
        vals[at + 2] = ops[i].member != NULL ? ops[i].member : "";
        which[nops++] = i;
    }
    if (bad < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "rate: cannot write a number");
        goto out;
    }
    if (nops == 0)
        goto out;
    if (zq_fmt(nums[0], sizeof(nums[0]), "%d", nops) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "rate: cannot write a number");
        goto out;
    }
    vals[0] = nums[0];
    for (int k = 0; k < nkeys; k++)
        argv[k] = keys[k];
    for (int v = 0; v < nv; v++)
        argv[nkeys + v] = vals[v];
    r = zq_store_script(st, err, &reserve_many_script, nkeys, nkeys + nv, argv, NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)nops) {
        rc = zq_err_set(err, ZQ_EREPLY, "ratelimit: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    for (int o = 0; o < nops; o++)
        waits[which[o]] = r->element[o]->type == REDIS_REPLY_INTEGER ? r->element[o]->integer : 1;
out:
    if (r != NULL)
        freeReplyObject(r);
    free(nums);
    free(keys);
    free(vals);
    free(argv);
    free(which);
    return rc;
}

int zq_rate_release(zq_store *st, const char *const *keys, int nkeys, const char *member,
                    zq_err *err)
{
    zq_rate_release_op op = {keys, nkeys, member};

    return zq_rate_release_all(st, &op, 1, err);
}

int zq_rate_release_all(zq_store *st, const zq_rate_release_op *ops, int n, zq_err *err)
{
    const char **argv = NULL;
    char(*counts)[8] = NULL;
    redisReply *r = NULL;
    int nkeys = 0, nargs = 0, rc = 0;

    for (int i = 0; i < n; i++)
        if (ops[i].nkeys > 0 && ops[i].member != NULL && ops[i].member[0] != '\0')
            nkeys += ops[i].nkeys < ZQ_RATE_MAX_KEYS ? ops[i].nkeys : ZQ_RATE_MAX_KEYS;
    if (nkeys == 0)
        return 0;
    argv = malloc(sizeof(*argv) * (size_t)(nkeys + 2 * n));
    counts = malloc(sizeof(*counts) * (size_t)n);
    if (argv == NULL || counts == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "ratelimit: out of memory");
        goto out;
    }
    nkeys = 0;
    for (int i = 0; i < n; i++) {
        int nk = ops[i].nkeys < ZQ_RATE_MAX_KEYS ? ops[i].nkeys : ZQ_RATE_MAX_KEYS;

        if (nk <= 0 || ops[i].member == NULL || ops[i].member[0] == '\0')
            continue;
        for (int k = 0; k < nk; k++)
            argv[nkeys++] = ops[i].keys[k];
    }
    for (int i = 0; i < n; i++) {
        int nk = ops[i].nkeys < ZQ_RATE_MAX_KEYS ? ops[i].nkeys : ZQ_RATE_MAX_KEYS;

        if (nk <= 0 || ops[i].member == NULL || ops[i].member[0] == '\0')
            continue;
        if (zq_fmt(counts[i], sizeof(counts[i]), "%d", nk) < 0) {
            rc = zq_err_set(err, ZQ_EINVAL, "ratelimit: cannot write a number");
            goto out;
        }
        argv[nkeys + nargs++] = counts[i];
        argv[nkeys + nargs++] = ops[i].member;
    }
    r = zq_store_script(st, err, &release_script, nkeys, nkeys + nargs, argv, NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (r->type == REDIS_REPLY_ERROR)
        rc = zq_err_set(err, ZQ_EREPLY, "ratelimit: %s", r->str);
out:
    if (r != NULL)
        freeReplyObject(r);
    free(argv);
    free(counts);
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

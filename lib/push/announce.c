/* Batching of new-case announcements per target (include/zhuqi/announce.h
 * has the rules and the Redis layout). */
#include "zhuqi/announce.h"

#include <stdlib.h>
#include <string.h>

#include "zhuqi/log.h"

/* Decisions are looked up again only while the event can be handled
 * again: it is claimed after claim_idle_ms, or skipped after a day. */
#define DECISION_TTL_S (2 * 86400)
/* A waiting or sealed summary outlives any outage the bot recovers from
 * within an event's day; the mark of a sent one, a redelivery. */
#define BATCH_TTL_S (2 * 86400)

/* KEYS: 1 decision, 2 due set. ARGV: 1 prefix, 2 case id, 3 now, 4 window
 * ms, 5 per window, 6 ttl, 7.. tags. Returns "<window>|<targets>|<id>,<id>..."
 * (the ids of the targets that get the case alone). */
static zq_script split_script = {
    .src = "local d = redis.call('GET', KEYS[1])\n"
           "if d then return d end\n"
           "local p = ARGV[1]\n"
           "local keys = {}\n"
           "for i = 7, #ARGV do keys[#keys + 1] = p .. 'targets:tag:' .. ARGV[i] end\n"
           "local ts = {}\n"
           /* A disabled target (the platform said it is gone) is skipped. */
           "for _, t in ipairs(redis.call('SINTER', unpack(keys))) do\n"
           "  if redis.call('HGET', p .. 'target:' .. t, 'disabled') ~= '1' then\n"
           "    ts[#ts + 1] = t\n"
           "  end\n"
           "end\n"
           "table.sort(ts)\n"
           "local now, win, lim = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\n"
           "local ws = string.format('%.0f', now - now % win)\n"
           "local we = string.format('%.0f', now - now % win + win)\n"
           "local alone = {}\n"
           "for _, t in ipairs(ts) do\n"
           "  local m = t .. ':' .. ws\n"
           "  local ck = p .. 'announce:n:' .. m\n"
           "  local c = redis.call('INCR', ck)\n"
           "  if c == 1 then redis.call('PEXPIRE', ck, win * 2 + 60000) end\n"
           "  if c <= lim then\n"
           "    alone[#alone + 1] = t\n"
           "  else\n"
           "    local sk = p .. 'announce:sum:' .. m\n"
           "    redis.call('RPUSH', sk, ARGV[2])\n"
           "    redis.call('EXPIRE', sk, ARGV[6])\n"
           "    redis.call('ZADD', KEYS[2], 'NX', we, m)\n"
           "  end\n"
           "end\n"
           "d = ws .. '|' .. #ts .. '|' .. table.concat(alone, ',')\n"
           "redis.call('SET', KEYS[1], d, 'EX', ARGV[6])\n"
           "return d\n"};

/* Seals due summaries: a window's waiting cases move into a numbered
 * batch, unless one is sealed already (then that one is returned again).
 * KEYS: 1 due set. ARGV: 1 prefix, 2 now, 3 max, 4 ttl, 5 ids shown.
 * Returns {{member, gen, n, ids}, ...}. */
static zq_script take_script = {
    .src = "local p = ARGV[1]\n"
           "local out = {}\n"
           "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0,\n"
           "  tonumber(ARGV[3]))\n"
           "for _, m in ipairs(due) do\n"
           "  local sealed = p .. 'announce:sealed:' .. m\n"
           "  local sum = p .. 'announce:sum:' .. m\n"
           "  if redis.call('EXISTS', sealed) == 0 then\n"
           "    local n = redis.call('LLEN', sum)\n"
           "    if n > 0 then\n"
           "      local gk = p .. 'announce:gen:' .. m\n"
           "      local g = redis.call('INCR', gk)\n"
           "      redis.call('EXPIRE', gk, ARGV[4])\n"
           "      local ids = redis.call('LRANGE', sum, 0, tonumber(ARGV[5]) - 1)\n"
           "      redis.call('HSET', sealed, 'gen', g, 'n', n, 'ids', table.concat(ids, ','))\n"
           "      redis.call('EXPIRE', sealed, ARGV[4])\n"
           "      redis.call('DEL', sum)\n"
           "    end\n"
           "  end\n"
           "  local h = redis.call('HMGET', sealed, 'gen', 'n', 'ids')\n"
           "  if h[1] then\n"
           "    out[#out + 1] = {m, h[1], h[2], h[3] or ''}\n"
           "  else\n"
           "    redis.call('ZREM', KEYS[1], m)\n"
           "  end\n"
           "end\n"
           "return out\n"};

/* Ends a batch; the window leaves the due set unless late cases wait.
 * KEYS: 1 due set. ARGV: 1 prefix, 2 member, 3 gen. */
static zq_script done_script = {
    .src = "local p = ARGV[1]\n"
           "local sealed = p .. 'announce:sealed:' .. ARGV[2]\n"
           "if redis.call('HGET', sealed, 'gen') == ARGV[3] then redis.call('DEL', sealed) end\n"
           "if redis.call('EXISTS', sealed) == 0 and\n"
           "   redis.call('EXISTS', p .. 'announce:sum:' .. ARGV[2]) == 0 then\n"
           "  redis.call('ZREM', KEYS[1], ARGV[2])\n"
           "end\n"
           "return 1\n"};

static int reply_failed(const redisReply *r, zq_err *err, const char *what)
{
    return zq_err_set(err, ZQ_EREPLY, "announce: %s failed: %s", what,
                      r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
}

/* Parses "<window>|<targets>|<id>,<id>..." into a new array, the window
 * and the number of targets. */
static int parse_decision(const char *s, size_t len, json_t **alone, int64_t *window, int *ntargets)
{
    const char *bar = memchr(s, '|', len), *bar2, *p, *end = s + len;
    long long w, nt;
    json_t *a;

    if (bar == NULL || zq_parse_ll(s, (size_t)(bar - s), 0, INT64_MAX, &w) < 0)
        return -ZQ_EREPLY;
    bar2 = memchr(bar + 1, '|', (size_t)(end - bar - 1));
    if (bar2 == NULL || zq_parse_ll(bar + 1, (size_t)(bar2 - bar - 1), 0, INT32_MAX, &nt) < 0)
        return -ZQ_EREPLY;
    bar = bar2;
    a = json_array();
    if (a == NULL)
        return -ZQ_ENOMEM;
    for (p = bar + 1; p < end;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;

        if (stop > p && json_array_append_new(a, json_stringn(p, (size_t)(stop - p))) < 0) {
            json_decref(a);
            return -ZQ_ENOMEM;
        }
        p = stop + 1;
    }
    *alone = a;
    *window = w;
    *ntargets = (int)nt;
    return 0;
}

int zq_announce_split(zq_store *st, const char *sid, const char *case_id, const char *const *tags,
                      int ntags, int per_window, int window_ms, int64_t now_ms, json_t **alone,
                      int64_t *window, int *ntargets, zq_err *err)
{
    char k_dec[ZQ_STORE_KEY_MAX], k_due[ZQ_STORE_KEY_MAX], now[24], win[16], lim[16], ttl[16];
    const char *argv[6 + 2 + 8];
    int argc = 0, rc;
    redisReply *r;

    *alone = NULL;
    *window = 0;
    *ntargets = 0;
    if (ntags < 1 || ntags > 8)
        return zq_err_set(err, ZQ_EINVAL, "announce: 1 to 8 tags");
    if (zq_store_key(st, k_dec, sizeof(k_dec), "announce:ev:%s", sid) < 0 ||
        zq_store_key(st, k_due, sizeof(k_due), "announce:due") < 0 ||
        zq_fmt(now, sizeof(now), "%lld", (long long)now_ms) < 0 ||
        zq_fmt(win, sizeof(win), "%d", window_ms > 0 ? window_ms : 60000) < 0 ||
        zq_fmt(lim, sizeof(lim), "%d", per_window) < 0 ||
        zq_fmt(ttl, sizeof(ttl), "%d", DECISION_TTL_S) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "announce: key or argument too long");
    argv[argc++] = k_dec;
    argv[argc++] = k_due;
    argv[argc++] = zq_store_prefix(st);
    argv[argc++] = case_id;
    argv[argc++] = now;
    argv[argc++] = win;
    argv[argc++] = lim;
    argv[argc++] = ttl;
    for (int i = 0; i < ntags; i++)
        argv[argc++] = tags[i];
    r = zq_store_script(st, err, &split_script, 2, argc, argv, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type != REDIS_REPLY_STRING)
        rc = reply_failed(r, err, "split");
    else if ((rc = parse_decision(r->str, r->len, alone, window, ntargets)) < 0)
        zq_err_set(err, -rc, "announce: bad decision \"%.60s\"", r->str);
    freeReplyObject(r);
    return rc;
}

/* Fills b from {member, gen, n, ids}; false when malformed. */
static bool batch_from(zq_store *st, const redisReply *e, zq_announce_batch *b)
{
    const char *colon;
    long long v;

    memset(b, 0, sizeof(*b));
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 4)
        return false;
    for (size_t i = 0; i < 4; i++)
        if (e->element[i]->type != REDIS_REPLY_STRING)
            return false;
    colon = strrchr(e->element[0]->str, ':');
    if (colon == NULL || (size_t)(colon - e->element[0]->str) >= sizeof(b->target))
        return false;
    memcpy(b->target, e->element[0]->str, (size_t)(colon - e->element[0]->str));
    if (!zq_target_id_valid(b->target) ||
        zq_parse_ll(colon + 1, strlen(colon + 1), 0, INT64_MAX, &v) < 0)
        return false;
    b->window = v;
    if (zq_parse_ll(e->element[1]->str, e->element[1]->len, 1, INT64_MAX, &b->gen) < 0 ||
        zq_parse_ll(e->element[2]->str, e->element[2]->len, 1, 1000000000, &v) < 0)
        return false;
    b->count = (int)v;
    /* Case ids are short: five fit; a cut list only shortens a message. */
    zq_fmt_msg(b->ids, sizeof(b->ids), "%s", e->element[3]->str);
    return zq_store_key(st, b->mark, sizeof(b->mark), "announce:sent:%s:%lld", e->element[0]->str,
                        b->gen) == 0;
}

int zq_announce_take(zq_store *st, int64_t now_ms, zq_announce_batch *out, int max, int *n,
                     zq_err *err)
{
    char k_due[ZQ_STORE_KEY_MAX], now[24], mx[16], ttl[16], shown[16];
    const char *argv[6];
    redisReply *r;
    int rc = 0;

    *n = 0;
    if (max > ZQ_ANNOUNCE_TAKE_MAX)
        max = ZQ_ANNOUNCE_TAKE_MAX;
    if (max <= 0)
        return 0;
    if (zq_store_key(st, k_due, sizeof(k_due), "announce:due") < 0 ||
        zq_fmt(now, sizeof(now), "%lld", (long long)now_ms) < 0 ||
        zq_fmt(mx, sizeof(mx), "%d", max) < 0 || zq_fmt(ttl, sizeof(ttl), "%d", BATCH_TTL_S) < 0 ||
        zq_fmt(shown, sizeof(shown), "%d", ZQ_ANNOUNCE_IDS_SHOWN) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "announce: key too long");
    argv[0] = k_due;
    argv[1] = zq_store_prefix(st);
    argv[2] = now;
    argv[3] = mx;
    argv[4] = ttl;
    argv[5] = shown;
    r = zq_store_script(st, err, &take_script, 1, 6, argv, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = reply_failed(r, err, "take");
    } else {
        for (size_t i = 0; i < r->elements && *n < max; i++) {
            if (batch_from(st, r->element[i], &out[*n]))
                (*n)++;
            else
                ZQ_ERROR("event=announce_batch_malformed index=%zu", i);
        }
    }
    freeReplyObject(r);
    return rc;
}

int zq_announce_done(zq_store *st, const zq_announce_batch *b, zq_err *err)
{
    char k_due[ZQ_STORE_KEY_MAX], member[ZQ_TARGET_ID_MAX + 24], gen[24];
    const char *argv[4];
    redisReply *r;
    int rc = 0;

    if (zq_store_key(st, k_due, sizeof(k_due), "announce:due") < 0 ||
        zq_fmt(member, sizeof(member), "%s:%lld", b->target, (long long)b->window) < 0 ||
        zq_fmt(gen, sizeof(gen), "%lld", b->gen) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "announce: key too long");
    argv[0] = k_due;
    argv[1] = zq_store_prefix(st);
    argv[2] = member;
    argv[3] = gen;
    r = zq_store_script(st, err, &done_script, 1, 4, argv, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR)
        rc = reply_failed(r, err, "done");
    freeReplyObject(r);
    return rc;
}

int zq_announce_text(const zq_announce_batch *b, int window_ms, zq_buf *title, zq_buf *body)
{
    /* "1 分钟" for the real window; tests shorten it to seconds. */
    if (window_ms > 0 && window_ms % 60000 == 0)
        zq_buf_printf(body, "过去 %d 分钟内另有 %d 件新案件，请登录工作台查看。", window_ms / 60000,
                      b->count);
    else
        zq_buf_printf(body, "过去 %d 秒内另有 %d 件新案件，请登录工作台查看。",
                      (window_ms + 999) / 1000, b->count);
    if (b->ids[0] != '\0') {
        zq_buf_puts(body, "\n\n案件编号：");
        for (const char *p = b->ids; *p != '\0'; p++) {
            if (*p == ',')
                zq_buf_puts(body, "、");
            else
                zq_buf_append(body, p, 1);
        }
        if (b->count > ZQ_ANNOUNCE_IDS_SHOWN)
            zq_buf_puts(body, " 等");
    }
    zq_buf_printf(title, "新案件汇总（%d 件）", b->count);
    return title->oom || body->oom ? -ZQ_ENOMEM : 0;
}

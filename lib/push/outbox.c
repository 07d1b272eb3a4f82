/* The outbox: how a message reaches every target once.
 *
 * Redis layout (every key under the configured prefix, "zq:" by default):
 *
 *   target:{id}               hash   id channel address secret chat_id name
 *                                    tags ("a,b,c") source created_ms
 *                                    updated_ms [disabled disabled_reason
 *                                    disabled_at_ms]
 *   targets                   set    every target id
 *   targets:dest:{sha}        set    chat subscriptions to one destination
 *                                    (targets.h)
 *   targets:tag:{tag}         set    ids carrying tag: "staff", "tax_day",
 *                                    "region:510100", topics...
 *   notice:{id}               hash   id kind (notice|reminder|case|reply)
 *                                    title body mentions audience meta lane
 *                                    created_ms send_at_ms created_by state
 *                                    (pending|fanout|sending) total n_queued
 *                                    n_sent n_retrying n_failed
 *   notice:{id}:report        hash   target id -> JSON {status: queued|sent|
 *                                    retrying|failed, attempts, last_error,
 *                                    sent_at, next_at, channel, updated_at}
 *   notice:{id}:aud           set    fan-out snapshot of the audience
 *                                    (transient)
 *   notice:{id}:dests         set    destinations of the chat subscriptions
 *                                    queued so far (transient, 1 day)
 *   notices                   zset   notice ids by creation time (staff list)
 *   notices:pending           zset   ids by send_at, until fully fanned out
 *   notice:idem:{key}         string the notice an Idempotency-Key made (1 day)
 *   seq:notice:{NT20261126}   string per-day counter of notice ids (3 days)
 *   outbox                    stream one entry per (notice, target):
 *                                    n t a f p [tj]; consumer group "bot"
 *   outbox:prio               stream the same for chat replies, read first;
 *                                    also ready requests queued by the inbound
 *                                    adapters: kind=reply channel url body
 *                                    headers auth created_ms expires_ms
 *                                    [parts rl] (chat_outbox.h)
 *   outbox:delayed            zset   JSON entries by due time (retry
 *                                    back-off, rate-limit waits)
 *   outbox:dead               stream dead letters: n t reason attempts lane at
 *   done:{notice}:{target}    string completion mark (sent_at), 30 days
 *   rl:{target}               zset   send times for the rate limit (a sliding
 *                                    log, see ratelimit.c)
 *   rl:tgbot:{16 hex}         zset   the same per Telegram bot, all its chats
 *                                    (hex of SHA-256 of the token)
 *   rl:hook:{16 hex}          zset   the same per robot webhook (WeCom,
 *                                    DingTalk, Feishu robots: every target
 *                                    with that address; SHA-256 of it)
 *   sched:lease               string the scheduler lease: holder, PX lease_ms
 *                                    (schedule.c)
 *   sched:{rule}:{occurrence} string the notice an occurrence created, or
 *                                    "skipped" (400 days)
 *   sched:digest:{date}       string the staff digest of a day (40 days)
 *   evdone:{event id}         string a case event already turned into a
 *                                    notice (30 days; events.c)
 *   classes                   zset   JSON {id,date,time,title,speaker,
 *                                    live_url,replay_url,start_ms} by start_ms
 *   events                    stream case events from the intake and the
 *                                    staff workflow; consumer group "bot"
 *   feishu:tenant_token:{app} string Feishu IM token (apptoken.c)
 *
 * Life of a message. POST /api/admin/notices (or the scheduler, or a case
 * event) stores notice:{id} and puts it in notices:pending at send_at.
 * When it is due, any bot instance fans it out in chunks: one Lua call
 * snapshots the audience into notice:{id}:aud (first call only), SPOPs up
 * to a chunk of ids and, for each, HSETNX-es a "queued" report line and
 * XADDs an outbox entry. A crash between calls loses nothing and
 * duplicates nothing: each chunk is atomic and the report line is the
 * fan-out's own idempotency record. Fan-out pauses while the outbox holds
 * more than 50,000 entries. Messages to one chat (a case status change)
 * skip the fan-out: one script stores the notice and queues its entry.
 *
 * Delivery. Instances read entries with XREADGROUP (outbox:prio first),
 * check done:{notice}:{target}, take a rate-limit slot (a sliding log per
 * target in Redis, so limits hold across instances; a message over the
 * limit goes to outbox:delayed at the earliest allowed time, never
 * dropped), render and sign it (channel.h) and POST it with libcurl's
 * multi interface. The platform's answer is classified: done, retry
 * (network, 5xx, 429, throttling codes; exponential back-off with jitter,
 * honouring Retry-After / retry_after) or fail (dead letter with the
 * reason); max_attempts and max_age_s turn retries into dead letters too.
 * Each outcome is applied by one Lua script that changes the state, writes
 * the report line and counters and XACK+XDELs the entry, so the report
 * never disagrees with the outbox. A mover (any instance, one Lua call)
 * puts due entries of outbox:delayed back into their stream.
 *
 * Once per target. The completion mark is written with SET NX right after
 * the platform confirms (in the same loop turn), and checked before every
 * send. The only window for a duplicate is a crash between a platform's
 * answer and that write: at most the transfers in flight (max_transfers);
 * tests/e2e/test_bot_reliability.py measures it with kill -9. Entries a
 * crashed instance held are taken over with XAUTOCLAIM after
 * claim_idle_ms; live instances refresh the idle time of what they hold
 * (XCLAIM JUSTID) so that nobody takes over live work.
 *
 * Scheduling. One instance holds sched:lease (SET NX PX, renewed by a
 * compare-and-expire script) and computes the reminder occurrences of
 * config/reminders.json on the holiday calendar; each occurrence creates
 * its notice in the same script that sets sched:{rule}:{occurrence} NX,
 * so even two schedulers cannot send it twice. An occurrence missed by
 * more than catch_up_grace_s is marked "skipped" and logged, never sent.
 *
 * Redis Cluster: the scripts build some keys from the prefix (target tags
 * and records, notice keys) and touch several slots; a move to Cluster
 * needs the notice keys hash-tagged by notice and the fan-out split per
 * slot. */
#include "zhuqi/outbox.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/log.h"

/* KEYS: 1 stream, 2 delayed, 3 dead, 4 notice, 5 report, 6 done mark.
 * ARGV: 1 group, 2 entry id ("" none), 3 mode, 4 target, 5 now, 6 attempts,
 * 7 reason, 8 delayed member, 9 due, 10 done ttl, 11 channel, 12 notice id,
 * 13 lane. Returns 1 when applied, 0 when the entry was already done. */
static zq_script settle_script = {
    .src = "local mode = ARGV[3]\n"
           "local function report(status)\n"
           "  if redis.call('EXISTS', KEYS[4]) == 0 then return end\n"
           "  local old = redis.call('HGET', KEYS[5], ARGV[4])\n"
           "  local rec = {}\n"
           "  if old then\n"
           "    local ok, d = pcall(cjson.decode, old)\n"
           "    if ok and type(d) == 'table' then rec = d end\n"
           "  end\n"
           "  local prev = rec.status\n"
           "  rec.status = status\n"
           "  rec.attempts = tonumber(ARGV[6])\n"
           "  if ARGV[7] ~= '' then rec.last_error = ARGV[7] end\n"
           "  if ARGV[11] ~= '' then rec.channel = ARGV[11] end\n"
           "  rec.updated_at = tonumber(ARGV[5])\n"
           "  if status == 'sent' then rec.sent_at = tonumber(ARGV[5]) end\n"
           "  if status == 'retrying' then rec.next_at = tonumber(ARGV[9]) else rec.next_at = nil "
           "end\n"
           "  redis.call('HSET', KEYS[5], ARGV[4], cjson.encode(rec))\n"
           "  if prev ~= status then\n"
           "    if prev then redis.call('HINCRBY', KEYS[4], 'n_' .. prev, -1) end\n"
           "    redis.call('HINCRBY', KEYS[4], 'n_' .. status, 1)\n"
           "  end\n"
           "end\n"
           "local r = 1\n"
           "if mode == 'done' then\n"
           "  if redis.call('SET', KEYS[6], ARGV[5], 'NX', 'EX', ARGV[10]) then\n"
           "    report('sent')\n"
           "  else\n"
           "    r = 0\n"
           "  end\n"
           "elseif mode ~= 'skip' and redis.call('EXISTS', KEYS[6]) == 1 then\n"
           "  r = 0\n"
           "elseif mode == 'retry' then\n"
           "  redis.call('ZADD', KEYS[2], ARGV[9], ARGV[8])\n"
           "  report('retrying')\n"
           "elseif mode == 'defer' then\n"
           "  redis.call('ZADD', KEYS[2], ARGV[9], ARGV[8])\n"
           "elseif mode == 'dead' then\n"
           "  redis.call('XADD', KEYS[3], 'MAXLEN', '~', '100000', '*', 'n', ARGV[12],\n"
           "    't', ARGV[4], 'reason', ARGV[7], 'attempts', ARGV[6], 'lane', ARGV[13],\n"
           "    'at', ARGV[5])\n"
           "  report('failed')\n"
           "end\n"
           "if ARGV[2] ~= '' then\n"
           "  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
           "  redis.call('XDEL', KEYS[1], ARGV[2])\n"
           "end\n"
           "return r\n"};

/* KEYS: 1 delayed, 2 outbox, 3 outbox:prio. ARGV: 1 now, 2 max. */
static zq_script move_script = {
    .src = "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0,\n"
           "  tonumber(ARGV[2]))\n"
           "for _, m in ipairs(due) do\n"
           "  local ok, e = pcall(cjson.decode, m)\n"
           "  if ok and type(e) == 'table' and e.k == 'reply' then\n"
           "    local args = {'kind', 'reply', 'channel', e.ch or '',\n"
           "      'url', e.u or '', 'body', e.b or '', 'headers', e.h or '[]',\n"
           "      'auth', e.au or '', 'created_ms', tostring(e.f or 0),\n"
           "      'expires_ms', tostring(e.x or 0), 'a', tostring(e.a or 0), 'rid', e.t,\n"
           "      'p', tostring(e.p or 0)}\n"
           "    if e.pn then args[#args + 1] = 'parts'; args[#args + 1] = tostring(e.pn) end\n"
           "    if e.rl then args[#args + 1] = 'rl'; args[#args + 1] = e.rl end\n"
           "    redis.call('XADD', KEYS[3], '*', unpack(args))\n"
           "  elseif ok and type(e) == 'table' and e.n and e.t then\n"
           "    local key = KEYS[2]\n"
           "    if e.l == 'prio' then key = KEYS[3] end\n"
           "    local args = {'n', e.n, 't', e.t, 'a', tostring(e.a or 0),\n"
           "      'f', tostring(e.f or 0), 'p', tostring(e.p or 0)}\n"
           "    if e.tj then args[#args + 1] = 'tj'; args[#args + 1] = e.tj end\n"
           "    redis.call('XADD', key, '*', unpack(args))\n"
           "  end\n"
           "  redis.call('ZREM', KEYS[1], m)\n"
           "end\n"
           "return #due\n"};

void zq_entry_clear(zq_entry *e)
{
    free(e->inline_target);
    free(e->reply_url);
    free(e->reply_body);
    free(e->reply_headers);
    e->inline_target = NULL;
    e->reply_url = NULL;
    e->reply_body = NULL;
    e->reply_headers = NULL;
}

int zq_outbox_init(zq_store *st, zq_err *err)
{
    static const char *const streams[] = {"outbox", "outbox:prio"};

    for (size_t i = 0; i < ZQ_ARRAY_LEN(streams); i++) {
        char key[ZQ_STORE_KEY_MAX];
        redisReply *r;
        int bad;

        if (zq_store_key(st, key, sizeof(key), "%s", streams[i]) < 0)
            return zq_err_set(err, ZQ_ETOOBIG, "outbox: key prefix too long");
        r = zq_store_command(st, err, "XGROUP CREATE %s %s 0 MKSTREAM", key, ZQ_OUTBOX_GROUP);
        if (r == NULL)
            return -ZQ_EUNAVAIL;
        bad = r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0;
        if (bad)
            zq_err_set(err, ZQ_EREPLY, "XGROUP CREATE %s: %s", streams[i], r->str);
        freeReplyObject(r);
        if (bad)
            return -ZQ_EREPLY;
    }
    return 0;
}

static char *dup_reply(const redisReply *v, size_t max)
{
    return v->len <= max ? strndup(v->str, v->len) : NULL;
}

/* Fills e from [id, [field, value, ...]]. */
static void parse_entry(const redisReply *item, bool prio, zq_entry *e)
{
    const redisReply *fv;
    char rid[ZQ_TARGET_ID_MAX] = "";
    long long v;
    int have = 0;
    bool bad_parts = false;

    memset(e, 0, sizeof(*e));
    e->prio = prio;
    e->malformed = true;
    if (item == NULL || item->type != REDIS_REPLY_ARRAY || item->elements != 2 ||
        item->element[0]->type != REDIS_REPLY_STRING)
        return;
    /* A stream id is "<ms>-<seq>", 41 bytes at most; a longer one is no
     * entry of ours, and stays malformed without an id. */
    if (zq_fmt(e->sid, sizeof(e->sid), "%s", item->element[0]->str) < 0) {
        e->sid[0] = '\0';
        return;
    }
    fv = item->element[1];
    if (fv->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i + 1 < fv->elements; i += 2) {
        const redisReply *k = fv->element[i], *val = fv->element[i + 1];
        const char *f;

        if (k->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
            continue;
        f = k->str;
        if (strcmp(f, "n") == 0 && val->len < sizeof(e->notice)) {
            memcpy(e->notice, val->str, val->len + 1);
            have |= 1;
        } else if (strcmp(f, "t") == 0 && val->len < sizeof(e->target)) {
            memcpy(e->target, val->str, val->len + 1);
            have |= 2;
        } else if (strcmp(f, "a") == 0 && zq_parse_ll(val->str, val->len, 0, 1000, &v) == 0) {
            e->attempts = (int)v;
        } else if ((strcmp(f, "f") == 0 || strcmp(f, "created_ms") == 0) &&
                   zq_parse_ll(val->str, val->len, 0, INT64_MAX, &v) == 0) {
            e->first_ms = v;
        } else if (strcmp(f, "p") == 0 && zq_parse_ll(val->str, val->len, 0, 1000, &v) == 0) {
            e->parts_done = (int)v;
        } else if (strcmp(f, "tj") == 0 && val->len < 4096) {
            free(e->inline_target);
            e->inline_target = strndup(val->str, val->len);
        } else if (strcmp(f, "kind") == 0 && strcmp(val->str, "reply") == 0) {
            e->reply = true;
        } else if (strcmp(f, "channel") == 0 && val->len < sizeof(e->reply_channel)) {
            memcpy(e->reply_channel, val->str, val->len + 1);
        } else if (strcmp(f, "auth") == 0 && val->len < sizeof(e->reply_auth)) {
            memcpy(e->reply_auth, val->str, val->len + 1);
        } else if (strcmp(f, "url") == 0 && e->reply_url == NULL) {
            e->reply_url = dup_reply(val, 2048);
        } else if (strcmp(f, "body") == 0 && e->reply_body == NULL) {
            e->reply_body = dup_reply(val, 1 << 20);
        } else if (strcmp(f, "headers") == 0 && e->reply_headers == NULL) {
            e->reply_headers = dup_reply(val, 8192);
        } else if (strcmp(f, "expires_ms") == 0 &&
                   zq_parse_ll(val->str, val->len, 0, INT64_MAX, &v) == 0) {
            e->reply_expires_ms = v;
        } else if (strcmp(f, "parts") == 0) {
            if (zq_parse_ll(val->str, val->len, 1, 64, &v) == 0)
                e->reply_parts = (int)v;
            else
                bad_parts = true;
        } else if (strcmp(f, "rl") == 0 && val->len > 0 && val->len < sizeof(e->reply_rl)) {
            memcpy(e->reply_rl, val->str, val->len + 1);
        } else if (strcmp(f, "rid") == 0 && val->len < sizeof(rid)) {
            memcpy(rid, val->str, val->len + 1);
        }
    }
    if (e->reply) {
        memcpy(e->notice, "reply", sizeof("reply"));
        /* rid has e->target's size, and "r" + 38 bytes fits in it too. */
        if (rid[0] != '\0')
            bad_parts |= zq_fmt(e->target, sizeof(e->target), "%s", rid) < 0;
        else
            bad_parts |= zq_fmt(e->target, sizeof(e->target), "r%.38s", e->sid) < 0;
        e->malformed = e->reply_url == NULL || e->reply_body == NULL || bad_parts;
        return;
    }
    e->malformed = have != 3;
}

/* Appends the entries of one stream's array to out. */
static void take_entries(const redisReply *arr, bool prio, zq_entry *out, int max, int *n)
{
    if (arr == NULL || arr->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i < arr->elements && *n < max; i++) {
        /* A nil body: deleted while pending. Nothing to do with it. */
        if (arr->element[i]->type != REDIS_REPLY_ARRAY || arr->element[i]->elements != 2 ||
            arr->element[i]->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        parse_entry(arr->element[i], prio, &out[*n]);
        (*n)++;
    }
}

/* Reads up to max new entries of one stream into out + *n. */
static int read_stream(zq_store *st, const char *consumer, bool prio, int max, zq_entry *out,
                       int *n, zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX];
    redisReply *r;
    int rc = 0;

    if (zq_store_key(st, key, sizeof(key), "%s", prio ? "outbox:prio" : "outbox") < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "outbox: key prefix too long");
    r = zq_store_command(st, err, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s >", ZQ_OUTBOX_GROUP,
                         consumer, max, key);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR)
        rc = zq_err_set(err, ZQ_EREPLY, "XREADGROUP: %s", r->str);
    else if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
             r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
        take_entries(r->element[0]->element[1], prio, out, *n + max, n);
    freeReplyObject(r);
    return rc;
}

int zq_outbox_read(zq_store *st, const char *consumer, int max, zq_entry *out, int *n, zq_err *err)
{
    int rc;

    *n = 0;
    if (max <= 0)
        return 0;
    /* One stream at a time: COUNT applies per stream, and what Redis
     * hands out is ours until acknowledged, so never ask for more than
     * there is room for. */
    rc = read_stream(st, consumer, true, max, out, n, err);
    if (rc == 0 && *n < max)
        rc = read_stream(st, consumer, false, max - *n, out, n, err);
    return rc;
}

int zq_outbox_claim(zq_store *st, const char *consumer, bool prio, int64_t min_idle_ms,
                    char *cursor, int max, zq_entry *out, int *n, zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX];
    redisReply *r;
    int rc = 0;

    *n = 0;
    if (zq_store_key(st, key, sizeof(key), "%s", prio ? "outbox:prio" : "outbox") < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "outbox: key prefix too long");
    r = zq_store_command(st, err, "XAUTOCLAIM %s %s %s %lld %s COUNT %d", key, ZQ_OUTBOX_GROUP,
                         consumer, (long long)min_idle_ms, cursor, max);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        rc = zq_err_set(err, ZQ_EREPLY, "XAUTOCLAIM: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        /* NOGROUP after a Redis restart without data: start over. */
        memcpy(cursor, "0-0", sizeof("0-0"));
        goto out;
    }
    /* A stream id: 41 bytes at most, so a longer one is a bad reply. */
    if (zq_fmt(cursor, 48, "%s", r->element[0]->str) < 0) {
        rc = zq_err_set(err, ZQ_EREPLY, "XAUTOCLAIM: cursor too long");
        memcpy(cursor, "0-0", sizeof("0-0"));
        goto out;
    }
    take_entries(r->element[1], prio, out, max, n);
out:
    freeReplyObject(r);
    return rc;
}

int zq_outbox_touch(zq_store *st, const char *consumer, const zq_entry *const *e, int n,
                    zq_err *err)
{
    char key[2][ZQ_STORE_KEY_MAX];
    int rc = 0;

    if (zq_store_key(st, key[0], sizeof(key[0]), "outbox") < 0 ||
        zq_store_key(st, key[1], sizeof(key[1]), "outbox:prio") < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "touch: key too long");
    for (int lane = 0; lane < 2; lane++) {
        const char **argv;
        int argc = 0;
        redisReply *r;

        argv = calloc((size_t)n + 7, sizeof(*argv));
        if (argv == NULL)
            return zq_err_set(err, ZQ_ENOMEM, "touch: out of memory");
        argv[argc++] = "XCLAIM";
        argv[argc++] = key[lane];
        argv[argc++] = ZQ_OUTBOX_GROUP;
        argv[argc++] = consumer;
        argv[argc++] = "0";
        for (int i = 0; i < n; i++)
            if (e[i]->sid[0] != '\0' && e[i]->prio == (lane == 1))
                argv[argc++] = e[i]->sid;
        if (argc == 5) {
            free(argv);
            continue;
        }
        argv[argc++] = "JUSTID";
        r = zq_store_commandv(st, err, argc, argv, NULL);
        free(argv);
        if (r == NULL)
            return -ZQ_EUNAVAIL;
        if (r->type == REDIS_REPLY_ERROR)
            rc = zq_err_set(err, ZQ_EREPLY, "XCLAIM: %s", r->str);
        freeReplyObject(r);
    }
    return rc;
}

int zq_outbox_move_due(zq_store *st, int64_t now_ms, int max, int *moved, zq_err *err)
{
    char k_delayed[ZQ_STORE_KEY_MAX], k_main[ZQ_STORE_KEY_MAX], k_prio[ZQ_STORE_KEY_MAX], now[24],
        mx[16];
    const char *argv[5];
    redisReply *r;
    int rc = 0;

    *moved = 0;
    if (zq_store_key(st, k_delayed, sizeof(k_delayed), "outbox:delayed") < 0 ||
        zq_store_key(st, k_main, sizeof(k_main), "outbox") < 0 ||
        zq_store_key(st, k_prio, sizeof(k_prio), "outbox:prio") < 0 ||
        zq_fmt(now, sizeof(now), "%lld", (long long)now_ms) < 0 ||
        zq_fmt(mx, sizeof(mx), "%d", max) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "mover: key too long");
    argv[0] = k_delayed;
    argv[1] = k_main;
    argv[2] = k_prio;
    argv[3] = now;
    argv[4] = mx;
    r = zq_store_script(st, err, &move_script, 3, 5, argv, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_INTEGER)
        *moved = (int)r->integer;
    else
        rc = zq_err_set(err, ZQ_EREPLY, "mover: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return rc;
}

/* The member of outbox:delayed for e after this settlement. */
static char *delayed_member(const zq_settle *s)
{
    const zq_entry *e = s->e;
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:i}", "l", e->prio ? "prio" : "main", "n",
                          e->notice, "t", e->target, "a", s->attempts, "f", (json_int_t)e->first_ms,
                          "p", s->parts_done);
    char *m;

    if (o == NULL)
        return NULL;
    if (e->inline_target != NULL)
        json_object_set_new(o, "tj", json_string(e->inline_target));
    if (e->reply) {
        json_object_set_new(o, "k", json_string("reply"));
        json_object_set_new(o, "ch", json_string(e->reply_channel));
        json_object_set_new(o, "au", json_string(e->reply_auth));
        json_object_set_new(o, "u", json_string(e->reply_url ? e->reply_url : ""));
        json_object_set_new(o, "b", json_string(e->reply_body ? e->reply_body : ""));
        json_object_set_new(o, "h", json_string(e->reply_headers ? e->reply_headers : "[]"));
        json_object_set_new(o, "x", json_integer((json_int_t)e->reply_expires_ms));
        if (e->reply_parts > 0)
            json_object_set_new(o, "pn", json_integer(e->reply_parts));
        if (e->reply_rl[0] != '\0')
            json_object_set_new(o, "rl", json_string(e->reply_rl));
    }
    m = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return m;
}

static const char *mode_name(zq_settle_kind k)
{
    switch (k) {
    case ZQ_SETTLE_DONE: return "done";
    case ZQ_SETTLE_RETRY: return "retry";
    case ZQ_SETTLE_DEFER: return "defer";
    case ZQ_SETTLE_DEAD: return "dead";
    case ZQ_SETTLE_SKIP: return "skip";
    }
    return "skip";
}

/* The settle script's numeric arguments, into buffers of 24, 16, 24 and
 * 16 bytes (every int and int64 fits). Returns 0 or -ZQ_ETOOBIG. */
static int fmt_settle_nums(const zq_settle *s, char now[24], char att[16], char due[24],
                           char ttl[16])
{
    if (zq_fmt(now, 24, "%lld", (long long)s->now_ms) < 0 ||
        zq_fmt(att, 16, "%d", s->attempts) < 0 ||
        zq_fmt(due, 24, "%lld", (long long)s->due_ms) < 0 ||
        zq_fmt(ttl, 16, "%d", ZQ_OUTBOX_DONE_TTL_S) < 0)
        return -ZQ_ETOOBIG;
    return 0;
}

/* The settle script's 6 keys and 13 arguments for one op, in argv[3..22)
 * (argv[0..3) is left for "EVALSHA", the SHA-1 and "6"), pointing into
 * the buffers here and into s. */
typedef struct settle_args {
    char k[6][ZQ_STORE_KEY_MAX], now[24], att[16], due[24], ttl[16];
    const char *argv[3 + 19];
} settle_args;

/* Fills a for op s. Returns 0 or -ZQ_ETOOBIG (a key does not fit). */
static int settle_args_fill(zq_store *st, const zq_settle *s, const char *member, settle_args *a)
{
    const zq_entry *e = s->e;
    const char **argv = &a->argv[3];

    /* Cleared first: cppcheck cannot see zq_store_key write through a
     * (about 1.7 KB; settling is not a hot path). */
    memset(a, 0, sizeof(*a));
    if (zq_store_key(st, a->k[0], ZQ_STORE_KEY_MAX, "%s", e->prio ? "outbox:prio" : "outbox") < 0 ||
        zq_store_key(st, a->k[1], ZQ_STORE_KEY_MAX, "outbox:delayed") < 0 ||
        zq_store_key(st, a->k[2], ZQ_STORE_KEY_MAX, "outbox:dead") < 0 ||
        zq_store_key(st, a->k[3], ZQ_STORE_KEY_MAX, "notice:%s", e->notice) < 0 ||
        zq_store_key(st, a->k[4], ZQ_STORE_KEY_MAX, "notice:%s:report", e->notice) < 0 ||
        zq_store_key(st, a->k[5], ZQ_STORE_KEY_MAX, "done:%s:%s", e->notice, e->target) < 0 ||
        fmt_settle_nums(s, a->now, a->att, a->due, a->ttl) < 0)
        return -ZQ_ETOOBIG;
    for (int i = 0; i < 6; i++)
        argv[i] = a->k[i];
    argv[6] = ZQ_OUTBOX_GROUP;
    argv[7] = e->sid;
    argv[8] = mode_name(s->kind);
    argv[9] = e->target;
    argv[10] = a->now;
    argv[11] = a->att;
    argv[12] = s->reason ? s->reason : "";
    argv[13] = member ? member : "";
    argv[14] = a->due;
    argv[15] = a->ttl;
    argv[16] = s->channel ? s->channel : "";
    argv[17] = e->notice;
    argv[18] = e->prio ? "prio" : "main";
    return 0;
}

/* Appends EVALSHA of the settle script for one op. The caller has checked
 * with settle_args_fill that every key fits, so exactly one command is
 * appended. */
static int append_settle(zq_store *st, const zq_settle *s, const char *member)
{
    settle_args a;

    if (settle_args_fill(st, s, member, &a) < 0)
        return -ZQ_ETOOBIG;
    a.argv[0] = "EVALSHA";
    a.argv[1] = settle_script.sha;
    a.argv[2] = "6";
    return zq_store_appendv(st, (int)ZQ_ARRAY_LEN(a.argv), a.argv, NULL);
}

/* Runs one settlement through zq_store_script (EVAL fallback). */
static int settle_one(zq_store *st, const zq_settle *s, const char *member, int *result,
                      zq_err *err)
{
    settle_args a;
    redisReply *r;
    int rc = 0;

    if (settle_args_fill(st, s, member, &a) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "settle: key too long");
    r = zq_store_script(st, err, &settle_script, 6, 19, a.argv + 3, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_INTEGER)
        *result = (int)r->integer;
    else
        rc = zq_err_set(err, ZQ_EREPLY, "settle: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return rc;
}

int zq_outbox_settle(zq_store *st, const zq_settle *ops, int n, int *results, zq_err *err)
{
    redisReply **reps = NULL;
    char **members = NULL;
    int rc = 0, first = 0, npipe;

    if (n <= 0)
        return 0;
    reps = calloc((size_t)n, sizeof(redisReply *));
    members = calloc((size_t)n, sizeof(*members));
    if (reps == NULL || members == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "settle: out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (results != NULL)
            results[i] = 0;
        if (ops[i].kind == ZQ_SETTLE_RETRY || ops[i].kind == ZQ_SETTLE_DEFER) {
            members[i] = delayed_member(&ops[i]);
            if (members[i] == NULL) {
                rc = zq_err_set(err, ZQ_ENOMEM, "settle: out of memory");
                goto out;
            }
        }
    }
    /* Every op's keys are checked before anything is sent: the pipeline
     * below then appends exactly one command per op. */
    for (int i = 0; i < n; i++) {
        settle_args a;

        if (settle_args_fill(st, &ops[i], members[i], &a) < 0) {
            rc = zq_err_set(err, ZQ_ETOOBIG, "settle: key too long");
            goto out;
        }
    }
    /* The script's SHA is known once it ran through zq_store_script. */
    if (!settle_script.ready) {
        int r0 = 0;

        rc = settle_one(st, &ops[0], members[0], &r0, err);
        if (rc < 0)
            goto out;
        if (results != NULL)
            results[0] = r0;
        first = 1;
    }
    npipe = n - first;
    if (npipe == 0)
        goto out;
    for (int i = first; i < n; i++)
        append_settle(st, &ops[i], members[i]);
    if (zq_store_read_replies(st, err, npipe, reps) < 0) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    for (int j = 0; j < npipe; j++) {
        int i = first + j, res = 0;

        if (reps[j]->type == REDIS_REPLY_INTEGER) {
            res = (int)reps[j]->integer;
        } else if (reps[j]->type == REDIS_REPLY_ERROR &&
                   strncmp(reps[j]->str, "NOSCRIPT", 8) == 0) {
            /* Redis restarted and forgot the script: once more with EVAL. */
            zq_err e2 = {0};
            int r2 = settle_one(st, &ops[i], members[i], &res, &e2);

            if (r2 < 0 && rc == 0)
                rc = zq_err_set(err, e2.code, "%s", e2.msg);
        } else if (rc == 0) {
            rc = zq_err_set(err, ZQ_EREPLY, "settle: %s",
                            reps[j]->type == REDIS_REPLY_ERROR ? reps[j]->str : "unexpected reply");
        }
        if (results != NULL)
            results[i] = res;
    }
out:
    if (reps != NULL)
        for (int i = 0; i < n; i++)
            if (reps[i] != NULL)
                freeReplyObject(reps[i]);
    if (members != NULL)
        for (int i = 0; i < n; i++)
            free(members[i]);
    free(reps);
    free(members);
    return rc;
}

int64_t zq_outbox_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, int64_t retry_after_ms,
                             uint64_t rnd)
{
    int64_t d;

    if (attempt < 1)
        attempt = 1;
    if (retry_after_ms > 0) {
        int64_t j = retry_after_ms / 10;

        if (retry_after_ms > 86400000)
            retry_after_ms = 86400000;
        return retry_after_ms + (j > 0 ? (int64_t)(rnd % (uint64_t)(j + 1)) : 0);
    }
    if (base_ms < 1)
        base_ms = 1;
    if (max_ms < base_ms)
        max_ms = base_ms;
    d = base_ms;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    return d / 2 + (int64_t)(rnd % (uint64_t)(d - d / 2 + 1));
}

int zq_outbox_stats_get(zq_store *st, zq_outbox_stats *out, zq_err *err)
{
    char k_main[ZQ_STORE_KEY_MAX], k_prio[ZQ_STORE_KEY_MAX], k_delayed[ZQ_STORE_KEY_MAX],
        k_dead[ZQ_STORE_KEY_MAX];
    redisReply *r[5] = {NULL};
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (zq_store_key(st, k_main, sizeof(k_main), "outbox") < 0 ||
        zq_store_key(st, k_prio, sizeof(k_prio), "outbox:prio") < 0 ||
        zq_store_key(st, k_delayed, sizeof(k_delayed), "outbox:delayed") < 0 ||
        zq_store_key(st, k_dead, sizeof(k_dead), "outbox:dead") < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "outbox: key prefix too long");
    zq_store_appendv(st, 2, (const char *[]){"XLEN", k_main}, NULL);
    zq_store_appendv(st, 2, (const char *[]){"XLEN", k_prio}, NULL);
    zq_store_appendv(st, 2, (const char *[]){"ZCARD", k_delayed}, NULL);
    zq_store_appendv(st, 2, (const char *[]){"XLEN", k_dead}, NULL);
    zq_store_appendv(st, 3, (const char *[]){"XPENDING", k_main, ZQ_OUTBOX_GROUP}, NULL);
    if (zq_store_read_replies(st, err, 5, r) < 0)
        return -ZQ_EUNAVAIL;
    out->main = r[0]->type == REDIS_REPLY_INTEGER ? r[0]->integer : 0;
    out->prio = r[1]->type == REDIS_REPLY_INTEGER ? r[1]->integer : 0;
    out->delayed = r[2]->type == REDIS_REPLY_INTEGER ? r[2]->integer : 0;
    out->dead = r[3]->type == REDIS_REPLY_INTEGER ? r[3]->integer : 0;
    if (r[4]->type == REDIS_REPLY_ARRAY && r[4]->elements > 0 &&
        r[4]->element[0]->type == REDIS_REPLY_INTEGER)
        out->pending = r[4]->element[0]->integer;
    for (int i = 0; i < 5; i++)
        freeReplyObject(r[i]);
    return rc;
}

/* The keys one lookup reads, each ZQ_STORE_KEY_MAX bytes. Returns 0 or
 * -ZQ_ETOOBIG. */
static int lookup_keys(zq_store *st, const zq_outbox_lookup *l, char *k_done, char *k_target,
                       char *k_notice)
{
    if (zq_store_key(st, k_done, ZQ_STORE_KEY_MAX, "done:%s:%s", l->e->notice, l->e->target) < 0 ||
        zq_store_key(st, k_target, ZQ_STORE_KEY_MAX, "target:%s", l->e->target) < 0 ||
        zq_store_key(st, k_notice, ZQ_STORE_KEY_MAX, "notice:%s", l->e->notice) < 0)
        return -ZQ_ETOOBIG;
    return 0;
}

int zq_outbox_lookup_all(zq_store *st, zq_outbox_lookup *l, int n, zq_err *err)
{
    char k_done[ZQ_STORE_KEY_MAX], k_target[ZQ_STORE_KEY_MAX], k_notice[ZQ_STORE_KEY_MAX];
    redisReply **reps;
    int k, nrep = 0, rc = 0;

    for (k = 0; k < n; k++) {
        l[k].done = false;
        l[k].target_rc = l[k].content_rc = 0;
        memset(&l[k].target, 0, sizeof(l[k].target));
        memset(&l[k].content, 0, sizeof(l[k].content));
    }
    if (n <= 0)
        return 0;
    /* Every key is checked before the first append: the pipeline is sent
     * whole or not at all, so the replies read match the commands. */
    for (k = 0; k < n; k++)
        if (lookup_keys(st, &l[k], k_done, k_target, k_notice) < 0)
            return zq_err_set(err, ZQ_ETOOBIG, "outbox: key too long");
    /* At most 3 commands per entry. */
    reps = calloc((size_t)n * 3, sizeof(redisReply *));
    if (reps == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "out of memory");
    for (k = 0; k < n; k++) {
        (void)lookup_keys(st, &l[k], k_done, k_target, k_notice); /* checked above */
        zq_store_appendv(st, 2, (const char *[]){"EXISTS", k_done}, NULL);
        nrep++;
        if (l[k].want_target) {
            zq_store_appendv(st, 2, (const char *[]){"HGETALL", k_target}, NULL);
            nrep++;
        }
        if (l[k].want_content) {
            zq_store_appendv(
                st, 5, (const char *[]){"HMGET", k_notice, "title", "body", "mentions"}, NULL);
            nrep++;
        }
    }
    if (zq_store_read_replies(st, err, nrep, reps) < 0) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    nrep = 0;
    for (k = 0; k < n; k++) {
        const redisReply *d = reps[nrep++];

        l[k].done = d->type == REDIS_REPLY_INTEGER && d->integer == 1;
        if (l[k].want_target) {
            zq_target_rec rec;

            l[k].target_rc = zq_target_from_reply(reps[nrep++], &rec);
            if (l[k].target_rc == 0)
                l[k].target = rec.t;
        }
        if (l[k].want_content)
            l[k].content_rc = zq_notice_content_from_reply(reps[nrep++], &l[k].content);
    }
out:
    for (k = 0; k < n * 3; k++)
        if (reps[k] != NULL)
            freeReplyObject(reps[k]);
    free(reps);
    return rc;
}

/* Notices in Redis: creation (numbered per day, optionally once per mark),
 * direct one-target messages, the fan-out into the outbox, and the staff
 * view with the delivery report. The layout is described atop
 * lib/push/outbox.c. */
#include "zhuqi/notices.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zhuqi/buf.h"
#include "zhuqi/cases.h"
#include "zhuqi/log.h"
#include "zhuqi/targets.h"

/* KEYS: 1 mark (ignored unless ARGV[6] == '1'), 2 day counter, 3 pending,
 * 4 all notices. ARGV: 1 prefix, 2 id prefix, 3 now, 4 send_at, 5 mark
 * ttl, 6 has mark, then field/value pairs. Returns {id, created}. */
static zq_script create_script = {
    .src = "if ARGV[6] == '1' then\n"
           "  local ex = redis.call('GET', KEYS[1])\n"
           "  if ex then return {ex, 0} end\n"
           "end\n"
           "local n = redis.call('INCR', KEYS[2])\n"
           "if n == 1 then redis.call('EXPIRE', KEYS[2], 259200) end\n"
           "local id = ARGV[2] .. '-' .. string.format('%04d', n)\n"
           "local nk = ARGV[1] .. 'notice:' .. id\n"
           "redis.call('HSET', nk, 'id', id, 'created_ms', ARGV[3], 'send_at_ms', ARGV[4],\n"
           "  'state', 'pending', 'total', 0, 'n_queued', 0, 'n_sent', 0, 'n_retrying', 0,\n"
           "  'n_failed', 0, unpack(ARGV, 7))\n"
           "redis.call('ZADD', KEYS[3], ARGV[4], id)\n"
           "redis.call('ZADD', KEYS[4], ARGV[3], id)\n"
           "if ARGV[6] == '1' then\n"
           "  if tonumber(ARGV[5]) > 0 then redis.call('SET', KEYS[1], id, 'EX', ARGV[5])\n"
           "  else redis.call('SET', KEYS[1], id) end\n"
           "end\n"
           "return {id, 1}\n"};

/* KEYS: 1 mark, 2 day counter, 3 all notices, 4 stream. ARGV: 1 prefix,
 * 2 id prefix, 3 now, 4 ttl, 5 mark ttl, 6 has mark, 7 target id,
 * 8 channel, 9 inline target JSON or "", 10 index in notices (1/0), then
 * field/value pairs. Returns {id, created}. */
static zq_script direct_script = {
    .src = "if ARGV[6] == '1' then\n"
           "  local ex = redis.call('GET', KEYS[1])\n"
           "  if ex then return {ex, 0} end\n"
           "end\n"
           "local n = redis.call('INCR', KEYS[2])\n"
           "if n == 1 then redis.call('EXPIRE', KEYS[2], 259200) end\n"
           "local id = ARGV[2] .. '-' .. string.format('%04d', n)\n"
           "local nk = ARGV[1] .. 'notice:' .. id\n"
           "redis.call('HSET', nk, 'id', id, 'created_ms', ARGV[3], 'send_at_ms', ARGV[3],\n"
           "  'state', 'sending', 'total', 1, 'n_queued', 1, 'n_sent', 0, 'n_retrying', 0,\n"
           "  'n_failed', 0, unpack(ARGV, 11))\n"
           "redis.call('HSET', nk .. ':report', ARGV[7],\n"
           "  cjson.encode({status = 'queued', attempts = 0, channel = ARGV[8]}))\n"
           "if ARGV[10] == '1' then redis.call('ZADD', KEYS[3], ARGV[3], id) end\n"
           "if ARGV[9] ~= '' then\n"
           "  redis.call('XADD', KEYS[4], '*', 'n', id, 't', ARGV[7], 'a', '0', 'f', ARGV[3],\n"
           "    'p', '0', 'tj', ARGV[9])\n"
           "else\n"
           "  redis.call('XADD', KEYS[4], '*', 'n', id, 't', ARGV[7], 'a', '0', 'f', ARGV[3],\n"
           "    'p', '0')\n"
           "end\n"
           "if tonumber(ARGV[4]) > 0 then\n"
           "  redis.call('EXPIRE', nk, ARGV[4])\n"
           "  redis.call('EXPIRE', nk .. ':report', ARGV[4])\n"
           "end\n"
           "if ARGV[6] == '1' then\n"
           "  if tonumber(ARGV[5]) > 0 then redis.call('SET', KEYS[1], id, 'EX', ARGV[5])\n"
           "  else redis.call('SET', KEYS[1], id) end\n"
           "end\n"
           "return {id, 1}\n"};

/* KEYS: 1 notice, 2 audience snapshot, 3 report, 4 outbox, 5 outbox:prio,
 * 6 pending, 7 the destinations of chat subscriptions queued so far.
 * ARGV: 1 prefix, 2 id, 3 chunk, 4 now. Returns {added, left}, added -1
 * when the notice is gone.
 * Skipped, and taken off the total: a disabled target (the platform said
 * it is gone, targets.h), and a chat subscription whose destination
 * (channel, address, chat_id) another one of this notice has: records
 * made per person before subscriptions belonged to the chat would
 * otherwise make a group receive the notice once per member. */
static zq_script fanout_script = {
    .src =
        "local st = redis.call('HGET', KEYS[1], 'state')\n"
        "if not st then redis.call('ZREM', KEYS[6], ARGV[2]); return {-1, 0} end\n"
        "local p = ARGV[1]\n"
        "if st == 'pending' then\n"
        "  local ok, aud = pcall(cjson.decode, redis.call('HGET', KEYS[1], 'audience') or '{}')\n"
        "  if not ok or type(aud) ~= 'table' then aud = {} end\n"
        "  redis.call('DEL', KEYS[2])\n"
        "  if aud.all == true then\n"
        "    redis.call('SUNIONSTORE', KEYS[2], p .. 'targets')\n"
        "  elseif type(aud.tags) == 'table' and #aud.tags > 0 then\n"
        "    local keys = {}\n"
        "    for i, t in ipairs(aud.tags) do keys[i] = p .. 'targets:tag:' .. t end\n"
        "    if aud.match == 'all' then\n"
        "      redis.call('SINTERSTORE', KEYS[2], unpack(keys))\n"
        "    else\n"
        "      redis.call('SUNIONSTORE', KEYS[2], unpack(keys))\n"
        "    end\n"
        "  end\n"
        "  if type(aud.targets) == 'table' then\n"
        "    for _, t in ipairs(aud.targets) do\n"
        "      if redis.call('EXISTS', p .. 'target:' .. t) == 1 then\n"
        "        redis.call('SADD', KEYS[2], t)\n"
        "      end\n"
        "    end\n"
        "  end\n"
        "  redis.call('HSET', KEYS[1], 'state', 'fanout', 'total', redis.call('SCARD', KEYS[2]))\n"
        "  st = 'fanout'\n"
        "end\n"
        "if st ~= 'fanout' then redis.call('ZREM', KEYS[6], ARGV[2]); return {0, 0} end\n"
        "local stream = KEYS[4]\n"
        "if redis.call('HGET', KEYS[1], 'lane') == 'prio' then stream = KEYS[5] end\n"
        "local ids = redis.call('SPOP', KEYS[2], tonumber(ARGV[3]))\n"
        "local added, skipped = 0, 0\n"
        "for _, t in ipairs(ids) do\n"
        "  local f = redis.call('HMGET', p .. 'target:' .. t, 'channel', 'disabled', 'source',\n"
        "    'address', 'chat_id')\n"
        "  local ch = f[1] or ''\n"
        "  local skip = f[2] == '1'\n"
        "  if not skip and f[3] and string.sub(f[3], 1, 5) == 'chat:' then\n"
        "    local d = redis.sha1hex(ch .. '\\n' .. (f[4] or '') .. '\\n' .. (f[5] or ''))\n"
        "    skip = redis.call('SADD', KEYS[7], d) == 0\n"
        /* Records older than the destination index join it here, so
         * that a 退订 in their chat finds them (targets.h). */
        "    redis.call('SADD', p .. 'targets:dest:' .. d, t)\n"
        "  end\n"
        "  local line = cjson.encode({status = 'queued', attempts = 0, channel = ch})\n"
        "  if skip then\n"
        "    skipped = skipped + 1\n"
        "  elseif redis.call('HSETNX', KEYS[3], t, line) == 1 then\n"
        "    redis.call('XADD', stream, '*', 'n', ARGV[2], 't', t, 'a', '0', 'f', ARGV[4],\n"
        "      'p', '0')\n"
        "    added = added + 1\n"
        "  end\n"
        "end\n"
        "if added > 0 then redis.call('HINCRBY', KEYS[1], 'n_queued', added) end\n"
        "if skipped > 0 then redis.call('HINCRBY', KEYS[1], 'total', -skipped) end\n"
        "redis.call('EXPIRE', KEYS[7], 86400)\n"
        "local left = redis.call('SCARD', KEYS[2])\n"
        "if left == 0 then\n"
        "  redis.call('DEL', KEYS[7])\n"
        "  redis.call('HSET', KEYS[1], 'state', 'sending')\n"
        "  redis.call('ZREM', KEYS[6], ARGV[2])\n"
        "end\n"
        "return {added, left}\n"};

static const char *const kind_names[] = {"notice", "reminder", "case", "reply"};
static const char *const kind_prefix[] = {"NT", "RM", "CA", "RP"};

const char *zq_notice_kind_name(zq_notice_kind k)
{
    return (unsigned)k < ZQ_ARRAY_LEN(kind_names) ? kind_names[k] : "notice";
}

bool zq_notice_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    /* Two capitals, eight digits, a dash, four or more digits. */
    if (n < 15 || n >= ZQ_NOTICE_ID_MAX)
        return false;
    if (!isupper((unsigned char)s[0]) || !isupper((unsigned char)s[1]) || s[10] != '-')
        return false;
    for (size_t i = 2; i < n; i++)
        if (i != 10 && !isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* "NT20261126" for a kind and a time (Beijing date). */
static void id_prefix(zq_notice_kind k, int64_t ms, char out[24])
{
    zq_date d = zq_date_from_ms(ms);

    if (snprintf(out, 24, "%s%04d%02d%02d",
                 kind_prefix[(unsigned)k < ZQ_ARRAY_LEN(kind_prefix) ? k : 0], d.y, d.m, d.d) >= 24)
        out[0] = '\0'; /* cannot happen: a short prefix and 8 digits */
}

/* The idempotency mark's key: the caller's full key, or a placeholder
 * the scripts ignore when there is none. out holds ZQ_STORE_KEY_MAX
 * bytes. Returns 0 or -ZQ_ETOOBIG. */
static int mark_key(const zq_store *st, const char *mark, char out[ZQ_STORE_KEY_MAX])
{
    if (mark != NULL)
        return zq_fmt(out, ZQ_STORE_KEY_MAX, "%s", mark) < 0 ? -ZQ_ETOOBIG : 0;
    return zq_store_key(st, out, ZQ_STORE_KEY_MAX, "notice:nomark");
}

/* Reads {id, created} from a create/direct script reply. */
static int id_reply(redisReply *r, char *id, bool *created, zq_err *err)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= ZQ_NOTICE_ID_MAX)
        return zq_err_set(err, ZQ_EREPLY, "notice: script failed: %s",
                          r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    memcpy(id, r->element[0]->str, r->element[0]->len + 1);
    *created = r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer == 1;
    return 0;
}

/* Appends the notice hash's content fields (name, value pairs, 12 slots)
 * that both creation scripts HSET through unpack(). Returns the new argc. */
static int content_args(const char **argv, int argc, zq_notice_kind kind, const char *title,
                        const char *body, const char *mentions, const char *meta, bool prio)
{
    argv[argc++] = "kind";
    argv[argc++] = zq_notice_kind_name(kind);
    argv[argc++] = "title";
    argv[argc++] = title ? title : "";
    argv[argc++] = "body";
    argv[argc++] = body ? body : "";
    argv[argc++] = "mentions";
    argv[argc++] = mentions ? mentions : "{}";
    argv[argc++] = "meta";
    argv[argc++] = meta ? meta : "{}";
    argv[argc++] = "lane";
    argv[argc++] = prio ? "prio" : "main";
    return argc;
}

int zq_notice_create(zq_store *st, const zq_notice_new *in, char *id, bool *created, zq_err *err)
{
    const char *p = zq_store_prefix(st);
    char k_mark[ZQ_STORE_KEY_MAX], k_seq[ZQ_STORE_KEY_MAX], k_pending[ZQ_STORE_KEY_MAX],
        k_all[ZQ_STORE_KEY_MAX], pre[24], now[24], send_at[24], mark_ttl[16];
    const char *argv[32];
    int argc = 0, rc = 0;
    redisReply *r;
    int64_t at = in->send_at_ms > in->now_ms ? in->send_at_ms : in->now_ms;

    id_prefix(in->kind, in->now_ms, pre);
    if (mark_key(st, in->mark, k_mark) < 0 ||
        zq_store_key(st, k_seq, sizeof(k_seq), "seq:notice:%s", pre) < 0 ||
        zq_store_key(st, k_pending, sizeof(k_pending), "notices:pending") < 0 ||
        zq_store_key(st, k_all, sizeof(k_all), "notices") < 0 ||
        zq_fmt(now, sizeof(now), "%lld", (long long)in->now_ms) < 0 ||
        zq_fmt(send_at, sizeof(send_at), "%lld", (long long)at) < 0 ||
        zq_fmt(mark_ttl, sizeof(mark_ttl), "%d", in->mark_ttl_s) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "notice: key or argument too long");
    argv[argc++] = k_mark;
    argv[argc++] = k_seq;
    argv[argc++] = k_pending;
    argv[argc++] = k_all;
    argv[argc++] = p;
    argv[argc++] = pre;
    argv[argc++] = now;
    argv[argc++] = send_at;
    argv[argc++] = mark_ttl;
    argv[argc++] = in->mark ? "1" : "0";
    argc =
        content_args(argv, argc, in->kind, in->title, in->body, in->mentions, in->meta, in->prio);
    argv[argc++] = "audience";
    argv[argc++] = in->audience ? in->audience : "{}";
    argv[argc++] = "created_by";
    argv[argc++] = in->created_by ? in->created_by : "";
    r = zq_store_script(st, err, &create_script, 4, argc, argv, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    rc = id_reply(r, id, created, err);
    freeReplyObject(r);
    return rc;
}

int zq_notice_send_direct(zq_store *st, const zq_direct_new *in, char *id, bool *created,
                          zq_err *err)
{
    const char *p = zq_store_prefix(st);
    char k_mark[ZQ_STORE_KEY_MAX], k_seq[ZQ_STORE_KEY_MAX], k_all[ZQ_STORE_KEY_MAX],
        k_stream[ZQ_STORE_KEY_MAX], pre[24], now[24], ttl[16], mark_ttl[16];
    const char *argv[32], *tid, *channel;
    char *tj = NULL;
    int argc = 0, rc = 0;
    redisReply *r;

    if (in->target != NULL) {
        tj = zq_target_inline_encode(in->target);
        if (tj == NULL)
            return zq_err_set(err, ZQ_ENOMEM, "notice: out of memory");
        tid = in->target->id;
        channel = zq_channel_name(in->target->kind);
    } else if (in->target_id != NULL && zq_target_id_valid(in->target_id)) {
        tid = in->target_id;
        channel = "";
    } else {
        return zq_err_set(err, ZQ_EINVAL, "notice: no target");
    }
    id_prefix(in->kind, in->now_ms, pre);
    if (mark_key(st, in->mark, k_mark) < 0 ||
        zq_store_key(st, k_seq, sizeof(k_seq), "seq:notice:%s", pre) < 0 ||
        zq_store_key(st, k_all, sizeof(k_all), "notices") < 0 ||
        zq_store_key(st, k_stream, sizeof(k_stream), in->prio ? "outbox:prio" : "outbox") < 0 ||
        zq_fmt(now, sizeof(now), "%lld", (long long)in->now_ms) < 0 ||
        zq_fmt(ttl, sizeof(ttl), "%d", in->ttl_s) < 0 ||
        zq_fmt(mark_ttl, sizeof(mark_ttl), "%d", in->mark_ttl_s) < 0) {
        free(tj);
        return zq_err_set(err, ZQ_ETOOBIG, "notice: key or argument too long");
    }
    argv[argc++] = k_mark;
    argv[argc++] = k_seq;
    argv[argc++] = k_all;
    argv[argc++] = k_stream;
    argv[argc++] = p;
    argv[argc++] = pre;
    argv[argc++] = now;
    argv[argc++] = ttl;
    argv[argc++] = mark_ttl;
    argv[argc++] = in->mark ? "1" : "0";
    argv[argc++] = tid;
    argv[argc++] = channel;
    argv[argc++] = tj ? tj : "";
    argv[argc++] = in->kind == ZQ_NOTICE_REPLY ? "0" : "1";
    argc =
        content_args(argv, argc, in->kind, in->title, in->body, in->mentions, in->meta, in->prio);
    argv[argc++] = "audience";
    argv[argc++] = "{}";
    r = zq_store_script(st, err, &direct_script, 4, argc, argv, NULL);
    free(tj);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    rc = id_reply(r, id, created, err);
    freeReplyObject(r);
    return rc;
}

/* A JSON array of distinct valid strings, at most max; NULL when not. */
static json_t *string_list(json_t *in, size_t max, bool (*valid)(const char *))
{
    json_t *out, *v;
    size_t i, j;

    if (!json_is_array(in) || json_array_size(in) > max)
        return NULL;
    out = json_array();
    json_array_foreach(in, i, v)
    {
        const char *s = json_string_value(v);
        bool dup = false;

        if (s == NULL || !valid(s)) {
            json_decref(out);
            return NULL;
        }
        for (j = 0; j < json_array_size(out); j++)
            dup = dup || strcmp(json_string_value(json_array_get(out, j)), s) == 0;
        if (!dup)
            json_array_append_new(out, json_string(s));
    }
    return out;
}

int zq_audience_parse(json_t *in, json_t **out, const char **msg)
{
    json_t *tags = NULL, *ids = NULL, *v, *o;
    const char *key, *match = "any";
    bool all = false;

    *out = NULL;
    if (!json_is_object(in)) {
        *msg = "请填写接收范围 audience（对象，含 tags 或 targets）。";
        return -ZQ_EINVAL;
    }
    json_object_foreach(in, key, v)
    {
        if (strcmp(key, "tags") != 0 && strcmp(key, "match") != 0 && strcmp(key, "targets") != 0 &&
            strcmp(key, "all") != 0) {
            *msg = "接收范围只能包含 tags、match、targets 和 all。";
            return -ZQ_EINVAL;
        }
    }
    v = json_object_get(in, "match");
    if (v != NULL) {
        match = json_string_value(v);
        if (match == NULL || (strcmp(match, "any") != 0 && strcmp(match, "all") != 0)) {
            *msg = "match 应为 any（任一标签）或 all（全部标签）。";
            return -ZQ_EINVAL;
        }
    }
    v = json_object_get(in, "all");
    if (v != NULL && !json_is_boolean(v)) {
        *msg = "all 应为 true 或 false。";
        return -ZQ_EINVAL;
    }
    all = json_is_true(v);
    v = json_object_get(in, "tags");
    if (v != NULL && (tags = string_list(v, ZQ_TARGET_MAX_TAGS, zq_tag_valid)) == NULL) {
        *msg = "tags 应为最多 32 个标签的数组，标签不能含空格、逗号或括号。";
        return -ZQ_EINVAL;
    }
    v = json_object_get(in, "targets");
    if (v != NULL && (ids = string_list(v, ZQ_NOTICE_MAX_TARGETS, zq_target_id_valid)) == NULL) {
        json_decref(tags);
        *msg = "targets 应为最多 1000 个推送对象编号的数组。";
        return -ZQ_EINVAL;
    }
    if (!all && json_array_size(tags) == 0 && json_array_size(ids) == 0) {
        json_decref(tags);
        json_decref(ids);
        *msg = "请至少指定一个标签（tags）或推送对象（targets）。";
        return -ZQ_EINVAL;
    }
    o = json_object();
    if (all)
        json_object_set_new(o, "all", json_true());
    json_object_set_new(o, "tags", tags ? tags : json_array());
    json_object_set_new(o, "match", json_string(match));
    json_object_set_new(o, "targets", ids ? ids : json_array());
    *out = o;
    return 0;
}

/* Normalises a mobile number to 11 digits; false when it is not one. */
static bool mobile_norm(const char *in, char out[12])
{
    size_t n = 0;
    const char *s = in;

    if (strncmp(s, "+86", 3) == 0)
        s += 3;
    for (; *s != '\0'; s++) {
        if (*s == ' ' || *s == '-')
            continue;
        if (!isdigit((unsigned char)*s) || n >= 13)
            return false;
        out[n++] = *s;
    }
    out[n] = '\0';
    if (n == 13 && out[0] == '8' && out[1] == '6') {
        memmove(out, out + 2, 12);
        n = 11;
    }
    return n == 11 && out[0] == '1' && out[1] >= '3' && out[1] <= '9';
}

int zq_mentions_parse(json_t *in, json_t **out, const char **msg)
{
    json_t *mobiles = json_array(), *v, *list;
    const char *key;
    size_t i;

    *out = NULL;
    if (!json_is_object(in)) {
        json_decref(mobiles);
        *msg = "mentions 应为对象：{\"mobiles\":[…], \"all\":false}。";
        return -ZQ_EINVAL;
    }
    json_object_foreach(in, key, v)
    {
        if (strcmp(key, "mobiles") != 0 && strcmp(key, "all") != 0) {
            json_decref(mobiles);
            *msg = "mentions 只能包含 mobiles 和 all。";
            return -ZQ_EINVAL;
        }
    }
    v = json_object_get(in, "all");
    if (v != NULL && !json_is_boolean(v)) {
        json_decref(mobiles);
        *msg = "mentions.all 应为 true 或 false。";
        return -ZQ_EINVAL;
    }
    list = json_object_get(in, "mobiles");
    if (list != NULL && (!json_is_array(list) || json_array_size(list) > ZQ_NOTICE_MAX_MENTIONS)) {
        json_decref(mobiles);
        *msg = "mentions.mobiles 应为最多 20 个手机号码的数组。";
        return -ZQ_EINVAL;
    }
    json_array_foreach(list, i, v)
    {
        char m[16];

        if (!json_is_string(v) || !mobile_norm(json_string_value(v), m)) {
            json_decref(mobiles);
            *msg = "mentions.mobiles 中有无效的手机号码。";
            return -ZQ_EINVAL;
        }
        json_array_append_new(mobiles, json_string(m));
    }
    *out = json_pack("{s:o, s:b}", "mobiles", mobiles, "all",
                     json_is_true(json_object_get(in, "all")));
    return 0;
}

int zq_notice_due(zq_store *st, int64_t now_ms, char (*ids)[ZQ_NOTICE_ID_MAX], int max, int *n,
                  zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX];
    redisReply *r;
    int rc = 0;

    *n = 0;
    if (zq_store_key(st, key, sizeof(key), "notices:pending") < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "notices:pending: key prefix too long");
    r = zq_store_command(st, err, "ZRANGEBYSCORE %s -inf %lld LIMIT 0 %d", key, (long long)now_ms,
                         max);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = zq_err_set(err, ZQ_EREPLY, "notices:pending: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    } else {
        for (size_t i = 0; i < r->elements && *n < max; i++) {
            const redisReply *e = r->element[i];
            if (e->type == REDIS_REPLY_STRING && e->len < ZQ_NOTICE_ID_MAX)
                memcpy(ids[(*n)++], e->str, e->len + 1);
        }
    }
    freeReplyObject(r);
    return rc;
}

int zq_notice_fanout(zq_store *st, const char *id, int chunk, int64_t now_ms, int *added, int *left,
                     zq_err *err)
{
    const char *p = zq_store_prefix(st);
    char k[7][ZQ_STORE_KEY_MAX], cs[16], now[24];
    const char *argv[11];
    redisReply *r;
    int rc = 0;

    *added = 0;
    *left = 0;
    if (zq_store_key(st, k[0], sizeof(k[0]), "notice:%s", id) < 0 ||
        zq_store_key(st, k[1], sizeof(k[1]), "notice:%s:aud", id) < 0 ||
        zq_store_key(st, k[2], sizeof(k[2]), "notice:%s:report", id) < 0 ||
        zq_store_key(st, k[3], sizeof(k[3]), "outbox") < 0 ||
        zq_store_key(st, k[4], sizeof(k[4]), "outbox:prio") < 0 ||
        zq_store_key(st, k[5], sizeof(k[5]), "notices:pending") < 0 ||
        zq_store_key(st, k[6], sizeof(k[6]), "notice:%s:dests", id) < 0 ||
        zq_fmt(cs, sizeof(cs), "%d", chunk) < 0 ||
        zq_fmt(now, sizeof(now), "%lld", (long long)now_ms) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "notice: key too long");

    for (int i = 0; i < 7; i++)
        argv[i] = k[i];
    argv[7] = p;
    argv[8] = id;
    argv[9] = cs;
    argv[10] = now;
    r = zq_store_script(st, err, &fanout_script, 7, 11, argv, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER) {
        rc = zq_err_set(err, ZQ_EREPLY, "fanout %s: %s", id,
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    } else if (r->element[0]->integer < 0) {
        rc = zq_err_set(err, ZQ_ENOTFOUND, "fanout: notice %s is gone", id);
    } else {
        *added = (int)r->element[0]->integer;
        *left = (int)r->element[1]->integer;
    }
    freeReplyObject(r);
    return rc;
}

void zq_notice_content_clear(zq_notice_content *c)
{
    free(c->title);
    free(c->body);
    for (size_t i = 0; i < c->nmobiles; i++)
        free(c->mobiles[i]);
    free(c->mobiles);
    memset(c, 0, sizeof(*c));
}

int zq_notice_content_from_reply(const redisReply *r, zq_notice_content *out)
{
    json_t *m = NULL, *list, *v;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING)
        return -ZQ_ENOTFOUND;
    out->title = strndup(r->element[0]->str, r->element[0]->len);
    out->body = strndup(r->element[1]->str, r->element[1]->len);
    if (out->title == NULL || out->body == NULL)
        goto oom;
    if (r->element[2]->type == REDIS_REPLY_STRING)
        m = json_loadb(r->element[2]->str, r->element[2]->len, 0, NULL);
    out->mention_all = json_is_true(json_object_get(m, "all"));
    list = json_object_get(m, "mobiles");
    if (json_array_size(list) > 0) {
        out->mobiles = calloc(json_array_size(list), sizeof(*out->mobiles));
        if (out->mobiles == NULL)
            goto oom;
        json_array_foreach(list, i, v)
        {
            if (!json_is_string(v))
                continue;
            out->mobiles[out->nmobiles] = strdup(json_string_value(v));
            if (out->mobiles[out->nmobiles] == NULL)
                goto oom;
            out->nmobiles++;
        }
    }
    json_decref(m);
    return 0;
oom:
    json_decref(m);
    zq_notice_content_clear(out);
    return -ZQ_ENOMEM;
}

static const char *hfield(const redisReply *h, const char *name)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && strcmp(h->element[i]->str, name) == 0 &&
            h->element[i + 1]->type == REDIS_REPLY_STRING)
            return h->element[i + 1]->str;
    return NULL;
}

static long long hnum(const redisReply *h, const char *name)
{
    const char *s = hfield(h, name);
    long long v = 0;

    if (s == NULL || zq_parse_ll(s, strlen(s), INT64_MIN, INT64_MAX, &v) < 0)
        return 0;
    return v;
}

static json_t *json_or_empty(const char *s)
{
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    return j ? j : json_object();
}

/* The body staff may see: a verification code's SMS ({"use":"code",...}
 * with an "sms" meta) is never shown, since the code would let whoever
 * reads it prove a number that is not theirs. */
static const char *shown_body(const redisReply *h)
{
    const char *body = hfield(h, "body"), *meta = hfield(h, "meta");
    json_t *b, *m;
    bool code;

    if (body == NULL || meta == NULL || strstr(meta, "sms") == NULL)
        return body ? body : "";
    m = json_loads(meta, 0, NULL);
    b = json_loads(body, 0, NULL);
    code = json_is_string(json_object_get(m, "type")) &&
           strcmp(json_string_value(json_object_get(m, "type")), "sms") == 0 &&
           json_is_string(json_object_get(b, "use")) &&
           strcmp(json_string_value(json_object_get(b, "use")), "code") == 0;
    json_decref(m);
    json_decref(b);
    return code ? "（验证码短信，内容不显示）" : body;
}

/* The summary of a notice from its HGETALL reply. */
static json_t *notice_view(const redisReply *h, int64_t now_ms)
{
    long long total = hnum(h, "total"), sent = hnum(h, "n_sent"), failed = hnum(h, "n_failed");
    const char *state = hfield(h, "state");
    long long send_at = hnum(h, "send_at_ms");
    char created[32], at[32];

    if (state == NULL)
        state = "pending";
    if (strcmp(state, "pending") == 0 && send_at > now_ms)
        state = "scheduled";
    else if (strcmp(state, "sending") == 0 && sent + failed >= total)
        state = "done";
    zq_time_iso(hnum(h, "created_ms"), created);
    zq_time_iso(send_at, at);
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I, "
        "s:I}}",
        "id", hfield(h, "id") ? hfield(h, "id") : "", "kind",
        hfield(h, "kind") ? hfield(h, "kind") : "notice", "title",
        hfield(h, "title") ? hfield(h, "title") : "", "body", shown_body(h), "audience",
        json_or_empty(hfield(h, "audience")), "meta", json_or_empty(hfield(h, "meta")), "state",
        state, "created_at", created, "send_at", at, "created_by",
        hfield(h, "created_by") ? hfield(h, "created_by") : "", "totals", "total",
        (json_int_t)total, "queued", (json_int_t)hnum(h, "n_queued"), "sent", (json_int_t)sent,
        "retrying", (json_int_t)hnum(h, "n_retrying"), "failed", (json_int_t)failed);
}

int zq_notice_report(zq_store *st, const char *id, const char *cursor, int limit, int64_t now_ms,
                     json_t **out, zq_err *err)
{
    char k_notice[ZQ_STORE_KEY_MAX], k_report[ZQ_STORE_KEY_MAX];
    redisReply *rep[2] = {NULL, NULL};
    json_t *view = NULL, *lines;
    const redisReply *kv;
    int rc = 0;

    *out = NULL;
    /* No notice has an id that long: not found. */
    if (zq_store_key(st, k_notice, sizeof(k_notice), "notice:%s", id) < 0 ||
        zq_store_key(st, k_report, sizeof(k_report), "notice:%s:report", id) < 0)
        return zq_err_set(err, ZQ_ENOTFOUND, "notice %.64s: key too long", id);
    zq_store_appendv(st, 2, (const char *[]){"HGETALL", k_notice}, NULL);
    zq_store_append(st, "HSCAN %s %s COUNT %d", k_report, cursor, limit);
    if (zq_store_read_replies(st, err, 2, rep) < 0)
        return -ZQ_EUNAVAIL;
    if (rep[0]->type != REDIS_REPLY_ARRAY || rep[1]->type != REDIS_REPLY_ARRAY ||
        rep[1]->elements != 2) {
        rc = zq_err_set(err, ZQ_EREPLY, "notice %s: unexpected reply", id);
        goto out;
    }
    if (rep[0]->elements == 0) {
        rc = zq_err_set(err, ZQ_ENOTFOUND, "notice %s not found", id);
        goto out;
    }
    view = notice_view(rep[0], now_ms);
    if (view == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "notice: out of memory");
        goto out;
    }
    lines = json_array();
    kv = rep[1]->element[1];
    for (size_t i = 0; kv->type == REDIS_REPLY_ARRAY && i + 1 < kv->elements; i += 2) {
        json_t *line = json_loadb(kv->element[i + 1]->str, kv->element[i + 1]->len, 0, NULL);
        json_t *o, *v;
        char iso[32];

        if (!json_is_object(line)) {
            json_decref(line);
            continue;
        }
        v = json_object_get(line, "status");
        o = json_pack("{s:s, s:s, s:I}", "target", kv->element[i]->str, "status",
                      json_is_string(v) ? json_string_value(v) : "queued", "attempts",
                      (json_int_t)json_integer_value(json_object_get(line, "attempts")));
        if (o == NULL) {
            json_decref(line);
            continue;
        }
        if ((v = json_object_get(line, "channel")) != NULL && json_string_length(v) > 0)
            json_object_set(o, "channel", v);
        if ((v = json_object_get(line, "last_error")) != NULL)
            json_object_set(o, "last_error", v);
        if (json_is_integer(v = json_object_get(line, "sent_at"))) {
            zq_time_iso(json_integer_value(v), iso);
            json_object_set_new(o, "sent_at", json_string(iso));
        }
        if (json_is_integer(v = json_object_get(line, "next_at"))) {
            zq_time_iso(json_integer_value(v), iso);
            json_object_set_new(o, "next_attempt_at", json_string(iso));
        }
        json_array_append_new(lines, o);
        json_decref(line);
    }
    json_object_set_new(view, "targets", lines);
    json_object_set_new(view, "next_cursor",
                        rep[1]->element[0]->type == REDIS_REPLY_STRING &&
                                strcmp(rep[1]->element[0]->str, "0") != 0
                            ? json_string(rep[1]->element[0]->str)
                            : json_null());
    *out = view;
out:
    freeReplyObject(rep[0]);
    freeReplyObject(rep[1]);
    return rc;
}

int zq_notice_recent(zq_store *st, int limit, int64_t now_ms, json_t **out, zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX];
    redisReply *ids, **reps = NULL;
    json_t *list = json_array();
    int rc = 0, n;

    *out = NULL;
    if (zq_store_key(st, key, sizeof(key), "notices") < 0) {
        json_decref(list);
        return zq_err_set(err, ZQ_ETOOBIG, "notices: key prefix too long");
    }
    ids = zq_store_command(st, err, "ZREVRANGE %s 0 %d", key, limit - 1);
    if (ids == NULL) {
        json_decref(list);
        return -ZQ_EUNAVAIL;
    }
    if (ids->type != REDIS_REPLY_ARRAY) {
        rc = zq_err_set(err, ZQ_EREPLY, "notices: unexpected reply");
        goto out;
    }
    n = (int)ids->elements;
    if (n > 0) {
        reps = calloc((size_t)n, sizeof(redisReply *));
        if (reps == NULL) {
            rc = zq_err_set(err, ZQ_ENOMEM, "notices: out of memory");
            goto out;
        }
        /* Every key is checked before the first append: the pipeline is
         * sent whole or not at all, so the replies read match. */
        for (int i = 0; i < n; i++)
            if (zq_store_key(st, key, sizeof(key), "notice:%s", ids->element[i]->str) < 0) {
                rc = zq_err_set(err, ZQ_ETOOBIG, "notices: a notice key is too long");
                goto out;
            }
        for (int i = 0; i < n; i++) {
            (void)zq_store_key(st, key, sizeof(key), "notice:%s", ids->element[i]->str);
            zq_store_appendv(st, 2, (const char *[]){"HGETALL", key}, NULL);
        }
        if (zq_store_read_replies(st, err, n, reps) < 0) {
            rc = -ZQ_EUNAVAIL;
            goto out;
        }
        for (int i = 0; i < n; i++) {
            if (reps[i]->type == REDIS_REPLY_ARRAY && reps[i]->elements > 0) {
                json_t *v = notice_view(reps[i], now_ms);
                if (v != NULL) {
                    json_object_del(v, "body");
                    json_array_append_new(list, v);
                }
            }
            freeReplyObject(reps[i]);
        }
    }
out:
    free(reps);
    freeReplyObject(ids);
    if (rc == 0)
        *out = list;
    else
        json_decref(list);
    return rc;
}

/* Reads exactly n digits at *s into *out. */
static bool digits(const char **s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return false;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int zq_time_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec = 0, frac = 0, oh = 8, om = 0, sign = 1;
    int64_t t;

    if (s == NULL || strlen(s) > 40)
        return -ZQ_EINVAL;
    if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
        !digits(&s, 2, &d) || (*s != 'T' && *s != 't' && *s != ' '))
        return -ZQ_EINVAL;
    s++;
    if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi))
        return -ZQ_EINVAL;
    if (*s == ':') {
        s++;
        if (!digits(&s, 2, &sec))
            return -ZQ_EINVAL;
        if (*s == '.') {
            int nd = 0;

            s++;
            while (isdigit((unsigned char)*s)) {
                if (nd < 3)
                    frac = frac * 10 + (*s - '0');
                nd++;
                s++;
            }
            if (nd == 0)
                return -ZQ_EINVAL;
            for (; nd < 3; nd++)
                frac *= 10;
        }
    }
    if (*s == 'Z' || *s == 'z') {
        oh = 0;
        s++;
    } else if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        s++;
        if (!digits(&s, 2, &oh) || *s++ != ':' || !digits(&s, 2, &om) || oh > 14 || om > 59)
            return -ZQ_EINVAL;
    }
    if (*s != '\0')
        return -ZQ_EINVAL;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
        return -ZQ_EINVAL;
    {
        static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int dim = mdays[mo - 1] + (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
        if (d > dim)
            return -ZQ_EINVAL;
    }
    t = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
    t -= sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
    *ms = t * 1000 + frac;
    return 0;
}

int zq_notice_idem_mark(zq_store *st, const char *key, char *out, size_t outsz)
{
    /* zq_store_key leaves "" when the key does not fit. */
    if (zq_store_key(st, out, outsz, "notice:idem:%s", key) < 0)
        return -ZQ_EINVAL;
    return 0;
}

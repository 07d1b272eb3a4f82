/* Images and files sent in a chat (see include/zhuqi/chatmedia.h): the
 * fetch jobs' queue and the attachment of a fetched file to the chat's
 * draft. Each change is one script, so two bots never run one job at
 * once and two files never both pass a draft's limits. */
#include "zhuqi/chatmedia.h"

#include <stdlib.h>
#include <string.h>

#include "zhuqi/log.h"

/* KEYS: jobs, due. ARGV: now, lease until. */
static zq_script take_script = {
    .src = "local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 1)\n"
           "if #ids == 0 then return false end\n"
           "redis.call('ZADD', KEYS[2], ARGV[2], ids[1])\n"
           "local j = redis.call('HGET', KEYS[1], ids[1])\n"
           "if not j then redis.call('ZREM', KEYS[2], ids[1]) return {ids[1]} end\n"
           "return {ids[1], j}\n"};

/* KEYS: chat hash, pending. ARGV: draft, record, size, max files, max
 * bytes, now, pending member. */
static zq_script attach_script = {
    .src =
        "if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0, 0} end\n"
        /* The dialogue's state (lib/chat/dialogue.c): field t, or the
         * JSON of field s in a session saved before t. */
        "local mode, draft\n"
        "local t = redis.call('HGET', KEYS[1], 't')\n"
        "if t then\n"
        "  local p = {}\n"
        "  for x in string.gmatch(t .. '|', '([^|]*)|') do p[#p + 1] = x end\n"
        "  mode, draft = p[1], p[5]\n"
        "else\n"
        "  local ok, st = pcall(cjson.decode, redis.call('HGET', KEYS[1], 's') or '')\n"
        "  if ok and type(st) == 'table' then mode, draft = st.mode, st.draft end\n"
        "end\n"
        "if draft ~= ARGV[1] or (mode ~= 'form' and mode ~= 'review') then\n"
        "  return {-1, 0, 0}\n"
        "end\n"
        "local list, total = {}, 0\n"
        "local cur = redis.call('HGET', KEYS[1], 'f')\n"
        "if cur then\n"
        "  local ok2, o = pcall(cjson.decode, cur)\n"
        "  if ok2 and type(o) == 'table' and o.draft == ARGV[1] and type(o.list) == 'table' then\n"
        "    list = o.list\n"
        "  end\n"
        "end\n"
        "for _, r in ipairs(list) do total = total + (tonumber(r.size) or 0) end\n"
        "if #list >= tonumber(ARGV[4]) then return {-2, #list, total} end\n"
        "if total + tonumber(ARGV[3]) > tonumber(ARGV[5]) then return {-3, #list, total} end\n"
        "list[#list + 1] = cjson.decode(ARGV[2])\n"
        "redis.call('HSET', KEYS[1], 'f', cjson.encode({draft = ARGV[1], list = list}))\n"
        "redis.call('HINCRBY', KEYS[1], 'v', 1)\n"
        "redis.call('ZADD', KEYS[2], ARGV[6], ARGV[7])\n"
        "return {0, #list, total + tonumber(ARGV[3])}\n"};

static const char *str_of(json_t *job, const char *k)
{
    const char *s = json_string_value(json_object_get(job, k));

    return s ? s : "";
}

static int keys(zq_store *st, char jobs[ZQ_STORE_KEY_MAX], char due[ZQ_STORE_KEY_MAX])
{
    if (zq_store_key(st, jobs, ZQ_STORE_KEY_MAX, "%s", ZQ_CHATMEDIA_JOBS) < 0 ||
        zq_store_key(st, due, ZQ_STORE_KEY_MAX, "%s", ZQ_CHATMEDIA_DUE) < 0)
        return -ZQ_ETOOBIG;
    return 0;
}

int zq_chatmedia_take(zq_store *st, int64_t now_ms, int64_t lease_ms, json_t **job, zq_err *err)
{
    char jobs[ZQ_STORE_KEY_MAX], due[ZQ_STORE_KEY_MAX], now[24], until[24];
    long long until_ms = (long long)now_ms + (long long)lease_ms;
    redisReply *r;
    int rc = 0;

    *job = NULL;
    if (keys(st, jobs, due) < 0 || zq_fmt(now, sizeof(now), "%lld", (long long)now_ms) < 0 ||
        zq_fmt(until, sizeof(until), "%lld", until_ms) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "chatmedia: a key is too long");
    r = zq_store_script(st, err, &take_script, 2, 4, (const char *[]){jobs, due, now, until}, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (zq_store_reply_unavailable(r)) {
        rc = zq_err_set(err, ZQ_EUNAVAIL, "chatmedia: %s", r->str);
    } else if (r->type == REDIS_REPLY_NIL) {
        rc = 0;
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
               r->element[0]->type != REDIS_REPLY_STRING) {
        rc = zq_err_set(err, ZQ_EREPLY, "chatmedia: take failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    } else {
        /* json_is_object() may evaluate its argument twice: load first. */
        if (r->elements >= 2 && r->element[1]->type == REDIS_REPLY_STRING)
            *job = json_loadb(r->element[1]->str, r->element[1]->len, 0, NULL);
        rc = json_is_object(*job) ? 1 : 0;
        if (rc == 0) {
            json_decref(*job);
            *job = NULL;
            ZQ_WARN("event=chat_media_dropped id=%s reason=\"job missing or not JSON\"",
                    r->element[0]->str);
        }
    }
    freeReplyObject(r);
    return rc;
}

int zq_chatmedia_done(zq_store *st, json_t *job, zq_err *err)
{
    char jobs[ZQ_STORE_KEY_MAX], due[ZQ_STORE_KEY_MAX];
    const char *id = str_of(job, "id");
    redisReply *r[2] = {NULL, NULL};
    int rc;

    if (keys(st, jobs, due) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "chatmedia: a key is too long");
    zq_store_appendv(st, 3, (const char *[]){"HDEL", jobs, id}, NULL);
    zq_store_appendv(st, 3, (const char *[]){"ZREM", due, id}, NULL);
    rc = zq_store_read_replies(st, err, 2, r) < 0 ? -ZQ_EUNAVAIL : 0;
    freeReplyObject(r[0]);
    freeReplyObject(r[1]);
    return rc;
}

int zq_chatmedia_retry(zq_store *st, json_t *job, int64_t due_ms, zq_err *err)
{
    char jobs[ZQ_STORE_KEY_MAX], due[ZQ_STORE_KEY_MAX], when[24];
    const char *id = str_of(job, "id");
    char *enc = json_dumps(job, JSON_COMPACT);
    redisReply *r[2] = {NULL, NULL};
    int rc;

    if (enc == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "chatmedia: cannot encode the job");
    if (keys(st, jobs, due) < 0 || zq_fmt(when, sizeof(when), "%lld", (long long)due_ms) < 0) {
        free(enc);
        return zq_err_set(err, ZQ_ETOOBIG, "chatmedia: a key is too long");
    }
    zq_store_appendv(st, 4, (const char *[]){"HSET", jobs, id, enc}, NULL);
    zq_store_appendv(st, 4, (const char *[]){"ZADD", due, when, id}, NULL);
    rc = zq_store_read_replies(st, err, 2, r) < 0 ? -ZQ_EUNAVAIL : 0;
    freeReplyObject(r[0]);
    freeReplyObject(r[1]);
    free(enc);
    return rc;
}

/* 0 for an integer reply element i, else -1. */
static long long int_at(const redisReply *r, size_t i)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements <= i ||
        r->element[i]->type != REDIS_REPLY_INTEGER)
        return -1;
    return r->element[i]->integer;
}

int zq_chatmedia_attach(zq_store *st, json_t *job, json_t *rec, const zq_files_limits *lim,
                        int64_t now_ms, int *count, uint64_t *bytes, zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX], pending[ZQ_STORE_KEY_MAX], member[200], size[24], maxf[16],
        maxb[24], now[24];
    char *enc = NULL;
    redisReply *r = NULL;
    long long status;
    int rc;

    if (zq_store_key(st, key, sizeof(key), "chat:%s:%s", str_of(job, "channel"),
                     str_of(job, "ukey")) < 0 ||
        zq_store_key(st, pending, sizeof(pending), "files:pending") < 0 ||
        zq_fmt(member, sizeof(member), "%s:chat:%s:%s", str_of(rec, "id"), str_of(job, "channel"),
               str_of(job, "ukey")) < 0 ||
        zq_fmt(size, sizeof(size), "%lld",
               (long long)json_integer_value(json_object_get(rec, "size"))) < 0 ||
        zq_fmt(maxf, sizeof(maxf), "%d", lim->max_files) < 0 ||
        zq_fmt(maxb, sizeof(maxb), "%llu", (unsigned long long)lim->max_bytes) < 0 ||
        zq_fmt(now, sizeof(now), "%lld", (long long)now_ms) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "chatmedia: a key or argument is too long");
    enc = json_dumps(rec, JSON_COMPACT);
    if (enc == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "chatmedia: cannot encode the record");
    r = zq_store_script(
        st, err, &attach_script, 2, 9,
        (const char *[]){key, pending, str_of(job, "draft"), enc, size, maxf, maxb, now, member},
        NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (zq_store_reply_unavailable(r)) {
        rc = zq_err_set(err, ZQ_EUNAVAIL, "chatmedia: %s", r->str);
        goto out;
    }
    status = int_at(r, 0);
    if (int_at(r, 1) < 0 || int_at(r, 2) < 0) {
        rc = zq_err_set(err, ZQ_EREPLY, "chatmedia: attach failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    if (count != NULL)
        *count = (int)int_at(r, 1);
    if (bytes != NULL)
        *bytes = (uint64_t)int_at(r, 2);
    rc = status == 0    ? 0
         : status == -1 ? zq_err_set(err, ZQ_ENOTFOUND, "chatmedia: the draft has ended")
         : status == -2 ? -ZQ_ECONFLICT
                        : -ZQ_ETOOBIG;
out:
    if (r != NULL)
        freeReplyObject(r);
    free(enc);
    return rc;
}

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
        "local list = {}\n"
        "local cur = redis.call('HGET', KEYS[1], 'f')\n"
        "if cur then\n"
        "  local ok2, o = pcall(cjson.decode, cur)\n"
        "  if ok2 and type(o) == 'table' and o.draft == ARGV[1] and type(o.list) == 'table' then\n"
        "    list = o.list\n"
        "  end\n"
        "end\n" ZQ_FILES_LUA_APPEND
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

int zq_chatmedia_attach(zq_store *st, json_t *job, json_t *rec, const zq_files_limits *lim,
                        int64_t now_ms, int *count, uint64_t *bytes, zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX], pending[ZQ_STORE_KEY_MAX], member[200], now[24];
    int rc;

    if (zq_store_key(st, key, sizeof(key), "chat:%s:%s", str_of(job, "channel"),
                     str_of(job, "ukey")) < 0 ||
        zq_store_key(st, pending, sizeof(pending), "files:pending") < 0 ||
        zq_fmt(member, sizeof(member), "%s:chat:%s:%s", str_of(rec, "id"), str_of(job, "channel"),
               str_of(job, "ukey")) < 0 ||
        zq_fmt(now, sizeof(now), "%lld", (long long)now_ms) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "chatmedia: a key or argument is too long");
    rc = zq_files_add_run(
        st, &attach_script, 2, 9,
        (const char *[]){key, pending, str_of(job, "draft"), NULL, NULL, NULL, NULL, now, member},
        rec, lim, count, bytes, err);
    return rc == -ZQ_ENOTFOUND ? zq_err_set(err, ZQ_ENOTFOUND, "chatmedia: the draft has ended")
                               : rc;
}

/* The classes zset (see include/zhuqi/classes.h). The web page, the chat,
 * the staff API and the reminders all read it here. */
#include "zhuqi/classes.h"

#include <stdio.h>

static zq_script save_script = {
    .src = "local all = redis.call('ZRANGE', KEYS[1], 0, -1)\n"
           "local replaced = 0\n"
           "for _, m in ipairs(all) do\n"
           "  local ok, c = pcall(cjson.decode, m)\n"
           "  if ok and type(c) == 'table' and c.id == ARGV[1] then\n"
           "    redis.call('ZREM', KEYS[1], m)\n"
           "    replaced = 1\n"
           "  end\n"
           "end\n"
           "if replaced == 0 and #all >= tonumber(ARGV[4]) then return -1 end\n"
           "redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])\n"
           "return replaced\n"};

/* ZRANGEBYSCORE classes min max LIMIT 0 max, parsed. */
static int range(zq_store *st, const char *min, const char *max, size_t n, json_t **list,
                 zq_err *err)
{
    char key[96], limit[24];
    redisReply *r;
    json_t *out;
    size_t i;
    int rc = 0;

    *list = NULL;
    if (zq_store_key(st, key, sizeof(key), "classes") < 0 ||
        zq_fmt(limit, sizeof(limit), "%zu", n) < 0)
        return zq_err_set(err, ZQ_EINVAL, "classes: key too long");
    r = zq_store_commandv(
        st, err, 7, (const char *[]){"ZRANGEBYSCORE", key, min, max, "LIMIT", "0", limit}, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = zq_store_reply_unavailable(r)
                 ? zq_err_set(err, ZQ_EUNAVAIL, "classes: %s", r->str)
                 : zq_err_set(err, ZQ_EREPLY, "classes: %s",
                              r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    out = json_array();
    if (out == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "classes: out of memory");
        goto out;
    }
    for (i = 0; i < r->elements; i++) {
        json_t *c = r->element[i]->type == REDIS_REPLY_STRING
                        ? json_loadb(r->element[i]->str, r->element[i]->len, 0, NULL)
                        : NULL;
        if (c != NULL)
            json_array_append_new(out, c);
    }
    *list = out;
out:
    freeReplyObject(r);
    return rc;
}

int zq_classes_upcoming(zq_store *st, int64_t now_ms, size_t max, json_t **list, zq_err *err)
{
    char min[24];

    *list = NULL;
    if (zq_fmt(min, sizeof(min), "%lld", (long long)(now_ms - ZQ_CLASSES_PAST_MS)) < 0)
        return zq_err_set(err, ZQ_EINVAL, "classes: bad time");
    return range(st, min, "+inf", max, list, err);
}

int zq_classes_all(zq_store *st, json_t **list, zq_err *err)
{
    return range(st, "-inf", "+inf", ZQ_CLASSES_MAX, list, err);
}

int zq_classes_between(zq_store *st, int64_t from_ms, int64_t to_ms, size_t max, json_t **list,
                       zq_err *err)
{
    char min[24], lim[24];

    *list = NULL;
    if (zq_fmt(min, sizeof(min), "%lld", (long long)from_ms) < 0 ||
        zq_fmt(lim, sizeof(lim), "(%lld", (long long)to_ms) < 0)
        return zq_err_set(err, ZQ_EINVAL, "classes: bad time");
    return range(st, min, lim, max, list, err);
}

int zq_classes_save(zq_store *st, const char *id, const char *member, int64_t start_ms,
                    bool *created, zq_err *err)
{
    char key[96], score[24], mx[16];
    redisReply *r;
    int rc = 0;

    if (zq_store_key(st, key, sizeof(key), "classes") < 0 ||
        zq_fmt(score, sizeof(score), "%lld", (long long)start_ms) < 0 ||
        zq_fmt(mx, sizeof(mx), "%d", ZQ_CLASSES_MAX) < 0)
        return zq_err_set(err, ZQ_EINVAL, "classes: key too long");
    r = zq_store_script(st, err, &save_script, 1, 5, (const char *[]){key, id, member, score, mx},
                        NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type != REDIS_REPLY_INTEGER)
        rc = zq_err_set(err, ZQ_EREPLY, "class: save failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    else if (r->integer < 0)
        rc = zq_err_set(err, ZQ_ETOOBIG, "class: more than %d classes", ZQ_CLASSES_MAX);
    else
        *created = r->integer == 0;
    freeReplyObject(r);
    return rc;
}

/* The classes zset (see include/zhuqi/classes.h). The web page, the chat,
 * the staff API and the reminders all read it here. */
#include "zhuqi/classes.h"

#include <stdio.h>
#include <string.h>

#include "zhuqi/calendar.h"

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

/* A stored string member of c, or "" (borrowed). */
static const char *str_of(json_t *c, const char *k)
{
    const char *v = json_string_value(json_object_get(c, k));

    return v != NULL ? v : "";
}

/* When stored class c starts: its start_ms, or (a member written by hand
 * without it) its date and time, Beijing. Returns 0 or -ZQ_EINVAL. */
static int start_of(json_t *c, int64_t *ms)
{
    json_t *start = json_object_get(c, "start_ms");
    const char *d = str_of(c, "date"), *t = str_of(c, "time");
    long long h, m;
    zq_date day;

    if (json_is_integer(start)) {
        *ms = json_integer_value(start);
        return 0;
    }
    if (zq_date_parse(d, strlen(d), &day) < 0 || strlen(t) != 5 || t[2] != ':' ||
        zq_parse_ll(t, 2, 0, 23, &h) < 0 || zq_parse_ll(t + 3, 2, 0, 59, &m) < 0)
        return -ZQ_EINVAL;
    *ms = zq_date_to_ms(day, (int)h, (int)m);
    return 0;
}

/* The public view of stored class c at now_ms (new), or NULL when it has
 * no start time or is out of memory. */
static json_t *public_class(json_t *c, int64_t now_ms)
{
    const char *state, *live = str_of(c, "live_url"), *replay = str_of(c, "replay_url");
    char from[32], to[32];
    int64_t s;
    json_t *o;

    if (start_of(c, &s) < 0)
        return NULL;
    state = now_ms < s ? "upcoming" : now_ms < s + ZQ_CLASSES_LIVE_MS ? "live" : "ended";
    zq_time_iso(s, from);
    zq_time_iso(s + ZQ_CLASSES_LIVE_MS, to);
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", str_of(c, "id"), "title",
                  str_of(c, "title"), "speaker", str_of(c, "speaker"), "date", str_of(c, "date"),
                  "time", str_of(c, "time"), "starts_at", from, "ends_at", to, "state", state);
    if (o == NULL)
        return NULL;
    if (strcmp(state, "ended") != 0 && live[0] != '\0')
        json_object_set_new(o, "live_url", json_string(live));
    if (strcmp(state, "ended") == 0 && replay[0] != '\0')
        json_object_set_new(o, "replay_url", json_string(replay));
    return o;
}

int zq_classes_public(zq_store *st, int64_t now_ms, size_t max, json_t **list, zq_err *err)
{
    json_t *all = NULL, *ended, *out, *c, *v;
    char min[24];
    size_t i, nended = 0, nup = 0;
    int rc;

    *list = NULL;
    if (zq_fmt(min, sizeof(min), "%lld", (long long)(now_ms - ZQ_CLASSES_REPLAY_MS)) < 0)
        return zq_err_set(err, ZQ_EINVAL, "classes: bad time");
    /* The ended ones come first in the range: room for them and max more. */
    if ((rc = range(st, min, "+inf", max + 50, &all, err)) < 0)
        return rc;
    ended = json_array();
    out = json_array();
    if (ended == NULL || out == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "classes: out of memory");
        goto out;
    }
    json_array_foreach(all, i, c)
    {
        v = public_class(c, now_ms);
        if (v == NULL)
            continue;
        if (strcmp(str_of(v, "state"), "ended") != 0) {
            if (nup++ < max)
                json_array_append_new(out, v);
            else
                json_decref(v);
        } else if (json_object_get(v, "replay_url") != NULL) {
            json_array_append_new(ended, v);
            nended++;
        } else {
            json_decref(v);
        }
    }
    /* The latest three ended ones, then the rest, in time order. */
    for (i = nended > 3 ? nended - 3 : 0; i < nended; i++)
        json_array_insert(out, i - (nended > 3 ? nended - 3 : 0), json_array_get(ended, i));
    *list = out;
    out = NULL;
out:
    json_decref(all);
    json_decref(ended);
    json_decref(out);
    return rc;
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

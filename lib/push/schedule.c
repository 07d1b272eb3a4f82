/* The scheduler's lease and marks in Redis (see include/zhuqi/schedule.h
 * for the keys). */
#include "zhuqi/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS[1] the lease. ARGV: 1 holder, 2 ms. 1 renewed, 2 acquired, 0 held
 * by another. */
static zq_script lease_script = {
    .src = "local v = redis.call('GET', KEYS[1])\n"
           "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]); return 1 end\n"
           "if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); return 2 end\n"
           "return 0\n"};

static zq_script release_script = {
    .src = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
           "return 0\n"};

/* Runs script on the lease key with holder and, when set, ms. Returns the
 * reply (free it) or NULL. */
static redisReply *on_lease(zq_store *st, zq_script *script, const char *holder, const char *ms,
                            zq_err *err)
{
    char key[ZQ_SCHEDULE_KEY_MAX];
    const char *argv[3];

    if (zq_store_key(st, key, sizeof(key), "sched:lease") < 0) {
        zq_err_set(err, ZQ_ETOOBIG, "key prefix too long");
        return NULL;
    }
    argv[0] = key;
    argv[1] = holder;
    argv[2] = ms;
    return zq_store_script(st, err, script, 1, ms != NULL ? 3 : 2, argv, NULL);
}

int zq_schedule_lease(zq_store *st, const char *holder, int lease_ms, bool *held, zq_err *err)
{
    char ms[16];
    redisReply *r;

    *held = false;
    if (snprintf(ms, sizeof(ms), "%d", lease_ms) >= (int)sizeof(ms))
        return zq_err_set(err, ZQ_EINVAL, "lease of %d ms", lease_ms);
    r = on_lease(st, &lease_script, holder, ms, err);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    *held = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    return 0;
}

int zq_schedule_release(zq_store *st, const char *holder, zq_err *err)
{
    redisReply *r = on_lease(st, &release_script, holder, NULL, err);

    if (r == NULL)
        return -ZQ_EUNAVAIL;
    freeReplyObject(r);
    return 0;
}

void zq_schedule_mark_key(zq_store *st, const char *occurrence, char out[ZQ_SCHEDULE_KEY_MAX])
{
    /* Occurrence ids are short (ZQ_OCCURRENCE_ID_MAX): it fits; else "". */
    if (zq_store_key(st, out, ZQ_SCHEDULE_KEY_MAX, "sched:%s", occurrence) < 0)
        out[0] = '\0';
}

void zq_schedule_digest_key(zq_store *st, const char *date, char out[ZQ_SCHEDULE_KEY_MAX])
{
    if (zq_store_key(st, out, ZQ_SCHEDULE_KEY_MAX, "sched:digest:%s", date) < 0)
        out[0] = '\0';
}

int zq_schedule_marked(zq_store *st, const zq_occurrence *occ, int n, bool *marked, zq_err *err)
{
    char key[ZQ_SCHEDULE_KEY_MAX];
    redisReply **reps;
    int i, rc = 0;

    if (n <= 0)
        return 0;
    /* Every key is checked before the first append: the pipeline is sent
     * whole or not at all, so the replies read match the commands. */
    for (i = 0; i < n; i++)
        if (zq_store_key(st, key, sizeof(key), "sched:%s", occ[i].id) < 0)
            return zq_err_set(err, ZQ_ETOOBIG, "mark key of %.64s too long", occ[i].id);
    reps = calloc((size_t)n, sizeof(redisReply *));
    if (reps == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        (void)zq_store_key(st, key, sizeof(key), "sched:%s", occ[i].id); /* checked above */
        zq_store_appendv(st, 2, (const char *[]){"EXISTS", key}, NULL);
    }
    if (zq_store_read_replies(st, err, n, reps) < 0) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    for (i = 0; i < n; i++)
        marked[i] = reps[i]->type == REDIS_REPLY_INTEGER && reps[i]->integer == 1;
out:
    for (i = 0; i < n; i++)
        if (reps[i] != NULL)
            freeReplyObject(reps[i]);
    free(reps);
    return rc;
}

int zq_schedule_mark_exists(zq_store *st, const char *key, bool *exists, zq_err *err)
{
    redisReply *r = zq_store_command(st, err, "EXISTS %s", key);

    *exists = false;
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    *exists = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return 0;
}

int zq_schedule_skip(zq_store *st, const char *occurrence, int ttl_s, bool *first, zq_err *err)
{
    char key[ZQ_SCHEDULE_KEY_MAX];
    redisReply *r;

    *first = false;
    if (zq_store_key(st, key, sizeof(key), "sched:%s", occurrence) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "mark key of %.64s too long", occurrence);
    r = zq_store_command(st, err, "SET %s skipped NX EX %d", key, ttl_s);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    *first = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    return 0;
}

int zq_schedule_mark_get(zq_store *st, const char *occurrence, char *out, size_t outsz, zq_err *err)
{
    char key[ZQ_SCHEDULE_KEY_MAX];
    redisReply *r;
    int rc = 0;

    out[0] = '\0';
    if (zq_store_key(st, key, sizeof(key), "sched:%s", occurrence) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "mark key of %.64s too long", occurrence);
    r = zq_store_commandv(st, err, 2, (const char *[]){"GET", key}, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_STRING && snprintf(out, outsz, "%s", r->str) >= (int)outsz)
        rc = zq_err_set(err, ZQ_ETOOBIG, "mark of %.64s: value too long", occurrence);
    freeReplyObject(r);
    return rc;
}

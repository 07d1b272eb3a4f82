/* The audit stream: every staff action, appended and listed. */
#include "zhuqi/audit.h"

#include <stdio.h>
#include <string.h>

static const char *nz(const char *s)
{
    return s ? s : "";
}

int zq_audit_write(zq_store *st, const zq_audit *a, zq_err *err)
{
    char at[24], key[ZQ_STORE_KEY_MAX];
    redisReply *r;
    int n, rc = 0;

    n = snprintf(at, sizeof(at), "%lld", (long long)(a->at_ms ? a->at_ms : zq_now_ms()));
    if (n < 0 || (size_t)n >= sizeof(at))
        return zq_err_set(err, ZQ_EINVAL, "audit: bad time");
    if (zq_store_key(st, key, sizeof(key), "audit") < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "audit: key prefix too long");
    r = zq_store_commandv(st, err, 19,
                          (const char *[]){"XADD", key, "*", "at_ms", at, "who", nz(a->who), "role",
                                           nz(a->role), "action", nz(a->action), "target",
                                           nz(a->target), "addr", nz(a->addr), "detail",
                                           nz(a->detail), "rid", nz(a->rid)},
                          NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR)
        rc = zq_err_set(err, ZQ_EREPLY, "audit: %s", r->str);
    freeReplyObject(r);
    return rc;
}

bool zq_audit_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n > 0 && n < ZQ_AUDIT_ID_MAX && strspn(s, "0123456789-") == n;
}

int zq_audit_list(zq_store *st, const char *before, long long limit, json_t *list,
                  char last[ZQ_AUDIT_ID_MAX], zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX];
    redisReply *r;
    size_t i, j;
    int n;

    last[0] = '\0';
    if (zq_store_key(st, key, sizeof(key), "audit") < 0)
        return zq_err_set(err, ZQ_EINVAL, "audit: key prefix too long");
    if (before != NULL && *before != '\0') {
        if (!zq_audit_id_valid(before))
            return zq_err_set(err, ZQ_EINVAL, "audit: bad entry id");
        r = zq_store_command(st, err, "XREVRANGE %s (%s - COUNT %lld", key, before, limit);
    } else {
        r = zq_store_command(st, err, "XREVRANGE %s + - COUNT %lld", key, limit);
    }
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ARRAY)
        for (i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            json_t *o;
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            o = json_pack("{s:s}", "id", e->element[0]->str);
            for (j = 0; j + 1 < e->element[1]->elements; j += 2)
                json_object_set_new(o, e->element[1]->element[j]->str,
                                    json_stringn(e->element[1]->element[j + 1]->str,
                                                 e->element[1]->element[j + 1]->len));
            n = snprintf(last, ZQ_AUDIT_ID_MAX, "%s", e->element[0]->str);
            if (n < 0 || n >= ZQ_AUDIT_ID_MAX)
                last[0] = '\0'; /* not an id Redis writes: no next page from it */
            json_array_append_new(list, o);
        }
    freeReplyObject(r);
    return 0;
}

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
    char at[24];
    redisReply *r;
    int n, rc = 0;

    n = snprintf(at, sizeof(at), "%lld", (long long)(a->at_ms ? a->at_ms : zq_now_ms()));
    if (n < 0 || (size_t)n >= sizeof(at))
        return zq_err_set(err, ZQ_EINVAL, "audit: bad time");
    r = zq_store_command(st, err,
                         "XADD %saudit * at_ms %s who %s role %s action %s target %s addr %s "
                         "detail %s rid %s",
                         zq_store_prefix(st), at, nz(a->who), nz(a->role), nz(a->action),
                         nz(a->target), nz(a->addr), nz(a->detail), nz(a->rid));
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
    redisReply *r;
    size_t i, j;
    int n;

    last[0] = '\0';
    if (before != NULL && *before != '\0') {
        if (!zq_audit_id_valid(before))
            return zq_err_set(err, ZQ_EINVAL, "audit: bad entry id");
        r = zq_store_command(st, err, "XREVRANGE %saudit (%s - COUNT %lld", zq_store_prefix(st),
                             before, limit);
    } else {
        r = zq_store_command(st, err, "XREVRANGE %saudit + - COUNT %lld", zq_store_prefix(st),
                             limit);
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

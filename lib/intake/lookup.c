/* The public status lookup (see include/zhuqi/lookup.h). */
#include "zhuqi/lookup.h"

#include <stdio.h>
#include <string.h>

#include "zhuqi/cases.h"

int zq_lookup_mobile(const zq_schema *s, const zq_schema_opts *o, json_t *raw, json_t **norm,
                     const char **msg)
{
    static const zq_field mobile_field = {
        .id = "mobile", .label = "手机号码", .type = ZQ_FIELD_MOBILE, .required = true};

    *msg = NULL;
    *norm = NULL;
    if (zq_field_validate(s, &mobile_field, raw, o, norm, msg) < 0 || !json_is_string(*norm)) {
        json_decref(*norm);
        *norm = NULL;
        if (*msg == NULL)
            *msg = "请填写手机号码";
        return -ZQ_EINVAL;
    }
    return 0;
}

int zq_lookup_case(zq_store *st, const zq_lookup_in *in, json_t **pub, zq_err *err)
{
    redisReply *rep[4] = {NULL, NULL, NULL, NULL};
    zq_case c;
    char key[200];
    int rc = -ZQ_ENOTFOUND, n = 2, i;

    *pub = NULL;
    if (zq_store_key(st, key, sizeof(key), "rl:lookup:%s:%lld", in->who,
                     (long long)(in->now_ms / 60000)) < 0)
        return zq_err_set(err, ZQ_EINVAL, "lookup: asker too long");
    /* One round trip: the limiter's count and the case together; the
     * case is only looked at when the count allows it. */
    zq_store_appendv(st, 2, (const char *[]){"INCR", key}, NULL);
    zq_store_appendv(st, 3, (const char *[]){"EXPIRE", key, "120"}, NULL);
    if (zq_case_load_append(st, in->id) == 0)
        n = 4;
    if (zq_store_read_replies(st, err, n, rep) < 0)
        return -ZQ_EUNAVAIL;
    for (i = 0; i < n; i++)
        if (zq_store_reply_unavailable(rep[i])) {
            /* LOADING, MISCONF...: try again later */
            rc = zq_err_set(err, ZQ_EUNAVAIL, "lookup: %s", rep[i]->str);
            goto out;
        }
    if (rep[0]->type == REDIS_REPLY_INTEGER && rep[0]->integer > in->per_minute) {
        rc = -ZQ_EBUSY;
        goto out;
    }
    if (n == 4)
        rc = zq_case_from_replies_public(rep[2], rep[3], in->id, &c, err);
    if (rc < 0) {
        rc = -ZQ_ENOTFOUND;
        goto out;
    }
    /* A wrong mobile and an unknown number look the same from outside. */
    if (!zq_ct_equal(c.mobile, strlen(c.mobile), in->mobile, strlen(in->mobile)))
        rc = -ZQ_ENOTFOUND;
    else if ((*pub = zq_case_public_json_at(in->schema, in->cal, in->lim, &c,
                                            zq_date_from_ms(in->now_ms))) == NULL)
        rc = zq_err_set(err, ZQ_ENOMEM, "lookup: out of memory");
    zq_case_clear(&c);
out:
    for (i = 0; i < 4; i++)
        if (rep[i] != NULL)
            freeReplyObject(rep[i]);
    return rc;
}

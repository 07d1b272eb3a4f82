/* The public status lookup (see include/zhuqi/lookup.h). */
#include "zhuqi/lookup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/cases.h"
#include "zhuqi/otp.h"

/* One round trip for the whole lookup: the asker's count, the case's
 * failure lock, the mobile check and, only when it matches, the case.
 * A wrong mobile counts against the case (only for a case that exists:
 * probing random numbers creates no keys); the N-th failure restarts the
 * key's clock so the lock lasts the whole lockout from then on.
 * KEYS: rate, case, case log, failures. ARGV: per_minute, mobile,
 * fail_max (0: off), lockout seconds, id valid ('1' / '0').
 * Reply: {0, hash, log} found; {1} over the rate; {2, pttl} locked;
 * {3} not found or wrong mobile. */
static zq_script lookup_script = {
    .src = "local n = redis.call('INCR', KEYS[1])\n"
           "if n == 1 then redis.call('EXPIRE', KEYS[1], 120) end\n"
           "if n > tonumber(ARGV[1]) then return {1} end\n"
           "if ARGV[5] ~= '1' then return {3} end\n"
           "local max = tonumber(ARGV[3])\n"
           "if max > 0 then\n"
           "  local f = tonumber(redis.call('GET', KEYS[4]) or '0') or 0\n"
           "  if f >= max then return {2, redis.call('PTTL', KEYS[4])} end\n"
           "end\n"
           "local m = redis.call('HGET', KEYS[2], 'mobile')\n"
           "if not m then return {3} end\n"
           "if m ~= ARGV[2] then\n"
           "  if max > 0 then\n"
           "    local f = redis.call('INCR', KEYS[4])\n"
           "    if f == 1 or f >= max then redis.call('EXPIRE', KEYS[4], ARGV[4]) end\n"
           "  end\n"
           "  return {3}\n"
           "end\n"
           "return {0, redis.call('HGETALL', KEYS[2]), redis.call('LRANGE', KEYS[3], 0, -1)}\n"};

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

int zq_lookup_case(zq_store *st, const zq_lookup_in *in, json_t **pub, int *retry_s, zq_err *err)
{
    bool valid = zq_case_id_valid(in->id);
    char k_rate[200], k_case[128], k_log[132], k_fail[160], per[16], max[16], lockout[16];
    const char *argv[9];
    redisReply *r = NULL;
    long long kind;
    zq_case c;
    int rc = -ZQ_ENOTFOUND, bad = 0;

    *pub = NULL;
    *retry_s = 0;
    if (zq_store_key(st, k_rate, sizeof(k_rate), "rl:lookup:%s:%lld", in->who,
                     (long long)(in->now_ms / 60000)) < 0)
        return zq_err_set(err, ZQ_EINVAL, "lookup: asker too long");
    /* A number of the wrong shape names no key of ours: the script
     * counts the asker and answers "not found". */
    bad |= zq_store_key(st, k_case, sizeof(k_case), "case:%s", valid ? in->id : "-");
    bad |= zq_fmt(k_log, sizeof(k_log), "%s:log", k_case);
    bad |= zq_store_key(st, k_fail, sizeof(k_fail), "lookupfail:%s", valid ? in->id : "-");
    bad |= zq_fmt(per, sizeof(per), "%d", in->per_minute);
    bad |= zq_fmt(max, sizeof(max), "%d", in->fail_max > 0 ? in->fail_max : 0);
    bad |= zq_fmt(lockout, sizeof(lockout), "%d", in->lockout_s > 0 ? in->lockout_s : 900);
    if (bad != 0)
        return zq_err_set(err, ZQ_EINVAL, "lookup: a key or argument is too long");
    argv[0] = k_rate;
    argv[1] = k_case;
    argv[2] = k_log;
    argv[3] = k_fail;
    argv[4] = per;
    argv[5] = in->mobile;
    argv[6] = max;
    argv[7] = lockout;
    argv[8] = valid ? "1" : "0";
    r = zq_store_script(st, err, &lookup_script, 4, 9, argv, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (zq_store_reply_unavailable(r)) {
        /* LOADING, MISCONF...: try again later */
        rc = zq_err_set(err, ZQ_EUNAVAIL, "lookup: %s", r->str);
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        rc = zq_err_set(err, ZQ_EREPLY, "lookup: script failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    kind = r->element[0]->integer;
    if (kind == 1) {
        *retry_s = (int)(60 - (in->now_ms / 1000) % 60); /* the next minute */
        rc = -ZQ_EBUSY;
    } else if (kind == 2) {
        long long ms = r->elements > 1 && r->element[1]->type == REDIS_REPLY_INTEGER
                           ? r->element[1]->integer
                           : 0;
        /* No TTL (-1) cannot happen; should it, the whole lockout is said. */
        *retry_s = ms > 0 ? (int)((ms + 999) / 1000) : (in->lockout_s > 0 ? in->lockout_s : 900);
        rc = -ZQ_ECONFLICT;
    } else if (kind == 0 && r->elements == 3) {
        rc = zq_case_from_replies_public(r->element[1], r->element[2], in->id, &c, err);
        if (rc < 0) {
            rc = -ZQ_ENOTFOUND;
            goto out;
        }
        /* Matched in the script; the view is built from what it read. */
        if ((*pub = zq_case_public_json_at(in->schema, in->cal, in->lim, &c,
                                           zq_date_from_ms(in->now_ms))) == NULL)
            rc = zq_err_set(err, ZQ_ENOMEM, "lookup: out of memory");
        zq_case_clear(&c);
    }
out:
    freeReplyObject(r);
    return rc;
}

int zq_lookup_by_mobile(zq_store *st, const zq_lookup_in *in, int max, json_t **list, zq_err *err)
{
    char key[96], tag[ZQ_OTP_TAG_HEX + 1], stop[16];
    redisReply *ids = NULL, **rep = NULL;
    json_t *out = NULL;
    size_t i, n = 0, sent = 0;
    int rc = 0;

    *list = NULL;
    zq_otp_mobile_tag(in->mobile, tag);
    if (zq_store_key(st, key, sizeof(key), "mobcases:%s", tag) < 0 ||
        zq_fmt(stop, sizeof(stop), "%d", max > 0 ? max - 1 : 0) < 0)
        return zq_err_set(err, ZQ_EINVAL, "lookup: key too long");
    ids = zq_store_commandv(st, err, 4, (const char *[]){"ZREVRANGE", key, "0", stop}, NULL);
    if (ids == NULL)
        return -ZQ_EUNAVAIL;
    if (ids->type == REDIS_REPLY_ERROR) {
        rc = zq_store_reply_unavailable(ids) ? zq_err_set(err, ZQ_EUNAVAIL, "lookup: %s", ids->str)
                                             : zq_err_set(err, ZQ_EREPLY, "lookup: %s", ids->str);
        goto out;
    }
    out = json_array();
    if (out == NULL || ids->type != REDIS_REPLY_ARRAY) {
        rc = zq_err_set(err, out == NULL ? ZQ_ENOMEM : ZQ_EREPLY, "lookup: unexpected reply");
        goto out;
    }
    n = ids->elements;
    rep = calloc(n * 2 + 1, sizeof(redisReply *));
    if (rep == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "lookup: out of memory");
        goto out;
    }
    /* Every case in one round trip; an id of the wrong shape is skipped. */
    for (i = 0; i < n; i++)
        if (ids->element[i]->type == REDIS_REPLY_STRING &&
            zq_case_load_append(st, ids->element[i]->str) == 0)
            sent++;
    if (sent > 0 && zq_store_read_replies(st, err, (int)(sent * 2), rep) < 0) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    for (i = 0; i < sent; i++) {
        zq_case c;
        json_t *pub;

        if (zq_case_from_replies_public(rep[2 * i], rep[2 * i + 1], "", &c, NULL) < 0)
            continue; /* deleted since: not listed */
        /* The index is the number's; the record has the last word. */
        if (strcmp(c.mobile, in->mobile) == 0 &&
            (pub = zq_case_public_json_at(in->schema, in->cal, in->lim, &c,
                                          zq_date_from_ms(in->now_ms))) != NULL)
            json_array_append_new(out, pub);
        zq_case_clear(&c);
    }
    *list = out;
    out = NULL;
out:
    for (i = 0; rep != NULL && i < sent * 2; i++)
        if (rep[i] != NULL)
            freeReplyObject(rep[i]);
    free(rep);
    json_decref(out);
    freeReplyObject(ids);
    return rc;
}

/* The public status lookup (see include/zhuqi/lookup.h). */
#include "zhuqi/lookup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/cases.h"
#include "zhuqi/jsontext.h"
#include "zhuqi/otp.h"
#include "zhuqi/summary.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define NSUM_LUA STR(ZQ_SUMMARY_NSUM)

/* One round trip for the whole lookup: the asker's count, the case's
 * failure lock, the mobile check and, only when it matches, the case.
 * A wrong mobile counts against the case (only for a case that exists:
 * probing random numbers creates no keys); the N-th failure restarts the
 * key's clock so the lock lasts the whole lockout from then on.
 * KEYS: rate, case, case log, failures. ARGV: per_minute, mobile,
 * fail_max (0: off), lockout seconds, id valid ('1' / '0').
 * Reply: {0, pack} found; {1} over the rate; {2, pttl} locked;
 * {3} not found or wrong mobile.
 * The pack (zq_store_unpack) is one string, so that the reply costs
 * three objects rather than one per field and entry: the PUB_NFIELDS
 * fields (the answers only when the case has no usable list_sum: the
 * view shows two answers, which the summary holds), then the history
 * entries. */
static zq_script lookup_script = {
    .src = ZQ_STORE_LUA_PACK
    "local n = redis.call('INCR', KEYS[1])\n"
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
    "local h = redis.call('HMGET', KEYS[2], 'id', 'form', 'status', 'created_ms',\n"
    "  'list_sum', 'files_pub', 'rating', 'rated_ms', 'rating_comment')\n"
    "local s, sep = h[5], '" ZQ_SUMMARY_SEP_LUA "'\n"
    "local v = '" ZQ_SUMMARY_VERSION "' .. sep\n"
    "if not (s and string.sub(s, 1, #v) == v and\n"
    "        select(2, string.gsub(s, sep, '')) == " NSUM_LUA ") then\n"
    "  h[10] = redis.call('HGET', KEYS[2], 'answers')\n"
    "end\n"
    "local out = {}\n"
    "for i = 1, 10 do zq_pack(out, h[i]) end\n"
    "for _, e in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do zq_pack(out, e) end\n"
    "return {0, table.concat(out)}\n"};

/* The fields of the pack, in the script's order. */
enum {
    F_ID,
    F_FORM,
    F_STATUS,
    F_CREATED,
    F_SUM,
    F_FILES,
    F_RATING,
    F_RATED,
    F_COMMENT,
    F_ANSWERS,
    PUB_NFIELDS
};

/* The value at *i of the pack p (zq_store_unpack) as a token. */
static int pack_next(const char *p, size_t n, size_t *i, zq_json_tok *t)
{
    int rc = zq_store_unpack(p, n, i, &t->s, &t->n);

    return rc < 0 ? rc : 0;
}

/* A field of the pack into dst, whole or "" (fields are bounded when
 * written; a longer one is not ours), as cases.c's loaders copy them. */
static void pack_copy(char *dst, size_t dstsz, zq_json_tok t)
{
    if (t.s == NULL || t.n >= dstsz) {
        dst[0] = '\0';
        return;
    }
    memcpy(dst, t.s, t.n);
    dst[t.n] = '\0';
}

static int64_t pack_ms(zq_json_tok t)
{
    long long v;

    return t.s != NULL && zq_parse_ll(t.s, t.n, 0, INT64_MAX, &v) == 0 ? (int64_t)v : 0;
}

/* Writes the public view of the case in the pack p. */
static int write_pack(const zq_lookup_in *in, const char *p, size_t n, zq_buf *out, zq_err *err)
{
    zq_json_tok f[PUB_NFIELDS], t;
    const char *stack_log[16], **log = stack_log;
    size_t stack_len[16], *log_len = stack_len, nlog = 0, cap = ZQ_ARRAY_LEN(stack_log), i = 0, k;
    char id[ZQ_CASE_ID_MAX], form[32], status[24], rating[24], mobile[16];
    char company[1024] = "", contact[1024] = "", *sum = NULL;
    const char *part[ZQ_SUMMARY_NSUM];
    zq_case_pubsrc src = {0};
    int rc = 0;

    for (k = 0; k < PUB_NFIELDS; k++)
        if (pack_next(p, n, &i, &f[k]) < 0)
            return zq_err_set(err, ZQ_EREPLY, "lookup: unexpected reply");
    while (i < n) {
        if (pack_next(p, n, &i, &t) < 0 || t.s == NULL) {
            rc = zq_err_set(err, ZQ_EREPLY, "lookup: unexpected reply");
            goto out;
        }
        if (nlog == cap) {
            const char **nl = malloc(2 * cap * sizeof(*nl));
            size_t *nn = malloc(2 * cap * sizeof(*nn));
            if (nl == NULL || nn == NULL) {
                free(nl);
                free(nn);
                rc = zq_err_set(err, ZQ_ENOMEM, "lookup: out of memory");
                goto out;
            }
            memcpy(nl, log, nlog * sizeof(*nl));
            memcpy(nn, log_len, nlog * sizeof(*nn));
            if (log != stack_log) {
                free(log);
                free(log_len);
            }
            log = nl;
            log_len = nn;
            cap *= 2;
        }
        log[nlog] = t.s;
        log_len[nlog++] = t.n;
    }
    pack_copy(id, sizeof(id), f[F_ID]);
    pack_copy(form, sizeof(form), f[F_FORM]);
    pack_copy(status, sizeof(status), f[F_STATUS]);
    pack_copy(rating, sizeof(rating), f[F_RATING]);
    /* Matched in the script: the case's own number is the one given. */
    pack_copy(mobile, sizeof(mobile), (zq_json_tok){in->mobile, strlen(in->mobile)});
    /* The two answers the view shows: from the summary, or (a case from
     * before it) from the answers. */
    if (f[F_SUM].s != NULL && (sum = zq_summary_split(f[F_SUM].s, f[F_SUM].n, part)) != NULL) {
        src.company_name = part[0];
        src.contact_name = part[1];
    } else {
        zq_json_tok a = f[F_ANSWERS];
        size_t vlen = 0;
        const char *v = a.s ? zq_json_member(a.s, a.n, "company_name", &vlen) : NULL;

        zq_json_decode(v, vlen, company, sizeof(company));
        v = a.s ? zq_json_member(a.s, a.n, "contact_name", &vlen) : NULL;
        zq_json_decode(v, vlen, contact, sizeof(contact));
        src.company_name = company;
        src.contact_name = contact;
    }
    src.id = id;
    src.form = form;
    src.status = status;
    src.mobile = mobile;
    src.rating = rating;
    src.created_ms = pack_ms(f[F_CREATED]);
    src.rated_ms = pack_ms(f[F_RATED]);
    src.files = f[F_FILES].s;
    src.files_len = f[F_FILES].n;
    if (f[F_COMMENT].s != NULL && f[F_COMMENT].n > 0) {
        src.rating_comment = f[F_COMMENT].s;
        src.rating_comment_len = f[F_COMMENT].n;
    }
    src.nlog = nlog;
    src.log = log;
    src.log_len = log_len;
    zq_case_public_write(out, in->schema, in->cal, in->lim, &src, zq_date_from_ms(in->now_ms));
    if (out->oom)
        rc = zq_err_set(err, ZQ_ENOMEM, "lookup: out of memory");
out:
    free(sum);
    if (log != stack_log) {
        free(log);
        free(log_len);
    }
    return rc;
}

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

/* a b c d e into dst, whole, or -ZQ_ETOOBIG: the lookup's keys (what
 * zq_store_key would make of the prefix and the rest) without a printf
 * for each. */
static int cat(char *dst, size_t dstsz, const char *a, const char *b, const char *c, const char *d,
               const char *e)
{
    const char *part[5] = {a, b, c, d, e};
    size_t o = 0, i;

    for (i = 0; i < 5; i++) {
        size_t n = strlen(part[i]);
        if (n >= dstsz - o)
            return -ZQ_ETOOBIG;
        memcpy(dst + o, part[i], n);
        o += n;
    }
    dst[o] = '\0';
    return 0;
}

int zq_lookup_case_write(zq_store *st, const zq_lookup_in *in, zq_buf *out, int *retry_s,
                         zq_err *err)
{
    bool valid = zq_case_id_valid(in->id);
    char k_rate[200], k_case[128], k_log[132], k_fail[160], per[24], max[24], lockout[24],
        minute[24];
    const char *argv[9], *pfx = zq_store_prefix(st);
    redisReply *r = NULL;
    long long kind;
    int rc = -ZQ_ENOTFOUND, bad = 0;

    *retry_s = 0;
    zq_dec(per, in->per_minute);
    zq_dec(max, in->fail_max > 0 ? in->fail_max : 0);
    zq_dec(lockout, in->lockout_s > 0 ? in->lockout_s : 900);
    zq_dec(minute, in->now_ms / 60000);
    if (cat(k_rate, sizeof(k_rate), pfx, "rl:lookup:", in->who, ":", minute) < 0)
        return zq_err_set(err, ZQ_EINVAL, "lookup: asker too long");
    /* A number of the wrong shape names no key of ours: the script
     * counts the asker and answers "not found". */
    bad |= cat(k_case, sizeof(k_case), pfx, "case:", valid ? in->id : "-", "", "");
    bad |= cat(k_log, sizeof(k_log), k_case, ":log", "", "", "");
    bad |= cat(k_fail, sizeof(k_fail), pfx, "lookupfail:", valid ? in->id : "-", "", "");
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
    } else if (kind == 0 && r->elements == 2 && r->element[1]->type == REDIS_REPLY_STRING) {
        /* Matched in the script; the view is written from what it read. */
        rc = write_pack(in, r->element[1]->str, r->element[1]->len, out, err);
    }
out:
    freeReplyObject(r);
    return rc;
}

int zq_lookup_case(zq_store *st, const zq_lookup_in *in, json_t **pub, int *retry_s, zq_err *err)
{
    zq_buf b = {0};
    int rc;

    *pub = NULL;
    rc = zq_lookup_case_write(st, in, &b, retry_s, err);
    if (rc == 0 && (*pub = json_loadb(b.data, b.len, 0, NULL)) == NULL)
        rc = zq_err_set(err, ZQ_ENOMEM, "lookup: out of memory");
    zq_buf_free(&b);
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

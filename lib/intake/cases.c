/* Cases in Redis. One Lua script creates a case atomically: the
 * idempotency check, the per-day number, the record, its history, the
 * indexes, the duplicate mark and the event for zhuqi-bot, so a 2xx can
 * only follow a case that is fully stored, and a retry finds it. With
 * replicas, the 2xx also waits until one has the case (zq_store_wait); a
 * retry that finds the case rewrites its idempotency key unchanged, so
 * that its own WAIT covers the case too.
 *
 * Keys (prefix omitted):
 *   case:{id}                hash: the record, with the staff list's
 *                            packs list_sum and list_row (summary.h)
 *   case:{id}:log            list: status history, JSON entries
 *   cases:all                zset by creation time (ms)
 *   cases:type:{form}        zset
 *   cases:status:{status}    zset
 *   cases:region:{code}      zset
 *   seq:{TS20261126}         counter of the day, expires after 3 days
 *   idem:{form}:{key}        the case an Idempotency-Key created; the case
 *                            keeps the submitter's mark (idem_owner) so a
 *                            replay from elsewhere is refused
 *   dup:{sha1}               first case with the same complainant code,
 *                            respondent and amount, for the window
 *   events                   stream read by zhuqi-bot
 *   quota:{kind}:{who}:{day} cases stored today (Beijing) per client
 *                            (ip, by zq_client_key), mobile and uscc;
 *                            2 days
 *   mobcases:{tag}           zset by creation time: every case filed with
 *                            the mobile whose zq_otp_mobile_tag is tag
 *                            (cases from before it have no entry)
 *   files:pending            uploads not yet in a case (files.h): the
 *                            case's own leave it in the same script,
 *                            and its public list goes into files_pub
 * The script touches keys of several hash slots: Redis Cluster would need
 * the case keys tagged by day; see docs/ARCHITECTURE.md. */
#include "zhuqi/cases.h"

#include <ctype.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zhuqi/buf.h"
#include "zhuqi/jsontext.h"
#include "zhuqi/log.h"
#include "zhuqi/otp.h"
#include "zhuqi/summary.h"
#include "zhuqi/workflow.h"

static zq_script create_script = {
    .src = "local existing = redis.call('GET', KEYS[1])\n"
           "if existing then\n"
           "  redis.call('SET', KEYS[1], existing, 'KEEPTTL')\n"
           "  local d = redis.call('HGET', ARGV[1] .. 'case:' .. existing, 'dup_of') or ''\n"
           "  return {existing, 0, d}\n"
           "end\n"
           /* The uploads must still be this draft's: a draft resumed on
            * another device took them (zq_files_take), and a case naming
            * them here would lose them to that session's sweep. */
           "for m in string.gmatch(ARGV[16], '%S+') do\n"
           "  if not redis.call('ZSCORE', ARGV[1] .. 'files:pending', m) then\n"
           "    return {'', 3, ''}\n"
           "  end\n"
           "end\n"
           /* The quotas count stored cases only: checked before anything
            * is written (no number used up), counted after. */
           "for i = 0, 2 do\n"
           "  local lim = tonumber(ARGV[13 + i]) or 0\n"
           "  if lim > 0 and (tonumber(redis.call('GET', KEYS[9 + i]) or '0') or 0) >= lim then\n"
           "    return {'', 2, '', i}\n"
           "  end\n"
           "end\n"
           "local n = redis.call('INCR', KEYS[2])\n"
           "if n == 1 then redis.call('EXPIRE', KEYS[2], 259200) end\n"
           "local id = ARGV[2] .. '-' .. string.format('%04d', n)\n"
           "local ck = ARGV[1] .. 'case:' .. id\n" ZQ_SUMMARY_LUA_PACK_ROW "local dup = ''\n"
           "if ARGV[10] ~= '0' then\n"
           "  dup = redis.call('GET', KEYS[3]) or ''\n"
           "  if dup == '' then redis.call('SET', KEYS[3], id, 'EX', ARGV[10]) end\n"
           "end\n"
           "redis.call('HSET', ck, 'id', id, 'form', ARGV[4], 'status', 'submitted',\n"
           "  'created_ms', ARGV[3], 'updated_ms', ARGV[3], 'answers', ARGV[5],\n"
           "  'mobile', ARGV[6], 'region', ARGV[7], 'source', ARGV[8], 'dup_of', dup,\n"
           "  'idem_owner', ARGV[12])\n"
           "if ARGV[11] ~= '' then redis.call('HSET', ck, 'list_sum', ARGV[11]) end\n"
           "if ARGV[17] ~= '' then redis.call('HSET', ck, 'files_pub', ARGV[17]) end\n"
           "zq_pack_row(ck)\n"
           "redis.call('RPUSH', ck .. ':log', cjson.encode({at_ms = tonumber(ARGV[3]),\n"
           "  from = '', to = 'submitted', by = ARGV[8], note = ''}))\n"
           "redis.call('ZADD', KEYS[4], ARGV[3], id)\n"
           "redis.call('ZADD', KEYS[5], ARGV[3], id)\n"
           "redis.call('ZADD', KEYS[6], ARGV[3], id)\n"
           "redis.call('ZADD', KEYS[7], ARGV[3], id)\n"
           "redis.call('SET', KEYS[1], id, 'EX', ARGV[9])\n"
           "redis.call('XADD', KEYS[8], 'MAXLEN', '~', '100000', '*', 'type', 'case_created',\n"
           "  'id', id, 'form', ARGV[4], 'region', ARGV[7], 'source', ARGV[8], 'dup_of', dup)\n"
           /* Every case of a number, for the lookup by mobile + SMS code. */
           "if ARGV[6] ~= '' then redis.call('ZADD', KEYS[12], ARGV[3], id) end\n"
           /* The uploads are the case's now: the sweep of abandoned
            * drafts must not take them. */
           "for m in string.gmatch(ARGV[16], '%S+') do\n"
           "  redis.call('ZREM', ARGV[1] .. 'files:pending', m)\n"
           "end\n"
           "for i = 0, 2 do\n"
           "  if (tonumber(ARGV[13 + i]) or 0) > 0 and redis.call('INCR', KEYS[9 + i]) == 1 then\n"
           "    redis.call('EXPIRE', KEYS[9 + i], 172800)\n"
           "  end\n"
           "end\n"
           "return {id, 1, dup}\n"};

static const char *const quota_names[] = {"ip", "mobile", "uscc"};

/* "TS20261126" for a form and a time. */
static void day_prefix(const zq_form *f, int64_t ms, char out[24])
{
    zq_date d = zq_date_from_ms(ms);

    if (snprintf(out, 24, "%.4s%04d%02d%02d", f->case_prefix, d.y, d.m, d.d) >= 24)
        out[0] = '\0'; /* cannot happen: 4 + 8 characters */
}

static const char *str_answer(json_t *answers, const char *key)
{
    const char *s = json_string_value(json_object_get(answers, key));
    return s ? s : "";
}

/* The duplicate fingerprint: complainant code, respondent and amount.
 * Returns false when the form has no such fields. */
static bool dup_fingerprint(json_t *answers, char hex[41])
{
    const char *uscc = str_answer(answers, "uscc");
    const char *resp = str_answer(answers, "respondent_name");
    json_t *amount = json_object_get(answers, "amount_fen");
    unsigned char md[SHA_DIGEST_LENGTH];
    zq_buf b = {0};

    if (*uscc == '\0' || *resp == '\0' || !json_is_integer(amount))
        return false;
    zq_buf_printf(&b, "%s|%s|%lld", uscc, resp, (long long)json_integer_value(amount));
    if (b.oom) {
        zq_buf_free(&b);
        return false;
    }
    SHA1((const unsigned char *)b.data, b.len, md);
    zq_hex(md, SHA_DIGEST_LENGTH, hex);
    zq_buf_free(&b);
    return true;
}

int zq_case_create(zq_store *st, const zq_case_new *in, char *id, bool *created, char *dup_of,
                   zq_err *err)
{
    const char *region = str_answer(in->answers, "region");
    const char *qwho[3] = {in->client, str_answer(in->answers, "mobile"),
                           str_answer(in->answers, "uscc")};
    int qlim[3] = {in->quota_ip, in->quota_mobile, in->quota_uscc};
    char k_idem[200], k_seq[64], k_dup[96], k_all[64], k_type[96], k_status[96], k_region[96],
        k_events[64], k_quota[3][160], qarg[3][16], k_mob[96], tag[ZQ_OTP_TAG_HEX + 1];
    char day[24], now[24], idem_ttl[16], dup_ttl[16], fp[41];
    char *answers = NULL;
    zq_date today = zq_date_from_ms(in->now_ms);
    int bad = 0, i;
    const char *argv[29];
    zq_summary sum;
    zq_buf packed = {0};
    redisReply *r = NULL;
    int rc = 0;

    if (*region == '\0')
        region = "none";
    answers = json_dumps(in->answers, JSON_COMPACT);
    if (answers == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "case: cannot encode answers");
    day_prefix(in->form, in->now_ms, day);
    /* Every key and argument whole, or nothing is sent. */
    bad |= zq_store_key(st, k_idem, sizeof(k_idem), "idem:%s:%s", in->form->id, in->idem_key);
    bad |= zq_store_key(st, k_seq, sizeof(k_seq), "seq:%s", day);
    bad |= zq_store_key(st, k_all, sizeof(k_all), "cases:all");
    bad |= zq_store_key(st, k_type, sizeof(k_type), "cases:type:%s", in->form->id);
    bad |= zq_store_key(st, k_status, sizeof(k_status), "cases:status:submitted");
    bad |= zq_store_key(st, k_region, sizeof(k_region), "cases:region:%s", region);
    bad |= zq_store_key(st, k_events, sizeof(k_events), "events");
    bad |= zq_fmt(now, sizeof(now), "%lld", (long long)in->now_ms);
    bad |= zq_fmt(idem_ttl, sizeof(idem_ttl), "%d", in->idem_ttl_s > 0 ? in->idem_ttl_s : 604800);
    if (in->dup_window_days > 0 && dup_fingerprint(in->answers, fp)) {
        bad |= zq_store_key(st, k_dup, sizeof(k_dup), "dup:%s", fp);
        bad |= zq_fmt(dup_ttl, sizeof(dup_ttl), "%d", in->dup_window_days * 86400);
    } else {
        bad |= zq_store_key(st, k_dup, sizeof(k_dup), "dup:none");
        bad |= zq_fmt(dup_ttl, sizeof(dup_ttl), "0");
    }
    /* A quota without a subject (no client address, no code given) is
     * off for this case; its key is then a placeholder never written. */
    for (i = 0; i < 3; i++) {
        bool on = qlim[i] > 0 && qwho[i] != NULL && qwho[i][0] != '\0';
        bad |= zq_store_key(st, k_quota[i], sizeof(k_quota[i]), "quota:%s:%s:%04d%02d%02d",
                            quota_names[i], on ? qwho[i] : "-", today.y, today.m, today.d);
        bad |= zq_fmt(qarg[i], sizeof(qarg[i]), "%d", on ? qlim[i] : 0);
    }
    /* Without a number the key is a placeholder the script leaves alone. */
    zq_otp_mobile_tag(qwho[1], tag);
    bad |= zq_store_key(st, k_mob, sizeof(k_mob), "mobcases:%s", qwho[1][0] ? tag : "none");
    if (bad != 0) {
        rc = zq_err_set(err, ZQ_ETOOBIG, "case: a key or argument is too long");
        goto out;
    }

    argv[0] = k_idem;
    argv[1] = k_seq;
    argv[2] = k_dup;
    argv[3] = k_all;
    argv[4] = k_type;
    argv[5] = k_status;
    argv[6] = k_region;
    argv[7] = k_events;
    argv[8] = k_quota[0];
    argv[9] = k_quota[1];
    argv[10] = k_quota[2];
    argv[11] = k_mob;
    argv[12] = zq_store_prefix(st);
    argv[13] = day;
    argv[14] = now;
    argv[15] = in->form->id;
    argv[16] = answers;
    argv[17] = str_answer(in->answers, "mobile");
    argv[18] = region;
    argv[19] = in->source;
    argv[20] = idem_ttl;
    argv[21] = dup_ttl;
    /* The staff list's columns from the answers (summary.h); without
     * them the case is listed from its answers. */
    zq_summary_from_answers(in->form->id, in->answers, &sum);
    argv[22] = zq_summary_pack(&sum, &packed) == 0 ? packed.data : "";
    argv[23] = in->owner ? in->owner : "";
    argv[24] = qarg[0];
    argv[25] = qarg[1];
    argv[26] = qarg[2];
    argv[27] = in->files_pending ? in->files_pending : "";
    argv[28] = in->files_pub ? in->files_pub : "";
    r = zq_store_script(st, err, &create_script, 12, 29, argv, NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (zq_store_reply_unavailable(r)) {
        /* MISCONF (disk full), OOM, READONLY...: nothing was written. */
        rc = zq_err_set(err, ZQ_EUNAVAIL, "case: redis refuses writes: %s", r->str);
        goto out;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
        r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer == 2 &&
        r->element[3]->type == REDIS_REPLY_INTEGER && r->element[3]->integer >= 0 &&
        r->element[3]->integer < 3) {
        /* A quota is full: nothing was written. */
        memcpy(id, quota_names[r->element[3]->integer],
               strlen(quota_names[r->element[3]->integer]) + 1);
        *created = false;
        if (dup_of != NULL)
            dup_of[0] = '\0';
        rc = -ZQ_EBUSY;
        goto out;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer == 3) {
        rc = zq_err_set(err, ZQ_ECONFLICT, "case: the draft's uploads have moved");
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        rc = zq_err_set(err, ZQ_EREPLY, "case: script failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    if (zq_fmt(id, ZQ_CASE_ID_MAX, "%s", r->element[0]->str) < 0) {
        rc = zq_err_set(err, ZQ_EREPLY, "case: script answered an id too long");
        goto out;
    }
    *created = r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer == 1;
    /* Only a hint for staff: a duplicate that does not fit is left out. */
    if (dup_of != NULL &&
        zq_fmt(dup_of, ZQ_CASE_ID_MAX, "%s",
               r->element[2]->type == REDIS_REPLY_STRING ? r->element[2]->str : "") < 0)
        dup_of[0] = '\0';
    /* Stored on the master; not acknowledged before a replica has it. */
    rc = zq_store_wait(st, err);
out:
    if (r != NULL)
        freeReplyObject(r);
    zq_buf_free(&packed);
    free(answers);
    return rc;
}

void zq_case_owner(const char *who, char out[ZQ_CASE_OWNER_LEN + 1])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    zq_buf b = {0};

    zq_buf_printf(&b, "owner:%s", who);
    /* Out of memory: a mark no submitter has, so the replay is refused
     * rather than shown to anyone. */
    if (b.oom)
        memset(md, 0xff, sizeof(md));
    else
        SHA256((const unsigned char *)b.data, b.len, md);
    zq_buf_free(&b);
    zq_hex(md, ZQ_CASE_OWNER_LEN / 2, out);
}

bool zq_case_owner_matches(const zq_case *c, const char *owner)
{
    size_t n = strlen(c->owner);

    if (n == 0)
        return true;
    return owner != NULL && zq_ct_equal(c->owner, n, owner, strlen(owner));
}

const char *zq_case_quota_message(const char *quota)
{
    if (strcmp(quota, "ip") == 0)
        return "今天从您所在网络提交的案件已达上限，请于明天（北京时间 0 点以后）再提交。";
    if (strcmp(quota, "mobile") == 0)
        return "今天使用该手机号码提交的案件已达上限，请于明天（北京时间 0 点以后）再提交。";
    if (strcmp(quota, "uscc") == 0)
        return "今天该统一社会信用代码提交的案件已达上限，请于明天（北京时间 0 点以后）再提交。";
    return "今天提交的案件已达上限，请于明天（北京时间 0 点以后）再提交。";
}

int zq_case_quota_retry_s(int64_t now_ms)
{
    int64_t s = now_ms / 1000 + ZQ_BEIJING_OFFSET_S;

    return (int)(86400 - s % 86400);
}

bool zq_case_id_valid(const char *id)
{
    size_t n = strlen(id), i;

    /* Two capitals, eight digits, a dash, four or more digits. */
    if (n < 15 || n >= ZQ_CASE_ID_MAX)
        return false;
    if (!isupper((unsigned char)id[0]) || !isupper((unsigned char)id[1]) || id[10] != '-')
        return false;
    for (i = 2; i < n; i++)
        if (i != 10 && !isdigit((unsigned char)id[i]))
            return false;
    return true;
}

/* A field of a case hash into dst, whole or "" (fields are bounded when
 * written; a longer one is not ours). */
static void copy_field(char *dst, size_t dstsz, const redisReply *v)
{
    if (v->type != REDIS_REPLY_STRING || v->len >= dstsz) {
        dst[0] = '\0';
        return;
    }
    memcpy(dst, v->str, v->len);
    dst[v->len] = '\0';
}

int zq_case_load(zq_store *st, const char *id, zq_case *out, zq_err *err)
{
    redisReply *rep[2] = {NULL, NULL};
    int rc;

    memset(out, 0, sizeof(*out));
    if (zq_case_load_append(st, id) < 0)
        return zq_err_set(err, ZQ_ENOTFOUND, "case: bad id");
    if (zq_store_read_replies(st, err, 2, rep) < 0)
        return zq_err_set(err, ZQ_EUNAVAIL, "case: storage unavailable");
    rc = zq_case_from_replies(rep[0], rep[1], id, out, err);
    freeReplyObject(rep[0]);
    freeReplyObject(rep[1]);
    return rc;
}

int zq_case_find_idem(zq_store *st, const char *form, const char *key, char id[ZQ_CASE_ID_MAX],
                      zq_err *err)
{
    char k[200];
    redisReply *r;
    int rc = -ZQ_ENOTFOUND;

    if (zq_store_key(st, k, sizeof(k), "idem:%s:%s", form, key) < 0)
        return -ZQ_ENOTFOUND;
    r = zq_store_commandv(st, err, 2, (const char *[]){"GET", k}, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_STRING && r->len < ZQ_CASE_ID_MAX) {
        memcpy(id, r->str, r->len + 1);
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

int zq_case_load_append(zq_store *st, const char *id)
{
    char key[128], log[132];

    if (!zq_case_id_valid(id))
        return -ZQ_ENOTFOUND;
    if (zq_store_key(st, key, sizeof(key), "case:%s", id) < 0 ||
        zq_fmt(log, sizeof(log), "%s:log", key) < 0)
        return -ZQ_ENOTFOUND;
    zq_store_appendv(st, 2, (const char *[]){"HGETALL", key}, NULL);
    zq_store_appendv(st, 4, (const char *[]){"LRANGE", log, "0", "-1"}, NULL);
    return 0;
}

/* The two answers of the public view from a list_sum pack; NULL when the
 * pack cannot be used. */
static json_t *public_answers(const redisReply *sum)
{
    const char *part[ZQ_SUMMARY_NSUM];
    char *t;
    json_t *out;

    if (sum == NULL || sum->type != REDIS_REPLY_STRING)
        return NULL;
    t = zq_summary_split(sum->str, sum->len, part);
    if (t == NULL)
        return NULL;
    out = json_pack("{s:s, s:s}", "company_name", part[0], "contact_name", part[1]);
    free(t);
    return out;
}

static int from_replies(const redisReply *h, const redisReply *l, const char *id, zq_case *out,
                        zq_err *err, bool public_only)
{
    const redisReply *answers = NULL, *sum = NULL;
    size_t i;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (h->type != REDIS_REPLY_ARRAY || l->type != REDIS_REPLY_ARRAY) {
        rc = zq_err_set(err, ZQ_EREPLY, "case: unexpected reply");
        goto out;
    }
    if (h->elements == 0) {
        rc = zq_err_set(err, ZQ_ENOTFOUND, "case %s not found", id);
        goto out;
    }
    for (i = 0; i + 1 < h->elements; i += 2) {
        const char *k = h->element[i]->str;
        const redisReply *v = h->element[i + 1];
        long long n;

        if (strcmp(k, "id") == 0)
            copy_field(out->id, sizeof(out->id), v);
        else if (strcmp(k, "form") == 0)
            copy_field(out->form, sizeof(out->form), v);
        else if (strcmp(k, "status") == 0)
            copy_field(out->status, sizeof(out->status), v);
        else if (strcmp(k, "mobile") == 0)
            copy_field(out->mobile, sizeof(out->mobile), v);
        else if (strcmp(k, "region") == 0)
            copy_field(out->region, sizeof(out->region), v);
        else if (strcmp(k, "source") == 0)
            copy_field(out->source, sizeof(out->source), v);
        else if (strcmp(k, "dup_of") == 0)
            copy_field(out->dup_of, sizeof(out->dup_of), v);
        else if (strcmp(k, "idem_owner") == 0)
            copy_field(out->owner, sizeof(out->owner), v);
        else if (strcmp(k, "created_ms") == 0 && zq_parse_ll(v->str, v->len, 0, INT64_MAX, &n) == 0)
            out->created_ms = n;
        else if (strcmp(k, "updated_ms") == 0 && zq_parse_ll(v->str, v->len, 0, INT64_MAX, &n) == 0)
            out->updated_ms = n;
        else if (strcmp(k, "answers") == 0 && v->type == REDIS_REPLY_STRING)
            answers = v;
        else if (strcmp(k, "list_sum") == 0)
            sum = v;
        else if (strcmp(k, "files_pub") == 0 && v->type == REDIS_REPLY_STRING)
            out->files = json_loadb(v->str, v->len, 0, NULL);
        else if (strcmp(k, "rating") == 0)
            copy_field(out->rating, sizeof(out->rating), v);
        else if (strcmp(k, "rated_ms") == 0 && zq_parse_ll(v->str, v->len, 0, INT64_MAX, &n) == 0)
            out->rated_ms = n;
        else if (strcmp(k, "rating_comment") == 0 && v->type == REDIS_REPLY_STRING && v->len > 0)
            out->rating_comment = strndup(v->str, v->len);
        else if (strcmp(k, "files_more") == 0 && v->type == REDIS_REPLY_STRING && !public_only)
            out->files_more = json_loadb(v->str, v->len, 0, NULL);
    }
    if (public_only)
        out->answers = public_answers(sum);
    if (out->answers == NULL && answers != NULL)
        out->answers = json_loadb(answers->str, answers->len, 0, NULL);
    if (out->answers == NULL)
        out->answers = json_object();
    out->history = json_array();
    for (i = 0; i < l->elements; i++) {
        json_t *e = json_loadb(l->element[i]->str, l->element[i]->len, 0, NULL);
        if (e != NULL)
            json_array_append_new(out->history, e);
    }
out:
    if (rc < 0)
        zq_case_clear(out);
    return rc;
}

int zq_case_from_replies(const redisReply *h, const redisReply *l, const char *id, zq_case *out,
                         zq_err *err)
{
    return from_replies(h, l, id, out, err, false);
}

int zq_case_from_replies_public(const redisReply *h, const redisReply *l, const char *id,
                                zq_case *out, zq_err *err)
{
    return from_replies(h, l, id, out, err, true);
}

void zq_case_clear(zq_case *c)
{
    json_decref(c->answers);
    json_decref(c->history);
    json_decref(c->files);
    json_decref(c->files_more);
    c->files_more = NULL;
    free(c->rating_comment);
    c->rating_comment = NULL;
    c->answers = NULL;
    c->history = NULL;
    c->files = NULL;
}

static const struct {
    const char *status;
    const char *label;
} labels[] = {
    {"submitted", "已提交"},  {"needs_info", "待补充材料"}, {"accepted", "已受理"},
    {"rejected", "不予受理"}, {"transferred", "已转办"},    {"in_progress", "办理中"},
    {"answered", "已答复"},   {"closed", "已办结"},         {"withdrawn", "已撤回"},
    {"assigned", "已分派"},
};

const char *zq_case_status_label(const char *status)
{
    size_t i;

    for (i = 0; i < ZQ_ARRAY_LEN(labels); i++)
        if (strcmp(labels[i].status, status) == 0)
            return labels[i].label;
    return status;
}

/* ---- the public view, written as text ----------------------------------
 * The lookup is a hot path: the view is written straight into the
 * answer's buffer from the stored texts, and the json_t forms below are
 * read back from the same text, so that there is one writer. */

/* What the view reads of one history entry: the deadline's members (see
 * zq_wf_entry_from_toks), then these. */
static const char *const entry_keys[] = {ZQ_WF_ENTRY_KEYS, "note", "message", "public",
                                         "supplement"};
enum { E_NOTE = ZQ_WF_ENTRY_NKEYS, E_MESSAGE, E_PUBLIC, E_SUPPLEMENT, E_NKEYS };

typedef struct pub_entry {
    zq_wf_entry wf;
    zq_json_tok to, note, message, pub, supplement;
} pub_entry;

/* A string token as it is, or "" for anything else (json_string_value
 * with a default). */
static void put_tok_str(zq_buf *b, zq_json_tok t)
{
    if (zq_json_tok_is_string(t))
        zq_jsonw_raw(b, t.s, t.n);
    else
        ZQ_JSONW_LIT(b, "\"\"");
}

/* Calls fn for each element of the JSON array t (nothing when t is not
 * an array, as json_array_foreach), with its index. */
static void each_element(zq_json_tok t, void (*fn)(zq_buf *, zq_json_tok, size_t), zq_buf *b)
{
    size_t k = 0;

    size_t i, n = t.n;

    if (t.s == NULL || n == 0 || t.s[0] != '[')
        return;
    i = zq_json_ws(t.s, n, 1);
    while (i < n && t.s[i] != ']') {
        size_t ve = zq_json_skip(t.s, n, i);

        if (ve > n)
            return;
        fn(b, (zq_json_tok){t.s + i, ve - i}, k++);
        i = zq_json_ws(t.s, n, ve);
        if (i < n && t.s[i] == ',')
            i = zq_json_ws(t.s, n, i + 1);
    }
}

/* One file of a supplement: {kind (its label), name, size}. */
static void put_supplement_file(zq_buf *b, zq_json_tok f, size_t k)
{
    static const char *const keys[] = {"kind_label", "name", "size"};
    zq_json_tok t[3];
    long long size = 0;

    zq_json_members(f.s, f.n, keys, 3, t);
    if (k > 0)
        ZQ_JSONW_LIT(b, ",");
    ZQ_JSONW_LIT(b, "{\"kind\":");
    put_tok_str(b, t[0]);
    ZQ_JSONW_LIT(b, ",\"name\":");
    put_tok_str(b, t[1]);
    ZQ_JSONW_LIT(b, ",\"size\":");
    if (!zq_json_tok_int(t[2], &size))
        size = 0;
    zq_jsonw_int(b, size);
    ZQ_JSONW_LIT(b, "}");
}

/* The enterprise's answer in a history entry (supplement.h) for the
 * public view: its text and the files' {kind (label), name, size}. */
static void put_supplement_public(zq_buf *b, zq_json_tok sup)
{
    static const char *const keys[] = {"text", "files"};
    zq_json_tok t[2];

    zq_json_members(sup.s, sup.n, keys, 2, t);
    ZQ_JSONW_LIT(b, "{\"text\":");
    put_tok_str(b, t[0]);
    ZQ_JSONW_LIT(b, ",\"files\":[");
    each_element(t[1], put_supplement_file, b);
    ZQ_JSONW_LIT(b, "]}");
}

/* Reads the history texts into e[]; returns how many are objects. */
static size_t read_entries(const zq_case_pubsrc *c, pub_entry *e)
{
    size_t i, n = 0;

    for (i = 0; i < c->nlog; i++) {
        zq_json_tok t[E_NKEYS];

        if (zq_json_members(c->log[i], c->log_len[i], entry_keys, E_NKEYS, t) < 0)
            continue;
        zq_wf_entry_from_toks(t, &e[n].wf);
        e[n].to = t[2];
        e[n].note = t[E_NOTE];
        e[n].message = t[E_MESSAGE];
        e[n].pub = t[E_PUBLIC];
        e[n].supplement = t[E_SUPPLEMENT];
        n++;
    }
    return n;
}

static void put_history(zq_buf *b, const pub_entry *e, size_t n)
{
    bool first = true;
    size_t i;

    ZQ_JSONW_LIT(b, "[");
    for (i = 0; i < n; i++) {
        const zq_wf_entry *w = &e[i].wf;
        const char *label;
        zq_json_tok note = {NULL, 0};

        if (!w->has_to || (w->has_kind && strcmp(w->kind, "status") != 0))
            continue;
        if (!first)
            ZQ_JSONW_LIT(b, ",");
        first = false;
        ZQ_JSONW_LIT(b, "{\"status\":");
        zq_jsonw_raw(b, e[i].to.s, e[i].to.n);
        ZQ_JSONW_LIT(b, ",\"label\":");
        label = zq_case_status_label(w->to);
        if (label == w->to)
            zq_jsonw_raw(b, e[i].to.s, e[i].to.n); /* unknown: the status itself, whole */
        else
            zq_jsonw_str(b, label);
        ZQ_JSONW_LIT(b, ",\"at\":");
        zq_jsonw_time_iso(b, w->at_integer ? w->at_ms : 0);
        /* Only the message written for the enterprise is public: the
         * note of a move is internal. Entries from before the two were
         * separate have no "message"; their note was public when marked
         * so. */
        if (e[i].message.s != NULL)
            note = e[i].message;
        else if (e[i].pub.s != NULL && e[i].pub.n == 4 && memcmp(e[i].pub.s, "true", 4) == 0)
            note = e[i].note;
        if (zq_json_tok_is_string(note) && note.n > 2) {
            ZQ_JSONW_LIT(b, ",\"note\":");
            zq_jsonw_raw(b, note.s, note.n);
        }
        /* The enterprise's own answer to a request for more material. */
        if (e[i].supplement.s != NULL) {
            ZQ_JSONW_LIT(b, ",\"supplement\":");
            put_supplement_public(b, e[i].supplement);
        }
        ZQ_JSONW_LIT(b, "}");
    }
    ZQ_JSONW_LIT(b, "]");
}

/* True when the files text is an array with something in it. */
static bool files_listed(const zq_case_pubsrc *c)
{
    size_t i;

    if (c->files == NULL || c->files_len < 2 || c->files[0] != '[')
        return false;
    i = zq_json_ws(c->files, c->files_len, 1);
    return i < c->files_len && c->files[i] != ']';
}

/* What the office asked for of a case in needs_info, for the enterprise:
 * the message, when, and the date to supply it by. */
static void put_supplement_request(zq_buf *b, const zq_case_pubsrc *c, const pub_entry *e, size_t n,
                                   const zq_deadline *d, zq_date today)
{
    const pub_entry *last = NULL;
    size_t i;

    /* The last entry into needs_info, as zq_wf_last_request finds it. */
    for (i = 0; i < n; i++) {
        const zq_wf_entry *w = &e[i].wf;
        if (w->at_ms >= 0 && (!w->has_kind || strcmp(w->kind, "status") == 0) && w->has_to &&
            strcmp(w->to, "needs_info") == 0)
            last = &e[i];
    }
    ZQ_JSONW_LIT(b, "{\"message\":");
    put_tok_str(b, last ? last->message : (zq_json_tok){NULL, 0});
    ZQ_JSONW_LIT(b, ",\"requested_at\":");
    zq_jsonw_time_iso(b, last != NULL && last->wf.at_ms > 0 ? last->wf.at_ms : c->created_ms);
    ZQ_JSONW_LIT(b, ",\"supply_by\":");
    zq_jsonw_date(b, d->due);
    ZQ_JSONW_LIT(b, ",\"overdue\":");
    zq_jsonw_bool(b, zq_date_cmp(today, d->due) > 0);
    ZQ_JSONW_LIT(b, "}");
}

void zq_case_public_write(zq_buf *b, const zq_schema *s, const zq_calendar *cal,
                          const struct zq_wf_limits *lim, const zq_case_pubsrc *c, zq_date today)
{
    const zq_form *f = s ? zq_schema_form(s, c->form) : NULL;
    pub_entry stack[16], *e = stack;
    char mobile[32], name[64];
    const char *rating_label = zq_wf_rating_label(c->rating);
    size_t n;

    if (c->nlog > ZQ_ARRAY_LEN(stack) && (e = malloc(c->nlog * sizeof(*e))) == NULL) {
        b->oom = true;
        return;
    }
    n = read_entries(c, e);
    zq_mask_mobile(c->mobile, mobile, sizeof(mobile));
    zq_mask_name(c->contact_name, name, sizeof(name));
    zq_buf_reserve(b, 1024);
    ZQ_JSONW_LIT(b, "{\"id\":");
    zq_jsonw_str(b, c->id);
    ZQ_JSONW_LIT(b, ",\"type\":");
    zq_jsonw_str(b, c->form);
    ZQ_JSONW_LIT(b, ",\"type_label\":");
    zq_jsonw_str(b, f ? f->title : c->form);
    ZQ_JSONW_LIT(b, ",\"status\":");
    zq_jsonw_str(b, c->status);
    ZQ_JSONW_LIT(b, ",\"status_label\":");
    zq_jsonw_str(b, zq_case_status_label(c->status));
    ZQ_JSONW_LIT(b, ",\"created_at\":");
    zq_jsonw_time_iso(b, c->created_ms);
    ZQ_JSONW_LIT(b, ",\"history\":");
    put_history(b, e, n);
    ZQ_JSONW_LIT(b, ",\"contact\":{\"company_name\":");
    zq_jsonw_str(b, c->company_name);
    ZQ_JSONW_LIT(b, ",\"contact_name\":");
    zq_jsonw_str(b, name);
    ZQ_JSONW_LIT(b, ",\"mobile\":");
    zq_jsonw_str(b, mobile);
    ZQ_JSONW_LIT(b, "}");
    /* The enterprise sees its files' names and sizes, never the bytes. */
    if (files_listed(c)) {
        ZQ_JSONW_LIT(b, ",\"files\":");
        zq_jsonw_raw(b, c->files, c->files_len);
    }
    /* What the lookup page offers (fcgi/enterprise.c checks again). */
    ZQ_JSONW_LIT(b, ",\"can_withdraw\":");
    zq_jsonw_bool(b, zq_wf_withdrawable(c->form, c->status));
    ZQ_JSONW_LIT(b, ",\"can_evaluate\":");
    zq_jsonw_bool(b, strcmp(c->status, "closed") == 0 && c->rating[0] == '\0');
    if (rating_label != NULL) {
        ZQ_JSONW_LIT(b, ",\"evaluation\":{\"rating\":");
        zq_jsonw_str(b, c->rating);
        ZQ_JSONW_LIT(b, ",\"label\":");
        zq_jsonw_str(b, rating_label);
        ZQ_JSONW_LIT(b, ",\"at\":");
        zq_jsonw_time_iso(b, c->rated_ms);
        if (c->rating_comment != NULL) {
            ZQ_JSONW_LIT(b, ",\"comment\":");
            zq_jsonw_strn(b, c->rating_comment, c->rating_comment_len);
        }
        ZQ_JSONW_LIT(b, "}");
    }
    /* No possible_duplicate here: the mark is a staff hint, and telling
     * a stranger that a number's case resembles an earlier one leaks
     * that the earlier one exists (staff views carry it, rowjson.c). */
    if (lim != NULL) {
        zq_deadline d;
        zq_wf_entry wstack[16], *w = wstack;
        size_t i;

        if (n > ZQ_ARRAY_LEN(wstack) && (w = malloc(n * sizeof(*w))) == NULL) {
            b->oom = true;
            goto out;
        }
        for (i = 0; i < n; i++)
            w[i] = e[i].wf;
        zq_wf_deadline_entries(cal, lim, c->form, c->status, w, n, c->created_ms, &d);
        if (w != wstack)
            free(w);
        ZQ_JSONW_LIT(b, ",\"deadline\":");
        zq_wf_deadline_write(b, cal, &d, c->status, today);
        if (d.clock == ZQ_WF_CLOCK_SUPPLY) {
            ZQ_JSONW_LIT(b, ",\"supplement\":");
            put_supplement_request(b, c, e, n, &d, today);
        }
    }
    ZQ_JSONW_LIT(b, "}");
out:
    if (e != stack)
        free(e);
}

/* The public view of a loaded case: its history and files written back
 * as text for the one writer above, and the result read as JSON. These
 * serve the pages after a lookup, not the lookup itself. */
json_t *zq_case_public_json_at(const zq_schema *s, const zq_calendar *cal,
                               const struct zq_wf_limits *lim, const zq_case *c, zq_date today)
{
    size_t i, n = json_array_size(c->history);
    char **log = calloc(n + 1, sizeof(*log));
    size_t *log_len = calloc(n + 1, sizeof(*log_len));
    char *files = NULL;
    zq_case_pubsrc src = {0};
    zq_buf b = {0};
    json_t *out = NULL;

    if (log == NULL || log_len == NULL)
        goto out;
    for (i = 0; i < n; i++) {
        if ((log[i] = json_dumps(json_array_get(c->history, i), JSON_COMPACT)) == NULL)
            goto out;
        log_len[i] = strlen(log[i]);
    }
    if (json_array_size(c->files) > 0 &&
        (files = json_dumps(c->files, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
        goto out;
    src.id = c->id;
    src.form = c->form;
    src.status = c->status;
    src.mobile = c->mobile;
    src.rating = c->rating;
    src.created_ms = c->created_ms;
    src.rated_ms = c->rated_ms;
    src.company_name = str_answer(c->answers, "company_name");
    src.contact_name = str_answer(c->answers, "contact_name");
    src.files = files;
    src.files_len = files ? strlen(files) : 0;
    src.rating_comment = c->rating_comment;
    src.rating_comment_len = c->rating_comment ? strlen(c->rating_comment) : 0;
    src.nlog = n;
    src.log = (const char *const *)log;
    src.log_len = log_len;
    zq_case_public_write(&b, s, cal, lim, &src, today);
    if (!b.oom)
        out = json_loadb(b.data, b.len, 0, NULL);
out:
    for (i = 0; log != NULL && i < n; i++)
        free(log[i]);
    free(log);
    free(log_len);
    free(files);
    zq_buf_free(&b);
    return out;
}

json_t *zq_case_public_json(const zq_schema *s, const zq_case *c)
{
    return zq_case_public_json_at(s, NULL, NULL, c, (zq_date){0, 0, 0});
}

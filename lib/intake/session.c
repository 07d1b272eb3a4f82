/* The web session's Redis layout (see include/zhuqi/session.h). */
#include "zhuqi/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/log.h"
#include "zhuqi/otp.h"

bool zq_session_sid_valid(const char *s)
{
    size_t i;

    if (s == NULL || strlen(s) != ZQ_SESSION_HEX)
        return false;
    for (i = 0; i < ZQ_SESSION_HEX; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* The hash's key, the draft's field and the TTL as text. */
static int names(zq_store *st, const char *sid, const char *form, int ttl_s, char key[160],
                 char field[64], char ttl[16])
{
    if (zq_store_key(st, key, 160, "sess:%s", sid) < 0 ||
        zq_fmt(field, 64, "f:%s", form ? form : "") < 0 || zq_fmt(ttl, 16, "%d", ttl_s) < 0)
        return -ZQ_EINVAL;
    return 0;
}

int zq_session_load(zq_store *st, const char *sid, const char *form, int ttl_s, zq_session *s,
                    zq_err *err)
{
    redisReply *rep[2] = {NULL, NULL};
    char key[160], field[64], ttl[16], ufield[64];
    int rc = 0;

    memset(s, 0, sizeof(*s));
    if (!zq_session_sid_valid(sid))
        return 0;
    memcpy(s->sid, sid, ZQ_SESSION_HEX + 1);
    if (names(st, sid, form, ttl_s, key, field, ttl) < 0 ||
        zq_fmt(ufield, sizeof(ufield), "u:%s", form ? form : "") < 0)
        return zq_err_set(err, ZQ_EINVAL, "session: form id too long");
    /* Only the fields this request needs, not every form's draft (the
     * uploads ride along: same command, no round trip of their own).
     * Append failures show up in read_replies, which must always follow. */
    zq_store_appendv(st, 5, (const char *[]){"HMGET", key, "csrf", field, ufield}, NULL);
    zq_store_appendv(st, 3, (const char *[]){"EXPIRE", key, ttl}, NULL);
    if (zq_store_read_replies(st, err, 2, rep) < 0)
        return -ZQ_EUNAVAIL;
    /* An error is never "no session": Redis loading its data after a
     * restart, a replica cut off from its master, would otherwise tell
     * the enterprise that its form expired. */
    if (rep[0]->type == REDIS_REPLY_ERROR) {
        rc = zq_store_reply_unavailable(rep[0])
                 ? zq_err_set(err, ZQ_EUNAVAIL, "session: %s", rep[0]->str)
                 : zq_err_set(err, ZQ_EREPLY, "session: %s", rep[0]->str);
    } else if (rep[0]->type == REDIS_REPLY_ARRAY && rep[0]->elements == 3) {
        const redisReply *csrf = rep[0]->element[0], *draft = rep[0]->element[1];
        const redisReply *files = rep[0]->element[2];

        if (csrf->type == REDIS_REPLY_STRING && csrf->len == ZQ_SESSION_HEX) {
            memcpy(s->csrf, csrf->str, ZQ_SESSION_HEX + 1);
            s->exists = true;
        }
        if (form != NULL && draft->type == REDIS_REPLY_STRING)
            s->draft = json_loadb(draft->str, draft->len, 0, NULL);
        if (form != NULL && files->type == REDIS_REPLY_STRING)
            s->files = json_loadb(files->str, files->len, 0, NULL);
        if (s->files != NULL && !json_is_array(s->files)) {
            json_decref(s->files);
            s->files = NULL;
        }
    }
    freeReplyObject(rep[0]);
    freeReplyObject(rep[1]);
    return rc;
}

int zq_session_new_ids(zq_session *s)
{
    if (zq_random_hex(s->sid, ZQ_SESSION_HEX / 2) < 0 ||
        zq_random_hex(s->csrf, ZQ_SESSION_HEX / 2) < 0)
        return -ZQ_EIO;
    return 0;
}

/* The index key of a draft's mobile answer: {prefix}draftmob:{form}:{tag}.
 * Returns 0, or -ZQ_ENOTFOUND when the draft has no mobile number yet. */
static int draft_index_key(zq_store *st, const char *form, json_t *draft, char out[160])
{
    const char *m = json_string_value(json_object_get(json_object_get(draft, "answers"), "mobile"));
    char tag[ZQ_OTP_TAG_HEX + 1];

    if (m == NULL || strlen(m) != 11 || form == NULL)
        return -ZQ_ENOTFOUND;
    zq_otp_mobile_tag(m, tag);
    return zq_store_key(st, out, 160, "draftmob:%s:%s", form, tag) < 0 ? -ZQ_ENOTFOUND : 0;
}

int zq_session_save(zq_store *st, const zq_session *s, const char *form, bool with_csrf, int ttl_s,
                    zq_err *err)
{
    redisReply *rep[3] = {NULL, NULL, NULL};
    char *draft = json_dumps(s->draft, JSON_COMPACT);
    char key[160], field[64], ttl[16], idx[160];
    int rc = 0, nrep = 2, i;

    if (draft == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "session: cannot encode the draft");
    if (names(st, s->sid, form, ttl_s, key, field, ttl) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "session: form id too long");
        goto out;
    }
    if (with_csrf)
        zq_store_appendv(st, 6, (const char *[]){"HSET", key, "csrf", s->csrf, field, draft}, NULL);
    else
        zq_store_appendv(st, 4, (const char *[]){"HSET", key, field, draft}, NULL);
    /* Again after the write: a session that expired between the read and
     * the write would otherwise come back without a TTL. */
    zq_store_appendv(st, 3, (const char *[]){"EXPIRE", key, ttl}, NULL);
    /* The draft's number points at this session for as long as the draft
     * lives, so that it can be resumed elsewhere with an SMS code: in the
     * same round trip. */
    if (draft_index_key(st, form, s->draft, idx) == 0) {
        zq_store_appendv(st, 5, (const char *[]){"SET", idx, s->sid, "EX", ttl}, NULL);
        nrep = 3;
    }
    if (zq_store_read_replies(st, err, nrep, rep) < 0) {
        rc = -ZQ_EUNAVAIL;
    } else if (rep[0]->type == REDIS_REPLY_ERROR) {
        ZQ_ERROR("event=session_save_failed err=\"%s\"", rep[0]->str);
        rc = zq_err_set(err, ZQ_EUNAVAIL, "session: %s", rep[0]->str);
    }
out:
    for (i = 0; i < 3; i++)
        if (rep[i] != NULL)
            freeReplyObject(rep[i]);
    free(draft);
    return rc;
}

int zq_session_drop_draft(zq_store *st, const char *sid, const char *form, zq_err *err)
{
    char key[160], field[64], ttl[16], ufield[64];
    redisReply *r;

    if (names(st, sid, form, 0, key, field, ttl) < 0 ||
        zq_fmt(ufield, sizeof(ufield), "u:%s", form) < 0)
        return zq_err_set(err, ZQ_EINVAL, "session: form id too long");
    /* The uploads' list goes with the draft: they are the case's now. */
    r = zq_store_commandv(st, err, 4, (const char *[]){"HDEL", key, field, ufield}, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    freeReplyObject(r);
    return 0;
}

int zq_session_create(zq_store *st, const zq_session *s, int ttl_s, zq_err *err)
{
    char key[160], field[64], ttl[16];
    redisReply *rep[2] = {NULL, NULL};
    int rc = 0;

    if (names(st, s->sid, NULL, ttl_s, key, field, ttl) < 0)
        return zq_err_set(err, ZQ_EINVAL, "session: key too long");
    zq_store_appendv(st, 4, (const char *[]){"HSET", key, "csrf", s->csrf}, NULL);
    zq_store_appendv(st, 3, (const char *[]){"EXPIRE", key, ttl}, NULL);
    if (zq_store_read_replies(st, err, 2, rep) < 0)
        return -ZQ_EUNAVAIL;
    if (rep[0]->type == REDIS_REPLY_ERROR) {
        ZQ_ERROR("event=session_create_failed err=\"%s\"", rep[0]->str);
        rc = zq_err_set(err, ZQ_EUNAVAIL, "session: %s", rep[0]->str);
    }
    freeReplyObject(rep[0]);
    freeReplyObject(rep[1]);
    return rc;
}

/* Sets field v:{purpose} of an existing session; never creates one (it
 * would have no csrf and no TTL). */
static zq_script mark_script = {.src = "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
                                       "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
                                       "return 1\n"};

int zq_session_mark_verified(zq_store *st, const char *sid, const char *purpose, const char *mobile,
                             int64_t until_ms, zq_err *err)
{
    char key[160], field[64], val[80], tag[ZQ_OTP_TAG_HEX + 1];
    redisReply *r;
    int rc = 0;

    if (!zq_session_sid_valid(sid))
        return -ZQ_ENOTFOUND;
    zq_otp_mobile_tag(mobile, tag);
    if (zq_store_key(st, key, sizeof(key), "sess:%s", sid) < 0 ||
        zq_fmt(field, sizeof(field), "v:%s", purpose) < 0 ||
        zq_fmt(val, sizeof(val), "%s:%lld", tag, (long long)until_ms) < 0)
        return zq_err_set(err, ZQ_EINVAL, "session: mark too long");
    r = zq_store_script(st, err, &mark_script, 1, 3, (const char *[]){key, field, val}, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (zq_store_reply_unavailable(r))
        rc = zq_err_set(err, ZQ_EUNAVAIL, "session: %s", r->str);
    else if (r->type != REDIS_REPLY_INTEGER)
        rc = zq_err_set(err, ZQ_EREPLY, "session: mark script failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    else if (r->integer == 0)
        rc = -ZQ_ENOTFOUND;
    freeReplyObject(r);
    return rc;
}

/* Whether r, a v:{purpose} mark, is for the mobile with tag and still
 * holds at now_ms. */
static bool mark_holds(const redisReply *r, const char *tag, int64_t now_ms)
{
    size_t tlen = ZQ_OTP_TAG_HEX;
    long long until;

    return r->type == REDIS_REPLY_STRING && r->len > tlen + 1 && r->str[tlen] == ':' &&
           memcmp(r->str, tag, tlen) == 0 &&
           zq_parse_ll(r->str + tlen + 1, r->len - tlen - 1, 0, INT64_MAX, &until) == 0 &&
           now_ms < until;
}

int zq_session_verified_any(zq_store *st, const char *sid, const char *const *purposes, size_t n,
                            const char *mobile, int64_t now_ms, bool *exists, bool *ok, zq_err *err)
{
    char key[160], fields[ZQ_SESSION_PURPOSES_MAX][64], tag[ZQ_OTP_TAG_HEX + 1];
    const char *argv[2 + 1 + ZQ_SESSION_PURPOSES_MAX];
    redisReply *r;
    size_t i;
    int rc = 0;

    *exists = *ok = false;
    if (!zq_session_sid_valid(sid) || n > ZQ_SESSION_PURPOSES_MAX)
        return 0;
    zq_otp_mobile_tag(mobile ? mobile : "", tag);
    if (zq_store_key(st, key, sizeof(key), "sess:%s", sid) < 0)
        return zq_err_set(err, ZQ_EINVAL, "session: key too long");
    argv[0] = "HMGET";
    argv[1] = key;
    argv[2] = "csrf";
    for (i = 0; i < n; i++) {
        if (zq_fmt(fields[i], sizeof(fields[i]), "v:%s", purposes[i]) < 0)
            return zq_err_set(err, ZQ_EINVAL, "session: mark too long");
        argv[3 + i] = fields[i];
    }
    r = zq_store_commandv(st, err, (int)(3 + n), argv, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR) {
        rc = zq_store_reply_unavailable(r) ? zq_err_set(err, ZQ_EUNAVAIL, "session: %s", r->str)
                                           : zq_err_set(err, ZQ_EREPLY, "session: %s", r->str);
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 + n) {
        *exists = r->element[0]->type == REDIS_REPLY_STRING;
        for (i = 0; *exists && mobile != NULL && i < n; i++)
            if (mark_holds(r->element[1 + i], tag, now_ms))
                *ok = true;
    }
    freeReplyObject(r);
    return rc;
}

int zq_session_verified(zq_store *st, const char *sid, const char *purpose, const char *mobile,
                        int64_t now_ms, bool *ok, zq_err *err)
{
    char key[160], field[64], tag[ZQ_OTP_TAG_HEX + 1];
    redisReply *r;
    int rc = 0;

    *ok = false;
    if (!zq_session_sid_valid(sid) || mobile == NULL)
        return 0;
    zq_otp_mobile_tag(mobile, tag);
    if (zq_store_key(st, key, sizeof(key), "sess:%s", sid) < 0 ||
        zq_fmt(field, sizeof(field), "v:%s", purpose) < 0)
        return zq_err_set(err, ZQ_EINVAL, "session: mark too long");
    r = zq_store_commandv(st, err, 3, (const char *[]){"HGET", key, field}, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR) {
        rc = zq_store_reply_unavailable(r) ? zq_err_set(err, ZQ_EUNAVAIL, "session: %s", r->str)
                                           : zq_err_set(err, ZQ_EREPLY, "session: %s", r->str);
    } else {
        *ok = mark_holds(r, tag, now_ms);
    }
    freeReplyObject(r);
    return rc;
}

/* The draft of form in the session the index names. */
static zq_script find_draft_script = {
    .src = "local sid = redis.call('GET', KEYS[1])\n"
           "if not sid then return false end\n"
           "return redis.call('HGET', ARGV[1] .. 'sess:' .. sid, ARGV[2])\n"};

int zq_session_find_draft(zq_store *st, const char *form, const char *mobile, json_t **draft,
                          zq_err *err)
{
    char idx[160], field[64], tag[ZQ_OTP_TAG_HEX + 1];
    redisReply *r;
    int rc = 0;

    *draft = NULL;
    zq_otp_mobile_tag(mobile, tag);
    if (zq_store_key(st, idx, sizeof(idx), "draftmob:%s:%s", form, tag) < 0 ||
        zq_fmt(field, sizeof(field), "f:%s", form) < 0)
        return zq_err_set(err, ZQ_EINVAL, "session: form id too long");
    r = zq_store_script(st, err, &find_draft_script, 1, 3,
                        (const char *[]){idx, zq_store_prefix(st), field}, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR) {
        rc = zq_store_reply_unavailable(r) ? zq_err_set(err, ZQ_EUNAVAIL, "session: %s", r->str)
                                           : zq_err_set(err, ZQ_EREPLY, "session: %s", r->str);
    } else if (r->type == REDIS_REPLY_STRING) {
        json_t *d = json_loadb(r->str, r->len, 0, NULL);
        const char *m = json_string_value(json_object_get(json_object_get(d, "answers"), "mobile"));
        /* The index outlives a change of number in the draft: only a
         * draft that still carries this number is handed out. */
        if (m != NULL && strcmp(m, mobile) == 0)
            *draft = d;
        else
            json_decref(d);
    }
    freeReplyObject(r);
    return rc;
}

void zq_session_clear(zq_session *s)
{
    json_decref(s->draft);
    s->draft = NULL;
    json_decref(s->files);
    s->files = NULL;
}

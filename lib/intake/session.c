/* The web session's Redis layout (see include/zhuqi/session.h). */
#include "zhuqi/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/buf.h"
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

/* Fills s (csrf, exists, draft, files) from a session hash's
 * field/value pairs, pairs[0..n) (HGETALL's order). A draft is rebuilt
 * from d:{form} and the a:{form}:{field} answers, or taken whole from the
 * f:{form} of a session stored before the per-answer layout (or by such a
 * release still running beside this one). */
static void from_pairs(redisReply **pairs, size_t n, const char *form, zq_session *s)
{
    char dfield[64], ffield[64], ufield[64], apre[64];
    const redisReply *done = NULL, *legacy = NULL, *files = NULL;
    json_t *answers = NULL;
    size_t i, alen;

    if (zq_fmt(dfield, sizeof(dfield), "d:%s", form) < 0 ||
        zq_fmt(ffield, sizeof(ffield), "f:%s", form) < 0 ||
        zq_fmt(ufield, sizeof(ufield), "u:%s", form) < 0 ||
        zq_fmt(apre, sizeof(apre), "a:%s:", form) < 0)
        return;
    alen = strlen(apre);
    for (i = 0; i + 1 < n; i += 2) {
        const redisReply *k = pairs[i], *v = pairs[i + 1];

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(k->str, "csrf") == 0 && v->len == ZQ_SESSION_HEX) {
            memcpy(s->csrf, v->str, ZQ_SESSION_HEX + 1);
            s->exists = true;
        } else if (strcmp(k->str, dfield) == 0) {
            done = v;
        } else if (strcmp(k->str, ffield) == 0) {
            legacy = v;
        } else if (strcmp(k->str, ufield) == 0) {
            files = v;
        } else if (k->len > alen && memcmp(k->str, apre, alen) == 0) {
            json_t *a = json_loadb(v->str, v->len, JSON_DECODE_ANY, NULL);

            if (a == NULL)
                continue;
            if (answers == NULL && (answers = json_object()) == NULL) {
                json_decref(a);
                continue;
            }
            json_object_set_new(answers, k->str + alen, a);
        }
    }
    /* A whole draft beside per-answer fields was written after them, by
     * a release before this layout (which never deletes d:): it wins. */
    if (legacy != NULL) {
        s->draft = json_loadb(legacy->str, legacy->len, 0, NULL);
    } else if (done != NULL) {
        json_t *d = json_loadb(done->str, done->len, 0, NULL);

        s->draft = json_pack("{s:o, s:o}", "answers", answers != NULL ? answers : json_object(),
                             "done", json_is_array(d) ? json_incref(d) : json_array());
        answers = NULL;
        json_decref(d);
    }
    json_decref(answers);
    if (files != NULL)
        s->files = json_loadb(files->str, files->len, 0, NULL);
    if (s->files != NULL && !json_is_array(s->files)) {
        json_decref(s->files);
        s->files = NULL;
    }
}

int zq_session_load(zq_store *st, const char *sid, const char *form, int ttl_s, zq_session *s,
                    zq_err *err)
{
    redisReply *rep[2] = {NULL, NULL};
    char key[160], field[64], ttl[16];
    int rc = 0;

    memset(s, 0, sizeof(*s));
    if (!zq_session_sid_valid(sid))
        return 0;
    memcpy(s->sid, sid, ZQ_SESSION_HEX + 1);
    if (names(st, sid, form, ttl_s, key, field, ttl) < 0)
        return zq_err_set(err, ZQ_EINVAL, "session: form id too long");
    /* A draft is spread over one field per answer: the whole hash, which
     * is small (one session's drafts, uploads and marks). Without a form,
     * the csrf alone. Append failures show up in read_replies, which must
     * always follow. */
    if (form != NULL)
        zq_store_appendv(st, 2, (const char *[]){"HGETALL", key}, NULL);
    else
        zq_store_appendv(st, 3, (const char *[]){"HMGET", key, "csrf"}, NULL);
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
    } else if (form != NULL && rep[0]->type == REDIS_REPLY_ARRAY) {
        from_pairs(rep[0]->element, rep[0]->elements, form, s);
    } else if (rep[0]->type == REDIS_REPLY_ARRAY && rep[0]->elements == 1) {
        const redisReply *csrf = rep[0]->element[0];

        if (csrf->type == REDIS_REPLY_STRING && csrf->len == ZQ_SESSION_HEX) {
            memcpy(s->csrf, csrf->str, ZQ_SESSION_HEX + 1);
            s->exists = true;
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

/* Replaces the draft of form (ARGV[1]) in session KEYS[1]: every
 * a:{form}:* answer and a legacy f:{form} go, d:{form} and the answers
 * (pairs from ARGV[6]) are written, the csrf too when ARGV[3] is not
 * empty; then the TTL (ARGV[2]), and the mobile's index ARGV[4] (a full
 * key, "" when the draft has no mobile) pointing at sid ARGV[5], its name
 * kept in m:{form} for the step saves that do not see the mobile. */
static zq_script save_script = {
    .src = "local key, form, ttl = KEYS[1], ARGV[1], ARGV[2]\n"
           "local pre = 'a:' .. form .. ':'\n"
           "for _, f in ipairs(redis.call('HKEYS', key)) do\n"
           "  if string.sub(f, 1, #pre) == pre then redis.call('HDEL', key, f) end\n"
           "end\n"
           "redis.call('HDEL', key, 'f:' .. form)\n"
           "if ARGV[3] ~= '' then redis.call('HSET', key, 'csrf', ARGV[3]) end\n"
           "redis.call('HSET', key, 'd:' .. form, ARGV[6])\n"
           "for i = 7, #ARGV, 2 do redis.call('HSET', key, pre .. ARGV[i], ARGV[i + 1]) end\n"
           "redis.call('EXPIRE', key, ttl)\n"
           "if ARGV[4] ~= '' then\n"
           "  redis.call('SET', ARGV[4], ARGV[5], 'EX', ttl)\n"
           "  redis.call('HSET', key, 'm:' .. form, ARGV[4])\n"
           "else\n"
           "  redis.call('HDEL', key, 'm:' .. form)\n"
           "end\n"
           "return 1\n"};

int zq_session_save(zq_store *st, const zq_session *s, const char *form, bool with_csrf, int ttl_s,
                    zq_err *err)
{
    json_t *answers = json_object_get(s->draft, "answers"),
           *done = json_object_get(s->draft, "done");
    size_t n = json_is_object(answers) ? json_object_size(answers) : 0, argc = 0, i;
    const char **argv = calloc(7 + 2 * n, sizeof(*argv));
    char **vals = calloc(n + 1, sizeof(*vals));
    char key[160], field[64], ttl[16], idx[160];
    redisReply *r = NULL;
    const char *k;
    json_t *v;
    int rc = 0;

    if (argv == NULL || vals == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "session: out of memory");
        goto out;
    }
    if (names(st, s->sid, form, ttl_s, key, field, ttl) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "session: form id too long");
        goto out;
    }
    /* The draft's number points at this session for as long as the draft
     * lives, so that it can be resumed elsewhere with an SMS code: in the
     * same round trip. */
    if (draft_index_key(st, form, s->draft, idx) < 0)
        idx[0] = '\0';
    vals[0] = json_is_array(done) ? json_dumps(done, JSON_COMPACT) : strdup("[]");
    if (vals[0] == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "session: cannot encode the draft");
        goto out;
    }
    argv[argc++] = key;
    argv[argc++] = form;
    argv[argc++] = ttl;
    argv[argc++] = with_csrf ? s->csrf : "";
    argv[argc++] = idx;
    argv[argc++] = s->sid;
    argv[argc++] = vals[0];
    i = 1;
    json_object_foreach(answers, k, v)
    {
        if ((vals[i] = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
            rc = zq_err_set(err, ZQ_ENOMEM, "session: cannot encode the draft");
            goto out;
        }
        argv[argc++] = k;
        argv[argc++] = vals[i++];
    }
    r = zq_store_script(st, err, &save_script, 1, (int)argc, argv, NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
    } else if (r->type == REDIS_REPLY_ERROR) {
        ZQ_ERROR("event=session_save_failed err=\"%s\"", r->str);
        rc = zq_err_set(err, ZQ_EUNAVAIL, "session: %s", r->str);
    }
out:
    if (r != NULL)
        freeReplyObject(r);
    for (i = 0; vals != NULL && i <= n; i++)
        free(vals[i]);
    free(vals);
    free(argv);
    return rc;
}

/* Deletes the draft of form ARGV[1] from session KEYS[1]: its answers,
 * its list of done steps, the legacy whole-draft field, the index's name
 * and the uploads' list. */
static zq_script drop_script = {
    .src = "local key, form = KEYS[1], ARGV[1]\n"
           "local pre = 'a:' .. form .. ':'\n"
           "for _, f in ipairs(redis.call('HKEYS', key)) do\n"
           "  if string.sub(f, 1, #pre) == pre then redis.call('HDEL', key, f) end\n"
           "end\n"
           "return redis.call('HDEL', key, 'f:' .. form, 'd:' .. form, 'm:' .. form, "
           "'u:' .. form)\n"};

int zq_session_drop_draft(zq_store *st, const char *sid, const char *form, zq_err *err)
{
    char key[160], field[64], ttl[16];
    redisReply *r;

    if (names(st, sid, form, 0, key, field, ttl) < 0)
        return zq_err_set(err, ZQ_EINVAL, "session: form id too long");
    /* The uploads' list goes with the draft: they are the case's now. */
    r = zq_store_script(st, err, &drop_script, 1, 2, (const char *[]){key, form}, NULL);
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

/* The session the index names, whole (its draft is picked out in C),
 * then its id. */
static zq_script find_draft_script = {
    .src = "local sid = redis.call('GET', KEYS[1])\n"
           "if not sid then return false end\n"
           "local all = redis.call('HGETALL', ARGV[1] .. 'sess:' .. sid)\n"
           "all[#all + 1] = sid\n"
           "return all\n"};

int zq_session_find_draft(zq_store *st, const char *form, const char *mobile, json_t **draft,
                          char sid[ZQ_SESSION_HEX + 1], zq_err *err)
{
    char idx[160], tag[ZQ_OTP_TAG_HEX + 1];
    zq_session other = {0};
    redisReply *r;
    int rc = 0;

    *draft = NULL;
    zq_otp_mobile_tag(mobile, tag);
    if (zq_store_key(st, idx, sizeof(idx), "draftmob:%s:%s", form, tag) < 0 || strlen(form) > 60)
        return zq_err_set(err, ZQ_EINVAL, "session: form id too long");
    r = zq_store_script(st, err, &find_draft_script, 1, 2,
                        (const char *[]){idx, zq_store_prefix(st)}, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR) {
        rc = zq_store_reply_unavailable(r) ? zq_err_set(err, ZQ_EUNAVAIL, "session: %s", r->str)
                                           : zq_err_set(err, ZQ_EREPLY, "session: %s", r->str);
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements % 2 == 1) {
        const redisReply *id = r->element[r->elements - 1];
        const char *m;

        from_pairs(r->element, r->elements - 1, form, &other);
        m = json_string_value(json_object_get(json_object_get(other.draft, "answers"), "mobile"));
        /* The index outlives a change of number in the draft: only a
         * draft that still carries this number is handed out. */
        if (m != NULL && strcmp(m, mobile) == 0 && id->type == REDIS_REPLY_STRING &&
            zq_session_sid_valid(id->str)) {
            *draft = other.draft;
            other.draft = NULL;
            memcpy(sid, id->str, ZQ_SESSION_HEX + 1);
        }
        zq_session_clear(&other);
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

/* One step's save (zq_session_step): KEYS[1] the session; ARGV form,
 * ttl, token, mode ("w" write, else check), step, step as JSON, index
 * ("-": refresh the one m:{form} names, "": drop it, else the key to
 * point at sid), sid, then four lists of items each ended by "\n" (no
 * item holds one: ids, and JSON in its compact form): the steps before,
 * (gate field, stopping value) pairs, the fields to delete, (field, JSON)
 * answers. Few arguments: each costs the client more than its bytes.
 * Answers {"none"}, {"csrf"}, {"legacy"}, {"order", i}, {"stop", i},
 * {"checked"}, or when written one string, the pack (zq_store_unpack) of
 * done, uploads or "", the done step ids, then field and JSON of every
 * stored answer, the last two lists of items each ended by "\n" again:
 * one reply object to read, not one per item nor per string. */
static zq_script step_script = {
    .src = ZQ_STORE_LUA_PACK
    "local key, form, ttl, token, mode = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "local csrf = redis.call('HGET', key, 'csrf')\n"
    "if not csrf or #csrf ~= 64 then return {'none'} end\n"
    "redis.call('EXPIRE', key, ttl)\n"
    "if redis.call('HEXISTS', key, 'f:' .. form) == 1 then return {'legacy'} end\n"
    "local dk = 'd:' .. form\n"
    "local done = redis.call('HGET', key, dk)\n"
    "if not done then return {'none'} end\n"
    "if csrf ~= token then return {'csrf'} end\n"
    "local function items(s)\n"
    "  local t = {}\n"
    "  for x in string.gmatch(s, '([^\\n]*)\\n') do t[#t + 1] = x end\n"
    "  return t\n"
    "end\n"
    "local ok, list = pcall(cjson.decode, done)\n"
    "if not ok or type(list) ~= 'table' then list = {} end\n"
    "local have, names = {}, {}\n"
    "for _, s in ipairs(list) do\n"
    "  if type(s) == 'string' then have[s] = true; names[#names + 1] = s end\n"
    "end\n"
    "for k, s in ipairs(items(ARGV[9])) do\n"
    "  if not have[s] then return {'order', k - 1} end\n"
    "end\n"
    "local pre = 'a:' .. form .. ':'\n"
    "local t = items(ARGV[10])\n"
    /* Each gate field read once; a stored string without an escape is
     * the value in quotes, so only one with a backslash is decoded. */
    "local got = {}\n"
    "for k = 1, #t - 1, 2 do\n"
    "  local v = got[t[k]]\n"
    "  if v == nil then v = redis.call('HGET', key, pre .. t[k]); got[t[k]] = v end\n"
    "  if v then\n"
    "    local hit\n"
    "    if string.find(v, '\\\\', 1, true) then\n"
    "      local okv, sv = pcall(cjson.decode, v)\n"
    "      hit = okv and sv == t[k + 1]\n"
    "    else\n"
    "      hit = v == '\"' .. t[k + 1] .. '\"'\n"
    "    end\n"
    "    if hit then return {'stop', (k - 1) / 2} end\n"
    "  end\n"
    "end\n"
    "if mode ~= 'w' then return {'checked'} end\n"
    "for _, f in ipairs(items(ARGV[11])) do redis.call('HDEL', key, pre .. f) end\n"
    "t = items(ARGV[12])\n"
    "for k = 1, #t - 1, 2 do redis.call('HSET', key, pre .. t[k], t[k + 1]) end\n"
    "if not have[ARGV[5]] then\n"
    "  local body = string.match(done, '^%s*%[(.*)%]%s*$')\n"
    "  if #names == 0 or body == nil or string.match(body, '^%s*$') then\n"
    "    done = '[' .. ARGV[6] .. ']'\n"
    "  else\n"
    "    done = '[' .. body .. ',' .. ARGV[6] .. ']'\n"
    "  end\n"
    "  names[#names + 1] = ARGV[5]\n"
    "  redis.call('HSET', key, dk, done)\n"
    "end\n"
    "local idx, mk = ARGV[7], 'm:' .. form\n"
    "if idx == '-' then\n"
    "  idx = redis.call('HGET', key, mk)\n"
    "  if idx then redis.call('SET', idx, ARGV[8], 'EX', ttl) end\n"
    "elseif idx == '' then\n"
    "  redis.call('HDEL', key, mk)\n"
    "else\n"
    "  redis.call('SET', idx, ARGV[8], 'EX', ttl)\n"
    "  redis.call('HSET', key, mk, idx)\n"
    "end\n"
    "local a = {}\n"
    "local all = redis.call('HGETALL', key)\n"
    "for k = 1, #all, 2 do\n"
    "  local f = all[k]\n"
    "  if string.sub(f, 1, #pre) == pre then\n"
    "    a[#a + 1] = string.sub(f, #pre + 1)\n"
    "    a[#a + 1] = all[k + 1]\n"
    "  end\n"
    "end\n"
    "names[#names + 1] = ''\n"
    "a[#a + 1] = ''\n"
    "local p = {}\n"
    "zq_pack(p, done)\n"
    "zq_pack(p, redis.call('HGET', key, 'u:' .. form) or '')\n"
    "zq_pack(p, table.concat(names, '\\n'))\n"
    "zq_pack(p, table.concat(a, '\\n'))\n"
    "return table.concat(p)\n"};

/* Appends the n strings of v (with those of w after each when w is not
 * NULL: pairs) to b, each ended by a new line, then a NUL. Returns 0,
 * -ZQ_ENOMEM, or -ZQ_EINVAL when one holds a new line (no id does, nor
 * compact JSON). */
static int list_arg(zq_buf *b, const char *const *v, const char *const *w, size_t n)
{
    size_t i, lv, lw;
    char *p;

    /* One reservation and plain copies per item: this runs for every
     * field of every step save. */
    for (i = 0; i < n; i++) {
        lv = strlen(v[i]);
        lw = w != NULL ? strlen(w[i]) : 0;
        if (memchr(v[i], '\n', lv) != NULL || (w != NULL && memchr(w[i], '\n', lw) != NULL))
            return -ZQ_EINVAL;
        if (zq_buf_reserve(b, lv + lw + 2) < 0)
            return -ZQ_ENOMEM;
        p = b->data + b->len;
        memcpy(p, v[i], lv);
        p[lv] = '\n';
        b->len += lv + 1;
        if (w != NULL) {
            memcpy(p + lv + 1, w[i], lw);
            p[lv + 1 + lw] = '\n';
            b->len += lw + 1;
        }
    }
    zq_buf_append(b, "", 1);
    return b->oom ? -ZQ_ENOMEM : 0;
}

/* Cuts s, items each ended by a new line, into NUL-ended strings in
 * place, stored from items[k] on (when items is not NULL). Returns the
 * count of items. */
static size_t cut_items(char *s, size_t len, const char **items, size_t k)
{
    char *start = s, *end = s + len, *nl;
    size_t n = 0;

    while (start < end && (nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
        if (items != NULL) {
            *nl = '\0';
            items[k + n] = start;
        }
        start = nl + 1;
        n++;
    }
    return n;
}

/* Reads the written step's pack (rep, a string) into r: the done list
 * and the uploads as they are, the done ids and the answers' fields and
 * values cut in place. Returns 0, -ZQ_ENOMEM or -ZQ_EREPLY. */
static int split_pack(redisReply *rep, zq_step_result *r, zq_err *err)
{
    const char *v[4];
    size_t len[4], at = 0, nd, na, k;

    for (k = 0; k < 4; k++)
        if (zq_store_unpack(rep->str, rep->len, &at, &v[k], &len[k]) != 1)
            return zq_err_set(err, ZQ_EREPLY, "session: unexpected step reply");
    if (at != rep->len)
        return zq_err_set(err, ZQ_EREPLY, "session: unexpected step reply");
    /* The pack is the reply's own bytes: cut in place. */
    nd = cut_items(rep->str + (v[2] - rep->str), len[2], NULL, 0);
    na = cut_items(rep->str + (v[3] - rep->str), len[3], NULL, 0);
    if (na % 2 != 0)
        return zq_err_set(err, ZQ_EREPLY, "session: unexpected step reply");
    if ((r->items = malloc((nd + na + 1) * sizeof(*r->items))) == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "session: out of memory");
    cut_items(rep->str + (v[2] - rep->str), len[2], r->items, 0);
    cut_items(rep->str + (v[3] - rep->str), len[3], r->items, nd);
    r->outcome = ZQ_STEP_SAVED;
    r->done = v[0];
    r->done_len = len[0];
    r->files = v[1];
    r->files_len = len[1];
    r->ndone = nd;
    r->nanswers = na / 2;
    return 0;
}

/* Reads the script's answer into r. */
static int step_reply(redisReply *rep, zq_step_result *r, zq_err *err)
{
    const redisReply *tag;

    if (rep->type == REDIS_REPLY_ERROR)
        return zq_store_reply_unavailable(rep)
                   ? zq_err_set(err, ZQ_EUNAVAIL, "session: %s", rep->str)
                   : zq_err_set(err, ZQ_EREPLY, "session: %s", rep->str);
    if (rep->type == REDIS_REPLY_STRING)
        return split_pack(rep, r, err);
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
        rep->element[0]->type != REDIS_REPLY_STRING)
        return zq_err_set(err, ZQ_EREPLY, "session: unexpected step reply");
    tag = rep->element[0];
    if (strcmp(tag->str, "none") == 0) {
        r->outcome = ZQ_STEP_NO_DRAFT;
    } else if (strcmp(tag->str, "csrf") == 0) {
        r->outcome = ZQ_STEP_CSRF;
    } else if (strcmp(tag->str, "legacy") == 0) {
        r->outcome = ZQ_STEP_LEGACY;
    } else if (strcmp(tag->str, "checked") == 0) {
        r->outcome = ZQ_STEP_SAVED;
    } else if ((strcmp(tag->str, "order") == 0 || strcmp(tag->str, "stop") == 0) &&
               rep->elements == 2 && rep->element[1]->type == REDIS_REPLY_INTEGER &&
               rep->element[1]->integer >= 0) {
        r->outcome = tag->str[0] == 'o' ? ZQ_STEP_ORDER : ZQ_STEP_STOP;
        r->order = r->stop = (size_t)rep->element[1]->integer;
    } else {
        return zq_err_set(err, ZQ_EREPLY, "session: unexpected step reply");
    }
    return 0;
}

/* Writes s as a JSON string ("s") into out (size bytes) when no byte of
 * it needs escaping (zq_buf_json_escape's, which escapes < > & too) and
 * it fits. Returns false otherwise (out is then
 * undefined). */
static bool plain_json_string(const char *s, char *out, size_t size)
{
    size_t n = strlen(s), i;

    if (n + 3 > size)
        return false;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7F || s[i] == '"' ||
            s[i] == '\\' || s[i] == '<' || s[i] == '>' || s[i] == '&')
            return false;
    out[0] = '"';
    memcpy(out + 1, s, n);
    out[n + 1] = '"';
    out[n + 2] = '\0';
    return true;
}

int zq_session_step(zq_store *st, const zq_step_save *in, zq_step_result *r, zq_err *err)
{
    char key[160], ttl[ZQ_DEC_MAX], idx[160], stepj[80];
    const char *argv[13];
    size_t offs[4], i;
    redisReply *rep = NULL;
    zq_buf sj = {0}, lists = {0};
    int rc = 0;

    memset(r, 0, sizeof(*r));
    r->files = "";
    if (!zq_session_sid_valid(in->sid)) {
        r->outcome = ZQ_STEP_NO_DRAFT;
        return 0;
    }
    zq_dec(ttl, in->ttl_s);
    if (zq_store_key(st, key, sizeof(key), "sess:%s", in->sid) < 0 || strlen(in->form) > 60)
        return zq_err_set(err, ZQ_EINVAL, "session: form id too long");
    /* The step id as a JSON string, appended to the stored done list:
     * copied as it is when nothing in it needs escaping (every id). */
    if (!plain_json_string(in->step, stepj, sizeof(stepj)) &&
        (zq_buf_append(&sj, "\"", 1) < 0 ||
         zq_buf_json_escape(&sj, in->step, strlen(in->step)) < 0 ||
         zq_buf_append(&sj, "\"", 1) < 0 || zq_fmt(stepj, sizeof(stepj), "%s", sj.data) < 0)) {
        rc = zq_err_set(err, ZQ_EINVAL, "session: step id too long");
        goto out;
    }
    if (!in->has_mobile) {
        idx[0] = '-';
        idx[1] = '\0';
    } else if (in->mobile == NULL || strlen(in->mobile) != 11) {
        idx[0] = '\0';
    } else {
        char tag[ZQ_OTP_TAG_HEX + 1];

        zq_otp_mobile_tag(in->mobile, tag);
        if (zq_store_key(st, idx, sizeof(idx), "draftmob:%s:%s", in->form, tag) < 0)
            idx[0] = '\0';
    }
    /* Four lists in one buffer, each ended by its NUL. */
    zq_buf_reserve(&lists, 1024);
    offs[0] = 0;
    rc = list_arg(&lists, in->before, NULL, in->nbefore);
    offs[1] = lists.len;
    if (rc == 0)
        rc = list_arg(&lists, in->stop_fields, in->stop_values, in->nstop);
    offs[2] = lists.len;
    if (rc == 0)
        rc = list_arg(&lists, in->del_ids, NULL, in->write ? in->ndel : 0);
    offs[3] = lists.len;
    if (rc == 0 && in->set_list == NULL)
        rc = list_arg(&lists, in->set_ids, in->set_json, in->write ? in->nset : 0);
    if (rc < 0) {
        rc = zq_err_set(err, -rc, "session: cannot pass the step's lists");
        goto out;
    }
    argv[0] = key;
    argv[1] = in->form;
    argv[2] = ttl;
    argv[3] = in->token != NULL ? in->token : "";
    argv[4] = in->write ? "w" : "c";
    argv[5] = in->step;
    argv[6] = stepj;
    argv[7] = idx;
    argv[8] = in->sid;
    for (i = 0; i < 4; i++)
        argv[9 + i] = lists.data + offs[i];
    if (in->set_list != NULL)
        argv[12] = in->write ? in->set_list : "";
    rep = zq_store_script(st, err, &step_script, 1, 13, argv, NULL);
    if (rep == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if ((rc = step_reply(rep, r, err)) < 0)
        goto out;
    if ((r->outcome == ZQ_STEP_ORDER && r->order >= in->nbefore) ||
        (r->outcome == ZQ_STEP_STOP && r->stop >= in->nstop)) {
        rc = zq_err_set(err, ZQ_EREPLY, "session: step reply out of range");
        goto out;
    }
    r->reply = rep;
    rep = NULL;
out:
    if (rep != NULL)
        freeReplyObject(rep);
    zq_buf_free(&sj);
    zq_buf_free(&lists);
    return rc;
}

const char *zq_step_result_done(const zq_step_result *r, size_t i)
{
    return i < r->ndone ? r->items[i] : NULL;
}

void zq_step_result_answer(const zq_step_result *r, size_t i, const char **id, const char **json,
                           size_t *len)
{
    *id = r->items[r->ndone + 2 * i];
    *json = r->items[r->ndone + 2 * i + 1];
    *len = strlen(*json);
}

void zq_step_result_clear(zq_step_result *r)
{
    if (r->reply != NULL)
        freeReplyObject(r->reply);
    r->reply = NULL;
    free(r->items);
    r->items = NULL;
}

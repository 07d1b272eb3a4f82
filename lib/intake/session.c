/* The web session's Redis layout (see include/zhuqi/session.h). */
#include "zhuqi/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/log.h"

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

int zq_session_save(zq_store *st, const zq_session *s, const char *form, bool with_csrf, int ttl_s,
                    zq_err *err)
{
    redisReply *rep[2] = {NULL, NULL};
    char *draft = json_dumps(s->draft, JSON_COMPACT);
    char key[160], field[64], ttl[16];
    int rc = 0;

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
    if (zq_store_read_replies(st, err, 2, rep) < 0) {
        rc = -ZQ_EUNAVAIL;
    } else if (rep[0]->type == REDIS_REPLY_ERROR) {
        ZQ_ERROR("event=session_save_failed err=\"%s\"", rep[0]->str);
        rc = zq_err_set(err, ZQ_EUNAVAIL, "session: %s", rep[0]->str);
    }
out:
    if (rep[0] != NULL)
        freeReplyObject(rep[0]);
    if (rep[1] != NULL)
        freeReplyObject(rep[1]);
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

void zq_session_clear(zq_session *s)
{
    json_decref(s->draft);
    s->draft = NULL;
    json_decref(s->files);
    s->files = NULL;
}

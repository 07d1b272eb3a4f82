/* Staff changes to a case, each applied by one script: status moves with
 * their indexes, deadline and history, notes, and the Idempotency-Keys
 * they were made with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staff_int.h"

static zq_script update_script = {
    .src =
        "local p, id = ARGV[1], ARGV[2]\n"
        "local ck = p .. 'case:' .. id\n"
        "local cur = redis.call('HGET', ck, 'status')\n"
        "if not cur then return {'missing', ''} end\n"
        "if cur ~= ARGV[3] then return {'conflict', cur} end\n"
        "if ARGV[4] ~= '' and redis.call('LLEN', ck .. ':log') ~= tonumber(ARGV[4]) then\n"
        "  return {'conflict', cur}\n"
        "end\n"
        "local new, now = ARGV[5], ARGV[7]\n"
        "local h = redis.call('HMGET', ck, 'created_ms', 'form', 'source')\n"
        "local created = h[1] or now\n"
        "local fields = {'updated_ms', now}\n"
        "if new ~= '' and new ~= cur then\n"
        "  fields[#fields + 1] = 'status'\n"
        "  fields[#fields + 1] = new\n"
        "  redis.call('ZREM', p .. 'cases:status:' .. cur, id)\n"
        "  redis.call('ZADD', p .. 'cases:status:' .. new, created, id)\n"
        "end\n"
        "if ARGV[8] ~= '-' then\n"
        "  for i, f in ipairs({'due_kind', 'due_start', 'due_date', 'due_limit', 'due_ext'}) do\n"
        "    fields[#fields + 1] = f\n"
        "    fields[#fields + 1] = ARGV[7 + i]\n"
        "  end\n"
        "  if ARGV[13] == '' then redis.call('ZREM', p .. 'cases:due', id)\n"
        "  else redis.call('ZADD', p .. 'cases:due', ARGV[13], id) end\n"
        "end\n"
        "local nx = tonumber(ARGV[14])\n"
        "for i = 1, nx do\n"
        "  fields[#fields + 1] = ARGV[14 + 2 * i - 1]\n"
        "  fields[#fields + 1] = ARGV[14 + 2 * i]\n"
        "end\n"
        "local a = 15 + 2 * nx\n"
        "redis.call('HSET', ck, unpack(fields))\n" ZQ_SUMMARY_LUA_PACK_ROW "zq_pack_row(ck)\n"
        "if ARGV[6] ~= '' then redis.call('RPUSH', ck .. ':log', ARGV[6]) end\n"
        "if ARGV[a] == '1' then\n"
        "  redis.call('XADD', p .. 'events', 'MAXLEN', '~', '100000', '*', 'type', 'case_status',\n"
        "    'id', id, 'form', h[2] or '', 'from', cur, 'to', new, 'by', ARGV[a + 2],\n"
        "    'note', ARGV[a + 1], 'source', h[3] or '', 'at_ms', now)\n"
        "end\n"
        "redis.call('XADD', p .. 'audit', '*', 'at_ms', now, 'who', ARGV[a + 2], 'role',\n"
        "  ARGV[a + 3], 'action', ARGV[a + 4], 'target', id, 'addr', ARGV[a + 5],\n"
        "  'detail', ARGV[a + 6], 'rid', ARGV[a + 7])\n"
        "if ARGV[a + 8] ~= '' then\n"
        "  redis.call('SET', ARGV[a + 8], '1', 'EX', tonumber(ARGV[a + 9]))\n"
        "end\n"
        "if ARGV[a + 10] ~= '' then\n"
        "  redis.call('ZADD', p .. ARGV[a + 10], ARGV[a + 11], id)\n"
        "end\n"
        "return {'ok', cur}\n"};

static zq_script note_script = {
    .src = "local ck = ARGV[1] .. 'case:' .. ARGV[2]\n"
           "if redis.call('EXISTS', ck) == 0 then return -1 end\n"
           "if redis.call('LLEN', ck .. ':notes') >= tonumber(ARGV[4]) then return -2 end\n"
           "redis.call('RPUSH', ck .. ':notes', ARGV[3])\n"
           "redis.call('XADD', ARGV[1] .. 'audit', '*', 'at_ms', ARGV[5], 'who', ARGV[6],\n"
           "  'role', ARGV[7], 'action', ARGV[8], 'target', ARGV[2], 'addr', ARGV[9],\n"
           "  'detail', ARGV[10], 'rid', ARGV[11])\n"
           "if ARGV[12] ~= '' then\n"
           "  redis.call('SET', ARGV[12], ARGV[3], 'EX', tonumber(ARGV[13]))\n"
           "end\n"
           "return 1\n"};

/* The Redis key of an Idempotency-Key (staff.h), into out[IDEM_RKEY_MAX];
 * "" for no key. Returns 0 or -ZQ_EINVAL when it does not fit. */
#define IDEM_RKEY_MAX 320
static int idem_rkey(zq_store *st, const char *who, const char *action, const char *id,
                     const char *key, char *out)
{
    out[0] = '\0';
    if (key == NULL)
        return 0;
    /* zq_store_key leaves "" when the key does not fit. */
    if (zq_store_key(st, out, IDEM_RKEY_MAX, "idem:staff:%s:%s:%s:%s", who ? who : "",
                     action ? action : "", id, key) < 0)
        return -ZQ_EINVAL;
    return 0;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

int zq_staff_write_reply(const redisReply *r, const char *what, const char **status, char cur[24],
                         zq_err *err)
{
    if (zq_store_reply_unavailable(r))
        return zq_err_set(err, ZQ_EUNAVAIL, "staff: redis refuses writes: %s", r->str);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return zq_err_set(err, ZQ_EREPLY, "staff: %s failed: %s", what,
                          r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    if (cur != NULL)
        zq_staff_copy_str(cur, 24, r->element[1]);
    *status = r->element[0]->str;
    return 0;
}

int zq_staff_update(zq_store *st, const zq_case_update *u, char *cur, zq_err *err)
{
    const char *argv[64], *status = "";
    char loglen[24] = "", now[24], iscore[24] = "", start[ZQ_DATE_STRLEN] = "",
         due[ZQ_DATE_STRLEN] = "", limit[16] = "", score[16] = "", nx[16], rkey[IDEM_RKEY_MAX];
    char *entry = NULL;
    redisReply *r = NULL;
    zq_buf sum = {0};
    int argc = 0, nfields = 0, rc = 0, bad = 0;
    bool with_sum = false;

    if (u->expect_loglen >= 0)
        bad |= zq_fmt(loglen, sizeof(loglen), "%lld", u->expect_loglen);
    bad |= zq_fmt(now, sizeof(now), "%lld", (long long)u->now_ms);
    if (u->log_entry != NULL) {
        entry = json_dumps(u->log_entry, JSON_COMPACT);
        if (entry == NULL)
            return zq_err_set(err, ZQ_ENOMEM, "staff: cannot encode history entry");
    }
    argv[argc++] = zq_store_prefix(st);
    argv[argc++] = u->id;
    argv[argc++] = u->expect_status;
    argv[argc++] = loglen;
    argv[argc++] = u->new_status ? u->new_status : "";
    argv[argc++] = entry ? entry : "";
    argv[argc++] = now;
    if (u->due == NULL) {
        int i;
        for (i = 0; i < 6; i++)
            argv[argc++] = "-";
    } else {
        bool on = u->due->clock != ZQ_WF_CLOCK_NONE;
        if (on) {
            zq_date_format(u->due->start, start, sizeof(start));
            zq_date_format(u->due->due, due, sizeof(due));
            bad |= zq_fmt(limit, sizeof(limit), "%d", u->due->limit);
            bad |= zq_fmt(score, sizeof(score), "%lld", (long long)zq_wf_date_score(u->due->due));
        }
        argv[argc++] = zq_wf_clock_name(u->due->clock);
        argv[argc++] = start;
        argv[argc++] = due;
        argv[argc++] = limit;
        argv[argc++] = on && u->due->extended ? "1" : "";
        argv[argc++] = score;
    }
    while (u->fields != NULL && u->fields[2 * (size_t)nfields] != NULL && nfields < 16)
        nfields++;
    /* A case stored without a list summary gets one (summary.h). */
    if (u->row != NULL && u->row->found && !u->row->has_summary && u->row->answers != NULL) {
        zq_summary s;
        zq_summary_from_answers(u->row->form, u->row->answers, &s);
        with_sum = zq_summary_pack(&s, &sum) == 0;
    }
    bad |= zq_fmt(nx, sizeof(nx), "%d", nfields + with_sum);
    argv[argc++] = nx;
    for (int i = 0; i < 2 * nfields; i++)
        argv[argc++] = u->fields[i] ? u->fields[i] : "";
    if (with_sum) {
        argv[argc++] = "list_sum";
        argv[argc++] = sum.data;
    }
    argv[argc++] = u->event ? "1" : "0";
    argv[argc++] = nz(u->public_note);
    argv[argc++] = nz(u->audit->who);
    argv[argc++] = nz(u->audit->role);
    argv[argc++] = nz(u->audit->action);
    argv[argc++] = nz(u->audit->addr);
    argv[argc++] = nz(u->audit->detail);
    argv[argc++] = nz(u->audit->rid);
    if (idem_rkey(st, u->audit->who, u->audit->action, u->id, u->idem_key, rkey) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "staff: idempotency key too long");
        goto out;
    }
    if (bad != 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "staff: update arguments too long");
        goto out;
    }
    argv[argc++] = rkey;
    argv[argc++] = ZQ_STAFF_STR(ZQ_STAFF_IDEM_TTL_S);
    argv[argc++] = nz(u->index);
    if (u->index != NULL && zq_fmt(iscore, sizeof(iscore), "%lld", (long long)u->index_score) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "staff: bad index score");
        goto out;
    }
    argv[argc++] = iscore;
    r = zq_store_script(st, err, &update_script, 0, argc, argv, NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if ((rc = zq_staff_write_reply(r, "update", &status, cur, err)) < 0)
        goto out;
    if (strcmp(status, "missing") == 0)
        rc = zq_err_set(err, ZQ_ENOTFOUND, "case %s not found", u->id);
    else if (strcmp(status, "conflict") == 0)
        rc = zq_err_set(err, ZQ_ECONFLICT, "case %s changed meanwhile", u->id);
    else
        rc = zq_store_wait(st, err); /* acknowledged once a replica has it */
out:
    if (r != NULL)
        freeReplyObject(r);
    zq_buf_free(&sum);
    free(entry);
    return rc;
}

int zq_staff_add_note(zq_store *st, const char *id, const char *note_json, const zq_audit *a,
                      const char *idem_key, zq_err *err)
{
    char at[24], rkey[IDEM_RKEY_MAX];
    const char *argv[13];
    redisReply *r;
    int rc = 0;

    if (idem_rkey(st, a->who, a->action, id, idem_key, rkey) < 0)
        return zq_err_set(err, ZQ_EINVAL, "staff: idempotency key too long");
    if (zq_fmt(at, sizeof(at), "%lld", (long long)(a->at_ms ? a->at_ms : zq_now_ms())) < 0)
        return zq_err_set(err, ZQ_EINVAL, "staff: bad time");
    argv[0] = zq_store_prefix(st);
    argv[1] = id;
    argv[2] = note_json;
    argv[3] = ZQ_STAFF_STR(ZQ_STAFF_NOTES_MAX);
    argv[4] = at;
    argv[5] = nz(a->who);
    argv[6] = nz(a->role);
    argv[7] = nz(a->action);
    argv[8] = nz(a->addr);
    argv[9] = nz(a->detail);
    argv[10] = nz(a->rid);
    argv[11] = rkey;
    argv[12] = ZQ_STAFF_STR(ZQ_STAFF_IDEM_TTL_S);
    r = zq_store_script(st, err, &note_script, 0, 13, argv, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (zq_store_reply_unavailable(r))
        rc = zq_err_set(err, ZQ_EUNAVAIL, "staff: redis refuses writes: %s", r->str);
    else if (r->type != REDIS_REPLY_INTEGER)
        rc = zq_err_set(err, ZQ_EREPLY, "staff: note failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    else if (r->integer == -1)
        rc = zq_err_set(err, ZQ_ENOTFOUND, "case %s not found", id);
    else if (r->integer == -2)
        rc = zq_err_set(err, ZQ_ETOOBIG, "case %s has too many notes", id);
    freeReplyObject(r);
    if (rc == 0)
        rc = zq_store_wait(st, err);
    return rc;
}

int zq_staff_idem_find(zq_store *st, const char *who, const char *action, const char *id,
                       const char *key, char **val, zq_err *err)
{
    char rkey[IDEM_RKEY_MAX];
    redisReply *r;
    int rc = 0;

    if (val != NULL)
        *val = NULL;
    if (key == NULL || idem_rkey(st, who, action, id, key, rkey) < 0)
        return zq_err_set(err, ZQ_EINVAL, "staff: bad idempotency key");
    r = zq_store_command(st, err, "GET %s", rkey);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_STRING) {
        rc = 1;
        if (val != NULL) {
            *val = strndup(r->str, r->len);
            if (*val == NULL)
                rc = zq_err_set(err, ZQ_ENOMEM, "staff: out of memory");
        }
    } else if (r->type == REDIS_REPLY_ERROR) {
        rc = zq_err_set(err, ZQ_EUNAVAIL, "staff: idempotency lookup: %s", r->str);
    }
    freeReplyObject(r);
    return rc;
}

int zq_staff_load_list(zq_store *st, const char *id, const char *which, long max, json_t **out,
                       zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX];
    redisReply *r;
    size_t i;

    *out = NULL;
    if (zq_store_key(st, key, sizeof(key), "case:%s:%s", id, which) < 0)
        return zq_err_set(err, ZQ_EINVAL, "staff: case id too long for a key");
    r = zq_store_command(st, err, "LRANGE %s 0 %ld", key, max - 1);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    *out = json_array();
    if (r->type == REDIS_REPLY_ARRAY)
        for (i = 0; i < r->elements; i++) {
            json_t *e = json_loadb(r->element[i]->str, r->element[i]->len, 0, NULL);
            if (e != NULL)
                json_array_append_new(*out, e);
        }
    freeReplyObject(r);
    return 0;
}

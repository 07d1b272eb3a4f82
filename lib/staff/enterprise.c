/* The enterprise's own actions on its case, made after it proved the
 * case's mobile by SMS code: withdrawing it before a decision (a status
 * move through zq_staff_update, the enterprise as the actor) and
 * evaluating it once closed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staff_int.h"

/* The actor the history, the audit log and the event name. */
#define ACTOR "enterprise"

/* The audit entry of an enterprise action on case id. */
static void audit_of(const zq_staff_act *act, const char *action, const char *id, zq_audit *a)
{
    *a = act->audit;
    a->who = ACTOR;
    a->role = ACTOR;
    a->action = action;
    a->target = id;
    a->at_ms = act->now_ms;
}

int zq_staff_withdraw(zq_store *st, const zq_staff_case *c, const char *reason,
                      const zq_staff_act *act, zq_err *err)
{
    char note[ZQ_STAFF_REASON_MAX * 4 + 32], at[24], detail[64];
    const char *fields[8];
    zq_deadline none;
    zq_case_update u;
    zq_audit a;
    json_t *entry = NULL;
    int rc, nf = 0;

    if (!zq_wf_withdrawable(c->row.form, c->row.status))
        return zq_err_set(err, ZQ_ECONFLICT, "case %s cannot be withdrawn in status %s", c->row.id,
                          c->row.status);
    if (zq_fmt(note, sizeof(note), "企业撤回%s%s", reason && *reason ? "：" : "",
               reason ? reason : "") < 0 ||
        zq_fmt(at, sizeof(at), "%lld", (long long)act->now_ms) < 0 ||
        zq_fmt(detail, sizeof(detail), "from=%s", c->row.status) < 0)
        return zq_err_set(err, ZQ_EINVAL, "staff: withdrawal reason too long");
    /* The note is the staff's line, the message the enterprise's own
     * words shown back to it on the lookup page. */
    entry = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "at_ms", (json_int_t)act->now_ms,
                      "from", c->row.status, "to", "withdrawn", "by", ACTOR, "actor", ACTOR, "note",
                      note, "message", note, "public", 1);
    if (entry == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "staff: out of memory");
        goto out;
    }
    if (reason != NULL && *reason != '\0')
        json_object_set_new(entry, "reason", json_string(reason));
    audit_of(act, "case_withdraw", c->row.id, &a);
    a.detail = detail;
    /* A final status: no clock runs, the case leaves cases:due. */
    memset(&none, 0, sizeof(none));
    fields[nf++] = "withdrawn_by";
    fields[nf++] = ACTOR;
    fields[nf++] = "withdrawn_ms";
    fields[nf++] = at;
    fields[nf] = NULL;
    memset(&u, 0, sizeof(u));
    u.id = c->row.id;
    u.expect_status = c->row.status;
    u.expect_loglen = (long long)json_array_size(c->log);
    u.new_status = "withdrawn";
    u.log_entry = entry;
    u.due = &none;
    u.fields = fields;
    u.event = true;
    u.public_note = note;
    u.audit = &a;
    u.now_ms = act->now_ms;
    u.row = &c->row;
    u.index = "cases:withdrawn";
    u.index_score = act->now_ms;
    rc = zq_staff_update(st, &u, NULL, err);
out:
    json_decref(entry);
    return rc;
}

/* KEYS: none (the prefix is ARGV[1], as in update.c). ARGV: prefix, id,
 * rating, comment ("" none), now, history entry, audit who, action, addr,
 * detail, rid. The check (closed, not rated) and the write are one step,
 * so that two evaluations posted together record one. */
static zq_script evaluate_script = {
    .src = ZQ_SUMMARY_LUA_PACK_ROW
    "local p, id = ARGV[1], ARGV[2]\n"
    "local ck = p .. 'case:' .. id\n"
    "local h = redis.call('HMGET', ck, 'status', 'rating')\n"
    "if not h[1] then return {'missing', ''} end\n"
    "if h[2] then return {'rated', h[2]} end\n"
    "if h[1] ~= 'closed' then return {'conflict', h[1]} end\n"
    "redis.call('HSET', ck, 'rating', ARGV[3], 'rated_ms', ARGV[5], 'updated_ms', ARGV[5])\n"
    "if ARGV[4] ~= '' then redis.call('HSET', ck, 'rating_comment', ARGV[4]) end\n"
    "zq_pack_row(ck)\n"
    "redis.call('RPUSH', ck .. ':log', ARGV[6])\n"
    "redis.call('XADD', p .. 'audit', '*', 'at_ms', ARGV[5], 'who', ARGV[7], 'role', ARGV[7],\n"
    "  'action', ARGV[8], 'target', id, 'addr', ARGV[9], 'detail', ARGV[10], 'rid', ARGV[11])\n"
    "return {'ok', h[1]}\n"};

int zq_staff_evaluate(zq_store *st, const char *id, const char *rating, const char *comment,
                      const zq_staff_act *act, char cur[24], zq_err *err)
{
    const char *label = zq_wf_rating_label(rating), *argv[11], *status = "";
    char now[24], detail[64];
    json_t *entry = NULL;
    char *dump = NULL;
    redisReply *r = NULL;
    int rc = 0;

    if (cur != NULL)
        cur[0] = '\0';
    if (label == NULL)
        return zq_err_set(err, ZQ_EINVAL, "staff: unknown rating");
    if (comment == NULL)
        comment = "";
    if (zq_fmt(now, sizeof(now), "%lld", (long long)act->now_ms) < 0 ||
        zq_fmt(detail, sizeof(detail), "rating=%s", rating) < 0)
        return zq_err_set(err, ZQ_EINVAL, "staff: bad evaluation");
    /* Internal to the history: the public view lists status changes only. */
    entry = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "kind", "evaluation", "at_ms",
                      (json_int_t)act->now_ms, "by", ACTOR, "rating", rating, "rating_label", label,
                      "note", comment);
    dump = entry ? json_dumps(entry, JSON_COMPACT) : NULL;
    if (dump == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "staff: out of memory");
        goto out;
    }
    argv[0] = zq_store_prefix(st);
    argv[1] = id;
    argv[2] = rating;
    argv[3] = comment;
    argv[4] = now;
    argv[5] = dump;
    argv[6] = ACTOR;
    argv[7] = "case_evaluate";
    argv[8] = act->audit.addr ? act->audit.addr : "";
    argv[9] = detail;
    argv[10] = act->audit.rid ? act->audit.rid : "";
    r = zq_store_script(st, err, &evaluate_script, 0, 11, argv, NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if ((rc = zq_staff_write_reply(r, "evaluation", &status, cur, err)) < 0)
        goto out;
    if (strcmp(status, "missing") == 0)
        rc = zq_err_set(err, ZQ_ENOTFOUND, "case %s not found", id);
    else if (strcmp(status, "rated") == 0)
        rc = zq_err_set(err, ZQ_EBUSY, "case %s was evaluated already", id);
    else if (strcmp(status, "conflict") == 0)
        rc = zq_err_set(err, ZQ_ECONFLICT, "case %s is not closed", id);
    else
        rc = zq_store_wait(st, err);
out:
    if (r != NULL)
        freeReplyObject(r);
    free(dump);
    json_decref(entry);
    return rc;
}

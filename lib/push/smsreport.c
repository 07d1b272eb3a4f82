/* Case history lines of progress SMS (include/zhuqi/smsreport.h). */
#include "zhuqi/smsreport.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/buf.h"
#include "zhuqi/cases.h"

/* KEYS: per report 1 mark, 2 case, 3 case log, 4 the entry's done mark.
 * ARGV: 1 mark ttl, then per report its line (JSON) and "1" when the line
 * says the SMS failed. Returns per report 1 when its line was pushed. A
 * failure line is not pushed when the entry is marked done: another
 * delivery of the same SMS got through (the failure is then not true).
 * One call for a batch: one round trip, not one each. */
static zq_script report_script = {
    .src = "local out = {}\n"
           "for i = 1, #KEYS / 4 do\n"
           "  local b = (i - 1) * 4\n"
           "  out[i] = 0\n"
           "  if redis.call('EXISTS', KEYS[b + 2]) == 1 and\n"
           "     (ARGV[2 * i + 1] ~= '1' or redis.call('EXISTS', KEYS[b + 4]) == 0) and\n"
           "     redis.call('SET', KEYS[b + 1], '1', 'NX', 'EX', ARGV[1]) then\n"
           "    redis.call('RPUSH', KEYS[b + 3], ARGV[2 * i])\n"
           "    out[i] = 1\n"
           "  end\n"
           "end\n"
           "return out\n"};

char *zq_smsreport_note(bool ok, const char *status, const char *reason, char *out, size_t outsz)
{
    int rc;

    if (ok)
        rc = zq_fmt(out, outsz, "短信已发送（%s）", zq_case_status_label(status ? status : ""));
    else
        rc = zq_fmt(out, outsz, "短信发送失败：%s", reason && *reason ? reason : "原因不明");
    if (rc == -ZQ_ETOOBIG)
        out[zq_utf8_cut(out, strlen(out), outsz - 1)] = '\0';
    else if (rc < 0)
        out[0] = '\0';
    return out;
}

/* The case and the use in notice's meta; false when it has none. */
static bool meta_case(const char *meta, size_t len, char id[ZQ_CASE_ID_MAX], char use[32])
{
    json_t *m = json_loadb(meta, len, 0, NULL);
    const char *type = json_string_value(json_object_get(m, "type"));
    const char *c = json_string_value(json_object_get(m, "case"));
    const char *u = json_string_value(json_object_get(m, "use"));
    bool ok = type != NULL && strcmp(type, "sms") == 0 && c != NULL && zq_case_id_valid(c) &&
              zq_fmt(id, ZQ_CASE_ID_MAX, "%s", c) == 0 && zq_fmt(use, 32, "%s", u ? u : "") == 0;

    json_decref(m);
    return ok;
}

int zq_smsreport_write(zq_store *st, const char *notice, bool ok, const char *reason,
                       int64_t now_ms, zq_err *err)
{
    zq_smsreport_op op = {notice, ok, reason};
    int result = 0, rc = zq_smsreport_write_all(st, &op, 1, now_ms, &result, err);

    return rc < 0 ? rc : result;
}

/* One report's keys and line, between the two round trips. */
typedef struct report {
    char keys[4][ZQ_STORE_KEY_MAX];
    char *line; /* NULL: no line due */
} report;

/* Builds r for op from its notice's meta reply m. Returns 0 (r->line
 * NULL when no line is due) or a negative code. */
static int report_prepare(zq_store *st, const zq_smsreport_op *op, const redisReply *m,
                          int64_t now_ms, report *r, zq_err *err)
{
    char id[ZQ_CASE_ID_MAX], use[32], note[512];
    json_t *line;

    r->line = NULL;
    if (m->type == REDIS_REPLY_ERROR)
        return zq_err_set(err, ZQ_EREPLY, "smsreport: %s", m->str);
    if (m->type != REDIS_REPLY_STRING || !meta_case(m->str, m->len, id, use))
        return 0;
    if (zq_store_key(st, r->keys[0], ZQ_STORE_KEY_MAX, "smsrep:%s", op->notice) < 0 ||
        zq_store_key(st, r->keys[1], ZQ_STORE_KEY_MAX, "case:%s", id) < 0 ||
        zq_store_key(st, r->keys[2], ZQ_STORE_KEY_MAX, "case:%s:log", id) < 0 ||
        zq_store_key(st, r->keys[3], ZQ_STORE_KEY_MAX, "done:%s:%s", op->notice,
                     op->target ? op->target : "") < 0)
        return zq_err_set(err, ZQ_EINVAL, "smsreport: key too long");
    zq_smsreport_note(op->ok, use, op->reason, note, sizeof(note));
    line = json_pack("{s:s, s:I, s:s, s:s, s:b, s:s}", "kind", "sms", "at_ms", (json_int_t)now_ms,
                     "by", "系统", "status", use, "ok", op->ok, "note", note);
    r->line = line ? json_dumps(line, JSON_COMPACT) : NULL;
    json_decref(line);
    return r->line != NULL ? 0 : zq_err_set(err, ZQ_ENOMEM, "smsreport: out of memory");
}

int zq_smsreport_write_all(zq_store *st, const zq_smsreport_op *ops, int n, int64_t now_ms,
                           int *results, zq_err *err)
{
    char k_notice[ZQ_STORE_KEY_MAX], ttl[16];
    redisReply **metas = NULL, *r = NULL;
    report *reps = NULL;
    const char **argv = NULL;
    int *which = NULL, nkeys = 0, nlines = 0, rc = 0;

    for (int i = 0; i < n; i++)
        results[i] = 0;
    if (n <= 0)
        return 0;
    metas = calloc((size_t)n, sizeof(redisReply *));
    reps = calloc((size_t)n, sizeof(*reps));
    argv = calloc(6 * (size_t)n + 1, sizeof(*argv));
    which = calloc((size_t)n, sizeof(*which));
    if (metas == NULL || reps == NULL || argv == NULL || which == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "smsreport: out of memory");
        goto out;
    }
    /* Every notice's meta in one round trip (a notice id too long for a
     * key asks for a key that cannot exist: no line, as for no meta). */
    for (int i = 0; i < n; i++) {
        const char *hget[3] = {"HGET", k_notice, "meta"};

        if (zq_store_key(st, k_notice, sizeof(k_notice), "notice:%s", ops[i].notice) < 0)
            k_notice[0] = '\0';
        zq_store_appendv(st, 3, hget, NULL);
    }
    if (zq_store_read_replies(st, err, n, metas) < 0) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        int prc = report_prepare(st, &ops[i], metas[i], now_ms, &reps[i], err);

        if (prc < 0 && rc == 0)
            rc = prc;
        if (reps[i].line == NULL)
            continue;
        for (int k = 0; k < 4; k++)
            argv[nkeys++] = reps[i].keys[k];
        which[nlines++] = i;
    }
    if (nlines == 0 || zq_fmt(ttl, sizeof(ttl), "%d", ZQ_SMSREPORT_MARK_TTL_S) < 0)
        goto out;
    argv[nkeys] = ttl;
    for (int l = 0; l < nlines; l++) {
        const zq_smsreport_op *op = &ops[which[l]];

        argv[nkeys + 1 + 2 * l] = reps[which[l]].line;
        argv[nkeys + 2 + 2 * l] = !op->ok && op->target != NULL ? "1" : "0";
    }
    r = zq_store_script(st, err, &report_script, nkeys, nkeys + 1 + 2 * nlines, argv, NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)nlines) {
        for (int l = 0; l < nlines; l++)
            results[which[l]] =
                r->element[l]->type == REDIS_REPLY_INTEGER && r->element[l]->integer == 1;
    } else {
        rc = zq_err_set(err, ZQ_EREPLY, "smsreport: script failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    }
out:
    if (r != NULL)
        freeReplyObject(r);
    for (int i = 0; metas != NULL && i < n; i++)
        if (metas[i] != NULL)
            freeReplyObject(metas[i]);
    for (int i = 0; reps != NULL && i < n; i++)
        free(reps[i].line);
    free(metas);
    free(reps);
    free(argv);
    free(which);
    return rc;
}

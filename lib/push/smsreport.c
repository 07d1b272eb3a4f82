/* Case history lines of progress SMS (include/zhuqi/smsreport.h). */
#include "zhuqi/smsreport.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/buf.h"
#include "zhuqi/cases.h"

/* KEYS: 1 mark, 2 case, 3 case log. ARGV: 1 line (JSON), 2 mark ttl.
 * Returns 1 when the line was pushed. */
static zq_script report_script = {
    .src = "if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end\n"
           "if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return 0 end\n"
           "redis.call('RPUSH', KEYS[3], ARGV[1])\n"
           "return 1\n"};

char *zq_smsreport_note(bool ok, const char *status, const char *reason, char *out,
                        size_t outsz)
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
              zq_fmt(id, ZQ_CASE_ID_MAX, "%s", c) == 0 &&
              zq_fmt(use, 32, "%s", u ? u : "") == 0;

    json_decref(m);
    return ok;
}

int zq_smsreport_write(zq_store *st, const char *notice, bool ok, const char *reason,
                       int64_t now_ms, zq_err *err)
{
    char k_notice[ZQ_STORE_KEY_MAX], keys[3][ZQ_STORE_KEY_MAX], id[ZQ_CASE_ID_MAX], use[32];
    char note[512], ttl[16];
    const char *argv[5];
    redisReply *r;
    json_t *line = NULL;
    char *line_s = NULL;
    int rc = 0;

    if (zq_store_key(st, k_notice, sizeof(k_notice), "notice:%s", notice) < 0)
        return zq_err_set(err, ZQ_EINVAL, "smsreport: notice id too long");
    r = zq_store_command(st, err, "HGET %s meta", k_notice);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type != REDIS_REPLY_STRING || !meta_case(r->str, r->len, id, use)) {
        rc = r->type == REDIS_REPLY_ERROR ? zq_err_set(err, ZQ_EREPLY, "smsreport: %s", r->str)
                                          : 0;
        freeReplyObject(r);
        return rc;
    }
    freeReplyObject(r);
    zq_smsreport_note(ok, use, reason, note, sizeof(note));
    line = json_pack("{s:s, s:I, s:s, s:s, s:b, s:s}", "kind", "sms", "at_ms", (json_int_t)now_ms,
                     "by", "系统", "status", use, "ok", ok, "note", note);
    line_s = line ? json_dumps(line, JSON_COMPACT) : NULL;
    if (line_s == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "smsreport: out of memory");
        goto out;
    }
    if (zq_store_key(st, keys[0], ZQ_STORE_KEY_MAX, "smsrep:%s", notice) < 0 ||
        zq_store_key(st, keys[1], ZQ_STORE_KEY_MAX, "case:%s", id) < 0 ||
        zq_store_key(st, keys[2], ZQ_STORE_KEY_MAX, "case:%s:log", id) < 0 ||
        zq_fmt(ttl, sizeof(ttl), "%d", ZQ_SMSREPORT_MARK_TTL_S) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "smsreport: key too long");
        goto out;
    }
    argv[0] = keys[0];
    argv[1] = keys[1];
    argv[2] = keys[2];
    argv[3] = line_s;
    argv[4] = ttl;
    r = zq_store_script(st, err, &report_script, 3, 5, argv, NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (r->type == REDIS_REPLY_INTEGER)
        rc = r->integer == 1 ? 1 : 0;
    else
        rc = zq_err_set(err, ZQ_EREPLY, "smsreport: script failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
out:
    free(line_s);
    json_decref(line);
    return rc;
}

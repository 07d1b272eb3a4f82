/* The enterprise's answer to a request for more material (see
 * include/zhuqi/supplement.h). One script stores all of it or nothing:
 * the files, the history entry, the status with its indexes and deadline,
 * the list row and the event. */
#include "zhuqi/supplement.h"

#include <stdlib.h>
#include <string.h>

#include "zhuqi/files.h"
#include "zhuqi/summary.h"

/* ARGV: prefix, id, history length, entry, now, due_kind, due_start,
 * due_date, due_limit, due_ext, due score, session key, session field,
 * records (JSON array), public entries (JSON array), pending key, sid. */
static zq_script submit_script = {
    .src =
        "local p, id = ARGV[1], ARGV[2]\n"
        "local ck = p .. 'case:' .. id\n"
        "local cur = redis.call('HGET', ck, 'status')\n"
        "if not cur then return {'missing', ''} end\n"
        "if cur ~= 'needs_info' or redis.call('LLEN', ck .. ':log') ~= tonumber(ARGV[3]) then\n"
        "  return {'conflict', cur}\n"
        "end\n"
        "local recs, pubs = cjson.decode(ARGV[14]), cjson.decode(ARGV[15])\n"
        "if #recs > 0 then\n"
        "  local sl = redis.call('HGET', ARGV[12], ARGV[13])\n"
        "  local list = sl and cjson.decode(sl) or {}\n"
        "  local have, take, keep = {}, {}, {}\n"
        "  for _, r in ipairs(list) do have[r.id] = true end\n"
        "  for _, r in ipairs(recs) do\n"
        "    if not have[r.id] then return {'gone', r.id} end\n"
        "    take[r.id] = true\n"
        "  end\n"
        "  for _, r in ipairs(list) do\n"
        "    if not take[r.id] then keep[#keep + 1] = r end\n"
        "  end\n"
        "  if #keep == 0 then redis.call('HDEL', ARGV[12], ARGV[13])\n"
        "  else redis.call('HSET', ARGV[12], ARGV[13], cjson.encode(keep)) end\n"
        "  for i, f in ipairs({'files_more', 'files_pub'}) do\n"
        "    local c = redis.call('HGET', ck, f)\n"
        "    local l = c and cjson.decode(c) or {}\n"
        "    for _, r in ipairs(i == 1 and recs or pubs) do l[#l + 1] = r end\n"
        "    redis.call('HSET', ck, f, cjson.encode(l))\n"
        "  end\n"
        "  for _, r in ipairs(recs) do redis.call('ZREM', ARGV[16], r.id .. ':' .. ARGV[17]) end\n"
        "end\n"
        "local h = redis.call('HMGET', ck, 'created_ms', 'form', 'source')\n"
        "redis.call('ZREM', p .. 'cases:status:needs_info', id)\n"
        "redis.call('ZADD', p .. 'cases:status:submitted', h[1] or ARGV[5], id)\n"
        "redis.call('HSET', ck, 'status', 'submitted', 'updated_ms', ARGV[5], 'due_kind',\n"
        "  ARGV[6], 'due_start', ARGV[7], 'due_date', ARGV[8], 'due_limit', ARGV[9],\n"
        "  'due_ext', ARGV[10])\n"
        "if ARGV[11] == '' then redis.call('ZREM', p .. 'cases:due', id)\n"
        "else redis.call('ZADD', p .. 'cases:due', ARGV[11], id) end\n" ZQ_SUMMARY_LUA_PACK_ROW
        "zq_pack_row(ck)\n"
        "redis.call('RPUSH', ck .. ':log', ARGV[4])\n"
        "redis.call('XADD', p .. 'events', 'MAXLEN', '~', '100000', '*', 'type', 'case_status',\n"
        "  'id', id, 'form', h[2] or '', 'from', cur, 'to', 'submitted', 'by', 'enterprise',\n"
        "  'note', '', 'source', h[3] or '', 'at_ms', ARGV[5])\n"
        "return {'ok', cur}\n"};

/* The label of kind in form f, or the kind itself. */
static const char *kind_label(const zq_form *f, const char *kind)
{
    const zq_field *fld = zq_files_field_for_kind(f, kind);
    size_t k;

    for (k = 0; fld != NULL && k < fld->nkinds; k++)
        if (strcmp(fld->kinds[k].value, kind) == 0)
            return fld->kinds[k].label;
    return kind ? kind : "";
}

static const char *str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "";
}

/* The history entry, the records for files_more and the public entries.
 * Returns 0 or -ZQ_ENOMEM. */
static int build(const zq_case *c, const zq_supplement_in *in, json_t **entry, json_t **recs,
                 json_t **pubs)
{
    json_t *files = json_array(), *rec;
    size_t i;
    int bad = 0;

    *recs = json_array();
    *pubs = json_array();
    json_array_foreach(in->files, i, rec)
    {
        const char *kind = str_of(rec, "kind");
        const char *label = kind_label(in->form, kind);
        json_int_t size = json_integer_value(json_object_get(rec, "size"));
        json_t *r = json_deep_copy(rec);

        /* The session's record says "web"; in the case it is the answer's. */
        bad |= r == NULL || json_object_set_new(r, "by", json_string("supplement")) < 0;
        bad |= json_array_append_new(*recs, r) < 0;
        bad |= json_array_append_new(*pubs, json_pack("{s:s, s:s, s:I}", "kind", label, "name",
                                                      str_of(rec, "name"), "size", size)) < 0;
        bad |= json_array_append_new(files, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "id",
                                                      str_of(rec, "id"), "kind", kind, "kind_label",
                                                      label, "name", str_of(rec, "name"), "size",
                                                      size, "type", str_of(rec, "type"))) < 0;
    }
    *entry = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:b, s:i, s:{s:s, s:O}}", "kind", "status",
                       "at_ms", (json_int_t)in->now_ms, "from", "needs_info", "to", "submitted",
                       "by", "enterprise", "note", "", "public", 0, "waited_workdays",
                       zq_wf_waited(in->cal, zq_wf_last_request(c->history, NULL), in->now_ms),
                       "supplement", "text", in->text ? in->text : "", "files", files);
    json_decref(files);
    if (bad || *entry == NULL || *recs == NULL || *pubs == NULL)
        return -ZQ_ENOMEM;
    return 0;
}

int zq_supplement_submit(zq_store *st, const zq_case *c, const zq_supplement_in *in, char *cur,
                         zq_err *err)
{
    char loglen[24], now[24], start[ZQ_DATE_STRLEN] = "", due[ZQ_DATE_STRLEN] = "", limit[16] = "",
                              score[16] = "", skey[160], field[64], pending[64];
    char *entry_s = NULL, *recs_s = NULL, *pubs_s = NULL;
    json_t *entry = NULL, *recs = NULL, *pubs = NULL, *hist = NULL;
    const char *argv[17];
    redisReply *r = NULL;
    zq_deadline d;
    int rc = 0;

    if (cur != NULL)
        cur[0] = '\0';
    if (build(c, in, &entry, &recs, &pubs) < 0 || (hist = json_copy(c->history)) == NULL ||
        json_array_append(hist, entry) < 0) {
        rc = zq_err_set(err, ZQ_ENOMEM, "supplement: out of memory");
        goto out;
    }
    /* The review deadline as the history will have it. */
    zq_wf_deadline(in->cal, in->lim, c->form, "submitted", hist, c->created_ms, &d);
    if (d.clock != ZQ_WF_CLOCK_NONE) {
        zq_date_format(d.start, start, sizeof(start));
        zq_date_format(d.due, due, sizeof(due));
    }
    entry_s = json_dumps(entry, JSON_COMPACT);
    recs_s = json_dumps(recs, JSON_COMPACT);
    pubs_s = json_dumps(pubs, JSON_COMPACT);
    if (entry_s == NULL || recs_s == NULL || pubs_s == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "supplement: cannot encode");
        goto out;
    }
    if (zq_fmt(loglen, sizeof(loglen), "%zu", json_array_size(c->history)) < 0 ||
        zq_fmt(now, sizeof(now), "%lld", (long long)in->now_ms) < 0 ||
        (d.clock != ZQ_WF_CLOCK_NONE &&
         (zq_fmt(limit, sizeof(limit), "%d", d.limit) < 0 ||
          zq_fmt(score, sizeof(score), "%lld", (long long)zq_wf_date_score(d.due)) < 0)) ||
        zq_store_key(st, skey, sizeof(skey), "sess:%s", in->sid) < 0 ||
        zq_fmt(field, sizeof(field), "s:%s", c->id) < 0 ||
        zq_store_key(st, pending, sizeof(pending), "files:pending") < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "supplement: arguments too long");
        goto out;
    }
    argv[0] = zq_store_prefix(st);
    argv[1] = c->id;
    argv[2] = loglen;
    argv[3] = entry_s;
    argv[4] = now;
    argv[5] = zq_wf_clock_name(d.clock);
    argv[6] = start;
    argv[7] = due;
    argv[8] = limit;
    argv[9] = "";
    argv[10] = score;
    argv[11] = skey;
    argv[12] = field;
    argv[13] = recs_s;
    argv[14] = pubs_s;
    argv[15] = pending;
    argv[16] = in->sid;
    r = zq_store_script(st, err, &submit_script, 0, 17, argv, NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (zq_store_reply_unavailable(r)) {
        rc = zq_err_set(err, ZQ_EUNAVAIL, "supplement: redis refuses writes: %s", r->str);
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) {
        rc = zq_err_set(err, ZQ_EREPLY, "supplement: failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    if (strcmp(r->element[0]->str, "missing") == 0) {
        rc = zq_err_set(err, ZQ_ENOTFOUND, "case %s not found", c->id);
    } else if (strcmp(r->element[0]->str, "conflict") == 0) {
        if (cur != NULL && r->element[1]->len < 24) {
            memcpy(cur, r->element[1]->str, r->element[1]->len);
            cur[r->element[1]->len] = '\0';
        }
        rc = zq_err_set(err, ZQ_ECONFLICT, "case %s changed meanwhile", c->id);
    } else if (strcmp(r->element[0]->str, "gone") == 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "supplement: file %s is not an upload of this session",
                        r->element[1]->str);
    } else {
        rc = zq_store_wait(st, err);
    }
out:
    if (r != NULL)
        freeReplyObject(r);
    free(entry_s);
    free(recs_s);
    free(pubs_s);
    json_decref(entry);
    json_decref(recs);
    json_decref(pubs);
    json_decref(hist);
    return rc;
}

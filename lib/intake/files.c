/* Evidence files' records in Redis (see include/zhuqi/files.h). A draft's
 * uploads are changed only by these scripts, each one atomic, so two
 * uploads at once cannot both pass the count limit, and a step save (which
 * writes the draft, not this list) never loses one. */
#include "zhuqi/files.h"

#include <stdlib.h>
#include <string.h>

#include "zhuqi/buf.h"
#include "zhuqi/log.h"

/* KEYS: session, pending. ARGV: list field, record, size, max files, max
 * bytes, ttl, now, pending member. An empty list is never stored (cjson
 * would write it as an object). */
static zq_script add_script = {
    .src = "if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0, 0} end\n"
           "local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
           "local list = cur and cjson.decode(cur) or {}\n" ZQ_FILES_LUA_APPEND
           "redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(list))\n"
           "redis.call('EXPIRE', KEYS[1], ARGV[6])\n"
           "redis.call('ZADD', KEYS[2], ARGV[7], ARGV[8])\n"
           "return {0, #list, total + tonumber(ARGV[3])}\n"};

/* KEYS: session, pending. ARGV: list field, file id, pending member. */
static zq_script remove_script = {
    .src = "local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
           "if not cur then return 0 end\n"
           "local keep, found = {}, false\n"
           "for _, r in ipairs(cjson.decode(cur)) do\n"
           "  if r.id == ARGV[2] then found = true else keep[#keep + 1] = r end\n"
           "end\n"
           "if not found then return 0 end\n"
           "if #keep == 0 then redis.call('HDEL', KEYS[1], ARGV[1])\n"
           "else redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(keep)) end\n"
           "redis.call('ZREM', KEYS[2], ARGV[3])\n"
           "return 1\n"};

/* KEYS: from session, to session, pending. ARGV: list field, from sid,
 * to sid, max files, max bytes, now, ttl. Moves what the to session's
 * limits take; answers {moved, left, the to list's JSON or ""}. A session
 * that has gone gets nothing (no hash without its TTL). */
static zq_script take_script = {
    .src = "if KEYS[1] == KEYS[2] or redis.call('EXISTS', KEYS[2]) == 0 then\n"
           "  return {0, 0, ''}\n"
           "end\n"
           "local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
           "local mine = redis.call('HGET', KEYS[2], ARGV[1])\n"
           "if not cur then return {0, 0, mine or ''} end\n"
           "local list = mine and cjson.decode(mine) or {}\n"
           "local total, keep, moved = 0, {}, 0\n"
           "for _, r in ipairs(list) do total = total + (tonumber(r.size) or 0) end\n"
           "for _, r in ipairs(cjson.decode(cur)) do\n"
           "  local size = tonumber(r.size) or 0\n"
           "  if type(r.id) == 'string' and #list < tonumber(ARGV[4]) and\n"
           "     total + size <= tonumber(ARGV[5]) then\n"
           "    list[#list + 1] = r\n"
           "    total, moved = total + size, moved + 1\n"
           "    redis.call('ZREM', KEYS[3], r.id .. ':' .. ARGV[2])\n"
           "    redis.call('ZADD', KEYS[3], ARGV[6], r.id .. ':' .. ARGV[3])\n"
           "  else\n"
           "    keep[#keep + 1] = r\n"
           "  end\n"
           "end\n"
           "if moved == 0 then return {0, #keep, mine or ''} end\n"
           "if #keep == 0 then redis.call('HDEL', KEYS[1], ARGV[1])\n"
           "else redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(keep)) end\n"
           "local enc = cjson.encode(list)\n"
           "redis.call('HSET', KEYS[2], ARGV[1], enc)\n"
           "redis.call('EXPIRE', KEYS[2], ARGV[7])\n"
           "return {moved, #keep, enc}\n"};

/* KEYS: pending. ARGV: stale before, now, max, key prefix. Members are
 * "{32 hex}:{sid}", or "{32 hex}:chat:{channel}:{user}" for a file sent in
 * a chat (chatmedia.h), which lives while that chat's state does. Returns
 * the file ids taken off the list. */
static zq_script sweep_script = {
    .src = "local gone = {}\n"
           "local ms = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0,\n"
           "  tonumber(ARGV[3]))\n"
           "for _, m in ipairs(ms) do\n"
           "  local owner = string.sub(m, 34)\n"
           "  if string.sub(owner, 1, 5) ~= 'chat:' then owner = 'sess:' .. owner end\n"
           "  if redis.call('EXISTS', ARGV[4] .. owner) == 1 then\n"
           "    redis.call('ZADD', KEYS[1], ARGV[2], m)\n"
           "  else\n"
           "    redis.call('ZREM', KEYS[1], m)\n"
           "    gone[#gone + 1] = string.sub(m, 1, 32)\n"
           "  end\n"
           "end\n"
           "return gone\n"};

/* KEYS: case. ARGV: record, public entry. */
static zq_script attach_script = {.src = "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
                                         "for i, f in ipairs({'files_more', 'files_pub'}) do\n"
                                         "  local cur = redis.call('HGET', KEYS[1], f)\n"
                                         "  local list = cur and cjson.decode(cur) or {}\n"
                                         "  list[#list + 1] = cjson.decode(ARGV[i])\n"
                                         "  redis.call('HSET', KEYS[1], f, cjson.encode(list))\n"
                                         "end\n"
                                         "return 1\n"};

const zq_field *zq_files_field_for_kind(const zq_form *f, const char *kind)
{
    size_t i, j, k;

    if (f == NULL || kind == NULL)
        return NULL;
    for (i = 0; i < f->nsteps; i++)
        for (j = 0; j < f->steps[i].nfields; j++) {
            const zq_field *fld = &f->steps[i].fields[j];

            if (fld->type != ZQ_FIELD_FILES)
                continue;
            for (k = 0; k < fld->nkinds; k++)
                if (strcmp(fld->kinds[k].value, kind) == 0)
                    return fld;
        }
    return NULL;
}

/* The session key, the list's field and the pending member. form "s:"
 * followed by a case number names a case's supplement list. */
static int names(zq_store *st, const char *sid, const char *form, const char *fid, char key[160],
                 char field[64], char member[128], char pending[64])
{
    if (zq_store_key(st, key, 160, "sess:%s", sid) < 0 ||
        (strncmp(form, "s:", 2) == 0 ? zq_fmt(field, 64, "%s", form)
                                     : zq_fmt(field, 64, "u:%s", form)) < 0 ||
        zq_fmt(member, 128, "%s:%s", fid, sid) < 0 ||
        zq_store_key(st, pending, 64, "files:pending") < 0)
        return -ZQ_ETOOBIG;
    return 0;
}

/* 0 for an integer reply element i, else -1. */
static long long int_at(const redisReply *r, size_t i)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements <= i ||
        r->element[i]->type != REDIS_REPLY_INTEGER)
        return -1;
    return r->element[i]->integer;
}

int zq_files_add_run(zq_store *st, zq_script *script, int nkeys, int argc, const char **argv,
                     json_t *rec, const zq_files_limits *lim, int *count, uint64_t *bytes,
                     zq_err *err)
{
    char size[24], maxf[16], maxb[24];
    char *enc = NULL;
    redisReply *r = NULL;
    long long status;
    int rc;

    if (!json_is_integer(json_object_get(rec, "size")) || argc < nkeys + 5)
        return zq_err_set(err, ZQ_EINVAL, "files: record without size");
    if (zq_fmt(size, sizeof(size), "%lld",
               (long long)json_integer_value(json_object_get(rec, "size"))) < 0 ||
        zq_fmt(maxf, sizeof(maxf), "%d", lim->max_files) < 0 ||
        zq_fmt(maxb, sizeof(maxb), "%llu", (unsigned long long)lim->max_bytes) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "files: an argument is too long");
    if ((enc = json_dumps(rec, JSON_COMPACT)) == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "files: cannot encode the record");
    argv[nkeys + 1] = enc;
    argv[nkeys + 2] = size;
    argv[nkeys + 3] = maxf;
    argv[nkeys + 4] = maxb;
    r = zq_store_script(st, err, script, nkeys, argc, argv, NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (zq_store_reply_unavailable(r)) {
        rc = zq_err_set(err, ZQ_EUNAVAIL, "files: %s", r->str);
        goto out;
    }
    status = int_at(r, 0);
    if (int_at(r, 1) < 0 || int_at(r, 2) < 0) {
        rc = zq_err_set(err, ZQ_EREPLY, "files: add failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    if (count != NULL)
        *count = (int)int_at(r, 1);
    if (bytes != NULL)
        *bytes = (uint64_t)int_at(r, 2);
    rc = status == 0    ? 0
         : status == -1 ? -ZQ_ENOTFOUND
         : status == -2 ? -ZQ_ECONFLICT
                        : -ZQ_ETOOBIG;
out:
    if (r != NULL)
        freeReplyObject(r);
    free(enc);
    return rc;
}

int zq_files_add(zq_store *st, const char *sid, const char *form, json_t *rec,
                 const zq_files_limits *lim, int ttl_s, int64_t now_ms, int *count, uint64_t *bytes,
                 zq_err *err)
{
    const char *fid = json_string_value(json_object_get(rec, "id"));
    char key[160], field[64], member[128], pending[64], ttl[16], now[24];

    if (fid == NULL)
        return zq_err_set(err, ZQ_EINVAL, "files: record without id or size");
    if (names(st, sid, form, fid, key, field, member, pending) < 0 ||
        zq_fmt(ttl, sizeof(ttl), "%d", ttl_s) < 0 ||
        zq_fmt(now, sizeof(now), "%lld", (long long)now_ms) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "files: a key or argument is too long");
    return zq_files_add_run(
        st, &add_script, 2, 10,
        (const char *[]){key, pending, field, NULL, NULL, NULL, NULL, ttl, now, member}, rec, lim,
        count, bytes, err);
}

int zq_files_remove(zq_store *st, const char *sid, const char *form, const char *fid, zq_err *err)
{
    char key[160], field[64], member[128], pending[64];
    redisReply *r;
    int rc;

    if (names(st, sid, form, fid, key, field, member, pending) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "files: a key is too long");
    r = zq_store_script(st, err, &remove_script, 2, 5,
                        (const char *[]){key, pending, field, fid, member}, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (zq_store_reply_unavailable(r))
        rc = zq_err_set(err, ZQ_EUNAVAIL, "files: %s", r->str);
    else if (r->type != REDIS_REPLY_INTEGER)
        rc = zq_err_set(err, ZQ_EREPLY, "files: remove failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    else
        rc = r->integer == 1 ? 0 : -ZQ_ENOTFOUND;
    freeReplyObject(r);
    return rc;
}

int zq_files_take(zq_store *st, const char *form, const char *from_sid, const char *to_sid,
                  const zq_files_limits *lim, int ttl_s, int64_t now_ms, int *left, json_t **files,
                  zq_err *err)
{
    char from[160], to[160], field[64], member[128], pending[64], maxf[16], maxb[24], now[24],
        ttl[16];
    redisReply *r;
    int rc;

    if (files != NULL)
        *files = NULL;
    if (left != NULL)
        *left = 0;
    if (names(st, from_sid, form, "", from, field, member, pending) < 0 ||
        names(st, to_sid, form, "", to, field, member, pending) < 0 ||
        zq_fmt(maxf, sizeof(maxf), "%d", lim->max_files) < 0 ||
        zq_fmt(maxb, sizeof(maxb), "%llu", (unsigned long long)lim->max_bytes) < 0 ||
        zq_fmt(now, sizeof(now), "%lld", (long long)now_ms) < 0 ||
        zq_fmt(ttl, sizeof(ttl), "%d", ttl_s) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "files: a key or argument is too long");
    r = zq_store_script(
        st, err, &take_script, 3, 10,
        (const char *[]){from, to, pending, field, from_sid, to_sid, maxf, maxb, now, ttl}, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (zq_store_reply_unavailable(r)) {
        rc = zq_err_set(err, ZQ_EUNAVAIL, "files: %s", r->str);
    } else if (int_at(r, 0) < 0 || int_at(r, 1) < 0 || r->elements != 3 ||
               r->element[2]->type != REDIS_REPLY_STRING) {
        rc = zq_err_set(err, ZQ_EREPLY, "files: take failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    } else {
        rc = (int)int_at(r, 0);
        if (left != NULL)
            *left = (int)int_at(r, 1);
        if (files != NULL && r->element[2]->len > 0 &&
            (*files = json_loadb(r->element[2]->str, r->element[2]->len, 0, NULL)) != NULL &&
            !json_is_array(*files)) {
            json_decref(*files);
            *files = NULL;
        }
    }
    freeReplyObject(r);
    return rc;
}

/* The supplement list's name in the session, "s:{case id}". */
static int supp_field(const char *case_id, char out[64])
{
    return zq_fmt(out, 64, "s:%s", case_id) < 0 ? -ZQ_ETOOBIG : 0;
}

int zq_files_supp_add(zq_store *st, const char *sid, const char *case_id, json_t *rec,
                      const zq_files_limits *lim, int ttl_s, int64_t now_ms, int *count,
                      uint64_t *bytes, zq_err *err)
{
    char field[64];

    if (supp_field(case_id, field) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "files: case id too long");
    return zq_files_add(st, sid, field, rec, lim, ttl_s, now_ms, count, bytes, err);
}

int zq_files_supp_remove(zq_store *st, const char *sid, const char *case_id, const char *fid,
                         zq_err *err)
{
    char field[64];

    if (supp_field(case_id, field) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "files: case id too long");
    return zq_files_remove(st, sid, field, fid, err);
}

int zq_files_supp_list(zq_store *st, const char *sid, const char *case_id, json_t **out,
                       zq_err *err)
{
    char key[160], field[64];
    redisReply *r;
    int rc = 0;

    *out = NULL;
    if (zq_store_key(st, key, sizeof(key), "sess:%s", sid) < 0 || supp_field(case_id, field) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "files: a key is too long");
    r = zq_store_command(st, err, "HGET %s %s", key, field);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (zq_store_reply_unavailable(r) || r->type == REDIS_REPLY_ERROR)
        rc = zq_err_set(err, ZQ_EUNAVAIL, "files: %s", r->str);
    else if (r->type == REDIS_REPLY_STRING)
        *out = json_loadb(r->str, r->len, 0, NULL);
    freeReplyObject(r);
    if (rc == 0 && !json_is_array(*out)) {
        json_decref(*out);
        *out = json_array();
        if (*out == NULL)
            rc = zq_err_set(err, ZQ_ENOMEM, "files: out of memory");
    }
    return rc;
}

json_t *zq_files_merge(const zq_form *f, json_t *answers, json_t *files)
{
    json_t *out = json_is_object(answers) ? json_copy(answers) : json_object();
    size_t i, j, k;
    json_t *rec;

    if (out == NULL)
        return NULL;
    for (i = 0; i < f->nsteps; i++)
        for (j = 0; j < f->steps[i].nfields; j++) {
            const zq_field *fld = &f->steps[i].fields[j];
            json_t *list;

            if (fld->type != ZQ_FIELD_FILES)
                continue;
            /* Only the upload API sets this field: what a draft says is
             * never taken. */
            json_object_del(out, fld->id);
            list = json_array();
            if (list == NULL)
                goto oom;
            json_array_foreach(files, k, rec)
            {
                const char *fid = json_string_value(json_object_get(rec, "field"));

                if (fid != NULL && strcmp(fid, fld->id) == 0 && json_array_append(list, rec) < 0) {
                    json_decref(list);
                    goto oom;
                }
            }
            if (json_array_size(list) == 0)
                json_decref(list);
            else if (json_object_set_new(out, fld->id, list) < 0)
                goto oom;
        }
    return out;
oom:
    json_decref(out);
    return NULL;
}

/* Calls fn for each record in the files fields of answers. */
#define FOR_EACH_RECORD(f, answers, rec, body)                                                     \
    do {                                                                                           \
        size_t i_, j_, k_;                                                                         \
        for (i_ = 0; i_ < (f)->nsteps; i_++)                                                       \
            for (j_ = 0; j_ < (f)->steps[i_].nfields; j_++) {                                      \
                const zq_field *fld_ = &(f)->steps[i_].fields[j_];                                 \
                json_t *list_ = json_object_get((answers), fld_->id);                              \
                if (fld_->type != ZQ_FIELD_FILES || !json_is_array(list_))                         \
                    continue;                                                                      \
                json_array_foreach(list_, k_, (rec))                                               \
                {                                                                                  \
                    body                                                                           \
                }                                                                                  \
            }                                                                                      \
    } while (0)

json_t *zq_files_find(const zq_form *f, json_t *answers, const char *fid)
{
    json_t *rec, *found = NULL;

    if (f == NULL || fid == NULL)
        return NULL;
    FOR_EACH_RECORD(f, answers, rec, {
        const char *id = json_string_value(json_object_get(rec, "id"));
        if (found == NULL && id != NULL && strcmp(id, fid) == 0)
            found = rec;
    });
    return found;
}

void zq_files_pending_members(const zq_form *f, json_t *answers, const char *sid, zq_buf *out)
{
    json_t *rec;

    FOR_EACH_RECORD(f, answers, rec, {
        const char *id = json_string_value(json_object_get(rec, "id"));
        if (zq_file_id_valid(id))
            zq_buf_printf(out, "%s%s:%s", out->len ? " " : "", id, sid);
    });
}

int zq_files_attach_case(zq_store *st, const char *case_id, json_t *rec, const char *kind_label,
                         zq_err *err)
{
    char key[160], *enc = NULL, *pub_s = NULL;
    json_t *pub;
    redisReply *r = NULL;
    int rc;

    if (zq_store_key(st, key, sizeof(key), "case:%s", case_id) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "files: case id too long");
    pub = json_pack("{s:s, s:s, s:I}", "kind", kind_label ? kind_label : "", "name",
                    json_string_value(json_object_get(rec, "name"))
                        ? json_string_value(json_object_get(rec, "name"))
                        : "",
                    "size", (json_int_t)json_integer_value(json_object_get(rec, "size")));
    enc = json_dumps(rec, JSON_COMPACT);
    pub_s = pub ? json_dumps(pub, JSON_COMPACT) : NULL;
    json_decref(pub);
    if (enc == NULL || pub_s == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "files: cannot encode the record");
        goto out;
    }
    r = zq_store_script(st, err, &attach_script, 1, 3, (const char *[]){key, enc, pub_s}, NULL);
    if (r == NULL)
        rc = -ZQ_EUNAVAIL;
    else if (zq_store_reply_unavailable(r))
        rc = zq_err_set(err, ZQ_EUNAVAIL, "files: %s", r->str);
    else if (r->type != REDIS_REPLY_INTEGER)
        rc = zq_err_set(err, ZQ_EREPLY, "files: attach failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    else
        rc = r->integer == 1 ? 0 : zq_err_set(err, ZQ_ENOTFOUND, "case %s not found", case_id);
out:
    if (r != NULL)
        freeReplyObject(r);
    free(enc);
    free(pub_s);
    return rc;
}

json_t *zq_files_find_case(const zq_form *f, json_t *answers, json_t *files_more, const char *fid)
{
    json_t *rec = zq_files_find(f, answers, fid);
    size_t i;

    if (rec != NULL || fid == NULL)
        return rec;
    json_array_foreach(files_more, i, rec)
    {
        const char *id = json_string_value(json_object_get(rec, "id"));
        if (id != NULL && strcmp(id, fid) == 0)
            return rec;
    }
    return NULL;
}

/* The label of kind in the field fld, or the kind itself. */
static const char *kind_label(const zq_field *fld, const char *kind)
{
    size_t k;

    for (k = 0; kind != NULL && k < fld->nkinds; k++)
        if (strcmp(fld->kinds[k].value, kind) == 0)
            return fld->kinds[k].label;
    return kind ? kind : "";
}

json_t *zq_files_public(const zq_form *f, json_t *answers)
{
    json_t *out = json_array(), *rec;
    bool bad = false;

    if (out == NULL || f == NULL)
        return out;
    FOR_EACH_RECORD(f, answers, rec, {
        json_t *o =
            json_pack("{s:s, s:s, s:I}", "kind",
                      kind_label(fld_, json_string_value(json_object_get(rec, "kind"))), "name",
                      json_string_value(json_object_get(rec, "name"))
                          ? json_string_value(json_object_get(rec, "name"))
                          : "",
                      "size", (json_int_t)json_integer_value(json_object_get(rec, "size")));
        if (o == NULL || json_array_append_new(out, o) < 0)
            bad = true;
    });
    if (bad) {
        json_decref(out);
        return NULL;
    }
    return out;
}

int zq_files_sweep(zq_store *st, zq_filestore *fs, int64_t stale_ms, int64_t now_ms, int max,
                   int *removed, zq_err *err)
{
    char pending[64], stale[24], now[24], maxs[16];
    redisReply *r;
    size_t i;
    int rc = 0;

    *removed = 0;
    if (zq_store_key(st, pending, sizeof(pending), "files:pending") < 0 ||
        zq_fmt(stale, sizeof(stale), "%lld", (long long)stale_ms) < 0 ||
        zq_fmt(now, sizeof(now), "%lld", (long long)now_ms) < 0 ||
        zq_fmt(maxs, sizeof(maxs), "%d", max) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "files: a key is too long");
    r = zq_store_script(st, err, &sweep_script, 1, 5,
                        (const char *[]){pending, stale, now, maxs, zq_store_prefix(st)}, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (zq_store_reply_unavailable(r)) {
        rc = zq_err_set(err, ZQ_EUNAVAIL, "files: %s", r->str);
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = zq_err_set(err, ZQ_EREPLY, "files: sweep failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    /* Off the list first, then the bytes: a crash in between leaves bytes
     * no record names (logged), never a record without bytes. */
    for (i = 0; i < r->elements; i++) {
        zq_err e = {0};
        const char *fid = r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "";

        if (zq_filestore_remove(fs, fid, &e) < 0)
            ZQ_ERROR("event=file_sweep_failed id=%s err=\"%s\"", fid, e.msg);
        else
            (*removed)++;
    }
out:
    freeReplyObject(r);
    return rc;
}

/* Removes one record's bytes; records without a valid id name nothing in
 * the store. Without a store (fs NULL) a record cannot go: -ZQ_EUNAVAIL,
 * so the case keeps its records until the store is back. 0, or a
 * negative code with err set. */
static int remove_record(zq_filestore *fs, json_t *rec, int *removed, zq_err *err)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    int rc;

    if (!zq_file_id_valid(id))
        return 0;
    if (fs == NULL)
        return zq_err_set(err, ZQ_EUNAVAIL, "files: the file store is not available");
    if ((rc = zq_filestore_remove(fs, id, err)) < 0)
        return rc;
    (*removed)++;
    return 0;
}

int zq_files_remove_case(zq_store *st, const zq_schema *schema, zq_filestore *fs,
                         const char *case_id, int *removed, zq_err *err)
{
    char key[160];
    redisReply *r;
    json_t *answers = NULL, *more = NULL, *rec;
    const zq_form *f;
    size_t i;
    int rc = 0;

    *removed = 0;
    if (zq_store_key(st, key, sizeof(key), "case:%s", case_id) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "files: case id too long");
    r = zq_store_command(st, err, "HMGET %s form answers files_more", key);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        rc = zq_err_set(err, ZQ_EREPLY, "files: HMGET %s: unexpected reply", key);
        goto out;
    }
    f = r->element[0]->type == REDIS_REPLY_STRING ? zq_schema_form(schema, r->element[0]->str)
                                                  : NULL;
    if (r->element[1]->type == REDIS_REPLY_STRING)
        answers = json_loads(r->element[1]->str, 0, NULL);
    if (r->element[2]->type == REDIS_REPLY_STRING)
        more = json_loads(r->element[2]->str, 0, NULL);
    if (f != NULL)
        FOR_EACH_RECORD(f, answers, rec, {
            if (rc == 0)
                rc = remove_record(fs, rec, removed, err);
        });
    json_array_foreach(more, i, rec)
    {
        if (rc == 0)
            rc = remove_record(fs, rec, removed, err);
    }
out:
    json_decref(answers);
    json_decref(more);
    freeReplyObject(r);
    return rc;
}

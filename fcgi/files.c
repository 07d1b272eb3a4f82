/* Evidence files over HTTP: uploads to a web draft (the bytes arrive as a
 * file nginx wrote, ZQ_BODY_FILE), their removal, and staff downloads
 * (authorised and audited here, sent by nginx through X-Accel-Redirect).
 * The records' layout is lib/intake/files.c's, the bytes' the store's. */
#include "files.h"

#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "zhuqi/app.h"
#include "zhuqi/audit.h"
#include "zhuqi/cases.h"
#include "zhuqi/channel.h"
#include "zhuqi/files.h"
#include "zhuqi/filestore.h"
#include "zhuqi/log.h"
#include "zhuqi/session.h"
#include "zhuqi/supplement.h"
#include "verify.h"

#define NAME_CHARS 120 /* characters of a file name kept */

static zq_filestore *store_of(zq_req *req)
{
    return req->app ? req->app->files : NULL;
}

/* "10 MB" for a limit in bytes (whole MB rounded down, else KB). */
static const char *mb(size_t bytes, char *out, size_t outsz)
{
    if (bytes >= 1048576 ? zq_fmt(out, outsz, "%zu MB", bytes / 1048576) < 0
                         : zq_fmt(out, outsz, "%zu KB", bytes / 1024) < 0)
        out[0] = '\0';
    return out;
}

/* The file's name as the page sent it (X-File-Name, percent-encoded
 * UTF-8): its last path part, without control characters, at most
 * NAME_CHARS characters; "文件" when none. In the pool. */
static const char *file_name(zq_req *req)
{
    const char *h = zq_req_header(req, "X-File-Name"), *base;
    char *name, *w;
    size_t len = 0, i, chars = 0;

    if (h == NULL || (name = zq_url_decode(&req->pool, h, strlen(h), false, &len)) == NULL ||
        !zq_utf8_valid(name, len))
        return "文件";
    base = name;
    for (i = 0; i < len; i++)
        if (name[i] == '/' || name[i] == '\\')
            base = name + i + 1;
    w = name;
    for (i = (size_t)(base - name); i < len && chars < NAME_CHARS; i++) {
        unsigned char c = (unsigned char)name[i];

        if (c < 0x20 || c == 0x7f || c == '"')
            continue;
        if ((c & 0xC0) != 0x80)
            chars++;
        *w++ = (char)c;
    }
    /* A cut may not end inside a character: the loop stops before the
     * next lead byte, after all of this one's continuation bytes. */
    while (i < len && ((unsigned char)name[i] & 0xC0) == 0x80)
        *w++ = name[i++];
    *w = '\0';
    return w == name ? "文件" : name;
}

/* Checks the body nginx wrote at path (type from its bytes, the size
 * limit) and moves it into the store under a new id (fid): *rec is then
 * its record {id, [field], kind, name, size, type, sha256, by, at_ms},
 * owned by the caller, who removes the bytes again if no record comes to
 * name them. Returns 0; 1 when the file was refused and the answer set
 * (413, 415); or a negative ZQ_E* with nothing stored. */
static int store_body(zq_req *req, zq_filestore *fs, const char *path, const char *field,
                      const char *kind, char fid[ZQ_FILE_ID_LEN + 1], json_t **rec)
{
    const zq_config *cfg = req->cfg;
    zq_file_info info;
    zq_err err = {0};
    char lb[32], m[200];
    int rc;

    *rec = NULL;
    rc = zq_file_inspect(path, cfg->files.max_file_size, &info, &err);
    if (rc == -ZQ_ETOOBIG) {
        zq_resp_error(req, 413, "file_too_large",
                      zq_resp_msgf(m, sizeof(m), "文件过大，请压缩后重新上传。",
                                   "文件过大：单个文件不能超过 %s。",
                                   mb(cfg->files.max_file_size, lb, sizeof(lb))));
        return 1;
    }
    if (rc == -ZQ_EINVAL) {
        ZQ_INFO("event=upload_refused reason=type size=%llu", (unsigned long long)info.size);
        zq_resp_error(req, 415, "unsupported_type",
                      "只能上传 JPG、PNG 图片或 PDF 文件，且文件须完整。请换一个文件重试。");
        return 1;
    }
    if (rc < 0) {
        ZQ_ERROR("event=upload_failed err=\"%s\"", err.msg);
        return rc;
    }
    if ((rc = zq_random_hex(fid, ZQ_FILE_ID_LEN / 2)) < 0)
        return rc;
    /* The bytes first; the record only once they are in place. */
    if (zq_filestore_put_path(fs, path, fid, &err) < 0) {
        ZQ_ERROR("event=upload_failed id=%s err=\"%s\"", fid, err.msg);
        return -ZQ_EIO;
    }
    *rec = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I}", "id", fid, "kind", kind, "name",
                     file_name(req), "size", (json_int_t)info.size, "type", info.type, "sha256",
                     info.sha256, "by", "web", "at_ms", (json_int_t)zq_now_ms());
    if (*rec != NULL && field != NULL &&
        json_object_set_new(*rec, "field", json_string(field)) < 0) {
        json_decref(*rec);
        *rec = NULL;
    }
    if (*rec == NULL) {
        if (zq_filestore_remove(fs, fid, &err) < 0)
            ZQ_ERROR("event=upload_cleanup_failed id=%s err=\"%s\"", fid, err.msg);
        return -ZQ_ENOMEM;
    }
    return 0;
}

/* The refusals of an upload, worded for where it goes: a web draft
 * (on_case false) or a case's supplement. */
static void too_many(zq_req *req, bool on_case)
{
    char m[200];

    zq_resp_error(req, 409, "too_many_files",
                  zq_resp_msgf(m, sizeof(m),
                               on_case ? "该案件的文件已达上限，请先删除不需要的文件。"
                                       : "上传的文件已达上限，请先删除不需要的文件。",
                               on_case ? "每个案件最多 %d 个文件，请先删除不需要的文件。"
                                       : "最多上传 %d 个文件，请先删除不需要的文件。",
                               req->cfg->files.max_files));
}

/* Answers what adding an upload's record refused (rc of zq_files_add or
 * zq_files_supp_add). Returns 1 when it answered, else rc. */
static int refuse_added(zq_req *req, int rc, bool on_case)
{
    char m[200], lb[24];

    switch (rc) {
    case -ZQ_ENOTFOUND:
        zq_resp_error(req, 410, "session_expired",
                      on_case ? "页面已超时，请刷新页面后重新验证。" : "填写已超时，请重新开始。");
        return 1;
    case -ZQ_ECONFLICT: too_many(req, on_case); return 1;
    case -ZQ_ETOOBIG:
        zq_resp_error(req, 413, "files_too_large",
                      zq_resp_msgf(m, sizeof(m), "文件总大小已达上限，请先删除不需要的文件。",
                                   on_case ? "每个案件的文件合计不能超过 %s，请先删除不需要的文件。"
                                           : "所有文件合计不能超过 %s，请先删除不需要的文件。",
                                   mb(req->cfg->files.max_case_size, lb, sizeof(lb))));
        return 1;
    default: return rc;
    }
}

int zq_h_intake_file_upload(zq_req *req)
{
    const zq_form *f = zq_intake_form_param(req);
    const char *kind = zq_req_query(req, "kind"), *path = zq_req_param(req, "ZQ_BODY_FILE");
    const zq_config *cfg = req->cfg;
    zq_filestore *fs = store_of(req);
    const zq_field *fld;
    zq_files_limits lim;
    zq_session s = {0};
    zq_err err = {0};
    json_t *rec = NULL;
    char fid[ZQ_FILE_ID_LEN + 1];
    bool stored = false;
    int rc, count = 0;

    if (f == NULL)
        return 0;
    fld = zq_files_field_for_kind(f, kind);
    if (fld == NULL) {
        zq_resp_error(req, 400, "bad_kind", "请选择正确的文件类别。");
        return 0;
    }
    if (fs == NULL) {
        ZQ_WARN("event=upload_refused reason=no_store");
        return -ZQ_EUNAVAIL;
    }
    /* Only a body nginx wrote to the upload folder: this route is never
     * reached with the bytes themselves. */
    if (path == NULL || !zq_filestore_incoming_ok(fs, path)) {
        zq_resp_error(req, 400, "no_file", "没有收到文件内容，请重新选择文件上传。");
        return 0;
    }
    if ((rc = zq_session_load(req->store, zq_req_cookie(req, "zq_sid"), f->id,
                              cfg->intake.session_ttl_s, &s, &err)) < 0)
        return rc;
    if (!s.exists || s.draft == NULL) {
        zq_intake_no_session(req);
        goto out;
    }
    if (zq_intake_check_csrf(req, &s) < 0)
        goto out;
    /* Cheap refusals first (the script checks again, atomically). */
    if (json_array_size(s.files) >= (size_t)cfg->files.max_files) {
        too_many(req, false);
        goto out;
    }
    if ((rc = store_body(req, fs, path, fld->id, kind, fid, &rec)) != 0) {
        rc = rc < 0 ? rc : 0;
        goto out;
    }
    stored = true;
    lim.max_files = cfg->files.max_files;
    lim.max_bytes = cfg->files.max_case_size;
    rc = zq_files_add(req->store, s.sid, f->id, rec, &lim, cfg->intake.session_ttl_s, zq_now_ms(),
                      &count, NULL, &err);
    if ((rc = refuse_added(req, rc, false)) > 0) {
        rc = 0;
    } else if (rc < 0) {
        if (rc != -ZQ_EUNAVAIL)
            ZQ_ERROR("event=upload_failed id=%s err=\"%s\"", fid, err.msg);
        goto out;
    } else {
        stored = false; /* the record names it now */
        ZQ_INFO("event=file_uploaded id=%s form=%s kind=%s size=%lld type=%s count=%d", fid, f->id,
                kind, (long long)json_integer_value(json_object_get(rec, "size")),
                json_string_value(json_object_get(rec, "type")), count);
        json_object_del(rec, "field");
        json_object_del(rec, "by");
        json_object_del(rec, "at_ms");
        zq_resp_json(req, 201, json_pack("{s:O}", "file", rec));
    }
    rc = rc == -ZQ_EUNAVAIL ? rc : 0;
out:
    /* Nothing half-stored: bytes no record names go again. */
    if (stored && zq_filestore_remove(fs, fid, &err) < 0)
        ZQ_ERROR("event=upload_cleanup_failed id=%s err=\"%s\"", fid, err.msg);
    json_decref(rec);
    zq_session_clear(&s);
    return rc;
}

int zq_h_intake_file_delete(zq_req *req)
{
    const zq_form *f = zq_intake_form_param(req);
    const char *fid = req->nparams > 1 ? req->params[1] : NULL;
    zq_session s = {0};
    zq_err err = {0};
    int rc;

    if (f == NULL)
        return 0;
    if ((rc = zq_session_load(req->store, zq_req_cookie(req, "zq_sid"), f->id,
                              req->cfg->intake.session_ttl_s, &s, &err)) < 0)
        return rc;
    if (!s.exists || s.draft == NULL) {
        zq_intake_no_session(req);
        goto out;
    }
    if (zq_intake_check_csrf(req, &s) < 0)
        goto out;
    rc = zq_file_id_valid(fid) ? zq_files_remove(req->store, s.sid, f->id, fid, &err)
                               : -ZQ_ENOTFOUND;
    if (rc == -ZQ_ENOTFOUND) {
        zq_resp_error(req, 404, "file_not_found", "没有找到这个文件，可能已被删除。");
        rc = 0;
        goto out;
    }
    if (rc < 0)
        goto out;
    /* The record is gone: the bytes follow (a failure leaves bytes that
     * nothing names, logged). */
    if (store_of(req) != NULL && zq_filestore_remove(store_of(req), fid, &err) < 0)
        ZQ_ERROR("event=file_remove_failed id=%s err=\"%s\"", fid, err.msg);
    ZQ_INFO("event=file_removed id=%s form=%s", fid, f->id);
    zq_resp_json(req, 200, json_pack("{s:s}", "removed", fid));
out:
    zq_session_clear(&s);
    return rc;
}

/* The types a stored file can have, with the extension of the plain
 * fallback name and whether it is shown inline (images, previewed in the
 * console) or downloaded (PDF). */
static const struct {
    const char *type, *ext;
    bool inline_;
} stored_types[] = {
    {"image/jpeg", "jpg", true},
    {"image/png", "png", true},
    {"application/pdf", "pdf", false},
};

/* Content-Disposition for name of stored type t (an index into
 * stored_types; anything else is downloaded): the name in RFC 5987 form,
 * with a plain ASCII fallback. In the pool. */
static const char *disposition(zq_req *req, size_t t, const char *name)
{
    zq_buf b = {0};
    bool known = t < ZQ_ARRAY_LEN(stored_types);
    char *out;

    zq_buf_printf(&b, "%s; filename=\"evidence.%s\"; filename*=UTF-8''",
                  known && stored_types[t].inline_ ? "inline" : "attachment",
                  known ? stored_types[t].ext : "bin");
    zq_url_encode(&b, name);
    out = b.oom ? NULL : zq_pool_strndup(&req->pool, b.data, b.len);
    zq_buf_free(&b);
    return out;
}

int zq_h_admin_case_file(zq_req *req)
{
    const char *id = req->params[0], *fid = req->params[1];
    const zq_token *who;
    const zq_form *f;
    const char *type, *name, *disp;
    zq_filestore *fs = store_of(req);
    json_t *rec;
    zq_audit a;
    zq_case c;
    zq_err err = {0};
    char url[1024], detail[200];
    size_t t;
    int rc;

    if (zq_req_require_staff(req, ZQ_ROLE_VIEWER, &who) < 0)
        return 0;
    if (!zq_case_id_valid(id) || !zq_file_id_valid(fid))
        return -ZQ_ENOTFOUND;
    if ((rc = zq_case_load(req->store, id, &c, &err)) < 0)
        return rc == -ZQ_EUNAVAIL || rc == -ZQ_ENOTFOUND ? rc : -ZQ_EREPLY;
    f = req->app ? zq_schema_form(req->app->schema, c.form) : NULL;
    rec = f ? zq_files_find_case(f, c.answers, c.files_more, fid) : NULL;
    if (rec == NULL) {
        zq_resp_error(req, 404, "file_not_found", "该案件没有这个文件。");
        rc = 0;
        goto out;
    }
    if (fs == NULL || zq_filestore_url(fs, fid, url, sizeof(url)) < 0) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    type = json_string_value(json_object_get(rec, "type"));
    name = json_string_value(json_object_get(rec, "name"));
    for (t = 0; t < ZQ_ARRAY_LEN(stored_types); t++)
        if (type != NULL && strcmp(type, stored_types[t].type) == 0)
            break;
    disp = disposition(req, t, name ? name : "file");
    /* A static string: the record goes with the case before the answer
     * is written. */
    type = t < ZQ_ARRAY_LEN(stored_types) ? stored_types[t].type : "application/octet-stream";
    if (disp == NULL) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    /* Every download is on record before a byte goes out. */
    memset(&a, 0, sizeof(a));
    a.who = who->name;
    a.role = zq_role_name(who->role);
    a.action = "file_download";
    a.target = c.id;
    a.addr = req->remote_addr;
    a.rid = req->request_id;
    if (zq_fmt(detail, sizeof(detail), "{\"file\":\"%s\"}", fid) == 0)
        a.detail = detail;
    if ((rc = zq_audit_write(req->store, &a, &err)) < 0) {
        ZQ_ERROR("event=audit_failed action=file_download err=\"%s\"", err.msg);
        goto out;
    }
    zq_resp_header(req, "X-Accel-Redirect", url);
    zq_resp_header(req, "Content-Disposition", disp);
    zq_resp_raw(req, 200, type, "", 0);
    rc = 0;
out:
    zq_case_clear(&c);
    return rc;
}

/* ---- The enterprise's answer to a request for more material ---- */

/* What every supplement request checks after the session: SMS codes on
 * for "supplement", the case (loaded into c: clear it), its mobile proved
 * in this session, and the case waiting for material. Returns 0 to go on,
 * 1 after having answered, or a negative code. */
static int supp_case(zq_req *req, const zq_session *s, zq_case *c)
{
    const char *id = req->params[0];
    zq_err err = {0};
    bool ok = false;
    int rc;

    memset(c, 0, sizeof(*c));
    if (!zq_verify_require_on(req, "supplement", NULL))
        return 1;
    if (id == NULL || !zq_case_id_valid(id)) {
        zq_resp_error(req, 404, "not_found", "未找到该案件，请核对案件编号。");
        return 1;
    }
    rc = zq_case_load(req->store, id, c, &err);
    if (rc == -ZQ_ENOTFOUND) {
        zq_resp_error(req, 404, "not_found", "未找到该案件，请核对案件编号。");
        return 1;
    }
    if (rc < 0)
        return rc == -ZQ_EUNAVAIL ? rc : -ZQ_EREPLY;
    /* The proof is for the case's own mobile: another number's proof, or
     * none, is the same refusal (whether they differ is nobody's
     * business). */
    rc = zq_session_verified(req->store, s->sid, "supplement", c->mobile, zq_now_ms(), &ok, &err);
    if (rc < 0)
        return rc == -ZQ_EUNAVAIL ? rc : -ZQ_EREPLY;
    if (!ok || c->mobile[0] == '\0') {
        zq_resp_error(req, 403, "mobile_unverified",
                      "请先用案件登记的手机号码获取短信验证码，验证后再补充材料。");
        return 1;
    }
    if (strcmp(c->status, "needs_info") != 0) {
        zq_resp_error(req, 409, "not_waiting_for_material",
                      "该案件当前不需要补充材料，请刷新页面查看最新进度。");
        return 1;
    }
    return 0;
}

/* The number and bytes of the files a case holds already (its public
 * list: those submitted and those attached since). */
static void case_files_used(const zq_case *c, int *count, uint64_t *bytes)
{
    json_t *e;
    size_t i;

    *count = (int)json_array_size(c->files);
    *bytes = 0;
    json_array_foreach(c->files, i, e)
    {
        json_int_t n = json_integer_value(json_object_get(e, "size"));
        *bytes += n > 0 ? (uint64_t)n : 0;
    }
}

/* The count limit's 409. */
int zq_h_case_file_upload(zq_req *req)
{
    const char *kind = zq_req_query(req, "kind"), *path = zq_req_param(req, "ZQ_BODY_FILE");
    const zq_config *cfg = req->cfg;
    zq_filestore *fs = store_of(req);
    const zq_form *f;
    zq_files_limits lim;
    zq_session s = {0};
    zq_case c = {0};
    zq_err err = {0};
    json_t *rec = NULL, *pending = NULL;
    char fid[ZQ_FILE_ID_LEN + 1];
    uint64_t used_bytes = 0;
    bool stored = false;
    int rc, used = 0, count = 0;

    if ((rc = zq_verify_session(req, &s)) != 0)
        return rc < 0 ? rc : 0;
    if ((rc = supp_case(req, &s, &c)) != 0) {
        rc = rc < 0 ? rc : 0;
        goto out;
    }
    f = req->app ? zq_schema_form(req->app->schema, c.form) : NULL;
    if (zq_files_field_for_kind(f, kind) == NULL) {
        zq_resp_error(req, 400, "bad_kind", "请选择正确的文件类别。");
        goto out;
    }
    if (fs == NULL) {
        ZQ_WARN("event=upload_refused reason=no_store");
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (path == NULL || !zq_filestore_incoming_ok(fs, path)) {
        zq_resp_error(req, 400, "no_file", "没有收到文件内容，请重新选择文件上传。");
        goto out;
    }
    if ((rc = zq_files_supp_list(req->store, s.sid, c.id, &pending, &err)) < 0)
        goto out;
    /* The case's limits hold for all its files: those it has and those
     * waiting to be sent. */
    case_files_used(&c, &used, &used_bytes);
    if (used + (int)json_array_size(pending) >= cfg->files.max_files) {
        too_many(req, true);
        goto out;
    }
    if ((rc = store_body(req, fs, path, NULL, kind, fid, &rec)) != 0) {
        rc = rc < 0 ? rc : 0;
        goto out;
    }
    stored = true;
    lim.max_files = cfg->files.max_files - used;
    lim.max_bytes =
        cfg->files.max_case_size > used_bytes ? cfg->files.max_case_size - used_bytes : 0;
    rc = zq_files_supp_add(req->store, s.sid, c.id, rec, &lim, cfg->intake.session_ttl_s,
                           zq_now_ms(), &count, NULL, &err);
    if ((rc = refuse_added(req, rc, true)) > 0) {
        rc = 0;
    } else if (rc < 0) {
        if (rc != -ZQ_EUNAVAIL)
            ZQ_ERROR("event=upload_failed id=%s err=\"%s\"", fid, err.msg);
        goto out;
    } else {
        stored = false; /* the record names it now */
        ZQ_INFO("event=supplement_file_uploaded id=%s case=%s kind=%s size=%lld type=%s count=%d",
                fid, c.id, kind, (long long)json_integer_value(json_object_get(rec, "size")),
                json_string_value(json_object_get(rec, "type")), count);
        json_object_del(rec, "by");
        json_object_del(rec, "at_ms");
        zq_resp_json(req, 201, json_pack("{s:O}", "file", rec));
    }
    rc = rc == -ZQ_EUNAVAIL ? rc : 0;
out:
    if (stored && zq_filestore_remove(fs, fid, &err) < 0)
        ZQ_ERROR("event=upload_cleanup_failed id=%s err=\"%s\"", fid, err.msg);
    json_decref(rec);
    json_decref(pending);
    zq_case_clear(&c);
    zq_session_clear(&s);
    return rc;
}

int zq_h_case_file_delete(zq_req *req)
{
    const char *fid = req->nparams > 1 ? req->params[1] : NULL;
    zq_session s = {0};
    zq_case c = {0};
    zq_err err = {0};
    int rc;

    if ((rc = zq_verify_session(req, &s)) != 0)
        return rc < 0 ? rc : 0;
    if ((rc = supp_case(req, &s, &c)) != 0) {
        rc = rc < 0 ? rc : 0;
        goto out;
    }
    rc = zq_file_id_valid(fid) ? zq_files_supp_remove(req->store, s.sid, c.id, fid, &err)
                               : -ZQ_ENOTFOUND;
    if (rc == -ZQ_ENOTFOUND) {
        zq_resp_error(req, 404, "file_not_found", "没有找到这个文件，可能已被删除。");
        rc = 0;
        goto out;
    }
    if (rc < 0)
        goto out;
    if (store_of(req) != NULL && zq_filestore_remove(store_of(req), fid, &err) < 0)
        ZQ_ERROR("event=file_remove_failed id=%s err=\"%s\"", fid, err.msg);
    zq_resp_json(req, 200, json_pack("{s:s}", "removed", fid));
out:
    zq_case_clear(&c);
    zq_session_clear(&s);
    return rc;
}

/* The answer's file ids (an array of upload ids, each once) picked from
 * the session's uploads into a new array in *out; -1 after a 422. */
static int supp_files(zq_req *req, json_t *ids, json_t *pending, json_t **out)
{
    json_t *v, *rec;
    size_t i, j, k;
    const char *msg = NULL;

    *out = json_array();
    if (ids != NULL && !json_is_array(ids) && !json_is_null(ids))
        msg = "文件列表格式不正确。";
    json_array_foreach(ids, i, v)
    {
        const char *id = json_string_value(v);
        json_t *found = NULL;

        if (msg != NULL)
            break;
        if (!zq_file_id_valid(id)) {
            msg = "文件列表格式不正确。";
            break;
        }
        for (k = 0; k < i; k++)
            if (json_equal(json_array_get(ids, k), v))
                msg = "同一个文件只能提交一次。";
        json_array_foreach(pending, j, rec)
        {
            const char *rid = json_string_value(json_object_get(rec, "id"));
            if (rid != NULL && strcmp(rid, id) == 0)
                found = rec;
        }
        if (found == NULL)
            msg = "有文件不存在或已过期，请重新上传。";
        else if (msg == NULL)
            json_array_append(*out, found);
    }
    if (msg == NULL)
        return 0;
    json_decref(*out);
    *out = NULL;
    zq_resp_error_fields(req, 422, "validation_failed", msg, json_pack("{s:s}", "files", msg));
    return -1;
}

int zq_h_case_supplement(zq_req *req)
{
    zq_supplement_in in;
    zq_wf_limits lim;
    zq_session s = {0};
    zq_case c = {0};
    zq_err err = {0};
    json_t *body, *tv, *pending = NULL, *files = NULL;
    const char *text = "";
    char m[200];
    int rc;

    if ((rc = zq_verify_session(req, &s)) != 0)
        return rc < 0 ? rc : 0;
    if (zq_req_json(req, &body) < 0)
        goto out;
    if (!json_is_object(body)) {
        zq_resp_error(req, 400, "malformed_json", "请求内容应为 JSON 对象。");
        goto out;
    }
    if ((rc = supp_case(req, &s, &c)) != 0) {
        rc = rc < 0 ? rc : 0;
        goto out;
    }
    tv = json_object_get(body, "text");
    if (tv != NULL && !json_is_null(tv) && !json_is_string(tv)) {
        zq_resp_error_fields(req, 422, "validation_failed", "补充说明应为文字。",
                             json_pack("{s:s}", "text", "补充说明应为文字"));
        goto out;
    }
    if (json_is_string(tv))
        text = json_string_value(tv);
    if (zq_utf8_chars(text, strlen(text)) > ZQ_SUPPLEMENT_TEXT_MAX) {
        zq_resp_msgf(m, sizeof(m), "补充说明过长。", "补充说明最多 %d 个字。",
                     ZQ_SUPPLEMENT_TEXT_MAX);
        zq_resp_error_fields(req, 422, "validation_failed", m, json_pack("{s:s}", "text", m));
        goto out;
    }
    /* Blank text counts as none. */
    if (text[strspn(text, " \t\r\n")] == '\0')
        text = "";
    if ((rc = zq_files_supp_list(req->store, s.sid, c.id, &pending, &err)) < 0)
        goto out;
    if (supp_files(req, json_object_get(body, "files"), pending, &files) < 0)
        goto out;
    if (*text == '\0' && json_array_size(files) == 0) {
        zq_resp_error_fields(req, 422, "validation_failed", "请填写补充说明或上传补充材料。",
                             json_pack("{s:s}", "text", "请填写补充说明或上传补充材料"));
        goto out;
    }
    zq_wf_limits_from_config(req->cfg, &lim);
    memset(&in, 0, sizeof(in));
    in.sid = s.sid;
    in.text = text;
    in.files = files;
    in.form = req->app ? zq_schema_form(req->app->schema, c.form) : NULL;
    in.cal = req->app ? req->app->calendar : NULL;
    in.lim = &lim;
    in.now_ms = zq_now_ms();
    rc = zq_supplement_submit(req->store, &c, &in, NULL, &err);
    if (rc == -ZQ_ECONFLICT) {
        zq_resp_error(req, 409, "not_waiting_for_material",
                      "该案件当前不需要补充材料，请刷新页面查看最新进度。");
        rc = 0;
        goto out;
    }
    if (rc == -ZQ_EINVAL) {
        zq_resp_error_fields(req, 422, "validation_failed", "有文件不存在或已过期，请重新上传。",
                             json_pack("{s:s}", "files", "有文件不存在或已过期，请重新上传"));
        rc = 0;
        goto out;
    }
    if (rc < 0) {
        if (rc != -ZQ_EUNAVAIL)
            ZQ_ERROR("event=supplement_failed case=%s err=\"%s\"", c.id, err.msg);
        rc = rc == -ZQ_EUNAVAIL || rc == -ZQ_ENOTFOUND ? rc : -ZQ_EREPLY;
        goto out;
    }
    ZQ_INFO("event=supplement_received case=%s files=%zu text_chars=%zu", c.id,
            json_array_size(files), zq_utf8_chars(text, strlen(text)));
    zq_case_clear(&c);
    if ((rc = zq_case_load(req->store, req->params[0], &c, &err)) < 0)
        goto out;
    zq_resp_json(req, 200,
                 json_pack("{s:o}", "case",
                           zq_case_public_json_at(req->app ? req->app->schema : NULL, in.cal, &lim,
                                                  &c, zq_date_from_ms(in.now_ms))));
out:
    json_decref(pending);
    json_decref(files);
    zq_case_clear(&c);
    zq_session_clear(&s);
    return rc;
}

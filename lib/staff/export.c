/* Exports of the cases matching a filter: CSV for spreadsheets and JSON
 * Lines, written in chunks so that memory stays bounded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staff_int.h"
#include "zhuqi/csv.h"
#include "zhuqi/log.h"

#define CHUNK 65536   /* export bytes per write */
#define SCRATCH 65536 /* a decoded answer, at most (20000 characters) */

/* The answer columns: the fields of the forms exported, in form order,
 * each id once; field[k] is the column's field in the k-th form (NULL
 * when that form has no such field), looked up once per export. */
#define MAX_FORMS 8
typedef struct column {
    const char *id;
    const char *label;
    const zq_field *field[MAX_FORMS];
} column;

static size_t answer_columns(const zq_schema *s, const char *type, column *cols, size_t max)
{
    size_t nf = s ? zq_schema_nforms(s) : 0, n = 0, i, j, k, c;

    for (i = 0; i < nf; i++) {
        const zq_form *f = zq_schema_form_at(s, i);
        if (type[0] != '\0' && strcmp(type, f->id) != 0)
            continue;
        for (j = 0; j < f->nsteps; j++)
            for (k = 0; k < f->steps[j].nfields; k++) {
                const zq_field *fd = &f->steps[j].fields[k];
                bool seen = false;
                for (c = 0; c < n && !seen; c++)
                    seen = strcmp(cols[c].id, fd->id) == 0;
                if (!seen && n < max) {
                    memset(&cols[n], 0, sizeof(cols[n]));
                    cols[n].id = fd->id;
                    cols[n].label = fd->label;
                    n++;
                }
            }
    }
    for (c = 0; c < n; c++)
        for (i = 0; i < nf && i < MAX_FORMS; i++)
            cols[c].field[i] = zq_form_field(zq_schema_form_at(s, i), cols[c].id, NULL);
    return n;
}

/* The top-level members of a JSON object text, found in one pass. */
#define MAX_MEMBERS 128
typedef struct members {
    const char *key[MAX_MEMBERS], *val[MAX_MEMBERS];
    size_t klen[MAX_MEMBERS], vlen[MAX_MEMBERS];
    size_t n;
} members;

static void index_members(const char *s, size_t n, members *m)
{
    size_t i = zq_json_ws(s, n, 0);

    m->n = 0;
    if (s == NULL || i >= n || s[i] != '{')
        return;
    i++;
    while (m->n < MAX_MEMBERS) {
        size_t ke, vs, ve;

        i = zq_json_ws(s, n, i);
        if (i >= n || s[i] != '"')
            return;
        ke = zq_json_skip(s, n, i);
        if (ke > n)
            return;
        m->key[m->n] = s + i + 1;
        m->klen[m->n] = ke - i - 2;
        i = zq_json_ws(s, n, ke);
        if (i >= n || s[i] != ':')
            return;
        vs = zq_json_ws(s, n, i + 1);
        ve = zq_json_skip(s, n, vs);
        if (ve > n)
            return;
        m->val[m->n] = s + vs;
        m->vlen[m->n] = ve - vs;
        m->n++;
        i = zq_json_ws(s, n, ve);
        if (i >= n || s[i] != ',')
            return;
        i++;
    }
}

static const char *member(const members *m, const char *key, size_t *vlen)
{
    size_t klen = strlen(key), i;

    for (i = 0; i < m->n; i++)
        if (m->klen[i] == klen && memcmp(m->key[i], key, klen) == 0) {
            *vlen = m->vlen[i];
            return m->val[i];
        }
    return NULL;
}

/* A value for a spreadsheet, from its JSON text: money as plain yuan
 * ("123456.78"), enums by label, regions by name, booleans 是/否, text as
 * it is. Appends one CSV field. scratch holds decoded strings. */
static void csv_answer(zq_buf *b, const zq_schema *s, const zq_field *fd, const char *v,
                       size_t vlen, char *scratch, size_t scratchsz)
{
    char num[40];
    size_t i;

    if (v == NULL || vlen == 0 || (vlen == 4 && memcmp(v, "null", 4) == 0)) {
        zq_csv_field(b, false, NULL, 0);
        return;
    }
    /* Evidence files: the list (kind, name, size), never more; a
     * multi-choice answer: its labels. */
    if (fd != NULL && (fd->type == ZQ_FIELD_FILES || fd->multiple) && v[0] == '[') {
        json_t *list = json_loadb(v, vlen, 0, NULL);
        char *d = list ? zq_field_display(s, fd, list, false) : NULL;

        zq_csv_str(b, false, d ? d : "");
        free(d);
        json_decref(list);
        return;
    }
    if (v[0] == '"') {
        zq_json_decode(v, vlen, scratch, scratchsz);
        if (fd != NULL && fd->type == ZQ_FIELD_ENUM)
            for (i = 0; i < fd->noptions; i++)
                if (strcmp(fd->options[i].value, scratch) == 0) {
                    zq_csv_str(b, false, fd->options[i].label);
                    return;
                }
        if (fd != NULL && fd->type == ZQ_FIELD_REGION) {
            const zq_region *r = s ? zq_schema_region(s, scratch) : NULL;
            if (r != NULL) {
                zq_csv_str(b, false, r->name);
                return;
            }
        }
        zq_csv_str(b, false, scratch);
        return;
    }
    if (vlen == 4 && memcmp(v, "true", 4) == 0) {
        zq_csv_str(b, false, "是");
        return;
    }
    if (vlen == 5 && memcmp(v, "false", 5) == 0) {
        zq_csv_str(b, false, "否");
        return;
    }
    if (fd != NULL && fd->type == ZQ_FIELD_MONEY && vlen < 20 && strspn(v, "0123456789") == vlen) {
        long long fen = 0;
        if (zq_parse_ll(v, vlen, 0, INT64_MAX, &fen) == 0) {
            if (zq_fmt(num, sizeof(num), "%lld.%02lld", fen / 100, fen % 100) == 0) {
                zq_csv_str(b, false, num);
                return;
            }
        }
    }
    zq_csv_field(b, false, v, vlen);
}

static const char *const csv_head[] = {
    "案件编号", "类型",       "状态",     "提交时间",   "最近更新",       "来源",     "承办人",
    "承办单位", "跨区域协作", "当前期限", "期限截止日", "剩余天数",       "计日方式", "是否逾期",
    "疑似重复", "接收部门",   "办理结果", "结果说明",   "追回金额（元）", "企业评价", "评价意见",
};

/* A time as spreadsheets take it: "yyyy-mm-dd hh:mm", Beijing time. */
static void csv_time(zq_buf *b, int64_t ms)
{
    char iso[32], t[17];

    zq_time_iso(ms, iso); /* "2026-11-26T09:30:00+08:00" */
    if (strlen(iso) < 16) {
        zq_csv_field(b, false, NULL, 0);
        return;
    }
    memcpy(t, iso, 16);
    t[10] = ' ';
    t[16] = '\0';
    zq_csv_str(b, false, t);
}

static void csv_header(zq_buf *b, const column *cols, size_t ncols)
{
    size_t i;

    zq_buf_append(b, ZQ_CSV_BOM, ZQ_CSV_BOM_LEN);
    for (i = 0; i < ZQ_ARRAY_LEN(csv_head); i++)
        zq_csv_str(b, i == 0, csv_head[i]);
    for (i = 0; i < ncols; i++)
        zq_csv_str(b, false, cols[i].label);
    zq_csv_end_row(b);
}

/* The index of a form in the schema, or -1. */
static int form_index(const zq_schema *s, const char *form)
{
    size_t i, n = s ? zq_schema_nforms(s) : 0;

    for (i = 0; i < n && i < MAX_FORMS; i++)
        if (strcmp(zq_schema_form_at(s, i)->id, form) == 0)
            return (int)i;
    return -1;
}

static void csv_row(zq_buf *b, const zq_staff_ctx *ctx, const zq_case_row *r, const column *cols,
                    size_t ncols, members *m, char *scratch, size_t scratchsz)
{
    const zq_schema *s = ctx->schema;
    int fi = form_index(s, r->form);
    char office[8], partner[8], obuf[160], due[ZQ_DATE_STRLEN];
    const char *dl;
    zq_deadline d;
    size_t i;

    zq_staff_row_office(r, office, partner);
    zq_staff_row_deadline(ctx, r, &d);
    zq_csv_str(b, true, r->id);
    zq_csv_str(b, false, zq_staff_form_title(s, r->form));
    zq_csv_str(b, false, zq_staff_status_label(r->form, r->status));
    csv_time(b, r->created_ms);
    csv_time(b, r->updated_ms ? r->updated_ms : r->created_ms);
    zq_csv_str(b, false, strncmp(r->source, "chat:", 5) == 0 ? "聊天机器人" : "网页");
    zq_csv_str(b, false, r->handler);
    zq_csv_str(b, false, zq_staff_office_name(s, office, obuf, sizeof(obuf)));
    zq_csv_str(b, false, partner[0] ? zq_staff_region_name(s, partner) : "");
    if (d.clock != ZQ_WF_CLOCK_NONE) {
        int l = zq_staff_days_left(ctx, &d);
        zq_csv_str(b, false, zq_wf_clock_label(d.clock));
        zq_csv_str(b, false, zq_date_format(d.due, due, sizeof(due)));
        /* A number Excel can sort and sum: negative when overdue. */
        zq_csv_int(b, false, l);
        zq_csv_str(b, false, d.workdays ? "工作日" : "自然日");
        zq_csv_str(b, false, l < 0 ? "是" : "否");
    } else {
        for (i = 0; i < 5; i++)
            zq_csv_field(b, false, NULL, 0);
    }
    zq_csv_str(b, false, r->dup_of);
    dl = r->department[0] ? zq_wf_department_label(ctx->handling, r->department) : NULL;
    zq_csv_str(b, false, dl ? dl : r->department);
    zq_csv_str(b, false,
               r->result[0] && zq_wf_result_find(r->result) ? zq_wf_result_find(r->result)->label
                                                            : r->result);
    zq_csv_str(b, false, r->result_reason ? r->result_reason : "");
    if (r->has_recovered)
        zq_csv_fen(b, false, r->recovered_fen);
    else
        zq_csv_field(b, false, NULL, 0);
    zq_csv_str(b, false, zq_wf_rating_label(r->rating) ? zq_wf_rating_label(r->rating) : r->rating);
    zq_csv_str(b, false, r->rating_comment ? r->rating_comment : "");
    index_members(r->answers_text, r->answers_len, m);
    for (i = 0; i < ncols; i++) {
        const zq_field *fd = fi >= 0 ? cols[i].field[fi] : NULL;
        size_t vlen = 0;
        const char *v = fd != NULL ? member(m, cols[i].id, &vlen) : NULL;
        csv_answer(b, s, fd, v, vlen, scratch, scratchsz); /* another form's column: empty */
    }
    zq_csv_end_row(b);
}

/* One answer masked in place: a mobile field and the contact's name by
 * their masks, and mobile numbers inside free text. Other types hold no
 * personal data of the complainant's own (codes, amounts, dates). */
static int mask_answer(const zq_field *fd, const char *key, json_t *v)
{
    const char *in = json_string_value(v);
    size_t n = in ? strlen(in) + 1 : 0;
    char *out;
    int rc;

    if (in == NULL || fd == NULL)
        return 0;
    if (fd->type != ZQ_FIELD_MOBILE && fd->type != ZQ_FIELD_TEXT)
        return 0;
    out = malloc(n < 32 ? 32 : n); /* a mask is never longer than its text */
    if (out == NULL)
        return -ZQ_ENOMEM;
    if (fd->type == ZQ_FIELD_MOBILE)
        zq_mask_mobile(in, out, 32);
    else if (strcmp(key, "contact_name") == 0)
        zq_mask_name(in, out, n < 32 ? 32 : n);
    else
        zq_mask_text(in, out, n);
    rc = json_string_set(v, out) == 0 ? 0 : -ZQ_ENOMEM;
    free(out);
    return rc;
}

/* The answers of r for a masked export (mask_answer on each), as a new
 * JSON text in *text (free()); "{}" when the stored text is not an
 * object. Returns 0 or -ZQ_ENOMEM. */
static int masked_answers(const zq_staff_ctx *ctx, const zq_case_row *r, char **text)
{
    const zq_form *f = ctx->schema ? zq_schema_form(ctx->schema, r->form) : NULL;
    json_t *a = r->answers_text ? json_loadb(r->answers_text, r->answers_len, 0, NULL) : NULL;
    const char *key;
    json_t *v;
    int rc = 0;

    *text = NULL;
    if (!json_is_object(a)) {
        json_decref(a);
        a = json_object();
    }
    json_object_foreach(a, key, v)
    {
        if (rc == 0 && f != NULL)
            rc = mask_answer(zq_form_field(f, key, NULL), key, v);
    }
    if (rc == 0 && (*text = json_dumps(a, JSON_COMPACT)) == NULL)
        rc = -ZQ_ENOMEM;
    json_decref(a);
    return rc;
}

static int jsonl_row(zq_buf *b, const zq_staff_ctx *ctx, const zq_case_row *r, bool masked)
{
    int rc = zq_staff_row_write(b, ctx, r, masked, true);

    zq_buf_append(b, "\n", 1);
    return rc < 0 || b->oom ? -ZQ_ENOMEM : 0;
}

/* Writes one row; a masked one through a copy of r that borrows all but
 * its masked answers. Returns 0 or -ZQ_ENOMEM. */
static int export_row(zq_buf *b, const zq_staff_ctx *ctx, const zq_case_row *r, bool masked,
                      zq_export_format fmt, const column *cols, size_t ncols, members *m,
                      char *scratch)
{
    zq_case_row copy;
    char *text = NULL, *comment = NULL, *reason = NULL;
    int rc = 0;

    if (masked) {
        if ((rc = masked_answers(ctx, r, &text)) < 0)
            return rc;
        copy = *r;
        copy.answers_text = text;
        copy.answers_len = strlen(text);
        copy.answers = NULL;
        /* The comment is free text: mobile numbers in it masked, as in
         * the answers (the CSV writes it from the row). */
        if (r->rating_comment != NULL) {
            size_t n = strlen(r->rating_comment) + 32;
            if ((comment = malloc(n)) == NULL) {
                free(text);
                return -ZQ_ENOMEM;
            }
            copy.rating_comment = zq_mask_text(r->rating_comment, comment, n);
        }
        if (r->result_reason != NULL) {
            size_t n = strlen(r->result_reason) + 32;
            if ((reason = malloc(n)) == NULL) {
                free(text);
                free(comment);
                return -ZQ_ENOMEM;
            }
            copy.result_reason = zq_mask_text(r->result_reason, reason, n);
        }
        r = &copy;
    }
    if (fmt == ZQ_EXPORT_CSV)
        csv_row(b, ctx, r, cols, ncols, m, scratch, SCRATCH);
    else
        rc = jsonl_row(b, ctx, r, masked);
    free(text);
    free(comment);
    free(reason);
    return rc;
}

int zq_staff_export(zq_store *st, const zq_staff_ctx *ctx_in, const zq_case_filter *f,
                    zq_export_format fmt, bool masked, const zq_export_sink *sink, long long *rows,
                    zq_err *err)
{
    zq_staff_memo memo_own = {{{0}}};
    zq_staff_ctx ctx_own = zq_staff_with_memo(ctx_in, &memo_own);
    const zq_staff_ctx *ctx = &ctx_own;
    char(*ids)[ZQ_CASE_ID_MAX] = malloc(SCAN_BATCH * sizeof(*ids));
    zq_case_row *rowv = calloc(SCAN_BATCH, sizeof(*rowv));
    column *cols = calloc(256, sizeof(*cols));
    members *mem = malloc(sizeof(*mem));
    char *scratch = malloc(SCRATCH);
    size_t ncols = cols ? answer_columns(ctx->schema, f->type, cols, 256) : 0;
    zq_cursor cur = {0};
    zq_buf b = {0};
    bool done = false, begun = false;
    int n, i, rc = 0;

    *rows = 0;
    if (ids == NULL || rowv == NULL || cols == NULL || mem == NULL || scratch == NULL ||
        zq_buf_reserve(&b, CHUNK + 8192) < 0) {
        rc = zq_err_set(err, ZQ_ENOMEM, "export: out of memory");
        goto out;
    }
    while (!done) {
        rc = zq_staff_scan(st, ctx, f, &cur, SCAN_BATCH, SCAN_BUDGET * 5, ZQ_SCAN_ANSWERS, ids,
                           rowv, &n, &done, err);
        if (rc < 0)
            break;
        if (!begun) {
            begun = true;
            if (sink->begin != NULL && (rc = sink->begin(sink->ctx)) < 0)
                goto clear;
            if (fmt == ZQ_EXPORT_CSV)
                csv_header(&b, cols, ncols);
        }
        for (i = 0; i < n; i++) {
            if (!rowv[i].found)
                continue; /* deleted between the scan and the read */
            if (export_row(&b, ctx, &rowv[i], masked, fmt, cols, ncols, mem, scratch) < 0) {
                rc = zq_err_set(err, ZQ_ENOMEM, "export: out of memory");
                goto clear;
            }
            (*rows)++;
            if (b.len >= CHUNK) {
                if (b.oom || (rc = sink->write(sink->ctx, b.data, b.len)) < 0)
                    goto clear;
                zq_buf_reset(&b);
            }
        }
    clear:
        for (i = 0; i < n; i++)
            zq_case_row_clear(&rowv[i]);
        if (rc < 0)
            goto out;
    }
    if (rc < 0 && !begun)
        goto out; /* nothing sent: the caller answers 503 */
    if (!begun) {
        if (sink->begin != NULL && (rc = sink->begin(sink->ctx)) < 0)
            goto out;
        if (fmt == ZQ_EXPORT_CSV)
            csv_header(&b, cols, ncols);
    }
    if (rc < 0) {
        ZQ_ERROR("event=export_interrupted rows=%lld err=\"%s\"", *rows, err ? err->msg : "");
        if (fmt == ZQ_EXPORT_CSV)
            zq_buf_puts(&b, "导出中断：读取数据失败，本文件不完整，请重新导出。\r\n");
        else
            zq_buf_puts(&b, "{\"error\":{\"code\":\"export_interrupted\",\"message\":"
                            "\"导出中断：读取数据失败，本文件不完整，请重新导出。\"}}\n");
    }
    if (b.len > 0) {
        int wrc = sink->write(sink->ctx, b.data, b.len);
        if (rc == 0)
            rc = wrc;
    }
out:
    zq_buf_free(&b);
    free(ids);
    free(rowv);
    free(cols);
    free(mem);
    free(scratch);
    return rc;
}

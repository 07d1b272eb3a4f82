/* One case as the staff detail view shows it: the row with its answers,
 * history and notes, loaded together, and its JSON (labels, answers by
 * step, the deadline from the history, the moves allowed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staff_int.h"
#include "zhuqi/summary.h"
#include "zhuqi/files.h"

/* The records attached after submission (files_more) into c->files_more:
 * the detail is no hot path, one more short read is fine. */
static int load_files_more(zq_store *st, const char *id, zq_staff_case *c, zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX];
    redisReply *r;

    if (zq_store_key(st, key, sizeof(key), "case:%s", id) < 0)
        return zq_err_set(err, ZQ_EINVAL, "staff: case id too long for a key");
    r = zq_store_command(st, err, "HGET %s files_more", key);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_STRING)
        c->files_more = json_loadb(r->str, r->len, 0, NULL);
    freeReplyObject(r);
    if (!json_is_array(c->files_more)) {
        json_decref(c->files_more);
        c->files_more = json_array();
    }
    return c->files_more ? 0 : zq_err_set(err, ZQ_ENOMEM, "case: out of memory");
}

int zq_staff_case_load(zq_store *st, const char *id, bool notes, zq_staff_case *c, zq_err *err)
{
    char ids[1][ZQ_CASE_ID_MAX];
    size_t n = id ? strlen(id) : 0;
    int rc;

    memset(c, 0, sizeof(*c));
    if (id == NULL || n >= ZQ_CASE_ID_MAX || !zq_case_id_valid(id))
        return zq_err_set(err, ZQ_ENOTFOUND, "case: bad id");
    memcpy(ids[0], id, n + 1);
    rc = zq_staff_fetch_rows(st, ids, 1, true, &c->row, err);
    if (rc == 0 && c->row.found)
        rc = zq_staff_load_list(st, id, "log", ZQ_STAFF_HISTORY_MAX, &c->log, err);
    if (rc == 0 && c->row.found && notes)
        rc = zq_staff_load_list(st, id, "notes", ZQ_STAFF_NOTES_MAX, &c->notes, err);
    if (rc == 0 && !c->row.found)
        rc = zq_err_set(err, ZQ_ENOTFOUND, "case %s not found", id);
    if (rc == 0 && c->notes == NULL && (c->notes = json_array()) == NULL)
        rc = zq_err_set(err, ZQ_ENOMEM, "case: out of memory");
    if (rc == 0)
        rc = load_files_more(st, id, c, err);
    if (rc < 0)
        zq_staff_case_clear(c);
    return rc;
}

void zq_staff_case_clear(zq_staff_case *c)
{
    zq_case_row_clear(&c->row);
    json_decref(c->log);
    json_decref(c->notes);
    json_decref(c->files_more);
    c->log = c->notes = c->files_more = NULL;
}

void zq_staff_case_deadline(const zq_staff_ctx *ctx, const zq_staff_case *c, zq_deadline *d)
{
    zq_wf_deadline(ctx->cal, &ctx->lim, c->row.form, c->row.status, c->log, c->row.created_ms, d);
}

/* The history or the notes of c for staff: every entry with its time as
 * text and, with labels (the history), its kind and status labels. */
static json_t *entries_json(const zq_staff_case *c, json_t *list, bool labels)
{
    json_t *out = json_array(), *e;
    size_t i;

    json_array_foreach(list, i, e)
    {
        json_t *h = json_deep_copy(e);
        json_t *at = json_object_get(e, "at_ms");
        const char *from = json_string_value(json_object_get(e, "from"));
        const char *to = json_string_value(json_object_get(e, "to"));
        char iso[32];

        if (h == NULL)
            continue;
        zq_time_iso(json_is_integer(at) ? json_integer_value(at) : 0, iso);
        json_object_set_new(h, "at", json_string(iso));
        if (labels && json_object_get(h, "kind") == NULL)
            json_object_set_new(h, "kind", json_string("status"));
        if (labels && from != NULL && *from != '\0')
            json_object_set_new(h, "from_label",
                                json_string(zq_staff_status_label(c->row.form, from)));
        if (labels && to != NULL)
            json_object_set_new(h, "to_label", json_string(zq_staff_status_label(c->row.form, to)));
        json_array_append_new(out, h);
    }
    return out;
}

/* The answers grouped by step with labels and display values. */
static json_t *fields_json(const zq_schema *s, const zq_case_row *r)
{
    return zq_summary_fields(s, s ? zq_schema_form(s, r->form) : NULL, r->answers, 0);
}

/* A copy of rec with its kind's label, the download path (fcgi/files.c)
 * and whether it came after submission; NULL when it has no id. */
static json_t *file_json(const zq_case_row *r, json_t *rec, const char *label, bool later)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    char url[160];
    json_t *o;

    if (id == NULL || zq_fmt(url, sizeof(url), "/api/admin/cases/%s/files/%s", r->id, id) < 0)
        return NULL;
    o = json_deep_copy(rec);
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "kind_label", json_string(label));
    json_object_set_new(o, "url", json_string(url));
    json_object_set_new(o, "later", json_boolean(later));
    return o;
}

/* The case's evidence files for the console: each record with its kind's
 * label and the download path, in form order, then those attached after
 * submission (files_more: an answer to a request for more material, a
 * chat), in the order they came, marked "later". */
static json_t *files_json(const zq_schema *s, const zq_case_row *r, json_t *more)
{
    const zq_form *f = s ? zq_schema_form(s, r->form) : NULL;
    json_t *out = json_array(), *rec;
    size_t i, j, k, n;

    for (i = 0; f != NULL && out != NULL && i < f->nsteps; i++)
        for (j = 0; j < f->steps[i].nfields; j++) {
            const zq_field *fld = &f->steps[i].fields[j];
            json_t *list = json_object_get(r->answers, fld->id);

            if (fld->type != ZQ_FIELD_FILES || !json_is_array(list))
                continue;
            json_array_foreach(list, n, rec)
            {
                const char *kind = json_string_value(json_object_get(rec, "kind"));
                const char *label = kind ? kind : "";
                json_t *o;

                for (k = 0; kind != NULL && k < fld->nkinds; k++)
                    if (strcmp(fld->kinds[k].value, kind) == 0)
                        label = fld->kinds[k].label;
                if ((o = file_json(r, rec, label, false)) != NULL)
                    json_array_append_new(out, o);
            }
        }
    json_array_foreach(more, n, rec)
    {
        const char *kind = json_string_value(json_object_get(rec, "kind"));
        const zq_field *fld = zq_files_field_for_kind(f, kind);
        const char *label = kind ? kind : "";
        json_t *o;

        for (k = 0; fld != NULL && k < fld->nkinds; k++)
            if (strcmp(fld->kinds[k].value, kind) == 0)
                label = fld->kinds[k].label;
        if ((o = file_json(r, rec, label, true)) != NULL)
            json_array_append_new(out, o);
    }
    return out;
}

/* The open request for more material of a case in needs_info: what was
 * asked, when, by which date, whether that date has passed and the
 * working days waited so far; json null otherwise. */
static json_t *supplement_json(const zq_staff_ctx *ctx, const zq_staff_case *c,
                               const zq_deadline *d)
{
    json_t *e = NULL;
    int64_t at = zq_wf_last_request(c->log, &e);
    char iso[32], due[ZQ_DATE_STRLEN];
    const char *msg;

    if (strcmp(c->row.status, "needs_info") != 0 || at < 0 || d->clock != ZQ_WF_CLOCK_SUPPLY)
        return json_null();
    msg = json_string_value(json_object_get(e, "message"));
    zq_time_iso(at, iso);
    zq_date_format(d->due, due, sizeof(due));
    return json_pack("{s:s, s:s, s:s, s:b, s:i}", "requested_at", iso, "message", msg ? msg : "",
                     "supply_by", due, "overdue", zq_date_cmp(ctx->today, d->due) > 0,
                     "waiting_workdays",
                     zq_wf_waited(ctx->cal, at, zq_date_to_ms(ctx->today, 12, 0)));
}

json_t *zq_staff_case_json(const zq_staff_ctx *ctx, const zq_staff_case *c, zq_role role)
{
    const zq_wf_machine *m = zq_wf_machine_for(c->row.form);
    const zq_wf_status *st = zq_wf_status_find(m, c->row.status);
    json_t *o = zq_staff_row_json(ctx, &c->row, false);
    zq_deadline d;

    if (o == NULL)
        return NULL;
    zq_staff_case_deadline(ctx, c, &d);
    json_object_set_new(o, "deadline",
                        zq_wf_deadline_json(ctx->cal, &d, c->row.status, ctx->today));
    json_object_set(o, "answers", c->row.answers);
    json_object_set_new(o, "fields", fields_json(ctx->schema, &c->row));
    json_object_set_new(o, "files", files_json(ctx->schema, &c->row, c->files_more));
    json_object_set_new(o, "history", entries_json(c, c->log, true));
    json_object_set_new(o, "supplement", supplement_json(ctx, c, &d));
    json_object_set_new(o, "notes", entries_json(c, c->notes, false));
    json_object_set_new(o, "allowed_moves", zq_wf_moves_json(m, c->row.status, role));
    json_object_set_new(
        o, "extension",
        json_pack("{s:b, s:i, s:i, s:i}", "allowed",
                  st != NULL && st->clock == ZQ_WF_CLOCK_ANSWER && role >= ZQ_ROLE_HANDLER,
                  "current_days", d.clock == ZQ_WF_CLOCK_ANSWER ? d.limit : 0, "min_days",
                  ctx->lim.answer_days + 1, "max_days", ctx->lim.answer_max_days));
    return o;
}

/* The list summary of a case, derived from its answers (see summary.h):
 * one place that decides what the staff list shows of the answers for
 * each form, used by case creation and by the staff actions that fill in
 * the summary of a case stored before it existed. */
#include "zhuqi/summary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/workflow.h"

static const char *str_of(json_t *answers, const char *key)
{
    const char *v = json_string_value(json_object_get(answers, key));
    return v ? v : "";
}

void zq_summary_from_answers(const char *form, json_t *answers, zq_summary *out)
{
    bool complaint = form != NULL && strcmp(form, "complaint") == 0;
    json_t *amount = json_object_get(answers, "amount_fen");

    memset(out, 0, sizeof(*out));
    if (!json_is_object(answers))
        answers = NULL;
    out->company_name = str_of(answers, "company_name");
    out->contact_name = str_of(answers, "contact_name");
    out->respondent_name = complaint ? str_of(answers, "respondent_name") : "";
    out->topic = complaint ? "" : str_of(answers, "topic");
    /* As the list showed it from the JSON text: digits only. */
    if (complaint && json_is_integer(amount) && json_integer_value(amount) >= 0 &&
        zq_fmt(out->amount_fen, sizeof(out->amount_fen), "%lld",
               (long long)json_integer_value(amount)) < 0)
        out->amount_fen[0] = '\0'; /* cannot happen: 19 digits fit in 24 */
    zq_wf_default_office(form, answers, out->office, out->partner);
}

int zq_summary_pack(const zq_summary *s, zq_buf *b)
{
    const char *v[ZQ_SUMMARY_NSUM] = {s->company_name, s->contact_name, s->respondent_name,
                                      s->amount_fen,   s->topic,        s->office,
                                      s->partner};
    char sep = ZQ_SUMMARY_SEP;
    int i;

    for (i = 0; i < ZQ_SUMMARY_NSUM; i++)
        if (strchr(v[i], sep) != NULL)
            return -ZQ_EINVAL;
    zq_buf_puts(b, ZQ_SUMMARY_VERSION);
    for (i = 0; i < ZQ_SUMMARY_NSUM; i++) {
        zq_buf_append(b, &sep, 1);
        zq_buf_puts(b, v[i]);
    }
    return b->oom ? -ZQ_ENOMEM : 0;
}

int zq_summary_split_in(char *s, size_t len, const char *part[ZQ_SUMMARY_NSUM],
                        size_t plen[ZQ_SUMMARY_NSUM])
{
    size_t vl = sizeof(ZQ_SUMMARY_VERSION) - 1;
    char *sep[ZQ_SUMMARY_NSUM], *p, *end;
    int k = 0;

    if (s == NULL || len <= vl || memcmp(s, ZQ_SUMMARY_VERSION, vl) != 0 || s[vl] != ZQ_SUMMARY_SEP)
        return -ZQ_EINVAL;
    end = s + len;
    /* memchr from separator to separator: the list splits a pack per
     * row, and a byte loop was most of it. Nothing is written before the
     * pack is known whole. */
    for (p = s + vl; p != NULL; p = memchr(p + 1, ZQ_SUMMARY_SEP, (size_t)(end - p - 1))) {
        if (k == ZQ_SUMMARY_NSUM)
            return -ZQ_EINVAL;
        sep[k++] = p;
    }
    if (k != ZQ_SUMMARY_NSUM)
        return -ZQ_EINVAL;
    for (k = 0; k < ZQ_SUMMARY_NSUM; k++) {
        char *e = k + 1 < ZQ_SUMMARY_NSUM ? sep[k + 1] : end;
        part[k] = sep[k] + 1;
        plen[k] = (size_t)(e - sep[k] - 1);
        if (k + 1 < ZQ_SUMMARY_NSUM)
            *e = '\0';
    }
    return 0;
}

char *zq_summary_split(const char *s, size_t len, const char *part[ZQ_SUMMARY_NSUM])
{
    size_t plen[ZQ_SUMMARY_NSUM];
    char *t;

    if (s == NULL)
        return NULL;
    t = malloc(len + 1);
    if (t == NULL)
        return NULL;
    memcpy(t, s, len);
    t[len] = '\0';
    if (zq_summary_split_in(t, len, part, plen) < 0) {
        free(t);
        return NULL;
    }
    return t;
}

json_t *zq_summary_fields(const zq_schema *s, const zq_form *f, json_t *answers, unsigned flags)
{
    json_t *out = json_array();
    size_t i, j;

    for (i = 0; f != NULL && out != NULL && i < f->nsteps; i++) {
        const zq_step *st = &f->steps[i];
        json_t *items = json_array();

        for (j = 0; items != NULL && j < st->nfields; j++) {
            const zq_field *fld = &st->fields[j];
            json_t *v = json_object_get(answers, fld->id);
            char *disp;

            if (v == NULL || (fld->type == ZQ_FIELD_FILES && (flags & ZQ_SUMMARY_NO_FILES)))
                continue;
            disp = json_is_null(v) ? NULL
                                   : zq_field_display(s, fld, v, (flags & ZQ_SUMMARY_MASK) != 0);
            json_array_append_new(items, json_pack("{s:s, s:s, s:s}", "id", fld->id, "label",
                                                   fld->label, "value", disp ? disp : ""));
            free(disp);
        }
        if (json_array_size(items) > 0)
            json_array_append_new(out, json_pack("{s:s, s:s, s:o}", "step", st->id, "title",
                                                 st->title, "fields", items));
        else
            json_decref(items);
    }
    return out;
}

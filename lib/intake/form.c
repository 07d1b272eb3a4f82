/* Reading a loaded schema: forms, steps and fields by id, which fields a
 * set of answers makes visible, and the validation of one step and of a
 * whole form (the field validators are in validate.c). Apart from the
 * loader (schema.c), which builds what these read. */
#include <stdlib.h>
#include <string.h>

#include "schema_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/schema.h"

/* The field with this id among those parsed so far, with its place. */
const zq_field *zq_form_find_field(const zq_form *f, const char *id, size_t *si, size_t *fi)
{
    size_t i, j;

    for (i = 0; i < f->nsteps; i++)
        for (j = 0; j < f->steps[i].nfields; j++)
            if (strcmp(f->steps[i].fields[j].id, id) == 0) {
                if (si != NULL)
                    *si = i;
                if (fi != NULL)
                    *fi = j;
                return &f->steps[i].fields[j];
            }
    return NULL;
}

const zq_form *zq_schema_form(const zq_schema *s, const char *id)
{
    size_t i;

    if (s == NULL || id == NULL)
        return NULL;
    for (i = 0; i < s->nforms; i++)
        if (strcmp(s->forms[i].f.id, id) == 0)
            return &s->forms[i].f;
    return NULL;
}

size_t zq_schema_nforms(const zq_schema *s)
{
    return s != NULL ? s->nforms : 0;
}

const zq_form *zq_schema_form_at(const zq_schema *s, size_t i)
{
    return s != NULL && i < s->nforms ? &s->forms[i].f : NULL;
}

const zq_step *zq_form_step(const zq_form *f, const char *step_id)
{
    size_t i;

    if (f == NULL || step_id == NULL)
        return NULL;
    for (i = 0; i < f->nsteps; i++)
        if (strcmp(f->steps[i].id, step_id) == 0)
            return &f->steps[i];
    return NULL;
}

const zq_field *zq_form_field(const zq_form *f, const char *field_id, const zq_step **step)
{
    const zq_field *fld;
    size_t si;

    if (step != NULL)
        *step = NULL;
    if (f == NULL || field_id == NULL)
        return NULL;
    fld = zq_form_find_field(f, field_id, &si, NULL);
    if (fld != NULL && step != NULL)
        *step = &f->steps[si];
    return fld;
}

/* Whether f's condition holds for v, the answer it depends on (NULL:
 * none). */
static bool when_holds(const zq_field *f, json_t *v)
{
    const char *s;
    size_t i;

    if (json_is_boolean(v))
        s = json_is_true(v) ? "true" : "false";
    else if (json_is_string(v))
        s = json_string_value(v);
    else
        return false;
    for (i = 0; i < f->when.nvalues; i++)
        if (strcmp(f->when.values[i], s) == 0)
            return true;
    return false;
}

bool zq_field_visible(const zq_field *f, json_t *answers)
{
    if (f == NULL)
        return false;
    if (f->when.field == NULL)
        return true;
    return when_holds(f, json_object_get(answers, f->when.field)); /* NULL-safe */
}

json_t *zq_form_visible_answers(const zq_form *f, json_t *answers)
{
    json_t *out = json_object();
    size_t i, j;

    if (out == NULL || f == NULL)
        return out;
    for (i = 0; i < f->nsteps; i++)
        for (j = 0; j < f->steps[i].nfields; j++) {
            const zq_field *fld = &f->steps[i].fields[j];
            json_t *v = json_object_get(answers, fld->id);

            if (v != NULL && zq_field_visible(fld, out) && json_object_set(out, fld->id, v) < 0) {
                json_decref(out);
                return NULL;
            }
        }
    return out;
}

/* fld's place in form order (steps, then fields), from its address. */
static size_t form_pos(const zq_form *f, const zq_field *fld)
{
    size_t i, n = 0;

    for (i = 0; i < f->nsteps; i++) {
        if (fld >= f->steps[i].fields && fld < f->steps[i].fields + f->steps[i].nfields)
            return n + (size_t)(fld - f->steps[i].fields);
        n += f->steps[i].nfields;
    }
    return n;
}

/* fld's value in zq_form_visible_answers(f, answers), read in place: the
 * answer, when its condition holds for the visible value of a field that
 * comes before it (each step of the chain goes back, so it ends). */
static json_t *visible_value(const zq_form *f, json_t *answers, const zq_field *fld)
{
    json_t *v = json_object_get(answers, fld->id);
    const zq_field *ctrl;

    if (v == NULL || fld->when.field == NULL)
        return v;
    ctrl = zq_form_find_field(f, fld->when.field, NULL, NULL);
    if (ctrl == NULL || form_pos(f, ctrl) >= form_pos(f, fld))
        return NULL;
    return when_holds(fld, visible_value(f, answers, ctrl)) ? v : NULL;
}

bool zq_form_field_shown(const zq_form *f, json_t *answers, const zq_field *fld)
{
    const zq_field *ctrl;

    if (f == NULL || fld == NULL)
        return false;
    if (fld->when.field == NULL)
        return true;
    ctrl = zq_form_find_field(f, fld->when.field, NULL, NULL);
    return when_holds(fld, ctrl != NULL ? visible_value(f, answers, ctrl) : NULL);
}

const zq_option *zq_form_stop(const zq_form *f, json_t *answers, const zq_field **fld)
{
    size_t j, k;

    if (fld != NULL)
        *fld = NULL;
    if (f == NULL || f->nsteps == 0 || !f->steps[0].gate)
        return NULL;
    for (j = 0; j < f->steps[0].nfields; j++) {
        const zq_field *g = &f->steps[0].fields[j];
        const char *v = json_string_value(json_object_get(answers, g->id));

        for (k = 0; v != NULL && k < g->noptions; k++)
            if (g->options[k].stop != NULL && strcmp(g->options[k].value, v) == 0) {
                if (fld != NULL)
                    *fld = g;
                return &g->options[k];
            }
    }
    return NULL;
}

int zq_stop_message(const zq_option *stop, char *buf, size_t size)
{
    if (stop == NULL || stop->stop == NULL)
        return zq_fmt(buf, size, "%s", "");
    return zq_fmt(buf, size, "%s%s", stop->stop, stop->stop_where);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), and back. */
static long long days_of(int y, int m, int d)
{
    long long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_of(long long z, int *y, int *m, int *d)
{
    long long era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* "YYYY-MM-DD" (as normalised) plus n days into out[11]. */
static int date_plus(const char *iso, long long n, char *out, size_t size)
{
    long long y, m, d;
    int yy, mm, dd;

    if (iso == NULL || strlen(iso) != 10 || iso[4] != '-' || iso[7] != '-' ||
        zq_parse_ll(iso, 4, 1, 9999, &y) < 0 || zq_parse_ll(iso + 5, 2, 1, 12, &m) < 0 ||
        zq_parse_ll(iso + 8, 2, 1, 31, &d) < 0)
        return -ZQ_EINVAL;
    civil_of(days_of((int)y, (int)m, (int)d) + n, &yy, &mm, &dd);
    if (yy < 1 || yy > 9999)
        return -ZQ_EINVAL;
    return zq_fmt(out, size, "%04d-%02d-%02d", yy, mm, dd);
}

/* The due date rule: the first answered date plus the term's days. */
static int prefill_due(const zq_form *f, json_t *p, json_t *answers, json_t **value, char **note)
{
    json_t *dates = json_object_get(p, "dates"), *days, *def = json_object_get(p, "default"), *d;
    const char *term =
        json_string_value(json_object_get(answers, json_string_value(json_object_get(p, "term"))));
    const zq_field *src = NULL;
    const char *from = NULL;
    char due[16], buf[300];
    size_t i;
    long long n;

    for (i = 0; i < json_array_size(dates) && from == NULL; i++) {
        const char *id = json_string_value(json_array_get(dates, i));

        from = json_string_value(json_object_get(answers, id));
        src = zq_form_field(f, id, NULL);
    }
    if (from == NULL || term == NULL || src == NULL)
        return -ZQ_ENOTFOUND;
    days = json_object_get(json_object_get(p, "days"), term);
    if (days == NULL && def != NULL) {
        json_array_foreach(json_object_get(def, "when"), i, d)
        {
            if (json_is_string(d) && strcmp(json_string_value(d), term) == 0) {
                const char *by = json_string_value(
                    json_object_get(answers, json_string_value(json_object_get(def, "field"))));

                days = by ? json_object_get(json_object_get(def, "days"), by) : NULL;
            }
        }
    }
    if (!json_is_integer(days))
        return -ZQ_ENOTFOUND;
    n = json_integer_value(days);
    if (date_plus(from, n, due, sizeof(due)) < 0 ||
        zq_fmt(buf, sizeof(buf), "按%s %s 加 %lld 天计算", src->label, from, n) < 0)
        return -ZQ_ENOTFOUND;
    *value = json_string(due);
    *note = strdup(buf);
    if (*value == NULL || *note == NULL) {
        json_decref(*value);
        free(*note);
        *value = NULL;
        *note = NULL;
        return -ZQ_ENOMEM;
    }
    return 0;
}

int zq_field_prefill(const zq_form *f, const zq_field *fld, json_t *answers, json_t **value,
                     char **note)
{
    json_t *p;
    const char *type;
    size_t i;

    *value = NULL;
    *note = NULL;
    if (f == NULL || fld == NULL || fld->prefill == NULL)
        return -ZQ_ENOTFOUND;
    p = fld->prefill;
    type = json_string_value(json_object_get(p, "type"));
    if (type == NULL)
        return -ZQ_ENOTFOUND;
    if (strcmp(type, "copy") == 0) {
        const char *v = json_string_value(
            json_object_get(answers, json_string_value(json_object_get(p, "from"))));

        for (i = 0; v != NULL && i < fld->noptions; i++)
            if (strcmp(fld->options[i].value, v) == 0) {
                *value = json_string(v);
                return *value != NULL ? 0 : -ZQ_ENOMEM;
            }
        return -ZQ_ENOTFOUND;
    }
    if (strcmp(type, "difference") == 0) {
        json_t *from = json_object_get(p, "from");
        json_t *a = json_object_get(answers, json_string_value(json_array_get(from, 0)));
        json_t *b = json_object_get(answers, json_string_value(json_array_get(from, 1)));
        long long bv = json_is_integer(b) ? json_integer_value(b) : 0;

        /* Nothing paid yet when the second amount is left empty. */
        if (!json_is_integer(a) || json_integer_value(a) - bv <= 0)
            return -ZQ_ENOTFOUND;
        *value = json_integer(json_integer_value(a) - bv);
        return *value != NULL ? 0 : -ZQ_ENOMEM;
    }
    return prefill_due(f, p, answers, value, note);
}

static const form_entry *entry_of(const zq_schema *s, const zq_form *f)
{
    size_t i;

    for (i = 0; s != NULL && i < s->nforms; i++)
        if (&s->forms[i].f == f)
            return &s->forms[i];
    return NULL;
}

/* Whether rule r holds for its field's value a and the other's b (true
 * when one is missing). */
static bool rule_holds_for(const rule *r, json_t *a, json_t *b)
{
    if (r->type == RULE_DATE_NOT_BEFORE) {
        if (!json_is_string(a) || !json_is_string(b))
            return true;
        return strcmp(json_string_value(a), json_string_value(b)) >= 0;
    }
    if (!json_is_integer(a) || !json_is_integer(b))
        return true;
    return json_integer_value(a) <= json_integer_value(b);
}

/* Whether rule r holds for the values in vals (true when one is missing). */
static bool rule_holds(const rule *r, json_t *vals)
{
    return rule_holds_for(r, json_object_get(vals, r->field->id),
                          json_object_get(vals, r->other->id));
}

static bool step_has(const zq_step *st, const zq_field *fld)
{
    return st->nfields > 0 && fld >= st->fields && fld < st->fields + st->nfields;
}

static int set_msg(json_t *errors, const char *id, const char *msg)
{
    if (json_object_get(errors, id) != NULL)
        return 0; /* the first message for a field wins */
    return json_object_set_new(errors, id, json_string(msg)) < 0 ? -ZQ_ENOMEM : 0;
}

/* Whether st has a field with this id. */
static bool step_has_id(const zq_step *st, const char *id)
{
    size_t i;

    for (i = 0; i < st->nfields; i++)
        if (strcmp(st->fields[i].id, id) == 0)
            return true;
    return false;
}

bool zq_step_standalone(const zq_schema *s, const zq_form *f, const zq_step *st)
{
    const form_entry *e = entry_of(s, f);
    size_t i;

    if (e == NULL || st == NULL || st->review)
        return false;
    for (i = 0; i < st->nfields; i++) {
        const zq_field *fld = &st->fields[i];

        if (fld->type == ZQ_FIELD_FILES ||
            (fld->when.field != NULL && !step_has_id(st, fld->when.field)))
            return false;
    }
    for (i = 0; i < e->nrules; i++)
        if (step_has(st, e->rules[i].field) != step_has(st, e->rules[i].other))
            return false;
    /* The stop rule reads the gate's answers as stored: only while none
     * of them depends on a condition. */
    if (!st->gate && f->nsteps > 0 && f->steps[0].gate)
        for (i = 0; i < f->steps[0].nfields; i++)
            if (f->steps[0].fields[i].when.field != NULL)
                return false;
    return true;
}

bool zq_step_plain(const zq_schema *s, const zq_form *f, const zq_step *st)
{
    const form_entry *e = entry_of(s, f);
    size_t i;

    if (e == NULL || st == NULL || st->gate || !zq_step_standalone(s, f, st))
        return false;
    for (i = 0; i < st->nfields; i++)
        if (st->fields[i].when.field != NULL || st->fields[i].multiple)
            return false;
    for (i = 0; i < e->nrules; i++)
        if (step_has(st, e->rules[i].field) || step_has(st, e->rules[i].other))
            return false;
    return true;
}

/* The index of the step that holds fld. */
static size_t step_index(const zq_form *f, const zq_field *fld)
{
    size_t i;

    for (i = 0; i < f->nsteps; i++)
        if (step_has(&f->steps[i], fld))
            return i;
    return f->nsteps;
}

/* The answers one step's validation reads: the other steps' stored ones
 * and the step's own normalised so far (res; NULL: none yet). */
typedef struct step_view {
    const zq_form *f;
    const zq_step *st;
    json_t *answers;
    json_t *res;
} step_view;

/* fld's value in zq_form_visible_answers(f, the view) without building
 * it: present, and its condition (on an answer that comes before it in
 * the form) holding for that answer's own visible value. */
static json_t *view_get(const step_view *w, const zq_field *fld, int depth)
{
    json_t *v = step_has(w->st, fld) ? json_object_get(w->res, fld->id)
                                     : json_object_get(w->answers, fld->id);
    const zq_field *ctrl;
    size_t cs, fs;

    if (v == NULL || fld->when.field == NULL)
        return v;
    ctrl = zq_form_find_field(w->f, fld->when.field, NULL, NULL);
    if (ctrl == NULL || depth > 64)
        return NULL;
    cs = step_index(w->f, ctrl);
    fs = step_index(w->f, fld);
    if (!(cs < fs || (cs == fs && ctrl < fld)))
        return NULL;
    return when_holds(fld, view_get(w, ctrl, depth + 1)) ? v : NULL;
}

/* zq_form_stop on the view. */
static const zq_option *view_stop(const step_view *w)
{
    const zq_form *f = w->f;
    size_t j, k;

    if (f->nsteps == 0 || !f->steps[0].gate)
        return NULL;
    for (j = 0; j < f->steps[0].nfields; j++) {
        const zq_field *g = &f->steps[0].fields[j];
        const char *v = json_string_value(view_get(w, g, 0));

        for (k = 0; v != NULL && k < g->noptions; k++)
            if (g->options[k].stop != NULL && strcmp(g->options[k].value, v) == 0)
                return &g->options[k];
    }
    return NULL;
}

/* Whether st's field fld is shown: its condition read in the step's own
 * answers so far, or else in the other steps' visible ones. */
static bool step_field_visible(const step_view *w, const zq_field *fld)
{
    const zq_field *ctrl;
    step_view others = *w;

    if (fld->when.field == NULL)
        return true;
    if (step_has_id(w->st, fld->when.field))
        return when_holds(fld, json_object_get(w->res, fld->when.field));
    ctrl = zq_form_find_field(w->f, fld->when.field, NULL, NULL);
    others.res = NULL;
    return when_holds(fld, ctrl != NULL ? view_get(&others, ctrl, 0) : NULL);
}

/* set_msg on *errs, made when it is still NULL. */
static int step_msg(json_t **errs, const char *id, const char *msg)
{
    if (*errs == NULL && (*errs = json_object()) == NULL)
        return -ZQ_ENOMEM;
    return set_msg(*errs, id, msg);
}

/* The values are read in place (view_get) rather than copied into
 * objects of visible answers: a step is validated on every save. */
int zq_step_validate(const zq_schema *s, const zq_form *f, const zq_step *st, json_t *input,
                     json_t *answers, const zq_schema_opts *o, json_t **out, json_t **errors)
{
    const form_entry *e = entry_of(s, f);
    json_t *res = NULL, *errs = NULL;
    const zq_option *stop;
    step_view w = {f, st, json_is_object(answers) ? answers : NULL, NULL};
    char stopmsg[1024];
    const char *k;
    json_t *v;
    size_t i;
    int rc = -ZQ_ENOMEM;

    if (out != NULL)
        *out = NULL;
    if (errors != NULL)
        *errors = NULL;
    if (out == NULL || errors == NULL)
        return -ZQ_EINVAL;
    /* errs is made on the first message: most saves have none. */
    res = json_object();
    if (res == NULL)
        goto out;
    if (e == NULL || st == NULL || st < f->steps || st >= f->steps + f->nsteps) {
        if (step_msg(&errs, "_", "表单中没有这一步") < 0)
            goto out;
        goto invalid;
    }
    if (input != NULL && !json_is_object(input)) {
        if (step_msg(&errs, "_", "提交的内容格式不正确") < 0)
            goto out;
        goto invalid;
    }
    json_object_foreach(input, k, v)
    {
        if (!step_has_id(st, k) && (rc = step_msg(&errs, k, "表单中没有这一项")) < 0)
            goto out;
    }
    /* Nothing after the eligibility check is taken while one of its
     * answers rules the complaint out. */
    if (!st->gate && (stop = view_stop(&w)) != NULL) {
        zq_stop_message(stop, stopmsg, sizeof(stopmsg));
        if ((rc = step_msg(&errs, "_", stopmsg)) < 0)
            goto out;
        goto invalid;
    }
    w.res = res;
    for (i = 0; i < st->nfields; i++) {
        const zq_field *fld = &st->fields[i];
        json_t *val = NULL;
        const char *msg = NULL;

        /* Hidden: not required, and dropped when sent. A field whose
         * controlling answer failed is hidden until that is fixed. */
        if (!step_field_visible(&w, fld))
            continue;
        rc = zq_field_validate(s, fld, json_object_get(input, fld->id), o, &val, &msg);
        if (rc == -ZQ_ENOMEM)
            goto out;
        if (rc < 0) {
            if ((rc = step_msg(&errs, fld->id, msg)) < 0)
                goto out;
            continue;
        }
        /* res owns val from here on, even when the set fails */
        if (json_object_set_new(res, fld->id, val) < 0)
            goto out;
    }
    /* Rules touching this step, on every answer as it would stand. */
    for (i = 0; i < e->nrules; i++) {
        const rule *r = &e->rules[i];
        const zq_field *at = step_has(st, r->field)   ? r->field
                             : step_has(st, r->other) ? r->other
                                                      : NULL;

        if (at != NULL && json_object_get(errs, at->id) == NULL &&
            !rule_holds_for(r, view_get(&w, r->field, 0), view_get(&w, r->other, 0)) &&
            (rc = step_msg(&errs, at->id, r->message)) < 0)
            goto out;
    }
    if (json_object_size(errs) > 0)
        goto invalid;
    *out = res;
    res = NULL;
    rc = 0;
    goto out;
invalid:
    rc = -ZQ_EINVAL;
    *errors = errs;
    errs = NULL;
out:
    json_decref(res);
    json_decref(errs);
    return rc;
}

int zq_form_validate_all(const zq_schema *s, const zq_form *f, json_t *answers,
                         const zq_schema_opts *o, json_t **errors, const char **step)
{
    const form_entry *e = entry_of(s, f);
    json_t *errs = NULL, *ctx = NULL;
    const zq_option *stop;
    const zq_field *gate = NULL;
    char stopmsg[1024];
    size_t i, j, first = SIZE_MAX;
    int rc = -ZQ_ENOMEM;

    if (errors != NULL)
        *errors = NULL;
    if (step != NULL)
        *step = NULL;
    if (errors == NULL || e == NULL)
        return -ZQ_EINVAL;
    errs = json_object();
    ctx = json_object();
    if (errs == NULL || ctx == NULL)
        goto out;
    for (i = 0; i < f->nsteps; i++)
        for (j = 0; j < f->steps[i].nfields; j++) {
            const zq_field *fld = &f->steps[i].fields[j];
            json_t *val = NULL;
            const char *msg = NULL;

            if (!zq_field_visible(fld, ctx))
                continue;
            rc = zq_field_validate(s, fld, json_object_get(answers, fld->id), o, &val, &msg);
            if (rc == -ZQ_ENOMEM)
                goto out;
            if (rc < 0) {
                if ((rc = set_msg(errs, fld->id, msg)) < 0)
                    goto out;
                if (i < first)
                    first = i;
                continue;
            }
            if (json_object_set_new(ctx, fld->id, val) < 0)
                goto out;
        }
    stop = zq_form_stop(f, ctx, &gate);
    if (stop != NULL) {
        zq_stop_message(stop, stopmsg, sizeof(stopmsg));
        if ((rc = set_msg(errs, gate->id, stopmsg)) < 0)
            goto out;
        first = 0;
    }
    for (i = 0; i < e->nrules; i++) {
        const rule *r = &e->rules[i];

        if (json_object_get(errs, r->field->id) != NULL || rule_holds(r, ctx))
            continue;
        if ((rc = set_msg(errs, r->field->id, r->message)) < 0)
            goto out;
        if (r->field_step < first)
            first = r->field_step;
    }
    if (json_object_size(errs) == 0) {
        rc = 0;
        goto out;
    }
    rc = -ZQ_EINVAL;
    *errors = errs;
    errs = NULL;
    if (step != NULL)
        *step = f->steps[first].id;
out:
    json_decref(errs);
    json_decref(ctx);
    return rc;
}

/* Form schemas: loads the config/forms/ files and config/regions.json, checks
 * them once at start and builds the JSON the pages are served. Lookups and
 * the validation of a step and of a whole form are in form.c, the per-type
 * validators and display strings in validate.c, region lookups in
 * regions.c. docs/FORMS.md says the same for authors.
 *
 * A form file (config/forms/ID.json; ID is the file name):
 *
 *   {
 *     "id": "complaint",                 [a-z][a-z0-9_]{0,39}, = file name
 *     "title": "拖欠中小企业款项投诉",
 *     "case_prefix": "TS",               two capital letters, unique
 *     "description": "…",
 *     "prepare": ["合同", …]?,          what to have ready, for the start
 *                                        screen (1 to 20 lines of text)
 *     "steps": [                         1 to 20, in order
 *       { "id": "debt", "title": "…", "description": "…"?,
 *         "review": false?,              the review-and-confirm step: at
 *                                        most one, last, without fields
 *         "gate": false?,                the eligibility check ("能否投诉"):
 *                                        only the first step; its fields
 *                                        are required single-choice enums
 *                                        whose options may carry
 *                                        "stop": {"reason": "…", "where":
 *                                        "…"} (why the flow ends, where to
 *                                        go instead); not every option of a
 *                                        field may stop
 *         "fields": [                    1 to 60 (none on the review step)
 *           { "id": "amount_fen",        unique in the form; money ids and
 *                                        only they end in "_fen"
 *             "label": "拖欠金额", "type": "money", "required": true,
 *             "help": "…"?, "example": "…"?,
 *             "min": 2?, "max": 100?,    text: characters (0..20000; max
 *                                        defaults to 200, or 2000 when
 *                                        multiline); money: "max" only, in
 *                                        whole yuan, kept as fen
 *             "multiline": false?,       text
 *             "not_future": false?,      date
 *             "allow_outside": false?,   region: other provinces allowed
 *             "must_be_true": false?,    bool: a declaration to tick;
 *                                        needs "required": true
 *             "options": [{"value": "goods", "label": "货物"}],
 *                                        enum only, required there; values
 *                                        follow the id syntax, values and
 *                                        labels unique
 *             "when": {"field": "payment_term", "in": ["other"]}?
 *                                        shown only when an earlier enum
 *                                        (option values) or bool (true /
 *                                        false) field has one of the values
 *             "multiple": false?,        enum: a list of option values
 *             "allow_zero": false?,      money: 0 is valid
 *             "prefill": {…}?            a suggested value from earlier
 *                                        answers, editable (form.c):
 *               {"type": "copy", "from": ENUM} the same option;
 *               {"type": "difference", "from": [MONEY, MONEY]} a − b > 0;
 *               {"type": "due_date", "dates": [DATE…] (first answered),
 *                "term": ENUM, "days": {option: days},
 *                "default"?: {"when": [term options], "field": ENUM,
 *                             "days": {option: days}}}  date + days
 *           } ] } ],
 *     "rules": [                         optional, cross-field checks that
 *                                        apply when both fields have values
 *       {"type": "date_not_before", "field": "due_date",
 *        "other": "signing_date", "message": "…"},
 *       {"type": "money_not_above", "field": "undisputed_fen",
 *        "other": "amount_fen", "message": "…"} ]
 *   }
 *
 * Types: text, enum, uscc, mobile, money, date, region, bool. Any object
 * may carry a "comment" string for maintainers; it is never served. Every
 * other key is checked: an unknown key, or a key that does not belong to
 * the field's type, is an error. Strings must be valid UTF-8 without
 * control characters (help and descriptions may contain newlines).
 *
 * config/regions.json: {"sichuan": [{"code","name","short"}…],
 * "outside": [{"code","name","short"}…]}: the six-digit codes are the
 * values stored; names and short names are accepted as input too.
 *
 * Errors name the file, the JSON path and the problem:
 * "config/forms/complaint.json: steps[2].fields[0].type: unknown type
 * 'number'". */
#include "zhuqi/schema.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/log.h"

#define MAX_STEPS 20
#define MAX_FIELDS 60 /* per step */
#define MAX_OPTIONS 100
#define MAX_RULES 50
#define MAX_FORMS 64
#define MAX_REGIONS 200
#define MAX_TEXT 20000                  /* characters of a text answer */
#define MAX_MONEY_YUAN 10000000000000LL /* 10^13 yuan */
#define LABEL_CHARS 100
#define HELP_CHARS 2000

/* One file being checked. */
typedef struct loader {
    const char *file;
    zq_err *err;
    zq_pool *pool;
} loader;

static const char *const type_names[] = {
    [ZQ_FIELD_TEXT] = "text",     [ZQ_FIELD_ENUM] = "enum",   [ZQ_FIELD_USCC] = "uscc",
    [ZQ_FIELD_MOBILE] = "mobile", [ZQ_FIELD_MONEY] = "money", [ZQ_FIELD_DATE] = "date",
    [ZQ_FIELD_REGION] = "region", [ZQ_FIELD_BOOL] = "bool",   [ZQ_FIELD_FILES] = "files",
};

static const char *const form_keys[] = {"id",    "title",   "case_prefix", "description", "steps",
                                        "rules", "comment", "prepare",     NULL};
static const char *const step_keys[] = {"id",     "title",   "description", "review",
                                        "fields", "comment", "gate",        NULL};
static const char *const field_keys[] = {
    "id",      "label",     "type",       "required",      "help",         "example", "min",
    "max",     "multiline", "not_future", "allow_outside", "must_be_true", "options", "when",
    "comment", "kinds",     "multiple",   "allow_zero",    "prefill",      NULL};
static const char *const option_keys[] = {"value", "label", "comment", "stop", NULL};
static const char *const stop_keys[] = {"reason", "where", "comment", NULL};
static const char *const prefill_keys[] = {"type", "from",    "dates", "term",
                                           "days", "default", NULL};
static const char *const default_keys[] = {"when", "field", "days", NULL};
static const char *const kind_keys[] = {"value", "label", "hint", "required", "comment", NULL};
static const char *const when_keys[] = {"field", "in", NULL};
static const char *const rule_keys[] = {"type", "field", "other", "message", "comment", NULL};
static const char *const regions_keys[] = {"sichuan", "outside", "comment", NULL};
static const char *const region_keys[] = {"code", "name", "short", "comment", NULL};

/* The keys that only some types take, and which. */
static const struct {
    const char *key;
    unsigned types; /* bit per zq_field_type */
} typed_keys[] = {
    {"min", 1u << ZQ_FIELD_TEXT},
    {"max", 1u << ZQ_FIELD_TEXT | 1u << ZQ_FIELD_MONEY},
    {"multiline", 1u << ZQ_FIELD_TEXT},
    {"not_future", 1u << ZQ_FIELD_DATE},
    {"allow_outside", 1u << ZQ_FIELD_REGION},
    {"must_be_true", 1u << ZQ_FIELD_BOOL},
    {"options", 1u << ZQ_FIELD_ENUM},
    {"kinds", 1u << ZQ_FIELD_FILES},
    {"multiple", 1u << ZQ_FIELD_ENUM},
    {"allow_zero", 1u << ZQ_FIELD_MONEY},
};

static int fail(const loader *l, const char *path, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets "FILE: PATH.KEY: what" (parts left out when empty) and returns
 * -ZQ_EINVAL. */
static int fail(const loader *l, const char *path, const char *key, const char *fmt, ...)
{
    char what[200];
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(what, sizeof(what), fmt, ap) < 0)
        what[0] = '\0';
    va_end(ap);
    if (path[0] != '\0' && key != NULL)
        zq_err_set(l->err, ZQ_EINVAL, "%s: %s.%s: %s", l->file, path, key, what);
    else if (path[0] != '\0' || key != NULL)
        zq_err_set(l->err, ZQ_EINVAL, "%s: %s: %s", l->file, path[0] != '\0' ? path : key, what);
    else
        zq_err_set(l->err, ZQ_EINVAL, "%s: %s", l->file, what);
    /* Said here, not taken from zq_err_set, so that the analyzer sees
     * that a failed get_* never leaves its out NULL with a 0. */
    return -ZQ_EINVAL;
}

static void *pool_calloc(zq_pool *p, size_t n, size_t size)
{
    void *m;

    if (n == 0)
        n = 1;
    m = zq_pool_alloc(p, n * size);
    if (m != NULL)
        memset(m, 0, n * size);
    return m;
}

static int nomem(zq_err *err)
{
    return zq_err_set(err, ZQ_ENOMEM, "schema: out of memory");
}

static bool in_list(const char *k, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(k, *list) == 0)
            return true;
    return false;
}

static int check_keys(const loader *l, json_t *obj, const char *path, const char *const *allowed)
{
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v)
    {
        if (!in_list(k, allowed))
            return fail(l, path, k, "unknown key");
    }
    return 0;
}

/* True for text without control characters (newlines when nl). */
static bool clean_text(const char *s, size_t len, bool nl)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c < 0x20 && !(nl && c == '\n')) || c == 0x7F)
            return false;
    }
    return true;
}

/* Reads obj.key as a string: when missing, an error if need, else NULL.
 * A present string must be non-empty, valid UTF-8, free of control
 * characters (except newlines when nl) and at most maxc characters. */
static int get_str(const loader *l, json_t *obj, const char *path, const char *key, bool need,
                   size_t maxc, bool nl, const char **out)
{
    json_t *v = json_object_get(obj, key);
    const char *s;
    size_t len;

    *out = NULL;
    if (v == NULL)
        return need ? fail(l, path, key, "missing") : 0;
    s = json_string_value(v); /* NULL unless a string */
    if (s == NULL)
        return fail(l, path, key, "must be a string");
    len = json_string_length(v);
    if (len == 0)
        return fail(l, path, key, "must not be empty");
    if (!zq_utf8_valid(s, len))
        return fail(l, path, key, "invalid UTF-8");
    if (!clean_text(s, len, nl))
        return fail(l, path, key, "must not contain control characters");
    if (zq_utf8_chars(s, len) > maxc)
        return fail(l, path, key, "must be at most %zu characters", maxc);
    *out = s;
    return 0;
}

static int get_bool(const loader *l, json_t *obj, const char *path, const char *key, bool need,
                    bool *out)
{
    json_t *v = json_object_get(obj, key);

    *out = false;
    if (v == NULL)
        return need ? fail(l, path, key, "missing") : 0;
    if (!json_is_boolean(v))
        return fail(l, path, key, "must be true or false");
    *out = json_is_true(v);
    return 0;
}

/* Reads an optional integer in [min, max]; *present tells if it was there. */
static int get_int(const loader *l, json_t *obj, const char *path, const char *key, long long min,
                   long long max, bool *present, long long *out)
{
    json_t *v = json_object_get(obj, key);

    *present = v != NULL;
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return fail(l, path, key, "must be an integer from %lld to %lld", min, max);
    *out = json_integer_value(v);
    return 0;
}

static bool valid_id(const char *s)
{
    size_t i, n = s != NULL ? strlen(s) : 0;

    if (n < 1 || n > 40 || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* Reads an id-shaped string (required). */
static int get_id(const loader *l, json_t *obj, const char *path, const char *key, const char **out)
{
    int rc = get_str(l, obj, path, key, true, 40, false, out);

    if (rc < 0)
        return rc;
    if (!valid_id(*out))
        return fail(l, path, key, "'%s' must match [a-z][a-z0-9_]{0,39}", *out);
    return 0;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);

    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* An option's stop rule: only in a gate step, an object with why the
 * flow ends and where to go instead. */
static int parse_stop(const loader *l, json_t *o, const char *path, bool gate, zq_option *op)
{
    json_t *stop = json_object_get(o, "stop");
    char p[200];
    int rc;

    if (stop == NULL)
        return 0;
    if (!gate)
        return fail(l, path, "stop", "only options of a gate step may stop the flow");
    zq_fmt_msg(p, sizeof(p), "%s.stop", path);
    if (!json_is_object(stop))
        return fail(l, p, NULL, "must be an object with reason and where");
    if ((rc = check_keys(l, stop, p, stop_keys)) < 0 ||
        (rc = get_str(l, stop, p, "reason", true, HELP_CHARS, false, &op->stop)) < 0 ||
        (rc = get_str(l, stop, p, "where", true, HELP_CHARS, false, &op->stop_where)) < 0)
        return rc;
    return 0;
}

static int parse_options(const loader *l, zq_field *fld, json_t *obj, const char *path, bool gate)
{
    json_t *opts = json_object_get(obj, "options");
    char p[160];
    size_t i, j;

    if (opts == NULL)
        return fail(l, path, "options", "missing: an enum field needs options");
    if (!json_is_array(opts) || json_array_size(opts) == 0)
        return fail(l, path, "options", "must be a non-empty array");
    if (json_array_size(opts) > MAX_OPTIONS)
        return fail(l, path, "options", "at most %d options", MAX_OPTIONS);
    fld->options = pool_calloc(l->pool, json_array_size(opts), sizeof(zq_option));
    if (fld->options == NULL)
        return nomem(l->err);
    for (i = 0; i < json_array_size(opts); i++) {
        json_t *o = json_array_get(opts, i);
        zq_option *op = &fld->options[i];
        int rc;

        zq_fmt_msg(p, sizeof(p), "%s.options[%zu]", path, i);
        if (!json_is_object(o))
            return fail(l, p, NULL, "must be an object");
        if ((rc = check_keys(l, o, p, option_keys)) < 0 ||
            (rc = get_id(l, o, p, "value", &op->value)) < 0 ||
            (rc = get_str(l, o, p, "label", true, LABEL_CHARS, false, &op->label)) < 0 ||
            (rc = parse_stop(l, o, p, gate, op)) < 0)
            return rc;
        for (j = 0; j < i; j++) {
            if (strcmp(fld->options[j].value, op->value) == 0)
                return fail(l, p, "value", "duplicate value '%s'", op->value);
            if (strcmp(fld->options[j].label, op->label) == 0)
                return fail(l, p, "label", "duplicate label '%s'", op->label);
        }
        fld->noptions = i + 1;
    }
    return 0;
}

/* A gate step's field: a required single choice that somebody can pass. */
static int check_gate_field(const loader *l, const zq_field *fld, json_t *obj, const char *path)
{
    size_t i, stops = 0;

    if (fld->type != ZQ_FIELD_ENUM || fld->multiple)
        return fail(l, path, "type", "a gate step's fields must be single-choice enums");
    if (!fld->required)
        return fail(l, path, "required", "must be true in a gate step");
    if (json_object_get(obj, "when") != NULL)
        return fail(l, path, "when", "not allowed in a gate step");
    if (json_object_get(obj, "prefill") != NULL)
        return fail(l, path, "prefill", "not allowed in a gate step");
    for (i = 0; i < fld->noptions; i++)
        if (fld->options[i].stop != NULL)
            stops++;
    if (stops == fld->noptions)
        return fail(l, path, "options", "every option stops the flow; one must let it go on");
    return 0;
}

/* A files field's kinds: like an enum's options, with a hint and a
 * required mark each. */
static int parse_kinds(const loader *l, zq_field *fld, json_t *obj, const char *path)
{
    json_t *kinds = json_object_get(obj, "kinds");
    char p[160];
    size_t i, j;

    if (kinds == NULL)
        return fail(l, path, "kinds", "missing: a files field needs kinds");
    if (!json_is_array(kinds) || json_array_size(kinds) == 0)
        return fail(l, path, "kinds", "must be a non-empty array");
    if (json_array_size(kinds) > MAX_OPTIONS)
        return fail(l, path, "kinds", "at most %d kinds", MAX_OPTIONS);
    fld->kinds = pool_calloc(l->pool, json_array_size(kinds), sizeof(zq_file_kind));
    if (fld->kinds == NULL)
        return nomem(l->err);
    for (i = 0; i < json_array_size(kinds); i++) {
        json_t *o = json_array_get(kinds, i);
        zq_file_kind *k = &fld->kinds[i];
        int rc;

        zq_fmt_msg(p, sizeof(p), "%s.kinds[%zu]", path, i);
        if (!json_is_object(o))
            return fail(l, p, NULL, "must be an object");
        if ((rc = check_keys(l, o, p, kind_keys)) < 0 ||
            (rc = get_id(l, o, p, "value", &k->value)) < 0 ||
            (rc = get_str(l, o, p, "label", true, LABEL_CHARS, false, &k->label)) < 0 ||
            (rc = get_str(l, o, p, "hint", false, HELP_CHARS, true, &k->hint)) < 0 ||
            (rc = get_bool(l, o, p, "required", false, &k->required)) < 0)
            return rc;
        for (j = 0; j < i; j++) {
            if (strcmp(fld->kinds[j].value, k->value) == 0)
                return fail(l, p, "value", "duplicate value '%s'", k->value);
            if (strcmp(fld->kinds[j].label, k->label) == 0)
                return fail(l, p, "label", "duplicate label '%s'", k->label);
        }
        fld->nkinds = i + 1;
    }
    return 0;
}

/* The first pass over a field: everything but its condition, which may
 * only be checked once every field is known. */
static int parse_field(const loader *l, zq_form *f, size_t si, size_t fi, json_t *obj)
{
    zq_field *fld = &f->steps[si].fields[fi];
    const char *type;
    char path[96];
    size_t i, dsi, dfi;
    bool has_min, has_max;
    long long v;
    int rc;

    zq_fmt_msg(path, sizeof(path), "steps[%zu].fields[%zu]", si, fi);
    if (!json_is_object(obj))
        return fail(l, path, NULL, "must be an object");
    if ((rc = check_keys(l, obj, path, field_keys)) < 0 ||
        (rc = get_id(l, obj, path, "id", &fld->id)) < 0)
        return rc;
    /* The field is not yet counted in nfields, so it does not find itself. */
    if (zq_form_find_field(f, fld->id, &dsi, &dfi) != NULL)
        return fail(l, path, "id", "duplicate field id '%s' (first at steps[%zu].fields[%zu])",
                    fld->id, dsi, dfi);
    if ((rc = get_str(l, obj, path, "label", true, LABEL_CHARS, false, &fld->label)) < 0 ||
        (rc = get_str(l, obj, path, "type", true, 40, false, &type)) < 0)
        return rc;
    for (i = 0; i < ZQ_ARRAY_LEN(type_names); i++)
        if (strcmp(type, type_names[i]) == 0)
            break;
    if (i == ZQ_ARRAY_LEN(type_names))
        return fail(l, path, "type", "unknown type '%s'", type);
    fld->type = (zq_field_type)i;
    for (i = 0; i < ZQ_ARRAY_LEN(typed_keys); i++)
        if (json_object_get(obj, typed_keys[i].key) != NULL &&
            !(typed_keys[i].types & (1u << fld->type)))
            return fail(l, path, typed_keys[i].key, "not allowed for type '%s'",
                        type_names[fld->type]);
    if (fld->type == ZQ_FIELD_MONEY && !ends_with(fld->id, "_fen"))
        return fail(l, path, "id", "'%s': a money field's id must end in '_fen'", fld->id);
    if (fld->type != ZQ_FIELD_MONEY && ends_with(fld->id, "_fen"))
        return fail(l, path, "id", "'%s': only money field ids end in '_fen'", fld->id);
    if ((rc = get_bool(l, obj, path, "required", true, &fld->required)) < 0 ||
        (rc = get_bool(l, obj, path, "multiple", false, &fld->multiple)) < 0 ||
        (rc = get_bool(l, obj, path, "allow_zero", false, &fld->allow_zero)) < 0 ||
        (rc = get_str(l, obj, path, "help", false, HELP_CHARS, true, &fld->help)) < 0 ||
        (rc = get_str(l, obj, path, "example", false, 200, true, &fld->example)) < 0 ||
        (rc = get_bool(l, obj, path, "multiline", false, &fld->multiline)) < 0 ||
        (rc = get_bool(l, obj, path, "not_future", false, &fld->not_future)) < 0 ||
        (rc = get_bool(l, obj, path, "allow_outside", false, &fld->allow_outside)) < 0 ||
        (rc = get_bool(l, obj, path, "must_be_true", false, &fld->must_be_true)) < 0)
        return rc;
    switch (fld->type) {
    case ZQ_FIELD_TEXT:
        fld->min = 0;
        fld->max = fld->multiline ? 2000 : 200;
        if ((rc = get_int(l, obj, path, "min", 0, MAX_TEXT, &has_min, &fld->min)) < 0 ||
            (rc = get_int(l, obj, path, "max", 1, MAX_TEXT, &has_max, &v)) < 0)
            return rc;
        if (has_max)
            fld->max = v;
        if (fld->min > fld->max)
            return fail(l, path, "min", "%lld is greater than max %lld", fld->min, fld->max);
        break;
    case ZQ_FIELD_MONEY:
        if ((rc = get_int(l, obj, path, "max", 1, MAX_MONEY_YUAN, &has_max, &v)) < 0)
            return rc;
        fld->max = has_max ? v * 100 : 0;
        break;
    case ZQ_FIELD_ENUM:
        if ((rc = parse_options(l, fld, obj, path, f->steps[si].gate)) < 0)
            return rc;
        break;
    case ZQ_FIELD_FILES:
        if ((rc = parse_kinds(l, fld, obj, path)) < 0)
            return rc;
        break;
    case ZQ_FIELD_BOOL:
        if (fld->must_be_true && !fld->required)
            return fail(l, path, "required", "must be true when must_be_true is set");
        break;
    default: break;
    }
    if (f->steps[si].gate)
        return check_gate_field(l, fld, obj, path);
    return 0;
}

/* The second pass: a condition names an earlier enum or bool field and
 * values it can take. */
static int parse_when(const loader *l, zq_form *f, size_t si, size_t fi, json_t *obj)
{
    zq_field *fld = &f->steps[si].fields[fi];
    json_t *w = json_object_get(obj, "when"), *in;
    const zq_field *ctl;
    char path[128], key[32];
    size_t csi, cfi, i, j;
    int rc;

    if (w == NULL)
        return 0;
    zq_fmt_msg(path, sizeof(path), "steps[%zu].fields[%zu].when", si, fi);
    if (!json_is_object(w))
        return fail(l, path, NULL, "must be an object");
    if ((rc = check_keys(l, w, path, when_keys)) < 0 ||
        (rc = get_str(l, w, path, "field", true, 40, false, &fld->when.field)) < 0)
        return rc;
    ctl = zq_form_find_field(f, fld->when.field, &csi, &cfi);
    if (ctl == NULL)
        return fail(l, path, "field", "unknown field '%s'", fld->when.field);
    if (csi > si || (csi == si && cfi >= fi))
        return fail(l, path, "field", "'%s' is not an earlier field", fld->when.field);
    if (ctl->type != ZQ_FIELD_ENUM && ctl->type != ZQ_FIELD_BOOL)
        return fail(l, path, "field", "'%s' is a %s field; a condition needs an enum or bool field",
                    ctl->id, type_names[ctl->type]);
    if (ctl->multiple)
        return fail(l, path, "field", "'%s' is a multi-choice field; a condition needs one answer",
                    ctl->id);
    in = json_object_get(w, "in");
    if (in == NULL)
        return fail(l, path, "in", "missing");
    if (!json_is_array(in) || json_array_size(in) == 0 || json_array_size(in) > MAX_OPTIONS)
        return fail(l, path, "in", "must be a non-empty array");
    fld->when.values = pool_calloc(l->pool, json_array_size(in), sizeof(char *));
    if (fld->when.values == NULL)
        return nomem(l->err);
    for (i = 0; i < json_array_size(in); i++) {
        json_t *v = json_array_get(in, i);

        zq_fmt_msg(key, sizeof(key), "in[%zu]", i);
        if (ctl->type == ZQ_FIELD_BOOL) {
            if (!json_is_boolean(v))
                return fail(l, path, key, "must be true or false ('%s' is a bool field)", ctl->id);
            fld->when.values[i] = json_is_true(v) ? "true" : "false";
        } else {
            if (!json_is_string(v))
                return fail(l, path, key, "must be a string");
            for (j = 0; j < ctl->noptions; j++)
                if (strcmp(ctl->options[j].value, json_string_value(v)) == 0)
                    break;
            if (j == ctl->noptions)
                return fail(l, path, key, "'%s' is not an option of '%s'", json_string_value(v),
                            ctl->id);
            fld->when.values[i] = ctl->options[j].value;
        }
        fld->when.nvalues = i + 1;
    }
    return 0;
}

/* The field id v (at path.key), which must be an earlier single-answer
 * field of type want. */
static const zq_field *earlier_field(const loader *l, const zq_form *f, size_t si, size_t fi,
                                     json_t *v, const char *path, const char *key,
                                     zq_field_type want, int *rc)
{
    const zq_field *x;
    size_t xsi, xfi;

    if (!json_is_string(v)) {
        *rc = fail(l, path, key, "must be a field id");
        return NULL;
    }
    x = zq_form_find_field(f, json_string_value(v), &xsi, &xfi);
    if (x == NULL) {
        *rc = fail(l, path, key, "unknown field '%s'", json_string_value(v));
        return NULL;
    }
    if (xsi > si || (xsi == si && xfi >= fi)) {
        *rc = fail(l, path, key, "'%s' is not an earlier field", x->id);
        return NULL;
    }
    if (x->type != want || x->multiple) {
        *rc = fail(l, path, key, "'%s' is a %s%s field; this needs a %s field", x->id,
                   x->multiple ? "multi-choice " : "", type_names[x->type], type_names[want]);
        return NULL;
    }
    return x;
}

/* days: {option value of term: whole days 1..3650}. */
static int check_days(const loader *l, json_t *days, const zq_field *term, const char *path)
{
    const char *k;
    json_t *v;
    size_t i;

    if (!json_is_object(days) || json_object_size(days) == 0)
        return fail(l, path, "days", "must be a non-empty object of option values to days");
    json_object_foreach(days, k, v)
    {
        for (i = 0; i < term->noptions; i++)
            if (strcmp(term->options[i].value, k) == 0)
                break;
        if (i == term->noptions)
            return fail(l, path, "days", "'%s' is not an option of '%s'", k, term->id);
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3650)
            return fail(l, path, "days", "'%s' must be whole days from 1 to 3650", k);
    }
    return 0;
}

/* A suggested value's rule; see the comment at the top of the file. */
static int parse_prefill(const loader *l, zq_form *f, size_t si, size_t fi, json_t *obj)
{
    zq_field *fld = &f->steps[si].fields[fi];
    json_t *p = json_object_get(obj, "prefill"), *a, *d;
    const zq_field *x, *term;
    const char *type;
    char path[128], dp[160];
    size_t i, j;
    int rc = 0;

    if (p == NULL)
        return 0;
    zq_fmt_msg(path, sizeof(path), "steps[%zu].fields[%zu].prefill", si, fi);
    if (!json_is_object(p))
        return fail(l, path, NULL, "must be an object");
    if ((rc = check_keys(l, p, path, prefill_keys)) < 0 ||
        (rc = get_str(l, p, path, "type", true, 40, false, &type)) < 0)
        return rc;
    fld->prefill = p;
    // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
    if (strcmp(type, "copy") == 0) {
        if (fld->type != ZQ_FIELD_ENUM || fld->multiple)
            return fail(l, path, "type", "copy needs a single-choice enum field");
        x = earlier_field(l, f, si, fi, json_object_get(p, "from"), path, "from", ZQ_FIELD_ENUM,
                          &rc);
        if (x == NULL)
            return rc;
        for (i = 0; i < x->noptions; i++)
            for (j = 0; j < fld->noptions; j++)
                if (strcmp(x->options[i].value, fld->options[j].value) == 0)
                    return 0;
        return fail(l, path, "from", "'%s' shares no option value with '%s'", x->id, fld->id);
    }
    if (strcmp(type, "difference") == 0) {
        a = json_object_get(p, "from");
        if (fld->type != ZQ_FIELD_MONEY)
            return fail(l, path, "type", "difference needs a money field");
        if (!json_is_array(a) || json_array_size(a) != 2)
            return fail(l, path, "from", "must name two money fields");
        for (i = 0; i < 2; i++)
            if (earlier_field(l, f, si, fi, json_array_get(a, i), path, "from", ZQ_FIELD_MONEY,
                              &rc) == NULL)
                return rc;
        return 0;
    }
    if (strcmp(type, "due_date") != 0)
        return fail(l, path, "type", "unknown prefill type '%s'", type);
    if (fld->type != ZQ_FIELD_DATE)
        return fail(l, path, "type", "due_date needs a date field");
    a = json_object_get(p, "dates");
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > 4)
        return fail(l, path, "dates", "must name one to four date fields");
    for (i = 0; i < json_array_size(a); i++)
        if (earlier_field(l, f, si, fi, json_array_get(a, i), path, "dates", ZQ_FIELD_DATE, &rc) ==
            NULL)
            return rc;
    term =
        earlier_field(l, f, si, fi, json_object_get(p, "term"), path, "term", ZQ_FIELD_ENUM, &rc);
    if (term == NULL || (rc = check_days(l, json_object_get(p, "days"), term, path)) < 0)
        return rc;
    d = json_object_get(p, "default");
    if (d == NULL)
        return 0;
    /* The term "not agreed": the regulation's days, by the payer's type. */
    zq_fmt_msg(dp, sizeof(dp), "%s.default", path);
    if (!json_is_object(d))
        return fail(l, dp, NULL, "must be an object");
    if ((rc = check_keys(l, d, dp, default_keys)) < 0)
        return rc;
    a = json_object_get(d, "when");
    if (!json_is_array(a) || json_array_size(a) == 0)
        return fail(l, dp, "when", "must list options of '%s'", term->id);
    for (i = 0; i < json_array_size(a); i++) {
        const char *v = json_string_value(json_array_get(a, i));

        for (j = 0; v != NULL && j < term->noptions; j++)
            if (strcmp(term->options[j].value, v) == 0)
                break;
        if (v == NULL || j == term->noptions)
            return fail(l, dp, "when", "must list options of '%s'", term->id);
        if (json_object_get(json_object_get(p, "days"), v) != NULL)
            return fail(l, dp, "when", "'%s' already has days", v);
    }
    x = earlier_field(l, f, si, fi, json_object_get(d, "field"), dp, "field", ZQ_FIELD_ENUM, &rc);
    if (x == NULL)
        return rc;
    return check_days(l, json_object_get(d, "days"), x, dp);
}

static int parse_step(const loader *l, zq_form *f, size_t si, json_t *obj, bool *seen_review)
{
    zq_step *st = &f->steps[si];
    json_t *fields;
    char path[32];
    size_t i, n;
    int rc;

    zq_fmt_msg(path, sizeof(path), "steps[%zu]", si);
    if (!json_is_object(obj))
        return fail(l, path, NULL, "must be an object");
    if ((rc = check_keys(l, obj, path, step_keys)) < 0 ||
        (rc = get_id(l, obj, path, "id", &st->id)) < 0)
        return rc;
    for (i = 0; i < si; i++)
        if (strcmp(f->steps[i].id, st->id) == 0)
            return fail(l, path, "id", "duplicate step id '%s' (first at steps[%zu])", st->id, i);
    if ((rc = get_str(l, obj, path, "title", true, LABEL_CHARS, false, &st->title)) < 0 ||
        (rc = get_str(l, obj, path, "description", false, HELP_CHARS, true, &st->description)) <
            0 ||
        (rc = get_bool(l, obj, path, "review", false, &st->review)) < 0 ||
        (rc = get_bool(l, obj, path, "gate", false, &st->gate)) < 0)
        return rc;
    /* The eligibility check comes before anything is asked. */
    if (st->gate && si != 0)
        return fail(l, path, "gate", "only the first step may be a gate step");
    if (st->gate && st->review)
        return fail(l, path, "gate", "a review step cannot be a gate step");
    fields = json_object_get(obj, "fields");
    if (st->review) {
        if (*seen_review)
            return fail(l, path, "review", "only one review step is allowed");
        *seen_review = true;
        if (fields != NULL && !(json_is_array(fields) && json_array_size(fields) == 0))
            return fail(l, path, "fields", "a review step has no fields");
        return 0;
    }
    if (fields == NULL)
        return fail(l, path, "fields", "missing");
    n = json_array_size(fields);
    if (!json_is_array(fields) || n == 0)
        return fail(l, path, "fields", "must be a non-empty array");
    if (n > MAX_FIELDS)
        return fail(l, path, "fields", "at most %d fields", MAX_FIELDS);
    st->fields = pool_calloc(l->pool, n, sizeof(zq_field));
    if (st->fields == NULL)
        return nomem(l->err);
    for (i = 0; i < n; i++) {
        if ((rc = parse_field(l, f, si, i, json_array_get(fields, i))) < 0)
            return rc;
        st->nfields = i + 1;
    }
    return 0;
}

static const zq_field *rule_field(const loader *l, const zq_form *f, json_t *obj, const char *path,
                                  const char *key, zq_field_type want, const char *type, size_t *si,
                                  int *rc)
{
    const char *id;
    const zq_field *fld;

    if ((*rc = get_str(l, obj, path, key, true, 40, false, &id)) < 0)
        return NULL;
    fld = zq_form_find_field(f, id, si, NULL);
    if (fld == NULL) {
        *rc = fail(l, path, key, "unknown field '%s'", id);
        return NULL;
    }
    if (fld->type != want) {
        *rc = fail(l, path, key, "'%s' is a %s field; %s needs %s fields", id,
                   type_names[fld->type], type, type_names[want]);
        return NULL;
    }
    return fld;
}

static int parse_rules(const loader *l, form_entry *e)
{
    json_t *rules = json_object_get(e->doc, "rules");
    char path[32];
    size_t i, n;
    int rc;

    if (rules == NULL) {
        /* Always an array for the callers. */
        if (json_object_set_new(e->doc, "rules", json_array()) < 0)
            return nomem(l->err);
        e->f.rules = json_object_get(e->doc, "rules");
        return 0;
    }
    if (!json_is_array(rules))
        return fail(l, "rules", NULL, "must be an array");
    n = json_array_size(rules);
    if (n > MAX_RULES)
        return fail(l, "rules", NULL, "at most %d rules", MAX_RULES);
    e->f.rules = rules;
    e->rules = pool_calloc(l->pool, n, sizeof(rule));
    if (e->rules == NULL)
        return nomem(l->err);
    for (i = 0; i < n; i++) {
        json_t *o = json_array_get(rules, i);
        rule *r = &e->rules[i];
        const char *type;
        zq_field_type want;

        zq_fmt_msg(path, sizeof(path), "rules[%zu]", i);
        if (!json_is_object(o))
            return fail(l, path, NULL, "must be an object");
        if ((rc = check_keys(l, o, path, rule_keys)) < 0 ||
            (rc = get_str(l, o, path, "type", true, 40, false, &type)) < 0)
            return rc;
        /* get_str with need set gives a string whenever it returns 0 */
        // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
        if (strcmp(type, "date_not_before") == 0) {
            r->type = RULE_DATE_NOT_BEFORE;
            want = ZQ_FIELD_DATE;
        } else if (strcmp(type, "money_not_above") == 0) {
            r->type = RULE_MONEY_NOT_ABOVE;
            want = ZQ_FIELD_MONEY;
        } else {
            return fail(l, path, "type", "unknown rule type '%s'", type);
        }
        if ((r->field = rule_field(l, &e->f, o, path, "field", want, type, &r->field_step, &rc)) ==
                NULL ||
            (r->other = rule_field(l, &e->f, o, path, "other", want, type, NULL, &rc)) == NULL)
            return rc;
        if (r->field == r->other)
            return fail(l, path, "other", "must name a field other than '%s'", r->field->id);
        if ((rc = get_str(l, o, path, "message", true, 200, false, &r->message)) < 0)
            return rc;
        e->nrules = i + 1;
    }
    return 0;
}

/* json_object_set_new that remembers a failure in *bad. */
static void put(json_t *o, const char *k, json_t *v, bool *bad)
{
    if (v == NULL || json_object_set_new(o, k, v) < 0)
        *bad = true;
}

static void put_str(json_t *o, const char *k, const char *v, bool *bad)
{
    if (v != NULL)
        put(o, k, json_string(v), bad);
}

static void append(json_t *a, json_t *v, bool *bad)
{
    if (v == NULL || json_array_append_new(a, v) < 0)
        *bad = true;
}

static json_t *public_regions(const zq_schema *s, bool *bad)
{
    json_t *a = json_array();
    size_t i;

    if (a == NULL) {
        *bad = true;
        return NULL;
    }
    for (i = 0; i < s->nregions; i++) {
        json_t *r = json_object();

        if (r != NULL) {
            put_str(r, "code", s->regions[i].code, bad);
            put_str(r, "name", s->regions[i].name, bad);
            put_str(r, "short", s->regions[i].short_name, bad);
            put(r, "sichuan", json_boolean(s->regions[i].sichuan), bad);
        }
        append(a, r, bad);
    }
    return a;
}

static json_t *public_field(const zq_field *fld, bool *bad)
{
    json_t *o = json_object(), *a;
    size_t i;

    if (o == NULL) {
        *bad = true;
        return NULL;
    }
    put_str(o, "id", fld->id, bad);
    put_str(o, "label", fld->label, bad);
    put_str(o, "type", type_names[fld->type], bad);
    put(o, "required", json_boolean(fld->required), bad);
    put_str(o, "help", fld->help, bad);
    if (fld->prefill != NULL)
        put(o, "prefill", json_deep_copy(fld->prefill), bad);
    put_str(o, "example", fld->example, bad);
    switch (fld->type) {
    case ZQ_FIELD_TEXT:
        put(o, "min", json_integer(fld->min), bad);
        put(o, "max", json_integer(fld->max), bad);
        put(o, "multiline", json_boolean(fld->multiline), bad);
        break;
    case ZQ_FIELD_MONEY:
        if (fld->max > 0)
            put(o, "max_fen", json_integer(fld->max), bad);
        if (fld->allow_zero)
            put(o, "allow_zero", json_true(), bad);
        break;
    case ZQ_FIELD_DATE: put(o, "not_future", json_boolean(fld->not_future), bad); break;
    case ZQ_FIELD_REGION: put(o, "allow_outside", json_boolean(fld->allow_outside), bad); break;
    case ZQ_FIELD_BOOL: put(o, "must_be_true", json_boolean(fld->must_be_true), bad); break;
    case ZQ_FIELD_ENUM:
        a = json_array();
        for (i = 0; a != NULL && i < fld->noptions; i++) {
            json_t *op = json_object();

            if (op != NULL) {
                put_str(op, "value", fld->options[i].value, bad);
                put_str(op, "label", fld->options[i].label, bad);
                if (fld->options[i].stop != NULL)
                    put(op, "stop",
                        json_pack("{s:s, s:s}", "reason", fld->options[i].stop, "where",
                                  fld->options[i].stop_where),
                        bad);
            }
            append(a, op, bad);
        }
        put(o, "options", a, bad);
        if (fld->multiple)
            put(o, "multiple", json_true(), bad);
        break;
    case ZQ_FIELD_FILES:
        a = json_array();
        for (i = 0; a != NULL && i < fld->nkinds; i++) {
            json_t *k = json_object();

            if (k != NULL) {
                put_str(k, "value", fld->kinds[i].value, bad);
                put_str(k, "label", fld->kinds[i].label, bad);
                put_str(k, "hint", fld->kinds[i].hint, bad);
                put(k, "required", json_boolean(fld->kinds[i].required), bad);
            }
            append(a, k, bad);
        }
        put(o, "kinds", a, bad);
        break;
    default: break;
    }
    if (fld->when.field != NULL) {
        json_t *w = json_object(), *in = json_array();

        for (i = 0; in != NULL && i < fld->when.nvalues; i++) {
            const char *v = fld->when.values[i];

            if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
                append(in, json_boolean(strcmp(v, "true") == 0), bad);
            else
                append(in, json_string(v), bad);
        }
        if (w != NULL) {
            put_str(w, "field", fld->when.field, bad);
            put(w, "in", in, bad);
        } else {
            json_decref(in);
        }
        put(o, "when", w, bad);
    }
    return o;
}

/* Seconds one field takes an enterprise to answer, roughly: what the
 * start screen's "about N minutes" adds up (a guess, kept in one place). */
static int field_seconds(const zq_field *fld)
{
    switch (fld->type) {
    case ZQ_FIELD_TEXT: return fld->multiline ? 120 : 20;
    case ZQ_FIELD_USCC: return 30;
    case ZQ_FIELD_FILES: return 90;
    case ZQ_FIELD_MONEY:
    case ZQ_FIELD_DATE:
    case ZQ_FIELD_MOBILE: return 15;
    default: return 8;
    }
}

/* The form's minutes, rounded up: every field plus a minute to review. */
static int form_minutes(const zq_form *f)
{
    int s = 60;

    for (size_t i = 0; i < f->nsteps; i++)
        for (size_t j = 0; j < f->steps[i].nfields; j++)
            s += field_seconds(&f->steps[i].fields[j]);
    return (s + 59) / 60;
}

/* What GET /api/forms/{form} serves, and its ETag. */
static int build_public(const zq_schema *s, form_entry *e, zq_err *err)
{
    const zq_form *f = &e->f;
    json_t *o = json_object(), *steps = json_array(), *rules = json_array();
    bool bad = o == NULL || steps == NULL || rules == NULL, regions = false;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1], *dump = NULL;
    size_t i, j;

    for (i = 0; !bad && i < f->nsteps; i++) {
        const zq_step *st = &f->steps[i];
        json_t *so = json_object(), *fa = json_array();

        for (j = 0; fa != NULL && j < st->nfields; j++) {
            append(fa, public_field(&st->fields[j], &bad), &bad);
            if (st->fields[j].type == ZQ_FIELD_REGION)
                regions = true;
        }
        if (so != NULL) {
            put_str(so, "id", st->id, &bad);
            put_str(so, "title", st->title, &bad);
            put_str(so, "description", st->description, &bad);
            put(so, "review", json_boolean(st->review), &bad);
            if (st->gate)
                put(so, "gate", json_true(), &bad);
            put(so, "fields", fa, &bad);
        } else {
            json_decref(fa);
        }
        append(steps, so, &bad);
    }
    for (i = 0; !bad && i < e->nrules; i++) {
        json_t *r = json_object();

        if (r != NULL) {
            put_str(r, "type",
                    e->rules[i].type == RULE_DATE_NOT_BEFORE ? "date_not_before"
                                                             : "money_not_above",
                    &bad);
            put_str(r, "field", e->rules[i].field->id, &bad);
            put_str(r, "other", e->rules[i].other->id, &bad);
            put_str(r, "message", e->rules[i].message, &bad);
        }
        append(rules, r, &bad);
    }
    if (o != NULL) {
        put_str(o, "id", f->id, &bad);
        put_str(o, "title", f->title, &bad);
        put_str(o, "case_prefix", f->case_prefix, &bad);
        put_str(o, "description", json_string_value(json_object_get(e->doc, "description")), &bad);
        if (json_object_get(e->doc, "prepare") != NULL)
            put(o, "prepare", json_deep_copy(json_object_get(e->doc, "prepare")), &bad);
        put(o, "minutes", json_integer(form_minutes(f)), &bad);
        put(o, "steps", steps, &bad);
        put(o, "rules", rules, &bad);
        if (regions)
            put(o, "regions", public_regions(s, &bad), &bad);
    } else {
        json_decref(steps);
        json_decref(rules);
    }
    if (!bad)
        dump = json_dumps(o, JSON_COMPACT);
    if (bad || dump == NULL ||
        EVP_Digest(dump, strlen(dump), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 15) {
        free(dump);
        json_decref(o);
        return nomem(err);
    }
    free(dump);
    /* etag[34] holds a quote, 30 hex digits (120 bits), a quote and NUL. */
    zq_hex(md, 15, hex);
    e->f.etag[0] = '"';
    memcpy(e->f.etag + 1, hex, 30);
    e->f.etag[31] = '"';
    e->f.etag[32] = '\0';
    e->f.public_json = o;
    return 0;
}

/* Opens and parses one JSON file, rejecting duplicate keys. */
static int read_json(const char *path, json_t **out, zq_err *err)
{
    json_error_t je;
    FILE *fp = fopen(path, "r");

    *out = NULL;
    if (fp == NULL)
        return zq_err_set(err, ZQ_EIO, "%s: cannot open: %s", path, strerror(errno));
    *out = json_loadf(fp, JSON_REJECT_DUPLICATES, &je);
    fclose(fp);
    if (*out == NULL)
        return zq_err_set(err, ZQ_EINVAL, "%s: line %d column %d: %s", path, je.line, je.column,
                          je.text);
    return 0;
}

/* "prepare": 1 to 20 lines of plain text (NULL: none). */
static int check_prepare(const loader *l, json_t *a)
{
    char key[32];
    const char *line;
    size_t i;
    int rc;

    if (a == NULL)
        return 0;
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > 20)
        return fail(l, "", "prepare", "must be an array of 1 to 20 strings");
    for (i = 0; i < json_array_size(a); i++) {
        json_t *wrap = json_pack("{s:O}", "v", json_array_get(a, i));

        if (wrap == NULL)
            return nomem(l->err);
        zq_fmt_msg(key, sizeof(key), "prepare[%zu]", i);
        rc = get_str(l, wrap, key, "v", true, LABEL_CHARS, false, &line);
        json_decref(wrap);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int load_form(zq_schema *s, form_entry *e, const char *path, const char *stem, zq_err *err)
{
    loader l = {path, err, &s->pool};
    zq_form *f = &e->f;
    json_t *steps, *st;
    const char *desc;
    bool seen_review = false;
    size_t i, j, n;
    int rc;

    if ((rc = read_json(path, &e->doc, err)) < 0)
        return rc;
    if (!json_is_object(e->doc))
        return fail(&l, "", NULL, "must be a JSON object");
    if ((rc = check_keys(&l, e->doc, "", form_keys)) < 0 ||
        (rc = get_id(&l, e->doc, "", "id", &f->id)) < 0)
        return rc;
    /* get_id gives a string whenever it returns 0 */
    // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
    if (strcmp(f->id, stem) != 0)
        return fail(&l, "", "id", "'%s' must match the file name '%s.json'", f->id, stem);
    if ((rc = get_str(&l, e->doc, "", "title", true, LABEL_CHARS, false, &f->title)) < 0 ||
        (rc = get_str(&l, e->doc, "", "case_prefix", true, 2, false, &f->case_prefix)) < 0)
        return rc;
    /* get_str with need set gives a string whenever it returns 0 */
    // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
    if (strlen(f->case_prefix) != 2 || f->case_prefix[0] < 'A' || f->case_prefix[0] > 'Z' ||
        f->case_prefix[1] < 'A' || f->case_prefix[1] > 'Z')
        return fail(&l, "", "case_prefix", "'%s' must be two capital letters", f->case_prefix);
    if ((rc = get_str(&l, e->doc, "", "description", true, HELP_CHARS, true, &desc)) < 0 ||
        (rc = check_prepare(&l, json_object_get(e->doc, "prepare"))) < 0)
        return rc;
    steps = json_object_get(e->doc, "steps");
    if (steps == NULL)
        return fail(&l, "", "steps", "missing");
    n = json_array_size(steps);
    if (!json_is_array(steps) || n == 0)
        return fail(&l, "", "steps", "must be a non-empty array");
    if (n > MAX_STEPS)
        return fail(&l, "", "steps", "at most %d steps", MAX_STEPS);
    f->steps = pool_calloc(&s->pool, n, sizeof(zq_step));
    if (f->steps == NULL)
        return nomem(err);
    for (i = 0; i < n; i++) {
        /* Counted first so that duplicate ids are found in this step too. */
        f->nsteps = i + 1;
        if ((rc = parse_step(&l, f, i, json_array_get(steps, i), &seen_review)) < 0)
            return rc;
    }
    for (i = 0; i + 1 < n; i++)
        if (f->steps[i].review) {
            char p[32];

            zq_fmt_msg(p, sizeof(p), "steps[%zu]", i);
            return fail(&l, p, "review", "the review step must be the last step");
        }
    for (i = 0; i < n; i++) {
        st = json_array_get(steps, i);
        for (j = 0; j < f->steps[i].nfields; j++) {
            json_t *fo = json_array_get(json_object_get(st, "fields"), j);

            if ((rc = parse_when(&l, f, i, j, fo)) < 0 || (rc = parse_prefill(&l, f, i, j, fo)) < 0)
                return rc;
        }
    }
    if ((rc = parse_rules(&l, e)) < 0)
        return rc;
    return build_public(s, e, err);
}

static int load_regions(zq_schema *s, const char *path, zq_err *err)
{
    static const char *const lists[] = {"sichuan", "outside"};
    loader l = {path, err, &s->pool};
    json_t *doc;
    size_t total = 0, k, i, j;
    char p[32];
    int rc;

    if ((rc = read_json(path, &s->regions_doc, err)) < 0)
        return rc;
    doc = s->regions_doc;
    if (!json_is_object(doc))
        return fail(&l, "", NULL, "must be a JSON object");
    if ((rc = check_keys(&l, doc, "", regions_keys)) < 0)
        return rc;
    for (k = 0; k < 2; k++) {
        json_t *a = json_object_get(doc, lists[k]);

        if (a == NULL)
            return fail(&l, "", lists[k], "missing");
        if (!json_is_array(a) || (k == 0 && json_array_size(a) == 0))
            return fail(&l, "", lists[k], "must be a non-empty array");
        total += json_array_size(a);
    }
    if (total > MAX_REGIONS)
        return fail(&l, "", NULL, "at most %d regions", MAX_REGIONS);
    s->regions = pool_calloc(&s->pool, total, sizeof(zq_region));
    if (s->regions == NULL)
        return nomem(err);
    for (k = 0; k < 2; k++) {
        json_t *a = json_object_get(doc, lists[k]);

        for (i = 0; i < json_array_size(a); i++) {
            json_t *o = json_array_get(a, i);
            zq_region *r = &s->regions[s->nregions];

            zq_fmt_msg(p, sizeof(p), "%s[%zu]", lists[k], i);
            if (!json_is_object(o))
                return fail(&l, p, NULL, "must be an object");
            if ((rc = check_keys(&l, o, p, region_keys)) < 0 ||
                (rc = get_str(&l, o, p, "code", true, 6, false, &r->code)) < 0 ||
                (rc = get_str(&l, o, p, "name", true, 40, false, &r->name)) < 0 ||
                (rc = get_str(&l, o, p, "short", true, 40, false, &r->short_name)) < 0)
                return rc;
            /* get_str with need set gives a string whenever it returns 0 */
            // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
            if (strlen(r->code) != 6 || strspn(r->code, "0123456789") != 6)
                return fail(&l, p, "code", "'%s' must be six digits", r->code);
            r->sichuan = k == 0;
            if (r->sichuan && (strncmp(r->code, "51", 2) != 0 || strcmp(r->code, "510000") == 0))
                return fail(&l, p, "code", "'%s' is not a city or prefecture of Sichuan (51xx00)",
                            r->code);
            if (!r->sichuan && strncmp(r->code, "51", 2) == 0)
                return fail(&l, p, "code", "'%s' is in Sichuan; list it under sichuan", r->code);
            for (j = 0; j < s->nregions; j++) {
                const zq_region *q = &s->regions[j];

                if (strcmp(q->code, r->code) == 0)
                    return fail(&l, p, "code", "duplicate code '%s'", r->code);
                if (strcmp(q->name, r->name) == 0 || strcmp(q->short_name, r->name) == 0)
                    return fail(&l, p, "name", "duplicate name '%s'", r->name);
                if (strcmp(q->name, r->short_name) == 0 ||
                    strcmp(q->short_name, r->short_name) == 0)
                    return fail(&l, p, "short", "duplicate name '%s'", r->short_name);
            }
            s->nregions++;
        }
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json names in dir, sorted; a new array of new strings. */
static int list_forms(const char *dir, char ***out, size_t *n, zq_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t cap = 0;
    int rc = 0;

    *out = NULL;
    *n = 0;
    if (d == NULL)
        return zq_err_set(err, ZQ_EIO, "%s: cannot open: %s", dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);

        if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        if (*n == MAX_FORMS) {
            rc = zq_err_set(err, ZQ_EINVAL, "%s: more than %d form files", dir, MAX_FORMS);
            goto out;
        }
        if (*n == cap) {
            char **p = realloc(names, (cap + 8) * sizeof(*names));

            if (p == NULL) {
                rc = nomem(err);
                goto out;
            }
            names = p;
            cap += 8;
        }
        if ((names[*n] = strdup(de->d_name)) == NULL) {
            rc = nomem(err);
            goto out;
        }
        (*n)++;
    }
    if (*n == 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "%s: no *.json form files", dir);
        goto out;
    }
    qsort(names, *n, sizeof(*names), cmp_str);
out:
    closedir(d);
    if (rc < 0) {
        while (*n > 0)
            free(names[--*n]);
        free(names);
        names = NULL;
    }
    *out = names;
    return rc;
}

int zq_schema_load(const char *forms_dir, const char *regions_path, zq_schema **out, zq_err *err)
{
    zq_schema *s = NULL;
    char **names = NULL, path[4096], stem[256];
    size_t n = 0, i, j;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (forms_dir == NULL || regions_path == NULL || out == NULL)
        return zq_err_set(err, ZQ_EINVAL, "zq_schema_load: missing argument");
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return nomem(err);
    if ((rc = load_regions(s, regions_path, err)) < 0 ||
        (rc = list_forms(forms_dir, &names, &n, err)) < 0)
        goto out;
    s->forms = pool_calloc(&s->pool, n, sizeof(form_entry));
    if (s->forms == NULL) {
        rc = nomem(err);
        goto out;
    }
    for (i = 0; i < n; i++) {
        size_t dl = strlen(forms_dir);
        bool slash = dl > 0 && forms_dir[dl - 1] == '/';
        size_t sl = strlen(names[i]) - 5;

        if ((size_t)snprintf(path, sizeof(path), "%s%s%s", forms_dir, slash ? "" : "/", names[i]) >=
                sizeof(path) ||
            sl >= sizeof(stem)) {
            rc = zq_err_set(err, ZQ_EINVAL, "%s: path too long", forms_dir);
            goto out;
        }
        memcpy(stem, names[i], sl);
        stem[sl] = '\0';
        s->nforms = i + 1;
        if ((rc = load_form(s, &s->forms[i], path, stem, err)) < 0)
            goto out;
        for (j = 0; j < i; j++)
            if (strcmp(s->forms[j].f.case_prefix, s->forms[i].f.case_prefix) == 0) {
                rc =
                    zq_err_set(err, ZQ_EINVAL, "%s: case_prefix: '%s' is already used by form '%s'",
                               path, s->forms[i].f.case_prefix, s->forms[j].f.id);
                goto out;
            }
    }
    ZQ_DEBUG("forms=%zu regions=%zu dir=%s", s->nforms, s->nregions, forms_dir);
    *out = s;
    s = NULL;
out:
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    zq_schema_free(s);
    return rc;
}

void zq_schema_free(zq_schema *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->nforms; i++) {
        json_decref(s->forms[i].f.public_json);
        json_decref(s->forms[i].doc);
    }
    json_decref(s->regions_doc);
    zq_pool_free(&s->pool);
    free(s);
}

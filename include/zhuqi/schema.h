/* Form schemas: the JSON files in config/forms loaded and checked once, then used by
 * the web API, the pages and the chat dialogue alike. A field type owns
 * its validator; every user-facing message is Chinese and comes from here,
 * so the web and the chat say the same thing. */
#ifndef ZHUQI_SCHEMA_H
#define ZHUQI_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuqi/buf.h"
#include "zhuqi/common.h"
#include "zhuqi/jsonq.h"

typedef enum zq_field_type {
    ZQ_FIELD_TEXT,
    ZQ_FIELD_ENUM,
    ZQ_FIELD_USCC,
    ZQ_FIELD_MOBILE,
    ZQ_FIELD_MONEY,
    ZQ_FIELD_DATE,
    ZQ_FIELD_REGION,
    ZQ_FIELD_BOOL,
    ZQ_FIELD_FILES, /* uploaded evidence files, by kind (include/zhuqi/files.h) */
} zq_field_type;

typedef struct zq_option {
    const char *value; /* stored */
    const char *label; /* shown, Chinese */
    /* Gate steps only: this answer ends the flow. stop says why, where
     * says where to go instead (Chinese); both NULL when it does not. */
    const char *stop;
    const char *stop_where;
} zq_option;

/* A kind of file a files field takes ("contract": 合同). */
typedef struct zq_file_kind {
    const char *value; /* stored */
    const char *label; /* shown, Chinese */
    const char *hint;  /* what to upload, Chinese; may be NULL */
    bool required;     /* at least one file of this kind */
} zq_file_kind;

/* A field shown only when another field's answer is one of some values. */
typedef struct zq_condition {
    const char *field;
    const char **values;
    size_t nvalues;
} zq_condition;

typedef struct zq_field {
    const char *id;
    const char *label;
    const char *help;    /* may be NULL */
    const char *example; /* may be NULL */
    zq_field_type type;
    bool required;
    long long min, max; /* text: characters; money: fen (max = ceiling) */
    bool multiline;     /* text */
    bool not_future;    /* date */
    bool allow_outside; /* region: provinces other than Sichuan allowed */
    bool must_be_true;  /* bool: a declaration that must be ticked */
    bool multiple;      /* enum: a list of option values (multi-choice) */
    bool allow_zero;    /* money: 0 is a valid amount (nothing paid yet) */
    json_t *prefill;    /* a suggested value's rule as loaded, or NULL (borrowed) */
    zq_option *options; /* enum */
    size_t noptions;
    zq_file_kind *kinds; /* files */
    size_t nkinds;
    zq_condition when; /* when.field == NULL: always shown */
} zq_field;

typedef struct zq_step {
    const char *id;
    const char *title;
    const char *description; /* may be NULL */
    bool review;             /* the review-and-confirm step: no fields */
    bool gate;               /* the eligibility check: first, options may stop */
    zq_field *fields;
    size_t nfields;
} zq_step;

typedef struct zq_form {
    const char *id; /* "consult", "complaint" */
    const char *title;
    const char *case_prefix; /* "ZX", "TS" */
    zq_step *steps;
    size_t nsteps;
    json_t *rules;       /* cross-field rules as loaded (borrowed) */
    json_t *public_json; /* what GET /api/forms/{form} serves */
    char etag[34];       /* "\"" + 30 hex digits of SHA-256(public_json) + "\"" */
} zq_form;

typedef struct zq_region {
    const char *code;       /* six-digit administrative code */
    const char *name;       /* "成都市" */
    const char *short_name; /* "成都" */
    bool sichuan;           /* one of the 21 prefecture-level divisions */
} zq_region;

typedef struct zq_schema zq_schema;

/* Loads every .json file in forms_dir and the region list regions_path, and
 * checks them: unknown keys, missing labels, bad types, duplicate ids,
 * conditions naming unknown fields or values, rules naming unknown fields.
 * On error err->msg names the file, the JSON path inside it and what is
 * wrong ("config/forms/complaint.json: steps[2].fields[0].type: unknown
 * type 'number'"). Returns 0 and a new schema in *out. */
int zq_schema_load(const char *forms_dir, const char *regions_path, zq_schema **out, zq_err *err);
void zq_schema_free(zq_schema *s);

/* Settings that are not part of a form file. */
typedef struct zq_schema_opts {
    bool uscc_checksum_warn_only; /* legal pilot codes fail the check */
    long long money_ceiling_fen;  /* default 10^12 fen when 0 */
    const char *today;            /* "YYYY-MM-DD" for not_future; NULL = now (+08:00) */
    /* Files fields take no required kind: the chat (which cannot take
     * uploads) and [files] require_kinds = false. */
    bool files_kinds_optional;
} zq_schema_opts;

/* Borrowed lookups; NULL when unknown. */
const zq_form *zq_schema_form(const zq_schema *s, const char *id);
size_t zq_schema_nforms(const zq_schema *s);
const zq_form *zq_schema_form_at(const zq_schema *s, size_t i);
const zq_step *zq_form_step(const zq_form *f, const char *step_id);
const zq_field *zq_form_field(const zq_form *f, const char *field_id, const zq_step **step);
const zq_region *zq_schema_region(const zq_schema *s, const char *code);
/* Finds a region by code, full or short name ("成都市", "成都"). */
const zq_region *zq_schema_region_find(const zq_schema *s, const char *text);

/* Validates one raw input (string, number or bool as sent by a page or
 * typed in a chat) for field f. On success returns 0 and a new normalised
 * value in *out: text trimmed; enum the option's value (input may be the
 * value, the label or, for chat, the 1-based number); uscc upper-case
 * without spaces; mobile 11 digits; money integer fen; date "YYYY-MM-DD";
 * region the six-digit code; bool true/false; files the list of file
 * records as the upload API stores them (include/zhuqi/files.h: objects
 * with "id" and a "kind" of the field), a copy, or null when empty and
 * optional (a required kind missing is an error unless
 * o->files_kinds_optional). On failure returns
 * -ZQ_EINVAL and *msg points to a Chinese message for users that names the
 * field's label. *msg is borrowed: valid until the next validation call on
 * the same thread (it may live in a thread-local buffer). On success *msg
 * is NULL, or a warning when the value was accepted with a doubt: today
 * only a USCC whose check character is wrong while
 * uscc_checksum_warn_only is set. A money input that is a JSON integer is
 * fen (what the API hands out), a string is yuan ("1,234.50元"), so
 * normalised values validate to themselves.
 * An empty input for an optional field gives json_null(). */
int zq_field_validate(const zq_schema *s, const zq_field *f, json_t *in, const zq_schema_opts *o,
                      json_t **out, const char **msg);

/* True when f is shown given the answers so far. */
bool zq_field_visible(const zq_field *f, json_t *answers);

/* The answers that count: a new object with only the form's fields that
 * are visible given the earlier answers (conditions applied in form
 * order), so that a value left behind by a field hidden later is not
 * stored in a case. Values are shared (json_object_set). NULL when out of
 * memory. */
json_t *zq_form_visible_answers(const zq_form *f, json_t *answers);

/* zq_field_visible(fld, zq_form_visible_answers(f, answers)) without
 * building the object: true when fld (a field of f) is shown given the
 * answers. answers is borrowed (NULL: none). False when f or fld is NULL. */
bool zq_form_field_shown(const zq_form *f, json_t *answers, const zq_field *fld);

/* Whether zq_step_validate of st gives the same result whatever the
 * other steps' answers are, but for the gate's stop rule: st asks for no
 * uploads, and its conditions and cross-field rules read its own fields
 * only (and the gate's fields have no condition). */
bool zq_step_standalone(const zq_schema *s, const zq_form *f, const zq_step *st);

/* Validates the answers for one step (object of field id -> raw value).
 * Returns 0 with a new object of normalised values of the visible fields
 * in *out, or -ZQ_EINVAL with a new object {field id: message} in
 * *errors. Unknown field ids are errors too. answers (may be NULL) are
 * the other steps' normalised answers, for conditions and cross-field
 * rules that touch this step. A field hidden by its condition is not
 * required and is dropped from *out even when sent. An input that is not
 * an object, or a step not of f, gives {"_": message}. USCC warnings are
 * not reported here (call zq_field_validate for them). */
int zq_step_validate(const zq_schema *s, const zq_form *f, const zq_step *st, json_t *input,
                     json_t *answers, const zq_schema_opts *o, json_t **out, json_t **errors);

/* Whether zq_step_validate_raw can stand for zq_step_validate on st:
 * st is standalone (zq_step_standalone), neither the gate nor the
 * review, and has no field with a condition, no uploads, no
 * multiple-choice field, and no cross-field rule names one of its
 * fields. */
bool zq_step_plain(const zq_schema *s, const zq_form *f, const zq_step *st);

/* zq_step_validate of a plain step (zq_step_plain) on its answers read
 * without a tree (zq_jsonq_members), with no other answers: on success
 * returns 0 and appends to list, for each of st's fields in order, its id
 * and its normalised value as compact JSON, each followed by "\n" (the
 * bytes json_dumpb(JSON_COMPACT | JSON_ENCODE_ANY) writes for the value
 * zq_step_validate gives it), and copies the "mobile" answer into mobile
 * when it is a string of 11 bytes ("" otherwise). Returns -ZQ_EINVAL when
 * zq_step_validate would find an error (or st has a field that is not
 * plain): the caller then calls zq_step_validate for its errors; list is
 * undefined then. -ZQ_ENOMEM. */
int zq_step_validate_raw(const zq_schema *s, const zq_step *st, const zq_jsonq_member *m, size_t n,
                         const zq_schema_opts *o, zq_buf *list, char mobile[12]);

/* Checks every step's required fields and the cross-field rules on the
 * full set of normalised answers (as at submit). Returns 0, or -ZQ_EINVAL
 * with a new object {field id: message} in *errors and, in *step, the id
 * of the first step with an error (borrowed). */
int zq_form_validate_all(const zq_schema *s, const zq_form *f, json_t *answers,
                         const zq_schema_opts *o, json_t **errors, const char **step);

/* The stop rule that holds for these normalised answers: the first gate
 * field whose answer is an option with a stop. Returns that option
 * (borrowed) and sets *fld (may be NULL) to its field, or NULL when the
 * answers may go on. */
const zq_option *zq_form_stop(const zq_form *f, json_t *answers, const zq_field **fld);

/* The stop's full Chinese text (why, then where to go instead) into buf.
 * Returns 0, or -ZQ_ETOOBIG when it was cut. */
int zq_stop_message(const zq_option *stop, char *buf, size_t size);

/* A suggested value for fld from the answers so far, by the field's
 * prefill rule ("copy" an earlier enum's answer, the "difference" of two
 * amounts, a "due_date" from a date plus the chosen term). Returns 0 with
 * a new normalised value in *value and, in *note, a new Chinese sentence
 * saying how it was computed or NULL (free with free()); -ZQ_ENOTFOUND
 * when the rule has nothing to suggest yet (or fld has no rule);
 * -ZQ_ENOMEM. */
int zq_field_prefill(const zq_form *f, const zq_field *fld, json_t *answers, json_t **value,
                     char **note);

/* A display string for a normalised value: money "12,345.60 元", region
 * its name, enum its label, bool "是"/"否", mobile masked when mask.
 * Returns a new string (free with free()). */
char *zq_field_display(const zq_schema *s, const zq_field *f, json_t *value, bool mask);

/* GB 32100 check character for the first 17 characters of a code, or 0
 * when a character is outside the alphabet. */
char zq_uscc_check_char(const char *code17);

#endif

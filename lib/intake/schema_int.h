/* The loaded schema's layout, private to lib/intake: schema.c builds it,
 * regions.c looks regions up in it (so that the validators, which need
 * regions, do not call back into the loader that calls them). */
#ifndef ZHUQI_SCHEMA_INT_H
#define ZHUQI_SCHEMA_INT_H

#include <jansson.h>

#include "zhuqi/buf.h"
#include "zhuqi/schema.h"

typedef enum rule_type {
    RULE_DATE_NOT_BEFORE,
    RULE_MONEY_NOT_ABOVE,
} rule_type;

typedef struct rule {
    rule_type type;
    const zq_field *field, *other;
    size_t field_step; /* index of field's step in the form */
    const char *message;
} rule;

typedef struct form_entry {
    zq_form f;
    json_t *doc; /* the file as loaded: every string of f points into it */
    rule *rules;
    size_t nrules;
} form_entry;

struct zq_schema {
    zq_pool pool; /* steps, fields, options, rules, regions */
    json_t *regions_doc;
    zq_region *regions;
    size_t nregions;
    form_entry *forms;
    size_t nforms;
};

/* The field with this id among the form's (those parsed so far while
 * loading), with the index of its step and its index in that step (each
 * may be NULL); NULL when there is none. */
const zq_field *zq_form_find_field(const zq_form *f, const char *id, size_t *si, size_t *fi);

#endif

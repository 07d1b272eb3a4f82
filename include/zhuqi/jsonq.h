/* A quick JSON reader for small request bodies of the common shape, a
 * fraction of jansson's cost: it gives up (NULL) on anything outside its
 * subset, and the caller then parses with jansson, whose answer (and
 * error) stands. */
#ifndef ZHUQI_JSONQ_H
#define ZHUQI_JSONQ_H

#include <jansson.h>
#include <stddef.h>

#include "zhuqi/buf.h"

/* Parses s[0..len) as one JSON object, as json_loadb(s, len,
 * JSON_REJECT_DUPLICATES) would: returns a new reference to the same
 * tree (keys in the same order), or NULL when s is not valid UTF-8, is
 * not JSON, has a duplicate key, nests deeper than 32, or uses what this
 * reader leaves to jansson (\u escapes, numbers that are not integers,
 * integers out of range, a top level that is not an object). */
json_t *zq_jsonq_parse(const char *s, size_t len);

/* The kind of a member's value that zq_jsonq_members reads. */
typedef enum zq_jsonq_kind {
    ZQ_JSONQ_STRING,
    ZQ_JSONQ_INTEGER,
    ZQ_JSONQ_TRUE,
    ZQ_JSONQ_FALSE,
    ZQ_JSONQ_NULL,
} zq_jsonq_kind;

/* One member of an object, as the bytes say it (no tree). */
typedef struct zq_jsonq_member {
    const char *key; /* in the input, not NUL-ended: a key with an escape is never read */
    size_t key_len;
    zq_jsonq_kind kind;
    const char *str; /* ZQ_JSONQ_STRING: its bytes unescaped, UTF-8 without NUL, not NUL-ended */
    size_t len;
    long long num; /* ZQ_JSONQ_INTEGER */
} zq_jsonq_member;

/* Reads s[0..len) without building a tree, when zq_jsonq_parse would read
 * it (the same subset, the same refusals) and it has the shape of a
 * form's body: an object whose member name is an object of strings,
 * integers, true, false and null, and whose other members are of those
 * kinds too. Stores the members of name in m (their order) and returns
 * their count, at most max; returns -1 for anything else (a key with an
 * escape, an array or object where a scalar is wanted, no member name,
 * more than max members, or more than 16 at the top): the caller then
 * reads s with zq_jsonq_parse or jansson, whose answer stands. A string
 * with escapes is unescaped into tmp (reserved once, so every str stays
 * valid until tmp is freed or reset); the others point into s. */
int zq_jsonq_members(const char *s, size_t len, const char *name, zq_jsonq_member *m, size_t max,
                     zq_buf *tmp);

#endif

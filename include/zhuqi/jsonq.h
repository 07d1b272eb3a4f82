/* A quick JSON reader for small request bodies of the common shape, a
 * fraction of jansson's cost: it gives up (NULL) on anything outside its
 * subset, and the caller then parses with jansson, whose answer (and
 * error) stands. */
#ifndef ZHUQI_JSONQ_H
#define ZHUQI_JSONQ_H

#include <jansson.h>
#include <stddef.h>

/* Parses s[0..len) as one JSON object, as json_loadb(s, len,
 * JSON_REJECT_DUPLICATES) would: returns a new reference to the same
 * tree (keys in the same order), or NULL when s is not valid UTF-8, is
 * not JSON, has a duplicate key, nests deeper than 32, or uses what this
 * reader leaves to jansson (\u escapes, numbers that are not integers,
 * integers out of range, a top level that is not an object). */
json_t *zq_jsonq_parse(const char *s, size_t len);

#endif

/* JSON as text, without a tree: reading members of stored JSON (ours,
 * written by jansson or Lua's cjson) and writing answers straight into a
 * buffer. The hot paths (the case lookup, the staff list, the exports)
 * read a few members of many values and write many small members, which
 * a jansson tree would pay for with an allocation each. */
#ifndef ZHUQI_JSONTEXT_H
#define ZHUQI_JSONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuqi/buf.h"
#include "zhuqi/calendar.h"

/* ---- reading (jsontext.c) ---- */

/* The index just after the JSON value starting at s[i] (objects, arrays,
 * strings, literals), or n + 1 when it is malformed. */
size_t zq_json_skip(const char *s, size_t n, size_t i);
/* The index of the first non-space byte at or after i. */
size_t zq_json_ws(const char *s, size_t n, size_t i);
/* The text of the top-level member key of the JSON object s (a string
 * token with its quotes, a number, a literal...), or NULL. Borrowed from
 * s. Keys are compared as written (ours never need escapes). */
const char *zq_json_member(const char *s, size_t n, const char *key, size_t *vlen);
/* Decodes a JSON string token (with quotes) into out as UTF-8; "" when it
 * is not a string. Cuts at outsz on a character boundary. */
void zq_json_decode(const char *v, size_t vlen, char *out, size_t outsz);

/* One member of an object, as zq_json_members finds it: the value's text
 * (a string token keeps its quotes), borrowed; NULL when absent. */
typedef struct zq_json_tok {
    const char *s;
    size_t n;
} zq_json_tok;

/* Reads the top-level members of the JSON object [s, s+n) named in
 * keys[0..nkeys) into out[] (same order; a key not present gives {NULL,
 * 0}; of a key given twice the last counts, as in jansson). Returns 0, or
 * -ZQ_EINVAL when the text is not one object (out[] is then all absent). */
int zq_json_members(const char *s, size_t n, const char *const *keys, size_t nkeys,
                    zq_json_tok *out);
/* True when t is a string token. */
bool zq_json_tok_is_string(zq_json_tok t);
/* True when t is a string token whose text is exactly lit (a literal
 * without escapes: the words we write, "needs_info"). */
bool zq_json_tok_is(zq_json_tok t, const char *lit);
/* True when t is an integer as jansson reads one (digits with an optional
 * minus, no fraction or exponent, within long long): its value in *v. */
bool zq_json_tok_int(zq_json_tok t, long long *v);

/* ---- writing (jsonw.c) ----
 * Each appends to b; on a failed allocation b->oom is set and later
 * appends do nothing (zq_buf's contract), so a writer checks once at the
 * end. Strings are written as zq_buf_json_escape escapes them; text read
 * from our store is valid UTF-8 (checked when it came in). */

/* Bytes as they are (punctuation, member names, tokens already JSON). */
void zq_jsonw_raw(zq_buf *b, const char *s, size_t n);
#define ZQ_JSONW_LIT(b, lit) zq_jsonw_raw((b), "" lit, sizeof(lit) - 1)
/* A string value with its quotes. */
void zq_jsonw_str(zq_buf *b, const char *s);
void zq_jsonw_strn(zq_buf *b, const char *s, size_t n);
/* A number, true / false. */
void zq_jsonw_int(zq_buf *b, long long v);
void zq_jsonw_bool(zq_buf *b, bool v);
/* A date "YYYY-MM-DD" as zq_date_format writes it, quoted. */
void zq_jsonw_date(zq_buf *b, zq_date d);
/* A time as zq_time_iso writes it, quoted. */
void zq_jsonw_time_iso(zq_buf *b, int64_t ms);

#endif

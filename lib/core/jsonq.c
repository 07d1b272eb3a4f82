/* A quick JSON reader (include/zhuqi/jsonq.h): one pass over the bytes,
 * values built with jansson's constructors. It accepts a subset of what
 * jansson accepts, and gives the same tree for it. */
#include "zhuqi/jsonq.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/buf.h"

#define MAX_DEPTH 32

typedef struct reader {
    const char *p, *end;
    zq_buf tmp; /* a string with escapes, unescaped */
} reader;

static void skip_ws(reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

/* After an item of an object or array (close is '}' or ']'): 1 at a
 * ',' (skipped, and the space after it), 0 at close (skipped), -1 for
 * anything else. */
static int after_item(reader *r, char close)
{
    skip_ws(r);
    if (r->p < r->end && *r->p == ',') {
        r->p++;
        skip_ws(r);
        return 1;
    }
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return 0;
    }
    return -1;
}

/* Unescapes the rest of a string, from q (inside it) to its closing
 * quote, appending the bytes to out; *end_q gets the quote's place.
 * Returns 0, or -1 to give up (a control byte, an escape this reader
 * leaves to jansson such as \u, or no closing quote). */
static int unescape_rest(const char *q, const char *end, zq_buf *out, const char **end_q)
{
    while (q < end && *q != '"') {
        char c = *q;

        if ((unsigned char)c < 0x20)
            return -1;
        if (c == '\\') {
            if (++q == end)
                return -1;
            switch (*q) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case '/': c = '/'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            default: return -1; /* \u and anything else: jansson's */
            }
        }
        zq_buf_append(out, &c, 1);
        q++;
    }
    if (q == end || out->oom)
        return -1;
    *end_q = q;
    return 0;
}

/* Reads a string at r->p ('"'): sets *s and *n to its bytes (in the input
 * when it has no escape, else in r->tmp). Returns 0, or -1 to give up. */
static int read_string(reader *r, const char **s, size_t *n)
{
    const char *start = ++r->p, *q;

    for (q = start; q < r->end && *q != '"' && *q != '\\'; q++)
        if ((unsigned char)*q < 0x20)
            return -1;
    if (q < r->end && *q == '"') {
        *s = start;
        *n = (size_t)(q - start);
        r->p = q + 1;
        return 0;
    }
    zq_buf_reset(&r->tmp);
    zq_buf_append(&r->tmp, start, (size_t)(q - start));
    if (unescape_rest(q, r->end, &r->tmp, &q) < 0)
        return -1;
    *s = r->tmp.data != NULL ? r->tmp.data : "";
    *n = r->tmp.len;
    r->p = q + 1;
    return 0;
}

/* An integer as jansson reads one (no leading zero, in range); anything
 * with a fraction or exponent is left to jansson. */
static json_t *read_integer(reader *r)
{
    const char *q = r->p;
    bool neg = false;
    uint64_t v = 0, lim;

    if (*q == '-') {
        neg = true;
        q++;
    }
    if (q == r->end || *q < '0' || *q > '9')
        return NULL;
    if (*q == '0' && q + 1 < r->end && q[1] >= '0' && q[1] <= '9')
        return NULL;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; q < r->end && *q >= '0' && *q <= '9'; q++) {
        unsigned d = (unsigned)(*q - '0');

        if (v > (lim - d) / 10)
            return NULL;
        v = v * 10 + d;
    }
    if (q < r->end && (*q == '.' || *q == 'e' || *q == 'E'))
        return NULL;
    r->p = q;
    if (neg)
        return json_integer(v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)v);
    return json_integer((json_int_t)v);
}

static bool literal(reader *r, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return false;
    r->p += n;
    return true;
}

static json_t *read_value(reader *r, int depth);

static json_t *read_object(reader *r, int depth)
{
    json_t *o = json_object();
    const char *k;
    size_t kn;

    r->p++;
    skip_ws(r);
    if (o == NULL)
        return NULL;
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return o;
    }
    for (;;) {
        json_t *v;
        char *copy = NULL;

        if (r->p == r->end || *r->p != '"' || read_string(r, &k, &kn) < 0 ||
            memchr(k, '\0', kn) != NULL)
            goto fail;
        /* A key with escapes is in r->tmp, which the value reuses: copied.
         * Any other is read in place (jansson copies it). */
        if (k == r->tmp.data) {
            if ((copy = malloc(kn + 1)) == NULL)
                goto fail;
            memcpy(copy, k, kn);
            k = copy;
        }
        skip_ws(r);
        if (r->p == r->end || *r->p != ':') {
            free(copy);
            goto fail;
        }
        r->p++;
        skip_ws(r);
        v = read_value(r, depth + 1);
        if (v != NULL && json_object_getn(o, k, kn) != NULL) {
            json_decref(v); /* a duplicate: jansson's to refuse */
            v = NULL;
        }
        /* json_object_setn_new_nocheck drops v when it fails. */
        if (v == NULL || json_object_setn_new_nocheck(o, k, kn, v) < 0) {
            free(copy);
            goto fail;
        }
        free(copy);
        switch (after_item(r, '}')) {
        case 1: continue;
        case 0: return o;
        default: goto fail;
        }
    }
fail:
    json_decref(o);
    return NULL;
}

static json_t *read_array(reader *r, int depth)
{
    json_t *a = json_array();

    r->p++;
    skip_ws(r);
    if (a == NULL)
        return NULL;
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return a;
    }
    for (;;) {
        json_t *v = read_value(r, depth + 1);

        if (v == NULL || json_array_append_new(a, v) < 0)
            goto fail;
        switch (after_item(r, ']')) {
        case 1: continue;
        case 0: return a;
        default: goto fail;
        }
    }
fail:
    json_decref(a);
    return NULL;
}

static json_t *read_value(reader *r, int depth)
{
    const char *s;
    size_t n;

    if (depth > MAX_DEPTH || r->p == r->end)
        return NULL;
    switch (*r->p) {
    case '{': return read_object(r, depth);
    case '[': return read_array(r, depth);
    case '"':
        if (read_string(r, &s, &n) < 0 || memchr(s, '\0', n) != NULL)
            return NULL;
        return json_stringn_nocheck(s, n);
    case 't': return literal(r, "true") ? json_true() : NULL;
    case 'f': return literal(r, "false") ? json_false() : NULL;
    case 'n': return literal(r, "null") ? json_null() : NULL;
    default: return read_integer(r);
    }
}

json_t *zq_jsonq_parse(const char *s, size_t len)
{
    reader r = {NULL, NULL, {0}};
    json_t *v = NULL;

    if (s == NULL || !zq_utf8_valid(s, len))
        return NULL;
    r.p = s;
    r.end = s + len;
    skip_ws(&r);
    if (r.p < r.end && *r.p == '{')
        v = read_object(&r, 1);
    if (v != NULL) {
        skip_ws(&r);
        if (r.p != r.end) {
            json_decref(v);
            v = NULL;
        }
    }
    zq_buf_free(&r.tmp);
    return v;
}

/* A string at r->p ('"') for zq_jsonq_members: in place when it has no
 * escape, else unescaped at the end of tmp, with room kept for the rest
 * of the input (an unescaped string is never longer than its text), so
 * tmp never moves once a string is in it. Returns 0, or -1 to give up. */
static int member_string(reader *r, zq_buf *tmp, const char **s, size_t *n)
{
    const char *start = ++r->p, *q = start;
    size_t at;

    while (q < r->end && *q != '"' && *q != '\\') {
        if ((unsigned char)*q < 0x20)
            return -1;
        q++;
    }
    if (q < r->end && *q == '"') {
        *s = start;
        *n = (size_t)(q - start);
        r->p = q + 1;
        return 0;
    }
    /* Room for the rest of the input: a no-op after the first time. */
    if (zq_buf_reserve(tmp, (size_t)(r->end - start)) < 0)
        return -1;
    at = tmp->len;
    zq_buf_append(tmp, start, (size_t)(q - start));
    if (unescape_rest(q, r->end, tmp, &q) < 0)
        return -1;
    *s = tmp->data + at;
    *n = tmp->len - at;
    r->p = q + 1;
    return 0;
}

/* A scalar value at r->p into m. Returns 0, or -1 to give up. */
static int member_value(reader *r, zq_buf *tmp, zq_jsonq_member *m)
{
    const char *q = r->p;
    bool neg = false;
    uint64_t v = 0, lim;

    if (r->p == r->end)
        return -1;
    switch (*r->p) {
    case '"': m->kind = ZQ_JSONQ_STRING; return member_string(r, tmp, &m->str, &m->len);
    case 't': m->kind = ZQ_JSONQ_TRUE; return literal(r, "true") ? 0 : -1;
    case 'f': m->kind = ZQ_JSONQ_FALSE; return literal(r, "false") ? 0 : -1;
    case 'n': m->kind = ZQ_JSONQ_NULL; return literal(r, "null") ? 0 : -1;
    default: break;
    }
    /* read_integer's rules */
    if (*q == '-') {
        neg = true;
        q++;
    }
    if (q == r->end || *q < '0' || *q > '9')
        return -1;
    if (*q == '0' && q + 1 < r->end && q[1] >= '0' && q[1] <= '9')
        return -1;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; q < r->end && *q >= '0' && *q <= '9'; q++) {
        unsigned d = (unsigned)(*q - '0');

        if (v > (lim - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (q < r->end && (*q == '.' || *q == 'e' || *q == 'E'))
        return -1;
    r->p = q;
    m->kind = ZQ_JSONQ_INTEGER;
    if (neg)
        m->num = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(long long)v;
    else
        m->num = (long long)v;
    return 0;
}

/* Whether key k (n bytes) is one of the n_m keys of m. */
static bool key_seen(const zq_jsonq_member *m, size_t n_m, const char *k, size_t n)
{
    size_t i;

    for (i = 0; i < n_m; i++)
        if (m[i].key_len == n && memcmp(m[i].key, k, n) == 0)
            return true;
    return false;
}

/* An object's members at r->p ('{') into m (at most max), each value a
 * scalar, or (nested, once) the object named name read into inner.
 * Returns the count of members, or -1. */
static int members_of(reader *r, zq_buf *tmp, zq_jsonq_member *m, size_t max, const char *name,
                      zq_jsonq_member *inner, size_t inner_max, int *inner_n)
{
    size_t n = 0, name_len = name != NULL ? strlen(name) : 0;
    const char *k;
    size_t kn;

    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return 0;
    }
    for (;;) {
        if (r->p == r->end || *r->p != '"')
            return -1;
        k = ++r->p;
        while (r->p < r->end && *r->p != '"' && *r->p != '\\' && (unsigned char)*r->p >= 0x20)
            r->p++;
        if (r->p == r->end || *r->p != '"')
            return -1; /* a key with an escape (or not a key) */
        kn = (size_t)(r->p - k);
        r->p++;
        if (n == max || key_seen(m, n, k, kn))
            return -1; /* a duplicate: jansson's to refuse */
        m[n].key = k;
        m[n].key_len = kn;
        skip_ws(r);
        if (r->p == r->end || *r->p != ':')
            return -1;
        r->p++;
        skip_ws(r);
        if (name != NULL && kn == name_len && memcmp(k, name, kn) == 0 && r->p < r->end &&
            *r->p == '{') {
            *inner_n = members_of(r, tmp, inner, inner_max, NULL, NULL, 0, NULL);
            if (*inner_n < 0)
                return -1;
            m[n].kind = ZQ_JSONQ_NULL; /* not a scalar: only its key is kept */
        } else if (member_value(r, tmp, &m[n]) < 0) {
            return -1;
        }
        n++;
        switch (after_item(r, '}')) {
        case 1: continue;
        case 0: return (int)n;
        default: return -1;
        }
    }
}

int zq_jsonq_members(const char *s, size_t len, const char *name, zq_jsonq_member *m, size_t max,
                     zq_buf *tmp)
{
    reader r = {NULL, NULL, {0}};
    zq_jsonq_member top[16];
    int n = -1;

    if (s == NULL || name == NULL || max > INT32_MAX || !zq_utf8_valid(s, len))
        return -1;
    r.p = s;
    r.end = s + len;
    skip_ws(&r);
    if (r.p == r.end || *r.p != '{' ||
        members_of(&r, tmp, top, sizeof(top) / sizeof(top[0]), name, m, max, &n) < 0)
        return -1;
    skip_ws(&r);
    return r.p == r.end ? n : -1;
}

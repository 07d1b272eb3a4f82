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
    while (q < r->end && *q != '"') {
        char c = *q;

        if ((unsigned char)c < 0x20)
            return -1;
        if (c == '\\') {
            if (++q == r->end)
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
        zq_buf_append(&r->tmp, &c, 1);
        q++;
    }
    if (q == r->end || r->tmp.oom)
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
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            skip_ws(r);
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return o;
        }
        goto fail;
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
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            skip_ws(r);
            continue;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            return a;
        }
        goto fail;
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

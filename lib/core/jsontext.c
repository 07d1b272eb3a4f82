/* Reading stored JSON text without parsing it: skipping values, finding
 * top-level members, decoding a string token. The list, the exports and
 * the case lookup read a few members of many values, which a full parse
 * would make slow. */
#include "zhuqi/jsontext.h"

#include <limits.h>
#include <string.h>

#include "zhuqi/common.h"

/* The index just after the JSON value starting at s[i] (objects, arrays,
 * strings, literals), or n + 1 when it is malformed. */
size_t zq_json_skip(const char *s, size_t n, size_t i)
{
    int depth = 0;

    do {
        if (i >= n)
            return n + 1;
        if (s[i] == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            if (i >= n)
                return n + 1;
            i++;
        } else if (s[i] == '{' || s[i] == '[') {
            depth++;
            i++;
        } else if (s[i] == '}' || s[i] == ']') {
            depth--;
            i++;
        } else if (depth > 0) {
            i++; /* ',', ':', spaces, numbers and literals inside */
        } else {
            while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' &&
                   s[i] != '\n' && s[i] != '\r' && s[i] != '\t')
                i++;
        }
    } while (depth > 0);
    return i;
}

size_t zq_json_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    return i;
}

/* The text of the top-level member key of the JSON object s (a string
 * token with its quotes, a number, a literal...), or NULL. Keys are
 * compared as written (ours never need escapes). */
const char *zq_json_member(const char *s, size_t n, const char *key, size_t *vlen)
{
    size_t klen = strlen(key), i = zq_json_ws(s, n, 0);

    if (s == NULL || i >= n || s[i] != '{')
        return NULL;
    i++;
    for (;;) {
        size_t ks, ke, vs, ve;

        i = zq_json_ws(s, n, i);
        if (i >= n || s[i] != '"')
            return NULL;
        ks = i + 1;
        ke = zq_json_skip(s, n, i);
        if (ke > n)
            return NULL;
        i = zq_json_ws(s, n, ke);
        if (i >= n || s[i] != ':')
            return NULL;
        vs = zq_json_ws(s, n, i + 1);
        ve = zq_json_skip(s, n, vs);
        if (ve > n)
            return NULL;
        if (ke - 1 - ks == klen && memcmp(s + ks, key, klen) == 0) {
            *vlen = ve - vs;
            return s + vs;
        }
        i = zq_json_ws(s, n, ve);
        if (i >= n || s[i] != ',')
            return NULL;
        i++;
    }
}

static int hexv(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes a JSON string token (with quotes) into out as UTF-8; "" when
 * it is not a string. Cuts at outsz on a character boundary. */
void zq_json_decode(const char *v, size_t vlen, char *out, size_t outsz)
{
    size_t i, o = 0;

    out[0] = '\0';
    if (v == NULL || vlen < 2 || v[0] != '"')
        return;
    for (i = 1; i + 1 < vlen && o + 5 < outsz; i++) {
        unsigned long cp;
        if (v[i] != '\\') {
            out[o++] = v[i];
            continue;
        }
        i++;
        switch (v[i]) {
        case 'n': out[o++] = '\n'; continue;
        case 't': out[o++] = '\t'; continue;
        case 'r': out[o++] = '\r'; continue;
        case 'b': out[o++] = '\b'; continue;
        case 'f': out[o++] = '\f'; continue;
        case 'u': break;
        default: out[o++] = v[i]; continue;
        }
        if (i + 4 >= vlen)
            break;
        cp = 0;
        for (int k = 1; k <= 4; k++)
            cp = cp * 16 + (unsigned long)(hexv(v[i + k]) < 0 ? 0 : hexv(v[i + k]));
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < vlen && v[i + 1] == '\\' && v[i + 2] == 'u') {
            unsigned long lo = 0;
            for (int k = 3; k <= 6; k++)
                lo = lo * 16 + (unsigned long)(hexv(v[i + k]) < 0 ? 0 : hexv(v[i + k]));
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        }
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else if (cp < 0x800) {
            out[o++] = (char)(0xC0 | (cp >> 6));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[o++] = (char)(0xE0 | (cp >> 12));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | (cp >> 18));
            out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    out[o] = '\0';
    out[zq_utf8_cut(out, o, o)] = '\0';
}

int zq_json_members(const char *s, size_t n, const char *const *keys, size_t nkeys,
                    zq_json_tok *out)
{
    size_t i, k;

    for (k = 0; k < nkeys; k++)
        out[k] = (zq_json_tok){NULL, 0};
    i = zq_json_ws(s, n, 0);
    if (s == NULL || i >= n || s[i] != '{')
        return -ZQ_EINVAL;
    i = zq_json_ws(s, n, i + 1);
    if (i < n && s[i] == '}')
        goto end;
    for (;;) {
        size_t ks, ke, vs, ve;

        if (i >= n || s[i] != '"')
            goto bad;
        ks = i + 1;
        ke = zq_json_skip(s, n, i);
        if (ke > n)
            goto bad;
        i = zq_json_ws(s, n, ke);
        if (i >= n || s[i] != ':')
            goto bad;
        vs = zq_json_ws(s, n, i + 1);
        ve = zq_json_skip(s, n, vs);
        if (ve > n || ve == vs)
            goto bad;
        for (k = 0; k < nkeys; k++)
            if (strncmp(keys[k], s + ks, ke - 1 - ks) == 0 && keys[k][ke - 1 - ks] == '\0') {
                out[k] = (zq_json_tok){s + vs, ve - vs};
                break;
            }
        i = zq_json_ws(s, n, ve);
        if (i < n && s[i] == '}')
            break;
        if (i >= n || s[i] != ',')
            goto bad;
        i = zq_json_ws(s, n, i + 1);
    }
end:
    /* One object and nothing after it. */
    if (zq_json_ws(s, n, i + 1) == n)
        return 0;
bad:
    for (k = 0; k < nkeys; k++)
        out[k] = (zq_json_tok){NULL, 0};
    return -ZQ_EINVAL;
}

bool zq_json_tok_is_string(zq_json_tok t)
{
    return t.s != NULL && t.n >= 2 && t.s[0] == '"';
}

bool zq_json_tok_is(zq_json_tok t, const char *lit)
{
    size_t n = strlen(lit);

    return t.s != NULL && t.n == n + 2 && t.s[0] == '"' && memcmp(t.s + 1, lit, n) == 0;
}

bool zq_json_tok_int(zq_json_tok t, long long *v)
{
    size_t i = 0;

    if (t.s == NULL || t.n == 0)
        return false;
    if (t.s[0] == '-')
        i++;
    if (i >= t.n)
        return false;
    for (; i < t.n; i++)
        if (t.s[i] < '0' || t.s[i] > '9')
            return false;
    return zq_parse_ll(t.s, t.n, LLONG_MIN, LLONG_MAX, v) == 0;
}

/* Growable buffers, the per-request arena, UTF-8 checks and number
 * parsing. */
#include "zhuqi/buf.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "zhuqi/common.h"

static int buf_reserve(zq_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (b->oom)
        return -ZQ_ENOMEM;
    if (extra > SIZE_MAX - b->len - 1)
        goto oom;
    need = b->len + extra + 1;
    if (need <= b->cap && b->data != NULL)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        goto oom;
    b->data = p;
    b->cap = cap;
    return 0;
oom:
    b->oom = true;
    return -ZQ_ENOMEM;
}

int zq_buf_reserve(zq_buf *b, size_t extra)
{
    return buf_reserve(b, extra);
}

int zq_buf_append(zq_buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) < 0)
        return -ZQ_ENOMEM;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int zq_buf_puts(zq_buf *b, const char *s)
{
    return zq_buf_append(b, s, strlen(s));
}

/* The digits of u, '-' first when neg, into out. The length is counted
 * first and the digits written in place from the end: no copy (a memcpy
 * call was most of the cost for the short numbers the hot paths write,
 * RESP lengths above all). */
static size_t dec_text(char out[ZQ_DEC_MAX], unsigned long long u, bool neg)
{
    unsigned long long x = u;
    size_t n = 1 + (size_t)neg, i;

    while (x >= 10) {
        x /= 10;
        n++;
    }
    out[n] = '\0';
    i = n;
    do {
        out[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (neg)
        out[0] = '-';
    return n;
}

size_t zq_dec(char out[ZQ_DEC_MAX], long long v)
{
    return dec_text(out, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, v < 0);
}

size_t zq_udec(char out[ZQ_DEC_MAX], unsigned long long v)
{
    return dec_text(out, v, false);
}

int zq_buf_dec(zq_buf *b, long long v)
{
    char t[ZQ_DEC_MAX];
    size_t n = zq_dec(t, v);

    return zq_buf_append(b, t, n);
}

int zq_buf_printf(zq_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (buf_reserve(b, 0) < 0)
        return -ZQ_ENOMEM;
    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ZQ_EINVAL;
    if ((size_t)n >= b->cap - b->len) {
        if (buf_reserve(b, (size_t)n) < 0)
            return -ZQ_ENOMEM;
        va_start(ap, fmt);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -ZQ_EINVAL;
    }
    b->len += (size_t)n;
    return 0;
}

/* True when byte c is rewritten under the rules (web: < > & too). */
static bool json_esc_byte(unsigned char c, bool web)
{
    if (c > '>')
        return c == '\\';
    return c < 0x20 || c == '"' || (web && (c == '<' || c == '>' || c == '&'));
}

/* The length of the run of bytes from s on that stay as they are. Eight
 * bytes at a time: text is mostly CJK and letters, and a reply of a
 * kilobyte was a thousand rounds of the byte loop. Each test below is
 * exact about whether any byte of the word matches (the word-wise "has
 * a zero byte" and "has a byte below n" tests). */
static size_t json_esc_run(const char *s, size_t len, bool web)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    size_t i = 0;

    while (len - i >= 8) {
        uint64_t w, q, bs, hit;

        memcpy(&w, s + i, 8);
        q = w ^ (ones * '"');
        bs = w ^ (ones * '\\');
        hit = ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs);
        if (web) {
            uint64_t lt = w ^ (ones * '<'), gt = w ^ (ones * '>'), amp = w ^ (ones * '&');

            hit |= ((lt - ones) & ~lt) | ((gt - ones) & ~gt) | ((amp - ones) & ~amp);
        }
        if ((hit & highs) != 0)
            break;
        i += 8;
    }
    while (i < len && !json_esc_byte((unsigned char)s[i], web))
        i++;
    return i;
}

int zq_buf_json_escape_rules(zq_buf *b, const char *s, size_t len, zq_json_rules rules)
{
    bool web = rules == ZQ_JSON_WEB;
    const char *hex = web ? "0123456789abcdef" : "0123456789ABCDEF";
    size_t i = 0, run;

    for (;;) {
        unsigned char c;
        char e[6] = {'\\', 'u', '0', '0', 0, 0};
        size_t n = 2;

        run = json_esc_run(s + i, len - i, web);
        if (i + run == len)
            break;
        c = (unsigned char)s[i + run];
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
            if (!web && c == '\b') {
                e[1] = 'b';
            } else if (!web && c == '\f') {
                e[1] = 'f';
            } else {
                e[4] = hex[c >> 4];
                e[5] = hex[c & 15];
                n = 6;
            }
        }
        if (zq_buf_append(b, s + i, run) < 0 || zq_buf_append(b, e, n) < 0)
            return -ZQ_ENOMEM;
        i += run + 1;
    }
    return zq_buf_append(b, s + i, run);
}

int zq_buf_json_escape(zq_buf *b, const char *s, size_t len)
{
    return zq_buf_json_escape_rules(b, s, len, ZQ_JSON_WEB);
}

int zq_buf_html_escape(zq_buf *b, const char *s, size_t len)
{
    size_t i, run = 0;

    for (i = 0; i < len; i++) {
        const char *esc = NULL;

        switch (s[i]) {
        case '&': esc = "&amp;"; break;
        case '<': esc = "&lt;"; break;
        case '>': esc = "&gt;"; break;
        case '"': esc = "&quot;"; break;
        case '\'': esc = "&#39;"; break;
        /* A NUL or another control character has no business in a page
         * (validated text holds none but line breaks and tabs). */
        default:
            if ((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t')
                esc = "\xef\xbf\xbd"; /* U+FFFD */
        }
        if (esc != NULL) {
            if (zq_buf_append(b, s + i - run, run) < 0 || zq_buf_puts(b, esc) < 0)
                return -ZQ_ENOMEM;
            run = 0;
        } else {
            run++;
        }
    }
    return zq_buf_append(b, s + len - run, run);
}

void zq_buf_reset(zq_buf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void zq_buf_free(zq_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

char *zq_buf_steal(zq_buf *b)
{
    char *p;

    if (b->data == NULL && zq_buf_append(b, "", 0) < 0)
        return NULL;
    p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
    return p;
}

/* The arena: a list of chunks, each at least 4 KiB; big requests get a
 * chunk of their own. */
struct zq_pool_chunk {
    zq_pool_chunk *next;
    size_t used;
    size_t size;
    _Alignas(max_align_t) unsigned char mem[];
};

#define POOL_CHUNK 4096
#define POOL_ALIGN (_Alignof(max_align_t))

/* Under ASan the memory a reset pool keeps is poisoned until handed out
 * again, so that a pointer kept past its request is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POOL_POISON(a, n) ASAN_POISON_MEMORY_REGION(a, n)
#define POOL_UNPOISON(a, n) ASAN_UNPOISON_MEMORY_REGION(a, n)
#else
#define POOL_POISON(a, n) ((void)(a), (void)(n))
#define POOL_UNPOISON(a, n) ((void)(a), (void)(n))
#endif

void *zq_pool_alloc(zq_pool *p, size_t n)
{
    zq_pool_chunk *c = p->head;
    size_t size;
    void *mem;

    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - POOL_ALIGN)
        return NULL;
    n = (n + POOL_ALIGN - 1) & ~(POOL_ALIGN - 1);
    if (c == NULL || c->size - c->used < n) {
        size = n > POOL_CHUNK ? n : POOL_CHUNK;
        c = malloc(sizeof(*c) + size);
        if (c == NULL)
            return NULL;
        c->used = 0;
        c->size = size;
        if (p->head != NULL && n > POOL_CHUNK) {
            /* Keep the current chunk at the head: it still has room. */
            c->next = p->head->next;
            p->head->next = c;
        } else {
            c->next = p->head;
            p->head = c;
        }
    }
    mem = c->mem + c->used;
    c->used += n;
    POOL_UNPOISON(mem, n);
    return mem;
}

char *zq_pool_strndup(zq_pool *p, const char *s, size_t n)
{
    char *d = zq_pool_alloc(p, n + 1);

    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *zq_pool_strdup(zq_pool *p, const char *s)
{
    return zq_pool_strndup(p, s, strlen(s));
}

void zq_pool_reset(zq_pool *p)
{
    zq_pool_chunk *c = p->head, *keep = NULL, *next;

    while (c != NULL) {
        next = c->next;
        if (keep == NULL && c->size == POOL_CHUNK) {
            keep = c;
        } else {
            POOL_UNPOISON(c->mem, c->size);
            free(c);
        }
        c = next;
    }
    if (keep != NULL) {
        keep->used = 0;
        keep->next = NULL;
        POOL_POISON(keep->mem, keep->size);
    }
    p->head = keep;
}

void zq_pool_free(zq_pool *p)
{
    zq_pool_chunk *c = p->head, *next;

    while (c != NULL) {
        next = c->next;
        POOL_UNPOISON(c->mem, c->size);
        free(c);
        c = next;
    }
    p->head = NULL;
}

/* Length of the UTF-8 sequence at s (<= len), or 0 when it is malformed. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];

    if (c >= 0x01 && c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (len >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (len < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && s[1] >= 0xA0)
            return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (len < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90)
            return 0; /* overlong */
        if (c == 0xF4 && s[1] >= 0x90)
            return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

bool zq_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n;

    while (i < len) {
        if (p[i] >= 0x01 && p[i] < 0x80) {
            i++;
            continue;
        }
        /* Three bytes led by E1-EC or EE-EF (most of CJK) have no
         * overlong or surrogate form: only the continuations to check. */
        if (p[i] >= 0xE1 && p[i] <= 0xEF && p[i] != 0xED && len - i >= 3 &&
            (p[i + 1] & 0xC0) == 0x80 && (p[i + 2] & 0xC0) == 0x80) {
            i += 3;
            continue;
        }
        n = utf8_seq(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

size_t zq_utf8_chars(const char *s, size_t len)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

size_t zq_utf8_cut(const char *s, size_t len, size_t max)
{
    size_t i;

    if (len <= max)
        return len;
    i = max;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

int zq_parse_ll(const char *s, size_t len, long long min, long long max, long long *out)
{
    char tmp[32];
    char *end;
    long long v;

    /* A NUL inside would end the number early: the digits must fill it. */
    if (s == NULL || len == 0 || len >= sizeof(tmp) || memchr(s, '\0', len) != NULL)
        return -ZQ_EINVAL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (!(tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9')))
        return -ZQ_EINVAL;
    errno = 0;
    v = strtoll(tmp, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -ZQ_EINVAL;
    *out = v;
    return 0;
}

bool zq_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    const unsigned char *x = a, *y = b;
    unsigned char d = 0;
    size_t i;

    if (alen != blen)
        return false;
    for (i = 0; i < alen; i++)
        d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}

void zq_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int zq_random_bytes(void *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = getrandom((char *)buf + got, n - got, 0);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -ZQ_EIO;
        }
        got += (size_t)r;
    }
    return 0;
}

int zq_random_hex(char *out, size_t nbytes)
{
    unsigned char raw[64];

    if (nbytes > sizeof(raw))
        return -ZQ_EINVAL;
    if (zq_random_bytes(raw, nbytes) < 0)
        return -ZQ_EIO;
    zq_hex(raw, nbytes, out);
    return 0;
}

int64_t zq_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t zq_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int zq_vfmt(char *out, size_t outsz, const char *fmt, va_list ap)
{
    int n = vsnprintf(out, outsz, fmt, ap);

    if (n < 0)
        return -ZQ_EINVAL;
    return (size_t)n >= outsz ? -ZQ_ETOOBIG : 0;
}

int zq_fmt(char *out, size_t outsz, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = zq_vfmt(out, outsz, fmt, ap);
    va_end(ap);
    return rc;
}

int zq_vfmt_msg(char *out, size_t outsz, const char *fmt, va_list ap)
{
    int rc = zq_vfmt(out, outsz, fmt, ap);
    size_t keep;

    if (rc == -ZQ_EINVAL && outsz > 0)
        out[0] = '\0';
    if (rc != -ZQ_ETOOBIG || outsz < 4)
        return rc;
    keep = zq_utf8_cut(out, outsz - 4, outsz - 4);
    memcpy(out + keep, "...", 4);
    return rc;
}

int zq_fmt_msg(char *out, size_t outsz, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = zq_vfmt_msg(out, outsz, fmt, ap);
    va_end(ap);
    return rc;
}

int zq_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

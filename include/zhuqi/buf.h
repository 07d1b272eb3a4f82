/* Growable byte buffers, a request-scoped arena, UTF-8 checks and
 * bounded number parsing: the string tools every module uses. */
#ifndef ZHUQI_BUF_H
#define ZHUQI_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A length-tracked, always NUL-terminated byte buffer. Zero-initialise
 * (`zq_buf b = {0};`) before use; free with zq_buf_free(). */
typedef struct zq_buf {
    char *data;
    size_t len;
    size_t cap;
    bool oom; /* an append failed; further appends are no-ops */
} zq_buf;

/* Append bytes / a C string / formatted text. Return 0 or -ZQ_ENOMEM
 * (after which the buffer keeps what it had and sets oom). */
int zq_buf_append(zq_buf *b, const void *data, size_t len);
int zq_buf_puts(zq_buf *b, const char *s);
int zq_buf_printf(zq_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The rules a JSON string is escaped by. ZQ_JSON_WEB: " and \\ and
 * \n \r \t as short escapes, every other control character and < > & as
 * \u00xx (lower-case hex), so that the text is inert inside an HTML
 * <script>. ZQ_JSON_JANSSON: byte for byte what jansson's dump writes
 * (" and \\, \b \f \n \r \t short, other control characters as \u00XX,
 * upper-case hex), for answers that were jansson's before. Neither
 * checks UTF-8 nor touches bytes from 0x80 up. */
typedef enum zq_json_rules {
    ZQ_JSON_WEB,
    ZQ_JSON_JANSSON,
} zq_json_rules;
/* Append s (len bytes, NULs included) with JSON string escaping under
 * rules (no surrounding quotes). Returns 0 or -ZQ_ENOMEM. */
int zq_buf_json_escape_rules(zq_buf *b, const char *s, size_t len, zq_json_rules rules);
/* zq_buf_json_escape_rules with ZQ_JSON_WEB. */
int zq_buf_json_escape(zq_buf *b, const char *s, size_t len);
/* Append s escaped for HTML text and quoted attribute values: & < > " '
 * as entities, control characters other than line feed and tab as
 * U+FFFD. Returns 0 or -ZQ_ENOMEM. */
int zq_buf_html_escape(zq_buf *b, const char *s, size_t len);
/* Makes room for extra more bytes (plus the NUL) without changing len, for
 * writers that fill b->data + b->len themselves. Returns 0 or -ZQ_ENOMEM. */
int zq_buf_reserve(zq_buf *b, size_t extra);
void zq_buf_reset(zq_buf *b);
/* The decimal text of an integer without the printf family (the hot
 * paths write many): the digits of v, '-' first when negative, into out
 * (ZQ_DEC_MAX bytes hold any long long), NUL-terminated. Returns the
 * length. zq_udec is the same for an unsigned value. */
#define ZQ_DEC_MAX 24
size_t zq_dec(char out[ZQ_DEC_MAX], long long v);
size_t zq_udec(char out[ZQ_DEC_MAX], unsigned long long v);
/* Appends zq_dec's text of v. Returns 0 or -ZQ_ENOMEM. */
int zq_buf_dec(zq_buf *b, long long v);
void zq_buf_free(zq_buf *b);
/* Hand the data over: returns the malloc'ed string (caller frees) and
 * leaves the buffer empty. Never NULL unless out of memory. */
char *zq_buf_steal(zq_buf *b);

/* An arena: many small allocations freed together by zq_pool_free().
 * Zero-initialise before use. Not thread-safe: one per request. */
typedef struct zq_pool_chunk zq_pool_chunk;
typedef struct zq_pool {
    zq_pool_chunk *head;
} zq_pool;

/* Returns memory aligned for any type, or NULL when out of memory. */
void *zq_pool_alloc(zq_pool *p, size_t n);
/* Copies of strings inside the pool. NULL when out of memory. */
char *zq_pool_strdup(zq_pool *p, const char *s);
char *zq_pool_strndup(zq_pool *p, const char *s, size_t n);
/* Frees every allocation; the pool can be used again afterwards. */
void zq_pool_free(zq_pool *p);
/* Frees every allocation like zq_pool_free but keeps one standard chunk
 * (4 KiB) for the next allocations, so that a worker reusing the pool
 * for request after request does not malloc and free it each time. Free
 * the pool with zq_pool_free when done with it. */
void zq_pool_reset(zq_pool *p);

/* True when [s, s+len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). NUL bytes are rejected too. */
bool zq_utf8_valid(const char *s, size_t len);
/* The number of code points in valid UTF-8. */
size_t zq_utf8_chars(const char *s, size_t len);
/* The largest prefix length <= max that ends on a character boundary. */
size_t zq_utf8_cut(const char *s, size_t len, size_t max);

/* Parse a decimal integer that must fill [s, s+len) and lie in [min, max].
 * Returns 0 or -ZQ_EINVAL. */
int zq_parse_ll(const char *s, size_t len, long long min, long long max, long long *out);

/* Constant-time equality of two byte strings (length may leak). */
bool zq_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void zq_hex(const unsigned char *in, size_t n, char *out);

/* n random bytes from the kernel (getrandom), retrying on EINTR. Returns
 * 0 or -ZQ_EIO. */
int zq_random_bytes(void *buf, size_t n);
/* nbytes random bytes as lower-case hex into out (2 * nbytes + 1 bytes;
 * nbytes at most 64): session ids, tokens. Returns 0 or a negative code. */
int zq_random_hex(char *out, size_t nbytes);

/* Monotonic and wall clocks in milliseconds. */
int64_t zq_now_ms(void);
int64_t zq_mono_ms(void);

/* The value of a hex digit (either case), or -1. */
int zq_hexval(char c);

/* snprintf that says whether all of it fitted: 0, or -ZQ_ETOOBIG (out
 * then holds a cut copy, NUL-terminated when outsz > 0) or -ZQ_EINVAL
 * (an encoding error). For text that must be whole or not used: Redis
 * arguments, keys, numbers. */
int zq_fmt(char *out, size_t outsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int zq_vfmt(char *out, size_t outsz, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* For a message (an error for operators or users, a log detail) where a
 * cut is better than nothing: formats into out, and when the text does
 * not fit, cuts it on a UTF-8 character boundary and ends it with "...",
 * so that a cut message says so. Returns 0, or -ZQ_ETOOBIG when it cut. */
int zq_fmt_msg(char *out, size_t outsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int zq_vfmt_msg(char *out, size_t outsz, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif

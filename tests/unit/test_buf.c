/* Unit tests for buffers, the arena, UTF-8 checks and number parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "zhuqi/buf.h"
#include "zhuqi/common.h"

static void test_buf_append_printf(void **state)
{
    zq_buf b = {0};
    int i;

    assert_int_equal(zq_buf_puts(&b, "ab"), 0);
    assert_int_equal(zq_buf_printf(&b, "-%d-%s", 42, "x"), 0);
    assert_string_equal(b.data, "ab-42-x");
    assert_int_equal(b.len, 7);
    for (i = 0; i < 1000; i++)
        zq_buf_printf(&b, "%04d", i);
    assert_int_equal(b.len, 7 + 4000);
    assert_memory_equal(b.data + b.len - 4, "0999", 4);
    zq_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    zq_buf_free(&b);
}

static void test_buf_steal(void **state)
{
    zq_buf b = {0};
    char *s = zq_buf_steal(&b);

    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    zq_buf_puts(&b, "hello");
    s = zq_buf_steal(&b);
    assert_string_equal(s, "hello");
    assert_null(b.data);
    free(s);
}

/* Three-byte sequences (and what follows a lead byte cut short) are
 * judged as jansson judges them: every lead from E0 to EF, every second
 * byte, the edges of the continuation range as the third. */
static void test_utf8_three_bytes_as_jansson(void **state)
{
    static const unsigned char thirds[] = {0x00, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xE4};
    unsigned lead, b1;
    size_t k;

    (void)state;
    for (lead = 0xE0; lead <= 0xEF; lead++)
        for (b1 = 0; b1 < 256; b1++)
            for (k = 0; k < sizeof(thirds); k++) {
                char s[5] = {'a', (char)lead, (char)b1, (char)thirds[k], 'z'};
                json_t *j = json_stringn(s, sizeof(s));
                bool want = j != NULL && memchr(s, '\0', sizeof(s)) == NULL;

                json_decref(j);
                assert_int_equal(zq_utf8_valid(s, sizeof(s)), want);
                assert_false(zq_utf8_valid(s, 3)); /* the sequence cut short */
            }
}

static void test_json_escape(void **state)
{
    zq_buf b = {0};
    const char in[] = "a\"b\\c\n<script>&\x01中";

    zq_buf_json_escape(&b, in, sizeof(in) - 1);
    assert_string_equal(b.data, "a\\\"b\\\\c\\n\\u003cscript\\u003e\\u0026\\u0001中");
    zq_buf_free(&b);
}

/* The web rules at every byte below 0x80, alone and inside runs long
 * enough for the word-wise scan: each byte as the reference rule says. */
static void web_ref(zq_buf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};

    if (c == '"')
        zq_buf_puts(b, "\\\"");
    else if (c == '\\')
        zq_buf_puts(b, "\\\\");
    else if (c == '\n')
        zq_buf_puts(b, "\\n");
    else if (c == '\r')
        zq_buf_puts(b, "\\r");
    else if (c == '\t')
        zq_buf_puts(b, "\\t");
    else if (c < 0x20 || c == '<' || c == '>' || c == '&')
        zq_buf_puts(b, u);
    else
        zq_buf_append(b, &c, 1);
}

static void test_json_escape_web_every_byte(void **state)
{
    zq_buf got = {0}, want = {0};
    char in[40];
    unsigned c;
    size_t pos, i;

    (void)state;
    for (c = 0; c < 0x80; c++)
        for (pos = 0; pos < 20; pos++) {
            zq_buf_reset(&got);
            zq_buf_reset(&want);
            for (i = 0; i < sizeof(in); i++)
                in[i] = i % 3 == 0 ? 'a' : (char)0xE4; /* bytes from 0x80 up stay */
            in[pos] = (char)c;
            assert_int_equal(zq_buf_json_escape(&got, in, sizeof(in)), 0);
            for (i = 0; i < sizeof(in); i++)
                web_ref(&want, (unsigned char)in[i]);
            assert_int_equal(got.len, want.len);
            assert_memory_equal(got.data, want.data, got.len);
        }
    zq_buf_free(&got);
    zq_buf_free(&want);
}

/* The jansson rules: for every byte below 0x80 at every place of a short
 * and a long string (and two escapes side by side), what json_dumps
 * writes for the same string, less its quotes. */
static void test_json_escape_jansson(void **state)
{
    zq_buf b = {0};
    char in[37];
    unsigned c;
    size_t pos, len, i;

    (void)state;
    for (c = 0; c < 0x80; c++)
        for (len = 1; len <= sizeof(in); len += 35)
            for (pos = 0; pos < len; pos++) {
                json_t *j;
                char *w;

                for (i = 0; i < len; i++)
                    memcpy(in + i, i % 2 ? "x" : "\x7f", 1);
                for (i = 0; i + 3 <= len && i < 12; i += 3)
                    memcpy(in + i, "中", 3); /* valid UTF-8 for jansson */
                in[pos] = (char)c;
                if (pos + 1 < len)
                    in[pos + 1] = '\n';
                j = json_stringn(in, len);
                if (j == NULL)
                    continue; /* pos cut the 中 in two */
                w = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
                assert_non_null(w);
                zq_buf_reset(&b);
                assert_int_equal(zq_buf_json_escape_rules(&b, in, len, ZQ_JSON_JANSSON), 0);
                assert_int_equal(b.len, strlen(w) - 2);
                assert_memory_equal(b.data, w + 1, b.len);
                free(w);
                json_decref(j);
            }
    /* The empty string leaves an empty, terminated buffer. */
    zq_buf_free(&b);
    assert_int_equal(zq_buf_json_escape_rules(&b, "", 0, ZQ_JSON_JANSSON), 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    zq_buf_free(&b);
}

static void test_html_escape(void **state)
{
    zq_buf b = {0};
    const char in[] = "<script>alert('x\"&')</script>\n\t\r\x01中";

    zq_buf_puts(&b, "[");
    zq_buf_html_escape(&b, in, sizeof(in) - 1);
    assert_string_equal(b.data, "[&lt;script&gt;alert(&#39;x&quot;&amp;&#39;)&lt;/script&gt;\n\t"
                                "\xef\xbf\xbd\xef\xbf\xbd中");
    /* An embedded NUL is not the end: the length is. */
    zq_buf_reset(&b);
    zq_buf_html_escape(&b, "a\0b", 3);
    assert_string_equal(b.data, "a\xef\xbf\xbd"
                                "b");
    zq_buf_free(&b);
}

static void test_pool(void **state)
{
    zq_pool p = {0};
    char *s;
    void *big;
    int i;

    for (i = 0; i < 2000; i++) {
        s = zq_pool_strdup(&p, "0123456789");
        assert_non_null(s);
        assert_string_equal(s, "0123456789");
        assert_int_equal((uintptr_t)s % _Alignof(max_align_t), 0);
    }
    big = zq_pool_alloc(&p, 100000);
    assert_non_null(big);
    memset(big, 1, 100000);
    s = zq_pool_strndup(&p, "abcdef", 3);
    assert_string_equal(s, "abc");
    zq_pool_free(&p);
    assert_null(p.head);
    zq_pool_free(&p); /* twice is fine */
}

/* A worker's arena between requests: reset frees everything but one
 * standard chunk, which the next allocations reuse (same address, no
 * malloc); a big allocation never stays. LeakSanitizer checks the rest. */
static void test_pool_reset(void **state)
{
    zq_pool p = {0};
    void *a, *b;

    (void)state;
    zq_pool_reset(&p); /* an empty pool */
    assert_null(p.head);
    for (int i = 0; i < 1000; i++)
        assert_non_null(zq_pool_strdup(&p, "0123456789"));
    assert_non_null(zq_pool_alloc(&p, 100000));
    zq_pool_reset(&p);
    assert_non_null(p.head);
    a = zq_pool_strdup(&p, "request two");
    assert_string_equal(a, "request two");
    zq_pool_reset(&p);
    b = zq_pool_strdup(&p, "request three");
    /* The same chunk, from its start: no malloc for the next request. */
    assert_ptr_equal(a, b);
    assert_string_equal(b, "request three");
    zq_pool_free(&p);
    assert_null(p.head);
}

static void test_utf8(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        int ok;
    } cases[] = {
        {"plain", 5, 1},
        {"中文", 6, 1},
        {"\xF0\x9F\x98\x80", 4, 1}, /* emoji */
        {"\xC0\xAF", 2, 0},         /* overlong '/' */
        {"\xE0\x80\xAF", 3, 0},     /* overlong */
        {"\xED\xA0\x80", 3, 0},     /* surrogate */
        {"\xF4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
        {"\xE4\xB8", 2, 0},         /* truncated */
        {"a\0b", 3, 0},             /* NUL */
        {"\xFF", 1, 0},
        {"\x80", 1, 0}, /* lone continuation */
    };
    size_t i;

    for (i = 0; i < ZQ_ARRAY_LEN(cases); i++)
        assert_int_equal(zq_utf8_valid(cases[i].s, cases[i].len), cases[i].ok);
    assert_int_equal(zq_utf8_chars("中a文", 7), 3);
    /* Cutting never splits a character. */
    assert_int_equal(zq_utf8_cut("中文", 6, 4), 3);
    assert_int_equal(zq_utf8_cut("中文", 6, 3), 3);
    assert_int_equal(zq_utf8_cut("中文", 6, 2), 0);
    assert_int_equal(zq_utf8_cut("中文", 6, 10), 6);
}

static void test_parse_ll(void **state)
{
    long long v = 0;

    assert_int_equal(zq_parse_ll("42", 2, 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(zq_parse_ll("-5", 2, -10, 10, &v), 0);
    assert_int_equal(v, -5);
    assert_int_equal(zq_parse_ll("101", 3, 0, 100, &v), -ZQ_EINVAL);
    assert_int_equal(zq_parse_ll("4x", 2, 0, 100, &v), -ZQ_EINVAL);
    assert_int_equal(zq_parse_ll(" 4", 2, 0, 100, &v), -ZQ_EINVAL);
    assert_int_equal(zq_parse_ll("", 0, 0, 100, &v), -ZQ_EINVAL);
    assert_int_equal(zq_parse_ll("99999999999999999999999", 23, 0, 100, &v), -ZQ_EINVAL);
    assert_int_equal(zq_parse_ll("+1", 2, 0, 100, &v), -ZQ_EINVAL);
}

/* Found by tests/fuzz/fuzz_buf.c: a NUL inside the span ended the number
 * early, so "10\0junk" parsed as 10 although the digits must fill it. */
static void test_parse_ll_embedded_nul(void **state)
{
    long long v = 7;

    (void)state;
    assert_int_equal(zq_parse_ll("10\0\x06\xf0", 5, 0, 100, &v), -ZQ_EINVAL);
    assert_int_equal(zq_parse_ll("1\0", 2, 0, 100, &v), -ZQ_EINVAL);
    assert_int_equal(zq_parse_ll("-\0001", 3, -10, 10, &v), -ZQ_EINVAL); /* "-", NUL, "1" */
    assert_int_equal(zq_parse_ll("\0", 1, 0, 100, &v), -ZQ_EINVAL);
    assert_int_equal(v, 7);
    assert_int_equal(zq_parse_ll("10", 2, 0, 100, &v), 0);
    assert_int_equal(v, 10);
}

static void test_ct_equal_hex(void **state)
{
    char hex[9];
    const unsigned char raw[] = {0xde, 0xad, 0xbe, 0xef};

    assert_true(zq_ct_equal("abc", 3, "abc", 3));
    assert_false(zq_ct_equal("abc", 3, "abd", 3));
    assert_false(zq_ct_equal("abc", 3, "abcd", 4));
    zq_hex(raw, 4, hex);
    assert_string_equal(hex, "deadbeef");
}

static void test_random_hex(void **state)
{
    char a[65], b[65];
    size_t i;

    assert_int_equal(zq_random_hex(a, 32), 0);
    assert_int_equal(zq_random_hex(b, 32), 0);
    assert_int_equal(strlen(a), 64);
    for (i = 0; i < 64; i++)
        assert_non_null(strchr("0123456789abcdef", a[i]));
    assert_string_not_equal(a, b);
    assert_int_equal(zq_random_hex(a, 65), -ZQ_EINVAL);
}

static void test_err(void **state)
{
    zq_err err = {0};

    assert_int_equal(zq_err_set(&err, ZQ_EINVAL, "bad %s", "thing"), -ZQ_EINVAL);
    assert_int_equal(err.code, ZQ_EINVAL);
    assert_string_equal(err.msg, "bad thing");
    assert_int_equal(zq_err_set(NULL, ZQ_EIO, "x"), -ZQ_EIO);
    assert_string_equal(zq_strerror(-ZQ_EUNAVAIL), "storage unavailable");
}

/* zq_fmt: whole or refused. */
static void test_fmt(void **state)
{
    char b[6];

    (void)state;
    assert_int_equal(zq_fmt(b, sizeof(b), "%d", 12345), 0);
    assert_string_equal(b, "12345");
    assert_int_equal(zq_fmt(b, sizeof(b), "%d", 123456), -ZQ_ETOOBIG);
    assert_string_equal(b, "12345"); /* cut, but terminated */
    assert_int_equal(zq_fmt(b, 0, "x"), -ZQ_ETOOBIG);
}

/* zq_fmt_msg: a cut message says so, and never splits a character. */
static void test_fmt_msg(void **state)
{
    char b[10];

    (void)state;
    assert_int_equal(zq_fmt_msg(b, sizeof(b), "%s", "短信息"), 0); /* 9 bytes */
    assert_string_equal(b, "短信息");
    assert_int_equal(zq_fmt_msg(b, sizeof(b), "%s", "abcdefghijk"), -ZQ_ETOOBIG);
    assert_string_equal(b, "abcdef...");
    assert_int_equal(zq_fmt_msg(b, sizeof(b), "%s", "验证码错误"), -ZQ_ETOOBIG);
    assert_string_equal(b, "验证...");
    assert_int_equal(zq_fmt_msg(b, 3, "%s", "abc"), -ZQ_ETOOBIG);
    assert_string_equal(b, "ab");
}

/* zq_dec / zq_udec / zq_buf_dec write what printf's %lld / %llu do, at
 * the extremes too (the one decimal writer of the hot paths). */
static void test_dec(void **state)
{
    static const long long vals[] = {0,
                                     1,
                                     -1,
                                     9,
                                     10,
                                     -10,
                                     99,
                                     100,
                                     2147483647,
                                     -2147483648LL,
                                     LLONG_MAX,
                                     LLONG_MIN,
                                     1781234567890LL,
                                     -1781234567890LL};
    char got[ZQ_DEC_MAX], want[ZQ_DEC_MAX];
    zq_buf b = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        snprintf(want, sizeof(want), "%lld", vals[i]);
        assert_int_equal(zq_dec(got, vals[i]), strlen(want));
        assert_string_equal(got, want);
        zq_buf_reset(&b);
        assert_int_equal(zq_buf_dec(&b, vals[i]), 0);
        assert_string_equal(b.data, want);
    }
    snprintf(want, sizeof(want), "%llu", ULLONG_MAX);
    assert_int_equal(zq_udec(got, ULLONG_MAX), strlen(want));
    assert_string_equal(got, want);
    assert_int_equal(zq_udec(got, 0), 1);
    assert_string_equal(got, "0");
    zq_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append_printf),
        cmocka_unit_test(test_dec),
        cmocka_unit_test(test_buf_steal),
        cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_json_escape_web_every_byte),
        cmocka_unit_test(test_json_escape_jansson),
        cmocka_unit_test(test_utf8_three_bytes_as_jansson),
        cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_pool_reset),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_parse_ll),
        cmocka_unit_test(test_parse_ll_embedded_nul),
        cmocka_unit_test(test_ct_equal_hex),
        cmocka_unit_test(test_err),
        cmocka_unit_test(test_random_hex),
        cmocka_unit_test(test_fmt),
        cmocka_unit_test(test_fmt_msg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

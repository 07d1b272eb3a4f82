/* Tests of lib/core/log.c: the line format on stderr (captured with dup2), levels,
 * escaping, request ids, and the masking helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zhuqi/common.h"
#include "zhuqi/log.h"

/* stderr is redirected to a temporary file between these two calls. */
static int saved_fd = -1;
static FILE *capture_file;

static void capture_begin(void)
{
    capture_file = tmpfile();
    assert_non_null(capture_file);
    saved_fd = dup(STDERR_FILENO);
    assert_true(saved_fd >= 0);
    assert_int_equal(dup2(fileno(capture_file), STDERR_FILENO), STDERR_FILENO);
}

/* Returns what was written to fd 2 (free it). */
static char *capture_end(void)
{
    long n;
    char *buf;

    assert_int_equal(dup2(saved_fd, STDERR_FILENO), STDERR_FILENO);
    close(saved_fd);
    saved_fd = -1;
    n = lseek(fileno(capture_file), 0, SEEK_END);
    assert_true(n >= 0);
    buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fileno(capture_file), buf, (size_t)n, 0), n);
    fclose(capture_file);
    capture_file = NULL;
    return buf;
}

static int setup_log(void **state)
{
    (void)state;
    zq_log_set_level(ZQ_LOG_DEBUG);
    zq_log_set_request_id(NULL);
    return 0;
}

static void assert_matches(const char *s, const char *re)
{
    regex_t r;

    assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
    if (regexec(&r, s, 0, NULL, 0) != 0)
        print_error("\"%s\"\ndoes not match\n\"%s\"\n", s, re);
    assert_int_equal(regexec(&r, s, 0, NULL, 0), 0);
    regfree(&r);
}

#define TS_RE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}\\+08:00 "

static void test_line_format(void **state)
{
    char *out;

    (void)state;
    capture_begin();
    ZQ_INFO("hello=%d who=%s", 1, "world");
    out = capture_end();
    assert_matches(out, TS_RE "level=info prog=test-log fn=test_line_format rid=- hello=1 "
                              "who=world\n$");
    free(out);
}

/* The timestamp is Beijing time whatever TZ says. */
static void test_beijing_time(void **state)
{
    struct tm tm = {0};
    int ms = -1;
    time_t logged, now;
    char *out, *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

    (void)state;
    setenv("TZ", "America/New_York", 1);
    tzset();
    capture_begin();
    now = time(NULL);
    ZQ_WARN("x=1");
    out = capture_end();
    if (old != NULL)
        setenv("TZ", old, 1);
    else
        unsetenv("TZ");
    tzset();
    free(old);
    assert_int_equal(sscanf(out, "%d-%d-%dT%d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
                     7);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    logged = timegm(&tm) - 8 * 3600;
    assert_true(logged >= now - 1 && logged <= now + 2);
    assert_in_range(ms, 0, 999);
    free(out);
}

static void test_levels(void **state)
{
    char *out;
    zq_log_level l;

    (void)state;
    zq_log_set_level(ZQ_LOG_WARN);
    assert_int_equal(zq_log_get_level(), ZQ_LOG_WARN);
    capture_begin();
    ZQ_DEBUG("a=1");
    ZQ_INFO("b=2");
    ZQ_WARN("c=3");
    ZQ_ERROR("d=4");
    out = capture_end();
    assert_null(strstr(out, "a=1"));
    assert_null(strstr(out, "b=2"));
    assert_non_null(strstr(out, " level=warn prog=test-log fn=test_levels rid=- c=3\n"));
    assert_non_null(strstr(out, " level=error prog=test-log fn=test_levels rid=- d=4\n"));
    free(out);

    zq_log_set_level(ZQ_LOG_DEBUG);
    capture_begin();
    ZQ_DEBUG("e=5");
    out = capture_end();
    assert_non_null(strstr(out, " level=debug "));
    free(out);

    assert_int_equal(zq_log_level_parse("debug", &l), 0);
    assert_int_equal(l, ZQ_LOG_DEBUG);
    assert_int_equal(zq_log_level_parse("info", &l), 0);
    assert_int_equal(l, ZQ_LOG_INFO);
    assert_int_equal(zq_log_level_parse("warn", &l), 0);
    assert_int_equal(l, ZQ_LOG_WARN);
    assert_int_equal(zq_log_level_parse("error", &l), 0);
    assert_int_equal(l, ZQ_LOG_ERROR);
    assert_int_equal(zq_log_level_parse("warning", &l), -ZQ_EINVAL);
    assert_int_equal(zq_log_level_parse("", &l), -ZQ_EINVAL);
    assert_int_equal(zq_log_level_parse(NULL, &l), -ZQ_EINVAL);
}

/* A second init (SIGHUP) changes the level but not the program name. */
static void test_reinit_keeps_name(void **state)
{
    char *out;

    (void)state;
    zq_log_init("other-name", ZQ_LOG_ERROR);
    assert_int_equal(zq_log_get_level(), ZQ_LOG_ERROR);
    capture_begin();
    ZQ_ERROR("x=1");
    out = capture_end();
    assert_non_null(strstr(out, " prog=test-log "));
    free(out);
}

static void test_escapes(void **state)
{
    char *out;

    (void)state;
    capture_begin();
    ZQ_INFO("msg=%s", "a\nb\tc\r\001d\177e\\n");
    zq_log(ZQ_LOG_INFO, NULL, "%s", "");
    out = capture_end();
    /* A backslash of the text is escaped too: "\\n" can only be a newline. */
    assert_non_null(strstr(out, " rid=- msg=a\\nb\\x09c\\x0d\\x01d\\x7fe\\x5cn\n"));
    assert_non_null(strstr(out, " fn=- rid=- \n"));
    /* exactly two lines */
    assert_non_null(strchr(out, '\n'));
    assert_non_null(strchr(strchr(out, '\n') + 1, '\n'));
    assert_string_equal(strchr(strchr(out, '\n') + 1, '\n'), "\n");
    free(out);
}

/* Numbers come out as printf writes them, whether they take the plain
 * path (our own digits) or a spec with flags, width or precision. */
static void test_numbers_as_printf(void **state)
{
    char want[512], *out;

    (void)state;
    capture_begin();
    ZQ_INFO("a=%d b=%d c=%u d=%ld e=%lld f=%zu g=%lu h=%i i=%05d j=%-3d| k=%.2f l=%x m=%*d n=%hd "
            "o=%llu p=%zd",
            0, INT_MIN, UINT_MAX, LONG_MIN, LLONG_MIN, SIZE_MAX, ULONG_MAX, -7, 42, 5, 3.14159,
            255u, 4, 9, (short)-3, ULLONG_MAX, (ssize_t)-12);
    out = capture_end();
    snprintf(want, sizeof(want),
             "a=%d b=%d c=%u d=%ld e=%lld f=%zu g=%lu h=%i i=%05d j=%-3d| k=%.2f l=%x m=%*d n=%hd "
             "o=%llu p=%zd\n",
             0, INT_MIN, UINT_MAX, LONG_MIN, LLONG_MIN, SIZE_MAX, ULONG_MAX, -7, 42, 5, 3.14159,
             255u, 4, 9, (short)-3, ULLONG_MAX, (ssize_t)-12);
    assert_non_null(strstr(out, want));
    free(out);
}

/* %.Nf (the request line's ms=%.2f) takes our own digits when it can be
 * done exactly: every value comes out as printf writes it, ties, values
 * a hair from a half, negative zero, large values, NaN and infinities
 * included (those take printf). */
static void test_fixed_as_printf(void **state)
{
    static const double vals[] = {
        0.0,     -0.0,  0.004,  0.005, 0.015,     0.125,      0.375,      1.005, 2.675,
        3.14159, -1.5,  -0.001, 9.995, 99.999999, 0.49999999, 123456.789, 1e8,   1e9 + 0.5,
        1e12,    -1e15, 1e300,  NAN,   INFINITY,  -INFINITY,  2.5e-7};
    char want[128], *out, line[96];

    (void)state;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(vals); i++) {
        for (int prec = 0; prec <= 7; prec++) {
            capture_begin();
            ZQ_INFO("v=%.*f w=%.2f x=%.0f", prec, vals[i], vals[i], vals[i]);
            out = capture_end();
            snprintf(line, sizeof(line), "v=%.*f w=%.2f x=%.0f\n", prec, vals[i], vals[i], vals[i]);
            snprintf(want, sizeof(want), " %s", line);
            if (strstr(out, want) == NULL)
                fail_msg("%.17g prec %d: got %s want %s", vals[i], prec, out, want);
            free(out);
        }
    }
    /* Many values around the 3rd decimal's halves. */
    for (int k = 0; k < 20000; k++) {
        double v = k / 1000.0 + 0.0005;

        capture_begin();
        ZQ_INFO("ms=%.2f", v);
        out = capture_end();
        snprintf(want, sizeof(want), " ms=%.2f\n", v);
        if (strstr(out, want) == NULL)
            fail_msg("%.17g: got %s want %s", v, out, want);
        free(out);
    }
}

/* Outside text cannot forge a field: inside a quoted value '"' and '\\'
 * are escaped as \\" and \\\\; in a bare value also the space. */
static void test_values_cannot_forge_fields(void **state)
{
    const char *evil = "/a\" admin=1 x=\\\" y=\"2";
    char *out;

    (void)state;
    capture_begin();
    ZQ_INFO("event=t path=\"%s\" n=%d", evil, 7);
    ZQ_INFO("event=t bare=%s n=%d", evil, 8);
    ZQ_INFO("event=t cut=\"%.4s\" star=\"%.*s\" pad=[%5s] left=[%-3s] c=%c%c", "ab\"cdef", 3,
            "\\\\x", "\"", "a", '"', 'z');
    ZQ_INFO("event=t pct=100%% num=%05.1f u=%llu z=%zu x=%x neg=%d", 2.25, 18446744073709551615ULL,
            (size_t)42, 255u, -3);
    out = capture_end();
    assert_non_null(strstr(out, " event=t path=\"/a\\\" admin=1 x=\\\\\\\" y=\\\"2\" n=7\n"));
    assert_non_null(
        strstr(out, " event=t bare=/a\\x22\\x20admin=1\\x20x=\\x5c\\x22\\x20y=\\x222 n=8\n"));
    /* The precision cuts the text before it is escaped; widths pad it. */
    assert_non_null(strstr(out, " event=t cut=\"ab\\\"c\" star=\"\\\\\\\\x\" pad=[    \\x22] "
                                "left=[a  ] c=\\x22z\n"));
    assert_non_null(strstr(out, " event=t pct=100% num=002.2 u=18446744073709551615 z=42 x=ff "
                                "neg=-3\n"));
    free(out);
}

/* A line with many escapes still fits one write and ends with "...". */
static void test_escaped_line_cut(void **state)
{
    char *big = malloc(5001), *out;
    size_t n;

    (void)state;
    assert_non_null(big);
    memset(big, '"', 5000);
    big[5000] = '\0';
    capture_begin();
    ZQ_INFO("q=\"%s\"", big);
    out = capture_end();
    n = strlen(out);
    assert_true(n <= 4096);
    assert_string_equal(out + n - 6, "\\\"...\n");
    assert_ptr_equal(strchr(out, '\n'), out + n - 1);
    free(out);
    free(big);
}

static void test_request_id(void **state)
{
    char long_id[100], *out;

    (void)state;
    memset(long_id, 'r', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    capture_begin();
    zq_log_set_request_id("req-42");
    ZQ_INFO("a=1");
    zq_log_set_request_id("a b=\"c\"\n");
    ZQ_INFO("b=2");
    zq_log_set_request_id(long_id);
    ZQ_INFO("c=3");
    zq_log_set_request_id("");
    ZQ_INFO("d=4");
    zq_log_set_request_id(NULL);
    ZQ_INFO("e=5");
    out = capture_end();
    assert_non_null(strstr(out, " rid=req-42 a=1\n"));
    assert_non_null(strstr(out, " rid=a_b__c__ b=2\n"));
    assert_non_null(
        strstr(out, " rid=" /* 63 of them */
                    "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr c=3\n"));
    assert_non_null(strstr(out, " rid=- d=4\n"));
    assert_non_null(strstr(out, " rid=- e=5\n"));
    free(out);
}

static void *log_from_thread(void *arg)
{
    (void)arg;
    ZQ_INFO("from=thread");
    return NULL;
}

static void test_request_id_per_thread(void **state)
{
    pthread_t t;
    char *out;

    (void)state;
    capture_begin();
    zq_log_set_request_id("main-rid");
    assert_int_equal(pthread_create(&t, NULL, log_from_thread, NULL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    ZQ_INFO("from=main");
    out = capture_end();
    assert_non_null(strstr(out, " fn=log_from_thread rid=- from=thread\n"));
    assert_non_null(strstr(out, " rid=main-rid from=main\n"));
    free(out);
}

static void test_long_line_truncated(void **state)
{
    char *big = malloc(10001), *out;
    size_t n;

    (void)state;
    assert_non_null(big);
    memset(big, 'a', 10000);
    big[10000] = '\0';
    capture_begin();
    ZQ_INFO("big=%s", big);
    out = capture_end();
    n = strlen(out);
    assert_true(n <= 4096);
    assert_true(n > 4000);
    assert_string_equal(out + n - 4, "...\n");
    assert_ptr_equal(strchr(out, '\n'), out + n - 1);

    /* escapes are not cut in half */
    free(out);
    memset(big, '\n', 10000);
    capture_begin();
    ZQ_INFO("nl=%s", big);
    out = capture_end();
    n = strlen(out);
    assert_true(n <= 4096);
    assert_string_equal(out + n - 6, "\\n...\n");
    free(out);
    free(big);
}

static void test_errno_kept(void **state)
{
    char *out;

    (void)state;
    capture_begin();
    errno = ENOENT;
    ZQ_WARN("err=\"%m\"");
    assert_int_equal(errno, ENOENT);
    errno = EAGAIN;
    zq_log_set_level(ZQ_LOG_ERROR);
    ZQ_INFO("filtered=1");
    assert_int_equal(errno, EAGAIN);
    out = capture_end();
    assert_non_null(strstr(out, "err=\"No such file or directory\"\n"));
    assert_null(strstr(out, "filtered"));
    free(out);
}

typedef struct mask_case {
    const char *in, *want;
} mask_case;

static const mask_case mobiles[] = {
    {"13812341234", "138****1234"},
    {"+86 138 1234 1234", "138****1234"},
    {"+8613812341234", "138****1234"},
    {"8613812341234", "138****1234"},
    {"+86-138-1234-1234", "138****1234"},
    {"138-1234-1234", "138****1234"},
    {" 138 1234 1234 ", "138****1234"},
    {"1381234123", "***"},
    {"138123412345", "***"},
    {"+1 415 555 0100", "***"},
    {"+86", "***"},
    {"++8613812341234", "***"},
    {"138+12341234", "***"},
    {"138 1234 123a", "***"},
    {"１３８１２３４１２３４", "***"}, /* full-width digits */
    {"123456789012345678901234567890", "***"},
    {"abc", "***"},
    {"", ""},
    {NULL, ""},
};

static void test_mask_mobile(void **state)
{
    char out[32];

    (void)state;
    for (size_t i = 0; i < sizeof(mobiles) / sizeof(mobiles[0]); i++) {
        assert_ptr_equal(zq_mask_mobile(mobiles[i].in, out, sizeof(out)), out);
        assert_string_equal(out, mobiles[i].want);
    }
}

static const mask_case names[] = {
    {"张三丰", "张**"},
    {"张三", "张*"},
    {"欧阳娜娜", "欧***"},
    {"北京某某科技有限公司", "北***"},
    {"Bob", "B**"},
    {"Alexander", "A***"},
    {"😀笑", "😀*"},
    {"张", "*"},
    {"A", "*"},
    {"", ""},
    {NULL, ""},
    {"\xff\xfe", "***"},
    {"张\xe4\xb8", "***"},   /* cut in the middle of a character */
    {"\xc0\xaf", "***"},     /* overlong '/' */
    {"\xed\xa0\x80", "***"}, /* surrogate */
};

static void test_mask_name(void **state)
{
    char out[32];

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_ptr_equal(zq_mask_name(names[i].in, out, sizeof(out)), out);
        assert_string_equal(out, names[i].want);
    }
}

static const mask_case texts[] = {
    {"call 13812341234 now", "call 138****1234 now"},
    {"13812341234", "138****1234"},
    {"a13812341234b", "a138****1234b"},
    {"19912341234", "199****1234"},
    {"13812341234,13912345678", "138****1234,139****5678"},
    {"电话：13812341234。", "电话：138****1234。"},
    {"+86 13812341234", "+86 138****1234"},
    {"12812341234", "12812341234"},       /* second digit 2 */
    {"11012341234", "11012341234"},       /* second digit 1 */
    {"23812341234", "23812341234"},       /* not starting with 1 */
    {"138123412345", "138123412345"},     /* 12 digits */
    {"1381234123", "1381234123"},         /* 10 digits */
    {"+8613812341234", "+8613812341234"}, /* 13 digits */
    {"order 2024112612345", "order 2024112612345"},
    {"138-1234-1234", "138-1234-1234"},
    {"no digits", "no digits"},
    {"", ""},
    {NULL, ""},
};

static void test_mask_text(void **state)
{
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        assert_ptr_equal(zq_mask_text(texts[i].in, out, sizeof(out)), out);
        assert_string_equal(out, texts[i].want);
    }
}

/* Small buffers: truncated, NUL-terminated, never half a character and
 * never a byte past outsz. */
static void test_mask_small_buffers(void **state)
{
    char out[16];

    (void)state;
    memset(out, 'Z', sizeof(out));
    zq_mask_mobile("13812341234", out, 5);
    assert_string_equal(out, "138*");
    assert_int_equal(out[5], 'Z');

    zq_mask_name("张三丰", out, 5); /* "张**" needs 6 */
    assert_string_equal(out, "张*");
    zq_mask_name("张三丰", out, 4);
    assert_string_equal(out, "张");
    zq_mask_name("张三丰", out, 3); /* no room for the first character */
    assert_string_equal(out, "");
    zq_mask_name("张三丰", out, 1);
    assert_string_equal(out, "");

    zq_mask_text("你好13812341234", out, 8);
    assert_string_equal(out, "你好1");
    zq_mask_text("你好13812341234", out, 5);
    assert_string_equal(out, "你");
    zq_mask_text("13812341234 x", out, 9); /* cut inside the mask: nothing unmasked */
    assert_string_equal(out, "138****1");
    zq_mask_text("13812341234 x", out, 12);
    assert_string_equal(out, "138****1234");
    zq_mask_text("abc", out, 1);
    assert_string_equal(out, "");

    /* outsz 0: nothing is written, not even the NUL */
    memset(out, 'Z', sizeof(out));
    zq_mask_mobile("13812341234", out, 0);
    zq_mask_name("张三", out, 0);
    zq_mask_text("13812341234", out, 0);
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(out[i], 'Z');
    assert_null(zq_mask_text("x", NULL, 0));
}

#define T(f) cmocka_unit_test_setup(f, setup_log)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_line_format),
        T(test_beijing_time),
        T(test_levels),
        T(test_escapes),
        T(test_numbers_as_printf),
        T(test_fixed_as_printf),
        T(test_values_cannot_forge_fields),
        T(test_escaped_line_cut),
        T(test_request_id),
        T(test_request_id_per_thread),
        T(test_long_line_truncated),
        T(test_errno_kept),
        T(test_reinit_keeps_name),
        T(test_mask_mobile),
        T(test_mask_name),
        T(test_mask_text),
        T(test_mask_small_buffers),
    };

    zq_log_init("test-log", ZQ_LOG_DEBUG);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

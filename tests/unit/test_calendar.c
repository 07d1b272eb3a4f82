/* Tests of lib/core/calendar.c: date parsing and arithmetic, the shipped holiday
 * files in config/holidays/, deadlines over working days, the 27th of each
 * month, the Monday-Friday fallback and its warning, and the broken files
 * under tests/data/holidays/. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zhuqi/calendar.h"
#include "zhuqi/log.h"

/* The calendar from config/holidays, shared by the tests that only read. */
static zq_calendar *g_cal;

/* Tests run from the repository root unless ZQ_TEST_ROOT says otherwise. */
static const char *path_of(const char *rel)
{
    static char buf[4][1024];
    static int next;
    const char *root = getenv("ZQ_TEST_ROOT");
    char *p = buf[next++ % 4];

    snprintf(p, sizeof(buf[0]), "%s/%s", root != NULL ? root : ".", rel);
    return p;
}

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

static int count_substr(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static const char *fmt(zq_date d)
{
    static char buf[8][ZQ_DATE_STRLEN];
    static int next;
    char *p = buf[next++ % 8];

    return zq_date_format(d, p, ZQ_DATE_STRLEN);
}

/* Fails with both dates in the message when they differ. */
static void check_date(const char *what, zq_date got, zq_date want)
{
    if (got.y != want.y || got.m != want.m || got.d != want.d)
        fail_msg("%s: got %d-%d-%d (%s), want %s", what, got.y, got.m, got.d, fmt(got), fmt(want));
}

static zq_calendar *load_ok(const char *rel)
{
    zq_calendar *c = NULL;
    zq_err err = {0};

    if (zq_cal_load(path_of(rel), &c, &err) != 0)
        fail_msg("%s: %s", rel, err.msg);
    assert_non_null(c);
    return c;
}

/* ---- dates ---- */

typedef struct parse_case {
    const char *s;
    size_t len; /* 0: strlen(s) */
    int rc;
    zq_date want;
} parse_case;

static const parse_case parses[] = {
    {"2026-01-01", 0, 0, {2026, 1, 1}},
    {"2026-12-31", 0, 0, {2026, 12, 31}},
    {"2024-02-29", 0, 0, {2024, 2, 29}},
    {"2000-02-29", 0, 0, {2000, 2, 29}},
    {"0001-01-01", 0, 0, {1, 1, 1}},
    {"9999-12-31", 0, 0, {9999, 12, 31}},
    {"2026-04-30", 0, 0, {2026, 4, 30}},
    {"2026-02-29", 0, -ZQ_EINVAL, {0}},
    {"2100-02-29", 0, -ZQ_EINVAL, {0}},
    {"1900-02-29", 0, -ZQ_EINVAL, {0}},
    {"2026-02-30", 0, -ZQ_EINVAL, {0}},
    {"2026-04-31", 0, -ZQ_EINVAL, {0}},
    {"2026-01-32", 0, -ZQ_EINVAL, {0}},
    {"2026-00-10", 0, -ZQ_EINVAL, {0}},
    {"2026-13-01", 0, -ZQ_EINVAL, {0}},
    {"2026-01-00", 0, -ZQ_EINVAL, {0}},
    {"0000-01-01", 0, -ZQ_EINVAL, {0}},
    {"2026-1-1", 0, -ZQ_EINVAL, {0}},
    {"2026-01-1", 0, -ZQ_EINVAL, {0}},
    {"2026-1-01", 0, -ZQ_EINVAL, {0}},
    {"26-01-01", 0, -ZQ_EINVAL, {0}},
    {"02026-01-01", 0, -ZQ_EINVAL, {0}},
    {"", 0, -ZQ_EINVAL, {0}},
    {"garbage", 0, -ZQ_EINVAL, {0}},
    {"garbage!!!", 0, -ZQ_EINVAL, {0}},
    {"2026/01/01", 0, -ZQ_EINVAL, {0}},
    {"20260101", 0, -ZQ_EINVAL, {0}},
    {" 2026-01-01", 0, -ZQ_EINVAL, {0}},
    {"2026-01-01 ", 0, -ZQ_EINVAL, {0}},
    {"2026-01-01T08:00:00+08:00", 0, -ZQ_EINVAL, {0}},
    {"+026-01-01", 0, -ZQ_EINVAL, {0}},
    {"-026-01-01", 0, -ZQ_EINVAL, {0}},
    {"2026-+1-01", 0, -ZQ_EINVAL, {0}},
    {"2026-01- 1", 0, -ZQ_EINVAL, {0}},
    {"2026-0x-01", 0, -ZQ_EINVAL, {0}},
    {"２０２６-01-01", 0, -ZQ_EINVAL, {0}}, /* full-width digits */
    {"2026-01-0\0", 10, -ZQ_EINVAL, {0}},
    {"2026-01-01/2026-01-03", 0, -ZQ_EINVAL, {0}},
    /* only len bytes are read */
    {"2026-05-09 and more", 10, 0, {2026, 5, 9}},
};

static void test_date_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(parses); i++) {
        const parse_case *t = &parses[i];
        zq_date d = {-1, -1, -1};
        size_t len = t->len != 0 ? t->len : strlen(t->s);
        int rc = zq_date_parse(t->s, len, &d);

        if (rc != t->rc)
            fail_msg("\"%s\": got %d, want %d", t->s, rc, t->rc);
        if (rc == 0)
            check_date(t->s, d, t->want);
        else
            check_date(t->s, d, (zq_date){-1, -1, -1}); /* untouched */
    }
    assert_int_equal(zq_date_parse(NULL, 10, NULL), -ZQ_EINVAL);
    assert_int_equal(zq_date_parse("2026-01-01", 10, NULL), 0);
}

static void test_date_format(void **state)
{
    char buf[ZQ_DATE_STRLEN], small[5];

    (void)state;
    assert_string_equal(zq_date_format((zq_date){2026, 2, 14}, buf, sizeof(buf)), "2026-02-14");
    assert_string_equal(zq_date_format((zq_date){1, 1, 1}, buf, sizeof(buf)), "0001-01-01");
    assert_string_equal(zq_date_format((zq_date){9999, 12, 31}, buf, sizeof(buf)), "9999-12-31");
    assert_string_equal(zq_date_format((zq_date){2026, 2, 29}, buf, sizeof(buf)), "invalid");
    assert_string_equal(zq_date_format((zq_date){0, 0, 0}, buf, sizeof(buf)), "invalid");
    assert_string_equal(zq_date_format((zq_date){10000, 1, 1}, buf, sizeof(buf)), "invalid");
    assert_string_equal(zq_date_format((zq_date){2026, 2, 14}, small, sizeof(small)), "2026");
    assert_null(zq_date_format((zq_date){2026, 2, 14}, NULL, 0));

    /* every day of 2024-2026 formats and parses back to itself */
    for (zq_date d = {2024, 1, 1}; d.y < 2027; d = zq_date_add_days(d, 1)) {
        zq_date back;

        zq_date_format(d, buf, sizeof(buf));
        assert_int_equal(zq_date_parse(buf, strlen(buf), &back), 0);
        check_date(buf, back, d);
    }
}

static void test_date_valid(void **state)
{
    (void)state;
    assert_true(zq_date_valid((zq_date){2024, 2, 29}));
    assert_false(zq_date_valid((zq_date){2026, 2, 29}));
    assert_false(zq_date_valid((zq_date){0, 1, 1}));
    assert_false(zq_date_valid((zq_date){10000, 1, 1}));
    assert_false(zq_date_valid((zq_date){2026, 0, 1}));
    assert_false(zq_date_valid((zq_date){2026, 1, -1}));
    assert_int_equal(zq_date_days_in_month(2026, 2), 28);
    assert_int_equal(zq_date_days_in_month(2024, 2), 29);
    assert_int_equal(zq_date_days_in_month(2100, 2), 28);
    assert_int_equal(zq_date_days_in_month(2000, 2), 29);
    assert_int_equal(zq_date_days_in_month(2026, 4), 30);
    assert_int_equal(zq_date_days_in_month(2026, 12), 31);
    assert_int_equal(zq_date_days_in_month(2026, 0), 0);
    assert_int_equal(zq_date_days_in_month(2026, 13), 0);
}

typedef struct weekday_case {
    zq_date d;
    int want;
} weekday_case;

static const weekday_case weekdays[] = {
    {{2026, 1, 1}, 4},  {{2026, 1, 4}, 7},  {{2026, 2, 14}, 6}, {{2026, 2, 16}, 1},
    {{2026, 9, 27}, 7}, {{2026, 6, 27}, 6}, {{1970, 1, 1}, 4},  {{1969, 12, 31}, 3},
    {{2000, 1, 1}, 6},  {{2024, 2, 29}, 4}, {{1, 1, 1}, 1},     {{9999, 12, 31}, 5},
    {{2026, 2, 29}, 0}, /* not a date */
};

static void test_date_weekday(void **state)
{
    (void)state;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(weekdays); i++)
        if (zq_date_weekday(weekdays[i].d) != weekdays[i].want)
            fail_msg("%d-%d-%d: got %d, want %d", weekdays[i].d.y, weekdays[i].d.m, weekdays[i].d.d,
                     zq_date_weekday(weekdays[i].d), weekdays[i].want);
}

typedef struct add_case {
    zq_date d;
    int n;
    zq_date want;
} add_case;

static const add_case add_days[] = {
    {{2026, 1, 1}, 0, {2026, 1, 1}},      {{2026, 1, 31}, 1, {2026, 2, 1}},
    {{2026, 2, 28}, 1, {2026, 3, 1}},     {{2024, 2, 28}, 1, {2024, 2, 29}},
    {{2024, 2, 29}, 1, {2024, 3, 1}},     {{2026, 12, 31}, 1, {2027, 1, 1}},
    {{2027, 1, 1}, -1, {2026, 12, 31}},   {{2026, 3, 1}, -1, {2026, 2, 28}},
    {{2026, 1, 1}, 365, {2027, 1, 1}},    {{2024, 1, 1}, 366, {2025, 1, 1}},
    {{2026, 2, 10}, 30, {2026, 3, 12}},   {{1970, 1, 1}, -1, {1969, 12, 31}},
    {{2000, 2, 28}, 1, {2000, 2, 29}},    {{2100, 2, 28}, 1, {2100, 3, 1}},
    {{1, 1, 1}, 3652058, {9999, 12, 31}}, {{9999, 12, 31}, -3652058, {1, 1, 1}},
    {{9999, 12, 31}, 1, {0, 0, 0}},       {{1, 1, 1}, -1, {0, 0, 0}},
    {{2026, 1, 1}, INT_MAX, {0, 0, 0}},   {{2026, 1, 1}, INT_MIN, {0, 0, 0}},
    {{2026, 2, 29}, 1, {0, 0, 0}},
};

static void test_date_add_days(void **state)
{
    (void)state;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(add_days); i++) {
        const add_case *t = &add_days[i];
        char what[64];

        snprintf(what, sizeof(what), "%s %+d", fmt(t->d), t->n);
        check_date(what, zq_date_add_days(t->d, t->n), t->want);
        if (zq_date_valid(t->want))
            assert_int_equal(zq_date_days_between(t->d, t->want), t->n);
    }
    assert_int_equal(zq_date_days_between((zq_date){2026, 2, 29}, (zq_date){2026, 3, 1}), 0);
}

static void test_date_cmp(void **state)
{
    (void)state;
    assert_true(zq_date_cmp((zq_date){2026, 1, 1}, (zq_date){2026, 1, 1}) == 0);
    assert_true(zq_date_cmp((zq_date){2025, 12, 31}, (zq_date){2026, 1, 1}) < 0);
    assert_true(zq_date_cmp((zq_date){2026, 2, 1}, (zq_date){2026, 1, 31}) > 0);
    assert_true(zq_date_cmp((zq_date){2026, 2, 1}, (zq_date){2026, 2, 2}) < 0);
    assert_true(zq_date_cmp((zq_date){2026, 2, 3}, (zq_date){2026, 2, 2}) > 0);
}

typedef struct unix_case {
    long long t;
    zq_date want;
} unix_case;

static const unix_case unix_times[] = {
    {0, {1970, 1, 1}},                   /* 08:00 in Beijing */
    {16 * 3600 - 1, {1970, 1, 1}},       /* 23:59:59 */
    {16 * 3600, {1970, 1, 2}},           /* midnight in Beijing */
    {-8 * 3600, {1970, 1, 1}},           /* 00:00:00 */
    {-8 * 3600 - 1, {1969, 12, 31}},     /* 23:59:59 the day before */
    {1767196800 - 1, {2025, 12, 31}},    /* 2025-12-31T23:59:59+08:00 */
    {1767196800, {2026, 1, 1}},          /* 2026-01-01T00:00:00+08:00 */
    {1767225600, {2026, 1, 1}},          /* 2026-01-01T00:00:00Z is 08:00 */
    {1798732799, {2026, 12, 31}},        /* 2026-12-31T23:59:59+08:00 */
    {1798732800, {2027, 1, 1}},          /* 2027-01-01T00:00:00+08:00 */
    {253402271999LL, {9999, 12, 31}},    /* 9999-12-31T23:59:59+08:00 */
    {253402272000LL, {0, 0, 0}},         /* year 10000 */
    {-62135596800LL, {1, 1, 1}},         /* 0001-01-01T00:00:00Z */
    {-62135596800LL - 28801, {0, 0, 0}}, /* year 0 in Beijing */
    {LLONG_MAX, {0, 0, 0}},
    {LLONG_MIN, {0, 0, 0}},
};

static void test_date_from_unix(void **state)
{
    (void)state;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(unix_times); i++) {
        char what[64];

        snprintf(what, sizeof(what), "t=%lld", unix_times[i].t);
        check_date(what, zq_date_from_unix((time_t)unix_times[i].t), unix_times[i].want);
    }
}

/* TZ must not matter: Beijing is computed from the epoch. */
static void test_date_today(void **state)
{
    zq_date before, today, after;

    (void)state;
    setenv("TZ", "America/Los_Angeles", 1);
    tzset();
    before = zq_date_from_unix(time(NULL));
    today = zq_date_today();
    after = zq_date_from_unix(time(NULL));
    unsetenv("TZ");
    tzset();
    assert_true(zq_date_valid(today));
    assert_true(zq_date_cmp(today, before) == 0 || zq_date_cmp(today, after) == 0);
}

/* ---- the shipped calendar ---- */

typedef struct span {
    zq_date from, to;
} span;

/* From the State Council notices, as written in specs/intake.md. */
static const span off_2026[] = {
    {{2026, 1, 1}, {2026, 1, 3}},   {{2026, 2, 15}, {2026, 2, 23}}, {{2026, 4, 4}, {2026, 4, 6}},
    {{2026, 5, 1}, {2026, 5, 5}},   {{2026, 6, 19}, {2026, 6, 21}}, {{2026, 9, 25}, {2026, 9, 27}},
    {{2026, 10, 1}, {2026, 10, 7}},
};
static const zq_date work_2026[] = {
    {2026, 1, 4}, {2026, 2, 14}, {2026, 2, 28}, {2026, 5, 9}, {2026, 9, 20}, {2026, 10, 10},
};
static const span off_2025[] = {
    {{2025, 1, 1}, {2025, 1, 1}}, {{2025, 1, 28}, {2025, 2, 4}}, {{2025, 4, 4}, {2025, 4, 6}},
    {{2025, 5, 1}, {2025, 5, 5}}, {{2025, 5, 31}, {2025, 6, 2}}, {{2025, 10, 1}, {2025, 10, 8}},
};
static const zq_date work_2025[] = {
    {2025, 1, 26}, {2025, 2, 8}, {2025, 4, 27}, {2025, 9, 28}, {2025, 10, 11},
};

/* The answer the notice gives for d, worked out without the library. */
static bool model_workday(zq_date d, const span *off, size_t noff, const zq_date *work,
                          size_t nwork)
{
    for (size_t i = 0; i < nwork; i++)
        if (zq_date_cmp(d, work[i]) == 0)
            return true;
    for (size_t i = 0; i < noff; i++)
        if (zq_date_cmp(d, off[i].from) >= 0 && zq_date_cmp(d, off[i].to) <= 0)
            return false;
    return zq_date_weekday(d) <= 5;
}

static void check_year(int year, const span *off, size_t noff, const zq_date *work, size_t nwork,
                       int want_workdays)
{
    int n = 0;

    assert_true(zq_cal_year_known(g_cal, year));
    for (zq_date d = {year, 1, 1}; d.y == year; d = zq_date_add_days(d, 1)) {
        bool want = model_workday(d, off, noff, work, nwork);

        if (zq_cal_is_workday(g_cal, d) != want)
            fail_msg("%s: got %s, want %s", fmt(d), want ? "day off" : "working day",
                     want ? "working day" : "day off");
        n += want;
    }
    assert_int_equal(n, want_workdays);
    assert_int_equal(
        zq_cal_workdays_between(g_cal, (zq_date){year - 1, 12, 31}, (zq_date){year, 12, 31}),
        want_workdays);
}

static void test_2026_every_day(void **state)
{
    (void)state;
    /* 261 weekdays, 19 of them off, 6 weekend days moved in */
    check_year(2026, off_2026, ZQ_ARRAY_LEN(off_2026), work_2026, ZQ_ARRAY_LEN(work_2026), 248);
}

static void test_2025_every_day(void **state)
{
    (void)state;
    check_year(2025, off_2025, ZQ_ARRAY_LEN(off_2025), work_2025, ZQ_ARRAY_LEN(work_2025), 248);
}

typedef struct day_case {
    zq_date d;
    bool workday;
} day_case;

/* Each 2026 holiday's edges and every make-up day, spelled out. */
static const day_case days_2026[] = {
    {{2025, 12, 31}, true}, {{2026, 1, 1}, false},  {{2026, 1, 2}, false},  {{2026, 1, 3}, false},
    {{2026, 1, 4}, true},   {{2026, 1, 5}, true},   {{2026, 2, 13}, true},  {{2026, 2, 14}, true},
    {{2026, 2, 15}, false}, {{2026, 2, 16}, false}, {{2026, 2, 17}, false}, {{2026, 2, 20}, false},
    {{2026, 2, 23}, false}, {{2026, 2, 24}, true},  {{2026, 2, 28}, true},  {{2026, 3, 1}, false},
    {{2026, 4, 3}, true},   {{2026, 4, 4}, false},  {{2026, 4, 6}, false},  {{2026, 4, 7}, true},
    {{2026, 4, 30}, true},  {{2026, 5, 1}, false},  {{2026, 5, 4}, false},  {{2026, 5, 5}, false},
    {{2026, 5, 6}, true},   {{2026, 5, 9}, true},   {{2026, 5, 10}, false}, {{2026, 6, 18}, true},
    {{2026, 6, 19}, false}, {{2026, 6, 21}, false}, {{2026, 6, 22}, true},  {{2026, 9, 19}, false},
    {{2026, 9, 20}, true},  {{2026, 9, 24}, true},  {{2026, 9, 25}, false}, {{2026, 9, 27}, false},
    {{2026, 9, 28}, true},  {{2026, 9, 30}, true},  {{2026, 10, 1}, false}, {{2026, 10, 7}, false},
    {{2026, 10, 8}, true},  {{2026, 10, 9}, true},  {{2026, 10, 10}, true}, {{2026, 10, 11}, false},
    {{2026, 10, 12}, true}, {{2026, 12, 31}, true}, {{2025, 1, 26}, true},  {{2025, 2, 4}, false},
    {{2025, 2, 8}, true},   {{2025, 5, 31}, false}, {{2025, 6, 2}, false},  {{2025, 9, 28}, true},
    {{2025, 10, 8}, false}, {{2025, 10, 11}, true},
};

static void test_listed_days(void **state)
{
    (void)state;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(days_2026); i++)
        if (zq_cal_is_workday(g_cal, days_2026[i].d) != days_2026[i].workday)
            fail_msg("%s: want %s", fmt(days_2026[i].d),
                     days_2026[i].workday ? "working day" : "day off");
    assert_false(zq_cal_is_workday(g_cal, (zq_date){2026, 2, 29}));
    assert_false(zq_cal_is_workday(g_cal, (zq_date){0, 0, 0}));
}

static void test_shipped_sources(void **state)
{
    (void)state;
    assert_string_equal(zq_cal_source(g_cal, 2026), "国务院办公厅关于2026年部分节假日安排的通知");
    assert_string_equal(zq_cal_source(g_cal, 2025), "国务院办公厅关于2025年部分节假日安排的通知");
    assert_null(zq_cal_source(g_cal, 2024));
    assert_null(zq_cal_source(NULL, 2026));
    assert_false(zq_cal_year_known(g_cal, 2024));
    assert_false(zq_cal_year_known(g_cal, 2027));
    assert_true(zq_cal_range_known(g_cal, (zq_date){2025, 1, 1}, (zq_date){2026, 12, 31}));
    assert_true(zq_cal_range_known(g_cal, (zq_date){2026, 12, 31}, (zq_date){2025, 1, 1}));
    assert_false(zq_cal_range_known(g_cal, (zq_date){2026, 12, 25}, (zq_date){2027, 1, 8}));
    assert_false(zq_cal_range_known(g_cal, (zq_date){2024, 12, 31}, (zq_date){2025, 1, 2}));
    assert_false(zq_cal_range_known(g_cal, (zq_date){2026, 2, 29}, (zq_date){2026, 3, 1}));
}

/* ---- deadlines ---- */

typedef struct workday_case {
    zq_date start;
    int n;
    zq_date want;
} workday_case;

static const workday_case add_workdays[] = {
    /* across the Spring Festival: 2/14 (Sat) and 2/28 (Sat) count */
    {{2026, 2, 10}, 10, {2026, 3, 2}},
    /* across Mid-Autumn and National Day: 10/10 (Sat) counts */
    {{2026, 9, 24}, 10, {2026, 10, 15}},
    /* into 2027, which has no file: Monday-Friday, 2027-01-01 included */
    {{2026, 12, 25}, 10, {2027, 1, 8}},
    /* from 2025 into 2026: 1/1-3 off, 1/4 (Sun) counts */
    {{2025, 12, 26}, 5, {2026, 1, 5}},
    /* a Saturday or Sunday make-up day is the next working day */
    {{2026, 2, 13}, 1, {2026, 2, 14}},
    {{2026, 5, 8}, 1, {2026, 5, 9}},
    {{2026, 9, 18}, 1, {2026, 9, 20}},
    {{2026, 1, 1}, 1, {2026, 1, 4}},
    {{2026, 10, 9}, 1, {2026, 10, 10}},
    {{2025, 1, 24}, 1, {2025, 1, 26}},
    /* accepted on a day off: counting starts the day after anyway */
    {{2026, 2, 20}, 1, {2026, 2, 24}},
    {{2026, 2, 21}, 10, {2026, 3, 6}},
    {{2026, 6, 27}, 1, {2026, 6, 29}},
    /* an ordinary fortnight */
    {{2026, 3, 2}, 10, {2026, 3, 16}},
    /* n == 0 is start itself, working day or not */
    {{2026, 2, 10}, 0, {2026, 2, 10}},
    {{2026, 2, 15}, 0, {2026, 2, 15}},
    /* backwards */
    {{2026, 2, 24}, -1, {2026, 2, 14}},
    {{2026, 10, 8}, -1, {2026, 9, 30}},
    {{2026, 3, 2}, -10, {2026, 2, 10}},
    {{2026, 1, 5}, -2, {2025, 12, 31}},
    /* not a date, or off the end of time */
    {{2026, 2, 29}, 1, {0, 0, 0}},
    {{9999, 12, 31}, 1, {0, 0, 0}},
    {{1, 1, 1}, -1, {0, 0, 0}},
    {{9999, 12, 1}, INT_MAX, {0, 0, 0}},
    {{1, 1, 31}, INT_MIN, {0, 0, 0}},
};

static void test_add_workdays(void **state)
{
    (void)state;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(add_workdays); i++) {
        const workday_case *t = &add_workdays[i];
        zq_date got = zq_cal_add_workdays(g_cal, t->start, t->n);
        char what[64];

        snprintf(what, sizeof(what), "%s %+d working days", fmt(t->start), t->n);
        check_date(what, got, t->want);
        if (t->n > 0 && zq_date_valid(t->want)) {
            assert_true(zq_cal_is_workday(g_cal, got));
            assert_int_equal(zq_cal_workdays_between(g_cal, t->start, got), t->n);
        }
    }
}

/* For every start in 2025-2026 and n up to 25, the result is a working
 * day exactly n working days later, and the day before it is n - 1. */
static void test_add_workdays_agrees_with_between(void **state)
{
    (void)state;
    for (zq_date s = {2025, 1, 1}; s.y < 2027; s = zq_date_add_days(s, 1)) {
        for (int n = 1; n <= 25; n++) {
            zq_date r = zq_cal_add_workdays(g_cal, s, n);

            if (!zq_cal_is_workday(g_cal, r) || zq_cal_workdays_between(g_cal, s, r) != n ||
                zq_cal_workdays_between(g_cal, s, zq_date_add_days(r, -1)) != n - 1)
                fail_msg("%s + %d -> %s", fmt(s), n, fmt(r));
        }
    }
}

/* The walks (add, between, next) agree with asking day by day, across
 * the years with files, the years without (2024, 2027: Monday-Friday)
 * and leap days, backwards too. */
static void test_walks_agree_with_each_day(void **state)
{
    (void)state;
    for (zq_date s = {2023, 12, 1}; s.y < 2028; s = zq_date_add_days(s, 3)) {
        zq_date d = s, next = s;
        int count = 0;

        while (!zq_cal_is_workday(g_cal, next))
            next = zq_date_add_days(next, 1);
        if (zq_date_cmp(zq_cal_next_workday(g_cal, s), next) != 0)
            fail_msg("next workday of %s", fmt(s));
        for (int n = 1; n <= 40; n++) {
            do
                d = zq_date_add_days(d, 1);
            while (!zq_cal_is_workday(g_cal, d));
            if (zq_date_cmp(zq_cal_add_workdays(g_cal, s, n), d) != 0)
                fail_msg("%s + %d", fmt(s), n);
        }
        d = s;
        for (int n = 1; n <= 40; n++) {
            do
                d = zq_date_add_days(d, -1);
            while (!zq_cal_is_workday(g_cal, d));
            if (zq_date_cmp(zq_cal_add_workdays(g_cal, s, -n), d) != 0)
                fail_msg("%s - %d", fmt(s), n);
        }
        d = s;
        for (int k = 0; k < 70; k++) {
            d = zq_date_add_days(d, 1);
            count += zq_cal_is_workday(g_cal, d);
            if (zq_cal_workdays_between(g_cal, s, d) != count ||
                zq_cal_workdays_between(g_cal, d, s) != -count)
                fail_msg("(%s, %s]", fmt(s), fmt(d));
        }
    }
}

typedef struct between_case {
    zq_date a, b;
    int want;
} between_case;

static const between_case betweens[] = {
    {{2026, 2, 10}, {2026, 3, 2}, 10},
    {{2026, 9, 24}, {2026, 10, 15}, 10},
    {{2026, 3, 2}, {2026, 2, 10}, -10},
    {{2026, 2, 14}, {2026, 2, 23}, 0}, /* a excluded, 15-23 off */
    {{2026, 2, 13}, {2026, 2, 14}, 1}, /* b included */
    {{2026, 2, 13}, {2026, 2, 13}, 0},
    {{2026, 9, 25}, {2026, 10, 8}, 4}, /* 9/28, 9/29, 9/30, 10/8 */
    {{2026, 12, 25}, {2027, 1, 8}, 10},
    {{2024, 12, 31}, {2025, 1, 1}, 0},
    {{2026, 2, 29}, {2026, 3, 2}, 0},
    {{2026, 3, 2}, {0, 0, 0}, 0},
};

static void test_workdays_between(void **state)
{
    (void)state;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(betweens); i++) {
        const between_case *t = &betweens[i];
        int got = zq_cal_workdays_between(g_cal, t->a, t->b);

        if (got != t->want)
            fail_msg("(%s, %s]: got %d, want %d", fmt(t->a), fmt(t->b), got, t->want);
    }
}

static const workday_case next_workdays[] = {
    {{2026, 2, 10}, 0, {2026, 2, 10}}, {{2026, 2, 14}, 0, {2026, 2, 14}},
    {{2026, 2, 15}, 0, {2026, 2, 24}}, {{2026, 9, 26}, 0, {2026, 9, 28}},
    {{2026, 10, 1}, 0, {2026, 10, 8}}, {{2026, 9, 19}, 0, {2026, 9, 20}},
    {{2026, 1, 1}, 0, {2026, 1, 4}},   {{2027, 1, 2}, 0, {2027, 1, 4}},
    {{2026, 2, 29}, 0, {0, 0, 0}},     {{9999, 12, 31}, 0, {9999, 12, 31}},
};

static void test_next_workday(void **state)
{
    (void)state;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(next_workdays); i++)
        check_date(fmt(next_workdays[i].start), zq_cal_next_workday(g_cal, next_workdays[i].start),
                   next_workdays[i].want);
}

/* ---- the 27th ---- */

typedef struct monthly_case {
    int year, month, day;
    zq_date keep, next;
} monthly_case;

static const monthly_case day27_2026[] = {
    {2026, 1, 27, {2026, 1, 27}, {2026, 1, 27}},    /* Tue */
    {2026, 2, 27, {2026, 2, 27}, {2026, 2, 27}},    /* Fri, before the make-up Sat */
    {2026, 3, 27, {2026, 3, 27}, {2026, 3, 27}},    /* Fri */
    {2026, 4, 27, {2026, 4, 27}, {2026, 4, 27}},    /* Mon */
    {2026, 5, 27, {2026, 5, 27}, {2026, 5, 27}},    /* Wed */
    {2026, 6, 27, {2026, 6, 27}, {2026, 6, 29}},    /* Sat */
    {2026, 7, 27, {2026, 7, 27}, {2026, 7, 27}},    /* Mon */
    {2026, 8, 27, {2026, 8, 27}, {2026, 8, 27}},    /* Thu */
    {2026, 9, 27, {2026, 9, 27}, {2026, 9, 28}},    /* Sun, Mid-Autumn */
    {2026, 10, 27, {2026, 10, 27}, {2026, 10, 27}}, /* Tue */
    {2026, 11, 27, {2026, 11, 27}, {2026, 11, 27}}, /* Fri */
    {2026, 12, 27, {2026, 12, 27}, {2026, 12, 28}}, /* Sun */
};

static const monthly_case monthly_edges[] = {
    /* clamped to the month's end, then shifted from there */
    {2026, 2, 31, {2026, 2, 28}, {2026, 2, 28}}, /* a make-up Saturday */
    {2024, 2, 31, {2024, 2, 29}, {2024, 2, 29}}, /* leap year, no file: Thu */
    {2026, 4, 31, {2026, 4, 30}, {2026, 4, 30}},
    {2026, 5, 31, {2026, 5, 31}, {2026, 6, 1}},
    {2025, 5, 31, {2025, 5, 31}, {2025, 6, 3}}, /* Dragon Boat 5/31-6/2 */
    {2026, 10, 1, {2026, 10, 1}, {2026, 10, 8}},
    {2026, 1, 100, {2026, 1, 31}, {2026, 2, 2}},
    {2026, 1, INT_MAX, {2026, 1, 31}, {2026, 2, 2}},
    /* out of range */
    {2026, 1, 0, {0, 0, 0}, {0, 0, 0}},
    {2026, 1, -27, {0, 0, 0}, {0, 0, 0}},
    {2026, 0, 27, {0, 0, 0}, {0, 0, 0}},
    {2026, 13, 27, {0, 0, 0}, {0, 0, 0}},
    {0, 1, 27, {0, 0, 0}, {0, 0, 0}},
    {10000, 1, 27, {0, 0, 0}, {0, 0, 0}},
};

static void check_monthly(const monthly_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const monthly_case *t = &cases[i];
        char what[64];

        snprintf(what, sizeof(what), "%d-%d day %d keep", t->year, t->month, t->day);
        check_date(what, zq_cal_monthly_day(g_cal, t->year, t->month, t->day, ZQ_CAL_KEEP),
                   t->keep);
        snprintf(what, sizeof(what), "%d-%d day %d next_workday", t->year, t->month, t->day);
        check_date(what, zq_cal_monthly_day(g_cal, t->year, t->month, t->day, ZQ_CAL_NEXT_WORKDAY),
                   t->next);
    }
}

static void test_27th_2026(void **state)
{
    (void)state;
    check_monthly(day27_2026, ZQ_ARRAY_LEN(day27_2026));
}

static void test_monthly_edges(void **state)
{
    (void)state;
    check_monthly(monthly_edges, ZQ_ARRAY_LEN(monthly_edges));
}

static void test_shift_names(void **state)
{
    zq_cal_shift s = (zq_cal_shift)42;

    (void)state;
    assert_int_equal(zq_cal_shift_parse("keep", &s), 0);
    assert_int_equal(s, ZQ_CAL_KEEP);
    assert_int_equal(zq_cal_shift_parse("next_workday", &s), 0);
    assert_int_equal(s, ZQ_CAL_NEXT_WORKDAY);
    assert_int_equal(zq_cal_shift_parse("Keep", &s), -ZQ_EINVAL);
    assert_int_equal(zq_cal_shift_parse("next", &s), -ZQ_EINVAL);
    assert_int_equal(zq_cal_shift_parse("", &s), -ZQ_EINVAL);
    assert_int_equal(zq_cal_shift_parse(NULL, &s), -ZQ_EINVAL);
    assert_int_equal(s, ZQ_CAL_NEXT_WORKDAY); /* untouched on error */
    assert_int_equal(zq_cal_shift_parse("keep", NULL), 0);
    assert_string_equal(zq_cal_shift_name(ZQ_CAL_KEEP), "keep");
    assert_string_equal(zq_cal_shift_name(ZQ_CAL_NEXT_WORKDAY), "next_workday");
    assert_string_equal(zq_cal_shift_name((zq_cal_shift)42), "keep");
}

/* ---- missing years ---- */

#define WARN_2027 "event=calendar_year_missing year=2027 fallback=mon-fri"

/* The deadline runs into 2027: computed Monday-Friday, the calendar says
 * the year is unknown, and the warning is logged once however often the
 * year is used. */
static void test_missing_year_fallback(void **state)
{
    zq_calendar *c = load_ok("config/holidays");
    zq_log_level old = zq_log_get_level();
    zq_date r;
    char *out;

    (void)state;
    zq_log_set_level(ZQ_LOG_WARN);
    capture_begin();
    r = zq_cal_add_workdays(c, (zq_date){2026, 12, 25}, 10);
    assert_true(zq_cal_is_workday(c, (zq_date){2027, 1, 1})); /* really 元旦, but no file */
    assert_false(zq_cal_is_workday(c, (zq_date){2027, 1, 2}));
    assert_int_equal(zq_cal_workdays_between(c, (zq_date){2027, 1, 1}, (zq_date){2027, 12, 31}),
                     260);
    assert_true(zq_cal_is_workday(c, (zq_date){2026, 2, 14})); /* known year: no warning */
    out = capture_end();
    zq_log_set_level(old);

    check_date("2026-12-25 + 10", r, (zq_date){2027, 1, 8});
    assert_false(zq_cal_year_known(c, 2027));
    assert_false(zq_cal_range_known(c, (zq_date){2026, 12, 25}, r));
    assert_int_equal(count_substr(out, WARN_2027), 1);
    assert_int_equal(count_substr(out, "\n"), 1);
    assert_non_null(strstr(out, " level=warn "));
    free(out);
    zq_cal_free(c);
}

/* The once-only flag belongs to the calendar: a reload warns again. */
static void test_missing_year_per_calendar(void **state)
{
    zq_log_level old = zq_log_get_level();
    zq_calendar *a = load_ok("config/holidays"), *b = load_ok("config/holidays");
    char *out;

    (void)state;
    zq_log_set_level(ZQ_LOG_WARN);
    capture_begin();
    zq_cal_is_workday(a, (zq_date){2027, 3, 1});
    zq_cal_is_workday(a, (zq_date){2027, 3, 2});
    zq_cal_is_workday(b, (zq_date){2027, 3, 1});
    zq_cal_is_workday(a, (zq_date){2028, 3, 1});
    zq_cal_is_workday(NULL, (zq_date){2029, 3, 1}); /* no calendar: no warning */
    out = capture_end();
    zq_log_set_level(old);
    assert_int_equal(count_substr(out, WARN_2027), 2);
    assert_int_equal(count_substr(out, "year=2028 fallback=mon-fri"), 1);
    assert_int_equal(count_substr(out, "year=2029"), 0);
    free(out);
    zq_cal_free(a);
    zq_cal_free(b);
}

typedef struct thread_arg {
    const zq_calendar *c;
    int workdays;
} thread_arg;

static void *use_missing_years(void *p)
{
    thread_arg *a = p;

    for (zq_date d = {2030, 1, 1}; d.y < 2033; d = zq_date_add_days(d, 1))
        a->workdays += zq_cal_is_workday(a->c, d);
    return NULL;
}

/* Threads racing over the same missing years: one warning per year. */
static void test_missing_year_threads(void **state)
{
    zq_log_level old = zq_log_get_level();
    zq_calendar *c = load_ok("config/holidays");
    pthread_t th[8];
    thread_arg args[8];
    char *out;

    (void)state;
    zq_log_set_level(ZQ_LOG_WARN);
    capture_begin();
    for (size_t i = 0; i < ZQ_ARRAY_LEN(th); i++) {
        args[i] = (thread_arg){c, 0};
        assert_int_equal(pthread_create(&th[i], NULL, use_missing_years, &args[i]), 0);
    }
    for (size_t i = 0; i < ZQ_ARRAY_LEN(th); i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    out = capture_end();
    zq_log_set_level(old);
    for (size_t i = 0; i < ZQ_ARRAY_LEN(th); i++)
        assert_int_equal(args[i].workdays, 261 + 261 + 262); /* Mon-Fri in 2030-2032 */
    assert_int_equal(count_substr(out, "event=calendar_year_missing"), 3);
    assert_int_equal(count_substr(out, "year=2030 fallback=mon-fri"), 1);
    assert_int_equal(count_substr(out, "year=2031 fallback=mon-fri"), 1);
    assert_int_equal(count_substr(out, "year=2032 fallback=mon-fri"), 1);
    free(out);
    zq_cal_free(c);
}

/* ---- loading ---- */

static void test_missing_dir(void **state)
{
    zq_log_level old = zq_log_get_level();
    zq_calendar *c = NULL;
    zq_err err = {0};
    char *out;

    (void)state;
    zq_log_set_level(ZQ_LOG_WARN);
    capture_begin();
    assert_int_equal(zq_cal_load(path_of("tests/data/holidays/does-not-exist"), &c, &err), 0);
    out = capture_end();
    zq_log_set_level(old);
    assert_non_null(strstr(out, "event=calendar_dir_missing dir="));
    free(out);
    assert_non_null(c);
    assert_false(zq_cal_year_known(c, 2026));
    assert_true(zq_cal_is_workday(c, (zq_date){2026, 10, 1}));  /* Thursday */
    assert_false(zq_cal_is_workday(c, (zq_date){2026, 2, 14})); /* Saturday */
    check_date("fallback", zq_cal_add_workdays(c, (zq_date){2026, 2, 10}, 10),
               (zq_date){2026, 2, 24});
    check_date("27th", zq_cal_monthly_day(c, 2026, 9, 27, ZQ_CAL_NEXT_WORKDAY),
               (zq_date){2026, 9, 28});
    zq_cal_free(c);
}

static void test_empty_dir(void **state)
{
    char tmpl[] = "/tmp/zq-test-calendar-XXXXXX";
    zq_calendar *c = NULL;
    zq_err err = {0};

    (void)state;
    assert_non_null(mkdtemp(tmpl));
    assert_int_equal(zq_cal_load(tmpl, &c, &err), 0);
    assert_non_null(c);
    assert_false(zq_cal_year_known(c, 2026));
    assert_true(zq_cal_is_workday(c, (zq_date){2026, 1, 1}));
    zq_cal_free(c);
    rmdir(tmpl);
}

static void test_good_variants(void **state)
{
    zq_calendar *c = load_ok("tests/data/holidays/good_variants");

    (void)state;
    assert_true(zq_cal_year_known(c, 2030));
    assert_false(zq_cal_year_known(c, 2031)); /* only 2030.json has the right name */
    assert_string_equal(zq_cal_source(c, 2030),
                        "test data, not a real notice: keys in any order, a one-day range, a range "
                        "over a weekend, no make-up days");
    assert_false(zq_cal_is_workday(c, (zq_date){2030, 3, 2})); /* a Saturday listed */
    assert_false(zq_cal_is_workday(c, (zq_date){2030, 3, 6}));
    assert_false(zq_cal_is_workday(c, (zq_date){2030, 12, 31}));
    assert_false(zq_cal_is_workday(c, (zq_date){2030, 1, 4}));
    assert_false(zq_cal_is_workday(c, (zq_date){2030, 1, 5}));
    assert_false(zq_cal_is_workday(c, (zq_date){2030, 1, 8}));
    assert_true(zq_cal_is_workday(c, (zq_date){2030, 1, 3}));
    assert_true(zq_cal_is_workday(c, (zq_date){2030, 1, 9}));
    assert_int_equal(zq_cal_workdays_between(c, (zq_date){2029, 12, 31}, (zq_date){2030, 12, 31}),
                     261 - 5);
    zq_cal_free(c);
}

/* A trailing slash does not change the file names in messages. */
static void test_trailing_slash(void **state)
{
    zq_calendar *c = load_ok("config/holidays/");
    zq_err err = {0};
    char want[1200];

    (void)state;
    assert_true(zq_cal_year_known(c, 2026));
    zq_cal_free(c);
    c = NULL;
    assert_int_equal(zq_cal_load(path_of("tests/data/holidays/bad_not_object//"), &c, &err),
                     -ZQ_EINVAL);
    snprintf(want, sizeof(want), "%s/2026.json: must be a JSON object",
             path_of("tests/data/holidays/bad_not_object"));
    assert_string_equal(err.msg, want);
    assert_null(c);
}

/* Every tests/data/holidays/bad_* directory holds an "expect" file with
 * the exact message, DIR standing for the directory. */
static void test_bad_files(void **state)
{
    glob_t g;

    (void)state;
    assert_int_equal(glob(path_of("tests/data/holidays/bad_*"), GLOB_ONLYDIR, NULL, &g), 0);
    assert_true(g.gl_pathc >= 40);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *dir = g.gl_pathv[i];
        char path[1100], line[600], want[1700];
        zq_calendar *c = (zq_calendar *)&g; /* any non-NULL: must stay */
        zq_err err = {0};
        FILE *f;
        int rc;

        snprintf(path, sizeof(path), "%s/expect", dir);
        f = fopen(path, "r");
        if (f == NULL)
            fail_msg("%s: %s", path, strerror(errno));
        assert_non_null(fgets(line, sizeof(line), f));
        fclose(f);
        line[strcspn(line, "\n")] = '\0';
        assert_int_equal(strncmp(line, "DIR/", 4), 0);
        snprintf(want, sizeof(want), "%s%s", dir, line + 3);
        rc = zq_cal_load(dir, &c, &err);
        if (rc != -ZQ_EINVAL || strcmp(err.msg, want) != 0)
            print_error("%s:\n   got %d \"%s\"\n  want %d \"%s\"\n", dir, rc, err.msg, -ZQ_EINVAL,
                        want);
        assert_int_equal(rc, -ZQ_EINVAL);
        assert_int_equal(err.code, ZQ_EINVAL);
        assert_string_equal(err.msg, want);
        assert_ptr_equal(c, (zq_calendar *)&g);
    }
    globfree(&g);
}

static void test_too_big(void **state)
{
    char tmpl[] = "/tmp/zq-test-calendar-XXXXXX", path[64], want[128];
    zq_calendar *c = NULL;
    zq_err err = {0};
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(tmpl));
    snprintf(path, sizeof(path), "%s/2026.json", tmpl);
    f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 1024 * 1024; i++)
        fputc(' ', f);
    fputs("{}\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(zq_cal_load(tmpl, &c, &err), -ZQ_ETOOBIG);
    snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", path);
    assert_string_equal(err.msg, want);
    assert_null(c);
    unlink(path);
    rmdir(tmpl);
}

static void test_not_a_directory(void **state)
{
    const char *file = path_of("config/holidays/2026.json");
    zq_calendar *c = NULL;
    zq_err err = {0};
    char want[1200];

    (void)state;
    assert_int_equal(zq_cal_load(file, &c, &err), -ZQ_EIO);
    assert_int_equal(err.code, ZQ_EIO);
    snprintf(want, sizeof(want), "%s: cannot open directory: %s", file, strerror(ENOTDIR));
    assert_string_equal(err.msg, want);
    assert_null(c);
}

static void test_null_args(void **state)
{
    zq_calendar *c = NULL;
    zq_err err = {0};

    (void)state;
    assert_int_equal(zq_cal_load(NULL, &c, &err), -ZQ_EINVAL);
    assert_string_equal(err.msg, "calendar directory missing");
    assert_int_equal(zq_cal_load("", &c, NULL), -ZQ_EINVAL);
    assert_int_equal(zq_cal_load(path_of("config/holidays"), NULL, NULL), -ZQ_EINVAL);
    assert_null(c);
    zq_cal_free(NULL);

    /* a NULL calendar is Monday-Friday */
    assert_false(zq_cal_year_known(NULL, 2026));
    assert_true(zq_cal_is_workday(NULL, (zq_date){2026, 10, 1}));
    check_date("NULL +10", zq_cal_add_workdays(NULL, (zq_date){2026, 2, 10}, 10),
               (zq_date){2026, 2, 24});
    assert_int_equal(zq_cal_workdays_between(NULL, (zq_date){2026, 2, 13}, (zq_date){2026, 2, 16}),
                     1);
    check_date("NULL 27th", zq_cal_monthly_day(NULL, 2026, 6, 27, ZQ_CAL_NEXT_WORKDAY),
               (zq_date){2026, 6, 29});
}

static int group_setup(void **state)
{
    zq_err err = {0};

    (void)state;
    /* quiet: the tests that look at warnings raise the level themselves */
    zq_log_set_level(ZQ_LOG_ERROR);
    if (zq_cal_load(path_of("config/holidays"), &g_cal, &err) != 0) {
        fprintf(stderr, "config/holidays: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    zq_cal_free(g_cal);
    g_cal = NULL;
    return 0;
}

/* Beijing time: instants to dates and clock times and back, against
 * gmtime_r on the instant plus eight hours (an independent path). */
/* Quiet hours: the window's end, in Beijing time, across midnight. */
static void test_quiet_hours(void **state)
{
    zq_date d = {2026, 12, 6};
    int a, z;

    (void)state;
    assert_int_equal(zq_quiet_parse("21:00-08:00", &a, &z), 0);
    assert_int_equal(a, 21 * 60);
    assert_int_equal(z, 8 * 60);
    /* 20:59 is outside; 21:00 waits until 08:00 the next day. */
    assert_true(zq_quiet_until(zq_date_to_ms(d, 20, 59), a, z) == 0);
    assert_true(zq_quiet_until(zq_date_to_ms(d, 21, 0), a, z) ==
                zq_date_to_ms(zq_date_add_days(d, 1), 8, 0));
    assert_true(zq_quiet_until(zq_date_to_ms(d, 23, 59) + 59999, a, z) ==
                zq_date_to_ms(zq_date_add_days(d, 1), 8, 0));
    /* After midnight it ends the same day; 08:00 itself is outside. */
    assert_true(zq_quiet_until(zq_date_to_ms(d, 0, 0), a, z) == zq_date_to_ms(d, 8, 0));
    assert_true(zq_quiet_until(zq_date_to_ms(d, 7, 59), a, z) == zq_date_to_ms(d, 8, 0));
    assert_true(zq_quiet_until(zq_date_to_ms(d, 8, 0), a, z) == 0);
    /* A window within one day. */
    assert_int_equal(zq_quiet_parse("12:00-13:30", &a, &z), 0);
    assert_true(zq_quiet_until(zq_date_to_ms(d, 12, 30), a, z) == zq_date_to_ms(d, 13, 30));
    assert_true(zq_quiet_until(zq_date_to_ms(d, 13, 30), a, z) == 0);
    assert_true(zq_quiet_until(zq_date_to_ms(d, 11, 59), a, z) == 0);
    /* None. */
    assert_int_equal(zq_quiet_parse("", &a, &z), 0);
    assert_int_equal(a, -1);
    assert_true(zq_quiet_until(zq_date_to_ms(d, 22, 0), a, z) == 0);
    assert_int_equal(zq_quiet_parse("08:00-08:00", &a, &z), 0);
    assert_int_equal(a, -1);
    /* Not a window. */
    const char *bad[] = {"21:00",      "24:00-08:00",  "21:60-08:00", "21:00~08:00",
                         "9:00-08:00", "21:00-08:00 ", "aa:bb-cc:dd", "21:00-08:0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(zq_quiet_parse(bad[i], &a, &z), -ZQ_EINVAL);
}

static void test_beijing_time(void **state)
{
    static const struct {
        int64_t ms;
        const char *iso;
    } v[] = {
        {0, "1970-01-01T08:00:00+08:00"},
        {1764120600000LL, "2025-11-26T09:30:00+08:00"},
        {1798732799999LL, "2026-12-31T23:59:59+08:00"},
        {1798732800000LL, "2027-01-01T00:00:00+08:00"},
        {1709136000000LL, "2024-02-29T00:00:00+08:00"},
    };
    char out[32], want[32];
    struct tm tm;
    int64_t ms;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        zq_time_iso(v[i].ms, out);
        assert_string_equal(out, v[i].iso);
        assert_int_equal(strlen(out), ZQ_TIME_ISO_LEN);
    }
    /* Every 7,919 seconds (a prime: every clock time comes up) over 80
     * years. */
    for (ms = 0; ms < 80LL * 366 * 86400000; ms += 7919000LL + 123) {
        time_t t = (time_t)(ms / 1000) + 8 * 3600;
        zq_date d = zq_date_from_ms(ms);

        assert_non_null(gmtime_r(&t, &tm));
        assert_int_equal(strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S+08:00", &tm), 25);
        zq_time_iso(ms, out);
        assert_string_equal(out, want);
        assert_int_equal(d.y, tm.tm_year + 1900);
        assert_int_equal(d.m, tm.tm_mon + 1);
        assert_int_equal(d.d, tm.tm_mday);
        /* The day's Beijing midnight and the clock time on it. */
        assert_int_equal(zq_date_to_ms(d, tm.tm_hour, tm.tm_min) + tm.tm_sec * 1000LL,
                         ms - ms % 1000);
        assert_true(zq_date_to_ms(d, 0, 0) <= ms && ms < zq_date_to_ms(d, 24, 0));
    }
    /* The day changes at 16:00 UTC. */
    check_date("before 16:00 UTC", zq_date_from_ms(1764172799999LL), (zq_date){2025, 11, 26});
    check_date("at 16:00 UTC", zq_date_from_ms(1764172800000LL), (zq_date){2025, 11, 27});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_parse),
        cmocka_unit_test(test_date_format),
        cmocka_unit_test(test_date_valid),
        cmocka_unit_test(test_date_weekday),
        cmocka_unit_test(test_date_add_days),
        cmocka_unit_test(test_date_cmp),
        cmocka_unit_test(test_date_from_unix),
        cmocka_unit_test(test_date_today),
        cmocka_unit_test(test_2026_every_day),
        cmocka_unit_test(test_2025_every_day),
        cmocka_unit_test(test_listed_days),
        cmocka_unit_test(test_shipped_sources),
        cmocka_unit_test(test_add_workdays),
        cmocka_unit_test(test_add_workdays_agrees_with_between),
        cmocka_unit_test(test_walks_agree_with_each_day),
        cmocka_unit_test(test_workdays_between),
        cmocka_unit_test(test_next_workday),
        cmocka_unit_test(test_27th_2026),
        cmocka_unit_test(test_monthly_edges),
        cmocka_unit_test(test_shift_names),
        cmocka_unit_test(test_missing_year_fallback),
        cmocka_unit_test(test_missing_year_per_calendar),
        cmocka_unit_test(test_missing_year_threads),
        cmocka_unit_test(test_missing_dir),
        cmocka_unit_test(test_empty_dir),
        cmocka_unit_test(test_good_variants),
        cmocka_unit_test(test_trailing_slash),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_not_a_directory),
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_beijing_time),
        cmocka_unit_test(test_quiet_hours),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

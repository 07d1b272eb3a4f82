/* Tests of lib/push/reminders.c: lead times, occurrences on the holiday
 * calendar (month ends, days off, a 27th on a weekend, keep against
 * next_workday, make-up working days, a year without a calendar file),
 * the catch-up grace, rendering with and without the month's class, and
 * the errors of the rules file. Expected instants were computed
 * independently (Python's datetime, UTC+8). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zhuqi/log.h"
#include "zhuqi/reminders.h"

static zq_calendar *g_cal;
static char g_dir[256];

static const char *path_of(const char *rel)
{
    static char buf[4][1024];
    static int next;
    const char *root = getenv("ZQ_TEST_ROOT");
    char *p = buf[next++ % 4];

    snprintf(p, sizeof(buf[0]), "%s/%s", root != NULL ? root : ".", rel);
    return p;
}

static void write_file(const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Loads rules text written to g_dir/rules.json with templates in g_dir. */
static int load_rules(const char *text, zq_reminders **out, zq_err *err)
{
    char path[512];

    write_file("rules.json", text);
    snprintf(path, sizeof(path), "%s/rules.json", g_dir);
    return zq_reminders_load(path, g_dir, out, err);
}

/* A lead at :00 leaves ZQ_REMINDER_SHIFT_MIN minutes later. */
#define SHIFT_MS (ZQ_REMINDER_SHIFT_MIN * 60000LL)

static zq_reminders *rules(int dom, const char *shift)
{
    char text[1024];
    zq_reminders *r = NULL;
    zq_err err = {0};

    snprintf(text, sizeof(text),
             "{\"rules\":[{\"id\":\"tax-day\",\"title\":\"税务助企宣讲日\",\"day_of_month\":%d,"
             "\"shift\":\"%s\",\"audience\":{\"tags\":[\"tax_day\"]},\"template\":\"t.md\","
             "\"leads\":[{\"id\":\"eve\",\"at\":\"-1d 16:00\"},{\"id\":\"day\",\"at\":\"0d "
             "09:00\"}]}]}",
             dom, shift);
    if (load_rules(text, &r, &err) != 0)
        fail_msg("%s", err.msg);
    return r;
}

/* The occurrences in one month's window: [first - 40 d, last + 40 d]. */
static int month(const zq_reminders *r, int y, int m, zq_occurrence *out, int max)
{
    int64_t from = zq_date_to_ms((zq_date){y, m, 1}, 0, 0) - 1;
    int64_t to = zq_date_to_ms((zq_date){y, m, zq_date_days_in_month(y, m)}, 23, 59);

    return zq_reminder_occurrences(r, g_cal, from, to, out, max);
}

static const zq_occurrence *find(const zq_occurrence *o, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (strcmp(o[i].id, id) == 0)
            return &o[i];
    fail_msg("occurrence %s not found", id);
    return NULL;
}

static void test_lead_parse(void **state)
{
    int d, h, m;

    (void)state;
    assert_int_equal(zq_lead_parse("-1d 16:00", &d, &h, &m), 0);
    assert_int_equal(d, -1);
    assert_int_equal(h, 16);
    assert_int_equal(m, 0);
    assert_int_equal(zq_lead_parse("0d 09:05", &d, &h, &m), 0);
    assert_int_equal(d * 100 + h * 10 + m, 0 + 90 + 5);
    assert_int_equal(zq_lead_parse("-27d 00:00", &d, &h, &m), 0);
    assert_int_equal(zq_lead_parse("-28d 00:00", &d, &h, &m), -ZQ_EINVAL);
    assert_int_equal(zq_lead_parse("0d 24:00", &d, &h, &m), -ZQ_EINVAL);
    assert_int_equal(zq_lead_parse("0d 9:00", &d, &h, &m), -ZQ_EINVAL);
    assert_int_equal(zq_lead_parse("-1d16:00", &d, &h, &m), -ZQ_EINVAL);
    assert_int_equal(zq_lead_parse("d 16:00", &d, &h, &m), -ZQ_EINVAL);
    assert_int_equal(zq_lead_parse("", &d, &h, &m), -ZQ_EINVAL);
    assert_int_equal(zq_lead_parse(NULL, &d, &h, &m), -ZQ_EINVAL);
}

static void test_beijing_ms(void **state)
{
    (void)state;
    assert_int_equal(zq_date_to_ms((zq_date){2026, 12, 26}, 16, 0), 1798272000000LL);
    assert_int_equal(zq_date_to_ms((zq_date){2026, 2, 27}, 16, 0), 1772179200000LL);
}

/* 2026-12-27 is a Sunday: keep sends on the 26th and 27th, next_workday
 * moves the day to Monday the 28th (and the eve to Sunday). */
static void test_weekend_27th(void **state)
{
    zq_reminders *keep = rules(27, "keep"), *next = rules(27, "next_workday");
    zq_occurrence o[16];
    const zq_occurrence *x;
    int n;

    (void)state;
    n = month(keep, 2026, 12, o, 16);
    x = find(o, n, "tax-day:2026-12:eve");
    assert_int_equal(x->fire_ms, (1798272000000LL + SHIFT_MS)); /* 2026-12-26 16:00, left at :07 */
    assert_int_equal(zq_date_cmp(x->event, (zq_date){2026, 12, 27}), 0);
    x = find(o, n, "tax-day:2026-12:day");
    assert_int_equal(x->fire_ms, (1798333200000LL + SHIFT_MS)); /* 2026-12-27 09:00, left at :07 */
    n = month(next, 2026, 12, o, 16);
    x = find(o, n, "tax-day:2026-12:eve");
    assert_int_equal(x->fire_ms, (1798358400000LL + SHIFT_MS)); /* 2026-12-27 16:00, left at :07 */
    assert_int_equal(zq_date_cmp(x->event, (zq_date){2026, 12, 28}), 0);
    zq_reminders_free(keep);
    zq_reminders_free(next);
}

/* 2026-09-27 is in the National Day / Mid-Autumn days off (9/25-27). */
static void test_day_off(void **state)
{
    zq_reminders *next = rules(27, "next_workday"), *keep = rules(27, "keep");
    zq_occurrence o[16];
    const zq_occurrence *x;
    int n;

    (void)state;
    n = month(next, 2026, 9, o, 16);
    x = find(o, n, "tax-day:2026-09:day");
    assert_int_equal(zq_date_cmp(x->event, (zq_date){2026, 9, 28}), 0);
    assert_int_equal(x->fire_ms, (1790557200000LL + SHIFT_MS)); /* 2026-09-28 09:00, left at :07 */
    n = month(keep, 2026, 9, o, 16);
    x = find(o, n, "tax-day:2026-09:eve");
    assert_int_equal(x->fire_ms,
                     (1790496000000LL - 86400000LL + SHIFT_MS)); /* 2026-09-26 16:00, left at :07 */
    zq_reminders_free(next);
    zq_reminders_free(keep);
}

/* Day 31 is clamped to the month's end; 2026-02-28 is a Saturday made a
 * working day (调休), so next_workday keeps it; 2026-04-30 is a
 * Thursday. */
static void test_month_ends(void **state)
{
    zq_reminders *r = rules(31, "next_workday");
    zq_occurrence o[16];
    const zq_occurrence *x;
    int n;

    (void)state;
    n = month(r, 2026, 2, o, 16);
    x = find(o, n, "tax-day:2026-02:day");
    assert_int_equal(zq_date_cmp(x->event, (zq_date){2026, 2, 28}), 0);
    n = month(r, 2026, 4, o, 16);
    x = find(o, n, "tax-day:2026-04:day");
    assert_int_equal(zq_date_cmp(x->event, (zq_date){2026, 4, 30}), 0);
    zq_reminders_free(r);
}

/* The 1st of October is a day off until the 7th: the day moves to the
 * 8th and its eve to the 7th, while a 1st that is kept has its eve in the
 * previous month (and still belongs to October). */
static void test_shift_across_month(void **state)
{
    zq_reminders *next = rules(1, "next_workday"), *keep = rules(1, "keep");
    zq_occurrence o[16];
    const zq_occurrence *x;
    int n;

    (void)state;
    n = month(next, 2026, 10, o, 16);
    x = find(o, n, "tax-day:2026-10:day");
    assert_int_equal(x->fire_ms, (1791421200000LL + SHIFT_MS)); /* 2026-10-08 09:00, left at :07 */
    n = month(keep, 2026, 9, o, 16);
    x = find(o, n, "tax-day:2026-10:eve");
    assert_int_equal(x->fire_ms, (1790755200000LL + SHIFT_MS)); /* 2026-09-30 16:00, left at :07 */
    assert_int_equal(x->month, 10);
    zq_reminders_free(next);
    zq_reminders_free(keep);
}

/* No calendar file for 2027: Monday-Friday. 2027-03-27 is a Saturday. */
static void test_year_without_calendar(void **state)
{
    zq_reminders *r = rules(27, "next_workday");
    zq_occurrence o[16];
    const zq_occurrence *x;
    int n;

    (void)state;
    n = month(r, 2027, 3, o, 16);
    x = find(o, n, "tax-day:2027-03:day");
    assert_int_equal(zq_date_cmp(x->event, (zq_date){2027, 3, 29}), 0);
    x = find(o, n, "tax-day:2027-03:eve");
    assert_int_equal(x->fire_ms, (1806220800000LL + SHIFT_MS)); /* 2027-03-28 16:00, left at :07 */
    zq_reminders_free(r);
}

/* (from, to] is exclusive at the start, inclusive at the end, in time
 * order; max bounds the output. */
static void test_window(void **state)
{
    zq_reminders *r = rules(27, "keep");
    zq_occurrence o[64];
    int64_t eve = 1798272000000LL + SHIFT_MS;
    int n;

    (void)state;
    n = zq_reminder_occurrences(r, g_cal, eve - 1, eve, o, 64);
    assert_int_equal(n, 1);
    assert_string_equal(o[0].id, "tax-day:2026-12:eve");
    assert_int_equal(zq_reminder_occurrences(r, g_cal, eve, eve + 1000, o, 64), 0);
    n = zq_reminder_occurrences(r, g_cal, zq_date_to_ms((zq_date){2026, 1, 1}, 0, 0),
                                zq_date_to_ms((zq_date){2026, 12, 31}, 0, 0), o, 64);
    assert_int_equal(n, 24);
    for (int i = 1; i < n; i++)
        assert_true(o[i - 1].fire_ms <= o[i].fire_ms);
    assert_int_equal(zq_reminder_occurrences(r, g_cal, zq_date_to_ms((zq_date){2026, 1, 1}, 0, 0),
                                             zq_date_to_ms((zq_date){2026, 12, 31}, 0, 0), o, 5),
                     5);
    zq_reminders_free(r);
}

/* No reminder leaves at :00 or :30 Beijing time: those minutes move by the
 * configured shift (1..29; else the default), every other stays. */
static void test_off_peak(void **state)
{
    zq_reminders *r = NULL;
    zq_occurrence o[64];
    zq_err err = {0};
    int n;

    (void)state;
    assert_int_equal(zq_reminder_off_peak(16 * 60, 0), 16 * 60 + ZQ_REMINDER_SHIFT_MIN);
    assert_int_equal(zq_reminder_off_peak(9 * 60 + 30, 3), 9 * 60 + 33);
    assert_int_equal(zq_reminder_off_peak(0, 29), 29);
    assert_int_equal(zq_reminder_off_peak(23 * 60 + 30, 29), 23 * 60 + 59);
    assert_int_equal(zq_reminder_off_peak(9 * 60 + 31, 3), 9 * 60 + 31);
    assert_int_equal(zq_reminder_off_peak(8 * 60 + 59, 3), 8 * 60 + 59);
    assert_int_equal(zq_reminder_off_peak(12 * 60, 30), 12 * 60 + ZQ_REMINDER_SHIFT_MIN);
    for (int m = 0; m < 24 * 60; m++)
        for (int s = 0; s <= 30; s++) {
            int at = zq_reminder_off_peak(m, s);
            assert_true(at % 30 != 0 && at >= m && at < 24 * 60);
        }

    /* Through the rules: 16:00 and 09:30 move, 14:17 stays. */
    if (load_rules("{\"rules\":[{\"id\":\"tax-day\",\"title\":\"t\",\"day_of_month\":27,"
                   "\"shift\":\"keep\",\"audience\":{\"tags\":[\"t\"]},\"template\":\"t.md\","
                   "\"leads\":[{\"id\":\"eve\",\"at\":\"-1d 16:00\"},"
                   "{\"id\":\"day\",\"at\":\"0d 09:30\"},{\"id\":\"odd\",\"at\":\"0d 14:17\"}]}]}",
                   &r, &err) != 0)
        fail_msg("%s", err.msg);
    r->shift_min = 3;
    n = month(r, 2026, 12, o, 64);
    assert_int_equal(find(o, n, "tax-day:2026-12:eve")->fire_ms,
                     zq_date_to_ms((zq_date){2026, 12, 26}, 16, 3));
    assert_int_equal(find(o, n, "tax-day:2026-12:day")->fire_ms,
                     zq_date_to_ms((zq_date){2026, 12, 27}, 9, 33));
    assert_int_equal(find(o, n, "tax-day:2026-12:odd")->fire_ms,
                     zq_date_to_ms((zq_date){2026, 12, 27}, 14, 17));
    for (int i = 0; i < n; i++)
        assert_int_not_equal((o[i].fire_ms / 60000) % 30, 0);
    zq_reminders_free(r);
}

static void test_catch_up_grace(void **state)
{
    zq_occurrence o;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.fire_ms = 1798272000000LL;
    assert_int_equal(zq_occurrence_state(&o, o.fire_ms - 1, 3600), ZQ_OCC_FUTURE);
    assert_int_equal(zq_occurrence_state(&o, o.fire_ms, 3600), ZQ_OCC_DUE);
    assert_int_equal(zq_occurrence_state(&o, o.fire_ms + 3600 * 1000, 3600), ZQ_OCC_DUE);
    assert_int_equal(zq_occurrence_state(&o, o.fire_ms + 3600 * 1000 + 1, 3600), ZQ_OCC_TOO_LATE);
    assert_int_equal(zq_occurrence_state(&o, o.fire_ms + 1, 0), ZQ_OCC_TOO_LATE);
}

static void test_render(void **state)
{
    zq_reminders *r = rules(27, "keep");
    zq_occurrence o[16];
    const zq_occurrence *x;
    zq_buf title = {0}, body = {0};
    zq_class c;
    int n;

    (void)state;
    n = month(r, 2026, 12, o, 16);
    x = find(o, n, "tax-day:2026-12:eve");
    assert_int_equal(zq_reminder_render(x, NULL, &title, &body), 0);
    assert_string_equal(title.data, "税务助企宣讲日 明天 12月27日 星期日");
    assert_string_equal(body.data, "本月课程暂未排期。");
    zq_buf_reset(&title);
    zq_buf_reset(&body);
    memset(&c, 0, sizeof(c));
    snprintf(c.date, sizeof(c.date), "2026-12-27");
    snprintf(c.time, sizeof(c.time), "14:30");
    snprintf(c.title, sizeof(c.title), "小规模纳税人增值税");
    snprintf(c.live_url, sizeof(c.live_url), "https://live.example/1");
    assert_int_equal(zq_reminder_render(x, &c, &title, &body), 0);
    assert_string_equal(body.data,
                        "课程：小规模纳税人增值税 12月27日 14:30 https://live.example/1");
    zq_buf_free(&title);
    zq_buf_free(&body);
    zq_reminders_free(r);
}

static void expect_load_error(const char *text, const char *part)
{
    zq_reminders *r = NULL;
    zq_err err = {0};

    assert_true(load_rules(text, &r, &err) < 0);
    assert_null(r);
    if (strstr(err.msg, part) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", err.msg, part);
}

static void test_load_errors(void **state)
{
    (void)state;
    expect_load_error("{\"rules\": [", "rules.json:1:");
    expect_load_error("{\"rules\": [], \"x\": 1}", "\"rules\" only");
    expect_load_error("{\"rules\":[{\"id\":\"a\",\"title\":\"t\",\"day_of_month\":27,"
                      "\"audience\":{\"tags\":[\"x\"]},\"template\":\"t.md\",\"leads\":"
                      "[{\"id\":\"e\",\"at\":\"-1d 25:00\"}]}]}",
                      "rules[0].leads[0].at");
    expect_load_error("{\"rules\":[{\"id\":\"a\",\"title\":\"t\",\"day_of_month\":32,"
                      "\"audience\":{\"tags\":[\"x\"]},\"template\":\"t.md\",\"leads\":"
                      "[{\"id\":\"e\",\"at\":\"-1d 16:00\"}]}]}",
                      "rules[0].day_of_month");
    expect_load_error("{\"rules\":[{\"id\":\"a\",\"title\":\"t\",\"day_of_month\":27,"
                      "\"shift\":\"later\",\"audience\":{\"tags\":[\"x\"]},\"template\":\"t.md\","
                      "\"leads\":[{\"id\":\"e\",\"at\":\"-1d 16:00\"}]}]}",
                      "rules[0].shift");
    expect_load_error("{\"rules\":[{\"id\":\"a\",\"title\":\"t\",\"day_of_month\":27,"
                      "\"audience\":{},\"template\":\"t.md\","
                      "\"leads\":[{\"id\":\"e\",\"at\":\"-1d 16:00\"}]}]}",
                      "rules[0].audience");
    expect_load_error("{\"rules\":[{\"id\":\"a\",\"title\":\"t\",\"day_of_month\":27,"
                      "\"audience\":{\"tags\":[\"x\"]},\"template\":\"missing.md\","
                      "\"leads\":[{\"id\":\"e\",\"at\":\"-1d 16:00\"}]}]}",
                      "missing.md: cannot open");
    expect_load_error("{\"rules\":[{\"id\":\"a\",\"title\":\"t\",\"day_of_month\":27,"
                      "\"audience\":{\"tags\":[\"x\"]},\"template\":\"bad.md\","
                      "\"leads\":[{\"id\":\"e\",\"at\":\"-1d 16:00\"}]}]}",
                      "bad.md:3: unknown placeholder {{class.titel}}");
    expect_load_error("{\"rules\":[{\"id\":\"a\",\"title\":\"t\",\"day_of_month\":27,"
                      "\"audience\":{\"tags\":[\"x\"]},\"template\":\"../t.md\","
                      "\"leads\":[{\"id\":\"e\",\"at\":\"-1d 16:00\"}]}]}",
                      "rules[0].template");
    expect_load_error("{\"rules\":[{\"id\":\"a\",\"title\":\"t\",\"day_of_month\":27,"
                      "\"audience\":{\"tags\":[\"x\"]},\"template\":\"t.md\",\"leads\":"
                      "[{\"id\":\"e\",\"at\":\"-1d 16:00\"},{\"id\":\"e\",\"at\":\"0d "
                      "09:00\"}]}]}",
                      "rules[0].leads[1].id: duplicate");
    expect_load_error("{\"rules\":[{\"id\":\"a\",\"title\":\"t\",\"day_of_month\":27,"
                      "\"audience\":{\"tags\":[\"x\"]},\"template\":\"t.md\",\"leads\":"
                      "[{\"id\":\"e\",\"at\":\"-1d 16:00\"}]},"
                      "{\"id\":\"a\",\"title\":\"t\",\"day_of_month\":27,"
                      "\"audience\":{\"tags\":[\"x\"]},\"template\":\"t.md\",\"leads\":"
                      "[{\"id\":\"e\",\"at\":\"-1d 16:00\"}]}]}",
                      "rules[1].id: duplicate");
    expect_load_error("{\"rules\":[{\"id\":\"a\",\"title\":\"t\",\"day_of_month\":27,"
                      "\"audience\":{\"tags\":[\"x\"]},\"leads\":"
                      "[{\"id\":\"e\",\"at\":\"-1d 16:00\"}]}]}",
                      "no template");
}

static void test_shipped(void **state)
{
    zq_reminders *r = NULL;
    zq_err err = {0};

    (void)state;
    if (zq_reminders_load(path_of("config/reminders.json"), path_of("config/templates"), &r,
                          &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(r->n, 1);
    assert_string_equal(r->rules[0].id, "tax-day");
    assert_int_equal(r->rules[0].day_of_month, 27);
    assert_int_equal(r->rules[0].nleads, 2);
    zq_reminders_free(r);
}

static void test_class_json(void **state)
{
    json_t *in =
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "date", "2026-12-27", "time", "14:30", "title",
                  "增值税", "speaker", "王老师", "live_url", "https://live.example/x");
    const char *field, *msg;
    zq_class c;

    (void)state;
    assert_int_equal(zq_class_from_json(in, &c, &field, &msg), 0);
    assert_int_equal(c.start_ms, zq_date_to_ms((zq_date){2026, 12, 27}, 14, 30));
    json_object_set_new(in, "time", json_string("25:00"));
    assert_int_equal(zq_class_from_json(in, &c, &field, &msg), -ZQ_EINVAL);
    assert_string_equal(field, "time");
    json_object_set_new(in, "time", json_string("14:30"));
    json_object_set_new(in, "live_url", json_string("javascript:alert(1)"));
    assert_int_equal(zq_class_from_json(in, &c, &field, &msg), -ZQ_EINVAL);
    assert_string_equal(field, "live_url");
    json_object_set_new(in, "live_url", json_string(""));
    json_object_set_new(in, "date", json_string("2026-02-30"));
    assert_int_equal(zq_class_from_json(in, &c, &field, &msg), -ZQ_EINVAL);
    assert_string_equal(field, "date");
    json_object_set_new(in, "date", json_string("2026-02-27"));
    json_object_set_new(in, "extra", json_true());
    assert_int_equal(zq_class_from_json(in, &c, &field, &msg), -ZQ_EINVAL);
    json_decref(in);
}

static int group_setup(void **state)
{
    zq_err err = {0};
    const char *base = getenv("TMPDIR");

    (void)state;
    zq_log_init("test_reminders", ZQ_LOG_ERROR);
    snprintf(g_dir, sizeof(g_dir), "%s/zqt-rem-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    write_file("t.md", "# {{rule.title}} {{when}} {{date}} {{weekday}}\n"
                       "{{#class}}\n课程：{{class.title}} {{class.date}} {{class.time}} "
                       "{{class.link}}\n{{/class}}\n{{^class}}\n本月课程暂未排期。\n{{/class}}\n");
    write_file("bad.md", "# t\n\n{{class.titel}}\n");
    if (zq_cal_load(path_of("config/holidays"), &g_cal, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[600];

    (void)state;
    zq_cal_free(g_cal);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        return -1;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lead_parse),
        cmocka_unit_test(test_beijing_ms),
        cmocka_unit_test(test_weekend_27th),
        cmocka_unit_test(test_day_off),
        cmocka_unit_test(test_month_ends),
        cmocka_unit_test(test_shift_across_month),
        cmocka_unit_test(test_year_without_calendar),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_catch_up_grace),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_off_peak),
        cmocka_unit_test(test_shipped),
        cmocka_unit_test(test_class_json),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

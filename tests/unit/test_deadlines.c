/* Tests of the legal time limits (lib/intake/workflow.c) on the shipped holiday
 * calendars: the review, transfer and answer clocks across the 2026
 * holidays and make-up working days, a year boundary, a year without a
 * file, the pause while material is awaited, extensions, days left and
 * overdue, the untouched-case cutoff, and the public view's deadline.
 * Expected dates were worked out by hand from the State Council notices
 * (and checked with a separate script), not with the code under test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zhuqi/calendar.h"
#include "zhuqi/cases.h"
#include "zhuqi/log.h"
#include "zhuqi/workflow.h"

static zq_calendar *g_cal;
static const zq_wf_limits LIM = {10, 10, 30, 90};

static const char *path_of(const char *rel)
{
    static char buf[1024];
    const char *root = getenv("ZQ_TEST_ROOT");

    snprintf(buf, sizeof(buf), "%s/%s", root != NULL ? root : ".", rel);
    return buf;
}

static int setup(void **state)
{
    zq_err err = {0};

    (void)state;
    zq_log_init("test_deadlines", ZQ_LOG_ERROR);
    if (zq_cal_load(path_of("config/holidays"), &g_cal, &err) != 0) {
        fprintf(stderr, "calendar: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zq_cal_free(g_cal);
    return 0;
}

/* 10:00 Beijing time on a day, in ms. */
static int64_t at(int y, int m, int d)
{
    struct tm tm = {0};

    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = 2;
    return (int64_t)timegm(&tm) * 1000;
}

static zq_date D(int y, int m, int d)
{
    return (zq_date){y, m, d};
}

static void assert_date(zq_date got, int y, int m, int d)
{
    char g[ZQ_DATE_STRLEN], w[ZQ_DATE_STRLEN];

    zq_date_format(got, g, sizeof(g));
    zq_date_format(D(y, m, d), w, sizeof(w));
    assert_string_equal(g, w);
}

/* A history entry: a status change, or an extension. */
static json_t *move(int64_t ms, const char *from, const char *to)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s}", "at_ms", (json_int_t)ms, "from", from, "to", to,
                     "by", "t", "note", "");
}

static json_t *extension(int64_t ms, const char *status, int days)
{
    return json_pack("{s:s, s:I, s:s, s:s, s:i}", "kind", "extension", "at_ms", (json_int_t)ms,
                     "from", status, "to", status, "days", days);
}

/* Review: 10 working days from submission on Thu 2026-09-24, across the
 * Mid-Autumn (9/25-27) and National Day (10/1-7) holidays with the
 * make-up Saturday 10/10: 9/28, 9/29, 9/30, 10/8, 10/9, 10/10, 10/12,
 * 10/13, 10/14, 10/15. */
static void test_review_national_day(void **state)
{
    json_t *h = json_array();
    zq_deadline d;

    (void)state;
    json_array_append_new(h, move(at(2026, 9, 24), "", "submitted"));
    zq_wf_deadline(g_cal, &LIM, "complaint", "submitted", h, at(2026, 9, 24), &d);
    assert_int_equal(d.clock, ZQ_WF_CLOCK_REVIEW);
    assert_true(d.workdays);
    assert_int_equal(d.limit, 10);
    assert_date(d.start, 2026, 9, 24);
    assert_date(d.due, 2026, 10, 15);
    assert_false(d.fallback);
    /* The same without a history: from the creation time. */
    zq_wf_deadline(g_cal, &LIM, "complaint", "submitted", NULL, at(2026, 9, 24), &d);
    assert_date(d.due, 2026, 10, 15);
    assert_date(zq_wf_review_due(g_cal, &LIM, D(2026, 9, 24)), 2026, 10, 15);
    json_decref(h);
}

/* Transfer: accepted Thu 2026-02-12; the Spring Festival (2/15-23) with
 * the make-up Saturdays 2/14 and 2/28: 2/13, 2/14, 2/24, 2/25, 2/26,
 * 2/27, 2/28, 3/2, 3/3, 3/4. */
static void test_transfer_spring_festival(void **state)
{
    json_t *h = json_array();
    zq_deadline d;

    (void)state;
    json_array_append_new(h, move(at(2026, 2, 10), "", "submitted"));
    json_array_append_new(h, move(at(2026, 2, 12), "submitted", "accepted"));
    zq_wf_deadline(g_cal, &LIM, "complaint", "accepted", h, at(2026, 2, 10), &d);
    assert_int_equal(d.clock, ZQ_WF_CLOCK_TRANSFER);
    assert_date(d.start, 2026, 2, 12);
    assert_date(d.due, 2026, 3, 4);
    json_decref(h);
}

/* Answer: 30 days from transfer on 2026-09-01 is 10/1, a holiday: the
 * period ends on the next working day, 10/8. From 2026-01-20, 30 days
 * is 2/19 (Spring Festival): 2/24. */
static void test_answer_days(void **state)
{
    json_t *h = json_array();
    zq_deadline d;

    (void)state;
    json_array_append_new(h, move(at(2026, 8, 20), "", "submitted"));
    json_array_append_new(h, move(at(2026, 8, 25), "submitted", "accepted"));
    json_array_append_new(h, move(at(2026, 9, 1), "accepted", "transferred"));
    zq_wf_deadline(g_cal, &LIM, "complaint", "transferred", h, at(2026, 8, 20), &d);
    assert_int_equal(d.clock, ZQ_WF_CLOCK_ANSWER);
    assert_false(d.workdays);
    assert_int_equal(d.limit, 30);
    assert_false(d.extended);
    assert_date(d.due, 2026, 10, 8);
    /* In progress: the same clock goes on. */
    json_array_append_new(h, move(at(2026, 9, 3), "transferred", "in_progress"));
    zq_wf_deadline(g_cal, &LIM, "complaint", "in_progress", h, at(2026, 8, 20), &d);
    assert_date(d.due, 2026, 10, 8);
    json_decref(h);

    h = json_array();
    json_array_append_new(h, move(at(2026, 1, 20), "accepted", "transferred"));
    zq_wf_deadline(g_cal, &LIM, "complaint", "transferred", h, at(2026, 1, 5), &d);
    assert_date(d.due, 2026, 2, 24);
    json_decref(h);
}

/* Extensions: 60 days from 9/1 is Sat 10/31 -> Mon 11/2; more than the
 * maximum is cut to 90 (11/30); an extension before the transfer does
 * not count; a later transfer starts afresh. */
static void test_extension(void **state)
{
    json_t *h = json_array();
    zq_deadline d;

    (void)state;
    json_array_append_new(h, extension(at(2026, 8, 30), "accepted", 80));
    json_array_append_new(h, move(at(2026, 9, 1), "accepted", "transferred"));
    zq_wf_deadline(g_cal, &LIM, "complaint", "transferred", h, at(2026, 8, 20), &d);
    assert_false(d.extended);
    assert_date(d.due, 2026, 10, 8);

    json_array_append_new(h, extension(at(2026, 9, 20), "transferred", 60));
    zq_wf_deadline(g_cal, &LIM, "complaint", "transferred", h, at(2026, 8, 20), &d);
    assert_true(d.extended);
    assert_int_equal(d.limit, 60);
    assert_date(d.due, 2026, 11, 2);

    json_array_append_new(h, extension(at(2026, 9, 21), "transferred", 400));
    zq_wf_deadline(g_cal, &LIM, "complaint", "transferred", h, at(2026, 8, 20), &d);
    assert_int_equal(d.limit, 90);
    assert_date(d.due, 2026, 11, 30);
    json_decref(h);
}

/* Year boundary: accepted 2025-12-24; 12/25, 26, 29, 30, 31, then New
 * Year (1/1-3) and the make-up Sunday 1/4, 1/5, 1/6, 1/7, 1/8. */
static void test_year_boundary(void **state)
{
    json_t *h = json_array();
    zq_deadline d;

    (void)state;
    json_array_append_new(h, move(at(2025, 12, 24), "submitted", "accepted"));
    zq_wf_deadline(g_cal, &LIM, "complaint", "accepted", h, at(2025, 12, 20), &d);
    assert_date(d.due, 2026, 1, 8);
    assert_false(d.fallback);
    json_decref(h);
}

/* 2027 has no file: Monday to Friday, and the deadline says so. Thu
 * 2027-09-30 + 10 working days = Thu 10/14 (no National Day known). */
static void test_missing_year(void **state)
{
    json_t *h = json_array();
    zq_deadline d;
    json_t *j;

    (void)state;
    json_array_append_new(h, move(at(2027, 9, 30), "submitted", "accepted"));
    zq_wf_deadline(g_cal, &LIM, "complaint", "accepted", h, at(2027, 9, 1), &d);
    assert_date(d.due, 2027, 10, 14);
    assert_true(d.fallback);
    j = zq_wf_deadline_json(g_cal, &d, "accepted", D(2027, 10, 1));
    assert_true(json_is_true(json_object_get(j, "fallback_calendar")));
    json_decref(j);
    /* Crossing into the missing year from a known one is flagged too. */
    json_decref(h);
    h = json_array();
    json_array_append_new(h, move(at(2026, 12, 28), "submitted", "accepted"));
    zq_wf_deadline(g_cal, &LIM, "complaint", "accepted", h, at(2026, 12, 1), &d);
    assert_true(d.fallback);
    json_decref(h);
    /* The answer limit counts calendar days: no warning there, even
     * across the missing year (issue 16 item 16). */
    h = json_array();
    json_array_append_new(h, move(at(2026, 12, 20), "accepted", "transferred"));
    zq_wf_deadline(g_cal, &LIM, "complaint", "transferred", h, at(2026, 12, 1), &d);
    assert_int_equal(d.clock, ZQ_WF_CLOCK_ANSWER);
    assert_false(d.workdays);
    assert_false(d.fallback);
    j = zq_wf_deadline_json(g_cal, &d, "transferred", D(2026, 12, 21));
    assert_true(json_is_false(json_object_get(j, "fallback_calendar")));
    json_decref(j);
    json_decref(h);
}

/* With supplement_clock = restart the review period starts again from
 * the day the material came back (9/10 + 10 working days, with the
 * make-up Sunday 9/20, is 9/23). */
static void test_needs_info_restart(void **state)
{
    zq_wf_limits lim = LIM;
    json_t *h = json_array();
    zq_deadline d;

    (void)state;
    lim.supplement_workdays = 7;
    lim.review_restart = true;
    json_array_append_new(h, move(at(2026, 9, 1), "", "submitted"));
    json_array_append_new(h, move(at(2026, 9, 3), "submitted", "needs_info"));
    json_array_append_new(h, move(at(2026, 9, 10), "needs_info", "submitted"));
    zq_wf_deadline(g_cal, &lim, "complaint", "submitted", h, at(2026, 9, 1), &d);
    assert_date(d.start, 2026, 9, 10);
    assert_date(d.due, 2026, 9, 23);
    assert_int_equal(d.paused, 0);
    json_decref(h);
}

/* By default (pause) the working days waited do not count: submitted
 * 9/1, material asked 9/3 (two days used), back 9/10 after five working
 * days (9/4, 9/7-9/10): the review deadline 9/15 moves by five working
 * days, over the make-up Sunday 9/20, to 9/21. While it waits the
 * enterprise's own date runs: supplement_workdays (7) after the request,
 * 9/14, or the date staff gave. */
static void test_needs_info_pause(void **state)
{
    zq_wf_limits lim = LIM;
    json_t *h = json_array(), *j;
    zq_deadline d;

    (void)state;
    lim.supplement_workdays = 7;
    json_array_append_new(h, move(at(2026, 9, 1), "", "submitted"));
    json_array_append_new(h, move(at(2026, 9, 3), "submitted", "needs_info"));
    zq_wf_deadline(g_cal, &lim, "complaint", "needs_info", h, at(2026, 9, 1), &d);
    assert_int_equal(d.clock, ZQ_WF_CLOCK_SUPPLY);
    assert_true(d.workdays);
    assert_date(d.start, 2026, 9, 3);
    assert_date(d.due, 2026, 9, 14);
    assert_int_equal(d.limit, 7);
    j = zq_wf_deadline_json(g_cal, &d, "needs_info", D(2026, 9, 15));
    assert_string_equal(json_string_value(json_object_get(j, "what")), "补充材料期限");
    assert_true(json_is_true(json_object_get(j, "overdue")));
    json_decref(j);
    json_object_set_new(json_array_get(h, 1), "supply_by", json_string("2026-09-30"));
    zq_wf_deadline(g_cal, &lim, "complaint", "needs_info", h, at(2026, 9, 1), &d);
    assert_date(d.due, 2026, 9, 30);
    assert_int_equal(zq_wf_waited(g_cal, at(2026, 9, 3), at(2026, 9, 10)), 5);
    assert_int_equal(zq_wf_waited(g_cal, at(2026, 9, 3), at(2026, 9, 3)), 0);
    assert_true(zq_wf_last_request(h, NULL) == at(2026, 9, 3));
    json_array_append_new(h, move(at(2026, 9, 10), "needs_info", "submitted"));
    zq_wf_deadline(g_cal, &lim, "complaint", "submitted", h, at(2026, 9, 1), &d);
    assert_int_equal(d.clock, ZQ_WF_CLOCK_REVIEW);
    assert_date(d.start, 2026, 9, 1);
    assert_int_equal(d.paused, 5);
    assert_date(d.due, 2026, 9, 21);
    j = zq_wf_deadline_json(g_cal, &d, "submitted", D(2026, 9, 10));
    assert_int_equal(json_integer_value(json_object_get(j, "paused_workdays")), 5);
    json_decref(j);
    /* A second round adds its days (9/14 -> 9/16: two); an undone
     * rejection starts the period again, as before. */
    json_array_append_new(h, move(at(2026, 9, 14), "submitted", "needs_info"));
    json_array_append_new(h, move(at(2026, 9, 16), "needs_info", "submitted"));
    zq_wf_deadline(g_cal, &lim, "complaint", "submitted", h, at(2026, 9, 1), &d);
    assert_int_equal(d.paused, 7);
    assert_date(d.due, 2026, 9, 23);
    json_array_append_new(h, move(at(2026, 9, 17), "submitted", "rejected"));
    json_array_append_new(h, move(at(2026, 9, 18), "rejected", "submitted"));
    zq_wf_deadline(g_cal, &lim, "complaint", "submitted", h, at(2026, 9, 1), &d);
    assert_int_equal(d.paused, 0);
    assert_date(d.start, 2026, 9, 18);
    json_decref(h);
}

static void test_no_clock(void **state)
{
    static const char *const none[] = {"answered", "closed", "rejected", "withdrawn", "bogus"};
    zq_deadline d;
    json_t *j;

    (void)state;
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        zq_wf_deadline(g_cal, &LIM, "complaint", none[i], NULL, at(2026, 9, 1), &d);
        assert_int_equal(d.clock, ZQ_WF_CLOCK_NONE);
    }
    zq_wf_deadline(g_cal, &LIM, "consult", "submitted", NULL, at(2026, 9, 1), &d);
    assert_int_equal(d.clock, ZQ_WF_CLOCK_NONE);
    zq_wf_deadline(g_cal, &LIM, "unknown", "submitted", NULL, at(2026, 9, 1), &d);
    assert_int_equal(d.clock, ZQ_WF_CLOCK_NONE);
    j = zq_wf_deadline_json(g_cal, &d, "closed", D(2026, 9, 1));
    assert_true(json_is_null(j));
    json_decref(j);
}

/* Days left in working days (9/30 -> 10/15: 10/8, 9, 10, 12, 13, 14, 15)
 * and the day after the due date is overdue by one. */
static void test_days_left(void **state)
{
    zq_deadline d;
    json_t *j;

    (void)state;
    zq_wf_deadline(g_cal, &LIM, "complaint", "submitted", NULL, at(2026, 9, 24), &d);
    assert_int_equal(zq_wf_days_left(g_cal, &d, D(2026, 9, 30)), 7);
    assert_int_equal(zq_wf_days_left(g_cal, &d, D(2026, 10, 15)), 0);
    assert_int_equal(zq_wf_days_left(g_cal, &d, D(2026, 10, 16)), -1);
    /* Over a weekend: 10/19 (Mon) is two working days past 10/15. */
    assert_int_equal(zq_wf_days_left(g_cal, &d, D(2026, 10, 19)), -2);

    j = zq_wf_deadline_json(g_cal, &d, "submitted", D(2026, 10, 15));
    assert_string_equal(json_string_value(json_object_get(j, "due")), "2026-10-15");
    assert_string_equal(json_string_value(json_object_get(j, "clock")), "review");
    assert_string_equal(json_string_value(json_object_get(j, "what")), "受理审查期限");
    assert_string_equal(json_string_value(json_object_get(j, "status_label")), "已提交");
    assert_string_equal(json_string_value(json_object_get(j, "unit")), "workdays");
    assert_int_equal(json_integer_value(json_object_get(j, "days_left")), 0);
    assert_true(json_is_false(json_object_get(j, "overdue")));
    json_decref(j);
    j = zq_wf_deadline_json(g_cal, &d, "submitted", D(2026, 10, 16));
    assert_true(json_is_true(json_object_get(j, "overdue")));
    assert_int_equal(json_integer_value(json_object_get(j, "days_left")), -1);
    json_decref(j);

    /* Calendar days for the answer clock. */
    d.clock = ZQ_WF_CLOCK_ANSWER;
    d.workdays = false;
    d.due = D(2026, 10, 8);
    assert_int_equal(zq_wf_days_left(g_cal, &d, D(2026, 9, 30)), 8);
}

/* The cutoff: the latest creation day whose review is due by the limit. */
static void test_cutoff(void **state)
{
    static const zq_date limits[] = {{2026, 10, 15}, {2026, 10, 16}, {2026, 10, 11},
                                     {2026, 2, 24},  {2026, 1, 4},   {2027, 1, 8}};

    (void)state;
    /* 9/24 is due 10/15; so are 9/25..27, holidays (the count starts on
     * 9/28 either way); 9/28 is due 10/16: the cutoff for 10/15 is 9/27. */
    assert_date(zq_wf_review_cutoff(g_cal, &LIM, D(2026, 10, 15)), 2026, 9, 27);
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        zq_date c = zq_wf_review_cutoff(g_cal, &LIM, limits[i]);
        assert_true(zq_date_valid(c));
        assert_true(zq_date_cmp(zq_wf_review_due(g_cal, &LIM, c), limits[i]) <= 0);
        assert_true(zq_date_cmp(zq_wf_review_due(g_cal, &LIM, zq_date_add_days(c, 1)), limits[i]) >
                    0);
    }
    assert_int_equal(zq_wf_date_score(D(2026, 10, 8)), 20261008);
    assert_int_equal(zq_wf_date_score((zq_date){0, 0, 0}), 0);
}

/* The public view carries the deadline, and leaves internal entries out. */
static void test_public_view(void **state)
{
    zq_case c;
    json_t *j, *dl;

    (void)state;
    memset(&c, 0, sizeof(c));
    snprintf(c.id, sizeof(c.id), "TS20260924-0001");
    snprintf(c.form, sizeof(c.form), "complaint");
    snprintf(c.status, sizeof(c.status), "submitted");
    snprintf(c.mobile, sizeof(c.mobile), "13812345678");
    c.created_ms = at(2026, 9, 24);
    c.answers = json_pack("{s:s}", "contact_name", "张三");
    c.history = json_array();
    json_array_append_new(c.history, move(at(2026, 9, 24), "", "submitted"));
    json_array_append_new(c.history, json_pack("{s:s, s:I, s:s, s:s, s:s}", "kind", "assign",
                                               "at_ms", (json_int_t)at(2026, 9, 25), "from",
                                               "submitted", "to", "submitted", "handler", "h1"));
    j = zq_case_public_json_at(NULL, g_cal, &LIM, &c, D(2026, 9, 30));
    dl = json_object_get(j, "deadline");
    assert_string_equal(json_string_value(json_object_get(dl, "due")), "2026-10-15");
    assert_int_equal(json_integer_value(json_object_get(dl, "days_left")), 7);
    assert_true(json_is_false(json_object_get(dl, "overdue")));
    assert_int_equal(json_array_size(json_object_get(j, "history")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "contact"), "mobile")),
                        "138****5678");
    json_decref(j);
    zq_case_clear(&c);
}

/* Only the message for the enterprise is public: a move's note never is,
 * even on a move marked public; entries from before the message existed
 * keep their public note (issue 16 item 10). */
static void test_public_message_only(void **state)
{
    zq_case c;
    json_t *j, *h;

    (void)state;
    memset(&c, 0, sizeof(c));
    snprintf(c.id, sizeof(c.id), "TS20260924-0002");
    snprintf(c.form, sizeof(c.form), "complaint");
    snprintf(c.status, sizeof(c.status), "accepted");
    c.created_ms = at(2026, 9, 24);
    c.answers = json_object();
    c.history = json_array();
    json_array_append_new(c.history, move(at(2026, 9, 24), "", "submitted"));
    /* Internal: no message. */
    json_array_append_new(c.history,
                          json_pack("{s:I, s:s, s:s, s:s, s:b}", "at_ms",
                                    (json_int_t)at(2026, 9, 25), "from", "submitted", "to",
                                    "needs_info", "note", "内部意见", "public", 0));
    /* A message, and an internal note beside it. */
    json_array_append_new(c.history, json_pack("{s:I, s:s, s:s, s:s, s:s, s:b}", "at_ms",
                                               (json_int_t)at(2026, 9, 26), "from", "needs_info",
                                               "to", "submitted", "note", "电话催过", "message",
                                               "已收到材料", "public", 1));
    /* Written before the message existed: its note was public. */
    json_array_append_new(c.history, json_pack("{s:I, s:s, s:s, s:s, s:b}", "at_ms",
                                               (json_int_t)at(2026, 9, 27), "from", "submitted",
                                               "to", "accepted", "note", "予以受理", "public", 1));
    j = zq_case_public_json(NULL, &c);
    h = json_object_get(j, "history");
    assert_int_equal(json_array_size(h), 4);
    assert_null(json_object_get(json_array_get(h, 1), "note"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 2), "note")),
                        "已收到材料");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 3), "note")),
                        "予以受理");
    {
        char *dump = json_dumps(j, 0);
        assert_null(strstr(dump, "内部意见"));
        assert_null(strstr(dump, "电话催过"));
        free(dump);
    }
    json_decref(j);
    zq_case_clear(&c);
}

/* The view written from stored texts (the lookup's path): every member,
 * an entry that is not JSON left out, tokens (escapes and all) carried
 * over as they are, the supplement's files, the request for material. */
static void test_public_write(void **state)
{
    char e1[512], e2[256], e3[512];
    const char *log[4];
    size_t len[4];
    zq_case_pubsrc c = {0};
    zq_buf b = {0};
    json_t *j, *h, *want;
    int left;

    (void)state;
    snprintf(e1, sizeof(e1),
             "{\"at_ms\":%lld,\"from\":\"\",\"to\":\"submitted\",\"by\":\"web\",\"note\":\"\","
             "\"supplement\":{\"text\":\"\\u5df2\\u8865 \\\"x\\\"\",\"files\":[{\"kind_label\":"
             "\"合同\",\"name\":\"a.pdf\",\"size\":12},{\"name\":\"b.pdf\"}]}}",
             (long long)at(2026, 9, 1));
    snprintf(e2, sizeof(e2),
             "{\"kind\":\"assign\",\"at_ms\":%lld,\"from\":\"submitted\",\"to\":\"submitted\"}",
             (long long)at(2026, 9, 2));
    snprintf(e3, sizeof(e3),
             "{ \"at_ms\" : %lld, \"from\":\"submitted\",\"to\":\"needs_info\",\"note\":\"内部\","
             "\"message\":\"请补充 <合同>\",\"supply_by\":\"2026-09-20\",\"public\":false }",
             (long long)at(2026, 9, 3));
    log[0] = e1;
    log[1] = e2;
    log[2] = "not json";
    log[3] = e3;
    for (int i = 0; i < 4; i++)
        len[i] = strlen(log[i]);
    c.id = "TS20260901-0001";
    c.form = "complaint";
    c.status = "needs_info";
    c.mobile = "13812345678";
    c.rating = "";
    c.created_ms = at(2026, 9, 1);
    c.company_name = "某某公司";
    c.contact_name = "张三";
    c.files = "[{\"kind\":\"contract\",\"name\":\"x.pdf\",\"size\":3}]";
    c.files_len = strlen(c.files);
    c.nlog = 4;
    c.log = log;
    c.log_len = len;
    zq_case_public_write(&b, NULL, g_cal, &LIM, &c, D(2026, 9, 10));
    assert_false(b.oom);
    j = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(j);
    h = json_object_get(j, "history");
    left = zq_cal_workdays_between(g_cal, D(2026, 9, 10), D(2026, 9, 20));
    want = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:{s:s, s:[{s:s, s:s, s:i}, {s:s, "
        "s:s, s:i}]}}, {s:s, s:s, s:s, s:s}], s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:i}], s:b, s:b, "
        "s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:b, s:b, s:b}, s:{s:s, s:s, s:s, s:b}}",
        "id", "TS20260901-0001", "type", "complaint", "type_label", "complaint", "status",
        "needs_info", "status_label", "待补充材料", "created_at", "2026-09-01T10:00:00+08:00",
        "history", "status", "submitted", "label", "已提交", "at", "2026-09-01T10:00:00+08:00",
        "supplement", "text", "已补 \"x\"", "files", "kind", "合同", "name", "a.pdf", "size", 12,
        "kind", "", "name", "b.pdf", "size", 0, "status", "needs_info", "label", "待补充材料", "at",
        "2026-09-03T10:00:00+08:00", "note", "请补充 <合同>", "contact", "company_name", "某某公司",
        "contact_name", "张*", "mobile", "138****5678", "files", "kind", "contract", "name",
        "x.pdf", "size", 3, "can_withdraw", zq_wf_withdrawable("complaint", "needs_info"),
        "can_evaluate", 0, "deadline", "status", "needs_info", "status_label", "待补充材料",
        "clock", "supply", "what", "补充材料期限", "start", "2026-09-03", "due", "2026-09-20",
        "unit", "workdays", "limit", zq_cal_workdays_between(g_cal, D(2026, 9, 3), D(2026, 9, 20)),
        "days_left", left, "overdue", 0, "extended", 0, "fallback_calendar", 0, "supplement",
        "message", "请补充 <合同>", "requested_at", "2026-09-03T10:00:00+08:00", "supply_by",
        "2026-09-20", "overdue", 0);
    assert_non_null(want);
    if (!json_equal(j, want)) {
        char *got = json_dumps(j, JSON_INDENT(1)), *exp = json_dumps(want, JSON_INDENT(1));
        fprintf(stderr, "got %s\nwant %s\n", got, exp);
        free(got);
        free(exp);
    }
    assert_true(json_equal(j, want));
    assert_int_equal(json_array_size(h), 2);
    json_decref(want);
    json_decref(j);
    zq_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_review_national_day),
        cmocka_unit_test(test_transfer_spring_festival),
        cmocka_unit_test(test_answer_days),
        cmocka_unit_test(test_extension),
        cmocka_unit_test(test_year_boundary),
        cmocka_unit_test(test_missing_year),
        cmocka_unit_test(test_needs_info_pause),
        cmocka_unit_test(test_no_clock),
        cmocka_unit_test(test_needs_info_restart),
        cmocka_unit_test(test_days_left),
        cmocka_unit_test(test_cutoff),
        cmocka_unit_test(test_public_message_only),
        cmocka_unit_test(test_public_view),
        cmocka_unit_test(test_public_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

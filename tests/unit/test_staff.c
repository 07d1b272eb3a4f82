/* Tests of lib/staff/ against a private redis-server: the morning digest
 * (overdue and due within two working days, per office, the cross-region
 * desk last, the text for the robot), the cursor scan over ties in
 * creation time, filters, the atomic update with its conflict check, and
 * the filter and cursor parsers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "redis_helper.h"
#include "zhuqi/log.h"
#include "zhuqi/staff.h"

static char g_dir[256];
static zqt_redis g_redis;
static zq_store *g_st;
static zq_calendar *g_cal;

static int64_t at(int y, int m, int d)
{
    struct tm tm = {0};

    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = 2; /* 10:00 in Beijing */
    return (int64_t)timegm(&tm) * 1000;
}

static void cmd(const char *fmt, ...)
{
    redisContext *c = zqt_connect(&g_redis, 2000);
    redisReply *r;
    va_list ap;

    assert_non_null(c);
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    redisFree(c);
}

/* A case in the layout of lib/intake/cases.c (prefix "t:"). */
static void put_case(const char *id, const char *form, int64_t created, const char *status,
                     const char *answers)
{
    cmd("HSET t:case:%s id %s form %s status %s created_ms %lld updated_ms %lld answers %s "
        "mobile 13812345678 region 510100 source web dup_of %s",
        id, id, form, status, (long long)created, (long long)created, answers, "");
    cmd("ZADD t:cases:all %lld %s", (long long)created, id);
    cmd("ZADD t:cases:type:%s %lld %s", form, (long long)created, id);
    cmd("ZADD t:cases:status:%s %lld %s", status, (long long)created, id);
    cmd("ZADD t:cases:region:510100 %lld %s", (long long)created, id);
}

static int setup(void **state)
{
    zq_err err = {0};
    const char *root = getenv("ZQ_TEST_ROOT");
    char hol[512];

    (void)state;
    zq_log_init("test_staff", ZQ_LOG_ERROR);
    if (zqt_tmpdir(g_dir, sizeof(g_dir)) != 0 || zqt_redis_start(&g_redis, g_dir, 0, false, NULL))
        return -1;
    g_st = zqt_store_new(&g_redis, "t:", 5000);
    snprintf(hol, sizeof(hol), "%s/config/holidays", root ? root : ".");
    if (g_st == NULL || zq_cal_load(hol, &g_cal, &err) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zq_store_free(g_st);
    zq_cal_free(g_cal);
    zqt_redis_kill(&g_redis);
    zqt_rmtree(g_dir);
    return 0;
}

static void ctx_on(zq_staff_ctx *ctx, zq_date today)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->cal = g_cal;
    ctx->lim = (zq_wf_limits){10, 10, 30, 90};
    ctx->today = today;
}

static json_t *office_of(json_t *digest, const char *code)
{
    json_t *o;
    size_t i;

    json_array_foreach(json_object_get(digest, "offices"), i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "office")), code) == 0)
            return o;
    }
    return NULL;
}

/* Three complaints and a consultation; the digest of 2026-03-13 (Fri). */
static void test_digest(void **state)
{
    zq_staff_ctx ctx;
    zq_err err = {0};
    json_t *d = NULL, *o;
    char *text;

    (void)state;
    cmd("FLUSHALL");
    /* Review due 1/20: long overdue; respondent in Chongqing. */
    put_case("TS20260106-0001", "complaint", at(2026, 1, 6), "submitted",
             "{\"company_name\":\"渝企\",\"respondent_region\":\"500000\",\"region\":\"510100\"}");
    /* Review due 3/16: within two working days (3/17). */
    put_case("TS20260302-0001", "complaint", at(2026, 3, 2), "submitted",
             "{\"company_name\":\"绵企\",\"respondent_region\":\"510700\"}");
    /* Review due 3/18: outside the window. */
    put_case("TS20260304-0001", "complaint", at(2026, 3, 4), "submitted",
             "{\"company_name\":\"远企\",\"respondent_region\":\"510700\"}");
    /* A consultation has no deadline. */
    put_case("ZX20260105-0001", "consult", at(2026, 1, 5), "submitted", "{\"region\":\"510100\"}");
    /* Explicit deadline (a moved case): transfer due 3/13, today. */
    put_case("TS20260210-0001", "complaint", at(2026, 2, 10), "accepted",
             "{\"company_name\":\"蓉企\",\"respondent_region\":\"510100\"}");
    cmd("HSET t:case:TS20260210-0001 due_kind transfer due_start 2026-02-27 due_date 2026-03-13 "
        "due_limit 10 handler hd1");
    cmd("ZADD t:cases:due 20260313 TS20260210-0001");
    /* A closed case with a stale index entry would be ignored by kind "". */
    put_case("TS20260211-0001", "complaint", at(2026, 2, 11), "closed", "{}");
    cmd("HSET t:case:TS20260211-0001 due_kind %s due_date %s", "", "");

    ctx_on(&ctx, (zq_date){2026, 3, 13});
    assert_int_equal(zq_staff_digest(g_st, &ctx, 2, &d, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(d, "total_overdue")), 1);
    assert_int_equal(json_integer_value(json_object_get(d, "total_due_soon")), 2);
    assert_int_equal(json_array_size(json_object_get(d, "offices")), 3);
    /* Code order, the cross-region desk last. */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(d, "offices"), 0), "office")),
                        "510100");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(d, "offices"), 2), "office")),
                        "510000");
    o = office_of(d, "510000");
    assert_int_equal(json_array_size(json_object_get(o, "overdue")), 1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(o, "overdue"), 0), "cross_region"),
            "partner")),
        "500000");
    o = office_of(d, "510100");
    assert_int_equal(json_array_size(json_object_get(o, "due_soon")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(o, "due_soon"), 0), "days_left")),
                     0);
    o = office_of(d, "510700");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(o, "due_soon"), 0), "due")),
                        "2026-03-16");

    text = zq_staff_digest_text(d);
    assert_non_null(text);
    assert_non_null(strstr(text, "【办件期限提醒】2026-03-13"));
    assert_non_null(strstr(text, "TS20260106-0001 渝企（已提交）受理审查期限 2026-01-20，已逾期"));
    assert_non_null(strstr(text, "今天到期，承办人 hd1"));
    assert_non_null(strstr(text, "剩余 1 个工作日"));
    assert_null(strstr(text, "TS20260304-0001"));
    assert_null(strstr(text, "ZX20260105-0001"));
    free(text);
    json_decref(d);

    /* Before any deadline: nothing. */
    ctx_on(&ctx, (zq_date){2026, 1, 6});
    assert_int_equal(zq_staff_digest(g_st, &ctx, 2, &d, &err), 0);
    assert_int_equal(json_array_size(json_object_get(d, "offices")), 0);
    text = zq_staff_digest_text(d);
    assert_non_null(strstr(text, "今天没有逾期或即将到期的案件"));
    free(text);
    json_decref(d);
}

/* Ties: nine cases in three milliseconds, paged by two, newest first,
 * then by id descending; every case exactly once. */
static void test_scan_ties(void **state)
{
    char ids[2][ZQ_CASE_ID_MAX], seen[16][ZQ_CASE_ID_MAX];
    static const char *const want[] = {"TS20260301-0009", "TS20260301-0008", "TS20260301-0007",
                                       "TS20260301-0006", "TS20260301-0005", "TS20260301-0004",
                                       "TS20260301-0003", "TS20260301-0002", "TS20260301-0001"};
    zq_case_filter f = {0};
    zq_staff_ctx ctx;
    zq_cursor cur = {0};
    zq_err err = {0};
    bool done = false;
    int n, total = 0;

    (void)state;
    cmd("FLUSHALL");
    for (int i = 1; i <= 9; i++) {
        char id[32];
        snprintf(id, sizeof(id), "TS20260301-%04d", i);
        put_case(id, "complaint", at(2026, 3, 1) + (i - 1) / 3, "submitted", "{}");
    }
    ctx_on(&ctx, (zq_date){2026, 3, 2});
    while (!done) {
        assert_int_equal(
            zq_staff_scan(g_st, &ctx, &f, &cur, 2, 100, ZQ_SCAN_IDS, ids, NULL, &n, &done, &err),
            0);
        for (int i = 0; i < n; i++)
            memcpy(seen[total++], ids[i], ZQ_CASE_ID_MAX);
        assert_true(total <= 9);
    }
    assert_int_equal(total, 9);
    for (int i = 0; i < 9; i++)
        assert_string_equal(seen[i], want[i]);

    /* A budget of one candidate per call still gets there. */
    memset(&cur, 0, sizeof(cur));
    done = false;
    total = 0;
    f.overdue = false;
    snprintf(f.q, sizeof(f.q), "0005");
    for (int calls = 0; !done && calls < 50; calls++) {
        assert_int_equal(
            zq_staff_scan(g_st, &ctx, &f, &cur, 2, 1, ZQ_SCAN_IDS, ids, NULL, &n, &done, &err), 0);
        total += n;
        if (n == 1)
            assert_string_equal(ids[0], "TS20260301-0005");
    }
    assert_true(done);
    assert_int_equal(total, 1);
}

/* An assignment note longer than the history keeps is cut between
 * characters: cut inside one, json_pack refused the entry and the
 * assignment went into no history. */
static void test_assign_long_note(void **state)
{
    zq_staff_act act = {.audit = {.who = "hd1", .role = "handler", .action = "case_assign"},
                        .role = ZQ_ROLE_HANDLER};
    zq_staff_ctx ctx;
    zq_staff_case c;
    zq_err err = {0};
    char note[400];
    const char *got;
    json_t *e;
    size_t i;

    (void)state;
    cmd("FLUSHALL");
    put_case("TS20260301-0002", "consult", at(2026, 3, 1), "submitted", "{\"region\":\"510100\"}");
    ctx_on(&ctx, (zq_date){2026, 3, 2});
    act.now_ms = at(2026, 3, 2);
    note[0] = 'x';
    for (i = 0; i < 120; i++)
        memcpy(note + 1 + 3 * i, "办", 3);
    note[361] = '\0';
    assert_int_equal(zq_staff_case_load(g_st, "TS20260301-0002", false, &c, &err), 0);
    assert_int_equal(zq_staff_assign(g_st, &ctx, &c, "hd1", NULL, note, &act, &err), 0);
    zq_staff_case_clear(&c);
    assert_int_equal(zq_staff_case_load(g_st, "TS20260301-0002", true, &c, &err), 0);
    assert_string_equal(c.row.status, "assigned");
    assert_string_equal(c.row.handler, "hd1");
    assert_string_equal(c.row.office, "510100");
    assert_int_equal(json_array_size(c.log), 1);
    e = json_array_get(c.log, 0);
    got = json_string_value(json_object_get(e, "note"));
    assert_non_null(got);
    assert_int_equal(strlen(got), 298); /* 'x' and 99 characters of 3 bytes */
    assert_memory_equal(got, note, 298);
    assert_string_equal(json_string_value(json_object_get(e, "handler")), "hd1");
    zq_staff_case_clear(&c);
    assert_int_equal(zq_staff_case_load(g_st, "TS20990101-0001", false, &c, &err), -ZQ_ENOTFOUND);
    assert_int_equal(zq_staff_case_load(g_st, "../x", false, &c, &err), -ZQ_ENOTFOUND);
}

static void test_update_conflict(void **state)
{
    zq_audit a = {.who = "hd1", .role = "handler", .action = "case_transition", .addr = "::1"};
    zq_case_update u = {0};
    zq_deadline d = {0};
    zq_err err = {0};
    char cur[24];
    redisReply *r;

    (void)state;
    cmd("FLUSHALL");
    put_case("TS20260301-0001", "complaint", at(2026, 3, 1), "submitted", "{}");
    d.clock = ZQ_WF_CLOCK_TRANSFER;
    d.start = (zq_date){2026, 3, 2};
    d.due = (zq_date){2026, 3, 16};
    d.limit = 10;
    u.id = "TS20260301-0001";
    u.expect_status = "submitted";
    u.expect_loglen = 0;
    u.new_status = "accepted";
    u.due = &d;
    u.audit = &a;
    u.now_ms = at(2026, 3, 2);
    u.event = true;
    assert_int_equal(zq_staff_update(g_st, &u, cur, &err), 0);
    /* The same again: the status moved. */
    assert_int_equal(zq_staff_update(g_st, &u, cur, &err), -ZQ_ECONFLICT);
    assert_string_equal(cur, "accepted");
    /* A history of another length: someone else wrote meanwhile. */
    u.expect_status = "accepted";
    u.expect_loglen = 5;
    u.new_status = "transferred";
    assert_int_equal(zq_staff_update(g_st, &u, cur, &err), -ZQ_ECONFLICT);
    u.id = "TS20990101-0001";
    assert_int_equal(zq_staff_update(g_st, &u, cur, &err), -ZQ_ENOTFOUND);

    r = zqt_cmd(&g_redis, "ZSCORE t:cases:due TS20260301-0001");
    assert_string_equal(r->str, "20260316");
    freeReplyObject(r);
    r = zqt_cmd(&g_redis, "ZCARD t:cases:status:submitted");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    r = zqt_cmd(&g_redis, "XLEN t:audit");
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    r = zqt_cmd(&g_redis, "XLEN t:events");
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
}

static const char *kv_get(void *ctx, const char *name)
{
    const char *const *kv = ctx;

    for (; kv[0] != NULL; kv += 2)
        if (strcmp(kv[0], name) == 0)
            return kv[1];
    return NULL;
}

static void test_parsers(void **state)
{
    static const char *const good[] = {
        "type",       "complaint", "status", "in_progress", "from",     "2026-01-01", "to",
        "2026-01-31", "overdue",   "1",      "q",           "  成都  ", NULL};
    static const char *const bad[][3] = {
        {"type", "x", NULL},    {"status", "gone", NULL}, {"from", "2026-1-1", NULL},
        {"overdue", "2", NULL}, {"handler", "a b", NULL}, {"region", "12", NULL},
    };
    zq_case_filter f;
    zq_cursor c;
    const char *param, *msg;
    char buf[64];

    (void)state;
    assert_int_equal(zq_case_filter_parse(&f, kv_get, (void *)good, NULL, &param, &msg), 0);
    assert_string_equal(f.type, "complaint");
    assert_true(f.overdue);
    assert_string_equal(f.q, "成都");
    assert_int_equal(f.from_ms, at(2026, 1, 1) - 10 * 3600 * 1000);
    assert_int_equal(f.to_ms, at(2026, 2, 1) - 10 * 3600 * 1000);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(zq_case_filter_parse(&f, kv_get, (void *)bad[i], NULL, &param, &msg),
                         -ZQ_EINVAL);
        assert_string_equal(param, bad[i][0]);
        assert_non_null(msg);
    }
    assert_int_equal(zq_cursor_parse("1772330400000_TS20260301-0001", &c), 0);
    zq_cursor_format(&c, buf);
    assert_string_equal(buf, "1772330400000_TS20260301-0001");
    assert_int_equal(zq_cursor_parse("x_TS20260301-0001", &c), -ZQ_EINVAL);
    assert_int_equal(zq_cursor_parse("1_../etc", &c), -ZQ_EINVAL);
    assert_int_equal(zq_cursor_parse("", &c), -ZQ_EINVAL);
    assert_int_equal(zq_cursor_parse(NULL, &c), -ZQ_EINVAL);
}

static void test_default_office(void **state)
{
    char office[8], partner[8];
    json_t *a;

    (void)state;
    a = json_pack("{s:s, s:s}", "region", "510100", "respondent_region", "500000");
    zq_wf_default_office("complaint", a, office, partner);
    assert_string_equal(office, "510000");
    assert_string_equal(partner, "500000");
    zq_wf_default_office("consult", a, office, partner);
    assert_string_equal(office, "510100");
    assert_string_equal(partner, "");
    json_decref(a);
    a = json_pack("{s:s}", "region", "511300");
    zq_wf_default_office("complaint", a, office, partner);
    assert_string_equal(office, "511300");
    json_decref(a);
    zq_wf_default_office("complaint", NULL, office, partner);
    assert_string_equal(office, "510000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest),           cmocka_unit_test(test_scan_ties),
        cmocka_unit_test(test_update_conflict),  cmocka_unit_test(test_parsers),
        cmocka_unit_test(test_assign_long_note), cmocka_unit_test(test_default_office),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

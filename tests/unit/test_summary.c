/* Tests of the staff list's packed fields (lib/intake/summary.c, and their use by
 * lib/intake/cases.c and lib/staff/) against a private redis-server: the summary
 * derived from the answers, the separator never packed, both packs
 * written when a case is created, the row pack rebuilt and a missing
 * summary filled in by a staff update, and a list page read from the
 * packs written exactly as from the fields and answers (cases stored
 * before the packs, packs of another version or left behind). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "redis_helper.h"
#include "zhuqi/cases.h"
#include "zhuqi/log.h"
#include "zhuqi/staff.h"
#include "zhuqi/summary.h"

static char g_dir[256];
static zqt_redis g_redis;
static zq_store *g_st;
static zq_calendar *g_cal;

static int setup(void **state)
{
    zq_err err = {0};
    const char *root = getenv("ZQ_TEST_ROOT");
    char hol[512];

    (void)state;
    zq_log_init("test_summary", ZQ_LOG_ERROR);
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

/* A field of case id as a new string ("(nil)" when missing). */
static char *hget(const char *id, const char *field)
{
    redisReply *r = zqt_cmd(&g_redis, "HGET t:case:%s %s", id, field);
    char *out;

    assert_non_null(r);
    out = strdup(r->type == REDIS_REPLY_STRING ? r->str : "(nil)");
    freeReplyObject(r);
    return out;
}

#define US "\x1f" /* the separator, kept out of hex escapes' reach */

static void test_split(void **state)
{
    const char *part[ZQ_SUMMARY_NSUM];
    static const char ok[] = "1" US "成都示例" US "张三" US "" US "12345" US "" US "510100" US "";
    static const char v2[] = "2" US "a" US "b" US "c" US "d" US "e" US "f" US "g";
    static const char few[] = "1" US "a" US "b";
    static const char many[] = "1" US "a" US "b" US "c" US "d" US "e" US "f" US "g" US "h";
    char *t;

    (void)state;
    t = zq_summary_split(ok, sizeof(ok) - 1, part);
    assert_non_null(t);
    assert_string_equal(part[0], "成都示例");
    assert_string_equal(part[1], "张三");
    assert_string_equal(part[2], "");
    assert_string_equal(part[3], "12345");
    assert_string_equal(part[5], "510100");
    assert_string_equal(part[6], "");
    free(t);
    /* another version, too few or too many values, nothing */
    assert_null(zq_summary_split(v2, sizeof(v2) - 1, part));
    assert_null(zq_summary_split(few, sizeof(few) - 1, part));
    assert_null(zq_summary_split(many, sizeof(many) - 1, part));
    assert_null(zq_summary_split("1", 1, part));
    assert_null(zq_summary_split(NULL, 0, part));
}

/* Split where it is: the separators become NULs, the last part ends at
 * len (the byte after it, the next value of a pack, is not written), and
 * a refused pack is left as it was. */
static void test_split_in(void **state)
{
    static const char ok[] =
        "1" US "成都示例" US "张三" US "" US "12345" US "" US "510100" US "500000"
        "7:next";
    static const char many[] = "1" US "a" US "b" US "c" US "d" US "e" US "f" US "g" US "h";
    size_t len = sizeof(ok) - 1 - strlen("7:next"), plen[ZQ_SUMMARY_NSUM];
    const char *part[ZQ_SUMMARY_NSUM];
    char buf[sizeof(ok)], bad[sizeof(many)];

    (void)state;
    memcpy(buf, ok, sizeof(ok));
    assert_int_equal(zq_summary_split_in(buf, len, part, plen), 0);
    assert_string_equal(part[0], "成都示例");
    assert_int_equal(plen[0], strlen("成都示例"));
    assert_string_equal(part[1], "张三");
    assert_string_equal(part[2], "");
    assert_int_equal(plen[2], 0);
    assert_string_equal(part[3], "12345");
    assert_string_equal(part[5], "510100");
    assert_int_equal(plen[6], 6);
    assert_memory_equal(part[6], "500000", 6);
    assert_string_equal(buf + len, "7:next");
    memcpy(bad, many, sizeof(many));
    assert_int_equal(zq_summary_split_in(bad, sizeof(many) - 1, part, plen), -ZQ_EINVAL);
    assert_memory_equal(bad, many, sizeof(many));
    assert_int_equal(zq_summary_split_in(bad, 1, part, plen), -ZQ_EINVAL);
}

static void test_derive(void **state)
{
    zq_summary s;
    zq_buf b = {0};
    json_t *a;

    (void)state;
    a = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "company_name", "成都甲公司",
                  "contact_name", "张三", "respondent_name", "某局", "amount_fen",
                  (json_int_t)1234500, "region", "510100", "respondent_region", "500000", "topic",
                  "tax");
    zq_summary_from_answers("complaint", a, &s);
    assert_string_equal(s.company_name, "成都甲公司");
    assert_string_equal(s.contact_name, "张三");
    assert_string_equal(s.respondent_name, "某局");
    assert_string_equal(s.amount_fen, "1234500");
    assert_string_equal(s.topic, ""); /* complaints show the respondent instead */
    assert_string_equal(s.office, "510000");
    assert_string_equal(s.partner, "500000");
    assert_int_equal(zq_summary_pack(&s, &b), 0);
    assert_string_equal(b.data, "1\x1f成都甲公司\x1f张三\x1f某局\x1f"
                                "1234500\x1f\x1f"
                                "510000\x1f"
                                "500000");
    zq_buf_reset(&b);
    /* A consultation: the topic, no respondent or amount, its own region. */
    zq_summary_from_answers("consult", a, &s);
    assert_string_equal(s.respondent_name, "");
    assert_string_equal(s.amount_fen, "");
    assert_string_equal(s.topic, "tax");
    assert_string_equal(s.office, "510100");
    assert_string_equal(s.partner, "");
    json_decref(a);

    /* Amounts that are not non-negative integers are not shown. */
    a = json_pack("{s:i}", "amount_fen", -5);
    zq_summary_from_answers("complaint", a, &s);
    assert_string_equal(s.amount_fen, "");
    json_decref(a);
    a = json_pack("{s:f}", "amount_fen", 12.5);
    zq_summary_from_answers("complaint", a, &s);
    assert_string_equal(s.amount_fen, "");
    json_decref(a);

    /* No answers at all: empty columns, the provincial desk. */
    zq_summary_from_answers("complaint", NULL, &s);
    assert_string_equal(s.company_name, "");
    assert_string_equal(s.office, "510000");

    /* A value holding the separator is never packed. */
    a = json_pack("{s:s}", "company_name", "甲\x1f乙");
    zq_summary_from_answers("consult", a, &s);
    assert_int_equal(zq_summary_pack(&s, &b), -ZQ_EINVAL);
    json_decref(a);
    zq_buf_free(&b);
}

static const zq_form complaint_form = {.id = "complaint", .title = "投诉", .case_prefix = "TS"};

/* Creates a complaint through lib/intake/cases.c; returns its id in id. */
static void create(json_t *answers, int64_t now, char id[ZQ_CASE_ID_MAX])
{
    zq_case_new in = {0};
    zq_err err = {0};
    char key[40], dup[ZQ_CASE_ID_MAX];
    bool created = false;
    static int n;

    snprintf(key, sizeof(key), "k%d", ++n);
    in.form = &complaint_form;
    in.answers = answers;
    in.idem_key = key;
    in.source = "web";
    in.now_ms = now;
    assert_int_equal(zq_case_create(g_st, &in, id, &created, dup, &err), 0);
    assert_true(created);
}

/* A page of the list (ZQ_SCAN_LIST) written as the handler writes it,
 * with the rows' summaries in the reply held by a page when held, else
 * in copies; *packed counts the rows read from their packs. */
static char *list_page_as(const zq_staff_ctx *ctx, const zq_case_filter *f, int limit, int *packed,
                          bool held)
{
    char(*ids)[ZQ_CASE_ID_MAX] = calloc((size_t)limit, sizeof(*ids));
    zq_case_row *rows = calloc((size_t)limit, sizeof(*rows));
    zq_staff_page page = {{0}};
    zq_cursor cur = {0};
    zq_err err = {0};
    zq_buf b = {0};
    bool done = false;
    int n = 0, i;

    if (held)
        assert_int_equal(
            zq_staff_scan_page(g_st, ctx, f, &cur, limit, 1000, ids, rows, &n, &done, &page, &err),
            0);
    else
        assert_int_equal(zq_staff_scan(g_st, ctx, f, &cur, limit, 1000, ZQ_SCAN_LIST, ids, rows, &n,
                                       &done, &err),
                         0);
    assert_int_equal(page.n, held ? 1 : 0);
    zq_buf_puts(&b, "[");
    *packed = 0;
    for (i = 0; i < n; i++) {
        assert_true(rows[i].found);
        *packed += rows[i].has_summary && rows[i].answers_text == NULL;
        /* Held: a packed row's summary is the reply's, not a copy. */
        if (held && rows[i].has_summary && rows[i].answers_text == NULL)
            assert_null(rows[i].summary_text);
        if (i > 0)
            zq_buf_puts(&b, ",");
        assert_int_equal(zq_staff_row_write(&b, ctx, &rows[i], true, false), 0);
    }
    for (i = 0; i < n; i++)
        zq_case_row_clear(&rows[i]);
    zq_staff_page_free(&page);
    assert_int_equal(page.n, 0);
    zq_buf_puts(&b, "]");
    free(ids);
    free(rows);
    return zq_buf_steal(&b);
}

/* The page as the handler writes it, checked to be the same whether the
 * page holds the reply or the rows copy their summaries. */
static char *list_page(const zq_staff_ctx *ctx, const zq_case_filter *f, int limit, int *packed)
{
    int packed_copy = 0;
    char *copied = list_page_as(ctx, f, limit, &packed_copy, false);
    char *held = list_page_as(ctx, f, limit, packed, true);

    assert_int_equal(*packed, packed_copy);
    assert_string_equal(held, copied);
    free(copied);
    return held;
}

/* The same page with every row read from its fields and answers. */
static char *slow_page(const zq_staff_ctx *ctx, const zq_case_filter *f, int limit)
{
    char(*ids)[ZQ_CASE_ID_MAX] = calloc((size_t)limit, sizeof(*ids));
    zq_case_row *rows = calloc((size_t)limit, sizeof(*rows));
    zq_cursor cur = {0};
    zq_err err = {0};
    zq_buf b = {0};
    bool done = false;
    int n = 0, i;

    assert_int_equal(
        zq_staff_scan(g_st, ctx, f, &cur, limit, 1000, ZQ_SCAN_ANSWERS, ids, rows, &n, &done, &err),
        0);
    zq_buf_puts(&b, "[");
    for (i = 0; i < n; i++) {
        assert_false(rows[i].has_summary);
        if (i > 0)
            zq_buf_puts(&b, ",");
        assert_int_equal(zq_staff_row_write(&b, ctx, &rows[i], true, false), 0);
        zq_case_row_clear(&rows[i]);
    }
    zq_buf_puts(&b, "]");
    free(ids);
    free(rows);
    return zq_buf_steal(&b);
}

static void test_create_and_update(void **state)
{
    zq_audit a = {.who = "hd1", .role = "handler", .action = "case_assign", .addr = "::1"};
    int64_t t0 = 1772330400000LL; /* 2026-03-01 10:00 Beijing */
    char id[ZQ_CASE_ID_MAX], legacy[ZQ_CASE_ID_MAX], ids[1][ZQ_CASE_ID_MAX];
    const char *fields[] = {"handler", "hd1", "office", "510700", NULL};
    zq_case_filter f = {0};
    zq_case_update u = {0};
    zq_case_row row;
    zq_staff_ctx ctx;
    zq_deadline d = {0};
    zq_err err = {0};
    char *v, *fast, *slow;
    int packed;
    json_t *ans;

    (void)state;
    cmd("FLUSHALL");
    ctx_on(&ctx, (zq_date){2026, 3, 20});
    ans = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "company_name", "引号\"<公司>",
                    "contact_name", "欧阳修文", "respondent_name", "某市某局", "amount_fen",
                    (json_int_t)99, "region", "510100", "respondent_region", "110000", "mobile",
                    "13812345678");
    create(ans, t0, id);
    v = hget(id, "list_sum");
    assert_string_equal(v, "1\x1f引号\"<公司>\x1f欧阳修文\x1f某市某局\x1f"
                           "99\x1f\x1f"
                           "510000\x1f"
                           "110000");
    free(v);
    v = hget(id, "list_row");
    assert_non_null(strstr(v, "\x1f=submitted\x1f=1772330400000\x1f=1772330400000\x1f"));
    assert_int_equal(strncmp(v, "1\x1f=TS20260301-0001\x1f=complaint\x1f",
                             strlen("1\x1f=TS20260301-0001\x1f=complaint\x1f")),
                     0);
    free(v);

    /* A case stored before the packs: the same answers, no packs. */
    snprintf(legacy, sizeof(legacy), "TS20260301-0002");
    v = json_dumps(ans, JSON_COMPACT);
    cmd("HSET t:case:%s id %s form complaint status submitted created_ms %lld updated_ms %lld "
        "answers %s mobile 13812345678 region 510100 source web dup_of %s",
        legacy, legacy, (long long)t0 + 1, (long long)t0 + 1, v, "");
    free(v);
    cmd("ZADD t:cases:all %lld %s", (long long)t0 + 1, legacy);

    /* Listed from the packs (and the old case from its answers) exactly
     * as every row read from fields and answers. */
    fast = list_page(&ctx, &f, 10, &packed);
    slow = slow_page(&ctx, &f, 10);
    assert_int_equal(packed, 1);
    assert_string_equal(fast, slow);
    assert_non_null(strstr(fast, "\"company_name\":\"引号\\\"\\u003c公司\\u003e\""));
    assert_non_null(strstr(fast, "\"contact_name\":\"欧***\""));
    assert_non_null(strstr(fast, "\"amount_fen\":99"));
    assert_non_null(strstr(fast, "\"partner\":\"110000\""));
    free(fast);
    free(slow);

    /* A staff update rebuilds the row pack and gives the old case its
     * summary. */
    snprintf(ids[0], sizeof(ids[0]), "%s", legacy);
    assert_int_equal(zq_staff_fetch_rows(g_st, ids, 1, true, &row, &err), 0);
    assert_true(row.found);
    assert_false(row.has_summary);
    d.clock = ZQ_WF_CLOCK_NONE;
    u.id = legacy;
    u.expect_status = "submitted";
    u.expect_loglen = -1;
    u.due = &d;
    u.fields = fields;
    u.audit = &a;
    u.now_ms = t0 + 5000;
    u.row = &row;
    assert_int_equal(zq_staff_update(g_st, &u, NULL, &err), 0);
    zq_case_row_clear(&row);
    v = hget(legacy, "list_sum");
    assert_int_equal(strncmp(v, "1\x1f引号", 7), 0);
    free(v);
    v = hget(legacy, "list_row");
    assert_non_null(strstr(v, "\x1f=1772330405000\x1f")); /* updated_ms */
    assert_non_null(
        strstr(v, "\x1f=hd1\x1f=510700\x1f\x1f")); /* handler, office, no cross_region */
    /* due_* written empty (no clock), answered_* missing */
    assert_non_null(strstr(v, "\x1f=510700\x1f\x1f=\x1f=\x1f=\x1f=\x1f=\x1f\x1f"));
    free(v);
    assert_int_equal(zq_staff_fetch_rows(g_st, ids, 1, false, &row, &err), 0);
    assert_true(row.has_summary);
    assert_string_equal(row.company_name, "引号\"<公司>");
    assert_string_equal(row.handler, "hd1");
    zq_case_row_clear(&row);
    fast = list_page(&ctx, &f, 10, &packed);
    slow = slow_page(&ctx, &f, 10);
    assert_int_equal(packed, 2);
    assert_string_equal(fast, slow);
    assert_non_null(strstr(fast, "\"handler\":\"hd1\""));
    free(fast);
    free(slow);

    /* Packs left behind by a writer that skipped them, or of another
     * version, are not used. */
    cmd("HSET t:case:%s handler hd2 updated_ms %lld", id, (long long)t0 + 9000);
    cmd("HSET t:case:%s list_sum %s", legacy,
        "0\x1f"
        "x\x1f"
        "y\x1f"
        "z\x1f"
        "1\x1f"
        "\x1f"
        "510100\x1f");
    fast = list_page(&ctx, &f, 10, &packed);
    slow = slow_page(&ctx, &f, 10);
    assert_int_equal(packed, 0);
    assert_string_equal(fast, slow);
    assert_non_null(strstr(fast, "\"handler\":\"hd2\""));
    assert_null(strstr(fast, "\"company_name\":\"x\""));
    free(fast);
    free(slow);
    json_decref(ans);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_in),
        cmocka_unit_test(test_derive),
        cmocka_unit_test(test_create_and_update),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

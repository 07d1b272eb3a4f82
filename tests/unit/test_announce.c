/* Tests of lib/push/announce.c against a real Redis: the per-target split
 * of new-case announcements (N alone per window, the rest into the
 * window's summary), the same answer when an event is handled again, and
 * the sealing of summaries: a batch taken and not marked done comes back
 * unchanged (so its notice mark stays the same across a crash), cases
 * that arrive late make a second batch, and nothing is lost. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "redis_helper.h"
#include "zhuqi/announce.h"
#include "zhuqi/log.h"
#include "zhuqi/targets.h"

static char g_dir[256];
static zqt_redis g_redis;
static zq_store *g_st;

static const char *const TAGS[2] = {"staff", "region:510100"};
/* How many targets have both TAGS in the current test. */
static int g_ntargets;

static int setup_flush(void **state)
{
    redisReply *r = zqt_cmd(&g_redis, "FLUSHALL");

    (void)state;
    if (r != NULL)
        freeReplyObject(r);
    return 0;
}

static void add_target(const char *id, const char *tag1, const char *tag2)
{
    zq_target_rec r;
    zq_err err = {0};
    bool created;

    memset(&r, 0, sizeof(r));
    snprintf(r.t.id, sizeof(r.t.id), "%s", id);
    r.t.kind = ZQ_CH_GENERIC;
    snprintf(r.t.address, sizeof(r.t.address), "https://hooks.example.com/%s", id);
    snprintf(r.tags[r.ntags++], ZQ_TAG_MAX, "%s", tag1);
    snprintf(r.tags[r.ntags++], ZQ_TAG_MAX, "%s", tag2);
    if (zq_target_save(g_st, &r, 1000, &created, &err) != 0)
        fail_msg("%s", err.msg);
}

/* Splits event n (sid "<n>-0", case "TS20261206-<n>") at now; returns how
 * many targets got it alone, and whether target a was one of them. */
static int split(int n, int64_t now, int per, bool *a_alone, int64_t *window)
{
    char sid[32], cid[32];
    json_t *alone = NULL;
    zq_err err = {0};
    size_t i;
    json_t *v;
    int count, ntargets = 0;

    snprintf(sid, sizeof(sid), "%d-0", n);
    snprintf(cid, sizeof(cid), "TS20261206-%04d", n);
    if (zq_announce_split(g_st, sid, cid, TAGS, 2, per, 10000, now, &alone, window, &ntargets,
                          &err) != 0)
        fail_msg("split: %s", err.msg);
    *a_alone = false;
    json_array_foreach(alone, i, v)
    {
        *a_alone = *a_alone || strcmp(json_string_value(v), "a") == 0;
    }
    count = (int)json_array_size(alone);
    json_decref(alone);
    assert_int_equal(ntargets, g_ntargets);
    return count;
}

static void test_split_per_window(void **state)
{
    const int64_t t0 = 1765000000000LL; /* a multiple of 10000 */
    int64_t w = 0;
    bool a;

    (void)state;
    add_target("a", "staff", "region:510100");
    add_target("b", "staff", "region:510100");
    add_target("other", "staff", "region:510700"); /* another region: never */
    add_target("c", "tax_day", "region:510100");   /* not staff: never */
    g_ntargets = 2;
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(split(i, t0 + i, 3, &a, &w), 2);
        assert_true(a);
        assert_int_equal(w, t0);
    }
    /* Past N: nobody alone, the case waits in both summaries. */
    for (int i = 4; i <= 10; i++) {
        assert_int_equal(split(i, t0 + 100 + i, 3, &a, &w), 0);
        assert_false(a);
    }
    /* The same event again: the same answer, counted once. */
    assert_int_equal(split(2, t0 + 500, 3, &a, &w), 2);
    assert_int_equal(split(7, t0 + 500, 3, &a, &w), 0);
    assert_int_equal(w, t0);
    /* The next window starts over. */
    assert_int_equal(split(11, t0 + 10000, 3, &a, &w), 2);
    assert_int_equal(w, t0 + 10000);
}

static void test_summaries_once_and_complete(void **state)
{
    const int64_t t0 = 1765000000000LL;
    zq_announce_batch b[ZQ_ANNOUNCE_TAKE_MAX], again[ZQ_ANNOUNCE_TAKE_MAX];
    zq_err err = {0};
    int64_t w;
    int n = 0, n2 = 0;
    bool a;
    zq_buf title = {0}, body = {0};

    (void)state;
    g_ntargets = 0;
    split(99, t0, 2, &a, &w); /* nobody to tell: counted nowhere */
    add_target("a", "staff", "region:510100");
    g_ntargets = 1;
    for (int i = 1; i <= 9; i++)
        split(i, t0 + i, 2, &a, &w);
    /* Not due before the window ends. */
    assert_int_equal(zq_announce_take(g_st, t0 + 9999, b, 16, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(zq_announce_take(g_st, t0 + 10000, b, 16, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(b[0].target, "a");
    assert_int_equal(b[0].window, t0);
    assert_int_equal(b[0].count, 7);
    assert_int_equal(b[0].gen, 1);
    assert_string_equal(b[0].ids, "TS20261206-0003,TS20261206-0004,TS20261206-0005,"
                                  "TS20261206-0006,TS20261206-0007");
    assert_string_equal(b[0].mark, "zqt:announce:sent:a:1765000000000:1");
    /* A crash before done: taken again, the same batch and mark. */
    assert_int_equal(zq_announce_take(g_st, t0 + 20000, again, 16, &n2, &err), 0);
    assert_int_equal(n2, 1);
    assert_int_equal(again[0].gen, 1);
    assert_int_equal(again[0].count, 7);
    assert_string_equal(again[0].mark, b[0].mark);
    /* A case of that window handled late joins a second batch. */
    split(10, t0 + 50, 2, &a, &w);
    assert_int_equal(w, t0);
    assert_int_equal(zq_announce_done(g_st, &b[0], &err), 0);
    assert_int_equal(zq_announce_done(g_st, &b[0], &err), 0); /* twice: harmless */
    assert_int_equal(zq_announce_take(g_st, t0 + 20000, b, 16, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(b[0].gen, 2);
    assert_int_equal(b[0].count, 1);
    assert_string_equal(b[0].ids, "TS20261206-0010");
    assert_int_equal(zq_announce_done(g_st, &b[0], &err), 0);
    assert_int_equal(zq_announce_take(g_st, t0 + 30000, b, 16, &n, &err), 0);
    assert_int_equal(n, 0);
    /* The message. */
    b[0].count = 7;
    snprintf(b[0].ids, sizeof(b[0].ids), "%s", "TS1,TS2,TS3,TS4,TS5");
    assert_int_equal(zq_announce_text(&b[0], 60000, &title, &body), 0);
    assert_string_equal(title.data, "新案件汇总（7 件）");
    assert_string_equal(body.data, "过去 1 分钟内另有 7 件新案件，请登录工作台查看。\n\n"
                                   "案件编号：TS1、TS2、TS3、TS4、TS5 等");
    zq_buf_reset(&title);
    zq_buf_reset(&body);
    b[0].count = 2;
    snprintf(b[0].ids, sizeof(b[0].ids), "%s", "TS1,TS2");
    assert_int_equal(zq_announce_text(&b[0], 3000, &title, &body), 0);
    assert_string_equal(body.data, "过去 3 秒内另有 2 件新案件，请登录工作台查看。\n\n"
                                   "案件编号：TS1、TS2");
    zq_buf_free(&title);
    zq_buf_free(&body);
}

static int group_setup(void **state)
{
    (void)state;
    return zqt_group_start("test_announce", g_dir, &g_redis, &g_st);
}

static int group_teardown(void **state)
{
    (void)state;
    return zqt_group_stop(g_dir, &g_redis, g_st);
}

#define T(f) cmocka_unit_test_setup(f, setup_flush)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_split_per_window),
        T(test_summaries_once_and_complete),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* Tests of the rate-limit script (lib/ratelimit.c) against a real Redis:
 * the exact wait it answers, sliding windows, several windows at once, and
 * a long random run checked against an independent model of "at most N in
 * any window of W ms". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "redis_helper.h"
#include "zhuqi/log.h"
#include "zhuqi/ratelimit.h"
#include "zhuqi/store.h"

static char g_dir[256];
static zqt_redis g_redis;
static zq_store *g_st;
static int g_key;

static const char *new_key(void)
{
    static char k[64];

    snprintf(k, sizeof(k), "zqt:rl:%d", ++g_key);
    return k;
}

static int64_t take(const char *key, const zq_rate_window *w, int nw, int64_t now)
{
    int64_t wait = -1;
    zq_err err = {0};

    if (zq_rate_take(g_st, key, w, nw, now, &wait, &err) != 0)
        fail_msg("zq_rate_take: %s", err.msg);
    return wait;
}

static void test_exact_wait(void **state)
{
    const char *k = new_key();
    zq_rate_window w = {3, 1000};

    (void)state;
    assert_int_equal(take(k, &w, 1, 10000), 0);
    assert_int_equal(take(k, &w, 1, 10200), 0);
    assert_int_equal(take(k, &w, 1, 10400), 0);
    /* Full: the oldest (10000) leaves the window at 11000. */
    assert_int_equal(take(k, &w, 1, 10400), 600);
    assert_int_equal(take(k, &w, 1, 10999), 1);
    /* A refused attempt records nothing. */
    assert_int_equal(take(k, &w, 1, 11000), 0);
    /* Now 10200, 10400, 11000 are inside: the next slot is at 11200. */
    assert_int_equal(take(k, &w, 1, 11000), 200);
    assert_int_equal(take(k, &w, 1, 11200), 0);
}

static void test_two_windows(void **state)
{
    const char *k = new_key();
    zq_rate_window w[2] = {{5, 10000}, {2, 1000}};
    int64_t now = 50000;

    (void)state;
    assert_int_equal(take(k, w, 2, now), 0);
    assert_int_equal(take(k, w, 2, now), 0);
    /* The per-second window is full until now + 1000. */
    assert_int_equal(take(k, w, 2, now + 10), 990);
    assert_int_equal(take(k, w, 2, now + 1000), 0);
    assert_int_equal(take(k, w, 2, now + 1000), 0);
    assert_int_equal(take(k, w, 2, now + 2000), 0);
    /* Five in ten seconds: the minute-like window decides (the first
     * send leaves it at now + 10000). */
    assert_int_equal(take(k, w, 2, now + 2500), 7500);
}

static void test_no_limit(void **state)
{
    const char *k = new_key();
    zq_rate_window w[2] = {{0, 60000}, {-1, 1000}};
    redisReply *r;

    (void)state;
    for (int i = 0; i < 50; i++)
        assert_int_equal(take(k, w, 2, 1000 + i), 0);
    assert_int_equal(take(k, NULL, 0, 1000), 0);
    r = zqt_cmd(&g_redis, "EXISTS %s", k);
    assert_non_null(r);
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
}

/* With the server's clock: works, and the log expires by itself. */
static void test_server_time_and_expiry(void **state)
{
    const char *k = new_key();
    zq_rate_window w = {1, 5000};
    redisReply *r;

    (void)state;
    assert_int_equal(take(k, &w, 1, -1), 0);
    assert_true(take(k, &w, 1, -1) > 4000);
    r = zqt_cmd(&g_redis, "PTTL %s", k);
    assert_non_null(r);
    assert_true(r->integer > 0 && r->integer <= 6000);
    freeReplyObject(r);
}

/* A random run against a model: a send is allowed exactly when fewer than
 * limit accepted sends lie in (now - w, now], and a refusal's wait is the
 * time until that becomes true. */
static void test_model(void **state)
{
    const char *k = new_key();
    zq_rate_window w = {20, 60000};
    int64_t accepted[4000], now = 1000000;
    int nacc = 0;
    uint64_t x = 88172645463325252ULL;

    (void)state;
    for (int i = 0; i < 1500; i++) {
        int64_t wait, expect = 0;
        int in = 0, first = -1;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        now += (int64_t)(x % 7000);
        for (int j = 0; j < nacc; j++)
            if (accepted[j] > now - w.window_ms) {
                if (first < 0)
                    first = j;
                in++;
            }
        if (in >= w.limit)
            expect = accepted[first + in - w.limit] + w.window_ms - now;
        wait = take(k, &w, 1, now);
        assert_int_equal(wait, expect);
        if (wait == 0)
            accepted[nacc++] = now;
        assert_true(nacc < 4000);
    }
    /* And the guarantee itself, over the accepted sends. */
    for (int i = 0; i + w.limit < nacc; i++)
        assert_true(accepted[i + w.limit] - accepted[i] >= w.window_ms);
    assert_true(nacc > 100);
}

static int group_setup(void **state)
{
    zq_redis_config rc;
    char addr[64];

    (void)state;
    zq_log_init("test_ratelimit", ZQ_LOG_ERROR);
    if (zqt_tmpdir(g_dir, sizeof(g_dir)) != 0 || zqt_redis_start(&g_redis, g_dir, 0, false, NULL))
        return -1;
    memset(&rc, 0, sizeof(rc));
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", g_redis.port);
    snprintf(rc.address, sizeof(rc.address), "%s", addr);
    snprintf(rc.prefix, sizeof(rc.prefix), "zqt:");
    g_st = zq_store_new(&rc);
    return g_st != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    zq_store_free(g_st);
    zqt_redis_stop(&g_redis);
    zqt_kill_all();
    zqt_rmtree(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_wait), cmocka_unit_test(test_two_windows),
        cmocka_unit_test(test_no_limit),   cmocka_unit_test(test_server_time_and_expiry),
        cmocka_unit_test(test_model),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

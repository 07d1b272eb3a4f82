/* Tests of the rate-limit script (lib/ratelimit.c) against a real Redis:
 * the exact wait it answers, sliding windows, several windows at once,
 * several logs at once (all or nothing), a long random run checked against
 * an independent model of "at most N in any window of W ms", and the
 * Telegram per-bot log's name and window (bot/bot.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "redis_helper.h"
#include "bot/bot.h"
#include "zhuqi/config.h"
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

static long long zcard(const char *k)
{
    redisReply *r = zqt_cmd(&g_redis, "ZCARD %s", k);
    long long n;

    assert_non_null(r);
    n = r->integer;
    freeReplyObject(r);
    return n;
}

static int64_t take_all(const zq_rate_key *keys, int n, int64_t now)
{
    int64_t wait = -1;
    zq_err err = {0};

    if (zq_rate_take_all(g_st, keys, n, now, &wait, &err) != 0)
        fail_msg("zq_rate_take_all: %s", err.msg);
    return wait;
}

/* A chat's log and its bot's log: a send takes a slot in both or in
 * neither, and waits for the one that is full. */
static void test_several_keys(void **state)
{
    char chat[64], bot[64], other[64];
    zq_rate_window wc = {3, 1000}, wb = {2, 1000}, off = {0, 1000};
    zq_rate_key both[2], third[2];

    (void)state;
    snprintf(chat, sizeof(chat), "%s", new_key());
    snprintf(bot, sizeof(bot), "%s", new_key());
    snprintf(other, sizeof(other), "%s", new_key());
    both[0] = (zq_rate_key){chat, &wc, 1};
    both[1] = (zq_rate_key){bot, &wb, 1};
    assert_int_equal(take_all(both, 2, 20000), 0);
    assert_int_equal(take_all(both, 2, 20100), 0);
    assert_int_equal(zcard(chat), 2);
    assert_int_equal(zcard(bot), 2);
    /* The bot's log is full until 21000: deferred, and the chat's log
     * (which had room) took no slot. */
    assert_int_equal(take_all(both, 2, 20500), 500);
    assert_int_equal(zcard(chat), 2);
    assert_int_equal(zcard(bot), 2);
    /* Another chat of the same bot waits as long, the chat alone does not. */
    third[0] = (zq_rate_key){other, &wc, 1};
    third[1] = (zq_rate_key){bot, &wb, 1};
    assert_int_equal(take_all(third, 2, 20600), 400);
    assert_int_equal(zcard(other), 0);
    assert_int_equal(take_all(both, 1, 20600), 0);
    assert_int_equal(zcard(chat), 3);
    /* Once 20000 left the window, both have room again. */
    assert_int_equal(take_all(both, 2, 21000), 0);
    assert_int_equal(zcard(chat), 3);
    assert_int_equal(zcard(bot), 2);
    /* Two full logs: the longer wait is answered, nothing is recorded. */
    {
        char a[64], c[64];
        zq_rate_window one = {1, 1000};
        zq_rate_key ka[2];

        snprintf(a, sizeof(a), "%s", new_key());
        snprintf(c, sizeof(c), "%s", new_key());
        ka[0] = (zq_rate_key){a, &one, 1};
        ka[1] = (zq_rate_key){c, &one, 1};
        assert_int_equal(take_all(&ka[0], 1, 40000), 0);
        assert_int_equal(take_all(&ka[1], 1, 40300), 0);
        assert_int_equal(take_all(ka, 2, 40500), 800);
        assert_int_equal(take_all(ka, 2, 41000), 300);
        assert_int_equal(take_all(ka, 2, 41300), 0);
        assert_int_equal(zcard(a), 1); /* 40000 trimmed, 41300 added */
        assert_int_equal(zcard(c), 1);
    }
    /* A log whose windows are all off is not touched. */
    third[0] = (zq_rate_key){other, &off, 1};
    third[1] = (zq_rate_key){bot, &wb, 1};
    assert_int_equal(take_all(third, 2, 30000), 0);
    assert_int_equal(zcard(other), 0);
    assert_int_equal(zcard(bot), 1);
}

/* The per-bot log's name is a hash of the token, never the token. */
static void test_telegram_bot_log(void **state)
{
    char id[ZQ_BOT_TGBOT_ID_MAX], id2[ZQ_BOT_TGBOT_ID_MAX];
    zq_config cfg;
    zq_rate_window w;

    (void)state;
    zq_bot_telegram_bot_id("123456:ABC-DEF", id);
    /* hashlib.sha256(b"123456:ABC-DEF").hexdigest()[:16] */
    assert_string_equal(id, "tgbot:21d03f238667b46b");
    assert_null(strstr(id, "123456"));
    zq_bot_telegram_bot_id("123456:ABC-DEG", id2);
    assert_string_not_equal(id, id2);
    zq_config_defaults(&cfg);
    assert_int_equal(zq_bot_telegram_bot_window(&cfg, &w), 1);
    assert_int_equal(w.limit, 30);
    assert_int_equal(w.window_ms, 60000 / 60 + 1000 / 10);
    cfg.channels.telegram_bot_per_second = 0;
    assert_int_equal(zq_bot_telegram_bot_window(&cfg, &w), 0);
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

static double zscore(const char *key, const char *member)
{
    redisReply *r = zqt_cmd(&g_redis, "ZSCORE %s %s", key, member);
    double v = -1;

    assert_non_null(r);
    if (r->type == REDIS_REPLY_STRING)
        v = strtod(r->str, NULL);
    freeReplyObject(r);
    return v;
}

static int64_t reserve(const char *key, const zq_rate_window *w, const char *member)
{
    zq_rate_key k = {key, w, 1};
    int64_t wait = -1;
    zq_err err = {0};

    if (zq_rate_reserve_all(g_st, &k, 1, member, 60000, &wait, &err) != 0)
        fail_msg("zq_rate_reserve_all: %s", err.msg);
    return wait;
}

/* A send holds its slot while in flight, and from its end on for a whole
 * window: the platform may receive it anywhere in between. */
static void test_in_flight_holds_slot(void **state)
{
    const char *k = new_key();
    const char *keys[1] = {k};
    zq_rate_window w = {2, 1000};
    zq_err err = {0};
    double held, ended;
    int64_t wait;

    (void)state;
    assert_int_equal(reserve(k, &w, "i1:a"), 0);
    assert_int_equal(reserve(k, &w, "i1:b"), 0);
    held = zscore(k, "i1:a");
    /* Both in flight: the shortest possible wait is a whole window. */
    assert_int_equal(reserve(k, &w, "i1:c"), 1000);
    assert_true(zscore(k, "i1:c") < 0);
    /* Long after their window, sends still in flight count. */
    assert_int_equal(zq_rate_release(g_st, keys, 1, "i1:a", &err), 0);
    ended = zscore(k, "i1:a");
    assert_true(ended > 0 && ended < held - 50000);
    wait = reserve(k, &w, "i1:c");
    assert_true(wait > 0 && wait <= 1000);
    /* Releasing twice or a member never reserved changes nothing. */
    assert_int_equal(zq_rate_release(g_st, keys, 1, "i1:a", &err), 0);
    assert_true(zscore(k, "i1:a") <= ended);
    assert_int_equal(zq_rate_release(g_st, keys, 1, "i1:zz", &err), 0);
    assert_true(zscore(k, "i1:zz") < 0);
    /* The log outlives the longest hold. */
    {
        redisReply *r = zqt_cmd(&g_redis, "PTTL %s", k);

        assert_non_null(r);
        assert_true(r->integer > 60000);
        freeReplyObject(r);
    }
}

/* A batch of reservations (zhuqi-bot reserves for every transfer it
 * starts together in one call): each as if reserved after the ones
 * before it, a refused send takes no slot in any of its logs, sends
 * without a limit are left alone; a batch of releases ends each send. */
static void test_batch(void **state)
{
    const char *k1 = new_key(), *k2 = new_key();
    zq_rate_window w1 = {1, 1000}, w2 = {5, 1000}, off = {0, 1000};
    zq_rate_key a[2] = {{k1, &w1, 1}, {k2, &w2, 1}}, b[1] = {{k2, &w2, 1}},
                none[1] = {{k1, &off, 1}};
    zq_rate_reserve_op ops[4] = {
        {a, 2, "i1:a", 60000},    /* takes k1 and k2 */
        {a, 2, "i1:b", 60000},    /* k1 full: waits, takes nothing */
        {none, 1, "i1:c", 60000}, /* no limit in force */
        {b, 1, "i1:d", 60000},    /* k2 has room */
    };
    const char *ka[2] = {k1, k2}, *kb[1] = {k2};
    zq_rate_release_op rel[2] = {{ka, 2, "i1:a"}, {kb, 1, "i1:d"}};
    int64_t waits[4];
    double held;
    zq_err err = {0};

    (void)state;
    assert_int_equal(zq_rate_reserve_many(g_st, ops, 4, waits, &err), 0);
    assert_int_equal(waits[0], 0);
    assert_int_equal(waits[1], 1000);
    assert_int_equal(waits[2], 0);
    assert_int_equal(waits[3], 0);
    assert_true(zscore(k1, "i1:a") > 0);
    assert_true(zscore(k2, "i1:a") > 0);
    assert_true(zscore(k2, "i1:b") < 0);
    assert_true(zscore(k1, "i1:c") < 0);
    held = zscore(k2, "i1:d");
    assert_true(held > 0);
    assert_int_equal(zq_rate_release_all(g_st, rel, 2, &err), 0);
    assert_true(zscore(k1, "i1:a") < held - 50000);
    assert_true(zscore(k2, "i1:a") < held - 50000);
    assert_true(zscore(k2, "i1:d") < held - 50000);
    assert_int_equal(zq_rate_reserve_many(g_st, ops, 0, waits, &err), 0);
    assert_int_equal(zq_rate_release_all(g_st, rel, 0, &err), 0);
}

/* WeCom app messages to a member: never more than WeCom's 30 a minute and
 * 1000 an hour, whatever the configuration asks; less is kept. */
static void test_wecom_app_limits_clamped(void **state)
{
    zq_config cfg;
    zq_rate_window w[3];

    (void)state;
    zq_config_defaults(&cfg);
    assert_int_equal(zq_channel_warn_limits(&cfg), 0);
    assert_int_equal(zq_bot_rate_windows(&cfg, ZQ_CH_WECOM_APP, w), 2);
    assert_int_equal(w[0].limit, 30);
    assert_int_equal(w[0].window_ms, 60000 + 1000);
    assert_int_equal(w[1].limit, 1000);
    assert_int_equal(w[1].window_ms, 3600000 + 1000);
    cfg.channels.wecom_app_per_minute = 60;
    cfg.channels.wecom_app_per_hour = 5000;
    cfg.channels.wecom_per_minute = 100; /* the robots' limit is not the app's */
    assert_int_equal(zq_channel_warn_limits(&cfg), 2);
    assert_int_equal(zq_bot_rate_windows(&cfg, ZQ_CH_WECOM_APP, w), 2);
    assert_int_equal(w[0].limit, 30);
    assert_int_equal(w[1].limit, 1000);
    cfg.channels.wecom_app_per_minute = 10;
    cfg.channels.wecom_app_per_hour = 200;
    assert_int_equal(zq_channel_warn_limits(&cfg), 0);
    assert_int_equal(zq_bot_rate_windows(&cfg, ZQ_CH_WECOM_APP, w), 2);
    assert_int_equal(w[0].limit, 10);
    assert_int_equal(w[1].limit, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_wait),
        cmocka_unit_test(test_two_windows),
        cmocka_unit_test(test_no_limit),
        cmocka_unit_test(test_server_time_and_expiry),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_several_keys),
        cmocka_unit_test(test_telegram_bot_log),
        cmocka_unit_test(test_in_flight_holds_slot),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_wecom_app_limits_clamped),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

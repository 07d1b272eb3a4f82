/* Tests of queueing SMS (lib/push/smsq.c) against a real Redis: what
 * zq_sms_queue writes (the notice's body and meta, the outbox entry with
 * its inline sms target, the lane), the once-key, the refusals, and that
 * the staff API cannot create sms targets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "redis_helper.h"
#include "zhuqi/log.h"
#include "zhuqi/outbox.h"
#include "zhuqi/smsq.h"

static char g_dir[256];
static zqt_redis g_redis;
static zq_store *g_st;
static zq_config g_cfg;

/* A string reply (static copy), "" for nil. */
static const char *str_cmd(const char *fmt, ...)
{
    static char out[8192];
    redisContext *c = zqt_connect(&g_redis, 2000);
    redisReply *r;
    va_list ap;

    assert_non_null(c);
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    assert_non_null(r);
    snprintf(out, sizeof(out), "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return out;
}

static long long int_cmd(const char *fmt, ...)
{
    redisContext *c = zqt_connect(&g_redis, 2000);
    redisReply *r;
    long long v;
    va_list ap;

    assert_non_null(c);
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    v = r->integer;
    freeReplyObject(r);
    return v;
}

static int setup_flush(void **state)
{
    redisReply *r = zqt_cmd(&g_redis, "FLUSHALL");

    (void)state;
    if (r != NULL)
        freeReplyObject(r);
    zq_config_defaults(&g_cfg);
    snprintf(g_cfg.sms.provider, sizeof(g_cfg.sms.provider), "tencent");
    snprintf(g_cfg.sms.tpl[0], sizeof(g_cfg.sms.tpl[0]), "1110: code, minutes");
    snprintf(g_cfg.sms.tpl[1], sizeof(g_cfg.sms.tpl[1]), "2001: case, status");
    return 0;
}

/* Reads every new entry of both lanes. */
static int read_all(zq_entry *es, int max)
{
    zq_err err = {0};
    int n = 0;

    assert_int_equal(zq_outbox_init(g_st, &err), 0);
    assert_int_equal(zq_outbox_read(g_st, "c", max, es, &n, &err), 0);
    return n;
}

static void clear_entries(zq_entry *es, int n)
{
    for (int i = 0; i < n; i++)
        zq_entry_clear(&es[i]);
}

static void test_queue_code(void **state)
{
    static const char *const names[] = {"code", "minutes"};
    static const char *const values[] = {"123456", "5"};
    zq_sms_msg m = {.mobile = "+86 138-0013-8000",
                    .use = "code",
                    .names = names,
                    .values = values,
                    .nparams = 2,
                    .now_ms = 1764000000000LL};
    char id[ZQ_NOTICE_ID_MAX], tid[ZQ_TARGET_ID_MAX];
    zq_entry es[4];
    zq_err err = {0};
    zq_target t;
    bool created = false;
    int n;

    (void)state;
    /* Not a form zq_sms_phone_bare takes (spaces): refused. */
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), -ZQ_EINVAL);
    m.mobile = "+8613800138000";
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), 0);
    assert_true(created);
    assert_int_equal(strncmp(id, "RP", 2), 0);
    assert_string_equal(str_cmd("HGET zqt:notice:%s body", id),
                        "{\"use\":\"code\",\"params\":{\"code\":\"123456\",\"minutes\":\"5\"}}");
    assert_string_equal(str_cmd("HGET zqt:notice:%s meta", id),
                        "{\"type\":\"sms\",\"use\":\"code\",\"case\":null}");
    /* Kept out of the staff's list, and gone after a while. */
    assert_int_equal(int_cmd("ZCARD zqt:notices"), 0);
    assert_true(int_cmd("TTL zqt:notice:%s", id) > 0);
    assert_true(int_cmd("TTL zqt:notice:%s", id) <= 3600);

    assert_int_equal(zq_sms_target_id("13800138000", tid), 0);
    assert_int_equal(strncmp(tid, "sms-", 4), 0);
    assert_int_equal(strlen(tid), 20);
    assert_null(strstr(tid, "138"));
    n = read_all(es, 4);
    assert_int_equal(n, 1);
    assert_true(es[0].prio);
    assert_string_equal(es[0].notice, id);
    assert_string_equal(es[0].target, tid);
    assert_non_null(es[0].inline_target);
    assert_int_equal(zq_target_inline_decode(es[0].inline_target, strlen(es[0].inline_target), &t),
                     0);
    assert_int_equal(t.kind, ZQ_CH_SMS);
    assert_string_equal(t.id, tid);
    assert_string_equal(t.address, "13800138000");
    assert_string_equal(t.secret, "");
    assert_non_null(strstr(es[0].inline_target, "\"channel\":\"sms\""));
    clear_entries(es, n);
}

static void test_queue_status(void **state)
{
    static const char *const names[] = {"case", "status", "deadline"};
    static const char *const values[] = {"TS20261206-0001", "已受理", ""};
    zq_sms_msg m = {.mobile = "13900139000",
                    .use = "accepted",
                    .names = names,
                    .values = values,
                    .nparams = 3,
                    .case_id = "TS20261206-0001",
                    .mark = "zqt:sms:mark:ev-1",
                    .mark_ttl_s = 600,
                    .now_ms = 1764000000000LL};
    char id[ZQ_NOTICE_ID_MAX], id2[ZQ_NOTICE_ID_MAX];
    zq_entry es[4];
    zq_err err = {0};
    bool created = false;
    int n;

    (void)state;
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), 0);
    assert_true(created);
    assert_int_equal(strncmp(id, "CA", 2), 0);
    assert_string_equal(str_cmd("HGET zqt:notice:%s body", id),
                        "{\"use\":\"accepted\",\"params\":{\"case\":\"TS20261206-0001\","
                        "\"status\":\"已受理\",\"deadline\":\"\"}}");
    assert_string_equal(str_cmd("HGET zqt:notice:%s meta", id),
                        "{\"type\":\"sms\",\"use\":\"accepted\",\"case\":\"TS20261206-0001\"}");
    /* Once per mark: the second call names the first notice. */
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id2, &created, &err), 0);
    assert_false(created);
    assert_string_equal(id, id2);
    n = read_all(es, 4);
    assert_int_equal(n, 1);
    assert_false(es[0].prio);
    clear_entries(es, n);
}

static void test_queue_refused(void **state)
{
    static const char *const names[] = {"code", "code"};
    static const char *const bad_names[] = {"Code"};
    static const char *const values[] = {"123456", "654321"};
    static const char *const ctl[] = {"12\n34"};
    zq_sms_msg m = {.mobile = "13800138000",
                    .use = "code",
                    .names = names,
                    .values = values,
                    .nparams = 1,
                    .now_ms = 1764000000000LL};
    char id[ZQ_NOTICE_ID_MAX];
    zq_err err = {0};
    bool created = true;

    (void)state;
    m.mobile = "12800138000";
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), -ZQ_EINVAL);
    assert_false(created);
    m.mobile = "13800138000";
    m.use = "marketing";
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), -ZQ_EINVAL);
    m.use = NULL;
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), -ZQ_EINVAL);
    m.use = "code";
    m.nparams = 2; /* the same name twice */
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), -ZQ_EINVAL);
    m.nparams = ZQ_SMS_MAX_PARAMS + 1;
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), -ZQ_EINVAL);
    m.nparams = 1;
    m.names = bad_names;
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), -ZQ_EINVAL);
    m.names = names;
    m.values = ctl;
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), -ZQ_EINVAL);
    m.values = values;
    /* A param the use does not have. */
    {
        static const char *const other[] = {"case"};
        m.names = other;
        assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), -ZQ_EINVAL);
        m.names = names;
    }
    /* A use without a template: not configured for it. */
    m.use = "closed";
    m.nparams = 0;
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), -ZQ_ENOTSUP);
    m.use = "code";
    m.nparams = 1;
    /* Not configured. */
    snprintf(g_cfg.sms.provider, sizeof(g_cfg.sms.provider), "none");
    assert_false(zq_sms_enabled(&g_cfg));
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), -ZQ_ENOTSUP);
    assert_int_equal(int_cmd("EXISTS zqt:outbox:prio"), 0);
    snprintf(g_cfg.sms.provider, sizeof(g_cfg.sms.provider), "alibaba");
    assert_true(zq_sms_enabled(&g_cfg));
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), 0);
    assert_true(created);
}

/* A code outlives its entry's max age, however long that is set. */
static void test_code_ttl(void **state)
{
    static const char *const names[] = {"code"};
    static const char *const values[] = {"123456"};
    zq_sms_msg m = {.mobile = "13800138000",
                    .use = "code",
                    .names = names,
                    .values = values,
                    .nparams = 1,
                    .now_ms = 1764000000000LL};
    char id[ZQ_NOTICE_ID_MAX];
    zq_err err = {0};
    bool created;

    (void)state;
    g_cfg.sms.code_max_age_s = 7200;
    assert_int_equal(zq_sms_queue(g_st, &g_cfg, &m, id, &created, &err), 0);
    assert_true(int_cmd("TTL zqt:notice:%s", id) > 7200);
}

/* Staff cannot make an sms target: the system does, per message. */
static void test_staff_cannot_add(void **state)
{
    zq_target_rec r;
    const char *field, *msg;
    json_t *in = json_pack("{s:s, s:s}", "channel", "sms", "address", "13800138000");
    zq_channel_kind k;

    (void)state;
    assert_int_equal(zq_target_from_json(in, &r, &field, &msg), -ZQ_EINVAL);
    assert_string_equal(field, "channel");
    assert_non_null(strstr(msg, "短信"));
    json_decref(in);
    assert_int_equal(zq_channel_parse("sms", &k), 0);
    assert_int_equal(k, ZQ_CH_SMS);
    assert_string_equal(zq_channel_name(ZQ_CH_SMS), "sms");
}

static int group_setup(void **state)
{
    zq_redis_config rc;

    (void)state;
    zq_log_init("test_smsq", ZQ_LOG_ERROR);
    if (zqt_tmpdir(g_dir, sizeof(g_dir)) != 0 || zqt_redis_start(&g_redis, g_dir, 0, false, NULL))
        return -1;
    memset(&rc, 0, sizeof(rc));
    snprintf(rc.address, sizeof(rc.address), "127.0.0.1:%d", g_redis.port);
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

#define T(f) cmocka_unit_test_setup(f, setup_flush)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_queue_code), T(test_queue_status),     T(test_queue_refused),
        T(test_code_ttl),   T(test_staff_cannot_add),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

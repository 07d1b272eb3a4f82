/* Tests of lib/push/smsreport.c against a real Redis: a progress SMS's
 * outcome becomes one line in its case's history, once however often it
 * is reported; an SMS without a case (a verification code), an unknown
 * notice or a case that is gone get none. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "redis_helper.h"
#include "zhuqi/log.h"
#include "zhuqi/smsreport.h"

static char g_dir[256];
static zqt_redis g_redis;
static zq_store *g_st;

static int setup_flush(void **state)
{
    redisReply *r = zqt_cmd(&g_redis, "FLUSHALL");

    (void)state;
    if (r != NULL)
        freeReplyObject(r);
    return 0;
}

static void cmd(const char *fmt, ...)
{
    va_list ap;
    redisContext *c = redisConnect("127.0.0.1", g_redis.port);
    redisReply *r;

    assert_non_null(c);
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    redisFree(c);
}

/* The history of case id: a new array of the decoded lines. */
static json_t *history(const char *id)
{
    redisContext *c = redisConnect("127.0.0.1", g_redis.port);
    redisReply *r = redisCommand(c, "LRANGE zqt:case:%s:log 0 -1", id);
    json_t *a = json_array();

    assert_non_null(r);
    for (size_t i = 0; i < r->elements; i++)
        json_array_append_new(a, json_loads(r->element[i]->str, 0, NULL));
    freeReplyObject(r);
    redisFree(c);
    return a;
}

static void test_line_once(void **state)
{
    zq_err err = {0};
    json_t *h, *e;

    (void)state;
    cmd("HSET zqt:case:TS20261206-0001 status accepted");
    cmd("HSET zqt:notice:NC1 meta %s",
        "{\"type\":\"sms\",\"use\":\"accepted\",\"case\":\"TS20261206-0001\"}");
    cmd("HSET zqt:notice:NC2 meta %s",
        "{\"type\":\"sms\",\"use\":\"closed\",\"case\":\"TS20261206-0001\"}");
    assert_int_equal(zq_smsreport_write(g_st, "NC1", true, "", 1000, &err), 1);
    /* Reported again (a retry after a crash): nothing more. */
    assert_int_equal(zq_smsreport_write(g_st, "NC1", false, "late", 2000, &err), 0);
    assert_int_equal(
        zq_smsreport_write(g_st, "NC2", false, "vendor code isv.X: refused", 3000, &err), 1);
    h = history("TS20261206-0001");
    assert_int_equal(json_array_size(h), 2);
    e = json_array_get(h, 0);
    assert_string_equal(json_string_value(json_object_get(e, "kind")), "sms");
    assert_string_equal(json_string_value(json_object_get(e, "note")), "短信已发送（已受理）");
    assert_true(json_is_true(json_object_get(e, "ok")));
    assert_int_equal(json_integer_value(json_object_get(e, "at_ms")), 1000);
    /* Not a status entry: the public view and the deadlines skip it. */
    assert_null(json_object_get(e, "to"));
    e = json_array_get(h, 1);
    assert_string_equal(json_string_value(json_object_get(e, "note")),
                        "短信发送失败：vendor code isv.X: refused");
    assert_true(json_is_false(json_object_get(e, "ok")));
    json_decref(h);
}

static void test_no_line_due(void **state)
{
    zq_err err = {0};
    json_t *h;

    (void)state;
    /* A verification code: no case. */
    cmd("HSET zqt:notice:NC3 meta %s", "{\"type\":\"sms\",\"use\":\"code\"}");
    assert_int_equal(zq_smsreport_write(g_st, "NC3", true, "", 1000, &err), 0);
    /* A chat notice, an unknown notice. */
    cmd("HSET zqt:notice:NC4 meta %s", "{\"type\":\"case_status\",\"case\":\"TS20261206-0002\"}");
    assert_int_equal(zq_smsreport_write(g_st, "NC4", true, "", 1000, &err), 0);
    assert_int_equal(zq_smsreport_write(g_st, "NC9", true, "", 1000, &err), 0);
    /* A case that is gone gets nothing, and no list is created. */
    cmd("HSET zqt:notice:NC5 meta %s",
        "{\"type\":\"sms\",\"use\":\"accepted\",\"case\":\"TS20261206-0002\"}");
    assert_int_equal(zq_smsreport_write(g_st, "NC5", true, "", 1000, &err), 0);
    h = history("TS20261206-0002");
    assert_int_equal(json_array_size(h), 0);
    json_decref(h);
}

/* A batch (what zhuqi-bot writes after each round of settled SMS): the
 * same lines as one call each, in two round trips, with a result each. */
static void test_batch(void **state)
{
    zq_smsreport_op ops[5] = {
        {"NB1", true, ""},      /* a line */
        {"NB2", true, ""},      /* a code: none */
        {"NB9", true, ""},      /* unknown notice: none */
        {"NB3", false, "late"}, /* a line */
        {"NB1", false, "dup"},  /* reported again in the same batch: none */
    };
    int results[5], want[5] = {1, 0, 0, 1, 0};
    zq_err err = {0};
    json_t *h;

    (void)state;
    cmd("HSET zqt:case:TS20261206-0003 status accepted");
    cmd("HSET zqt:notice:NB1 meta %s",
        "{\"type\":\"sms\",\"use\":\"accepted\",\"case\":\"TS20261206-0003\"}");
    cmd("HSET zqt:notice:NB2 meta %s", "{\"type\":\"sms\",\"use\":\"code\"}");
    cmd("HSET zqt:notice:NB3 meta %s",
        "{\"type\":\"sms\",\"use\":\"closed\",\"case\":\"TS20261206-0003\"}");
    assert_int_equal(zq_smsreport_write_all(g_st, ops, 5, 1000, results, &err), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(results[i], want[i]);
    h = history("TS20261206-0003");
    assert_int_equal(json_array_size(h), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "note")),
                        "短信已发送（已受理）");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "note")),
                        "短信发送失败：late");
    json_decref(h);
    assert_int_equal(zq_smsreport_write_all(g_st, ops, 0, 1000, results, &err), 0);
}

/* zhuqi-bot writes the line before it settles the entry (a crash between
 * the two must not lose the line). A failure line is then only true when
 * no other delivery of the same SMS got through: with the entry's done
 * mark present it is not written, and the success line still is. */
static void test_failure_after_done(void **state)
{
    zq_smsreport_op fail = {"ND1", false, "timeout", "13800138000"};
    zq_smsreport_op sent = {"ND1", true, "", "13800138000"};
    zq_smsreport_op other = {"ND2", false, "timeout", "13800138000"};
    int result = -1;
    zq_err err = {0};
    json_t *h;

    (void)state;
    cmd("HSET zqt:case:TS20261206-0004 status accepted");
    cmd("HSET zqt:notice:ND1 meta %s",
        "{\"type\":\"sms\",\"use\":\"accepted\",\"case\":\"TS20261206-0004\"}");
    cmd("HSET zqt:notice:ND2 meta %s",
        "{\"type\":\"sms\",\"use\":\"closed\",\"case\":\"TS20261206-0004\"}");
    cmd("SET zqt:done:ND1:13800138000 1");
    assert_int_equal(zq_smsreport_write_all(g_st, &fail, 1, 1000, &result, &err), 0);
    assert_int_equal(result, 0);
    assert_int_equal(zq_smsreport_write_all(g_st, &sent, 1, 2000, &result, &err), 0);
    assert_int_equal(result, 1);
    /* Another notice, not done: its failure is written. */
    assert_int_equal(zq_smsreport_write_all(g_st, &other, 1, 3000, &result, &err), 0);
    assert_int_equal(result, 1);
    h = history("TS20261206-0004");
    assert_int_equal(json_array_size(h), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "note")),
                        "短信已发送（已受理）");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "note")),
                        "短信发送失败：timeout");
    json_decref(h);
}

static void test_note_cut(void **state)
{
    char out[40], reason[200];

    (void)state;
    memset(reason, 'x', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    zq_smsreport_note(false, "closed", reason, out, sizeof(out));
    assert_true(strlen(out) < sizeof(out));
    assert_memory_equal(out, "短信发送失败：", strlen("短信发送失败："));
    zq_smsreport_note(true, "closed", NULL, out, sizeof(out));
    assert_string_equal(out, "短信已发送（已办结）");
    zq_smsreport_note(false, "closed", "", out, sizeof(out));
    assert_string_equal(out, "短信发送失败：原因不明");
}

static int group_setup(void **state)
{
    (void)state;
    return zqt_group_start("test_smsreport", g_dir, &g_redis, &g_st);
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
        T(test_batch),       T(test_failure_after_done), T(test_line_once),
        T(test_no_line_due), T(test_note_cut),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

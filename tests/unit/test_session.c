/* Tests of the web session in Redis (lib/intake/session.c): a session
 * that Redis cannot show now is "unavailable", never "expired". */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "redis_helper.h"
#include "zhuqi/log.h"
#include "zhuqi/session.h"

static char g_dir[256];
static zqt_redis g_redis, g_stale;
static zq_store *g_st, *g_stale_st;

static int setup(void **state)
{
    /* A replica of a master that is not there, told not to answer from
     * stale data: every read gets MASTERDOWN, as during a fail-over. */
    static const char *const stale[] = {
        "--replicaof", "127.0.0.1", "1", "--replica-serve-stale-data", "no", NULL};

    (void)state;
    zq_log_init("test_session", ZQ_LOG_ERROR);
    if (zqt_tmpdir(g_dir, sizeof(g_dir)) != 0 ||
        zqt_redis_start(&g_redis, g_dir, 0, false, NULL) != 0 ||
        zqt_redis_start(&g_stale, g_dir, 0, false, stale) != 0)
        return -1;
    g_st = zqt_store_new(&g_redis, "t:", 5000);
    g_stale_st = zqt_store_new(&g_stale, "t:", 5000);
    return g_st != NULL && g_stale_st != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    zq_store_free(g_st);
    zq_store_free(g_stale_st);
    zqt_redis_kill(&g_redis);
    zqt_redis_kill(&g_stale);
    zqt_rmtree(g_dir);
    return 0;
}

/* A saved session loads with its draft; an unknown one does not exist. */
static void test_round_trip(void **state)
{
    zq_session s = {0}, got = {0};
    zq_err err = {0};

    (void)state;
    assert_int_equal(zq_session_new_ids(&s), 0);
    s.draft = json_pack("{s:{s:s, s:i, s:n}, s:[s]}", "answers", "name", "甲", "n", 3, "opt",
                        "done", "contact");
    assert_int_equal(zq_session_save(g_st, &s, "consult", true, 600, &err), 0);
    assert_int_equal(zq_session_load(g_st, s.sid, "consult", 600, &got, &err), 0);
    assert_true(got.exists);
    assert_string_equal(got.csrf, s.csrf);
    assert_true(
        json_equal(json_object_get(got.draft, "answers"), json_object_get(s.draft, "answers")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(got.draft, "done"), 0)),
                        "contact");
    zq_session_clear(&got);
    s.sid[0] = s.sid[0] == 'a' ? 'b' : 'a';
    assert_int_equal(zq_session_load(g_st, s.sid, "consult", 600, &got, &err), 0);
    assert_false(got.exists);
    zq_session_clear(&got);
    zq_session_clear(&s);
}

/* Redis answering "not now" (MASTERDOWN, LOADING after a restart...) is
 * unavailable: the form answers 503 and the enterprise retries, instead
 * of 410 "填写已超时" for a session that is still there. */
static void test_unavailable_is_not_expired(void **state)
{
    zq_session s = {0}, got = {0};
    zq_err err = {0};

    (void)state;
    assert_int_equal(zq_session_new_ids(&s), 0);
    assert_int_equal(zq_session_load(g_stale_st, s.sid, "consult", 600, &got, &err), -ZQ_EUNAVAIL);
    assert_false(got.exists);
    zq_session_clear(&got);
}

/* Another error (a key of the wrong type) is an error, not a missing
 * session either. */
static void test_error_is_not_expired(void **state)
{
    zq_session s = {0}, got = {0};
    zq_err err = {0};
    redisContext *c = zqt_connect(&g_redis, 2000);
    redisReply *r;

    (void)state;
    assert_non_null(c);
    assert_int_equal(zq_session_new_ids(&s), 0);
    r = redisCommand(c, "SET t:sess:%s notahash", s.sid);
    assert_non_null(r);
    freeReplyObject(r);
    redisFree(c);
    assert_int_equal(zq_session_load(g_st, s.sid, "consult", 600, &got, &err), -ZQ_EREPLY);
    assert_false(got.exists);
    zq_session_clear(&got);
}

/* A verified mark holds for its mobile and purpose until its time, and
 * is never written into a session that does not exist. */
static void test_verified_mark(void **state)
{
    zq_session s = {0};
    zq_err err = {0};
    int64_t now = 1765000000000LL;
    bool ok = true;
    redisReply *r;

    (void)state;
    assert_int_equal(zq_session_new_ids(&s), 0);
    s.draft = json_pack("{s:s}", "step", "contact");
    assert_int_equal(zq_session_save(g_st, &s, "consult", true, 600, &err), 0);
    assert_int_equal(zq_session_verified(g_st, s.sid, "submit", "13800138000", now, &ok, &err), 0);
    assert_false(ok);
    assert_int_equal(
        zq_session_mark_verified(g_st, s.sid, "submit", "13800138000", now + 1000, &err), 0);
    assert_int_equal(zq_session_verified(g_st, s.sid, "submit", "13800138000", now, &ok, &err), 0);
    assert_true(ok);
    assert_int_equal(
        zq_session_verified(g_st, s.sid, "submit", "13800138000", now + 1000, &ok, &err), 0);
    assert_false(ok);
    assert_int_equal(zq_session_verified(g_st, s.sid, "lookup", "13800138000", now, &ok, &err), 0);
    assert_false(ok);
    assert_int_equal(zq_session_verified(g_st, s.sid, "submit", "13800138001", now, &ok, &err), 0);
    assert_false(ok);
    assert_int_equal(zq_session_verified(g_st, s.sid, "submit", NULL, now, &ok, &err), 0);
    assert_false(ok);
    /* The number is not in the session in clear. */
    r = zqt_cmd(&g_redis, "HGET t:sess:%s v:submit", s.sid);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_null(strstr(r->str, "13800138000"));
    freeReplyObject(r);
    zq_session_clear(&s);

    assert_int_equal(zq_session_new_ids(&s), 0);
    assert_int_equal(zq_session_mark_verified(g_st, s.sid, "submit", "13800138000", now, &err),
                     -ZQ_ENOTFOUND);
    r = zqt_cmd(&g_redis, "EXISTS t:sess:%s", s.sid);
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
}

/* Any of several purposes, and whether the session exists, in one read:
 * the receipt's check. */
static void test_verified_any(void **state)
{
    static const char *const both[] = {"lookup", "supplement"};
    zq_session s = {0};
    zq_err err = {0};
    int64_t now = 1765000000000LL;
    bool exists = false, ok = true;

    (void)state;
    assert_int_equal(zq_session_new_ids(&s), 0);
    /* No session: neither. */
    assert_int_equal(
        zq_session_verified_any(g_st, s.sid, both, 2, "13800138000", now, &exists, &ok, &err), 0);
    assert_false(exists);
    assert_false(ok);
    assert_int_equal(zq_session_create(g_st, &s, 600, &err), 0);
    assert_int_equal(
        zq_session_verified_any(g_st, s.sid, both, 2, "13800138000", now, &exists, &ok, &err), 0);
    assert_true(exists);
    assert_false(ok);
    /* A proof for another use does not count; one for the second does. */
    assert_int_equal(
        zq_session_mark_verified(g_st, s.sid, "submit", "13800138000", now + 1000, &err), 0);
    assert_int_equal(
        zq_session_verified_any(g_st, s.sid, both, 2, "13800138000", now, &exists, &ok, &err), 0);
    assert_false(ok);
    assert_int_equal(
        zq_session_mark_verified(g_st, s.sid, "supplement", "13800138000", now + 1000, &err), 0);
    assert_int_equal(
        zq_session_verified_any(g_st, s.sid, both, 2, "13800138000", now, &exists, &ok, &err), 0);
    assert_true(exists && ok);
    /* Not for another number, not once expired, not with no purpose or no number. */
    assert_int_equal(
        zq_session_verified_any(g_st, s.sid, both, 2, "13800138001", now, &exists, &ok, &err), 0);
    assert_false(ok);
    assert_int_equal(zq_session_verified_any(g_st, s.sid, both, 2, "13800138000", now + 1000,
                                             &exists, &ok, &err),
                     0);
    assert_false(ok);
    assert_int_equal(
        zq_session_verified_any(g_st, s.sid, both, 0, "13800138000", now, &exists, &ok, &err), 0);
    assert_true(exists);
    assert_false(ok);
    assert_int_equal(zq_session_verified_any(g_st, s.sid, both, 2, NULL, now, &exists, &ok, &err),
                     0);
    assert_false(ok);
    /* Not a session id: nothing asked. */
    assert_int_equal(
        zq_session_verified_any(g_st, "zz", both, 2, "13800138000", now, &exists, &ok, &err), 0);
    assert_false(exists || ok);
}

/* A draft saved with a mobile can be found by it, from anywhere, while it
 * still carries that number. */
static void test_find_draft_by_mobile(void **state)
{
    zq_session a = {0};
    zq_err err = {0};
    json_t *found = NULL;
    char other[ZQ_SESSION_HEX + 1] = "";

    (void)state;
    assert_int_equal(zq_session_new_ids(&a), 0);
    a.draft = json_pack("{s:s, s:{s:s, s:s}}", "step", "question", "answers", "mobile",
                        "13900139000", "company_name", "甲公司");
    assert_int_equal(zq_session_save(g_st, &a, "consult", true, 600, &err), 0);
    assert_int_equal(zq_session_find_draft(g_st, "consult", "13900139000", &found, other, &err), 0);
    assert_non_null(found);
    assert_string_equal(other, a.sid);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(found, "answers"), "company_name")),
        "甲公司");
    json_decref(found);
    /* Another flow, another number: nothing. */
    assert_int_equal(zq_session_find_draft(g_st, "complaint", "13900139000", &found, other, &err),
                     0);
    assert_null(found);
    assert_int_equal(zq_session_find_draft(g_st, "consult", "13900139001", &found, other, &err), 0);
    assert_null(found);
    /* The draft's number changed: the old index no longer hands it out. */
    json_object_set_new(json_object_get(a.draft, "answers"), "mobile", json_string("13900139001"));
    assert_int_equal(zq_session_save(g_st, &a, "consult", false, 600, &err), 0);
    assert_int_equal(zq_session_find_draft(g_st, "consult", "13900139000", &found, other, &err), 0);
    assert_null(found);
    assert_int_equal(zq_session_find_draft(g_st, "consult", "13900139001", &found, other, &err), 0);
    assert_non_null(found);
    json_decref(found);
    zq_session_clear(&a);
}

/* A session stored before drafts were kept per answer (the draft whole in
 * f:{form}) still loads; the one-trip step save leaves it alone (the
 * caller saves it whole first), and the next whole save converts it. */
static void test_legacy_draft(void **state)
{
    zq_session s = {0}, got = {0};
    zq_step_save in = {0};
    zq_step_result r;
    zq_err err = {0};
    json_t *found = NULL;
    char other[ZQ_SESSION_HEX + 1] = "";
    redisReply *rep;

    (void)state;
    assert_int_equal(zq_session_new_ids(&s), 0);
    rep = zqt_cmd(&g_redis, "HSET t:sess:%s csrf %s f:consult %s", s.sid, s.csrf,
                  "{\"step\":\"b\",\"answers\":{\"name\":\"甲\",\"mobile\":\"13900139002\"},"
                  "\"done\":[\"a\"]}");
    assert_non_null(rep);
    freeReplyObject(rep);
    assert_int_equal(zq_session_load(g_st, s.sid, "consult", 600, &got, &err), 0);
    assert_true(got.exists);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(got.draft, "answers"), "name")), "甲");
    in.sid = s.sid;
    in.form = "consult";
    in.ttl_s = 600;
    in.token = s.csrf;
    in.step = "b";
    in.write = true;
    assert_int_equal(zq_session_step(g_st, &in, &r, &err), 0);
    assert_int_equal(r.outcome, ZQ_STEP_LEGACY);
    zq_step_result_clear(&r);
    memcpy(got.sid, s.sid, sizeof(s.sid));
    assert_int_equal(zq_session_save(g_st, &got, "consult", false, 600, &err), 0);
    rep = zqt_cmd(&g_redis, "HMGET t:sess:%s f:consult d:consult a:consult:name", s.sid);
    assert_int_equal(rep->element[0]->type, REDIS_REPLY_NIL);
    assert_string_equal(rep->element[1]->str, "[\"a\"]");
    assert_string_equal(rep->element[2]->str, "\"甲\"");
    freeReplyObject(rep);
    zq_session_clear(&got);
    assert_int_equal(zq_session_step(g_st, &in, &r, &err), 0);
    assert_int_equal(r.outcome, ZQ_STEP_SAVED);
    zq_step_result_clear(&r);
    /* The mobile's index was written by the conversion. */
    assert_int_equal(zq_session_find_draft(g_st, "consult", "13900139002", &found, other, &err), 0);
    assert_non_null(found);
    json_decref(found);
    /* A release before this layout, still running beside this one during
     * an upgrade, writes the whole draft again: that newer draft wins. */
    rep = zqt_cmd(&g_redis, "HSET t:sess:%s f:consult %s", s.sid,
                  "{\"answers\":{\"name\":\"丙\"},\"done\":[\"a\",\"b\"]}");
    freeReplyObject(rep);
    assert_int_equal(zq_session_load(g_st, s.sid, "consult", 600, &got, &err), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(got.draft, "answers"), "name")), "丙");
    zq_session_clear(&got);
    assert_int_equal(zq_session_step(g_st, &in, &r, &err), 0);
    assert_int_equal(r.outcome, ZQ_STEP_LEGACY);
    zq_step_result_clear(&r);
}

/* The one-trip step save: each check in its order, nothing written by a
 * check-only call, the step's answers replaced and the step marked done. */
static void test_step_save(void **state)
{
    static const char *const before[] = {"gate"}, *const sf[] = {"payer"}, *const sv[] = {"person"},
                             *const ids[] = {"name", "mobile"},
                             *const vals[] = {"\"乙\"", "\"13900139003\""}, *const del[] = {"old"};
    zq_session s = {0}, got = {0};
    zq_step_save in = {0};
    zq_step_result r;
    zq_err err = {0};
    json_t *found = NULL;
    char other[ZQ_SESSION_HEX + 1] = "";
    const char *id, *json;
    size_t len, i;
    bool name = false, old = false;
    redisReply *rep;

    (void)state;
    assert_int_equal(zq_session_new_ids(&s), 0);
    in.sid = s.sid;
    in.form = "complaint";
    in.ttl_s = 600;
    in.token = s.csrf;
    in.step = "who";
    in.before = before;
    in.nbefore = 1;
    in.stop_fields = sf;
    in.stop_values = sv;
    in.nstop = 1;
    in.set_ids = ids;
    in.set_json = vals;
    in.nset = 2;
    in.del_ids = del;
    in.ndel = 1;
    in.has_mobile = true;
    in.mobile = "13900139003";
    /* No session yet. */
    assert_int_equal(zq_session_step(g_st, &in, &r, &err), 0);
    assert_int_equal(r.outcome, ZQ_STEP_NO_DRAFT);
    zq_step_result_clear(&r);
    s.draft = json_pack("{s:{s:s, s:s}, s:[]}", "answers", "payer", "company", "old", "x", "done");
    assert_int_equal(zq_session_save(g_st, &s, "complaint", true, 600, &err), 0);
    /* The gate not done yet. */
    assert_int_equal(zq_session_step(g_st, &in, &r, &err), 0);
    assert_int_equal(r.outcome, ZQ_STEP_ORDER);
    assert_int_equal(r.order, 0);
    zq_step_result_clear(&r);
    json_array_append_new(json_object_get(s.draft, "done"), json_string("gate"));
    assert_int_equal(zq_session_save(g_st, &s, "complaint", false, 600, &err), 0);
    /* Another token. */
    in.token = "x";
    assert_int_equal(zq_session_step(g_st, &in, &r, &err), 0);
    assert_int_equal(r.outcome, ZQ_STEP_CSRF);
    zq_step_result_clear(&r);
    in.token = s.csrf;
    /* Checks only: nothing written. */
    in.write = false;
    assert_int_equal(zq_session_step(g_st, &in, &r, &err), 0);
    assert_int_equal(r.outcome, ZQ_STEP_SAVED);
    zq_step_result_clear(&r);
    rep = zqt_cmd(&g_redis, "HEXISTS t:sess:%s a:complaint:name", s.sid);
    assert_int_equal(rep->integer, 0);
    freeReplyObject(rep);
    in.write = true;
    assert_int_equal(zq_session_step(g_st, &in, &r, &err), 0);
    assert_int_equal(r.outcome, ZQ_STEP_SAVED);
    assert_int_equal(r.ndone, 2);
    assert_string_equal(zq_step_result_done(&r, 1), "who");
    assert_int_equal(r.done_len, strlen("[\"gate\",\"who\"]"));
    assert_memory_equal(r.done, "[\"gate\",\"who\"]", r.done_len);
    assert_int_equal(r.files_len, 0);
    assert_int_equal(r.nanswers, 3);
    for (i = 0; i < r.nanswers; i++) {
        zq_step_result_answer(&r, i, &id, &json, &len);
        name |=
            strcmp(id, "name") == 0 && len == strlen(vals[0]) && memcmp(json, vals[0], len) == 0;
        old |= strcmp(id, "old") == 0;
    }
    assert_true(name);
    assert_false(old);
    zq_step_result_clear(&r);
    /* The next whole read sees the step, and the number finds the draft. */
    assert_int_equal(zq_session_load(g_st, s.sid, "complaint", 600, &got, &err), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(got.draft, "answers"), "mobile")),
        "13900139003");
    assert_int_equal(json_array_size(json_object_get(got.draft, "done")), 2);
    zq_session_clear(&got);
    assert_int_equal(zq_session_find_draft(g_st, "complaint", "13900139003", &found, other, &err),
                     0);
    assert_non_null(found);
    json_decref(found);
    /* A gate answer that stops the flow stops the step. */
    rep = zqt_cmd(&g_redis, "HSET t:sess:%s a:complaint:payer \"person\"", s.sid);
    freeReplyObject(rep);
    assert_int_equal(zq_session_step(g_st, &in, &r, &err), 0);
    assert_int_equal(r.outcome, ZQ_STEP_STOP);
    assert_int_equal(r.stop, 0);
    zq_step_result_clear(&r);
    /* The stored JSON is what counts, not its bytes: an escaped form of
     * the value stops too; another value, or an array holding it, not. */
    in.write = false;
    for (i = 0; i < 4; i++) {
        static const char *const stored[] = {"\"p\\u0065rson\"", "\"persons\"", "[\"person\"]",
                                             "\"person\""};

        rep = zqt_cmd(&g_redis, "HSET t:sess:%s a:complaint:payer %s", s.sid, stored[i]);
        freeReplyObject(rep);
        assert_int_equal(zq_session_step(g_st, &in, &r, &err), 0);
        assert_int_equal(r.outcome, i == 0 || i == 3 ? ZQ_STEP_STOP : ZQ_STEP_SAVED);
        zq_step_result_clear(&r);
    }
    zq_session_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_unavailable_is_not_expired),
        cmocka_unit_test(test_error_is_not_expired),
        cmocka_unit_test(test_verified_mark),
        cmocka_unit_test(test_verified_any),
        cmocka_unit_test(test_find_draft_by_mobile),
        cmocka_unit_test(test_legacy_draft),
        cmocka_unit_test(test_step_save),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

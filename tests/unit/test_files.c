/* Tests of the evidence files' records in Redis (lib/intake/files.c): the
 * limits checked in the add script, removal only from the own draft, the
 * sweep of drafts whose session has gone, and attaching a stored file to
 * a case later. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "redis_helper.h"
#include "zhuqi/cases.h"
#include "zhuqi/files.h"
#include "zhuqi/log.h"

static char g_dir[256], g_store[300], g_in[320];
static zqt_redis g_redis;
static zq_store *g_st;
static zq_filestore *g_fs;

static const char *SID = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *SID2 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static int setup(void **state)
{
    zq_err err = {0};

    (void)state;
    zq_log_init("test_files", ZQ_LOG_ERROR);
    if (zqt_tmpdir(g_dir, sizeof(g_dir)) != 0 ||
        zqt_redis_start(&g_redis, g_dir, 0, false, NULL) != 0)
        return -1;
    g_st = zqt_store_new(&g_redis, "t:", 5000);
    snprintf(g_store, sizeof(g_store), "%s/files", g_dir);
    snprintf(g_in, sizeof(g_in), "%s/files/incoming", g_dir);
    if (mkdir(g_store, 0700) != 0 || mkdir(g_in, 0700) != 0 ||
        zq_filestore_open_dir(g_store, g_in, &g_fs, &err) != 0)
        return -1;
    return g_st != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    zq_filestore_free(g_fs);
    zq_store_free(g_st);
    zqt_redis_kill(&g_redis);
    zqt_rmtree(g_dir);
    return 0;
}

static long long cmd_int(const char *fmt, const char *a)
{
    zq_err err = {0};
    redisReply *r = zq_store_command(g_st, &err, fmt, a);
    long long v;

    assert_non_null(r);
    v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

static void session(const char *sid)
{
    zq_err err = {0};
    redisReply *r = zq_store_command(g_st, &err, "HSET t:sess:%s csrf x", sid);

    assert_non_null(r);
    freeReplyObject(r);
}

static json_t *rec(int i, long long size)
{
    char id[33];

    snprintf(id, sizeof(id), "%032x", i);
    return json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", id, "field", "evidence_files", "kind",
                     "contract", "name", "合同.pdf", "size", (json_int_t)size);
}

/* Writes a stored file for id i, as an upload that went in. */
static void stored(int i)
{
    char src[400], id[33];
    zq_err err = {0};
    FILE *f;

    snprintf(id, sizeof(id), "%032x", i);
    snprintf(src, sizeof(src), "%s/up%d", g_in, i);
    f = fopen(src, "w");
    assert_non_null(f);
    fputs("%PDF-1.7\n%%EOF\n", f);
    fclose(f);
    assert_int_equal(zq_filestore_put_path(g_fs, src, id, &err), 0);
}

static bool exists(int i)
{
    char id[33];
    zq_err err = {0};
    int fd;

    snprintf(id, sizeof(id), "%032x", i);
    fd = zq_filestore_open(g_fs, id, &err);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
}

static void test_limits(void **state)
{
    zq_files_limits lim = {.max_files = 3, .max_bytes = 1000};
    zq_err err = {0};
    json_t *r;
    int count = 0, i;
    uint64_t bytes = 0;

    (void)state;
    /* No session: nothing stored. */
    r = rec(1, 10);
    assert_int_equal(zq_files_add(g_st, SID, "complaint", r, &lim, 600, 1000, NULL, NULL, &err),
                     -ZQ_ENOTFOUND);
    json_decref(r);
    session(SID);
    for (i = 1; i <= 3; i++) {
        r = rec(i, 300);
        assert_int_equal(
            zq_files_add(g_st, SID, "complaint", r, &lim, 600, 1000, &count, &bytes, &err), 0);
        json_decref(r);
    }
    assert_int_equal(count, 3);
    assert_int_equal(bytes, 900);
    r = rec(4, 1);
    assert_int_equal(zq_files_add(g_st, SID, "complaint", r, &lim, 600, 1000, &count, &bytes, &err),
                     -ZQ_ECONFLICT);
    json_decref(r);
    lim.max_files = 10;
    r = rec(4, 101);
    assert_int_equal(zq_files_add(g_st, SID, "complaint", r, &lim, 600, 1000, &count, &bytes, &err),
                     -ZQ_ETOOBIG);
    json_decref(r);
    r = rec(4, 100);
    assert_int_equal(zq_files_add(g_st, SID, "complaint", r, &lim, 600, 1000, &count, &bytes, &err),
                     0);
    json_decref(r);
    assert_int_equal(bytes, 1000);
    assert_int_equal(cmd_int("ZCARD t:files:pending%s", ""), 4);
    /* Removal: only this draft's ids; the last one removes the list. */
    assert_int_equal(
        zq_files_remove(g_st, SID2, "complaint", "00000000000000000000000000000001", &err),
        -ZQ_ENOTFOUND);
    for (i = 1; i <= 4; i++) {
        char id[33];

        snprintf(id, sizeof(id), "%032x", i);
        assert_int_equal(zq_files_remove(g_st, SID, "complaint", id, &err), 0);
        assert_int_equal(zq_files_remove(g_st, SID, "complaint", id, &err), -ZQ_ENOTFOUND);
    }
    assert_int_equal(cmd_int("HEXISTS t:sess:%s u:complaint", SID), 0);
    assert_int_equal(cmd_int("ZCARD t:files:pending%s", ""), 0);
}

static void test_sweep(void **state)
{
    zq_files_limits lim = {.max_files = 20, .max_bytes = 1 << 20};
    zq_err err = {0};
    json_t *r;
    int removed = -1;

    (void)state;
    session(SID);
    session(SID2);
    stored(11);
    stored(12);
    r = rec(11, 10);
    assert_int_equal(zq_files_add(g_st, SID, "complaint", r, &lim, 600, 1000, NULL, NULL, &err), 0);
    json_decref(r);
    r = rec(12, 10);
    assert_int_equal(zq_files_add(g_st, SID2, "complaint", r, &lim, 600, 1000, NULL, NULL, &err),
                     0);
    json_decref(r);
    /* Not stale yet: nothing looked at. */
    assert_int_equal(zq_files_sweep(g_st, g_fs, 999, 5000, 100, &removed, &err), 0);
    assert_int_equal(removed, 0);
    /* SID2's session ends: its upload goes, SID's is marked seen. */
    assert_int_equal(cmd_int("DEL t:sess:%s", SID2), 1);
    assert_int_equal(zq_files_sweep(g_st, g_fs, 2000, 5000, 100, &removed, &err), 0);
    assert_int_equal(removed, 1);
    assert_false(exists(12));
    assert_true(exists(11));
    assert_int_equal(cmd_int("ZCARD t:files:pending%s", ""), 1);
    assert_int_equal(zq_files_sweep(g_st, g_fs, 2000, 6000, 100, &removed, &err), 0);
    assert_int_equal(removed, 0);
    assert_true(exists(11));
}

static void test_attach_case(void **state)
{
    zq_err err = {0};
    redisReply *x;
    json_t *r = rec(21, 42), *more;

    (void)state;
    assert_int_equal(zq_files_attach_case(g_st, "TS20261206-0001", r, "合同", &err), -ZQ_ENOTFOUND);
    x = zq_store_command(g_st, &err, "HSET t:case:TS20261206-0001 id TS20261206-0001");
    freeReplyObject(x);
    assert_int_equal(zq_files_attach_case(g_st, "TS20261206-0001", r, "合同", &err), 0);
    json_decref(r);
    r = rec(22, 7);
    assert_int_equal(zq_files_attach_case(g_st, "TS20261206-0001", r, "发票", &err), 0);
    json_decref(r);
    x = zq_store_command(g_st, &err, "HMGET t:case:TS20261206-0001 files_more files_pub");
    assert_int_equal(x->type, REDIS_REPLY_ARRAY);
    more = json_loads(x->element[0]->str, 0, NULL);
    assert_int_equal(json_array_size(more), 2);
    assert_non_null(zq_files_find_case(NULL, NULL, more, "00000000000000000000000000000016"));
    assert_null(zq_files_find_case(NULL, NULL, more, "00000000000000000000000000000017"));
    assert_non_null(strstr(x->element[1]->str, "发票"));
    json_decref(more);
    freeReplyObject(x);
}

/* A draft resumed in another session takes its uploads along, with their
 * pending marks, as far as the new session's limits allow; a session that
 * has gone takes nothing. */
static void test_take(void **state)
{
    static const char *SID3 = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    zq_files_limits lim = {.max_files = 3, .max_bytes = 1000};
    zq_err err = {0};
    json_t *r, *files = NULL;
    int i, left = -1;

    (void)state;
    cmd_int("DEL t:files:pending%s", "");
    cmd_int("DEL t:sess:%s", SID);
    cmd_int("DEL t:sess:%s", SID2);
    cmd_int("DEL t:sess:%s", SID3);
    session(SID);
    session(SID2);
    for (i = 31; i <= 33; i++) {
        r = rec(i, 300);
        assert_int_equal(zq_files_add(g_st, SID, "complaint", r, &lim, 600, 1000, NULL, NULL, &err),
                         0);
        json_decref(r);
    }
    r = rec(34, 50);
    assert_int_equal(zq_files_add(g_st, SID2, "complaint", r, &lim, 600, 1000, NULL, NULL, &err),
                     0);
    json_decref(r);
    /* Into a session that has gone: nothing moves, nothing is written. */
    assert_int_equal(
        zq_files_take(g_st, "complaint", SID, SID3, &lim, 600, 2000, &left, &files, &err), 0);
    assert_null(files);
    assert_int_equal(cmd_int("EXISTS t:sess:%s", SID3), 0);
    /* SID2 holds one file of 50 bytes: two of SID's fit (3 files at most). */
    assert_int_equal(
        zq_files_take(g_st, "complaint", SID, SID2, &lim, 600, 2000, &left, &files, &err), 2);
    assert_int_equal(left, 1);
    assert_int_equal(json_array_size(files), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(files, 0), "id")),
                        "00000000000000000000000000000022");
    json_decref(files);
    assert_int_equal(cmd_int("ZSCORE t:files:pending 0000000000000000000000000000001f:%s", SID),
                     -1);
    assert_int_equal(cmd_int("ZCARD t:files:pending%s", ""), 4);
    /* What stayed is still SID's, and removable there only. */
    assert_int_equal(
        zq_files_remove(g_st, SID2, "complaint", "00000000000000000000000000000021", &err),
        -ZQ_ENOTFOUND);
    assert_int_equal(
        zq_files_remove(g_st, SID, "complaint", "00000000000000000000000000000021", &err), 0);
    assert_int_equal(cmd_int("HEXISTS t:sess:%s u:complaint", SID), 0);
    /* Nothing left to take: the target's list as it is. */
    assert_int_equal(
        zq_files_take(g_st, "complaint", SID, SID2, &lim, 600, 3000, &left, &files, &err), 0);
    assert_int_equal(left, 0);
    assert_int_equal(json_array_size(files), 3);
    json_decref(files);
}

/* A case names its draft's uploads only while they are still that
 * draft's: once a resumed draft took them elsewhere, the case is refused
 * whole (nothing stored), so that no case names a file another session's
 * sweep would remove. */
static void test_case_needs_own_uploads(void **state)
{
    static const zq_form form = {.id = "complaint", .title = "投诉", .case_prefix = "TS"};
    static const char *FID = "00000000000000000000000000000029";
    zq_files_limits lim = {.max_files = 3, .max_bytes = 1000};
    zq_case_new in = {0};
    zq_err err = {0};
    char id[ZQ_CASE_ID_MAX], dup[ZQ_CASE_ID_MAX], theirs[128], mine[128];
    bool created = true;
    json_t *r = rec(41, 10), *answers = json_pack("{s:s}", "company_name", "甲公司");

    (void)state;
    cmd_int("DEL t:files:pending%s", "");
    cmd_int("DEL t:cases:all%s", "");
    cmd_int("DEL t:sess:%s", SID);
    session(SID);
    assert_int_equal(zq_files_add(g_st, SID, "complaint", r, &lim, 600, 1000, NULL, NULL, &err), 0);
    json_decref(r);
    snprintf(theirs, sizeof(theirs), "%s:%s", FID, SID2);
    snprintf(mine, sizeof(mine), "%s:%s", FID, SID);
    in.form = &form;
    in.answers = answers;
    in.idem_key = "moved-1";
    in.source = "web";
    in.now_ms = 1000;
    in.files_pending = theirs;
    assert_int_equal(zq_case_create(g_st, &in, id, &created, dup, &err), -ZQ_ECONFLICT);
    assert_int_equal(cmd_int("ZCARD t:cases:all%s", ""), 0);
    assert_int_equal(cmd_int("ZCARD t:files:pending%s", ""), 1);
    in.files_pending = mine;
    assert_int_equal(zq_case_create(g_st, &in, id, &created, dup, &err), 0);
    assert_true(created);
    assert_int_equal(cmd_int("ZCARD t:cases:all%s", ""), 1);
    assert_int_equal(cmd_int("ZCARD t:files:pending%s", ""), 0);
    /* The same key again returns the case, whatever the uploads say. */
    in.files_pending = theirs;
    assert_int_equal(zq_case_create(g_st, &in, id, &created, dup, &err), 0);
    assert_false(created);
    json_decref(answers);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_attach_case),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_case_needs_own_uploads),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

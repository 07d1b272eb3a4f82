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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_attach_case),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

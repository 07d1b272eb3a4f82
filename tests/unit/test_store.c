/* Unit tests for the Redis store against private redis-server and sentinel
 * processes: direct and unix-socket connections, AUTH, SELECT, timeouts,
 * outage with back-off and recovery, pipelining, and Sentinel fail-over. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "redis_helper.h"
#include "zhuqi/log.h"
#include "zhuqi/store.h"

#define MASTER_NAME "mymaster"
#define FX_MAX 8

static char g_dir[256];  /* the temporary directory of this run */
static zqt_redis g_main; /* shared by the tests that do not break it */

/* What one test started, released by fx_teardown even when it failed. */
static struct {
    zq_store *stores[FX_MAX];
    int nstores;
    zqt_redis srv[FX_MAX];
    int nsrv;
    int fake_fd; /* read end: one byte per connection to the fake sentinel */
} fx = {.fake_fd = -1};

static int fx_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < fx.nstores; i++)
        zq_store_free(fx.stores[i]);
    for (int i = 0; i < fx.nsrv; i++)
        zqt_redis_kill(&fx.srv[i]);
    if (fx.fake_fd >= 0)
        close(fx.fake_fd);
    memset(&fx, 0, sizeof(fx));
    fx.fake_fd = -1;
    return 0;
}

static zq_store *fx_store(const zq_redis_config *cfg)
{
    zq_store *st;

    assert_true(fx.nstores < FX_MAX);
    st = zq_store_new(cfg);
    assert_non_null(st);
    fx.stores[fx.nstores++] = st;
    return st;
}

/* Starts a server owned by this test; port 0 picks one, -1 is unix only. */
static zqt_redis *fx_redis(int port, bool with_unix, const char *const *extra)
{
    zqt_redis *r;

    assert_true(fx.nsrv < FX_MAX);
    r = &fx.srv[fx.nsrv++];
    assert_int_equal(zqt_redis_start(r, g_dir, port, with_unix, extra), 0);
    return r;
}

static zqt_redis *fx_sentinel(int master_port)
{
    zqt_redis *r;

    assert_true(fx.nsrv < FX_MAX);
    r = &fx.srv[fx.nsrv++];
    assert_int_equal(zqt_sentinel_start(r, g_dir, MASTER_NAME, master_port), 0);
    return r;
}

/* A lying sentinel: answers every command with 127.0.0.1:answer_port, as a
 * sentinel with stale state would after a fail-over. It writes a byte to
 * fx.fake_fd for every connection it accepts. */
static zqt_redis *fx_fake_sentinel(int answer_port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    char reply[128], portbuf[16];
    zqt_redis *r;
    pid_t parent = getpid();
    int lfd, one = 1, pfd[2];

    assert_true(fx.nsrv < FX_MAX);
    assert_true(fx.fake_fd < 0);
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    fx.fake_fd = pfd[0];
    assert_int_equal(fcntl(pfd[0], F_SETFL, O_NONBLOCK), 0);
    r = &fx.srv[fx.nsrv++];
    memset(r, 0, sizeof(*r));
    snprintf(portbuf, sizeof(portbuf), "%d", answer_port);
    snprintf(reply, sizeof(reply), "*2\r\n$9\r\n127.0.0.1\r\n$%zu\r\n%s\r\n", strlen(portbuf),
             portbuf);

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(listen(lfd, 8), 0);
    r->port = ntohs(sa.sin_port);

    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        for (;;) {
            char buf[4096];
            int c = accept(lfd, NULL, NULL);

            if (c < 0) {
                if (errno == EINTR)
                    continue;
                _exit(1);
            }
            if (write(pfd[1], "c", 1) != 1)
                _exit(1);
            /* hiredis writes each command at once: one read, one answer. */
            while (read(c, buf, sizeof(buf)) > 0)
                if (write(c, reply, strlen(reply)) < 0)
                    break;
            close(c);
        }
    }
    zqt_track(r->pid);
    close(lfd);
    close(pfd[1]);
    return r;
}

/* Connections the fake sentinel accepted since the last call. */
static int fake_sentinel_hits(void)
{
    char buf[64];
    ssize_t n;
    int hits = 0;

    while ((n = read(fx.fake_fd, buf, sizeof(buf))) > 0)
        hits += (int)n;
    return hits;
}

static zq_redis_config cfg_addr(const char *addr)
{
    zq_redis_config c;

    memset(&c, 0, sizeof(c));
    snprintf(c.address, sizeof(c.address), "%s", addr);
    c.connect_timeout_ms = 1000;
    c.command_timeout_ms = 1000;
    c.backoff_min_ms = 100;
    c.backoff_max_ms = 800;
    snprintf(c.prefix, sizeof(c.prefix), "zq:");
    return c;
}

static zq_redis_config cfg_tcp(const zqt_redis *r)
{
    char addr[64];

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", r->port);
    return cfg_addr(addr);
}

static void assert_status(redisReply *r, const char *want)
{
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("error reply: %s", r->str);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    assert_string_equal(r->str, want);
    freeReplyObject(r);
}

static void assert_str_reply(redisReply *r, const char *want)
{
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, want);
    freeReplyObject(r);
}

/* GET key in database db of r, through a connection of our own. Returns
 * a malloc'ed value or NULL for nil. */
static char *direct_get(const zqt_redis *r, int db, const char *key)
{
    redisContext *c = zqt_connect(r, 2000);
    redisReply *rep;
    char *out = NULL;

    assert_non_null(c);
    rep = redisCommand(c, "SELECT %d", db);
    assert_non_null(rep);
    freeReplyObject(rep);
    rep = redisCommand(c, "GET %s", key);
    assert_non_null(rep);
    if (rep->type == REDIS_REPLY_STRING)
        out = strdup(rep->str);
    freeReplyObject(rep);
    redisFree(c);
    return out;
}

static void test_connect_set_get(void **state)
{
    zq_redis_config cfg = cfg_tcp(&g_main);
    zq_store *st = fx_store(&cfg);
    zq_err err = {0};
    char peer[64];
    const char *argv[3] = {"SET", "zq:test:bin", "a\0b"};
    const size_t lens[3] = {3, 11, 3};
    uint64_t errors;
    redisReply *r;

    assert_string_equal(zq_store_peer(st), "-");
    assert_string_equal(zq_store_prefix(st), "zq:");
    assert_int_equal(zq_store_connect(st, &err), 0);
    snprintf(peer, sizeof(peer), "127.0.0.1:%d", g_main.port);
    assert_string_equal(zq_store_peer(st), peer);

    assert_status(zq_store_command(st, &err, "SET %s %s", "zq:test:basic", "你好"), "OK");
    assert_str_reply(zq_store_command(st, &err, "GET %s", "zq:test:basic"), "你好");

    assert_status(zq_store_commandv(st, &err, 3, argv, lens), "OK");
    r = zq_store_command(st, &err, "GET %s", "zq:test:bin");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, 3);
    assert_memory_equal(r->str, "a\0b", 3);
    freeReplyObject(r);

    /* A Redis error is a reply, and the connection stays. */
    errors = zq_store_error_count();
    r = zq_store_command(st, &err, "INCR %s", "zq:test:basic");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    assert_string_equal(zq_store_peer(st), peer);
    assert_int_equal(zq_store_error_count(), errors);
    assert_int_equal(zq_store_ping(st, &err), 0);
}

static void test_unix_socket(void **state)
{
    zqt_redis *r = fx_redis(-1, true, NULL);
    char addr[300];
    zq_redis_config cfg;
    zq_store *st;
    zq_err err = {0};

    snprintf(addr, sizeof(addr), "unix:%s", r->sock);
    cfg = cfg_addr(addr);
    st = fx_store(&cfg);
    assert_int_equal(zq_store_ping(st, &err), 0);
    assert_string_equal(zq_store_peer(st), addr);
    assert_status(zq_store_command(st, &err, "SET %s %s", "zq:test:unix", "1"), "OK");
    assert_str_reply(zq_store_command(st, &err, "GET %s", "zq:test:unix"), "1");
}

static void test_password(void **state)
{
    static const char *const extra[] = {"--requirepass", "s3cret-pw", NULL};
    zqt_redis *r = fx_redis(0, false, extra);
    zq_redis_config good = cfg_tcp(r), bad = cfg_tcp(r), none = cfg_tcp(r);
    zq_store *st;
    zq_err err = {0};
    uint64_t errors;

    snprintf(good.password, sizeof(good.password), "s3cret-pw");
    st = fx_store(&good);
    assert_int_equal(zq_store_ping(st, &err), 0);
    assert_status(zq_store_command(st, &err, "SET %s %s", "zq:test:pw", "1"), "OK");

    snprintf(bad.password, sizeof(bad.password), "wrong-pw");
    st = fx_store(&bad);
    errors = zq_store_error_count();
    assert_int_equal(zq_store_ping(st, &err), -ZQ_EUNAVAIL);
    assert_int_equal(err.code, ZQ_EUNAVAIL);
    assert_non_null(strstr(err.msg, "AUTH"));
    assert_null(strstr(err.msg, "wrong-pw")); /* never echo the secret */
    assert_string_equal(zq_store_peer(st), "-");
    assert_int_equal(zq_store_error_count(), errors + 1);

    /* No password against a server that wants one: Redis says NOAUTH. */
    st = fx_store(&none);
    assert_int_equal(zq_store_ping(st, &err), -ZQ_EREPLY);
    assert_non_null(strstr(err.msg, "NOAUTH"));
}

static void test_db_select_and_reconfigure(void **state)
{
    zq_redis_config cfg = cfg_tcp(&g_main);
    zq_store *st;
    zq_err err = {0};
    redisReply *r;
    long long id1, id2;
    char *v;

    cfg.db = 3;
    st = fx_store(&cfg);
    assert_status(zq_store_command(st, &err, "SET %s %s", "zq:test:db", "three"), "OK");
    v = direct_get(&g_main, 3, "zq:test:db");
    assert_non_null(v);
    assert_string_equal(v, "three");
    free(v);
    assert_null(direct_get(&g_main, 0, "zq:test:db"));

    r = zq_store_command(st, &err, "CLIENT ID");
    assert_non_null(r);
    id1 = r->integer;
    freeReplyObject(r);

    /* Only a timeout changed: the connection stays. */
    cfg.command_timeout_ms = 1500;
    zq_store_reconfigure(st, &cfg);
    assert_string_not_equal(zq_store_peer(st), "-");
    r = zq_store_command(st, &err, "CLIENT ID");
    assert_non_null(r);
    id2 = r->integer;
    freeReplyObject(r);
    assert_true(id1 == id2);

    /* Another database: reconnect. */
    cfg.db = 4;
    zq_store_reconfigure(st, &cfg);
    assert_string_equal(zq_store_peer(st), "-");
    r = zq_store_command(st, &err, "GET %s", "zq:test:db");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    assert_status(zq_store_command(st, &err, "SET %s %s", "zq:test:db", "four"), "OK");
    v = direct_get(&g_main, 4, "zq:test:db");
    assert_non_null(v);
    assert_string_equal(v, "four");
    free(v);
}

static void test_command_timeout(void **state)
{
    zq_redis_config cfg = cfg_tcp(&g_main);
    zq_store *st;
    zq_err err = {0};
    uint64_t errors;
    int64_t t0, took;
    redisReply *r;

    cfg.command_timeout_ms = 200;
    st = fx_store(&cfg);
    assert_int_equal(zq_store_ping(st, &err), 0);
    errors = zq_store_error_count();

    /* The server is fine; only this client waits longer than allowed. */
    t0 = zqt_now_ms();
    r = zq_store_command(st, &err, "BLPOP %s %d", "zq:test:nolist", 3);
    took = zqt_now_ms() - t0;
    assert_null(r);
    assert_int_equal(err.code, ZQ_EUNAVAIL);
    assert_non_null(strstr(err.msg, "timed out"));
    assert_true(took >= 150);
    assert_true(took < 2000);
    assert_int_equal(zq_store_error_count(), errors + 1);
    assert_string_equal(zq_store_peer(st), "-");
    print_message("# command timeout 200 ms: call returned after %lld ms\n", (long long)took);

    /* The very next call reconnects, without back-off. */
    t0 = zqt_now_ms();
    assert_int_equal(zq_store_ping(st, &err), 0);
    assert_true(zqt_now_ms() - t0 < 500);
}

static void test_outage_backoff_recovery(void **state)
{
    zqt_redis *r = fx_redis(0, false, NULL);
    zq_redis_config cfg = cfg_tcp(r);
    zq_store *st;
    zq_err err = {0};
    uint64_t errors;
    int64_t t0, t_us0, took, took_us, recovered;
    struct timespec ts;
    int port = r->port, rc = -1;

    cfg.backoff_min_ms = 300;
    cfg.backoff_max_ms = 2000;
    st = fx_store(&cfg);
    assert_status(zq_store_command(st, &err, "SET %s %s", "zq:test:out", "1"), "OK");
    errors = zq_store_error_count();

    zqt_redis_kill(r);

    /* The live connection fails: EOF at once. */
    t0 = zqt_now_ms();
    assert_null(zq_store_command(st, &err, "GET %s", "zq:test:out"));
    took = zqt_now_ms() - t0;
    assert_int_equal(err.code, ZQ_EUNAVAIL);
    assert_true(took < 200);
    assert_int_equal(zq_store_error_count(), errors + 1);
    print_message("# redis killed: first command failed after %lld ms\n", (long long)took);

    /* First reconnect after a good connection: tried at once, refused. */
    t0 = zqt_now_ms();
    assert_null(zq_store_command(st, &err, "GET %s", "zq:test:out"));
    took = zqt_now_ms() - t0;
    assert_int_equal(err.code, ZQ_EUNAVAIL);
    assert_true(took < 200);
    assert_int_equal(zq_store_error_count(), errors + 2);

    /* Inside the back-off: no network at all, so no new error counted. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t_us0 = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    assert_int_equal(zq_store_connect(st, &err), -ZQ_EUNAVAIL);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    took_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - t_us0;
    assert_true(took_us < 200000);
    assert_non_null(strstr(err.msg, "retry in"));
    assert_null(zq_store_command(st, &err, "GET %s", "zq:test:out"));
    assert_int_equal(err.code, ZQ_EUNAVAIL);
    assert_int_equal(zq_store_ping(st, &err), -ZQ_EUNAVAIL);
    assert_int_equal(zq_store_error_count(), errors + 2);
    print_message("# during back-off: zq_store_connect returned in %lld us\n", (long long)took_us);

    /* Redis comes back on the same port: the same store finds it. */
    assert_int_equal(zqt_redis_start(r, g_dir, port, false, NULL), 0);
    t0 = zqt_now_ms();
    while (zqt_now_ms() - t0 < 5000) {
        rc = zq_store_ping(st, &err);
        if (rc == 0)
            break;
        zqt_sleep_ms(10);
    }
    recovered = zqt_now_ms() - t0;
    assert_int_equal(rc, 0);
    assert_true(zq_store_error_count() >= errors + 2);
    assert_status(zq_store_command(st, &err, "SET %s %s", "zq:test:out", "2"), "OK");
    assert_str_reply(zq_store_command(st, &err, "GET %s", "zq:test:out"), "2");
    print_message("# redis restarted: store back after %lld ms (back-off min 300 ms)\n",
                  (long long)recovered);
}

static void test_backoff_bounds(void **state)
{
    zq_redis_config cfg;
    zq_store *st;
    zq_err err = {0};
    char addr[64];
    int64_t t0, last = 0, gap = 0, max_gap = 0;
    uint64_t before, seen;
    int calls = 0, attempts;

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", zqt_free_port());
    cfg = cfg_addr(addr);
    cfg.backoff_min_ms = 50;
    cfg.backoff_max_ms = 200;
    st = fx_store(&cfg);

    before = seen = zq_store_error_count();
    t0 = zqt_now_ms();
    while (zqt_now_ms() - t0 < 1500) {
        assert_int_equal(zq_store_connect(st, &err), -ZQ_EUNAVAIL);
        calls++;
        if (zq_store_error_count() != seen) {
            int64_t now = zqt_now_ms();

            seen = zq_store_error_count();
            if (last != 0) {
                gap = now - last;
                if (gap > max_gap)
                    max_gap = gap;
            }
            last = now;
        }
        zqt_sleep_ms(5);
    }
    attempts = (int)(seen - before);
    print_message("# back-off 50..200 ms: %d calls in 1.5 s made %d attempts, last gap %lld ms\n",
                  calls, attempts, (long long)gap);
    /* Without back-off every call would try; with it, ~8 attempts. */
    assert_true(attempts >= 4);
    assert_true(attempts <= 20);
    assert_true(gap >= 150); /* doubled to the maximum */
    assert_true(max_gap <= 1500);

    /* A new address resets the back-off: the next call connects. */
    cfg = cfg_tcp(&g_main);
    zq_store_reconfigure(st, &cfg);
    assert_int_equal(zq_store_ping(st, &err), 0);
}

static void test_bad_address(void **state)
{
    static const char *const bad[] = {"no-port", "unix:", "127.0.0.1:99999", ":6380", "host:"};
    zq_err err = {0};

    for (size_t i = 0; i < ZQ_ARRAY_LEN(bad); i++) {
        zq_redis_config cfg = cfg_addr(bad[i]);
        zq_store *st = fx_store(&cfg);

        assert_int_equal(zq_store_ping(st, &err), -ZQ_EUNAVAIL);
        assert_non_null(strstr(err.msg, "bad redis address"));
    }
    zq_store_free(NULL);
}

static void test_pipeline(void **state)
{
    zq_redis_config cfg = cfg_tcp(&g_main);
    zq_store *st, *dead;
    zq_err err = {0};
    redisReply *rep[3];
    char addr[64];
    uint64_t errors;

    cfg.command_timeout_ms = 200;
    st = fx_store(&cfg);
    assert_int_equal(zq_store_append(st, "SET %s %d", "zq:test:pipe", 1), 0);
    assert_int_equal(zq_store_append(st, "INCR %s", "zq:test:pipe"), 0);
    assert_int_equal(zq_store_append(st, "GET %s", "zq:test:pipe"), 0);
    assert_int_equal(zq_store_read_replies(st, &err, 3, rep), 0);
    assert_int_equal(rep[0]->type, REDIS_REPLY_STATUS);
    assert_int_equal(rep[1]->type, REDIS_REPLY_INTEGER);
    assert_int_equal(rep[1]->integer, 2);
    assert_int_equal(rep[2]->type, REDIS_REPLY_STRING);
    assert_string_equal(rep[2]->str, "2");
    for (int i = 0; i < 3; i++)
        freeReplyObject(rep[i]);

    /* Commands by argv and written in the protocol, mixed in one pipeline;
     * values with spaces, CR LF and NUL go through whole. */
    {
        static const char val[] = "a b\r\n\0c";
        zq_buf cmds = {0};

        assert_int_equal(
            zq_store_appendv(st, 3, (const char *[]){"SET", "zq:test:argv", "x y"}, NULL), 0);
        zq_buf_puts(&cmds, "*3\r\n");
        zq_store_resp_arg(&cmds, "SET", 3);
        zq_store_resp_arg(&cmds, "zq:test:resp", 12);
        zq_store_resp_arg(&cmds, val, sizeof(val) - 1);
        zq_buf_puts(&cmds, "*2\r\n");
        zq_store_resp_arg(&cmds, "GET", 3);
        zq_store_resp_arg(&cmds, "zq:test:resp", 12);
        assert_false(cmds.oom);
        assert_int_equal(zq_store_append_resp(st, cmds.data, cmds.len, 2), 0);
        zq_buf_free(&cmds);
        assert_int_equal(zq_store_read_replies(st, &err, 3, rep), 0);
        assert_string_equal(rep[0]->str, "OK");
        assert_string_equal(rep[1]->str, "OK");
        assert_int_equal(rep[2]->type, REDIS_REPLY_STRING);
        assert_int_equal(rep[2]->len, sizeof(val) - 1);
        assert_memory_equal(rep[2]->str, val, sizeof(val) - 1);
        for (int i = 0; i < 3; i++)
            freeReplyObject(rep[i]);
    }

    /* Asking for fewer replies than appended would desynchronise. */
    assert_int_equal(zq_store_append(st, "PING"), 0);
    assert_int_equal(zq_store_append(st, "PING"), 0);
    assert_int_equal(zq_store_read_replies(st, &err, 1, rep), -ZQ_EINVAL);
    assert_null(rep[0]);
    assert_str_reply(zq_store_command(st, &err, "GET %s", "zq:test:pipe"), "2");

    /* A command after appends without reading gets its own reply. */
    assert_int_equal(zq_store_append(st, "PING"), 0);
    assert_str_reply(zq_store_command(st, &err, "GET %s", "zq:test:pipe"), "2");

    /* The connection fails in the middle: partial replies are freed. */
    errors = zq_store_error_count();
    assert_int_equal(zq_store_append(st, "SET %s %s", "zq:test:pipe2", "x"), 0);
    assert_int_equal(zq_store_append(st, "BLPOP %s %d", "zq:test:nolist", 2), 0);
    assert_int_equal(zq_store_read_replies(st, &err, 2, rep), -ZQ_EUNAVAIL);
    assert_int_equal(err.code, ZQ_EUNAVAIL);
    assert_null(rep[0]);
    assert_null(rep[1]);
    assert_int_equal(zq_store_error_count(), errors + 1);
    assert_int_equal(zq_store_ping(st, &err), 0);

    /* No Redis: append fails and so does the read, with no replies. */
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", zqt_free_port());
    cfg = cfg_addr(addr);
    dead = fx_store(&cfg);
    assert_int_equal(zq_store_append(dead, "PING"), -ZQ_EUNAVAIL);
    assert_int_equal(zq_store_append(dead, "PING"), -ZQ_EUNAVAIL);
    rep[0] = rep[1] = (redisReply *)&err; /* must be overwritten */
    assert_int_equal(zq_store_read_replies(dead, &err, 2, rep), -ZQ_EUNAVAIL);
    assert_null(rep[0]);
    assert_null(rep[1]);
    assert_int_equal(err.code, ZQ_EUNAVAIL);
}

/* Polls INFO replication on r until the link to its master is up. */
static void wait_replica_synced(const zqt_redis *r)
{
    int64_t t0 = zqt_now_ms();

    while (zqt_now_ms() - t0 < 10000) {
        redisReply *rep = zqt_cmd(r, "INFO replication");
        bool up = rep != NULL && rep->type == REDIS_REPLY_STRING &&
                  strstr(rep->str, "master_link_status:up") != NULL;

        freeReplyObject(rep);
        if (up)
            return;
        zqt_sleep_ms(50);
    }
    fail_msg("replica on port %d did not sync", r->port);
}

/* Polls the master until it counts a replica as online: the replica says
 * its link is up a moment before the master does, and WAIT asks only
 * the replicas the master counts (a busy machine widens that moment). */
static void wait_master_sees_replica(const zqt_redis *m)
{
    int64_t t0 = zqt_now_ms();

    while (zqt_now_ms() - t0 < 10000) {
        redisReply *rep = zqt_cmd(m, "INFO replication");
        bool up = rep != NULL && rep->type == REDIS_REPLY_STRING &&
                  strstr(rep->str, "state=online") != NULL;

        freeReplyObject(rep);
        if (up)
            return;
        zqt_sleep_ms(50);
    }
    fail_msg("master on port %d lists no online replica", m->port);
}

/* Polls the sentinel until it lists a healthy replica on replica_port. */
static void wait_sentinel_sees_replica(const zqt_redis *s, int replica_port)
{
    int64_t t0 = zqt_now_ms();
    char port[16];

    snprintf(port, sizeof(port), "%d", replica_port);
    while (zqt_now_ms() - t0 < 10000) {
        redisReply *rep = zqt_cmd(s, "SENTINEL replicas %s", MASTER_NAME);
        bool ok = false;

        for (size_t i = 0; rep != NULL && rep->type == REDIS_REPLY_ARRAY && i < rep->elements;
             i++) {
            const redisReply *e = rep->element[i];
            bool port_ok = false, flags_ok = false;

            for (size_t j = 0; e->type == REDIS_REPLY_ARRAY && j + 1 < e->elements; j += 2) {
                const char *k = e->element[j]->str, *v = e->element[j + 1]->str;

                if (k == NULL || v == NULL)
                    continue;
                if (strcmp(k, "port") == 0 && strcmp(v, port) == 0)
                    port_ok = true;
                if (strcmp(k, "flags") == 0 && strcmp(v, "slave") == 0)
                    flags_ok = true;
            }
            ok = ok || (port_ok && flags_ok);
        }
        freeReplyObject(rep);
        if (ok)
            return;
        zqt_sleep_ms(100);
    }
    fail_msg("sentinel did not discover the replica");
}

/* Closes every client connection of r except our own. */
static void kill_clients(const zqt_redis *r)
{
    redisReply *rep = zqt_cmd(r, "CLIENT KILL TYPE normal SKIPME yes");

    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
    assert_true(rep->integer >= 1);
    freeReplyObject(rep);
}

static void test_readonly_replica(void **state)
{
    static const char *const mextra[] = {"--repl-diskless-sync-delay", "0", NULL};
    zqt_redis *m = fx_redis(0, false, mextra);
    const char *rextra[] = {"--replicaof", "127.0.0.1", NULL, NULL};
    char mport[16];
    zqt_redis *rep;
    zq_redis_config cfg;
    zq_store *st;
    zq_err err = {0};
    redisReply *r;
    uint64_t errors;

    snprintf(mport, sizeof(mport), "%d", m->port);
    rextra[2] = mport;
    rep = fx_redis(0, false, rextra);
    wait_replica_synced(rep);

    /* Talking straight to a replica, as after a fail-over: the error comes
     * back as a reply and the connection is dropped for re-resolution. */
    cfg = cfg_tcp(rep);
    st = fx_store(&cfg);
    assert_int_equal(zq_store_ping(st, &err), 0);
    errors = zq_store_error_count();
    r = zq_store_command(st, &err, "SET %s %s", "zq:test:ro", "1");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_true(strncmp(r->str, "READONLY", 8) == 0);
    freeReplyObject(r);
    assert_string_equal(zq_store_peer(st), "-");
    assert_int_equal(zq_store_error_count(), errors);
    /* Reads still work after reconnecting. */
    r = zq_store_command(st, &err, "GET %s", "zq:test:ro");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
}

static void test_sentinel_failover(void **state)
{
    static const char *const mextra[] = {"--repl-diskless-sync-delay", "0", NULL};
    zqt_redis *m = fx_redis(0, false, mextra);
    const char *rextra[] = {"--replicaof", "127.0.0.1", NULL, "--repl-diskless-sync-delay",
                            "0",           NULL};
    char mport[16], want[64];
    zqt_redis *rep, *sen, *fake;
    zq_redis_config cfg;
    zq_store *st;
    zq_err err = {0};
    redisReply *r;
    int64_t t0, took = -1;
    uint64_t errors;

    snprintf(mport, sizeof(mport), "%d", m->port);
    rextra[2] = mport;
    rep = fx_redis(0, false, rextra);
    wait_replica_synced(rep);
    sen = fx_sentinel(m->port);
    wait_sentinel_sees_replica(sen, rep->port);
    fake = fx_fake_sentinel(rep->port); /* names the replica as master */

    memset(&cfg, 0, sizeof(cfg));
    cfg.nsentinels = 3;
    snprintf(cfg.sentinels[0], sizeof(cfg.sentinels[0]), "127.0.0.1:%d", zqt_free_port());
    snprintf(cfg.sentinels[1], sizeof(cfg.sentinels[1]), "127.0.0.1:%d", fake->port);
    snprintf(cfg.sentinels[2], sizeof(cfg.sentinels[2]), "127.0.0.1:%d", sen->port);
    snprintf(cfg.master_name, sizeof(cfg.master_name), MASTER_NAME);
    cfg.connect_timeout_ms = 500;
    cfg.command_timeout_ms = 1000;
    cfg.backoff_min_ms = 100;
    cfg.backoff_max_ms = 400;
    snprintf(cfg.prefix, sizeof(cfg.prefix), "zq:");
    st = fx_store(&cfg);

    /* A dead sentinel, then one that names a replica (ROLE says slave),
     * then the real one. */
    assert_status(zq_store_command(st, &err, "SET %s %s", "zq:test:fo", "before"), "OK");
    /* Replication is asynchronous: without WAIT a write acknowledged just
     * before the crash may be lost in the fail-over. */
    r = zq_store_command(st, &err, "WAIT 1 2000");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    snprintf(want, sizeof(want), "127.0.0.1:%d", m->port);
    assert_string_equal(zq_store_peer(st), want);
    assert_int_equal(fake_sentinel_hits(), 1);

    /* The sentinel that answered is asked first next time: after the
     * connection is killed the liar is not consulted again. */
    kill_clients(m);
    assert_null(zq_store_command(st, &err, "PING"));
    assert_int_equal(zq_store_ping(st, &err), 0);
    assert_string_equal(zq_store_peer(st), want);
    assert_int_equal(fake_sentinel_hits(), 0);

    /* From now on only the real sentinel can name the new master. */
    zqt_redis_kill(fake);
    errors = zq_store_error_count();
    zqt_redis_kill(m);
    t0 = zqt_now_ms();
    while (zqt_now_ms() - t0 < 25000) {
        r = zq_store_command(st, &err, "SET %s %s", "zq:test:fo2", "after");
        if (r != NULL && r->type == REDIS_REPLY_STATUS) {
            freeReplyObject(r);
            took = zqt_now_ms() - t0;
            break;
        }
        freeReplyObject(r);
        zqt_sleep_ms(100);
    }
    print_message("# sentinel fail-over: same store writing to the new master after %lld ms\n",
                  (long long)took);
    assert_true(took >= 0);
    snprintf(want, sizeof(want), "127.0.0.1:%d", rep->port);
    assert_string_equal(zq_store_peer(st), want);
    assert_true(zq_store_error_count() > errors);
    /* What was written before the fail-over survived on the replica. */
    assert_str_reply(zq_store_command(st, &err, "GET %s", "zq:test:fo"), "before");
    assert_str_reply(zq_store_command(st, &err, "GET %s", "zq:test:fo2"), "after");
}

static void test_sentinel_none_reachable(void **state)
{
    zq_redis_config cfg;
    zq_store *st;
    zq_err err = {0};
    uint64_t errors = zq_store_error_count();
    int64_t t0;

    memset(&cfg, 0, sizeof(cfg));
    cfg.nsentinels = 2;
    snprintf(cfg.sentinels[0], sizeof(cfg.sentinels[0]), "127.0.0.1:%d", zqt_free_port());
    snprintf(cfg.sentinels[1], sizeof(cfg.sentinels[1]), "127.0.0.1:%d", zqt_free_port());
    snprintf(cfg.master_name, sizeof(cfg.master_name), MASTER_NAME);
    cfg.connect_timeout_ms = 500;
    cfg.backoff_min_ms = 1000;
    st = fx_store(&cfg);

    assert_null(zq_store_command(st, &err, "PING"));
    assert_int_equal(err.code, ZQ_EUNAVAIL);
    assert_non_null(strstr(err.msg, "sentinel"));
    assert_int_equal(zq_store_error_count(), errors + 1);
    t0 = zqt_now_ms();
    assert_int_equal(zq_store_ping(st, &err), -ZQ_EUNAVAIL);
    assert_true(zqt_now_ms() - t0 < 200);
    assert_int_equal(zq_store_error_count(), errors + 1);

    /* A sentinel that is a plain Redis (no SENTINEL command) fails too. */
    snprintf(cfg.sentinels[1], sizeof(cfg.sentinels[1]), "127.0.0.1:%d", g_main.port);
    zq_store_reconfigure(st, &cfg);
    assert_int_equal(zq_store_ping(st, &err), -ZQ_EUNAVAIL);
    assert_non_null(strstr(err.msg, "sentinel"));
}

/* zq_store_wait without replicas: auto mode does not wait; asking for one
 * explicitly fails after wait_timeout_ms and keeps the connection. */
static void test_wait_without_replica(void **state)
{
    zq_redis_config cfg = cfg_tcp(&g_main);
    zq_store *st;
    zq_err err = {0};
    uint64_t errors;
    int64_t t0, took;
    char peer[64];

    cfg.wait_replicas = -1;
    cfg.wait_timeout_ms = 150;
    st = fx_store(&cfg);
    /* Not connected yet: nothing was written here, so nothing to wait for
     * and nothing to prove; that is an error, not a silent success. */
    assert_int_equal(zq_store_wait(st, &err), -ZQ_EUNAVAIL);
    assert_status(zq_store_command(st, &err, "SET %s %s", "zq:test:w0", "x"), "OK");
    t0 = zqt_now_ms();
    assert_int_equal(zq_store_wait(st, &err), 0);
    assert_true(zqt_now_ms() - t0 < 100);

    cfg.wait_replicas = 1;
    zq_store_reconfigure(st, &cfg);
    assert_status(zq_store_command(st, &err, "SET %s %s", "zq:test:w0", "y"), "OK");
    errors = zq_store_error_count();
    t0 = zqt_now_ms();
    assert_int_equal(zq_store_wait(st, &err), -ZQ_EUNAVAIL);
    took = zqt_now_ms() - t0;
    assert_non_null(strstr(err.msg, "0 of 1"));
    assert_true(took >= 120);
    assert_true(took < 2000);
    /* A short WAIT is an answer, not a broken connection. */
    snprintf(peer, sizeof(peer), "127.0.0.1:%d", g_main.port);
    assert_string_equal(zq_store_peer(st), peer);
    assert_int_equal(zq_store_error_count(), errors);

    cfg.wait_replicas = 0;
    zq_store_reconfigure(st, &cfg);
    assert_int_equal(zq_store_wait(st, &err), 0);
}

/* With a replica: auto mode waits for it, so an acknowledged write is on
 * the replica at once; a replica that stops answering turns the write
 * into -ZQ_EUNAVAIL after wait_timeout_ms, even when that is longer than
 * the command timeout; and it is counted again once it is back. */
static void test_wait_with_replica(void **state)
{
    static const char *const mextra[] = {"--repl-diskless-sync-delay", "0", NULL};
    zqt_redis *m = fx_redis(0, false, mextra);
    const char *rextra[] = {"--replicaof", "127.0.0.1", NULL, NULL};
    char mport[16], peer[64];
    zqt_redis *rep;
    zq_redis_config cfg;
    zq_store *st;
    zq_err err = {0};
    uint64_t errors;
    int64_t t0, took;
    char *v;

    snprintf(mport, sizeof(mport), "%d", m->port);
    rextra[2] = mport;
    rep = fx_redis(0, false, rextra);
    wait_replica_synced(rep);
    wait_master_sees_replica(m);

    cfg = cfg_tcp(m);
    cfg.wait_replicas = -1;
    cfg.wait_timeout_ms = 1000;
    cfg.command_timeout_ms = 200; /* shorter than WAIT may block */
    st = fx_store(&cfg);
    for (int i = 0; i < 20; i++) {
        char val[16];

        snprintf(val, sizeof(val), "v%d", i);
        assert_status(zq_store_command(st, &err, "SET %s %s", "zq:test:w1", val), "OK");
        assert_int_equal(zq_store_wait(st, &err), 0);
        v = direct_get(rep, 0, "zq:test:w1");
        assert_non_null(v);
        assert_string_equal(v, val);
        free(v);
    }

    /* The replica freezes: still connected as far as the master knows,
     * but it acknowledges nothing. */
    assert_int_equal(kill(rep->pid, SIGSTOP), 0);
    assert_status(zq_store_command(st, &err, "SET %s %s", "zq:test:w1", "frozen"), "OK");
    errors = zq_store_error_count();
    t0 = zqt_now_ms();
    assert_int_equal(zq_store_wait(st, &err), -ZQ_EUNAVAIL);
    took = zqt_now_ms() - t0;
    kill(rep->pid, SIGCONT);
    print_message("# WAIT with a frozen replica: -ZQ_EUNAVAIL after %lld ms (%s)\n",
                  (long long)took, err.msg);
    assert_non_null(strstr(err.msg, "0 of 1"));
    assert_true(took >= 900);
    assert_true(took < 4000);
    snprintf(peer, sizeof(peer), "127.0.0.1:%d", m->port);
    assert_string_equal(zq_store_peer(st), peer);
    assert_int_equal(zq_store_error_count(), errors);
    /* The command timeout is back to normal after WAIT. */
    t0 = zqt_now_ms();
    assert_null(zq_store_command(st, &err, "BLPOP %s %d", "zq:test:nolist", 2));
    assert_true(zqt_now_ms() - t0 < 1500);

    /* Thawed, it catches up and writes are confirmed again. */
    assert_status(zq_store_command(st, &err, "SET %s %s", "zq:test:w1", "thawed"), "OK");
    assert_int_equal(zq_store_wait(st, &err), 0);
    v = direct_get(rep, 0, "zq:test:w1");
    assert_non_null(v);
    assert_string_equal(v, "thawed");
    free(v);
}

/* Keys are the namespace plus the rest, refused whole when too long. */
static void test_key(void **state)
{
    zq_redis_config c = cfg_addr("127.0.0.1:1");
    zq_store *st = zq_store_new(&c);
    char k[16];

    assert_non_null(st);
    assert_int_equal(zq_store_key(st, k, sizeof(k), "case:%s", "TS1"), 0);
    assert_string_equal(k, "zq:case:TS1");
    /* 15 characters fit in 16 bytes; 16 do not, and nothing is cut. */
    assert_int_equal(zq_store_key(st, k, sizeof(k), "case:%s", "TS12345"), 0);
    assert_string_equal(k, "zq:case:TS12345");
    assert_int_equal(zq_store_key(st, k, sizeof(k), "case:%s", "TS123456"), -ZQ_ETOOBIG);
    assert_string_equal(k, "");
    assert_int_equal(zq_store_key(st, k, 3, "x"), -ZQ_ETOOBIG);
    assert_int_equal(zq_store_key(st, k, 0, "x"), -ZQ_ETOOBIG);
    /* Formats of %s only are written without vsnprintf, the others with
     * it: the same keys and limits either way. */
    assert_int_equal(zq_store_key(st, k, sizeof(k), "%s:%s:%s", "a", "", "bc"), 0);
    assert_string_equal(k, "zq:a::bc");
    assert_int_equal(zq_store_key(st, k, sizeof(k), "%s", "123456789012"), 0);
    assert_string_equal(k, "zq:123456789012");
    assert_int_equal(zq_store_key(st, k, sizeof(k), "%s%s", "1234567890", "123"), -ZQ_ETOOBIG);
    assert_string_equal(k, "");
    assert_int_equal(zq_store_key(st, k, sizeof(k), "n:%d:%s", 42, "x"), 0);
    assert_string_equal(k, "zq:n:42:x");
    assert_int_equal(zq_store_key(st, k, sizeof(k), "100%%:%s", "x"), 0);
    assert_string_equal(k, "zq:100%:x");
    assert_int_equal(zq_store_key(st, k, sizeof(k), "lit"), 0);
    assert_string_equal(k, "zq:lit");
    zq_store_free(st);
}

/* Plain %s keys are copied without vsnprintf: the same bytes and the same
 * refusals as the formatted ones, at every length around the limit. */
static void test_key_plain_as_printf(void **state)
{
    zq_redis_config c = cfg_addr("127.0.0.1:1");
    zq_store *st = zq_store_new(&c);
    char k[24], want[64], arg[32];
    size_t n;

    assert_non_null(st);
    for (n = 0; n < 20; n++) {
        int w;

        memset(arg, 'a', n);
        arg[n] = '\0';
        w = snprintf(want, sizeof(want), "zq:draftmob:%s:%s:x", arg, "f");
        assert_int_equal(zq_store_key(st, k, sizeof(k), "draftmob:%s:%s:x", arg, "f"),
                         (size_t)w < sizeof(k) ? 0 : -ZQ_ETOOBIG);
        assert_string_equal(k, (size_t)w < sizeof(k) ? want : "");
        w = snprintf(want, sizeof(want), "zq:%s", arg);
        assert_int_equal(zq_store_key(st, k, sizeof(k), "%s", arg),
                         (size_t)w < sizeof(k) ? 0 : -ZQ_ETOOBIG);
        assert_string_equal(k, (size_t)w < sizeof(k) ? want : "");
    }
    /* Anything else goes through vsnprintf as before. */
    assert_int_equal(zq_store_key(st, k, sizeof(k), "n:%d:%%", 42), 0);
    assert_string_equal(k, "zq:n:42:%");
    assert_int_equal(zq_store_key(st, k, sizeof(k), "plain"), 0);
    assert_string_equal(k, "zq:plain");
    zq_store_free(st);
}

static void test_reply_unavailable(void **state)
{
    static const struct {
        int type;
        const char *str;
        bool want;
    } cases[] = {
        {REDIS_REPLY_ERROR, "MISCONF Errors writing to the AOF file: No space left on device",
         true},
        {REDIS_REPLY_ERROR,
         "MISCONF Errors writing to the AOF file: No space left on device script: 64ac20e8, on "
         "@user_script:1.",
         true},
        {REDIS_REPLY_ERROR, "OOM command not allowed when used memory > 'maxmemory'.", true},
        {REDIS_REPLY_ERROR, "READONLY You can't write against a read only replica.", true},
        {REDIS_REPLY_ERROR, "LOADING Redis is loading the dataset in memory", true},
        {REDIS_REPLY_ERROR, "BUSY Redis is busy running a script.", true},
        {REDIS_REPLY_ERROR, "NOREPLICAS Not enough good replicas to write.", true},
        {REDIS_REPLY_ERROR, "MASTERDOWN Link with MASTER is down", true},
        {REDIS_REPLY_ERROR,
         "ERR Error running script (call to f_1234): @user_script:7: MISCONF Errors writing", true},
        {REDIS_REPLY_ERROR,
         "ERR Error running script (call to f_1234): @user_script:7: "
         "WRONGTYPE Operation against a key",
         false},
        {REDIS_REPLY_ERROR, "BUSYKEY Target key name already exists.", false},
        {REDIS_REPLY_ERROR, "ERR value is not an integer or out of range", false},
        {REDIS_REPLY_ERROR, "WRONGTYPE Operation against a key holding the wrong kind", false},
        {REDIS_REPLY_ERROR, "MISCONFIGURED", false},
        {REDIS_REPLY_STATUS, "MISCONF but a status", false},
    };
    zq_redis_config cfg = cfg_tcp(&g_main);
    zq_store *st = fx_store(&cfg);
    zq_err err = {0};
    redisReply *r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        redisReply fake;

        memset(&fake, 0, sizeof(fake));
        fake.type = cases[i].type;
        fake.str = (char *)cases[i].str;
        fake.len = strlen(cases[i].str);
        if (zq_store_reply_unavailable(&fake) != cases[i].want)
            fail_msg("case %zu: \"%s\" should be %s", i, cases[i].str,
                     cases[i].want ? "unavailable" : "an ordinary error");
    }
    assert_false(zq_store_reply_unavailable(NULL));
    /* A real one from the server. */
    r = zq_store_command(st, &err, "INCR %s", "zq:test:nolist-str");
    assert_non_null(r);
    assert_false(zq_store_reply_unavailable(r));
    freeReplyObject(r);
}

static int group_setup(void **state)
{
    (void)state;
    zq_log_init("test_store", ZQ_LOG_INFO);
    if (zqt_tmpdir(g_dir, sizeof(g_dir)) != 0)
        return -1;
    if (zqt_redis_start(&g_main, g_dir, 0, false, NULL) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    zqt_redis_stop(&g_main);
    zqt_kill_all();
    zqt_rmtree(g_dir);
    return 0;
}

/* A packed script reply (ZQ_STORE_LUA_PACK) read back with
 * zq_store_unpack, through a real script: values with the separators,
 * CR LF and NUL in them, an empty one, missing ones; the script sent in
 * RESP first as EVALSHA, then (after SCRIPT FLUSH) as EVAL. */
static void test_script_pack(void **state)
{
    static zq_script sc = {.src = ZQ_STORE_LUA_PACK "local t = {}\n"
                                                    "for i = 1, #ARGV do zq_pack(t, ARGV[i]) end\n"
                                                    "zq_pack(t, false)\n"
                                                    "zq_pack(t, redis.call('GET', KEYS[1]))\n"
                                                    "return table.concat(t)\n"};
    static const char v0[] = "12:~a b\r\n\0c";
    const char *argv[4] = {"zq:test:nokey", v0, "", "\xe4\xb8\xad"};
    size_t lens[4] = {13, sizeof(v0) - 1, 0, 3};
    zq_redis_config cfg = cfg_tcp(&g_main);
    zq_store *st = fx_store(&cfg);
    zq_err err = {0};

    (void)state;
    for (int round = 0; round < 2; round++) {
        redisReply *r = zq_store_script(st, &err, &sc, 1, 4, argv, lens);
        const char *v;
        size_t vlen, at = 0;

        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        for (int i = 1; i < 4; i++) {
            assert_int_equal(zq_store_unpack(r->str, r->len, &at, &v, &vlen), 1);
            assert_int_equal(vlen, lens[i]);
            assert_memory_equal(v, argv[i], lens[i]);
        }
        assert_int_equal(zq_store_unpack(r->str, r->len, &at, &v, &vlen), 0);
        assert_null(v);
        assert_int_equal(zq_store_unpack(r->str, r->len, &at, &v, &vlen), 0);
        assert_int_equal(at, r->len);
        freeReplyObject(r);
        r = zq_store_commandv(st, &err, 2, (const char *[]){"SCRIPT", "FLUSH"}, NULL);
        assert_non_null(r);
        freeReplyObject(r);
    }
}

/* What is not a pack is refused, never read past its end. */
static void test_unpack_bad(void **state)
{
    const char *v;
    size_t vlen, at;
    static const char *const bad[] = {"", "5:abc", ":abc", "x", "3abc", "99999999999999999999:a"};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        at = 0;
        assert_int_equal(zq_store_unpack(bad[i], strlen(bad[i]), &at, &v, &vlen), -ZQ_EREPLY);
    }
    at = 0;
    assert_int_equal(zq_store_unpack("0:", 2, &at, &v, &vlen), 1);
    assert_int_equal(vlen, 0);
    assert_int_equal(at, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_connect_set_get, fx_teardown),
        cmocka_unit_test_teardown(test_unix_socket, fx_teardown),
        cmocka_unit_test_teardown(test_password, fx_teardown),
        cmocka_unit_test_teardown(test_db_select_and_reconfigure, fx_teardown),
        cmocka_unit_test_teardown(test_command_timeout, fx_teardown),
        cmocka_unit_test_teardown(test_outage_backoff_recovery, fx_teardown),
        cmocka_unit_test_teardown(test_backoff_bounds, fx_teardown),
        cmocka_unit_test_teardown(test_bad_address, fx_teardown),
        cmocka_unit_test_teardown(test_pipeline, fx_teardown),
        cmocka_unit_test_teardown(test_readonly_replica, fx_teardown),
        cmocka_unit_test_teardown(test_sentinel_failover, fx_teardown),
        cmocka_unit_test_teardown(test_sentinel_none_reachable, fx_teardown),
        cmocka_unit_test_teardown(test_wait_without_replica, fx_teardown),
        cmocka_unit_test_teardown(test_wait_with_replica, fx_teardown),
        cmocka_unit_test_teardown(test_reply_unavailable, fx_teardown),
        cmocka_unit_test(test_key),
        cmocka_unit_test(test_key_plain_as_printf),
        cmocka_unit_test_teardown(test_script_pack, fx_teardown),
        cmocka_unit_test(test_unpack_bad),
    };

    /* Writing to a socket Redis closed must be an error, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

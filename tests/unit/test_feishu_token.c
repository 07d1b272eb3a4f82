/* Unit tests of the Feishu tenant access token (apptoken.h) cache against a private
 * redis-server and a tiny HTTP server on loopback that plays Feishu's
 * token endpoint: fetch, cache, refresh, forget, and Feishu's errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>

#include "redis_helper.h"
#include "zhuqi/apptoken.h"
#include "zhuqi/channel.h"
#include "zhuqi/log.h"
#include "zhuqi/store.h"

static char g_dir[256];
static zqt_redis g_redis;
static zq_store *g_store;

/* The fake endpoint: answers every request with status/body, counts them
 * and keeps the last request's path and body. */
static struct {
    int fd;
    int port;
    pthread_t th;
    pthread_mutex_t lock; /* protects everything below */
    int status;
    char body[1024];
    int hits;
    char last_path[256];
    char last_body[1024];
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        char req[8192], resp[2048];
        size_t got = 0;
        char *end, *cl;
        long want = 0;
        int c = accept(srv.fd, NULL, NULL);

        if (c < 0)
            return NULL;
        while (got < sizeof(req) - 1) {
            ssize_t n = read(c, req + got, sizeof(req) - 1 - got);

            if (n <= 0)
                break;
            got += (size_t)n;
            req[got] = '\0';
            end = strstr(req, "\r\n\r\n");
            if (end != NULL) {
                cl = strcasestr(req, "Content-Length:");
                want = cl ? strtol(cl + 15, NULL, 10) : 0;
                if ((long)(got - (size_t)(end + 4 - req)) >= want)
                    break;
            }
        }
        req[got] = '\0';
        pthread_mutex_lock(&srv.lock);
        srv.hits++;
        sscanf(req, "POST %255s", srv.last_path);
        end = strstr(req, "\r\n\r\n");
        snprintf(srv.last_body, sizeof(srv.last_body), "%s", end ? end + 4 : "");
        snprintf(resp, sizeof(resp),
                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n%s",
                 srv.status, strlen(srv.body), srv.body);
        pthread_mutex_unlock(&srv.lock);
        if (write(c, resp, strlen(resp)) < 0) {
            /* the client gave up: nothing to do */
        }
        close(c);
    }
}

static void answer(int status, const char *body)
{
    pthread_mutex_lock(&srv.lock);
    srv.status = status;
    snprintf(srv.body, sizeof(srv.body), "%s", body);
    pthread_mutex_unlock(&srv.lock);
}

static int hits(void)
{
    int h;

    pthread_mutex_lock(&srv.lock);
    h = srv.hits;
    pthread_mutex_unlock(&srv.lock);
    return h;
}

static const char *base(void)
{
    static char b[64];

    snprintf(b, sizeof(b), "http://127.0.0.1:%d/feishu", srv.port);
    return b;
}

/* The Feishu app of base_url (the token is one more app token). */
static int feishu_token(zq_store *st, const char *base_url, const char *app_id,
                        const char *app_secret, bool refresh, int timeout_ms,
                        char out[ZQ_APPTOKEN_MAX], zq_err *err)
{
    zq_apptoken_app app = {.kind = ZQ_APPTOKEN_FEISHU};

    app.base_url = base_url;
    app.id = app_id;
    app.secret = app_secret;
    return zq_apptoken_get(st, &app, refresh, timeout_ms, out, err);
}

static bool feishu_rejected(const char *body, size_t len)
{
    return zq_channel_token_rejected(ZQ_CH_FEISHU_CHAT, 400, body, len);
}

static void test_fetch_cache_refresh(void **state)
{
    char tok[ZQ_APPTOKEN_MAX];
    zq_err err = {0};
    redisReply *r;
    json_t *j;

    (void)state;
    answer(200, "{\"code\":0,\"msg\":\"ok\",\"tenant_access_token\":\"t-first\",\"expire\":7200}");
    assert_int_equal(feishu_token(g_store, base(), "cli_app1", "s3cret", false, 2000, tok, &err),
                     0);
    assert_string_equal(tok, "t-first");
    assert_int_equal(hits(), 1);
    pthread_mutex_lock(&srv.lock);
    assert_string_equal(srv.last_path, "/feishu/open-apis/auth/v3/tenant_access_token/internal");
    j = json_loads(srv.last_body, 0, NULL);
    pthread_mutex_unlock(&srv.lock);
    assert_string_equal(json_string_value(json_object_get(j, "app_id")), "cli_app1");
    assert_string_equal(json_string_value(json_object_get(j, "app_secret")), "s3cret");
    json_decref(j);
    r = zqt_cmd(&g_redis, "TTL zqt:feishu:tenant_token:cli_app1");
    assert_true(r->integer > 6800 && r->integer <= 6900);
    freeReplyObject(r);
    /* Cached: Feishu is not asked again. */
    answer(200, "{\"code\":0,\"tenant_access_token\":\"t-second\",\"expire\":7200}");
    assert_int_equal(feishu_token(g_store, base(), "cli_app1", "s3cret", false, 2000, tok, &err),
                     0);
    assert_string_equal(tok, "t-first");
    assert_int_equal(hits(), 1);
    /* Refresh on demand, and after forgetting. */
    assert_int_equal(feishu_token(g_store, base(), "cli_app1", "s3cret", true, 2000, tok, &err), 0);
    assert_string_equal(tok, "t-second");
    assert_int_equal(hits(), 2);
    answer(200, "{\"code\":0,\"tenant_access_token\":\"t-third\",\"expire\":7200}");
    assert_int_equal(
        zq_apptoken_forget(g_store,
                           &(zq_apptoken_app){.kind = ZQ_APPTOKEN_FEISHU, .id = "cli_app1"}, &err),
        0);
    assert_int_equal(feishu_token(g_store, base(), "cli_app1", "s3cret", false, 2000, tok, &err),
                     0);
    assert_string_equal(tok, "t-third");
    assert_int_equal(hits(), 3);
}

static void test_errors(void **state)
{
    char tok[ZQ_APPTOKEN_MAX];
    zq_err err = {0};
    redisReply *r;

    (void)state;
    answer(200, "{\"code\":10014,\"msg\":\"app secret invalid\"}");
    assert_int_equal(feishu_token(g_store, base(), "cli_app2", "bad", false, 2000, tok, &err),
                     -ZQ_EAUTH);
    assert_non_null(strstr(err.msg, "10014"));
    r = zqt_cmd(&g_redis, "EXISTS zqt:feishu:tenant_token:cli_app2");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    answer(200, "{\"code\":10003,\"msg\":\"invalid param\"}");
    assert_int_equal(feishu_token(g_store, base(), "cli_app2", "bad", false, 2000, tok, &err),
                     -ZQ_EAUTH);
    /* The token endpoint's frequency limit (HTTP 400) and its internal
     * errors are not refusals of the credentials: retry later. */
    answer(400, "{\"code\":99991400,\"msg\":\"request trigger frequency limit\"}");
    assert_int_equal(feishu_token(g_store, base(), "cli_app2", "bad", false, 2000, tok, &err),
                     -ZQ_EIO);
    assert_non_null(strstr(err.msg, "99991400"));
    answer(200, "{\"code\":1500,\"msg\":\"internal error\"}");
    assert_int_equal(feishu_token(g_store, base(), "cli_app2", "bad", false, 2000, tok, &err),
                     -ZQ_EIO);
    answer(429, "{\"code\":99991400}");
    assert_int_equal(feishu_token(g_store, base(), "cli_app2", "bad", false, 2000, tok, &err),
                     -ZQ_EIO);
    answer(503, "busy");
    assert_int_equal(feishu_token(g_store, base(), "cli_app2", "bad", false, 2000, tok, &err),
                     -ZQ_EIO);
    assert_int_equal(
        feishu_token(g_store, "http://127.0.0.1:1", "cli_app2", "bad", false, 1000, tok, &err),
        -ZQ_EIO);
    assert_int_equal(feishu_token(g_store, base(), "", "x", false, 1000, tok, &err), -ZQ_EAUTH);
    assert_int_equal(feishu_token(g_store, base(), "a b", "x", false, 1000, tok, &err), -ZQ_EAUTH);
    {
        const char *bad = "{\"code\":99991663,\"msg\":\"invalid token\"}";
        const char *bad2 = "{\"code\":99991661}", *ok = "{\"code\":0}";

        assert_true(feishu_rejected(bad, strlen(bad)));
        assert_true(feishu_rejected(bad2, strlen(bad2)));
        assert_false(feishu_rejected(ok, strlen(ok)));
        assert_false(feishu_rejected("not json", 8));
    }
}

static int group_setup(void **state)
{
    (void)state;
    zq_log_init("test_feishu_token", ZQ_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (zqt_tmpdir(g_dir, sizeof(g_dir)) != 0 ||
        zqt_redis_start(&g_redis, g_dir, 0, false, NULL) != 0)
        return -1;
    g_store = zqt_store_new(&g_redis, "zqt:", 2000);
    srv.fd = zqt_listen_loopback(&srv.port);
    if (srv.fd < 0)
        return -1;
    return pthread_create(&srv.th, NULL, serve, NULL) == 0 && g_store != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    shutdown(srv.fd, SHUT_RDWR);
    close(srv.fd);
    pthread_join(srv.th, NULL);
    zq_store_free(g_store);
    zqt_redis_stop(&g_redis);
    zqt_kill_all();
    zqt_rmtree(g_dir);
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_cache_refresh),
        cmocka_unit_test(test_errors),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

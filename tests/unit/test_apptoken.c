/* Unit tests of lib/push/apptoken.c (the access tokens of the DingTalk and
 * WeCom app APIs; Feishu's is test_feishu_token.c) against a private
 * redis-server and a tiny HTTP server on loopback that plays the token
 * endpoints: the request each platform wants, the cache and its TTL, one
 * key per app, refresh and forget, and the platforms' errors sorted into
 * "try later" and "refused". */
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
#include "zhuqi/log.h"
#include "zhuqi/store.h"

static char g_dir[256];
static zqt_redis g_redis;
static zq_store *g_store;

/* The fake endpoint: answers every request with status/body, counts them
 * and keeps the last request's method, target (path and query) and body. */
static struct {
    int fd;
    int port;
    pthread_t th;
    pthread_mutex_t lock; /* protects everything below */
    int status;
    char body[1024];
    int hits;
    char last_method[8];
    char last_target[512];
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
        sscanf(req, "%7s %511s", srv.last_method, srv.last_target);
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

static const char *base(const char *platform)
{
    static char b[2][64];
    static int next;
    char *p = b[next++ % 2];

    snprintf(p, sizeof(b[0]), "http://127.0.0.1:%d/%s", srv.port, platform);
    return p;
}

static long long ttl(const char *key)
{
    redisReply *r = zqt_cmd(&g_redis, "TTL %s", key);
    long long t = r->integer;

    freeReplyObject(r);
    return t;
}

static zq_apptoken_app dingtalk(const char *key, const char *secret)
{
    zq_apptoken_app a;

    memset(&a, 0, sizeof(a));
    a.kind = ZQ_APPTOKEN_DINGTALK;
    a.base_url = base("dt");
    a.id = key;
    a.secret = secret;
    return a;
}

static zq_apptoken_app wecom(const char *corp, const char *secret, const char *agent)
{
    zq_apptoken_app a;

    memset(&a, 0, sizeof(a));
    a.kind = ZQ_APPTOKEN_WECOM;
    a.base_url = base("wecom");
    a.id = corp;
    a.secret = secret;
    snprintf(a.scope, sizeof(a.scope), "%s", agent);
    return a;
}

static void test_dingtalk(void **state)
{
    zq_apptoken_app app = dingtalk("dingkey01", "dt-secret");
    char tok[ZQ_APPTOKEN_MAX];
    zq_err err = {0};
    json_t *j;
    int h0 = hits();

    (void)state;
    answer(200, "{\"accessToken\":\"dt-first\",\"expireIn\":7200}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), 0);
    assert_string_equal(tok, "dt-first");
    assert_int_equal(hits(), h0 + 1);
    pthread_mutex_lock(&srv.lock);
    assert_string_equal(srv.last_method, "POST");
    assert_string_equal(srv.last_target, "/dt/v1.0/oauth2/accessToken");
    j = json_loads(srv.last_body, 0, NULL);
    pthread_mutex_unlock(&srv.lock);
    assert_string_equal(json_string_value(json_object_get(j, "appKey")), "dingkey01");
    assert_string_equal(json_string_value(json_object_get(j, "appSecret")), "dt-secret");
    json_decref(j);
    /* Cached five minutes short of DingTalk's two hours, and reused. */
    assert_true(ttl("zqt:dingtalk:access_token:dingkey01") > 6800);
    assert_true(ttl("zqt:dingtalk:access_token:dingkey01") <= 6900);
    answer(200, "{\"accessToken\":\"dt-second\",\"expireIn\":7200}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), 0);
    assert_string_equal(tok, "dt-first");
    assert_int_equal(hits(), h0 + 1);
    /* Refresh on demand; forget. */
    assert_int_equal(zq_apptoken_get(g_store, &app, true, 2000, tok, &err), 0);
    assert_string_equal(tok, "dt-second");
    answer(200, "{\"accessToken\":\"dt-third\",\"expireIn\":30}");
    assert_int_equal(zq_apptoken_forget(g_store, &app, &err), 0);
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), 0);
    assert_string_equal(tok, "dt-third");
    assert_int_equal(hits(), h0 + 3);
    /* A short life is kept a minute at least. */
    assert_true(ttl("zqt:dingtalk:access_token:dingkey01") > 50);
}

static void test_dingtalk_errors(void **state)
{
    zq_apptoken_app app = dingtalk("dingkey02", "wrong");
    char tok[ZQ_APPTOKEN_MAX];
    zq_err err = {0};

    (void)state;
    answer(400, "{\"code\":\"invalidClientIdOrSecret\",\"message\":\"无效的clientId或者"
                "clientSecret\",\"requestid\":\"R1\"}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EAUTH);
    assert_non_null(strstr(err.msg, "invalidClientIdOrSecret"));
    assert_null(strstr(err.msg, "wrong"));
    assert_int_equal(ttl("zqt:dingtalk:access_token:dingkey02"), -2);
    answer(403, "{\"code\":\"Forbidden.AccessDenied.QpsLimitForApi\",\"message\":\"流控\"}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EIO);
    answer(403, "{\"code\":\"Forbidden.AccessDenied.QpmLimitForAppkeyAndApi\",\"message\":\"x\"}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EIO);
    answer(403, "{\"code\":\"Forbidden.AccessDenied.QuotaExceeded\",\"message\":\"x\"}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EIO);
    answer(200, "{\"errcode\":40089,\"errmsg\":\"invalid appkey or appsecret\"}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EAUTH);
    assert_non_null(strstr(err.msg, "invalid appkey"));
    answer(429, "{}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EIO);
    answer(502, "<html>bad gateway</html>");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EIO);
    answer(200, "{\"expireIn\":7200}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EAUTH);
    app.id = "";
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EAUTH);
    assert_non_null(strstr(err.msg, "not configured"));
    app = dingtalk("dingkey02", "");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EAUTH);
    app = dingtalk("dingkey02", "x");
    app.base_url = "http://127.0.0.1:1";
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 1000, tok, &err), -ZQ_EIO);
}

static void test_wecom(void **state)
{
    zq_apptoken_app app = wecom("wwcorp01", "sec+ret/1", "1000002");
    zq_apptoken_app other = wecom("wwcorp01", "another-app-secret", "1000003");
    char tok[ZQ_APPTOKEN_MAX], big[520];
    zq_err err = {0};
    int h0 = hits();

    (void)state;
    answer(200, "{\"errcode\":0,\"errmsg\":\"ok\",\"access_token\":\"wx-first\",\"expires_in\":"
                "7200}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), 0);
    assert_string_equal(tok, "wx-first");
    pthread_mutex_lock(&srv.lock);
    assert_string_equal(srv.last_method, "GET");
    /* The secret percent-encoded once, in the query as WeCom wants it. */
    assert_string_equal(srv.last_target,
                        "/wecom/cgi-bin/gettoken?corpid=wwcorp01&corpsecret=sec%2Bret%2F1");
    pthread_mutex_unlock(&srv.lock);
    assert_true(ttl("zqt:wecom:access_token:wwcorp01:1000002") > 6800);
    /* Another app of the same company has its own token. */
    answer(200, "{\"errcode\":0,\"errmsg\":\"ok\",\"access_token\":\"wx-other\",\"expires_in\":"
                "7200}");
    assert_int_equal(zq_apptoken_get(g_store, &other, false, 2000, tok, &err), 0);
    assert_string_equal(tok, "wx-other");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), 0);
    assert_string_equal(tok, "wx-first");
    assert_int_equal(hits(), h0 + 2);
    /* WeCom keeps room for 512 bytes: a token that long works. */
    memset(big, 'A', 512);
    big[512] = '\0';
    {
        char body[700];

        snprintf(body, sizeof(body),
                 "{\"errcode\":0,\"errmsg\":\"ok\",\"access_token\":\"%s\",\"expires_in\":7200}",
                 big);
        answer(200, body);
    }
    assert_int_equal(zq_apptoken_get(g_store, &app, true, 2000, tok, &err), 0);
    assert_string_equal(tok, big);
}

static void test_wecom_errors(void **state)
{
    zq_apptoken_app app = wecom("wwcorp02", "the-secret", "1000002");
    char tok[ZQ_APPTOKEN_MAX];
    zq_err err = {0};

    (void)state;
    answer(200, "{\"errcode\":40001,\"errmsg\":\"invalid credential\"}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EAUTH);
    assert_non_null(strstr(err.msg, "40001"));
    /* The URL holds the secret: it never shows in a message. */
    assert_null(strstr(err.msg, "the-secret"));
    assert_int_equal(ttl("zqt:wecom:access_token:wwcorp02:1000002"), -2);
    answer(200, "{\"errcode\":40013,\"errmsg\":\"invalid corpid\"}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EAUTH);
    answer(200, "{\"errcode\":-1,\"errmsg\":\"system busy\"}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EIO);
    answer(200, "{\"errcode\":45009,\"errmsg\":\"api freq out of limit\"}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EIO);
    /* A token that could not go into a URL is not taken. */
    answer(200, "{\"errcode\":0,\"access_token\":\"a b&c\",\"expires_in\":7200}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EAUTH);
    /* An answer that is not JSON (a proxy's page) is an outage. */
    answer(200, "not json");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EIO);
    answer(200, "{\"errcode\":60020,\"errmsg\":\"not allow to access from your ip\"}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EAUTH);
    answer(200, "{\"errcode\":45033,\"errmsg\":\"api concurrent out of limit\"}");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EIO);
    app = wecom("wwcorp02", "the-secret", "");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EAUTH);
    app = wecom("ww corp", "the-secret", "1");
    assert_int_equal(zq_apptoken_get(g_store, &app, false, 2000, tok, &err), -ZQ_EAUTH);
}

static int group_setup(void **state)
{
    (void)state;
    zq_log_init("test_apptoken", ZQ_LOG_ERROR);
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
        cmocka_unit_test(test_dingtalk),
        cmocka_unit_test(test_dingtalk_errors),
        cmocka_unit_test(test_wecom),
        cmocka_unit_test(test_wecom_errors),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* Unit tests for the request/response layer and the router, driven by
 * fabricated CGI environments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/auth.h"
#include "fcgi/http.h"
#include "fcgi/metrics.h"
#include "fcgi/router.h"

static zq_config cfg;

static int setup(void **state)
{
    zq_token t = {0};
    zq_err err = {0};
    char spec[200], hash[65];

    zq_config_defaults(&cfg);
    zq_auth_hash_hex("secret-token", hash);
    snprintf(spec, sizeof(spec), "alice:handler:%s", hash);
    assert_int_equal(zq_config_parse_token(spec, &t, &err), 0);
    cfg.staff.tokens[0] = t;
    cfg.staff.ntokens = 1;
    return 0;
}

/* Builds a request from NULL-terminated "NAME=value" strings. */
static void req_from(zq_req *req, char **envp, const char *body)
{
    zq_req_init(req, envp, &cfg, NULL);
    req->body = body ? body : "";
    req->body_len = body ? strlen(body) : 0;
}

/* The serialized response, for assertions. Caller frees. */
static char *serialize(zq_req *req)
{
    zq_buf out = {0};

    assert_int_equal(zq_resp_serialize(req, &out), 0);
    return zq_buf_steal(&out);
}

static void test_params_headers(void **state)
{
    char *env[] = {"REQUEST_METHOD=POST",
                   "DOCUMENT_URI=/api/x",
                   "QUERY_STRING=a=1&b=%E4%B8%AD",
                   "CONTENT_TYPE=application/json",
                   "HTTP_X_CSRF_TOKEN=tok",
                   "HTTP_COOKIE=zq_sid=abc; other=\"q\"; bare",
                   "REQUEST_ID=rid-1",
                   NULL};
    zq_req req;

    req_from(&req, env, NULL);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/api/x");
    assert_string_equal(req.request_id, "rid-1");
    assert_string_equal(zq_req_header(&req, "Content-Type"), "application/json");
    assert_string_equal(zq_req_header(&req, "x-csrf-token"), "tok");
    assert_null(zq_req_header(&req, "X-Missing"));
    assert_string_equal(zq_req_query(&req, "a"), "1");
    assert_string_equal(zq_req_query(&req, "b"), "中");
    assert_null(zq_req_query(&req, "c"));
    assert_string_equal(zq_req_cookie(&req, "zq_sid"), "abc");
    assert_string_equal(zq_req_cookie(&req, "other"), "q");
    assert_null(zq_req_cookie(&req, "bare"));
    zq_req_free(&req);
}

/* zq_req_init reads the common parameters in one pass over envp; a
 * lookup of one of them does not scan envp again (changing envp after
 * init shows it), others still do. The first of two equal names wins
 * either way, and a name is matched whole. */
static void test_param_index(void **state)
{
    char *env[] = {"REQUEST_METHODX=PUT",
                   "REQUEST_METHOD=POST",
                   "HTTP_COOKIE=a=1",
                   "REQUEST_METHOD=GET",
                   "NOEQUALS",
                   "HTTP_X_OTHER=o1",
                   "HTTP_X_OTHER=o2",
                   "CONTENT_LENGTH=",
                   "=x",
                   NULL};
    zq_req req;

    req_from(&req, env, NULL);
    assert_string_equal(req.method, "POST");
    assert_string_equal(zq_req_param(&req, "REQUEST_METHOD"), "POST");
    assert_string_equal(zq_req_param(&req, "REQUEST_METHODX"), "PUT");
    assert_string_equal(zq_req_header(&req, "X-Other"), "o1");
    assert_string_equal(zq_req_header(&req, "Content-Length"), "");
    assert_null(zq_req_param(&req, "QUERY_STRING"));
    assert_null(zq_req_param(&req, "NOEQUALS"));
    assert_null(zq_req_param(&req, "REQUEST"));
    assert_null(zq_req_header(&req, "Authorization"));
    env[2] = "HTTP_COOKIE=b=2";
    env[5] = "HTTP_X_OTHER=o3";
    assert_string_equal(zq_req_cookie(&req, "a"), "1");
    assert_string_equal(zq_req_header(&req, "X-Other"), "o3");
    zq_req_free(&req);
}

static void test_path_fallback_and_bad_utf8(void **state)
{
    char *env1[] = {"REQUEST_URI=/api/a%20b?x=1", NULL};
    char *env2[] = {"REQUEST_URI=/api/%FF", NULL};
    char *env3[] = {"REQUEST_URI=/api/%zz", NULL};
    char *env4[] = {"REQUEST_ID=bad id with spaces", NULL};
    zq_req req;

    assert_int_equal(zq_req_init(&req, env1, &cfg, NULL), 0);
    assert_string_equal(req.path, "/api/a b");
    assert_string_equal(req.method, "GET");
    zq_req_free(&req);
    assert_int_equal(zq_req_init(&req, env2, &cfg, NULL), -ZQ_EINVAL);
    assert_int_equal(req.status, 400);
    zq_req_free(&req);
    assert_int_equal(zq_req_init(&req, env3, &cfg, NULL), -ZQ_EINVAL);
    zq_req_free(&req);
    /* An unsafe request id is replaced by a generated one. */
    zq_req_init(&req, env4, &cfg, NULL);
    assert_int_equal(strlen(req.request_id), 16);
    zq_req_free(&req);
}

static void test_url_decode(void **state)
{
    zq_pool p = {0};
    size_t n;

    assert_string_equal(zq_url_decode(&p, "a+b%2B", 6, true, &n), "a b+");
    assert_string_equal(zq_url_decode(&p, "a+b", 3, false, &n), "a+b");
    assert_null(zq_url_decode(&p, "%", 1, true, &n));
    assert_null(zq_url_decode(&p, "%4", 2, true, &n));
    assert_null(zq_url_decode(&p, "%00", 3, true, &n)); /* encoded NUL */
    assert_null(zq_url_decode(&p, "%g1", 3, true, &n));
    zq_pool_free(&p);
}

static void test_urlencoded(void **state)
{
    zq_pool p = {0};
    zq_kv *kv;
    size_t n;

    assert_int_equal(zq_parse_urlencoded(&p, "a=1&&b=&c&d=x=y", 15, 10, &kv, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(kv[0].key, "a");
    assert_string_equal(kv[0].val, "1");
    assert_string_equal(kv[1].key, "b");
    assert_string_equal(kv[1].val, "");
    assert_string_equal(kv[2].key, "c");
    assert_string_equal(kv[3].val, "x=y");
    assert_int_equal(zq_parse_urlencoded(&p, "a=1&b=2&c=3", 11, 2, &kv, &n), -ZQ_EINVAL);
    assert_int_equal(zq_parse_urlencoded(&p, "a=%FF", 5, 10, &kv, &n), -ZQ_EINVAL);
    assert_int_equal(zq_parse_urlencoded(&p, "", 0, 10, &kv, &n), 0);
    assert_int_equal(n, 0);
    zq_pool_free(&p);
}

static void test_json_body(void **state)
{
    char *good[] = {"REQUEST_METHOD=POST", "CONTENT_TYPE=application/json; charset=utf-8", NULL};
    char *form[] = {"REQUEST_METHOD=POST", "CONTENT_TYPE=application/x-www-form-urlencoded", NULL};
    char *none[] = {"REQUEST_METHOD=POST", NULL};
    zq_req req;
    json_t *j = NULL;

    req_from(&req, good, "{\"a\":1}");
    assert_int_equal(zq_req_json(&req, &j), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
    /* The request keeps the body and more values; zq_req_free releases
     * them all (LeakSanitizer checks). */
    assert_ptr_equal(zq_req_keep(&req, json_pack("{s:i}", "b", 2)) != NULL, true);
    assert_null(zq_req_keep(&req, NULL));
    zq_req_free(&req);

    req_from(&req, good, "{\"a\":");
    assert_true(zq_req_json(&req, &j) < 0);
    assert_int_equal(req.status, 400);
    assert_non_null(strstr(req.body_out.data, "malformed_json"));
    zq_req_free(&req);

    req_from(&req, good, "{\"a\":1,\"a\":2}");
    assert_true(zq_req_json(&req, &j) < 0); /* duplicate keys */
    zq_req_free(&req);

    req_from(&req, good, "\"\xFF\"");
    assert_true(zq_req_json(&req, &j) < 0);
    assert_non_null(strstr(req.body_out.data, "invalid_utf8"));
    zq_req_free(&req);

    req_from(&req, form, "{}");
    assert_true(zq_req_json(&req, &j) < 0);
    assert_int_equal(req.status, 415);
    zq_req_free(&req);

    req_from(&req, none, "{}");
    assert_true(zq_req_json(&req, &j) < 0);
    assert_int_equal(req.status, 415);
    zq_req_free(&req);
}

static void test_response_shape(void **state)
{
    char *env[] = {"REQUEST_ID=r1", NULL};
    zq_req req;
    char *out;

    req_from(&req, env, NULL);
    zq_resp_header(&req, "Set-Cookie", "a=b");
    zq_resp_header(&req, "X-Evil", "a\r\nInjected: 1");
    zq_resp_error(&req, 404, "not_found", "不存在");
    out = serialize(&req);
    assert_non_null(strstr(out, "Status: 404 Not Found\r\n"));
    assert_non_null(strstr(out, "Content-Type: application/json; charset=utf-8\r\n"));
    assert_non_null(strstr(out, "Set-Cookie: a=b\r\n"));
    assert_null(strstr(out, "Injected"));
    assert_non_null(strstr(out, "X-Request-Id: r1\r\n"));
    assert_non_null(strstr(out, "X-Content-Type-Options: nosniff\r\n"));
    assert_non_null(
        strstr(out, "\r\n\r\n{\"error\":{\"code\":\"not_found\",\"message\":\"不存在\"}}"));
    free(out);
    zq_req_free(&req);

    /* A handler that forgot to answer yields a 500, not garbage. */
    req_from(&req, env, NULL);
    out = serialize(&req);
    assert_non_null(strstr(out, "Status: 500"));
    free(out);
    zq_req_free(&req);

    /* HEAD sends headers only. */
    {
        char *head[] = {"REQUEST_METHOD=HEAD", NULL};
        req_from(&req, head, NULL);
        zq_resp_json(&req, 200, json_pack("{s:b}", "ok", 1));
        out = serialize(&req);
        assert_non_null(strstr(out, "Content-Length: 0\r\n\r\n"));
        assert_null(strstr(out, "\"ok\""));
        free(out);
        zq_req_free(&req);
    }
}

/* The whole answer, byte for byte: the head is written by hand (no
 * printf), and into a buffer the worker reuses (reset, not freed). */
static void test_response_bytes(void **state)
{
    char *env[] = {"REQUEST_ID=r-2", NULL};
    zq_buf out = {0};
    zq_req req;

    req_from(&req, env, NULL);
    zq_resp_raw(&req, 200, "application/json; charset=utf-8", "{\"ok\":true}", 11);
    assert_int_equal(zq_resp_serialize(&req, &out), 0);
    assert_string_equal(out.data, "Status: 200 OK\r\n"
                                  "Content-Type: application/json; charset=utf-8\r\n"
                                  "X-Request-Id: r-2\r\n"
                                  "X-Content-Type-Options: nosniff\r\n"
                                  "X-Frame-Options: DENY\r\n"
                                  "Referrer-Policy: no-referrer\r\n"
                                  "Content-Security-Policy: default-src 'none'; "
                                  "frame-ancestors 'none'\r\n"
                                  "Cache-Control: no-store\r\n"
                                  "Content-Length: 11\r\n\r\n"
                                  "{\"ok\":true}");
    zq_req_free(&req);

    zq_buf_reset(&out);
    req_from(&req, env, NULL);
    zq_resp_header(&req, "Retry-After", "30");
    zq_resp_raw(&req, 599, NULL, "", 0);
    req.csp = "default-src 'self'";
    req.cache_control = "public, max-age=60";
    assert_int_equal(zq_resp_serialize(&req, &out), 0);
    assert_string_equal(out.data, "Status: 599 Unknown\r\n"
                                  "Retry-After: 30\r\n"
                                  "X-Request-Id: r-2\r\n"
                                  "X-Content-Type-Options: nosniff\r\n"
                                  "X-Frame-Options: DENY\r\n"
                                  "Referrer-Policy: no-referrer\r\n"
                                  "Content-Security-Policy: default-src 'self'\r\n"
                                  "Cache-Control: public, max-age=60\r\n"
                                  "Content-Length: 0\r\n\r\n");
    zq_req_free(&req);
    zq_buf_free(&out);
}

/* A large body is sent from where the handler wrote it (the staff list's
 * page, some 45 KB): out holds the same head, and the head and the body
 * together are the bytes zq_resp_serialize writes. A small one is copied
 * after the head as before. */
static void test_response_parts(void **state)
{
    char *env[] = {"REQUEST_ID=r-3", NULL};
    zq_buf out = {0}, whole = {0}, big = {0};
    const char *body;
    size_t len;
    zq_req req;

    (void)state;
    for (size_t i = 0; i < ZQ_RESP_SEND_APART; i++)
        zq_buf_append(&big, "x", 1);
    req_from(&req, env, NULL);
    zq_resp_raw(&req, 200, "application/json; charset=utf-8", big.data, big.len);
    assert_int_equal(zq_resp_serialize_parts(&req, &out, &body, &len), 0);
    assert_ptr_equal(body, req.body_out.data);
    assert_int_equal(len, big.len);
    assert_int_equal(zq_resp_serialize(&req, &whole), 0);
    assert_int_equal(whole.len, out.len + len);
    assert_memory_equal(whole.data, out.data, out.len);
    assert_memory_equal(whole.data + out.len, body, len);
    assert_non_null(strstr(out.data, "Content-Length: 8192\r\n\r\n"));
    zq_req_free(&req);

    zq_buf_reset(&out);
    req_from(&req, env, NULL);
    zq_resp_raw(&req, 200, "text/plain", "small", 5);
    assert_int_equal(zq_resp_serialize_parts(&req, &out, &body, &len), 0);
    assert_null(body);
    assert_int_equal(len, 0);
    assert_true(out.len > 5 && memcmp(out.data + out.len - 5, "small", 5) == 0);
    zq_req_free(&req);
    zq_buf_free(&out);
    zq_buf_free(&whole);
    zq_buf_free(&big);
}

static void test_error_fields_and_unavailable(void **state)
{
    zq_req req;
    char *out;

    req_from(&req, (char *[]){NULL}, NULL);
    zq_resp_error_fields(&req, 422, "invalid", "请检查",
                         json_pack("{s:s}", "mobile", "手机号不正确"));
    out = serialize(&req);
    assert_non_null(strstr(out, "\"fields\":{\"mobile\":\"手机号不正确\"}"));
    free(out);
    zq_req_free(&req);

    req_from(&req, (char *[]){NULL}, NULL);
    zq_resp_unavailable(&req);
    out = serialize(&req);
    assert_non_null(strstr(out, "Status: 503"));
    assert_non_null(strstr(out, "Retry-After: 5\r\n"));
    assert_non_null(strstr(out, "storage_unavailable"));
    free(out);
    zq_req_free(&req);
}

static void test_staff_auth(void **state)
{
    char *good[] = {"HTTP_AUTHORIZATION=Bearer secret-token", NULL};
    char *bad[] = {"HTTP_AUTHORIZATION=Bearer wrong", NULL};
    char *none[] = {NULL};
    const zq_token *who = NULL;
    zq_req req;
    char *out;

    req_from(&req, good, NULL);
    assert_int_equal(zq_req_require_staff(&req, ZQ_ROLE_VIEWER, &who), 0);
    assert_string_equal(who->name, "alice");
    assert_false(req.responded);
    zq_req_free(&req);

    req_from(&req, good, NULL);
    assert_true(zq_req_require_staff(&req, ZQ_ROLE_ADMIN, &who) < 0);
    assert_int_equal(req.status, 403);
    zq_req_free(&req);

    req_from(&req, bad, NULL);
    assert_true(zq_req_require_staff(&req, ZQ_ROLE_VIEWER, &who) < 0);
    assert_int_equal(req.status, 401);
    out = serialize(&req);
    assert_non_null(strstr(out, "WWW-Authenticate: Bearer"));
    free(out);
    zq_req_free(&req);

    req_from(&req, none, NULL);
    assert_true(zq_req_require_staff(&req, ZQ_ROLE_VIEWER, &who) < 0);
    assert_int_equal(req.status, 401);
    zq_req_free(&req);
}

static int hits;
static int h_count(zq_req *req)
{
    hits++;
    zq_resp_json(req, 200, NULL);
    return 0;
}

/* Handlers that fail with a code, one of them after answering itself. */
static int h_unavail(zq_req *req)
{
    return -ZQ_EUNAVAIL;
}
static int h_missing(zq_req *req)
{
    return -ZQ_ENOTFOUND;
}
static int h_nomem(zq_req *req)
{
    return -ZQ_ENOMEM;
}
static int h_own(zq_req *req)
{
    zq_resp_error(req, 409, "conflict", "x");
    return -ZQ_ECONFLICT;
}

static const zq_route routes[] = {
    {"GET", "/api/forms", h_count, "forms"},
    {"GET", "/fail/unavail", h_unavail, "unavail"},
    {"GET", "/fail/missing", h_missing, "missing"},
    {"GET", "/fail/nomem", h_nomem, "nomem"},
    {"GET", "/fail/own", h_own, "own"},
    {"GET", "/api/forms/{form}", h_count, "form"},
    {"PUT", "/api/intake/{form}/steps/{step}", h_count, "step"},
    {"POST", "/api/intake/{form}/steps/{step}", h_count, "step_post"},
    {"GET", "/api/cases/{id}.json", h_count, "case_json"},
};

static void dispatch(const char *method, const char *path, zq_req *req)
{
    char m[64], p[256];
    char *env[] = {m, p, NULL};

    snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
    snprintf(p, sizeof(p), "DOCUMENT_URI=%s", path);
    zq_req_init(req, env, &cfg, NULL);
    /* envp is borrowed: the test's buffers outlive dispatch. */
    zq_router_dispatch(routes, ZQ_ARRAY_LEN(routes), req);
    req->envp = NULL;
}

/* A handler's failure code becomes the answer in one place. */
static void test_router_fail(void **state)
{
    zq_req req;
    char *out;

    dispatch("GET", "/fail/unavail", &req);
    assert_int_equal(req.status, 503);
    out = serialize(&req);
    assert_non_null(strstr(out, "Retry-After: "));
    assert_non_null(strstr(out, "storage_unavailable"));
    free(out);
    zq_req_free(&req);

    dispatch("GET", "/fail/missing", &req);
    assert_int_equal(req.status, 404);
    zq_req_free(&req);

    dispatch("GET", "/fail/nomem", &req);
    assert_int_equal(req.status, 500);
    out = serialize(&req);
    assert_non_null(strstr(out, "internal_error"));
    free(out);
    zq_req_free(&req);

    dispatch("GET", "/fail/own", &req);
    assert_int_equal(req.status, 409);
    zq_req_free(&req);
}

static void test_router(void **state)
{
    zq_req req;
    char *out;

    hits = 0;
    dispatch("GET", "/api/forms", &req);
    assert_int_equal(hits, 1);
    assert_int_equal(req.route_index, 0);
    zq_req_free(&req);

    dispatch("GET", "/api/forms/complaint", &req);
    assert_int_equal(req.nparams, 1);
    assert_string_equal(req.params[0], "complaint");
    zq_req_free(&req);

    dispatch("PUT", "/api/intake/consult/steps/contact", &req);
    assert_int_equal(req.nparams, 2);
    assert_string_equal(req.params[1], "contact");
    zq_req_free(&req);

    dispatch("GET", "/api/cases/TS20261126-0001.json", &req);
    assert_int_equal(req.route_index, 8);
    assert_string_equal(req.params[0], "TS20261126-0001");
    zq_req_free(&req);

    /* HEAD is served by GET routes. */
    dispatch("HEAD", "/api/forms", &req);
    assert_int_equal(req.status, 200);
    zq_req_free(&req);

    /* Empty captures, trailing slashes and extra segments do not match. */
    dispatch("GET", "/api/forms/", &req);
    assert_int_equal(req.status, 404);
    zq_req_free(&req);
    dispatch("GET", "/api/forms/a/b", &req);
    assert_int_equal(req.status, 404);
    zq_req_free(&req);
    dispatch("GET", "/api/cases/.json", &req);
    assert_int_equal(req.status, 404);
    zq_req_free(&req);

    /* 405 lists every method the path allows. */
    dispatch("DELETE", "/api/intake/consult/steps/contact", &req);
    assert_int_equal(req.status, 405);
    out = serialize(&req);
    assert_non_null(strstr(out, "Allow: PUT, POST\r\n"));
    assert_non_null(strstr(out, "method_not_allowed"));
    free(out);
    zq_req_free(&req);
    assert_int_equal(hits, 5);
}

static void test_metrics(void **state)
{
    static const char *const names[] = {"ping", "health"};
    zq_buf b = {0};

    zq_metrics_init(names, 2);
    zq_metrics_begin();
    zq_metrics_end(0, 200, 0.0007);
    zq_metrics_begin();
    zq_metrics_end(-1, 404, 0.002);
    zq_metrics_begin();
    zq_metrics_end(1, 599, 10.0);
    zq_metrics_render(&b);
    assert_non_null(strstr(b.data, "zhuqi_http_requests_total{route=\"ping\",status=\"200\"} 1\n"));
    assert_non_null(
        strstr(b.data, "zhuqi_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"));
    assert_non_null(
        strstr(b.data, "zhuqi_http_requests_total{route=\"health\",status=\"other\"} 1\n"));
    assert_non_null(strstr(
        b.data, "zhuqi_http_request_duration_seconds_bucket{route=\"ping\",le=\"0.0005\"} 0\n"));
    assert_non_null(strstr(
        b.data, "zhuqi_http_request_duration_seconds_bucket{route=\"ping\",le=\"0.001\"} 1\n"));
    assert_non_null(strstr(
        b.data, "zhuqi_http_request_duration_seconds_bucket{route=\"health\",le=\"5\"} 0\n"));
    assert_non_null(strstr(
        b.data, "zhuqi_http_request_duration_seconds_bucket{route=\"health\",le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(b.data, "zhuqi_http_requests_in_flight 0\n"));
    assert_non_null(strstr(b.data, "zhuqi_build_info{version=\""));
    zq_buf_free(&b);
}

/* The Idempotency-Key shape shared by intake, notices and staff writes. */
static void test_idem_key_valid(void **state)
{
    char k[80];

    (void)state;
    assert_true(zq_idem_key_valid("abcdEFGH"));
    assert_true(zq_idem_key_valid("0123456789_-abcXYZ"));
    assert_true(zq_idem_key_valid("3f2b8a9c-1d4e-4f6a-9b7c-0e1d2c3b4a59"));
    assert_false(zq_idem_key_valid(NULL));
    assert_false(zq_idem_key_valid(""));
    assert_false(zq_idem_key_valid("abcdEFG"));   /* 7 */
    assert_false(zq_idem_key_valid("abcd EFGH")); /* space */
    assert_false(zq_idem_key_valid("abcd:EFGH")); /* would split the Redis key */
    assert_false(zq_idem_key_valid("abcd\xe4\xb8\xad"
                                   "EFGH"));
    memset(k, 'a', 64);
    k[64] = '\0';
    assert_true(zq_idem_key_valid(k));
    k[64] = 'a';
    k[65] = '\0';
    assert_false(zq_idem_key_valid(k)); /* 65 */
    /* Submission keys: at least 16 (issue 12 item 3). */
    assert_false(zq_idem_key_valid_min("abcdEFGH", ZQ_IDEM_KEY_MIN_PUBLIC));
    assert_false(zq_idem_key_valid_min("0123456789abcde", ZQ_IDEM_KEY_MIN_PUBLIC)); /* 15 */
    assert_true(zq_idem_key_valid_min("0123456789abcdef", ZQ_IDEM_KEY_MIN_PUBLIC));
    assert_false(zq_idem_key_valid_min("0123456789abcde:", ZQ_IDEM_KEY_MIN_PUBLIC));
    memset(k, 'a', 64);
    k[64] = '\0';
    assert_true(zq_idem_key_valid_min(k, ZQ_IDEM_KEY_MIN_PUBLIC));
    k[64] = 'a';
    k[65] = '\0';
    assert_false(zq_idem_key_valid_min(k, ZQ_IDEM_KEY_MIN_PUBLIC));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idem_key_valid),
        cmocka_unit_test(test_params_headers),
        cmocka_unit_test(test_param_index),
        cmocka_unit_test(test_path_fallback_and_bad_utf8),
        cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_urlencoded),
        cmocka_unit_test(test_json_body),
        cmocka_unit_test(test_response_shape),
        cmocka_unit_test(test_response_bytes),
        cmocka_unit_test(test_response_parts),
        cmocka_unit_test(test_error_fields_and_unavailable),
        cmocka_unit_test(test_staff_auth),
        cmocka_unit_test(test_router),
        cmocka_unit_test(test_router_fail),
        cmocka_unit_test(test_metrics),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

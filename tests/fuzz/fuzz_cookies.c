/* Fuzzes the header parsers of fcgi/http.c: the Cookie header
 * (zq_parse_cookies, zq_req_cookie), the bearer token of the
 * Authorization header (zq_auth_check through zq_req_require_staff) and
 * the request id taken from X-Request-Id (zq_req_init).
 * Input: a mode byte (bits 0-5: the cookie limit), then the header text
 * (cut at the first NUL, as a CGI parameter is). */
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/auth.h"
#include "zhuqi/buf.h"
#include "fcgi/http.h"

static zq_config g_cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    zq_err err = {0};

    (void)argc;
    (void)argv;
    fuzz_quiet();
    zq_config_defaults(&g_cfg);
    /* Two staff tokens: "fuzz-admin-token" (admin), "fuzz-viewer" (viewer). */
    {
        char hex[65], spec[128];

        zq_auth_hash_hex("fuzz-admin-token", hex);
        snprintf(spec, sizeof(spec), "admin:admin:%s", hex);
        zq_config_parse_token(spec, &g_cfg.staff.tokens[0], &err);
        zq_auth_hash_hex("fuzz-viewer", hex);
        snprintf(spec, sizeof(spec), "viewer:viewer:%s", hex);
        zq_config_parse_token(spec, &g_cfg.staff.tokens[1], &err);
        g_cfg.staff.ntokens = 2;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    size_t max = (size_t)(mode & 63) + 1, len, n = 0, i;
    char *s = fuzz_rest(&in, &len);
    zq_pool pool = {0};
    zq_kv *kv = NULL;
    char *env[6];
    char cookie[32 + 4096], auth[32 + 4096], rid[32 + 4096];
    const zq_token *who = NULL;
    zq_req req;
    int rc;

    if (zq_parse_cookies(&pool, s, max, &kv, &n) == 0) {
        FUZZ_CHECK(n <= max);
        for (i = 0; i < n; i++) {
            FUZZ_CHECK(kv[i].key[0] != '\0');
            FUZZ_CHECK(strlen(kv[i].val) == kv[i].val_len);
            FUZZ_CHECK(strchr(kv[i].key, ';') == NULL && strchr(kv[i].val, ';') == NULL);
        }
    }
    zq_pool_free(&pool);

    snprintf(cookie, sizeof(cookie), "HTTP_COOKIE=%.4096s", s);
    snprintf(auth, sizeof(auth), "HTTP_AUTHORIZATION=%.4096s", s);
    snprintf(rid, sizeof(rid), "HTTP_X_REQUEST_ID=%.4096s", s);
    env[0] = cookie;
    env[1] = auth;
    env[2] = rid;
    env[3] = "REQUEST_METHOD=GET";
    env[4] = "DOCUMENT_URI=/api/admin/me";
    env[5] = NULL;
    if (zq_req_init(&req, env, &g_cfg, NULL) == 0) {
        FUZZ_CHECK(req.request_id != NULL && strlen(req.request_id) <= 64);
        zq_req_cookie(&req, "zq_session");
        zq_req_cookie(&req, "zq_csrf");
        rc = zq_req_require_staff(&req, (zq_role)(1 + (mode >> 6) % 3), &who);
        if (rc == 0)
            FUZZ_CHECK(who != NULL && who->role >= (zq_role)(1 + (mode >> 6) % 3));
        else
            FUZZ_CHECK(req.status == 401 || req.status == 403);
        {
            zq_buf out = {0};

            zq_resp_serialize(&req, &out);
            zq_buf_free(&out);
        }
    }
    zq_req_free(&req);
    free(s);
    return 0;
}

/* Fuzzes the JSON body layer and the request line of zhuqi-fcgi over a
 * fabricated request: zq_req_init (the path decoded from REQUEST_URI or
 * taken from DOCUMENT_URI), route matching against the real route table
 * (handlers replaced by a no-op), zq_req_json and the serialised answer.
 * Input: a mode byte (bits 0-1: content type, bit 2: DOCUMENT_URI rather
 * than REQUEST_URI, bits 3-5: method), a line with the request URI, then
 * the body. */
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/buf.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"
#include "fcgi/router.h"

static zq_route g_routes[128];
static size_t g_nroutes;

static int noop(zq_req *req)
{
    zq_resp_json(req, 204, NULL);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const zq_route *r;
    size_t n, i;

    (void)argc;
    (void)argv;
    fuzz_quiet();
    r = zq_handlers_routes(&n);
    for (i = 0; i < n && i < ZQ_ARRAY_LEN(g_routes); i++) {
        g_routes[i] = r[i];
        g_routes[i].handler = noop;
    }
    g_nroutes = i;
    return 0;
}

static const char *const content_types[] = {
    "CONTENT_TYPE=application/json",
    "CONTENT_TYPE=application/json; charset=utf-8",
    "CONTENT_TYPE= Application/JSON ;x=y",
    "CONTENT_TYPE=text/plain",
};

static const char *const methods[] = {
    "REQUEST_METHOD=GET",    "REQUEST_METHOD=POST",  "REQUEST_METHOD=PUT", "REQUEST_METHOD=HEAD",
    "REQUEST_METHOD=DELETE", "REQUEST_METHOD=PATCH", "REQUEST_METHOD=",    "REQUEST_METHOD=OPTIONS",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    char *uri = fuzz_line(&in, 2048);
    size_t len;
    char *body = fuzz_rest(&in, &len);
    char uribuf[32 + 2048];
    char *env[5];
    json_t *j = NULL;
    zq_buf out = {0};
    zq_req req;
    int rc;

    snprintf(uribuf, sizeof(uribuf), "%s=%s", (mode & 4) ? "DOCUMENT_URI" : "REQUEST_URI", uri);
    env[0] = uribuf;
    env[1] = (char *)content_types[mode & 3];
    env[2] = (char *)methods[(mode >> 3) & 7];
    env[3] = "QUERY_STRING=";
    env[4] = NULL;
    rc = zq_req_init(&req, env, NULL, NULL);
    if (rc == 0) {
        FUZZ_CHECK(req.path != NULL && zq_utf8_valid(req.path, strlen(req.path)));
        zq_router_dispatch(g_routes, g_nroutes, &req);
        FUZZ_CHECK(req.nparams >= 0 && req.nparams <= ZQ_ROUTE_MAX_PARAMS);
        for (int i = 0; i < req.nparams; i++)
            FUZZ_CHECK(req.params[i] != NULL && req.params[i][0] != '\0' &&
                       strchr(req.params[i], '/') == NULL);
        req.body = body;
        req.body_len = len;
        req.responded = false;
        rc = zq_req_json(&req, &j);
        if (rc == 0) {
            char *dump;

            FUZZ_CHECK(j != NULL);
            dump = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
            FUZZ_CHECK(dump != NULL);
            free(dump);
            zq_resp_json(&req, 200, json_incref(j)); /* j is the request's */
        } else {
            FUZZ_CHECK(j == NULL);
            FUZZ_CHECK(req.status == 400 || req.status == 415);
        }
    } else {
        FUZZ_CHECK(req.status == 400);
    }
    FUZZ_CHECK(zq_resp_serialize(&req, &out) == 0);
    FUZZ_CHECK(out.len > 0 && strncmp(out.data, "Status: ", 8) == 0);
    zq_buf_free(&out);
    zq_req_free(&req);
    free(uri);
    free(body);
    return 0;
}

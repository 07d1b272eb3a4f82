/* Fuzzes the URL-encoded layer of fcgi/http.c: zq_url_decode, the
 * query-string and form parser zq_parse_urlencoded, and the request
 * helpers on top (zq_req_query, zq_req_form) over a fabricated request.
 * Input: a mode byte (bit 0: '+' means space; bits 1-7: the pair limit),
 * then the encoded text. */
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/buf.h"
#include "fcgi/http.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static void check_pairs(const zq_kv *kv, size_t n, size_t max)
{
    size_t i;

    FUZZ_CHECK(n <= max);
    for (i = 0; i < n; i++) {
        FUZZ_CHECK(kv[i].key != NULL && kv[i].val != NULL);
        FUZZ_CHECK(zq_utf8_valid(kv[i].key, strlen(kv[i].key)));
        /* An encoded NUL is refused, so the length is the string's. */
        FUZZ_CHECK(strlen(kv[i].val) == kv[i].val_len);
        FUZZ_CHECK(zq_utf8_valid(kv[i].val, kv[i].val_len));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    bool plus = (mode & 1) != 0;
    size_t max = (size_t)(mode >> 1) + 1, len, outlen = 0, n = 0;
    char *s = fuzz_rest(&in, &len);
    zq_pool pool = {0};
    zq_kv *kv = NULL;
    char *dec;
    char *env[4];
    char qs[64 + 4096];
    zq_req req;

    dec = zq_url_decode(&pool, s, len, plus, &outlen);
    if (dec != NULL) {
        FUZZ_CHECK(outlen <= len);
        FUZZ_CHECK(dec[outlen] == '\0');
        FUZZ_CHECK(memchr(dec, '\0', outlen) == NULL);
    }
    if (zq_parse_urlencoded(&pool, s, len, max, &kv, &n) == 0)
        check_pairs(kv, n, max);
    zq_pool_free(&pool);

    /* The same text as a query string and as a form body. */
    snprintf(qs, sizeof(qs), "QUERY_STRING=%.4096s", s);
    env[0] = qs;
    env[1] = "REQUEST_METHOD=POST";
    env[2] = (mode & 0x80) ? "CONTENT_TYPE=application/x-www-form-urlencoded; charset=utf-8"
                           : "CONTENT_TYPE=application/x-www-form-urlencoded";
    env[3] = NULL;
    if (zq_req_init(&req, env, NULL, NULL) == 0) {
        const char *v = zq_req_query(&req, "a");

        if (v != NULL)
            FUZZ_CHECK(zq_utf8_valid(v, strlen(v)));
        zq_req_query(&req, "form");
        req.body = s;
        req.body_len = len;
        if (zq_req_form(&req, &kv, &n) == 0)
            check_pairs(kv, n, 256);
        else
            FUZZ_CHECK(req.responded && (req.status == 400 || req.status == 415));
    }
    zq_req_free(&req);
    free(s);
    return 0;
}

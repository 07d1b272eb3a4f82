/* Fuzzes the generic chat hook adapter (lib/inbound_generic.c): the
 * timestamp and HMAC headers, the JSON body, then the {"replies": [...]}
 * answer.
 * Input: a mode byte (bit 0: unsigned, lines X-Zhuqi-Timestamp and
 * X-Zhuqi-Signature come first; bits 1-7: seconds of clock skew), then
 * the body. */
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/channel.h"

static zq_config g_cfg;

FUZZ_INBOUND_INITIALIZE(g_cfg)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    char ts[24], sig[72] = "", *l1 = NULL, *l2 = NULL, *body;
    zq_inbound_http h;
    fuzz_http f = {0};
    size_t len;

    fuzz_http_post(&h, &f);
    if (mode & 1) {
        l1 = fuzz_line(&in, 32);
        l2 = fuzz_line(&in, 128);
    }
    body = fuzz_rest(&in, &len);
    h.body = body;
    h.body_len = len;
    if (mode & 1) {
        fuzz_http_add_header(&f, "X-Zhuqi-Timestamp", l1);
        fuzz_http_add_header(&f, "X-Zhuqi-Signature", l2);
    } else {
        snprintf(ts, sizeof(ts), "%lld", FUZZ_NOW_MS / 1000 + (mode >> 1) * 4);
        FUZZ_CHECK(zq_sign_generic(g_cfg.generic.secret, ts, body, len, sig, sizeof(sig)) == 0);
        fuzz_http_add_header(&f, "X-Zhuqi-Timestamp", ts);
        fuzz_http_add_header(&f, "X-Zhuqi-Signature", sig);
    }
    {
        int rc = fuzz_inbound_run(&zq_inbound_generic, &g_cfg, &h, NULL);

        /* More than five minutes off is refused, however well signed. */
        if (!(mode & 1) && (mode >> 1) * 4 > 300)
            FUZZ_CHECK(rc < 0);
    }
    free(body);
    free(l1);
    free(l2);
    return 0;
}

/* Fuzzes the DingTalk robot adapter (lib/inbound_dingtalk.c): the
 * timestamp and sign headers, the JSON message, the session webhook, then
 * the replies queued for that webhook.
 * Input: a mode byte (bit 0: unsigned, lines timestamp and sign come
 * first), then the body. */
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/channel.h"

static zq_config g_cfg;

FUZZ_INBOUND_INITIALIZE(g_cfg)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    char ts[24], sign[64] = "", *l1 = NULL, *l2 = NULL, *body;
    zq_inbound_http h;
    fuzz_http f = {0};
    size_t len;

    fuzz_http_post(&h, &f);
    if (mode & 1) {
        l1 = fuzz_line(&in, 32);
        l2 = fuzz_line(&in, 128);
        fuzz_http_add_header(&f, "timestamp", l1);
        fuzz_http_add_header(&f, "sign", l2);
    } else {
        snprintf(ts, sizeof(ts), "%lld", FUZZ_NOW_MS - (mode >> 1) * 1000LL);
        FUZZ_CHECK(zq_sign_dingtalk(g_cfg.dingtalk.app_secret, FUZZ_NOW_MS - (mode >> 1) * 1000LL,
                                    sign, sizeof(sign)) == 0);
        fuzz_http_add_header(&f, "timestamp", ts);
        fuzz_http_add_header(&f, "sign", sign);
    }
    body = fuzz_rest(&in, &len);
    h.body = body;
    h.body_len = len;
    {
        zq_inbound_msg msg;

        if (fuzz_inbound_run(&zq_inbound_dingtalk, &g_cfg, &h, &msg) == 0 &&
            msg.kind != ZQ_INBOUND_IGNORE) {
            /* Replies go only to DingTalk's own host. */
            FUZZ_CHECK(strncmp(msg.reply_url, "https://oapi.dingtalk.com/", 26) == 0);
            FUZZ_CHECK(strpbrk(msg.reply_url, " \r\n\"'<>\\") == NULL);
        }
        zq_inbound_msg_clear(&msg);
    }
    free(body);
    free(l1);
    free(l2);
    return 0;
}

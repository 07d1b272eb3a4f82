/* Fuzzes the reading of the platforms' answers to a send
 * (lib/push/channel_classify.c zq_channel_classify, and whether it says the
 * destination is gone, zq_channel_target_gone): the body, the HTTP status
 * and Retry-After come from outside.
 * Input: a mode byte (bits 0-2: platform), a status byte (mapped onto
 * 0, 2xx, 3xx, 4xx, 429, 5xx), a line with Retry-After, then the body. */
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/channel.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {0, 200, 201, 204, 301, 400, 403, 404, 413, 429, 500, 503};
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in), st = fuzz_u8(&in);
    zq_channel_kind kind = (zq_channel_kind)((mode & 7) % ZQ_CH__COUNT);
    long status = statuses[st % ZQ_ARRAY_LEN(statuses)];
    char *ra = fuzz_line(&in, 64), *body, reason[160];
    size_t len;
    int64_t after = -1;
    zq_delivery d;

    body = fuzz_rest(&in, &len);
    memset(reason, 'x', sizeof(reason));
    d = zq_channel_classify(kind, status, (mode & 8) ? NULL : body, (mode & 8) ? 0 : len,
                            (mode & 16) ? ra : NULL, &after, reason, sizeof(reason));
    FUZZ_CHECK(d == ZQ_DELIVERY_DONE || d == ZQ_DELIVERY_RETRY || d == ZQ_DELIVERY_FAIL);
    FUZZ_CHECK(after >= 0 && after <= 86400 * 1000LL);
    FUZZ_CHECK(memchr(reason, '\0', sizeof(reason)) != NULL);
    FUZZ_CHECK(zq_utf8_valid(reason, strlen(reason)));
    for (size_t i = 0; reason[i] != '\0'; i++)
        FUZZ_CHECK((unsigned char)reason[i] >= 0x20 && reason[i] != 0x7f);
    if (status == 0 || status >= 500 || status == 429)
        FUZZ_CHECK(d == ZQ_DELIVERY_RETRY);
    if (status >= 300 && status < 400)
        FUZZ_CHECK(d == ZQ_DELIVERY_FAIL);
    {
        char why[160];

        memset(why, 'x', sizeof(why));
        if (zq_channel_target_gone(kind, status, (mode & 8) ? NULL : body, (mode & 8) ? 0 : len,
                                   why, sizeof(why))) {
            FUZZ_CHECK(memchr(why, '\0', sizeof(why)) != NULL && why[0] != '\0');
            FUZZ_CHECK(zq_utf8_valid(why, strlen(why)));
        }
    }
    free(ra);
    free(body);
    return 0;
}

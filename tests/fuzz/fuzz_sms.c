/* Fuzzes the reading of the SMS vendors' answers to SendSms
 * (lib/push/sms.c zq_sms_classify): the body and the HTTP status come
 * from outside. With mode bit 1 the body's lines also become the fields
 * of a SendSms request (zq_sms_request), which must refuse or sign them.
 * Input: a mode byte (bit 0: provider), a status byte (mapped onto 0, 2xx,
 * 3xx, 4xx, 429, 5xx), a byte choosing the clock, then the body. */
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/sms.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static void check_text(const char *s, size_t sz)
{
    FUZZ_CHECK(memchr(s, '\0', sz) != NULL);
    FUZZ_CHECK(zq_utf8_valid(s, strlen(s)));
    for (size_t i = 0; s[i] != '\0'; i++)
        FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

/* The body's first lines as the fields of a request: it is refused or
 * built, never more. */
static void request(zq_sms_provider p, const char *body, size_t len)
{
    char *copy = malloc(len + 1), *f[6] = {"", "", "", "", "", ""}, *q;
    const char *params[1], *names[1] = {"code"}, *phones[1];
    zq_sms_send s = {0};
    zq_sms_req r;
    zq_err err;
    size_t n = 0;
    int rc;

    if (copy == NULL)
        return;
    memcpy(copy, body, len);
    copy[len] = '\0';
    for (q = copy; n < 6; n++) {
        f[n] = q;
        q = strchr(q, '\n');
        if (q == NULL)
            break;
        *q++ = '\0';
    }
    params[0] = f[3];
    phones[0] = f[4];
    s.key_id = "AKIDfuzz";
    s.secret = f[0];
    s.app_id = "1400006666";
    s.sign_name = f[1];
    s.template_id = f[2];
    s.params = params;
    s.param_names = names;
    s.nparams = 1;
    s.phones = phones;
    s.nphones = 1;
    s.session = f[5][0] != '\0' ? f[5] : NULL;
    s.timestamp = 1765012345;
    s.nonce = "3156853299f313e23d1673dc12e1703d";
    rc = zq_sms_request(p, &s, "https://sms.example", &r, &err);
    FUZZ_CHECK(rc == 0 || rc == -ZQ_EINVAL || rc == -ZQ_ETOOBIG);
    if (rc == 0) {
        FUZZ_CHECK(r.nheaders == 7);
        for (int i = 0; i < r.nheaders; i++)
            check_text(r.headers[i], sizeof(r.headers[i]));
        zq_sms_req_free(&r);
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {0, 200, 201, 204, 301, 400, 403, 404, 429, 500, 502, 503};
    static const int64_t clocks[] = {1796524200LL, 1796486399LL, 0,           -5,
                                     1798732799LL, 4102444800LL, 1709222400LL};
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in), st = fuzz_u8(&in), ck = fuzz_u8(&in);
    zq_sms_provider p = (mode & 1) ? ZQ_SMS_ALIBABA : ZQ_SMS_TENCENT;
    long status = statuses[st % ZQ_ARRAY_LEN(statuses)];
    int64_t now = clocks[ck % ZQ_ARRAY_LEN(clocks)];
    size_t len;
    char *body = fuzz_rest(&in, &len);
    zq_sms_result r;

    r = zq_sms_classify(p, status, body, len, now);
    FUZZ_CHECK(r.verdict == ZQ_SMS_SENT || r.verdict == ZQ_SMS_THROTTLED ||
               r.verdict == ZQ_SMS_RETRY || r.verdict == ZQ_SMS_PERMANENT);
    check_text(r.reason, sizeof(r.reason));
    check_text(r.code, sizeof(r.code));
    check_text(r.msg_id, sizeof(r.msg_id));
    FUZZ_CHECK(r.reason[0] != '\0');
    /* Throttled says when (at most a month and a day), nothing else does. */
    if (r.verdict == ZQ_SMS_THROTTLED)
        FUZZ_CHECK(r.retry_after_ms > 0 && r.retry_after_ms <= 32LL * 86400 * 1000);
    else
        FUZZ_CHECK(r.retry_after_ms == 0);
    if (status == 0)
        FUZZ_CHECK(r.verdict == ZQ_SMS_RETRY);
    if (status >= 500)
        FUZZ_CHECK(r.verdict == ZQ_SMS_RETRY || r.verdict == ZQ_SMS_THROTTLED);
    if (status >= 300 && status < 400)
        FUZZ_CHECK(r.verdict == ZQ_SMS_PERMANENT);
    if (r.verdict == ZQ_SMS_SENT)
        FUZZ_CHECK(status >= 200 && status < 300);
    else
        FUZZ_CHECK(r.msg_id[0] == '\0');
    if (mode & 2)
        request(p, body, len);
    free(body);
    return 0;
}

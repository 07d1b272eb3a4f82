/* Fuzzes the reading of a 政务 SMS gateway's answer (lib/push/ch_sms.c
 * zq_sms_answer under provider gateway): the JSON pointers of [sms_gateway]
 * (RFC 6901, from the operator's configuration) and the body and status
 * (from outside); and the [sms] tpl_<use> syntax (zq_sms_tpl_parse).
 * Input: a status byte (mapped onto 0, 2xx, 3xx, 4xx, 429, 5xx), then
 * lines: success_pointer, error_pointer, msgid_pointer, a tpl_<use>
 * value, then the body. */
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/config.h"
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

static void copy_field(char *dst, size_t dstsz, const char *src)
{
    size_t n = strlen(src);

    if (n >= dstsz)
        n = dstsz - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {0, 200, 202, 204, 301, 400, 401, 404, 429, 500, 502, 503};
    static zq_sms_config c; /* large: off the stack */
    fuzz_in in = {data, size};
    uint8_t st = fuzz_u8(&in);
    long status = statuses[st % ZQ_ARRAY_LEN(statuses)];
    char *ok = fuzz_line(&in, 200), *err = fuzz_line(&in, 200), *id = fuzz_line(&in, 200);
    char *tpl = fuzz_line(&in, 300), why[200];
    size_t len;
    char *body = fuzz_rest(&in, &len);
    zq_sms_result r;
    zq_sms_tpl t;

    memset(&c, 0, sizeof(c));
    memcpy(c.provider, "gateway", sizeof("gateway"));
    copy_field(c.gw.success_pointer, sizeof(c.gw.success_pointer), ok);
    copy_field(c.gw.error_pointer, sizeof(c.gw.error_pointer), err);
    copy_field(c.gw.msgid_pointer, sizeof(c.gw.msgid_pointer), id);
    copy_field(c.gw.error_message_pointer, sizeof(c.gw.error_message_pointer), "/msg");
    copy_field(c.gw.success_values, sizeof(c.gw.success_values), "0,\"0000\",true");
    copy_field(c.gw.retry_codes, sizeof(c.gw.retry_codes), "SYSTEM_BUSY,503");
    copy_field(c.gw.throttle_codes, sizeof(c.gw.throttle_codes), "FREQ_LIMIT");
    copy_field(c.gw.http_success, sizeof(c.gw.http_success), st & 0x80 ? "202" : "200-299");
    c.gw.throttle_s = 60;

    r = zq_sms_answer(&c, status, body, len, (st & 0x40) ? "7" : NULL, 1765012345);
    FUZZ_CHECK(r.verdict == ZQ_SMS_SENT || r.verdict == ZQ_SMS_THROTTLED ||
               r.verdict == ZQ_SMS_RETRY || r.verdict == ZQ_SMS_PERMANENT);
    check_text(r.reason, sizeof(r.reason));
    check_text(r.code, sizeof(r.code));
    check_text(r.msg_id, sizeof(r.msg_id));
    if (status == 0 || status >= 500)
        FUZZ_CHECK(r.verdict == ZQ_SMS_RETRY || r.verdict == ZQ_SMS_THROTTLED);
    if (r.verdict == ZQ_SMS_THROTTLED)
        FUZZ_CHECK(r.retry_after_ms > 0);
    if (r.verdict == ZQ_SMS_SENT)
        FUZZ_CHECK(status >= 200 && status < 300);

    if (zq_sms_tpl_parse(st % ZQ_SMS_NUSES, tpl, &t, why, sizeof(why)) == 0) {
        FUZZ_CHECK(t.id[0] != '\0' && t.n >= 0 && t.n <= ZQ_SMS_TPL_PARAMS);
        for (int i = 0; i < t.n; i++)
            FUZZ_CHECK(zq_sms_param_known(st % ZQ_SMS_NUSES, t.name[i]));
    } else {
        check_text(why, sizeof(why));
    }
    free(ok);
    free(err);
    free(id);
    free(tpl);
    free(body);
    return 0;
}

/* Tests of the SMS code store (lib/intake/otp.c): the stored digest
 * against specs/sms.md's O1 vector, generation without modulo bias, and
 * against a throw-away Redis the tries, the lifetime, single use and the
 * send limits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "redis_helper.h"
#include "zhuqi/log.h"
#include "zhuqi/otp.h"

static char g_dir[256];
static zqt_redis g_redis;
static zq_store *g_st;

static const unsigned char pepper[] = "otp-pepper-test-key-0123456789abcdef";
#define PEPPER_LEN (sizeof(pepper) - 1)

static int setup(void **state)
{
    (void)state;
    zq_log_init("test_otp", ZQ_LOG_ERROR);
    if (zqt_tmpdir(g_dir, sizeof(g_dir)) != 0 ||
        zqt_redis_start(&g_redis, g_dir, 0, false, NULL) != 0)
        return -1;
    g_st = zqt_store_new(&g_redis, "t:", 5000);
    return g_st != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    zq_store_free(g_st);
    zqt_redis_kill(&g_redis);
    zqt_rmtree(g_dir);
    return 0;
}

static void flush(void)
{
    redisReply *r = zqt_cmd(&g_redis, "FLUSHALL");
    assert_non_null(r);
    freeReplyObject(r);
}

/* Roomy limits: each test narrows the one it is about. */
static zq_otp_limits roomy(void)
{
    zq_otp_limits l = {.ttl_s = 300,
                       .max_tries = 5,
                       .resend_s = 0,
                       .mobile_per_hour = 0,
                       .mobile_per_day = 0,
                       .client_per_hour = 0,
                       .client_per_day = 0,
                       .daily_budget = 0};
    return l;
}

/* specs/sms.md §5 O1. */
static void test_o1_vector(void **state)
{
    unsigned char md[ZQ_OTP_DIGEST_LEN];
    char hex[ZQ_OTP_DIGEST_LEN * 2 + 1];

    (void)state;
    assert_int_equal(zq_otp_digest(pepper, PEPPER_LEN, "login", "13800138000", "123456", md), 0);
    zq_hex(md, sizeof(md), hex);
    assert_string_equal(hex, "93dc5b653e746795b53062ac95b97ae055f3f116c7ed8d848c6cdedc8d3bab48");
}

/* Draws at or above the last multiple of 10^6 are rejected; below it
 * every code is zero-padded to six digits. */
static void test_bias_rejection(void **state)
{
    char c[ZQ_OTP_CODE_MAX];

    (void)state;
    assert_int_equal(zq_otp_code_from_u32(0, c), 0);
    assert_string_equal(c, "000000");
    assert_int_equal(zq_otp_code_from_u32(42, c), 0);
    assert_string_equal(c, "000042");
    assert_int_equal(zq_otp_code_from_u32(ZQ_OTP_REJECT_FROM - 1, c), 0);
    assert_string_equal(c, "999999");
    assert_int_equal(zq_otp_code_from_u32(ZQ_OTP_REJECT_FROM, c), -ZQ_EINVAL);
    assert_int_equal(zq_otp_code_from_u32(UINT32_MAX, c), -ZQ_EINVAL);
    assert_int_equal(ZQ_OTP_REJECT_FROM % 1000000u, 0);
    assert_true((uint64_t)ZQ_OTP_REJECT_FROM + 1000000u > UINT32_MAX);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(zq_otp_generate(c), 0);
        assert_int_equal(strlen(c), 6);
        for (int k = 0; k < 6; k++)
            assert_true(c[k] >= '0' && c[k] <= '9');
    }
}

/* The tag is 32 hex characters, stable, and differs between numbers. */
static void test_mobile_tag(void **state)
{
    char a[ZQ_OTP_TAG_HEX + 1], b[ZQ_OTP_TAG_HEX + 1], c[ZQ_OTP_TAG_HEX + 1];

    (void)state;
    zq_otp_mobile_tag("13800138000", a);
    zq_otp_mobile_tag("13800138000", b);
    zq_otp_mobile_tag("13800138001", c);
    assert_int_equal(strlen(a), ZQ_OTP_TAG_HEX);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_null(strstr(a, "13800138000"));
    /* The first 16 bytes of SHA-256("zq-mobile:13800138000"): the index
     * keys of stored drafts and the code keys depend on it. */
    assert_string_equal(a, "8845aacaa174d16a00a699aa662e6638");
}

static int issue(const char *purpose, const char *mobile, const char *client, int64_t now,
                 const zq_otp_limits *l, char code[ZQ_OTP_CODE_MAX], zq_otp_limit *which,
                 int *retry_s)
{
    zq_otp_issue_in in = {.purpose = purpose,
                          .mobile = mobile,
                          .client = client,
                          .pepper = pepper,
                          .pepper_len = PEPPER_LEN,
                          .now_ms = now,
                          .lim = l};
    zq_err err = {0};

    return zq_otp_issue(g_st, &in, code, which, retry_s, &err);
}

static zq_otp_result check(const char *purpose, const char *mobile, const char *code, int64_t now,
                           const zq_otp_limits *l, int *left)
{
    zq_otp_check_in in = {.purpose = purpose,
                          .mobile = mobile,
                          .code = code,
                          .pepper = pepper,
                          .pepper_len = PEPPER_LEN,
                          .now_ms = now,
                          .lim = l};
    zq_otp_result res;
    zq_err err = {0};
    int retry;

    assert_int_equal(zq_otp_check(g_st, &in, &res, left, &retry, &err), 0);
    return res;
}

/* A code different from c (the next one up). */
static void other_code(const char *c, char out[ZQ_OTP_CODE_MAX])
{
    memcpy(out, c, ZQ_OTP_CODE_MAX);
    out[5] = (char)(out[5] == '9' ? '0' : out[5] + 1);
}

/* Only the digest is stored; the right code passes once. */
static void test_single_use(void **state)
{
    zq_otp_limits l = roomy();
    char code[ZQ_OTP_CODE_MAX];
    zq_otp_limit which;
    redisReply *r;
    int retry, left;
    int64_t now = zq_now_ms();

    (void)state;
    flush();
    assert_int_equal(issue("submit", "13800138000", "192.0.2.1", now, &l, code, &which, &retry), 0);
    r = zqt_cmd(&g_redis, "KEYS t:otp:code:*");
    assert_non_null(r);
    assert_int_equal(r->elements, 1);
    {
        redisReply *h = zqt_cmd(&g_redis, "HGETALL %s", r->element[0]->str);
        for (size_t i = 0; i < h->elements; i++)
            assert_null(strstr(h->element[i]->str, code));
        freeReplyObject(h);
    }
    freeReplyObject(r);
    /* Another purpose has no code. */
    assert_int_equal(check("lookup", "13800138000", code, now, &l, &left), ZQ_OTP_GONE);
    assert_int_equal(check("submit", "13800138000", code, now, &l, &left), ZQ_OTP_OK);
    assert_int_equal(check("submit", "13800138000", code, now, &l, &left), ZQ_OTP_GONE);
}

/* Wrong codes count; the last try burns the code, even for the right one. */
static void test_tries(void **state)
{
    zq_otp_limits l = roomy();
    char code[ZQ_OTP_CODE_MAX], wrong[ZQ_OTP_CODE_MAX];
    zq_otp_limit which;
    int retry, left = -1, i;
    int64_t now = zq_now_ms();

    (void)state;
    flush();
    assert_int_equal(issue("submit", "13800138000", NULL, now, &l, code, &which, &retry), 0);
    other_code(code, wrong);
    for (i = 4; i >= 1; i--) {
        assert_int_equal(check("submit", "13800138000", wrong, now, &l, &left), ZQ_OTP_WRONG);
        assert_int_equal(left, i);
    }
    /* The fifth and last try with the right code still passes. */
    assert_int_equal(check("submit", "13800138000", code, now, &l, &left), ZQ_OTP_OK);

    assert_int_equal(issue("submit", "13800138000", NULL, now, &l, code, &which, &retry), 0);
    other_code(code, wrong);
    for (i = 0; i < 4; i++)
        assert_int_equal(check("submit", "13800138000", wrong, now, &l, &left), ZQ_OTP_WRONG);
    assert_int_equal(check("submit", "13800138000", wrong, now, &l, &left), ZQ_OTP_BURNT);
    assert_int_equal(left, 0);
    assert_int_equal(check("submit", "13800138000", code, now, &l, &left), ZQ_OTP_BURNT);
    /* A new code replaces the burnt one. */
    assert_int_equal(issue("submit", "13800138000", NULL, now, &l, code, &which, &retry), 0);
    assert_int_equal(check("submit", "13800138000", code, now, &l, &left), ZQ_OTP_OK);
}

/* A code past its lifetime is gone (the script checks the time itself, so
 * no sleeping is needed), and a new code replaces the old one. */
static void test_expiry_and_replace(void **state)
{
    zq_otp_limits l = roomy();
    char code[ZQ_OTP_CODE_MAX], old[ZQ_OTP_CODE_MAX];
    zq_otp_limit which;
    int retry, left;
    int64_t now = zq_now_ms();

    (void)state;
    flush();
    assert_int_equal(issue("lookup", "13800138000", NULL, now, &l, code, &which, &retry), 0);
    assert_int_equal(check("lookup", "13800138000", code, now + 300000, &l, &left), ZQ_OTP_GONE);

    assert_int_equal(issue("lookup", "13800138000", NULL, now, &l, old, &which, &retry), 0);
    do {
        assert_int_equal(issue("lookup", "13800138000", NULL, now, &l, code, &which, &retry), 0);
    } while (strcmp(code, old) == 0);
    assert_int_equal(check("lookup", "13800138000", old, now, &l, &left), ZQ_OTP_WRONG);
    assert_int_equal(check("lookup", "13800138000", code, now + 299000, &l, &left), ZQ_OTP_OK);
}

/* Each send limit refuses with its own name and an exact wait. */
static void test_limits(void **state)
{
    zq_otp_limits l = roomy();
    char code[ZQ_OTP_CODE_MAX], msg[256];
    zq_otp_limit which;
    int retry, i;
    int64_t now = 1765000000000LL;

    (void)state;
    flush();
    l.resend_s = 60;
    assert_int_equal(issue("submit", "13800138000", "c1", now, &l, code, &which, &retry), 0);
    assert_int_equal(issue("submit", "13800138000", "c1", now + 10000, &l, code, &which, &retry),
                     -ZQ_EBUSY);
    assert_int_equal(which, ZQ_OTP_LIMIT_RESEND);
    assert_int_equal(retry, 50);
    assert_string_equal(code, "");
    assert_non_null(strstr(zq_otp_limit_message(which, retry, msg, sizeof(msg)), "50 秒"));
    /* Across purposes too: the limit is the number's. */
    assert_int_equal(issue("lookup", "13800138000", "c1", now + 10000, &l, code, &which, &retry),
                     -ZQ_EBUSY);
    assert_int_equal(issue("submit", "13800138000", "c1", now + 60000, &l, code, &which, &retry),
                     0);

    flush();
    l = roomy();
    l.mobile_per_hour = 3;
    for (i = 0; i < 3; i++)
        assert_int_equal(
            issue("submit", "13800138000", NULL, now + i * 1000, &l, code, &which, &retry), 0);
    assert_int_equal(issue("submit", "13800138000", NULL, now + 5000, &l, code, &which, &retry),
                     -ZQ_EBUSY);
    assert_int_equal(which, ZQ_OTP_LIMIT_MOBILE_HOUR);
    assert_int_equal(retry, 3595);
    /* Another number is not held back. */
    assert_int_equal(issue("submit", "13900139000", NULL, now + 5000, &l, code, &which, &retry), 0);

    flush();
    l = roomy();
    l.mobile_per_day = 2;
    assert_int_equal(issue("submit", "13800138000", NULL, now, &l, code, &which, &retry), 0);
    assert_int_equal(issue("submit", "13800138000", NULL, now + 7200000, &l, code, &which, &retry),
                     0);
    assert_int_equal(issue("submit", "13800138000", NULL, now + 7201000, &l, code, &which, &retry),
                     -ZQ_EBUSY);
    assert_int_equal(which, ZQ_OTP_LIMIT_MOBILE_DAY);
    assert_int_equal(retry, 86400 - 7201);

    flush();
    l = roomy();
    l.client_per_hour = 2;
    assert_int_equal(issue("submit", "13800138000", "c1", now, &l, code, &which, &retry), 0);
    assert_int_equal(issue("submit", "13800138001", "c1", now, &l, code, &which, &retry), 0);
    assert_int_equal(issue("submit", "13800138002", "c1", now, &l, code, &which, &retry),
                     -ZQ_EBUSY);
    assert_int_equal(which, ZQ_OTP_LIMIT_CLIENT_HOUR);
    assert_int_equal(issue("submit", "13800138002", "c2", now, &l, code, &which, &retry), 0);

    flush();
    l = roomy();
    l.client_per_day = 1;
    assert_int_equal(issue("submit", "13800138000", "c1", now, &l, code, &which, &retry), 0);
    assert_int_equal(issue("submit", "13800138001", "c1", now + 4000000, &l, code, &which, &retry),
                     -ZQ_EBUSY);
    assert_int_equal(which, ZQ_OTP_LIMIT_CLIENT_DAY);

    flush();
    l = roomy();
    l.daily_budget = 2;
    assert_int_equal(issue("submit", "13800138000", "c1", now, &l, code, &which, &retry), 0);
    assert_int_equal(issue("submit", "13800138001", "c2", now, &l, code, &which, &retry), 0);
    assert_int_equal(issue("submit", "13800138002", "c3", now, &l, code, &which, &retry),
                     -ZQ_EBUSY);
    assert_int_equal(which, ZQ_OTP_LIMIT_BUDGET);
    assert_true(retry >= 1 && retry <= 86400);
}

/* Bad input is refused before Redis is asked. */
static void test_bad_input(void **state)
{
    zq_otp_limits l = roomy();
    char code[ZQ_OTP_CODE_MAX];
    zq_otp_limit which;
    zq_otp_check_in in = {.purpose = "submit",
                          .mobile = "13800138000",
                          .code = "12345",
                          .pepper = pepper,
                          .pepper_len = PEPPER_LEN,
                          .now_ms = 1,
                          .lim = &l};
    zq_otp_result res;
    int retry, left;

    (void)state;
    assert_int_equal(issue("login", "13800138000", NULL, 1, &l, code, &which, &retry), -ZQ_EINVAL);
    assert_int_equal(issue("submit", "12800138000", NULL, 1, &l, code, &which, &retry), -ZQ_EINVAL);
    assert_int_equal(zq_otp_check(g_st, &in, &res, &left, &retry, NULL), -ZQ_EINVAL);
    in.code = "12345a";
    assert_int_equal(zq_otp_check(g_st, &in, &res, &left, &retry, NULL), -ZQ_EINVAL);
}

/* The pepper: inline or from a private file, at least 32 bytes. */
static void test_pepper(void **state)
{
    unsigned char out[ZQ_OTP_PEPPER_MAX];
    char path[300];
    size_t len = 99;
    zq_err err = {0};
    FILE *f;

    (void)state;
    assert_int_equal(zq_otp_pepper_load("", "", out, &len, &err), 0);
    assert_int_equal(len, 0);
    assert_int_equal(zq_otp_pepper_load("short", "", out, &len, &err), -ZQ_EINVAL);
    assert_int_equal(zq_otp_pepper_load((const char *)pepper, "", out, &len, &err), 0);
    assert_int_equal(len, PEPPER_LEN);
    snprintf(path, sizeof(path), "%s/pepper", g_dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", (const char *)pepper);
    fclose(f);
    chmod(path, 0644);
    assert_int_equal(zq_otp_pepper_load("", path, out, &len, &err), -ZQ_EINVAL);
    assert_non_null(strstr(err.msg, "chmod 600"));
    chmod(path, 0600);
    assert_int_equal(zq_otp_pepper_load("", path, out, &len, &err), 0);
    assert_int_equal(len, PEPPER_LEN);
    assert_memory_equal(out, pepper, PEPPER_LEN);
    assert_int_equal(zq_otp_pepper_load((const char *)pepper, path, out, &len, &err), -ZQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_o1_vector),  cmocka_unit_test(test_bias_rejection),
        cmocka_unit_test(test_mobile_tag), cmocka_unit_test(test_single_use),
        cmocka_unit_test(test_tries),      cmocka_unit_test(test_expiry_and_replace),
        cmocka_unit_test(test_limits),     cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_pepper),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Tests of the [sms] settings (lib/core/config_sms.c and their rules in
 * config.c): the tpl_<use> syntax, the gateway's codes and statuses, the
 * secret from the environment or a 0600 file (never shown in the dump),
 * and a working provider loaded whole. The refusals that need no secret
 * are data files: tests/data/config/bad_sms_*.ini (test_config). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zhuqi/config.h"

static char g_dir[] = "/tmp/zq-test-smscfg-XXXXXX";

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static char *dump_str(const zq_config *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    zq_config_dump(cfg, f);
    fclose(f);
    return buf;
}

static void test_tpl_parse(void **state)
{
    zq_sms_tpl t;
    char why[200];

    (void)state;
    assert_int_equal(zq_sms_tpl_parse(0, "1110: code, minutes", &t, why, sizeof(why)), 0);
    assert_string_equal(t.id, "1110");
    assert_int_equal(t.n, 2);
    assert_string_equal(t.name[0], "code");
    assert_string_equal(t.vendor[0], "code");
    assert_string_equal(t.name[1], "minutes");
    assert_int_equal(
        zq_sms_tpl_parse(1, " SMS_154950909 :caseno = case,status ", &t, why, sizeof(why)), 0);
    assert_string_equal(t.id, "SMS_154950909");
    assert_int_equal(t.n, 2);
    assert_string_equal(t.vendor[0], "caseno");
    assert_string_equal(t.name[0], "case");
    assert_string_equal(t.vendor[1], "status");
    assert_int_equal(zq_sms_tpl_parse(6, "3001", &t, why, sizeof(why)), 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(zq_sms_tpl_parse(6, "3001:", &t, why, sizeof(why)), 0);
    assert_int_equal(t.n, 0);
    /* Refused: a param of another use, twice the same, an empty item, a
     * bad id or vendor name, no use. */
    assert_int_equal(zq_sms_tpl_parse(0, "1110: case", &t, why, sizeof(why)), -ZQ_EINVAL);
    assert_non_null(strstr(why, "not a param of code"));
    assert_int_equal(zq_sms_tpl_parse(0, "1110: code, code", &t, why, sizeof(why)), -ZQ_EINVAL);
    assert_int_equal(zq_sms_tpl_parse(0, "1110: code,", &t, why, sizeof(why)), -ZQ_EINVAL);
    assert_int_equal(zq_sms_tpl_parse(0, "1110: code,,minutes", &t, why, sizeof(why)), -ZQ_EINVAL);
    assert_int_equal(zq_sms_tpl_parse(0, ": code", &t, why, sizeof(why)), -ZQ_EINVAL);
    assert_int_equal(zq_sms_tpl_parse(0, "a/b: code", &t, why, sizeof(why)), -ZQ_EINVAL);
    assert_int_equal(zq_sms_tpl_parse(1, "1: x-y=case", &t, why, sizeof(why)), -ZQ_EINVAL);
    assert_int_equal(zq_sms_tpl_parse(-1, "1", &t, why, sizeof(why)), -ZQ_EINVAL);
    assert_int_equal(zq_sms_tpl_parse(7, "1", &t, why, sizeof(why)), -ZQ_EINVAL);
}

static void test_uses_and_codes(void **state)
{
    int lo, hi;
    char name[65];
    const char *v;

    (void)state;
    assert_int_equal(zq_sms_use_index("code"), 0);
    assert_int_equal(zq_sms_use_index("closed"), ZQ_SMS_NUSES - 1);
    assert_int_equal(zq_sms_use_index("Code"), -1);
    assert_int_equal(zq_sms_use_index(NULL), -1);
    assert_string_equal(zq_sms_use_name(3), "transferred");
    assert_null(zq_sms_use_name(ZQ_SMS_NUSES));
    assert_true(zq_sms_param_known(0, "minutes"));
    assert_false(zq_sms_param_known(0, "case"));
    assert_true(zq_sms_param_known(4, "deadline"));
    assert_true(zq_sms_code_in("0,200,\"0000\"", "0000"));
    assert_true(zq_sms_code_in("0, 200 ,\"0000\"", "200"));
    assert_true(zq_sms_code_in("\"FREQ_LIMIT\",429", "FREQ_LIMIT"));
    assert_false(zq_sms_code_in("0,200", "20"));
    assert_false(zq_sms_code_in("", ""));
    assert_int_equal(zq_sms_http_range("200-299", &lo, &hi), 0);
    assert_int_equal(lo, 200);
    assert_int_equal(hi, 299);
    assert_int_equal(zq_sms_http_range("202", &lo, &hi), 0);
    assert_int_equal(lo, 202);
    assert_int_equal(hi, 202);
    assert_int_equal(zq_sms_http_range("299-200", &lo, &hi), -ZQ_EINVAL);
    assert_int_equal(zq_sms_http_range("2xx", &lo, &hi), -ZQ_EINVAL);
    assert_int_equal(zq_sms_http_range("99", &lo, &hi), -ZQ_EINVAL);
    assert_int_equal(zq_sms_field_split(" mobile = {phone_bare}", name, &v), 0);
    assert_string_equal(name, "mobile");
    assert_string_equal(v, "{phone_bare}");
    assert_int_equal(zq_sms_field_split("mo bile = x", name, &v), -ZQ_EINVAL);
    assert_int_equal(zq_sms_field_split("= x", name, &v), -ZQ_EINVAL);
    assert_int_equal(zq_sms_field_split("mobile", name, &v), -ZQ_EINVAL);
    assert_true(zq_sms_placeholder_known("uuid", 4));
    assert_false(zq_sms_placeholder_known("uuidx", 5));
}

#define TENCENT_INI                                                                                \
    "[sms]\nprovider = tencent\ntencent_base_url = http://127.0.0.1:8090/tencent\n"                \
    "key_id = AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE\napp_id = 1400006666\nsign_name = 腾讯云\n"  \
    "tpl_code = 1110: code, minutes\n"

/* The secret: from the environment or a 0600 file, masked in the dump. */
static void test_secret(void **state)
{
    char ini[300], key[300], body[600];
    zq_config c;
    zq_err err = {0};
    char *d;

    (void)state;
    snprintf(ini, sizeof(ini), "%s/zhuqi.ini", g_dir);
    snprintf(key, sizeof(key), "%s/sms.key", g_dir);
    /* No secret at all. */
    write_file(ini, TENCENT_INI, 0644);
    unsetenv("ZHUQI_SMS_SECRET");
    assert_int_equal(zq_config_load(ini, &c, &err), -ZQ_EINVAL);
    assert_non_null(strstr(err.msg, "needs key_id and the secret"));
    /* From the environment. */
    setenv("ZHUQI_SMS_SECRET", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", 1);
    assert_int_equal(zq_config_load(ini, &c, &err), 0);
    assert_string_equal(c.sms.secret, "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE");
    d = dump_str(&c);
    assert_null(strstr(d, "Gu5t9x"));
    assert_non_null(strstr(d, "\nsecret = ********\n"));
    free(d);
    /* From a file: relative to the configuration, mode 0600 only. */
    unsetenv("ZHUQI_SMS_SECRET");
    snprintf(body, sizeof(body), "%ssecret_file = sms.key\n", TENCENT_INI);
    write_file(ini, body, 0644);
    write_file(key, "file-secret-0123456789\n", 0644);
    assert_int_equal(zq_config_load(ini, &c, &err), -ZQ_EINVAL);
    assert_non_null(strstr(err.msg, "chmod 600"));
    assert_null(strstr(err.msg, "file-secret"));
    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(zq_config_load(ini, &c, &err), 0);
    assert_string_equal(c.sms.secret, "file-secret-0123456789");
    d = dump_str(&c);
    assert_null(strstr(d, "file-secret"));
    assert_non_null(strstr(d, "\nsecret = ********\n"));
    assert_non_null(strstr(d, "\nsecret_file = sms.key\n"));
    free(d);
    /* Both: which one? Refused. */
    setenv("ZHUQI_SMS_SECRET", "other", 1);
    assert_int_equal(zq_config_load(ini, &c, &err), -ZQ_EINVAL);
    assert_non_null(strstr(err.msg, "either"));
    unsetenv("ZHUQI_SMS_SECRET");
    /* Empty, or missing. */
    write_file(key, "\n", 0600);
    assert_int_equal(zq_config_load(ini, &c, &err), -ZQ_EINVAL);
    assert_non_null(strstr(err.msg, "empty"));
    unlink(key);
    assert_int_equal(zq_config_load(ini, &c, &err), -ZQ_EINVAL);
    assert_non_null(strstr(err.msg, "cannot open"));
    unlink(ini);
}

/* A working configuration of each provider loads; what each needs. */
static void test_providers(void **state)
{
    zq_sms_config s;
    char why[300];

    (void)state;
    memset(&s, 0, sizeof(s));
    snprintf(s.provider, sizeof(s.provider), "alibaba");
    snprintf(s.key_id, sizeof(s.key_id), "testId");
    snprintf(s.secret, sizeof(s.secret), "testSecret");
    snprintf(s.tpl[1], sizeof(s.tpl[1]), "SMS_154950909: caseno=case, status");
    assert_int_equal(zq_sms_config_check(&s, why, sizeof(why)), -ZQ_EINVAL);
    assert_non_null(strstr(why, "sign_name"));
    snprintf(s.sign_name, sizeof(s.sign_name), "【阿里云】");
    assert_int_equal(zq_sms_config_check(&s, why, sizeof(why)), -ZQ_EINVAL);
    snprintf(s.sign_name, sizeof(s.sign_name), "阿里云短信测试");
    assert_int_equal(zq_sms_config_check(&s, why, sizeof(why)), 0);
    assert_true(zq_sms_use_configured(&s, 1));
    assert_false(zq_sms_use_configured(&s, 0));
    /* Tencent also needs the SmsSdkAppId. */
    snprintf(s.provider, sizeof(s.provider), "tencent");
    snprintf(s.region, sizeof(s.region), "ap-guangzhou");
    assert_int_equal(zq_sms_config_check(&s, why, sizeof(why)), -ZQ_EINVAL);
    assert_non_null(strstr(why, "app_id"));
    snprintf(s.app_id, sizeof(s.app_id), "1400006666");
    assert_int_equal(zq_sms_config_check(&s, why, sizeof(why)), 0);
    /* The gateway, text mode: text_<use> is the template. */
    memset(&s, 0, sizeof(s));
    snprintf(s.provider, sizeof(s.provider), "gateway");
    snprintf(s.gw.url, sizeof(s.gw.url), "http://127.0.0.1:8090/sms/gateway/send");
    snprintf(s.gw.method, sizeof(s.gw.method), "POST");
    snprintf(s.gw.body_format, sizeof(s.gw.body_format), "json");
    snprintf(s.gw.content_mode, sizeof(s.gw.content_mode), "text");
    snprintf(s.gw.auth, sizeof(s.gw.auth), "header");
    snprintf(s.gw.auth_header, sizeof(s.gw.auth_header), "X-Api-Key");
    snprintf(s.gw.http_success, sizeof(s.gw.http_success), "200-299");
    snprintf(s.gw.field[0], sizeof(s.gw.field[0]), "mobile = {phone_bare}");
    snprintf(s.gw.field[1], sizeof(s.gw.field[1]), "content = {rendered_text}");
    snprintf(s.gw.success_pointer, sizeof(s.gw.success_pointer), "/code");
    snprintf(s.text[0], sizeof(s.text[0]), "您的验证码为{code}，{minutes}分钟内有效。");
    snprintf(s.secret, sizeof(s.secret), "gw-key");
    assert_int_equal(zq_sms_config_check(&s, why, sizeof(why)), -ZQ_EINVAL);
    assert_non_null(strstr(why, "success_values"));
    snprintf(s.gw.success_values, sizeof(s.gw.success_values), "0,\"0000\"");
    assert_int_equal(zq_sms_config_check(&s, why, sizeof(why)), 0);
    assert_true(zq_sms_use_configured(&s, 0));
    snprintf(s.gw.method, sizeof(s.gw.method), "GET");
    assert_int_equal(zq_sms_config_check(&s, why, sizeof(why)), -ZQ_EINVAL);
    snprintf(s.gw.body_format, sizeof(s.gw.body_format), "query");
    assert_int_equal(zq_sms_config_check(&s, why, sizeof(why)), 0);
    snprintf(s.gw.success_pointer, sizeof(s.gw.success_pointer), "code");
    assert_int_equal(zq_sms_config_check(&s, why, sizeof(why)), -ZQ_EINVAL);
    assert_non_null(strstr(why, "JSON pointer"));
    snprintf(s.gw.success_pointer, sizeof(s.gw.success_pointer), "/code");
    snprintf(s.gw.http_success, sizeof(s.gw.http_success), "2xx");
    assert_int_equal(zq_sms_config_check(&s, why, sizeof(why)), -ZQ_EINVAL);
    assert_non_null(strstr(why, "http_success"));
}

static int group_setup(void **state)
{
    (void)state;
    return mkdtemp(g_dir) != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    rmdir(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tpl_parse),
        cmocka_unit_test(test_uses_and_codes),
        cmocka_unit_test(test_secret),
        cmocka_unit_test(test_providers),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

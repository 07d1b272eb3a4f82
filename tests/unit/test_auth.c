/* Tests of lib/auth.c: bearer header parsing, roles, and SHA-256 hex. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/auth.h"

static char long_token[257]; /* 256 characters, configured */
static char too_long_header[300];

/* A configuration with one token per role, built the way an operator
 * would: hash the token, write name:role:hash. */
static int setup_cfg(void **state)
{
    static const struct {
        const char *name, *role, *token;
    } staff[] = {
        {"vera", "viewer", "viewer-token-1"},
        {"hank", "handler", "handler-token-2"},
        {"ada", "admin", "admin-token-3"},
        {"long", "viewer", long_token},
    };
    zq_config *cfg = malloc(sizeof(*cfg));

    assert_non_null(cfg);
    zq_config_defaults(cfg);
    memset(long_token, 'L', sizeof(long_token) - 1);
    for (size_t i = 0; i < sizeof(staff) / sizeof(staff[0]); i++) {
        char hex[65], spec[256];
        zq_err err = {0};

        zq_auth_hash_hex(staff[i].token, hex);
        snprintf(spec, sizeof(spec), "%s:%s:%s", staff[i].name, staff[i].role, hex);
        assert_int_equal(zq_config_parse_token(spec, &cfg->staff.tokens[i], &err), 0);
        cfg->staff.ntokens++;
    }
    snprintf(too_long_header, sizeof(too_long_header), "Bearer %sL", long_token);
    *state = cfg;
    return 0;
}

static int teardown_cfg(void **state)
{
    free(*state);
    return 0;
}

typedef struct auth_case {
    const char *header;
    zq_role need;
    int rc;
    const char *who; /* expected name, NULL for none */
} auth_case;

static const auth_case cases[] = {
    /* each role against each need */
    {"Bearer viewer-token-1", ZQ_ROLE_VIEWER, 0, "vera"},
    {"Bearer viewer-token-1", ZQ_ROLE_HANDLER, -ZQ_EFORBIDDEN, "vera"},
    {"Bearer viewer-token-1", ZQ_ROLE_ADMIN, -ZQ_EFORBIDDEN, "vera"},
    {"Bearer handler-token-2", ZQ_ROLE_VIEWER, 0, "hank"},
    {"Bearer handler-token-2", ZQ_ROLE_HANDLER, 0, "hank"},
    {"Bearer handler-token-2", ZQ_ROLE_ADMIN, -ZQ_EFORBIDDEN, "hank"},
    {"Bearer admin-token-3", ZQ_ROLE_VIEWER, 0, "ada"},
    {"Bearer admin-token-3", ZQ_ROLE_HANDLER, 0, "ada"},
    {"Bearer admin-token-3", ZQ_ROLE_ADMIN, 0, "ada"},
    {"Bearer admin-token-3", ZQ_ROLE_NONE, 0, "ada"},
    /* scheme spelling and spacing */
    {"bearer admin-token-3", ZQ_ROLE_ADMIN, 0, "ada"},
    {"BEARER admin-token-3", ZQ_ROLE_ADMIN, 0, "ada"},
    {"Bearer    admin-token-3", ZQ_ROLE_ADMIN, 0, "ada"},
    /* malformed or unknown */
    {NULL, ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"Bearer", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"Bearer ", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"Bearer    ", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"Bearer wrong-token", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"Bearer admin-token-", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"Bearer admin-token-3 ", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"Bearer admin-token-3 x", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"Bearer\tadmin-token-3", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"Bearer admin-token-3\n", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"Beareradmin-token-3", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {" Bearer admin-token-3", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"Basic YWRtaW46YWRtaW4tdG9rZW4tMw==", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"Basic admin-token-3", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"admin-token-3", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"Bearer ADMIN-TOKEN-3", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
    {"Bearer admin-tok\xc3\xa9n-3", ZQ_ROLE_VIEWER, -ZQ_EAUTH, NULL},
};

static void test_auth_cases(void **state)
{
    static const zq_token poison; /* shows whether *who was written */
    const zq_config *cfg = *state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const zq_token *who = &poison;
        int rc = zq_auth_check(cfg, cases[i].header, cases[i].need, &who);

        if (rc != cases[i].rc)
            print_error("case %zu \"%s\": got %d want %d\n", i,
                        cases[i].header ? cases[i].header : "(null)", rc, cases[i].rc);
        assert_int_equal(rc, cases[i].rc);
        if (cases[i].who == NULL) {
            assert_null(who);
        } else {
            assert_non_null(who);
            assert_string_equal(who->name, cases[i].who);
            /* borrowed from cfg */
            assert_true(who >= cfg->staff.tokens && who < cfg->staff.tokens + cfg->staff.ntokens);
        }
    }
}

/* Tokens of exactly 256 characters are accepted, 257 are not. */
static void test_token_length(void **state)
{
    const zq_config *cfg = *state;
    const zq_token *who = NULL;
    char header[300];

    snprintf(header, sizeof(header), "Bearer %s", long_token);
    assert_int_equal(zq_auth_check(cfg, header, ZQ_ROLE_VIEWER, &who), 0);
    assert_string_equal(who->name, "long");
    assert_int_equal(zq_auth_check(cfg, too_long_header, ZQ_ROLE_VIEWER, &who), -ZQ_EAUTH);
    assert_null(who);
}

static void test_who_optional(void **state)
{
    const zq_config *cfg = *state;

    assert_int_equal(zq_auth_check(cfg, "Bearer handler-token-2", ZQ_ROLE_HANDLER, NULL), 0);
    assert_int_equal(zq_auth_check(cfg, "Bearer handler-token-2", ZQ_ROLE_ADMIN, NULL),
                     -ZQ_EFORBIDDEN);
    assert_int_equal(zq_auth_check(cfg, "Bearer nope", ZQ_ROLE_VIEWER, NULL), -ZQ_EAUTH);
}

static void test_no_tokens_configured(void **state)
{
    zq_config *cfg = malloc(sizeof(*cfg));
    const zq_token *who = NULL;

    (void)state;
    assert_non_null(cfg);
    zq_config_defaults(cfg);
    assert_int_equal(zq_auth_check(cfg, "Bearer admin-token-3", ZQ_ROLE_VIEWER, &who), -ZQ_EAUTH);
    assert_null(who);
    assert_int_equal(zq_auth_check(NULL, "Bearer admin-token-3", ZQ_ROLE_VIEWER, &who), -ZQ_EAUTH);
    free(cfg);
}

static void test_hash_hex(void **state)
{
    char out[65];

    (void)state;
    zq_auth_hash_hex("abc", out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    zq_auth_hash_hex("", out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    zq_auth_hash_hex(NULL, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* the same as `printf %s alice-secret | sha256sum` in zhuqi.ini's recipe */
    zq_auth_hash_hex("alice-secret", out);
    assert_string_equal(out, "0c848abb03307b06cf70cd4e29c157dc81af5e94ab3eb1d0c59a120269572376");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_cases),   cmocka_unit_test(test_token_length),
        cmocka_unit_test(test_who_optional), cmocka_unit_test(test_no_tokens_configured),
        cmocka_unit_test(test_hash_hex),
    };

    return cmocka_run_group_tests(tests, setup_cfg, teardown_cfg);
}

/* Tests of lib/core/config.c: defaults, the example files under
 * tests/data/config/, environment overrides, tokens and the masked dump. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zhuqi/config.h"

#define H_ALICE "0c848abb03307b06cf70cd4e29c157dc81af5e94ab3eb1d0c59a120269572376"
#define H_BOB "9f03ef1533a68d2f506f81ef463c1183a82a6bd40e45613f36e6fe1889cf1b99"
#define H_CAROL "9e1d0a638ff9fd18986d8057aef3c36871aa54b27a6fcc6411fb32f8325675e2"

extern char **environ;

/* Tests run from the repository root unless ZQ_TEST_ROOT says otherwise. */
static const char *path_of(const char *rel)
{
    static char buf[4][1024];
    static int next;
    const char *root = getenv("ZQ_TEST_ROOT");
    char *p = buf[next++ % 4];

    snprintf(p, sizeof(buf[0]), "%s/%s", root != NULL ? root : ".", rel);
    return p;
}

/* The dump as a string (free it), without its first (header) line when
 * body_only. */
static char *dump_str(const zq_config *cfg, bool body_only)
{
    char *buf = NULL, *nl, *body;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    zq_config_dump(cfg, f);
    assert_int_equal(fclose(f), 0);
    if (!body_only)
        return buf;
    nl = strchr(buf, '\n');
    assert_non_null(nl);
    body = strdup(nl + 1);
    free(buf);
    return body;
}

static void hex_to_bytes(const char *hex, unsigned char out[32])
{
    for (int i = 0; i < 32; i++) {
        unsigned int b;

        assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
        out[i] = (unsigned char)b;
    }
}

static void unset_all_zhuqi_env(void)
{
    char name[256];
    bool again = true;

    /* unsetenv changes environ: rescan after each removal */
    while (again) {
        again = false;
        for (char **e = environ; *e != NULL; e++) {
            const char *eq = strchr(*e, '=');

            if (strncmp(*e, "ZHUQI_", 6) == 0 && eq != NULL && (size_t)(eq - *e) < sizeof(name)) {
                memcpy(name, *e, (size_t)(eq - *e));
                name[eq - *e] = '\0';
                unsetenv(name);
                again = true;
                break;
            }
        }
    }
}

static int teardown_env(void **state)
{
    (void)state;
    unset_all_zhuqi_env();
    return 0;
}

static void test_defaults(void **state)
{
    zq_config c;

    (void)state;
    zq_config_defaults(&c);
    assert_string_equal(c.path, "");
    assert_string_equal(c.server.listen, "unix:/run/zhuqi/zhuqi-fcgi.sock");
    assert_int_equal(c.server.threads, 64);
    assert_int_equal(c.server.backlog, 1024);
    assert_int_equal(c.server.max_body, 1048576);
    assert_int_equal(c.server.retry_after_s, 5);
    assert_int_equal(c.server.shutdown_ms, 5000);
    /* Secure by default: TLS is the template's default, and a Redis
     * without a password is never reached over TCP. */
    assert_true(c.server.cookie_secure);
    assert_string_equal(c.server.pid_file, "");
    assert_false(c.server.debug_routes);
    assert_false(c.server.local_http);
    assert_string_equal(c.server.socket_group, "");
    assert_string_equal(c.redis.address, "unix:/run/redis/redis-server.sock");
    assert_int_equal(c.redis.nsentinels, 0);
    assert_string_equal(c.redis.master_name, "mymaster");
    assert_string_equal(c.redis.password, "");
    assert_int_equal(c.redis.db, 0);
    assert_int_equal(c.redis.connect_timeout_ms, 500);
    assert_int_equal(c.redis.command_timeout_ms, 1000);
    assert_int_equal(c.redis.backoff_min_ms, 100);
    assert_int_equal(c.redis.backoff_max_ms, 2000);
    assert_string_equal(c.redis.prefix, "zq:");
    assert_int_equal(c.redis.wait_replicas, -1);
    assert_int_equal(c.redis.wait_timeout_ms, 500);
    assert_string_equal(c.log.level, "info");
    assert_int_equal(c.staff.ntokens, 0);
    assert_int_equal(c.bot.poll_ms, 1000);
    assert_string_equal(c.bot.consumer, "");
    assert_string_equal(c.bot.pid_file, "");
}

/* The shipped config/zhuqi.ini must say exactly what the defaults are. */
static void test_shipped_ini_matches_defaults(void **state)
{
    zq_config def, c;
    zq_err err = {0};
    char *a, *b;

    (void)state;
    zq_config_defaults(&def);
    assert_int_equal(zq_config_load(path_of("config/zhuqi.ini"), &c, &err), 0);
    a = dump_str(&def, true);
    b = dump_str(&c, true);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_good_full(void **state)
{
    const char *path = path_of("tests/data/config/good_full.ini");
    zq_config c;
    zq_err err = {0};
    unsigned char h[32];

    (void)state;
    assert_int_equal(zq_config_load(path, &c, &err), 0);
    assert_string_equal(c.path, path);
    assert_string_equal(c.server.listen, "127.0.0.1:9000");
    assert_int_equal(c.server.threads, 32);
    assert_int_equal(c.server.backlog, 512);
    assert_int_equal(c.server.max_body, 2 * 1024 * 1024);
    assert_int_equal(c.server.retry_after_s, 30);
    assert_int_equal(c.server.shutdown_ms, 10000);
    assert_true(c.server.cookie_secure);
    assert_string_equal(c.server.pid_file, "/run/zhuqi/zhuqi-fcgi.pid");
    assert_true(c.server.debug_routes);
    assert_string_equal(c.redis.address, "unix:/run/redis/redis.sock");
    assert_int_equal(c.redis.nsentinels, 3);
    assert_string_equal(c.redis.sentinels[0], "10.0.0.1:26379");
    assert_string_equal(c.redis.sentinels[1], "10.0.0.2:26379");
    assert_string_equal(c.redis.sentinels[2], "sentinel-3.example.com:26380");
    assert_string_equal(c.redis.master_name, "zq-master");
    assert_string_equal(c.redis.password, "s3cret-pass");
    assert_int_equal(c.redis.db, 3);
    assert_int_equal(c.redis.connect_timeout_ms, 250);
    assert_int_equal(c.redis.command_timeout_ms, 750);
    assert_int_equal(c.redis.backoff_min_ms, 50);
    assert_int_equal(c.redis.backoff_max_ms, 8000);
    assert_string_equal(c.redis.prefix, "{zq-test}:");
    assert_string_equal(c.log.level, "debug");
    assert_int_equal(c.staff.ntokens, 3);
    assert_string_equal(c.staff.tokens[0].name, "alice");
    assert_int_equal(c.staff.tokens[0].role, ZQ_ROLE_ADMIN);
    hex_to_bytes(H_ALICE, h);
    assert_memory_equal(c.staff.tokens[0].hash, h, 32);
    assert_string_equal(c.staff.tokens[1].name, "bob");
    assert_int_equal(c.staff.tokens[1].role, ZQ_ROLE_VIEWER);
    assert_string_equal(c.staff.tokens[2].name, "carol.h_1");
    assert_int_equal(c.staff.tokens[2].role, ZQ_ROLE_HANDLER);
    hex_to_bytes(H_CAROL, h); /* written in upper case in the file */
    assert_memory_equal(c.staff.tokens[2].hash, h, 32);
    assert_int_equal(c.bot.poll_ms, 250);
    assert_string_equal(c.bot.consumer, "bot-1");
    assert_string_equal(c.bot.pid_file, "/run/zhuqi/zhuqi-bot.pid");
}

static void test_good_minimal_is_defaults(void **state)
{
    zq_config def, c;
    zq_err err = {0};
    char *a, *b;

    (void)state;
    zq_config_defaults(&def);
    assert_int_equal(zq_config_load(path_of("tests/data/config/good_minimal.ini"), &c, &err), 0);
    a = dump_str(&def, true);
    b = dump_str(&c, true);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_good_variants(void **state)
{
    zq_config c;
    zq_err err = {0};

    (void)state;
    assert_int_equal(zq_config_load(path_of("tests/data/config/good_variants.ini"), &c, &err), 0);
    assert_string_equal(c.server.listen, "fd:3");
    assert_int_equal(c.server.max_body, 64 * 1024);
    assert_true(c.server.cookie_secure);
    assert_false(c.server.debug_routes);
    assert_string_equal(c.redis.address, "[::1]:6380");
    assert_int_equal(c.redis.nsentinels, 0);
    assert_int_equal(c.dingtalk.sign_window_s, 300);
    assert_int_equal(c.chat.dedup_ttl_s, 300);
}

/* Every tests/data/config/bad_*.ini starts with "# expect: FILE:LINE: ...",
 * the exact message, FILE standing for the path. */
static void test_bad_files(void **state)
{
    glob_t g;
    size_t i;

    (void)state;
    assert_int_equal(glob(path_of("tests/data/config/bad_*.ini"), 0, NULL, &g), 0);
    assert_true(g.gl_pathc >= 50);
    for (i = 0; i < g.gl_pathc; i++) {
        const char *path = g.gl_pathv[i];
        char first[512], want[1024];
        zq_config c, before;
        zq_err err = {0};
        FILE *f = fopen(path, "r");
        int rc;

        assert_non_null(f);
        assert_non_null(fgets(first, sizeof(first), f));
        fclose(f);
        first[strcspn(first, "\n")] = '\0';
        assert_int_equal(strncmp(first, "# expect: FILE", 14), 0);
        snprintf(want, sizeof(want), "%s%s", path, first + 14);
        memset(&c, 0xA5, sizeof(c));
        before = c;
        rc = zq_config_load(path, &c, &err);
        if (rc != -ZQ_EINVAL || strcmp(err.msg, want) != 0)
            print_error("%s:\n   got %d \"%s\"\n  want %d \"%s\"\n", path, rc, err.msg, -ZQ_EINVAL,
                        want);
        assert_int_equal(rc, -ZQ_EINVAL);
        assert_int_equal(err.code, ZQ_EINVAL);
        assert_string_equal(err.msg, want);
        /* cfg is only written on success */
        assert_memory_equal(&c, &before, sizeof(c));
    }
    globfree(&g);
}

static void test_missing_file(void **state)
{
    const char *path = path_of("tests/data/config/does-not-exist.ini");
    char want[1100];
    zq_config c;
    zq_err err = {0};

    (void)state;
    assert_int_equal(zq_config_load(path, &c, &err), -ZQ_EIO);
    assert_int_equal(err.code, ZQ_EIO);
    snprintf(want, sizeof(want), "%s: cannot open: %s", path, strerror(ENOENT));
    assert_string_equal(err.msg, want);
}

static void test_directory(void **state)
{
    const char *path = path_of("tests/data/config");
    char want[1100];
    zq_config c;
    zq_err err = {0};

    (void)state;
    assert_int_equal(zq_config_load(path, &c, &err), -ZQ_EIO);
    snprintf(want, sizeof(want), "%s: cannot read: %s", path, strerror(EISDIR));
    assert_string_equal(err.msg, want);
}

static void test_null_err_accepted(void **state)
{
    zq_config c;

    (void)state;
    assert_int_equal(zq_config_load(path_of("tests/data/config/bad_level.ini"), &c, NULL),
                     -ZQ_EINVAL);
    assert_int_equal(zq_config_load(NULL, &c, NULL), -ZQ_EINVAL);
}

static void test_env_override(void **state)
{
    zq_config c;
    zq_err err = {0};

    (void)state;
    setenv("ZHUQI_SERVER_THREADS", "64", 1);
    setenv("ZHUQI_SERVER_MAX_BODY", "4m", 1);
    setenv("ZHUQI_SERVER_COOKIE_SECURE", "false", 1);
    setenv("ZHUQI_REDIS_PASSWORD", "from-env", 1);
    setenv("ZHUQI_REDIS_SENTINELS", "a:1,b:2", 1);
    setenv("ZHUQI_LOG_LEVEL", "warn", 1);
    assert_int_equal(zq_config_load(path_of("tests/data/config/good_full.ini"), &c, &err), 0);
    assert_int_equal(c.server.threads, 64);
    assert_int_equal(c.server.max_body, 4 * 1024 * 1024);
    assert_false(c.server.cookie_secure);
    assert_string_equal(c.redis.password, "from-env");
    assert_int_equal(c.redis.nsentinels, 2);
    assert_string_equal(c.redis.sentinels[1], "b:2");
    assert_string_equal(c.log.level, "warn");
    /* untouched keys keep the file's value */
    assert_int_equal(c.server.backlog, 512);
    assert_int_equal(c.staff.ntokens, 3);
}

/* An empty variable sets the key to empty; it is not ignored. */
static void test_env_empty_value(void **state)
{
    zq_config c;
    zq_err err = {0};

    (void)state;
    setenv("ZHUQI_REDIS_PASSWORD", "", 1);
    setenv("ZHUQI_REDIS_SENTINELS", "", 1);
    assert_int_equal(zq_config_load(path_of("tests/data/config/good_full.ini"), &c, &err), 0);
    assert_string_equal(c.redis.password, "");
    assert_int_equal(c.redis.nsentinels, 0);
}

typedef struct env_case {
    const char *var, *value, *want; /* want: a line of the dump, or the error */
} env_case;

/* Each key's variable name, through the dump; so no key lacks one. */
static const env_case env_good[] = {
    {"ZHUQI_SERVER_LISTEN", "fd:0", "listen = fd:0\n"},
    {"ZHUQI_SERVER_THREADS", "2", "threads = 2\n"},
    {"ZHUQI_SERVER_BACKLOG", "7", "backlog = 7\n"},
    {"ZHUQI_SERVER_MAX_BODY", "2k", "max_body = 2048\n"},
    {"ZHUQI_SERVER_RETRY_AFTER", "9", "retry_after = 9\n"},
    {"ZHUQI_SERVER_SHUTDOWN_TIMEOUT_MS", "100", "shutdown_timeout_ms = 100\n"},
    {"ZHUQI_SERVER_COOKIE_SECURE", "yes", "cookie_secure = true\n"},
    {"ZHUQI_SERVER_PID_FILE", "/tmp/x.pid", "pid_file = /tmp/x.pid\n"},
    {"ZHUQI_SERVER_DEBUG_ROUTES", "1", "debug_routes = true\n"},
    {"ZHUQI_REDIS_ADDRESS", "redis:6379", "address = redis:6379\n"},
    {"ZHUQI_REDIS_SENTINELS", "s1:26379, s2:26379", "sentinels = s1:26379,s2:26379\n"},
    {"ZHUQI_REDIS_MASTER_NAME", "m2", "master_name = m2\n"},
    {"ZHUQI_REDIS_PASSWORD", "pw", "password = ********\n"},
    {"ZHUQI_REDIS_DB", "15", "db = 15\n"},
    {"ZHUQI_REDIS_CONNECT_TIMEOUT_MS", "11", "connect_timeout_ms = 11\n"},
    {"ZHUQI_REDIS_COMMAND_TIMEOUT_MS", "12", "command_timeout_ms = 12\n"},
    {"ZHUQI_REDIS_BACKOFF_MIN_MS", "13", "backoff_min_ms = 13\n"},
    {"ZHUQI_REDIS_BACKOFF_MAX_MS", "14000", "backoff_max_ms = 14000\n"},
    {"ZHUQI_REDIS_PREFIX", "{x}:", "prefix = {x}:\n"},
    {"ZHUQI_REDIS_WAIT_REPLICAS", "2", "wait_replicas = 2\n"},
    {"ZHUQI_REDIS_WAIT_TIMEOUT_MS", "250", "wait_timeout_ms = 250\n"},
    {"ZHUQI_LOG_LEVEL", "error", "level = error\n"},
    {"ZHUQI_STAFF_TOKENS", "eve:viewer:" H_ALICE, "token = eve:viewer:********\n"},
    {"ZHUQI_BOT_POLL_MS", "10", "poll_ms = 10\n"},
    {"ZHUQI_BOT_CONSUMER", "c-1", "consumer = c-1\n"},
    {"ZHUQI_BOT_PID_FILE", "/tmp/b.pid", "pid_file = /tmp/b.pid\n"},
};

static void test_env_every_key(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(env_good) / sizeof(env_good[0]); i++) {
        zq_config c;
        zq_err err = {0};
        char *d;

        setenv(env_good[i].var, env_good[i].value, 1);
        if (zq_config_load(path_of("tests/data/config/good_minimal.ini"), &c, &err) != 0)
            fail_msg("%s=%s: %s", env_good[i].var, env_good[i].value, err.msg);
        d = dump_str(&c, false);
        if (strstr(d, env_good[i].want) == NULL)
            print_error("%s=%s: no \"%s\" in\n%s", env_good[i].var, env_good[i].value,
                        env_good[i].want, d);
        assert_non_null(strstr(d, env_good[i].want));
        free(d);
        unsetenv(env_good[i].var);
    }
}

static const env_case env_bad[] = {
    {"ZHUQI_SERVER_THREADS", "0",
     "environment ZHUQI_SERVER_THREADS: must be an integer between 1 and 1024"},
    {"ZHUQI_SERVER_THREADS", " 8",
     "environment ZHUQI_SERVER_THREADS: must be an integer between 1 and 1024"},
    {"ZHUQI_SERVER_LISTEN", "",
     "environment ZHUQI_SERVER_LISTEN: must be 1 to 255 characters long"},
    {"ZHUQI_SERVER_DEBUG_ROUTES", "sure",
     "environment ZHUQI_SERVER_DEBUG_ROUTES: must be true or false"},
    {"ZHUQI_REDIS_SENTINELS", "a:1,b",
     "environment ZHUQI_REDIS_SENTINELS: item 2 \"b\" must be host:port"},
    {"ZHUQI_LOG_LEVEL", "trace", "environment ZHUQI_LOG_LEVEL: must be debug, info, warn or error"},
    {"ZHUQI_STAFF_TOKENS", "dave:handler:" H_ALICE ",oops",
     "environment ZHUQI_STAFF_TOKENS: item 2: token must be name:role:sha256hex"},
    {"ZHUQI_STAFF_TOKENS", "dave:handler:" H_ALICE ",dave:viewer:" H_BOB,
     "environment ZHUQI_STAFF_TOKENS: item 2: duplicate name \"dave\""},
    {"ZHUQI_REDIS_BACKOFF_MIN_MS", "5000",
     "environment ZHUQI_REDIS_BACKOFF_MIN_MS: must not be greater than backoff_max_ms (2000)"},
};

static void test_env_bad_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(env_bad) / sizeof(env_bad[0]); i++) {
        zq_config c, before;
        zq_err err = {0};

        memset(&c, 0x5A, sizeof(c));
        before = c;
        setenv(env_bad[i].var, env_bad[i].value, 1);
        assert_int_equal(zq_config_load(path_of("tests/data/config/good_minimal.ini"), &c, &err),
                         -ZQ_EINVAL);
        assert_int_equal(err.code, ZQ_EINVAL);
        assert_string_equal(err.msg, env_bad[i].want);
        assert_memory_equal(&c, &before, sizeof(c));
        unsetenv(env_bad[i].var);
    }
}

/* The cross-key rule names the file's line when the file broke it. */
static void test_env_fixes_file_rule(void **state)
{
    zq_config c;
    zq_err err = {0};

    (void)state;
    setenv("ZHUQI_REDIS_BACKOFF_MAX_MS", "5000", 1);
    assert_int_equal(zq_config_load(path_of("tests/data/config/bad_backoff.ini"), &c, &err), 0);
    assert_int_equal(c.redis.backoff_min_ms, 1000);
    assert_int_equal(c.redis.backoff_max_ms, 5000);
}

static void test_env_tokens_replace_file(void **state)
{
    zq_config c;
    zq_err err = {0};

    (void)state;
    setenv("ZHUQI_STAFF_TOKENS", "dave:handler:" H_ALICE ", erin:viewer:" H_BOB, 1);
    assert_int_equal(zq_config_load(path_of("tests/data/config/good_full.ini"), &c, &err), 0);
    assert_int_equal(c.staff.ntokens, 2);
    assert_string_equal(c.staff.tokens[0].name, "dave");
    assert_int_equal(c.staff.tokens[0].role, ZQ_ROLE_HANDLER);
    assert_string_equal(c.staff.tokens[1].name, "erin");
    assert_int_equal(c.staff.tokens[1].role, ZQ_ROLE_VIEWER);

    setenv("ZHUQI_STAFF_TOKENS", "", 1);
    assert_int_equal(zq_config_load(path_of("tests/data/config/good_full.ini"), &c, &err), 0);
    assert_int_equal(c.staff.ntokens, 0);
}

static void test_too_many_tokens(void **state)
{
    char *list = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&list, &len);
    zq_config c;
    zq_err err = {0};

    (void)state;
    assert_non_null(f);
    for (int i = 0; i <= ZQ_MAX_TOKENS; i++)
        fprintf(f, "%st%d:viewer:%064x", i > 0 ? "," : "", i, i);
    fclose(f);
    setenv("ZHUQI_STAFF_TOKENS", list, 1);
    assert_int_equal(zq_config_load(path_of("tests/data/config/good_minimal.ini"), &c, &err),
                     -ZQ_EINVAL);
    assert_string_equal(err.msg, "environment ZHUQI_STAFF_TOKENS: item 65: at most 64 tokens");
    free(list);
}

typedef struct token_case {
    const char *spec;
    int rc;
    const char *name_or_msg;
    zq_role role;
} token_case;

static const token_case tokens[] = {
    {"alice:admin:" H_ALICE, 0, "alice", ZQ_ROLE_ADMIN},
    {"b:viewer:" H_BOB, 0, "b", ZQ_ROLE_VIEWER},
    {"Ops.Team-1_x:handler:" H_CAROL, 0, "Ops.Team-1_x", ZQ_ROLE_HANDLER},
    {"", -ZQ_EINVAL, "token must be name:role:sha256hex", 0},
    {"alice", -ZQ_EINVAL, "token must be name:role:sha256hex", 0},
    {"alice:admin", -ZQ_EINVAL, "token must be name:role:sha256hex", 0},
    {":admin:" H_ALICE, -ZQ_EINVAL, "token name must be 1 to 63 characters of A-Z a-z 0-9 _ . -",
     0},
    {"al/ice:admin:" H_ALICE, -ZQ_EINVAL,
     "token name must be 1 to 63 characters of A-Z a-z 0-9 _ . -", 0},
    {"a123456789a123456789a123456789a123456789a123456789a123456789abcd:admin:" H_ALICE, -ZQ_EINVAL,
     "token name must be 1 to 63 characters of A-Z a-z 0-9 _ . -", 0},
    {"alice:Admin:" H_ALICE, -ZQ_EINVAL, "token \"alice\": role must be viewer, handler or admin",
     0},
    {"alice:none:" H_ALICE, -ZQ_EINVAL, "token \"alice\": role must be viewer, handler or admin",
     0},
    {"alice::" H_ALICE, -ZQ_EINVAL, "token \"alice\": role must be viewer, handler or admin", 0},
    {"alice:admin:", -ZQ_EINVAL, "token \"alice\": hash must be 64 hex digits (SHA-256)", 0},
    {"alice:admin:" H_ALICE "0", -ZQ_EINVAL,
     "token \"alice\": hash must be 64 hex digits (SHA-256)", 0},
    {"alice:admin:gc848abb03307b06cf70cd4e29c157dc81af5e94ab3eb1d0c59a120269572376", -ZQ_EINVAL,
     "token \"alice\": hash must be 64 hex digits (SHA-256)", 0},
    {"alice:admin:" H_ALICE ":x", -ZQ_EINVAL,
     "token \"alice\": hash must be 64 hex digits (SHA-256)", 0},
};

static void test_parse_token(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        zq_token t;
        zq_err err = {0};
        int rc = zq_config_parse_token(tokens[i].spec, &t, &err);

        assert_int_equal(rc, tokens[i].rc);
        if (rc == 0) {
            assert_string_equal(t.name, tokens[i].name_or_msg);
            assert_int_equal(t.role, tokens[i].role);
        } else {
            assert_int_equal(err.code, ZQ_EINVAL);
            assert_string_equal(err.msg, tokens[i].name_or_msg);
        }
    }
    assert_int_equal(zq_config_parse_token(NULL, NULL, NULL), -ZQ_EINVAL);
}

static void test_dump_masks_secrets(void **state)
{
    const char *path = path_of("tests/data/config/good_full.ini");
    zq_config c;
    zq_err err = {0};
    char want[1100], *d;

    (void)state;
    assert_int_equal(zq_config_load(path, &c, &err), 0);
    d = dump_str(&c, false);
    snprintf(want, sizeof(want), "# effective configuration from %s\n", path);
    assert_int_equal(strncmp(d, want, strlen(want)), 0);
    assert_non_null(strstr(d, "\n[server]\n"));
    assert_non_null(strstr(d, "\nthreads = 32\n"));
    assert_non_null(strstr(d, "\nmax_body = 2097152\n"));
    assert_non_null(strstr(d, "\ncookie_secure = true\n"));
    assert_non_null(strstr(d, "\nsentinels = 10.0.0.1:26379,10.0.0.2:26379,"
                              "sentinel-3.example.com:26380\n"));
    assert_non_null(strstr(d, "\npassword = ********\n"));
    assert_non_null(strstr(d, "\ntoken = alice:admin:********\n"));
    assert_non_null(strstr(d, "\ntoken = bob:viewer:********\n"));
    assert_non_null(strstr(d, "\ntoken = carol.h_1:handler:********\n"));
    assert_non_null(strstr(d, "\n[bot]\n"));
    assert_null(strstr(d, "s3cret"));
    assert_null(strstr(d, H_ALICE));
    assert_null(strstr(d, "0c848abb")); /* not even part of a hash */
    free(d);
}

static void test_dump_defaults(void **state)
{
    zq_config c;
    char *d;

    (void)state;
    zq_config_defaults(&c);
    d = dump_str(&c, false);
    assert_int_equal(strncmp(d, "# effective configuration from (defaults)\n", 42), 0);
    /* an unset secret stays visibly empty */
    assert_non_null(strstr(d, "\npassword = \n"));
    assert_non_null(strstr(d, "\nlisten = unix:/run/zhuqi/zhuqi-fcgi.sock\n"));
    free(d);
}

/* Without secrets the dump is a valid ini file that loads back the same. */
static void test_dump_reloads(void **state)
{
    zq_config c, again;
    zq_err err = {0};
    char tmpl[] = "/tmp/zq-test-config-XXXXXX";
    int fd = mkstemp(tmpl);
    FILE *f;
    char *a, *b;

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(zq_config_load(path_of("tests/data/config/good_variants.ini"), &c, &err), 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    zq_config_dump(&c, f);
    fclose(f);
    assert_int_equal(zq_config_load(tmpl, &again, &err), 0);
    a = dump_str(&c, true);
    b = dump_str(&again, true);
    assert_string_equal(a, b);
    free(a);
    free(b);
    unlink(tmpl);
}

static void test_role_name(void **state)
{
    (void)state;
    assert_string_equal(zq_role_name(ZQ_ROLE_NONE), "none");
    assert_string_equal(zq_role_name(ZQ_ROLE_VIEWER), "viewer");
    assert_string_equal(zq_role_name(ZQ_ROLE_HANDLER), "handler");
    assert_string_equal(zq_role_name(ZQ_ROLE_ADMIN), "admin");
    assert_string_equal(zq_role_name((zq_role)42), "none");
}

#define T(f) cmocka_unit_test_teardown(f, teardown_env)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_shipped_ini_matches_defaults),
        T(test_good_full),
        T(test_good_minimal_is_defaults),
        T(test_good_variants),
        T(test_bad_files),
        T(test_missing_file),
        T(test_directory),
        T(test_null_err_accepted),
        T(test_env_override),
        T(test_env_empty_value),
        T(test_env_every_key),
        T(test_env_bad_values),
        T(test_env_fixes_file_rule),
        T(test_env_tokens_replace_file),
        T(test_too_many_tokens),
        T(test_parse_token),
        T(test_dump_masks_secrets),
        T(test_dump_defaults),
        T(test_dump_reloads),
        T(test_role_name),
    };

    /* Variables from the caller's shell must not change the results. */
    unset_all_zhuqi_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

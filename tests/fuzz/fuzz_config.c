/* Fuzzes the configuration parser (lib/core/config.c zq_config_load over inih):
 * the input is written to a scratch zhuqi.ini and loaded; a file that
 * loads is dumped (secrets masked), and a file that does not gets a
 * message naming it. */
#include <string.h>

#include "fuzz_common.h"

static char g_path[600];
static FILE *g_null;

extern char **environ;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char **e;

    (void)argc;
    (void)argv;
    fuzz_quiet();
    snprintf(g_path, sizeof(g_path), "%s/zhuqi.ini", fuzz_tmp());
    g_null = fopen("/dev/null", "w");
    FUZZ_CHECK(g_null != NULL);
    /* The file alone decides: no ZHUQI_* overrides from the caller. */
    for (e = environ; *e != NULL;) {
        if (strncmp(*e, "ZHUQI_", 6) == 0) {
            char name[256];
            size_t n = strcspn(*e, "=");

            snprintf(name, sizeof(name), "%.*s", (int)n, *e);
            unsetenv(name);
            e = environ;
        } else {
            e++;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zq_config *cfg = malloc(sizeof(*cfg));
    zq_err err = {0};
    int rc;

    FUZZ_CHECK(cfg != NULL);
    fuzz_write_file(g_path, data, size);
    memset(cfg, 0x5a, sizeof(*cfg));
    rc = zq_config_load(g_path, cfg, &err);
    if (rc == 0) {
        FUZZ_CHECK(strcmp(cfg->path, g_path) == 0);
        FUZZ_CHECK(cfg->server.threads > 0 && cfg->staff.ntokens >= 0 &&
                   cfg->staff.ntokens <= ZQ_MAX_TOKENS);
        FUZZ_CHECK(cfg->redis.nsentinels >= 0 && cfg->redis.nsentinels <= ZQ_MAX_SENTINELS);
        FUZZ_CHECK(memchr(cfg->redis.address, '\0', sizeof(cfg->redis.address)) != NULL);
        FUZZ_CHECK(memchr(cfg->redis.password, '\0', sizeof(cfg->redis.password)) != NULL);
        FUZZ_CHECK(memchr(cfg->server.listen, '\0', sizeof(cfg->server.listen)) != NULL);
        zq_config_dump(cfg, g_null);
    } else {
        FUZZ_CHECK(err.code != 0 && strstr(err.msg, g_path) != NULL);
        /* cfg is only written on success. */
        for (size_t i = 0; i < sizeof(*cfg); i++)
            FUZZ_CHECK(((unsigned char *)cfg)[i] == 0x5a);
    }
    memset(cfg, 0, sizeof(*cfg));
    free(cfg);
    return 0;
}

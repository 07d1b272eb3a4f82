/* zhuqi-fcgi: the FastCGI responder behind nginx. */
#include <fcgiapp.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zhuqi/app.h"
#include "zhuqi/daemon.h"
#include "handlers.h"
#include "zhuqi/log.h"
#include "metrics.h"
#include "server.h"
#include "verify.h"

/* Under valgrind /proc/self/exe is valgrind's tool, which refuses to be
 * run directly ("You cannot run ... directly"): zhuqi-fcgi must not
 * execute itself again there (make profile runs it under callgrind).
 * Valgrind preloads its core into every program it runs. (Not
 * RUNNING_ON_VALGRIND: its header is not always installed, and cppcheck
 * cannot read a __has_include.) */
static int under_valgrind(void)
{
    const char *pre = getenv("LD_PRELOAD");

    return pre != NULL && strstr(pre, "/vgpreload_") != NULL;
}

/* glibc's per-thread malloc caches (tcache) can only be turned off before
 * malloc starts, through GLIBC_TUNABLES. With 64 worker threads they kept
 * filling for many minutes under a steady load (make soak: memory in use
 * 5.2 -> 5.8 MiB and rising after five minutes; with them off 1.2 MiB,
 * flat, and no loss of throughput). So zhuqi-fcgi executes itself again,
 * once, with the tunable added, unless the environment already sets it,
 * ZQ_MALLOC_AS_IS is set or it runs under valgrind. If the exec fails it
 * runs as it is. */
static void tune_malloc(char **argv)
{
    const char *cur = getenv("GLIBC_TUNABLES");
    char buf[1024];
    int n;

    if (getenv("ZQ_MALLOC_AS_IS") != NULL || under_valgrind() ||
        (cur != NULL && strstr(cur, "glibc.malloc.tcache_count") != NULL))
        return;
    n = snprintf(buf, sizeof(buf), "%s%sglibc.malloc.tcache_count=0", cur ? cur : "",
                 cur != NULL && *cur != '\0' ? ":" : "");
    if (n < 0 || (size_t)n >= sizeof(buf) || setenv("GLIBC_TUNABLES", buf, 1) != 0)
        return;
    execv("/proc/self/exe", argv);
}

/* Cookies without Secure would cross plain HTTP if a page is ever reached
 * that way; only the local stack (loopback-only plain HTTP) may want it. */
static void warn_insecure(const zq_config *cfg)
{
    if (!cfg->server.cookie_secure && !cfg->server.local_http)
        ZQ_WARN("event=cookie_secure_off msg=\"[server] cookie_secure = false outside the "
                "local stack ([server] local_http = false): session cookies lose their Secure "
                "flag; set cookie_secure = true behind HTTPS\"");
}

int main(int argc, char **argv)
{
    static zq_config cfg; /* large: keep it off the stack */
    const char *const *names;
    const zq_route *routes;
    zq_log_level level = ZQ_LOG_INFO;
    zq_app *app = NULL;
    zq_opts o;
    zq_err err = {0};
    size_t nroutes, nnames;
    int rc, fd;

    tune_malloc(argv);
    /* glibc gives threads that allocate their own arenas (up to 8 per
     * core): with 64 workers, memory kept growing for minutes as requests
     * reached one idle thread's arena after another (make soak). A few
     * shared arenas keep it flat; two cores see no contention worth
     * measuring. MALLOC_ARENA_MAX in the environment still wins. */
    if (getenv("MALLOC_ARENA_MAX") == NULL)
        mallopt(M_ARENA_MAX, 4);
    /* Seed jansson's hash function before anything, threads included,
     * uses it. */
    json_object_seed(0);
    zq_daemon_opts("zhuqi-fcgi", argc, argv, &o);
    rc = zq_daemon_config("zhuqi-fcgi", &o, &cfg);
    if (rc == ZQ_EXIT_CONFIG)
        return rc;
    zq_log_level_parse(cfg.log.level, &level);
    zq_log_init("zhuqi-fcgi", level);
    /* The schemas are part of the configuration: a broken one stops
     * start-up, and --check-config reports it too. */
    if (zq_app_load(o.config_path, &cfg, ZQ_APP_VERIFY, &app, &err) < 0 ||
        zq_verify_check_config(app, &err) < 0) {
        fprintf(stderr, "zhuqi-fcgi: %s\n", err.msg);
        zq_app_free(app);
        return ZQ_EXIT_CONFIG;
    }
    if (rc == ZQ_EXIT_OK) {
        fprintf(stderr, "zhuqi-fcgi: %s: configuration is valid\n", o.config_path);
        zq_app_free(app);
        return rc;
    }

    if (FCGX_Init() != 0) {
        zq_app_free(app);
        ZQ_ERROR("event=fcgx_init_failed");
        return ZQ_EXIT_FAIL;
    }
    warn_insecure(&cfg);
    fd = zq_server_listen(cfg.server.listen, cfg.server.backlog, cfg.server.socket_group, &err);
    if (fd < 0) {
        zq_app_free(app);
        ZQ_ERROR("event=listen_failed listen=%s err=\"%s\"", cfg.server.listen, err.msg);
        fprintf(stderr, "zhuqi-fcgi: %s\n", err.msg);
        return err.code == ZQ_EBUSY ? ZQ_EXIT_BUSY : ZQ_EXIT_FAIL;
    }
    if (zq_pidfile_write(cfg.server.pid_file, &err) < 0)
        ZQ_WARN("event=pidfile_failed err=\"%s\"", err.msg);

    routes = zq_handlers_routes(&nroutes);
    names = zq_handlers_route_names(&nnames);
    zq_metrics_init(names, nnames);
    rc = zq_server_run(o.config_path, app, fd, routes, nroutes);
    zq_pidfile_remove(cfg.server.pid_file);
    if (strncmp(cfg.server.listen, "unix:", 5) == 0)
        unlink(cfg.server.listen + 5);
    return rc;
}

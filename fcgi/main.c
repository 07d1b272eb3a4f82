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
#include "zhuqi/handlers.h"
#include "zhuqi/log.h"
#include "zhuqi/metrics.h"
#include "zhuqi/server.h"

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
    if (zq_app_load(o.config_path, &cfg, &app, &err) < 0) {
        fprintf(stderr, "zhuqi-fcgi: %s\n", err.msg);
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
    fd = zq_server_listen(cfg.server.listen, cfg.server.backlog, &err);
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

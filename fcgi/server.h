/* zhuqi-fcgi's process: the listen socket, the worker threads, signals
 * and configuration reload. */
#ifndef ZHUQI_SERVER_H
#define ZHUQI_SERVER_H

#include "zhuqi/common.h"
#include "zhuqi/config.h"
#include "router.h"

struct zq_app;

/* Opens the listen socket for spec ("unix:/path", "host:port", "fd:N").
 * A unix socket whose path answers a connect() belongs to a live
 * instance: -ZQ_EBUSY. A stale socket file is removed. A new unix socket
 * gets mode 0660 and, when group is neither NULL nor "", that group
 * (unknown group: -ZQ_EINVAL). A TCP address in use: -ZQ_EBUSY. Returns
 * the descriptor or a negative code with err. */
int zq_server_listen(const char *spec, int backlog, const char *group, zq_err *err);

/* Runs the server until SIGTERM or SIGINT. Takes ownership of app;
 * routes are borrowed. Reloads config_path (settings, schemas) on SIGHUP,
 * keeping the old state when the new one does not load. Returns a process
 * exit code. */
int zq_server_run(const char *config_path, struct zq_app *app, int listen_fd,
                  const zq_route *routes, size_t nroutes);

#endif

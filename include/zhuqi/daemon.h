/* What both programs do around their main loop: command-line options,
 * --check-config, pid files. */
#ifndef ZHUQI_DAEMON_H
#define ZHUQI_DAEMON_H

#include "zhuqi/config.h"

/* Exit codes shared by both programs. */
enum {
    ZQ_EXIT_OK = 0,
    ZQ_EXIT_FAIL = 1,
    ZQ_EXIT_CONFIG = 2, /* bad configuration or usage */
    ZQ_EXIT_BUSY = 3,   /* the listen address is held by a live instance */
};

typedef struct zq_opts {
    const char *config_path; /* -c FILE */
    int check_only;          /* --check-config FILE */
    const char *dry_run_at;  /* zhuqi-bot --dry-run --at TIME */
    int dry_run;
} zq_opts;

/* Parses argv. Handles --help and --version itself (prints, exits 0).
 * On a usage error prints it and exits ZQ_EXIT_CONFIG. */
void zq_daemon_opts(const char *prog, int argc, char **argv, zq_opts *o);

/* Loads the configuration for prog, printing "prog: message" to stderr on
 * error. With check_only it prints the effective configuration and
 * returns ZQ_EXIT_OK or ZQ_EXIT_CONFIG for main to return; otherwise
 * returns -1 on success (carry on) or ZQ_EXIT_CONFIG. */
int zq_daemon_config(const char *prog, const zq_opts *o, zq_config *cfg);

/* Writes the pid to path ("" = none). Returns 0 or a negative code. */
int zq_pidfile_write(const char *path, zq_err *err);
void zq_pidfile_remove(const char *path);

#endif

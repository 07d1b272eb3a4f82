/* Command line, configuration check and pid files for both programs. */
#include "zhuqi/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(const char *prog, FILE *out)
{
    fprintf(out,
            "usage: %s [-c FILE]\n"
            "       %s --check-config FILE\n"
            "       %s --version | --help\n"
            "%s"
            "\n"
            "  -c, --config FILE     configuration file (default /etc/zhuqi/zhuqi.ini)\n"
            "  --check-config FILE   validate FILE, print the effective configuration with\n"
            "                        secrets masked, and exit (0 good, 2 bad)\n",
            prog, prog, prog,
            strcmp(prog, "zhuqi-bot") == 0
                ? "       zhuqi-bot -c FILE --dry-run --at 2026-12-26T16:00\n"
                : "");
}

void zq_daemon_opts(const char *prog, int argc, char **argv, zq_opts *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->config_path = "/etc/zhuqi/zhuqi.ini";
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
            o->config_path = argv[++i];
        } else if (strcmp(a, "--check-config") == 0 && i + 1 < argc) {
            o->config_path = argv[++i];
            o->check_only = 1;
        } else if (strcmp(a, "--dry-run") == 0) {
            o->dry_run = 1;
        } else if (strcmp(a, "--at") == 0 && i + 1 < argc) {
            o->dry_run_at = argv[++i];
        } else if (strcmp(a, "--version") == 0) {
            printf("%s %s (%s)\n", prog, ZQ_VERSION, ZQ_GIT_REV);
            exit(ZQ_EXIT_OK);
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(prog, stdout);
            exit(ZQ_EXIT_OK);
        } else {
            fprintf(stderr, "%s: unknown or incomplete option '%s'\n", prog, a);
            usage(prog, stderr);
            exit(ZQ_EXIT_CONFIG);
        }
    }
}

int zq_daemon_config(const char *prog, const zq_opts *o, zq_config *cfg)
{
    zq_err err = {0};

    if (zq_config_load(o->config_path, cfg, &err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return ZQ_EXIT_CONFIG;
    }
    if (o->check_only) {
        zq_config_dump(cfg, stdout);
        return ZQ_EXIT_OK;
    }
    return -1;
}

int zq_pidfile_write(const char *path, zq_err *err)
{
    char line[32];
    int fd, n;

    if (path == NULL || *path == '\0')
        return 0;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return zq_err_set(err, ZQ_EIO, "%s: cannot write pid file: %s", path, strerror(errno));
    n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    if (n < 0 || write(fd, line, (size_t)n) != n) {
        close(fd);
        return zq_err_set(err, ZQ_EIO, "%s: cannot write pid file: %s", path, strerror(errno));
    }
    close(fd);
    return 0;
}

void zq_pidfile_remove(const char *path)
{
    if (path != NULL && *path != '\0')
        unlink(path);
}

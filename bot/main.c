/* zhuqi-bot: scheduler, outbox consumer and platform senders. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "bot.h"
#include "zhuqi/daemon.h"
#include "zhuqi/log.h"

int main(int argc, char **argv)
{
    static zq_config cfg;
    zq_log_level level = ZQ_LOG_INFO;
    zq_opts o;
    zq_err err = {0};
    sigset_t set;
    int rc;

    zq_daemon_opts("zhuqi-bot", argc, argv, &o);
    if (o.dry_run_at != NULL && !o.dry_run) {
        fprintf(stderr, "zhuqi-bot: --at only goes with --dry-run\n");
        return ZQ_EXIT_CONFIG;
    }
    rc = zq_daemon_config("zhuqi-bot", &o, &cfg);
    if (rc == ZQ_EXIT_OK)
        fprintf(stderr, "zhuqi-bot: %s: configuration is valid\n", o.config_path);
    if (rc >= 0)
        return rc;
    if (o.dry_run) {
        /* Only problems on stderr; the report goes to stdout. */
        zq_log_init("zhuqi-bot", ZQ_LOG_WARN);
        return zq_bot_dry_run(o.config_path, &cfg, o.dry_run_at, stdout);
    }
    zq_log_level_parse(cfg.log.level, &level);
    zq_log_init("zhuqi-bot", level);

    /* Taken synchronously by the loop (a signalfd). */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (zq_pidfile_write(cfg.bot.pid_file, &err) < 0)
        ZQ_WARN("event=pidfile_failed err=\"%s\"", err.msg);
    rc = zq_bot_run(o.config_path, &cfg);
    zq_pidfile_remove(cfg.bot.pid_file);
    return rc;
}

/* zhuqi-bot's main loop: keeps a Redis connection (reconnecting), and
 * will consume the outbox and run the scheduler. */
#ifndef ZHUQI_BOT_H
#define ZHUQI_BOT_H

#include "zhuqi/config.h"

/* Runs until SIGTERM or SIGINT (which the caller must have blocked, so
 * they are taken synchronously here). SIGHUP reloads config_path.
 * Returns a process exit code. */
int zq_bot_run(const char *config_path, const zq_config *cfg);

#endif

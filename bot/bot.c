/* zhuqi-bot's loop. Today it keeps its Redis connection healthy and
 * stops cleanly; the outbox consumer and the scheduler hang off tick(). */
#include "zhuqi/bot.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zhuqi/log.h"
#include "zhuqi/store.h"

/* One round of work. Returns 0 when Redis answered. */
static int tick(zq_store *st)
{
    zq_err err = {0};

    return zq_store_ping(st, &err);
}

int zq_bot_run(const char *config_path, const zq_config *initial)
{
    zq_config *cfg = malloc(sizeof(*cfg));
    zq_store *st;
    sigset_t set;
    int up = -1, sig;

    if (cfg == NULL)
        return 1;
    *cfg = *initial;
    st = zq_store_new(&cfg->redis);
    if (st == NULL) {
        free(cfg);
        return 1;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    ZQ_INFO("event=started pid=%ld", (long)getpid());

    for (;;) {
        struct timespec wait;
        int ok = tick(st) == 0;

        if (ok != up) {
            if (ok)
                ZQ_INFO("event=redis_up peer=%s", zq_store_peer(st));
            else
                ZQ_WARN("event=redis_down msg=\"retrying\"");
            up = ok;
        }
        wait.tv_sec = cfg->bot.poll_ms / 1000;
        wait.tv_nsec = (long)(cfg->bot.poll_ms % 1000) * 1000000L;
        sig = sigtimedwait(&set, NULL, &wait);
        if (sig == SIGHUP) {
            zq_config *next = malloc(sizeof(*next));
            zq_err err = {0};
            zq_log_level level;
            if (next != NULL && zq_config_load(config_path, next, &err) == 0) {
                free(cfg);
                cfg = next;
                zq_store_reconfigure(st, &cfg->redis);
                if (zq_log_level_parse(cfg->log.level, &level) == 0)
                    zq_log_set_level(level);
                ZQ_INFO("event=reload ok=1 path=%s", config_path);
            } else {
                free(next);
                ZQ_ERROR("event=reload ok=0 err=\"%s\"", err.msg);
            }
        } else if (sig == SIGTERM || sig == SIGINT) {
            break;
        }
    }
    ZQ_INFO("event=stopped code=0");
    zq_store_free(st);
    free(cfg);
    return 0;
}

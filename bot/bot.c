/* zhuqi-bot's loop: one thread that runs the scheduler, the case-event
 * consumer and delivery in turn, and waits in curl_multi_poll() on the
 * transfers and a signalfd at once, so a SIGTERM or a finished transfer
 * wakes it immediately. On SIGTERM it stops taking entries, lets the
 * transfers in flight finish for up to STOP_GRACE_MS (then abandons them:
 * their entries stay pending and are claimed again), writes what it knows
 * and exits 0. */
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "zhuqi/log.h"
#include "zhuqi/sms.h"

#define STOP_GRACE_MS 3500

/* The SMS vendors refuse more than their per-number limits: a looser
 * [sms] value is clamped (sms.h), and said so. */
static void warn_sms_limits(const zq_config *cfg)
{
    int iv, hour, day;
    bool clamped;

    zq_sms_limits(&cfg->sms, &iv, &hour, &day, &clamped);
    if (clamped)
        ZQ_WARN("event=limit_clamped key=sms.per_number provider=%s interval_s=%d per_hour=%d "
                "per_day=%d msg=\"the vendor refuses SMS beyond its per-number limits\"",
                cfg->sms.provider, iv, hour, day);
}

static void reload(zq_bot *b)
{
    zq_config *next = malloc(sizeof(*next));
    zq_app *app = NULL;
    zq_err err = {0};
    zq_log_level level;

    if (next == NULL || zq_config_load(b->config_path, next, &err) < 0 ||
        zq_app_load(b->config_path, next, ZQ_APP_PUSH, &app, &err) < 0) {
        free(next);
        ZQ_ERROR("event=reload ok=0 err=\"%s\"", err.msg);
        return;
    }
    if (next->bot.max_transfers != b->cfg->bot.max_transfers)
        ZQ_WARN("event=reload_partial key=max_transfers msg=\"applies after a restart\"");
    next->bot.max_transfers = b->cfg->bot.max_transfers;
    zq_app_free(b->app);
    b->app = app;
    free(b->cfg);
    b->cfg = next;
    zq_store_reconfigure(b->st, &b->cfg->redis);
    zq_sender_set_timeouts(b->snd, b->cfg->bot.connect_timeout_ms, b->cfg->bot.timeout_ms);
    zq_channel_config_from(b->cfg, &b->cc);
    zq_channel_warn_limits(b->cfg);
    warn_sms_limits(b->cfg);
    if (zq_log_level_parse(b->cfg->log.level, &level) == 0)
        zq_log_set_level(level);
    ZQ_INFO("event=reload ok=1 path=%s rules=%zu", b->config_path,
            b->app->reminders ? b->app->reminders->n : (size_t)0);
}

/* Takes pending signals: 1 when asked to stop. */
static int take_signals(zq_bot *b, int sfd)
{
    struct signalfd_siginfo si;
    int stop = 0;

    while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP)
            reload(b);
        else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
            stop = 1;
    }
    return stop;
}

/* A finished transfer goes to the part that started it. */
static void finished(zq_bot *b, const zq_sent *r)
{
    if (!zq_media_done(b, r))
        zq_delivery_done(b, r);
}

static void run(zq_bot *b, int sfd)
{
    int64_t deadline = 0;

    for (;;) {
        int64_t now = zq_mono_ms();
        int wait;
        bool sig = false;
        zq_sent r;

        zq_sched_step(b, now);
        zq_events_step(b, now);
        zq_media_step(b, now);
        zq_delivery_step(b, now);
        zq_delivery_flush(b);
        if (b->stopping) {
            if (zq_sender_busy(b->snd) == 0 && (zq_delivery_unsettled(b) == 0 || now >= deadline))
                break;
            if (now >= deadline) {
                ZQ_WARN("event=stop_abandon transfers=%d", zq_sender_busy(b->snd));
                zq_sender_abort_all(b->snd);
                while (zq_sender_next(b->snd, &r))
                    finished(b, &r);
                zq_delivery_flush(b);
                break;
            }
            wait = 50;
        } else {
            wait = zq_delivery_wait_ms(b, now);
            if (zq_sched_busy(b, now))
                wait = 0;
            if (wait > b->cfg->bot.poll_ms)
                wait = b->cfg->bot.poll_ms;
        }
        if (zq_sender_poll(b->snd, wait, sfd, &sig) < 0) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
        }
        while (zq_sender_next(b->snd, &r))
            finished(b, &r);
        zq_delivery_flush(b);
        if (sig && take_signals(b, sfd) && !b->stopping) {
            b->stopping = true;
            deadline = zq_mono_ms() + STOP_GRACE_MS;
            ZQ_INFO("event=stopping in_flight=%d held=%d", zq_sender_busy(b->snd),
                    zq_delivery_held(b));
        }
    }
}

static void default_consumer(char *out, size_t outsz)
{
    char host[64];

    if (gethostname(host, sizeof(host)) != 0)
        memcpy(host, "host", sizeof("host"));
    host[sizeof(host) - 1] = '\0';
    for (char *p = host; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.' || *p == '_'))
            *p = '_';
    /* 63 bytes of host and a pid fit the 96 of b->consumer; should they
     * not, the pid alone still tells the instances apart. */
    if (zq_fmt(out, outsz, "%s-%ld", host, (long)getpid()) < 0 &&
        zq_fmt(out, outsz, "bot-%ld", (long)getpid()) < 0)
        out[0] = '\0';
}

int zq_bot_run(const char *config_path, const zq_config *initial)
{
    zq_bot *b = calloc(1, sizeof(*b));
    zq_err err = {0};
    sigset_t set;
    int sfd = -1, code = 1;

    if (b == NULL)
        return 1;
    b->config_path = config_path;
    b->cfg = malloc(sizeof(*b->cfg));
    if (b->cfg == NULL)
        goto out;
    *b->cfg = *initial;
    if (zq_app_load(config_path, b->cfg, ZQ_APP_PUSH, &b->app, &err) < 0) {
        ZQ_ERROR("event=start_failed err=\"%s\"", err.msg);
        fprintf(stderr, "zhuqi-bot: %s\n", err.msg);
        code = 2;
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        goto out;
    zq_channel_config_from(b->cfg, &b->cc);
    zq_channel_warn_limits(b->cfg);
    warn_sms_limits(b->cfg);
    b->st = zq_store_new(&b->cfg->redis);
    b->snd = zq_sender_new(b->cfg->bot.max_transfers, b->cfg->bot.connect_timeout_ms,
                           b->cfg->bot.timeout_ms);
    if (b->st == NULL || b->snd == NULL || zq_delivery_init(b) < 0)
        goto out_curl;
    /* The configured name (63 bytes at most) fits; else the default. */
    if (b->cfg->bot.consumer[0] == '\0' ||
        zq_fmt(b->consumer, sizeof(b->consumer), "%s", b->cfg->bot.consumer) < 0)
        default_consumer(b->consumer, sizeof(b->consumer));

    b->rng = (uint64_t)zq_now_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    if (b->rng == 0)
        b->rng = 1;
    b->redis_ok = true;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        ZQ_ERROR("event=signalfd_failed err=\"%s\"", strerror(errno));
        goto out_curl;
    }
    ZQ_INFO("event=started pid=%ld consumer=%s max_transfers=%d rules=%zu", (long)getpid(),
            b->consumer, b->cfg->bot.max_transfers,
            b->app->reminders ? b->app->reminders->n : (size_t)0);
    run(b, sfd);
    zq_media_free(b);
    zq_sched_release(b);
    ZQ_INFO("event=stopped code=0 sent=%llu retried=%llu dead=%llu deferred=%llu "
            "duplicates=%llu skipped=%llu",
            (unsigned long long)b->n_sent, (unsigned long long)b->n_retry,
            (unsigned long long)b->n_dead, (unsigned long long)b->n_deferred,
            (unsigned long long)b->n_dup, (unsigned long long)b->n_skipped);
    code = 0;
out_curl:
    if (sfd >= 0)
        close(sfd);
    zq_delivery_free(b);
    zq_sender_free(b->snd);
    zq_store_free(b->st);
    curl_global_cleanup();
out:
    zq_app_free(b->app);
    free(b->cfg);
    free(b);
    return code;
}

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

#define STOP_GRACE_MS 3500

/* path resolved against the folder of config_path unless absolute. */
static int path_of(const char *config_path, const char *path, char *out, size_t outsz)
{
    const char *slash = config_path ? strrchr(config_path, '/') : NULL;
    int n;

    if (path[0] == '/' || slash == NULL)
        n = snprintf(out, outsz, "%s", path);
    else
        n = snprintf(out, outsz, "%.*s/%s", (int)(slash - config_path), config_path, path);
    return n < 0 || (size_t)n >= outsz ? -ZQ_ETOOBIG : 0;
}

void zq_bot_res_free(zq_bot_res *r)
{
    zq_cal_free(r->cal);
    zq_reminders_free(r->rem);
    zq_schema_free(r->schema);
    zq_template_free(r->case_created);
    zq_template_free(r->case_status);
    memset(r, 0, sizeof(*r));
}

int zq_bot_res_load(const char *config_path, const zq_config *cfg, zq_bot_res *out, zq_err *err)
{
    char hol[512], rem[512], tdir[512], forms[512], regions[512], t1[600], t2[600];
    zq_bot_res r;
    int rc;

    memset(&r, 0, sizeof(r));
    memset(out, 0, sizeof(*out));
    if (path_of(config_path, cfg->intake.holidays_dir, hol, sizeof(hol)) < 0 ||
        path_of(config_path, cfg->bot.reminders, rem, sizeof(rem)) < 0 ||
        path_of(config_path, cfg->bot.templates_dir, tdir, sizeof(tdir)) < 0 ||
        path_of(config_path, cfg->intake.forms_dir, forms, sizeof(forms)) < 0 ||
        path_of(config_path, cfg->intake.regions, regions, sizeof(regions)) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "a configured path is too long");
    snprintf(t1, sizeof(t1), "%s/case_created.md", tdir);
    snprintf(t2, sizeof(t2), "%s/case_status.md", tdir);
    rc = zq_cal_load(hol, &r.cal, err);
    if (rc == 0)
        rc = zq_reminders_load(rem, tdir, &r.rem, err);
    if (rc == 0)
        rc = zq_template_load(t1, zq_case_vars, zq_case_nvars, &r.case_created, err);
    if (rc == 0)
        rc = zq_template_load(t2, zq_case_vars, zq_case_nvars, &r.case_status, err);
    if (rc == 0)
        rc = zq_schema_load(forms, regions, &r.schema, err);
    if (rc < 0) {
        zq_bot_res_free(&r);
        return rc;
    }
    *out = r;
    return 0;
}

void zq_bot_channel_config(const zq_config *cfg, zq_channel_config *cc)
{
    zq_channel_config_defaults(cc);
    snprintf(cc->base_url[ZQ_CH_WECOM], sizeof(cc->base_url[0]), "%s",
             cfg->channels.wecom_base_url);
    snprintf(cc->base_url[ZQ_CH_DINGTALK], sizeof(cc->base_url[0]), "%s",
             cfg->channels.dingtalk_base_url);
    snprintf(cc->base_url[ZQ_CH_FEISHU], sizeof(cc->base_url[0]), "%s",
             cfg->channels.feishu_base_url);
    snprintf(cc->base_url[ZQ_CH_TELEGRAM], sizeof(cc->base_url[0]), "%s",
             cfg->channels.telegram_base_url);
    cc->limits[ZQ_CH_WECOM].max_bytes = cfg->channels.wecom_max_bytes;
    cc->limits[ZQ_CH_DINGTALK].max_bytes = cfg->channels.dingtalk_max_bytes;
    cc->limits[ZQ_CH_FEISHU].max_bytes = cfg->channels.feishu_max_bytes;
    cc->limits[ZQ_CH_TELEGRAM].max_bytes = cfg->channels.telegram_max_bytes;
    cc->limits[ZQ_CH_GENERIC].max_bytes = cfg->channels.generic_max_bytes;
    cc->limits[ZQ_CH_WECOM].per_minute = cfg->channels.wecom_per_minute;
    cc->limits[ZQ_CH_DINGTALK].per_minute = cfg->channels.dingtalk_per_minute;
    cc->limits[ZQ_CH_FEISHU].per_minute = cfg->channels.feishu_per_minute;
    cc->limits[ZQ_CH_FEISHU].per_second = cfg->channels.feishu_per_second;
    cc->limits[ZQ_CH_TELEGRAM].per_minute = cfg->channels.telegram_per_minute;
    cc->limits[ZQ_CH_TELEGRAM].per_second = cfg->channels.telegram_per_second;
    cc->limits[ZQ_CH_GENERIC].per_minute = cfg->channels.generic_per_minute;
    cc->limits[ZQ_CH_GENERIC].per_second = cfg->channels.generic_per_second;
    cc->limits[ZQ_CH_WECOM].per_second = 0;
    cc->limits[ZQ_CH_DINGTALK].per_second = 0;
    /* The app kinds: the platform's base URL, the app's identity; their
     * byte limits are the documented ones (channel.h). */
    snprintf(cc->base_url[ZQ_CH_WECOM_APP], sizeof(cc->base_url[0]), "%s",
             cfg->channels.wecom_base_url);
    snprintf(cc->base_url[ZQ_CH_DINGTALK_APP], sizeof(cc->base_url[0]), "%s",
             cfg->channels.dingtalk_api_base_url);
    snprintf(cc->base_url[ZQ_CH_FEISHU_CHAT], sizeof(cc->base_url[0]), "%s",
             cfg->channels.feishu_base_url);
    cc->wecom_agent_id = cfg->wecom.corp_secret[0] != '\0' ? cfg->wecom.agent_id : 0;
    if (cfg->dingtalk.app_key[0] != '\0')
        snprintf(cc->dingtalk_robot_code, sizeof(cc->dingtalk_robot_code), "%s",
                 cfg->dingtalk.robot_code[0] != '\0' ? cfg->dingtalk.robot_code
                                                     : cfg->dingtalk.app_key);
}

bool zq_bot_app_configured(const zq_config *cfg, int kind)
{
    switch (kind) {
    case ZQ_CH_WECOM_APP:
        return cfg->wecom.corp_secret[0] != '\0' && cfg->wecom.agent_id > 0 &&
               cfg->wecom.corp_id[0] != '\0';
    case ZQ_CH_DINGTALK_APP:
        return cfg->dingtalk.app_key[0] != '\0' && cfg->dingtalk.app_secret[0] != '\0';
    case ZQ_CH_FEISHU_CHAT:
        return cfg->feishu.app_id[0] != '\0' && cfg->feishu.app_secret[0] != '\0';
    default: return false;
    }
}

int zq_bot_rate_windows(const zq_config *cfg, zq_channel_kind k, zq_rate_window *w)
{
    int per_minute = 0, per_second = 0, n = 0;
    int64_t minute = cfg->channels.rate_window_ms;
    int64_t slack = cfg->channels.rate_slack_ms;

    /* An app chat takes its platform's limits: WeCom documents 30 app
     * messages a minute to one member, DingTalk's app robot is taken to
     * allow what its custom robots do, Feishu 5/s per chat (vendor docs;
     * the shipped 20/min, 20/min, 100/min + 5/s stay under them). */
    switch (k) {
    case ZQ_CH_WECOM:
    case ZQ_CH_WECOM_APP: per_minute = cfg->channels.wecom_per_minute; break;
    case ZQ_CH_DINGTALK:
    case ZQ_CH_DINGTALK_APP: per_minute = cfg->channels.dingtalk_per_minute; break;
    case ZQ_CH_FEISHU:
    case ZQ_CH_FEISHU_CHAT:
        per_minute = cfg->channels.feishu_per_minute;
        per_second = cfg->channels.feishu_per_second;
        break;
    case ZQ_CH_TELEGRAM:
        per_minute = cfg->channels.telegram_per_minute;
        per_second = cfg->channels.telegram_per_second;
        break;
    case ZQ_CH_GENERIC:
        per_minute = cfg->channels.generic_per_minute;
        per_second = cfg->channels.generic_per_second;
        break;
    default: break;
    }
    if (per_minute > 0)
        w[n++] = (zq_rate_window){per_minute, minute + slack};
    if (per_second > 0)
        w[n++] = (zq_rate_window){per_second, minute / 60 + slack / 10};
    return n;
}

int zq_bot_telegram_bot_window(const zq_config *cfg, zq_rate_window *w)
{
    if (cfg->channels.telegram_bot_per_second <= 0)
        return 0;
    *w = (zq_rate_window){cfg->channels.telegram_bot_per_second,
                          cfg->channels.rate_window_ms / 60 + cfg->channels.rate_slack_ms / 10};
    return 1;
}

void zq_bot_telegram_bot_id(const char *token, char *out)
{
    unsigned char md[32];
    unsigned int mdlen = 0;

    if (EVP_Digest(token, strlen(token), md, &mdlen, EVP_sha256(), NULL) != 1)
        memset(md, 0, sizeof(md));
    memcpy(out, "tgbot:", 6);
    zq_hex(md, 8, out + 6); /* 16 hex digits and the NUL */
}

void zq_bot_redis(zq_bot *b, int rc, const char *what, const zq_err *err)
{
    bool ok = rc != -ZQ_EUNAVAIL;

    if (ok == b->redis_ok)
        return;
    b->redis_ok = ok;
    if (ok)
        ZQ_INFO("event=redis_up peer=%s", zq_store_peer(b->st));
    else
        ZQ_WARN("event=redis_down during=%s err=\"%s\" msg=\"retrying\"", what,
                err != NULL ? err->msg : "");
}

uint64_t zq_bot_random(zq_bot *b)
{
    uint64_t x = b->rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b->rng = x;
    return x;
}

static void reload(zq_bot *b)
{
    zq_config *next = malloc(sizeof(*next));
    zq_bot_res res;
    zq_err err = {0};
    zq_log_level level;

    if (next == NULL || zq_config_load(b->config_path, next, &err) < 0 ||
        zq_bot_res_load(b->config_path, next, &res, &err) < 0) {
        free(next);
        ZQ_ERROR("event=reload ok=0 err=\"%s\"", err.msg);
        return;
    }
    if (next->bot.max_transfers != b->cfg->bot.max_transfers)
        ZQ_WARN("event=reload_partial key=max_transfers msg=\"applies after a restart\"");
    next->bot.max_transfers = b->cfg->bot.max_transfers;
    zq_bot_res_free(&b->res);
    b->res = res;
    free(b->cfg);
    b->cfg = next;
    zq_store_reconfigure(b->st, &b->cfg->redis);
    zq_sender_set_timeouts(b->snd, b->cfg->bot.connect_timeout_ms, b->cfg->bot.timeout_ms);
    zq_bot_channel_config(b->cfg, &b->cc);
    if (zq_log_level_parse(b->cfg->log.level, &level) == 0)
        zq_log_set_level(level);
    ZQ_INFO("event=reload ok=1 path=%s rules=%zu", b->config_path,
            b->res.rem ? b->res.rem->n : (size_t)0);
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
        zq_delivery_step(b, now);
        zq_delivery_flush(b);
        if (b->stopping) {
            if (zq_sender_busy(b->snd) == 0 && (zq_delivery_unsettled(b) == 0 || now >= deadline))
                break;
            if (now >= deadline) {
                ZQ_WARN("event=stop_abandon transfers=%d", zq_sender_busy(b->snd));
                zq_sender_abort_all(b->snd);
                while (zq_sender_next(b->snd, &r))
                    zq_delivery_done(b, &r);
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
            zq_delivery_done(b, &r);
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
        snprintf(host, sizeof(host), "host");
    host[sizeof(host) - 1] = '\0';
    for (char *p = host; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.' || *p == '_'))
            *p = '_';
    snprintf(out, outsz, "%s-%ld", host, (long)getpid());
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
    if (zq_bot_res_load(config_path, b->cfg, &b->res, &err) < 0) {
        ZQ_ERROR("event=start_failed err=\"%s\"", err.msg);
        fprintf(stderr, "zhuqi-bot: %s\n", err.msg);
        code = 2;
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        goto out;
    zq_bot_channel_config(b->cfg, &b->cc);
    b->st = zq_store_new(&b->cfg->redis);
    b->snd = zq_sender_new(b->cfg->bot.max_transfers, b->cfg->bot.connect_timeout_ms,
                           b->cfg->bot.timeout_ms);
    if (b->st == NULL || b->snd == NULL || zq_delivery_init(b) < 0)
        goto out_curl;
    if (b->cfg->bot.consumer[0] != '\0')
        snprintf(b->consumer, sizeof(b->consumer), "%s", b->cfg->bot.consumer);
    else
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
            b->consumer, b->cfg->bot.max_transfers, b->res.rem ? b->res.rem->n : (size_t)0);
    run(b, sfd);
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
    zq_bot_res_free(&b->res);
    free(b->cfg);
    free(b);
    return code;
}

/* What every part of zhuqi-bot shares: the resources loaded from the
 * configuration, the channel settings and rate windows taken from it, and
 * the loop's Redis and random helpers. Apart from the loop (bot.c) so
 * that the parts it drives do not call back into it. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "zhuqi/app.h"
#include "zhuqi/log.h"

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
    if (zq_app_path(config_path, cfg->intake.holidays_dir, hol, sizeof(hol)) < 0 ||
        zq_app_path(config_path, cfg->bot.reminders, rem, sizeof(rem)) < 0 ||
        zq_app_path(config_path, cfg->bot.templates_dir, tdir, sizeof(tdir)) < 0 ||
        zq_app_path(config_path, cfg->intake.forms_dir, forms, sizeof(forms)) < 0 ||
        zq_app_path(config_path, cfg->intake.regions, regions, sizeof(regions)) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "a configured path is too long");
    if (zq_fmt(t1, sizeof(t1), "%s/case_created.md", tdir) < 0 ||
        zq_fmt(t2, sizeof(t2), "%s/case_status.md", tdir) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "a configured path is too long");

    rc = zq_cal_load(hol, &r.cal, err);
    if (rc == 0)
        rc = zq_reminders_load(rem, tdir, &r.rem, err);
    if (rc == 0)
        rc = zq_template_load(t1, zq_template_case_vars, zq_template_case_nvars, &r.case_created,
                              err);
    if (rc == 0)
        rc = zq_template_load(t2, zq_template_case_vars, zq_template_case_nvars, &r.case_status,
                              err);
    if (rc == 0)
        rc = zq_schema_load(forms, regions, &r.schema, err);
    if (rc < 0) {
        zq_bot_res_free(&r);
        return rc;
    }
    *out = r;
    return 0;
}

int zq_bot_rate_windows(const zq_config *cfg, zq_channel_kind k, zq_rate_window *w)
{
    /* An app chat takes its platform's limits: WeCom documents 30 app
     * messages a minute to one member, DingTalk's app robot is taken to
     * allow what its custom robots do, Feishu 5/s per chat (vendor docs;
     * the shipped 20/min, 20/min, 100/min + 5/s stay under them). */
    zq_channel_limits lim = zq_channel_limits_from(cfg, k);
    int64_t minute = cfg->channels.rate_window_ms;
    int64_t slack = cfg->channels.rate_slack_ms;
    int n = 0;

    if (lim.per_minute > 0)
        w[n++] = (zq_rate_window){lim.per_minute, minute + slack};
    if (lim.per_second > 0)
        w[n++] = (zq_rate_window){lim.per_second, minute / 60 + slack / 10};
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
    memcpy(out, "tgbot:", sizeof("tgbot:")); /* zq_hex writes over the NUL */
    zq_hex(md, 8, out + 6);                  /* 16 hex digits and the NUL */
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

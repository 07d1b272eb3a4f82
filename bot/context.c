/* What every part of zhuqi-bot shares: the rate windows taken from the
 * configuration, and the loop's Redis and random helpers (what it loads
 * is lib/app's zq_app). Apart from the loop (bot.c) so
 * that the parts it drives do not call back into it. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "zhuqi/app.h"
#include "zhuqi/log.h"
#include "zhuqi/sms.h"

int zq_bot_rate_windows(const zq_config *cfg, zq_channel_kind k, zq_rate_window *w)
{
    /* An app chat takes its platform's limits: WeCom documents 30 app
     * messages a minute and 1000 an hour to one member (clamped there,
     * ch_wecom.c), DingTalk's app robot is taken to allow what its
     * custom robots do, Feishu 5/s per chat (vendor docs; the shipped
     * 20/min, 100/min + 5/s stay under them). */
    zq_channel_limits lim = zq_channel_limits_from(cfg, k);
    int64_t minute = cfg->channels.rate_window_ms;
    int64_t slack = cfg->channels.rate_slack_ms;
    int n = 0;

    if (k == ZQ_CH_SMS) {
        /* Per number (the target id is the number's): the vendors'
         * windows (sms.h), in "minutes" of rate_window_ms like the rest. */
        int iv, hour, day;

        zq_sms_limits(&cfg->sms, &iv, &hour, &day, NULL);
        if (iv > 0)
            w[n++] = (zq_rate_window){1, (int64_t)iv * minute / 60 + slack};
        if (hour > 0)
            w[n++] = (zq_rate_window){hour, 60 * minute + slack};
        if (day > 0)
            w[n++] = (zq_rate_window){day, 1440 * minute + slack};
        return n;
    }

    if (lim.per_minute > 0)
        w[n++] = (zq_rate_window){lim.per_minute, minute + slack};
    if (lim.per_second > 0)
        w[n++] = (zq_rate_window){lim.per_second, minute / 60 + slack / 10};
    if (lim.per_hour > 0)
        w[n++] = (zq_rate_window){lim.per_hour, 60 * minute + slack};
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

/* prefix followed by 16 hex digits of SHA-256(secret) and the NUL: a
 * name for logs and rate-limit keys that does not give the secret away. */
static void secret_id(const char *prefix, const char *secret, char *out)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    size_t n = strlen(prefix);

    if (EVP_Digest(secret, strlen(secret), md, &mdlen, EVP_sha256(), NULL) != 1)
        memset(md, 0, sizeof(md));
    memcpy(out, prefix, n + 1); /* zq_hex writes over the NUL */
    zq_hex(md, 8, out + n);
}

void zq_bot_telegram_bot_id(const char *token, char *out)
{
    secret_id("tgbot:", token, out);
}

void zq_bot_hook_id(const char *address, char *out)
{
    secret_id("hook:", address, out);
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

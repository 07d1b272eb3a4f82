/* Reads a platform's answer to a send: the HTTP status and the error code
 * in the body decide between done, retry later and failed for good
 * (specs/channels.md, "success / throttled / permanent errors"). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"

/* Bodies larger than this are not parsed: no platform answers a send
 * with that much JSON, so it is an error page. */
#define CLASSIFY_MAX_BODY 65536
/* A Retry-After beyond a day is treated as a day. */
#define RETRY_AFTER_MAX_S 86400

/* Writes the reason printf-style, then makes it printable: control
 * characters become spaces and bytes that are not UTF-8 (platform
 * messages are arbitrary, and the cut may land inside a character)
 * become '?'. */
static void say(char *reason, size_t reasonsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *reason, size_t reasonsz, const char *fmt, ...)
{
    va_list ap;
    size_t len, i, n;
    unsigned char c;

    if (reason == NULL || reasonsz == 0)
        return;
    va_start(ap, fmt);
    if (vsnprintf(reason, reasonsz, fmt, ap) < 0)
        reason[0] = '\0';
    va_end(ap);
    len = strlen(reason);
    for (i = 0; i < len; i += n) {
        c = (unsigned char)reason[i];
        n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (c < 0x20 || c == 0x7f) {
            reason[i] = ' ';
            n = 1;
        } else if (n > 1 && (i + n > len || !zq_utf8_valid(reason + i, n))) {
            reason[i] = '?';
            n = 1;
        }
    }
}

/* Seconds in Retry-After (delta-seconds or an HTTP-date) as ms; 0 when
 * absent or unreadable. */
static int64_t parse_retry_after(const char *v)
{
    long long secs;
    size_t len;
    struct tm tm;
    const char *end;
    time_t when, now;

    if (v == NULL)
        return 0;
    while (*v == ' ' || *v == '\t')
        v++;
    len = strlen(v);
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r'))
        len--;
    if (len == 0)
        return 0;
    if (isdigit((unsigned char)v[0])) {
        if (len > 12 || zq_parse_ll(v, len, 0, 1000000000000LL, &secs) < 0)
            return 0;
        if (secs > RETRY_AFTER_MAX_S)
            secs = RETRY_AFTER_MAX_S;
        return (int64_t)secs * 1000;
    }
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    memset(&tm, 0, sizeof(tm));
    end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL)
        return 0;
    when = timegm(&tm);
    now = (time_t)(zq_now_ms() / 1000);
    if (when == (time_t)-1 || when <= now)
        return 0;
    secs = (long long)(when - now);
    if (secs > RETRY_AFTER_MAX_S)
        secs = RETRY_AFTER_MAX_S;
    return (int64_t)secs * 1000;
}

/* The JSON object in body, or NULL (not JSON, not an object, too big).
 * Returns a new reference. */
static json_t *parse_object(const char *body, size_t len)
{
    json_t *root;

    if (body == NULL || len == 0 || len > CLASSIFY_MAX_BODY)
        return NULL;
    root = json_loadb(body, len, 0, NULL);
    if (root != NULL && !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* An integer member; false when missing or not an integer. */
static bool get_int(json_t *o, const char *key, long long *out)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        return false;
    *out = (long long)json_integer_value(v);
    return true;
}

/* A string member or "" (borrowed). */
static const char *get_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? s : "";
}

/* WeCom and DingTalk: {"errcode":N,"errmsg":"..."} */
static zq_delivery classify_errcode(zq_channel_kind k, long status, json_t *o, char *reason,
                                    size_t reasonsz)
{
    const char *who = k == ZQ_CH_WECOM ? "wecom" : "dingtalk";
    long long code;

    if (o == NULL || !get_int(o, "errcode", &code)) {
        if (status >= 200 && status < 300) {
            say(reason, reasonsz, "%s: unknown answer (HTTP %ld, no errcode)", who, status);
            return ZQ_DELIVERY_RETRY;
        }
        say(reason, reasonsz, "%s: HTTP %ld", who, status);
        return ZQ_DELIVERY_FAIL;
    }
    if (code == 0) {
        say(reason, reasonsz, "ok");
        return ZQ_DELIVERY_DONE;
    }
    say(reason, reasonsz, "%s errcode %lld: %.120s", who, code, get_str(o, "errmsg"));
    /* -1: "system busy, try again later" on both platforms. */
    if (code == -1)
        return ZQ_DELIVERY_RETRY;
    if (k == ZQ_CH_WECOM && code == 45009)
        return ZQ_DELIVERY_RETRY;
    if (k == ZQ_CH_DINGTALK && code == 130101)
        return ZQ_DELIVERY_RETRY;
    /* 93000, 40058, 310000, 300005, 460101 and anything unknown: sending
     * the same request again would get the same answer. */
    return ZQ_DELIVERY_FAIL;
}

/* Feishu: {"code":N,"msg":"..."} or the older {"StatusCode":N}. */
static zq_delivery classify_feishu(long status, json_t *o, char *reason, size_t reasonsz)
{
    long long code;
    const char *msg;

    if (o == NULL || !(get_int(o, "code", &code) || get_int(o, "StatusCode", &code))) {
        if (status >= 200 && status < 300) {
            say(reason, reasonsz, "feishu: unknown answer (HTTP %ld, no code)", status);
            return ZQ_DELIVERY_RETRY;
        }
        say(reason, reasonsz, "feishu: HTTP %ld", status);
        return ZQ_DELIVERY_FAIL;
    }
    msg = get_str(o, "msg");
    if (*msg == '\0')
        msg = get_str(o, "StatusMessage");
    if (code == 0) {
        say(reason, reasonsz, "ok");
        return ZQ_DELIVERY_DONE;
    }
    say(reason, reasonsz, "feishu code %lld: %.120s", code, msg);
    if (code == 11232)
        return ZQ_DELIVERY_RETRY;
    if (code == 9499 && strcasestr(msg, "too many request") != NULL)
        return ZQ_DELIVERY_RETRY;
    return ZQ_DELIVERY_FAIL;
}

/* Telegram: {"ok":true,...} or {"ok":false,"error_code":N,"description":
 * "...","parameters":{"retry_after":S}}. */
static zq_delivery classify_telegram(long status, json_t *o, int64_t *retry_after_ms, char *reason,
                                     size_t reasonsz)
{
    json_t *ok = o != NULL ? json_object_get(o, "ok") : NULL;
    long long code = status, ra;

    if (!json_is_boolean(ok)) {
        if (status >= 200 && status < 300) {
            say(reason, reasonsz, "telegram: unknown answer (HTTP %ld, no ok)", status);
            return ZQ_DELIVERY_RETRY;
        }
        say(reason, reasonsz, "telegram: HTTP %ld", status);
        return status == 429 ? ZQ_DELIVERY_RETRY : ZQ_DELIVERY_FAIL;
    }
    if (json_is_true(ok) && status >= 200 && status < 300) {
        say(reason, reasonsz, "ok");
        return ZQ_DELIVERY_DONE;
    }
    get_int(o, "error_code", &code);
    say(reason, reasonsz, "telegram %lld: %.120s", code, get_str(o, "description"));
    if (code == 429 || status == 429) {
        if (get_int(json_object_get(o, "parameters"), "retry_after", &ra) && ra > 0) {
            if (ra > RETRY_AFTER_MAX_S)
                ra = RETRY_AFTER_MAX_S;
            *retry_after_ms = (int64_t)ra * 1000;
        }
        return ZQ_DELIVERY_RETRY;
    }
    if (code >= 500)
        return ZQ_DELIVERY_RETRY;
    return ZQ_DELIVERY_FAIL;
}

zq_delivery zq_channel_classify(zq_channel_kind k, long http_status, const char *body, size_t len,
                                const char *retry_after, int64_t *retry_after_ms, char *reason,
                                size_t reasonsz)
{
    int64_t ra_dummy;
    zq_delivery d;
    json_t *o = NULL;
    const char *name = zq_channel_name(k);

    if (retry_after_ms == NULL)
        retry_after_ms = &ra_dummy;
    *retry_after_ms = 0;
    if (reason != NULL && reasonsz > 0)
        reason[0] = '\0';
    if (http_status <= 0) {
        say(reason, reasonsz, "%s: no answer", name);
        return ZQ_DELIVERY_RETRY;
    }
    if (http_status >= 500) {
        say(reason, reasonsz, "%s: HTTP %ld", name, http_status);
        *retry_after_ms = parse_retry_after(retry_after); /* 503 may say */
        return ZQ_DELIVERY_RETRY;
    }
    if (http_status < 200) {
        say(reason, reasonsz, "%s: unexpected HTTP %ld", name, http_status);
        return ZQ_DELIVERY_RETRY;
    }
    if (http_status >= 300 && http_status < 400) {
        /* Redirects are not followed: the address is wrong. */
        say(reason, reasonsz, "%s: HTTP %ld redirect (not followed)", name, http_status);
        return ZQ_DELIVERY_FAIL;
    }
    if (k == ZQ_CH_GENERIC) {
        if (http_status < 300) {
            say(reason, reasonsz, "ok");
            return ZQ_DELIVERY_DONE;
        }
        say(reason, reasonsz, "generic: HTTP %ld", http_status);
        if (http_status == 429) {
            *retry_after_ms = parse_retry_after(retry_after);
            return ZQ_DELIVERY_RETRY;
        }
        return ZQ_DELIVERY_FAIL;
    }

    o = parse_object(body, len);
    switch (k) {
    case ZQ_CH_WECOM:
    case ZQ_CH_DINGTALK: d = classify_errcode(k, http_status, o, reason, reasonsz); break;
    case ZQ_CH_FEISHU: d = classify_feishu(http_status, o, reason, reasonsz); break;
    case ZQ_CH_TELEGRAM:
        d = classify_telegram(http_status, o, retry_after_ms, reason, reasonsz);
        break;
    default:
        say(reason, reasonsz, "unknown channel %d", (int)k);
        d = ZQ_DELIVERY_FAIL;
        break;
    }
    /* Whatever the body says, an HTTP 429 is a throttle: the request was
     * not sent, even when the body claims success. */
    if (http_status == 429) {
        if (d == ZQ_DELIVERY_DONE && reason != NULL && reasonsz > 0)
            reason[0] = '\0'; /* not "ok" */
        d = ZQ_DELIVERY_RETRY;
        if (*retry_after_ms == 0)
            *retry_after_ms = parse_retry_after(retry_after);
        if (reason != NULL && reason[0] == '\0')
            say(reason, reasonsz, "%s: HTTP 429", name);
    }
    json_decref(o);
    return d;
}

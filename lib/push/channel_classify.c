/* Reads a platform's answer to a send: the HTTP status and the error code
 * in the body decide between done, retry later and failed for good
 * (specs/channels.md, "success / throttled / permanent errors").
 *
 * The app message APIs (wecom-app, dingtalk-app, feishu-chat) are not in
 * specs/channels.md; what is read here comes from the vendors' public
 * documentation and community reports: WeCom's app send answers errcode
 * like its robots plus "invaliduser"/"unlicenseduser" lists, 42001
 * (token expired), 40014 (token invalid), 40001 (credential invalid),
 * 45033 (too many concurrent calls); DingTalk's api.dingtalk.com answers
 * HTTP 4xx with {"code":"...","message":"..."} (InvalidAuthentication for
 * a bad token, Forbidden.AccessDenied.QpsLimitForApi and the like, with
 * HTTP 403 or 429, for throttling) and 200 with a processQueryKey, plus
 * invalidStaffIdList / flowControlledStaffIdList for one-to-one sends;
 * Feishu's IM API answers like its bots, 99991400 and 230020 being
 * frequency limits and 9999166x/99991677 token problems. */
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

/* A string or a non-empty array member: the ids it names ("" when none). */
static void id_list(json_t *o, const char *key, char *out, size_t outsz)
{
    json_t *v = json_object_get(o, key);

    out[0] = '\0';
    if (json_is_string(v))
        snprintf(out, outsz, "%s", json_string_value(v));
    else if (json_is_array(v) && json_array_size(v) > 0)
        snprintf(out, outsz, "%s",
                 json_is_string(json_array_get(v, 0)) ? json_string_value(json_array_get(v, 0))
                                                      : "?");
}

/* WeCom and DingTalk: {"errcode":N,"errmsg":"..."} */
static zq_delivery classify_errcode(zq_channel_kind k, long status, json_t *o, char *reason,
                                    size_t reasonsz)
{
    const char *who = k == ZQ_CH_WECOM ? "wecom" : k == ZQ_CH_DINGTALK ? "dingtalk" : "wecom-app";
    long long code;

    if (o == NULL || !get_int(o, "errcode", &code)) {
        if (status >= 200 && status < 300) {
            say(reason, reasonsz, "%s: unknown answer (HTTP %ld, no errcode)", who, status);
            return ZQ_DELIVERY_RETRY;
        }
        say(reason, reasonsz, "%s: HTTP %ld", who, status);
        return ZQ_DELIVERY_FAIL;
    }
    if (code == 0 && k == ZQ_CH_WECOM_APP) {
        char bad[80];

        /* An app message to a member who left (or has no licence) is
         * answered 0 with the member listed: nothing was delivered. */
        id_list(o, "invaliduser", bad, sizeof(bad));
        if (bad[0] == '\0')
            id_list(o, "unlicenseduser", bad, sizeof(bad));
        if (bad[0] != '\0') {
            say(reason, reasonsz, "wecom-app: user %.60s is invalid or unlicensed", bad);
            return ZQ_DELIVERY_FAIL;
        }
    }
    if (code == 0) {
        say(reason, reasonsz, "ok");
        return ZQ_DELIVERY_DONE;
    }
    say(reason, reasonsz, "%s errcode %lld: %.120s", who, code, get_str(o, "errmsg"));
    /* -1: "system busy, try again later" on both platforms. */
    if (code == -1)
        return ZQ_DELIVERY_RETRY;
    /* An expired or refused access token, or too many calls at once: the
     * message itself is fine (the sender fetches a new token first). */
    if (k == ZQ_CH_WECOM_APP &&
        (code == 42001 || code == 40014 || code == 40001 || code == 45033 || code == 45009))
        return ZQ_DELIVERY_RETRY;
    if (k == ZQ_CH_WECOM && code == 45009)
        return ZQ_DELIVERY_RETRY;
    if (k == ZQ_CH_DINGTALK && code == 130101)
        return ZQ_DELIVERY_RETRY;
    /* 93000, 40058, 310000, 300005, 460101 and anything unknown: sending
     * the same request again would get the same answer. */
    return ZQ_DELIVERY_FAIL;
}

/* Feishu's answers when the tenant access token is missing, invalid or
 * expired: fetch it again (the one place these codes are listed). */
static bool feishu_token_code(long long code)
{
    return code == 99991661 || code == 99991663 || code == 99991668 || code == 99991677;
}

/* Feishu: {"code":N,"msg":"..."} or the older {"StatusCode":N}. */
static zq_delivery classify_feishu(zq_channel_kind k, long status, json_t *o, char *reason,
                                   size_t reasonsz)
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
    if (k == ZQ_CH_FEISHU_CHAT && (code == 99991400 || code == 230020 || feishu_token_code(code)))
        return ZQ_DELIVERY_RETRY;
    return ZQ_DELIVERY_FAIL;
}

/* A DingTalk api.dingtalk.com error code that means "later", not "never". */
static bool dingtalk_app_throttled(const char *code)
{
    return strstr(code, "QpsLimit") != NULL || strstr(code, "Throttling") != NULL ||
           strstr(code, "FlowControl") != NULL || strstr(code, "flowControl") != NULL ||
           strcmp(code, "InvalidAuthentication") == 0;
}

/* DingTalk app API: 2xx {"processQueryKey",...}; errors 4xx {"code",
 * "message"}. */
static zq_delivery classify_dingtalk_app(long status, json_t *o, char *reason, size_t reasonsz)
{
    const char *code = get_str(o, "code");
    char ids[80];

    if (status >= 200 && status < 300) {
        if (o == NULL) {
            say(reason, reasonsz, "dingtalk-app: unknown answer (HTTP %ld, not JSON)", status);
            return ZQ_DELIVERY_RETRY;
        }
        if (*code != '\0') {
            /* Not seen in practice: an error inside a 2xx. */
            say(reason, reasonsz, "dingtalk-app %.60s: %.120s", code, get_str(o, "message"));
            return dingtalk_app_throttled(code) ? ZQ_DELIVERY_RETRY : ZQ_DELIVERY_FAIL;
        }
        id_list(o, "invalidStaffIdList", ids, sizeof(ids));
        if (ids[0] != '\0') {
            say(reason, reasonsz, "dingtalk-app: user %.60s is invalid", ids);
            return ZQ_DELIVERY_FAIL;
        }
        id_list(o, "flowControlledStaffIdList", ids, sizeof(ids));
        if (ids[0] != '\0') {
            say(reason, reasonsz, "dingtalk-app: flow control for user %.60s", ids);
            return ZQ_DELIVERY_RETRY;
        }
        say(reason, reasonsz, "ok");
        return ZQ_DELIVERY_DONE;
    }
    if (*code == '\0') {
        say(reason, reasonsz, "dingtalk-app: HTTP %ld", status);
        return status == 401 ? ZQ_DELIVERY_RETRY : ZQ_DELIVERY_FAIL;
    }
    say(reason, reasonsz, "dingtalk-app HTTP %ld %.60s: %.120s", status, code,
        get_str(o, "message"));
    return dingtalk_app_throttled(code) ? ZQ_DELIVERY_RETRY : ZQ_DELIVERY_FAIL;
}

bool zq_channel_token_rejected(zq_channel_kind k, long http_status, const char *body, size_t len)
{
    json_t *o;
    long long code;
    bool yes = false;

    if (!zq_channel_is_app(k))
        return false;
    if (k == ZQ_CH_DINGTALK_APP && http_status == 401)
        return true;
    o = parse_object(body, len);
    if (o == NULL)
        return false;
    switch (k) {
    case ZQ_CH_WECOM_APP:
        yes = get_int(o, "errcode", &code) && (code == 42001 || code == 40014 || code == 40001);
        break;
    case ZQ_CH_DINGTALK_APP: yes = strcmp(get_str(o, "code"), "InvalidAuthentication") == 0; break;
    case ZQ_CH_FEISHU_CHAT: yes = get_int(o, "code", &code) && feishu_token_code(code); break;
    default: break;
    }
    json_decref(o);
    return yes;
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
    case ZQ_CH_DINGTALK:
    case ZQ_CH_WECOM_APP: d = classify_errcode(k, http_status, o, reason, reasonsz); break;
    case ZQ_CH_FEISHU:
    case ZQ_CH_FEISHU_CHAT: d = classify_feishu(k, http_status, o, reason, reasonsz); break;
    case ZQ_CH_DINGTALK_APP: d = classify_dingtalk_app(http_status, o, reason, reasonsz); break;
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

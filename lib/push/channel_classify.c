/* Helpers for reading a platform's answer to a send (specs/channels.md,
 * "success / throttled / permanent errors"): the reason made printable,
 * Retry-After, the JSON members, and the errcode answers WeCom and
 * DingTalk share. Each platform's reading is in its ch_<platform>.c;
 * channel.c applies what holds for every platform. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "channel_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"

/* Bodies larger than this are not parsed: no platform answers a send
 * with that much JSON, so it is an error page. */
#define CLASSIFY_MAX_BODY 65536

/* Writes the reason printf-style, then makes it printable: control
 * characters become spaces and bytes that are not UTF-8 (platform
 * messages are arbitrary, and the cut may land inside a character)
 * become '?'. */
void zq_ch_say(char *reason, size_t reasonsz, const char *fmt, ...)
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
int64_t zq_ch_retry_after(const char *v)
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
        if (secs > ZQ_CHANNEL_RETRY_AFTER_MAX_S)
            secs = ZQ_CHANNEL_RETRY_AFTER_MAX_S;
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
    if (secs > ZQ_CHANNEL_RETRY_AFTER_MAX_S)
        secs = ZQ_CHANNEL_RETRY_AFTER_MAX_S;
    return (int64_t)secs * 1000;
}

/* The JSON object in body, or NULL (not JSON, not an object, too big).
 * Returns a new reference. */
json_t *zq_ch_parse_object(const char *body, size_t len)
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
bool zq_ch_get_int(json_t *o, const char *key, long long *out)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        return false;
    *out = (long long)json_integer_value(v);
    return true;
}

/* A string member or "" (borrowed). */
const char *zq_ch_get_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? s : "";
}

/* A string or a non-empty array member: the ids it names ("" when none).
 * Cut to outsz - 1 bytes on purpose: it only names the user in a reason,
 * which shows 60 bytes of it anyway. */
void zq_ch_id_list(json_t *o, const char *key, char *out, size_t outsz)
{
    json_t *v = json_object_get(o, key);
    const char *s = NULL;
    size_t n;

    out[0] = '\0';
    if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_array(v) && json_array_size(v) > 0)
        s = json_is_string(json_array_get(v, 0)) ? json_string_value(json_array_get(v, 0)) : "?";
    if (s == NULL || outsz == 0)
        return;
    n = strlen(s);
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

zq_delivery zq_ch_errcode(const char *who, long status, json_t *o, const long long *retry,
                          size_t nretry, char *reason, size_t reasonsz)
{
    long long code;

    if (o == NULL || !zq_ch_get_int(o, "errcode", &code)) {
        if (status >= 200 && status < 300) {
            zq_ch_say(reason, reasonsz, "%s: unknown answer (HTTP %ld, no errcode)", who, status);
            return ZQ_DELIVERY_RETRY;
        }
        zq_ch_say(reason, reasonsz, "%s: HTTP %ld", who, status);
        return ZQ_DELIVERY_FAIL;
    }
    if (code == 0) {
        zq_ch_say(reason, reasonsz, "ok");
        return ZQ_DELIVERY_DONE;
    }
    zq_ch_say(reason, reasonsz, "%s errcode %lld: %.120s", who, code, zq_ch_get_str(o, "errmsg"));
    /* -1: "system busy, try again later" on both platforms. */
    if (code == -1)
        return ZQ_DELIVERY_RETRY;
    for (size_t i = 0; i < nretry; i++)
        if (code == retry[i])
            return ZQ_DELIVERY_RETRY;
    /* 93000, 40058, 310000, 300005, 460101 and anything unknown: sending
     * the same request again would get the same answer. */
    return ZQ_DELIVERY_FAIL;
}

bool zq_channel_target_gone(zq_channel_kind k, long http_status, const char *body, size_t len,
                            char *reason, size_t reasonsz)
{
    json_t *o = zq_ch_parse_object(body, len);
    const char *desc;
    long long code = 0;
    char bad[80];
    bool gone = false;

    switch (k) {
    case ZQ_CH_TELEGRAM:
        /* 403: "bot was blocked by the user", "bot was kicked from the
         * group chat", "user is deactivated", "bot is not a member of the
         * channel chat"; 400 "chat not found" (and a group that became a
         * supergroup has a new id). A 401 is the bot's own token: every
         * chat of the bot would fail, so it is not this chat's fault. */
        desc = zq_ch_get_str(o, "description");
        gone = http_status == 403 ||
               (http_status == 400 && (strstr(desc, "chat not found") != NULL ||
                                       strstr(desc, "upgraded to a supergroup") != NULL));
        if (gone)
            zq_ch_say(reason, reasonsz, "telegram %ld: %.160s", http_status, desc);
        break;
    case ZQ_CH_WECOM:
    case ZQ_CH_DINGTALK:
    case ZQ_CH_FEISHU:
        /* A group robot that was removed from its group: its webhook key
         * or token no longer exists. WeCom 93000 "invalid webhook url",
         * DingTalk 300005 "token is not exist", Feishu 19001 "incoming
         * webhook access token invalid". A wrong signature, keyword or IP
         * (310000, 19021, 19022, 19024) is a setting to mend, not gone. */
        if (zq_ch_get_int(o, k == ZQ_CH_FEISHU ? "code" : "errcode", &code))
            gone = code == (k == ZQ_CH_WECOM ? 93000 : k == ZQ_CH_DINGTALK ? 300005 : 19001);
        if (gone)
            zq_ch_say(reason, reasonsz, "%s code %lld: %.160s",
                      k == ZQ_CH_WECOM      ? "wecom"
                      : k == ZQ_CH_DINGTALK ? "dingtalk"
                                            : "feishu",
                      code, zq_ch_get_str(o, k == ZQ_CH_FEISHU ? "msg" : "errmsg"));
        break;
    case ZQ_CH_FEISHU_CHAT:
        /* 230002: the bot is not in the chat (removed, or the chat was
         * dissolved). */
        gone = zq_ch_get_int(o, "code", &code) && code == 230002;
        if (gone)
            zq_ch_say(reason, reasonsz, "feishu code %lld: %.160s", code, zq_ch_get_str(o, "msg"));
        break;
    case ZQ_CH_WECOM_APP:
        /* 81013: user, department and tag all invalid (the member left or
         * is outside the app's visible range); an errcode 0 naming the
         * member in invaliduser / unlicenseduser delivered nothing. */
        if (!zq_ch_get_int(o, "errcode", &code))
            break;
        zq_ch_id_list(o, "invaliduser", bad, sizeof(bad));
        if (bad[0] == '\0')
            zq_ch_id_list(o, "unlicenseduser", bad, sizeof(bad));
        gone = code == 81013 || (code == 0 && bad[0] != '\0');
        if (gone)
            zq_ch_say(reason, reasonsz, "wecom errcode %lld: %.120s%s%.60s", code,
                      zq_ch_get_str(o, "errmsg"), bad[0] ? " user " : "", bad);
        break;
    default: break;
    }
    json_decref(o);
    return gone;
}

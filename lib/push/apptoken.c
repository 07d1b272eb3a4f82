/* Access tokens of the Feishu, DingTalk and WeCom app APIs: fetched with
 * libcurl, cached in Redis (see include/zhuqi/apptoken.h for the wire
 * formats and keys, and why Redis: one token per app for every instance). */
#include "zhuqi/apptoken.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/buf.h"
#include "zhuqi/log.h"

#define MAX_ANSWER ((size_t)64 * 1024)
#define EARLY_S 300 /* refresh this long before the platform's expiry */
#define MIN_TTL_S 60

static const char *const kind_names[] = {"feishu", "dingtalk", "wecom"};

typedef struct sink {
    zq_buf b;
    bool too_big;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    size_t len = size * n;

    if (s->b.len + len > MAX_ANSWER) {
        s->too_big = true;
        return 0; /* aborts the transfer */
    }
    return zq_buf_append(&s->b, p, len) == 0 ? len : 0;
}

/* An id that may go into a Redis key and a log line: 1..64 of
 * A-Z a-z 0-9 _ -. */
static bool id_ok(const char *s)
{
    size_t i, n = s ? strlen(s) : 0;

    if (n == 0 || n > 64)
        return false;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

/* A token that may go into a URL or a header: printable ASCII, no
 * spaces, no characters with a meaning in a query or a header. */
static bool token_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n >= ZQ_APPTOKEN_MAX)
        return false;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c >= 0x7f || c == '&' || c == '#' || c == '%' || c == '"' || c == '\\')
            return false;
    }
    return true;
}

int zq_apptoken_for(const zq_config *cfg, zq_outreq_auth auth, zq_apptoken_app *out)
{
    memset(out, 0, sizeof(*out));
    switch (auth) {
    case ZQ_AUTH_FEISHU:
        out->kind = ZQ_APPTOKEN_FEISHU;
        out->base_url = cfg->channels.feishu_base_url;
        out->id = cfg->feishu.app_id;
        out->secret = cfg->feishu.app_secret;
        return 0;
    case ZQ_AUTH_DINGTALK:
        out->kind = ZQ_APPTOKEN_DINGTALK;
        out->base_url = cfg->channels.dingtalk_api_base_url;
        out->id = cfg->dingtalk.app_key;
        out->secret = cfg->dingtalk.app_secret;
        return 0;
    case ZQ_AUTH_WECOM:
        out->kind = ZQ_APPTOKEN_WECOM;
        out->base_url = cfg->channels.wecom_base_url;
        out->id = cfg->wecom.corp_id;
        out->secret = cfg->wecom.corp_secret;
        /* An int always fits the 24 bytes of scope. */
        if (zq_fmt(out->scope, sizeof(out->scope), "%d", cfg->wecom.agent_id) < 0)
            return -ZQ_EINVAL;
        return 0;
    default: return -ZQ_EINVAL;
    }
}

/* The Redis key of the app's token. Returns 0 or -ZQ_ETOOBIG. */
static int cache_key(const zq_store *st, const zq_apptoken_app *app, char out[ZQ_STORE_KEY_MAX])
{
    switch (app->kind) {
    case ZQ_APPTOKEN_FEISHU:
        return zq_store_key(st, out, ZQ_STORE_KEY_MAX, "feishu:tenant_token:%s", app->id);
    case ZQ_APPTOKEN_DINGTALK:
        return zq_store_key(st, out, ZQ_STORE_KEY_MAX, "dingtalk:access_token:%s", app->id);
    case ZQ_APPTOKEN_WECOM:
        return zq_store_key(st, out, ZQ_STORE_KEY_MAX, "wecom:access_token:%s:%s", app->id,
                            app->scope);
    }
    return -ZQ_EINVAL;
}

/* The request for the token: URL (WeCom: with the credentials in the
 * query, as WeCom wants) and JSON body (NULL for WeCom's GET). */
static int build_request(const zq_apptoken_app *app, zq_buf *url, char **body)
{
    json_t *req = NULL;

    *body = NULL;
    zq_buf_puts(url, app->base_url);
    switch (app->kind) {
    case ZQ_APPTOKEN_FEISHU:
        zq_buf_puts(url, "/open-apis/auth/v3/tenant_access_token/internal");
        req = json_pack("{s:s, s:s}", "app_id", app->id, "app_secret", app->secret);
        break;
    case ZQ_APPTOKEN_DINGTALK:
        zq_buf_puts(url, "/v1.0/oauth2/accessToken");
        req = json_pack("{s:s, s:s}", "appKey", app->id, "appSecret", app->secret);
        break;
    case ZQ_APPTOKEN_WECOM:
        zq_buf_puts(url, "/cgi-bin/gettoken?corpid=");
        zq_url_encode(url, app->id);
        zq_buf_puts(url, "&corpsecret=");
        zq_url_encode(url, app->secret);
        return url->oom ? -ZQ_ENOMEM : 0;
    }
    *body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    return url->oom || *body == NULL ? -ZQ_ENOMEM : 0;
}

/* True when code is one of the n codes in list. */
static bool code_in(long long code, const long long *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (code == list[i])
            return true;
    return false;
}

/* True when s contains one of the words (NULL-terminated list). */
static bool has_any(const char *s, const char *const *words)
{
    for (; s != NULL && *words != NULL; words++)
        if (strstr(s, *words) != NULL)
            return true;
    return false;
}

/* The codes that say the credentials themselves are wrong: asking again
 * gets the same answer, so the messages fail now with the platform's
 * words. Every other error of a token endpoint (throttling, "system
 * busy", internal errors, codes we do not know) is retried later: a
 * throttled or ailing token endpoint must never read as "credentials
 * refused" (issue 13 item 9).
 *   Feishu  10003 invalid app_id, 10014 app secret invalid, and the rest
 *           of the 10xxx family of auth/v3 (app ticket, app status);
 *           99991400 is its frequency limit (HTTP 400), 1500-ish codes
 *           are internal errors.
 *   WeCom   40001 invalid secret, 40013 invalid corpid, 40091 secret
 *           format, 41002/41004 corpid/secret missing, 42001 (as the
 *           brief of the fake asks), 60020 caller IP not trusted;
 *           -1 busy, 45009/45011/45033 frequency limits retry.
 *   DingTalk a 4xx {"code"} names the error: quota and throttle codes
 *           ("Forbidden.AccessDenied.QpsLimitForApi", "...QpmLimit...",
 *           "Throttling", "FlowControl", "Quota") and server errors
 *           retry; "invalidClientIdOrSecret", old-style 40089 and other
 *           4xx codes are refusals. */
static const long long wecom_refused[] = {40001, 40013, 40091, 41002, 41004, 42001, 60020};
static const char *const dingtalk_transient[] = {
    "Limit",       "Throttl",     "FlowControl",        "Quota",
    "systemError", "SystemError", "ServiceUnavailable", "InternalError",
    "Timeout",     NULL};

static bool feishu_refused(long long code)
{
    return code >= 10000 && code <= 10999;
}

/* Reads the platform's answer: 0 with the token and its lifetime in
 * seconds, -ZQ_EIO (try later) or -ZQ_EAUTH (refused). */
static int read_answer(const zq_apptoken_app *app, long status, json_t *ans,
                       char out[ZQ_APPTOKEN_MAX], long long *expire_s, zq_err *err)
{
    const char *who = kind_names[app->kind], *tok = NULL, *msg = NULL;
    long long code = 0;
    json_t *life = NULL;

    if (!json_is_object(ans))
        return zq_err_set(err, ZQ_EIO, "%s token: HTTP %ld: the answer is not JSON", who, status);
    switch (app->kind) {
    case ZQ_APPTOKEN_FEISHU:
        code = json_is_integer(json_object_get(ans, "code"))
                   ? (long long)json_integer_value(json_object_get(ans, "code"))
                   : -99;
        msg = json_string_value(json_object_get(ans, "msg"));
        if (code != 0 && !feishu_refused(code))
            return zq_err_set(err, ZQ_EIO, "feishu token: HTTP %ld code %lld: %.120s", status, code,
                              msg ? msg : "");
        tok = code == 0 ? json_string_value(json_object_get(ans, "tenant_access_token")) : NULL;
        life = json_object_get(ans, "expire");
        break;
    case ZQ_APPTOKEN_DINGTALK: {
        const char *c = json_string_value(json_object_get(ans, "code"));

        msg = json_string_value(json_object_get(ans, "message"));
        if (status == 429 || has_any(c, dingtalk_transient)) {
            return zq_err_set(err, ZQ_EIO, "dingtalk token: HTTP %ld %.60s: throttled or busy",
                              status, c ? c : "");
        }
        if (msg == NULL) /* the old-style answer: {"errcode", "errmsg"} */
            msg = json_string_value(json_object_get(ans, "errmsg"));
        if (status != 200 || c != NULL || json_object_get(ans, "errcode") != NULL)
            return zq_err_set(err, ZQ_EAUTH, "dingtalk token: HTTP %ld %.60s: %.120s", status,
                              c ? c : "-", msg ? msg : "no token in the answer");
        tok = json_string_value(json_object_get(ans, "accessToken"));
        life = json_object_get(ans, "expireIn");
        break;
    }
    case ZQ_APPTOKEN_WECOM:
        code = json_is_integer(json_object_get(ans, "errcode"))
                   ? (long long)json_integer_value(json_object_get(ans, "errcode"))
                   : -99;
        msg = json_string_value(json_object_get(ans, "errmsg"));
        if (code != 0 && !code_in(code, wecom_refused, ZQ_ARRAY_LEN(wecom_refused)))
            return zq_err_set(err, ZQ_EIO, "wecom token: errcode %lld: %.120s", code,
                              msg ? msg : "");
        tok = code == 0 ? json_string_value(json_object_get(ans, "access_token")) : NULL;
        life = json_object_get(ans, "expires_in");
        break;
    }
    if (tok == NULL || !token_ok(tok, strlen(tok)))
        return zq_err_set(err, ZQ_EAUTH, "%s token: HTTP %ld code %lld: %.120s", who, status, code,
                          msg ? msg : "no usable token in the answer");
    memcpy(out, tok, strlen(tok) + 1);
    *expire_s = json_is_integer(life) ? (long long)json_integer_value(life) : 0;
    return 0;
}

/* Asks the platform. Returns 0 with the token and its lifetime, or a code. */
static int fetch(const zq_apptoken_app *app, int timeout_ms, char out[ZQ_APPTOKEN_MAX],
                 long long *expire_s, zq_err *err)
{
    const char *who = kind_names[app->kind];
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    zq_buf url = {0};
    sink s = {{0}, false};
    json_t *ans = NULL;
    char *body = NULL;
    long status = 0;
    CURLcode cc;
    int rc;

    rc = build_request(app, &url, &body);
    hdrs = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
    if (c == NULL || rc < 0 || hdrs == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "%s token: out of memory", who);
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 5000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 5000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "zhuqi-bot/" ZQ_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        /* Never the URL: WeCom's carries the secret. */
        rc = zq_err_set(err, ZQ_EIO, "%s token: %s", who,
                        s.too_big ? "answer too large" : curl_easy_strerror(cc));
        goto out;
    }
    ans = json_loadb(s.b.data ? s.b.data : "", s.b.len, 0, NULL);
    if (status >= 500 || (status == 429 && app->kind != ZQ_APPTOKEN_DINGTALK) ||
        !json_is_object(ans)) {
        rc = zq_err_set(err, ZQ_EIO, "%s token: HTTP %ld", who, status);
        goto out;
    }
    rc = read_answer(app, status, ans, out, expire_s, err);
out:
    json_decref(ans);
    zq_buf_free(&s.b);
    zq_buf_free(&url);
    curl_slist_free_all(hdrs);
    if (c != NULL)
        curl_easy_cleanup(c);
    free(body);
    return rc;
}

int zq_apptoken_get(zq_store *st, const zq_apptoken_app *app, bool refresh, int timeout_ms,
                    char out[ZQ_APPTOKEN_MAX], zq_err *err)
{
    const char *who;
    char key[ZQ_STORE_KEY_MAX];
    long long expire = 0;
    redisReply *r;
    int rc;

    out[0] = '\0';
    if ((unsigned)app->kind >= ZQ_ARRAY_LEN(kind_names))
        return zq_err_set(err, ZQ_EINVAL, "app token: unknown platform");
    who = kind_names[app->kind];
    if (!id_ok(app->id) || app->secret == NULL || app->secret[0] == '\0' ||
        (app->kind == ZQ_APPTOKEN_WECOM && !id_ok(app->scope)))
        return zq_err_set(err, ZQ_EAUTH, "%s token: app id or secret not configured", who);
    if (cache_key(st, app, key) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "%s token: key too long", who);
    if (!refresh) {
        r = zq_store_command(st, err, "GET %s", key);
        if (r == NULL)
            return -ZQ_EUNAVAIL;
        if (r->type == REDIS_REPLY_STRING && token_ok(r->str, r->len)) {
            memcpy(out, r->str, r->len + 1);
            freeReplyObject(r);
            return 0;
        }
        freeReplyObject(r);
    }
    rc = fetch(app, timeout_ms, out, &expire, err);
    if (rc < 0) {
        ZQ_WARN("event=app_token_failed platform=%s app=%s err=\"%s\"", who, app->id,
                err ? err->msg : "");
        return rc;
    }
    /* Two hours is usual; keep it until five minutes before. */
    expire = expire > EARLY_S + MIN_TTL_S ? expire - EARLY_S : MIN_TTL_S;
    r = zq_store_command(st, err, "SET %s %s EX %lld", key, out, expire);
    if (r == NULL)
        return 0; /* the token is good even when it could not be cached */
    freeReplyObject(r);
    ZQ_INFO("event=app_token_fetched platform=%s app=%s ttl_s=%lld", who, app->id, expire);
    return 0;
}

int zq_apptoken_forget(zq_store *st, const zq_apptoken_app *app, zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX];
    redisReply *r;

    if ((unsigned)app->kind >= ZQ_ARRAY_LEN(kind_names) || !id_ok(app->id))
        return 0;
    if (cache_key(st, app, key) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "app token: key too long");
    r = zq_store_command(st, err, "DEL %s", key);

    if (r == NULL)
        return -ZQ_EUNAVAIL;
    freeReplyObject(r);
    return 0;
}

int zq_apptoken_apply(zq_outreq_auth auth, const char *token, char *url, size_t urlsz, char *hdr,
                      size_t hdrsz)
{
    size_t ulen = strlen(url);
    int n;

    hdr[0] = '\0';
    switch (auth) {
    case ZQ_AUTH_WECOM:
        n = snprintf(url + ulen, urlsz - ulen, "%saccess_token=%s",
                     strchr(url, '?') != NULL ? "&" : "?", token);
        if (n < 0 || (size_t)n >= urlsz - ulen) {
            url[ulen] = '\0';
            return -ZQ_ETOOBIG;
        }
        return 0;
    case ZQ_AUTH_DINGTALK:
        n = snprintf(hdr, hdrsz, "x-acs-dingtalk-access-token: %s", token);
        break;
    case ZQ_AUTH_FEISHU: n = snprintf(hdr, hdrsz, "Authorization: Bearer %s", token); break;
    default: return 0;
    }
    if (n < 0 || (size_t)n >= hdrsz) {
        hdr[0] = '\0';
        return -ZQ_ETOOBIG;
    }
    return 0;
}

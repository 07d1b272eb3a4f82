/* The Feishu tenant access token, fetched with libcurl and cached in Redis
 * (see include/zhuqi/feishu_token.h). */
#include "zhuqi/feishu_token.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/buf.h"
#include "zhuqi/log.h"

#define MAX_ANSWER (64 * 1024)
#define EARLY_S 300 /* refresh this long before Feishu's expiry */

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

/* Asks Feishu. Returns 0 with the token and its lifetime, or a code. */
static int fetch(const char *base_url, const char *app_id, const char *app_secret, int timeout_ms,
                 char out[ZQ_FEISHU_TOKEN_MAX], long long *expire_s, zq_err *err)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    zq_buf url = {0};
    sink s = {{0}, false};
    json_t *req = json_pack("{s:s, s:s}", "app_id", app_id, "app_secret", app_secret), *ans = NULL;
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    const char *tok;
    long status = 0;
    json_int_t code;
    CURLcode cc;
    int rc = 0;

    json_decref(req);
    zq_buf_printf(&url, "%s/open-apis/auth/v3/tenant_access_token/internal", base_url);
    hdrs = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
    if (c == NULL || body == NULL || url.oom || hdrs == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "feishu token: out of memory");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 5000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 5000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        rc = zq_err_set(err, ZQ_EIO, "feishu token: %s",
                        s.too_big ? "answer too large" : curl_easy_strerror(cc));
        goto out;
    }
    ans = json_loadb(s.b.data ? s.b.data : "", s.b.len, 0, NULL);
    code = json_integer_value(json_object_get(ans, "code"));
    tok = json_string_value(json_object_get(ans, "tenant_access_token"));
    if (status >= 500 || (status != 200 && !json_is_object(ans))) {
        rc = zq_err_set(err, ZQ_EIO, "feishu token: HTTP %ld", status);
        goto out;
    }
    if (!json_is_integer(json_object_get(ans, "code")) || code != 0 || tok == NULL ||
        strlen(tok) == 0 || strlen(tok) >= ZQ_FEISHU_TOKEN_MAX) {
        const char *msg = json_string_value(json_object_get(ans, "msg"));

        rc = zq_err_set(err, ZQ_EAUTH, "feishu token: HTTP %ld code %lld: %.120s", status,
                        (long long)code, msg ? msg : "no token in the answer");
        goto out;
    }
    memcpy(out, tok, strlen(tok) + 1);
    *expire_s = json_integer_value(json_object_get(ans, "expire"));
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

int zq_feishu_tenant_token(zq_store *st, const char *base_url, const char *app_id,
                           const char *app_secret, bool refresh, int timeout_ms,
                           char out[ZQ_FEISHU_TOKEN_MAX], zq_err *err)
{
    const char *p = zq_store_prefix(st);
    long long expire = 0;
    redisReply *r;
    int rc;

    out[0] = '\0';
    if (!id_ok(app_id) || app_secret == NULL || app_secret[0] == '\0')
        return zq_err_set(err, ZQ_EAUTH, "feishu token: app_id or app_secret not configured");
    if (!refresh) {
        r = zq_store_command(st, err, "GET %sfeishu:tenant_token:%s", p, app_id);
        if (r == NULL)
            return -ZQ_EUNAVAIL;
        if (r->type == REDIS_REPLY_STRING && r->len > 0 && r->len < ZQ_FEISHU_TOKEN_MAX) {
            memcpy(out, r->str, r->len + 1);
            freeReplyObject(r);
            return 0;
        }
        freeReplyObject(r);
    }
    rc = fetch(base_url, app_id, app_secret, timeout_ms, out, &expire, err);
    if (rc < 0) {
        ZQ_WARN("event=feishu_token_failed app_id=%s err=\"%s\"", app_id, err ? err->msg : "");
        return rc;
    }
    /* Feishu gives two hours; keep it until five minutes before. */
    expire = expire > EARLY_S + 60 ? expire - EARLY_S : 60;
    r = zq_store_command(st, err, "SET %sfeishu:tenant_token:%s %s EX %lld", p, app_id, out,
                         expire);
    if (r == NULL)
        return 0; /* the token is good even when it could not be cached */
    freeReplyObject(r);
    ZQ_INFO("event=feishu_token_fetched app_id=%s ttl_s=%lld", app_id, expire);
    return 0;
}

int zq_feishu_token_forget(zq_store *st, const char *app_id, zq_err *err)
{
    redisReply *r;

    if (!id_ok(app_id))
        return 0;
    r = zq_store_command(st, err, "DEL %sfeishu:tenant_token:%s", zq_store_prefix(st), app_id);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    freeReplyObject(r);
    return 0;
}

bool zq_feishu_token_rejected(const char *body, size_t len)
{
    json_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
    json_int_t code = json_integer_value(json_object_get(j, "code"));

    json_decref(j);
    return code == 99991661 || code == 99991663 || code == 99991668;
}

/* Request parsing and response building for zhuqi-fcgi. */
#include "http.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "zhuqi/auth.h"
#include "zhuqi/common.h"
#include "zhuqi/log.h"

#define MAX_QUERY_PAIRS 64
#define MAX_FORM_PAIRS 256
#define MAX_COOKIES 64

/* The parameters zq_req_init indexes: those read on most requests (the
 * request line, the body's headers, cookies, tokens). Any other name is
 * looked up by a scan of envp. */
enum {
    K_REQUEST_METHOD,
    K_DOCUMENT_URI,
    K_REQUEST_URI,
    K_QUERY_STRING,
    K_CONTENT_TYPE,
    K_CONTENT_LENGTH,
    K_REMOTE_ADDR,
    K_REQUEST_ID,
    K_HTTP_X_REQUEST_ID,
    K_HTTP_COOKIE,
    K_HTTP_AUTHORIZATION,
    K_HTTP_X_CSRF_TOKEN,
    K_HTTP_IDEMPOTENCY_KEY,
    K_ZQ_BODY_FILE,
    K_COUNT
};

_Static_assert(K_COUNT == ZQ_REQ_NKNOWN, "ZQ_REQ_NKNOWN is the number of indexed names");

/* The slot of name[0..n) (not NUL-terminated there), or -1. By length
 * first: every parameter of every request passes here, and a loop over
 * the names cost more than the scans it saves. */
static int known_slot(const char *name, size_t n)
{
#define IS(lit) (memcmp(name, lit, sizeof(lit) - 1) == 0) /* n == sizeof(lit) - 1 */
    switch (n) {
    case 10: return IS("REQUEST_ID") ? K_REQUEST_ID : -1;
    case 11:
        if (IS("REQUEST_URI"))
            return K_REQUEST_URI;
        if (IS("REMOTE_ADDR"))
            return K_REMOTE_ADDR;
        return IS("HTTP_COOKIE") ? K_HTTP_COOKIE : -1;
    case 12:
        if (IS("DOCUMENT_URI"))
            return K_DOCUMENT_URI;
        if (IS("QUERY_STRING"))
            return K_QUERY_STRING;
        if (IS("CONTENT_TYPE"))
            return K_CONTENT_TYPE;
        return IS("ZQ_BODY_FILE") ? K_ZQ_BODY_FILE : -1;
    case 14:
        if (IS("REQUEST_METHOD"))
            return K_REQUEST_METHOD;
        return IS("CONTENT_LENGTH") ? K_CONTENT_LENGTH : -1;
    case 17:
        if (IS("HTTP_X_REQUEST_ID"))
            return K_HTTP_X_REQUEST_ID;
        return IS("HTTP_X_CSRF_TOKEN") ? K_HTTP_X_CSRF_TOKEN : -1;
    case 18: return IS("HTTP_AUTHORIZATION") ? K_HTTP_AUTHORIZATION : -1;
    case 20: return IS("HTTP_IDEMPOTENCY_KEY") ? K_HTTP_IDEMPOTENCY_KEY : -1;
    default: return -1;
    }
#undef IS
}

/* One pass over envp: the first value of each known name. */
static void index_params(zq_req *req)
{
    char **e;

    req->indexed = true;
    if (req->envp == NULL)
        return;
    for (e = req->envp; *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        int slot;

        if (eq == NULL)
            continue;
        slot = known_slot(*e, (size_t)(eq - *e));
        if (slot >= 0 && req->known[slot] == NULL)
            req->known[slot] = eq + 1;
    }
}

const char *zq_req_param(const zq_req *req, const char *name)
{
    size_t n = strlen(name);
    char **e;

    if (req->indexed) {
        int slot = known_slot(name, n);

        if (slot >= 0)
            return req->known[slot];
    }
    if (req->envp == NULL)
        return NULL;
    for (e = req->envp; *e != NULL; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

bool zq_req_from_loopback(const zq_req *req)
{
    return strcmp(req->remote_addr, "127.0.0.1") == 0 || strcmp(req->remote_addr, "::1") == 0;
}

const char *zq_req_header(zq_req *req, const char *name)
{
    char key[128];
    size_t i, o = 0;

    if (strcasecmp(name, "Content-Type") == 0)
        return zq_req_param(req, "CONTENT_TYPE");
    if (strcasecmp(name, "Content-Length") == 0)
        return zq_req_param(req, "CONTENT_LENGTH");
    if (strlen(name) + 6 >= sizeof(key))
        return NULL;
    memcpy(key, "HTTP_", 5);
    o = 5;
    for (i = 0; name[i] != '\0'; i++)
        key[o++] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
    key[o] = '\0';
    return zq_req_param(req, key);
}

/* The characters of a plain request id: A-Z a-z 0-9 - _ . */
static bool id_plain[256];
static pthread_once_t id_once = PTHREAD_ONCE_INIT;

static void id_plain_init(void)
{
    static const char ok[] = "-._0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    for (const char *c = ok; *c != '\0'; c++)
        id_plain[(unsigned char)*c] = true;
}

/* A request id from outside is echoed only when it is short (1 to 64)
 * and plain. A table look-up per character: nginx's ids are 32 long and
 * every request checks one. */
static bool request_id_ok(const char *s)
{
    size_t i;

    pthread_once(&id_once, id_plain_init);
    for (i = 0; s[i] != '\0'; i++)
        if (i == 64 || !id_plain[(unsigned char)s[i]])
            return false;
    return i > 0;
}

static const char *make_request_id(zq_pool *pool)
{
    static _Thread_local uint64_t state;
    char *id = zq_pool_alloc(pool, 17);
    uint64_t x;
    int i;

    if (id == NULL)
        return "-";
    if (state == 0)
        state = (uint64_t)zq_mono_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)&state;
    /* xorshift64*: ids need to be unique enough to find log lines, not
     * unpredictable. */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    x = state * 0x2545F4914F6CDD1DULL;
    for (i = 15; i >= 0; i--) {
        id[i] = "0123456789abcdef"[x & 15];
        x >>= 4;
    }
    id[16] = '\0';
    return id;
}

int zq_req_init(zq_req *req, char **envp, const zq_config *cfg, zq_store *store)
{
    const char *p, *uri, *q;

    memset(req, 0, sizeof(*req));
    req->envp = envp;
    req->cfg = cfg;
    req->store = store;
    req->route_index = -1;
    req->status = 200;
    index_params(req);

    p = req->known[K_REQUEST_ID];
    if (p == NULL || !request_id_ok(p)) {
        p = req->known[K_HTTP_X_REQUEST_ID];
        if (p != NULL && !request_id_ok(p))
            p = NULL;
    }
    req->request_id = p != NULL ? p : make_request_id(&req->pool);

    req->method = req->known[K_REQUEST_METHOD];
    if (req->method == NULL)
        req->method = "GET";
    req->head = strcmp(req->method, "HEAD") == 0;
    req->remote_addr = req->known[K_REMOTE_ADDR];
    if (req->remote_addr == NULL)
        req->remote_addr = "-";

    req->query = req->known[K_QUERY_STRING];
    if (req->query == NULL)
        req->query = "";

    /* nginx's $document_uri is decoded and normalised; fall back to the
     * raw request URI without its query. */
    p = req->known[K_DOCUMENT_URI];
    if (p != NULL && *p != '\0') {
        req->path = p;
    } else {
        uri = req->known[K_REQUEST_URI];
        if (uri == NULL || *uri == '\0')
            uri = "/";
        q = strchr(uri, '?');
        req->path =
            zq_url_decode(&req->pool, uri, q ? (size_t)(q - uri) : strlen(uri), false, NULL);
        if (req->path == NULL) {
            req->path = "/";
            zq_resp_error(req, 400, "bad_path", "请求地址格式不正确。");
            return -ZQ_EINVAL;
        }
    }
    if (!zq_utf8_valid(req->path, strlen(req->path))) {
        req->path = "/";
        zq_resp_error(req, 400, "bad_path", "请求地址格式不正确。");
        return -ZQ_EINVAL;
    }
    return 0;
}

/* One value zq_req_keep holds; the nodes live in the request's pool. */
struct zq_req_kept {
    json_t *j;
    struct zq_req_kept *next;
};

json_t *zq_req_keep(zq_req *req, json_t *j)
{
    struct zq_req_kept *k;

    if (j == NULL)
        return NULL;
    k = zq_pool_alloc(&req->pool, sizeof(*k));
    if (k == NULL) {
        json_decref(j);
        return NULL;
    }
    k->j = j;
    k->next = req->kept;
    req->kept = k;
    return j;
}

void zq_req_free(zq_req *req)
{
    struct zq_req_kept *k;

    for (k = req->kept; k != NULL; k = k->next)
        json_decref(k->j);
    req->kept = NULL;
    zq_buf_free(&req->headers);
    zq_buf_free(&req->body_out);
    zq_pool_free(&req->pool);
}

char *zq_url_decode(zq_pool *pool, const char *s, size_t len, bool plus_space, size_t *outlen)
{
    char *out = zq_pool_alloc(pool, len + 1);
    size_t i, o = 0;

    if (out == NULL)
        return NULL;
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int h, l;
            if (i + 2 >= len)
                return NULL;
            h = zq_hexval(s[i + 1]);
            l = zq_hexval(s[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return NULL;
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else if (c == '+' && plus_space) {
            out[o++] = ' ';
        } else if (c == '\0') {
            return NULL;
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    if (outlen != NULL)
        *outlen = o;
    return out;
}

int zq_parse_urlencoded(zq_pool *pool, const char *s, size_t len, size_t max, zq_kv **out,
                        size_t *n)
{
    zq_kv *kv;
    size_t count = 0, cap = 0, i = 0;

    *out = NULL;
    *n = 0;
    /* Count the pairs first so the array is allocated once. */
    for (i = 0; i < len; i++)
        if (s[i] == '&')
            cap++;
    cap++;
    if (cap > max)
        return -ZQ_EINVAL;
    kv = zq_pool_alloc(pool, cap * sizeof(*kv));
    if (kv == NULL)
        return -ZQ_ENOMEM;
    i = 0;
    while (i < len) {
        size_t start = i, eq = (size_t)-1, klen, vlen;
        char *k, *v;

        while (i < len && s[i] != '&') {
            if (s[i] == '=' && eq == (size_t)-1)
                eq = i;
            i++;
        }
        if (i > start) {
            if (eq == (size_t)-1)
                eq = i;
            k = zq_url_decode(pool, s + start, eq - start, true, &klen);
            v = zq_url_decode(pool, eq < i ? s + eq + 1 : "", eq < i ? i - eq - 1 : 0, true, &vlen);
            if (k == NULL || v == NULL || !zq_utf8_valid(k, klen) || !zq_utf8_valid(v, vlen))
                return -ZQ_EINVAL;
            kv[count].key = k;
            kv[count].val = v;
            kv[count].val_len = vlen;
            count++;
        }
        i++; /* skip '&' */
    }
    *out = kv;
    *n = count;
    return 0;
}

int zq_parse_cookies(zq_pool *pool, const char *header, size_t max, zq_kv **out, size_t *n)
{
    const char *p = header;
    zq_kv *kv;
    size_t count = 0;

    *out = NULL;
    *n = 0;
    kv = zq_pool_alloc(pool, max * sizeof(*kv));
    if (kv == NULL)
        return -ZQ_ENOMEM;
    while (*p != '\0') {
        const char *ks, *ke, *vs, *ve;

        while (*p == ' ' || *p == ';')
            p++;
        if (*p == '\0')
            break;
        ks = p;
        while (*p != '\0' && *p != '=' && *p != ';')
            p++;
        ke = p;
        while (ke > ks && ke[-1] == ' ')
            ke--;
        if (*p != '=') {
            continue; /* a bare name without a value: ignore it */
        }
        p++;
        vs = p;
        while (*p != '\0' && *p != ';')
            p++;
        ve = p;
        while (ve > vs && ve[-1] == ' ')
            ve--;
        if (ve - vs >= 2 && vs[0] == '"' && ve[-1] == '"') {
            vs++;
            ve--;
        }
        if (ke == ks)
            continue;
        if (count == max)
            return -ZQ_EINVAL;
        kv[count].key = zq_pool_strndup(pool, ks, (size_t)(ke - ks));
        kv[count].val = zq_pool_strndup(pool, vs, (size_t)(ve - vs));
        kv[count].val_len = (size_t)(ve - vs);
        if (kv[count].key == NULL || kv[count].val == NULL)
            return -ZQ_ENOMEM;
        count++;
    }
    *out = kv;
    *n = count;
    return 0;
}

const char *zq_req_query(zq_req *req, const char *name)
{
    zq_kv *kv;
    size_t n, i;

    if (zq_parse_urlencoded(&req->pool, req->query, strlen(req->query), MAX_QUERY_PAIRS, &kv, &n) <
        0)
        return NULL;
    for (i = 0; i < n; i++)
        if (strcmp(kv[i].key, name) == 0)
            return kv[i].val;
    return NULL;
}

const char *zq_req_cookie(zq_req *req, const char *name)
{
    const char *h = zq_req_header(req, "Cookie");
    zq_kv *kv;
    size_t n, i;

    if (h == NULL || zq_parse_cookies(&req->pool, h, MAX_COOKIES, &kv, &n) < 0)
        return NULL;
    for (i = 0; i < n; i++)
        if (strcmp(kv[i].key, name) == 0)
            return kv[i].val;
    return NULL;
}

/* True when the Content-Type's media type (before any ';') is type. */
static bool content_type_is(zq_req *req, const char *type)
{
    const char *ct = zq_req_header(req, "Content-Type");
    size_t n = strlen(type);

    if (ct == NULL)
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, type, n) != 0)
        return false;
    ct += n;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

int zq_req_json(zq_req *req, json_t **out)
{
    json_error_t jerr;
    json_t *j;

    *out = NULL;
    if (!content_type_is(req, "application/json")) {
        zq_resp_error(req, 415, "unsupported_media_type",
                      "请求内容类型不受支持，请使用 application/json。");
        return -ZQ_EINVAL;
    }
    if (!zq_utf8_valid(req->body, req->body_len)) {
        zq_resp_error(req, 400, "invalid_utf8", "请求内容不是有效的 UTF-8 文本。");
        return -ZQ_EINVAL;
    }
    j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        ZQ_INFO("event=bad_json line=%d col=%d err=\"%s\"", jerr.line, jerr.column, jerr.text);
        zq_resp_error(req, 400, "malformed_json", "请求内容不是有效的 JSON。");
        return -ZQ_EINVAL;
    }
    if ((*out = zq_req_keep(req, j)) == NULL)
        return -ZQ_ENOMEM;
    return 0;
}

int zq_req_form(zq_req *req, zq_kv **out, size_t *n)
{
    int rc;

    if (!content_type_is(req, "application/x-www-form-urlencoded")) {
        zq_resp_error(req, 415, "unsupported_media_type", "请求内容类型不受支持。");
        return -ZQ_EINVAL;
    }
    if (!zq_utf8_valid(req->body, req->body_len)) {
        zq_resp_error(req, 400, "invalid_utf8", "请求内容不是有效的 UTF-8 文本。");
        return -ZQ_EINVAL;
    }
    rc = zq_parse_urlencoded(&req->pool, req->body, req->body_len, MAX_FORM_PAIRS, out, n);
    if (rc < 0) {
        zq_resp_error(req, 400, "malformed_form", "表单内容格式不正确。");
        return rc;
    }
    return 0;
}

int zq_req_require_staff(zq_req *req, zq_role need, const zq_token **who)
{
    const zq_token *tok = NULL;
    int rc = zq_auth_check(req->cfg, zq_req_header(req, "Authorization"), need, &tok);

    if (rc == -ZQ_EFORBIDDEN) {
        ZQ_INFO("event=staff_forbidden staff=%s need=%s", tok ? tok->name : "-",
                zq_role_name(need));
        zq_resp_error(req, 403, "forbidden", "当前账号没有执行此操作的权限。");
        return rc;
    }
    if (rc < 0) {
        zq_resp_header(req, "WWW-Authenticate", "Bearer realm=\"zhuqi\"");
        zq_resp_error(req, 401, "unauthorized", "请先使用有效的工作人员令牌登录。");
        return rc;
    }
    if (who != NULL)
        *who = tok;
    return 0;
}

void zq_resp_header(zq_req *req, const char *name, const char *value)
{
    if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL) {
        ZQ_WARN("event=header_dropped name=%.64s", name);
        return;
    }
    zq_buf_puts(&req->headers, name);
    zq_buf_append(&req->headers, ": ", 2);
    zq_buf_puts(&req->headers, value);
    zq_buf_append(&req->headers, "\r\n", 2);
}

void zq_resp_raw(zq_req *req, int status, const char *content_type, const void *data, size_t len)
{
    req->status = status;
    req->responded = true;
    req->content_type = content_type;
    zq_buf_reset(&req->body_out);
    zq_buf_append(&req->body_out, data, len);
}

/* jansson's dump callback: appends to a zq_buf. */
static int dump_to_buf(const char *data, size_t len, void *arg)
{
    return zq_buf_append(arg, data, len) == 0 ? 0 : -1;
}

void zq_resp_json(zq_req *req, int status, json_t *body)
{
    zq_buf *b = &req->body_out;

    req->status = status;
    req->responded = true;
    req->content_type = "application/json; charset=utf-8";
    zq_buf_reset(b);
    if (body == NULL) {
        zq_buf_puts(b, "{}");
        return;
    }
    /* One pass straight into the buffer (measuring first with
     * json_dumpb would serialise everything twice). */
    zq_buf_reserve(b, 256);
    if (json_dump_callback(body, dump_to_buf, b, JSON_COMPACT) != 0)
        b->oom = true;
    json_decref(body);
}

void zq_resp_error_fields(zq_req *req, int status, const char *code, const char *message,
                          json_t *fields)
{
    json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);

    if (err != NULL && fields != NULL)
        json_object_set_new(err, "fields", fields);
    else if (fields != NULL)
        json_decref(fields);
    zq_resp_json(req, status, err ? json_pack("{s:o}", "error", err) : NULL);
}

void zq_resp_error(zq_req *req, int status, const char *code, const char *message)
{
    zq_resp_error_fields(req, status, code, message, NULL);
}

const char *zq_resp_msgf(char *out, size_t outsz, const char *fallback, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = zq_vfmt(out, outsz, fmt, ap);
    va_end(ap);
    if (rc < 0 && zq_fmt(out, outsz, "%s", fallback) < 0)
        out[0] = '\0';
    return out;
}

void zq_resp_unavailable(zq_req *req)
{
    char ra[16];

    zq_resp_error(req, 503, "storage_unavailable",
                  "服务暂时不可用，请稍后重试。您填写的内容不会丢失。");
    /* A number always fits; were it cut, no Retry-After beats a wrong one. */
    if (zq_fmt(ra, sizeof(ra), "%d", req->cfg ? req->cfg->server.retry_after_s : 5) == 0)
        zq_resp_header(req, "Retry-After", ra);
}

const char *zq_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

/* Writes the decimal digits of v at p; returns the end. */
static char *put_uint(char *p, size_t v)
{
    char d[ZQ_DEC_MAX];
    size_t n = zq_udec(d, v);

    memcpy(p, d, n);
    return p + n;
}

static char *put_mem(char *p, const void *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT_LIT(p, lit) put_mem(p, lit, sizeof(lit) - 1)

/* The head of the response: everything before the body except, when
 * content_length is SIZE_MAX, the Content-Length line and the blank
 * line. Measured first and written in one reserved stretch, no printf:
 * this runs on every request, and six zq_buf_printf calls cost more than
 * the rest of a ping. */
static void serialize_head(zq_req *req, zq_buf *out, size_t content_length)
{
    static const char tail[] = "\r\nX-Content-Type-Options: nosniff\r\n"
                               "X-Frame-Options: DENY\r\n"
                               "Referrer-Policy: no-referrer\r\n"
                               "Content-Security-Policy: ";
    /* A page built here (the receipt) allows its own inline style and
     * script; everything else is data and allows nothing. */
    const char *csp = req->csp ? req->csp : "default-src 'none'; frame-ancestors 'none'";
    const char *cache = req->cache_control ? req->cache_control : "no-store";
    const char *reason = zq_http_reason(req->status);
    size_t lreason = strlen(reason), lid = strlen(req->request_id), lcsp = strlen(csp),
           lcache = strlen(cache), lct = req->content_type ? strlen(req->content_type) : 0;
    char *p;

    /* Fixed text (< 256 bytes), the numbers (< 24 digits each) and the
     * variable parts. */
    if (zq_buf_reserve(out, 320 + lreason + lct + req->headers.len + lid + lcsp + lcache) < 0)
        return;
    p = out->data + out->len;
    p = PUT_LIT(p, "Status: ");
    if (req->status < 0) { /* a bug, but written as %d would */
        *p++ = '-';
        p = put_uint(p, (size_t)0 - (size_t)(long)req->status);
    } else {
        p = put_uint(p, (size_t)req->status);
    }
    *p++ = ' ';
    p = put_mem(p, reason, lreason);
    p = PUT_LIT(p, "\r\n");
    if (req->content_type != NULL) {
        p = PUT_LIT(p, "Content-Type: ");
        p = put_mem(p, req->content_type, lct);
        p = PUT_LIT(p, "\r\n");
    }
    if (req->headers.len > 0)
        p = put_mem(p, req->headers.data, req->headers.len);
    p = PUT_LIT(p, "X-Request-Id: ");
    p = put_mem(p, req->request_id, lid);
    p = PUT_LIT(p, tail);
    p = put_mem(p, csp, lcsp);
    p = PUT_LIT(p, "\r\nCache-Control: ");
    p = put_mem(p, cache, lcache);
    p = PUT_LIT(p, "\r\n");
    if (content_length != SIZE_MAX) {
        p = PUT_LIT(p, "Content-Length: ");
        p = put_uint(p, content_length);
        p = PUT_LIT(p, "\r\n\r\n");
    }
    *p = '\0';
    out->len = (size_t)(p - out->data);
}

int zq_resp_serialize_parts(zq_req *req, zq_buf *out, const char **body, size_t *body_len)
{
    *body = NULL;
    *body_len = 0;
    if (req->streaming)
        return 0; /* the head and the body went out already */
    if (!req->responded || req->body_out.oom) {
        /* Nothing answered, or the body could not be built whole. */
        zq_buf_free(&req->body_out);
        zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
    }
    /* A large body (a page of the staff list is some 45 KB) is sent from
     * where it was written: copying it after the head costs about one
     * instruction per byte under callgrind. A small one is copied, so
     * that it goes out in one write with the head. */
    if (!req->head && req->body_out.len >= ZQ_RESP_SEND_APART) {
        zq_buf_reserve(out, 512 + req->headers.len);
        serialize_head(req, out, req->body_out.len);
        *body = req->body_out.data;
        *body_len = req->body_out.len;
        return out->oom ? -ZQ_ENOMEM : 0;
    }
    zq_buf_reserve(out, 512 + req->headers.len + req->body_out.len);
    serialize_head(req, out, req->head ? (size_t)0 : req->body_out.len);
    if (!req->head && req->body_out.len > 0)
        zq_buf_append(out, req->body_out.data, req->body_out.len);
    return out->oom ? -ZQ_ENOMEM : 0;
}

int zq_resp_serialize(zq_req *req, zq_buf *out)
{
    const char *body;
    size_t len;
    int rc = zq_resp_serialize_parts(req, out, &body, &len);

    if (rc == 0 && len > 0 && zq_buf_append(out, body, len) < 0)
        rc = -ZQ_ENOMEM;
    return rc;
}

int zq_resp_stream_begin(zq_req *req, int status, const char *content_type)
{
    zq_buf head = {0};
    int rc = 0;

    req->status = status;
    req->responded = true;
    req->content_type = content_type;
    zq_buf_reset(&req->body_out);
    if (req->stream_fn == NULL)
        return 0; /* collected in body_out, sent by zq_resp_serialize */
    serialize_head(req, &head, SIZE_MAX);
    zq_buf_puts(&head, "\r\n");
    if (head.oom)
        rc = -ZQ_ENOMEM;
    else if (req->stream_fn(req->stream_ctx, head.data, head.len) < 0)
        rc = -ZQ_EIO;
    req->streaming = true; /* even on failure: nothing else may be sent */
    zq_buf_free(&head);
    return rc;
}

int zq_resp_stream_write(zq_req *req, const void *data, size_t len)
{
    if (len == 0 || req->head)
        return 0;
    if (!req->streaming) {
        if (zq_buf_append(&req->body_out, data, len) < 0)
            return -ZQ_ENOMEM;
        return 0;
    }
    if (req->stream_fn(req->stream_ctx, data, len) < 0)
        return -ZQ_EIO;
    req->stream_bytes += len;
    return 0;
}

bool zq_idem_key_valid_min(const char *k, size_t min)
{
    size_t n = k ? strnlen(k, 65) : 0;

    if (n < min || n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
              (k[i] >= '0' && k[i] <= '9') || k[i] == '-' || k[i] == '_'))
            return false;
    return true;
}

bool zq_idem_key_valid(const char *k)
{
    return zq_idem_key_valid_min(k, 8);
}

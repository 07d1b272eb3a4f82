/* The file store's S3-compatible backend (MinIO, Ceph RGW, Aliyun OSS,
 * Tencent COS...): see filestore_int.h. */
#include "filestore_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zhuqi/buf.h"

#define TIMEOUT_MS 60000L

int zq_s3_init(zq_s3 *s, const char *endpoint, const char *bucket, const char *region,
               const char *access_key, const char *secret, zq_err *err)
{
    const char *h;
    size_t n = strlen(endpoint);

    memset(s, 0, sizeof(*s));
    while (n > 0 && endpoint[n - 1] == '/')
        n--;
    if (strncmp(endpoint, "http://", 7) == 0)
        h = endpoint + 7;
    else if (strncmp(endpoint, "https://", 8) == 0)
        h = endpoint + 8;
    else
        return zq_err_set(err, ZQ_EINVAL, "files: s3_endpoint must start with http:// or https://");
    if ((size_t)(h - endpoint) >= n || strcspn(h, "/") < (size_t)(endpoint + n - h) ||
        bucket[0] == '\0' || access_key[0] == '\0' || secret[0] == '\0' ||
        strspn(bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(bucket))
        return zq_err_set(err, ZQ_EINVAL,
                          "files: s3 needs an endpoint without a path, a bucket (a-z 0-9 . -), "
                          "an access key and a secret");
    if (zq_fmt(s->endpoint, sizeof(s->endpoint), "%.*s", (int)n, endpoint) < 0 ||
        zq_fmt(s->host, sizeof(s->host), "%.*s", (int)(endpoint + n - h), h) < 0 ||
        zq_fmt(s->bucket, sizeof(s->bucket), "%s", bucket) < 0 ||
        zq_fmt(s->region, sizeof(s->region), "%s", region[0] ? region : "us-east-1") < 0 ||
        zq_fmt(s->access_key, sizeof(s->access_key), "%s", access_key) < 0 ||
        zq_fmt(s->secret, sizeof(s->secret), "%s", secret) < 0)
        return zq_err_set(err, ZQ_EINVAL, "files: an s3 setting is too long");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

/* Where a response body goes: a 2xx body to fd (-1: dropped); an error's
 * first bytes kept, for the S3 error <Code> in the log. */
typedef struct sink {
    CURL *c;
    int fd;
    char err[512];
    size_t errlen;
} sink;

static size_t to_sink(char *p, size_t size, size_t n, void *ctx)
{
    sink *k = ctx;
    int fd = k->fd;
    size_t len = size * n, off = 0, room;
    long status = 0;

    curl_easy_getinfo(k->c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        room = sizeof(k->err) - 1 - k->errlen;
        memcpy(k->err + k->errlen, p, len < room ? len : room);
        k->errlen += len < room ? len : room;
        k->err[k->errlen] = '\0';
        return len;
    }
    if (fd < 0)
        return len;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        off += (size_t)w;
    }
    return len;
}

/* The <Code> of an S3 error body (SignatureDoesNotMatch, AccessDenied,
 * NoSuchBucket...) into code (codesz bytes), "" when there is none. */
static void error_code(const char *body, char *code, size_t codesz)
{
    const char *a = strstr(body, "<Code>"), *b = a ? strstr(a, "</Code>") : NULL;
    size_t i, n;

    code[0] = '\0';
    if (a == NULL || b == NULL)
        return;
    a += 6;
    n = (size_t)(b - a);
    for (i = 0; i < n; i++)
        if (!((a[i] >= 'A' && a[i] <= 'Z') || (a[i] >= 'a' && a[i] <= 'z') ||
              (a[i] >= '0' && a[i] <= '9') || a[i] == '.' || a[i] == '_' || a[i] == '-'))
            return;
    zq_fmt(code, codesz, "%.*s", (int)n, a);
}

/* One signed request on object key. body: a file to PUT (NULL: none);
 * out_fd: where a GET's body goes (-1: dropped). Returns the HTTP status,
 * or -ZQ_EIO when there was no answer; code gets the S3 error code of an
 * answer that is not 2xx ("" none). */
static int request(const zq_s3 *s, const char *method, const char *key, FILE *body,
                   curl_off_t body_len, int out_fd, char code[64], zq_err *err)
{
    char url[512], sig[64];
    struct curl_slist *hdrs = NULL;
    CURL *c = curl_easy_init();
    sink k = {.c = c, .fd = out_fd};
    long status = 0;
    CURLcode cc;

    code[0] = '\0';
    if (c == NULL)
        return zq_err_set(err, ZQ_EIO, "files: curl_easy_init failed");
    if (zq_fmt(url, sizeof(url), "%s/%s/%s", s->endpoint, s->bucket, key) < 0 ||
        zq_fmt(sig, sizeof(sig), "aws:amz:%s:s3", s->region) < 0) {
        curl_easy_cleanup(c);
        return zq_err_set(err, ZQ_EIO, "files: s3 url too long");
    }
    /* The payload is not hashed into the signature: S3 takes
     * UNSIGNED-PAYLOAD over a header-signed request (the bytes were hashed
     * on upload and the hash is in the file's record). */
    hdrs = curl_slist_append(hdrs, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (body != NULL)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sig);
    curl_easy_setopt(c, CURLOPT_USERNAME, s->access_key);
    curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READDATA, body);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, body_len);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
    cc = curl_easy_perform(c);
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_OK && (status < 200 || status > 299))
        error_code(k.err, code, 64);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK)
        return zq_err_set(err, ZQ_EIO, "files: s3 %s %s: %s", method, key, curl_easy_strerror(cc));
    return (int)status;
}

/* What to check for an answer that says the credentials are wrong. */
static const char *hint(int status, const char *code)
{
    if (strcmp(code, "SignatureDoesNotMatch") == 0 || strcmp(code, "InvalidAccessKeyId") == 0 ||
        strcmp(code, "AuthorizationHeaderMalformed") == 0 || status == 403)
        return " (check [files] s3_access_key, s3_secret and s3_region)";
    return "";
}

int zq_s3_put(const zq_s3 *s, const char *path, const char *key, zq_err *err)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    char code[64];
    int st;

    if (f == NULL || fstat(fileno(f), &sb) < 0) {
        if (f != NULL)
            fclose(f);
        return zq_err_set(err, ZQ_EIO, "files: %s: %s", path, strerror(errno));
    }
    st = request(s, "PUT", key, f, (curl_off_t)sb.st_size, -1, code, err);
    fclose(f);
    if (st < 0)
        return st;
    if (st < 200 || st > 299)
        return zq_err_set(err, ZQ_EIO, "files: s3 PUT %s: HTTP %d %s%s", key, st, code,
                          hint(st, code));
    return 0;
}

int zq_s3_delete(const zq_s3 *s, const char *key, zq_err *err)
{
    char code[64];
    int st = request(s, "DELETE", key, NULL, 0, -1, code, err);

    if (st < 0)
        return st;
    if ((st < 200 || st > 299) && st != 404)
        return zq_err_set(err, ZQ_EIO, "files: s3 DELETE %s: HTTP %d %s%s", key, st, code,
                          hint(st, code));
    return 0;
}

int zq_s3_get_fd(const zq_s3 *s, const char *key, const char *tmpdir, zq_err *err)
{
    int fd = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600), st;
    char code[64];

    if (fd < 0)
        return zq_err_set(err, ZQ_EIO, "files: temp file in %s: %s", tmpdir, strerror(errno));
    st = request(s, "GET", key, NULL, 0, fd, code, err);
    if (st >= 200 && st <= 299 && lseek(fd, 0, SEEK_SET) == 0)
        return fd;
    close(fd);
    if (st == 404)
        return zq_err_set(err, ZQ_ENOTFOUND, "files: %s: no such object", key);
    return st < 0 ? st
                  : zq_err_set(err, ZQ_EIO, "files: s3 GET %s: HTTP %d %s%s", key, st, code,
                               hint(st, code));
}

/* Appends s percent-encoded (RFC 3986 unreserved kept), as SigV4 wants. */
static void enc(zq_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~')
            zq_buf_append(b, (const char *)&ch, 1);
        else
            zq_buf_printf(b, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
    }
}

static void hmac(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
    unsigned int n = 32;

    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out, &n);
}

int zq_s3_presign(const zq_s3 *s, const char *prefix, const char *key, int64_t now_s, int ttl_s,
                  char *out, size_t outsz)
{
    zq_buf q = {0}, creq = {0}, sts = {0}, cred = {0};
    unsigned char k1[32], k2[32], k3[32], k4[32], sig[32], h[32];
    char date[20], day[10], scope[96], secret[300], hexh[65], hexs[65];
    time_t t = (time_t)now_s;
    struct tm tm;
    int rc = -ZQ_ETOOBIG;

    gmtime_r(&t, &tm);
    if (strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm) == 0 ||
        strftime(day, sizeof(day), "%Y%m%d", &tm) == 0 ||
        zq_fmt(scope, sizeof(scope), "%s/%s/s3/aws4_request", day, s->region) < 0 ||
        zq_fmt(secret, sizeof(secret), "AWS4%s", s->secret) < 0)
        goto out;
    zq_buf_printf(&cred, "%s/%s", s->access_key, scope);
    /* The query in canonical (sorted) order. */
    zq_buf_printf(&q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
    enc(&q, cred.data ? cred.data : "");
    zq_buf_printf(&q, "&X-Amz-Date=%s&X-Amz-Expires=%d&X-Amz-SignedHeaders=host", date, ttl_s);
    /* Path-style; an empty bucket (a virtual-hosted endpoint) has none. */
    zq_buf_printf(&creq, "GET\n/%s%s%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", s->bucket,
                  s->bucket[0] ? "/" : "", key, q.data ? q.data : "", s->host);
    if (q.oom || creq.oom || cred.oom)
        goto out;
    EVP_Digest(creq.data, creq.len, h, NULL, EVP_sha256(), NULL);
    zq_hex(h, 32, hexh);
    zq_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", date, scope, hexh);
    if (sts.oom)
        goto out;
    hmac(secret, strlen(secret), day, k1);
    hmac(k1, 32, s->region, k2);
    hmac(k2, 32, "s3", k3);
    hmac(k3, 32, "aws4_request", k4);
    hmac(k4, 32, sts.data, sig);
    zq_hex(sig, 32, hexs);
    if (zq_fmt(out, outsz, "%s/%s%s%s?%s&X-Amz-Signature=%s", prefix, s->bucket,
               s->bucket[0] ? "/" : "", key, q.data, hexs) == 0)
        rc = 0;
out:
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(k1, sizeof(k1));
    OPENSSL_cleanse(k4, sizeof(k4));
    zq_buf_free(&q);
    zq_buf_free(&creq);
    zq_buf_free(&sts);
    zq_buf_free(&cred);
    return rc;
}

/* The SMS vendors' request signatures (specs/sms.md §1.3, §2.2, §2.3):
 * Tencent TC3-HMAC-SHA256, Alibaba RPC HMAC-SHA1 and ACS3-HMAC-SHA256,
 * with OpenSSL. Every input is bounded: what is signed is what goes on the
 * wire, so an over-long value is refused here rather than cut. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "zhuqi/buf.h"
#include "zhuqi/common.h"
#include "zhuqi/channel.h"
#include "zhuqi/sms.h"

#define MAX_PARAMS 64
#define MAX_NAME 128

static int hmac_md(const EVP_MD *md, const void *key, size_t keylen, const void *msg, size_t msglen,
                   unsigned char *out, unsigned int want)
{
    unsigned int outlen = 0;

    if (keylen > INT_MAX)
        return -ZQ_EINVAL;
    if (HMAC(md, keylen ? key : "", (int)keylen, msglen ? msg : (const void *)"", msglen, out,
             &outlen) == NULL ||
        outlen != want)
        return -ZQ_EINVAL;
    return 0;
}

/* Lowercase hex SHA-256 of data into hex (65 bytes). */
static int sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;

    if (EVP_Digest(len ? data : "", len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return -ZQ_EINVAL;
    zq_hex(md, 32, hex);
    return 0;
}

/* A value that may go into a header or a signed line: bounded, no line
 * break or other control character. */
static bool header_ok(const char *s)
{
    size_t n;

    if (s == NULL)
        return false;
    for (n = 0; s[n] != '\0'; n++)
        if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f || n >= ZQ_SMS_MAX_FIELD)
            return false;
    return true;
}

int zq_sms_phone_bare(const char *in, char out[12])
{
    const char *p = in;
    size_t i;

    out[0] = '\0';
    if (p == NULL)
        return -ZQ_EINVAL;
    if (strncmp(p, "+86", 3) == 0)
        p += 3;
    else if (strncmp(p, "0086", 4) == 0)
        p += 4;
    else if (strncmp(p, "86", 2) == 0 && strlen(p) == 13)
        p += 2;
    if (strlen(p) != 11 || p[0] != '1' || p[1] < '3' || p[1] > '9')
        return -ZQ_EINVAL;
    for (i = 0; i < 11; i++)
        if (p[i] < '0' || p[i] > '9')
            return -ZQ_EINVAL;
    memcpy(out, p, 11);
    out[11] = '\0';
    return 0;
}

int zq_sms_tc3_keys(const char *secret_key, const char *date, const char *service,
                    unsigned char k_date[32], unsigned char k_service[32],
                    unsigned char k_signing[32])
{
    zq_buf key = {0};
    int rc;

    if (secret_key == NULL || date == NULL || service == NULL)
        return -ZQ_EINVAL;
    if (zq_buf_puts(&key, "TC3") < 0 || zq_buf_puts(&key, secret_key) < 0) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    rc = hmac_md(EVP_sha256(), key.data, key.len, date, strlen(date), k_date, 32);
    if (rc == 0)
        rc = hmac_md(EVP_sha256(), k_date, 32, service, strlen(service), k_service, 32);
    if (rc == 0)
        rc = hmac_md(EVP_sha256(), k_service, 32, "tc3_request", 11, k_signing, 32);
out:
    if (key.data != NULL)
        OPENSSL_cleanse(key.data, key.len);
    zq_buf_free(&key);
    return rc;
}

int zq_sms_tc3_sign(const zq_sms_tc3_in *in, zq_sms_tc3_sig *out)
{
    unsigned char kd[32], ks[32], kk[32], sig[32];
    zq_buf cr = {0}, sts = {0};
    time_t t;
    struct tm tm;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!header_ok(in->secret_id) || in->secret_key == NULL || !header_ok(in->service) ||
        !header_ok(in->host) || !header_ok(in->content_type) || in->timestamp < 0 ||
        in->timestamp > 253402300799LL || (in->body == NULL && in->len > 0) ||
        in->len > ZQ_SMS_MAX_BODY)
        return -ZQ_EINVAL;
    t = (time_t)in->timestamp;
    if (gmtime_r(&t, &tm) == NULL || strftime(out->date, sizeof(out->date), "%Y-%m-%d", &tm) != 10)
        return -ZQ_EINVAL;
    rc = sha256_hex(in->body, in->len, out->payload_sha256);
    if (rc < 0)
        goto out;
    /* The Host and Content-Type values are signed as sent: callers pass
     * them trimmed, and header_ok refused line breaks. */
    if (zq_buf_printf(&cr, "POST\n/\n\ncontent-type:%s\nhost:%s\n\ncontent-type;host\n%s",
                      in->content_type, in->host, out->payload_sha256) < 0) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    rc = sha256_hex(cr.data, cr.len, out->canonical_sha256);
    if (rc < 0)
        goto out;
    if (zq_buf_printf(&sts, "TC3-HMAC-SHA256\n%lld\n%s/%s/tc3_request\n%s",
                      (long long)in->timestamp, out->date, in->service,
                      out->canonical_sha256) < 0) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    rc = zq_sms_tc3_keys(in->secret_key, out->date, in->service, kd, ks, kk);
    if (rc == 0)
        rc = hmac_md(EVP_sha256(), kk, 32, sts.data, sts.len, sig, 32);
    if (rc < 0)
        goto out;
    zq_hex(sig, 32, out->signature);
    rc = zq_fmt(out->authorization, sizeof(out->authorization),
                "TC3-HMAC-SHA256 Credential=%s/%s/%s/tc3_request, SignedHeaders=content-type;host, "
                "Signature=%s",
                in->secret_id, out->date, in->service, out->signature);
out:
    OPENSSL_cleanse(kd, sizeof(kd));
    OPENSSL_cleanse(ks, sizeof(ks));
    OPENSSL_cleanse(kk, sizeof(kk));
    zq_buf_free(&cr);
    zq_buf_free(&sts);
    return rc;
}

int zq_sms_acs_encode(zq_buf *b, const char *s, size_t len)
{
    /* Alibaba's rule (sms.md §2.2) is RFC 3986's unreserved set with
     * upper-case hex: the same as the chat platforms' encoder. */
    return zq_url_encode_n(b, s, len);
}

static int kv_cmp(const void *a, const void *b)
{
    const zq_sms_kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : strcmp(x->value, y->value);
}

int zq_sms_acs_query(zq_buf *b, const zq_sms_kv *params, size_t n, bool bare_empty)
{
    zq_sms_kv sorted[MAX_PARAMS];
    size_t i;

    if (n > MAX_PARAMS || (n > 0 && params == NULL))
        return -ZQ_EINVAL;
    for (i = 0; i < n; i++) {
        if (params[i].name == NULL || params[i].value == NULL ||
            strlen(params[i].name) > MAX_NAME || strlen(params[i].value) > ZQ_SMS_MAX_BODY)
            return -ZQ_EINVAL;
        sorted[i] = params[i];
    }
    if (n > 1)
        qsort(sorted, n, sizeof(sorted[0]), kv_cmp);
    for (i = 0; i < n; i++) {
        if ((i > 0 && zq_buf_append(b, "&", 1) < 0) ||
            zq_sms_acs_encode(b, sorted[i].name, strlen(sorted[i].name)) < 0)
            return -ZQ_ENOMEM;
        if (bare_empty && sorted[i].value[0] == '\0')
            continue;
        if (zq_buf_append(b, "=", 1) < 0 ||
            zq_sms_acs_encode(b, sorted[i].value, strlen(sorted[i].value)) < 0)
            return -ZQ_ENOMEM;
    }
    return 0;
}

int zq_sms_acs_v1_sign(const char *secret, const char *method, const zq_sms_kv *params, size_t n,
                       char *out, size_t outsz, zq_buf *string_to_sign)
{
    unsigned char md[20];
    zq_buf q = {0}, sts = {0}, key = {0};
    int rc;

    if (outsz > 0)
        out[0] = '\0';
    if (secret == NULL || method == NULL || strlen(method) > 16)
        return -ZQ_EINVAL;
    /* 4 * ceil(20 / 3) = 28 characters plus the NUL. */
    if (outsz < 29)
        return -ZQ_ETOOBIG;
    rc = zq_sms_acs_query(&q, params, n, false);
    if (rc < 0)
        goto out;
    if (zq_buf_puts(&sts, method) < 0 || zq_buf_puts(&sts, "&%2F&") < 0 ||
        zq_sms_acs_encode(&sts, q.data != NULL ? q.data : "", q.len) < 0 ||
        zq_buf_puts(&key, secret) < 0 || zq_buf_append(&key, "&", 1) < 0) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    rc = hmac_md(EVP_sha1(), key.data, key.len, sts.data, sts.len, md, 20);
    if (rc < 0)
        goto out;
    if (EVP_EncodeBlock((unsigned char *)out, md, 20) != 28) {
        rc = -ZQ_EINVAL;
        goto out;
    }
    if (string_to_sign != NULL) {
        zq_buf_reset(string_to_sign);
        if (zq_buf_append(string_to_sign, sts.data, sts.len) < 0)
            rc = -ZQ_ENOMEM;
    }
out:
    if (key.data != NULL)
        OPENSSL_cleanse(key.data, key.len);
    zq_buf_free(&key);
    zq_buf_free(&q);
    zq_buf_free(&sts);
    return rc;
}

/* A header to sign: name lowercased, value trimmed of spaces and tabs. */
typedef struct acs_hdr {
    char name[MAX_NAME + 1];
    char value[ZQ_SMS_MAX_FIELD + 1];
} acs_hdr;

static int hdr_cmp(const void *a, const void *b)
{
    const acs_hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : strcmp(x->value, y->value);
}

static int acs_hdr_set(acs_hdr *h, const zq_sms_kv *kv)
{
    const char *v;
    size_t i, len;

    if (!header_ok(kv->name) || !header_ok(kv->value) || strlen(kv->name) > MAX_NAME ||
        kv->name[0] == '\0')
        return -ZQ_EINVAL;
    for (i = 0; kv->name[i] != '\0'; i++) {
        char c = kv->name[i];

        h->name[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    h->name[i] = '\0';
    v = kv->value;
    while (*v == ' ' || *v == '\t')
        v++;
    len = strlen(v);
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    memcpy(h->value, v, len);
    h->value[len] = '\0';
    return 0;
}

int zq_sms_acs3_sign(const zq_sms_acs3_in *in, zq_sms_acs3_sig *out)
{
    acs_hdr *h = NULL;
    zq_buf cr = {0}, names = {0}, sts = {0};
    unsigned char sig[32];
    size_t i;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!header_ok(in->key_id) || in->secret == NULL || !header_ok(in->method) ||
        !header_ok(in->payload_sha256) || (in->uri != NULL && !header_ok(in->uri)) ||
        in->nheaders > ZQ_SMS_MAX_HEADERS || (in->nheaders > 0 && in->headers == NULL))
        return -ZQ_EINVAL;
    h = calloc(in->nheaders + 1, sizeof(*h));
    if (h == NULL)
        return -ZQ_ENOMEM;
    for (i = 0; i < in->nheaders; i++) {
        rc = acs_hdr_set(&h[i], &in->headers[i]);
        if (rc < 0)
            goto out;
    }
    if (in->nheaders > 1)
        qsort(h, in->nheaders, sizeof(*h), hdr_cmp);
    if (zq_buf_printf(&cr, "%s\n%s\n", in->method, in->uri != NULL ? in->uri : "/") < 0) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    rc = zq_sms_acs_query(&cr, in->query, in->nquery, true);
    if (rc < 0)
        goto out;
    if (zq_buf_append(&cr, "\n", 1) < 0) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    /* One line per name; the values of a repeated name, sorted, joined
     * by ",". */
    for (i = 0; i < in->nheaders; i++) {
        bool first = i == 0 || strcmp(h[i].name, h[i - 1].name) != 0;
        bool last = i + 1 == in->nheaders || strcmp(h[i].name, h[i + 1].name) != 0;

        if (first && (zq_buf_printf(&cr, "%s:", h[i].name) < 0 ||
                      zq_buf_printf(&names, "%s%s", names.len ? ";" : "", h[i].name) < 0)) {
            rc = -ZQ_ENOMEM;
            goto out;
        }
        if (zq_buf_printf(&cr, "%s%s%s", first ? "" : ",", h[i].value, last ? "\n" : "") < 0) {
            rc = -ZQ_ENOMEM;
            goto out;
        }
    }
    if (zq_buf_printf(&cr, "\n%s\n%s", names.data != NULL ? names.data : "", in->payload_sha256) <
        0) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    rc = sha256_hex(cr.data, cr.len, out->canonical_sha256);
    if (rc < 0)
        goto out;
    if (zq_buf_printf(&sts, "ACS3-HMAC-SHA256\n%s", out->canonical_sha256) < 0) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    rc = hmac_md(EVP_sha256(), in->secret, strlen(in->secret), sts.data, sts.len, sig, 32);
    if (rc < 0)
        goto out;
    zq_hex(sig, 32, out->signature);
    rc = zq_fmt(out->authorization, sizeof(out->authorization),
                "ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s", in->key_id,
                names.data != NULL ? names.data : "", out->signature);
out:
    free(h);
    zq_buf_free(&cr);
    zq_buf_free(&names);
    zq_buf_free(&sts);
    return rc;
}

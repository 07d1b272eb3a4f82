/* Signatures of the messaging platforms (HMAC-SHA256 with OpenSSL) and
 * the percent-encoding their URLs need. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"

/* HMAC-SHA256 of msg under key into md (32 bytes). Returns 0 or
 * -ZQ_EINVAL (lengths beyond what OpenSSL takes, or OpenSSL failed). */
static int hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                       unsigned char md[32])
{
    unsigned int mdlen = 0;

    if (keylen > INT_MAX)
        return -ZQ_EINVAL;
    /* OpenSSL wants a non-NULL key even when it is empty. */
    if (HMAC(EVP_sha256(), keylen ? key : "", (int)keylen, msglen ? msg : (const void *)"", msglen,
             md, &mdlen) == NULL ||
        mdlen != 32)
        return -ZQ_EINVAL;
    return 0;
}

/* Base64 (standard alphabet, padded, one line) of a 32-byte digest. */
static int b64_digest(const unsigned char md[32], char *out, size_t outsz)
{
    /* 4 * ceil(32 / 3) = 44 characters plus the NUL. */
    if (outsz < 45)
        return -ZQ_ETOOBIG;
    if (EVP_EncodeBlock((unsigned char *)out, md, 32) != 44)
        return -ZQ_EINVAL;
    return 0;
}

int zq_sign_dingtalk(const char *secret, int64_t timestamp_ms, char *out, size_t outsz)
{
    unsigned char md[32];
    zq_buf msg = {0};
    int rc;

    if (outsz > 0)
        out[0] = '\0';
    if (zq_buf_printf(&msg, "%lld\n", (long long)timestamp_ms) < 0 ||
        zq_buf_puts(&msg, secret) < 0) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    rc = hmac_sha256(secret, strlen(secret), msg.data, msg.len, md);
    if (rc == 0)
        rc = b64_digest(md, out, outsz);
out:
    zq_buf_free(&msg);
    return rc;
}

int zq_sign_feishu(const char *secret, int64_t timestamp_s, char *out, size_t outsz)
{
    unsigned char md[32];
    zq_buf key = {0};
    int rc;

    if (outsz > 0)
        out[0] = '\0';
    if (zq_buf_printf(&key, "%lld\n", (long long)timestamp_s) < 0 ||
        zq_buf_puts(&key, secret) < 0) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    rc = hmac_sha256(key.data, key.len, "", 0, md);
    if (rc == 0)
        rc = b64_digest(md, out, outsz);
out:
    zq_buf_free(&key);
    return rc;
}

int zq_sign_generic(const char *secret, const char *timestamp, const char *body, size_t len,
                    char *out, size_t outsz)
{
    unsigned char md[32];
    zq_buf msg = {0};
    int rc;

    if (outsz > 0)
        out[0] = '\0';
    /* "sha256=" + 64 hex digits + NUL */
    if (outsz < 7 + 64 + 1)
        return -ZQ_ETOOBIG;
    if (zq_buf_puts(&msg, timestamp) < 0 || zq_buf_append(&msg, ".", 1) < 0 ||
        zq_buf_append(&msg, body, len) < 0) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    rc = hmac_sha256(secret, strlen(secret), msg.data, msg.len, md);
    if (rc == 0) {
        memcpy(out, "sha256=", 7);
        zq_hex(md, sizeof(md), out + 7);
    }
out:
    zq_buf_free(&msg);
    return rc;
}

int zq_url_encode_n(zq_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    char esc[3];

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            if (zq_buf_append(b, &s[i], 1) < 0)
                return -ZQ_ENOMEM;
            continue;
        }
        esc[0] = '%';
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 15];
        if (zq_buf_append(b, esc, 3) < 0)
            return -ZQ_ENOMEM;
    }
    return 0;
}

int zq_url_encode(zq_buf *b, const char *s)
{
    return zq_url_encode_n(b, s, strlen(s));
}

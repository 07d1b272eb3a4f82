/* Signatures of the messaging platforms (HMAC-SHA256 with OpenSSL) and
 * the percent-encoding their URLs need. */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"

/* HMAC() (EVP_Q_mac) fetches the MAC and the digest by name and hashes
 * the key's pads on every call, which cost more than the hash of a chat
 * message itself. So the MAC is fetched once, and each thread keeps a
 * context keyed with the last key it used (in practice [generic] secret
 * or one target's secret): re-initialising it with a NULL key reuses the
 * key's inner and outer pads. Keys longer than KEY_CACHE_MAX are keyed on
 * every call (still without a fetch). */
#define KEY_CACHE_MAX 256

typedef struct mac_cache {
    EVP_MAC_CTX *ctx;
    size_t keylen;
    bool keyed;
    unsigned char key[KEY_CACHE_MAX];
} mac_cache;

static pthread_once_t mac_once = PTHREAD_ONCE_INIT;
static pthread_key_t mac_tls;
static bool mac_tls_ok;
/* Fetched once and never changed: EVP_MAC is safe to share between
 * threads (each thread has its own EVP_MAC_CTX). */
static EVP_MAC *mac_hmac;

static void mac_cache_free(void *p)
{
    mac_cache *c = p;

    if (c == NULL)
        return;
    EVP_MAC_CTX_free(c->ctx);
    OPENSSL_cleanse(c->key, sizeof(c->key));
    free(c);
}

static void mac_init_once(void)
{
    mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    mac_tls_ok = pthread_key_create(&mac_tls, mac_cache_free) == 0;
}

/* This thread's context with SHA-256 set, or NULL (out of memory,
 * OpenSSL failed). */
static mac_cache *mac_cache_get(void)
{
    mac_cache *c;
    OSSL_PARAM params[2];

    if (pthread_once(&mac_once, mac_init_once) != 0 || mac_hmac == NULL || !mac_tls_ok)
        return NULL;
    c = pthread_getspecific(mac_tls);
    if (c != NULL)
        return c;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    c->ctx = EVP_MAC_CTX_new(mac_hmac);
    if (c->ctx == NULL || EVP_MAC_CTX_set_params(c->ctx, params) != 1 ||
        pthread_setspecific(mac_tls, c) != 0) {
        mac_cache_free(c);
        return NULL;
    }
    return c;
}

/* HMAC-SHA256 of the n pieces msg[i] (len[i] bytes each) one after the
 * other, under key, into md (32 bytes). Returns 0 or -ZQ_EINVAL (lengths
 * beyond what OpenSSL takes, or OpenSSL failed). */
static int hmac_sha256v(const void *key, size_t keylen, const void *const *msg, const size_t *len,
                        size_t n, unsigned char md[32])
{
    mac_cache *c = mac_cache_get();
    size_t mdlen = 0, i;
    int ok;

    if (keylen > INT_MAX || c == NULL)
        return -ZQ_EINVAL;
    if (c->keyed && c->keylen == keylen && (keylen == 0 || memcmp(c->key, key, keylen) == 0)) {
        ok = EVP_MAC_init(c->ctx, NULL, 0, NULL);
    } else {
        /* OpenSSL wants a non-NULL key even when it is empty. */
        c->keyed = false;
        ok = EVP_MAC_init(c->ctx, keylen ? key : (const void *)"", keylen, NULL);
        if (ok == 1 && keylen <= sizeof(c->key)) {
            if (keylen > 0)
                memcpy(c->key, key, keylen);
            c->keylen = keylen;
            c->keyed = true;
        }
    }
    for (i = 0; ok == 1 && i < n; i++)
        if (len[i] > 0)
            ok = EVP_MAC_update(c->ctx, msg[i], len[i]);
    if (ok != 1 || EVP_MAC_final(c->ctx, md, &mdlen, 32) != 1 || mdlen != 32) {
        /* A context left half-way is keyed again next time. */
        c->keyed = false;
        return -ZQ_EINVAL;
    }
    return 0;
}

/* HMAC-SHA256 of msg under key into md (32 bytes), as hmac_sha256v. */
static int hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                       unsigned char md[32])
{
    return hmac_sha256v(key, keylen, &msg, &msglen, 1, md);
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
    const void *parts[3] = {timestamp, ".", body};
    size_t lens[3] = {strlen(timestamp), 1, len};
    int rc;

    if (outsz > 0)
        out[0] = '\0';
    /* "sha256=" + 64 hex digits + NUL */
    if (outsz < 7 + 64 + 1)
        return -ZQ_ETOOBIG;
    /* Hashed piece by piece: no copy of the body to sign it. */
    rc = hmac_sha256v(secret, strlen(secret), parts, lens, 3, md);
    if (rc == 0) {
        memcpy(out, "sha256=", 7);
        zq_hex(md, sizeof(md), out + 7);
    }
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

/* Signatures of the messaging platforms (HMAC-SHA256 with OpenSSL) and
 * the percent-encoding their URLs need. */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* HMAC is computed here from SHA-256's own functions, which OpenSSL 3
 * marks deprecated (they stay in the 3.x API): the EVP_MAC route costs
 * two context duplications (an allocation each) and the provider's
 * dispatch per message, a third of a chat message's signature on top of
 * the hashing itself. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"

/* HMAC() (EVP_Q_mac) fetches the MAC and the digest by name and hashes
 * the key's pads on every call, which cost more than the hash of a chat
 * message itself. So each thread keeps the inner and outer pads of the
 * last key it used (in practice [generic] secret or one target's secret)
 * hashed, RFC 2104's HMAC with SHA-256, and a message costs only its own
 * blocks and the outer one. Keys longer than KEY_CACHE_MAX have their
 * pads hashed on every call. */
#define KEY_CACHE_MAX 256
#define SHA256_BLOCK 64

typedef struct mac_pads {
    SHA256_CTX inner, outer; /* the key's ipad and opad blocks hashed */
} mac_pads;

typedef struct mac_cache {
    mac_pads pads;
    size_t keylen;
    bool keyed;
    unsigned char key[KEY_CACHE_MAX];
} mac_cache;

static pthread_once_t mac_once = PTHREAD_ONCE_INIT;
static pthread_key_t mac_tls;
static bool mac_tls_ok;

static void mac_cache_free(void *p)
{
    mac_cache *c = p;

    if (c == NULL)
        return;
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

static void mac_init_once(void)
{
    mac_tls_ok = pthread_key_create(&mac_tls, mac_cache_free) == 0;
}

/* This thread's cache, or NULL (out of memory). */
static mac_cache *mac_cache_get(void)
{
    mac_cache *c;

    if (pthread_once(&mac_once, mac_init_once) != 0 || !mac_tls_ok)
        return NULL;
    c = pthread_getspecific(mac_tls);
    if (c != NULL)
        return c;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    if (pthread_setspecific(mac_tls, c) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

/* Hashes key's inner and outer pads into p: the key itself padded with
 * zeros to a block, or its SHA-256 when longer than a block. Returns 0 or
 * -ZQ_EINVAL (OpenSSL failed). */
static int mac_pads_of(mac_pads *p, const unsigned char *key, size_t keylen)
{
    unsigned char k0[SHA256_BLOCK], ipad[SHA256_BLOCK], opad[SHA256_BLOCK];
    size_t i;
    int ok = 1;

    memset(k0, 0, sizeof(k0));
    if (keylen > SHA256_BLOCK)
        ok = SHA256(key, keylen, k0) != NULL;
    else if (keylen > 0)
        memcpy(k0, key, keylen);
    for (i = 0; i < SHA256_BLOCK; i++) {
        ipad[i] = (unsigned char)(k0[i] ^ 0x36);
        opad[i] = (unsigned char)(k0[i] ^ 0x5c);
    }
    ok = ok && SHA256_Init(&p->inner) == 1 && SHA256_Update(&p->inner, ipad, sizeof(ipad)) == 1 &&
         SHA256_Init(&p->outer) == 1 && SHA256_Update(&p->outer, opad, sizeof(opad)) == 1;
    OPENSSL_cleanse(k0, sizeof(k0));
    OPENSSL_cleanse(ipad, sizeof(ipad));
    OPENSSL_cleanse(opad, sizeof(opad));
    return ok ? 0 : -ZQ_EINVAL;
}

/* HMAC-SHA256 of the n pieces msg[i] (len[i] bytes each) one after the
 * other, under key, into md (32 bytes). Returns 0 or -ZQ_EINVAL (lengths
 * beyond what OpenSSL takes, or OpenSSL failed). */
static int hmac_sha256v(const void *key, size_t keylen, const void *const *msg, const size_t *len,
                        size_t n, unsigned char md[32])
{
    mac_cache *c = mac_cache_get();
    mac_pads own;
    const mac_pads *p = &own;
    SHA256_CTX ctx;
    unsigned char in[32];
    size_t i;
    int ok;

    if (keylen > INT_MAX || c == NULL)
        return -ZQ_EINVAL;
    if (c->keyed && c->keylen == keylen && (keylen == 0 || memcmp(c->key, key, keylen) == 0)) {
        p = &c->pads;
    } else if (keylen <= sizeof(c->key)) {
        c->keyed = false;
        if (mac_pads_of(&c->pads, key, keylen) < 0)
            return -ZQ_EINVAL;
        if (keylen > 0)
            memcpy(c->key, key, keylen);
        c->keylen = keylen;
        c->keyed = true;
        p = &c->pads;
    } else if (mac_pads_of(&own, key, keylen) < 0) {
        OPENSSL_cleanse(&own, sizeof(own));
        return -ZQ_EINVAL;
    }
    ctx = p->inner;
    ok = 1;
    for (i = 0; ok == 1 && i < n; i++)
        if (len[i] > 0)
            ok = SHA256_Update(&ctx, msg[i], len[i]);
    ok = ok == 1 && SHA256_Final(in, &ctx) == 1;
    if (ok) {
        ctx = p->outer;
        ok = SHA256_Update(&ctx, in, sizeof(in)) == 1 && SHA256_Final(md, &ctx) == 1;
    }
    OPENSSL_cleanse(&ctx, sizeof(ctx));
    OPENSSL_cleanse(in, sizeof(in));
    if (p == &own)
        OPENSSL_cleanse(&own, sizeof(own));
    return ok ? 0 : -ZQ_EINVAL;
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

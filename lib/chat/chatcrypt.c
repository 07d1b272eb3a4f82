/* Signatures and envelopes of the inbound chat platforms, over OpenSSL's
 * EVP interface. Padding is always checked and stripped here with the
 * library's padding off: WeCom pads to 32-byte blocks, which EVP does
 * not know, and one strict implementation is easier to trust than two. */
#include "zhuqi/chatcrypt.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int zq_chatcrypt_b64_encode(zq_buf *out, const void *in, size_t n)
{
    const unsigned char *p = in;
    size_t i;

    if (zq_buf_reserve(out, (n + 2) / 3 * 4) < 0)
        return -ZQ_ENOMEM;
    for (i = 0; i + 2 < n; i += 3) {
        char q[4] = {B64[p[i] >> 2], B64[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
                     B64[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)], B64[p[i + 2] & 63]};
        zq_buf_append(out, q, 4);
    }
    if (n - i == 1) {
        char q[4] = {B64[p[i] >> 2], B64[(p[i] & 3) << 4], '=', '='};
        zq_buf_append(out, q, 4);
    } else if (n - i == 2) {
        char q[4] = {B64[p[i] >> 2], B64[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
                     B64[(p[i + 1] & 15) << 2], '='};
        zq_buf_append(out, q, 4);
    }
    return out->oom ? -ZQ_ENOMEM : 0;
}

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int zq_chatcrypt_b64_decode(zq_buf *out, const char *in, size_t n)
{
    uint32_t acc = 0;
    size_t i, pad = 0, data;
    int bits = 0;

    while (pad < 2 && n > pad && in[n - 1 - pad] == '=')
        pad++;
    data = n - pad;
    if (pad > 0 && n % 4 != 0)
        return -ZQ_EINVAL;
    if (data % 4 == 1)
        return -ZQ_EINVAL;
    if (zq_buf_reserve(out, data / 4 * 3 + 3) < 0)
        return -ZQ_ENOMEM;
    for (i = 0; i < data; i++) {
        int v = b64_val(in[i]);

        if (v < 0)
            return -ZQ_EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->data[out->len++] = (char)((acc >> bits) & 0xFF);
        }
    }
    out->data[out->len] = '\0';
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A digest of several strings in a row (EVP, so nothing deprecated). */
static void digest(const EVP_MD *md, const char *const *parts, const size_t *lens, size_t n,
                   unsigned char *out)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int olen = 0;
    size_t i;
    int ok = c != NULL && EVP_DigestInit_ex(c, md, NULL) == 1;

    for (i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(c, parts[i], lens[i]) == 1;
    if (!ok || EVP_DigestFinal_ex(c, out, &olen) != 1)
        memset(out, 0, (size_t)EVP_MD_get_size(md)); /* never matches a real one */
    EVP_MD_CTX_free(c);
}

int zq_chatcrypt_wecom_signature(const char *token, const char *timestamp, const char *nonce,
                                 const char *encrypted, char out[41])
{
    const char *parts[4] = {token, timestamp, nonce, encrypted};
    unsigned char md[20];
    size_t lens[4], i;

    qsort(parts, 4, sizeof(parts[0]), cmp_str);
    for (i = 0; i < 4; i++)
        lens[i] = strlen(parts[i]);
    digest(EVP_sha1(), parts, lens, 4, md);
    zq_hex(md, sizeof(md), out);
    return 0;
}

/* AES-256-CBC over whole blocks, no padding. Returns 0 or -ZQ_EINVAL. */
static int aes_cbc(bool enc, const unsigned char key[32], const unsigned char iv[16],
                   const unsigned char *in, size_t n, unsigned char *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0, ok;

    if (ctx == NULL)
        return -ZQ_ENOMEM;
    ok = n % 16 == 0 && n <= INT32_MAX &&
         EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, iv, enc ? 1 : 0) == 1 &&
         EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
         EVP_CipherUpdate(ctx, out, &l1, in, (int)n) == 1 &&
         EVP_CipherFinal_ex(ctx, out + l1, &l2) == 1 && (size_t)l1 + (size_t)l2 == n;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -ZQ_EINVAL;
}

/* Strips PKCS#7 padding for blocks of bs bytes; returns the new length
 * or -1 when the padding is wrong. */
static long unpad(const unsigned char *p, size_t n, size_t bs)
{
    size_t k, i;

    if (n == 0)
        return -1;
    k = p[n - 1];
    if (k < 1 || k > bs || k > n)
        return -1;
    for (i = n - k; i < n; i++)
        if (p[i] != k)
            return -1;
    return (long)(n - k);
}

static int wecom_key(const char *aes_key43, unsigned char key[32])
{
    zq_buf b = {0};
    char tmp[45];
    int rc = -ZQ_EINVAL;

    if (aes_key43 == NULL || strlen(aes_key43) != 43)
        return -ZQ_EINVAL;
    memcpy(tmp, aes_key43, 43);
    tmp[43] = '=';
    tmp[44] = '\0';
    if (zq_chatcrypt_b64_decode(&b, tmp, 44) == 0 && b.len == 32) {
        memcpy(key, b.data, 32);
        rc = 0;
    }
    zq_buf_free(&b);
    return rc;
}

int zq_chatcrypt_wecom_decrypt(const char *aes_key43, const char *b64, size_t b64len,
                               const char *receiveid, zq_buf *out, zq_err *err)
{
    unsigned char key[32], *plain = NULL;
    zq_buf raw = {0};
    long n;
    uint32_t mlen;
    size_t rlen;
    int rc;

    if (wecom_key(aes_key43, key) < 0)
        return zq_err_set(err, ZQ_EINVAL, "wecom: bad EncodingAESKey");
    if (zq_chatcrypt_b64_decode(&raw, b64, b64len) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "wecom: ciphertext is not Base64");
        goto out;
    }
    if (raw.len < 32 || raw.len % 32 != 0) {
        rc =
            zq_err_set(err, ZQ_EINVAL, "wecom: ciphertext length %zu is not whole blocks", raw.len);
        goto out;
    }
    plain = malloc(raw.len);
    if (plain == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "wecom: out of memory");
        goto out;
    }
    if (aes_cbc(false, key, key, (const unsigned char *)raw.data, raw.len, plain) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "wecom: decryption failed");
        goto out;
    }
    n = unpad(plain, raw.len, 32);
    if (n < 20) {
        rc = zq_err_set(err, ZQ_EINVAL, "wecom: bad padding");
        goto out;
    }
    mlen = (uint32_t)plain[16] << 24 | (uint32_t)plain[17] << 16 | (uint32_t)plain[18] << 8 |
           (uint32_t)plain[19];
    if ((size_t)mlen > (size_t)n - 20) {
        rc = zq_err_set(err, ZQ_EINVAL, "wecom: message length %u out of range", mlen);
        goto out;
    }
    rlen = (size_t)n - 20 - mlen;
    if (receiveid == NULL || strlen(receiveid) != rlen ||
        memcmp(plain + 20 + mlen, receiveid, rlen) != 0) {
        rc = zq_err_set(err, ZQ_EAUTH, "wecom: receiver id does not match corp_id");
        goto out;
    }
    rc = zq_buf_append(out, plain + 20, mlen);
out:
    if (plain != NULL) {
        memset(plain, 0, raw.len);
        free(plain);
    }
    zq_buf_free(&raw);
    memset(key, 0, sizeof(key));
    return rc;
}

int zq_chatcrypt_wecom_encrypt(const char *aes_key43, const char *msg, size_t len,
                               const char *receiveid, const unsigned char *random16, zq_buf *out,
                               zq_err *err)
{
    unsigned char key[32], *buf = NULL, *enc = NULL;
    size_t rlen = receiveid ? strlen(receiveid) : 0, n, total, k, i;
    int rc;

    if (wecom_key(aes_key43, key) < 0)
        return zq_err_set(err, ZQ_EINVAL, "wecom: bad EncodingAESKey");
    if (len > UINT32_MAX / 2)
        return zq_err_set(err, ZQ_ETOOBIG, "wecom: message too long");
    n = 20 + len + rlen;
    k = 32 - n % 32; /* 1..32: a whole block of padding when n is aligned */
    total = n + k;
    buf = malloc(total);
    enc = malloc(total);
    if (buf == NULL || enc == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "wecom: out of memory");
        goto out;
    }
    if (random16 != NULL) {
        memcpy(buf, random16, 16);
    } else if (zq_random_bytes(buf, 16) < 0) {
        rc = zq_err_set(err, ZQ_EIO, "wecom: no random bytes");
        goto out;
    }
    buf[16] = (unsigned char)(len >> 24);
    buf[17] = (unsigned char)(len >> 16);
    buf[18] = (unsigned char)(len >> 8);
    buf[19] = (unsigned char)len;
    memcpy(buf + 20, msg, len);
    if (rlen > 0)
        memcpy(buf + 20 + len, receiveid, rlen);
    for (i = n; i < total; i++)
        buf[i] = (unsigned char)k;
    if (aes_cbc(true, key, key, buf, total, enc) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "wecom: encryption failed");
        goto out;
    }
    rc = zq_chatcrypt_b64_encode(out, enc, total);
out:
    free(buf);
    free(enc);
    memset(key, 0, sizeof(key));
    return rc;
}

int zq_chatcrypt_feishu_decrypt(const char *encrypt_key, const char *b64, size_t b64len,
                                zq_buf *out, zq_err *err)
{
    unsigned char key[32], *plain = NULL;
    zq_buf raw = {0};
    size_t clen;
    long n;
    int rc;

    {
        const char *parts[1] = {encrypt_key};
        size_t lens[1] = {strlen(encrypt_key)};

        digest(EVP_sha256(), parts, lens, 1, key);
    }
    if (zq_chatcrypt_b64_decode(&raw, b64, b64len) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "feishu: encrypt is not Base64");
        goto out;
    }
    if (raw.len < 32 || raw.len % 16 != 0) {
        rc =
            zq_err_set(err, ZQ_EINVAL, "feishu: ciphertext length %zu is not IV + blocks", raw.len);
        goto out;
    }
    clen = raw.len - 16;
    plain = malloc(clen);
    if (plain == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "feishu: out of memory");
        goto out;
    }
    if (aes_cbc(false, key, (const unsigned char *)raw.data, (const unsigned char *)raw.data + 16,
                clen, plain) < 0 ||
        (n = unpad(plain, clen, 16)) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "feishu: decryption failed (wrong encrypt_key?)");
        goto out;
    }
    rc = zq_buf_append(out, plain, (size_t)n);
out:
    if (plain != NULL) {
        memset(plain, 0, clen);
        free(plain);
    }
    zq_buf_free(&raw);
    memset(key, 0, sizeof(key));
    return rc;
}

void zq_chatcrypt_feishu_signature(const char *timestamp, const char *nonce,
                                   const char *encrypt_key, const char *body, size_t len,
                                   char out[65])
{
    const char *parts[4] = {timestamp, nonce, encrypt_key, body};
    size_t lens[4] = {strlen(timestamp), strlen(nonce), strlen(encrypt_key), len};
    unsigned char md[32];

    digest(EVP_sha256(), parts, lens, 4, md);
    zq_hex(md, sizeof(md), out);
}

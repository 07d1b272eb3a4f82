/* Fuzzes the inbound cryptography (lib/chatcrypt.c): strict Base64, the
 * WeCom envelope and the Feishu envelope. Random ciphertext almost never
 * decrypts to well-formed padding, so besides decrypting the input as
 * Base64 the target also encrypts the input itself with the right key
 * (here, with OpenSSL directly) so that the padding and framing checks see
 * every shape of plaintext.
 * Input: a mode byte (bits 0-2: what to do, bit 3: pad correctly), then
 * the bytes. */
#include <openssl/evp.h>
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/buf.h"
#include "zhuqi/chatcrypt.h"

#define WECOM_KEY "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
#define CORP_ID "ww1234567890abcdef"
#define FEISHU_KEY "kudryavka"

static unsigned char g_wecom_key[32];
static unsigned char g_feishu_key[32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    zq_buf b = {0};
    unsigned int n = 0;

    (void)argc;
    (void)argv;
    fuzz_quiet();
    FUZZ_CHECK(zq_chatcrypt_b64_decode(&b, WECOM_KEY "=", 44) == 0 && b.len == 32);
    memcpy(g_wecom_key, b.data, 32);
    zq_buf_free(&b);
    FUZZ_CHECK(EVP_Digest(FEISHU_KEY, strlen(FEISHU_KEY), g_feishu_key, &n, EVP_sha256(), NULL) ==
               1);
    return 0;
}

/* AES-256-CBC without padding over n bytes (a multiple of 16). */
static void aes(const unsigned char *key, const unsigned char *iv, const unsigned char *in,
                size_t n, unsigned char *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;

    FUZZ_CHECK(c != NULL);
    FUZZ_CHECK(EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, key, iv) == 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    FUZZ_CHECK(EVP_EncryptUpdate(c, out, &l1, in, (int)n) == 1);
    FUZZ_CHECK(EVP_EncryptFinal_ex(c, out + l1, &l2) == 1);
    FUZZ_CHECK((size_t)(l1 + l2) == n);
    EVP_CIPHER_CTX_free(c);
}

/* p (n bytes) grown to whole blocks of bs: correct PKCS#7 when good,
 * else zero bytes (which is never valid padding). A new buffer. */
static unsigned char *blocks(const uint8_t *p, size_t n, size_t bs, bool good, size_t *outlen)
{
    size_t k = good ? bs - n % bs : (n % bs ? bs - n % bs : 0);
    unsigned char *b = malloc(n + k + 1);

    FUZZ_CHECK(b != NULL);
    if (n > 0)
        memcpy(b, p, n);
    memset(b + n, good ? (int)k : 0, k);
    *outlen = n + k;
    return b;
}

/* Decrypting what was encrypted: the WeCom framing of plaintext p. */
static void wecom_framed(const uint8_t *p, size_t n, bool good)
{
    size_t len;
    unsigned char *plain = blocks(p, n, 32, good, &len), *enc;
    zq_buf b64 = {0}, out = {0};
    zq_err err = {0};
    int rc;

    if (len == 0) {
        free(plain);
        return;
    }
    enc = malloc(len);
    FUZZ_CHECK(enc != NULL);
    aes(g_wecom_key, g_wecom_key, plain, len, enc);
    FUZZ_CHECK(zq_chatcrypt_b64_encode(&b64, enc, len) == 0);
    rc = zq_chatcrypt_wecom_decrypt(WECOM_KEY, b64.data, b64.len, CORP_ID, &out, &err);
    if (rc == 0) {
        /* What came out is the framed message: 16 random bytes, its length, it. */
        uint32_t mlen = (uint32_t)plain[16] << 24 | (uint32_t)plain[17] << 16 |
                        (uint32_t)plain[18] << 8 | plain[19];

        FUZZ_CHECK(out.len == mlen && memcmp(out.data, plain + 20, mlen) == 0);
        FUZZ_CHECK(memcmp(plain + 20 + mlen, CORP_ID, strlen(CORP_ID)) == 0);
    } else {
        FUZZ_CHECK(rc == -ZQ_EINVAL || rc == -ZQ_EAUTH);
        FUZZ_CHECK(out.len == 0);
    }
    zq_buf_free(&b64);
    zq_buf_free(&out);
    free(plain);
    free(enc);
}

/* The Feishu envelope of p: IV from the first 16 bytes of the input. */
static void feishu_framed(const uint8_t *p, size_t n, bool good)
{
    unsigned char iv[16] = {0}, *plain, *enc;
    size_t len, take = n < 16 ? n : 16;
    zq_buf b64 = {0}, out = {0};
    zq_err err = {0};
    int rc;

    memcpy(iv, p, take);
    plain = blocks(p + take, n - take, 16, good, &len);
    enc = malloc(16 + len);
    FUZZ_CHECK(enc != NULL);
    memcpy(enc, iv, 16);
    if (len > 0)
        aes(g_feishu_key, iv, plain, len, enc + 16);
    FUZZ_CHECK(zq_chatcrypt_b64_encode(&b64, enc, 16 + len) == 0);
    rc = zq_chatcrypt_feishu_decrypt(FEISHU_KEY, b64.data, b64.len, &out, &err);
    if (rc == 0) {
        FUZZ_CHECK(len >= 16 && out.len < len && out.len + plain[len - 1] == len);
        FUZZ_CHECK(memcmp(out.data, plain, out.len) == 0);
    } else {
        FUZZ_CHECK(rc == -ZQ_EINVAL && out.len == 0);
    }
    zq_buf_free(&b64);
    zq_buf_free(&out);
    free(plain);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    bool good = (mode & 8) != 0;
    const char *s = (const char *)in.p;
    size_t n = in.n;
    zq_buf a = {0}, b = {0}, c = {0};
    zq_err err = {0};
    int rc;

    switch (mode & 7) {
    case 0: /* Base64: what decodes encodes to text that decodes the same */
        if (zq_chatcrypt_b64_decode(&a, s, n) == 0) {
            FUZZ_CHECK(a.len <= n / 4 * 3 + 2);
            FUZZ_CHECK(zq_chatcrypt_b64_encode(&b, a.data, a.len) == 0);
            FUZZ_CHECK(b.len % 4 == 0);
            FUZZ_CHECK(zq_chatcrypt_b64_decode(&c, b.data ? b.data : "", b.len) == 0);
            FUZZ_CHECK(c.len == a.len && (a.len == 0 || memcmp(a.data, c.data, a.len) == 0));
        }
        break;
    case 1: /* WeCom: the input is the Base64 ciphertext */
        rc = zq_chatcrypt_wecom_decrypt(WECOM_KEY, s, n, CORP_ID, &a, &err);
        FUZZ_CHECK(rc == 0 || rc == -ZQ_EINVAL || rc == -ZQ_EAUTH);
        break;
    case 2: /* WeCom: the input is the plaintext envelope */ wecom_framed(in.p, n, good); break;
    case 3: /* Feishu: the input is the Base64 ciphertext */
        rc = zq_chatcrypt_feishu_decrypt(FEISHU_KEY, s, n, &a, &err);
        FUZZ_CHECK(rc == 0 || rc == -ZQ_EINVAL);
        break;
    case 4: /* Feishu: IV and plaintext */ feishu_framed(in.p, n, good); break;
    case 5: { /* WeCom: encrypt then decrypt gives the message back */
        static const unsigned char rnd[16] = "0123456789abcdef";

        FUZZ_CHECK(
            zq_chatcrypt_wecom_encrypt(WECOM_KEY, s, n, CORP_ID, good ? rnd : NULL, &a, &err) == 0);
        FUZZ_CHECK(zq_chatcrypt_wecom_decrypt(WECOM_KEY, a.data, a.len, CORP_ID, &b, &err) == 0);
        FUZZ_CHECK(b.len == n && (n == 0 || memcmp(b.data, s, n) == 0));
        break;
    }
    case 6: { /* the signatures over arbitrary strings */
        char *tok = fuzz_line(&in, 256), *ts = fuzz_line(&in, 64), *nonce = fuzz_line(&in, 64);
        size_t len;
        char *rest = fuzz_rest(&in, &len), sig[65];

        zq_chatcrypt_wecom_signature(tok, ts, nonce, rest, sig);
        FUZZ_CHECK(strlen(sig) == 40);
        zq_chatcrypt_feishu_signature(ts, nonce, tok, rest, len, sig);
        FUZZ_CHECK(strlen(sig) == 64);
        free(tok);
        free(ts);
        free(nonce);
        free(rest);
        break;
    }
    default: /* a wrong key length is refused, not read past */
        rc = zq_chatcrypt_wecom_decrypt(n < 43 ? "short" : WECOM_KEY "x", s, n, CORP_ID, &a, &err);
        FUZZ_CHECK(rc == -ZQ_EINVAL);
        break;
    }
    zq_buf_free(&a);
    zq_buf_free(&b);
    zq_buf_free(&c);
    return 0;
}

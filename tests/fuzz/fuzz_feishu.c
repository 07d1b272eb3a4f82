/* Fuzzes the Feishu event adapter (lib/inbound_feishu.c): the outer JSON,
 * the decryption of {"encrypt": ...}, the signature, the url_verification
 * challenge and the im.message.receive_v1 event with its content (JSON
 * inside a JSON string), then the queued reply. The harness encrypts and
 * signs what the fuzzer made so that the input reaches the event parser.
 * Input: a mode byte, bits 0-1:
 *   0  a plain event (no encrypt_key configured)
 *   1  the decrypted event, encrypted and signed here
 *   2  the outer body as is, signed here (encrypt_key configured)
 *   3  unsigned: lines timestamp, nonce, X-Lark-Signature, then the body */
#include <openssl/evp.h>
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/chatcrypt.h"

static zq_config g_cfg, g_plain;
static unsigned char g_key[32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsigned int n = 0;

    (void)argc;
    (void)argv;
    fuzz_quiet();
    fuzz_inbound_config(&g_cfg);
    g_plain = g_cfg;
    g_plain.feishu.encrypt_key[0] = '\0';
    FUZZ_CHECK(EVP_Digest(g_cfg.feishu.encrypt_key, strlen(g_cfg.feishu.encrypt_key), g_key, &n,
                          EVP_sha256(), NULL) == 1);
    return 0;
}

/* {"encrypt": Base64(IV + AES-256-CBC(PKCS#7(p)))} into out. */
static void encrypt_event(const char *p, size_t n, zq_buf *out)
{
    static const unsigned char iv[16] = "0123456789abcdef";
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    unsigned char *enc = malloc(16 + n + 16);
    int l1 = 0, l2 = 0;
    json_t *j;
    zq_buf b64 = {0};
    char *s;

    FUZZ_CHECK(c != NULL && enc != NULL);
    memcpy(enc, iv, 16);
    FUZZ_CHECK(EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, g_key, iv) == 1);
    FUZZ_CHECK(EVP_EncryptUpdate(c, enc + 16, &l1, (const unsigned char *)p, (int)n) == 1);
    FUZZ_CHECK(EVP_EncryptFinal_ex(c, enc + 16 + l1, &l2) == 1);
    EVP_CIPHER_CTX_free(c);
    FUZZ_CHECK(zq_chatcrypt_b64_encode(&b64, enc, 16 + (size_t)(l1 + l2)) == 0);
    j = json_pack("{s:s}", "encrypt", b64.data);
    s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    FUZZ_CHECK(s != NULL);
    zq_buf_puts(out, s);
    free(s);
    json_decref(j);
    zq_buf_free(&b64);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    char ts[24], sig[65] = "", *l1 = NULL, *l2 = NULL, *l3 = NULL, *body;
    const char *nonce = "a7b3c9d1";
    const zq_config *cfg = &g_cfg;
    zq_buf wrapped = {0};
    zq_inbound_http h;
    fuzz_http f = {0};
    size_t len;

    fuzz_http_post(&h, &f);
    snprintf(ts, sizeof(ts), "%lld", FUZZ_NOW_MS / 1000);
    if ((mode & 3) == 3) {
        l1 = fuzz_line(&in, 32);
        l2 = fuzz_line(&in, 64);
        l3 = fuzz_line(&in, 128);
    }
    body = fuzz_rest(&in, &len);
    h.body = body;
    h.body_len = len;
    switch (mode & 3) {
    case 0: cfg = &g_plain; break;
    case 1:
        encrypt_event(body, len, &wrapped);
        h.body = wrapped.data;
        h.body_len = wrapped.len;
        break;
    default: break;
    }
    if ((mode & 3) == 3) {
        fuzz_http_add_header(&f, "X-Lark-Request-Timestamp", l1);
        fuzz_http_add_header(&f, "X-Lark-Request-Nonce", l2);
        fuzz_http_add_header(&f, "X-Lark-Signature", l3);
    } else {
        zq_chatcrypt_feishu_signature(ts, nonce, cfg->feishu.encrypt_key, h.body, h.body_len, sig);
        fuzz_http_add_header(&f, "X-Lark-Request-Timestamp", ts);
        fuzz_http_add_header(&f, "X-Lark-Request-Nonce", nonce);
        fuzz_http_add_header(&f, "X-Lark-Signature", sig);
    }
    fuzz_inbound_run(&zq_inbound_feishu, cfg, &h, NULL);
    zq_buf_free(&wrapped);
    free(body);
    free(l1);
    free(l2);
    free(l3);
    return 0;
}

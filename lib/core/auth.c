/* Staff bearer tokens: the SHA-256 of the presented token is compared with
 * every configured hash in constant time. */
#include "zhuqi/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#include "zhuqi/buf.h"

#define TOKEN_MAX 256

static int sha256(const char *s, size_t len, unsigned char md[32])
{
    unsigned int mdlen = 0;

    if (EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return -1;
    return 0;
}

/* Finds the token in "Bearer <token>": scheme case-insensitive, then one
 * or more spaces, then 1..TOKEN_MAX printable ASCII characters up to the
 * end. Returns 0 and sets *tok, *len, or -1. */
static int parse_bearer(const char *h, const char **tok, size_t *len)
{
    const char *p;
    size_t n;

    if (h == NULL || strncasecmp(h, "Bearer", 6) != 0 || h[6] != ' ')
        return -1;
    for (p = h + 6; *p == ' '; p++)
        ;
    for (n = 0; p[n] != '\0'; n++)
        if ((unsigned char)p[n] <= 0x20 || (unsigned char)p[n] >= 0x7f || n >= TOKEN_MAX)
            return -1;
    if (n == 0)
        return -1;
    *tok = p;
    *len = n;
    return 0;
}

int zq_auth_check(const zq_config *cfg, const char *authorization, zq_role need,
                  const zq_token **who)
{
    unsigned char md[32];
    const char *tok;
    size_t len, match = 0;
    size_t found = 0;
    int rc;

    if (who != NULL)
        *who = NULL;
    if (cfg == NULL || parse_bearer(authorization, &tok, &len) != 0 || sha256(tok, len, md) != 0)
        return -ZQ_EAUTH;
    /* No early exit and no branch on the result: which token matched (if
     * any) does not show in the time taken. Hashes are unique (the config
     * loader rejects duplicates), so at most one matches. */
    for (size_t i = 0; i < (size_t)cfg->staff.ntokens; i++) {
        size_t eq = (size_t)(CRYPTO_memcmp(md, cfg->staff.tokens[i].hash, sizeof(md)) == 0);
        size_t mask = (size_t)0 - eq;

        match = (match & ~mask) | (i & mask);
        found |= eq;
    }
    OPENSSL_cleanse(md, sizeof(md));
    if (!found)
        return -ZQ_EAUTH;
    rc = cfg->staff.tokens[match].role >= need ? 0 : -ZQ_EFORBIDDEN;
    /* Also on 403, so that the caller can log who was refused. */
    if (who != NULL)
        *who = &cfg->staff.tokens[match];
    return rc;
}

void zq_auth_hash_hex(const char *token, char out[65])
{
    unsigned char md[32];

    if (token == NULL)
        token = "";
    if (sha256(token, strlen(token), md) != 0) {
        out[0] = '\0';
        return;
    }
    zq_hex(md, sizeof(md), out);
}

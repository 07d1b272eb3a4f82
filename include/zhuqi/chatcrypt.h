/* The cryptography of the inbound chat webhooks: WeCom's message
 * signature and AES-256-CBC envelope (32-byte PKCS#7 blocks, receiver id
 * inside), Feishu's event decryption and signature, and strict Base64
 * (DingTalk's and the generic channel's HMACs are the channel library's
 * zq_sign_dingtalk and zq_sign_generic, shared with outbound). Pure functions
 * over OpenSSL libcrypto: no I/O, so the tests can check them against
 * vectors made by independent implementations. */
#ifndef ZHUQI_CHATCRYPT_H
#define ZHUQI_CHATCRYPT_H

#include <stdbool.h>
#include <stddef.h>

#include "zhuqi/buf.h"
#include "zhuqi/common.h"

/* Base64 (standard alphabet, '=' padding) of n bytes, appended to out.
 * Returns 0 or -ZQ_ENOMEM. */
int zq_chatcrypt_b64_encode(zq_buf *out, const void *in, size_t n);

/* Decodes standard Base64, appending the bytes to out. Padding is
 * optional; non-zero bits in the last character are ignored (WeCom's
 * EncodingAESKey has them); any other character, or a length that cannot
 * be Base64, is -ZQ_EINVAL. */
int zq_chatcrypt_b64_decode(zq_buf *out, const char *in, size_t n);

/* WeCom: lower-case hex SHA-1 of the four strings sorted bytewise and
 * concatenated (token, timestamp, nonce, encrypted text) into out (41
 * bytes). Returns 0 or -ZQ_ENOMEM. */
int zq_chatcrypt_wecom_signature(const char *token, const char *timestamp, const char *nonce,
                                 const char *encrypted, char out[41]);

/* WeCom: decrypts a Base64 ciphertext with the 43-character
 * EncodingAESKey: AES-256-CBC, IV = the key's first 16 bytes, PKCS#7 to
 * 32-byte blocks (checked and stripped here), then 16 random bytes, a
 * 4-byte big-endian length, the message and the receiver id, which must
 * equal receiveid. Appends the message to out. Returns 0, -ZQ_EINVAL
 * (bad key, Base64, padding or framing) or -ZQ_EAUTH (receiver id does
 * not match), with err saying which. */
int zq_chatcrypt_wecom_decrypt(const char *aes_key43, const char *b64, size_t b64len,
                               const char *receiveid, zq_buf *out, zq_err *err);

/* WeCom: the reverse: 16 random bytes (random16, or fresh ones from the
 * kernel when NULL), length, msg, receiveid, padded to 32-byte blocks,
 * encrypted and Base64-encoded into out. Returns 0 or a negative code. */
int zq_chatcrypt_wecom_encrypt(const char *aes_key43, const char *msg, size_t len,
                               const char *receiveid, const unsigned char *random16, zq_buf *out,
                               zq_err *err);

/* Feishu: decrypts {"encrypt": b64}: key = SHA-256(encrypt_key), the
 * first 16 decoded bytes are the IV, AES-256-CBC over the rest, PKCS#7
 * (16-byte blocks). Appends the plaintext to out. Returns 0 or -ZQ_EINVAL. */
int zq_chatcrypt_feishu_decrypt(const char *encrypt_key, const char *b64, size_t b64len,
                                zq_buf *out, zq_err *err);

/* Feishu: lower-case hex SHA-256(timestamp + nonce + encrypt_key + body)
 * into out (65 bytes). */
void zq_chatcrypt_feishu_signature(const char *timestamp, const char *nonce,
                                   const char *encrypt_key, const char *body, size_t len,
                                   char out[65]);

#endif

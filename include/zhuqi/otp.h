/* SMS verification codes (specs/sms.md §3.4): 6-digit codes drawn without
 * modulo bias, stored only as HMAC-SHA256(pepper, purpose "|" +86phone "|"
 * code), one per (number, purpose), with a lifetime and a try budget,
 * compared in constant time and consumed once; the send limits per
 * number, per client and per day; and the mobile tag that names a number
 * in Redis keys without spelling it out.
 *
 * Keys (prefix omitted; {tag} is zq_otp_mobile_tag of the number):
 *   otp:code:{purpose}:{tag}  hash d (hex digest), c (created ms),
 *                             e (expires ms), t (tries); PEXPIRE lifetime
 *   otp:m:{tag}               zset of this number's sends (ms), 1 day
 *   otp:c:{client}            zset of this client's sends (ms), 1 day
 *   otp:budget:{YYYYMMDD}     codes sent that Beijing day, 2 days */
#ifndef ZHUQI_OTP_H
#define ZHUQI_OTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuqi/config.h"
#include "zhuqi/store.h"

#define ZQ_OTP_DIGITS 6
#define ZQ_OTP_CODE_MAX (ZQ_OTP_DIGITS + 1) /* with the NUL */
#define ZQ_OTP_TAG_HEX 32                   /* hex characters of a mobile tag */
#define ZQ_OTP_DIGEST_LEN 32                /* HMAC-SHA256 */
#define ZQ_OTP_PEPPER_MIN 32                /* bytes */
#define ZQ_OTP_PEPPER_MAX 256

/* The largest multiple of 10^6 below 2^32: a draw at or above it is
 * rejected so that every code is equally likely. */
#define ZQ_OTP_REJECT_FROM 4294000000u

/* True when s is one of the purposes a code is asked for: "submit",
 * "resume", "lookup", "supplement". */
bool zq_otp_purpose_valid(const char *s);

/* The code of one 32-bit draw: 0 with six zero-padded digits in out, or
 * -ZQ_EINVAL when v is at or above ZQ_OTP_REJECT_FROM (draw again). */
int zq_otp_code_from_u32(uint32_t v, char out[ZQ_OTP_CODE_MAX]);

/* A new code from RAND_bytes. Returns 0 or -ZQ_EIO (no randomness). */
int zq_otp_generate(char out[ZQ_OTP_CODE_MAX]);

/* HMAC-SHA256(pepper, purpose "|" +86mobile "|" code) into out; mobile is
 * the 11 bare digits. Returns 0 or -ZQ_EINVAL (an input too long). */
int zq_otp_digest(const unsigned char *pepper, size_t pepper_len, const char *purpose,
                  const char *mobile, const char *code, unsigned char out[ZQ_OTP_DIGEST_LEN]);

/* The tag of a mobile number (11 bare digits) for key names and marks:
 * the first 16 bytes of SHA-256("zq-mobile:" mobile) in hex. Unkeyed on
 * purpose: the case records hold the number in clear anyway, the tag only
 * keeps numbers out of key names (SCAN, MONITOR, slow log), and it must
 * stay stable when the pepper is rotated. Writes ZQ_OTP_TAG_HEX + 1 bytes. */
void zq_otp_mobile_tag(const char *mobile, char out[ZQ_OTP_TAG_HEX + 1]);

/* Reads the pepper: inline_pepper ([verify] pepper, usually given
 * through the environment, ZHUQI_VERIFY_PEPPER) or the file at path
 * ([verify] pepper_file, resolved by the caller; a regular file that group
 * and others cannot read; one trailing newline dropped); NULL or "" for
 * none. Returns 0 with the bytes in out (ZQ_OTP_PEPPER_MAX) and their
 * number in *len (0: none configured, the codes are off), or -ZQ_EINVAL /
 * -ZQ_EIO with err saying what is wrong (both set, shorter than
 * ZQ_OTP_PEPPER_MIN, a file open to others). */
int zq_otp_pepper_load(const char *inline_pepper, const char *path,
                       unsigned char out[ZQ_OTP_PEPPER_MAX], size_t *len, zq_err *err);

/* The limits of [verify], clamped by the configuration's table. 0 turns
 * a count limit (or the resend interval) off. */
typedef struct zq_otp_limits {
    int ttl_s;     /* lifetime of a code */
    int max_tries; /* tries per code, then it is burnt */
    int resend_s;  /* one code per number in this many seconds */
    int mobile_per_hour, mobile_per_day;
    int client_per_hour, client_per_day;
    int daily_budget; /* codes per Beijing day, all numbers together */
} zq_otp_limits;

/* Copies the limits out of cfg. */
void zq_otp_limits_from_config(const zq_config *cfg, zq_otp_limits *out);

/* Which limit refused a code (zq_otp_issue). */
typedef enum zq_otp_limit {
    ZQ_OTP_LIMIT_NONE = 0,
    ZQ_OTP_LIMIT_RESEND,      /* one per resend_s and number */
    ZQ_OTP_LIMIT_MOBILE_HOUR, /* per number and rolling hour */
    ZQ_OTP_LIMIT_MOBILE_DAY,  /* per number and rolling day */
    ZQ_OTP_LIMIT_CLIENT_HOUR, /* per client and rolling hour */
    ZQ_OTP_LIMIT_CLIENT_DAY,  /* per client and rolling day */
    ZQ_OTP_LIMIT_BUDGET,      /* all numbers, Beijing day */
} zq_otp_limit;

/* A Chinese sentence naming the limit and the wait (retry_s seconds),
 * into out (outsz bytes); a general one when it does not fit. Returns out. */
const char *zq_otp_limit_message(zq_otp_limit which, int retry_s, char *out, size_t outsz);

/* A code to issue. Strings borrowed. */
typedef struct zq_otp_issue_in {
    const char *purpose;
    const char *mobile; /* 11 bare digits */
    const char *client; /* zq_client_key; NULL or "": not counted per client */
    const unsigned char *pepper;
    size_t pepper_len;
    int64_t now_ms;
    const zq_otp_limits *lim;
} zq_otp_issue_in;

/* Checks every send limit and, within them all, counts this send and
 * stores a new code for (mobile, purpose), replacing the one before, in
 * one script. Returns 0 with the code in code (send it, then wipe it with
 * OPENSSL_cleanse); -ZQ_EBUSY with the limit in *which and the seconds to
 * wait in *retry_s (nothing counted or stored); -ZQ_EINVAL for a bad
 * purpose, number or pepper; -ZQ_EIO without randomness; -ZQ_EUNAVAIL
 * when Redis is away or refuses writes; -ZQ_EREPLY on a script error. */
int zq_otp_issue(zq_store *st, const zq_otp_issue_in *in, char code[ZQ_OTP_CODE_MAX],
                 zq_otp_limit *which, int *retry_s, zq_err *err);

/* What became of a code that was tried. */
typedef enum zq_otp_result {
    ZQ_OTP_OK = 0, /* right: the code is consumed */
    ZQ_OTP_WRONG,  /* wrong; tries_left more allowed */
    ZQ_OTP_GONE,   /* none for this number and purpose: expired, used or never sent */
    ZQ_OTP_BURNT,  /* no tries left (this one may have been the last) */
} zq_otp_result;

/* A code to check. Strings borrowed. */
typedef struct zq_otp_check_in {
    const char *purpose;
    const char *mobile; /* 11 bare digits */
    const char *code;   /* as typed: six digits */
    const unsigned char *pepper;
    size_t pepper_len;
    int64_t now_ms;
    const zq_otp_limits *lim; /* max_tries, resend_s */
} zq_otp_check_in;

/* Counts a try and compares the code's digest with the stored one in
 * constant time (CRYPTO_memcmp); a right code is then deleted only if it
 * is still the one compared, so two requests with the same right code
 * succeed once. Returns 0 with *res; *tries_left after a wrong code;
 * *retry_s after a burnt one: the seconds until a new code may be asked
 * for (at least 1). -ZQ_EINVAL for a bad input (nothing counted),
 * -ZQ_EUNAVAIL, -ZQ_EREPLY. */
int zq_otp_check(zq_store *st, const zq_otp_check_in *in, zq_otp_result *res, int *tries_left,
                 int *retry_s, zq_err *err);

#endif

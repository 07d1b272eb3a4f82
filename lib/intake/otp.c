/* SMS verification codes (see include/zhuqi/otp.h): generation, the
 * stored digest, the send limits and the check, each Redis step one
 * script so that concurrent requests cannot slip between a check and its
 * count. */
#include "zhuqi/otp.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zhuqi/buf.h"
#include "zhuqi/calendar.h"
#include "zhuqi/log.h"

/* The send limits and the new code, in one step. KEYS: the number's
 * sends, the client's sends, the day's budget, the code. ARGV: now (ms),
 * resend (ms), per number hour/day, per client hour/day, budget, seconds
 * to Beijing midnight, digest, lifetime (ms), a unique member, client
 * counted (1/0). Returns {0} when stored, or {limit, wait ms}. Rolling
 * windows over each sender's last day of sends: the wait is exact (when
 * the oldest send that still counts leaves the window). */
static zq_script issue_script = {
    .src = "local now = tonumber(ARGV[1])\n"
           "local day = 86400000\n"
           "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - day)\n"
           "if ARGV[12] == '1' then\n"
           "  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - day)\n"
           "end\n"
           "local function over(key, window, lim, code)\n"
           "  if lim <= 0 then return nil end\n"
           "  local from = now - window + 1\n"
           "  local n = redis.call('ZCOUNT', key, from, '+inf')\n"
           "  if n < lim then return nil end\n"
           "  local e = redis.call('ZRANGEBYSCORE', key, from, '+inf', 'WITHSCORES', 'LIMIT',\n"
           "    n - lim, 1)\n"
           "  return {code, tonumber(e[2]) + window - now}\n"
           "end\n"
           "local r = over(KEYS[1], tonumber(ARGV[2]), 1, 1)\n"
           "  or over(KEYS[1], 3600000, tonumber(ARGV[3]), 2)\n"
           "  or over(KEYS[1], day, tonumber(ARGV[4]), 3)\n"
           "if not r and ARGV[12] == '1' then\n"
           "  r = over(KEYS[2], 3600000, tonumber(ARGV[5]), 4)\n"
           "    or over(KEYS[2], day, tonumber(ARGV[6]), 5)\n"
           "end\n"
           "if r then return r end\n"
           "local budget = tonumber(ARGV[7])\n"
           "if budget > 0 and (tonumber(redis.call('GET', KEYS[3]) or '0') or 0) >= budget then\n"
           "  return {6, tonumber(ARGV[8]) * 1000}\n"
           "end\n"
           "redis.call('ZADD', KEYS[1], now, ARGV[11])\n"
           "redis.call('PEXPIRE', KEYS[1], day)\n"
           "if ARGV[12] == '1' then\n"
           "  redis.call('ZADD', KEYS[2], now, ARGV[11])\n"
           "  redis.call('PEXPIRE', KEYS[2], day)\n"
           "end\n"
           "if redis.call('INCR', KEYS[3]) == 1 then redis.call('EXPIRE', KEYS[3], 172800) end\n"
           "redis.call('DEL', KEYS[4])\n"
           "redis.call('HSET', KEYS[4], 'd', ARGV[9], 'c', ARGV[1],\n"
           "  'e', tostring(now + tonumber(ARGV[10])), 't', '0')\n"
           "redis.call('PEXPIRE', KEYS[4], ARGV[10])\n"
           "return {0, 0}\n"};

/* A try: KEYS[1] the code; ARGV now (ms), the try budget. Returns {0}
 * when there is no code (expired, used, never sent), {3, created} when
 * it is burnt, or {1, digest, tries left, created} with the try counted. */
static zq_script try_script = {.src = "local h = redis.call('HMGET', KEYS[1], 'd', 'e', 't', 'c')\n"
                                      "if not h[1] then return {0} end\n"
                                      "if (tonumber(h[2]) or 0) <= tonumber(ARGV[1]) then\n"
                                      "  redis.call('DEL', KEYS[1])\n"
                                      "  return {0}\n"
                                      "end\n"
                                      "local max = tonumber(ARGV[2])\n"
                                      "if (tonumber(h[3]) or 0) >= max then return {3, h[4]} end\n"
                                      "local t = redis.call('HINCRBY', KEYS[1], 't', 1)\n"
                                      "return {1, h[1], max - t, h[4]}\n"};

/* Consumes the code KEYS[1] if it is still the one with digest ARGV[1]
 * (not replaced, not consumed by a concurrent request). Returns 1 or 0. */
static zq_script consume_script = {.src = "if redis.call('HGET', KEYS[1], 'd') == ARGV[1] then\n"
                                          "  redis.call('DEL', KEYS[1])\n"
                                          "  return 1\n"
                                          "end\n"
                                          "return 0\n"};

static const char *const purposes[] = {"submit", "resume", "lookup", "supplement"};

bool zq_otp_purpose_valid(const char *s)
{
    size_t i;

    for (i = 0; s != NULL && i < ZQ_ARRAY_LEN(purposes); i++)
        if (strcmp(s, purposes[i]) == 0)
            return true;
    return false;
}

/* 11 bare digits, a mainland mobile (1[3-9]...). */
static bool mobile_valid(const char *m)
{
    size_t i;

    if (m == NULL || strlen(m) != 11 || m[0] != '1' || m[1] < '3' || m[1] > '9')
        return false;
    for (i = 2; i < 11; i++)
        if (m[i] < '0' || m[i] > '9')
            return false;
    return true;
}

int zq_otp_code_from_u32(uint32_t v, char out[ZQ_OTP_CODE_MAX])
{
    uint32_t n;
    int i;

    if (v >= ZQ_OTP_REJECT_FROM)
        return -ZQ_EINVAL;
    n = v % 1000000u;
    for (i = ZQ_OTP_DIGITS - 1; i >= 0; i--) {
        out[i] = (char)('0' + n % 10);
        n /= 10;
    }
    out[ZQ_OTP_DIGITS] = '\0';
    return 0;
}

int zq_otp_generate(char out[ZQ_OTP_CODE_MAX])
{
    unsigned char b[4];
    int i;

    /* A draw is rejected with probability 967296 / 2^32 (0.02 %): a
     * hundred in a row means the generator is broken. */
    for (i = 0; i < 100; i++) {
        uint32_t v;

        if (RAND_bytes(b, sizeof(b)) != 1)
            break;
        v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (zq_otp_code_from_u32(v, out) == 0) {
            OPENSSL_cleanse(b, sizeof(b));
            return 0;
        }
    }
    OPENSSL_cleanse(b, sizeof(b));
    return -ZQ_EIO;
}

int zq_otp_digest(const unsigned char *pepper, size_t pepper_len, const char *purpose,
                  const char *mobile, const char *code, unsigned char out[ZQ_OTP_DIGEST_LEN])
{
    char msg[128];
    unsigned int mdlen = 0;
    int rc = 0;

    if (zq_fmt(msg, sizeof(msg), "%s|+86%s|%s", purpose, mobile, code) < 0)
        return -ZQ_EINVAL;
    if (HMAC(EVP_sha256(), pepper, (int)pepper_len, (const unsigned char *)msg, strlen(msg), out,
             &mdlen) == NULL ||
        mdlen != ZQ_OTP_DIGEST_LEN)
        rc = -ZQ_EINVAL;
    OPENSSL_cleanse(msg, sizeof(msg));
    return rc;
}

/* SHA-256 fetched once (shared: an EVP_MD is read-only once fetched) and
 * a digest context per thread, reused: SHA256() fetches the algorithm by
 * name and builds a context on every call, three times the hashing
 * itself, and the complaint step tags the mobile on every save. */
static pthread_once_t tag_once = PTHREAD_ONCE_INIT;
static pthread_key_t tag_tls;
static bool tag_tls_ok;
static EVP_MD *tag_sha256;

static void tag_ctx_free(void *p)
{
    EVP_MD_CTX_free(p);
}

static void tag_init_once(void)
{
    tag_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    tag_tls_ok = pthread_key_create(&tag_tls, tag_ctx_free) == 0;
}

/* SHA-256 of msg[0..len) into md through this thread's context. Returns
 * false when OpenSSL failed (the caller then takes SHA256()). */
static bool tag_digest(const char *msg, size_t len, unsigned char md[SHA256_DIGEST_LENGTH])
{
    EVP_MD_CTX *c;

    if (pthread_once(&tag_once, tag_init_once) != 0 || tag_sha256 == NULL || !tag_tls_ok)
        return false;
    c = pthread_getspecific(tag_tls);
    if (c == NULL) {
        if ((c = EVP_MD_CTX_new()) == NULL)
            return false;
        if (pthread_setspecific(tag_tls, c) != 0) {
            EVP_MD_CTX_free(c);
            return false;
        }
    }
    return EVP_DigestInit_ex2(c, tag_sha256, NULL) == 1 && EVP_DigestUpdate(c, msg, len) == 1 &&
           EVP_DigestFinal_ex(c, md, NULL) == 1;
}

void zq_otp_mobile_tag(const char *mobile, char out[ZQ_OTP_TAG_HEX + 1])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char msg[64];

    /* Longer input than a number is not ours: it gets a tag of its own
     * all the same (of its first characters), never a shared one. */
    if (zq_fmt(msg, sizeof(msg), "zq-mobile:%s", mobile) < 0)
        msg[sizeof(msg) - 1] = '\0';
    if (!tag_digest(msg, strlen(msg), md))
        SHA256((const unsigned char *)msg, strlen(msg), md);
    zq_hex(md, ZQ_OTP_TAG_HEX / 2, out);
}

/* Reads the pepper file (see zq_otp_pepper_load). */
static int read_pepper_file(const char *path, unsigned char *out, size_t *len, zq_err *err)
{
    unsigned char buf[ZQ_OTP_PEPPER_MAX + 2];
    struct stat sb;
    ssize_t n;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;

    if (fd < 0)
        return zq_err_set(err, ZQ_EIO, "[verify] pepper_file %s: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = zq_err_set(err, ZQ_EINVAL, "[verify] pepper_file %s: not a regular file", path);
        goto out;
    }
    /* A secret that others may read is no secret: refuse it, as ssh does. */
    if ((sb.st_mode & 077) != 0) {
        rc = zq_err_set(err, ZQ_EINVAL,
                        "[verify] pepper_file %s: mode %03o, must not be readable by group or "
                        "others (chmod 600)",
                        path, (unsigned)(sb.st_mode & 0777));
        goto out;
    }
    while (got < sizeof(buf)) {
        n = read(fd, buf + got, sizeof(buf) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = zq_err_set(err, ZQ_EIO, "[verify] pepper_file %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got > 0 && buf[got - 1] == '\n')
        got--;
    if (got > 0 && buf[got - 1] == '\r')
        got--;
    if (got > ZQ_OTP_PEPPER_MAX) {
        rc = zq_err_set(err, ZQ_EINVAL, "[verify] pepper_file %s: longer than %d bytes", path,
                        ZQ_OTP_PEPPER_MAX);
        goto out;
    }
    memcpy(out, buf, got);
    *len = got;
out:
    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);
    return rc;
}

int zq_otp_pepper_load(const char *inline_pepper, const char *path,
                       unsigned char out[ZQ_OTP_PEPPER_MAX], size_t *len, zq_err *err)
{
    int rc;

    *len = 0;
    if (inline_pepper == NULL)
        inline_pepper = "";
    if (path == NULL)
        path = "";
    if (inline_pepper[0] != '\0' && path[0] != '\0')
        return zq_err_set(err, ZQ_EINVAL, "[verify] pepper and pepper_file are both set: keep one");
    if (inline_pepper[0] != '\0') {
        size_t n = strlen(inline_pepper);
        if (n > ZQ_OTP_PEPPER_MAX)
            return zq_err_set(err, ZQ_EINVAL, "[verify] pepper: longer than %d bytes",
                              ZQ_OTP_PEPPER_MAX);
        memcpy(out, inline_pepper, n);
        *len = n;
    } else if (path[0] != '\0') {
        if ((rc = read_pepper_file(path, out, len, err)) < 0)
            return rc;
    } else {
        return 0;
    }
    if (*len < ZQ_OTP_PEPPER_MIN) {
        OPENSSL_cleanse(out, ZQ_OTP_PEPPER_MAX);
        *len = 0;
        return zq_err_set(err, ZQ_EINVAL,
                          "[verify] pepper: at least %d bytes wanted (e.g. openssl rand -hex 32)",
                          ZQ_OTP_PEPPER_MIN);
    }
    return 0;
}

void zq_otp_limits_from_config(const zq_config *cfg, zq_otp_limits *out)
{
    out->ttl_s = cfg->verify.code_ttl_s;
    out->max_tries = cfg->verify.max_tries;
    out->resend_s = cfg->verify.resend_s;
    out->mobile_per_hour = cfg->verify.mobile_per_hour;
    out->mobile_per_day = cfg->verify.mobile_per_day;
    out->client_per_hour = cfg->verify.client_per_hour;
    out->client_per_day = cfg->verify.client_per_day;
    out->daily_budget = cfg->verify.daily_budget;
}

/* "45 秒", "3 分钟", "2 小时 5 分钟" for a wait of s seconds (rounded up). */
static void say_wait(int s, char *out, size_t outsz)
{
    int rc;

    if (s < 120)
        rc = zq_fmt(out, outsz, "%d 秒", s < 1 ? 1 : s);
    else if (s < 3600)
        rc = zq_fmt(out, outsz, "%d 分钟", (s + 59) / 60);
    else if ((s + 59) / 60 % 60 == 0)
        rc = zq_fmt(out, outsz, "%d 小时", (s + 59) / 3600);
    else
        rc = zq_fmt(out, outsz, "%d 小时 %d 分钟", s / 3600, (s % 3600 + 59) / 60);
    if (rc < 0)
        zq_fmt(out, outsz, "一段时间");
}

const char *zq_otp_limit_message(zq_otp_limit which, int retry_s, char *out, size_t outsz)
{
    static const char fallback[] = "获取验证码过于频繁，请稍后再试。";
    const char *what;
    char wait[48];

    switch (which) {
    case ZQ_OTP_LIMIT_RESEND: what = "验证码已发送，请查收短信。如未收到"; break;
    case ZQ_OTP_LIMIT_MOBILE_HOUR: what = "该手机号码一小时内获取验证码的次数已达上限"; break;
    case ZQ_OTP_LIMIT_MOBILE_DAY: what = "该手机号码今天获取验证码的次数已达上限"; break;
    case ZQ_OTP_LIMIT_CLIENT_HOUR: what = "您所在网络一小时内获取验证码的次数已达上限"; break;
    case ZQ_OTP_LIMIT_CLIENT_DAY: what = "您所在网络今天获取验证码的次数已达上限"; break;
    case ZQ_OTP_LIMIT_BUDGET: what = "今天的验证码短信已发完"; break;
    default: what = "获取验证码过于频繁"; break;
    }
    say_wait(retry_s, wait, sizeof(wait));
    if (zq_fmt(out, outsz, "%s，请在 %s后重新获取。", what, wait) < 0 &&
        zq_fmt(out, outsz, "%s", fallback) < 0)
        out[0] = '\0';
    return out;
}

/* Seconds from now_ms to the next midnight, Beijing time (1..86400):
 * when the day's budget starts again. */
static int to_midnight(int64_t now_ms)
{
    int64_t s = now_ms / 1000 + ZQ_BEIJING_OFFSET_S;

    return (int)(86400 - s % 86400);
}

/* The key of the code of one number and purpose. */
static int code_key(zq_store *st, const char *purpose, const char *tag, char *out, size_t outsz)
{
    return zq_store_key(st, out, outsz, "otp:code:%s:%s", purpose, tag) < 0 ? -ZQ_ETOOBIG : 0;
}

int zq_otp_issue(zq_store *st, const zq_otp_issue_in *in, char code[ZQ_OTP_CODE_MAX],
                 zq_otp_limit *which, int *retry_s, zq_err *err)
{
    const zq_otp_limits *l = in->lim;
    bool per_client = in->client != NULL && in->client[0] != '\0';
    char tag[ZQ_OTP_TAG_HEX + 1], k_m[128], k_c[200], k_b[64], k_code[160];
    char a_now[24], a_resend[24], a[6][16], a_midnight[16], a_ttl[24], member[48],
        hex[ZQ_OTP_DIGEST_LEN * 2 + 1];
    unsigned char md[ZQ_OTP_DIGEST_LEN];
    zq_date d = zq_date_from_ms(in->now_ms);
    const char *argv[16];
    redisReply *r = NULL;
    int bad = 0, rc = 0;

    *which = ZQ_OTP_LIMIT_NONE;
    *retry_s = 0;
    code[0] = '\0';
    if (!zq_otp_purpose_valid(in->purpose) || !mobile_valid(in->mobile) ||
        in->pepper_len < ZQ_OTP_PEPPER_MIN)
        return zq_err_set(err, ZQ_EINVAL, "otp: bad purpose, number or pepper");
    if (zq_otp_generate(code) < 0)
        return zq_err_set(err, ZQ_EIO, "otp: RAND_bytes failed");
    if (zq_otp_digest(in->pepper, in->pepper_len, in->purpose, in->mobile, code, md) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "otp: cannot compute the digest");
        goto out;
    }
    zq_hex(md, sizeof(md), hex);
    zq_otp_mobile_tag(in->mobile, tag);
    bad |= zq_store_key(st, k_m, sizeof(k_m), "otp:m:%s", tag);
    bad |= zq_store_key(st, k_c, sizeof(k_c), "otp:c:%s", per_client ? in->client : "-");
    bad |= zq_store_key(st, k_b, sizeof(k_b), "otp:budget:%04d%02d%02d", d.y, d.m, d.d);
    bad |= code_key(st, in->purpose, tag, k_code, sizeof(k_code));
    bad |= zq_fmt(a_now, sizeof(a_now), "%lld", (long long)in->now_ms);
    bad |= zq_fmt(a_resend, sizeof(a_resend), "%lld", (long long)l->resend_s * 1000);
    bad |= zq_fmt(a[0], sizeof(a[0]), "%d", l->mobile_per_hour);
    bad |= zq_fmt(a[1], sizeof(a[1]), "%d", l->mobile_per_day);
    bad |= zq_fmt(a[2], sizeof(a[2]), "%d", l->client_per_hour);
    bad |= zq_fmt(a[3], sizeof(a[3]), "%d", l->client_per_day);
    bad |= zq_fmt(a[4], sizeof(a[4]), "%d", l->daily_budget);
    bad |= zq_fmt(a_midnight, sizeof(a_midnight), "%d", to_midnight(in->now_ms));
    bad |= zq_fmt(a_ttl, sizeof(a_ttl), "%lld", (long long)l->ttl_s * 1000);
    /* Unique per send, so two sends in one millisecond both count. */
    bad |= zq_fmt(member, sizeof(member), "%lld-", (long long)in->now_ms);
    if (bad != 0 || zq_random_hex(member + strlen(member), 8) < 0) {
        rc = zq_err_set(err, ZQ_ETOOBIG, "otp: a key or argument does not fit");
        goto out;
    }
    argv[0] = k_m;
    argv[1] = k_c;
    argv[2] = k_b;
    argv[3] = k_code;
    argv[4] = a_now;
    argv[5] = a_resend;
    argv[6] = a[0];
    argv[7] = a[1];
    argv[8] = a[2];
    argv[9] = a[3];
    argv[10] = a[4];
    argv[11] = a_midnight;
    argv[12] = hex;
    argv[13] = a_ttl;
    argv[14] = member;
    argv[15] = per_client ? "1" : "0";
    r = zq_store_script(st, err, &issue_script, 4, 16, argv, NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (zq_store_reply_unavailable(r)) {
        rc = zq_err_set(err, ZQ_EUNAVAIL, "otp: redis refuses writes: %s", r->str);
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[0]->integer < 0 || r->element[0]->integer > ZQ_OTP_LIMIT_BUDGET) {
        rc = zq_err_set(err, ZQ_EREPLY, "otp: issue script failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    if (r->element[0]->integer != 0) {
        long long ms = r->element[1]->integer;
        *which = (zq_otp_limit)r->element[0]->integer;
        *retry_s = ms <= 1000 ? 1 : (int)((ms + 999) / 1000);
        rc = -ZQ_EBUSY;
    }
out:
    if (rc < 0)
        OPENSSL_cleanse(code, ZQ_OTP_CODE_MAX);
    OPENSSL_cleanse(md, sizeof(md));
    OPENSSL_cleanse(hex, sizeof(hex));
    if (r != NULL)
        freeReplyObject(r);
    return rc;
}

/* Six ASCII digits. */
static bool code_valid(const char *c)
{
    size_t i;

    if (c == NULL || strlen(c) != ZQ_OTP_DIGITS)
        return false;
    for (i = 0; i < ZQ_OTP_DIGITS; i++)
        if (c[i] < '0' || c[i] > '9')
            return false;
    return true;
}

/* Seconds until a new code may be asked for after the one created at
 * created (ms, as text): at least 1. */
static int resend_wait(const redisReply *created, const zq_otp_check_in *in)
{
    long long c = 0, left;

    if (created == NULL || created->type != REDIS_REPLY_STRING ||
        zq_parse_ll(created->str, created->len, 0, INT64_MAX, &c) < 0)
        return 1;
    left = c + (long long)in->lim->resend_s * 1000 - in->now_ms;
    return left <= 1000 ? 1 : (int)((left + 999) / 1000);
}

int zq_otp_check(zq_store *st, const zq_otp_check_in *in, zq_otp_result *res, int *tries_left,
                 int *retry_s, zq_err *err)
{
    char tag[ZQ_OTP_TAG_HEX + 1], k_code[160], a_now[24], a_max[16];
    char hex[ZQ_OTP_DIGEST_LEN * 2 + 1];
    unsigned char md[ZQ_OTP_DIGEST_LEN], stored[ZQ_OTP_DIGEST_LEN];
    redisReply *r = NULL, *c = NULL;
    size_t i;
    int rc = 0;

    *res = ZQ_OTP_GONE;
    *tries_left = 0;
    *retry_s = 0;
    if (!zq_otp_purpose_valid(in->purpose) || !mobile_valid(in->mobile) || !code_valid(in->code) ||
        in->pepper_len < ZQ_OTP_PEPPER_MIN)
        return zq_err_set(err, ZQ_EINVAL, "otp: bad purpose, number, code or pepper");
    zq_otp_mobile_tag(in->mobile, tag);
    if (code_key(st, in->purpose, tag, k_code, sizeof(k_code)) < 0 ||
        zq_fmt(a_now, sizeof(a_now), "%lld", (long long)in->now_ms) < 0 ||
        zq_fmt(a_max, sizeof(a_max), "%d", in->lim->max_tries) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "otp: a key does not fit");
    if (zq_otp_digest(in->pepper, in->pepper_len, in->purpose, in->mobile, in->code, md) < 0)
        return zq_err_set(err, ZQ_EINVAL, "otp: cannot compute the digest");
    r = zq_store_script(st, err, &try_script, 1, 3, (const char *[]){k_code, a_now, a_max}, NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (zq_store_reply_unavailable(r)) {
        rc = zq_err_set(err, ZQ_EUNAVAIL, "otp: redis refuses writes: %s", r->str);
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        rc = zq_err_set(err, ZQ_EREPLY, "otp: try script failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    if (r->element[0]->integer == 0)
        goto out; /* gone */
    if (r->element[0]->integer == 3) {
        *res = ZQ_OTP_BURNT;
        *retry_s = resend_wait(r->elements > 1 ? r->element[1] : NULL, in);
        goto out;
    }
    if (r->elements != 4 || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[1]->len != (size_t)ZQ_OTP_DIGEST_LEN * 2 ||
        r->element[2]->type != REDIS_REPLY_INTEGER) {
        rc = zq_err_set(err, ZQ_EREPLY, "otp: try script answered an unexpected reply");
        goto out;
    }
    for (i = 0; i < ZQ_OTP_DIGEST_LEN; i++) {
        int hi = zq_hexval(r->element[1]->str[2 * i]),
            lo = zq_hexval(r->element[1]->str[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            rc = zq_err_set(err, ZQ_EREPLY, "otp: stored digest is not hex");
            goto out;
        }
        stored[i] = (unsigned char)(hi << 4 | lo);
    }
    if (CRYPTO_memcmp(md, stored, ZQ_OTP_DIGEST_LEN) != 0) {
        long long left = r->element[2]->integer;
        *tries_left = left > 0 ? (int)left : 0;
        if (left > 0) {
            *res = ZQ_OTP_WRONG;
        } else {
            *res = ZQ_OTP_BURNT;
            *retry_s = resend_wait(r->element[3], in);
        }
        goto out;
    }
    /* Right. Consumed only if it is still this code: of two requests with
     * it, or one racing a new code, exactly one wins. */
    zq_hex(md, sizeof(md), hex);
    c = zq_store_script(st, err, &consume_script, 1, 2, (const char *[]){k_code, hex}, NULL);
    if (c == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (zq_store_reply_unavailable(c)) {
        rc = zq_err_set(err, ZQ_EUNAVAIL, "otp: redis refuses writes: %s", c->str);
        goto out;
    }
    if (c->type != REDIS_REPLY_INTEGER) {
        rc = zq_err_set(err, ZQ_EREPLY, "otp: consume script failed: %s",
                        c->type == REDIS_REPLY_ERROR ? c->str : "unexpected reply");
        goto out;
    }
    *res = c->integer == 1 ? ZQ_OTP_OK : ZQ_OTP_GONE;
out:
    OPENSSL_cleanse(md, sizeof(md));
    OPENSSL_cleanse(stored, sizeof(stored));
    OPENSSL_cleanse(hex, sizeof(hex));
    if (r != NULL)
        freeReplyObject(r);
    if (c != NULL)
        freeReplyObject(c);
    return rc;
}

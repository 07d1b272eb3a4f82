/* SMS providers (specs/sms.md): the signatures of Tencent Cloud (TC3-
 * HMAC-SHA256) and Alibaba Cloud (RPC HMAC-SHA1 and ACS3-HMAC-SHA256),
 * their SendSms requests, and the classification of their answers.
 * Pure functions: no I/O, so the bot and the tests share them. */
#ifndef ZHUQI_SMS_H
#define ZHUQI_SMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuqi/buf.h"
#include "zhuqi/common.h"
#include "zhuqi/config.h"

typedef enum zq_sms_provider {
    ZQ_SMS_TENCENT = 0,
    ZQ_SMS_ALIBABA,
    ZQ_SMS__COUNT,
} zq_sms_provider;

/* Bounds on what goes into one request. */
#define ZQ_SMS_MAX_PHONES 200 /* Tencent's cap per call (Alibaba: 1000) */
#define ZQ_SMS_MAX_PARAMS 16  /* template variables */
#define ZQ_SMS_MAX_FIELD 512  /* bytes of one text field (sign, template, param...) */
#define ZQ_SMS_MAX_HEADERS 10 /* header lines of a request */
#define ZQ_SMS_MAX_BODY 65536 /* bytes of a request body or query */

/* "13800138000", "+8613800138000", "8613800138000" or "008613800138000"
 * as the 11 bare digits in out (12 bytes). Returns 0, or -ZQ_EINVAL when
 * it is not a mainland mobile number (^1[3-9][0-9]{9}$ once the prefix is
 * stripped). */
int zq_sms_phone_bare(const char *in, char out[12]);

/* ---- Tencent Cloud TC3-HMAC-SHA256 (sms.md §1.3) ---- */

/* What is signed. Strings borrowed. */
typedef struct zq_sms_tc3_in {
    const char *secret_id;
    const char *secret_key;
    const char *service;      /* "sms" */
    const char *host;         /* "sms.tencentcloudapi.com" */
    const char *content_type; /* "application/json; charset=utf-8" */
    int64_t timestamp;        /* Unix seconds, as in X-TC-Timestamp */
    const char *body;         /* the exact bytes sent */
    size_t len;
} zq_sms_tc3_in;

/* The signature and its intermediate values (lowercase hex). */
typedef struct zq_sms_tc3_sig {
    char date[11];             /* UTC "YYYY-MM-DD" of the timestamp */
    char payload_sha256[65];   /* HashedRequestPayload */
    char canonical_sha256[65]; /* hex SHA-256 of the CanonicalRequest */
    char signature[65];
    char authorization[640]; /* the Authorization header's value */
} zq_sms_tc3_sig;

/* Signs in (POST "/", signed headers content-type;host). Returns 0, or
 * -ZQ_EINVAL (a missing or over-long input, a timestamp before 1970, a
 * header value with a line break), -ZQ_ETOOBIG, -ZQ_ENOMEM. */
int zq_sms_tc3_sign(const zq_sms_tc3_in *in, zq_sms_tc3_sig *out);

/* The derived key chain of step 8: HMAC-SHA256("TC3" + secret_key, date),
 * then service, then "tc3_request"; each 32 raw bytes. Returns 0 or
 * -ZQ_EINVAL / -ZQ_ENOMEM. Exposed for the tests. */
int zq_sms_tc3_keys(const char *secret_key, const char *date, const char *service,
                    unsigned char k_date[32], unsigned char k_service[32],
                    unsigned char k_signing[32]);

/* ---- Alibaba Cloud ---- */

/* One name=value parameter or header. Strings borrowed. */
typedef struct zq_sms_kv {
    const char *name;
    const char *value;
} zq_sms_kv;

/* Appends s percent-encoded as Alibaba wants (sms.md §2.2: A-Z a-z 0-9
 * - _ . ~ kept, every other byte %XX upper case). Returns 0 or -ZQ_ENOMEM. */
int zq_sms_acs_encode(zq_buf *b, const char *s, size_t len);

/* The canonicalized query of params (sorted byte-wise by name, then
 * value; encoded name=value joined by "&"; an empty value as the bare name
 * when bare_empty, as ACS3 does) appended to b. Returns 0, -ZQ_EINVAL
 * (NULL name or value, more than 64 params), -ZQ_ENOMEM. */
int zq_sms_acs_query(zq_buf *b, const zq_sms_kv *params, size_t n, bool bare_empty);

/* RPC signature V1: Base64(HMAC-SHA1(secret + "&", method "&%2F&"
 * encode(canonicalized query))) of params (Signature excluded), into out
 * (29 bytes: 28 characters and the NUL). string_to_sign, when not NULL,
 * is reset and gets the string signed. Returns 0, -ZQ_EINVAL,
 * -ZQ_ETOOBIG (out too small), -ZQ_ENOMEM. */
int zq_sms_acs_v1_sign(const char *secret, const char *method, const zq_sms_kv *params, size_t n,
                       char *out, size_t outsz, zq_buf *string_to_sign);

/* What ACS3 signs. headers: the signed headers (names any case; the same
 * name twice is merged as sorted values joined by ","); query may be
 * empty; uri "" or "/". Strings borrowed. */
typedef struct zq_sms_acs3_in {
    const char *key_id;
    const char *secret;
    const char *method;
    const char *uri;
    const zq_sms_kv *query;
    size_t nquery;
    const zq_sms_kv *headers;
    size_t nheaders;
    const char *payload_sha256; /* hex, as sent in x-acs-content-sha256 */
} zq_sms_acs3_in;

typedef struct zq_sms_acs3_sig {
    char canonical_sha256[65];
    char signature[65];
    char authorization[640];
} zq_sms_acs3_sig;

/* Signs in (sms.md §2.3). Returns 0, -ZQ_EINVAL (missing input, more
 * than ZQ_SMS_MAX_HEADERS headers, a line break in a header), -ZQ_ETOOBIG,
 * -ZQ_ENOMEM. */
int zq_sms_acs3_sign(const zq_sms_acs3_in *in, zq_sms_acs3_sig *out);

/* ---- SendSms requests ---- */

/* One message to send. Strings borrowed. */
typedef struct zq_sms_send {
    const char *key_id;      /* Tencent SecretId / Alibaba AccessKeyId */
    const char *secret;      /* Tencent SecretKey / Alibaba AccessKeySecret */
    const char *app_id;      /* Tencent SmsSdkAppId (Alibaba: unused) */
    const char *region;      /* Tencent X-TC-Region ("ap-guangzhou" when NULL) */
    const char *sign_name;   /* approved signature text, "腾讯云" */
    const char *template_id; /* Tencent TemplateId / Alibaba TemplateCode */
    /* Template variables in order (Tencent) or by name (Alibaba: names
     * required, TemplateParam is a JSON object of strings). */
    const char *const *params;
    const char *const *param_names;
    size_t nparams;
    const char *const *phones; /* mainland mobiles, any form zq_sms_phone_bare takes */
    size_t nphones;
    const char *session; /* SessionContext / OutId, or NULL */
    int64_t timestamp;   /* Unix seconds */
    const char *nonce;   /* Alibaba x-acs-signature-nonce (unique per request) */
    const char *host;    /* the host signed and sent; NULL: the vendor's */
} zq_sms_send;

/* One HTTP POST to make. body: the exact signed bytes. */
typedef struct zq_sms_req {
    char url[4096]; /* Alibaba: the signed query is in it */
    zq_buf body;
    char headers[ZQ_SMS_MAX_HEADERS][720]; /* "Name: value" lines, Host first */
    int nheaders;
} zq_sms_req;

/* Builds the SendSms request of s for base_url ("https://sms.
 * tencentcloudapi.com"; a test points it at the fake): Tencent: a JSON
 * body (§1.2; phones as +86..., compact, raw UTF-8) signed with TC3 and
 * the headers Host, Content-Type, X-TC-Action, X-TC-Version,
 * X-TC-Timestamp, X-TC-Region, Authorization. Alibaba: ACS3 with the
 * business parameters in the query (phones bare, comma-separated), an
 * empty body, the headers Host, x-acs-action, x-acs-version, x-acs-date,
 * x-acs-signature-nonce, x-acs-content-sha256, Authorization. Returns 0
 * with out filled (free with zq_sms_req_free), or -ZQ_EINVAL (err says
 * which input), -ZQ_ETOOBIG, -ZQ_ENOMEM. */
int zq_sms_request(zq_sms_provider p, const zq_sms_send *s, const char *base_url, zq_sms_req *out,
                   zq_err *err);
void zq_sms_req_free(zq_sms_req *r);

/* ---- Answers ---- */

typedef enum zq_sms_verdict {
    ZQ_SMS_SENT = 0,  /* accepted for every number */
    ZQ_SMS_THROTTLED, /* a frequency limit or cap: retry after retry_after_ms */
    ZQ_SMS_RETRY,     /* transient (network, 5xx, vendor busy, clock): retry with backoff */
    ZQ_SMS_PERMANENT, /* configuration, recipient, account: do not retry */
} zq_sms_verdict;

typedef struct zq_sms_result {
    zq_sms_verdict verdict;
    int64_t retry_after_ms; /* THROTTLED: the end of the vendor's window (0 otherwise) */
    char code[80];          /* the vendor's code ("" when none) */
    char msg_id[96];        /* SerialNo / BizId of an accepted send ("" when none) */
    char reason[200];       /* short English reason, printable UTF-8 */
} zq_sms_result;

/* Classifies the vendor's answer to SendSms (sms.md §1.4-1.5, §2.4-2.5):
 * http_status 0 means no answer (network error, timeout); body may be
 * NULL. now_s (Unix seconds) places the windows that end at Beijing
 * midnight (daily caps) or on the first of the month. Tencent: sent when
 * every SendStatusSet entry says "Ok", else the first other entry's code
 * decides; Alibaba: "OK" is sent. No answer, 5xx, and a 2xx without a
 * readable code retry (the message may or may not have gone: SendSms is
 * not idempotent, the caller decides); a code classifies by the tables
 * (throttled with the window: 30 s, 1 h, 1 min, the next Beijing day or
 * month; QPS limits 1 s; clock and nonce errors retry), 5xx never
 * permanent, 429 without a code throttled 1 s; unknown codes and other
 * answers are permanent. */
zq_sms_result zq_sms_classify(zq_sms_provider p, long http_status, const char *body, size_t len,
                              int64_t now_s);

/* "sent", "throttled", "retry", "permanent". */
const char *zq_sms_verdict_name(zq_sms_verdict v);

/* True for the vendors' clock and nonce codes (Tencent
 * AuthFailure.SignatureExpire and InternalError.RequestTimeException,
 * Alibaba SignatureNonceUsed and InvalidTimeStamp.Expired): a request
 * signed again at once, with a fresh timestamp and nonce, may pass; a
 * second one failing the same way will not (sms.md §1.5, §2.5). */
bool zq_sms_resign_code(const char *code);

/* ---- the [sms] provider (ch_sms.c) ---- */

/* The answer to a request rendered for kind sms (channel.h) under c:
 * zq_sms_classify for tencent and alibaba, the [sms_gateway] rules for
 * the gateway (no answer, 5xx and retry_codes retry; 429 and
 * throttle_codes are throttled for Retry-After or throttle_s; a status
 * in http_success whose code at success_pointer is in success_values is
 * sent, with msgid_pointer's id; a 2xx without a readable code retries;
 * anything else is permanent, with the code at error_pointer and the
 * message at error_message_pointer). retry_after: the Retry-After header
 * or NULL. A mobile number in the reason is masked (138****8000). */
zq_sms_result zq_sms_answer(const zq_sms_config *c, long http_status, const char *body, size_t len,
                            const char *retry_after, int64_t now_s);

/* The per-number limits under c (sms.md §3.1): the least seconds between
 * two SMS to one number, the most in any hour and in any 24 hours (0:
 * none). The provider's defaults (Tencent 30 s and 10 a day, Alibaba
 * 60 s, 5 an hour and 10 a day; the gateway none) stand for 0 in c; a
 * looser value is clamped to them, and *clamped (may be NULL) says so. */
void zq_sms_limits(const zq_sms_config *c, int *interval_s, int *per_hour, int *per_day,
                   bool *clamped);

#endif

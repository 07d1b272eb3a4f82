/* Queueing SMS: one templated message to one mainland mobile, as a direct
 * notice (notices.h) whose inline target is of kind sms (channel.h).
 * zhuqi-bot renders it for the [sms] provider (lib/push/ch_sms.c) with
 * the template of its use, and retries, limits and reports it like any
 * other outbox entry.
 *
 * What goes into Redis: the notice body {"use":...,"params":{name:value}}
 * (compact JSON, params in the order given), its meta {"type":"sms",
 * "use":...,"case":... or null}, and an inline target {"id":"sms-<16
 * hex>","channel":"sms","address":"<11 digits>"}. The number is never in
 * an id or a log line. */
#ifndef ZHUQI_SMSQ_H
#define ZHUQI_SMSQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuqi/common.h"
#include "zhuqi/config.h"
#include "zhuqi/notices.h"
#include "zhuqi/sms.h"
#include "zhuqi/store.h"
#include "zhuqi/targets.h"

/* The uses and their param names: ZQ_SMS_USES in config.h. */
#define ZQ_SMS_USE_MAX 16 /* bytes of a use, NUL included */

typedef struct zq_sms_msg {
    const char *mobile;        /* any form zq_sms_phone_bare takes */
    const char *use;           /* one of ZQ_SMS_USES */
    const char *const *names;  /* template variable names ... */
    const char *const *values; /* ... and values, nparams of each (<= ZQ_SMS_MAX_PARAMS) */
    size_t nparams;
    const char *case_id; /* the case the message is about (for its history line), or NULL */
    const char *mark;    /* once-key as zq_notice_new.mark (full key), or NULL */
    int mark_ttl_s;
    int64_t now_ms;
} zq_sms_msg;

/* True when [sms] provider is not "none". */
bool zq_sms_enabled(const zq_config *cfg);

/* True when use is one of ZQ_SMS_USES. */
bool zq_sms_use_valid(const char *use);

/* The inline target id of a mobile: "sms-" and 16 hex digits of the
 * SHA-256 of "zhuqi-sms:" + its 11 bare digits, into out. Every message
 * to one number has this id, so the per-target rate limits are per
 * number. Returns 0, or -ZQ_EINVAL when mobile is not a mainland
 * mobile. */
int zq_sms_target_id(const char *mobile, char out[ZQ_TARGET_ID_MAX]);

/* The use of a notice body zq_sms_queue wrote ({"use":...}): its index
 * in ZQ_SMS_USES, or -1 when body is not such a body. */
int zq_sms_body_use(const char *body);

/* Queues one SMS (a direct notice, zq_notice_send_direct, to an inline
 * target of kind sms; the prio lane for use "code", the main lane
 * otherwise). The names must be params of the use (config.h). A code's
 * notice is not listed among the staff's notices and expires after an
 * hour (or [sms] code_max_age_s and ten minutes, when longer); a status
 * message's after 30 days. Returns 0 and
 * the notice id (ZQ_NOTICE_ID_MAX bytes; *created false when mark
 * existed: the first message's id), -ZQ_EINVAL (bad mobile, use or
 * params: names must be 1..32 of a-z 0-9 _, distinct; values UTF-8
 * without control characters, at most ZQ_SMS_MAX_FIELD bytes),
 * -ZQ_ENOTSUP when SMS is not configured or the use has no template
 * (zq_sms_use_configured), -ZQ_EUNAVAIL, -ZQ_EREPLY;
 * err says which. */
int zq_sms_queue(zq_store *st, const zq_config *cfg, const zq_sms_msg *m, char id[ZQ_NOTICE_ID_MAX],
                 bool *created, zq_err *err);

#endif

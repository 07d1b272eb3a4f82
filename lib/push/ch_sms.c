/* SMS as an outbound kind: a target is a mainland mobile (the 11 bare
 * digits), created only by the system (smsq.h), and a message's body is
 * the JSON smsq.c writes ({"use","params"}), rendered into the [sms]
 * provider's SendSms request. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "channel_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"
#include "zhuqi/sms.h"

/* The body smsq.c writes is small; anything near this is not ours. */
#define SMS_BODY_MAX 4096

/* True when [sms] names a provider. */
static bool sms_configured(const zq_sms_config *c)
{
    return c->provider[0] != '\0' && strcmp(c->provider, "none") != 0;
}

static int sms_check(const zq_channel_config *cc, const zq_target *t, zq_err *err)
{
    char bare[12];

    (void)cc;
    /* The address is stored bare: anything else was not written by us. */
    if (zq_sms_phone_bare(t->address, bare) < 0 || strcmp(bare, t->address) != 0)
        return zq_err_set(err, ZQ_EINVAL, "target %.48s: not a mainland mobile number", t->id);
    return 0;
}

/* The body as it is: the provider's request is built from it whole. */
static int sms_compose(const zq_ch_render *rd, const zq_buf *title, const zq_buf *body,
                       zq_ch_text *tx)
{
    (void)title;
    (void)rd;
    zq_buf_append(&tx->full, body->data ? body->data : "", body->len);
    tx->wm = W_BYTES;
    tx->label_in_text = false;
    return tx->full.oom ? -ZQ_ENOMEM : 0;
}

static int sms_render(zq_ch_render *rd)
{
    if (!sms_configured(&rd->cc->sms))
        return zq_err_set(rd->err, ZQ_ENOTSUP, "sms: not configured ([sms] provider = none)");
    return zq_err_set(rd->err, ZQ_ENOTSUP, "sms: provider %s cannot send yet",
                      rd->cc->sms.provider);
}

/* The vendors' answers are read by zq_sms_classify (sms.h), which knows
 * their codes and windows; this is only reached without a provider. */
static zq_delivery sms_classify(long status, json_t *o, const char *retry_after,
                                int64_t *retry_after_ms, char *reason, size_t reasonsz)
{
    (void)o;
    (void)retry_after;
    (void)retry_after_ms;
    zq_ch_say(reason, reasonsz, "sms: HTTP %ld", status);
    return ZQ_DELIVERY_FAIL;
}

/* Never reached from the staff API (it refuses "sms"): normalises any
 * form zq_sms_phone_bare takes. */
static int sms_address(const char *in, char *out, size_t outsz, const char **msg)
{
    char bare[12];

    if (zq_sms_phone_bare(in, bare) < 0 || zq_fmt(out, outsz, "%s", bare) < 0) {
        *msg = "手机号码应为 11 位中国大陆手机号。";
        return -1;
    }
    return 0;
}

static void sms_settings(const zq_config *cfg, zq_channel_limits *lim, const char **base_url)
{
    (void)cfg;
    *base_url = NULL;
    lim->max_bytes = SMS_BODY_MAX;
}

const zq_channel_ops zq_ch_sms = {
    .kind = ZQ_CH_SMS,
    .name = "sms",
    .default_base = "",
    .limits = {SMS_BODY_MAX, 0, 0, 0},
    .address = sms_address,
    .sample_address = "13800138000",
    .settings = sms_settings,
    .check = sms_check,
    .compose = sms_compose,
    .render = sms_render,
    .classify = sms_classify,
};

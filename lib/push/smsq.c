/* Queueing SMS (smsq.h): the message checked and written as a direct
 * notice to an inline target of kind sms. */
#include "zhuqi/smsq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "zhuqi/buf.h"
#include "zhuqi/channel.h"

/* A code is useless after minutes (it is kept an hour, or its max age
 * and ten minutes when that is longer, so that it outlives its entry); a
 * status message is kept like the other case messages (bot/events.c). */
#define CODE_TTL_S 3600
#define STATUS_TTL_S (30 * 86400)
#define PARAM_NAME_MAX 32

bool zq_sms_enabled(const zq_config *cfg)
{
    return cfg != NULL && cfg->sms.provider[0] != '\0' && strcmp(cfg->sms.provider, "none") != 0;
}

bool zq_sms_use_valid(const char *use)
{
    return zq_sms_use_index(use) >= 0;
}

int zq_sms_body_use(const char *body)
{
    json_t *root = body != NULL ? json_loads(body, 0, NULL) : NULL;
    int use = zq_sms_use_index(json_string_value(json_object_get(root, "use")));

    json_decref(root);
    return use;
}

int zq_sms_target_id(const char *mobile, char out[ZQ_TARGET_ID_MAX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char bare[12], seed[32], hex[17];

    out[0] = '\0';
    if (mobile == NULL || zq_sms_phone_bare(mobile, bare) < 0 ||
        zq_fmt(seed, sizeof(seed), "zhuqi-sms:%s", bare) < 0)
        return -ZQ_EINVAL;
    if (EVP_Digest(seed, strlen(seed), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 8)
        return -ZQ_EINVAL;
    zq_hex(md, 8, hex);
    return zq_fmt(out, ZQ_TARGET_ID_MAX, "sms-%s", hex) < 0 ? -ZQ_EINVAL : 0;
}

static bool name_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > PARAM_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static bool value_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (s == NULL || n > ZQ_SMS_MAX_FIELD || !zq_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static int check_msg(const zq_sms_msg *m, zq_err *err)
{
    char bare[12];

    if (m->mobile == NULL || zq_sms_phone_bare(m->mobile, bare) < 0)
        return zq_err_set(err, ZQ_EINVAL, "sms: not a mainland mobile number");
    if (!zq_sms_use_valid(m->use))
        return zq_err_set(err, ZQ_EINVAL, "sms: unknown use");
    if (m->nparams > ZQ_SMS_MAX_PARAMS ||
        (m->nparams > 0 && (m->names == NULL || m->values == NULL)))
        return zq_err_set(err, ZQ_EINVAL, "sms: 0 to %d params, names and values",
                          ZQ_SMS_MAX_PARAMS);
    for (size_t i = 0; i < m->nparams; i++) {
        if (!name_ok(m->names[i]))
            return zq_err_set(err, ZQ_EINVAL, "sms: param %zu: name must be 1 to %d of a-z 0-9 _",
                              i + 1, PARAM_NAME_MAX);
        if (!zq_sms_param_known(zq_sms_use_index(m->use), m->names[i]))
            return zq_err_set(err, ZQ_EINVAL, "sms: %s is not a param of %s", m->names[i], m->use);
        if (!value_ok(m->values[i]))
            return zq_err_set(err, ZQ_EINVAL,
                              "sms: param %s: value must be UTF-8 text of at most %d bytes",
                              m->names[i], ZQ_SMS_MAX_FIELD);
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->names[i], m->names[j]) == 0)
                return zq_err_set(err, ZQ_EINVAL, "sms: param %s given twice", m->names[i]);
    }
    if (m->case_id != NULL && !value_ok(m->case_id))
        return zq_err_set(err, ZQ_EINVAL, "sms: bad case id");
    return 0;
}

/* The body {"use","params"} and the meta {"type","use","case"}: new
 * strings, or NULL when out of memory. */
static char *body_json(const zq_sms_msg *m)
{
    json_t *params = json_object(), *root;
    char *s = NULL;
    int bad = params == NULL;

    for (size_t i = 0; !bad && i < m->nparams; i++)
        bad |= json_object_set_new(params, m->names[i], json_string(m->values[i]));
    root = json_object();
    bad |= root == NULL;
    bad |= json_object_set_new(root, "use", json_string(m->use));
    bad |= json_object_set(root, "params", params);
    if (!bad)
        s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(params);
    json_decref(root);
    return s;
}

static char *meta_json(const zq_sms_msg *m)
{
    json_t *root = json_object();
    char *s = NULL;
    int bad = root == NULL;

    bad |= json_object_set_new(root, "type", json_string("sms"));
    bad |= json_object_set_new(root, "use", json_string(m->use));
    bad |= json_object_set_new(root, "case", m->case_id ? json_string(m->case_id) : json_null());
    if (!bad)
        s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    return s;
}

int zq_sms_queue(zq_store *st, const zq_config *cfg, const zq_sms_msg *m, char id[ZQ_NOTICE_ID_MAX],
                 bool *created, zq_err *err)
{
    zq_direct_new in;
    zq_target t;
    char *body = NULL, *meta = NULL;
    bool code;
    int rc;

    if (created != NULL)
        *created = false;
    if (m == NULL || id == NULL)
        return zq_err_set(err, ZQ_EINVAL, "sms: missing argument");
    id[0] = '\0';
    rc = check_msg(m, err);
    if (rc < 0)
        return rc;
    if (!zq_sms_enabled(cfg))
        return zq_err_set(err, ZQ_ENOTSUP, "sms: not configured ([sms] provider = none)");
    if (!zq_sms_use_configured(&cfg->sms, zq_sms_use_index(m->use)))
        return zq_err_set(err, ZQ_ENOTSUP, "sms: no template for %s ([sms] tpl_%s)", m->use,
                          m->use);
    memset(&t, 0, sizeof(t));
    t.kind = ZQ_CH_SMS;
    /* check_msg took the number: these fit. */
    if (zq_sms_target_id(m->mobile, t.id) < 0 || zq_sms_phone_bare(m->mobile, t.address) < 0)
        return zq_err_set(err, ZQ_EINVAL, "sms: not a mainland mobile number");
    body = body_json(m);
    meta = meta_json(m);
    if (body == NULL || meta == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "sms: out of memory");
        goto out;
    }
    code = strcmp(m->use, "code") == 0;
    memset(&in, 0, sizeof(in));
    /* A code's notice is a "reply": it stays out of the staff's list of
     * notices (its body holds the code). */
    in.kind = code ? ZQ_NOTICE_REPLY : ZQ_NOTICE_CASE;
    in.title = code ? "短信验证码" : "办理进度短信";
    in.body = body;
    in.meta = meta;
    in.target = &t;
    in.prio = code;
    in.now_ms = m->now_ms;
    in.ttl_s = !code                                        ? STATUS_TTL_S
               : cfg->sms.code_max_age_s + 600 > CODE_TTL_S ? cfg->sms.code_max_age_s + 600
                                                            : CODE_TTL_S;
    in.mark = m->mark;
    in.mark_ttl_s = m->mark_ttl_s;
    rc = zq_notice_send_direct(st, &in, id, created, err);
out:
    free(body);
    free(meta);
    return rc;
}

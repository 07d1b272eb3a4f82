/* SMS as an outbound kind: a target is a mainland mobile (the 11 bare
 * digits), created only by the system (smsq.h), and a message's body is
 * the JSON smsq.c writes ({"use","params"}), rendered into the [sms]
 * provider's request: Tencent's or Alibaba's SendSms (built and signed by
 * sms.c) or the configured gateway's (specs/sms.md §4). Every render
 * signs afresh (timestamp, nonce), so every attempt carries a new
 * signature. The answers are read by zq_sms_answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "channel_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"
#include "zhuqi/sms.h"

/* The body smsq.c writes is small; anything near this is not ours. */
#define SMS_BODY_MAX 4096
#define TC_CTYPE "application/json; charset=utf-8"
#define FORM_CTYPE "application/x-www-form-urlencoded"
/* Gateway answers larger than this are not parsed. */
#define GW_MAX_ANSWER 65536

/* The provider [sms] names, or -1 for none / the gateway. */
static int vendor_of(const zq_sms_config *c)
{
    if (strcmp(c->provider, "tencent") == 0)
        return ZQ_SMS_TENCENT;
    if (strcmp(c->provider, "alibaba") == 0)
        return ZQ_SMS_ALIBABA;
    return -1;
}

static bool is_gateway(const zq_sms_config *c)
{
    return strcmp(c->provider, "gateway") == 0;
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

/* What one message is: its use, its params (borrowed from root) and the
 * template of the use. */
typedef struct sms_msg {
    json_t *root;
    int use;
    json_t *params;
    zq_sms_tpl tpl;
    const char *values[ZQ_SMS_TPL_PARAMS];
    const char *vendor[ZQ_SMS_TPL_PARAMS];
} sms_msg;

/* The value of param name ("" when the message has none). */
static const char *param(const sms_msg *m, const char *name)
{
    const char *v = json_string_value(json_object_get(m->params, name));

    return v != NULL ? v : "";
}

/* Reads the body and the use's template. Returns 0 or a negative code. */
static int read_msg(const zq_ch_render *rd, sms_msg *m)
{
    const zq_sms_config *c = &rd->cc->sms;
    const char *use, *key;
    json_t *v;
    char why[200];

    memset(m, 0, sizeof(*m));
    m->root = json_loads(rd->m->body ? rd->m->body : "", 0, NULL);
    use = json_string_value(json_object_get(m->root, "use"));
    m->use = zq_sms_use_index(use);
    m->params = json_object_get(m->root, "params");
    if (m->use < 0 || !json_is_object(m->params))
        return zq_err_set(rd->err, ZQ_EINVAL, "sms: the message is not an SMS (use and params)");
    json_object_foreach(m->params, key, v)
    {
        if (!json_is_string(v))
            return zq_err_set(rd->err, ZQ_EINVAL, "sms: param %.32s is not a string", key);
    }
    if (!zq_sms_use_configured(c, m->use))
        return zq_err_set(
            rd->err, ZQ_ENOTSUP, "sms: no template for %s ([sms] %s_%s)", use,
            is_gateway(c) && strcmp(c->gw.content_mode, "template") != 0 ? "text" : "tpl", use);
    if (c->tpl[m->use][0] != '\0' &&
        zq_sms_tpl_parse(m->use, c->tpl[m->use], &m->tpl, why, sizeof(why)) < 0)
        return zq_err_set(rd->err, ZQ_EINVAL, "sms: [sms] tpl_%s: %s", use, why);
    for (int i = 0; i < m->tpl.n; i++) {
        m->values[i] = param(m, m->tpl.name[i]);
        m->vendor[i] = m->tpl.vendor[i];
    }
    return 0;
}

/* host[:port] of an http(s) URL, into out. Returns 0 or -ZQ_EINVAL. */
static int authority(const char *url, char *out, size_t outsz)
{
    const char *p = strstr(url, "://");
    size_t n;

    if (p == NULL)
        return -ZQ_EINVAL;
    p += 3;
    n = strcspn(p, "/?#");
    if (n == 0 || n >= outsz)
        return -ZQ_EINVAL;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* Moves a signed vendor request into r: the Content-Type line becomes
 * r->content_type (the vendors' constants), the body is taken. */
static int from_vendor(zq_sms_req *sr, zq_outreq *r)
{
    if (zq_fmt(r->url, sizeof(r->url), "%s", sr->url) < 0)
        return -ZQ_ETOOBIG;
    r->content_type = "";
    for (int i = 0; i < sr->nheaders; i++) {
        if (strncmp(sr->headers[i], "Content-Type:", 13) == 0) {
            r->content_type = TC_CTYPE; /* the only one the vendors' requests carry */
            continue;
        }
        if (r->nheaders >= ZQ_OUTREQ_MAX_HEADERS ||
            zq_fmt(r->headers[r->nheaders], sizeof(r->headers[0]), "%s", sr->headers[i]) < 0)
            return -ZQ_ETOOBIG;
        r->nheaders++;
    }
    zq_buf_free(&r->body);
    r->body = sr->body;
    memset(&sr->body, 0, sizeof(sr->body));
    if (r->body.data == NULL && zq_buf_puts(&r->body, "") < 0)
        return -ZQ_ENOMEM;
    return 0;
}

static int render_vendor(zq_ch_render *rd, const sms_msg *m, zq_sms_provider p)
{
    const zq_sms_config *c = &rd->cc->sms;
    const char *base = p == ZQ_SMS_TENCENT ? c->tencent_base_url : c->alibaba_base_url;
    const char *phones[1] = {rd->t->address};
    zq_sms_send s;
    zq_sms_req sr;
    char host[256], nonce[33];
    int rc;

    if (authority(base, host, sizeof(host)) < 0)
        return zq_err_set(rd->err, ZQ_EINVAL, "sms: bad [sms] %s_base_url", c->provider);
    /* A fresh nonce per render: Alibaba refuses one it has seen. */
    if (zq_random_hex(nonce, 16) < 0)
        return zq_err_set(rd->err, ZQ_EIO, "sms: no random nonce");
    memset(&s, 0, sizeof(s));
    s.key_id = c->key_id;
    s.secret = c->secret;
    s.app_id = c->app_id;
    s.region = c->region;
    s.sign_name = c->sign_name;
    s.template_id = m->tpl.id;
    s.params = m->values;
    s.param_names = m->vendor;
    s.nparams = (size_t)m->tpl.n;
    s.phones = phones;
    s.nphones = 1;
    /* Our correlation id, echoed in receipts: notice and target. */
    s.session = rd->m->idem;
    s.timestamp = rd->now_ms / 1000;
    s.nonce = nonce;
    s.host = host;
    rc = zq_sms_request(p, &s, base, &sr, rd->err);
    if (rc < 0)
        return rc;
    rc = from_vendor(&sr, &rd->reqs[0]);
    zq_sms_req_free(&sr);
    if (rc < 0)
        return zq_err_set(rd->err, -rc, "sms: request too large");
    return 0;
}

/* ---- the gateway ---- */

/* "【sign】" + text with {name} replaced by the params, into b. */
static int render_text(const zq_sms_config *c, const sms_msg *m, zq_buf *b)
{
    const char *p = c->text[m->use];

    if (c->sign_name[0] != '\0')
        zq_buf_printf(b, "【%s】", c->sign_name);
    while (*p != '\0') {
        const char *open = strchr(p, '{'), *close = open ? strchr(open, '}') : NULL;
        char name[ZQ_SMS_PARAM_NAME_MAX];
        size_t n;

        if (open == NULL || close == NULL) {
            zq_buf_puts(b, p);
            break;
        }
        zq_buf_append(b, p, (size_t)(open - p));
        n = (size_t)(close - open - 1);
        if (n < sizeof(name)) {
            memcpy(name, open + 1, n);
            name[n] = '\0';
            zq_buf_puts(b, param(m, name));
        }
        p = close + 1;
    }
    if (b->data == NULL)
        zq_buf_puts(b, "");
    return b->oom ? -ZQ_ENOMEM : 0;
}

/* The values a field may use. Strings owned by the caller's buffers. */
typedef struct gw_vars {
    const char *phone_bare, *phone_e164, *rendered_text, *template_id, *params_json;
    const char *sign_name, *app_id, *key_id, *uuid, *unix_ms, *unix_s, *use;
} gw_vars;

static const char *var_of(const gw_vars *v, const char *name, size_t len)
{
    static const struct {
        const char *name;
        size_t off;
    } map[] = {
        {"phone_bare", offsetof(gw_vars, phone_bare)},
        {"phone_e164", offsetof(gw_vars, phone_e164)},
        {"rendered_text", offsetof(gw_vars, rendered_text)},
        {"template_id", offsetof(gw_vars, template_id)},
        {"params_json", offsetof(gw_vars, params_json)},
        {"sign_name", offsetof(gw_vars, sign_name)},
        {"app_id", offsetof(gw_vars, app_id)},
        {"key_id", offsetof(gw_vars, key_id)},
        {"uuid", offsetof(gw_vars, uuid)},
        {"unix_ms", offsetof(gw_vars, unix_ms)},
        {"unix_s", offsetof(gw_vars, unix_s)},
        {"use", offsetof(gw_vars, use)},
    };

    for (size_t i = 0; i < ZQ_ARRAY_LEN(map); i++)
        if (strlen(map[i].name) == len && memcmp(map[i].name, name, len) == 0) {
            const char *s = *(const char *const *)(const void *)((const char *)v + map[i].off);
            return s != NULL ? s : "";
        }
    return NULL;
}

/* tmpl with its {placeholders} replaced, into b. Returns 0 or a negative
 * code (an unknown placeholder: the loader refuses them). */
static int expand(const char *tmpl, const gw_vars *v, zq_buf *b)
{
    const char *p = tmpl;

    while (*p != '\0') {
        const char *open = strchr(p, '{'), *close = open ? strchr(open, '}') : NULL, *s;

        if (open == NULL || close == NULL) {
            zq_buf_puts(b, p);
            break;
        }
        zq_buf_append(b, p, (size_t)(open - p));
        s = var_of(v, open + 1, (size_t)(close - open - 1));
        if (s == NULL)
            return -ZQ_EINVAL;
        zq_buf_puts(b, s);
        p = close + 1;
    }
    if (b->data == NULL)
        zq_buf_puts(b, "");
    return b->oom ? -ZQ_ENOMEM : 0;
}

/* A random UUID (version 4) into out (37 bytes). */
static int uuid4(char out[37])
{
    unsigned char r[16];
    char h[33];

    if (zq_random_bytes(r, sizeof(r)) < 0)
        return -ZQ_EIO;
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    zq_hex(r, sizeof(r), h);
    return zq_fmt(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

/* The auth header of the gateway, when it has one. */
static int gw_auth(const zq_sms_config *c, zq_outreq *r)
{
    char *line = r->headers[r->nheaders];
    size_t sz = sizeof(r->headers[0]);
    int rc = 0;

    if (strcmp(c->gw.auth, "bearer") == 0) {
        rc = zq_fmt(line, sz, "Authorization: Bearer %s", c->secret);
    } else if (strcmp(c->gw.auth, "header") == 0) {
        rc = zq_fmt(line, sz, "%s: %s", c->gw.auth_header, c->secret);
    } else if (strcmp(c->gw.auth, "basic") == 0) {
        char user[512];
        unsigned char b64[700];
        int n;

        rc = zq_fmt(user, sizeof(user), "%s:%s", c->key_id, c->secret);
        n = rc == 0 ? EVP_EncodeBlock(b64, (const unsigned char *)user, (int)strlen(user)) : -1;
        OPENSSL_cleanse(user, sizeof(user));
        rc = n < 0 ? -ZQ_ETOOBIG : zq_fmt(line, sz, "Authorization: Basic %s", (char *)b64);
    } else {
        return 0;
    }
    if (rc < 0)
        return -ZQ_ETOOBIG;
    r->nheaders++;
    return 0;
}

/* The fields as the body (json, form) or the query. */
static int gw_fields(const zq_sms_config *c, const gw_vars *vars, const char *params_json,
                     zq_outreq *r, zq_buf *query)
{
    bool json = strcmp(c->gw.body_format, "json") == 0;
    bool form = strcmp(c->gw.body_format, "form") == 0;
    json_t *root = json ? json_object() : NULL;
    zq_buf *out = form ? &r->body : query;
    int rc = 0, n = 0;

    if (json && root == NULL)
        return -ZQ_ENOMEM;
    for (int i = 0; rc == 0 && i < ZQ_SMS_GW_FIELDS; i++) {
        char name[65];
        const char *tmpl;
        zq_buf v = {0};

        if (c->gw.field[i][0] == '\0')
            continue;
        if (zq_sms_field_split(c->gw.field[i], name, &tmpl) < 0) {
            rc = -ZQ_EINVAL;
            break;
        }
        if (json && strcmp(tmpl, "{params_json}") == 0) {
            /* The params as an object, not a string holding JSON. */
            json_t *o = json_loads(params_json, 0, NULL);

            rc = o == NULL || json_object_set_new(root, name, o) < 0 ? -ZQ_ENOMEM : 0;
            continue;
        }
        rc = expand(tmpl, vars, &v);
        if (rc == 0 && json)
            rc = json_object_set_new(root, name, json_stringn(v.data, v.len)) < 0 ? -ZQ_ENOMEM : 0;
        else if (rc == 0) {
            if (n++ > 0)
                zq_buf_puts(out, "&");
            if (zq_url_encode(out, name) < 0 || zq_buf_puts(out, "=") < 0 ||
                zq_url_encode_n(out, v.data, v.len) < 0)
                rc = -ZQ_ENOMEM;
        }
        zq_buf_free(&v);
    }
    if (rc == 0 && json) {
        char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);

        rc = s == NULL || zq_buf_puts(&r->body, s) < 0 ? -ZQ_ENOMEM : 0;
        free(s);
        r->content_type = TC_CTYPE;
    } else if (rc == 0 && form) {
        r->content_type = FORM_CTYPE;
    }
    json_decref(root);
    return rc;
}

static int render_gateway(zq_ch_render *rd, const sms_msg *m)
{
    const zq_sms_config *c = &rd->cc->sms;
    zq_outreq *r = &rd->reqs[0];
    zq_buf text = {0}, query = {0};
    json_t *pj = json_object();
    char e164[16], uuid[37], ms[24], sec[24], *params_json = NULL;
    gw_vars v;
    int rc = 0;

    for (int i = 0; pj != NULL && i < m->tpl.n; i++)
        if (json_object_set_new(pj, m->tpl.vendor[i], json_string(m->values[i])) < 0)
            rc = -ZQ_ENOMEM;
    /* Text mode without a template: every param of the message. */
    if (pj != NULL && m->tpl.n == 0 && json_object_update(pj, m->params) < 0)
        rc = -ZQ_ENOMEM;
    params_json = pj != NULL ? json_dumps(pj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (params_json == NULL || rc < 0) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    if (strcmp(c->gw.content_mode, "template") != 0 && (rc = render_text(c, m, &text)) < 0)
        goto out;
    if (zq_fmt(e164, sizeof(e164), "+86%s", rd->t->address) < 0 || uuid4(uuid) < 0 ||
        zq_fmt(ms, sizeof(ms), "%lld", (long long)rd->now_ms) < 0 ||
        zq_fmt(sec, sizeof(sec), "%lld", (long long)(rd->now_ms / 1000)) < 0) {
        rc = -ZQ_EIO;
        goto out;
    }
    memset(&v, 0, sizeof(v));
    v.phone_bare = rd->t->address;
    v.phone_e164 = e164;
    v.rendered_text = text.data;
    v.template_id = m->tpl.id;
    v.params_json = params_json;
    v.sign_name = c->sign_name;
    v.app_id = c->app_id;
    v.key_id = c->key_id;
    v.uuid = uuid;
    v.unix_ms = ms;
    v.unix_s = sec;
    v.use = zq_sms_use_name(m->use);
    r->content_type = "";
    r->get = strcmp(c->gw.method, "GET") == 0;
    rc = gw_fields(c, &v, params_json, r, &query);
    if (rc == 0 && r->body.data == NULL)
        rc = zq_buf_puts(&r->body, "") < 0 ? -ZQ_ENOMEM : 0;
    if (rc == 0 && zq_fmt(r->url, sizeof(r->url), "%s%s%s", c->gw.url,
                          query.len == 0           ? ""
                          : strchr(c->gw.url, '?') ? "&"
                                                   : "?",
                          query.data ? query.data : "") < 0)
        rc = -ZQ_ETOOBIG;
    if (rc == 0)
        rc = gw_auth(c, r);
out:
    free(params_json);
    json_decref(pj);
    zq_buf_free(&text);
    zq_buf_free(&query);
    if (rc < 0)
        return zq_err_set(rd->err, -rc, "sms: cannot build the gateway request (%s)",
                          zq_strerror(-rc));
    return 0;
}

static int sms_render(zq_ch_render *rd)
{
    const zq_sms_config *c = &rd->cc->sms;
    sms_msg m;
    int rc, vendor = vendor_of(c);

    if (vendor < 0 && !is_gateway(c))
        return zq_err_set(rd->err, ZQ_ENOTSUP, "sms: not configured ([sms] provider = none)");
    if (rd->nparts != 1 || rd->nreqs != 1)
        return zq_err_set(rd->err, ZQ_EINVAL, "sms: the message is not an SMS (too long)");
    rc = read_msg(rd, &m);
    if (rc == 0)
        rc = vendor >= 0 ? render_vendor(rd, &m, (zq_sms_provider)vendor) : render_gateway(rd, &m);
    json_decref(m.root);
    return rc;
}

/* The vendors' answers are read by zq_sms_answer (sms.h), which knows
 * their codes and windows; zq_channel_classify only says it failed. */
static zq_delivery sms_classify(long status, json_t *o, const char *retry_after,
                                int64_t *retry_after_ms, char *reason, size_t reasonsz)
{
    (void)o;
    (void)retry_after;
    (void)retry_after_ms;
    zq_ch_say(reason, reasonsz, "sms: HTTP %ld (see zq_sms_answer)", status);
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

/* ---- answers and limits ---- */

/* Masks every run of 11 digits starting with 1 (a mobile) in s as
 * 138****8000: vendors may echo the number in their messages. */
static void mask_mobiles(char *s)
{
    for (size_t i = 0; s[i] != '\0'; i++) {
        size_t n = 0;

        while (s[i + n] >= '0' && s[i + n] <= '9')
            n++;
        if (n == 11 && s[i] == '1' && (i == 0 || !(s[i - 1] >= '0' && s[i - 1] <= '9')))
            memcpy(s + i + 3, "****", 4);
        i += n > 0 ? n - 1 : 0;
    }
}

/* The JSON value at an RFC 6901 pointer ("" is the whole document), or
 * NULL. Borrowed from root. */
static json_t *pointer_get(json_t *root, const char *ptr)
{
    json_t *cur = root;
    char tok[256];

    if (ptr == NULL || root == NULL)
        return NULL;
    while (*ptr != '\0' && cur != NULL) {
        size_t n = 0;

        if (*ptr != '/')
            return NULL;
        ptr++;
        while (*ptr != '\0' && *ptr != '/') {
            char ch = *ptr++;

            if (ch == '~') {
                if (*ptr != '0' && *ptr != '1')
                    return NULL;
                ch = *ptr++ == '0' ? '~' : '/';
            }
            if (n + 1 >= sizeof(tok))
                return NULL;
            tok[n++] = ch;
        }
        tok[n] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            long long idx;

            /* No leading zeros, digits only (RFC 6901 §4). */
            if (n == 0 || (n > 1 && tok[0] == '0') || zq_parse_ll(tok, n, 0, 1000000, &idx) < 0)
                return NULL;
            cur = json_array_get(cur, (size_t)idx);
        } else {
            return NULL;
        }
    }
    return cur;
}

/* A scalar as text ("0", "0000", "true"); false for objects, arrays,
 * null and missing values. */
static bool scalar_text(json_t *v, char *out, size_t outsz)
{
    if (json_is_string(v)) {
        /* A code longer than out is cut on a character boundary. */
        if (zq_fmt(out, outsz, "%s", json_string_value(v)) < 0)
            out[zq_utf8_cut(out, strlen(out), outsz - 1)] = '\0';
        return true;
    }
    if (json_is_integer(v))
        return zq_fmt(out, outsz, "%lld", (long long)json_integer_value(v)) == 0;
    if (json_is_real(v))
        return zq_fmt(out, outsz, "%g", json_real_value(v)) == 0;
    if (json_is_boolean(v))
        return zq_fmt(out, outsz, "%s", json_is_true(v) ? "true" : "false") == 0;
    return false;
}

static int64_t gw_wait_ms(const zq_sms_config *c, const char *retry_after)
{
    int64_t ra = zq_ch_retry_after(retry_after);

    return ra > 0 ? ra : (int64_t)c->gw.throttle_s * 1000;
}

static zq_sms_result gw_answer(const zq_sms_config *c, long status, const char *body, size_t len,
                               const char *retry_after)
{
    zq_sms_result r;
    json_t *root = NULL;
    char code[80] = "", msg[120] = "", st[16];
    const char *eptr = c->gw.error_pointer[0] ? c->gw.error_pointer : c->gw.success_pointer;
    bool have_code = false, ok_status;
    int lo = 200, hi = 299;

    memset(&r, 0, sizeof(r));
    r.verdict = ZQ_SMS_PERMANENT;
    if (status == 0) {
        r.verdict = ZQ_SMS_RETRY;
        zq_ch_say(r.reason, sizeof(r.reason), "gateway: no answer");
        return r;
    }
    if (zq_sms_http_range(c->gw.http_success, &lo, &hi) < 0) {
        lo = 200;
        hi = 299;
    }
    ok_status = status >= lo && status <= hi;
    if (body != NULL && len > 0 && len <= GW_MAX_ANSWER)
        root = json_loadb(body, len, 0, NULL);
    if (ok_status && c->gw.success_pointer[0] == '\0') {
        r.verdict = ZQ_SMS_SENT;
    } else if (ok_status &&
               scalar_text(pointer_get(root, c->gw.success_pointer), code, sizeof(code))) {
        have_code = true;
        if (zq_sms_code_in(c->gw.success_values, code))
            r.verdict = ZQ_SMS_SENT;
    }
    if (r.verdict == ZQ_SMS_SENT) {
        if (c->gw.msgid_pointer[0] != '\0' &&
            scalar_text(pointer_get(root, c->gw.msgid_pointer), msg, sizeof(msg)))
            zq_ch_say(r.msg_id, sizeof(r.msg_id), "%s", msg); /* printable, as logged */
        zq_ch_say(r.code, sizeof(r.code), "%s", code);
        zq_ch_say(r.reason, sizeof(r.reason), "gateway: accepted (HTTP %ld)", status);
        json_decref(root);
        return r;
    }
    if (eptr[0] != '\0' && (!have_code || eptr != c->gw.success_pointer))
        have_code = scalar_text(pointer_get(root, eptr), code, sizeof(code));
    if (c->gw.error_message_pointer[0] != '\0')
        scalar_text(pointer_get(root, c->gw.error_message_pointer), msg, sizeof(msg));
    json_decref(root);
    zq_fmt(st, sizeof(st), "%ld", status);
    zq_ch_say(r.code, sizeof(r.code), "%s", have_code ? code : "");
    if ((have_code && zq_sms_code_in(c->gw.throttle_codes, code)) || status == 429 ||
        zq_sms_code_in(c->gw.throttle_codes, st)) {
        r.verdict = ZQ_SMS_THROTTLED;
        r.retry_after_ms = gw_wait_ms(c, retry_after);
    } else if (status >= 500 || (have_code && zq_sms_code_in(c->gw.retry_codes, code)) ||
               zq_sms_code_in(c->gw.retry_codes, st) || (ok_status && !have_code)) {
        /* 5xx and retry codes; or accepted by HTTP with a code that cannot
         * be read: it may or may not have gone, as with the vendors. */
        r.verdict = ZQ_SMS_RETRY;
    }
    if (have_code)
        zq_ch_say(r.reason, sizeof(r.reason), "gateway %s (HTTP %ld): %s", code, status, msg);
    else
        zq_ch_say(r.reason, sizeof(r.reason), "gateway: HTTP %ld without a readable code%s%s",
                  status, msg[0] ? ": " : "", msg);
    return r;
}

zq_sms_result zq_sms_answer(const zq_sms_config *c, long http_status, const char *body, size_t len,
                            const char *retry_after, int64_t now_s)
{
    zq_sms_result r;
    int vendor = vendor_of(c);

    if (vendor >= 0) {
        r = zq_sms_classify((zq_sms_provider)vendor, http_status, body, len, now_s);
        /* A 429 or 503 may say how long. */
        if (r.verdict == ZQ_SMS_THROTTLED && http_status == 429 && zq_ch_retry_after(retry_after))
            r.retry_after_ms = zq_ch_retry_after(retry_after);
    } else if (is_gateway(c)) {
        r = gw_answer(c, http_status, body, len, retry_after);
    } else {
        memset(&r, 0, sizeof(r));
        r.verdict = ZQ_SMS_PERMANENT;
        zq_ch_say(r.reason, sizeof(r.reason), "sms: not configured");
    }
    mask_mobiles(r.reason);
    mask_mobiles(r.code);
    return r;
}

void zq_sms_limits(const zq_sms_config *c, int *interval_s, int *per_hour, int *per_day,
                   bool *clamped)
{
    int vendor = vendor_of(c);
    /* sms.md §3.1; the gateway states none. */
    int d_iv = vendor == ZQ_SMS_TENCENT ? 30 : vendor == ZQ_SMS_ALIBABA ? 60 : 0;
    int d_hour = vendor == ZQ_SMS_ALIBABA ? 5 : 0;
    int d_day = vendor >= 0 ? 10 : 0;
    bool cl = false;

    *interval_s = c->interval_s > 0 ? c->interval_s : d_iv;
    if (*interval_s < d_iv) {
        *interval_s = d_iv;
        cl = true;
    }
    *per_hour = c->per_hour > 0 ? c->per_hour : d_hour;
    if (d_hour > 0 && *per_hour > d_hour) {
        *per_hour = d_hour;
        cl = true;
    }
    *per_day = c->per_day > 0 ? c->per_day : d_day;
    if (d_day > 0 && *per_day > d_day) {
        *per_day = d_day;
        cl = true;
    }
    if (clamped != NULL)
        *clamped = cl;
}

/* The [sms] and [sms_gateway] settings beyond single keys: the uses and
 * their params, the tpl_<use> syntax, the gateway's fields and codes, and
 * the rules a provider must satisfy to work at all (checked at load, so
 * that a configuration that cannot send is a startup error, not a queue
 * of dead letters). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zhuqi/buf.h"
#include "zhuqi/config.h"

static const char *const use_names[ZQ_SMS_NUSES] = {ZQ_SMS_USES};

/* Writes the reason and returns -ZQ_EINVAL. */
static int refuse(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t whysz, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    zq_vfmt_msg(why, whysz, fmt, ap);
    va_end(ap);
    return -ZQ_EINVAL;
}
static const char *const code_params[] = {"code", "minutes"};
static const char *const status_params[] = {"case", "status", "deadline"};
static const char *const placeholders[] = {
    "phone_bare", "phone_e164", "rendered_text", "template_id", "params_json", "sign_name",
    "app_id",     "key_id",     "uuid",          "unix_ms",     "unix_s",      "use"};

int zq_sms_use_index(const char *use)
{
    for (int i = 0; use != NULL && i < ZQ_SMS_NUSES; i++)
        if (strcmp(use, use_names[i]) == 0)
            return i;
    return -1;
}

const char *zq_sms_use_name(int i)
{
    return i >= 0 && i < ZQ_SMS_NUSES ? use_names[i] : NULL;
}

bool zq_sms_param_known(int use, const char *name)
{
    const char *const *p = use == 0 ? code_params : status_params;
    size_t n = use == 0 ? ZQ_ARRAY_LEN(code_params) : ZQ_ARRAY_LEN(status_params);

    if (use < 0 || use >= ZQ_SMS_NUSES || name == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i], name) == 0)
            return true;
    return false;
}

bool zq_sms_placeholder_known(const char *name, size_t len)
{
    for (size_t i = 0; i < ZQ_ARRAY_LEN(placeholders); i++)
        if (strlen(placeholders[i]) == len && memcmp(placeholders[i], name, len) == 0)
            return true;
    return false;
}

/* len bytes of s are all letters, digits and the characters of extra. */
static bool chars_ok(const char *s, size_t len, const char *extra)
{
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && strchr(extra, s[i]) == NULL)
            return false;
    return len > 0;
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* The length of s without spaces at its end. */
static size_t trimmed_len(const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n;
}

/* One "[vendor=]name" item of len bytes at p into t's slot t->n. */
static int tpl_item(int use, const char *p, size_t len, zq_sms_tpl *t, char *why, size_t whysz)
{
    const char *eq = memchr(p, '=', len);
    const char *name = eq ? skip_space(eq + 1) : p;
    size_t vlen = trimmed_len(p, eq ? (size_t)(eq - p) : len);
    size_t nlen = trimmed_len(name, len - (size_t)(name - p));

    if (t->n >= ZQ_SMS_TPL_PARAMS) {
        zq_fmt_msg(why, whysz, "at most %d variables", ZQ_SMS_TPL_PARAMS);
        return -ZQ_EINVAL;
    }
    if (vlen >= ZQ_SMS_PARAM_NAME_MAX || !chars_ok(p, vlen, "_")) {
        zq_fmt_msg(why, whysz, "variable %d: a name of 1 to %d letters, digits or _", t->n + 1,
                   ZQ_SMS_PARAM_NAME_MAX - 1);
        return -ZQ_EINVAL;
    }
    memcpy(t->vendor[t->n], p, vlen);
    t->vendor[t->n][vlen] = '\0';
    if (nlen >= ZQ_SMS_PARAM_NAME_MAX || !chars_ok(name, nlen, "_")) {
        zq_fmt_msg(why, whysz, "variable %d: a name of 1 to %d letters, digits or _", t->n + 1,
                   ZQ_SMS_PARAM_NAME_MAX - 1);
        return -ZQ_EINVAL;
    }
    memcpy(t->name[t->n], name, nlen);
    t->name[t->n][nlen] = '\0';
    if (!zq_sms_param_known(use, t->name[t->n])) {
        zq_fmt_msg(why, whysz, "variable %d: \"%s\" is not a param of %s (%s)", t->n + 1,
                   t->name[t->n], use_names[use],
                   use == 0 ? "code, minutes" : "case, status, deadline");
        return -ZQ_EINVAL;
    }
    t->n++;
    return 0;
}

int zq_sms_tpl_parse(int use, const char *s, zq_sms_tpl *out, char *why, size_t whysz)
{
    const char *colon, *p;
    size_t idlen;

    memset(out, 0, sizeof(*out));
    if (use < 0 || use >= ZQ_SMS_NUSES || s == NULL) {
        zq_fmt_msg(why, whysz, "unknown use");
        return -ZQ_EINVAL;
    }
    s = skip_space(s);
    colon = strchr(s, ':');
    idlen = trimmed_len(s, colon ? (size_t)(colon - s) : strlen(s));
    if (idlen >= sizeof(out->id) || !chars_ok(s, idlen, "_-.")) {
        zq_fmt_msg(why, whysz,
                   "must be \"<template id>: [vendor=]name, ...\"; the id 1 to 64 of "
                   "A-Z a-z 0-9 _ - .");
        return -ZQ_EINVAL;
    }
    memcpy(out->id, s, idlen);
    out->id[idlen] = '\0';
    if (colon == NULL)
        return 0;
    p = skip_space(colon + 1);
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (tpl_item(use, p, len, out, why, whysz) < 0)
            return -ZQ_EINVAL;
        for (int i = 0; i < out->n - 1; i++)
            if (strcmp(out->name[i], out->name[out->n - 1]) == 0 ||
                strcmp(out->vendor[i], out->vendor[out->n - 1]) == 0) {
                zq_fmt_msg(why, whysz, "variable %s named twice", out->name[out->n - 1]);
                return -ZQ_EINVAL;
            }
        if (comma == NULL)
            break;
        p = skip_space(comma + 1);
        if (*p == '\0') {
            zq_fmt_msg(why, whysz, "a comma without a variable after it");
            return -ZQ_EINVAL;
        }
    }
    return 0;
}

int zq_sms_http_range(const char *s, int *lo, int *hi)
{
    const char *dash = s ? strchr(s, '-') : NULL;
    long long a, b;

    if (s == NULL)
        return -ZQ_EINVAL;
    if (dash == NULL) {
        if (zq_parse_ll(s, strlen(s), 100, 599, &a) < 0)
            return -ZQ_EINVAL;
        b = a;
    } else if (zq_parse_ll(s, (size_t)(dash - s), 100, 599, &a) < 0 ||
               zq_parse_ll(dash + 1, strlen(dash + 1), 100, 599, &b) < 0 || b < a) {
        return -ZQ_EINVAL;
    }
    *lo = (int)a;
    *hi = (int)b;
    return 0;
}

bool zq_sms_code_in(const char *list, const char *v)
{
    const char *p = list;
    size_t vlen = v ? strlen(v) : 0;

    if (list == NULL || v == NULL)
        return false;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *q = skip_space(p);

        len = trimmed_len(q, len - (size_t)(q - p));
        if (len >= 2 && q[0] == '"' && q[len - 1] == '"') {
            q++;
            len -= 2;
        }
        if (len == vlen && memcmp(q, v, len) == 0)
            return true;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return false;
}

int zq_sms_field_split(const char *s, char name[65], const char **value)
{
    const char *eq = s ? strchr(s, '=') : NULL;
    const char *n0;
    size_t nlen;

    if (eq == NULL)
        return -ZQ_EINVAL;
    n0 = skip_space(s);
    nlen = trimmed_len(n0, (size_t)(eq - n0));
    if (nlen == 0 || nlen > 64 || !chars_ok(n0, nlen, "_-."))
        return -ZQ_EINVAL;
    memcpy(name, n0, nlen);
    name[nlen] = '\0';
    *value = skip_space(eq + 1);
    return 0;
}

/* Checks the {placeholders} of a gateway field value: known, closed, and
 * those of the other content mode absent. */
static int check_value(const char *key, const char *v, bool text_mode, char *why, size_t whysz)
{
    const char *p = v;

    while ((p = strchr(p, '{')) != NULL) {
        const char *end = strchr(p, '}');
        size_t len;

        if (end == NULL) {
            zq_fmt_msg(why, whysz, "[sms_gateway] %s: \"{\" without \"}\"", key);
            return -ZQ_EINVAL;
        }
        len = (size_t)(end - p - 1);
        if (!zq_sms_placeholder_known(p + 1, len)) {
            zq_fmt_msg(why, whysz,
                       "[sms_gateway] %s: unknown placeholder {%.*s} (known: phone_bare, "
                       "phone_e164, rendered_text, template_id, params_json, sign_name, app_id, "
                       "key_id, uuid, unix_ms, unix_s, use)",
                       key, (int)(len < 40 ? len : 40), p + 1);
            return -ZQ_EINVAL;
        }
        if ((text_mode && (len == 11 && memcmp(p + 1, "template_id", 11) == 0)) ||
            (!text_mode && len == 13 && memcmp(p + 1, "rendered_text", 13) == 0)) {
            zq_fmt_msg(why, whysz, "[sms_gateway] %s: {%.*s} is not available with content_mode %s",
                       key, (int)len, p + 1, text_mode ? "text" : "template");
            return -ZQ_EINVAL;
        }
        p = end + 1;
    }
    return 0;
}

/* Checks text_<use>: {name} placeholders of the use's params only. */
static int check_text(int use, const char *s, char *why, size_t whysz)
{
    const char *p = s;
    char name[ZQ_SMS_PARAM_NAME_MAX];

    if (!zq_utf8_valid(s, strlen(s))) {
        zq_fmt_msg(why, whysz, "[sms] text_%s: not UTF-8", use_names[use]);
        return -ZQ_EINVAL;
    }
    while ((p = strchr(p, '{')) != NULL) {
        const char *end = strchr(p, '}');
        size_t len = end ? (size_t)(end - p - 1) : 0;

        if (end == NULL || len == 0 || len >= sizeof(name)) {
            zq_fmt_msg(why, whysz, "[sms] text_%s: a \"{\" without a param name and \"}\"",
                       use_names[use]);
            return -ZQ_EINVAL;
        }
        memcpy(name, p + 1, len);
        name[len] = '\0';
        if (!zq_sms_param_known(use, name)) {
            zq_fmt_msg(why, whysz, "[sms] text_%s: {%s} is not a param of %s (%s)", use_names[use],
                       name, use_names[use], use == 0 ? "code, minutes" : "case, status, deadline");
            return -ZQ_EINVAL;
        }
        p = end + 1;
    }
    return 0;
}

static bool gw_text_mode(const zq_sms_config *c)
{
    return strcmp(c->gw.content_mode, "template") != 0;
}

bool zq_sms_use_configured(const zq_sms_config *c, int use)
{
    if (c == NULL || use < 0 || use >= ZQ_SMS_NUSES || c->provider[0] == '\0' ||
        strcmp(c->provider, "none") == 0)
        return false;
    if (strcmp(c->provider, "gateway") == 0 && gw_text_mode(c))
        return c->text[use][0] != '\0';
    return c->tpl[use][0] != '\0';
}

static bool one_of(const char *v, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v, set[i]) == 0)
            return true;
    return false;
}

/* A JSON pointer: "" or "/..." without control characters. */
static bool pointer_ok(const char *s)
{
    if (s[0] != '\0' && s[0] != '/')
        return false;
    for (const char *p = s; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20)
            return false;
    return true;
}

static int check_gateway(const zq_sms_config *c, char *why, size_t whysz)
{
    static const char *const methods[] = {"POST", "GET"};
    static const char *const formats[] = {"json", "form", "query"};
    static const char *const modes[] = {"text", "template"};
    static const char *const auths[] = {"none", "basic", "bearer", "header"};
    bool text = gw_text_mode(c);
    int lo, hi, nfields = 0;

    if (strncmp(c->gw.url, "https://", 8) != 0 && strncmp(c->gw.url, "http://", 7) != 0)
        return refuse(why, whysz, "[sms_gateway] url: needed, an http(s) URL");
    if (!one_of(c->gw.method, methods, ZQ_ARRAY_LEN(methods)))
        return refuse(why, whysz, "[sms_gateway] method: must be POST or GET");
    if (!one_of(c->gw.body_format, formats, ZQ_ARRAY_LEN(formats)))
        return refuse(why, whysz, "[sms_gateway] body_format: must be json, form or query");
    if (strcmp(c->gw.method, "GET") == 0 && strcmp(c->gw.body_format, "query") != 0)
        return refuse(why, whysz, "[sms_gateway] body_format: must be query with method GET");
    if (!one_of(c->gw.content_mode, modes, ZQ_ARRAY_LEN(modes)))
        return refuse(why, whysz, "[sms_gateway] content_mode: must be text or template");
    if (!one_of(c->gw.auth, auths, ZQ_ARRAY_LEN(auths)))
        return refuse(why, whysz, "[sms_gateway] auth: must be none, basic, bearer or header");
    if (strcmp(c->gw.auth, "none") != 0 && c->secret[0] == '\0')
        return refuse(why, whysz,
                      "[sms_gateway] auth %s: needs the secret (ZHUQI_SMS_SECRET or [sms] "
                      "secret_file)",
                      c->gw.auth);
    if (strcmp(c->gw.auth, "basic") == 0 && (c->key_id[0] == '\0' || strchr(c->key_id, ':')))
        return refuse(why, whysz,
                      "[sms_gateway] auth basic: needs [sms] key_id (the user, "
                      "without \":\")");
    if (strcmp(c->gw.auth, "header") == 0 &&
        !chars_ok(c->gw.auth_header, strlen(c->gw.auth_header), "-_"))
        return refuse(why, whysz,
                      "[sms_gateway] auth_header: needed with auth header, a "
                      "header name");
    for (int i = 0; i < ZQ_SMS_GW_FIELDS; i++) {
        char key[16], name[65];
        const char *v;

        if (c->gw.field[i][0] == '\0')
            continue;
        zq_fmt_msg(key, sizeof(key), "field_%d", i + 1);
        if (zq_sms_field_split(c->gw.field[i], name, &v) < 0)
            return refuse(why, whysz,
                          "[sms_gateway] %s: must be \"name = value\" (name 1 to 64 of "
                          "A-Z a-z 0-9 _ - .)",
                          key);
        if (check_value(key, v, text, why, whysz) < 0)
            return -ZQ_EINVAL;
        nfields++;
    }
    if (nfields == 0)
        return refuse(why, whysz,
                      "[sms_gateway] field_1: at least one field is needed "
                      "(e.g. mobile = {phone_bare})");
    if (!pointer_ok(c->gw.success_pointer) || !pointer_ok(c->gw.msgid_pointer) ||
        !pointer_ok(c->gw.error_pointer) || !pointer_ok(c->gw.error_message_pointer))
        return refuse(why, whysz,
                      "[sms_gateway] *_pointer: a JSON pointer (RFC 6901) starts "
                      "with /");
    if (c->gw.success_pointer[0] != '\0' && c->gw.success_values[0] == '\0')
        return refuse(why, whysz,
                      "[sms_gateway] success_values: needed with "
                      "success_pointer");
    if (zq_sms_http_range(c->gw.http_success, &lo, &hi) < 0)
        return refuse(why, whysz, "[sms_gateway] http_success: must be A-B or A (100..599)");
    return 0;
}

int zq_sms_config_check(const zq_sms_config *c, char *why, size_t whysz)
{
    bool tencent = strcmp(c->provider, "tencent") == 0;
    bool alibaba = strcmp(c->provider, "alibaba") == 0;
    bool gateway = strcmp(c->provider, "gateway") == 0;
    zq_sms_tpl t;
    char r[160];
    int nuses = 0;

    /* Templates are checked whatever the provider: a typo shows at once. */
    for (int i = 0; i < ZQ_SMS_NUSES; i++) {
        if (c->tpl[i][0] != '\0' && zq_sms_tpl_parse(i, c->tpl[i], &t, r, sizeof(r)) < 0)
            return refuse(why, whysz, "[sms] tpl_%s: %s", use_names[i], r);
        if (c->text[i][0] != '\0' && check_text(i, c->text[i], why, whysz) < 0)
            return -ZQ_EINVAL;
    }
    if (!tencent && !alibaba && !gateway)
        return 0;
    if ((tencent || alibaba) && (c->key_id[0] == '\0' || c->secret[0] == '\0'))
        return refuse(why, whysz,
                      "[sms] provider %s: needs key_id and the secret (ZHUQI_SMS_SECRET or "
                      "secret_file)",
                      c->provider);
    if (tencent && (c->app_id[0] == '\0' || !chars_ok(c->app_id, strlen(c->app_id), "")))
        return refuse(why, whysz,
                      "[sms] provider tencent: needs app_id (the SmsSdkAppId, "
                      "digits)");
    if (tencent && !chars_ok(c->region, strlen(c->region), "-"))
        return refuse(why, whysz, "[sms] region: a region such as ap-guangzhou");
    if ((tencent || alibaba) && c->sign_name[0] == '\0')
        return refuse(why, whysz, "[sms] provider %s: needs sign_name (the approved signature)",
                      c->provider);
    if (c->sign_name[0] != '\0' &&
        (!zq_utf8_valid(c->sign_name, strlen(c->sign_name)) || strstr(c->sign_name, "【") != NULL ||
         strstr(c->sign_name, "】") != NULL || strpbrk(c->sign_name, "\t\r\n") != NULL))
        return refuse(why, whysz, "[sms] sign_name: the signature text, without 【】");
    if (gateway && check_gateway(c, why, whysz) < 0)
        return -ZQ_EINVAL;
    for (int i = 0; i < ZQ_SMS_NUSES; i++)
        nuses += zq_sms_use_configured(c, i);
    if (nuses == 0)
        return refuse(why, whysz,
                      "[sms] provider %s: no message can be sent: set tpl_<use>%s (uses: code, "
                      "accepted, rejected, transferred, needs_info, answered, closed)",
                      c->provider, gateway && gw_text_mode(c) ? " and text_<use>" : "");
    return 0;
}

int zq_secret_file_read(const char *path, char *out, size_t outsz, char *why, size_t whysz)
{
    struct stat sb;
    char eb[128];
    ssize_t got = 0, r;
    size_t n;
    int fd, rc = -ZQ_EINVAL;

    out[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        zq_fmt_msg(why, whysz, "cannot open %s: %s", path, strerror_r(errno, eb, sizeof(eb)));
        return -ZQ_EIO;
    }
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        zq_fmt_msg(why, whysz, "%s: not a regular file", path);
        goto out;
    }
    if ((sb.st_mode & 077) != 0) {
        zq_fmt_msg(why, whysz, "%s: mode %03o lets others read it: chmod 600", path,
                   (unsigned)(sb.st_mode & 0777));
        goto out;
    }
    while ((size_t)got < outsz - 1 && (r = read(fd, out + got, outsz - 1 - (size_t)got)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            zq_fmt_msg(why, whysz, "cannot read %s: %s", path, strerror_r(errno, eb, sizeof(eb)));
            rc = -ZQ_EIO;
            goto out;
        }
        got += r;
    }
    n = (size_t)got;
    out[n] = '\0';
    if (n == outsz - 1 && sb.st_size >= (off_t)outsz) {
        zq_fmt_msg(why, whysz, "%s: longer than %zu bytes", path, outsz - 2);
        goto out;
    }
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    if (n == 0) {
        zq_fmt_msg(why, whysz, "%s: empty", path);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
            zq_fmt_msg(why, whysz, "%s: holds control characters", path);
            goto out;
        }
    rc = 0;
out:
    if (rc < 0)
        memset(out, 0, outsz);
    close(fd);
    return rc;
}

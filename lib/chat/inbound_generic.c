/* The generic chat channel, for custom integrations and tests: POST JSON
 * {"user","text"[,"id","chat","type"]} signed with X-Zhuqi-Timestamp and
 * X-Zhuqi-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." +
 * body)); the replies come back in the answer as {"replies":[...]}. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/channel.h"
#include "zhuqi/inbound.h"

static bool generic_configured(const zq_config *cfg)
{
    return cfg->generic.secret[0] != '\0';
}

/* The members of the body that count, each the value of its last
 * occurrence: a string (set, p/n a slice of the body or of a jansson
 * value) or, for id, an integer. */
typedef struct gstr {
    const char *p;
    size_t n;
    bool set;
} gstr;

typedef struct gbody {
    gstr user, chat, type, text, id;
    bool id_int;
    long long id_val;
} gbody;

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* A string without escapes or control characters, in valid UTF-8 (what
 * a message's members are): its slice in *v, and the position after its
 * closing quote; NULL for anything else. */
static const char *fast_string(const char *p, const char *end, gstr *v)
{
    const char *q;

    if (p >= end || *p != '"')
        return NULL;
    for (q = ++p; q < end && *q != '"'; q++)
        if ((unsigned char)*q < 0x20 || *q == '\\')
            return NULL;
    if (q >= end || !zq_utf8_valid(p, (size_t)(q - p)))
        return NULL;
    v->p = p;
    v->n = (size_t)(q - p);
    v->set = true;
    return q + 1;
}

/* An integer of at most 18 digits without leading zeros: its value in
 * *out, and the position after it; NULL for anything else. */
static const char *fast_int(const char *p, const char *end, long long *out)
{
    const char *d;
    long long v = 0;
    bool neg = p < end && *p == '-';

    d = p + neg;
    for (p = d; p < end && *p >= '0' && *p <= '9'; p++)
        if (p - d >= 18)
            return NULL;
    if (p == d || (*d == '0' && p - d > 1))
        return NULL;
    for (const char *q = d; q < p; q++)
        v = v * 10 + (*q - '0');
    *out = neg ? -v : v;
    return p;
}

static bool key_is(const gstr *k, const char *name, size_t n)
{
    return k->n == n && memcmp(k->p, name, n) == 0;
}

/* Reads a body that is one flat object of such strings and integers,
 * the shape every integration sends, without a JSON tree: jansson's
 * parse cost more than the rest of the adapter. False for anything else
 * (escapes, other kinds of value, nesting, bad syntax): the caller then
 * parses it with jansson, which decides as it always did. */
static bool fast_body(const char *body, size_t len, gbody *g)
{
    const char *p = body, *end = body + len;

    memset(g, 0, sizeof(*g));
    p = skip_ws(p, end);
    if (p >= end || *p++ != '{')
        return false;
    p = skip_ws(p, end);
    if (p < end && *p == '}') {
        p++;
        goto done;
    }
    for (;;) {
        gstr k = {0}, v = {0};
        gstr *slot = NULL;
        long long n = 0;
        bool is_int = false;

        p = fast_string(p, end, &k);
        if (p == NULL)
            return false;
        p = skip_ws(p, end);
        if (p >= end || *p++ != ':')
            return false;
        p = skip_ws(p, end);
        if (p < end && *p == '"') {
            p = fast_string(p, end, &v);
        } else {
            p = fast_int(p, end, &n);
            is_int = true;
        }
        if (p == NULL)
            return false;
        if (key_is(&k, "user", 4))
            slot = &g->user;
        else if (key_is(&k, "chat", 4))
            slot = &g->chat;
        else if (key_is(&k, "type", 4))
            slot = &g->type;
        else if (key_is(&k, "text", 4))
            slot = &g->text;
        else if (key_is(&k, "id", 2)) {
            slot = &g->id;
            g->id_int = is_int;
            g->id_val = n;
        }
        if (slot != NULL)
            *slot = v; /* an integer: not a string (v unset) */
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}') {
            p++;
            break;
        }
        return false;
    }
done:
    return skip_ws(p, end) == end;
}

static gstr str_of(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    gstr s = {0};

    if (json_is_string(v)) {
        s.p = json_string_value(v);
        s.n = json_string_length(v);
        s.set = true;
    }
    return s;
}

/* The members from a body jansson parsed (values borrowed from j). */
static void slow_body(json_t *j, gbody *g)
{
    json_t *id = json_object_get(j, "id");

    memset(g, 0, sizeof(*g));
    g->user = str_of(j, "user");
    g->chat = str_of(j, "chat");
    g->type = str_of(j, "type");
    g->text = str_of(j, "text");
    g->id = str_of(j, "id");
    g->id_int = json_is_integer(id);
    g->id_val = g->id_int ? (long long)json_integer_value(id) : 0;
}

/* Copies s into out (outsz bytes) like zq_inbound_copy: false, with out
 * "", when s is not set or does not fit. Strings here hold no NUL (the
 * fast path takes none; jansson refuses \u0000). */
static bool copy_str(char *out, size_t outsz, const gstr *s)
{
    out[0] = '\0';
    if (!s->set || s->n >= outsz || memchr(s->p, '\0', s->n) != NULL)
        return false;
    memcpy(out, s->p, s->n);
    out[s->n] = '\0';
    return true;
}

static int generic_parse(const zq_config *cfg, const zq_inbound_http *h, zq_inbound_msg *msg,
                         zq_inbound_resp *resp, zq_err *err)
{
    const char *ts = h->header ? h->header(h->ctx, "X-Zhuqi-Timestamp") : NULL;
    const char *sig = h->header ? h->header(h->ctx, "X-Zhuqi-Signature") : NULL;
    char want[72];
    json_t *j = NULL;
    gbody g;
    long long t;
    int rc = 0;

    msg->channel = "generic";
    if (ts == NULL || sig == NULL) {
        zq_err_set(err, ZQ_EAUTH, "generic: X-Zhuqi-Timestamp or X-Zhuqi-Signature missing");
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_signature", "签名参数缺失。");
    }
    if (zq_parse_ll(ts, strlen(ts), 0, 99999999999LL, &t) < 0 ||
        llabs(t * 1000 - h->now_ms) > ZQ_INBOUND_GENERIC_WINDOW_MS) {
        zq_err_set(err, ZQ_EAUTH, "generic: timestamp %.20s outside the window", ts);
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "stale_timestamp",
                                 "请求时间戳无效或已过期。");
    }
    if (zq_sign_generic(cfg->generic.secret, ts, h->body, h->body_len, want, sizeof(want)) < 0 ||
        !zq_ct_equal(sig, strlen(sig), want, strlen(want))) {
        zq_err_set(err, ZQ_EAUTH, "generic: signature does not match");
        return zq_inbound_reject(resp, 401, ZQ_EAUTH, "bad_signature", "签名校验失败。");
    }
    if (!fast_body(h->body, h->body_len, &g)) {
        j = json_loadb(h->body, h->body_len, 0, NULL);
        if (json_is_object(j))
            slow_body(j, &g);
        else
            memset(&g, 0, sizeof(g));
    }
    if (!copy_str(msg->user, 129, &g.user) || msg->user[0] == '\0') {
        zq_err_set(err, ZQ_EINVAL, "generic: body must be {\"user\": 1..128 bytes, ...}");
        rc = zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_request",
                               "请求内容应为 JSON 对象，并包含 user（1 到 128 字节）。");
        goto out;
    }
    if (!copy_str(msg->chat, 129, &g.chat) || msg->chat[0] == '\0')
        memcpy(msg->chat, msg->user, sizeof(msg->chat));
    /* 订阅 pushes to [generic] push_url, signed like every generic push,
     * with the chat in the body. */
    if (cfg->generic.push_url[0] != '\0' &&
        zq_inbound_copy(msg->target_address, sizeof(msg->target_address), cfg->generic.push_url) &&
        zq_inbound_copy(msg->target_chat_id, sizeof(msg->target_chat_id), msg->chat) &&
        zq_inbound_copy(msg->target_secret, sizeof(msg->target_secret), cfg->generic.secret)) {
        msg->can_push = true;
        msg->target_kind = ZQ_CH_GENERIC;
    }
    /* Without an id, a replay of the very same signed request is caught
     * by its signature. */
    if (g.id_int)
        rc = zq_fmt(msg->msg_id, sizeof(msg->msg_id), "%lld", g.id_val);
    else if (!copy_str(msg->msg_id, 129, &g.id) || msg->msg_id[0] == '\0')
        rc = zq_fmt(msg->msg_id, sizeof(msg->msg_id), "sig:%s", want + 7);
    if (rc < 0) {
        /* Not expected: both fit msg_id's 256 bytes. A cut id could
         * drop another message as its duplicate. */
        zq_err_set(err, ZQ_ETOOBIG, "generic: message id too long");
        rc = zq_inbound_reject(resp, 500, ZQ_ETOOBIG, "internal_error", "服务器内部错误。");
        goto out;
    }
    if (g.type.set && !(g.type.n == 4 && memcmp(g.type.p, "text", 4) == 0)) {
        msg->kind = ZQ_INBOUND_OTHER;
    } else if (g.text.set) {
        msg->kind = ZQ_INBOUND_TEXT;
        msg->text_len = g.text.n;
        msg->text = malloc(g.text.n + 1);
        if (msg->text == NULL) {
            rc = zq_inbound_reject(resp, 500, ZQ_ENOMEM, "internal_error", "服务器内部错误。");
            goto out;
        }
        memcpy(msg->text, g.text.p, g.text.n);
        msg->text[g.text.n] = '\0';
    } else {
        zq_err_set(err, ZQ_EINVAL, "generic: text missing");
        rc = zq_inbound_reject(resp, 400, ZQ_EINVAL, "bad_request", "请求内容缺少 text。");
    }
out:
    json_decref(j);
    return rc;
}

/* Appends s as a JSON string (quoted), escaped byte for byte as
 * jansson's compact dump escapes it, so the answer is the one it always
 * was, without building and dumping a tree. */
static void put_json_string(zq_buf *b, const char *s, size_t len)
{
    zq_buf_append(b, "\"", 1);
    zq_buf_json_escape_rules(b, s, len, ZQ_JSON_JANSSON);
    zq_buf_append(b, "\"", 1);
}

static int generic_render(const zq_config *cfg, const zq_inbound_msg *msg,
                          const zq_dialogue_replies *r, int64_t now_ms, zq_inbound_resp *resp,
                          zq_chat_outbox *out, zq_err *err)
{
    size_t max = zq_inbound_limit(cfg->channels.generic_max_bytes, ZQ_INBOUND_GENERIC_MAX);
    zq_buf *b = &resp->body;
    bool first = true;
    size_t i, total;

    (void)msg;
    (void)now_ms;
    (void)out;
    zq_buf_reset(b);
    for (i = 0, total = 32; i < r->n; i++)
        total += strlen(r->text[i]) + 16;
    /* Room for the usual answer (few escapes) in one allocation. */
    zq_buf_reserve(b, total);
    zq_buf_puts(b, "{\"replies\":[");
    for (i = 0; i < r->n; i++) {
        const char *p = r->text[i];
        size_t len = strlen(p);

        /* Not expected (replies are built from checked text); jansson,
         * which built this answer before, left such a reply out too. */
        if (!zq_utf8_valid(p, len))
            continue;
        while (len > 0) {
            size_t n = zq_inbound_part(p, len, max);

            if (!first)
                zq_buf_append(b, ",", 1);
            first = false;
            put_json_string(b, p, n);
            p += n;
            len -= n;
        }
    }
    zq_buf_puts(b, "]}");
    if (b->oom)
        return zq_err_set(err, ZQ_ENOMEM, "generic: out of memory");
    resp->status = 200;
    resp->content_type = "application/json; charset=utf-8";
    return 0;
}

const zq_inbound_adapter zq_inbound_generic = {
    .name = "generic",
    .configured = generic_configured,
    .parse = generic_parse,
    .render = generic_render,
};

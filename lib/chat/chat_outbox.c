/* Entries of the bot's priority lane for chat replies (layout in
 * include/zhuqi/chat_outbox.h). */
#include "zhuqi/chat_outbox.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/buf.h"
#include "zhuqi/log.h"

int zq_chat_outbox_push(zq_chat_outbox *o, const char *channel, const char *url, const char *body,
                        const char *const *headers, size_t nheaders, const char *auth,
                        int64_t expires_ms)
{
    zq_chat_outbox_entry *e;
    json_t *h;
    size_t i;

    if (o->n >= ZQ_CHAT_OUTBOX_MAX)
        return -ZQ_ETOOBIG;
    e = &o->e[o->n];
    memset(e, 0, sizeof(*e));
    /* A cut channel or token name would send to the wrong place. */
    if (zq_fmt(e->channel, sizeof(e->channel), "%s", channel) < 0 ||
        zq_fmt(e->auth, sizeof(e->auth), "%s", auth ? auth : "") < 0) {
        memset(e, 0, sizeof(*e));
        return -ZQ_EINVAL;
    }
    e->expires_ms = expires_ms;
    h = json_array();
    for (i = 0; h != NULL && i < nheaders; i++)
        json_array_append_new(h, json_string(headers[i]));
    e->headers = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    e->url = strdup(url);
    e->body = strdup(body);
    if (e->url == NULL || e->body == NULL || e->headers == NULL) {
        free(e->url);
        free(e->body);
        free(e->headers);
        memset(e, 0, sizeof(*e));
        return -ZQ_ENOMEM;
    }
    o->n++;
    return 0;
}

void zq_chat_outbox_clear(zq_chat_outbox *o)
{
    size_t i;

    for (i = 0; i < o->n; i++) {
        free(o->e[i].url);
        free(o->e[i].body);
        free(o->e[i].headers);
    }
    memset(o, 0, sizeof(*o));
}

int zq_chat_outbox_series(zq_chat_outbox_entry *e, int parts, const char *rl)
{
    size_t n;

    if (parts < 0 || parts > ZQ_CHAT_OUTBOX_MAX_PARTS ||
        (rl != NULL && strlen(rl) >= sizeof(e->rl)))
        return -ZQ_EINVAL;
    e->parts_s[0] = '\0';
    if (parts > 0 && zq_fmt(e->parts_s, sizeof(e->parts_s), "%d", parts) < 0)
        return -ZQ_EINVAL;
    e->parts = parts;
    n = rl ? strlen(rl) : 0;
    memcpy(e->rl, rl ? rl : "", n);
    e->rl[n] = '\0';
    return 0;
}

size_t zq_chat_outbox_fields(const zq_chat_outbox_entry *e, int64_t now_ms, char created[24],
                             char expires[24], const char **argv)
{
    size_t n = 0;

    /* 24 bytes hold any int64, so this fails only if that stops being so. */
    if (zq_fmt(created, 24, "%lld", (long long)now_ms) < 0 ||
        zq_fmt(expires, 24, "%lld", (long long)e->expires_ms) < 0)
        return 0;
    argv[n++] = "kind";
    argv[n++] = "reply";
    argv[n++] = "channel";
    argv[n++] = e->channel;
    argv[n++] = "url";
    argv[n++] = e->url;
    argv[n++] = "body";
    argv[n++] = e->body;
    argv[n++] = "headers";
    argv[n++] = e->headers;
    argv[n++] = "auth";
    argv[n++] = e->auth;
    argv[n++] = "created_ms";
    argv[n++] = created;
    argv[n++] = "expires_ms";
    argv[n++] = expires;
    if (e->parts_s[0] != '\0') {
        argv[n++] = "parts";
        argv[n++] = e->parts_s;
    }
    if (e->rl[0] != '\0') {
        argv[n++] = "rl";
        argv[n++] = e->rl;
    }
    return n;
}

int zq_chat_outbox_send(zq_store *st, const zq_chat_outbox *o, int64_t now_ms, zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX], created[24], expires[24];
    const char *argv[6 + ZQ_CHAT_OUTBOX_FIELDS];
    size_t i;
    int rc = 0;

    if (zq_store_key(st, key, sizeof(key), "%s", ZQ_CHAT_OUTBOX_STREAM) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "outbox: key prefix too long");
    for (i = 0; i < o->n; i++) {
        redisReply *r;
        size_t n;

        argv[0] = "XADD";
        argv[1] = key;
        argv[2] = "MAXLEN";
        argv[3] = "~";
        argv[4] = ZQ_CHAT_OUTBOX_MAXLEN;
        n = zq_chat_outbox_fields(&o->e[i], now_ms, created, expires, argv + 6);
        if (n == 0)
            return zq_err_set(err, ZQ_EINVAL, "outbox: cannot format an entry");
        argv[5] = "*";
        r = zq_store_commandv(st, err, (int)(6 + n), argv, NULL);
        if (r == NULL)
            return -ZQ_EUNAVAIL;
        if (r->type == REDIS_REPLY_ERROR) {
            rc = zq_err_set(err, ZQ_EREPLY, "outbox: %s", r->str);
            freeReplyObject(r);
            return rc;
        }
        freeReplyObject(r);
    }
    return 0;
}

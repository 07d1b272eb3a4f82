/* What the inbound adapters share: rejections in the API's
 * error shape, byte-aware splitting and safe ids. */
#include "zhuqi/inbound.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/log.h"

void zq_inbound_msg_clear(zq_inbound_msg *m)
{
    free(m->text);
    memset(m, 0, sizeof(*m));
}

void zq_inbound_resp_clear(zq_inbound_resp *r)
{
    zq_buf_free(&r->body);
    memset(r, 0, sizeof(*r));
}

int zq_inbound_reject(zq_inbound_resp *r, int status, int code, const char *ecode,
                      const char *message)
{
    zq_buf_reset(&r->body);
    r->status = status;
    r->content_type = "application/json; charset=utf-8";
    zq_buf_puts(&r->body, "{\"error\":{\"code\":\"");
    zq_buf_json_escape(&r->body, ecode, strlen(ecode));
    zq_buf_puts(&r->body, "\",\"message\":\"");
    zq_buf_json_escape(&r->body, message, strlen(message));
    zq_buf_puts(&r->body, "\"}}");
    return -code;
}

size_t zq_inbound_part(const char *s, size_t len, size_t max)
{
    size_t cut, i;

    if (len <= max)
        return len;
    cut = zq_utf8_cut(s, len, max);
    if (cut == 0) {
        /* max is smaller than one character: take that character whole */
        cut = 1;
        while (cut < len && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut++;
        return cut;
    }
    for (i = cut; i > cut / 2; i--)
        if (s[i - 1] == '\n')
            return i;
    return cut;
}

int zq_inbound_join(zq_buf *b, const zq_dialogue_replies *r)
{
    size_t i;

    for (i = 0; i < r->n; i++) {
        if (i > 0)
            zq_buf_puts(b, "\n\n");
        zq_buf_puts(b, r->text[i]);
    }
    return b->oom ? -ZQ_ENOMEM : 0;
}

void zq_inbound_safe_id(const char *id, char out[128])
{
    size_t n = id ? strlen(id) : 0, i;
    unsigned char md[20];
    unsigned int mdlen = 0;
    bool ok = n >= 1 && n <= 100;

    for (i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)id[i]) || strchr("_.-:@", id[i]) != NULL;
    if (ok) {
        memcpy(out, id, n + 1);
        return;
    }
    if (EVP_Digest(id ? id : "", n, md, &mdlen, EVP_sha1(), NULL) != 1)
        memset(md, 0, sizeof(md));
    zq_hex(md, sizeof(md), out);
}

bool zq_inbound_copy(char *out, size_t outsz, const char *s)
{
    size_t n;

    out[0] = '\0';
    if (s == NULL)
        return false;
    n = strlen(s);
    if (n >= outsz)
        return false;
    memcpy(out, s, n + 1);
    return true;
}

size_t zq_inbound_limit(size_t configured, size_t def)
{
    return configured > 0 ? configured : def;
}

int zq_inbound_take_text(zq_inbound_msg *msg, json_t *text, zq_inbound_resp *resp)
{
    msg->kind = ZQ_INBOUND_TEXT;
    msg->text_len = json_string_length(text);
    msg->text = malloc(msg->text_len + 1);
    if (msg->text == NULL)
        return zq_inbound_reject(resp, 500, ZQ_ENOMEM, "internal_error", "服务器内部错误。");
    memcpy(msg->text, json_string_value(text), msg->text_len);
    msg->text[msg->text_len] = '\0';
    return 0;
}

/* What the last part of a series that had to be cut ends with. */
#define SERIES_CUT "\n……（内容较长，未能全部显示）"

int zq_inbound_series(zq_chat_outbox *out, const zq_inbound_series_req *q, zq_err *err)
{
    json_t *arr = json_array(), *one;
    zq_buf last = {0};
    char *body = NULL;
    size_t t, n = 0, notice = strlen(SERIES_CUT);
    bool cut = false;
    int rc = 0;

    if (arr == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "%s: out of memory", q->channel);
    for (t = 0; t < q->ntexts && !cut; t++) {
        const char *s = q->texts[t];
        size_t len = s != NULL ? strlen(s) : 0;

        while (len > 0 && !cut) {
            const char *part = s;
            size_t take = zq_inbound_part(s, len, q->max), plen = take;

            if (n == ZQ_CHAT_OUTBOX_MAX_PARTS - 1 && (take < len || t + 1 < q->ntexts)) {
                /* The last part the series may hold: cut short, and say so. */
                plen = q->max > notice ? zq_inbound_part(s, len, q->max - notice) : 0;
                ZQ_WARN("event=reply_truncated channel=%s parts=%d", q->channel,
                        ZQ_CHAT_OUTBOX_MAX_PARTS);
                zq_buf_append(&last, s, plen);
                zq_buf_puts(&last, SERIES_CUT);
                part = last.data;
                plen = last.len;
                cut = true;
            }
            one = last.oom ? NULL : q->part(q->ctx, part, plen, n);
            if (one == NULL || json_array_append_new(arr, one) < 0) {
                rc = zq_err_set(err, ZQ_ENOMEM, "%s: cannot build reply part %zu", q->channel,
                                n + 1);
                goto out;
            }
            n++;
            s += take;
            len -= take;
        }
    }
    if (n == 0)
        goto out;
    /* One part is an ordinary entry; more ride as one series, so that a
     * part never overtakes the one before it. */
    body = json_dumps(n == 1 ? json_array_get(arr, 0) : arr, JSON_COMPACT);
    if (body == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "%s: out of memory", q->channel);
        goto out;
    }
    rc = zq_chat_outbox_push(out, q->channel, q->url, body, q->headers, q->nheaders, q->auth,
                             q->expires_ms);
    if (rc < 0) {
        zq_err_set(err, -rc, "%s: cannot queue the reply", q->channel);
        goto out;
    }
    if (n > 1)
        rc = zq_chat_outbox_series(&out->e[out->n - 1], (int)n, NULL);
out:
    free(body);
    json_decref(arr);
    zq_buf_free(&last);
    return rc;
}

/* What the inbound adapters share: rejections in the API's
 * error shape, byte-aware splitting and safe ids. */
#include "zhuqi/inbound.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

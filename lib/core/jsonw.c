/* Writing JSON text straight into a zq_buf (see zhuqi/jsontext.h): the
 * answers of the hot paths, without a jansson tree to build, dump and
 * free. */
#include <string.h>

#include "zhuqi/jsontext.h"

void zq_jsonw_raw(zq_buf *b, const char *s, size_t n)
{
    /* No terminator per append (zq_buf_append writes one every time):
     * the buffer stays NUL-terminated because reserve leaves room and
     * the last writer of an answer ends it. */
    if (b->oom || (b->len + n >= b->cap && zq_buf_reserve(b, n) < 0))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* The bytes zq_buf_json_escape rewrites; most bytes of our text (CJK,
 * letters, digits) are above '>' and cost one comparison. */
static bool esc_byte(unsigned char c)
{
    if (c > '>')
        return c == '\\';
    return c < 0x20 || c == '"' || c == '<' || c == '>' || c == '&';
}

void zq_jsonw_strn(zq_buf *b, const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && !esc_byte((unsigned char)s[i]))
        i++;
    ZQ_JSONW_LIT(b, "\"");
    if (i == n) {
        zq_jsonw_raw(b, s, n);
    } else {
        zq_jsonw_raw(b, s, i);
        if (!b->oom && zq_buf_json_escape(b, s + i, n - i) < 0)
            b->oom = true;
    }
    ZQ_JSONW_LIT(b, "\"");
}

void zq_jsonw_str(zq_buf *b, const char *s)
{
    zq_jsonw_strn(b, s, strlen(s));
}

void zq_jsonw_int(zq_buf *b, long long v)
{
    char t[ZQ_DEC_MAX];
    size_t n = zq_dec(t, v);

    zq_jsonw_raw(b, t, n);
}

void zq_jsonw_bool(zq_buf *b, bool v)
{
    if (v)
        ZQ_JSONW_LIT(b, "true");
    else
        ZQ_JSONW_LIT(b, "false");
}

static void put_digits(char *o, int v, int n)
{
    while (n-- > 0) {
        o[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

void zq_jsonw_date(zq_buf *b, zq_date d)
{
    char t[12];

    if (!zq_date_valid(d)) {
        ZQ_JSONW_LIT(b, "\"invalid\"");
        return;
    }
    /* zq_date_format's "%04d-%02d-%02d" without a printf per date. */
    t[0] = '"';
    put_digits(t + 1, d.y, 4);
    t[5] = '-';
    put_digits(t + 6, d.m, 2);
    t[8] = '-';
    put_digits(t + 9, d.d, 2);
    t[11] = '"';
    zq_jsonw_raw(b, t, sizeof(t));
}

void zq_jsonw_time_iso(zq_buf *b, int64_t ms)
{
    char t[34];

    t[0] = '"';
    zq_time_iso(ms, t + 1);
    zq_jsonw_raw(b, t, strlen(t));
    ZQ_JSONW_LIT(b, "\"");
}

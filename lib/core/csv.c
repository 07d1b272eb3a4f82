/* CSV fields for spreadsheets: RFC 4180 quoting and formula neutralising
 * (OWASP "CSV injection"). */
#include "zhuqi/csv.h"

#include <string.h>

#include "zhuqi/common.h"

bool zq_csv_is_formula(const char *s, size_t len)
{
    if (s == NULL || len == 0)
        return false;
    return s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
}

int zq_csv_field(zq_buf *b, bool first, const char *s, size_t len)
{
    bool formula, quote;
    size_t i, start;

    if (!first)
        zq_buf_append(b, ",", 1);
    if (s == NULL || len == 0)
        return b->oom ? -ZQ_ENOMEM : 0;
    formula = zq_csv_is_formula(s, len);
    quote = formula || memchr(s, ',', len) != NULL || memchr(s, '"', len) != NULL ||
            memchr(s, '\r', len) != NULL || memchr(s, '\n', len) != NULL;
    if (!quote) {
        zq_buf_append(b, s, len);
        return b->oom ? -ZQ_ENOMEM : 0;
    }
    zq_buf_append(b, "\"", 1);
    if (formula)
        zq_buf_append(b, "'", 1);
    for (i = 0, start = 0; i < len; i++) {
        if (s[i] == '"') {
            zq_buf_append(b, s + start, i + 1 - start); /* the quote itself, then again */
            zq_buf_append(b, "\"", 1);
            start = i + 1;
        }
    }
    zq_buf_append(b, s + start, len - start);
    zq_buf_append(b, "\"", 1);
    return b->oom ? -ZQ_ENOMEM : 0;
}

int zq_csv_str(zq_buf *b, bool first, const char *s)
{
    return zq_csv_field(b, first, s, s ? strlen(s) : 0);
}

int zq_csv_end_row(zq_buf *b)
{
    zq_buf_append(b, "\r\n", 2);
    return b->oom ? -ZQ_ENOMEM : 0;
}

int zq_csv_int(zq_buf *b, bool first, long long v)
{
    char t[32];

    if (zq_fmt(t, sizeof(t), "%lld", v) < 0)
        t[0] = '\0';
    if (!first)
        zq_buf_append(b, ",", 1);
    zq_buf_append(b, t, strlen(t));
    return b->oom ? -ZQ_ENOMEM : 0;
}

int zq_csv_fen(zq_buf *b, bool first, long long fen)
{
    unsigned long long u = fen < 0 ? 0ULL - (unsigned long long)fen : (unsigned long long)fen;
    char t[40];

    if (zq_fmt(t, sizeof(t), "%s%llu.%02llu", fen < 0 ? "-" : "", u / 100, u % 100) < 0)
        t[0] = '\0';
    if (!first)
        zq_buf_append(b, ",", 1);
    zq_buf_append(b, t, strlen(t));
    return b->oom ? -ZQ_ENOMEM : 0;
}

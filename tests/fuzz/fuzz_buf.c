/* Fuzzes the small parsers every input goes through (lib/core/buf.c, lib/core/log.c,
 * lib/core/calendar.c, lib/inbound.c) against independent reference
 * implementations written here: UTF-8 validation, counting and cutting,
 * decimal numbers (zq_parse_ll), strict dates, JSON string escaping, the
 * byte-aware reply splitter zq_inbound_part, and the masks applied to
 * user text before it is logged.
 * Input: a mode byte (a limit for the cuts and masks), then the bytes. */
#include <limits.h>
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/buf.h"
#include "zhuqi/calendar.h"
#include "zhuqi/inbound.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

/* RFC 3629, written from the table, not from lib/core/buf.c. The length of the
 * character at s, or 0 when it is not well formed (NUL is refused too). */
static size_t ref_char(const unsigned char *s, size_t len)
{
    uint32_t cp;
    size_t n, i;

    if (s[0] == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
        return 0; /* overlong */
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return n;
}

static bool ref_valid(const unsigned char *s, size_t len, size_t *chars)
{
    size_t i = 0, n;

    *chars = 0;
    while (i < len) {
        if ((n = ref_char(s + i, len - i)) == 0)
            return false;
        i += n;
        (*chars)++;
    }
    return true;
}

/* ^-?[0-9]+$ in 1..31 bytes, within [min, max]. */
static bool ref_ll(const char *s, size_t len, long long min, long long max, long long *out)
{
    size_t i = 0;
    bool neg = false;
    unsigned long long mag = 0, lim;

    if (len == 0 || len >= 32)
        return false;
    if (s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == len)
        return false;
    lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (mag > (lim - (unsigned long long)(s[i] - '0')) / 10)
            return false;
        mag = mag * 10 + (unsigned long long)(s[i] - '0');
    }
    if (neg)
        *out = mag == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)mag;
    else
        *out = (long long)mag;
    return *out >= min && *out <= max;
}

static bool is_boundary(const char *s, size_t len, size_t i)
{
    return i == 0 || i >= len || ((unsigned char)s[i] & 0xC0) != 0x80;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long long bounds[][2] = {
        {LLONG_MIN, LLONG_MAX}, {0, 99999999999LL}, {-27, 27}, {0, 1000}, {1, 9999}};
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    const char *s = (const char *)in.p;
    size_t len = in.n, chars = 0, max = (size_t)mode % 64 + 1, cut, i;
    bool valid = ref_valid(in.p, len, &chars);
    long long a = 0, b = 0;
    int ra, rb;

    /* UTF-8 */
    FUZZ_CHECK(zq_utf8_valid(s, len) == valid);
    if (valid) {
        FUZZ_CHECK(zq_utf8_chars(s, len) == chars);
        cut = zq_utf8_cut(s, len, max);
        if (len <= max) {
            FUZZ_CHECK(cut == len);
        } else {
            FUZZ_CHECK(cut <= max && is_boundary(s, len, cut));
            for (i = cut + 1; i <= max; i++)
                FUZZ_CHECK(!is_boundary(s, len, i)); /* the longest such prefix */
        }
        cut = zq_inbound_part(s, len, max);
        FUZZ_CHECK(cut > 0 || len == 0);
        FUZZ_CHECK(cut <= len && is_boundary(s, len, cut));
        if (len <= max)
            FUZZ_CHECK(cut == len);
        else if (cut > max) /* only a first character longer than max */
            FUZZ_CHECK(ref_char(in.p, len) == cut);
    }

    /* numbers */
    {
        const long long *bd = bounds[mode % ZQ_ARRAY_LEN(bounds)];

        ra = zq_parse_ll(s, len, bd[0], bd[1], &a);
        rb = ref_ll(s, len, bd[0], bd[1], &b) ? 0 : -ZQ_EINVAL;
        if (ra != rb || (ra == 0 && a != b)) {
            fprintf(stderr, "fuzz: zq_parse_ll(\"%.*s\") = %d/%lld, reference %d/%lld\n", (int)len,
                    s, ra, a, rb, b);
            FUZZ_CHECK(!"zq_parse_ll agrees with the reference");
        }
    }

    /* dates: exactly YYYY-MM-DD of a real day, and back */
    {
        zq_date d;
        char out[ZQ_DATE_STRLEN];

        if (zq_date_parse(s, len, &d) == 0) {
            FUZZ_CHECK(len == 10 && zq_date_valid(d));
            zq_date_format(d, out, sizeof(out));
            FUZZ_CHECK(memcmp(out, s, 10) == 0);
        } else if (len == 10 && s[4] == '-' && s[7] == '-') {
            bool digits = true;

            for (i = 0; i < 10; i++)
                if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
                    digits = false;
            if (digits) {
                int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + s[3] - '0';
                int m = (s[5] - '0') * 10 + s[6] - '0', dd = (s[8] - '0') * 10 + s[9] - '0';

                FUZZ_CHECK(!zq_date_valid((zq_date){y, m, dd}));
            }
        }
    }

    /* text: JSON escaping and the log masks */
    if (valid) {
        zq_buf j = {0};
        char *cstr = strndup(s, len), out[128];
        size_t outsz = (size_t)mode % sizeof(out) + 1, olen;
        json_t *v;

        FUZZ_CHECK(cstr != NULL);
        zq_buf_puts(&j, "\"");
        FUZZ_CHECK(zq_buf_json_escape(&j, s, len) == 0);
        zq_buf_puts(&j, "\"");
        v = json_loadb(j.data, j.len, JSON_DECODE_ANY, NULL);
        FUZZ_CHECK(v != NULL && json_string_length(v) == len &&
                   memcmp(json_string_value(v), s, len) == 0);
        json_decref(v);
        /* jansson's rules: byte for byte what json_dumps writes. */
        v = json_stringn(s, len);
        if (v != NULL) {
            char *w = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

            FUZZ_CHECK(w != NULL);
            zq_buf_reset(&j);
            FUZZ_CHECK(zq_buf_json_escape_rules(&j, s, len, ZQ_JSON_JANSSON) == 0);
            FUZZ_CHECK(j.len + 2 == strlen(w) && memcmp(j.data, w + 1, j.len) == 0);
            free(w);
            json_decref(v);
        }
        zq_buf_free(&j);

        memset(out, 'x', sizeof(out));
        zq_mask_text(cstr, out, outsz);
        olen = strnlen(out, outsz);
        FUZZ_CHECK(olen < outsz && zq_utf8_valid(out, olen));
        zq_mask_name(cstr, out, outsz);
        olen = strnlen(out, outsz);
        FUZZ_CHECK(olen < outsz && zq_utf8_valid(out, olen));
        zq_mask_mobile(cstr, out, outsz);
        olen = strnlen(out, outsz);
        FUZZ_CHECK(olen < outsz);
        for (i = 0; i < olen; i++)
            FUZZ_CHECK((out[i] >= '0' && out[i] <= '9') || out[i] == '*');
        free(cstr);
    }
    return 0;
}

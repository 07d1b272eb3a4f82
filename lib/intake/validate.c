/* Field validators and display strings: one per field type of a form
 * schema (lib/intake/schema.c loads the forms). Every message for users is
 * Chinese and names the field's label, so the web pages and the chat say
 * the same thing. No floating point: money is parsed digit by digit. */
#include "zhuqi/schema.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "zhuqi/buf.h"
#include "zhuqi/calendar.h"
#include "zhuqi/jsonq.h"
#include "zhuqi/log.h"

#define DEFAULT_CEILING_FEN 1000000000000LL /* 100 亿元 */
#define MAX_CHOICES 100                     /* options of a field, as the loader allows */
#define SHORT_MAX 256                       /* longest input of a structured type we look at */

static const char USCC_ALPHABET[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* Messages that name a label or a number are formatted here: borrowed by
 * the caller until the next validation on the same thread. */
static _Thread_local char msgbuf[1024];

static const char *say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *say(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msgbuf, sizeof(msgbuf), fmt, ap);
    va_end(ap);
    if (n < 0) {
        msgbuf[0] = '\0';
    } else if ((size_t)n >= sizeof(msgbuf)) {
        /* Cut back to the last whole character. */
        size_t i = sizeof(msgbuf) - 1;

        while (i > 0 && !zq_utf8_valid(msgbuf, i))
            i--;
        msgbuf[i] = '\0';
    }
    return msgbuf;
}

/* How a raw input arrived. */
typedef enum in_kind {
    IN_EMPTY,  /* missing, null, or a string of spaces */
    IN_STRING, /* *s, *len: trimmed, not empty */
    IN_INT,
    IN_BOOL,
    IN_OTHER, /* real, array, object */
} in_kind;

static bool is_ascii_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* U+3000 IDEOGRAPHIC SPACE */
static bool is_fw_space(const char *s, size_t len)
{
    return len >= 3 && (unsigned char)s[0] == 0xE3 && (unsigned char)s[1] == 0x80 &&
           (unsigned char)s[2] == 0x80;
}

/* Trims ASCII white space and full-width spaces from both ends. */
static void trim(const char **s, size_t *len)
{
    const char *p = *s;
    size_t n = *len;

    for (;;) {
        if (n > 0 && is_ascii_space((unsigned char)p[0])) {
            p++;
            n--;
        } else if (is_fw_space(p, n)) {
            p += 3;
            n -= 3;
        } else {
            break;
        }
    }
    for (;;) {
        if (n > 0 && is_ascii_space((unsigned char)p[n - 1]))
            n--;
        else if (n >= 3 && is_fw_space(p + n - 3, 3))
            n -= 3;
        else
            break;
    }
    *s = p;
    *len = n;
}

static in_kind classify(json_t *in, const char **s, size_t *len)
{
    if (in == NULL || json_is_null(in))
        return IN_EMPTY;
    if (json_is_string(in)) {
        *s = json_string_value(in);
        *len = json_string_length(in);
        trim(s, len);
        return *len == 0 ? IN_EMPTY : IN_STRING;
    }
    if (json_is_integer(in))
        return IN_INT;
    if (json_is_boolean(in))
        return IN_BOOL;
    return IN_OTHER;
}

/* A raw input as the validators read it: a jansson value, or a member
 * read from the request's bytes (zq_jsonq_members: never an array or
 * an object), classified the same way. */
typedef struct vin {
    json_t *j; /* NULL when read from the bytes */
    in_kind kind;
    const char *s; /* IN_STRING (and IN_EMPTY from a string): trimmed */
    size_t len;
    long long i;  /* IN_INT */
    bool b;       /* IN_BOOL */
    bool utf8_ok; /* s is known to be UTF-8 (the whole body was checked) */
} vin;

static void vin_json(vin *v, json_t *in)
{
    v->j = in;
    v->s = NULL;
    v->len = 0;
    v->i = 0;
    v->b = false;
    v->utf8_ok = false;
    v->kind = classify(in, &v->s, &v->len);
    if (v->kind == IN_INT)
        v->i = (long long)json_integer_value(in);
    else if (v->kind == IN_BOOL)
        v->b = json_is_true(in);
}

static void vin_member(vin *v, const zq_jsonq_member *m)
{
    v->j = NULL;
    v->s = NULL;
    v->len = 0;
    v->i = 0;
    v->b = false;
    v->utf8_ok = true;
    v->kind = IN_EMPTY;
    if (m == NULL)
        return;
    switch (m->kind) {
    case ZQ_JSONQ_STRING:
        v->s = m->str;
        v->len = m->len;
        trim(&v->s, &v->len);
        v->kind = v->len == 0 ? IN_EMPTY : IN_STRING;
        break;
    case ZQ_JSONQ_INTEGER:
        v->kind = IN_INT;
        v->i = m->num;
        break;
    case ZQ_JSONQ_TRUE:
    case ZQ_JSONQ_FALSE:
        v->kind = IN_BOOL;
        v->b = m->kind == ZQ_JSONQ_TRUE;
        break;
    case ZQ_JSONQ_NULL: break;
    }
}

/* Where a validator puts its normalised value: a new jansson value in
 * *j, or (j NULL) its compact JSON appended to text, the bytes
 * json_dumpb(JSON_COMPACT | JSON_ENCODE_ANY) writes for that value. */
typedef struct vout {
    json_t **j;
    zq_buf *text;
    char str[16]; /* text only: a string value's first bytes, and its length */
    size_t str_len;
} vout;

/* Appends s as a JSON string the way jansson's dump escapes it (and no
 * more: not zq_buf_json_escape's < > &). s is UTF-8. */
static int text_string(zq_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, run = 0;
    char *d;

    /* At most six bytes per byte: one reservation. */
    if (n > (SIZE_MAX - 2) / 6 || zq_buf_reserve(b, 6 * n + 2) < 0)
        return -ZQ_ENOMEM;
    d = b->data + b->len;
    *d++ = '"';
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        memcpy(d, s + i - run, run);
        d += run;
        run = 0;
        *d++ = '\\';
        switch (c) {
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '\b': *d++ = 'b'; break;
        case '\f': *d++ = 'f'; break;
        case '\n': *d++ = 'n'; break;
        case '\r': *d++ = 'r'; break;
        case '\t': *d++ = 't'; break;
        default:
            d[0] = 'u';
            d[1] = '0';
            d[2] = '0';
            d[3] = hex[c >> 4];
            d[4] = hex[c & 15];
            d += 5;
        }
    }
    memcpy(d, s + n - run, run);
    d += run;
    *d++ = '"';
    b->len = (size_t)(d - b->data);
    b->data[b->len] = '\0';
    return 0;
}

/* A string value (UTF-8, checked by the caller). Returns 0 or -ZQ_ENOMEM. */
static int out_str(vout *o, const char *s, size_t n)
{
    if (o->j != NULL) {
        *o->j = json_stringn_nocheck(s, n);
        return *o->j != NULL ? 0 : -ZQ_ENOMEM;
    }
    o->str_len = n;
    memcpy(o->str, s, n < sizeof(o->str) ? n : sizeof(o->str));
    return text_string(o->text, s, n);
}

static int out_int(vout *o, long long v)
{
    if (o->j != NULL) {
        *o->j = json_integer(v);
        return *o->j != NULL ? 0 : -ZQ_ENOMEM;
    }
    return zq_buf_dec(o->text, v);
}

static int out_lit(vout *o, json_t *lit, const char *text)
{
    if (o->j != NULL) {
        *o->j = lit;
        return 0;
    }
    return zq_buf_puts(o->text, text);
}

/* Takes v (a new reference). */
static int out_json(vout *o, json_t *v)
{
    size_t n;

    if (v == NULL)
        return -ZQ_ENOMEM;
    if (o->j != NULL) {
        *o->j = v;
        return 0;
    }
    n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    if (n == 0 || zq_buf_reserve(o->text, n) < 0) {
        json_decref(v);
        return -ZQ_ENOMEM;
    }
    json_dumpb(v, o->text->data + o->text->len, n, JSON_COMPACT | JSON_ENCODE_ANY);
    o->text->len += n;
    o->text->data[o->text->len] = '\0';
    json_decref(v);
    return 0;
}

/* Copies s into out (SHORT_MAX + 1 bytes) with full-width ASCII forms
 * (U+FF01..U+FF5E: digits, letters, "，", "．", "－", "／") folded to ASCII
 * and U+3000 to a space. Returns the length, or -1 when too long. */
static int fold(const char *s, size_t len, char *out)
{
    size_t i = 0, n = 0;

    while (i < len) {
        const unsigned char *p = (const unsigned char *)s + i;

        if (n >= SHORT_MAX)
            return -1;
        if (len - i >= 3 && p[0] == 0xEF && (p[1] == 0xBC || p[1] == 0xBD) &&
            (p[2] & 0xC0) == 0x80) {
            unsigned cp = 0xF000u | ((unsigned)(p[1] & 0x3F) << 6) | (p[2] & 0x3Fu);

            if (cp >= 0xFF01 && cp <= 0xFF5E) {
                out[n++] = (char)(cp - 0xFEE0);
                i += 3;
                continue;
            }
        }
        if (is_fw_space(s + i, len - i)) {
            out[n++] = ' ';
            i += 3;
            continue;
        }
        out[n++] = s[i++];
    }
    out[n] = '\0';
    return (int)n;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool has_suffix(const char *s, size_t len, const char *suf)
{
    size_t n = strlen(suf);

    return len >= n && memcmp(s + len - n, suf, n) == 0;
}

static bool has_prefix(const char *s, size_t len, const char *pre)
{
    size_t n = strlen(pre);

    return len >= n && memcmp(s, pre, n) == 0;
}

/* The result for an empty input: null when optional, else the message. */
static int empty(const zq_field *f, bool choose, vout *out, const char **msg)
{
    if (f->type == ZQ_FIELD_BOOL && f->must_be_true) {
        *msg = "请阅读并勾选此项声明";
        return -ZQ_EINVAL;
    }
    if (f->required) {
        *msg = say(choose ? "请选择%s" : "请填写%s", f->label);
        return -ZQ_EINVAL;
    }
    return out_lit(out, json_null(), "null");
}

static int fail_fmt(const zq_field *f, const char **msg)
{
    *msg = say("%s格式不正确", f->label);
    return -ZQ_EINVAL;
}

static int v_text(const zq_field *f, const vin *in, vout *out, const char **msg)
{
    const char *s = NULL;
    size_t len = 0, i, chars, n = 0;
    char stack[512], *d = stack;
    int rc = -ZQ_EINVAL;

    switch (in->kind) {
    case IN_EMPTY: return empty(f, false, out, msg);
    case IN_STRING: break;
    default: return fail_fmt(f, msg);
    }
    s = in->s;
    len = in->len;
    if (!in->utf8_ok && !zq_utf8_valid(s, len)) {
        *msg = say("%s含有无法识别的字符，请重新输入", f->label);
        return -ZQ_EINVAL;
    }
    /* Most answers fit on the stack: no malloc and free per field. */
    if (len >= sizeof(stack) && (d = malloc(len + 1)) == NULL) {
        *msg = "系统繁忙，请稍后再试";
        return -ZQ_ENOMEM;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\n' || c == '\r') {
            if (!f->multiline) {
                *msg = say("%s只能填写一行", f->label);
                goto out;
            }
            if (c == '\r' && i + 1 < len && s[i + 1] == '\n')
                continue; /* CR LF -> LF */
            d[n++] = '\n';
            continue;
        }
        if (c < 0x20 || c == 0x7F ||
            (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
             (unsigned char)s[i + 1] <= 0x9F)) {
            *msg = say("%s不能包含制表符等控制字符，请删除后再提交", f->label);
            goto out;
        }
        d[n++] = (char)c;
    }
    d[n] = '\0';
    chars = zq_utf8_chars(d, n);
    if (f->min > 0 && (long long)chars < f->min) {
        *msg = say("%s至少 %lld 个字（现在 %zu 个字）", f->label, f->min, chars);
        goto out;
    }
    if (f->max > 0 && (long long)chars > f->max) {
        *msg = say("%s最多 %lld 个字（现在 %zu 个字）", f->label, f->max, chars);
        goto out;
    }
    /* Checked above: UTF-8, and only CRs were dropped. */
    rc = out_str(out, d, n);
out:
    if (d != stack)
        free(d);
    return rc;
}

/* The option s names (its value, its label, the value in any case, or
 * for the chat its 1-based number), or -1. */
static long option_of(const zq_field *f, const char *s, size_t len)
{
    char t[SHORT_MAX + 1];
    long long k = 0;
    size_t i;
    int n;

    for (i = 0; i < f->noptions; i++)
        if (strlen(f->options[i].value) == len && memcmp(f->options[i].value, s, len) == 0)
            return (long)i;
    for (i = 0; i < f->noptions; i++)
        if (strlen(f->options[i].label) == len && memcmp(f->options[i].label, s, len) == 0)
            return (long)i;
    for (i = 0; i < f->noptions; i++)
        if (strlen(f->options[i].value) == len && strncasecmp(f->options[i].value, s, len) == 0)
            return (long)i;
    /* The chat offers numbered choices: "2" is the second option. */
    n = fold(s, len, t);
    if (n <= 0 || n > 4 || zq_parse_ll(t, (size_t)n, 1, 9999, &k) < 0 || !is_digit(t[0]) ||
        (unsigned long long)k > f->noptions)
        return -1;
    return (long)(k - 1);
}

/* Separators between the choices of a multi-choice answer typed as text:
 * ASCII , ; and space, and 、，； (the chat's "1、3"). */
static size_t sep_len(const char *s, size_t len)
{
    static const char *const seps[] = {"\xE3\x80\x81", "\xEF\xBC\x8C", "\xEF\xBC\x9B"};
    size_t i;

    if (len > 0 && (s[0] == ',' || s[0] == ';' || s[0] == ' ' || s[0] == '\n'))
        return 1;
    for (i = 0; i < ZQ_ARRAY_LEN(seps); i++)
        if (has_prefix(s, len, seps[i]))
            return strlen(seps[i]);
    return 0;
}

/* Marks the option one item of a multi-choice answer names; false when
 * it names none. */
static bool pick(const zq_field *f, const char *s, size_t len, bool *chosen)
{
    long k;

    trim(&s, &len);
    if (len == 0)
        return true;
    k = option_of(f, s, len);
    if (k < 0)
        return false;
    chosen[k] = true;
    return true;
}

/* A multi-choice enum: a JSON array of choices, or one string of them
 * separated as sep_len says. Stored as the chosen values in option
 * order, each once. */
static int v_enum_multi(const zq_field *f, const vin *in, vout *out, const char **msg)
{
    bool chosen[MAX_CHOICES] = {false};
    const char *s = NULL;
    size_t len = 0, i, start, n = 0;
    json_t *v, *arr;

    if (json_is_array(in->j)) {
        if (json_array_size(in->j) > MAX_CHOICES)
            goto bad;
        json_array_foreach(in->j, i, v)
        {
            if (json_is_integer(v) && json_integer_value(v) >= 1 &&
                json_integer_value(v) <= (json_int_t)f->noptions)
                chosen[json_integer_value(v) - 1] = true;
            else if (!json_is_string(v) ||
                     !pick(f, json_string_value(v), json_string_length(v), chosen))
                goto bad;
        }
    } else {
        s = in->s;
        len = in->len;
        switch (in->kind) {
        case IN_EMPTY: return empty(f, true, out, msg);
        case IN_STRING: break;
        case IN_INT:
            if (in->i < 1 || in->i > (long long)f->noptions)
                goto bad;
            chosen[in->i - 1] = true;
            goto done;
        default: goto bad;
        }
        for (i = start = 0; i <= len; i++) {
            size_t sl = i < len ? sep_len(s + i, len - i) : 1;

            if (sl == 0)
                continue;
            if (!pick(f, s + start, i - start, chosen))
                goto bad;
            i += sl - 1;
            start = i + 1;
        }
    }
done:
    arr = json_array();
    for (i = 0; arr != NULL && i < f->noptions && i < MAX_CHOICES; i++)
        if (chosen[i]) {
            if (json_array_append_new(arr, json_string(f->options[i].value)) < 0) {
                json_decref(arr);
                arr = NULL;
            }
            n++;
        }
    if (arr == NULL)
        return -ZQ_ENOMEM;
    if (n == 0) {
        json_decref(arr);
        return empty(f, true, out, msg);
    }
    return out_json(out, arr);
bad:
    *msg = say("请从选项中选择%s（可以多选）", f->label);
    return -ZQ_EINVAL;
}

static int v_enum(const zq_field *f, const vin *in, vout *out, const char **msg)
{
    const char *s = NULL;
    size_t len = 0;
    long k = -1;

    if (f->multiple)
        return v_enum_multi(f, in, out, msg);
    s = in->s;
    len = in->len;
    switch (in->kind) {
    case IN_EMPTY: return empty(f, true, out, msg);
    case IN_INT:
        if (in->i >= 1 && in->i <= (long long)f->noptions)
            k = (long)in->i - 1;
        break;
    case IN_STRING: k = option_of(f, s, len); break;
    default: break;
    }
    if (k < 0) {
        *msg = say("请从选项中选择%s", f->label);
        return -ZQ_EINVAL;
    }
    return out_str(out, f->options[k].value, strlen(f->options[k].value));
}

/* c's place in USCC_ALPHABET, or -1: computed, not searched, as it runs
 * for every character of every code (the letters I, O, S, V and Z are
 * left out of the alphabet, so each one before c moves c down by one). */
static int uscc_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c < 'A' || c > 'Y' || c == 'I' || c == 'O' || c == 'S' || c == 'V')
        return -1;
    return 10 + (c - 'A') - (c > 'I') - (c > 'O') - (c > 'S') - (c > 'V');
}

char zq_uscc_check_char(const char *code17)
{
    int sum = 0, w = 1, i, v;

    if (code17 == NULL)
        return 0;
    for (i = 0; i < 17; i++) {
        v = uscc_value(code17[i]);
        if (v < 0)
            return 0;
        sum += v * w;
        w = w * 3 % 31;
    }
    return USCC_ALPHABET[(31 - sum % 31) % 31];
}

static int v_uscc(const zq_field *f, const vin *in, const zq_schema_opts *o, vout *out,
                  const char **msg)
{
    const char *s = NULL;
    size_t len = 0, i, n = 0, chars;
    char t[SHORT_MAX + 1], code[SHORT_MAX + 1];
    int tl;

    switch (in->kind) {
    case IN_EMPTY: return empty(f, false, out, msg);
    case IN_STRING: break;
    default: return fail_fmt(f, msg);
    }
    s = in->s;
    len = in->len;
    tl = fold(s, len, t);
    if (tl < 0 || !zq_utf8_valid(t, (size_t)tl)) {
        *msg = say("%s应为 18 位数字或大写字母", f->label);
        return -ZQ_EINVAL;
    }
    for (i = 0; i < (size_t)tl; i++) {
        char c = t[i];

        if (c == ' ')
            continue;
        code[n++] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    code[n] = '\0';
    chars = zq_utf8_chars(code, n);
    if (chars != 18) {
        *msg = say("%s应为 18 位（现在 %zu 位）", f->label, chars);
        return -ZQ_EINVAL;
    }
    for (i = 0; i < 18; i++) {
        char c = code[i];

        if (uscc_value(c) >= 0)
            continue;
        if (c == 'I' || c == 'O' || c == 'S' || c == 'V' || c == 'Z')
            *msg = say("%s第 %zu 位是“%c”：代码中不使用字母 I、O、S、V、Z，请核对", f->label, i + 1,
                       c);
        else if ((unsigned char)c > 0x20 && (unsigned char)c < 0x7F)
            *msg = say("%s第 %zu 位“%c”无效：只能是数字或大写字母", f->label, i + 1, c);
        else
            *msg = say("%s只能包含数字和大写字母", f->label);
        return -ZQ_EINVAL;
    }
    if (zq_uscc_check_char(code) != code[17]) {
        if (!o->uscc_checksum_warn_only) {
            *msg = say("%s校验位不正确，请核对", f->label);
            return -ZQ_EINVAL;
        }
        /* Early pilot codes: accepted, and the caller learns it was doubtful. */
        *msg = say("%s校验位不正确，请核对", f->label);
    }
    return out_str(out, code, 18); /* ASCII */
}

static int v_mobile(const zq_field *f, const vin *in, vout *out, const char **msg)
{
    const char *s = NULL;
    size_t len = 0, i, n = 0;
    char t[SHORT_MAX + 1], d[SHORT_MAX + 1], raw[32];
    const char *num;
    bool plus = false;
    int tl;

    s = in->s;
    len = in->len;
    switch (in->kind) {
    case IN_EMPTY: return empty(f, false, out, msg);
    case IN_STRING: break;
    case IN_INT:
        if (zq_fmt(raw, sizeof(raw), "%lld", in->i) < 0)
            return fail_fmt(f, msg);
        s = raw;
        len = strlen(raw);
        break;
    default: return fail_fmt(f, msg);
    }
    tl = fold(s, len, t);
    if (tl < 0)
        goto bad_len;
    for (i = 0; i < (size_t)tl; i++) {
        char c = t[i];

        if (c == ' ' || c == '-')
            continue;
        if (c == '+' && n == 0 && !plus) {
            plus = true;
            continue;
        }
        if (!is_digit(c)) {
            *msg = say("%s只能填写数字（可以带空格、短横线或 +86）", f->label);
            return -ZQ_EINVAL;
        }
        d[n++] = c;
    }
    d[n] = '\0';
    num = d;
    if (plus) {
        if (n < 2 || d[0] != '8' || d[1] != '6') {
            *msg = say("%s请填写中国大陆的 11 位手机号码", f->label);
            return -ZQ_EINVAL;
        }
        num += 2;
        n -= 2;
    } else if (n == 13 && d[0] == '8' && d[1] == '6') {
        num += 2;
        n -= 2;
    }
    if (n != 11)
        goto bad_len;
    if (num[0] != '1' || num[1] < '3') {
        *msg = say("%s不是有效的手机号码，请核对", f->label);
        return -ZQ_EINVAL;
    }
    return out_str(out, num, 11); /* digits */
bad_len:
    if (tl < 0)
        *msg = say("%s应为 11 位数字", f->label);
    else
        *msg = say("%s应为 11 位数字（现在 %zu 位）", f->label, n);
    return -ZQ_EINVAL;
}

/* "1234567.8" style with thousands separators: 123456780 fen -> "1,234,567.80". */
static void fen_str(long long fen, char *out, size_t outsz)
{
    char digits[32], grouped[48];
    unsigned long long v = fen < 0 ? 0ULL - (unsigned long long)fen : (unsigned long long)fen;
    size_t nd, i, g = 0;

    /* 20 digits at most, 26 with the commas: out is 48 bytes by callers. */
    if (zq_fmt(digits, sizeof(digits), "%llu", v / 100) < 0)
        digits[0] = '\0';
    nd = strlen(digits);
    for (i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            grouped[g++] = ',';
        grouped[g++] = digits[i];
    }
    grouped[g] = '\0';
    if (zq_fmt(out, outsz, "%s%s.%02llu", fen < 0 ? "-" : "", grouped, v % 100) < 0 && outsz > 0)
        out[0] = '\0'; /* a cut amount would be another amount */
}

static long long ceiling_of(const zq_field *f, const zq_schema_opts *o)
{
    long long c = o->money_ceiling_fen > 0 ? o->money_ceiling_fen : DEFAULT_CEILING_FEN;

    if (f->max > 0 && f->max < c)
        c = f->max;
    return c;
}

/* Parses yuan text (folded to ASCII) into fen. Returns 0, or -1 bad format,
 * -2 more than two decimals, -3 too large for any ceiling. */
static int parse_yuan(const char *t, size_t n, long long *fen)
{
    size_t i = 0, digits = 0, group = 0;
    long long yuan = 0, cents = 0;
    bool commas = false, big = false;

    if (n == 0 || !is_digit(t[0]))
        return -1;
    for (; i < n && (is_digit(t[i]) || t[i] == ','); i++) {
        if (t[i] == ',') {
            /* groups of three: "1,234,567" but not "12,34" */
            if ((!commas && (group == 0 || group > 3)) || (commas && group != 3))
                return -1;
            commas = true;
            group = 0;
            continue;
        }
        group++;
        digits++;
        if (yuan > 99999999999999LL) /* 15 digits of yuan is beyond any ceiling */
            big = true;
        else
            yuan = yuan * 10 + (t[i] - '0');
    }
    if (commas && group != 3)
        return -1;
    if (i < n && t[i] == '.') {
        size_t dec = 0;

        for (i++; i < n && is_digit(t[i]); i++, dec++)
            if (dec < 2)
                cents = cents * 10 + (t[i] - '0');
        if (dec == 0 || i < n)
            return -1;
        if (dec > 2)
            return -2;
        if (dec == 1)
            cents *= 10;
    }
    if (i < n)
        return -1;
    if (big)
        return -3;
    *fen = yuan * 100 + cents;
    return 0;
}

static int v_money(const zq_field *f, const vin *in, const zq_schema_opts *o, vout *out,
                   const char **msg)
{
    const char *s = NULL;
    size_t len = 0;
    char t[SHORT_MAX + 1], c[48];
    const char *p;
    long long fen = 0, ceil = ceiling_of(f, o);
    size_t n;
    int tl, rc;

    s = in->s;
    len = in->len;
    switch (in->kind) {
    case IN_EMPTY: return empty(f, false, out, msg);
    case IN_STRING: break;
    case IN_INT: /* a number is already fen, as the API hands it out */ fen = in->i; goto check;
    default: goto bad;
    }
    tl = fold(s, len, t);
    if (tl < 0)
        goto bad;
    p = t;
    n = (size_t)tl;
    if (has_prefix(p, n, "\xC2\xA5")) { /* ¥ */
        p += 2;
        n -= 2;
    } else if (has_prefix(p, n, "\xEF\xBF\xA5")) { /* ￥ */
        p += 3;
        n -= 3;
    }
    if (has_suffix(p, n, "元"))
        n -= strlen("元");
    trim(&p, &n);
    if (n > 0 && p[0] == '-')
        goto negative;
    rc = parse_yuan(p, n, &fen);
    if (rc == -2) {
        *msg = say("%s最多精确到分（两位小数）", f->label);
        return -ZQ_EINVAL;
    }
    if (rc == -3)
        fen = ceil + 1;
    else if (rc < 0)
        goto bad;
check:
    if (fen < 0 || (fen == 0 && !f->allow_zero))
        goto negative;
    if (fen > ceil) {
        fen_str(ceil, c, sizeof(c));
        *msg = say("%s不能超过 %s 元，请核对", f->label, c);
        return -ZQ_EINVAL;
    }
    return out_int(out, fen);
bad:
    *msg = say("%s只能填写数字和小数点（以元为单位，如 12345.60）", f->label);
    return -ZQ_EINVAL;
negative:
    *msg = say(f->allow_zero ? "%s不能小于 0" : "%s必须大于 0", f->label);
    return -ZQ_EINVAL;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int mdays(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Reads 1..maxd digits at t[*i]. Returns the number or -1. */
static int digits_at(const char *t, size_t n, size_t *i, size_t mind, size_t maxd)
{
    size_t k = 0;
    int v = 0;

    while (*i < n && is_digit(t[*i]) && k < maxd) {
        v = v * 10 + (t[*i] - '0');
        (*i)++;
        k++;
    }
    if (k < mind || (*i < n && is_digit(t[*i])))
        return -1;
    return v;
}

static bool eat(const char *t, size_t n, size_t *i, const char *lit)
{
    size_t l = strlen(lit);

    if (n - *i < l || memcmp(t + *i, lit, l) != 0)
        return false;
    *i += l;
    return true;
}

/* Parses "2026-11-26", "2026/11/26", "2026.11.26" or "2026年11月26日"
 * (month and day of one or two digits, spaces ignored). Returns 0 with the
 * parts, -1 when not a date shape, -2 when no such calendar day. */
static int parse_date(const char *in, size_t len, int *y, int *m, int *d)
{
    char t[SHORT_MAX + 1], u[SHORT_MAX + 1];
    size_t i = 0, n = 0, k;
    int tl;
    char sep;

    tl = fold(in, len, t);
    if (tl < 0)
        return -1;
    for (k = 0; k < (size_t)tl; k++)
        if (t[k] != ' ')
            u[n++] = t[k];
    u[n] = '\0';
    if ((*y = digits_at(u, n, &i, 4, 4)) < 0)
        return -1;
    if (eat(u, n, &i, "年")) {
        if ((*m = digits_at(u, n, &i, 1, 2)) < 0 || !eat(u, n, &i, "月") ||
            (*d = digits_at(u, n, &i, 1, 2)) < 0)
            return -1;
        eat(u, n, &i, "日");
    } else {
        if (i >= n || (u[i] != '-' && u[i] != '/' && u[i] != '.'))
            return -1;
        sep = u[i++];
        if ((*m = digits_at(u, n, &i, 1, 2)) < 0 || i >= n || u[i++] != sep ||
            (*d = digits_at(u, n, &i, 1, 2)) < 0)
            return -1;
    }
    if (i != n)
        return -1;
    if (*y < 1900 || *y > 2100 || *m < 1 || *m > 12 || *d < 1 || *d > mdays(*y, *m))
        return -2;
    return 0;
}

/* Today in Beijing time as "YYYY-MM-DD", or o->today when it is such a
 * date. */
static void today_str(const zq_schema_opts *o, char out[16])
{
    int y, m, d;
    zq_date t;

    if (o->today != NULL && strlen(o->today) == 10 && o->today[4] == '-' &&
        parse_date(o->today, 10, &y, &m, &d) == 0) {
        memcpy(out, o->today, 11);
        return;
    }
    t = zq_date_today();
    if (t.y < 1 || zq_fmt(out, 16, "%04d-%02d-%02d", t.y, t.m, t.d) < 0)
        memcpy(out, "9999-12-31", 11);
}

static int v_date(const zq_field *f, const vin *in, const zq_schema_opts *o, vout *out,
                  const char **msg)
{
    const char *s = NULL;
    size_t len = 0;
    char iso[16], today[16];
    int y, m, d, rc;

    s = in->s;
    len = in->len;
    switch (in->kind) {
    case IN_EMPTY: return empty(f, false, out, msg);
    case IN_STRING: break;
    default: goto bad;
    }
    rc = parse_date(s, len, &y, &m, &d);
    if (rc == -2) {
        *msg = say("%s不是日历上存在的日期，请核对", f->label);
        return -ZQ_EINVAL;
    }
    if (rc < 0)
        goto bad;
    if (zq_fmt(iso, sizeof(iso), "%04d-%02d-%02d", y, m, d) < 0)
        goto bad;
    if (f->not_future) {
        today_str(o, today);
        if (strcmp(iso, today) > 0) {
            *msg = say("%s不能晚于今天", f->label);
            return -ZQ_EINVAL;
        }
    }
    return out_str(out, iso, strlen(iso));
bad:
    *msg = say("%s请按“2026-11-26”或“2026年11月26日”的格式填写", f->label);
    return -ZQ_EINVAL;
}

static int v_region(const zq_schema *s, const zq_field *f, const vin *in, vout *out,
                    const char **msg)
{
    const char *str = NULL;
    size_t len = 0;
    char t[SHORT_MAX + 1];
    const zq_region *r;
    int tl;

    str = in->s;
    len = in->len;
    switch (in->kind) {
    case IN_EMPTY: return empty(f, true, out, msg);
    case IN_STRING:
        tl = fold(str, len, t);
        if (tl < 0)
            goto bad;
        break;
    case IN_INT:
        if (zq_fmt(t, sizeof(t), "%lld", in->i) < 0)
            goto bad;
        break;
    default: goto bad;
    }
    r = zq_schema_region_find(s, t);
    if (r == NULL)
        goto bad;
    if (!r->sichuan && !f->allow_outside) {
        *msg = say("%s须为四川省内的市（州）", f->label);
        return -ZQ_EINVAL;
    }
    return out_str(out, r->code, strlen(r->code));
bad:
    if (f->allow_outside)
        *msg = say("请选择%s：四川省内的市（州）或其他省份", f->label);
    else
        *msg = say("请选择%s：四川省内的市（州）", f->label);
    return -ZQ_EINVAL;
}

static int v_bool(const zq_field *f, const vin *in, vout *out, const char **msg)
{
    static const char *const yes[] = {"true", "yes", "y", "1", "是", "同意", "对"};
    static const char *const no[] = {"false", "no", "n", "0", "否", "不同意", "不"};
    const char *s = NULL;
    size_t len = 0, i;
    char t[SHORT_MAX + 1];
    int tl;
    bool v;

    s = in->s;
    len = in->len;
    switch (in->kind) {
    case IN_EMPTY: return empty(f, true, out, msg);
    case IN_BOOL: v = in->b; goto done;
    case IN_INT:
        if (in->i != 0 && in->i != 1)
            goto bad;
        v = in->i == 1;
        goto done;
    case IN_STRING: break;
    default: goto bad;
    }
    tl = fold(s, len, t);
    if (tl < 0)
        goto bad;
    for (i = 0; i < ZQ_ARRAY_LEN(yes); i++) {
        if (strcasecmp(t, yes[i]) == 0) {
            v = true;
            goto done;
        }
        if (strcasecmp(t, no[i]) == 0) {
            v = false;
            goto done;
        }
    }
bad:
    if (f->must_be_true)
        *msg = "请阅读并勾选此项声明";
    else
        *msg = say("%s请回答“是”或“否”", f->label);
    return -ZQ_EINVAL;
done:
    if (!v && f->must_be_true) {
        *msg = "请阅读并勾选此项声明";
        return -ZQ_EINVAL;
    }
    return out_lit(out, json_boolean(v), v ? "true" : "false");
}

/* True when s is a file id: 32 lowercase hex digits (filestore.h). */
static bool file_id_ok(const char *s)
{
    size_t i;

    if (s == NULL || strlen(s) != 32)
        return false;
    for (i = 0; i < 32; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* A files field's value is the list the upload API keeps (never typed by
 * anyone): each record's kind must be one of the field's, and each kind
 * marked required must be there. A typed answer (the chat) is told where
 * files go. */
static int v_files(const zq_field *f, const vin *raw, const zq_schema_opts *o, vout *out,
                   const char **msg)
{
    json_t *in = raw->j, *rec;
    size_t i, k;

    if (json_is_string(in) || json_is_integer(in) || json_is_boolean(in) || json_is_real(in) ||
        json_is_object(in)) {
        *msg = say("%s请通过“网页填写”链接在网页上传", f->label);
        return -ZQ_EINVAL;
    }
    json_array_foreach(in, i, rec)
    {
        const char *kind = json_string_value(json_object_get(rec, "kind"));

        for (k = 0; kind != NULL && k < f->nkinds; k++)
            if (strcmp(f->kinds[k].value, kind) == 0)
                break;
        if (!json_is_object(rec) || !file_id_ok(json_string_value(json_object_get(rec, "id"))) ||
            kind == NULL || k == f->nkinds) {
            *msg = say("%s中有无法识别的文件，请删除后重新上传", f->label);
            return -ZQ_EINVAL;
        }
    }
    if (!o->files_kinds_optional) {
        for (k = 0; k < f->nkinds; k++) {
            bool found = false;

            if (!f->kinds[k].required)
                continue;
            json_array_foreach(in, i, rec)
            {
                if (strcmp(json_string_value(json_object_get(rec, "kind")), f->kinds[k].value) == 0)
                    found = true;
            }
            if (!found) {
                *msg = say("请上传%s", f->kinds[k].label);
                return -ZQ_EINVAL;
            }
        }
    }
    if (!json_is_array(in) || json_array_size(in) == 0) {
        if (f->required && !o->files_kinds_optional) {
            *msg = say("请上传%s", f->label);
            return -ZQ_EINVAL;
        }
        return out_lit(out, json_null(), "null");
    }
    return out_json(out, json_deep_copy(in));
}

/* The validator of f's type on in. */
static int validate(const zq_schema *s, const zq_field *f, const vin *in, const zq_schema_opts *o,
                    vout *out, const char **msg)
{
    switch (f->type) {
    case ZQ_FIELD_TEXT: return v_text(f, in, out, msg);
    case ZQ_FIELD_ENUM: return v_enum(f, in, out, msg);
    case ZQ_FIELD_USCC: return v_uscc(f, in, o, out, msg);
    case ZQ_FIELD_MOBILE: return v_mobile(f, in, out, msg);
    case ZQ_FIELD_MONEY: return v_money(f, in, o, out, msg);
    case ZQ_FIELD_DATE: return v_date(f, in, o, out, msg);
    case ZQ_FIELD_REGION: return v_region(s, f, in, out, msg);
    case ZQ_FIELD_BOOL: return v_bool(f, in, out, msg);
    case ZQ_FIELD_FILES: return v_files(f, in, o, out, msg);
    }
    *msg = "表单中没有这一项";
    return -ZQ_EINVAL;
}

int zq_field_validate(const zq_schema *s, const zq_field *f, json_t *in, const zq_schema_opts *o,
                      json_t **out, const char **msg)
{
    static const zq_schema_opts defaults = {0};
    const char *dummy;
    vin v;
    vout w;

    if (msg == NULL)
        msg = &dummy;
    *msg = NULL;
    if (out != NULL)
        *out = NULL;
    if (f == NULL || out == NULL) {
        *msg = "表单中没有这一项";
        return -ZQ_EINVAL;
    }
    if (o == NULL)
        o = &defaults;
    vin_json(&v, in);
    w.j = out;
    w.text = NULL;
    return validate(s, f, &v, o, &w, msg);
}

int zq_step_validate_raw(const zq_schema *s, const zq_step *st, const zq_jsonq_member *m, size_t n,
                         const zq_schema_opts *o, zq_buf *list, char mobile[12])
{
    static const zq_schema_opts defaults = {0};
    const zq_jsonq_member *in;
    const char *msg = NULL;
    size_t i, k, found = 0, idl;
    vin v;
    vout w = {NULL, list, {0}, 0};
    int rc;

    mobile[0] = '\0';
    if (o == NULL)
        o = &defaults;
    for (i = 0; i < st->nfields; i++) {
        const zq_field *fld = &st->fields[i];

        /* zq_step_validate's own work where a field is not plain. */
        if (fld->type == ZQ_FIELD_FILES || fld->multiple || fld->when.field != NULL)
            return -ZQ_EINVAL;
        idl = strlen(fld->id);
        for (k = 0, in = NULL; k < n && in == NULL; k++)
            if (m[k].key_len == idl && memcmp(m[k].key, fld->id, idl) == 0)
                in = &m[k];
        found += in != NULL;
        vin_member(&v, in);
        w.str_len = SIZE_MAX;
        if (zq_buf_append(list, fld->id, idl) < 0 || zq_buf_append(list, "\n", 1) < 0)
            return -ZQ_ENOMEM;
        if ((rc = validate(s, fld, &v, o, &w, &msg)) < 0)
            return rc;
        if (zq_buf_append(list, "\n", 1) < 0)
            return -ZQ_ENOMEM;
        if (w.str_len == 11 && strcmp(fld->id, "mobile") == 0) {
            memcpy(mobile, w.str, 11);
            mobile[11] = '\0';
        }
    }
    /* The keys are unique (zq_jsonq_members): one not found is unknown. */
    return found == n ? 0 : -ZQ_EINVAL;
}

/* "合同：合同.pdf（1 KB）；发票：1.jpg（80 KB）、2.jpg（1.2 MB）", by kind,
 * names in upload order. */
static char *files_display(const zq_field *f, json_t *value)
{
    zq_buf b = {0};
    json_t *rec;
    size_t i, k;

    for (k = 0; k < f->nkinds; k++) {
        bool first = true;

        json_array_foreach(value, i, rec)
        {
            const char *kind = json_string_value(json_object_get(rec, "kind"));
            const char *name = json_string_value(json_object_get(rec, "name"));
            long long size = json_integer_value(json_object_get(rec, "size"));

            if (kind == NULL || strcmp(kind, f->kinds[k].value) != 0)
                continue;
            if (first)
                zq_buf_printf(&b, "%s%s：", b.len ? "；" : "", f->kinds[k].label);
            zq_buf_printf(&b, "%s%s", first ? "" : "、", name ? name : "文件");
            if (size >= 1048576)
                zq_buf_printf(&b, "（%lld.%lld MB）", size / 1048576,
                              size % 1048576 * 10 / 1048576);
            else
                zq_buf_printf(&b, "（%lld KB）", size > 0 ? (size + 1023) / 1024 : 0);
            first = false;
        }
    }
    if (b.oom || b.len == 0) {
        zq_buf_free(&b);
        return strdup(json_array_size(value) ? "" : "未上传");
    }
    return b.data;
}

/* A multi-choice answer: its labels joined by 、. */
static char *choices_display(const zq_field *f, json_t *value)
{
    zq_buf b = {0};
    json_t *v;
    size_t i, k;

    json_array_foreach(value, i, v)
    {
        const char *label = json_string_value(v);

        for (k = 0; label != NULL && k < f->noptions; k++)
            if (strcmp(f->options[k].value, label) == 0) {
                label = f->options[k].label;
                break;
            }
        if (label == NULL)
            continue;
        if (b.len > 0)
            zq_buf_puts(&b, "、");
        zq_buf_puts(&b, label);
    }
    if (b.oom || b.len == 0) {
        zq_buf_free(&b);
        return strdup("");
    }
    return b.data;
}

char *zq_field_display(const zq_schema *s, const zq_field *f, json_t *value, bool mask)
{
    char buf[64];
    const char *str;
    size_t i;
    int y, m, d;

    if (f == NULL || value == NULL || json_is_null(value))
        return strdup("未填写");
    if (f->type == ZQ_FIELD_FILES)
        return files_display(f, value);
    if (json_is_array(value) && f->type == ZQ_FIELD_ENUM)
        return choices_display(f, value);
    if (json_is_boolean(value))
        return strdup(json_is_true(value) ? "是" : "否");
    if (json_is_integer(value)) {
        if (f->type == ZQ_FIELD_MONEY) {
            char num[48];

            fen_str(json_integer_value(value), num, sizeof(num));
            if (zq_fmt(buf, sizeof(buf), "%s 元", num) < 0)
                return strdup("");
        } else if (zq_fmt(buf, sizeof(buf), "%lld", (long long)json_integer_value(value)) < 0) {
            return strdup("");
        }
        return strdup(buf);
    }
    if (!json_is_string(value))
        return strdup("");
    str = json_string_value(value);
    switch (f->type) {
    case ZQ_FIELD_ENUM:
        for (i = 0; i < f->noptions; i++)
            if (strcmp(f->options[i].value, str) == 0)
                return strdup(f->options[i].label);
        break;
    case ZQ_FIELD_MOBILE:
        if (mask) {
            char m2[16];

            return strdup(zq_mask_mobile(str, m2, sizeof(m2)));
        }
        break;
    case ZQ_FIELD_DATE:
        if (strlen(str) == 10 && str[4] == '-' && parse_date(str, 10, &y, &m, &d) == 0 &&
            zq_fmt(buf, sizeof(buf), "%d年%d月%d日", y, m, d) == 0)
            return strdup(buf);
        break;
    case ZQ_FIELD_REGION: {
        const zq_region *r = zq_schema_region(s, str);

        if (r != NULL)
            return strdup(r->name);
        break;
    }
    default: break;
    }
    return strdup(str);
}

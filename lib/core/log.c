/* Structured logging to stderr, one write(2) per line, and masking of
 * mobile numbers and names before they reach a log. */
#include "zhuqi/log.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zhuqi/buf.h"
#include "zhuqi/common.h"

/* A line is at most PIPE_BUF (4096 on Linux) bytes so that a single write
 * to a pipe is atomic and lines from threads never interleave. */
#define LINE_MAX_BYTES 4096

static atomic_int g_level = ZQ_LOG_INFO;

/* The program name. The first zq_log_init() copies it into g_prog_buf and
 * then publishes the pointer; the buffer is never written again, so
 * threads that read it through g_prog always see a complete string. Later
 * calls (on SIGHUP) change only the level. */
static char g_prog_buf[64];
static _Atomic(const char *) g_prog = "zhuqi";
static atomic_flag g_prog_claimed = ATOMIC_FLAG_INIT;

/* The request id of the request this thread is serving ("" = none). */
static _Thread_local char t_rid[64];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static zq_log_level clamp_level(zq_log_level level)
{
    if ((int)level < ZQ_LOG_DEBUG)
        return ZQ_LOG_DEBUG;
    if ((int)level > ZQ_LOG_ERROR)
        return ZQ_LOG_ERROR;
    return level;
}

void zq_log_init(const char *prog, zq_log_level level)
{
    if (prog != NULL && !atomic_flag_test_and_set(&g_prog_claimed)) {
        zq_fmt_msg(g_prog_buf, sizeof(g_prog_buf), "%s", prog);
        atomic_store_explicit(&g_prog, g_prog_buf, memory_order_release);
    }
    zq_log_set_level(level);
}

void zq_log_set_level(zq_log_level level)
{
    atomic_store(&g_level, (int)clamp_level(level));
}

zq_log_level zq_log_get_level(void)
{
    return (zq_log_level)atomic_load(&g_level);
}

int zq_log_level_parse(const char *s, zq_log_level *out)
{
    if (s == NULL)
        return -ZQ_EINVAL;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(level_names); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            if (out != NULL)
                *out = (zq_log_level)i;
            return 0;
        }
    }
    return -ZQ_EINVAL;
}

/* How a piece of text is written into a line. Literal text of the format
 * (written by us) has only its control bytes escaped. What an argument
 * brings may be outside text: inside a quoted value ("..." in the format)
 * its '"' and '\' are escaped as \" and \\; in a bare value also the
 * space, as \x20, so that no argument can end its field and start
 * another (`path="/a\" admin=1"` stays one field). */
typedef enum esc_mode { ESC_CONTROL, ESC_QUOTED, ESC_BARE } esc_mode;

/* Which bytes each mode escapes, one bit per mode (1 << mode), and
 * RID_UNSAFE for those a request id may not hold: a table look-up per
 * byte, as every byte of every line passes here. */
#define RID_UNSAFE (1u << 3)
static unsigned char esc_table[256];
static pthread_once_t esc_once = PTHREAD_ONCE_INIT;

static void esc_table_init(void)
{
    for (int c = 0; c < 256; c++) {
        bool control = c < 0x20 || c == 0x7f;
        bool quote = control || c == '"' || c == '\\';

        esc_table[c] =
            (unsigned char)((control ? 1u << ESC_CONTROL : 0) | (quote ? 1u << ESC_QUOTED : 0) |
                            (quote || c == ' ' ? 1u << ESC_BARE : 0) |
                            (quote || c == ' ' || c == '=' || c >= 0x7f ? RID_UNSAFE : 0));
    }
}

/* The id usually comes from a request header: anything that could break
 * the key=value format (spaces, quotes, '=', control bytes) becomes '_'. */
void zq_log_set_request_id(const char *rid)
{
    char *dst = t_rid; /* the thread-local's address, once */
    size_t i;

    if (rid == NULL) {
        dst[0] = '\0';
        return;
    }
    pthread_once(&esc_once, esc_table_init);
    for (i = 0; i < sizeof(t_rid) - 1 && rid[i] != '\0'; i++) {
        unsigned char c = (unsigned char)rid[i];

        dst[i] = (esc_table[c] & RID_UNSAFE) ? '_' : (char)c;
    }
    dst[i] = '\0';
}

static bool needs_escape(unsigned char c, esc_mode mode)
{
    return (esc_table[c] >> mode) & 1u;
}

/* Appends s[0..len) to dst[pos..cap), escaped for mode. Runs of plain
 * bytes are copied whole; escapes are never split. Returns the new
 * position; sets *cut when not everything fitted. */
static size_t put_escaped(char *dst, size_t pos, size_t cap, const char *s, size_t len,
                          esc_mode mode, bool *cut)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;

    while (i < len) {
        size_t run = i;
        unsigned char c;
        bool pair;

        while (run < len && !needs_escape((unsigned char)s[run], mode))
            run++;
        if (run > i) {
            size_t n = run - i;

            if (n > cap - pos) {
                memcpy(dst + pos, s + i, cap - pos);
                *cut = true;
                return cap;
            }
            memcpy(dst + pos, s + i, n);
            pos += n;
            i = run;
            continue;
        }
        c = (unsigned char)s[i++];
        /* \n, \" and \\ in two bytes; the rest as \xNN. */
        pair = c == '\n' || (mode == ESC_QUOTED && (c == '"' || c == '\\'));
        if (pos + (pair ? 2 : 4) > cap) {
            *cut = true;
            return pos;
        }
        dst[pos++] = '\\';
        if (pair) {
            dst[pos++] = c == '\n' ? 'n' : (char)c;
        } else {
            dst[pos++] = 'x';
            dst[pos++] = hex[c >> 4];
            dst[pos++] = hex[c & 15];
        }
    }
    return pos;
}

/* One conversion of a format, as read by next_conv(). */
typedef struct conv {
    const char *flags; /* the flags as written, nflags of them */
    size_t nflags;
    char len[3]; /* length modifier: "", "hh", "h", "l", "ll", "z", "j", "t", "L" */
    char type;   /* 'd', 's', ... */
    int width;   /* -1: none */
    int prec;    /* -1: none */
    bool left;   /* the '-' flag */
} conv;

/* The character classes of a conversion, by switch rather than strchr:
 * a request's line reads a dozen of them. (strchr would also find the
 * terminating NUL.) */
static bool is_flag(char c)
{
    return c == '-' || c == '+' || c == ' ' || c == '#' || c == '0';
}

static bool is_length(char c)
{
    return c == 'h' || c == 'l' || c == 'z' || c == 'j' || c == 't' || c == 'L';
}

static bool is_type(char c)
{
    switch (c) {
    case 'd':
    case 'i':
    case 'o':
    case 'u':
    case 'x':
    case 'X':
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
    case 'a':
    case 'A':
    case 'c':
    case 's':
    case 'p':
    case 'm': return true;
    default: return false;
    }
}

/* Reads the conversion at *p (just after its '%'), taking '*' widths and
 * precisions from ap, and advances *p past it. Returns false when the
 * conversion is not one we know (it is then written as text). */
static bool next_conv(const char **p, va_list *ap, conv *c)
{
    const char *q = *p, *flags;
    size_t nflags, nlen;

    c->width = -1;
    c->prec = -1;
    c->left = false;
    flags = q;
    while (is_flag(*q)) {
        c->left = c->left || *q == '-';
        q++;
    }
    nflags = (size_t)(q - flags);
    c->flags = flags;
    c->nflags = nflags;
    if (*q == '*') {
        c->width = va_arg(*ap, int);
        if (c->width < 0) {
            c->left = true;
            c->width = -c->width;
        }
        q++;
    } else {
        for (c->width = 0; *q >= '0' && *q <= '9'; q++)
            c->width = c->width < 100000 ? c->width * 10 + (*q - '0') : c->width;
    }
    if (*q == '.') {
        q++;
        if (*q == '*') {
            c->prec = va_arg(*ap, int);
            q++;
        } else {
            for (c->prec = 0; *q >= '0' && *q <= '9'; q++)
                c->prec = c->prec < 100000 ? c->prec * 10 + (*q - '0') : c->prec;
        }
    }
    nlen = 0;
    while (nlen < 2 && is_length(*q) && (nlen == 0 || *q == c->len[0]))
        c->len[nlen++] = *q++;
    c->len[nlen] = '\0';
    c->type = *q;
    if (!is_type(c->type) || nflags > 5)
        return false;
    *p = q + 1;
    return true;
}

/* Appends the decimal digits of v to out[*n..]. */
static void put_digits(char *out, size_t *n, unsigned long long v)
{
    char d[24];
    size_t k = 0;

    do {
        d[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (k > 0)
        out[(*n)++] = d[--k];
}

/* The conversion c again as a snprintf spec, with '*' replaced by the
 * numbers read (flags <= 5, two numbers < 10^6, "ll" and the type fit). */
static void conv_spec(const conv *c, char spec[40])
{
    size_t n = 0;

    spec[n++] = '%';
    memcpy(spec + n, c->flags, c->nflags);
    n += c->nflags;
    if (c->width > 0)
        put_digits(spec, &n, (unsigned long long)c->width);
    if (c->prec >= 0) {
        spec[n++] = '.';
        put_digits(spec, &n, (unsigned long long)c->prec);
    }
    for (const char *l = c->len; *l != '\0'; l++)
        spec[n++] = *l;
    spec[n++] = c->type;
    spec[n] = '\0';
}
/* Writes v with prec (0..6) decimals into out[*n..] as printf's "%.*f"
 * does, when that can be done exactly without it: |v| * 10^prec below
 * 1e11 (so the product is off by less than 1e-5) and not within 1e-4 of
 * a half, where that error could round it the other way than printf,
 * which rounds v's exact value. Returns false otherwise (NaN and
 * infinities too): the caller then asks snprintf. */
static bool put_fixed(char *out, size_t *n, double v, int prec)
{
    static const double scale[] = {1, 10, 100, 1000, 1e4, 1e5, 1e6};
    double p = fabs(v) * scale[prec], f;
    unsigned long long r, unit = 1, ip, fp;
    char d[8];
    int i;

    if (!(p < 1e11))
        return false;
    r = (unsigned long long)p; /* p >= 0: truncation is floor */
    f = p - (double)r;
    if (f > 0.4999 && f < 0.5001)
        return false;
    if (f > 0.5)
        r++;
    for (i = 0; i < prec; i++)
        unit *= 10;
    ip = r / unit;
    fp = r % unit;
    if (signbit(v))
        out[(*n)++] = '-';
    put_digits(out, n, ip);
    if (prec > 0) {
        out[(*n)++] = '.';
        for (i = prec - 1; i >= 0; i--) {
            d[i] = (char)('0' + fp % 10);
            fp /= 10;
        }
        memcpy(out + *n, d, (size_t)prec);
        *n += (size_t)prec;
    }
    return true;
}

/* The "YYYY-MM-DDTHH:MM:SS" text of the second this thread logged last:
 * formatting a date costs more than the rest of a line, and a busy
 * thread logs many lines per second. */
static _Thread_local time_t t_stamp_sec = -1;
static _Thread_local char t_stamp[64];

static size_t put_timestamp(char *dst)
{
    struct timespec ts;
    long ms;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != t_stamp_sec) {
        /* Beijing has no daylight saving: UTC+8 all year, so shifting the
         * epoch and formatting as UTC avoids TZ and localtime's lock. */
        time_t bj = ts.tv_sec + ZQ_BEIJING_OFFSET_S;
        struct tm tm;

        gmtime_r(&bj, &tm);
        /* Each field is cut to its width: 19 characters always fit. */
        if (zq_fmt(t_stamp, sizeof(t_stamp), "%04d-%02d-%02dT%02d:%02d:%02d",
                   (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100, tm.tm_mday % 100,
                   tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100) < 0)
            memcpy(t_stamp, "0000-00-00T00:00:00", 20);
        t_stamp_sec = ts.tv_sec;
    }
    memcpy(dst, t_stamp, 19);
    ms = ts.tv_nsec / 1000000;
    dst[19] = '.';
    dst[20] = (char)('0' + ms / 100);
    dst[21] = (char)('0' + ms / 10 % 10);
    dst[22] = (char)('0' + ms % 10);
    /* A line is built in place and ends with a newline, never a NUL. */
    memcpy(dst + 23, "+08:00 level=", 13); // NOLINT(bugprone-not-null-terminated-result)
    return 36;
}

static size_t put_str(char *dst, size_t pos, size_t cap, const char *s, bool *cut)
{
    size_t n = strlen(s);

    if (n > cap - pos) {
        n = cap - pos;
        *cut = true;
    }
    memcpy(dst + pos, s, n); // NOLINT(bugprone-not-null-terminated-result): a part of a line
    return pos + n;
}

/* Pads a string conversion to its width with spaces. */
static size_t put_pad(char *dst, size_t pos, size_t cap, int width, size_t n, bool *cut)
{
    while (width > 0 && (size_t)width > n && pos < cap) {
        dst[pos++] = ' ';
        width--;
    }
    if (width > 0 && (size_t)width > n)
        *cut = true;
    return pos;
}

/* Writes a text argument (%s, %c, %m): cut to its precision, padded to its
 * width, escaped for where it stands. */
static size_t put_text(char *dst, size_t pos, size_t cap, const conv *c, const char *s, size_t n,
                       esc_mode mode, bool *cut)
{
    if (c->prec >= 0 && (size_t)c->prec < n)
        n = (size_t)c->prec;
    if (!c->left)
        pos = put_pad(dst, pos, cap, c->width, n, cut);
    pos = put_escaped(dst, pos, cap, s, n, mode, cut);
    if (c->left)
        pos = put_pad(dst, pos, cap, c->width, n, cut);
    return pos;
}

/* The spec is rebuilt from a format that the compiler checked against
 * its arguments (zq_log's format attribute), and each argument is taken
 * with the type that spec names. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

/* Writes a number or pointer argument: our own digits, nothing to escape
 * but what a control byte would be. */
static size_t put_number(char *dst, size_t pos, size_t cap, const conv *c, va_list *ap, bool *cut)
{
    char tmp[512], spec[40];
    const char *l = c->len;
    int n;

    /* The common case, a plain %d, %u, %ld, %zu ...: our own digits, no
     * snprintf (a request logs several per line). A bare %d has no length
     * modifier: l[0] is the NUL, which strchr("hjtL", ...) used to find,
     * so %d went the slow way. */
    if (c->nflags == 0 && c->width <= 0 && c->prec < 0 &&
        (c->type == 'd' || c->type == 'i' || c->type == 'u') &&
        (l[0] == '\0' || l[0] == 'l' || l[0] == 'z')) {
        unsigned long long v;
        size_t k = 0;

        if (c->type == 'u')
            v = l[0] == 'z'                  ? va_arg(*ap, size_t)
                : l[0] == 'l' && l[1] == 'l' ? va_arg(*ap, unsigned long long)
                : l[0] == 'l'                ? va_arg(*ap, unsigned long)
                                             : va_arg(*ap, unsigned int);
        else {
            long long sv = l[0] == 'z'                  ? (long long)va_arg(*ap, size_t)
                           : l[0] == 'l' && l[1] == 'l' ? va_arg(*ap, long long)
                           : l[0] == 'l'                ? va_arg(*ap, long)
                                                        : va_arg(*ap, int);

            if (sv < 0)
                tmp[k++] = '-';
            v = sv < 0 ? 0ULL - (unsigned long long)sv : (unsigned long long)sv;
        }
        put_digits(tmp, &k, v);
        return put_escaped(dst, pos, cap, tmp, k, ESC_CONTROL, cut);
    }
    /* A plain %.Nf (the request line's ms=%.2f): our own digits too. */
    if (c->type == 'f' && c->nflags == 0 && c->width <= 0 && c->prec >= 0 && c->prec <= 6 &&
        l[0] == '\0') {
        double v = va_arg(*ap, double);
        size_t k = 0;

        if (put_fixed(tmp, &k, v, c->prec))
            return put_escaped(dst, pos, cap, tmp, k, ESC_CONTROL, cut);
        n = snprintf(tmp, sizeof(tmp), "%.*f", c->prec, v);
        return n < 0 ? pos : put_escaped(dst, pos, cap, tmp, (size_t)n, ESC_CONTROL, cut);
    }
    conv_spec(c, spec);

    /* Each branch takes another type: clang-tidy sees va_arg's type
     * as no difference. */
    // NOLINTBEGIN(bugprone-branch-clone)
    if (c->type == 'p') {
        n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, void *));
    } else if (strchr("eEfFgGaA", c->type) != NULL) {
        if (l[0] == 'L')
            n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, long double));
        else
            n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, double));
    } else if (c->type == 'd' || c->type == 'i') {
        if (strcmp(l, "ll") == 0)
            n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, long long));
        else if (l[0] == 'l')
            n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, long));
        else if (l[0] == 'z')
            n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, size_t));
        else if (l[0] == 'j')
            n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, intmax_t));
        else if (l[0] == 't')
            n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, ptrdiff_t));
        else
            n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, int));
    } else {
        if (strcmp(l, "ll") == 0)
            n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, unsigned long long));
        else if (l[0] == 'l')
            n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, unsigned long));
        else if (l[0] == 'z')
            n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, size_t));
        else if (l[0] == 'j')
            n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, uintmax_t));
        else if (l[0] == 't')
            n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, ptrdiff_t));
        else
            n = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, unsigned int));
    }
    // NOLINTEND(bugprone-branch-clone)
    if (n < 0)
        return pos;
    if ((size_t)n >= sizeof(tmp)) {
        n = (int)sizeof(tmp) - 1;
        *cut = true;
    }
    return put_escaped(dst, pos, cap, tmp, (size_t)n, ESC_CONTROL, cut);
}

#pragma GCC diagnostic pop

/* Formats fmt with ap into dst[pos..cap) (see esc_mode): a value is
 * quoted when the format's own text opened a '"' before it. err is the
 * errno for %m. Returns the new position. */
static size_t put_format(char *dst, size_t pos, size_t cap, const char *fmt, va_list *ap, int err,
                         bool *cut)
{
    const char *p = fmt;
    bool quoted = false;

    while (*p != '\0' && !*cut) {
        const char *q = p;
        conv c;

        unsigned ctl = 0;

        /* One pass finds the run's end, its quotes and whether it holds
         * a control byte; a plain run (the usual) is copied whole. */
        while (*q != '\0' && *q != '%') {
            quoted = quoted != (*q == '"');
            ctl |= esc_table[(unsigned char)*q];
            q++;
        }
        if ((ctl & (1u << ESC_CONTROL)) == 0 && (size_t)(q - p) <= cap - pos) {
            memcpy(dst + pos, p, (size_t)(q - p));
            pos += (size_t)(q - p);
        } else {
            pos = put_escaped(dst, pos, cap, p, (size_t)(q - p), ESC_CONTROL, cut);
        }
        if (*q == '\0')
            break;
        p = q + 1;
        if (*p == '%') {
            pos = put_escaped(dst, pos, cap, "%", 1, ESC_CONTROL, cut);
            p++;
            continue;
        }
        if (!next_conv(&p, ap, &c)) {
            /* Unknown (the compiler would have said): shown as text, and
             * no further argument is read. */
            pos = put_escaped(dst, pos, cap, q, strlen(q), ESC_CONTROL, cut);
            break;
        }
        if (c.type == 's' || c.type == 'c' || c.type == 'm') {
            esc_mode mode = quoted ? ESC_QUOTED : ESC_BARE;
            char ch, ebuf[128];
            const char *s;

            if (c.type == 's') {
                s = va_arg(*ap, const char *);
                if (s == NULL)
                    s = "(null)";
            } else if (c.type == 'c') {
                ch = (char)va_arg(*ap, int);
                pos = put_text(dst, pos, cap, &c, &ch, 1, mode, cut);
                continue;
            } else {
                s = strerror_r(err, ebuf, sizeof(ebuf));
            }
            /* strnlen: a precision may cut an unterminated array. */
            pos = put_text(dst, pos, cap, &c, s,
                           c.prec >= 0 ? strnlen(s, (size_t)c.prec) : strlen(s), mode, cut);
        } else {
            pos = put_number(dst, pos, cap, &c, ap, cut);
        }
    }
    return pos;
}

void zq_log(zq_log_level level, const char *fn, const char *fmt, ...)
{
    char line[LINE_MAX_BYTES];
    const size_t room = sizeof(line) - 4; /* keep space for "...\n" */
    int saved = errno;
    va_list ap;
    size_t pos;
    bool cut = false;

    level = clamp_level(level);
    if ((int)level < atomic_load(&g_level))
        return;
    pthread_once(&esc_once, esc_table_init);

    /* The head: timestamp and fixed fields, well under room. */
    pos = put_timestamp(line);
    pos = put_str(line, pos, room, level_names[level], &cut);
    pos = put_str(line, pos, room, " prog=", &cut);
    pos = put_str(line, pos, room, atomic_load_explicit(&g_prog, memory_order_acquire), &cut);
    pos = put_str(line, pos, room, " fn=", &cut);
    pos = put_escaped(line, pos, room, fn != NULL ? fn : "-", fn != NULL ? strlen(fn) : 1, ESC_BARE,
                      &cut);
    pos = put_str(line, pos, room, " rid=", &cut);
    pos = put_str(line, pos, room, t_rid[0] != '\0' ? t_rid : "-", &cut);
    pos = put_str(line, pos, room, " ", &cut);

    /* The message is written straight into the line, each argument
     * escaped for where it stands: no copy, no allocation. */
    va_start(ap, fmt);
    pos = put_format(line, pos, room, fmt != NULL ? fmt : "", &ap, saved, &cut);
    va_end(ap);
    if (cut) {
        memcpy(line + pos, "...", 3);
        pos += 3;
    }
    line[pos++] = '\n';
    while (write(STDERR_FILENO, line, pos) < 0 && errno == EINTR)
        ;
    errno = saved;
}

/* Copies s[0..len) into out, cut at a UTF-8 character boundary to fit. */
static char *put(char *out, size_t outsz, const char *s, size_t len)
{
    if (out == NULL || outsz == 0)
        return out;
    if (len > outsz - 1)
        len = zq_utf8_cut(s, len, outsz - 1);
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

char *zq_mask_mobile(const char *in, char *out, size_t outsz)
{
    char d[16], m[12];
    size_t n = 0;
    bool plus = false;
    const char *p, *num;

    if (in == NULL || in[0] == '\0')
        return put(out, outsz, "", 0);
    /* The usual value, 11 digits and nothing else, as the loop below
     * would mask it (the staff list masks one per row). */
    for (n = 0; n < 11 && is_digit(in[n]); n++)
        ;
    if (n == 11 && in[11] == '\0') {
        memcpy(m, in, 3);
        memcpy(m + 3, "****", 4);
        memcpy(m + 7, in + 7, 4);
        m[11] = '\0';
        return put(out, outsz, m, 11);
    }
    n = 0;
    for (p = in; *p != '\0'; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        if (*p == '+' && n == 0 && !plus) {
            plus = true;
        } else if (is_digit(*p) && n < sizeof(d)) {
            d[n++] = *p;
        } else {
            return put(out, outsz, "***", 3);
        }
    }
    num = d;
    if (n >= 2 && d[0] == '8' && d[1] == '6' && (plus || n == 13)) {
        num += 2;
        n -= 2;
    } else if (plus) {
        return put(out, outsz, "***", 3);
    }
    if (n != 11)
        return put(out, outsz, "***", 3);
    memcpy(m, num, 3);
    memcpy(m + 3, "****", 4);
    memcpy(m + 7, num + 7, 4);
    m[11] = '\0';
    return put(out, outsz, m, 11);
}

/* Bytes in the UTF-8 sequence that starts with lead byte c. */
static size_t utf8_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xF0)
        return 4;
    if (c >= 0xE0)
        return 3;
    return 2;
}

char *zq_mask_name(const char *in, char *out, size_t outsz)
{
    char m[8];
    size_t len, chars, first, stars;

    if (in == NULL || in[0] == '\0')
        return put(out, outsz, "", 0);
    len = strlen(in);
    if (!zq_utf8_valid(in, len))
        return put(out, outsz, "***", 3);
    chars = zq_utf8_chars(in, len);
    /* A one-character name would be shown whole: mask it entirely. */
    if (chars == 1)
        return put(out, outsz, "*", 1);
    first = utf8_len((unsigned char)in[0]);
    stars = chars - 1 < 3 ? chars - 1 : 3;
    memcpy(m, in, first);
    memset(m + first, '*', stars);
    m[first + stars] = '\0';
    return put(out, outsz, m, first + stars);
}

/* A bounded writer for zq_mask_text. */
typedef struct sink {
    char *out;
    size_t cap; /* bytes available for text (outsz - 1) */
    size_t pos;
    bool full;
} sink;

static void sink_put(sink *s, const char *p, size_t n)
{
    if (s->full)
        return;
    if (n > s->cap - s->pos) {
        /* Do not leave half a character at the cut. */
        n = zq_utf8_cut(p, n, s->cap - s->pos);
        s->full = true;
    }
    memcpy(s->out + s->pos, p, n);
    s->pos += n;
}

char *zq_mask_text(const char *in, char *out, size_t outsz)
{
    sink s = {out, outsz > 0 ? outsz - 1 : 0, 0, false};
    const char *p = in;

    if (out == NULL || outsz == 0)
        return out;
    if (in == NULL)
        return put(out, outsz, "", 0);
    while (*p != '\0' && !s.full) {
        const char *q = p;

        if (!is_digit(*p)) {
            while (*q != '\0' && !is_digit(*q))
                q++;
            sink_put(&s, p, (size_t)(q - p));
        } else {
            while (is_digit(*q))
                q++;
            if (q - p == 11 && p[0] == '1' && p[1] >= '3' && p[1] <= '9') {
                sink_put(&s, p, 3);
                sink_put(&s, "****", 4);
                sink_put(&s, p + 7, 4);
            } else {
                sink_put(&s, p, (size_t)(q - p));
            }
        }
        p = q;
    }
    out[s.pos] = '\0';
    return out;
}

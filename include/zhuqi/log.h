/* Structured logging: one line per event on stderr, `key=value` fields,
 * with the current request id; and masking of personal data. */
#ifndef ZHUQI_LOG_H
#define ZHUQI_LOG_H

#include <stddef.h>

typedef enum zq_log_level {
    ZQ_LOG_DEBUG = 0,
    ZQ_LOG_INFO = 1,
    ZQ_LOG_WARN = 2,
    ZQ_LOG_ERROR = 3,
} zq_log_level;

/* Sets the program name printed on each line and the lowest level printed.
 * Safe to call again (SIGHUP) while other threads log. */
void zq_log_init(const char *prog, zq_log_level level);
void zq_log_set_level(zq_log_level level);
zq_log_level zq_log_get_level(void);

/* Parses "debug", "info", "warn", "error". Returns 0 or -ZQ_EINVAL. */
int zq_log_level_parse(const char *s, zq_log_level *out);

/* The request id printed on this thread's lines ("-" when NULL). The
 * string is copied. */
void zq_log_set_request_id(const char *rid);

/* Writes one line:
 *   2026-11-26T09:30:00.123+08:00 level=info prog=zhuqi-fcgi fn=main rid=- <fmt...>
 * fmt should produce `key=value` fields, a value that may hold spaces
 * quoted in the format (`reason=\"%s\"`); the line is written with a
 * single write() so lines from threads never interleave. Each argument is
 * escaped for where it stands, so outside text cannot end its field and
 * forge another: inside a quoted value '"' and '\' as \" and \\, in a
 * bare value also the space as \x20; everywhere a newline as \n and
 * other control bytes as \xNN. Conversions: those of printf with the
 * flags, width, precision ('*' too) and length modifiers hh h l ll z j t
 * L, and %m; no %n. No allocation; a line longer than 4096 bytes is cut
 * and ends with "...". */
void zq_log(zq_log_level level, const char *fn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ZQ_DEBUG(...) zq_log(ZQ_LOG_DEBUG, __func__, __VA_ARGS__)
#define ZQ_INFO(...) zq_log(ZQ_LOG_INFO, __func__, __VA_ARGS__)
#define ZQ_WARN(...) zq_log(ZQ_LOG_WARN, __func__, __VA_ARGS__)
#define ZQ_ERROR(...) zq_log(ZQ_LOG_ERROR, __func__, __VA_ARGS__)

/* Masks a mobile number: "13812341234" -> "138****1234"; anything that is
 * not 11 digits after stripping +86/86, spaces and dashes becomes "***".
 * Writes at most outsz bytes (NUL included); returns out. */
char *zq_mask_mobile(const char *in, char *out, size_t outsz);

/* Masks a person's or company's name: keeps the first character (UTF-8
 * aware) and replaces the rest with one '*' per character, at most 3:
 * "张三丰" -> "张**". Empty in gives "". Returns out. */
char *zq_mask_name(const char *in, char *out, size_t outsz);

/* Copies free text, replacing every run of 11 digits that looks like a
 * mobile number with its mask, for logging user text. Returns out. */
char *zq_mask_text(const char *in, char *out, size_t outsz);

#endif

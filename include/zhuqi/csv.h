/* CSV for spreadsheets (RFC 4180): quoting, CRLF rows, a UTF-8 byte order
 * mark so that Excel reads Chinese correctly, and neutralising of values
 * that a spreadsheet would run as a formula. */
#ifndef ZHUQI_CSV_H
#define ZHUQI_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "zhuqi/buf.h"

/* The UTF-8 byte order mark that starts every file we write. */
#define ZQ_CSV_BOM "\xEF\xBB\xBF"
#define ZQ_CSV_BOM_LEN 3

/* True when a spreadsheet could take the value for a formula: it starts
 * with '=', '+', '-', '@', a tab or a carriage return. */
bool zq_csv_is_formula(const char *s, size_t len);

/* Appends one field to b: a ',' first unless first is true; the value
 * prefixed with an apostrophe when zq_csv_is_formula(); quoted (with
 * quotes doubled) when it holds a comma, a quote, CR or LF, or had to be
 * neutralised. s may be NULL (an empty field). Returns 0 or -ZQ_ENOMEM. */
int zq_csv_field(zq_buf *b, bool first, const char *s, size_t len);

/* The same for a C string. */
int zq_csv_str(zq_buf *b, bool first, const char *s);

/* A number as a spreadsheet reads it (no quotes, no neutralising: the
 * text is made here of digits, '-' and '.', never taken from outside):
 * an integer, or fen as yuan with two decimals ("-12.30"). Return 0 or
 * -ZQ_ENOMEM. */
int zq_csv_int(zq_buf *b, bool first, long long v);
int zq_csv_fen(zq_buf *b, bool first, long long fen);

/* Ends a row: CR LF. */
int zq_csv_end_row(zq_buf *b);

#endif

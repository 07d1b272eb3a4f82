/* What the files of lib/staff share and nobody else uses: the row fields,
 * the readers of reply and JSON text, labels and the memo. */
#ifndef ZHUQI_STAFF_INT_H
#define ZHUQI_STAFF_INT_H

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "zhuqi/jsontext.h"
#include "zhuqi/staff.h"

#define SCAN_BATCH 1000   /* ids per export/stats step */
#define SCAN_BUDGET 20000 /* candidates per script call */

/* A numeric macro as a string literal: ZQ_STAFF_STR(ZQ_STAFF_NOTES_MAX). */
#define ZQ_STAFF_STR_(x) #x
#define ZQ_STAFF_STR(x) ZQ_STAFF_STR_(x)

/* The hash fields a row reads, in the order rows.c's fill_fields()
 * expects; the answers come after them, when needed. */
#define ROW_FIELDS ZQ_SUMMARY_ROW_FIELDS
#define ROW_FIELDS_LUA ZQ_SUMMARY_ROW_FIELDS_LUA
#define NROW_FIELDS ZQ_SUMMARY_NROW

/* What an HMGET of a row holds after the row fields (zq_staff_fill_row). */
#define LAYOUT_SUM 1     /* list_sum */
#define LAYOUT_ANSWERS 2 /* then the answers */

/* ---- rows.c ---- */

/* A string reply into dst, cut at dstsz - 1 bytes; "" for anything else. */
void zq_staff_copy_str(char *dst, size_t dstsz, const redisReply *v);

/* A row (cleared first) from an HMGET reply of the row fields, then
 * list_sum and the answers as layout (LAYOUT_*) says. */
void zq_staff_fill_row(zq_case_row *row, const redisReply *r, int layout);

/* The rows of a list page from a scan's pack (id, list_row, list_sum,
 * updated_ms per case; see scan.c), at most limit: ids[] and rows[] get
 * them and *n their count; the rows without usable packs are read the
 * slow way (slow holds limit indexes). When in_place, the rows' summary
 * strings point into pack (its list_sum separators overwritten), which
 * must then outlive them; else they own copies. On failure every row is
 * cleared. Returns 0 or a negative code. */
int zq_staff_list_from_pack(zq_store *st, char *pack, size_t len, bool in_place, int limit,
                            char (*ids)[ZQ_CASE_ID_MAX], zq_case_row *rows, int *n, int *slow,
                            zq_err *err);

/* ---- staff.c ---- */

/* A region's name, or the code itself when the schema has none. Borrowed. */
const char *zq_staff_region_name(const zq_schema *s, const char *code);
/* A form's title, or its id. Borrowed. */
const char *zq_staff_form_title(const zq_schema *s, const char *form);

/* ctx with a memo: the caller's, or own (zeroed) when it has none. */
zq_staff_ctx zq_staff_with_memo(const zq_staff_ctx *in, zq_staff_memo *own);

/* ---- rowjson.c ---- */

/* The office a row goes to and its cross-region partner: the assigned
 * ones, else the default from the summary, else from the answers text (no
 * parse). */
void zq_staff_row_office(const zq_case_row *r, char office[8], char partner[8]);

/* ---- update.c ---- */

/* Reads the {status, current status} answer of a staff write script:
 * *status points at the first (in r), cur (may be NULL) gets the second.
 * Returns 0; -ZQ_EUNAVAIL when Redis refuses writes; -ZQ_EREPLY for any
 * other answer (what names the write in the message). */
int zq_staff_write_reply(const redisReply *r, const char *what, const char **status, char cur[24],
                         zq_err *err);

#endif

/* What the staff list reads of a case: two packed fields of case:{id}, so
 * that a page of 50 costs one short HMGET per case instead of a score of
 * fields, and never the answers JSON.
 *
 *   list_sum  the columns that come from the answers, derived once when
 *             the case is created (lib/intake/cases.c) and never changed, since
 *             answers are never edited: ZQ_SUMMARY_VERSION, company,
 *             contact (unmasked), respondent (complaints), amount in fen
 *             as digits (complaints; "" unless a non-negative integer),
 *             topic (other forms), default office and partner region
 *             (zq_wf_default_office), joined by ZQ_SUMMARY_SEP.
 *   list_row  the row fields (ZQ_SUMMARY_ROW_FIELDS: status, handler,
 *             deadline fields...) as they are in the hash, rebuilt by
 *             ZQ_SUMMARY_LUA_PACK_ROW at the end of every script that
 *             writes them: case creation and zq_staff_update (moves,
 *             assignments, extensions). ZQ_SUMMARY_VERSION, then per
 *             field "=" and the value, or nothing for a missing field,
 *             joined by ZQ_SUMMARY_SEP.
 *
 * Cases stored before these fields existed, or whose pack cannot be used
 * (a value holding the separator is never packed; a pack whose
 * updated_ms differs from the hash's was left behind by some other
 * writer), are listed from their fields and answers, row by row; the
 * next staff action on such a case writes both packs. Any new script
 * that writes a row field of case:{id} must end with the row pack. */
#ifndef ZHUQI_SUMMARY_H
#define ZHUQI_SUMMARY_H

#include <jansson.h>

#include "zhuqi/buf.h"
#include "zhuqi/schema.h"

/* Bump when a pack's content changes: packs of another version are
 * ignored (the row is read the slow way) until rewritten. */
#define ZQ_SUMMARY_VERSION "1"
/* The ASCII unit separator: never in validated text (no control
 * characters), and a value holding it is not packed. */
#define ZQ_SUMMARY_SEP '\x1f'
#define ZQ_SUMMARY_SEP_LUA "\\31"

/* The row fields, in pack order (the id first). */
#define ZQ_SUMMARY_ROW_FIELDS                                                                      \
    "id form status created_ms updated_ms mobile region source dup_of handler office "             \
    "cross_region due_kind due_start due_date due_limit due_ext answered_ms answered_on_time "     \
    "result recovered_fen department review_on_time transfer_on_time rating rating_comment "       \
    "result_reason"
#define ZQ_SUMMARY_ROW_FIELDS_LUA                                                                  \
    "'id', 'form', 'status', 'created_ms', 'updated_ms', 'mobile', 'region', 'source', "           \
    "'dup_of', 'handler', 'office', 'cross_region', 'due_kind', 'due_start', 'due_date', "         \
    "'due_limit', 'due_ext', 'answered_ms', 'answered_on_time', 'result', 'recovered_fen', "       \
    "'department', 'review_on_time', 'transfer_on_time', 'rating', 'rating_comment', "             \
    "'result_reason'"
#define ZQ_SUMMARY_NROW 27
/* Packs written before the outcome fields (result...transfer_on_time)
 * have the first 19 fields: still read, the others missing. */
#define ZQ_SUMMARY_NROW_V1 19
/* Packs written before the enterprise's evaluation (rating,
 * rating_comment) have the first 24. */
#define ZQ_SUMMARY_NROW_V2 24
/* Packs written before the result's reason (result_reason) have the
 * first 26. */
#define ZQ_SUMMARY_NROW_V3 26
#define ZQ_SUMMARY_NSUM 7 /* values of list_sum after the version */

/* Lua: a function zq_pack_row(ck) that rebuilds list_row of the case
 * hash ck from its fields (and deletes it when a value holds the
 * separator). Put it at the top of a script and call it after the
 * script's last write to ck. */
#define ZQ_SUMMARY_LUA_PACK_ROW                                                                    \
    "local function zq_pack_row(ck)\n"                                                             \
    "  local v = redis.call('HMGET', ck, " ZQ_SUMMARY_ROW_FIELDS_LUA ")\n"                         \
    "  for i = 1, #v do\n"                                                                         \
    "    if v[i] then\n"                                                                           \
    "      if string.find(v[i], '" ZQ_SUMMARY_SEP_LUA "', 1, true) then\n"                         \
    "        redis.call('HDEL', ck, 'list_row')\n"                                                 \
    "        return\n"                                                                             \
    "      end\n"                                                                                  \
    "      v[i] = '=' .. v[i]\n"                                                                   \
    "    else\n"                                                                                   \
    "      v[i] = ''\n"                                                                            \
    "    end\n"                                                                                    \
    "  end\n"                                                                                      \
    "  redis.call('HSET', ck, 'list_row', '" ZQ_SUMMARY_VERSION ZQ_SUMMARY_SEP_LUA "' ..\n"        \
    "    table.concat(v, '" ZQ_SUMMARY_SEP_LUA "'))\n"                                             \
    "end\n"

/* The summary of one case. The strings are borrowed from the answers
 * passed to zq_summary_from_answers and never NULL. */
typedef struct zq_summary {
    const char *company_name;
    const char *contact_name;
    const char *respondent_name;
    const char *topic;
    char amount_fen[24];
    char office[8];
    char partner[8];
} zq_summary;

/* Derives the summary of a case of form (the form's id) from its
 * answers (borrowed; NULL or not an object gives empty fields and the
 * provincial desk as office). */
void zq_summary_from_answers(const char *form, json_t *answers, zq_summary *out);

/* Appends the list_sum text of s to b. Returns 0, -ZQ_EINVAL when a
 * value holds the separator (store nothing: the case is listed from its
 * answers), or -ZQ_ENOMEM. */
int zq_summary_pack(const zq_summary *s, zq_buf *b);

/* Splits a list_sum pack (s, len bytes) into its ZQ_SUMMARY_NSUM values,
 * in zq_summary_pack's order (company, contact, respondent, amount,
 * topic, office, partner). Returns an owned NUL-separated copy that
 * part[] points into (free with free()), or NULL when the pack is of
 * another version, incomplete, or memory ran out. */
char *zq_summary_split(const char *s, size_t len, const char *part[ZQ_SUMMARY_NSUM]);

/* zq_summary_split in place: part[] points into s (its separators
 * overwritten with NULs, nothing written when the pack is refused) and
 * plen[] gets the lengths. Every part but the last is terminated; the
 * last ends at s + len, which is not written. Returns 0 or -ZQ_EINVAL
 * (another version, incomplete). */
int zq_summary_split_in(char *s, size_t len, const char *part[ZQ_SUMMARY_NSUM],
                        size_t plen[ZQ_SUMMARY_NSUM]);

/* Flags of zq_summary_fields. */
#define ZQ_SUMMARY_MASK 1u     /* mobile numbers masked (138****8000) */
#define ZQ_SUMMARY_NO_FILES 2u /* files fields left out (listed apart) */

/* The answers of a case of form f as people read them, one place for
 * the staff detail and the enterprise's receipt: a new array with an
 * entry per step that has answers, in the schema's order,
 * {"step", "title", "fields": [{"id", "label", "value"}]}, each value as
 * zq_field_display shows it ("" for null). f NULL: an empty array. NULL
 * when out of memory. */
json_t *zq_summary_fields(const zq_schema *s, const zq_form *f, json_t *answers, unsigned flags);

#endif

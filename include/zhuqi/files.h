/* Evidence files' records in Redis: the uploads of a web draft, kept in
 * its session, then in the case's answers (the files field's value), and
 * the list of uploads not yet in a case, which the sweep of abandoned
 * drafts walks. The bytes are in the file store (filestore.h).
 *
 * A record: {"id": 32 hex, "field": files field id, "kind", "name",
 * "size": bytes, "type": "image/jpeg"|"image/png"|"application/pdf",
 * "sha256": hex, "by": "web", "at_ms": upload time}.
 *
 * Keys (prefix omitted):
 *   sess:{sid} u:{form}   JSON array of the draft's records (session.h)
 *   files:pending         zset "{fid}:{sid}" -> when last seen in a live
 *                         session (ms); the case creation script removes a
 *                         case's uploads from it
 *   case:{id} files_pub   the public list (kind label, name, size)
 *   case:{id} files_more  records attached after creation
 *   sess:{sid} s:{case}   JSON array of the uploads of an answer to a
 *                         request for more material, not yet sent (pending
 *                         like a draft's: swept when the session ends) */
#ifndef ZHUQI_FILES_H
#define ZHUQI_FILES_H

#include <jansson.h>
#include <stdint.h>

#include "zhuqi/filestore.h"
#include "zhuqi/schema.h"
#include "zhuqi/store.h"

/* A draft's (or case's) limits: [files] max_files and max_case_size. */
typedef struct zq_files_limits {
    int max_files;
    uint64_t max_bytes;
} zq_files_limits;

/* The files field of f that takes kind, or NULL. Borrowed. */
const zq_field *zq_files_field_for_kind(const zq_form *f, const char *kind);

/* The limit check and append that every script adding an upload shares,
 * for a Lua table `list` of records: with ARGV[2] the record, ARGV[3] its
 * size, ARGV[4] the most files and ARGV[5] the most bytes, it returns
 * {-2, n, total} or {-3, n, total} when the upload does not fit, else
 * appends the record and sets `total` to the bytes before it. */
#define ZQ_FILES_LUA_APPEND                                                                        \
    "local total = 0\n"                                                                            \
    "for _, r in ipairs(list) do total = total + (tonumber(r.size) or 0) end\n"                    \
    "if #list >= tonumber(ARGV[4]) then return {-2, #list, total} end\n"                           \
    "if total + tonumber(ARGV[3]) > tonumber(ARGV[5]) then return {-3, #list, total} end\n"        \
    "list[#list + 1] = cjson.decode(ARGV[2])\n"

/* Runs a script that adds one upload (argc strings in argv: nkeys keys,
 * then the arguments, whose 2nd to 5th, passed as NULL, are filled here
 * from rec and lim) and that answers {status, files, bytes} as
 * ZQ_FILES_LUA_APPEND does, status -1 for "gone". Returns 0, -ZQ_ENOTFOUND,
 * -ZQ_ECONFLICT, -ZQ_ETOOBIG (with *count and *bytes, may be NULL, set),
 * -ZQ_EUNAVAIL or -ZQ_EREPLY. argv is changed. */
int zq_files_add_run(zq_store *st, zq_script *script, int nkeys, int argc, const char **argv,
                     json_t *rec, const zq_files_limits *lim, int *count, uint64_t *bytes,
                     zq_err *err);

/* Adds rec (borrowed; its "id" and "size" set) to the uploads of form in
 * session sid, checking the limits against what is there, refreshing the
 * session's TTL (ttl_s) and marking the upload pending, all in one
 * script. Returns 0; -ZQ_ENOTFOUND when the session has gone;
 * -ZQ_ECONFLICT when it holds max_files already; -ZQ_ETOOBIG when the
 * bytes would pass max_bytes (*count and *bytes, may be NULL, get what
 * the draft holds); -ZQ_EUNAVAIL; -ZQ_EREPLY. */
int zq_files_add(zq_store *st, const char *sid, const char *form, json_t *rec,
                 const zq_files_limits *lim, int ttl_s, int64_t now_ms, int *count, uint64_t *bytes,
                 zq_err *err);

/* Moves the uploads of form's draft in session from_sid to session
 * to_sid, where that draft was resumed: as many as lim allows beside what
 * to_sid holds already (the rest stay, *left, may be NULL, counts them),
 * with their pending marks, refreshing to_sid's TTL (ttl_s). A case
 * submitted from from_sid afterwards cannot name them (zq_case_create).
 * *files (may be NULL) gets to_sid's uploads afterwards: a new array, or
 * NULL when it has none. Returns how many moved, -ZQ_EUNAVAIL or
 * -ZQ_EREPLY. */
int zq_files_take(zq_store *st, const char *form, const char *from_sid, const char *to_sid,
                  const zq_files_limits *lim, int ttl_s, int64_t now_ms, int *left, json_t **files,
                  zq_err *err);

/* The same for the uploads of an answer to case_id's request for more
 * material, kept in session sid ("s:{case}"): zq_files_add's checks and
 * returns, with lim being what the case may still take. */
int zq_files_supp_add(zq_store *st, const char *sid, const char *case_id, json_t *rec,
                      const zq_files_limits *lim, int ttl_s, int64_t now_ms, int *count,
                      uint64_t *bytes, zq_err *err);
/* Removes one of them: as zq_files_remove. */
int zq_files_supp_remove(zq_store *st, const char *sid, const char *case_id, const char *fid,
                         zq_err *err);
/* Those uploads as a new array (empty when none). Returns 0, -ZQ_EUNAVAIL
 * or -ZQ_ENOMEM. */
int zq_files_supp_list(zq_store *st, const char *sid, const char *case_id, json_t **out,
                       zq_err *err);

/* Removes upload fid from the uploads of form in session sid (and from
 * the pending list). Returns 0, -ZQ_ENOTFOUND when that draft has no such
 * upload (another draft's id included), -ZQ_EUNAVAIL or -ZQ_EREPLY. The
 * caller removes the bytes afterwards. */
int zq_files_remove(zq_store *st, const char *sid, const char *form, const char *fid, zq_err *err);

/* The answers with each files field set to its uploads from files (the
 * session's list; may be NULL), or left out when it has none. Returns a
 * new object (values shared), NULL when out of memory. */
json_t *zq_files_merge(const zq_form *f, json_t *answers, json_t *files);

/* The record with id fid in the files fields of answers, or NULL.
 * Borrowed from answers. */
json_t *zq_files_find(const zq_form *f, json_t *answers, const char *fid);

/* The files:pending members of the records in the files fields of
 * answers, uploaded in session sid, space-separated, appended to out. */
void zq_files_pending_members(const zq_form *f, json_t *answers, const char *sid, zq_buf *out);

/* The public list of a case's files, for the enterprise: a new array of
 * {"kind": label, "name", "size"}, in upload order; NULL out of memory. */
json_t *zq_files_public(const zq_form *f, json_t *answers);

/* Attaches a file already in the store to case case_id after its
 * creation (an answer to a request for more material, a file sent in a
 * chat): rec (borrowed; "id", "kind", "name", "size", "type", "sha256",
 * "by", "at_ms") is appended to the case's files_more list, and
 * {kind_label, name, size} to its public list (files_pub), in one
 * script. The staff download finds it there (zq_files_find_case). Returns
 * 0, -ZQ_ENOTFOUND when there is no such case, -ZQ_EUNAVAIL or
 * -ZQ_EREPLY. The caller stores the bytes first and removes them when
 * this fails. */
int zq_files_attach_case(zq_store *st, const char *case_id, json_t *rec, const char *kind_label,
                         zq_err *err);

/* The record with id fid among a case's files: those of its answers'
 * files fields (f's), then those attached later (files_more, may be
 * NULL). Borrowed; NULL when none. */
json_t *zq_files_find_case(const zq_form *f, json_t *answers, json_t *files_more, const char *fid);

/* Removes the uploads of drafts that were never submitted: pending
 * entries not seen in a live session since stale_ms (at most max per
 * call) whose session has gone are taken off the list, then their bytes
 * removed from fs; entries whose session lives are marked seen now_ms.
 * *removed gets the number taken. Returns 0, -ZQ_EUNAVAIL or
 * -ZQ_EREPLY. */
int zq_files_sweep(zq_store *st, zq_filestore *fs, int64_t stale_ms, int64_t now_ms, int max,
                   int *removed, zq_err *err);

/* Removes from fs (NULL: no store) the bytes of every file of case
 * case_id: the records in its answers' files fields (its form's, from
 * schema) and those attached later (files_more); a file already gone is
 * no error. The records stay: the caller drops them (retention's purge).
 * *removed gets the number of files removed. Returns 0 (also for a case
 * with no file, or no such case), -ZQ_EUNAVAIL (Redis, or fs NULL while
 * the case has files), -ZQ_EIO or -ZQ_EREPLY, with err set. */
int zq_files_remove_case(zq_store *st, const zq_schema *schema, zq_filestore *fs,
                         const char *case_id, int *removed, zq_err *err);

#endif

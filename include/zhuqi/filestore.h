/* The evidence file store: the bytes of uploaded files, by key. Files
 * reach it by rename from the folder where nginx wrote the request body
 * (client_body_temp_path, on the same filesystem), so the bytes never pass
 * through zhuqi-fcgi's memory and a file is either wholly in the store or
 * not at all. Downloads go out through nginx too: the store names the
 * internal location (X-Accel-Redirect) that serves a key. Two backends:
 * a directory, and any S3-compatible object store. Also here: checking an uploaded file (its type
 * from its bytes, its size, its SHA-256), which needs nothing but the file. */
#ifndef ZHUQI_FILESTORE_H
#define ZHUQI_FILESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuqi/common.h"

/* Longest store key (a file id: 32 lowercase hex digits) with its NUL. */
#define ZQ_FILE_ID_LEN 32
/* The internal nginx location the directory backend's files are served
 * from (nginx/zhuqi.conf: an `internal` alias of [files] dir). */
#define ZQ_FILESTORE_ACCEL_PREFIX "/_zq_files/"

typedef struct zq_filestore zq_filestore;

/* The internal nginx location that fetches an S3 backend's presigned
 * URLs (nginx/zhuqi.conf: proxy_pass to ZQ_S3_ENDPOINT). */
#define ZQ_FILESTORE_S3_PREFIX "/_zq_s3"

/* The S3-compatible backend's settings ([files] s3_*); borrowed. */
typedef struct zq_filestore_s3_config {
    const char *endpoint; /* "http://127.0.0.1:9000": scheme, host, port, no path */
    const char *bucket;
    const char *region; /* "" = us-east-1 */
    const char *access_key;
    const char *secret;
} zq_filestore_s3_config;

/* Opens the directory store at dir, taking uploads only from incoming
 * (nginx's client_body_temp_path). Both must exist (the service's units
 * create them; checking a configuration creates nothing); refuses
 * (-ZQ_EINVAL, err says why) when the two are not on one filesystem,
 * since rename could not move a file then. Returns 0 and a new store in
 * *out (free with zq_filestore_free). */
int zq_filestore_open_dir(const char *dir, const char *incoming, zq_filestore **out, zq_err *err);
/* Opens the S3-compatible store c (objects {bucket}/{id}, path-style,
 * requests signed with libcurl's AWS SigV4), taking uploads from incoming
 * as the directory store does. Nothing is asked of the store here.
 * Returns 0 and a new store, or -ZQ_EINVAL for settings that cannot work
 * (err says which). */
int zq_filestore_open_s3(const zq_filestore_s3_config *c, const char *incoming, zq_filestore **out,
                         zq_err *err);
void zq_filestore_free(zq_filestore *fs);

/* True when path names a plain file directly inside the store's incoming
 * folder (no "..", no other folder): the only files put_path takes. */
int zq_filestore_incoming_ok(const zq_filestore *fs, const char *path);

/* Moves the file at src (inside incoming) into the store under key (a
 * file id): the directory backend by rename, made durable (fsync of the
 * file and its folder) and readable by nginx (0640); the S3 backend by a
 * PUT of the file, which is removed once the store has taken it. Returns 0, -ZQ_EINVAL for a bad
 * key or a src outside incoming, or -ZQ_EIO (err says why; src is left alone). */
int zq_filestore_put_path(zq_filestore *fs, const char *src, const char *key, zq_err *err);

/* Opens key for reading (S3: fetched into an unnamed file in incoming).
 * Returns a file descriptor (close it), or
 * -ZQ_ENOTFOUND, -ZQ_EINVAL (bad key) or -ZQ_EIO. */
int zq_filestore_open(zq_filestore *fs, const char *key, zq_err *err);

/* Removes key. Returns 0 (also when it was not there) or -ZQ_EIO. */
int zq_filestore_remove(zq_filestore *fs, const char *key, zq_err *err);

/* Writes into out (outsz bytes) the internal URI that nginx serves key
 * from, for X-Accel-Redirect: the directory backend's alias location, or
 * for S3 ZQ_FILESTORE_S3_PREFIX + a presigned GET good for 5 minutes. Returns 0, or -ZQ_EINVAL /
 * -ZQ_ETOOBIG. */
int zq_filestore_url(const zq_filestore *fs, const char *key, char *out, size_t outsz);

/* True when key is a file id: ZQ_FILE_ID_LEN lowercase hex digits. */
int zq_file_id_valid(const char *key);

/* What zq_file_inspect learnt about a file. */
typedef struct zq_file_info {
    uint64_t size;
    const char *type; /* "image/jpeg", "image/png", "application/pdf" (static) */
    char sha256[65];  /* lowercase hex */
} zq_file_info;

/* Checks the file at path: its type from its bytes alone (JPEG, PNG or
 * PDF, each with its end marker, so a truncated file is refused), its
 * size (at most max bytes) and its SHA-256, read in small blocks so that
 * the file is never in memory whole. Returns 0 with *out filled,
 * -ZQ_ETOOBIG when larger than max, -ZQ_EINVAL when the type is not one
 * of the three or the file is empty or cut short (out->type then NULL),
 * or -ZQ_EIO. */
int zq_file_inspect(const char *path, uint64_t max, zq_file_info *out, zq_err *err);

/* The same checks on bytes in memory (for the unit tests and the fuzzer):
 * the type of data, or NULL when it is not an accepted, complete file. */
const char *zq_file_sniff(const unsigned char *head, size_t headlen, const unsigned char *tail,
                          size_t taillen, uint64_t size);

/* True when fs is the directory backend (what a backup copies). */
int zq_filestore_is_dir(const zq_filestore *fs);

/* The directory store's backup part (backup.h's zq_backup_part, ctx: the
 * zq_filestore). save copies every file of the store's layout
 * ({dir}/{2 hex}/{id}; never the incoming folder) into folder, same
 * layout, mode 0600; restore copies them back (each through a temporary
 * name, fsynced, so a file is whole or absent), refusing with
 * -ZQ_ECONFLICT a file already in the store unless force. Damaged files
 * are refused before, by the manifest check. Both return 0 or a negative
 * ZQ_E* code with err set (-ZQ_EINVAL for the S3 backend). */
int zq_filestore_backup_save(void *ctx, const char *folder, zq_err *err);
int zq_filestore_backup_restore(void *ctx, const char *folder, bool force, zq_err *err);

#endif

/* Backup and restore of one zhuqi instance: a consistent Redis snapshot
 * (an RDB taken through the server with SYNC), the configuration with
 * secrets masked, extra parts (the evidence file store), and a manifest
 * with the SHA-256 of every file. Restore checks the manifest, loads the
 * RDB into a private, temporary redis-server and copies the instance's
 * keys (its prefix, its db) into the live Redis with DUMP/RESTORE, so the
 * live server keeps running (AOF, replicas and Sentinel see ordinary
 * writes) and other prefixes sharing it are left alone. */
#ifndef ZHUQI_BACKUP_H
#define ZHUQI_BACKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "zhuqi/common.h"
#include "zhuqi/config.h"

/* The manifest's format name; a backup with another is refused. */
#define ZQ_BACKUP_FORMAT "zhuqi-backup/1"

/* A part of the backup beyond Redis and the config, saved into and
 * restored from its own folder (name) inside the backup directory; its
 * files are checksummed in the manifest like the others. The extension
 * point for stores outside Redis: the evidence file store registers
 * {"files", save, restore, ctx} in zhuqi-admin's part list. save and
 * restore return 0 or a negative ZQ_E* code with err set. restore runs
 * after Redis is restored; force is the restore's --force. A part with
 * not_included set is left out (no folder, save and restore not called)
 * and the manifest's "not_included" records it with that reason. */
typedef struct zq_backup_part {
    const char *name;
    int (*save)(void *ctx, const char *folder, zq_err *err);
    int (*restore)(void *ctx, const char *folder, bool force, zq_err *err);
    void *ctx;
    const char *not_included; /* NULL, or why the part is not in the backup */
} zq_backup_part;

typedef struct zq_backup_opts {
    const zq_config *cfg;        /* the instance's configuration */
    const zq_backup_part *parts; /* extra parts (may be NULL when nparts is 0) */
    int nparts;
    bool force;               /* restore: overwrite keys already in Redis */
    const char *redis_server; /* restore: the redis-server program (NULL: from PATH) */
    int sync_timeout_ms;      /* backup: each wait for the RDB stream (0: 600000) */
} zq_backup_opts;

typedef struct zq_backup_info {
    int64_t rdb_bytes;
    long long keys; /* restore: keys copied into Redis */
    char redis_version[32];
    char created[32]; /* UTC, ISO 8601 */
} zq_backup_info;

/* Writes a backup into dir, which must not exist or be empty (made mode
 * 0700: it holds personal data). The manifest is written last, so a
 * backup cut short has none and restore refuses it. Returns 0 or a
 * negative ZQ_E* code with err set. */
int zq_backup_write(const zq_backup_opts *o, const char *dir, zq_backup_info *info, zq_err *err);

/* Checks the backup in dir against its manifest (format, every file's
 * size and SHA-256, no file missing or added) and against the
 * configuration (same key prefix and db). Returns 0 or -ZQ_EINVAL with an
 * English reason in err (-ZQ_EIO when dir cannot be read). */
int zq_backup_verify(const zq_backup_opts *o, const char *dir, zq_backup_info *info, zq_err *err);

/* Verifies, then restores the backup in dir into the configured Redis,
 * which must hold no key under the prefix unless o->force (then keys in
 * the backup replace theirs), then runs the parts' restore. Returns 0 or a
 * negative ZQ_E* code (-ZQ_ECONFLICT: Redis is not empty). */
int zq_backup_restore(const zq_backup_opts *o, const char *dir, zq_backup_info *info, zq_err *err);

#endif

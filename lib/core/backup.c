/* Backup and restore (backup.h): files, manifest, the temporary
 * redis-server that a restore reads the RDB through. */
#include "zhuqi/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zhuqi/buf.h"
#include "zhuqi/log.h"
#include "zhuqi/store.h"

extern char **environ;

#define MANIFEST "manifest.json"
#define RDB_FILE "redis.rdb"
#define CONFIG_FILE "config.ini"
#define MAX_FILES 100000
#define SCAN_COUNT "500"

/* --- files ------------------------------------------------------------- */

/* SHA-256 of the file at path as 64 hex digits in hex; *bytes its size.
 * Returns 0 or -ZQ_EIO. */
static int file_sha256(const char *path, char hex[65], int64_t *bytes)
{
    unsigned char md[32], buf[65536];
    unsigned int mdlen = 0;
    EVP_MD_CTX *md_ctx = NULL;
    FILE *f = fopen(path, "rb");
    size_t n;
    int rc = -ZQ_EIO;

    *bytes = 0;
    if (f == NULL)
        goto out;
    md_ctx = EVP_MD_CTX_new();
    if (md_ctx == NULL || EVP_DigestInit_ex(md_ctx, EVP_sha256(), NULL) != 1)
        goto out;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (EVP_DigestUpdate(md_ctx, buf, n) != 1)
            goto out;
        *bytes += (int64_t)n;
    }
    if (ferror(f) || EVP_DigestFinal_ex(md_ctx, md, &mdlen) != 1 || mdlen != 32)
        goto out;
    zq_hex(md, 32, hex);
    rc = 0;
out:
    EVP_MD_CTX_free(md_ctx);
    if (f != NULL)
        fclose(f);
    return rc;
}

/* Adds the regular files under dir/rel (recursively, sorted) to list as
 * relative paths, leaving out the manifest. Returns 0 or a negative code. */
static int list_files(const char *dir, const char *rel, json_t *list, zq_err *err)
{
    char path[4096], sub[4096];
    struct dirent **ents = NULL;
    int n, i, rc = 0;

    if (zq_fmt(path, sizeof(path), "%s%s%s", dir, rel[0] ? "/" : "", rel) < 0)
        return zq_err_set(err, ZQ_EINVAL, "path too long under %s", dir);
    n = scandir(path, &ents, NULL, alphasort);
    if (n < 0)
        return zq_err_set(err, ZQ_EIO, "%s: %s", path, strerror(errno));
    for (i = 0; i < n && rc == 0; i++) {
        const char *name = ents[i]->d_name;
        struct stat stb;

        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (rel[0] == '\0' && strcmp(name, MANIFEST) == 0)
            continue;
        if (zq_fmt(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", name) < 0 ||
            zq_fmt(path, sizeof(path), "%s/%s", dir, sub) < 0) {
            rc = zq_err_set(err, ZQ_EINVAL, "path too long under %s", dir);
        } else if (lstat(path, &stb) < 0) {
            rc = zq_err_set(err, ZQ_EIO, "%s: %s", path, strerror(errno));
        } else if (S_ISDIR(stb.st_mode)) {
            rc = list_files(dir, sub, list, err);
        } else if (!S_ISREG(stb.st_mode)) {
            rc = zq_err_set(err, ZQ_EINVAL, "%s: not a regular file", path);
        } else if (json_array_size(list) >= MAX_FILES) {
            rc = zq_err_set(err, ZQ_ETOOBIG, "more than %d files under %s", MAX_FILES, dir);
        } else if (json_array_append_new(list, json_string(sub)) < 0) {
            rc = zq_err_set(err, ZQ_ENOMEM, "out of memory");
        }
    }
    for (i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    return rc;
}

static int file_sink(void *ctx, const char *data, size_t len)
{
    return fwrite(data, 1, len, (FILE *)ctx) == len ? 0 : -ZQ_EIO;
}

/* Copies src to dst (created 0600). Returns 0 or -ZQ_EIO. */
static int copy_file(const char *src, const char *dst)
{
    char buf[65536];
    FILE *in = fopen(src, "rb"), *out = NULL;
    int fd = -1, rc = -ZQ_EIO;
    size_t n;

    if (in == NULL)
        goto out;
    fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto out;
    out = fdopen(fd, "wb");
    if (out == NULL)
        goto out;
    fd = -1;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            goto out;
    if (ferror(in))
        goto out;
    rc = 0;
out:
    if (out != NULL && fclose(out) != 0)
        rc = -ZQ_EIO;
    if (fd >= 0)
        close(fd);
    if (in != NULL)
        fclose(in);
    return rc;
}

/* --- backup ------------------------------------------------------------ */

static void utc_now(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    if (strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        out[0] = '\0';
}

/* INFO server's redis_version into out (empty when unknown). */
static void redis_version(zq_store *st, char *out, size_t outsz)
{
    zq_err err = {0};
    redisReply *r = zq_store_command(st, &err, "INFO server");
    const char *p;

    out[0] = '\0';
    if (r != NULL && r->type == REDIS_REPLY_STRING &&
        (p = strstr(r->str, "redis_version:")) != NULL) {
        p += strlen("redis_version:");
        if (zq_fmt(out, outsz, "%.*s", (int)strcspn(p, "\r\n"), p) < 0)
            out[0] = '\0';
    }
    if (r != NULL)
        freeReplyObject(r);
}

/* dir must be absent (made 0700) or an empty folder. */
static int prepare_dir(const char *dir, zq_err *err)
{
    DIR *d;
    struct dirent *e;
    int rc = 0;

    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return zq_err_set(err, ZQ_EIO, "%s: %s", dir, strerror(errno));
    d = opendir(dir);
    if (d == NULL)
        return zq_err_set(err, ZQ_EIO, "%s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            rc = zq_err_set(err, ZQ_ECONFLICT,
                            "%s is not empty: back up into a new or empty folder", dir);
            break;
        }
    closedir(d);
    return rc;
}

/* Writes the manifest for the files now in dir, atomically. */
static int write_manifest(const zq_backup_opts *o, const char *dir, const zq_backup_info *info,
                          zq_err *err)
{
    json_t *names = json_array(), *files = json_array(), *parts = json_array(), *m = NULL;
    json_t *left_out = json_object();
    char path[4096], tmp[4096];
    size_t i;
    int k, rc;

    if (names == NULL || files == NULL || parts == NULL || left_out == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = list_files(dir, "", names, err)) < 0)
        goto out;
    for (i = 0; i < json_array_size(names); i++) {
        const char *rel = json_string_value(json_array_get(names, i));
        char hex[65];
        int64_t bytes;

        if (zq_fmt(path, sizeof(path), "%s/%s", dir, rel) < 0 ||
            file_sha256(path, hex, &bytes) < 0) {
            rc = zq_err_set(err, ZQ_EIO, "%s/%s: cannot read it back", dir, rel);
            goto out;
        }
        json_array_append_new(files, json_pack("{s:s,s:I,s:s}", "path", rel, "bytes",
                                               (json_int_t)bytes, "sha256", hex));
    }
    json_array_append_new(parts, json_string("redis"));
    json_array_append_new(parts, json_string("config"));
    for (k = 0; k < o->nparts; k++)
        if (o->parts[k].not_included == NULL)
            json_array_append_new(parts, json_string(o->parts[k].name));
        else
            json_object_set_new(left_out, o->parts[k].name, json_string(o->parts[k].not_included));
    m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:O,s:O,s:O}", "format", ZQ_BACKUP_FORMAT,
                  "created", info->created, "zhuqi_version", ZQ_VERSION, "zhuqi_git_rev",
                  ZQ_GIT_REV, "redis_version", info->redis_version, "prefix", o->cfg->redis.prefix,
                  "db", o->cfg->redis.db, "rdb_bytes", (json_int_t)info->rdb_bytes, "parts", parts,
                  "not_included", left_out, "files", files);
    if (m == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "out of memory");
        goto out;
    }
    if (zq_fmt(path, sizeof(path), "%s/" MANIFEST, dir) < 0 ||
        zq_fmt(tmp, sizeof(tmp), "%s/." MANIFEST ".tmp", dir) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "path too long: %s", dir);
        goto out;
    }
    if (json_dump_file(m, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 || chmod(tmp, 0600) < 0 ||
        rename(tmp, path) < 0) {
        unlink(tmp);
        rc = zq_err_set(err, ZQ_EIO, "%s: cannot write the manifest", path);
        goto out;
    }
    rc = 0;
out:
    json_decref(m);
    json_decref(names);
    json_decref(files);
    json_decref(parts);
    json_decref(left_out);
    return rc;
}

int zq_backup_write(const zq_backup_opts *o, const char *dir, zq_backup_info *info, zq_err *err)
{
    char path[4096];
    zq_store *st = NULL;
    FILE *f = NULL;
    int fd, k, rc;

    memset(info, 0, sizeof(*info));
    utc_now(info->created);
    if ((rc = prepare_dir(dir, err)) < 0)
        return rc;
    st = zq_store_new(&o->cfg->redis);
    if (st == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "out of memory");
    redis_version(st, info->redis_version, sizeof(info->redis_version));

    /* Redis: the server's own point-in-time snapshot. */
    if (zq_fmt(path, sizeof(path), "%s/" RDB_FILE, dir) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "path too long: %s", dir);
        goto out;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        rc = zq_err_set(err, ZQ_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    rc = zq_store_sync_rdb(st, o->sync_timeout_ms > 0 ? o->sync_timeout_ms : 600000, file_sink, f,
                           &info->rdb_bytes, err);
    if (fclose(f) != 0 && rc == 0)
        rc = zq_err_set(err, ZQ_EIO, "%s: %s", path, strerror(errno));
    f = NULL;
    if (rc < 0)
        goto out;

    /* The configuration as it runs, secrets masked: what to compare with
     * when rebuilding a server, never a way to leak the passwords. */
    if (zq_fmt(path, sizeof(path), "%s/" CONFIG_FILE, dir) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "path too long: %s", dir);
        goto out;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        rc = zq_err_set(err, ZQ_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    zq_config_dump(o->cfg, f);
    rc = fclose(f) == 0 ? 0 : zq_err_set(err, ZQ_EIO, "%s: %s", path, strerror(errno));
    f = NULL;
    if (rc < 0)
        goto out;

    for (k = 0; k < o->nparts; k++) {
        if (o->parts[k].not_included != NULL)
            continue;
        if (zq_fmt(path, sizeof(path), "%s/%s", dir, o->parts[k].name) < 0 ||
            mkdir(path, 0700) < 0) {
            rc = zq_err_set(err, ZQ_EIO, "%s: cannot make the folder of part %s", dir,
                            o->parts[k].name);
            goto out;
        }
        if ((rc = o->parts[k].save(o->parts[k].ctx, path, err)) < 0)
            goto out;
    }
    rc = write_manifest(o, dir, info, err);
out:
    if (f != NULL)
        fclose(f);
    zq_store_free(st);
    return rc;
}

/* --- verify ------------------------------------------------------------ */

int zq_backup_verify(const zq_backup_opts *o, const char *dir, zq_backup_info *info, zq_err *err)
{
    char path[4096];
    json_t *m = NULL, *files, *have = NULL, *f;
    json_error_t jerr;
    const char *fmt, *prefix, *v;
    size_t i;
    int rc;

    memset(info, 0, sizeof(*info));
    if (zq_fmt(path, sizeof(path), "%s/" MANIFEST, dir) < 0)
        return zq_err_set(err, ZQ_EINVAL, "path too long: %s", dir);
    if (access(path, F_OK) < 0)
        return zq_err_set(err, ZQ_EINVAL, "%s has no " MANIFEST ": not a backup, or one cut short",
                          dir);
    m = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (m == NULL) {
        rc = zq_err_set(err, ZQ_EINVAL, "%s is damaged (line %d: %s)", path, jerr.line, jerr.text);
        goto out;
    }
    fmt = json_string_value(json_object_get(m, "format"));
    if (fmt == NULL || strcmp(fmt, ZQ_BACKUP_FORMAT) != 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "%s: format '%s', this zhuqi reads " ZQ_BACKUP_FORMAT, path,
                        fmt ? fmt : "(none)");
        goto out;
    }
    prefix = json_string_value(json_object_get(m, "prefix"));
    if (prefix == NULL || strcmp(prefix, o->cfg->redis.prefix) != 0 ||
        !json_is_integer(json_object_get(m, "db")) ||
        json_integer_value(json_object_get(m, "db")) != o->cfg->redis.db) {
        rc = zq_err_set(err, ZQ_EINVAL,
                        "the backup is of key prefix '%s' db %lld, this configuration uses '%s' "
                        "db %d: restore with the configuration of the instance it came from",
                        prefix ? prefix : "?",
                        (long long)json_integer_value(json_object_get(m, "db")),
                        o->cfg->redis.prefix, o->cfg->redis.db);
        goto out;
    }
    files = json_object_get(m, "files");
    have = json_array();
    if (!json_is_array(files) || have == NULL) {
        rc = zq_err_set(err, ZQ_EINVAL, "%s is damaged (no file list)", path);
        goto out;
    }
    if ((rc = list_files(dir, "", have, err)) < 0)
        goto out;
    if (json_array_size(have) != json_array_size(files)) {
        rc = zq_err_set(err, ZQ_EINVAL,
                        "%s holds %zu files but its manifest lists %zu: files were added or lost",
                        dir, json_array_size(have), json_array_size(files));
        goto out;
    }
    json_array_foreach(files, i, f)
    {
        const char *rel = json_string_value(json_object_get(f, "path"));
        const char *want = json_string_value(json_object_get(f, "sha256"));
        json_int_t size = json_integer_value(json_object_get(f, "bytes"));
        char hex[65];
        int64_t bytes;

        if (rel == NULL || want == NULL || strstr(rel, "..") != NULL || rel[0] == '/') {
            rc = zq_err_set(err, ZQ_EINVAL, "%s is damaged (bad entry %zu)", path, i);
            goto out;
        }
        if (zq_fmt(path, sizeof(path), "%s/%s", dir, rel) < 0 ||
            file_sha256(path, hex, &bytes) < 0) {
            rc = zq_err_set(err, ZQ_EINVAL, "%s/%s is missing or unreadable", dir, rel);
            goto out;
        }
        if (bytes != size || strcmp(hex, want) != 0) {
            rc = zq_err_set(err, ZQ_EINVAL,
                            "%s/%s is damaged: its SHA-256 or size differs from the manifest's",
                            dir, rel);
            goto out;
        }
    }
    v = json_string_value(json_object_get(m, "redis_version"));
    if (zq_fmt(info->redis_version, sizeof(info->redis_version), "%s", v ? v : "") < 0)
        info->redis_version[0] = '\0';
    v = json_string_value(json_object_get(m, "created"));
    if (zq_fmt(info->created, sizeof(info->created), "%s", v ? v : "") < 0)
        info->created[0] = '\0';
    info->rdb_bytes = json_integer_value(json_object_get(m, "rdb_bytes"));
    rc = 0;
out:
    json_decref(have);
    json_decref(m);
    return rc;
}

/* --- restore ----------------------------------------------------------- */

/* Walks every key under prefix with SCAN, calling each(ctx, batch) for
 * every batch that is not empty, until it returns non-zero. Returns that
 * value, 0 at the end, or a negative code (what names the failed SCAN:
 * "SCAN" or "SCAN of the backup"). */
static int scan_keys(zq_store *st, const char *prefix, const char *what,
                     int (*each)(void *ctx, const redisReply *keys, zq_err *err), void *ctx,
                     zq_err *err)
{
    char cursor[32] = "0", match[64];
    int rc = 0;

    if (zq_fmt(match, sizeof(match), "%s*", prefix) < 0)
        return zq_err_set(err, ZQ_EINVAL, "prefix too long");
    do {
        redisReply *r =
            zq_store_command(st, err, "SCAN %s MATCH %s COUNT " SCAN_COUNT, cursor, match);

        if (r == NULL)
            return -ZQ_EUNAVAIL;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            zq_fmt(cursor, sizeof(cursor), "%s", r->element[0]->str) < 0)
            rc = zq_err_set(err, ZQ_EREPLY, "%s: %s", what,
                            r->type == REDIS_REPLY_ERROR ? r->str : "unexpected answer");
        else if (r->element[1]->elements > 0)
            rc = each(ctx, r->element[1], err);
        freeReplyObject(r);
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    return rc;
}

static int found_one(void *ctx, const redisReply *keys, zq_err *err)
{
    (void)ctx;
    (void)keys;
    (void)err;
    return 1;
}

/* Whether Redis (through st) holds any key under prefix. Returns 1, 0 or
 * a negative code. */
static int has_keys(zq_store *st, const char *prefix, zq_err *err)
{
    return scan_keys(st, prefix, "SCAN", found_one, NULL, err);
}

/* Copies one SCAN batch of keys from src to dst: DUMP and PTTL from src in
 * one pipeline, RESTORE into dst in another. *copied counts them. */
static int copy_batch(zq_store *src, zq_store *dst, const redisReply *keys, bool force,
                      long long *copied, zq_err *err)
{
    size_t n = keys->elements, i;
    redisReply **got = calloc(n * 2 + 1, sizeof(redisReply *)),
               **put = calloc(n + 1, sizeof(redisReply *));
    int nput = 0, rc;

    if (got == NULL || put == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        const char *k = keys->element[i]->str;
        size_t kl = keys->element[i]->len;
        const char *av[2] = {"DUMP", k};
        const char *pv[2] = {"PTTL", k};
        size_t al[2] = {4, kl}, pl[2] = {4, kl};

        zq_store_appendv(src, 2, av, al);
        zq_store_appendv(src, 2, pv, pl);
    }
    if ((rc = zq_store_read_replies(src, err, (int)(n * 2), got)) < 0) {
        memset(got, 0, n * 2 * sizeof(redisReply *));
        goto out;
    }
    for (i = 0; i < n; i++) {
        const redisReply *d = got[2 * i], *t = got[2 * i + 1];
        char ttl[32];
        const char *av[5];
        size_t al[5];

        if (d->type == REDIS_REPLY_NIL)
            continue; /* expired since the snapshot */
        if (d->type != REDIS_REPLY_STRING || t->type != REDIS_REPLY_INTEGER) {
            rc = zq_err_set(err, ZQ_EREPLY, "DUMP %s: unexpected answer", keys->element[i]->str);
            goto out;
        }
        if (t->integer == -2)
            continue;
        if (zq_fmt(ttl, sizeof(ttl), "%lld", t->integer > 0 ? t->integer : 0LL) < 0) {
            rc = zq_err_set(err, ZQ_EINVAL, "bad TTL");
            goto out;
        }
        av[0] = "RESTORE";
        al[0] = 7;
        av[1] = keys->element[i]->str;
        al[1] = keys->element[i]->len;
        av[2] = ttl;
        al[2] = strlen(ttl);
        av[3] = d->str;
        al[3] = d->len;
        av[4] = "REPLACE";
        al[4] = 7;
        zq_store_appendv(dst, force ? 5 : 4, av, al);
        nput++;
    }
    if ((rc = zq_store_read_replies(dst, err, nput, put)) < 0) {
        memset(put, 0, (n + 1) * sizeof(redisReply *));
        goto out;
    }
    for (i = 0; i < (size_t)nput; i++)
        if (put[i]->type == REDIS_REPLY_ERROR) {
            rc = zq_err_set(err, ZQ_EREPLY, "RESTORE: %s", put[i]->str);
            goto out;
        }
    *copied += nput;
    rc = 0;
out:
    for (i = 0; got != NULL && i < n * 2; i++)
        if (got[i] != NULL)
            freeReplyObject(got[i]);
    for (i = 0; put != NULL && i < n; i++)
        if (put[i] != NULL)
            freeReplyObject(put[i]);
    free(got);
    free(put);
    return rc;
}

/* What copy_keys passes to each batch. */
typedef struct copy_ctx {
    zq_store *src, *dst;
    bool force;
    long long *copied;
} copy_ctx;

static int copy_each(void *ctx, const redisReply *keys, zq_err *err)
{
    copy_ctx *c = ctx;

    return copy_batch(c->src, c->dst, keys, c->force, c->copied, err);
}

/* Copies every key under the prefix from src to dst. */
static int copy_keys(zq_store *src, zq_store *dst, const char *prefix, bool force,
                     long long *copied, zq_err *err)
{
    copy_ctx c = {src, dst, force, copied};

    return scan_keys(src, prefix, "SCAN of the backup", copy_each, &c, err);
}

/* Starts redis-server on a unix socket in tmp, loading tmp/dump.rdb, with
 * no persistence and no TCP port; waits until it has loaded. *pid gets its
 * process id (stop it with stop_server). */
static int start_server(const zq_backup_opts *o, const char *tmp, pid_t *pid, zq_err *err)
{
    char sock[512], logf[512];
    const char *prog = o->redis_server ? o->redis_server : "redis-server";
    char *argv[] = {(char *)prog, "--port",           "0",        "--unixsocket",
                    sock,         "--unixsocketperm", "700",      "--dir",
                    (char *)tmp,  "--dbfilename",     "dump.rdb", "--appendonly",
                    "no",         "--save",           "",         "--logfile",
                    logf,         "--daemonize",      "no",       NULL};
    int rc;

    *pid = -1;
    if (zq_fmt(sock, sizeof(sock), "%s/redis.sock", tmp) < 0 ||
        zq_fmt(logf, sizeof(logf), "%s/redis.log", tmp) < 0)
        return zq_err_set(err, ZQ_EINVAL, "temporary path too long");
    rc = posix_spawnp(pid, prog, NULL, NULL, argv, environ);
    if (rc != 0) {
        *pid = -1;
        return zq_err_set(err, ZQ_EIO, "cannot start %s: %s (needed to read the RDB)", prog,
                          strerror(rc));
    }
    return 0;
}

static void stop_server(pid_t pid)
{
    int status;

    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
}

/* Waits until the temporary server answers PING (it answers LOADING while
 * it reads the RDB). */
static int wait_server(zq_store *st, const char *sock, pid_t pid, zq_err *err)
{
    int status;

    for (int i = 0; i < 6000; i++) {
        zq_err e = {0};
        /* No connect (and its warning in the log) before the socket is. */
        redisReply *r = access(sock, F_OK) == 0 ? zq_store_command(st, &e, "PING") : NULL;
        bool up = r != NULL && r->type == REDIS_REPLY_STATUS;

        if (r != NULL)
            freeReplyObject(r);
        if (up)
            return 0;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return zq_err_set(err, ZQ_EINVAL,
                              "the temporary redis-server could not load the RDB (see its log)");
        usleep(20000);
    }
    return zq_err_set(err, ZQ_EUNAVAIL, "the temporary redis-server did not come up");
}

int zq_backup_restore(const zq_backup_opts *o, const char *dir, zq_backup_info *info, zq_err *err)
{
    char tmp[] = "/tmp/zhuqi-restore-XXXXXX", src_path[4096], dst_path[600];
    zq_redis_config scfg;
    zq_store *live = NULL, *src = NULL;
    pid_t pid = -1;
    bool made = false;
    int k, rc;

    if ((rc = zq_backup_verify(o, dir, info, err)) < 0)
        return rc;
    live = zq_store_new(&o->cfg->redis);
    if (live == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "out of memory");
    rc = has_keys(live, o->cfg->redis.prefix, err);
    if (rc < 0)
        goto out;
    if (rc > 0 && !o->force) {
        rc = zq_err_set(err, ZQ_ECONFLICT,
                        "Redis already holds keys under prefix '%s': restore wants an empty "
                        "instance (wipe it first, or --force to overwrite those keys)",
                        o->cfg->redis.prefix);
        goto out;
    }
    if (mkdtemp(tmp) == NULL) {
        rc = zq_err_set(err, ZQ_EIO, "mkdtemp: %s", strerror(errno));
        goto out;
    }
    made = true;
    if (zq_fmt(src_path, sizeof(src_path), "%s/" RDB_FILE, dir) < 0 ||
        zq_fmt(dst_path, sizeof(dst_path), "%s/dump.rdb", tmp) < 0 ||
        copy_file(src_path, dst_path) < 0) {
        rc = zq_err_set(err, ZQ_EIO, "cannot copy %s into %s", src_path, tmp);
        goto out;
    }
    if ((rc = start_server(o, tmp, &pid, err)) < 0)
        goto out;
    scfg = o->cfg->redis;
    scfg.nsentinels = 0;
    scfg.password[0] = '\0';
    scfg.wait_replicas = 0;
    scfg.command_timeout_ms = 60000;
    scfg.backoff_min_ms = 10;
    scfg.backoff_max_ms = 10;
    if (zq_fmt(scfg.address, sizeof(scfg.address), "unix:%s/redis.sock", tmp) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "temporary path too long");
        goto out;
    }
    src = zq_store_new(&scfg);
    if (src == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = wait_server(src, scfg.address + 5, pid, err)) < 0)
        goto out;
    if ((rc = copy_keys(src, live, o->cfg->redis.prefix, o->force, &info->keys, err)) < 0)
        goto out;
    ZQ_INFO("event=restore_redis keys=%lld", info->keys);
    for (k = 0; k < o->nparts; k++) {
        if (o->parts[k].not_included != NULL)
            continue;
        if (zq_fmt(src_path, sizeof(src_path), "%s/%s", dir, o->parts[k].name) < 0) {
            rc = zq_err_set(err, ZQ_EINVAL, "path too long: %s", dir);
            goto out;
        }
        if ((rc = o->parts[k].restore(o->parts[k].ctx, src_path, o->force, err)) < 0)
            goto out;
    }
    rc = 0;
out:
    zq_store_free(src);
    stop_server(pid);
    if (made) {
        const char *names[] = {"dump.rdb", "redis.log", "redis.sock"};

        for (size_t i = 0; i < ZQ_ARRAY_LEN(names); i++)
            if (zq_fmt(dst_path, sizeof(dst_path), "%s/%s", tmp, names[i]) == 0)
                unlink(dst_path);
        rmdir(tmp);
    }
    zq_store_free(live);
    return rc;
}

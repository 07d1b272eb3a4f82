/* The evidence file store's directory backend, and the checks an upload
 * passes before it is stored (see include/zhuqi/filestore.h). Layout:
 * {dir}/{first two hex digits of the id}/{id}, so no folder grows past a
 * few thousand entries. */
#include "zhuqi/filestore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filestore_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/log.h"

/* Bytes read at a time while hashing, on the stack: an upload costs no
 * heap, so the memory of a process taking many stays flat. */
#define BLOCK 32768
#define TAIL 1024 /* bytes at the end where the end markers are looked for */
#define HEAD 16   /* bytes at the start that name the type */

/* How long a presigned download URL is good for: nginx uses it at once. */
#define PRESIGN_TTL_S 300

struct zq_filestore {
    char dir[PATH_MAX];      /* realpath of [files] dir ("" with s3) */
    char incoming[PATH_MAX]; /* realpath of [files] upload_temp_dir */
    zq_s3 *s3;               /* the S3 backend, or NULL: the directory */
};

int zq_file_id_valid(const char *key)
{
    size_t i;

    if (key == NULL || strlen(key) != ZQ_FILE_ID_LEN)
        return 0;
    for (i = 0; i < ZQ_FILE_ID_LEN; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return 0;
    return 1;
}

/* mkdir that accepts an existing folder. */
static int ensure_dir(const char *path)
{
    if (mkdir(path, 0750) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

int zq_filestore_open_dir(const char *dir, const char *incoming, zq_filestore **out, zq_err *err)
{
    zq_filestore *fs;
    struct stat a, b;
    int rc = 0;

    *out = NULL;
    fs = calloc(1, sizeof(*fs));
    if (fs == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "files: out of memory");
    if (realpath(dir, fs->dir) == NULL || realpath(incoming, fs->incoming) == NULL ||
        stat(fs->dir, &a) < 0 || stat(fs->incoming, &b) < 0) {
        rc = zq_err_set(err, ZQ_EIO, "files: %s or %s: %s", dir, incoming, strerror(errno));
        goto out;
    }
    /* Uploads move in by rename, which cannot cross filesystems. */
    if (a.st_dev != b.st_dev) {
        rc = zq_err_set(err, ZQ_EINVAL,
                        "files: upload_temp_dir %s is not on the filesystem of dir %s", incoming,
                        dir);
        goto out;
    }
    *out = fs;
    fs = NULL;
out:
    free(fs);
    return rc;
}

int zq_filestore_open_s3(const zq_filestore_s3_config *c, const char *incoming, zq_filestore **out,
                         zq_err *err)
{
    zq_filestore *fs;
    int rc;

    *out = NULL;
    fs = calloc(1, sizeof(*fs));
    if (fs == NULL || (fs->s3 = calloc(1, sizeof(*fs->s3))) == NULL) {
        free(fs);
        return zq_err_set(err, ZQ_ENOMEM, "files: out of memory");
    }
    if (realpath(incoming, fs->incoming) == NULL) {
        rc = zq_err_set(err, ZQ_EIO, "files: %s: %s", incoming, strerror(errno));
        goto fail;
    }
    if ((rc = zq_s3_init(fs->s3, c->endpoint, c->bucket, c->region, c->access_key, c->secret,
                         err)) < 0)
        goto fail;
    *out = fs;
    return 0;
fail:
    zq_filestore_free(fs);
    return rc;
}

void zq_filestore_free(zq_filestore *fs)
{
    if (fs == NULL)
        return;
    if (fs->s3 != NULL)
        OPENSSL_cleanse(fs->s3, sizeof(*fs->s3));
    free(fs->s3);
    free(fs);
}

int zq_filestore_incoming_ok(const zq_filestore *fs, const char *path)
{
    char real[PATH_MAX];
    size_t n = strlen(fs->incoming);
    struct stat sb;

    if (path == NULL || realpath(path, real) == NULL)
        return 0;
    if (strncmp(real, fs->incoming, n) != 0 || real[n] != '/' || strchr(real + n + 1, '/') != NULL)
        return 0;
    return lstat(real, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* {dir}/{ab} and {dir}/{ab}/{id}. */
static int key_paths(const zq_filestore *fs, const char *key, char sub[PATH_MAX],
                     char full[PATH_MAX])
{
    if (!zq_file_id_valid(key))
        return -ZQ_EINVAL;
    if (zq_fmt(sub, PATH_MAX, "%s/%.2s", fs->dir, key) < 0 ||
        zq_fmt(full, PATH_MAX, "%s/%s", sub, key) < 0)
        return -ZQ_ETOOBIG;
    return 0;
}

int zq_filestore_put_path(zq_filestore *fs, const char *src, const char *key, zq_err *err)
{
    char sub[PATH_MAX], full[PATH_MAX];
    int fd = -1, dfd = -1, rc;

    if ((rc = key_paths(fs, key, sub, full)) < 0)
        return zq_err_set(err, -rc, "files: bad key");
    if (!zq_filestore_incoming_ok(fs, src))
        return zq_err_set(err, ZQ_EINVAL, "files: %s is not an upload", src);
    /* S3: the object is whole once the store answered 2xx; the local
     * body then goes. */
    if (fs->s3 != NULL) {
        if ((rc = zq_s3_put(fs->s3, src, key, err)) < 0)
            return rc;
        unlink(src);
        return 0;
    }
    /* Durable before it is named: the metadata that follows promises the
     * bytes are there, also after a power cut. nginx reads it (0640). */
    fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fchmod(fd, 0640) < 0 || fsync(fd) < 0) {
        rc = zq_err_set(err, ZQ_EIO, "files: %s: %s", src, strerror(errno));
        goto out;
    }
    if (ensure_dir(sub) < 0 || rename(src, full) < 0) {
        rc = zq_err_set(err, ZQ_EIO, "files: rename to %s: %s", full, strerror(errno));
        goto out;
    }
    dfd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0) {
        int e = errno;
        /* Not durable: take it back out rather than promise it. */
        unlink(full);
        rc = zq_err_set(err, ZQ_EIO, "files: fsync %s: %s", sub, strerror(e));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    return rc;
}

int zq_filestore_open(zq_filestore *fs, const char *key, zq_err *err)
{
    char sub[PATH_MAX], full[PATH_MAX];
    int fd, rc;

    if ((rc = key_paths(fs, key, sub, full)) < 0)
        return zq_err_set(err, -rc, "files: bad key");
    if (fs->s3 != NULL)
        return zq_s3_get_fd(fs->s3, key, fs->incoming, err);
    fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? zq_err_set(err, ZQ_ENOTFOUND, "files: %s: no such file", key)
                               : zq_err_set(err, ZQ_EIO, "files: %s: %s", full, strerror(errno));
    return fd;
}

int zq_filestore_remove(zq_filestore *fs, const char *key, zq_err *err)
{
    char sub[PATH_MAX], full[PATH_MAX];
    int rc;

    if ((rc = key_paths(fs, key, sub, full)) < 0)
        return zq_err_set(err, -rc, "files: bad key");
    if (fs->s3 != NULL)
        return zq_s3_delete(fs->s3, key, err);
    if (unlink(full) < 0 && errno != ENOENT)
        return zq_err_set(err, ZQ_EIO, "files: unlink %s: %s", full, strerror(errno));
    return 0;
}

int zq_filestore_url(const zq_filestore *fs, const char *key, char *out, size_t outsz)
{
    if (!zq_file_id_valid(key))
        return -ZQ_EINVAL;
    if (fs->s3 != NULL)
        return zq_s3_presign(fs->s3, ZQ_FILESTORE_S3_PREFIX, key, (int64_t)time(NULL),
                             PRESIGN_TTL_S, out, outsz);
    return zq_fmt(out, outsz, "%s%.2s/%s", ZQ_FILESTORE_ACCEL_PREFIX, key, key) < 0 ? -ZQ_ETOOBIG
                                                                                    : 0;
}

/* True when needle occurs in hay. */
static int contains(const unsigned char *hay, size_t n, const char *needle, size_t m)
{
    size_t i;

    for (i = 0; m <= n && i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

const char *zq_file_sniff(const unsigned char *head, size_t headlen, const unsigned char *tail,
                          size_t taillen, uint64_t size)
{
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    if (size == 0 || head == NULL || tail == NULL)
        return NULL;
    /* JPEG: SOI and a marker; ends with EOI (some cameras append a few
     * bytes of their own after it, hence a search in the tail). */
    if (headlen >= 4 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF && size >= 4)
        return contains(tail, taillen, "\xFF\xD9", 2) ? "image/jpeg" : NULL;
    /* PNG: the signature, then IHDR; the IEND chunk closes the file. */
    if (headlen >= 16 && memcmp(head, png_sig, 8) == 0 && memcmp(head + 12, "IHDR", 4) == 0)
        return contains(tail, taillen, "IEND", 4) ? "image/png" : NULL;
    /* PDF: the header at offset 0 and the %%EOF of the last revision. */
    if (headlen >= 5 && memcmp(head, "%PDF-", 5) == 0)
        return contains(tail, taillen, "%%EOF", 5) ? "application/pdf" : NULL;
    return NULL;
}

int zq_file_inspect(const char *path, uint64_t max, zq_file_info *out, zq_err *err)
{
    unsigned char buf[BLOCK], head[HEAD], tail[TAIL];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = NULL;
    size_t headlen = 0, taillen = 0;
    uint64_t total = 0;
    struct stat sb;
    ssize_t n;
    int fd, rc;

    memset(out, 0, sizeof(*out));
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return zq_err_set(err, ZQ_EIO, "files: %s: %s", path, strerror(errno));
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        rc = zq_err_set(err, ZQ_EIO, "files: %s: not a file", path);
        goto out;
    }
    out->size = (uint64_t)sb.st_size;
    /* Refused before a byte is read: a size over the limit costs nothing. */
    if (out->size > max) {
        rc = zq_err_set(err, ZQ_ETOOBIG, "files: %llu bytes, over %llu",
                        (unsigned long long)out->size, (unsigned long long)max);
        goto out;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = zq_err_set(err, ZQ_ENOMEM, "files: out of memory");
        goto out;
    }
    while ((n = read(fd, buf, BLOCK)) != 0) {
        size_t k = (size_t)n;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = zq_err_set(err, ZQ_EIO, "files: read %s: %s", path, strerror(errno));
            goto out;
        }
        if (headlen < HEAD) {
            size_t c = k < HEAD - headlen ? k : HEAD - headlen;
            memcpy(head + headlen, buf, c);
            headlen += c;
        }
        /* Keep the last TAIL bytes seen. */
        if (k >= TAIL) {
            memcpy(tail, buf + k - TAIL, TAIL);
            taillen = TAIL;
        } else {
            size_t keep = taillen + k > TAIL ? TAIL - k : taillen;
            memmove(tail, tail + taillen - keep, keep);
            memcpy(tail + keep, buf, k);
            taillen = keep + k;
        }
        if (EVP_DigestUpdate(ctx, buf, k) != 1) {
            rc = zq_err_set(err, ZQ_EIO, "files: hashing failed");
            goto out;
        }
        total += k;
    }
    /* The file is what was read, whatever fstat said before. */
    out->size = total;
    if (total > max) {
        rc = zq_err_set(err, ZQ_ETOOBIG, "files: grew past %llu", (unsigned long long)max);
        goto out;
    }
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
        rc = zq_err_set(err, ZQ_EIO, "files: hashing failed");
        goto out;
    }
    zq_hex(md, 32, out->sha256);
    out->type = zq_file_sniff(head, headlen, tail, taillen, total);
    rc = out->type ? 0 : zq_err_set(err, ZQ_EINVAL, "files: not a complete JPEG, PNG or PDF");
out:
    EVP_MD_CTX_free(ctx);
    close(fd);
    return rc;
}

/* --- backup part (backup.h) -------------------------------------------- */

int zq_filestore_is_dir(const zq_filestore *fs)
{
    return fs != NULL && fs->s3 == NULL;
}

/* True for a name of two lowercase hex digits: a folder of the layout. */
static int is_shard(const char *name)
{
    return strlen(name) == 2 && strspn(name, "0123456789abcdef") == 2;
}

/* Copies src into dst through dst.tmp (mode mode, and owner *own when
 * given), fsynced, then renamed: dst is either whole or absent. Returns 0
 * or -ZQ_EIO (err set). */
static int copy_whole(const char *src, const char *dst, mode_t mode, const struct stat *own,
                      zq_err *err)
{
    char tmp[PATH_MAX], buf[BLOCK];
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -ZQ_EIO;
    ssize_t n = 0;

    if (zq_fmt(tmp, sizeof(tmp), "%s.tmp", dst) < 0)
        goto out;
    if (in >= 0)
        out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (in < 0 || out < 0)
        goto out;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    if (n < 0 || fchmod(out, mode) < 0 || fsync(out) < 0)
        goto out;
    /* A restore run as root must leave files the service (nginx) can
     * read: the store folder's owner. Not root: they are ours already. */
    if (own != NULL && fchown(out, own->st_uid, own->st_gid) < 0 && errno != EPERM)
        goto out;
    if (close(out) < 0) {
        out = -1;
        goto out;
    }
    out = -1;
    if (rename(tmp, dst) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0) {
        zq_err_set(err, ZQ_EIO, "files: copy %s to %s: %s", src, dst, strerror(errno));
        if (out >= 0)
            close(out);
        unlink(tmp);
    }
    if (in >= 0)
        close(in);
    return rc;
}

/* Calls fn(ctx, shard, id) for every file {root}/{shard}/{id} of the
 * store's layout, nothing else (the incoming folder, temporary files).
 * Returns 0, fn's first negative code, or -ZQ_EIO. */
static int walk_layout(const char *root, int (*fn)(void *, const char *, const char *), void *ctx,
                       zq_err *err)
{
    char sub[PATH_MAX];
    DIR *d = opendir(root), *s = NULL;
    struct dirent *e, *f;
    int rc = 0;

    if (d == NULL)
        return zq_err_set(err, ZQ_EIO, "files: %s: %s", root, strerror(errno));
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!is_shard(e->d_name))
            continue;
        if (zq_fmt(sub, sizeof(sub), "%s/%s", root, e->d_name) < 0 || (s = opendir(sub)) == NULL) {
            rc = zq_err_set(err, ZQ_EIO, "files: %s/%s: cannot read it", root, e->d_name);
            break;
        }
        while (rc == 0 && (f = readdir(s)) != NULL)
            if (zq_file_id_valid(f->d_name) && strncmp(f->d_name, e->d_name, 2) == 0)
                rc = fn(ctx, e->d_name, f->d_name);
        closedir(s);
    }
    closedir(d);
    return rc;
}

/* One walk's state: the folders copied from and to, the mode of the
 * copies, and (restore) whether a file already there may be replaced. */
typedef struct copy_walk {
    const char *from, *to;
    mode_t mode;
    bool replace;
    const struct stat *own; /* restore: the owner to give, else NULL */
    zq_err *err;
} copy_walk;

static int copy_one(void *ctx, const char *shard, const char *id)
{
    copy_walk *w = ctx;
    char src[PATH_MAX], dir[PATH_MAX], dst[PATH_MAX];

    if (zq_fmt(src, sizeof(src), "%s/%s/%s", w->from, shard, id) < 0 ||
        zq_fmt(dir, sizeof(dir), "%s/%s", w->to, shard) < 0 ||
        zq_fmt(dst, sizeof(dst), "%s/%s", dir, id) < 0)
        return zq_err_set(w->err, ZQ_EIO, "files: path too long under %s", w->to);
    if (mkdir(dir, w->own != NULL ? 0750 : 0700) == 0 && w->own != NULL &&
        chown(dir, w->own->st_uid, w->own->st_gid) < 0 && errno != EPERM)
        return zq_err_set(w->err, ZQ_EIO, "files: chown %s: %s", dir, strerror(errno));
    if (access(dir, F_OK) < 0)
        return zq_err_set(w->err, ZQ_EIO, "files: %s: %s", dir, strerror(errno));
    if (!w->replace && access(dst, F_OK) == 0)
        return zq_err_set(w->err, ZQ_ECONFLICT,
                          "files: %s is already in the store: restore wants an empty store "
                          "(empty [files] dir first, or --force to overwrite)",
                          id);
    return copy_whole(src, dst, w->mode, w->own, w->err);
}

int zq_filestore_backup_save(void *ctx, const char *folder, zq_err *err)
{
    zq_filestore *fs = ctx;
    copy_walk w = {.from = fs->dir, .to = folder, .mode = 0600, .replace = false, .err = err};

    if (!zq_filestore_is_dir(fs))
        return zq_err_set(err, ZQ_EINVAL, "files: only the directory store is backed up");
    return walk_layout(fs->dir, copy_one, &w, err);
}

int zq_filestore_backup_restore(void *ctx, const char *folder, bool force, zq_err *err)
{
    zq_filestore *fs = ctx;
    struct stat own;
    copy_walk w = {
        .from = folder, .to = fs->dir, .mode = 0640, .replace = force, .own = &own, .err = err};

    if (!zq_filestore_is_dir(fs))
        return zq_err_set(err, ZQ_EINVAL, "files: only the directory store is restored");
    if (stat(fs->dir, &own) < 0)
        return zq_err_set(err, ZQ_EIO, "files: %s: %s", fs->dir, strerror(errno));
    /* A backup taken when the store was empty may have lost its empty
     * folder on the way (copies skip empty folders): nothing to restore. */
    if (access(folder, F_OK) < 0 && errno == ENOENT)
        return 0;
    return walk_layout(folder, copy_one, &w, err);
}

/* Tests of lib/core/filestore.c: the type of an upload from its bytes only
 * (never its name), end markers against truncation, the size limit, the
 * streamed SHA-256, and the directory backend (rename in from the upload
 * folder only, open, remove, the X-Accel-Redirect URI). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/core/filestore_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/filestore.h"

static char g_tmp[64];

static const unsigned char PNG_HEAD[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                                         0,    0,   0,   13,  'I',  'H',  'D',  'R'};
static const unsigned char PNG_END[] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};

/* Writes n bytes of head, filler up to total, then tail into dir/name;
 * returns the path (static buffer). */
static const char *write_file(const char *dir, const char *name, const void *head, size_t hn,
                              size_t filler, const void *tail, size_t tn)
{
    static char path[256];
    FILE *f;
    size_t i;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(head, 1, hn, f);
    for (i = 0; i < filler; i++)
        fputc((int)(i * 7 % 251), f);
    fwrite(tail, 1, tn, f);
    fclose(f);
    return path;
}

static int inspect(const char *path, uint64_t max, zq_file_info *info)
{
    zq_err err = {0};

    return zq_file_inspect(path, max, info, &err);
}

static void test_types_from_bytes(void **state)
{
    zq_file_info info;

    (void)state;
    /* A PDF named .jpg is a PDF. */
    assert_int_equal(
        inspect(write_file(g_tmp, "scan.jpg", "%PDF-1.7\n", 9, 5000, "\ntrailer\n%%EOF\n", 15),
                1 << 20, &info),
        0);
    assert_string_equal(info.type, "application/pdf");
    /* A PNG (whatever Content-Type the client claimed) is a PNG. */
    assert_int_equal(
        inspect(write_file(g_tmp, "x.pdf", PNG_HEAD, sizeof(PNG_HEAD), 3000, PNG_END, 12), 1 << 20,
                &info),
        0);
    assert_string_equal(info.type, "image/png");
    assert_int_equal(
        inspect(write_file(g_tmp, "p.jpeg", "\xFF\xD8\xFF\xE0", 4, 70000, "\xFF\xD9", 2), 1 << 20,
                &info),
        0);
    assert_string_equal(info.type, "image/jpeg");
    assert_int_equal(info.size, 70006);
}

static void test_refused_types(void **state)
{
    zq_file_info info;
    const char *html = "<!DOCTYPE html><html><script>alert(1)</script></html>";

    (void)state;
    /* HTML, even named .png. */
    assert_int_equal(
        inspect(write_file(g_tmp, "a.png", html, strlen(html), 0, "", 0), 1 << 20, &info),
        -ZQ_EINVAL);
    assert_null(info.type);
    /* A zip (a zip bomb's header: a local file header claiming a huge
     * size), and a PDF wrapped in one. */
    assert_int_equal(inspect(write_file(g_tmp, "b.pdf", "PK\x03\x04\x14\x00\x00\x00\x08\x00", 10,
                                        200, "PK\x05\x06", 4),
                             1 << 20, &info),
                     -ZQ_EINVAL);
    /* Truncated: each type without its end marker. */
    assert_int_equal(inspect(write_file(g_tmp, "c", "%PDF-1.4\n", 9, 5000, "", 0), 1 << 20, &info),
                     -ZQ_EINVAL);
    assert_int_equal(
        inspect(write_file(g_tmp, "d", PNG_HEAD, sizeof(PNG_HEAD), 5000, "", 0), 1 << 20, &info),
        -ZQ_EINVAL);
    assert_int_equal(
        inspect(write_file(g_tmp, "e", "\xFF\xD8\xFF\xE1", 4, 5000, "", 0), 1 << 20, &info),
        -ZQ_EINVAL);
    /* Empty, and a PNG signature without its IHDR. */
    assert_int_equal(inspect(write_file(g_tmp, "f", "", 0, 0, "", 0), 1 << 20, &info), -ZQ_EINVAL);
    assert_int_equal(inspect(write_file(g_tmp, "g", PNG_HEAD, 8, 100, PNG_END, 12), 1 << 20, &info),
                     -ZQ_EINVAL);
    /* The in-memory sniffer agrees. */
    assert_null(zq_file_sniff((const unsigned char *)html, strlen(html),
                              (const unsigned char *)html, strlen(html), strlen(html)));
    assert_string_equal(
        zq_file_sniff((const unsigned char *)"%PDF-1.7", 8, (const unsigned char *)"%%EOF", 5, 13),
        "application/pdf");
}

static void test_size_limit(void **state)
{
    zq_file_info info;
    const char *p;

    (void)state;
    p = write_file(g_tmp, "big.pdf", "%PDF-1.7\n", 9, 10000, "%%EOF", 5);
    assert_int_equal(inspect(p, 10014, &info), 0);
    assert_int_equal(inspect(p, 10013, &info), -ZQ_ETOOBIG);
    assert_int_equal(info.size, 10014);
}

/* The streamed hash is the one-shot hash of the whole file, across block
 * boundaries. */
static void test_hash(void **state)
{
    unsigned char md[32];
    char want[65];
    zq_file_info info;
    unsigned char *all;
    const char *p;
    size_t n = 9 + 200000 + 5;
    FILE *f;

    (void)state;
    p = write_file(g_tmp, "h.pdf", "%PDF-1.7\n", 9, 200000, "%%EOF", 5);
    assert_int_equal(inspect(p, 1 << 20, &info), 0);
    all = malloc(n);
    f = fopen(p, "rb");
    assert_int_equal(fread(all, 1, n, f), n);
    fclose(f);
    SHA256(all, n, md);
    zq_hex(md, 32, want);
    assert_string_equal(info.sha256, want);
    free(all);
}

static void test_dir_backend(void **state)
{
    char dir[128], in[128], other[128], url[128], full[256];
    const char *id = "0123456789abcdef0123456789abcdef";
    zq_filestore *fs = NULL;
    zq_err err = {0};
    const char *p;
    struct stat sb;
    int fd;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/store", g_tmp);
    snprintf(in, sizeof(in), "%s/store/incoming", g_tmp);
    snprintf(other, sizeof(other), "%s/elsewhere", g_tmp);
    /* Nothing is created: the folders must be there. */
    assert_int_equal(zq_filestore_open_dir(dir, in, &fs, &err), -ZQ_EIO);
    assert_null(fs);
    assert_int_equal(mkdir(dir, 0750), 0);
    assert_int_equal(mkdir(in, 0750), 0);
    assert_int_equal(zq_filestore_open_dir(dir, in, &fs, &err), 0);
    assert_int_equal(mkdir(other, 0700), 0);
    /* Only a plain file right inside the upload folder is taken. */
    p = write_file(other, "0000000001", "%PDF-1.7\n", 9, 10, "%%EOF", 5);
    assert_false(zq_filestore_incoming_ok(fs, p));
    assert_int_equal(zq_filestore_put_path(fs, p, id, &err), -ZQ_EINVAL);
    snprintf(full, sizeof(full), "%s/../elsewhere/0000000001", in);
    assert_false(zq_filestore_incoming_ok(fs, full));
    assert_false(zq_filestore_incoming_ok(fs, in));
    assert_false(zq_filestore_incoming_ok(fs, NULL));
    p = write_file(in, "0000000002", "%PDF-1.7\n", 9, 10, "%%EOF", 5);
    assert_true(zq_filestore_incoming_ok(fs, p));
    /* Bad keys never touch the disk. */
    assert_int_equal(zq_filestore_put_path(fs, p, "../x", &err), -ZQ_EINVAL);
    assert_int_equal(zq_filestore_put_path(fs, p, id, &err), 0);
    assert_int_not_equal(access(p, F_OK), 0); /* moved, not copied */
    snprintf(full, sizeof(full), "%s/01/%s", dir, id);
    assert_int_equal(stat(full, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
    fd = zq_filestore_open(fs, id, &err);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(zq_filestore_url(fs, id, url, sizeof(url)), 0);
    assert_string_equal(url, "/_zq_files/01/0123456789abcdef0123456789abcdef");
    assert_int_equal(zq_filestore_url(fs, "x", url, sizeof(url)), -ZQ_EINVAL);
    assert_int_equal(zq_filestore_remove(fs, id, &err), 0);
    assert_int_equal(zq_filestore_open(fs, id, &err), -ZQ_ENOTFOUND);
    assert_int_equal(zq_filestore_remove(fs, id, &err), 0); /* gone already: fine */
    assert_false(zq_file_id_valid("0123456789ABCDEF0123456789abcdef"));
    zq_filestore_free(fs);
}

/* The S3 backend's presigned GET, against the example in AWS's
 * documentation of SigV4 query authentication (examplebucket, test.txt,
 * 2013-05-24, a day). The bucket is in the host there (virtual-hosted),
 * so the bucket here is "" (path-style puts it in the path). */
static void test_s3_presign_vector(void **state)
{
    zq_s3 s;
    zq_err err = {0};
    char out[1024];

    (void)state;
    assert_int_equal(zq_s3_init(&s, "https://examplebucket.s3.amazonaws.com", "b", "us-east-1",
                                "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                &err),
                     0);
    assert_string_equal(s.host, "examplebucket.s3.amazonaws.com");
    s.bucket[0] = '\0';
    assert_int_equal(zq_s3_presign(&s, "", "test.txt", 1369353600, 86400, out, sizeof(out)), 0);
    assert_string_equal(out, "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
                             "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&"
                             "X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders="
                             "host&X-Amz-Signature="
                             "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    assert_int_equal(zq_s3_presign(&s, "", "test.txt", 1369353600, 86400, out, 40), -ZQ_ETOOBIG);
    /* Settings that cannot work are refused at start. */
    assert_int_equal(zq_s3_init(&s, "ftp://x", "b", "", "k", "s", &err), -ZQ_EINVAL);
    assert_int_equal(zq_s3_init(&s, "http://h:9000/path", "b", "", "k", "s", &err), -ZQ_EINVAL);
    assert_int_equal(zq_s3_init(&s, "http://h:9000", "B_ad", "", "k", "s", &err), -ZQ_EINVAL);
    assert_int_equal(zq_s3_init(&s, "http://h:9000/", "b", "", "k", "", &err), -ZQ_EINVAL);
    assert_int_equal(zq_s3_init(&s, "http://h:9000/", "b", "", "k", "s", &err), 0);
    assert_string_equal(s.endpoint, "http://h:9000");
    assert_string_equal(s.region, "us-east-1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_from_bytes), cmocka_unit_test(test_refused_types),
        cmocka_unit_test(test_size_limit),       cmocka_unit_test(test_hash),
        cmocka_unit_test(test_dir_backend),      cmocka_unit_test(test_s3_presign_vector),
    };
    char cmd[128];
    int rc;

    snprintf(g_tmp, sizeof(g_tmp), "/tmp/zq-filestore-XXXXXX");
    if (mkdtemp(g_tmp) == NULL)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}

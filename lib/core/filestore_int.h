/* The file store's S3-compatible backend, private to lib/core: filestore.c
 * dispatches to it when [files] backend = s3. Objects are addressed
 * path-style, {endpoint}/{bucket}/{key}; requests are signed by libcurl
 * (CURLOPT_AWS_SIGV4), download URLs presigned here (SigV4 query
 * signing) for nginx to fetch. */
#ifndef ZHUQI_FILESTORE_INT_H
#define ZHUQI_FILESTORE_INT_H

#include <stdint.h>

#include "zhuqi/common.h"

typedef struct zq_s3 {
    char endpoint[256]; /* "http://127.0.0.1:9000", no trailing slash */
    char host[256];     /* its host[:port], as signed */
    char bucket[64];
    char region[32];
    char access_key[128];
    char secret[256];
} zq_s3;

/* Fills s from the settings; endpoint must be http:// or https:// with a
 * host. Returns 0 or -ZQ_EINVAL (err says why). */
int zq_s3_init(zq_s3 *s, const char *endpoint, const char *bucket, const char *region,
               const char *access_key, const char *secret, zq_err *err);

/* PUT of the file at path as object key. Returns 0 (the store answered
 * 2xx) or -ZQ_EIO (err says why). */
int zq_s3_put(const zq_s3 *s, const char *path, const char *key, zq_err *err);

/* DELETE of object key. Returns 0 (also when it was not there) or
 * -ZQ_EIO. */
int zq_s3_delete(const zq_s3 *s, const char *key, zq_err *err);

/* GET of object key into an unnamed file in folder tmpdir. Returns its
 * descriptor (positioned at 0; close it), -ZQ_ENOTFOUND or -ZQ_EIO. */
int zq_s3_get_fd(const zq_s3 *s, const char *key, const char *tmpdir, zq_err *err);

/* The presigned GET of object key, valid ttl_s seconds from now_s, as a
 * path and query for nginx's internal location: prefix "/{bucket}/{key}"
 * "?X-Amz-...". Returns 0 or -ZQ_ETOOBIG. */
int zq_s3_presign(const zq_s3 *s, const char *prefix, const char *key, int64_t now_s, int ttl_s,
                  char *out, size_t outsz);

#endif

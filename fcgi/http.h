/* The request and response layer of zhuqi-fcgi: CGI parameters, headers,
 * query strings, cookies and bodies in; status, headers and JSON out, in
 * the error shape of specs/api.md. Independent of libfcgi so that handlers
 * can be tested with a fabricated environment. */
#ifndef ZHUQI_HTTP_H
#define ZHUQI_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuqi/buf.h"
#include "zhuqi/config.h"
#include "zhuqi/store.h"

struct zq_app;

#define ZQ_ROUTE_MAX_PARAMS 4
/* How many CGI parameters zq_req_init indexes (see zq_req.known). */
#define ZQ_REQ_NKNOWN 14

/* A decoded name/value pair; both strings live in the request's pool. */
typedef struct zq_kv {
    const char *key;
    const char *val;
    size_t val_len;
} zq_kv;

typedef struct zq_req {
    zq_pool pool;             /* everything below that is allocated lives here */
    struct zq_req_kept *kept; /* JSON values released with the request */
    char **envp;              /* CGI parameters, "NAME=value" (borrowed) */
    const zq_config *cfg;     /* borrowed for the request */
    const struct zq_app *app; /* schemas etc.; borrowed, NULL in some tests */
    zq_store *store;          /* this worker's Redis connection */
    const char *method;
    const char *path;  /* decoded, normalised by nginx, no query */
    const char *query; /* raw query string, "" when none */
    const char *request_id;
    /* REMOTE_ADDR as nginx passes it ("-" when absent): the one client
     * address the app believes (audit log, limits). A front proxy's
     * X-Forwarded-For counts only through nginx's real_ip settings. */
    const char *remote_addr;
    const char *body; /* NUL-terminated copy, body_len bytes */
    size_t body_len;
    const char *params[ZQ_ROUTE_MAX_PARAMS]; /* route captures, decoded */
    int nparams;
    int route_index; /* for metrics; -1 when no route matched */

    /* The response being built. */
    int status;
    const char *content_type;  /* static or in the pool */
    const char *cache_control; /* NULL: "no-store" */
    const char *csp;           /* NULL: "default-src 'none'; frame-ancestors 'none'" */
    zq_buf headers;            /* "Name: value\r\n" lines */
    zq_buf body_out;
    bool responded;
    bool head; /* HEAD: send headers only */

    /* Streaming (large exports): the server sets stream_fn to write bytes
     * straight to the client; NULL (tests) buffers into body_out. */
    int (*stream_fn)(void *ctx, const void *data, size_t len);
    void *stream_ctx;
    bool streaming;      /* the head went out; the body goes through stream_fn */
    size_t stream_bytes; /* body bytes written so far */

    /* The CGI parameters read on most requests (REQUEST_METHOD,
     * HTTP_COOKIE, ...), found by zq_req_init in one pass over envp, so
     * that zq_req_param does not scan envp for them again; NULL when
     * absent. Valid when indexed (a request built by hand has none). */
    const char *known[ZQ_REQ_NKNOWN];
    bool indexed;
} zq_req;

/* Prepares req for one request: envp is borrowed, method/path/query and
 * the request id are read from it. Returns 0, or -ZQ_EINVAL when the path
 * is not valid UTF-8 (the response is then already set: 400). */
int zq_req_init(zq_req *req, char **envp, const zq_config *cfg, zq_store *store);
/* Frees everything the request allocated. */
void zq_req_free(zq_req *req);

/* True when the client is this host (REMOTE_ADDR exactly 127.0.0.1 or
 * ::1): monitors on the machine, which may see internal detail. */
bool zq_req_from_loopback(const zq_req *req);
/* A CGI parameter ("REQUEST_METHOD", "HTTP_COOKIE"), NULL when absent;
 * the first one when envp has the name twice. Borrowed from envp. The
 * common ones come from the index zq_req_init built, others from a scan
 * of envp. */
const char *zq_req_param(const zq_req *req, const char *name);
/* An HTTP request header by its usual name ("Content-Type",
 * "X-CSRF-Token"), NULL when absent. Borrowed. */
const char *zq_req_header(zq_req *req, const char *name);
/* A query-string value, percent-decoded, NULL when absent or not valid
 * UTF-8. Lives in the pool. */
const char *zq_req_query(zq_req *req, const char *name);
/* A cookie value, NULL when absent. Lives in the pool. */
const char *zq_req_cookie(zq_req *req, const char *name);

/* Hands j to the request (steals the reference): it is released by
 * zq_req_free, so a handler's paths need not. Returns j, borrowed until
 * then, or NULL when j is NULL or the request is out of memory (j is then
 * released at once). */
json_t *zq_req_keep(zq_req *req, json_t *j);

/* The request body as JSON. Returns 0 and the body in *out, borrowed:
 * the request keeps it (zq_req_keep). Or a negative code after having set
 * the error response: 415 for another content type, 400 invalid_utf8 or
 * malformed_json. */
int zq_req_json(zq_req *req, json_t **out);
/* The body as application/x-www-form-urlencoded pairs (in the pool).
 * Returns 0, or a negative code after having set a 415 or 400 response. */
int zq_req_form(zq_req *req, zq_kv **out, size_t *n);

/* Requires a staff bearer token with at least role need. Returns 0 and
 * sets *who (borrowed from cfg, may be NULL to ignore), or a negative code
 * after having set a 401 or 403 response. */
int zq_req_require_staff(zq_req *req, zq_role need, const zq_token **who);

/* Adds a response header. name and value must not contain CR or LF (such
 * a header is dropped and logged). */
void zq_resp_header(zq_req *req, const char *name, const char *value);
/* Sets the status and a JSON body; steals body (may be NULL: "{}"). */
void zq_resp_json(zq_req *req, int status, json_t *body);
/* Sets the status and a raw body with its content type. */
void zq_resp_raw(zq_req *req, int status, const char *content_type, const void *data, size_t len);
/* Sets an error response {"error":{"code","message"}} with a Chinese
 * message for users. */
void zq_resp_error(zq_req *req, int status, const char *code, const char *message);
/* The same with a "fields" object (validation errors); steals fields. */
void zq_resp_error_fields(zq_req *req, int status, const char *code, const char *message,
                          json_t *fields);

/* Formats a message for the user (printf-like) into out (outsz bytes),
 * or copies fallback there when it does not fit: a general message
 * rather than one cut in the middle of a character. fallback must fit.
 * Returns out. */
const char *zq_resp_msgf(char *out, size_t outsz, const char *fallback, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 503 storage_unavailable with Retry-After from the configuration. */
void zq_resp_unavailable(zq_req *req);

/* Writes the CGI response (Status line, headers, security headers,
 * X-Request-Id, blank line, body) into out. Writes nothing once the
 * response is streaming. */
int zq_resp_serialize(zq_req *req, zq_buf *out);

/* Bodies from this size on are left where they are by
 * zq_resp_serialize_parts. */
#define ZQ_RESP_SEND_APART 8192

/* zq_resp_serialize, except that a body of ZQ_RESP_SEND_APART bytes or
 * more is not copied: out gets the head only, and *body / *body_len point
 * at the body (req's, valid until zq_req_free), to be sent right after
 * it. Otherwise *body is NULL and *body_len 0. Returns 0 or -ZQ_ENOMEM. */
int zq_resp_serialize_parts(zq_req *req, zq_buf *out, const char **body, size_t *body_len);

/* Starts a streamed response: status, content type and the headers added
 * so far (no Content-Length) go out at once through req->stream_fn; the
 * body follows with zq_resp_stream_write(). Without stream_fn the body is
 * collected in body_out and sent as usual. Returns 0 or -ZQ_EIO when the
 * client has gone. */
int zq_resp_stream_begin(zq_req *req, int status, const char *content_type);
/* Writes part of a streamed body (dropped for HEAD). Returns 0 or -ZQ_EIO
 * when the client has gone (stop producing). */
int zq_resp_stream_write(zq_req *req, const void *data, size_t len);

/* The reason phrase of a status ("Not Found"). */
const char *zq_http_reason(int status);

/* Percent-decodes [s, s+len) into the pool (plus_space: '+' means ' ').
 * Returns NULL on a bad escape, an encoded NUL, or out of memory. */
char *zq_url_decode(zq_pool *pool, const char *s, size_t len, bool plus_space, size_t *outlen);
/* Parses "a=1&b=2" into pairs (in the pool), at most max pairs. Returns 0
 * or -ZQ_EINVAL (bad escape, invalid UTF-8, too many pairs). */
int zq_parse_urlencoded(zq_pool *pool, const char *s, size_t len, size_t max, zq_kv **out,
                        size_t *n);
/* Parses a Cookie header ("a=1; b=2") into pairs (in the pool). Values
 * are not decoded. Returns 0 or -ZQ_EINVAL. */
int zq_parse_cookies(zq_pool *pool, const char *header, size_t max, zq_kv **out, size_t *n);

/* True when k is a usable Idempotency-Key: 8 to 64 characters of
 * A-Z a-z 0-9 - _ (NULL is not). Staff writes take these: a staff key is
 * scoped by the staff member, the action and the case, so a short one
 * cannot reach anyone else's result. */
bool zq_idem_key_valid(const char *k);
/* The same with at least min characters (and still at most 64). */
bool zq_idem_key_valid_min(const char *k, size_t min);

/* The shortest public (submission) Idempotency-Key: long enough that a
 * key cannot be guessed from another client's. */
#define ZQ_IDEM_KEY_MIN_PUBLIC 16

#endif

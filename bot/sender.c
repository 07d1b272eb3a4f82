/* HTTP transfers to the platforms: one libcurl multi handle, a fixed pool
 * of easy handles reused for every transfer (so connections to a platform
 * are kept alive and reused), strict options (no redirects, http/https
 * only, no signals, connect and total timeouts) and responses capped at
 * 64 KiB. Guarded transfers reuse only connections to an address the
 * guard passed (pins, below). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "bot.h"
#include "zhuqi/buf.h"
#include "zhuqi/log.h"

#define RESP_MAX 65536
#define USER_AGENT "zhuqi-bot/" ZQ_VERSION

typedef struct xfer {
    CURL *easy;
    struct curl_slist *headers;
    char *resp; /* RESP_MAX + 1 bytes */
    size_t len;
    bool too_big;
    /* A download (zq_sender_get_file): the body goes to f, at most fmax
     * bytes; f NULL: into resp. */
    FILE *f;
    uint64_t fmax, flen;
    char disp_name[128]; /* Content-Disposition filename="..." */
    char retry_after[64];
    bool have_retry_after;
    void *ctx;
    bool busy;
    bool done; /* finished, result not handed out yet */
    CURLcode code;
    long status;
    char errbuf[CURL_ERROR_SIZE];
    /* The address guard of this transfer (NULL: none) and what it said. */
    const zq_netguard *guard;
    bool plain;
    bool refused;
    char refused_why[160];
    /* A guarded transfer either goes to its host's pinned address
     * (connect_to set) or learns the pin: then it connects afresh and
     * pin >= 0 is the slot its address goes to when it succeeds. */
    struct curl_slist *connect_to;
    int pin;
    char host[256];
    int port;
} xfer;

/* A guarded host:port and the address a guarded transfer reached it at.
 *
 * Why: curl reuses a pooled connection for any transfer to the same host
 * name and port, whoever opened it and to whichever address the name
 * pointed then, so a guarded transfer used to open a fresh connection
 * each time (CURLOPT_FRESH_CONNECT), and a fan-out to one host paid a TCP
 * (and TLS) handshake per message. Now the first guarded transfer to a
 * host:port connects afresh (every socket address is checked when it is
 * opened) and the address it reached becomes the pin; later guarded
 * transfers to it go to that address through CURLOPT_CONNECT_TO. curl
 * reuses a connection only for a transfer with the same connect-to host
 * and port, and only guarded transfers set one, so a pinned transfer
 * reuses only connections that pinned transfers opened to that checked
 * address; unguarded connections (no connect-to) are never reused by a
 * guarded transfer. The pin is checked again against the current guard
 * on every use (a reload may have changed the allow-list) and expires
 * after ZQ_SENDER_PIN_TTL_MS: the next transfer resolves the name afresh,
 * so a name rebound to a refused address (DNS rebinding) meets the check
 * at connect time and never reaches it. */
typedef struct pin {
    bool used;
    int port;
    int64_t since_ms; /* monotonic */
    struct sockaddr_storage sa;
    char addr[INET6_ADDRSTRLEN + 2]; /* "192.0.2.1" or "[2001:db8::1]" */
    char host[256];                  /* as curl parses the URL, lower case */
} pin;

#define NPINS 64

struct zq_sender {
    CURLM *multi;
    CURLU *url; /* parser of guarded URLs, reused */
    xfer *x;
    int n;
    int busy;
    int connect_ms, timeout_ms;
    int64_t pin_ttl_ms;
    pin pins[NPINS];             /* direct-mapped by host:port */
    struct curl_slist *resolve;  /* zq_sender_resolve()'s entries */
    char body_out[RESP_MAX + 1]; /* the last result's body, for zq_sent */
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    xfer *x = userdata;
    size_t n = size * nmemb;

    if (x->f != NULL) {
        /* Checked while writing: a file over the limit never fills the
         * disk; returning short aborts the transfer. */
        if (x->flen + n > x->fmax) {
            x->too_big = true;
            return 0;
        }
        x->flen += n;
        return fwrite(data, 1, n, x->f);
    }
    if (x->len + n > RESP_MAX) {
        x->too_big = true;
        return 0; /* aborts the transfer */
    }
    memcpy(x->resp + x->len, data, n);
    x->len += n;
    x->resp[x->len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userdata)
{
    xfer *x = userdata;
    size_t n = size * nitems;

    if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        size_t a = 12, b = n;

        while (a < b && (data[a] == ' ' || data[a] == '\t'))
            a++;
        while (b > a && (data[b - 1] == '\r' || data[b - 1] == '\n' || data[b - 1] == ' '))
            b--;
        if (b - a < sizeof(x->retry_after)) {
            memcpy(x->retry_after, data + a, b - a);
            x->retry_after[b - a] = '\0';
            x->have_retry_after = true;
        }
    } else if (n > 20 && strncasecmp(data, "Content-Disposition:", 20) == 0) {
        /* WeCom's media/get names the file here: filename="...". */
        const char *end = data + n, *f = data + 20;
        size_t k;

        while (f + 10 <= end && strncmp(f, "filename=\"", 10) != 0)
            f++;
        if (f + 10 <= end) {
            f += 10;
            for (k = 0; f + k < end && f[k] != '"'; k++)
                ;
            if (f + k < end && k > 0 && k < sizeof(x->disp_name)) {
                memcpy(x->disp_name, f, k);
                x->disp_name[k] = '\0';
            }
        }
    }
    return n;
}

/* curl asks us for each socket it connects: the peer's address is known
 * here, after DNS, so a name that resolves to a refused address is
 * stopped before any packet leaves (curl tries the next address, then
 * fails the transfer with "couldn't connect"). */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    xfer *x = clientp;

    (void)purpose;
    if (x->guard != NULL && zq_netguard_check(x->guard, &a->addr, x->plain, x->refused_why,
                                              sizeof(x->refused_why)) < 0) {
        x->refused = true;
        ZQ_WARN("event=outbound_refused reason=\"%s\"", x->refused_why);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

zq_sender *zq_sender_new(int max, int connect_timeout_ms, int timeout_ms)
{
    zq_sender *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->n = max > 0 ? max : 1;
    s->connect_ms = connect_timeout_ms;
    s->timeout_ms = timeout_ms;
    s->pin_ttl_ms = ZQ_SENDER_PIN_TTL_MS;
    s->multi = curl_multi_init();
    s->url = curl_url();
    s->x = calloc((size_t)s->n, sizeof(*s->x));
    if (s->multi == NULL || s->url == NULL || s->x == NULL)
        goto fail;
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)s->n);
    for (int i = 0; i < s->n; i++) {
        s->x[i].easy = curl_easy_init();
        s->x[i].resp = malloc(RESP_MAX + 1);
        if (s->x[i].easy == NULL || s->x[i].resp == NULL)
            goto fail;
    }
    return s;
fail:
    zq_sender_free(s);
    return NULL;
}

void zq_sender_free(zq_sender *s)
{
    if (s == NULL)
        return;
    for (int i = 0; s->x != NULL && i < s->n; i++) {
        if (s->x[i].easy != NULL) {
            if (s->x[i].busy && !s->x[i].done)
                curl_multi_remove_handle(s->multi, s->x[i].easy);
            curl_easy_cleanup(s->x[i].easy);
        }
        curl_slist_free_all(s->x[i].headers);
        curl_slist_free_all(s->x[i].connect_to);
        free(s->x[i].resp);
    }
    free(s->x);
    if (s->multi != NULL)
        curl_multi_cleanup(s->multi);
    curl_url_cleanup(s->url);
    curl_slist_free_all(s->resolve);
    free(s);
}

void zq_sender_set_timeouts(zq_sender *s, int connect_timeout_ms, int timeout_ms)
{
    s->connect_ms = connect_timeout_ms;
    s->timeout_ms = timeout_ms;
}

int zq_sender_busy(const zq_sender *s)
{
    return s->busy;
}

int zq_sender_free_slots(const zq_sender *s)
{
    return s->n - s->busy;
}

void zq_sender_set_pin_ttl(zq_sender *s, int64_t ttl_ms)
{
    s->pin_ttl_ms = ttl_ms;
}

int zq_sender_resolve(zq_sender *s, const char *entry)
{
    struct curl_slist *t = curl_slist_append(s->resolve, entry);

    if (t == NULL)
        return -ZQ_ENOMEM;
    s->resolve = t;
    return 0;
}

/* The pin slot of host:port (FNV-1a; host is lower case). */
static int pin_slot(const char *host, int port)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)host; *p != '\0'; p++)
        h = (h ^ *p) * 16777619u;
    h = (h ^ (uint32_t)port) * 16777619u;
    return (int)(h % NPINS);
}

/* Reads the host (lower case) and port of a guarded transfer's URL into
 * x. Returns false when curl cannot parse it (it then fails the transfer
 * itself) or the host is too long for a pin. */
static bool url_host_port(zq_sender *s, xfer *x, const char *url)
{
    char *host = NULL, *port = NULL;
    long long v = 0;
    size_t n;
    bool ok = false;

    if (curl_url_set(s->url, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(s->url, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(s->url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    n = strlen(host);
    if (n == 0 || n >= sizeof(x->host) || zq_parse_ll(port, strlen(port), 1, 65535, &v) < 0)
        goto out;
    for (size_t i = 0; i <= n; i++)
        x->host[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] - 'A' + 'a' : host[i]);
    x->port = (int)v;
    ok = true;
out:
    curl_free(host);
    curl_free(port);
    return ok;
}

/* Routes a guarded transfer: to its host's pin when there is a live one
 * that the guard still passes (connections pinned to it are reused),
 * else on a fresh connection that learns the pin (see struct pin). */
static void guard_route(zq_sender *s, xfer *x, const char *url)
{
    char entry[INET6_ADDRSTRLEN + 16], why[160];
    pin *p;
    int slot;

    x->pin = -1;
    if (!url_host_port(s, x, url))
        goto fresh;
    slot = pin_slot(x->host, x->port);
    p = &s->pins[slot];
    if (p->used && p->port == x->port && strcmp(p->host, x->host) == 0) {
        if (zq_mono_ms() - p->since_ms < s->pin_ttl_ms &&
            zq_netguard_check(x->guard, (const struct sockaddr *)&p->sa, x->plain, why,
                              sizeof(why)) == 0 &&
            zq_fmt(entry, sizeof(entry), "::%s:%d", p->addr, p->port) == 0 &&
            (x->connect_to = curl_slist_append(NULL, entry)) != NULL) {
            curl_easy_setopt(x->easy, CURLOPT_CONNECT_TO, x->connect_to);
            return;
        }
        p->used = false; /* expired, or refused now: resolve and check again */
    }
    x->pin = slot;
fresh:
    curl_easy_setopt(x->easy, CURLOPT_FRESH_CONNECT, 1L);
}

/* After a learning transfer worked: pins the address its connection
 * reached (its socket was checked when opened; checked again here). */
static void learn_pin(zq_sender *s, xfer *x)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)&ss;
    char *ip = NULL, why[160];
    long port = 0;
    pin *p = &s->pins[x->pin];

    if (curl_easy_getinfo(x->easy, CURLINFO_PRIMARY_IP, &ip) != CURLE_OK || ip == NULL ||
        curl_easy_getinfo(x->easy, CURLINFO_PRIMARY_PORT, &port) != CURLE_OK || port <= 0 ||
        port > 65535)
        return;
    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        if (zq_fmt(p->addr, sizeof(p->addr), "%s", ip) < 0)
            return;
    } else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        if (zq_fmt(p->addr, sizeof(p->addr), "[%s]", ip) < 0)
            return;
    } else {
        return;
    }
    p->used = false;
    if (zq_netguard_check(x->guard, (const struct sockaddr *)&ss, x->plain, why, sizeof(why)) < 0)
        return;
    memcpy(&p->sa, &ss, sizeof(ss));
    memcpy(p->host, x->host, strlen(x->host) + 1);
    p->port = (int)port;
    p->since_ms = zq_mono_ms();
    p->used = true;
}

/* curl's message for a report, at most 150 bytes of it (and outsz - 1):
 * the message is ASCII, so the cut is harmless. */
static void transport_error(char *out, size_t outsz, const char *msg)
{
    size_t n = strlen(msg);

    if (n > 150)
        n = 150;
    if (n > outsz - 1)
        n = outsz - 1;
    memcpy(out, msg, n);
    out[n] = '\0';
}

/* zq_sender_start, and a download into f (NULL: none) of at most fmax
 * bytes within timeout_ms (0: the sender's). */
static int start(zq_sender *s, const char *url, const char *content_type,
                 const char *const *headers, int nheaders, const char *body, size_t len,
                 const zq_netguard *guard, FILE *f, uint64_t fmax, int timeout_ms, void *ctx)
{
    xfer *x = NULL;
    struct curl_slist *h = NULL, *t;
    char ct[160];

    for (int i = 0; i < s->n; i++)
        if (!s->x[i].busy) {
            x = &s->x[i];
            break;
        }
    if (x == NULL)
        return -ZQ_EBUSY;
    /* "Content-Type:" with nothing after it keeps curl from adding its
     * own to a POST without a body. */
    if (zq_fmt(ct, sizeof(ct), "Content-Type:%s%s",
               content_type && content_type[0] == '\0' ? "" : " ",
               content_type ? content_type : "application/json") < 0)
        return -ZQ_ETOOBIG;
    h = curl_slist_append(NULL, ct);
    /* No "Expect: 100-continue" round trip for bigger bodies. */
    if (h != NULL && (t = curl_slist_append(h, "Expect:")) != NULL)
        h = t;
    for (int i = 0; h != NULL && i < nheaders; i++) {
        t = curl_slist_append(h, headers[i]);
        if (t == NULL) {
            curl_slist_free_all(h);
            h = NULL;
        } else {
            h = t;
        }
    }
    if (h == NULL)
        return -ZQ_ENOMEM;
    curl_slist_free_all(x->headers);
    x->headers = h;
    x->len = 0;
    x->resp[0] = '\0';
    x->too_big = false;
    x->f = f;
    x->fmax = fmax;
    x->flen = 0;
    x->disp_name[0] = '\0';
    x->have_retry_after = false;
    x->retry_after[0] = '\0';
    x->errbuf[0] = '\0';
    x->ctx = ctx;
    x->done = false;
    x->status = 0;
    x->code = CURLE_OK;
    x->guard = guard;
    x->plain = strncasecmp(url, "http://", 7) == 0;
    x->refused = false;
    x->refused_why[0] = '\0';

    curl_easy_reset(x->easy);
    curl_slist_free_all(x->connect_to);
    x->connect_to = NULL;
    x->pin = -1;
    curl_easy_setopt(x->easy, CURLOPT_URL, url);
    if (body != NULL) {
        curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        curl_easy_setopt(x->easy, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)s->connect_ms);
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS,
                     (long)(timeout_ms > 0 ? timeout_ms : s->timeout_ms));
    curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(x->easy, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(x->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(f != NULL ? fmax : RESP_MAX));
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETDATA, x);
    if (s->resolve != NULL)
        curl_easy_setopt(x->easy, CURLOPT_RESOLVE, s->resolve);
    if (guard != NULL) {
        /* No proxy from the environment stands between the check and the
         * peer; a pooled connection is reused only when it was opened to
         * the checked address of the pin. */
        curl_easy_setopt(x->easy, CURLOPT_PROXY, "");
        guard_route(s, x, url);
    }
    if (curl_multi_add_handle(s->multi, x->easy) != CURLM_OK)
        return -ZQ_ENOMEM;
    x->busy = true;
    s->busy++;
    return 0;
}

int zq_sender_start(zq_sender *s, const char *url, const char *content_type,
                    const char *const *headers, int nheaders, const char *body, size_t len,
                    const zq_netguard *guard, void *ctx)
{
    return start(s, url, content_type, headers, nheaders, body, len, guard, NULL, 0, 0, ctx);
}

int zq_sender_get_file(zq_sender *s, const char *url, FILE *f, uint64_t max, int timeout_ms,
                       void *ctx)
{
    return start(s, url, "", NULL, 0, NULL, 0, NULL, f, max, timeout_ms, ctx);
}

/* Collects what finished into the xfers. */
static void reap(zq_sender *s)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(s->multi, &left)) != NULL) {
        xfer *x = NULL;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x == NULL)
            continue;
        x->code = m->data.result;
        x->status = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
        if (x->guard != NULL && x->pin >= 0 && x->code == CURLE_OK)
            learn_pin(s, x);
        curl_multi_remove_handle(s->multi, x->easy);
        x->done = true;
    }
}

int zq_sender_poll(zq_sender *s, int timeout_ms, int extra_fd, bool *fd_ready)
{
    struct curl_waitfd w = {.fd = extra_fd, .events = CURL_WAIT_POLLIN, .revents = 0};
    int running = 0, numfds = 0;
    CURLMcode mc;

    *fd_ready = false;
    mc = curl_multi_poll(s->multi, extra_fd >= 0 ? &w : NULL, extra_fd >= 0 ? 1 : 0,
                         timeout_ms < 0 ? 0 : timeout_ms, &numfds);
    if (mc != CURLM_OK) {
        ZQ_ERROR("event=curl_poll_failed err=\"%s\"", curl_multi_strerror(mc));
        return -1;
    }
    *fd_ready = extra_fd >= 0 && (w.revents & CURL_WAIT_POLLIN) != 0;
    mc = curl_multi_perform(s->multi, &running);
    if (mc != CURLM_OK) {
        ZQ_ERROR("event=curl_perform_failed err=\"%s\"", curl_multi_strerror(mc));
        return -1;
    }
    reap(s);
    return 0;
}

bool zq_sender_next(zq_sender *s, zq_sent *out)
{
    for (int i = 0; i < s->n; i++) {
        xfer *x = &s->x[i];
        char *ct = NULL;

        if (!x->busy || !x->done)
            continue;
        memset(out, 0, sizeof(*out));
        out->ctx = x->ctx;
        memcpy(s->body_out, x->resp, x->len + 1);
        out->body = s->body_out;
        out->len = x->len;
        out->retry_after = x->have_retry_after ? x->retry_after : NULL;
        /* A download's stated Content-Length over the limit: curl stops
         * before writing (CURLOPT_MAXFILESIZE_LARGE). */
        out->too_big = x->too_big || (x->f != NULL && x->code == CURLE_FILESIZE_EXCEEDED);
        if (curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL &&
            zq_fmt(out->content_type, sizeof(out->content_type), "%s", ct) < 0)
            out->content_type[0] = '\0';
        memcpy(out->filename, x->disp_name, strlen(x->disp_name) + 1);
        if (x->refused && x->code != CURLE_OK) {
            /* Refused every address (one allowed would have answered). */
            out->refused = true;
            transport_error(out->error, sizeof(out->error), x->refused_why);
        } else if (out->too_big) {
            int rc = zq_fmt(out->error, sizeof(out->error), "response larger than %llu bytes",
                            (unsigned long long)(x->f != NULL ? x->fmax : RESP_MAX));

            if (rc < 0)
                memcpy(out->error, "response too large", sizeof("response too large"));
        } else if (x->code != CURLE_OK) {
            transport_error(out->error, sizeof(out->error),
                            x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->code));
        } else {
            out->status = x->status;
        }
        if (out->error[0] != '\0')
            out->status = 0;
        x->busy = false;
        x->done = false;
        x->ctx = NULL;
        x->f = NULL;
        s->busy--;
        return true;
    }
    return false;
}

/* Aborts the transfer at slot x (in flight) as zq_sender_abort_all does. */
static void abort_one(zq_sender *s, xfer *x)
{
    curl_multi_remove_handle(s->multi, x->easy);
    x->code = CURLE_ABORTED_BY_CALLBACK;
    memcpy(x->errbuf, "aborted", sizeof("aborted"));
    x->done = true;
}

void zq_sender_abort(zq_sender *s, const void *ctx)
{
    for (int i = 0; i < s->n; i++)
        if (s->x[i].busy && !s->x[i].done && s->x[i].ctx == ctx)
            abort_one(s, &s->x[i]);
}

void zq_sender_abort_all(zq_sender *s)
{
    for (int i = 0; i < s->n; i++) {
        if (s->x[i].busy && !s->x[i].done)
            abort_one(s, &s->x[i]);
    }
}

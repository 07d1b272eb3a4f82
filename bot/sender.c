/* HTTP transfers to the platforms: one libcurl multi handle, a fixed pool
 * of easy handles reused for every transfer (so connections to a platform
 * are kept alive and reused), strict options (no redirects, http/https
 * only, no signals, connect and total timeouts) and responses capped at
 * 64 KiB. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "bot.h"
#include "zhuqi/log.h"

#define RESP_MAX 65536
#define USER_AGENT "zhuqi-bot/" ZQ_VERSION

typedef struct xfer {
    CURL *easy;
    struct curl_slist *headers;
    char *resp; /* RESP_MAX + 1 bytes */
    size_t len;
    bool too_big;
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
} xfer;

struct zq_sender {
    CURLM *multi;
    xfer *x;
    int n;
    int busy;
    int connect_ms, timeout_ms;
    char body_out[RESP_MAX + 1]; /* the last result's body, for zq_sent */
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    xfer *x = userdata;
    size_t n = size * nmemb;

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
    s->multi = curl_multi_init();
    s->x = calloc((size_t)s->n, sizeof(*s->x));
    if (s->multi == NULL || s->x == NULL)
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
        free(s->x[i].resp);
    }
    free(s->x);
    if (s->multi != NULL)
        curl_multi_cleanup(s->multi);
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

int zq_sender_start(zq_sender *s, const char *url, const char *content_type,
                    const char *const *headers, int nheaders, const char *body, size_t len,
                    const zq_netguard *guard, void *ctx)
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
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
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
    curl_easy_setopt(x->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)RESP_MAX);
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETDATA, x);
    if (guard != NULL) {
        /* A pooled connection was checked (or not) for whoever opened it:
         * a guarded transfer opens its own, and no proxy from the
         * environment stands between the check and the peer. */
        curl_easy_setopt(x->easy, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(x->easy, CURLOPT_PROXY, "");
    }
    if (curl_multi_add_handle(s->multi, x->easy) != CURLM_OK)
        return -ZQ_ENOMEM;
    x->busy = true;
    s->busy++;
    return 0;
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

        if (!x->busy || !x->done)
            continue;
        memset(out, 0, sizeof(*out));
        out->ctx = x->ctx;
        memcpy(s->body_out, x->resp, x->len + 1);
        out->body = s->body_out;
        out->len = x->len;
        out->retry_after = x->have_retry_after ? x->retry_after : NULL;
        if (x->refused && x->code != CURLE_OK) {
            /* Refused every address (one allowed would have answered). */
            out->refused = true;
            transport_error(out->error, sizeof(out->error), x->refused_why);
        } else if (x->too_big) {
            int rc =
                zq_fmt(out->error, sizeof(out->error), "response larger than %d bytes", RESP_MAX);

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
        s->busy--;
        return true;
    }
    return false;
}

void zq_sender_abort_all(zq_sender *s)
{
    for (int i = 0; i < s->n; i++) {
        xfer *x = &s->x[i];

        if (!x->busy || x->done)
            continue;
        curl_multi_remove_handle(s->multi, x->easy);
        x->code = CURLE_ABORTED_BY_CALLBACK;
        memcpy(x->errbuf, "aborted", sizeof("aborted"));

        x->done = true;
    }
}

/* Tests of bot/sender.c's address guard with connection reuse: a guarded
 * host's connections are reused (pinned to the address the guard passed),
 * a guarded transfer never reuses a connection an unguarded one opened,
 * and a name rebound to a refused address (DNS rebinding) never reaches
 * it. Runs a small keep-alive HTTP server on 127.0.0.1 and 127.0.0.2 (the
 * same port) that counts connections and requests per address; names are
 * pointed at either with curl's resolve entries (zq_sender_resolve). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bot/bot.h"
#include "zhuqi/buf.h"

#define MAXC 32

/* The server: listening sockets on A (127.0.0.1) and B (127.0.0.2). */
static int lfd[2] = {-1, -1};
static int port;
static int stop_pipe[2] = {-1, -1};
static pthread_t thr;
static atomic_int accepts[2], requests[2];

static void *serve(void *arg)
{
    struct pollfd pf[3 + MAXC];
    int side[MAXC];
    char buf[MAXC][4096];
    size_t len[MAXC];
    int nc = 0;
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    (void)arg;
    for (;;) {
        pf[0] = (struct pollfd){.fd = stop_pipe[0], .events = POLLIN};
        pf[1] = (struct pollfd){.fd = lfd[0], .events = POLLIN};
        pf[2] = (struct pollfd){.fd = lfd[1], .events = POLLIN};
        for (int i = 0; i < nc; i++)
            pf[3 + i] = (struct pollfd){.fd = pf[3 + i].fd, .events = POLLIN};
        if (poll(pf, (nfds_t)(3 + nc), -1) < 0 || pf[0].revents != 0)
            break;
        for (int k = 0; k < 2; k++) {
            int c;

            if ((pf[1 + k].revents & POLLIN) == 0 || (c = accept(lfd[k], NULL, NULL)) < 0)
                continue;
            atomic_fetch_add(&accepts[k], 1);
            if (nc == MAXC) {
                close(c);
                continue;
            }
            pf[3 + nc].fd = c;
            side[nc] = k;
            len[nc] = 0;
            nc++;
        }
        for (int i = 0; i < nc; i++) {
            ssize_t r;
            char *end;

            if (pf[3 + i].revents == 0)
                continue;
            r = read(pf[3 + i].fd, buf[i] + len[i], sizeof(buf[i]) - 1 - len[i]);
            if (r <= 0) {
                close(pf[3 + i].fd);
                nc--;
                pf[3 + i] = pf[3 + nc];
                side[i] = side[nc];
                len[i] = len[nc];
                memcpy(buf[i], buf[nc], len[nc]);
                i--;
                continue;
            }
            len[i] += (size_t)r;
            buf[i][len[i]] = '\0';
            /* GETs only: a request ends at its blank line. */
            while ((end = strstr(buf[i], "\r\n\r\n")) != NULL) {
                size_t used = (size_t)(end + 4 - buf[i]);

                atomic_fetch_add(&requests[side[i]], 1);
                if (write(pf[3 + i].fd, ok, sizeof(ok) - 1) < 0)
                    break;
                memmove(buf[i], buf[i] + used, len[i] - used + 1);
                len[i] -= used;
            }
        }
    }
    for (int i = 0; i < nc; i++)
        close(pf[3 + i].fd);
    return NULL;
}

static int listen_on(const char *ip, int p)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || inet_pton(AF_INET, ip, &a.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    port = ntohs(a.sin_port);
    return fd;
}

static int setup(void **state)
{
    (void)state;
    for (int tries = 0; tries < 20 && lfd[1] < 0; tries++) {
        if (lfd[0] >= 0)
            close(lfd[0]);
        lfd[0] = listen_on("127.0.0.1", 0);
        if (lfd[0] >= 0)
            lfd[1] = listen_on("127.0.0.2", port);
    }
    if (lfd[1] < 0 || pipe(stop_pipe) < 0 || pthread_create(&thr, NULL, serve, NULL) != 0)
        return -1;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (write(stop_pipe[1], "x", 1) == 1)
        pthread_join(thr, NULL);
    close(lfd[0]);
    close(lfd[1]);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    curl_global_cleanup();
    return 0;
}

/* One GET through s; returns the outcome (body dropped). */
static zq_sent get(zq_sender *s, const char *url, const zq_netguard *g)
{
    zq_sent out;
    bool ready = false;
    int64_t until = zq_mono_ms() + 10000;

    assert_int_equal(zq_sender_start(s, url, "", NULL, 0, NULL, 0, g, NULL), 0);
    while (!zq_sender_next(s, &out)) {
        assert_true(zq_mono_ms() < until);
        assert_int_equal(zq_sender_poll(s, 100, -1, &ready), 0);
    }
    out.body = NULL;
    return out;
}

static void url_of(char *out, size_t outsz, const char *host)
{
    assert_int_equal(zq_fmt(out, outsz, "http://%s:%d/hook", host, port), 0);
}

/* Points host (at the server's port) at addr, or forgets it (addr NULL). */
static void resolve(zq_sender *s, const char *host, const char *addr)
{
    char e[128];

    if (addr != NULL)
        assert_int_equal(zq_fmt(e, sizeof(e), "%s:%d:%s", host, port, addr), 0);
    else
        assert_int_equal(zq_fmt(e, sizeof(e), "-%s:%d", host, port), 0);
    assert_int_equal(zq_sender_resolve(s, e), 0);
}

static void reset_counts(void)
{
    for (int k = 0; k < 2; k++) {
        atomic_store(&accepts[k], 0);
        atomic_store(&requests[k], 0);
    }
}

/* Guarded transfers to one host reuse their connections: the fan-out to
 * generic targets used to open one per message. */
static void test_guarded_reuse(void **state)
{
    zq_sender *s = zq_sender_new(4, 2000, 5000);
    zq_netguard g;
    char spec[64], why[128], url[128];

    (void)state;
    reset_counts();
    assert_non_null(s);
    assert_int_equal(zq_fmt(spec, sizeof(spec), "127.0.0.1:%d", port), 0);
    assert_int_equal(zq_netguard_parse(spec, &g, why, sizeof(why)), 0);
    resolve(s, "pin.invalid", "127.0.0.1");
    url_of(url, sizeof(url), "pin.invalid");
    for (int i = 0; i < 10; i++) {
        zq_sent r = get(s, url, &g);

        assert_string_equal(r.error, "");
        assert_int_equal(r.status, 200);
    }
    assert_int_equal(atomic_load(&requests[0]), 10);
    /* The first transfer connects afresh and learns the pin; the second
     * opens the pinned connection, which the rest reuse. */
    assert_in_range(atomic_load(&accepts[0]), 1, 2);
    zq_sender_free(s);
}

/* A connection an unguarded transfer opened to a refused address is not
 * reused by a guarded transfer to the same URL. */
static void test_unguarded_not_reused(void **state)
{
    zq_sender *s = zq_sender_new(4, 2000, 5000);
    zq_netguard g = {.n = 0};
    char url[128];
    zq_sent r;

    (void)state;
    reset_counts();
    assert_non_null(s);
    url_of(url, sizeof(url), "127.0.0.1");
    r = get(s, url, NULL);
    assert_int_equal(r.status, 200);
    r = get(s, url, &g);
    assert_true(r.refused);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.error, "loopback"));
    assert_int_equal(atomic_load(&requests[0]), 1);
    assert_int_equal(atomic_load(&accepts[0]), 1);
    zq_sender_free(s);
}

/* DNS rebinding: a name that pointed at an allowed address (A) and then
 * at a refused one (B) never reaches B from a guarded transfer: while the
 * pin lives it goes to A, after it the fresh resolution meets the check. */
static void test_rebinding(void **state)
{
    zq_sender *s = zq_sender_new(4, 2000, 5000);
    zq_netguard g;
    char spec[64], why[128], url[128];
    const char *h = "rebind.invalid";
    zq_sent r;

    (void)state;
    reset_counts();
    assert_non_null(s);
    assert_int_equal(zq_fmt(spec, sizeof(spec), "127.0.0.1:%d", port), 0);
    assert_int_equal(zq_netguard_parse(spec, &g, why, sizeof(why)), 0);
    url_of(url, sizeof(url), h);

    /* The name points at B: an unguarded transfer goes there (and leaves
     * its connection in the pool); a guarded one is refused. */
    resolve(s, h, "127.0.0.2");
    r = get(s, url, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(atomic_load(&requests[1]), 1);
    r = get(s, url, &g);
    assert_true(r.refused);

    /* It points at A: guarded transfers work and pin A. */
    resolve(s, h, NULL);
    resolve(s, h, "127.0.0.1");
    for (int i = 0; i < 3; i++) {
        r = get(s, url, &g);
        assert_int_equal(r.status, 200);
    }
    assert_int_equal(atomic_load(&requests[0]), 3);

    /* Rebound to B: the pin holds, the guarded transfer goes to A and not
     * over the unguarded connection to B. */
    resolve(s, h, NULL);
    resolve(s, h, "127.0.0.2");
    r = get(s, url, &g);
    assert_int_equal(r.status, 200);
    assert_int_equal(atomic_load(&requests[0]), 4);

    /* The pin expired: resolved afresh to B, refused at connect. */
    zq_sender_set_pin_ttl(s, 0);
    r = get(s, url, &g);
    assert_true(r.refused);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.error, "127.0.0.2"));

    /* B only ever saw the unguarded transfer. */
    assert_int_equal(atomic_load(&requests[1]), 1);
    assert_int_equal(atomic_load(&accepts[1]), 1);
    zq_sender_free(s);
}

/* A reload that drops the pinned address from the allow-list stops reuse
 * at once: the pin is checked against the guard on every transfer. */
static void test_guard_change(void **state)
{
    zq_sender *s = zq_sender_new(4, 2000, 5000);
    zq_netguard g;
    char spec[64], why[128], url[128];
    zq_sent r;

    (void)state;
    reset_counts();
    assert_non_null(s);
    assert_int_equal(zq_fmt(spec, sizeof(spec), "127.0.0.1:%d", port), 0);
    assert_int_equal(zq_netguard_parse(spec, &g, why, sizeof(why)), 0);
    resolve(s, "reload.invalid", "127.0.0.1");
    url_of(url, sizeof(url), "reload.invalid");
    for (int i = 0; i < 3; i++) {
        r = get(s, url, &g);
        assert_int_equal(r.status, 200);
    }
    assert_int_equal(zq_netguard_parse("", &g, why, sizeof(why)), 0);
    r = get(s, url, &g);
    assert_true(r.refused);
    assert_int_equal(atomic_load(&requests[0]), 3);
    zq_sender_free(s);
}

/* Waits for the next result of s. */
static zq_sent next(zq_sender *s)
{
    zq_sent out;
    bool ready = false;
    int64_t until = zq_mono_ms() + 10000;

    while (!zq_sender_next(s, &out)) {
        assert_true(zq_mono_ms() < until);
        assert_int_equal(zq_sender_poll(s, 100, -1, &ready), 0);
    }
    return out;
}

/* Downloads into a file (chat media): the limit is checked while
 * writing, an abort hands the transfer back, and the next transfer in
 * the slot answers into memory again. */
static void test_get_file(void **state)
{
    zq_sender *s = zq_sender_new(1, 2000, 5000);
    char url[128], got[8];
    FILE *f = tmpfile();
    zq_sent r;
    int ctx = 0;

    (void)state;
    assert_non_null(s);
    assert_non_null(f);
    url_of(url, sizeof(url), "127.0.0.1");
    assert_int_equal(zq_sender_get_file(s, url, f, 2, 5000, &ctx), 0);
    r = next(s);
    assert_ptr_equal(r.ctx, &ctx);
    assert_int_equal(r.status, 200);
    assert_false(r.too_big);
    assert_int_equal(r.len, 0);
    rewind(f);
    assert_int_equal(fread(got, 1, sizeof(got), f), 2);
    assert_memory_equal(got, "ok", 2);

    /* One byte allowed: refused while writing, nothing past the limit. */
    assert_int_equal(ftruncate(fileno(f), 0), 0);
    rewind(f);
    assert_int_equal(zq_sender_get_file(s, url, f, 1, 5000, &ctx), 0);
    r = next(s);
    assert_true(r.too_big);
    assert_int_equal(r.status, 0);
    fflush(f);
    assert_true(ftell(f) <= 1);

    /* Aborted by its ctx (another ctx: untouched). */
    assert_int_equal(zq_sender_get_file(s, url, f, 100, 5000, &ctx), 0);
    zq_sender_abort(s, NULL);
    assert_int_equal(zq_sender_busy(s), 1);
    zq_sender_abort(s, &ctx);
    r = next(s);
    assert_string_equal(r.error, "aborted");

    r = get(s, url, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 2);
    fclose(f);
    zq_sender_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guarded_reuse), cmocka_unit_test(test_unguarded_not_reused),
        cmocka_unit_test(test_rebinding),     cmocka_unit_test(test_guard_change),
        cmocka_unit_test(test_get_file),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

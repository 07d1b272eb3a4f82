/* The FastCGI process: worker threads around FCGX_Accept_r, each with its
 * own request and Redis connection; the main thread waits for signals.
 *
 * Shutdown: libfcgi's workers sit in accept() or, on a connection nginx
 * keeps alive, in read(). SIGTERM is taken by the main thread (sigwait);
 * it shuts the listen socket down, which makes every accept() fail, then
 * interrupts idle workers with SIGUSR2 (installed without SA_RESTART, and
 * requests are initialised with FCGI_FAIL_ACCEPT_ON_INTR) so that reads on
 * kept connections return. Busy workers finish their request first. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcgiapp.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "zhuqi/app.h"
#include "zhuqi/buf.h"
#include "http.h"
#include "zhuqi/log.h"
#include "metrics.h"
#include "zhuqi/store.h"

/* A configuration shared by reference: the server holds one reference to
 * the current one, each request one to the one it started with. */
typedef struct cfg_ref {
    zq_app *app; /* owned */
    int refs;    /* protected by cfg_lock */
    unsigned gen;
} cfg_ref;

enum { W_STARTING, W_IDLE, W_BUSY, W_DONE };

typedef struct worker {
    pthread_t tid;
    int idx;
    _Atomic int state;
    struct server *srv;
} worker;

typedef struct server {
    int listen_fd;
    const zq_route *routes;
    size_t nroutes;
    worker *workers;
    int nworkers;
    _Atomic int stopping;
} server;

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static cfg_ref *cfg_current; /* protected by cfg_lock */

static cfg_ref *cfg_acquire(void)
{
    cfg_ref *r;

    pthread_mutex_lock(&cfg_lock);
    r = cfg_current;
    r->refs++;
    pthread_mutex_unlock(&cfg_lock);
    return r;
}

static void cfg_release(cfg_ref *r)
{
    int last;

    pthread_mutex_lock(&cfg_lock);
    last = --r->refs == 0;
    pthread_mutex_unlock(&cfg_lock);
    if (last) {
        zq_app_free(r->app);
        free(r);
    }
}

/* Installs app as the current state (takes ownership). */
static int cfg_install(zq_app *app)
{
    cfg_ref *r = calloc(1, sizeof(*r)), *old;

    if (r == NULL) {
        zq_app_free(app);
        return -ZQ_ENOMEM;
    }
    r->app = app;
    r->refs = 1;
    pthread_mutex_lock(&cfg_lock);
    old = cfg_current;
    r->gen = old ? old->gen + 1 : 1;
    cfg_current = r;
    pthread_mutex_unlock(&cfg_lock);
    if (old != NULL)
        cfg_release(old);
    return 0;
}

/* Mode 0660 and, when group is set, that group: only us and nginx (its
 * group) may connect, whatever the directory's permissions. Returns 0 or
 * a negative code with err. */
static int socket_access(const char *path, const char *group, zq_err *err)
{
    struct group gr, *found = NULL;
    char buf[4096];
    int rc;

    if (group != NULL && group[0] != '\0') {
        rc = getgrnam_r(group, &gr, buf, sizeof(buf), &found);
        if (found == NULL)
            return zq_err_set(err, ZQ_EINVAL, "[server] socket_group %s: %s", group,
                              rc != 0 ? strerror(rc) : "no such group");
        if (chown(path, (uid_t)-1, gr.gr_gid) < 0)
            return zq_err_set(err, ZQ_EIO, "unix:%s: chown to group %s: %s", path, group,
                              strerror(errno));
    }
    if (chmod(path, 0660) < 0)
        return zq_err_set(err, ZQ_EIO, "unix:%s: chmod: %s", path, strerror(errno));
    return 0;
}

static int listen_unix(const char *path, int backlog, const char *group, zq_err *err)
{
    struct sockaddr_un sa;
    int fd, probe, rc;

    if (strlen(path) >= sizeof(sa.sun_path))
        return zq_err_set(err, ZQ_EINVAL, "unix socket path too long: %s", path);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));

    /* Someone answering on the path is a live instance: never steal its
     * socket (libfcgi's FCGX_OpenSocket would unlink it silently). */
    probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return zq_err_set(err, ZQ_EIO, "socket: %s", strerror(errno));
    if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        close(probe);
        return zq_err_set(err, ZQ_EBUSY,
                          "unix:%s is held by a live instance; stop it first or listen elsewhere",
                          path);
    }
    if (errno == ECONNREFUSED) {
        ZQ_INFO("event=stale_socket_removed path=%s", path);
        unlink(path);
    } else if (errno != ENOENT) {
        int e = errno;
        close(probe);
        return zq_err_set(err, ZQ_EIO, "unix:%s: cannot probe: %s", path, strerror(e));
    }
    close(probe);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return zq_err_set(err, ZQ_EIO, "socket: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return zq_err_set(err, e == EADDRINUSE ? ZQ_EBUSY : ZQ_EIO, "unix:%s: bind: %s", path,
                          strerror(e));
    }
    rc = socket_access(path, group, err);
    if (rc < 0) {
        close(fd);
        unlink(path);
        return rc;
    }
    if (listen(fd, backlog) < 0) {
        int e = errno;
        close(fd);
        return zq_err_set(err, ZQ_EIO, "unix:%s: listen: %s", path, strerror(e));
    }
    return fd;
}

static int listen_tcp(const char *spec, int backlog, zq_err *err)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    struct addrinfo hints, *ai = NULL;
    int fd, one = 1, rc;

    if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
        return zq_err_set(err, ZQ_EINVAL, "bad listen address: %s", spec);
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
    if (rc != 0)
        return zq_err_set(err, ZQ_EINVAL, "bad listen address %s: %s", spec, gai_strerror(rc));
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return zq_err_set(err, ZQ_EIO, "socket: %s", strerror(errno));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
        int e = errno;
        freeaddrinfo(ai);
        close(fd);
        if (e == EADDRINUSE)
            return zq_err_set(err, ZQ_EBUSY, "%s is held by a live instance (address in use)",
                              spec);
        return zq_err_set(err, ZQ_EIO, "%s: bind/listen: %s", spec, strerror(e));
    }
    freeaddrinfo(ai);
    return fd;
}

int zq_server_listen(const char *spec, int backlog, const char *group, zq_err *err)
{
    if (strncmp(spec, "unix:", 5) == 0)
        return listen_unix(spec + 5, backlog, group, err);
    if (strncmp(spec, "fd:", 3) == 0) {
        long long fd;
        int acc = 0;
        socklen_t len = sizeof(acc);
        if (zq_parse_ll(spec + 3, strlen(spec + 3), 0, 65535, &fd) < 0)
            return zq_err_set(err, ZQ_EINVAL, "bad listen descriptor: %s", spec);
        if (getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 || !acc)
            return zq_err_set(err, ZQ_EINVAL, "%s is not a listening socket", spec);
        return (int)fd;
    }
    return listen_tcp(spec, backlog, err);
}

/* Reads the whole body (up to max) into the request's pool. Returns 0,
 * -ZQ_ETOOBIG, -ZQ_EINVAL (bad Content-Length) or -ZQ_EIO (short body).
 * A body over max is read and thrown away, up to a bound, so that nginx
 * can finish sending it: closing on a half-sent body makes nginx count
 * the upstream as failed. */
static int read_body(zq_req *req, FCGX_Request *fr, size_t max)
{
    const char *cl = zq_req_param(req, "CONTENT_LENGTH");
    long long len = 0;
    char *body;
    size_t got = 0;

    req->body = "";
    req->body_len = 0;
    if (cl == NULL || *cl == '\0')
        return 0;
    if (zq_parse_ll(cl, strlen(cl), 0, (long long)1 << 40, &len) < 0)
        return -ZQ_EINVAL;
    if ((unsigned long long)len > max) {
        char sink[16384];
        long long left = len;
        int n;

        while (left > 0 && len <= 64LL * 1024 * 1024 &&
               (n = FCGX_GetStr(
                    sink, (int)(left < (long long)sizeof(sink) ? left : (long long)sizeof(sink)),
                    fr->in)) > 0)
            left -= n;
        if (left > 0)
            fr->keepConnection = 0; /* records left unread must not be parsed */
        return -ZQ_ETOOBIG;
    }
    body = zq_pool_alloc(&req->pool, (size_t)len + 1);
    if (body == NULL)
        return -ZQ_ENOMEM;
    while (got < (size_t)len) {
        int n = FCGX_GetStr(body + got, (int)((size_t)len - got), fr->in);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != (size_t)len)
        return -ZQ_EIO;
    body[got] = '\0';
    req->body = body;
    req->body_len = got;
    return 0;
}

static double elapsed_s(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* zq_req's stream_fn: writes straight to the FastCGI output stream. */
static int stream_out(void *ctx, const void *data, size_t len)
{
    FCGX_Stream *out = ctx;
    const char *p = data;

    while (len > 0) {
        int n = len > (1u << 20) ? 1 << 20 : (int)len;
        if (FCGX_PutStr(p, n, out) != n)
            return -ZQ_EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* What a worker keeps from one request to the next, so that a request
 * does not pay malloc and free for the same memory again (with glibc's
 * per-thread caches off, each pair costs a few hundred instructions). */
typedef struct worker_mem {
    zq_buf out;     /* the serialized response */
    zq_pool pool;   /* lent to the request: its arena */
    zq_buf headers; /* lent: the response's extra headers */
    zq_buf body;    /* lent: the response body */
} worker_mem;

/* A buffer that grew past this for one large answer is given back. */
#define WORKER_KEEP_BYTES ((size_t)16 * 1024)

static void keep_buf(zq_buf *b)
{
    if (b->cap > WORKER_KEEP_BYTES)
        zq_buf_free(b);
    else
        zq_buf_reset(b);
}

/* Lends the worker's arena and buffers to a request whose own are still
 * empty after zq_req_init (it allocates only for a generated request id,
 * a path decoded from REQUEST_URI or an early error answer). */
static void lend(zq_req *req, worker_mem *mem)
{
    if (req->pool.head == NULL) {
        req->pool = mem->pool;
        mem->pool.head = NULL;
    }
    if (req->headers.data == NULL) {
        req->headers = mem->headers;
        mem->headers = (zq_buf){0};
    }
    if (req->body_out.data == NULL) {
        req->body_out = mem->body;
        mem->body = (zq_buf){0};
    }
}

/* Takes them back before zq_req_free (which then frees only what the
 * request did not borrow) and empties them for the next request. The
 * arena keeps one 4 KiB chunk; a buffer keeps at most 16 KiB (64 threads
 * hold at most ~3 MiB so). */
static void take_back(zq_req *req, worker_mem *mem)
{
    if (mem->pool.head == NULL) {
        mem->pool = req->pool;
        req->pool.head = NULL;
    }
    if (mem->headers.data == NULL) {
        mem->headers = req->headers;
        req->headers = (zq_buf){0};
    }
    if (mem->body.data == NULL) {
        mem->body = req->body_out;
        req->body_out = (zq_buf){0};
    }
}

static void clean_lent(worker_mem *mem)
{
    zq_pool_reset(&mem->pool);
    keep_buf(&mem->headers);
    keep_buf(&mem->body);
}

static void handle(server *srv, FCGX_Request *fr, zq_store **store, unsigned *gen, worker_mem *mem)
{
    struct timespec t0;
    cfg_ref *cr = cfg_acquire();
    zq_req req;
    zq_buf *out = &mem->out;
    const char *body; /* a large body, sent after out from where it is */
    size_t body_len;
    double secs;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    zq_metrics_begin();
    if (*gen != cr->gen) {
        zq_store_reconfigure(*store, &cr->app->cfg.redis);
        *gen = cr->gen;
    }
    rc = zq_req_init(&req, fr->envp, &cr->app->cfg, *store);
    lend(&req, mem);
    req.app = cr->app;
    req.stream_fn = stream_out;
    req.stream_ctx = fr->out;
    zq_log_set_request_id(req.request_id);
    if (rc == 0) {
        rc = read_body(&req, fr, cr->app->cfg.server.max_body);
        if (rc == -ZQ_ETOOBIG) {
            zq_resp_error(&req, 413, "too_large", "提交的内容过大。");
        } else if (rc == -ZQ_EINVAL) {
            zq_resp_error(&req, 400, "bad_request", "请求格式不正确。");
            fr->keepConnection = 0;
        } else if (rc < 0) {
            zq_resp_error(&req, 400, "incomplete_body", "请求内容不完整。");
            fr->keepConnection = 0;
        } else {
            zq_router_dispatch(srv->routes, srv->nroutes, &req);
        }
    }
    zq_buf_reset(out);
    if (zq_resp_serialize_parts(&req, out, &body, &body_len) == 0 && out->len > 0) {
        FCGX_PutStr(out->data, (int)out->len, fr->out);
        if (body_len > 0)
            FCGX_PutStr(body, (int)body_len, fr->out);
    }
    secs = elapsed_s(&t0);
    zq_metrics_end(req.route_index, req.status, secs);
    ZQ_INFO("event=request method=%s path=\"%.200s\" status=%d ms=%.2f in=%zu out=%zu", req.method,
            req.path, req.status, secs * 1000.0, req.body_len,
            req.streaming ? req.stream_bytes : req.body_out.len);
    zq_log_set_request_id(NULL);
    keep_buf(out);
    /* The kept JSON values' list lives in the arena: still there while
     * zq_req_free releases them, emptied only after. */
    take_back(&req, mem);
    zq_req_free(&req);
    clean_lent(mem);
    cfg_release(cr);
}

static void on_wake(int sig)
{
    (void)sig; /* only there to interrupt a blocking read or accept */
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    server *srv = w->srv;
    FCGX_Request fr;
    worker_mem mem = {0};
    zq_store *store;
    unsigned gen;
    cfg_ref *cr;
    sigset_t set;
    int backoff_ms = 10;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    cr = cfg_acquire();
    store = zq_store_new(&cr->app->cfg.redis);
    gen = cr->gen;
    cfg_release(cr);
    if (store == NULL) {
        ZQ_ERROR("event=worker_failed worker=%d err=\"out of memory\"", w->idx);
        atomic_store(&w->state, W_DONE);
        return NULL;
    }
    FCGX_InitRequest(&fr, srv->listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);

    while (!atomic_load(&srv->stopping)) {
        int rc;

        atomic_store(&w->state, W_IDLE);
        rc = FCGX_Accept_r(&fr);
        atomic_store(&w->state, W_BUSY);
        if (rc < 0) {
            if (atomic_load(&srv->stopping))
                break;
            /* EMFILE and friends: back off and try again, never die. */
            ZQ_WARN("event=accept_failed worker=%d err=\"%s\" retry_ms=%d", w->idx,
                    strerror(-rc > 0 ? -rc : EIO), backoff_ms);
            usleep((useconds_t)backoff_ms * 1000);
            if (backoff_ms < 1000)
                backoff_ms *= 2;
            continue;
        }
        backoff_ms = 10;
        handle(srv, &fr, &store, &gen, &mem);
        FCGX_Finish_r(&fr);
    }
    FCGX_Free(&fr, 1);
    zq_buf_free(&mem.out);
    zq_pool_free(&mem.pool);
    zq_buf_free(&mem.headers);
    zq_buf_free(&mem.body);
    zq_store_free(store);
    atomic_store(&w->state, W_DONE);
    return NULL;
}

static void reload(const char *path)
{
    zq_config *cfg = malloc(sizeof(*cfg));
    zq_log_level level;
    zq_app *app = NULL;
    zq_err err = {0};

    if (cfg == NULL)
        return;
    if (zq_config_load(path, cfg, &err) < 0 ||
        zq_app_load(path, cfg, ZQ_APP_VERIFY, &app, &err) < 0) {
        ZQ_ERROR("event=reload ok=0 err=\"%s\"", err.msg);
    } else {
        cfg_ref *cr = cfg_acquire();
        if (strcmp(cr->app->cfg.server.listen, cfg->server.listen) != 0 ||
            cr->app->cfg.server.threads != cfg->server.threads)
            ZQ_WARN("event=reload_partial msg=\"listen and threads take effect on restart\"");
        cfg_release(cr);
        if (zq_log_level_parse(cfg->log.level, &level) == 0)
            zq_log_set_level(level);
        if (cfg_install(app) == 0)
            ZQ_INFO("event=reload ok=1 path=%s", path);
    }
    free(cfg);
}

int zq_server_run(const char *config_path, zq_app *app, int listen_fd, const zq_route *routes,
                  size_t nroutes)
{
    const zq_config *cfg = &app->cfg;
    server srv = {0};
    struct sigaction sa;
    sigset_t set;
    int i, sig, started = 0, exit_code = 0;
    int64_t deadline;

    if (cfg_install(app) < 0)
        return 1;
    srv.listen_fd = listen_fd;
    srv.routes = routes;
    srv.nroutes = nroutes;
    srv.nworkers = cfg->server.threads;
    srv.workers = calloc((size_t)srv.nworkers, sizeof(worker));
    if (srv.workers == NULL)
        return 1;

    /* Signals: the main thread takes TERM, INT and HUP synchronously; the
     * workers only ever see SIGUSR2, our wake-up call. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_wake;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: interrupted calls must fail */
    sigaction(SIGUSR2, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    for (i = 0; i < srv.nworkers; i++) {
        srv.workers[i].idx = i;
        srv.workers[i].srv = &srv;
        if (pthread_create(&srv.workers[i].tid, NULL, worker_main, &srv.workers[i]) != 0) {
            ZQ_ERROR("event=thread_create_failed worker=%d", i);
            break;
        }
        started++;
    }
    if (started == 0) {
        exit_code = 1;
        goto out;
    }
    ZQ_INFO("event=started listen=%s threads=%d pid=%ld", cfg->server.listen, started,
            (long)getpid());

    sigdelset(&set, SIGUSR2);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(config_path);
            continue;
        }
        break;
    }

    ZQ_INFO("event=stopping signal=%s", sig == SIGINT ? "INT" : "TERM");
    atomic_store(&srv.stopping, 1);
    shutdown(listen_fd, SHUT_RDWR);
    {
        cfg_ref *cr = cfg_acquire();
        deadline = zq_mono_ms() + cr->app->cfg.server.shutdown_ms;
        cfg_release(cr);
    }
    for (;;) {
        int live = 0;
        for (i = 0; i < started; i++) {
            int st = atomic_load(&srv.workers[i].state);
            if (st == W_DONE)
                continue;
            live++;
            if (st == W_IDLE)
                pthread_kill(srv.workers[i].tid, SIGUSR2);
        }
        if (live == 0)
            break;
        if (zq_mono_ms() > deadline) {
            ZQ_WARN("event=shutdown_timeout busy_workers=%d", live);
            exit_code = 1;
            break;
        }
        usleep(10 * 1000);
    }
    if (exit_code == 0)
        for (i = 0; i < started; i++)
            pthread_join(srv.workers[i].tid, NULL);
out:
    close(listen_fd);
    /* Workers still running after a shutdown timeout use srv.workers and
     * the configuration: those are left to the process's exit. */
    if (exit_code == 0 || started == 0)
        free(srv.workers);
    if (exit_code == 0) {
        pthread_mutex_lock(&cfg_lock);
        cfg_ref *last = cfg_current;
        cfg_current = NULL;
        pthread_mutex_unlock(&cfg_lock);
        if (last != NULL)
            cfg_release(last);
    }
    ZQ_INFO("event=stopped code=%d", exit_code);
    return exit_code;
}

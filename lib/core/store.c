/* The Redis connection of one thread: direct (TCP or unix socket) or through
 * Sentinel, with timeouts, reconnect with back-off and a process-wide error
 * counter. See include/zhuqi/store.h for the contract. */
#include "zhuqi/store.h"

#include <errno.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "zhuqi/buf.h"
#include "zhuqi/log.h"

/* Used when the configuration leaves a value at 0 or below, so that a
 * hand-built config can never mean "block forever". */
#define DEFAULT_CONNECT_TIMEOUT_MS 1000
#define DEFAULT_COMMAND_TIMEOUT_MS 2000
#define DEFAULT_BACKOFF_MIN_MS 100
#define DEFAULT_BACKOFF_MAX_MS 5000
#define DEFAULT_WAIT_TIMEOUT_MS 500
/* How long an automatic replica count (wait_replicas = -1) is trusted. */
#define REPL_RECHECK_MS 10000

#define ADDR_MAX 300

struct zq_store {
    zq_redis_config cfg; /* as given, sanitised; compared on reconfigure */
    /* cfg.sentinels in asking order: the one that last answered first. */
    char sentinels[ZQ_MAX_SENTINELS][sizeof(((zq_redis_config *)0)->sentinels[0])];
    redisContext *ctx;        /* NULL when not connected */
    char peer[ADDR_MAX];      /* "host:port" / "unix:/path" / "-" */
    char last_peer[ADDR_MAX]; /* the node we were connected to before */
    int64_t retry_at;         /* mono ms: no connect attempt before this */
    int backoff_ms;           /* current back-off; 0 after a good connect */
    int64_t down_since;       /* mono ms when this outage began; 0 when none */
    char last_err[256];       /* why the last connect failed */
    uint64_t rng;             /* xorshift state for the jitter */
    int pending;              /* commands appended, replies not yet read */
    bool pipe_failed;         /* an append failed: read_replies must fail */
    char pipe_err[256];
    int repl_auto;        /* replicas WAIT asks for when automatic; -1: look up */
    int64_t repl_checked; /* mono ms of that look-up */
    /* The RESP of a script call, kept between calls: a chat turn's save
     * is a kilobyte or two, and allocating and freeing it each time cost
     * glibc a consolidation of its fast bins. Freed when it grew past
     * CMD_KEEP_MAX. */
    zq_buf cmd;
};

#define CMD_KEEP_MAX 16384

/* Connection-level failures of every store in the process. The only state
 * threads share; relaxed ordering is enough for a metric. */
static _Atomic uint64_t error_count;

static void count_error(void)
{
    atomic_fetch_add_explicit(&error_count, 1, memory_order_relaxed);
}

uint64_t zq_store_error_count(void)
{
    return atomic_load_explicit(&error_count, memory_order_relaxed);
}

/* snprintf for messages, where cutting a long one short is intended. */
static void set_msg(char *dst, size_t dstsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_msg(char *dst, size_t dstsz, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(dst, dstsz, fmt, ap) < 0)
        dst[0] = '\0';
    va_end(ap);
}

static struct timeval ms_to_tv(int ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    return tv;
}

/* Forces NUL terminators and replaces unusable numbers with defaults. */
static void sanitise(zq_redis_config *c)
{
    c->address[sizeof(c->address) - 1] = '\0';
    if (c->nsentinels < 0)
        c->nsentinels = 0;
    if (c->nsentinels > ZQ_MAX_SENTINELS)
        c->nsentinels = ZQ_MAX_SENTINELS;
    for (int i = 0; i < ZQ_MAX_SENTINELS; i++)
        c->sentinels[i][sizeof(c->sentinels[i]) - 1] = '\0';
    c->master_name[sizeof(c->master_name) - 1] = '\0';
    c->password[sizeof(c->password) - 1] = '\0';
    c->prefix[sizeof(c->prefix) - 1] = '\0';
    if (c->db < 0)
        c->db = 0;
    if (c->connect_timeout_ms <= 0)
        c->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    if (c->command_timeout_ms <= 0)
        c->command_timeout_ms = DEFAULT_COMMAND_TIMEOUT_MS;
    if (c->backoff_min_ms <= 0)
        c->backoff_min_ms = DEFAULT_BACKOFF_MIN_MS;
    if (c->backoff_max_ms <= 0)
        c->backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
    if (c->backoff_max_ms < c->backoff_min_ms)
        c->backoff_max_ms = c->backoff_min_ms;
    /* Doubling must not overflow an int. */
    if (c->backoff_max_ms > 24 * 3600 * 1000)
        c->backoff_max_ms = 24 * 3600 * 1000;
    if (c->backoff_min_ms > c->backoff_max_ms)
        c->backoff_min_ms = c->backoff_max_ms;
    if (c->wait_replicas < -1)
        c->wait_replicas = -1;
    if (c->wait_timeout_ms <= 0)
        c->wait_timeout_ms = DEFAULT_WAIT_TIMEOUT_MS;
}

/* True when the two configurations lead to a different node or session. */
static bool target_changed(const zq_redis_config *a, const zq_redis_config *b)
{
    if (strcmp(a->address, b->address) != 0 || a->nsentinels != b->nsentinels ||
        strcmp(a->master_name, b->master_name) != 0 || strcmp(a->password, b->password) != 0 ||
        a->db != b->db)
        return true;
    for (int i = 0; i < a->nsentinels; i++)
        if (strcmp(a->sentinels[i], b->sentinels[i]) != 0)
            return true;
    return false;
}

static void reset_sentinel_order(zq_store *st)
{
    memcpy(st->sentinels, st->cfg.sentinels, sizeof(st->sentinels));
}

/* Moves sentinel i to the front, keeping the others' order, as the Sentinel
 * client guidelines suggest: the one that answered is asked first next time. */
static void promote_sentinel(zq_store *st, int i)
{
    char tmp[sizeof(st->sentinels[0])];

    if (i <= 0 || i >= ZQ_MAX_SENTINELS)
        return;
    memcpy(tmp, st->sentinels[i], sizeof(tmp));
    memmove(st->sentinels[1], st->sentinels[0], (size_t)i * sizeof(st->sentinels[0]));
    memcpy(st->sentinels[0], tmp, sizeof(tmp));
}

/* A random number in [0, n], for jitter only. */
static int jitter(zq_store *st, int n)
{
    uint64_t x = st->rng;

    if (n <= 0)
        return 0;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    st->rng = x;
    return (int)(x % ((uint64_t)n + 1));
}

/* What we connect to, for logs: the address or "sentinel:<master>". */
static const char *target_name(const zq_store *st, char *buf, size_t bufsz)
{
    if (st->cfg.nsentinels == 0)
        return st->cfg.address;
    if (snprintf(buf, bufsz, "sentinel:%s", st->cfg.master_name) < 0)
        return "sentinel";
    return buf;
}

/* Frees the connection. Commands appended and not yet read are lost, so a
 * later zq_store_read_replies fails. */
static void drop(zq_store *st)
{
    if (st->ctx != NULL) {
        redisFree(st->ctx);
        st->ctx = NULL;
    }
    if (st->pending > 0 && !st->pipe_failed) {
        st->pipe_failed = true;
        set_msg(st->pipe_err, sizeof(st->pipe_err), "connection to %s dropped", st->peer);
    }
    st->pending = 0;
    st->repl_auto = -1;
    memcpy(st->peer, "-", 2);
}

/* Splits "host:port" or "[v6addr]:port". Returns 0 or -ZQ_EINVAL. */
static int split_hostport(const char *addr, char *host, size_t hostsz, int *port)
{
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t hlen;
    long long p;

    if (colon == NULL)
        return -ZQ_EINVAL;
    hlen = (size_t)(colon - addr);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= hostsz)
        return -ZQ_EINVAL;
    if (zq_parse_ll(colon + 1, strlen(colon + 1), 1, 65535, &p) < 0)
        return -ZQ_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

/* Opens a blocking connection to addr ("host:port" or "unix:/path") within
 * connect_ms, then sets cmd_ms as the timeout of every read and write, and
 * TCP keepalive. Returns a new context, or NULL with err (ZQ_EUNAVAIL). */
static redisContext *open_conn(const char *addr, int connect_ms, int cmd_ms, zq_err *err)
{
    redisContext *c;
    bool is_unix = strncmp(addr, "unix:", 5) == 0;

    if (is_unix) {
        if (addr[5] == '\0') {
            zq_err_set(err, ZQ_EUNAVAIL, "bad redis address '%s'", addr);
            return NULL;
        }
        c = redisConnectUnixWithTimeout(addr + 5, ms_to_tv(connect_ms));
    } else {
        char host[256];
        int port;

        if (split_hostport(addr, host, sizeof(host), &port) < 0) {
            zq_err_set(err, ZQ_EUNAVAIL, "bad redis address '%s' (want host:port or unix:/path)",
                       addr);
            return NULL;
        }
        c = redisConnectWithTimeout(host, port, ms_to_tv(connect_ms));
    }
    if (c == NULL) {
        zq_err_set(err, ZQ_EUNAVAIL, "%s: out of memory", addr);
        return NULL;
    }
    if (c->err != 0) {
        zq_err_set(err, ZQ_EUNAVAIL, "%s: %s", addr, c->errstr);
        redisFree(c);
        return NULL;
    }
    if (redisSetTimeout(c, ms_to_tv(cmd_ms)) != REDIS_OK ||
        (!is_unix && redisEnableKeepAlive(c) != REDIS_OK)) {
        zq_err_set(err, ZQ_EUNAVAIL, "%s: %s", addr, c->errstr);
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Checks the reply to a command sent while setting up a connection. A NULL
 * reply or an error reply fails with ZQ_EUNAVAIL. Frees r. */
static int setup_reply(redisContext *c, const char *addr, const char *what, redisReply *r,
                       zq_err *err)
{
    int ret = 0;

    if (r == NULL)
        ret = zq_err_set(err, ZQ_EUNAVAIL, "%s: %s: %s", addr, what, c->errstr);
    else if (r->type == REDIS_REPLY_ERROR)
        ret = zq_err_set(err, ZQ_EUNAVAIL, "%s: %s: %s", addr, what, r->str);
    freeReplyObject(r);
    return ret;
}

/* Connects to a data node: AUTH, SELECT and, when must_be_master (Sentinel
 * mode), ROLE. Returns a new context or NULL with err. */
static redisContext *open_data_node(const zq_store *st, const char *addr, bool must_be_master,
                                    zq_err *err)
{
    redisContext *c;
    redisReply *r;

    c = open_conn(addr, st->cfg.connect_timeout_ms, st->cfg.command_timeout_ms, err);
    if (c == NULL)
        return NULL;
    if (st->cfg.password[0] != '\0') {
        /* Argv form: the password is never parsed as a format string. */
        const char *argv[2] = {"AUTH", st->cfg.password};

        r = redisCommandArgv(c, 2, argv, NULL);
        if (setup_reply(c, addr, "AUTH", r, err) < 0)
            goto fail;
    }
    if (st->cfg.db != 0) {
        r = redisCommand(c, "SELECT %d", st->cfg.db);
        if (setup_reply(c, addr, "SELECT", r, err) < 0)
            goto fail;
    }
    if (must_be_master) {
        /* A stale sentinel may still name a node that was demoted. */
        r = redisCommand(c, "ROLE");
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            if (setup_reply(c, addr, "ROLE", r, err) < 0)
                goto fail;
        } else {
            bool master = r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                          r->element[0]->type == REDIS_REPLY_STRING &&
                          strcmp(r->element[0]->str, "master") == 0;
            const char *role = r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                                       r->element[0]->type == REDIS_REPLY_STRING
                                   ? r->element[0]->str
                                   : "?";

            if (!master) {
                zq_err_set(err, ZQ_EUNAVAIL, "%s: ROLE is %s, not master", addr, role);
                freeReplyObject(r);
                goto fail;
            }
            freeReplyObject(r);
        }
    }
    return c;
fail:
    redisFree(c);
    return NULL;
}

/* Asks one sentinel for the master's address; writes "host:port" to out.
 * Sentinels get no AUTH: the password belongs to the data nodes. Returns 0
 * or -ZQ_EUNAVAIL with err. */
static int ask_sentinel(const zq_store *st, const char *sentinel, char *out, size_t outsz,
                        zq_err *err)
{
    redisContext *c;
    redisReply *r = NULL;
    const char *host, *port;
    int n, ret = 0;

    c = open_conn(sentinel, st->cfg.connect_timeout_ms, st->cfg.connect_timeout_ms, err);
    if (c == NULL)
        return -ZQ_EUNAVAIL;
    r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", st->cfg.master_name);
    if (r == NULL) {
        ret = zq_err_set(err, ZQ_EUNAVAIL, "sentinel %s: %s", sentinel, c->errstr);
        goto out;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        ret = zq_err_set(err, ZQ_EUNAVAIL, "sentinel %s: %s", sentinel, r->str);
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) {
        ret = zq_err_set(err, ZQ_EUNAVAIL, "sentinel %s does not know master '%s'", sentinel,
                         st->cfg.master_name);
        goto out;
    }
    host = r->element[0]->str;
    port = r->element[1]->str;
    if (strchr(host, ':') != NULL)
        n = snprintf(out, outsz, "[%s]:%s", host, port);
    else
        n = snprintf(out, outsz, "%s:%s", host, port);
    if (n < 0 || (size_t)n >= outsz)
        ret = zq_err_set(err, ZQ_EUNAVAIL, "sentinel %s: master address too long", sentinel);
out:
    freeReplyObject(r);
    redisFree(c);
    return ret;
}

/* Sentinel mode: asks each sentinel in turn and connects to the first
 * answer that really is a master. Writes the node's address to peer. */
static redisContext *connect_via_sentinels(zq_store *st, char *peer, size_t peersz, zq_err *err)
{
    zq_err e = {0};

    for (int i = 0; i < st->cfg.nsentinels; i++) {
        char sentinel[sizeof(st->sentinels[0])];
        redisContext *c;

        memcpy(sentinel, st->sentinels[i], sizeof(sentinel));
        if (ask_sentinel(st, sentinel, peer, peersz, &e) == 0 &&
            (c = open_data_node(st, peer, true, &e)) != NULL) {
            promote_sentinel(st, i);
            return c;
        }
        /* Outside an outage a bad sentinel is news; during one, noise. */
        if (st->down_since == 0)
            ZQ_WARN("event=redis_sentinel_failed sentinel=%s master=%s err=\"%s\"", sentinel,
                    st->cfg.master_name, e.msg);
        else
            ZQ_DEBUG("event=redis_sentinel_failed sentinel=%s master=%s err=\"%s\"", sentinel,
                     st->cfg.master_name, e.msg);
    }
    zq_err_set(err, ZQ_EUNAVAIL, "no master '%s' from %d sentinel(s); last: %s",
               st->cfg.master_name, st->cfg.nsentinels, e.msg);
    return NULL;
}

int zq_store_connect(zq_store *st, zq_err *err)
{
    char peer[ADDR_MAX], tname[96];
    redisContext *c;
    zq_err e = {0};
    int64_t now;

    if (st->ctx != NULL)
        return 0;
    now = zq_mono_ms();
    if (st->retry_at != 0 && now < st->retry_at)
        return zq_err_set(err, ZQ_EUNAVAIL, "redis unavailable, retry in %lld ms: %s",
                          (long long)(st->retry_at - now), st->last_err);

    if (st->cfg.nsentinels > 0) {
        c = connect_via_sentinels(st, peer, sizeof(peer), &e);
    } else {
        zq_fmt_msg(peer, sizeof(peer), "%s", st->cfg.address); /* the same size */
        c = open_data_node(st, peer, false, &e);
    }

    if (c == NULL) {
        int wait;

        count_error();
        now = zq_mono_ms();
        if (st->backoff_ms == 0)
            st->backoff_ms = st->cfg.backoff_min_ms;
        else if (st->backoff_ms < st->cfg.backoff_max_ms / 2)
            st->backoff_ms *= 2;
        else
            st->backoff_ms = st->cfg.backoff_max_ms;
        /* Up to a quarter on top, so that threads and instances that lost
         * Redis together do not come back in lockstep. */
        wait = st->backoff_ms + jitter(st, st->backoff_ms / 4);
        st->retry_at = now + wait;
        set_msg(st->last_err, sizeof(st->last_err), "%s", e.msg);
        if (st->down_since == 0) {
            st->down_since = now;
            ZQ_WARN("event=redis_connect_failed target=%s err=\"%s\" retry_in_ms=%d",
                    target_name(st, tname, sizeof(tname)), e.msg, wait);
        } else {
            ZQ_DEBUG("event=redis_connect_failed target=%s err=\"%s\" retry_in_ms=%d",
                     target_name(st, tname, sizeof(tname)), e.msg, wait);
        }
        return zq_err_set(err, ZQ_EUNAVAIL, "%s", e.msg);
    }

    st->ctx = c;
    memcpy(st->peer, peer, strlen(peer) + 1); /* both ADDR_MAX */
    st->backoff_ms = 0;
    st->retry_at = 0;
    if (st->down_since != 0) {
        ZQ_INFO("event=redis_reconnected peer=%s outage_ms=%lld", st->peer,
                (long long)(zq_mono_ms() - st->down_since));
        st->down_since = 0;
    } else if (strcmp(st->peer, st->last_peer) != 0) {
        ZQ_INFO("event=redis_connected peer=%s", st->peer);
    } else {
        ZQ_DEBUG("event=redis_connected peer=%s", st->peer);
    }
    memcpy(st->last_peer, st->peer, strlen(st->peer) + 1); /* both ADDR_MAX */
    return 0;
}

/* The connection failed under a command: count it, drop it, set err. */
static int connection_failed(zq_store *st, zq_err *err, int saved_errno)
{
    char msg[200];
    char peer[ADDR_MAX];
    int ret;

    count_error();
    if (st->ctx->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK))
        set_msg(msg, sizeof(msg), "timed out after %d ms", st->cfg.command_timeout_ms);
    else
        set_msg(msg, sizeof(msg), "%s", st->ctx->err != 0 ? st->ctx->errstr : "no reply");
    memcpy(peer, st->peer, strlen(st->peer) + 1); /* both ADDR_MAX */
    ZQ_WARN("event=redis_connection_lost peer=%s err=\"%s\"", peer, msg);
    drop(st);
    ret = zq_err_set(err, ZQ_EUNAVAIL, "redis %s: %s", peer, msg);
    return ret;
}

/* True for an error reply that starts with word ("READONLY ..."). */
static bool is_error(const redisReply *r, const char *word)
{
    size_t n = strlen(word);

    return r != NULL && r->type == REDIS_REPLY_ERROR && r->len >= n &&
           strncmp(r->str, word, n) == 0 && (r->len == n || r->str[n] == ' ');
}

/* After fail-over the node we talk to may have become a replica: drop it
 * so that the next command asks Sentinel again. LOADING keeps the
 * connection: the node is right, only not ready yet. */
static void check_readonly(zq_store *st, const redisReply *r)
{
    if (is_error(r, "READONLY")) {
        ZQ_WARN("event=redis_readonly peer=%s action=reconnect", st->peer);
        drop(st);
    }
}

/* Connects and throws away a pipeline left half-done by the caller, whose
 * replies would otherwise be taken for this command's. */
static int prepare(zq_store *st, zq_err *err)
{
    if (st->pending > 0) {
        ZQ_WARN("event=redis_pipeline_discarded peer=%s pending=%d", st->peer, st->pending);
        drop(st);
    }
    st->pending = 0;
    st->pipe_failed = false;
    return zq_store_connect(st, err);
}

/* Turns what hiredis returned into our contract. */
static redisReply *finish(zq_store *st, redisReply *r, int saved_errno, zq_err *err)
{
    if (r == NULL) {
        connection_failed(st, err, saved_errno);
        return NULL;
    }
    check_readonly(st, r);
    return r;
}

redisReply *zq_store_command(zq_store *st, zq_err *err, const char *fmt, ...)
{
    redisReply *r;
    va_list ap;
    int saved_errno;

    if (prepare(st, err) < 0)
        return NULL;
    va_start(ap, fmt);
    errno = 0;
    r = redisvCommand(st->ctx, fmt, ap);
    saved_errno = errno;
    va_end(ap);
    return finish(st, r, saved_errno, err);
}

redisReply *zq_store_commandv(zq_store *st, zq_err *err, int argc, const char **argv,
                              const size_t *argvlen)
{
    /* The RESP is written here rather than by redisCommandArgv: hiredis
     * formats each argument with sdscatfmt, which cost more than the rest
     * of a script call with a few dozen arguments (a chat turn's save). */
    zq_buf b = {0};
    redisReply *r = NULL;
    void *rv = NULL;
    size_t total = 16;
    char n[24];
    int i, saved_errno;

    if (prepare(st, err) < 0)
        return NULL;
    if (argc < 0 || zq_fmt(n, sizeof(n), "*%d\r\n", argc) < 0) {
        zq_err_set(err, ZQ_EINVAL, "redis: bad argument count");
        return NULL;
    }
    for (i = 0; i < argc; i++)
        total += (argvlen != NULL ? argvlen[i] : strlen(argv[i])) + 32;
    zq_buf_reserve(&b, total);
    zq_buf_puts(&b, n);
    for (i = 0; i < argc; i++)
        zq_store_resp_arg(&b, argv[i], argvlen != NULL ? argvlen[i] : strlen(argv[i]));
    if (b.oom) {
        zq_buf_free(&b);
        zq_err_set(err, ZQ_ENOMEM, "redis: out of memory");
        return NULL;
    }
    errno = 0;
    if (redisAppendFormattedCommand(st->ctx, b.data, b.len) == REDIS_OK &&
        redisGetReply(st->ctx, &rv) == REDIS_OK)
        r = rv;
    saved_errno = errno;
    zq_buf_free(&b);
    return finish(st, r, saved_errno, err);
}

/* Shared by both appends: connects first, and on a formatting or memory
 * failure drops the connection (the buffered commands would go out with a
 * hole) and remembers why for read_replies. */
static int append_begin(zq_store *st)
{
    zq_err e = {0};

    if (st->pipe_failed)
        return -ZQ_EUNAVAIL;
    if (zq_store_connect(st, &e) < 0) {
        st->pipe_failed = true;
        set_msg(st->pipe_err, sizeof(st->pipe_err), "%s", e.msg);
        return -ZQ_EUNAVAIL;
    }
    return 0;
}

static int append_end_n(zq_store *st, int rc, int n)
{
    if (rc != REDIS_OK) {
        char msg[200];

        set_msg(msg, sizeof(msg), "%s", st->ctx->errstr);
        drop(st);
        st->pipe_failed = true;
        set_msg(st->pipe_err, sizeof(st->pipe_err), "append: %s", msg);
        return -ZQ_EUNAVAIL;
    }
    st->pending += n;
    return 0;
}

static int append_end(zq_store *st, int rc)
{
    return append_end_n(st, rc, 1);
}

int zq_store_append(zq_store *st, const char *fmt, ...)
{
    va_list ap;
    int rc;

    if (append_begin(st) < 0)
        return -ZQ_EUNAVAIL;
    va_start(ap, fmt);
    rc = redisvAppendCommand(st->ctx, fmt, ap);
    va_end(ap);
    return append_end(st, rc);
}

int zq_store_appendv(zq_store *st, int argc, const char **argv, const size_t *argvlen)
{
    if (append_begin(st) < 0)
        return -ZQ_EUNAVAIL;
    return append_end(st, redisAppendCommandArgv(st->ctx, argc, argv, argvlen));
}

int zq_store_append_resp(zq_store *st, const char *cmds, size_t len, int n)
{
    if (n <= 0 || len == 0)
        return 0;
    if (append_begin(st) < 0)
        return -ZQ_EUNAVAIL;
    return append_end_n(st, redisAppendFormattedCommand(st->ctx, cmds, len), n);
}

void zq_store_resp_arg(zq_buf *b, const char *s, size_t len)
{
    size_t need = 1 + ZQ_DEC_MAX + 2 + len + 2;
    char *p;

    /* One room check and plain stores, the length's digits written in
     * place: this runs for every argument of every command written in
     * RESP. */
    if (b->oom || (b->len + need >= b->cap && zq_buf_reserve(b, need) < 0))
        return;
    p = b->data + b->len;
    *p++ = '$';
    p += zq_udec(p, len);
    *p++ = '\r';
    *p++ = '\n';
    if (len > 0)
        memcpy(p, s, len);
    p += len;
    *p++ = '\r';
    *p++ = '\n';
    *p = '\0';
    b->len = (size_t)(p - b->data);
}

int zq_store_read_replies(zq_store *st, zq_err *err, int n, redisReply **replies)
{
    bool readonly = false;
    int i, ret = 0;

    for (i = 0; i < n; i++)
        replies[i] = NULL;
    if (st->pipe_failed) {
        char msg[sizeof(st->pipe_err)];

        memcpy(msg, st->pipe_err, sizeof(msg));
        if (st->pending > 0)
            drop(st);
        st->pipe_failed = false;
        return zq_err_set(err, ZQ_EUNAVAIL, "%s", msg);
    }
    if (n == 0 && st->pending == 0)
        return 0;
    if (n != st->pending) {
        int pending = st->pending;

        drop(st);
        st->pipe_failed = false;
        return zq_err_set(err, ZQ_EINVAL, "asked for %d replies, %d commands appended", n, pending);
    }
    st->pending = 0;
    for (i = 0; i < n; i++) {
        void *r = NULL;
        int saved_errno;

        errno = 0;
        if (redisGetReply(st->ctx, &r) != REDIS_OK || r == NULL) {
            saved_errno = errno;
            freeReplyObject(r);
            for (int j = 0; j < i; j++) {
                freeReplyObject(replies[j]);
                replies[j] = NULL;
            }
            ret = connection_failed(st, err, saved_errno);
            st->pipe_failed = false;
            return ret;
        }
        replies[i] = r;
        if (is_error(replies[i], "READONLY"))
            readonly = true;
    }
    if (readonly) {
        ZQ_WARN("event=redis_readonly peer=%s action=reconnect", st->peer);
        drop(st);
    }
    return 0;
}

/* connected_slaves from an INFO replication reply; 0 when absent. */
static int parse_connected_replicas(const redisReply *r)
{
    const char *p;
    long long n;
    size_t len = 0;

    if (r->type != REDIS_REPLY_STRING)
        return 0;
    p = strstr(r->str, "connected_slaves:");
    if (p == NULL)
        return 0;
    p += strlen("connected_slaves:");
    while (len < 8 && p[len] >= '0' && p[len] <= '9')
        len++;
    if (zq_parse_ll(p, len, 0, 1000000, &n) < 0)
        return 0;
    return (int)n;
}

int zq_store_wait(zq_store *st, zq_err *err)
{
    int want = st->cfg.wait_replicas;
    redisReply *r;
    int ret = 0;

    if (want == 0)
        return 0;
    /* WAIT counts this connection's writes only: on a new connection it
     * would succeed at once and prove nothing. */
    if (st->ctx == NULL)
        return zq_err_set(err, ZQ_EUNAVAIL, "redis: connection lost before WAIT");
    if (want < 0) {
        int64_t now = zq_mono_ms();

        if (st->repl_auto < 0 || now - st->repl_checked >= REPL_RECHECK_MS) {
            r = zq_store_command(st, err, "INFO replication");
            if (r == NULL)
                return -ZQ_EUNAVAIL;
            if (r->type == REDIS_REPLY_ERROR)
                ZQ_WARN("event=redis_info_failed peer=%s err=\"%s\" action=no_wait", st->peer,
                        r->str);
            st->repl_auto = parse_connected_replicas(r) > 0 ? 1 : 0;
            st->repl_checked = now;
            freeReplyObject(r);
            if (st->ctx == NULL)
                return zq_err_set(err, ZQ_EUNAVAIL, "redis: connection lost before WAIT");
        }
        want = st->repl_auto;
        if (want == 0)
            return 0;
    }
    /* WAIT blocks on the server for up to wait_timeout_ms before it
     * answers: the socket must wait that long plus the usual time. */
    if (redisSetTimeout(st->ctx, ms_to_tv(st->cfg.wait_timeout_ms + st->cfg.command_timeout_ms)) !=
        REDIS_OK) {
        drop(st);
        return zq_err_set(err, ZQ_EUNAVAIL, "redis: cannot set the WAIT timeout");
    }
    r = zq_store_command(st, err, "WAIT %d %d", want, st->cfg.wait_timeout_ms);
    if (st->ctx != NULL &&
        redisSetTimeout(st->ctx, ms_to_tv(st->cfg.command_timeout_ms)) != REDIS_OK)
        drop(st);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_INTEGER && r->integer >= want) {
        ret = 0;
    } else if (r->type == REDIS_REPLY_INTEGER) {
        ZQ_WARN("event=redis_wait_short peer=%s acked=%lld wanted=%d timeout_ms=%d", st->peer,
                (long long)r->integer, want, st->cfg.wait_timeout_ms);
        ret = zq_err_set(err, ZQ_EUNAVAIL, "WAIT: %lld of %d replica(s) confirmed within %d ms",
                         (long long)r->integer, want, st->cfg.wait_timeout_ms);
        /* The replica may be gone for good: count again next time. */
        st->repl_auto = -1;
    } else {
        ret = zq_err_set(err, ZQ_EUNAVAIL, "WAIT: %s",
                         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    }
    freeReplyObject(r);
    return ret;
}

bool zq_store_reply_unavailable(const redisReply *r)
{
    static const char *const codes[] = {"MISCONF",    "OOM",      "READONLY",
                                        "LOADING",    "BUSY",     "MASTERDOWN",
                                        "NOREPLICAS", "TRYAGAIN", "CLUSTERDOWN"};
    const char *s;

    if (r == NULL || r->type != REDIS_REPLY_ERROR || r->str == NULL)
        return false;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(codes); i++)
        if (is_error(r, codes[i]))
            return true;
    /* Before Redis 7 an error inside a script came wrapped: "ERR Error
     * running script (...): @user_script:1: MISCONF ...". */
    if (strncmp(r->str, "ERR Error running script", 24) != 0)
        return false;
    s = strstr(r->str, "@user_script:");
    if (s == NULL || (s = strstr(s, ": ")) == NULL)
        return false;
    s += 2;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(codes); i++) {
        size_t n = strlen(codes[i]);

        if (strncmp(s, codes[i], n) == 0 && (s[n] == ' ' || s[n] == '\0'))
            return true;
    }
    return false;
}

int zq_store_ping(zq_store *st, zq_err *err)
{
    redisReply *r = zq_store_command(st, err, "PING");
    int ret = 0;

    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR)
        ret = zq_err_set(err, ZQ_EREPLY, "PING: %s", r->str);
    else if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0)
        ret = zq_err_set(err, ZQ_EREPLY, "PING: unexpected reply");
    freeReplyObject(r);
    return ret;
}

int zq_store_probe_write(zq_store *st, zq_err *err)
{
    char key[160];
    redisReply *r;
    int ret = 0;

    if (zq_store_key(st, key, sizeof(key), "health:probe") < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "health probe key too long");
    r = zq_store_commandv(st, err, 2, (const char *[]){"DEL", key}, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR)
        ret = zq_err_set(err, ZQ_EREPLY, "%.200s", r->str);
    else if (r->type != REDIS_REPLY_INTEGER)
        ret = zq_err_set(err, ZQ_EREPLY, "DEL: unexpected reply");
    freeReplyObject(r);
    return ret;
}

zq_store *zq_store_new(const zq_redis_config *cfg)
{
    zq_store *st = calloc(1, sizeof(*st));

    if (st == NULL)
        return NULL;
    st->cfg = *cfg;
    sanitise(&st->cfg);
    reset_sentinel_order(st);
    memcpy(st->peer, "-", 2);
    st->repl_auto = -1;
    st->rng = (uint64_t)zq_mono_ms() ^ ((uint64_t)(uintptr_t)st * 0x9E3779B97F4A7C15ULL) ^
              ((uint64_t)getpid() << 32);
    if (st->rng == 0)
        st->rng = 0x2545F4914F6CDD1DULL;
    return st;
}

void zq_store_free(zq_store *st)
{
    if (st == NULL)
        return;
    if (st->ctx != NULL)
        redisFree(st->ctx);
    zq_buf_free(&st->cmd);
    /* The password lived here; do not leave it in freed memory. */
    explicit_bzero(st, sizeof(*st));
    free(st);
}

void zq_store_reconfigure(zq_store *st, const zq_redis_config *cfg)
{
    zq_redis_config n = *cfg;

    sanitise(&n);
    if (target_changed(&st->cfg, &n)) {
        char tname[96];

        st->cfg = n;
        if (st->ctx != NULL)
            ZQ_INFO("event=redis_reconfigured peer=%s target=%s action=reconnect", st->peer,
                    target_name(st, tname, sizeof(tname)));
        drop(st);
        reset_sentinel_order(st);
        /* New place, new chances: no back-off inherited from the old one. */
        st->retry_at = 0;
        st->backoff_ms = 0;
    } else {
        st->cfg = n;
        if (st->ctx != NULL && redisSetTimeout(st->ctx, ms_to_tv(n.command_timeout_ms)) != REDIS_OK)
            drop(st);
    }
    explicit_bzero(n.password, sizeof(n.password));
}

const char *zq_store_prefix(const zq_store *st)
{
    return st->cfg.prefix;
}

/* Whether fmt's only conversions are plain %s (no flags, width or
 * precision): the keys of the hot paths, copied without vsnprintf. */
static bool key_fmt_plain(const char *fmt)
{
    const char *p;

    for (p = strchr(fmt, '%'); p != NULL; p = strchr(p + 2, '%'))
        if (p[1] != 's')
            return false;
    return true;
}

int zq_store_key(const zq_store *st, char *out, size_t outsz, const char *fmt, ...)
{
    size_t plen = strlen(st->cfg.prefix), at, n;
    const char *src;
    va_list ap;
    int rc = 0;

    if (outsz == 0)
        return -ZQ_ETOOBIG;
    out[0] = '\0';
    if (plen >= outsz)
        return -ZQ_ETOOBIG;
    memcpy(out, st->cfg.prefix, plen);
    va_start(ap, fmt);
    if (!key_fmt_plain(fmt)) {
        int k = vsnprintf(out + plen, outsz - plen, fmt, ap);

        rc = k < 0 || (size_t)k >= outsz - plen ? -ZQ_ETOOBIG : 0;
        goto out;
    }
    at = plen;
    while (*fmt != '\0') {
        if (fmt[0] == '%') {
            src = va_arg(ap, const char *);
            if (src == NULL)
                src = "(null)"; /* as vsnprintf writes it */
            n = strlen(src);
            fmt += 2;
        } else {
            src = fmt;
            n = strcspn(fmt, "%");
            fmt += n;
        }
        if (n >= outsz - at) {
            rc = -ZQ_ETOOBIG;
            goto out;
        }
        memcpy(out + at, src, n);
        at += n;
    }
    out[at] = '\0';
out:
    va_end(ap);
    if (rc < 0)
        out[0] = '\0';
    return rc;
}

const char *zq_store_peer(const zq_store *st)
{
    return st->peer;
}

/* Computes the script's SHA-1 once. The result is the same whichever
 * thread gets there first, so a benign race is made harmless with a
 * mutex rather than per-thread copies. */
static pthread_mutex_t script_lock = PTHREAD_MUTEX_INITIALIZER;

static void script_prepare(zq_script *sc)
{
    unsigned char md[SHA_DIGEST_LENGTH];

    pthread_mutex_lock(&script_lock);
    if (!sc->ready) {
        SHA1((const unsigned char *)sc->src, strlen(sc->src), md);
        zq_hex(md, SHA_DIGEST_LENGTH, sc->sha);
        sc->ready = 1;
    }
    pthread_mutex_unlock(&script_lock);
}

/* zq_store_commandv with the command written here in RESP: hiredis
 * formats each argument with sdscatfmt, which cost more than the rest
 * of a script call on the hot paths (the case lookup). */
static redisReply *commandv_resp(zq_store *st, zq_err *err, int argc, const char **argv,
                                 const size_t *lens)
{
    char head[ZQ_DEC_MAX + 3];
    size_t n, total = 16;
    void *r = NULL;
    zq_buf *b = &st->cmd;
    int i, saved_errno;

    if (prepare(st, err) < 0)
        return NULL;
    for (i = 0; i < argc; i++)
        total += lens[i] + 24;
    head[0] = '*';
    n = 1 + zq_udec(head + 1, (unsigned)argc);
    head[n++] = '\r';
    head[n++] = '\n';
    zq_buf_reset(b);
    zq_buf_reserve(b, total);
    zq_buf_append(b, head, n);
    for (i = 0; i < argc; i++)
        zq_store_resp_arg(b, argv[i], lens[i]);
    if (b->oom) {
        zq_buf_free(b);
        zq_err_set(err, ZQ_ENOMEM, "redis: out of memory");
        return NULL;
    }
    errno = 0;
    if (redisAppendFormattedCommand(st->ctx, b->data, b->len) != REDIS_OK ||
        redisGetReply(st->ctx, &r) != REDIS_OK) {
        freeReplyObject(r);
        r = NULL;
    }
    saved_errno = errno;
    if (b->cap > CMD_KEEP_MAX)
        zq_buf_free(b);
    return finish(st, r, saved_errno, err);
}

redisReply *zq_store_script(zq_store *st, zq_err *err, zq_script *sc, int nkeys, int argc,
                            const char **argv, const size_t *argvlen)
{
    /* Up to MAX_ARGS on the stack; a batch script (one call for many
     * items, e.g. ratelimit.c's) gets its arrays from the heap. */
    enum { MAX_ARGS = 64, MAX_BATCH_ARGS = 1 << 16 };
    const char *av_stack[MAX_ARGS + 3], **av = av_stack;
    size_t lens_stack[MAX_ARGS + 3], *lens = lens_stack;
    char nk[ZQ_DEC_MAX];
    redisReply *r = NULL;
    int i;

    if (argc < 0 || argc > MAX_BATCH_ARGS || nkeys > argc) {
        zq_err_set(err, ZQ_EINVAL, "script: bad argument count");
        return NULL;
    }
    if (argc > MAX_ARGS) {
        av = malloc(sizeof(*av) * (size_t)(argc + 3));
        lens = malloc(sizeof(*lens) * (size_t)(argc + 3));
        if (av == NULL || lens == NULL) {
            zq_err_set(err, ZQ_ENOMEM, "script: out of memory");
            goto out;
        }
    }
    script_prepare(sc);
    /* The key count in decimal, without zq_fmt's vsnprintf (~600
     * instructions a call, on every script). */
    av[0] = "EVALSHA";
    lens[0] = 7;
    av[1] = sc->sha;
    lens[1] = 40;
    av[2] = nk;
    lens[2] = zq_dec(nk, nkeys);
    for (i = 0; i < argc; i++) {
        av[i + 3] = argv[i];
        lens[i + 3] = argvlen != NULL ? argvlen[i] : strlen(argv[i]);
    }
    r = commandv_resp(st, err, argc + 3, av, lens);
    if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(r);
        av[0] = "EVAL";
        lens[0] = 4;
        av[1] = sc->src;
        lens[1] = strlen(sc->src);
        r = commandv_resp(st, err, argc + 3, av, lens);
    }
out:
    if (av != av_stack)
        free((void *)av);
    if (lens != lens_stack)
        free(lens);
    return r;
}

/* Reads exactly n bytes from fd (the socket's receive timeout applies).
 * Returns 0, or -ZQ_EUNAVAIL when the server closed or timed out. */
static int read_full(int fd, char *buf, size_t n)
{
    while (n > 0) {
        ssize_t k = read(fd, buf, n);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -ZQ_EUNAVAIL;
        buf += k;
        n -= (size_t)k;
    }
    return 0;
}

int zq_store_sync_rdb(zq_store *st, int timeout_ms, zq_store_rdb_sink sink, void *ctx,
                      int64_t *bytes, zq_err *err)
{
    char line[64], *buf = NULL;
    redisReply *r;
    size_t n = 0;
    long long len, left;
    int fd, rc;

    *bytes = 0;
    /* A command connects (or reconnects) like any other would. */
    r = zq_store_command(st, err, "PING");
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    freeReplyObject(r);
    if (st->ctx == NULL)
        return zq_err_set(err, ZQ_EUNAVAIL, "%s: not connected", st->peer);
    /* The master forks, writes the RDB and then streams it: that can take
     * far longer than a command; it sends "\n" every second meanwhile. */
    if (redisSetTimeout(st->ctx, ms_to_tv(timeout_ms)) != REDIS_OK) {
        rc = zq_err_set(err, ZQ_EUNAVAIL, "%s: %s", st->peer, st->ctx->errstr);
        goto out;
    }
    fd = st->ctx->fd;
    /* Plain SYNC (no REPLCONF capa eof): the master sends "$LEN\r\n" and
     * the RDB from its disk-based snapshot, never the EOF-marked
     * diskless form. */
    if (write(fd, "SYNC\r\n", 6) != 6) {
        rc = zq_err_set(err, ZQ_EUNAVAIL, "%s: SYNC: %s", st->peer, strerror(errno));
        goto out;
    }
    for (;;) {
        if (read_full(fd, line + n, 1) < 0) {
            rc = zq_err_set(err, ZQ_EUNAVAIL, "%s: no answer to SYNC", st->peer);
            goto out;
        }
        if (n == 0 && line[0] == '\n')
            continue; /* keep-alive while the snapshot is written */
        if (line[n] == '\n')
            break;
        if (++n >= sizeof(line) - 1) {
            rc = zq_err_set(err, ZQ_EREPLY, "%s: bad SYNC answer", st->peer);
            goto out;
        }
    }
    line[n] = '\0';
    if (n > 0 && line[n - 1] == '\r')
        line[n - 1] = '\0';
    if (line[0] == '-') {
        rc = zq_err_set(err, ZQ_EREPLY, "%s: SYNC refused: %s", st->peer, line + 1);
        goto out;
    }
    if (line[0] != '$' || zq_parse_ll(line + 1, strlen(line + 1), 9, INT64_MAX, &len) < 0) {
        rc = zq_err_set(err, ZQ_EREPLY, "%s: bad SYNC answer '%.40s'", st->peer, line);
        goto out;
    }
    buf = malloc(65536);
    if (buf == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "out of memory");
        goto out;
    }
    for (left = len; left > 0;) {
        size_t chunk = left > 65536 ? 65536 : (size_t)left;

        if (read_full(fd, buf, chunk) < 0) {
            rc = zq_err_set(err, ZQ_EUNAVAIL, "%s: the RDB stream broke after %lld of %lld bytes",
                            st->peer, len - left, len);
            goto out;
        }
        if ((rc = sink(ctx, buf, chunk)) < 0) {
            zq_err_set(err, -rc, "writing the RDB failed");
            goto out;
        }
        left -= (long long)chunk;
    }
    *bytes = len;
    rc = 0;
out:
    free(buf);
    /* The connection is a replication stream now (or broken): never
     * reuse it for commands. */
    drop(st);
    return rc;
}

int zq_store_unpack(const char *p, size_t n, size_t *i, const char **v, size_t *vlen)
{
    size_t len = 0, k = *i;

    *v = NULL;
    *vlen = 0;
    if (k < n && p[k] == '~') {
        *i = k + 1;
        return 0;
    }
    while (k < n && p[k] >= '0' && p[k] <= '9' && len < ((size_t)1 << 40))
        len = len * 10 + (size_t)(p[k++] - '0');
    if (k == *i || k >= n || p[k] != ':' || len > n - k - 1)
        return -ZQ_EREPLY;
    *v = p + k + 1;
    *vlen = len;
    *i = k + 1 + len;
    return 1;
}

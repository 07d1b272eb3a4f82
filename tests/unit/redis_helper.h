/* Throw-away redis-server and sentinel processes for unit tests: each on a
 * free loopback port (never 6379) under a private temporary directory,
 * killed by the test, at exit, or when the test process dies. */
#ifndef ZQ_TESTS_REDIS_HELPER_H
#define ZQ_TESTS_REDIS_HELPER_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zhuqi/log.h"
#include "zhuqi/store.h"

#define ZQT_MAX_CHILDREN 64
#define ZQT_MAX_ARGS 48

typedef struct zqt_redis {
    pid_t pid;      /* 0 when not running */
    int port;       /* TCP port; 0 for a unix-socket-only server */
    char sock[256]; /* unix socket path, or "" */
    char dir[256];  /* its working directory */
} zqt_redis;

/* Every child still running, for the atexit backstop. */
static pid_t zqt_children[ZQT_MAX_CHILDREN] __attribute__((unused));
static bool zqt_atexit_done __attribute__((unused));

static inline int64_t zqt_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void zqt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static inline void zqt_kill_all(void)
{
    for (int i = 0; i < ZQT_MAX_CHILDREN; i++) {
        if (zqt_children[i] > 0) {
            kill(zqt_children[i], SIGKILL);
            waitpid(zqt_children[i], NULL, 0);
            zqt_children[i] = 0;
        }
    }
}

static inline void zqt_track(pid_t pid)
{
    if (!zqt_atexit_done) {
        atexit(zqt_kill_all);
        zqt_atexit_done = true;
    }
    for (int i = 0; i < ZQT_MAX_CHILDREN; i++) {
        if (zqt_children[i] == 0) {
            zqt_children[i] = pid;
            return;
        }
    }
}

static inline void zqt_untrack(pid_t pid)
{
    for (int i = 0; i < ZQT_MAX_CHILDREN; i++)
        if (zqt_children[i] == pid)
            zqt_children[i] = 0;
}

/* A TCP port nobody listens on right now (the kernel's pick). 0 on error. */
static inline int zqt_free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

    if (fd < 0)
        return 0;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port == 6379 ? 0 : port;
}

/* A new private directory (mkdtemp) into out. Returns 0 or -1. */
static inline int zqt_tmpdir(char *out, size_t outsz)
{
    const char *base = getenv("TMPDIR");

    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    if (snprintf(out, outsz, "%s/zqt-redis-XXXXXX", base) >= (int)outsz)
        return -1;
    return mkdtemp(out) != NULL ? 0 : -1;
}

static inline int zqt_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Removes a directory tree made by zqt_tmpdir. */
static inline void zqt_rmtree(const char *dir)
{
    if (dir != NULL && dir[0] != '\0')
        nftw(dir, zqt_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Connects to a test server; NULL when it does not accept connections. */
static inline redisContext *zqt_connect(const zqt_redis *r, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c;

    if (r->port > 0)
        c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    else
        c = redisConnectUnixWithTimeout(r->sock, tv);
    if (c != NULL && c->err != 0) {
        redisFree(c);
        return NULL;
    }
    if (c != NULL)
        redisSetTimeout(c, tv);
    return c;
}

/* Runs one command on a fresh connection to r; returns the reply (free it)
 * or NULL. */
static inline redisReply *zqt_cmd(const zqt_redis *r, const char *fmt, ...)
{
    redisContext *c = zqt_connect(r, 2000);
    redisReply *rep;
    va_list ap;

    if (c == NULL)
        return NULL;
    va_start(ap, fmt);
    rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return rep;
}

/* Waits until r answers anything to PING (NOAUTH counts) or its process
 * exits. Returns 0 when up. */
static inline int zqt_wait_up(zqt_redis *r, int timeout_ms)
{
    int64_t deadline = zqt_now_ms() + timeout_ms;

    while (zqt_now_ms() < deadline) {
        redisReply *rep;

        if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
            zqt_untrack(r->pid);
            r->pid = 0;
            return -1;
        }
        rep = zqt_cmd(r, "PING");
        if (rep != NULL) {
            freeReplyObject(rep);
            return 0;
        }
        zqt_sleep_ms(20);
    }
    return -1;
}

/* Forks and execs argv in dir with output to dir/out.log. Returns the pid
 * or -1. The child dies with us (PR_SET_PDEATHSIG), even on a crash. */
static inline pid_t zqt_spawn(const char *dir, char *const argv[])
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        if (chdir(dir) != 0)
            _exit(126);
        fd = open("out.log", O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        fd = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 0);
            close(fd);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    zqt_track(pid);
    return pid;
}

/* Makes base/name and writes its path to out. */
static inline int zqt_subdir(const char *base, const char *name, char *out, size_t outsz)
{
    if (snprintf(out, outsz, "%s/%s", base, name) >= (int)outsz)
        return -1;
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Starts redis-server under base/r<port>: on 127.0.0.1:port (port 0: a
 * free one; -1: no TCP, unix socket only), with a unix socket too when
 * with_unix, no persistence, and the NULL-terminated extra arguments.
 * Waits until it answers. Returns 0 or -1. */
static inline int zqt_redis_start(zqt_redis *r, const char *base, int port, bool with_unix,
                                  const char *const *extra)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        char portbuf[16], name[32];
        const char *argv[ZQT_MAX_ARGS];
        int n = 0;
        int p = port == 0 ? zqt_free_port() : port;

        if (p == 0)
            continue;
        memset(r, 0, sizeof(*r));
        snprintf(portbuf, sizeof(portbuf), "%d", p < 0 ? 0 : p);
        if (p > 0)
            snprintf(name, sizeof(name), "r%d", p);
        else
            snprintf(name, sizeof(name), "u%d-%d", (int)getpid(), attempt);
        if (zqt_subdir(base, name, r->dir, sizeof(r->dir)) != 0)
            return -1;
        r->port = p < 0 ? 0 : p;
        argv[n++] = "redis-server";
        argv[n++] = "--port";
        argv[n++] = portbuf;
        argv[n++] = "--bind";
        argv[n++] = "127.0.0.1";
        argv[n++] = "--save";
        argv[n++] = "";
        argv[n++] = "--appendonly";
        argv[n++] = "no";
        argv[n++] = "--dir";
        argv[n++] = r->dir;
        argv[n++] = "--logfile";
        argv[n++] = "redis.log";
        argv[n++] = "--daemonize";
        argv[n++] = "no";
        if (with_unix) {
            if (snprintf(r->sock, sizeof(r->sock), "%s/redis.sock", r->dir) >= (int)sizeof(r->sock))
                return -1;
            argv[n++] = "--unixsocket";
            argv[n++] = r->sock;
            argv[n++] = "--unixsocketperm";
            argv[n++] = "700";
        }
        for (int i = 0; extra != NULL && extra[i] != NULL && n < ZQT_MAX_ARGS - 1; i++)
            argv[n++] = extra[i];
        argv[n] = NULL;
        r->pid = zqt_spawn(r->dir, (char *const *)argv);
        if (r->pid < 0)
            return -1;
        if (zqt_wait_up(r, 5000) == 0)
            return 0;
        if (r->pid > 0) {
            kill(r->pid, SIGKILL);
            waitpid(r->pid, NULL, 0);
            zqt_untrack(r->pid);
            r->pid = 0;
        }
        if (port != 0)
            return -1; /* the caller wanted this port: no second guess */
    }
    return -1;
}

/* Starts a sentinel watching master_name at 127.0.0.1:master_port with
 * quorum 1 and a 1 s down-after. Its config (which it rewrites) lives in its
 * own directory under base. Returns 0 or -1. */
static inline int zqt_sentinel_start(zqt_redis *r, const char *base, const char *master_name,
                                     int master_port)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        char name[32], conf[300];
        const char *argv[4];
        FILE *f;
        int p = zqt_free_port();

        if (p == 0)
            continue;
        memset(r, 0, sizeof(*r));
        snprintf(name, sizeof(name), "s%d", p);
        if (zqt_subdir(base, name, r->dir, sizeof(r->dir)) != 0)
            return -1;
        r->port = p;
        if (snprintf(conf, sizeof(conf), "%s/sentinel.conf", r->dir) >= (int)sizeof(conf))
            return -1;
        f = fopen(conf, "w");
        if (f == NULL)
            return -1;
        fprintf(f,
                "port %d\nbind 127.0.0.1\ndaemonize no\ndir %s\nlogfile sentinel.log\n"
                "sentinel monitor %s 127.0.0.1 %d 1\n"
                "sentinel down-after-milliseconds %s 1000\n"
                "sentinel failover-timeout %s 5000\n"
                "sentinel parallel-syncs %s 1\n",
                p, r->dir, master_name, master_port, master_name, master_name, master_name);
        if (fclose(f) != 0)
            return -1;
        argv[0] = "redis-server";
        argv[1] = conf;
        argv[2] = "--sentinel";
        argv[3] = NULL;
        r->pid = zqt_spawn(r->dir, (char *const *)argv);
        if (r->pid < 0)
            return -1;
        if (zqt_wait_up(r, 5000) == 0)
            return 0;
        if (r->pid > 0) {
            kill(r->pid, SIGKILL);
            waitpid(r->pid, NULL, 0);
            zqt_untrack(r->pid);
            r->pid = 0;
        }
    }
    return -1;
}

/* Sends sig and reaps the process (SIGKILL after 5 s if it lingers). */
static inline void zqt_redis_signal(zqt_redis *r, int sig)
{
    int64_t deadline = zqt_now_ms() + 5000;

    if (r->pid <= 0)
        return;
    kill(r->pid, sig);
    while (waitpid(r->pid, NULL, WNOHANG) == 0) {
        if (zqt_now_ms() > deadline) {
            kill(r->pid, SIGKILL);
            waitpid(r->pid, NULL, 0);
            break;
        }
        zqt_sleep_ms(10);
    }
    zqt_untrack(r->pid);
    r->pid = 0;
}

/* A clean stop (SIGTERM). */
static inline void zqt_redis_stop(zqt_redis *r)
{
    zqt_redis_signal(r, SIGTERM);
}

/* A crash (SIGKILL). */
static inline void zqt_redis_kill(zqt_redis *r)
{
    zqt_redis_signal(r, SIGKILL);
}

/* A listening TCP socket on 127.0.0.1 with a port the kernel picks (for
 * tests that play a platform's HTTP server). Returns the fd and sets
 * *port, or -1. */
static inline int zqt_listen_loopback(int *port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A zq_store on r over TCP with the given key prefix and command timeout
 * (short back-off, so tests that stop Redis recover quickly). NULL when
 * out of memory. */
static inline zq_store *zqt_store_new(const zqt_redis *r, const char *prefix,
                                      int command_timeout_ms)
{
    zq_redis_config rc;

    memset(&rc, 0, sizeof(rc));
    snprintf(rc.address, sizeof(rc.address), "127.0.0.1:%d", r->port);
    snprintf(rc.prefix, sizeof(rc.prefix), "%s", prefix);
    rc.connect_timeout_ms = 1000;
    rc.command_timeout_ms = command_timeout_ms;
    rc.backoff_min_ms = 10;
    rc.backoff_max_ms = 100;
    return zq_store_new(&rc);
}

/* A test group's fixture: errors-only logging as name, a Redis server in
 * a new temporary directory (dir, 256 bytes) and a store on it with the
 * prefix "zqt:". Returns 0, or -1 (cmocka's group setup failure). */
static inline int zqt_group_start(const char *name, char dir[256], zqt_redis *r, zq_store **st)
{
    zq_log_init(name, ZQ_LOG_ERROR);
    if (zqt_tmpdir(dir, 256) != 0 || zqt_redis_start(r, dir, 0, false, NULL))
        return -1;
    *st = zqt_store_new(r, "zqt:", 0);
    return *st != NULL ? 0 : -1;
}

/* Undoes zqt_group_start. Returns 0. */
static inline int zqt_group_stop(char dir[256], zqt_redis *r, zq_store *st)
{
    zq_store_free(st);
    zqt_redis_stop(r);
    zqt_kill_all();
    zqt_rmtree(dir);
    return 0;
}

#endif

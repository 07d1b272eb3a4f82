/* The Redis connection both programs use: direct (TCP or unix socket) or
 * through Sentinel, with timeouts, reconnect with back-off, and a global
 * error counter. One zq_store per thread: it is not thread-safe. */
#ifndef ZHUQI_STORE_H
#define ZHUQI_STORE_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#include "zhuqi/buf.h"
#include "zhuqi/common.h"
#include "zhuqi/config.h"

typedef struct zq_store zq_store;

/* Creates a store for cfg (copied). Does not connect: the first command
 * does. Returns NULL only when out of memory. */
zq_store *zq_store_new(const zq_redis_config *cfg);
void zq_store_free(zq_store *st);

/* Replaces the configuration (SIGHUP); the next command reconnects when
 * the address changed. */
void zq_store_reconfigure(zq_store *st, const zq_redis_config *cfg);

/* Makes sure a connection is up. While a previous attempt failed less
 * than the back-off ago it returns -ZQ_EUNAVAIL at once without touching
 * the network, so an outage costs callers nothing. With sentinels, the
 * master's address is asked for on every connect and checked with ROLE. */
int zq_store_connect(zq_store *st, zq_err *err);

/* Runs one command (hiredis format). Returns a new reply (free with
 * freeReplyObject) or NULL with err->code ZQ_EUNAVAIL when the connection
 * failed or timed out; the connection is then dropped and the next call
 * reconnects. A Redis error reply (REDIS_REPLY_ERROR) is returned as a
 * reply, not NULL: the caller decides. */
redisReply *zq_store_command(zq_store *st, zq_err *err, const char *fmt, ...);
redisReply *zq_store_commandv(zq_store *st, zq_err *err, int argc, const char **argv,
                              const size_t *argvlen);

/* Pipelining: append n commands, then read n replies into replies[]
 * (each new; free them). Returns 0 or -ZQ_EUNAVAIL (then no replies).
 * Always call read_replies after appending, even when an append failed:
 * a failed append is reported (and cleared) there. */
int zq_store_append(zq_store *st, const char *fmt, ...);
/* The same with the arguments given as they are (argvlen NULL: each is a
 * C string): no format string to parse, so hot paths use it. */
int zq_store_appendv(zq_store *st, int argc, const char **argv, const size_t *argvlen);
/* Appends n commands already written in the Redis protocol (RESP), as one
 * block: for loops that send many similar commands, where hiredis' argv
 * formatting costs several times what Redis spends on each. Build them
 * with "*ARGC\r\n" and zq_store_resp_arg per argument; exactly n
 * commands, or the replies read back will not match. */
int zq_store_append_resp(zq_store *st, const char *cmds, size_t len, int n);
/* Appends one RESP bulk string argument ("$LEN\r\nBYTES\r\n") to b. */
void zq_store_resp_arg(zq_buf *b, const char *s, size_t len);
int zq_store_read_replies(zq_store *st, zq_err *err, int n, redisReply **replies);

/* A Lua script run with EVALSHA, falling back to EVAL once when Redis does
 * not know it yet (after a restart or fail-over). Define scripts as static
 * `zq_script s = {.src = "..."};` the SHA-1 is computed on first use. */
typedef struct zq_script {
    const char *src;
    char sha[41]; /* filled on first use; guarded by its own once-flag */
    int ready;
} zq_script;

/* Runs sc with nkeys keys followed by the arguments in argv (argc total,
 * lengths in argvlen; NULL lengths mean C strings). Returns a new reply or
 * NULL like zq_store_commandv. Thread-safe as far as sc is concerned. */
redisReply *zq_store_script(zq_store *st, zq_err *err, zq_script *sc, int nkeys, int argc,
                            const char **argv, const size_t *argvlen);

/* Waits until the writes made so far on this connection are on as many
 * replicas as [redis] wait_replicas asks for (-1, auto: 1 when the master
 * reports a connected replica in INFO replication, looked up after each
 * connect and again every 10 s; 0: never), with WAIT and wait_timeout_ms.
 * Call it after a write that a 2xx will acknowledge: replication is
 * asynchronous, and a fail-over loses what no replica had. Returns 0 (at
 * once when no replica is wanted), or -ZQ_EUNAVAIL when the connection
 * failed or fewer replicas confirmed in time. The write may then be on
 * the master all the same: answer 503 and let an idempotent retry find
 * it. */
int zq_store_wait(zq_store *st, zq_err *err);

/* True when r is an error reply that means "not now" rather than "wrong":
 * the node cannot take the command at the moment (MISCONF: persistence
 * failing, e.g. a full disk; OOM; READONLY; LOADING; BUSY; MASTERDOWN;
 * NOREPLICAS; TRYAGAIN; CLUSTERDOWN), also when raised inside a script.
 * Callers answer these with 503, not 500. */
bool zq_store_reply_unavailable(const redisReply *r);

/* PING. Returns 0 or a negative code. */
int zq_store_ping(zq_store *st, zq_err *err);
/* Whether Redis takes writes: DEL of a probe key that never exists (a
 * write command, so refused like any other under MISCONF, READONLY or
 * NOREPLICAS, yet it changes nothing and is not written to the AOF).
 * Returns 0, -ZQ_EUNAVAIL when Redis cannot be reached, or -ZQ_EREPLY
 * (err says why) when it refuses writes. */
int zq_store_probe_write(zq_store *st, zq_err *err);

/* The key namespace ("zq:"). Borrowed. */
const char *zq_store_prefix(const zq_store *st);

/* Longest key zq_store_key writes, with its NUL. */
#define ZQ_STORE_KEY_MAX 256

/* Writes the namespace followed by the printf-formatted rest into out
 * (outsz bytes): zq_store_key(st, k, sizeof(k), "case:%s", id) gives
 * "zq:case:<id>". The one way keys are formatted, so that a key that
 * does not fit is refused, never cut. Returns 0, or -ZQ_ETOOBIG (out
 * then holds "") when it does not fit. */
int zq_store_key(const zq_store *st, char *out, size_t outsz, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Seconds-granular description of where we are connected, for logs:
 * "127.0.0.1:6379" or "-". Borrowed; valid until the next call. */
const char *zq_store_peer(const zq_store *st);

/* Connection-level failures (connect failed, I/O error, timeout) across
 * every store in the process, for /api/metrics. */
uint64_t zq_store_error_count(void);

/* Receives the bytes of an RDB; returns 0 or a negative ZQ_E* code. */
typedef int (*zq_store_rdb_sink)(void *ctx, const char *data, size_t len);

/* A consistent snapshot of the whole Redis instance, taken through the
 * server as a replica would (SYNC: the server forks and writes a
 * point-in-time RDB, then streams it): its bytes go to sink, *bytes gets
 * their count. timeout_ms bounds each wait for data (the fork and the
 * write of a large dataset). The connection is dropped afterwards (the
 * next command reconnects). The Redis user needs the SYNC command (ACL
 * +sync). Returns 0 or a negative ZQ_E* code with err set. */
int zq_store_sync_rdb(zq_store *st, int timeout_ms, zq_store_rdb_sink sink, void *ctx,
                      int64_t *bytes, zq_err *err);

/* Packed script replies: a script that returns many strings packs them
 * into one, so that hiredis makes one reply object rather than one per
 * string (the case lookup, the staff list page). Each value is
 * "LEN:BYTES", a missing one (nil or false) "~". ZQ_STORE_LUA_PACK
 * defines the Lua function zq_pack(t, v) that appends v's form to the
 * table t; the script returns table.concat(t). */
#define ZQ_STORE_LUA_PACK                                                                          \
    "local function zq_pack(t, v)\n"                                                               \
    "  if v then t[#t + 1] = #v .. ':' .. v else t[#t + 1] = '~' end\n"                            \
    "end\n"
/* Reads the value at *i of the pack [p, p+n) and moves *i past it.
 * Returns 1 with the value in *v, *vlen (borrowed from p), 0 for a
 * missing value (*v NULL), or -ZQ_EREPLY when the pack is not one. */
int zq_store_unpack(const char *p, size_t n, size_t *i, const char **v, size_t *vlen);

#endif

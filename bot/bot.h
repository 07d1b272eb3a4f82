/* zhuqi-bot: the outbox consumer (delivery through libcurl's multi
 * interface), the scheduler (reminders under a lease, notice fan-out), the
 * case-event consumer and the dry run. One thread: Redis calls are short
 * and pipelined, HTTP transfers run concurrently in the multi handle, and
 * signals arrive on a signalfd that wakes the same poll. */
#ifndef ZHUQI_BOT_H
#define ZHUQI_BOT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "zhuqi/calendar.h"
#include "zhuqi/channel.h"
#include "zhuqi/config.h"
#include "zhuqi/netguard.h"
#include "zhuqi/outbox.h"
#include "zhuqi/ratelimit.h"
#include "zhuqi/reminders.h"
#include "zhuqi/schema.h"
#include "zhuqi/store.h"
#include "zhuqi/template.h"

/* Runs until SIGTERM or SIGINT (which the caller must have blocked, so
 * they are taken synchronously here). SIGHUP reloads config_path.
 * Returns a process exit code. */
int zq_bot_run(const char *config_path, const zq_config *cfg);

/* `zhuqi-bot --dry-run [--at TIME]`: prints which reminder occurrences
 * would go out at TIME (default now), to which targets and with what text
 * per channel, without sending or writing anything. Returns an exit code. */
int zq_bot_dry_run(const char *config_path, const zq_config *cfg, const char *at, FILE *out);

/* The rate-limit windows of a channel (at most 3): the per-minute limit
 * over rate_window_ms + rate_slack_ms, the per-second limit over a 60th
 * of the window plus a tenth of the slack and the per-hour limit over 60
 * windows plus the slack. sms: per number, one per zq_sms_limits'
 * interval (seconds as 60ths of the window), per hour (60 windows) and
 * per day (1440 windows), each plus the slack. Returns how many. */
int zq_bot_rate_windows(const zq_config *cfg, zq_channel_kind k, zq_rate_window *w);

/* Telegram's limit per bot, over all its chats ([channels]
 * telegram_bot_per_second, over the same second as the per-chat limit):
 * the window into w; returns 1, or 0 when the limit is off. */
int zq_bot_telegram_bot_window(const zq_config *cfg, zq_rate_window *w);

/* The name of a Telegram bot's rate-limit log: "tgbot:" and 16 hex
 * digits of SHA-256 of its token (the token itself never goes into a
 * Redis key). out has at least ZQ_BOT_TGBOT_ID_MAX bytes. */
#define ZQ_BOT_TGBOT_ID_MAX 23
void zq_bot_telegram_bot_id(const char *token, char *out);

/* The name of a robot webhook's rate-limit log: "hook:" and 16 hex digits
 * of SHA-256 of its address (which holds the robot's key). A robot's limit
 * is the webhook's, so every target saved with the same address shares
 * it. out has at least ZQ_BOT_TGBOT_ID_MAX bytes. */
void zq_bot_hook_id(const char *address, char *out);

/* ---- the HTTP side: a libcurl multi handle with a fixed pool ---- */

typedef struct zq_sender zq_sender;

/* The outcome of one transfer. */
typedef struct zq_sent {
    void *ctx;        /* as given to zq_sender_start */
    long status;      /* HTTP status; 0 when no answer */
    const char *body; /* the response (borrowed until the next call), NUL-terminated */
    size_t len;
    const char *retry_after; /* the Retry-After header or NULL */
    char error[160];         /* transport error ("" when there was an answer) */
    bool refused;            /* the address guard refused the peer: error says why */
    bool too_big;            /* the body passed its limit (error says so) */
    char content_type[128];  /* the answer's Content-Type ("" none) */
    char filename[128];      /* a Content-Disposition filename="..." ("" none) */
} zq_sent;

/* A sender with room for max transfers at once. NULL when out of memory. */
zq_sender *zq_sender_new(int max, int connect_timeout_ms, int timeout_ms);
void zq_sender_free(zq_sender *s);
/* Applies new timeouts to transfers started from now on. */
void zq_sender_set_timeouts(zq_sender *s, int connect_timeout_ms, int timeout_ms);

/* Transfers in flight, and free slots. */
int zq_sender_busy(const zq_sender *s);
int zq_sender_free_slots(const zq_sender *s);

/* Starts POSTing body (borrowed: must live until the transfer ends) to
 * url with content_type ("" for none) and extra "Name: value" headers;
 * body NULL makes it a GET. With a guard
 * (borrowed, must live until the transfer ends; NULL: none) every peer
 * address is checked by zq_netguard_check() when the socket is opened,
 * without a proxy, and a pooled connection is reused only when it goes
 * to the address a guarded transfer to the same host:port reached and
 * the guard still passes (pinned for ZQ_SENDER_PIN_TTL_MS; never a
 * connection an unguarded transfer opened). Returns 0, or
 * -ZQ_EBUSY when no slot is free, -ZQ_ENOMEM, or -ZQ_ETOOBIG when the
 * Content-Type header would not fit (a constant of ours: it does). */
int zq_sender_start(zq_sender *s, const char *url, const char *content_type,
                    const char *const *headers, int nheaders, const char *body, size_t len,
                    const zq_netguard *guard, void *ctx);

/* Starts GETting url into f (borrowed, open until the transfer ends),
 * at most max bytes (the write callback refuses more: zq_sent.too_big),
 * within timeout_ms; unguarded (operators' URLs only). Returns 0,
 * -ZQ_EBUSY when no slot is free, or -ZQ_ENOMEM. */
int zq_sender_get_file(zq_sender *s, const char *url, FILE *f, uint64_t max, int timeout_ms,
                       void *ctx);

/* Aborts the transfer in flight started with ctx (none: nothing),
 * handing it back through zq_sender_next with error "aborted". */
void zq_sender_abort(zq_sender *s, const void *ctx);

/* How long a guarded host:port stays pinned to the address a guarded
 * transfer reached it at before its name is resolved and checked again. */
#define ZQ_SENDER_PIN_TTL_MS 60000

/* Sets that time (tests: 0 makes every guarded transfer resolve afresh). */
void zq_sender_set_pin_ttl(zq_sender *s, int64_t ttl_ms);

/* Adds a curl CURLOPT_RESOLVE entry ("host:port:addr", "-host:port" to
 * drop one; copied) applied, in order, to every transfer started from now
 * on: lets tests point a name at an address and move it. Returns 0 or
 * -ZQ_ENOMEM. */
int zq_sender_resolve(zq_sender *s, const char *entry);

/* Waits up to timeout_ms for network activity or extra_fd (-1: none) to be
 * readable, then drives the transfers. Sets *fd_ready. Returns 0 or -1. */
int zq_sender_poll(zq_sender *s, int timeout_ms, int extra_fd, bool *fd_ready);

/* The next finished transfer: returns true and fills out (its slot is free
 * again), or false when none is finished. */
bool zq_sender_next(zq_sender *s, zq_sent *out);

/* Aborts every transfer in flight, handing each back through
 * zq_sender_next with error "aborted". */
void zq_sender_abort_all(zq_sender *s);

#endif

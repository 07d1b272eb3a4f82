/* Inbound chat webhooks: one adapter per platform (WeCom, DingTalk,
 * Feishu, Telegram, generic) behind one small interface: verify the
 * request by the platform's own scheme, parse it into {channel, user,
 * chat, message id, text, kind}, and render the dialogue's replies the
 * way the platform takes them (in the HTTP answer, or as entries for the
 * bot's priority lane). Adapters do no I/O: fcgi/hooks.c runs them, the
 * de-duplication and the dialogue, and the tests feed them vectors. */
#ifndef ZHUQI_INBOUND_H
#define ZHUQI_INBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/chat_outbox.h"
#include "zhuqi/common.h"
#include "zhuqi/config.h"
#include "zhuqi/dialogue.h"

/* Clock skew accepted on signed requests (WeCom one hour, Feishu eight
 * hours for its retries, the generic channel five minutes; DingTalk
 * [dingtalk] sign_window): see config.h. */
#define ZQ_INBOUND_WINDOW_MS (ZQ_CONFIG_SIGN_WINDOW_S * 1000LL)
#define ZQ_INBOUND_FEISHU_WINDOW_MS (ZQ_CONFIG_FEISHU_WINDOW_S * 1000LL)
#define ZQ_INBOUND_GENERIC_WINDOW_MS (ZQ_CONFIG_GENERIC_WINDOW_S * 1000LL)

/* Reply size limits in bytes of UTF-8 text per message (a Chinese
 * character is 3 bytes), when [channels] *_max_bytes is 0. */
#define ZQ_INBOUND_WECOM_MAX 2048
#define ZQ_INBOUND_DINGTALK_MAX 20000
#define ZQ_INBOUND_FEISHU_MAX 16000
#define ZQ_INBOUND_TELEGRAM_MAX 4096
#define ZQ_INBOUND_GENERIC_MAX 4096

typedef enum zq_inbound_kind {
    ZQ_INBOUND_TEXT,   /* a text message: text is set */
    ZQ_INBOUND_OTHER,  /* a message that is not text (image, voice, file, sticker...) */
    ZQ_INBOUND_IGNORE, /* an event that needs no answer (edits, bots, unknown events) */
    ZQ_INBOUND_DONE,   /* answered by the adapter itself (URL check, challenge) */
} zq_inbound_kind;

/* What an adapter sees of an HTTP request. header() and query() return
 * borrowed strings or NULL. */
typedef struct zq_inbound_http {
    const char *method;
    const char *body;
    size_t body_len;
    const char *(*header)(void *ctx, const char *name);
    const char *(*query)(void *ctx, const char *name);
    void *ctx;
    int64_t now_ms;
} zq_inbound_http;

/* A parsed message. Clear with zq_inbound_msg_clear(). */
typedef struct zq_inbound_msg {
    zq_inbound_kind kind;
    const char *channel; /* static: "wecom", ... */
    char user[256];
    char chat[256];
    char msg_id[256]; /* the platform's message, event or update id */
    /* A signature that covers no message id (DingTalk's), key-safe, and
     * the seconds it still verifies; "" when the platform signs the body
     * or nothing (see zq_dialogue_in.sig_id). */
    char sig_id[128];
    int sig_ttl_s;
    char *text; /* owned; NULL unless kind is TEXT */
    size_t text_len;
    bool group;
    /* How to reply. */
    char reply_url[1024]; /* DingTalk: the session webhook */
    int64_t reply_expires_ms;
    char reply_to[256]; /* Feishu: message id; Telegram: chat id */
    /* DingTalk groups: the asker's senderStaffId, @-mentioned in the
     * reply; "" in a 1:1 chat or without a staff id. */
    char reply_at[65];
    /* Where 订阅 sends reminders (see zq_dialogue_in). */
    bool can_push;
    zq_channel_kind target_kind;
    char target_address[512];
    char target_chat_id[256];
    /* The target's signing secret (generic: [generic] secret); "" none.
     * A secret: never logged. */
    char target_secret[256];
    /* An image or file sent in the chat (kind OTHER) that the platform's
     * media API can fetch: Telegram's file_id (the largest photo size, or
     * the document), WeCom's MediaId; "" when none. */
    char media_id[256];
    char media_name[128]; /* the file's name when the platform says it, else "" */
    long long media_size; /* bytes when the platform says it, else 0 */
    char media_caption[256];
} zq_inbound_msg;

void zq_inbound_msg_clear(zq_inbound_msg *m);

/* The HTTP answer. Clear with zq_inbound_resp_clear(). */
typedef struct zq_inbound_resp {
    int status;
    const char *content_type; /* static */
    zq_buf body;
} zq_inbound_resp;

void zq_inbound_resp_clear(zq_inbound_resp *r);
/* Sets r to status with the API's JSON error shape. Returns -code, so
 * adapters can `return zq_inbound_reject(...)`. */
int zq_inbound_reject(zq_inbound_resp *r, int status, int code, const char *ecode,
                      const char *message);

typedef struct zq_inbound_adapter {
    const char *name; /* "wecom", ... (also the path: /hook/<name>) */
    /* True when the platform's keys are set. */
    bool (*configured)(const zq_config *cfg);
    /* Verifies and parses. Returns 0 with msg filled (and resp too when
     * msg->kind is ZQ_INBOUND_DONE), or a negative code with resp set to
     * the rejection (401 bad signature, stale timestamp or token; 400
     * malformed; 413 too large) and err saying why, for the log. */
    int (*parse)(const zq_config *cfg, const zq_inbound_http *h, zq_inbound_msg *msg,
                 zq_inbound_resp *resp, zq_err *err);
    /* Renders replies (r may hold none: the answer to a duplicate or an
     * ignored event) into the HTTP answer resp (reset first) and the
     * outbox entries out. Returns 0 or a negative code. */
    int (*render)(const zq_config *cfg, const zq_inbound_msg *msg, const zq_dialogue_replies *r,
                  int64_t now_ms, zq_inbound_resp *resp, zq_chat_outbox *out, zq_err *err);
} zq_inbound_adapter;

/* The adapter for a channel name, or NULL. */
const zq_inbound_adapter *zq_inbound_find(const char *name);

extern const zq_inbound_adapter zq_inbound_wecom;
extern const zq_inbound_adapter zq_inbound_dingtalk;
extern const zq_inbound_adapter zq_inbound_feishu;
extern const zq_inbound_adapter zq_inbound_telegram;
extern const zq_inbound_adapter zq_inbound_generic;

/* The length of the next part of [s, s+len) that fits max bytes: all of
 * it when it fits, else cut at the last line break in the second half of
 * the allowance, else at the last character boundary. Never 0 when len
 * and max are not (a character longer than max is taken whole). */
size_t zq_inbound_part(const char *s, size_t len, size_t max);

/* The replies joined by blank lines into b (for platforms that take one
 * message per answer). Returns 0 or -ZQ_ENOMEM. */
int zq_inbound_join(zq_buf *b, const zq_dialogue_replies *r);

/* A message id in a form safe for a Redis key: itself when it is 1..100
 * characters of A-Z a-z 0-9 _ . - : @, else 40 hex digits of its SHA-1.
 * out has 128 bytes. */
void zq_inbound_safe_id(const char *id, char out[128]);

/* Makes msg a text message holding a copy of the JSON string text, whole
 * (a \u0000 inside is refused later as not text). Returns 0, or after a
 * 500 in resp -ZQ_ENOMEM. */
int zq_inbound_take_text(zq_inbound_msg *msg, json_t *text, zq_inbound_resp *resp);

/* Copies a string of at most outsz - 1 bytes; false when it is longer or
 * NULL (out is then ""). */
bool zq_inbound_copy(char *out, size_t outsz, const char *s);

/* WeCom: queues text (UTF-8, any length) on out as app messages to the
 * member user through the app's message API ([wecom] agent_id, the
 * wecom_base_url; zhuqi-bot adds the access token): one priority-lane
 * entry, channel "wecom-app", a series (chat_outbox.h "parts") of text
 * messages of at most ZQ_INBOUND_WECOM_MAX bytes cut on character
 * boundaries (at a line break when one is near), in order; beyond
 * ZQ_CHAT_OUTBOX_MAX_PARTS parts the last is cut short and says so. Its
 * sends share the rate-limit log of the member's subscription target.
 * Returns 0, -ZQ_EINVAL for empty text, or another negative code (out
 * then unchanged or holding the entry). */
int zq_inbound_wecom_app_parts(const zq_config *cfg, const char *user, const char *s, size_t len,
                               zq_chat_outbox *out, zq_err *err);

/* The body of part i of a reply series: the text [s, s+n) as the
 * platform's request. Returns a new JSON object, or NULL (out of memory). */
typedef json_t *(*zq_inbound_part_fn)(const void *ctx, const char *s, size_t n, size_t i);

/* A reply of several texts to one URL (strings borrowed). */
typedef struct zq_inbound_series_req {
    const char *channel; /* the entry's channel ("dingtalk", ...) */
    const char *url;
    const char *const *headers;
    size_t nheaders;
    const char *auth; /* NULL or a ZQ_CHAT_AUTH_* */
    int64_t expires_ms;
    const char *const *texts; /* UTF-8, in the order they are to arrive */
    size_t ntexts;
    size_t max;              /* bytes of text per part */
    zq_inbound_part_fn part; /* renders each part */
    const void *ctx;         /* for part */
} zq_inbound_series_req;

/* Queues the texts of q on out as one priority-lane entry: each text cut
 * into parts of at most q->max bytes on character boundaries (at a line
 * break when one is near), every part rendered by q->part. One part is an
 * ordinary entry; more are one series (chat_outbox.h "parts"), so the bot
 * sends them in order, each only after the platform took the one before,
 * and a retry resumes at the first part not taken. Beyond
 * ZQ_CHAT_OUTBOX_MAX_PARTS parts the last is cut short and says so.
 * Nothing is queued when the texts are empty. Returns 0, -ZQ_ETOOBIG when
 * out is full, or another negative code (err says why). */
int zq_inbound_series(zq_chat_outbox *out, const zq_inbound_series_req *q, zq_err *err);

/* The effective byte limit: the configured one when not 0, else def. */
size_t zq_inbound_limit(size_t configured, size_t def);

#endif

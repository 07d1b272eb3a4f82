/* Chat replies that must go through a platform API (DingTalk session
 * webhook, Feishu IM reply, Telegram sendMessage) are not sent by
 * zhuqi-fcgi: they are queued on the bot's priority lane, the stream
 * {prefix}outbox:prio, which zhuqi-bot reads before its ordinary outbox.
 *
 * One stream entry per HTTP request (or per ordered series of requests
 * to one URL, see parts), fields:
 *   kind        "reply"
 *   channel     "dingtalk", "feishu", "telegram", "wecom-app"
 *   url         where to POST
 *   body        the request body (JSON); with parts, a JSON array of
 *               that many request bodies
 *   headers     JSON array of "Name: value" strings
 *   auth        "" or "feishu_tenant_token": add "Authorization: Bearer
 *               <tenant access token>" (lib/push/apptoken.c) before sending;
 *               "wecom_access_token": add the WeCom app's access_token to
 *               the URL's query (apptoken.h), refreshed once when WeCom
 *               says it expired
 *   created_ms  when it was queued
 *   expires_ms  "0", or the time after which it must not be sent (the
 *               DingTalk session webhook's expiry)
 *   parts       optional, 1..ZQ_CHAT_OUTBOX_MAX_PARTS: body holds that many
 *               requests, sent one after the other in order (the next
 *               only once the platform took the previous one; a retry
 *               resumes at the first part not yet taken)
 *   rl          optional: the id of the rate-limit log the sends take a
 *               slot in (the chat's target id, zq_target_chat_id, so that
 *               replies and pushes to one chat share its limit)
 * This is the interim layout until include/zhuqi/outbox.h (owned by the
 * bot) defines the lane; keep both in step. */
#ifndef ZHUQI_CHAT_OUTBOX_H
#define ZHUQI_CHAT_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "zhuqi/common.h"
#include "zhuqi/store.h"

#define ZQ_CHAT_OUTBOX_STREAM "outbox:prio"
#define ZQ_CHAT_OUTBOX_MAX 8     /* entries per inbound message */
#define ZQ_CHAT_OUTBOX_FIELDS 20 /* strings (names and values) per entry */
#define ZQ_CHAT_OUTBOX_MAX_PARTS 16

/* The auth field's values. */
#define ZQ_CHAT_AUTH_FEISHU "feishu_tenant_token"
#define ZQ_CHAT_AUTH_WECOM "wecom_access_token"
#define ZQ_CHAT_OUTBOX_MAXLEN "100000"

typedef struct zq_chat_outbox_entry {
    char channel[16];
    char *url;     /* owned */
    char *body;    /* owned */
    char *headers; /* owned: JSON array */
    char auth[32];
    int64_t expires_ms;
    int parts;       /* 0: body is one request; else how many the array holds */
    char parts_s[8]; /* parts as the field's value ("" when 0) */
    char rl[48];     /* "" or the rate-limit log id */
} zq_chat_outbox_entry;

/* The entries one inbound message produces. Zero-initialise; clear with
 * zq_chat_outbox_clear(). */
typedef struct zq_chat_outbox {
    zq_chat_outbox_entry e[ZQ_CHAT_OUTBOX_MAX];
    size_t n;
} zq_chat_outbox;

/* Adds an entry (strings are copied; auth may be NULL). Returns 0,
 * -ZQ_ETOOBIG when the list is full, -ZQ_EINVAL when channel or auth is
 * longer than its field, or -ZQ_ENOMEM. The new entry is
 * o->e[o->n - 1] (see zq_chat_outbox_series). */
int zq_chat_outbox_push(zq_chat_outbox *o, const char *channel, const char *url, const char *body,
                        const char *const *headers, size_t nheaders, const char *auth,
                        int64_t expires_ms);
void zq_chat_outbox_clear(zq_chat_outbox *o);

/* Makes e a series of parts requests (its body must then be a JSON array
 * of them; 0: body is one request) whose sends take a slot in the rate-limit
 * log rl (NULL or "": none). Returns 0, or -ZQ_EINVAL when parts is over
 * ZQ_CHAT_OUTBOX_MAX_PARTS or rl too long. */
int zq_chat_outbox_series(zq_chat_outbox_entry *e, int parts, const char *rl);

/* The field/value strings of entry e for XADD, into argv (at least
 * ZQ_CHAT_OUTBOX_FIELDS slots); created and expires are the caller's
 * buffers for the numbers. Returns the number of strings, or 0 when a
 * number cannot be formatted (not expected: 24 bytes hold any int64). */
size_t zq_chat_outbox_fields(const zq_chat_outbox_entry *e, int64_t now_ms, char created[24],
                             char expires[24], const char **argv);

/* Queues every entry of o (XADD, pipelined). Returns 0 or -ZQ_EUNAVAIL /
 * -ZQ_EREPLY, or -ZQ_ETOOBIG / -ZQ_EINVAL when the stream key or an
 * entry cannot be formatted. Used where no state is saved with the entries; the
 * dialogue queues its replies in the same script that saves its state. */
int zq_chat_outbox_send(zq_store *st, const zq_chat_outbox *o, int64_t now_ms, zq_err *err);

#endif

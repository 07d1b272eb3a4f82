/* Chat replies that must go through a platform API (DingTalk session
 * webhook, Feishu IM reply, Telegram sendMessage) are not sent by
 * zhuqi-fcgi: they are queued on the bot's priority lane, the stream
 * {prefix}outbox:prio, which zhuqi-bot reads before its ordinary outbox.
 *
 * One stream entry per HTTP request, fields:
 *   kind        "reply"
 *   channel     "dingtalk", "feishu", "telegram"
 *   url         where to POST
 *   body        the request body (JSON)
 *   headers     JSON array of "Name: value" strings
 *   auth        "" or "feishu_tenant_token": add "Authorization: Bearer
 *               <tenant access token>" (lib/feishu_token.c) before sending
 *   created_ms  when it was queued
 *   expires_ms  "0", or the time after which it must not be sent (the
 *               DingTalk session webhook's expiry)
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
#define ZQ_CHAT_OUTBOX_FIELDS 16 /* strings (names and values) per entry */
#define ZQ_CHAT_OUTBOX_MAXLEN "100000"

typedef struct zq_chat_outbox_entry {
    char channel[16];
    char *url;     /* owned */
    char *body;    /* owned */
    char *headers; /* owned: JSON array */
    char auth[32];
    int64_t expires_ms;
} zq_chat_outbox_entry;

/* The entries one inbound message produces. Zero-initialise; clear with
 * zq_chat_outbox_clear(). */
typedef struct zq_chat_outbox {
    zq_chat_outbox_entry e[ZQ_CHAT_OUTBOX_MAX];
    size_t n;
} zq_chat_outbox;

/* Adds an entry (strings are copied; auth may be NULL). Returns 0,
 * -ZQ_ETOOBIG when the list is full, or -ZQ_ENOMEM. */
int zq_chat_outbox_push(zq_chat_outbox *o, const char *channel, const char *url, const char *body,
                        const char *const *headers, size_t nheaders, const char *auth,
                        int64_t expires_ms);
void zq_chat_outbox_clear(zq_chat_outbox *o);

/* The field/value strings of entry e for XADD, into argv (at least
 * ZQ_CHAT_OUTBOX_FIELDS slots); created and expires are the caller's
 * buffers for the numbers. Returns the number of strings. */
size_t zq_chat_outbox_fields(const zq_chat_outbox_entry *e, int64_t now_ms, char created[24],
                             char expires[24], const char **argv);

/* Queues every entry of o (XADD, pipelined). Returns 0 or -ZQ_EUNAVAIL /
 * -ZQ_EREPLY. Used where no state is saved with the entries; the
 * dialogue queues its replies in the same script that saves its state. */
int zq_chat_outbox_send(zq_store *st, const zq_chat_outbox *o, int64_t now_ms, zq_err *err);

#endif

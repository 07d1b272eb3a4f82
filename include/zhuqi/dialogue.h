/* The chat dialogue: one engine behind every chat platform, turning
 * (channel, user, text) into replies. It drives the same flows as the web
 * (the form schemas, their validators and Chinese messages, the review
 * and confirmation, cases via zq_case_create), plus the menu, status
 * lookups, reminder subscriptions, class listings and the hand-over of a
 * draft to the web form.
 *
 * State lives in Redis, one hash per channel and user,
 * {prefix}chat:{channel}:{user} = {v: version, s: state JSON}, with a
 * sliding TTL of [chat] session_ttl, and a small marker
 * {prefix}chat:{channel}:{user}:seen that outlives it (30 days) so that a
 * user who comes back after the session expired is told so. Every
 * message is processed against one version and saved with a Lua
 * compare-and-set on it; when another worker saved first, the message is
 * processed again on the new state, so two messages of one user never
 * both advance from the same state or overwrite each other. Side effects
 * that happen before the save (case creation, subscriptions) are
 * idempotent, so a retry repeats them harmlessly.
 *
 * Not thread-safe per env (one store per thread); thread-safe otherwise. */
#ifndef ZHUQI_DIALOGUE_H
#define ZHUQI_DIALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuqi/calendar.h"
#include "zhuqi/channel.h"
#include "zhuqi/chat_outbox.h"
#include "zhuqi/common.h"
#include "zhuqi/config.h"
#include "zhuqi/schema.h"
#include "zhuqi/store.h"

#define ZQ_DIALOGUE_MAX_REPLIES 8
#define ZQ_DIALOGUE_USER_MAX 64 /* longer or unusual user ids are hashed */

/* The replies to one message, in order. Each is UTF-8 text. */
typedef struct zq_dialogue_replies {
    char *text[ZQ_DIALOGUE_MAX_REPLIES]; /* owned */
    size_t n;
    bool duplicate; /* the message id was seen before: nothing done, n is 0 */
    bool replayed;  /* the signature came with another message id: nothing done, n is 0 */
} zq_dialogue_replies;

void zq_dialogue_replies_clear(zq_dialogue_replies *r);

/* An image or file sent in a chat, which zhuqi-bot fetches through the
 * platform's media API (chatmedia.h). Strings borrowed. */
typedef struct zq_dialogue_media {
    const char *id;       /* Telegram file_id, WeCom MediaId */
    const char *name;     /* "" when the platform gives none */
    long long size;       /* 0 when the platform gives none */
    const char *caption;  /* "" none: may name the file's kind (合同, 发票...) */
    const char *reply_to; /* where the bot answers: Telegram's chat id, "" for WeCom */
} zq_dialogue_media;

/* One inbound message. Strings are borrowed. */
typedef struct zq_dialogue_in {
    const char *channel; /* "wecom", "dingtalk", "feishu", "telegram", "generic" */
    const char *user;    /* the platform's id of the sender */
    const char *chat;    /* the conversation; NULL: user (informational) */
    /* A group chat (DingTalk conversationType 2, Feishu chat_type group,
     * Telegram group/supergroup): 订阅 and 退订 act on the group's one
     * subscription (zq_target_group_id), not the sender's. */
    bool group;
    const char *text; /* the text; NULL when the message is not text */
    size_t text_len;
    /* The platform's message id in key-safe form (zq_inbound_safe_id), or
     * NULL. The message is applied at most once per id within [chat]
     * dedup_ttl: {prefix}dedup:{channel}:{id} is checked with the state
     * and set (SET NX EX) in the same script that saves it, so a retry
     * never advances the dialogue twice, and a message that failed can be
     * retried. */
    const char *dedup_id;
    /* A signature that may carry one message only (DingTalk signs only
     * its timestamp, so a captured pair could carry any body), key-safe,
     * or NULL. {prefix}sig:{channel}:{sig_id} remembers the dedup_id first
     * seen with it for sig_ttl_s seconds (SET NX in the load's round
     * trip); the same signature with another id sets replayed. Needs
     * dedup_id. */
    const char *sig_id;
    int sig_ttl_s;
    /* Where reminders for this chat go when the user subscribes (a push
     * target of include/zhuqi/targets.h). can_push false: the channel
     * library cannot push to this platform's chats, 订阅 says so. */
    bool can_push;
    zq_channel_kind target_kind;
    const char *target_address;
    const char *target_chat_id;
    const char *target_secret; /* signs the pushes (generic); NULL: none; never logged */
    /* The platform's media API can fetch what is sent in this chat
     * (Telegram with [telegram] bot_token, WeCom with the app's
     * credentials): the evidence question says files may be sent here. */
    bool media_ok;
    /* An image or file sent (text is then NULL), or NULL. With media_ok,
     * during a draft whose files question has been reached, a fetch job
     * is queued with the saved state (chatmedia.h); otherwise the reply
     * says why it cannot be taken. */
    const zq_dialogue_media *media;
} zq_dialogue_in;

/* Called once the replies are known and before the state is saved, to
 * turn them into outbox entries that the save queues atomically with the
 * new state (so a reply is queued exactly when the dialogue advanced).
 * Returns 0 or a negative code (which fails the message). */
typedef int (*zq_dialogue_outbox_fn)(void *ctx, const zq_dialogue_replies *r, zq_chat_outbox *out);

typedef struct zq_dialogue_env {
    zq_store *store;
    const zq_config *cfg;
    const zq_schema *schema;
    const zq_calendar *calendar;  /* the deadlines lookups show; NULL: Monday-Friday */
    int64_t now_ms;               /* 0: the clock */
    const char *today;            /* "YYYY-MM-DD" for not_future dates; NULL: today */
    zq_dialogue_outbox_fn outbox; /* may be NULL */
    void *outbox_ctx;
} zq_dialogue_env;

/* Processes one message and fills out (cleared first) with the replies.
 * Returns 0; -ZQ_EINVAL for a bad channel or user; -ZQ_EUNAVAIL when
 * Redis is away (nothing was saved: the caller should let the platform
 * retry); -ZQ_EBUSY when the state kept changing under us; or another
 * negative code. */
int zq_dialogue_handle(const zq_dialogue_env *env, const zq_dialogue_in *in,
                       zq_dialogue_replies *out, zq_err *err);

/* The key-safe form of a user id: the id itself when it is 1 to
 * ZQ_DIALOGUE_USER_MAX characters of A-Z a-z 0-9 _ . @ -, else "h" and 32
 * hex digits of its SHA-256. out has room for ZQ_DIALOGUE_USER_MAX + 1. */
void zq_dialogue_user_key(const char *user, char out[ZQ_DIALOGUE_USER_MAX + 1]);

/* Takes (GETDEL) the draft a 网页填写 link carries: returns 0 and a new
 * object {"form", "step", "answers", "done"} in *draft, -ZQ_ENOTFOUND when
 * the token is unknown, used or expired, or -ZQ_EUNAVAIL. */
int zq_dialogue_take_handoff(zq_store *st, const char *token, json_t **draft, zq_err *err);

#define ZQ_DIALOGUE_HANDOFF_TTL_S 900

#endif

/* Push targets: where messages go (a WeCom or DingTalk robot, a Feishu
 * bot, a Telegram chat, a generic webhook), with their secrets and tags,
 * kept in Redis and managed through /api/admin/targets (and created by
 * chat subscriptions).
 *
 * Keys (prefix omitted):
 *   target:{id}         hash: id channel address secret chat_id name tags
 *                       ("a,b,c") source created_ms updated_ms, and when
 *                       disabled: disabled ("1") disabled_reason
 *                       disabled_at_ms
 *   targets             set of every id
 *   targets:dest:{sha}  set of the chat subscriptions (source "chat:...") to
 *                       one destination: sha = SHA-1 hex of
 *                       "channel\naddress\nchat_id" (kept by save and
 *                       delete; the fan-out adds records older than it)
 *   targets:tag:{tag}   set of the ids carrying tag */
#ifndef ZHUQI_TARGETS_H
#define ZHUQI_TARGETS_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "zhuqi/channel.h"
#include "zhuqi/store.h"

#define ZQ_TARGET_MAX_TAGS 32
#define ZQ_TAG_MAX 64            /* bytes, NUL included */
#define ZQ_TARGET_ID_MAX 41      /* 40 characters and the NUL */
#define ZQ_TARGET_REASON_MAX 256 /* a disabled target's reason, NUL included */

/* A stored target: the channel library's zq_target plus bookkeeping. */
typedef struct zq_target_rec {
    zq_target t;
    char name[128];   /* shown to staff; may be "" */
    char source[128]; /* "admin", or "chat:<channel>:<user>" */
    char tags[ZQ_TARGET_MAX_TAGS][ZQ_TAG_MAX];
    int ntags;
    int64_t created_ms;
    int64_t updated_ms;
    /* Set by zhuqi-bot when the platform said the destination is gone
     * (zq_channel_target_gone): audiences skip the target until staff
     * enable it again or the chat subscribes again (a save clears it). */
    bool disabled;
    char disabled_reason[ZQ_TARGET_REASON_MAX];
    int64_t disabled_at_ms;
} zq_target_rec;

/* True when s can be a target id: 1..40 of A-Z a-z 0-9 _ -. */
bool zq_target_id_valid(const char *s);

/* True when s can be a tag: 1..63 bytes of valid UTF-8 without spaces,
 * control characters, commas or braces (region codes, "staff", topics). */
bool zq_tag_valid(const char *s);

/* Reads a target from the JSON the staff API (or a chat subscription)
 * sends: {"id"?, "channel", "address", "secret"?, "chat_id"?, "name"?,
 * "tags"?: [..]}. The address may be the platform's whole webhook URL
 * (the key or token is taken out of it). On success returns 0 and fills
 * out (source "admin", times 0). On error returns -ZQ_EINVAL and sets
 * *field (the JSON key) and *msg (a Chinese message; both static). */
int zq_target_from_json(json_t *in, zq_target_rec *out, const char **field, const char **msg);

/* The outbound rules cfg sets for what a target may reach (netguard.h;
 * [channels] generic_allow): a generic target's URL must be https without
 * user:pass@, and an address written in it must be public, unless the
 * allow-list names it (which also allows http). Other kinds send to the
 * operators' base URLs: always 0. Returns 0 or -ZQ_EINVAL with a Chinese
 * *msg (static). */
int zq_target_check_outbound(const zq_target *t, const zq_config *cfg, const char **msg);

/* The staff view of a target: a new object. The secret is never shown:
 * "has_secret" says whether there is one, and the address is masked for
 * the channels where it is the secret itself (a URL's user:pass@ and
 * query are never shown). */
json_t *zq_target_to_json(const zq_target_rec *r);

/* Fills out from an HGETALL reply of target:{id}. Returns 0, or
 * -ZQ_ENOTFOUND for an empty reply, -ZQ_EREPLY for a malformed record. */
int zq_target_from_reply(const redisReply *r, zq_target_rec *out);

/* Stores r (creating an id "tg-<hex>" when r->t.id is empty), moving it
 * between tag sets atomically. Sets created_ms/updated_ms (now_ms) and
 * *created (false when the id existed and was replaced; created_ms is then
 * kept). Returns 0, -ZQ_EUNAVAIL or -ZQ_EREPLY. */
int zq_target_save(zq_store *st, zq_target_rec *r, int64_t now_ms, bool *created, zq_err *err);

/* Deletes a target and its tag memberships. -ZQ_ENOTFOUND when none. */
int zq_target_delete(zq_store *st, const char *id, zq_err *err);

/* Disables target id with reason (English, shown to staff; cut to
 * ZQ_TARGET_REASON_MAX - 1 bytes), or enables it again when reason is
 * NULL. Fields disabled ("1"), disabled_reason and disabled_at_ms
 * (now_ms); the record and its tags stay. Returns 0, -ZQ_ENOTFOUND,
 * -ZQ_EUNAVAIL or -ZQ_EREPLY. */
int zq_target_set_disabled(zq_store *st, const char *id, const char *reason, int64_t now_ms,
                           zq_err *err);

/* Loads one target. -ZQ_ENOTFOUND when none. */
int zq_target_load(zq_store *st, const char *id, zq_target_rec *out, zq_err *err);

/* Whether target id exists and is not disabled (zq_target_set_disabled):
 * a direct notice to it would be delivered. Returns 0 (*active set) or
 * -ZQ_EUNAVAIL. */
int zq_target_active(zq_store *st, const char *id, bool *active, zq_err *err);

/* A list of target ids: n new strings in id. */
typedef struct zq_target_ids {
    char **id;
    size_t n;
} zq_target_ids;

void zq_target_ids_clear(zq_target_ids *ids);

/* The ids of the targets an audience names (notices.h's JSON text:
 * {"all":true}, or {"tags":[...],"match":"any"|"all"}), read with set
 * commands that write nothing (zhuqi-bot --dry-run shows them). Returns 0
 * with out filled (empty for an audience that is not JSON or names no
 * tag; clear it with zq_target_ids_clear), -ZQ_EUNAVAIL, -ZQ_ENOMEM, or
 * -ZQ_ETOOBIG (a tag too long for a key; zq_audience_parse never lets
 * one through). */
int zq_target_audience(zq_store *st, const char *audience, zq_target_ids *out, zq_err *err);

/* A page of targets (all, or those with tag when not NULL) by SSCAN:
 * appends the staff view of each to list and writes the next cursor
 * ("0" at the end) into next (32 bytes). cursor is "0" to start; limit is
 * a hint (1..1000). Returns 0, -ZQ_EUNAVAIL or -ZQ_EREPLY. */
int zq_target_page(zq_store *st, const char *tag, const char *cursor, int limit, json_t *list,
                   char next[32], zq_err *err);

/* The target id of the chat a case came from, from the case's source
 * ("chat:<channel>:<user>"): "chat-<channel>-" and 16 hex digits of the
 * SHA-1 of "<channel>:<user>" -- the id lib/chat/dialogue*.c gives the target a
 * subscription in that chat creates, so that status changes of the case
 * can reach it. Returns 0, or -ZQ_EINVAL when source is not a chat. out
 * must hold ZQ_TARGET_ID_MAX bytes. */
int zq_target_chat_id(const char *source, char out[ZQ_TARGET_ID_MAX]);

/* The target id of a group chat's subscription: like zq_target_chat_id
 * for the source "chat:<channel>:group:<kind>:<chat>", where <chat> is
 * t's chat_id, or its address when it has none. A subscription belongs to
 * the chat it was made in: every member of a group saying 订阅 saves this
 * one record (a one-to-one chat keeps the person's id, which a case's
 * status notice looks up). Returns 0 or -ZQ_EINVAL. */
int zq_target_group_id(const char *channel, const zq_target *t, char out[ZQ_TARGET_ID_MAX]);

/* Deletes every chat subscription whose destination (channel, address,
 * chat_id) is t's: the records of targets:dest:{sha}, and the id also
 * (may be NULL) when it has that destination -- a group's record and
 * those its members saved one per person before subscriptions belonged
 * to the chat. Sets *deleted. Returns 0, -ZQ_EUNAVAIL or -ZQ_EREPLY. */
int zq_target_delete_chat(zq_store *st, const zq_target *t, const char *also, int *deleted,
                          zq_err *err);

/* Encodes the channel part of a target (kind, address, secret, chat_id,
 * id) as compact JSON for an outbox entry that carries its target inline
 * (a chat reply to a session webhook that is not stored). Returns a new
 * string (free()) or NULL. */
char *zq_target_inline_encode(const zq_target *t);
/* The reverse. Returns 0 or -ZQ_EINVAL. */
int zq_target_inline_decode(const char *s, size_t len, zq_target *out);

#endif

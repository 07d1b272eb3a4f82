/* Messages to an audience: service notices from staff, monthly reminders,
 * case announcements and chat replies. A notice is stored once with its
 * audience; zhuqi-bot fans it out into one outbox entry per target when it
 * is due, and keeps a per-target delivery report. See lib/push/outbox.c for the
 * Redis layout. */
#ifndef ZHUQI_NOTICES_H
#define ZHUQI_NOTICES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "zhuqi/channel.h"
#include "zhuqi/store.h"

#define ZQ_NOTICE_ID_MAX 32
#define ZQ_NOTICE_TITLE_MAX 100    /* characters */
#define ZQ_NOTICE_BODY_MAX 16384   /* bytes */
#define ZQ_NOTICE_MAX_TARGETS 1000 /* explicit target ids in one audience */
#define ZQ_NOTICE_MAX_MENTIONS 20

typedef enum zq_notice_kind {
    ZQ_NOTICE_NOTICE = 0, /* from staff: "NT" ids */
    ZQ_NOTICE_REMINDER,   /* from the scheduler: "RM" */
    ZQ_NOTICE_CASE,       /* a case event: "CA" */
    ZQ_NOTICE_REPLY,      /* a chat reply or a message to one chat: "RP" */
} zq_notice_kind;

/* "notice", "reminder", "case", "reply". */
const char *zq_notice_kind_name(zq_notice_kind k);

/* What a new notice is made of. Strings are borrowed. */
typedef struct zq_notice_new {
    zq_notice_kind kind;
    const char *title;
    const char *body;     /* the markdown subset of zq_message */
    const char *mentions; /* JSON {"mobiles":[..],"all":bool}, or NULL */
    const char *audience; /* JSON from zq_audience_parse(), normalised */
    const char *meta;     /* JSON shown in the report (rule, case...), or NULL */
    const char *created_by;
    bool prio; /* goes through outbox:prio (chat replies) */
    int64_t now_ms;
    int64_t send_at_ms; /* 0 or <= now_ms: at once */
    /* When set (a full key), the notice is created only when this key did
     * not exist; it then names the notice. A second call with the same
     * mark returns the first notice's id with *created false. */
    const char *mark;
    int mark_ttl_s; /* 0: the mark never expires */
} zq_notice_new;

/* Stores a notice and queues it for fan-out at send_at. Returns 0 and its
 * id (ZQ_NOTICE_ID_MAX bytes), or -ZQ_EUNAVAIL / -ZQ_EREPLY. */
int zq_notice_create(zq_store *st, const zq_notice_new *in, char *id, bool *created, zq_err *err);

/* The mark (zq_notice_new.mark) of a staff notice sent with the client's
 * Idempotency-Key key (zq_idem_key_valid), into out[outsz]. Returns 0, or
 * -ZQ_EINVAL when it does not fit. */
int zq_notice_idem_mark(zq_store *st, const char *key, char *out, size_t outsz);

/* A message to exactly one target, queued at once (no fan-out step): a
 * chat reply, a case status change to the complainant's chat. Either
 * target_id names a stored target, or target (inline) is carried in the
 * entry itself, e.g. a DingTalk session webhook that is not stored. The
 * notice and its report expire after ttl_s (0: kept). */
typedef struct zq_direct_new {
    zq_notice_kind kind;
    const char *title;
    const char *body;
    const char *mentions;
    const char *meta;
    const char *target_id;   /* a stored target, or NULL */
    const zq_target *target; /* inline, or NULL */
    bool prio;
    int64_t now_ms;
    int ttl_s;
    const char *mark; /* as in zq_notice_new */
    int mark_ttl_s;
} zq_direct_new;

int zq_notice_send_direct(zq_store *st, const zq_direct_new *in, char *id, bool *created,
                          zq_err *err);

/* Validates an audience from the staff API: {"tags":[..], "match":"any"|
 * "all", "targets":[ids], "all":true}; at least one of them. On success
 * returns 0 and a new normalised object in *out; on error -ZQ_EINVAL with
 * a Chinese *msg. */
int zq_audience_parse(json_t *in, json_t **out, const char **msg);

/* Validates mentions {"mobiles":[..], "all":bool} (mobiles normalised to
 * 11 digits). Same contract as zq_audience_parse. */
int zq_mentions_parse(json_t *in, json_t **out, const char **msg);

/* Up to max ids of notices whose send_at has come and that are not fully
 * fanned out yet, into ids[i] (ZQ_NOTICE_ID_MAX bytes each). */
int zq_notice_due(zq_store *st, int64_t now_ms, char (*ids)[ZQ_NOTICE_ID_MAX], int max, int *n,
                  zq_err *err);

/* Fans out up to chunk targets of notice id into the outbox, atomically:
 * the audience is snapshotted on the first call, each target gets one
 * entry and a "queued" line in the report, however often this runs and
 * however many instances run it. *added is the entries written, *left the
 * targets still to do (0: done). Returns 0, -ZQ_ENOTFOUND (no such
 * notice; it is dropped from the due list), -ZQ_EUNAVAIL, -ZQ_EREPLY. */
int zq_notice_fanout(zq_store *st, const char *id, int chunk, int64_t now_ms, int *added, int *left,
                     zq_err *err);

/* The content of a notice for sending. */
typedef struct zq_notice_content {
    char *title; /* new strings, free with zq_notice_content_clear */
    char *body;
    char **mobiles; /* mentions */
    size_t nmobiles;
    bool mention_all;
} zq_notice_content;

/* Builds content from an HMGET notice:{id} title body mentions reply.
 * Returns 0 or -ZQ_ENOTFOUND (no such notice) or -ZQ_ENOMEM. */
int zq_notice_content_from_reply(const redisReply *r, zq_notice_content *out);
void zq_notice_content_clear(zq_notice_content *c);

/* The staff view of a notice with its delivery report: totals and a page
 * of per-target lines (HSCAN from cursor, about limit lines). Returns 0
 * and a new object in *out, -ZQ_ENOTFOUND, -ZQ_EUNAVAIL or -ZQ_EREPLY. */
int zq_notice_report(zq_store *st, const char *id, const char *cursor, int limit, int64_t now_ms,
                     json_t **out, zq_err *err);

/* The latest notices (newest first), without per-target lines. */
int zq_notice_recent(zq_store *st, int limit, int64_t now_ms, json_t **out, zq_err *err);

/* True when s looks like a notice id ("NT20261126-0001"). */
bool zq_notice_id_valid(const char *s);

/* Parses an ISO 8601 time: "YYYY-MM-DDTHH:MM[:SS[.fff]]" followed by "Z",
 * "+HH:MM" / "-HH:MM", or nothing (then Beijing time). A space may stand
 * for the T. Returns 0 and ms since the epoch, or -ZQ_EINVAL. */
int zq_time_parse(const char *s, int64_t *ms);

#endif

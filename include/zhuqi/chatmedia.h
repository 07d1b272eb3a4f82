/* Images and files sent in a chat, attached to the chat's draft: the
 * dialogue (zhuqi-fcgi) queues a fetch job with the state it saves, and
 * zhuqi-bot fetches the bytes through the platform's media API (Telegram
 * getFile and the file URL, WeCom media/get), checks them like a web
 * upload (filestore.h), stores them, attaches the record here and
 * answers in the chat. Downloads never happen inside a webhook request:
 * the platforms want an answer within seconds.
 *
 * Keys (prefix omitted):
 *   chatmedia:jobs      hash job id -> job JSON {id, channel, user, ukey,
 *                       draft, field, kind, media_id, name, size,
 *                       reply_to, attempts}
 *   chatmedia:due       zset job id -> when it may run (ms); a job taken
 *                       is pushed a lease ahead, so a bot that dies with
 *                       it leaves it to another
 *   chat:{channel}:{ukey} f   {"draft": the draft's id, "list": records}:
 *                       the files of the chat's draft (dialogue.h's hash);
 *                       a list of another draft counts as empty
 * A chat draft's file is pending (files.h files:pending) as
 * "{file id}:chat:{channel}:{ukey}" until its case is created. */
#ifndef ZHUQI_CHATMEDIA_H
#define ZHUQI_CHATMEDIA_H

#include <jansson.h>
#include <stdint.h>

#include "zhuqi/common.h"
#include "zhuqi/files.h"
#include "zhuqi/store.h"

#define ZQ_CHATMEDIA_JOBS "chatmedia:jobs"
#define ZQ_CHATMEDIA_DUE "chatmedia:due"
/* Tries of one job before it is given up (the user is told). */
#define ZQ_CHATMEDIA_ATTEMPTS 3

/* Takes the first job due at now_ms, pushing it lease_ms ahead. Returns
 * 1 with a new object in *job, 0 when none is due, or -ZQ_EUNAVAIL /
 * -ZQ_EREPLY (err set). A job that is not JSON is dropped (logged). */
int zq_chatmedia_take(zq_store *st, int64_t now_ms, int64_t lease_ms, json_t **job, zq_err *err);

/* Forgets job (borrowed) once done or given up. Returns 0 or a negative
 * code. */
int zq_chatmedia_done(zq_store *st, json_t *job, zq_err *err);

/* Saves job (borrowed, its "attempts" already counted) to run again at
 * due_ms. Returns 0 or a negative code. */
int zq_chatmedia_retry(zq_store *st, json_t *job, int64_t due_ms, zq_err *err);

/* Attaches rec (borrowed; a files.h record, already in the file store)
 * to the draft of job's chat, if that draft is still the chat's and
 * still open, checking the limits against its files, in one script that
 * also marks the file pending and bumps the chat's version (so that a
 * confirmation in flight is processed again with it). Returns 0 with the
 * draft's count and bytes (may be NULL), -ZQ_ENOTFOUND when the draft
 * has ended (cancelled, submitted or expired), -ZQ_ECONFLICT at
 * max_files, -ZQ_ETOOBIG past max_bytes, or -ZQ_EUNAVAIL / -ZQ_EREPLY. */
int zq_chatmedia_attach(zq_store *st, json_t *job, json_t *rec, const zq_files_limits *lim,
                        int64_t now_ms, int *count, uint64_t *bytes, zq_err *err);

#endif

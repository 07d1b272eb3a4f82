/* The case history line of a progress SMS: once zhuqi-bot knows how an
 * SMS about a case ended (sent, or dead-lettered), the case's history
 * (case:{id}:log, cases.h) gets one line for staff,
 *   {"kind":"sms","at_ms":..,"by":"系统","status":<use>,"ok":bool,
 *    "note":"短信已发送（已受理）" | "短信发送失败：<reason>"}
 * which the public view and the deadlines skip (they read "status"
 * entries only). The notice's meta ({"type":"sms","use","case"}, written
 * by zq_sms_queue) says which case; an SMS without a case (a code) gets
 * no line. Exactly once per notice: the line is pushed in the script that
 * sets smsrep:{notice} NX, so a second report of the same SMS (a retry
 * after a crash) adds nothing. */
#ifndef ZHUQI_SMSREPORT_H
#define ZHUQI_SMSREPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "zhuqi/common.h"
#include "zhuqi/store.h"

/* How long the once-mark of a report is kept (a day past any retry). */
#define ZQ_SMSREPORT_MARK_TTL_S (31 * 86400)

/* The note of a history line into out[outsz]: "短信已发送（<label>）", or
 * "短信发送失败：<reason>" cut on a character boundary. Returns out. */
char *zq_smsreport_note(bool ok, const char *status, const char *reason, char *out, size_t outsz);

/* Reports how the SMS of notice ended (ok: the provider took it; else
 * reason, English, from the dead letter) in its case's history. Returns
 * 1 when a line was added, 0 when none was due (no case, an unknown
 * notice, already reported, the case is gone), or -ZQ_EUNAVAIL /
 * -ZQ_EREPLY. */
int zq_smsreport_write(zq_store *st, const char *notice, bool ok, const char *reason,
                       int64_t now_ms, zq_err *err);

/* One report for zq_smsreport_write_all (strings borrowed). target (may
 * be NULL) is the outbox entry's target: a failure line is then not
 * written when done:{notice}:{target} (outbox.h) exists, so a report
 * written before its entry is settled cannot contradict a delivery that
 * got through meanwhile. */
typedef struct zq_smsreport_op {
    const char *notice;
    bool ok;
    const char *reason;
    const char *target;
} zq_smsreport_op;

/* zq_smsreport_write for n SMS in two round trips (the notices' metas,
 * then one script for every line due): results[i] is 1 when ops[i] added
 * a line, else 0. Returns 0, or the first error (-ZQ_EUNAVAIL,
 * -ZQ_EREPLY, ...; the reports that could be written are). */
int zq_smsreport_write_all(zq_store *st, const zq_smsreport_op *ops, int n, int64_t now_ms,
                           int *results, zq_err *err);

#endif

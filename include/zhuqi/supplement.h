/* The enterprise's answer to a request for more material (补充材料): its
 * text and the files it uploaded for the case (files.h, "s:{case}" in its
 * session) join the case, and the case returns to "submitted" (the
 * handler's queue), all in one script.
 *
 * The history entry it writes: {"kind":"status", "at_ms", "from":
 * "needs_info", "to":"submitted", "by":"enterprise", "note":"",
 * "public":false, "waited_workdays", "supplement":{"text", "files":
 * [{"id","kind","kind_label","name","size","type"}]}}. */
#ifndef ZHUQI_SUPPLEMENT_H
#define ZHUQI_SUPPLEMENT_H

#include <jansson.h>
#include <stdint.h>

#include "zhuqi/calendar.h"
#include "zhuqi/cases.h"
#include "zhuqi/schema.h"
#include "zhuqi/store.h"
#include "zhuqi/workflow.h"

#define ZQ_SUPPLEMENT_TEXT_MAX 2000 /* characters of the answer's text */

/* What the enterprise sends. Borrowed. */
typedef struct zq_supplement_in {
    const char *sid;     /* the session that holds the uploads */
    const char *text;    /* "" for none */
    json_t *files;       /* the upload records to attach (from zq_files_supp_list); may be empty */
    const zq_form *form; /* the case's form: the kinds' labels; may be NULL */
    const zq_calendar *cal;  /* may be NULL (Monday-Friday) */
    const zq_wf_limits *lim; /* the review clock after the return */
    int64_t now_ms;
} zq_supplement_in;

/* Applies the answer to case c (as loaded, with its history): checks in
 * the script that it is still in "needs_info" with the history loaded and
 * that every file is still among the session's uploads, then moves the
 * files to files_more and files_pub (and off the session's list and
 * files:pending), sets "submitted" with its indexes and the review
 * deadline, rebuilds the list row, appends the history entry and XADDs
 * case_status to events. Returns 0; -ZQ_ENOTFOUND (no such case);
 * -ZQ_ECONFLICT when the case moved or its history changed meanwhile (cur,
 * 24 bytes, may be NULL, gets its status); -ZQ_EINVAL when a file is no
 * longer among the uploads; -ZQ_EUNAVAIL; -ZQ_EREPLY; -ZQ_ENOMEM. */
int zq_supplement_submit(zq_store *st, const zq_case *c, const zq_supplement_in *in, char *cur,
                         zq_err *err);

#endif

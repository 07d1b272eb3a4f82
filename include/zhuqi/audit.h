/* The audit stream: every staff action (sign-in, case view, change,
 * export, push administration), never trimmed.
 *
 * Keys (prefix omitted):
 *   audit   stream: fields at_ms, who, role, action, target, addr,
 *           detail, rid */
#ifndef ZHUQI_AUDIT_H
#define ZHUQI_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "zhuqi/common.h"
#include "zhuqi/store.h"

/* A staff action for the audit stream. */
typedef struct zq_audit {
    const char *who;    /* token name */
    const char *role;   /* viewer, handler, admin */
    const char *action; /* "case_transition", "export", ... */
    const char *target; /* case id or "" */
    const char *addr;   /* client address */
    const char *detail; /* free text or JSON, may be NULL */
    const char *rid;    /* request id */
    int64_t at_ms;      /* 0: now */
} zq_audit;

/* Appends an entry to the audit stream. Returns 0, -ZQ_EUNAVAIL or
 * -ZQ_EREPLY. */
int zq_audit_write(zq_store *st, const zq_audit *a, zq_err *err);

/* The longest stream entry id zq_audit_list accepts or gives, with its
 * terminator. */
#define ZQ_AUDIT_ID_MAX 48

/* True when s can name an audit entry (digits and '-', as Redis writes
 * stream ids). */
bool zq_audit_id_valid(const char *s);

/* Lists up to limit audit entries, newest first, older than the entry
 * before (NULL or "": from the newest; else zq_audit_id_valid). Appends
 * one object {"id", and each stored field} per entry to list (borrowed)
 * and puts the id of the last one into last ("" when none). Returns 0,
 * -ZQ_EINVAL (before not valid) or -ZQ_EUNAVAIL. */
int zq_audit_list(zq_store *st, const char *before, long long limit, json_t *list,
                  char last[ZQ_AUDIT_ID_MAX], zq_err *err);

#endif

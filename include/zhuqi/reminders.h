/* Reminder rules (config/reminders.json): the tax-assistance day on the
 * 27th of every month with its lead times, audience and templates; the
 * occurrences they produce on the holiday calendar; and the class of the
 * month they name (from the classes that staff enter through
 * /api/admin/classes). Pure computation except zq_class_for_month. */
#ifndef ZHUQI_REMINDERS_H
#define ZHUQI_REMINDERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "zhuqi/buf.h"
#include "zhuqi/calendar.h"
#include "zhuqi/store.h"
#include "zhuqi/template.h"

#define ZQ_RULE_MAX_LEADS 8
#define ZQ_OCCURRENCE_ID_MAX 96

/* When a reminder goes out relative to the event: offset_days (-1: the
 * day before) at hour:minute Beijing time. */
typedef struct zq_reminder_lead {
    char id[32];
    int offset_days;
    int hour, minute;
    zq_template *tpl; /* owned */
} zq_reminder_lead;

typedef struct zq_reminder_rule {
    char id[32];
    char title[128];
    int day_of_month;   /* 1..31, clamped to the month's last day */
    zq_cal_shift shift; /* when the day is a day off */
    zq_reminder_lead leads[ZQ_RULE_MAX_LEADS];
    int nleads;
    char *audience; /* normalised JSON (notices.h), owned */
} zq_reminder_rule;

typedef struct zq_reminders {
    zq_reminder_rule *rules;
    size_t n;
    /* Minutes a reminder due at :00 or :30 leaves later ([bot]
     * reminder_shift_min; 0: ZQ_REMINDER_SHIFT_MIN). */
    int shift_min;
} zq_reminders;

/* The platforms ask senders to avoid the whole and half hours (Feishu's
 * custom bot guide answers 11232 under the load then; WeCom asks the
 * same): a reminder or digest set for HH:00 or HH:30 (Beijing time)
 * leaves this many minutes later by default. */
#define ZQ_REMINDER_SHIFT_MIN 7

/* The minute of the day (0..1439, Beijing time) a send planned for
 * minute_of_day leaves at: the same, or shift_min (1..29; else
 * ZQ_REMINDER_SHIFT_MIN) later when it falls on :00 or :30. Never :00 or
 * :30, and never past the day's end. */
int zq_reminder_off_peak(int minute_of_day, int shift_min);

/* The variables a reminder template may use. */
extern const char *const zq_reminder_vars[];
extern const size_t zq_reminder_nvars;

/* Loads the rules at path and their templates from templates_dir:
 *   {"rules": [{"id": "tax-day", "title": "税务助企宣讲日",
 *     "day_of_month": 27, "shift": "keep" | "next_workday",
 *     "audience": {"tags": ["tax"]}, "template": "tax_day.md",
 *     "leads": [{"id": "eve", "at": "-1d 16:00", "template"?: "..."},
 *               {"id": "day", "at": "0d 09:00"}]}]}
 * On error returns a negative code and err->msg names the file and the
 * JSON path ("reminders.json: rules[0].leads[1].at: ...") or the
 * template's FILE:LINE. A missing file is an error. */
int zq_reminders_load(const char *path, const char *templates_dir, zq_reminders **out, zq_err *err);
void zq_reminders_free(zq_reminders *r);

/* Parses a lead time "-1d 16:00" / "0d 09:00" (days -27..27). */
int zq_lead_parse(const char *s, int *offset_days, int *hour, int *minute);

/* One occurrence: a rule's lead in one month. */
typedef struct zq_occurrence {
    const zq_reminder_rule *rule;
    const zq_reminder_lead *lead;
    int year, month;               /* the month it belongs to (before any shift) */
    zq_date event;                 /* the day of the event, after the shift */
    int64_t fire_ms;               /* when the reminder goes out */
    char id[ZQ_OCCURRENCE_ID_MAX]; /* "tax-day:2026-12:eve" */
} zq_occurrence;

/* The occurrences of every rule whose time lies in (from_ms, to_ms], in
 * time order, at most max. Returns how many were written. */
int zq_reminder_occurrences(const zq_reminders *r, const zq_calendar *cal, int64_t from_ms,
                            int64_t to_ms, zq_occurrence *out, int max);

/* What the scheduler does with an occurrence at now_ms. */
typedef enum zq_occ_state {
    ZQ_OCC_FUTURE = 0, /* not yet */
    ZQ_OCC_DUE,        /* send it (on time, or late within the grace) */
    ZQ_OCC_TOO_LATE,   /* missed by more than the grace: skip and log */
} zq_occ_state;

zq_occ_state zq_occurrence_state(const zq_occurrence *o, int64_t now_ms, int grace_s);

/* A tax-assistance class, as stored in the zset `classes` (JSON members
 * scored by start_ms) and served by GET /api/classes. */
typedef struct zq_class {
    char id[48];
    char date[ZQ_DATE_STRLEN]; /* "2026-12-27" */
    char time[6];              /* "14:30" */
    char title[256];
    char speaker[128];
    char live_url[512];
    char replay_url[512];
    int64_t start_ms;
} zq_class;

/* Reads a class from the staff API's JSON ({"id"?, "date", "time",
 * "title", "speaker"?, "live_url"?, "replay_url"?}). On error returns
 * -ZQ_EINVAL with *field and a Chinese *msg (static). */
int zq_class_from_json(json_t *in, zq_class *out, const char **field, const char **msg);

/* The stored JSON member of a class (a new object). */
json_t *zq_class_to_json(const zq_class *c);

/* Stores c in the zset (zq_classes_save), replacing the class with the
 * same id; creates an id ("cls-YYYYMMDD-xxxx") when c->id is empty.
 * *created is false when an existing class was replaced. Returns 0,
 * -ZQ_ETOOBIG (more than ZQ_CLASSES_MAX classes), -ZQ_EUNAVAIL, -ZQ_EREPLY. */
int zq_class_save(zq_store *st, zq_class *c, bool *created, zq_err *err);

/* The class for an event on d: the one on d when there is one, else the
 * first of d's month. Returns 0, -ZQ_ENOTFOUND, -ZQ_EUNAVAIL. */
int zq_class_for_month(zq_store *st, zq_date d, zq_class *out, zq_err *err);

/* Renders the occurrence's template with the class (NULL: none
 * scheduled). Appends to title and body. Returns 0 or a negative ZQ_E*
 * code (-ZQ_EINVAL for a date that cannot be written). */
int zq_reminder_render(const zq_occurrence *o, const zq_class *c, zq_buf *title, zq_buf *body);

#endif

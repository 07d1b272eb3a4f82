/* Working-day calendar: calendar dates in Beijing time, the State Council's
 * yearly holiday notices (config/holidays/YYYY.json) and deadline arithmetic
 * over working days. */
#ifndef ZHUQI_CALENDAR_H
#define ZHUQI_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "zhuqi/common.h"

/* A calendar date (proleptic Gregorian), no time of day and no zone. Valid
 * dates have y in 1..9999, m in 1..12 and d within the month. Functions
 * that cannot produce a valid date return {0, 0, 0}, which is not valid. */
typedef struct zq_date {
    int y, m, d;
} zq_date;

#define ZQ_DATE_MIN_YEAR 1
#define ZQ_DATE_MAX_YEAR 9999
/* Room for "YYYY-MM-DD" and the NUL. */
#define ZQ_DATE_STRLEN 11

/* True when d is a real date within years 1..9999. */
bool zq_date_valid(zq_date d);

/* Days in month m of year y (28..31), or 0 when m is not 1..12. */
int zq_date_days_in_month(int y, int m);

/* Parses exactly "YYYY-MM-DD" from [s, s+len): four, two and two ASCII
 * digits, no sign, no spaces, no other length ("2026-1-1" is rejected),
 * and a real date (2026-02-29 is rejected, 2024-02-29 accepted). Returns 0
 * or -ZQ_EINVAL; out is only written on success. */
int zq_date_parse(const char *s, size_t len, zq_date *out);

/* Writes "YYYY-MM-DD" (or "invalid" for a date that is not valid) into
 * out, at most outsz bytes with the NUL; ZQ_DATE_STRLEN is always enough.
 * Returns out. */
char *zq_date_format(zq_date d, char *out, size_t outsz);

/* Negative, zero or positive as a is before, equal to or after b. */
int zq_date_cmp(zq_date a, zq_date b);

/* The date n days after d (before, for negative n). Returns {0, 0, 0} when
 * d is not valid or the result falls outside years 1..9999. */
zq_date zq_date_add_days(zq_date d, int n);

/* ISO day of the week: 1 = Monday ... 7 = Sunday; 0 when d is not valid. */
int zq_date_weekday(zq_date d);

/* Calendar days from a to b (b - a: positive when b is later); 0 when
 * either is not valid. */
int zq_date_days_between(zq_date a, zq_date b);

/* The Beijing (UTC+8, no daylight saving) date at unix time t. Computed
 * without TZ or localtime, so it is thread-safe and ignores the host's
 * zone. {0, 0, 0} when t lies outside years 1..9999. */
zq_date zq_date_from_unix(time_t t);

/* Today's date in Beijing, from time(NULL). */
zq_date zq_date_today(void);

/* Every conversion between instants and Beijing dates or clock times goes
 * through the functions below (ZQ_BEIJING_OFFSET_S, common.h), none
 * through TZ or localtime. */

/* The Beijing date of a time in ms since the epoch. */
zq_date zq_date_from_ms(int64_t ms);

/* The instant of hour:minute Beijing time on d, in ms since the epoch
 * (hour 0, minute 0: the day's Beijing midnight). */
int64_t zq_date_to_ms(zq_date d, int hour, int minute);

/* Formats ms since the epoch as ISO 8601 in Beijing time,
 * "2026-11-26T09:30:00+08:00" (25 characters), into out. Without
 * gmtime_r or strftime: the staff list formats several per row. */
#define ZQ_TIME_ISO_LEN 25
void zq_time_iso(int64_t ms, char out[32]);

/* Quiet hours: a daily window of Beijing clock time in which messages to
 * people wait, "HH:MM-HH:MM" (start inclusive, end exclusive; a start
 * after the end wraps past midnight, "21:00-08:00"). "" or equal ends:
 * none. Minutes after midnight into *start, *end (both -1 for none).
 * Returns 0, or -ZQ_EINVAL when s is not such a window. */
int zq_quiet_parse(const char *s, int *start, int *end);

/* The instant (ms since the epoch) the quiet window that holds now_ms
 * ends, or 0 when now_ms is outside it (or there is none). */
int64_t zq_quiet_until(int64_t now_ms, int start, int end);

/* The working-day calendar: holiday notices by year. Read-only after
 * zq_cal_load() except for the "missing year already logged" flags, which
 * are atomic; every function below may be called from any number of
 * threads at once. Only zq_cal_free() must not race with them. */
typedef struct zq_calendar zq_calendar;

/* What a monthly date (tax-assistance day, the 27th) does when it falls on
 * a day off. */
typedef enum zq_cal_shift {
    ZQ_CAL_KEEP = 0,         /* stay on the date, working day or not */
    ZQ_CAL_NEXT_WORKDAY = 1, /* move to the next working day */
} zq_cal_shift;

/* Loads every YYYY.json in dir (other names are ignored), each of the form
 *   {"year": 2026, "source": "国务院办公厅关于2026年部分节假日安排的通知",
 *    "days_off": ["2026-01-01/2026-01-03", "2026-02-16", ...],
 *    "workdays": ["2026-01-04", ...]}
 * "year" must match the file name; "source" names the notice; "days_off"
 * holds dates or inclusive ranges "FROM/TO" (which may include weekends);
 * "workdays" holds the weekend days moved into working days (调休). Every
 * date must lie in the file's year and be listed once; other keys are
 * rejected. A missing or empty directory is not an error: every year then
 * falls back to Monday-Friday (logged when first used).
 *
 * On success *out is a new calendar, free it with zq_cal_free(). On error
 * returns -ZQ_EINVAL (bad content; err->msg is "FILE: key[index]: what is
 * wrong" or "FILE:LINE:COLUMN: ..." for JSON syntax), -ZQ_EIO (a directory
 * or file cannot be read), -ZQ_ETOOBIG (a file over 1 MiB) or -ZQ_ENOMEM,
 * and *out is left alone. */
int zq_cal_load(const char *dir, zq_calendar **out, zq_err *err);

/* Frees c and everything in it. NULL is accepted. */
void zq_cal_free(zq_calendar *c);

/* True when a file for year was loaded. A deadline that crosses a year
 * where this is false was computed with the Monday-Friday fallback. */
bool zq_cal_year_known(const zq_calendar *c, int year);

/* True when every year from a to b (either order) is known: the dates in
 * between were computed from holiday notices, not the fallback. */
bool zq_cal_range_known(const zq_calendar *c, zq_date a, zq_date b);

/* The "source" of year's file. Borrowed: valid until zq_cal_free(c).
 * NULL when the year is not known. */
const char *zq_cal_source(const zq_calendar *c, int year);

/* Listed make-up working days are working days, listed days off are not;
 * any other day is a working day when it is Monday to Friday. For a year
 * without a file the answer is Monday-Friday and a warning
 * "event=calendar_year_missing year=Y fallback=mon-fri" is logged, once
 * per year per calendar. A NULL calendar means Monday-Friday for every
 * year, without warnings. False for a date that is not valid. */
bool zq_cal_is_workday(const zq_calendar *c, zq_date d);

/* d itself when it is a working day, else the first working day after it.
 * {0, 0, 0} when d is not valid or the search leaves year 9999. */
zq_date zq_cal_next_workday(const zq_calendar *c, zq_date d);

/* The n-th working day after start, start itself not counted: the
 * deadline "within 10 working days of acceptance on day A" is
 * zq_cal_add_workdays(c, A, 10), the last day on which the work is on
 * time. For n > 0 the result is a working day R with
 * zq_cal_workdays_between(c, start, R) == n, whatever start is. n == 0
 * returns start unchanged, even on a day off (use zq_cal_next_workday()
 * for "that day or the next working day"). n < 0 counts backwards: the
 * |n|-th working day before start. {0, 0, 0} when start is not valid or
 * the result would fall outside years 1..9999. */
zq_date zq_cal_add_workdays(const zq_calendar *c, zq_date start, int n);

/* The number of working days in (a, b]: a not counted, b counted. When b
 * is before a, minus the number in (b, a]; 0 when a == b or either date is
 * not valid. */
int zq_cal_workdays_between(const zq_calendar *c, zq_date a, zq_date b);

/* The day_of_month-th of month/year, clamped to the month's last day when
 * the month is shorter (31 in February 2026 is 2026-02-28); then with
 * ZQ_CAL_NEXT_WORKDAY moved to the next working day when it is a day off.
 * {0, 0, 0} when year or month is out of range or day_of_month < 1. */
zq_date zq_cal_monthly_day(const zq_calendar *c, int year, int month, int day_of_month,
                           zq_cal_shift shift);

/* Parses "keep" or "next_workday" (the setting's words). Returns 0 or
 * -ZQ_EINVAL; out is only written on success. */
int zq_cal_shift_parse(const char *s, zq_cal_shift *out);

/* "keep" or "next_workday"; "keep" for anything else. Static string. */
const char *zq_cal_shift_name(zq_cal_shift shift);

#endif

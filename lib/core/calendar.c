/* Dates in Beijing time and the working-day calendar: the yearly holiday
 * notices read from config/holidays/YYYY.json, with Monday-Friday as the
 * fallback for years without a file. */
#include "zhuqi/calendar.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "zhuqi/buf.h"
#include "zhuqi/log.h"

#define SECONDS_PER_DAY 86400
#define MAX_FILE_BYTES 1048576 /* 1 MiB */
#define MAX_SOURCE_BYTES 512
#define QUOTE_MAX 40 /* bytes of a bad value repeated in a message */
#define WARN_WORDS (ZQ_DATE_MAX_YEAR / 64 + 1)

/* What a holiday notice says about one day of its year. */
enum { DAY_DEFAULT = 0, DAY_OFF = 1, DAY_WORK = 2 };

typedef struct cal_year {
    int year;
    char *source;
    unsigned char kind[366]; /* DAY_* by day of the year, 0-based */
} cal_year;

struct zq_calendar {
    cal_year *years; /* sorted by year, no duplicates */
    size_t nyears;
    /* Bit y is set once the missing-year warning for year y has been
     * logged. The only state that changes after load: atomic, so lookups
     * need no lock. A pointer, so that functions taking a const calendar
     * may set bits without casting. */
    _Atomic uint_least64_t *warned;
};

static const zq_date NO_DATE = {0, 0, 0};

static const char *const weekday_names[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                            "Friday", "Saturday", "Sunday"};

/* ---- dates ---- */

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int zq_date_days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m < 1 || m > 12)
        return 0;
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

bool zq_date_valid(zq_date d)
{
    return d.y >= ZQ_DATE_MIN_YEAR && d.y <= ZQ_DATE_MAX_YEAR && d.m >= 1 && d.m <= 12 &&
           d.d >= 1 && d.d <= zq_date_days_in_month(d.y, d.m);
}

/* Days since 1970-01-01 of a date with a sane year (H. Hinnant's
 * days_from_civil); negative before 1970. */
static int64_t days_from_civil(int y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil, for z within the valid years. */
static zq_date civil_from_days(int64_t z)
{
    int64_t era, doe, yoe, doy, mp, y;
    zq_date r;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    r.d = (int)(doy - (153 * mp + 2) / 5 + 1);
    r.m = (int)(mp < 10 ? mp + 3 : mp - 9);
    r.y = (int)(y + (r.m <= 2));
    return r;
}

static int64_t day_number(zq_date d)
{
    return days_from_civil(d.y, d.m, d.d);
}

static int64_t min_day(void)
{
    return days_from_civil(ZQ_DATE_MIN_YEAR, 1, 1);
}

static int64_t max_day(void)
{
    return days_from_civil(ZQ_DATE_MAX_YEAR, 12, 31);
}

/* The date of day number z, or NO_DATE outside the valid years. */
static zq_date date_of_day(int64_t z)
{
    if (z < min_day() || z > max_day())
        return NO_DATE;
    return civil_from_days(z);
}

/* ISO weekday of day number z: 1970-01-01 was a Thursday (4). */
static int weekday_of_day(int64_t z)
{
    return (int)(((z + 3) % 7 + 7) % 7) + 1;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int zq_date_parse(const char *s, size_t len, zq_date *out)
{
    static const int digit_at[] = {0, 1, 2, 3, 5, 6, 8, 9};
    zq_date d;

    if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-')
        return -ZQ_EINVAL;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(digit_at); i++)
        if (!is_digit(s[digit_at[i]]))
            return -ZQ_EINVAL;
    d.y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    d.m = (s[5] - '0') * 10 + (s[6] - '0');
    d.d = (s[8] - '0') * 10 + (s[9] - '0');
    if (!zq_date_valid(d))
        return -ZQ_EINVAL;
    if (out != NULL)
        *out = d;
    return 0;
}

char *zq_date_format(zq_date d, char *out, size_t outsz)
{
    if (out == NULL || outsz == 0)
        return out;
    /* A smaller out gets the start of the text, as calendar.h says:
     * -ZQ_ETOOBIG is the documented outcome then, not an error. */
    if (zq_date_valid(d))
        (void)zq_fmt(out, outsz, "%04d-%02d-%02d", d.y, d.m, d.d);
    else
        (void)zq_fmt(out, outsz, "invalid");
    return out;
}

int zq_date_cmp(zq_date a, zq_date b)
{
    if (a.y != b.y)
        return a.y < b.y ? -1 : 1;
    if (a.m != b.m)
        return a.m < b.m ? -1 : 1;
    if (a.d != b.d)
        return a.d < b.d ? -1 : 1;
    return 0;
}

zq_date zq_date_add_days(zq_date d, int n)
{
    if (!zq_date_valid(d))
        return NO_DATE;
    return date_of_day(day_number(d) + n);
}

int zq_date_weekday(zq_date d)
{
    if (!zq_date_valid(d))
        return 0;
    return weekday_of_day(day_number(d));
}

int zq_date_days_between(zq_date a, zq_date b)
{
    if (!zq_date_valid(a) || !zq_date_valid(b))
        return 0;
    /* at most 9999 years apart: fits an int */
    return (int)(day_number(b) - day_number(a));
}

zq_date zq_date_from_unix(time_t t)
{
    int64_t s = (int64_t)t, z;

    /* Beijing has no daylight saving: shift by 8 hours and floor to days.
     * Checked against the bounds first so that neither the shift nor the
     * conversion can overflow for any time_t. */
    if (s < (min_day() - 1) * SECONDS_PER_DAY || s > (max_day() + 1) * SECONDS_PER_DAY)
        return NO_DATE;
    s += ZQ_BEIJING_OFFSET_S;
    z = s / SECONDS_PER_DAY - (s % SECONDS_PER_DAY < 0);
    return date_of_day(z);
}

zq_date zq_date_today(void)
{
    return zq_date_from_unix(time(NULL));
}

zq_date zq_date_from_ms(int64_t ms)
{
    /* Floor division, so that instants before 1970 fall on their day. */
    return zq_date_from_unix((time_t)(ms / 1000 - (ms % 1000 < 0)));
}

int64_t zq_date_to_ms(zq_date d, int hour, int minute)
{
    return (day_number(d) * SECONDS_PER_DAY + (int64_t)hour * 3600 + (int64_t)minute * 60 -
            ZQ_BEIJING_OFFSET_S) *
           1000;
}

/* "HH:MM" of 00:00..23:59 at s (exactly 5 bytes) as minutes, or -1. */
static int hhmm(const char *s)
{
    int h, m;

    if (!(s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' && s[2] == ':' && s[3] >= '0' &&
          s[3] <= '5' && s[4] >= '0' && s[4] <= '9'))
        return -1;
    h = (s[0] - '0') * 10 + (s[1] - '0');
    m = (s[3] - '0') * 10 + (s[4] - '0');
    return h < 24 ? h * 60 + m : -1;
}

int zq_quiet_parse(const char *s, int *start, int *end)
{
    int a, z;

    *start = *end = -1;
    if (s == NULL || *s == '\0')
        return 0;
    if (strlen(s) != 11 || s[5] != '-' || (a = hhmm(s)) < 0 || (z = hhmm(s + 6)) < 0)
        return -ZQ_EINVAL;
    if (a != z) {
        *start = a;
        *end = z;
    }
    return 0;
}

int64_t zq_quiet_until(int64_t now_ms, int start, int end)
{
    zq_date today;
    int64_t midnight;
    int minute;

    if (start < 0 || end < 0 || start == end)
        return 0;
    today = zq_date_from_ms(now_ms);
    midnight = zq_date_to_ms(today, 0, 0);
    minute = (int)((now_ms - midnight) / 60000);
    if (start < end) /* within one day */
        return minute >= start && minute < end ? midnight + (int64_t)end * 60000 : 0;
    if (minute >= start) /* the evening part: ends tomorrow */
        return zq_date_to_ms(zq_date_add_days(today, 1), 0, 0) + (int64_t)end * 60000;
    return minute < end ? midnight + (int64_t)end * 60000 : 0;
}

/* Two digits of v (0..99) at o. */
static void put2(char *o, int64_t v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
}

void zq_time_iso(int64_t ms, char out[32])
{
    int64_t s = ms / 1000 - (ms % 1000 < 0) + ZQ_BEIJING_OFFSET_S;
    int64_t z = s / SECONDS_PER_DAY - (s % SECONDS_PER_DAY < 0);
    int64_t sod = s - z * SECONDS_PER_DAY;
    zq_date d = civil_from_days(z);

    if (d.y < 1 || d.y > 9999) {
        out[0] = '\0';
        return;
    }
    put2(out, d.y / 100);
    put2(out + 2, d.y % 100);
    out[4] = '-';
    put2(out + 5, d.m);
    out[7] = '-';
    put2(out + 8, d.d);
    out[10] = 'T';
    put2(out + 11, sod / 3600);
    out[13] = ':';
    put2(out + 14, sod / 60 % 60);
    out[16] = ':';
    put2(out + 17, sod % 60);
    memcpy(out + 19, "+08:00", 7);
}

/* ---- lookups ---- */

static const cal_year *find_year(const zq_calendar *c, int year)
{
    size_t lo = 0, hi;

    if (c == NULL)
        return NULL;
    hi = c->nyears;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (c->years[mid].year == year)
            return &c->years[mid];
        if (c->years[mid].year < year)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Logs the fallback for a year without a file, once per year. */
static void note_missing_year(const zq_calendar *c, int year)
{
    uint_least64_t bit;
    _Atomic uint_least64_t *word;

    if (c == NULL || year < ZQ_DATE_MIN_YEAR || year > ZQ_DATE_MAX_YEAR)
        return;
    bit = (uint_least64_t)1 << (year % 64);
    word = &c->warned[year / 64];
    /* the plain load keeps the common case (already logged) free of
     * read-modify-write traffic between threads */
    if ((atomic_load_explicit(word, memory_order_relaxed) & bit) != 0)
        return;
    if ((atomic_fetch_or_explicit(word, bit, memory_order_relaxed) & bit) == 0)
        ZQ_WARN("event=calendar_year_missing year=%d fallback=mon-fri", year);
}

/* Is date d, whose day number is z, a working day? */
static bool workday_at(const zq_calendar *c, zq_date d, int64_t z)
{
    const cal_year *yr = find_year(c, d.y);

    if (yr != NULL) {
        int doy = (int)(z - days_from_civil(d.y, 1, 1));

        if (yr->kind[doy] == DAY_WORK)
            return true;
        if (yr->kind[doy] == DAY_OFF)
            return false;
    } else {
        note_missing_year(c, d.y);
    }
    return weekday_of_day(z) <= 5;
}

bool zq_cal_year_known(const zq_calendar *c, int year)
{
    return find_year(c, year) != NULL;
}

bool zq_cal_range_known(const zq_calendar *c, zq_date a, zq_date b)
{
    int from = a.y < b.y ? a.y : b.y, to = a.y < b.y ? b.y : a.y;

    if (!zq_date_valid(a) || !zq_date_valid(b))
        return false;
    for (int y = from; y <= to; y++)
        if (find_year(c, y) == NULL)
            return false;
    return true;
}

const char *zq_cal_source(const zq_calendar *c, int year)
{
    const cal_year *yr = find_year(c, year);

    return yr != NULL ? yr->source : NULL;
}

bool zq_cal_is_workday(const zq_calendar *c, zq_date d)
{
    if (!zq_date_valid(d))
        return false;
    return workday_at(c, d, day_number(d));
}

/* A walk over days, one at a time, that keeps the year, the day of the
 * year and the weekday as it goes: a deadline or a days-left count looks
 * at a few dozen days, and converting each one back into a date (with a
 * search for its year) cost more than the answer around it. */
typedef struct day_walk {
    const zq_calendar *c;
    const cal_year *yr; /* the file of year y, or NULL */
    int64_t z;          /* day number */
    int y, doy, ylen, wd;
} day_walk;

static void walk_year(day_walk *w)
{
    w->ylen = is_leap(w->y) ? 366 : 365;
    w->yr = find_year(w->c, w->y);
}

static void walk_start(day_walk *w, const zq_calendar *c, zq_date d)
{
    w->c = c;
    w->z = day_number(d);
    w->y = d.y;
    w->doy = (int)(w->z - days_from_civil(d.y, 1, 1));
    w->wd = weekday_of_day(w->z);
    walk_year(w);
}

/* One day on (step 1) or back (step -1); false when that leaves the
 * years 1..9999. */
static bool walk_step(day_walk *w, int step)
{
    w->z += step;
    w->doy += step;
    w->wd += step;
    if (w->wd > 7)
        w->wd = 1;
    else if (w->wd < 1)
        w->wd = 7;
    if (w->doy >= w->ylen) {
        if (++w->y > ZQ_DATE_MAX_YEAR)
            return false;
        w->doy = 0;
        walk_year(w);
    } else if (w->doy < 0) {
        if (--w->y < ZQ_DATE_MIN_YEAR)
            return false;
        walk_year(w);
        w->doy = w->ylen - 1;
    }
    return true;
}

/* workday_at for the walk's day. */
static bool walk_workday(const day_walk *w)
{
    if (w->yr != NULL) {
        if (w->yr->kind[w->doy] == DAY_WORK)
            return true;
        if (w->yr->kind[w->doy] == DAY_OFF)
            return false;
    } else {
        note_missing_year(w->c, w->y);
    }
    return w->wd <= 5;
}

zq_date zq_cal_next_workday(const zq_calendar *c, zq_date d)
{
    day_walk w;

    if (!zq_date_valid(d))
        return NO_DATE;
    walk_start(&w, c, d);
    do {
        if (walk_workday(&w))
            return civil_from_days(w.z);
    } while (walk_step(&w, 1));
    return NO_DATE;
}

zq_date zq_cal_add_workdays(const zq_calendar *c, zq_date start, int n)
{
    int step = n < 0 ? -1 : 1;
    /* as a long long so that -INT_MIN cannot overflow */
    long long left = n < 0 ? -(long long)n : n;
    day_walk w;

    if (!zq_date_valid(start))
        return NO_DATE;
    if (n == 0)
        return start;
    walk_start(&w, c, start);
    while (walk_step(&w, step))
        if (walk_workday(&w) && --left == 0)
            return civil_from_days(w.z);
    return NO_DATE;
}

int zq_cal_workdays_between(const zq_calendar *c, zq_date a, zq_date b)
{
    int64_t to;
    int count = 0;
    day_walk w;

    if (!zq_date_valid(a) || !zq_date_valid(b))
        return 0;
    to = day_number(b);
    if (to < day_number(a))
        return -zq_cal_workdays_between(c, b, a);
    walk_start(&w, c, a);
    while (w.z < to && walk_step(&w, 1))
        if (walk_workday(&w))
            count++;
    return count;
}

zq_date zq_cal_monthly_day(const zq_calendar *c, int year, int month, int day_of_month,
                           zq_cal_shift shift)
{
    zq_date d;
    int last;

    if (year < ZQ_DATE_MIN_YEAR || year > ZQ_DATE_MAX_YEAR || month < 1 || month > 12 ||
        day_of_month < 1)
        return NO_DATE;
    last = zq_date_days_in_month(year, month);
    d.y = year;
    d.m = month;
    d.d = day_of_month > last ? last : day_of_month;
    if (shift == ZQ_CAL_NEXT_WORKDAY)
        return zq_cal_next_workday(c, d);
    return d;
}

int zq_cal_shift_parse(const char *s, zq_cal_shift *out)
{
    zq_cal_shift v;

    if (s == NULL)
        return -ZQ_EINVAL;
    if (strcmp(s, "keep") == 0)
        v = ZQ_CAL_KEEP;
    else if (strcmp(s, "next_workday") == 0)
        v = ZQ_CAL_NEXT_WORKDAY;
    else
        return -ZQ_EINVAL;
    if (out != NULL)
        *out = v;
    return 0;
}

const char *zq_cal_shift_name(zq_cal_shift shift)
{
    return shift == ZQ_CAL_NEXT_WORKDAY ? "next_workday" : "keep";
}

/* ---- loading ---- */

/* Which list item set each day of the year being loaded, for messages
 * naming the first listing of a duplicate. */
typedef struct file_state {
    const char *path;
    int year;
    cal_year *out;
    int index_of[366]; /* valid where out->kind[] is not DAY_DEFAULT */
} file_state;

/* A value from the file for a message: at most QUOTE_MAX bytes, cut on a
 * character boundary (jansson strings are valid UTF-8), "..." marking the
 * cut, in double quotes when quoted. Returns buf. */
static const char *shorten(const char *s, bool quoted, char *buf, size_t bufsz)
{
    size_t len = strlen(s), n = zq_utf8_cut(s, len, QUOTE_MAX);
    const char *q = quoted ? "\"" : "";

    zq_fmt_msg(buf, bufsz, "%s%.*s%s%s", q, (int)n, s, n < len ? "..." : "", q);
    return buf;
}

/* Parses "YYYY-MM-DD" or, when ranges, "YYYY-MM-DD/YYYY-MM-DD" into
 * [*from, *to]. Returns 0 or -1. */
static int parse_item(const char *s, size_t len, bool ranges, zq_date *from, zq_date *to)
{
    if (len == 10) {
        if (zq_date_parse(s, len, from) != 0)
            return -1;
        *to = *from;
        return 0;
    }
    if (ranges && len == 21 && s[10] == '/' && zq_date_parse(s, 10, from) == 0 &&
        zq_date_parse(s + 11, 10, to) == 0)
        return 0;
    return -1;
}

/* Marks [from, to] with kind for item key[idx], rejecting days already
 * marked. Both dates are valid and in the file's year. */
static int mark_days(file_state *st, const char *key, size_t idx, int kind, zq_date from,
                     zq_date to, zq_err *err)
{
    int64_t jan1 = days_from_civil(st->year, 1, 1);
    int first = (int)(day_number(from) - jan1), last = (int)(day_number(to) - jan1);

    for (int doy = first; doy <= last; doy++) {
        char ds[ZQ_DATE_STRLEN];
        int prev = st->out->kind[doy];

        if (prev == DAY_DEFAULT) {
            st->out->kind[doy] = (unsigned char)kind;
            st->index_of[doy] = (int)idx;
            continue;
        }
        zq_date_format(civil_from_days(jan1 + doy), ds, sizeof(ds));
        if (prev == kind)
            return zq_err_set(err, ZQ_EINVAL, "%s: %s[%zu]: %s is already in %s[%d]", st->path, key,
                              idx, ds, key, st->index_of[doy]);
        return zq_err_set(err, ZQ_EINVAL, "%s: %s[%zu]: %s is also in %s[%d]", st->path, key, idx,
                          ds, prev == DAY_OFF ? "days_off" : "workdays", st->index_of[doy]);
    }
    return 0;
}

/* Checks one item of days_off (is_off) or workdays and marks its days. */
static int load_item(file_state *st, const char *key, size_t idx, json_t *v, bool is_off,
                     zq_err *err)
{
    const char *s;
    char q[QUOTE_MAX + 8], fs[ZQ_DATE_STRLEN], ts[ZQ_DATE_STRLEN];
    zq_date from, to;
    int wd;

    if (!json_is_string(v))
        return zq_err_set(err, ZQ_EINVAL, "%s: %s[%zu]: must be a string", st->path, key, idx);
    s = json_string_value(v);
    if (!is_off && strchr(s, '/') != NULL)
        return zq_err_set(err, ZQ_EINVAL, "%s: %s[%zu]: ranges are allowed only in days_off",
                          st->path, key, idx);
    if (parse_item(s, json_string_length(v), is_off, &from, &to) != 0)
        return zq_err_set(err, ZQ_EINVAL, "%s: %s[%zu]: %s is not a date (YYYY-MM-DD%s)", st->path,
                          key, idx, shorten(s, true, q, sizeof(q)),
                          is_off ? " or YYYY-MM-DD/YYYY-MM-DD" : "");
    zq_date_format(from, fs, sizeof(fs));
    zq_date_format(to, ts, sizeof(ts));
    if (from.y != st->year)
        return zq_err_set(err, ZQ_EINVAL, "%s: %s[%zu]: %s is not in %d", st->path, key, idx, fs,
                          st->year);
    if (to.y != st->year)
        return zq_err_set(err, ZQ_EINVAL, "%s: %s[%zu]: %s is not in %d", st->path, key, idx, ts,
                          st->year);
    if (zq_date_cmp(to, from) < 0)
        return zq_err_set(err, ZQ_EINVAL, "%s: %s[%zu]: %s/%s ends before it starts", st->path, key,
                          idx, fs, ts);
    wd = zq_date_weekday(from);
    if (wd < 1 || wd > 7)
        return zq_err_set(err, ZQ_EINVAL, "%s: %s[%zu]: %s is not a date", st->path, key, idx, fs);
    if (!is_off && wd <= 5)
        return zq_err_set(err, ZQ_EINVAL,
                          "%s: %s[%zu]: %s is a %s; make-up working days are Saturdays or Sundays",
                          st->path, key, idx, fs, weekday_names[wd - 1]);
    return mark_days(st, key, idx, is_off ? DAY_OFF : DAY_WORK, from, to, err);
}

static int load_list(file_state *st, json_t *root, const char *key, bool is_off, zq_err *err)
{
    json_t *arr = json_object_get(root, key), *v;
    size_t i;
    int rc;

    if (arr == NULL)
        return zq_err_set(err, ZQ_EINVAL, "%s: %s: missing", st->path, key);
    if (!json_is_array(arr))
        return zq_err_set(err, ZQ_EINVAL, "%s: %s: must be an array of dates", st->path, key);
    json_array_foreach(arr, i, v)
    {
        rc = load_item(st, key, i, v, is_off, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Checks the parsed document of one file into st->out. */
static int load_doc(file_state *st, json_t *root, zq_err *err)
{
    static const char *const keys[] = {"year", "source", "days_off", "workdays"};
    const char *key;
    json_t *v;
    int rc;

    if (!json_is_object(root))
        return zq_err_set(err, ZQ_EINVAL, "%s: must be a JSON object", st->path);
    json_object_foreach(root, key, v)
    {
        bool known = false;

        for (size_t i = 0; i < ZQ_ARRAY_LEN(keys); i++)
            known = known || strcmp(key, keys[i]) == 0;
        if (!known) {
            char q[QUOTE_MAX + 8];

            return zq_err_set(err, ZQ_EINVAL, "%s: %s: unknown key", st->path,
                              shorten(key, false, q, sizeof(q)));
        }
    }

    v = json_object_get(root, "year");
    if (v == NULL)
        return zq_err_set(err, ZQ_EINVAL, "%s: year: missing", st->path);
    if (!json_is_integer(v))
        return zq_err_set(err, ZQ_EINVAL, "%s: year: must be an integer", st->path);
    if (json_integer_value(v) != st->year)
        return zq_err_set(err, ZQ_EINVAL,
                          "%s: year: %" JSON_INTEGER_FORMAT
                          " does not match the file name (%04d.json)",
                          st->path, json_integer_value(v), st->year);

    v = json_object_get(root, "source");
    if (v == NULL)
        return zq_err_set(err, ZQ_EINVAL, "%s: source: missing", st->path);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return zq_err_set(err, ZQ_EINVAL, "%s: source: must be a non-empty string", st->path);
    if (json_string_length(v) > MAX_SOURCE_BYTES)
        return zq_err_set(err, ZQ_EINVAL, "%s: source: longer than %d bytes", st->path,
                          MAX_SOURCE_BYTES);
    /* no NUL inside: jansson rejects \u0000 unless JSON_ALLOW_NUL */
    st->out->source = strdup(json_string_value(v));
    if (st->out->source == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "%s: out of memory", st->path);

    rc = load_list(st, root, "days_off", true, err);
    if (rc != 0)
        return rc;
    return load_list(st, root, "workdays", false, err);
}

/* Reads path, the file for year, into out (whose source it allocates). */
static int load_file(const char *path, int year, cal_year *out, zq_err *err)
{
    file_state *st = NULL;
    json_t *root = NULL;
    json_error_t jerr;
    struct stat sb;
    char eb[128];
    FILE *f;
    int rc;

    f = fopen(path, "r");
    if (f == NULL)
        return zq_err_set(err, ZQ_EIO, "%s: cannot open: %s", path,
                          strerror_r(errno, eb, sizeof(eb)));
    if (fstat(fileno(f), &sb) != 0) {
        rc =
            zq_err_set(err, ZQ_EIO, "%s: cannot stat: %s", path, strerror_r(errno, eb, sizeof(eb)));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = zq_err_set(err, ZQ_EINVAL, "%s: not a regular file", path);
        goto out;
    }
    if (sb.st_size > MAX_FILE_BYTES) {
        rc = zq_err_set(err, ZQ_ETOOBIG, "%s: larger than %d bytes", path, MAX_FILE_BYTES);
        goto out;
    }
    root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (ferror(f))
            rc = zq_err_set(err, ZQ_EIO, "%s: cannot read: %s", path,
                            strerror_r(errno, eb, sizeof(eb)));
        else
            rc =
                zq_err_set(err, ZQ_EINVAL, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        goto out;
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    st->path = path;
    st->year = year;
    st->out = out;
    out->year = year;
    rc = load_doc(st, root, err);
out:
    free(st);
    json_decref(root);
    fclose(f);
    return rc;
}

/* The year of a file name "YYYY.json", or 0 for any other name. */
static int name_year(const char *name)
{
    long long y;

    if (strlen(name) != 9 || strcmp(name + 4, ".json") != 0)
        return 0;
    for (int i = 0; i < 4; i++)
        if (!is_digit(name[i]))
            return 0;
    if (zq_parse_ll(name, 4, ZQ_DATE_MIN_YEAR, ZQ_DATE_MAX_YEAR, &y) != 0)
        return 0;
    return (int)y;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* The years of the YYYY.json files in dir, sorted, into a new array
 * (*years, free it) of *n. A missing dir gives none. */
static int list_years(const char *dir, int **years, size_t *n, bool *missing, zq_err *err)
{
    DIR *d;
    struct dirent *e;
    int *v = NULL;
    size_t cnt = 0, cap = 0;
    char eb[128];
    int rc = 0;

    *years = NULL;
    *n = 0;
    *missing = false;
    d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT) {
            *missing = true;
            return 0;
        }
        return zq_err_set(err, ZQ_EIO, "%s: cannot open directory: %s", dir,
                          strerror_r(errno, eb, sizeof(eb)));
    }
    for (;;) {
        int y;

        errno = 0;
        e = readdir(d);
        if (e == NULL) {
            if (errno != 0)
                rc = zq_err_set(err, ZQ_EIO, "%s: cannot read directory: %s", dir,
                                strerror_r(errno, eb, sizeof(eb)));
            break;
        }
        y = name_year(e->d_name);
        if (y == 0) {
            if (e->d_name[0] != '.')
                ZQ_DEBUG("event=calendar_file_ignored dir=%s file=%s", dir, e->d_name);
            continue;
        }
        if (cnt == cap) {
            size_t ncap = cap == 0 ? 8 : cap * 2;
            int *nv = realloc(v, ncap * sizeof(*nv));

            if (nv == NULL) {
                rc = zq_err_set(err, ZQ_ENOMEM, "%s: out of memory", dir);
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[cnt++] = y;
    }
    closedir(d);
    if (rc != 0) {
        free(v);
        return rc;
    }
    if (cnt > 0)
        qsort(v, cnt, sizeof(*v), cmp_int);
    *years = v;
    *n = cnt;
    return 0;
}

int zq_cal_load(const char *dir, zq_calendar **out, zq_err *err)
{
    zq_calendar *c = NULL;
    int *years = NULL;
    size_t n = 0, dlen;
    bool missing;
    char path[4096];
    int rc;

    if (dir == NULL || dir[0] == '\0' || out == NULL)
        return zq_err_set(err, ZQ_EINVAL, "calendar directory missing");
    rc = list_years(dir, &years, &n, &missing, err);
    if (rc != 0)
        return rc;
    c = calloc(1, sizeof(*c));
    if (c != NULL)
        c->warned = calloc(WARN_WORDS, sizeof(*c->warned));
    if (c != NULL && n > 0)
        c->years = calloc(n, sizeof(*c->years));
    if (c == NULL || c->warned == NULL || (n > 0 && c->years == NULL)) {
        rc = zq_err_set(err, ZQ_ENOMEM, "%s: out of memory", dir);
        goto out;
    }
    for (size_t i = 0; i < WARN_WORDS; i++)
        atomic_init(&c->warned[i], 0);
    /* "dir/" and "dir" name the same files: no doubled slash in messages */
    dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(path, sizeof(path), "%.*s/%04d.json", (int)dlen, dir, years[i]);

        if (len < 0 || (size_t)len >= sizeof(path)) {
            rc = zq_err_set(err, ZQ_EINVAL, "%.64s...: path too long", dir);
            goto out;
        }
        rc = load_file(path, years[i], &c->years[i], err);
        c->nyears = i + 1; /* so that zq_cal_free() frees its source */
        if (rc != 0)
            goto out;
    }
    if (missing)
        ZQ_WARN("event=calendar_dir_missing dir=%s fallback=mon-fri", dir);
    else if (n == 0)
        ZQ_WARN("event=calendar_dir_empty dir=%s fallback=mon-fri", dir);
    else
        ZQ_INFO("event=calendar_loaded dir=%s years=%zu first=%d last=%d", dir, n, years[0],
                years[n - 1]);
    *out = c;
    c = NULL;
out:
    zq_cal_free(c);
    free(years);
    return rc;
}

void zq_cal_free(zq_calendar *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nyears; i++)
        free(c->years[i].source);
    free(c->years);
    free((void *)c->warned);
    free(c);
}

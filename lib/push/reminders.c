/* Reminder rules and their occurrences on the holiday calendar, and the
 * class calendar they name. See include/zhuqi/reminders.h. */
#include "zhuqi/reminders.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "zhuqi/classes.h"
#include "zhuqi/log.h"
#include "zhuqi/notices.h"

const char *const zq_reminder_vars[] = {
    "rule.title", "year",       "month",        "day",           "date",
    "weekday",    "when",       "class",        "class.title",   "class.date",
    "class.time", "class.link", "class.replay", "class.speaker",
};
const size_t zq_reminder_nvars = ZQ_ARRAY_LEN(zq_reminder_vars);

static bool id_ok(const char *s)
{
    size_t n = strlen(s);

    if (n < 1 || n > 31)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
              s[i] == '_'))
            return false;
    return true;
}

int zq_lead_parse(const char *s, int *offset_days, int *hour, int *minute)
{
    long long d, h, m;
    const char *p = s, *dpos;

    if (s == NULL)
        return -ZQ_EINVAL;
    dpos = strchr(s, 'd');
    if (dpos == NULL || dpos == s || dpos[1] != ' ')
        return -ZQ_EINVAL;
    if (zq_parse_ll(p, (size_t)(dpos - p), -27, 27, &d) < 0)
        return -ZQ_EINVAL;
    p = dpos + 2;
    if (strlen(p) != 5 || p[2] != ':' || zq_parse_ll(p, 2, 0, 23, &h) < 0 ||
        zq_parse_ll(p + 3, 2, 0, 59, &m) < 0)
        return -ZQ_EINVAL;
    *offset_days = (int)d;
    *hour = (int)h;
    *minute = (int)m;
    return 0;
}

int zq_reminder_off_peak(int minute_of_day, int shift_min)
{
    if (shift_min < 1 || shift_min > 29)
        shift_min = ZQ_REMINDER_SHIFT_MIN;
    /* From :00 or :30, 1..29 minutes later is neither, and 23:30 + 29
     * is still today. */
    return minute_of_day % 30 == 0 ? minute_of_day + shift_min : minute_of_day;
}

static void free_rule(zq_reminder_rule *r)
{
    for (int i = 0; i < r->nleads; i++)
        zq_template_free(r->leads[i].tpl);
    free(r->audience);
}

void zq_reminders_free(zq_reminders *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        free_rule(&r->rules[i]);
    free(r->rules);
    free(r);
}

static bool only_keys(json_t *o, const char *const *keys, size_t n, const char **bad)
{
    const char *k;
    json_t *v;

    json_object_foreach(o, k, v)
    {
        bool ok = false;
        for (size_t i = 0; i < n; i++)
            ok = ok || strcmp(keys[i], k) == 0;
        if (!ok) {
            *bad = k;
            return false;
        }
    }
    return true;
}

/* A template file name: no folders, ends in .md. */
static bool tpl_name_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 3 && n < 100 && strchr(s, '/') == NULL && s[0] != '.' &&
           strcmp(s + n - 3, ".md") == 0;
}

static int load_rule(const char *path, const char *tdir, json_t *j, size_t ri, zq_reminder_rule *r,
                     zq_err *err)
{
    static const char *const rkeys[] = {"id",       "title",    "day_of_month", "shift",
                                        "audience", "template", "leads"};
    static const char *const lkeys[] = {"id", "at", "template"};
    const char *s, *bad, *deftpl, *msg;
    json_t *v, *leads, *aud = NULL;
    size_t li;
    int rc;

    if (!json_is_object(j))
        return zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu]: must be an object", path, ri);
    if (!only_keys(j, rkeys, ZQ_ARRAY_LEN(rkeys), &bad))
        return zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu].%s: unknown key", path, ri, bad);
    s = json_string_value(json_object_get(j, "id"));
    if (s == NULL || !id_ok(s))
        return zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu].id: must be 1 to 31 of a-z 0-9 - _", path,
                          ri);
    /* id_ok bounds s to 31 bytes: it fits. */
    if (zq_fmt(r->id, sizeof(r->id), "%s", s) < 0)
        return zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu].id: too long", path, ri);
    s = json_string_value(json_object_get(j, "title"));
    if (s == NULL || *s == '\0' || strlen(s) >= sizeof(r->title) || !zq_utf8_valid(s, strlen(s)))
        return zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu].title: must be a non-empty string", path,
                          ri);
    if (zq_fmt(r->title, sizeof(r->title), "%s", s) < 0)
        return zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu].title: too long", path, ri);
    v = json_object_get(j, "day_of_month");
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 31)
        return zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu].day_of_month: must be 1 to 31", path, ri);
    r->day_of_month = (int)json_integer_value(v);
    s = json_string_value(json_object_get(j, "shift"));
    r->shift = ZQ_CAL_KEEP;
    if (json_object_get(j, "shift") != NULL && (s == NULL || zq_cal_shift_parse(s, &r->shift) < 0))
        return zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu].shift: must be keep or next_workday",
                          path, ri);
    if (zq_audience_parse(json_object_get(j, "audience"), &aud, &msg) < 0)
        return zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu].audience: %s", path, ri, msg);
    r->audience = json_dumps(aud, JSON_COMPACT);
    json_decref(aud);
    if (r->audience == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "%s: out of memory", path);
    deftpl = json_string_value(json_object_get(j, "template"));
    if (json_object_get(j, "template") != NULL && (deftpl == NULL || !tpl_name_ok(deftpl)))
        return zq_err_set(err, ZQ_EINVAL,
                          "%s: rules[%zu].template: must be a file name in the templates folder "
                          "ending in .md",
                          path, ri);
    leads = json_object_get(j, "leads");
    if (!json_is_array(leads) || json_array_size(leads) == 0 ||
        json_array_size(leads) > ZQ_RULE_MAX_LEADS)
        return zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu].leads: must be an array of 1 to %d", path,
                          ri, ZQ_RULE_MAX_LEADS);
    json_array_foreach(leads, li, v)
    {
        zq_reminder_lead *l = &r->leads[r->nleads];
        const char *tname;
        char tpath[1024];

        if (!json_is_object(v))
            return zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu].leads[%zu]: must be an object", path,
                              ri, li);
        if (!only_keys(v, lkeys, ZQ_ARRAY_LEN(lkeys), &bad))
            return zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu].leads[%zu].%s: unknown key", path, ri,
                              li, bad);
        s = json_string_value(json_object_get(v, "id"));
        if (s == NULL || !id_ok(s))
            return zq_err_set(err, ZQ_EINVAL,
                              "%s: rules[%zu].leads[%zu].id: must be 1 to 31 of a-z 0-9 - _", path,
                              ri, li);
        for (int k = 0; k < r->nleads; k++)
            if (strcmp(r->leads[k].id, s) == 0)
                return zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu].leads[%zu].id: duplicate \"%s\"",
                                  path, ri, li, s);
        if (zq_fmt(l->id, sizeof(l->id), "%s", s) < 0)
            return zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu].leads[%zu].id: too long", path, ri,
                              li);
        if (zq_lead_parse(json_string_value(json_object_get(v, "at")), &l->offset_days, &l->hour,
                          &l->minute) < 0)
            return zq_err_set(err, ZQ_EINVAL,
                              "%s: rules[%zu].leads[%zu].at: must be like \"-1d 16:00\" (days "
                              "-27..27, Beijing time)",
                              path, ri, li);
        tname = json_string_value(json_object_get(v, "template"));
        if (json_object_get(v, "template") != NULL && (tname == NULL || !tpl_name_ok(tname)))
            return zq_err_set(err, ZQ_EINVAL,
                              "%s: rules[%zu].leads[%zu].template: must be a file name ending in "
                              ".md",
                              path, ri, li);
        if (tname == NULL)
            tname = deftpl;
        if (tname == NULL)
            return zq_err_set(err, ZQ_EINVAL,
                              "%s: rules[%zu].leads[%zu]: no template (set the rule's or the "
                              "lead's \"template\")",
                              path, ri, li);
        if (snprintf(tpath, sizeof(tpath), "%s/%s", tdir, tname) >= (int)sizeof(tpath))
            return zq_err_set(err, ZQ_ETOOBIG, "%s: template path too long", path);
        rc = zq_template_load(tpath, zq_reminder_vars, zq_reminder_nvars, &l->tpl, err);
        if (rc < 0)
            return rc;
        r->nleads++;
    }
    return 0;
}

int zq_reminders_load(const char *path, const char *templates_dir, zq_reminders **out, zq_err *err)
{
    json_error_t je;
    json_t *root, *rules, *j;
    zq_reminders *r;
    const char *bad;
    static const char *const keys[] = {"rules"};
    size_t i, nrules;
    int rc = 0;

    *out = NULL;
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return zq_err_set(err, ZQ_EINVAL, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    if (!json_is_object(root) || !only_keys(root, keys, 1, &bad)) {
        json_decref(root);
        return zq_err_set(err, ZQ_EINVAL, "%s: must be an object with \"rules\" only", path);
    }
    rules = json_object_get(root, "rules");
    if (!json_is_array(rules) || json_array_size(rules) > 64) {
        json_decref(root);
        return zq_err_set(err, ZQ_EINVAL, "%s: rules: must be an array of at most 64", path);
    }
    /* Counted once, so that the analyzer sees the loop below runs only
     * when r->rules was allocated. */
    nrules = json_array_size(rules);
    r = calloc(1, sizeof(*r));
    if (r != NULL && nrules > 0)
        r->rules = calloc(nrules, sizeof(*r->rules));
    if (r == NULL || (nrules > 0 && r->rules == NULL)) {
        free(r);
        json_decref(root);
        return zq_err_set(err, ZQ_ENOMEM, "%s: out of memory", path);
    }
    for (i = 0; i < nrules; i++) {
        j = json_array_get(rules, i);
        rc = load_rule(path, templates_dir, j, i, &r->rules[i], err);
        r->n = i + 1; /* freed with the others even when half loaded */
        if (rc < 0)
            break;
        for (size_t k = 0; k < i; k++)
            if (strcmp(r->rules[k].id, r->rules[i].id) == 0) {
                rc = zq_err_set(err, ZQ_EINVAL, "%s: rules[%zu].id: duplicate \"%s\"", path, i,
                                r->rules[i].id);
                break;
            }
        if (rc < 0)
            break;
    }
    json_decref(root);
    if (rc < 0) {
        zq_reminders_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

static int occ_cmp(const void *a, const void *b)
{
    const zq_occurrence *x = a, *y = b;

    if (x->fire_ms != y->fire_ms)
        return x->fire_ms < y->fire_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

int zq_reminder_occurrences(const zq_reminders *r, const zq_calendar *cal, int64_t from_ms,
                            int64_t to_ms, zq_occurrence *out, int max)
{
    /* A lead moves a reminder at most 27 days from its event, and a shift
     * at most a few weeks (the Spring Festival): look a little wider. */
    zq_date a = zq_date_from_unix((time_t)(from_ms / 1000 - 70 * 86400LL));
    zq_date b = zq_date_from_unix((time_t)(to_ms / 1000 + 70 * 86400LL));
    int n = 0;

    if (r == NULL || !zq_date_valid(a) || !zq_date_valid(b))
        return 0;
    for (int y = a.y, m = a.m; y < b.y || (y == b.y && m <= b.m);) {
        for (size_t i = 0; i < r->n; i++) {
            const zq_reminder_rule *rule = &r->rules[i];
            zq_date ev = zq_cal_monthly_day(cal, y, m, rule->day_of_month, rule->shift);

            if (!zq_date_valid(ev))
                continue;
            for (int k = 0; k < rule->nleads; k++) {
                const zq_reminder_lead *l = &rule->leads[k];
                zq_date fd = zq_date_add_days(ev, l->offset_days);
                int at = zq_reminder_off_peak(l->hour * 60 + l->minute, r->shift_min);
                int64_t fire;

                if (!zq_date_valid(fd))
                    continue;
                fire = zq_date_to_ms(fd, at / 60, at % 60);
                /* Two ids of 31 bytes and a date: always fits. */
                if (fire <= from_ms || fire > to_ms || n >= max ||
                    zq_fmt(out[n].id, sizeof(out[n].id), "%s:%04d-%02d:%s", rule->id, y, m, l->id) <
                        0)
                    continue;
                out[n].rule = rule;
                out[n].lead = l;
                out[n].year = y;
                out[n].month = m;
                out[n].event = ev;
                out[n].fire_ms = fire;
                n++;
            }
        }
        if (++m > 12) {
            m = 1;
            y++;
        }
    }
    qsort(out, (size_t)n, sizeof(*out), occ_cmp);
    return n;
}

zq_occ_state zq_occurrence_state(const zq_occurrence *o, int64_t now_ms, int grace_s)
{
    if (o->fire_ms > now_ms)
        return ZQ_OCC_FUTURE;
    if (now_ms - o->fire_ms <= (int64_t)grace_s * 1000)
        return ZQ_OCC_DUE;
    return ZQ_OCC_TOO_LATE;
}

static bool url_ok(const char *s)
{
    size_t n = strlen(s);

    if (n > 500 || (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '"' ||
            s[i] == '<' || s[i] == '>')
            return false;
    return true;
}

static bool text_ok(const char *s, size_t max_chars)
{
    size_t n = strlen(s);

    if (!zq_utf8_valid(s, n) || zq_utf8_chars(s, n) > max_chars)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

int zq_class_from_json(json_t *in, zq_class *out, const char **field, const char **msg)
{
    static const char *const keys[] = {"id",      "date",     "time",      "title",
                                       "speaker", "live_url", "replay_url"};
    const char *s, *bad;
    zq_date d;
    long long h, m;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(in)) {
        *field = "_";
        *msg = "请求内容应为 JSON 对象。";
        return -ZQ_EINVAL;
    }
    if (!only_keys(in, keys, ZQ_ARRAY_LEN(keys), &bad)) {
        *field = "_";
        *msg = "请求中含有不认识的字段。";
        return -ZQ_EINVAL;
    }
    if (json_object_get(in, "id") != NULL) {
        s = json_string_value(json_object_get(in, "id"));
        if (s == NULL || strlen(s) == 0 || strlen(s) >= sizeof(out->id) || !id_ok(s)) {
            *field = "id";
            *msg = "编号应为 1 到 31 位小写字母、数字、- 或 _。";
            return -ZQ_EINVAL;
        }
        memcpy(out->id, s, strlen(s) + 1); /* length checked above */
    }
    s = json_string_value(json_object_get(in, "date"));
    if (s == NULL || zq_date_parse(s, strlen(s), &d) < 0 || d.y < 2000 || d.y > 2100) {
        *field = "date";
        *msg = "请填写日期，格式为 YYYY-MM-DD。";
        return -ZQ_EINVAL;
    }
    zq_date_format(d, out->date, sizeof(out->date));
    s = json_string_value(json_object_get(in, "time"));
    if (s == NULL || strlen(s) != 5 || s[2] != ':' || zq_parse_ll(s, 2, 0, 23, &h) < 0 ||
        zq_parse_ll(s + 3, 2, 0, 59, &m) < 0) {
        *field = "time";
        *msg = "请填写开始时间，格式为 HH:MM（北京时间）。";
        return -ZQ_EINVAL;
    }
    memcpy(out->time, s, 6); /* "HH:MM" and its NUL, checked above */
    s = json_string_value(json_object_get(in, "title"));
    if (s == NULL || *s == '\0' || strlen(s) >= sizeof(out->title) || !text_ok(s, 80)) {
        *field = "title";
        *msg = "请填写课程标题（最长 80 个字）。";
        return -ZQ_EINVAL;
    }
    memcpy(out->title, s, strlen(s) + 1); /* length checked above */
    if (json_object_get(in, "speaker") != NULL) {
        s = json_string_value(json_object_get(in, "speaker"));
        if (s == NULL || strlen(s) >= sizeof(out->speaker) || !text_ok(s, 40)) {
            *field = "speaker";
            *msg = "主讲人最长 40 个字。";
            return -ZQ_EINVAL;
        }
        memcpy(out->speaker, s, strlen(s) + 1); /* length checked above */
    }
    if (json_object_get(in, "live_url") != NULL) {
        s = json_string_value(json_object_get(in, "live_url"));
        if (s == NULL || (*s != '\0' && !url_ok(s))) {
            *field = "live_url";
            *msg = "直播链接应为以 http:// 或 https:// 开头的网址。";
            return -ZQ_EINVAL;
        }
        /* url_ok allows 500 bytes: it fits. */
        if (zq_fmt(out->live_url, sizeof(out->live_url), "%s", s) < 0) {
            *field = "live_url";
            *msg = "直播链接应为以 http:// 或 https:// 开头的网址。";
            return -ZQ_EINVAL;
        }
    }
    if (json_object_get(in, "replay_url") != NULL) {
        s = json_string_value(json_object_get(in, "replay_url"));
        if (s == NULL || (*s != '\0' && !url_ok(s))) {
            *field = "replay_url";
            *msg = "回放链接应为以 http:// 或 https:// 开头的网址。";
            return -ZQ_EINVAL;
        }
        if (zq_fmt(out->replay_url, sizeof(out->replay_url), "%s", s) < 0) {
            *field = "replay_url";
            *msg = "回放链接应为以 http:// 或 https:// 开头的网址。";
            return -ZQ_EINVAL;
        }
    }
    out->start_ms = zq_date_to_ms(d, (int)h, (int)m);
    return 0;
}

json_t *zq_class_to_json(const zq_class *c)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "id", c->id, "date", c->date,
                     "time", c->time, "title", c->title, "speaker", c->speaker, "live_url",
                     c->live_url, "replay_url", c->replay_url, "start_ms", (json_int_t)c->start_ms);
}

/* A class from its stored object (borrowed). */
static int class_from_member(json_t *o, zq_class *out)
{
    const char *v;
    int bad = 0;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(o))
        return -ZQ_EINVAL;
        /* Saved classes were checked; a longer field is a damaged record. */
#define COPY(f)                                                                                    \
    if ((v = json_string_value(json_object_get(o, #f))) != NULL)                                   \
    bad |= zq_fmt(out->f, sizeof(out->f), "%s", v)
    COPY(id);
    COPY(date);
    COPY(time);
    COPY(title);
    COPY(speaker);
    COPY(live_url);
    COPY(replay_url);
#undef COPY
    out->start_ms = json_integer_value(json_object_get(o, "start_ms"));
    return bad == 0 && out->title[0] != '\0' ? 0 : -ZQ_EINVAL;
}

int zq_class_save(zq_store *st, zq_class *c, bool *created, zq_err *err)
{
    json_t *j;
    char *member;
    int rc;

    if (c->id[0] == '\0') {
        unsigned char raw[2];
        char hex[5];
        zq_date d;

        if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
            return zq_err_set(err, ZQ_EIO, "class: no randomness");
        zq_hex(raw, sizeof(raw), hex);
        if (zq_date_parse(c->date, strlen(c->date), &d) < 0)
            return zq_err_set(err, ZQ_EINVAL, "class: bad date");
        if (zq_fmt(c->id, sizeof(c->id), "cls-%04d%02d%02d-%s", d.y, d.m, d.d, hex) < 0)
            return zq_err_set(err, ZQ_EINVAL, "class: bad date");
    }
    j = zq_class_to_json(c);
    member = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (member == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "class: out of memory");
    rc = zq_classes_save(st, c->id, member, c->start_ms, created, err);
    free(member);
    return rc;
}

int zq_class_for_month(zq_store *st, zq_date d, zq_class *out, zq_err *err)
{
    zq_date first = {d.y, d.m, 1};
    zq_date next = d.m == 12 ? (zq_date){d.y + 1, 1, 1} : (zq_date){d.y, d.m + 1, 1};
    char want[ZQ_DATE_STRLEN];
    json_t *list = NULL, *m;
    size_t i;
    int rc;

    memset(out, 0, sizeof(*out));
    zq_date_format(d, want, sizeof(want));
    rc = zq_classes_between(st, zq_date_to_ms(first, 0, 0), zq_date_to_ms(next, 0, 0), 50, &list,
                            err);
    if (rc < 0)
        return rc == -ZQ_EUNAVAIL ? rc : -ZQ_EREPLY;
    rc = -ZQ_ENOTFOUND;
    json_array_foreach(list, i, m)
    {
        zq_class c;

        if (class_from_member(m, &c) < 0)
            continue;
        if (rc < 0 || strcmp(c.date, want) == 0) {
            bool exact = strcmp(c.date, want) == 0;
            *out = c;
            rc = 0;
            if (exact)
                break;
        }
    }
    json_decref(list);
    return rc;
}

static const char *const weekdays[] = {"",       "星期一", "星期二", "星期三",
                                       "星期四", "星期五", "星期六", "星期日"};

int zq_reminder_render(const zq_occurrence *o, const zq_class *c, zq_buf *title, zq_buf *body)
{
    char year[16], month[16], day[16], date[48], cdate[48] = "";
    const char *when = date; /* further off: the date itself */
    zq_tvar vars[14];
    size_t n = 0;
    int off = o->lead->offset_days;
    zq_date cd;

    /* Ints, in buffers that hold any int: these do not fail. */
    if (zq_fmt(year, sizeof(year), "%d", o->event.y) < 0 ||
        zq_fmt(month, sizeof(month), "%d", o->event.m) < 0 ||
        zq_fmt(day, sizeof(day), "%d", o->event.d) < 0 ||
        zq_fmt(date, sizeof(date), "%d月%d日", o->event.m, o->event.d) < 0)
        return -ZQ_EINVAL;
    if (off == 0)
        when = "今天";
    else if (off == -1)
        when = "明天";
    else if (off == -2)
        when = "后天";
    if (c != NULL && zq_date_parse(c->date, strlen(c->date), &cd) == 0 &&
        zq_fmt(cdate, sizeof(cdate), "%d月%d日", cd.m, cd.d) < 0)
        return -ZQ_EINVAL;

    vars[n++] = (zq_tvar){"rule.title", o->rule->title};
    vars[n++] = (zq_tvar){"year", year};
    vars[n++] = (zq_tvar){"month", month};
    vars[n++] = (zq_tvar){"day", day};
    vars[n++] = (zq_tvar){"date", date};
    vars[n++] = (zq_tvar){"weekday", weekdays[zq_date_weekday(o->event)]};
    vars[n++] = (zq_tvar){"when", when};
    vars[n++] = (zq_tvar){"class", c != NULL ? "1" : ""};
    vars[n++] = (zq_tvar){"class.title", c ? c->title : ""};
    vars[n++] = (zq_tvar){"class.date", cdate};
    vars[n++] = (zq_tvar){"class.time", c ? c->time : ""};
    vars[n++] = (zq_tvar){"class.link", c ? c->live_url : ""};
    vars[n++] = (zq_tvar){"class.replay", c ? c->replay_url : ""};
    vars[n++] = (zq_tvar){"class.speaker", c ? c->speaker : ""};
    return zq_template_render(o->lead->tpl, vars, n, title, body);
}

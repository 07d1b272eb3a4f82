/* List filters from request parameters, and the cursors of a listing. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "staff_int.h"

static bool name_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 63)
        return false;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

int zq_case_filter_parse(zq_case_filter *f, zq_param_fn get, void *ctx, const zq_schema *s,
                         const char **param, const char **msg)
{
    const char *v;
    zq_date d;

    memset(f, 0, sizeof(*f));
#define FAIL(p, m)                                                                                 \
    do {                                                                                           \
        *param = (p);                                                                              \
        *msg = (m);                                                                                \
        return -ZQ_EINVAL;                                                                         \
    } while (0)
    v = get(ctx, "type");
    if (v != NULL && *v != '\0') {
        if (zq_wf_machine_for(v) == NULL || strlen(v) >= sizeof(f->type) ||
            (s != NULL && zq_schema_form(s, v) == NULL))
            FAIL("type", "案件类型不正确，应为 complaint（投诉）或 consult（咨询）。");
        memcpy(f->type, v, strlen(v) + 1); /* shorter, checked above */
    }
    v = get(ctx, "status");
    if (v != NULL && *v != '\0') {
        if (!zq_wf_status_known(v) || strlen(v) >= sizeof(f->status))
            FAIL("status", "案件状态不正确。");
        memcpy(f->status, v, strlen(v) + 1);
    }
    v = get(ctx, "region");
    if (v != NULL && *v != '\0') {
        const zq_region *r = s ? zq_schema_region_find(s, v) : NULL;
        if (r != NULL)
            v = r->code;
        else if (s != NULL || strlen(v) != 6 || strspn(v, "0123456789") != 6)
            FAIL("region", "地区不正确，请使用六位行政区划代码或地区名称。");
        if (zq_fmt(f->region, sizeof(f->region), "%s", v) < 0)
            FAIL("region", "地区不正确，请使用六位行政区划代码或地区名称。");
    }
    v = get(ctx, "handler");
    if (v != NULL && *v != '\0') {
        if (!name_ok(v))
            FAIL("handler", "承办人名称不正确。");
        memcpy(f->handler, v, strlen(v) + 1); /* at most 63 bytes (name_ok) */
    }
    v = get(ctx, "from");
    if (v != NULL && *v != '\0') {
        if (zq_date_parse(v, strlen(v), &d) < 0 || d.y < 2000 || d.y > 2100)
            FAIL("from", "开始日期格式应为 YYYY-MM-DD。");
        f->from_ms = zq_date_to_ms(d, 0, 0);
    }
    v = get(ctx, "to");
    if (v != NULL && *v != '\0') {
        if (zq_date_parse(v, strlen(v), &d) < 0 || d.y < 2000 || d.y > 2100)
            FAIL("to", "结束日期格式应为 YYYY-MM-DD。");
        f->to_ms = zq_date_to_ms(zq_date_add_days(d, 1), 0, 0);
    }
    if (f->from_ms > 0 && f->to_ms > 0 && f->to_ms <= f->from_ms)
        FAIL("to", "结束日期不能早于开始日期。");
    v = get(ctx, "overdue");
    if (v != NULL && *v != '\0') {
        if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
            f->overdue = true;
        else if (strcmp(v, "0") != 0 && strcmp(v, "false") != 0)
            FAIL("overdue", "overdue 应为 1 或 0。");
    }
    v = get(ctx, "q");
    if (v != NULL) {
        size_t n;
        while (*v == ' ')
            v++;
        n = strlen(v);
        while (n > 0 && v[n - 1] == ' ')
            n--;
        if (!zq_utf8_valid(v, n) || zq_utf8_chars(v, n) > ZQ_STAFF_Q_MAX || n >= sizeof(f->q))
            FAIL("q", "搜索内容最多 50 个字。");
        memcpy(f->q, v, n);
        f->q[n] = '\0';
    }
#undef FAIL
    return 0;
}

char *zq_case_filter_text(const zq_case_filter *f, char *buf, size_t bufsz)
{
    /* The fields are bounded (some 340 bytes in all); a smaller buf gets
     * "" rather than half a character. */
    if (zq_fmt(buf, bufsz,
               "type=%s status=%s region=%s handler=%s from_ms=%lld to_ms=%lld overdue=%d "
               "q=%s",
               f->type, f->status, f->region, f->handler, (long long)f->from_ms,
               (long long)f->to_ms, f->overdue, f->q) < 0 &&
        bufsz > 0)
        buf[0] = '\0';
    return buf;
}

int zq_cursor_parse(const char *s, zq_cursor *out)
{
    const char *us = s ? strchr(s, '_') : NULL;
    long long sc;

    memset(out, 0, sizeof(*out));
    if (us == NULL || zq_parse_ll(s, (size_t)(us - s), 0, INT64_MAX, &sc) < 0 ||
        strlen(us + 1) >= sizeof(out->id) || !zq_case_id_valid(us + 1))
        return -ZQ_EINVAL;
    out->set = true;
    out->score = sc;
    memcpy(out->id, us + 1, strlen(us + 1) + 1);
    return 0;
}

void zq_cursor_format(const zq_cursor *c, char out[64])
{
    /* 19 digits, '_' and an id of under 32 bytes always fit. */
    if (zq_fmt(out, 64, "%lld_%s", (long long)c->score, c->id) < 0)
        out[0] = '\0';
}

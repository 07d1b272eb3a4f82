/* The morning digest: open cases overdue or due soon, by office, as JSON
 * and as a plain-text message for a group robot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staff_int.h"

#define DIGEST_MAX 2000
#define WITHDRAWN_MAX 200 /* enterprise withdrawals listed */

static const char *answer_str(json_t *answers, const char *key)
{
    const char *v = json_string_value(json_object_get(answers, key));
    return v ? v : "";
}

static json_t *cross_region_json(const zq_schema *s, const char *partner)
{
    if (partner == NULL || *partner == '\0')
        return json_null();
    return json_pack("{s:s, s:s, s:s}", "partner", partner, "partner_name",
                     zq_staff_region_name(s, partner), "channel",
                     strcmp(partner, "500000") == 0 ? "川渝跨区域协作" : "跨省协作");
}

typedef struct digest_item {
    zq_case_row row;
    zq_deadline d;
    int left;
    char office[8];
    char partner[8];
} digest_item;

static int cmp_item(const void *a, const void *b)
{
    const digest_item *x = a, *y = b;
    bool xc = strcmp(x->office, "510000") == 0, yc = strcmp(y->office, "510000") == 0;
    int c;

    if (xc != yc)
        return xc - yc; /* the cross-region desk last */
    c = strcmp(x->office, y->office);
    if (c != 0)
        return c;
    c = zq_date_cmp(x->d.due, y->d.due);
    return c != 0 ? c : strcmp(x->row.id, y->row.id);
}

/* Adds the ids of a reply array to ids (deduplicated), up to max. */
static void add_ids(const redisReply *r, char (*ids)[ZQ_CASE_ID_MAX], int *n, int max)
{
    size_t i;
    int j;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return;
    for (i = 0; i < r->elements && *n < max; i++) {
        const redisReply *e = r->element[i];
        bool seen = false;
        if (e->type != REDIS_REPLY_STRING || e->len >= ZQ_CASE_ID_MAX)
            continue;
        for (j = 0; j < *n && !seen; j++)
            seen = strncmp(ids[j], e->str, ZQ_CASE_ID_MAX) == 0;
        if (!seen)
            zq_staff_copy_str(ids[(*n)++], ZQ_CASE_ID_MAX, e);
    }
}

/* The years whose holiday notice the working-day deadlines need and the
 * calendar lacks: this year, and from November the next (the State
 * Council publishes it in the autumn; deadlines of December cases already
 * reach into it). A new array of integers. */
static json_t *calendar_missing(const zq_staff_ctx *ctx)
{
    json_t *years = json_array();
    int y = ctx->today.y;

    if (ctx->cal == NULL || !zq_date_valid(ctx->today))
        return years;
    if (!zq_cal_year_known(ctx->cal, y))
        json_array_append_new(years, json_integer(y));
    if (ctx->today.m >= 11 && !zq_cal_year_known(ctx->cal, y + 1))
        json_array_append_new(years, json_integer(y + 1));
    return years;
}

/* The cases the enterprises withdrew since the start of the previous
 * working day (so that Monday's digest has Friday's and the weekend's),
 * from cases:withdrawn (reply r: ids WITHSCORES), oldest first, as a new
 * array of {"id","type","type_label","company_name","withdrawn_at"}. */
static json_t *withdrawn_list(zq_store *st, const zq_staff_ctx *ctx, const redisReply *r,
                              zq_err *err, int *rc)
{
    char(*ids)[ZQ_CASE_ID_MAX] = NULL;
    zq_case_row *rows = NULL;
    int64_t *at = NULL;
    json_t *out = json_array();
    int n = 0, i;

    *rc = 0;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0)
        return out;
    ids = calloc(r->elements / 2 + 1, sizeof(*ids));
    rows = calloc(r->elements / 2 + 1, sizeof(*rows));
    at = calloc(r->elements / 2 + 1, sizeof(*at));
    if (ids == NULL || rows == NULL || at == NULL) {
        *rc = zq_err_set(err, ZQ_ENOMEM, "digest: out of memory");
        goto out;
    }
    for (size_t k = 0; k + 1 < r->elements; k += 2) {
        long long ms;
        const redisReply *e = r->element[k], *sc = r->element[k + 1];
        if (e->type != REDIS_REPLY_STRING || e->len >= ZQ_CASE_ID_MAX ||
            sc->type != REDIS_REPLY_STRING || zq_parse_ll(sc->str, sc->len, 0, INT64_MAX, &ms) < 0)
            continue;
        zq_staff_copy_str(ids[n], ZQ_CASE_ID_MAX, e);
        at[n++] = ms;
    }
    if ((*rc = zq_staff_fetch_rows(st, ids, n, true, rows, err)) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        char iso[32];
        if (!rows[i].found || strcmp(rows[i].status, "withdrawn") != 0)
            continue; /* gone, or reopened since */
        zq_time_iso(at[i], iso);
        json_array_append_new(
            out,
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", rows[i].id, "type", rows[i].form,
                      "type_label", zq_staff_form_title(ctx->schema, rows[i].form), "company_name",
                      answer_str(rows[i].answers, "company_name"), "withdrawn_at", iso));
    }
out:
    for (i = 0; rows != NULL && i < n; i++)
        zq_case_row_clear(&rows[i]);
    free(ids);
    free(rows);
    free(at);
    return out;
}

int zq_staff_digest(zq_store *st, const zq_staff_ctx *ctx_in, int within, json_t **out, zq_err *err)
{
    zq_staff_memo memo_own = {{{0}}};
    zq_staff_ctx ctx_own = zq_staff_with_memo(ctx_in, &memo_own);
    const zq_staff_ctx *ctx = &ctx_own;
    zq_date limit = zq_cal_add_workdays(ctx->cal, ctx->today, within);
    zq_date cut = zq_wf_review_cutoff(ctx->cal, &ctx->lim, limit);
    char(*ids)[ZQ_CASE_ID_MAX] = malloc(DIGEST_MAX * sizeof(*ids));
    digest_item *items = calloc(DIGEST_MAX, sizeof(*items));
    zq_case_row *rowv = calloc(DIGEST_MAX, sizeof(*rowv));
    redisReply *rep[3] = {NULL, NULL, NULL};
    json_t *offices = json_array(), *cur_office = NULL, *withdrawn = NULL;
    char date[ZQ_DATE_STRLEN], prev[8] = "", due_key[ZQ_STORE_KEY_MAX], sub_key[ZQ_STORE_KEY_MAX],
                               wd_key[ZQ_STORE_KEY_MAX];
    zq_date since = zq_cal_add_workdays(ctx->cal, ctx->today, -1);
    int n = 0, ni = 0, i, rc = 0;
    long long nover = 0, nsoon = 0;

    *out = NULL;
    if (ids == NULL || items == NULL || rowv == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "digest: out of memory");
        goto out;
    }
    if (zq_store_key(st, due_key, sizeof(due_key), "cases:due") < 0 ||
        zq_store_key(st, sub_key, sizeof(sub_key), "cases:status:submitted") < 0 ||
        zq_store_key(st, wd_key, sizeof(wd_key), "cases:withdrawn") < 0) {
        rc = zq_err_set(err, ZQ_ETOOBIG, "digest: key prefix too long");
        goto out;
    }
    zq_store_append(st, "ZRANGEBYSCORE %s -inf %lld LIMIT 0 %d", due_key,
                    (long long)zq_wf_date_score(limit), DIGEST_MAX);
    zq_store_append(st, "ZRANGEBYSCORE %s -inf (%lld LIMIT 0 %d", sub_key,
                    zq_date_valid(cut) ? (long long)zq_date_to_ms(zq_date_add_days(cut, 1), 0, 0)
                                       : 0LL,
                    DIGEST_MAX);
    zq_store_append(st, "ZRANGEBYSCORE %s %lld +inf WITHSCORES LIMIT 0 %d", wd_key,
                    zq_date_valid(since) ? (long long)zq_date_to_ms(since, 0, 0) : 0LL,
                    WITHDRAWN_MAX);
    if (zq_store_read_replies(st, err, 3, rep) < 0) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    add_ids(rep[0], ids, &n, DIGEST_MAX);
    add_ids(rep[1], ids, &n, DIGEST_MAX);
    rc = zq_staff_fetch_rows(st, ids, n, true, rowv, err);
    if (rc < 0)
        goto out;
    for (i = 0; i < n; i++) {
        digest_item *it = &items[ni];
        zq_staff_row_deadline(ctx, &rowv[i], &it->d);
        if (!rowv[i].found || it->d.clock == ZQ_WF_CLOCK_NONE ||
            zq_date_cmp(it->d.due, limit) > 0) {
            zq_case_row_clear(&rowv[i]);
            continue;
        }
        it->row = rowv[i];
        rowv[i].answers = NULL; /* moved into the item */
        rowv[i].answers_text = NULL;
        rowv[i].summary_text = NULL;
        rowv[i].rating_comment = NULL;
        rowv[i].result_reason = NULL;
        it->left = zq_staff_days_left(ctx, &it->d);
        if (it->row.office[0] != '\0') {
            /* The same sizes: char[8] each. */
            memcpy(it->office, it->row.office, sizeof(it->office));
            memcpy(it->partner, it->row.cross_region, sizeof(it->partner));
        } else {
            zq_wf_default_office(it->row.form, it->row.answers, it->office, it->partner);
        }
        ni++;
    }
    withdrawn = withdrawn_list(st, ctx, rep[2], err, &rc);
    if (rc < 0)
        goto out;
    qsort(items, (size_t)ni, sizeof(*items), cmp_item);
    for (i = 0; i < ni; i++) {
        digest_item *it = &items[i];
        bool over = zq_date_cmp(ctx->today, it->d.due) > 0;
        char due[ZQ_DATE_STRLEN], obuf[160];
        json_t *c;

        if (cur_office == NULL || strcmp(prev, it->office) != 0) {
            cur_office =
                json_pack("{s:s, s:s, s:[], s:[]}", "office", it->office, "office_name",
                          zq_staff_office_name(ctx->schema, it->office, obuf, sizeof(obuf)),
                          "overdue", "due_soon");
            json_array_append_new(offices, cur_office);
            memcpy(prev, it->office, sizeof(prev));
        }
        c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:o}", "id", it->row.id,
                      "type", it->row.form, "status", it->row.status, "status_label",
                      zq_staff_status_label(it->row.form, it->row.status), "what",
                      zq_wf_clock_label(it->d.clock), "due",
                      zq_date_format(it->d.due, due, sizeof(due)), "days_left", it->left, "unit",
                      it->d.workdays ? "workdays" : "days", "handler", it->row.handler,
                      "company_name", answer_str(it->row.answers, "company_name"), "cross_region",
                      cross_region_json(ctx->schema, it->partner));
        json_array_append_new(json_object_get(cur_office, over ? "overdue" : "due_soon"), c);
        if (over)
            nover++;
        else
            nsoon++;
    }
    *out =
        json_pack("{s:s, s:i, s:I, s:I, s:o, s:o, s:I, s:o}", "date",
                  zq_date_format(ctx->today, date, sizeof(date)), "within_workdays", within,
                  "total_overdue", (json_int_t)nover, "total_due_soon", (json_int_t)nsoon,
                  "offices", offices, "calendar_missing", calendar_missing(ctx), "total_withdrawn",
                  (json_int_t)json_array_size(withdrawn), "withdrawn", withdrawn);
    offices = NULL;
    withdrawn = NULL;
out:
    json_decref(withdrawn);
    for (i = 0; i < 3; i++)
        if (rep[i] != NULL)
            freeReplyObject(rep[i]);
    if (items != NULL)
        for (i = 0; i < ni; i++)
            zq_case_row_clear(&items[i].row);
    if (rowv != NULL)
        for (i = 0; i < n; i++)
            zq_case_row_clear(&rowv[i]);
    json_decref(offices);
    free(ids);
    free(items);
    free(rowv);
    return rc;
}

/* The warning line about missing holiday files, if any. */
static void calendar_lines(zq_buf *b, const json_t *digest)
{
    json_t *years = json_object_get(digest, "calendar_missing"), *y;
    size_t i;

    json_array_foreach(years, i, y)
    {
        long long yr = (long long)json_integer_value(y);
        zq_buf_printf(b,
                      "\n注意：尚未配置 %lld 年节假日安排（holidays/%lld.json），涉及该年的工作日"
                      "期限暂按周一至周五计算。国务院办公厅通知发布后请及时添加。\n",
                      yr, yr);
    }
}

static void digest_lines(zq_buf *b, json_t *list, const char *title)
{
    json_t *c;
    size_t i;

    if (json_array_size(list) == 0)
        return;
    zq_buf_printf(b, "  %s %zu 件：\n", title, json_array_size(list));
    json_array_foreach(list, i, c)
    {
        long long left = json_integer_value(json_object_get(c, "days_left"));
        bool wd = strcmp(json_string_value(json_object_get(c, "unit")), "workdays") == 0;
        const char *handler = json_string_value(json_object_get(c, "handler"));

        zq_buf_printf(b, "  - %s %s（%s）%s %s，", json_string_value(json_object_get(c, "id")),
                      json_string_value(json_object_get(c, "company_name")),
                      json_string_value(json_object_get(c, "status_label")),
                      json_string_value(json_object_get(c, "what")),
                      json_string_value(json_object_get(c, "due")));
        if (left < 0)
            zq_buf_printf(b, "已逾期 %lld %s", -left, wd ? "个工作日" : "天");
        else if (left == 0)
            zq_buf_puts(b, "今天到期");
        else
            zq_buf_printf(b, "剩余 %lld %s", left, wd ? "个工作日" : "天");
        if (handler != NULL && *handler != '\0')
            zq_buf_printf(b, "，承办人 %s", handler);
        zq_buf_puts(b, "\n");
    }
}

/* The enterprises' withdrawals, if any. */
static void withdrawn_lines(zq_buf *b, const json_t *digest)
{
    json_t *list = json_object_get(digest, "withdrawn"), *c;
    size_t i;

    if (json_array_size(list) == 0)
        return;
    zq_buf_printf(b, "\n企业撤回 %zu 件（上一个工作日以来）：\n", json_array_size(list));
    json_array_foreach(list, i, c)
    {
        const char *at = json_string_value(json_object_get(c, "withdrawn_at"));
        zq_buf_printf(b, "  - %s %s（%s）撤回于 %.10s %.5s\n",
                      json_string_value(json_object_get(c, "id")),
                      json_string_value(json_object_get(c, "company_name")),
                      json_string_value(json_object_get(c, "type_label")), at ? at : "",
                      at && strlen(at) >= 16 ? at + 11 : "");
    }
}

char *zq_staff_digest_text(const json_t *digest)
{
    json_t *offices = json_object_get(digest, "offices"), *o;
    const char *date = json_string_value(json_object_get(digest, "date"));
    zq_buf b = {0};
    size_t i;

    zq_buf_printf(&b, "【办件期限提醒】%s\n", date ? date : "");
    if (json_array_size(offices) == 0) {
        zq_buf_puts(&b, "今天没有逾期或即将到期的案件。\n");
        withdrawn_lines(&b, digest);
        calendar_lines(&b, digest);
        if (b.oom) {
            zq_buf_free(&b);
            return NULL;
        }
        return zq_buf_steal(&b);
    }
    zq_buf_printf(&b, "逾期 %lld 件，%lld 个工作日内到期 %lld 件。\n",
                  (long long)json_integer_value(json_object_get(digest, "total_overdue")),
                  (long long)json_integer_value(json_object_get(digest, "within_workdays")),
                  (long long)json_integer_value(json_object_get(digest, "total_due_soon")));
    json_array_foreach(offices, i, o)
    {
        zq_buf_printf(&b, "\n%s\n", json_string_value(json_object_get(o, "office_name")));
        digest_lines(&b, json_object_get(o, "overdue"), "已逾期");
        digest_lines(&b, json_object_get(o, "due_soon"), "即将到期");
    }
    withdrawn_lines(&b, digest);
    calendar_lines(&b, digest);
    if (b.oom) {
        zq_buf_free(&b);
        return NULL;
    }
    return zq_buf_steal(&b);
}

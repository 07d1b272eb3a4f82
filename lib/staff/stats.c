/* Statistics over the cases matching a filter: counts, and how fast and
 * how often on time the written answers came. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staff_int.h"

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Counter maps as JSON objects of integers. */
static void bump(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL)
        json_object_set_new(obj, key, json_integer(1));
    else
        json_integer_set(v, json_integer_value(v) + 1);
}

typedef struct answer_acc {
    long long *ms; /* submission-to-answer durations */
    size_t n, cap;
    long long with_limit, on_time;
} answer_acc;

static void acc_add(answer_acc *a, long long ms)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        long long *p = realloc(a->ms, cap * sizeof(*p));
        if (p == NULL)
            return;
        a->ms = p;
        a->cap = cap;
    }
    a->ms[a->n++] = ms;
}

static json_t *acc_json(answer_acc *a)
{
    json_t *median = json_null(), *share = json_null();

    if (a->n > 0) {
        size_t mid = a->n / 2;
        double m;

        qsort(a->ms, a->n, sizeof(*a->ms), cmp_ll);
        m = a->n % 2 ? (double)a->ms[mid] : ((double)a->ms[mid - 1] + (double)a->ms[mid]) / 2.0;
        median = json_real((double)(long long)(m / 86400000.0 * 10.0 + 0.5) / 10.0);
    }
    if (a->with_limit > 0)
        share = json_real(
            (double)(long long)((double)a->on_time / (double)a->with_limit * 1000.0 + 0.5) /
            1000.0);
    return json_pack("{s:I, s:o, s:I, s:I, s:o}", "answered", (json_int_t)a->n, "median_days",
                     median, "with_limit", (json_int_t)a->with_limit, "on_time",
                     (json_int_t)a->on_time, "on_time_share", share);
}

/* {"key": n} -> [{"<kname>": key, "label": ..., "count": n}] in key order. */
static json_t *count_list(json_t *obj, const char *kname, const zq_staff_ctx *ctx, int kind)
{
    const char *keys[512];
    const char *k;
    json_t *v, *out = json_array();
    size_t n = 0, i, j;

    json_object_foreach(obj, k, v)
    {
        if (n < ZQ_ARRAY_LEN(keys))
            keys[n++] = k;
    }
    for (i = 1; i < n; i++) /* insertion sort: a few dozen keys */
        for (j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    for (i = 0; i < n; i++) {
        json_t *e = json_pack("{s:s, s:I}", kname, keys[i], "count",
                              (json_int_t)json_integer_value(json_object_get(obj, keys[i])));
        if (kind == 1)
            json_object_set_new(e, "label", json_string(zq_staff_form_title(ctx->schema, keys[i])));
        else if (kind == 2)
            json_object_set_new(e, "label", json_string(zq_case_status_label(keys[i])));
        else if (kind == 3)
            json_object_set_new(e, "label",
                                json_string(zq_staff_region_name(ctx->schema, keys[i])));
        json_array_append_new(out, e);
    }
    return out;
}

/* Amounts per key: {"key": {"count","involved_fen","recovered_fen",
 * "with_result"}}. involved is the amount owed as filed; recovered what
 * the outcome recorded. */
static void amounts_add(json_t *obj, const char *key, long long involved, const zq_case_row *r)
{
    json_t *e = json_object_get(obj, key);

    if (e == NULL) {
        e = json_pack("{s:I, s:I, s:I, s:I}", "count", (json_int_t)0, "involved_fen", (json_int_t)0,
                      "recovered_fen", (json_int_t)0, "with_result", (json_int_t)0);
        if (e == NULL || json_object_set_new(obj, key, e) < 0)
            return;
    }
#define ADD(name, v)                                                                               \
    json_integer_set(json_object_get(e, name), json_integer_value(json_object_get(e, name)) + (v))
    ADD("count", 1);
    ADD("involved_fen", involved);
    ADD("recovered_fen", r->has_recovered ? r->recovered_fen : 0);
    ADD("with_result", r->result[0] != '\0');
#undef ADD
}

/* The label of an option of the complaint's respondent_type field. */
static const char *payer_label(const zq_schema *s, const char *v)
{
    const zq_form *f = s ? zq_schema_form(s, "complaint") : NULL;
    const zq_field *fd = f ? zq_form_field(f, "respondent_type", NULL) : NULL;
    size_t i;

    for (i = 0; fd != NULL && i < fd->noptions; i++)
        if (strcmp(fd->options[i].value, v) == 0)
            return fd->options[i].label;
    return strcmp(v, "none") == 0 ? "未填写" : v;
}

/* {key: amounts} -> [{"<kname>": key, "label", "count", ...}] in key
 * order; kind as count_list, 4 payer types, 5 departments. */
static json_t *amount_list(json_t *obj, const char *kname, const zq_staff_ctx *ctx, int kind)
{
    json_t *keys = json_object(), *out, *e;
    const char *k;
    json_t *v;
    size_t i;

    /* Ordered as count_list orders: through a counter map. */
    json_object_foreach(obj, k, v)
    {
        json_object_set_new(keys, k, json_integer(1));
    }
    out = count_list(keys, kname, ctx, kind < 4 ? kind : 0);
    json_decref(keys);
    json_array_foreach(out, i, e)
    {
        const char *key = json_string_value(json_object_get(e, kname));
        json_object_update(e, json_object_get(obj, key));
        if (kind == 4) {
            json_object_set_new(e, "label", json_string(payer_label(ctx->schema, key)));
        } else if (kind == 5) {
            const char *l = zq_wf_department_label(ctx->handling, key);
            json_object_set_new(e, "label",
                                json_string(l                          ? l
                                            : strcmp(key, "none") == 0 ? "未转办"
                                                                       : key));
        }
    }
    return out;
}

/* The enterprises' evaluations per key: {"key": {"rated": n, "<rating>":
 * n...}}, and the counter map of the ratings alone (count_list's input). */
static void sat_add(json_t *obj, json_t *rated, const char *key, const char *rating)
{
    json_t *e = json_object_get(obj, key);

    if (e == NULL) {
        e = json_object();
        for (size_t i = 0; zq_wf_rating_at(i) != NULL; i++)
            json_object_set_new(e, zq_wf_rating_at(i), json_integer(0));
        if (e == NULL || json_object_set_new(obj, key, e) < 0)
            return;
    }
    bump(e, rating);
    bump(rated, key);
}

/* A share rounded to 0.001, or null without a base. */
static json_t *share_of(long long n, long long base)
{
    if (base <= 0)
        return json_null();
    return json_real((double)(long long)((double)n / (double)base * 1000.0 + 0.5) / 1000.0);
}

/* One group's satisfaction members into e: the count per rating (from
 * per, may be NULL), "rated", and "satisfied_share": the share rated
 * 满意 or 基本满意, the figure the offices report. */
static void sat_members(json_t *e, json_t *per, long long rated)
{
    long long good = 0;

    for (size_t i = 0; zq_wf_rating_at(i) != NULL; i++) {
        const char *r = zq_wf_rating_at(i);
        long long n = json_integer_value(json_object_get(per, r));
        json_object_set_new(e, r, json_integer(n));
        if (strcmp(r, "dissatisfied") != 0)
            good += n;
    }
    json_object_set_new(e, "rated", json_integer(rated));
    json_object_set_new(e, "satisfied_share", share_of(good, rated));
}

/* {key: per rating} -> [{"<kname>": key, "label"?, "rated", "<rating>"...,
 * "satisfied_share"}] in key order; kind as count_list. */
static json_t *sat_list(json_t *obj, json_t *rated, const char *kname, const zq_staff_ctx *ctx,
                        int kind)
{
    json_t *out = count_list(rated, kname, ctx, kind), *e;
    size_t i;

    json_array_foreach(out, i, e)
    {
        const char *key = json_string_value(json_object_get(e, kname));
        long long n = json_integer_value(json_object_get(e, "count"));
        json_object_del(e, "count");
        sat_members(e, json_object_get(obj, key), n);
    }
    return out;
}

/* On-time counts of one deadline kind. */
typedef struct ontime {
    long long with_limit, on_time;
} ontime;

static void ontime_add(ontime *o, const char *flag)
{
    if (flag[0] == '\0')
        return;
    o->with_limit++;
    o->on_time += flag[0] == '1';
}

static json_t *ontime_json(const ontime *o, zq_wf_clock c)
{
    json_t *share = json_null();

    if (o->with_limit > 0)
        share = json_real(
            (double)(long long)((double)o->on_time / (double)o->with_limit * 1000.0 + 0.5) /
            1000.0);
    return json_pack("{s:s, s:I, s:I, s:o}", "label", zq_wf_clock_label(c), "with_limit",
                     (json_int_t)o->with_limit, "on_time", (json_int_t)o->on_time, "on_time_share",
                     share);
}

int zq_staff_stats(zq_store *st, const zq_staff_ctx *ctx_in, const zq_case_filter *f, json_t **out,
                   zq_err *err)
{
    zq_staff_memo memo_own = {{{0}}};
    zq_staff_ctx ctx_own = zq_staff_with_memo(ctx_in, &memo_own);
    const zq_staff_ctx *ctx = &ctx_own;
    char(*ids)[ZQ_CASE_ID_MAX] = malloc(SCAN_BATCH * sizeof(*ids));
    zq_case_row *rowv = calloc(SCAN_BATCH, sizeof(*rowv));
    json_t *types = json_object(), *statuses = json_object(), *regions = json_object(),
           *months = json_object(), *by_type_answer = json_object(), *am_payer = json_object(),
           *am_dep = json_object(), *am_region = json_object(), *am_month = json_object();
    json_t *sat_all = json_object(), *sat_type = json_object(), *sat_region = json_object(),
           *sat_month = json_object(), *rated_type = json_object(), *rated_region = json_object(),
           *rated_month = json_object();
    long long rated = 0, closed = 0;
    ontime ot_review = {0}, ot_transfer = {0}, ot_answer = {0};
    long long involved_all = 0, recovered_all = 0, with_result = 0;
    answer_acc all = {0}, per[8];
    const char *per_name[8];
    size_t nper = 0, k;
    zq_cursor cur = {0};
    bool done = false;
    long long total = 0, overdue = 0;
    int n, i, rc = 0;

    *out = NULL;
    memset(per, 0, sizeof(per));
    if (ids == NULL || rowv == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "stats: out of memory");
        goto out;
    }
    while (!done && rc == 0) {
        /* The answers for the payer type and the amount (read as text,
         * not parsed). */
        rc = zq_staff_scan(st, ctx, f, &cur, SCAN_BATCH, SCAN_BUDGET * 5, ZQ_SCAN_ANSWERS, ids,
                           rowv, &n, &done, err);
        if (rc < 0)
            break;
        for (i = 0; i < n; i++) {
            zq_case_row *r = &rowv[i];
            char month[8], iso[32];
            zq_deadline d;

            if (!r->found)
                continue;
            total++;
            bump(types, r->form);
            bump(statuses, r->status);
            bump(regions, r->region[0] ? r->region : "none");
            zq_time_iso(r->created_ms, iso);
            memcpy(month, iso, 7); /* "YYYY-MM" */
            month[7] = '\0';
            bump(months, month);
            zq_staff_row_deadline(ctx, r, &d);
            /* The date for more material is the enterprise's, not the
             * office's: missing it is no delay of the office. */
            if (d.clock != ZQ_WF_CLOCK_NONE && d.clock != ZQ_WF_CLOCK_SUPPLY &&
                zq_date_cmp(ctx->today, d.due) > 0)
                overdue++;
            /* Satisfaction: the closed cases could be rated. */
            closed += strcmp(r->status, "closed") == 0;
            if (zq_wf_rating_label(r->rating) != NULL) {
                rated++;
                bump(sat_all, r->rating);
                sat_add(sat_type, rated_type, r->form, r->rating);
                sat_add(sat_region, rated_region, r->region[0] ? r->region : "none", r->rating);
                sat_add(sat_month, rated_month, month, r->rating);
            }
            if (strcmp(r->form, "complaint") == 0) {
                char payer[40] = "none", amount[24] = "";
                long long involved = 0;
                size_t vl = 0;
                const char *v =
                    zq_json_member(r->answers_text, r->answers_len, "respondent_type", &vl);
                if (v != NULL && vl > 2)
                    zq_json_decode(v, vl, payer, sizeof(payer));
                v = zq_json_member(r->answers_text, r->answers_len, "amount_fen", &vl);
                if (v != NULL && vl > 0 && vl < sizeof(amount) && strspn(v, "0123456789") == vl) {
                    memcpy(amount, v, vl);
                    amount[vl] = '\0';
                    if (zq_parse_ll(amount, vl, 0, INT64_MAX, &involved) < 0)
                        involved = 0;
                }
                amounts_add(am_payer, payer[0] ? payer : "none", involved, r);
                amounts_add(am_dep, r->department[0] ? r->department : "none", involved, r);
                amounts_add(am_region, r->region[0] ? r->region : "none", involved, r);
                amounts_add(am_month, month, involved, r);
                involved_all += involved;
                recovered_all += r->has_recovered ? r->recovered_fen : 0;
                with_result += r->result[0] != '\0';
                ontime_add(&ot_review, r->review_on_time);
                ontime_add(&ot_transfer, r->transfer_on_time);
                ontime_add(&ot_answer, r->answered_on_time);
            }
            if (r->answered_ms > 0) {
                answer_acc *a = NULL;
                for (k = 0; k < nper && a == NULL; k++)
                    if (strcmp(per_name[k], r->form) == 0)
                        a = &per[k];
                if (a == NULL && nper < ZQ_ARRAY_LEN(per)) {
                    const zq_wf_machine *m = zq_wf_machine_for(r->form);
                    per_name[nper] = m ? m->form : "other";
                    a = &per[nper++];
                }
                acc_add(&all, r->answered_ms - r->created_ms);
                if (a != NULL)
                    acc_add(a, r->answered_ms - r->created_ms);
                if (r->answered_on_time[0] != '\0') {
                    bool ok = r->answered_on_time[0] == '1';
                    all.with_limit++;
                    all.on_time += ok;
                    if (a != NULL) {
                        a->with_limit++;
                        a->on_time += ok;
                    }
                }
            }
        }
        for (i = 0; i < n; i++)
            zq_case_row_clear(&rowv[i]);
    }
    if (rc < 0)
        goto out;
    for (k = 0; k < nper; k++)
        json_object_set_new(by_type_answer, per_name[k], acc_json(&per[k]));
    *out = json_pack(
        "{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "total", (json_int_t)total, "overdue_open",
        (json_int_t)overdue, "by_type", count_list(types, "type", ctx, 1), "by_status",
        count_list(statuses, "status", ctx, 2), "by_region", count_list(regions, "region", ctx, 3),
        "by_month", count_list(months, "month", ctx, 0), "answer", acc_json(&all), "answer_by_type",
        by_type_answer);
    by_type_answer = NULL;
    /* What the offices report upward (complaints): amounts involved and
     * recovered, and the share of each legal deadline met. Satisfaction
     * comes from the enterprises' evaluations (by the month the case was
     * submitted, as every other count here). */
    if (*out != NULL &&
        json_object_update_new(
            *out, json_pack("{s:{s:I, s:I, s:I}, s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o}}", "amounts",
                            "involved_fen", (json_int_t)involved_all, "recovered_fen",
                            (json_int_t)recovered_all, "with_result", (json_int_t)with_result,
                            "amounts_by_payer_type", amount_list(am_payer, "payer_type", ctx, 4),
                            "amounts_by_department", amount_list(am_dep, "department", ctx, 5),
                            "amounts_by_region", amount_list(am_region, "region", ctx, 3),
                            "amounts_by_month", amount_list(am_month, "month", ctx, 0), "on_time",
                            "review", ontime_json(&ot_review, ZQ_WF_CLOCK_REVIEW), "transfer",
                            ontime_json(&ot_transfer, ZQ_WF_CLOCK_TRANSFER), "answer",
                            ontime_json(&ot_answer, ZQ_WF_CLOCK_ANSWER))) < 0) {
        json_decref(*out);
        *out = NULL;
    }
    if (*out != NULL) {
        json_t *sat = json_pack("{s:I, s:o, s:o, s:o, s:o}", "closed", (json_int_t)closed,
                                "response_share", share_of(rated, closed), "by_type",
                                sat_list(sat_type, rated_type, "type", ctx, 1), "by_region",
                                sat_list(sat_region, rated_region, "region", ctx, 3), "by_month",
                                sat_list(sat_month, rated_month, "month", ctx, 0));
        if (sat != NULL)
            sat_members(sat, sat_all, rated);
        if (sat == NULL || json_object_set_new(*out, "satisfaction", sat) < 0) {
            json_decref(*out);
            *out = NULL;
        }
    }
    if (*out == NULL)
        rc = zq_err_set(err, ZQ_ENOMEM, "stats: out of memory");
out:
    json_decref(types);
    json_decref(statuses);
    json_decref(regions);
    json_decref(months);
    json_decref(by_type_answer);
    json_decref(am_payer);
    json_decref(am_dep);
    json_decref(am_region);
    json_decref(am_month);
    json_decref(sat_all);
    json_decref(sat_type);
    json_decref(sat_region);
    json_decref(sat_month);
    json_decref(rated_type);
    json_decref(rated_region);
    json_decref(rated_month);
    free(all.ms);
    for (k = 0; k < ZQ_ARRAY_LEN(per); k++)
        free(per[k].ms);
    free(ids);
    free(rowv);
    return rc;
}

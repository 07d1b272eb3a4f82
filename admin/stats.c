/* zhuqi-admin stats as text: the object zq_staff_stats returns, printed
 * as aligned tables for an operator's terminal (English headings; the
 * Chinese labels of regions and types go in the last column, where their
 * width does not matter). */
#include "stats.h"

#include <stdio.h>
#include <string.h>

#include "zhuqi/buf.h"

/* How a column's value is printed. */
enum col_kind { COL_INT, COL_YUAN, COL_SHARE };

typedef struct col {
    const char *member; /* in each row object */
    const char *head;
    enum col_kind kind;
} col;

/* An integer member, 0 when absent. */
static long long int_of(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* A share (0..1, or null) as "80.0%" or "-". */
static const char *share_text(const json_t *v, char *buf, size_t bufsz)
{
    /* Cut text is still text: the buffers hold any number. */
    if (!json_is_number(v))
        (void)zq_fmt(buf, bufsz, "-");
    else
        (void)zq_fmt(buf, bufsz, "%.1f%%", json_number_value(v) * 100.0);
    return buf;
}

/* Fen as yuan with two decimals. */
static const char *yuan_text(long long fen, char *buf, size_t bufsz)
{
    (void)zq_fmt(buf, bufsz, "%s%lld.%02lld", fen < 0 ? "-" : "", (fen < 0 ? -fen : fen) / 100,
                 (fen < 0 ? -fen : fen) % 100);
    return buf;
}

static const char *cell(const json_t *row, const col *c, char *buf, size_t bufsz)
{
    switch (c->kind) {
    case COL_YUAN: return yuan_text(int_of(row, c->member), buf, bufsz);
    case COL_SHARE: return share_text(json_object_get(row, c->member), buf, bufsz);
    default: (void)zq_fmt(buf, bufsz, "%lld", int_of(row, c->member)); return buf;
    }
}

/* A table of list (an array of objects): the key column (its member
 * key), the columns cols, then the label when the rows have one. */
static void table(FILE *out, const char *title, const json_t *list, const char *key,
                  const char *key_head, const col *cols, size_t ncols)
{
    int w[16] = {0};
    char buf[64];
    size_t i, j;
    json_t *row;
    bool labels = false;

    fprintf(out, "\n%s\n", title);
    if (json_array_size(list) == 0) {
        fprintf(out, "  (none)\n");
        return;
    }
    w[0] = (int)strlen(key_head);
    for (j = 0; j < ncols && j < 15; j++)
        w[j + 1] = (int)strlen(cols[j].head);
    json_array_foreach(list, i, row)
    {
        const char *k = json_string_value(json_object_get(row, key));
        if (k != NULL && (int)strlen(k) > w[0])
            w[0] = (int)strlen(k);
        for (j = 0; j < ncols && j < 15; j++) {
            int n = (int)strlen(cell(row, &cols[j], buf, sizeof(buf)));
            if (n > w[j + 1])
                w[j + 1] = n;
        }
        labels = labels || json_string_value(json_object_get(row, "label")) != NULL;
    }
    fprintf(out, "  %-*s", w[0], key_head);
    for (j = 0; j < ncols && j < 15; j++)
        fprintf(out, "  %*s", w[j + 1], cols[j].head);
    fprintf(out, "%s\n", labels ? "  label" : "");
    json_array_foreach(list, i, row)
    {
        const char *k = json_string_value(json_object_get(row, key));
        const char *l = json_string_value(json_object_get(row, "label"));
        fprintf(out, "  %-*s", w[0], k ? k : "");
        for (j = 0; j < ncols && j < 15; j++)
            fprintf(out, "  %*s", w[j + 1], cell(row, &cols[j], buf, sizeof(buf)));
        fprintf(out, "%s%s\n", labels && l ? "  " : "", labels && l ? l : "");
    }
}

void zq_admin_stats_print(FILE *out, const json_t *s)
{
    static const col count[] = {{"count", "cases", COL_INT}};
    static const col amount[] = {{"count", "cases", COL_INT},
                                 {"involved_fen", "involved_yuan", COL_YUAN},
                                 {"recovered_fen", "recovered_yuan", COL_YUAN},
                                 {"with_result", "with_result", COL_INT}};
    static const col ontime[] = {{"with_limit", "with_limit", COL_INT},
                                 {"on_time", "on_time", COL_INT},
                                 {"on_time_share", "share", COL_SHARE}};
    static const col sat[] = {{"rated", "rated", COL_INT},
                              {"satisfied", "satisfied", COL_INT},
                              {"basically_satisfied", "basically", COL_INT},
                              {"dissatisfied", "dissatisfied", COL_INT},
                              {"satisfied_share", "satisfied_share", COL_SHARE}};
    const json_t *a = json_object_get(s, "answer"), *am = json_object_get(s, "amounts");
    const json_t *ot = json_object_get(s, "on_time"), *sf = json_object_get(s, "satisfaction");
    json_t *rows = json_array();
    char b1[64], b2[64];

    fprintf(out, "Cases: %lld total, %lld open and overdue\n", int_of(s, "total"),
            int_of(s, "overdue_open"));
    if (a != NULL) {
        json_t *md = json_object_get(a, "median_days");
        fprintf(out, "Answers: %lld answered, median %s days, on time %lld of %lld (%s)\n",
                int_of(a, "answered"),
                json_is_number(md) ? (zq_fmt(b1, sizeof(b1), "%.1f", json_number_value(md)), b1)
                                   : "-",
                int_of(a, "on_time"), int_of(a, "with_limit"),
                share_text(json_object_get(a, "on_time_share"), b2, sizeof(b2)));
    }
    table(out, "By type", json_object_get(s, "by_type"), "type", "type", count, 1);
    table(out, "By status", json_object_get(s, "by_status"), "status", "status", count, 1);
    table(out, "By region", json_object_get(s, "by_region"), "region", "region", count, 1);
    table(out, "By month (submitted)", json_object_get(s, "by_month"), "month", "month", count, 1);
    if (am != NULL) {
        fprintf(out,
                "\nAmounts (complaints): involved %s yuan, recovered %s yuan, %lld with a result\n",
                yuan_text(int_of(am, "involved_fen"), b1, sizeof(b1)),
                yuan_text(int_of(am, "recovered_fen"), b2, sizeof(b2)), int_of(am, "with_result"));
        table(out, "Amounts by payer type", json_object_get(s, "amounts_by_payer_type"),
              "payer_type", "payer_type", amount, 4);
        table(out, "Amounts by department", json_object_get(s, "amounts_by_department"),
              "department", "department", amount, 4);
        table(out, "Amounts by region", json_object_get(s, "amounts_by_region"), "region", "region",
              amount, 4);
        table(out, "Amounts by month", json_object_get(s, "amounts_by_month"), "month", "month",
              amount, 4);
    }
    if (ot != NULL && rows != NULL) {
        static const char *const kinds[] = {"review", "transfer", "answer"};
        for (size_t i = 0; i < 3; i++) {
            json_t *r = json_deep_copy(json_object_get(ot, kinds[i]));
            if (r == NULL)
                continue;
            json_object_set_new(r, "deadline", json_string(kinds[i]));
            json_array_append_new(rows, r);
        }
        table(out, "Decisions on time, per legal deadline", rows, "deadline", "deadline", ontime,
              3);
    }
    if (json_is_object(sf)) {
        fprintf(out,
                "\nSatisfaction: %lld rated of %lld closed (%s); satisfied %lld, basically %lld, "
                "dissatisfied %lld; satisfied or basically: %s\n",
                int_of(sf, "rated"), int_of(sf, "closed"),
                share_text(json_object_get(sf, "response_share"), b1, sizeof(b1)),
                int_of(sf, "satisfied"), int_of(sf, "basically_satisfied"),
                int_of(sf, "dissatisfied"),
                share_text(json_object_get(sf, "satisfied_share"), b2, sizeof(b2)));
        table(out, "Satisfaction by type", json_object_get(sf, "by_type"), "type", "type", sat, 5);
        table(out, "Satisfaction by region", json_object_get(sf, "by_region"), "region", "region",
              sat, 5);
        table(out, "Satisfaction by month (submitted)", json_object_get(sf, "by_month"), "month",
              "month", sat, 5);
    }
    json_decref(rows);
}

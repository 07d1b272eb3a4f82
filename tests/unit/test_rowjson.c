/* Tests of lib/staff/rowjson.c, the hand-written JSON of a case row: what
 * it writes is parsed back with jansson and every member compared with
 * what the row holds, for awkward values (quotes, backslashes, control
 * characters, CJK and non-BMP characters, empty and missing fields),
 * masked and unmasked, from the list summary and from the answers text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/log.h"
#include "zhuqi/staff.h"

/* Awkward text: every kind of byte the writer has to escape or pass. */
#define AWK "引号\"反斜杠\\ 控制\x01\x1f 换行\n制表\t <b>&amp;</b> 😀𠀀 end"

static zq_schema *g_schema;
static zq_calendar *g_cal;

static const char *path_of(const char *rel)
{
    static char buf[4][1024];
    static int next;
    const char *root = getenv("ZQ_TEST_ROOT");
    char *p = buf[next++ % 4];
    int n = snprintf(p, sizeof(buf[0]), "%s/%s", root != NULL ? root : ".", rel);

    assert_true(n > 0 && (size_t)n < sizeof(buf[0]));
    return p;
}

static int setup(void **state)
{
    zq_err err = {0};

    (void)state;
    zq_log_init("test_rowjson", ZQ_LOG_ERROR);
    if (zq_schema_load(path_of("config/forms"), path_of("config/regions.json"), &g_schema, &err) !=
            0 ||
        zq_cal_load(path_of("config/holidays"), &g_cal, &err) != 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zq_schema_free(g_schema);
    zq_cal_free(g_cal);
    return 0;
}

static void ctx_on(zq_staff_ctx *ctx, const zq_schema *s)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->schema = s;
    ctx->cal = g_cal;
    ctx->lim = (zq_wf_limits){10, 10, 30, 90};
    ctx->today = (zq_date){2026, 3, 13};
}

static void row_init(zq_case_row *r, const char *id, const char *form, const char *status)
{
    memset(r, 0, sizeof(*r));
    r->company_name = r->contact_name = r->respondent_name = r->topic = "";
    r->found = true;
    snprintf(r->id, sizeof(r->id), "%s", id);
    snprintf(r->form, sizeof(r->form), "%s", form);
    snprintf(r->status, sizeof(r->status), "%s", status);
    r->created_ms = 1773367200000LL; /* 2026-03-13 10:00 in Beijing */
}

/* The answers text of a row, as stored (compact, UTF-8 unescaped). */
static void row_answers(zq_case_row *r, json_t *answers)
{
    r->answers_text = json_dumps(answers, JSON_COMPACT);
    assert_non_null(r->answers_text);
    r->answers_len = strlen(r->answers_text);
    json_decref(answers);
}

/* Writes the row, checks that it parses (and that a second row after a
 * comma would too), and returns it as a new object. */
static json_t *written(const zq_staff_ctx *ctx, const zq_case_row *r, bool mask, bool answers)
{
    zq_buf b = {0};
    json_error_t e;
    json_t *o;

    assert_int_equal(zq_staff_row_write(&b, ctx, r, mask, answers), 0);
    assert_true(zq_utf8_valid(b.data, b.len));
    o = json_loadb(b.data, b.len, 0, &e);
    if (o == NULL)
        fprintf(stderr, "not JSON (%s at %d): %.*s\n", e.text, e.position, (int)b.len, b.data);
    assert_non_null(o);
    assert_true(json_is_object(o));
    zq_buf_free(&b);
    return o;
}

/* got must have exactly the members of want, each equal. */
static void expect(json_t *got, json_t *want)
{
    const char *k;
    json_t *v;

    json_object_foreach(want, k, v)
    {
        json_t *g = json_object_get(got, k);
        if (!json_equal(g, v)) {
            char *gs = g ? json_dumps(g, JSON_ENCODE_ANY) : NULL;
            char *ws = json_dumps(v, JSON_ENCODE_ANY);
            fprintf(stderr, "member %s: got %s, want %s\n", k, gs ? gs : "(none)", ws);
            free(gs);
            free(ws);
            fail();
        }
    }
    json_object_foreach(got, k, v)
    {
        if (json_object_get(want, k) == NULL) {
            fprintf(stderr, "member %s not expected\n", k);
            fail();
        }
    }
    json_decref(want);
}

static json_t *iso(int64_t ms)
{
    char t[32];

    zq_time_iso(ms, t);
    return json_string(t);
}

/* The deadline as the detail view computes it (workflow.c). */
static json_t *deadline(const zq_staff_ctx *ctx, const zq_case_row *r)
{
    zq_deadline d;

    zq_staff_row_deadline(ctx, r, &d);
    return zq_wf_deadline_json(ctx->cal, &d, r->status, ctx->today);
}

static json_t *masked_mobile(const char *m)
{
    char out[32];

    return json_string(zq_mask_mobile(m, out, sizeof(out)));
}

static json_t *masked_name(const char *n)
{
    char out[640];

    return json_string(zq_mask_name(n, out, sizeof(out)));
}

/* A complaint with a list summary of awkward values, assigned to an
 * office with a cross-region partner, moved once (deadline fields). */
static void test_summary_awkward(void **state)
{
    zq_staff_ctx ctx;
    zq_case_row r;
    int mask;

    (void)state;
    ctx_on(&ctx, g_schema);
    row_init(&r, "TS20260313-0001", "complaint", "transferred");
    r.updated_ms = r.created_ms + 3600 * 1000;
    snprintf(r.mobile, sizeof(r.mobile), "13812345678");
    snprintf(r.region, sizeof(r.region), "510100");
    snprintf(r.source, sizeof(r.source), "chat:\"wecom\"\\%s", "\x02");
    snprintf(r.dup_of, sizeof(r.dup_of), "TS20260301-0009");
    snprintf(r.handler, sizeof(r.handler), "hd\"1\\");
    snprintf(r.office, sizeof(r.office), "510000");
    snprintf(r.cross_region, sizeof(r.cross_region), "500000");
    r.has_due = true;
    snprintf(r.due_kind, sizeof(r.due_kind), "answer");
    snprintf(r.due_start, sizeof(r.due_start), "2026-03-02");
    snprintf(r.due_date, sizeof(r.due_date), "2026-04-01");
    r.due_limit = 30;
    r.has_summary = true;
    r.company_name = "公司" AWK;
    r.contact_name = "联系人😀";
    r.respondent_name = "被投诉方\"\\\x7f";
    snprintf(r.amount_fen, sizeof(r.amount_fen), "12345678");
    for (mask = 0; mask <= 1; mask++) {
        json_t *o = written(&ctx, &r, mask, false);
        expect(o,
               json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:o, s:o, s:s,"
                         " s:s, s:s, s:s, s:b, s:{s:s, s:s, s:s}, s:o, s:b, s:s, s:s, s:I}",
                         "id", r.id, "type", "complaint", "type_label", "拖欠中小企业款项投诉",
                         "status", "transferred", "status_label", "已转办", "created_at",
                         iso(r.created_ms), "updated_at", iso(r.updated_ms), "region", "510100",
                         "region_name", "成都市", "company_name", "公司" AWK, "contact_name",
                         mask ? masked_name("联系人😀") : json_string("联系人😀"), "mobile",
                         mask ? masked_mobile("13812345678") : json_string("13812345678"), "source",
                         "chat:\"wecom\"\\\x02", "handler", "hd\"1\\", "office", "510000",
                         "office_name", "四川省经济和信息化厅（跨区域协作）", "office_assigned", 1,
                         "cross_region", "partner", "500000", "partner_name", "重庆市", "channel",
                         "川渝跨区域协作", "deadline", deadline(&ctx, &r), "possible_duplicate", 1,
                         "dup_of", "TS20260301-0009", "respondent_name", "被投诉方\"\\\x7f",
                         "amount_fen", (json_int_t)12345678));
        if (mask) {
            assert_string_not_equal(json_string_value(json_object_get(o, "mobile")), "13812345678");
            assert_string_not_equal(json_string_value(json_object_get(o, "contact_name")),
                                    "联系人😀");
        }
        assert_true(json_is_object(json_object_get(o, "deadline")));
        json_decref(o);
    }
    zq_case_row_clear(&r);
}

/* A complaint stored before the list summary: the columns come from the
 * answers text (escaped as jansson writes them: \", \\, \n, \u0001 and,
 * with JSON_ENSURE_ASCII, surrogate pairs), the office from its regions;
 * with the answers, they are passed through as they are. */
static void test_answers_text(void **state)
{
    zq_staff_ctx ctx;
    zq_case_row r;
    json_t *answers;
    int mask, ascii;

    (void)state;
    ctx_on(&ctx, g_schema);
    for (ascii = 0; ascii <= 1; ascii++)
        for (mask = 0; mask <= 1; mask++) {
            json_t *o;

            row_init(&r, "TS20260313-0002", "complaint", "submitted");
            snprintf(r.mobile, sizeof(r.mobile), "+8613912345678");
            snprintf(r.region, sizeof(r.region), "510300");
            answers = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:n}", "company_name", AWK,
                                "contact_name", "王\"五", "respondent_name", "𠀀欠款方\\", "region",
                                "510300", "respondent_region", "500000", "amount_fen",
                                (json_int_t)99, "flag", 1, "nothing");
            r.answers_text = json_dumps(answers, JSON_COMPACT | (ascii ? JSON_ENSURE_ASCII : 0));
            assert_non_null(r.answers_text);
            r.answers_len = strlen(r.answers_text);
            o = written(&ctx, &r, mask, true);
            expect(o, json_pack(
                          "{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:o, s:o,"
                          " s:s, s:s, s:s, s:s, s:b, s:{s:s, s:s, s:s}, s:o, s:b, s:s,"
                          " s:I, s:O, s:I}",
                          "id", r.id, "type", "complaint", "type_label", "拖欠中小企业款项投诉",
                          "status", "submitted", "status_label", "已提交", "created_at",
                          iso(r.created_ms), "updated_at", iso(r.created_ms), "region", "510300",
                          "region_name", "自贡市", "company_name", AWK, "contact_name",
                          mask ? masked_name("王\"五") : json_string("王\"五"), "mobile",
                          mask ? masked_mobile("+8613912345678") : json_string("+8613912345678"),
                          "source", "", "handler", "", "office", "510000", "office_name",
                          "四川省经济和信息化厅（跨区域协作）", "office_assigned", 0,
                          "cross_region", "partner", "500000", "partner_name", "重庆市", "channel",
                          "川渝跨区域协作", "deadline", deadline(&ctx, &r), "possible_duplicate", 0,
                          "respondent_name", "𠀀欠款方\\", "amount_fen", (json_int_t)99, "answers",
                          answers, "created_ms", (json_int_t)r.created_ms));
            assert_true(json_is_object(json_object_get(o, "deadline")));
            json_decref(o);
            json_decref(answers);
            zq_case_row_clear(&r);
        }
}

/* Stored answers holding a raw control character are not copied: a NUL
 * after a literal passes jansson's parser (fuzz_rowjson found it) but is
 * no JSON for anyone else, and a newline would break a JSON Lines line. */
static void test_answers_control(void **state)
{
    static const char nul[] = "{\"flag\":true\0,\"x\":null}";
    static const char *const bad[] = {"{\"a\":1,\n\"b\":2}", "{\"a\":\t1}", "{\"a\":\r1}"};
    zq_staff_ctx ctx;
    zq_case_row r;
    json_t *o;
    size_t i;

    (void)state;
    ctx_on(&ctx, g_schema);
    for (i = 0; i <= ZQ_ARRAY_LEN(bad); i++) {
        row_init(&r, "TS20260313-0009", "consult", "submitted");
        if (i < ZQ_ARRAY_LEN(bad)) {
            r.answers_text = strdup(bad[i]);
            r.answers_len = strlen(bad[i]);
        } else {
            r.answers_text = malloc(sizeof(nul));
            memcpy(r.answers_text, nul, sizeof(nul));
            r.answers_len = sizeof(nul) - 1;
        }
        o = written(&ctx, &r, false, true);
        assert_int_equal(json_object_size(json_object_get(o, "answers")), 0);
        json_decref(o);
        zq_case_row_clear(&r);
    }
}

/* Empty and missing fields: no answers, no summary, no schema (labels
 * fall back to the codes), a consultation without a deadline; answers
 * that are not an object become {}. */
static void test_empty(void **state)
{
    static const char *const bad[] = {"", "[1,2]", "\"x\"", "{\"a\":1", "{\"a\":\n1}", "null"};
    zq_staff_ctx ctx;
    zq_case_row r;
    size_t i;

    (void)state;
    ctx_on(&ctx, NULL);
    row_init(&r, "TS20260313-0003", "consult", "submitted");
    for (i = 0; i <= ZQ_ARRAY_LEN(bad); i++) {
        json_t *o;

        if (i > 0) {
            r.answers_text = strdup(bad[i - 1]);
            assert_non_null(r.answers_text);
            r.answers_len = strlen(r.answers_text);
        }
        o = written(&ctx, &r, true, true);
        expect(o, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:s,"
                            " s:s, s:s, s:s, s:s, s:b, s:n, s:n, s:b, s:{}, s:I}",
                            "id", r.id, "type", "consult", "type_label", "consult", "status",
                            "submitted", "status_label", "已提交", "created_at", iso(r.created_ms),
                            "updated_at", iso(r.created_ms), "region", "", "region_name", "",
                            "company_name", "", "contact_name", "", "mobile", "", "source", "",
                            "handler", "", "office", "510000", "office_name",
                            "四川省经济和信息化厅（跨区域协作）", "office_assigned", 0,
                            "cross_region", "deadline", "possible_duplicate", 0, "answers",
                            "created_ms", (json_int_t)r.created_ms));
        json_decref(o);
        zq_case_row_clear(&r);
    }
}

/* A consultation with a topic from its summary, and one whose topic comes
 * from the answers; an office inside Sichuan gets its bureau's name. */
static void test_consult_topic(void **state)
{
    zq_staff_ctx ctx;
    zq_case_row r;
    json_t *o, *want;

    (void)state;
    ctx_on(&ctx, g_schema);
    row_init(&r, "TS20260313-0004", "consult", "assigned");
    snprintf(r.office, sizeof(r.office), "510100");
    r.has_summary = true;
    r.topic = "话题" AWK;
    o = written(&ctx, &r, false, false);
    want = json_pack("{s:s, s:s, s:b}", "office", "510100", "office_name", "成都市经济和信息化局",
                     "office_assigned", 1);
    json_object_set_new(want, "topic", json_string("话题" AWK));
    json_object_set_new(want, "status_label", json_string("已分派"));
    json_object_set_new(want, "type_label", json_string("在线咨询"));
    json_object_set_new(want, "cross_region", json_null());
    json_object_set_new(want, "deadline", json_null());
    {
        const char *k;
        json_t *v;
        json_object_foreach(want, k, v) assert_true(json_equal(json_object_get(o, k), v));
    }
    json_decref(want);
    json_decref(o);
    zq_case_row_clear(&r);

    row_init(&r, "TS20260313-0005", "consult", "submitted");
    row_answers(&r, json_pack("{s:s, s:s}", "topic", "\u2028线\"\\", "region", "511300"));
    o = written(&ctx, &r, false, false);
    assert_string_equal(json_string_value(json_object_get(o, "topic")), "\u2028线\"\\");
    assert_string_equal(json_string_value(json_object_get(o, "office")), "511300");
    assert_string_equal(json_string_value(json_object_get(o, "office_name")),
                        "南充市经济和信息化局");
    assert_null(json_object_get(o, "respondent_name"));
    json_decref(o);
    zq_case_row_clear(&r);
}

/* A contact name longer than the writer keeps is cut on a character
 * boundary, not inside one (which made the line invalid UTF-8). */
static void test_long_contact(void **state)
{
    char name[1200];
    zq_staff_ctx ctx;
    zq_case_row r;
    const char *got;
    json_t *o;
    size_t i;

    (void)state;
    ctx_on(&ctx, NULL);
    row_init(&r, "TS20260313-0007", "complaint", "submitted");
    name[0] = 'a';
    for (i = 0; i < 300; i++)
        memcpy(name + 1 + 3 * i, "名", 3);
    name[901] = '\0';
    r.has_summary = true;
    r.contact_name = name;
    o = written(&ctx, &r, false, false);
    got = json_string_value(json_object_get(o, "contact_name"));
    assert_non_null(got);
    assert_true(strlen(got) >= 600 && strlen(got) < 640);
    assert_memory_equal(got, name, strlen(got));
    json_decref(o);
    zq_case_row_clear(&r);
}

/* Times through the memo's cached day give what zq_time_iso gives: the
 * same day at other hours, the day before and after, Beijing midnight
 * on either side, before 1970, and a year out of range (""), one row
 * after the other with one memo as the list writes a page. */
static void test_times_memo(void **state)
{
    static const int64_t day = 86400000LL, base = 1773367200000LL; /* 10:00 Beijing */
    static const int64_t ms[] = {base,
                                 base + 1,
                                 base + 13 * 3600000LL + 59 * 60000LL + 59999, /* 23:59:59 */
                                 base + 14 * 3600000LL,                        /* 00:00 next day */
                                 base - 10 * 3600000LL - 1, /* 23:59:59.999 the day before */
                                 base - day * 400,
                                 base,
                                 -1,
                                 -8 * 3600000LL,
                                 -8 * 3600000LL - 1,
                                 253402300800000LL, /* year 10000 */
                                 base};
    zq_staff_memo memo = {0};
    zq_staff_ctx ctx;
    zq_case_row r;
    size_t i;

    (void)state;
    ctx_on(&ctx, g_schema);
    ctx.memo = &memo;
    row_init(&r, "TS20260313-0007", "consult", "submitted");
    for (i = 0; i + 1 < ZQ_ARRAY_LEN(ms); i++) {
        char a[32], b[32];
        json_t *o;

        r.created_ms = ms[i];
        r.updated_ms = ms[i + 1];
        zq_time_iso(ms[i], a);
        zq_time_iso(ms[i + 1], b);
        o = written(&ctx, &r, true, false);
        assert_string_equal(json_string_value(json_object_get(o, "created_at")), a);
        assert_string_equal(json_string_value(json_object_get(o, "updated_at")), b);
        json_decref(o);
    }
    zq_case_row_clear(&r);
}

/* Labels remembered by address: one memo for rows refilled in the same
 * struct (as an export does batch after batch), with unknown statuses and
 * forms whose labels fall back to the row's own fields, plain and not:
 * each row as written without a memo. */
static void test_labels_memo(void **state)
{
    static const char *const status[] = {"zz", "zzzz\"q", "zzzz", "submitted", "z<", "zzzzzz"};
    static const char *const form[] = {"complaint", "f1", "consult",
                                       "f1-longer", "f&", "complaint"};
    zq_staff_memo memo = {0};
    zq_staff_ctx ctx, bare;
    zq_case_row r;
    size_t i;

    (void)state;
    ctx_on(&ctx, g_schema);
    ctx_on(&bare, g_schema);
    ctx.memo = &memo;
    for (i = 0; i < ZQ_ARRAY_LEN(status); i++) {
        zq_buf a = {0}, b = {0};

        row_init(&r, "TS20260313-0008", form[i], status[i]);
        snprintf(r.region, sizeof(r.region), "%s", i % 2 ? "510100" : "5101\"");
        snprintf(r.office, sizeof(r.office), "%s", i % 2 ? "510700" : "");
        assert_int_equal(zq_staff_row_write(&a, &ctx, &r, true, false), 0);
        assert_int_equal(zq_staff_row_write(&b, &bare, &r, true, false), 0);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        json_decref(written(&ctx, &r, false, false));
        zq_buf_free(&a);
        zq_buf_free(&b);
        zq_case_row_clear(&r);
    }
}

/* Rows whose pieces (type and status, region, office, deadline) come
 * and go in every order, written through one memo, are each the row
 * written without one; the memo holds the pieces it copied. */
static void test_pieces_memo(void **state)
{
    static const char *const form[] = {"complaint", "consult", "f&"};
    static const char *const status[] = {"submitted", "accepted", "z<", "answered"};
    static const char *const region[] = {"510100", "510700", "5101\""};
    static const char *const office[] = {"", "510700", "510000"};
    static const char *const partner[] = {"", "500000", "110000"};
    static const char *const kind[] = {"", "review", "answer", "bogus"};
    static const char *const due[] = {"2026-03-20", "2026-03-10", "2026-13-01"};
    zq_staff_memo memo = {0};
    zq_staff_ctx ctx, bare;
    zq_case_row r;
    unsigned i, kept = 0;

    (void)state;
    ctx_on(&ctx, g_schema);
    ctx_on(&bare, g_schema);
    ctx.memo = &memo;
    for (i = 0; i < 400; i++) {
        zq_buf a = {0}, b = {0};
        unsigned h = i * 2654435761u >> 7;

        row_init(&r, i % 2 ? "TS20260313-0008" : "ZX20260313-0009", form[h % 3],
                 status[(h >> 2) % 4]);
        snprintf(r.region, sizeof(r.region), "%s", region[(h >> 4) % 3]);
        snprintf(r.office, sizeof(r.office), "%s", office[(h >> 6) % 3]);
        snprintf(r.cross_region, sizeof(r.cross_region), "%s", partner[(h >> 8) % 3]);
        r.created_ms += (int64_t)((h >> 10) % 3) * 86400000;
        if ((h >> 12) % 4 != 0) {
            r.has_due = true;
            snprintf(r.due_kind, sizeof(r.due_kind), "%s", kind[(h >> 12) % 4]);
            snprintf(r.due_start, sizeof(r.due_start), "%s", "2026-03-02");
            snprintf(r.due_date, sizeof(r.due_date), "%s", due[(h >> 14) % 3]);
            r.due_limit = (int)((h >> 16) % 2) + 10;
            r.due_ext = (h >> 17) % 2;
        }
        assert_int_equal(zq_staff_row_write(&a, &ctx, &r, true, false), 0);
        assert_int_equal(zq_staff_row_write(&b, &bare, &r, true, false), 0);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        zq_buf_free(&a);
        zq_buf_free(&b);
        zq_case_row_clear(&r);
    }
    for (i = 0; i < ZQ_STAFF_PIECES; i++)
        kept += memo.piece[i].slot[0].klen > 0 && memo.piece[i].slot[1].klen > 0;
    assert_int_equal(kept, ZQ_STAFF_PIECES);
}

/* Untouched rows created either side of a Beijing midnight, and before
 * 1970, share a review deadline through the memo only with rows of
 * their own day: each is the row written without a memo. */
static void test_review_memo_days(void **state)
{
    static const int64_t at[] = {
        1773331199999LL, /* 2026-03-12 23:59:59.999 in Beijing */
        1773331200000LL, /* 2026-03-13 00:00 */
        1773331199000LL, 1773417599999LL, 1773417600000LL, -1LL,           0LL,
        -28800001LL,     -28800000LL,     1773331200000LL, 1773331199999LL};
    zq_staff_memo memo = {0};
    zq_staff_ctx ctx, bare;
    zq_case_row r;
    size_t i;

    (void)state;
    ctx_on(&ctx, g_schema);
    ctx_on(&bare, g_schema);
    ctx.memo = &memo;
    for (i = 0; i < ZQ_ARRAY_LEN(at); i++) {
        zq_buf a = {0}, b = {0};

        row_init(&r, "TS20260313-0008", i % 3 ? "complaint" : "consult", "submitted");
        r.created_ms = at[i];
        assert_int_equal(zq_staff_row_write(&a, &ctx, &r, true, false), 0);
        assert_int_equal(zq_staff_row_write(&b, &bare, &r, true, false), 0);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        zq_buf_free(&a);
        zq_buf_free(&b);
        zq_case_row_clear(&r);
    }
}

/* zq_staff_row_json gives the same object as the writer. */
static void test_row_json(void **state)
{
    zq_staff_ctx ctx;
    zq_case_row r;
    json_t *a, *b;

    (void)state;
    ctx_on(&ctx, g_schema);
    row_init(&r, "TS20260313-0006", "complaint", "accepted");
    row_answers(&r, json_pack("{s:s}", "company_name", AWK));
    a = zq_staff_row_json(&ctx, &r, true);
    b = written(&ctx, &r, true, false);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    zq_case_row_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_awkward),
        cmocka_unit_test(test_answers_text),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_consult_topic),
        cmocka_unit_test(test_long_contact),
        cmocka_unit_test(test_row_json),
        cmocka_unit_test(test_answers_control),
        cmocka_unit_test(test_times_memo),
        cmocka_unit_test(test_labels_memo),
        cmocka_unit_test(test_pieces_memo),
        cmocka_unit_test(test_review_memo_days),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

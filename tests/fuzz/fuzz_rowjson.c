/* Fuzzes the hand-written JSON of a case row (lib/staff/rowjson.c): for any
 * row whose text is valid UTF-8 (as everything stored is), what
 * zq_staff_row_write appends must parse with json_loadb as one object
 * whose "id" is the row's.
 * Input: a mode byte (bit 0: mask; 1: with the answers; 2: the row has a
 * list summary; 3: labels from the real schema; 4: the row has deadline
 * fields; 5: the answers are the rest of the input as it is, when it
 * parses as an object, else jansson's compact dump of it; 6: updated a
 * second after creation; 7: the deadline was extended), two bytes of
 * creation time, a byte of due limit, then lines: id, form, status,
 * mobile, region, source, dup_of, handler, office, cross_region,
 * due_kind, due_start, due_date, company, contact, respondent, topic,
 * amount_fen, default office, default partner, result, department, a
 * byte of amount recovered, rating, rating comment; the rest is the
 * answers. */
#include "fuzz_common.h"
#include "zhuqi/schema.h"
#include "zhuqi/staff.h"

static zq_schema *schema;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    zq_err err = {0};

    (void)argc;
    (void)argv;
    fuzz_quiet();
    if (zq_schema_load(fuzz_path("config/forms"), fuzz_path("config/regions.json"), &schema,
                       &err) != 0) {
        fprintf(stderr, "fuzz: schema: %s\n", err.msg);
        abort();
    }
    return 0;
}

/* The next line as text: "" unless valid UTF-8, cut on a character
 * boundary to fit max bytes. A new string (free()). */
static char *text_line(fuzz_in *in, size_t max)
{
    char *s = fuzz_line(in, 4096);
    size_t n = strlen(s);

    if (!zq_utf8_valid(s, n))
        n = 0;
    s[zq_utf8_cut(s, n, max)] = '\0';
    return s;
}

/* The next line into a row field of dstsz bytes. */
static void field(fuzz_in *in, char *dst, size_t dstsz)
{
    char *s = text_line(in, dstsz - 1);

    memcpy(dst, s, strlen(s) + 1);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    zq_staff_memo memo = {{{0}}};
    zq_staff_ctx ctx = {0};
    zq_case_row r;
    char *sum[4], *rest;
    zq_buf b = {0};
    json_t *o, *a;
    json_error_t e;
    size_t i, len;
    unsigned t;

    memset(&r, 0, sizeof(r));
    ctx.schema = (mode & 8) ? schema : NULL;
    ctx.lim = (zq_wf_limits){10, 10, 30, 90};
    ctx.today = (zq_date){2026, 3, 13};
    ctx.memo = &memo;
    /* Creation between 2000 and about 2034, in steps of about 4.5 hours. */
    t = (unsigned)fuzz_u8(&in) << 8;
    t |= fuzz_u8(&in);
    r.found = true;
    r.created_ms = 946684800000LL + (int64_t)t * 16384000LL;
    r.updated_ms = (mode & 0x40) ? r.created_ms + 1000 : 0;
    r.due_limit = fuzz_u8(&in);
    field(&in, r.id, sizeof(r.id));
    field(&in, r.form, sizeof(r.form));
    field(&in, r.status, sizeof(r.status));
    field(&in, r.mobile, sizeof(r.mobile));
    field(&in, r.region, sizeof(r.region));
    field(&in, r.source, sizeof(r.source));
    field(&in, r.dup_of, sizeof(r.dup_of));
    field(&in, r.handler, sizeof(r.handler));
    field(&in, r.office, sizeof(r.office));
    field(&in, r.cross_region, sizeof(r.cross_region));
    field(&in, r.due_kind, sizeof(r.due_kind));
    field(&in, r.due_start, sizeof(r.due_start));
    field(&in, r.due_date, sizeof(r.due_date));
    r.has_due = (mode & 16) != 0;
    r.due_ext = (mode & 0x80) != 0;
    for (i = 0; i < ZQ_ARRAY_LEN(sum); i++)
        sum[i] = text_line(&in, 1000);
    r.company_name = sum[0];
    r.contact_name = sum[1];
    r.respondent_name = sum[2];
    r.topic = sum[3];
    r.has_summary = (mode & 4) != 0;
    field(&in, r.amount_fen, sizeof(r.amount_fen));
    /* The summary's amount is digits or nothing (rows.c checks it), an
     * integer as the answers hold it (no leading zero), which validation
     * bounds far below what a JSON integer can hold. */
    len = strlen(r.amount_fen);
    if (strspn(r.amount_fen, "0123456789") != len || len > 15 ||
        (len > 1 && r.amount_fen[0] == '0'))
        r.amount_fen[0] = '\0';
    field(&in, r.default_office, sizeof(r.default_office));
    field(&in, r.default_partner, sizeof(r.default_partner));
    /* The outcome fields, as stored by a move (any bytes in the hash). */
    field(&in, r.result, sizeof(r.result));
    field(&in, r.department, sizeof(r.department));
    r.has_recovered = (mode & 2) != 0;
    r.recovered_fen = (long long)fuzz_u8(&in) * 100003LL - 1;
    /* The enterprise's evaluation: any rating text, and a comment (free
     * text, masked with mask); "" is none. Freed by zq_case_row_clear. */
    field(&in, r.rating, sizeof(r.rating));
    r.rating_comment = text_line(&in, 2000);
    if (r.rating_comment[0] == '\0') {
        free(r.rating_comment);
        r.rating_comment = NULL;
    }
    /* The result's reason: staff's free text, masked likewise. */
    r.result_reason = text_line(&in, 2000);
    if (r.result_reason[0] == '\0') {
        free(r.result_reason);
        r.result_reason = NULL;
    }
    rest = fuzz_rest(&in, &len);
    a = json_loadb(rest, len, 0, NULL);
    if (json_is_object(a) && (mode & 32)) {
        r.answers_text = rest;
        r.answers_len = len;
        rest = NULL;
    } else if (json_is_object(a)) {
        r.answers_text = json_dumps(a, JSON_COMPACT);
        r.answers_len = r.answers_text ? strlen(r.answers_text) : 0;
    }
    json_decref(a);
    free(rest);

    FUZZ_CHECK(zq_staff_row_write(&b, &ctx, &r, mode & 1, (mode & 2) != 0) == 0);
    FUZZ_CHECK(zq_utf8_valid(b.data, b.len));
    o = json_loadb(b.data, b.len, 0, &e);
    if (!json_is_object(o))
        fprintf(stderr, "fuzz: not JSON (%s at %d): %.*s\n", e.text, e.position, (int)b.len,
                b.data);
    FUZZ_CHECK(json_is_object(o));
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(o, "id")), r.id) == 0);
    if (mode & 2)
        FUZZ_CHECK(json_is_object(json_object_get(o, "answers")));
    json_decref(o);
    /* Again through the memo, which now holds the row's pieces, and
     * without a memo: the same bytes each time. */
    {
        zq_staff_ctx bare = ctx;
        zq_buf b2 = {0}, b3 = {0};

        bare.memo = NULL;
        FUZZ_CHECK(zq_staff_row_write(&b2, &ctx, &r, mode & 1, (mode & 2) != 0) == 0);
        FUZZ_CHECK(zq_staff_row_write(&b3, &bare, &r, mode & 1, (mode & 2) != 0) == 0);
        FUZZ_CHECK(b2.len == b.len && memcmp(b2.data, b.data, b.len) == 0);
        FUZZ_CHECK(b3.len == b.len && memcmp(b3.data, b.data, b.len) == 0);
        zq_buf_free(&b2);
        zq_buf_free(&b3);
    }

    zq_buf_free(&b);
    zq_case_row_clear(&r);
    for (i = 0; i < ZQ_ARRAY_LEN(sum); i++)
        free(sum[i]);
    return 0;
}

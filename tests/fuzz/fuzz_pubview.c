/* Fuzzes the public view of a case written as text (lib/intake/cases.c,
 * zq_case_public_write, which reads the history entries with
 * lib/core/jsontext.c): for a case whose stored texts are what jansson
 * reads (as everything we store is), the view must parse with json_loadb
 * as one object whose "id" is the case's, with no more history items than
 * entries.
 * Input: a mode byte (bit 0: with the limits, so with "deadline"; bit 1:
 * the real schema's labels), two bytes of creation day (days after
 * 2026-01-01), a byte of "today" after it, then lines: status, form,
 * rating, rating comment, company, contact, mobile, files (JSON), then
 * one history entry (JSON) per line to the end. */
#include "fuzz_common.h"
#include "zhuqi/calendar.h"
#include "zhuqi/cases.h"
#include "zhuqi/schema.h"
#include "zhuqi/workflow.h"

static zq_schema *schema;
static zq_calendar *cal;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    zq_err err = {0};

    (void)argc;
    (void)argv;
    fuzz_quiet();
    if (zq_schema_load(fuzz_path("config/forms"), fuzz_path("config/regions.json"), &schema,
                       &err) != 0 ||
        zq_cal_load(fuzz_path("config/holidays"), &cal, &err) != 0) {
        fprintf(stderr, "fuzz: %s\n", err.msg);
        abort();
    }
    return 0;
}

/* A line as stored text: "" unless valid UTF-8. */
static char *text_line(fuzz_in *in, size_t max)
{
    char *s = fuzz_line(in, max);

    if (!zq_utf8_valid(s, strlen(s)))
        s[0] = '\0';
    return s;
}

/* True when s is JSON that jansson reads (what our writers store). */
static bool stored_json(const char *s, json_type want)
{
    json_t *j = json_loads(s, 0, NULL);
    bool ok = j != NULL && json_typeof(j) == want && zq_utf8_valid(s, strlen(s));

    json_decref(j);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const zq_wf_limits lim = {10, 10, 30, 90};
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    int day = fuzz_u8(&in) << 8;
    char *line[8], *log[32];
    size_t log_len[32], nlog = 0, i;
    zq_case_pubsrc c = {0};
    zq_date created;
    zq_buf b = {0};
    json_t *out;

    int after;

    day |= fuzz_u8(&in);
    after = fuzz_u8(&in) % 64;
    created = zq_date_add_days((zq_date){2026, 1, 1}, day % 2000);
    for (i = 0; i < 8; i++)
        line[i] = text_line(&in, 400);
    while (in.n > 0 && nlog < 32) {
        char *e = fuzz_line(&in, 2000);
        if (stored_json(e, JSON_OBJECT)) {
            log[nlog] = e;
            log_len[nlog++] = strlen(e);
        } else {
            free(e);
        }
    }
    c.id = "TS20260101-0001";
    c.status = line[0];
    c.form = line[1];
    c.rating = line[2];
    c.rating_comment = line[3][0] ? line[3] : NULL;
    c.rating_comment_len = strlen(line[3]);
    c.company_name = line[4];
    c.contact_name = line[5];
    c.mobile = line[6];
    if (stored_json(line[7], JSON_ARRAY)) {
        c.files = line[7];
        c.files_len = strlen(line[7]);
    }
    c.created_ms = zq_date_to_ms(created, 9, 30);
    c.rated_ms = c.created_ms + 86400000;
    c.nlog = nlog;
    c.log = (const char *const *)log;
    c.log_len = log_len;
    zq_case_public_write(&b, (mode & 2) ? schema : NULL, cal, (mode & 1) ? &lim : NULL, &c,
                         zq_date_add_days(created, after));
    FUZZ_CHECK(!b.oom);
    out = json_loadb(b.data, b.len, 0, NULL);
    FUZZ_CHECK(json_is_object(out));
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(out, "id")), c.id) == 0);
    FUZZ_CHECK(json_array_size(json_object_get(out, "history")) <= nlog);
    json_decref(out);
    zq_buf_free(&b);
    for (i = 0; i < nlog; i++)
        free(log[i]);
    for (i = 0; i < 8; i++)
        free(line[i]);
    return 0;
}

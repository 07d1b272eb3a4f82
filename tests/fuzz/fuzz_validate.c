/* Fuzzes every field validator (lib/intake/validate.c through zq_field_validate)
 * over the real forms of config/forms, the step validation and the
 * submit-time check of lib/intake/schema.c, and the display strings.
 * Input: a byte choosing the field (over all fields of all forms), a mode
 * byte, then the value:
 *   mode bits 0-2: 0 the value is a JSON string of the bytes, 1 the bytes
 *   are JSON, 2 a JSON integer made from them, 3 a boolean, 4 the bytes
 *   are a step's answers (JSON) for the field's step (and, for a plain
 *   step, the body {"answers": bytes} goes through zq_jsonq_members and
 *   zq_step_validate_raw, which must give zq_step_validate's values as
 *   the same JSON bytes, or refuse when it does), 5 the bytes are all
 *   answers (JSON) for the submit check, 6-7 as 0 with the text trimmed
 *   of nothing (kept for more string cases);
 *   bit 3: USCC check warns only; bit 4: mask mobiles in displays. */
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/jsonq.h"
#include "zhuqi/schema.h"

typedef struct slot {
    const zq_form *form;
    const zq_step *step;
    const zq_field *field;
} slot;

static zq_schema *g_schema;
static slot g_slots[256];
static size_t g_nslots;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    zq_err err = {0};
    size_t i, j, k;

    (void)argc;
    (void)argv;
    fuzz_quiet();
    if (zq_schema_load(fuzz_path("config/forms"), fuzz_path("config/regions.json"), &g_schema,
                       &err) < 0) {
        fprintf(stderr, "fuzz: cannot load the forms: %s\n", err.msg);
        abort();
    }
    for (i = 0; i < zq_schema_nforms(g_schema); i++) {
        const zq_form *f = zq_schema_form_at(g_schema, i);

        for (j = 0; j < f->nsteps; j++)
            for (k = 0; k < f->steps[j].nfields && g_nslots < ZQ_ARRAY_LEN(g_slots); k++) {
                g_slots[g_nslots].form = f;
                g_slots[g_nslots].step = &f->steps[j];
                g_slots[g_nslots].field = &f->steps[j].fields[k];
                g_nslots++;
            }
    }
    FUZZ_CHECK(g_nslots > 0);
    return 0;
}

static void check_msg(const char *msg)
{
    FUZZ_CHECK(msg != NULL && msg[0] != '\0' && zq_utf8_valid(msg, strlen(msg)));
}

/* Every value in an {id: message} object is a Chinese message. */
static void check_errors(json_t *errors)
{
    const char *k;
    json_t *v;

    FUZZ_CHECK(json_is_object(errors) && json_object_size(errors) > 0);
    json_object_foreach(errors, k, v)
    {
        FUZZ_CHECK(json_is_string(v));
        check_msg(json_string_value(v));
    }
}

static void one_field(const slot *sl, json_t *in, const zq_schema_opts *o, bool mask)
{
    json_t *out = NULL, *again = NULL;
    const char *msg = NULL;
    char *disp;
    int rc;

    rc = zq_field_validate(g_schema, sl->field, in, o, &out, &msg);
    if (rc < 0) {
        FUZZ_CHECK(rc == -ZQ_EINVAL && out == NULL);
        check_msg(msg);
        return;
    }
    FUZZ_CHECK(rc == 0 && out != NULL);
    if (msg != NULL)
        check_msg(msg);
    /* A normalised value validates to itself. */
    if (!json_is_null(out)) {
        rc = zq_field_validate(g_schema, sl->field, out, o, &again, &msg);
        if (rc != 0 || !json_equal(out, again)) {
            char *a = json_dumps(out, JSON_ENCODE_ANY),
                 *b = again ? json_dumps(again, JSON_ENCODE_ANY) : NULL;

            fprintf(stderr, "fuzz: field %s: %s validates to %s (%s)\n", sl->field->id, a ? a : "?",
                    b ? b : "an error", msg ? msg : "");
            free(a);
            free(b);
            FUZZ_CHECK(!"a normalised value validates to itself");
        }
        json_decref(again);
    }
    disp = zq_field_display(g_schema, sl->field, out, mask);
    FUZZ_CHECK(disp != NULL && zq_utf8_valid(disp, strlen(disp)));
    free(disp);
    json_decref(out);
}

/* The raw path of a plain step against zq_step_validate's result (rc,
 * out) for the same answers (the bytes s). */
static void raw_step(const slot *sl, const char *s, size_t len, const zq_schema_opts *o, int rc,
                     json_t *out)
{
    zq_jsonq_member m[64];
    zq_buf body = {0}, tmp = {0}, list = {0}, want = {0};
    char mobile[12];
    const char *mob;
    size_t i;
    int n, rrc;

    if (!zq_step_plain(g_schema, sl->form, sl->step))
        return;
    zq_buf_puts(&body, "{\"answers\":");
    zq_buf_append(&body, s, len);
    zq_buf_puts(&body, "}");
    FUZZ_CHECK(!body.oom);
    n = zq_jsonq_members(body.data, body.len, "answers", m, ZQ_ARRAY_LEN(m), &tmp);
    if (n >= 0) {
        rrc = zq_step_validate_raw(g_schema, sl->step, m, (size_t)n, o, &list, mobile);
        if (rc != 0) {
            FUZZ_CHECK(rrc == -ZQ_EINVAL);
        } else {
            FUZZ_CHECK(rrc == 0);
            for (i = 0; i < sl->step->nfields; i++) {
                char *t = json_dumps(json_object_get(out, sl->step->fields[i].id),
                                     JSON_COMPACT | JSON_ENCODE_ANY);

                FUZZ_CHECK(t != NULL);
                zq_buf_puts(&want, sl->step->fields[i].id);
                zq_buf_puts(&want, "\n");
                zq_buf_puts(&want, t);
                zq_buf_puts(&want, "\n");
                free(t);
            }
            FUZZ_CHECK(!want.oom && !list.oom && list.len == want.len &&
                       memcmp(list.data, want.data, list.len) == 0);
            mob = json_string_value(json_object_get(out, "mobile"));
            FUZZ_CHECK(strcmp(mobile, mob != NULL && strlen(mob) == 11 ? mob : "") == 0);
        }
    }
    zq_buf_free(&body);
    zq_buf_free(&tmp);
    zq_buf_free(&list);
    zq_buf_free(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    const slot *sl = &g_slots[fuzz_u8(&in) % g_nslots];
    uint8_t mode = fuzz_u8(&in);
    zq_schema_opts o = {.uscc_checksum_warn_only = (mode & 8) != 0, .today = "2026-03-15"};
    size_t len;
    char *s = fuzz_rest(&in, &len);
    json_t *j = NULL, *out = NULL, *errors = NULL;
    const char *step = NULL;
    long long v = 0;
    size_t i;
    int rc;

    switch (mode & 7) {
    case 1: j = json_loadb(s, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL); break;
    case 2:
        for (i = 0; i < len && i < 8; i++)
            v = (long long)((unsigned long long)v << 8 | (unsigned char)s[i]);
        j = json_integer(v);
        break;
    case 3: j = json_boolean(len > 0 && (s[0] & 1)); break;
    case 4:
    case 5: {
        json_t *ans = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL);

        if ((mode & 7) == 4) {
            rc = zq_step_validate(g_schema, sl->form, sl->step, ans, NULL, &o, &out, &errors);
            if (rc == 0)
                FUZZ_CHECK(json_is_object(out) && errors == NULL);
            else
                check_errors(errors);
            if (json_is_object(ans))
                raw_step(sl, s, len, &o, rc, out);
        } else {
            rc = zq_form_validate_all(g_schema, sl->form, ans, &o, &errors, &step);
            if (rc == 0)
                FUZZ_CHECK(errors == NULL);
            else
                check_errors(errors);
            if (json_is_object(ans))
                json_decref(zq_form_visible_answers(sl->form, ans));
        }
        json_decref(ans);
        json_decref(out);
        json_decref(errors);
        free(s);
        return 0;
    }
    default: j = json_stringn(s, len); break;
    }
    if (j != NULL)
        one_field(sl, j, &o, (mode & 16) != 0);
    json_decref(j);
    free(s);
    return 0;
}

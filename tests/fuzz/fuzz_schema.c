/* Fuzzes the form schema loader (lib/intake/schema.c): a form file, or the
 * region list, written to a scratch folder and loaded with
 * zq_schema_load next to the real other half; a schema that loads is then
 * used (validation, visibility, the public JSON).
 * Input: a mode byte (bit 0: the bytes are regions.json rather than a
 * form; bit 1: the real consult form sits next to the fuzzed one), then
 * the file. A fuzzed form is named after its "id" when that is a plain
 * name, so that the id check does not stop every input. */
#include <ctype.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "zhuqi/schema.h"

static char g_forms[600], g_regions[600], g_real_forms[600];
static char *g_consult;
static size_t g_consult_len;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *s = malloc(1 << 20);
    size_t n;

    FUZZ_CHECK(f != NULL && s != NULL);
    n = fread(s, 1, (1 << 20) - 1, f);
    fclose(f);
    s[n] = '\0';
    *len = n;
    return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    snprintf(g_forms, sizeof(g_forms), "%s/forms", fuzz_tmp());
    snprintf(g_regions, sizeof(g_regions), "%s/regions.json", fuzz_tmp());
    snprintf(g_real_forms, sizeof(g_real_forms), "%s", fuzz_path("config/forms"));
    FUZZ_CHECK(mkdir(g_forms, 0700) == 0);
    g_consult = slurp(fuzz_path("config/forms/consult.json"), &g_consult_len);
    return 0;
}

/* The form's "id" when it is a plain name, else "form". */
static void file_name(const char *s, size_t len, char *out, size_t outsz)
{
    json_t *j = json_loadb(s, len, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    size_t i, n = id ? strlen(id) : 0;
    bool ok = n > 0 && n < 64;

    for (i = 0; ok && i < n; i++)
        ok = islower((unsigned char)id[i]) || isdigit((unsigned char)id[i]) || id[i] == '_';
    snprintf(out, outsz, "%s/%s.json", g_forms, ok ? id : "form");
    json_decref(j);
}

static void use(const zq_schema *s)
{
    static const char *const inputs[] = {"", "1", "是", "  成都  ", "2026-01-01", "13800138000"};
    size_t i, j, k, t;

    FUZZ_CHECK(zq_schema_nforms(s) > 0);
    for (i = 0; i < zq_schema_nforms(s); i++) {
        const zq_form *f = zq_schema_form_at(s, i);
        json_t *answers = json_object(), *errors = NULL;
        const char *step = NULL;
        char *dump;

        FUZZ_CHECK(f != NULL && zq_schema_form(s, f->id) == f);
        FUZZ_CHECK(strlen(f->etag) == 32 && f->etag[0] == '"' && f->etag[31] == '"');
        dump = json_dumps(f->public_json, JSON_COMPACT);
        FUZZ_CHECK(dump != NULL);
        free(dump);
        for (j = 0; j < f->nsteps; j++) {
            FUZZ_CHECK(zq_form_step(f, f->steps[j].id) == &f->steps[j]);
            for (k = 0; k < f->steps[j].nfields; k++) {
                const zq_field *fld = &f->steps[j].fields[k];

                FUZZ_CHECK(zq_form_field(f, fld->id, NULL) == fld);
                zq_field_visible(fld, answers);
                for (t = 0; t < ZQ_ARRAY_LEN(inputs); t++) {
                    json_t *in = json_string(inputs[t]), *out = NULL;
                    const char *msg = NULL;

                    if (zq_field_validate(s, fld, in, NULL, &out, &msg) == 0) {
                        json_object_set(answers, fld->id, out);
                        free(zq_field_display(s, fld, out, true));
                    } else {
                        FUZZ_CHECK(msg != NULL && msg[0] != '\0');
                    }
                    json_decref(out);
                    json_decref(in);
                }
            }
        }
        if (zq_form_validate_all(s, f, answers, NULL, &errors, &step) < 0)
            FUZZ_CHECK(json_object_size(errors) > 0 && step != NULL);
        json_decref(errors);
        json_decref(zq_form_visible_answers(f, answers));
        json_decref(answers);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    char path[700];
    const char *forms = g_forms, *regions = fuzz_path("config/regions.json");
    zq_schema *s = NULL;
    zq_err err = {0};
    size_t len;
    char *text = fuzz_rest(&in, &len);
    int rc;

    fuzz_clear_dir(g_forms);
    if (mode & 1) {
        fuzz_write_file(g_regions, text, len);
        regions = g_regions;
        forms = g_real_forms;
    } else {
        file_name(text, len, path, sizeof(path));
        fuzz_write_file(path, text, len);
        if (mode & 2) {
            snprintf(path, sizeof(path), "%s/consult.json", g_forms);
            fuzz_write_file(path, g_consult, g_consult_len);
        }
    }
    rc = zq_schema_load(forms, regions, &s, &err);
    if (rc == 0) {
        FUZZ_CHECK(s != NULL);
        use(s);
        zq_schema_free(s);
    } else {
        FUZZ_CHECK(s == NULL && err.code != 0 && err.msg[0] != '\0');
        /* The message names the file. */
        FUZZ_CHECK(strstr(err.msg, fuzz_tmp()) != NULL);
    }
    free(text);
    return 0;
}

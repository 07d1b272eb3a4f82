/* Fuzzes the message template parser and renderer (lib/push/template.c) with
 * the variable names the reminders and the case events allow.
 * Input: a mode byte (bit 0: the case event names rather than the
 * reminder names; bits 1-7: which variables are set, the others empty),
 * then the template text. */
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/reminders.h"
#include "zhuqi/template.h"

static const char *const values[] = {
    "TS20260315000001",          "投诉",        "成都市", "accepted", "已受理", "",
    "<b>&amp;</b> **x** [a](b)", "{{case.id}}", "}}",     "\n",       "…",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    const char *const *names = (mode & 1) ? zq_template_case_vars : zq_reminder_vars;
    size_t nnames = (mode & 1) ? zq_template_case_nvars : zq_reminder_nvars;
    zq_tvar vars[32];
    zq_template *t = NULL;
    zq_buf title = {0}, body = {0};
    zq_err err = {0};
    size_t i, n = 0;
    int rc;

    rc = zq_template_parse("fuzz.md", (const char *)in.p, in.n, names, nnames, &t, &err);
    if (rc < 0) {
        FUZZ_CHECK(t == NULL);
        FUZZ_CHECK(rc == -ZQ_EINVAL || rc == -ZQ_ETOOBIG);
        FUZZ_CHECK(strncmp(err.msg, "fuzz.md:", 8) == 0);
        return 0;
    }
    FUZZ_CHECK(t != NULL && strcmp(zq_template_name(t), "fuzz.md") == 0);
    for (i = 0; i < nnames && n < ZQ_ARRAY_LEN(vars); i++) {
        vars[n].name = names[i];
        vars[n].value =
            (mode >> (1 + i % 7)) & 1 ? values[(i + mode) % ZQ_ARRAY_LEN(values)] : NULL;
        n++;
    }
    FUZZ_CHECK(zq_template_render(t, vars, n, &title, &body) == 0);
    /* The title is the first line; values hold no line breaks but "\n". */
    if (title.data != NULL)
        FUZZ_CHECK(zq_utf8_valid(title.data, title.len));
    if (body.data != NULL) {
        FUZZ_CHECK(zq_utf8_valid(body.data, body.len));
        FUZZ_CHECK(body.len == 0 || body.data[body.len - 1] != '\n');
    }
    /* Rendering twice gives the same text. */
    {
        zq_buf t2 = {0}, b2 = {0};

        FUZZ_CHECK(zq_template_render(t, vars, n, &t2, &b2) == 0);
        FUZZ_CHECK(t2.len == title.len && b2.len == body.len);
        FUZZ_CHECK(t2.len == 0 || memcmp(t2.data, title.data, t2.len) == 0);
        FUZZ_CHECK(b2.len == 0 || memcmp(b2.data, body.data, b2.len) == 0);
        zq_buf_free(&t2);
        zq_buf_free(&b2);
    }
    zq_buf_free(&title);
    zq_buf_free(&body);
    zq_template_free(t);
    return 0;
}

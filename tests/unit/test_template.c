/* Tests of lib/push/template.c: placeholders, sections (and the lines their
 * tags stand on), the title line, and every load-time error with its
 * FILE:LINE; the shipped templates load with the variables they are
 * rendered with. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/log.h"
#include "zhuqi/reminders.h"
#include "zhuqi/template.h"

static const char *const vars[] = {"name", "class", "class.title", "class.link", "month"};

static const char *path_of(const char *rel)
{
    static char buf[4][1024];
    static int next;
    const char *root = getenv("ZQ_TEST_ROOT");
    char *p = buf[next++ % 4];

    snprintf(p, sizeof(buf[0]), "%s/%s", root != NULL ? root : ".", rel);
    return p;
}

static zq_template *parse_ok(const char *text)
{
    zq_template *t = NULL;
    zq_err err = {0};
    int rc = zq_template_parse("t.md", text, strlen(text), vars, 5, &t, &err);

    if (rc != 0)
        fail_msg("parse failed: %s", err.msg);
    return t;
}

/* Renders text with vars; returns "title|body" (static). */
static const char *render(const char *text, const zq_tvar *v, size_t n)
{
    static char out[4096];
    zq_template *t = parse_ok(text);
    zq_buf title = {0}, body = {0};

    assert_int_equal(zq_template_render(t, v, n, &title, &body), 0);
    snprintf(out, sizeof(out), "%s|%s", title.data ? title.data : "", body.data ? body.data : "");
    zq_buf_free(&title);
    zq_buf_free(&body);
    zq_template_free(t);
    return out;
}

static void expect_error(const char *text, const char *msg_part)
{
    zq_template *t = NULL;
    zq_err err = {0};

    assert_int_equal(zq_template_parse("x/t.md", text, strlen(text), vars, 5, &t, &err),
                     -ZQ_EINVAL);
    assert_null(t);
    if (strstr(err.msg, msg_part) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", err.msg, msg_part);
}

static void test_placeholders(void **state)
{
    zq_tvar v[] = {{"name", "张三"}, {"month", "12"}};

    (void)state;
    assert_string_equal(render("# 你好 {{name}}\n{{month}}月见，{{ name }}！\n", v, 2),
                        "你好 张三|12月见，张三！");
    /* A variable the caller does not give is empty, not an error. */
    assert_string_equal(render("# t\n[{{class.title}}]\n", v, 2), "t|[]");
    /* Blank lines after the title are not part of the body; trailing
     * blank lines are dropped. */
    assert_string_equal(render("# t\n\n\nbody\n\n\n", v, 2), "t|body");
}

static void test_sections(void **state)
{
    const char *text = "# 提醒\n"
                       "开头\n"
                       "{{#class}}\n"
                       "课程：{{class.title}}\n"
                       "  {{#class.link}}\n"
                       "链接：{{class.link}}\n"
                       "  {{/class.link}}\n"
                       "{{/class}}\n"
                       "{{^class}}\n"
                       "暂未排期\n"
                       "{{/class}}\n"
                       "结尾 {{#class}}有课{{/class}}{{^class}}无课{{/class}}\n";
    zq_tvar with[] = {{"class", "1"}, {"class.title", "增值税"}, {"class.link", "https://x/y"}};
    zq_tvar nolink[] = {{"class", "1"}, {"class.title", "增值税"}, {"class.link", ""}};

    (void)state;
    assert_string_equal(render(text, with, 3),
                        "提醒|开头\n课程：增值税\n链接：https://x/y\n结尾 有课");
    assert_string_equal(render(text, nolink, 3), "提醒|开头\n课程：增值税\n结尾 有课");
    assert_string_equal(render(text, NULL, 0), "提醒|开头\n暂未排期\n结尾 无课");
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("# t\nhello {{nmae}}\n", "x/t.md:2: unknown placeholder {{nmae}}");
    expect_error("# t\n\nline {{name\nmore}}\n", "x/t.md:3: unclosed \"{{\"");
    expect_error("# t\na\nb }} c\n", "x/t.md:3: \"}}\" without \"{{\"");
    expect_error("# t\n{{#class}}\nx\n", "x/t.md:2: section is not closed: {{class}}");
    expect_error("# t\n{{#class}}\n{{/name}}\n", "x/t.md:3: closing tag does not match");
    expect_error("# t\n{{/class}}\n", "x/t.md:2: closing tag does not match");
    expect_error("# t\n{{Bad-Name}}\n", "x/t.md:2: bad placeholder");
    expect_error("# t\n{{}}\n", "x/t.md:2: bad placeholder");
    expect_error("title without hash\n", "x/t.md:1: the first line must be");
    expect_error("#    \nbody\n", "x/t.md:1: the title is empty");
    expect_error("# {{#class}}x{{/class}}\n", "x/t.md:1: sections are not allowed in the title");
    expect_error("# {{nope}}\n", "x/t.md:1: unknown placeholder {{nope}}");
    expect_error("# t\n\xff\xfe\n", "not valid UTF-8");
}

static void test_too_big(void **state)
{
    size_t n = ZQ_TEMPLATE_MAX_BYTES + 10;
    char *big = malloc(n);
    zq_template *t = NULL;
    zq_err err = {0};

    (void)state;
    assert_non_null(big);
    memset(big, 'a', n);
    memcpy(big, "# t\n", 4);
    assert_int_equal(zq_template_parse("big.md", big, n, vars, 5, &t, &err), -ZQ_ETOOBIG);
    free(big);
}

static void test_load_missing(void **state)
{
    zq_template *t = NULL;
    zq_err err = {0};

    (void)state;
    assert_int_equal(zq_template_load("/nonexistent/zq.md", vars, 5, &t, &err), -ZQ_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/zq.md"));
}

/* The shipped templates load with the variables the bot renders them
 * with (a typo in one would stop the bot at start). */
static void test_shipped(void **state)
{
    static const char *const reminder_files[] = {"config/templates/tax_day.md",
                                                 "config/templates/tax_day_eve.md"};
    static const char *const case_files[] = {"config/templates/case_created.md",
                                             "config/templates/case_status.md",
                                             "config/templates/case_withdrawn.md"};
    zq_template *t = NULL;
    zq_err err = {0};

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        if (zq_template_load(path_of(reminder_files[i]), zq_reminder_vars, zq_reminder_nvars, &t,
                             &err) != 0)
            fail_msg("%s", err.msg);
        zq_template_free(t);
    }
    for (size_t i = 0; i < ZQ_ARRAY_LEN(case_files); i++) {
        /* The names the bot allows (case.message and case.deadline too). */
        if (zq_template_load(path_of(case_files[i]), zq_template_case_vars, zq_template_case_nvars,
                             &t, &err) != 0)
            fail_msg("%s", err.msg);
        zq_template_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placeholders), cmocka_unit_test(test_sections),
        cmocka_unit_test(test_errors),       cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_load_missing), cmocka_unit_test(test_shipped),
    };

    zq_log_init("test_template", ZQ_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

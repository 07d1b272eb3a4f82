/* Tests of JSON as text (lib/core/jsontext.c, jsonw.c): members read
 * without a parse, integers as jansson reads them, and strings, numbers
 * and dates written so that jansson reads back what went in. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <limits.h>
#include <string.h>

#include "zhuqi/jsontext.h"

static void test_members(void **state)
{
    static const char *const keys[] = {"a", "b", "c", "d"};
    const char *s = " {\"a\": \"x\\\"y\", \"skip\": {\"a\": 1}, \"b\":[1, {\"c\":2}], "
                    "\"a\":\"last\", \"c\" : -12 } ";
    zq_json_tok t[4];
    long long v;

    (void)state;
    assert_int_equal(zq_json_members(s, strlen(s), keys, 4, t), 0);
    assert_true(zq_json_tok_is(t[0], "last")); /* the last of a key given twice */
    assert_int_equal(t[1].n, strlen("[1, {\"c\":2}]"));
    assert_true(zq_json_tok_int(t[2], &v));
    assert_int_equal(v, -12);
    assert_null(t[3].s);
    /* Not one object: nothing. */
    assert_int_equal(zq_json_members("[1]", 3, keys, 4, t), -ZQ_EINVAL);
    assert_int_equal(zq_json_members("{\"a\":1} x", 9, keys, 4, t), -ZQ_EINVAL);
    assert_int_equal(zq_json_members("{\"a\":1", 6, keys, 4, t), -ZQ_EINVAL);
    assert_null(t[0].s);
    assert_int_equal(zq_json_members("{}", 2, keys, 4, t), 0);
    assert_null(t[0].s);
}

static void test_tok_int(void **state)
{
    long long v;

    (void)state;
    assert_true(zq_json_tok_int((zq_json_tok){"1764400000000", 13}, &v));
    assert_true(v == 1764400000000LL);
    assert_false(zq_json_tok_int((zq_json_tok){"1.5", 3}, &v));
    assert_false(zq_json_tok_int((zq_json_tok){"1e3", 3}, &v));
    assert_false(zq_json_tok_int((zq_json_tok){"\"1\"", 3}, &v));
    assert_false(zq_json_tok_int((zq_json_tok){"-", 1}, &v));
    assert_false(zq_json_tok_int((zq_json_tok){"99999999999999999999", 20}, &v));
    assert_false(zq_json_tok_int((zq_json_tok){NULL, 0}, &v));
}

/* What is written reads back as the same value. */
static void test_write(void **state)
{
    const char *odd = "引号\" 反斜\\ 换行\n 制表\t <b>&amp; \x01 \x1f é";
    zq_buf b = {0};
    json_t *j;

    (void)state;
    ZQ_JSONW_LIT(&b, "[");
    zq_jsonw_str(&b, odd);
    ZQ_JSONW_LIT(&b, ",");
    zq_jsonw_str(&b, "plain");
    ZQ_JSONW_LIT(&b, ",");
    zq_jsonw_int(&b, LLONG_MIN);
    ZQ_JSONW_LIT(&b, ",");
    zq_jsonw_int(&b, 0);
    ZQ_JSONW_LIT(&b, ",");
    zq_jsonw_bool(&b, true);
    ZQ_JSONW_LIT(&b, ",");
    zq_jsonw_date(&b, (zq_date){2026, 1, 5});
    ZQ_JSONW_LIT(&b, ",");
    zq_jsonw_date(&b, (zq_date){0, 0, 0});
    ZQ_JSONW_LIT(&b, ",");
    zq_jsonw_time_iso(&b, 0);
    ZQ_JSONW_LIT(&b, "]");
    assert_false(b.oom);
    assert_int_equal(strlen(b.data), b.len);
    j = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_array_get(j, 0)), odd);
    assert_string_equal(json_string_value(json_array_get(j, 1)), "plain");
    assert_true(json_integer_value(json_array_get(j, 2)) == LLONG_MIN);
    assert_int_equal(json_integer_value(json_array_get(j, 3)), 0);
    assert_true(json_is_true(json_array_get(j, 4)));
    assert_string_equal(json_string_value(json_array_get(j, 5)), "2026-01-05");
    assert_string_equal(json_string_value(json_array_get(j, 6)), "invalid");
    assert_string_equal(json_string_value(json_array_get(j, 7)), "1970-01-01T08:00:00+08:00");
    /* Nothing that could end a <script> in a page. */
    assert_null(strchr(b.data, '<'));
    json_decref(j);
    zq_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_tok_int),
        cmocka_unit_test(test_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Tests of the quick JSON reader (lib/core/jsonq.c): whatever it reads,
 * jansson reads the same (json_loadb with JSON_REJECT_DUPLICATES, keys in
 * the same order); what it gives up on, the caller hands to jansson. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/jsonq.h"

/* Parses s both ways; returns whether the quick reader took it, after
 * checking that jansson then gives the same tree in the same order. */
static bool same_as_jansson(const char *s)
{
    json_t *q = zq_jsonq_parse(s, strlen(s));
    json_t *j = json_loadb(s, strlen(s), JSON_REJECT_DUPLICATES, NULL);
    char *qs, *js;

    if (q == NULL) {
        json_decref(j);
        return false;
    }
    assert_non_null(j);
    qs = json_dumps(q, JSON_COMPACT | JSON_ENCODE_ANY);
    js = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(qs, js);
    assert_true(json_equal(q, j));
    free(qs);
    free(js);
    json_decref(q);
    json_decref(j);
    return true;
}

/* The bodies the pages send: read quickly, as jansson reads them. */
static void test_common_shapes(void **state)
{
    (void)state;
    assert_true(same_as_jansson("{}"));
    assert_true(same_as_jansson(" {\"answers\": {}} \n"));
    assert_true(same_as_jansson(
        "{\"answers\":{\"company_name\":\"成都某某科技有限公司\",\"uscc\":\"91510100MA61234567\","
        "\"size\":\"small\",\"region\":\"510100\",\"mobile\":\"13812345678\",\"n\":-42,"
        "\"big\":9223372036854775807,\"small\":-9223372036854775808,\"z\":-0,"
        "\"ok\":true,\"no\":false,\"none\":null,\"list\":[\"a\",\"b\",[],{}]}}"));
    assert_true(same_as_jansson("{\"a\":\"tab\\tquote\\\"slash\\/back\\\\nl\\nb\\bf\\fr\\r\"}"));
    assert_true(same_as_jansson("{\"z\":1,\"a\":2,\"m\":{\"y\":1,\"b\":2}}"));
}

/* What it leaves to jansson: never read differently, only not read. */
static void test_gives_up(void **state)
{
    static const char *const cases[] = {
        "",
        "[]",
        "\"x\"",
        "1",
        "{\"a\":1.5}",
        "{\"a\":1e3}",
        "{\"a\":01}",
        "{\"a\":-}",
        "{\"a\":9223372036854775808}",
        "{\"a\":-9223372036854775809}",
        "{\"a\":\"\\u4e2d\"}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"raw\ttab\"}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "{\"a\":tru}",
        "{\"a\":truex}",
        "{\"a\":1} x",
        "{\"a\":1}{}",
        "{\"a\":[1,]}",
        "{\"a\":\"unterminated}",
        "{\"a\":\"\xff\"}",
        "{\"a\":\"\xed\xa0\x80\"}",
        "\xef\xbb\xbf{}",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_false(same_as_jansson(cases[i]));
    assert_null(zq_jsonq_parse(NULL, 0));
    /* A NUL inside the bytes. */
    assert_null(zq_jsonq_parse("{\"a\":\"\0\"}", 9));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_shapes),
        cmocka_unit_test(test_gives_up),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

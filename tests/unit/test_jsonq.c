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

#include <stdio.h>

#include "zhuqi/buf.h"
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

/* Checks that m[0..n) is jansson's reading of the object o: the same
 * keys in the same order, the same kinds and values. */
static void members_equal(const zq_jsonq_member *m, int n, json_t *o)
{
    const char *k;
    json_t *v;
    int i = 0;

    assert_true(json_is_object(o));
    assert_int_equal(json_object_size(o), n);
    json_object_foreach(o, k, v)
    {
        const zq_jsonq_member *x = &m[i++];

        assert_int_equal(strlen(k), x->key_len);
        assert_memory_equal(k, x->key, x->key_len);
        switch (x->kind) {
        case ZQ_JSONQ_STRING:
            assert_true(json_is_string(v));
            assert_int_equal(json_string_length(v), x->len);
            assert_memory_equal(json_string_value(v), x->str, x->len);
            break;
        case ZQ_JSONQ_INTEGER:
            assert_true(json_is_integer(v));
            assert_true(json_integer_value(v) == x->num);
            break;
        case ZQ_JSONQ_TRUE: assert_true(json_is_true(v)); break;
        case ZQ_JSONQ_FALSE: assert_true(json_is_false(v)); break;
        case ZQ_JSONQ_NULL: assert_true(json_is_null(v)); break;
        }
    }
}

/* Reads s with zq_jsonq_members; returns whether it did, after checking
 * that zq_jsonq_parse and jansson read it too, with the same members of
 * "answers". */
static bool members_as_jansson(const char *s, size_t len)
{
    zq_jsonq_member m[16];
    zq_buf tmp = {0};
    int n = zq_jsonq_members(s, len, "answers", m, 16, &tmp);
    json_t *q, *j;

    if (n < 0) {
        zq_buf_free(&tmp);
        return false;
    }
    q = zq_jsonq_parse(s, len);
    j = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(q);
    assert_non_null(j);
    members_equal(m, n, json_object_get(j, "answers"));
    json_decref(q);
    json_decref(j);
    zq_buf_free(&tmp);
    return true;
}

/* A form's body read without a tree: the members of "answers" as jansson
 * reads them, strings unescaped (several of them, so that the scratch
 * buffer is shared), integers at their limits. */
static void test_members(void **state)
{
    static const char *const took[] = {
        "{\"answers\":{}}",
        " {\"answers\" : { } } \n",
        "{\"answers\":{\"company_name\":\"成都某某科技有限公司\",\"uscc\":\"91510100MA61R7XQ34\","
        "\"mobile\":\"13812345678\",\"n\":-42,\"big\":9223372036854775807,"
        "\"small\":-9223372036854775808,\"z\":-0,\"ok\":true,\"no\":false,\"none\":null}}",
        "{\"x\":1,\"answers\":{\"a\":\"tab\\tquote\\\"slash\\/back\\\\nl\\nb\\bf\\fr\\r\","
        "\"b\":\"plain\",\"c\":\"\\n\\n\",\"d\":\"\"},\"y\":\"\\\"\",\"z\":null}",
        "{\"answers\":{\"a\":\"\\\\\"},\"b\":\"\\\\\\\\\\\\\"}",
    };
    static const char *const left[] = {
        "{}",
        "{\"answer\":{}}",
        "{\"answers\":[]}",
        "{\"answers\":\"x\"}",
        "{\"answers\":{\"a\":[1]}}",
        "{\"answers\":{\"a\":{}}}",
        "{\"answers\":{},\"x\":[]}",
        "{\"answers\":{},\"x\":{}}",
        "{\"answers\":{},\"answers\":{}}",
        "{\"answers\":{\"a\":1,\"a\":2}}",
        "{\"answers\":{\"a\\u0062\":1}}",
        "{\"answers\":{\"a\\n\":1}}",
        "{\"ans\\u0077ers\":{}}",
        "{\"answers\":{\"a\":\"\\u4e2d\"}}",
        "{\"answers\":{\"a\":1.5}}",
        "{\"answers\":{\"a\":01}}",
        "{\"answers\":{\"a\":9223372036854775808}}",
        "{\"answers\":{\"a\":\"raw\ttab\"}}",
        "{\"answers\":{\"a\":\"\xff\"}}",
        "{\"answers\":{\"a\":1,}}",
        "{\"answers\":{}} x",
        "{\"answers\":{\"a\":tru}}",
        "[{\"answers\":{}}]",
        "",
    };
    char many[512];
    size_t i, n = 0;
    zq_jsonq_member m[2];
    zq_buf tmp = {0};

    (void)state;
    for (i = 0; i < sizeof(took) / sizeof(took[0]); i++)
        assert_true(members_as_jansson(took[i], strlen(took[i])));
    for (i = 0; i < sizeof(left) / sizeof(left[0]); i++)
        assert_false(members_as_jansson(left[i], strlen(left[i])));
    /* A NUL inside the bytes. */
    assert_false(members_as_jansson("{\"answers\":{\"a\":\"\0\"}}", 21));
    /* More members than room: left to the tree. */
    assert_int_equal(
        zq_jsonq_members("{\"answers\":{\"a\":1,\"b\":2,\"c\":3}}", 31, "answers", m, 2, &tmp), -1);
    assert_int_equal(zq_jsonq_members("{\"answers\":{\"a\":1,\"b\":2}}", 25, "answers", m, 2, &tmp),
                     2);
    /* Seventeen members at the top: left to the tree too. */
    n += (size_t)snprintf(many + n, sizeof(many) - n, "{\"answers\":{}");
    for (i = 0; i < 16; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, ",\"k%zu\":%zu", i, i);
    snprintf(many + n, sizeof(many) - n, "}");
    assert_false(members_as_jansson(many, strlen(many)));
    zq_buf_free(&tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_shapes),
        cmocka_unit_test(test_gives_up),
        cmocka_unit_test(test_members),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

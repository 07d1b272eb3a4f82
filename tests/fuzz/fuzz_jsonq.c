/* Fuzzes the quick JSON reader (lib/core/jsonq.c) against jansson: what
 * it reads, json_loadb with JSON_REJECT_DUPLICATES reads too, into the
 * same tree with its keys in the same order (the step handler trusts it
 * in jansson's place). The same for the reader without a tree
 * (zq_jsonq_members): what it reads, zq_jsonq_parse and jansson read too,
 * and "answers" has the same members in the same order, of the same kinds
 * and values. Input: the bytes of a request body. */
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/jsonq.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

/* zq_jsonq_members against jansson's tree of the same bytes. */
static void members(const uint8_t *data, size_t size)
{
    zq_jsonq_member m[16];
    zq_buf tmp = {0};
    int n = zq_jsonq_members((const char *)data, size, "answers", m, 16, &tmp), i = 0;
    json_t *q, *j, *a, *v;
    const char *k;

    if (n < 0) {
        zq_buf_free(&tmp);
        return;
    }
    q = zq_jsonq_parse((const char *)data, size);
    FUZZ_CHECK(q != NULL);
    j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    FUZZ_CHECK(j != NULL);
    a = json_object_get(j, "answers");
    FUZZ_CHECK(json_is_object(a) && json_object_size(a) == (size_t)n);
    json_object_foreach(a, k, v)
    {
        const zq_jsonq_member *x = &m[i++];

        FUZZ_CHECK(strlen(k) == x->key_len && memcmp(k, x->key, x->key_len) == 0);
        switch (x->kind) {
        case ZQ_JSONQ_STRING:
            FUZZ_CHECK(json_is_string(v) && json_string_length(v) == x->len &&
                       memcmp(json_string_value(v), x->str, x->len) == 0);
            break;
        case ZQ_JSONQ_INTEGER:
            FUZZ_CHECK(json_is_integer(v) && json_integer_value(v) == x->num);
            break;
        case ZQ_JSONQ_TRUE: FUZZ_CHECK(json_is_true(v)); break;
        case ZQ_JSONQ_FALSE: FUZZ_CHECK(json_is_false(v)); break;
        case ZQ_JSONQ_NULL: FUZZ_CHECK(json_is_null(v)); break;
        }
    }
    json_decref(q);
    json_decref(j);
    zq_buf_free(&tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *q, *j;
    char *qs, *js;

    members(data, size);
    q = zq_jsonq_parse((const char *)data, size);
    if (q == NULL)
        return 0;
    FUZZ_CHECK(json_is_object(q));
    j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    FUZZ_CHECK(j != NULL);
    FUZZ_CHECK(json_equal(q, j));
    qs = json_dumps(q, JSON_COMPACT | JSON_ENCODE_ANY);
    js = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    FUZZ_CHECK(qs != NULL && js != NULL && strcmp(qs, js) == 0);
    free(qs);
    free(js);
    json_decref(q);
    json_decref(j);
    return 0;
}

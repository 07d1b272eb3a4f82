/* Fuzzes the quick JSON reader (lib/core/jsonq.c) against jansson: what
 * it reads, json_loadb with JSON_REJECT_DUPLICATES reads too, into the
 * same tree with its keys in the same order (the step handler trusts it
 * in jansson's place). Input: the bytes of a request body. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *q = zq_jsonq_parse((const char *)data, size), *j;
    char *qs, *js;

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

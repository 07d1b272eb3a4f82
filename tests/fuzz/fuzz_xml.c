/* Fuzzes the flat XML parser of the WeCom callbacks (lib/xml.c): any
 * input is parsed within its exact length (no NUL after it); a document
 * that parses is written back with zq_xml_cdata and must parse to the same
 * fields; and the input itself, wrapped in a CDATA section, must come back
 * unchanged whenever it is text. */
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/buf.h"
#include "zhuqi/xml.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static void check_doc(const zq_xml_doc *d)
{
    size_t i;

    FUZZ_CHECK(d->root != NULL && d->root[0] != '\0');
    FUZZ_CHECK(d->nfields <= ZQ_XML_MAX_FIELDS);
    for (i = 0; i < d->nfields; i++) {
        FUZZ_CHECK(d->fields[i].name != NULL && d->fields[i].value != NULL);
        FUZZ_CHECK(strlen(d->fields[i].name) <= ZQ_XML_MAX_NAME);
        FUZZ_CHECK(strlen(d->fields[i].value) == d->fields[i].len);
        FUZZ_CHECK(zq_utf8_valid(d->fields[i].value, d->fields[i].len));
        FUZZ_CHECK(zq_xml_get(d, d->fields[i].name, NULL) == d->fields[i].value);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zq_pool pool = {0};
    zq_xml_doc doc, again;
    zq_buf b = {0};
    zq_err err = {0};
    size_t i, len;

    if (zq_xml_parse(&pool, (const char *)data, size, &doc, &err) == 0) {
        check_doc(&doc);
        /* Written back flat, with every value in CDATA. */
        zq_buf_puts(&b, "<xml>");
        for (i = 0; i < doc.nfields; i++) {
            zq_buf_printf(&b, "<%s>", doc.fields[i].name);
            FUZZ_CHECK(zq_xml_cdata(&b, doc.fields[i].value, doc.fields[i].len) == 0);
            zq_buf_printf(&b, "</%s>", doc.fields[i].name);
        }
        zq_buf_puts(&b, "</xml>");
        FUZZ_CHECK(!b.oom);
        if (b.len <= ZQ_XML_MAX_INPUT) {
            FUZZ_CHECK(zq_xml_parse(&pool, b.data, b.len, &again, &err) == 0);
            FUZZ_CHECK(again.nfields == doc.nfields);
            for (i = 0; i < doc.nfields; i++) {
                const char *v = zq_xml_get(&again, doc.fields[i].name, &len);

                FUZZ_CHECK(v != NULL && len == doc.fields[i].len &&
                           memcmp(v, doc.fields[i].value, len) == 0);
            }
        }
    } else {
        FUZZ_CHECK(err.code == ZQ_EINVAL || err.code == ZQ_ETOOBIG);
        FUZZ_CHECK(doc.root == NULL && doc.nfields == 0);
    }

    /* Any text survives a CDATA section. */
    if (zq_utf8_valid((const char *)data, size)) {
        zq_buf_reset(&b);
        zq_buf_puts(&b, "<xml><C>");
        zq_xml_cdata(&b, (const char *)data, size);
        zq_buf_puts(&b, "</C></xml>");
        FUZZ_CHECK(zq_xml_parse(&pool, b.data, b.len, &again, &err) == 0);
        {
            const char *v = zq_xml_get(&again, "C", &len);

            FUZZ_CHECK(v != NULL && len == size && memcmp(v, data, size) == 0);
        }
    }
    zq_buf_free(&b);
    zq_pool_free(&pool);
    return 0;
}

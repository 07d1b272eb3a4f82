/* A small, safe parser for the flat XML that WeCom sends
 * (<xml><Tag><![CDATA[...]]></Tag>...</xml>) and a writer for CDATA.
 * No DTD, no entity declarations, no processing instructions other than
 * the leading <?xml ...?> declaration, no comments, no attributes: the
 * external-entity and billion-laughs families cannot happen. Sizes,
 * depth and element counts are bounded. */
#ifndef ZHUQI_XML_H
#define ZHUQI_XML_H

#include <stddef.h>

#include "zhuqi/buf.h"
#include "zhuqi/common.h"

#define ZQ_XML_MAX_INPUT 262144 /* bytes (256 KiB) */
#define ZQ_XML_MAX_DEPTH 4      /* the root is depth 1 */
#define ZQ_XML_MAX_FIELDS 64    /* leaf elements kept */
#define ZQ_XML_MAX_NAME 64      /* bytes of an element name */

/* A leaf element (one without child elements) and its decoded text. */
typedef struct zq_xml_field {
    const char *name;  /* in the pool */
    const char *value; /* in the pool, NUL-terminated, valid UTF-8 */
    size_t len;
} zq_xml_field;

typedef struct zq_xml_doc {
    const char *root; /* the root element's name, in the pool */
    zq_xml_field fields[ZQ_XML_MAX_FIELDS];
    size_t nfields;
} zq_xml_doc;

/* Parses [s, s+len) into doc; strings live in pool. Every leaf element
 * below the root is kept by name (the first of a name wins). Returns 0,
 * -ZQ_ETOOBIG (input, depth or element count over the bounds) or
 * -ZQ_EINVAL (not well-formed, or a construct we refuse: DOCTYPE,
 * ENTITY, a comment, a processing instruction, an attribute, an unknown
 * entity reference, invalid UTF-8), with err saying what and where. */
int zq_xml_parse(zq_pool *pool, const char *s, size_t len, zq_xml_doc *doc, zq_err *err);

/* The text of the leaf element name, or NULL when absent. len (may be
 * NULL) receives its length. Borrowed from the doc's pool. */
const char *zq_xml_get(const zq_xml_doc *doc, const char *name, size_t *len);

/* Appends <![CDATA[s]]> to b, splitting any "]]>" inside s across two
 * sections so that the text survives unchanged. Returns 0 or -ZQ_ENOMEM. */
int zq_xml_cdata(zq_buf *b, const char *s, size_t len);

#endif

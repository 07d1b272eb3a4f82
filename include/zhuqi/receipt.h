/* The printable receipt (回执) of a case for the enterprise: a whole HTML
 * page, self-contained (its style and its one script inline, nothing
 * loaded from anywhere), laid out for A4 paper and readable on a phone.
 * Every value from the case is HTML-escaped. */
#ifndef ZHUQI_RECEIPT_H
#define ZHUQI_RECEIPT_H

#include <stddef.h>

#include "zhuqi/buf.h"
#include "zhuqi/cases.h"
#include "zhuqi/schema.h"

/* What a receipt shows besides the case. Strings are borrowed. */
typedef struct zq_receipt_in {
    const zq_schema *schema; /* labels and display values; may be NULL */
    const zq_case *c;        /* the case, loaded whole (answers, files) */
    const char *office;      /* the office's name; NULL or "": none shown */
    const char *lookup_url;  /* the lookup page's address; NULL or "": named only */
} zq_receipt_in;

/* Appends the receipt page of in->c to out: the case number, its type,
 * the time of filing (Beijing, yyyy-mm-dd hh:mm), the answers by step
 * with their labels in the schema's order (mobile masked, files fields
 * left out), the file list (kind, name, size), the office's name, how
 * to track the case, and a 打印 button hidden in print. Returns 0 or
 * -ZQ_ENOMEM. */
int zq_receipt_html(const zq_receipt_in *in, zq_buf *out);

/* Appends a short page in the receipt's style saying why no receipt is
 * shown: title and text (Chinese, escaped here), and a link back to
 * link_href (NULL: none) labelled link_text. Returns 0 or -ZQ_ENOMEM. */
int zq_receipt_refusal_html(const char *title, const char *text, const char *link_href,
                            const char *link_text, zq_buf *out);

/* The Content-Security-Policy both pages need: nothing from anywhere,
 * their own inline style and script allowed by hash. Writes it into out
 * (outsz bytes, 256 are enough). Returns 0 or -ZQ_ETOOBIG. */
int zq_receipt_csp(char *out, size_t outsz);

#endif

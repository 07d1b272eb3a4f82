/* Message templates: the files in config/templates/ (*.md). The first
 * line is "# " and the title; the rest is the body, in the markdown subset
 * of zq_message. Placeholders:
 *   {{name}}              the value of a variable
 *   {{#name}}..{{/name}}  shown when the variable is not empty
 *   {{^name}}..{{/name}}  shown when it is empty
 * A section tag alone on its line takes the line with it. Names are the
 * ones the caller allows (reminders: class.title, class.time, month...);
 * an unknown name, an unclosed "{{", a stray "}}" or an unbalanced section
 * is an error at load time naming FILE:LINE, never an empty hole in a sent
 * message. */
#ifndef ZHUQI_TEMPLATE_H
#define ZHUQI_TEMPLATE_H

#include <stddef.h>

#include "zhuqi/buf.h"
#include "zhuqi/common.h"

#define ZQ_TEMPLATE_MAX_BYTES 65536

typedef struct zq_template zq_template;

/* A variable's value for rendering. */
typedef struct zq_tvar {
    const char *name;
    const char *value; /* NULL or "" is empty */
} zq_tvar;

/* Parses text (len bytes, UTF-8) named name in messages, allowing the
 * variable names in allowed[0..nallowed). Returns 0 and a new template in
 * *out, or -ZQ_EINVAL with err->msg "NAME:LINE: what is wrong". */
int zq_template_parse(const char *name, const char *text, size_t len, const char *const *allowed,
                      size_t nallowed, zq_template **out, zq_err *err);

/* Reads and parses the file at path (at most ZQ_TEMPLATE_MAX_BYTES).
 * -ZQ_EIO when it cannot be read, -ZQ_ETOOBIG when too large. */
int zq_template_load(const char *path, const char *const *allowed, size_t nallowed,
                     zq_template **out, zq_err *err);

void zq_template_free(zq_template *t);

/* The file name the template was loaded from. Borrowed. */
const char *zq_template_name(const zq_template *t);

/* Renders the title and the body with vars (a variable not in vars is
 * empty). Appends to title and body; returns 0 or -ZQ_ENOMEM. */
int zq_template_render(const zq_template *t, const zq_tvar *vars, size_t nvars, zq_buf *title,
                       zq_buf *body);

/* The variables the case announcement templates (templates/case_*.md)
 * may use: case.id, case.type, case.region, case.status,
 * case.status_label, case.duplicate, case.message (the message to the
 * enterprise of a status change), case.deadline (the date of the time
 * limit the new status runs: for needs_info, the date to supply the
 * material by). */
extern const char *const zq_template_case_vars[];
extern const size_t zq_template_case_nvars;

#endif

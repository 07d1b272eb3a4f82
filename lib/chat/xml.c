/* A hand parser for flat XML messages (WeCom callbacks): only elements,
 * text, CDATA sections and the five predefined and numeric character
 * references. Everything that could pull in outside data or expand
 * (DTDs, entity declarations) is refused before it is looked at. */
#include "zhuqi/xml.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct level {
    const char *name;
    size_t name_len;
    bool has_children;
    zq_buf text;
} level;

typedef struct parser {
    const char *s;
    size_t len;
    size_t pos;
    zq_pool *pool;
    zq_xml_doc *doc;
    level stack[ZQ_XML_MAX_DEPTH];
    int depth;
    zq_err *err;
} parser;

static bool starts(const parser *p, const char *lit)
{
    size_t n = strlen(lit);

    return p->len - p->pos >= n && memcmp(p->s + p->pos, lit, n) == 0;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len && is_ws(p->s[p->pos]))
        p->pos++;
}

static bool name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Reads an element name at pos. Returns its length, 0 when none. */
static size_t read_name(parser *p)
{
    size_t start = p->pos;

    if (p->pos >= p->len || !name_start(p->s[p->pos]))
        return 0;
    while (p->pos < p->len && name_char(p->s[p->pos]))
        p->pos++;
    return p->pos - start;
}

static int fail(parser *p, int code, const char *what)
{
    return zq_err_set(p->err, code, "xml: %s at byte %zu", what, p->pos);
}

static int put_utf8(zq_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return zq_buf_append(b, u, n);
}

/* A character reference or one of the five predefined entities, at '&'. */
static int entity(parser *p, zq_buf *out)
{
    static const struct {
        const char *ref;
        char c;
    } named[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
    size_t i;
    uint32_t cp = 0;
    bool hex;
    int digits = 0;

    for (i = 0; i < ZQ_ARRAY_LEN(named); i++)
        if (starts(p, named[i].ref)) {
            p->pos += strlen(named[i].ref);
            return out ? zq_buf_append(out, &named[i].c, 1) : 0;
        }
    if (!starts(p, "&#"))
        return fail(p, ZQ_EINVAL, "unknown entity reference");
    p->pos += 2;
    hex = p->pos < p->len && p->s[p->pos] == 'x';
    if (hex)
        p->pos++;
    while (p->pos < p->len && p->s[p->pos] != ';') {
        char c = p->s[p->pos];
        int v = (c >= '0' && c <= '9')          ? c - '0'
                : hex && (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : hex && (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                : -1;
        if (v < 0 || ++digits > 7)
            return fail(p, ZQ_EINVAL, "bad character reference");
        cp = cp * (hex ? 16u : 10u) + (uint32_t)v;
        p->pos++;
    }
    if (p->pos >= p->len || digits == 0 || cp == 0 || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF) || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r'))
        return fail(p, ZQ_EINVAL, "bad character reference");
    p->pos++; /* ';' */
    return out ? put_utf8(out, cp) : 0;
}

/* The text buffer of the element being read, or NULL outside the root. */
static zq_buf *cur_text(parser *p)
{
    return p->depth > 0 ? &p->stack[p->depth - 1].text : NULL;
}

static int add_field(parser *p, const level *lv)
{
    zq_xml_doc *d = p->doc;
    zq_xml_field *f;
    size_t i;

    if (lv->text.oom)
        return fail(p, ZQ_ENOMEM, "out of memory");
    if (!zq_utf8_valid(lv->text.data ? lv->text.data : "", lv->text.len))
        return fail(p, ZQ_EINVAL, "text is not valid UTF-8");
    for (i = 0; i < d->nfields; i++)
        if (strlen(d->fields[i].name) == lv->name_len &&
            memcmp(d->fields[i].name, lv->name, lv->name_len) == 0)
            return 0; /* the first wins */
    if (d->nfields >= ZQ_XML_MAX_FIELDS)
        return fail(p, ZQ_ETOOBIG, "too many elements");
    f = &d->fields[d->nfields];
    f->name = zq_pool_strndup(p->pool, lv->name, lv->name_len);
    f->value = zq_pool_strndup(p->pool, lv->text.data ? lv->text.data : "", lv->text.len);
    f->len = lv->text.len;
    if (f->name == NULL || f->value == NULL)
        return fail(p, ZQ_ENOMEM, "out of memory");
    d->nfields++;
    return 0;
}

static int open_tag(parser *p)
{
    const char *name;
    size_t n;
    bool empty = false;
    level *lv;
    int rc;

    p->pos++; /* '<' */
    name = p->s + p->pos;
    n = read_name(p);
    if (n == 0)
        return fail(p, ZQ_EINVAL, "bad element name");
    if (n > ZQ_XML_MAX_NAME)
        return fail(p, ZQ_ETOOBIG, "element name too long");
    skip_ws(p);
    if (starts(p, "/>")) {
        empty = true;
        p->pos += 2;
    } else if (starts(p, ">")) {
        p->pos++;
    } else {
        return fail(p, ZQ_EINVAL, "attributes are not accepted");
    }
    if (p->depth > 0)
        p->stack[p->depth - 1].has_children = true;
    if (p->depth == 0) {
        if (p->doc->root != NULL)
            return fail(p, ZQ_EINVAL, "more than one root element");
        p->doc->root = zq_pool_strndup(p->pool, name, n);
        if (p->doc->root == NULL)
            return fail(p, ZQ_ENOMEM, "out of memory");
    }
    if (p->depth >= ZQ_XML_MAX_DEPTH)
        return fail(p, ZQ_ETOOBIG, "elements nested too deep");
    lv = &p->stack[p->depth];
    memset(lv, 0, sizeof(*lv));
    lv->name = name;
    lv->name_len = n;
    if (!empty) {
        p->depth++;
        return 0;
    }
    rc = p->depth > 0 ? add_field(p, lv) : 0;
    zq_buf_free(&lv->text);
    return rc;
}

static int close_tag(parser *p)
{
    const char *name;
    size_t n;
    level *lv;
    int rc = 0;

    p->pos += 2; /* "</" */
    name = p->s + p->pos;
    n = read_name(p);
    skip_ws(p);
    if (n == 0 || !starts(p, ">"))
        return fail(p, ZQ_EINVAL, "bad end tag");
    p->pos++;
    if (p->depth == 0)
        return fail(p, ZQ_EINVAL, "end tag without start tag");
    lv = &p->stack[p->depth - 1];
    if (lv->name_len != n || memcmp(lv->name, name, n) != 0)
        return fail(p, ZQ_EINVAL, "end tag does not match");
    if (!lv->has_children && p->depth > 1)
        rc = add_field(p, lv);
    zq_buf_free(&lv->text);
    p->depth--;
    return rc;
}

static int cdata(parser *p)
{
    const char *start, *end;
    zq_buf *t = cur_text(p);

    if (t == NULL)
        return fail(p, ZQ_EINVAL, "CDATA outside the root element");
    p->pos += 9; /* "<![CDATA[" */
    start = p->s + p->pos;
    end = memmem(start, p->len - p->pos, "]]>", 3);
    if (end == NULL)
        return fail(p, ZQ_EINVAL, "unterminated CDATA section");
    if (zq_buf_append(t, start, (size_t)(end - start)) < 0)
        return fail(p, ZQ_ENOMEM, "out of memory");
    p->pos += (size_t)(end - start) + 3;
    return 0;
}

/* Character data up to the next markup. */
static int text(parser *p)
{
    zq_buf *t = cur_text(p);

    while (p->pos < p->len && p->s[p->pos] != '<') {
        unsigned char c = (unsigned char)p->s[p->pos];
        int rc;

        if (c == '&') {
            if (t == NULL)
                return fail(p, ZQ_EINVAL, "text outside the root element");
            if ((rc = entity(p, t)) < 0)
                return rc;
            continue;
        }
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return fail(p, ZQ_EINVAL, "control character");
        if (t == NULL) {
            if (!is_ws((char)c))
                return fail(p, ZQ_EINVAL, "text outside the root element");
        } else if (zq_buf_append(t, &p->s[p->pos], 1) < 0) {
            return fail(p, ZQ_ENOMEM, "out of memory");
        }
        p->pos++;
    }
    return 0;
}

static int run(parser *p)
{
    int rc;

    /* The XML declaration, only at the very start. */
    if (starts(p, "<?xml") && p->len > 5 && (is_ws(p->s[5]) || p->s[5] == '?')) {
        const char *end = memmem(p->s, p->len, "?>", 2);

        if (end == NULL)
            return fail(p, ZQ_EINVAL, "unterminated XML declaration");
        p->pos = (size_t)(end - p->s) + 2;
    }
    while (p->pos < p->len) {
        if (p->s[p->pos] != '<') {
            if ((rc = text(p)) < 0)
                return rc;
            continue;
        }
        if (starts(p, "<![CDATA[")) {
            rc = cdata(p);
        } else if (starts(p, "<!DOCTYPE") || starts(p, "<!doctype")) {
            rc = fail(p, ZQ_EINVAL, "DOCTYPE is not accepted");
        } else if (starts(p, "<!ENTITY")) {
            rc = fail(p, ZQ_EINVAL, "ENTITY is not accepted");
        } else if (starts(p, "<!--")) {
            rc = fail(p, ZQ_EINVAL, "comments are not accepted");
        } else if (starts(p, "<!")) {
            rc = fail(p, ZQ_EINVAL, "declarations are not accepted");
        } else if (starts(p, "<?")) {
            rc = fail(p, ZQ_EINVAL, "processing instructions are not accepted");
        } else if (starts(p, "</")) {
            rc = close_tag(p);
        } else {
            if (p->depth == 0 && p->doc->root != NULL)
                return fail(p, ZQ_EINVAL, "content after the root element");
            rc = open_tag(p);
        }
        if (rc < 0)
            return rc;
    }
    if (p->depth != 0 || p->doc->root == NULL)
        return fail(p, ZQ_EINVAL, "unexpected end of document");
    return 0;
}

int zq_xml_parse(zq_pool *pool, const char *s, size_t len, zq_xml_doc *doc, zq_err *err)
{
    parser p;
    int rc, i;

    memset(doc, 0, sizeof(*doc));
    if (len > ZQ_XML_MAX_INPUT)
        return zq_err_set(err, ZQ_ETOOBIG, "xml: document larger than %d bytes", ZQ_XML_MAX_INPUT);
    memset(&p, 0, sizeof(p));
    p.s = s;
    p.len = len;
    p.pool = pool;
    p.doc = doc;
    p.err = err;
    rc = run(&p);
    for (i = 0; i < ZQ_XML_MAX_DEPTH; i++)
        zq_buf_free(&p.stack[i].text);
    if (rc < 0)
        memset(doc, 0, sizeof(*doc));
    return rc;
}

const char *zq_xml_get(const zq_xml_doc *doc, const char *name, size_t *len)
{
    size_t i;

    for (i = 0; i < doc->nfields; i++)
        if (strcmp(doc->fields[i].name, name) == 0) {
            if (len != NULL)
                *len = doc->fields[i].len;
            return doc->fields[i].value;
        }
    return NULL;
}

int zq_xml_cdata(zq_buf *b, const char *s, size_t len)
{
    const char *end;

    zq_buf_puts(b, "<![CDATA[");
    /* "]]>" ends a section: emit "]]" in this one and ">" in the next. */
    while ((end = memmem(s, len, "]]>", 3)) != NULL) {
        size_t n = (size_t)(end - s) + 2;

        zq_buf_append(b, s, n);
        zq_buf_puts(b, "]]><![CDATA[");
        s += n;
        len -= n;
    }
    zq_buf_append(b, s, len);
    return zq_buf_puts(b, "]]>") < 0 || b->oom ? -ZQ_ENOMEM : 0;
}

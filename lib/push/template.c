/* Message templates: parsed once into a list of operations (text, variable,
 * section open/close), checked against the names the caller allows, and
 * rendered many times. See include/zhuqi/template.h for the syntax. */
#include "zhuqi/template.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 8
#define MAX_NAME 48

typedef enum op_kind {
    OP_TEXT,
    OP_VAR,
    OP_OPEN,     /* {{#name}} */
    OP_OPEN_INV, /* {{^name}} */
    OP_CLOSE,    /* {{/name}} */
} op_kind;

typedef struct op {
    op_kind kind;
    size_t off, len; /* OP_TEXT: bytes of src */
    size_t var;      /* index in vars */
    size_t match;    /* OP_OPEN*: index of the OP_CLOSE */
    size_t pos;      /* where the tag was, for messages */
} op;

typedef struct oplist {
    op *v;
    size_t n, cap;
} oplist;

struct zq_template {
    char *name;
    char *src;
    oplist title;
    oplist body;
    char **vars; /* names used, owned */
    size_t nvars;
};

typedef struct parser {
    zq_template *t;
    const char *const *allowed;
    size_t nallowed;
    zq_err *err;
} parser;

static int push(oplist *l, op o)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        op *v = realloc(l->v, cap * sizeof(*v));

        if (v == NULL)
            return -ZQ_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = o;
    return 0;
}

static int line_of(const char *src, size_t pos)
{
    int line = 1;

    for (size_t i = 0; i < pos; i++)
        if (src[i] == '\n')
            line++;
    return line;
}

static int fail(parser *ps, size_t pos, const char *what, const char *name)
{
    return zq_err_set(ps->err, ZQ_EINVAL, "%s:%d: %s%s%s%s", ps->t->name, line_of(ps->t->src, pos),
                      what, name ? " {{" : "", name ? name : "", name ? "}}" : "");
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The index of name in the template's variables, adding it. */
static int var_index(parser *ps, const char *name, size_t *out)
{
    zq_template *t = ps->t;
    char **v;

    for (size_t i = 0; i < t->nvars; i++)
        if (strcmp(t->vars[i], name) == 0) {
            *out = i;
            return 0;
        }
    v = realloc(t->vars, (t->nvars + 1) * sizeof(*v));
    if (v == NULL)
        return -ZQ_ENOMEM;
    t->vars = v;
    t->vars[t->nvars] = strdup(name);
    if (t->vars[t->nvars] == NULL)
        return -ZQ_ENOMEM;
    *out = t->nvars++;
    return 0;
}

static bool allowed(const parser *ps, const char *name)
{
    for (size_t i = 0; i < ps->nallowed; i++)
        if (strcmp(ps->allowed[i], name) == 0)
            return true;
    return false;
}

static bool name_chars(const char *s, size_t n)
{
    if (n == 0 || n >= MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '.'))
            return false;
    return true;
}

/* Parses src[start, end) into l. Sections only when sections is set. */
static int parse_segment(parser *ps, size_t start, size_t end, oplist *l, bool sections)
{
    const char *src = ps->t->src;
    size_t stack[MAX_DEPTH], depth = 0, i = start;
    int rc;

    while (i < end) {
        const char *o = NULL, *c = NULL;
        size_t open, close, a, b, after, ls;
        char name[MAX_NAME];
        op_kind kind = OP_VAR;

        for (size_t j = i; j + 1 < end; j++) {
            if (src[j] == '{' && src[j + 1] == '{') {
                o = src + j;
                break;
            }
            if (src[j] == '}' && src[j + 1] == '}') {
                c = src + j;
                break;
            }
        }
        if (c != NULL)
            return fail(ps, (size_t)(c - src), "\"}}\" without \"{{\"", NULL);
        if (o == NULL) {
            if ((rc = push(l, (op){.kind = OP_TEXT, .off = i, .len = end - i})) < 0)
                return rc;
            break;
        }
        open = (size_t)(o - src);
        for (close = open + 2; close + 1 < end && src[close] != '\n'; close++)
            if (src[close] == '}' && src[close + 1] == '}')
                break;
        if (close + 1 >= end || src[close] != '}' || src[close + 1] != '}')
            return fail(ps, open, "unclosed \"{{\" (placeholders end with \"}}\" on the same line)",
                        NULL);
        a = open + 2;
        b = close;
        while (a < b && is_space(src[a]))
            a++;
        while (b > a && is_space(src[b - 1]))
            b--;
        if (a < b && (src[a] == '#' || src[a] == '^' || src[a] == '/')) {
            kind = src[a] == '#' ? OP_OPEN : src[a] == '^' ? OP_OPEN_INV : OP_CLOSE;
            a++;
            while (a < b && is_space(src[a]))
                a++;
        }
        if (!name_chars(src + a, b - a)) {
            /* The error shows at most 40 bytes of what was written. */
            size_t nl = close - open - 2 < 40 ? close - open - 2 : 40;

            memcpy(name, src + open + 2, nl);
            name[nl] = '\0';
            return fail(ps, open, "bad placeholder", name);
        }
        memcpy(name, src + a, b - a);
        name[b - a] = '\0';
        if (kind != OP_VAR && !sections)
            return fail(ps, open, "sections are not allowed in the title:", name);
        if (!allowed(ps, name))
            return fail(ps, open, "unknown placeholder", name);
        after = close + 2;
        /* A section tag alone on its line takes the line with it. */
        if (kind != OP_VAR) {
            ls = open;
            while (ls > i && is_space(src[ls - 1]))
                ls--;
            if (ls == start || src[ls - 1] == '\n') {
                size_t e = after;
                while (e < end && is_space(src[e]))
                    e++;
                if (e == end || src[e] == '\n') {
                    open = ls;
                    after = e < end ? e + 1 : e;
                }
            }
        }
        if (open > i && (rc = push(l, (op){.kind = OP_TEXT, .off = i, .len = open - i})) < 0)
            return rc;
        if (kind == OP_CLOSE) {
            size_t top;

            if (depth == 0 || strcmp(ps->t->vars[l->v[stack[depth - 1]].var], name) != 0)
                return fail(ps, (size_t)(o - src),
                            "closing tag does not match an open section:", name);
            top = stack[--depth];
            l->v[top].match = l->n;
            if ((rc = push(l, (op){.kind = OP_CLOSE})) < 0)
                return rc;
        } else {
            size_t vi;

            if ((rc = var_index(ps, name, &vi)) < 0)
                return rc;
            if (kind != OP_VAR) {
                if (depth == MAX_DEPTH)
                    return fail(ps, (size_t)(o - src), "sections nested too deep at", name);
                stack[depth++] = l->n;
            }
            if ((rc = push(l, (op){.kind = kind, .var = vi, .pos = (size_t)(o - src)})) < 0)
                return rc;
        }
        i = after;
    }
    if (depth > 0) {
        const op *top = &l->v[stack[depth - 1]];
        return fail(ps, top->pos, "section is not closed:", ps->t->vars[top->var]);
    }
    return 0;
}

int zq_template_parse(const char *name, const char *text, size_t len, const char *const *allow,
                      size_t nallowed, zq_template **out, zq_err *err)
{
    zq_template *t;
    parser ps;
    size_t eol, body;
    int rc;

    *out = NULL;
    if (len > ZQ_TEMPLATE_MAX_BYTES)
        return zq_err_set(err, ZQ_ETOOBIG, "%s: larger than %d bytes", name, ZQ_TEMPLATE_MAX_BYTES);
    if (!zq_utf8_valid(text, len))
        return zq_err_set(err, ZQ_EINVAL, "%s: not valid UTF-8 text", name);
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "%s: out of memory", name);
    t->name = strdup(name);
    t->src = malloc(len + 1);
    if (t->name == NULL || t->src == NULL) {
        zq_template_free(t);
        return zq_err_set(err, ZQ_ENOMEM, "%s: out of memory", name);
    }
    memcpy(t->src, text, len);
    t->src[len] = '\0';
    ps.t = t;
    ps.allowed = allow;
    ps.nallowed = nallowed;
    ps.err = err;
    if (len < 3 || strncmp(text, "# ", 2) != 0) {
        zq_template_free(t);
        return zq_err_set(err, ZQ_EINVAL, "%s:1: the first line must be \"# \" and the title",
                          name);
    }
    for (eol = 2; eol < len && text[eol] != '\n'; eol++)
        ;
    body = eol < len ? eol + 1 : len;
    {
        size_t te = eol;
        while (te > 2 && is_space(text[te - 1]))
            te--;
        if (te == 2) {
            zq_template_free(t);
            return zq_err_set(err, ZQ_EINVAL, "%s:1: the title is empty", name);
        }
        rc = parse_segment(&ps, 2, te, &t->title, false);
    }
    /* Blank lines between the title and the body are not part of it. */
    while (rc == 0 && body < len) {
        size_t j = body;
        while (j < len && is_space(text[j]))
            j++;
        if (j < len && text[j] == '\n')
            body = j + 1;
        else
            break;
    }
    if (rc == 0)
        rc = parse_segment(&ps, body, len, &t->body, true);
    if (rc < 0) {
        zq_template_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int zq_template_load(const char *path, const char *const *allow, size_t nallowed, zq_template **out,
                     zq_err *err)
{
    FILE *f;
    char *buf;
    size_t n;
    struct stat sb;
    int rc;

    *out = NULL;
    f = fopen(path, "rb");
    if (f == NULL)
        return zq_err_set(err, ZQ_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return zq_err_set(err, ZQ_EIO, "%s: not a regular file", path);
    }
    buf = malloc(ZQ_TEMPLATE_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        return zq_err_set(err, ZQ_ENOMEM, "%s: out of memory", path);
    }
    n = fread(buf, 1, ZQ_TEMPLATE_MAX_BYTES + 1, f);
    if (ferror(f)) {
        rc = zq_err_set(err, ZQ_EIO, "%s: cannot read", path);
    } else if (n > ZQ_TEMPLATE_MAX_BYTES) {
        rc = zq_err_set(err, ZQ_ETOOBIG, "%s: larger than %d bytes", path, ZQ_TEMPLATE_MAX_BYTES);
    } else {
        rc = zq_template_parse(path, buf, n, allow, nallowed, out, err);
    }
    free(buf);
    fclose(f);
    return rc;
}

void zq_template_free(zq_template *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nvars; i++)
        free(t->vars[i]);
    free(t->vars);
    free(t->title.v);
    free(t->body.v);
    free(t->src);
    free(t->name);
    free(t);
}

const char *zq_template_name(const zq_template *t)
{
    return t->name;
}

static const char *lookup(const zq_template *t, size_t var, const zq_tvar *vars, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (vars[i].name != NULL && strcmp(vars[i].name, t->vars[var]) == 0)
            return vars[i].value ? vars[i].value : "";
    return "";
}

static void render_ops(const zq_template *t, const oplist *l, const zq_tvar *vars, size_t n,
                       zq_buf *out)
{
    for (size_t i = 0; i < l->n; i++) {
        const op *o = &l->v[i];

        switch (o->kind) {
        case OP_TEXT: zq_buf_append(out, t->src + o->off, o->len); break;
        case OP_VAR: zq_buf_puts(out, lookup(t, o->var, vars, n)); break;
        case OP_OPEN:
        case OP_OPEN_INV: {
            bool set = *lookup(t, o->var, vars, n) != '\0';

            if (set != (o->kind == OP_OPEN))
                i = o->match;
            break;
        }
        case OP_CLOSE: break;
        }
    }
}

int zq_template_render(const zq_template *t, const zq_tvar *vars, size_t nvars, zq_buf *title,
                       zq_buf *body)
{
    size_t start = body->len;

    render_ops(t, &t->title, vars, nvars, title);
    render_ops(t, &t->body, vars, nvars, body);
    /* No trailing blank lines. */
    while (body->len > start &&
           (body->data[body->len - 1] == '\n' || is_space(body->data[body->len - 1])))
        body->data[--body->len] = '\0';
    return title->oom || body->oom ? -ZQ_ENOMEM : 0;
}

const char *const zq_template_case_vars[] = {"case.id",      "case.type",         "case.region",
                                             "case.status",  "case.status_label", "case.duplicate",
                                             "case.message", "case.deadline"};
const size_t zq_template_case_nvars = ZQ_ARRAY_LEN(zq_template_case_vars);

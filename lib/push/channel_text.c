/* The text and request helpers every outbound platform shares: the
 * markdown subset converted, the text weighed and split on line or
 * character boundaries at the platform's limit, the JSON bodies set, and
 * the checks of what goes into a request or a target's address. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "channel_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"

#define MOBILE_MAX 20 /* characters of one mobile */
#define TAG_DEPTH 8   /* Telegram tags open at once that a split carries over */
#define CUT_NOTICE "\n……（内容过长，已截断）"

/* Copies s into b without '\r' and other control characters; '\n' and
 * '\t' are kept, or become spaces with oneline. s is valid UTF-8. */
int zq_ch_norm_text(zq_buf *b, const char *s, bool oneline)
{
    size_t i, start = 0, len = strlen(s);

    for (i = 0; i <= len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (i < len && (c >= 0x20 || ((c == '\n' || c == '\t') && !oneline)) && c != 0x7f)
            continue;
        if (zq_buf_append(b, s + start, i - start) < 0)
            return -ZQ_ENOMEM;
        if (i < len && (c == '\n' || c == '\t') && zq_buf_append(b, " ", 1) < 0)
            return -ZQ_ENOMEM;
        start = i + 1;
    }
    return 0;
}

/* Appends s escaped for mode: & < > become entities for HTML and Lark
 * (attr: '"' too, for an attribute value). */
int zq_ch_md_escape(zq_buf *b, md_mode mode, const char *s, size_t n, bool attr)
{
    size_t i, start = 0;
    const char *e;

    if (mode == MD_PLAIN)
        return zq_buf_append(b, s, n);
    for (i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = attr ? "&quot;" : NULL; break;
        default: e = NULL; break;
        }
        if (e == NULL)
            continue;
        if (zq_buf_append(b, s + start, i - start) < 0 || zq_buf_puts(b, e) < 0)
            return -ZQ_ENOMEM;
        start = i + 1;
    }
    return zq_buf_append(b, s + start, n - start);
}

/* When s (n bytes, within one line) starts with "[text](url)" and url is
 * an http(s) address without spaces, returns its length and the spans;
 * else 0. */
static size_t md_link_at(const char *s, size_t n, size_t *tlen, const char **url, size_t *ulen)
{
    const char *rb, *u, *p, *end = s + n;

    if (n < 4 || s[0] != '[')
        return 0;
    rb = memchr(s + 1, ']', n - 1);
    if (rb == NULL || rb == s + 1 || rb + 1 >= end || rb[1] != '(')
        return 0;
    u = rb + 2;
    for (p = u; p < end && *p != ')'; p++)
        if ((unsigned char)*p <= 0x20 || *p == '(' || *p == '<' || *p == '>' || *p == '"')
            return 0;
    if (p == end || p == u)
        return 0;
    if (!((size_t)(p - u) > 7 && strncasecmp(u, "http://", 7) == 0) &&
        !((size_t)(p - u) > 8 && strncasecmp(u, "https://", 8) == 0))
        return 0;
    *tlen = (size_t)(rb - (s + 1));
    *url = u;
    *ulen = (size_t)(p - u);
    return (size_t)(p + 1 - s);
}

/* Converts the inline markup of one line: **bold** and [text](url). */
static int md_inline(zq_buf *b, md_mode mode, const char *s, size_t n, bool in_bold)
{
    static const char *const bold_open[] = {"<b>", "**", ""};
    static const char *const bold_close[] = {"</b>", "**", ""};
    size_t i = 0, start = 0, tlen, ulen, adv;
    const char *url, *close;

    while (i < n) {
        if (!in_bold && s[i] == '*' && i + 1 < n && s[i + 1] == '*') {
            close = memmem(s + i + 2, n - i - 2, "**", 2);
            if (close != NULL && close > s + i + 2) {
                if (zq_ch_md_escape(b, mode, s + start, i - start, false) < 0 ||
                    zq_buf_puts(b, bold_open[mode]) < 0 ||
                    md_inline(b, mode, s + i + 2, (size_t)(close - (s + i + 2)), true) < 0 ||
                    zq_buf_puts(b, bold_close[mode]) < 0)
                    return -ZQ_ENOMEM;
                i = (size_t)(close - s) + 2;
                start = i;
                continue;
            }
        }
        if (s[i] == '[' && (adv = md_link_at(s + i, n - i, &tlen, &url, &ulen)) > 0) {
            if (zq_ch_md_escape(b, mode, s + start, i - start, false) < 0)
                return -ZQ_ENOMEM;
            switch (mode) {
            case MD_HTML:
                if (zq_buf_puts(b, "<a href=\"") < 0 ||
                    zq_ch_md_escape(b, mode, url, ulen, true) < 0 || zq_buf_puts(b, "\">") < 0 ||
                    zq_ch_md_escape(b, mode, s + i + 1, tlen, false) < 0 ||
                    zq_buf_puts(b, "</a>") < 0)
                    return -ZQ_ENOMEM;
                break;
            case MD_LARK:
                if (zq_buf_puts(b, "[") < 0 ||
                    zq_ch_md_escape(b, mode, s + i + 1, tlen, false) < 0 ||
                    zq_buf_puts(b, "](") < 0 || zq_buf_append(b, url, ulen) < 0 ||
                    zq_buf_puts(b, ")") < 0)
                    return -ZQ_ENOMEM;
                break;
            case MD_PLAIN:
                if (zq_buf_append(b, s + i + 1, tlen) < 0 || zq_buf_puts(b, " (") < 0 ||
                    zq_buf_append(b, url, ulen) < 0 || zq_buf_puts(b, ")") < 0)
                    return -ZQ_ENOMEM;
                break;
            }
            i += adv;
            start = i;
            continue;
        }
        i++;
    }
    return zq_ch_md_escape(b, mode, s + start, n - start, false);
}

/* Converts the markdown subset line by line: "- " / "* " items become
 * bullets (kept as "- " in plain text), then the inline markup. */
int zq_ch_md_convert(zq_buf *b, md_mode mode, const char *s, size_t n)
{
    const char *p = s, *end = s + n, *nl, *le;
    size_t indent;

    for (;;) {
        nl = memchr(p, '\n', (size_t)(end - p));
        le = nl != NULL ? nl : end;
        for (indent = 0; p + indent < le && p[indent] == ' '; indent++)
            ;
        if (le - (p + indent) >= 2 && (p[indent] == '-' || p[indent] == '*') &&
            p[indent + 1] == ' ') {
            if (zq_buf_append(b, p, indent) < 0 ||
                zq_buf_puts(b, mode == MD_PLAIN ? "- " : "• ") < 0)
                return -ZQ_ENOMEM;
            p += indent + 2;
        }
        if (md_inline(b, mode, p, (size_t)(le - p), false) < 0)
            return -ZQ_ENOMEM;
        if (nl == NULL)
            break;
        if (zq_buf_append(b, "\n", 1) < 0)
            return -ZQ_ENOMEM;
        p = nl + 1;
    }
    return 0;
}

/* The indivisible piece at s (len > 0 bytes left, valid UTF-8): one
 * character, or with markup an entity "&name;" or (Telegram) a tag
 * "<...>". Sets *w to its weight and *tag to 1 (opening tag), -1
 * (closing tag) or 0. Returns its length in bytes. */
static size_t atom(weigh_mode m, const char *s, size_t len, size_t *w, int *tag)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4, i;
    const char *gt;

    *tag = 0;
    if (n > len)
        n = len;
    if (m != W_BYTES && c == '&') {
        for (i = 1; i < len && i < 12; i++) {
            if (s[i] == ';') {
                if (i > 1) {
                    *w = m == W_TELEGRAM ? 1 : i + 1;
                    return i + 1;
                }
                break;
            }
            if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                  (s[i] >= '0' && s[i] <= '9') || s[i] == '#'))
                break;
        }
    }
    if (m == W_TELEGRAM && c == '<' && (gt = memchr(s, '>', len)) != NULL) {
        *tag = len > 1 && s[1] == '/' ? -1 : 1;
        *w = 0;
        return (size_t)(gt - s) + 1;
    }
    switch (m) {
    case W_BYTES: *w = n; break;
    case W_TELEGRAM: *w = n == 4 ? 2 : 1; break;
    case W_JSON:
        if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
            *w = 2;
        else if (c < 0x20)
            *w = 6;
        else
            *w = n;
        break;
    case W_JSON2:
        /* '"' becomes \" then \\\" (4 bytes), a newline \n then \\n (3),
         * 0x1f \u001f then \\u001f (7). */
        if (c == '"' || c == '\\')
            *w = 4;
        else if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
            *w = 3;
        else if (c < 0x20)
            *w = 7;
        else
            *w = n;
        break;
    }
    return n;
}

/* The weight of a whole string. */
size_t zq_ch_weigh(weigh_mode m, const char *s, size_t len)
{
    size_t i = 0, w, total = 0;
    int tag;

    while (i < len) {
        i += atom(m, s + i, len - i, &w, &tag);
        total += w;
    }
    return total;
}

/* Telegram tags open at a position: offsets and lengths of the opening
 * tags in the text, outermost first. */
typedef struct tagstack {
    size_t off[TAG_DEPTH];
    size_t len[TAG_DEPTH];
    int n;
    int lost; /* opened beyond TAG_DEPTH: closers matched to them */
} tagstack;

static void tag_step(tagstack *st, int tag, size_t off, size_t len)
{
    if (tag > 0) {
        if (st->n < TAG_DEPTH) {
            st->off[st->n] = off;
            st->len[st->n] = len;
            st->n++;
        } else {
            st->lost++;
        }
    } else if (tag < 0) {
        if (st->lost > 0)
            st->lost--;
        else if (st->n > 0)
            st->n--;
    }
}

/* Finds where the part starting at pos (with tags st open) ends: all of
 * the rest when it fits budget, else after the last line break that fits,
 * else after the last character that fits (never after an opening tag).
 * Sets *end and the tags open there. */
static void scan(weigh_mode m, const char *s, size_t len, size_t pos, const tagstack *st0,
                 size_t budget, size_t *end, tagstack *st_end)
{
    tagstack st = *st0, st_line = *st0;
    size_t i = pos, w = 0, aw, n, line_end = 0;
    int tag;

    while (i < len) {
        n = atom(m, s + i, len - i, &aw, &tag);
        if (w + aw > budget)
            break;
        w += aw;
        tag_step(&st, tag, i, n);
        i += n;
        if (n == 1 && s[i - 1] == '\n') {
            line_end = i;
            st_line = st;
        }
    }
    if (i >= len) {
        *end = len;
        *st_end = st;
        return;
    }
    if (line_end > pos) {
        *end = line_end;
        *st_end = st_line;
        return;
    }
    /* Do not end a part on an opening tag: it would be an empty element. */
    while (st.n > st0->n && st.off[st.n - 1] + st.len[st.n - 1] == i) {
        i = st.off[st.n - 1];
        st.n--;
    }
    if (i == pos) {
        /* Always make progress (budget >= MIN_BUDGET exceeds any atom). */
        n = atom(m, s + i, len - i, &aw, &tag);
        tag_step(&st, tag, i, n);
        i += n;
    }
    *end = i;
    *st_end = st;
}

/* Appends "</name>" for each tag open in st, innermost first. */
static int close_tags(zq_buf *b, const char *s, const tagstack *st)
{
    int j;
    size_t k;

    for (j = st->n - 1; j >= 0; j--) {
        const char *t = s + st->off[j] + 1;

        for (k = 0; k + 1 < st->len[j] && t[k] != ' ' && t[k] != '>'; k++)
            ;
        if (zq_buf_puts(b, "</") < 0 || zq_buf_append(b, t, k) < 0 || zq_buf_puts(b, ">") < 0)
            return -ZQ_ENOMEM;
    }
    return 0;
}

/* Splits s into at most ZQ_CHANNEL_MAX_PARTS parts of at most budget
 * each; a text that needs more is cut and its last part ends with
 * CUT_NOTICE. Telegram parts close the tags open at their end and the
 * next part opens them again. */
int zq_ch_split(weigh_mode m, const char *s, size_t len, size_t budget, zq_buf *parts,
                size_t *nparts, bool *truncated)
{
    tagstack st = {0}, st_end;
    size_t pos = 0, end, notice_w = zq_ch_weigh(m, CUT_NOTICE, strlen(CUT_NOTICE));
    bool cut;
    int j;
    zq_buf *b;

    *nparts = 0;
    *truncated = false;
    while (pos < len) {
        scan(m, s, len, pos, &st, budget, &end, &st_end);
        cut = *nparts == ZQ_CHANNEL_MAX_PARTS - 1 && end < len;
        if (cut)
            scan(m, s, len, pos, &st, budget - notice_w, &end, &st_end);
        b = &parts[(*nparts)++];
        for (j = 0; j < st.n; j++)
            if (zq_buf_append(b, s + st.off[j], st.len[j]) < 0)
                return -ZQ_ENOMEM;
        if (zq_buf_append(b, s + pos, end - pos) < 0 || close_tags(b, s, &st_end) < 0)
            return -ZQ_ENOMEM;
        if (cut) {
            if (zq_buf_puts(b, CUT_NOTICE) < 0)
                return -ZQ_ENOMEM;
            *truncated = true;
            break;
        }
        pos = end;
        st = st_end;
    }
    return 0;
}

bool zq_ch_mobile_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > MOBILE_MAX)
        return false;
    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-'))
            return false;
    return true;
}

/* Printable ASCII without spaces (what may go into a URL or a header). */
bool zq_ch_token_ok(const char *s, bool url)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c >= 0x7f)
            return false;
        if (!url && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      c == ':' || c == '_' || c == '-'))
            return false;
    }
    return i > 0;
}

/* 1..max bytes of A-Z a-z 0-9 and the characters of extra. */
bool zq_ch_id_chars(const char *s, size_t max, const char *extra)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z') || strchr(extra, s[i]) != NULL))
            return false;
    return i > 0 && i <= max;
}

/* A new JSON string from n bytes of valid UTF-8, or NULL. */
json_t *zq_ch_jstr(const char *s, size_t n)
{
    return json_stringn(s, n);
}

/* Serialises root (compact, UTF-8 kept) into r's body; takes root. */
int zq_ch_set_body(zq_outreq *r, json_t *root)
{
    char *s;
    int rc = 0;

    if (root == NULL)
        return -ZQ_ENOMEM;
    s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (s == NULL)
        return -ZQ_ENOMEM;
    zq_buf_reset(&r->body);
    if (zq_buf_puts(&r->body, s) < 0)
        rc = -ZQ_ENOMEM;
    free(s);
    r->content_type = "application/json; charset=utf-8";
    return rc;
}

int zq_ch_set_url(zq_ch_render *rd, zq_outreq *r, const zq_buf *u)
{
    if (u->oom)
        return zq_err_set(rd->err, ZQ_ENOMEM, "out of memory");
    if (u->len >= sizeof(r->url))
        return zq_err_set(rd->err, ZQ_ETOOBIG, "target %.48s: URL longer than %zu bytes", rd->t->id,
                          sizeof(r->url) - 1);
    memcpy(r->url, u->data, u->len + 1);
    return 0;
}

/* "（i/n）" when the message was split, else "". */
int zq_ch_label(char *out, size_t outsz, size_t i, size_t n)
{
    out[0] = '\0';
    if (n > 1)
        return zq_fmt(out, outsz, ZQ_CHANNEL_LABEL_FMT, i + 1, n);
    return 0;
}

/* part i with its label line in front. */
int zq_ch_labelled(zq_buf *b, const zq_ch_render *rd, size_t i)
{
    char lab[48];

    if (zq_ch_label(lab, sizeof(lab), i, rd->nparts) < 0)
        return -ZQ_ETOOBIG;
    if (lab[0] != '\0' && (zq_buf_puts(b, lab) < 0 || zq_buf_append(b, "\n", 1) < 0))
        return -ZQ_ENOMEM;
    return zq_buf_append(b, rd->parts[i].data ? rd->parts[i].data : "", rd->parts[i].len);
}

json_t *zq_ch_mobiles_json(const zq_message *m, bool with_all)
{
    json_t *a = json_array();
    size_t i;

    if (a == NULL)
        return NULL;
    for (i = 0; i < m->nmentions; i++)
        if (json_array_append_new(a, json_string(m->mention_mobiles[i])) < 0)
            goto fail;
    if (with_all && m->mention_all && json_array_append_new(a, json_string("@all")) < 0)
        goto fail;
    return a;
fail:
    json_decref(a);
    return NULL;
}

int zq_ch_compose_md(const zq_ch_render *rd, const zq_buf *title, const zq_buf *body,
                     zq_ch_text *tx)
{
    (void)rd;
    if (title->len > 0)
        zq_buf_printf(&tx->full, "**%s**\n\n", title->data);
    zq_buf_append(&tx->full, body->data ? body->data : "", body->len);
    tx->wm = W_BYTES;
    tx->label_in_text = true;
    return tx->full.oom ? -ZQ_ENOMEM : 0;
}

/* ---- target addresses ---- */

bool zq_ch_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

bool zq_ch_token_chars(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && strchr(extra, s[i]) == NULL)
            return false;
    return true;
}

bool zq_ch_has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* Copies [v, end) into out. Returns 0, or -1 when it does not fit. */
static int copy_span(const char *v, const char *end, char *out, size_t outsz)
{
    if ((size_t)(end - v) >= outsz)
        return -1;
    memcpy(out, v, (size_t)(end - v));
    out[end - v] = '\0';
    return 0;
}

/* When in is a URL holding "name=VALUE", copies VALUE; else copies in. */
static int take_query(const char *in, const char *name, char *out, size_t outsz)
{
    const char *p = in, *v = NULL, *end;
    size_t nlen = strlen(name);

    if (strncmp(in, "http://", 7) == 0 || strncmp(in, "https://", 8) == 0) {
        while ((p = strstr(p, name)) != NULL) {
            if ((p[-1] == '?' || p[-1] == '&') && p[nlen] == '=') {
                v = p + nlen + 1;
                break;
            }
            p += nlen;
        }
        if (v == NULL)
            return -1;
        end = v + strcspn(v, "&#");
    } else {
        v = in;
        end = in + strlen(in);
    }
    return copy_span(v, end, out, outsz);
}

/* When in is a URL, copies the path segment after marker (up to the next
 * '/', '?' or '#'); else copies in. */
int zq_ch_take_segment(const char *in, const char *marker, char *out, size_t outsz)
{
    const char *v = in, *end;

    if (strncmp(in, "http://", 7) == 0 || strncmp(in, "https://", 8) == 0) {
        v = strstr(in, marker);
        if (v == NULL)
            return -1;
        v += strlen(marker);
        end = v + strcspn(v, "/?#");
    } else {
        end = in + strlen(in);
    }
    return copy_span(v, end, out, outsz);
}

bool zq_ch_http_url(const char *s)
{
    size_t n = strlen(s);
    const char *rest = strncmp(s, "https://", 8) == 0  ? s + 8
                       : strncmp(s, "http://", 7) == 0 ? s + 7
                                                       : NULL;

    return rest != NULL && *rest != '\0' && *rest != '/' && zq_ch_printable(s, n);
}

int zq_ch_robot_key(const char *in, const char *name, bool query, char *out, size_t outsz)
{
    size_t n;

    if ((query ? take_query(in, name, out, outsz) : zq_ch_take_segment(in, name, out, outsz)) < 0)
        return -1;
    n = strlen(out);
    return n >= 8 && n <= 128 && zq_ch_token_chars(out, n, "-_") ? 0 : -1;
}

json_t *zq_ch_built(json_t *root, int bad)
{
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

int zq_ch_titled(zq_buf *b, const zq_ch_render *rd, size_t i)
{
    char lab[48];

    if (zq_ch_label(lab, sizeof(lab), i, rd->nparts) < 0)
        return -ZQ_ETOOBIG;
    zq_buf_puts(b, rd->title[0] != '\0' ? rd->title : ZQ_CHANNEL_DEFAULT_TITLE);

    zq_buf_puts(b, lab);
    return b->oom ? -ZQ_ENOMEM : 0;
}

int zq_ch_render_parts(zq_ch_render *rd, const zq_buf *url, zq_outreq_auth auth, zq_ch_part_fn part)
{
    zq_buf a = {0}, b = {0};
    size_t i;
    int rc = 0;

    for (i = 0; i < rd->nreqs && rc == 0; i++) {
        rc = zq_ch_set_url(rd, &rd->reqs[i], url);
        rd->reqs[i].auth = auth;
    }
    for (i = 0; i < rd->nparts && rc == 0; i++) {
        zq_buf_reset(&a);
        zq_buf_reset(&b);
        rc = zq_ch_set_body(&rd->reqs[i], part(rd, i, &a, &b));
    }
    zq_buf_free(&a);
    zq_buf_free(&b);
    return rc;
}

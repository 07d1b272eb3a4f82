/* Renders one message into each platform's native request: the markdown
 * subset converted, mentions placed, the text split on line or character
 * boundaries at the platform's limit, the JSON built with jansson and the
 * request signed. specs/channels.md has the wire formats of the robots.
 *
 * The app message APIs (wecom-app, dingtalk-app, feishu-chat) are NOT in
 * specs/channels.md: their URLs, bodies and limits below come from the
 * vendors' public documentation (WeCom 发送应用消息, DingTalk 机器人发送群聊
 * 消息 / 批量发送人与机器人会话中机器人消息, Feishu 发送消息) and are kept
 * behind configuration (base URLs, [wecom] agent_id, [dingtalk]
 * robot_code) so that a change on their side is a setting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"

#define TITLE_MAX 200   /* bytes of the title kept; longer ones end in "…" */
#define MENTIONS_MAX 50 /* mobiles per message */
#define MOBILE_MAX 20   /* characters of one mobile */
#define MIN_BUDGET 64   /* a limit leaving less than this per part is refused */
#define TAG_DEPTH 8     /* Telegram tags open at once that a split carries over */
#define DEFAULT_TITLE "通知"
#define CUT_NOTICE "\n……（内容过长，已截断）"
#define LABEL_FMT "（%zu/%zu）"

static const char *const channel_names[ZQ_CH__COUNT] = {
    [ZQ_CH_WECOM] = "wecom-robot",         [ZQ_CH_DINGTALK] = "dingtalk-robot",
    [ZQ_CH_FEISHU] = "feishu-bot",         [ZQ_CH_TELEGRAM] = "telegram",
    [ZQ_CH_GENERIC] = "generic",           [ZQ_CH_WECOM_APP] = "wecom-app",
    [ZQ_CH_DINGTALK_APP] = "dingtalk-app", [ZQ_CH_FEISHU_CHAT] = "feishu-chat",
};

static const char *const default_base[ZQ_CH__COUNT] = {
    [ZQ_CH_WECOM] = "https://qyapi.weixin.qq.com",
    [ZQ_CH_DINGTALK] = "https://oapi.dingtalk.com",
    [ZQ_CH_FEISHU] = "https://open.feishu.cn",
    [ZQ_CH_TELEGRAM] = "https://api.telegram.org",
    [ZQ_CH_GENERIC] = "",
    [ZQ_CH_WECOM_APP] = "https://qyapi.weixin.qq.com",
    /* The new-style DingTalk API lives on another host than the robots. */
    [ZQ_CH_DINGTALK_APP] = "https://api.dingtalk.com",
    [ZQ_CH_FEISHU_CHAT] = "https://open.feishu.cn",
};

static const zq_channel_limits default_limits[ZQ_CH__COUNT] = {
    [ZQ_CH_WECOM] = {4096, 20, 0},
    [ZQ_CH_DINGTALK] = {20000, 20, 0},
    [ZQ_CH_FEISHU] = {20000, 100, 5},
    [ZQ_CH_TELEGRAM] = {4096, 20, 0},
    [ZQ_CH_GENERIC] = {65536, 0, 0},
    /* Vendor documentation, not specs/channels.md: WeCom app markdown
     * 2048 bytes; DingTalk's app API states no limit (the robot's 20000
     * is used); Feishu cards 30 KB of request body. */
    [ZQ_CH_WECOM_APP] = {2048, 20, 0},
    [ZQ_CH_DINGTALK_APP] = {20000, 20, 0},
    [ZQ_CH_FEISHU_CHAT] = {30000, 100, 5},
};

const char *zq_channel_name(zq_channel_kind k)
{
    if ((int)k < 0 || k >= ZQ_CH__COUNT)
        return "unknown";
    return channel_names[k];
}

int zq_channel_parse(const char *name, zq_channel_kind *out)
{
    int i;

    if (name == NULL)
        return -ZQ_EINVAL;
    for (i = 0; i < ZQ_CH__COUNT; i++) {
        if (strcmp(name, channel_names[i]) == 0) {
            if (out != NULL)
                *out = (zq_channel_kind)i;
            return 0;
        }
    }
    return -ZQ_EINVAL;
}

bool zq_channel_is_app(zq_channel_kind k)
{
    return k == ZQ_CH_WECOM_APP || k == ZQ_CH_DINGTALK_APP || k == ZQ_CH_FEISHU_CHAT;
}

void zq_channel_config_defaults(zq_channel_config *cc)
{
    int i;

    memset(cc, 0, sizeof(*cc));
    for (i = 0; i < ZQ_CH__COUNT; i++) {
        snprintf(cc->base_url[i], sizeof(cc->base_url[i]), "%s", default_base[i]);
        cc->limits[i] = default_limits[i];
    }
}

void zq_outreq_free_all(zq_outreq *reqs, size_t n)
{
    size_t i;

    if (reqs == NULL)
        return;
    for (i = 0; i < n; i++)
        zq_buf_free(&reqs[i].body);
    free(reqs);
}

/* ---- text: normalising, markdown subset, weights, splitting ---- */

/* Copies s into b without '\r' and other control characters; '\n' and
 * '\t' are kept, or become spaces with oneline. s is valid UTF-8. */
static int norm_text(zq_buf *b, const char *s, bool oneline)
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

typedef enum md_mode {
    MD_HTML, /* Telegram parse_mode HTML */
    MD_LARK, /* Feishu card markdown */
    MD_PLAIN,
} md_mode;

/* Appends s escaped for mode: & < > become entities for HTML and Lark
 * (attr: '"' too, for an attribute value). */
static int md_escape(zq_buf *b, md_mode mode, const char *s, size_t n, bool attr)
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
                if (md_escape(b, mode, s + start, i - start, false) < 0 ||
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
            if (md_escape(b, mode, s + start, i - start, false) < 0)
                return -ZQ_ENOMEM;
            switch (mode) {
            case MD_HTML:
                if (zq_buf_puts(b, "<a href=\"") < 0 || md_escape(b, mode, url, ulen, true) < 0 ||
                    zq_buf_puts(b, "\">") < 0 || md_escape(b, mode, s + i + 1, tlen, false) < 0 ||
                    zq_buf_puts(b, "</a>") < 0)
                    return -ZQ_ENOMEM;
                break;
            case MD_LARK:
                if (zq_buf_puts(b, "[") < 0 || md_escape(b, mode, s + i + 1, tlen, false) < 0 ||
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
    return md_escape(b, mode, s + start, n - start, false);
}

/* Converts the markdown subset line by line: "- " / "* " items become
 * bullets (kept as "- " in plain text), then the inline markup. */
static int md_convert(zq_buf *b, md_mode mode, const char *s, size_t n)
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

/* How a part's size is measured against the platform's limit. */
typedef enum weigh_mode {
    W_BYTES,    /* UTF-8 bytes (WeCom, DingTalk, generic) */
    W_JSON,     /* bytes once JSON-escaped (Feishu: the limit is on the body) */
    W_JSON2,    /* bytes once JSON-escaped twice (a Feishu card inside "content") */
    W_TELEGRAM, /* UTF-16 units of the visible text: tags 0, an entity 1 */
} weigh_mode;

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
static size_t weigh(weigh_mode m, const char *s, size_t len)
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
static int split_text(weigh_mode m, const char *s, size_t len, size_t budget, zq_buf *parts,
                      size_t *nparts, bool *truncated)
{
    tagstack st = {0}, st_end;
    size_t pos = 0, end, notice_w = weigh(m, CUT_NOTICE, strlen(CUT_NOTICE));
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

/* ---- checks on the input ---- */

static bool mobile_ok(const char *s)
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
static bool token_ok(const char *s, bool url)
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
static bool id_chars(const char *s, size_t max, const char *extra)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z') || strchr(extra, s[i]) != NULL))
            return false;
    return i > 0 && i <= max;
}

/* The app kinds: the address names a chat or a person of the app, and the
 * app's identity comes from the configuration. */
static int check_app(const zq_channel_config *cc, const zq_target *t, zq_err *err)
{
    switch (t->kind) {
    case ZQ_CH_WECOM_APP:
        /* WeCom userids: letters, digits, "_-.@", at most 64 bytes. */
        if (!id_chars(t->address, 64, "_-.@"))
            return zq_err_set(err, ZQ_EINVAL, "target %.48s: bad wecom userid", t->id);
        if (cc->wecom_agent_id <= 0)
            return zq_err_set(err, ZQ_EINVAL, "wecom-app: [wecom] agent_id is not configured");
        break;
    case ZQ_CH_DINGTALK_APP:
        /* Printable ASCII ids: they only ever go into the JSON body. */
        if (!((strncmp(t->address, "group:", 6) == 0 && token_ok(t->address + 6, true) &&
               strpbrk(t->address + 6, "\"\\") == NULL && strlen(t->address + 6) <= 256) ||
              (strncmp(t->address, "user:", 5) == 0 && token_ok(t->address + 5, true) &&
               strpbrk(t->address + 5, "\"\\") == NULL && strlen(t->address + 5) <= 64)))
            return zq_err_set(err, ZQ_EINVAL,
                              "target %.48s: dingtalk-app address is not group:<id> or user:<id>",
                              t->id);
        if (cc->dingtalk_robot_code[0] == '\0')
            return zq_err_set(err, ZQ_EINVAL,
                              "dingtalk-app: [dingtalk] robot code is not configured");
        break;
    case ZQ_CH_FEISHU_CHAT:
        if (!id_chars(t->address, 128, "_-"))
            return zq_err_set(err, ZQ_EINVAL, "target %.48s: bad feishu chat_id", t->id);
        break;
    default: break;
    }
    return 0;
}

static int check_input(const zq_channel_config *cc, const zq_target *t, const zq_message *m,
                       zq_err *err)
{
    size_t i;
    int rc;

    if ((int)t->kind < 0 || t->kind >= ZQ_CH__COUNT)
        return zq_err_set(err, ZQ_EINVAL, "unknown channel %d", (int)t->kind);
    if (memchr(t->address, '\0', sizeof(t->address)) == NULL ||
        memchr(t->secret, '\0', sizeof(t->secret)) == NULL ||
        memchr(t->chat_id, '\0', sizeof(t->chat_id)) == NULL)
        return zq_err_set(err, ZQ_EINVAL, "target fields not terminated");
    if (t->address[0] == '\0')
        return zq_err_set(err, ZQ_EINVAL, "target %.48s has no address", t->id);
    if (!zq_utf8_valid(t->secret, strlen(t->secret)))
        return zq_err_set(err, ZQ_EINVAL, "target %.48s: secret is not UTF-8", t->id);
    switch (t->kind) {
    case ZQ_CH_TELEGRAM:
        if (!token_ok(t->address, false))
            return zq_err_set(err, ZQ_EINVAL, "target %.48s: bad telegram bot token", t->id);
        if (t->chat_id[0] == '\0' || !token_ok(t->chat_id, true) ||
            !zq_utf8_valid(t->chat_id, strlen(t->chat_id)))
            return zq_err_set(err, ZQ_EINVAL, "target %.48s: bad telegram chat id", t->id);
        break;
    case ZQ_CH_GENERIC:
        if (!token_ok(t->address, true) || (strncasecmp(t->address, "http://", 7) != 0 &&
                                            strncasecmp(t->address, "https://", 8) != 0))
            return zq_err_set(err, ZQ_EINVAL, "target %.48s: generic address is not an http(s) URL",
                              t->id);
        if (!zq_utf8_valid(t->chat_id, strlen(t->chat_id)))
            return zq_err_set(err, ZQ_EINVAL, "target %.48s: generic chat is not UTF-8", t->id);
        break;
    case ZQ_CH_WECOM_APP:
    case ZQ_CH_DINGTALK_APP:
    case ZQ_CH_FEISHU_CHAT:
        if ((rc = check_app(cc, t, err)) < 0)
            return rc;
        break;
    default:
        if (!zq_utf8_valid(t->address, strlen(t->address)))
            return zq_err_set(err, ZQ_EINVAL, "target %.48s: address is not UTF-8", t->id);
        break;
    }
    if ((m->title != NULL && !zq_utf8_valid(m->title, strlen(m->title))) ||
        (m->body != NULL && !zq_utf8_valid(m->body, strlen(m->body))))
        return zq_err_set(err, ZQ_EINVAL, "message is not UTF-8");
    if ((m->title == NULL || m->title[0] == '\0') && (m->body == NULL || m->body[0] == '\0'))
        return zq_err_set(err, ZQ_EINVAL, "message has neither title nor body");
    if (m->nmentions > MENTIONS_MAX)
        return zq_err_set(err, ZQ_ETOOBIG, "more than %d mentions", MENTIONS_MAX);
    if (m->nmentions > 0 && m->mention_mobiles == NULL)
        return zq_err_set(err, ZQ_EINVAL, "mentions missing");
    for (i = 0; i < m->nmentions; i++)
        if (m->mention_mobiles[i] == NULL || !mobile_ok(m->mention_mobiles[i]))
            return zq_err_set(err, ZQ_EINVAL, "mention %zu is not a mobile number", i + 1);
    return 0;
}

/* ---- requests ---- */

/* What the platform renderers share: the parts and how to label them. */
typedef struct render {
    const zq_channel_config *cc;
    const zq_target *t;
    const zq_message *m;
    int64_t now_ms;
    const char *title; /* normalised, cut; may be "" */
    zq_buf *parts;
    size_t nparts;
    zq_outreq *reqs;
    size_t nreqs;
    zq_err *err;
} render;

/* A new JSON string from n bytes of valid UTF-8, or NULL. */
static json_t *jstr(const char *s, size_t n)
{
    return json_stringn(s, n);
}

/* Serialises root (compact, UTF-8 kept) into r's body; takes root. */
static int set_body(zq_outreq *r, json_t *root)
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

static int set_url(render *rd, zq_outreq *r, const zq_buf *u)
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
static void label(char *out, size_t outsz, size_t i, size_t n)
{
    if (n > 1)
        snprintf(out, outsz, LABEL_FMT, i + 1, n);
    else
        out[0] = '\0';
}

/* part i with its label line in front. */
static int labelled(zq_buf *b, const render *rd, size_t i)
{
    char lab[48];

    label(lab, sizeof(lab), i, rd->nparts);
    if (lab[0] != '\0' && (zq_buf_puts(b, lab) < 0 || zq_buf_append(b, "\n", 1) < 0))
        return -ZQ_ENOMEM;
    return zq_buf_append(b, rd->parts[i].data ? rd->parts[i].data : "", rd->parts[i].len);
}

static json_t *mobiles_json(const zq_message *m, bool with_all)
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

static int render_wecom(render *rd)
{
    zq_buf url = {0}, c = {0};
    json_t *root, *md;
    size_t i;
    int rc = 0, bad;

    zq_buf_puts(&url, rd->cc->base_url[ZQ_CH_WECOM]);
    zq_buf_puts(&url, "/cgi-bin/webhook/send?key=");
    zq_url_encode(&url, rd->t->address);
    for (i = 0; i < rd->nreqs && rc == 0; i++)
        rc = set_url(rd, &rd->reqs[i], &url);
    for (i = 0; i < rd->nparts && rc == 0; i++) {
        zq_buf_reset(&c);
        if (labelled(&c, rd, i) < 0) {
            rc = -ZQ_ENOMEM;
            break;
        }
        root = json_object();
        md = json_object();
        bad = root == NULL || md == NULL;
        bad |= json_object_set_new(md, "content", jstr(c.data, c.len));
        bad |= json_object_set_new(root, "msgtype", json_string("markdown"));
        bad |= json_object_set_new(root, "markdown", md);
        rc = bad ? -ZQ_ENOMEM : set_body(&rd->reqs[i], root);
        if (bad)
            json_decref(root);
    }
    if (rc == 0 && rd->nreqs > rd->nparts) {
        /* WeCom markdown cannot mention by mobile: a short text message
         * after the content carries the mentions. */
        json_t *text;

        zq_buf_reset(&c);
        zq_buf_puts(&c, "请留意以上消息");
        if (rd->title[0] != '\0') {
            zq_buf_puts(&c, "：");
            zq_buf_puts(&c, rd->title);
        }
        root = json_object();
        text = json_object();
        bad = root == NULL || text == NULL || c.oom;
        bad |= json_object_set_new(text, "content", jstr(c.data, c.len));
        bad |= json_object_set_new(text, "mentioned_mobile_list", mobiles_json(rd->m, true));
        bad |= json_object_set_new(root, "msgtype", json_string("text"));
        bad |= json_object_set_new(root, "text", text);
        rc = bad ? -ZQ_ENOMEM : set_body(&rd->reqs[rd->nparts], root);
        if (bad)
            json_decref(root);
    }
    zq_buf_free(&url);
    zq_buf_free(&c);
    return rc;
}

/* The DingTalk mention line: "@138... @139..." (empty without mobiles). */
static int dingtalk_mentions(zq_buf *b, const zq_message *m)
{
    size_t i;

    if (m->nmentions == 0)
        return 0;
    zq_buf_puts(b, "\n\n");
    for (i = 0; i < m->nmentions; i++) {
        if (i > 0)
            zq_buf_puts(b, " ");
        zq_buf_puts(b, "@");
        zq_buf_puts(b, m->mention_mobiles[i]);
    }
    return b->oom ? -ZQ_ENOMEM : 0;
}

static int render_dingtalk(render *rd)
{
    zq_buf url = {0}, c = {0}, title = {0};
    json_t *root, *md, *at;
    char sign[64], lab[48];
    size_t i;
    int rc = 0, bad;

    zq_buf_puts(&url, rd->cc->base_url[ZQ_CH_DINGTALK]);
    zq_buf_puts(&url, "/robot/send?access_token=");
    zq_url_encode(&url, rd->t->address);
    if (rd->t->secret[0] != '\0') {
        rc = zq_sign_dingtalk(rd->t->secret, rd->now_ms, sign, sizeof(sign));
        if (rc < 0)
            goto out;
        zq_buf_printf(&url, "&timestamp=%lld&sign=", (long long)rd->now_ms);
        /* Base64 has '+', '/' and '=': encoded here, once. */
        zq_url_encode(&url, sign);
    }
    for (i = 0; i < rd->nreqs && rc == 0; i++)
        rc = set_url(rd, &rd->reqs[i], &url);
    for (i = 0; i < rd->nparts && rc == 0; i++) {
        bool last = i + 1 == rd->nparts;

        zq_buf_reset(&c);
        zq_buf_reset(&title);
        label(lab, sizeof(lab), i, rd->nparts);
        zq_buf_puts(&title, rd->title[0] != '\0' ? rd->title : DEFAULT_TITLE);
        zq_buf_puts(&title, lab);
        if (labelled(&c, rd, i) < 0 || (last && dingtalk_mentions(&c, rd->m) < 0) || title.oom) {
            rc = -ZQ_ENOMEM;
            break;
        }
        root = json_object();
        md = json_object();
        bad = root == NULL || md == NULL;
        bad |= json_object_set_new(md, "title", jstr(title.data, title.len));
        bad |= json_object_set_new(md, "text", jstr(c.data, c.len));
        bad |= json_object_set_new(root, "msgtype", json_string("markdown"));
        bad |= json_object_set_new(root, "markdown", md);
        if (last && (rd->m->nmentions > 0 || rd->m->mention_all)) {
            at = json_object();
            bad |= at == NULL;
            bad |= json_object_set_new(at, "atMobiles", mobiles_json(rd->m, false));
            bad |= json_object_set_new(at, "isAtAll", json_boolean(rd->m->mention_all));
            bad |= json_object_set_new(root, "at", at);
        }
        rc = bad ? -ZQ_ENOMEM : set_body(&rd->reqs[i], root);
        if (bad)
            json_decref(root);
    }
out:
    zq_buf_free(&url);
    zq_buf_free(&c);
    zq_buf_free(&title);
    return rc;
}

/* Feishu's mention of everyone, for card markdown. */
#define FEISHU_AT_ALL "\n<at id=all></at>"

/* A Feishu card: header = title, one "markdown" element. Returns a new
 * reference or NULL. */
static json_t *card_new(const char *header, size_t hlen, const char *content, size_t clen)
{
    json_t *card = json_object(), *cfg = json_object();
    json_t *hdr = json_object(), *title = json_object(), *els = json_array();
    json_t *el = json_object();
    int bad =
        card == NULL || cfg == NULL || hdr == NULL || title == NULL || els == NULL || el == NULL;

    bad |= json_object_set_new(cfg, "wide_screen_mode", json_true());
    bad |= json_object_set_new(title, "tag", json_string("plain_text"));
    bad |= json_object_set_new(title, "content", jstr(header, hlen));
    bad |= json_object_set_new(hdr, "title", title);
    bad |= json_object_set_new(hdr, "template", json_string("blue"));
    bad |= json_object_set_new(el, "tag", json_string("markdown"));
    bad |= json_object_set_new(el, "content", jstr(content, clen));
    bad |= json_array_append_new(els, el);
    bad |= json_object_set_new(card, "config", cfg);
    bad |= json_object_set_new(card, "header", hdr);
    bad |= json_object_set_new(card, "elements", els);
    if (bad) {
        json_decref(card);
        return NULL;
    }
    return card;
}

/* The Feishu custom bot's interactive card message; signed into the body
 * when the target has a secret. Returns a new reference or NULL. */
static json_t *feishu_card(const render *rd, const char *header, size_t hlen, const char *content,
                           size_t clen)
{
    json_t *root = json_object();
    char sign[64], ts[32];
    int bad = root == NULL;
    int64_t now_s = rd->now_ms / 1000;

    bad |= json_object_set_new(root, "msg_type", json_string("interactive"));
    bad |= json_object_set_new(root, "card", card_new(header, hlen, content, clen));
    if (rd->t->secret[0] != '\0') {
        snprintf(ts, sizeof(ts), "%lld", (long long)now_s);
        bad |= zq_sign_feishu(rd->t->secret, now_s, sign, sizeof(sign)) < 0;
        bad |= json_object_set_new(root, "timestamp", json_string(ts));
        bad |= json_object_set_new(root, "sign", json_string(sign));
    }
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* The IM API's send-message body for a chat of the Feishu app: the same
 * card, serialised into the "content" string (Feishu wants JSON inside
 * JSON there). Returns a new reference or NULL. */
static json_t *feishu_chat_body(const render *rd, const char *header, size_t hlen,
                                const char *content, size_t clen)
{
    json_t *card = card_new(header, hlen, content, clen), *root;
    char *c = card != NULL ? json_dumps(card, JSON_COMPACT) : NULL;

    json_decref(card);
    if (c == NULL)
        return NULL;
    root = json_pack("{s:s, s:s, s:s}", "receive_id", rd->t->address, "msg_type", "interactive",
                     "content", c);
    free(c);
    return root;
}

/* The request body of a Feishu kind (custom bot or app chat). */
static json_t *feishu_body(const render *rd, const char *header, size_t hlen, const char *content,
                           size_t clen)
{
    if (rd->t->kind == ZQ_CH_FEISHU_CHAT)
        return feishu_chat_body(rd, header, hlen, content, clen);
    return feishu_card(rd, header, hlen, content, clen);
}

/* The bytes of a Feishu body without content, with the widest label:
 * what each part's content must leave room for. */
static size_t feishu_envelope(const render *rd)
{
    char lab[48], *s;
    zq_buf h = {0};
    json_t *root;
    size_t n = (size_t)-1;

    snprintf(lab, sizeof(lab), LABEL_FMT, (size_t)ZQ_CHANNEL_MAX_PARTS,
             (size_t)ZQ_CHANNEL_MAX_PARTS);
    zq_buf_puts(&h, rd->title[0] != '\0' ? rd->title : DEFAULT_TITLE);
    zq_buf_puts(&h, lab);
    root = h.oom ? NULL : feishu_body(rd, h.data, h.len, "", 0);
    s = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;
    if (s != NULL)
        n = strlen(s);
    free(s);
    json_decref(root);
    zq_buf_free(&h);
    return n;
}

static int render_feishu(render *rd)
{
    zq_buf url = {0}, c = {0}, h = {0};
    char lab[48];
    size_t i;
    int rc = 0;

    bool chat = rd->t->kind == ZQ_CH_FEISHU_CHAT;

    if (chat) {
        /* The IM API (vendor docs, not specs/channels.md); the chat id goes
         * in the body. */
        zq_buf_puts(&url, rd->cc->base_url[ZQ_CH_FEISHU_CHAT]);
        zq_buf_puts(&url, "/open-apis/im/v1/messages?receive_id_type=chat_id");
    } else {
        zq_buf_puts(&url, rd->cc->base_url[ZQ_CH_FEISHU]);
        zq_buf_puts(&url, "/open-apis/bot/v2/hook/");
        zq_url_encode(&url, rd->t->address);
    }
    for (i = 0; i < rd->nparts && rc == 0; i++) {
        rc = set_url(rd, &rd->reqs[i], &url);
        if (rc < 0)
            break;
        if (chat)
            rd->reqs[i].auth = ZQ_AUTH_FEISHU;
        zq_buf_reset(&c);
        zq_buf_reset(&h);
        label(lab, sizeof(lab), i, rd->nparts);
        zq_buf_puts(&h, rd->title[0] != '\0' ? rd->title : DEFAULT_TITLE);
        zq_buf_puts(&h, lab);
        zq_buf_append(&c, rd->parts[i].data ? rd->parts[i].data : "", rd->parts[i].len);
        if (i + 1 == rd->nparts && rd->m->mention_all && !chat)
            zq_buf_puts(&c, FEISHU_AT_ALL);
        if (c.oom || h.oom) {
            rc = -ZQ_ENOMEM;
            break;
        }
        rc = set_body(&rd->reqs[i], feishu_body(rd, h.data, h.len, c.data, c.len));
    }
    zq_buf_free(&url);
    zq_buf_free(&c);
    zq_buf_free(&h);
    return rc;
}

/* WeCom app message to one member (vendor docs: 发送应用消息): markdown
 * with the app's agentid; the access token goes into the URL later. */
static int render_wecom_app(render *rd)
{
    zq_buf url = {0}, c = {0};
    json_t *root, *md;
    size_t i;
    int rc = 0, bad;

    zq_buf_puts(&url, rd->cc->base_url[ZQ_CH_WECOM_APP]);
    zq_buf_puts(&url, "/cgi-bin/message/send");
    for (i = 0; i < rd->nparts && rc == 0; i++) {
        rc = set_url(rd, &rd->reqs[i], &url);
        if (rc < 0)
            break;
        rd->reqs[i].auth = ZQ_AUTH_WECOM;
        zq_buf_reset(&c);
        if (labelled(&c, rd, i) < 0) {
            rc = -ZQ_ENOMEM;
            break;
        }
        root = json_object();
        md = json_object();
        bad = root == NULL || md == NULL;
        bad |= json_object_set_new(root, "touser", json_string(rd->t->address));
        bad |= json_object_set_new(root, "msgtype", json_string("markdown"));
        bad |= json_object_set_new(root, "agentid", json_integer(rd->cc->wecom_agent_id));
        bad |= json_object_set_new(md, "content", jstr(c.data, c.len));
        bad |= json_object_set_new(root, "markdown", md);
        rc = bad ? -ZQ_ENOMEM : set_body(&rd->reqs[i], root);
        if (bad)
            json_decref(root);
    }
    zq_buf_free(&url);
    zq_buf_free(&c);
    return rc;
}

/* DingTalk app robot (vendor docs: 机器人发送群聊消息 and 批量发送人与机器人
 * 会话中机器人消息): "sampleMarkdown" with its parameters as a JSON string
 * in msgParam; the access token goes into a header later. */
static int render_dingtalk_app(render *rd)
{
    zq_buf url = {0}, c = {0}, title = {0};
    bool group = strncmp(rd->t->address, "group:", 6) == 0;
    const char *who = rd->t->address + (group ? 6 : 5);
    json_t *root, *param;
    char lab[48], *ps;
    size_t i;
    int rc = 0, bad;

    zq_buf_puts(&url, rd->cc->base_url[ZQ_CH_DINGTALK_APP]);
    zq_buf_puts(&url,
                group ? "/v1.0/robot/groupMessages/send" : "/v1.0/robot/oToMessages/batchSend");
    for (i = 0; i < rd->nparts && rc == 0; i++) {
        rc = set_url(rd, &rd->reqs[i], &url);
        if (rc < 0)
            break;
        rd->reqs[i].auth = ZQ_AUTH_DINGTALK;
        zq_buf_reset(&c);
        zq_buf_reset(&title);
        label(lab, sizeof(lab), i, rd->nparts);
        zq_buf_puts(&title, rd->title[0] != '\0' ? rd->title : DEFAULT_TITLE);
        zq_buf_puts(&title, lab);
        if (labelled(&c, rd, i) < 0 || title.oom) {
            rc = -ZQ_ENOMEM;
            break;
        }
        param = json_object();
        bad = param == NULL;
        bad |= json_object_set_new(param, "title", jstr(title.data, title.len));
        bad |= json_object_set_new(param, "text", jstr(c.data, c.len));
        ps = bad ? NULL : json_dumps(param, JSON_COMPACT);
        json_decref(param);
        if (ps == NULL) {
            rc = -ZQ_ENOMEM;
            break;
        }
        root = json_object();
        bad = root == NULL;
        bad |= json_object_set_new(root, "robotCode", json_string(rd->cc->dingtalk_robot_code));
        if (group)
            bad |= json_object_set_new(root, "openConversationId", json_string(who));
        else
            bad |= json_object_set_new(root, "userIds", json_pack("[s]", who));
        bad |= json_object_set_new(root, "msgKey", json_string("sampleMarkdown"));
        bad |= json_object_set_new(root, "msgParam", json_string(ps));
        free(ps);
        rc = bad ? -ZQ_ENOMEM : set_body(&rd->reqs[i], root);
        if (bad)
            json_decref(root);
    }
    zq_buf_free(&url);
    zq_buf_free(&c);
    zq_buf_free(&title);
    return rc;
}

/* A chat id that is a number goes out as a JSON number. */
static json_t *telegram_chat(const char *id)
{
    long long v;

    if (zq_parse_ll(id, strlen(id), -9000000000000000000LL, 9000000000000000000LL, &v) == 0)
        return json_integer((json_int_t)v);
    return json_string(id);
}

static int render_telegram(render *rd)
{
    zq_buf url = {0}, c = {0};
    json_t *root;
    size_t i;
    int rc = 0, bad;

    zq_buf_puts(&url, rd->cc->base_url[ZQ_CH_TELEGRAM]);
    zq_buf_puts(&url, "/bot");
    zq_buf_puts(&url, rd->t->address); /* checked: [A-Za-z0-9:_-] */
    zq_buf_puts(&url, "/sendMessage");
    for (i = 0; i < rd->nparts && rc == 0; i++) {
        rc = set_url(rd, &rd->reqs[i], &url);
        if (rc < 0)
            break;
        zq_buf_reset(&c);
        if (labelled(&c, rd, i) < 0) {
            rc = -ZQ_ENOMEM;
            break;
        }
        root = json_object();
        bad = root == NULL;
        bad |= json_object_set_new(root, "chat_id", telegram_chat(rd->t->chat_id));
        bad |= json_object_set_new(root, "text", jstr(c.data, c.len));
        bad |= json_object_set_new(root, "parse_mode", json_string("HTML"));
        bad |= json_object_set_new(root, "disable_web_page_preview", json_true());
        rc = bad ? -ZQ_ENOMEM : set_body(&rd->reqs[i], root);
        if (bad)
            json_decref(root);
    }
    zq_buf_free(&url);
    zq_buf_free(&c);
    return rc;
}

static int render_generic(render *rd)
{
    zq_buf url = {0}, md = {0}, plain = {0};
    json_t *root;
    char ts[32], sig[96];
    size_t i;
    int rc = 0, bad;
    zq_outreq *r;

    zq_buf_puts(&url, rd->t->address);
    snprintf(ts, sizeof(ts), "%lld", (long long)(rd->now_ms / 1000));
    for (i = 0; i < rd->nparts && rc == 0; i++) {
        r = &rd->reqs[i];
        rc = set_url(rd, r, &url);
        if (rc < 0)
            break;
        zq_buf_reset(&md);
        zq_buf_reset(&plain);
        if (labelled(&md, rd, i) < 0 || md_convert(&plain, MD_PLAIN, md.data, md.len) < 0) {
            rc = -ZQ_ENOMEM;
            break;
        }
        root = json_object();
        bad = root == NULL;
        bad |= json_object_set_new(root, "title", json_string(rd->title));
        bad |= json_object_set_new(root, "text", jstr(plain.data ? plain.data : "", plain.len));
        bad |= json_object_set_new(root, "markdown", jstr(md.data, md.len));
        bad |= json_object_set_new(root, "mentions", mobiles_json(rd->m, false));
        bad |= json_object_set_new(root, "mention_all", json_boolean(rd->m->mention_all));
        bad |= json_object_set_new(root, "part", json_integer((json_int_t)i + 1));
        bad |= json_object_set_new(root, "parts", json_integer((json_int_t)rd->nparts));
        /* A chat subscription (订阅 on /hook/generic): which chat. */
        if (rd->t->chat_id[0] != '\0')
            bad |= json_object_set_new(root, "chat", json_string(rd->t->chat_id));
        rc = bad ? -ZQ_ENOMEM : set_body(r, root);
        if (bad)
            json_decref(root);
        if (rc == 0 && rd->t->secret[0] != '\0') {
            rc = zq_sign_generic(rd->t->secret, ts, r->body.data, r->body.len, sig, sizeof(sig));
            if (rc < 0)
                break;
            snprintf(r->headers[0], sizeof(r->headers[0]), "X-Zhuqi-Timestamp: %s", ts);
            snprintf(r->headers[1], sizeof(r->headers[1]), "X-Zhuqi-Signature: %s", sig);
            r->nheaders = 2;
        }
    }
    zq_buf_free(&url);
    zq_buf_free(&md);
    zq_buf_free(&plain);
    return rc;
}

/* The limit of k: the configured one, or the documented default. */
static size_t limit_of(const zq_channel_config *cc, zq_channel_kind k)
{
    return cc->limits[k].max_bytes > 0 ? cc->limits[k].max_bytes : default_limits[k].max_bytes;
}

int zq_channel_render(const zq_channel_config *cc, const zq_target *t, const zq_message *m,
                      int64_t now_ms, zq_outreq **out, size_t *n, zq_err *err)
{
    zq_buf title = {0}, body = {0}, full = {0}, suffix = {0};
    zq_buf parts[ZQ_CHANNEL_MAX_PARTS];
    zq_outreq *reqs = NULL;
    render rd;
    weigh_mode wm = W_BYTES;
    size_t limit, overhead = 0, fixed = 0, nparts = 0, nreqs = 0, i, cut;
    char lab[48];
    bool truncated, label_in_text = true;
    int rc;

    memset(parts, 0, sizeof(parts));
    memset(&rd, 0, sizeof(rd));
    if (out != NULL)
        *out = NULL;
    if (n != NULL)
        *n = 0;
    if (cc == NULL || t == NULL || m == NULL || out == NULL || n == NULL)
        return zq_err_set(err, ZQ_EINVAL, "missing argument");
    rc = check_input(cc, t, m, err);
    if (rc < 0)
        return rc;

    if (norm_text(&title, m->title != NULL ? m->title : "", true) < 0 ||
        norm_text(&body, m->body != NULL ? m->body : "", false) < 0)
        goto oom;
    if (title.len > TITLE_MAX) {
        cut = zq_utf8_cut(title.data, title.len, TITLE_MAX);
        title.len = cut;
        title.data[cut] = '\0';
        zq_buf_puts(&title, "…");
    }
    if (title.data == NULL && zq_buf_puts(&title, "") < 0)
        goto oom;

    limit = limit_of(cc, t->kind);
    switch (t->kind) {
    case ZQ_CH_WECOM:
    case ZQ_CH_DINGTALK:
    case ZQ_CH_WECOM_APP:
    case ZQ_CH_DINGTALK_APP:
        if (title.len > 0)
            zq_buf_printf(&full, "**%s**\n\n", title.data);
        zq_buf_append(&full, body.data ? body.data : "", body.len);
        if (t->kind == ZQ_CH_DINGTALK && dingtalk_mentions(&suffix, m) < 0)
            goto oom;
        break;
    case ZQ_CH_FEISHU:
    case ZQ_CH_FEISHU_CHAT:
        /* The title is the card's header; the label goes there too. */
        if (body.len > 0)
            md_convert(&full, MD_LARK, body.data, body.len);
        else
            md_escape(&full, MD_LARK, title.data, title.len, false);
        if (m->mention_all && t->kind == ZQ_CH_FEISHU)
            zq_buf_puts(&suffix, FEISHU_AT_ALL);
        wm = t->kind == ZQ_CH_FEISHU_CHAT ? W_JSON2 : W_JSON;
        label_in_text = false;
        rd.cc = cc;
        rd.t = t;
        rd.now_ms = now_ms;
        rd.title = title.data;
        fixed = feishu_envelope(&rd);
        if (fixed == (size_t)-1)
            goto oom;
        break;
    case ZQ_CH_TELEGRAM:
        if (title.len > 0) {
            zq_buf_puts(&full, "<b>");
            md_escape(&full, MD_HTML, title.data, title.len, false);
            zq_buf_puts(&full, "</b>\n\n");
        }
        if (body.len > 0)
            md_convert(&full, MD_HTML, body.data, body.len);
        wm = W_TELEGRAM;
        break;
    case ZQ_CH_GENERIC: zq_buf_append(&full, body.data ? body.data : "", body.len); break;
    default: break;
    }
    if (full.oom || suffix.oom || title.oom)
        goto oom;
    if (full.data == NULL && zq_buf_puts(&full, "") < 0)
        goto oom;

    /* One part when it all fits; else parts with room for a label each. */
    overhead = fixed + weigh(wm, suffix.data ? suffix.data : "", suffix.len);
    if (limit < overhead + MIN_BUDGET) {
        rc = zq_err_set(err, ZQ_ETOOBIG, "%s limit %zu leaves no room for the text",
                        zq_channel_name(t->kind), limit);
        goto out;
    }
    if (weigh(wm, full.data, full.len) + overhead <= limit) {
        if (zq_buf_append(&parts[0], full.data, full.len) < 0)
            goto oom;
        nparts = 1;
    } else {
        if (label_in_text) {
            snprintf(lab, sizeof(lab), LABEL_FMT "\n", (size_t)ZQ_CHANNEL_MAX_PARTS,
                     (size_t)ZQ_CHANNEL_MAX_PARTS);
            overhead += weigh(wm, lab, strlen(lab));
        }
        if (limit < overhead + MIN_BUDGET) {
            rc = zq_err_set(err, ZQ_ETOOBIG, "%s limit %zu leaves no room for the text",
                            zq_channel_name(t->kind), limit);
            goto out;
        }
        if (split_text(wm, full.data, full.len, limit - overhead, parts, &nparts, &truncated) < 0)
            goto oom;
    }

    nreqs = nparts;
    if (t->kind == ZQ_CH_WECOM && (m->nmentions > 0 || m->mention_all))
        nreqs++;
    reqs = calloc(nreqs, sizeof(*reqs));
    if (reqs == NULL)
        goto oom;
    rd.cc = cc;
    rd.t = t;
    rd.m = m;
    rd.now_ms = now_ms;
    rd.title = title.data;
    rd.parts = parts;
    rd.nparts = nparts;
    rd.reqs = reqs;
    rd.nreqs = nreqs;
    rd.err = err;
    switch (t->kind) {
    case ZQ_CH_WECOM: rc = render_wecom(&rd); break;
    case ZQ_CH_DINGTALK: rc = render_dingtalk(&rd); break;
    case ZQ_CH_FEISHU: rc = render_feishu(&rd); break;
    case ZQ_CH_TELEGRAM: rc = render_telegram(&rd); break;
    case ZQ_CH_GENERIC: rc = render_generic(&rd); break;
    case ZQ_CH_WECOM_APP: rc = render_wecom_app(&rd); break;
    case ZQ_CH_DINGTALK_APP: rc = render_dingtalk_app(&rd); break;
    case ZQ_CH_FEISHU_CHAT: rc = render_feishu(&rd); break;
    default: rc = -ZQ_EINVAL; break;
    }
    if (rc == -ZQ_ENOMEM)
        goto oom;
    if (rc < 0) {
        if (err != NULL && err->code == 0)
            zq_err_set(err, -rc, "%s: rendering failed", zq_channel_name(t->kind));
        goto out;
    }
    for (i = 0; i < nreqs; i++) {
        if (reqs[i].body.oom || reqs[i].body.data == NULL)
            goto oom;
        /* The Feishu limit is on the whole body: check what was built. */
        if ((t->kind == ZQ_CH_FEISHU || t->kind == ZQ_CH_FEISHU_CHAT) && reqs[i].body.len > limit) {
            rc = zq_err_set(err, ZQ_ETOOBIG, "%s body of %zu bytes over %zu",
                            zq_channel_name(t->kind), reqs[i].body.len, limit);
            goto out;
        }
    }
    *out = reqs;
    *n = nreqs;
    reqs = NULL;
    rc = 0;
    goto out;
oom:
    rc = zq_err_set(err, ZQ_ENOMEM, "out of memory");
out:
    zq_outreq_free_all(reqs, nreqs);
    for (i = 0; i < ZQ_CHANNEL_MAX_PARTS; i++)
        zq_buf_free(&parts[i]);
    zq_buf_free(&title);
    zq_buf_free(&body);
    zq_buf_free(&full);
    zq_buf_free(&suffix);
    return rc;
}

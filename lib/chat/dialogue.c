/* The chat dialogue engine (see include/zhuqi/dialogue.h): the state of
 * each chat in Redis, saved with a compare-and-set, and the dispatch of a
 * message to the menu (dialogue_menu.c) or the form (dialogue_form.c).
 *
 * Keys (prefix omitted):
 *   chat:{channel}:{user}        hash, TTL [chat] session_ttl, sliding:
 *                                v   version (the compare-and-set's)
 *                                t   mode|form|cur|edit_step|draft|draft_v|
 *                                    lookup|last_case|keep_field|seq
 *                                a:{field id}  one answer each (enc_value:
 *                                    s<text>, i<int>, T, F, N, j<JSON>)
 *                                k   keep_value (enc_value), when kept
 *                                f   the chat's files (chatmedia.h)
 *                                s   the whole state as JSON, as saved
 *                                    before t and a:*; read when there is
 *                                    no t, deleted by the next save
 *                                A turn writes t and only the answers
 *                                that changed, so that neither side
 *                                parses or dumps the whole state.
 *   chat:{channel}:{user}:seen   "1" when the last save was inside a flow,
 *                                "0" otherwise; 30 days; tells a returning
 *                                user that an unfinished flow expired
 *   dedup:{channel}:{message id} "1", [chat] dedup_ttl: the message was
 *                                applied (set by the saving script)
 *   sig:{channel}:{signature id} the message id first seen with a signature
 *                                that covers no message id (DingTalk's);
 *                                lives while the signature verifies */
#include "dialogue_int.h"

#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zhuqi/chatmedia.h"
#include "zhuqi/log.h"

#define MAX_ATTEMPTS 64
#define SEEN_TTL_S 2592000
#define STR_(x) #x
#define STR(x) STR_(x)
#define CMD_MAX 256

static const char *const mode_names[] = {"menu",      "form",          "review",
                                         "lookup_id", "lookup_mobile", "sub_region"};

/* Ends the current reply message; the next dlg_say() starts another. */
static void flush(turn *t)
{
    zq_dialogue_replies *r = t->replies;

    while (t->out.len > 0 && t->out.data[t->out.len - 1] == '\n')
        t->out.len--;
    if (t->out.len == 0)
        return;
    if (r->n < ZQ_DIALOGUE_MAX_REPLIES) {
        t->out.data[t->out.len] = '\0';
        r->text[r->n] = zq_buf_steal(&t->out);
        if (r->text[r->n] != NULL)
            r->n++;
    }
    zq_buf_reset(&t->out);
}

void zq_dialogue_replies_clear(zq_dialogue_replies *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        free(r->text[i]);
    memset(r, 0, sizeof(*r));
}

static bool safe_id_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '@' || c == '-';
}

void zq_dialogue_user_key(const char *user, char out[ZQ_DIALOGUE_USER_MAX + 1])
{
    size_t n = strlen(user), i;
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[33];
    bool ok = n >= 1 && n <= ZQ_DIALOGUE_USER_MAX;

    for (i = 0; ok && i < n; i++)
        ok = safe_id_char(user[i]);
    if (ok) {
        memcpy(out, user, n + 1);
        return;
    }
    if (EVP_Digest(user, n, md, &mdlen, EVP_sha256(), NULL) != 1)
        memset(md, 0, sizeof(md));
    zq_hex(md, 16, hex);
    _Static_assert(sizeof(hex) + 1 <= ZQ_DIALOGUE_USER_MAX + 1, "hashed user id fits");
    out[0] = 'h';
    memcpy(out + 1, hex, sizeof(hex));
}

static bool is_space_at(const char *s, size_t len, size_t *w)
{
    if (len >= 1 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n')) {
        *w = 1;
        return true;
    }
    if (len >= 3 && (unsigned char)s[0] == 0xE3 && (unsigned char)s[1] == 0x80 &&
        (unsigned char)s[2] == 0x80) {
        *w = 3;
        return true;
    }
    return false;
}

/* Trims ASCII and full-width spaces. */
static void trim(const char **s, size_t *len)
{
    size_t w;

    while (*len > 0 && is_space_at(*s, *len, &w)) {
        *s += w;
        *len -= w;
    }
    for (;;) {
        if (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' ||
                         (*s)[*len - 1] == '\r' || (*s)[*len - 1] == '\n'))
            (*len)--;
        else if (*len >= 3 && is_space_at(*s + *len - 3, 3, &w))
            *len -= 3;
        else
            break;
    }
}

/* Telegram's slash commands and the words they stand for. In a group
 * with privacy mode on (BotFather's default) the bot gets only commands
 * and replies to its own messages, so every menu word has one; commands
 * are [a-z0-9_], which rules out the Chinese words themselves. "arg":
 * the command may carry an argument, which follows the word. */
static const struct {
    const char *cmd, *word;
    bool arg;
} slash_words[] = {
    {"/menu", "菜单", false},        {"/help", "帮助", false},    {"/cancel", "取消", false},
    {"/back", "返回", false},        {"/skip", "跳过", false},    {"/keep", "保留", false},
    {"/confirm", "确认", false},     {"/web", "网页填写", false}, {"/consult", "咨询", false},
    {"/complaint", "投诉", false},   {"/status", "查询", true},   {"/subscribe", "订阅", true},
    {"/unsubscribe", "退订", false}, {"/classes", "课程", false}, {"/edit", "修改", true},
};

/* Rewrites a slash command in out (lower-cased, "@botname" gone) to the
 * word it stands for; "/start" drops the payload of a deep link. Other
 * text, and a command that would not fit, is left alone. */
static void slash_to_word(char out[CMD_MAX])
{
    char *sp = strchr(out, ' ');
    size_t n = sp ? (size_t)(sp - out) : strlen(out), i;
    char tmp[CMD_MAX];

    if (out[0] != '/')
        return;
    if (n == 6 && strncmp(out, "/start", 6) == 0) {
        out[6] = '\0';
        return;
    }
    for (i = 0; i < sizeof(slash_words) / sizeof(slash_words[0]); i++) {
        if (strlen(slash_words[i].cmd) != n || strncmp(out, slash_words[i].cmd, n) != 0)
            continue;
        if (sp != NULL && !slash_words[i].arg)
            return;
        if (zq_fmt(tmp, sizeof(tmp), "%s%s", slash_words[i].word, sp ? sp : "") == 0)
            memcpy(out, tmp, strlen(tmp) + 1);
        return;
    }
}

/* A command as typed, normalised for matching: trimmed, full-width ASCII
 * folded, ASCII lower-cased, a Telegram "@botname" after a leading slash
 * command dropped, the slash command turned into its word, and trailing
 * punctuation (。！!.) removed. Returns false when it is too long to be a
 * command. */
static bool norm_cmd(const char *s, size_t len, char out[CMD_MAX])
{
    size_t i = 0, n = 0;

    trim(&s, &len);
    while (i < len) {
        const unsigned char *p = (const unsigned char *)s + i;

        if (n + 4 >= CMD_MAX)
            return false;
        if (len - i >= 3 && p[0] == 0xEF && (p[1] == 0xBC || p[1] == 0xBD)) {
            unsigned cp = 0xF000u | ((unsigned)(p[1] & 0x3F) << 6) | (p[2] & 0x3Fu);

            if (cp >= 0xFF01 && cp <= 0xFF5E) {
                out[n++] = (char)tolower((int)(cp - 0xFEE0));
                i += 3;
                continue;
            }
        }
        if (len - i >= 3 && p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) {
            out[n++] = ' ';
            i += 3;
            continue;
        }
        out[n++] = (char)tolower(p[0]);
        i++;
    }
    out[n] = '\0';
    if (out[0] == '/') {
        char *at = strchr(out, '@'), *sp = strchr(out, ' ');

        if (at != NULL && sp != NULL && at < sp)
            memmove(at, sp, strlen(sp) + 1);
        else if (at != NULL && sp == NULL)
            *at = '\0';
    }
    for (;;) {
        size_t l = strlen(out);

        if (l >= 3 && (strcmp(out + l - 3, "。") == 0 || strcmp(out + l - 3, "！") == 0))
            out[l - 3] = '\0';
        else if (l >= 1 && (out[l - 1] == '!' || out[l - 1] == '.' || out[l - 1] == ' '))
            out[l - 1] = '\0';
        else
            break;
    }
    slash_to_word(out);
    return true;
}

static void say_expired(turn *t)
{
    int min = t->cfg->chat.session_ttl_s / 60;

    dlg_say(
        t,
        "您上次的填写已超时（超过 %d 分钟没有回复），未提交的内容没有保存。已为您回到主菜单。\n\n",
        min > 0 ? min : 1);
    dlg_show_menu(t, false);
}

/* Processes the message against t->st. Returns 0 or a negative code when
 * storage failed (then nothing must be saved). */
static int process(turn *t, bool expired)
{
    const zq_dialogue_in *in = t->in;
    const char *text = in->text;
    size_t len = in->text_len;
    char cmd[CMD_MAX];
    const char *arg;

    if (expired) {
        dlg_clear_draft(t);
        say_expired(t);
        return 0;
    }
    if (text == NULL && in->media != NULL && in->media_ok)
        return dlg_media(t);
    if (text == NULL) {
        const zq_field *cur = t->st.mode == M_FORM ? dlg_current(t) : NULL;

        dlg_say(t,
                "抱歉，目前只能处理文字消息（图片、语音、文件和表情暂时无法识别），请直接输入文字回"
                "复。");
        if (cur != NULL) {
            dlg_say(t, "\n\n");
            dlg_reask(t, cur);
        }
        return 0;
    }
    if (len > t->cfg->chat.max_text) {
        dlg_say(t, "消息太长了：每条消息最多 %zu 字节（约 %zu 个汉字），请精简后重新发送。",
                t->cfg->chat.max_text, t->cfg->chat.max_text / 3);
        return 0;
    }
    if (!zq_utf8_valid(text, len)) {
        dlg_say(t, "消息含有无法识别的字符，请重新输入。");
        return 0;
    }
    trim(&text, &len);
    if (len == 0 || !norm_cmd(text, len, cmd))
        cmd[0] = '\0';

    if (dlg_is_any(cmd, W_MENU)) {
        dlg_show_menu(t, strcmp(cmd, "/start") == 0);
        return 0;
    }
    if (dlg_is_any(cmd, W_HELP)) {
        const zq_field *cur = t->st.mode == M_FORM ? dlg_current(t) : NULL;

        dlg_say_help(t);
        if (cur != NULL) {
            dlg_say(t, "\n\n当前的问题：\n");
            dlg_ask(t, cur, false);
        } else if (t->st.mode == M_REVIEW) {
            dlg_say(t, "\n\n核对完毕请回复“确认”提交。");
        }
        return 0;
    }
    if (dlg_is_any(cmd, W_CANCEL)) {
        const zq_form *f = dlg_form_of(t);

        if (f != NULL)
            dlg_say(t, "已取消“%s”的填写，填写的内容已删除。\n\n", f->title);
        else if (t->st.mode != M_MENU)
            dlg_say(t, "已取消。\n\n");
        dlg_clear_draft(t);
        dlg_show_menu(t, false);
        return 0;
    }
    if (dlg_is_any(cmd, W_WEB))
        return dlg_handoff(t);
    if (dlg_is_any(cmd, W_UNSUB))
        return dlg_unsubscribe(t);
    /* 订阅 [地区] and 查询 <编号> work outside the form; inside it only
     * what cannot be an answer counts. */
    if (t->st.mode != M_FORM && t->st.mode != M_REVIEW) {
        if (strcmp(cmd, "订阅") == 0)
            return dlg_sub_start(t, NULL);
        if ((arg = dlg_arg_of(cmd, "订阅")) != NULL && !dlg_is_any(cmd, W_SUB))
            return dlg_sub_start(t, arg);
    }
    if ((arg = dlg_arg_of(cmd, "查询")) != NULL && !dlg_is_any(cmd, W_LOOKUP)) {
        char id[64];

        dlg_upper_id(arg, id, sizeof(id));
        if ((t->st.mode != M_FORM && t->st.mode != M_REVIEW) ||
            (strlen(id) < ZQ_CASE_ID_MAX && zq_case_id_valid(id))) {
            dlg_lookup_take_id(t, arg);
            return 0;
        }
    }
    switch (t->st.mode) {
    case M_FORM: return dlg_form_input(t, cmd, text, len);
    case M_REVIEW: return dlg_review_input(t, cmd);
    case M_LOOKUP_ID:
        if (dlg_is_any(cmd, W_BACK)) {
            dlg_show_menu(t, false);
            return 0;
        }
        dlg_lookup_take_id(t, cmd);
        return 0;
    case M_LOOKUP_MOBILE:
        if (dlg_is_any(cmd, W_BACK)) {
            dlg_show_menu(t, false);
            return 0;
        }
        return dlg_lookup_mobile(t, text, len);
    case M_SUB_REGION:
        if (dlg_is_any(cmd, W_BACK)) {
            dlg_show_menu(t, false);
            return 0;
        }
        return dlg_sub_start(t, cmd);
    case M_MENU: break;
    }
    if (dlg_is_any(cmd, W_BACK) || dlg_is_any(cmd, W_SKIP) || dlg_is_any(cmd, W_KEEP)) {
        dlg_say(t, "当前没有正在回答的问题。\n");
        dlg_show_menu(t, false);
        return 0;
    }
    return dlg_menu_input(t, cmd);
}

static void state_free(dstate *s)
{
    json_decref(s->answers);
    json_decref(s->keep_value);
    memset(s, 0, sizeof(*s));
}

static void copy_str(char *dst, size_t sz, json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));

    /* Too long for its field only when the stored state is not ours:
     * then the field reads as unset. */
    dlg_set_id(dst, sz, v);
}

static void state_from_json(dstate *s, json_t *j)
{
    const char *m = json_string_value(json_object_get(j, "mode"));
    json_t *a = json_object_get(j, "answers"), *kv = json_object_get(j, "keep_value");
    size_t i;

    memset(s, 0, sizeof(*s));
    for (i = 0; m != NULL && i < ZQ_ARRAY_LEN(mode_names); i++)
        if (strcmp(m, mode_names[i]) == 0)
            s->mode = (mode)i;
    copy_str(s->form, sizeof(s->form), j, "form");
    copy_str(s->cur, sizeof(s->cur), j, "cur");
    copy_str(s->edit_step, sizeof(s->edit_step), j, "edit_step");
    copy_str(s->draft, sizeof(s->draft), j, "draft");
    copy_str(s->lookup, sizeof(s->lookup), j, "lookup");
    copy_str(s->last_case, sizeof(s->last_case), j, "last_case");
    copy_str(s->keep_field, sizeof(s->keep_field), j, "keep_field");
    s->draft_v = json_integer_value(json_object_get(j, "draft_v"));
    s->seq = json_integer_value(json_object_get(j, "seq"));
    s->answers = json_is_object(a) ? json_deep_copy(a) : json_object();
    s->keep_value = kv != NULL && s->keep_field[0] ? json_deep_copy(kv) : NULL;
}

/* ---- the state in the chat's hash ------------------------------------ */

/* Writes key + ":seen" into out (outsz bytes). Returns 0 or -ZQ_ETOOBIG. */
static int seen_key(const char *key, char *out, size_t outsz)
{
    size_t n = strlen(key);

    if (n + 6 > outsz)
        return -ZQ_ETOOBIG;
    memcpy(out, key, n + 1);
    memcpy(out + n, ":seen", sizeof(":seen"));
    return 0;
}

/* Appends the decimal digits of v. */
static void put_ll(zq_buf *b, long long v)
{
    char d[24];

    zq_dec(d, v);
    zq_buf_puts(b, d);
}

/* Appends one of the scalar line's ids: "" when it holds the separator
 * (never for our ids, which are schema ids, hex and case numbers). */
static void put_id(zq_buf *b, const char *s)
{
    size_t n = strlen(s);

    if (memchr(s, '|', n) == NULL)
        zq_buf_append(b, s, n);
}

/* The scalars of the field t after the mode, in their order: an id
 * (char array, its size) or a number (long long, size 0). */
static const struct {
    size_t off, size;
} scalar_fields[] = {
    {offsetof(dstate, form), sizeof(((dstate *)0)->form)},
    {offsetof(dstate, cur), sizeof(((dstate *)0)->cur)},
    {offsetof(dstate, edit_step), sizeof(((dstate *)0)->edit_step)},
    {offsetof(dstate, draft), sizeof(((dstate *)0)->draft)},
    {offsetof(dstate, draft_v), 0},
    {offsetof(dstate, lookup), sizeof(((dstate *)0)->lookup)},
    {offsetof(dstate, last_case), sizeof(((dstate *)0)->last_case)},
    {offsetof(dstate, keep_field), sizeof(((dstate *)0)->keep_field)},
    {offsetof(dstate, seq), 0},
};

/* The scalars as the field t: mode|form|cur|edit_step|draft|draft_v|
 * lookup|last_case|keep_field|seq. */
static void enc_scalars(zq_buf *b, const dstate *s)
{
    size_t i;

    zq_buf_puts(b, mode_names[s->mode]);
    for (i = 0; i < ZQ_ARRAY_LEN(scalar_fields); i++) {
        const char *p = (const char *)s + scalar_fields[i].off;

        zq_buf_append(b, "|", 1);
        if (scalar_fields[i].size == 0) {
            long long v;

            memcpy(&v, p, sizeof(v));
            put_ll(b, v);
        } else {
            put_id(b, p);
        }
    }
}

/* Copies n bytes into an id field, or makes it "" when they do not fit
 * (like dlg_set_id: "" is "none" to every reader). */
static void take_id(char *dst, size_t sz, const char *p, size_t n)
{
    if (n >= sz)
        n = 0;
    memcpy(dst, p, n);
    dst[n] = '\0';
}

static long long take_ll(const char *p, size_t n)
{
    long long v = 0;

    if (zq_parse_ll(p, n, LLONG_MIN, LLONG_MAX, &v) < 0)
        v = 0;
    return v;
}

/* Reads the field t into s (answers and keep_value left alone). A part
 * missing reads as unset. */
static void dec_scalars(dstate *s, const char *p, size_t len)
{
    const char *end = p + len;
    size_t i, k;

    for (k = 0; k <= ZQ_ARRAY_LEN(scalar_fields); k++) {
        const char *bar = memchr(p, '|', (size_t)(end - p));
        size_t n = bar ? (size_t)(bar - p) : (size_t)(end - p);

        if (k == 0) {
            for (i = 0; i < ZQ_ARRAY_LEN(mode_names); i++)
                if (strlen(mode_names[i]) == n && memcmp(p, mode_names[i], n) == 0)
                    s->mode = (mode)i;
        } else {
            char *dst = (char *)s + scalar_fields[k - 1].off;
            size_t size = scalar_fields[k - 1].size;

            if (size == 0) {
                long long v = take_ll(p, n);

                memcpy(dst, &v, sizeof(v));
            } else {
                take_id(dst, size, p, n);
            }
        }
        if (bar == NULL)
            break;
        p = bar + 1;
    }
}

/* An answer (field a:<id>) or keep_value (field k) as stored: a type
 * letter and the value, s<text>, i<integer>, T, F, N (null), or j<JSON>
 * for the rest (lists), so that reading one back needs no JSON parser
 * for the usual kinds. Returns 0 or -ZQ_ENOMEM. */
static int enc_value(zq_buf *b, json_t *v)
{
    char *js;
    int rc;

    switch (json_typeof(v)) {
    case JSON_STRING:
        zq_buf_append(b, "s", 1);
        return zq_buf_append(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        zq_buf_append(b, "i", 1);
        put_ll(b, (long long)json_integer_value(v));
        return b->oom ? -ZQ_ENOMEM : 0;
    case JSON_TRUE: return zq_buf_append(b, "T", 1);
    case JSON_FALSE: return zq_buf_append(b, "F", 1);
    case JSON_NULL: return zq_buf_append(b, "N", 1);
    default: break;
    }
    js = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (js == NULL)
        return -ZQ_ENOMEM;
    zq_buf_append(b, "j", 1);
    rc = zq_buf_puts(b, js);
    free(js);
    return rc;
}

/* The answers a turn loads are mostly the same few short strings turn
 * after turn (options, names): each thread keeps the last ones it
 * decoded, and a turn takes a reference to one instead of a new value
 * and its copy (two allocations and their frees per answer). A shared
 * value is never changed in place (answers are replaced, not edited:
 * nothing in the chat or the form code sets a string), so it stays what
 * it was decoded from. */
#define VCACHE_SLOTS 64
#define VCACHE_MAX 64 /* longest string kept, bytes */

typedef struct vcache {
    json_t *v[VCACHE_SLOTS];
} vcache;

static pthread_once_t vcache_once = PTHREAD_ONCE_INIT;
static pthread_key_t vcache_key;
static bool vcache_ok;

static void vcache_free(void *p)
{
    vcache *c = p;
    size_t i;

    for (i = 0; c != NULL && i < VCACHE_SLOTS; i++)
        json_decref(c->v[i]);
    free(c);
}

static void vcache_init(void)
{
    vcache_ok = pthread_key_create(&vcache_key, vcache_free) == 0;
}

/* This thread's cache, or NULL (then every value is made anew). */
static vcache *vcache_get(void)
{
    vcache *c;

    if (pthread_once(&vcache_once, vcache_init) != 0 || !vcache_ok)
        return NULL;
    c = pthread_getspecific(vcache_key);
    if (c == NULL) {
        c = calloc(1, sizeof(*c));
        if (c != NULL && pthread_setspecific(vcache_key, c) != 0) {
            free(c);
            c = NULL;
        }
    }
    return c;
}

/* A string value of the n bytes at p (a new reference), or NULL when
 * they are not a JSON string's (jansson's rule). */
static json_t *dec_string(const char *p, size_t n)
{
    vcache *c = n <= VCACHE_MAX ? vcache_get() : NULL;
    json_t **slot = NULL, *v;

    if (c != NULL) {
        unsigned h = (unsigned)n * 31u;

        if (n > 0)
            h += (unsigned char)p[0] + 7u * (unsigned char)p[n - 1] + 13u * (unsigned char)p[n / 2];
        slot = &c->v[h % VCACHE_SLOTS];
        if (*slot != NULL && json_string_length(*slot) == n &&
            memcmp(json_string_value(*slot), p, n) == 0)
            return json_incref(*slot);
    }
    /* Our check costs less than jansson's; what it refuses (it refuses
     * NUL, jansson does not) goes to jansson, which decides as it did. */
    if (!zq_utf8_valid(p, n))
        return json_stringn(p, n);
    v = json_stringn_nocheck(p, n);
    if (v != NULL && slot != NULL) {
        json_decref(*slot);
        *slot = json_incref(v);
    }
    return v;
}

/* A new value from enc_value's form, or NULL when it is not one. */
static json_t *dec_value(const char *p, size_t n)
{
    long long x;

    if (n == 0)
        return NULL;
    switch (p[0]) {
    case 's': return dec_string(p + 1, n - 1);
    case 'i':
        return zq_parse_ll(p + 1, n - 1, LLONG_MIN, LLONG_MAX, &x) == 0 ? json_integer(x) : NULL;
    case 'T': return n == 1 ? json_true() : NULL;
    case 'F': return n == 1 ? json_false() : NULL;
    case 'N': return n == 1 ? json_null() : NULL;
    case 'j': return json_loadb(p + 1, n - 1, JSON_DECODE_ANY, NULL);
    default: return NULL;
    }
}

/* The value of field name in the loaded hash, or NULL. */
static const dlg_str *hash_get(const dlg_hash *h, const char *name, size_t n)
{
    size_t i;

    for (i = 0; i + 1 < h->n; i += 2)
        if (h->f[i].len == n && memcmp(h->f[i].str, name, n) == 0)
            return &h->f[i + 1];
    return NULL;
}

static void hash_free(dlg_hash *h)
{
    size_t i;

    for (i = 0; i < h->n; i++)
        json_decref(h->f[i].val);
    freeReplyObject(h->rep);
    free(h->f);
    memset(h, 0, sizeof(*h));
}

/* Keeps the chat's files (chatmedia.h's field f) when they are its
 * draft's: a list left by an earlier draft counts as none. */
static void load_files(turn *t, const dlg_str *f)
{
    json_t *o, *list;
    const char *d;

    if (f == NULL || t->st.draft[0] == '\0')
        return;
    o = json_loadb(f->str, f->len, 0, NULL);
    d = json_string_value(json_object_get(o, "draft"));
    list = json_object_get(o, "list");
    if (d != NULL && strcmp(d, t->st.draft) == 0 && json_is_array(list))
        t->files = json_incref(list);
    json_decref(o);
}

/* The state from the hash h (loaded, with a version): the fields t,
 * a:<id> and k, or a state saved before them (the JSON of field s),
 * which the next save turns into fields. Returns 0 or -ZQ_ENOMEM. */
static int state_from_hash(turn *t, dlg_hash *h)
{
    const dlg_str *sc = hash_get(h, "t", 1), *old;
    size_t i;

    if (sc == NULL) {
        json_t *j = NULL;

        old = hash_get(h, "s", 1);
        if (old != NULL)
            j = json_loadb(old->str, old->len, 0, NULL);
        state_from_json(&t->st, j);
        json_decref(j);
        return t->st.answers != NULL ? 0 : -ZQ_ENOMEM;
    }
    memset(&t->st, 0, sizeof(t->st));
    dec_scalars(&t->st, sc->str, sc->len);
    t->st.answers = json_object();
    if (t->st.answers == NULL)
        return -ZQ_ENOMEM;
    for (i = 0; i + 1 < h->n; i += 2) {
        const dlg_str *f = &h->f[i];
        dlg_str *v = &h->f[i + 1];
        json_t *val;

        if (f->len > 2 && f->str[0] == 'a' && f->str[1] == ':') {
            /* Not ours when it does not decode: then unanswered. */
            val = dec_value(v->str, v->len);
            /* Remembered only when the stored form is the one enc_value
             * writes for the value (i and j have others: "i007", spaces
             * in JSON), so that skipping it at the save writes what
             * encoding it again would. */
            if (val != NULL &&
                json_object_setn_new_nocheck(t->st.answers, f->str + 2, f->len - 2, val) == 0 &&
                v->str[0] != 'i' && v->str[0] != 'j')
                v->val = json_incref(val);
        } else if (f->len == 1 && f->str[0] == 'k' && t->st.keep_field[0] != '\0') {
            json_decref(t->st.keep_value);
            t->st.keep_value = dec_value(v->str, v->len);
        }
    }
    return 0;
}

/* KEYS: chat, seen, dedup, and the signature's mark when there is one.
 * ARGV: the message id, the mark's TTL. The commands of the pipeline this
 * replaces, in its order and with its outcomes (an error in one does not
 * stop the others; the hash's error is the script's): the hash, the
 * marker, whether the id was applied, the mark set and read. The reply is
 * one pack (ZQ_STORE_LUA_PACK): marker, EXISTS's digit, the mark, then
 * the hash's names and values. One string for hiredis to read instead of
 * one object per hash field. */
static zq_script load_script = {
    .src = ZQ_STORE_LUA_PACK
    "local h = redis.pcall('HGETALL', KEYS[1])\n"
    "local function str(v) if type(v) == 'string' then return v end return false end\n"
    "local t = {}\n"
    "zq_pack(t, str(redis.pcall('GET', KEYS[2])))\n"
    "zq_pack(t, tostring(redis.call('EXISTS', KEYS[3])))\n"
    "if KEYS[4] then\n"
    "  redis.pcall('SET', KEYS[4], ARGV[1], 'NX', 'EX', ARGV[2])\n"
    "  zq_pack(t, str(redis.pcall('GET', KEYS[4])))\n"
    "else\n"
    "  zq_pack(t, false)\n"
    "end\n"
    "if h.err then return h end\n"
    "for i = 1, #h do zq_pack(t, h[i]) end\n"
    "return table.concat(t)\n"};

/* Splits the load script's pack p (n bytes) into its three values and
 * the hash's strings (h->f, allocated). Returns 0, -ZQ_EREPLY when it is
 * not such a pack, or -ZQ_ENOMEM. */
static int unpack_load(const char *p, size_t n, dlg_str head[3], bool had[3], dlg_hash *h)
{
    size_t i = 0, k, cap = 0;
    const char *v;
    size_t vlen;
    int rc;

    for (k = 0; k < 3; k++) {
        rc = zq_store_unpack(p, n, &i, &v, &vlen);
        if (rc < 0)
            return rc;
        had[k] = rc == 1;
        head[k].str = v;
        head[k].len = vlen;
    }
    while (i < n) {
        if (h->n == cap) {
            dlg_str *f = realloc(h->f, (cap ? cap * 2 : 32) * sizeof(*f));

            if (f == NULL)
                return -ZQ_ENOMEM;
            h->f = f;
            cap = cap ? cap * 2 : 32;
        }
        if (zq_store_unpack(p, n, &i, &v, &vlen) != 1)
            return -ZQ_EREPLY;
        h->f[h->n].str = v;
        h->f[h->n].val = NULL;
        h->f[h->n++].len = vlen;
    }
    return h->n % 2 == 0 ? 0 : -ZQ_EREPLY;
}

/* Loads the state and its version ("0" when there is none). *expired is
 * set when the session is gone but the marker says a flow was open; *dup
 * when the message id was applied; *replayed when the message's signature
 * (skey, "" none) came first with another message id. The signature's mark
 * is set in the same round trip: a message that then fails keeps it, and
 * its retry (same id) still passes. One script (load_script) whose reply
 * is one packed string: hiredis' reader made an object per hash field. */
static int load(turn *t, const char *key, const char *dkey, const char *skey, char ver[24],
                bool *expired, bool *dup, bool *replayed)
{
    dlg_hash h = {0};
    dlg_str head[3];
    bool had[3];
    const dlg_str *v;
    char seen[ZQ_STORE_KEY_MAX + 8], sttl[24];
    const char *argv[6];
    redisReply *r;
    int rc = 0, nkeys = 3;

    *expired = false;
    *dup = false;
    *replayed = false;
    memcpy(ver, "0", 2);
    /* key already holds the prefix; seen has room for any key's ":seen". */
    if (seen_key(key, seen, sizeof(seen)) < 0)
        return zq_err_set(t->err, ZQ_ETOOBIG, "dialogue: chat key too long");
    zq_dec(sttl, t->in->sig_ttl_s > 0 ? t->in->sig_ttl_s : 1);
    argv[0] = key;
    argv[1] = seen;
    argv[2] = dkey;
    if (skey[0] != '\0')
        argv[nkeys++] = skey;
    argv[nkeys] = t->in->dedup_id != NULL ? t->in->dedup_id : "";
    argv[nkeys + 1] = sttl;
    r = zq_store_script(t->env->store, t->err, &load_script, nkeys, nkeys + 2, argv, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type != REDIS_REPLY_STRING) {
        rc = zq_err_set(t->err, ZQ_EREPLY, "dialogue: unexpected reply to the load: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "not a string");
        freeReplyObject(r);
        return rc;
    }
    h.rep = r;
    rc = unpack_load(r->str, r->len, head, had, &h);
    if (rc < 0) {
        zq_err_set(t->err, -rc, "dialogue: %s",
                   rc == -ZQ_ENOMEM ? "out of memory" : "unexpected reply to the load");
        goto out;
    }
    *dup = t->in->dedup_id != NULL && had[1] && head[1].len == 1 && head[1].str[0] == '1';
    /* Gone between the two commands (it expired) means nobody else has it. */
    *replayed = skey[0] != '\0' && had[2] &&
                (head[2].len != strlen(t->in->dedup_id) ||
                 memcmp(head[2].str, t->in->dedup_id, head[2].len) != 0);
    v = hash_get(&h, "v", 1);
    if (v != NULL) {
        /* The version goes back to the saving script, which compares it
         * whole: a cut one could never match. */
        if (v->len >= 24) {
            rc = zq_err_set(t->err, ZQ_EREPLY, "dialogue: version too long");
            goto out;
        }
        memcpy(ver, v->str, v->len);
        ver[v->len] = '\0';
        rc = state_from_hash(t, &h);
        if (rc < 0) {
            zq_err_set(t->err, ZQ_ENOMEM, "dialogue: out of memory");
            goto out;
        }
    } else {
        if (had[0] && head[0].len == 1 && head[0].str[0] == '1')
            *expired = true;
        state_from_json(&t->st, NULL);
    }
    t->seen = had[0] && head[0].len == 1 ? head[0].str[0] : 0;
    load_files(t, hash_get(&h, "f", 1));
    if (v != NULL) {
        t->loaded = h;
        memset(&h, 0, sizeof(h));
    }
out:
    hash_free(&h);
    return rc;
}

/* KEYS: chat, seen, outbox stream, dedup, media jobs, media due.
 * ARGV: 1 version, 2 TTL, 3 seen marker ("" unchanged), 4 its TTL,
 * 5 dedup TTL ("0": none), 6 outbox entries, 7 fields set, 8 fields
 * deleted, then the field/value pairs, the deleted fields, the entries
 * (count, MAXLEN, fields...) and the media job (id, JSON, due). */
static zq_script save_script = {
    .src = "local v = redis.call('HGET', KEYS[1], 'v') or '0'\n"
           "if v ~= ARGV[1] then return -1 end\n"
           "if ARGV[5] ~= '0' and not redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[5]) then\n"
           "  return -2\n"
           "end\n"
           "local nv = tonumber(v) + 1\n"
           "local h = {'v', nv}\n"
           "local i = 9\n"
           "for e = 1, tonumber(ARGV[7]) do\n"
           "  h[#h + 1] = ARGV[i]\n"
           "  h[#h + 1] = ARGV[i + 1]\n"
           "  i = i + 2\n"
           "end\n"
           "redis.call('HSET', KEYS[1], unpack(h))\n"
           "local nd = tonumber(ARGV[8])\n"
           "if nd > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, i, i + nd - 1)) end\n"
           "i = i + nd\n"
           "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
           "if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4]) end\n"
           "for e = 1, tonumber(ARGV[6]) do\n"
           "  local c = tonumber(ARGV[i])\n"
           "  local args = {KEYS[3], 'MAXLEN', '~', ARGV[i + 1], '*'}\n"
           "  for j = 1, c do args[#args + 1] = ARGV[i + 1 + j] end\n"
           "  redis.call('XADD', unpack(args))\n"
           "  i = i + 2 + c\n"
           "end\n"
           "if ARGV[i] then\n"
           "  redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1])\n"
           "  redis.call('ZADD', KEYS[6], ARGV[i + 2], ARGV[i])\n"
           "end\n"
           "return nv\n"};

/* The fields a save writes and deletes, as offsets into one buffer (the
 * buffer may move while it grows). */
typedef struct delta {
    zq_buf bytes;
    size_t *off, *len; /* set: name, value, name, value...; then deleted names */
    size_t nset, ndel, cap;
    /* The usual turn's offsets, without two allocations. */
    size_t off_s[32], len_s[32];
} delta;

static void delta_init(delta *d)
{
    memset(d, 0, sizeof(*d));
    d->off = d->off_s;
    d->len = d->len_s;
    d->cap = ZQ_ARRAY_LEN(d->off_s);
}

/* Makes room for need more offsets. Returns 0 or -ZQ_ENOMEM. */
static int delta_grow(delta *d, size_t need)
{
    size_t cap = d->cap * 2, *o, *l;

    if (d->nset * 2 + d->ndel + need <= d->cap)
        return 0;
    o = malloc(cap * sizeof(*o));
    l = malloc(cap * sizeof(*l));
    if (o == NULL || l == NULL) {
        free(o);
        free(l);
        return -ZQ_ENOMEM;
    }
    memcpy(o, d->off, d->cap * sizeof(*o));
    memcpy(l, d->len, d->cap * sizeof(*l));
    if (d->off != d->off_s) {
        free(d->off);
        free(d->len);
    }
    d->off = o;
    d->len = l;
    d->cap = cap;
    return 0;
}

/* Adds name = the value appended to d->bytes from vfrom on, unless the
 * loaded hash has it already. Every set comes before the first delete.
 * Returns 0 or -ZQ_ENOMEM. */
static int delta_set(delta *d, const dlg_hash *loaded, const char *name, size_t nlen, size_t vfrom)
{
    const dlg_str *was = hash_get(loaded, name, nlen);
    size_t vlen = d->bytes.len - vfrom, nfrom = d->bytes.len;

    if (d->bytes.oom)
        return -ZQ_ENOMEM;
    if (was != NULL && was->len == vlen && memcmp(was->str, d->bytes.data + vfrom, vlen) == 0) {
        d->bytes.len = vfrom;
        return 0;
    }
    if (d->ndel != 0 || delta_grow(d, 2) < 0 || zq_buf_append(&d->bytes, name, nlen) < 0)
        return -ZQ_ENOMEM;
    d->off[d->nset * 2] = nfrom;
    d->len[d->nset * 2] = nlen;
    d->off[d->nset * 2 + 1] = vfrom;
    d->len[d->nset * 2 + 1] = vlen;
    d->nset++;
    return 0;
}

static int delta_del(delta *d, const char *name, size_t nlen)
{
    size_t from = d->bytes.len;

    if (delta_grow(d, 1) < 0 || zq_buf_append(&d->bytes, name, nlen) < 0)
        return -ZQ_ENOMEM;
    d->off[d->nset * 2 + d->ndel] = from;
    d->len[d->nset * 2 + d->ndel] = nlen;
    d->ndel++;
    return 0;
}

static void delta_free(delta *d)
{
    zq_buf_free(&d->bytes);
    if (d->off != d->off_s) {
        free(d->off);
        free(d->len);
    }
}

/* What the save writes: t always (seq changes on every turn), each
 * answer and k that differ from the loaded hash, and the deletion of
 * answers gone, of k when nothing is kept, and of s (the JSON of a state
 * saved before the fields). Returns 0 or -ZQ_ENOMEM. */
static int state_delta(turn *t, delta *d)
{
    const dlg_hash *h = &t->loaded;
    const dlg_str *was;
    const char *k;
    json_t *v;
    size_t from, i;
    int rc;

    from = d->bytes.len;
    enc_scalars(&d->bytes, &t->st);
    rc = delta_set(d, h, "t", 1, from);
    json_object_foreach(t->st.answers, k, v)
    {
        char name[64];
        size_t kl = strlen(k);

        /* Schema ids are short; a longer key is not one of ours. */
        if (rc < 0 || kl + 3 > sizeof(name))
            continue;
        name[0] = 'a';
        name[1] = ':';
        memcpy(name + 2, k, kl + 1);
        was = hash_get(h, name, kl + 2);
        /* Still the value the load decoded from this field: unchanged,
         * nothing to encode and compare. */
        if (was != NULL && was->val == v)
            continue;
        from = d->bytes.len;
        rc = enc_value(&d->bytes, v);
        if (rc == 0)
            rc = delta_set(d, h, name, kl + 2, from);
    }
    if (rc == 0 && t->st.keep_value != NULL && t->st.keep_field[0] != '\0') {
        from = d->bytes.len;
        rc = enc_value(&d->bytes, t->st.keep_value);
        if (rc == 0)
            rc = delta_set(d, h, "k", 1, from);
    }
    if (rc < 0)
        return rc;
    for (i = 0; i + 1 < h->n; i += 2) {
        const dlg_str *f = &h->f[i];
        bool gone;

        if (f->len > 2 && f->str[0] == 'a' && f->str[1] == ':')
            gone = json_object_getn(t->st.answers, f->str + 2, f->len - 2) == NULL;
        else if (f->len == 1 && f->str[0] == 'k')
            gone = t->st.keep_value == NULL || t->st.keep_field[0] == '\0';
        else
            gone = f->len == 1 && f->str[0] == 's';
        if (gone && (rc = delta_del(d, f->str, f->len)) < 0)
            return rc;
    }
    return 0;
}

/* The save's keys that depend only on the store's prefix: the outbox
 * stream and the media jobs' hash and queue. */
typedef struct fixed_keys {
    char prefix[ZQ_STORE_KEY_MAX];
    char outbox[ZQ_STORE_KEY_MAX], jobs[ZQ_STORE_KEY_MAX], due[ZQ_STORE_KEY_MAX];
    bool ok;
} fixed_keys;

/* This thread's fixed keys for st's prefix (borrowed: valid until the
 * next call), made once per thread and prefix instead of three
 * zq_store_key calls per turn; NULL when they do not fit. */
static const fixed_keys *fixed_keys_of(zq_store *st)
{
    static _Thread_local fixed_keys k;
    const char *prefix = zq_store_prefix(st);

    if (k.ok && strcmp(k.prefix, prefix) == 0)
        return &k;
    k.ok = zq_fmt(k.prefix, sizeof(k.prefix), "%s", prefix) == 0 &&
           zq_store_key(st, k.outbox, sizeof(k.outbox), "%s", ZQ_CHAT_OUTBOX_STREAM) == 0 &&
           zq_store_key(st, k.jobs, sizeof(k.jobs), "%s", ZQ_CHATMEDIA_JOBS) == 0 &&
           zq_store_key(st, k.due, sizeof(k.due), "%s", ZQ_CHATMEDIA_DUE) == 0;
    return k.ok ? &k : NULL;
}

/* Saves t->st if the version is still ver, with the outbox entries and
 * the message id's mark. Returns 1 when saved, 0 when someone else saved
 * first, 2 when the message id was applied meanwhile, or a negative code. */
static int save(turn *t, const char *key, const char *dkey, const char *ver,
                const zq_chat_outbox *ob)
{
    enum { FIXED = 14, PER = 2 + ZQ_CHAT_OUTBOX_FIELDS, JOB = 3 };
    /* Room for the usual save on the stack; a longer one (many answers
     * deleted at once) takes the heap. */
    const char *argv_s[128], **argv = NULL;
    size_t lens_s[128], *lens = NULL;
    char now[24], *jobjs = NULL;
    char seen[ZQ_STORE_KEY_MAX + 8], ttl[24], dttl[24], nent[24], nset[24], ndel[24],
        counts[ZQ_CHAT_OUTBOX_MAX][8], created[ZQ_CHAT_OUTBOX_MAX][24],
        expires[ZQ_CHAT_OUTBOX_MAX][24];
    const char *seenval;
    const fixed_keys *fk;
    delta d;
    redisReply *r;
    size_t i, argc = FIXED, max;
    int rc;

    delta_init(&d);
    zq_buf_reserve(&d.bytes, 512);
    if (state_delta(t, &d) < 0) {
        rc = zq_err_set(t->err, ZQ_ENOMEM, "dialogue: cannot encode state");
        goto out;
    }
    max = FIXED + d.nset * 2 + d.ndel + ob->n * PER + JOB;
    if (max <= ZQ_ARRAY_LEN(argv_s)) {
        argv = argv_s;
        lens = lens_s;
    } else {
        argv = malloc(max * sizeof(*argv));
        lens = malloc(max * sizeof(*lens));
    }
    if (argv == NULL || lens == NULL) {
        rc = zq_err_set(t->err, ZQ_ENOMEM, "dialogue: out of memory");
        goto out;
    }
    /* key already holds the prefix; seen has room for any key's ":seen". */
    if (seen_key(key, seen, sizeof(seen)) < 0 || (fk = fixed_keys_of(t->env->store)) == NULL) {
        rc = zq_err_set(t->err, ZQ_ETOOBIG, "dialogue: cannot format the save's arguments");
        goto out;
    }
    zq_dec(ttl, t->cfg->chat.session_ttl_s);
    zq_dec(nent, (long long)ob->n);
    zq_dec(nset, (long long)d.nset);
    zq_dec(ndel, (long long)d.ndel);
    zq_dec(dttl, t->in->dedup_id ? t->cfg->chat.dedup_ttl_s : 0);
    argv[0] = key;
    argv[1] = seen;
    argv[2] = fk->outbox;
    argv[3] = dkey;
    argv[4] = fk->jobs;
    argv[5] = fk->due;
    argv[6] = ver;
    argv[7] = ttl;
    /* The marker changes only when a flow opens or closes; it is written
     * then and when a session starts (its 30 days outlast any session). */
    seenval = t->st.mode == M_MENU ? "0" : "1";
    if (t->seen == seenval[0] && strcmp(ver, "0") != 0)
        seenval = "";
    argv[8] = seenval;
    argv[9] = STR(SEEN_TTL_S);
    argv[10] = dttl;
    argv[11] = nent;
    argv[12] = nset;
    argv[13] = ndel;
    for (i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    for (i = 0; i < d.nset * 2 + d.ndel; i++) {
        argv[argc] = d.bytes.data + d.off[i];
        lens[argc++] = d.len[i];
    }
    for (i = 0; i < ob->n; i++) {
        size_t n =
            zq_chat_outbox_fields(&ob->e[i], t->now_ms, created[i], expires[i], argv + argc + 2);
        size_t j;

        if (n == 0 || zq_fmt(counts[i], sizeof(counts[i]), "%zu", n) < 0) {
            rc = zq_err_set(t->err, ZQ_EINVAL, "dialogue: cannot format an outbox entry");
            goto out;
        }
        argv[argc] = counts[i];
        argv[argc + 1] = ZQ_CHAT_OUTBOX_MAXLEN;
        for (j = 0; j < 2 + n; j++)
            lens[argc + j] = strlen(argv[argc + j]);
        argc += 2 + n;
    }
    if (t->job != NULL) {
        jobjs = json_dumps(t->job, JSON_COMPACT);
        if (jobjs == NULL) {
            rc = zq_err_set(t->err, ZQ_ENOMEM, "dialogue: cannot encode the media job");
            goto out;
        }
        argv[argc] = json_string_value(json_object_get(t->job, "id"));
        argv[argc + 1] = jobjs;
        zq_dec(now, (long long)t->now_ms);
        argv[argc + 2] = now;
        for (i = 0; i < 3; i++)
            lens[argc + i] = strlen(argv[argc + i]);
        argc += 3;
    }
    r = zq_store_script(t->env->store, t->err, &save_script, 6, (int)argc, argv, lens);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (r->type == REDIS_REPLY_INTEGER)
        rc = r->integer > 0 ? 1 : r->integer == -2 ? 2 : 0;
    else
        rc = zq_err_set(t->err, ZQ_EREPLY, "dialogue: save failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
out:
    delta_free(&d);
    if (argv != argv_s) {
        free(argv);
        free(lens);
    }
    free(jobjs);
    return rc;
}

static bool channel_ok(const char *c)
{
    size_t i, n = c ? strlen(c) : 0;

    if (n == 0 || n > 15)
        return false;
    for (i = 0; i < n; i++)
        if (!(c[i] >= 'a' && c[i] <= 'z'))
            return false;
    return true;
}

static void pause_a_little(int attempt)
{
    unsigned char r = 0;
    struct timespec ts;

    if (attempt < 3)
        return;
    zq_random_bytes(&r, 1);
    ts.tv_sec = 0;
    ts.tv_nsec = (long)(r % 4 + 1) * 500000L; /* 0.5 to 2 ms: let the winner finish */
    nanosleep(&ts, NULL);
}

int zq_dialogue_handle(const zq_dialogue_env *env, const zq_dialogue_in *in,
                       zq_dialogue_replies *out, zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX], dkey[ZQ_STORE_KEY_MAX], skey[ZQ_STORE_KEY_MAX], ver[24];
    int attempt, rc = 0;

    memset(out, 0, sizeof(*out));
    skey[0] = '\0';
    if (!channel_ok(in->channel) || in->user == NULL || in->user[0] == '\0' ||
        strlen(in->user) > 1024 || (in->dedup_id != NULL && strlen(in->dedup_id) > 128) ||
        (in->sig_id != NULL && (in->dedup_id == NULL || strlen(in->sig_id) > 128)))
        return zq_err_set(err, ZQ_EINVAL, "dialogue: bad channel, user or message id");
    if (zq_store_key(env->store, dkey, sizeof(dkey), "dedup:%s:%s", in->channel,
                     in->dedup_id ? in->dedup_id : "-") < 0 ||
        (in->sig_id != NULL &&
         zq_store_key(env->store, skey, sizeof(skey), "sig:%s:%s", in->channel, in->sig_id) < 0))
        return zq_err_set(err, ZQ_ETOOBIG, "dialogue: message id key too long");
    if (env->schema == NULL)
        return zq_err_set(err, ZQ_EINVAL, "dialogue: no schema");
    for (attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        zq_chat_outbox ob = {0};
        turn t;
        bool expired = false, dup = false, replayed = false;

        memset(&t, 0, sizeof(t));
        t.env = env;
        t.in = in;
        t.schema = env->schema;
        t.cfg = env->cfg;
        t.err = err;
        t.replies = out;
        t.now_ms = env->now_ms > 0 ? env->now_ms : zq_now_ms();
        t.opts.uscc_checksum_warn_only = env->cfg->intake.uscc_warn_only;
        t.opts.money_ceiling_fen = env->cfg->intake.money_ceiling_yuan * 100;
        t.opts.today = env->today;
        /* No uploads in a chat: no kind of file can be required here. */
        t.opts.files_kinds_optional = true;
        zq_dialogue_user_key(in->user, t.user);
        if (zq_store_key(env->store, key, sizeof(key), "chat:%s:%s", in->channel, t.user) < 0)
            return zq_err_set(err, ZQ_ETOOBIG, "dialogue: chat key too long");
        rc = load(&t, key, dkey, skey, ver, &expired, &dup, &replayed);
        t.fresh = strcmp(ver, "0") == 0 && !expired;
        if (rc == 0 && (dup || replayed)) {
            state_free(&t.st);
            json_decref(t.files);
            hash_free(&t.loaded);
            out->replayed = replayed;
            out->duplicate = !replayed;
            return 0;
        }
        if (rc == 0) {
            /* A question with its options runs to a kilobyte or two: one
             * allocation instead of the doublings from 64 bytes. */
            zq_buf_reserve(&t.out, 2048);
            rc = process(&t, expired);
        }
        if (rc == 0) {
            flush(&t);
            t.st.seq++;
            if (env->outbox != NULL)
                rc = env->outbox(env->outbox_ctx, out, &ob);
        }
        if (rc == 0)
            rc = save(&t, key, dkey, ver, &ob);
        zq_chat_outbox_clear(&ob);
        zq_buf_free(&t.out);
        state_free(&t.st);
        json_decref(t.files);
        json_decref(t.job);
        hash_free(&t.loaded);
        if (rc == 1)
            return 0;
        zq_dialogue_replies_clear(out);
        if (rc == 2) {
            /* The same message went through another worker meanwhile. */
            out->duplicate = true;
            return 0;
        }
        if (rc < 0)
            return rc;
        pause_a_little(attempt);
    }
    ZQ_WARN("event=chat_conflict channel=%s attempts=%d", in->channel, MAX_ATTEMPTS);
    return zq_err_set(err, ZQ_EBUSY, "dialogue: state kept changing");
}

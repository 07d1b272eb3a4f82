/* The chat dialogue engine (see include/zhuqi/dialogue.h).
 *
 * Keys (prefix omitted):
 *   chat:{channel}:{user}        hash {v, s}: version and state JSON,
 *                                TTL [chat] session_ttl, sliding
 *   chat:{channel}:{user}:seen   "1" when the last save was inside a flow,
 *                                "0" otherwise; 30 days; tells a returning
 *                                user that an unfinished flow expired
 *   dedup:{channel}:{message id} "1", [chat] dedup_ttl: the message was
 *                                applied (set by the saving script)
 *   rl:lookup:chat:{channel}:{user}:{minute}   lookups this minute
 *   handoff:{token}              a draft for the web form, 15 minutes,
 *                                taken once (GETDEL)
 *   target:{id}, targets, targets:tag:{tag}    the push target of 订阅
 *                                (include/zhuqi/targets.h), id from
 *                                zq_target_chat_id("chat:{channel}:{user}"),
 *                                tags "tax" and "tax_day" (the audience
 *                                of the monthly reminders in
 *                                config/reminders.json), and when a region
 *                                is given its code and "region:<code>"
 *                                (the staff notices' convention)
 *
 * The state JSON: {mode, form, answers, cur, edit_step, draft, draft_v,
 * lookup, last_case, keep_field, keep_value, seq}. mode is one of menu,
 * form, review, lookup_id, lookup_mobile, sub_region. In the form the
 * question asked is the first visible field without an answer, except
 * while a group is being changed from the review (edit_step set), when it
 * is cur. An optional field skipped is answered null. */
#include "zhuqi/dialogue.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zhuqi/buf.h"
#include "zhuqi/cases.h"
#include "zhuqi/chatcrypt.h"
#include "zhuqi/classes.h"
#include "zhuqi/log.h"
#include "zhuqi/lookup.h"
#include "zhuqi/targets.h"

#define MAX_ATTEMPTS 64
#define SEEN_TTL_S 2592000
#define REVIEW_VALUE_CHARS 40
#define CMD_MAX 256

typedef enum mode {
    M_MENU,
    M_FORM,
    M_REVIEW,
    M_LOOKUP_ID,
    M_LOOKUP_MOBILE,
    M_SUB_REGION,
} mode;

static const char *const mode_names[] = {"menu",      "form",          "review",
                                         "lookup_id", "lookup_mobile", "sub_region"};

typedef struct dstate {
    mode mode;
    char form[32];
    json_t *answers; /* owned, an object */
    char cur[48];    /* the field asked while editing a group */
    char edit_step[48];
    char draft[33];
    long long draft_v;
    char lookup[ZQ_CASE_ID_MAX];
    char last_case[ZQ_CASE_ID_MAX];
    char keep_field[48];
    json_t *keep_value; /* owned or NULL */
    long long seq;
} dstate;

typedef struct turn {
    const zq_dialogue_env *env;
    const zq_dialogue_in *in;
    const zq_schema *schema;
    const zq_config *cfg;
    zq_schema_opts opts;
    char user[ZQ_DIALOGUE_USER_MAX + 1];
    int64_t now_ms;
    dstate st;
    zq_buf out; /* the reply being written */
    zq_dialogue_replies *replies;
    zq_err *err;
    bool fresh; /* no session before this message */
    char seen;  /* the marker as loaded: '0', '1', or 0 when missing */
} turn;

/* ---- replies --------------------------------------------------------- */

static void say(turn *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(turn *t, const char *fmt, ...)
{
    va_list ap;
    char small[512];
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        zq_buf_append(&t->out, small, (size_t)n);
        return;
    }
    if (zq_buf_reserve(&t->out, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(t->out.data + t->out.len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->out.len += (size_t)n;
}

/* Ends the current reply message; the next say() starts another. */
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

/* ---- small helpers --------------------------------------------------- */

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
    snprintf(out, ZQ_DIALOGUE_USER_MAX + 1, "h%s", hex);
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

/* A command as typed, normalised for matching: trimmed, full-width ASCII
 * folded, ASCII lower-cased, a Telegram "@botname" after a leading slash
 * command dropped, and trailing punctuation (。！!.) removed. Returns
 * false when it is too long to be a command. */
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
    return true;
}

static bool is_any(const char *cmd, const char *const *words)
{
    for (; *words != NULL; words++)
        if (strcmp(cmd, *words) == 0)
            return true;
    return false;
}

/* When cmd is word followed by an argument, returns the argument (spaces
 * skipped), else NULL. */
static const char *arg_of(const char *cmd, const char *word)
{
    size_t n = strlen(word);

    if (strncmp(cmd, word, n) != 0)
        return NULL;
    cmd += n;
    while (*cmd == ' ' || *cmd == ':' || strncmp(cmd, "：", 3) == 0)
        cmd += *cmd == ' ' || *cmd == ':' ? 1 : 3;
    return *cmd != '\0' ? cmd : NULL;
}

static const char *const W_MENU[] = {"菜单", "主菜单", "menu", "/menu", "/start", "开始", NULL};
static const char *const W_HELP[] = {"帮助", "help", "/help", "?", "？", "使用说明", NULL};
static const char *const W_CANCEL[] = {"取消", "/cancel", "cancel", "放弃", NULL};
static const char *const W_BACK[] = {"返回", "上一题", "上一步", "/back", NULL};
static const char *const W_SKIP[] = {"跳过", "/skip", "不填", NULL};
static const char *const W_KEEP[] = {"保留", "不修改", "不变", NULL};
static const char *const W_CONFIRM[] = {"确认", "确认提交", "提交", "/confirm", NULL};
static const char *const W_WEB[] = {"网页填写", "网页", "/web", NULL};
static const char *const W_UNSUB[] = {"退订", "取消订阅", "/unsubscribe", NULL};
static const char *const W_CONSULT[] = {"1", "咨询", "在线咨询", "在线问诊", "问诊", NULL};
static const char *const W_COMPLAINT[] = {"2",        "投诉",         "欠款投诉",
                                          "拖欠投诉", "拖欠款项投诉", NULL};
static const char *const W_LOOKUP[] = {"3", "查询", "查询进度", "进度", "/status", NULL};
static const char *const W_SUB[] = {"4",          "订阅", "订阅税务助企提醒", "订阅提醒", "提醒",
                                    "/subscribe", NULL};
static const char *const W_CLASSES[] = {"5",          "课程",     "近期课程", "课堂",
                                        "财税云课堂", "/classes", NULL};

static const char *const CN_NUM[] = {"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"};

/* ---- the form -------------------------------------------------------- */

static const zq_form *form_of(const turn *t)
{
    return t->st.form[0] ? zq_schema_form(t->schema, t->st.form) : NULL;
}

static size_t data_steps(const zq_form *f)
{
    size_t i, n = 0;

    for (i = 0; i < f->nsteps; i++)
        if (!f->steps[i].review)
            n++;
    return n;
}

static size_t step_index(const zq_form *f, const zq_field *fld)
{
    size_t i;

    for (i = 0; i < f->nsteps; i++)
        if (f->steps[i].nfields > 0 && fld >= f->steps[i].fields &&
            fld < f->steps[i].fields + f->steps[i].nfields)
            return i;
    return 0;
}

/* True when fld is shown given the answers (conditions point back). */
static bool visible(const zq_form *f, json_t *answers, const zq_field *fld)
{
    json_t *vis = zq_form_visible_answers(f, answers);
    bool v = vis != NULL && zq_field_visible(fld, vis);

    json_decref(vis);
    return v;
}

/* The first visible field without an answer, or NULL when done. */
static const zq_field *first_open(const zq_form *f, json_t *answers)
{
    json_t *vis = zq_form_visible_answers(f, answers);
    const zq_field *found = NULL;
    size_t i, j;

    for (i = 0; vis != NULL && found == NULL && i < f->nsteps; i++)
        for (j = 0; found == NULL && j < f->steps[i].nfields; j++) {
            const zq_field *fld = &f->steps[i].fields[j];

            if (zq_field_visible(fld, vis) && json_object_get(answers, fld->id) == NULL)
                found = fld;
        }
    json_decref(vis);
    return found;
}

/* The visible field of step st after fld (NULL: from the start), or NULL. */
static const zq_field *next_in_step(const zq_form *f, const zq_step *st, json_t *answers,
                                    const zq_field *fld)
{
    size_t j = fld ? (size_t)(fld - st->fields) + 1 : 0;

    for (; j < st->nfields; j++)
        if (visible(f, answers, &st->fields[j]))
            return &st->fields[j];
    return NULL;
}

static const zq_field *prev_in_step(const zq_form *f, const zq_step *st, json_t *answers,
                                    const zq_field *fld)
{
    size_t j = (size_t)(fld - st->fields);

    while (j-- > 0)
        if (visible(f, answers, &st->fields[j]))
            return &st->fields[j];
    return NULL;
}

/* The last visible answered field before fld in form order (NULL fld:
 * the last of the form). */
static const zq_field *prev_answered(const zq_form *f, json_t *answers, const zq_field *fld)
{
    const zq_field *last = NULL;
    size_t i, j;

    for (i = 0; i < f->nsteps; i++)
        for (j = 0; j < f->steps[i].nfields; j++) {
            const zq_field *x = &f->steps[i].fields[j];

            if (x == fld)
                return last;
            if (json_object_get(answers, x->id) != NULL && visible(f, answers, x))
                last = x;
        }
    return last;
}

static bool first_visible_of_step(const zq_form *f, json_t *answers, const zq_field *fld)
{
    const zq_step *st = &f->steps[step_index(f, fld)];

    return next_in_step(f, st, answers, NULL) == fld;
}

/* Writes a value for people: the schema's display string, cut to max
 * characters (0: no cut) with line breaks turned into spaces. */
static void say_value(turn *t, const zq_field *fld, json_t *v, size_t max)
{
    char *d = zq_field_display(t->schema, fld, v, true);
    size_t len, i;

    if (d == NULL)
        return;
    for (i = 0; d[i] != '\0'; i++)
        if (d[i] == '\n' || d[i] == '\r')
            d[i] = ' ';
    len = strlen(d);
    if (max > 0 && zq_utf8_chars(d, len) > max) {
        size_t cut = 0, chars = 0;

        while (cut < len && chars < max) {
            cut++;
            while (cut < len && ((unsigned char)d[cut] & 0xC0) == 0x80)
                cut++;
            chars++;
        }
        zq_buf_append(&t->out, d, cut);
        say(t, "…");
    } else {
        zq_buf_append(&t->out, d, len);
    }
    free(d);
}

static void say_hint(turn *t, const zq_field *f)
{
    switch (f->type) {
    case ZQ_FIELD_ENUM: say(t, "请回复序号或选项名称。\n"); break;
    case ZQ_FIELD_BOOL:
        if (f->must_be_true)
            say(t, "请回复“同意”确认此项声明。\n");
        else
            say(t, "请回复“是”或“否”。\n");
        break;
    case ZQ_FIELD_DATE:
        say(t, "请按“年-月-日”填写，例如：%s\n", f->example ? f->example : "2025-03-18");
        return;
    case ZQ_FIELD_MONEY:
        say(t, "以元为单位，可精确到分，例如：%s\n", f->example ? f->example : "125000.00");
        return;
    case ZQ_FIELD_REGION:
        if (f->allow_outside)
            say(t, "请回复市（州）名称，例如：成都市；四川省外的请回复省份名称，例如：重庆市\n");
        else
            say(t, "请回复市（州）名称，例如：%s\n", f->example ? f->example : "成都市");
        return;
    default: break;
    }
    if (f->example != NULL) {
        if (strchr(f->example, '\n') != NULL)
            say(t, "例如：\n%s\n", f->example);
        else
            say(t, "例如：%s\n", f->example);
    }
}

/* Asks fld: the group's title when it opens one (or always when header),
 * the label, help, options, example, and how to skip or keep. */
static void ask(turn *t, const zq_field *fld, bool header)
{
    const zq_form *f = form_of(t);
    size_t si, k, i, n = 0;
    json_t *cur;

    if (f == NULL || fld == NULL)
        return;
    si = step_index(f, fld);
    for (i = 0; i < si; i++)
        if (!f->steps[i].review)
            n++;
    if (header || first_visible_of_step(f, t->st.answers, fld)) {
        say(t, "【第%s部分（共 %zu 部分）：%s】\n", n < 10 ? CN_NUM[n] : "", data_steps(f),
            f->steps[si].title);
        if (f->steps[si].description != NULL)
            say(t, "%s\n", f->steps[si].description);
        say(t, "\n");
    }
    say(t, "%s%s%s\n",
        fld->type == ZQ_FIELD_ENUM || fld->type == ZQ_FIELD_REGION ? "请选择："
        : fld->type == ZQ_FIELD_BOOL                               ? ""
                                                                   : "请填写：",
        fld->label, fld->required ? "" : "（选填）");
    if (fld->help != NULL)
        say(t, "%s\n", fld->help);
    for (k = 0; k < fld->noptions; k++)
        say(t, "%zu. %s\n", k + 1, fld->options[k].label);
    say_hint(t, fld);
    if (!fld->required)
        say(t, "不填请回复“跳过”。\n");
    cur = strcmp(t->st.keep_field, fld->id) == 0 ? t->st.keep_value : NULL;
    if (cur != NULL) {
        say(t, "当前：");
        say_value(t, fld, cur, REVIEW_VALUE_CHARS);
        say(t, "，不修改请回复“保留”。\n");
    }
}

/* Remembers the value a field had, so that 保留 can restore it. */
static void set_keep(turn *t, const zq_field *fld, json_t *v)
{
    json_decref(t->st.keep_value);
    t->st.keep_value = v ? json_incref(v) : NULL;
    snprintf(t->st.keep_field, sizeof(t->st.keep_field), "%s", v && fld ? fld->id : "");
}

static void clear_draft(turn *t)
{
    json_decref(t->st.answers);
    t->st.answers = json_object();
    t->st.form[0] = '\0';
    t->st.cur[0] = '\0';
    t->st.edit_step[0] = '\0';
    t->st.draft[0] = '\0';
    t->st.draft_v = 0;
    set_keep(t, NULL, NULL);
}

static void say_menu(turn *t)
{
    say(t, "请回复序号或文字选择：\n"
           "1 咨询（在线问诊）\n"
           "2 投诉（拖欠中小企业款项）\n"
           "3 查询进度\n"
           "4 订阅税务助企提醒\n"
           "5 近期课程\n"
           "随时回复“菜单”回到这里，回复“帮助”查看使用说明。");
}

static void show_menu(turn *t, bool greet)
{
    const zq_form *f = form_of(t);

    t->st.mode = M_MENU;
    if (greet)
        say(t, "您好！这里是四川省中小企业服务“助企”。\n");
    if (f != NULL)
        say(t, "您有未完成的“%s”，回复“%s”可以继续填写。\n", f->title,
            strcmp(f->id, "complaint") == 0 ? "2" : "1");
    say_menu(t);
}

static void say_help(turn *t)
{
    say(t, "使用说明：\n"
           "· 回复序号或文字选择菜单项；\n"
           "· 填写时每次回答一个问题，随时可以回复：\n"
           "  返回 — 回到上一题\n"
           "  跳过 — 跳过选填项\n"
           "  取消 — 放弃本次填写\n"
           "  菜单 — 回到主菜单（已填内容会保留）\n"
           "  网页填写 — 获取链接，在网页上接着填写\n"
           "· 核对时回复“确认”提交，或回复“修改”加部分名称或序号修改某一部分；\n"
           "· 查询 编号 — 查询办理进度，例如“查询 TS20261126-0001”；\n"
           "· 订阅 / 退订 — 税务助企提醒（每月 27 日税务助企宣讲日）。");
}

/* ---- flows ----------------------------------------------------------- */

static void say_review(turn *t);

/* Goes to the next question (or the review) after an answer. */
static void advance(turn *t, const zq_field *done)
{
    const zq_form *f = form_of(t);
    const zq_field *next = NULL;

    set_keep(t, NULL, NULL);
    if (t->st.edit_step[0] != '\0') {
        const zq_step *st = zq_form_step(f, t->st.edit_step);

        next = st ? next_in_step(f, st, t->st.answers, done) : NULL;
        if (next != NULL) {
            snprintf(t->st.cur, sizeof(t->st.cur), "%s", next->id);
            set_keep(t, next, json_object_get(t->st.answers, next->id));
            ask(t, next, false);
            return;
        }
        t->st.edit_step[0] = '\0';
        t->st.cur[0] = '\0';
    }
    next = first_open(f, t->st.answers);
    if (next != NULL) {
        t->st.mode = M_FORM;
        ask(t, next, false);
        return;
    }
    say_review(t);
}

/* The field being asked now, or NULL. */
static const zq_field *current(turn *t)
{
    const zq_form *f = form_of(t);

    if (f == NULL)
        return NULL;
    if (t->st.edit_step[0] != '\0')
        return zq_form_field(f, t->st.cur, NULL);
    return first_open(f, t->st.answers);
}

/* Validates one answer like the web does: the field's own validator, then
 * the cross-field rules of its step that land on it. Returns 0 with a new
 * value in *val (and a warning or NULL in *warn, copied into warnbuf), or
 * -ZQ_EINVAL after having said the message. */
static int check_answer(turn *t, const zq_field *fld, const char *text, size_t len, json_t **val,
                        char *warnbuf, size_t warnsz)
{
    const zq_form *f = form_of(t);
    const zq_step *st = &f->steps[step_index(f, fld)];
    json_t *raw = json_stringn_nocheck(text, len), *input = NULL, *norm = NULL, *errs = NULL;
    const char *msg = NULL;
    size_t j;
    int rc;

    warnbuf[0] = '\0';
    rc = zq_field_validate(t->schema, fld, raw, &t->opts, val, &msg);
    json_decref(raw);
    if (rc == -ZQ_ENOMEM)
        return rc;
    if (rc < 0) {
        say(t, "%s。\n", msg ? msg : "输入的内容不正确");
        return -ZQ_EINVAL;
    }
    if (msg != NULL)
        snprintf(warnbuf, warnsz, "%s", msg);
    /* The step as it would stand, for the rules (missing fields of the
     * step give errors of their own, which are not this answer's). */
    input = json_object();
    for (j = 0; input != NULL && j < st->nfields; j++) {
        json_t *v = json_object_get(t->st.answers, st->fields[j].id);

        if (&st->fields[j] == fld)
            json_object_set(input, fld->id, *val);
        else if (v != NULL)
            json_object_set(input, st->fields[j].id, v);
    }
    if (input != NULL &&
        zq_step_validate(t->schema, f, st, input, t->st.answers, &t->opts, &norm, &errs) < 0) {
        const char *m = json_string_value(json_object_get(errs, fld->id));

        if (m != NULL) {
            say(t, "%s。\n", m);
            json_decref(*val);
            *val = NULL;
            rc = -ZQ_EINVAL;
        }
    }
    json_decref(input);
    json_decref(norm);
    json_decref(errs);
    return rc < 0 ? rc : 0;
}

/* Re-asks fld briefly after an error. */
static void reask(turn *t, const zq_field *fld)
{
    say(t, "请重新回复：%s", fld->label);
    if (fld->type == ZQ_FIELD_ENUM) {
        size_t k;

        say(t, "\n");
        for (k = 0; k < fld->noptions; k++)
            say(t, "%zu. %s\n", k + 1, fld->options[k].label);
    } else if (fld->example != NULL && fld->type != ZQ_FIELD_BOOL &&
               strchr(fld->example, '\n') == NULL) {
        say(t, "（例如：%s）", fld->example);
    }
    if (!fld->required)
        say(t, "\n不填请回复“跳过”。");
}

static void start_flow(turn *t, const char *form_id)
{
    const zq_form *f = zq_schema_form(t->schema, form_id);
    const zq_form *old = form_of(t);

    if (f == NULL) {
        say(t, "暂时无法办理这个事项，请稍后再试。\n");
        say_menu(t);
        return;
    }
    if (old != NULL && old == f) {
        const zq_field *cur;

        say(t, "继续填写“%s”。\n\n", f->title);
        if (t->st.edit_step[0] == '\0' && first_open(f, t->st.answers) == NULL) {
            say_review(t);
            return;
        }
        t->st.mode = M_FORM;
        cur = current(t);
        ask(t, cur, true);
        return;
    }
    if (old != NULL)
        say(t, "已放弃未完成的“%s”。\n", old->title);
    clear_draft(t);
    snprintf(t->st.form, sizeof(t->st.form), "%s", f->id);
    if (zq_random_hex(t->st.draft, 16) < 0)
        snprintf(t->st.draft, sizeof(t->st.draft), "%016llx", (unsigned long long)t->now_ms);
    t->st.mode = M_FORM;
    say(t,
        "【%"
        "s】\n一次回答一个问题。随时可以回复“返回”回到上一题、“取消”放弃填写、“帮助”查看说明。\n\n",
        f->title);
    ask(t, first_open(f, t->st.answers), true);
}

/* Fills done/step of a web draft from the answers. */
static json_t *web_draft(const zq_form *f, json_t *answers)
{
    json_t *vis = zq_form_visible_answers(f, answers), *done = json_array();
    const char *step = NULL;
    size_t i, j;

    for (i = 0; vis != NULL && done != NULL && i < f->nsteps; i++) {
        bool all = true;

        if (f->steps[i].review) {
            if (step == NULL)
                step = f->steps[i].id;
            continue;
        }
        for (j = 0; j < f->steps[i].nfields; j++) {
            const zq_field *fld = &f->steps[i].fields[j];

            if (zq_field_visible(fld, vis) && json_object_get(answers, fld->id) == NULL)
                all = false;
        }
        if (all && step == NULL)
            json_array_append_new(done, json_string(f->steps[i].id));
        else if (step == NULL)
            step = f->steps[i].id;
    }
    if (vis == NULL || done == NULL) {
        json_decref(vis);
        json_decref(done);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:o, s:o}", "form", f->id, "step", step ? step : "", "answers",
                     vis, "done", done);
}

static int handoff(turn *t)
{
    const zq_form *f = form_of(t);
    const char *base = t->cfg->chat.web_base_url;
    char token[65];
    json_t *d;
    char *js;
    redisReply *r;
    int rc = 0;

    if (base[0] == '\0') {
        say(t, "网页填写暂未开放，请继续在这里填写。\n");
        goto reask;
    }
    if (f == NULL) {
        say(t,
            "请先回复 1 咨询 或 2 投诉 开始填写，之后可以随时回复“网页填写”转到网页上接着填。\n");
        return 0;
    }
    if (zq_random_hex(token, 32) < 0)
        return zq_err_set(t->err, ZQ_EIO, "dialogue: no random bytes");
    d = web_draft(f, t->st.answers);
    js = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (js == NULL)
        return zq_err_set(t->err, ZQ_ENOMEM, "dialogue: out of memory");
    r = zq_store_command(t->env->store, t->err, "SET %shandoff:%s %s EX %d",
                         zq_store_prefix(t->env->store), token, js, ZQ_DIALOGUE_HANDOFF_TTL_S);
    free(js);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR)
        rc = zq_err_set(t->err, ZQ_EREPLY, "dialogue: handoff: %s", r->str);
    freeReplyObject(r);
    if (rc < 0)
        return rc;
    say(t,
        "请在 15 "
        "分钟内打开下面的链接，在网页上接着填写“%s”（链接只能使用一次）：\n%s/"
        "form.html?form=%s#handoff=%s\n",
        f->title, base, f->id, token);
reask:
    if (t->st.mode == M_FORM) {
        const zq_field *cur = current(t);

        if (cur != NULL) {
            say(t, "\n也可以继续在这里回答：\n");
            ask(t, cur, false);
        }
    }
    return 0;
}

int zq_dialogue_take_handoff(zq_store *st, const char *token, json_t **draft, zq_err *err)
{
    redisReply *r;
    size_t i, n = token ? strlen(token) : 0;

    *draft = NULL;
    if (n != 64)
        return -ZQ_ENOTFOUND;
    for (i = 0; i < n; i++)
        if (!isxdigit((unsigned char)token[i]) || isupper((unsigned char)token[i]))
            return -ZQ_ENOTFOUND;
    r = zq_store_command(st, err, "GETDEL %shandoff:%s", zq_store_prefix(st), token);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_STRING)
        *draft = json_loadb(r->str, r->len, 0, NULL);
    freeReplyObject(r);
    return json_is_object(*draft) ? 0 : -ZQ_ENOTFOUND;
}

/* The review: every visible answer by group, then how to confirm. */
static void say_review_body(turn *t)
{
    const zq_form *f = form_of(t);
    json_t *vis = zq_form_visible_answers(f, t->st.answers);
    size_t i, j, n = 0;

    say(t, "请核对您填写的“%s”：\n", f->title);
    for (i = 0; vis != NULL && i < f->nsteps; i++) {
        if (f->steps[i].review)
            continue;
        say(t, "\n【%zu. %s】\n", ++n, f->steps[i].title);
        for (j = 0; j < f->steps[i].nfields; j++) {
            const zq_field *fld = &f->steps[i].fields[j];

            if (!zq_field_visible(fld, vis))
                continue;
            say(t, "%s：", fld->label);
            say_value(t, fld, json_object_get(vis, fld->id), REVIEW_VALUE_CHARS);
            say(t, "\n");
        }
    }
    json_decref(vis);
    say(t,
        "\n确认无误请回复“确认”提交；需要修改请回复“修改”加部分序号或名称，例如“修改 1”或“修改 "
        "%s”；回复“取消”放弃填写。",
        f->nsteps > 0 ? f->steps[0].title : "");
}

/* Checks the whole draft like the web's submit. Returns true when it is
 * ready; else says the first problem and asks that field again. */
static bool draft_ready(turn *t)
{
    const zq_form *f = form_of(t);
    json_t *vis = zq_form_visible_answers(f, t->st.answers), *errs = NULL;
    const char *bad_step = NULL;
    bool ok = true;
    size_t i, j;

    if (vis != NULL &&
        zq_form_validate_all(t->schema, f, vis, &t->opts, &errs, &bad_step) == -ZQ_EINVAL) {
        const zq_field *fld = NULL;

        for (i = 0; fld == NULL && i < f->nsteps; i++)
            for (j = 0; fld == NULL && j < f->steps[i].nfields; j++)
                if (json_object_get(errs, f->steps[i].fields[j].id) != NULL)
                    fld = &f->steps[i].fields[j];
        ok = false;
        if (fld != NULL) {
            say(t, "%s。\n\n", json_string_value(json_object_get(errs, fld->id)));
            /* The value that failed is asked for again, not kept. */
            json_object_del(t->st.answers, fld->id);
            set_keep(t, NULL, NULL);
            t->st.edit_step[0] = '\0';
            t->st.draft_v++;
            t->st.mode = M_FORM;
            ask(t, fld, true);
        }
    }
    json_decref(vis);
    json_decref(errs);
    return ok;
}

static void say_review(turn *t)
{
    t->st.edit_step[0] = '\0';
    t->st.cur[0] = '\0';
    if (!draft_ready(t))
        return;
    t->st.mode = M_REVIEW;
    say_review_body(t);
}

static int confirm(turn *t)
{
    const zq_form *f = form_of(t);
    json_t *vis;
    zq_case_new in;
    unsigned char md[32];
    unsigned int mdlen = 0;
    char seed[256], hex[33], key[48], source[128], id[ZQ_CASE_ID_MAX], dup[ZQ_CASE_ID_MAX];
    bool created = false;
    int rc;

    if (!draft_ready(t))
        return 0;
    vis = zq_form_visible_answers(f, t->st.answers);
    if (vis == NULL)
        return zq_err_set(t->err, ZQ_ENOMEM, "dialogue: out of memory");
    /* The same draft at the same version always gives the same key, so a
     * repeated 确认 (or a retry of this message) finds the same case. */
    snprintf(seed, sizeof(seed), "%s:%s:%s:%lld", t->in->channel, t->user, t->st.draft,
             t->st.draft_v);
    if (EVP_Digest(seed, strlen(seed), md, &mdlen, EVP_sha256(), NULL) != 1) {
        json_decref(vis);
        return zq_err_set(t->err, ZQ_EIO, "dialogue: digest failed");
    }
    zq_hex(md, 16, hex);
    snprintf(key, sizeof(key), "chat-%s", hex);
    snprintf(source, sizeof(source), "chat:%s:%s", t->in->channel, t->user);
    memset(&in, 0, sizeof(in));
    in.form = f;
    in.answers = vis;
    in.idem_key = key;
    in.source = source;
    in.now_ms = t->now_ms;
    in.idem_ttl_s = t->cfg->intake.idempotency_ttl_s;
    in.dup_window_days = t->cfg->intake.duplicate_window_days;
    rc = zq_case_create(t->env->store, &in, id, &created, dup, t->err);
    json_decref(vis);
    if (rc < 0)
        return rc;
    ZQ_INFO("event=case_created id=%s form=%s created=%d source=chat:%s dup_of=%s", id, f->id,
            created, t->in->channel, dup[0] ? dup : "-");
    say(t, "提交成功！您的%s编号是：%s\n", strcmp(f->id, "complaint") == 0 ? "投诉" : "咨询", id);
    say(t,
        "请记下这个编号。我们会按规定办理，凭编号和手机号码可以随时回复“查询 "
        "%s”查看办理进度。\n\n回复“菜单”返回主菜单。",
        id);
    clear_draft(t);
    snprintf(t->st.last_case, sizeof(t->st.last_case), "%s", id);
    t->st.mode = M_MENU;
    return 0;
}

/* 修改 <group>: a step by number or title (or id). */
static void edit_group(turn *t, const char *which)
{
    const zq_form *f = form_of(t);
    const zq_step *st = NULL;
    const zq_field *first;
    long long k;
    size_t i, n = 0;

    if (zq_parse_ll(which, strlen(which), 1, 99, &k) == 0) {
        for (i = 0; i < f->nsteps && st == NULL; i++)
            if (!f->steps[i].review && (long long)++n == k)
                st = &f->steps[i];
    } else {
        for (i = 0; i < f->nsteps && st == NULL; i++)
            if (!f->steps[i].review &&
                (strcmp(f->steps[i].title, which) == 0 || strcmp(f->steps[i].id, which) == 0))
                st = &f->steps[i];
    }
    first = st ? next_in_step(f, st, t->st.answers, NULL) : NULL;
    if (first == NULL) {
        say(t, "没有找到“%s”。可以修改的部分：", which);
        for (i = 0, n = 0; i < f->nsteps; i++)
            if (!f->steps[i].review) {
                n++;
                say(t, "%s%zu %s", n > 1 ? "、" : "", n, f->steps[i].title);
            }
        say(t, "。请回复“修改”加序号，例如“修改 1”。");
        return;
    }
    t->st.mode = M_FORM;
    snprintf(t->st.edit_step, sizeof(t->st.edit_step), "%s", st->id);
    snprintf(t->st.cur, sizeof(t->st.cur), "%s", first->id);
    set_keep(t, first, json_object_get(t->st.answers, first->id));
    say(t, "修改“%s”：逐项回答，不修改的项回复“保留”。\n\n", st->title);
    ask(t, first, true);
}

/* One answer (or 跳过 / 保留) to the current question. */
static int form_input(turn *t, const char *cmd, const char *text, size_t len)
{
    const zq_form *f = form_of(t);
    const zq_field *fld = current(t);
    json_t *val = NULL;
    char warn[512];
    int rc;

    if (fld == NULL) {
        say_review(t);
        return 0;
    }
    if (is_any(cmd, W_BACK)) {
        const zq_field *prev;

        if (t->st.edit_step[0] != '\0') {
            const zq_step *st = zq_form_step(f, t->st.edit_step);

            prev = prev_in_step(f, st, t->st.answers, fld);
            if (prev == NULL) {
                say_review(t);
                return 0;
            }
            snprintf(t->st.cur, sizeof(t->st.cur), "%s", prev->id);
            set_keep(t, prev, json_object_get(t->st.answers, prev->id));
            ask(t, prev, false);
            return 0;
        }
        prev = prev_answered(f, t->st.answers, fld);
        if (prev == NULL) {
            say(t, "已经是第一个问题了。\n\n");
            ask(t, fld, false);
            return 0;
        }
        set_keep(t, prev, json_object_get(t->st.answers, prev->id));
        json_object_del(t->st.answers, prev->id);
        t->st.draft_v++;
        ask(t, prev, false);
        return 0;
    }
    if (is_any(cmd, W_KEEP) && strcmp(t->st.keep_field, fld->id) == 0 && t->st.keep_value) {
        json_object_set(t->st.answers, fld->id, t->st.keep_value);
        t->st.draft_v++;
        advance(t, fld);
        return 0;
    }
    if (is_any(cmd, W_SKIP)) {
        if (fld->required) {
            say(t, "“%s”是必填项，不能跳过。\n", fld->label);
            reask(t, fld);
            return 0;
        }
        json_object_set_new(t->st.answers, fld->id, json_null());
        t->st.draft_v++;
        advance(t, fld);
        return 0;
    }
    if (is_any(cmd, W_CONFIRM)) {
        say(t, "还没有填写完，请先回答当前的问题。\n\n");
        ask(t, fld, false);
        return 0;
    }
    if (arg_of(cmd, "修改") != NULL) {
        say(t, "“修改”在全部填写完、核对内容时使用。请先回答当前的问题：\n\n");
        ask(t, fld, false);
        return 0;
    }
    rc = check_answer(t, fld, text, len, &val, warn, sizeof(warn));
    if (rc == -ZQ_ENOMEM)
        return zq_err_set(t->err, ZQ_ENOMEM, "dialogue: out of memory");
    if (rc < 0) {
        reask(t, fld);
        return 0;
    }
    json_object_set_new(t->st.answers, fld->id, val);
    t->st.draft_v++;
    if (warn[0] != '\0')
        say(t, "提示：%s。\n\n", warn);
    advance(t, fld);
    return 0;
}

static int review_input(turn *t, const char *cmd)
{
    const zq_form *f = form_of(t);
    const char *which = arg_of(cmd, "修改");

    if (is_any(cmd, W_CONFIRM))
        return confirm(t);
    if (which != NULL) {
        edit_group(t, which);
        return 0;
    }
    if (strcmp(cmd, "修改") == 0) {
        edit_group(t, "?");
        return 0;
    }
    if (is_any(cmd, W_BACK)) {
        const zq_field *prev = prev_answered(f, t->st.answers, NULL);

        if (prev != NULL) {
            set_keep(t, prev, json_object_get(t->st.answers, prev->id));
            json_object_del(t->st.answers, prev->id);
            t->st.draft_v++;
            t->st.mode = M_FORM;
            ask(t, prev, false);
            return 0;
        }
    }
    say(t, "请回复“确认”提交，或回复“修改”加部分序号修改（例如“修改 1”），回复“取消”放弃填写。");
    return 0;
}

/* ---- lookups --------------------------------------------------------- */

static void upper_id(const char *in, char *out, size_t outsz)
{
    size_t i;

    for (i = 0; in[i] != '\0' && i + 1 < outsz; i++)
        out[i] = (char)toupper((unsigned char)in[i]);
    out[i] = '\0';
}

static void lookup_ask_id(turn *t)
{
    t->st.mode = M_LOOKUP_ID;
    say(t, "请回复要查询的案件编号，例如：TS20261126-0001（回复“菜单”返回）。");
}

static void lookup_take_id(turn *t, const char *arg)
{
    char id[64];

    upper_id(arg, id, sizeof(id));
    if (strlen(id) >= ZQ_CASE_ID_MAX || !zq_case_id_valid(id)) {
        t->st.mode = M_LOOKUP_ID;
        say(t, "案件编号格式不正确：应为两个字母、8 位日期、短横线和序号，例如 "
               "TS20261126-0001。请重新回复编号（回复“菜单”返回）。");
        return;
    }
    memcpy(t->st.lookup, id, strlen(id) + 1);
    t->st.mode = M_LOOKUP_MOBILE;
    say(t, "请回复提交时填写的手机号码，用于核实身份。");
}

/* The time limit running now, worded as the web's lookup page words it
 * (nginx/html/assets/lookup.js): "受理审查期限：2026年12月9日前（还有 3
 * 个工作日）". Nothing when no clock runs. */
static void say_deadline(turn *t, json_t *d)
{
    const char *what = json_string_value(json_object_get(d, "what"));
    const char *due = json_string_value(json_object_get(d, "due"));
    const char *unit = json_string_value(json_object_get(d, "unit"));
    json_t *left = json_object_get(d, "days_left");
    zq_date day;

    if (due == NULL || zq_date_parse(due, strlen(due), &day) < 0)
        return;
    say(t, "下一个办理时限：\n· %s：%d年%d月%d日前", what && *what ? what : "办理期限", day.y,
        day.m, day.d);
    if (json_is_true(json_object_get(d, "overdue")))
        say(t, "（已超过期限）");
    else if (json_is_integer(left) && json_integer_value(left) > 0)
        say(t, "（还有 %lld%s）", (long long)json_integer_value(left),
            unit != NULL && strcmp(unit, "workdays") == 0 ? " 个工作日" : " 天");
    else if (json_is_integer(left))
        say(t, "（今天到期）");
    if (json_is_true(json_object_get(d, "extended")))
        say(t, "，期限已延长");
    say(t, "\n");
}

static void say_public_case(turn *t, json_t *pub)
{
    json_t *hist = json_object_get(pub, "history"), *e, *contact = json_object_get(pub, "contact");
    const char *created = json_string_value(json_object_get(pub, "created_at"));
    size_t i;

    say(t, "案件编号：%s\n", json_string_value(json_object_get(pub, "id")));
    say(t, "事项：%s\n", json_string_value(json_object_get(pub, "type_label")));
    say(t, "当前状态：%s\n", json_string_value(json_object_get(pub, "status_label")));
    if (created != NULL)
        say(t, "提交时间：%.10s %.5s\n", created, strlen(created) >= 16 ? created + 11 : "");
    if (json_string_value(json_object_get(contact, "company_name")) != NULL &&
        *json_string_value(json_object_get(contact, "company_name")) != '\0')
        say(t, "企业：%s\n", json_string_value(json_object_get(contact, "company_name")));
    say(t, "联系人：%s（%s）\n", json_string_value(json_object_get(contact, "contact_name")),
        json_string_value(json_object_get(contact, "mobile")));
    if (json_is_true(json_object_get(pub, "possible_duplicate")))
        say(t, "提示：该案件与之前提交的案件内容相近，工作人员会一并核实。\n");
    say_deadline(t, json_object_get(pub, "deadline"));
    say(t, "办理记录：\n");
    json_array_foreach(hist, i, e)
    {
        const char *at = json_string_value(json_object_get(e, "at"));
        const char *note = json_string_value(json_object_get(e, "note"));

        say(t, "· %.10s %.5s %s%s%s\n", at ? at : "", at && strlen(at) >= 16 ? at + 11 : "",
            json_string_value(json_object_get(e, "label")), note ? "：" : "", note ? note : "");
    }
}

static int lookup_mobile(turn *t, const char *text, size_t len)
{
    json_t *raw = json_stringn_nocheck(text, len), *norm = NULL, *pub = NULL;
    const char *msg;
    char who[160];
    zq_wf_limits lim;
    zq_lookup_in in;
    int rc;

    rc = zq_lookup_mobile(t->schema, &t->opts, raw, &norm, &msg);
    json_decref(raw);
    if (rc < 0) {
        say(t, "%s。请重新回复手机号码（回复“菜单”返回）。", msg);
        return 0;
    }
    snprintf(who, sizeof(who), "chat:%s:%s", t->in->channel, t->user);
    zq_wf_limits_from_config(t->cfg, &lim);
    memset(&in, 0, sizeof(in));
    in.id = t->st.lookup;
    in.mobile = json_string_value(norm);
    in.who = who;
    in.per_minute = t->cfg->intake.lookup_per_minute;
    in.now_ms = t->now_ms;
    in.schema = t->schema;
    in.cal = t->env->calendar;
    in.lim = &lim;
    rc = zq_lookup_case(t->env->store, &in, &pub, t->err);
    json_decref(norm);
    if (rc == -ZQ_EUNAVAIL || rc == -ZQ_ENOMEM || rc == -ZQ_EINVAL)
        return rc;
    t->st.mode = M_MENU;
    if (rc == -ZQ_EBUSY) {
        say(t, "查询过于频繁，请稍后再试。");
        return 0;
    }
    if (rc < 0) {
        say(t, "未找到该案件，请核对案件编号和手机号码。\n回复“查询 "
               "编号”可以重新查询，回复“菜单”返回主菜单。");
    } else {
        say_public_case(t, pub);
        json_decref(pub);
        say(t, "\n回复“菜单”返回主菜单。");
    }
    t->st.lookup[0] = '\0';
    return 0;
}

/* ---- subscriptions and classes --------------------------------------- */

/* Copies s (NULL: "") when it fits. */
static bool copy_fit(char *out, size_t outsz, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n >= outsz)
        return false;
    memcpy(out, s ? s : "", n + 1);
    return true;
}

/* The id of this chat's subscription: the one zq_target_chat_id derives
 * from a case's source, so that the staff side can reach the chat a case
 * came from. */
static int target_id(turn *t, char out[ZQ_TARGET_ID_MAX])
{
    char source[160];

    snprintf(source, sizeof(source), "chat:%s:%s", t->in->channel, t->user);
    return zq_target_chat_id(source, out);
}

static int subscribe(turn *t, const zq_region *region)
{
    zq_target_rec rec;
    bool created = false;
    int rc;

    t->st.mode = M_MENU;
    memset(&rec, 0, sizeof(rec));
    if (target_id(t, rec.t.id) < 0)
        return zq_err_set(t->err, ZQ_EINVAL, "dialogue: no target id for this chat");
    rec.t.kind = t->in->target_kind;
    if (!copy_fit(rec.t.address, sizeof(rec.t.address), t->in->target_address) ||
        !copy_fit(rec.t.chat_id, sizeof(rec.t.chat_id), t->in->target_chat_id) ||
        !copy_fit(rec.t.secret, sizeof(rec.t.secret), t->in->target_secret))
        return zq_err_set(t->err, ZQ_EINVAL, "dialogue: target address too long");
    snprintf(rec.name, sizeof(rec.name), "聊天订阅（%s）", t->in->channel);
    snprintf(rec.source, sizeof(rec.source), "chat:%s:%s", t->in->channel, t->user);
    snprintf(rec.tags[rec.ntags++], ZQ_TAG_MAX, "tax");
    /* What the shipped reminder rule addresses: without it the monthly
     * reminders would not reach the chat. */
    snprintf(rec.tags[rec.ntags++], ZQ_TAG_MAX, "tax_day");
    if (region != NULL) {
        snprintf(rec.tags[rec.ntags++], ZQ_TAG_MAX, "%s", region->code);
        snprintf(rec.tags[rec.ntags++], ZQ_TAG_MAX, "region:%s", region->code);
    }
    rc = zq_target_save(t->env->store, &rec, t->now_ms, &created, t->err);
    if (rc < 0)
        return rc;
    ZQ_INFO("event=chat_subscribed target=%s created=%d region=%s", rec.t.id, created,
            region ? region->code : "-");
    say(t,
        "订阅成功！每月 27 "
        "日税务助企宣讲日前，会在这里提醒您财税云课堂的时间和链接%s%s%"
        "s。\n回复“退订”可以随时取消。",
        region ? "，并推送" : "", region ? region->name : "", region ? "的服务通知" : "");
    return 0;
}

static int unsubscribe(turn *t)
{
    char id[ZQ_TARGET_ID_MAX];
    int rc;

    if (target_id(t, id) < 0)
        return zq_err_set(t->err, ZQ_EINVAL, "dialogue: no target id for this chat");
    rc = zq_target_delete(t->env->store, id, t->err);
    if (rc < 0 && rc != -ZQ_ENOTFOUND)
        return rc;
    if (t->st.mode != M_FORM && t->st.mode != M_REVIEW)
        t->st.mode = M_MENU;
    if (rc == 0)
        say(t, "已退订税务助企提醒，之后不会再在这里推送。回复“订阅”可以重新订阅。");
    else
        say(t, "这里还没有订阅税务助企提醒。回复“订阅”即可订阅。");
    return 0;
}

static int sub_start(turn *t, const char *arg)
{
    static const zq_field region_field = {.id = "region",
                                          .label = "所在地区",
                                          .type = ZQ_FIELD_REGION,
                                          .required = true,
                                          .allow_outside = true};
    const zq_region *region = NULL;

    if (!t->in->can_push) {
        t->st.mode = M_MENU;
        say(t, "抱歉，这里暂时不能推送提醒，订阅功能尚未开通。可以回复“5”查看近期课程，或关注每月 "
               "27 日的税务助企宣讲日。");
        return 0;
    }
    if (arg == NULL) {
        t->st.mode = M_SUB_REGION;
        say(t, "订阅后，每月 27 日税务助企宣讲日前会在这里提醒您财税云课堂的时间和链接。\n"
               "请回复企业所在的市（州），例如“成都”，以便同时接收本地的服务通知；不需要请回复“跳过"
               "”。");
        return 0;
    }
    if (!is_any(arg, W_SKIP)) {
        json_t *raw = json_string(arg), *norm = NULL;
        const char *msg = NULL;

        if (zq_field_validate(t->schema, &region_field, raw, &t->opts, &norm, &msg) < 0 ||
            !json_is_string(norm)) {
            json_decref(raw);
            json_decref(norm);
            t->st.mode = M_SUB_REGION;
            say(t, "%s。请重新回复市（州）名称，例如“成都”；不需要请回复“跳过”。",
                msg ? msg : "请选择所在地区");
            return 0;
        }
        region = zq_schema_region(t->schema, json_string_value(norm));
        json_decref(raw);
        json_decref(norm);
    }
    return subscribe(t, region);
}

static int classes(turn *t)
{
    json_t *list, *c;
    size_t i, shown = 0;
    int rc = zq_classes_upcoming(t->env->store, t->now_ms, 5, &list, t->err);

    if (rc < 0)
        return rc;
    t->st.mode = M_MENU;
    json_array_foreach(list, i, c)
    {
        const char *title = json_string_value(json_object_get(c, "title"));
        const char *date = json_string_value(json_object_get(c, "date"));
        const char *time_ = json_string_value(json_object_get(c, "time"));
        const char *starts = json_string_value(json_object_get(c, "starts_at"));
        const char *link = json_string_value(json_object_get(c, "link"));

        if (link == NULL)
            link = json_string_value(json_object_get(c, "url"));
        if (title != NULL) {
            if (shown++ == 0)
                say(t, "近期的财税云课堂：\n");
            say(t, "\n· %s\n", title);
            if (date != NULL)
                say(t, "  时间：%s%s%s\n", date, time_ ? " " : "", time_ ? time_ : "");
            else if (starts != NULL)
                say(t, "  时间：%.10s %.5s\n", starts, strlen(starts) >= 16 ? starts + 11 : "");
            if (link != NULL)
                say(t, "  链接：%s\n", link);
        }
    }
    json_decref(list);
    if (shown == 0)
        say(t,
            "近期还没有发布课程安排。每月 27 "
            "日是税务助企宣讲日，届时有财税云课堂直播和在线咨询；回复“订阅”可以在课前收到提醒。");
    else
        say(t, "\n回复“订阅”可以在每次课前收到提醒。");
    return 0;
}

/* ---- dispatch -------------------------------------------------------- */

static int menu_input(turn *t, const char *cmd)
{
    if (is_any(cmd, W_CONSULT)) {
        start_flow(t, "consult");
        return 0;
    }
    if (is_any(cmd, W_COMPLAINT)) {
        start_flow(t, "complaint");
        return 0;
    }
    if (is_any(cmd, W_LOOKUP)) {
        lookup_ask_id(t);
        return 0;
    }
    if (is_any(cmd, W_SUB))
        return sub_start(t, NULL);
    if (is_any(cmd, W_CLASSES))
        return classes(t);
    if (is_any(cmd, W_CONFIRM) && t->st.last_case[0] != '\0') {
        say(t, "您刚才的提交已经完成，编号是 %s，无需再次确认。回复“查询 %s”可以查看办理进度。",
            t->st.last_case, t->st.last_case);
        return 0;
    }
    if (!t->fresh)
        say(t, "抱歉，没有理解您的意思。\n");
    show_menu(t, t->fresh);
    return 0;
}

static void say_expired(turn *t)
{
    int min = t->cfg->chat.session_ttl_s / 60;

    say(t,
        "您上次的填写已超时（超过 %d 分钟没有回复），未提交的内容没有保存。已为您回到主菜单。\n\n",
        min > 0 ? min : 1);
    show_menu(t, false);
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
        clear_draft(t);
        say_expired(t);
        return 0;
    }
    if (text == NULL) {
        const zq_field *cur = t->st.mode == M_FORM ? current(t) : NULL;

        say(t, "抱歉，目前只能处理文字消息（图片、语音、文件和表情暂时无法识别），请直接输入文字回"
               "复。");
        if (cur != NULL) {
            say(t, "\n\n");
            reask(t, cur);
        }
        return 0;
    }
    if (len > t->cfg->chat.max_text) {
        say(t, "消息太长了：每条消息最多 %zu 字节（约 %zu 个汉字），请精简后重新发送。",
            t->cfg->chat.max_text, t->cfg->chat.max_text / 3);
        return 0;
    }
    if (!zq_utf8_valid(text, len)) {
        say(t, "消息含有无法识别的字符，请重新输入。");
        return 0;
    }
    trim(&text, &len);
    if (len == 0 || !norm_cmd(text, len, cmd))
        cmd[0] = '\0';

    if (is_any(cmd, W_MENU)) {
        show_menu(t, strcmp(cmd, "/start") == 0);
        return 0;
    }
    if (is_any(cmd, W_HELP)) {
        const zq_field *cur = t->st.mode == M_FORM ? current(t) : NULL;

        say_help(t);
        if (cur != NULL) {
            say(t, "\n\n当前的问题：\n");
            ask(t, cur, false);
        } else if (t->st.mode == M_REVIEW) {
            say(t, "\n\n核对完毕请回复“确认”提交。");
        }
        return 0;
    }
    if (is_any(cmd, W_CANCEL)) {
        const zq_form *f = form_of(t);

        if (f != NULL)
            say(t, "已取消“%s”的填写，填写的内容已删除。\n\n", f->title);
        else if (t->st.mode != M_MENU)
            say(t, "已取消。\n\n");
        clear_draft(t);
        show_menu(t, false);
        return 0;
    }
    if (is_any(cmd, W_WEB))
        return handoff(t);
    if (is_any(cmd, W_UNSUB))
        return unsubscribe(t);
    /* 订阅 [地区] and 查询 <编号> work outside the form; inside it only
     * what cannot be an answer counts. */
    if (t->st.mode != M_FORM && t->st.mode != M_REVIEW) {
        if (strcmp(cmd, "订阅") == 0)
            return sub_start(t, NULL);
        if ((arg = arg_of(cmd, "订阅")) != NULL && !is_any(cmd, W_SUB))
            return sub_start(t, arg);
    }
    if ((arg = arg_of(cmd, "查询")) != NULL && !is_any(cmd, W_LOOKUP)) {
        char id[64];

        upper_id(arg, id, sizeof(id));
        if ((t->st.mode != M_FORM && t->st.mode != M_REVIEW) ||
            (strlen(id) < ZQ_CASE_ID_MAX && zq_case_id_valid(id))) {
            lookup_take_id(t, arg);
            return 0;
        }
    }
    switch (t->st.mode) {
    case M_FORM: return form_input(t, cmd, text, len);
    case M_REVIEW: return review_input(t, cmd);
    case M_LOOKUP_ID:
        if (is_any(cmd, W_BACK)) {
            show_menu(t, false);
            return 0;
        }
        lookup_take_id(t, cmd);
        return 0;
    case M_LOOKUP_MOBILE:
        if (is_any(cmd, W_BACK)) {
            show_menu(t, false);
            return 0;
        }
        return lookup_mobile(t, text, len);
    case M_SUB_REGION:
        if (is_any(cmd, W_BACK)) {
            show_menu(t, false);
            return 0;
        }
        return sub_start(t, cmd);
    case M_MENU: break;
    }
    if (is_any(cmd, W_BACK) || is_any(cmd, W_SKIP) || is_any(cmd, W_KEEP)) {
        say(t, "当前没有正在回答的问题。\n");
        show_menu(t, false);
        return 0;
    }
    return menu_input(t, cmd);
}

/* ---- state in Redis -------------------------------------------------- */

static void state_free(dstate *s)
{
    json_decref(s->answers);
    json_decref(s->keep_value);
    memset(s, 0, sizeof(*s));
}

static void copy_str(char *dst, size_t sz, json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));

    snprintf(dst, sz, "%s", v ? v : "");
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

static json_t *state_to_json(const dstate *s)
{
    json_t *j = json_pack("{s:s, s:s, s:O, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I}", "mode",
                          mode_names[s->mode], "form", s->form, "answers", s->answers, "cur",
                          s->cur, "edit_step", s->edit_step, "draft", s->draft, "draft_v",
                          (json_int_t)s->draft_v, "lookup", s->lookup, "last_case", s->last_case,
                          "keep_field", s->keep_field, "seq", (json_int_t)s->seq);

    if (j != NULL && s->keep_value != NULL && s->keep_field[0] != '\0')
        json_object_set(j, "keep_value", s->keep_value);
    return j;
}

/* Loads the state and its version ("0" when there is none). *expired is
 * set when the session is gone but the marker says a flow was open. */
static int load(turn *t, const char *key, const char *dkey, char ver[24], bool *expired, bool *dup)
{
    redisReply *rep[3] = {NULL, NULL, NULL};
    redisReply *h;
    json_t *j = NULL;
    int rc = 0;

    *expired = false;
    *dup = false;
    snprintf(ver, 24, "0");
    zq_store_append(t->env->store, "HMGET %s v s", key);
    zq_store_append(t->env->store, "GET %s:seen", key);
    zq_store_append(t->env->store, "EXISTS %s", dkey);
    if (zq_store_read_replies(t->env->store, t->err, 3, rep) < 0)
        return -ZQ_EUNAVAIL;
    *dup = t->in->dedup_id != NULL && rep[2]->type == REDIS_REPLY_INTEGER && rep[2]->integer == 1;
    h = rep[0];
    if (h->type != REDIS_REPLY_ARRAY || h->elements != 2) {
        rc = zq_err_set(t->err, ZQ_EREPLY, "dialogue: unexpected reply to HMGET");
        goto out;
    }
    if (h->element[0]->type == REDIS_REPLY_STRING && h->element[1]->type == REDIS_REPLY_STRING) {
        snprintf(ver, 24, "%.*s", (int)h->element[0]->len, h->element[0]->str);
        j = json_loadb(h->element[1]->str, h->element[1]->len, 0, NULL);
    } else if (h->element[0]->type == REDIS_REPLY_STRING) {
        snprintf(ver, 24, "%.*s", (int)h->element[0]->len, h->element[0]->str);
    } else if (rep[1]->type == REDIS_REPLY_STRING && rep[1]->len == 1 && rep[1]->str[0] == '1') {
        *expired = true;
    }
    t->seen = rep[1]->type == REDIS_REPLY_STRING && rep[1]->len == 1 ? rep[1]->str[0] : 0;
    state_from_json(&t->st, j);
out:
    json_decref(j);
    freeReplyObject(rep[0]);
    freeReplyObject(rep[1]);
    freeReplyObject(rep[2]);
    return rc;
}

static zq_script save_script = {
    .src = "local v = redis.call('HGET', KEYS[1], 'v') or '0'\n"
           "if v ~= ARGV[1] then return -1 end\n"
           "if ARGV[6] ~= '0' and not redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[6]) then\n"
           "  return -2\n"
           "end\n"
           "local nv = tonumber(v) + 1\n"
           "redis.call('HSET', KEYS[1], 'v', nv, 's', ARGV[2])\n"
           "redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
           "if ARGV[4] ~= '' then redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5]) end\n"
           "local i = 8\n"
           "for e = 1, tonumber(ARGV[7]) do\n"
           "  local c = tonumber(ARGV[i])\n"
           "  local args = {KEYS[3], 'MAXLEN', '~', ARGV[i + 1], '*'}\n"
           "  for j = 1, c do args[#args + 1] = ARGV[i + 1 + j] end\n"
           "  redis.call('XADD', unpack(args))\n"
           "  i = i + 2 + c\n"
           "end\n"
           "return nv\n"};

/* Saves t->st if the version is still ver, with the outbox entries and
 * the message id's mark. Returns 1 when saved, 0 when someone else saved
 * first, 2 when the message id was applied meanwhile, or a negative code. */
static int save(turn *t, const char *key, const char *dkey, const char *ver,
                const zq_chat_outbox *ob)
{
    enum { FIXED = 11, PER = 2 + ZQ_CHAT_OUTBOX_FIELDS };
    const char *argv[FIXED + ZQ_CHAT_OUTBOX_MAX * PER];
    char seen[256], outkey[96], ttl[16], dttl[16], nent[8], counts[ZQ_CHAT_OUTBOX_MAX][8],
        created[ZQ_CHAT_OUTBOX_MAX][24], expires[ZQ_CHAT_OUTBOX_MAX][24];
    json_t *j = state_to_json(&t->st);
    char *js = j ? json_dumps(j, JSON_COMPACT) : NULL;
    const char *seenval;
    redisReply *r;
    size_t i, argc = FIXED;
    int rc;

    json_decref(j);
    if (js == NULL)
        return zq_err_set(t->err, ZQ_ENOMEM, "dialogue: cannot encode state");
    snprintf(seen, sizeof(seen), "%s:seen", key);
    snprintf(outkey, sizeof(outkey), "%s%s", zq_store_prefix(t->env->store), ZQ_CHAT_OUTBOX_STREAM);
    snprintf(ttl, sizeof(ttl), "%d", t->cfg->chat.session_ttl_s);
    snprintf(nent, sizeof(nent), "%zu", ob->n);
    snprintf(dttl, sizeof(dttl), "%d", t->in->dedup_id ? t->cfg->chat.dedup_ttl_s : 0);
    argv[0] = key;
    argv[1] = seen;
    argv[2] = outkey;
    argv[3] = dkey;
    argv[4] = ver;
    argv[5] = js;
    argv[6] = ttl;
    /* The marker changes only when a flow opens or closes; it is written
     * then and when a session starts (its 30 days outlast any session). */
    seenval = t->st.mode == M_MENU ? "0" : "1";
    if (t->seen == seenval[0] && strcmp(ver, "0") != 0)
        seenval = "";
    argv[7] = seenval;
    argv[8] = "2592000"; /* SEEN_TTL_S */
    argv[9] = dttl;
    argv[10] = nent;
    for (i = 0; i < ob->n; i++) {
        size_t n =
            zq_chat_outbox_fields(&ob->e[i], t->now_ms, created[i], expires[i], argv + argc + 2);

        snprintf(counts[i], sizeof(counts[i]), "%zu", n);
        argv[argc] = counts[i];
        argv[argc + 1] = ZQ_CHAT_OUTBOX_MAXLEN;
        argc += 2 + n;
    }
    r = zq_store_script(t->env->store, t->err, &save_script, 4, (int)argc, argv, NULL);
    free(js);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_INTEGER)
        rc = r->integer > 0 ? 1 : r->integer == -2 ? 2 : 0;
    else
        rc = zq_err_set(t->err, ZQ_EREPLY, "dialogue: save failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
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
    char key[200], dkey[300], ver[24];
    int attempt, rc = 0;

    memset(out, 0, sizeof(*out));
    if (!channel_ok(in->channel) || in->user == NULL || in->user[0] == '\0' ||
        strlen(in->user) > 1024 || (in->dedup_id != NULL && strlen(in->dedup_id) > 128))
        return zq_err_set(err, ZQ_EINVAL, "dialogue: bad channel, user or message id");
    snprintf(dkey, sizeof(dkey), "%sdedup:%s:%s", zq_store_prefix(env->store), in->channel,
             in->dedup_id ? in->dedup_id : "-");
    if (env->schema == NULL)
        return zq_err_set(err, ZQ_EINVAL, "dialogue: no schema");
    for (attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        zq_chat_outbox ob = {0};
        turn t;
        bool expired = false, dup = false;

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
        zq_dialogue_user_key(in->user, t.user);
        snprintf(key, sizeof(key), "%schat:%s:%s", zq_store_prefix(env->store), in->channel,
                 t.user);
        rc = load(&t, key, dkey, ver, &expired, &dup);
        t.fresh = strcmp(ver, "0") == 0 && !expired;
        if (rc == 0 && dup) {
            state_free(&t.st);
            out->duplicate = true;
            return 0;
        }
        if (rc == 0)
            rc = process(&t, expired);
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

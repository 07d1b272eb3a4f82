/* Writing a chat's replies, and the helpers that match what was typed
 * against the command words: the bottom of the dialogue's parts. */
#include "dialogue_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Whether fmt's conversions are all %s, %d, %zu or %%: the ones
 * say_plain writes. */
static bool plain_fmt(const char *fmt)
{
    const char *p;

    for (p = strchr(fmt, '%'); p != NULL; p = strchr(p, '%')) {
        if (p[1] == 's' || p[1] == 'd' || p[1] == '%')
            p += 2;
        else if (p[1] == 'z' && p[2] == 'u')
            p += 3;
        else
            return false;
    }
    return true;
}

/* Appends fmt (plain_fmt) with its arguments, as vsnprintf would write
 * them: a turn says a dozen such lines, and vsnprintf cost ~900
 * instructions each. */
static void say_plain(zq_buf *b, const char *fmt, va_list ap)
{
    const char *p = fmt, *pc;

    while ((pc = strchr(p, '%')) != NULL) {
        zq_buf_append(b, p, (size_t)(pc - p));
        if (pc[1] == 's') {
            const char *a = va_arg(ap, const char *);

            zq_buf_puts(b, a != NULL ? a : "(null)");
            p = pc + 2;
        } else if (pc[1] == 'd') {
            int a = va_arg(ap, int);

            zq_buf_dec(b, a);
            p = pc + 2;
        } else if (pc[1] == '%') {
            zq_buf_append(b, "%", 1);
            p = pc + 2;
        } else {
            char d[ZQ_DEC_MAX];
            size_t n = zq_udec(d, va_arg(ap, size_t));

            zq_buf_append(b, d, n);
            p = pc + 3;
        }
    }
    zq_buf_puts(b, p);
}

void dlg_say(turn *t, const char *fmt, ...)
{
    va_list ap;
    char small[512];
    int n, rc;

    /* Most replies are literal text: no vsnprintf for them. */
    if (strchr(fmt, '%') == NULL) {
        zq_buf_puts(&t->out, fmt);
        return;
    }
    if (plain_fmt(fmt)) {
        va_start(ap, fmt);
        say_plain(&t->out, fmt, ap);
        va_end(ap);
        return;
    }
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
    rc = zq_vfmt(t->out.data + t->out.len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (rc == 0)
        t->out.len += (size_t)n;
}

int dlg_source(const turn *t, char *out, size_t outsz)
{
    return zq_fmt(out, outsz, "chat:%s:%s", t->in->channel, t->user) < 0 ? -ZQ_ETOOBIG : 0;
}

void dlg_set_id(char *dst, size_t dstsz, const char *id)
{
    size_t n = id ? strlen(id) : 0;

    if (n >= dstsz)
        n = 0;
    memcpy(dst, id ? id : "", n);
    dst[n] = '\0';
}

bool dlg_is_any(const char *cmd, const char *const *words)
{
    for (; *words != NULL; words++)
        if (strcmp(cmd, *words) == 0)
            return true;
    return false;
}

/* When cmd is word followed by an argument, returns the argument (spaces
 * skipped), else NULL. */
const char *dlg_arg_of(const char *cmd, const char *word)
{
    size_t n = strlen(word);

    if (strncmp(cmd, word, n) != 0)
        return NULL;
    cmd += n;
    while (*cmd == ' ' || *cmd == ':' || strncmp(cmd, "：", 3) == 0)
        cmd += *cmd == ' ' || *cmd == ':' ? 1 : 3;
    return *cmd != '\0' ? cmd : NULL;
}

const zq_form *dlg_form_of(const turn *t)
{
    return t->st.form[0] ? zq_schema_form(t->schema, t->st.form) : NULL;
}

void dlg_say_menu(turn *t)
{
    dlg_say(t, "请回复序号或文字选择：\n"
               "1 在线咨询\n"
               "2 投诉（拖欠中小企业款项）\n"
               "3 查询进度\n"
               "4 订阅税务助企宣讲日提醒\n"
               "5 近期课程\n"
               "随时回复“菜单”回到这里，回复“帮助”查看使用说明。");
}

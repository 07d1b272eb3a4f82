/* The chat's form flow: one question per field, with the web's
 * validators and messages, 返回 / 跳过 / 保留, the review and its 修改,
 * the confirmation (a case via zq_case_create), and 网页填写, the
 * hand-over of the draft to the web form.
 *
 * Keys (prefix omitted):
 *   handoff:{token}              a draft for the web form, 15 minutes,
 *                                taken once (GETDEL) */
#include "dialogue_int.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/files.h"
#include "zhuqi/log.h"

#define REVIEW_VALUE_CHARS 40

static const char *const CN_NUM[] = {"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"};

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

/* True when fld is shown given the answers (conditions point back). The
 * form flow asks this several times a turn: zq_form_field_shown reads
 * the answers in place instead of copying the visible ones. */
static bool visible(const zq_form *f, json_t *answers, const zq_field *fld)
{
    return zq_form_field_shown(f, answers, fld);
}

/* The first visible field without an answer, or NULL when done. */
static const zq_field *first_open(const zq_form *f, json_t *answers)
{
    size_t i, j;

    for (i = 0; i < f->nsteps; i++)
        for (j = 0; j < f->steps[i].nfields; j++) {
            const zq_field *fld = &f->steps[i].fields[j];

            /* Files cannot be sent here: never asked (see dlg_ask). */
            if (fld->type != ZQ_FIELD_FILES && json_object_get(answers, fld->id) == NULL &&
                visible(f, answers, fld))
                return fld;
        }
    return NULL;
}

/* The visible field of step st after fld (NULL: from the start), or NULL. */
static const zq_field *next_in_step(const zq_form *f, const zq_step *st, json_t *answers,
                                    const zq_field *fld)
{
    size_t j = fld ? (size_t)(fld - st->fields) + 1 : 0;

    for (; j < st->nfields; j++)
        if (st->fields[j].type != ZQ_FIELD_FILES && visible(f, answers, &st->fields[j]))
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
        dlg_say(t, "…");
    } else {
        zq_buf_append(&t->out, d, len);
    }
    free(d);
}

static void say_hint(turn *t, const zq_field *f)
{
    switch (f->type) {
    case ZQ_FIELD_ENUM:
        if (f->multiple)
            dlg_say(t, "可以多选，请回复序号或选项名称，用顿号或逗号隔开，例如：1、3\n");
        else
            dlg_say(t, "请回复序号或选项名称。\n");
        break;
    case ZQ_FIELD_BOOL:
        if (f->must_be_true)
            dlg_say(t, "请回复“同意”确认此项声明。\n");
        else
            dlg_say(t, "请回复“是”或“否”。\n");
        break;
    case ZQ_FIELD_DATE:
        dlg_say(t, "请按“年-月-日”填写，例如：%s\n", f->example ? f->example : "2025-03-18");
        return;
    case ZQ_FIELD_MONEY:
        dlg_say(t, "以元为单位，可精确到分，例如：%s\n", f->example ? f->example : "125000.00");
        return;
    case ZQ_FIELD_REGION:
        if (f->allow_outside)
            dlg_say(t,
                    "请回复市（州）名称，例如：成都市；四川省外的请回复省份名称，例如：重庆市\n");
        else
            dlg_say(t, "请回复市（州）名称，例如：%s\n", f->example ? f->example : "成都市");
        return;
    default: break;
    }
    if (f->example != NULL) {
        if (strchr(f->example, '\n') != NULL)
            dlg_say(t, "例如：\n%s\n", f->example);
        else
            dlg_say(t, "例如：%s\n", f->example);
    }
}

/* Files cannot be sent in a chat: the question before a files field says
 * where they go instead (the 网页填写 link carries the draft to the web
 * form, where they are uploaded before submitting). A required kind is
 * not asked of a chat submission (files_kinds_optional): staff can ask
 * for material later. */
static void say_files_note(turn *t, const zq_form *f, size_t si, const zq_field *fld)
{
    const zq_step *st = &f->steps[si];
    size_t j = (size_t)(fld - st->fields) + 1;

    if (j >= st->nfields || st->fields[j].type != ZQ_FIELD_FILES)
        return;
    if (t->in->media_ok) {
        dlg_say(
            t,
            "%s可以直接在对话中发送（照片或 JPG、PNG、PDF 文件，单个不超过 %llu MB），"
            "也可以回复“网页填写”获取链接在网页上传；不上传也可先提交，之后按工作人员要求补充。\n",
            st->fields[j].label, (unsigned long long)(t->cfg->files.max_file_size / 1048576));
        return;
    }
    dlg_say(
        t,
        "对话中无法上传%s。需要上传时请回复“网页填写”获取链接，在网页中拍照或选择文件上传后提交；"
        "也可先在此提交，之后按工作人员要求补充。\n",
        st->fields[j].label);
}

/* Offers the suggested value of a field with a prefill rule, with how it
 * was computed: the web form pre-fills the same value. */
static void say_suggestion(turn *t, const zq_field *fld)
{
    json_t *v = NULL;
    char *why = NULL;

    if (zq_field_prefill(dlg_form_of(t), fld, t->st.answers, &v, &why) < 0)
        return;
    dlg_say(t, "建议：");
    say_value(t, fld, v, 0);
    if (why != NULL)
        dlg_say(t, "（%s）", why);
    dlg_say(t, "。采用请回复“采用”，也可以直接回复其他答案。\n");
    json_decref(v);
    free(why);
}

/* The flat position of fld in f (form order), or (size_t)-1. */
static size_t flat_pos(const zq_form *f, const zq_field *fld)
{
    size_t i, j, n = 0;

    for (i = 0; i < f->nsteps; i++)
        for (j = 0; j < f->steps[i].nfields; j++, n++)
            if (&f->steps[i].fields[j] == fld)
                return n;
    return (size_t)-1;
}

/* The first visible files field of the draft whose question has been
 * reached: it is next after the current question (which is where the
 * chat says how to add files), or before it, or the draft is in review.
 * NULL when none; *any tells whether the form has one at all. */
static const zq_field *files_reached(turn *t, const zq_form *f, bool *any)
{
    const zq_field *cur = t->st.mode == M_FORM ? dlg_current(t) : NULL;
    size_t at = cur != NULL ? flat_pos(f, cur) : (size_t)-1, i, j;

    *any = false;
    for (i = 0; i < f->nsteps; i++)
        for (j = 0; j < f->steps[i].nfields; j++) {
            const zq_field *fld = &f->steps[i].fields[j];

            if (fld->type != ZQ_FIELD_FILES || !visible(f, t->st.answers, fld))
                continue;
            *any = true;
            if (t->st.mode == M_REVIEW || (cur != NULL && flat_pos(f, fld) <= at + 1))
                return fld;
        }
    return NULL;
}

/* The kind a file sent in the chat gets: the one its caption names (a
 * kind's label or value, e.g. "合同"), else 其他 ("other") when the field
 * has it, else the field's first. The chat does not ask for each file:
 * that would add a question per file, and staff see the file anyway. */
static const char *media_kind(const zq_field *fld, const char *caption)
{
    size_t k;

    for (k = 0; caption != NULL && caption[0] != '\0' && k < fld->nkinds; k++)
        if (strstr(caption, fld->kinds[k].label) != NULL ||
            strcmp(caption, fld->kinds[k].value) == 0)
            return fld->kinds[k].value;
    for (k = 0; k < fld->nkinds; k++)
        if (strcmp(fld->kinds[k].value, "other") == 0)
            return "other";
    return fld->nkinds > 0 ? fld->kinds[0].value : "other";
}

/* Says a size for people: "12.5 MB", "300 KB". */
static void say_size(turn *t, unsigned long long n)
{
    if (n >= 1048576 && n % 1048576 == 0)
        dlg_say(t, "%llu MB", n / 1048576);
    else if (n >= 1048576)
        dlg_say(t, "%llu.%llu MB", n / 1048576, n % 1048576 * 10 / 1048576);
    else
        dlg_say(t, "%llu KB", (n + 1023) / 1024);
}

/* After a reply about a file: the question being asked again, or how to
 * go on. */
static void media_then(turn *t)
{
    const zq_field *cur = t->st.mode == M_FORM ? dlg_current(t) : NULL;

    if (cur != NULL) {
        dlg_say(t, "\n\n");
        dlg_reask(t, cur);
    } else if (t->st.mode == M_REVIEW) {
        dlg_say(t, "\n\n核对完毕请回复“确认”提交。");
    }
}

int dlg_media(turn *t)
{
    const zq_form *f = dlg_form_of(t);
    const zq_dialogue_media *md = t->in->media;
    const zq_field *fld = NULL;
    bool any = false;
    char id[33];

    if (f != NULL && (t->st.mode == M_FORM || t->st.mode == M_REVIEW))
        fld = files_reached(t, f, &any);
    if (fld == NULL) {
        if (any)
            dlg_say(t, "现在还不能接收文件：请先回答当前的问题，到需要上传证据材料时再发送。");
        else
            dlg_say(t, "当前没有需要上传文件的问题，这个文件没有保存。");
        media_then(t);
        if (f == NULL)
            dlg_say(t, "需要办理业务请回复“菜单”。");
        return 0;
    }
    if (md->size > 0 && (unsigned long long)md->size > t->cfg->files.max_file_size) {
        dlg_say(t, "文件过大，没有保存：单个文件不能超过 ");
        say_size(t, t->cfg->files.max_file_size);
        dlg_say(t, "（这个文件 ");
        say_size(t, (unsigned long long)md->size);
        dlg_say(t, "）。请压缩或分成几个文件后再发送。");
        media_then(t);
        return 0;
    }
    if ((int)json_array_size(t->files) >= t->cfg->files.max_files) {
        dlg_say(t, "文件数量已达上限（%d 个），这个文件没有保存。", t->cfg->files.max_files);
        media_then(t);
        return 0;
    }
    if (zq_random_hex(id, 16) < 0)
        return zq_err_set(t->err, ZQ_EIO, "dialogue: no random bytes for a job id");
    t->job =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:i}", "id", id,
                  "channel", t->in->channel, "user", t->in->user, "ukey", t->user, "draft",
                  t->st.draft, "field", fld->id, "kind", media_kind(fld, md->caption), "media_id",
                  md->id, "name", md->name ? md->name : "", "size", (json_int_t)md->size,
                  "reply_to", md->reply_to ? md->reply_to : "", "attempts", 0);
    if (t->job == NULL)
        return zq_err_set(t->err, ZQ_ENOMEM, "dialogue: out of memory");
    return 0;
}

/* The answers with the chat's files in their files fields (a new object,
 * values shared), for the review and the case; NULL out of memory. */
static json_t *with_files(turn *t, json_t *answers)
{
    const zq_form *f = dlg_form_of(t);

    return zq_files_merge(f, answers, t->files);
}

void dlg_ask(turn *t, const zq_field *fld, bool header)
{
    const zq_form *f = dlg_form_of(t);
    size_t si, k, i, n = 0;
    json_t *cur;

    if (f == NULL || fld == NULL)
        return;
    si = step_index(f, fld);
    for (i = 0; i < si; i++)
        if (!f->steps[i].review)
            n++;
    if (header || first_visible_of_step(f, t->st.answers, fld)) {
        dlg_say(t, "【第%s部分（共 %zu 部分）：%s】\n", n < 10 ? CN_NUM[n] : "", data_steps(f),
                f->steps[si].title);
        if (f->steps[si].description != NULL)
            dlg_say(t, "%s\n", f->steps[si].description);
        dlg_say(t, "\n");
    }
    dlg_say(t, "%s%s%s\n",
            fld->type == ZQ_FIELD_ENUM || fld->type == ZQ_FIELD_REGION ? "请选择："
            : fld->type == ZQ_FIELD_BOOL                               ? ""
                                                                       : "请填写：",
            fld->label, fld->required ? "" : "（选填）");
    if (fld->help != NULL)
        dlg_say(t, "%s\n", fld->help);
    for (k = 0; k < fld->noptions; k++)
        dlg_say(t, "%zu. %s\n", k + 1, fld->options[k].label);
    say_hint(t, fld);
    say_files_note(t, f, si, fld);
    if (!fld->required)
        dlg_say(t, "不填请回复“跳过”。\n");
    cur = strcmp(t->st.keep_field, fld->id) == 0 ? t->st.keep_value : NULL;
    if (cur == NULL)
        say_suggestion(t, fld);
    if (cur != NULL) {
        dlg_say(t, "当前：");
        say_value(t, fld, cur, REVIEW_VALUE_CHARS);
        dlg_say(t, "，不修改请回复“保留”。\n");
    }
}

/* Remembers the value a field had, so that 保留 can restore it. */
static void set_keep(turn *t, const zq_field *fld, json_t *v)
{
    json_decref(t->st.keep_value);
    t->st.keep_value = v ? json_incref(v) : NULL;
    dlg_set_id(t->st.keep_field, sizeof(t->st.keep_field), v && fld ? fld->id : "");
}

void dlg_clear_draft(turn *t)
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

static void say_review(turn *t);

/* Goes to the next question (or the review) after an answer. */
static void advance(turn *t, const zq_field *done)
{
    const zq_form *f = dlg_form_of(t);
    const zq_field *next = NULL;

    set_keep(t, NULL, NULL);
    if (t->st.edit_step[0] != '\0') {
        const zq_step *st = zq_form_step(f, t->st.edit_step);

        next = st ? next_in_step(f, st, t->st.answers, done) : NULL;
        if (next != NULL) {
            dlg_set_id(t->st.cur, sizeof(t->st.cur), next->id);
            set_keep(t, next, json_object_get(t->st.answers, next->id));
            dlg_ask(t, next, false);
            return;
        }
        t->st.edit_step[0] = '\0';
        t->st.cur[0] = '\0';
    }
    next = first_open(f, t->st.answers);
    if (next != NULL) {
        t->st.mode = M_FORM;
        dlg_ask(t, next, false);
        return;
    }
    say_review(t);
}

/* The field being asked now, or NULL. */
const zq_field *dlg_current(turn *t)
{
    const zq_form *f = dlg_form_of(t);

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
    const zq_form *f = dlg_form_of(t);
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
        dlg_say(t, "%s。\n", msg ? msg : "输入的内容不正确");
        return -ZQ_EINVAL;
    }
    /* validate's warnings are short constants; one that did not fit is
     * left unsaid rather than cut in the middle of a character. */
    if (msg != NULL && zq_fmt(warnbuf, warnsz, "%s", msg) < 0)
        warnbuf[0] = '\0';
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
            dlg_say(t, "%s。\n", m);
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
void dlg_reask(turn *t, const zq_field *fld)
{
    dlg_say(t, "请重新回复：%s", fld->label);
    if (fld->type == ZQ_FIELD_ENUM) {
        size_t k;

        dlg_say(t, "\n");
        for (k = 0; k < fld->noptions; k++)
            dlg_say(t, "%zu. %s\n", k + 1, fld->options[k].label);
    } else if (fld->example != NULL && fld->type != ZQ_FIELD_BOOL &&
               strchr(fld->example, '\n') == NULL) {
        dlg_say(t, "（例如：%s）", fld->example);
    }
    if (!fld->required)
        dlg_say(t, "\n不填请回复“跳过”。");
}

void dlg_start_flow(turn *t, const char *form_id)
{
    const zq_form *f = zq_schema_form(t->schema, form_id);
    const zq_form *old = dlg_form_of(t);

    if (f == NULL) {
        dlg_say(t, "暂时无法办理这个事项，请稍后再试。\n");
        dlg_say_menu(t);
        return;
    }
    if (old != NULL && old == f) {
        const zq_field *cur;

        dlg_say(t, "继续填写“%s”。\n\n", f->title);
        if (t->st.edit_step[0] == '\0' && first_open(f, t->st.answers) == NULL) {
            say_review(t);
            return;
        }
        t->st.mode = M_FORM;
        cur = dlg_current(t);
        dlg_ask(t, cur, true);
        return;
    }
    if (old != NULL)
        dlg_say(t, "已放弃未完成的“%s”。\n", old->title);
    dlg_clear_draft(t);
    dlg_set_id(t->st.form, sizeof(t->st.form), f->id);
    /* 16 hex digits always fit draft's 33 bytes; "" would only make the
     * web hand-over and the confirmation's key less unique. */
    if (zq_random_hex(t->st.draft, 16) < 0 &&
        zq_fmt(t->st.draft, sizeof(t->st.draft), "%016llx", (unsigned long long)t->now_ms) < 0)
        t->st.draft[0] = '\0';
    t->st.mode = M_FORM;
    dlg_say(
        t,
        "【%"
        "s】\n一次回答一个问题。随时可以回复“返回”回到上一题、“取消”放弃填写、“帮助”查看说明。\n\n",
        f->title);
    dlg_ask(t, first_open(f, t->st.answers), true);
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

            if (json_object_get(answers, fld->id) == NULL && visible(f, answers, fld))
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

int dlg_handoff(turn *t)
{
    const zq_form *f = dlg_form_of(t);
    const char *base = t->cfg->chat.web_base_url;
    char token[65], key[ZQ_STORE_KEY_MAX];
    json_t *d;
    char *js;
    redisReply *r;
    int rc = 0;

    if (base[0] == '\0') {
        dlg_say(t, "网页填写暂未开放，请继续在这里填写。\n");
        goto reask;
    }
    if (f == NULL) {
        dlg_say(t, "请先回复 1 在线咨询 或 2 欠款投诉 "
                   "开始填写，之后可以随时回复“网页填写”转到网页上接着填。\n");
        return 0;
    }
    if (zq_random_hex(token, 32) < 0)
        return zq_err_set(t->err, ZQ_EIO, "dialogue: no random bytes");
    d = web_draft(f, t->st.answers);
    js = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (js == NULL)
        return zq_err_set(t->err, ZQ_ENOMEM, "dialogue: out of memory");
    if (zq_store_key(t->env->store, key, sizeof(key), "handoff:%s", token) < 0) {
        free(js);
        return zq_err_set(t->err, ZQ_ETOOBIG, "dialogue: handoff key too long");
    }
    r = zq_store_command(t->env->store, t->err, "SET %s %s EX %d", key, js,
                         ZQ_DIALOGUE_HANDOFF_TTL_S);
    free(js);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR)
        rc = zq_err_set(t->err, ZQ_EREPLY, "dialogue: handoff: %s", r->str);
    freeReplyObject(r);
    if (rc < 0)
        return rc;
    dlg_say(t,
            "请在 15 "
            "分钟内打开下面的链接，在网页上接着填写“%s”（链接只能使用一次）：\n%s/"
            "form.html?form=%s#handoff=%s\n",
            f->title, base, f->id, token);
reask:
    if (t->st.mode == M_FORM) {
        const zq_field *cur = dlg_current(t);

        if (cur != NULL) {
            dlg_say(t, "\n也可以继续在这里回答：\n");
            dlg_ask(t, cur, false);
        }
    }
    return 0;
}

int zq_dialogue_take_handoff(zq_store *st, const char *token, json_t **draft, zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX];
    redisReply *r;
    size_t i, n = token ? strlen(token) : 0;

    *draft = NULL;
    if (n != 64)
        return -ZQ_ENOTFOUND;
    for (i = 0; i < n; i++)
        if (!isxdigit((unsigned char)token[i]) || isupper((unsigned char)token[i]))
            return -ZQ_ENOTFOUND;
    /* Unreachable with a 64-digit token unless the namespace is absurd. */
    if (zq_store_key(st, key, sizeof(key), "handoff:%s", token) < 0)
        return zq_err_set(err, ZQ_ENOTFOUND, "handoff: key too long");
    r = zq_store_commandv(st, err, 2, (const char *[]){"GETDEL", key}, NULL);
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
    const zq_form *f = dlg_form_of(t);
    json_t *vis = zq_form_visible_answers(f, t->st.answers);
    size_t i, j, n = 0;

    dlg_say(t, "请核对您填写的“%s”：\n", f->title);
    for (i = 0; vis != NULL && i < f->nsteps; i++) {
        if (f->steps[i].review)
            continue;
        dlg_say(t, "\n【%zu. %s】\n", ++n, f->steps[i].title);
        for (j = 0; j < f->steps[i].nfields; j++) {
            const zq_field *fld = &f->steps[i].fields[j];

            if (!zq_field_visible(fld, vis))
                continue;
            if (fld->type == ZQ_FIELD_FILES) {
                json_t *all = with_files(t, vis);
                json_t *v = json_object_get(all, fld->id);

                if (v != NULL) {
                    dlg_say(t, "%s：", fld->label);
                    say_value(t, fld, v, 0);
                    dlg_say(t, "\n");
                }
                json_decref(all);
                continue;
            }
            dlg_say(t, "%s：", fld->label);
            say_value(t, fld, json_object_get(vis, fld->id), REVIEW_VALUE_CHARS);
            dlg_say(t, "\n");
        }
    }
    json_decref(vis);
    dlg_say(t,
            "\n确认无误请回复“确认”提交；需要修改请回复“修改”加部分序号或名称，例如“修改 1”或“修改 "
            "%s”；回复“取消”放弃填写。",
            f->nsteps > 0 ? f->steps[0].title : "");
}

/* Checks the whole draft like the web's submit. Returns true when it is
 * ready; else says the first problem and asks that field again. */
static bool draft_ready(turn *t)
{
    const zq_form *f = dlg_form_of(t);
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
            dlg_say(t, "%s。\n\n", json_string_value(json_object_get(errs, fld->id)));
            /* The value that failed is asked for again, not kept. */
            json_object_del(t->st.answers, fld->id);
            set_keep(t, NULL, NULL);
            t->st.edit_step[0] = '\0';
            t->st.draft_v++;
            t->st.mode = M_FORM;
            dlg_ask(t, fld, true);
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
    const zq_form *f = dlg_form_of(t);
    json_t *vis;
    zq_case_new in;
    unsigned char md[32];
    unsigned int mdlen = 0;
    char seed[256], hex[33], key[48], source[128], id[ZQ_CASE_ID_MAX], dup[ZQ_CASE_ID_MAX],
        owner[ZQ_CASE_OWNER_LEN + 1];
    bool created = false;
    zq_buf pending = {0};
    json_t *pub = NULL;
    char *pub_s = NULL, sid[160];
    int rc;

    if (!draft_ready(t))
        return 0;
    vis = zq_form_visible_answers(f, t->st.answers);
    if (vis != NULL && t->files != NULL) {
        /* The files sent in the chat become the case's. */
        json_t *all = with_files(t, vis);

        json_decref(vis);
        vis = all;
    }
    if (vis == NULL)
        return zq_err_set(t->err, ZQ_ENOMEM, "dialogue: out of memory");
    /* The same draft at the same version always gives the same key, so a
     * repeated 确认 (or a retry of this message) finds the same case. */
    if (zq_fmt(seed, sizeof(seed), "%s:%s:%s:%lld", t->in->channel, t->user, t->st.draft,
               t->st.draft_v) < 0) {
        json_decref(vis);
        return zq_err_set(t->err, ZQ_ETOOBIG, "dialogue: draft seed too long");
    }
    if (EVP_Digest(seed, strlen(seed), md, &mdlen, EVP_sha256(), NULL) != 1) {
        json_decref(vis);
        return zq_err_set(t->err, ZQ_EIO, "dialogue: digest failed");
    }
    zq_hex(md, 16, hex);
    if (zq_fmt(key, sizeof(key), "chat-%s", hex) < 0 || dlg_source(t, source, sizeof(source)) < 0) {
        json_decref(vis);
        return zq_err_set(t->err, ZQ_ETOOBIG, "dialogue: case key or source too long");
    }
    memset(&in, 0, sizeof(in));
    in.form = f;
    in.answers = vis;
    in.idem_key = key;
    zq_case_owner(source, owner);
    in.owner = owner;
    in.source = source;
    in.now_ms = t->now_ms;
    in.idem_ttl_s = t->cfg->intake.idempotency_ttl_s;
    in.dup_window_days = t->cfg->intake.duplicate_window_days;
    /* A chat has no client address: the mobile and code quotas hold. */
    in.quota_mobile = t->cfg->intake.quota_mobile;
    in.quota_uscc = t->cfg->intake.quota_uscc;
    if (t->files != NULL) {
        /* Off the list of abandoned uploads (chatmedia.h's members). */
        if (zq_fmt(sid, sizeof(sid), "chat:%s:%s", t->in->channel, t->user) == 0)
            zq_files_pending_members(f, vis, sid, &pending);
        pub = zq_files_public(f, vis);
        if (pending.oom || pub == NULL ||
            (json_array_size(pub) > 0 && (pub_s = json_dumps(pub, JSON_COMPACT)) == NULL)) {
            rc = zq_err_set(t->err, ZQ_ENOMEM, "dialogue: out of memory");
            goto out;
        }
        in.files_pending = pending.data;
        in.files_pub = pub_s;
    }
    rc = zq_case_create(t->env->store, &in, id, &created, dup, t->err);
out:
    json_decref(vis);
    json_decref(pub);
    free(pub_s);
    zq_buf_free(&pending);
    if (rc == -ZQ_EBUSY) {
        /* The draft is kept: 确认 tomorrow submits it. */
        ZQ_INFO("event=case_quota_full form=%s quota=%s source=chat:%s", f->id, id, t->in->channel);
        dlg_say(t, "%s\n\n回复“确认”可以稍后再次提交，回复“菜单”返回主菜单。",
                zq_case_quota_message(id));
        return 0;
    }
    if (rc < 0)
        return rc;
    ZQ_INFO("event=case_created id=%s form=%s created=%d source=chat:%s dup_of=%s", id, f->id,
            created, t->in->channel, dup[0] ? dup : "-");
    dlg_say(t, "提交成功！您的%s编号是：%s\n", strcmp(f->id, "complaint") == 0 ? "投诉" : "咨询",
            id);
    dlg_say(t,
            "请记下这个编号。我们会按规定办理，凭编号和手机号码可以随时回复“查询 "
            "%s”查看办理进度。\n\n回复“菜单”返回主菜单。",
            id);
    dlg_clear_draft(t);
    dlg_set_id(t->st.last_case, sizeof(t->st.last_case), id);
    t->st.mode = M_MENU;
    return 0;
}

/* 修改 <group>: a step by number or title (or id). */
static void edit_group(turn *t, const char *which)
{
    const zq_form *f = dlg_form_of(t);
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
        dlg_say(t, "没有找到“%s”。可以修改的部分：", which);
        for (i = 0, n = 0; i < f->nsteps; i++)
            if (!f->steps[i].review) {
                n++;
                dlg_say(t, "%s%zu %s", n > 1 ? "、" : "", n, f->steps[i].title);
            }
        dlg_say(t, "。请回复“修改”加序号，例如“修改 1”。");
        return;
    }
    t->st.mode = M_FORM;
    dlg_set_id(t->st.edit_step, sizeof(t->st.edit_step), st->id);
    dlg_set_id(t->st.cur, sizeof(t->st.cur), first->id);
    set_keep(t, first, json_object_get(t->st.answers, first->id));
    dlg_say(t, "修改“%s”：逐项回答，不修改的项回复“保留”。\n\n", st->title);
    dlg_ask(t, first, true);
}

/* The value fld's prefill rule suggests, as the text a person would type
 * (what 采用 answers). Returns 0, or -ZQ_ENOTFOUND. */
static int suggestion(turn *t, const zq_field *fld, char *text, size_t size)
{
    json_t *v = NULL;
    char *why = NULL;
    int rc = zq_field_prefill(dlg_form_of(t), fld, t->st.answers, &v, &why);

    if (rc < 0)
        return rc;
    if (json_is_integer(v))
        rc = zq_fmt(text, size, "%lld.%02lld", (long long)json_integer_value(v) / 100,
                    (long long)json_integer_value(v) % 100);
    else
        rc = zq_fmt(text, size, "%s", json_string_value(v) ? json_string_value(v) : "");
    json_decref(v);
    free(why);
    return rc < 0 ? -ZQ_ENOTFOUND : 0;
}

/* After an answer to the eligibility check that rules the complaint out:
 * says why and where to go instead (the text the web form shows), drops
 * the draft and goes back to the menu. True when it stopped. */
static bool gate_stops(turn *t)
{
    const zq_option *stop = zq_form_stop(dlg_form_of(t), t->st.answers, NULL);
    char msg[1024];

    if (stop == NULL)
        return false;
    if (zq_stop_message(stop, msg, sizeof(msg)) < 0)
        msg[0] = '\0';
    dlg_say(t, "很抱歉，这里不能受理您的投诉。%s\n\n回复“菜单”返回主菜单。", msg);
    dlg_clear_draft(t);
    t->st.mode = M_MENU;
    return true;
}

/* dlg_form_input for the question fld. */
static int form_input(turn *t, const zq_form *f, const zq_field *fld, const char *cmd,
                      const char *text, size_t len)
{
    json_t *val = NULL;
    char warn[512], taken[64];
    int rc;

    if (fld == NULL) {
        say_review(t);
        return 0;
    }
    if (dlg_is_any(cmd, W_BACK)) {
        const zq_field *prev;

        if (t->st.edit_step[0] != '\0') {
            const zq_step *st = zq_form_step(f, t->st.edit_step);

            prev = prev_in_step(f, st, t->st.answers, fld);
            if (prev == NULL) {
                say_review(t);
                return 0;
            }
            dlg_set_id(t->st.cur, sizeof(t->st.cur), prev->id);
            set_keep(t, prev, json_object_get(t->st.answers, prev->id));
            dlg_ask(t, prev, false);
            return 0;
        }
        prev = prev_answered(f, t->st.answers, fld);
        if (prev == NULL) {
            dlg_say(t, "已经是第一个问题了。\n\n");
            dlg_ask(t, fld, false);
            return 0;
        }
        set_keep(t, prev, json_object_get(t->st.answers, prev->id));
        json_object_del(t->st.answers, prev->id);
        t->st.draft_v++;
        dlg_ask(t, prev, false);
        return 0;
    }
    if (dlg_is_any(cmd, W_KEEP) && strcmp(t->st.keep_field, fld->id) == 0 && t->st.keep_value) {
        json_object_set(t->st.answers, fld->id, t->st.keep_value);
        t->st.draft_v++;
        advance(t, fld);
        return 0;
    }
    if (dlg_is_any(cmd, W_SKIP)) {
        if (fld->required) {
            dlg_say(t, "“%s”是必填项，不能跳过。\n", fld->label);
            dlg_reask(t, fld);
            return 0;
        }
        json_object_set_new(t->st.answers, fld->id, json_null());
        t->st.draft_v++;
        advance(t, fld);
        return 0;
    }
    if (dlg_is_any(cmd, W_CONFIRM)) {
        dlg_say(t, "还没有填写完，请先回答当前的问题。\n\n");
        dlg_ask(t, fld, false);
        return 0;
    }
    if (dlg_arg_of(cmd, "修改") != NULL) {
        dlg_say(t, "“修改”在全部填写完、核对内容时使用。请先回答当前的问题：\n\n");
        dlg_ask(t, fld, false);
        return 0;
    }
    /* 采用: the suggested value, checked as if typed. */
    if (dlg_is_any(cmd, W_TAKE) && suggestion(t, fld, taken, sizeof(taken)) == 0) {
        text = taken;
        len = strlen(taken);
    }
    rc = check_answer(t, fld, text, len, &val, warn, sizeof(warn));
    if (rc == -ZQ_ENOMEM)
        return zq_err_set(t->err, ZQ_ENOMEM, "dialogue: out of memory");
    if (rc < 0) {
        dlg_reask(t, fld);
        return 0;
    }
    json_object_set_new(t->st.answers, fld->id, val);
    t->st.draft_v++;
    if (warn[0] != '\0')
        dlg_say(t, "提示：%s。\n\n", warn);
    if (gate_stops(t))
        return 0;
    advance(t, fld);
    return 0;
}

/* One answer (or 跳过 / 保留) to the current question. */
int dlg_form_input(turn *t, const char *cmd, const char *text, size_t len)
{
    const zq_form *f = dlg_form_of(t);
    const zq_field *fld;

    if (f != NULL && t->st.edit_step[0] == '\0')
        fld = first_open(f, t->st.answers);
    else
        fld = dlg_current(t);
    return form_input(t, f, fld, cmd, text, len);
}

int dlg_review_input(turn *t, const char *cmd)
{
    const zq_form *f = dlg_form_of(t);
    const char *which = dlg_arg_of(cmd, "修改");

    if (dlg_is_any(cmd, W_CONFIRM))
        return confirm(t);
    if (which != NULL) {
        edit_group(t, which);
        return 0;
    }
    if (strcmp(cmd, "修改") == 0) {
        edit_group(t, "?");
        return 0;
    }
    if (dlg_is_any(cmd, W_BACK)) {
        const zq_field *prev = prev_answered(f, t->st.answers, NULL);

        if (prev != NULL) {
            set_keep(t, prev, json_object_get(t->st.answers, prev->id));
            json_object_del(t->st.answers, prev->id);
            t->st.draft_v++;
            t->st.mode = M_FORM;
            dlg_ask(t, prev, false);
            return 0;
        }
    }
    dlg_say(t,
            "请回复“确认”提交，或回复“修改”加部分序号修改（例如“修改 1”），回复“取消”放弃填写。");
    return 0;
}

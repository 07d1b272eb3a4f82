/* The chat's menu and its commands: the status lookup (lib/intake's
 * lookup), reminder subscriptions, the upcoming classes and the help.
 *
 * 订阅 saves a push target (include/zhuqi/targets.h) with the id
 * zq_target_chat_id("chat:{channel}:{user}") -- in a group chat the
 * group's zq_target_group_id, whoever says it -- and the tags "tax" and
 * "tax_day" (the audience of the monthly reminders in
 * config/reminders.json), and when a region is given its code and
 * "region:<code>" (the staff notices' convention). */
#include "dialogue_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "zhuqi/classes.h"
#include "zhuqi/log.h"
#include "zhuqi/lookup.h"
#include "zhuqi/targets.h"

void dlg_show_menu(turn *t, bool greet)
{
    const zq_form *f = dlg_form_of(t);

    t->st.mode = M_MENU;
    if (greet)
        dlg_say(t, "您好！这里是四川省中小企业服务“助企”。\n");
    if (f != NULL)
        dlg_say(t, "您有未完成的“%s”，回复“%s”可以继续填写。\n", f->title,
                strcmp(f->id, "complaint") == 0 ? "2" : "1");
    dlg_say_menu(t);
}

void dlg_say_help(turn *t)
{
    dlg_say(t, "使用说明：\n"
               "· 回复序号或文字选择菜单项；\n"
               "· 填写时每次回答一个问题，随时可以回复：\n"
               "  返回 — 回到上一题\n"
               "  跳过 — 跳过选填项\n"
               "  取消 — 放弃本次填写\n"
               "  菜单 — 回到主菜单（已填内容会保留）\n"
               "  网页填写 — 获取链接，在网页上接着填写\n"
               "· 核对时回复“确认”提交，或回复“修改”加部分名称或序号修改某一部分；\n"
               "· 查询 编号 — 查询办理进度，例如“查询 TS20261126-0001”；\n"
               "· 订阅 / 退订 — 税务助企宣讲日 · 财税云课堂的课前提醒（每月 27 日）。");
    /* A Telegram group shows the bot only commands and replies to it. */
    if (strcmp(t->in->channel, "telegram") == 0)
        dlg_say(t,
                "\n· 在 Telegram 群组中请使用命令：/menu 菜单、/consult 咨询、/complaint "
                "投诉、/status 查询、/subscribe 订阅、/unsubscribe 退订、/classes 课程、/cancel "
                "取消、/back 返回、/skip 跳过、/confirm 确认；回答问题时请直接回复机器人的消息。");
}

void dlg_upper_id(const char *in, char *out, size_t outsz)
{
    size_t i;

    for (i = 0; in[i] != '\0' && i + 1 < outsz; i++)
        out[i] = (char)toupper((unsigned char)in[i]);
    out[i] = '\0';
}

static void lookup_ask_id(turn *t)
{
    t->st.mode = M_LOOKUP_ID;
    dlg_say(t, "请回复要查询的案件编号，例如：TS20261126-0001（回复“菜单”返回）。");
}

void dlg_lookup_take_id(turn *t, const char *arg)
{
    char id[64];

    dlg_upper_id(arg, id, sizeof(id));
    if (strlen(id) >= ZQ_CASE_ID_MAX || !zq_case_id_valid(id)) {
        t->st.mode = M_LOOKUP_ID;
        dlg_say(t, "案件编号格式不正确：应为两个字母、8 位日期、短横线和序号，例如 "
                   "TS20261126-0001。请重新回复编号（回复“菜单”返回）。");
        return;
    }
    memcpy(t->st.lookup, id, strlen(id) + 1);
    t->st.mode = M_LOOKUP_MOBILE;
    dlg_say(t, "请回复提交时填写的手机号码，用于核实身份。");
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
    dlg_say(t, "下一个办理时限：\n· %s：%d年%d月%d日前", what && *what ? what : "办理期限", day.y,
            day.m, day.d);
    if (json_is_true(json_object_get(d, "overdue")))
        dlg_say(t, "（已超过期限）");
    else if (json_is_integer(left) && json_integer_value(left) > 0)
        dlg_say(t, "（还有 %lld%s）", (long long)json_integer_value(left),
                unit != NULL && strcmp(unit, "workdays") == 0 ? " 个工作日" : " 天");
    else if (json_is_integer(left))
        dlg_say(t, "（今天到期）");
    if (json_is_true(json_object_get(d, "extended")))
        dlg_say(t, "，期限已延长");
    dlg_say(t, "\n");
}

static void say_public_case(turn *t, json_t *pub)
{
    json_t *hist = json_object_get(pub, "history"), *e, *contact = json_object_get(pub, "contact");
    const char *created = json_string_value(json_object_get(pub, "created_at"));
    size_t i;

    dlg_say(t, "案件编号：%s\n", json_string_value(json_object_get(pub, "id")));
    dlg_say(t, "事项：%s\n", json_string_value(json_object_get(pub, "type_label")));
    dlg_say(t, "当前状态：%s\n", json_string_value(json_object_get(pub, "status_label")));
    if (created != NULL)
        dlg_say(t, "提交时间：%.10s %.5s\n", created, strlen(created) >= 16 ? created + 11 : "");
    if (json_string_value(json_object_get(contact, "company_name")) != NULL &&
        *json_string_value(json_object_get(contact, "company_name")) != '\0')
        dlg_say(t, "企业：%s\n", json_string_value(json_object_get(contact, "company_name")));
    dlg_say(t, "联系人：%s（%s）\n", json_string_value(json_object_get(contact, "contact_name")),
            json_string_value(json_object_get(contact, "mobile")));
    say_deadline(t, json_object_get(pub, "deadline"));
    dlg_say(t, "办理记录：\n");
    json_array_foreach(hist, i, e)
    {
        const char *at = json_string_value(json_object_get(e, "at"));
        const char *note = json_string_value(json_object_get(e, "note"));

        dlg_say(t, "· %.10s %.5s %s%s%s\n", at ? at : "", at && strlen(at) >= 16 ? at + 11 : "",
                json_string_value(json_object_get(e, "label")), note ? "：" : "", note ? note : "");
    }
}

int dlg_lookup_mobile(turn *t, const char *text, size_t len)
{
    json_t *raw = json_stringn_nocheck(text, len), *norm = NULL, *pub = NULL;
    const char *msg;
    char who[160];
    zq_wf_limits lim;
    zq_lookup_in in;
    int rc, retry_s = 0;

    rc = zq_lookup_mobile(t->schema, &t->opts, raw, &norm, &msg);
    json_decref(raw);
    if (rc < 0) {
        dlg_say(t, "%s。请重新回复手机号码（回复“菜单”返回）。", msg);
        return 0;
    }
    if (dlg_source(t, who, sizeof(who)) < 0) {
        json_decref(norm);
        return zq_err_set(t->err, ZQ_ETOOBIG, "dialogue: chat source too long");
    }
    zq_wf_limits_from_config(t->cfg, &lim);
    memset(&in, 0, sizeof(in));
    in.id = t->st.lookup;
    in.mobile = json_string_value(norm);
    in.who = who;
    in.per_minute = t->cfg->intake.lookup_per_minute;
    in.fail_max = t->cfg->intake.lookup_fail_max;
    in.lockout_s = t->cfg->intake.lookup_lockout_s;
    in.now_ms = t->now_ms;
    in.schema = t->schema;
    in.cal = t->env->calendar;
    in.lim = &lim;
    rc = zq_lookup_case(t->env->store, &in, &pub, &retry_s, t->err);
    json_decref(norm);
    if (rc == -ZQ_EUNAVAIL || rc == -ZQ_ENOMEM || rc == -ZQ_EINVAL || rc == -ZQ_EREPLY)
        return rc;
    t->st.mode = M_MENU;
    if (rc == -ZQ_EBUSY) {
        dlg_say(t, "查询过于频繁，请稍后再试。");
        return 0;
    }
    if (rc == -ZQ_ECONFLICT) {
        dlg_say(t, "该案件的查询因多次手机号码不符已暂时锁定，请在约 %d 分钟后再试。",
                (retry_s + 59) / 60);
        return 0;
    }
    if (rc < 0) {
        dlg_say(t, "未找到该案件，请核对案件编号和手机号码。\n回复“查询 "
                   "编号”可以重新查询，回复“菜单”返回主菜单。");
    } else {
        say_public_case(t, pub);
        json_decref(pub);
        dlg_say(t, "\n回复“菜单”返回主菜单。");
    }
    t->st.lookup[0] = '\0';
    return 0;
}

/* Copies s (NULL: "") when it fits. */
static bool copy_fit(char *out, size_t outsz, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n >= outsz)
        return false;
    memcpy(out, s ? s : "", n + 1);
    return true;
}

/* Where this chat's reminders go (the inbound adapter said). Returns 0 or
 * -ZQ_EINVAL when an address does not fit. */
static int chat_target(const turn *t, zq_target *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = t->in->target_kind;
    if (!copy_fit(out->address, sizeof(out->address), t->in->target_address) ||
        !copy_fit(out->chat_id, sizeof(out->chat_id), t->in->target_chat_id) ||
        !copy_fit(out->secret, sizeof(out->secret), t->in->target_secret))
        return -ZQ_EINVAL;
    return 0;
}

/* The id of the sender's own subscription: the one zq_target_chat_id
 * derives from a case's source, so that the staff side can reach the
 * one-to-one chat a case came from. */
static int person_id(turn *t, char out[ZQ_TARGET_ID_MAX])
{
    char source[160];

    if (dlg_source(t, source, sizeof(source)) < 0)
        return -ZQ_ETOOBIG;
    return zq_target_chat_id(source, out);
}

/* The id of this chat's subscription. A subscription belongs to the chat:
 * in a group every member's 订阅 saves the group's one record
 * (zq_target_group_id), so the group gets each reminder once however
 * many members subscribed; one to one it is the person's. */
static int target_id(turn *t, char out[ZQ_TARGET_ID_MAX])
{
    zq_target dst;

    if (!t->in->group)
        return person_id(t, out);
    if (chat_target(t, &dst) < 0)
        return -ZQ_EINVAL;
    return zq_target_group_id(t->in->channel, &dst, out);
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
    {
        char id[ZQ_TARGET_ID_MAX];

        memcpy(id, rec.t.id, sizeof(id));
        if (chat_target(t, &rec.t) < 0)
            return zq_err_set(t->err, ZQ_EINVAL, "dialogue: target address too long");
        memcpy(rec.t.id, id, sizeof(id));
    }
    /* The tags: "tax_day" is what the shipped reminder rule addresses:
     * without it the monthly reminders would not reach the chat. A region
     * code is six digits, so every part fits; a target that cannot be
     * written whole is not saved. */
    if (zq_fmt(rec.name, sizeof(rec.name), "聊天订阅（%s）", t->in->channel) < 0 ||
        dlg_source(t, rec.source, sizeof(rec.source)) < 0 ||
        zq_fmt(rec.tags[rec.ntags++], ZQ_TAG_MAX, "tax") < 0 ||
        zq_fmt(rec.tags[rec.ntags++], ZQ_TAG_MAX, "tax_day") < 0 ||
        (region != NULL &&
         (zq_fmt(rec.tags[rec.ntags++], ZQ_TAG_MAX, "%s", region->code) < 0 ||
          zq_fmt(rec.tags[rec.ntags++], ZQ_TAG_MAX, "region:%s", region->code) < 0)))
        return zq_err_set(t->err, ZQ_ETOOBIG, "dialogue: subscription too long");
    rc = zq_target_save(t->env->store, &rec, t->now_ms, &created, t->err);
    if (rc < 0)
        return rc;
    ZQ_INFO("event=chat_subscribed target=%s created=%d region=%s", rec.t.id, created,
            region ? region->code : "-");
    dlg_say(t,
            "订阅成功！每月 27 "
            "日税务助企宣讲日前，会在这里提醒您财税云课堂的时间和链接%s%s%"
            "s。\n回复“退订”可以随时取消。",
            region ? "，并推送" : "", region ? region->name : "", region ? "的服务通知" : "");
    return 0;
}

int dlg_unsubscribe(turn *t)
{
    char id[ZQ_TARGET_ID_MAX];
    zq_target dst;
    int rc, n = 0;

    if (target_id(t, id) < 0)
        return zq_err_set(t->err, ZQ_EINVAL, "dialogue: no target id for this chat");
    if (t->in->group) {
        /* Any member's 退订 ends the group's subscription: its record and
         * those members saved one per person before (the sender's own is
         * checked too: it may predate the destination index). */
        char mine[ZQ_TARGET_ID_MAX];

        if (chat_target(t, &dst) < 0 || person_id(t, mine) < 0)
            return zq_err_set(t->err, ZQ_EINVAL, "dialogue: no target for this chat");
        rc = zq_target_delete_chat(t->env->store, &dst, mine, &n, t->err);
        if (rc < 0)
            return rc;
        rc = n > 0 ? 0 : -ZQ_ENOTFOUND;
    } else {
        rc = zq_target_delete(t->env->store, id, t->err);
    }
    if (rc < 0 && rc != -ZQ_ENOTFOUND)
        return rc;
    if (t->st.mode != M_FORM && t->st.mode != M_REVIEW)
        t->st.mode = M_MENU;
    if (rc == 0)
        dlg_say(t, "已退订税务助企宣讲日提醒，之后不会再在这里推送。回复“订阅”可以重新订阅。");
    else
        dlg_say(t, "这里还没有订阅税务助企宣讲日提醒。回复“订阅”即可订阅。");
    return 0;
}

int dlg_sub_start(turn *t, const char *arg)
{
    static const zq_field region_field = {.id = "region",
                                          .label = "所在地区",
                                          .type = ZQ_FIELD_REGION,
                                          .required = true,
                                          .allow_outside = true};
    const zq_region *region = NULL;

    if (!t->in->can_push) {
        t->st.mode = M_MENU;
        dlg_say(t,
                "抱歉，这里暂时不能推送提醒，订阅功能尚未开通。可以回复“5”查看近期课程，或关注每月 "
                "27 日的税务助企宣讲日。");
        return 0;
    }
    if (arg == NULL) {
        t->st.mode = M_SUB_REGION;
        dlg_say(
            t, "订阅后，每月 27 日税务助企宣讲日前会在这里提醒您财税云课堂的时间和链接。\n"
               "请回复企业所在的市（州），例如“成都”，以便同时接收本地的服务通知；不需要请回复“跳过"
               "”。");
        return 0;
    }
    if (!dlg_is_any(arg, W_SKIP)) {
        json_t *raw = json_string(arg), *norm = NULL;
        const char *msg = NULL;

        if (zq_field_validate(t->schema, &region_field, raw, &t->opts, &norm, &msg) < 0 ||
            !json_is_string(norm)) {
            json_decref(raw);
            json_decref(norm);
            t->st.mode = M_SUB_REGION;
            dlg_say(t, "%s。请重新回复市（州）名称，例如“成都”；不需要请回复“跳过”。",
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
        /* As the staff API stores it (zq_class_to_json). */
        const char *link = json_string_value(json_object_get(c, "live_url"));

        if (link != NULL && *link == '\0')
            link = NULL;
        if (title != NULL) {
            if (shown++ == 0)
                dlg_say(t, "近期的财税云课堂：\n");
            dlg_say(t, "\n· %s\n", title);
            if (date != NULL)
                dlg_say(t, "  时间：%s%s%s\n", date, time_ ? " " : "", time_ ? time_ : "");
            else if (starts != NULL)
                dlg_say(t, "  时间：%.10s %.5s\n", starts, strlen(starts) >= 16 ? starts + 11 : "");
            if (link != NULL)
                dlg_say(t, "  链接：%s\n", link);
        }
    }
    json_decref(list);
    if (shown == 0)
        dlg_say(
            t,
            "近期还没有发布课程安排。每月 27 "
            "日是税务助企宣讲日，届时有财税云课堂直播和在线咨询；回复“订阅”可以在课前收到提醒。");
    else
        dlg_say(t, "\n回复“订阅”可以在每次课前收到提醒。");
    return 0;
}

int dlg_menu_input(turn *t, const char *cmd)
{
    if (dlg_is_any(cmd, W_CONSULT)) {
        dlg_start_flow(t, "consult");
        return 0;
    }
    if (dlg_is_any(cmd, W_COMPLAINT)) {
        dlg_start_flow(t, "complaint");
        return 0;
    }
    if (dlg_is_any(cmd, W_LOOKUP)) {
        lookup_ask_id(t);
        return 0;
    }
    if (dlg_is_any(cmd, W_SUB))
        return dlg_sub_start(t, NULL);
    if (dlg_is_any(cmd, W_CLASSES))
        return classes(t);
    if (dlg_is_any(cmd, W_CONFIRM) && t->st.last_case[0] != '\0') {
        dlg_say(t, "您刚才的提交已经完成，编号是 %s，无需再次确认。回复“查询 %s”可以查看办理进度。",
                t->st.last_case, t->st.last_case);
        return 0;
    }
    if (!t->fresh)
        dlg_say(t, "抱歉，没有理解您的意思。\n");
    dlg_show_menu(t, t->fresh);
    return 0;
}

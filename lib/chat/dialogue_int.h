/* Private to lib/chat/dialogue*.c: the state of one chat, the turn a
 * message is processed in, and the functions the parts share.
 *
 * The parts call one another in one direction only, so that there is no
 * call cycle between them:
 *   dialogue.c        the engine: state in Redis, the dispatch of a message
 *   dialogue_menu.c   the menu and its commands (lookup, subscribe,
 *                     classes, help), which may start a form
 *   dialogue_form.c   the form flow: one question per field, the review,
 *                     the confirmation, the hand-over to the web
 *   dialogue_reply.c  writing replies and matching command words, used by
 *                     all of the above
 *
 * The state: mode, form, answers, cur, edit_step, draft, draft_v,
 * lookup, last_case, keep_field, keep_value, seq (stored as fields of the
 * chat's hash, see dialogue.c). mode is one of menu,
 * form, review, lookup_id, lookup_mobile, sub_region. In the form the
 * question asked is the first visible field without an answer, except
 * while a group is being changed from the review (edit_step set), when it
 * is cur. An optional field skipped is answered null. */
#ifndef ZHUQI_DIALOGUE_INT_H
#define ZHUQI_DIALOGUE_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuqi/buf.h"
#include "zhuqi/cases.h"
#include "zhuqi/dialogue.h"

typedef enum mode {
    M_MENU,
    M_FORM,
    M_REVIEW,
    M_LOOKUP_ID,
    M_LOOKUP_MOBILE,
    M_SUB_REGION,
} mode;

typedef struct dstate {
    mode mode;
    char form[48];
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

/* One string of the loaded hash, borrowed from the load's reply. */
typedef struct dlg_str {
    const char *str;
    size_t len;
    /* For an answer's value: the value the load decoded from it (a
     * reference of its own, so that its address names it until the
     * save), or NULL. The save skips an answer that still holds it. */
    json_t *val;
} dlg_str;

/* The chat's hash as the load script returned it: f holds name, value,
 * name, value... (n strings), pointing into rep, which owns the bytes. */
typedef struct dlg_hash {
    redisReply *rep;
    dlg_str *f;
    size_t n;
} dlg_hash;

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
    /* The files sent in this chat for its draft (chatmedia.h's field f,
     * when it is this draft's): an array of files.h records, owned. */
    json_t *files;
    /* A media fetch job to queue with the save (chatmedia.h), or NULL;
     * owned. */
    json_t *job;
    char seen; /* the marker as loaded: '0', '1', or 0 when missing */
    /* The chat's hash as loaded (no fields when it had no version): the
     * save writes only the fields that differ from it. Owned. */
    dlg_hash loaded;
} turn;

/* The words commands are matched with (after norm_cmd's folding, which
 * also turns Telegram's slash commands into these words). */
static const char *const W_MENU[] = {"菜单", "主菜单", "menu", "/start", "开始", NULL};
static const char *const W_HELP[] = {"帮助", "help", "?", "？", "使用说明", NULL};
static const char *const W_CANCEL[] = {"取消", "cancel", "放弃", NULL};
static const char *const W_BACK[] = {"返回", "上一题", "上一步", NULL};
static const char *const W_SKIP[] = {"跳过", "不填", NULL};
static const char *const W_KEEP[] = {"保留", "不修改", "不变", NULL};
static const char *const W_TAKE[] = {"采用", "采用建议", NULL};
static const char *const W_CONFIRM[] = {"确认", "确认提交", "提交", NULL};
static const char *const W_WEB[] = {"网页填写", "网页", NULL};
static const char *const W_UNSUB[] = {"退订", "取消订阅", NULL};
static const char *const W_CONSULT[] = {"1", "咨询", "在线咨询", "在线问诊", "问诊", NULL};
static const char *const W_COMPLAINT[] = {"2",        "投诉",         "欠款投诉",
                                          "拖欠投诉", "拖欠款项投诉", NULL};
static const char *const W_LOOKUP[] = {"3", "查询", "查询进度", "进度", NULL};
static const char *const W_SUB[] = {
    "4", "订阅", "订阅税务助企宣讲日提醒", "订阅税务助企提醒", "订阅提醒", "提醒", NULL};
static const char *const W_CLASSES[] = {"5", "课程", "近期课程", "课堂", "财税云课堂", NULL};

/* ---- dialogue_reply.c ------------------------------------------------ */

/* Appends to the reply being written (a format, like printf). */
void dlg_say(turn *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies a schema id (NULL: "") into one of the state's id fields, or
 * makes it "" when it does not fit: "" is the state's "none", which every
 * reader handles, while a cut id could name another field. Schema ids
 * ([a-z][a-z0-9_]{0,39}) always fit the 48 bytes of dstate's fields. */
void dlg_set_id(char *dst, size_t dstsz, const char *id);

/* Writes "chat:<channel>:<user>", this chat as a case's source and a
 * lookup's requester, into out (outsz bytes; 128 always suffice). Returns
 * 0, or -ZQ_ETOOBIG when it does not fit. */
int dlg_source(const turn *t, char *out, size_t outsz);

/* True when cmd is one of words (NULL-terminated). */
bool dlg_is_any(const char *cmd, const char *const *words);

/* When cmd is word followed by an argument, returns the argument (spaces
 * and colons skipped; borrowed from cmd), else NULL. */
const char *dlg_arg_of(const char *cmd, const char *word);

/* The form of the draft in progress (borrowed from the schema), or NULL. */
const zq_form *dlg_form_of(const turn *t);

/* Writes the menu's choices. */
void dlg_say_menu(turn *t);

/* ---- dialogue_form.c ------------------------------------------------- */

/* Asks fld: the group's title when it opens one (or always when header),
 * the label, help, options, example, and how to skip or keep. */
void dlg_ask(turn *t, const zq_field *fld, bool header);

/* The field being asked now (borrowed from the schema), or NULL. */
const zq_field *dlg_current(turn *t);

/* Re-asks fld briefly after an error. */
void dlg_reask(turn *t, const zq_field *fld);

/* Forgets the draft in progress. */
void dlg_clear_draft(turn *t);

/* Starts (or resumes) the flow of form form_id. */
void dlg_start_flow(turn *t, const char *form_id);

/* One answer (or 返回, 跳过, 保留...) to the current question, and the
 * review's commands. Return 0, or a negative code when storage failed. */
int dlg_form_input(turn *t, const char *cmd, const char *text, size_t len);
int dlg_review_input(turn *t, const char *cmd);

/* 网页填写: stores the draft for the web form and says the link. Returns
 * 0 or a negative code. */
int dlg_handoff(turn *t);

/* An image or file sent in the chat (t->in->media): sets t->job to fetch
 * it when the draft's files question has been reached, else says why it
 * is not taken. Returns 0 or a negative code. */
int dlg_media(turn *t);

/* ---- dialogue_menu.c ------------------------------------------------- */

/* Goes to the menu and shows it (with a greeting when greet). */
void dlg_show_menu(turn *t, bool greet);

/* Writes the help text. */
void dlg_say_help(turn *t);

/* Copies a case number in upper case into out (outsz bytes). */
void dlg_upper_id(const char *in, char *out, size_t outsz);

/* 查询: takes the case number arg, then asks for the mobile. */
void dlg_lookup_take_id(turn *t, const char *arg);

/* The mobile of a lookup: answers with the case. Returns 0 or a negative
 * code when storage failed. */
int dlg_lookup_mobile(turn *t, const char *text, size_t len);

/* 退订, and 订阅 with the region arg (NULL: ask for it). Return 0 or a
 * negative code when storage failed. */
int dlg_unsubscribe(turn *t);
int dlg_sub_start(turn *t, const char *arg);

/* A command at the menu. Returns 0 or a negative code. */
int dlg_menu_input(turn *t, const char *cmd);

#endif

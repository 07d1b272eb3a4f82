/* The case state machines as data, and the legal time limits computed on
 * working days from a case's history. */
#include "zhuqi/workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/common.h"

/* The complaint (保障中小企业款项支付条例): review, acceptance, transfer to
 * the handling department, written result; a request for more material
 * (which must tell the enterprise what is missing) runs the enterprise's
 * own date instead of the review clock, which pauses meanwhile or restarts
 * when the material arrives ([workflow] supplement_clock). */
static const zq_wf_status complaint_statuses[] = {
    {"submitted", "已提交", ZQ_WF_CLOCK_REVIEW, false, true},
    {"needs_info", "待补充材料", ZQ_WF_CLOCK_SUPPLY, false, true},
    {"accepted", "已受理", ZQ_WF_CLOCK_TRANSFER, false},
    {"rejected", "不予受理", ZQ_WF_CLOCK_NONE, false},
    {"transferred", "已转办", ZQ_WF_CLOCK_ANSWER, false},
    {"in_progress", "办理中", ZQ_WF_CLOCK_ANSWER, false},
    {"answered", "已答复", ZQ_WF_CLOCK_NONE, false},
    {"closed", "已办结", ZQ_WF_CLOCK_NONE, true},
    {"withdrawn", "已撤回", ZQ_WF_CLOCK_NONE, true},
};

static const zq_wf_move complaint_moves[] = {
    {"submitted", "needs_info", "要求补充材料", ZQ_ROLE_HANDLER, false, true, false, false, true},
    {"submitted", "accepted", "受理", ZQ_ROLE_HANDLER, false, true},
    {"submitted", "rejected", "不予受理", ZQ_ROLE_HANDLER, true, true},
    {"submitted", "withdrawn", "撤回", ZQ_ROLE_HANDLER, true, true},
    {"needs_info", "submitted", "材料已补充", ZQ_ROLE_HANDLER, false, true},
    {"needs_info", "rejected", "不予受理", ZQ_ROLE_HANDLER, true, true},
    {"needs_info", "withdrawn", "撤回", ZQ_ROLE_HANDLER, true, true},
    {"accepted", "transferred", "转办", ZQ_ROLE_HANDLER, true, true, false, true},
    {"accepted", "withdrawn", "撤回", ZQ_ROLE_HANDLER, true, true},
    {"transferred", "in_progress", "开始办理", ZQ_ROLE_HANDLER, false, true},
    {"transferred", "answered", "书面答复", ZQ_ROLE_HANDLER, true, true, true, false},
    {"transferred", "withdrawn", "撤回", ZQ_ROLE_HANDLER, true, true},
    {"in_progress", "answered", "书面答复", ZQ_ROLE_HANDLER, true, true, true, false},
    {"in_progress", "withdrawn", "撤回", ZQ_ROLE_HANDLER, true, true},
    {"answered", "closed", "办结", ZQ_ROLE_HANDLER, false, true, true, false},
    {"answered", "in_progress", "重新办理", ZQ_ROLE_ADMIN, true, true},
    {"rejected", "submitted", "撤销不予受理", ZQ_ROLE_ADMIN, true, true},
};

/* The consultation: no legal time limit. The enterprise may withdraw a
 * question nobody has taken up yet (submitted); once assigned, a handler
 * is working on the answer, and a consultation that is no longer wanted
 * is closed by staff. No staff move leads to withdrawn: staff close. */
static const zq_wf_status consult_statuses[] = {
    {"submitted", "已提交", ZQ_WF_CLOCK_NONE, false, true},
    {"assigned", "已分派", ZQ_WF_CLOCK_NONE, false},
    {"answered", "已答复", ZQ_WF_CLOCK_NONE, false},
    {"closed", "已办结", ZQ_WF_CLOCK_NONE, true},
    {"withdrawn", "已撤回", ZQ_WF_CLOCK_NONE, true},
};

static const zq_wf_move consult_moves[] = {
    {"submitted", "assigned", "分派", ZQ_ROLE_HANDLER, false, false},
    {"submitted", "closed", "关闭（无效或重复）", ZQ_ROLE_HANDLER, true, true},
    {"assigned", "answered", "答复", ZQ_ROLE_HANDLER, true, true},
    {"assigned", "submitted", "退回待分派", ZQ_ROLE_HANDLER, true, false},
    {"answered", "closed", "办结", ZQ_ROLE_HANDLER, false, true},
    {"answered", "assigned", "重新答复", ZQ_ROLE_ADMIN, true, false},
};

static const zq_wf_machine machines[] = {
    {"complaint", "submitted", complaint_statuses, ZQ_ARRAY_LEN(complaint_statuses),
     complaint_moves, ZQ_ARRAY_LEN(complaint_moves)},
    {"consult", "submitted", consult_statuses, ZQ_ARRAY_LEN(consult_statuses), consult_moves,
     ZQ_ARRAY_LEN(consult_moves)},
};

void zq_wf_limits_from_config(const zq_config *cfg, zq_wf_limits *out)
{
    out->review_workdays = cfg->workflow.review_workdays;
    out->transfer_workdays = cfg->workflow.transfer_workdays;
    out->answer_days = cfg->workflow.answer_days;
    out->answer_max_days = cfg->workflow.answer_max_days;
    out->supplement_workdays = cfg->workflow.supplement_days;
    out->review_restart = strcmp(cfg->workflow.supplement_clock, "restart") == 0;
}

const zq_wf_machine *zq_wf_machine_for(const char *form)
{
    size_t i;

    if (form == NULL)
        return NULL;
    for (i = 0; i < ZQ_ARRAY_LEN(machines); i++)
        if (strcmp(machines[i].form, form) == 0)
            return &machines[i];
    return NULL;
}

const zq_wf_machine *zq_wf_machine_at(size_t i)
{
    return i < ZQ_ARRAY_LEN(machines) ? &machines[i] : NULL;
}

size_t zq_wf_nmachines(void)
{
    return ZQ_ARRAY_LEN(machines);
}

const zq_wf_status *zq_wf_status_find(const zq_wf_machine *m, const char *status)
{
    size_t i;

    if (m == NULL || status == NULL)
        return NULL;
    for (i = 0; i < m->nstatuses; i++)
        if (strcmp(m->statuses[i].id, status) == 0)
            return &m->statuses[i];
    return NULL;
}

bool zq_wf_withdrawable(const char *form, const char *status)
{
    const zq_wf_machine *m = zq_wf_machine_for(form);
    const zq_wf_status *s = zq_wf_status_find(m, status);

    return s != NULL && s->withdrawable && zq_wf_status_find(m, "withdrawn") != NULL;
}

bool zq_wf_status_known(const char *status)
{
    size_t i;

    for (i = 0; i < ZQ_ARRAY_LEN(machines); i++)
        if (zq_wf_status_find(&machines[i], status) != NULL)
            return true;
    return false;
}

const zq_wf_move *zq_wf_move_find(const zq_wf_machine *m, const char *from, const char *to)
{
    size_t i;

    if (m == NULL || from == NULL || to == NULL)
        return NULL;
    for (i = 0; i < m->nmoves; i++)
        if (strcmp(m->moves[i].from, from) == 0 && strcmp(m->moves[i].to, to) == 0)
            return &m->moves[i];
    return NULL;
}

/* True when s has a character other than ASCII or full-width spaces. */
static bool has_text(const char *s)
{
    while (s != NULL && *s != '\0') {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
            s++;
        } else if (strncmp(s, "\xe3\x80\x80", 3) == 0) { /* U+3000 */
            s += 3;
        } else {
            return true;
        }
    }
    return false;
}

int zq_wf_check(const zq_wf_machine *m, const char *from, const char *to, zq_role role,
                const char *note)
{
    const zq_wf_move *mv = zq_wf_move_find(m, from, to);

    if (mv == NULL)
        return -ZQ_ECONFLICT;
    if (role < mv->role)
        return -ZQ_EFORBIDDEN;
    if (mv->note_required && !has_text(note))
        return -ZQ_EINVAL;
    return 0;
}

static const char *status_label(const zq_wf_machine *m, const char *status)
{
    const zq_wf_status *s = zq_wf_status_find(m, status);

    return s ? s->label : status;
}

json_t *zq_wf_moves_json(const zq_wf_machine *m, const char *from, zq_role role)
{
    json_t *out = json_array();
    size_t i;

    if (m == NULL || from == NULL)
        return out;
    for (i = 0; i < m->nmoves; i++) {
        const zq_wf_move *mv = &m->moves[i];
        if (strcmp(mv->from, from) != 0 || role < mv->role)
            continue;
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s, s:b, s:b, s:s, s:b, s:b, s:b}", "to", mv->to,
                           "to_label", status_label(m, mv->to), "action", mv->action,
                           "note_required", mv->note_required, "public_note", mv->public_note,
                           "role", zq_role_name(mv->role), "outcome_required", mv->outcome_required,
                           "department_required", mv->department_required, "message_required",
                           mv->message_required));
    }
    return out;
}

json_t *zq_wf_machines_json(void)
{
    json_t *out = json_object();
    size_t i, j;

    for (i = 0; i < ZQ_ARRAY_LEN(machines); i++) {
        const zq_wf_machine *m = &machines[i];
        json_t *st = json_array(), *mv = json_array();

        for (j = 0; j < m->nstatuses; j++)
            json_array_append_new(st, json_pack("{s:s, s:s, s:s, s:b}", "id", m->statuses[j].id,
                                                "label", m->statuses[j].label, "clock",
                                                zq_wf_clock_name(m->statuses[j].clock), "final",
                                                m->statuses[j].final));
        for (j = 0; j < m->nmoves; j++)
            json_array_append_new(
                mv, json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b}", "from",
                              m->moves[j].from, "to", m->moves[j].to, "action", m->moves[j].action,
                              "role", zq_role_name(m->moves[j].role), "note_required",
                              m->moves[j].note_required, "public_note", m->moves[j].public_note,
                              "outcome_required", m->moves[j].outcome_required,
                              "department_required", m->moves[j].department_required,
                              "message_required", m->moves[j].message_required));
        json_object_set_new(
            out, m->form,
            json_pack("{s:s, s:o, s:o}", "initial", m->initial, "statuses", st, "moves", mv));
    }
    return out;
}

/* What a written answer or a closing achieved, for the statistics that
 * are reported upward. The codes are stable (exports, scripts). */
static const zq_wf_result results[] = {
    {"paid_full", "已全额支付", true, false},        {"paid_part", "已部分支付", true, false},
    {"plan_agreed", "已达成还款计划", false, false}, {"unresolved", "未解决", false, false},
    {"not_accepted", "不予受理", false, true},
};

const zq_wf_result *zq_wf_result_find(const char *id)
{
    size_t i;

    for (i = 0; id != NULL && i < ZQ_ARRAY_LEN(results); i++)
        if (strcmp(results[i].id, id) == 0)
            return &results[i];
    return NULL;
}

json_t *zq_wf_results_json(void)
{
    json_t *out = json_array();
    size_t i;

    for (i = 0; i < ZQ_ARRAY_LEN(results); i++)
        json_array_append_new(out, json_pack("{s:s, s:s, s:b, s:b}", "id", results[i].id, "label",
                                             results[i].label, "amount_positive",
                                             results[i].amount_positive, "reason_required",
                                             results[i].reason_required));
    return out;
}

/* The enterprise's evaluation of a closed case (stable codes: exports,
 * statistics, scripts). */
static const struct {
    const char *id;
    const char *label;
} ratings[] = {
    {"satisfied", "满意"},
    {"basically_satisfied", "基本满意"},
    {"dissatisfied", "不满意"},
};

const char *zq_wf_rating_label(const char *rating)
{
    for (size_t i = 0; rating != NULL && i < ZQ_ARRAY_LEN(ratings); i++)
        if (strcmp(ratings[i].id, rating) == 0)
            return ratings[i].label;
    return NULL;
}

const char *zq_wf_rating_at(size_t i)
{
    return i < ZQ_ARRAY_LEN(ratings) ? ratings[i].id : NULL;
}

/* True when s is a short id: 1 to 32 of [a-z0-9_]. */
static bool id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n > 0 && n <= 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* True when v is a string with text, at most max bytes. */
static bool text_ok(json_t *v, size_t max)
{
    const char *s = json_string_value(v);

    return s != NULL && has_text(s) && json_string_length(v) <= max;
}

int zq_wf_handling_load(const char *path, json_t **out, zq_err *err)
{
    json_error_t je;
    json_t *root, *deps, *msgs, *e, *o;
    size_t i, j;
    int rc = 0;

    *out = NULL;
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return zq_err_set(err, ZQ_EINVAL, "%s: line %d: %s", path, je.line, je.text);
    deps = json_object_get(root, "departments");
    msgs = json_object_get(root, "messages");
    if (!json_is_object(root) || !json_is_array(deps) || json_array_size(deps) == 0 ||
        (msgs != NULL && !json_is_array(msgs))) {
        rc = zq_err_set(err, ZQ_EINVAL, "%s: needs a non-empty \"departments\" array", path);
        goto out;
    }
    json_array_foreach(deps, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        if (!id_ok(id) || !text_ok(json_object_get(e, "label"), 200)) {
            rc = zq_err_set(err, ZQ_EINVAL,
                            "%s: departments[%zu]: needs an id ([a-z0-9_]) and a label", path, i);
            goto out;
        }
        for (j = 0; j < i; j++) {
            o = json_array_get(deps, j);
            if (strcmp(json_string_value(json_object_get(o, "id")), id) == 0) {
                rc = zq_err_set(err, ZQ_EINVAL, "%s: departments[%zu]: duplicate id '%s'", path, i,
                                id);
                goto out;
            }
        }
    }
    json_array_foreach(msgs, i, e)
    {
        if (!zq_wf_status_known(json_string_value(json_object_get(e, "to"))) ||
            !text_ok(json_object_get(e, "title"), 100) ||
            !text_ok(json_object_get(e, "text"), 6000)) {
            rc = zq_err_set(err, ZQ_EINVAL,
                            "%s: messages[%zu]: needs a known status in \"to\", a title and a "
                            "text",
                            path, i);
            goto out;
        }
    }
    if (msgs == NULL)
        json_object_set_new(root, "messages", json_array());
    *out = root;
    root = NULL;
out:
    json_decref(root);
    return rc;
}

const char *zq_wf_department_label(const json_t *handling, const char *id)
{
    json_t *e;
    size_t i;

    if (handling == NULL || id == NULL)
        return NULL;
    json_array_foreach(json_object_get(handling, "departments"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0)
            return json_string_value(json_object_get(e, "label"));
    }
    return NULL;
}

static int64_t entry_ms(json_t *e)
{
    json_t *at = json_object_get(e, "at_ms");

    if (json_is_integer(at))
        return (int64_t)json_integer_value(at);
    if (json_is_real(at))
        return (int64_t)json_real_value(at);
    return -1;
}

int zq_wf_waited(const zq_calendar *cal, int64_t from_ms, int64_t to_ms)
{
    zq_date a = zq_date_from_ms(from_ms), b = zq_date_from_ms(to_ms);

    if (from_ms < 0 || to_ms < 0 || zq_date_cmp(a, b) >= 0)
        return 0;
    return zq_cal_workdays_between(cal, a, b);
}

/* True when entry e is a status entry (no kind, or "status"). */
static bool status_entry(json_t *e)
{
    const char *kind = json_string_value(json_object_get(e, "kind"));

    return kind == NULL || strcmp(kind, "status") == 0;
}

int64_t zq_wf_last_request(json_t *history, json_t **entry)
{
    int64_t last = -1;
    json_t *e;
    size_t i;

    if (entry != NULL)
        *entry = NULL;
    json_array_foreach(history, i, e)
    {
        const char *to = json_string_value(json_object_get(e, "to"));
        int64_t at = entry_ms(e);

        if (at < 0 || !status_entry(e) || to == NULL || strcmp(to, "needs_info") != 0)
            continue;
        last = at;
        if (entry != NULL)
            *entry = e;
    }
    return last;
}

zq_date zq_wf_review_due(const zq_calendar *cal, const zq_wf_limits *lim, zq_date created)
{
    return zq_cal_add_workdays(cal, created, lim->review_workdays);
}

zq_date zq_wf_review_cutoff(const zq_calendar *cal, const zq_wf_limits *lim, zq_date limit)
{
    zq_date d = limit;
    int i;

    /* The review due date never decreases with the creation day, and it
     * lies at most a few weeks after it: walk back from limit. */
    for (i = 0; i < 4000; i++) {
        zq_date due = zq_wf_review_due(cal, lim, d);
        if (zq_date_valid(due) && zq_date_cmp(due, limit) <= 0)
            return d;
        d = zq_date_add_days(d, -1);
        if (!zq_date_valid(d))
            break;
    }
    return (zq_date){0, 0, 0};
}

void zq_wf_entry_from_toks(const zq_json_tok *t, zq_wf_entry *out)
{
    long long v;

    out->at_ms = -1;
    out->at_integer = false;
    if (zq_json_tok_int(t[0], &v)) {
        out->at_ms = (int64_t)v;
        out->at_integer = true;
    } else if (t[0].s != NULL && t[0].n > 0 && t[0].n < 64 &&
               (t[0].s[0] == '-' || (t[0].s[0] >= '0' && t[0].s[0] <= '9'))) {
        /* A real (Lua's cjson may write one): read as jansson would. */
        char tmp[64];
        memcpy(tmp, t[0].s, t[0].n);
        tmp[t[0].n] = '\0';
        double d = strtod(tmp, NULL);
        /* Only a time a cast can hold: anything else is no time. */
        if (d > -9.2e18 && d < 9.2e18)
            out->at_ms = (int64_t)d;
    }
    out->has_kind = zq_json_tok_is_string(t[1]);
    zq_json_decode(t[1].s, t[1].n, out->kind, sizeof(out->kind));
    out->has_to = zq_json_tok_is_string(t[2]);
    zq_json_decode(t[2].s, t[2].n, out->to, sizeof(out->to));
    out->has_from = zq_json_tok_is_string(t[3]);
    zq_json_decode(t[3].s, t[3].n, out->from, sizeof(out->from));
    out->has_supply_by = zq_json_tok_is_string(t[4]);
    zq_json_decode(t[4].s, t[4].n, out->supply_by, sizeof(out->supply_by));
    out->has_days = zq_json_tok_int(t[5], &v);
    out->days = out->has_days ? (int)v : 0;
}

/* A string member into a zq_wf_entry field. */
static bool json_str_into(json_t *e, const char *key, char *out, size_t outsz)
{
    const char *v = json_string_value(json_object_get(e, key));
    size_t n = v ? strlen(v) : 0;

    if (n >= outsz)
        n = zq_utf8_cut(v, n, outsz - 1);
    if (n > 0)
        memcpy(out, v, n);
    out[n] = '\0';
    return v != NULL;
}

void zq_wf_entry_from_json(json_t *e, zq_wf_entry *out)
{
    json_t *days = json_object_get(e, "days");

    out->at_ms = entry_ms(e);
    out->at_integer = json_is_integer(json_object_get(e, "at_ms"));
    out->has_kind = json_str_into(e, "kind", out->kind, sizeof(out->kind));
    out->has_to = json_str_into(e, "to", out->to, sizeof(out->to));
    out->has_from = json_str_into(e, "from", out->from, sizeof(out->from));
    out->has_supply_by = json_str_into(e, "supply_by", out->supply_by, sizeof(out->supply_by));
    out->has_days = json_is_integer(days);
    out->days = out->has_days ? (int)json_integer_value(days) : 0;
}

int zq_wf_deadline(const zq_calendar *cal, const zq_wf_limits *lim, const char *form,
                   const char *status, json_t *history, int64_t created_ms, zq_deadline *out)
{
    zq_wf_entry stack[16], *entries = stack;
    size_t i, n = json_array_size(history);
    int rc;

    if (n > ZQ_ARRAY_LEN(stack) && (entries = malloc(n * sizeof(*entries))) == NULL) {
        /* Out of memory: the deadline of the entries that fit. */
        entries = stack;
        n = ZQ_ARRAY_LEN(stack);
    }
    for (i = 0; i < n; i++)
        zq_wf_entry_from_json(json_array_get(history, i), &entries[i]);
    rc = zq_wf_deadline_entries(cal, lim, form, status, entries, n, created_ms, out);
    if (entries != stack)
        free(entries);
    return rc;
}

int zq_wf_deadline_entries(const zq_calendar *cal, const zq_wf_limits *lim, const char *form,
                           const char *status, const zq_wf_entry *entries, size_t n,
                           int64_t created_ms, zq_deadline *out)
{
    const zq_wf_machine *m = zq_wf_machine_for(form);
    const zq_wf_status *st = zq_wf_status_find(m, status);
    int64_t submitted_ms = created_ms, accepted_ms = -1, transferred_ms = -1, request_ms = -1;
    const char *supply_by = NULL;
    int ext_days = 0, paused = 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (st == NULL || st->clock == ZQ_WF_CLOCK_NONE)
        return 0;
    for (i = 0; i < n; i++) {
        const zq_wf_entry *e = &entries[i];
        const char *kind = e->has_kind ? e->kind : NULL;
        const char *to = e->has_to ? e->to : NULL;
        int64_t at = e->at_ms;

        if (at < 0)
            continue;
        if (kind != NULL && strcmp(kind, "extension") == 0) {
            if (transferred_ms >= 0 && e->has_days)
                ext_days = e->days;
            continue;
        }
        if ((kind != NULL && strcmp(kind, "status") != 0) || to == NULL)
            continue;
        if (strcmp(to, "submitted") == 0) {
            const char *from = e->has_from ? e->from : NULL;
            /* Back from waiting for material: the review clock goes on
             * where it stopped, unless the rules restart it. */
            if (from != NULL && strcmp(from, "needs_info") == 0 && request_ms >= 0 &&
                !lim->review_restart) {
                paused += zq_wf_waited(cal, request_ms, at);
            } else {
                submitted_ms = at;
                paused = 0;
            }
            request_ms = -1;
        } else if (strcmp(to, "needs_info") == 0) {
            request_ms = at;
            supply_by = e->has_supply_by ? e->supply_by : NULL;
        } else if (strcmp(to, "accepted") == 0) {
            accepted_ms = at;
        } else if (strcmp(to, "transferred") == 0) {
            transferred_ms = at;
            ext_days = 0; /* a new transfer starts a new answer period */
        }
    }

    out->clock = st->clock;
    switch (st->clock) {
    case ZQ_WF_CLOCK_REVIEW:
        out->start = zq_date_from_ms(submitted_ms);
        out->workdays = true;
        out->limit = lim->review_workdays;
        out->paused = paused;
        out->due = zq_cal_add_workdays(cal, out->start, out->limit + paused);
        break;
    case ZQ_WF_CLOCK_SUPPLY:
        out->start = zq_date_from_ms(request_ms >= 0 ? request_ms : created_ms);
        out->workdays = true;
        if (supply_by == NULL || zq_date_parse(supply_by, strlen(supply_by), &out->due) < 0 ||
            zq_date_cmp(out->due, out->start) < 0)
            out->due = zq_cal_add_workdays(cal, out->start, lim->supplement_workdays);
        out->limit = zq_cal_workdays_between(cal, out->start, out->due);
        break;
    case ZQ_WF_CLOCK_TRANSFER:
        out->start = zq_date_from_ms(accepted_ms >= 0 ? accepted_ms : created_ms);
        out->workdays = true;
        out->limit = lim->transfer_workdays;
        out->due = zq_cal_add_workdays(cal, out->start, out->limit);
        break;
    case ZQ_WF_CLOCK_ANSWER:
        out->start = zq_date_from_ms(transferred_ms >= 0 ? transferred_ms : created_ms);
        out->workdays = false;
        out->limit = lim->answer_days;
        if (ext_days > out->limit) {
            out->limit = ext_days > lim->answer_max_days ? lim->answer_max_days : ext_days;
            out->extended = true;
        }
        out->due = zq_cal_next_workday(cal, zq_date_add_days(out->start, out->limit));
        break;
    default: break;
    }
    /* Only a count of working days depends on the holiday notice: a
     * limit in calendar days warns nobody about a missing year. */
    out->fallback = out->workdays && cal != NULL && !zq_cal_range_known(cal, out->start, out->due);
    return 0;
}

int zq_wf_days_left(const zq_calendar *cal, const zq_deadline *d, zq_date today)
{
    if (d->clock == ZQ_WF_CLOCK_NONE)
        return 0;
    if (d->workdays)
        return zq_cal_workdays_between(cal, today, d->due);
    return zq_date_days_between(today, d->due);
}

static const char *const clock_names[] = {"", "review", "transfer", "answer", "supply"};
static const char *const clock_labels[] = {"", "受理审查期限", "转办期限", "书面答复期限",
                                           "补充材料期限"};

const char *zq_wf_clock_name(zq_wf_clock c)
{
    return (unsigned)c < ZQ_ARRAY_LEN(clock_names) ? clock_names[c] : "";
}

const char *zq_wf_clock_label(zq_wf_clock c)
{
    return (unsigned)c < ZQ_ARRAY_LEN(clock_labels) ? clock_labels[c] : "";
}

zq_wf_clock zq_wf_clock_parse(const char *s)
{
    size_t i;

    for (i = 1; s != NULL && i < ZQ_ARRAY_LEN(clock_names); i++)
        if (strcmp(clock_names[i], s) == 0)
            return (zq_wf_clock)i;
    return ZQ_WF_CLOCK_NONE;
}

int64_t zq_wf_date_score(zq_date d)
{
    if (!zq_date_valid(d))
        return 0;
    return (int64_t)d.y * 10000 + (int64_t)d.m * 100 + d.d;
}

json_t *zq_wf_deadline_json(const zq_calendar *cal, const zq_deadline *d, const char *status,
                            zq_date today)
{
    if (d->clock == ZQ_WF_CLOCK_NONE || !zq_date_valid(d->due))
        return json_null();
    return zq_wf_deadline_json_left(d, status, today, zq_wf_days_left(cal, d, today));
}

void zq_wf_deadline_write(zq_buf *b, const zq_calendar *cal, const zq_deadline *d,
                          const char *status, zq_date today)
{
    if (d->clock == ZQ_WF_CLOCK_NONE || !zq_date_valid(d->due)) {
        ZQ_JSONW_LIT(b, "null");
        return;
    }
    zq_wf_deadline_write_left(b, d, status, today, zq_wf_days_left(cal, d, today));
}

void zq_wf_deadline_write_left(zq_buf *b, const zq_deadline *d, const char *status, zq_date today,
                               int left)
{
    const zq_wf_machine *m = NULL;
    size_t i;

    if (d->clock == ZQ_WF_CLOCK_NONE || !zq_date_valid(d->due)) {
        ZQ_JSONW_LIT(b, "null");
        return;
    }
    /* The status label is the same in every machine that has it. */
    for (i = 0; i < ZQ_ARRAY_LEN(machines) && m == NULL; i++)
        if (zq_wf_status_find(&machines[i], status) != NULL)
            m = &machines[i];
    ZQ_JSONW_LIT(b, "{\"status\":");
    zq_jsonw_str(b, status);
    ZQ_JSONW_LIT(b, ",\"status_label\":");
    zq_jsonw_str(b, m ? status_label(m, status) : status);
    ZQ_JSONW_LIT(b, ",\"clock\":");
    zq_jsonw_str(b, zq_wf_clock_name(d->clock));
    ZQ_JSONW_LIT(b, ",\"what\":");
    zq_jsonw_str(b, zq_wf_clock_label(d->clock));
    ZQ_JSONW_LIT(b, ",\"start\":");
    zq_jsonw_date(b, d->start);
    ZQ_JSONW_LIT(b, ",\"due\":");
    zq_jsonw_date(b, d->due);
    if (d->workdays)
        ZQ_JSONW_LIT(b, ",\"unit\":\"workdays\",\"limit\":");
    else
        ZQ_JSONW_LIT(b, ",\"unit\":\"days\",\"limit\":");
    zq_jsonw_int(b, d->limit);
    ZQ_JSONW_LIT(b, ",\"days_left\":");
    zq_jsonw_int(b, left);
    ZQ_JSONW_LIT(b, ",\"overdue\":");
    zq_jsonw_bool(b, zq_date_cmp(today, d->due) > 0);
    ZQ_JSONW_LIT(b, ",\"extended\":");
    zq_jsonw_bool(b, d->extended);
    ZQ_JSONW_LIT(b, ",\"fallback_calendar\":");
    zq_jsonw_bool(b, d->fallback);
    /* Only the history knows the days waited: the list (from the row's
     * index fields) leaves them out. */
    if (d->paused > 0) {
        ZQ_JSONW_LIT(b, ",\"paused_workdays\":");
        zq_jsonw_int(b, d->paused);
    }
    ZQ_JSONW_LIT(b, "}");
}

json_t *zq_wf_deadline_json_left(const zq_deadline *d, const char *status, zq_date today, int left)
{
    zq_buf b = {0};
    json_t *o;

    /* One writer for both forms: the object is read back from its text. */
    zq_wf_deadline_write_left(&b, d, status, today, left);
    o = b.oom ? NULL : json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
    zq_buf_free(&b);
    return o;
}

void zq_wf_default_office(const char *form, json_t *answers, char office[8], char partner[8])
{
    const char *r = NULL;

    if (form != NULL && strcmp(form, "complaint") == 0)
        r = json_string_value(json_object_get(answers, "respondent_region"));
    if (r == NULL || *r == '\0')
        r = json_string_value(json_object_get(answers, "region"));
    /* Region codes are six characters: each copy is 7 bytes of 8. */
    office[0] = partner[0] = '\0';
    if (r == NULL || strlen(r) != 6) {
        memcpy(office, "510000", 7);
        return;
    }
    if (strncmp(r, "51", 2) == 0) {
        memcpy(office, r, 7);
        return;
    }
    memcpy(office, "510000", 7);
    memcpy(partner, r, 7);
}

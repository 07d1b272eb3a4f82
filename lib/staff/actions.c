/* The staff actions on one case: a status move, an assignment, a longer
 * answer time limit and a note. Each builds its history entry, deadline
 * and audit detail from the loaded case and applies them with one
 * zq_staff_update (or zq_staff_add_note). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staff_int.h"

/* The update every action starts from: expecting the case as loaded,
 * adding entry to its history, with the deadline due. */
static void update_init(zq_case_update *u, const zq_staff_case *c, const zq_audit *a,
                        const zq_staff_act *act, json_t *entry, const zq_deadline *due)
{
    memset(u, 0, sizeof(*u));
    u->log_entry = entry;
    u->due = due;
    u->id = c->row.id;
    u->expect_status = c->row.status;
    u->expect_loglen = (long long)json_array_size(c->log);
    u->audit = a;
    u->now_ms = act->now_ms;
    u->row = &c->row;
    u->idem_key = act->idem_key;
}

/* The audit detail of an action, formatted into buf. Returns 0, or
 * -ZQ_EINVAL when it does not fit (the names in it are bounded). */
static int set_detail(zq_audit *a, char *buf, size_t bufsz, zq_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int set_detail(zq_audit *a, char *buf, size_t bufsz, zq_err *err, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = zq_vfmt(buf, bufsz, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return zq_err_set(err, ZQ_EINVAL, "staff: audit detail too long");
    a->detail = buf;
    return 0;
}

/* The deadline after entry is added to the history of c, in status. */
static void deadline_after(const zq_staff_ctx *ctx, const zq_staff_case *c, const char *status,
                           json_t *entry, zq_deadline *out)
{
    json_t *hist = json_copy(c->log);

    json_array_append(hist, entry);
    zq_wf_deadline(ctx->cal, &ctx->lim, c->row.form, status, hist, c->row.created_ms, out);
    json_decref(hist);
}

/* "1" when the decision at now_ms met the deadline d running before it,
 * "0" when late, "" when d is not of clock k. */
static const char *on_time(const zq_deadline *d, zq_wf_clock k, int64_t now_ms)
{
    if (d->clock != k || k == ZQ_WF_CLOCK_NONE)
        return "";
    return zq_date_cmp(zq_date_from_ms(now_ms), d->due) <= 0 ? "1" : "0";
}

/* The outcome members of a history entry. Returns 0 or -ZQ_ENOMEM. */
static int entry_outcome(json_t *entry, const zq_staff_outcome *o)
{
    const zq_wf_result *res = o ? zq_wf_result_find(o->result) : NULL;
    int rc = 0;

    if (o == NULL)
        return 0;
    if (o->message != NULL && *o->message != '\0')
        rc |= json_object_set_new(entry, "message", json_string(o->message));
    if (res != NULL) {
        rc |= json_object_set_new(entry, "result", json_string(res->id));
        rc |= json_object_set_new(entry, "result_label", json_string(res->label));
        if (o->reason != NULL && *o->reason != '\0')
            rc |= json_object_set_new(entry, "result_reason", json_string(o->reason));
    }
    if (o->recovered_fen >= 0)
        rc |= json_object_set_new(entry, "recovered_fen", json_integer(o->recovered_fen));
    if (o->department != NULL && *o->department != '\0') {
        rc |= json_object_set_new(entry, "department", json_string(o->department));
        rc |= json_object_set_new(entry, "department_label",
                                  json_string(o->department_label ? o->department_label : ""));
    }
    return rc == 0 ? 0 : -ZQ_ENOMEM;
}

/* The request-for-material members of a history entry: the date to
 * supply by (a move to needs_info) or the working days waited (a move out
 * of it). Returns 0 or -ZQ_ENOMEM. */
static int entry_supply(const zq_staff_ctx *ctx, const zq_staff_case *c, const char *to,
                        const zq_staff_outcome *o, const zq_staff_act *act, json_t *entry)
{
    char by[ZQ_DATE_STRLEN];
    int rc = 0;

    if (strcmp(to, "needs_info") == 0) {
        if (o != NULL && o->supply_by != NULL && *o->supply_by != '\0') {
            rc = json_object_set_new(entry, "supply_by", json_string(o->supply_by));
        } else {
            zq_date d = zq_cal_add_workdays(ctx->cal, zq_date_from_ms(act->now_ms),
                                            ctx->lim.supplement_workdays);
            zq_date_format(d, by, sizeof(by));
            rc = json_object_set_new(entry, "supply_by", json_string(by));
        }
    }
    if (strcmp(c->row.status, "needs_info") == 0 && strcmp(to, "needs_info") != 0)
        rc |= json_object_set_new(
            entry, "waited_workdays",
            json_integer(zq_wf_waited(ctx->cal, zq_wf_last_request(c->log, NULL), act->now_ms)));
    return rc == 0 ? 0 : -ZQ_ENOMEM;
}

int zq_staff_transition(zq_store *st, const zq_staff_ctx *ctx, const zq_staff_case *c,
                        const char *to, const char *note, const zq_staff_outcome *o,
                        const zq_staff_act *act, zq_err *err)
{
    const char *message = o && o->message && *o->message ? o->message : NULL;
    char detail[256], answered_ms[24], recovered[24];
    const char *fields[24];
    zq_deadline before, after;
    zq_case_update u;
    zq_audit a = act->audit;
    json_t *entry;
    int rc, nf = 0;

    /* The note is internal; only the message, given on purpose, is for
     * the enterprise. */
    entry = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b}", "at_ms", (json_int_t)act->now_ms, "from",
                      c->row.status, "to", to, "by", a.who, "note", note ? note : "", "public",
                      message != NULL);
    if (entry == NULL || entry_outcome(entry, o) < 0 ||
        entry_supply(ctx, c, to, o, act, entry) < 0) {
        rc = zq_err_set(err, ZQ_ENOMEM, "staff: out of memory");
        goto out;
    }
    zq_staff_case_deadline(ctx, c, &before);
    deadline_after(ctx, c, to, entry, &after);
    if (strcmp(to, "answered") == 0) {
        if (zq_fmt(answered_ms, sizeof(answered_ms), "%lld", (long long)act->now_ms) < 0) {
            rc = zq_err_set(err, ZQ_EINVAL, "staff: bad time");
            goto out;
        }
        fields[nf++] = "answered_ms";
        fields[nf++] = answered_ms;
        fields[nf++] = "answered_on_time";
        fields[nf++] = on_time(&before, ZQ_WF_CLOCK_ANSWER, act->now_ms);
    }
    /* The decision on acceptance (or the request for material) ends the
     * review period; the transfer ends the transfer period. */
    if (before.clock == ZQ_WF_CLOCK_REVIEW && strcmp(to, "withdrawn") != 0) {
        fields[nf++] = "review_on_time";
        fields[nf++] = on_time(&before, ZQ_WF_CLOCK_REVIEW, act->now_ms);
    }
    if (before.clock == ZQ_WF_CLOCK_TRANSFER && strcmp(to, "transferred") == 0) {
        fields[nf++] = "transfer_on_time";
        fields[nf++] = on_time(&before, ZQ_WF_CLOCK_TRANSFER, act->now_ms);
    }
    if (o != NULL && zq_wf_result_find(o->result) != NULL) {
        fields[nf++] = "result";
        fields[nf++] = o->result;
        /* Set every time: a later result without a reason drops the old. */
        fields[nf++] = "result_reason";
        fields[nf++] = o->reason != NULL ? o->reason : "";
    }
    if (o != NULL && o->recovered_fen >= 0) {
        if (zq_fmt(recovered, sizeof(recovered), "%lld", o->recovered_fen) < 0) {
            rc = zq_err_set(err, ZQ_EINVAL, "staff: bad amount");
            goto out;
        }
        fields[nf++] = "recovered_fen";
        fields[nf++] = recovered;
    }
    if (o != NULL && o->department != NULL && *o->department != '\0') {
        fields[nf++] = "department";
        fields[nf++] = o->department;
    }
    fields[nf] = NULL;
    rc = set_detail(&a, detail, sizeof(detail), err, "from=%s to=%s public=%d result=%s",
                    c->row.status, to, message != NULL, o && o->result ? o->result : "");
    if (rc < 0)
        goto out;
    update_init(&u, c, &a, act, entry, &after);
    u.new_status = to;
    u.fields = fields;
    u.event = true;
    u.public_note = message ? message : "";
    rc = zq_staff_update(st, &u, NULL, err);
out:
    json_decref(entry);
    return rc;
}

int zq_staff_assign(zq_store *st, const zq_staff_ctx *ctx, const zq_staff_case *c,
                    const char *handler, const char *office, const char *note,
                    const zq_staff_act *act, zq_err *err)
{
    const zq_wf_machine *m = zq_wf_machine_for(c->row.form);
    const char *new_status = NULL, *fields[8];
    char def_office[8], partner[8], detail[256], notebuf[300];
    zq_deadline after;
    zq_case_update u;
    zq_audit a = act->audit;
    json_t *entry;
    size_t n;
    int rc, nf = 0;

    zq_wf_default_office(c->row.form, c->row.answers, def_office, partner);
    if (office == NULL || *office == '\0')
        office = c->row.office[0] ? c->row.office : def_office;
    if (handler == NULL)
        handler = c->row.handler;
    /* A consultation waiting for assignment moves on with it. */
    if (*handler != '\0' && zq_wf_move_find(m, c->row.status, "assigned") != NULL &&
        zq_wf_check(m, c->row.status, "assigned", act->role, NULL) == 0)
        new_status = "assigned";
    /* The history keeps the first 299 bytes of the note, cut between
     * characters (half a character would make json_pack fail). */
    n = note ? zq_utf8_cut(note, strlen(note), sizeof(notebuf) - 1) : 0;
    if (n > 0)
        memcpy(notebuf, note, n);
    notebuf[n] = '\0';
    rc = set_detail(&a, detail, sizeof(detail), err, "handler=%s office=%s cross_region=%s",
                    handler, office, partner);
    if (rc < 0)
        return rc;
    entry = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "kind",
                      new_status ? "status" : "assign", "at_ms", (json_int_t)act->now_ms, "from",
                      c->row.status, "to", new_status ? new_status : c->row.status, "by", a.who,
                      "note", notebuf, "handler", handler, "office", office);
    if (entry == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "staff: out of memory");
    if (new_status != NULL)
        json_object_set_new(entry, "public", json_false());
    deadline_after(ctx, c, new_status ? new_status : c->row.status, entry, &after);
    fields[nf++] = "handler";
    fields[nf++] = handler;
    fields[nf++] = "office";
    fields[nf++] = office;
    fields[nf++] = "cross_region";
    fields[nf++] = partner;
    fields[nf] = NULL;
    update_init(&u, c, &a, act, entry, &after);
    u.new_status = new_status;
    u.fields = fields;
    u.event = new_status != NULL;
    rc = zq_staff_update(st, &u, NULL, err);
    json_decref(entry);
    return rc;
}

bool zq_staff_case_extendable(const zq_staff_case *c)
{
    const zq_wf_status *s = zq_wf_status_find(zq_wf_machine_for(c->row.form), c->row.status);

    return s != NULL && s->clock == ZQ_WF_CLOCK_ANSWER;
}

int zq_staff_extend(zq_store *st, const zq_staff_ctx *ctx, const zq_staff_case *c, int days,
                    const char *reason, const zq_staff_act *act, zq_err *err)
{
    char detail[128];
    zq_deadline after;
    zq_case_update u;
    zq_audit a = act->audit;
    json_t *entry;
    int rc;

    if (!zq_staff_case_extendable(c))
        return zq_err_set(err, ZQ_ECONFLICT, "case %s has no answer time limit", c->row.id);
    entry = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:s}", "kind", "extension", "at_ms",
                      (json_int_t)act->now_ms, "from", c->row.status, "to", c->row.status, "by",
                      a.who, "days", (json_int_t)days, "note", reason);
    if (entry == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "staff: out of memory");
    deadline_after(ctx, c, c->row.status, entry, &after);
    rc = set_detail(&a, detail, sizeof(detail), err, "days=%d", days);
    if (rc == 0) {
        update_init(&u, c, &a, act, entry, &after);
        rc = zq_staff_update(st, &u, NULL, err);
    }
    json_decref(entry);
    return rc;
}

int zq_staff_note(zq_store *st, const char *id, const char *text, const zq_staff_act *act,
                  json_t **out, zq_err *err)
{
    json_t *note;
    char *dump = NULL;
    int rc;

    *out = NULL;
    note = json_pack("{s:I, s:s, s:s}", "at_ms", (json_int_t)act->now_ms, "by", act->audit.who,
                     "text", text);
    dump = note ? json_dumps(note, JSON_COMPACT) : NULL;
    if (dump == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "staff: cannot encode the note");
        goto out;
    }
    rc = zq_staff_add_note(st, id, dump, &act->audit, act->idem_key, err);
    if (rc == 0) {
        *out = note;
        note = NULL;
    }
out:
    free(dump);
    json_decref(note);
    return rc;
}

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

int zq_staff_transition(zq_store *st, const zq_staff_ctx *ctx, const zq_staff_case *c,
                        const char *to, const char *note, int pub, const zq_staff_act *act,
                        zq_err *err)
{
    const zq_wf_move *mv = zq_wf_move_find(zq_wf_machine_for(c->row.form), c->row.status, to);
    bool public_note = pub >= 0 ? pub != 0 : mv != NULL && mv->public_note;
    char detail[256], answered_ms[24];
    const char *fields[8];
    zq_deadline before, after;
    zq_case_update u;
    zq_audit a = act->audit;
    json_t *entry;
    int rc, nf = 0;

    entry = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b}", "at_ms", (json_int_t)act->now_ms, "from",
                      c->row.status, "to", to, "by", a.who, "note", note ? note : "", "public",
                      public_note);
    if (entry == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "staff: out of memory");
    zq_staff_case_deadline(ctx, c, &before);
    deadline_after(ctx, c, to, entry, &after);
    if (strcmp(to, "answered") == 0) {
        zq_date answered = zq_date_from_ms(act->now_ms);
        if (zq_fmt(answered_ms, sizeof(answered_ms), "%lld", (long long)act->now_ms) < 0) {
            rc = zq_err_set(err, ZQ_EINVAL, "staff: bad time");
            goto out;
        }
        fields[nf++] = "answered_ms";
        fields[nf++] = answered_ms;
        fields[nf++] = "answered_on_time";
        fields[nf++] = before.clock == ZQ_WF_CLOCK_ANSWER
                           ? (zq_date_cmp(answered, before.due) <= 0 ? "1" : "0")
                           : "";
    }
    fields[nf] = NULL;
    rc = set_detail(&a, detail, sizeof(detail), err, "from=%s to=%s public=%d", c->row.status, to,
                    public_note);
    if (rc < 0)
        goto out;
    update_init(&u, c, &a, act, entry, &after);
    u.new_status = to;
    u.fields = fields;
    u.event = true;
    u.public_note = public_note && note ? note : "";
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

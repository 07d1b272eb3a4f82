/* What the staff views share: deadlines through the request's memo, and
 * the labels of forms, statuses, regions and offices. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "staff_int.h"

int zq_staff_days_left(const zq_staff_ctx *ctx, const zq_deadline *d)
{
    int64_t key = zq_wf_date_score(d->due) * 2 + d->workdays;
    unsigned slot = (unsigned)(key % ZQ_STAFF_MEMO);
    int left;

    if (ctx->memo != NULL && key != 0 && ctx->memo->left[slot].key == key)
        return ctx->memo->left[slot].left;
    left = zq_wf_days_left(ctx->cal, d, ctx->today);
    if (ctx->memo != NULL && key != 0) {
        ctx->memo->left[slot].key = key;
        ctx->memo->left[slot].left = left;
    }
    return left;
}

void zq_staff_row_deadline(const zq_staff_ctx *ctx, const zq_case_row *r, zq_deadline *out)
{
    memset(out, 0, sizeof(*out));
    if (!r->has_due) {
        /* Never moved: the first status's clock runs from creation. Only
         * the initial status of a machine can be in this state, so the
         * creation day (and the form) decide the deadline. */
        const zq_wf_machine *m = zq_wf_machine_for(r->form);
        /* The Beijing day of creation as a day number (floor division,
         * as zq_date_from_ms): a date's conversion cost more than the
         * memo saves. Never 0 (empty): the machine's number is 1..63. */
        int64_t sec = r->created_ms / 1000 - (r->created_ms % 1000 < 0) + ZQ_BEIJING_OFFSET_S;
        int64_t day = sec / 86400 - (sec % 86400 < 0);
        int64_t key = day * 64 + (m != NULL ? (int64_t)(m - zq_wf_machine_at(0)) + 1 : 0);
        unsigned slot = (unsigned)((uint64_t)key % ZQ_STAFF_MEMO);

        if (m == NULL || strcmp(r->status, m->initial) != 0) {
            zq_wf_deadline(ctx->cal, &ctx->lim, r->form, r->status, NULL, r->created_ms, out);
            return;
        }
        if (ctx->memo != NULL && ctx->memo->review[slot].key == key) {
            *out = ctx->memo->review[slot].d;
            return;
        }
        zq_wf_deadline(ctx->cal, &ctx->lim, r->form, r->status, NULL, r->created_ms, out);
        if (ctx->memo != NULL) {
            ctx->memo->review[slot].key = key;
            ctx->memo->review[slot].d = *out;
        }
        return;
    }
    out->clock = zq_wf_clock_parse(r->due_kind);
    if (out->clock == ZQ_WF_CLOCK_NONE ||
        zq_date_parse(r->due_date, strlen(r->due_date), &out->due) < 0) {
        out->clock = ZQ_WF_CLOCK_NONE;
        return;
    }
    if (zq_date_parse(r->due_start, strlen(r->due_start), &out->start) < 0)
        out->start = out->due;
    out->workdays = out->clock != ZQ_WF_CLOCK_ANSWER;
    out->limit = r->due_limit;
    out->extended = r->due_ext;
    out->fallback = ctx->cal != NULL && !zq_cal_range_known(ctx->cal, out->start, out->due);
}

const char *zq_staff_office_name(const zq_schema *s, const char *office, char *buf, size_t bufsz)
{
    const zq_region *r;

    if (office == NULL || *office == '\0')
        return "";
    if (strcmp(office, "510000") == 0)
        return "四川省经济和信息化厅（跨区域协作）";
    r = s ? zq_schema_region(s, office) : NULL;
    if (r == NULL)
        return office;
    /* A name too long for buf: the code, rather than half a character. */
    if (zq_fmt(buf, bufsz, "%s经济和信息化局", r->name) < 0)
        return office;
    return buf;
}

bool zq_staff_office_valid(const zq_schema *s, const char *code)
{
    const zq_region *r;

    if (strcmp(code, "510000") == 0)
        return true;
    r = s ? zq_schema_region(s, code) : NULL;
    return r != NULL && r->sichuan;
}

const char *zq_staff_region_name(const zq_schema *s, const char *code)
{
    const zq_region *r = s && code && *code ? zq_schema_region(s, code) : NULL;
    return r ? r->name : (code ? code : "");
}

const char *zq_staff_form_title(const zq_schema *s, const char *form)
{
    const zq_form *f = s ? zq_schema_form(s, form) : NULL;
    return f ? f->title : form;
}

const char *zq_staff_status_label(const char *form, const char *status)
{
    const zq_wf_status *st = zq_wf_status_find(zq_wf_machine_for(form), status);
    return st ? st->label : zq_case_status_label(status);
}

/* ctx with a memo: the caller's, or own (zeroed) when it has none. */
zq_staff_ctx zq_staff_with_memo(const zq_staff_ctx *in, zq_staff_memo *own)
{
    zq_staff_ctx c = *in;

    if (c.memo == NULL)
        c.memo = own;
    return c;
}

/* A case row as JSON, written directly into a buffer: the list page and
 * the JSON Lines export are hot paths, and a jansson object per row would
 * cost an allocation per member. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staff_int.h"
#include "zhuqi/log.h"

/* A string member of the row's answers, decoded into buf. */
static const char *row_answer(const zq_case_row *r, const char *key, char *buf, size_t bufsz)
{
    size_t vlen = 0;
    const char *v = zq_json_member(r->answers_text, r->answers_len, key, &vlen);

    zq_json_decode(v, vlen, buf, bufsz);
    return buf;
}

void zq_staff_row_office(const zq_case_row *r, char office[8], char partner[8])
{
    char rr[16] = "", reg[16] = "";
    json_t *a;

    /* Both fields are char[8] like office and partner. */
    if (r->office[0] != '\0') {
        memcpy(office, r->office, 8);
        memcpy(partner, r->cross_region, 8);
        return;
    }
    if (r->has_summary) {
        memcpy(office, r->default_office, 8);
        memcpy(partner, r->default_partner, 8);
        return;
    }
    if (strcmp(r->form, "complaint") == 0)
        row_answer(r, "respondent_region", rr, sizeof(rr));
    row_answer(r, "region", reg, sizeof(reg));
    a = json_object();
    if (rr[0] != '\0')
        json_object_set_new(a, "respondent_region", json_string(rr));
    if (reg[0] != '\0')
        json_object_set_new(a, "region", json_string(reg));
    zq_wf_default_office(r->form, a, office, partner);
    json_decref(a);
}

/* ---- the fast row writer -------------------------------------------------
 * The list writes some 40 members per row: each append here reserves
 * once and copies, without the terminator that zq_buf_append writes every
 * time (row_write ends the text), and the member names come with their
 * punctuation as one literal. */

/* Inline: most appends are literals, whose copy the compiler then writes
 * as a few moves instead of a call to memcpy. */
static inline void put(zq_buf *b, const char *s, size_t n)
{
    if (b->len + n >= b->cap && zq_buf_reserve(b, n) < 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

#define PUTL(b, lit) put((b), "" lit, sizeof(lit) - 1)

/* 1 for the bytes that end the plain run of a string: the NUL, and what
 * zq_buf_json_escape rewrites (controls, '"', '\\', '<', '>', '&'). One
 * load per byte: most bytes of a row (CJK, letters, digits) are plain. */
static const unsigned char stop_byte[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* The bytes of s before its first byte that needs escaping or its NUL:
 * four a turn, one test and branch each (a byte is read only once the one
 * before it is known not to be the NUL). */
static size_t plain_run(const char *s)
{
    const char *p = s;

    for (;;) {
        if (stop_byte[(unsigned char)p[0]])
            break;
        if (stop_byte[(unsigned char)p[1]]) {
            p += 1;
            break;
        }
        if (stop_byte[(unsigned char)p[2]]) {
            p += 2;
            break;
        }
        if (stop_byte[(unsigned char)p[3]]) {
            p += 3;
            break;
        }
        p += 4;
    }
    return (size_t)(p - s);
}

/* s[0..n), known to need no escaping, with quotes: one reservation. */
static void put_quoted(zq_buf *b, const char *s, size_t n)
{
    if (b->len + n + 2 >= b->cap && zq_buf_reserve(b, n + 2) < 0)
        return;
    b->data[b->len] = '"';
    memcpy(b->data + b->len + 1, s, n);
    b->data[b->len + 1 + n] = '"';
    b->len += n + 2;
}

/* A JSON string value (with quotes), escaped as zq_buf_json_escape does;
 * one pass finds both the length and whether anything needs escaping,
 * and a plain string goes in with one reservation. */
static void put_jstr(zq_buf *b, const char *s)
{
    size_t n = plain_run(s);

    if (s[n] != '\0') {
        PUTL(b, "\"");
        zq_buf_json_escape(b, s, n + strlen(s + n));
        PUTL(b, "\"");
        return;
    }
    put_quoted(b, s, n);
}

/* True when label s needs no escaping, its length in *len: from ctx's
 * memo when s was seen before. Only for text that stays as it is while
 * the memo lives (schema and program labels); a label that falls back to
 * a field of row r (an unknown status or form) is not remembered, since
 * an export refills the same rows batch after batch. */
static bool label_plain(const zq_staff_ctx *ctx, const zq_case_row *r, const char *s, size_t *len)
{
    zq_staff_memo *m = (const char *)s >= (const char *)r && (const char *)s < (const char *)(r + 1)
                           ? NULL
                           : ctx->memo;
    unsigned slot = (unsigned)(((uintptr_t)s >> 3) % ZQ_STAFF_MEMO);
    size_t n;

    if (m != NULL && m->plain[slot].s == s) {
        *len = m->plain[slot].len;
        return true;
    }
    n = plain_run(s);
    if (s[n] != '\0')
        return false;
    if (m != NULL) {
        m->plain[slot].s = s;
        m->plain[slot].len = n;
    }
    *len = n;
    return true;
}

/* put_jstr for a label (see label_plain). */
static void put_label(zq_buf *b, const zq_staff_ctx *ctx, const zq_case_row *r, const char *s)
{
    size_t n;

    if (label_plain(ctx, r, s, &n))
        put_quoted(b, s, n);
    else
        put_jstr(b, s);
}

/* Staff's or the enterprise's free text as a JSON string, its mobile
 * numbers masked when mask (as the answers are in masked exports). */
static void put_free_text(zq_buf *b, const char *s, bool mask)
{
    size_t n = strlen(s) + 1;
    char *m = mask ? malloc(n < 32 ? 32 : n) : NULL;

    if (mask && m == NULL)
        b->oom = true;
    put_jstr(b, m ? zq_mask_text(s, m, n < 32 ? 32 : n) : s);
    free(m);
}

static void put_int(zq_buf *b, long long v)
{
    char t[ZQ_DEC_MAX];
    size_t n = zq_dec(t, v);

    put(b, t, n);
}

static void put_2d(char *o, unsigned v)
{
    o[0] = (char)('0' + v / 10 % 10);
    o[1] = (char)('0' + v % 10);
}

/* "YYYY-MM-DD" as zq_date_format writes it (quoted). */
static void put_date(zq_buf *b, zq_date d)
{
    char t[12];

    if (!zq_date_valid(d)) {
        put_jstr(b, "invalid");
        return;
    }
    t[0] = '"';
    put_2d(t + 1, (unsigned)d.y / 100);
    put_2d(t + 3, (unsigned)d.y % 100);
    t[5] = '-';
    put_2d(t + 6, (unsigned)d.m);
    t[8] = '-';
    put_2d(t + 9, (unsigned)d.d);
    t[11] = '"';
    put(b, t, sizeof(t));
}

/* True when s holds a byte below 0x20 (a newline would also break a
 * JSON Lines export). */
static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return true;
    return false;
}

/* zq_time_iso, quoted; the date from ctx's memo when the last time
 * written was of the same day. */
static void put_time(zq_buf *b, const zq_staff_ctx *ctx, int64_t ms)
{
    zq_staff_memo *m = ctx->memo;
    int64_t s = ms / 1000 - (ms % 1000 < 0) + ZQ_BEIJING_OFFSET_S;
    int64_t day = s / 86400 - (s % 86400 < 0);
    int64_t sod = s - day * 86400;
    char o[34];

    if (m == NULL || !m->iso_set || m->iso_day != day) {
        zq_time_iso(ms, o + 1);
        if (o[1] == '\0') {
            put_jstr(b, ""); /* a year outside 1..9999 */
            return;
        }
        if (m != NULL) {
            memcpy(m->iso_date, o + 1, sizeof(m->iso_date));
            m->iso_day = day;
            m->iso_set = true;
        }
    }
    o[0] = '"';
    if (m != NULL)
        memcpy(o + 1, m->iso_date, sizeof(m->iso_date));
    /* "hh:mm:ss+08:00" after the date, as zq_time_iso writes it. */
    put_2d(o + 12, (unsigned)(sod / 3600));
    o[14] = ':';
    put_2d(o + 15, (unsigned)(sod / 60 % 60));
    o[17] = ':';
    put_2d(o + 18, (unsigned)(sod % 60));
    memcpy(o + 20, "+08:00\"", 7);
    put(b, o, ZQ_TIME_ISO_LEN + 2);
}

/* The name of an office as zq_staff_office_name gives it (quoted). */
static void put_office_name(zq_buf *b, const zq_staff_ctx *ctx, const zq_case_row *row,
                            const char *office)
{
    const zq_schema *s = ctx->schema;
    const zq_region *r;
    size_t n;

    if (office[0] == '\0' || strcmp(office, "510000") == 0) {
        put_jstr(b, office[0] == '\0' ? "" : "四川省经济和信息化厅（跨区域协作）");
        return;
    }
    r = s ? zq_schema_region(s, office) : NULL;
    if (r == NULL) {
        put_jstr(b, office);
        return;
    }
    if (!label_plain(ctx, row, r->name, &n)) {
        char buf[160];
        put_jstr(b, zq_staff_office_name(s, office, buf, sizeof(buf)));
        return;
    }
    PUTL(b, "\"");
    put(b, r->name, n);
    PUTL(b, "经济和信息化局\"");
}

/* ---- pieces remembered in the memo ----------------------------------------
 * A piece of a row is written from a few fields (its key, given as the
 * bytes of a struct that was zeroed first, so that padding compares
 * equal) and the request; the next row with the same key gets the same
 * bytes copied. */

enum { PIECE_HEAD, PIECE_REGION, PIECE_OFFICE, PIECE_DEADLINE };

/* Copies the piece remembered for key, if any. Returns true when it did. */
static bool piece_put(zq_buf *b, const zq_staff_ctx *ctx, int which, const void *key, size_t klen)
{
    zq_staff_memo *m = ctx->memo;

    if (m == NULL)
        return false;
    for (unsigned i = 0; i < ZQ_STAFF_PIECE_SLOTS; i++) {
        const zq_staff_piece *sl = &m->piece[which].slot[i];
        if (sl->klen == klen && memcmp(sl->key, key, klen) == 0) {
            put(b, sl->text, sl->len);
            m->piece[which].victim = (i + 1) % ZQ_STAFF_PIECE_SLOTS;
            return true;
        }
    }
    return false;
}

/* Remembers b's text from offset from on as the piece for key, in place
 * of the one used least lately (nothing when it does not fit, or the
 * buffer ran out of memory). */
static void piece_keep(const zq_buf *b, const zq_staff_ctx *ctx, int which, const void *key,
                       size_t klen, size_t from)
{
    zq_staff_memo *m = ctx->memo;
    size_t n = b->len - from;

    if (m == NULL)
        return;
    unsigned i = m->piece[which].victim % ZQ_STAFF_PIECE_SLOTS;
    zq_staff_piece *sl = &m->piece[which].slot[i];
    sl->klen = 0;
    if (b->oom || klen == 0 || klen > sizeof(sl->key) || n > sizeof(sl->text))
        return;
    memcpy(sl->key, key, klen);
    memcpy(sl->text, b->data + from, n);
    sl->len = n;
    sl->klen = klen;
    m->piece[which].victim = (i + 1) % ZQ_STAFF_PIECE_SLOTS;
}

static void put_deadline(zq_buf *b, const zq_staff_ctx *ctx, const zq_case_row *r,
                         const zq_deadline *d, const char *label, zq_date today, int left)
{
    if (d->clock == ZQ_WF_CLOCK_NONE || !zq_date_valid(d->due)) {
        PUTL(b, "null");
        return;
    }
    PUTL(b, "{\"status\":");
    put_label(b, ctx, r, r->status);
    PUTL(b, ",\"status_label\":");
    put_label(b, ctx, r, label);
    PUTL(b, ",\"clock\":");
    put_label(b, ctx, r, zq_wf_clock_name(d->clock));
    PUTL(b, ",\"what\":");
    put_label(b, ctx, r, zq_wf_clock_label(d->clock));
    PUTL(b, ",\"start\":");
    put_date(b, d->start);
    PUTL(b, ",\"due\":");
    put_date(b, d->due);
    if (d->workdays)
        PUTL(b, ",\"unit\":\"workdays\",\"limit\":");
    else
        PUTL(b, ",\"unit\":\"days\",\"limit\":");
    put_int(b, d->limit);
    PUTL(b, ",\"days_left\":");
    put_int(b, left);
    if (zq_date_cmp(today, d->due) > 0)
        PUTL(b, ",\"overdue\":true");
    else
        PUTL(b, ",\"overdue\":false");
    if (d->extended)
        PUTL(b, ",\"extended\":true");
    else
        PUTL(b, ",\"extended\":false");
    if (d->fallback)
        PUTL(b, ",\"fallback_calendar\":true}");
    else
        PUTL(b, ",\"fallback_calendar\":false}");
}

/* The label of r's status (found once per row, only when a piece needs
 * it). */
static const char *row_label(const zq_case_row *r, const char **label)
{
    if (*label == NULL)
        *label = zq_staff_status_label(r->form, r->status);
    return *label;
}

int zq_staff_row_write(zq_buf *b, const zq_staff_ctx *ctx, const zq_case_row *r, bool mask,
                       bool with_answers)
{
    const zq_schema *s = ctx->schema;
    const char *label = NULL;
    char mobile[32], contact[640], office[8], partner[8], text[640];
    bool complaint = strcmp(r->form, "complaint") == 0;
    const char *v;
    size_t vlen, at;
    zq_deadline d;
    int left;
    /* The pieces' keys: the row's arrays whole (bytes after a NUL can
     * only cost a miss), the deadline's numbers as ints (no padding). */
    struct {
        char form[sizeof(r->form)];
        char status[sizeof(r->status)];
    } hk;
    struct {
        char office[8], partner[8], assigned;
    } ok;
    struct {
        int n[16];
        char form[sizeof(r->form)];
        char status[sizeof(r->status)];
    } dk;

    zq_staff_row_office(r, office, partner);
    v = r->has_summary ? r->contact_name : row_answer(r, "contact_name", text, sizeof(text));
    if (mask) {
        zq_mask_mobile(r->mobile, mobile, sizeof(mobile));
        zq_mask_name(v, contact, sizeof(contact));
    } else {
        /* Cut on a character boundary: half a character is not JSON. */
        size_t n = zq_utf8_cut(v, strlen(v), sizeof(contact) - 1);
        memcpy(contact, v, n);
        contact[n] = '\0';
        memcpy(mobile, r->mobile, sizeof(r->mobile)); /* 16 bytes, terminated */
    }
    zq_staff_row_deadline(ctx, r, &d);
    left = d.clock != ZQ_WF_CLOCK_NONE ? zq_staff_days_left(ctx, &d) : 0;
    memcpy(hk.form, r->form, sizeof(hk.form));
    memcpy(hk.status, r->status, sizeof(hk.status));
    /* About what a row takes, so that it is reserved once. */
    zq_buf_reserve(b, 1024 + (with_answers ? r->answers_len : 0));
    PUTL(b, "{\"id\":");
    put_jstr(b, r->id);
    if (!piece_put(b, ctx, PIECE_HEAD, &hk, sizeof(hk))) {
        at = b->len;
        PUTL(b, ",\"type\":");
        put_jstr(b, r->form);
        PUTL(b, ",\"type_label\":");
        put_label(b, ctx, r, zq_staff_form_title(s, r->form));
        PUTL(b, ",\"status\":");
        put_label(b, ctx, r, r->status);
        PUTL(b, ",\"status_label\":");
        put_label(b, ctx, r, row_label(r, &label));
        piece_keep(b, ctx, PIECE_HEAD, &hk, sizeof(hk), at);
    }
    PUTL(b, ",\"created_at\":");
    put_time(b, ctx, r->created_ms);
    PUTL(b, ",\"updated_at\":");
    put_time(b, ctx, r->updated_ms ? r->updated_ms : r->created_ms);
    if (!piece_put(b, ctx, PIECE_REGION, r->region, sizeof(r->region))) {
        at = b->len;
        PUTL(b, ",\"region\":");
        put_jstr(b, r->region);
        PUTL(b, ",\"region_name\":");
        put_label(b, ctx, r, zq_staff_region_name(s, r->region));
        piece_keep(b, ctx, PIECE_REGION, r->region, sizeof(r->region), at);
    }
    PUTL(b, ",\"company_name\":");
    put_jstr(b,
             r->has_summary ? r->company_name : row_answer(r, "company_name", text, sizeof(text)));
    PUTL(b, ",\"contact_name\":");
    put_jstr(b, contact);
    PUTL(b, ",\"mobile\":");
    put_jstr(b, mobile);
    PUTL(b, ",\"source\":");
    put_jstr(b, r->source);
    PUTL(b, ",\"handler\":");
    put_jstr(b, r->handler);
    memcpy(ok.office, office, sizeof(ok.office));
    memcpy(ok.partner, partner, sizeof(ok.partner));
    ok.assigned = r->office[0] != '\0';
    if (!piece_put(b, ctx, PIECE_OFFICE, &ok, sizeof(ok))) {
        at = b->len;
        PUTL(b, ",\"office\":");
        put_jstr(b, office);
        PUTL(b, ",\"office_name\":");
        put_office_name(b, ctx, r, office);
        if (ok.assigned)
            PUTL(b, ",\"office_assigned\":true");
        else
            PUTL(b, ",\"office_assigned\":false");
        if (partner[0] != '\0') {
            PUTL(b, ",\"cross_region\":{\"partner\":");
            put_jstr(b, partner);
            PUTL(b, ",\"partner_name\":");
            put_jstr(b, zq_staff_region_name(s, partner));
            PUTL(b, ",\"channel\":");
            put_jstr(b, strcmp(partner, "500000") == 0 ? "川渝跨区域协作" : "跨省协作");
            PUTL(b, "}");
        } else {
            PUTL(b, ",\"cross_region\":null");
        }
        piece_keep(b, ctx, PIECE_OFFICE, &ok, sizeof(ok), at);
    }
    /* The deadline's text depends on the deadline, the days left, today,
     * and the status with its label (from form and status). */
    memset(&dk, 0, sizeof(dk));
    dk.n[0] = (int)d.clock;
    dk.n[1] = d.start.y;
    dk.n[2] = d.start.m;
    dk.n[3] = d.start.d;
    dk.n[4] = d.due.y;
    dk.n[5] = d.due.m;
    dk.n[6] = d.due.d;
    dk.n[7] = d.workdays;
    dk.n[8] = d.limit;
    dk.n[9] = d.extended;
    dk.n[10] = d.fallback;
    dk.n[11] = left;
    dk.n[12] = ctx->today.y;
    dk.n[13] = ctx->today.m;
    dk.n[14] = ctx->today.d;
    memcpy(dk.form, r->form, sizeof(dk.form));
    memcpy(dk.status, r->status, sizeof(dk.status));
    if (!piece_put(b, ctx, PIECE_DEADLINE, &dk, sizeof(dk))) {
        at = b->len;
        PUTL(b, ",\"deadline\":");
        put_deadline(b, ctx, r, &d, row_label(r, &label), ctx->today, left);
        piece_keep(b, ctx, PIECE_DEADLINE, &dk, sizeof(dk), at);
    }
    if (r->dup_of[0] != '\0') {
        PUTL(b, ",\"possible_duplicate\":true,\"dup_of\":");
        put_jstr(b, r->dup_of);
    } else {
        PUTL(b, ",\"possible_duplicate\":false");
    }
    if (complaint && r->has_summary) {
        PUTL(b, ",\"respondent_name\":");
        put_jstr(b, r->respondent_name);
        if (r->amount_fen[0] != '\0') {
            PUTL(b, ",\"amount_fen\":");
            put(b, r->amount_fen, strlen(r->amount_fen));
        }
    } else if (complaint) {
        PUTL(b, ",\"respondent_name\":");
        put_jstr(b, row_answer(r, "respondent_name", text, sizeof(text)));
        v = zq_json_member(r->answers_text, r->answers_len, "amount_fen", &vlen);
        if (v != NULL && vlen > 0 && vlen < 20 && strspn(v, "0123456789") == vlen) {
            PUTL(b, ",\"amount_fen\":");
            put(b, v, vlen);
        }
    } else {
        v = r->has_summary ? r->topic : row_answer(r, "topic", text, sizeof(text));
        if (v[0] != '\0') {
            PUTL(b, ",\"topic\":");
            put_jstr(b, v);
        }
    }
    /* The outcome, only when recorded: most rows have none. */
    if (r->result[0] != '\0') {
        const zq_wf_result *res = zq_wf_result_find(r->result);
        PUTL(b, ",\"result\":");
        put_jstr(b, r->result);
        PUTL(b, ",\"result_label\":");
        put_label(b, ctx, r, res ? res->label : r->result);
        if (r->result_reason != NULL) {
            PUTL(b, ",\"result_reason\":");
            put_free_text(b, r->result_reason, mask);
        }
    }
    if (r->has_recovered) {
        PUTL(b, ",\"recovered_fen\":");
        put_int(b, r->recovered_fen);
    }
    if (r->department[0] != '\0') {
        const char *dl = zq_wf_department_label(ctx->handling, r->department);
        PUTL(b, ",\"department\":");
        put_jstr(b, r->department);
        PUTL(b, ",\"department_label\":");
        put_label(b, ctx, r, dl ? dl : r->department);
    }
    /* The enterprise's evaluation, once given (free text masked as the
     * answers are). */
    if (r->rating[0] != '\0') {
        const char *rl = zq_wf_rating_label(r->rating);
        PUTL(b, ",\"rating\":");
        put_jstr(b, r->rating);
        PUTL(b, ",\"rating_label\":");
        put_label(b, ctx, r, rl ? rl : r->rating);
        if (r->rating_comment != NULL) {
            PUTL(b, ",\"rating_comment\":");
            put_free_text(b, r->rating_comment, mask);
        }
    }
    if (with_answers) {
        size_t i = zq_json_ws(r->answers_text, r->answers_len, 0), e = r->answers_len;
        /* The stored answers as they are: an object, or {} for anything
         * else, so that one bad record cannot break the line. jansson
         * writes no raw control character (it escapes them in strings),
         * yet its parser lets a NUL pass after a literal: a record
         * holding one is not copied. */
        while (e > i && (r->answers_text[e - 1] == ' ' || r->answers_text[e - 1] == '\n'))
            e--;
        PUTL(b, ",\"answers\":");
        if (r->answers_text != NULL && e > i && r->answers_text[i] == '{' &&
            r->answers_text[e - 1] == '}' && zq_json_skip(r->answers_text, e, i) == e &&
            !has_control(r->answers_text, r->answers_len))
            put(b, r->answers_text + i, e - i);
        else
            PUTL(b, "{}");
        PUTL(b, ",\"created_ms\":");
        put_int(b, r->created_ms);
    }
    PUTL(b, "}");
    if (b->oom)
        return -ZQ_ENOMEM;
    b->data[b->len] = '\0';
    return 0;
}

json_t *zq_staff_row_json(const zq_staff_ctx *ctx, const zq_case_row *r, bool mask)
{
    zq_buf b = {0};
    json_t *o = NULL;

    if (zq_staff_row_write(&b, ctx, r, mask, false) == 0)
        o = json_loadb(b.data, b.len, 0, NULL);
    zq_buf_free(&b);
    return o;
}

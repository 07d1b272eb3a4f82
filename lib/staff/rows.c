/* Case rows read from Redis: the hash fields, the list packs (summary.h)
 * and the answers, in pipelines. */
#include <stdlib.h>
#include <string.h>

#include "staff_int.h"

static int fetch_rows(zq_store *st, char (*ids)[ZQ_CASE_ID_MAX], zq_case_row *rows, const int *idx,
                      int n, bool with_answers, bool parse, zq_err *err);

/* A string reply into dst, cut at dstsz - 1 bytes; "" for anything else.
 * (A plain copy: rows have many short fields, and snprintf costs.) */
void zq_staff_copy_str(char *dst, size_t dstsz, const redisReply *v)
{
    size_t n = 0;

    if (v->type == REDIS_REPLY_STRING) {
        n = v->len < dstsz - 1 ? v->len : dstsz - 1;
        memcpy(dst, v->str, n);
    }
    dst[n] = '\0';
}

/* One field's value: from a reply or from inside a pack. */
typedef struct fval {
    const char *s;
    size_t len;
    bool set; /* false: the hash has no such field */
} fval;

static void copy_val(char *dst, size_t dstsz, const fval *v)
{
    size_t n = v->len < dstsz - 1 ? v->len : dstsz - 1;

    if (n > 0)
        memcpy(dst, v->s, n);
    dst[n] = '\0';
}

static int64_t val_ll(const fval *v)
{
    uint64_t u = 0;
    size_t i = 0;
    bool neg;

    /* zq_parse_ll's answer (digits with an optional minus, the whole of
     * the value, within +-INT64_MAX; 0 otherwise) without strtol and a
     * copy: a row holds several numbers. */
    if (!v->set || v->len == 0)
        return 0;
    neg = v->s[0] == '-';
    i = neg ? 1 : 0;
    if (i == v->len || v->len - i > 19)
        return 0;
    for (; i < v->len; i++) {
        unsigned d = (unsigned)(unsigned char)v->s[i] - '0'; /* one test for both ends */
        if (d > 9)
            return 0;
        u = u * 10 + d;
    }
    if (u > (uint64_t)INT64_MAX)
        return 0;
    return neg ? -(int64_t)u : (int64_t)u;
}

static fval reply_val(const redisReply *r)
{
    fval v = {"", 0, false};

    if (r->type == REDIS_REPLY_STRING) {
        v.s = r->str;
        v.len = r->len;
        v.set = true;
    }
    return v;
}

/* The row fields (ROW_FIELDS order) into row, which must be zeroed. */
static void fill_fields(zq_case_row *row, const fval *v)
{
    if (!v[0].set)
        return;
    row->found = true;
    copy_val(row->id, sizeof(row->id), &v[0]);
    copy_val(row->form, sizeof(row->form), &v[1]);
    copy_val(row->status, sizeof(row->status), &v[2]);
    row->created_ms = val_ll(&v[3]);
    row->updated_ms = val_ll(&v[4]);
    copy_val(row->mobile, sizeof(row->mobile), &v[5]);
    copy_val(row->region, sizeof(row->region), &v[6]);
    copy_val(row->source, sizeof(row->source), &v[7]);
    copy_val(row->dup_of, sizeof(row->dup_of), &v[8]);
    copy_val(row->handler, sizeof(row->handler), &v[9]);
    copy_val(row->office, sizeof(row->office), &v[10]);
    copy_val(row->cross_region, sizeof(row->cross_region), &v[11]);
    row->has_due = v[12].set;
    copy_val(row->due_kind, sizeof(row->due_kind), &v[12]);
    copy_val(row->due_start, sizeof(row->due_start), &v[13]);
    copy_val(row->due_date, sizeof(row->due_date), &v[14]);
    row->due_limit = (int)val_ll(&v[15]);
    row->due_ext = v[16].len == 1 && v[16].s[0] == '1';
    row->answered_ms = val_ll(&v[17]);
    copy_val(row->answered_on_time, sizeof(row->answered_on_time), &v[18]);
    copy_val(row->result, sizeof(row->result), &v[19]);
    row->has_recovered = v[20].set && v[20].len > 0;
    row->recovered_fen = val_ll(&v[20]);
    copy_val(row->department, sizeof(row->department), &v[21]);
    copy_val(row->review_on_time, sizeof(row->review_on_time), &v[22]);
    copy_val(row->transfer_on_time, sizeof(row->transfer_on_time), &v[23]);
    copy_val(row->rating, sizeof(row->rating), &v[24]);
    /* Most rows have no comment: nothing is allocated for them. */
    if (v[25].set && v[25].len > 0)
        row->rating_comment = strndup(v[25].s, v[25].len);
    if (v[26].set && v[26].len > 0)
        row->result_reason = strndup(v[26].s, v[26].len);
}

/* Splits a list_row pack into the row fields; false unless it is of the
 * current version with exactly the fields expected. */
static bool unpack_row(const char *s, size_t len, fval *v)
{
    const char *end = s + len, *p;
    size_t vl = sizeof(ZQ_SUMMARY_VERSION) - 1;
    int k = 0;

    if (len <= vl || memcmp(s, ZQ_SUMMARY_VERSION, vl) != 0 || s[vl] != ZQ_SUMMARY_SEP)
        return false;
    for (p = s + vl + 1;; p++) {
        const char *e = memchr(p, ZQ_SUMMARY_SEP, (size_t)(end - p));
        if (e == NULL)
            e = end;
        if (k == NROW_FIELDS)
            return false;
        v[k].set = e > p; /* "" is a missing field, "=" an empty one */
        v[k].s = v[k].set ? p + 1 : "";
        v[k].len = v[k].set ? (size_t)(e - p - 1) : 0;
        if (v[k].set && *p != '=')
            return false;
        k++;
        if (e == end)
            break;
        p = e;
    }
    /* An older pack lacks the fields added since: they are missing. */
    bool older = k == ZQ_SUMMARY_NROW_V1 || k == ZQ_SUMMARY_NROW_V2 || k == ZQ_SUMMARY_NROW_V3;
    for (int i = k; older && i < NROW_FIELDS; i++)
        v[i] = (fval){"", 0, false};
    return k == NROW_FIELDS || older;
}

/* The bytes of s[0..n) before a NUL (a short part: no call). */
static size_t cstr_len(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && s[i] != '\0')
        i++;
    return i;
}

/* A list_sum pack (s, len bytes) into row: split where it is when mut
 * is not NULL (the same bytes, writable, which must then outlive the
 * row), else in an owned copy that the row's strings point into. False
 * unless it is of the current version and complete. Split where it is,
 * the last part is not terminated (the next value of a pack follows it):
 * it is the partner, which is copied. */
static bool fill_summary(zq_case_row *row, const char *s, size_t len, char *mut)
{
    const char *part[ZQ_SUMMARY_NSUM];
    size_t plen[ZQ_SUMMARY_NSUM];
    bool in_place = mut != NULL;
    char *t = in_place ? mut : malloc(len + 1);

    if (t == NULL)
        return false;
    if (!in_place) {
        memcpy(t, s, len);
        t[len] = '\0';
    }
    if (zq_summary_split_in(t, len, part, plen) < 0) {
        if (!in_place)
            free(t);
        return false;
    }
    if (!in_place) {
        free(row->summary_text);
        row->summary_text = t;
    }
    /* The parts copied are read as C strings, as they were from the
     * copy: a stray NUL ends one. */
    plen[3] = cstr_len(part[3], plen[3]);
    plen[5] = cstr_len(part[5], plen[5]);
    plen[6] = cstr_len(part[6], plen[6]);
    row->company_name = part[0];
    row->contact_name = part[1];
    row->respondent_name = part[2];
    /* Written raw into JSON: digits only, as from the answers. */
    if (plen[3] < 20 && strspn(part[3], "0123456789") == plen[3]) {
        memcpy(row->amount_fen, part[3], plen[3]);
        row->amount_fen[plen[3]] = '\0';
    }
    row->topic = part[4];
    if (plen[5] < sizeof(row->default_office)) {
        memcpy(row->default_office, part[5], plen[5]);
        row->default_office[plen[5]] = '\0';
    }
    if (plen[6] < sizeof(row->default_partner)) {
        memcpy(row->default_partner, part[6], plen[6]);
        row->default_partner[plen[6]] = '\0';
    }
    row->has_summary = true;
    return true;
}

/* A row from an HMGET reply of the row fields, then list_sum and the
 * answers as layout says. */
void zq_staff_fill_row(zq_case_row *row, const redisReply *r, int layout)
{
    size_t want = NROW_FIELDS + ((layout & LAYOUT_SUM) != 0) + ((layout & LAYOUT_ANSWERS) != 0);
    fval v[NROW_FIELDS];
    const redisReply *ans;
    size_t i;

    memset(row, 0, sizeof(*row));
    row->company_name = row->contact_name = row->respondent_name = row->topic = "";
    if (r->type != REDIS_REPLY_ARRAY || r->elements != want)
        return;
    for (i = 0; i < NROW_FIELDS; i++)
        v[i] = reply_val(r->element[i]);
    fill_fields(row, v);
    if (!row->found)
        return;
    if ((layout & LAYOUT_SUM) && r->element[NROW_FIELDS]->type == REDIS_REPLY_STRING)
        fill_summary(row, r->element[NROW_FIELDS]->str, r->element[NROW_FIELDS]->len, NULL);
    ans = (layout & LAYOUT_ANSWERS) ? r->element[want - 1] : NULL;
    if (ans != NULL && ans->type == REDIS_REPLY_STRING) {
        row->answers_text = malloc(ans->len + 1);
        if (row->answers_text != NULL) {
            memcpy(row->answers_text, ans->str, ans->len);
            row->answers_text[ans->len] = '\0';
            row->answers_len = ans->len;
        }
    }
}

/* A row from the values list_row, list_sum and updated_ms of a list
 * scan. Returns false (row cleared) when the packs are missing, of
 * another version, malformed or behind the hash (updated_ms differs): the
 * row is then to be read the slow way. */
static bool fill_list(zq_case_row *row, const fval *lr, const fval *ls, const fval *up, char *pack)
{
    fval v[NROW_FIELDS];

    memset(row, 0, sizeof(*row));
    row->company_name = row->contact_name = row->respondent_name = row->topic = "";
    if (!lr->set || !ls->set || !up->set || !unpack_row(lr->s, lr->len, v) || !v[4].set ||
        v[4].len != up->len || memcmp(v[4].s, up->s, v[4].len) != 0)
        return false;
    fill_fields(row, v);
    /* With pack (mutable, where ls points), the summary is split there. */
    if (row->found && fill_summary(row, ls->s, ls->len, pack ? pack + (ls->s - pack) : NULL))
        return true;
    zq_case_row_clear(row);
    memset(row, 0, sizeof(*row));
    row->company_name = row->contact_name = row->respondent_name = row->topic = "";
    return false;
}

json_t *zq_case_row_parse(zq_case_row *r)
{
    if (r->answers == NULL && r->answers_text != NULL)
        r->answers = json_loadb(r->answers_text, r->answers_len, 0, NULL);
    if (r->answers != NULL && !json_is_object(r->answers)) {
        json_decref(r->answers);
        r->answers = NULL;
    }
    if (r->answers == NULL)
        r->answers = json_object();
    return r->answers;
}

/* The keys {prefix}case:{id} of a pipeline, built in place: the prefix
 * once, then each id over the last (a plain copy: formatting costs more
 * than Redis spends on these commands). */
typedef struct case_key {
    char s[128];
    size_t base; /* bytes of "{prefix}case:" */
} case_key;

/* Starts a pipeline of n reads of case hashes: the key prefix in k and
 * room for the n replies in *rep (free()). Checked before anything is
 * queued: a pipeline is all or nothing. Returns 0 or a negative code. */
static int pipeline_begin(zq_store *st, int n, case_key *k, redisReply ***rep, zq_err *err)
{
    k->base = 0;
    if (zq_store_key(st, k->s, sizeof(k->s), "case:") < 0 ||
        strlen(k->s) + ZQ_CASE_ID_MAX > sizeof(k->s)) {
        zq_err_set(err, ZQ_EINVAL, "staff: key prefix too long");
        return -ZQ_EINVAL;
    }
    k->base = strlen(k->s);
    *rep = calloc((size_t)n, sizeof(redisReply *));
    if (*rep == NULL) {
        zq_err_set(err, ZQ_ENOMEM, "staff: out of memory");
        return -ZQ_ENOMEM;
    }
    return 0;
}

/* The key of case id; returns its length. */
static size_t case_key_set(case_key *k, const char *id)
{
    size_t il = strnlen(id, ZQ_CASE_ID_MAX - 1);

    memcpy(k->s + k->base, id, il);
    k->s[k->base + il] = '\0';
    return k->base + il;
}

int zq_staff_list_from_pack(zq_store *st, char *pack, size_t len, bool in_place, int limit,
                            char (*ids)[ZQ_CASE_ID_MAX], zq_case_row *rows, int *n, int *slow,
                            zq_err *err)
{
    size_t at = 0;
    int i = 0, nslow = 0, rc = 0;

    *n = 0;
    while (at < len && i < limit) {
        fval v[4];
        int k;

        for (k = 0; k < 4; k++) {
            int got = zq_store_unpack(pack, len, &at, &v[k].s, &v[k].len);
            if (got < 0) {
                rc = zq_err_set(err, ZQ_EREPLY, "staff: scan failed: bad pack");
                goto fail;
            }
            v[k].set = got == 1;
            if (!v[k].set)
                v[k].s = "";
        }
        copy_val(ids[i], ZQ_CASE_ID_MAX, &v[0]);
        if (!fill_list(&rows[i], &v[1], &v[2], &v[3], in_place ? pack : NULL))
            slow[nslow++] = i;
        *n = ++i;
    }
    /* Rows without usable packs (stored before them): the slow way. */
    if (nslow > 0 && (rc = fetch_rows(st, ids, rows, slow, nslow, true, false, err)) < 0)
        goto fail;
    return 0;
fail:
    for (i = 0; i < *n; i++)
        zq_case_row_clear(&rows[i]);
    *n = 0;
    return rc;
}

/* Loads the rows idx[0..n) (0..n when idx is NULL) of ids into rows in
 * one pipeline, with list_sum and, when with_answers, the answers text
 * (parsed when parse). */
static int fetch_rows(zq_store *st, char (*ids)[ZQ_CASE_ID_MAX], zq_case_row *rows, const int *idx,
                      int n, bool with_answers, bool parse, zq_err *err)
{
    case_key key;
    redisReply **rep;
    int i, rc;

    if (n <= 0)
        return 0;
    if ((rc = pipeline_begin(st, n, &key, &rep, err)) < 0)
        return rc;
    for (i = 0; i < n; i++) {
        case_key_set(&key, ids[idx ? idx[i] : i]);
        /* A %s value never splits into arguments: two formats. */
        if (with_answers)
            zq_store_append(st, "HMGET %s " ROW_FIELDS " list_sum answers", key.s);
        else
            zq_store_append(st, "HMGET %s " ROW_FIELDS " list_sum", key.s);
    }
    if (zq_store_read_replies(st, err, n, rep) < 0) {
        free(rep);
        return -ZQ_EUNAVAIL;
    }
    for (i = 0; i < n; i++) {
        zq_case_row *row = &rows[idx ? idx[i] : i];
        zq_staff_fill_row(row, rep[i], LAYOUT_SUM | (with_answers ? LAYOUT_ANSWERS : 0));
        if (with_answers && parse)
            zq_case_row_parse(row);
        freeReplyObject(rep[i]);
    }
    free(rep);
    return 0;
}

int zq_staff_fetch_rows(zq_store *st, char (*ids)[ZQ_CASE_ID_MAX], int n, bool with_answers,
                        zq_case_row *rows, zq_err *err)
{
    return fetch_rows(st, ids, rows, NULL, n, with_answers, true, err);
}

void zq_case_row_clear(zq_case_row *r)
{
    json_decref(r->answers);
    r->answers = NULL;
    free(r->answers_text);
    r->answers_text = NULL;
    r->answers_len = 0;
    free(r->summary_text);
    r->summary_text = NULL;
    free(r->rating_comment);
    r->rating_comment = NULL;
    free(r->result_reason);
    r->result_reason = NULL;
    r->has_summary = false;
    r->company_name = r->contact_name = r->respondent_name = r->topic = "";
}

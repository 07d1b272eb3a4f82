/* The staff side of cases in Redis: the list scan (a Lua script that walks
 * one index newest first and checks the other filters per case, within a
 * budget so that Redis is never blocked long), rows, atomic updates,
 * notes, exports written in chunks, statistics, audit and digest. */
#include "zhuqi/staff.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zhuqi/buf.h"
#include "zhuqi/csv.h"
#include "zhuqi/log.h"

#define SCAN_BATCH 1000   /* ids per export/stats step */
#define SCAN_BUDGET 20000 /* candidates per script call */
#define CHUNK 65536       /* export bytes per write */
#define SCRATCH 65536     /* a decoded answer, at most (20000 characters) */
#define DIGEST_MAX 2000

/* ---- the list scan ---------------------------------------------------- */

/* The hash fields a row reads, in the order fill_fields() expects; the
 * answers come after them, when needed. */
#define ROW_FIELDS ZQ_SUMMARY_ROW_FIELDS
#define ROW_FIELDS_LUA ZQ_SUMMARY_ROW_FIELDS_LUA
#define NROW_FIELDS ZQ_SUMMARY_NROW

/* ARGV: 1 prefix, 2 cursor score, 3 cursor id, 4 limit, 5 budget, 6 from,
 * 7 to, 8 overdue, 9 today (YYYYMMDD), 10 implicit cutoff (ms), 11 q,
 * 12 handler, 13 forms whose first status has a review clock
 * (",complaint,"), 14 want (ZQ_SCAN_*), 15.. index keys that must all
 * hold the case. The smallest of those is walked; with none, cases:all.
 * Ties in score are ordered by member bytes, as Redis orders them.
 * Candidates are read by rank without their scores (formatting a score
 * costs more than reading a row): the creation bound `from` becomes a
 * last rank, and only the last candidate's score is read, for the
 * cursor. Without a check per candidate, exactly the ids still wanted are
 * read. Returns {ids, last score, last id, done, scanned, rows}; a row is
 * the HMGET of the row fields (ZQ_SCAN_ROWS) or of those and the answers
 * (_ANSWERS). */
static zq_script scan_script = {
    .src = "local p = ARGV[1]\n"
           "local cs, cid = ARGV[2], ARGV[3]\n"
           "local limit, budget = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
           "local from, to = ARGV[6], ARGV[7]\n"
           "local overdue = ARGV[8] == '1'\n"
           "local today, cutoff = tonumber(ARGV[9]), tonumber(ARGV[10])\n"
           "local q, handler, implicit = ARGV[11], ARGV[12], ARGV[13]\n"
           "local want = tonumber(ARGV[14])\n"
           "local sets = {}\n"
           "for i = 15, #ARGV do sets[#sets + 1] = p .. ARGV[i] end\n"
           "local key = p .. 'cases:all'\n"
           "if #sets > 0 then\n"
           "  local best, bestn = 1, redis.call('ZCARD', sets[1])\n"
           "  for i = 2, #sets do\n"
           "    local n = redis.call('ZCARD', sets[i])\n"
           "    if n < bestn then best, bestn = i, n end\n"
           "  end\n"
           "  key = table.remove(sets, best)\n"
           "end\n"
           "local function lt(a, b)\n"
           "  local n = math.min(#a, #b)\n"
           "  for k = 1, n do\n"
           "    local x, y = a:byte(k), b:byte(k)\n"
           "    if x ~= y then return x < y end\n"
           "  end\n"
           "  return #a < #b\n"
           "end\n"
           "local start = 0\n"
           "if to ~= '' then start = redis.call('ZCOUNT', key, to, '+inf') end\n"
           "if cs ~= '' then\n"
           "  local r = redis.call('ZREVRANK', key, cid)\n"
           "  local s = r and redis.call('ZSCORE', key, cid)\n"
           "  local st\n"
           "  if r and tonumber(s) == tonumber(cs) then st = r + 1\n"
           "  else\n"
           "    st = redis.call('ZCOUNT', key, '(' .. cs, '+inf')\n"
           "    for _, m in ipairs(redis.call('ZRANGEBYSCORE', key, cs, cs)) do\n"
           "      if not lt(m, cid) then st = st + 1 end\n"
           "    end\n"
           "  end\n"
           "  if st > start then start = st end\n"
           "end\n"
           "local stop = redis.call('ZCARD', key)\n"
           "if from ~= '' then stop = redis.call('ZCOUNT', key, from, '+inf') end\n"
           "local plain = #sets == 0 and not overdue and q == '' and handler == ''\n"
           "local function match(id)\n"
           "  if plain then return true end\n"
           "  for _, k in ipairs(sets) do\n"
           "    if not redis.call('ZSCORE', k, id) then return false end\n"
           "  end\n"
           "  if not overdue and q == '' and handler == '' then return true end\n"
           "  local ck = p .. 'case:' .. id\n"
           "  local h = redis.call('HMGET', ck, 'status', 'due_kind', 'due_date', 'created_ms',\n"
           "    'form', 'handler', 'mobile')\n"
           "  if handler ~= '' and h[6] ~= handler then return false end\n"
           "  if overdue then\n"
           "    local od = false\n"
           "    if h[2] then\n"
           "      if h[2] ~= '' and h[3] then\n"
           "        local d = tonumber((string.gsub(h[3], '-', '')))\n"
           "        od = d ~= nil and d < today\n"
           "      end\n"
           "    elseif h[1] == 'submitted' and h[5] and\n"
           "        string.find(implicit, ',' .. h[5] .. ',', 1, true) then\n"
           "      od = tonumber(h[4] or '0') < cutoff\n"
           "    end\n"
           "    if not od then return false end\n"
           "  end\n"
           "  if q ~= '' then\n"
           "    if string.find(id, q, 1, true) then return true end\n"
           "    if h[7] and string.find(h[7], q, 1, true) then return true end\n"
           "    local a = redis.call('HGET', ck, 'answers')\n"
           "    if not (a and string.find(a, q, 1, true)) then return false end\n"
           "  end\n"
           "  return true\n"
           "end\n"
           "local ids, rows = {}, {}\n"
           "local fields = {" ROW_FIELDS_LUA "}\n"
           "if want == 2 then fields[#fields + 1] = 'answers' end\n"
           "local scanned, done, lid = 0, 0, nil\n"
           "while done == 0 and scanned < budget and #ids < limit do\n"
           "  local n = plain and limit - #ids or 256\n"
           "  if n > budget - scanned then n = budget - scanned end\n"
           "  if n > stop - start then n = stop - start end\n"
           "  if n <= 0 then done = 1 break end\n"
           "  local batch = redis.call('ZREVRANGE', key, start, start + n - 1)\n"
           "  if #batch == 0 then done = 1 break end\n"
           "  for j = 1, #batch do\n"
           "    local id = batch[j]\n"
           "    scanned = scanned + 1\n"
           "    start = start + 1\n"
           "    lid = id\n"
           "    if match(id) then\n"
           "      ids[#ids + 1] = id\n"
           "      if want > 0 then\n"
           "        rows[#rows + 1] = redis.call('HMGET', p .. 'case:' .. id, unpack(fields))\n"
           "      end\n"
           "      if #ids >= limit then break end\n"
           "    end\n"
           "  end\n"
           "end\n"
           "if start >= stop then done = 1 end\n"
           "local ls = cs\n"
           "if lid then ls = redis.call('ZSCORE', key, lid) else lid = cid end\n"
           "return {ids, ls, lid, done, scanned, rows}\n"};

int64_t zq_staff_day_start_ms(zq_date d)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = d.y - 1900;
    tm.tm_mon = d.m - 1;
    tm.tm_mday = d.d;
    return ((int64_t)timegm(&tm) - 8 * 3600) * 1000;
}

/* Forms whose first status runs a clock without any move: ",complaint,". */
static void implicit_forms(char *out, size_t outsz)
{
    size_t i, o = 0;

    out[0] = '\0';
    for (i = 0; i < zq_wf_nmachines(); i++) {
        const zq_wf_machine *m = zq_wf_machine_at(i);
        const zq_wf_status *s = zq_wf_status_find(m, m->initial);
        int w;

        if (s == NULL || s->clock == ZQ_WF_CLOCK_NONE)
            continue;
        w = snprintf(out + o, outsz - o, "%s%s,", o == 0 ? "," : "", m->form);
        if (w < 0 || (size_t)w >= outsz - o)
            break;
        o += (size_t)w;
    }
}

/* What an HMGET of a row holds after the row fields (fill_row). */
#define LAYOUT_SUM 1     /* list_sum */
#define LAYOUT_ANSWERS 2 /* then the answers */

static void copy_str(char *dst, size_t dstsz, const redisReply *v);
static void fill_row(zq_case_row *row, const redisReply *r, int layout);
static int fetch_list(zq_store *st, char (*ids)[ZQ_CASE_ID_MAX], zq_case_row *rows, int n,
                      int *slow, zq_err *err);
static int fetch_rows(zq_store *st, char (*ids)[ZQ_CASE_ID_MAX], zq_case_row *rows, const int *idx,
                      int n, bool with_answers, bool parse, zq_err *err);

int zq_staff_scan(zq_store *st, const zq_staff_ctx *ctx, const zq_case_filter *f, zq_cursor *cur,
                  int limit, int budget, int want, char (*ids)[ZQ_CASE_ID_MAX],
                  struct zq_case_row *rows, int *n, bool *done, zq_err *err)
{
    char cs[24] = "", lim[16], bud[16], from[24] = "", to[24] = "", today[16], cutoff[24],
         implicit[128], k_type[64], k_status[64], k_region[64], wants[4];
    const char *argv[20];
    redisReply *r;
    zq_date cut;
    int argc = 0, rc = 0, *slow = NULL;
    size_t i;

    *n = 0;
    *done = false;
    if (rows == NULL)
        want = ZQ_SCAN_IDS;
    if (want == ZQ_SCAN_LIST &&
        (slow = malloc((size_t)(limit > 0 ? limit : 1) * sizeof(*slow))) == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "staff: out of memory");
    if (cur->set)
        snprintf(cs, sizeof(cs), "%lld", (long long)cur->score);
    snprintf(lim, sizeof(lim), "%d", limit);
    snprintf(bud, sizeof(bud), "%d", budget);
    if (f->from_ms > 0)
        snprintf(from, sizeof(from), "%lld", (long long)f->from_ms);
    if (f->to_ms > 0)
        snprintf(to, sizeof(to), "(%lld", (long long)f->to_ms);
    snprintf(today, sizeof(today), "%lld", (long long)zq_wf_date_score(ctx->today));
    /* Untouched cases are overdue when created on or before the last day
     * whose review deadline was yesterday or earlier. */
    cut = zq_wf_review_cutoff(ctx->cal, &ctx->lim, zq_date_add_days(ctx->today, -1));
    snprintf(cutoff, sizeof(cutoff), "%lld",
             zq_date_valid(cut) ? (long long)zq_staff_day_start_ms(zq_date_add_days(cut, 1)) : 0LL);
    implicit_forms(implicit, sizeof(implicit));

    argv[argc++] = zq_store_prefix(st);
    argv[argc++] = cs;
    argv[argc++] = cur->set ? cur->id : "";
    argv[argc++] = lim;
    argv[argc++] = bud;
    argv[argc++] = from;
    argv[argc++] = to;
    argv[argc++] = f->overdue ? "1" : "0";
    argv[argc++] = today;
    argv[argc++] = cutoff;
    argv[argc++] = f->q;
    argv[argc++] = f->handler;
    argv[argc++] = implicit;
    /* A list reads its rows by HMGET outside the script: a Lua string is
     * hashed byte by byte when made, and a row pack is long. */
    snprintf(wants, sizeof(wants), "%d", want == ZQ_SCAN_LIST ? ZQ_SCAN_IDS : want);
    argv[argc++] = wants;
    if (f->type[0] != '\0') {
        snprintf(k_type, sizeof(k_type), "cases:type:%s", f->type);
        argv[argc++] = k_type;
    }
    if (f->status[0] != '\0') {
        snprintf(k_status, sizeof(k_status), "cases:status:%s", f->status);
        argv[argc++] = k_status;
    }
    if (f->region[0] != '\0') {
        snprintf(k_region, sizeof(k_region), "cases:region:%s", f->region);
        argv[argc++] = k_region;
    }
    r = zq_store_script(st, err, &scan_script, 0, argc, argv, NULL);
    if (r == NULL) {
        free(slow);
        return -ZQ_EUNAVAIL;
    }
    /* {ids, last score, last id, done, scanned, rows} */
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 6 ||
        r->element[0]->type != REDIS_REPLY_ARRAY || r->element[5]->type != REDIS_REPLY_ARRAY ||
        (want != ZQ_SCAN_IDS && want != ZQ_SCAN_LIST &&
         r->element[5]->elements != r->element[0]->elements)) {
        rc = zq_err_set(err, ZQ_EREPLY, "staff: scan failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    for (i = 0; i < r->element[0]->elements && (int)i < limit; i++) {
        copy_str(ids[i], ZQ_CASE_ID_MAX, r->element[0]->element[i]);
        if (want == ZQ_SCAN_ROWS || want == ZQ_SCAN_ANSWERS)
            fill_row(&rows[i], r->element[5]->element[i],
                     want == ZQ_SCAN_ANSWERS ? LAYOUT_ANSWERS : 0);
    }
    *n = (int)i;
    if (want == ZQ_SCAN_LIST && (rc = fetch_list(st, ids, rows, *n, slow, err)) < 0) {
        *n = 0;
        goto out;
    }
    if (r->element[1]->type == REDIS_REPLY_STRING && r->element[2]->type == REDIS_REPLY_STRING) {
        long long sc;
        if (zq_parse_ll(r->element[1]->str, r->element[1]->len, 0, INT64_MAX, &sc) == 0) {
            cur->set = true;
            cur->score = sc;
            copy_str(cur->id, sizeof(cur->id), r->element[2]);
        }
    }
    *done = r->element[3]->type == REDIS_REPLY_INTEGER && r->element[3]->integer == 1;
out:
    freeReplyObject(r);
    free(slow);
    return rc;
}

/* ---- filters and cursors ---------------------------------------------- */

static bool name_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 63)
        return false;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

int zq_case_filter_parse(zq_case_filter *f, zq_param_fn get, void *ctx, const zq_schema *s,
                         const char **param, const char **msg)
{
    const char *v;
    zq_date d;

    memset(f, 0, sizeof(*f));
#define FAIL(p, m)                                                                                 \
    do {                                                                                           \
        *param = (p);                                                                              \
        *msg = (m);                                                                                \
        return -ZQ_EINVAL;                                                                         \
    } while (0)
    v = get(ctx, "type");
    if (v != NULL && *v != '\0') {
        if (zq_wf_machine_for(v) == NULL || strlen(v) >= sizeof(f->type) ||
            (s != NULL && zq_schema_form(s, v) == NULL))
            FAIL("type", "案件类型不正确，应为 complaint（投诉）或 consult（咨询）。");
        snprintf(f->type, sizeof(f->type), "%s", v);
    }
    v = get(ctx, "status");
    if (v != NULL && *v != '\0') {
        if (!zq_wf_status_known(v) || strlen(v) >= sizeof(f->status))
            FAIL("status", "案件状态不正确。");
        snprintf(f->status, sizeof(f->status), "%s", v);
    }
    v = get(ctx, "region");
    if (v != NULL && *v != '\0') {
        const zq_region *r = s ? zq_schema_region_find(s, v) : NULL;
        if (r != NULL)
            snprintf(f->region, sizeof(f->region), "%s", r->code);
        else if (s == NULL && strlen(v) == 6 && strspn(v, "0123456789") == 6)
            snprintf(f->region, sizeof(f->region), "%s", v);
        else
            FAIL("region", "地区不正确，请使用六位行政区划代码或地区名称。");
    }
    v = get(ctx, "handler");
    if (v != NULL && *v != '\0') {
        if (!name_ok(v))
            FAIL("handler", "承办人名称不正确。");
        snprintf(f->handler, sizeof(f->handler), "%s", v);
    }
    v = get(ctx, "from");
    if (v != NULL && *v != '\0') {
        if (zq_date_parse(v, strlen(v), &d) < 0 || d.y < 2000 || d.y > 2100)
            FAIL("from", "开始日期格式应为 YYYY-MM-DD。");
        f->from_ms = zq_staff_day_start_ms(d);
    }
    v = get(ctx, "to");
    if (v != NULL && *v != '\0') {
        if (zq_date_parse(v, strlen(v), &d) < 0 || d.y < 2000 || d.y > 2100)
            FAIL("to", "结束日期格式应为 YYYY-MM-DD。");
        f->to_ms = zq_staff_day_start_ms(zq_date_add_days(d, 1));
    }
    if (f->from_ms > 0 && f->to_ms > 0 && f->to_ms <= f->from_ms)
        FAIL("to", "结束日期不能早于开始日期。");
    v = get(ctx, "overdue");
    if (v != NULL && *v != '\0') {
        if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
            f->overdue = true;
        else if (strcmp(v, "0") != 0 && strcmp(v, "false") != 0)
            FAIL("overdue", "overdue 应为 1 或 0。");
    }
    v = get(ctx, "q");
    if (v != NULL) {
        size_t n;
        while (*v == ' ')
            v++;
        n = strlen(v);
        while (n > 0 && v[n - 1] == ' ')
            n--;
        if (!zq_utf8_valid(v, n) || zq_utf8_chars(v, n) > ZQ_STAFF_Q_MAX || n >= sizeof(f->q))
            FAIL("q", "搜索内容最多 50 个字。");
        memcpy(f->q, v, n);
        f->q[n] = '\0';
    }
#undef FAIL
    return 0;
}

int zq_cursor_parse(const char *s, zq_cursor *out)
{
    const char *us = s ? strchr(s, '_') : NULL;
    long long sc;

    memset(out, 0, sizeof(*out));
    if (us == NULL || zq_parse_ll(s, (size_t)(us - s), 0, INT64_MAX, &sc) < 0 ||
        strlen(us + 1) >= sizeof(out->id) || !zq_case_id_valid(us + 1))
        return -ZQ_EINVAL;
    out->set = true;
    out->score = sc;
    snprintf(out->id, sizeof(out->id), "%s", us + 1);
    return 0;
}

void zq_cursor_format(const zq_cursor *c, char out[64])
{
    snprintf(out, 64, "%lld_%s", (long long)c->score, c->id);
}

/* ---- rows --------------------------------------------------------------- */

/* A string reply into dst, cut at dstsz - 1 bytes; "" for anything else.
 * (A plain copy: rows have many short fields, and snprintf costs.) */
static void copy_str(char *dst, size_t dstsz, const redisReply *v)
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
    long long n;

    if (v->set && zq_parse_ll(v->s, v->len, -INT64_MAX, INT64_MAX, &n) == 0)
        return n;
    return 0;
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
    return k == NROW_FIELDS;
}

/* A list_sum pack into row (an owned copy that the row's strings point
 * into); false unless it is of the current version and complete. */
static bool fill_summary(zq_case_row *row, const char *s, size_t len)
{
    const char *part[ZQ_SUMMARY_NSUM];
    char *t = zq_summary_split(s, len, part);
    size_t i;

    if (t == NULL)
        return false;
    free(row->summary_text);
    row->summary_text = t;
    row->company_name = part[0];
    row->contact_name = part[1];
    row->respondent_name = part[2];
    /* Written raw into JSON: digits only, as from the answers. */
    i = strlen(part[3]);
    if (i < 20 && strspn(part[3], "0123456789") == i)
        memcpy(row->amount_fen, part[3], i + 1);
    row->topic = part[4];
    i = strlen(part[5]);
    if (i < sizeof(row->default_office))
        memcpy(row->default_office, part[5], i + 1);
    i = strlen(part[6]);
    if (i < sizeof(row->default_partner))
        memcpy(row->default_partner, part[6], i + 1);
    row->has_summary = true;
    return true;
}

/* A row from an HMGET reply of the row fields, then list_sum and the
 * answers as layout says. */
static void fill_row(zq_case_row *row, const redisReply *r, int layout)
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
        fill_summary(row, r->element[NROW_FIELDS]->str, r->element[NROW_FIELDS]->len);
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

/* A row from the reply {list_row, list_sum, updated_ms} of a list scan.
 * Returns false (row cleared) when the packs are missing, of another
 * version, malformed or behind the hash (updated_ms differs): the row is
 * then to be read the slow way. */
static bool fill_list(zq_case_row *row, const redisReply *r)
{
    fval v[NROW_FIELDS];

    memset(row, 0, sizeof(*row));
    row->company_name = row->contact_name = row->respondent_name = row->topic = "";
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[2]->type != REDIS_REPLY_STRING ||
        !unpack_row(r->element[0]->str, r->element[0]->len, v) || !v[4].set ||
        v[4].len != r->element[2]->len || memcmp(v[4].s, r->element[2]->str, v[4].len) != 0)
        return false;
    fill_fields(row, v);
    if (row->found && fill_summary(row, r->element[1]->str, r->element[1]->len))
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

/* Loads the rows of a list page, ids[0..n), from their packs in one
 * pipeline, and the rows without usable packs the slow way (slow holds n
 * indexes). On failure every row is cleared. */
static int fetch_list(zq_store *st, char (*ids)[ZQ_CASE_ID_MAX], zq_case_row *rows, int n,
                      int *slow, zq_err *err)
{
    const char *p = zq_store_prefix(st);
    zq_buf cmds = {0};
    char key[128];
    size_t pl;
    redisReply **rep;
    int i, nslow = 0, rc = 0;

    if (n <= 0)
        return 0;
    pl = strlen(p);
    if (pl + 5 + ZQ_CASE_ID_MAX > sizeof(key))
        return zq_err_set(err, ZQ_EINVAL, "staff: key prefix too long");
    rep = calloc((size_t)n, sizeof(*rep));
    if (rep == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "staff: out of memory");
    /* Written in the protocol directly: even argv formatting cost hiredis
     * more than Redis spends on these commands. */
    memcpy(key, p, pl);
    memcpy(key + pl, "case:", 5);
    for (i = 0; i < n; i++) {
        size_t il = strnlen(ids[i], ZQ_CASE_ID_MAX - 1);

        memcpy(key + pl + 5, ids[i], il);
        zq_buf_puts(&cmds, "*5\r\n$5\r\nHMGET\r\n");
        zq_store_resp_arg(&cmds, key, pl + 5 + il);
        zq_buf_puts(&cmds, "$8\r\nlist_row\r\n$8\r\nlist_sum\r\n$10\r\nupdated_ms\r\n");
    }
    if (cmds.oom) {
        zq_buf_free(&cmds);
        free(rep);
        return zq_err_set(err, ZQ_ENOMEM, "staff: out of memory");
    }
    zq_store_append_resp(st, cmds.data, cmds.len, n);
    zq_buf_free(&cmds);
    if (zq_store_read_replies(st, err, n, rep) < 0) {
        free(rep);
        return -ZQ_EUNAVAIL;
    }
    for (i = 0; i < n; i++) {
        if (!fill_list(&rows[i], rep[i]))
            slow[nslow++] = i;
        freeReplyObject(rep[i]);
    }
    free(rep);
    /* Rows without usable packs (stored before them): the slow way. */
    if (nslow > 0 && (rc = fetch_rows(st, ids, rows, slow, nslow, true, false, err)) < 0)
        for (i = 0; i < n; i++)
            zq_case_row_clear(&rows[i]);
    return rc;
}

/* Loads the rows idx[0..n) (0..n when idx is NULL) of ids into rows in
 * one pipeline, with list_sum and, when with_answers, the answers text
 * (parsed when parse). */
static int fetch_rows(zq_store *st, char (*ids)[ZQ_CASE_ID_MAX], zq_case_row *rows, const int *idx,
                      int n, bool with_answers, bool parse, zq_err *err)
{
    const char *p = zq_store_prefix(st);
    char key[96];
    redisReply **rep;
    int i;

    if (n <= 0)
        return 0;
    rep = calloc((size_t)n, sizeof(*rep));
    if (rep == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "staff: out of memory");
    for (i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%scase:%s", p, ids[idx ? idx[i] : i]);
        /* A %s value never splits into arguments: two formats. */
        if (with_answers)
            zq_store_append(st, "HMGET %s " ROW_FIELDS " list_sum answers", key);
        else
            zq_store_append(st, "HMGET %s " ROW_FIELDS " list_sum", key);
    }
    if (zq_store_read_replies(st, err, n, rep) < 0) {
        free(rep);
        return -ZQ_EUNAVAIL;
    }
    for (i = 0; i < n; i++) {
        zq_case_row *row = &rows[idx ? idx[i] : i];
        fill_row(row, rep[i], LAYOUT_SUM | (with_answers ? LAYOUT_ANSWERS : 0));
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
    r->has_summary = false;
    r->company_name = r->contact_name = r->respondent_name = r->topic = "";
}

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
        int64_t key = zq_wf_date_score(zq_wf_date_of_ms(r->created_ms)) * 64 +
                      (m != NULL ? (int64_t)(m - zq_wf_machine_at(0)) + 1 : 0);
        unsigned slot = (unsigned)(key % ZQ_STAFF_MEMO);

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
    snprintf(buf, bufsz, "%s经济和信息化局", r->name);
    return buf;
}

static const char *answer_str(json_t *answers, const char *key)
{
    const char *v = json_string_value(json_object_get(answers, key));
    return v ? v : "";
}

static const char *region_name(const zq_schema *s, const char *code)
{
    const zq_region *r = s && code && *code ? zq_schema_region(s, code) : NULL;
    return r ? r->name : (code ? code : "");
}

static const char *form_title(const zq_schema *s, const char *form)
{
    const zq_form *f = s ? zq_schema_form(s, form) : NULL;
    return f ? f->title : form;
}

static const char *status_label(const char *form, const char *status)
{
    const zq_wf_status *st = zq_wf_status_find(zq_wf_machine_for(form), status);
    return st ? st->label : zq_case_status_label(status);
}

static json_t *cross_region_json(const zq_schema *s, const char *partner)
{
    if (partner == NULL || *partner == '\0')
        return json_null();
    return json_pack("{s:s, s:s, s:s}", "partner", partner, "partner_name", region_name(s, partner),
                     "channel", strcmp(partner, "500000") == 0 ? "川渝跨区域协作" : "跨省协作");
}

/* ---- rows as JSON, written directly -------------------------------------- */

/* The index just after the JSON value starting at s[i] (objects, arrays,
 * strings, literals), or n + 1 when it is malformed. */
static size_t jskip(const char *s, size_t n, size_t i)
{
    int depth = 0;

    do {
        if (i >= n)
            return n + 1;
        if (s[i] == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            if (i >= n)
                return n + 1;
            i++;
        } else if (s[i] == '{' || s[i] == '[') {
            depth++;
            i++;
        } else if (s[i] == '}' || s[i] == ']') {
            depth--;
            i++;
        } else if (depth > 0) {
            i++; /* ',', ':', spaces, numbers and literals inside */
        } else {
            while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' &&
                   s[i] != '\n' && s[i] != '\r' && s[i] != '\t')
                i++;
        }
    } while (depth > 0);
    return i;
}

static size_t jws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    return i;
}

/* The text of the top-level member key of the JSON object s (a string
 * token with its quotes, a number, a literal...), or NULL. Keys are
 * compared as written (ours never need escapes). */
static const char *jmember(const char *s, size_t n, const char *key, size_t *vlen)
{
    size_t klen = strlen(key), i = jws(s, n, 0);

    if (s == NULL || i >= n || s[i] != '{')
        return NULL;
    i++;
    for (;;) {
        size_t ks, ke, vs, ve;

        i = jws(s, n, i);
        if (i >= n || s[i] != '"')
            return NULL;
        ks = i + 1;
        ke = jskip(s, n, i);
        if (ke > n)
            return NULL;
        i = jws(s, n, ke);
        if (i >= n || s[i] != ':')
            return NULL;
        vs = jws(s, n, i + 1);
        ve = jskip(s, n, vs);
        if (ve > n)
            return NULL;
        if (ke - 1 - ks == klen && memcmp(s + ks, key, klen) == 0) {
            *vlen = ve - vs;
            return s + vs;
        }
        i = jws(s, n, ve);
        if (i >= n || s[i] != ',')
            return NULL;
        i++;
    }
}

static int hexv(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes a JSON string token (with quotes) into out as UTF-8; "" when
 * it is not a string. Cuts at outsz on a character boundary. */
static void jdecode(const char *v, size_t vlen, char *out, size_t outsz)
{
    size_t i, o = 0;

    out[0] = '\0';
    if (v == NULL || vlen < 2 || v[0] != '"')
        return;
    for (i = 1; i + 1 < vlen && o + 5 < outsz; i++) {
        unsigned long cp;
        if (v[i] != '\\') {
            out[o++] = v[i];
            continue;
        }
        i++;
        switch (v[i]) {
        case 'n': out[o++] = '\n'; continue;
        case 't': out[o++] = '\t'; continue;
        case 'r': out[o++] = '\r'; continue;
        case 'b': out[o++] = '\b'; continue;
        case 'f': out[o++] = '\f'; continue;
        case 'u': break;
        default: out[o++] = v[i]; continue;
        }
        if (i + 4 >= vlen)
            break;
        cp = 0;
        for (int k = 1; k <= 4; k++)
            cp = cp * 16 + (unsigned long)(hexv(v[i + k]) < 0 ? 0 : hexv(v[i + k]));
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < vlen && v[i + 1] == '\\' && v[i + 2] == 'u') {
            unsigned long lo = 0;
            for (int k = 3; k <= 6; k++)
                lo = lo * 16 + (unsigned long)(hexv(v[i + k]) < 0 ? 0 : hexv(v[i + k]));
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        }
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else if (cp < 0x800) {
            out[o++] = (char)(0xC0 | (cp >> 6));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[o++] = (char)(0xE0 | (cp >> 12));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | (cp >> 18));
            out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    out[o] = '\0';
    out[zq_utf8_cut(out, o, o)] = '\0';
}

/* A string member of the row's answers, decoded into buf. */
static const char *row_answer(const zq_case_row *r, const char *key, char *buf, size_t bufsz)
{
    size_t vlen = 0;
    const char *v = jmember(r->answers_text, r->answers_len, key, &vlen);

    jdecode(v, vlen, buf, bufsz);
    return buf;
}

/* The default office: the summary's, or from the answers text (no
 * parse). */
static void row_default_office(const zq_case_row *r, char office[8], char partner[8])
{
    char rr[16] = "", reg[16] = "";
    json_t *a;

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

static void put(zq_buf *b, const char *s, size_t n)
{
    if (b->len + n >= b->cap && zq_buf_reserve(b, n) < 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

#define PUTL(b, lit) put((b), (lit), sizeof(lit) - 1)

/* The bytes that zq_buf_json_escape rewrites; most bytes of a row (CJK,
 * letters, digits) are above '>' and cost one comparison. */
static bool esc_byte(unsigned char c)
{
    if (c > '>')
        return c == '\\';
    return c < 0x20 || c == '"' || c == '<' || c == '>' || c == '&';
}

static bool needs_escape(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (esc_byte((unsigned char)s[i]))
            return true;
    return false;
}

/* A JSON string value (with quotes), escaped as zq_buf_json_escape does;
 * one pass finds both the length and whether anything needs escaping. */
static void put_jstr(zq_buf *b, const char *s)
{
    const char *p = s;

    while (*p != '\0' && !esc_byte((unsigned char)*p))
        p++;
    PUTL(b, "\"");
    if (*p == '\0')
        put(b, s, (size_t)(p - s));
    else
        zq_buf_json_escape(b, s, (size_t)(p - s) + strlen(p));
    PUTL(b, "\"");
}

static void put_int(zq_buf *b, long long v)
{
    char t[24];
    size_t n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

    do {
        t[sizeof(t) - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0)
        t[sizeof(t) - 1 - n++] = '-';
    put(b, t + sizeof(t) - n, n);
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

/* zq_time_iso (Beijing time, "+08:00") without gmtime_r and strftime,
 * whose time zone lock the worker threads would share; quoted. */
static void put_time(zq_buf *b, int64_t ms)
{
    int64_t t = ms / 1000 + 8 * 3600, z, era, days = t / 86400, sod = t % 86400;
    unsigned doe, yoe, doy, mp, m, d;
    long long y;
    char o[28];

    if (sod < 0) {
        sod += 86400;
        days--;
    }
    /* H. Hinnant's civil_from_days */
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = (long long)yoe + era * 400 + (m <= 2);
    if (y < 1000 || y > 9999) {
        char iso[32];
        zq_time_iso(ms, iso);
        put_jstr(b, iso);
        return;
    }
    o[0] = '"';
    put_2d(o + 1, (unsigned)(y / 100));
    put_2d(o + 3, (unsigned)(y % 100));
    o[5] = '-';
    put_2d(o + 6, m);
    o[8] = '-';
    put_2d(o + 9, d);
    o[11] = 'T';
    put_2d(o + 12, (unsigned)(sod / 3600));
    o[14] = ':';
    put_2d(o + 15, (unsigned)(sod / 60 % 60));
    o[17] = ':';
    put_2d(o + 18, (unsigned)(sod % 60));
    memcpy(o + 20, "+08:00\"", 7);
    put(b, o, 27);
}

/* The name of an office as zq_staff_office_name gives it (quoted). */
static void put_office_name(zq_buf *b, const zq_schema *s, const char *office)
{
    const zq_region *r;

    if (office[0] == '\0' || strcmp(office, "510000") == 0) {
        put_jstr(b, office[0] == '\0' ? "" : "四川省经济和信息化厅（跨区域协作）");
        return;
    }
    r = s ? zq_schema_region(s, office) : NULL;
    if (r == NULL) {
        put_jstr(b, office);
        return;
    }
    if (needs_escape(r->name, strlen(r->name))) {
        char buf[160];
        put_jstr(b, zq_staff_office_name(s, office, buf, sizeof(buf)));
        return;
    }
    PUTL(b, "\"");
    put(b, r->name, strlen(r->name));
    PUTL(b, "经济和信息化局\"");
}

static void put_deadline(zq_buf *b, const zq_deadline *d, const char *status, const char *label,
                         zq_date today, int left)
{
    if (d->clock == ZQ_WF_CLOCK_NONE || !zq_date_valid(d->due)) {
        PUTL(b, "null");
        return;
    }
    PUTL(b, "{\"status\":");
    put_jstr(b, status);
    PUTL(b, ",\"status_label\":");
    put_jstr(b, label);
    PUTL(b, ",\"clock\":");
    put_jstr(b, zq_wf_clock_name(d->clock));
    PUTL(b, ",\"what\":");
    put_jstr(b, zq_wf_clock_label(d->clock));
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

int zq_staff_row_write(zq_buf *b, const zq_staff_ctx *ctx, const zq_case_row *r, bool mask,
                       bool with_answers)
{
    const zq_schema *s = ctx->schema;
    const char *label = status_label(r->form, r->status);
    char mobile[32], contact[640], office[8], partner[8], text[640];
    bool complaint = strcmp(r->form, "complaint") == 0;
    const char *v;
    size_t vlen;
    zq_deadline d;

    if (r->office[0] != '\0') {
        snprintf(office, sizeof(office), "%s", r->office);
        snprintf(partner, sizeof(partner), "%s", r->cross_region);
    } else {
        row_default_office(r, office, partner);
    }
    v = r->has_summary ? r->contact_name : row_answer(r, "contact_name", text, sizeof(text));
    if (mask) {
        zq_mask_mobile(r->mobile, mobile, sizeof(mobile));
        zq_mask_name(v, contact, sizeof(contact));
    } else {
        snprintf(mobile, sizeof(mobile), "%s", r->mobile);
        snprintf(contact, sizeof(contact), "%s", v);
    }
    zq_staff_row_deadline(ctx, r, &d);
    /* About what a row takes, so that it is reserved once. */
    zq_buf_reserve(b, 1024 + (with_answers ? r->answers_len : 0));
    PUTL(b, "{\"id\":");
    put_jstr(b, r->id);
    PUTL(b, ",\"type\":");
    put_jstr(b, r->form);
    PUTL(b, ",\"type_label\":");
    put_jstr(b, form_title(s, r->form));
    PUTL(b, ",\"status\":");
    put_jstr(b, r->status);
    PUTL(b, ",\"status_label\":");
    put_jstr(b, label);
    PUTL(b, ",\"created_at\":");
    put_time(b, r->created_ms);
    PUTL(b, ",\"updated_at\":");
    put_time(b, r->updated_ms ? r->updated_ms : r->created_ms);
    PUTL(b, ",\"region\":");
    put_jstr(b, r->region);
    PUTL(b, ",\"region_name\":");
    put_jstr(b, region_name(s, r->region));
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
    PUTL(b, ",\"office\":");
    put_jstr(b, office);
    PUTL(b, ",\"office_name\":");
    put_office_name(b, s, office);
    if (r->office[0] != '\0')
        PUTL(b, ",\"office_assigned\":true");
    else
        PUTL(b, ",\"office_assigned\":false");
    if (partner[0] != '\0') {
        PUTL(b, ",\"cross_region\":{\"partner\":");
        put_jstr(b, partner);
        PUTL(b, ",\"partner_name\":");
        put_jstr(b, region_name(s, partner));
        PUTL(b, ",\"channel\":");
        put_jstr(b, strcmp(partner, "500000") == 0 ? "川渝跨区域协作" : "跨省协作");
        PUTL(b, "}");
    } else {
        PUTL(b, ",\"cross_region\":null");
    }
    PUTL(b, ",\"deadline\":");
    put_deadline(b, &d, r->status, label, ctx->today,
                 d.clock != ZQ_WF_CLOCK_NONE ? zq_staff_days_left(ctx, &d) : 0);
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
        v = jmember(r->answers_text, r->answers_len, "amount_fen", &vlen);
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
    if (with_answers) {
        size_t i = jws(r->answers_text, r->answers_len, 0), e = r->answers_len;
        /* The stored answers as they are: an object, or {} for anything
         * else, so that one bad record cannot break the line. */
        while (e > i && (r->answers_text[e - 1] == ' ' || r->answers_text[e - 1] == '\n'))
            e--;
        PUTL(b, ",\"answers\":");
        if (r->answers_text != NULL && e > i && r->answers_text[i] == '{' &&
            r->answers_text[e - 1] == '}' && jskip(r->answers_text, e, i) == e &&
            memchr(r->answers_text, '\n', r->answers_len) == NULL)
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

/* ---- audit and updates -------------------------------------------------- */

static zq_script update_script = {
    .src =
        "local p, id = ARGV[1], ARGV[2]\n"
        "local ck = p .. 'case:' .. id\n"
        "local cur = redis.call('HGET', ck, 'status')\n"
        "if not cur then return {'missing', ''} end\n"
        "if cur ~= ARGV[3] then return {'conflict', cur} end\n"
        "if ARGV[4] ~= '' and redis.call('LLEN', ck .. ':log') ~= tonumber(ARGV[4]) then\n"
        "  return {'conflict', cur}\n"
        "end\n"
        "local new, now = ARGV[5], ARGV[7]\n"
        "local h = redis.call('HMGET', ck, 'created_ms', 'form', 'source')\n"
        "local created = h[1] or now\n"
        "local fields = {'updated_ms', now}\n"
        "if new ~= '' and new ~= cur then\n"
        "  fields[#fields + 1] = 'status'\n"
        "  fields[#fields + 1] = new\n"
        "  redis.call('ZREM', p .. 'cases:status:' .. cur, id)\n"
        "  redis.call('ZADD', p .. 'cases:status:' .. new, created, id)\n"
        "end\n"
        "if ARGV[8] ~= '-' then\n"
        "  for i, f in ipairs({'due_kind', 'due_start', 'due_date', 'due_limit', 'due_ext'}) do\n"
        "    fields[#fields + 1] = f\n"
        "    fields[#fields + 1] = ARGV[7 + i]\n"
        "  end\n"
        "  if ARGV[13] == '' then redis.call('ZREM', p .. 'cases:due', id)\n"
        "  else redis.call('ZADD', p .. 'cases:due', ARGV[13], id) end\n"
        "end\n"
        "local nx = tonumber(ARGV[14])\n"
        "for i = 1, nx do\n"
        "  fields[#fields + 1] = ARGV[14 + 2 * i - 1]\n"
        "  fields[#fields + 1] = ARGV[14 + 2 * i]\n"
        "end\n"
        "local a = 15 + 2 * nx\n"
        "redis.call('HSET', ck, unpack(fields))\n" ZQ_SUMMARY_LUA_PACK_ROW "zq_pack_row(ck)\n"
        "if ARGV[6] ~= '' then redis.call('RPUSH', ck .. ':log', ARGV[6]) end\n"
        "if ARGV[a] == '1' then\n"
        "  redis.call('XADD', p .. 'events', 'MAXLEN', '~', '100000', '*', 'type', 'case_status',\n"
        "    'id', id, 'form', h[2] or '', 'from', cur, 'to', new, 'by', ARGV[a + 2],\n"
        "    'note', ARGV[a + 1], 'source', h[3] or '', 'at_ms', now)\n"
        "end\n"
        "redis.call('XADD', p .. 'audit', '*', 'at_ms', now, 'who', ARGV[a + 2], 'role',\n"
        "  ARGV[a + 3], 'action', ARGV[a + 4], 'target', id, 'addr', ARGV[a + 5],\n"
        "  'detail', ARGV[a + 6], 'rid', ARGV[a + 7])\n"
        "if ARGV[a + 8] ~= '' then\n"
        "  redis.call('SET', ARGV[a + 8], '1', 'EX', tonumber(ARGV[a + 9]))\n"
        "end\n"
        "return {'ok', cur}\n"};

static zq_script note_script = {
    .src = "local ck = ARGV[1] .. 'case:' .. ARGV[2]\n"
           "if redis.call('EXISTS', ck) == 0 then return -1 end\n"
           "if redis.call('LLEN', ck .. ':notes') >= tonumber(ARGV[4]) then return -2 end\n"
           "redis.call('RPUSH', ck .. ':notes', ARGV[3])\n"
           "redis.call('XADD', ARGV[1] .. 'audit', '*', 'at_ms', ARGV[5], 'who', ARGV[6],\n"
           "  'role', ARGV[7], 'action', ARGV[8], 'target', ARGV[2], 'addr', ARGV[9],\n"
           "  'detail', ARGV[10], 'rid', ARGV[11])\n"
           "if ARGV[12] ~= '' then\n"
           "  redis.call('SET', ARGV[12], ARGV[3], 'EX', tonumber(ARGV[13]))\n"
           "end\n"
           "return 1\n"};

/* The Redis key of an Idempotency-Key (staff.h), into out[IDEM_RKEY_MAX];
 * "" for no key. Returns 0 or -ZQ_EINVAL when it does not fit. */
#define IDEM_RKEY_MAX 320
static int idem_rkey(zq_store *st, const char *who, const char *action, const char *id,
                     const char *key, char *out)
{
    int n;

    out[0] = '\0';
    if (key == NULL)
        return 0;
    n = snprintf(out, IDEM_RKEY_MAX, "%sidem:staff:%s:%s:%s:%s", zq_store_prefix(st),
                 who ? who : "", action ? action : "", id, key);
    if (n < 0 || n >= IDEM_RKEY_MAX) {
        out[0] = '\0';
        return -ZQ_EINVAL;
    }
    return 0;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

int zq_audit_write(zq_store *st, const zq_audit *a, zq_err *err)
{
    char at[24];
    redisReply *r;
    int rc = 0;

    snprintf(at, sizeof(at), "%lld", (long long)(a->at_ms ? a->at_ms : zq_now_ms()));
    r = zq_store_command(st, err,
                         "XADD %saudit * at_ms %s who %s role %s action %s target %s addr %s "
                         "detail %s rid %s",
                         zq_store_prefix(st), at, nz(a->who), nz(a->role), nz(a->action),
                         nz(a->target), nz(a->addr), nz(a->detail), nz(a->rid));
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR)
        rc = zq_err_set(err, ZQ_EREPLY, "audit: %s", r->str);
    freeReplyObject(r);
    return rc;
}

int zq_staff_update(zq_store *st, const zq_case_update *u, char *cur, zq_err *err)
{
    const char *argv[64];
    char loglen[24] = "", now[24], start[ZQ_DATE_STRLEN] = "", due[ZQ_DATE_STRLEN] = "",
         limit[16] = "", score[16] = "", nx[16], ttl[16], rkey[IDEM_RKEY_MAX];
    char *entry = NULL;
    redisReply *r = NULL;
    zq_buf sum = {0};
    int argc = 0, nfields = 0, rc = 0;
    bool with_sum = false;

    if (u->expect_loglen >= 0)
        snprintf(loglen, sizeof(loglen), "%lld", u->expect_loglen);
    snprintf(now, sizeof(now), "%lld", (long long)u->now_ms);
    if (u->log_entry != NULL) {
        entry = json_dumps(u->log_entry, JSON_COMPACT);
        if (entry == NULL)
            return zq_err_set(err, ZQ_ENOMEM, "staff: cannot encode history entry");
    }
    argv[argc++] = zq_store_prefix(st);
    argv[argc++] = u->id;
    argv[argc++] = u->expect_status;
    argv[argc++] = loglen;
    argv[argc++] = u->new_status ? u->new_status : "";
    argv[argc++] = entry ? entry : "";
    argv[argc++] = now;
    if (u->due == NULL) {
        int i;
        for (i = 0; i < 6; i++)
            argv[argc++] = "-";
    } else {
        bool on = u->due->clock != ZQ_WF_CLOCK_NONE;
        if (on) {
            zq_date_format(u->due->start, start, sizeof(start));
            zq_date_format(u->due->due, due, sizeof(due));
            snprintf(limit, sizeof(limit), "%d", u->due->limit);
            snprintf(score, sizeof(score), "%lld", (long long)zq_wf_date_score(u->due->due));
        }
        argv[argc++] = zq_wf_clock_name(u->due->clock);
        argv[argc++] = start;
        argv[argc++] = due;
        argv[argc++] = limit;
        argv[argc++] = on && u->due->extended ? "1" : "";
        argv[argc++] = score;
    }
    while (u->fields != NULL && u->fields[2 * nfields] != NULL && nfields < 16)
        nfields++;
    /* A case stored without a list summary gets one (summary.h). */
    if (u->row != NULL && u->row->found && !u->row->has_summary && u->row->answers != NULL) {
        zq_summary s;
        zq_summary_from_answers(u->row->form, u->row->answers, &s);
        with_sum = zq_summary_pack(&s, &sum) == 0;
    }
    snprintf(nx, sizeof(nx), "%d", nfields + with_sum);
    argv[argc++] = nx;
    for (int i = 0; i < 2 * nfields; i++)
        argv[argc++] = u->fields[i] ? u->fields[i] : "";
    if (with_sum) {
        argv[argc++] = "list_sum";
        argv[argc++] = sum.data;
    }
    argv[argc++] = u->event ? "1" : "0";
    argv[argc++] = nz(u->public_note);
    argv[argc++] = nz(u->audit->who);
    argv[argc++] = nz(u->audit->role);
    argv[argc++] = nz(u->audit->action);
    argv[argc++] = nz(u->audit->addr);
    argv[argc++] = nz(u->audit->detail);
    argv[argc++] = nz(u->audit->rid);
    if (idem_rkey(st, u->audit->who, u->audit->action, u->id, u->idem_key, rkey) < 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "staff: idempotency key too long");
        goto out;
    }
    snprintf(ttl, sizeof(ttl), "%d", ZQ_STAFF_IDEM_TTL_S);
    argv[argc++] = rkey;
    argv[argc++] = ttl;
    r = zq_store_script(st, err, &update_script, 0, argc, argv, NULL);
    if (r == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (zq_store_reply_unavailable(r)) {
        rc = zq_err_set(err, ZQ_EUNAVAIL, "staff: redis refuses writes: %s", r->str);
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        rc = zq_err_set(err, ZQ_EREPLY, "staff: update failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    if (cur != NULL)
        copy_str(cur, 24, r->element[1]);
    if (strcmp(r->element[0]->str, "missing") == 0)
        rc = zq_err_set(err, ZQ_ENOTFOUND, "case %s not found", u->id);
    else if (strcmp(r->element[0]->str, "conflict") == 0)
        rc = zq_err_set(err, ZQ_ECONFLICT, "case %s changed meanwhile", u->id);
    else
        rc = zq_store_wait(st, err); /* acknowledged once a replica has it */
out:
    if (r != NULL)
        freeReplyObject(r);
    zq_buf_free(&sum);
    free(entry);
    return rc;
}

int zq_staff_add_note(zq_store *st, const char *id, const char *note_json, const zq_audit *a,
                      const char *idem_key, zq_err *err)
{
    char max[16], at[24], ttl[16], rkey[IDEM_RKEY_MAX];
    const char *argv[13];
    redisReply *r;
    int rc = 0;

    if (idem_rkey(st, a->who, a->action, id, idem_key, rkey) < 0)
        return zq_err_set(err, ZQ_EINVAL, "staff: idempotency key too long");
    snprintf(ttl, sizeof(ttl), "%d", ZQ_STAFF_IDEM_TTL_S);

    snprintf(max, sizeof(max), "%d", ZQ_STAFF_NOTES_MAX);
    snprintf(at, sizeof(at), "%lld", (long long)(a->at_ms ? a->at_ms : zq_now_ms()));
    argv[0] = zq_store_prefix(st);
    argv[1] = id;
    argv[2] = note_json;
    argv[3] = max;
    argv[4] = at;
    argv[5] = nz(a->who);
    argv[6] = nz(a->role);
    argv[7] = nz(a->action);
    argv[8] = nz(a->addr);
    argv[9] = nz(a->detail);
    argv[10] = nz(a->rid);
    argv[11] = rkey;
    argv[12] = ttl;
    r = zq_store_script(st, err, &note_script, 0, 13, argv, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (zq_store_reply_unavailable(r))
        rc = zq_err_set(err, ZQ_EUNAVAIL, "staff: redis refuses writes: %s", r->str);
    else if (r->type != REDIS_REPLY_INTEGER)
        rc = zq_err_set(err, ZQ_EREPLY, "staff: note failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    else if (r->integer == -1)
        rc = zq_err_set(err, ZQ_ENOTFOUND, "case %s not found", id);
    else if (r->integer == -2)
        rc = zq_err_set(err, ZQ_ETOOBIG, "case %s has too many notes", id);
    freeReplyObject(r);
    if (rc == 0)
        rc = zq_store_wait(st, err);
    return rc;
}

int zq_staff_idem_find(zq_store *st, const char *who, const char *action, const char *id,
                       const char *key, char **val, zq_err *err)
{
    char rkey[IDEM_RKEY_MAX];
    redisReply *r;
    int rc = 0;

    if (val != NULL)
        *val = NULL;
    if (key == NULL || idem_rkey(st, who, action, id, key, rkey) < 0)
        return zq_err_set(err, ZQ_EINVAL, "staff: bad idempotency key");
    r = zq_store_command(st, err, "GET %s", rkey);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_STRING) {
        rc = 1;
        if (val != NULL) {
            *val = strndup(r->str, r->len);
            if (*val == NULL)
                rc = zq_err_set(err, ZQ_ENOMEM, "staff: out of memory");
        }
    } else if (r->type == REDIS_REPLY_ERROR) {
        rc = zq_err_set(err, ZQ_EUNAVAIL, "staff: idempotency lookup: %s", r->str);
    }
    freeReplyObject(r);
    return rc;
}

int zq_staff_load_list(zq_store *st, const char *id, const char *which, long max, json_t **out,
                       zq_err *err)
{
    redisReply *r;
    size_t i;

    *out = NULL;
    r = zq_store_command(st, err, "LRANGE %scase:%s:%s 0 %ld", zq_store_prefix(st), id, which,
                         max - 1);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    *out = json_array();
    if (r->type == REDIS_REPLY_ARRAY)
        for (i = 0; i < r->elements; i++) {
            json_t *e = json_loadb(r->element[i]->str, r->element[i]->len, 0, NULL);
            if (e != NULL)
                json_array_append_new(*out, e);
        }
    freeReplyObject(r);
    return 0;
}

/* ctx with a memo: the caller's, or own (zeroed) when it has none. */
static zq_staff_ctx with_memo(const zq_staff_ctx *in, zq_staff_memo *own)
{
    zq_staff_ctx c = *in;

    if (c.memo == NULL)
        c.memo = own;
    return c;
}

/* ---- export ----------------------------------------------------------- */

/* The answer columns: the fields of the forms exported, in form order,
 * each id once; field[k] is the column's field in the k-th form (NULL
 * when that form has no such field), looked up once per export. */
#define MAX_FORMS 8
typedef struct column {
    const char *id;
    const char *label;
    const zq_field *field[MAX_FORMS];
} column;

static size_t answer_columns(const zq_schema *s, const char *type, column *cols, size_t max)
{
    size_t nf = s ? zq_schema_nforms(s) : 0, n = 0, i, j, k, c;

    for (i = 0; i < nf; i++) {
        const zq_form *f = zq_schema_form_at(s, i);
        if (type[0] != '\0' && strcmp(type, f->id) != 0)
            continue;
        for (j = 0; j < f->nsteps; j++)
            for (k = 0; k < f->steps[j].nfields; k++) {
                const zq_field *fd = &f->steps[j].fields[k];
                bool seen = false;
                for (c = 0; c < n && !seen; c++)
                    seen = strcmp(cols[c].id, fd->id) == 0;
                if (!seen && n < max) {
                    memset(&cols[n], 0, sizeof(cols[n]));
                    cols[n].id = fd->id;
                    cols[n].label = fd->label;
                    n++;
                }
            }
    }
    for (c = 0; c < n; c++)
        for (i = 0; i < nf && i < MAX_FORMS; i++)
            cols[c].field[i] = zq_form_field(zq_schema_form_at(s, i), cols[c].id, NULL);
    return n;
}

/* The top-level members of a JSON object text, found in one pass. */
#define MAX_MEMBERS 128
typedef struct members {
    const char *key[MAX_MEMBERS], *val[MAX_MEMBERS];
    size_t klen[MAX_MEMBERS], vlen[MAX_MEMBERS];
    size_t n;
} members;

static void index_members(const char *s, size_t n, members *m)
{
    size_t i = jws(s, n, 0);

    m->n = 0;
    if (s == NULL || i >= n || s[i] != '{')
        return;
    i++;
    while (m->n < MAX_MEMBERS) {
        size_t ke, vs, ve;

        i = jws(s, n, i);
        if (i >= n || s[i] != '"')
            return;
        ke = jskip(s, n, i);
        if (ke > n)
            return;
        m->key[m->n] = s + i + 1;
        m->klen[m->n] = ke - i - 2;
        i = jws(s, n, ke);
        if (i >= n || s[i] != ':')
            return;
        vs = jws(s, n, i + 1);
        ve = jskip(s, n, vs);
        if (ve > n)
            return;
        m->val[m->n] = s + vs;
        m->vlen[m->n] = ve - vs;
        m->n++;
        i = jws(s, n, ve);
        if (i >= n || s[i] != ',')
            return;
        i++;
    }
}

static const char *member(const members *m, const char *key, size_t *vlen)
{
    size_t klen = strlen(key), i;

    for (i = 0; i < m->n; i++)
        if (m->klen[i] == klen && memcmp(m->key[i], key, klen) == 0) {
            *vlen = m->vlen[i];
            return m->val[i];
        }
    return NULL;
}

/* A value for a spreadsheet, from its JSON text: money as plain yuan
 * ("123456.78"), enums by label, regions by name, booleans 是/否, text as
 * it is. Appends one CSV field. scratch holds decoded strings. */
static void csv_answer(zq_buf *b, const zq_schema *s, const zq_field *fd, const char *v,
                       size_t vlen, char *scratch, size_t scratchsz)
{
    char num[40];
    size_t i;

    if (v == NULL || vlen == 0 || (vlen == 4 && memcmp(v, "null", 4) == 0)) {
        zq_csv_field(b, false, NULL, 0);
        return;
    }
    if (v[0] == '"') {
        jdecode(v, vlen, scratch, scratchsz);
        if (fd != NULL && fd->type == ZQ_FIELD_ENUM)
            for (i = 0; i < fd->noptions; i++)
                if (strcmp(fd->options[i].value, scratch) == 0) {
                    zq_csv_str(b, false, fd->options[i].label);
                    return;
                }
        if (fd != NULL && fd->type == ZQ_FIELD_REGION) {
            const zq_region *r = s ? zq_schema_region(s, scratch) : NULL;
            if (r != NULL) {
                zq_csv_str(b, false, r->name);
                return;
            }
        }
        zq_csv_str(b, false, scratch);
        return;
    }
    if (vlen == 4 && memcmp(v, "true", 4) == 0) {
        zq_csv_str(b, false, "是");
        return;
    }
    if (vlen == 5 && memcmp(v, "false", 5) == 0) {
        zq_csv_str(b, false, "否");
        return;
    }
    if (fd != NULL && fd->type == ZQ_FIELD_MONEY && vlen < 20 && strspn(v, "0123456789") == vlen) {
        long long fen = 0;
        if (zq_parse_ll(v, vlen, 0, INT64_MAX, &fen) == 0) {
            snprintf(num, sizeof(num), "%lld.%02lld", fen / 100, fen % 100);
            zq_csv_str(b, false, num);
            return;
        }
    }
    zq_csv_field(b, false, v, vlen);
}

static const char *const csv_head[] = {
    "案件编号", "类型",       "状态",     "提交时间",   "最近更新", "来源",     "承办人",
    "承办单位", "跨区域协作", "当前期限", "期限截止日", "剩余天数", "是否逾期", "疑似重复",
};

static void csv_header(zq_buf *b, const column *cols, size_t ncols)
{
    size_t i;

    zq_buf_append(b, ZQ_CSV_BOM, ZQ_CSV_BOM_LEN);
    for (i = 0; i < ZQ_ARRAY_LEN(csv_head); i++)
        zq_csv_str(b, i == 0, csv_head[i]);
    for (i = 0; i < ncols; i++)
        zq_csv_str(b, false, cols[i].label);
    zq_csv_end_row(b);
}

/* The index of a form in the schema, or -1. */
static int form_index(const zq_schema *s, const char *form)
{
    size_t i, n = s ? zq_schema_nforms(s) : 0;

    for (i = 0; i < n && i < MAX_FORMS; i++)
        if (strcmp(zq_schema_form_at(s, i)->id, form) == 0)
            return (int)i;
    return -1;
}

static void csv_row(zq_buf *b, const zq_staff_ctx *ctx, const zq_case_row *r, const column *cols,
                    size_t ncols, members *m, char *scratch, size_t scratchsz)
{
    const zq_schema *s = ctx->schema;
    int fi = form_index(s, r->form);
    char created[32], updated[32], office[8], partner[8], obuf[160], due[ZQ_DATE_STRLEN], left[48];
    zq_deadline d;
    size_t i;

    zq_time_iso(r->created_ms, created);
    zq_time_iso(r->updated_ms ? r->updated_ms : r->created_ms, updated);
    if (r->office[0] != '\0') {
        snprintf(office, sizeof(office), "%s", r->office);
        snprintf(partner, sizeof(partner), "%s", r->cross_region);
    } else {
        row_default_office(r, office, partner);
    }
    zq_staff_row_deadline(ctx, r, &d);
    zq_csv_str(b, true, r->id);
    zq_csv_str(b, false, form_title(s, r->form));
    zq_csv_str(b, false, status_label(r->form, r->status));
    zq_csv_str(b, false, created);
    zq_csv_str(b, false, updated);
    zq_csv_str(b, false, strncmp(r->source, "chat:", 5) == 0 ? "聊天机器人" : "网页");
    zq_csv_str(b, false, r->handler);
    zq_csv_str(b, false, zq_staff_office_name(s, office, obuf, sizeof(obuf)));
    zq_csv_str(b, false, partner[0] ? region_name(s, partner) : "");
    if (d.clock != ZQ_WF_CLOCK_NONE) {
        int l = zq_staff_days_left(ctx, &d);
        zq_csv_str(b, false, zq_wf_clock_label(d.clock));
        zq_csv_str(b, false, zq_date_format(d.due, due, sizeof(due)));
        /* Words, not a signed number: a leading '-' would be neutralised. */
        if (l >= 0)
            snprintf(left, sizeof(left), "剩余 %d %s", l, d.workdays ? "个工作日" : "天");
        else
            snprintf(left, sizeof(left), "逾期 %d %s", -l, d.workdays ? "个工作日" : "天");
        zq_csv_str(b, false, left);
        zq_csv_str(b, false, l < 0 ? "是" : "否");
    } else {
        for (i = 0; i < 4; i++)
            zq_csv_field(b, false, NULL, 0);
    }
    zq_csv_str(b, false, r->dup_of);
    index_members(r->answers_text, r->answers_len, m);
    for (i = 0; i < ncols; i++) {
        const zq_field *fd = fi >= 0 ? cols[i].field[fi] : NULL;
        size_t vlen = 0;
        const char *v = fd != NULL ? member(m, cols[i].id, &vlen) : NULL;
        csv_answer(b, s, fd, v, vlen, scratch, scratchsz); /* another form's column: empty */
    }
    zq_csv_end_row(b);
}

static int jsonl_row(zq_buf *b, const zq_staff_ctx *ctx, const zq_case_row *r)
{
    int rc = zq_staff_row_write(b, ctx, r, false, true);

    zq_buf_append(b, "\n", 1);
    return rc < 0 || b->oom ? -ZQ_ENOMEM : 0;
}

int zq_staff_export(zq_store *st, const zq_staff_ctx *ctx_in, const zq_case_filter *f,
                    zq_export_format fmt, const zq_export_sink *sink, long long *rows, zq_err *err)
{
    zq_staff_memo memo_own = {{{0}}};
    zq_staff_ctx ctx_own = with_memo(ctx_in, &memo_own);
    const zq_staff_ctx *ctx = &ctx_own;
    char(*ids)[ZQ_CASE_ID_MAX] = malloc(SCAN_BATCH * sizeof(*ids));
    zq_case_row *rowv = calloc(SCAN_BATCH, sizeof(*rowv));
    column *cols = calloc(256, sizeof(*cols));
    members *mem = malloc(sizeof(*mem));
    char *scratch = malloc(SCRATCH);
    size_t ncols = cols ? answer_columns(ctx->schema, f->type, cols, 256) : 0;
    zq_cursor cur = {0};
    zq_buf b = {0};
    bool done = false, begun = false;
    int n, i, rc = 0;

    *rows = 0;
    if (ids == NULL || rowv == NULL || cols == NULL || mem == NULL || scratch == NULL ||
        zq_buf_reserve(&b, CHUNK + 8192) < 0) {
        rc = zq_err_set(err, ZQ_ENOMEM, "export: out of memory");
        goto out;
    }
    while (!done) {
        rc = zq_staff_scan(st, ctx, f, &cur, SCAN_BATCH, SCAN_BUDGET * 5, ZQ_SCAN_ANSWERS, ids,
                           rowv, &n, &done, err);
        if (rc < 0)
            break;
        if (!begun) {
            begun = true;
            if (sink->begin != NULL && (rc = sink->begin(sink->ctx)) < 0)
                goto clear;
            if (fmt == ZQ_EXPORT_CSV)
                csv_header(&b, cols, ncols);
        }
        for (i = 0; i < n; i++) {
            if (!rowv[i].found)
                continue; /* deleted between the scan and the read */
            if (fmt == ZQ_EXPORT_CSV)
                csv_row(&b, ctx, &rowv[i], cols, ncols, mem, scratch, SCRATCH);
            else
                jsonl_row(&b, ctx, &rowv[i]);
            (*rows)++;
            if (b.len >= CHUNK) {
                if (b.oom || (rc = sink->write(sink->ctx, b.data, b.len)) < 0)
                    goto clear;
                zq_buf_reset(&b);
            }
        }
    clear:
        for (i = 0; i < n; i++)
            zq_case_row_clear(&rowv[i]);
        if (rc < 0)
            goto out;
    }
    if (rc < 0 && !begun)
        goto out; /* nothing sent: the caller answers 503 */
    if (!begun) {
        if (sink->begin != NULL && (rc = sink->begin(sink->ctx)) < 0)
            goto out;
        if (fmt == ZQ_EXPORT_CSV)
            csv_header(&b, cols, ncols);
    }
    if (rc < 0) {
        ZQ_ERROR("event=export_interrupted rows=%lld err=\"%s\"", *rows, err ? err->msg : "");
        if (fmt == ZQ_EXPORT_CSV)
            zq_buf_puts(&b, "导出中断：读取数据失败，本文件不完整，请重新导出。\r\n");
        else
            zq_buf_puts(&b, "{\"error\":{\"code\":\"export_interrupted\",\"message\":"
                            "\"导出中断：读取数据失败，本文件不完整，请重新导出。\"}}\n");
    }
    if (b.len > 0) {
        int wrc = sink->write(sink->ctx, b.data, b.len);
        if (rc == 0)
            rc = wrc;
    }
out:
    zq_buf_free(&b);
    free(ids);
    free(rowv);
    free(cols);
    free(mem);
    free(scratch);
    return rc;
}

/* ---- statistics ---------------------------------------------------------- */

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Counter maps as JSON objects of integers. */
static void bump(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL)
        json_object_set_new(obj, key, json_integer(1));
    else
        json_integer_set(v, json_integer_value(v) + 1);
}

typedef struct answer_acc {
    long long *ms; /* submission-to-answer durations */
    size_t n, cap;
    long long with_limit, on_time;
} answer_acc;

static void acc_add(answer_acc *a, long long ms)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        long long *p = realloc(a->ms, cap * sizeof(*p));
        if (p == NULL)
            return;
        a->ms = p;
        a->cap = cap;
    }
    a->ms[a->n++] = ms;
}

static json_t *acc_json(answer_acc *a)
{
    json_t *median = json_null(), *share = json_null();

    if (a->n > 0) {
        double m;
        qsort(a->ms, a->n, sizeof(*a->ms), cmp_ll);
        m = a->n % 2 ? (double)a->ms[a->n / 2]
                     : ((double)a->ms[a->n / 2 - 1] + (double)a->ms[a->n / 2]) / 2.0;
        median = json_real((double)(long long)(m / 86400000.0 * 10.0 + 0.5) / 10.0);
    }
    if (a->with_limit > 0)
        share = json_real(
            (double)(long long)((double)a->on_time / (double)a->with_limit * 1000.0 + 0.5) /
            1000.0);
    return json_pack("{s:I, s:o, s:I, s:I, s:o}", "answered", (json_int_t)a->n, "median_days",
                     median, "with_limit", (json_int_t)a->with_limit, "on_time",
                     (json_int_t)a->on_time, "on_time_share", share);
}

/* {"key": n} -> [{"<kname>": key, "label": ..., "count": n}] in key order. */
static json_t *count_list(json_t *obj, const char *kname, const zq_staff_ctx *ctx, int kind)
{
    const char *keys[512];
    const char *k;
    json_t *v, *out = json_array();
    size_t n = 0, i, j;

    json_object_foreach(obj, k, v)
    {
        if (n < ZQ_ARRAY_LEN(keys))
            keys[n++] = k;
    }
    for (i = 1; i < n; i++) /* insertion sort: a few dozen keys */
        for (j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    for (i = 0; i < n; i++) {
        json_t *e = json_pack("{s:s, s:I}", kname, keys[i], "count",
                              (json_int_t)json_integer_value(json_object_get(obj, keys[i])));
        if (kind == 1)
            json_object_set_new(e, "label", json_string(form_title(ctx->schema, keys[i])));
        else if (kind == 2)
            json_object_set_new(e, "label", json_string(zq_case_status_label(keys[i])));
        else if (kind == 3)
            json_object_set_new(e, "label", json_string(region_name(ctx->schema, keys[i])));
        json_array_append_new(out, e);
    }
    return out;
}

int zq_staff_stats(zq_store *st, const zq_staff_ctx *ctx_in, const zq_case_filter *f, json_t **out,
                   zq_err *err)
{
    zq_staff_memo memo_own = {{{0}}};
    zq_staff_ctx ctx_own = with_memo(ctx_in, &memo_own);
    const zq_staff_ctx *ctx = &ctx_own;
    char(*ids)[ZQ_CASE_ID_MAX] = malloc(SCAN_BATCH * sizeof(*ids));
    zq_case_row *rowv = calloc(SCAN_BATCH, sizeof(*rowv));
    json_t *types = json_object(), *statuses = json_object(), *regions = json_object(),
           *months = json_object(), *by_type_answer = json_object();
    answer_acc all = {0}, per[8];
    const char *per_name[8];
    size_t nper = 0, k;
    zq_cursor cur = {0};
    bool done = false;
    long long total = 0, overdue = 0;
    int n, i, rc = 0;

    *out = NULL;
    memset(per, 0, sizeof(per));
    if (ids == NULL || rowv == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "stats: out of memory");
        goto out;
    }
    while (!done && rc == 0) {
        rc = zq_staff_scan(st, ctx, f, &cur, SCAN_BATCH, SCAN_BUDGET * 5, ZQ_SCAN_ROWS, ids, rowv,
                           &n, &done, err);
        if (rc < 0)
            break;
        for (i = 0; i < n; i++) {
            zq_case_row *r = &rowv[i];
            char month[8], iso[32];
            zq_deadline d;

            if (!r->found)
                continue;
            total++;
            bump(types, r->form);
            bump(statuses, r->status);
            bump(regions, r->region[0] ? r->region : "none");
            zq_time_iso(r->created_ms, iso);
            snprintf(month, sizeof(month), "%.7s", iso);
            bump(months, month);
            zq_staff_row_deadline(ctx, r, &d);
            if (d.clock != ZQ_WF_CLOCK_NONE && zq_date_cmp(ctx->today, d.due) > 0)
                overdue++;
            if (r->answered_ms > 0) {
                answer_acc *a = NULL;
                for (k = 0; k < nper && a == NULL; k++)
                    if (strcmp(per_name[k], r->form) == 0)
                        a = &per[k];
                if (a == NULL && nper < ZQ_ARRAY_LEN(per)) {
                    const zq_wf_machine *m = zq_wf_machine_for(r->form);
                    per_name[nper] = m ? m->form : "other";
                    a = &per[nper++];
                }
                acc_add(&all, r->answered_ms - r->created_ms);
                if (a != NULL)
                    acc_add(a, r->answered_ms - r->created_ms);
                if (r->answered_on_time[0] != '\0') {
                    bool ok = r->answered_on_time[0] == '1';
                    all.with_limit++;
                    all.on_time += ok;
                    if (a != NULL) {
                        a->with_limit++;
                        a->on_time += ok;
                    }
                }
            }
        }
    }
    if (rc < 0)
        goto out;
    for (k = 0; k < nper; k++)
        json_object_set_new(by_type_answer, per_name[k], acc_json(&per[k]));
    *out = json_pack(
        "{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "total", (json_int_t)total, "overdue_open",
        (json_int_t)overdue, "by_type", count_list(types, "type", ctx, 1), "by_status",
        count_list(statuses, "status", ctx, 2), "by_region", count_list(regions, "region", ctx, 3),
        "by_month", count_list(months, "month", ctx, 0), "answer", acc_json(&all), "answer_by_type",
        by_type_answer);
    by_type_answer = NULL;
    if (*out == NULL)
        rc = zq_err_set(err, ZQ_ENOMEM, "stats: out of memory");
out:
    json_decref(types);
    json_decref(statuses);
    json_decref(regions);
    json_decref(months);
    json_decref(by_type_answer);
    free(all.ms);
    for (k = 0; k < ZQ_ARRAY_LEN(per); k++)
        free(per[k].ms);
    free(ids);
    free(rowv);
    return rc;
}

/* ---- the morning digest --------------------------------------------------- */

typedef struct digest_item {
    zq_case_row row;
    zq_deadline d;
    int left;
    char office[8];
    char partner[8];
} digest_item;

static int cmp_item(const void *a, const void *b)
{
    const digest_item *x = a, *y = b;
    bool xc = strcmp(x->office, "510000") == 0, yc = strcmp(y->office, "510000") == 0;
    int c;

    if (xc != yc)
        return xc - yc; /* the cross-region desk last */
    c = strcmp(x->office, y->office);
    if (c != 0)
        return c;
    c = zq_date_cmp(x->d.due, y->d.due);
    return c != 0 ? c : strcmp(x->row.id, y->row.id);
}

/* Adds the ids of a reply array to ids (deduplicated), up to max. */
static void add_ids(const redisReply *r, char (*ids)[ZQ_CASE_ID_MAX], int *n, int max)
{
    size_t i;
    int j;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return;
    for (i = 0; i < r->elements && *n < max; i++) {
        const redisReply *e = r->element[i];
        bool seen = false;
        if (e->type != REDIS_REPLY_STRING || e->len >= ZQ_CASE_ID_MAX)
            continue;
        for (j = 0; j < *n && !seen; j++)
            seen = strncmp(ids[j], e->str, ZQ_CASE_ID_MAX) == 0;
        if (!seen)
            snprintf(ids[(*n)++], ZQ_CASE_ID_MAX, "%.*s", (int)e->len, e->str);
    }
}

int zq_staff_digest(zq_store *st, const zq_staff_ctx *ctx_in, int within, json_t **out, zq_err *err)
{
    zq_staff_memo memo_own = {{{0}}};
    zq_staff_ctx ctx_own = with_memo(ctx_in, &memo_own);
    const zq_staff_ctx *ctx = &ctx_own;
    const char *p = zq_store_prefix(st);
    zq_date limit = zq_cal_add_workdays(ctx->cal, ctx->today, within);
    zq_date cut = zq_wf_review_cutoff(ctx->cal, &ctx->lim, limit);
    char(*ids)[ZQ_CASE_ID_MAX] = malloc(DIGEST_MAX * sizeof(*ids));
    digest_item *items = calloc(DIGEST_MAX, sizeof(*items));
    zq_case_row *rowv = calloc(DIGEST_MAX, sizeof(*rowv));
    redisReply *rep[2] = {NULL, NULL};
    json_t *offices = json_array(), *cur_office = NULL;
    char date[ZQ_DATE_STRLEN], prev[8] = "";
    int n = 0, ni = 0, i, rc = 0;
    long long nover = 0, nsoon = 0;

    *out = NULL;
    if (ids == NULL || items == NULL || rowv == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "digest: out of memory");
        goto out;
    }
    zq_store_append(st, "ZRANGEBYSCORE %scases:due -inf %lld LIMIT 0 %d", p,
                    (long long)zq_wf_date_score(limit), DIGEST_MAX);
    zq_store_append(st, "ZRANGEBYSCORE %scases:status:submitted -inf (%lld LIMIT 0 %d", p,
                    zq_date_valid(cut) ? (long long)zq_staff_day_start_ms(zq_date_add_days(cut, 1))
                                       : 0LL,
                    DIGEST_MAX);
    if (zq_store_read_replies(st, err, 2, rep) < 0) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    add_ids(rep[0], ids, &n, DIGEST_MAX);
    add_ids(rep[1], ids, &n, DIGEST_MAX);
    rc = zq_staff_fetch_rows(st, ids, n, true, rowv, err);
    if (rc < 0)
        goto out;
    for (i = 0; i < n; i++) {
        digest_item *it = &items[ni];
        zq_staff_row_deadline(ctx, &rowv[i], &it->d);
        if (!rowv[i].found || it->d.clock == ZQ_WF_CLOCK_NONE ||
            zq_date_cmp(it->d.due, limit) > 0) {
            zq_case_row_clear(&rowv[i]);
            continue;
        }
        it->row = rowv[i];
        rowv[i].answers = NULL; /* moved into the item */
        rowv[i].answers_text = NULL;
        rowv[i].summary_text = NULL;
        it->left = zq_staff_days_left(ctx, &it->d);
        if (it->row.office[0] != '\0') {
            snprintf(it->office, sizeof(it->office), "%s", it->row.office);
            snprintf(it->partner, sizeof(it->partner), "%s", it->row.cross_region);
        } else {
            zq_wf_default_office(it->row.form, it->row.answers, it->office, it->partner);
        }
        ni++;
    }
    qsort(items, (size_t)ni, sizeof(*items), cmp_item);
    for (i = 0; i < ni; i++) {
        digest_item *it = &items[i];
        bool over = zq_date_cmp(ctx->today, it->d.due) > 0;
        char due[ZQ_DATE_STRLEN], obuf[160];
        json_t *c;

        if (cur_office == NULL || strcmp(prev, it->office) != 0) {
            cur_office =
                json_pack("{s:s, s:s, s:[], s:[]}", "office", it->office, "office_name",
                          zq_staff_office_name(ctx->schema, it->office, obuf, sizeof(obuf)),
                          "overdue", "due_soon");
            json_array_append_new(offices, cur_office);
            snprintf(prev, sizeof(prev), "%s", it->office);
        }
        c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:o}", "id", it->row.id,
                      "type", it->row.form, "status", it->row.status, "status_label",
                      status_label(it->row.form, it->row.status), "what",
                      zq_wf_clock_label(it->d.clock), "due",
                      zq_date_format(it->d.due, due, sizeof(due)), "days_left", it->left, "unit",
                      it->d.workdays ? "workdays" : "days", "handler", it->row.handler,
                      "company_name", answer_str(it->row.answers, "company_name"), "cross_region",
                      cross_region_json(ctx->schema, it->partner));
        json_array_append_new(json_object_get(cur_office, over ? "overdue" : "due_soon"), c);
        if (over)
            nover++;
        else
            nsoon++;
    }
    *out = json_pack("{s:s, s:i, s:I, s:I, s:o}", "date",
                     zq_date_format(ctx->today, date, sizeof(date)), "within_workdays", within,
                     "total_overdue", (json_int_t)nover, "total_due_soon", (json_int_t)nsoon,
                     "offices", offices);
    offices = NULL;
out:
    for (i = 0; i < 2; i++)
        if (rep[i] != NULL)
            freeReplyObject(rep[i]);
    if (items != NULL)
        for (i = 0; i < ni; i++)
            zq_case_row_clear(&items[i].row);
    if (rowv != NULL)
        for (i = 0; i < n; i++)
            zq_case_row_clear(&rowv[i]);
    json_decref(offices);
    free(ids);
    free(items);
    free(rowv);
    return rc;
}

static void digest_lines(zq_buf *b, json_t *list, const char *title)
{
    json_t *c;
    size_t i;

    if (json_array_size(list) == 0)
        return;
    zq_buf_printf(b, "  %s %zu 件：\n", title, json_array_size(list));
    json_array_foreach(list, i, c)
    {
        long long left = json_integer_value(json_object_get(c, "days_left"));
        bool wd = strcmp(json_string_value(json_object_get(c, "unit")), "workdays") == 0;
        const char *handler = json_string_value(json_object_get(c, "handler"));

        zq_buf_printf(b, "  - %s %s（%s）%s %s，", json_string_value(json_object_get(c, "id")),
                      json_string_value(json_object_get(c, "company_name")),
                      json_string_value(json_object_get(c, "status_label")),
                      json_string_value(json_object_get(c, "what")),
                      json_string_value(json_object_get(c, "due")));
        if (left < 0)
            zq_buf_printf(b, "已逾期 %lld %s", -left, wd ? "个工作日" : "天");
        else if (left == 0)
            zq_buf_puts(b, "今天到期");
        else
            zq_buf_printf(b, "剩余 %lld %s", left, wd ? "个工作日" : "天");
        if (handler != NULL && *handler != '\0')
            zq_buf_printf(b, "，承办人 %s", handler);
        zq_buf_puts(b, "\n");
    }
}

char *zq_staff_digest_text(const json_t *digest)
{
    json_t *offices = json_object_get(digest, "offices"), *o;
    const char *date = json_string_value(json_object_get(digest, "date"));
    zq_buf b = {0};
    size_t i;

    zq_buf_printf(&b, "【办件期限提醒】%s\n", date ? date : "");
    if (json_array_size(offices) == 0) {
        zq_buf_puts(&b, "今天没有逾期或即将到期的案件。\n");
        return zq_buf_steal(&b);
    }
    zq_buf_printf(&b, "逾期 %lld 件，%lld 个工作日内到期 %lld 件。\n",
                  (long long)json_integer_value(json_object_get(digest, "total_overdue")),
                  (long long)json_integer_value(json_object_get(digest, "within_workdays")),
                  (long long)json_integer_value(json_object_get(digest, "total_due_soon")));
    json_array_foreach(offices, i, o)
    {
        zq_buf_printf(&b, "\n%s\n", json_string_value(json_object_get(o, "office_name")));
        digest_lines(&b, json_object_get(o, "overdue"), "已逾期");
        digest_lines(&b, json_object_get(o, "due_soon"), "即将到期");
    }
    if (b.oom) {
        zq_buf_free(&b);
        return NULL;
    }
    return zq_buf_steal(&b);
}

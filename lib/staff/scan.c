/* The list scan: a Lua script that walks one index newest first and
 * checks the other filters per case, within a budget so that Redis is
 * never blocked long; the list page then reads its rows from their packs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staff_int.h"

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
 * (_ANSWERS). For a list page (ZQ_SCAN_LIST) ids is empty and rows is
 * one pack (zq_store_unpack) of id, list_row, list_sum and updated_ms per
 * case: a page of 50 is then one reply object, not 250. */
static zq_script scan_script = {
    .src = ZQ_STORE_LUA_PACK
    "local p = ARGV[1]\n"
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
    "local ids, rows, pack = {}, {}, {}\n"
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
    "      if want == 3 then\n"
    "        local h = redis.call('HMGET', p .. 'case:' .. id, 'list_row', 'list_sum',\n"
    "          'updated_ms')\n"
    "        zq_pack(pack, id)\n"
    "        zq_pack(pack, h[1])\n"
    "        zq_pack(pack, h[2])\n"
    "        zq_pack(pack, h[3])\n"
    "      elseif want > 0 then\n"
    "        rows[#rows + 1] = redis.call('HMGET', p .. 'case:' .. id, unpack(fields))\n"
    "      end\n"
    "      if #ids >= limit then break end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if start >= stop then done = 1 end\n"
    "local ls = cs\n"
    "if lid then ls = redis.call('ZSCORE', key, lid) else lid = cid end\n"
    "if want == 3 then return {{}, ls, lid, done, scanned, table.concat(pack)} end\n"
    "return {ids, ls, lid, done, scanned, rows}\n"};

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

/* zq_staff_scan; a list page's reply is kept in page when it has room
 * (page may be NULL), and the rows' summaries then point into it. */
static int scan(zq_store *st, const zq_staff_ctx *ctx, const zq_case_filter *f, zq_cursor *cur,
                int limit, int budget, int want, char (*ids)[ZQ_CASE_ID_MAX],
                struct zq_case_row *rows, int *n, bool *done, zq_staff_page *page, zq_err *err)
{
    char cs[24] = "", lim[16], bud[16], from[24] = "", to[24] = "", today[16], cutoff[24],
         implicit[128], k_type[64], k_status[64], k_region[64], wants[4];
    const char *argv[20];
    redisReply *r;
    zq_date cut;
    int argc = 0, rc = 0, bad = 0, *slow = NULL;
    bool hold = false;
    size_t i;

    *n = 0;
    *done = false;
    if (rows == NULL)
        want = ZQ_SCAN_IDS;
    if (want == ZQ_SCAN_LIST &&
        (slow = malloc((size_t)(limit > 0 ? limit : 1) * sizeof(*slow))) == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "staff: out of memory");
    if (cur->set)
        bad |= zq_fmt(cs, sizeof(cs), "%lld", (long long)cur->score);
    bad |= zq_fmt(lim, sizeof(lim), "%d", limit);
    bad |= zq_fmt(bud, sizeof(bud), "%d", budget);
    if (f->from_ms > 0)
        bad |= zq_fmt(from, sizeof(from), "%lld", (long long)f->from_ms);
    if (f->to_ms > 0)
        bad |= zq_fmt(to, sizeof(to), "(%lld", (long long)f->to_ms);
    bad |= zq_fmt(today, sizeof(today), "%lld", (long long)zq_wf_date_score(ctx->today));
    /* Untouched cases are overdue when created on or before the last day
     * whose review deadline was yesterday or earlier. Only the overdue
     * filter reads it: a walk back over the calendar that other pages
     * need not pay for. */
    cut = f->overdue ? zq_wf_review_cutoff(ctx->cal, &ctx->lim, zq_date_add_days(ctx->today, -1))
                     : (zq_date){0, 0, 0};
    bad |=
        zq_fmt(cutoff, sizeof(cutoff), "%lld",
               zq_date_valid(cut) ? (long long)zq_date_to_ms(zq_date_add_days(cut, 1), 0, 0) : 0LL);
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
    bad |= zq_fmt(wants, sizeof(wants), "%d", want);
    argv[argc++] = wants;
    if (f->type[0] != '\0') {
        bad |= zq_fmt(k_type, sizeof(k_type), "cases:type:%s", f->type);
        argv[argc++] = k_type;
    }
    if (f->status[0] != '\0') {
        bad |= zq_fmt(k_status, sizeof(k_status), "cases:status:%s", f->status);
        argv[argc++] = k_status;
    }
    if (f->region[0] != '\0') {
        bad |= zq_fmt(k_region, sizeof(k_region), "cases:region:%s", f->region);
        argv[argc++] = k_region;
    }
    if (bad != 0) {
        free(slow);
        return zq_err_set(err, ZQ_EINVAL, "staff: scan arguments too long");
    }
    r = zq_store_script(st, err, &scan_script, 0, argc, argv, NULL);
    if (r == NULL) {
        free(slow);
        return -ZQ_EUNAVAIL;
    }
    /* {ids, last score, last id, done, scanned, rows} */
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 6 ||
        r->element[0]->type != REDIS_REPLY_ARRAY ||
        r->element[5]->type != (want == ZQ_SCAN_LIST ? REDIS_REPLY_STRING : REDIS_REPLY_ARRAY) ||
        (want != ZQ_SCAN_IDS && want != ZQ_SCAN_LIST &&
         r->element[5]->elements != r->element[0]->elements)) {
        rc = zq_err_set(err, ZQ_EREPLY, "staff: scan failed: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    if (want == ZQ_SCAN_LIST) {
        hold = page != NULL && page->n < ZQ_STAFF_PAGE_STEPS;
        rc = zq_staff_list_from_pack(st, r->element[5]->str, r->element[5]->len, hold, limit, ids,
                                     rows, n, slow, err);
        if (rc < 0) {
            *n = 0;
            goto out;
        }
    } else {
        for (i = 0; i < r->element[0]->elements && (int)i < limit; i++) {
            zq_staff_copy_str(ids[i], ZQ_CASE_ID_MAX, r->element[0]->element[i]);
            if (want == ZQ_SCAN_ROWS || want == ZQ_SCAN_ANSWERS)
                zq_staff_fill_row(&rows[i], r->element[5]->element[i],
                                  want == ZQ_SCAN_ANSWERS ? LAYOUT_ANSWERS : 0);
        }
        *n = (int)i;
    }
    if (r->element[1]->type == REDIS_REPLY_STRING && r->element[2]->type == REDIS_REPLY_STRING) {
        long long sc;
        if (zq_parse_ll(r->element[1]->str, r->element[1]->len, 0, INT64_MAX, &sc) == 0) {
            cur->set = true;
            cur->score = sc;
            zq_staff_copy_str(cur->id, sizeof(cur->id), r->element[2]);
        }
    }
    *done = r->element[3]->type == REDIS_REPLY_INTEGER && r->element[3]->integer == 1;
out:
    if (rc == 0 && hold)
        page->held[page->n++] = r;
    else
        freeReplyObject(r);
    free(slow);
    return rc;
}

int zq_staff_scan(zq_store *st, const zq_staff_ctx *ctx, const zq_case_filter *f, zq_cursor *cur,
                  int limit, int budget, int want, char (*ids)[ZQ_CASE_ID_MAX],
                  struct zq_case_row *rows, int *n, bool *done, zq_err *err)
{
    return scan(st, ctx, f, cur, limit, budget, want, ids, rows, n, done, NULL, err);
}

int zq_staff_scan_page(zq_store *st, const zq_staff_ctx *ctx, const zq_case_filter *f,
                       zq_cursor *cur, int limit, int budget, char (*ids)[ZQ_CASE_ID_MAX],
                       struct zq_case_row *rows, int *n, bool *done, zq_staff_page *page,
                       zq_err *err)
{
    return scan(st, ctx, f, cur, limit, budget, ZQ_SCAN_LIST, ids, rows, n, done, page, err);
}

void zq_staff_page_free(zq_staff_page *page)
{
    for (int i = 0; i < page->n; i++)
        freeReplyObject(page->held[i]);
    page->n = 0;
}

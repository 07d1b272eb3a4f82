/* Tests of the outbox bookkeeping against a real Redis (lib/push's
 * outbox.c, notices.c, targets.c, events.c, schedule.c): targets and
 * their tag sets and audiences, the bot's lookups before a send, the
 * case events read through the group, the scheduler's lease and marks,
 * notices
 * created once per mark, the fan-out in atomic chunks, every settlement
 * (done, retry, defer, dead, skip) with the report and its counters, the
 * mover, claiming and touching, direct and chat-reply entries, the
 * back-off, and the parsers the staff API relies on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "redis_helper.h"
#include "zhuqi/log.h"
#include "zhuqi/events.h"
#include "zhuqi/outbox.h"
#include "zhuqi/ratelimit.h"
#include "zhuqi/schedule.h"

static char g_dir[256];
static zqt_redis g_redis;
static zq_store *g_st;

static long long int_cmd(const char *fmt, ...)
{
    redisContext *c = zqt_connect(&g_redis, 2000);
    redisReply *r;
    long long v;
    va_list ap;

    assert_non_null(c);
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("not an integer reply (type %d): %s", r->type,
                 r->type == REDIS_REPLY_ERROR ? r->str : "");
    v = r->integer;
    freeReplyObject(r);
    return v;
}

/* A string reply (static copy), "" for nil. */
static const char *str_cmd(const char *fmt, ...)
{
    static char out[8192];
    redisContext *c = zqt_connect(&g_redis, 2000);
    redisReply *r;
    va_list ap;

    assert_non_null(c);
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    assert_non_null(r);
    snprintf(out, sizeof(out), "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return out;
}

static int setup_flush(void **state)
{
    redisReply *r = zqt_cmd(&g_redis, "FLUSHALL");

    (void)state;
    if (r != NULL)
        freeReplyObject(r);
    return 0;
}

static void add_target(const char *id, const char *tags_csv)
{
    zq_target_rec r;
    zq_err err = {0};
    bool created;
    char buf[256], *save = NULL, *tok;

    memset(&r, 0, sizeof(r));
    snprintf(r.t.id, sizeof(r.t.id), "%s", id);
    r.t.kind = ZQ_CH_GENERIC;
    snprintf(r.t.address, sizeof(r.t.address), "http://127.0.0.1:9/%s", id);
    snprintf(buf, sizeof(buf), "%s", tags_csv);
    for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
        snprintf(r.tags[r.ntags++], ZQ_TAG_MAX, "%s", tok);
    if (zq_target_save(g_st, &r, 1000, &created, &err) != 0)
        fail_msg("%s", err.msg);
}

static void test_targets(void **state)
{
    zq_target_rec r;
    zq_err err = {0};
    json_t *in, *list;
    const char *field, *msg;
    bool created = false;
    char next[32];

    (void)state;
    in = json_pack("{s:s, s:s, s:s, s:[s,s]}", "channel", "wecom-robot", "address",
                   "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4",
                   "name", "成都税务群", "tags", "tax_day", "region:510100");
    assert_int_equal(zq_target_from_json(in, &r, &field, &msg), 0);
    assert_string_equal(r.t.address, "693a91f6-7xxx-4bc4");
    assert_int_equal(zq_target_save(g_st, &r, 5000, &created, &err), 0);
    assert_true(created);
    assert_int_equal(strncmp(r.t.id, "tg-", 3), 0);
    assert_int_equal(int_cmd("SISMEMBER zqt:targets:tag:region:510100 %s", r.t.id), 1);
    assert_int_equal(int_cmd("SISMEMBER zqt:targets %s", r.t.id), 1);
    /* Saved again with other tags: moved between the sets, created kept. */
    r.ntags = 1;
    snprintf(r.tags[0], ZQ_TAG_MAX, "staff");
    assert_int_equal(zq_target_save(g_st, &r, 9000, &created, &err), 0);
    assert_false(created);
    assert_int_equal(r.created_ms, 5000);
    assert_int_equal(int_cmd("SISMEMBER zqt:targets:tag:region:510100 %s", r.t.id), 0);
    assert_int_equal(int_cmd("SISMEMBER zqt:targets:tag:staff %s", r.t.id), 1);
    {
        zq_target_rec back;

        assert_int_equal(zq_target_load(g_st, r.t.id, &back, &err), 0);
        assert_int_equal(back.t.kind, ZQ_CH_WECOM);
        assert_string_equal(back.name, "成都税务群");
        assert_int_equal(back.ntags, 1);
        assert_string_equal(back.tags[0], "staff");
    }
    list = json_array();
    assert_int_equal(zq_target_page(g_st, "staff", "0", 100, list, next, &err), 0);
    assert_int_equal(json_array_size(list), 1);
    /* The staff view never shows the key in full. */
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "address")),
                        "693a****4bc4");
    json_decref(list);
    assert_int_equal(zq_target_delete(g_st, r.t.id, &err), 0);
    assert_int_equal(zq_target_delete(g_st, r.t.id, &err), -ZQ_ENOTFOUND);
    assert_int_equal(int_cmd("SCARD zqt:targets:tag:staff"), 0);
    assert_int_equal(int_cmd("SCARD zqt:targets"), 0);
    json_decref(in);

    /* Validation. */
    in = json_pack("{s:s, s:s}", "channel", "sms", "address", "x");
    assert_int_equal(zq_target_from_json(in, &r, &field, &msg), -ZQ_EINVAL);
    assert_string_equal(field, "channel");
    json_decref(in);
    in = json_pack("{s:s, s:s}", "channel", "telegram", "address", "123456:ABC-def_ghi");
    assert_int_equal(zq_target_from_json(in, &r, &field, &msg), -ZQ_EINVAL);
    assert_string_equal(field, "chat_id");
    json_object_set_new(in, "chat_id", json_string("-1001234"));
    assert_int_equal(zq_target_from_json(in, &r, &field, &msg), 0);
    json_object_set_new(in, "secret", json_string("x"));
    assert_int_equal(zq_target_from_json(in, &r, &field, &msg), -ZQ_EINVAL);
    assert_string_equal(field, "secret");
    json_decref(in);
    in = json_pack("{s:s, s:s, s:[s]}", "channel", "generic", "address", "http://127.0.0.1:1/x",
                   "tags", "has space");
    assert_int_equal(zq_target_from_json(in, &r, &field, &msg), -ZQ_EINVAL);
    assert_string_equal(field, "tags");
    json_decref(in);
    in = json_pack("{s:s, s:s}", "channel", "generic", "address", "ftp://x/y");
    assert_int_equal(zq_target_from_json(in, &r, &field, &msg), -ZQ_EINVAL);
    assert_string_equal(field, "address");
    json_decref(in);
    /* A generic target may name a chat (a subscription through push_url
     * stores one); the staff view shows it, and it stays on a save. */
    in = json_pack("{s:s, s:s, s:s}", "channel", "generic", "address", "http://127.0.0.1:1/x",
                   "chat_id", "群聊-42");
    assert_int_equal(zq_target_from_json(in, &r, &field, &msg), 0);
    assert_string_equal(r.t.chat_id, "群聊-42");
    {
        json_t *view = zq_target_to_json(&r);
        assert_string_equal(json_string_value(json_object_get(view, "chat_id")), "群聊-42");
        json_decref(view);
    }
    json_object_set_new(in, "chat_id", json_string("a\x01b"));
    assert_int_equal(zq_target_from_json(in, &r, &field, &msg), -ZQ_EINVAL);
    assert_string_equal(field, "chat_id");
    json_decref(in);
    in = json_pack("{s:s, s:s, s:s}", "channel", "wecom-robot", "address", "k-1234567890",
                   "chat_id", "x");
    assert_int_equal(zq_target_from_json(in, &r, &field, &msg), -ZQ_EINVAL);
    assert_string_equal(field, "chat_id");
    json_decref(in);
    in = json_pack("{s:s, s:s}", "channel", "dingtalk-robot", "address",
                   "https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789&x=1");
    assert_int_equal(zq_target_from_json(in, &r, &field, &msg), 0);
    assert_string_equal(r.t.address, "abcdef0123456789");
    json_decref(in);
    in = json_pack("{s:s, s:s}", "channel", "feishu-bot", "address",
                   "https://open.feishu.cn/open-apis/bot/v2/hook/0f8a-1234-abcd");
    assert_int_equal(zq_target_from_json(in, &r, &field, &msg), 0);
    assert_string_equal(r.t.address, "0f8a-1234-abcd");
    json_decref(in);
}

static void test_chat_id(void **state)
{
    char id[ZQ_TARGET_ID_MAX];

    (void)state;
    /* sha1("dingtalk:user1") = b6f2... (computed with sha1sum) */
    assert_int_equal(zq_target_chat_id("chat:dingtalk:user1", id), 0);
    assert_int_equal(strncmp(id, "chat-dingtalk-", 14), 0);
    assert_int_equal(strlen(id), 14 + 16);
    assert_true(zq_target_id_valid(id));
    assert_int_equal(zq_target_chat_id("web", id), -ZQ_EINVAL);
    assert_int_equal(zq_target_chat_id("chat:dingtalk:", id), -ZQ_EINVAL);
}

static int create_notice(const char *audience, const char *mark, int64_t send_at, char *id)
{
    zq_notice_new in;
    zq_err err = {0};
    bool created = false;

    memset(&in, 0, sizeof(in));
    in.kind = ZQ_NOTICE_NOTICE;
    in.title = "标题";
    in.body = "正文";
    in.audience = audience;
    in.now_ms = 1764000000000LL;
    in.send_at_ms = send_at;
    in.mark = mark;
    if (zq_notice_create(g_st, &in, id, &created, &err) != 0)
        fail_msg("%s", err.msg);
    return created;
}

static void test_notice_once_per_mark(void **state)
{
    char a[ZQ_NOTICE_ID_MAX], b[ZQ_NOTICE_ID_MAX], c[ZQ_NOTICE_ID_MAX];

    (void)state;
    assert_true(create_notice("{\"tags\":[\"x\"]}", "zqt:sched:r:2026-12:eve", 0, a));
    assert_false(create_notice("{\"tags\":[\"x\"]}", "zqt:sched:r:2026-12:eve", 0, b));
    assert_string_equal(a, b);
    assert_true(create_notice("{\"tags\":[\"x\"]}", NULL, 0, c));
    assert_string_not_equal(a, c);
    assert_true(zq_notice_id_valid(a));
    assert_int_equal(strncmp(a, "NT20251125-", 11), 0); /* 2025-11-24T16:00Z: the 25th in Beijing */
    assert_int_equal(int_cmd("ZCARD zqt:notices:pending"), 2);
}

static int fanout_all(const char *id, int chunk, int *calls)
{
    int added, left, total = 0;
    zq_err err = {0};

    *calls = 0;
    do {
        if (zq_notice_fanout(g_st, id, chunk, 1764000000000LL, &added, &left, &err) != 0)
            fail_msg("%s", err.msg);
        total += added;
        (*calls)++;
    } while (left > 0);
    return total;
}

static void test_fanout(void **state)
{
    char id[ZQ_NOTICE_ID_MAX], id2[ZQ_NOTICE_ID_MAX], id3[ZQ_NOTICE_ID_MAX];
    char ids[8][ZQ_NOTICE_ID_MAX];
    zq_err err = {0};
    int calls, n, added, left;

    (void)state;
    for (int i = 0; i < 2500; i++) {
        char t[16];
        snprintf(t, sizeof(t), "a%04d", i);
        add_target(t, i < 5 ? "a,b" : "a");
    }
    add_target("b-only", "b");
    create_notice("{\"tags\":[\"a\",\"b\"],\"match\":\"any\",\"targets\":[\"b-only\",\"ghost\"]}",
                  NULL, 0, id);
    assert_int_equal(zq_notice_due(g_st, 1764000000000LL, ids, 8, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(fanout_all(id, 1000, &calls), 2501);
    assert_int_equal(calls, 3);
    assert_int_equal(int_cmd("XLEN zqt:outbox"), 2501);
    assert_int_equal(int_cmd("HLEN zqt:notice:%s:report", id), 2501);
    assert_string_equal(str_cmd("HGET zqt:notice:%s total", id), "2501");
    assert_string_equal(str_cmd("HGET zqt:notice:%s n_queued", id), "2501");
    assert_string_equal(str_cmd("HGET zqt:notice:%s state", id), "sending");
    assert_int_equal(int_cmd("ZCARD zqt:notices:pending"), 0);
    /* Running it again adds nothing. */
    assert_int_equal(zq_notice_fanout(g_st, id, 1000, 1, &added, &left, &err), 0);
    assert_int_equal(added + left, 0);
    assert_int_equal(int_cmd("XLEN zqt:outbox"), 2501);

    /* match all: the intersection. */
    create_notice("{\"tags\":[\"a\",\"b\"],\"match\":\"all\"}", NULL, 0, id2);
    assert_int_equal(fanout_all(id2, 1000, &calls), 5);
    /* A notice for later is not due yet. */
    create_notice("{\"all\":true}", NULL, 1764000000000LL + 60000, id3);
    assert_int_equal(zq_notice_due(g_st, 1764000000000LL, ids, 8, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(zq_notice_due(g_st, 1764000000000LL + 60000, ids, 8, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(fanout_all(id3, 1000, &calls), 2501);
    /* A notice deleted under our feet. */
    assert_int_equal(zq_notice_fanout(g_st, "NT20990101-0001", 10, 1, &added, &left, &err),
                     -ZQ_ENOTFOUND);
}

/* Reads everything for consumer c. */
static int read_all(const char *c, zq_entry *es, int max)
{
    zq_err err = {0};
    int n = 0;

    if (zq_outbox_read(g_st, c, max, es, &n, &err) != 0)
        fail_msg("%s", err.msg);
    return n;
}

static void clear_entries(zq_entry *es, int n)
{
    for (int i = 0; i < n; i++)
        zq_entry_clear(&es[i]);
}

static zq_settle op(zq_settle_kind k, const zq_entry *e, int attempts, int64_t due,
                    const char *reason)
{
    zq_settle s;

    memset(&s, 0, sizeof(s));
    s.kind = k;
    s.e = e;
    s.now_ms = 1764000001000LL;
    s.due_ms = due;
    s.attempts = attempts;
    s.reason = reason;
    s.channel = "generic";
    return s;
}

static const char *report_status(const char *notice, const char *target)
{
    static char st[32];
    json_t *j = json_loads(str_cmd("HGET zqt:notice:%s:report %s", notice, target), 0, NULL);

    snprintf(st, sizeof(st), "%s", json_string_value(json_object_get(j, "status")));
    json_decref(j);
    return st;
}

static void test_settle(void **state)
{
    char id[ZQ_NOTICE_ID_MAX];
    zq_entry es[8];
    zq_settle ops[4];
    int res[4], calls, n, moved;
    zq_err err = {0};

    (void)state;
    assert_int_equal(zq_outbox_init(g_st, &err), 0);
    assert_int_equal(zq_outbox_init(g_st, &err), 0); /* BUSYGROUP is fine */
    for (int i = 0; i < 4; i++) {
        char t[16];
        snprintf(t, sizeof(t), "s%d", i);
        add_target(t, "s");
    }
    create_notice("{\"tags\":[\"s\"]}", NULL, 0, id);
    assert_int_equal(fanout_all(id, 1000, &calls), 4);
    n = read_all("c1", es, 8);
    assert_int_equal(n, 4);
    for (int i = 0; i < 4; i++) {
        assert_false(es[i].malformed);
        assert_string_equal(es[i].notice, id);
        assert_int_equal(es[i].attempts, 0);
    }
    ops[0] = op(ZQ_SETTLE_DONE, &es[0], 1, 0, "");
    ops[1] = op(ZQ_SETTLE_RETRY, &es[1], 1, 1764000005000LL, "no answer: timeout");
    ops[2] = op(ZQ_SETTLE_DEFER, &es[2], 0, 1764000003000LL, "");
    ops[3] = op(ZQ_SETTLE_DEAD, &es[3], 1, 0, "wecom errcode 93000: invalid key");
    assert_int_equal(zq_outbox_settle(g_st, ops, 4, res, &err), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(res[i], 1);
    assert_string_equal(report_status(id, es[0].target), "sent");
    assert_string_equal(report_status(id, es[1].target), "retrying");
    assert_string_equal(report_status(id, es[2].target), "queued");
    assert_string_equal(report_status(id, es[3].target), "failed");
    assert_string_equal(str_cmd("HGET zqt:notice:%s n_sent", id), "1");
    assert_string_equal(str_cmd("HGET zqt:notice:%s n_retrying", id), "1");
    assert_string_equal(str_cmd("HGET zqt:notice:%s n_failed", id), "1");
    assert_string_equal(str_cmd("HGET zqt:notice:%s n_queued", id), "1");
    assert_int_equal(int_cmd("EXISTS zqt:done:%s:%s", id, es[0].target), 1);
    /* Every entry acknowledged and deleted. */
    assert_int_equal(int_cmd("XLEN zqt:outbox"), 0);
    assert_int_equal(int_cmd("ZCARD zqt:outbox:delayed"), 2);
    assert_int_equal(int_cmd("XLEN zqt:outbox:dead"), 1);
    {
        redisReply *r = zqt_cmd(&g_redis, "XRANGE zqt:outbox:dead - +");
        bool found = false;

        assert_non_null(r);
        for (size_t i = 0; i + 1 < r->element[0]->element[1]->elements; i += 2)
            if (strcmp(r->element[0]->element[1]->element[i]->str, "reason") == 0)
                found = strcmp(r->element[0]->element[1]->element[i + 1]->str,
                               "wecom errcode 93000: invalid key") == 0;
        assert_true(found);
        freeReplyObject(r);
    }
    /* Confirming the same (notice, target) again is a duplicate. */
    ops[0] = op(ZQ_SETTLE_DONE, &es[0], 1, 0, "");
    assert_int_equal(zq_outbox_settle(g_st, ops, 1, res, &err), 0);
    assert_int_equal(res[0], 0);
    assert_string_equal(str_cmd("HGET zqt:notice:%s n_sent", id), "1");

    /* The mover: nothing before its time, then back in the stream with
     * the attempts so far. */
    assert_int_equal(zq_outbox_move_due(g_st, 1764000002999LL, 100, &moved, &err), 0);
    assert_int_equal(moved, 0);
    assert_int_equal(zq_outbox_move_due(g_st, 1764000005000LL, 100, &moved, &err), 0);
    assert_int_equal(moved, 2);
    assert_int_equal(int_cmd("ZCARD zqt:outbox:delayed"), 0);
    clear_entries(es, n);
    n = read_all("c1", es, 8);
    assert_int_equal(n, 2);
    for (int i = 0; i < 2; i++) {
        if (strcmp(es[i].target, ops[1].e->target) == 0)
            assert_int_equal(es[i].attempts, 1);
        assert_int_equal(es[i].first_ms, 1764000000000LL);
    }
    /* Done elsewhere in the meantime: a retry is dropped, not queued. */
    str_cmd("SET zqt:done:%s:%s 1", id, es[0].target);
    ops[0] = op(ZQ_SETTLE_RETRY, &es[0], 2, 1764000009000LL, "x");
    ops[1] = op(ZQ_SETTLE_SKIP, &es[1], 0, 0, "");
    assert_int_equal(zq_outbox_settle(g_st, ops, 2, res, &err), 0);
    assert_int_equal(res[0], 0);
    assert_int_equal(int_cmd("ZCARD zqt:outbox:delayed"), 0);
    assert_int_equal(int_cmd("XLEN zqt:outbox"), 0);
    clear_entries(es, n);
}

static void test_report_json(void **state)
{
    char id[ZQ_NOTICE_ID_MAX];
    zq_entry es[4];
    zq_settle ops[3];
    json_t *v = NULL;
    zq_err err = {0};
    int calls, n;

    (void)state;
    assert_int_equal(zq_outbox_init(g_st, &err), 0);
    add_target("r1", "r");
    add_target("r2", "r");
    create_notice("{\"tags\":[\"r\"]}", NULL, 0, id);
    fanout_all(id, 1000, &calls);
    n = read_all("c", es, 4);
    assert_int_equal(n, 2);
    ops[0] = op(ZQ_SETTLE_DONE, &es[0], 1, 0, "");
    ops[1] = op(ZQ_SETTLE_DEAD, &es[1], 3, 0, "gave up after 3 attempts: http 502");
    assert_int_equal(zq_outbox_settle(g_st, ops, 2, NULL, &err), 0);
    assert_int_equal(zq_notice_report(g_st, id, "0", 100, 1764000002000LL, &v, &err), 0);
    assert_string_equal(json_string_value(json_object_get(v, "state")), "done");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "totals"), "sent")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "totals"), "failed")),
                     1);
    assert_int_equal(json_array_size(json_object_get(v, "targets")), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *line = json_array_get(json_object_get(v, "targets"), i);
        if (strcmp(json_string_value(json_object_get(line, "status")), "failed") == 0) {
            assert_string_equal(json_string_value(json_object_get(line, "last_error")),
                                "gave up after 3 attempts: http 502");
            assert_int_equal(json_integer_value(json_object_get(line, "attempts")), 3);
        } else {
            assert_non_null(json_object_get(line, "sent_at"));
        }
    }
    json_decref(v);
    assert_int_equal(zq_notice_report(g_st, "NT20990101-0009", "0", 10, 0, &v, &err),
                     -ZQ_ENOTFOUND);
    assert_int_equal(zq_notice_recent(g_st, 10, 0, &v, &err), 0);
    assert_int_equal(json_array_size(v), 1);
    json_decref(v);
    clear_entries(es, n);
}

static void test_claim_and_touch(void **state)
{
    char id[ZQ_NOTICE_ID_MAX], cursor[48] = "0-0";
    zq_entry es[4], other[4];
    const zq_entry *held[1];
    zq_err err = {0};
    int calls, n, m;

    (void)state;
    assert_int_equal(zq_outbox_init(g_st, &err), 0);
    add_target("k1", "k");
    create_notice("{\"tags\":[\"k\"]}", NULL, 0, id);
    fanout_all(id, 1000, &calls);
    n = read_all("alive", es, 4);
    assert_int_equal(n, 1);
    zqt_sleep_ms(150);
    /* The holder refreshes it: nobody may take it. */
    held[0] = &es[0];
    assert_int_equal(zq_outbox_touch(g_st, "alive", held, 1, &err), 0);
    assert_int_equal(zq_outbox_claim(g_st, "other", false, 100, cursor, 4, other, &m, &err), 0);
    assert_int_equal(m, 0);
    /* The holder died: after the idle time it is taken over. */
    zqt_sleep_ms(150);
    snprintf(cursor, sizeof(cursor), "0-0");
    assert_int_equal(zq_outbox_claim(g_st, "other", false, 100, cursor, 4, other, &m, &err), 0);
    assert_int_equal(m, 1);
    assert_string_equal(other[0].sid, es[0].sid);
    assert_string_equal(other[0].target, "k1");
    clear_entries(es, n);
    clear_entries(other, m);
}

static void test_direct_and_prio(void **state)
{
    zq_direct_new in;
    zq_target t;
    zq_entry es[4];
    zq_err err = {0};
    char id[ZQ_NOTICE_ID_MAX], id2[ZQ_NOTICE_ID_MAX];
    bool created;
    int n;

    (void)state;
    assert_int_equal(zq_outbox_init(g_st, &err), 0);
    add_target("m1", "m");
    create_notice("{\"tags\":[\"m\"]}", NULL, 0, id);
    fanout_all(id, 1000, &n);
    memset(&t, 0, sizeof(t));
    snprintf(t.id, sizeof(t.id), "sess-1");
    t.kind = ZQ_CH_DINGTALK;
    snprintf(t.address, sizeof(t.address), "https://oapi.dingtalk.com/robot/sendBySession?s=1");
    memset(&in, 0, sizeof(in));
    in.kind = ZQ_NOTICE_REPLY;
    in.title = "回复";
    in.body = "您好";
    in.target = &t;
    in.prio = true;
    in.now_ms = 1764000000000LL;
    in.ttl_s = 3600;
    in.mark = "zqt:reply:msg-1";
    assert_int_equal(zq_notice_send_direct(g_st, &in, id2, &created, &err), 0);
    assert_true(created);
    assert_int_equal(zq_notice_send_direct(g_st, &in, id2, &created, &err), 0);
    assert_false(created);
    assert_int_equal(strncmp(id2, "RP", 2), 0);
    assert_true(int_cmd("TTL zqt:notice:%s", id2) > 0);
    /* The priority lane comes first, with its target inline. */
    n = read_all("c", es, 4);
    assert_int_equal(n, 2);
    assert_true(es[0].prio);
    assert_string_equal(es[0].notice, id2);
    assert_non_null(es[0].inline_target);
    {
        zq_target back;
        assert_int_equal(
            zq_target_inline_decode(es[0].inline_target, strlen(es[0].inline_target), &back), 0);
        assert_int_equal(back.kind, ZQ_CH_DINGTALK);
        assert_string_equal(back.address, t.address);
    }
    assert_false(es[1].prio);
    clear_entries(es, n);
}

/* A chat reply queued by lib/chat/chat_outbox.c's layout survives a retry
 * through outbox:delayed with every field. */
static void test_chat_reply_entry(void **state)
{
    zq_entry es[2];
    zq_settle s;
    zq_err err = {0};
    int n, moved;
    redisReply *r;

    (void)state;
    assert_int_equal(zq_outbox_init(g_st, &err), 0);
    r = zqt_cmd(&g_redis,
                "XADD zqt:outbox:prio * kind reply channel dingtalk url %s body %s headers %s "
                "auth %s created_ms 1764000000000 expires_ms 1764000600000",
                "http://127.0.0.1:9/session/x", "{\"msgtype\":\"text\"}", "[\"X-A: 1\"]", "");
    assert_non_null(r);
    freeReplyObject(r);
    n = read_all("c", es, 2);
    assert_int_equal(n, 1);
    assert_true(es[0].reply);
    assert_false(es[0].malformed);
    assert_string_equal(es[0].notice, "reply");
    assert_int_equal(es[0].target[0], 'r');
    assert_string_equal(es[0].reply_url, "http://127.0.0.1:9/session/x");
    assert_int_equal(es[0].reply_expires_ms, 1764000600000LL);
    s = op(ZQ_SETTLE_RETRY, &es[0], 1, 1764000002000LL, "no answer");
    assert_int_equal(zq_outbox_settle(g_st, &s, 1, NULL, &err), 0);
    assert_int_equal(zq_outbox_move_due(g_st, 1764000002000LL, 10, &moved, &err), 0);
    assert_int_equal(moved, 1);
    {
        zq_entry again[2];
        int m = read_all("c", again, 2);

        assert_int_equal(m, 1);
        assert_true(again[0].reply && again[0].prio);
        assert_string_equal(again[0].target, es[0].target); /* same completion mark */
        assert_string_equal(again[0].reply_body, "{\"msgtype\":\"text\"}");
        assert_string_equal(again[0].reply_headers, "[\"X-A: 1\"]");
        assert_string_equal(again[0].reply_channel, "dingtalk");
        assert_int_equal(again[0].attempts, 1);
        assert_int_equal(again[0].first_ms, 1764000000000LL);
        clear_entries(again, m);
    }
    clear_entries(es, n);
    /* An entry without its fields is malformed, not a crash. */
    r = zqt_cmd(&g_redis, "XADD zqt:outbox * n only");
    freeReplyObject(r);
    n = read_all("c", es, 2);
    assert_int_equal(n, 1);
    assert_true(es[0].malformed);
    clear_entries(es, n);
}

/* A series of requests (chat_outbox.h "parts", the WeCom app messages of
 * a long reply) keeps its parts, its rate-limit log and how far it got
 * through a rate-limit wait in outbox:delayed; a bad parts count is
 * malformed. */
static void test_chat_reply_series(void **state)
{
    zq_entry es[2], again[2];
    zq_settle s;
    zq_err err = {0};
    int n, m, moved;
    redisReply *r;

    (void)state;
    assert_int_equal(zq_outbox_init(g_st, &err), 0);
    r = zqt_cmd(&g_redis,
                "XADD zqt:outbox:prio * kind reply channel wecom-app url %s body %s headers [] "
                "auth wecom_access_token created_ms 1764000000000 expires_ms 0 parts 3 rl %s",
                "http://127.0.0.1:9/cgi-bin/message/send", "[{\"a\":1},{\"a\":2},{\"a\":3}]",
                "chat-wecom-0123456789abcdef");
    freeReplyObject(r);
    n = read_all("c", es, 2);
    assert_int_equal(n, 1);
    assert_false(es[0].malformed);
    assert_int_equal(es[0].reply_parts, 3);
    assert_string_equal(es[0].reply_rl, "chat-wecom-0123456789abcdef");
    assert_string_equal(es[0].reply_auth, "wecom_access_token");
    assert_int_equal(es[0].parts_done, 0);
    s = op(ZQ_SETTLE_DEFER, &es[0], 0, 1764000002000LL, "");
    s.parts_done = 2;
    assert_int_equal(zq_outbox_settle(g_st, &s, 1, NULL, &err), 0);
    assert_int_equal(zq_outbox_move_due(g_st, 1764000002000LL, 10, &moved, &err), 0);
    assert_int_equal(moved, 1);
    m = read_all("c", again, 2);
    assert_int_equal(m, 1);
    assert_true(again[0].reply && again[0].prio);
    assert_string_equal(again[0].target, es[0].target);
    assert_int_equal(again[0].reply_parts, 3);
    assert_int_equal(again[0].parts_done, 2);
    assert_string_equal(again[0].reply_rl, "chat-wecom-0123456789abcdef");
    assert_string_equal(again[0].reply_body, "[{\"a\":1},{\"a\":2},{\"a\":3}]");
    assert_string_equal(again[0].reply_channel, "wecom-app");
    clear_entries(again, m);
    clear_entries(es, n);
    r = zqt_cmd(&g_redis,
                "XADD zqt:outbox:prio * kind reply channel wecom-app url u body [] headers [] "
                "auth x created_ms 1 expires_ms 0 parts 0");
    freeReplyObject(r);
    n = read_all("c", es, 2);
    assert_int_equal(n, 1);
    assert_true(es[0].malformed);
    clear_entries(es, n);
}

static void test_backoff(void **state)
{
    (void)state;
    for (int a = 1; a <= 12; a++) {
        int64_t d = 1000;
        for (int i = 1; i < a && d < 60000; i++)
            d *= 2;
        if (d > 60000)
            d = 60000;
        for (uint64_t rnd = 0; rnd < 2000; rnd += 37) {
            int64_t b = zq_outbox_backoff_ms(a, 1000, 60000, 0, rnd * 2654435761ULL);
            assert_true(b >= d / 2 && b <= d);
        }
    }
    /* Retry-After wins, with at most 10% on top. */
    for (uint64_t rnd = 0; rnd < 100; rnd++) {
        int64_t b = zq_outbox_backoff_ms(1, 1000, 60000, 30000, rnd * 7919);
        assert_true(b >= 30000 && b <= 33000);
    }
    assert_true(zq_outbox_backoff_ms(1, 1000, 60000, 365LL * 86400000, 0) <= 86400000LL * 11 / 10);
    /* Jitter really varies. */
    assert_true(zq_outbox_backoff_ms(5, 1000, 60000, 0, 1) !=
                zq_outbox_backoff_ms(5, 1000, 60000, 0, 4000));
}

static void test_parsers(void **state)
{
    json_t *in, *out = NULL;
    const char *msg;
    int64_t ms;

    (void)state;
    assert_int_equal(zq_time_parse("2026-11-26T09:30:00+08:00", &ms), 0);
    assert_int_equal(ms, 1795656600000LL);
    assert_int_equal(zq_time_parse("2026-11-26T01:30:00Z", &ms), 0);
    assert_int_equal(ms, 1795656600000LL);
    assert_int_equal(zq_time_parse("2026-11-26T09:30", &ms), 0);
    assert_int_equal(ms, 1795656600000LL);
    assert_int_equal(zq_time_parse("2026-11-26 09:30:00.250", &ms), 0);
    assert_int_equal(ms, 1795656600250LL);
    assert_int_equal(zq_time_parse("2026-02-29T09:30", &ms), -ZQ_EINVAL);
    assert_int_equal(zq_time_parse("2026-11-26", &ms), -ZQ_EINVAL);
    assert_int_equal(zq_time_parse("2026-11-26T09:30+8", &ms), -ZQ_EINVAL);
    assert_int_equal(zq_time_parse("2026-11-26T09:30:00+08:00x", &ms), -ZQ_EINVAL);

    in = json_pack("{s:[s,s,s]}", "tags", "a", "b", "a");
    assert_int_equal(zq_audience_parse(in, &out, &msg), 0);
    assert_int_equal(json_array_size(json_object_get(out, "tags")), 2);
    assert_string_equal(json_string_value(json_object_get(out, "match")), "any");
    json_decref(out);
    json_decref(in);
    in = json_pack("{s:[]}", "tags");
    assert_int_equal(zq_audience_parse(in, &out, &msg), -ZQ_EINVAL);
    json_decref(in);
    in = json_pack("{s:[s], s:s}", "tags", "a", "match", "most");
    assert_int_equal(zq_audience_parse(in, &out, &msg), -ZQ_EINVAL);
    json_decref(in);
    in = json_pack("{s:[s]}", "targets", "bad id!");
    assert_int_equal(zq_audience_parse(in, &out, &msg), -ZQ_EINVAL);
    json_decref(in);
    in = json_pack("{s:[s,s], s:b}", "mobiles", "+86 138-1234-5678", "13912345678", "all", 1);
    assert_int_equal(zq_mentions_parse(in, &out, &msg), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(out, "mobiles"), 0)),
                        "13812345678");
    json_decref(out);
    json_decref(in);
    in = json_pack("{s:[s]}", "mobiles", "12345");
    assert_int_equal(zq_mentions_parse(in, &out, &msg), -ZQ_EINVAL);
    json_decref(in);
}

static void test_audience(void **state)
{
    zq_target_ids ids = {0};
    zq_err err = {0};
    bool exists = true;

    (void)state;
    add_target("a1", "staff,region:110101");
    add_target("a2", "staff");
    add_target("a3", "region:110101");
    assert_int_equal(zq_target_audience(g_st, "{\"all\":true}", &ids, &err), 0);
    assert_int_equal(ids.n, 3);
    zq_target_ids_clear(&ids);
    assert_int_equal(
        zq_target_audience(g_st, "{\"tags\":[\"staff\",\"region:110101\"],\"match\":\"all\"}", &ids,
                           &err),
        0);
    assert_int_equal(ids.n, 1);
    assert_string_equal(ids.id[0], "a1");
    zq_target_ids_clear(&ids);
    assert_int_equal(
        zq_target_audience(g_st, "{\"tags\":[\"staff\",\"region:110101\"]}", &ids, &err), 0);
    assert_int_equal(ids.n, 3);
    zq_target_ids_clear(&ids);
    /* Not JSON, or no tags: nobody, and no error. */
    assert_int_equal(zq_target_audience(g_st, "nope", &ids, &err), 0);
    assert_int_equal(ids.n, 0);
    assert_int_equal(zq_target_audience(g_st, "{\"tags\":[]}", &ids, &err), 0);
    assert_int_equal(ids.n, 0);
    assert_int_equal(zq_target_active(g_st, "a2", &exists, &err), 0);
    assert_true(exists);
    assert_int_equal(zq_target_active(g_st, "zz", &exists, &err), 0);
    assert_false(exists);
    /* A target the platform said is gone takes no direct notice; enabled
     * again, it does. */
    assert_int_equal(zq_target_set_disabled(g_st, "a2", "chat not found", 1000, &err), 0);
    assert_int_equal(zq_target_active(g_st, "a2", &exists, &err), 0);
    assert_false(exists);
    assert_int_equal(zq_target_set_disabled(g_st, "a2", NULL, 0, &err), 0);
    assert_int_equal(zq_target_active(g_st, "a2", &exists, &err), 0);
    assert_true(exists);
}

static void test_lookup(void **state)
{
    char id[ZQ_NOTICE_ID_MAX], key[ZQ_RATE_KEY_MAX];
    zq_outbox_lookup l[3];
    zq_entry e[3];
    zq_err err = {0};

    (void)state;
    add_target("l1", "x");
    create_notice("{\"tags\":[\"x\"]}", NULL, 0, id);
    memset(e, 0, sizeof(e));
    memset(l, 0, sizeof(l));
    for (int i = 0; i < 3; i++) {
        snprintf(e[i].notice, sizeof(e[i].notice), "%s", i == 2 ? "n-gone" : id);
        snprintf(e[i].target, sizeof(e[i].target), "%s", i == 1 ? "l-gone" : "l1");
        l[i].e = &e[i];
        l[i].want_target = l[i].want_content = true;
    }
    l[1].want_content = false;
    str_cmd("SET zqt:done:%s:l1 1", id);
    assert_int_equal(zq_outbox_lookup_all(g_st, l, 3, &err), 0);
    assert_true(l[0].done);
    assert_int_equal(l[0].target_rc, 0);
    assert_string_equal(l[0].target.id, "l1");
    assert_int_equal(l[0].target.kind, ZQ_CH_GENERIC);
    assert_int_equal(l[0].content_rc, 0);
    assert_string_equal(l[0].content.title, "标题");
    assert_false(l[1].done);
    assert_int_equal(l[1].target_rc, -ZQ_ENOTFOUND);
    assert_null(l[1].content.title);
    assert_int_equal(l[2].content_rc, -ZQ_ENOTFOUND);
    for (int i = 0; i < 3; i++)
        zq_notice_content_clear(&l[i].content);
    assert_int_equal(zq_rate_log_key(g_st, "l1", key), 0);
    assert_string_equal(key, "zqt:rl:l1");
}

static void test_events(void **state)
{
    char cursor[ZQ_EVENTS_SID_MAX] = "", key[ZQ_EVENTS_KEY_MAX];
    zq_events evs;
    zq_err err = {0};

    (void)state;
    assert_int_equal(zq_events_read(g_st, "c1", &evs, &err), -ZQ_ENOTFOUND);
    zq_events_clear(&evs);
    str_cmd("XADD zqt:events * type case_created id C1 form f region r source web");
    assert_int_equal(zq_events_init(g_st, &err), 0);
    assert_int_equal(zq_events_init(g_st, &err), 0); /* already there */
    str_cmd("XADD zqt:events * type case_status id C1 to accepted");
    assert_int_equal(zq_events_read(g_st, "c1", &evs, &err), 0);
    assert_int_equal(evs.n, 2);
    assert_false(evs.full);
    assert_true(evs.ev[0].fields);
    assert_string_equal(evs.ev[0].type, "case_created");
    assert_string_equal(evs.ev[0].region, "r");
    assert_string_equal(evs.ev[0].to, "");
    assert_string_equal(evs.ev[1].to, "accepted");
    assert_int_equal(zq_events_ack(g_st, evs.ev[0].sid, &err), 0);
    zq_events_mark_key(g_st, evs.ev[0].sid, key);
    assert_int_equal(strncmp(key, "zqt:evdone:", 11), 0);
    zq_events_clear(&evs);
    /* The second, read and not acknowledged, is taken over when idle. */
    assert_int_equal(zq_events_claim(g_st, "c2", 0, cursor, &evs, &err), 0);
    assert_int_equal(evs.n, 1);
    assert_string_equal(evs.ev[0].type, "case_status");
    assert_string_equal(cursor, "0-0");
    zq_events_clear(&evs);
    assert_int_equal(zq_events_read(g_st, "c1", &evs, &err), 0);
    assert_int_equal(evs.n, 0);
    zq_events_clear(&evs);
}

static void test_schedule(void **state)
{
    zq_occurrence occ[2];
    char key[ZQ_SCHEDULE_KEY_MAX], v[64];
    bool held = false, marked[2] = {true, true}, first = false, exists = true;
    zq_err err = {0};

    (void)state;
    assert_int_equal(zq_schedule_lease(g_st, "one", 5000, &held, &err), 0);
    assert_true(held);
    assert_int_equal(zq_schedule_lease(g_st, "two", 5000, &held, &err), 0);
    assert_false(held);
    assert_int_equal(zq_schedule_lease(g_st, "one", 5000, &held, &err), 0);
    assert_true(held);
    assert_int_equal(zq_schedule_release(g_st, "two", &err), 0); /* not his */
    assert_string_equal(str_cmd("GET zqt:sched:lease"), "one");
    assert_int_equal(zq_schedule_release(g_st, "one", &err), 0);
    assert_int_equal(int_cmd("EXISTS zqt:sched:lease"), 0);

    memset(occ, 0, sizeof(occ));
    snprintf(occ[0].id, sizeof(occ[0].id), "rule:2026-12:eve");
    snprintf(occ[1].id, sizeof(occ[1].id), "rule:2026-12:day");
    zq_schedule_mark_key(g_st, occ[0].id, key);
    assert_string_equal(key, "zqt:sched:rule:2026-12:eve");
    str_cmd("SET %s n-1", key);
    assert_int_equal(zq_schedule_marked(g_st, occ, 2, marked, &err), 0);
    assert_true(marked[0]);
    assert_false(marked[1]);
    assert_int_equal(zq_schedule_skip(g_st, occ[1].id, 60, &first, &err), 0);
    assert_true(first);
    assert_int_equal(zq_schedule_skip(g_st, occ[1].id, 60, &first, &err), 0);
    assert_false(first);
    assert_int_equal(zq_schedule_mark_get(g_st, occ[1].id, v, sizeof(v), &err), 0);
    assert_string_equal(v, "skipped");
    assert_int_equal(zq_schedule_mark_get(g_st, "none", v, sizeof(v), &err), 0);
    assert_string_equal(v, "");
    zq_schedule_digest_key(g_st, "2026-12-01", key);
    assert_string_equal(key, "zqt:sched:digest:2026-12-01");
    assert_int_equal(zq_schedule_mark_exists(g_st, key, &exists, &err), 0);
    assert_false(exists);
}

static int group_setup(void **state)
{
    (void)state;
    return zqt_group_start("test_outbox", g_dir, &g_redis, &g_st);
}

static int group_teardown(void **state)
{
    (void)state;
    return zqt_group_stop(g_dir, &g_redis, g_st);
}

#define T(f) cmocka_unit_test_setup(f, setup_flush)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_targets),
        T(test_chat_id),
        T(test_notice_once_per_mark),
        T(test_fanout),
        T(test_settle),
        T(test_report_json),
        T(test_claim_and_touch),
        T(test_direct_and_prio),
        T(test_chat_reply_entry),
        T(test_chat_reply_series),
        T(test_backoff),
        T(test_parsers),
        T(test_audience),
        T(test_lookup),
        T(test_events),
        T(test_schedule),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* Unit tests of the chat dialogue against a private redis-server: both
 * flows end to end, every command, every field's validation messages
 * (compared with what zq_field_validate says, which is what the web
 * answers), the cross-field rules, review and confirmation with an
 * idempotent case, lookups, subscriptions, classes, the hand-over to the
 * web, expiry and resume, and concurrent messages of one user. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <pthread.h>

#include "redis_helper.h"
#include "zhuqi/buf.h"
#include "zhuqi/cases.h"
#include "zhuqi/dialogue.h"
#include "zhuqi/log.h"
#include "zhuqi/schema.h"
#include "zhuqi/store.h"
#include "zhuqi/targets.h"

#define TODAY "2026-11-26"

static char g_dir[256];
static zqt_redis g_redis;
static zq_schema *g_schema;
static zq_config g_cfg;
static zq_store *g_store;
static char g_uscc[19];

static const char *path_of(const char *rel)
{
    static char buf[8][1024];
    static int next;
    const char *root = getenv("ZQ_TEST_ROOT");
    char *p = buf[next++ % 8];

    snprintf(p, sizeof(buf[0]), "%s/%s", root != NULL ? root : ".", rel);
    return p;
}

static redisReply *cmd(const char *fmt, ...)
{
    redisContext *c = zqt_connect(&g_redis, 2000);
    redisReply *r;
    va_list ap;

    assert_non_null(c);
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    assert_non_null(r);
    return r;
}

static long long cmd_int(const char *fmt, ...)
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
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    v = r->integer;
    freeReplyObject(r);
    return v;
}

/* A string reply as a new string, NULL for nil. */
static char *cmd_str(const char *fmt, ...)
{
    redisContext *c = zqt_connect(&g_redis, 2000);
    redisReply *r;
    char *s = NULL;
    va_list ap;

    assert_non_null(c);
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_STRING)
        s = strndup(r->str, r->len);
    freeReplyObject(r);
    return s;
}

/* ---- talking --------------------------------------------------------- */

typedef struct chat {
    const char *channel;
    const char *user;
    bool can_push;
    zq_channel_kind kind;
    const char *address;
    zq_store *store; /* NULL: g_store */
    const zq_config *cfg;
    int64_t now_ms; /* 0: the clock */
} chat;

static chat chat_of(const char *user)
{
    chat c = {"generic", user, false, ZQ_CH_GENERIC, NULL, NULL, NULL, 0};
    return c;
}

static char g_last[65536];

/* Sends one message (text NULL: not text) and returns the replies joined
 * by "\n\n" (borrowed until the next call). */
static const char *send_raw(const chat *c, const char *text, size_t len)
{
    zq_dialogue_env env = {0};
    zq_dialogue_in in = {0};
    zq_dialogue_replies r = {0};
    zq_err err = {0};
    size_t i, o = 0;
    int rc;

    env.store = c->store ? c->store : g_store;
    env.cfg = c->cfg ? c->cfg : &g_cfg;
    env.schema = g_schema;
    env.today = TODAY;
    env.now_ms = c->now_ms;
    in.channel = c->channel;
    in.user = c->user;
    in.chat = c->user;
    in.text = text;
    in.text_len = len;
    in.can_push = c->can_push;
    in.target_kind = c->kind;
    in.target_address = c->address;
    in.target_chat_id = c->user;
    rc = zq_dialogue_handle(&env, &in, &r, &err);
    if (rc != 0)
        fail_msg("zq_dialogue_handle: %d %s", rc, err.msg);
    g_last[0] = '\0';
    for (i = 0; i < r.n; i++) {
        int n = snprintf(g_last + o, sizeof(g_last) - o, "%s%s", i ? "\n\n" : "", r.text[i]);
        assert_true(n > 0 && (size_t)n < sizeof(g_last) - o);
        o += (size_t)n;
    }
    assert_true(r.n >= 1);
    zq_dialogue_replies_clear(&r);
    return g_last;
}

static const char *say(const chat *c, const char *text)
{
    return send_raw(c, text, strlen(text));
}

#define assert_has(hay, needle)                                                                    \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (strstr(h_, n_) == NULL)                                                                \
            fail_msg("expected \"%s\" in:\n%s", n_, h_);                                           \
    } while (0)

#define assert_lacks(hay, needle)                                                                  \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (strstr(h_, n_) != NULL)                                                                \
            fail_msg("did not expect \"%s\" in:\n%s", n_, h_);                                     \
    } while (0)

/* A stored answer (lib/chat/dialogue.c's enc_value) as a new value. */
static json_t *stored_value(const char *p, size_t n)
{
    assert_true(n >= 1);
    switch (p[0]) {
    case 's': return json_stringn(p + 1, n - 1);
    case 'i': return json_integer(strtoll(p + 1, NULL, 10));
    case 'T': return json_true();
    case 'F': return json_false();
    case 'N': return json_null();
    case 'j': return json_loadb(p + 1, n - 1, JSON_DECODE_ANY, NULL);
    default: fail_msg("unexpected stored value %.*s", (int)n, p);
    }
    return NULL;
}

/* The state of a chat user as the JSON it was once stored as (new
 * reference): {mode, form, cur, edit_step, draft, draft_v, lookup,
 * last_case, keep_field, seq, answers[, keep_value]}, from the hash's
 * fields t, a:<id> and k. */
static json_t *state_of(const chat *c)
{
    static const char *const names[] = {"mode",    "form",   "cur",       "edit_step",  "draft",
                                        "draft_v", "lookup", "last_case", "keep_field", "seq"};
    redisReply *r = cmd("HGETALL zqt:chat:%s:%s", c->channel, c->user);
    json_t *j = json_object(), *answers = json_object();
    bool have_t = false;
    size_t i;

    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    for (i = 0; i + 1 < r->elements; i += 2) {
        const char *f = r->element[i]->str, *v = r->element[i + 1]->str;
        size_t vl = r->element[i + 1]->len;

        if (strcmp(f, "t") == 0) {
            const char *p = v;
            size_t k;

            have_t = true;
            for (k = 0; k < 10; k++) {
                const char *bar = strchr(p, '|');
                size_t n = bar ? (size_t)(bar - p) : strlen(p);

                if (k == 5 || k == 9)
                    json_object_set_new(j, names[k], json_integer(strtoll(p, NULL, 10)));
                else
                    json_object_set_new(j, names[k], json_stringn(p, n));
                assert_true(bar != NULL || k == 9);
                p = bar ? bar + 1 : p + n;
            }
        } else if (strncmp(f, "a:", 2) == 0) {
            json_object_set_new(answers, f + 2, stored_value(v, vl));
        } else if (strcmp(f, "k") == 0) {
            json_object_set_new(j, "keep_value", stored_value(v, vl));
        }
    }
    freeReplyObject(r);
    assert_true(have_t);
    json_object_set_new(j, "answers", answers);
    return j;
}

static const char *state_str(const chat *c, const char *key)
{
    static char buf[256];
    json_t *j = state_of(c);
    const char *v = json_string_value(json_object_get(j, key));

    snprintf(buf, sizeof(buf), "%s", v ? v : "");
    json_decref(j);
    return buf;
}

/* ---- sample answers -------------------------------------------------- */

static const struct {
    const char *id, *value;
} samples[] = {
    {"topic", "1"},
    {"payer_type", "1"},
    {"size_at_signing", "小型企业"},
    {"overdue", "1"},
    {"proceedings", "没有"},
    {"legal_rep", "跳过"},
    {"respondent_contact", "跳过"},
    {"respondent_phone", "028-12345678"},
    {"respondent_address", "跳过"},
    {"contract_amount_fen", "150000"},
    {"paid_fen", "0"},
    {"issue_types", "1、3"},
    {"company_name", "成都示例科技有限公司"},
    {"uscc", NULL}, /* g_uscc */
    {"size", "小型"},
    {"region", "成都"},
    {"address", "成都市高新区天府大道 100 号"},
    {"contact_name", "张三"},
    {"mobile", "138 1234 5678"},
    {"question", "请问小规模纳税人增值税减免政策如何申请？"},
    {"preferred_time", "2"},
    {"respondent_name", "某市某局"},
    {"respondent_type", "1"},
    {"respondent_uscc", "跳过"},
    {"respondent_region", "重庆"},
    {"contract_name", "办公设备采购合同"},
    {"contract_no", "HT-2026-001"},
    {"signing_date", "2026-01-05"},
    {"supply_type", "货物"},
    {"delivery_date", "2026/2/1"},
    {"acceptance_based", "是"},
    {"acceptance_date", "2026年2月5日"},
    {"payment_term", "其他期限"},
    {"payment_term_note", "验收合格后 90 日内支付"},
    {"amount_fen", "123,456.78"},
    {"undisputed_fen", "100000"},
    {"due_date", "2026-03-03"},
    {"facts", "我公司于 2026 年 1 月签订合同并按期交付全部设备，对方验收合格后至今未付款。"},
    {"demand", "请求督促对方支付欠款及逾期利息。"},
    {"evidence", "合同\n验收单\n发票"},
    {"no_other_proceedings", "同意"},
    {"facts_true", "是"},
    {"consent", "同意"},
};

static const char *sample(const zq_field *f)
{
    size_t i;

    for (i = 0; i < ZQ_ARRAY_LEN(samples); i++)
        if (strcmp(samples[i].id, f->id) == 0)
            return samples[i].value ? samples[i].value : g_uscc;
    fail_msg("no sample for %s", f->id);
    return "";
}

/* The field a reply asks for: the question line ("请填写：X", "请选择：X",
 * or a bool's bare label) at the start of a line. */
static const zq_field *asked(const zq_form *f, const char *reply)
{
    const zq_field *best = NULL;
    size_t i, j, bestlen = 0;

    for (i = 0; i < f->nsteps; i++)
        for (j = 0; j < f->steps[i].nfields; j++) {
            const zq_field *x = &f->steps[i].fields[j];
            char line[300], nl[302];

            snprintf(line, sizeof(line), "%s%s%s",
                     x->type == ZQ_FIELD_ENUM || x->type == ZQ_FIELD_REGION ? "请选择："
                     : x->type == ZQ_FIELD_BOOL                             ? ""
                                                                            : "请填写：",
                     x->label, x->required ? "\n" : "（选填）\n");
            snprintf(nl, sizeof(nl), "\n%s", line);
            if ((strncmp(reply, line, strlen(line)) == 0 || strstr(reply, nl) != NULL) &&
                strlen(line) > bestlen) {
                best = x;
                bestlen = strlen(line);
            }
        }
    return best;
}

/* Fills the form to the review (starting it with start), checking each
 * question is the next visible one. Returns the last reply. */
static const char *fill(const chat *c, const char *form_id, const char *start)
{
    const zq_form *f = zq_schema_form(g_schema, form_id);
    const char *r = say(c, start);
    int guard = 0;

    assert_non_null(f);
    while (strstr(r, "请核对") == NULL) {
        const zq_field *x = asked(f, r);

        if (x == NULL)
            fail_msg("no question recognised in:\n%s", r);
        assert_true(guard++ < 60);
        r = say(c, sample(x));
    }
    return r;
}

static char *case_id_in(const char *reply, char out[ZQ_CASE_ID_MAX])
{
    const char *p = strstr(reply, "编号是：");

    assert_non_null(p);
    p += strlen("编号是：");
    snprintf(out, ZQ_CASE_ID_MAX, "%.15s", p);
    assert_true(zq_case_id_valid(out));
    return out;
}

/* ---- fixtures -------------------------------------------------------- */

static int reset(void **state)
{
    redisReply *r;

    (void)state;
    r = cmd("FLUSHALL");
    freeReplyObject(r);
    return 0;
}

static int group_setup(void **state)
{
    zq_err err = {0};
    char code17[] = "91510100MA61R7XQ3";

    (void)state;
    zq_log_init("test_dialogue", ZQ_LOG_ERROR);
    json_object_seed(1);
    if (zqt_tmpdir(g_dir, sizeof(g_dir)) != 0 ||
        zqt_redis_start(&g_redis, g_dir, 0, false, NULL) != 0)
        return -1;
    if (zq_schema_load(path_of("config/forms"), path_of("config/regions.json"), &g_schema, &err) !=
        0) {
        fprintf(stderr, "schema: %s\n", err.msg);
        return -1;
    }
    zq_config_defaults(&g_cfg);
    snprintf(g_cfg.redis.address, sizeof(g_cfg.redis.address), "127.0.0.1:%d", g_redis.port);
    snprintf(g_cfg.redis.prefix, sizeof(g_cfg.redis.prefix), "zqt:");
    snprintf(g_cfg.chat.web_base_url, sizeof(g_cfg.chat.web_base_url),
             "https://zhuqi.example.gov.cn");
    g_cfg.intake.lookup_per_minute = 3;
    g_store = zq_store_new(&g_cfg.redis);
    snprintf(g_uscc, sizeof(g_uscc), "%s%c", code17, zq_uscc_check_char(code17));
    return g_store != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    zq_store_free(g_store);
    zq_schema_free(g_schema);
    zqt_redis_stop(&g_redis);
    zqt_kill_all();
    zqt_rmtree(g_dir);
    return 0;
}

/* ---- tests ----------------------------------------------------------- */

static void test_first_message_shows_menu(void **state)
{
    chat c = chat_of("first");
    const char *r;

    (void)state;
    r = say(&c, "你好");
    assert_has(r, "您好");
    assert_has(r, "1 在线咨询");
    assert_has(r, "5 近期课程");
    r = say(&c, "随便说点什么");
    assert_has(r, "没有理解");
    assert_has(r, "2 投诉");
}

static void test_consult_happy_path(void **state)
{
    chat c = chat_of("consult-user");
    const char *r;
    char id[ZQ_CASE_ID_MAX], *s;
    json_t *answers;

    (void)state;
    r = say(&c, "1");
    assert_has(r, "【在线咨询】");
    assert_has(r, "请选择：咨询类别");
    assert_has(r, "1. 财税");
    assert_has(r, "8. 其他");
    r = say(&c, "1");
    assert_has(r, "请填写：企业名称");
    assert_has(r, "与营业执照上的名称一致。");
    assert_has(r, "例如：成都某某科技有限公司");
    r = say(&c, "成都示例科技有限公司");
    assert_has(r, "请填写：统一社会信用代码（选填）");
    assert_has(r, "不填请回复“跳过”");
    r = say(&c, "跳过");
    assert_has(r, "请选择：所在地区");
    r = say(&c, "成都");
    r = say(&c, "张三");
    assert_has(r, "请填写：手机号码");
    r = say(&c, "+86 138-1234-5678");
    assert_has(r, "【第二部分（共 2 部分）：咨询内容】");
    r = say(&c, "我们是一家 30 人的软件企业，想了解申报专精特新的条件。");
    assert_has(r, "请选择：方便联系的时间");
    r = say(&c, "工作日上午");
    assert_has(r, "请核对您填写的“在线咨询”");
    assert_has(r, "咨询类别：财税");
    assert_has(r, "统一社会信用代码：未填写");
    assert_has(r, "所在地区：成都市");
    assert_has(r, "手机号码：138****5678");
    assert_lacks(r, "13812345678");
    assert_has(r, "方便联系的时间：工作日上午");
    assert_has(r, "回复“确认”提交");
    r = say(&c, "确认");
    assert_has(r, "提交成功");
    case_id_in(r, id);
    assert_memory_equal(id, "ZX20", 4);
    s = cmd_str("HGET zqt:case:%s source", id);
    assert_string_equal(s, "chat:generic:consult-user");
    free(s);
    s = cmd_str("HGET zqt:case:%s answers", id);
    answers = json_loads(s, 0, NULL);
    free(s);
    assert_string_equal(json_string_value(json_object_get(answers, "mobile")), "13812345678");
    assert_string_equal(json_string_value(json_object_get(answers, "topic")), "tax");
    assert_string_equal(json_string_value(json_object_get(answers, "preferred_time")), "morning");
    assert_true(json_is_null(json_object_get(answers, "uscc")));
    json_decref(answers);
    /* A second 确认 gets the same number, no second case. */
    r = say(&c, "确认");
    assert_has(r, id);
    assert_has(r, "无需再次确认");
    assert_int_equal(cmd_int("ZCARD zqt:cases:all"), 1);
    assert_string_equal(state_str(&c, "mode"), "menu");
}

static void test_complaint_happy_path(void **state)
{
    chat c = chat_of("complaint-user");
    const char *r;
    char id[ZQ_CASE_ID_MAX], *s;
    json_t *answers;

    (void)state;
    r = fill(&c, "complaint", "投诉");
    assert_has(r, "请核对您填写的“拖欠中小企业款项投诉”");
    assert_has(r, "【1. 能否投诉】");
    assert_has(r, "【2. 投诉企业】");
    assert_has(r, "【5. 事实与请求】");
    assert_has(r, "问题类型：逾期未支付、强制以商业汇票等非现金方式支付");
    assert_has(r, "合同金额：150,000.00 元");
    assert_has(r, "已支付金额：0.00 元");
    assert_has(r, "企业规模：小型");
    assert_has(r, "被投诉单位所在地区：重庆市");
    assert_has(r, "拖欠金额：123,456.78 元");
    assert_has(r, "验收合格日期：2026年2月5日");
    assert_has(r, "付款期限说明：验收合格后 90 日内支付");
    assert_has(r, "手机号码：138****5678");
    assert_has(r, "同意为办理本投诉而处理所填的企业信息和个人信息：是");
    r = say(&c, "确认");
    assert_has(r, "提交成功！您的投诉编号是：TS");
    case_id_in(r, id);
    s = cmd_str("HGET zqt:case:%s source", id);
    assert_string_equal(s, "chat:generic:complaint-user");
    free(s);
    s = cmd_str("HGET zqt:case:%s answers", id);
    answers = json_loads(s, 0, NULL);
    free(s);
    assert_int_equal(json_integer_value(json_object_get(answers, "amount_fen")), 12345678);
    assert_int_equal(json_integer_value(json_object_get(answers, "undisputed_fen")), 10000000);
    assert_string_equal(json_string_value(json_object_get(answers, "delivery_date")), "2026-02-01");
    assert_string_equal(json_string_value(json_object_get(answers, "respondent_region")), "500000");
    assert_string_equal(json_string_value(json_object_get(answers, "payment_term")), "other");
    assert_true(json_is_true(json_object_get(answers, "consent")));
    assert_string_equal(json_string_value(json_object_get(answers, "evidence")),
                        "合同\n验收单\n发票");
    json_decref(answers);
}

/* A 确认 that is processed twice (a retry after the state could not be
 * saved) creates one case: the idempotency key comes from the draft. */
static void test_confirm_is_idempotent(void **state)
{
    chat c = chat_of("idem-user");
    char id[ZQ_CASE_ID_MAX], id2[ZQ_CASE_ID_MAX];
    redisReply *rr;

    (void)state;
    fill(&c, "consult", "咨询");
    rr = cmd("DUMP zqt:chat:generic:idem-user");
    assert_int_equal(rr->type, REDIS_REPLY_STRING);
    case_id_in(say(&c, "确认"), id);
    /* Put the review state back, as if the save after the case failed. */
    freeReplyObject(cmd("RESTORE zqt:chat:generic:idem-user 0 %b REPLACE", rr->str, rr->len));
    freeReplyObject(rr);
    case_id_in(say(&c, "确认"), id2);
    assert_string_equal(id, id2);
    assert_int_equal(cmd_int("ZCARD zqt:cases:all"), 1);
    /* A new draft is a new case. */
    fill(&c, "consult", "咨询");
    case_id_in(say(&c, "确认"), id2);
    assert_string_not_equal(id, id2);
}

/* A chat saved before the state was split into fields (the whole state
 * as JSON in field s) goes on after an upgrade: its answers, its kept
 * value and its counters are read, and the next save writes the fields
 * and drops s. */
/* Asserts that field of the chat's hash is want (NULL: absent). */
static void field_is(const chat *c, const char *field, const char *want)
{
    char *v = cmd_str("HGET zqt:chat:%s:%s %s", c->channel, c->user, field);

    if (want == NULL)
        assert_null(v);
    else
        assert_string_equal(v, want);
    free(v);
}

static void test_old_state_format(void **state)
{
    chat c = chat_of("old-format");
    json_t *st, *a;
    const char *r;

    (void)state;
    freeReplyObject(
        cmd("HSET zqt:chat:generic:old-format v 7 s %s",
            "{\"mode\":\"form\",\"form\":\"complaint\","
            "\"answers\":{\"payer_type\":\"institution\"},\"cur\":\"\",\"edit_step\":\"\","
            "\"draft\":\"00112233445566ff\",\"draft_v\":4,\"lookup\":\"\",\"last_case\":"
            "\"TS20261126-0001\",\"keep_field\":\"size_at_signing\",\"seq\":9,\"keep_value\":"
            "\"small\"}"));
    freeReplyObject(cmd("SET zqt:chat:generic:old-format:seen 1"));
    r = say(&c, "保留");
    assert_has(r, "请选择：合同约定或法定的付款期限是否已经届满");
    field_is(&c, "s", NULL);
    field_is(&c, "v", "8");
    st = state_of(&c);
    a = json_object_get(st, "answers");
    assert_string_equal(json_string_value(json_object_get(a, "payer_type")), "institution");
    assert_string_equal(json_string_value(json_object_get(a, "size_at_signing")), "small");
    assert_int_equal(json_object_size(a), 2);
    assert_string_equal(json_string_value(json_object_get(st, "mode")), "form");
    assert_string_equal(json_string_value(json_object_get(st, "draft")), "00112233445566ff");
    assert_string_equal(json_string_value(json_object_get(st, "last_case")), "TS20261126-0001");
    assert_string_equal(json_string_value(json_object_get(st, "keep_field")), "");
    assert_int_equal(json_integer_value(json_object_get(st, "draft_v")), 5);
    assert_int_equal(json_integer_value(json_object_get(st, "seq")), 10);
    assert_null(json_object_get(st, "keep_value"));
    json_decref(st);
    /* And on in the new format: 返回 keeps the last answer in k and
     * deletes its field; 保留 brings it back. */
    assert_has(say(&c, "返回"), "签订合同时，您的企业规模");
    field_is(&c, "a:size_at_signing", NULL);
    field_is(&c, "k", "ssmall");
    assert_has(say(&c, "保留"), "合同约定或法定的付款期限是否已经届满");
    field_is(&c, "k", NULL);
    field_is(&c, "a:size_at_signing", "ssmall");
    assert_has(say(&c, "1"), "这笔欠款是否已经被人民法院、仲裁机构或调解组织受理");
    field_is(&c, "a:overdue", "syes");
}

/* The save writes an answer that a turn left alone only when encoding
 * it again gives other bytes (a form enc_value never writes, here JSON
 * for a string): the turn skips the ones still holding the value the
 * load decoded, which must not leave such a form behind. Two chats with
 * the same answers share the values decoded (a cache per thread): each
 * keeps its own. */
static void test_saved_answers_as_encoded(void **state)
{
    chat a = chat_of("enc-a"), b = chat_of("enc-b");

    (void)state;
    freeReplyObject(cmd("HSET zqt:chat:generic:enc-a v 3 t %s a:payer_type %s a:size_at_signing %s",
                        "form|complaint|||00112233445566ff|4||||9", "j \"institution\"", "ssmall"));
    freeReplyObject(cmd("HSET zqt:chat:generic:enc-b v 5 t %s a:payer_type %s a:size_at_signing %s",
                        "form|complaint|||00112233445566aa|4||||2", "sinstitution", "ssmall"));
    assert_has(say(&a, "帮助"), "合同约定或法定的付款期限是否已经届满");
    field_is(&a, "v", "4");
    field_is(&a, "a:payer_type", "sinstitution");
    field_is(&a, "a:size_at_signing", "ssmall");
    assert_has(say(&b, "1"), "这笔欠款是否已经被人民法院、仲裁机构或调解组织受理");
    field_is(&b, "a:overdue", "syes");
    field_is(&b, "a:size_at_signing", "ssmall");
    assert_has(say(&a, "返回"), "签订合同时，您的企业规模");
    field_is(&a, "a:size_at_signing", NULL);
    field_is(&a, "k", "ssmall");
    assert_has(say(&b, "返回"), "合同约定或法定的付款期限是否已经届满");
    field_is(&b, "a:overdue", NULL);
    field_is(&b, "k", "syes");
    field_is(&b, "a:size_at_signing", "ssmall");
    assert_has(say(&a, "保留"), "合同约定或法定的付款期限是否已经届满");
    field_is(&a, "k", NULL);
    field_is(&a, "a:size_at_signing", "ssmall");
    field_is(&a, "a:payer_type", "sinstitution");
}

/* Every field's wrong answers get exactly the web's message. */
static void check_errors_of(const zq_field *x, const chat *c)
{
    zq_schema_opts o = {.today = TODAY, .money_ceiling_fen = g_cfg.intake.money_ceiling_yuan * 100};
    const char *bad[8];
    char big[20000];
    size_t n = 0, i;

    switch (x->type) {
    case ZQ_FIELD_TEXT:
        if (x->min >= 2)
            bad[n++] = "字";
        if (x->max > 0 && x->max < 6000) {
            size_t k, o2 = 0;

            for (k = 0; k <= (size_t)x->max; k++)
                o2 += (size_t)snprintf(big + o2, sizeof(big) - o2, "字");
            bad[n++] = big;
        }
        if (!x->multiline)
            bad[n++] = "第一行\n第二行";
        bad[n++] = "含有\x01控制字符的内容内容内容内容内容内容";
        break;
    case ZQ_FIELD_ENUM:
        bad[n++] = "99";
        bad[n++] = "不存在的选项";
        break;
    case ZQ_FIELD_USCC:
        bad[n++] = "12345";
        bad[n++] = "91510100MA61R7XQ3A";
        break;
    case ZQ_FIELD_MOBILE:
        bad[n++] = "12345";
        bad[n++] = "23812345678";
        break;
    case ZQ_FIELD_MONEY:
        bad[n++] = "很多钱";
        if (!x->allow_zero)
            bad[n++] = "0";
        bad[n++] = "1.234";
        bad[n++] = "-5";
        break;
    case ZQ_FIELD_DATE:
        bad[n++] = "2026-02-30";
        bad[n++] = "明天";
        if (x->not_future)
            bad[n++] = "2099-01-01";
        break;
    case ZQ_FIELD_REGION:
        bad[n++] = "火星";
        if (!x->allow_outside)
            bad[n++] = "重庆";
        break;
    case ZQ_FIELD_BOOL:
        bad[n++] = "也许";
        if (x->must_be_true)
            bad[n++] = "否";
        break;
    case ZQ_FIELD_FILES: fail_msg("a files field is never asked in a chat"); break;
    }
    for (i = 0; i < n; i++) {
        json_t *in = json_string(bad[i]), *out = NULL;
        const char *msg = NULL;
        char want[1100];
        const char *r;

        assert_true(zq_field_validate(g_schema, x, in, &o, &out, &msg) < 0);
        json_decref(in);
        snprintf(want, sizeof(want), "%s。", msg);
        r = say(c, bad[i]);
        assert_has(r, want);
        assert_has(r, "请重新回复：");
        assert_has(r, x->label);
    }
    if (x->required) {
        char want[300];

        snprintf(want, sizeof(want), "“%s”是必填项，不能跳过。", x->label);
        assert_has(say(c, "跳过"), want);
    }
}

static void walk_errors(const char *form_id, const char *user)
{
    const zq_form *f = zq_schema_form(g_schema, form_id);
    chat c = chat_of(user);
    bool consult = strcmp(form_id, "consult") == 0;
    const char *r = say(&c, consult ? "1" : "2");
    int checked = 0;

    while (strstr(r, "请核对") == NULL) {
        const zq_field *x = asked(f, r);
        char buf[64];

        assert_non_null(x);
        check_errors_of(x, &c);
        checked++;
        snprintf(buf, sizeof(buf), "%s", sample(x));
        r = say(&c, buf);
    }
    /* every visible field of the samples' path was asked */
    assert_int_equal(checked, consult ? 8 : 40);
}

static void test_validation_messages_consult(void **state)
{
    (void)state;
    walk_errors("consult", "val-consult");
}

static void test_validation_messages_complaint(void **state)
{
    (void)state;
    walk_errors("complaint", "val-complaint");
}

/* The cross-field rules give the web's messages on the field that breaks
 * them. */
static void test_cross_field_rules(void **state)
{
    chat c = chat_of("rules");
    const zq_form *f = zq_schema_form(g_schema, "complaint");
    const char *r = say(&c, "2");
    int hits = 0;

    (void)state;
    while (strstr(r, "请核对") == NULL) {
        const zq_field *x = asked(f, r);

        assert_non_null(x);
        if (strcmp(x->id, "delivery_date") == 0) {
            assert_has(say(&c, "2025-12-31"), "交付日期不能早于合同签订日期。");
            hits++;
        } else if (strcmp(x->id, "acceptance_date") == 0) {
            assert_has(say(&c, "2026-01-20"), "验收合格日期不能早于交付日期。");
            hits++;
        } else if (strcmp(x->id, "undisputed_fen") == 0) {
            assert_has(say(&c, "200000"), "无争议的金额不能超过拖欠金额。");
            hits++;
        } else if (strcmp(x->id, "due_date") == 0) {
            assert_has(say(&c, "2025-01-01"), "应付款日期不能早于合同签订日期。");
            hits++;
        }
        r = say(&c, sample(x));
    }
    assert_int_equal(hits, 4);
    /* Changing the signing date at the review past the delivery date is
     * caught on confirmation, on the field that breaks the rule. */
    r = say(&c, "修改 4");
    assert_has(r, "修改“合同与欠款”");
    assert_has(r, "请填写：合同名称");
    assert_has(r, "当前：办公设备采购合同");
    r = say(&c, "保留");
    r = say(&c, "保留");
    assert_has(r, "请填写：合同签订日期");
    r = say(&c, "2026-02-20");
    while (strstr(r, "请核对") == NULL && strstr(r, "不能早于") == NULL)
        r = say(&c, "保留");
    assert_has(r, "交付日期不能早于合同签订日期。");
    assert_has(r, "请填写：交付日期");
    r = say(&c, "2026-02-21");
    while (strstr(r, "请核对") == NULL) {
        assert_lacks(r, "请填写：合同名称");
        if (strstr(r, "不能早于") != NULL)
            r = say(&c, strstr(r, "验收合格日期") ? "2026-02-22" : "2026-03-30");
        else
            r = say(&c, "保留");
    }
    assert_has(r, "合同签订日期：2026年2月20日");
}

static void test_commands(void **state)
{
    chat c = chat_of("commands");
    const char *r;
    json_t *st;

    (void)state;
    r = say(&c, "/start");
    assert_has(r, "您好");
    r = say(&c, "投诉");
    assert_has(r, "请选择：欠款方（付款方）是什么单位");
    r = say(&c, "返回");
    assert_has(r, "已经是第一个问题了");
    say(&c, "1");
    say(&c, "小型企业");
    say(&c, "1");
    r = say(&c, "没有");
    assert_has(r, "请填写：企业名称");
    r = say(&c, "成都示例科技有限公司");
    assert_has(r, "请填写：统一社会信用代码");
    r = say(&c, "跳过");
    assert_has(r, "“统一社会信用代码”是必填项，不能跳过。");
    r = say(&c, g_uscc);
    assert_has(r, "请填写：法定代表人（选填）");
    /* 返回: the previous question with its answer, 保留 keeps it. */
    r = say(&c, "返回");
    assert_has(r, "请填写：统一社会信用代码");
    assert_has(r, "当前：");
    assert_has(r, g_uscc);
    r = say(&c, "保留");
    assert_has(r, "请填写：法定代表人（选填）");
    r = say(&c, "跳过");
    assert_has(r, "请选择：企业规模");
    /* 帮助 explains and repeats the question. */
    r = say(&c, "帮助");
    assert_has(r, "使用说明");
    assert_has(r, "当前的问题");
    assert_has(r, "请选择：企业规模");
    r = say(&c, "/help@zhuqi_bot");
    assert_has(r, "使用说明");
    /* 修改 and 确认 only at the review. */
    assert_has(say(&c, "修改 1"), "核对内容时使用");
    assert_has(say(&c, "确认"), "还没有填写完");
    /* 菜单 keeps the draft; choosing the flow again resumes it. */
    r = say(&c, "菜单");
    assert_has(r, "您有未完成的“拖欠中小企业款项投诉”");
    assert_has(r, "1 在线咨询");
    r = say(&c, "2");
    assert_has(r, "继续填写");
    assert_has(r, "请选择：企业规模");
    /* Starting the other flow drops this draft. */
    say(&c, "菜单");
    r = say(&c, "1");
    assert_has(r, "已放弃未完成的“拖欠中小企业款项投诉”");
    assert_has(r, "请选择：咨询类别");
    /* 取消 deletes the draft. */
    say(&c, "2");
    r = say(&c, "/cancel");
    assert_has(r, "已取消“在线咨询”的填写");
    assert_has(r, "1 在线咨询");
    st = state_of(&c);
    assert_int_equal(json_object_size(json_object_get(st, "answers")), 0);
    assert_string_equal(json_string_value(json_object_get(st, "form")), "");
    json_decref(st);
    /* Outside a flow there is nothing to skip or go back to. */
    assert_has(say(&c, "跳过"), "当前没有正在回答的问题");
    /* Full-width digits and punctuation are understood. */
    assert_has(say(&c, "２"), "请选择：欠款方（付款方）是什么单位");
    assert_has(say(&c, "取消。"), "已取消");
}

/* The eligibility check: an answer that rules the complaint out says why
 * and where to go instead, the text the web form shows, and ends the
 * flow. */
static void test_gate_stop(void **state)
{
    chat c = chat_of("gate");
    const zq_form *f = zq_schema_form(g_schema, "complaint");
    const zq_field *payer = zq_form_field(f, "payer_type", NULL);
    char msg[1024], want[1100];
    const char *r;

    (void)state;
    r = say(&c, "投诉");
    assert_has(r, "【第一部分（共 6 部分）：能否投诉】");
    r = say(&c, "个人");
    assert_int_equal(zq_stop_message(&payer->options[5], msg, sizeof(msg)), 0);
    snprintf(want, sizeof(want), "很抱歉，这里不能受理您的投诉。%s", msg);
    assert_has(r, want);
    assert_has(r, "12315");
    assert_has(r, "回复“菜单”返回主菜单");
    /* The flow is over: 投诉 starts again at the first question. */
    r = say(&c, "投诉");
    assert_has(r, "请选择：欠款方（付款方）是什么单位");
    say(&c, "1");
    say(&c, "1");
    r = say(&c, "还没有到期");
    assert_has(r, "款项还没有到期的，暂不能投诉。");
    r = say(&c, "投诉");
    say(&c, "1");
    say(&c, "1");
    say(&c, "1");
    r = say(&c, "已经受理或处理");
    assert_has(r, "请按照已经开始的诉讼、仲裁或调解程序继续办理");
}

/* Suggested values: the gate's answers for the same questions later,
 * the amount owed from the contract and paid amounts, the due date from
 * the acceptance date and the term, each taken with 采用. */
static void test_suggestions(void **state)
{
    chat c = chat_of("suggest");
    const zq_form *f = zq_schema_form(g_schema, "complaint");
    const char *r = say(&c, "投诉");
    int guard = 0, seen = 0;

    (void)state;
    while (strstr(r, "请核对") == NULL) {
        const zq_field *x = asked(f, r);

        assert_non_null(x);
        assert_true(guard++ < 60);
        if (strcmp(x->id, "size") == 0) {
            assert_has(r, "建议：小型。采用请回复“采用”");
            r = say(&c, "采用");
            seen++;
        } else if (strcmp(x->id, "respondent_type") == 0) {
            assert_has(r, "建议：机关。");
            r = say(&c, "采用");
            seen++;
        } else if (strcmp(x->id, "payment_term") == 0) {
            r = say(&c, "1");
        } else if (strcmp(x->id, "amount_fen") == 0) {
            assert_has(r, "建议：150,000.00 元。");
            r = say(&c, "采用");
            seen++;
        } else if (strcmp(x->id, "due_date") == 0) {
            assert_has(r, "建议：2026年3月7日（按验收合格日期 2026-02-05 加 30 天计算）");
            r = say(&c, "采用");
            seen++;
        } else {
            r = say(&c, sample(x));
        }
    }
    assert_int_equal(seen, 4);
    assert_has(r, "企业规模：小型");
    assert_has(r, "拖欠金额：150,000.00 元");
    assert_has(r, "应付款日期：2026年3月7日");
}

static void test_review_edit_group(void **state)
{
    chat c = chat_of("edit");
    const char *r;

    (void)state;
    fill(&c, "consult", "1");
    r = say(&c, "修改 火星");
    assert_has(r, "没有找到“火星”");
    assert_has(r, "1 咨询类别与企业信息、2 咨询内容");
    r = say(&c, "修改 咨询内容");
    assert_has(r, "请填写：咨询的问题");
    assert_has(r, "当前：请问小规模纳税人");
    r = say(&c, "想了解高新技术企业认定的条件和流程。");
    assert_has(r, "请选择：方便联系的时间");
    assert_has(r, "当前：工作日上午");
    r = say(&c, "保留");
    assert_has(r, "请核对");
    assert_has(r, "咨询的问题：想了解高新技术企业认定的条件和流程。");
    /* 返回 within a group, and out of it back to the review. */
    r = say(&c, "修改 2");
    r = say(&c, "返回");
    assert_has(r, "请核对");
    r = say(&c, "修改 1");
    assert_has(r, "请选择：咨询类别");
    r = say(&c, "3");
    assert_has(r, "请填写：企业名称");
    r = say(&c, "返回");
    assert_has(r, "请选择：咨询类别");
    assert_has(r, "当前：政策");
    r = say(&c, "菜单");
    r = say(&c, "1");
    assert_has(r, "请选择：咨询类别");
    r = say(&c, "保留");
    while (strstr(r, "请核对") == NULL)
        r = say(&c, "保留");
    assert_has(r, "咨询类别：政策");
    assert_has(say(&c, "随便"), "请回复“确认”提交");
}

static void test_lookup(void **state)
{
    chat c = chat_of("lookup");
    chat other = chat_of("lookup-other");
    const char *r;
    char id[ZQ_CASE_ID_MAX], cmdbuf[96], lower[ZQ_CASE_ID_MAX];
    size_t i;

    (void)state;
    /* One fixed minute, so the per-minute window cannot roll over. */
    c.now_ms = other.now_ms = (zq_now_ms() / 60000) * 60000 + 1000;
    fill(&c, "consult", "1");
    case_id_in(say(&c, "确认"), id);
    snprintf(cmdbuf, sizeof(cmdbuf), "查询 %s", id);
    r = say(&other, cmdbuf);
    assert_has(r, "请回复提交时填写的手机号码");
    r = say(&other, "123");
    assert_has(r, "手机号码");
    assert_has(r, "请重新回复手机号码");
    r = say(&other, "13900000000");
    assert_has(r, "未找到该案件，请核对案件编号和手机号码。");
    /* An unknown number looks the same. */
    r = say(&other, "查询 ZX20200101-9999");
    r = say(&other, "13812345678");
    assert_has(r, "未找到该案件，请核对案件编号和手机号码。");
    /* Lower case works; the third lookup this minute is refused
     * (lookup_per_minute = 3). */
    for (i = 0; id[i] != '\0'; i++)
        lower[i] = (char)tolower((unsigned char)id[i]);
    lower[i] = '\0';
    snprintf(cmdbuf, sizeof(cmdbuf), "查询 %s", lower);
    say(&other, cmdbuf);
    r = say(&other, "138 1234 5678");
    assert_has(r, id);
    assert_has(r, "当前状态：已提交");
    assert_has(r, "138****5678");
    assert_has(r, "张*");
    assert_lacks(r, "13812345678");
    assert_has(r, "办理记录");
    /* A consultation runs no time limit. */
    assert_lacks(r, "办理时限");
    say(&other, cmdbuf);
    r = say(&other, "13812345678");
    assert_has(r, "查询过于频繁，请稍后再试。");
    /* Menu route and a malformed number. */
    r = say(&other, "3");
    assert_has(r, "请回复要查询的案件编号");
    r = say(&other, "12345");
    assert_has(r, "案件编号格式不正确");
    r = say(&other, "返回");
    assert_has(r, "1 在线咨询");
}

/* The daily quota per mobile holds in the chat as on the web (issue 12,
 * item 2): the refused 确认 stores nothing and keeps the draft. */
static void test_quota_in_chat(void **state)
{
    chat a = chat_of("quota-a"), b = chat_of("quota-b");
    const char *r;
    char id[ZQ_CASE_ID_MAX];

    (void)state;
    g_cfg.intake.quota_mobile = 1;
    fill(&a, "consult", "1");
    case_id_in(say(&a, "确认"), id);
    fill(&b, "consult", "1"); /* the same sample mobile */
    r = say(&b, "确认");
    assert_has(r, "今天使用该手机号码提交的案件已达上限");
    assert_lacks(r, "提交成功");
    assert_int_equal(cmd_int("ZCARD zqt:cases:all"), 1);
    assert_string_equal(state_str(&b, "mode"), "review");
    /* A repeated 确认 of the stored case is no new case and no refusal. */
    assert_has(say(&a, "确认"), id);
    g_cfg.intake.quota_mobile = 0;
    assert_has(say(&b, "确认"), "提交成功");
    g_cfg.intake.quota_mobile = 5;
}

/* Wrong mobiles lock the case's lookup, the chat's 查询 too (issue 12,
 * item 7), and the chat never mentions a possible duplicate (item 9). */
static void test_lookup_lock_in_chat(void **state)
{
    chat c = chat_of("lock-owner"), other = chat_of("lock-other");
    const char *r;
    char id[ZQ_CASE_ID_MAX], cmdbuf[96];

    char *dup;

    (void)state;
    g_cfg.intake.lookup_fail_max = 2;
    g_cfg.intake.lookup_per_minute = 100;
    fill(&c, "complaint", "投诉");
    say(&c, "确认");
    fill(&c, "complaint", "投诉"); /* the same complaint again: a duplicate for staff */
    case_id_in(say(&c, "确认"), id);
    dup = cmd_str("HGET zqt:case:%s dup_of", id);
    assert_true(dup != NULL && dup[0] != '\0');
    free(dup);
    snprintf(cmdbuf, sizeof(cmdbuf), "查询 %s", id);
    say(&other, cmdbuf);
    r = say(&other, "13812345678");
    assert_has(r, "当前状态");
    assert_lacks(r, "相近");
    assert_lacks(r, "重复");
    say(&other, cmdbuf);
    assert_has(say(&other, "13900000001"), "未找到该案件");
    say(&other, cmdbuf);
    assert_has(say(&other, "13900000002"), "未找到该案件");
    say(&other, cmdbuf);
    r = say(&other, "13812345678");
    assert_has(r, "已暂时锁定");
    assert_lacks(r, "当前状态");
    g_cfg.intake.lookup_fail_max = 5;
    g_cfg.intake.lookup_per_minute = 3;
}

/* The chat's lookup shows the time limit running now, as the web's
 * lookup page does: a new complaint is in its review period. */
static void test_lookup_shows_deadline(void **state)
{
    chat c = chat_of("lookup-deadline");
    const char *r;
    char id[ZQ_CASE_ID_MAX], cmdbuf[96];

    (void)state;
    fill(&c, "complaint", "2");
    case_id_in(say(&c, "确认"), id);
    snprintf(cmdbuf, sizeof(cmdbuf), "查询 %s", id);
    say(&c, cmdbuf);
    r = say(&c, "13812345678");
    assert_has(r, "当前状态：已提交");
    assert_has(r, "下一个办理时限：\n· 受理审查期限：");
    assert_has(r, "日前（还有 ");
    assert_has(r, " 个工作日）");
}

static void test_subscribe(void **state)
{
    chat tg = {"telegram", "4242", true, ZQ_CH_TELEGRAM, "123:bot-token", NULL, NULL, 0};
    chat plain = chat_of("nosub");
    char id[ZQ_TARGET_ID_MAX], *s;
    const char *r;

    (void)state;
    assert_int_equal(zq_target_chat_id("chat:telegram:4242", id), 0);
    r = say(&plain, "4");
    assert_has(r, "暂时不能推送提醒");
    r = say(&tg, "4");
    assert_has(r, "请回复企业所在的市（州）");
    r = say(&tg, "火星");
    assert_has(r, "请重新回复市（州）名称");
    r = say(&tg, "成都");
    assert_has(r, "订阅成功");
    assert_has(r, "成都市");
    s = cmd_str("HGET zqt:target:%s channel", id);
    assert_string_equal(s, "telegram");
    free(s);
    s = cmd_str("HGET zqt:target:%s address", id);
    assert_string_equal(s, "123:bot-token");
    free(s);
    s = cmd_str("HGET zqt:target:%s chat_id", id);
    assert_string_equal(s, "4242");
    free(s);
    s = cmd_str("HGET zqt:target:%s tags", id);
    assert_string_equal(s, "tax,tax_day,510100,region:510100");
    free(s);
    assert_int_equal(cmd_int("SISMEMBER zqt:targets:tag:tax %s", id), 1);
    /* The audience of the shipped monthly reminder (config/reminders.json). */
    assert_int_equal(cmd_int("SISMEMBER zqt:targets:tag:tax_day %s", id), 1);
    assert_int_equal(cmd_int("SISMEMBER zqt:targets:tag:region:510100 %s", id), 1);
    assert_int_equal(cmd_int("SISMEMBER zqt:targets:tag:510100 %s", id), 1);
    assert_int_equal(cmd_int("SISMEMBER zqt:targets %s", id), 1);
    /* Again without a region: one target, the region tag gone. */
    r = say(&tg, "订阅");
    r = say(&tg, "跳过");
    assert_has(r, "订阅成功");
    assert_int_equal(cmd_int("SCARD zqt:targets"), 1);
    assert_int_equal(cmd_int("SISMEMBER zqt:targets:tag:510100 %s", id), 0);
    r = say(&tg, "订阅 绵阳");
    assert_has(r, "绵阳市");
    assert_int_equal(cmd_int("SISMEMBER zqt:targets:tag:510700 %s", id), 1);
    r = say(&tg, "退订");
    assert_has(r, "已退订");
    assert_int_equal(cmd_int("EXISTS zqt:target:%s", id), 0);
    assert_int_equal(cmd_int("SCARD zqt:targets"), 0);
    assert_int_equal(cmd_int("SISMEMBER zqt:targets:tag:tax %s", id), 0);
    assert_has(say(&tg, "退订"), "还没有订阅");
}

static void test_classes(void **state)
{
    chat c = chat_of("classes");
    redisReply *rr;
    const char *r;
    long long soon = (long long)zq_now_ms() + 86400000LL;

    (void)state;
    r = say(&c, "5");
    assert_has(r, "近期还没有发布课程安排");
    rr = cmd("ZADD zqt:classes %lld %s", soon,
             "{\"title\":\"小规模纳税人增值税优惠解读\",\"date\":\"2026-11-27\","
             "\"time\":\"14:30\",\"live_url\":\"https://live.example.cn/27\"}");
    freeReplyObject(rr);
    r = say(&c, "近期课程");
    assert_has(r, "小规模纳税人增值税优惠解读");
    assert_has(r, "2026-11-27 14:30");
    assert_has(r, "https://live.example.cn/27");
}

static void test_handoff(void **state)
{
    chat c = chat_of("handoff");
    zq_config nolink = g_cfg;
    chat c2 = chat_of("handoff-off");
    const char *r, *p;
    char token[65];
    json_t *d = NULL;
    zq_err err = {0};
    size_t i;

    (void)state;
    r = say(&c, "网页填写");
    assert_has(r, "请先回复 1 在线咨询 或 2 欠款投诉");
    r = say(&c, "2");
    for (i = 0; i < 12; i++)
        r = say(&c, sample(asked(zq_schema_form(g_schema, "complaint"), r)));
    assert_has(r, "请填写：被投诉单位名称");
    r = say(&c, "网页填写");
    assert_has(r, "https://zhuqi.example.gov.cn/form.html?form=complaint#handoff=");
    assert_has(r, "请填写：被投诉单位名称"); /* and the question again */
    p = strstr(r, "#handoff=") + strlen("#handoff=");
    memcpy(token, p, 64);
    token[64] = '\0';
    assert_int_equal(cmd_int("TTL zqt:handoff:%s", token) > 890, 1);
    assert_int_equal(zq_dialogue_take_handoff(g_store, token, &d, &err), 0);
    assert_string_equal(json_string_value(json_object_get(d, "form")), "complaint");
    assert_string_equal(json_string_value(json_object_get(d, "step")), "respondent");
    assert_int_equal(json_array_size(json_object_get(d, "done")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "done"), 0)),
                        "eligibility");
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "done"), 1)),
                        "complainant");
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "answers"), "mobile")),
                        "13812345678");
    json_decref(d);
    /* Single use. */
    assert_int_equal(zq_dialogue_take_handoff(g_store, token, &d, &err), -ZQ_ENOTFOUND);
    assert_int_equal(zq_dialogue_take_handoff(g_store, "../etc", &d, &err), -ZQ_ENOTFOUND);
    /* Off without a site address. */
    nolink.chat.web_base_url[0] = '\0';
    c2.cfg = &nolink;
    say(&c2, "1");
    assert_has(say(&c2, "网页填写"), "网页填写暂未开放");
}

static void test_non_text_and_long_text(void **state)
{
    chat c = chat_of("media");
    zq_config small = g_cfg;
    char big[200];
    const char *r;

    (void)state;
    say(&c, "1");
    r = send_raw(&c, NULL, 0);
    assert_has(r, "目前只能处理文字消息");
    assert_has(r, "请重新回复：咨询类别");
    small.chat.max_text = 64;
    c.cfg = &small;
    memset(big, 'a', 65);
    big[65] = '\0';
    r = say(&c, big);
    assert_has(r, "每条消息最多 64 字节");
    /* Nothing advanced. */
    r = say(&c, "帮助");
    assert_has(r, "请选择：咨询类别");
    r = send_raw(&c, "\xff\xfe", 2);
    assert_has(r, "无法识别的字符");
}

static void test_expiry_and_resume(void **state)
{
    chat c = chat_of("expiry");
    const char *r;
    long long ttl;

    (void)state;
    say(&c, "1");
    say(&c, "1");
    ttl = cmd_int("TTL zqt:chat:generic:expiry");
    assert_true(ttl > 0 && ttl <= g_cfg.chat.session_ttl_s);
    assert_true(cmd_int("TTL zqt:chat:generic:expiry:seen") > 86400);
    /* Resume within the TTL: the same question. */
    r = say(&c, "菜单");
    r = say(&c, "1");
    assert_has(r, "继续填写");
    assert_has(r, "请填写：企业名称");
    /* The session expires (TTL reached): the user is told and sees the
     * menu; the draft is gone. */
    assert_int_equal(cmd_int("DEL zqt:chat:generic:expiry"), 1);
    r = say(&c, "成都示例科技有限公司");
    assert_has(r, "填写已超时");
    assert_has(r, "1 在线咨询");
    r = say(&c, "1");
    assert_lacks(r, "继续填写");
    assert_has(r, "请选择：咨询类别");
    /* Expiry at the menu is not worth a word. */
    say(&c, "菜单");
    assert_int_equal(cmd_int("DEL zqt:chat:generic:expiry"), 1);
    r = say(&c, "你好");
    assert_lacks(r, "超时");
}

typedef struct worker_arg {
    const char *user;
    const char *text;
    const char *dedup_id;
    int duplicates;
    int n;
    int failures;
    pthread_barrier_t *go;
    char reply[4096];
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    zq_store *st = zq_store_new(&g_cfg.redis);
    int i;

    pthread_barrier_wait(a->go);
    for (i = 0; i < a->n; i++) {
        zq_dialogue_env env = {0};
        zq_dialogue_in in = {0};
        zq_dialogue_replies r = {0};
        zq_err err = {0};

        env.store = st;
        env.cfg = &g_cfg;
        env.schema = g_schema;
        env.today = TODAY;
        in.channel = "generic";
        in.user = a->user;
        in.text = a->text;
        in.text_len = strlen(a->text);
        in.dedup_id = a->dedup_id;
        if (zq_dialogue_handle(&env, &in, &r, &err) != 0)
            a->failures++;
        else if (r.duplicate)
            a->duplicates++;
        else if (r.n == 0)
            a->failures++;
        else
            snprintf(a->reply, sizeof(a->reply), "%s", r.text[r.n - 1]);
        zq_dialogue_replies_clear(&r);
    }
    zq_store_free(st);
    return NULL;
}

/* Many messages of one user at once: each is applied exactly once, on the
 * state the one before left (the count of processed messages adds up). */
static void test_concurrent_messages_counted_once(void **state)
{
    enum { T = 6, N = 20 };
    chat c = chat_of("busy");
    worker_arg a[T];
    pthread_t th[T];
    pthread_barrier_t go;
    json_t *st;
    int i;

    (void)state;
    say(&c, "1");
    pthread_barrier_init(&go, NULL, T);
    for (i = 0; i < T; i++) {
        memset(&a[i], 0, sizeof(a[i]));
        a[i].user = "busy";
        a[i].text = "帮助";
        a[i].n = N;
        a[i].go = &go;
        assert_int_equal(pthread_create(&th[i], NULL, worker, &a[i]), 0);
    }
    for (i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(a[i].failures, 0);
    }
    pthread_barrier_destroy(&go);
    st = state_of(&c);
    assert_int_equal(json_integer_value(json_object_get(st, "seq")), 1 + T * N);
    json_decref(st);
}

/* Two answers to the same question at the same time: one answers it, the
 * other is taken as the answer to the next question, never both to the
 * same one. */
static void test_concurrent_answers_serialised(void **state)
{
    chat c = chat_of("race");
    worker_arg a[2];
    pthread_t th[2];
    pthread_barrier_t go;
    json_t *st, *answers;
    const char *topic;
    int i, asked_name = 0, short_name = 0;

    (void)state;
    say(&c, "1");
    pthread_barrier_init(&go, NULL, 2);
    for (i = 0; i < 2; i++) {
        memset(&a[i], 0, sizeof(a[i]));
        a[i].user = "race";
        a[i].text = i == 0 ? "1" : "2";
        a[i].n = 1;
        a[i].go = &go;
        assert_int_equal(pthread_create(&th[i], NULL, worker, &a[i]), 0);
    }
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (i = 0; i < 2; i++) {
        assert_int_equal(a[i].failures, 0);
        if (strstr(a[i].reply, "企业名称至少 2 个字") != NULL)
            short_name++;
        else if (strstr(a[i].reply, "请填写：企业名称") != NULL)
            asked_name++;
    }
    assert_int_equal(asked_name, 1);
    assert_int_equal(short_name, 1);
    st = state_of(&c);
    answers = json_object_get(st, "answers");
    topic = json_string_value(json_object_get(answers, "topic"));
    assert_non_null(topic);
    assert_true(strcmp(topic, "tax") == 0 || strcmp(topic, "financing") == 0);
    assert_null(json_object_get(answers, "company_name"));
    assert_int_equal(json_integer_value(json_object_get(st, "seq")), 3);
    json_decref(st);
}

/* A signature that covers no message id carries one message: the same
 * signature with another id is refused (replayed) with nothing changed;
 * a retry of the first (same id) is a duplicate as usual. */
static void test_signature_used_once(void **state)
{
    zq_dialogue_env env = {0};
    zq_dialogue_in in = {0};
    zq_dialogue_replies r = {0};
    zq_err err = {0};
    char *v1, *v2;

    (void)state;
    env.store = g_store;
    env.cfg = &g_cfg;
    env.schema = g_schema;
    env.today = TODAY;
    in.channel = "dingtalk";
    in.user = "sig";
    in.text = "2";
    in.text_len = 1;
    in.dedup_id = "m-1";
    in.sig_id = "s-1";
    in.sig_ttl_s = 600;
    assert_int_equal(zq_dialogue_handle(&env, &in, &r, &err), 0);
    assert_false(r.duplicate);
    assert_false(r.replayed);
    assert_true(r.n > 0);
    zq_dialogue_replies_clear(&r);
    v1 = cmd_str("GET zqt:sig:dingtalk:s-1");
    assert_string_equal(v1, "m-1");
    free(v1);
    assert_true(cmd_int("TTL zqt:sig:dingtalk:s-1") > 590);
    v1 = cmd_str("HGET zqt:chat:dingtalk:sig v");
    in.dedup_id = "m-2";
    assert_int_equal(zq_dialogue_handle(&env, &in, &r, &err), 0);
    assert_true(r.replayed);
    assert_false(r.duplicate);
    assert_int_equal(r.n, 0);
    assert_int_equal(cmd_int("EXISTS zqt:dedup:dingtalk:m-2"), 0);
    in.dedup_id = "m-1";
    assert_int_equal(zq_dialogue_handle(&env, &in, &r, &err), 0);
    assert_true(r.duplicate);
    assert_false(r.replayed);
    v2 = cmd_str("HGET zqt:chat:dingtalk:sig v");
    assert_string_equal(v1, v2);
    free(v1);
    free(v2);
    /* Another signature carries another message. */
    in.dedup_id = "m-3";
    in.sig_id = "s-2";
    in.text = "1";
    assert_int_equal(zq_dialogue_handle(&env, &in, &r, &err), 0);
    assert_false(r.duplicate);
    assert_false(r.replayed);
    zq_dialogue_replies_clear(&r);
}

/* The load reads the chat's hash as one packed string (lib/chat/
 * dialogue.c's load_script): answers that look like the pack's own
 * syntax come back whole, and a chat key of another type is an error
 * while the signature's mark is set all the same, as with the pipeline
 * the script replaced. */
static void test_load_packed(void **state)
{
    chat c = chat_of("packed");
    zq_dialogue_env env = {0};
    zq_dialogue_in in = {0};
    zq_dialogue_replies r = {0};
    zq_err err = {0};
    char *v;

    (void)state;
    say(&c, "2");
    say(&c, "2");
    say(&c, "2");
    say(&c, "1");
    assert_has(say(&c, "1"), "企业名称");
    assert_has(say(&c, "~3:a~:12:某某公司"), "请");
    field_is(&c, "a:company_name", "s~3:a~:12:某某公司");
    assert_has(say(&c, "返回"), "企业名称");
    field_is(&c, "k", "s~3:a~:12:某某公司");
    say(&c, "保留");
    field_is(&c, "a:company_name", "s~3:a~:12:某某公司");
    field_is(&c, "k", NULL);

    freeReplyObject(cmd("SET zqt:chat:generic:wrongtype x"));
    env.store = g_store;
    env.cfg = &g_cfg;
    env.schema = g_schema;
    env.today = TODAY;
    in.channel = "generic";
    in.user = "wrongtype";
    in.text = "1";
    in.text_len = 1;
    in.dedup_id = "w-1";
    in.sig_id = "ws-1";
    in.sig_ttl_s = 600;
    assert_int_equal(zq_dialogue_handle(&env, &in, &r, &err), -ZQ_EREPLY);
    assert_int_equal(r.n, 0);
    v = cmd_str("GET zqt:sig:generic:ws-1");
    assert_string_equal(v, "w-1");
    free(v);
    v = cmd_str("GET zqt:chat:generic:wrongtype");
    assert_string_equal(v, "x");
    free(v);
}

/* A message id is applied once: a retry is a duplicate with no reply and
 * no change, even when both arrive at the same moment. */
static void test_message_ids_applied_once(void **state)
{
    enum { T = 4 };
    zq_dialogue_env env = {0};
    zq_dialogue_in in = {0};
    zq_dialogue_replies r = {0};
    zq_err err = {0};
    worker_arg a[T];
    pthread_t th[T];
    pthread_barrier_t go;
    char *v1, *v2;
    int i, applied = 0, dups = 0;

    (void)state;
    env.store = g_store;
    env.cfg = &g_cfg;
    env.schema = g_schema;
    env.today = TODAY;
    in.channel = "generic";
    in.user = "dedup";
    in.text = "2";
    in.text_len = 1;
    in.dedup_id = "msg-1";
    assert_int_equal(zq_dialogue_handle(&env, &in, &r, &err), 0);
    assert_false(r.duplicate);
    assert_true(r.n > 0);
    zq_dialogue_replies_clear(&r);
    v1 = cmd_str("HGET zqt:chat:generic:dedup v");
    assert_true(cmd_int("TTL zqt:dedup:generic:msg-1") > 86000);
    assert_int_equal(zq_dialogue_handle(&env, &in, &r, &err), 0);
    assert_true(r.duplicate);
    assert_int_equal(r.n, 0);
    v2 = cmd_str("HGET zqt:chat:generic:dedup v");
    assert_string_equal(v1, v2);
    free(v1);
    free(v2);
    /* Another id goes through. */
    in.dedup_id = "msg-2";
    in.text = "1";
    in.text_len = strlen(in.text);
    assert_int_equal(zq_dialogue_handle(&env, &in, &r, &err), 0);
    assert_false(r.duplicate);
    zq_dialogue_replies_clear(&r);
    /* The same new id from four workers at once: applied once. */
    pthread_barrier_init(&go, NULL, T);
    for (i = 0; i < T; i++) {
        memset(&a[i], 0, sizeof(a[i]));
        a[i].user = "dedup";
        a[i].text = "小型企业";
        a[i].dedup_id = "msg-3";
        a[i].n = 1;
        a[i].go = &go;
        assert_int_equal(pthread_create(&th[i], NULL, worker, &a[i]), 0);
    }
    for (i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(a[i].failures, 0);
        dups += a[i].duplicates;
        applied += 1 - a[i].duplicates;
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(applied, 1);
    assert_int_equal(dups, T - 1);
    {
        chat c = chat_of("dedup");
        json_t *st = state_of(&c);

        assert_int_equal(json_integer_value(json_object_get(st, "seq")), 3);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(st, "answers"), "size_at_signing")),
            "small");
        json_decref(st);
    }
}

static void test_redis_down(void **state)
{
    zqt_redis r2;
    zq_config cfg = g_cfg;
    zq_store *st;
    zq_dialogue_env env = {0};
    zq_dialogue_in in = {0};
    zq_dialogue_replies rep = {0};
    zq_err err = {0};

    (void)state;
    assert_int_equal(zqt_redis_start(&r2, g_dir, 0, false, NULL), 0);
    snprintf(cfg.redis.address, sizeof(cfg.redis.address), "127.0.0.1:%d", r2.port);
    cfg.redis.command_timeout_ms = 300;
    st = zq_store_new(&cfg.redis);
    env.store = st;
    env.cfg = &cfg;
    env.schema = g_schema;
    in.channel = "generic";
    in.user = "down";
    in.text = "1";
    in.text_len = 1;
    assert_int_equal(zq_dialogue_handle(&env, &in, &rep, &err), 0);
    zq_dialogue_replies_clear(&rep);
    zqt_redis_kill(&r2);
    assert_int_equal(zq_dialogue_handle(&env, &in, &rep, &err), -ZQ_EUNAVAIL);
    assert_int_equal(rep.n, 0);
    zq_store_free(st);
}

static void test_bad_input_and_user_keys(void **state)
{
    zq_dialogue_env env = {0};
    zq_dialogue_in in = {0};
    zq_dialogue_replies rep = {0};
    zq_err err = {0};
    char k[ZQ_DIALOGUE_USER_MAX + 1];
    chat odd = chat_of("$:LWCP_v1:$abc+/=");

    (void)state;
    env.store = g_store;
    env.cfg = &g_cfg;
    env.schema = g_schema;
    in.channel = "Bad-Channel";
    in.user = "u";
    assert_int_equal(zq_dialogue_handle(&env, &in, &rep, &err), -ZQ_EINVAL);
    in.channel = "generic";
    in.user = "";
    assert_int_equal(zq_dialogue_handle(&env, &in, &rep, &err), -ZQ_EINVAL);
    zq_dialogue_user_key("ou_7d8a6e6df7621556ce0d21922b676706ccs", k);
    assert_string_equal(k, "ou_7d8a6e6df7621556ce0d21922b676706ccs");
    zq_dialogue_user_key("$:LWCP_v1:$abc+/=", k);
    assert_int_equal(strlen(k), 33);
    assert_int_equal(k[0], 'h');
    say(&odd, "你好");
    assert_int_equal(cmd_int("EXISTS zqt:chat:generic:%s", k), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_first_message_shows_menu, reset),
        cmocka_unit_test_setup(test_consult_happy_path, reset),
        cmocka_unit_test_setup(test_complaint_happy_path, reset),
        cmocka_unit_test_setup(test_confirm_is_idempotent, reset),
        cmocka_unit_test_setup(test_validation_messages_consult, reset),
        cmocka_unit_test_setup(test_validation_messages_complaint, reset),
        cmocka_unit_test_setup(test_cross_field_rules, reset),
        cmocka_unit_test_setup(test_commands, reset),
        cmocka_unit_test_setup(test_gate_stop, reset),
        cmocka_unit_test_setup(test_old_state_format, reset),
        cmocka_unit_test_setup(test_saved_answers_as_encoded, reset),
        cmocka_unit_test_setup(test_suggestions, reset),
        cmocka_unit_test_setup(test_review_edit_group, reset),
        cmocka_unit_test_setup(test_lookup, reset),
        cmocka_unit_test_setup(test_lookup_shows_deadline, reset),
        cmocka_unit_test_setup(test_quota_in_chat, reset),
        cmocka_unit_test_setup(test_lookup_lock_in_chat, reset),
        cmocka_unit_test_setup(test_subscribe, reset),
        cmocka_unit_test_setup(test_classes, reset),
        cmocka_unit_test_setup(test_handoff, reset),
        cmocka_unit_test_setup(test_non_text_and_long_text, reset),
        cmocka_unit_test_setup(test_expiry_and_resume, reset),
        cmocka_unit_test_setup(test_concurrent_messages_counted_once, reset),
        cmocka_unit_test_setup(test_concurrent_answers_serialised, reset),
        cmocka_unit_test_setup(test_message_ids_applied_once, reset),
        cmocka_unit_test_setup(test_signature_used_once, reset),
        cmocka_unit_test_setup(test_load_packed, reset),
        cmocka_unit_test_setup(test_redis_down, reset),
        cmocka_unit_test_setup(test_bad_input_and_user_keys, reset),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

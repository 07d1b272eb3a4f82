/* Unit tests for the channel adapters: rendering per platform (the JSON
 * parsed back with jansson), mentions, escaping, byte-aware splitting,
 * signatures against vectors made with the openssl command line
 * (tests/data/channel/), and the classification of platform answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <pthread.h>

#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"
#include "zhuqi/targets.h"

static const char *path_of(const char *rel)
{
    static char buf[1024];
    const char *root = getenv("ZQ_TEST_ROOT");

    snprintf(buf, sizeof(buf), "%s/%s", root != NULL ? root : ".", rel);
    return buf;
}

/* A target of kind k with address, secret and chat id. */
static zq_target target(zq_channel_kind k, const char *address, const char *secret,
                        const char *chat)
{
    zq_target t;

    memset(&t, 0, sizeof(t));
    snprintf(t.id, sizeof(t.id), "t-%s", zq_channel_name(k));
    t.kind = k;
    snprintf(t.address, sizeof(t.address), "%s", address);
    snprintf(t.secret, sizeof(t.secret), "%s", secret ? secret : "");
    snprintf(t.chat_id, sizeof(t.chat_id), "%s", chat ? chat : "");
    return t;
}

static zq_channel_config fake_config(void)
{
    zq_channel_config cc;
    char why[200];

    zq_channel_config_defaults(&cc);
    snprintf(cc.base_url[ZQ_CH_WECOM], sizeof(cc.base_url[0]), "http://127.0.0.1:9/wecom");
    snprintf(cc.base_url[ZQ_CH_DINGTALK], sizeof(cc.base_url[0]), "http://127.0.0.1:9/dingtalk");
    snprintf(cc.base_url[ZQ_CH_FEISHU], sizeof(cc.base_url[0]), "http://127.0.0.1:9/feishu");
    snprintf(cc.base_url[ZQ_CH_TELEGRAM], sizeof(cc.base_url[0]), "http://127.0.0.1:9/telegram");
    /* Generic targets point at the closed local port: listed, as the
     * e2e harness lists its fake ([channels] generic_allow). */
    assert_int_equal(zq_netguard_parse("127.0.0.1:9", &cc.generic_guard, why, sizeof(why)), 0);
    return cc;
}

/* Renders and asserts success; returns the requests. */
static zq_outreq *render_ok(const zq_channel_config *cc, const zq_target *t, const zq_message *m,
                            int64_t now_ms, size_t *n)
{
    zq_outreq *reqs = NULL;
    zq_err err = {0};
    int rc = zq_channel_render(cc, t, m, now_ms, &reqs, n, &err);

    if (rc != 0)
        fail_msg("render %s: %d %s", zq_channel_name(t->kind), rc, err.msg);
    assert_non_null(reqs);
    assert_true(*n >= 1);
    return reqs;
}

/* The body of r parsed (new reference; asserts it is a JSON object). */
static json_t *body_json(const zq_outreq *r)
{
    json_error_t je;
    json_t *j = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);

    if (j == NULL)
        fail_msg("body is not JSON: %s: %.200s", je.text, r->body.data);
    assert_true(json_is_object(j));
    assert_string_equal(r->content_type, "application/json; charset=utf-8");
    return j;
}

/* The string at a path of object keys ("card", "header", ...), NULL-ended. */
static const char *jpath(json_t *j, ...)
{
    va_list ap;
    const char *k;

    va_start(ap, j);
    while ((k = va_arg(ap, const char *)) != NULL)
        j = json_object_get(j, k);
    va_end(ap);
    return json_string_value(j);
}

static const char *feishu_content(json_t *j)
{
    json_t *els = json_object_get(json_object_get(j, "card"), "elements");

    assert_int_equal(json_array_size(els), 1);
    assert_string_equal(jpath(json_array_get(els, 0), "tag", NULL), "markdown");
    return jpath(json_array_get(els, 0), "content", NULL);
}

/* ---- names, defaults ---- */

static void test_names(void **state)
{
    zq_channel_kind k;
    int i;

    for (i = 0; i < ZQ_CH__COUNT; i++) {
        assert_int_equal(zq_channel_parse(zq_channel_name((zq_channel_kind)i), &k), 0);
        assert_int_equal(k, i);
    }
    assert_string_equal(zq_channel_name(ZQ_CH_WECOM), "wecom-robot");
    assert_string_equal(zq_channel_name(ZQ_CH_DINGTALK), "dingtalk-robot");
    assert_string_equal(zq_channel_name(ZQ_CH_FEISHU), "feishu-bot");
    assert_string_equal(zq_channel_name(ZQ_CH_TELEGRAM), "telegram");
    assert_string_equal(zq_channel_name(ZQ_CH_GENERIC), "generic");
    assert_int_equal(zq_channel_parse("wecom", &k), -ZQ_EINVAL);
    assert_int_equal(zq_channel_parse("", &k), -ZQ_EINVAL);
    assert_int_equal(zq_channel_parse(NULL, &k), -ZQ_EINVAL);
    assert_string_equal(zq_channel_name(ZQ_CH__COUNT), "unknown");
}

static void test_defaults(void **state)
{
    zq_channel_config cc;

    zq_channel_config_defaults(&cc);
    assert_string_equal(cc.base_url[ZQ_CH_WECOM], "https://qyapi.weixin.qq.com");
    assert_string_equal(cc.base_url[ZQ_CH_DINGTALK], "https://oapi.dingtalk.com");
    assert_string_equal(cc.base_url[ZQ_CH_FEISHU], "https://open.feishu.cn");
    assert_string_equal(cc.base_url[ZQ_CH_TELEGRAM], "https://api.telegram.org");
    assert_int_equal(cc.limits[ZQ_CH_WECOM].max_bytes, 4096);
    assert_int_equal(cc.limits[ZQ_CH_WECOM].per_minute, 20);
    assert_int_equal(cc.limits[ZQ_CH_DINGTALK].max_bytes, 20000);
    assert_int_equal(cc.limits[ZQ_CH_DINGTALK].per_minute, 20);
    assert_int_equal(cc.limits[ZQ_CH_FEISHU].max_bytes, 20000);
    assert_int_equal(cc.limits[ZQ_CH_FEISHU].per_minute, 100);
    assert_int_equal(cc.limits[ZQ_CH_FEISHU].per_second, 5);
    assert_int_equal(cc.limits[ZQ_CH_TELEGRAM].max_bytes, 4096);
    assert_int_equal(cc.limits[ZQ_CH_TELEGRAM].per_minute, 20);
    assert_int_equal(cc.limits[ZQ_CH_GENERIC].max_bytes, 65536);
    assert_int_equal(cc.limits[ZQ_CH_GENERIC].per_minute, 0);
}

/* ---- signatures ---- */

typedef struct vector {
    char kind[16];
    char secret[128];
    char ts[32];
    char body[256];
    char want[128];
} vector;

/* Reads tests/data/channel/sign_vectors.txt (see make_vectors.sh). */
static size_t load_vectors(vector *v, size_t max)
{
    FILE *f = fopen(path_of("tests/data/channel/sign_vectors.txt"), "r");
    char line[1024], *fields[5], *p;
    size_t n = 0, nf;

    if (f == NULL)
        fail_msg("cannot open sign_vectors.txt (run from the repository root)");
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        nf = 0;
        for (p = line; nf < 5;) {
            fields[nf++] = p;
            p = strchr(p, '\t');
            if (p == NULL)
                break;
            *p++ = '\0';
        }
        assert_true(n < max);
        memset(&v[n], 0, sizeof(v[n]));
        snprintf(v[n].kind, sizeof(v[n].kind), "%s", fields[0]);
        snprintf(v[n].secret, sizeof(v[n].secret), "%s", fields[1]);
        snprintf(v[n].ts, sizeof(v[n].ts), "%s", fields[2]);
        if (strcmp(fields[0], "generic") == 0) {
            assert_int_equal(nf, 5);
            snprintf(v[n].body, sizeof(v[n].body), "%s", fields[3]);
            snprintf(v[n].want, sizeof(v[n].want), "%s", fields[4]);
        } else {
            assert_int_equal(nf, 4);
            snprintf(v[n].want, sizeof(v[n].want), "%s", fields[3]);
        }
        n++;
    }
    fclose(f);
    return n;
}

static void test_sign_vectors(void **state)
{
    vector v[32];
    size_t n = load_vectors(v, ZQ_ARRAY_LEN(v)), i, seen[3] = {0};
    char out[128];
    bool plus = false, slash = false;

    assert_true(n >= 9);
    for (i = 0; i < n; i++) {
        long long ts = strtoll(v[i].ts, NULL, 10);

        if (strcmp(v[i].kind, "dingtalk") == 0) {
            assert_int_equal(zq_sign_dingtalk(v[i].secret, ts, out, sizeof(out)), 0);
            seen[0]++;
        } else if (strcmp(v[i].kind, "feishu") == 0) {
            assert_int_equal(zq_sign_feishu(v[i].secret, ts, out, sizeof(out)), 0);
            seen[1]++;
        } else if (strcmp(v[i].kind, "generic") == 0) {
            assert_int_equal(zq_sign_generic(v[i].secret, v[i].ts, v[i].body, strlen(v[i].body),
                                             out, sizeof(out)),
                             0);
            seen[2]++;
        } else {
            fail_msg("unknown vector kind %s", v[i].kind);
        }
        assert_string_equal(out, v[i].want);
        plus |= strchr(out, '+') != NULL;
        slash |= strchr(out, '/') != NULL;
    }
    assert_true(seen[0] >= 3 && seen[1] >= 3 && seen[2] >= 3);
    assert_true(plus && slash); /* the vectors exercise the URL encoding */
}

/* The signing keeps a keyed HMAC context per thread: the same key again,
 * another key, a key too long to cache (and one longer than SHA-256's
 * block, which HMAC hashes first), the empty key, and several threads at
 * once all give the HMAC of Python's hmac module. */
static const struct {
    const char *key, *ts, *body, *want;
} mac_seq[] = {
    {"k", "1", "{}", "sha256=3dd49b2593d0f9a349e9e71c4bde3e2b862c2be4003fe9b4ba81332029310158"},
    {"k", "1", "{}", "sha256=3dd49b2593d0f9a349e9e71c4bde3e2b862c2be4003fe9b4ba81332029310158"},
    {"other", "1", "{}", "sha256=33cceac70bf472beef819acfef3ff275ea09cef9bef3f97bfa68427d08a638af"},
    {"k", "1", "{}", "sha256=3dd49b2593d0f9a349e9e71c4bde3e2b862c2be4003fe9b4ba81332029310158"},
    {NULL, "1", "{}", "sha256=78e016dfce6f6a7dc76031788a0a62689a993881908b5b57c931fbd2d5ba5d6a"},
    {NULL, "1", "{}", "sha256=78e016dfce6f6a7dc76031788a0a62689a993881908b5b57c931fbd2d5ba5d6a"},
    {"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", "2", "body",
     "sha256=aa7f1223766a0ca06e08b44e546b8a42a1912309e199bc8f32801fbea267c0ba"},
    {"", "3", "b", "sha256=51167e232e3ea569762bc7eacbeabbf01e65eb4d74fc3f47d6d869e07c01253c"},
    {"", "3", "b", "sha256=51167e232e3ea569762bc7eacbeabbf01e65eb4d74fc3f47d6d869e07c01253c"},
    {"k", "1", "{}", "sha256=3dd49b2593d0f9a349e9e71c4bde3e2b862c2be4003fe9b4ba81332029310158"},
};

/* Runs mac_seq rounds times from offset start; returns the mismatches. */
static int mac_run(size_t start, int rounds)
{
    char long_key[301], out[72];
    size_t n = sizeof(mac_seq) / sizeof(mac_seq[0]), i;
    int bad = 0, r;

    memset(long_key, 'x', 300);
    long_key[300] = '\0';
    for (r = 0; r < rounds; r++)
        for (i = 0; i < n; i++) {
            size_t k = (i + start) % n;
            const char *key = mac_seq[k].key ? mac_seq[k].key : long_key;

            if (zq_sign_generic(key, mac_seq[k].ts, mac_seq[k].body, strlen(mac_seq[k].body), out,
                                sizeof(out)) != 0 ||
                strcmp(out, mac_seq[k].want) != 0)
                bad++;
        }
    return bad;
}

static void *mac_thread(void *arg)
{
    static int bad[4];
    size_t i = (size_t)(uintptr_t)arg;

    bad[i] = mac_run(i * 3, 50);
    return &bad[i];
}

static void test_sign_key_cache(void **state)
{
    pthread_t th[4];
    size_t i;

    (void)state;
    assert_int_equal(mac_run(0, 1), 0);
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, mac_thread, (void *)(uintptr_t)i), 0);
    for (i = 0; i < 4; i++) {
        void *res = NULL;

        assert_int_equal(pthread_join(th[i], &res), 0);
        assert_int_equal(*(int *)res, 0);
    }
}

static void test_sign_sizes(void **state)
{
    char out[45], small[44], gen[72];

    assert_int_equal(zq_sign_dingtalk("s", 1, out, sizeof(out)), 0);
    assert_int_equal(strlen(out), 44);
    assert_int_equal(zq_sign_dingtalk("s", 1, small, sizeof(small)), -ZQ_ETOOBIG);
    assert_int_equal(zq_sign_feishu("s", 1, small, sizeof(small)), -ZQ_ETOOBIG);
    assert_int_equal(zq_sign_generic("s", "1", "b", 1, gen, sizeof(gen)), 0);
    assert_int_equal(strlen(gen), 71);
    assert_int_equal(zq_sign_generic("s", "1", "b", 1, gen, sizeof(gen) - 1), -ZQ_ETOOBIG);
    /* The body is bytes with a length: a NUL inside counts. */
    {
        char a[72], b[72];

        assert_int_equal(zq_sign_generic("s", "1", "a\0b", 3, a, sizeof(a)), 0);
        assert_int_equal(zq_sign_generic("s", "1", "a", 1, b, sizeof(b)), 0);
        assert_string_not_equal(a, b);
    }
}

static void test_url_encode(void **state)
{
    zq_buf b = {0};

    assert_int_equal(zq_url_encode(&b, "aZ09-._~ +/=%&?中"), 0);
    assert_string_equal(b.data, "aZ09-._~%20%2B%2F%3D%25%26%3F%E4%B8%AD");
    zq_buf_free(&b);
}

/* ---- rendering per platform ---- */

static void test_wecom(void **state)
{
    zq_channel_config cc = fake_config();
    zq_target t = target(ZQ_CH_WECOM, "key/with+chars", NULL, NULL);
    zq_message m = {.title = "税务助企宣讲日",
                    .body = "**本月 27 日** 开课\n- 链接：[直播](https://x.cn/a?b=1&c=2)"};
    size_t n;
    zq_outreq *r = render_ok(&cc, &t, &m, 1700000000000, &n);
    json_t *j;

    assert_int_equal(n, 1);
    assert_string_equal(r[0].url,
                        "http://127.0.0.1:9/wecom/cgi-bin/webhook/send?key=key%2Fwith%2Bchars");
    assert_int_equal(r[0].nheaders, 0);
    j = body_json(&r[0]);
    assert_string_equal(jpath(j, "msgtype", NULL), "markdown");
    /* Markdown kept as WeCom renders it; the title a bold first line. */
    assert_string_equal(
        jpath(j, "markdown", "content", NULL),
        "**税务助企宣讲日**\n\n**本月 27 日** 开课\n- 链接：[直播](https://x.cn/a?b=1&c=2)");
    json_decref(j);
    zq_outreq_free_all(r, n);
}

static void test_wecom_mentions(void **state)
{
    zq_channel_config cc = fake_config();
    zq_target t = target(ZQ_CH_WECOM, "K", NULL, NULL);
    const char *mobiles[] = {"13800000001", "13900000002"};
    zq_message m = {.title = "提醒",
                    .body = "正文",
                    .mention_mobiles = mobiles,
                    .nmentions = 2,
                    .mention_all = true};
    size_t n;
    zq_outreq *r = render_ok(&cc, &t, &m, 1700000000000, &n);
    json_t *j, *list;

    /* Markdown content first, then a text message with the mentions. */
    assert_int_equal(n, 2);
    j = body_json(&r[0]);
    assert_string_equal(jpath(j, "msgtype", NULL), "markdown");
    assert_null(json_object_get(json_object_get(j, "markdown"), "mentioned_mobile_list"));
    json_decref(j);
    assert_string_equal(r[1].url, r[0].url);
    j = body_json(&r[1]);
    assert_string_equal(jpath(j, "msgtype", NULL), "text");
    assert_string_equal(jpath(j, "text", "content", NULL), "请留意以上消息：提醒");
    list = json_object_get(json_object_get(j, "text"), "mentioned_mobile_list");
    assert_int_equal(json_array_size(list), 3);
    assert_string_equal(json_string_value(json_array_get(list, 0)), "13800000001");
    assert_string_equal(json_string_value(json_array_get(list, 1)), "13900000002");
    assert_string_equal(json_string_value(json_array_get(list, 2)), "@all");
    json_decref(j);
    zq_outreq_free_all(r, n);
}

/* Expected "...&sign=" value: the Base64 with + / = encoded once. */
static void encode_b64(const char *b64, char *out, size_t outsz)
{
    size_t o = 0;

    for (; *b64 != '\0' && o + 4 < outsz; b64++) {
        const char *rep = *b64 == '+' ? "%2B" : *b64 == '/' ? "%2F" : *b64 == '=' ? "%3D" : NULL;

        if (rep != NULL) {
            memcpy(out + o, rep, 3);
            o += 3;
        } else {
            out[o++] = *b64;
        }
    }
    out[o] = '\0';
}

static void test_dingtalk(void **state)
{
    zq_channel_config cc = fake_config();
    /* The secret and time of the first vector: Base64 with '+' '/' '='. */
    zq_target t =
        target(ZQ_CH_DINGTALK, "tok123",
               "SEC1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d", NULL);
    const char *mobiles[] = {"13800000001", "13900000002"};
    zq_message m = {.title = "宣讲日提醒",
                    .body = "明天 **14:00** 开课",
                    .mention_mobiles = mobiles,
                    .nmentions = 2};
    vector v[32];
    size_t n, nv = load_vectors(v, ZQ_ARRAY_LEN(v));
    char want[1024], enc[160];
    zq_outreq *r;
    json_t *j, *at;

    assert_true(nv > 0);
    assert_string_equal(v[0].kind, "dingtalk");
    assert_string_equal(v[0].ts, "1700000000002");
    r = render_ok(&cc, &t, &m, 1700000000002, &n);
    assert_int_equal(n, 1);
    encode_b64(v[0].want, enc, sizeof(enc));
    snprintf(want, sizeof(want),
             "http://127.0.0.1:9/dingtalk/robot/send?access_token=tok123&timestamp=1700000000002"
             "&sign=%s",
             enc);
    assert_string_equal(r[0].url, want);
    /* Encoded once: %2B, %2F and %3D are there, %25 (a second pass) is not. */
    assert_non_null(strstr(r[0].url, "%2B"));
    assert_non_null(strstr(r[0].url, "%2F"));
    assert_non_null(strstr(r[0].url, "%3D"));
    assert_null(strstr(r[0].url, "%25"));
    assert_null(strchr(strstr(r[0].url, "&sign="), '+'));

    j = body_json(&r[0]);
    assert_string_equal(jpath(j, "msgtype", NULL), "markdown");
    assert_string_equal(jpath(j, "markdown", "title", NULL), "宣讲日提醒");
    assert_string_equal(jpath(j, "markdown", "text", NULL),
                        "**宣讲日提醒**\n\n明天 **14:00** 开课\n\n@13800000001 @13900000002");
    at = json_object_get(j, "at");
    assert_int_equal(json_array_size(json_object_get(at, "atMobiles")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(at, "atMobiles"), 1)),
                        "13900000002");
    assert_true(json_is_false(json_object_get(at, "isAtAll")));
    json_decref(j);
    zq_outreq_free_all(r, n);

    /* No secret: no timestamp or sign; @all only sets isAtAll. */
    t.secret[0] = '\0';
    m.nmentions = 0;
    m.mention_all = true;
    r = render_ok(&cc, &t, &m, 1700000000002, &n);
    assert_string_equal(r[0].url, "http://127.0.0.1:9/dingtalk/robot/send?access_token=tok123");
    j = body_json(&r[0]);
    assert_true(json_is_true(json_object_get(json_object_get(j, "at"), "isAtAll")));
    assert_null(strchr(jpath(j, "markdown", "text", NULL), '@'));
    json_decref(j);
    zq_outreq_free_all(r, n);
}

static void test_feishu(void **state)
{
    zq_channel_config cc = fake_config();
    zq_target t = target(ZQ_CH_FEISHU, "hook-token", "feishu-秘钥-secret", NULL);
    zq_message m = {.title = "通知 <1>",
                    .body = "**重点**：a<b & c>d\n- 第一项\n- [报名](https://e.cn/x?a=1&b=2)",
                    .mention_all = true};
    size_t n;
    zq_outreq *r = render_ok(&cc, &t, &m, 1700000001999, &n);
    json_t *j;

    assert_int_equal(n, 1);
    assert_string_equal(r[0].url, "http://127.0.0.1:9/feishu/open-apis/bot/v2/hook/hook-token");
    j = body_json(&r[0]);
    assert_string_equal(jpath(j, "msg_type", NULL), "interactive");
    assert_string_equal(jpath(j, "card", "header", "title", "tag", NULL), "plain_text");
    assert_string_equal(jpath(j, "card", "header", "title", "content", NULL), "通知 <1>");
    assert_string_equal(feishu_content(j), "**重点**：a&lt;b &amp; c&gt;d\n• 第一项\n• "
                                           "[报名](https://e.cn/x?a=1&b=2)\n<at id=all></at>");
    /* Signed in the body: seconds as a string, and the vector's sign. */
    assert_string_equal(jpath(j, "timestamp", NULL), "1700000001");
    assert_string_equal(jpath(j, "sign", NULL), "OWeN4+HAxWxLFQu/qpZ1fpSso3crtX85eRsGXVP/Or4=");
    json_decref(j);
    zq_outreq_free_all(r, n);

    t.secret[0] = '\0';
    r = render_ok(&cc, &t, &m, 1700000001999, &n);
    j = body_json(&r[0]);
    assert_null(json_object_get(j, "sign"));
    assert_null(json_object_get(j, "timestamp"));
    json_decref(j);
    zq_outreq_free_all(r, n);
}

static void test_telegram(void **state)
{
    zq_channel_config cc = fake_config();
    zq_target t = target(ZQ_CH_TELEGRAM, "123456:ABC-def_ghi", NULL, "-1001234567890");
    zq_message m = {.title = "<b>&标题",
                    .body = "<b>& text\n**粗体 & <i>**\n- [链接 <x>](https://t.me/a?b=1&c=2)\n"
                            "[不是链接](javascript:alert(1)) [q](https://a.b/\"x)"};
    size_t n;
    zq_outreq *r = render_ok(&cc, &t, &m, 0, &n);
    json_t *j;

    assert_int_equal(n, 1);
    assert_string_equal(r[0].url, "http://127.0.0.1:9/telegram/bot123456:ABC-def_ghi/sendMessage");
    j = body_json(&r[0]);
    assert_true(json_is_integer(json_object_get(j, "chat_id")));
    assert_true(json_integer_value(json_object_get(j, "chat_id")) == -1001234567890LL);
    assert_string_equal(jpath(j, "parse_mode", NULL), "HTML");
    assert_true(json_is_true(json_object_get(j, "disable_web_page_preview")));
    assert_string_equal(jpath(j, "text", NULL),
                        "<b>&lt;b&gt;&amp;标题</b>\n\n"
                        "&lt;b&gt;&amp; text\n"
                        "<b>粗体 &amp; &lt;i&gt;</b>\n"
                        "• <a href=\"https://t.me/a?b=1&amp;c=2\">链接 &lt;x&gt;</a>\n"
                        "[不是链接](javascript:alert(1)) [q](https://a.b/\"x)");
    json_decref(j);
    zq_outreq_free_all(r, n);

    /* A channel name stays a string. */
    snprintf(t.chat_id, sizeof(t.chat_id), "@zhuqi_notice");
    r = render_ok(&cc, &t, &m, 0, &n);
    j = body_json(&r[0]);
    assert_string_equal(jpath(j, "chat_id", NULL), "@zhuqi_notice");
    json_decref(j);
    zq_outreq_free_all(r, n);
}

static void test_generic(void **state)
{
    zq_channel_config cc = fake_config();
    zq_target t = target(ZQ_CH_GENERIC, "http://127.0.0.1:9/generic/t1", "generic-secret", NULL);
    const char *mobiles[] = {"13800000001"};
    zq_message m = {.title = "He said \"hi\"\tthere\r\n",
                    .body = "line \"one\"\\\r\nline two **b** [l](https://a.b/c)\n- item\x01",
                    .mention_mobiles = mobiles,
                    .nmentions = 1};
    size_t n;
    zq_outreq *r = render_ok(&cc, &t, &m, 1700000000999, &n);
    json_t *j;
    char sig[80], hdr[120];
    zq_err err = {0};

    assert_int_equal(n, 1);
    assert_string_equal(r[0].url, "http://127.0.0.1:9/generic/t1");
    j = body_json(&r[0]);
    /* Quotes and line breaks survive the round trip; CR and controls go. */
    assert_string_equal(jpath(j, "title", NULL), "He said \"hi\" there ");
    assert_string_equal(jpath(j, "markdown", NULL),
                        "line \"one\"\\\nline two **b** [l](https://a.b/c)\n- item");
    assert_string_equal(jpath(j, "text", NULL),
                        "line \"one\"\\\nline two b l (https://a.b/c)\n- item");
    assert_int_equal(json_array_size(json_object_get(j, "mentions")), 1);
    assert_true(json_is_false(json_object_get(j, "mention_all")));
    assert_int_equal(json_integer_value(json_object_get(j, "part")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "parts")), 1);
    assert_null(json_object_get(j, "chat")); /* not a chat subscription */
    json_decref(j);
    /* The raw body has the escapes a JSON parser needs. */
    assert_non_null(strstr(r[0].body.data, "\\\"one\\\"\\\\\\n"));
    assert_int_equal(r[0].nheaders, 2);
    assert_string_equal(r[0].headers[0], "X-Zhuqi-Timestamp: 1700000000");
    assert_int_equal(zq_sign_generic("generic-secret", "1700000000", r[0].body.data, r[0].body.len,
                                     sig, sizeof(sig)),
                     0);
    snprintf(hdr, sizeof(hdr), "X-Zhuqi-Signature: %s", sig);
    assert_string_equal(r[0].headers[1], hdr);
    zq_outreq_free_all(r, n);

    t.secret[0] = '\0';
    r = render_ok(&cc, &t, &m, 1700000000999, &n);
    assert_int_equal(r[0].nheaders, 0);
    zq_outreq_free_all(r, n);

    /* A chat subscription (订阅 on /hook/generic) names its chat; signed
     * over the body that carries it. */
    t = target(ZQ_CH_GENERIC, "http://127.0.0.1:9/g?x=1", "generic-secret", "群-42");
    r = render_ok(&cc, &t, &m, 1700000000999, &n);
    j = body_json(&r[0]);
    assert_string_equal(jpath(j, "chat", NULL), "群-42");
    json_decref(j);
    assert_int_equal(zq_sign_generic("generic-secret", "1700000000", r[0].body.data, r[0].body.len,
                                     sig, sizeof(sig)),
                     0);
    snprintf(hdr, sizeof(hdr), "X-Zhuqi-Signature: %s", sig);
    assert_string_equal(r[0].headers[1], hdr);
    zq_outreq_free_all(r, n);
    snprintf(t.chat_id, sizeof(t.chat_id), "bad \xC3\x28");
    assert_int_equal(zq_channel_render(&cc, &t, &m, 0, &r, &n, &err), -ZQ_EINVAL);

    /* Stored before the address rules: refused before anything is sent. */
    {
        static const char *const refused[] = {
            "http://127.0.0.1:10/g",      /* not the listed port */
            "http://hooks.example.com/g", /* plain http to a name */
            "https://u:pw@hooks.example.com/g",
            "https://169.254.169.254/latest",
            "https://[::ffff:10.0.0.1]/g",
        };

        for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
            t = target(ZQ_CH_GENERIC, refused[i], "", NULL);
            assert_int_equal(zq_channel_render(&cc, &t, &m, 0, &r, &n, &err), -ZQ_EINVAL);
        }
        t = target(ZQ_CH_GENERIC, "https://hooks.example.com/g", "", NULL);
        r = render_ok(&cc, &t, &m, 0, &n);
        zq_outreq_free_all(r, n);
    }
}

static void test_bad_input(void **state)
{
    zq_channel_config cc = fake_config();
    zq_target t = target(ZQ_CH_WECOM, "K", NULL, NULL);
    zq_message m = {.title = "t", .body = "b"};
    const char *bad_mobile[] = {"138 0000"};
    zq_outreq *r = (zq_outreq *)1;
    size_t n = 7;
    zq_err err = {0};

    m.body = "bad \xC3\x28 utf8";
    assert_int_equal(zq_channel_render(&cc, &t, &m, 0, &r, &n, &err), -ZQ_EINVAL);
    assert_null(r);
    assert_int_equal(n, 0);
    m.body = "";
    m.title = NULL;
    assert_int_equal(zq_channel_render(&cc, &t, &m, 0, &r, &n, &err), -ZQ_EINVAL);
    m.title = "t";
    m.mention_mobiles = bad_mobile;
    m.nmentions = 1;
    assert_int_equal(zq_channel_render(&cc, &t, &m, 0, &r, &n, &err), -ZQ_EINVAL);
    assert_non_null(strstr(err.msg, "mobile"));
    m.nmentions = 0;
    t.address[0] = '\0';
    assert_int_equal(zq_channel_render(&cc, &t, &m, 0, &r, &n, &err), -ZQ_EINVAL);
    t = target(ZQ_CH_TELEGRAM, "123:abc/../x", NULL, "1");
    assert_int_equal(zq_channel_render(&cc, &t, &m, 0, &r, &n, &err), -ZQ_EINVAL);
    t = target(ZQ_CH_TELEGRAM, "123:abc", NULL, "");
    assert_int_equal(zq_channel_render(&cc, &t, &m, 0, &r, &n, &err), -ZQ_EINVAL);
    t = target(ZQ_CH_GENERIC, "ftp://x/y", NULL, NULL);
    assert_int_equal(zq_channel_render(&cc, &t, &m, 0, &r, &n, &err), -ZQ_EINVAL);
    t = target(ZQ_CH_GENERIC, "http://x/a b", NULL, NULL);
    assert_int_equal(zq_channel_render(&cc, &t, &m, 0, &r, &n, &err), -ZQ_EINVAL);
    t = target(ZQ_CH_WECOM, "K", NULL, NULL);
    t.kind = ZQ_CH__COUNT;
    assert_int_equal(zq_channel_render(&cc, &t, &m, 0, &r, &n, &err), -ZQ_EINVAL);
    /* A limit that leaves no room for text is refused, not looped on. */
    t = target(ZQ_CH_WECOM, "K", NULL, NULL);
    cc.limits[ZQ_CH_WECOM].max_bytes = 10;
    m.body = "一段比十个字节长得多的正文";
    assert_int_equal(zq_channel_render(&cc, &t, &m, 0, &r, &n, &err), -ZQ_ETOOBIG);
    assert_null(r);
}

/* ---- splitting ---- */

/* A body of n bytes or a little more: Chinese, emoji and ASCII, with
 * some lines and one very long line (no break to split on). */
static char *long_body(size_t n)
{
    static const char *const bits[] = {"税务助企宣讲日", "😀", "abc ", "专精特新", "🚀🚀", "\n"};
    zq_buf b = {0};
    size_t i = 0;

    while (b.len < n / 2)
        zq_buf_puts(&b, bits[i++ % ZQ_ARRAY_LEN(bits)]);
    while (b.len < n)
        zq_buf_puts(&b, bits[i++ % (ZQ_ARRAY_LEN(bits) - 1)]); /* no '\n' */
    return zq_buf_steal(&b);
}

/* Strips "（i/n）\n" from the start of s, checking i and n. */
static const char *strip_label(const char *s, size_t i, size_t n)
{
    char lab[48];

    snprintf(lab, sizeof(lab), "（%zu/%zu）\n", i + 1, n);
    if (strncmp(s, lab, strlen(lab)) != 0)
        fail_msg("part %zu does not start with %s: %.60s", i + 1, lab, s);
    return s + strlen(lab);
}

/* Splits body for k with max_bytes limit; checks every part and that the
 * parts put together are the whole. */
static void check_split(zq_channel_kind k, const char *addr, size_t limit, const char *body,
                        size_t want_min_parts)
{
    zq_channel_config cc = fake_config();
    zq_target t = target(k, addr, NULL, "42");
    zq_message m = {.body = body};
    zq_buf all = {0};
    size_t n, i;
    zq_outreq *r;
    json_t *j;
    const char *c;

    cc.limits[k].max_bytes = limit;
    r = render_ok(&cc, &t, &m, 0, &n);
    if (n < want_min_parts)
        fail_msg("%s: %zu parts, want at least %zu", zq_channel_name(k), n, want_min_parts);
    for (i = 0; i < n; i++) {
        j = body_json(&r[i]);
        switch (k) {
        case ZQ_CH_WECOM: c = jpath(j, "markdown", "content", NULL); break;
        case ZQ_CH_DINGTALK: c = jpath(j, "markdown", "text", NULL); break;
        case ZQ_CH_GENERIC: c = jpath(j, "markdown", NULL); break;
        case ZQ_CH_TELEGRAM: c = jpath(j, "text", NULL); break;
        default: c = feishu_content(j); break;
        }
        assert_non_null(c);
        assert_true(zq_utf8_valid(c, strlen(c)));
        if (k == ZQ_CH_FEISHU) {
            assert_true(r[i].body.len <= limit);
        } else {
            if (strlen(c) > limit)
                fail_msg("%s part %zu: %zu bytes over %zu", zq_channel_name(k), i + 1, strlen(c),
                         limit);
        }
        if (n > 1 && k != ZQ_CH_FEISHU)
            c = strip_label(c, i, n);
        if (k == ZQ_CH_DINGTALK) {
            char lab[48];

            snprintf(lab, sizeof(lab), "通知（%zu/%zu）", i + 1, n);
            assert_string_equal(jpath(j, "markdown", "title", NULL), n > 1 ? lab : "通知");
        }
        /* Line boundaries first: a part that is not the last and whose
         * text had a line break in the first half of the budget ends in one. */
        zq_buf_puts(&all, c);
        json_decref(j);
    }
    assert_string_equal(all.data, body);
    zq_buf_free(&all);
    zq_outreq_free_all(r, n);
}

static void test_split_bytes(void **state)
{
    char *body = long_body(30000);

    check_split(ZQ_CH_WECOM, "K", 4096, body, 8);
    check_split(ZQ_CH_WECOM, "K", 100, "短消息，不拆分", 1);
    check_split(ZQ_CH_DINGTALK, "T", 2000, body, 15);
    check_split(ZQ_CH_GENERIC, "http://127.0.0.1:9/g", 5000, body, 6);
    free(body);
}

/* Every byte limit from tiny to large: never over, never a broken char. */
static void test_split_many_limits(void **state)
{
    char *body = long_body(3000);
    size_t lim;

    /* From the smallest limit that stays within ZQ_CHANNEL_MAX_PARTS. */
    for (lim = 200; lim < 3200; lim += 97)
        check_split(ZQ_CH_WECOM, "K", lim, body, lim < 2900 ? 2 : 1);
    free(body);
}

static void test_split_lines(void **state)
{
    zq_channel_config cc = fake_config();
    zq_target t = target(ZQ_CH_WECOM, "K", NULL, NULL);
    zq_buf b = {0};
    zq_message m;
    size_t n, i;
    zq_outreq *r;
    json_t *j;
    const char *c;

    for (i = 0; i < 200; i++)
        zq_buf_printf(&b, "第 %03zu 行：税务助企宣讲日提醒。\n", i);
    m = (zq_message){.body = b.data};
    r = render_ok(&cc, &t, &m, 0, &n);
    assert_true(n >= 2);
    for (i = 0; i < n; i++) {
        j = body_json(&r[i]);
        c = jpath(j, "markdown", "content", NULL);
        assert_true(strlen(c) <= 4096);
        /* Lines kept whole: every part ends at a line break and the next
         * starts with a line. */
        assert_int_equal(c[strlen(c) - 1], '\n');
        assert_int_equal(strncmp(strip_label(c, i, n), "第 ", 4), 0);
        json_decref(j);
    }
    zq_outreq_free_all(r, n);
    zq_buf_free(&b);
}

/* The visible text of Telegram HTML (tags dropped, entities decoded) and
 * its length in UTF-16 units; asserts tags are balanced. */
static size_t tg_visible(const char *s, zq_buf *vis)
{
    const char *stack[16];
    int depth = 0;
    size_t units = 0;

    while (*s != '\0') {
        if (*s == '<') {
            const char *gt = strchr(s, '>');

            assert_non_null(gt);
            if (s[1] == '/') {
                assert_true(depth > 0);
                depth--;
                assert_int_equal(strncmp(stack[depth] + 1, s + 2, (size_t)(gt - s - 2)), 0);
            } else {
                assert_true(depth < 16);
                stack[depth++] = s;
            }
            s = gt + 1;
            continue;
        }
        if (*s == '&') {
            static const char *const ents[][2] = {
                {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}};
            size_t e;

            for (e = 0; e < ZQ_ARRAY_LEN(ents); e++)
                if (strncmp(s, ents[e][0], strlen(ents[e][0])) == 0)
                    break;
            if (e == ZQ_ARRAY_LEN(ents))
                fail_msg("broken entity at %.12s", s);
            zq_buf_puts(vis, ents[e][1]);
            s += strlen(ents[e][0]);
            units++;
            continue;
        }
        {
            unsigned char c = (unsigned char)*s;
            size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;

            zq_buf_append(vis, s, len);
            units += len == 4 ? 2 : 1;
            s += len;
        }
    }
    assert_int_equal(depth, 0);
    return units;
}

static void test_split_telegram(void **state)
{
    zq_channel_config cc = fake_config();
    zq_target t = target(ZQ_CH_TELEGRAM, "1:x", NULL, "42");
    zq_buf body = {0}, want = {0}, got = {0}, vis = {0};
    zq_message m;
    size_t n, i, k, units;
    zq_outreq *r;
    json_t *j;
    const char *c;

    /* A long bold run (crosses parts), entities, emoji, a link. */
    zq_buf_puts(&body, "**");
    for (k = 0; k < 300; k++)
        zq_buf_puts(&body, "粗体&<>😀");
    zq_buf_puts(&body, "**\n");
    for (k = 0; k < 200; k++)
        zq_buf_puts(&body, "[链接](https://t.me/x?a=1&b=2) a&b ");
    m = (zq_message){.body = body.data};
    cc.limits[ZQ_CH_TELEGRAM].max_bytes = 500;
    r = render_ok(&cc, &t, &m, 0, &n);
    assert_true(n >= 5);
    for (i = 0; i < n; i++) {
        j = body_json(&r[i]);
        c = jpath(j, "text", NULL);
        zq_buf_reset(&vis);
        units = tg_visible(c, &vis); /* balanced tags, whole entities */
        if (units > 500)
            fail_msg("telegram part %zu: %zu units over 500", i + 1, units);
        zq_buf_puts(&got, strip_label(vis.data, i, n));
        json_decref(j);
    }
    /* Visible text of the parts together = visible text unsplit. */
    zq_outreq_free_all(r, n);
    cc.limits[ZQ_CH_TELEGRAM].max_bytes = 1000000;
    r = render_ok(&cc, &t, &m, 0, &n);
    assert_int_equal(n, 1);
    j = body_json(&r[0]);
    tg_visible(jpath(j, "text", NULL), &want);
    assert_string_equal(got.data, want.data);
    json_decref(j);
    zq_outreq_free_all(r, n);

    /* A part full just before a bold run does not end in "<b></b>". */
    zq_buf_reset(&body);
    for (k = 0; k < 500 - 8; k++) /* 8: the widest label "（20/20）\n" */
        zq_buf_puts(&body, "a");
    zq_buf_puts(&body, "**");
    for (k = 0; k < 600; k++)
        zq_buf_puts(&body, "b");
    zq_buf_puts(&body, "**");
    m.body = body.data;
    cc.limits[ZQ_CH_TELEGRAM].max_bytes = 500;
    r = render_ok(&cc, &t, &m, 0, &n);
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++) {
        j = body_json(&r[i]);
        c = jpath(j, "text", NULL);
        assert_null(strstr(c, "<b></b>"));
        zq_buf_reset(&vis);
        assert_true(tg_visible(c, &vis) <= 500);
        json_decref(j);
    }
    zq_outreq_free_all(r, n);

    /* Default limit: 4096 UTF-16 units; 3000 emoji are 6000 units. */
    zq_buf_reset(&body);
    for (k = 0; k < 3000; k++)
        zq_buf_puts(&body, "😀");
    m.body = body.data;
    cc.limits[ZQ_CH_TELEGRAM].max_bytes = 0;
    r = render_ok(&cc, &t, &m, 0, &n);
    assert_int_equal(n, 2);
    for (i = 0; i < n; i++) {
        j = body_json(&r[i]);
        zq_buf_reset(&vis);
        assert_true(tg_visible(jpath(j, "text", NULL), &vis) <= 4096);
        json_decref(j);
    }
    zq_outreq_free_all(r, n);
    zq_buf_free(&body);
    zq_buf_free(&want);
    zq_buf_free(&got);
    zq_buf_free(&vis);
}

static void test_split_feishu(void **state)
{
    char *body = long_body(60000);

    check_split(ZQ_CH_FEISHU, "H", 20000, body, 3);
    check_split(ZQ_CH_FEISHU, "H", 3000, "a\"b\\c\nd", 1);
    free(body);
    /* JSON escaping counts: 5000 quotes are 10000 bytes in the body. */
    {
        char q[5001];

        memset(q, '"', 5000);
        q[5000] = '\0';
        check_split(ZQ_CH_FEISHU, "H", 4000, q, 3);
    }
}

static void test_split_dingtalk_mentions(void **state)
{
    zq_channel_config cc = fake_config();
    zq_target t = target(ZQ_CH_DINGTALK, "T", NULL, NULL);
    const char *mobiles[] = {"13800000001"};
    char *body = long_body(5000);
    zq_message m = {.title = "标题", .body = body, .mention_mobiles = mobiles, .nmentions = 1};
    size_t n, i;
    zq_outreq *r;
    json_t *j;
    const char *c;

    cc.limits[ZQ_CH_DINGTALK].max_bytes = 1000;
    r = render_ok(&cc, &t, &m, 0, &n);
    assert_true(n >= 5);
    for (i = 0; i < n; i++) {
        j = body_json(&r[i]);
        c = jpath(j, "markdown", "text", NULL);
        assert_true(strlen(c) <= 1000);
        if (i + 1 < n) {
            assert_null(json_object_get(j, "at"));
            assert_null(strstr(c, "@13800000001"));
        } else {
            assert_non_null(json_object_get(j, "at"));
            assert_non_null(strstr(c, "\n\n@13800000001"));
        }
        json_decref(j);
    }
    zq_outreq_free_all(r, n);
    free(body);
}

static void test_split_truncated(void **state)
{
    zq_channel_config cc = fake_config();
    zq_target t = target(ZQ_CH_WECOM, "K", NULL, NULL);
    char *body = long_body(200000);
    zq_message m = {.title = "长", .body = body};
    size_t n, i;
    zq_outreq *r;
    json_t *j;
    const char *c;

    r = render_ok(&cc, &t, &m, 0, &n);
    assert_int_equal(n, ZQ_CHANNEL_MAX_PARTS);
    for (i = 0; i < n; i++) {
        j = body_json(&r[i]);
        c = jpath(j, "markdown", "content", NULL);
        assert_true(strlen(c) <= 4096);
        assert_true(zq_utf8_valid(c, strlen(c)));
        if (i + 1 == n) {
            const char *tail = "……（内容过长，已截断）";

            assert_string_equal(c + strlen(c) - strlen(tail), tail);
        } else {
            assert_null(strstr(c, "已截断"));
        }
        json_decref(j);
    }
    zq_outreq_free_all(r, n);
    free(body);
}

/* ---- classification ---- */

typedef struct cls_case {
    zq_channel_kind k;
    long status;
    const char *body;
    const char *retry_after;
    zq_delivery want;
    int64_t want_ra_ms;
    const char *reason_has;
} cls_case;

static void test_classify(void **state)
{
    static const char html[] = "<html><head><title>502 Bad Gateway</title></head></html>";
    static const cls_case cases[] = {
        /* WeCom */
        {ZQ_CH_WECOM, 200, "{\"errcode\":0,\"errmsg\":\"ok\"}", NULL, ZQ_DELIVERY_DONE, 0, "ok"},
        {ZQ_CH_WECOM, 200, "{\"errcode\":45009,\"errmsg\":\"api freq out of limit\"}", NULL,
         ZQ_DELIVERY_RETRY, 0, "wecom errcode 45009: api freq"},
        {ZQ_CH_WECOM, 200, "{\"errcode\":93000,\"errmsg\":\"invalid webhook url\"}", NULL,
         ZQ_DELIVERY_FAIL, 0, "93000"},
        {ZQ_CH_WECOM, 200, "{\"errcode\":40058,\"errmsg\":\"too long\"}", NULL, ZQ_DELIVERY_FAIL, 0,
         "40058"},
        {ZQ_CH_WECOM, 200, "{\"errcode\":-1,\"errmsg\":\"system busy\"}", NULL, ZQ_DELIVERY_RETRY,
         0, "-1"},
        {ZQ_CH_WECOM, 200, "{\"errcode\":12345}", NULL, ZQ_DELIVERY_FAIL, 0, "12345"},
        {ZQ_CH_WECOM, 200, "{\"errcode\":\"0\"}", NULL, ZQ_DELIVERY_RETRY, 0, "unknown"},
        {ZQ_CH_WECOM, 200, "not json", NULL, ZQ_DELIVERY_RETRY, 0, "unknown answer"},
        {ZQ_CH_WECOM, 200, "", NULL, ZQ_DELIVERY_RETRY, 0, "unknown answer"},
        {ZQ_CH_WECOM, 200, NULL, NULL, ZQ_DELIVERY_RETRY, 0, "unknown answer"},
        {ZQ_CH_WECOM, 200, "[0]", NULL, ZQ_DELIVERY_RETRY, 0, "unknown answer"},
        {ZQ_CH_WECOM, 200, html, NULL, ZQ_DELIVERY_RETRY, 0, "unknown answer"},
        {ZQ_CH_WECOM, 502, html, NULL, ZQ_DELIVERY_RETRY, 0, "HTTP 502"},
        {ZQ_CH_WECOM, 0, NULL, NULL, ZQ_DELIVERY_RETRY, 0, "no answer"},
        {ZQ_CH_WECOM, 404, html, NULL, ZQ_DELIVERY_FAIL, 0, "HTTP 404"},
        {ZQ_CH_WECOM, 429, "", "7", ZQ_DELIVERY_RETRY, 7000, "429"},
        {ZQ_CH_WECOM, 301, "", NULL, ZQ_DELIVERY_FAIL, 0, "redirect"},
        /* DingTalk */
        {ZQ_CH_DINGTALK, 200, "{\"errcode\":0,\"errmsg\":\"ok\"}", NULL, ZQ_DELIVERY_DONE, 0, "ok"},
        {ZQ_CH_DINGTALK, 200, "{\"errcode\":130101,\"errmsg\":\"send too fast\"}", NULL,
         ZQ_DELIVERY_RETRY, 0, "dingtalk errcode 130101: send too fast"},
        {ZQ_CH_DINGTALK, 200, "{\"errcode\":310000,\"errmsg\":\"sign not match\"}", NULL,
         ZQ_DELIVERY_FAIL, 0, "dingtalk errcode 310000: sign not match"},
        {ZQ_CH_DINGTALK, 200, "{\"errcode\":300005,\"errmsg\":\"token is not exist\"}", NULL,
         ZQ_DELIVERY_FAIL, 0, "300005"},
        {ZQ_CH_DINGTALK, 200, "{\"errcode\":460101,\"errmsg\":\"message too long\"}", NULL,
         ZQ_DELIVERY_FAIL, 0, "460101"},
        {ZQ_CH_DINGTALK, 200, "{\"errmsg\":\"ok\"}", NULL, ZQ_DELIVERY_RETRY, 0, "unknown"},
        {ZQ_CH_DINGTALK, 200, "{\"errcode\":0", NULL, ZQ_DELIVERY_RETRY, 0, "unknown"},
        {ZQ_CH_DINGTALK, 503, "", NULL, ZQ_DELIVERY_RETRY, 0, "503"},
        {ZQ_CH_DINGTALK, 0, NULL, NULL, ZQ_DELIVERY_RETRY, 0, "no answer"},
        /* Feishu */
        {ZQ_CH_FEISHU, 200, "{\"code\":0,\"msg\":\"success\",\"data\":{}}", NULL, ZQ_DELIVERY_DONE,
         0, "ok"},
        {ZQ_CH_FEISHU, 200, "{\"StatusCode\":0,\"StatusMessage\":\"success\"}", NULL,
         ZQ_DELIVERY_DONE, 0, "ok"},
        {ZQ_CH_FEISHU, 200, "{\"code\":11232,\"msg\":\"frequency limited\"}", NULL,
         ZQ_DELIVERY_RETRY, 0, "11232"},
        {ZQ_CH_FEISHU, 400, "{\"code\":9499,\"msg\":\"too many request\"}", NULL, ZQ_DELIVERY_RETRY,
         0, "9499"},
        {ZQ_CH_FEISHU, 400, "{\"code\":9499,\"msg\":\"Too Many Requests\"}", NULL,
         ZQ_DELIVERY_RETRY, 0, "9499"},
        {ZQ_CH_FEISHU, 400, "{\"code\":9499,\"msg\":\"Bad Request\"}", NULL, ZQ_DELIVERY_FAIL, 0,
         "feishu code 9499: Bad Request"},
        {ZQ_CH_FEISHU, 200, "{\"code\":19021,\"msg\":\"sign match fail\"}", NULL, ZQ_DELIVERY_FAIL,
         0, "19021"},
        {ZQ_CH_FEISHU, 200, "{\"code\":19022,\"msg\":\"ip not allowed\"}", NULL, ZQ_DELIVERY_FAIL,
         0, "19022"},
        {ZQ_CH_FEISHU, 200, "{\"code\":19024,\"msg\":\"Key Words Not Found\"}", NULL,
         ZQ_DELIVERY_FAIL, 0, "19024"},
        {ZQ_CH_FEISHU, 200, "{\"code\":19001,\"msg\":\"param invalid\"}", NULL, ZQ_DELIVERY_FAIL, 0,
         "19001"},
        {ZQ_CH_FEISHU, 200, "{\"StatusCode\":19021}", NULL, ZQ_DELIVERY_FAIL, 0, "19021"},
        {ZQ_CH_FEISHU, 200, "garbage", NULL, ZQ_DELIVERY_RETRY, 0, "unknown answer"},
        {ZQ_CH_FEISHU, 200, "{}", NULL, ZQ_DELIVERY_RETRY, 0, "unknown answer"},
        {ZQ_CH_FEISHU, 400, "<html>bad</html>", NULL, ZQ_DELIVERY_FAIL, 0, "HTTP 400"},
        {ZQ_CH_FEISHU, 500, "{\"code\":0}", NULL, ZQ_DELIVERY_RETRY, 0, "500"},
        {ZQ_CH_FEISHU, 0, NULL, NULL, ZQ_DELIVERY_RETRY, 0, "no answer"},
        /* Telegram */
        {ZQ_CH_TELEGRAM, 200, "{\"ok\":true,\"result\":{\"message_id\":1}}", NULL, ZQ_DELIVERY_DONE,
         0, "ok"},
        {ZQ_CH_TELEGRAM, 429,
         "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry after "
         "35\",\"parameters\":{\"retry_after\":35}}",
         NULL, ZQ_DELIVERY_RETRY, 35000, "telegram 429"},
        {ZQ_CH_TELEGRAM, 429, "{\"ok\":false,\"error_code\":429}", "3", ZQ_DELIVERY_RETRY, 3000,
         "429"},
        {ZQ_CH_TELEGRAM, 400,
         "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: message is too long\"}",
         NULL, ZQ_DELIVERY_FAIL, 0, "message is too long"},
        {ZQ_CH_TELEGRAM, 403,
         "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: bot was blocked\"}", NULL,
         ZQ_DELIVERY_FAIL, 0, "403"},
        {ZQ_CH_TELEGRAM, 401, "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized\"}",
         NULL, ZQ_DELIVERY_FAIL, 0, "401"},
        {ZQ_CH_TELEGRAM, 404, "not json", NULL, ZQ_DELIVERY_FAIL, 0, "HTTP 404"},
        {ZQ_CH_TELEGRAM, 200, "not json", NULL, ZQ_DELIVERY_RETRY, 0, "unknown answer"},
        {ZQ_CH_TELEGRAM, 200, "", NULL, ZQ_DELIVERY_RETRY, 0, "unknown answer"},
        {ZQ_CH_TELEGRAM, 502, html, NULL, ZQ_DELIVERY_RETRY, 0, "502"},
        {ZQ_CH_TELEGRAM, 0, NULL, NULL, ZQ_DELIVERY_RETRY, 0, "no answer"},
        /* generic */
        {ZQ_CH_GENERIC, 200, "", NULL, ZQ_DELIVERY_DONE, 0, "ok"},
        {ZQ_CH_GENERIC, 204, NULL, NULL, ZQ_DELIVERY_DONE, 0, "ok"},
        {ZQ_CH_GENERIC, 202, "garbage", NULL, ZQ_DELIVERY_DONE, 0, "ok"},
        {ZQ_CH_GENERIC, 429, "", "12", ZQ_DELIVERY_RETRY, 12000, "429"},
        {ZQ_CH_GENERIC, 429, "", "soon", ZQ_DELIVERY_RETRY, 0, "429"},
        {ZQ_CH_GENERIC, 429, "", "99999999", ZQ_DELIVERY_RETRY, 86400000, "429"},
        {ZQ_CH_GENERIC, 429, "", "Wed, 21 Oct 2015 07:28:00 GMT", ZQ_DELIVERY_RETRY, 0, "429"},
        {ZQ_CH_GENERIC, 500, "", NULL, ZQ_DELIVERY_RETRY, 0, "500"},
        {ZQ_CH_GENERIC, 503, html, "5", ZQ_DELIVERY_RETRY, 5000, "503"},
        {ZQ_CH_DINGTALK, 503, html, "2", ZQ_DELIVERY_RETRY, 2000, "503"},
        {ZQ_CH_GENERIC, 400, "", NULL, ZQ_DELIVERY_FAIL, 0, "400"},
        {ZQ_CH_GENERIC, 401, "", NULL, ZQ_DELIVERY_FAIL, 0, "401"},
        {ZQ_CH_GENERIC, 404, html, NULL, ZQ_DELIVERY_FAIL, 0, "404"},
        {ZQ_CH_GENERIC, 0, NULL, NULL, ZQ_DELIVERY_RETRY, 0, "no answer"},
    };
    size_t i;
    char reason[160];
    int64_t ra;

    for (i = 0; i < ZQ_ARRAY_LEN(cases); i++) {
        const cls_case *c = &cases[i];
        zq_delivery d;

        ra = -1;
        d = zq_channel_classify(c->k, c->status, c->body, c->body ? strlen(c->body) : 0,
                                c->retry_after, &ra, reason, sizeof(reason));
        if (d != c->want || ra != c->want_ra_ms || strstr(reason, c->reason_has) == NULL)
            fail_msg("case %zu (%s %ld %.40s): got %d ra=%lld \"%s\", want %d ra=%lld \"%s\"", i,
                     zq_channel_name(c->k), c->status, c->body ? c->body : "(null)", (int)d,
                     (long long)ra, reason, (int)c->want, (long long)c->want_ra_ms, c->reason_has);
    }
}

static void test_classify_edges(void **state)
{
    static const char msg[] = "{\"errcode\":310000,\"errmsg\":\"签名\\n不匹配\\u0001 sign not "
                              "match and a very long tail\"}";
    static const char tg[] = "{\"ok\":false,\"error_code\":429,\"parameters\":{\"retry_after\":2}}";
    char reason[48], small[30], big[70000], httpdate[64];
    int64_t ra;
    time_t later;
    struct tm tm;

    /* NULL out-parameters are fine. */
    assert_int_equal(
        zq_channel_classify(ZQ_CH_WECOM, 200, "{\"errcode\":0}", 13, NULL, NULL, NULL, 0),
        ZQ_DELIVERY_DONE);
    /* Control bytes in errmsg become spaces; a cut inside a character
     * leaves valid UTF-8. */
    assert_int_equal(zq_channel_classify(ZQ_CH_DINGTALK, 200, msg, strlen(msg), NULL, &ra, reason,
                                         sizeof(reason)),
                     ZQ_DELIVERY_FAIL);
    assert_string_equal(reason, "dingtalk errcode 310000: 签名 不匹配  sign");
    assert_int_equal(
        zq_channel_classify(ZQ_CH_DINGTALK, 200, msg, strlen(msg), NULL, &ra, small, sizeof(small)),
        ZQ_DELIVERY_FAIL);
    assert_string_equal(small, "dingtalk errcode 310000: 签?");
    /* A huge body is not parsed: an error page. */
    memset(big, ' ', sizeof(big));
    memcpy(big, "{\"errcode\":0}", 13);
    assert_int_equal(
        zq_channel_classify(ZQ_CH_WECOM, 200, big, sizeof(big), NULL, &ra, reason, sizeof(reason)),
        ZQ_DELIVERY_RETRY);
    /* Retry-After as an HTTP date in the future. */
    later = time(NULL) + 120;
    gmtime_r(&later, &tm);
    strftime(httpdate, sizeof(httpdate), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    assert_int_equal(
        zq_channel_classify(ZQ_CH_GENERIC, 429, "", 0, httpdate, &ra, reason, sizeof(reason)),
        ZQ_DELIVERY_RETRY);
    assert_true(ra >= 100000 && ra <= 120000);
    /* Telegram's retry_after wins over the header. */
    assert_int_equal(
        zq_channel_classify(ZQ_CH_TELEGRAM, 429, tg, strlen(tg), "30", &ra, reason, sizeof(reason)),
        ZQ_DELIVERY_RETRY);
    assert_int_equal(ra, 2000);
}

/* Found by tests/fuzz/fuzz_classify.c: an HTTP 429 whose body claims
 * success was taken as delivered. A throttled request was not sent, so it
 * is retried whatever the body says (with the Retry-After it gave). */
static void test_classify_429_success_body(void **state)
{
    static const struct {
        zq_channel_kind k;
        const char *body;
    } cases[] = {
        {ZQ_CH_WECOM, "{\"errcode\":0,\"errmsg\":\"ok\"}"},
        {ZQ_CH_DINGTALK, "{\"errcode\":0,\"errmsg\":\"ok\"}"},
        {ZQ_CH_FEISHU, "{\"code\":0,\"msa\":{}}"},
        {ZQ_CH_FEISHU, "{\"StatusCode\":0,\"StatusMessage\":\"success\"}"},
        {ZQ_CH_TELEGRAM, "{\"ok\":true,\"result\":{}}"},
    };
    char reason[128];
    int64_t ra = -1;
    size_t i;

    (void)state;
    for (i = 0; i < ZQ_ARRAY_LEN(cases); i++) {
        assert_int_equal(zq_channel_classify(cases[i].k, 429, cases[i].body, strlen(cases[i].body),
                                             "9", &ra, reason, sizeof(reason)),
                         ZQ_DELIVERY_RETRY);
        assert_int_equal(ra, 9000);
        assert_non_null(strstr(reason, "429"));
    }
}

/* The staff view shows a generic address up to its query, and only the
 * ends of an address that is a credential. */
/* The answers that mean the destination itself is gone (issue 13 item 12),
 * and look-alikes that do not. */
static void test_target_gone(void **state)
{
    static const struct {
        zq_channel_kind k;
        long status;
        const char *body;
        bool gone;
    } cases[] = {
        {ZQ_CH_TELEGRAM, 403,
         "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: bot was blocked by "
         "the user\"}",
         true},
        {ZQ_CH_TELEGRAM, 403,
         "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: bot was kicked from "
         "the group chat\"}",
         true},
        {ZQ_CH_TELEGRAM, 400, "{\"ok\":false,\"description\":\"Bad Request: chat not found\"}",
         true},
        {ZQ_CH_TELEGRAM, 400,
         "{\"ok\":false,\"description\":\"Bad Request: message is too "
         "long\"}",
         false},
        {ZQ_CH_TELEGRAM, 401, "{\"ok\":false,\"description\":\"Unauthorized\"}", false},
        {ZQ_CH_TELEGRAM, 429, "{\"ok\":false,\"parameters\":{\"retry_after\":3}}", false},
        {ZQ_CH_FEISHU_CHAT, 400,
         "{\"code\":230002,\"msg\":\"Bot/User can NOT be out of the "
         "chat.\"}",
         true},
        {ZQ_CH_FEISHU_CHAT, 400, "{\"code\":230020,\"msg\":\"frequency limit\"}", false},
        {ZQ_CH_FEISHU, 200, "{\"code\":230002,\"msg\":\"x\"}", false},
        {ZQ_CH_WECOM_APP, 200,
         "{\"errcode\":81013,\"errmsg\":\"user & party & tag all "
         "invalid\"}",
         true},
        {ZQ_CH_WECOM_APP, 200, "{\"errcode\":0,\"errmsg\":\"ok\",\"invaliduser\":\"zhangsan\"}",
         true},
        {ZQ_CH_WECOM_APP, 200, "{\"errcode\":0,\"errmsg\":\"ok\",\"invaliduser\":\"\"}", false},
        {ZQ_CH_WECOM_APP, 200, "{\"errcode\":40058,\"errmsg\":\"too long\"}", false},
        {ZQ_CH_WECOM, 200, "{\"errcode\":81013,\"errmsg\":\"x\"}", false},
        {ZQ_CH_WECOM, 200, "{\"errcode\":93000,\"errmsg\":\"invalid webhook url\"}", true},
        {ZQ_CH_WECOM, 200, "{\"errcode\":45009,\"errmsg\":\"api freq out of limit\"}", false},
        {ZQ_CH_DINGTALK, 200, "{\"errcode\":300005,\"errmsg\":\"token is not exist\"}", true},
        {ZQ_CH_DINGTALK, 200, "{\"errcode\":310000,\"errmsg\":\"sign not match\"}", false},
        {ZQ_CH_FEISHU, 200,
         "{\"code\":19001,\"msg\":\"param invalid: incoming webhook access token invalid\"}", true},
        {ZQ_CH_FEISHU, 200, "{\"code\":19021,\"msg\":\"sign match fail\"}", false},
        {ZQ_CH_FEISHU, 200, "{\"StatusCode\":0,\"code\":0}", false},
        {ZQ_CH_TELEGRAM, 0, NULL, false},
    };
    char why[200];

    (void)state;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(cases); i++) {
        const char *b = cases[i].body;

        why[0] = '\0';
        assert_int_equal(zq_channel_target_gone(cases[i].k, cases[i].status, b, b ? strlen(b) : 0,
                                                why, sizeof(why)),
                         cases[i].gone);
        if (cases[i].gone)
            assert_true(why[0] != '\0');
    }
}

static void test_target_json(void **state)
{
    static const struct {
        zq_channel_kind k;
        const char *address, *shown;
    } cases[] = {
        {ZQ_CH_GENERIC, "https://hook.example/push?token=secret#x", "https://hook.example/push"},
        {ZQ_CH_GENERIC, "https://hook.example/push", "https://hook.example/push"},
        {ZQ_CH_GENERIC, "https://alice:pw@hook.example/push?k=1", "https://***@hook.example/push"},
        {ZQ_CH_TELEGRAM, "123456:ABCDEFGHIJKLMNOP", "1234****MNOP"},
        {ZQ_CH_TELEGRAM, "12345678", "****"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zq_target_rec r;
        json_t *o;

        memset(&r, 0, sizeof(r));
        r.t.kind = cases[i].k;
        assert_int_equal(zq_fmt(r.t.id, sizeof(r.t.id), "t%zu", i), 0);
        assert_int_equal(zq_fmt(r.t.address, sizeof(r.t.address), "%s", cases[i].address), 0);
        o = zq_target_to_json(&r);
        assert_non_null(o);
        assert_string_equal(json_string_value(json_object_get(o, "address")), cases[i].shown);
        json_decref(o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),           cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_target_json),     cmocka_unit_test(test_sign_vectors),
        cmocka_unit_test(test_sign_sizes),      cmocka_unit_test(test_sign_key_cache),
        cmocka_unit_test(test_url_encode),      cmocka_unit_test(test_wecom),
        cmocka_unit_test(test_wecom_mentions),  cmocka_unit_test(test_dingtalk),
        cmocka_unit_test(test_feishu),          cmocka_unit_test(test_telegram),
        cmocka_unit_test(test_generic),         cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_split_bytes),     cmocka_unit_test(test_split_many_limits),
        cmocka_unit_test(test_split_lines),     cmocka_unit_test(test_split_telegram),
        cmocka_unit_test(test_split_feishu),    cmocka_unit_test(test_split_dingtalk_mentions),
        cmocka_unit_test(test_split_truncated), cmocka_unit_test(test_classify),
        cmocka_unit_test(test_classify_edges),  cmocka_unit_test(test_classify_429_success_body),
        cmocka_unit_test(test_target_gone),
    };

    json_object_seed(1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

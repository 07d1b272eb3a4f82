/* Tests of lib/intake/validate.c: every field type's validator on valid, invalid
 * and edge inputs (data-driven tables), the GB 32100 check character
 * against an independent reference, and the display strings. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/buf.h"
#include "zhuqi/jsonq.h"
#include "zhuqi/schema.h"

/* Tests run from the repository root unless ZQ_TEST_ROOT says otherwise. */
static const char *path_of(const char *rel)
{
    static char buf[4][1024];
    static int next;
    const char *root = getenv("ZQ_TEST_ROOT");
    char *p = buf[next++ % 4];

    snprintf(p, sizeof(buf[0]), "%s/%s", root != NULL ? root : ".", rel);
    return p;
}

/* The real schema, for the region list. */
static zq_schema *schema;

static int setup(void **state)
{
    zq_err err = {0};

    (void)state;
    if (zq_schema_load(path_of("config/forms"), path_of("config/regions.json"), &schema, &err) !=
        0) {
        print_error("load: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zq_schema_free(schema);
    schema = NULL;
    return 0;
}

/* One input and what must come of it. */
typedef struct vcase {
    const char *in;   /* raw bytes as a JSON string; "j:" + JSON text; NULL: no input */
    const char *want; /* JSON text of the normalised value, or NULL for an error */
    const char *msg;  /* the error (or, on success, the warning) expected; NULL for none */
} vcase;

static json_t *input_of(const char *in)
{
    json_t *v;

    if (in == NULL)
        return NULL;
    if (strncmp(in, "j:", 2) == 0) {
        v = json_loads(in + 2, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        return v;
    }
    /* Without the UTF-8 check, so that bad bytes reach the validator. */
    v = json_stringn_nocheck(in, strlen(in));
    assert_non_null(v);
    return v;
}

/* JSON text of v as the step's script takes it (json_dumpb's compact
 * bytes): a new string. */
static char *compact(json_t *v)
{
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    assert_non_null(t);
    return t;
}

/* The same input read from a body's bytes (zq_jsonq_members) and validated
 * by zq_step_validate_raw as the only field of a step: the value's compact
 * JSON after the id when zq_field_validate took it (rc, out), an error when
 * it did not. Returns whether the raw path read it (the reader leaves \u
 * escapes and invalid UTF-8 to jansson; multiple choices and uploads are
 * not plain). */
/* How many table cases raw_case read: test_raw_cases_read wants many. */
static size_t raw_taken;

static bool raw_case(const zq_field *f, json_t *in, const zq_schema_opts *o, int rc, json_t *out)
{
    zq_step st = {.id = "s", .title = "S", .fields = (zq_field *)f, .nfields = 1};
    json_t *body = json_object(), *ans = json_object();
    zq_jsonq_member m[8];
    zq_buf tmp = {0}, list = {0}, want = {0};
    char mobile[12], *text, *v;
    bool took = false;
    int n, rrc;

    if (in != NULL)
        json_object_set(ans, f->id, in);
    json_object_set_new(body, "answers", ans);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL || f->multiple || f->type == ZQ_FIELD_FILES)
        goto out;
    n = zq_jsonq_members(text, strlen(text), "answers", m, 8, &tmp);
    if (n < 0)
        goto out;
    rrc = zq_step_validate_raw(schema, &st, m, (size_t)n, o, &list, mobile);
    if (rc != 0) {
        if (rrc != -ZQ_EINVAL)
            print_error("raw path took %s: %s\n", text, list.data);
        assert_int_equal(rrc, -ZQ_EINVAL);
    } else {
        v = compact(out);
        zq_buf_puts(&want, f->id);
        zq_buf_puts(&want, "\n");
        zq_buf_puts(&want, v);
        zq_buf_puts(&want, "\n");
        free(v);
        assert_int_equal(rrc, 0);
        assert_string_equal(list.data, want.data);
        took = true;
    }
out:
    free(text);
    zq_buf_free(&tmp);
    zq_buf_free(&list);
    zq_buf_free(&want);
    return took;
}

static void run_cases(const char *what, const zq_field *f, const vcase *cases, size_t n,
                      const zq_schema_opts *o)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < n; i++) {
        json_t *in = input_of(cases[i].in), *out = NULL, *want = NULL;
        const char *msg = NULL;
        int rc = zq_field_validate(schema, f, in, o, &out, &msg);
        bool ok;

        if (cases[i].want != NULL) {
            want = json_loads(cases[i].want, JSON_DECODE_ANY, NULL);
            assert_non_null(want);
            ok = rc == 0 && out != NULL && json_equal(out, want) &&
                 ((cases[i].msg == NULL && msg == NULL) ||
                  (cases[i].msg != NULL && msg != NULL && strcmp(cases[i].msg, msg) == 0));
        } else {
            ok = rc == -ZQ_EINVAL && out == NULL && msg != NULL && cases[i].msg != NULL &&
                 strcmp(msg, cases[i].msg) == 0;
        }
        if (!ok) {
            char *got = out != NULL ? json_dumps(out, JSON_ENCODE_ANY) : NULL;

            print_error("%s case %zu (%s):\n   got rc=%d out=%s msg=%s\n  want out=%s msg=%s\n",
                        what, i, cases[i].in != NULL ? cases[i].in : "(none)", rc,
                        got != NULL ? got : "-", msg != NULL ? msg : "-",
                        cases[i].want != NULL ? cases[i].want : "-",
                        cases[i].msg != NULL ? cases[i].msg : "-");
            free(got);
            bad++;
        }
        /* The same answer, read from a body's bytes. */
        raw_taken += raw_case(f, in, o, rc, out);
        json_decref(in);
        json_decref(out);
        json_decref(want);
    }
    assert_int_equal(bad, 0);
}

#define RUN(what, f, cases, o) run_cases(what, f, cases, sizeof(cases) / sizeof(cases[0]), o)

/* text */

static const vcase text_cases[] = {
    {"成都", "\"成都\"", NULL},
    {"  成都某某科技有限公司  ", "\"成都某某科技有限公司\"", NULL}, /* 10 characters */
    {"\xE3\x80\x80成都\xE3\x80\x80", "\"成都\"", NULL},             /* full-width spaces */
    {"\t\n 成都 \r\n", "\"成都\"", NULL},
    {"AB", "\"AB\"", NULL},
    {"成都 某某", "\"成都 某某\"", NULL},
    {"😀😀", "\"😀😀\"", NULL}, /* characters, not bytes */
    {"成", NULL, "企业名称至少 2 个字（现在 1 个字）"},
    {"成都某某科技股份有限公司", NULL, "企业名称最多 10 个字（现在 12 个字）"},
    {"", NULL, "请填写企业名称"},
    {"   \xE3\x80\x80 ", NULL, "请填写企业名称"},
    {NULL, NULL, "请填写企业名称"},
    {"j:null", NULL, "请填写企业名称"},
    {"\xFF\xFE", NULL, "企业名称含有无法识别的字符，请重新输入"},
    {"\xC0\xAF成都", NULL, "企业名称含有无法识别的字符，请重新输入"},     /* overlong */
    {"\xED\xA0\x80成都", NULL, "企业名称含有无法识别的字符，请重新输入"}, /* surrogate */
    {"成都\n公司", NULL, "企业名称只能填写一行"},
    {"成都\r公司", NULL, "企业名称只能填写一行"},
    {"成都\t公司", NULL, "企业名称不能包含制表符等控制字符，请删除后再提交"},
    {"成都\x01公司", NULL, "企业名称不能包含制表符等控制字符，请删除后再提交"},
    {"成都\x7F公司", NULL, "企业名称不能包含制表符等控制字符，请删除后再提交"},
    {"成都\xC2\x85公司", NULL, "企业名称不能包含制表符等控制字符，请删除后再提交"}, /* C1 NEL */
    {"j:123", NULL, "企业名称格式不正确"},
    {"j:true", NULL, "企业名称格式不正确"},
    {"j:[\"a\"]", NULL, "企业名称格式不正确"},
};

static void test_text(void **state)
{
    zq_field f = {.id = "company_name",
                  .label = "企业名称",
                  .type = ZQ_FIELD_TEXT,
                  .required = true,
                  .min = 2,
                  .max = 10};

    (void)state;
    RUN("text", &f, text_cases, NULL);
}

static const vcase multiline_cases[] = {
    {"第一行\n第二行", "\"第一行\\n第二行\"", NULL},
    {"第一行\r\n第二行", "\"第一行\\n第二行\"", NULL},
    {"第一行\r第二行", "\"第一行\\n第二行\"", NULL},
    {"\n\n第一行\n\n", "\"第一行\"", NULL},
    {"一\n二\n三\n四\n五", "\"一\\n二\\n三\\n四\\n五\"", NULL}, /* newlines count */
    {"一\n二\n三\n四\n五六七", NULL, "事实与经过最多 10 个字（现在 11 个字）"},
    {"一二三\t四", NULL, "事实与经过不能包含制表符等控制字符，请删除后再提交"},
    {"", "null", NULL},
    {NULL, "null", NULL},
    {"j:null", "null", NULL},
    {" \n ", "null", NULL},
};

static void test_text_multiline_optional(void **state)
{
    zq_field f = {.id = "facts",
                  .label = "事实与经过",
                  .type = ZQ_FIELD_TEXT,
                  .required = false,
                  .multiline = true,
                  .max = 10};

    (void)state;
    RUN("multiline", &f, multiline_cases, NULL);
}

/* enum */

static zq_option topics[] = {
    {"tax", "财税"},      {"financing", "融资"}, {"policy", "政策"},    {"specialised", "专精特新"},
    {"growth", "小升规"}, {"legal", "法律"},     {"digital", "数字化"}, {"other", "其他"},
};

static const vcase enum_cases[] = {
    {"tax", "\"tax\"", NULL},
    {"财税", "\"tax\"", NULL},
    {"专精特新", "\"specialised\"", NULL},
    {" 融资 ", "\"financing\"", NULL},
    {"TAX", "\"tax\"", NULL},
    {"2", "\"financing\"", NULL},
    {"8", "\"other\"", NULL},
    {"１", "\"tax\"", NULL}, /* full-width digit */
    {"j:3", "\"policy\"", NULL},
    {"9", NULL, "请从选项中选择咨询类别"},
    {"0", NULL, "请从选项中选择咨询类别"},
    {"-1", NULL, "请从选项中选择咨询类别"},
    {"j:9", NULL, "请从选项中选择咨询类别"},
    {"j:0", NULL, "请从选项中选择咨询类别"},
    {"2.0", NULL, "请从选项中选择咨询类别"},
    {"税", NULL, "请从选项中选择咨询类别"},
    {"taxes", NULL, "请从选项中选择咨询类别"},
    {"", NULL, "请选择咨询类别"},
    {NULL, NULL, "请选择咨询类别"},
    {"j:true", NULL, "请从选项中选择咨询类别"},
};

static void test_enum(void **state)
{
    zq_field f = {.id = "topic",
                  .label = "咨询类别",
                  .type = ZQ_FIELD_ENUM,
                  .required = true,
                  .options = topics,
                  .noptions = ZQ_ARRAY_LEN(topics)};

    (void)state;
    RUN("enum", &f, enum_cases, NULL);
}

/* uscc */

/* A reference written apart from the library: the alphabet by position
 * and the weights exactly as printed in GB 32100. */
static char ref_check(const char *c17)
{
    static const char alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    static const int weights[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    int sum = 0, i;

    for (i = 0; i < 17; i++) {
        const char *p = strchr(alpha, c17[i]);

        assert_non_null(p);
        sum += (int)(p - alpha) * weights[i];
    }
    return alpha[(31 - sum % 31) % 31];
}

/* Codes published by their holders (business licences and annual
 * reports); their check characters verify against ref_check below. */
static const char *const published[] = {
    "914403001922038216", /* 华为技术有限公司 */
    "91440300708461136T", /* 深圳市腾讯计算机系统有限公司 */
    "91330100799655058B", /* 阿里巴巴（中国）有限公司 */
    "91110108558521630L", /* 小米通讯技术有限公司 */
    "91350100M000100Y43", /* the worked example of GB 32100-2015 */
};

static void test_uscc_published_codes(void **state)
{
    zq_field f = {
        .id = "uscc", .label = "统一社会信用代码", .type = ZQ_FIELD_USCC, .required = true};
    size_t i;

    (void)state;
    for (i = 0; i < ZQ_ARRAY_LEN(published); i++) {
        json_t *in = json_string(published[i]), *out = NULL;
        const char *msg = NULL;

        assert_int_equal(ref_check(published[i]), published[i][17]);
        assert_int_equal(zq_uscc_check_char(published[i]), published[i][17]);
        assert_int_equal(zq_field_validate(schema, &f, in, NULL, &out, &msg), 0);
        assert_null(msg);
        assert_string_equal(json_string_value(out), published[i]);
        json_decref(in);
        json_decref(out);
    }
}

/* The library's check character equals the reference on many bodies. */
static void test_uscc_check_char_reference(void **state)
{
    static const char alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    uint32_t x = 2463534242u;
    char body[18];
    int n, i;

    (void)state;
    for (n = 0; n < 2000; n++) {
        for (i = 0; i < 17; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            body[i] = alpha[x % 31];
        }
        body[17] = '\0';
        assert_int_equal(zq_uscc_check_char(body), ref_check(body));
    }
    assert_int_equal(zq_uscc_check_char(NULL), 0);
    assert_int_equal(zq_uscc_check_char("9144030019220382I"), 0);
    assert_int_equal(zq_uscc_check_char("9144030019220382a"), 0);
    assert_int_equal(zq_uscc_check_char("91440300"), 0); /* short */
    /* Only the first 17 characters matter. */
    assert_int_equal(zq_uscc_check_char("914403001922038216"), '6');
    /* Every byte in every place: refused when not in the alphabet, else
     * as the reference says. */
    for (n = 1; n < 256; n++)
        for (i = 0; i < 17; i++) {
            memcpy(body, "91440300192203821", 18);
            body[i] = (char)n;
            if (strchr(alpha, n) == NULL)
                assert_int_equal(zq_uscc_check_char(body), 0);
            else
                assert_int_equal(zq_uscc_check_char(body), ref_check(body));
        }
}

/* Builds "body + check" and "body + wrong check" for the table. */
static void make_code(const char *body, char good[19], char bad[19])
{
    static const char alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    char c = ref_check(body);

    memcpy(good, body, 17);
    good[17] = c;
    good[18] = '\0';
    memcpy(bad, good, 19);
    bad[17] = alpha[(strchr(alpha, c) - alpha + 1) % 31];
}

static void test_uscc(void **state)
{
    static const char *const bodies[] = {
        "91510100MA61R7XX0", "12510000MB1234567", "52510100MJ0000001", "93510100MA6CQWERT",
        "91500000MA5U00000", "31510000MD0000001", "Y1510100000000000",
    };
    zq_field f = {
        .id = "uscc", .label = "统一社会信用代码", .type = ZQ_FIELD_USCC, .required = true};
    zq_schema_opts warn = {.uscc_checksum_warn_only = true};
    char good[19], bad[19], in[64], want[32];
    size_t i, j;

    (void)state;
    for (i = 0; i < ZQ_ARRAY_LEN(bodies); i++) {
        char lower[19];

        make_code(bodies[i], good, bad);
        for (j = 0; j < 19; j++)
            lower[j] = (good[j] >= 'A' && good[j] <= 'Z') ? (char)(good[j] - 'A' + 'a') : good[j];
        snprintf(want, sizeof(want), "\"%s\"", good);
        {
            const vcase cases[] = {
                {good, want, NULL},
                {lower, want, NULL},
                {bad, NULL, "统一社会信用代码校验位不正确，请核对"},
            };

            RUN("uscc generated", &f, cases, NULL);
        }
        /* With spaces, as printed on a licence. */
        snprintf(in, sizeof(in), " %.4s %.4s %.4s %.6s ", good, good + 4, good + 8, good + 12);
        {
            const vcase cases[] = {{in, want, NULL}};

            RUN("uscc spaced", &f, cases, NULL);
        }
        /* Warn-only accepts the wrong check character and says so. */
        snprintf(want, sizeof(want), "\"%s\"", bad);
        {
            const vcase cases[] = {{bad, want, "统一社会信用代码校验位不正确，请核对"}};

            RUN("uscc warn-only", &f, cases, &warn);
        }
    }
}

static const vcase uscc_cases[] = {
    {"914403001922038216", "\"914403001922038216\"", NULL},
    {"9144 0300 1922 0382 16", "\"914403001922038216\"", NULL},
    {"91440300708461136t", "\"91440300708461136T\"", NULL},
    {"\xE3\x80\x80"
     "91440300708461136T",
     "\"91440300708461136T\"", NULL},
    {"９１４４０３００１９２２０３８２１６", "\"914403001922038216\"", NULL}, /* full-width */
    {"914403001922038217", NULL, "统一社会信用代码校验位不正确，请核对"},
    {"91440300708461136X", NULL, "统一社会信用代码校验位不正确，请核对"},
    {"91440300708461136", NULL, "统一社会信用代码应为 18 位（现在 17 位）"},
    {"9144030070846113600", NULL, "统一社会信用代码应为 18 位（现在 19 位）"},
    {"91440300708461136I", NULL,
     "统一社会信用代码第 18 位是“I”：代码中不使用字母 I、O、S、V、Z，请核对"},
    {"9144030O708461136T", NULL,
     "统一社会信用代码第 8 位是“O”：代码中不使用字母 I、O、S、V、Z，请核对"},
    {"s1440300708461136T", NULL,
     "统一社会信用代码第 1 位是“S”：代码中不使用字母 I、O、S、V、Z，请核对"},
    {"91440300708461136V", NULL,
     "统一社会信用代码第 18 位是“V”：代码中不使用字母 I、O、S、V、Z，请核对"},
    {"9144030070846113Z6", NULL,
     "统一社会信用代码第 17 位是“Z”：代码中不使用字母 I、O、S、V、Z，请核对"},
    {"9144030070846113-T", NULL, "统一社会信用代码第 17 位“-”无效：只能是数字或大写字母"},
    {"91440300708461136中", NULL, "统一社会信用代码只能包含数字和大写字母"},
    {"", NULL, "请填写统一社会信用代码"},
    {NULL, NULL, "请填写统一社会信用代码"},
    {"j:914403001922038216", NULL, "统一社会信用代码格式不正确"},
};

static void test_uscc_table(void **state)
{
    zq_field f = {
        .id = "uscc", .label = "统一社会信用代码", .type = ZQ_FIELD_USCC, .required = true};
    zq_field opt = {.id = "respondent_uscc",
                    .label = "被投诉单位统一社会信用代码",
                    .type = ZQ_FIELD_USCC,
                    .required = false};
    static const vcase opt_cases[] = {
        {"", "null", NULL},
        {"  ", "null", NULL},
        {"914403001922038217", NULL, "被投诉单位统一社会信用代码校验位不正确，请核对"},
    };

    (void)state;
    RUN("uscc", &f, uscc_cases, NULL);
    RUN("uscc optional", &opt, opt_cases, NULL);
}

/* mobile */

static const vcase mobile_cases[] = {
    {"13812345678", "\"13812345678\"", NULL},
    {"138 1234 5678", "\"13812345678\"", NULL},
    {"138-1234-5678", "\"13812345678\"", NULL},
    {"+86 138 1234 5678", "\"13812345678\"", NULL},
    {"+8613812345678", "\"13812345678\"", NULL},
    {"8613812345678", "\"13812345678\"", NULL},
    {"86-138-1234-5678", "\"13812345678\"", NULL},
    {"１３８１２３４５６７８", "\"13812345678\"", NULL},
    {"19912345678", "\"19912345678\"", NULL},
    {"j:13812345678", "\"13812345678\"", NULL},
    {"1381234567", NULL, "手机号码应为 11 位数字（现在 10 位）"},
    {"138123456789", NULL, "手机号码应为 11 位数字（现在 12 位）"}, /* 12 digits */
    {"86138123456", NULL, "手机号码不是有效的手机号码，请核对"},    /* 11 digits: no prefix */
    {"12812345678", NULL, "手机号码不是有效的手机号码，请核对"},    /* second digit 2 */
    {"10012345678", NULL, "手机号码不是有效的手机号码，请核对"},
    {"23812345678", NULL, "手机号码不是有效的手机号码，请核对"},
    {"+1 202 555 0123", NULL, "手机号码请填写中国大陆的 11 位手机号码"},
    {"138abc45678", NULL, "手机号码只能填写数字（可以带空格、短横线或 +86）"},
    {"138.1234.5678", NULL, "手机号码只能填写数字（可以带空格、短横线或 +86）"},
    {"1+3812345678", NULL, "手机号码只能填写数字（可以带空格、短横线或 +86）"},
    {"", NULL, "请填写手机号码"},
    {"j:1.5", NULL, "手机号码格式不正确"},
};

static void test_mobile(void **state)
{
    zq_field f = {.id = "mobile", .label = "手机号码", .type = ZQ_FIELD_MOBILE, .required = true};

    (void)state;
    RUN("mobile", &f, mobile_cases, NULL);
}

/* money */

static const vcase money_cases[] = {
    {"1234", "123400", NULL},
    {"1,234.50", "123450", NULL},
    {"1234.5", "123450", NULL},
    {"1,234,567.89", "123456789", NULL},
    {"0.01", "1", NULL},
    {"007", "700", NULL},
    {"１，２３４．５６", "123456", NULL}, /* full-width digits, comma, period */
    {"１２３４", "123400", NULL},
    {"1234元", "123400", NULL},
    {"1,234.50 元", "123450", NULL},
    {"¥88", "8800", NULL},
    {"￥88.8", "8880", NULL},
    {" 100 ", "10000", NULL},
    {"10000000000", "1000000000000", NULL}, /* the default ceiling exactly */
    {"j:123450", "123450", NULL},           /* a JSON integer is fen */
    {"0", NULL, "拖欠金额必须大于 0"},
    {"0.00", NULL, "拖欠金额必须大于 0"},
    {"-1", NULL, "拖欠金额必须大于 0"},
    {"-0.5", NULL, "拖欠金额必须大于 0"},
    {"j:0", NULL, "拖欠金额必须大于 0"},
    {"j:-100", NULL, "拖欠金额必须大于 0"},
    {"0.001", NULL, "拖欠金额最多精确到分（两位小数）"},
    {"1.234", NULL, "拖欠金额最多精确到分（两位小数）"},
    {"10000000000.01", NULL, "拖欠金额不能超过 10,000,000,000.00 元，请核对"},
    {"99999999999999999999999999", NULL, "拖欠金额不能超过 10,000,000,000.00 元，请核对"},
    {"j:1000000000001", NULL, "拖欠金额不能超过 10,000,000,000.00 元，请核对"},
    {"1e5", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {"NaN", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {"inf", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {"0x10", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {"12,34", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {"1234,567", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {"1,,234", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {",123", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {"1234.", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {".5", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {"+5", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {"1 234", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {"12万", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {"元", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {"j:1.5", NULL, "拖欠金额只能填写数字和小数点（以元为单位，如 12345.60）"},
    {"j:\"\"", NULL, "请填写拖欠金额"},
    {"", NULL, "请填写拖欠金额"},
};

static void test_money(void **state)
{
    zq_field f = {
        .id = "amount_fen", .label = "拖欠金额", .type = ZQ_FIELD_MONEY, .required = true};

    (void)state;
    RUN("money", &f, money_cases, NULL);
}

/* The field's own ceiling and the operator's, whichever is lower. */
static void test_money_ceilings(void **state)
{
    zq_field f = {.id = "fee_fen",
                  .label = "费用",
                  .type = ZQ_FIELD_MONEY,
                  .required = false,
                  .max = 100000}; /* 1000 yuan */
    zq_schema_opts low = {.money_ceiling_fen = 50000};
    zq_schema_opts high = {.money_ceiling_fen = 10000000};
    static const vcase field_cases[] = {
        {"1000", "100000", NULL},
        {"1000.01", NULL, "费用不能超过 1,000.00 元，请核对"},
        {"", "null", NULL},
    };
    static const vcase low_cases[] = {
        {"500", "50000", NULL},
        {"500.01", NULL, "费用不能超过 500.00 元，请核对"},
    };

    (void)state;
    RUN("money field max", &f, field_cases, NULL);
    RUN("money field max, higher opts", &f, field_cases, &high);
    RUN("money opts lower", &f, low_cases, &low);
    f.max = 0;
    {
        static const vcase cases[] = {
            {"100000", "10000000", NULL},
            {"100000.01", NULL, "费用不能超过 100,000.00 元，请核对"},
        };

        RUN("money opts only", &f, cases, &high);
    }
}

/* date */

static const vcase date_cases[] = {
    {"2026-11-26", "\"2026-11-26\"", NULL},
    {"2026/11/26", "\"2026-11-26\"", NULL},
    {"2026.11.26", "\"2026-11-26\"", NULL},
    {"2026年11月26日", "\"2026-11-26\"", NULL},
    {"2026 年 11 月 26 日", "\"2026-11-26\"", NULL},
    {"2026年1月5日", "\"2026-01-05\"", NULL},
    {"2026年1月5", "\"2026-01-05\"", NULL},
    {"2026-1-5", "\"2026-01-05\"", NULL},
    {"2026/01/05", "\"2026-01-05\"", NULL},
    {"２０２６－１１－２６", "\"2026-11-26\"", NULL}, /* full-width */
    {"2024-02-29", "\"2024-02-29\"", NULL},           /* leap year */
    {"2000-02-29", "\"2000-02-29\"", NULL},           /* divisible by 400 */
    {"2025-12-31", "\"2025-12-31\"", NULL},
    {"2026-02-29", NULL, "合同签订日期不是日历上存在的日期，请核对"},
    {"2100-02-29", NULL, "合同签订日期不是日历上存在的日期，请核对"}, /* by 100, not 400 */
    {"2026-04-31", NULL, "合同签订日期不是日历上存在的日期，请核对"},
    {"2026-13-01", NULL, "合同签订日期不是日历上存在的日期，请核对"},
    {"2026-00-10", NULL, "合同签订日期不是日历上存在的日期，请核对"},
    {"2026-01-00", NULL, "合同签订日期不是日历上存在的日期，请核对"},
    {"1899-12-31", NULL, "合同签订日期不是日历上存在的日期，请核对"},
    {"2026-11-27", NULL, "合同签订日期不能晚于今天"},
    {"2027年1月1日", NULL, "合同签订日期不能晚于今天"},
    {"26-11-26", NULL, "合同签订日期请按“2026-11-26”或“2026年11月26日”的格式填写"},
    {"2026-11/26", NULL, "合同签订日期请按“2026-11-26”或“2026年11月26日”的格式填写"},
    {"2026-11-26T09:00", NULL, "合同签订日期请按“2026-11-26”或“2026年11月26日”的格式填写"},
    {"2026-111-26", NULL, "合同签订日期请按“2026-11-26”或“2026年11月26日”的格式填写"},
    {"20261126", NULL, "合同签订日期请按“2026-11-26”或“2026年11月26日”的格式填写"},
    {"2026年11月", NULL, "合同签订日期请按“2026-11-26”或“2026年11月26日”的格式填写"},
    {"昨天", NULL, "合同签订日期请按“2026-11-26”或“2026年11月26日”的格式填写"},
    {"j:20261126", NULL, "合同签订日期请按“2026-11-26”或“2026年11月26日”的格式填写"},
    {"", NULL, "请填写合同签订日期"},
};

static void test_date(void **state)
{
    zq_field f = {.id = "signing_date",
                  .label = "合同签订日期",
                  .type = ZQ_FIELD_DATE,
                  .required = true,
                  .not_future = true};
    zq_schema_opts o = {.today = "2026-11-26"};
    static const vcase future_ok[] = {
        {"2026-11-27", "\"2026-11-27\"", NULL},
        {"2099-12-31", "\"2099-12-31\"", NULL},
    };

    (void)state;
    RUN("date", &f, date_cases, &o);
    f.not_future = false;
    RUN("date without not_future", &f, future_ok, &o);
}

/* Without opts->today the clock decides: far past is fine, far future not. */
static void test_date_today_from_clock(void **state)
{
    zq_field f = {.id = "d", .label = "日期", .type = ZQ_FIELD_DATE, .not_future = true};
    zq_schema_opts bad_today = {.today = "tomorrow"};
    static const vcase cases[] = {
        {"2001-01-01", "\"2001-01-01\"", NULL},
        {"2099-01-01", NULL, "日期不能晚于今天"},
        {"", "null", NULL},
    };

    (void)state;
    RUN("date clock", &f, cases, NULL);
    RUN("date clock, unusable today", &f, cases, &bad_today);
}

/* region */

static const vcase region_cases[] = {
    {"510100", "\"510100\"", NULL},
    {"成都市", "\"510100\"", NULL},
    {"成都", "\"510100\"", NULL},
    {" 绵阳 ", "\"510700\"", NULL},
    {"凉山州", "\"513400\"", NULL},
    {"阿坝藏族羌族自治州", "\"513200\"", NULL},
    {"甘孜州", "\"513300\"", NULL},
    {"512000", "\"512000\"", NULL},
    {"５１０１００", "\"510100\"", NULL},
    {"j:511300", "\"511300\"", NULL},
    {"重庆", NULL, "所在地区须为四川省内的市（州）"},
    {"500000", NULL, "所在地区须为四川省内的市（州）"},
    {"北京市", NULL, "所在地区须为四川省内的市（州）"},
    {"510000", NULL, "请选择所在地区：四川省内的市（州）"}, /* the province itself */
    {"511200", NULL, "请选择所在地区：四川省内的市（州）"}, /* no longer exists */
    {"四川", NULL, "请选择所在地区：四川省内的市（州）"},
    {"成都市高新区", NULL, "请选择所在地区：四川省内的市（州）"},
    {"j:true", NULL, "请选择所在地区：四川省内的市（州）"},
    {"", NULL, "请选择所在地区"},
};

static const vcase region_outside_cases[] = {
    {"重庆", "\"500000\"", NULL},
    {"重庆市", "\"500000\"", NULL},
    {"500000", "\"500000\"", NULL},
    {"北京市", "\"110000\"", NULL},
    {"内蒙古", "\"150000\"", NULL},
    {"澳门特别行政区", "\"820000\"", NULL},
    {"香港", "\"810000\"", NULL},
    {"成都", "\"510100\"", NULL},
    {"东京", NULL, "请选择被投诉单位所在地区：四川省内的市（州）或其他省份"},
    {"", "null", NULL},
};

static void test_region(void **state)
{
    zq_field f = {.id = "region", .label = "所在地区", .type = ZQ_FIELD_REGION, .required = true};
    zq_field g = {.id = "respondent_region",
                  .label = "被投诉单位所在地区",
                  .type = ZQ_FIELD_REGION,
                  .allow_outside = true};

    (void)state;
    RUN("region", &f, region_cases, NULL);
    RUN("region outside", &g, region_outside_cases, NULL);
}

/* bool */

static const vcase bool_cases[] = {
    {"j:true", "true", NULL},
    {"j:false", "false", NULL},
    {"true", "true", NULL},
    {"False", "false", NULL},
    {"是", "true", NULL},
    {"否", "false", NULL},
    {"yes", "true", NULL},
    {"NO", "false", NULL},
    {"1", "true", NULL},
    {"0", "false", NULL},
    {"j:1", "true", NULL},
    {"j:0", "false", NULL},
    {"同意", "true", NULL},
    {"不同意", "false", NULL},
    {" 是 ", "true", NULL},
    {"maybe", NULL, "有无分支机构请回答“是”或“否”"},
    {"j:2", NULL, "有无分支机构请回答“是”或“否”"},
    {"j:\"\"", NULL, "请选择有无分支机构"},
    {NULL, NULL, "请选择有无分支机构"},
};

static const vcase declaration_cases[] = {
    {"j:true", "true", NULL},
    {"同意", "true", NULL},
    {"是", "true", NULL},
    {"j:false", NULL, "请阅读并勾选此项声明"},
    {"否", NULL, "请阅读并勾选此项声明"},
    {"", NULL, "请阅读并勾选此项声明"},
    {NULL, NULL, "请阅读并勾选此项声明"},
    {"maybe", NULL, "请阅读并勾选此项声明"},
};

static void test_bool(void **state)
{
    zq_field f = {
        .id = "branches", .label = "有无分支机构", .type = ZQ_FIELD_BOOL, .required = true};
    zq_field d = {.id = "consent",
                  .label = "同意处理个人信息",
                  .type = ZQ_FIELD_BOOL,
                  .required = true,
                  .must_be_true = true};
    zq_field o = {.id = "opt", .label = "可选", .type = ZQ_FIELD_BOOL};
    static const vcase opt_cases[] = {{"", "null", NULL}, {"j:false", "false", NULL}};

    (void)state;
    RUN("bool", &f, bool_cases, NULL);
    RUN("declaration", &d, declaration_cases, NULL);
    RUN("bool optional", &o, opt_cases, NULL);
}

static void test_bad_arguments(void **state)
{
    zq_field f = {.id = "x", .label = "X", .type = ZQ_FIELD_TEXT};
    json_t *out = (json_t *)1, *in = json_string("a");
    const char *msg = NULL;

    (void)state;
    assert_int_equal(zq_field_validate(schema, NULL, in, NULL, &out, &msg), -ZQ_EINVAL);
    assert_null(out);
    assert_string_equal(msg, "表单中没有这一项");
    assert_int_equal(zq_field_validate(schema, &f, in, NULL, NULL, &msg), -ZQ_EINVAL);
    /* msg may be NULL when the caller does not want it */
    assert_int_equal(zq_field_validate(schema, &f, in, NULL, &out, NULL), 0);
    json_decref(out);
    json_decref(in);
}

/* Normalised values validate to themselves, so a draft can be re-sent. */
static void test_normalised_round_trip(void **state)
{
    zq_field fields[] = {
        {.id = "a", .label = "A", .type = ZQ_FIELD_TEXT, .max = 100, .multiline = true},
        {.id = "b", .label = "B", .type = ZQ_FIELD_ENUM, .options = topics, .noptions = 8},
        {.id = "c", .label = "C", .type = ZQ_FIELD_USCC},
        {.id = "d", .label = "D", .type = ZQ_FIELD_MOBILE},
        {.id = "e_fen", .label = "E", .type = ZQ_FIELD_MONEY},
        {.id = "f", .label = "F", .type = ZQ_FIELD_DATE},
        {.id = "g", .label = "G", .type = ZQ_FIELD_REGION, .allow_outside = true},
        {.id = "h", .label = "H", .type = ZQ_FIELD_BOOL},
    };
    const char *raw[] = {" 一\r\n二 ",
                         "融资",
                         "9144 0300 1922 0382 16",
                         "+86 138-1234-5678",
                         "1,234.5元",
                         "2026年2月3日",
                         "重庆",
                         "同意"};
    size_t i;

    (void)state;
    for (i = 0; i < ZQ_ARRAY_LEN(fields); i++) {
        json_t *in = json_string(raw[i]), *once = NULL, *twice = NULL;
        const char *msg = NULL;

        assert_int_equal(zq_field_validate(schema, &fields[i], in, NULL, &once, &msg), 0);
        assert_int_equal(zq_field_validate(schema, &fields[i], once, NULL, &twice, &msg), 0);
        assert_true(json_equal(once, twice));
        json_decref(in);
        json_decref(once);
        json_decref(twice);
    }
}

/* zq_step_validate's answer for a step of the complaint form, as the
 * script's list (every field's id and compact JSON, each followed by a new
 * line) and the 11-byte mobile, or NULL when it finds an error. */
static char *tree_list(const zq_form *f, const zq_step *st, json_t *answers, char mobile[12])
{
    zq_schema_opts o = {.today = "2026-03-15"};
    json_t *out = NULL, *errors = NULL;
    zq_buf b = {0};
    const char *mob;
    size_t i;

    mobile[0] = '\0';
    if (zq_step_validate(schema, f, st, answers, NULL, &o, &out, &errors) != 0) {
        assert_non_null(errors);
        json_decref(errors);
        return NULL;
    }
    for (i = 0; i < st->nfields; i++) {
        char *t = compact(json_object_get(out, st->fields[i].id));

        zq_buf_puts(&b, st->fields[i].id);
        zq_buf_puts(&b, "\n");
        zq_buf_puts(&b, t);
        zq_buf_puts(&b, "\n");
        free(t);
    }
    mob = json_string_value(json_object_get(out, "mobile"));
    if (mob != NULL && strlen(mob) == 11)
        memcpy(mobile, mob, 12);
    json_decref(out);
    return b.data;
}

/* The complaint's plain steps validated from a body's bytes
 * (zq_jsonq_members, zq_step_validate_raw) give what zq_step_validate
 * gives on jansson's tree of the same body: the same values as the same
 * JSON bytes, the same mobile, or an error where it finds one. */
static void test_step_raw_as_tree(void **state)
{
    static const char *const bodies[] = {
        /* complainant: the sample, spaces, escapes, numbers, empties */
        "{\"answers\":{\"company_name\":\"成都某某科技有限公司\",\"uscc\":\"91510100MA61R7XQ34\","
        "\"legal_rep\":\"李明\",\"size\":\"small\",\"region\":\"510100\",\"address\":"
        "\"成都市高新区天府大道中段 1 号\",\"contact_name\":\"张伟\",\"mobile\":\"13812345678\"}}",
        " { \"answers\" : { \"mobile\" : \"+86 138-1234-5678\" , \"company_name\" : "
        "\"　成都\\\"某某\\\\科技\\/公司 \", \"uscc\": \"9151 0100 ma61 r7xq 34\", \"size\": "
        "\"小型\","
        " \"region\": \"成都\", \"address\": \"成都市高新区天府大道\", \"contact_name\": \"张伟\","
        " \"legal_rep\": null }, \"x\": 1, \"y\": \"\\n\" } ",
        "{\"answers\":{\"company_name\":\"成都某某科技有限公司\",\"uscc\":\"91510100MA61R7XQ34\","
        "\"size\":2,\"region\":510100,\"address\":\"成都市高新区天府大道\",\"contact_name\":"
        "\"张伟\","
        "\"mobile\":13812345678,\"legal_rep\":\"  \"}}",
        "{\"answers\":{\"company_name\":\"成都\\t科技\",\"uscc\":\"91510100MA61R7XQ34\",\"size\":"
        "\"small\","
        "\"region\":\"510100\",\"address\":\"成都市高新区天府大道\",\"contact_name\":\"张伟\","
        "\"mobile\":\"13812345678\"}}",
        "{\"answers\":{\"company_name\":\"成都某某科技有限公司\",\"uscc\":\"91510100MA61R7XQ34\","
        "\"size\":\"small\",\"region\":\"510100\",\"address\":\"成都市高新区天府大道\","
        "\"contact_name\":\"张伟\",\"mobile\":\"13812345678\",\"extra\":1}}",
        "{\"answers\":{\"company_name\":true,\"uscc\":false,\"size\":null,\"region\":-1,"
        "\"address\":0,"
        "\"contact_name\":\"\",\"mobile\":\"1381234567\"}}",
        "{\"answers\":{}}",
        /* respondent: optional fields empty and set, a region outside */
        "{\"answers\":{\"respondent_name\":\"某某市某某局\",\"respondent_type\":\"organ\","
        "\"respondent_region\":\"重庆\",\"respondent_phone\":\"028-12345678\","
        "\"respondent_uscc\":\"\",\"respondent_contact\":\"王经理\",\"respondent_address\":null}}",
        "{\"answers\":{\"respondent_name\":\"某某市某某局\",\"respondent_type\":\"organ\","
        "\"respondent_region\":\"510100\",\"respondent_uscc\":\"11510100XXXXXXXXXX\"}}",
        /* declarations: booleans as the pages and the chat send them */
        "{\"answers\":{\"no_other_proceedings\":true,\"facts_true\":\"是\",\"consent\":1}}",
        "{\"answers\":{\"no_other_proceedings\":true,\"facts_true\":false,\"consent\":true}}",
    };
    const char *const steps[] = {"complainant", "respondent", "declarations"};
    const zq_form *f = zq_schema_form(schema, "complaint");
    zq_schema_opts o = {.today = "2026-03-15"};
    size_t i, k, took = 0;

    (void)state;
    assert_non_null(f);
    for (k = 0; k < ZQ_ARRAY_LEN(steps); k++)
        assert_true(zq_step_plain(schema, f, zq_form_step(f, steps[k])));
    /* The gate, conditions, rules and uploads stay with zq_step_validate. */
    assert_false(zq_step_plain(schema, f, zq_form_step(f, "eligibility")));
    assert_false(zq_step_plain(schema, f, zq_form_step(f, "debt")));
    assert_false(zq_step_plain(schema, f, zq_form_step(f, "claim")));
    for (i = 0; i < ZQ_ARRAY_LEN(bodies); i++)
        for (k = 0; k < ZQ_ARRAY_LEN(steps); k++) {
            const zq_step *st = zq_form_step(f, steps[k]);
            zq_jsonq_member m[16];
            zq_buf tmp = {0}, list = {0};
            json_t *j = json_loads(bodies[i], JSON_REJECT_DUPLICATES, NULL);
            char mobile[12], tmob[12], *want;
            int n = zq_jsonq_members(bodies[i], strlen(bodies[i]), "answers", m, 16, &tmp), rc;

            assert_non_null(j);
            assert_true(n >= 0);
            want = tree_list(f, st, json_object_get(j, "answers"), tmob);
            rc = zq_step_validate_raw(schema, st, m, (size_t)n, &o, &list, mobile);
            if (want == NULL) {
                assert_int_equal(rc, -ZQ_EINVAL);
            } else {
                assert_int_equal(rc, 0);
                assert_string_equal(list.data, want);
                assert_string_equal(mobile, tmob);
                took++;
            }
            free(want);
            json_decref(j);
            zq_buf_free(&tmp);
            zq_buf_free(&list);
        }
    /* Three complainant bodies, one respondent, one declarations. */
    assert_int_equal(took, 5);
}

/* The tables above ran through the raw path too (run_cases): most of
 * their valid cases were read from a body's bytes. */
static void test_raw_cases_read(void **state)
{
    (void)state;
    assert_true(raw_taken >= 50);
}

/* display */

typedef struct dcase {
    zq_field_type type;
    const char *value; /* JSON text; NULL for no value */
    bool mask;
    const char *want;
} dcase;

static void test_display(void **state)
{
    static const dcase cases[] = {
        {ZQ_FIELD_MONEY, "1234560", false, "12,345.60 元"},
        {ZQ_FIELD_MONEY, "5", false, "0.05 元"},
        {ZQ_FIELD_MONEY, "100", false, "1.00 元"},
        {ZQ_FIELD_MONEY, "100000000000", false, "1,000,000,000.00 元"},
        {ZQ_FIELD_MONEY, "99999", false, "999.99 元"},
        {ZQ_FIELD_DATE, "\"2026-11-26\"", false, "2026年11月26日"},
        {ZQ_FIELD_DATE, "\"2026-01-05\"", false, "2026年1月5日"},
        {ZQ_FIELD_REGION, "\"513400\"", false, "凉山彝族自治州"},
        {ZQ_FIELD_REGION, "\"500000\"", false, "重庆市"},
        {ZQ_FIELD_REGION, "\"999999\"", false, "999999"},
        {ZQ_FIELD_ENUM, "\"specialised\"", false, "专精特新"},
        {ZQ_FIELD_ENUM, "\"nope\"", false, "nope"},
        {ZQ_FIELD_BOOL, "true", false, "是"},
        {ZQ_FIELD_BOOL, "false", true, "否"},
        {ZQ_FIELD_MOBILE, "\"13812345678\"", true, "138****5678"},
        {ZQ_FIELD_MOBILE, "\"13812345678\"", false, "13812345678"},
        {ZQ_FIELD_TEXT, "\"成都某某科技有限公司\"", true, "成都某某科技有限公司"},
        {ZQ_FIELD_USCC, "\"914403001922038216\"", true, "914403001922038216"},
        {ZQ_FIELD_TEXT, "null", false, "未填写"},
        {ZQ_FIELD_MONEY, NULL, false, "未填写"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < ZQ_ARRAY_LEN(cases); i++) {
        zq_field f = {.id = "x",
                      .label = "X",
                      .type = cases[i].type,
                      .options = topics,
                      .noptions = ZQ_ARRAY_LEN(topics)};
        json_t *v =
            cases[i].value != NULL ? json_loads(cases[i].value, JSON_DECODE_ANY, NULL) : NULL;
        char *got = zq_field_display(schema, &f, v, cases[i].mask);

        assert_non_null(got);
        if (strcmp(got, cases[i].want) != 0)
            print_error("display case %zu: got \"%s\" want \"%s\"\n", i, got, cases[i].want);
        assert_string_equal(got, cases[i].want);
        free(got);
        json_decref(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_text_multiline_optional),
        cmocka_unit_test(test_enum),
        cmocka_unit_test(test_uscc_published_codes),
        cmocka_unit_test(test_uscc_check_char_reference),
        cmocka_unit_test(test_uscc),
        cmocka_unit_test(test_uscc_table),
        cmocka_unit_test(test_mobile),
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_money_ceilings),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_date_today_from_clock),
        cmocka_unit_test(test_region),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_normalised_round_trip),
        cmocka_unit_test(test_display),
        cmocka_unit_test(test_step_raw_as_tree),
        cmocka_unit_test(test_raw_cases_read),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

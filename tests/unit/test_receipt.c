/* Tests of the printable receipt (lib/intake/receipt.c) and of the
 * answers as people read them (zq_summary_fields, lib/intake/summary.c):
 * the labels in the schema's order, the mobile masked, the files fields
 * left to the file list, every value escaped (a <script> in an answer and
 * in a file name stays text), the time of filing in Beijing time, and a
 * CSP whose hashes are those of the page's own style and script. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/log.h"
#include "zhuqi/receipt.h"
#include "zhuqi/summary.h"

static zq_schema *g_schema;

static const char *path_of(const char *rel)
{
    static char buf[4][1024];
    static int next;
    const char *root = getenv("ZQ_TEST_ROOT");
    char *p = buf[next++ % 4];
    int n = snprintf(p, sizeof(buf[0]), "%s/%s", root != NULL ? root : ".", rel);

    assert_true(n > 0 && (size_t)n < sizeof(buf[0]));
    return p;
}

static int setup(void **state)
{
    zq_err err = {0};

    (void)state;
    zq_log_init("test_receipt", ZQ_LOG_ERROR);
    if (zq_schema_load(path_of("config/forms"), path_of("config/regions.json"), &g_schema, &err) !=
        0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zq_schema_free(g_schema);
    return 0;
}

static json_t *answers(void)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:n, s:s, s:I, s:b, s:[{s:s, s:s, s:s, s:i}]}", "company_name",
        "<script>alert(1)</script>公司", "contact_name", "张三", "mobile", "13812345678", "region",
        "510100", "respondent_name", "某某建设集团", "respondent_uscc", "facts", "第一行\n第二行",
        "amount_fen", (json_int_t)12345678, "consent", 1, "evidence_files", "id",
        "0123456789abcdef0123456789abcdef", "kind", "contract", "name", "合同.pdf", "size", 5000);
}

/* The case as zq_case_load gives it, filed 2026-11-26 09:30:15 Beijing. */
static void make_case(zq_case *c, json_t *ans)
{
    memset(c, 0, sizeof(*c));
    memcpy(c->id, "TS20261126-0007", 16);
    memcpy(c->form, "complaint", 10);
    memcpy(c->status, "submitted", 10);
    c->created_ms = 1795656615000LL; /* 2026-11-26T01:30:15Z */
    c->answers = ans;
    c->files = json_pack("[{s:s, s:s, s:i}, {s:s, s:s, s:i}]", "kind", "合同", "name",
                         "<img src=x onerror=alert(2)>.pdf", "size", 5000, "kind", "发票", "name",
                         "发票.jpg", "size", 3 * 1048576 / 2);
}

static void test_summary_fields(void **state)
{
    const zq_form *f = zq_schema_form(g_schema, "complaint");
    json_t *a = answers(), *all, *some, *st, *it;
    size_t i, j;
    const char *last_step = "";
    bool saw_files = false, saw_mobile = false;

    (void)state;
    all = zq_summary_fields(g_schema, f, a, 0);
    some = zq_summary_fields(g_schema, f, a, ZQ_SUMMARY_MASK | ZQ_SUMMARY_NO_FILES);
    assert_non_null(all);
    assert_non_null(some);
    /* Steps in the schema's order, labels of the schema, display values. */
    st = json_array_get(all, 0);
    assert_string_equal(json_string_value(json_object_get(st, "step")), "complainant");
    it = json_array_get(json_object_get(st, "fields"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "label")), "企业名称");
    json_array_foreach(all, i, st)
    {
        json_array_foreach(json_object_get(st, "fields"), j, it)
        {
            const char *id = json_string_value(json_object_get(it, "id"));
            const char *v = json_string_value(json_object_get(it, "value"));
            if (strcmp(id, "mobile") == 0) {
                assert_string_equal(v, "13812345678");
                saw_mobile = true;
            }
            if (strcmp(id, "amount_fen") == 0)
                assert_string_equal(v, "123,456.78 元");
            if (strcmp(id, "region") == 0)
                assert_string_equal(v, "成都市");
            if (strcmp(id, "evidence_files") == 0)
                saw_files = true;
        }
        last_step = json_string_value(json_object_get(st, "step"));
    }
    assert_true(saw_mobile && saw_files);
    assert_string_equal(last_step, "declarations");
    json_array_foreach(some, i, st)
    {
        json_array_foreach(json_object_get(st, "fields"), j, it)
        {
            const char *id = json_string_value(json_object_get(it, "id"));
            assert_string_not_equal(id, "evidence_files");
            if (strcmp(id, "mobile") == 0)
                assert_string_equal(json_string_value(json_object_get(it, "value")), "138****5678");
        }
    }
    /* No form: nothing, not a crash. */
    json_decref(all);
    all = zq_summary_fields(g_schema, NULL, a, 0);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
    json_decref(some);
    json_decref(a);
}

/* The text between open and close in page, as a new string. */
static char *between(const char *page, const char *open, const char *close)
{
    const char *a = strstr(page, open), *b;

    assert_non_null(a);
    a += strlen(open);
    b = strstr(a, close);
    assert_non_null(b);
    return strndup(a, (size_t)(b - a));
}

static void assert_hash_in(const char *csp, const char *src)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char b64[48], want[64];

    SHA256((const unsigned char *)src, strlen(src), md);
    assert_int_equal(EVP_EncodeBlock((unsigned char *)b64, md, SHA256_DIGEST_LENGTH), 44);
    snprintf(want, sizeof(want), "'sha256-%s'", b64);
    assert_non_null(strstr(csp, want));
}

static void test_receipt_page(void **state)
{
    zq_case c;
    zq_receipt_in in = {0};
    zq_buf b = {0};
    char csp[256], *css, *js;
    const char *p, *a, *r, *m;

    (void)state;
    make_case(&c, answers());
    in.schema = g_schema;
    in.c = &c;
    in.office = "四川省<中小企业>服务中心";
    in.lookup_url = "https://zhuqi.example.gov.cn/lookup.html";
    assert_int_equal(zq_receipt_html(&in, &b), 0);
    p = b.data;
    assert_non_null(strstr(p, "<!doctype html>"));
    assert_non_null(strstr(p, "TS20261126-0007"));
    assert_non_null(strstr(p, "拖欠中小企业款项投诉"));
    assert_non_null(strstr(p, "2026-11-26 09:30"));
    /* Escaped: the answer and the file name are text, never markup. */
    assert_null(strstr(p, "<script>alert"));
    assert_non_null(strstr(p, "&lt;script&gt;alert(1)&lt;/script&gt;公司"));
    assert_null(strstr(p, "<img"));
    assert_non_null(strstr(p, "&lt;img src=x onerror=alert(2)&gt;.pdf"));
    assert_non_null(strstr(p, "四川省&lt;中小企业&gt;服务中心"));
    assert_non_null(strstr(p, "https://zhuqi.example.gov.cn/lookup.html"));
    /* Labels in the schema's order; the mobile masked; line breaks kept. */
    a = strstr(p, "企业名称");
    r = strstr(p, "被投诉单位名称");
    m = strstr(p, "拖欠金额");
    assert_true(a != NULL && r != NULL && m != NULL && a < r && r < m);
    assert_non_null(strstr(p, "138****5678"));
    assert_null(strstr(p, "13812345678"));
    assert_non_null(strstr(p, "第一行\n第二行"));
    assert_non_null(strstr(p, "123,456.78 元"));
    /* An optional answer left empty (respondent_uscc here) says so. */
    assert_non_null(strstr(p, "<dt>被投诉单位统一社会信用代码</dt><dd>未填写</dd>"));
    /* The file list: kind, name, size; the files field not again as an answer. */
    assert_non_null(strstr(p, "<td>发票</td><td>发票.jpg</td><td>1.5 MB</td>"));
    assert_non_null(strstr(p, "<td>5 KB</td>"));
    assert_null(strstr(p, "<dt>证据文件</dt>"));
    /* Print: A4, the button hidden; the CSP allows exactly this style and script. */
    assert_non_null(strstr(p, "@page{size:A4;"));
    assert_non_null(strstr(p, "id=\"print\">打印</button>"));
    assert_int_equal(zq_receipt_csp(csp, sizeof(csp)), 0);
    assert_non_null(strstr(csp, "default-src 'none'"));
    assert_null(strstr(csp, "unsafe-inline"));
    css = between(p, "<style>", "</style>");
    js = between(p, "<script>", "</script>");
    assert_hash_in(csp, css);
    assert_hash_in(csp, js);
    assert_non_null(strstr(js, "window.print()"));
    free(css);
    free(js);
    zq_buf_free(&b);
    /* No office, no address, no files, no schema: still a page. */
    json_decref(c.files);
    c.files = NULL;
    in.office = NULL;
    in.lookup_url = NULL;
    in.schema = NULL;
    assert_int_equal(zq_receipt_html(&in, &b), 0);
    assert_non_null(strstr(b.data, "未上传文件"));
    assert_null(strstr(b.data, "class=\"office\""));
    assert_non_null(strstr(b.data, "complaint"));
    zq_buf_free(&b);
    zq_case_clear(&c);
}

static void test_refusal_page(void **state)
{
    zq_buf b = {0};

    (void)state;
    assert_int_equal(
        zq_receipt_refusal_html("无法查看回执", "说明<b>", "/lookup.html?id=A&b", "进度查询", &b),
        0);
    assert_non_null(strstr(b.data, "<h1>无法查看回执</h1>"));
    assert_non_null(strstr(b.data, "说明&lt;b&gt;"));
    assert_non_null(strstr(b.data, "href=\"/lookup.html?id=A&amp;b\""));
    assert_null(strstr(b.data, "<script"));
    zq_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_fields),
        cmocka_unit_test(test_receipt_page),
        cmocka_unit_test(test_refusal_page),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

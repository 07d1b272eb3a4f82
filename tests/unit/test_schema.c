/* Tests of lib/intake/schema.c: the shipped forms and region list, the broken
 * schemas under tests/data/forms/bad_*, the served JSON and its ETag, and
 * step and whole-form validation with conditions and cross-field rules. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <glob.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zhuqi/buf.h"
#include "zhuqi/schema.h"

/* Tests run from the repository root unless ZQ_TEST_ROOT says otherwise. */
static const char *path_of(const char *rel)
{
    static char buf[8][1024];
    static int next;
    const char *root = getenv("ZQ_TEST_ROOT");
    char *p = buf[next++ % 8];

    snprintf(p, sizeof(buf[0]), "%s/%s", root != NULL ? root : ".", rel);
    return p;
}

static const zq_schema_opts opts = {.today = "2026-11-26"};

static zq_schema *load(const char *forms_dir)
{
    zq_schema *s = NULL;
    zq_err err = {0};

    if (zq_schema_load(path_of(forms_dir), path_of("config/regions.json"), &s, &err) != 0)
        fail_msg("load %s: %s", forms_dir, err.msg);
    return s;
}

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);

    if (v == NULL)
        fail_msg("bad JSON in test: %s: %s", je.text, text);
    return v;
}

/* Fails with both sides printed unless got equals the JSON text want. */
static void assert_json(json_t *got, const char *want)
{
    json_t *w = J(want);

    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS);
        char *ww = json_dumps(w, JSON_ENCODE_ANY | JSON_SORT_KEYS);

        print_error("   got %s\n  want %s\n", g != NULL ? g : "NULL", ww);
        free(g);
        free(ww);
        json_decref(w);
        fail();
    }
    json_decref(w);
}

static void test_real_forms_load(void **state)
{
    zq_schema *s = load("config/forms");
    const zq_form *c, *z;
    const zq_field *fld;
    const zq_step *st;
    static const char *const csteps[] = {"eligibility", "complainant",  "respondent", "debt",
                                         "claim",       "declarations", "review"};
    size_t i;

    (void)state;
    assert_int_equal(zq_schema_nforms(s), 2);
    c = zq_schema_form_at(s, 0); /* sorted by file name */
    z = zq_schema_form_at(s, 1);
    assert_null(zq_schema_form_at(s, 2));
    assert_ptr_equal(c, zq_schema_form(s, "complaint"));
    assert_ptr_equal(z, zq_schema_form(s, "consult"));
    assert_null(zq_schema_form(s, "nope"));

    assert_string_equal(c->title, "拖欠中小企业款项投诉");
    assert_string_equal(c->case_prefix, "TS");
    assert_int_equal(c->nsteps, ZQ_ARRAY_LEN(csteps));
    for (i = 0; i < c->nsteps; i++)
        assert_string_equal(c->steps[i].id, csteps[i]);
    assert_true(c->steps[6].review);
    assert_int_equal(c->steps[6].nfields, 0);
    assert_true(c->steps[0].gate);
    assert_true(json_is_array(c->rules));
    assert_int_equal(json_array_size(c->rules), 6);

    fld = zq_form_field(c, "uscc", &st);
    assert_non_null(fld);
    assert_string_equal(st->id, "complainant");
    assert_int_equal(fld->type, ZQ_FIELD_USCC);
    assert_true(fld->required);
    fld = zq_form_field(c, "respondent_uscc", &st);
    assert_false(fld->required);
    assert_string_equal(st->id, "respondent");
    assert_true(zq_form_field(c, "respondent_region", NULL)->allow_outside);
    assert_false(zq_form_field(c, "region", NULL)->allow_outside);
    fld = zq_form_field(c, "size", NULL);
    assert_int_equal(fld->noptions, 3);
    assert_string_equal(fld->options[0].value, "medium");
    assert_string_equal(fld->options[0].label, "中型");
    assert_string_equal(fld->options[2].value, "micro");
    assert_string_equal(fld->options[2].label, "微型");
    fld = zq_form_field(c, "respondent_type", NULL);
    assert_int_equal(fld->noptions, 4);
    assert_string_equal(fld->options[3].value, "public_funds");
    fld = zq_form_field(c, "supply_type", NULL);
    assert_string_equal(fld->options[1].value, "works");
    assert_string_equal(fld->options[1].label, "工程");
    assert_true(zq_form_field(c, "signing_date", NULL)->not_future);
    assert_true(zq_form_field(c, "delivery_date", NULL)->not_future);
    fld = zq_form_field(c, "amount_fen", &st);
    assert_int_equal(fld->type, ZQ_FIELD_MONEY);
    assert_true(fld->required);
    assert_string_equal(st->id, "debt");
    assert_false(zq_form_field(c, "undisputed_fen", NULL)->required);
    fld = zq_form_field(c, "acceptance_date", NULL);
    assert_string_equal(fld->when.field, "acceptance_based");
    assert_int_equal(fld->when.nvalues, 1);
    assert_string_equal(fld->when.values[0], "true");
    fld = zq_form_field(c, "facts", NULL);
    assert_int_equal(fld->min, 20);
    assert_int_equal(fld->max, 5000);
    assert_true(fld->multiline);
    fld = zq_form_field(c, "demand", NULL);
    assert_int_equal(fld->min, 5);
    assert_int_equal(fld->max, 2000);
    assert_false(zq_form_field(c, "evidence", NULL)->required);
    for (i = 0; i < c->steps[5].nfields; i++) {
        assert_int_equal(c->steps[5].fields[i].type, ZQ_FIELD_BOOL);
        assert_true(c->steps[5].fields[i].must_be_true);
    }
    assert_non_null(zq_form_field(c, "no_other_proceedings", NULL));
    assert_non_null(zq_form_field(c, "facts_true", NULL));
    assert_non_null(zq_form_field(c, "consent", NULL));

    assert_string_equal(z->case_prefix, "ZX");
    assert_int_equal(z->nsteps, 3);
    assert_true(z->steps[2].review);
    fld = zq_form_field(z, "topic", NULL);
    assert_int_equal(fld->noptions, 8);
    {
        static const char *const v[] = {"tax",    "financing", "policy",  "specialised",
                                        "growth", "legal",     "digital", "other"};
        static const char *const l[] = {"财税",   "融资", "政策",   "专精特新",
                                        "小升规", "法律", "数字化", "其他"};

        for (i = 0; i < 8; i++) {
            assert_string_equal(fld->options[i].value, v[i]);
            assert_string_equal(fld->options[i].label, l[i]);
        }
    }
    fld = zq_form_field(z, "question", NULL);
    assert_int_equal(fld->min, 10);
    assert_int_equal(fld->max, 2000);
    assert_true(fld->multiline);
    assert_false(zq_form_field(z, "uscc", NULL)->required);
    assert_int_equal(zq_form_field(z, "preferred_time", NULL)->noptions, 3);

    /* Every field of the shipped forms has a label and something to help. */
    for (size_t k = 0; k < zq_schema_nforms(s); k++) {
        const zq_form *f = zq_schema_form_at(s, k);

        for (i = 0; i < f->nsteps; i++)
            for (size_t j = 0; j < f->steps[i].nfields; j++) {
                const zq_field *x = &f->steps[i].fields[j];

                assert_true(strlen(x->label) > 0);
                if (x->type != ZQ_FIELD_ENUM && x->type != ZQ_FIELD_BOOL && x->help == NULL &&
                    x->example == NULL)
                    fail_msg("%s.%s has neither help nor example", f->id, x->id);
            }
    }
    zq_schema_free(s);
}

static void test_regions(void **state)
{
    static const struct {
        const char *code, *name, *short_name;
    } sc[] = {
        {"510100", "成都市", "成都"},
        {"510300", "自贡市", "自贡"},
        {"510400", "攀枝花市", "攀枝花"},
        {"510500", "泸州市", "泸州"},
        {"510600", "德阳市", "德阳"},
        {"510700", "绵阳市", "绵阳"},
        {"510800", "广元市", "广元"},
        {"510900", "遂宁市", "遂宁"},
        {"511000", "内江市", "内江"},
        {"511100", "乐山市", "乐山"},
        {"511300", "南充市", "南充"},
        {"511400", "眉山市", "眉山"},
        {"511500", "宜宾市", "宜宾"},
        {"511600", "广安市", "广安"},
        {"511700", "达州市", "达州"},
        {"511800", "雅安市", "雅安"},
        {"511900", "巴中市", "巴中"},
        {"512000", "资阳市", "资阳"},
        {"513200", "阿坝藏族羌族自治州", "阿坝州"},
        {"513300", "甘孜藏族自治州", "甘孜州"},
        {"513400", "凉山彝族自治州", "凉山州"},
    };
    zq_schema *s = load("config/forms");
    json_t *list = json_object_get(zq_schema_form(s, "complaint")->public_json, "regions");
    size_t i, nsc = 0;

    (void)state;
    for (i = 0; i < ZQ_ARRAY_LEN(sc); i++) {
        const zq_region *r = zq_schema_region(s, sc[i].code);

        assert_non_null(r);
        assert_string_equal(r->name, sc[i].name);
        assert_string_equal(r->short_name, sc[i].short_name);
        assert_true(r->sichuan);
        assert_ptr_equal(zq_schema_region_find(s, sc[i].name), r);
        assert_ptr_equal(zq_schema_region_find(s, sc[i].short_name), r);
        assert_ptr_equal(zq_schema_region_find(s, sc[i].code), r);
    }
    /* 21 in Sichuan, then the other provincial-level divisions, 重庆 first. */
    assert_int_equal(json_array_size(list), 21 + 33);
    for (i = 0; i < json_array_size(list); i++) {
        json_t *r = json_array_get(list, i);

        if (json_is_true(json_object_get(r, "sichuan"))) {
            assert_true(i < 21);
            assert_string_equal(json_string_value(json_object_get(r, "code")), sc[i].code);
            nsc++;
        }
    }
    assert_int_equal(nsc, 21);
    assert_json(json_array_get(list, 21),
                "{\"code\":\"500000\",\"name\":\"重庆市\",\"short\":\"重庆\",\"sichuan\":false}");
    assert_json(json_array_get(list, 22),
                "{\"code\":\"110000\",\"name\":\"北京市\",\"short\":\"北京\",\"sichuan\":false}");
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 53), "code")),
                        "820000");
    assert_false(zq_schema_region(s, "500000")->sichuan);
    assert_string_equal(zq_schema_region_find(s, "内蒙古")->code, "150000");
    assert_string_equal(zq_schema_region_find(s, "新疆维吾尔自治区")->code, "650000");
    assert_null(zq_schema_region(s, "510000"));
    assert_null(zq_schema_region_find(s, "四川"));
    assert_null(zq_schema_region_find(s, ""));
    assert_null(zq_schema_region_find(s, NULL));
    assert_null(zq_schema_region(NULL, "510100"));
    zq_schema_free(s);
}

/* Every tests/data/forms/bad_NAME/ holds forms/ (and maybe regions.json)
 * and expect.txt: the exact message, paths relative to that folder. */
static void test_bad_files(void **state)
{
    glob_t g;
    size_t i;

    (void)state;
    assert_int_equal(glob(path_of("tests/data/forms/bad_*"), GLOB_ONLYDIR, NULL, &g), 0);
    assert_true(g.gl_pathc >= 90);
    for (i = 0; i < g.gl_pathc; i++) {
        const char *dir = g.gl_pathv[i];
        char forms[1100], regions[1100], expect[1100], line[512], want[1700];
        zq_schema *s = (zq_schema *)&g; /* must be reset to NULL */
        zq_err err = {0};
        FILE *f;
        int rc;

        snprintf(forms, sizeof(forms), "%s/forms", dir);
        snprintf(regions, sizeof(regions), "%s/regions.json", dir);
        if (access(regions, F_OK) != 0)
            snprintf(regions, sizeof(regions), "%s", path_of("config/regions.json"));
        snprintf(expect, sizeof(expect), "%s/expect.txt", dir);
        f = fopen(expect, "r");
        if (f == NULL)
            fail_msg("%s: %s", expect, strerror(errno));
        assert_non_null(fgets(line, sizeof(line), f));
        fclose(f);
        line[strcspn(line, "\n")] = '\0';
        snprintf(want, sizeof(want), "%s/%s", dir, line);
        rc = zq_schema_load(forms, regions, &s, &err);
        if (rc != -ZQ_EINVAL || strcmp(err.msg, want) != 0)
            print_error("%s:\n   got %d \"%s\"\n  want %d \"%s\"\n", dir, rc, err.msg, -ZQ_EINVAL,
                        want);
        assert_int_equal(rc, -ZQ_EINVAL);
        assert_int_equal(err.code, ZQ_EINVAL);
        assert_string_equal(err.msg, want);
        assert_null(s);
    }
    globfree(&g);
}

static void test_load_errors(void **state)
{
    zq_schema *s = NULL;
    zq_err err = {0};
    char want[1200];
    const char *dir = path_of("tests/data/forms/does-not-exist");
    const char *reg = path_of("tests/data/forms/does-not-exist.json");

    (void)state;
    assert_int_equal(zq_schema_load(dir, path_of("config/regions.json"), &s, &err), -ZQ_EIO);
    snprintf(want, sizeof(want), "%s: cannot open: %s", dir, strerror(ENOENT));
    assert_string_equal(err.msg, want);
    assert_int_equal(err.code, ZQ_EIO);
    assert_null(s);
    assert_int_equal(zq_schema_load(path_of("config/forms"), reg, &s, &err), -ZQ_EIO);
    snprintf(want, sizeof(want), "%s: cannot open: %s", reg, strerror(ENOENT));
    assert_string_equal(err.msg, want);
    assert_int_equal(zq_schema_load(NULL, reg, &s, &err), -ZQ_EINVAL);
    assert_int_equal(zq_schema_load(dir, NULL, &s, NULL), -ZQ_EINVAL);
    assert_int_equal(zq_schema_load(dir, reg, NULL, NULL), -ZQ_EINVAL);
    zq_schema_free(NULL);
}

/* A trailing slash gives no double slash in messages. */
static void test_dir_trailing_slash(void **state)
{
    char dir[1100], want[1200];
    zq_schema *s = NULL;
    zq_err err = {0};

    (void)state;
    snprintf(dir, sizeof(dir), "%s/", path_of("tests/data/forms/bad_unknown_type/forms"));
    assert_int_equal(zq_schema_load(dir, path_of("config/regions.json"), &s, &err), -ZQ_EINVAL);
    snprintf(want, sizeof(want), "%st.json: steps[1].fields[0].type: unknown type 'number'", dir);
    assert_string_equal(err.msg, want);
    s = load("config/forms/");
    assert_int_equal(zq_schema_nforms(s), 2);
    zq_schema_free(s);
}

/* True when the key appears anywhere in v. */
static bool has_key(json_t *v, const char *key)
{
    const char *k;
    json_t *x;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach(v, k, x)
        {
            if (strcmp(k, key) == 0 || has_key(x, key))
                return true;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            if (has_key(x, key))
                return true;
        }
    }
    return false;
}

static json_t *pub_field(const zq_form *f, size_t step, size_t field)
{
    return json_array_get(
        json_object_get(json_array_get(json_object_get(f->public_json, "steps"), step), "fields"),
        field);
}

static void test_public_json_good(void **state)
{
    zq_schema *s = load("tests/data/forms/good/forms");
    const zq_form *f = zq_schema_form(s, "t");
    json_t *p = f->public_json, *st;
    char *dump;

    (void)state;
    assert_string_equal(json_string_value(json_object_get(p, "id")), "t");
    assert_string_equal(json_string_value(json_object_get(p, "title")), "测试表单");
    assert_string_equal(json_string_value(json_object_get(p, "case_prefix")), "TT");
    assert_string_equal(json_string_value(json_object_get(p, "description")),
                        "用于测试的表单\n第二行");
    assert_json(pub_field(f, 0, 0),
                "{\"id\":\"kind\",\"label\":\"类别\",\"type\":\"enum\",\"required\":true,"
                "\"help\":\"选一个\",\"options\":[{\"value\":\"a\",\"label\":\"甲\"},"
                "{\"value\":\"b\",\"label\":\"乙\"},{\"value\":\"c\",\"label\":\"丙\"}]}");
    assert_json(pub_field(f, 0, 1),
                "{\"id\":\"detail\",\"label\":\"说明\",\"type\":\"text\",\"required\":true,"
                "\"min\":2,\"max\":200,\"multiline\":false,"
                "\"when\":{\"field\":\"kind\",\"in\":[\"b\"]}}");
    assert_json(pub_field(f, 0, 3),
                "{\"id\":\"sub_note\",\"label\":\"子类说明\",\"type\":\"text\",\"required\":true,"
                "\"min\":0,\"max\":2000,\"multiline\":true,"
                "\"when\":{\"field\":\"sub\",\"in\":[\"y\"]}}");
    assert_json(pub_field(f, 0, 5), "{\"id\":\"start\",\"label\":\"开始日期\",\"type\":\"date\","
                                    "\"required\":true,\"not_future\":false}");
    assert_json(pub_field(f, 1, 0),
                "{\"id\":\"flag_note\",\"label\":\"有的说明\",\"type\":\"text\",\"required\":true,"
                "\"min\":0,\"max\":50,\"multiline\":false,"
                "\"when\":{\"field\":\"flag\",\"in\":[true]}}");
    assert_json(pub_field(f, 1, 2),
                "{\"id\":\"amount_fen\",\"label\":\"金额\",\"type\":\"money\",\"required\":true,"
                "\"example\":\"99.50\",\"max_fen\":100000}");
    assert_json(pub_field(f, 1, 3), "{\"id\":\"part_fen\",\"label\":\"部分金额\","
                                    "\"type\":\"money\",\"required\":false}");
    assert_json(pub_field(f, 1, 4), "{\"id\":\"where\",\"label\":\"地点\",\"type\":\"region\","
                                    "\"required\":false,\"allow_outside\":true}");
    assert_json(pub_field(f, 1, 5), "{\"id\":\"code\",\"label\":\"代码\",\"type\":\"uscc\","
                                    "\"required\":false}");
    assert_json(pub_field(f, 1, 7), "{\"id\":\"agree\",\"label\":\"同意\",\"type\":\"bool\","
                                    "\"required\":true,\"must_be_true\":true}");
    st = json_array_get(json_object_get(p, "steps"), 1);
    assert_string_equal(json_string_value(json_object_get(st, "description")), "第二步说明");
    assert_json(json_array_get(json_object_get(p, "steps"), 2),
                "{\"id\":\"done\",\"title\":\"核对\",\"review\":true,\"fields\":[]}");
    assert_json(json_object_get(p, "rules"),
                "[{\"type\":\"date_not_before\",\"field\":\"end\",\"other\":\"start\","
                "\"message\":\"结束日期不能早于开始日期\"},"
                "{\"type\":\"money_not_above\",\"field\":\"part_fen\",\"other\":\"amount_fen\","
                "\"message\":\"部分金额不能超过金额\"}]");
    assert_int_equal(json_array_size(json_object_get(p, "regions")), 54);
    /* Maintainers' comments stay on the server. */
    assert_false(has_key(p, "comment"));
    dump = json_dumps(p, JSON_COMPACT);
    assert_null(strstr(dump, "internal"));
    free(dump);
    /* The loaded rules keep the file's form (borrowed), comments and all. */
    assert_int_equal(json_array_size(f->rules), 2);
    zq_schema_free(s);
}

static void test_public_json_real(void **state)
{
    zq_schema *s = load("config/forms");
    const zq_form *c = zq_schema_form(s, "complaint"), *z = zq_schema_form(s, "consult");
    json_t *size;
    char *dump;

    (void)state;
    assert_string_equal(json_string_value(json_object_get(pub_field(c, 1, 0), "label")),
                        "企业名称");
    size = pub_field(c, 1, 3);
    assert_string_equal(json_string_value(json_object_get(size, "id")), "size");
    assert_json(
        json_object_get(size, "options"),
        "[{\"value\":\"medium\",\"label\":\"中型\"},{\"value\":\"small\",\"label\":\"小型\"},"
        "{\"value\":\"micro\",\"label\":\"微型\"}]");
    assert_true(json_is_true(json_object_get(pub_field(c, 2, 3), "allow_outside")));
    assert_json(json_object_get(pub_field(c, 3, 6), "when"),
                "{\"field\":\"acceptance_based\",\"in\":[true]}");
    assert_json(json_object_get(pub_field(c, 3, 8), "when"),
                "{\"field\":\"payment_term\",\"in\":[\"other\"]}");
    assert_non_null(
        strstr(json_string_value(json_object_get(pub_field(c, 2, 1), "help")), "30 日内"));
    assert_int_equal(json_array_size(json_object_get(c->public_json, "rules")), 6);
    assert_false(has_key(c->public_json, "comment"));
    assert_false(has_key(z->public_json, "comment"));
    dump = json_dumps(c->public_json, JSON_COMPACT);
    assert_null(strstr(dump, "Decree")); /* from the file's comment */
    free(dump);
    assert_int_equal(json_array_size(json_object_get(z->public_json, "regions")), 54);
    assert_string_equal(json_string_value(json_object_get(z->public_json, "case_prefix")), "ZX");
    /* The start screen's list and estimate. */
    assert_int_equal(json_array_size(json_object_get(c->public_json, "prepare")), 4);
    assert_true(json_integer_value(json_object_get(c->public_json, "minutes")) >
                json_integer_value(json_object_get(z->public_json, "minutes")));
    assert_true(json_integer_value(json_object_get(z->public_json, "minutes")) >= 2);
    zq_schema_free(s);
}

static void test_etag(void **state)
{
    zq_schema *a = load("config/forms"), *b = load("config/forms");
    const zq_form *fa = zq_schema_form(a, "complaint"), *fb = zq_schema_form(b, "complaint");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1], want[2 * EVP_MAX_MD_SIZE + 3];
    char *dump;
    size_t i;

    (void)state;
    assert_string_equal(fa->etag, fb->etag);
    assert_string_equal(zq_schema_form(a, "consult")->etag, zq_schema_form(b, "consult")->etag);
    assert_string_not_equal(fa->etag, zq_schema_form(a, "consult")->etag);
    assert_int_equal(strlen(fa->etag), 32);
    assert_int_equal(fa->etag[0], '"');
    assert_int_equal(fa->etag[31], '"');
    for (i = 1; i < 31; i++)
        assert_non_null(strchr("0123456789abcdef", fa->etag[i]));
    /* It is the SHA-256 of the compact dump, cut to 120 bits. */
    dump = json_dumps(fa->public_json, JSON_COMPACT);
    assert_int_equal(EVP_Digest(dump, strlen(dump), md, &mdlen, EVP_sha256(), NULL), 1);
    zq_hex(md, 15, hex);
    snprintf(want, sizeof(want), "\"%s\"", hex);
    assert_string_equal(fa->etag, want);
    free(dump);
    zq_schema_free(a);
    zq_schema_free(b);
}

static void test_lookups(void **state)
{
    zq_schema *s = load("config/forms");
    const zq_form *c = zq_schema_form(s, "complaint");
    const zq_step *st = (const zq_step *)1;

    (void)state;
    assert_string_equal(zq_form_step(c, "debt")->title, "合同与欠款");
    assert_null(zq_form_step(c, "nope"));
    assert_null(zq_form_step(NULL, "debt"));
    assert_null(zq_form_step(c, NULL));
    assert_null(zq_form_field(c, "nope", &st));
    assert_null(st);
    assert_null(zq_form_field(NULL, "uscc", NULL));
    assert_null(zq_schema_form(NULL, "complaint"));
    assert_int_equal(zq_schema_nforms(NULL), 0);
    assert_null(zq_schema_form_at(NULL, 0));
    zq_schema_free(s);
}

/* Validates one step of form fid, input and answers as JSON text. */
static int step(zq_schema *s, const char *fid, const char *sid, const char *input,
                const char *answers, json_t **out, json_t **errors)
{
    const zq_form *f = zq_schema_form(s, fid);
    json_t *in = input != NULL ? J(input) : NULL, *ans = answers != NULL ? J(answers) : NULL;
    int rc;

    assert_non_null(zq_form_step(f, sid));
    rc = zq_step_validate(s, f, zq_form_step(f, sid), in, ans, &opts, out, errors);
    json_decref(in);
    json_decref(ans);
    return rc;
}

/* step() that must succeed with the JSON text want. */
static void step_ok(zq_schema *s, const char *fid, const char *sid, const char *input,
                    const char *answers, const char *want)
{
    json_t *out = NULL, *errors = NULL;
    int rc = step(s, fid, sid, input, answers, &out, &errors);

    if (rc != 0) {
        char *e = json_dumps(errors, JSON_ENCODE_ANY);

        fail_msg("%s/%s: rc %d errors %s", fid, sid, rc, e != NULL ? e : "-");
    }
    assert_null(errors);
    assert_json(out, want);
    json_decref(out);
}

/* step() that must fail with exactly the errors in want. */
static void step_bad(zq_schema *s, const char *fid, const char *sid, const char *input,
                     const char *answers, const char *want)
{
    json_t *out = NULL, *errors = NULL;
    int rc = step(s, fid, sid, input, answers, &out, &errors);

    assert_int_equal(rc, -ZQ_EINVAL);
    assert_null(out);
    assert_json(errors, want);
    json_decref(errors);
}

static void test_step_normalises(void **state)
{
    zq_schema *s = load("config/forms");

    (void)state;
    step_ok(s, "complaint", "complainant",
            "{\"company_name\":\"  成都某某科技有限公司 \",\"uscc\":\"9151 0100 MA61 R7XX 00\","
            "\"size\":\"2\",\"region\":\"成都\",\"address\":\"成都市高新区天府大道中段 1 号\","
            "\"contact_name\":\"张伟\",\"mobile\":\"+86 138-1234-5678\"}",
            NULL,
            "{\"company_name\":\"成都某某科技有限公司\",\"uscc\":\"91510100MA61R7XX00\","
            "\"size\":\"small\",\"region\":\"510100\","
            "\"address\":\"成都市高新区天府大道中段 1 号\",\"contact_name\":\"张伟\","
            "\"mobile\":\"13812345678\",\"legal_rep\":null}");
    /* An optional field left empty is kept as null. */
    step_ok(s, "complaint", "respondent",
            "{\"respondent_name\":\"某某市某某局\",\"respondent_type\":\"机关\","
            "\"respondent_uscc\":\"\",\"respondent_region\":\"重庆\"}",
            NULL,
            "{\"respondent_name\":\"某某市某某局\",\"respondent_type\":\"organ\","
            "\"respondent_uscc\":null,\"respondent_region\":\"500000\","
            "\"respondent_contact\":null,\"respondent_phone\":null,"
            "\"respondent_address\":null}");
    step_ok(
        s, "consult", "question",
        "{\"question\":\"想了解专精特新的申报条件\\r\\n和时间\",\"preferred_time\":\"工作日上午\"}",
        NULL,
        "{\"question\":\"想了解专精特新的申报条件\\n和时间\",\"preferred_time\":\"morning\","
        "\"attachments\":null}");
    zq_schema_free(s);
}

static void test_step_errors(void **state)
{
    zq_schema *s = load("config/forms");

    (void)state;
    step_bad(s, "complaint", "complainant",
             "{\"company_name\":\"成\",\"uscc\":\"914403001922038217\",\"size\":\"大型\","
             "\"region\":\"重庆\",\"contact_name\":\"张伟\",\"mobile\":\"12812345678\"}",
             NULL,
             "{\"company_name\":\"企业名称至少 2 个字（现在 1 个字）\","
             "\"uscc\":\"统一社会信用代码校验位不正确，请核对\","
             "\"size\":\"请从选项中选择企业规模\",\"region\":\"所在地区须为四川省内的市（州）\","
             "\"address\":\"请填写通讯地址\","
             "\"mobile\":\"手机号码不是有效的手机号码，请核对\"}");
    /* Nothing sent: every required field says so. */
    step_bad(s, "consult", "question", "{}", NULL,
             "{\"question\":\"请填写咨询的问题\",\"preferred_time\":\"请选择方便联系的时间\"}");
    step_bad(s, "consult", "question", NULL, NULL,
             "{\"question\":\"请填写咨询的问题\",\"preferred_time\":\"请选择方便联系的时间\"}");
    step_bad(s, "consult", "question", "{\"question\":\"太短了\",\"preferred_time\":\"4\"}", NULL,
             "{\"question\":\"咨询的问题至少 10 个字（现在 3 个字）\","
             "\"preferred_time\":\"请从选项中选择方便联系的时间\"}");
    step_bad(s, "complaint", "declarations",
             "{\"no_other_proceedings\":true,\"facts_true\":\"否\",\"consent\":false}", NULL,
             "{\"facts_true\":\"请阅读并勾选此项声明\",\"consent\":\"请阅读并勾选此项声明\"}");
    zq_schema_free(s);
}

/* Ids that are not fields of this step are errors, even next to good ones. */
static void test_step_unknown_fields(void **state)
{
    zq_schema *s = load("config/forms");
    const zq_form *c, *z;
    json_t *out = NULL, *errors = NULL, *in;

    (void)state;
    step_bad(s, "consult", "question",
             "{\"question\":\"想了解专精特新的申报条件和时间\",\"preferred_time\":\"1\","
             "\"foo\":\"x\",\"mobile\":\"13812345678\"}",
             NULL, "{\"foo\":\"表单中没有这一项\",\"mobile\":\"表单中没有这一项\"}");
    step_bad(s, "consult", "review", "{\"x\":1}", NULL, "{\"x\":\"表单中没有这一项\"}");
    step_bad(s, "consult", "question", "[1,2]", NULL, "{\"_\":\"提交的内容格式不正确\"}");
    /* A step of another form. */
    c = zq_schema_form(s, "complaint");
    z = zq_schema_form(s, "consult");
    in = J("{}");
    assert_int_equal(
        zq_step_validate(s, z, zq_form_step(c, "debt"), in, NULL, &opts, &out, &errors),
        -ZQ_EINVAL);
    assert_json(errors, "{\"_\":\"表单中没有这一步\"}");
    json_decref(errors);
    assert_int_equal(
        zq_step_validate(s, z, zq_form_step(z, "question"), in, NULL, &opts, NULL, &errors),
        -ZQ_EINVAL);
    json_decref(in);
    zq_schema_free(s);
}

static void test_review_step(void **state)
{
    zq_schema *s = load("config/forms");

    (void)state;
    step_ok(s, "complaint", "review", "{}", NULL, "{}");
    step_ok(s, "complaint", "review", NULL, "{\"company_name\":\"x\"}", "{}");
    zq_schema_free(s);
}

/* Step two of the test form with its optional fields left empty: every
 * visible field is in the result, empty ones as null. */
#define TWO_NULLS(s) "{" s ",\"part_fen\":null,\"where\":null,\"code\":null,\"phone\":null}"

static void test_step_conditions(void **state)
{
    zq_schema *s = load("tests/data/forms/good/forms");
    const char *base = "\"flag\":false,\"start\":\"2026-01-10\"";
    char in[512];

    (void)state;
    /* kind a: detail and sub are hidden, so not required, and dropped when sent. */
    snprintf(in, sizeof(in), "{\"kind\":\"a\",\"detail\":\"x\",\"sub\":\"nonsense\",%s}", base);
    step_ok(s, "t", "one", in, NULL, "{\"kind\":\"a\",\"flag\":false,\"start\":\"2026-01-10\"}");
    /* kind b shows detail. */
    snprintf(in, sizeof(in), "{\"kind\":\"乙\",%s}", base);
    step_bad(s, "t", "one", in, NULL, "{\"detail\":\"请填写说明\"}");
    snprintf(in, sizeof(in), "{\"kind\":\"b\",\"detail\":\"说明文字\",%s}", base);
    step_ok(s, "t", "one", in, NULL,
            "{\"kind\":\"b\",\"detail\":\"说明文字\",\"flag\":false,\"start\":\"2026-01-10\"}");
    /* A chain in one step: kind c shows sub, sub y shows sub_note. */
    snprintf(in, sizeof(in), "{\"kind\":\"c\",\"sub\":\"y\",%s}", base);
    step_bad(s, "t", "one", in, NULL, "{\"sub_note\":\"请填写子类说明\"}");
    snprintf(in, sizeof(in), "{\"kind\":\"c\",\"sub\":\"X 类\",\"sub_note\":\"dropped\",%s}", base);
    step_ok(s, "t", "one", in, NULL,
            "{\"kind\":\"c\",\"sub\":\"x\",\"flag\":false,\"start\":\"2026-01-10\"}");
    /* A controlling answer that fails hides what it controls until fixed. */
    snprintf(in, sizeof(in), "{\"kind\":\"z\",\"detail\":\"x\",%s}", base);
    step_bad(s, "t", "one", in, NULL, "{\"kind\":\"请从选项中选择类别\"}");
    /* The controller in an earlier step, from the answers. */
    step_bad(s, "t", "two", "{\"end\":\"2026-01-10\",\"amount_fen\":\"10\",\"agree\":true}",
             "{\"flag\":true}", "{\"flag_note\":\"请填写有的说明\"}");
    step_ok(s, "t", "two",
            "{\"flag_note\":\"dropped\",\"end\":\"2026-01-10\",\"amount_fen\":\"10\","
            "\"agree\":true}",
            "{\"flag\":false}",
            TWO_NULLS("\"end\":\"2026-01-10\",\"amount_fen\":1000,\"agree\":true"));
    /* No answer for the controller: hidden. */
    step_ok(s, "t", "two", "{\"end\":\"2026-01-10\",\"amount_fen\":\"10\",\"agree\":true}", NULL,
            TWO_NULLS("\"end\":\"2026-01-10\",\"amount_fen\":1000,\"agree\":true"));
    zq_schema_free(s);
}

static void test_step_rules(void **state)
{
    zq_schema *s = load("tests/data/forms/good/forms");

    (void)state;
    /* end before start (from the answers): the error is on end. */
    step_bad(s, "t", "two", "{\"end\":\"2026-01-09\",\"amount_fen\":\"10\",\"agree\":true}",
             "{\"kind\":\"a\",\"flag\":false,\"start\":\"2026-01-10\"}",
             "{\"end\":\"结束日期不能早于开始日期\"}");
    /* the same day is not before */
    step_ok(s, "t", "two", "{\"end\":\"2026/1/10\",\"amount_fen\":\"10\",\"agree\":true}",
            "{\"start\":\"2026-01-10\"}",
            TWO_NULLS("\"end\":\"2026-01-10\",\"amount_fen\":1000,\"agree\":true"));
    /* Editing the earlier step against a later answer: the error is on start. */
    step_bad(s, "t", "one", "{\"kind\":\"a\",\"flag\":false,\"start\":\"2026-02-01\"}",
             "{\"end\":\"2026-01-31\"}", "{\"start\":\"结束日期不能早于开始日期\"}");
    /* part above amount, within the step; equal is fine. */
    step_bad(s, "t", "two",
             "{\"end\":\"2026-01-10\",\"amount_fen\":\"10\",\"part_fen\":\"10.01\",\"agree\":true}",
             NULL, "{\"part_fen\":\"部分金额不能超过金额\"}");
    step_ok(s, "t", "two",
            "{\"end\":\"2026-01-10\",\"amount_fen\":\"10\",\"part_fen\":\"10\",\"agree\":true}",
            NULL,
            "{\"end\":\"2026-01-10\",\"amount_fen\":1000,\"part_fen\":1000,\"agree\":true,"
            "\"where\":null,\"code\":null,\"phone\":null}");
    /* A field's own error comes before the rule's. */
    step_bad(s, "t", "two",
             "{\"end\":\"2026-01-10\",\"amount_fen\":\"1000.01\",\"part_fen\":\"5\","
             "\"agree\":true}",
             NULL, "{\"amount_fen\":\"金额不能超过 1,000.00 元，请核对\"}");
    /* not_future uses opts->today */
    step_bad(s, "t", "two", "{\"end\":\"2026-11-27\",\"amount_fen\":\"10\",\"agree\":true}", NULL,
             "{\"end\":\"结束日期不能晚于今天\"}");
    zq_schema_free(s);

    s = load("config/forms");
    step_bad(s, "complaint", "debt",
             "{\"contract_name\":\"办公设备采购合同\",\"signing_date\":\"2025-03-18\","
             "\"supply_type\":\"货物\",\"delivery_date\":\"2025-03-17\","
             "\"acceptance_based\":\"是\",\"acceptance_date\":\"2025-03-16\","
             "\"payment_term\":\"other\",\"payment_term_note\":\"验收后 90 日\","
             "\"contract_amount_fen\":\"150000\",\"paid_fen\":\"0\","
             "\"amount_fen\":\"125,000\",\"undisputed_fen\":\"125000.01\","
             "\"due_date\":\"2025-03-01\"}",
             NULL,
             "{\"due_date\":\"应付款日期不能早于合同签订日期\","
             "\"undisputed_fen\":\"无争议的金额不能超过拖欠金额\","
             "\"delivery_date\":\"交付日期不能早于合同签订日期\","
             "\"acceptance_date\":\"验收合格日期不能早于交付日期\"}");
    zq_schema_free(s);
}

/* Raw answers for every step of the complaint, as a person would type them. */
static const char *const complaint_raw[][2] = {
    {"eligibility", "{\"payer_type\":\"机关\",\"size_at_signing\":\"2\",\"overdue\":\"yes\","
                    "\"proceedings\":\"none\"}"},
    {"complainant",
     "{\"company_name\":\"成都某某科技有限公司\",\"uscc\":\"91510100ma61r7xx00\","
     "\"size\":\"小型\",\"region\":\"成都市\",\"address\":\"成都市高新区天府大道中段 1 号\","
     "\"contact_name\":\"张伟\",\"mobile\":\"138 1234 5678\"}"},
    {"respondent", "{\"respondent_name\":\"某某市某某局\",\"respondent_type\":\"1\","
                   "\"respondent_region\":\"成都\"}"},
    {"debt",
     "{\"contract_name\":\"办公设备采购合同\",\"contract_no\":\"CG-2025-0156\","
     "\"signing_date\":\"2025年3月18日\",\"supply_type\":\"货物\",\"delivery_date\":\"2025/6/30\","
     "\"acceptance_based\":\"是\",\"acceptance_date\":\"2025-07-15\",\"payment_term\":\"1\","
     "\"contract_amount_fen\":\"150,000\",\"paid_fen\":\"25000\","
     "\"amount_fen\":\"125,000.00\",\"undisputed_fen\":\"100000\",\"due_date\":\"2025-08-14\"}"},
    {"claim",
     "{\"issue_types\":\"1、3\",\"facts\":\"2025 年 3 月签订办公设备采购合同，6 月底全部交付，7 "
     "月验收合格，至今未付款。\","
     "\"demand\":\"请求对方支付货款 125000 元及逾期利息\","
     "\"evidence\":\"采购合同\\n验收单\\n催款函\","
     "\"evidence_files\":[{\"id\":\"0123456789abcdef0123456789abcdef\",\"kind\":\"contract\","
     "\"name\":\"合同.pdf\",\"size\":1000,\"type\":\"application/pdf\"}]}"},
    {"declarations", "{\"no_other_proceedings\":true,\"facts_true\":\"是\",\"consent\":\"同意\"}"},
    {"review", "{}"},
};

/* Runs every step in order, as the API would, and returns the answers. */
static json_t *complaint_answers(zq_schema *s)
{
    const zq_form *f = zq_schema_form(s, "complaint");
    json_t *answers = json_object();
    size_t i;

    for (i = 0; i < ZQ_ARRAY_LEN(complaint_raw); i++) {
        json_t *in = J(complaint_raw[i][1]), *out = NULL, *errors = NULL;
        int rc = zq_step_validate(s, f, zq_form_step(f, complaint_raw[i][0]), in, answers, &opts,
                                  &out, &errors);

        if (rc != 0) {
            char *e = json_dumps(errors, 0);

            fail_msg("step %s: %s", complaint_raw[i][0], e);
        }
        assert_int_equal(json_object_update(answers, out), 0);
        json_decref(in);
        json_decref(out);
    }
    return answers;
}

/* validate_all on answers after applying edit (a JSON object merged in;
 * null values delete). */
static int all(zq_schema *s, json_t *answers, const char *edit, const zq_schema_opts *o,
               json_t **errors, const char **st)
{
    json_t *a = json_deep_copy(answers), *e = J(edit);
    const char *k;
    json_t *v;
    int rc;

    json_object_foreach(e, k, v)
    {
        if (json_is_null(v))
            json_object_del(a, k);
        else
            json_object_set(a, k, v);
    }
    rc = zq_form_validate_all(s, zq_schema_form(s, "complaint"), a, o, errors, st);
    json_decref(a);
    json_decref(e);
    return rc;
}

/* A gate step: an answer with a stop is kept, but no later step is taken
 * and validate_all names the gate; prefill rules suggest values. */
static void test_gate_and_prefill(void **state)
{
    zq_schema *s = load("tests/data/forms/gate/forms");
    const zq_form *f = zq_schema_form(s, "t");
    const zq_field *fld = NULL;
    const zq_option *stop;
    json_t *answers, *v = NULL, *errors = NULL;
    const char *st = NULL;
    char *note = NULL, msg[300];

    (void)state;
    assert_true(f->steps[0].gate);
    assert_false(f->steps[1].gate);
    /* Served to the pages: the stop rule, the prefill rule, multiple. */
    assert_json(
        json_object_get(json_array_get(json_object_get(pub_field(f, 0, 0), "options"), 1), "stop"),
        "{\"reason\":\"不适用条例。\",\"where\":\"请拨打 12345。\"}");
    assert_true(json_is_true(
        json_object_get(json_array_get(json_object_get(f->public_json, "steps"), 0), "gate")));
    assert_json(json_object_get(pub_field(f, 1, 7), "prefill"),
                "{\"type\":\"difference\",\"from\":[\"total_fen\",\"paid_fen\"]}");
    assert_true(json_is_true(json_object_get(pub_field(f, 1, 8), "multiple")));

    step_ok(s, "t", "gate", "{\"who\":\"个人\"}", NULL, "{\"who\":\"person\"}");
    answers = J("{\"who\":\"person\"}");
    stop = zq_form_stop(f, answers, &fld);
    assert_non_null(stop);
    assert_string_equal(fld->id, "who");
    assert_int_equal(zq_stop_message(stop, msg, sizeof(msg)), 0);
    assert_string_equal(msg, "不适用条例。请拨打 12345。");
    step_bad(s, "t", "one", "{\"name\":\"某某\"}", "{\"who\":\"person\"}",
             "{\"_\":\"不适用条例。请拨打 12345。\"}");
    assert_int_equal(zq_form_validate_all(s, f, answers, &opts, &errors, &st), -ZQ_EINVAL);
    assert_string_equal(st, "gate");
    assert_string_equal(json_string_value(json_object_get(errors, "who")),
                        "不适用条例。请拨打 12345。");
    json_decref(errors);
    json_decref(answers);

    answers = J("{\"who\":\"organ\",\"term\":\"none\",\"start\":\"2026-03-01\","
                "\"total_fen\":15000000,\"paid_fen\":2500000}");
    assert_null(zq_form_stop(f, answers, NULL));
    /* copy: the gate's answer where the field has the same option */
    assert_int_equal(zq_field_prefill(f, zq_form_field(f, "kind", NULL), answers, &v, &note), 0);
    assert_json(v, "\"organ\"");
    assert_null(note);
    json_decref(v);
    assert_int_equal(zq_field_prefill(f, zq_form_field(f, "owed_fen", NULL), answers, &v, &note),
                     0);
    assert_json(v, "12500000");
    json_decref(v);
    /* due_date: no term days for "none" until the payer's type is known */
    assert_int_equal(zq_field_prefill(f, zq_form_field(f, "due", NULL), answers, &v, &note),
                     -ZQ_ENOTFOUND);
    json_object_set_new(answers, "kind", json_string("large"));
    assert_int_equal(zq_field_prefill(f, zq_form_field(f, "due", NULL), answers, &v, &note), 0);
    assert_json(v, "\"2026-04-30\"");
    assert_string_equal(note, "按交付日期 2026-03-01 加 60 天计算");
    json_decref(v);
    free(note);
    json_object_set_new(answers, "term", json_string("d30"));
    json_object_set_new(answers, "start", json_string("2026-12-15"));
    assert_int_equal(zq_field_prefill(f, zq_form_field(f, "due", NULL), answers, &v, &note), 0);
    assert_json(v, "\"2027-01-14\"");
    json_decref(v);
    free(note);
    /* nothing to suggest: a field without a rule, or paid >= total */
    assert_int_equal(zq_field_prefill(f, zq_form_field(f, "name", NULL), answers, &v, &note),
                     -ZQ_ENOTFOUND);
    json_object_set_new(answers, "paid_fen", json_integer(15000000));
    assert_int_equal(zq_field_prefill(f, zq_form_field(f, "owed_fen", NULL), answers, &v, &note),
                     -ZQ_ENOTFOUND);
    json_decref(answers);

    /* Multi-choice: a list, or text with separators, kept in option order. */
    step_ok(s, "t", "one",
            "{\"name\":\"某某\",\"kind\":\"organ\",\"term\":\"d30\",\"start\":\"2026-03-01\","
            "\"due\":\"2026-03-31\",\"total_fen\":\"100\",\"paid_fen\":\"0\",\"owed_fen\":\"100\","
            "\"issues\":\"乙、1\"}",
            "{\"who\":\"organ\"}",
            "{\"name\":\"某某\",\"kind\":\"organ\",\"term\":\"d30\",\"start\":\"2026-03-01\","
            "\"due\":\"2026-03-31\",\"total_fen\":10000,\"paid_fen\":0,\"owed_fen\":10000,"
            "\"issues\":[\"x\",\"y\"]}");
    step_bad(s, "t", "one",
             "{\"name\":\"某某\",\"kind\":\"organ\",\"term\":\"d30\",\"start\":\"2026-03-01\","
             "\"due\":\"2026-03-31\",\"total_fen\":\"0\",\"paid_fen\":\"-1\",\"owed_fen\":\"1\","
             "\"issues\":[\"x\",\"z\"]}",
             "{\"who\":\"organ\"}",
             "{\"total_fen\":\"合同金额必须大于 0\",\"paid_fen\":\"已付不能小于 0\","
             "\"issues\":\"请从选项中选择问题类型（可以多选）\"}");
    zq_schema_free(s);
}

static void test_validate_all(void **state)
{
    zq_schema *s = load("config/forms");
    json_t *answers = complaint_answers(s), *errors = NULL;
    const char *st = "x";
    zq_schema_opts early = {.today = "2025-08-01"};

    (void)state;
    assert_json(json_object_get(answers, "amount_fen"), "12500000");
    assert_json(json_object_get(answers, "signing_date"), "\"2025-03-18\"");
    assert_json(json_object_get(answers, "respondent_uscc"), "null");
    assert_json(json_object_get(answers, "payment_term"), "\"within_30\"");
    assert_int_equal(all(s, answers, "{}", &opts, &errors, &st), 0);
    assert_null(errors);
    assert_null(st);

    /* The first failing step is named; every error is listed. */
    assert_int_equal(all(s, answers, "{\"facts\":null,\"amount_fen\":null}", &opts, &errors, &st),
                     -ZQ_EINVAL);
    assert_string_equal(st, "debt");
    assert_json(errors, "{\"amount_fen\":\"请填写拖欠金额\",\"facts\":\"请填写事实与经过\"}");
    json_decref(errors);
    assert_int_equal(all(s, answers, "{\"consent\":false}", &opts, &errors, &st), -ZQ_EINVAL);
    assert_string_equal(st, "declarations");
    assert_json(errors, "{\"consent\":\"请阅读并勾选此项声明\"}");
    json_decref(errors);
    assert_int_equal(all(s, answers, "{\"mobile\":\"123\",\"consent\":false}", &opts, &errors, &st),
                     -ZQ_EINVAL);
    assert_string_equal(st, "complainant");
    json_decref(errors);

    /* Cross-field rules. */
    assert_int_equal(all(s, answers, "{\"undisputed_fen\":12500001}", &opts, &errors, &st),
                     -ZQ_EINVAL);
    assert_string_equal(st, "debt");
    assert_json(errors, "{\"undisputed_fen\":\"无争议的金额不能超过拖欠金额\"}");
    json_decref(errors);

    /* Conditions: a value left by a hidden field does not count... */
    assert_int_equal(all(s, answers,
                         "{\"acceptance_based\":false,\"acceptance_date\":\"1999-01-01\"}", &opts,
                         &errors, &st),
                     0);
    assert_int_equal(all(s, answers, "{\"acceptance_based\":false,\"acceptance_date\":null}", &opts,
                         &errors, &st),
                     0);
    /* ...but a shown one is required. */
    assert_int_equal(all(s, answers, "{\"payment_term\":\"other\"}", &opts, &errors, &st),
                     -ZQ_EINVAL);
    assert_json(errors, "{\"payment_term_note\":\"请填写付款期限说明\"}");
    json_decref(errors);
    assert_int_equal(all(s, answers, "{\"payment_term\":\"other\",\"payment_term_note\":\"90 日\"}",
                         &opts, &errors, &st),
                     0);

    /* Stored values are checked again: today may have moved, or been tampered with. */
    assert_int_equal(all(s, answers, "{}", &early, &errors, &st), -ZQ_EINVAL);
    assert_string_equal(st, "debt");
    assert_json(errors, "{\"due_date\":\"应付款日期不能晚于今天\"}");
    json_decref(errors);
    assert_int_equal(all(s, answers, "{\"size\":\"huge\"}", &opts, &errors, &st), -ZQ_EINVAL);
    assert_json(errors, "{\"size\":\"请从选项中选择企业规模\"}");
    json_decref(errors);

    /* Ids that are not fields are ignored here (steps reject them). */
    assert_int_equal(all(s, answers, "{\"zzz\":1}", &opts, &errors, &st), 0);

    assert_int_equal(
        zq_form_validate_all(s, zq_schema_form(s, "complaint"), answers, &opts, NULL, NULL),
        -ZQ_EINVAL);
    assert_int_equal(zq_form_validate_all(s, NULL, answers, &opts, &errors, NULL), -ZQ_EINVAL);
    json_decref(answers);
    zq_schema_free(s);
}

static void test_visible_answers(void **state)
{
    zq_schema *s = load("tests/data/forms/good/forms");
    const zq_form *f = zq_schema_form(s, "t");
    json_t *a = J("{\"kind\":\"a\",\"sub\":\"y\",\"sub_note\":\"stale\",\"detail\":\"stale\","
                  "\"flag\":false,\"flag_note\":\"stale\",\"end\":\"2026-01-01\",\"zzz\":1}");
    json_t *v = zq_form_visible_answers(f, a);

    (void)state;
    assert_json(v, "{\"kind\":\"a\",\"flag\":false,\"end\":\"2026-01-01\"}");
    json_decref(v);
    /* A chain: kind c shows sub; sub y shows sub_note. */
    json_object_set_new(a, "kind", json_string("c"));
    v = zq_form_visible_answers(f, a);
    assert_json(v, "{\"kind\":\"c\",\"sub\":\"y\",\"sub_note\":\"stale\",\"flag\":false,"
                   "\"end\":\"2026-01-01\"}");
    json_decref(v);
    v = zq_form_visible_answers(f, NULL);
    assert_json(v, "{}");
    json_decref(v);
    json_decref(a);
    zq_schema_free(s);
}

static void test_field_visible(void **state)
{
    zq_schema *s = load("config/forms");
    const zq_form *c = zq_schema_form(s, "complaint");
    const zq_field *acc = zq_form_field(c, "acceptance_date", NULL);
    const zq_field *note = zq_form_field(c, "payment_term_note", NULL);
    json_t *a;

    (void)state;
    assert_true(zq_field_visible(zq_form_field(c, "uscc", NULL), NULL));
    assert_false(zq_field_visible(acc, NULL));
    assert_false(zq_field_visible(NULL, NULL));
    a = J("{\"acceptance_based\":true,\"payment_term\":\"other\"}");
    assert_true(zq_field_visible(acc, a));
    assert_true(zq_field_visible(note, a));
    json_decref(a);
    a = J("{\"acceptance_based\":false,\"payment_term\":\"within_30\"}");
    assert_false(zq_field_visible(acc, a));
    assert_false(zq_field_visible(note, a));
    json_decref(a);
    /* Raw, unnormalised answers do not count. */
    a = J("{\"acceptance_based\":\"是\",\"payment_term\":3}");
    assert_false(zq_field_visible(acc, a));
    assert_false(zq_field_visible(note, a));
    json_decref(a);
    zq_schema_free(s);
}

/* zq_form_field_shown answers what zq_field_visible does on the visible
 * answers, for every field and every mix of controlling answers (chains,
 * stale values behind hidden fields, raw values, none). */
static void test_field_shown(void **state)
{
    static const char *const kinds[] = {NULL, "\"a\"", "\"b\"", "\"c\"", "1"};
    static const char *const subs[] = {NULL, "\"x\"", "\"y\""};
    static const char *const flags[] = {NULL, "true", "false", "\"\u662f\""};
    zq_schema *s = load("tests/data/forms/good/forms");
    const zq_form *f = zq_schema_form(s, "t");
    size_t k, u, g, stale, i, j, n = 0;

    (void)state;
    for (k = 0; k < 5; k++)
        for (u = 0; u < 3; u++)
            for (g = 0; g < 4; g++)
                for (stale = 0; stale < 2; stale++) {
                    json_t *a = json_object(), *vis;

                    if (kinds[k] != NULL)
                        json_object_set_new(a, "kind", J(kinds[k]));
                    if (subs[u] != NULL)
                        json_object_set_new(a, "sub", J(subs[u]));
                    if (flags[g] != NULL)
                        json_object_set_new(a, "flag", J(flags[g]));
                    if (stale) {
                        json_object_set_new(a, "detail", json_string("d"));
                        json_object_set_new(a, "sub_note", json_string("n"));
                        json_object_set_new(a, "flag_note", json_string("f"));
                    }
                    vis = zq_form_visible_answers(f, a);
                    for (i = 0; i < f->nsteps; i++)
                        for (j = 0; j < f->steps[i].nfields; j++, n++) {
                            const zq_field *fld = &f->steps[i].fields[j];

                            assert_int_equal(zq_form_field_shown(f, a, fld),
                                             zq_field_visible(fld, vis));
                        }
                    json_decref(vis);
                    json_decref(a);
                }
    assert_true(n > 0);
    assert_true(zq_form_field_shown(f, NULL, zq_form_field(f, "kind", NULL)));
    assert_false(zq_form_field_shown(f, NULL, zq_form_field(f, "sub", NULL)));
    assert_false(zq_form_field_shown(f, NULL, NULL));
    assert_false(zq_form_field_shown(NULL, NULL, zq_form_field(f, "kind", NULL)));
    zq_schema_free(s);
}

/* The chat renders the review from display strings. */
static void test_display_complaint(void **state)
{
    zq_schema *s = load("config/forms");
    const zq_form *c = zq_schema_form(s, "complaint");
    json_t *answers = complaint_answers(s);
    static const char *const want[][2] = {
        {"size", "小型"},
        {"region", "成都市"},
        {"mobile", "138****5678"},
        {"respondent_type", "机关"},
        {"respondent_uscc", "未填写"},
        {"signing_date", "2025年3月18日"},
        {"acceptance_based", "是"},
        {"payment_term", "交付（验收）后 30 日内"},
        {"amount_fen", "125,000.00 元"},
        {"consent", "是"},
        {"evidence_files", "合同：合同.pdf（1 KB）"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < ZQ_ARRAY_LEN(want); i++) {
        const zq_field *f = zq_form_field(c, want[i][0], NULL);
        char *d = zq_field_display(s, f, json_object_get(answers, want[i][0]), true);

        assert_string_equal(d, want[i][1]);
        free(d);
    }
    json_decref(answers);
    zq_schema_free(s);
}

/* A files field: its value is the upload API's list; kinds of the field
 * only, required kinds there (unless optional), typed text refused. */
static void test_files_field(void **state)
{
    zq_schema *s = load("config/forms");
    const zq_form *c = zq_schema_form(s, "complaint");
    const zq_field *f = zq_form_field(c, "evidence_files", NULL);
    zq_schema_opts chat = {.files_kinds_optional = true};
    const char *msg = NULL;
    json_t *out = NULL, *in;

    (void)state;
    assert_non_null(f);
    assert_int_equal(f->type, ZQ_FIELD_FILES);
    assert_int_equal(f->nkinds, 6);
    assert_string_equal(f->kinds[0].label, "合同");
    assert_true(f->kinds[0].required);
    assert_false(f->kinds[1].required);
    assert_non_null(f->kinds[0].hint);
    /* Nothing uploaded: the contract is asked for. */
    assert_int_equal(zq_field_validate(s, f, NULL, &opts, &out, &msg), -ZQ_EINVAL);
    assert_string_equal(msg, "请上传合同");
    /* Only an invoice: still no contract. */
    in = J("[{\"id\":\"0123456789abcdef0123456789abcdef\",\"kind\":\"invoice\"}]");
    assert_int_equal(zq_field_validate(s, f, in, &opts, &out, &msg), -ZQ_EINVAL);
    assert_string_equal(msg, "请上传合同");
    /* ...which the chat (and require_kinds = false) does not ask for. */
    assert_int_equal(zq_field_validate(s, f, in, &chat, &out, &msg), 0);
    assert_true(json_equal(out, in));
    json_decref(out);
    json_decref(in);
    assert_int_equal(zq_field_validate(s, f, NULL, &chat, &out, &msg), 0);
    assert_true(json_is_null(out));
    /* A kind of another field, a bad id, typed text. */
    in = J("[{\"id\":\"0123456789abcdef0123456789abcdef\",\"kind\":\"selfie\"}]");
    assert_int_equal(zq_field_validate(s, f, in, &chat, &out, &msg), -ZQ_EINVAL);
    assert_string_equal(msg, "证据文件中有无法识别的文件，请删除后重新上传");
    json_decref(in);
    in = J("[{\"id\":\"../../etc/passwd\",\"kind\":\"contract\"}]");
    assert_int_equal(zq_field_validate(s, f, in, &chat, &out, &msg), -ZQ_EINVAL);
    json_decref(in);
    in = json_string("合同照片");
    assert_int_equal(zq_field_validate(s, f, in, &chat, &out, &msg), -ZQ_EINVAL);
    assert_string_equal(msg, "证据文件请通过“网页填写”链接在网页上传");
    json_decref(in);
    zq_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_forms_load),
        cmocka_unit_test(test_regions),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_dir_trailing_slash),
        cmocka_unit_test(test_public_json_good),
        cmocka_unit_test(test_public_json_real),
        cmocka_unit_test(test_etag),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_step_normalises),
        cmocka_unit_test(test_step_errors),
        cmocka_unit_test(test_step_unknown_fields),
        cmocka_unit_test(test_review_step),
        cmocka_unit_test(test_step_conditions),
        cmocka_unit_test(test_step_rules),
        cmocka_unit_test(test_gate_and_prefill),
        cmocka_unit_test(test_validate_all),
        cmocka_unit_test(test_visible_answers),
        cmocka_unit_test(test_field_visible),
        cmocka_unit_test(test_field_shown),
        cmocka_unit_test(test_display_complaint),
        cmocka_unit_test(test_files_field),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

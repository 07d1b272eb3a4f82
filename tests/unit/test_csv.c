/* Tests of lib/csv.c: RFC 4180 quoting, CRLF rows, the byte order mark,
 * and neutralising of values a spreadsheet would run as formulas. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "zhuqi/csv.h"

/* One field written alone, as a string. */
static void check(const char *in, const char *want)
{
    zq_buf b = {0};

    assert_int_equal(zq_csv_str(&b, true, in), 0);
    assert_string_equal(b.data ? b.data : "", want);
    zq_buf_free(&b);
}

static void test_plain(void **state)
{
    (void)state;
    check("abc", "abc");
    check("成都示例科技有限公司", "成都示例科技有限公司");
    check("123456.78", "123456.78");
    check("2026-11-26", "2026-11-26");
    check("", "");
    check(NULL, "");
    /* A dash or plus inside is fine; only the first character counts. */
    check("HT-2026-001", "HT-2026-001");
    check("a=b", "a=b");
    check(" leading space", " leading space");
}

static void test_quoting(void **state)
{
    (void)state;
    check("a,b", "\"a,b\"");
    check("say \"hi\"", "\"say \"\"hi\"\"\"");
    check("\"", "\"\"\"\"");
    check("line1\nline2", "\"line1\nline2\"");
    check("line1\r\nline2", "\"line1\r\nline2\"");
    check("合同，逗号", "合同，逗号"); /* the full-width comma is text */
}

static void test_formulas(void **state)
{
    (void)state;
    check("=1+1", "\"'=1+1\"");
    check("+8613812345678", "\"'+8613812345678\"");
    check("-5", "\"'-5\"");
    check("@SUM(A1:A2)", "\"'@SUM(A1:A2)\"");
    check("\tTAB", "\"'\tTAB\"");
    check("\rCR", "\"'\rCR\"");
    check("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
    check("=cmd|' /C calc'!A0", "\"'=cmd|' /C calc'!A0\"");
    assert_true(zq_csv_is_formula("=", 1));
    assert_false(zq_csv_is_formula("", 0));
    assert_false(zq_csv_is_formula(NULL, 0));
    assert_false(zq_csv_is_formula("1=1", 3));
    /* Full-width signs are not formulas in spreadsheets. */
    assert_false(zq_csv_is_formula("＝1", strlen("＝1")));
}

static void test_rows(void **state)
{
    zq_buf b = {0};

    (void)state;
    zq_buf_append(&b, ZQ_CSV_BOM, ZQ_CSV_BOM_LEN);
    zq_csv_str(&b, true, "编号");
    zq_csv_str(&b, false, "状态");
    zq_csv_end_row(&b);
    zq_csv_str(&b, true, "TS20261126-0001");
    zq_csv_field(&b, false, NULL, 0);
    zq_csv_str(&b, false, "a,b");
    zq_csv_end_row(&b);
    assert_int_equal(b.len, strlen("\xEF\xBB\xBF编号,状态\r\nTS20261126-0001,,\"a,b\"\r\n"));
    assert_memory_equal(b.data, "\xEF\xBB\xBF编号,状态\r\nTS20261126-0001,,\"a,b\"\r\n", b.len);
    zq_buf_free(&b);
}

/* Bytes with a NUL inside are written as given (length-based). */
static void test_length(void **state)
{
    zq_buf b = {0};

    (void)state;
    zq_csv_field(&b, true, "ab,cd", 2);
    assert_string_equal(b.data, "ab");
    zq_buf_free(&b);
}

/* Numbers we make are written plain: Excel sums them, and a negative
 * number is not a formula. */
static void test_numbers(void **state)
{
    zq_buf b = {0};

    (void)state;
    zq_csv_int(&b, true, -14);
    zq_csv_int(&b, false, 0);
    zq_csv_fen(&b, false, 123456);
    zq_csv_fen(&b, false, 5);
    zq_csv_fen(&b, false, -1230);
    assert_string_equal(b.data, "-14,0,1234.56,0.05,-12.30");
    zq_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),    cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_formulas), cmocka_unit_test(test_rows),
        cmocka_unit_test(test_length),   cmocka_unit_test(test_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

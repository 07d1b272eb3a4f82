/* Fuzzes the holiday calendar loader (lib/core/calendar.c zq_cal_load): a
 * YYYY.json written to a scratch folder (named after its "year" when that
 * is a number of 1..9999, so that the name check does not stop every
 * input), next to the real 2025.json when asked; a calendar that loads is
 * then used over its year and the deadline arithmetic is checked.
 * Input: a mode byte (bit 0: add the real config/holidays/2025.json;
 * bits 1-7: a day count for the arithmetic), then the file. */
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "zhuqi/calendar.h"

static char g_dir[600];
static char *g_2025;
static size_t g_2025_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FILE *f;

    (void)argc;
    (void)argv;
    fuzz_quiet();
    snprintf(g_dir, sizeof(g_dir), "%s/holidays", fuzz_tmp());
    FUZZ_CHECK(mkdir(g_dir, 0700) == 0);
    f = fopen(fuzz_path("config/holidays/2025.json"), "rb");
    FUZZ_CHECK(f != NULL);
    g_2025 = malloc(65536);
    FUZZ_CHECK(g_2025 != NULL);
    g_2025_len = fread(g_2025, 1, 65535, f);
    fclose(f);
    return 0;
}

static int year_of(const char *s, size_t len)
{
    json_t *j = json_loadb(s, len, 0, NULL);
    json_t *y = json_object_get(j, "year");
    int year = 2026;

    if (json_is_integer(y) && json_integer_value(y) >= 1 && json_integer_value(y) <= 9999)
        year = (int)json_integer_value(y);
    json_decref(j);
    return year;
}

static void use(const zq_calendar *c, int year, int n)
{
    zq_date d = {year, 1, 1}, r, w;
    int m;

    FUZZ_CHECK(zq_cal_year_known(c, year));
    FUZZ_CHECK(zq_cal_source(c, year) != NULL && zq_cal_source(c, year)[0] != '\0');
    for (m = 1; m <= 12; m++) {
        zq_date md = zq_cal_monthly_day(c, year, m, 27, ZQ_CAL_NEXT_WORKDAY);

        if (zq_date_valid(md))
            FUZZ_CHECK(zq_cal_is_workday(c, md));
    }
    /* A week at a time over the year: the arithmetic agrees with itself. */
    for (; d.y == year; d = zq_date_add_days(d, 7)) {
        w = zq_cal_next_workday(c, d);
        if (zq_date_valid(w))
            FUZZ_CHECK(zq_cal_is_workday(c, w) && zq_date_cmp(w, d) >= 0);
        r = zq_cal_add_workdays(c, d, n);
        if (zq_date_valid(r) && n > 0) {
            FUZZ_CHECK(zq_cal_is_workday(c, r));
            FUZZ_CHECK(zq_cal_workdays_between(c, d, r) == n);
        }
        r = zq_cal_add_workdays(c, d, -n);
        if (zq_date_valid(r) && n > 0)
            FUZZ_CHECK(zq_cal_workdays_between(c, r, d) <= n);
        if (!zq_date_valid(d))
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    size_t len;
    char *text = fuzz_rest(&in, &len), path[700];
    int year = year_of(text, len);
    zq_calendar *c = NULL;
    zq_err err = {0};
    int rc;

    fuzz_clear_dir(g_dir);
    snprintf(path, sizeof(path), "%s/%04d.json", g_dir, year);
    fuzz_write_file(path, text, len);
    if ((mode & 1) && year != 2025) {
        snprintf(path, sizeof(path), "%s/2025.json", g_dir);
        fuzz_write_file(path, g_2025, g_2025_len);
    }
    rc = zq_cal_load(g_dir, &c, &err);
    if (rc == 0) {
        FUZZ_CHECK(c != NULL);
        use(c, year, (mode >> 1) + 1);
        zq_cal_free(c);
    } else {
        FUZZ_CHECK(c == NULL && err.code != 0);
        FUZZ_CHECK(strstr(err.msg, g_dir) != NULL);
    }
    free(text);
    return 0;
}

/* Tests of the case state machines in lib/intake/workflow.c: every allowed move
 * (written out again here, independently of the table), every move not
 * in the list refused, roles, required notes, reachability, and the JSON
 * the console reads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zhuqi/common.h"
#include "zhuqi/workflow.h"

typedef struct expect_move {
    const char *from, *to;
    zq_role role;
    bool note;
} expect_move;

/* specs/intake.md: submitted -> needs_info <-> submitted -> accepted |
 * rejected -> transferred -> in_progress -> answered -> closed; withdrawn. */
static const char *const complaint_st[] = {"submitted", "needs_info",  "accepted",
                                           "rejected",  "transferred", "in_progress",
                                           "answered",  "closed",      "withdrawn"};
static const expect_move complaint_ok[] = {
    /* The message (what is missing) is required instead of a note. */
    {"submitted", "needs_info", ZQ_ROLE_HANDLER, false},
    {"submitted", "accepted", ZQ_ROLE_HANDLER, false},
    {"submitted", "rejected", ZQ_ROLE_HANDLER, true},
    {"submitted", "withdrawn", ZQ_ROLE_HANDLER, true},
    {"needs_info", "submitted", ZQ_ROLE_HANDLER, false},
    {"needs_info", "rejected", ZQ_ROLE_HANDLER, true},
    {"needs_info", "withdrawn", ZQ_ROLE_HANDLER, true},
    {"accepted", "transferred", ZQ_ROLE_HANDLER, true},
    {"accepted", "withdrawn", ZQ_ROLE_HANDLER, true},
    {"transferred", "in_progress", ZQ_ROLE_HANDLER, false},
    {"transferred", "answered", ZQ_ROLE_HANDLER, true},
    {"transferred", "withdrawn", ZQ_ROLE_HANDLER, true},
    {"in_progress", "answered", ZQ_ROLE_HANDLER, true},
    {"in_progress", "withdrawn", ZQ_ROLE_HANDLER, true},
    {"answered", "closed", ZQ_ROLE_HANDLER, false},
    {"answered", "in_progress", ZQ_ROLE_ADMIN, true},
    {"rejected", "submitted", ZQ_ROLE_ADMIN, true},
};

static const char *const consult_st[] = {"submitted", "assigned", "answered", "closed",
                                         "withdrawn"};
static const expect_move consult_ok[] = {
    {"submitted", "assigned", ZQ_ROLE_HANDLER, false},
    {"submitted", "closed", ZQ_ROLE_HANDLER, true},
    {"assigned", "answered", ZQ_ROLE_HANDLER, true},
    {"assigned", "submitted", ZQ_ROLE_HANDLER, true},
    {"answered", "closed", ZQ_ROLE_HANDLER, false},
    {"answered", "assigned", ZQ_ROLE_ADMIN, true},
};

static const expect_move *find_expected(const expect_move *list, size_t n, const char *from,
                                        const char *to)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].from, from) == 0 && strcmp(list[i].to, to) == 0)
            return &list[i];
    return NULL;
}

static void check_machine(const char *form, const char *const *st, size_t nst,
                          const expect_move *ok, size_t nok)
{
    const zq_wf_machine *m = zq_wf_machine_for(form);

    assert_non_null(m);
    assert_string_equal(m->initial, "submitted");
    assert_int_equal(m->nstatuses, nst);
    assert_int_equal(m->nmoves, nok);
    for (size_t i = 0; i < nst; i++)
        assert_non_null(zq_wf_status_find(m, st[i]));

    /* Every pair of statuses: allowed exactly when listed above. */
    for (size_t i = 0; i < nst; i++) {
        for (size_t j = 0; j < nst; j++) {
            const expect_move *e = find_expected(ok, nok, st[i], st[j]);
            if (e == NULL) {
                assert_null(zq_wf_move_find(m, st[i], st[j]));
                assert_int_equal(zq_wf_check(m, st[i], st[j], ZQ_ROLE_ADMIN, "理由"),
                                 -ZQ_ECONFLICT);
                continue;
            }
            /* The least role with a note passes; one role lower does not. */
            assert_int_equal(zq_wf_check(m, st[i], st[j], e->role, "理由说明"), 0);
            assert_int_equal(zq_wf_check(m, st[i], st[j], ZQ_ROLE_ADMIN, "理由说明"), 0);
            assert_int_equal(zq_wf_check(m, st[i], st[j], (zq_role)(e->role - 1), "理由说明"),
                             -ZQ_EFORBIDDEN);
            assert_int_equal(zq_wf_check(m, st[i], st[j], ZQ_ROLE_VIEWER, "理由说明"),
                             -ZQ_EFORBIDDEN);
            /* Without a note (or with blanks only, full-width too). */
            assert_int_equal(zq_wf_check(m, st[i], st[j], e->role, NULL), e->note ? -ZQ_EINVAL : 0);
            assert_int_equal(zq_wf_check(m, st[i], st[j], e->role, " \t\xe3\x80\x80\n"),
                             e->note ? -ZQ_EINVAL : 0);
        }
    }
    /* Statuses of the other machine and nonsense are refused. */
    assert_int_equal(zq_wf_check(m, "submitted", "nonsense", ZQ_ROLE_ADMIN, "x"), -ZQ_ECONFLICT);
    assert_int_equal(zq_wf_check(m, "nonsense", "submitted", ZQ_ROLE_ADMIN, "x"), -ZQ_ECONFLICT);
    assert_int_equal(zq_wf_check(m, NULL, "submitted", ZQ_ROLE_ADMIN, "x"), -ZQ_ECONFLICT);
}

static void test_complaint_moves(void **state)
{
    (void)state;
    check_machine("complaint", complaint_st, ZQ_ARRAY_LEN(complaint_st), complaint_ok,
                  ZQ_ARRAY_LEN(complaint_ok));
    /* A consultation status does not exist for complaints. */
    assert_int_equal(
        zq_wf_check(zq_wf_machine_for("complaint"), "submitted", "assigned", ZQ_ROLE_ADMIN, "x"),
        -ZQ_ECONFLICT);
}

/* The enterprise withdraws only before a decision: a complaint while it
 * is submitted or waits for material, a consultation until assigned. */
static void test_withdrawable(void **state)
{
    static const char *const yes[][2] = {
        {"complaint", "submitted"}, {"complaint", "needs_info"}, {"consult", "submitted"}};
    static const char *const no[][2] = {
        {"complaint", "accepted"},    {"complaint", "rejected"}, {"complaint", "transferred"},
        {"complaint", "in_progress"}, {"complaint", "answered"}, {"complaint", "closed"},
        {"complaint", "withdrawn"},   {"consult", "assigned"},   {"consult", "answered"},
        {"consult", "closed"},        {"consult", "withdrawn"},  {"consult", "needs_info"},
        {"nonsense", "submitted"},    {"complaint", "nonsense"}};

    (void)state;
    for (size_t i = 0; i < ZQ_ARRAY_LEN(yes); i++)
        assert_true(zq_wf_withdrawable(yes[i][0], yes[i][1]));
    for (size_t i = 0; i < ZQ_ARRAY_LEN(no); i++)
        assert_false(zq_wf_withdrawable(no[i][0], no[i][1]));
    assert_false(zq_wf_withdrawable(NULL, "submitted"));
    assert_false(zq_wf_withdrawable("complaint", NULL));
}

static void test_consult_moves(void **state)
{
    (void)state;
    check_machine("consult", consult_st, ZQ_ARRAY_LEN(consult_st), consult_ok,
                  ZQ_ARRAY_LEN(consult_ok));
    assert_int_equal(
        zq_wf_check(zq_wf_machine_for("consult"), "submitted", "accepted", ZQ_ROLE_ADMIN, "x"),
        -ZQ_ECONFLICT);
}

static void test_unknown(void **state)
{
    (void)state;
    assert_null(zq_wf_machine_for("nope"));
    assert_null(zq_wf_machine_for(NULL));
    assert_int_equal(zq_wf_check(NULL, "submitted", "accepted", ZQ_ROLE_ADMIN, "x"), -ZQ_ECONFLICT);
    assert_true(zq_wf_status_known("in_progress"));
    assert_true(zq_wf_status_known("assigned"));
    assert_false(zq_wf_status_known("deleted"));
    assert_int_equal(zq_wf_nmachines(), 2);
    assert_null(zq_wf_machine_at(2));
}

/* Final statuses have no way out; every status is reachable from the
 * initial one; every status with moves out is not final. */
static void test_shape(void **state)
{
    (void)state;
    for (size_t k = 0; k < zq_wf_nmachines(); k++) {
        const zq_wf_machine *m = zq_wf_machine_at(k);
        bool reach[32] = {false};
        bool grew = true;

        assert_true(m->nstatuses < 32);
        for (size_t i = 0; i < m->nstatuses; i++) {
            bool out = false;
            for (size_t j = 0; j < m->nmoves; j++)
                out = out || strcmp(m->moves[j].from, m->statuses[i].id) == 0;
            assert_true(out != m->statuses[i].final);
            if (strcmp(m->statuses[i].id, m->initial) == 0)
                reach[i] = true;
        }
        while (grew) {
            grew = false;
            for (size_t j = 0; j < m->nmoves; j++) {
                size_t a = 0, b = 0;
                while (strcmp(m->statuses[a].id, m->moves[j].from) != 0)
                    a++;
                while (strcmp(m->statuses[b].id, m->moves[j].to) != 0)
                    b++;
                if (reach[a] && !reach[b])
                    reach[b] = grew = true;
            }
            /* The enterprise's own move: withdrawn, from a withdrawable status. */
            for (size_t i = 0; i < m->nstatuses; i++)
                for (size_t j = 0; j < m->nstatuses; j++)
                    if (reach[i] && m->statuses[i].withdrawable && !reach[j] &&
                        strcmp(m->statuses[j].id, "withdrawn") == 0)
                        reach[j] = grew = true;
        }
        for (size_t i = 0; i < m->nstatuses; i++)
            assert_true(reach[i]);
        /* Every move has an action label and a valid role. */
        for (size_t j = 0; j < m->nmoves; j++) {
            assert_true(strlen(m->moves[j].action) > 0);
            assert_true(m->moves[j].role >= ZQ_ROLE_HANDLER);
        }
    }
}

/* Which statuses run which clock. */
static void test_clocks(void **state)
{
    const zq_wf_machine *m = zq_wf_machine_for("complaint");

    (void)state;
    assert_int_equal(zq_wf_status_find(m, "submitted")->clock, ZQ_WF_CLOCK_REVIEW);
    assert_int_equal(zq_wf_status_find(m, "needs_info")->clock, ZQ_WF_CLOCK_SUPPLY);
    assert_true(zq_wf_move_find(m, "submitted", "needs_info")->message_required);
    assert_false(zq_wf_move_find(m, "submitted", "accepted")->message_required);
    assert_int_equal(zq_wf_status_find(m, "accepted")->clock, ZQ_WF_CLOCK_TRANSFER);
    assert_int_equal(zq_wf_status_find(m, "transferred")->clock, ZQ_WF_CLOCK_ANSWER);
    assert_int_equal(zq_wf_status_find(m, "in_progress")->clock, ZQ_WF_CLOCK_ANSWER);
    assert_int_equal(zq_wf_status_find(m, "answered")->clock, ZQ_WF_CLOCK_NONE);
    assert_int_equal(zq_wf_status_find(m, "closed")->clock, ZQ_WF_CLOCK_NONE);
    m = zq_wf_machine_for("consult");
    for (size_t i = 0; i < m->nstatuses; i++)
        assert_int_equal(m->statuses[i].clock, ZQ_WF_CLOCK_NONE);
    assert_string_equal(zq_wf_clock_name(ZQ_WF_CLOCK_ANSWER), "answer");
    assert_int_equal(zq_wf_clock_parse("transfer"), ZQ_WF_CLOCK_TRANSFER);
    assert_int_equal(zq_wf_clock_parse(""), ZQ_WF_CLOCK_NONE);
    assert_int_equal(zq_wf_clock_parse(NULL), ZQ_WF_CLOCK_NONE);
}

static bool has_move(json_t *moves, const char *to)
{
    json_t *e;
    size_t i;

    json_array_foreach(moves, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "to")), to) == 0)
            return true;
    }
    return false;
}

static void test_moves_json(void **state)
{
    const zq_wf_machine *m = zq_wf_machine_for("complaint");
    json_t *j;

    (void)state;
    j = zq_wf_moves_json(m, "submitted", ZQ_ROLE_VIEWER);
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);

    j = zq_wf_moves_json(m, "submitted", ZQ_ROLE_HANDLER);
    assert_int_equal(json_array_size(j), 4);
    assert_true(has_move(j, "accepted"));
    assert_true(has_move(j, "needs_info"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "to_label")),
                        "已受理");
    json_decref(j);

    /* Reopening an answered case is for admins only. */
    j = zq_wf_moves_json(m, "answered", ZQ_ROLE_HANDLER);
    assert_int_equal(json_array_size(j), 1);
    assert_false(has_move(j, "in_progress"));
    json_decref(j);
    j = zq_wf_moves_json(m, "answered", ZQ_ROLE_ADMIN);
    assert_int_equal(json_array_size(j), 2);
    assert_true(has_move(j, "in_progress"));
    assert_true(json_is_true(json_object_get(json_array_get(j, 1), "note_required")));
    json_decref(j);

    j = zq_wf_moves_json(m, "closed", ZQ_ROLE_ADMIN);
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);

    j = zq_wf_machines_json();
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "complaint"), "moves")),
                     ZQ_ARRAY_LEN(complaint_ok));
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "consult"), "statuses")),
                     5);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(j, "complaint"), "statuses"), 0),
            "clock")),
        "review");
    json_decref(j);
}

/* The result types keep their codes; the shipped handling.json loads,
 * and broken ones are refused with the file and the place named. */
static void test_results_and_handling(void **state)
{
    char path[] = "/tmp/zq-handling-XXXXXX";
    static const char *const bad[] = {
        "[]",
        "{\"departments\": []}",
        "{\"departments\": [{\"id\": \"A b\", \"label\": \"x\"}]}",
        "{\"departments\": [{\"id\": \"a\", \"label\": \" \"}]}",
        "{\"departments\": [{\"id\": \"a\", \"label\": \"x\"}, {\"id\": \"a\", "
        "\"label\": \"y\"}]}",
        "{\"departments\": [{\"id\": \"a\", \"label\": \"x\"}], \"messages\": [{\"to\": "
        "\"nowhere\", \"title\": \"t\", \"text\": \"x\"}]}",
    };
    zq_err err = {0};
    json_t *h = NULL;
    size_t i;
    int fd;

    (void)state;
    assert_string_equal(zq_wf_result_find("paid_full")->label, "已全额支付");
    assert_true(zq_wf_result_find("paid_part")->amount_positive);
    assert_true(zq_wf_result_find("not_accepted")->reason_required);
    assert_false(zq_wf_result_find("unresolved")->amount_positive);
    assert_null(zq_wf_result_find("paid"));
    assert_null(zq_wf_result_find(NULL));
    assert_int_equal(zq_wf_handling_load("config/handling.json", &h, &err), 0);
    assert_string_equal(zq_wf_department_label(h, "finance"), "财政部门");
    assert_null(zq_wf_department_label(h, "nope"));
    assert_null(zq_wf_department_label(NULL, "finance"));
    json_decref(h);
    for (i = 0; i < ZQ_ARRAY_LEN(bad); i++) {
        FILE *f;
        fd = mkstemp(path);
        assert_true(fd >= 0);
        f = fdopen(fd, "w");
        fputs(bad[i], f);
        fclose(f);
        h = NULL;
        assert_int_equal(zq_wf_handling_load(path, &h, &err), -ZQ_EINVAL);
        assert_null(h);
        assert_non_null(strstr(err.msg, path));
        unlink(path);
        memcpy(path + strlen(path) - 6, "XXXXXX", 6);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complaint_moves), cmocka_unit_test(test_consult_moves),
        cmocka_unit_test(test_withdrawable),    cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_shape),           cmocka_unit_test(test_clocks),
        cmocka_unit_test(test_moves_json),      cmocka_unit_test(test_results_and_handling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

"""The staff API over HTTP through nginx: every endpoint without a token
(401) and with too low a role (403); a complaint taken from submitted to
closed with its history and every deadline checked against an independent
working-day calculation (holidays, make-up days, extension); illegal
moves (409 with the allowed moves); assignment and the cross-region flag;
notes; extensions; the overdue filter and the digest; the audit log; the
public lookup's deadline; a case created through the real intake API."""

import datetime as dt
import json
import unittest
import uuid
from urllib.parse import quote

from harness import StackCase
from staff_util import (PREFIX, Tokens, WorkCal, auth, bj_date, case_commands, case_id,
                        complaint_answers, consult_answers, ms_at, redis_pipeline)

TOKENS = Tokens()
CAL = WorkCal()

# (method, path, least role, body) of every staff endpoint of this issue.
CASE = "TS20260921-0001"
ENDPOINTS = [
    ("GET", "/api/admin/me", "viewer", None),
    ("GET", "/api/admin/workflow", "viewer", None),
    ("GET", "/api/admin/cases", "viewer", None),
    # Unmasked exports need a handler; a viewer may export masked (issue 12 item 9).
    ("GET", "/api/admin/cases.csv", "handler", None),
    ("GET", "/api/admin/cases.jsonl", "handler", None),
    ("GET", "/api/admin/cases.csv?masked=1", "viewer", None),
    ("GET", "/api/admin/cases.jsonl?masked=1", "viewer", None),
    ("GET", "/api/admin/cases/" + CASE, "viewer", None),
    ("GET", "/api/admin/stats", "viewer", None),
    ("GET", "/api/admin/digest", "viewer", None),
    ("POST", "/api/admin/cases/%s/transitions" % CASE, "handler", {"to": "accepted"}),
    ("POST", "/api/admin/cases/%s/notes" % CASE, "handler", {"text": "备注"}),
    ("POST", "/api/admin/cases/%s/assign" % CASE, "handler", {"handler": "hd1"}),
    ("POST", "/api/admin/cases/%s/extension" % CASE, "handler", {"days": 60, "reason": "复杂"}),
    ("GET", "/api/admin/audit", "admin", None),
]
ROLE_TOKEN = {"viewer": TOKENS.viewer, "handler": TOKENS.handler, "admin": TOKENS.admin}
LOWER = {"handler": "viewer", "admin": "handler"}


class StaffBase(StackCase):
    STACK_ARGS = {"ini": TOKENS.ini()}

    def call(self, method, path, token=None, body=None, now=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if now is not None:
            h["X-Debug-Now-Ms"] = str(now)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            h["Content-Type"] = "application/json"
        return self.stack.request(method, path, body=data, headers=h)

    def move(self, cid, to, note=None, now=None, token=None, public=None, **extra):
        body = {"to": to}
        if note is not None:
            body["note"] = note
        if public is not None:
            body["public"] = public
        body.update(extra)
        return self.call("POST", "/api/admin/cases/%s/transitions" % cid,
                         token or TOKENS.handler, body, now)

    def detail(self, cid, now=None, token=None):
        r = self.call("GET", "/api/admin/cases/" + cid, token or TOKENS.viewer, now=now)
        self.assertEqual(r.status, 200, r)
        return r.json()["case"]

    def insert(self, cmds):
        redis_pipeline(self.stack, cmds)


class TestStaffAuth(StaffBase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        redis_pipeline(cls.stack, case_commands(CASE, "complaint", ms_at(2026, 9, 21),
                                                complaint_answers(1)))

    def test_no_token_401(self):
        for method, path, _, body in ENDPOINTS:
            with self.subTest(path=path, method=method):
                r = self.call(method, path, None, body)
                self.assertErrorShape(r, 401, "unauthorized")
                self.assertTrue(r.header("WWW-Authenticate", "").startswith("Bearer"))
                r = self.call(method, path, "wrong-" + TOKENS.admin, body)
                self.assertErrorShape(r, 401, "unauthorized")

    def test_wrong_role_403(self):
        for method, path, need, body in ENDPOINTS:
            if need not in LOWER:
                continue
            with self.subTest(path=path, method=method):
                r = self.call(method, path, ROLE_TOKEN[LOWER[need]], body)
                self.assertErrorShape(r, 403, "forbidden")
        # Nothing changed through the refused calls.
        self.assertEqual(self.detail(CASE)["status"], "submitted")

    def test_right_role_passes(self):
        for method, path, need, body in ENDPOINTS:
            if method != "GET":
                continue
            with self.subTest(path=path):
                r = self.call(method, path, ROLE_TOKEN[need])
                self.assertEqual(r.status, 200, r)

    def test_me(self):
        r = self.call("GET", "/api/admin/me", TOKENS.handler)
        self.assertEqual(r.json(), {"name": "hd1", "role": "handler"})

    def test_unknown_case_and_bad_input(self):
        r = self.call("GET", "/api/admin/cases/TS20990101-0001", TOKENS.viewer)
        self.assertErrorShape(r, 404, "not_found")
        r = self.call("GET", "/api/admin/cases/..%2f..%2fetc", TOKENS.viewer)
        self.assertIn(r.status, (400, 404))
        for q, field in (("type=nope", "type"), ("status=gone", "status"),
                         ("region=999999", "region"), ("from=2026-13-01", "from"),
                         ("to=yesterday", "to"), ("overdue=maybe", "overdue"),
                         ("limit=0", "limit"), ("limit=201", "limit"),
                         ("cursor=garbage", "cursor"), ("q=" + quote("长" * 51), "q"),
                         ("from=2026-10-02&to=2026-10-01", "to")):
            with self.subTest(q=q):
                r = self.call("GET", "/api/admin/cases?" + q, TOKENS.viewer)
                body = self.assertErrorShape(r, 400, r.json()["error"]["code"])
                self.assertIn(field, body["error"]["fields"])
                r = self.call("GET", "/api/admin/cases.csv?" + q, TOKENS.viewer) \
                    if field not in ("limit", "cursor") else r
                self.assertEqual(r.status, 400)
        r = self.call("POST", "/api/admin/cases/%s/transitions" % CASE, TOKENS.handler,
                      headers={"Content-Type": "text/plain"})
        self.assertErrorShape(r, 415, "unsupported_media_type")
        r = self.stack.request("POST", "/api/admin/cases/%s/transitions" % CASE,
                               body=b"{not json", headers=auth(TOKENS.handler,
                                                               **{"Content-Type":
                                                                  "application/json"}))
        self.assertErrorShape(r, 400, "malformed_json")
        r = self.call("POST", "/api/admin/cases/%s/transitions" % CASE, TOKENS.handler, [1])
        self.assertErrorShape(r, 400, "malformed_json")
        r = self.call("POST", "/api/admin/cases/%s/transitions" % CASE, TOKENS.handler,
                      {"to": 5})
        self.assertErrorShape(r, 422, "validation_failed")
        r = self.call("POST", "/api/admin/cases/%s/transitions" % CASE, TOKENS.handler,
                      {"to": "accepted", "note": "长" * 2001})
        self.assertErrorShape(r, 422, "validation_failed")
        r = self.call("DELETE", "/api/admin/cases/" + CASE, TOKENS.admin)
        self.assertErrorShape(r, 405, "method_not_allowed")


class TestComplaintFlow(StaffBase, unittest.TestCase):
    """Submitted on Mon 2026-09-21, through the Mid-Autumn and National Day
    holidays (with the make-up Sunday 9/20 behind it and Saturday 10/10
    ahead), to closed on 11/25."""

    CID = "TS20260921-0007"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        a = complaint_answers(7, respondent_region="510700")
        redis_pipeline(cls.stack, case_commands(cls.CID, "complaint", ms_at(2026, 9, 21), a,
                                                source="chat:telegram:42"))

    def expect_deadline(self, dl, clock, start, due, today, workdays=True):
        self.assertIsNotNone(dl)
        self.assertEqual(dl["clock"], clock)
        self.assertEqual(dl["start"], start.isoformat())
        self.assertEqual(dl["due"], due.isoformat())
        self.assertEqual(dl["unit"], "workdays" if workdays else "days")
        left = CAL.workdays_between(today, due) if workdays else (due - today).days
        self.assertEqual(dl["days_left"], left)
        self.assertEqual(dl["overdue"], today > due)

    def test_full_complaint(self):
        cid = self.CID
        D = dt.date
        events_before = self.stack.redis_command("XLEN", PREFIX + "events")

        # Review: 10 working days from submission.
        now = ms_at(2026, 9, 22)
        c = self.detail(cid, now, TOKENS.handler)
        due = CAL.add_workdays(D(2026, 9, 21), 10)
        self.assertEqual(due, D(2026, 10, 12))  # the calculator agrees with the notice
        self.expect_deadline(c["deadline"], "review", D(2026, 9, 21), due, D(2026, 9, 22))
        self.assertEqual(c["mobile"], "13812345678")  # unmasked for staff
        self.assertEqual(c["office"], "510700")
        self.assertEqual([m["to"] for m in c["allowed_moves"]],
                         ["needs_info", "accepted", "rejected", "withdrawn"])

        # More material needed: the review clock pauses; the enterprise's
        # date runs instead (7 working days by default).
        r = self.move(cid, "needs_info", "请补充合同和验收单", now, message="请补充合同和验收单")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["case"]["deadline"]["clock"], "supply")
        self.assertEqual(r.json()["case"]["deadline"]["due"],
                         CAL.add_workdays(D(2026, 9, 22), 7).isoformat())

        # Material back on 9/28: the review deadline moves by the working
        # days waited.
        now = ms_at(2026, 9, 28)
        waited = CAL.workdays_between(D(2026, 9, 22), D(2026, 9, 28))
        r = self.move(cid, "submitted", "已补充", now)
        self.assertEqual(r.status, 200, r)
        self.expect_deadline(r.json()["case"]["deadline"], "review", D(2026, 9, 21),
                             CAL.add_workdays(D(2026, 9, 21), 10 + waited), D(2026, 9, 28))
        self.assertEqual(r.json()["case"]["history"][-1]["waited_workdays"], waited)

        # Accepted 9/30: transfer within 10 working days.
        now = ms_at(2026, 9, 30)
        r = self.move(cid, "accepted", None, now)
        self.assertEqual(r.status, 200, r)
        self.expect_deadline(r.json()["case"]["deadline"], "transfer", D(2026, 9, 30),
                             CAL.add_workdays(D(2026, 9, 30), 10), D(2026, 9, 30))
        self.assertEqual(r.json()["case"]["deadline"]["due"], "2026-10-20")

        # Transferred 10/9: a written result within 30 days (11/8 is a
        # Sunday: the next working day).
        now = ms_at(2026, 10, 9)
        r = self.move(cid, "transferred", "转成都市经信局办理", now, department="city_jxj")
        self.assertEqual(r.status, 200, r)
        due = CAL.next_workday(D(2026, 10, 9) + dt.timedelta(days=30))
        self.assertEqual(due, D(2026, 11, 9))
        self.expect_deadline(r.json()["case"]["deadline"], "answer", D(2026, 10, 9), due,
                             D(2026, 10, 9), workdays=False)

        # Extension to 60 days with a reason.
        now = ms_at(2026, 10, 20)
        r = self.call("POST", "/api/admin/cases/%s/extension" % cid, TOKENS.handler,
                      {"days": 60, "reason": "涉及多个部门，情况复杂"}, now)
        self.assertEqual(r.status, 200, r)
        dl = r.json()["case"]["deadline"]
        self.assertTrue(dl["extended"])
        self.assertEqual(dl["limit"], 60)
        self.assertEqual(dl["due"], CAL.next_workday(D(2026, 10, 9) +
                                                     dt.timedelta(days=60)).isoformat())

        now = ms_at(2026, 10, 21)
        self.assertEqual(self.move(cid, "in_progress", None, now).status, 200)
        self.assertEqual(self.detail(cid, now)["deadline"]["due"], "2026-12-08")

        now = ms_at(2026, 11, 20)
        r = self.move(cid, "answered", "已督促对方于 11 月 30 日前付款", now, result="plan_agreed",
                      recovered="0")
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.json()["case"]["deadline"])
        self.assertEqual(self.stack.redis_command("HGET", PREFIX + "case:" + cid,
                                                  "answered_on_time"), "1")

        now = ms_at(2026, 11, 25)
        r = self.move(cid, "closed", None, now, result="paid_full", recovered_fen=123456)
        self.assertEqual(r.status, 200, r)
        c = r.json()["case"]
        self.assertEqual(c["status"], "closed")
        self.assertEqual(c["allowed_moves"], [])
        statuses = [h["to"] for h in c["history"] if h["kind"] == "status"]
        self.assertEqual(statuses, ["submitted", "needs_info", "submitted", "accepted",
                                    "transferred", "in_progress", "answered", "closed"])
        kinds = [h["kind"] for h in c["history"]]
        self.assertIn("extension", kinds)
        by = {h["by"] for h in c["history"][1:]}
        self.assertEqual(by, {"hd1"})
        self.assertEqual(c["history"][-1]["at"], "2026-11-25T10:00:00+08:00")
        self.assertEqual(self.stack.redis_command("ZSCORE", PREFIX + "cases:due", cid), None)
        self.assertEqual(self.stack.redis_command("ZSCORE", PREFIX + "cases:status:closed",
                                                  cid), str(ms_at(2026, 9, 21)))
        self.assertIsNone(self.stack.redis_command("ZSCORE", PREFIX + "cases:status:submitted",
                                                   cid))

        # One case_status event per move, with the chat source for the bot.
        events = self.stack.redis_command("XRANGE", PREFIX + "events", "-", "+")
        mine = [dict(zip(e[1][::2], e[1][1::2])) for e in events]
        mine = [e for e in mine if e.get("type") == "case_status" and e.get("id") == cid]
        self.assertEqual(len(mine), 7)
        self.assertEqual(self.stack.redis_command("XLEN", PREFIX + "events") - events_before, 7)
        self.assertEqual(mine[-1]["to"], "closed")
        self.assertEqual(mine[-1]["source"], "chat:telegram:42")
        self.assertEqual(mine[0]["note"], "请补充合同和验收单")

        # The complainant's lookup shows status changes with public notes only.
        r = self.stack.request("POST", "/api/cases/%s/lookup" % cid,
                               body=json.dumps({"mobile": "13812345678"}),
                               headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r)
        pub = r.json()["case"]
        self.assertEqual([h["status"] for h in pub["history"]], statuses)
        self.assertIsNone(pub["deadline"])
        self.assertNotIn("13812345678", r.body.decode())

    def test_illegal_move_409(self):
        cid = "TS20260921-0008"
        self.insert(case_commands(cid, "complaint", ms_at(2026, 9, 21), complaint_answers(8)))
        r = self.move(cid, "closed", "直接办结")
        body = self.assertErrorShape(r, 409, "illegal_transition")
        self.assertEqual(body["error"]["status"], "submitted")
        self.assertEqual([m["to"] for m in body["error"]["allowed"]],
                         ["needs_info", "accepted", "rejected", "withdrawn"])
        self.assertTrue(all(m["action"] for m in body["error"]["allowed"]))
        # A status of the other machine, and one that does not exist.
        self.assertEqual(self.move(cid, "assigned", "x").status, 409)
        self.assertErrorShape(self.move(cid, "nonsense"), 422, "validation_failed")
        # A note is required to refuse.
        r = self.move(cid, "rejected")
        body = self.assertErrorShape(r, 422, "validation_failed")
        self.assertIn("note", body["error"]["fields"])
        self.assertEqual(self.move(cid, "rejected", "   ").status, 422)
        # Admin-only: undoing a refusal.
        self.assertEqual(self.move(cid, "rejected", "不属于受理范围").status, 200)
        self.assertErrorShape(self.move(cid, "submitted", "复核"), 403, "forbidden")
        r = self.move(cid, "submitted", "复核后撤销", token=TOKENS.admin)
        self.assertEqual(r.status, 200, r)
        # The same move twice: the second is illegal now.
        self.assertEqual(self.move(cid, "accepted").status, 200)
        body = self.assertErrorShape(self.move(cid, "accepted"), 409, "illegal_transition")
        self.assertEqual(body["error"]["status"], "accepted")
        self.assertEqual(self.detail(cid)["status"], "accepted")

    def test_concurrent_moves_one_wins(self):
        import threading
        cid = "TS20260921-0009"
        self.insert(case_commands(cid, "complaint", ms_at(2026, 9, 21), complaint_answers(9)))
        results = []

        def go(to, note):
            results.append(self.move(cid, to, note).status)

        # "accepted" is legal only from "submitted": exactly one can win.
        ts = [threading.Thread(target=go, args=("accepted", "理由")) for _ in range(12)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(results.count(200), 1, results)
        self.assertEqual(results.count(409), len(ts) - 1, results)
        c = self.detail(cid)
        self.assertEqual(len([h for h in c["history"] if h["kind"] == "status"]), 2)

    def test_assign_cross_region_and_notes(self):
        cid = "TS20260921-0010"
        self.insert(case_commands(cid, "complaint", ms_at(2026, 9, 21),
                                  complaint_answers(10, respondent_region="500000")))
        c = self.detail(cid)
        self.assertEqual(c["office"], "510000")
        self.assertEqual(c["cross_region"]["partner"], "500000")
        self.assertEqual(c["cross_region"]["channel"], "川渝跨区域协作")
        r = self.call("POST", "/api/admin/cases/%s/assign" % cid, TOKENS.handler,
                      {"handler": "hd2"})
        self.assertEqual(r.status, 200, r)
        c = r.json()["case"]
        self.assertEqual((c["handler"], c["office"], c["office_assigned"]), ("hd2", "510000", True))
        self.assertEqual(c["cross_region"]["partner"], "500000")
        self.assertEqual(c["status"], "submitted")
        self.assertEqual(c["history"][-1]["kind"], "assign")
        # An explicit office; unknown handler and office refused.
        r = self.call("POST", "/api/admin/cases/%s/assign" % cid, TOKENS.handler,
                      {"office": "510100"})
        self.assertEqual(r.json()["case"]["office"], "510100")
        self.assertEqual(r.json()["case"]["handler"], "hd2")
        for body, field in (({"handler": "look"}, "handler"), ({"handler": "nobody"}, "handler"),
                            ({"office": "500000"}, "office"), ({"office": "12"}, "office")):
            r = self.call("POST", "/api/admin/cases/%s/assign" % cid, TOKENS.handler, body)
            self.assertIn(field, self.assertErrorShape(r, 422, "validation_failed")
                          ["error"]["fields"])
        # The list filter on handler.
        r = self.call("GET", "/api/admin/cases?handler=hd2", TOKENS.viewer)
        self.assertEqual([x["id"] for x in r.json()["cases"]], [cid])
        # Internal notes: not in the public history.
        r = self.call("POST", "/api/admin/cases/%s/notes" % cid, TOKENS.handler,
                      {"text": "已电话联系企业"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["note"]["by"], "hd1")
        for bad in ({}, {"text": ""}, {"text": "  \n"}, {"text": 3}, {"text": "长" * 2001}):
            r = self.call("POST", "/api/admin/cases/%s/notes" % cid, TOKENS.handler, bad)
            self.assertErrorShape(r, 422, "validation_failed")
        r = self.call("POST", "/api/admin/cases/TS20990101-0001/notes", TOKENS.handler,
                      {"text": "x"})
        self.assertErrorShape(r, 404, "not_found")
        c = self.detail(cid)
        self.assertEqual([n["text"] for n in c["notes"]], ["已电话联系企业"])

    def test_consult_assign_moves_it(self):
        cid = "ZX20260921-0001"
        self.insert(case_commands(cid, "consult", ms_at(2026, 9, 21), consult_answers(1),
                                  region="510700"))
        r = self.call("POST", "/api/admin/cases/%s/assign" % cid, TOKENS.handler,
                      {"handler": "hd1"})
        self.assertEqual(r.status, 200, r)
        c = r.json()["case"]
        self.assertEqual(c["status"], "assigned")
        self.assertEqual(c["office"], "510700")
        self.assertIsNone(c["deadline"])
        self.assertEqual(self.move(cid, "answered").status, 422)  # needs the answer
        self.assertEqual(self.move(cid, "answered", "可按季度申报减免").status, 200)
        self.assertEqual(self.move(cid, "closed").status, 200)

    def test_extension_rules(self):
        cid = "TS20260921-0011"
        self.insert(case_commands(cid, "complaint", ms_at(2026, 9, 21), complaint_answers(11)))
        url = "/api/admin/cases/%s/extension" % cid
        r = self.call("POST", url, TOKENS.handler, {"days": 60, "reason": "复杂"})
        self.assertErrorShape(r, 409, "illegal_transition")  # not transferred yet
        self.move(cid, "accepted")
        self.move(cid, "transferred", "转办", department="city_jxj")
        for body in ({"days": 30, "reason": "复杂"}, {"days": 91, "reason": "复杂"},
                     {"days": "60", "reason": "复杂"}, {"days": 60}, {"days": 60, "reason": "x"}):
            r = self.call("POST", url, TOKENS.handler, body)
            self.assertErrorShape(r, 422, "validation_failed")
        r = self.call("POST", url, TOKENS.handler, {"days": 90, "reason": "需要现场核实"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["case"]["deadline"]["limit"], 90)


class TestOverdueDigestAudit(StaffBase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cmds = []
        # Old: review due long ago. Fresh: due in the future. Consult: none.
        cmds += case_commands("TS20260105-0001", "complaint", ms_at(2026, 1, 5),
                              complaint_answers(1))
        cmds += case_commands("TS20260302-0001", "complaint", ms_at(2026, 3, 2),
                              complaint_answers(2, respondent_region="510700"))
        cmds += case_commands("ZX20260105-0001", "consult", ms_at(2026, 1, 5), consult_answers(1))
        cmds += case_commands("TS20260106-0001", "complaint", ms_at(2026, 1, 6),
                              complaint_answers(3, respondent_region="500000"))
        redis_pipeline(cls.stack, cmds)

    def test_overdue_filter_and_digest(self):
        now = ms_at(2026, 3, 3)
        r = self.call("GET", "/api/admin/cases?overdue=1", TOKENS.viewer, now=now)
        self.assertEqual(r.status, 200, r)
        ids = [c["id"] for c in r.json()["cases"]]
        self.assertEqual(ids, ["TS20260106-0001", "TS20260105-0001"])
        for c in r.json()["cases"]:
            self.assertTrue(c["deadline"]["overdue"])
        # Moving one on: it is no longer overdue (a new clock starts now).
        self.assertEqual(self.move("TS20260105-0001", "accepted", None, now).status, 200)
        r = self.call("GET", "/api/admin/cases?overdue=1", TOKENS.viewer, now=now)
        self.assertEqual([c["id"] for c in r.json()["cases"]], ["TS20260106-0001"])
        # Ten working days later the transfer is overdue too (explicit index).
        later = ms_at(2026, 3, 18)
        r = self.call("GET", "/api/admin/cases?overdue=1&type=complaint", TOKENS.viewer,
                      now=later)
        self.assertEqual(set(c["id"] for c in r.json()["cases"]),
                         {"TS20260106-0001", "TS20260105-0001", "TS20260302-0001"})

        # The digest on 3/13: the cross-region one overdue at the provincial
        # desk, the accepted one due within two working days (3/17), the
        # 3/2 case due 3/16.
        r = self.call("GET", "/api/admin/digest?date=2026-03-13", TOKENS.viewer)
        self.assertEqual(r.status, 200, r)
        d = r.json()["digest"]
        offices = {o["office"]: o for o in d["offices"]}
        self.assertEqual([o["office"] for o in d["offices"]], ["510100", "510700", "510000"])
        self.assertEqual([c["id"] for c in offices["510000"]["overdue"]], ["TS20260106-0001"])
        self.assertEqual(offices["510000"]["overdue"][0]["cross_region"]["partner"], "500000")
        self.assertEqual([c["id"] for c in offices["510100"]["due_soon"]], ["TS20260105-0001"])
        self.assertEqual(offices["510100"]["due_soon"][0]["due"],
                         CAL.add_workdays(dt.date(2026, 3, 3), 10).isoformat())
        self.assertEqual([c["id"] for c in offices["510700"]["due_soon"]], ["TS20260302-0001"])
        self.assertEqual((d["total_overdue"], d["total_due_soon"]), (1, 2))
        self.assertIn("TS20260106-0001", r.json()["text"])
        self.assertIn("已逾期", r.json()["text"])
        # A day with nothing due.
        r = self.call("GET", "/api/admin/digest?date=2026-01-06", TOKENS.viewer)
        self.assertEqual(r.json()["digest"]["offices"], [])
        self.assertIn("没有", r.json()["text"])

    def test_audit_log(self):
        marker = uuid.uuid4().hex[:8]
        self.call("POST", "/api/admin/cases/TS20260302-0001/notes", TOKENS.handler,
                  {"text": "审计 " + marker})
        # The address is REMOTE_ADDR, whatever X-Forwarded-For says (a
        # front proxy is trusted through nginx's real_ip only).
        self.call("GET", "/api/admin/cases/TS20260302-0001", TOKENS.viewer,
                  headers={"X-Forwarded-For": "<script>"})
        self.call("GET", "/api/admin/cases/TS20260302-0001", TOKENS.viewer,
                  headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
        r = self.call("GET", "/api/admin/audit?limit=5", TOKENS.admin)
        self.assertEqual(r.status, 200, r)
        entries = r.json()["entries"]
        self.assertEqual(entries[0]["action"], "case_view")
        self.assertEqual(entries[0]["who"], "look")
        self.assertEqual(entries[0]["role"], "viewer")
        self.assertEqual(entries[0]["addr"], "127.0.0.1")
        self.assertEqual(entries[1]["addr"], "127.0.0.1")
        entries = entries[1:]
        self.assertEqual(entries[1]["action"], "case_note")
        self.assertEqual(entries[1]["addr"], "127.0.0.1")
        self.assertEqual(entries[1]["who"], "hd1")
        self.assertEqual(entries[1]["target"], "TS20260302-0001")
        # Paging backwards.
        r2 = self.call("GET", "/api/admin/audit?limit=1&before=" + entries[0]["id"], TOKENS.admin)
        self.assertEqual(r2.json()["entries"][0]["id"], entries[1]["id"])
        # No staff endpoint writes or deletes audit entries.
        for method in ("POST", "PUT", "DELETE"):
            self.assertEqual(self.call(method, "/api/admin/audit", TOKENS.admin).status, 405)


class TestIdempotencyKey(StaffBase, unittest.TestCase):
    """An Idempotency-Key on a staff change: recorded by the change itself,
    so a retry of a change whose answer was lost (e.g. 503 after the write,
    no replica in time) gets the first success back instead of 409, and a
    repeated note is added once."""

    def new_case(self, n):
        cid = "TS20261105-%04d" % n
        self.insert(case_commands(cid, "complaint", ms_at(2026, 11, 5), complaint_answers(n)))
        return cid

    def keyed(self, cid, what, body, key, token=None):
        return self.call("POST", "/api/admin/cases/%s/%s" % (cid, what), token or TOKENS.handler,
                         body, headers={"Idempotency-Key": key})

    def statuses(self, cid):
        return [h["to"] for h in self.detail(cid)["history"] if h["kind"] == "status"]

    def counts(self):
        """(audit entries, events); reading a case adds an audit entry."""
        return (self.stack.redis_command("XLEN", PREFIX + "audit"),
                self.stack.redis_command("XLEN", PREFIX + "events"))

    def test_transition_retried_is_replayed(self):
        cid = self.new_case(1)
        key = uuid.uuid4().hex
        r = self.keyed(cid, "transitions", {"to": "accepted", "note": "予以受理"}, key)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.header("Idempotent-Replayed"))
        first = r.json()["case"]
        before = self.counts()
        # The client never saw that answer and retries: the same success,
        # marked, and nothing written (no 409, no second history entry).
        r = self.keyed(cid, "transitions", {"to": "accepted", "note": "予以受理"}, key)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Idempotent-Replayed"), "true")
        self.assertEqual(r.json()["case"]["status"], "accepted")
        self.assertEqual(self.counts(), before)  # no audit entry, no event
        self.assertEqual(r.json()["case"]["history"], first["history"])
        self.assertEqual(self.statuses(cid), ["submitted", "accepted"])
        # Recorded under the staff member, the action and the case, for a day.
        rkey = "%sidem:staff:hd1:case_transition:%s:%s" % (PREFIX, cid, key)
        self.assertEqual(self.stack.redis_command("GET", rkey), "1")
        ttl = self.stack.redis_command("TTL", rkey)
        self.assertTrue(86000 < ttl <= 86400, ttl)
        # Without the header the same move is illegal, as before.
        self.assertErrorShape(self.move(cid, "accepted"), 409, "illegal_transition")

    def test_key_scoped_by_case_and_staff(self):
        a, b = self.new_case(2), self.new_case(3)
        key = "shared-key-0001"
        self.assertEqual(self.keyed(a, "transitions", {"to": "accepted"}, key).status, 200)
        # The same key on another case is another change.
        r = self.keyed(b, "transitions", {"to": "accepted"}, key)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.header("Idempotent-Replayed"))
        self.assertEqual(self.statuses(b), ["submitted", "accepted"])
        # By another staff member on the same case: not a replay of hd1's
        # move, so the workflow answers (the move is done already).
        r = self.keyed(a, "transitions", {"to": "accepted"}, key, TOKENS.handler2)
        self.assertErrorShape(r, 409, "illegal_transition")
        self.assertIsNone(r.header("Idempotent-Replayed"))
        r = self.keyed(a, "transitions", {"to": "transferred", "note": "转办",
                                          "department": "city_jxj"}, key, TOKENS.handler2)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.header("Idempotent-Replayed"))
        self.assertEqual(self.statuses(a), ["submitted", "accepted", "transferred"])

    def test_failed_change_records_no_key(self):
        cid = self.new_case(4)
        key = uuid.uuid4().hex
        # Illegal (409) and invalid (422) attempts make no change: the key
        # stays unused and a later good request with it goes through.
        self.assertEqual(self.keyed(cid, "transitions", {"to": "closed"}, key).status, 409)
        self.assertEqual(self.keyed(cid, "transitions", {"to": "rejected"}, key).status, 422)
        self.assertEqual(self.stack.redis_command(
            "KEYS", PREFIX + "idem:staff:*%s*" % key), [])
        r = self.keyed(cid, "transitions", {"to": "accepted"}, key)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.header("Idempotent-Replayed"))

    def test_note_twice_is_one_note(self):
        cid = self.new_case(5)
        key = uuid.uuid4().hex
        r = self.keyed(cid, "notes", {"text": "已电话联系企业"}, key)
        self.assertEqual(r.status, 201, r)
        note = r.json()["note"]
        before = self.counts()
        r = self.keyed(cid, "notes", {"text": "已电话联系企业"}, key)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Idempotent-Replayed"), "true")
        self.assertEqual(self.counts(), before)  # no audit entry
        self.assertEqual(r.json()["note"], note)
        self.assertEqual([n["text"] for n in self.detail(cid)["notes"]], ["已电话联系企业"])
        # A new key is a new note; no key at all too.
        self.assertEqual(self.keyed(cid, "notes", {"text": "再次联系"}, key + "x").status, 201)
        self.assertEqual(self.call("POST", "/api/admin/cases/%s/notes" % cid, TOKENS.handler,
                                   {"text": "再次联系"}).status, 201)
        self.assertEqual(len(self.detail(cid)["notes"]), 3)

    def test_assign_and_extension_replayed(self):
        cid = self.new_case(6)
        self.assertEqual(self.move(cid, "accepted").status, 200)
        self.assertEqual(self.move(cid, "transferred", "转办", department="city_jxj").status, 200)
        for what, body in (("assign", {"handler": "hd2"}),
                           ("extension", {"days": 60, "reason": "情况复杂"})):
            key = uuid.uuid4().hex
            r = self.keyed(cid, what, body, key)
            self.assertEqual(r.status, 200, r)
            n = len(r.json()["case"]["history"])
            r = self.keyed(cid, what, body, key)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header("Idempotent-Replayed"), "true")
            self.assertEqual(len(r.json()["case"]["history"]), n)
        kinds = [h["kind"] for h in self.detail(cid)["history"]]
        self.assertEqual(kinds.count("assign"), 1)
        self.assertEqual(kinds.count("extension"), 1)

    def test_bad_key_400(self):
        cid = self.new_case(7)
        for bad in ("short", "x" * 65, "has space", "colon:key1", "键键键键键键键键"):
            for what, body in (("transitions", {"to": "accepted"}), ("notes", {"text": "备注"}),
                               ("assign", {"handler": "hd2"}),
                               ("extension", {"days": 60, "reason": "情况复杂"})):
                r = self.call("POST", "/api/admin/cases/%s/%s" % (cid, what), TOKENS.handler,
                              body, headers={"Idempotency-Key": bad.encode().decode("latin-1")})
                body_ = self.assertErrorShape(r, 400, "bad_idempotency_key")
                self.assertIn("Idempotency-Key", body_["error"]["message"])
        self.assertEqual(self.detail(cid)["status"], "submitted")
        self.assertEqual(self.detail(cid)["notes"], [])
        # Authentication still comes first.
        r = self.stack.request("POST", "/api/admin/cases/%s/notes" % cid,
                               headers={"Idempotency-Key": "short"})
        self.assertEqual(r.status, 401, r)


class TestIntakeCaseInConsole(StaffBase, unittest.TestCase):
    """A case made through the real intake API is listed, handled, and its
    public lookup shows the running deadline."""

    def test_intake_case(self):
        from test_intake import Client, sample_for
        c = Client(self.stack)
        self.assertIn(c.start("complaint").status, (200, 201))
        schema = self.stack.get("/api/forms/complaint").json()
        for st in schema["steps"]:
            if st.get("review"):
                continue
            ans = {f["id"]: sample_for(f) for f in st.get("fields", [])}
            r = c.call("PUT", "/api/intake/complaint/steps/" + st["id"], {"answers": ans})
            self.assertEqual(r.status, 200, r)
        r = c.call("POST", "/api/intake/complaint/submit",
                   headers={"Idempotency-Key": uuid.uuid4().hex})
        self.assertEqual(r.status, 201, r)
        case = r.json()["case"]
        cid = case["id"]
        today = bj_date(int(__import__("time").time() * 1000))
        self.assertEqual(case["deadline"]["due"], CAL.add_workdays(today, 10).isoformat())
        r = self.call("GET", "/api/admin/cases?type=complaint&status=submitted", TOKENS.viewer)
        self.assertIn(cid, [x["id"] for x in r.json()["cases"]])
        r = self.move(cid, "accepted", "内部：已电话核实合同", message="予以受理")
        self.assertEqual(r.status, 200, r)
        r = self.stack.request("POST", "/api/cases/%s/lookup" % cid,
                               body=json.dumps({"mobile": "13812345678"}),
                               headers={"Content-Type": "application/json"})
        pub = r.json()["case"]
        self.assertEqual(pub["status"], "accepted")
        self.assertEqual(pub["deadline"]["clock"], "transfer")
        self.assertEqual(pub["deadline"]["due"], CAL.add_workdays(today, 10).isoformat())
        self.assertEqual(pub["history"][-1]["note"], "予以受理")
        self.assertNotIn("内部", r.body.decode())


if __name__ == "__main__":
    unittest.main()

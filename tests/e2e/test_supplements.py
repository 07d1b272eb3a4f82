"""Requests for more material (issue 15) through nginx: staff move a
complaint to needs_info with a public message listing what is missing and a
date to supply it (the default from [workflow] supplement_days); the
detail, the list and the public lookup show them, and a date that has
passed is marked for staff; the review clock pauses while the office waits
(or restarts, by setting), and the days waited show in the history."""

import datetime as dt
import json
import unittest

from harness import StackCase
from staff_util import (PREFIX, Tokens, WorkCal, case_commands, complaint_answers, ms_at,
                        redis_pipeline)

TOKENS = Tokens()
MOBILE = "13812345678"
CAL = WorkCal()
D = dt.date


class SupplementBase(StackCase):
    STACK_ARGS = {"ini": TOKENS.ini()}

    def call(self, method, path, token=None, body=None, now=None):
        h = {"Authorization": "Bearer " + (token or TOKENS.handler)}
        if now is not None:
            h["X-Debug-Now-Ms"] = str(now)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            h["Content-Type"] = "application/json"
        return self.stack.request(method, path, body=data, headers=h)

    def move(self, cid, to, now=None, **body):
        body["to"] = to
        return self.call("POST", "/api/admin/cases/%s/transitions" % cid, body=body, now=now)

    def detail(self, cid, now=None):
        r = self.call("GET", "/api/admin/cases/" + cid, now=now)
        self.assertEqual(r.status, 200, r)
        return r.json()["case"]

    def add(self, cid, created, **over):
        redis_pipeline(self.stack, case_commands(cid, "complaint", created,
                                                 complaint_answers(int(cid[-1]), **over)))

    def lookup(self, cid):
        r = self.stack.request("POST", "/api/cases/%s/lookup" % cid,
                               body=json.dumps({"mobile": MOBILE}),
                               headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r)
        return r.json()["case"]


class TestStaffRequest(SupplementBase, unittest.TestCase):
    def test_message_required_and_default_date(self):
        cid = "TS20261201-0001"
        self.add(cid, ms_at(2026, 12, 1))
        now = ms_at(2026, 12, 2)
        # No message for the enterprise: refused, naming the field.
        r = self.move(cid, "needs_info", note="材料不全", now=now)
        body = self.assertErrorShape(r, 422, "validation_failed")
        self.assertIn("message", body["error"]["fields"])
        self.assertIn("补充", body["error"]["fields"]["message"])
        r = self.move(cid, "needs_info", message="   ", now=now)
        self.assertErrorShape(r, 422, "validation_failed")
        # Bad dates: not a date, today, in the past, too far, on another move.
        for bad in ("2026-12-32", "20261210", "2026-12-02", "2026-11-30", "2027-06-01"):
            r = self.move(cid, "needs_info", message="请补充合同", supply_by=bad, now=now)
            body = self.assertErrorShape(r, 422, "validation_failed")
            self.assertIn("supply_by", body["error"]["fields"], bad)
        r = self.move(cid, "accepted", supply_by="2026-12-20", now=now)
        self.assertErrorShape(r, 422, "validation_failed")
        self.assertEqual(self.detail(cid)["status"], "submitted")

        # The message alone: the date defaults to 7 working days on.
        r = self.move(cid, "needs_info", message="请补充：1. 合同；2. 验收单。", now=now)
        self.assertEqual(r.status, 200, r)
        c = r.json()["case"]
        due = CAL.add_workdays(D(2026, 12, 2), 7)
        h = c["history"][-1]
        self.assertEqual((h["to"], h["message"], h["public"], h["supply_by"]),
                         ("needs_info", "请补充：1. 合同；2. 验收单。", True, due.isoformat()))
        self.assertEqual(c["deadline"]["clock"], "supply")
        self.assertEqual(c["deadline"]["what"], "补充材料期限")
        self.assertEqual(c["deadline"]["due"], due.isoformat())
        sup = c["supplement"]
        self.assertEqual((sup["message"], sup["supply_by"], sup["overdue"]),
                         ("请补充：1. 合同；2. 验收单。", due.isoformat(), False))
        # Stored on the case: the list's deadline fields carry the date.
        self.assertEqual(self.stack.redis_command("HGET", PREFIX + "case:" + cid, "due_date"),
                         due.isoformat())
        # The enterprise reads the message and the date.
        pub = self.lookup(cid)
        self.assertEqual(pub["status"], "needs_info")
        self.assertEqual(pub["history"][-1]["note"], "请补充：1. 合同；2. 验收单。")
        self.assertEqual(pub["supplement"]["supply_by"], due.isoformat())
        self.assertEqual(pub["supplement"]["message"], "请补充：1. 合同；2. 验收单。")

    def test_explicit_date_and_overdue(self):
        cid = "TS20261201-0002"
        self.add(cid, ms_at(2026, 12, 1))
        r = self.move(cid, "needs_info", message="请补充对账单", supply_by="2026-12-04",
                      now=ms_at(2026, 12, 2))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["case"]["supplement"]["supply_by"], "2026-12-04")
        self.assertEqual(r.json()["case"]["deadline"]["due"], "2026-12-04")
        # On the day: still on time.
        c = self.detail(cid, ms_at(2026, 12, 4))
        self.assertFalse(c["supplement"]["overdue"])
        self.assertFalse(c["deadline"]["overdue"])
        # The day after: the date has passed, in the detail and the list.
        later = ms_at(2026, 12, 8)
        c = self.detail(cid, later)
        self.assertTrue(c["supplement"]["overdue"])
        self.assertEqual(c["supplement"]["waiting_workdays"],
                         CAL.workdays_between(D(2026, 12, 2), D(2026, 12, 8)))
        r = self.call("GET", "/api/admin/cases?status=needs_info", now=later)
        self.assertEqual(r.status, 200, r)
        row = [x for x in r.json()["cases"] if x["id"] == cid][0]
        self.assertEqual((row["deadline"]["clock"], row["deadline"]["overdue"]), ("supply", True))
        # The overdue filter finds it.
        r = self.call("GET", "/api/admin/cases?overdue=1", now=later)
        self.assertIn(cid, [x["id"] for x in r.json()["cases"]])

    def test_pause_moves_review_deadline(self):
        cid = "TS20261201-0003"
        self.add(cid, ms_at(2026, 12, 1))
        self.assertEqual(self.move(cid, "needs_info", message="请补充合同",
                                   now=ms_at(2026, 12, 3)).status, 200)
        r = self.move(cid, "submitted", message="已收到补充材料", now=ms_at(2026, 12, 9))
        self.assertEqual(r.status, 200, r)
        c = r.json()["case"]
        waited = CAL.workdays_between(D(2026, 12, 3), D(2026, 12, 9))
        self.assertEqual(waited, 4)
        self.assertEqual(c["history"][-1]["waited_workdays"], waited)
        self.assertEqual(c["deadline"]["clock"], "review")
        self.assertEqual(c["deadline"]["start"], "2026-12-01")
        self.assertEqual(c["deadline"]["paused_workdays"], waited)
        self.assertEqual(c["deadline"]["due"],
                         CAL.add_workdays(D(2026, 12, 1), 10 + waited).isoformat())
        self.assertIsNone(c["supplement"])
        self.assertEqual(self.stack.redis_command("HGET", PREFIX + "case:" + cid, "due_date"),
                         c["deadline"]["due"])


class TestRestartSetting(SupplementBase, unittest.TestCase):
    STACK_ARGS = {"ini": dict(TOKENS.ini(), workflow={"supplement_clock": "restart",
                                                      "supplement_days": "3"})}

    def test_restart(self):
        cid = "TS20261201-0004"
        self.add(cid, ms_at(2026, 12, 1))
        r = self.move(cid, "needs_info", message="请补充合同", now=ms_at(2026, 12, 3))
        self.assertEqual(r.json()["case"]["supplement"]["supply_by"],
                         CAL.add_workdays(D(2026, 12, 3), 3).isoformat())
        r = self.move(cid, "submitted", now=ms_at(2026, 12, 9))
        self.assertEqual(r.status, 200, r)
        dl = r.json()["case"]["deadline"]
        self.assertEqual(dl["start"], "2026-12-09")
        self.assertEqual(dl["due"], CAL.add_workdays(D(2026, 12, 9), 10).isoformat())
        self.assertNotIn("paused_workdays", dl)


if __name__ == "__main__":
    unittest.main()

"""Requests for more material (issue 15) through nginx: staff move a
complaint to needs_info with a public message listing what is missing and a
date to supply it (the default from [workflow] supplement_days); the
detail, the list and the public lookup show them, and a date that has
passed is marked for staff; the review clock pauses while the office waits
(or restarts, by setting), and the days waited show in the history. The
enterprise answers on the lookup page after proving the case's mobile by
SMS code: files uploaded for the case (POST /api/cases/{id}/files) and a
text (POST /api/cases/{id}/supplements) join the case and its history, and
the case goes back to the handler's queue in one step; staff download the
new files; uploads never sent are swept with their session. The request
reaches the enterprise: the progress SMS carries the date, and a chat-filed
case's chat message carries the message and the date."""

import datetime as dt
import hashlib
import json
import os
import unittest
import urllib.parse

from harness import StackCase
from staff_util import (PREFIX, Tokens, WorkCal, case_commands, complaint_answers, ms_at,
                        redis_pipeline)
from bot_util import add_target
from test_files import jpeg, pdf
from test_sms_code import ROOMY, SMS_ON, CodeClient
from test_sms_progress import ProgressBase, stack_args

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


ANSWER_INI = dict(TOKENS.ini(), verify=dict(ROOMY, supplement=True), **SMS_ON)


class AnswerBase(SupplementBase):
    STACK_ARGS = {"fake": True, "ini": ANSWER_INI}

    def waiting(self, cid, mobile=MOBILE):
        redis_pipeline(self.stack, case_commands(cid, "complaint", ms_at(2026, 12, 1),
                                                 complaint_answers(int(cid[-1])), mobile=mobile))
        r = self.move(cid, "needs_info", message="请补充：盖章的合同。")
        self.assertEqual(r.status, 200, r)

    def client(self):
        c = CodeClient(self.stack)
        c.open()
        return c

    def upload(self, c, cid, data, kind="contract", name="补充合同.pdf"):
        return c.call("POST", "/api/cases/%s/files?kind=%s" % (cid, kind), raw=data,
                      headers={"Content-Type": "application/octet-stream",
                               "X-File-Name": urllib.parse.quote(name)})

    def answer(self, c, cid, **body):
        return c.call("POST", "/api/cases/%s/supplements" % cid, body)

    def store_path(self, fid):
        return os.path.join(self.stack.ini["files"]["dir"], fid[:2], fid)

    def pending(self):
        return [m.decode() if isinstance(m, bytes) else m
                for m in self.stack.redis_command("ZRANGE", PREFIX + "files:pending", 0, -1)]


class TestAnswer(AnswerBase, unittest.TestCase):
    def test_verified_answer_goes_back_to_the_queue(self):
        cid = "TS20261201-0005"
        self.waiting(cid)
        c = self.client()
        body = pdf(4000)
        # Not proved yet: refused, in Chinese.
        err = self.assertErrorShape(self.upload(c, cid, body), 403, "mobile_unverified")
        self.assertIn("验证码", err["error"]["message"])
        self.assertErrorShape(self.answer(c, cid, text="已补充"), 403, "mobile_unverified")
        # Another number proved: the same refusal.
        c.prove(self, "13900000009", "supplement")
        self.assertErrorShape(self.upload(c, cid, body), 403, "mobile_unverified")
        # Proved for another purpose: not enough.
        c.prove(self, MOBILE, "lookup")
        self.assertErrorShape(self.answer(c, cid, text="已补充"), 403, "mobile_unverified")
        c.prove(self, MOBILE, "supplement")
        # Without the page's token: refused.
        r = c.call("POST", "/api/cases/%s/supplements" % cid, {"text": "x"}, csrf=False)
        self.assertErrorShape(r, 403, "csrf_failed")

        r = self.upload(c, cid, body)
        self.assertEqual(r.status, 201, r)
        f = r.json()["file"]
        self.assertEqual((f["kind"], f["name"], f["size"], f["type"], f["sha256"]),
                         ("contract", "补充合同.pdf", 4000, "application/pdf",
                          hashlib.sha256(body).hexdigest()))
        self.assertTrue(os.path.exists(self.store_path(f["id"])))
        self.assertIn(f["id"], [m[:32] for m in self.pending()])
        # Refusals of the upload: a kind of no files field, a type that is
        # not JPEG/PNG/PDF.
        self.assertErrorShape(self.upload(c, cid, body, kind="nonsense"), 400, "bad_kind")
        err = self.assertErrorShape(self.upload(c, cid, b"<html>hi</html>" * 10), 415,
                                    "unsupported_type")
        self.assertIn("PDF", err["error"]["message"])
        # One uploaded then removed before sending: gone, bytes too.
        g = self.upload(c, cid, jpeg(), kind="invoice", name="发票.jpg").json()["file"]
        r = c.call("DELETE", "/api/cases/%s/files/%s" % (cid, g["id"]))
        self.assertEqual(r.status, 200, r)
        self.assertFalse(os.path.exists(self.store_path(g["id"])))
        self.assertErrorShape(c.call("DELETE", "/api/cases/%s/files/%s" % (cid, g["id"])), 404,
                              "file_not_found")

        # Refusals of the answer: nothing in it, too long, a file not
        # uploaded here (or removed), a bad shape.
        err = self.assertErrorShape(self.answer(c, cid, text="  "), 422, "validation_failed")
        self.assertIn("补充", err["error"]["message"])
        self.assertErrorShape(self.answer(c, cid, text="长" * 2001), 422, "validation_failed")
        self.assertErrorShape(self.answer(c, cid, text="x", files=[g["id"]]), 422,
                              "validation_failed")
        self.assertErrorShape(self.answer(c, cid, text="x", files="abc"), 422,
                              "validation_failed")
        self.assertErrorShape(self.answer(c, cid, text=5), 422, "validation_failed")
        other = self.client()
        other.prove(self, MOBILE, "supplement")
        self.assertErrorShape(self.answer(other, cid, files=[f["id"]]), 422,
                              "validation_failed")
        self.assertEqual(self.detail(cid)["status"], "needs_info")

        r = self.answer(c, cid, text="已补充盖章合同，请查收。", files=[f["id"]])
        self.assertEqual(r.status, 200, r)
        pub = r.json()["case"]
        self.assertEqual((pub["status"], pub["status_label"]), ("submitted", "已提交"))
        last = pub["history"][-1]
        self.assertEqual(last["supplement"]["text"], "已补充盖章合同，请查收。")
        self.assertEqual(last["supplement"]["files"],
                         [{"kind": "合同", "name": "补充合同.pdf", "size": 4000}])
        self.assertIn({"kind": "合同", "name": "补充合同.pdf", "size": 4000}, pub["files"])
        self.assertNotIn("supplement", pub)
        # Off the pending list: it belongs to the case now.
        self.assertNotIn(f["id"], [m[:32] for m in self.pending()])

        # Staff: the entry by the enterprise, the file among the case's,
        # back in the handler's queue with the review clock running.
        d = self.detail(cid)
        self.assertEqual(d["status"], "submitted")
        e = d["history"][-1]
        self.assertEqual((e["by"], e["from"], e["to"]), ("enterprise", "needs_info", "submitted"))
        self.assertEqual(e["supplement"]["text"], "已补充盖章合同，请查收。")
        self.assertEqual([x["id"] for x in e["supplement"]["files"]], [f["id"]])
        self.assertIn("waited_workdays", e)
        self.assertEqual(d["deadline"]["clock"], "review")
        self.assertIn((f["id"], True, "合同"),
                      [(x["id"], x["later"], x["kind_label"]) for x in d["files"]])
        self.assertIsNone(self.stack.redis_command("ZSCORE", PREFIX + "cases:status:needs_info",
                                                   cid))
        self.assertIsNotNone(self.stack.redis_command("ZSCORE",
                                                      PREFIX + "cases:status:submitted", cid))
        ev = [dict(zip(x[1][::2], x[1][1::2]))
              for x in self.stack.redis_command("XRANGE", PREFIX + "events", "-", "+")]
        ev = [x for x in ev if x.get("id") == cid and x.get("type") == "case_status"]
        self.assertEqual((ev[-1]["from"], ev[-1]["to"], ev[-1]["by"]),
                         ("needs_info", "submitted", "enterprise"))
        r = self.call("GET", "/api/admin/cases/%s/files/%s" % (cid, f["id"]))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, body)

        # Once answered, not waiting any more.
        self.assertErrorShape(self.answer(c, cid, text="再补充"), 409,
                              "not_waiting_for_material")
        self.assertErrorShape(self.upload(c, cid, body), 409, "not_waiting_for_material")

    def test_unknown_case_and_sms_off_purpose(self):
        c = self.client()
        self.assertErrorShape(self.answer(c, "TS20261201-0099", text="x"), 404, "not_found")
        self.assertErrorShape(self.answer(c, "nonsense", text="x"), 404, "not_found")


class TestAnswerLimits(AnswerBase, unittest.TestCase):
    STACK_ARGS = {"fake": True, "ini": dict(ANSWER_INI, files={"max_files": 2})}

    def test_case_limit_counts_pending(self):
        cid = "TS20261201-0006"
        self.waiting(cid)
        c = self.client()
        c.prove(self, MOBILE, "supplement")
        self.assertEqual(self.upload(c, cid, pdf()).status, 201)
        self.assertEqual(self.upload(c, cid, pdf()).status, 201)
        err = self.assertErrorShape(self.upload(c, cid, pdf()), 409, "too_many_files")
        self.assertIn("2", err["error"]["message"])


class TestAnswerSweep(AnswerBase, unittest.TestCase):
    STACK_ARGS = {"fake": True, "bot": True,
                  "ini": dict(ANSWER_INI, files={"sweep_grace": 0}, bot={"lease_ms": 1000})}

    def test_unsent_uploads_swept_with_the_session(self):
        cid = "TS20261201-0007"
        self.waiting(cid)
        c = self.client()
        c.prove(self, MOBILE, "supplement")
        f = self.upload(c, cid, pdf()).json()["file"]
        self.assertTrue(os.path.exists(self.store_path(f["id"])))
        sid = c.cookie.split("=", 1)[1]
        self.stack.redis_command("DEL", PREFIX + "sess:" + sid)
        for m in self.pending():
            self.stack.redis_command("ZADD", PREFIX + "files:pending", 1, m)
        self.stack.wait_for(lambda: not os.path.exists(self.store_path(f["id"])), 20,
                            "the unsent supplement file to go")
        self.assertEqual(self.pending(), [])


class TestRequestNotified(ProgressBase, unittest.TestCase):
    STACK_ARGS = stack_args()

    def test_sms_and_chat_say_what_and_when(self):
        st, fake = self.stack, self.stack.fake
        cid, mobile, user = "TS20261206-0108", "13800139108", "suppuser8"
        tid = "chat-dingtalk-" + hashlib.sha1(("dingtalk:" + user).encode()).hexdigest()[:16]
        add_target(st, id=tid, channel="generic", address=fake.generic_url("chat-" + user))
        self.add(cid, mobile, 8, source="chat:dingtalk:" + user)
        c = self.move(cid, "needs_info", message="请补充：加盖公章的采购合同。")
        due = c["supplement"]["supply_by"]
        st.wait_for(lambda: fake.messages(platform="generic", target="chat-" + user), 20,
                    "the request in the chat")
        (m,) = fake.messages(platform="generic", target="chat-" + user)
        text = m["json"]["title"] + m["json"]["markdown"]
        self.assertIn("待补充材料", text)
        self.assertIn("请补充：加盖公章的采购合同。", text)
        self.assertIn(due, text)
        self.assertNotIn("内部记录", text)  # the move's internal note
        (line,) = self.wait_lines(cid, 1)
        self.assertEqual(line["note"], "短信已发送（待补充材料）")
        (sms,) = self.sms(mobile)
        self.assertEqual(sms["json"]["TemplateParamSet"], [cid, "待补充材料", due])


if __name__ == "__main__":
    unittest.main()

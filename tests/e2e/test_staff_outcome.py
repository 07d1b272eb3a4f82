"""The handler's side of issue 16 through nginx: a move's note stays
internal and only the message written for the enterprise reaches the public
lookup (item 10); the answer and the closing record a result type and the
amount recovered, the transfer a department from handling.json, with 422s
in Chinese (item 11); the detail, CSV and JSON Lines carry them; the
statistics sum amounts involved and recovered by payer type, department,
region and month with the on-time share per deadline (item 12); the staff
list for 承办人 (item 14); numbers and times in the CSV (item 15)."""

import csv
import io
import json
import unittest

from harness import StackCase
from staff_util import (Tokens, case_commands, complaint_answers, ms_at, redis_pipeline)

TOKENS = Tokens()
MOBILE = "13812345678"


class OutcomeBase(StackCase):
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

    def lookup(self, cid):
        r = self.stack.request("POST", "/api/cases/%s/lookup" % cid,
                               body=json.dumps({"mobile": MOBILE}),
                               headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r)
        return r

    def add(self, cid, created, **over):
        redis_pipeline(self.stack, case_commands(cid, "complaint", created,
                                                 complaint_answers(int(cid[-1]), **over)))


class TestInternalByDefault(OutcomeBase, unittest.TestCase):
    def test_note_never_public(self):
        cid = "TS20261102-0001"
        self.add(cid, ms_at(2026, 11, 2))
        # A note alone: internal, whatever the move (needs_info used to
        # publish its note by default; it now wants its message too).
        r = self.move(cid, "needs_info", note="内部意见：材料可疑，先核实", now=ms_at(2026, 11, 3))
        self.assertErrorShape(r, 422, "validation_failed")
        r = self.move(cid, "needs_info", note="内部意见：材料可疑，先核实",
                      message="请补充合同", now=ms_at(2026, 11, 3))
        self.assertEqual(r.status, 200, r)
        h = r.json()["case"]["history"][-1]
        self.assertEqual(h["note"], "内部意见：材料可疑，先核实")
        self.assertTrue(h["public"])
        body = self.lookup(cid).body.decode()
        self.assertNotIn("内部意见", body)
        self.assertEqual(json.loads(body)["case"]["history"][-1]["note"], "请补充合同")
        # The message, given on purpose, is what the enterprise sees; the
        # note of the same move is not.
        r = self.move(cid, "submitted", note="内部：电话催过", message="已收到您补充的材料",
                      now=ms_at(2026, 11, 4))
        self.assertEqual(r.status, 200, r)
        h = r.json()["case"]["history"][-1]
        self.assertEqual((h["message"], h["public"]), ("已收到您补充的材料", True))
        body = self.lookup(cid).body.decode()
        self.assertNotIn("电话催过", body)
        self.assertEqual(json.loads(body)["case"]["history"][-1]["note"], "已收到您补充的材料")
        # The progress event (SMS, chat) carries the message, never the note.
        ev = self.stack.redis_command("XRANGE", "zqe2e:events", "-", "+")
        mine = [dict(zip(e[1][::2], e[1][1::2])) for e in ev]
        mine = [e for e in mine if e.get("id") == cid]
        self.assertEqual([e["note"] for e in mine], ["请补充合同", "已收到您补充的材料"])
        # The legacy explicit opt-in still publishes the note.
        r = self.move(cid, "accepted", note="予以受理", public=True, now=ms_at(2026, 11, 5))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(self.lookup(cid).body)["case"]["history"][-1]["note"],
                         "予以受理")
        self.assertErrorShape(self.move(cid, "transferred", note="x", public="yes",
                                        department="city_jxj"), 422, "validation_failed")

    def test_workflow_lists_and_staff(self):
        w = self.call("GET", "/api/admin/workflow", TOKENS.viewer).json()
        self.assertEqual([x["id"] for x in w["results"]],
                         ["paid_full", "paid_part", "plan_agreed", "unresolved", "not_accepted"])
        self.assertEqual(w["results"][0]["label"], "已全额支付")
        self.assertIn({"id": "city_jxj", "label": "市（州）经济和信息化主管部门"},
                      w["departments"])
        self.assertTrue(any(m["to"] == "accepted" for m in w["messages"]))
        moves = {(m["from"], m["to"]): m for m in w["machines"]["complaint"]["moves"]}
        self.assertTrue(moves[("transferred", "answered")]["outcome_required"])
        self.assertTrue(moves[("answered", "closed")]["outcome_required"])
        self.assertTrue(moves[("accepted", "transferred")]["department_required"])
        r = self.call("GET", "/api/admin/staff", TOKENS.viewer)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([(s["name"], s["role"]) for s in r.json()["staff"]],
                         [("boss", "admin"), ("hd1", "handler"), ("hd2", "handler")])
        self.assertErrorShape(self.call("GET", "/api/admin/staff", "nope"), 401, "unauthorized")


class TestOutcomes(OutcomeBase, unittest.TestCase):
    def walk_to(self, cid, status):
        self.assertEqual(self.move(cid, "accepted", now=ms_at(2026, 11, 3)).status, 200)
        if status == "accepted":
            return
        r = self.move(cid, "transferred", note="转办", department="housing",
                      now=ms_at(2026, 11, 4))
        self.assertEqual(r.status, 200, r)

    def test_transfer_needs_a_listed_department(self):
        cid = "TS20261102-0002"
        self.add(cid, ms_at(2026, 11, 2))
        self.walk_to(cid, "accepted")
        for body, field in (({}, "department"), ({"department": "住建局"}, "department"),
                            ({"department": "nope"}, "department"),
                            ({"department": 7}, "department")):
            with self.subTest(body=body):
                r = self.move(cid, "transferred", note="转办", **body)
                err = self.assertErrorShape(r, 422, "validation_failed")["error"]
                self.assertIn(field, err["fields"])
                self.assertRegex(err["message"], "[\u4e00-\u9fff]")
        r = self.move(cid, "transferred", note="转办", department="city_jxj")
        self.assertEqual(r.status, 200, r)
        c = r.json()["case"]
        self.assertEqual((c["department"], c["department_label"]),
                         ("city_jxj", "市（州）经济和信息化主管部门"))
        self.assertEqual(c["history"][-1]["department_label"], "市（州）经济和信息化主管部门")
        # A department on another move is refused, not ignored.
        r = self.move(cid, "in_progress", department="city_jxj")
        self.assertIn("department", self.assertErrorShape(r, 422, "validation_failed")
                      ["error"]["fields"])

    def test_answer_and_close_need_result_and_amount(self):
        cid = "TS20261102-0003"
        self.add(cid, ms_at(2026, 11, 2))
        self.walk_to(cid, "transferred")
        bad = [({}, {"result", "recovered"}),
               ({"result": "paid"}, {"result", "recovered"}),
               ({"result": "paid_full", "recovered": "0"}, {"recovered"}),
               ({"result": "paid_full", "recovered": "12.345"}, {"recovered"}),
               ({"result": "paid_full", "recovered": "-5"}, {"recovered"}),
               ({"result": "paid_full", "recovered_fen": -1}, {"recovered"}),
               ({"result": "paid_full", "recovered_fen": "100"}, {"recovered"}),
               ({"result": "not_accepted", "recovered": "0"}, {"reason"})]
        for body, fields in bad:
            with self.subTest(body=body):
                r = self.move(cid, "answered", note="答复", **body)
                err = self.assertErrorShape(r, 422, "validation_failed")["error"]
                self.assertEqual(set(err["fields"]), fields)
                for v in err["fields"].values():
                    self.assertRegex(v, "[\u4e00-\u9fff]")
        # Yuan with grouping and full-width digits, as the forms accept.
        r = self.move(cid, "answered", note="已督促", result="paid_part",
                      recovered="１,234.50", now=ms_at(2026, 11, 20))
        self.assertEqual(r.status, 200, r)
        c = r.json()["case"]
        self.assertEqual((c["result"], c["result_label"], c["recovered_fen"]),
                         ("paid_part", "已部分支付", 123450))
        # Closing records its own outcome.
        self.assertEqual(self.move(cid, "closed").status, 422)
        r = self.move(cid, "closed", result="paid_full", recovered_fen=12345678,
                      now=ms_at(2026, 11, 25))
        self.assertEqual(r.status, 200, r)
        c = r.json()["case"]
        self.assertEqual((c["result"], c["recovered_fen"]), ("paid_full", 12345678))
        # A result on a move that takes none.
        cid2 = "TS20261102-0004"
        self.add(cid2, ms_at(2026, 11, 2))
        r = self.move(cid2, "accepted", result="paid_full", recovered_fen=1)
        self.assertErrorShape(r, 422, "validation_failed")

        # JSON Lines and CSV carry them; CSV numbers are numbers and times
        # are "yyyy-mm-dd hh:mm".
        r = self.call("GET", "/api/admin/cases.jsonl?q=TS20261102-0003")
        row = json.loads(r.body.decode().splitlines()[0])
        self.assertEqual((row["result"], row["recovered_fen"], row["department"]),
                         ("paid_full", 12345678, "housing"))
        r = self.call("GET", "/api/admin/cases.csv?q=TS20261102-000", now=ms_at(2026, 11, 26))
        rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8-sig"))))
        by = {x["案件编号"]: x for x in rows}
        done = by[cid]
        self.assertEqual((done["办理结果"], done["追回金额（元）"], done["接收部门"]),
                         ("已全额支付", "123456.78", "住房和城乡建设部门"))
        self.assertEqual(done["提交时间"], "2026-11-02 10:00")
        self.assertRegex(done["最近更新"], r"^\d{4}-\d\d-\d\d \d\d:\d\d$")
        # Remaining days: a plain (signed) number, the unit beside it.
        open_ = by[cid2]
        self.assertRegex(open_["剩余天数"], r"^-?\d+$")
        self.assertEqual(open_["计日方式"], "工作日")
        raw = r.body.decode("utf-8-sig")
        self.assertNotIn("'-", raw.split(cid2)[1].split("\r\n")[0])

    def test_not_accepted_reason_in_exports(self):
        """The reason of a 不予受理 result is data too: the detail, JSON
        Lines and CSV carry it (masked exports mask a mobile in it)."""
        cid = "TS20261102-0005"
        self.add(cid, ms_at(2026, 11, 2))
        self.walk_to(cid, "transferred")
        why = "不属于条例调整范围，已电话告知 13812345678"
        r = self.move(cid, "answered", note="答复", result="not_accepted", recovered="0",
                      reason=why, now=ms_at(2026, 11, 20))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["case"]["result_reason"], why)
        r = self.call("GET", "/api/admin/cases.jsonl?q=" + cid)
        row = json.loads(r.body.decode().splitlines()[0])
        self.assertEqual((row["result"], row["result_reason"]), ("not_accepted", why))
        r = self.call("GET", "/api/admin/cases.csv?q=" + cid)
        rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8-sig"))))
        self.assertEqual((rows[0]["办理结果"], rows[0]["结果说明"]), ("不予受理", why))
        r = self.call("GET", "/api/admin/cases.csv?masked=1&q=" + cid, TOKENS.viewer)
        rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8-sig"))))
        self.assertNotIn("13812345678", rows[0]["结果说明"])
        self.assertIn("不属于条例调整范围", rows[0]["结果说明"])
        # A later result without a reason does not keep the old one.
        r = self.move(cid, "closed", result="paid_full", recovered="1", now=ms_at(2026, 11, 21))
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("result_reason", r.json()["case"])


class TestAmountStats(OutcomeBase, unittest.TestCase):
    def test_amounts_by_payer_department_region_month(self):
        a, b, c = "TS20261005-0001", "TS20261006-0002", "TS20261106-0003"
        redis_pipeline(self.stack, case_commands(
            a, "complaint", ms_at(2026, 10, 5), complaint_answers(1, amount_fen=100000)))
        redis_pipeline(self.stack, case_commands(
            b, "complaint", ms_at(2026, 10, 6),
            complaint_answers(2, amount_fen=50000, respondent_type="large"), region="510700"))
        redis_pipeline(self.stack, case_commands(
            c, "complaint", ms_at(2026, 11, 6), complaint_answers(3, amount_fen=7000)))
        for cid, dep in ((a, "finance"), (b, "sasac")):
            self.assertEqual(self.move(cid, "accepted", now=ms_at(2026, 10, 9)).status, 200)
            self.assertEqual(self.move(cid, "transferred", note="转办", department=dep,
                                       now=ms_at(2026, 10, 12)).status, 200)
        r = self.move(a, "answered", note="答复", result="paid_full", recovered="1000",
                      now=ms_at(2026, 10, 20))
        self.assertEqual(r.status, 200, r)
        # b answered late: 30 days from 10/12 is 11/11.
        r = self.move(b, "answered", note="答复", result="paid_part", recovered_fen=20000,
                      now=ms_at(2026, 11, 20))
        self.assertEqual(r.status, 200, r)

        s = self.call("GET", "/api/admin/stats?type=complaint", TOKENS.viewer,
                      now=ms_at(2026, 11, 25)).json()["stats"]
        self.assertEqual(s["amounts"], {"involved_fen": 157000, "recovered_fen": 120000,
                                        "with_result": 2})
        payer = {x["payer_type"]: x for x in s["amounts_by_payer_type"]}
        self.assertEqual((payer["organ"]["label"], payer["organ"]["count"],
                          payer["organ"]["involved_fen"], payer["organ"]["recovered_fen"]),
                         ("机关", 2, 107000, 100000))
        self.assertEqual((payer["large"]["label"], payer["large"]["recovered_fen"]),
                         ("大型企业", 20000))
        dep = {x["department"]: x for x in s["amounts_by_department"]}
        self.assertEqual((dep["finance"]["label"], dep["finance"]["recovered_fen"]),
                         ("财政部门", 100000))
        self.assertEqual(dep["none"]["label"], "未转办")
        region = {x["region"]: x for x in s["amounts_by_region"]}
        self.assertEqual((region["510700"]["label"], region["510700"]["involved_fen"]),
                         ("绵阳市", 50000))
        month = {x["month"]: x["involved_fen"] for x in s["amounts_by_month"]}
        self.assertEqual(month, {"2026-10": 150000, "2026-11": 7000})
        ot = s["on_time"]
        self.assertEqual((ot["review"]["with_limit"], ot["review"]["on_time"]), (2, 2))
        self.assertEqual((ot["transfer"]["with_limit"], ot["transfer"]["on_time"]), (2, 2))
        self.assertEqual((ot["answer"]["with_limit"], ot["answer"]["on_time"],
                          ot["answer"]["on_time_share"]), (2, 1, 0.5))
        self.assertEqual(ot["answer"]["label"], "书面答复期限")
        self.assertIn("satisfaction", s)
        # No evaluation yet (test_withdraw_eval.py has them): zero rated, no share.
        self.assertEqual((s["satisfaction"]["rated"], s["satisfaction"]["satisfied_share"]),
                         (0, None))


class TestCalendarWarning(OutcomeBase, unittest.TestCase):
    """config/holidays has 2025 and 2026: from November the digest says
    that 2027 is missing; in October it says nothing."""

    def test_digest_warns_from_november(self):
        for date, years in (("2026-10-30", []), ("2026-11-02", [2027]),
                            ("2026-12-31", [2027]), ("2027-03-01", [2027])):
            with self.subTest(date=date):
                r = self.call("GET", "/api/admin/digest?date=" + date, TOKENS.viewer)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["digest"]["calendar_missing"], years)
                text = r.json()["text"]
                if years:
                    self.assertIn("尚未配置 %d 年节假日安排" % years[0], text)
                else:
                    self.assertNotIn("节假日安排", text)


if __name__ == "__main__":
    unittest.main()

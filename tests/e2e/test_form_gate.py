"""The complaint form's eligibility check (能否投诉) and the fields handlers
need (issue 16, items 1, 2, 3 and 9) through nginx: every stop rule says
why and where to go instead, the server refuses later steps and the
submission while one holds, the amounts are checked against each other,
the schema carries the rules the page pre-fills with, and the validators'
messages count and say what is allowed."""

import json
import unittest

from staff_util import Tokens, auth
from test_intake import Client, IntakeCase

TOKENS = Tokens()


class GateCase(IntakeCase):
    STACK_ARGS = {"ini": TOKENS.ini()}

    def gate(self):
        return self.schemas["complaint"]["steps"][0]

    def passing(self):
        """Gate answers that let the complaint go on."""
        return {f["id"]: next(o["value"] for o in f["options"] if "stop" not in o)
                for f in self.gate()["fields"]}

    def put(self, c, step, answers):
        return c.call("PUT", "/api/intake/complaint/steps/" + step, {"answers": answers})

    def step(self, sid):
        return next(s for s in self.schemas["complaint"]["steps"] if s["id"] == sid)

    def started(self):
        c = Client(self.stack)
        self.assertIn(c.start("complaint", gate=False).status, (200, 201))
        return c


class TestGate(GateCase, unittest.TestCase):
    def test_schema_has_gate_first(self):
        g = self.gate()
        self.assertTrue(g.get("gate"))
        self.assertEqual(g["title"], "能否投诉")
        self.assertEqual([f["id"] for f in g["fields"]],
                         ["payer_type", "size_at_signing", "overdue", "proceedings"])
        stops = {o["value"]: o["stop"] for f in g["fields"] for o in f["options"] if "stop" in o}
        self.assertEqual(sorted(stops), ["accepted", "consumer", "large", "no", "person", "sme"])
        for s in stops.values():
            self.assertTrue(s["reason"] and s["where"])
        self.assertIn("12345", stops["sme"]["where"])
        self.assertIn("人民法院", stops["person"]["where"])
        self.assertIn("12315", stops["consumer"]["where"])
        # The declarations stay on the last step before the review.
        steps = self.schemas["complaint"]["steps"]
        self.assertEqual([s["id"] for s in steps][-2:], ["declarations", "review"])
        self.assertIn("no_other_proceedings", [f["id"] for f in steps[-2]["fields"]])

    def test_each_stop_rule(self):
        for f in self.gate()["fields"]:
            for o in f["options"]:
                if "stop" not in o:
                    continue
                with self.subTest(field=f["id"], option=o["value"]):
                    c = self.started()
                    ans = self.passing()
                    ans[f["id"]] = o["value"]
                    # The answer is kept, and the draft says why it stops.
                    r = self.put(c, "eligibility", ans)
                    self.assertEqual(r.status, 200, r)
                    body = r.json()
                    self.assertEqual(body["answers"][f["id"]], o["value"])
                    self.assertEqual(body["stop"], {"field": f["id"], "reason": o["stop"]["reason"],
                                                    "where": o["stop"]["where"]})
                    msg = o["stop"]["reason"] + o["stop"]["where"]
                    # No later step is taken while the stop rule holds.
                    r = self.put(c, "complainant", self.answers_for(self.step("complainant")))
                    self.assertEqual(r.status, 422, r)
                    self.assertEqual(r.json()["error"]["fields"], {"_": msg})
                    r = self.submit(c, "complaint")
                    self.assertEqual(r.status, 422, r)
                    self.assertEqual(r.json()["error"]["step"], "eligibility")
                    self.assertEqual(r.json()["error"]["fields"][f["id"]], msg)

    def test_changed_gate_answer_blocks_submission(self):
        c = self.fill("complaint")
        r = c.call("GET", "/api/intake/complaint")
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("stop", r.json())
        ans = self.passing()
        ans["proceedings"] = "accepted"
        self.assertEqual(self.put(c, "eligibility", ans).status, 200)
        r = self.submit(c, "complaint")
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json()["error"]["step"], "eligibility")
        self.assertIn("不在投诉受理范围内", r.json()["error"]["fields"]["proceedings"])
        # Back to an eligible answer: the complaint goes in.
        self.assertEqual(self.put(c, "eligibility", self.passing()).status, 200)
        self.assertEqual(self.submit(c, "complaint").status, 201)

    def test_gate_answers_required(self):
        c = self.started()
        r = self.put(c, "eligibility", {})
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json()["error"]["fields"]["payer_type"], "请选择欠款方（付款方）是什么单位")
        r = self.put(c, "complainant", self.answers_for(self.step("complainant")))
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json()["error"]["step"], "eligibility")


class TestFields(GateCase, unittest.TestCase):
    def debt(self, **over):
        a = self.answers_for(self.step("debt"))
        a.update({"contract_amount_fen": "150,000", "paid_fen": "25000", "amount_fen": "125000",
                  "undisputed_fen": ""})
        a.update(over)
        return a

    def through_respondent(self):
        c = self.started()
        for sid in ("eligibility", "complainant", "respondent"):
            self.assertEqual(self.put(c, sid, self.answers_for(self.step(sid))).status, 200)
        return c

    def test_prefill_rules_served(self):
        fields = {f["id"]: f for s in self.schemas["complaint"]["steps"]
                  for f in s.get("fields", [])}
        self.assertEqual(fields["size"]["prefill"], {"type": "copy", "from": "size_at_signing"})
        self.assertEqual(fields["respondent_type"]["prefill"], {"type": "copy", "from": "payer_type"})
        self.assertEqual(fields["amount_fen"]["prefill"],
                         {"type": "difference", "from": ["contract_amount_fen", "paid_fen"]})
        due = fields["due_date"]["prefill"]
        self.assertEqual(due["type"], "due_date")
        self.assertEqual(due["dates"], ["acceptance_date", "delivery_date"])
        self.assertEqual(due["days"], {"within_30": 30, "within_60": 60})
        self.assertEqual(due["default"]["days"]["large"], 60)
        self.assertTrue(fields["paid_fen"]["allow_zero"])
        self.assertTrue(fields["issue_types"]["multiple"])
        self.assertEqual([o["label"] for o in fields["issue_types"]["options"]],
                         ["逾期未支付", "背靠背条款", "强制以商业汇票等非现金方式支付",
                          "以审计结果作为结算依据", "保证金逾期未退还", "其他"])
        for fid in ("legal_rep", "respondent_contact", "respondent_phone", "respondent_address"):
            self.assertFalse(fields[fid]["required"], fid)

    def test_amounts(self):
        c = self.through_respondent()
        r = self.put(c, "debt", self.debt(paid_fen="150000.01"))
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json()["error"]["fields"], {"paid_fen": "已支付金额不能超过合同金额"})
        r = self.put(c, "debt", self.debt(amount_fen="150000.01"))
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json()["error"]["fields"],
                         {"amount_fen": "拖欠金额应大于 0，且不能超过合同金额"})
        r = self.put(c, "debt", self.debt(amount_fen="0"))
        self.assertEqual(r.json()["error"]["fields"], {"amount_fen": "拖欠金额必须大于 0"})
        r = self.put(c, "debt", self.debt(paid_fen="-1"))
        self.assertEqual(r.json()["error"]["fields"], {"paid_fen": "已支付金额不能小于 0"})
        r = self.put(c, "debt", self.debt())
        self.assertEqual(r.status, 200, r)
        a = r.json()["answers"]
        self.assertEqual((a["contract_amount_fen"], a["paid_fen"], a["amount_fen"]),
                         (15000000, 2500000, 12500000))
        # Nothing paid yet: 0 is an amount here.
        r = self.put(c, "debt", self.debt(paid_fen="0", amount_fen="150000"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["answers"]["paid_fen"], 0)

    def test_issue_types_multi(self):
        c = self.through_respondent()
        self.assertEqual(self.put(c, "debt", self.debt()).status, 200)
        claim = self.answers_for(self.step("claim"))
        claim["issue_types"] = ["deposit", "overdue", "overdue"]
        r = self.put(c, "claim", claim)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["answers"]["issue_types"], ["overdue", "deposit"])
        claim["issue_types"] = ["nope"]
        r = self.put(c, "claim", claim)
        self.assertEqual(r.json()["error"]["fields"]["issue_types"], "请从选项中选择问题类型（可以多选）")
        claim["issue_types"] = []
        r = self.put(c, "claim", claim)
        self.assertEqual(r.json()["error"]["fields"]["issue_types"], "请选择问题类型")

    def test_new_fields_reach_staff(self):
        c = self.fill("complaint", contract_amount_fen="150000", paid_fen="0",
                      amount_fen="150000", issue_types=["overdue", "back_to_back"],
                      legal_rep="李明", respondent_contact="王经理",
                      respondent_phone="028-12345678", respondent_address="成都市锦江区某某路 1 号")
        r = self.submit(c, "complaint")
        self.assertEqual(r.status, 201, r)
        cid = r.json()["case"]["id"]
        r = self.stack.get("/api/admin/cases/" + cid, headers=auth(TOKENS.viewer))
        self.assertEqual(r.status, 200, r)
        shown = {f["id"]: f["value"] for st in r.json()["case"]["fields"] for f in st["fields"]}
        self.assertEqual(shown["contract_amount_fen"], "150,000.00 元")
        self.assertEqual(shown["paid_fen"], "0.00 元")
        self.assertEqual(shown["issue_types"], "逾期未支付、背靠背条款")
        self.assertEqual(shown["payer_type"], "机关")
        self.assertEqual(shown["legal_rep"], "李明")
        self.assertEqual(shown["respondent_phone"], "028-12345678")
        r = self.stack.get("/api/admin/cases.jsonl?q=" + cid, headers=auth(TOKENS.handler))
        self.assertEqual(r.status, 200, r)
        row = json.loads(r.body.decode().splitlines()[0])
        self.assertEqual(row["answers"]["contract_amount_fen"], 15000000)
        self.assertEqual(row["answers"]["paid_fen"], 0)
        self.assertEqual(row["answers"]["issue_types"], ["overdue", "back_to_back"])
        r = self.stack.get("/api/admin/cases.csv?q=" + cid, headers=auth(TOKENS.handler))
        text = r.body.decode("utf-8-sig")
        head, line = text.splitlines()[0:2]
        cols = dict(zip(head.split(","), line.split(",")))
        self.assertEqual(cols["合同金额"], "150000.00")
        self.assertEqual(cols["已支付金额"], "0.00")
        self.assertEqual(cols["问题类型"].strip('"'), "逾期未支付、背靠背条款")


class TestCountingErrors(GateCase, unittest.TestCase):
    def test_messages_count_and_say_what_is_allowed(self):
        c = self.started()
        self.assertEqual(self.put(c, "eligibility", self.passing()).status, 200)
        a = self.answers_for(self.step("complainant"))
        a.update({"mobile": "1381234567", "uscc": "91510100MA61R7XQ3", "company_name": "成"})
        r = self.put(c, "complainant", a)
        self.assertEqual(r.status, 422, r)
        f = r.json()["error"]["fields"]
        self.assertEqual(f["mobile"], "手机号码应为 11 位数字（现在 10 位）")
        self.assertEqual(f["uscc"], "统一社会信用代码应为 18 位（现在 17 位）")
        self.assertEqual(f["company_name"], "企业名称至少 2 个字（现在 1 个字）")
        a.update({"mobile": "138abc45678", "uscc": self.answers_for(self.step("complainant"))["uscc"],
                  "company_name": "成都示例科技有限公司"})
        r = self.put(c, "complainant", a)
        self.assertEqual(r.json()["error"]["fields"],
                         {"mobile": "手机号码只能填写数字（可以带空格、短横线或 +86）"})
        self.assertEqual(self.put(c, "complainant", self.answers_for(self.step("complainant"))).status,
                         200)
        self.assertEqual(self.put(c, "respondent", self.answers_for(self.step("respondent"))).status,
                         200)
        d = self.answers_for(self.step("debt"))
        d["contract_amount_fen"] = "12万"
        r = self.put(c, "debt", d)
        self.assertEqual(r.json()["error"]["fields"]["contract_amount_fen"],
                         "合同金额只能填写数字和小数点（以元为单位，如 12345.60）")


if __name__ == "__main__":
    unittest.main()

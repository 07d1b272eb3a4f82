"""The enterprise withdraws its case and evaluates it (issue 15) through
nginx: POST /api/cases/{id}/withdraw and /api/cases/{id}/evaluation in a
session whose SMS code proved the case's mobile (purpose supplement or
lookup); 403 unverified or for another mobile; withdrawal only before a
decision (409 after, and for a repeat), closing the case as withdrawn by
the enterprise with its deadline stopped, in the staff detail and the
digest; evaluation once, only when closed, atomically; the rating in the
staff views, the exports, the statistics and retention. No bot runs:
codes are read from the outbox (test_sms_code.sms_code_sent)."""

import csv
import io
import json
import os
import subprocess
import threading
import time
import unittest

from harness import BIN_DIR, StackCase, child_env
from staff_util import (PREFIX, Tokens, auth, case_commands, complaint_answers, consult_answers,
                        ms_at, redis_pipeline)
from test_sms_code import CodeClient

TOKENS = Tokens()
ROOMY = {"resend_interval": 0, "mobile_per_hour": 0, "mobile_per_day": 0,
         "client_per_hour": 0, "client_per_day": 0, "daily_budget": 0}


def ini(**verify):
    out = TOKENS.ini()
    out["sms"] = {"provider": "tencent"}
    out["verify"] = dict(ROOMY, **verify)
    return out


DAY = 86400000


class LoopCase(StackCase):
    STACK_ARGS = {"fake": True, "ini": ini()}

    def add(self, cid, mobile, status="submitted", form="complaint", log=None, extra=None,
            now=None):
        now = now or int(time.time() * 1000)
        answers = complaint_answers(int(cid[-4:])) if form == "complaint" else \
            consult_answers(int(cid[-4:]))
        cmds = case_commands(cid, form, now, answers, status=status, mobile=mobile, log=log,
                             extra=extra)
        if status == "submitted" and form == "complaint":
            cmds.append(["ZADD", PREFIX + "cases:due", "20991231", cid])
        redis_pipeline(self.stack, cmds)

    def client(self, mobile=None, purpose="supplement"):
        c = CodeClient(self.stack)
        c.open()
        if mobile:
            c.prove(self, mobile, purpose)
        return c

    def staff(self, method, path, body=None, token=None):
        h = auth(token or TOKENS.handler)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            h["Content-Type"] = "application/json"
        return self.stack.request(method, path, body=data, headers=h)

    def detail(self, cid):
        r = self.staff("GET", "/api/admin/cases/" + cid, token=TOKENS.viewer)
        self.assertEqual(r.status, 200, r)
        return r.json()["case"]

    def error(self, r, status, code):
        self.assertEqual(r.status, status, r)
        e = r.json()["error"]
        self.assertEqual(e["code"], code, e)
        # Every refusal is said in Chinese.
        self.assertRegex(e["message"], "[\u4e00-\u9fff]")
        return e

    def hget(self, cid, field):
        return self.stack.redis_command("HGET", PREFIX + "case:" + cid, field)


class TestWithdraw(LoopCase, unittest.TestCase):

    def test_withdraw_before_decision(self):
        cid, mobile = "TS20261206-0201", "13800140201"
        self.add(cid, mobile)
        c = self.client()
        # No code yet: refused, nothing changed.
        self.error(c.call("POST", "/api/cases/%s/withdraw" % cid, {}), 403, "mobile_unverified")
        # Proved another number: refused as well.
        c.prove(self, "13800140299", "supplement")
        self.error(c.call("POST", "/api/cases/%s/withdraw" % cid, {}), 403, "mobile_unverified")
        self.assertEqual(self.hget(cid, "status"), "submitted")
        # Without the page's token: refused before anything else.
        r = self.stack.request("POST", "/api/cases/%s/withdraw" % cid, body=b"{}",
                               headers={"Content-Type": "application/json",
                                        "Cookie": c.cookie})
        self.error(r, 403, "csrf_failed")
        c.prove(self, mobile, "supplement")
        r = c.call("POST", "/api/cases/%s/withdraw" % cid, {"reason": "已与对方协商解决"})
        self.assertEqual(r.status, 200, r)
        pub = r.json()["case"]
        self.assertEqual(pub["status"], "withdrawn")
        self.assertEqual(pub["status_label"], "已撤回")
        self.assertFalse(pub["can_withdraw"])
        self.assertFalse(pub["can_evaluate"])
        self.assertIsNone(pub["deadline"])
        self.assertEqual(pub["history"][-1]["note"], "企业撤回：已与对方协商解决")
        # Staff: withdrawn by the enterprise, the reason in the history, no deadline.
        d = self.detail(cid)
        self.assertEqual(d["status"], "withdrawn")
        last = d["history"][-1]
        self.assertEqual((last["from"], last["to"], last["by"]),
                         ("submitted", "withdrawn", "enterprise"))
        self.assertEqual(last["note"], "企业撤回：已与对方协商解决")
        self.assertIsNone(d["deadline"])
        self.assertIsNone(self.stack.redis_command("ZSCORE", PREFIX + "cases:due", cid))
        self.assertIsNotNone(self.stack.redis_command("ZSCORE", PREFIX + "cases:withdrawn", cid))
        self.assertIsNotNone(self.stack.redis_command("ZSCORE", PREFIX + "cases:status:withdrawn",
                                                      cid))
        self.assertIsNone(self.stack.redis_command("ZSCORE", PREFIX + "cases:status:submitted",
                                                   cid))
        self.assertEqual(self.hget(cid, "withdrawn_by"), "enterprise")
        # The event the bot turns into the chat notice, and the audit entry.
        evs = self.stack.redis_command("XRANGE", PREFIX + "events", "-", "+")
        mine = [dict(zip(f[::2], f[1::2])) for _i, f in evs]
        mine = [e for e in mine if e.get("id") == cid and e.get("type") == "case_status"]
        self.assertEqual([(e["to"], e["by"]) for e in mine], [("withdrawn", "enterprise")])
        audit = self.stack.redis_command("XRANGE", PREFIX + "audit", "-", "+")
        acts = [dict(zip(f[::2], f[1::2])) for _i, f in audit]
        self.assertIn(("enterprise", "case_withdraw", cid),
                      [(a["who"], a["action"], a["target"]) for a in acts])
        # A repeat: 409, the case as it was.
        e = self.error(c.call("POST", "/api/cases/%s/withdraw" % cid, {}), 409,
                       "already_withdrawn")
        self.assertEqual(e["message"], "该案件已撤回，无需重复操作。")
        self.assertEqual(len(self.detail(cid)["history"]), 2)
        # The digest lists it, also as text.
        r = self.staff("GET", "/api/admin/digest", token=TOKENS.viewer)
        self.assertEqual(r.status, 200, r)
        dg = r.json()
        dg = dg.get("digest", dg)
        self.assertIn(cid, [x["id"] for x in dg["withdrawn"]])
        self.assertGreaterEqual(dg["total_withdrawn"], 1)
        text = json.dumps(r.json(), ensure_ascii=False)
        self.assertIn("企业撤回", text)

    def test_needs_info_with_a_lookup_code_and_no_reason(self):
        cid, mobile = "TS20261206-0202", "13800140202"
        self.add(cid, mobile, status="needs_info")
        c = self.client(mobile, "lookup")
        r = c.call("POST", "/api/cases/%s/withdraw" % cid, {})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["case"]["status"], "withdrawn")
        self.assertEqual(self.detail(cid)["history"][-1]["note"], "企业撤回")

    def test_refused_after_a_decision(self):
        mobile = "13800140203"
        c = self.client(mobile)
        for n, status in ((3, "accepted"), (4, "rejected"), (5, "in_progress"), (6, "closed")):
            cid = "TS20261206-020%d" % n
            self.add(cid, mobile, status=status)
            e = self.error(c.call("POST", "/api/cases/%s/withdraw" % cid, {"reason": "x"}), 409,
                           "decision_taken")
            self.assertIn("不能撤回", e["message"])
            self.assertEqual(self.hget(cid, "status"), status)

    def test_consultation(self):
        mobile = "13800140210"
        c = self.client(mobile)
        self.add("ZX20261206-0210", mobile, form="consult")
        r = c.call("POST", "/api/cases/ZX20261206-0210/withdraw", {"reason": "问题已解决"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["case"]["status"], "withdrawn")
        self.add("ZX20261206-0211", mobile, form="consult", status="assigned")
        self.error(c.call("POST", "/api/cases/ZX20261206-0211/withdraw", {}), 409,
                   "decision_taken")

    def test_bad_requests(self):
        cid, mobile = "TS20261206-0220", "13800140220"
        self.add(cid, mobile)
        c = self.client(mobile)
        e = self.error(c.call("POST", "/api/cases/%s/withdraw" % cid, {"reason": "长" * 501}),
                       422, "validation_failed")
        self.assertIn("reason", e["fields"])
        self.error(c.call("POST", "/api/cases/%s/withdraw" % cid, {"reason": 5}), 422,
                   "validation_failed")
        self.error(c.call("POST", "/api/cases/%s/withdraw" % cid, {"reason": "a\x1fb"}), 422,
                   "validation_failed")
        self.error(c.call("POST", "/api/cases/%s/withdraw" % cid, raw=b"[1]",
                          headers={"Content-Type": "application/json"}), 400, "malformed_json")
        self.error(c.call("POST", "/api/cases/TS20261206-9999/withdraw", {}), 404, "not_found")
        self.error(c.call("POST", "/api/cases/nonsense/withdraw", {}), 404, "not_found")
        r = c.call("GET", "/api/cases/%s/withdraw" % cid)
        self.assertEqual(r.status, 405, r)
        self.assertEqual(self.hget(cid, "status"), "submitted")
        # 500 characters are fine.
        r = c.call("POST", "/api/cases/%s/withdraw" % cid, {"reason": "长" * 500})
        self.assertEqual(r.status, 200, r)

    def test_concurrent_withdrawals_one_change(self):
        cid, mobile = "TS20261206-0230", "13800140230"
        self.add(cid, mobile)
        c = self.client(mobile)
        out = []

        def go():
            out.append(c.call("POST", "/api/cases/%s/withdraw" % cid, {}))

        ts = [threading.Thread(target=go) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(sorted(r.status for r in out), [200, 409, 409, 409], out)
        self.assertEqual(len(self.detail(cid)["history"]), 2)


class TestEvaluation(LoopCase, unittest.TestCase):
    STACK_ARGS = {"fake": True, "ini": dict(ini(), retention={"closed_case_days": 1095})}

    def rate(self, c, cid, rating="satisfied", comment=None):
        body = {"rating": rating}
        if comment is not None:
            body["comment"] = comment
        return c.call("POST", "/api/cases/%s/evaluation" % cid, body)

    def test_once_after_closing(self):
        cid, mobile = "TS20261206-0301", "13800140301"
        self.add(cid, mobile, status="answered")
        c = self.client()
        self.error(self.rate(c, cid), 403, "mobile_unverified")
        c.prove(self, mobile, "lookup")
        # Not closed yet: 409, nothing stored.
        e = self.error(self.rate(c, cid), 409, "not_closed")
        self.assertIn("已答复", e["message"])
        self.assertIsNone(self.hget(cid, "rating"))
        lk = self.stack.request("POST", "/api/cases/%s/lookup" % cid,
                                body=json.dumps({"mobile": mobile}).encode(),
                                headers={"Content-Type": "application/json"})
        self.assertFalse(lk.json()["case"]["can_evaluate"])
        r = self.staff("POST", "/api/admin/cases/%s/transitions" % cid,
                       {"to": "closed", "note": "办结", "result": "paid_full", "recovered": "100"})
        self.assertEqual(r.status, 200, r)
        lk = self.stack.request("POST", "/api/cases/%s/lookup" % cid,
                                body=json.dumps({"mobile": mobile}).encode(),
                                headers={"Content-Type": "application/json"})
        self.assertTrue(lk.json()["case"]["can_evaluate"])
        self.assertNotIn("evaluation", lk.json()["case"])
        r = self.rate(c, cid, "basically_satisfied", "处理及时，但回款还差一部分 13800001111")
        self.assertEqual(r.status, 200, r)
        pub = r.json()["case"]
        self.assertFalse(pub["can_evaluate"])
        self.assertEqual(pub["evaluation"]["rating"], "basically_satisfied")
        self.assertEqual(pub["evaluation"]["label"], "基本满意")
        self.assertEqual(pub["evaluation"]["comment"], "处理及时，但回款还差一部分 13800001111")
        # Once only, whatever the second says.
        e = self.error(self.rate(c, cid, "dissatisfied"), 409, "already_evaluated")
        self.assertEqual(e["message"], "该案件已评价，每个案件只能评价一次。")
        self.assertEqual(self.hget(cid, "rating"), "basically_satisfied")
        # Staff: in the detail, the history and the list.
        d = self.detail(cid)
        self.assertEqual((d["rating"], d["rating_label"]), ("basically_satisfied", "基本满意"))
        self.assertEqual(d["rating_comment"], "处理及时，但回款还差一部分 13800001111")
        ev = [e for e in d["history"] if e.get("kind") == "evaluation"]
        self.assertEqual(len(ev), 1)
        self.assertEqual((ev[0]["by"], ev[0]["rating"]), ("enterprise", "basically_satisfied"))
        r = self.staff("GET", "/api/admin/cases?status=closed", token=TOKENS.viewer)
        row = [x for x in r.json()["cases"] if x["id"] == cid][0]
        self.assertEqual(row["rating"], "basically_satisfied")
        # The exports: CSV columns and JSON Lines members.
        r = self.staff("GET", "/api/admin/cases.csv?status=closed", token=TOKENS.admin)
        self.assertEqual(r.status, 200, r)
        rows = list(csv.reader(io.StringIO(r.body.decode("utf-8-sig"))))
        head = rows[0]
        mine = [x for x in rows[1:] if x and x[0] == cid][0]
        self.assertEqual(mine[head.index("企业评价")], "基本满意")
        self.assertEqual(mine[head.index("评价意见")], "处理及时，但回款还差一部分 13800001111")
        r = self.staff("GET", "/api/admin/cases.jsonl?status=closed", token=TOKENS.admin)
        line = [json.loads(x) for x in r.body.decode().splitlines() if cid in x][0]
        self.assertEqual((line["rating"], line["rating_comment"]),
                         ("basically_satisfied", "处理及时，但回款还差一部分 13800001111"))
        # The public lookup shows the history without the evaluation line.
        lk = self.stack.request("POST", "/api/cases/%s/lookup" % cid,
                                body=json.dumps({"mobile": mobile}).encode(),
                                headers={"Content-Type": "application/json"})
        self.assertEqual(lk.json()["case"]["evaluation"]["label"], "基本满意")
        self.assertEqual([h["status"] for h in lk.json()["case"]["history"]],
                         ["submitted", "closed"])

    def test_pack_from_before_ratings_still_read(self):
        """A list_row packed before the rating fields (24 of them) is still
        read from the pack: the list shows what the pack says."""
        cid, mobile = "TS20261206-0306", "13800140306"
        self.add(cid, mobile)
        ck = PREFIX + "case:" + cid
        parts = self.stack.redis_command("HGET", ck, "list_row").split("\x1f")
        self.assertEqual(len(parts), 1 + 27)
        # Packs of 24 fields (before the rating) and of 26 (before the
        # result's reason) are read too.
        for n, status in ((24, "accepted"), (26, "transferred")):
            old = parts[:1 + n]
            old[3] = "=" + status  # status: only the pack says so
            self.stack.redis_command("HSET", ck, "list_row", "\x1f".join(old))
            r = self.staff("GET", "/api/admin/cases?q=" + cid, token=TOKENS.viewer)
            row = [x for x in r.json()["cases"] if x["id"] == cid][0]
            self.assertEqual(row["status"], status, n)
            self.assertNotIn("rating", row)

    def test_bad_ratings(self):
        cid, mobile = "TS20261206-0302", "13800140302"
        self.add(cid, mobile, status="closed")
        c = self.client(mobile)
        for body in ({}, {"rating": "great"}, {"rating": 1}, {"rating": None}):
            e = self.error(c.call("POST", "/api/cases/%s/evaluation" % cid, body), 422,
                           "validation_failed")
            self.assertIn("rating", e["fields"])
        e = self.error(self.rate(c, cid, comment="长" * 501), 422, "validation_failed")
        self.assertIn("comment", e["fields"])
        self.error(self.rate(c, cid, comment=["x"]), 422, "validation_failed")
        self.error(self.rate(c, "TS20261206-9998"), 404, "not_found")
        self.assertIsNone(self.hget(cid, "rating"))
        self.assertEqual(self.rate(c, cid, "dissatisfied", "长" * 500).status, 200)

    def test_withdrawn_case_cannot_be_rated(self):
        cid, mobile = "TS20261206-0303", "13800140303"
        self.add(cid, mobile, status="withdrawn")
        c = self.client(mobile)
        self.error(self.rate(c, cid), 409, "not_closed")

    def test_concurrent_ratings_one_stored(self):
        cid, mobile = "TS20261206-0304", "13800140304"
        self.add(cid, mobile, status="closed")
        c = self.client(mobile)
        out = []

        def go(rating):
            out.append(self.rate(c, cid, rating))

        ts = [threading.Thread(target=go, args=(r,))
              for r in ("satisfied", "dissatisfied", "basically_satisfied", "satisfied")]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(sorted(r.status for r in out), [200, 409, 409, 409], out)
        won = [r for r in out if r.status == 200][0].json()["case"]["evaluation"]["rating"]
        self.assertEqual(self.hget(cid, "rating"), won)
        log = self.stack.redis_command("LRANGE", PREFIX + "case:%s:log" % cid, 0, -1)
        self.assertEqual(sum(1 for e in log if '"evaluation"' in e), 1)

    def test_retention_keeps_the_rating_not_the_comment(self):
        cid, mobile = "TS20221206-0305", "13800140305"
        old = int(time.time() * 1000) - 4 * 365 * DAY
        log = [{"at_ms": old, "from": "", "to": "submitted", "by": "web", "note": ""},
               {"at_ms": old + DAY, "from": "answered", "to": "closed", "by": "hd1", "note": ""}]
        self.add(cid, mobile, status="closed", log=log, now=old)
        c = self.client(mobile)
        self.assertEqual(self.rate(c, cid, "dissatisfied", "承办人张三态度不好").status, 200)
        p = subprocess.run([os.path.join(BIN_DIR, "zhuqi-admin"), "-c", self.stack.ini_path,
                            "retention", "--apply"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, env=child_env(), timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIsNotNone(self.hget(cid, "purged_ms"))
        self.assertEqual(self.hget(cid, "rating"), "dissatisfied")
        self.assertIsNone(self.hget(cid, "rating_comment"))
        log = self.stack.redis_command("LRANGE", PREFIX + "case:%s:log" % cid, 0, -1)
        self.assertNotIn("张三", "".join(log))
        self.assertIn('"rating":"dissatisfied"', "".join(log))
        self.assertNotIn("张三", self.hget(cid, "list_row"))
        d = self.detail(cid)
        self.assertEqual(d["rating"], "dissatisfied")
        self.assertNotIn("rating_comment", d)


class TestSatisfactionStats(LoopCase, unittest.TestCase):
    STACK_ARGS = {"ini": dict(TOKENS.ini())}

    def test_by_region_type_month_and_cli(self):
        cases = [  # id, form, region, created, status, rating
            ("TS20261005-0401", "complaint", "510100", ms_at(2026, 10, 5), "closed", "satisfied"),
            ("TS20261103-0402", "complaint", "510100", ms_at(2026, 11, 3), "closed", "dissatisfied"),
            ("TS20261110-0403", "complaint", "510700", ms_at(2026, 11, 10), "closed",
             "basically_satisfied"),
            ("ZX20261112-0404", "consult", "510700", ms_at(2026, 11, 12), "closed", "satisfied"),
            ("TS20261115-0405", "complaint", "510100", ms_at(2026, 11, 15), "closed", None),
            ("TS20261116-0406", "complaint", "510100", ms_at(2026, 11, 16), "submitted", None),
        ]
        cmds = []
        for cid, form, region, created, status, rating in cases:
            ans = complaint_answers(int(cid[-1])) if form == "complaint" else consult_answers(1)
            extra = {"rating": rating, "rated_ms": str(created + DAY)} if rating else None
            cmds += case_commands(cid, form, created, ans, status=status, region=region,
                                  extra=extra)
        redis_pipeline(self.stack, cmds)
        r = self.staff("GET", "/api/admin/stats", token=TOKENS.viewer)
        self.assertEqual(r.status, 200, r)
        sat = r.json()["stats"]["satisfaction"]
        self.assertEqual((sat["rated"], sat["closed"], sat["response_share"]), (4, 5, 0.8))
        self.assertEqual((sat["satisfied"], sat["basically_satisfied"], sat["dissatisfied"]),
                         (2, 1, 1))
        self.assertEqual(sat["satisfied_share"], 0.75)
        by = {x["type"]: x for x in sat["by_type"]}
        self.assertEqual((by["complaint"]["rated"], by["complaint"]["satisfied_share"]), (3, 0.667))
        self.assertEqual((by["consult"]["rated"], by["consult"]["satisfied_share"]), (1, 1.0))
        by = {x["region"]: x for x in sat["by_region"]}
        self.assertEqual((by["510100"]["rated"], by["510100"]["dissatisfied"],
                          by["510100"]["satisfied_share"]), (2, 1, 0.5))
        self.assertEqual(by["510100"]["label"], "成都市")
        self.assertEqual((by["510700"]["rated"], by["510700"]["satisfied_share"]), (2, 1.0))
        self.assertEqual([(x["month"], x["rated"]) for x in sat["by_month"]],
                         [("2026-10", 1), ("2026-11", 3)])
        # Filters apply to it as to every count.
        r = self.staff("GET", "/api/admin/stats?type=consult", token=TOKENS.viewer)
        self.assertEqual(r.json()["stats"]["satisfaction"]["rated"], 1)
        # zhuqi-admin stats: tables by default, the API's object with --json.
        cli = [os.path.join(BIN_DIR, "zhuqi-admin"), "-c", self.stack.ini_path, "stats"]
        p = subprocess.run(cli + ["--json"], capture_output=True, text=True, env=child_env(),
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["satisfaction"], sat)
        p = subprocess.run(cli, capture_output=True, text=True, env=child_env(), timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        self.assertNotIn("{", out)
        self.assertIn("Cases: 6 total", out)
        self.assertIn("Satisfaction: 4 rated of 5 closed (80.0%)", out)
        self.assertRegex(out, r"Satisfaction by region\n +region +rated +satisfied +basically "
                              r"+dissatisfied +satisfied_share +label\n +510100 +2 +1 +0 +1 "
                              r"+50\.0% +成都市\n")
        self.assertRegex(out, r"By status\n +status +cases +label\n +closed +5 +已办结\n"
                              r" +submitted +1 +已提交\n")
        self.assertRegex(out, r"\n +2026-11 +3 +1 +1 +1 +66\.7%\n")


class TestWithoutCodes(LoopCase, unittest.TestCase):
    """Without SMS nobody can prove a mobile: 409 says so."""

    STACK_ARGS = {"ini": dict(TOKENS.ini())}

    def test_409(self):
        cid = "TS20261206-0240"
        self.add(cid, "13800140240")
        c = CodeClient(self.stack)
        c.open()
        self.error(c.call("POST", "/api/cases/%s/withdraw" % cid, {}), 409, "sms_not_configured")


if __name__ == "__main__":
    unittest.main()

"""The staff list's packed fields (include/zhuqi/summary.h): a case made
through the real intake API is stored with list_sum and list_row, laid out
as tests/e2e/staff_util.py (and so bench/staff_bench.py) writes them; a
move rewrites list_row; a case stored before the packs is listed exactly
like one with them, and gets its packs at its first move; a pack left
behind by another writer is not believed."""

import json
import unittest
import uuid

from harness import StackCase
from staff_util import (PREFIX, Tokens, auth, case_commands, case_id, complaint_answers,
                        consult_answers, list_packs, ms_at, redis_pipeline)

TOKENS = Tokens()
NOW = ms_at(2026, 10, 20, 10)


class SummaryBase(StackCase):
    STACK_ARGS = {"ini": TOKENS.ini()}

    def call(self, method, path, token=None, body=None):
        h = auth(token or TOKENS.viewer, **{"X-Debug-Now-Ms": str(NOW)})
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            h["Content-Type"] = "application/json"
        return self.stack.request(method, path, body=data, headers=h)

    def listing(self, query):
        r = self.call("GET", "/api/admin/cases?" + query)
        self.assertEqual(r.status, 200, r)
        return {c["id"]: c for c in r.json()["cases"]}

    def hash(self, cid):
        flat = self.stack.redis_command("HGETALL", PREFIX + "case:" + cid)
        return dict(zip(flat[::2], flat[1::2]))

    def assert_packs_match(self, cid):
        """The packs in Redis are what staff_util computes from the hash."""
        h = self.hash(cid)
        list_sum, list_row = list_packs(h["form"], json.loads(h["answers"]), h)
        self.assertEqual(h.get("list_sum"), list_sum)
        self.assertEqual(h.get("list_row"), list_row)
        return h


class TestSummary(SummaryBase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cmds = []
        base = ms_at(2026, 10, 12, 9)
        # Pairs of cases with the same answers: with packs (as the app
        # stores them now) and without (as stored before).
        variants = [
            ("complaint", complaint_answers(1)),
            ("complaint", complaint_answers(2, respondent_region="500000",
                                            company_name="引号\"与<尖括号>&公司")),
            ("complaint", complaint_answers(3, respondent_region="110000", amount_fen=0,
                                            contact_name="欧")),
            ("consult", consult_answers(4)),
            ("consult", consult_answers(5, topic=None, region="513400")),
        ]
        cls.pairs = []
        for i, (form, ans) in enumerate(variants):
            prefix = "TS" if form == "complaint" else "ZX"
            new = case_id(prefix, "20261012", 2 * i + 1)
            old = case_id(prefix, "20261012", 2 * i + 2)
            cmds += case_commands(new, form, base + 2 * i, ans, region=ans["region"])
            cmds += case_commands(old, form, base + 2 * i + 1, ans, region=ans["region"],
                                  summary=False)
            cls.pairs.append((new, old))
        redis_pipeline(cls.stack, cmds)

    def test_legacy_listed_like_packed(self):
        rows = self.listing("to=2026-10-12&limit=50")
        self.assertEqual(len(rows), 2 * len(self.pairs))
        for new, old in self.pairs:
            with self.subTest(case=new):
                self.assertIn("list_row", self.hash(new))
                self.assertNotIn("list_row", self.hash(old))
                a, b = dict(rows[new]), dict(rows[old])
                for k in ("id", "created_at", "updated_at"):
                    a.pop(k)
                    b.pop(k)
                self.assertEqual(a, b)
        self.assertEqual(rows[self.pairs[1][0]]["company_name"], "引号\"与<尖括号>&公司")
        self.assertEqual(rows[self.pairs[1][0]]["cross_region"]["partner"], "500000")
        self.assertEqual(rows[self.pairs[2][0]]["amount_fen"], 0)
        self.assertEqual(rows[self.pairs[2][0]]["contact_name"], "*")
        self.assertNotIn("topic", rows[self.pairs[4][0]])
        self.assertEqual(rows[self.pairs[4][0]]["office"], "513400")

    def test_move_writes_packs(self):
        new, old = self.pairs[0]
        for cid in (new, old):
            r = self.call("POST", "/api/admin/cases/%s/transitions" % cid, TOKENS.handler,
                          {"to": "accepted", "note": "予以受理"})
            self.assertEqual(r.status, 200, r)
            h = self.assert_packs_match(cid)
            self.assertEqual(h["status"], "accepted")
            self.assertIn("\x1f=accepted\x1f", h["list_row"])
        r = self.call("POST", "/api/admin/cases/%s/assign" % old, TOKENS.handler,
                      {"handler": "hd2", "office": "510700"})
        self.assertEqual(r.status, 200, r)
        self.assert_packs_match(old)
        rows = self.listing("status=accepted&limit=10")
        self.assertEqual(rows[new]["deadline"]["clock"], "transfer")
        self.assertEqual(rows[old]["handler"], "hd2")
        self.assertEqual(rows[old]["office"], "510700")
        self.assertTrue(rows[old]["office_assigned"])
        a, b = dict(rows[new]), dict(rows[old])
        for k in ("id", "created_at", "updated_at", "handler", "office", "office_name",
                  "office_assigned"):
            a.pop(k)
            b.pop(k)
        self.assertEqual(a, b)

    def test_pack_left_behind_not_believed(self):
        new = self.pairs[3][0]
        # A writer that changes a row field and updated_ms, not the pack.
        self.stack.redis_command("HSET", PREFIX + "case:" + new, "handler", "hd9",
                                 "updated_ms", str(ms_at(2026, 10, 13, 9)))
        rows = self.listing("type=consult&to=2026-10-12&limit=10")
        self.assertEqual(rows[new]["handler"], "hd9")
        self.assertEqual(rows[new]["updated_at"], "2026-10-13T09:00:00+08:00")


class TestIntakeCasePacks(SummaryBase, unittest.TestCase):
    def test_intake_case_has_packs(self):
        from test_intake import Client, sample_for
        c = Client(self.stack)
        self.assertIn(c.start("complaint").status, (200, 201))
        schema = self.stack.get("/api/forms/complaint").json()
        answers = {}
        for st in schema["steps"]:
            if st.get("review"):
                continue
            ans = {f["id"]: sample_for(f) for f in st.get("fields", [])}
            r = c.call("PUT", "/api/intake/complaint/steps/" + st["id"], {"answers": ans})
            self.assertEqual(r.status, 200, r)
            answers.update(ans)
        r = c.call("POST", "/api/intake/complaint/submit",
                   headers={"Idempotency-Key": uuid.uuid4().hex})
        self.assertEqual(r.status, 201, r)
        cid = r.json()["case"]["id"]
        h = self.assert_packs_match(cid)
        self.assertTrue(h["list_sum"].startswith("1\x1f"))
        stored = json.loads(h["answers"])
        self.assertIn("\x1f" + stored["company_name"] + "\x1f", h["list_sum"])
        r = self.stack.get("/api/admin/cases?type=complaint&limit=5",
                           headers=auth(TOKENS.viewer))
        row = {x["id"]: x for x in r.json()["cases"]}[cid]
        self.assertEqual(row["company_name"], stored["company_name"])
        self.assertEqual(row["respondent_name"], stored["respondent_name"])
        self.assertEqual(row["amount_fen"], stored["amount_fen"])
        self.assertEqual(row["deadline"]["clock"], "review")
        r = self.stack.request("POST", "/api/admin/cases/%s/transitions" % cid,
                               body=json.dumps({"to": "accepted"}).encode(),
                               headers=auth(TOKENS.handler,
                                            **{"Content-Type": "application/json"}))
        self.assertEqual(r.status, 200, r)
        h2 = self.assert_packs_match(cid)
        self.assertEqual(h2["list_sum"], h["list_sum"])
        self.assertNotEqual(h2["list_row"], h["list_row"])


if __name__ == "__main__":
    unittest.main()

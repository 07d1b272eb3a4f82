"""The staff list's cursor pagination while new cases arrive (no row
skipped, none repeated, ties in creation time across page boundaries),
exports of 10,000 cases in CSV and JSON Lines whose rows and content match
what is stored, statistics checked against a known set, and zhuqi-admin's
export, stats, digest, calendar check and token create."""

import csv
import io
import json
import os
import random
import re
import subprocess
import unittest

from harness import BIN_DIR, StackCase, child_env, sha256_hex
from staff_util import (PREFIX, Tokens, auth, case_commands, case_id, complaint_answers,
                        consult_answers, ms_at, redis_pipeline)

TOKENS = Tokens()
ADMIN_BIN = os.path.join(BIN_DIR, "zhuqi-admin")


class DataBase(StackCase):
    STACK_ARGS = {"ini": TOKENS.ini()}

    def get(self, path, token=None, now=None):
        h = auth(token or TOKENS.viewer)
        if now is not None:
            h["X-Debug-Now-Ms"] = str(now)
        return self.stack.get(path, headers=h)

    def post(self, path, body, token=None, now=None):
        h = auth(token or TOKENS.handler, **{"Content-Type": "application/json"})
        if now is not None:
            h["X-Debug-Now-Ms"] = str(now)
        return self.stack.request("POST", path, body=json.dumps(body, ensure_ascii=False),
                                  headers=h)

    def pages(self, query, limit, between=None):
        """Every page of a listing; between(i) runs after page i."""
        seen, cursor, i = [], None, 0
        while True:
            q = "%s&limit=%d" % (query, limit)
            if cursor:
                q += "&cursor=" + cursor
            r = self.get("/api/admin/cases?" + q)
            self.assertEqual(r.status, 200, r)
            body = r.json()
            self.assertLessEqual(len(body["cases"]), limit)
            seen.append([c["id"] for c in body["cases"]])
            cursor = body["next_cursor"]
            if between:
                between(i)
            i += 1
            if not cursor:
                return seen
            self.assertLess(i, 1000, "runaway pagination")

    def admin_cli(self, *args, check=True):
        p = subprocess.run([ADMIN_BIN, "-c", self.stack.ini_path] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(),
                           timeout=300)
        if check:
            self.assertEqual(p.returncode, 0, p.stderr.decode("utf-8", "replace"))
        for m in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            self.assertNotIn(m, p.stderr.decode("utf-8", "replace"))
        return p


class TestPagination(DataBase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cmds, cls.ids = [], []
        base = ms_at(2026, 10, 12, 9)
        # 150 cases, created three per millisecond (ties), mixed types.
        for i in range(150):
            cid = case_id("TS" if i % 3 else "ZX", "20261012", i + 1)
            form = "complaint" if i % 3 else "consult"
            ans = complaint_answers(i) if form == "complaint" else consult_answers(i)
            cmds += case_commands(cid, form, base + i // 3, ans,
                                  region="510100" if i % 2 else "510700")
            cls.ids.append((base + i // 3, cid, form, i % 2))
        redis_pipeline(cls.stack, cmds)
        cls.next_seq = 1000

    def arrive(self, n):
        """n new cases, created now (later than any listed)."""
        cmds = []
        for _ in range(n):
            TestPagination.next_seq += 1
            cmds += case_commands(case_id("TS", "20261013", TestPagination.next_seq),
                                  "complaint", ms_at(2026, 10, 13, 9) + TestPagination.next_seq,
                                  complaint_answers(self.next_seq), region="510100")
        redis_pipeline(self.stack, cmds)

    def expected(self, pred=lambda t: True):
        rows = sorted((t for t in self.ids if pred(t)), key=lambda t: (t[0], t[1]), reverse=True)
        return [t[1] for t in rows]

    def test_no_skip_no_repeat_while_arriving(self):
        for limit in (7, 25, 50):
            with self.subTest(limit=limit):
                # Only the original cases: those created before the first page.
                want = self.expected()
                pages = self.pages("to=2026-10-12", limit, between=lambda i: self.arrive(3))
                got = [x for p in pages for x in p]
                self.assertEqual(len(got), len(set(got)), "a row was repeated")
                self.assertEqual(got, want)
                # Without the date bound the new arrivals before the first
                # page come first, and later arrivals never show up.
                before = {c for c in self.all_ids()}
                pages = self.pages("type=complaint", limit, between=lambda i: self.arrive(2))
                got = [x for p in pages for x in p]
                self.assertEqual(len(got), len(set(got)))
                self.assertEqual(set(got), {c for c in before if c.startswith("TS")})
                self.assertTrue(all(len(p) == limit for p in pages[:-1]))

    def all_ids(self):
        return self.stack.redis_command("ZRANGE", PREFIX + "cases:all", 0, -1)

    def test_filters_and_ties(self):
        want = self.expected(lambda t: t[2] == "complaint" and t[3] == 1)
        got = [x for p in self.pages("type=complaint&region=510100&to=2026-10-12", 4) for x in p]
        self.assertEqual(got, want)
        # Search: one company name matches exactly one case.
        r = self.get("/api/admin/cases?to=2026-10-12&q=" + "%E6%88%90%E9%83%BD%E7%A4%BA%E4%BE%8B"
                     "%E7%A7%91%E6%8A%80%E6%9C%89%E9%99%90%E5%85%AC%E5%8F%B8101")
        ids = [c["id"] for c in r.json()["cases"]]
        self.assertEqual(ids, ["TS20261012-0102"])
        r = self.get("/api/admin/cases?to=2026-10-12&q=TS20261012-014")
        self.assertEqual(sorted(c["id"] for c in r.json()["cases"]),
                         sorted(t[1] for t in self.ids if t[1].startswith("TS20261012-014")))
        # A cursor whose row has meanwhile left the filter still goes on.
        r = self.get("/api/admin/cases?status=submitted&to=2026-10-12&limit=10")
        first = r.json()["cases"]
        last = first[-1]["id"]
        self.assertEqual(self.post("/api/admin/cases/%s/transitions" % last,
                                   {"to": "assigned" if last.startswith("ZX") else "accepted"})
                         .status, 200)
        r2 = self.get("/api/admin/cases?status=submitted&to=2026-10-12&limit=10&cursor="
                      + r.json()["next_cursor"])
        want = [x for x in self.expected() if x not in {c["id"] for c in first}][:10]
        self.assertEqual([c["id"] for c in r2.json()["cases"]], want)


class TestExport(DataBase, unittest.TestCase):
    N = 10000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cmds, cls.stored = [], {}
        base = ms_at(2026, 11, 2, 8)
        rnd = random.Random(7)
        tricky = ["=1+1", "+86 138", "-42", "@SUM(A1)", "逗号,引号\"和\n换行", "\t制表"]
        for i in range(cls.N):
            if i % 4 == 0:
                cid, form = case_id("ZX", "20261102", i + 1), "consult"
                ans = consult_answers(i, question="问题 %d %s" % (i, tricky[i % len(tricky)]))
            else:
                cid, form = case_id("TS", "20261102", i + 1), "complaint"
                ans = complaint_answers(i, facts=tricky[i % len(tricky)] + " 事实 %d" % i,
                                        amount_fen=rnd.randint(1, 10 ** 9))
            created = base + i * 37
            cmds += case_commands(cid, form, created, ans, mobile="139%08d" % i)
            cls.stored[cid] = (form, ans, created)
        redis_pipeline(cls.stack, cmds)

    def test_csv_10000(self):
        r = self.get("/api/admin/cases.csv", TOKENS.handler)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type").startswith("text/csv"))
        self.assertIn("attachment", r.header("Content-Disposition"))
        self.assertIsNone(r.header("Content-Length"))  # streamed, not buffered
        self.assertTrue(r.body.startswith(b"\xef\xbb\xbf"))
        text = r.body[3:].decode("utf-8")
        # Every record ends with CRLF (a bare LF only inside quoted fields).
        self.assertTrue(text.endswith("\r\n"))
        rows = list(csv.reader(io.StringIO(text, newline="")))
        head, rows = rows[0], rows[1:]
        self.assertEqual(head[0], "案件编号")
        self.assertEqual(len(rows), self.N)
        ids = [row[0] for row in rows]
        self.assertEqual(len(set(ids)), self.N)
        self.assertEqual(set(ids), set(self.stored))
        # Newest first.
        created = [self.stored[i][2] for i in ids]
        self.assertEqual(created, sorted(created, reverse=True))
        col = {name: head.index(name) for name in ("事实与经过", "咨询的问题", "拖欠金额",
                                                   "手机号码", "类型", "状态")}
        for row in rows[::97]:
            form, ans, _ = self.stored[row[0]]
            self.assertEqual(len(row), len(head))
            self.assertEqual(row[col["手机号码"]], ans["mobile"])
            self.assertEqual(row[col["状态"]], "已提交")
            if form == "complaint":
                want = ans["facts"]
                fen = ans["amount_fen"]
                self.assertEqual(row[col["拖欠金额"]], "%d.%02d" % (fen // 100, fen % 100))
                self.assertEqual(row[col["类型"]], "拖欠中小企业款项投诉")
            else:
                want = ans["question"]
            cell = row[col["事实与经过" if form == "complaint" else "咨询的问题"]]
            if want[0] in "=+-@\t\r":
                self.assertEqual(cell, "'" + want)
            else:
                self.assertEqual(cell, want)
        # No cell of the file starts a formula; a negative number (days
        # past a deadline, written by us) is a number, not a formula.
        left = head.index("剩余天数")
        for row in rows:
            for i, cell in enumerate(row):
                if i == left and re.fullmatch(r"-\d+", cell):
                    continue
                self.assertFalse(cell[:1] in ("=", "+", "-", "@", "\t", "\r"), (row[0], cell))

    def test_jsonl_10000_and_filters(self):
        r = self.get("/api/admin/cases.jsonl", TOKENS.handler)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.header("Content-Length"))
        lines = r.body.decode("utf-8").split("\n")
        self.assertEqual(lines[-1], "")
        objs = [json.loads(x) for x in lines[:-1]]
        self.assertEqual(len(objs), self.N)
        for o in objs:
            form, ans, created = self.stored[o["id"]]
            self.assertEqual(o["answers"], ans)
            self.assertEqual(o["type"], form)
            self.assertEqual(o["created_ms"], created)
        # The same filters as the list.
        r = self.get("/api/admin/cases.jsonl?type=consult", TOKENS.handler)
        n = len(r.body.decode().splitlines())
        self.assertEqual(n, sum(1 for v in self.stored.values() if v[0] == "consult"))
        r = self.get("/api/admin/cases.csv?q=" + "TS20261102-0003", TOKENS.handler)
        rows = list(csv.reader(io.StringIO(r.body[3:].decode(), newline="")))[1:]
        self.assertEqual(sorted(x[0] for x in rows),
                         sorted(i for i in self.stored if i.startswith("TS20261102-0003")))
        # An empty export still has the header.
        r = self.get("/api/admin/cases.csv?status=closed", TOKENS.handler)
        rows = list(csv.reader(io.StringIO(r.body[3:].decode(), newline="")))
        self.assertEqual(len(rows), 1)
        self.assertEqual(self.get("/api/admin/cases.jsonl?status=closed", TOKENS.handler).body, b"")
        # HEAD: the head only.
        r = self.stack.request("HEAD", "/api/admin/cases.csv", headers=auth(TOKENS.handler))
        self.assertEqual((r.status, r.body), (200, b""))

    def test_cli_export_matches(self):
        p = self.admin_cli("export", "--format", "jsonl", "--type", "complaint")
        lines = p.stdout.decode().splitlines()
        self.assertEqual(len(lines), sum(1 for v in self.stored.values() if v[0] == "complaint"))
        self.assertIn("exported", p.stderr.decode())
        http = self.get("/api/admin/cases.jsonl?type=complaint", TOKENS.handler).body.decode().splitlines()
        self.assertEqual([json.loads(x)["id"] for x in lines],
                         [json.loads(x)["id"] for x in http])
        p = self.admin_cli("export", "--format", "csv", "--status", "submitted", "--from",
                           "2026-11-02", "--to", "2026-11-02")
        self.assertTrue(p.stdout.startswith(b"\xef\xbb\xbf"))
        rows = list(csv.reader(io.StringIO(p.stdout[3:].decode(), newline="")))
        self.assertEqual(len(rows), self.N + 1)
        for bad in (["export"], ["export", "--format", "xml"], ["export", "--format", "csv",
                                                                "--region", "nowhere"],
                    ["export", "--format", "csv", "--bogus", "1"], ["frobnicate"]):
            p = self.admin_cli(*bad, check=False)
            self.assertEqual(p.returncode, 2, bad)


class TestStats(DataBase, unittest.TestCase):
    """A known set: 5 complaints and 3 consultations over two months and
    three regions; two complaints answered (one on time, one late), one
    consultation answered."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cmds = []
        # A: transferred 9/10, answered 9/20 (due 10/10 -> 10/12): on time.
        cmds += case_commands("TS20260901-0001", "complaint", ms_at(2026, 9, 1),
                              complaint_answers(1), status="transferred", log=[
                                  {"at_ms": ms_at(2026, 9, 1), "from": "", "to": "submitted"},
                                  {"at_ms": ms_at(2026, 9, 2), "from": "submitted",
                                   "to": "accepted"},
                                  {"at_ms": ms_at(2026, 9, 10), "from": "accepted",
                                   "to": "transferred"}])
        # B: transferred 9/2, due 10/2 -> 10/8, answered 10/20: late.
        cmds += case_commands("TS20260901-0002", "complaint", ms_at(2026, 9, 1),
                              complaint_answers(2), status="transferred", log=[
                                  {"at_ms": ms_at(2026, 9, 1), "from": "", "to": "submitted"},
                                  {"at_ms": ms_at(2026, 9, 2), "from": "accepted",
                                   "to": "transferred"}])
        cmds += case_commands("TS20260915-0001", "complaint", ms_at(2026, 9, 15),
                              complaint_answers(3), region="510700")
        cmds += case_commands("TS20261005-0001", "complaint", ms_at(2026, 10, 5),
                              complaint_answers(4), region="510700")
        cmds += case_commands("TS20261006-0001", "complaint", ms_at(2026, 10, 6),
                              complaint_answers(5), region="511300")
        cmds += case_commands("ZX20261001-0001", "consult", ms_at(2026, 10, 1),
                              consult_answers(1), region="510100")
        cmds += case_commands("ZX20261002-0001", "consult", ms_at(2026, 10, 2),
                              consult_answers(2), region="510100")
        cmds += case_commands("ZX20261003-0001", "consult", ms_at(2026, 10, 3),
                              consult_answers(3), region="510700")
        redis_pipeline(cls.stack, cmds)

    def test_known_numbers(self):
        def move(cid, to, note, when, **extra):
            body = {"to": to, "note": note}
            body.update(extra)
            r = self.post("/api/admin/cases/%s/transitions" % cid, body, now=when)
            self.assertEqual(r.status, 200, r)

        move("TS20260901-0001", "answered", "已答复", ms_at(2026, 9, 20), result="paid_full",
             recovered="1,000.50")
        move("TS20260901-0002", "answered", "已答复", ms_at(2026, 10, 20), result="paid_part",
             recovered_fen=20000)
        move("ZX20261001-0001", "assigned", "", ms_at(2026, 10, 2))
        move("ZX20261001-0001", "answered", "已电话答复", ms_at(2026, 10, 3))
        move("TS20260901-0002", "closed", "", ms_at(2026, 10, 21), result="paid_part",
             recovered_fen=30000)

        r = self.get("/api/admin/stats", now=ms_at(2026, 10, 22))
        self.assertEqual(r.status, 200, r)
        s = r.json()["stats"]
        self.assertEqual(s["total"], 8)
        self.assertEqual({x["type"]: x["count"] for x in s["by_type"]},
                         {"complaint": 5, "consult": 3})
        self.assertEqual({x["status"]: x["count"] for x in s["by_status"]},
                         {"answered": 2, "closed": 1, "submitted": 5})
        self.assertEqual({x["region"]: x["count"] for x in s["by_region"]},
                         {"510100": 4, "510700": 3, "511300": 1})
        self.assertEqual([(x["month"], x["count"]) for x in s["by_month"]],
                         [("2026-09", 3), ("2026-10", 5)])
        labels = {x["region"]: x["label"] for x in s["by_region"]}
        self.assertEqual(labels["510100"], "成都市")
        # Days from submission to answer: 19, 49 and 2 -> median 19.
        a = s["answer"]
        self.assertEqual((a["answered"], a["median_days"]), (3, 19.0))
        self.assertEqual((a["with_limit"], a["on_time"], a["on_time_share"]), (2, 1, 0.5))
        self.assertEqual(s["answer_by_type"]["complaint"]["median_days"], 34.0)
        self.assertEqual(s["answer_by_type"]["consult"]["median_days"], 2.0)
        self.assertIsNone(s["answer_by_type"]["consult"]["on_time_share"])
        # Review deadlines passed by 10/22 for the three open complaints:
        # 9/15 (due 9/29), 10/5 and 10/6 (holidays: counted from 10/8, due
        # 10/20).
        self.assertEqual(s["overdue_open"], 3)
        s3 = self.get("/api/admin/stats", now=ms_at(2026, 10, 20)).json()["stats"]
        self.assertEqual(s3["overdue_open"], 1)
        # Filters apply.
        s2 = self.get("/api/admin/stats?type=consult&from=2026-10-02").json()["stats"]
        self.assertEqual(s2["total"], 2)
        # zhuqi-admin stats agrees with the API.
        p = self.admin_cli("stats", "--json")
        cli = json.loads(p.stdout)
        self.assertEqual(cli["by_status"], s["by_status"])
        self.assertEqual(cli["answer"], s["answer"])
        # The amounts reported upward (issue 16 item 12), the same in both.
        self.assertEqual(cli["amounts"], s["amounts"])
        self.assertEqual(s["amounts"]["recovered_fen"], 100050 + 30000)
        self.assertEqual(cli["on_time"], s["on_time"])

    def test_cli_misc(self):
        p = self.admin_cli("calendar", "check")
        out = p.stdout.decode()
        self.assertRegex(out, r"2026: ok: 国务院办公厅关于2026年部分节假日安排的通知; 248 working days, "
                              r"19 weekdays off, 6 weekend working days")
        p = self.admin_cli("token", "create", "newbie", "viewer")
        out = p.stdout.decode()
        token = re.search(r"^    ([0-9a-f]{64})$", out, re.M).group(1)
        line = re.search(r"token = (newbie:viewer:[0-9a-f]{64})", out).group(1)
        self.assertEqual(line.split(":")[2], sha256_hex(token))
        self.assertEqual(self.admin_cli("token", "create", "boss", "admin", check=False)
                         .returncode, 2)  # the name is taken
        self.assertEqual(self.admin_cli("token", "create", "x y", "admin", check=False)
                         .returncode, 2)
        self.assertEqual(self.admin_cli("token", "create", "ok", "emperor", check=False)
                         .returncode, 2)
        p = self.admin_cli("digest", "--date", "2026-10-21", "--json")
        d = json.loads(p.stdout)
        self.assertEqual(d["date"], "2026-10-21")
        self.assertGreaterEqual(d["total_overdue"], 1)


if __name__ == "__main__":
    unittest.main()

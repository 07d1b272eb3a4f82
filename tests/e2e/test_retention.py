"""Personal data retention (lib/app/retention.c): zhuqi-admin retention
--dry-run and --apply on cases closed long ago, recently, and never;
statistics identical before and after; the purge audited; old audit
entries trimmed; the periods served to the privacy notice; and
zhuqi-bot's daily run, leased like the scheduler."""

import json
import os
import subprocess
import time
import unittest

from bot_util import get
from harness import BIN_DIR, StackCase, child_env
from staff_util import case_commands, complaint_answers, consult_answers, redis_pipeline
from test_files import jpeg, pdf
from test_intake import Client

ADMIN_BIN = os.path.join(BIN_DIR, "zhuqi-admin")
P = "zqe2e:"
DAY = 86400000
PERSONAL = ["company_name", "uscc", "contact_name", "mobile", "address", "respondent_name",
            "contract_name", "contract_no", "facts", "demand", "evidence", "question"]


def admin(stack, *args):
    p = subprocess.run([ADMIN_BIN, "-c", stack.ini_path] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=child_env(), timeout=120)
    return p


def case_set(now):
    """(id, form, status, closed_ms or None, answers) of the test cases."""
    old, recent = now - 4 * 365 * DAY, now - 10 * DAY
    return [
        ("TS20220101-0001", "complaint", "closed", old, complaint_answers(1, mobile="13800000001")),
        ("TS20220101-0002", "complaint", "withdrawn", old, complaint_answers(2)),
        ("TS20260101-0003", "complaint", "closed", recent, complaint_answers(3)),
        ("TS20220101-0004", "complaint", "answered", None, complaint_answers(4)),
        ("ZX20220101-0005", "consult", "closed", old, consult_answers(5)),
    ]


class TestRetention(StackCase, unittest.TestCase):
    STACK_ARGS = {"ini": {"retention": {"closed_case_days": 1095, "audit_days": 365}}}

    def fill(self, now):
        cmds = []
        for cid, form, status, closed, ans in case_set(now):
            created = now - 5 * 365 * DAY
            log = [{"at_ms": created, "from": "", "to": "submitted", "by": "web", "note": ""},
                   {"at_ms": closed or created + DAY, "from": "submitted", "to": status,
                    "by": "hd1", "note": "已电话联系张三 13800000001"}]
            extra = {"answered_ms": str(created + 20 * DAY), "answered_on_time": "1"}
            if form == "complaint":
                # The outcome is statistics: it must survive the purge.
                extra.update({"result": "paid_part", "recovered_fen": "1234500",
                              "department": "city_jxj", "review_on_time": "1",
                              "transfer_on_time": "0"})
            cmds += case_commands(cid, form, created, ans, status=status, log=log,
                                  mobile=ans["mobile"], extra=extra)
        # An audit entry from two years ago, and one from today.
        cmds.append(["XADD", P + "audit", "%d-0" % (now - 730 * DAY), "at_ms",
                     now - 730 * DAY, "who", "old", "role", "admin", "action", "case_view",
                     "target", "TS20220101-0001", "addr", "127.0.0.1", "detail", "", "rid", "x"])
        redis_pipeline(self.stack, cmds)

    def hash(self, cid):
        flat = self.stack.redis_command("HGETALL", P + "case:" + cid)
        return dict(zip(flat[::2], flat[1::2]))

    def test_dry_run_apply_stats_audit(self):
        st = self.stack
        now = int(time.time() * 1000)
        self.fill(now)
        stats = get(st, "/api/admin/stats").json()
        found = get(st, "/api/admin/cases?q=13800000001").json()
        self.assertIn("TS20220101-0001", json.dumps(found))
        before = {c[0]: self.hash(c[0]) for c in case_set(now)}

        p = admin(st, "retention", "--dry-run")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual((out["cases_due"], out["cases_purged"], out["audit_due"]), (3, 0, 1))
        for cid, h in before.items():
            self.assertEqual(self.hash(cid), h, "a dry run changes nothing")

        p = admin(st, "retention", "--apply")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual((out["cases_due"], out["cases_purged"], out["failed"]), (3, 3, 0))
        purged = {"TS20220101-0001", "TS20220101-0002", "ZX20220101-0005"}
        for cid, form, status, closed, ans in case_set(now):
            h = self.hash(cid)
            if cid not in purged:
                self.assertEqual(h, before[cid], cid)
                continue
            self.assertIn("purged_ms", h)
            self.assertNotIn("mobile", h)
            kept = json.loads(h["answers"])
            for k in PERSONAL:
                self.assertNotIn(k, kept, "%s kept %s" % (cid, k))
            for k in ("region", "amount_fen", "due_date", "supply_type", "topic"):
                if k in ans:
                    self.assertEqual(kept[k], ans[k], k)
            for k in ("form", "status", "created_ms", "updated_ms", "region", "answered_ms",
                      "answered_on_time", "result", "recovered_fen", "department",
                      "review_on_time", "transfer_on_time"):
                self.assertEqual(h.get(k), before[cid].get(k), k)
            sum_ = h["list_sum"].split("\x1f")
            self.assertEqual(sum_[1:4], ["", "", ""], "company, contact, respondent")
            self.assertEqual(sum_[4], before[cid]["list_sum"].split("\x1f")[4], "amount")
            self.assertNotIn("1380000", h["list_row"])
            log = st.redis_command("LRANGE", P + "case:%s:log" % cid, 0, -1)
            self.assertEqual(len(log), 2)
            self.assertNotIn("张三", "".join(log))
            self.assertEqual(json.loads(log[1])["to"], status)
            # The staff detail still opens; nothing personal in it.
            d = get(st, "/api/admin/cases/" + cid)
            self.assertEqual(d.status, 200, d)
            self.assertNotIn("张三", d.body.decode())
            self.assertNotIn("13800000001", d.body.decode())

        self.assertEqual(get(st, "/api/admin/stats").json(), stats, "statistics unchanged")
        found = get(st, "/api/admin/cases?q=13800000001").json()
        self.assertNotIn("TS20220101-0001", json.dumps(found), "search no longer finds it")
        listed = get(st, "/api/admin/cases?status=closed").json()
        self.assertIn("TS20220101-0001", json.dumps(listed), "still listed, for statistics")

        audit = st.redis_command("XRANGE", P + "audit", "-", "+")
        actions = [dict(zip(e[1][::2], e[1][1::2])) for e in audit]
        self.assertEqual(sorted(a["target"] for a in actions
                                if a["action"] == "retention_purge"), sorted(purged))
        self.assertNotIn("old", [a["who"] for a in actions], "old audit entries trimmed")

        # A second run finds nothing more to do.
        out = json.loads(admin(st, "retention", "--apply").stdout)
        self.assertEqual((out["cases_due"], out["cases_purged"]), (0, 0))

    def test_usage(self):
        p = admin(self.stack, "retention")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--dry-run or --apply", p.stderr)

    def test_privacy_periods(self):
        r = self.stack.request("GET", "/api/privacy")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["retention"],
                         {"closed_case_days": 1095, "draft_seconds": 1209600, "chat_seconds": 7200,
                          "audit_days": 365, "report_days": 180})


class TestRetentionFiles(StackCase, unittest.TestCase):
    """A purged case's evidence files: the bytes of its answers' files and
    of the files attached later (files_more) go from the store, the
    records from the case, the statistics stay; a dry run removes
    nothing; a case closed recently keeps its file."""

    STACK_ARGS = {"ini": {"retention": {"closed_case_days": 1095}}}

    def upload(self, data, kind, name, ctype):
        c = Client(self.stack)
        r = c.start("complaint")
        self.assertIn(r.status, (200, 201), r)
        r = c.call("POST", "/api/intake/complaint/files?kind=" + kind, raw=data,
                   headers={"Content-Type": ctype, "X-File-Name": name})
        self.assertEqual(r.status, 201, r)
        return r.json()["file"]

    def store_path(self, fid):
        return os.path.join(self.stack.ini["files"]["dir"], fid[:2], fid)

    def test_files_removed_with_purge(self):
        st = self.stack
        now = int(time.time() * 1000)
        contract = self.upload(pdf(3000), "contract", "contract.pdf", "application/pdf")
        later = self.upload(jpeg(2000), "invoice", "invoice.jpg", "image/jpeg")
        kept = self.upload(pdf(2500), "contract", "kept.pdf", "application/pdf")
        old, recent = now - 4 * 365 * DAY, now - 10 * DAY
        cmds = []
        for cid, closed, recs, more in (("TS20220101-0011", old, [contract], [later]),
                                        ("TS20260101-0012", recent, [kept], [])):
            ans = complaint_answers(1, evidence_files=recs)
            created = now - 5 * 365 * DAY
            log = [{"at_ms": created, "from": "", "to": "submitted", "by": "web", "note": ""},
                   {"at_ms": closed, "from": "submitted", "to": "closed", "by": "hd1",
                    "note": ""}]
            extra = {"files_more": json.dumps(more)} if more else None
            cmds += case_commands(cid, "complaint", created, ans, status="closed", log=log,
                                  extra=extra)
        redis_pipeline(st, cmds)
        paths = [self.store_path(f["id"]) for f in (contract, later, kept)]
        self.assertTrue(all(os.path.exists(p) for p in paths))
        r = get(st, "/api/admin/cases/TS20220101-0011/files/" + later["id"])
        self.assertEqual(r.status, 200, r)
        stats = get(st, "/api/admin/stats").json()

        p = admin(st, "retention", "--dry-run")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["cases_due"], 1)
        self.assertTrue(all(os.path.exists(p) for p in paths), "a dry run removes nothing")

        p = admin(st, "retention", "--apply")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual((out["cases_purged"], out["failed"]), (1, 0))
        self.assertFalse(os.path.exists(paths[0]), "the answers' file is gone")
        self.assertFalse(os.path.exists(paths[1]), "the file attached later is gone")
        self.assertTrue(os.path.exists(paths[2]), "the recent case keeps its file")
        flat = st.redis_command("HGETALL", P + "case:TS20220101-0011")
        h = dict(zip(flat[::2], flat[1::2]))
        self.assertIn("purged_ms", h)
        self.assertNotIn("evidence_files", json.loads(h["answers"]))
        self.assertNotIn("files_more", h)
        self.assertNotIn(contract["id"], json.dumps(h))
        self.assertNotIn(later["id"], json.dumps(h))
        r = get(st, "/api/admin/cases/TS20220101-0011/files/" + later["id"])
        self.assertEqual(r.status, 404, r)
        self.assertEqual(get(st, "/api/admin/stats").json(), stats, "statistics unchanged")


if __name__ == "__main__":
    unittest.main()


class TestRetentionDaily(StackCase, unittest.TestCase):
    """zhuqi-bot's daily run: at daily_time (here 00:00, so due at once),
    once a day across two bots, by the lease holder."""

    STACK_ARGS = {"ini": {"retention": {"daily_time": "00:00"},
                          "bot": {"poll_ms": 100, "lease_ms": 2000}}}

    def test_two_bots_one_run(self):
        st = self.stack
        now = int(time.time() * 1000)
        cid, form, status, closed, ans = case_set(now)[0]
        # With an evidence file, which the daily run removes too.
        c = Client(st)
        self.assertIn(c.start("complaint").status, (200, 201))
        r = c.call("POST", "/api/intake/complaint/files?kind=contract", raw=pdf(2000),
                   headers={"Content-Type": "application/pdf", "X-File-Name": "c.pdf"})
        self.assertEqual(r.status, 201, r)
        fid = r.json()["file"]["id"]
        fpath = os.path.join(st.ini["files"]["dir"], fid[:2], fid)
        self.assertTrue(os.path.exists(fpath))
        ans = dict(ans, evidence_files=[r.json()["file"]])
        log = [{"at_ms": closed, "from": "answered", "to": "closed", "by": "hd1", "note": "好"}]
        redis_pipeline(st, case_commands(cid, form, now - 5 * 365 * DAY, ans, status=status,
                                         log=log, mobile=ans["mobile"]))
        st.start_bot("bot")
        st.start_bot("bot2")
        st.wait_for(lambda: st.redis_command("HGET", P + "case:" + cid, "purged_ms"), 30,
                    "the daily run to purge %s" % cid)
        self.assertFalse(os.path.exists(fpath), "the purged case's file is gone")
        day_marks = st.redis_command("KEYS", P + "retention:day:*")
        self.assertEqual(len(day_marks), 1)
        time.sleep(1.0)
        runs = st.log("bot").count("event=retention_run") + st.log("bot2").count(
            "event=retention_run")
        self.assertEqual(runs, 1, "one run a day across both bots")
        audit = st.redis_command("XRANGE", P + "audit", "-", "+")
        purges = [dict(zip(e[1][::2], e[1][1::2])) for e in audit]
        purges = [a for a in purges if a["action"] == "retention_purge"]
        self.assertEqual(len(purges), 1)
        self.assertEqual(purges[0]["target"], cid)
        self.assertEqual(purges[0]["who"], st.redis_command("GET", day_marks[0]))

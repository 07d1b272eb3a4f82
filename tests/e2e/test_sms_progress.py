"""Progress SMS (issue 14) end to end: a status change the complainant may
see (受理, 不予受理, 转办, 需补充材料, 书面答复, 办结) sends exactly one SMS
to the case's mobile through the outbox and the fake Tencent endpoint,
with the case number, the status and the deadline now running; the case
history says 短信已发送 (or 发送失败 with the vendor's code); a move the
enterprise does not see (开始办理) sends none; quiet hours hold progress
SMS (not codes) until the window ends; a kill -9 of zhuqi-bot in the
middle of a burst loses nothing and repeats at most the transfers in
flight."""

import datetime as dt
import hashlib
import json
import os
import sys
import time
import unittest

from bot_util import add_target
from harness import BIN_DIR, StackCase, run_program
from staff_util import BJ, Tokens, case_commands, complaint_answers, redis_pipeline

TOKENS = Tokens()
FAST = {"retry_base_ms": 200, "retry_max_ms": 1000, "max_attempts": 4, "timeout_ms": 2000,
        "claim_idle_ms": 3000}


def ini(**events):
    out = TOKENS.ini()
    out["bot"] = dict(FAST)
    out["events"] = dict({"sms_quiet_hours": ""}, **events)
    # A vendor "minute" of 4 s (Tencent's 30 s per number: 2 s), so that
    # several SMS to one number do not take minutes.
    out["channels"] = {"rate_window_ms": 4000, "rate_slack_ms": 100}
    return out


def stack_args(**kw):
    return {"bot": True, "fake": True, "fake_args": ["--rate-window", "4"], "ini": ini(**kw)}


class ProgressBase(StackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.staff_token = TOKENS.admin

    def add(self, cid, mobile, n=0, source="web"):
        now = int(time.time() * 1000)
        redis_pipeline(self.stack, case_commands(cid, "complaint", now, complaint_answers(n),
                                                 mobile=mobile, source=source))

    def move(self, cid, to, **body):
        body["to"] = to
        body.setdefault("note", "内部记录")
        r = self.stack.request("POST", "/api/admin/cases/%s/transitions" % cid,
                               body=json.dumps(body, ensure_ascii=False).encode(),
                               headers={"Authorization": "Bearer " + TOKENS.handler,
                                        "Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r)
        return r.json()["case"]

    def detail(self, cid):
        r = self.stack.request("GET", "/api/admin/cases/" + cid,
                               headers={"Authorization": "Bearer " + TOKENS.viewer})
        self.assertEqual(r.status, 200, r)
        return r.json()["case"]

    def sms(self, mobile, accepted=True):
        return self.stack.fake.messages(platform="tencent-sms", target=mobile, accepted=accepted)

    def sms_lines(self, cid):
        return [e for e in self.detail(cid)["history"] if e.get("kind") == "sms"]

    def wait_lines(self, cid, n):
        self.stack.wait_for(lambda: len(self.sms_lines(cid)) >= n, 30,
                            "%d SMS line(s) in the history of %s" % (n, cid))
        return self.sms_lines(cid)


class TestProgress(ProgressBase, unittest.TestCase):
    STACK_ARGS = stack_args()

    def test_each_visible_status_once(self):
        cid, mobile = "TS20261206-0101", "13800139101"
        self.add(cid, mobile)
        self.move(cid, "accepted")
        (line,) = self.wait_lines(cid, 1)
        self.assertEqual(line["note"], "短信已发送（已受理）")
        self.assertTrue(line["ok"])
        (m,) = self.sms(mobile)
        params = m["json"]["TemplateParamSet"]
        self.assertEqual(params[:2], [cid, "已受理"])
        self.assertRegex(params[2], r"^\d{4}-\d{2}-\d{2}$")  # the transfer deadline
        self.assertIn(cid, m["content"])
        # Nothing personal beyond the case number in the text.
        for private in (mobile, "成都", "张三"):
            self.assertNotIn(private, m["content"])
        # 转办, then 开始办理 (not shown to the enterprise: no SMS), 书面答复.
        self.move(cid, "transferred", department=self.department())
        self.wait_lines(cid, 2)
        self.move(cid, "in_progress")
        self.move(cid, "answered", result="paid_full", recovered="1000")
        lines = self.wait_lines(cid, 3)
        self.assertEqual([e["note"] for e in lines],
                         ["短信已发送（已受理）", "短信已发送（已转办）", "短信已发送（已答复）"])
        time.sleep(1.5)  # anything sent twice would arrive meanwhile
        msgs = self.sms(mobile)
        self.assertEqual([m["json"]["TemplateParamSet"][1] for m in msgs],
                         ["已受理", "已转办", "已答复"], msgs)
        # The public lookup does not show the SMS lines.
        r = self.stack.request("POST", "/api/cases/%s/lookup" % cid,
                               body=json.dumps({"mobile": mobile}),
                               headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("短信", json.dumps(r.json(), ensure_ascii=False))

    def department(self):
        r = self.stack.request("GET", "/api/admin/workflow",
                               headers={"Authorization": "Bearer " + TOKENS.handler})
        self.assertEqual(r.status, 200, r)
        return r.json()["departments"][0]["id"]

    def test_chat_case_gets_both(self):
        """A case filed in a chat whose user subscribed: the status change
        goes to the chat and by SMS."""
        st, fake = self.stack, self.stack.fake
        cid, mobile, user = "TS20261206-0105", "13800139105", "smsuser5"
        tid = "chat-dingtalk-" + hashlib.sha1(("dingtalk:" + user).encode()).hexdigest()[:16]
        add_target(st, id=tid, channel="generic", address=fake.generic_url("chat-" + user))
        self.add(cid, mobile, 5, source="chat:dingtalk:" + user)
        self.move(cid, "accepted")
        st.wait_for(lambda: fake.messages(platform="generic", target="chat-" + user), 20,
                    "the status message to the chat")
        (line,) = self.wait_lines(cid, 1)
        self.assertEqual(line["note"], "短信已发送（已受理）")
        (m,) = fake.messages(platform="generic", target="chat-" + user)
        self.assertIn(cid, m["json"]["title"] + m["json"]["markdown"])
        self.assertEqual(len(self.sms(mobile)), 1)

    def test_permanent_error_in_history(self):
        cid, mobile = "TS20261206-0102", "13800139102"
        self.add(cid, mobile, 1)
        self.stack.fake.add_fault(mobile, "fail", platform="tencent-sms", count=1)
        self.move(cid, "rejected", message="不属于受理范围。")
        (line,) = self.wait_lines(cid, 1)
        self.assertFalse(line["ok"])
        self.assertTrue(line["note"].startswith("短信发送失败："), line)
        self.assertIn("FailedOperation.PhoneNumberInBlacklist", line["note"])
        self.assertEqual(len(self.sms(mobile, accepted=None)), 1)


class TestQuietHours(ProgressBase, unittest.TestCase):
    # A window that holds the whole day but one minute: now is in it.
    NOW = dt.datetime.now(BJ)
    END = (NOW + dt.timedelta(minutes=90)).strftime("%H:%M")
    START = (NOW - dt.timedelta(minutes=90)).strftime("%H:%M")
    STACK_ARGS = stack_args(sms_quiet_hours="%s-%s" % (START, END))

    def test_progress_waits_code_does_not(self):
        cid, mobile = "TS20261206-0103", "13800139103"
        self.add(cid, mobile, 2)
        self.move(cid, "accepted")
        # Held: in outbox:delayed until the window's end, nothing sent.
        end = dt.datetime.combine(self.NOW.date(), dt.time.fromisoformat(self.END), BJ)
        if end < self.NOW:
            end += dt.timedelta(days=1)
        due = int(end.timestamp() * 1000)
        self.stack.wait_for(lambda: self.stack.redis_command(
            "ZCOUNT", "zqe2e:outbox:delayed", due, due) == 1, 20, "the SMS held until " + self.END)
        self.assertEqual(self.sms(mobile, accepted=None), [])
        self.assertEqual(self.sms_lines(cid), [])
        # A verification code in the same window goes out at once.
        p = run_program([os.path.join(BIN_DIR, "zhuqi-admin"), "-c", self.stack.ini_path, "sms",
                         "send", "--mobile", "13800139104", "--use", "code", "--param",
                         "code=135790", "--param", "minutes=5"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.stack.wait_for(lambda: self.sms("13800139104"), 20, "the code sent in quiet hours")


class TestKill9(ProgressBase, unittest.TestCase):
    STACK_ARGS = stack_args()
    STACK_ARGS["ini"]["bot"]["max_transfers"] = 4

    def test_burst_survives_kill9(self):
        st, n, transfers = self.stack, 40, 4
        cases = [("TS20261206-%04d" % (200 + i), "1380014%04d" % i) for i in range(n)]
        for i, (cid, mobile) in enumerate(cases):
            self.add(cid, mobile, i)
        st.fake.add_fault("*", "slow", platform="tencent-sms", ms=100)
        for cid, _ in cases:
            self.move(cid, "accepted")
        st.wait_for(lambda: len(st.fake.messages(platform="tencent-sms", accepted=True)) >= 8,
                    60, "a few SMS sent")
        st.kill9("bot")
        at_kill = len(st.fake.messages(platform="tencent-sms", accepted=True))
        self.assertLess(at_kill, n, "all sent before the kill: slow the fake down")
        st.start_bot()
        for cid, _ in cases:
            self.wait_lines(cid, 1)
        time.sleep(1.5)
        counts = {}
        for m in st.fake.messages(platform="tencent-sms", accepted=True):
            counts[m["target"]] = counts.get(m["target"], 0) + 1
        self.assertEqual(sorted(counts), sorted(m for _, m in cases))
        twice = sum(c - 1 for c in counts.values())
        sys.stdout.write("\n    kill -9 after %d of %d progress SMS: %d sent twice "
                         "(bound: %d transfers in flight)\n" % (at_kill, n, twice, transfers))
        self.assertLessEqual(twice, transfers)
        for cid, _ in cases:
            self.assertEqual(len(self.sms_lines(cid)), 1, cid)


if __name__ == "__main__":
    unittest.main()

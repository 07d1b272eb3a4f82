"""Issue 12 across its parts: a case flood from one address meets the
submission quota at the intake and the announcement batching at the staff
robots, with the whole stack (nginx, zhuqi-fcgi, zhuqi-bot, the fake
platform) running as shipped apart from the limits under test. The
finer tests of each part are in test_security_{deploy,intake,push,hooks}.py."""

import re
import unittest
import uuid

from bot_util import add_target
from harness import StackCase
from staff_util import Tokens
from test_security_intake import Client, mobile_no, uscc_no
from test_intake import sample_for

TOKENS = Tokens()
QUOTA_IP = 12
PER_WINDOW = 3
WINDOW_MS = 20000
SUMMARY = re.compile(r"另有 (\d+) 件新案件")
CASE_NO = re.compile(r"[A-Z]{2}\d{8}-\d{4,}")


class TestCaseFlood(StackCase, unittest.TestCase):
    """Item 2: 50 submissions from one address. The quota stores the
    first QUOTA_IP and refuses the rest; none inside it is refused; each
    staff robot gets at most PER_WINDOW messages for single cases plus one
    summary per window (20 s here, a minute by default), and every stored case is covered once."""

    @classmethod
    def setUpClass(cls):
        ini = TOKENS.ini()
        ini["intake"] = {"quota_ip_per_day": QUOTA_IP, "quota_mobile_per_day": 0,
                         "quota_uscc_per_day": 0}
        ini["events"] = {"announce_per_minute": PER_WINDOW, "announce_window_ms": WINDOW_MS}
        cls.STACK_ARGS = {"ini": ini, "bot": True, "fake": True}
        super().setUpClass()
        cls.stack.staff_token = TOKENS.admin
        cls.schema = cls.stack.get("/api/forms/consult").json()

    def fill(self, i, source):
        c = Client(self.stack, source)
        r = c.call("POST", "/api/intake/consult")
        self.assertIn(r.status, (200, 201), r)
        c.csrf = r.json()["csrf"]
        over = {"mobile": mobile_no(5000 + i), "uscc": uscc_no(5000 + i)}
        for st in self.schema["steps"]:
            if st.get("review"):
                continue
            answers = {f["id"]: over.get(f["id"], sample_for(f)) for f in st.get("fields", [])}
            r = c.call("PUT", "/api/intake/consult/steps/" + st["id"], {"answers": answers})
            self.assertEqual(r.status, 200, r)
        return c

    def robot(self, name):
        alone, summed, summaries = set(), 0, 0
        for m in self.stack.fake.messages(platform="generic", target=name):
            text = m["json"].get("title", "") + m["json"].get("markdown", "")
            mo = SUMMARY.search(text)
            if mo:
                summaries += 1
                summed += int(mo.group(1))
            else:
                alone |= set(CASE_NO.findall(text))
        return alone, summed, summaries

    def test_fifty_from_one_address(self):
        st = self.stack
        robots = ("flood-a", "flood-b")
        for name in robots:
            add_target(st, id=name, channel="generic", address=st.fake.generic_url(name),
                       tags=["staff", "region:510100"])
        statuses, stored = [], []
        for i in range(50):
            c = self.fill(i, "127.0.0.77")
            r = c.call("POST", "/api/intake/consult/submit",
                       headers={"Idempotency-Key": uuid.uuid4().hex})
            statuses.append(r.status)
            if r.status == 201:
                stored.append(r.json()["case"]["id"])
            else:
                self.assertErrorShape(r, 429, "quota_exceeded")
                self.assertRetryAfter(r)
        self.assertEqual(statuses, [201] * QUOTA_IP + [429] * (50 - QUOTA_IP))

        def covered():
            return all(len(a) + s >= QUOTA_IP for a, s, _ in map(self.robot, robots))

        st.wait_for(covered, 60 + WINDOW_MS / 1000, "every stored case announced")
        for name in robots:
            alone, summed, summaries = self.robot(name)
            self.assertTrue(alone <= set(stored), alone)
            self.assertEqual(len(alone) + summed, QUOTA_IP, (name, alone, summed))
            # The submissions take well under one window: they touch two at most.
            self.assertLessEqual(len(alone), 2 * PER_WINDOW, name)
            self.assertLessEqual(summaries, 2, name)
            self.assertLessEqual(len(alone) + summaries, 2 * (PER_WINDOW + 1), name)


if __name__ == "__main__":
    unittest.main()

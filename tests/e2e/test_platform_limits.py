"""The platforms' rate limits, as the fake enforces them (tests/fake): a
burst to one Feishu custom bot never puts 6 messages inside one second at
the platform, with one zhuqi-bot or two sharing the limiter in Redis; app
messages to one WeCom member stay within 30 a window however the
configuration asks for more (WeCom drops the excess silently, and so does
the fake). Assertions are on the arrival times the fake recorded."""

import time
import unittest

from bot_util import add_target, all_final, notice, wait_report
from harness import Checks, Stack

FS_SECRET = "e2e-limits-feishu-secret"
CORP = "wwlimits0123456789"
AGENT = 1000002
WECOM_SECRET = "e2e-limits-wecom-secret"


def most_in_window(ts, span):
    """The largest number of times in ts inside any window of span seconds."""
    ts = sorted(ts)
    best, lo = 0, 0
    for hi, t in enumerate(ts):
        while t - ts[lo] >= span:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class TestPlatformLimits(Checks, unittest.TestCase):
    def stack(self, **kw):
        st = Stack(name=self._testMethodName, fake=True, **kw)
        self.addCleanup(st.close)
        return st

    def feishu_burst(self, instances):
        n = 50
        # Retries fast: a throttled send would come back soon and show.
        st = self.stack(bot=True, ini={"bot": {"retry_base_ms": 200, "retry_max_ms": 1000,
                                               "max_attempts": 30, "max_transfers": 16}})
        if instances == 2:
            st.start_bot("bot2")
        st.fake.add_target("feishu", "fs-burst-0001", secret=FS_SECRET)
        add_target(st, id="fs-burst", channel="feishu-bot", address="fs-burst-0001",
                   secret=FS_SECRET, tags=["burst"])
        # The first five requests reach the platform late (a slow network,
        # a new connection): while in flight they still hold their slots,
        # or the next five would land in the same second as they do.
        st.fake.add_fault("fs-burst-0001", "slow", platform="feishu", ms=800, count=5)
        ids = [notice(st, "突发 %d" % i, "第 %d 条" % i, {"tags": ["burst"]}) for i in range(n)]
        for nid in ids:
            rep = wait_report(st, nid, all_final(1), timeout=90)
            self.assertEqual(rep["totals"]["sent"], 1, rep)
        msgs = st.fake.messages(platform="feishu", target="fs-burst-0001")
        # The fake answers 11232 to a 6th message inside any second: none.
        self.assertEqual([m["reply"] for m in msgs if not m["accepted"]], [])
        ts = [m["ts"] for m in msgs]
        self.assertEqual(len(ts), n)
        self.assertLessEqual(most_in_window(ts, 1.0), 5, sorted(ts))
        return st

    def test_feishu_burst_of_50_one_instance(self):
        self.feishu_burst(1)

    def test_feishu_burst_of_50_two_instances(self):
        st = self.feishu_burst(2)
        # Both instances competed for the same slots: each sent, or was
        # told to wait by the log the other one filled.
        for name in ("bot", "bot2"):
            self.assertRegex(st.log(name), r"event=(delivered|rate_limited) .*target=fs-burst",
                             name)

    def test_two_targets_on_one_feishu_hook_share_its_limit(self):
        """Feishu's limit is the bot's: two targets saved with the same
        webhook (two offices' lists naming one group's bot) must not each
        send 5 a second to it."""
        n = 40
        st = self.stack(bot=True, ini={"bot": {"retry_base_ms": 200, "retry_max_ms": 1000,
                                               "max_attempts": 30, "max_transfers": 16}})
        st.fake.add_target("feishu", "fs-shared-0001", secret=FS_SECRET)
        for t in ("a", "b"):
            add_target(st, id="fs-shared-" + t, channel="feishu-bot", address="fs-shared-0001",
                       secret=FS_SECRET, tags=["shared-" + t])
        ids = [notice(st, "共用 %d" % i, "第 %d 条" % i, {"tags": ["shared-" + "ab"[i % 2]]})
               for i in range(n)]
        for nid in ids:
            rep = wait_report(st, nid, all_final(1), timeout=90)
            self.assertEqual(rep["totals"]["sent"], 1, rep)
        msgs = st.fake.messages(platform="feishu", target="fs-shared-0001")
        self.assertEqual([m["reply"] for m in msgs if not m["accepted"]], [])
        ts = [m["ts"] for m in msgs]
        self.assertEqual(len(ts), n)
        self.assertLessEqual(most_in_window(ts, 1.0), 5, sorted(ts))

    def test_wecom_app_member_limit_is_clamped_and_nothing_dropped(self):
        window_s, n, user = 4, 40, "wx.limits"
        st = self.stack(bot=True, fake_args=["--rate-window", str(window_s)], ini={
            "wecom": {"corp_id": CORP, "corp_secret": WECOM_SECRET, "agent_id": AGENT},
            # Both ask for twice what WeCom allows: the robot limit (which
            # app messages used to follow) and the app's own.
            "channels": {"rate_window_ms": window_s * 1000, "rate_slack_ms": 200,
                         "wecom_per_minute": 60, "wecom_app_per_minute": 60,
                         "wecom_app_per_hour": 5000},
            "bot": {"retry_base_ms": 200, "retry_max_ms": 1000, "max_attempts": 30,
                    "max_transfers": 16}})
        st.fake.add_target("wecom-app", CORP, app_secret=WECOM_SECRET, agent_id=AGENT)
        add_target(st, id="wx-member", channel="wecom-app", address=user, tags=["member"])
        self.assertIn("event=limit_clamped key=channels.wecom_app_per_minute asked=60 used=30",
                      st.log("bot"))
        self.assertIn("key=channels.wecom_app_per_hour asked=5000 used=1000", st.log("bot"))
        t0 = time.time()
        ids = [notice(st, "成员 %d" % i, "第 %d 条" % i, {"tags": ["member"]}) for i in range(n)]
        for nid in ids:
            rep = wait_report(st, nid, all_final(1), timeout=60)
            self.assertEqual(rep["totals"]["sent"], 1, rep)
        msgs = st.fake.messages(platform="wecom-appmsg", target=user)
        # WeCom would have answered "ok" and dropped the 31st: none was.
        self.assertEqual([m["verdict"] for m in msgs if not m["accepted"]], [])
        ts = [m["ts"] for m in msgs]
        self.assertEqual(len(ts), n)
        self.assertLessEqual(most_in_window(ts, window_s), 30)
        # The ones over 30 were held back to the next window, not sent.
        self.assertGreaterEqual(max(ts) - t0, window_s)


if __name__ == "__main__":
    unittest.main()

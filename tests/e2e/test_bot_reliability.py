"""zhuqi-bot under stress: per-target rate limits (windows shortened to 3 s
through [channels] rate_window_ms, the fake told the same window), the
platform down for a while, kill -9 in the middle of a 1,000-target notice,
two instances sharing one reminder, the catch-up grace, and SIGTERM with
transfers in flight. Each test runs its own stack."""

import calendar
import json
import os
import signal
import sys
import time
import unittest

from bot_util import (DT_SECRET, add_target, all_final, notice, post, report,
                      store_generic_targets, wait_report)
from harness import ROOT, Checks, Stack

FAST_RETRY = {"retry_base_ms": 300, "retry_max_ms": 1500, "max_attempts": 30,
              "timeout_ms": 1500, "claim_idle_ms": 2000, "lease_ms": 2000}


def write_rules(stack, rules):
    path = os.path.join(stack.dir, "reminders.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"rules": rules}, f, ensure_ascii=False)
    return path


def tax_rule(tag):
    return {"id": "tax-day", "title": "税务助企宣讲日", "day_of_month": 27, "shift": "keep",
            "audience": {"tags": [tag]}, "template": "tax_day.md",
            "leads": [{"id": "eve", "at": "-1d 16:00", "template": "tax_day_eve.md"},
                      {"id": "day", "at": "0d 09:00"}]}


def offset_to(beijing):
    """Seconds to add to now so that the scheduler's clock reads beijing
    ("2026-12-26T16:07:02", Beijing time)."""
    t = calendar.timegm(time.strptime(beijing, "%Y-%m-%dT%H:%M:%S")) - 8 * 3600
    return int(round(t - time.time()))


class TestBotReliability(Checks, unittest.TestCase):
    def stack(self, **kw):
        st = Stack(name=self._testMethodName, fake=True, **kw)
        self.addCleanup(st.close)
        return st

    def test_rate_limit_never_exceeded(self):
        window_s, limit, n = 3, 20, 45
        st = self.stack(bot=True, ini={
            "channels": {"rate_window_ms": window_s * 1000, "rate_slack_ms": 300},
            "bot": dict(FAST_RETRY)})
        st.fake.add_target("wecom", "wk-rate-0001", rate_per_min=limit, window_s=window_s)
        st.fake.add_target("dingtalk", "dt-rate-0001", secret=DT_SECRET, rate_per_min=limit,
                           window_s=window_s)
        add_target(st, id="rate-w", channel="wecom-robot", address="wk-rate-0001", tags=["rate"])
        add_target(st, id="rate-d", channel="dingtalk-robot", address="dt-rate-0001",
                   secret=DT_SECRET, tags=["rate"])
        ids = [notice(st, "限流 %d" % i, "第 %d 条" % i, {"tags": ["rate"]}) for i in range(n)]
        for nid in ids:
            rep = wait_report(st, nid, all_final(2), timeout=60)
            self.assertEqual(rep["totals"]["sent"], 2, rep)
        for platform, key in (("wecom", "wk-rate-0001"), ("dingtalk", "dt-rate-0001")):
            msgs = st.fake.messages(platform=platform, target=key)
            # Our limiter kept below the platform's: it never had to throttle.
            self.assertEqual([m["verdict"] for m in msgs if not m["accepted"]], [])
            ts = sorted(m["ts"] for m in msgs)
            self.assertEqual(len(ts), n)
            # No window of window_s seconds holds more than limit messages...
            for i in range(len(ts) - limit):
                self.assertGreaterEqual(ts[i + limit] - ts[i], window_s,
                                        "%s: %d messages within %.3f s" % (platform, limit + 1,
                                                                          ts[i + limit] - ts[i]))
            # ...so the 41st came at least two windows after the first.
            self.assertGreaterEqual(ts[2 * limit] - ts[0], 2 * window_s)

    def test_platform_down_then_up_loses_nothing(self):
        st = self.stack(bot=True, ini={"bot": dict(FAST_RETRY)})
        fake = st.fake
        fake.add_target("wecom", "wk-down-0001")
        fake.add_target("dingtalk", "dt-down-0001", secret=DT_SECRET)
        fake.add_target("telegram", "999:DOWN-token", chats=["5"])
        add_target(st, id="down-w", channel="wecom-robot", address="wk-down-0001", tags=["down"])
        add_target(st, id="down-d", channel="dingtalk-robot", address="dt-down-0001",
                   secret=DT_SECRET, tags=["down"])
        add_target(st, id="down-t", channel="telegram", address="999:DOWN-token", chat_id="5",
                   tags=["down"])
        add_target(st, id="down-g", channel="generic", address=fake.generic_url("down-g"),
                   tags=["down"])
        fake.add_fault("*", "down")
        nid = notice(st, "平台故障测试", "正文", {"tags": ["down"]})
        wait_report(st, nid, lambda r: r["totals"]["retrying"] == 4, timeout=20,
                    what="every target retrying")
        time.sleep(5)
        rep = report(st, nid)
        self.assertEqual(rep["totals"]["sent"] + rep["totals"]["failed"], 0, rep)
        fake.clear_faults()
        rep = wait_report(st, nid, all_final(4), timeout=30)
        self.assertEqual(rep["totals"]["sent"], 4, rep)
        for line in rep["targets"]:
            self.assertGreaterEqual(line["attempts"], 2, line)
        for platform, key in (("wecom", "wk-down-0001"), ("dingtalk", "dt-down-0001"),
                              ("telegram", "999:DOWN-token"), ("generic", "down-g")):
            got = fake.messages(platform=platform, target=key, accepted=True)
            self.assertEqual(len(got), 1, (platform, got))
        self.assertEqual(st.redis_command("XLEN", "zqe2e:outbox:dead"), 0)

    def test_kill9_midway_delivers_everything(self):
        transfers, total = 8, 1000
        st = self.stack(bot=True, ini={"bot": dict(FAST_RETRY, max_transfers=transfers)})
        names = ["k%04d" % i for i in range(total)]
        store_generic_targets(st, names, "k9")
        st.fake.add_fault("*", "slow", platform="generic", ms=30)
        nid = notice(st, "一千个对象", "正文", {"tags": ["k9"]})

        def accepted():
            return st.fake.stats().get("accepted", 0)

        st.wait_for(lambda: accepted() >= 250, 60, "a quarter delivered")
        st.kill9("bot")
        at_kill = accepted()
        self.assertLess(at_kill, total, "all delivered before the kill: slow the fake down")
        st.start_bot()
        rep = wait_report(st, nid, all_final(total), timeout=120)
        self.assertEqual(rep["totals"]["sent"], total, rep["totals"])
        counts = {}
        for m in st.fake.messages(platform="generic", accepted=True):
            counts[m["target"]] = counts.get(m["target"], 0) + 1
        self.assertEqual(sorted(counts), names)
        twice = sum(c - 1 for c in counts.values())
        sys.stdout.write("\n    kill -9 after %d of %d: %d target(s) delivered twice "
                         "(bound: %d transfers in flight)\n" % (at_kill, total, twice, transfers))
        self.assertLessEqual(twice, transfers)

    def test_two_instances_send_each_reminder_once(self):
        st = self.stack(bot=False)
        rules = write_rules(st, [tax_rule("rm2")])
        st.ini["bot"].update(dict(FAST_RETRY, reminders=rules,
                                  clock_offset_s=offset_to("2026-12-26T16:07:02")))
        from harness import write_ini
        write_ini(st.ini_path, st.ini)
        add_target(st, id="rm2-t", channel="generic", address=st.fake.generic_url("rm2-t"),
                   tags=["rm2"])
        r = post(st, "/api/admin/classes", {"date": "2026-12-27", "time": "14:30",
                                            "title": "年度汇算清缴要点"})
        self.assertEqual(r.status, 201, r)
        st.start_bot("bot")
        st.start_bot("bot2")
        st.wait_for(lambda: st.fake.messages(platform="generic", target="rm2-t"), 20,
                    "the reminder")
        time.sleep(3)  # both schedulers ran several more times
        msgs = st.fake.messages(platform="generic", target="rm2-t")
        self.assertEqual(len(msgs), 1, msgs)
        self.assertIn("明天", msgs[0]["json"]["title"])
        self.assertIn("年度汇算清缴要点", msgs[0]["json"]["markdown"])
        created = st.log("bot").count("event=reminder_created") + \
            st.log("bot2").count("event=reminder_created")
        self.assertEqual(created, 1)
        mark = st.redis_command("GET", "zqe2e:sched:tax-day:2026-12:eve")
        self.assertTrue(mark and mark.startswith("RM"), mark)

    def test_catch_up_grace(self):
        st = self.stack(bot=False)
        rules = write_rules(st, [tax_rule("late")])
        st.ini["bot"].update(dict(FAST_RETRY, reminders=rules, catch_up_grace_s=300,
                                  clock_offset_s=offset_to("2026-12-27T09:09:00")))
        from harness import write_ini
        write_ini(st.ini_path, st.ini)
        add_target(st, id="late-t", channel="generic", address=st.fake.generic_url("late-t"),
                   tags=["late"])
        st.start_bot()
        st.wait_for(lambda: st.fake.messages(platform="generic", target="late-t"), 20,
                    "the day's reminder")
        st.wait_for_log("bot", r"event=reminder_skipped occurrence=tax-day:2026-12:eve", 10)
        time.sleep(2)
        msgs = st.fake.messages(platform="generic", target="late-t")
        self.assertEqual(len(msgs), 1, msgs)
        self.assertIn("今天", msgs[0]["json"]["title"])
        self.assertIn("暂未排期", msgs[0]["json"]["markdown"])
        self.assertEqual(st.redis_command("GET", "zqe2e:sched:tax-day:2026-12:eve"), "skipped")

    def test_sigterm_with_transfers_in_flight(self):
        st = self.stack(bot=True, ini={"bot": {"timeout_ms": 20000, "claim_idle_ms": 30000}})
        for i in range(3):
            add_target(st, id="term-%d" % i, channel="generic",
                       address=st.fake.generic_url("term-%d" % i), tags=["term"])
        st.fake.add_fault("*", "slow", platform="generic", ms=15000)
        nid = notice(st, "停机测试", "正文", {"tags": ["term"]})
        st.wait_for_log("bot", r"event=fanout notice=%s" % nid, 10)
        time.sleep(1.0)
        self.assertStopsCleanly(st, "bot")
        self.assertIn("event=transfer_abandoned", st.log("bot"))
        # Left pending in the group, to be claimed again; not failed.
        pending = st.redis_command("XPENDING", "zqe2e:outbox", "bot")
        self.assertEqual(pending[0], 3, pending)
        rep = report(st, nid)
        self.assertEqual(rep["totals"]["queued"], 3, rep)

    def test_sighup_reloads_rules_and_keeps_a_broken_file_out(self):
        st = self.stack(bot=False)
        rules = write_rules(st, [])
        st.ini["bot"]["reminders"] = rules
        from harness import write_ini
        write_ini(st.ini_path, st.ini)
        st.start_bot()
        st.wait_for_log("bot", r"event=started .*rules=0", 10)
        write_rules(st, [tax_rule("hup")])
        st.procs["bot"].signal(signal.SIGHUP)
        st.wait_for_log("bot", r"event=reload ok=1 .*rules=1", 10)
        with open(rules, "w", encoding="utf-8") as f:
            f.write('{"rules": [{"id": "x", "leads": "nope"}]}')
        st.procs["bot"].signal(signal.SIGHUP)
        st.wait_for_log("bot", r"event=reload ok=0 .*rules\[0\]", 10)
        time.sleep(0.5)
        self.assertTrue(st.procs["bot"].alive(), st.bot_log())
        self.assertStopsCleanly(st, "bot")


if __name__ == "__main__":
    unittest.main()

"""The messaging platform misbehaving during one notice fan-out, target by
target: down (connection closed without an answer), slow beyond the bot's
timeout (the platform then delivers all the same), throttling, garbage
(HTTP 200 with an HTML body) on every platform whose answer carries a
code, a permanent error, and 5xx until the attempts run out; plus targets
that behave. While it runs, staff and public API traffic goes on.

Checked against both sides: the delivery report (status and attempts per
target, totals), the dead letters (exactly the targets that failed for
good, with the report's reason) and what the platform received (one
accepted message per delivered target, and the duplicates the slow
platform causes: at most one per slow target, all counted and printed).

Not repeated here (tests/e2e): the platform down for a while then up
(test_bot_reliability), per-target rate limits, kill -9 of the bot."""

import time

from bot_util import (DT_SECRET, FS_SECRET, add_target, all_final, notice, report,
                      wait_report)
from faultlib import RATES, Load, Recorder, check, fmt_status, summarise
import harness

NAME = "platform"
TIMEOUT_MS = 1000
MAX_ATTEMPTS = 5

# (target id prefix, how many, fault, expected status, attempts, accepted)
GENERIC = [
    ("clean", 20, None, "sent", 1, 1),
    ("down", 5, {"mode": "down", "count": 2}, "sent", 3, 1),
    ("slow", 5, {"mode": "slow", "ms": TIMEOUT_MS + 1500, "count": 1}, "sent", 2, 2),
    ("throttle", 4, {"mode": "throttle", "count": 2, "retry_after": 1}, "sent", 3, 1),
    ("5xx", 2, {"mode": "5xx", "status": 502}, "failed", MAX_ATTEMPTS, 0),
]


def _platform_targets(stack):
    """Robots on each platform whose answer carries a code: garbage twice,
    then fine; and two WeCom robots that fail for good."""
    fake = stack.fake
    out = []
    fake.add_target("wecom", "wk-garbage-01")
    add_target(stack, id="garbage-wecom", channel="wecom-robot", address="wk-garbage-01",
               tags=["pf"])
    fake.add_target("dingtalk", "dt-garbage-01", secret=DT_SECRET)
    add_target(stack, id="garbage-ding", channel="dingtalk-robot", address="dt-garbage-01",
               secret=DT_SECRET, tags=["pf"])
    fake.add_target("feishu", "fs-garbage-01", secret=FS_SECRET)
    add_target(stack, id="garbage-feishu", channel="feishu-bot", address="fs-garbage-01",
               secret=FS_SECRET, tags=["pf"])
    fake.add_target("telegram", "4242:garbage-TOKEN", chats=["-1004242"])
    add_target(stack, id="garbage-tg", channel="telegram", address="4242:garbage-TOKEN",
               chat_id="-1004242", tags=["pf"])
    for ident, platform in (("wk-garbage-01", "wecom"), ("dt-garbage-01", "dingtalk"),
                            ("fs-garbage-01", "feishu"), ("4242:garbage-TOKEN", "telegram")):
        fake.add_fault(ident, "garbage", count=2)
    out += [("garbage-wecom", "wecom", "wk-garbage-01", "sent", 3, 1),
            ("garbage-ding", "dingtalk", "dt-garbage-01", "sent", 3, 1),
            ("garbage-feishu", "feishu", "fs-garbage-01", "sent", 3, 1),
            ("garbage-tg", "telegram", "4242:garbage-TOKEN", "sent", 3, 1)]
    for i in range(2):
        key = "wk-fail-%02d" % i
        fake.add_target("wecom", key)
        fake.add_fault(key, "fail")
        add_target(stack, id="fail-%d" % i, channel="wecom-robot", address=key, tags=["pf"])
        out.append(("fail-%d" % i, "wecom", key, "failed", 1, 0))
    return out


def _traffic(stack, nid_box):
    def action(rec, stop, i):
        if i == 0:
            rec.request("GET", "/api/health", kind="health")
        else:
            nid = nid_box.get("nid")
            if nid:
                rec.request("GET", "/api/admin/notices/%s?limit=10" % nid,
                            headers={"Authorization": "Bearer " + stack.staff_token},
                            kind="report")
            rec.request("GET", "/api/forms/complaint", kind="form")
        stop.wait(0.05)
    return action


def run(out):
    stack = harness.Stack(name="fault-platform", bot=True, fake=True, rates=RATES, ini={
        "bot": {"retry_base_ms": 200, "retry_max_ms": 800, "max_attempts": MAX_ATTEMPTS,
                "timeout_ms": TIMEOUT_MS, "connect_timeout_ms": 500, "claim_idle_ms": 4000}})
    try:
        fake = stack.fake
        expect = {}  # target id -> (platform, fake ident, status, attempts, accepted)
        for prefix, n, fault, status, attempts, accepted in GENERIC:
            for i in range(n):
                tid = "%s-%02d" % (prefix, i)
                add_target(stack, id=tid, channel="generic", address=fake.generic_url(tid),
                           tags=["pf"])
                if fault:
                    fake.add_fault(tid, **fault)
                expect[tid] = ("generic", tid, status, attempts, accepted)
        for tid, platform, ident, status, attempts, accepted in _platform_targets(stack):
            expect[tid] = (platform, ident, status, attempts, accepted)
        total = len(expect)

        rec = Recorder(stack)
        nid_box = {}
        load = Load(rec, _traffic(stack, nid_box), threads=3).start()
        try:
            t0 = time.monotonic()
            nid = notice(stack, "平台故障演练", "请忽略本条测试通知。", {"tags": ["pf"]})
            nid_box["nid"] = nid
            rep = wait_report(stack, nid, all_final(total), timeout=90)
            took = time.monotonic() - t0
        finally:
            load.stop()
        rep = report(stack, nid)
        lines = {ln["target"]: ln for ln in rep["targets"]}
        # The slow platform delivers the first try after the bot gave up on
        # it: wait for those late deliveries before counting.
        slow_ids = [tid for tid in expect if tid.startswith("slow-")]
        stack.wait_for(lambda: all(len(fake.messages(platform="generic", target=tid)) >= 2
                                   for tid in slow_ids), 15, "the slow platform to finish")
        faults = {}
        for prefix, n, fault, *_ in GENERIC:
            faults[fault["mode"] if fault else "clean"] = n
        out("injected: one notice to %d targets; faults: %s, garbage x2 on wecom/dingtalk/"
            "feishu/telegram, permanent error x2 (wecom); bot timeout %d ms, max %d attempts"
            % (total, ", ".join("%s %d" % kv for kv in faults.items()), TIMEOUT_MS, MAX_ATTEMPTS))
        t = rep["totals"]
        out("counted: report after %.1f s: total %d, sent %d, failed %d, attempts %d"
            % (took, t["total"], t["sent"], t["failed"], sum(ln["attempts"] for ln in
                                                             rep["targets"])))

        wrong = []
        received = accepted_n = dups = resent = 0
        for tid, (platform, ident, status, attempts, accepted) in sorted(expect.items()):
            ln = lines.get(tid)
            msgs = fake.messages(platform=platform, target=ident)
            acc = [m for m in msgs if m["accepted"]]
            received += len(msgs)
            accepted_n += len(acc)
            dups += max(0, len(acc) - 1)
            got = (ln and ln["status"], ln and ln["attempts"], len(acc), len(msgs))
            want = (status, attempts, accepted, attempts)
            if tid.startswith("down-") and ln is not None:
                # libcurl sends a request again, once, on a fresh connection
                # when a kept one closes without any answer; the report
                # counts that as one attempt. At most one per closed try.
                extra = len(msgs) - ln["attempts"]
                if 0 <= extra <= 2:
                    resent += extra
                    want = (status, attempts - extra, accepted, len(msgs))
            if got != want:
                wrong.append("%s: (status, attempts, accepted, received) %s, want %s"
                             % (tid, got, want))
        dead = stack.redis_command("XRANGE", "zqe2e:outbox:dead", "-", "+")
        dead = [dict(zip(e[1][::2], e[1][1::2])) for e in dead]
        dead = [d for d in dead if d.get("n") == nid]
        dead_ids = sorted(d["t"] for d in dead)
        want_dead = sorted(tid for tid, e in expect.items() if e[2] == "failed")
        out("counted: platform received %d requests (%d of them re-sent by libcurl after a "
            "kept connection closed unanswered), accepted %d; duplicates %d (the slow platform "
            "delivering after the timeout); dead letters %d: %s"
            % (received, resent, accepted_n, dups, len(dead), ", ".join(dead_ids)))
        check(not wrong, "%d target(s) wrong:\n  %s", len(wrong), "\n  ".join(wrong))
        check(t["total"] == total and t["sent"] == total - len(want_dead)
              and t["failed"] == len(want_dead), "totals %s", t)
        check(dead_ids == want_dead, "dead letters %s, want %s", dead_ids, want_dead)
        for d in dead:
            check(d.get("reason") == lines[d["t"]]["last_error"],
                  "dead letter reason %r differs from the report's %r", d.get("reason"),
                  lines[d["t"]]["last_error"])
        check(dups <= faults["slow"], "%d duplicates for %d slow targets", dups, faults["slow"])
        check(rep["state"] == "done", "notice state %r", rep["state"])
        s = summarise(rec.snapshot())
        out("counted: API traffic meanwhile: %d requests (%s), %d errors"
            % (s["requests"], fmt_status(s["by_status"]), len(s["errors"])))
        check(not s["errors"], "API errors during the fan-out: %s", s["errors"][:5])
    finally:
        stack.close()

#!/usr/bin/env python3
"""Benchmark: one notice to N generic webhook targets (no rate limit),
delivered by zhuqi-bot to the fake platform. Goal: 10,000 in under 3 s
with the bot's resident memory under 32 MB.

    python3 bench/bot_fanout.py [BIN_DIR] [--targets N] [--transfers M] [--json]

BIN_DIR defaults to build/release. Starts a private stack (Redis,
zhuqi-fcgi, nginx, zhuqi-bot, the fake platform) on loopback, stores N
generic targets tagged "bench" straight into Redis (pipelined), then times
POST /api/admin/notices -> every target's report line "sent" (polled every
20 ms), and reads the bot's peak RSS (VmHWM) before stopping it. The fake
must have accepted N messages. Prints one line for people and, with
--json, a line "BENCH_JSON {...}" for bench/run.py.
"""

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))


from bot_util import redis_pipeline  # noqa: E402  (tests/e2e, on sys.path above)


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def run_fanout(harness, targets=10000, transfers=64, timeout=120.0):
    """Starts its own stack (bot and fake), sends one notice to `targets`
    generic targets and returns {targets, sent, accepted, seconds, rss_kb,
    msg_per_s}. Used by main() and by bench/run.py."""
    st = harness.Stack(bot=True, fake=True, name="bench-fanout",
                       ini={"log": {"level": "info"},
                            "bot": {"max_transfers": transfers, "poll_ms": 100}})
    try:
        prefix = st.ini["redis"]["prefix"]
        now = str(int(time.time() * 1000))
        cmds = []
        for i in range(targets):
            tid = "b%05d" % i
            cmds.append(["HSET", prefix + "target:" + tid, "id", tid, "channel", "generic",
                         "address", st.fake.generic_url(tid), "secret", "", "chat_id", "",
                         "name", "", "tags", "bench", "source", "bench", "created_ms", now,
                         "updated_ms", now])
            cmds.append(["SADD", prefix + "targets", tid])
            cmds.append(["SADD", prefix + "targets:tag:bench", tid])
        redis_pipeline(st, cmds)
        headers = {"Authorization": "Bearer " + st.staff_token,
                   "Content-Type": "application/json"}
        body = json.dumps({"title": "压力测试通知", "body": "**税务助企宣讲日**：本月 27 日。\n- 一\n- 二",
                           "audience": {"tags": ["bench"]}})
        t0 = time.monotonic()
        r = st.request("POST", "/api/admin/notices", body, headers)
        if r.status != 202:
            raise RuntimeError("POST /api/admin/notices answered %r" % (r,))
        nid = r.json()["notice"]["id"]
        sent = 0
        while True:
            rep = st.get("/api/admin/notices/%s?limit=1" % nid, headers=headers).json()["notice"]
            sent = rep["totals"]["sent"]
            failed = rep["totals"]["failed"]
            if sent + failed >= targets:
                break
            if time.monotonic() - t0 > timeout:
                raise RuntimeError("timed out: %d of %d sent" % (sent, targets))
            time.sleep(0.02)
        took = time.monotonic() - t0
        rss_kb = vm_hwm_kb(st.procs["bot"].pid)
        stats = st.fake.stats()
        accepted = sum(v.get("accepted", 0) for k, v in stats.get("by_target", {}).items()
                       if k.startswith("generic/"))
    finally:
        st.close()
    return {"targets": targets, "sent": sent, "failed": failed, "accepted": accepted,
            "seconds": round(took, 3), "rss_kb": rss_kb,
            "msg_per_s": round(sent / took, 1) if took else None}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bin_dir", nargs="?", default="build/release")
    ap.add_argument("--targets", type=int, default=10000)
    ap.add_argument("--transfers", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    os.environ["ZQ_BIN_DIR"] = a.bin_dir if os.path.isabs(a.bin_dir) else os.path.join(ROOT, a.bin_dir)
    import harness  # after ZQ_BIN_DIR

    res = run_fanout(harness, a.targets, a.transfers, a.timeout)
    sent, accepted, took, rss_kb = res["sent"], res["accepted"], res["seconds"], res["rss_kb"]
    ok = sent == a.targets and accepted == a.targets and took < 3.0 and rss_kb < 32 * 1024
    print("bot_fanout: %d targets: %d sent, %d accepted by the fake in %.2f s (%.0f msg/s); "
          "zhuqi-bot peak RSS %.1f MB; goal < 3 s and < 32 MB: %s"
          % (a.targets, sent, accepted, took, sent / took if took else 0, rss_kb / 1024.0,
             "met" if ok else "NOT met"))
    if a.json:
        print("BENCH_JSON " + json.dumps({"targets": a.targets, "sent": sent, "accepted": accepted,
                                          "seconds": round(took, 3), "rss_kb": rss_kb,
                                          "goal_met": ok}))
    return 0 if sent == a.targets and accepted == a.targets else 1


if __name__ == "__main__":
    sys.exit(main())

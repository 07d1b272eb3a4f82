#!/usr/bin/env python3
"""Benchmark: 10,000 progress SMS delivered by zhuqi-bot to the fake
Tencent Cloud SMS endpoint (which checks every TC3 signature). Goal: all
accepted in under 3 s, with the bot's resident memory under 32 MB.

    python3 bench/sms_bench.py [BIN_DIR] [--count N] [--transfers M] [--json]

BIN_DIR defaults to build/release. Starts a private stack (Redis,
zhuqi-fcgi, nginx, the fake platform) on loopback without zhuqi-bot,
queues N SMS of use "accepted" to N numbers with `zhuqi-admin sms send
--count N` (zq_sms_queue, as the bot's case events do), then starts the
bot and times until the fake has accepted N (polled every 20 ms), and
reads the bot's peak RSS (VmHWM). Quiet hours are off. Prints one line
for people and, with --json, "BENCH_JSON {...}" for bench/run.py.
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

FIRST = "13900000000"


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def run_sms(harness, count=10000, transfers=64, timeout=120.0):
    """Starts its own stack, queues `count` SMS, starts the bot and returns
    {count, queue_seconds, accepted, seconds, rss_kb, sms_per_s}. Used by
    main() and by bench/run.py."""
    st = harness.Stack(bot=False, fake=True, name="bench-sms",
                       ini={"log": {"level": "info"},
                            "bot": {"max_transfers": transfers, "poll_ms": 100},
                            "events": {"sms_quiet_hours": ""}})
    try:
        t0 = time.monotonic()
        p = subprocess.run([os.path.join(harness.BIN_DIR, "zhuqi-admin"), "-c", st.ini_path,
                            "sms", "send", "--mobile", FIRST, "--use", "accepted",
                            "--param", "case=TS20261206-0001", "--param", "status=已受理",
                            "--param", "deadline=2026-12-20", "--count", str(count)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise RuntimeError("zhuqi-admin sms send failed: %s" % p.stderr.strip())
        queued = time.monotonic() - t0

        def accepted():
            return st.fake.stats().get("accepted", 0)

        t0 = time.monotonic()
        st.start_bot()
        while accepted() < count:
            if time.monotonic() - t0 > timeout:
                raise RuntimeError("timed out: %d of %d accepted" % (accepted(), count))
            time.sleep(0.02)
        took = time.monotonic() - t0
        rss_kb = vm_hwm_kb(st.procs["bot"].pid)
        got = accepted()
        rejected = st.fake.stats().get("rejected", 0)
    finally:
        st.close()
    return {"count": count, "queue_seconds": round(queued, 3), "accepted": got,
            "rejected": rejected, "seconds": round(took, 3), "rss_kb": rss_kb,
            "sms_per_s": round(got / took, 1) if took else None}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bin_dir", nargs="?", default="build/release")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--transfers", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    os.environ["ZQ_BIN_DIR"] = a.bin_dir if os.path.isabs(a.bin_dir) else os.path.join(ROOT, a.bin_dir)
    import harness  # after ZQ_BIN_DIR

    r = run_sms(harness, a.count, a.transfers, a.timeout)
    ok = r["accepted"] == a.count and r["seconds"] < 3.0 and r["rss_kb"] < 32 * 1024
    print("sms_bench: %d SMS queued in %.2f s; %d accepted by the fake (signatures checked) "
          "in %.2f s (%.0f SMS/s), %d refused; zhuqi-bot peak RSS %.1f MB; goal < 3 s and "
          "< 32 MB: %s" % (a.count, r["queue_seconds"], r["accepted"], r["seconds"],
                           r["sms_per_s"] or 0, r["rejected"], r["rss_kb"] / 1024.0,
                           "met" if ok else "NOT met"))
    if a.json:
        print("BENCH_JSON " + json.dumps(dict(r, goal_met=ok)))
    return 0 if r["accepted"] == a.count else 1


if __name__ == "__main__":
    sys.exit(main())

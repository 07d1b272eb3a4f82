#!/usr/bin/env python3
"""Benchmark: 10,000 progress SMS delivered by zhuqi-bot to the fake
Tencent Cloud SMS endpoint (which checks every TC3 signature). Goal: all
accepted in under 3 s, with the bot's resident memory under 32 MB.

    python3 bench/sms_bench.py [BIN_DIR] [--count N] [--transfers M] [--code-seconds S] [--json]

BIN_DIR defaults to build/release. Starts a private stack (Redis,
zhuqi-fcgi, nginx, the fake platform) on loopback without zhuqi-bot,
queues N SMS of use "accepted" to N numbers with `zhuqi-admin sms send
--count N` (zq_sms_queue, as the bot's case events do), then starts the
bot and times until the fake has accepted N (its totals, /_stats?totals=1,
polled every 20 ms: the full stats list every number), and
reads the bot's peak RSS (VmHWM). Quiet hours are off. Then the code
endpoint's rate: POST /api/sms/code under wrk on a stack of its own.
Prints lines for people and, with --json, "BENCH_JSON {...}".
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


def cpu_seconds(pid):
    """User + system CPU seconds of process pid so far (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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

        # Polled for the totals only: the full stats list every number
        # (10,000 of them), and building that every 20 ms took more of
        # the fake's CPU than checking the signatures.
        def accepted():
            return st.fake.stats(totals=True).get("accepted", 0)

        fake_cpu0 = cpu_seconds(st.fake.proc.pid)
        t0 = time.monotonic()
        st.start_bot()
        while accepted() < count:
            if time.monotonic() - t0 > timeout:
                raise RuntimeError("timed out: %d of %d accepted" % (accepted(), count))
            time.sleep(0.02)
        took = time.monotonic() - t0
        fake_cpu = cpu_seconds(st.fake.proc.pid) - fake_cpu0
        rss_kb = vm_hwm_kb(st.procs["bot"].pid)
        got = accepted()
        rejected = st.fake.stats(totals=True).get("rejected", 0)
    finally:
        st.close()
    return {"count": count, "queue_seconds": round(queued, 3), "accepted": got,
            "rejected": rejected, "seconds": round(took, 3), "rss_kb": rss_kb,
            "sms_per_s": round(got / took, 1) if took else None,
            "fake_cpu_seconds": round(fake_cpu, 2)}


def run_code_rate(harness, seconds=5, connections=16):
    """POST /api/sms/code for `seconds` with wrk (bench/sms_code.lua: a new
    number each time, the per-client and daily limits off, nginx's rate
    limits out of the way) on a stack of its own without zhuqi-bot, so
    every code is generated, stored as its digest and queued as an SMS.
    Returns {rps, p50_ms, p99_ms, requests, non_2xx, queued}."""
    big = ("1000000r/s", 1000000)
    st = harness.Stack(bot=False, fake=True, name="bench-code",
                       rates={z: big for z in ("api", "intake", "cases", "hook")},
                       ini={"verify": {"resend_interval": 0, "mobile_per_hour": 0,
                                       "mobile_per_day": 0, "client_per_hour": 0,
                                       "client_per_day": 0, "daily_budget": 0}})
    try:
        r = st.request("POST", "/api/session", body=b"",
                       headers={"Content-Type": "application/json"})
        if r.status not in (200, 201):
            raise RuntimeError("POST /api/session answered %r" % (r,))
        cookie = r.headers.get("set-cookie", "").split(";")[0]
        csrf = r.json()["csrf"]
        p = subprocess.run(["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds, "--latency",
                            "-s", os.path.join(ROOT, "bench", "sms_code.lua"),
                            "http://127.0.0.1:%d/api/sms/code" % st.port, "--", cookie, csrf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=seconds + 60)
        line = [x for x in p.stdout.splitlines() if x.startswith("BENCH_JSON ")]
        if p.returncode != 0 or not line:
            raise RuntimeError("wrk failed:\n" + p.stdout[-2000:])
        res = json.loads(line[0][len("BENCH_JSON "):])
        prefix = st.ini["redis"]["prefix"]
        queued = st.redis_command("XLEN", prefix + "outbox:prio")
    finally:
        st.close()
    secs = res["duration_us"] / 1e6
    return {"requests": res["requests"], "non_2xx": res["errors"]["status"],
            "rps": round(res["requests"] / secs, 1) if secs else None,
            "p50_ms": res["p50_us"] / 1000.0, "p99_ms": res["p99_us"] / 1000.0,
            "queued": queued}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bin_dir", nargs="?", default="build/release")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--transfers", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--code-seconds", type=int, default=5,
                    help="seconds of POST /api/sms/code under wrk (0: skip)")
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
    print("sms_bench: the fake platform's CPU meanwhile: %.2f s (%.0f us per SMS)" % (
        r["fake_cpu_seconds"], r["fake_cpu_seconds"] / max(r["accepted"], 1) * 1e6))
    c = None
    if a.code_seconds > 0:
        c = run_code_rate(harness, a.code_seconds)
        print("sms_bench: POST /api/sms/code: %.0f req/s, p50 %.2f ms, p99 %.2f ms over %d "
              "requests (%d not 2xx); %d codes queued as SMS" % (
                  c["rps"] or 0, c["p50_ms"], c["p99_ms"], c["requests"], c["non_2xx"],
                  c["queued"]))
    if a.json:
        print("BENCH_JSON " + json.dumps(dict(r, goal_met=ok, code=c)))
    return 0 if r["accepted"] == a.count else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Staff benchmark: 100,000 cases stored straight into Redis (pipelined,
in the layout of lib/intake/cases.c, with the list packs of include/zhuqi/summary.h:
tests/e2e/staff_util.py's case_commands), then

  1. the staff list, first page of 50 (GET /api/admin/cases?limit=50, with
     the Authorization header), driven by wrk with 32 connections as in
     make bench (--connections): requests/s, p50, p99, and the CPU that
     zhuqi-fcgi and Redis used per request (from /proc/PID/stat: steadier
     than latency on a shared machine);
  2. a full CSV export (GET /api/admin/cases.csv) read as a stream: rows,
     seconds, rows/s, and zhuqi-fcgi's resident memory before, during
     (sampled every 20 ms) and after.

Tokens: the list with a viewer's (the least role that may read it), the
export with a handler's (the least role that may export unmasked data:
README's staff API; a viewer gets 403). nginx's rate limits are set far
above what a loopback run reaches (as in make bench), or most of the
list's requests would be nginx's 429s. The list's non-2xx answers and
socket errors are counted and printed: a run with any is reported
INVALID and exits 1, since it measured errors, not the list.

    python3 bench/staff_bench.py [BIN_DIR] [--cases N] [--seconds S] [--connections C]
                                 [--json FILE]

BIN_DIR defaults to build/release. Goals (printed as PASS/MISS, never a
failure exit): list p99 < 20 ms; export >= 50,000 rows/s; memory flat
(the peak during the export at most 16 MiB above the level before it).
The exit status is non-zero only when the harness itself failed (a stack
that does not start, wrk missing, a wrong answer). Results also go to
bench/out/staff-latest.json. Standard library only; nothing leaves
127.0.0.0/8.
"""

import argparse
import datetime as dt
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "bench", "out")
GOAL_P99_MS = 20.0
GOAL_ROWS_S = 50000.0
GOAL_RSS_GROWTH_KB = 16 * 1024
# nginx's limit_req zones of the stack: far above anything a loopback run
# reaches, so that nginx never answers 429 (bench/run.py's NO_LIMIT).
NO_LIMIT = ("1000000r/s", 1000000)


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    """User + system CPU seconds of a process."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def wrk_latency(text):
    """p50 and p99 in ms from wrk --latency output."""
    out = {}
    for pct in ("50", "99"):
        m = re.search(r"^\s*%s(?:\.0+)?%%\s+([\d.]+)(us|ms|s)\s*$" % pct, text, re.M)
        if m:
            v = float(m.group(1))
            out[pct] = v / 1000.0 if m.group(2) == "us" else v * 1000.0 if m.group(2) == "s" else v
    return out


def store_cases(stack, util, n):
    t0 = time.monotonic()
    base = util.ms_at(2026, 1, 5, 8)
    chunk = []
    for i in range(n):
        day = (dt.date(2026, 1, 5) + dt.timedelta(days=i // 400)).strftime("%Y%m%d")
        if i % 4 == 0:
            cid = util.case_id("ZX", day, i % 400 + 1)
            chunk += util.case_commands(cid, "consult", base + i * 1000, util.consult_answers(i),
                                        region="510700", log=[])
        else:
            cid = util.case_id("TS", day, i % 400 + 1)
            chunk += util.case_commands(cid, "complaint", base + i * 1000,
                                        util.complaint_answers(i), region="510100", log=[])
        if len(chunk) >= 50000:
            util.redis_pipeline(stack, chunk, chunk=5000)
            chunk = []
    if chunk:
        util.redis_pipeline(stack, chunk, chunk=5000)
    return time.monotonic() - t0


def run_list(stack, token, seconds, connections):
    if not shutil.which("wrk"):
        raise RuntimeError("wrk not found (apt-get install wrk)")
    url = "http://127.0.0.1:%d/api/admin/cases?limit=50" % stack.port
    r = stack.get("/api/admin/cases?limit=50", headers={"Authorization": "Bearer " + token})
    if r.status != 200 or len(r.json()["cases"]) != 50:
        raise RuntimeError("the list does not answer as expected: %r" % (r,))
    argv = ["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds, "--latency", "-H",
            "Authorization: Bearer " + token, url]
    subprocess.run(argv[:3] + ["-d1s"] + argv[4:], stdout=subprocess.DEVNULL, timeout=60)
    pids = {"fcgi": stack.fcgi_pid(), "redis": stack.procs["redis"].pid}
    cpu0 = {k: cpu_s(v) for k, v in pids.items()}
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=seconds + 60,
                       text=True)
    cpu = {k: cpu_s(v) - cpu0[k] for k, v in pids.items()}
    lat = wrk_latency(p.stdout)
    done = re.search(r"(\d+) requests in", p.stdout)
    nreq = int(done.group(1)) if done else 0
    rps = re.search(r"Requests/sec:\s+([\d.]+)", p.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", p.stdout)
    errors = re.search(r"Socket errors:.*", p.stdout)
    if p.returncode != 0 or not done:
        raise RuntimeError("wrk failed (exit %d):\n%s" % (p.returncode, p.stdout[-2000:]))
    non_2xx = int(non2xx.group(1)) if non2xx else 0
    problems = []
    if non_2xx:
        problems.append("%d of %d answers not 2xx" % (non_2xx, nreq))
    if errors:
        problems.append(errors.group(0))
    return {"requests_per_s": float(rps.group(1)) if rps else None, "p50_ms": lat.get("50"),
            "p99_ms": lat.get("99"), "non_2xx": non_2xx, "problems": problems,
            "valid": not problems,
            "socket_errors": errors.group(0) if errors else "", "connections": connections,
            "requests": nreq, "load_avg": os.getloadavg()[0],
            "fcgi_cpu_us_per_req": round(cpu["fcgi"] * 1e6 / nreq, 1) if nreq else None,
            "redis_cpu_us_per_req": round(cpu["redis"] * 1e6 / nreq, 1) if nreq else None,
            "wrk": p.stdout}


def run_export(stack, token, pid, expect_rows):
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(rss_kb(pid))
            time.sleep(0.02)

    time.sleep(0.5)
    before = rss_kb(pid)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=600)
    cpu0 = cpu_s(pid)
    t0 = time.monotonic()
    conn.request("GET", "/api/admin/cases.csv", headers={"Authorization": "Bearer " + token})
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError("export answered %d" % resp.status)
    lines = 0
    size = 0
    tail = b""
    while True:
        part = resp.read(1 << 16)
        if not part:
            break
        size += len(part)
        lines += part.count(b"\n")  # CRLF rows; bench answers hold no newline
        tail = part[-2:]
    secs = time.monotonic() - t0
    cpu = cpu_s(pid) - cpu0
    conn.close()
    stop.set()
    th.join()
    time.sleep(0.5)
    after = rss_kb(pid)
    rows = lines - 1  # the header
    if rows != expect_rows or tail != b"\r\n":
        raise RuntimeError("export gave %d rows, expected %d" % (rows, expect_rows))
    peak = max(samples + [before])
    return {"rows": rows, "bytes": size, "seconds": round(secs, 3),
            "rows_per_s": round(rows / secs, 1), "fcgi_cpu_s": round(cpu, 2),
            "rows_per_fcgi_cpu_s": round(rows / cpu, 1) if cpu > 0 else None,
            "load_avg": os.getloadavg()[0], "rss_kb_before": before, "rss_kb_peak": peak,
            "rss_kb_after": after, "rss_kb_growth": peak - before}


def make_stack(harness, tokens, name="staffbench"):
    """The stack of this benchmark: one token per role, rate limits off."""
    ini = tokens.ini()
    ini["log"] = {"level": "warn"}
    ini["server"] = {"debug_routes": False}
    return harness.Stack(ini=ini, name=name,
                         rates={z: NO_LIMIT for z in ("api", "intake", "cases", "hook")})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bin_dir", nargs="?", default="build/release")
    ap.add_argument("--cases", type=int, default=100000)
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "10")))
    ap.add_argument("--connections", type=int, default=32,
                    help="wrk connections for the list (make bench uses 32)")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()

    os.environ["ZQ_BIN_DIR"] = a.bin_dir
    sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
    import harness  # noqa: E402  (reads ZQ_BIN_DIR at import)
    import staff_util as util  # noqa: E402

    tokens = util.Tokens()
    stack = make_stack(harness, tokens)
    result = {"cases": a.cases, "bin_dir": a.bin_dir,
              "at": dt.datetime.now(dt.timezone.utc).isoformat()}
    try:
        result["store_seconds"] = round(store_cases(stack, util, a.cases), 1)
        print("stored %d cases in %.1fs" % (a.cases, result["store_seconds"]), flush=True)
        result["list"] = run_list(stack, tokens.viewer, a.seconds, a.connections)
        result["export"] = run_export(stack, tokens.handler, stack.fcgi_pid(), a.cases)
    finally:
        problems = stack.close(raise_on_problems=False)
    if problems:
        print("harness problems: " + "; ".join(problems))
        return 1
    li, ex = result["list"], result["export"]
    goals = [
        ("list p99 < %.0f ms" % GOAL_P99_MS, li["p99_ms"] is not None and li["p99_ms"] < GOAL_P99_MS
         and li["valid"]),
        ("export >= %d rows/s" % GOAL_ROWS_S, ex["rows_per_s"] >= GOAL_ROWS_S),
        ("memory flat (peak +%d MiB at most)" % (GOAL_RSS_GROWTH_KB // 1024),
         ex["rss_kb_growth"] <= GOAL_RSS_GROWTH_KB),
    ]
    result["goals"] = {g: ok for g, ok in goals}
    print("staff list, first page of 50, %d cases, %d connections: %.0f req/s, p50 %.2f ms, "
          "p99 %.2f ms, non-2xx %d %s; CPU per request: zhuqi-fcgi %.0f us, Redis %.0f us "
          "(load average %.1f)"
          % (a.cases, li["connections"], li["requests_per_s"] or 0, li["p50_ms"] or -1,
             li["p99_ms"] or -1, li["non_2xx"], li["socket_errors"],
             li["fcgi_cpu_us_per_req"] or 0, li["redis_cpu_us_per_req"] or 0, li["load_avg"]))
    print("CSV export: %d rows, %.1f MB in %.2fs = %.0f rows/s (zhuqi-fcgi used %.2f CPU s: "
          "%.0f rows per CPU second; load average %.1f); zhuqi-fcgi RSS %d KiB before, %d peak, "
          "%d after" % (ex["rows"], ex["bytes"] / 1e6, ex["seconds"], ex["rows_per_s"],
                        ex["fcgi_cpu_s"], ex["rows_per_fcgi_cpu_s"] or 0, ex["load_avg"],
                        ex["rss_kb_before"], ex["rss_kb_peak"], ex["rss_kb_after"]))
    if not li["valid"]:
        print("staff list: INVALID: %s (the figures above measured errors)"
              % "; ".join(li["problems"]))
    for g, ok in goals:
        print("%-40s %s" % (g, "PASS" if ok else "MISS"))
    os.makedirs(OUT_DIR, exist_ok=True)
    for path in [os.path.join(OUT_DIR, "staff-latest.json")] + ([a.json] if a.json else []):
        with open(path, "w") as f:
            json.dump(result, f, indent=2, ensure_ascii=False)
    return 0 if li["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())

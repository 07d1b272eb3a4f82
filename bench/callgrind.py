#!/usr/bin/env python3
"""Instructions per request in zhuqi-fcgi, per bench row, from callgrind:
exact counts that do not depend on other work on the machine, so a change
can be compared with the one before it on a shared machine.

    python3 bench/callgrind.py [BIN_DIR] [--only ping,step,...] [--seconds N]
                               [--top N]

It starts the stack of `make bench` (bench/run.py's start_stack and row
setups) with zhuqi-fcgi running under `valgrind --tool=callgrind`,
then for each row: zeroes the counters, drives the row with wrk at 4
connections for a few seconds, dumps, and divides the
instructions (Ir) by the requests the app answered on that route
(/api/metrics). With --top it prints the functions with the largest
inclusive share too (callgrind_annotate). Rows that need zhuqi-bot or the
fake platform (DingTalk) and the staff list (100,000 cases take minutes
to store under valgrind) are left out unless named in --only.

BIN_DIR defaults to build/release (build it with debug info for readable
function names: `make BUILD=release all` already passes -g). Needs valgrind
(scripts/deps.sh bench installs it). Nothing leaves 127.0.0.0/8.
"""

import argparse
import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

DEFAULT_ROWS = ("ping", "health", "step", "lookup", "chat_generic")


def wrapper_dir(bin_dir, out_dir):
    """A directory whose zhuqi-fcgi runs the real one under callgrind."""
    d = tempfile.mkdtemp(prefix="zq-cg-bin-")
    for name in os.listdir(bin_dir):
        src = os.path.join(bin_dir, name)
        if os.path.isfile(src) and os.access(src, os.X_OK):
            os.symlink(src, os.path.join(d, name))
    os.unlink(os.path.join(d, "zhuqi-fcgi"))
    with open(os.path.join(d, "zhuqi-fcgi"), "w") as f:
        # The tunable zhuqi-fcgi would otherwise add by executing itself
        # again (fcgi/main.c), which fails under valgrind: /proc/self/exe
        # is valgrind's own tool then.
        f.write("#!/bin/sh\nGLIBC_TUNABLES=glibc.malloc.tcache_count=0 exec valgrind --tool=callgrind "
                "--callgrind-out-file=%s/callgrind.out.%%p -q %s \"$@\"\n"
                % (out_dir, os.path.join(bin_dir, "zhuqi-fcgi")))
    os.chmod(os.path.join(d, "zhuqi-fcgi"), 0o755)
    return d


def control(pid, *args):
    p = subprocess.run(["callgrind_control"] + list(args) + [str(pid)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("callgrind_control %s: %s" % (" ".join(args), p.stdout))


def chat_warmup(bench, stack, spec, seconds, tmp):
    """chat_bench.lua's users first start the complaint and answer its
    eligibility check (5 turns each) before they settle on the measured
    turn (a wrong company name). At callgrind's pace a run is a few turns
    per user of make bench's 256: here 8 users, taken through those turns
    by an unmeasured run first; the measured run continues the same users
    (same run id), and its first messages ("2", "1") are wrong company
    names too."""
    mode = spec["script_args"][0]
    spec["script_args"] = bench.chat_script_args(stack, mode, 8, uuid.uuid4().hex[:8])
    argv = bench.wrk_argv(stack.port, spec, seconds, tmp)
    argv = [x if not x.startswith("-c") or x == "--" else "-c1" for x in argv]
    argv = [x if not x.startswith("-t") else "-t1" for x in argv]
    bench.run_wrk(argv, spec.get("ts_alloc"))


def total_ir(path):
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("%s: no totals line" % path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bin_dir", nargs="?", default="build/release")
    ap.add_argument("--only", help="comma-separated row ids of bench/run.py")
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--top", type=int, default=0, help="print the top N functions per row")
    a = ap.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("wrk") is None:
        sys.exit("callgrind: valgrind and wrk are needed (scripts/deps.sh bench)")
    bin_dir = os.path.abspath(a.bin_dir if os.path.isabs(a.bin_dir)
                              else os.path.join(ROOT, a.bin_dir))
    out_dir = tempfile.mkdtemp(prefix="zq-cg-out-")
    os.environ["ZQ_BIN_DIR"] = wrapper_dir(bin_dir, out_dir)
    sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
    import harness  # noqa: E402  (reads ZQ_BIN_DIR at import)
    # bench/run.py by path: tests/e2e has a run.py too.
    spec_ = importlib.util.spec_from_file_location("bench_run", os.path.join(ROOT, "bench",
                                                                            "run.py"))
    bench = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(bench)
    import test_intake  # noqa: E402

    only = a.only.split(",") if a.only else list(DEFAULT_ROWS)
    specs = [s for s in bench.endpoint_specs() if s["id"] in only]
    cfg = {"threads": 8, "log_level": "info", "nginx_workers": 1}
    need_bot = any(s["id"] == "chat_dingtalk" for s in specs)
    stack = bench.start_stack(harness, cfg, bench.TEMPLATE_KEEPALIVE, need_bot, "callgrind",
                              chat=True)
    results = []
    try:
        pid = stack.fcgi_pid()
        sc = bench.Scenario(stack, test_intake)
        tmp = tempfile.mkdtemp(prefix="zq-cg-")
        for spec in specs:
            spec = dict(spec)
            if spec.get("setup"):
                spec.update(spec.pop("setup")(sc))
            if spec.get("script") == bench.CHAT_LUA:
                chat_warmup(bench, stack, spec, a.seconds, tmp)
            before = sum(bench.app_counts(stack, spec["route"]).values()) \
                if spec["route"] else 0
            control(pid, "-z")
            argv = bench.wrk_argv(stack.port, spec, a.seconds, tmp)
            argv = [x if not x.startswith("-c") or x == "--" else "-c4" for x in argv]
            argv = [x if not x.startswith("-t") else "-t1" for x in argv]
            bench.run_wrk(argv, spec.get("ts_alloc"))  # fresh DingTalk timestamps
            control(pid, "-d", spec["id"])
            after = sum(bench.app_counts(stack, spec["route"]).values()) \
                if spec["route"] else 0
            dumps = sorted(glob.glob(os.path.join(out_dir, "callgrind.out.*")),
                           key=os.path.getmtime)
            path = dumps[-1]
            reqs = after - before
            ir = total_ir(path)
            results.append((spec["label"], reqs, ir, ir / reqs if reqs else 0.0))
            print("%-32s %8d requests %14d Ir %10.0f Ir/request" % results[-1], flush=True)
            if a.top:
                p = subprocess.run(["callgrind_annotate", "--inclusive=yes", path],
                                   stdout=subprocess.PIPE, text=True, errors="replace")
                lines = [ln for ln in p.stdout.splitlines() if re.match(r"^\s*[\d,]+ \(", ln)]
                for ln in lines[: a.top]:
                    print("    " + ln.strip()[:150])
            os.rename(path, os.path.join(out_dir, "row-%s" % spec["id"]))
            time.sleep(0.2)
    finally:
        stack.close(raise_on_problems=False)
    print("callgrind: dumps in %s" % out_dir)


if __name__ == "__main__":
    main()

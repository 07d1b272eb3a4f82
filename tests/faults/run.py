#!/usr/bin/env python3
"""The fault suite: each fault is injected while traffic runs through nginx,
then counted. Every fault prints what it injected and what it counted, and
fails when a count is wrong; the last line is
`faults: N passed, N failed[, N skipped]`. Exit 1 on any failure.

  python3 tests/faults/run.py [-k NAME ...]

Faults (tests/faults/fault_*.py):
  sentinel   Redis primary killed (kill -9) with a replica and 3 Sentinels;
             before that, the replica frozen during a submission (WAIT)
  rolling    rolling restart (SIGTERM) of 2 zhuqi-fcgi instances
  reload     nginx -s reload, several times
  platform   messaging platform down, slow, throttling, garbage, failing
  diskfull   Redis' AOF on a full tmpfs (appendfsync everysec, then always)

Covered elsewhere (tests/e2e, not repeated here): Redis kill -9 during
submissions (test_intake.py), health following Redis (test_redis.py),
SIGTERM with requests in flight and SIGHUP (test_lifecycle.py), zhuqi-bot
kill -9 during a 1,000-target fan-out and the platform down
(test_bot_reliability.py), EMFILE (test_emfile.py).

ZQ_BIN_DIR selects the binaries (default build/asan); see
tests/e2e/harness.py. Python 3 standard library only.
"""

import argparse
import importlib
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

ORDER = ["sentinel", "rolling", "reload", "platform", "diskfull"]


def main(argv=None):
    ap = argparse.ArgumentParser(description="zhuqi fault suite")
    ap.add_argument("-k", action="append", default=[], metavar="NAME",
                    help="only faults whose name contains this (repeatable)")
    a = ap.parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))

    import faultlib  # noqa: F401  (sys.path for the harness)
    import harness

    for exe in (harness.FCGI_BIN, harness.BOT_BIN):
        if not os.access(exe, os.X_OK):
            print("faults: %s is missing: build it first (make BUILD=asan all)" % exe)
            print("faults: 0 passed, 1 failed")
            return 1
    names = [n for n in ORDER if not a.k or any(k in n for k in a.k)]
    print("faults: binaries from %s" % harness.BIN_DIR, flush=True)
    passed = failed = skipped = 0
    t_all = time.monotonic()
    for name in names:
        mod = importlib.import_module("fault_" + name)

        def out(line, _name=name):
            print("[%s] %s" % (_name, line), flush=True)

        t0 = time.monotonic()
        try:
            mod.run(out)
        except faultlib.Skip as e:
            skipped += 1
            out("skipped: %s" % e)
            continue
        except AssertionError as e:
            failed += 1
            out("FAIL (%.1fs): %s" % (time.monotonic() - t0, e))
            continue
        except Exception:
            failed += 1
            out("ERROR (%.1fs):\n%s" % (time.monotonic() - t0, traceback.format_exc()))
            continue
        passed += 1
        out("ok (%.1fs)" % (time.monotonic() - t0))
    print("(%.0fs)" % (time.monotonic() - t_all))
    summary = "faults: %d passed, %d failed" % (passed, failed)
    if skipped:
        summary += ", %d skipped" % skipped
    print(summary)
    return 1 if failed or passed + failed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

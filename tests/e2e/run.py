#!/usr/bin/env python3
"""Runs the end-to-end tests (unittest discovery in tests/e2e), one line per
test, then `e2e: N passed, N failed[, N skipped]`. Exit 1 on any failure,
or when no test ran.

  python3 tests/e2e/run.py [-k SUBSTRING ...] [-x]

ZQ_BIN_DIR selects the binaries (default build/asan); see harness.py.
"""

import argparse
import os
import signal
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class Result(unittest.TextTestResult):
    """Counts per test; a failing setUpClass/tearDownClass (a stack that did
    not start, or a program that exited dirty) counts as one failure."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0
        self.failed = 0
        self.skipped_n = 0
        self._t0 = {}
        self._failed_ids = set()  # a test fails once, however many ways

    def startTest(self, test):
        self._t0[test.id()] = time.monotonic()
        super().startTest(test)

    def _took(self, test):
        t0 = self._t0.pop(test.id(), None)
        return "" if t0 is None else " (%.1fs)" % (time.monotonic() - t0)

    def addSuccess(self, test):
        unittest.TestResult.addSuccess(self, test)
        self.passed += 1
        self._line("ok", test)

    def _fail(self, test, what, key=None):
        key = key or test.id()
        if key in self._failed_ids:
            self._line(what + " (again)", test)
            return
        self._failed_ids.add(key)
        self.failed += 1
        self._line(what, test)

    def addFailure(self, test, err):
        unittest.TestResult.addFailure(self, test, err)
        self._fail(test, "FAIL")

    def addError(self, test, err):
        unittest.TestResult.addError(self, test, err)
        self._fail(test, "ERROR")

    def addSkip(self, test, reason):
        unittest.TestResult.addSkip(self, test, reason)
        self.skipped_n += 1
        self._line("skipped (%s)" % reason, test)

    def addExpectedFailure(self, test, err):
        unittest.TestResult.addExpectedFailure(self, test, err)
        self.passed += 1
        self._line("expected failure", test)

    def addUnexpectedSuccess(self, test):
        unittest.TestResult.addUnexpectedSuccess(self, test)
        self._fail(test, "UNEXPECTED SUCCESS")

    def addSubTest(self, test, subtest, err):
        if err is not None:
            unittest.TestResult.addSubTest(self, test, subtest, err)
            self._fail(subtest, "FAIL", key=test.id())

    def _line(self, what, test):
        self.stream.write("%s ... %s%s\n" % (test.id() if hasattr(test, "id") else test, what,
                                             self._took(test)))
        self.stream.flush()


def _filter(suite, words):
    out = unittest.TestSuite()
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            sub = _filter(t, words)
            if sub.countTestCases():
                out.addTest(sub)
        elif any(w in t.id() for w in words):
            out.addTest(t)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="zhuqi end-to-end tests")
    ap.add_argument("-k", action="append", default=[], metavar="SUBSTRING",
                    help="only tests whose id contains this (repeatable)")
    ap.add_argument("-x", "--failfast", action="store_true")
    a = ap.parse_args(argv)

    # SIGTERM/SIGHUP on the runner still tears the stacks down (atexit).
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))

    import harness  # noqa: F401  (after sys.path; fails early on a bad setup)

    for exe in (harness.FCGI_BIN, harness.BOT_BIN):
        if not os.access(exe, os.X_OK):
            print("e2e: %s is missing: build it first (make BUILD=asan all)" % exe)
            print("e2e: 0 passed, 1 failed")
            return 1

    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    if a.k:
        suite = _filter(suite, a.k)
    print("e2e: binaries from %s" % harness.BIN_DIR, flush=True)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=0, resultclass=Result,
                                     failfast=a.failfast)
    t0 = time.monotonic()
    result = runner.run(suite)
    sys.stdout.flush()
    summary = "e2e: %d passed, %d failed" % (result.passed, result.failed)
    if result.skipped_n:
        summary += ", %d skipped" % result.skipped_n
    print("(%.0fs)" % (time.monotonic() - t0))
    print(summary)
    ran = result.passed + result.failed
    return 1 if result.failed or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

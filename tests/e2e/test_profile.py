"""make profile's premise: zhuqi-fcgi runs under valgrind (callgrind) as
it is. It executes itself once to turn glibc's per-thread malloc caches
off (fcgi/main.c), and under valgrind that re-exec ran valgrind's own
tool ("You cannot run ... directly"), so `make profile` failed on a fresh
clone unless ZQ_MALLOC_AS_IS=1 was set. Here zhuqi-fcgi is started under
`valgrind --tool=callgrind` with nothing of the kind in its environment
(no GLIBC_TUNABLES, no ZQ_MALLOC_AS_IS) and must answer through nginx.

Needs valgrind and a build without sanitizers (valgrind cannot run ASan
binaries): ZQ_BIN_DIR's when it is one, else build/release, brought up to
date with make first (a stale release binary from before the fix would
fail, and none at all would skip the test in CI); skipped only without
valgrind."""

import os
import shutil
import stat
import subprocess
import tempfile
import unittest

import harness

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def without_asan(exe):
    if not os.path.isfile(exe):
        return False
    with open(exe, "rb") as f:
        return b"__asan_init" not in f.read()


def plain_fcgi():
    """A zhuqi-fcgi built without ASan, or None."""
    exe = os.path.join(harness.BIN_DIR, "zhuqi-fcgi")
    if without_asan(exe):
        return exe
    exe = os.path.join(ROOT, "build", "release", "zhuqi-fcgi")
    p = subprocess.run(["make", "-s", "-C", ROOT, "-j2", "BUILD=release", "build/release/zhuqi-fcgi"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    if p.returncode != 0:
        raise AssertionError("make BUILD=release failed:\n" + p.stdout.decode("utf-8", "replace"))
    return exe if without_asan(exe) else None


class TestProfileUnderValgrind(unittest.TestCase):
    def setUp(self):
        if shutil.which("valgrind") is None:
            self.skipTest("needs valgrind")
        self.exe = plain_fcgi()
        if self.exe is None:
            self.skipTest("needs valgrind and a zhuqi-fcgi without ASan (make BUILD=release)")
        self.tmp = tempfile.mkdtemp(prefix="zq-vg-")
        self.wrapper = os.path.join(self.tmp, "zhuqi-fcgi")
        with open(self.wrapper, "w") as f:
            # As bench/callgrind.py runs it, minus the tunable it used to
            # set to dodge the re-exec; the environment is cleaned of both.
            f.write("#!/bin/sh\nunset GLIBC_TUNABLES ZQ_MALLOC_AS_IS\n"
                    "exec valgrind --tool=callgrind --callgrind-out-file=%s/cg.%%p -q %s \"$@\"\n"
                    % (self.tmp, self.exe))
        os.chmod(self.wrapper, stat.S_IRWXU)
        self.saved = harness.FCGI_BIN
        harness.FCGI_BIN = self.wrapper

    def tearDown(self):
        harness.FCGI_BIN = self.saved
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_fcgi_answers_under_callgrind(self):
        wait = harness.Stack.wait_http_ready
        # valgrind starts slowly on a busy machine: more than the default.
        harness.Stack.wait_http_ready = lambda s, timeout=120.0: wait(s, timeout)
        try:
            st = harness.Stack(name="profile")
        finally:
            harness.Stack.wait_http_ready = wait
        try:
            r = st.get("/api/ping")
            self.assertEqual(r.status, 200, r)
            self.assertNotIn("cannot run", st.log("fcgi"))
        finally:
            st.close()
        # callgrind wrote its profile: it ran zhuqi-fcgi itself.
        self.assertTrue([n for n in os.listdir(self.tmp) if n.startswith("cg.")])


if __name__ == "__main__":
    unittest.main()

"""zhuqi-fcgi's life: graceful SIGTERM, SIGHUP reload, one instance per
listen address, stale sockets, and what nginx says while the app is down."""

import json
import os
import re
import signal
import socket
import threading
import time
import unittest

from harness import FCGI_BIN, Checks, Stack, run_program, sanitizer_findings, write_ini

JSON = {"Content-Type": "application/json"}


def in_flight(stack):
    return sum(v for n, _, v in stack.metrics() if n == "zhuqi_http_requests_in_flight")


class PerTestStack(Checks):
    """A fresh stack for each test (these tests stop or replace the app)."""

    STACK_ARGS = {}

    def setUp(self):
        self.stack = Stack(name=type(self).__name__, **self.STACK_ARGS)
        self.addCleanup(self.stack.close)


class TestSigterm(PerTestStack, unittest.TestCase):
    def test_in_flight_request_finishes(self):
        st = self.stack
        baseline = in_flight(st)  # counts this metrics request itself, or not
        result = {}

        def slow():
            try:
                result["r"] = st.get("/api/_debug/sleep?ms=1500", timeout=30)
            except Exception as e:  # reported below
                result["e"] = e

        t = threading.Thread(target=slow)
        t.start()
        st.wait_for(lambda: in_flight(st) >= baseline + 1, 10, "the slow request to be in flight")
        self.assertStopsCleanly(st, "fcgi")
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertNotIn("e", result, result.get("e"))
        r = result["r"]
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"slept_ms": 1500})

    def test_idle_keepalive_connections(self):
        st = self.stack
        # Concurrent requests make nginx open several upstream connections,
        # which it then keeps idle (keepalive + fastcgi_keep_conn).
        threads = [threading.Thread(target=st.get, args=("/api/_debug/sleep?ms=300",))
                   for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for _ in range(5):
            self.assertEqual(st.get("/api/ping").status, 200)
        self.assertStopsCleanly(st, "fcgi")

    def test_sigint_like_sigterm(self):
        st = self.stack
        self.assertEqual(st.get("/api/ping").status, 200)
        p = st.procs["fcgi"]
        t0 = time.monotonic()
        p.signal(signal.SIGINT)
        rc = p.wait(15)
        self.assertEqual(rc, 0, st._tail("fcgi"))
        self.assertLessEqual(time.monotonic() - t0, 8.0)


class TestAppDown(PerTestStack, unittest.TestCase):
    def test_nginx_answers_503_json(self):
        st = self.stack
        self.assertStopsCleanly(st, "fcgi")
        for path in ("/api/ping", "/api/health", "/hook/generic"):
            with self.subTest(path=path):
                r = st.request("POST" if path.startswith("/hook") else "GET", path,
                               body=b"{}" if path.startswith("/hook") else None)
                self.assertErrorShape(r, 503, "service_unavailable")
                self.assertEqual(r.header("Retry-After"), str(st.NGINX_RETRY_AFTER), r)
                self.assertTrue(r.header("X-Request-Id"), r)
        # Static pages do not need the app.
        self.assertEqual(st.get("/").status, 200)


class TestReload(PerTestStack, unittest.TestCase):
    STACK_ARGS = {"app_max_body": "64k", "nginx_max_body": "1m"}

    def test_sighup_applies_max_body_without_dropping_requests(self):
        st = self.stack
        pid = st.fcgi_pid()
        big = json.dumps({"pad": "x" * (100 * 1024)}).encode()
        self.assertEqual(st.request("POST", "/api/_debug/echo", big, JSON).status, 413)

        statuses = []
        stop = threading.Event()

        def stream():
            while not stop.is_set():
                try:
                    statuses.append(st.get("/api/ping", timeout=10).status)
                except OSError as e:
                    statuses.append(repr(e))

        t = threading.Thread(target=stream)
        t.start()
        try:
            st.wait_for(lambda: len(statuses) >= 20, 20, "the request stream to get going")
            mark = len(st.fcgi_log())
            st.ini["server"]["max_body"] = "256k"
            st.ini["log"]["level"] = "info"
            write_ini(st.ini_path, st.ini)
            st.signal_fcgi(signal.SIGHUP)
            st.wait_for_log("fcgi", r"event=reload ok=1", timeout=15, since=mark)
            n = len(statuses)
            st.wait_for(lambda: len(statuses) >= n + 20, 20, "more requests after the reload")
        finally:
            stop.set()
            t.join(30)
        bad = [s for s in statuses if s != 200]
        self.assertEqual(bad, [], "requests failed around the reload (%d made)" % len(statuses))

        r = st.request("POST", "/api/_debug/echo", big, JSON)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(st.fcgi_pid(), pid)
        self.assertTrue(st.procs["fcgi"].alive())
        after = st.fcgi_log()[mark:]
        after = after[after.index("event=reload ok=1"):]
        self.assertNotIn("level=debug", after, "log level info must hold after the reload")

    def test_sighup_with_broken_file_keeps_running(self):
        st = self.stack
        mark = len(st.fcgi_log())
        with open(st.ini_path, "a") as f:
            f.write("\n[server]\nthreads = banana\n")
        st.signal_fcgi(signal.SIGHUP)
        m = st.wait_for_log("fcgi", r"event=reload\b.*", timeout=15, since=mark)
        self.assertNotIn("ok=1", m.group(0), "a broken file must not count as reloaded")
        self.assertTrue(st.procs["fcgi"].alive())
        self.assertEqual(st.get("/api/ping").status, 200)
        # The old max_body still holds.
        big = json.dumps({"pad": "x" * (100 * 1024)}).encode()
        self.assertEqual(st.request("POST", "/api/_debug/echo", big, JSON).status, 413)


class TestSingleInstance(PerTestStack, unittest.TestCase):
    def _second_instance(self):
        p = run_program([FCGI_BIN, "-c", self.stack.ini_path], timeout=30)
        self.assertEqual(sanitizer_findings(p.stderr), [], p.stderr)
        return p

    def test_second_instance_exits_3(self):
        st = self.stack
        p = self._second_instance()
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn(st.fcgi_sock, p.stderr, "the message should name the address")
        self.assertRegex(p.stderr.lower(), r"running|in use|held|already|live")
        # The first one is untouched and serving.
        self.assertTrue(os.path.exists(st.fcgi_sock), "the live socket must not be removed")
        self.assertTrue(st.procs["fcgi"].alive())
        for _ in range(5):
            self.assertEqual(st.get("/api/ping").status, 200)

    def test_stale_socket_is_reused(self):
        st = self.stack
        st.kill9("fcgi")
        self.assertTrue(os.path.exists(st.fcgi_sock), "kill -9 leaves the socket file")
        with socket.socket(socket.AF_UNIX) as s:
            self.assertNotEqual(s.connect_ex(st.fcgi_sock), 0, "nobody should be listening")
        st.start_fcgi()
        st.wait_for(lambda: st.get("/api/ping").status == 200, 15,
                    "the new instance to serve through nginx")
        self.assertEqual(st.get("/api/health").status, 200)


class TestTcpListen(PerTestStack, unittest.TestCase):
    STACK_ARGS = {"fcgi_listen": "tcp"}

    def test_serves_over_tcp(self):
        self.assertEqual(self.stack.get("/api/ping").status, 200)
        self.assertEqual(self.stack.get("/api/health").status, 200)

    def test_second_instance_exits_3(self):
        p = run_program([FCGI_BIN, "-c", self.stack.ini_path], timeout=30)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(sanitizer_findings(p.stderr), [], p.stderr)
        port = self.stack.fcgi_listen.rsplit(":", 1)[1]
        self.assertTrue(re.search(re.escape(port), p.stderr), "the message should name the address")
        self.assertEqual(self.stack.get("/api/ping").status, 200)


if __name__ == "__main__":
    unittest.main()

"""The public API basics through nginx: ping, health, error shapes, request
ids, headers, static pages, metrics."""

import gzip
import os
import re
import socket
import unittest
import uuid

from harness import HTML_ROOT, ROOT, StackCase

CJK = re.compile(r"[\u4e00-\u9fff]")


class TestPing(StackCase, unittest.TestCase):
    def test_ping(self):
        r = self.stack.get("/api/ping")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"ok": True})


class TestHealth(StackCase, unittest.TestCase):
    def test_health_up(self):
        r = self.stack.get("/api/health")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"ok": True, "redis": "up"})


class TestErrorShapes(StackCase, unittest.TestCase):
    def test_unknown_path_404(self):
        for path in ("/api/no-such-thing", "/api/ping/extra", "/hook/no-such-platform"):
            with self.subTest(path=path):
                r = self.stack.get(path)
                body = self.assertErrorShape(r, 404, "not_found")
                self.assertRegex(body["error"]["message"], CJK, "message should be Chinese")

    def test_wrong_method_405(self):
        for method, path, allowed in (("POST", "/api/ping", "GET"),
                                      ("DELETE", "/api/health", "GET"),
                                      ("GET", "/api/_debug/echo", "POST")):
            with self.subTest(method=method, path=path):
                r = self.stack.request(method, path, body=b"" if method == "POST" else None)
                self.assertErrorShape(r, 405, "method_not_allowed")
                allow = r.header("Allow")
                self.assertIsNotNone(allow, r)
                self.assertIn(allowed, [m.strip() for m in allow.split(",")], r)


class TestRequestId(StackCase, unittest.TestCase):
    def _rid_in_access_log(self, marker):
        line = self.stack.wait_for(
            lambda: next((ln for ln in self.stack.access_log().splitlines() if marker in ln),
                         None), 10, "access log line for " + marker)
        m = re.search(r"\brid=([0-9a-f]+)", line)
        self.assertIsNotNone(m, line)
        return m.group(1)

    def test_request_id_is_nginx_request_id(self):
        seen = set()
        for path in ("/api/ping", "/api/health", "/api/no-such-thing"):
            marker = uuid.uuid4().hex
            r = self.stack.get("%s?m=%s" % (path, marker))
            rid = r.header("X-Request-Id")
            self.assertIsNotNone(rid, r)
            self.assertRegex(rid, r"^[0-9a-f]{32}$")
            self.assertEqual(rid, self._rid_in_access_log(marker), "app must echo $request_id")
            self.assertNotIn(rid, seen, "request ids must be unique")
            seen.add(rid)
        self.assertEqual(len(seen), 3)

    def test_single_request_id_header(self):
        r = self.stack.get("/api/ping")
        self.assertEqual(len(r.headers.get_all("X-Request-Id") or []), 1, r)


class TestSecurityHeaders(StackCase, unittest.TestCase):
    def test_api_headers(self):
        for path, status in (("/api/ping", 200), ("/api/no-such-thing", 404)):
            with self.subTest(path=path):
                r = self.stack.get(path)
                self.assertEqual(r.status, status, r)
                self.assertEqual(r.header("Content-Type"), "application/json; charset=utf-8")
                self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
                self.assertIn("no-store", r.header("Cache-Control", ""))
                self.assertEqual(len(r.headers.get_all("X-Content-Type-Options")), 1, r)
                self.assertEqual(r.header("Server"), "nginx", "server_tokens off")

    def test_static_headers(self):
        r = self.stack.get("/")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertEqual(r.header("X-Frame-Options"), "DENY")
        self.assertTrue(r.header("Referrer-Policy"))
        csp = r.header("Content-Security-Policy", "")
        self.assertIn("default-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertEqual(r.header("Cache-Control"), "no-cache")
        self.assertEqual(r.header("Server"), "nginx", "server_tokens off")


class TestStatic(StackCase, unittest.TestCase):
    def setUp(self):
        with open(os.path.join(HTML_ROOT, "index.html"), "rb") as f:
            self.index = f.read()

    def test_index_plain(self):
        r = self.stack.get("/")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type", "").startswith("text/html"), r)
        self.assertIsNone(r.header("Content-Encoding"))
        self.assertEqual(r.body, self.index)
        self.assertIn("助企".encode(), r.body)
        self.assertIn(b'name="viewport"', r.body)

    def test_index_gzip(self):
        r = self.stack.get("/", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Encoding"), "gzip", r)
        self.assertIn("Accept-Encoding", r.header("Vary", ""))
        self.assertEqual(gzip.decompress(r.body), self.index)

    def test_missing_static_404(self):
        r = self.stack.get("/no-such-page.html")
        self.assertEqual(r.status, 404, r)


class TestMetrics(StackCase, unittest.TestCase):
    def _ping_count(self, samples):
        total = 0.0
        for name, labels, value in samples:
            if (name == "zhuqi_http_requests_total" and labels.get("status") == "200"
                    and "ping" in labels.get("route", "")):
                total += value
        return total

    def test_counts_our_requests(self):
        before = self._ping_count(self.stack.metrics())
        for _ in range(3):
            self.assertEqual(self.stack.get("/api/ping").status, 200)
        after = self._ping_count(self.stack.metrics())
        self.assertGreaterEqual(after - before, 3, "zhuqi_http_requests_total for ping, 200")

    def test_metric_families(self):
        r = self.stack.get("/api/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type", "").startswith("text/plain"), r)
        samples = self.stack.metrics()
        names = {n for n, _, _ in samples}
        for want in ("zhuqi_http_requests_total", "zhuqi_http_request_duration_seconds_bucket",
                     "zhuqi_http_request_duration_seconds_sum",
                     "zhuqi_http_request_duration_seconds_count",
                     "zhuqi_http_requests_in_flight", "zhuqi_redis_errors_total",
                     "zhuqi_build_info"):
            self.assertIn(want, names)
        with open(os.path.join(ROOT, "VERSION")) as f:
            version = f.read().strip()
        info = [lb for n, lb, v in samples if n == "zhuqi_build_info" and v == 1]
        self.assertTrue(info, "zhuqi_build_info ... 1")
        self.assertEqual(info[0].get("version"), version)
        self.assertIn("revision", info[0])

    def test_refused_from_other_address(self):
        # 127.0.0.2 is still loopback, but not the 127.0.0.1 that nginx
        # allows: it stands in for a remote scraper.
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.2", 0))
        except OSError as e:
            self.skipTest("cannot bind 127.0.0.2 here: %s" % e)
        r = self.stack.request("GET", "/api/metrics", source="127.0.0.2")
        self.assertErrorShape(r, 403, "forbidden")
        self.assertNotIn(b"zhuqi_", r.body)
        # ... while the rest of the API is open to it.
        self.assertEqual(self.stack.request("GET", "/api/ping", source="127.0.0.2").status, 200)


if __name__ == "__main__":
    unittest.main()

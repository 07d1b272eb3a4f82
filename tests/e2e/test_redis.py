"""Redis outages: zhuqi-fcgi answers 503 while Redis is gone, recovers by
itself when it is back, and never restarts to do so."""

import unittest

from harness import Checks, Stack, StackCase


def redis_errors(stack):
    return sum(v for n, _, v in stack.metrics() if n == "zhuqi_redis_errors_total")


class TestRedisOutage(StackCase, unittest.TestCase):
    def test_health_follows_redis(self):
        st = self.stack
        pid = st.fcgi_pid()
        self.assertEqual(st.get("/api/health").status, 200)
        errors_before = redis_errors(st)
        self.assertEqual(st.redis_command("SET", "e2e:aof", "kept"), "OK")

        st.stop_redis()
        r = st.wait_for(lambda: (lambda r: r if r.status == 503 else None)(st.get("/api/health")),
                        15, "health to answer 503 with Redis stopped")
        body = self.assertErrorShape(r, 503, "storage_unavailable")
        self.assertEqual(body.get("ok"), False, r)
        self.assertEqual(body.get("redis"), "down", r)
        self.assertRetryAfter(r)
        self.assertEqual(r.header("Retry-After"), str(st.APP_RETRY_AFTER), "[server] retry_after")
        self.assertTrue(r.header("X-Request-Id"), r)
        # Liveness does not touch storage.
        self.assertEqual(st.get("/api/ping").status, 200)
        # A second look while still down: still a clean 503, not a hang.
        self.assertEqual(st.get("/api/health", timeout=15).status, 503)
        self.assertGreater(redis_errors(st), errors_before, "zhuqi_redis_errors_total")

        st.start_redis()
        r = st.wait_for(lambda: (lambda r: r if r.status == 200 else None)(st.get("/api/health")),
                        20, "health to answer 200 again after Redis came back")
        self.assertEqual(r.json(), {"ok": True, "redis": "up"})
        self.assertEqual(st.fcgi_pid(), pid, "zhuqi-fcgi must recover without a restart")
        self.assertEqual(st.redis_command("GET", "e2e:aof"), "kept", "Redis keeps data (AOF)")
        self.assertTrue(st.procs["fcgi"].alive())

    def test_health_503_when_redis_refuses_writes(self):
        """Redis up but refusing writes (as under MISCONF on a full disk):
        PING would say OK, yet every submission would fail, so health says
        503 too. NOREPLICAS stands in for MISCONF here: the same refusal of
        every write command, and easy to switch off again."""
        st = self.stack
        self.assertEqual(st.get("/api/health").status, 200)
        st.redis_command("CONFIG", "SET", "min-replicas-to-write", "1")
        try:
            r = st.get("/api/health")
            body = self.assertErrorShape(r, 503, "storage_unavailable")
            self.assertEqual(body.get("redis"), "read-only", r)
            self.assertIn("NOREPLICAS", body.get("redis_error", ""), r)
            self.assertRetryAfter(r)
            r = st.request("POST", "/api/intake/consult", b"{}",
                           {"Content-Type": "application/json"})
            self.assertErrorShape(r, 503, "storage_unavailable")
        finally:
            st.redis_command("CONFIG", "SET", "min-replicas-to-write", "0")
        r = st.get("/api/health")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"ok": True, "redis": "up"})


class TestStartWithoutRedis(Checks, unittest.TestCase):
    def test_fcgi_starts_and_recovers(self):
        st = Stack(redis=False, name="StartWithoutRedis")
        self.addCleanup(st.close)
        self.assertEqual(st.get("/api/ping").status, 200)
        r = st.get("/api/health")
        self.assertErrorShape(r, 503, "storage_unavailable")
        self.assertRetryAfter(r)
        st.start_redis()
        st.wait_for(lambda: st.get("/api/health").status == 200, 20,
                    "health to answer 200 once Redis is up")


if __name__ == "__main__":
    unittest.main()

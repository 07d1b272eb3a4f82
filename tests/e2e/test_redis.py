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

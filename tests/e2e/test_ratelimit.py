"""nginx's limit_req on intake, case lookups and webhooks: 429 in the API's
JSON shape with Retry-After. Rates are set very low for this stack only."""

import unittest

from harness import StackCase

# 1 request a minute with a burst of 1: the first two pass, the third
# within the minute is refused, however slow the machine.
LOW = ("1r/m", 1)


class TestRateLimit(StackCase, unittest.TestCase):
    STACK_ARGS = {"rates": {"intake": LOW, "cases": LOW, "hook": LOW}}

    def _hammer(self, method, path, body=b"{}"):
        out = []
        for _ in range(4):
            out.append(self.stack.request(method, path, body,
                                          {"Content-Type": "application/json"}))
        return out

    def _check(self, method, path):
        rs = self._hammer(method, path)
        self.assertNotEqual(rs[0].status, 429, rs[0])
        limited = [r for r in rs if r.status == 429]
        self.assertTrue(limited, "no 429 in %s" % [r.status for r in rs])
        for r in limited:
            self.assertErrorShape(r, 429, "rate_limited")
            self.assertRetryAfter(r)
            self.assertTrue(r.header("X-Request-Id"), r)

    def test_intake_limited(self):
        self._check("POST", "/api/intake/consult")

    def test_case_lookup_limited(self):
        self._check("POST", "/api/cases/ZX20261126-0001/lookup")

    def test_hook_limited(self):
        self._check("POST", "/hook/generic")

    def test_other_api_not_limited(self):
        for _ in range(10):
            self.assertEqual(self.stack.get("/api/ping").status, 200)


if __name__ == "__main__":
    unittest.main()

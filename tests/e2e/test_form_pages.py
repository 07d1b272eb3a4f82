"""What the public pages ask the server for (issue 16, items 4, 5 and 8):
the draft state behind the start page's 继续填写 badge (draft, none,
expired; no personal data) and the 14-day draft lifetime."""

import json
import os
import unittest

from harness import ROOT, StackCase
from test_intake import Client, sample_for


class FormPagesCase(StackCase, unittest.TestCase):
    STACK_ARGS = {}

    def schema(self, form):
        r = self.stack.get("/api/forms/" + form)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def state(self, client, form="complaint"):
        r = client.call("GET", "/api/intake/%s/state" % form, csrf=False)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        return r.json()


class TestDraftState(FormPagesCase):
    def test_draft_lives_14_days_by_default(self):
        r = self.stack.get("/api/privacy")
        self.assertEqual(r.json()["retention"]["draft_seconds"], 14 * 86400)
        c = Client(self.stack)
        r = c.start("consult")
        self.assertEqual(r.status, 201, r)
        ttl = self.stack.redis_command("TTL", "zqe2e:sess:" + c.cookie.split("=", 1)[1])
        self.assertGreater(ttl, 13 * 86400)
        # The cookie outlives the session, so that expiry can be told apart
        # from "never started".
        max_age = int(r.header("Set-Cookie").split("Max-Age=")[1].split(";")[0])
        self.assertGreater(max_age, 14 * 86400)

    def test_none_without_a_cookie(self):
        self.assertEqual(self.state(Client(self.stack)), {"state": "none", "exists": False})

    def test_unknown_form(self):
        r = self.stack.get("/api/intake/nope/state")
        self.assertErrorShape(r, 404, "unknown_form")

    def test_draft_step_and_count_no_personal_data(self):
        s = self.schema("complaint")
        c = Client(self.stack)
        c.start("complaint")
        self.assertEqual(self.state(c)["state"], "draft")
        self.assertEqual(self.state(c)["done"], 0)
        first = s["steps"][0]
        answers = {f["id"]: sample_for(f) for f in first["fields"]}
        r = c.call("PUT", "/api/intake/complaint/steps/" + first["id"], {"answers": answers})
        self.assertEqual(r.status, 200, r)
        # A step save keeps the cookie alive as long as the session.
        self.assertIn("Max-Age=", r.header("Set-Cookie") or "")
        st = self.state(c)
        self.assertEqual(st, {"state": "draft", "exists": True, "step": s["steps"][1]["id"],
                              "done": 1, "steps": len(s["steps"])})
        body = json.dumps(st, ensure_ascii=False)
        for v in answers.values():
            if isinstance(v, str) and len(v) > 3:
                self.assertNotIn(v, body)
        # The other form of the same session has no draft.
        self.assertEqual(self.state(c, "consult")["state"], "none")

    def test_expired_when_the_session_is_gone(self):
        c = Client(self.stack)
        c.start("complaint")
        sid = c.cookie.split("=", 1)[1]
        self.stack.redis_command("DEL", "zqe2e:sess:" + sid)
        self.assertEqual(self.state(c), {"state": "expired", "exists": False})
        # A cookie that names no session, whatever its shape: the same
        # answer (as the other intake routes' 410), never an error.
        bad = Client(self.stack)
        bad.cookie = "zq_sid=not-a-session"
        self.assertEqual(self.state(bad)["state"], "expired")


class TestDefaults(unittest.TestCase):
    def test_ini_says_14_days(self):
        ini = open(os.path.join(ROOT, "config", "zhuqi.ini"), encoding="utf-8").read()
        self.assertIn("session_ttl = 1209600", ini)


if __name__ == "__main__":
    unittest.main()

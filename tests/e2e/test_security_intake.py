"""Issue 12, the intake items: daily submission quotas (item 2, first
half), the Idempotency-Key bound to its session (item 3), the lookup's
per-case lock (item 7) and duplicates and exports kept to staff (item 9).
Each class runs its own stack with the limits it tests turned on (the
harness turns them off for every other suite)."""

import csv
import io
import json
import time
import unittest
import uuid

from harness import StackCase
from staff_util import Tokens, auth
from test_intake import SAMPLE, sample_for, uscc

TOKENS = Tokens()


def beijing_midnight_in(now=None):
    """Seconds from now to the next midnight, Beijing time."""
    t = int(now if now is not None else time.time()) + 8 * 3600
    return 86400 - t % 86400


def mobile_no(i):
    return "139%08d" % i


def uscc_no(i):
    return uscc("91510100MA%07d" % i)


class Client:
    """A browser-like client from one source address (127.0.0.0/8 all
    reach the stack's 127.0.0.1): session cookie and CSRF token kept."""

    def __init__(self, stack, source="127.0.0.1"):
        self.stack = stack
        self.source = source
        self.cookie = None
        self.csrf = None

    def call(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf:
            h.setdefault("X-CSRF-Token", self.csrf)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            h["Content-Type"] = "application/json"
        r = self.stack.request(method, path, body=data, headers=h, source=self.source)
        sc = r.header("Set-Cookie")
        if sc and sc.startswith("zq_sid="):
            self.cookie = sc.split(";", 1)[0]
        return r


class IntakeBase(StackCase):
    INTAKE = {}
    STACK_ARGS = {}

    @classmethod
    def setUpClass(cls):
        ini = TOKENS.ini()
        ini["intake"] = dict(cls.INTAKE)
        cls.STACK_ARGS = {"ini": ini}
        super().setUpClass()
        cls.schemas = {}
        for form in ("consult", "complaint"):
            r = cls.stack.get("/api/forms/" + form)
            assert r.status == 200, r
            cls.schemas[form] = r.json()

    def fill(self, form, source="127.0.0.1", **over):
        """A new session from source with every step of form saved."""
        c = Client(self.stack, source)
        r = c.call("POST", "/api/intake/" + form)
        self.assertIn(r.status, (200, 201), r)
        c.csrf = r.json()["csrf"]
        for st in self.schemas[form]["steps"]:
            if st.get("review"):
                continue
            answers = {f["id"]: over.get(f["id"], sample_for(f)) for f in st.get("fields", [])}
            r = c.call("PUT", "/api/intake/%s/steps/%s" % (form, st["id"]), {"answers": answers})
            self.assertEqual(r.status, 200, r)
        return c

    def submit(self, c, form="consult", key=None):
        return c.call("POST", "/api/intake/%s/submit" % form,
                      headers={"Idempotency-Key": key or uuid.uuid4().hex})

    def stored(self):
        return self.stack.redis_command("ZCARD", "zqe2e:cases:all")

    def assertQuota(self, r, words):
        body = self.assertErrorShape(r, 429, "quota_exceeded")
        self.assertIn(words, body["error"]["message"])
        self.assertIn("明天", body["error"]["message"])
        self.assertRetryAfter(r)
        # The end of the Beijing day (a second either side for the clock).
        self.assertLessEqual(abs(int(r.header("Retry-After")) - beijing_midnight_in()), 2)
        self.assertNotIn("case", r.json())


class TestIntakeQuotaIP(IntakeBase, unittest.TestCase):
    """Item 2: a per-client quota of stored submissions per day."""

    INTAKE = {"quota_ip_per_day": 5, "quota_mobile_per_day": 0, "quota_uscc_per_day": 0}

    def test_fifty_from_one_address(self):
        src = "127.0.0.10"
        before = self.stored()
        statuses = []
        # Each attempt its own session and answers: only the address is shared.
        for i in range(50):
            c = self.fill("consult", src, mobile=mobile_no(i), uscc=uscc_no(i))
            r = self.submit(c, key=uuid.uuid4().hex)
            statuses.append(r.status)
            if r.status == 429:
                self.assertQuota(r, "网络")
            elif r.status != 201:
                self.fail("submission %d answered %r" % (i, r))
        # Inside the quota nothing is refused: the first five are stored.
        self.assertEqual(statuses[:5], [201] * 5)
        self.assertEqual(statuses[5:], [429] * 45)
        self.assertEqual(self.stored() - before, 5)
        # Another address is another client.
        r = self.submit(self.fill("consult", "127.0.0.11", mobile=mobile_no(99)))
        self.assertEqual(r.status, 201, r)

    def test_replay_is_not_counted_nor_refused(self):
        src = "127.0.0.20"
        c = self.fill("consult", src, mobile=mobile_no(200))
        key = uuid.uuid4().hex
        r = self.submit(c, key=key)
        self.assertEqual(r.status, 201, r)
        cid = r.json()["case"]["id"]
        # The same key again, many times: one case, the quota untouched.
        for _ in range(6):
            r = self.submit(c, key=key)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["case"]["id"], cid)
        for i in range(4):
            r = self.submit(self.fill("consult", src, mobile=mobile_no(201 + i)))
            self.assertEqual(r.status, 201, r)
        r = self.submit(self.fill("consult", src, mobile=mobile_no(210)))
        self.assertQuota(r, "网络")
        # Once full, the stored case's own retry still gets it back.
        r = self.submit(c, key=key)
        self.assertEqual((r.status, r.json()["case"]["id"]), (200, cid))


class TestIntakeQuotaMobileUscc(IntakeBase, unittest.TestCase):
    """Item 2: per mobile and per credit code, whatever the address."""

    INTAKE = {"quota_ip_per_day": 0, "quota_mobile_per_day": 3, "quota_uscc_per_day": 4}

    def test_per_mobile(self):
        got = []
        for i in range(6):
            c = self.fill("consult", "127.0.1.%d" % (i + 1), mobile="13700000001",
                          uscc=uscc_no(1000 + i))
            got.append(self.submit(c))
        self.assertEqual([r.status for r in got], [201, 201, 201, 429, 429, 429])
        self.assertQuota(got[3], "手机号码")
        r = self.submit(self.fill("consult", "127.0.1.9", mobile="13700000002",
                                  uscc=uscc_no(1010)))
        self.assertEqual(r.status, 201, r)

    def test_per_uscc(self):
        code = uscc_no(2000)
        got = []
        for i in range(6):
            c = self.fill("consult", "127.0.2.%d" % (i + 1), mobile=mobile_no(2000 + i),
                          uscc=code)
            got.append(self.submit(c))
        self.assertEqual([r.status for r in got], [201, 201, 201, 201, 429, 429])
        self.assertQuota(got[4], "统一社会信用代码")
        r = self.submit(self.fill("consult", "127.0.2.9", mobile=mobile_no(2010),
                                  uscc=uscc_no(2001)))
        self.assertEqual(r.status, 201, r)


class TestIdempotencyKeySession(IntakeBase, unittest.TestCase):
    """Item 3: a submission key belongs to the session that used it."""

    INTAKE = {"quota_ip_per_day": 0, "quota_mobile_per_day": 0, "quota_uscc_per_day": 0}

    def test_key_from_another_session_is_409(self):
        key = uuid.uuid4().hex
        a = self.fill("consult")
        r = self.submit(a, key=key)
        self.assertEqual(r.status, 201, r)
        cid = r.json()["case"]["id"]
        b = self.fill("consult", mobile="13900000009")
        r = self.submit(b, key=key)
        body = self.assertErrorShape(r, 409, "idempotency_key_conflict")
        self.assertNotIn("case", body)
        self.assertNotIn(cid.encode(), r.body)
        # B's draft is still there to be submitted with its own key.
        r = b.call("GET", "/api/intake/consult")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["answers"]["mobile"], "13900000009")
        r = self.submit(b)
        self.assertEqual(r.status, 201, r)
        self.assertNotEqual(r.json()["case"]["id"], cid)
        # A's own retry still gets A's case.
        r = self.submit(a, key=key)
        self.assertEqual((r.status, r.json()["case"]["id"]), (200, cid))

    def test_key_needs_sixteen_characters(self):
        c = self.fill("consult")
        for bad in ("abcdefgh", "0123456789abcde"):
            r = self.submit(c, key=bad)
            body = self.assertErrorShape(r, 400, "missing_idempotency_key")
            self.assertIn("16", body["error"]["message"])
        r = self.submit(c, key="0123456789abcdef")
        self.assertEqual(r.status, 201, r)


class TestLookupLock(IntakeBase, unittest.TestCase):
    """Item 7: wrong mobiles lock one case's lookup, from any address."""

    INTAKE = {"quota_ip_per_day": 0, "quota_mobile_per_day": 0, "quota_uscc_per_day": 0,
              "lookup_per_minute": 1000, "lookup_fail_max": 3, "lookup_lockout": 600}

    def lookup(self, cid, mobile, source="127.0.0.1"):
        return self.stack.request("POST", "/api/cases/%s/lookup" % cid,
                                  body=json.dumps({"mobile": mobile}).encode(),
                                  headers={"Content-Type": "application/json"}, source=source)

    def new_case(self, mobile):
        r = self.submit(self.fill("consult", mobile=mobile))
        self.assertEqual(r.status, 201, r)
        return r.json()["case"]["id"]

    def test_lock_after_failures(self):
        cid = self.new_case("13600000001")
        other = self.new_case("13600000002")
        self.assertEqual(self.lookup(cid, "13600000001").status, 200)
        # Three wrong mobiles, each from another address: the same 404.
        for i in range(3):
            r = self.lookup(cid, "1360000010%d" % i, "127.0.3.%d" % (i + 1))
            self.assertErrorShape(r, 404, "not_found")
        # Locked now, even with the right mobile, from anywhere.
        for src in ("127.0.0.1", "127.0.3.9"):
            r = self.lookup(cid, "13600000001", src)
            body = self.assertErrorShape(r, 429, "lookup_locked")
            self.assertIn("锁定", body["error"]["message"])
            self.assertRetryAfter(r)
            self.assertLessEqual(int(r.header("Retry-After")), 600)
            self.assertNotIn(b"1360000", r.body)
        # Another case is not concerned.
        self.assertEqual(self.lookup(other, "13600000002").status, 200)
        # The lock ends with its key (shortened here instead of waiting).
        self.stack.redis_command("DEL", "zqe2e:lookupfail:" + cid)
        self.assertEqual(self.lookup(cid, "13600000001").status, 200)

    def test_unknown_numbers_make_no_keys(self):
        for i in range(5):
            r = self.lookup("ZX20260101-%04d" % (9000 + i), "13600000001")
            self.assertErrorShape(r, 404, "not_found")
            r = self.lookup("nonsense-%d" % i, "13600000001")
            self.assertEqual(r.status, 404, r)
        self.assertEqual(self.stack.redis_command("KEYS", "zqe2e:lookupfail:ZX20260101-9*"), [])

    def test_per_address_limit_still_holds(self):
        self.stack.redis_command("SET", "zqe2e:rl:lookup:127.0.4.1:%d" % (time.time() // 60),
                                 "1000", "EX", "120")
        r = self.lookup("ZX20260101-0001", "13600000001", "127.0.4.1")
        self.assertErrorShape(r, 429, "rate_limited")
        self.assertRetryAfter(r)


class TestStaffOnlyViews(IntakeBase, unittest.TestCase):
    """Item 9: the duplicate mark and unmasked exports stay with staff."""

    INTAKE = {"quota_ip_per_day": 0, "quota_mobile_per_day": 0, "quota_uscc_per_day": 0}

    def test_public_answers_have_no_duplicate_mark(self):
        r = self.submit(self.fill("complaint"), "complaint")
        self.assertEqual(r.status, 201, r)
        first = r.json()["case"]["id"]
        r = self.submit(self.fill("complaint"), "complaint")
        self.assertEqual(r.status, 201, r)
        second = r.json()["case"]
        self.assertEqual(self.stack.redis_command("HGET", "zqe2e:case:" + second["id"],
                                                  "dup_of"), first)
        for view in (second, self.lookup_view(second["id"])):
            self.assertNotIn("possible_duplicate", view)
            self.assertNotIn("dup_of", view)
            self.assertNotIn(first, json.dumps(view))
        # Staff still see it.
        r = self.stack.get("/api/admin/cases/" + second["id"], headers=auth(TOKENS.viewer))
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json()["case"]["possible_duplicate"])
        self.assertEqual(r.json()["case"]["dup_of"], first)

    def lookup_view(self, cid):
        r = self.stack.request("POST", "/api/cases/%s/lookup" % cid,
                               body=json.dumps({"mobile": SAMPLE["mobile"]}).encode(),
                               headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r)
        return r.json()["case"]

    def test_unmasked_export_needs_handler(self):
        r = self.submit(self.fill("consult", mobile="13512345678", contact_name="李四光",
                                  question="请回电 13712345678 咨询减免政策的申请流程"))
        self.assertEqual(r.status, 201, r)
        cid = r.json()["case"]["id"]
        for fmt in ("csv", "jsonl"):
            with self.subTest(fmt=fmt):
                r = self.stack.get("/api/admin/cases." + fmt, headers=auth(TOKENS.viewer))
                body = self.assertErrorShape(r, 403, "forbidden")
                self.assertIn("masked=1", body["error"]["message"])
                full = self.stack.get("/api/admin/cases." + fmt, headers=auth(TOKENS.handler))
                self.assertEqual(full.status, 200, full)
                self.assertIn(b"13512345678", full.body)
                self.assertIn("李四光".encode(), full.body)
                for tok in (TOKENS.viewer, TOKENS.handler):
                    m = self.stack.get("/api/admin/cases.%s?masked=1" % fmt, headers=auth(tok))
                    self.assertEqual(m.status, 200, m)
                    self.assertIn(cid.encode(), m.body)
                    self.assertNotIn(b"13512345678", m.body)
                    self.assertNotIn(b"13712345678", m.body)
                    self.assertNotIn("李四光".encode(), m.body)
                    self.assertIn(b"135****5678", m.body)
                    self.assertIn(b"137****5678", m.body)
                    self.assertIn("李**".encode(), m.body)
        # The CSV stays a well-formed sheet, the JSONL one object a line.
        m = self.stack.get("/api/admin/cases.csv?masked=1", headers=auth(TOKENS.viewer))
        rows = list(csv.reader(io.StringIO(m.body[3:].decode(), newline="")))
        self.assertEqual(len({len(row) for row in rows}), 1)
        m = self.stack.get("/api/admin/cases.jsonl?masked=1", headers=auth(TOKENS.viewer))
        for line in m.body.decode().splitlines():
            row = json.loads(line)
            if row["id"] == cid:
                self.assertEqual(row["mobile"], "135****5678")
                self.assertEqual(row["answers"]["mobile"], "135****5678")


if __name__ == "__main__":
    unittest.main()

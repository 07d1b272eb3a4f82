"""SMS verification codes through nginx (POST /api/sms/code, /api/sms/verify,
/api/session, /api/cases/lookup, /api/intake/{form}/resume): a code is
stored only as a keyed digest and passes once; wrong codes count, the
fifth burns it; an expired code is gone; each send limit answers 429 with
Retry-After; the answer does not depend on whether the number has cases;
a complaint needs its mobile verified; a draft resumes in a new session;
every case of a verified mobile is listed. No bot runs: the codes are
read from what zq_sms_queue stored (sms_code_sent)."""

import json
import time
import unittest
import uuid

from harness import StackCase
from test_intake import Client, IntakeCase

SMS_ON = {"sms": {"provider": "tencent"}}


def sms_code_sent(stack, mobile):
    """The code of the last verification SMS queued for mobile (11 digits).

    Until the fake platform has the vendors' SMS endpoints this reads the
    queued notice (its body is {"use":"code","params":{"code":…}}) from the
    outbox's priority lane; switch it to the SMS the fake received once it
    has them, and every test here checks the wire as well."""
    prefix = stack.ini["redis"]["prefix"]
    entries = stack.redis_command("XREVRANGE", prefix + "outbox:prio", "+", "-", "COUNT", "200")
    for _eid, fields in entries or []:
        f = dict(zip(fields[::2], fields[1::2]))
        try:
            target = json.loads(f.get("tj") or "{}")
        except ValueError:
            continue
        if target.get("channel") == "sms" and target.get("address") == mobile:
            body = json.loads(stack.redis_command("HGET", prefix + "notice:" + f["n"], "body"))
            if body.get("use") == "code":
                return body["params"]["code"]
    raise AssertionError("no verification SMS queued for %s" % mobile)


def sms_count(stack, mobile):
    """How many SMS were queued for mobile."""
    prefix = stack.ini["redis"]["prefix"]
    n = 0
    for _eid, fields in stack.redis_command("XRANGE", prefix + "outbox:prio", "-", "+") or []:
        f = dict(zip(fields[::2], fields[1::2]))
        if json.loads(f.get("tj") or "{}").get("address") == mobile:
            n += 1
    return n


def other(code):
    """A code that is not code."""
    return code[:5] + str((int(code[5]) + 1) % 10)


class CodeClient(Client):
    """A page's session (POST /api/session) that asks for and checks codes."""

    def open(self):
        r = self.call("POST", "/api/session", csrf=False)
        assert r.status in (200, 201), r
        self.csrf = r.json()["csrf"]
        return r

    def ask(self, mobile, purpose="submit"):
        return self.call("POST", "/api/sms/code", {"mobile": mobile, "purpose": purpose})

    def check(self, mobile, code, purpose="submit"):
        return self.call("POST", "/api/sms/verify",
                         {"mobile": mobile, "purpose": purpose, "code": code})

    def prove(self, tc, mobile, purpose="submit"):
        """Asks for a code and enters it: the session is verified."""
        r = self.ask(mobile, purpose)
        tc.assertEqual(r.status, 202, r)
        r = self.check(mobile, sms_code_sent(tc.stack, mobile), purpose)
        tc.assertEqual(r.status, 200, r)
        return r


# Roomy limits, so that each test is about one thing.
ROOMY = {"resend_interval": 0, "mobile_per_hour": 0, "mobile_per_day": 0,
         "client_per_hour": 0, "client_per_day": 0, "daily_budget": 0,
         "submit_complaint": True}


class TestCodes(IntakeCase):
    STACK_ARGS = {"fake": True, "ini": dict(SMS_ON, verify=dict(ROOMY, submit_complaint=True))}

    def client(self):
        c = CodeClient(self.stack)
        c.open()
        return c

    def test_code_stored_as_digest_and_accepted_once(self):
        c = self.client()
        r = c.ask("13800000001")
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json()["resend_after"], 0)
        code = sms_code_sent(self.stack, "13800000001")
        self.assertRegex(code, r"^[0-9]{6}$")
        prefix = self.stack.ini["redis"]["prefix"]
        keys = self.stack.redis_command("KEYS", prefix + "otp:code:submit:*")
        self.assertEqual(len(keys), 1)
        self.assertNotIn("13800000001", keys[0])
        stored = self.stack.redis_command("HGETALL", keys[0])
        self.assertNotIn(code, json.dumps(stored))
        self.assertRegex(dict(zip(stored[::2], stored[1::2]))["d"], r"^[0-9a-f]{64}$")
        r = c.check("13800000001", code)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["mobile"], "138****0001")
        r = c.check("13800000001", code)
        body = self.assertErrorShape(r, 422, "code_expired")
        self.assertEqual(body["error"]["message"], "验证码已使用或已过期，请重新获取。")
        # The code is never in a log line, nor the whole number.
        log = self.stack.fcgi_log()
        self.assertNotIn("13800000001", log)
        self.assertIn("138****0001", log)

    def test_staff_never_see_the_code(self):
        """The code's SMS is a notice like any other: its report shows
        staff who it went to, never the code."""
        c = self.client()
        self.assertEqual(c.ask("13800000011").status, 202)
        code = sms_code_sent(self.stack, "13800000011")
        prefix = self.stack.ini["redis"]["prefix"]
        ids = [dict(zip(f[::2], f[1::2]))["n"] for _e, f in
               self.stack.redis_command("XRANGE", prefix + "outbox:prio", "-", "+") or []]
        self.assertTrue(ids)
        for nid in ids:
            r = self.stack.request("GET", "/api/admin/notices/" + nid,
                                   headers={"Authorization": "Bearer " + self.stack.staff_token})
            self.assertEqual(r.status, 200, r)
            self.assertNotIn(code, r.body.decode())
            self.assertEqual(r.json()["notice"]["body"], "（验证码短信，内容不显示）")

    def test_wrong_codes_count_and_the_fifth_burns_it(self):
        c = self.client()
        self.assertEqual(c.ask("13800000002").status, 202)
        code = sms_code_sent(self.stack, "13800000002")
        for left in (4, 3, 2, 1):
            r = c.check("13800000002", other(code))
            body = self.assertErrorShape(r, 422, "code_invalid")
            self.assertEqual(body["error"]["tries_left"], left)
            self.assertIn("还可尝试%d次" % left, body["error"]["message"])
        r = c.check("13800000002", other(code))
        self.assertErrorShape(r, 429, "too_many_tries")
        self.assertRetryAfter(r)
        # Burnt: the right code no longer passes.
        self.assertErrorShape(c.check("13800000002", code), 429, "too_many_tries")
        # A new code does.
        self.assertEqual(c.ask("13800000002").status, 202)
        self.assertEqual(c.check("13800000002", sms_code_sent(self.stack, "13800000002")).status,
                         200)

    def test_a_code_is_for_its_number_and_purpose(self):
        c = self.client()
        self.assertEqual(c.ask("13800000003", "lookup").status, 202)
        code = sms_code_sent(self.stack, "13800000003")
        self.assertErrorShape(c.check("13800000003", code, "submit"), 422, "code_expired")
        self.assertErrorShape(c.check("13800000004", code, "lookup"), 422, "code_expired")
        # A new code replaces the one before.
        self.assertEqual(c.ask("13800000003", "lookup").status, 202)
        new = sms_code_sent(self.stack, "13800000003")
        if new != code:
            self.assertErrorShape(c.check("13800000003", code, "lookup"), 422, "code_invalid")
        self.assertEqual(c.check("13800000003", new, "lookup").status, 200)

    def test_bad_requests(self):
        c = self.client()
        body = self.assertErrorShape(c.ask("12345"), 422, "validation_failed")
        self.assertIn("mobile", body["error"]["fields"])
        body = self.assertErrorShape(c.ask("13800000005", "login"), 422, "validation_failed")
        self.assertIn("purpose", body["error"]["fields"])
        body = self.assertErrorShape(c.check("13800000005", "12ab56"), 422, "validation_failed")
        self.assertIn("code", body["error"]["fields"])
        self.assertErrorShape(c.check("13800000005", "1234567"), 422, "validation_failed")
        # CSRF and session as the other intake writes.
        r = c.call("POST", "/api/sms/code", {"mobile": "13800000005", "purpose": "submit"},
                   csrf=False)
        self.assertErrorShape(r, 403, "csrf_failed")
        stranger = CodeClient(self.stack)
        self.assertErrorShape(stranger.ask("13800000005"), 403, "csrf_failed")
        r = self.stack.request("POST", "/api/sms/code",
                               body=b'{"mobile":"13800000005","purpose":"submit"}',
                               headers={"Content-Type": "application/json",
                                        "Cookie": "zq_sid=" + "a" * 64,
                                        "X-CSRF-Token": "b" * 64})
        self.assertErrorShape(r, 410, "session_expired")
        self.assertErrorShape(c.call("POST", "/api/sms/code", raw=b"mobile=1",
                                     headers={"Content-Type": "text/plain"}), 415,
                              "unsupported_media_type")
        self.assertEqual(sms_count(self.stack, "13800000005"), 0)

    def test_the_same_answer_with_and_without_cases(self):
        owner = self.fill("complaint", mobile="13800000006")
        owner_codes = CodeClient(self.stack)
        owner_codes.cookie, owner_codes.csrf = owner.cookie, owner.csrf
        owner_codes.prove(self, "13800000006")
        self.assertEqual(self.submit(owner, "complaint").status, 201)
        c = self.client()
        a = c.ask("13800000006", "lookup")
        b = c.ask("13800000007", "lookup")
        self.assertEqual((a.status, a.body), (b.status, b.body))
        skip = {"date", "x-request-id", "content-length"}
        self.assertEqual(sorted(k for k in a.headers if k.lower() not in skip),
                         sorted(k for k in b.headers if k.lower() not in skip))

    def test_submit_needs_the_verified_mobile(self):
        c = self.fill("complaint", mobile="13800000008")
        r = self.submit(c, "complaint")
        body = self.assertErrorShape(r, 422, "mobile_unverified")
        self.assertEqual(body["error"]["step"], "complainant")
        self.assertIn("mobile", body["error"]["fields"])
        codes = CodeClient(self.stack)
        codes.cookie, codes.csrf = c.cookie, c.csrf
        # Another purpose, or another number, is not enough.
        codes.prove(self, "13800000008", "lookup")
        codes.prove(self, "13800000009", "submit")
        self.assertErrorShape(self.submit(c, "complaint"), 422, "mobile_unverified")
        codes.prove(self, "13800000008", "submit")
        r = self.submit(c, "complaint")
        self.assertEqual(r.status, 201, r)
        # Consultations need no code here (submit_consultation is off).
        c = self.fill("consult", mobile="13800000010")
        self.assertEqual(self.submit(c, "consult").status, 201)
        # The start answer tells the page.
        r = Client(self.stack).start("complaint")
        self.assertTrue(r.json()["verify"]["mobile_required"])
        r = Client(self.stack).start("consult")
        self.assertFalse(r.json()["verify"]["mobile_required"])

    def test_resume_on_another_device(self):
        first = self.fill("complaint", mobile="13800000011")
        answers = first.call("GET", "/api/intake/complaint").json()["answers"]
        second = Client(self.stack)
        second.start("complaint")
        codes = CodeClient(self.stack)
        codes.cookie, codes.csrf = second.cookie, second.csrf
        path = "/api/intake/complaint/resume"
        self.assertErrorShape(second.call("POST", path, {"mobile": "13800000011"}), 403,
                              "mobile_unverified")
        codes.prove(self, "13800000011", "resume")
        r = second.call("POST", path, {"mobile": "13800000011"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["answers"], answers)
        self.assertEqual(r.json()["step"], "review")
        # The code proved the number: no second SMS to submit.
        self.assertEqual(self.submit(second, "complaint").status, 201)
        # A number without a draft.
        codes.prove(self, "13800000012", "resume")
        self.assertErrorShape(second.call("POST", path, {"mobile": "13800000012"}), 404,
                              "no_draft")

    def test_lookup_lists_every_case_of_the_mobile(self):
        ids = []
        for form in ("complaint", "complaint", "consult"):
            c = self.fill(form, mobile="13800000013")
            codes = CodeClient(self.stack)
            codes.cookie, codes.csrf = c.cookie, c.csrf
            if form == "complaint":
                codes.prove(self, "13800000013")
            r = self.submit(c, form)
            self.assertEqual(r.status, 201, r)
            ids.append(r.json()["case"]["id"])
        c = self.client()
        r = c.call("POST", "/api/cases/lookup", {"mobile": "13800000013"})
        self.assertErrorShape(r, 403, "mobile_unverified")
        c.prove(self, "13800000013", "lookup")
        r = c.call("POST", "/api/cases/lookup", {"mobile": "13800000013"})
        self.assertEqual(r.status, 200, r)
        cases = r.json()["cases"]
        self.assertEqual(sorted(x["id"] for x in cases), sorted(ids))
        # The public view of the number + mobile lookup, newest first.
        one = self.stack.request("POST", "/api/cases/%s/lookup" % ids[-1],
                                 body=b'{"mobile":"13800000013"}',
                                 headers={"Content-Type": "application/json"})
        self.assertEqual(one.status, 200, one)
        self.assertEqual(cases[0], one.json()["case"])
        self.assertEqual(cases[0]["contact"]["mobile"], "138****0013")
        # Verified for another number: nothing of this one.
        c.prove(self, "13800000014", "lookup")
        self.assertErrorShape(c.call("POST", "/api/cases/lookup", {"mobile": "13800000013"}),
                              403, "mobile_unverified")
        r = c.call("POST", "/api/cases/lookup", {"mobile": "13800000014"})
        self.assertEqual(r.json(), {"cases": []})

    def test_session_tells_the_page(self):
        r = CodeClient(self.stack).call("POST", "/api/session", csrf=False)
        self.assertEqual(r.status, 201, r)
        v = r.json()["verify"]
        self.assertTrue(v["available"])
        self.assertEqual(v["purposes"], {"submit": True, "resume": True, "lookup": True,
                                         "supplement": True})


class TestExpiry(StackCase, unittest.TestCase):
    STACK_ARGS = {"fake": True, "ini": dict(SMS_ON, verify=dict(ROOMY, code_ttl=1))}

    def test_expired_code(self):
        c = CodeClient(self.stack)
        c.open()
        self.assertEqual(c.ask("13800000020").status, 202)
        code = sms_code_sent(self.stack, "13800000020")
        time.sleep(1.2)  # the code lives 1 s: past it, whatever the load
        body = self.assertErrorShape(c.check("13800000020", code), 422, "code_expired")
        self.assertIn("已过期", body["error"]["message"])


class LimitCase(StackCase):
    """One send limit on, the others off."""

    LIMIT = {}

    @classmethod
    def setUpClass(cls):
        cls.STACK_ARGS = {"fake": True, "ini": dict(SMS_ON, verify=dict(ROOMY, **cls.LIMIT))}
        super().setUpClass()

    def client(self):
        c = CodeClient(self.stack)
        c.open()
        return c

    def assertLimited(self, r, wait_word):
        body = self.assertErrorShape(r, 429, "rate_limited")
        self.assertRetryAfter(r)
        self.assertIn("后重新获取", body["error"]["message"])
        self.assertIn(wait_word, body["error"]["message"])
        return int(r.header("Retry-After"))


class TestResendLimit(LimitCase, unittest.TestCase):
    LIMIT = {"resend_interval": 60}

    def test_one_per_minute(self):
        c = self.client()
        r = c.ask("13800000030")
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json()["resend_after"], 60)
        ra = self.assertLimited(c.ask("13800000030"), "秒")
        self.assertTrue(50 <= ra <= 60, ra)
        # Whatever the purpose: the limit is the number's.
        self.assertLimited(c.ask("13800000030", "lookup"), "秒")
        self.assertEqual(sms_count(self.stack, "13800000030"), 1)
        self.assertEqual(c.ask("13800000031").status, 202)


class TestMobileHourLimit(LimitCase, unittest.TestCase):
    LIMIT = {"mobile_per_hour": 2}

    def test_per_hour(self):
        c = self.client()
        for _ in range(2):
            self.assertEqual(c.ask("13800000040").status, 202)
        ra = self.assertLimited(c.ask("13800000040"), "小时")
        self.assertTrue(3500 <= ra <= 3600, ra)
        self.assertIn("一小时", c.ask("13800000040").json()["error"]["message"])


class TestMobileDayLimit(LimitCase, unittest.TestCase):
    LIMIT = {"mobile_per_day": 2}

    def test_per_day(self):
        c = self.client()
        for _ in range(2):
            self.assertEqual(c.ask("13800000050").status, 202)
        ra = self.assertLimited(c.ask("13800000050"), "小时")
        self.assertTrue(86000 <= ra <= 86400, ra)
        self.assertIn("今天", c.ask("13800000050").json()["error"]["message"])


class TestClientHourLimit(LimitCase, unittest.TestCase):
    LIMIT = {"client_per_hour": 3}

    def test_per_client_hour(self):
        c = self.client()
        for m in ("13800000060", "13800000061", "13800000062"):
            self.assertEqual(c.ask(m).status, 202)
        r = c.ask("13800000063")
        self.assertLimited(r, "小时")
        self.assertIn("您所在网络", r.json()["error"]["message"])
        # Another session from the same address is the same client.
        self.assertLimited(self.client().ask("13800000064"), "小时")


class TestClientDayLimit(LimitCase, unittest.TestCase):
    LIMIT = {"client_per_day": 2}

    def test_per_client_day(self):
        c = self.client()
        for m in ("13800000070", "13800000071"):
            self.assertEqual(c.ask(m).status, 202)
        r = c.ask("13800000072")
        self.assertLimited(r, "小时")
        self.assertIn("您所在网络今天", r.json()["error"]["message"])


class TestDailyBudget(LimitCase, unittest.TestCase):
    LIMIT = {"daily_budget": 2}

    def test_budget(self):
        c = self.client()
        for m in ("13800000080", "13800000081"):
            self.assertEqual(c.ask(m).status, 202)
        r = c.ask("13800000082")
        self.assertLimited(r, "")
        self.assertIn("今天的验证码短信已发完", r.json()["error"]["message"])
        self.assertEqual(sms_count(self.stack, "13800000082"), 0)


class TestWithoutSms(IntakeCase):
    """[sms] provider = none (the harness's default) with the complaint
    check on: no code can be sent, so none is asked for."""

    STACK_ARGS = {"ini": {"verify": {"submit_complaint": True}}}

    def test_no_codes_and_no_check(self):
        c = CodeClient(self.stack)
        r = c.open()
        self.assertFalse(r.json()["verify"]["available"])
        self.assertErrorShape(c.ask("13800000090"), 409, "sms_not_configured")
        c = self.fill("complaint", mobile="13800000090")
        self.assertFalse(c.call("GET", "/api/intake/complaint").json()["verify"]["mobile_required"])
        self.assertEqual(self.submit(c, "complaint").status, 201)


class TestPurposeOff(StackCase, unittest.TestCase):
    STACK_ARGS = {"fake": True, "ini": dict(SMS_ON, verify=dict(ROOMY, lookup=False, resume=False))}

    def test_switched_off(self):
        c = CodeClient(self.stack)
        c.open()
        self.assertErrorShape(c.ask("13800000095", "lookup"), 409, "purpose_disabled")
        self.assertErrorShape(c.call("POST", "/api/cases/lookup", {"mobile": "13800000095"}),
                              409, "purpose_disabled")
        self.assertEqual(c.ask("13800000095", "submit").status, 202)


class TestRedisAway(StackCase, unittest.TestCase):
    STACK_ARGS = {"redis": False, "fake": True, "ini": SMS_ON}

    def test_503(self):
        headers = {"Content-Type": "application/json", "Cookie": "zq_sid=" + "a" * 64,
                   "X-CSRF-Token": "b" * 64}
        for path, body in (("/api/sms/code", {"mobile": "13800000099", "purpose": "submit"}),
                           ("/api/sms/verify", {"mobile": "13800000099", "purpose": "submit",
                                                "code": "123456"}),
                           ("/api/session", None)):
            r = self.stack.request("POST", path, headers=headers,
                                   body=json.dumps(body).encode() if body else None)
            self.assertErrorShape(r, 503, "storage_unavailable")
            self.assertRetryAfter(r)


if __name__ == "__main__":
    unittest.main()

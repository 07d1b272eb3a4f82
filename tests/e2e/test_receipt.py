"""The enterprise's printable receipt (GET /api/cases/{id}/receipt) through
nginx: shown to the session that filed the case and to a session that
proved the case's mobile by SMS code (lookup, supplement); one 403 page
for everyone else, unknown numbers included; every value escaped; the
page self-contained under a CSP that allows its own style and script
only. And GET /api/verify: whether SMS verification is on, without a
session."""

import base64
import hashlib
import re
import unittest
import urllib.parse

from harness import StackCase
from test_files import pdf
from test_intake import IntakeCase
from test_sms_code import ROOMY, SMS_ON, CodeClient

NASTY = "<script>alert(1)</script>测试公司"
NASTY_FILE = "<img src=x onerror=alert(2)>采购合同.pdf"
OFFICE = "四川省中小企业服务中心"
INTAKE = {"quota_ip_per_day": 0, "quota_mobile_per_day": 0, "quota_uscc_per_day": 0,
          "office_name": OFFICE}


class ReceiptCase(IntakeCase):
    def file(self, mobile, client=None, **over):
        """Files a complaint with a contract file from client (a new one
        by default); returns (client, case)."""
        c = client or CodeClient(self.stack)
        r = c.start("complaint")
        self.assertIn(r.status, (200, 201), r)
        r = c.call("POST", "/api/intake/complaint/files?kind=contract", raw=pdf(5000),
                   headers={"Content-Type": "application/pdf",
                            "X-File-Name": urllib.parse.quote(NASTY_FILE)})
        self.assertEqual(r.status, 201, r)
        self.fill("complaint", client=c, mobile=mobile, **over)
        r = self.submit(c, "complaint")
        self.assertEqual(r.status, 201, r)
        return c, r.json()["case"]

    def receipt(self, client, case_id):
        return client.call("GET", "/api/cases/%s/receipt" % case_id, csrf=False)

    def assertRefused(self, r):
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        page = r.body.decode()
        self.assertIn("无法查看回执", page)
        return page


class VerifyViewChecks:
    """GET /api/verify: the configuration's answer, no session made."""

    def sessions(self):
        prefix = self.stack.ini["redis"]["prefix"]
        return self.stack.redis_command("KEYS", prefix + "sess:*") or []

    def verify_view(self):
        before = self.sessions()
        r = self.stack.get("/api/verify")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Cache-Control"), "public, max-age=60")
        self.assertIsNone(r.header("Set-Cookie"))
        self.assertEqual(self.sessions(), before)
        return r.json()["verify"]


class TestReceipt(VerifyViewChecks, ReceiptCase):
    STACK_ARGS = {"fake": True,
                  "ini": dict(SMS_ON, intake=INTAKE, verify=dict(ROOMY, submit_complaint=False,
                                                                   submit_consultation=True,
                                                                   lookup=True, supplement=True),
                              chat={"web_base_url": "https://zhuqi.example.gov.cn"})}

    def test_the_filing_session_gets_the_receipt(self):
        c, case = self.file("13800001001", company_name=NASTY)
        r = self.receipt(c, case["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.assertEqual(r.header("X-Frame-Options"), "DENY")
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        page = r.body.decode()
        self.assertIn(case["id"], page)
        self.assertIn("拖欠中小企业款项投诉", page)
        # Beijing time of filing, as the case says it.
        m = re.match(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d):\d\d\+08:00$", case["created_at"])
        self.assertTrue(m, case["created_at"])
        self.assertIn("%s %s" % m.groups(), page)
        # Labels in the schema's order, values as people read them.
        at = [page.find("<dt>%s</dt>" % lab) for lab in ("企业名称", "被投诉单位名称", "拖欠金额")]
        self.assertTrue(all(a > 0 for a in at) and at == sorted(at), at)
        self.assertIn("123,456.78 元", page)
        self.assertIn("138****1001", page)
        self.assertNotIn("13800001001", page)
        # Escaped, never markup.
        self.assertNotIn("<script>alert", page)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;测试公司", page)
        self.assertNotIn("<img", page)
        self.assertIn("&lt;img src=x onerror=alert(2)&gt;采购合同.pdf", page)
        self.assertIn("<td>合同</td>", page)
        self.assertIn("<td>5 KB</td>", page)
        self.assertIn(OFFICE, page)
        self.assertIn("https://zhuqi.example.gov.cn/lookup.html", page)
        self.assertIn("@page{size:A4;", page)
        self.assertIn('id="print">打印</button>', page)

    def test_the_page_is_self_contained_under_its_csp(self):
        c, case = self.file("13800001002")
        r = self.receipt(c, case["id"])
        self.assertEqual(r.status, 200, r)
        page = r.body.decode()
        csp = r.header("Content-Security-Policy")
        self.assertIn("default-src 'none'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertEqual(len(r.headers.get_all("Content-Security-Policy")), 1)
        for tag in ("style", "script"):
            bodies = re.findall(r"<%s>(.*?)</%s>" % (tag, tag), page, re.S)
            self.assertEqual(len(bodies), 1, tag)
            h = base64.b64encode(hashlib.sha256(bodies[0].encode()).digest()).decode()
            self.assertIn("%s-src 'sha256-%s'" % (tag, h), csp)
        # Nothing loaded from anywhere.
        self.assertNotRegex(page, r"(?i)<(link|img|iframe)\b|\ssrc=[\"']|url\(|@import")

    def test_everyone_else_gets_one_403_page(self):
        _c, case = self.file("13800001003", company_name="陌生人看不到有限公司")
        stranger = CodeClient(self.stack)
        stranger.open()
        page = self.assertRefused(self.receipt(stranger, case["id"]))
        self.assertNotIn("陌生人看不到", page)
        self.assertIn("/lookup.html?id=" + case["id"], page)
        self.assertIn("短信验证码", page)  # lookup by code is on here
        # An unknown number looks the same; no cookie, a made-up one, junk.
        unknown = case["id"][:-4] + "9999"
        self.assertEqual(self.assertRefused(self.receipt(stranger, unknown)),
                         page.replace(case["id"], unknown))
        self.assertRefused(self.stack.get("/api/cases/%s/receipt" % case["id"]))
        self.assertRefused(self.stack.get("/api/cases/%s/receipt" % case["id"],
                                          headers={"Cookie": "zq_sid=" + "a" * 64}))
        self.assertRefused(self.receipt(stranger, "not-a-case"))
        self.assertRefused(self.receipt(stranger, "%3Cscript%3E"))
        r = self.stack.request("POST", "/api/cases/%s/receipt" % case["id"])
        self.assertEqual(r.status, 405, r)

    def test_a_session_verified_for_the_mobile_gets_it(self):
        _c, case = self.file("13800001004")
        for purpose in ("lookup", "supplement"):
            v = CodeClient(self.stack)
            v.open()
            self.assertRefused(self.receipt(v, case["id"]))
            v.prove(self, "13800001004", purpose)
            r = self.receipt(v, case["id"])
            self.assertEqual(r.status, 200, (purpose, r))
            self.assertIn(case["id"], r.body.decode())

    def test_a_proof_of_another_number_or_use_does_not_count(self):
        _c, case = self.file("13800001005")
        other = CodeClient(self.stack)
        other.open()
        other.prove(self, "13800001006", "lookup")
        self.assertRefused(self.receipt(other, case["id"]))
        # A code for submitting proves the number, but is not for cases.
        resume = CodeClient(self.stack)
        resume.open()
        resume.prove(self, "13800001005", "submit")
        self.assertRefused(self.receipt(resume, case["id"]))

    def test_another_session_of_the_filer_is_a_stranger(self):
        c, case = self.file("13800001007")
        c2, case2 = self.file("13800001008")
        self.assertEqual(self.receipt(c, case["id"]).status, 200)
        self.assertRefused(self.receipt(c, case2["id"]))
        self.assertEqual(self.receipt(c2, case2["id"]).status, 200)

    def test_head(self):
        c, case = self.file("13800001009")
        r = c.call("HEAD", "/api/cases/%s/receipt" % case["id"], csrf=False)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"")

    def test_redis_away_is_a_page_too(self):
        c, case = self.file("13800001010")
        self.stack.stop_redis()
        try:
            r = self.receipt(c, case["id"])
        finally:
            self.stack.start_redis()
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertIn("服务暂时不可用", r.body.decode())
        self.assertRetryAfter(r)

    def test_verify_view(self):
        v = self.verify_view()
        self.assertTrue(v["available"])
        self.assertTrue(v["purposes"]["lookup"])
        self.assertTrue(v["purposes"]["supplement"])
        self.assertEqual(v["resend_after"], 0)
        # The same view the session hands out.
        c = CodeClient(self.stack)
        self.assertEqual(c.open().json()["verify"], v)
        r = self.stack.request("POST", "/api/verify")
        self.assertEqual(r.status, 405, r)


class TestReceiptSmsOff(VerifyViewChecks, ReceiptCase):
    """SMS off (a fresh installation): only the filing session, and the
    403 page does not send anyone to a code that cannot come."""
    STACK_ARGS = {"ini": {"sms": {"provider": "none"}, "intake": INTAKE}}

    def test_filer_only(self):
        c, case = self.file("13800001101")
        self.assertEqual(self.receipt(c, case["id"]).status, 200)
        stranger = CodeClient(self.stack)
        stranger.open()
        page = self.assertRefused(self.receipt(stranger, case["id"]))
        self.assertNotIn("短信", page)

    def test_verify_view(self):
        v = self.verify_view()
        self.assertFalse(v["available"])
        self.assertFalse(any(v["purposes"].values()), v)


if __name__ == "__main__":
    unittest.main()

"""Sending SMS through the outbox, end to end against the fake vendors
(tests/fake/fake_sms.py, which verify the signatures with smssign.py):
an SMS queued as the system queues them (zhuqi-admin sms send, which
calls zq_sms_queue) reaches Tencent, Alibaba or the 政务 gateway
correctly signed with the use's template and params; a vendor's
throttling answer is retried and delivered; a permanent error is
dead-lettered with the vendor's code; a clock or nonce error is signed
again and sent again once (and only once); the per-number limits hold
(the fake would answer the vendor's frequency error otherwise); the
secret never shows in the configuration dump or the logs."""

import os
import secrets
import tempfile
import time
import unittest

from bot_util import post, report, wait_report
from harness import BIN_DIR, BOT_BIN, StackCase, run_program, sha256_hex

ADMIN_BIN = os.path.join(BIN_DIR, "zhuqi-admin")
TOKEN = secrets.token_hex(16)
# What "a minute" is, for the vendors' windows and ours: Tencent's 30 s
# between two SMS to one number becomes WINDOW_S / 2.
WINDOW_S = 4


def stack_args(provider, extra_ini=None, window_s=WINDOW_S):
    ini = {
        "staff": {"token": "sms-admin:admin:%s" % sha256_hex(TOKEN)},
        "bot": {"retry_base_ms": 200, "retry_max_ms": 1000, "max_attempts": 5,
                "timeout_ms": 2000, "claim_idle_ms": 5000},
        "channels": {"rate_window_ms": window_s * 1000, "rate_slack_ms": 100},
        "sms": {"provider": provider},
    }
    for sec, kv in (extra_ini or {}).items():
        ini.setdefault(sec, {}).update(kv)
    return {"bot": True, "fake": True, "fake_args": ["--rate-window", str(window_s)], "ini": ini}


class SmsCase(StackCase):
    """Helpers over the stack of the class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.staff_token = TOKEN

    def queue(self, mobile, use, case_id=None, **params):
        argv = [ADMIN_BIN, "-c", self.stack.ini_path, "sms", "send", "--mobile", mobile,
                "--use", use]
        for k, v in params.items():
            argv += ["--param", "%s=%s" % (k, v)]
        if case_id:
            argv += ["--case", case_id]
        p = run_program(argv)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip()

    def line(self, nid, final=True, timeout=30.0):
        """The report line of notice nid (one target), once final."""
        done = (lambda r: r["targets"] and r["targets"][0]["status"] in ("sent", "failed")) \
            if final else (lambda r: True)
        rep = wait_report(self.stack, nid, done, timeout=timeout)
        (line,) = rep["targets"]
        return line

    def sms(self, platform, number, accepted=None):
        return self.stack.fake.messages(platform=platform, target=number, accepted=accepted)

    def dead_reason(self, nid):
        dead = self.stack.redis_command("XRANGE", "zqe2e:outbox:dead", "-", "+")
        mine = [dict(zip(e[1][::2], e[1][1::2])) for e in dead]
        mine = [d for d in mine if d["n"] == nid]
        self.assertEqual(len(mine), 1, dead)
        return mine[0]["reason"]

    def assertNothingLeaked(self, *words):
        """No log of the stack holds these (numbers, codes, secrets)."""
        for name in ("bot", "fcgi"):
            text = self.stack.log(name)
            for w in words:
                self.assertNotIn(w, text, "%s log shows %r" % (name, w))


class TestSmsTencent(SmsCase, unittest.TestCase):
    STACK_ARGS = stack_args("tencent")

    def test_code_reaches_tencent_signed(self):
        nid = self.queue("+8613800138001", "code", code="482913", minutes="5")
        line = self.line(nid)
        self.assertEqual(line["status"], "sent", line)
        self.assertEqual(line["attempts"], 1, line)
        self.assertTrue(line["target"].startswith("sms-"), line)
        (m,) = self.sms("tencent-sms", "13800138001")
        # The fake checked the TC3 signature with smssign.py, the app,
        # the sign name and the template's parameter count.
        self.assertTrue(m["accepted"], m)
        j = m["json"]
        self.assertEqual(j["PhoneNumberSet"], ["+8613800138001"])
        self.assertEqual(j["SmsSdkAppId"], "1400006666")
        self.assertEqual(j["SignName"], "助企平台")
        self.assertEqual(j["TemplateId"], "2100001")
        self.assertEqual(j["TemplateParamSet"], ["482913", "5"])
        self.assertEqual(j["SessionContext"], "%s:%s" % (nid, line["target"]))
        self.assertEqual(m["headers"]["x-tc-action"], "SendSms")
        self.assertTrue(m["headers"]["authorization"].startswith(
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/"), m)
        self.assertEqual(m["content"], "【助企平台】您的验证码为482913，5分钟内有效，请勿泄露给他人。")
        self.assertEqual(m["reply"]["Response"]["SendStatusSet"][0]["Fee"], 1)
        self.stack.wait_for_log("bot", "event=sms_sent notice=%s" % nid)
        self.assertNothingLeaked("13800138001", "482913", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
                                 m["headers"]["authorization"])

    def test_status_in_template_order(self):
        nid = self.queue("13800138002", "needs_info", case_id="TS20261206-0007",
                         deadline="2026-12-20", status="需补充材料", case="TS20261206-0007")
        self.assertEqual(self.line(nid)["status"], "sent")
        (m,) = self.sms("tencent-sms", "13800138002", accepted=True)
        self.assertEqual(m["json"]["TemplateId"], "2100004")
        self.assertEqual(m["json"]["TemplateParamSet"],
                         ["TS20261206-0007", "需补充材料", "2026-12-20"])
        self.assertEqual(m["content"], "【助企平台】您的案件TS20261206-0007需补充材料，请于"
                                       "2026-12-20前补充材料。")
        meta = self.stack.redis_command("HGET", "zqe2e:notice:%s" % nid, "meta")
        self.assertEqual(meta, '{"type":"sms","use":"needs_info","case":"TS20261206-0007"}')

    def test_throttle_answer_retried_then_delivered(self):
        self.stack.fake.add_fault("13800138003", "throttle", platform="tencent-sms", count=1)
        nid = self.queue("13800138003", "code", code="100200", minutes="5")
        line = self.line(nid)
        self.assertEqual(line["status"], "sent", line)
        self.assertEqual(line["attempts"], 2, line)
        msgs = self.sms("tencent-sms", "13800138003")
        self.assertEqual([m["accepted"] for m in msgs], [False, True], msgs)
        self.assertIn("LimitExceeded.PhoneNumberThirtySecondLimit", msgs[0]["verdict"])
        # Retried when the vendor's window ended (30 s = half a "minute").
        self.assertGreaterEqual(msgs[1]["ts"] - msgs[0]["ts"], WINDOW_S / 2.0)

    def test_permanent_error_dead_lettered_with_code(self):
        self.stack.fake.add_fault("13800138004", "fail", platform="tencent-sms", count=1)
        nid = self.queue("13800138004", "closed", case="TS20261206-0009", status="已办结")
        line = self.line(nid)
        self.assertEqual(line["status"], "failed", line)
        self.assertEqual(line["attempts"], 1, line)
        self.assertIn("FailedOperation.PhoneNumberInBlacklist", line["last_error"])
        self.assertEqual(self.dead_reason(nid), line["last_error"])
        self.assertEqual(len(self.sms("tencent-sms", "13800138004")), 1)

    def test_signature_expired_signed_again_once(self):
        fake = self.stack.fake
        fake.add_fault("13800138005", "fail", platform="tencent-sms", count=1,
                       style="AuthFailure.SignatureExpire")
        nid = self.queue("13800138005", "code", code="300400", minutes="5")
        line = self.line(nid)
        self.assertEqual(line["status"], "sent", line)
        msgs = self.sms("tencent-sms", "13800138005")
        self.assertEqual([m["accepted"] for m in msgs], [False, True], msgs)
        self.assertIn("AuthFailure.SignatureExpire", msgs[0]["verdict"])
        self.assertGreaterEqual(int(msgs[1]["headers"]["x-tc-timestamp"]),
                                int(msgs[0]["headers"]["x-tc-timestamp"]))
        # Refused twice: the second time is final.
        fake.add_fault("13800138006", "fail", platform="tencent-sms", count=2,
                       style="AuthFailure.SignatureExpire")
        nid = self.queue("13800138006", "code", code="300401", minutes="5")
        line = self.line(nid)
        self.assertEqual(line["status"], "failed", line)
        self.assertIn("refused again after signing afresh", line["last_error"])
        self.assertIn("AuthFailure.SignatureExpire", line["last_error"])
        self.assertEqual(len(self.sms("tencent-sms", "13800138006")), 2)

    def test_per_number_interval_holds(self):
        n1 = self.queue("13800138007", "code", code="111111", minutes="5")
        n2 = self.queue("13800138007", "accepted", case="TS20261206-0011", status="已受理",
                        deadline="2026-12-31")
        n3 = self.queue("13800138008", "code", code="222222", minutes="5")
        for nid in (n1, n2, n3):
            self.assertEqual(self.line(nid)["status"], "sent")
        msgs = self.sms("tencent-sms", "13800138007")
        # Both accepted: never the vendor's 30-second limit.
        self.assertEqual([m["accepted"] for m in msgs], [True, True], msgs)
        self.assertGreaterEqual(msgs[1]["ts"] - msgs[0]["ts"], WINDOW_S / 2.0 * 0.95)

    def test_secret_masked_in_dump(self):
        p = run_program([BOT_BIN, "--check-config", self.stack.ini_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout + p.stderr
        self.assertIn("\nsecret = ********\n", out)
        self.assertIn("\nprovider = tencent\n", out)
        self.assertNotIn("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", out)
        with open(self.stack.sms_secret_file) as f:
            self.assertIn("Gu5t9x", f.read())
        self.assertEqual(os.stat(self.stack.sms_secret_file).st_mode & 0o777, 0o600)

    def test_staff_cannot_add_an_sms_target(self):
        r = post(self.stack, "/api/admin/targets", {"channel": "sms", "address": "13800138000"})
        self.assertErrorShape(r, 422, "validation_failed")
        self.assertIn("短信", r.json()["error"]["fields"]["channel"])


ALI_WINDOW_S = 2


class TestSmsAlibaba(SmsCase, unittest.TestCase):
    STACK_ARGS = stack_args("alibaba", window_s=ALI_WINDOW_S)

    def test_code_and_status_reach_alibaba_signed(self):
        n1 = self.queue("13900139001", "code", code="482913", minutes="5")
        self.assertEqual(self.line(n1)["status"], "sent")
        (m,) = self.sms("alibaba-sms", "13900139001")
        self.assertTrue(m["accepted"], m)
        self.assertIn("TemplateCode=SMS_480000001", m["path"])
        self.assertIn("TemplateParam=%7B%22code%22%3A%22482913%22%7D", m["path"])
        self.assertTrue(m["headers"]["authorization"].startswith(
            "ACS3-HMAC-SHA256 Credential=LTAI5tZhuqiFakeAccessKey,SignedHeaders=host;"), m)
        self.assertEqual(m["content"], "【助企平台】您的验证码为482913，5分钟内有效，请勿泄露给他人。")
        self.assertEqual(m["reply"]["Code"], "OK")
        n2 = self.queue("13900139002", "accepted", case="TS20261206-0021", status="已受理",
                        deadline="2026-12-31")
        self.assertEqual(self.line(n2)["status"], "sent")
        (m,) = self.sms("alibaba-sms", "13900139002", accepted=True)
        self.assertEqual(m["content"], "【助企平台】您的案件TS20261206-0021已受理，办理期限至"
                                       "2026-12-31。可凭编号和手机号码在进度查询中查看。")
        self.assertNothingLeaked("13900139001", "482913", "zhuqi-fake-alibaba-access-key-secret")

    def test_nonce_used_signed_again_with_a_new_nonce(self):
        self.stack.fake.add_fault("13900139003", "fail", platform="alibaba-sms", count=1,
                                  style="SignatureNonceUsed")
        nid = self.queue("13900139003", "code", code="555666", minutes="5")
        self.assertEqual(self.line(nid)["status"], "sent")
        msgs = self.sms("alibaba-sms", "13900139003")
        self.assertEqual([m["accepted"] for m in msgs], [False, True], msgs)
        self.assertNotEqual(msgs[0]["headers"]["x-acs-signature-nonce"],
                            msgs[1]["headers"]["x-acs-signature-nonce"])
        self.assertNotEqual(msgs[0]["headers"]["authorization"],
                            msgs[1]["headers"]["authorization"])

    def test_business_limit_control_retried(self):
        self.stack.fake.add_fault("13900139004", "throttle", platform="alibaba-sms", count=1)
        nid = self.queue("13900139004", "closed", case="TS20261206-0022", status="已办结")
        line = self.line(nid)
        self.assertEqual(line["status"], "sent", line)
        self.assertEqual(line["attempts"], 2, line)
        msgs = self.sms("alibaba-sms", "13900139004")
        self.assertIn("isv.BUSINESS_LIMIT_CONTROL", msgs[0]["verdict"])
        self.assertGreaterEqual(msgs[1]["ts"] - msgs[0]["ts"], ALI_WINDOW_S * 0.95)

    def test_template_error_dead_lettered(self):
        self.stack.fake.add_fault("13900139005", "fail", platform="alibaba-sms", count=1,
                                  style="isv.SMS_TEMPLATE_ILLEGAL")
        nid = self.queue("13900139005", "rejected", case="TS20261206-0023", status="不予受理")
        line = self.line(nid)
        self.assertEqual(line["status"], "failed", line)
        self.assertIn("isv.SMS_TEMPLATE_ILLEGAL", line["last_error"])
        self.assertEqual(self.dead_reason(nid), line["last_error"])

    def test_hourly_limit_holds(self):
        """Alibaba allows 1 a minute and 5 an hour to one number: five go
        out a minute apart, the sixth waits for the hour."""
        nids = [self.queue("13900139006", "closed", case="TS20261206-00%02d" % i, status="已办结")
                for i in range(30, 36)]

        def statuses():
            return sorted(report(self.stack, nid)["targets"][0]["status"] for nid in nids)

        self.stack.wait_for(lambda: statuses().count("sent") == 5, 30 * ALI_WINDOW_S,
                            "five of six sent")
        # Two more "minutes": the minute limit would let it go, the hour's not.
        time.sleep(2 * ALI_WINDOW_S)
        self.assertEqual(statuses(), ["queued"] + ["sent"] * 5)
        msgs = self.sms("alibaba-sms", "13900139006")
        self.assertEqual([m["accepted"] for m in msgs], [True] * 5, msgs)
        ts = [m["ts"] for m in msgs]
        self.assertGreaterEqual(min(b - a for a, b in zip(ts, ts[1:])), ALI_WINDOW_S * 0.95)


class TestSmsGateway(SmsCase, unittest.TestCase):
    STACK_ARGS = stack_args("gateway", {"sms_gateway": {"throttle_s": 1}})

    def test_code_reaches_gateway(self):
        nid = self.queue("13700137001", "code", code="482913", minutes="5")
        line = self.line(nid)
        self.assertEqual(line["status"], "sent", line)
        (m,) = self.sms("sms-gateway", "13700137001")
        self.assertTrue(m["accepted"], m)
        self.assertEqual(m["headers"]["x-api-key"], "zhuqi-fake-gateway-api-key")
        self.assertEqual(m["json"]["mobile"], "13700137001")
        self.assertEqual(m["json"]["content"],
                         "【助企平台】您的验证码为482913，5分钟内有效，请勿泄露给他人。")
        self.assertEqual(len(m["json"]["requestId"]), 36)
        self.assertEqual(m["content"], m["json"]["content"])
        self.assertNothingLeaked("13700137001", "482913", "zhuqi-fake-gateway-api-key")

    def test_throttle_code_retried(self):
        self.stack.fake.add_fault("13700137002", "throttle", platform="sms-gateway", count=1)
        nid = self.queue("13700137002", "answered", case="TS20261206-0031", status="已书面答复")
        line = self.line(nid)
        self.assertEqual(line["status"], "sent", line)
        self.assertEqual(line["attempts"], 2, line)
        msgs = self.sms("sms-gateway", "13700137002")
        self.assertIn("FREQ_LIMIT", msgs[0]["verdict"])

    def test_error_code_dead_lettered(self):
        self.stack.fake.add_fault("13700137003", "fail", platform="sms-gateway", count=1)
        nid = self.queue("13700137003", "code", code="123123", minutes="5")
        line = self.line(nid)
        self.assertEqual(line["status"], "failed", line)
        self.assertIn("gateway E_MOBILE", line["last_error"])
        self.assertIn("号码在黑名单中", line["last_error"])


class TestSmsConfig(unittest.TestCase):
    def test_a_provider_that_cannot_work_stops_the_start(self):
        with tempfile.TemporaryDirectory() as d:
            ini = os.path.join(d, "zhuqi.ini")
            with open(ini, "w") as f:
                f.write("[sms]\nprovider = tencent\nkey_id = AKID\napp_id = 1400006666\n"
                        "sign_name = 助企平台\ntpl_code = 2100001: code, minutes\n")
            p = run_program([BOT_BIN, "--check-config", ini])
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("[sms] provider tencent: needs key_id and the secret", p.stderr)


if __name__ == "__main__":
    unittest.main()

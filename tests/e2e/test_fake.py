"""Tests of the fake messaging platform itself (tests/fake/fake_platform.py):
the e2e tests of zhuqi-bot trust it to check what each real platform
checks, so it is checked here with an independent implementation of the
signatures (Python's hmac/hashlib/base64). No zhuqi binary involved."""

import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fake"))
from fakeclient import FakePlatform  # noqa: E402

DT_SECRET = "SECfake0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
FS_SECRET = "feishu-秘钥"
GEN_SECRET = "generic-secret"


def dingtalk_sign(secret, ts_ms):
    mac = hmac.new(secret.encode(), ("%d\n%s" % (ts_ms, secret)).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def feishu_sign(secret, ts_s):
    mac = hmac.new(("%d\n%s" % (ts_s, secret)).encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def generic_sign(secret, ts, body):
    return "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body,
                                hashlib.sha256).hexdigest()


def now_ms():
    return int(time.time() * 1000)


def card(text, title="通知"):
    return {"msg_type": "interactive",
            "card": {"header": {"title": {"tag": "plain_text", "content": title}},
                     "elements": [{"tag": "markdown", "content": text}]}}


class FakeCase(unittest.TestCase):
    """One fake for the class, reset (targets included) before each test."""

    FAKE_ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="zq-fake-")
        cls.log = os.path.join(cls.tmp, "fake.jsonl")
        cls.fake = FakePlatform(log=cls.log, args=cls.FAKE_ARGS)

    @classmethod
    def tearDownClass(cls):
        rc = cls.fake.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, "fake platform exited with %r" % rc

    def setUp(self):
        self.fake.reset(everything=True)

    def post(self, path, body, headers=None):
        return self.fake.request("POST", path, body, headers)

    def assertJson(self, r, status, **fields):
        self.assertEqual(r.status, status, r)
        j = r.json()
        for k, v in fields.items():
            self.assertEqual(j.get(k), v, r)
        return j

    def only_message(self, **kw):
        ms = self.fake.messages(**kw)
        self.assertEqual(len(ms), 1, ms)
        return ms[0]


class TestDingTalk(FakeCase):
    def send(self, token="T1", ts=None, sign=None, body=None, encode=1, raw_query=None):
        ts = now_ms() if ts is None else ts
        sign = dingtalk_sign(DT_SECRET, ts) if sign is None else sign
        for _ in range(encode):
            sign = urllib.parse.quote(sign, safe="")
        q = raw_query or "access_token=%s&timestamp=%d&sign=%s" % (token, ts, sign)
        body = body or {"msgtype": "markdown",
                        "markdown": {"title": "提醒", "text": "**宣讲日** 明天\n\n@13800000001"},
                        "at": {"atMobiles": ["13800000001"], "isAtAll": False}}
        return self.post("/dingtalk/robot/send?" + q, body)

    def setUp(self):
        super().setUp()
        self.fake.add_target("dingtalk", "T1", secret=DT_SECRET)

    def test_signed_message_accepted(self):
        self.assertJson(self.send(), 200, errcode=0)
        m = self.only_message(platform="dingtalk", target="T1")
        self.assertTrue(m["accepted"])
        self.assertEqual(m["verdict"], "accepted")
        self.assertIn("**宣讲日** 明天", m["content"])
        self.assertEqual(m["mentions"], ["13800000001"])
        self.assertNotIn("warnings", m)

    def sign_with(self, ch):
        """A timestamp (now) whose sign has ch in its Base64."""
        ts = now_ms()
        while ch not in dingtalk_sign(DT_SECRET, ts):
            ts += 1
        return ts

    def test_double_encoded_sign_rejected(self):
        ts = self.sign_with("+")
        self.assertJson(self.send(ts=ts, encode=2), 200, errcode=310000)
        self.assertJson(self.send(ts=ts, encode=1), 200, errcode=0)
        ts = self.sign_with("/")
        self.assertJson(self.send(ts=ts, encode=2), 200, errcode=310000)
        m = self.fake.messages(accepted=False)
        self.assertEqual(len(m), 2)
        self.assertIn("310000", m[0]["verdict"])

    def test_unencoded_sign_rejected(self):
        # A raw '+' in a query is a space once decoded.
        ts = self.sign_with("+")
        self.assertJson(self.send(ts=ts, encode=0), 200, errcode=310000)

    def test_wrong_secret_and_missing_sign(self):
        bad = dingtalk_sign("another secret", now_ms())
        self.assertJson(self.send(sign=bad), 200, errcode=310000)
        self.assertJson(self.send(raw_query="access_token=T1"), 200, errcode=310000)
        self.assertJson(self.send(raw_query="access_token=T1&timestamp=abc&sign=x"), 200,
                        errcode=310000)

    def test_stale_timestamp_rejected(self):
        for ts in (now_ms() - 3601 * 1000, now_ms() + 3601 * 1000):
            r = self.send(ts=ts)
            self.assertJson(r, 200, errcode=310000)
            self.assertIn("timestamp", r.json()["errmsg"])
        self.assertJson(self.send(ts=now_ms() - 3500 * 1000), 200, errcode=0)

    def test_unknown_token(self):
        self.assertJson(self.send(token="nope"), 200, errcode=300005)

    def test_body_checks(self):
        bad = [
            ({"msgtype": "markdown", "markdown": {"text": "no title"}}, 40035),
            ({"msgtype": "markdown", "markdown": {"title": "t"}}, 40035),
            ({"msgtype": "text", "text": {}}, 40035),
            ({"msgtype": "nope"}, 40035),
            ({"msgtype": "text", "text": {"content": "x"}, "at": {"atMobiles": [1]}}, 40035),
        ]
        for body, code in bad:
            self.assertJson(self.send(body=body), 200, errcode=code)
        self.assertJson(self.post("/dingtalk/robot/send?access_token=T1&timestamp=%d&sign=%s"
                                  % (now_ms(), urllib.parse.quote(dingtalk_sign(DT_SECRET,
                                                                                now_ms()))),
                                  b"not json"), 200, errcode=40035)

    def test_size_limit_in_bytes(self):
        ok = "中" * 6666 + "ab"  # 20000 bytes
        self.assertJson(self.send(body={"msgtype": "text", "text": {"content": ok}}), 200,
                        errcode=0)
        self.assertJson(self.send(body={"msgtype": "text", "text": {"content": ok + "c"}}), 200,
                        errcode=460101)

    def test_mention_not_in_text_warns(self):
        body = {"msgtype": "text", "text": {"content": "hello"},
                "at": {"atMobiles": ["13900000000"]}}
        self.assertJson(self.send(body=body), 200, errcode=0)
        self.assertIn("13900000000", self.only_message()["warnings"][0])

    def test_keywords(self):
        self.fake.add_target("dingtalk", "T1", secret=DT_SECRET, keywords=["宣讲日"])
        self.assertJson(self.send(), 200, errcode=0)
        self.assertJson(self.send(body={"msgtype": "text", "text": {"content": "无关"}}), 200,
                        errcode=310000)

    def test_rate_limit_21st_throttled(self):
        for i in range(20):
            self.assertJson(self.send(), 200, errcode=0)
        self.assertJson(self.send(), 200, errcode=130101)
        self.assertEqual(len(self.fake.messages(accepted=True)), 20)

    def test_session_webhook(self):
        body = {"msgtype": "text", "text": {"content": "已收到您的咨询"}}
        self.assertJson(self.post("/dingtalk/session/abc123", body), 200, errcode=0)
        m = self.only_message(platform="dingtalk-session", target="abc123")
        self.assertEqual(m["content"], "已收到您的咨询")
        self.fake.add_target("dingtalk-session", "old", expires_ms=now_ms() - 1000)
        self.assertJson(self.post("/dingtalk/session/old", body), 200, errcode=300005)
        self.assertJson(self.post("/dingtalk/session/abc123", {"msgtype": "text"}), 200,
                        errcode=40035)

    def test_session_reply_mentions_by_user_id(self):
        """at.atUserIds: a list of staff ids, each also written "@id" in
        the text for DingTalk to show the mention."""
        at = {"msgtype": "text", "text": {"content": "@staff01\n已收到"},
              "at": {"atUserIds": ["staff01"], "isAtAll": False}}
        self.assertJson(self.post("/dingtalk/session/s2", at), 200, errcode=0)
        m = self.only_message(platform="dingtalk-session", target="s2")
        self.assertEqual(m["at_user_ids"], ["staff01"])
        self.assertNotIn("warnings", m)
        for bad in ("staff01", [1], [""]):
            self.assertJson(self.post("/dingtalk/session/s2",
                                      dict(at, at={"atUserIds": bad})), 200, errcode=40035)
        self.post("/dingtalk/session/s3", dict(at, text={"content": "已收到"}))
        (m,) = self.fake.messages(platform="dingtalk-session", target="s3")
        self.assertIn("@staff01 is not written", m["warnings"][0])


class TestWeCom(FakeCase):
    URL = "/wecom/cgi-bin/webhook/send?key=K1"

    def setUp(self):
        super().setUp()
        self.fake.add_target("wecom", "K1")

    def md(self, content):
        return {"msgtype": "markdown", "markdown": {"content": content}}

    def test_markdown_accepted(self):
        self.assertJson(self.post(self.URL, self.md("**提醒** [链接](https://x.cn)")), 200,
                        errcode=0)
        self.assertEqual(self.only_message()["content"], "**提醒** [链接](https://x.cn)")

    def test_oversized_markdown(self):
        self.assertJson(self.post(self.URL, self.md("中" * 1365 + "a")), 200, errcode=0)  # 4096
        self.assertJson(self.post(self.URL, self.md("中" * 1365 + "ab")), 200, errcode=40058)
        self.assertJson(self.post(self.URL, self.md("😀" * 1025)), 200, errcode=40058)

    def test_text_limit_and_mentions(self):
        text = {"msgtype": "text", "text": {"content": "x" * 2048,
                                            "mentioned_mobile_list": ["13800000001", "@all"]}}
        self.assertJson(self.post(self.URL, text), 200, errcode=0)
        self.assertEqual(self.only_message()["mentions"], ["13800000001", "@all"])
        text["text"]["content"] += "y"
        self.assertJson(self.post(self.URL, text), 200, errcode=40058)

    def test_shape(self):
        self.assertJson(self.post(self.URL, {"msgtype": "nope"}), 200, errcode=40008)
        self.assertJson(self.post(self.URL, {"msgtype": "markdown", "markdown": {}}), 200,
                        errcode=44004)
        self.assertJson(self.post(self.URL, {"msgtype": "text", "markdown": {"content": "x"}}),
                        200, errcode=44004)
        self.assertJson(self.post(self.URL, b"{oops"), 200, errcode=40035)
        # msgtype text with markdown-style content is "accepted" but shows raw
        # asterisks; markdown with a mention list gets a warning.
        body = self.md("x")
        body["markdown"]["mentioned_mobile_list"] = ["1"]
        self.assertJson(self.post(self.URL, body), 200, errcode=0)
        self.assertIn("ignored", self.fake.messages(accepted=True)[-1]["warnings"][0])

    def test_unknown_key(self):
        self.assertJson(self.post("/wecom/cgi-bin/webhook/send?key=K2", self.md("x")), 200,
                        errcode=93000)
        self.assertJson(self.post("/wecom/cgi-bin/webhook/send", self.md("x")), 200,
                        errcode=93000)

    def test_rate_limit_21st_throttled(self):
        for _ in range(20):
            self.assertJson(self.post(self.URL, self.md("x")), 200, errcode=0)
        r = self.post(self.URL, self.md("x"))
        self.assertJson(r, 200, errcode=45009)
        # Another robot has its own window.
        self.fake.add_target("wecom", "K2")
        self.assertJson(self.post("/wecom/cgi-bin/webhook/send?key=K2", self.md("x")), 200,
                        errcode=0)
        st = self.fake.stats()["by_target"]
        self.assertEqual(st["wecom/K1"], {"accepted": 20, "rejected": 1})

    def test_window_slides(self):
        self.fake.add_target("wecom", "K1", rate_per_min=2, window_s=0.5)
        self.assertJson(self.post(self.URL, self.md("1")), 200, errcode=0)
        self.assertJson(self.post(self.URL, self.md("2")), 200, errcode=0)
        self.assertJson(self.post(self.URL, self.md("3")), 200, errcode=45009)
        time.sleep(0.6)  # the whole window has passed
        self.assertJson(self.post(self.URL, self.md("4")), 200, errcode=0)

    def test_rate_limit_exact_under_concurrency(self):
        results = []
        lock = threading.Lock()

        def worker():
            for _ in range(5):
                r = self.post(self.URL, self.md("x"))
                with lock:
                    results.append(r.json()["errcode"])

        threads = [threading.Thread(target=worker) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results.count(0), 20)
        self.assertEqual(results.count(45009), 30)


class TestFeishu(FakeCase):
    URL = "/feishu/open-apis/bot/v2/hook/H1"

    def setUp(self):
        super().setUp()
        self.fake.add_target("feishu", "H1", secret=FS_SECRET)

    def signed(self, body, ts=None, secret=FS_SECRET):
        ts = int(time.time()) if ts is None else ts
        body = dict(body, timestamp=str(ts), sign=feishu_sign(secret, ts))
        return body

    def test_signed_card_accepted(self):
        r = self.post(self.URL, self.signed(card("**重点** 内容")))
        self.assertJson(r, 200, code=0, StatusCode=0)
        self.assertEqual(self.only_message()["content"], "【通知】\n**重点** 内容")
        # timestamp may be a number too
        body = self.signed({"msg_type": "text", "content": {"text": "hi"}})
        body["timestamp"] = int(body["timestamp"])
        self.assertJson(self.post(self.URL, body), 200, code=0)

    def test_bad_sign_19021(self):
        self.assertJson(self.post(self.URL, self.signed(card("x"), secret="wrong")), 200,
                        code=19021)
        self.assertJson(self.post(self.URL, card("x")), 200, code=19021)  # unsigned
        self.assertJson(self.post(self.URL, self.signed(card("x"), ts=int(time.time()) - 3700)),
                        200, code=19021)

    def test_unknown_token(self):
        self.assertJson(self.post("/feishu/open-apis/bot/v2/hook/nope", card("x")), 200,
                        code=19001)

    def test_shape_and_size(self):
        self.fake.add_target("feishu", "H1")  # unsigned now
        for body in ({"msg_type": "interactive", "card": {"elements": []}},
                     {"msg_type": "interactive", "card": {"elements": [{"tag": "markdown"}]}},
                     {"msg_type": "text", "content": {}},
                     {"msg_type": "nope"},
                     [1, 2]):
            self.assertJson(self.post(self.URL, body), 400, code=9499)
        big = card("中" * 7000)  # > 20 KB body
        self.assertJson(self.post(self.URL, big), 400, code=9499)
        self.assertJson(self.post(self.URL, card("中" * 6700)), 200, code=0)

    def test_keywords_19024(self):
        self.fake.add_target("feishu", "H1", keywords=["助企"])
        self.assertJson(self.post(self.URL, card("无关")), 200, code=19024)
        self.assertJson(self.post(self.URL, card("助企通知")), 200, code=0)

    def test_rate_limits(self):
        self.fake.add_target("feishu", "H1", rate_per_sec=0)
        for _ in range(100):
            self.assertJson(self.post(self.URL, card("x")), 200, code=0)
        self.assertJson(self.post(self.URL, card("x")), 200, code=11232)
        # 5 a second: six sent at once, the sixth is throttled.
        self.fake.add_target("feishu", "H2")
        codes = [self.post("/feishu/open-apis/bot/v2/hook/H2", card("x")).json()["code"]
                 for _ in range(6)]
        self.assertEqual(codes, [0, 0, 0, 0, 0, 11232])
        # The other style: HTTP 400 with 9499 "too many request".
        self.fake.add_target("feishu", "H3", throttle_style="9499", rate_per_min=1)
        self.assertJson(self.post("/feishu/open-apis/bot/v2/hook/H3", card("x")), 200, code=0)
        r = self.post("/feishu/open-apis/bot/v2/hook/H3", card("x"))
        self.assertJson(r, 400, code=9499, msg="too many request")

    def test_tenant_token_and_reply(self):
        self.fake.add_target("feishu-app", "cli_app", app_secret="app-secret")
        tok_url = "/feishu/open-apis/auth/v3/tenant_access_token/internal"
        r = self.post(tok_url, {"app_id": "cli_app", "app_secret": "bad"})
        self.assertJson(r, 200, code=10014)
        r = self.post(tok_url, {"app_id": "cli_nope", "app_secret": "x"})
        self.assertJson(r, 200, code=10003)
        j = self.assertJson(self.post(tok_url, {"app_id": "cli_app", "app_secret": "app-secret"}),
                            200, code=0)
        tok = j["tenant_access_token"]
        self.assertEqual(j["expire"], 7200)
        reply = "/feishu/open-apis/im/v1/messages/om_123/reply"
        body = {"msg_type": "text", "content": json.dumps({"text": "您好，已收到"})}
        self.assertJson(self.post(reply, body, {"Authorization": "Bearer " + tok}), 200, code=0)
        self.assertJson(self.post(reply, body, {"Authorization": "Bearer t-bad"}), 400,
                        code=99991663)
        self.assertJson(self.post(reply, body), 400, code=99991661)
        self.assertJson(self.post(reply, {"msg_type": "text", "content": {"text": "x"}},
                                  {"Authorization": "Bearer " + tok}), 400, code=230001)
        m = self.only_message(platform="feishu-reply", target="om_123", accepted=True)
        self.assertEqual(m["content"], "您好，已收到")
        self.assertEqual(m["app_id"], "cli_app")
        # An expired token says so (and stays expired).
        self.fake.expire_tokens()
        self.assertJson(self.post(reply, body, {"Authorization": "Bearer " + tok}), 400,
                        code=99991677)


class TestTelegram(FakeCase):
    TOKEN = "123456:ABC-def"
    URL = "/telegram/bot123456:ABC-def/sendMessage"

    def setUp(self):
        super().setUp()
        self.fake.add_target("telegram", self.TOKEN, blocked=["-99"])

    def send(self, text, chat=-100123, mode="HTML"):
        body = {"chat_id": chat, "text": text, "disable_web_page_preview": True}
        if mode:
            body["parse_mode"] = mode
        return self.post(self.URL, body)

    def test_html_accepted(self):
        r = self.send('<b>粗体 &amp; &lt;x&gt;</b>\n<a href="https://t.me/a?b=1&amp;c=2">链接</a>')
        j = self.assertJson(r, 200, ok=True)
        self.assertEqual(j["result"]["text"], "粗体 & <x>\n链接")
        self.assertEqual(self.only_message()["chat_id"], "-100123")

    def test_html_errors(self):
        for text in ("<b>open", "a < b", "x & y", "<script>x</script>", "</b>", "<a>x</a>",
                     "<b><i>x</b></i>"):
            r = self.send(text)
            self.assertJson(r, 400, ok=False, error_code=400)
            self.assertIn("can't parse entities", r.json()["description"])
        self.assertJson(self.send("a < b", mode=None), 200, ok=True)

    def test_too_long(self):
        self.assertJson(self.send("x" * 4096), 200, ok=True)
        r = self.send("x" * 4097)
        self.assertJson(r, 400, description="Bad Request: message is too long")
        # Counted after entity parsing and in UTF-16 units.
        self.assertJson(self.send("&amp;" * 4096), 200, ok=True)
        self.assertJson(self.send("😀" * 2048), 200, ok=True)
        self.assertJson(self.send("😀" * 2049), 400, error_code=400)

    def test_errors(self):
        self.assertJson(self.post("/telegram/bot999:nope/sendMessage", {"chat_id": 1, "text": "x"}),
                        401, ok=False, error_code=401)
        self.assertJson(self.post("/telegram/bot123456:ABC-def/getMe", {}), 404, error_code=404)
        self.assertJson(self.post(self.URL, {"text": "x"}), 400,
                        description="Bad Request: chat_id is empty")
        self.assertJson(self.send(""), 400, description="Bad Request: message text is empty")
        self.assertJson(self.send("<b> </b>"), 400,
                        description="Bad Request: message text is empty")
        self.assertJson(self.send("x", chat=-99), 403, error_code=403)
        self.fake.add_target("telegram", self.TOKEN, chats=["-100123"])
        self.assertJson(self.send("x", chat=-100124), 400,
                        description="Bad Request: chat not found")
        self.assertJson(self.send("x", chat="-100123"), 200, ok=True)

    def test_429_with_retry_after(self):
        for _ in range(20):
            self.assertJson(self.send("x"), 200, ok=True)
        r = self.send("x")
        j = self.assertJson(r, 429, ok=False, error_code=429)
        ra = j["parameters"]["retry_after"]
        self.assertIsInstance(ra, int)
        self.assertTrue(1 <= ra <= 60, ra)
        self.assertIn("retry after %d" % ra, j["description"])
        # The limit is per chat.
        self.assertJson(self.send("x", chat=-100777), 200, ok=True)


class TestGeneric(FakeCase):
    BODY = {"title": "税务助企宣讲日", "text": "明天 14:00", "markdown": "明天 **14:00**",
            "mentions": [], "mention_all": False, "part": 1, "parts": 1}

    def send(self, name, body=None, secret=None, ts=None, sig=None):
        raw = json.dumps(body or self.BODY, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            ts = str(int(time.time())) if ts is None else ts
            headers["X-Zhuqi-Timestamp"] = ts
            headers["X-Zhuqi-Signature"] = sig or generic_sign(secret, ts, raw)
        return self.post("/generic/" + name, raw, headers)

    def test_open_target_accepted(self):
        self.assertJson(self.send("anyone"), 200, ok=True)
        m = self.only_message(platform="generic", target="anyone")
        self.assertEqual(m["content"], "【税务助企宣讲日】\n明天 **14:00**")
        self.assertEqual(m["json"]["text"], "明天 14:00")

    def test_signature(self):
        self.fake.add_target("generic", "g1", secret=GEN_SECRET)
        self.assertJson(self.send("g1", secret=GEN_SECRET), 200, ok=True)
        self.assertJson(self.send("g1"), 401, error="missing signature")
        self.assertJson(self.send("g1", secret="other"), 401, error="bad signature")
        self.assertJson(self.send("g1", secret=GEN_SECRET, ts=str(int(time.time()) - 400)), 401,
                        error="stale timestamp")
        # Signed over the exact bytes: the same JSON re-serialised fails.
        raw = json.dumps(self.BODY).encode()  # ASCII escapes, other bytes
        ts = str(int(time.time()))
        sig = generic_sign(GEN_SECRET, ts, json.dumps(self.BODY, ensure_ascii=False).encode())
        r = self.post("/generic/g1", raw, {"X-Zhuqi-Timestamp": ts, "X-Zhuqi-Signature": sig})
        self.assertJson(r, 401, error="bad signature")

    def test_shape(self):
        self.assertJson(self.send("g", {"title": "x"}), 400, ok=False)
        self.assertJson(self.post("/generic/g", b"nope"), 400, ok=False)
        self.assertJson(self.send("g", dict(self.BODY, mentions="x")), 400, ok=False)
        self.assertJson(self.send("g", dict(self.BODY, markdown="中" * 21846)), 413, ok=False)
        self.assertEqual(self.fake.request("POST", "/generic/", b"{}").status, 404)

    def test_rate_limit_429_retry_after(self):
        self.fake.add_target("generic", "g2", rate_per_min=3)
        for _ in range(3):
            self.assertJson(self.send("g2"), 200, ok=True)
        r = self.send("g2")
        self.assertJson(r, 429, ok=False)
        self.assertTrue(1 <= int(r.headers["Retry-After"]) <= 60, r.headers)

    def test_many_concurrent_messages_all_recorded(self):
        n_threads, per = 8, 150
        errors = []

        def worker(k):
            conn = http.client.HTTPConnection("127.0.0.1", self.fake.port, timeout=30)
            body = json.dumps(self.BODY).encode()
            try:
                for i in range(per):
                    conn.request("POST", "/generic/c%d" % k, body,
                                 {"Content-Type": "application/json"})
                    r = conn.getresponse()
                    r.read()
                    if r.status != 200:
                        errors.append(r.status)
            finally:
                conn.close()

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        st = self.fake.stats()
        self.assertEqual(st["accepted"], n_threads * per)
        for k in range(n_threads):
            self.assertEqual(st["by_target"]["generic/c%d" % k]["accepted"], per)
        ids = [m["id"] for m in self.fake.messages()]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(len(ids), n_threads * per)


class TestFaults(FakeCase):
    WECOM = "/wecom/cgi-bin/webhook/send?key=K1"

    def setUp(self):
        super().setUp()
        self.fake.add_target("wecom", "K1")
        self.fake.add_target("dingtalk", "D1")
        self.fake.add_target("feishu", "F1")
        self.fake.add_target("telegram", "1:t")

    def md(self):
        return {"msgtype": "markdown", "markdown": {"content": "x"}}

    def test_down_closes_without_answer(self):
        self.fake.add_fault("K1", "down", count=1)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            self.post(self.WECOM, self.md())
        self.assertJson(self.post(self.WECOM, self.md()), 200, errcode=0)  # count used up
        m = self.fake.messages()
        self.assertEqual([x["accepted"] for x in m], [False, True])
        self.assertIn("down", m[0]["verdict"])
        self.assertIsNone(m[0]["status"])

    def test_slow(self):
        self.fake.add_fault("K1", "slow", ms=300, count=1)
        t0 = time.monotonic()
        self.assertJson(self.post(self.WECOM, self.md()), 200, errcode=0)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        self.assertTrue(self.only_message()["accepted"])

    def test_throttle_per_platform(self):
        self.fake.add_fault("*", "throttle", retry_after=7)
        self.assertJson(self.post(self.WECOM, self.md()), 200, errcode=45009)
        self.assertJson(self.post("/dingtalk/robot/send?access_token=D1", self.md()), 200,
                        errcode=130101)
        self.assertJson(self.post("/feishu/open-apis/bot/v2/hook/F1", card("x")), 200,
                        code=11232)
        r = self.post("/telegram/bot1:t/sendMessage", {"chat_id": 1, "text": "x"})
        self.assertEqual(r.json()["parameters"]["retry_after"], 7)
        self.assertEqual(r.status, 429)
        r = self.post("/generic/g", TestGeneric.BODY)
        self.assertEqual((r.status, r.headers["Retry-After"]), (429, "7"))
        self.assertTrue(all(not m["accepted"] for m in self.fake.messages()))

    def test_fail_per_platform(self):
        self.fake.add_fault("*", "fail")
        self.assertJson(self.post(self.WECOM, self.md()), 200, errcode=93000)
        self.assertJson(self.post("/dingtalk/robot/send?access_token=D1", self.md()), 200,
                        errcode=310000)
        self.assertJson(self.post("/feishu/open-apis/bot/v2/hook/F1", card("x")), 200,
                        code=19021)
        self.assertJson(self.post("/telegram/bot1:t/sendMessage", {"chat_id": 1, "text": "x"}),
                        403, error_code=403)
        self.assertJson(self.post("/generic/g", TestGeneric.BODY), 400, ok=False)
        self.fake.clear_faults()
        self.fake.add_fault("D1", "fail", code=460101)
        self.assertJson(self.post("/dingtalk/robot/send?access_token=D1", self.md()), 200,
                        errcode=460101)

    def test_garbage_and_5xx(self):
        self.fake.add_fault("K1", "garbage", count=1)
        r = self.post(self.WECOM, self.md())
        self.assertEqual(r.status, 200)
        with self.assertRaises(ValueError):
            json.loads(r.body)
        self.fake.add_fault("K1", "5xx", status=503, count=1)
        r = self.post(self.WECOM, self.md())
        self.assertEqual(r.status, 503)
        self.assertIn(b"503", r.body)
        self.assertJson(self.post(self.WECOM, self.md()), 200, errcode=0)

    def test_scope_count_and_clear(self):
        self.fake.add_fault("K1", "5xx", count=2)
        self.fake.add_fault("*", "throttle", platform="dingtalk")
        self.assertEqual(len(self.fake.request("GET", "/_faults").json()["faults"]), 2)
        self.assertEqual(self.post(self.WECOM, self.md()).status, 502)
        self.assertEqual(self.post(self.WECOM, self.md()).status, 502)
        self.assertJson(self.post(self.WECOM, self.md()), 200, errcode=0)
        self.assertJson(self.post("/feishu/open-apis/bot/v2/hook/F1", card("x")), 200, code=0)
        self.assertJson(self.post("/dingtalk/robot/send?access_token=D1", self.md()), 200,
                        errcode=130101)
        self.assertJson(self.post("/dingtalk/session/s1", self.md()), 200, errcode=130101)
        self.fake.clear_faults()
        dt = {"msgtype": "text", "text": {"content": "x"}}
        self.assertJson(self.post("/dingtalk/robot/send?access_token=D1", dt), 200, errcode=0)

    def test_fault_after_and_feishu_im_throttle_style(self):
        """"after" lets N requests through first (a middle part of a
        series); the IM API's two throttle answers (99991400, 230020)."""
        self.fake.add_fault("K1", "throttle", after=2, count=1)
        codes = [self.post(self.WECOM, self.md()).json()["errcode"] for _ in range(4)]
        self.assertEqual(codes, [0, 0, 45009, 0])
        self.fake.add_target("feishu-app", "cli_f", app_secret="x")
        tok = self.post("/feishu/open-apis/auth/v3/tenant_access_token/internal",
                        {"app_id": "cli_f", "app_secret": "x"}).json()["tenant_access_token"]
        h = {"Authorization": "Bearer " + tok}
        url = "/feishu/open-apis/im/v1/messages/om_1/reply"
        body = {"msg_type": "text", "content": json.dumps({"text": "x"})}
        self.fake.add_fault("om_1", "throttle", style="230020", count=1)
        self.fake.add_fault("om_1", "throttle", count=1)
        self.assertJson(self.post(url, body, h), 400, code=230020)
        self.assertJson(self.post(url, body, h), 400, code=99991400)
        self.assertJson(self.post(url, body, h), 200, code=0)
        self.assertEqual(self.post("/_faults", {"mode": "throttle", "style": "1"}).status, 400)

    def test_bad_fault_requests(self):
        for body in ({"mode": "explode"}, {"mode": "down", "count": 0},
                     {"mode": "slow", "ms": -1}, {"mode": "down", "platform": "icq"}, [1]):
            self.assertEqual(self.post("/_faults", body).status, 400, body)
        self.assertEqual(self.post("/_faults", b"{oops").status, 400)


class TestControlAndPage(FakeCase):
    def test_target_registration_errors(self):
        for body in ({"platform": "icq", "key": "x"}, {"platform": "wecom"},
                     {"platform": "wecom", "key": "x", "rate_per_min": -1},
                     {"platform": "wecom", "key": "x", "keywords": "x"},
                     {"platform": "feishu", "key": "x", "throttle_style": "1"}, "x"):
            self.assertEqual(self.post("/_targets", body).status, 400, body)
        n = self.fake.add_targets([{"platform": "wecom-robot", "key": "a"},
                                   {"platform": "telegram", "token": "1:b"}])
        self.assertEqual(n["count"], 2)
        got = {(t["platform"], t["ident"]) for t in
               self.fake.request("GET", "/_targets").json()["targets"]}
        self.assertEqual(got, {("wecom", "a"), ("telegram", "1:b")})
        self.assertEqual(self.fake.request("DELETE", "/_targets").status, 200)
        self.assertEqual(self.fake.request("GET", "/_targets").json()["targets"], [])

    def test_messages_filters_and_page(self):
        self.fake.add_target("wecom", "K1")
        url = "/wecom/cgi-bin/webhook/send?key=K1"
        self.post(url, {"msgtype": "markdown", "markdown": {"content": "第一条 <script>x</script>"}})
        self.post(url, {"msgtype": "markdown", "markdown": {"content": "第二条"}})
        self.post("/wecom/cgi-bin/webhook/send?key=bad", {"msgtype": "markdown",
                                                          "markdown": {"content": "被拒绝"}})
        allm = self.fake.messages()
        self.assertEqual(len(allm), 3)
        self.assertEqual(len(self.fake.messages(platform="wecom-robot", target="K1")), 2)
        self.assertEqual(len(self.fake.messages(accepted=False)), 1)
        self.assertEqual(len(self.fake.messages(since=allm[0]["id"])), 2)
        for m in allm:
            for k in ("id", "time", "ts", "platform", "target", "headers", "json", "verdict",
                      "accepted", "status", "reply"):
                self.assertIn(k, m)
        r = self.fake.request("GET", "/")
        self.assertEqual(r.status, 200)
        page = r.body.decode()
        self.assertIn('http-equiv="refresh" content="3"', page)
        self.assertIn("模拟消息平台", page)
        self.assertNotIn("<script>", page)
        self.assertIn("&lt;script&gt;", page)
        self.assertNotIn("被拒绝", page)  # accepted messages only
        self.assertLess(page.index("第二条"), page.index("第一条"))  # newest first
        self.assertEqual(self.fake.request("GET", "/_messages?since=x").status, 400)

    def test_reset_keeps_targets(self):
        self.fake.add_target("wecom", "K1", rate_per_min=1)
        url = "/wecom/cgi-bin/webhook/send?key=K1"
        body = {"msgtype": "markdown", "markdown": {"content": "x"}}
        self.assertJson(self.post(url, body), 200, errcode=0)
        self.assertJson(self.post(url, body), 200, errcode=45009)
        self.fake.reset()
        self.assertEqual(self.fake.messages(), [])
        self.assertEqual(self.fake.stats()["total"], 0)
        self.assertJson(self.post(url, body), 200, errcode=0)  # window forgotten, target kept
        self.fake.reset(everything=True)
        self.assertJson(self.post(url, body), 200, errcode=93000)

    def test_log_has_one_json_line_per_message(self):
        self.fake.add_target("wecom", "K1")
        with open(self.log, encoding="utf-8") as f:
            before = len(f.readlines())
        for i in range(3):
            self.post("/wecom/cgi-bin/webhook/send?key=K1",
                      {"msgtype": "markdown", "markdown": {"content": "日志 %d" % i}})
        with open(self.log, encoding="utf-8") as f:
            lines = f.readlines()[before:]
        self.assertEqual(len(lines), 3)
        recs = [json.loads(x) for x in lines]
        self.assertEqual([r["content"] for r in recs], ["日志 0", "日志 1", "日志 2"])

    def test_bad_transport(self):
        r = self.fake.request("POST", "/generic/x", b"{}", {"Content-Length": "99999999999"})
        self.assertEqual(r.status, 413)
        self.assertEqual(self.post("/nope/x", {}).status, 404)
        self.assertEqual(self.post("/wecom/other", {}).status, 404)


class TestOpenMode(FakeCase):
    FAKE_ARGS = ("--open", "--rate-window", "60")

    def test_unknown_targets_registered_on_use(self):
        r = self.post("/wecom/cgi-bin/webhook/send?key=new",
                      {"msgtype": "markdown", "markdown": {"content": "x"}})
        self.assertJson(r, 200, errcode=0)
        # signed requests are accepted without a known secret
        r = self.post("/dingtalk/robot/send?access_token=d&timestamp=1&sign=x",
                      {"msgtype": "text", "text": {"content": "x"}})
        self.assertJson(r, 200, errcode=0)
        self.assertEqual(len(self.fake.messages(accepted=True)), 2)


class TestPreloadedTargets(FakeCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp_targets = tempfile.mkdtemp(prefix="zq-fake-t-")
        path = os.path.join(cls.tmp_targets, "targets.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"targets": [{"platform": "wecom-robot", "key": "pre"},
                                   {"platform": "feishu-app", "app_id": "cli_1",
                                    "app_secret": "s"}]}, f)
        cls.FAKE_ARGS = ("--targets", path)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tmp_targets, ignore_errors=True)

    def setUp(self):
        pass  # keep the preloaded targets

    def test_targets_from_file(self):
        r = self.post("/wecom/cgi-bin/webhook/send?key=pre",
                      {"msgtype": "markdown", "markdown": {"content": "x"}})
        self.assertJson(r, 200, errcode=0)
        r = self.post("/feishu/open-apis/auth/v3/tenant_access_token/internal",
                      {"app_id": "cli_1", "app_secret": "s"})
        self.assertJson(r, 200, code=0)



class TestAppMessages(FakeCase):
    """The app message APIs: WeCom app messages, the DingTalk app robot and
    the Feishu IM API, each behind its access token."""

    CORP, AGENT = "wwcorp01", 1000002

    def setUp(self):
        super().setUp()
        self.fake.add_target("wecom-app", self.CORP, app_secret="ws", agent_id=self.AGENT,
                             chats=["zhangsan", "lisi"])
        self.fake.add_target("dingtalk-app", "dingkey", app_secret="ds", chats=["cid1", "u1"])
        self.fake.add_target("feishu-app", "cli_a", app_secret="fs", chats=["oc_1"])

    def wecom_token(self):
        r = self.fake.request("GET", "/wecom/cgi-bin/gettoken?corpid=%s&corpsecret=ws" % self.CORP)
        return self.assertJson(r, 200, errcode=0, expires_in=7200)["access_token"]

    def test_wecom_token(self):
        r = self.fake.request("GET", "/wecom/cgi-bin/gettoken?corpid=%s&corpsecret=no" % self.CORP)
        self.assertJson(r, 200, errcode=40001)
        r = self.fake.request("GET", "/wecom/cgi-bin/gettoken?corpid=wwnope&corpsecret=ws")
        self.assertJson(r, 200, errcode=40013)
        self.assertTrue(self.wecom_token())
        self.assertEqual(len(self.fake.messages(platform="wecom-app", accepted=True)), 1)
        # Not a message: the page leaves token requests out.
        page = self.fake.request("GET", "/").body.decode()
        self.assertNotIn("access_token for", page)

    def test_wecom_app_message(self):
        tok = self.wecom_token()
        url = "/wecom/cgi-bin/message/send?access_token="
        body = {"touser": "zhangsan", "msgtype": "markdown", "agentid": self.AGENT,
                "markdown": {"content": "**税务助企宣讲日**\n明天开课"}}
        self.assertJson(self.post(url + tok, body), 200, errcode=0)
        self.assertJson(self.post(url + "t-nope", body), 200, errcode=40014)
        self.assertJson(self.post("/wecom/cgi-bin/message/send", body), 200, errcode=41001)
        self.assertJson(self.post(url + tok, dict(body, agentid=1000003)), 200, errcode=40056)
        self.assertJson(self.post(url + tok, dict(body, touser="")), 200, errcode=40035)
        j = self.assertJson(self.post(url + tok, dict(body, touser="wangwu")), 200,
                            errcode=81013)
        self.assertEqual(j["invaliduser"], "wangwu")
        long_md = {"content": "税" * 683}  # 2049 bytes
        self.assertJson(self.post(url + tok, dict(body, markdown=long_md)), 200, errcode=40058)
        self.assertJson(self.post(url + tok, dict(body, markdown={"content": "税" * 682})), 200,
                        errcode=0)
        self.fake.expire_tokens()
        self.assertJson(self.post(url + tok, body), 200, errcode=42001)
        ok = self.fake.messages(platform="wecom-appmsg", target="zhangsan", accepted=True)
        self.assertEqual(len(ok), 2, ok)
        self.assertIn("税务助企宣讲日", ok[0]["content"])
        # The page shows app messages.
        self.assertIn("企业微信应用消息", self.fake.request("GET", "/").body.decode())

    def test_wecom_app_rate_per_member(self):
        tok = self.wecom_token()
        url = "/wecom/cgi-bin/message/send?access_token=" + tok
        body = {"touser": "lisi", "msgtype": "text", "agentid": self.AGENT,
                "text": {"content": "x"}}
        codes = [self.post(url, body).json()["errcode"] for _ in range(31)]
        # WeCom answers the 31st in a minute "ok" and drops it silently.
        self.assertEqual(codes, [0] * 31)
        msgs = self.fake.messages(platform="wecom-appmsg", target="lisi")
        self.assertEqual([m["accepted"] for m in msgs], [True] * 30 + [False])
        self.assertIn("dropped", msgs[-1]["verdict"])

    def test_dingtalk_app_robot(self):
        r = self.post("/dingtalk/v1.0/oauth2/accessToken", {"appKey": "dingkey", "appSecret": "x"})
        self.assertJson(r, 400, code="invalidClientIdOrSecret")
        j = self.assertJson(self.post("/dingtalk/v1.0/oauth2/accessToken",
                                      {"appKey": "dingkey", "appSecret": "ds"}), 200,
                            expireIn=7200)
        h = {"x-acs-dingtalk-access-token": j["accessToken"]}
        param = json.dumps({"title": "提醒", "text": "**明天** 开课"}, ensure_ascii=False)
        grp = {"robotCode": "dingkey", "openConversationId": "cid1", "msgKey": "sampleMarkdown",
               "msgParam": param}
        send = "/dingtalk/v1.0/robot/groupMessages/send"
        self.assertTrue(self.assertJson(self.post(send, grp, h), 200)["processQueryKey"])
        self.assertJson(self.post(send, grp), 400, code="InvalidAuthentication")
        self.assertJson(self.post(send, dict(grp, robotCode="other"), h), 400,
                        code="robot.not.exist")
        self.assertJson(self.post(send, dict(grp, openConversationId="cid9"), h), 400,
                        code="resource.not.found")
        self.assertJson(self.post(send, dict(grp, msgParam={"title": "x"}), h), 400,
                        code="invalidParameter.msgParam")
        self.assertJson(self.post(send, dict(grp, msgParam=json.dumps({"title": "t"})), h), 400,
                        code="invalidParameter.msgParam")
        oto = {"robotCode": "dingkey", "userIds": ["u1", "u2"], "msgKey": "sampleMarkdown",
               "msgParam": param}
        j = self.assertJson(self.post("/dingtalk/v1.0/robot/oToMessages/batchSend", oto, h), 200)
        self.assertEqual(j["invalidStaffIdList"], ["u2"])
        self.assertEqual(j["flowControlledStaffIdList"], [])
        self.fake.expire_tokens()
        self.assertJson(self.post(send, grp, h), 400, code="InvalidAuthentication")
        m = self.only_message(platform="dingtalk-appmsg", target="cid1", accepted=True)
        self.assertEqual(m["content"], "【提醒】\n**明天** 开课")
        # msgParam, the JSON string as sent (escapes included), at most
        # 15,000 bytes: 4,990 Chinese characters and 1 line break fit ...
        h = {"x-acs-dingtalk-access-token": self.post(
            "/dingtalk/v1.0/oauth2/accessToken",
            {"appKey": "dingkey", "appSecret": "ds"}).json()["accessToken"]}
        fits = json.dumps({"title": "t", "text": "中" * 4990 + "\n" + "a" * 1},
                          ensure_ascii=False)
        fits = fits + " " * (15000 - len(fits.encode()))
        self.assertEqual(len(fits.encode()), 15000)
        self.assertJson(self.post(send, dict(grp, msgParam=fits), h), 200)
        # ... one more byte does not.
        self.assertJson(self.post(send, dict(grp, msgParam=fits + " "), h), 400,
                        code="invalidParameter.msgParam.tooLong")
        self.fake.add_fault("cid1", "throttle", platform="dingtalk-appmsg", count=1)
        r = self.post(send, grp, h)
        self.assertJson(r, 403, code="Forbidden.AccessDenied.QpsLimitForApi")

    def test_feishu_im_send(self):
        j = self.assertJson(self.post("/feishu/open-apis/auth/v3/tenant_access_token/internal",
                                      {"app_id": "cli_a", "app_secret": "fs"}), 200, code=0)
        h = {"Authorization": "Bearer " + j["tenant_access_token"]}
        url = "/feishu/open-apis/im/v1/messages?receive_id_type=chat_id"
        c = card("**明天** 开课", "税务助企宣讲日")["card"]
        body = {"receive_id": "oc_1", "msg_type": "interactive",
                "content": json.dumps(c, ensure_ascii=False)}
        self.assertJson(self.post(url, body, h), 200, code=0)
        self.assertJson(self.post(url, body), 400, code=99991661)
        self.assertJson(self.post(url.replace("chat_id", "nope"), body, h), 400, code=99992402)
        self.assertJson(self.post(url, dict(body, receive_id="oc_9"), h), 400, code=230002)
        self.assertJson(self.post(url, dict(body, content=c), h), 400, code=230001)
        big = dict(body, content=json.dumps(card("长" * 11000)["card"], ensure_ascii=False))
        self.assertJson(self.post(url, big, h), 400, code=230025)
        # Five a second to one chat.
        codes = [self.post(url, body, h).json()["code"] for _ in range(6)]
        self.assertIn(230020, codes)
        m = self.fake.messages(platform="feishu-chat", target="oc_1", accepted=True)[0]
        self.assertEqual(m["content"], "【税务助企宣讲日】\n**明天** 开课")
        self.assertEqual(m["app_id"], "cli_a")


class TestTokenFaultsAndDuplicates(FakeCase):
    """Issue 13 items 9 and 10: the token endpoints' throttling and
    refusals on demand, Feishu's uuid and WeCom's duplicate check, and a
    lost answer."""

    CORP, AGENT = "wwcorp13", 1000002

    def setUp(self):
        super().setUp()
        self.fake.add_target("wecom-app", self.CORP, app_secret="ws", agent_id=self.AGENT)
        self.fake.add_target("dingtalk-app", "dingkey13", app_secret="ds")
        self.fake.add_target("feishu-app", "cli_13", app_secret="fs")

    FS_TOK = "/feishu/open-apis/auth/v3/tenant_access_token/internal"
    DT_TOK = "/dingtalk/v1.0/oauth2/accessToken"

    def wecom_tok(self):
        return self.fake.request("GET", "/wecom/cgi-bin/gettoken?corpid=%s&corpsecret=ws"
                                 % self.CORP)

    def test_token_faults(self):
        fs = {"app_id": "cli_13", "app_secret": "fs"}
        dt = {"appKey": "dingkey13", "appSecret": "ds"}
        self.fake.add_fault("cli_13", "throttle", platform="feishu-app", count=1)
        self.assertJson(self.post(self.FS_TOK, fs), 400, code=99991400)
        self.fake.add_fault("cli_13", "fail", platform="feishu-app", count=1)
        self.assertJson(self.post(self.FS_TOK, fs), 200, code=10014)
        self.fake.add_fault("cli_13", "fail", platform="feishu-app", count=1, code=10003)
        self.assertJson(self.post(self.FS_TOK, fs), 200, code=10003)
        self.assertJson(self.post(self.FS_TOK, fs), 200, code=0)
        self.fake.add_fault(self.CORP, "throttle", platform="wecom-app", count=1)
        self.assertJson(self.wecom_tok(), 200, errcode=45009)
        self.fake.add_fault(self.CORP, "fail", platform="wecom-app", count=1)
        self.assertJson(self.wecom_tok(), 200, errcode=40001)
        self.fake.add_fault(self.CORP, "fail", platform="wecom-app", count=1, code=40013)
        self.assertJson(self.wecom_tok(), 200, errcode=40013)
        self.assertJson(self.wecom_tok(), 200, errcode=0)
        self.fake.add_fault("dingkey13", "throttle", platform="dingtalk-app", count=1,
                            style="Forbidden.AccessDenied.QpmLimitForAppkeyAndApi")
        self.assertJson(self.post(self.DT_TOK, dt), 403,
                        code="Forbidden.AccessDenied.QpmLimitForAppkeyAndApi")
        self.fake.add_fault("dingkey13", "fail", platform="dingtalk-app", count=1)
        self.assertJson(self.post(self.DT_TOK, dt), 400, code="invalidClientIdOrSecret")
        self.fake.add_fault("dingkey13", "fail", platform="dingtalk-app", count=1, code=40089)
        self.assertJson(self.post(self.DT_TOK, dt), 200, errcode=40089)
        self.assertTrue(self.post(self.DT_TOK, dt).json()["accessToken"])

    def test_feishu_uuid(self):
        tok = self.post(self.FS_TOK, {"app_id": "cli_13", "app_secret": "fs"}).json()[
            "tenant_access_token"]
        h = {"Authorization": "Bearer " + tok}
        url = "/feishu/open-apis/im/v1/messages?receive_id_type=chat_id"
        body = {"receive_id": "oc_13", "msg_type": "text",
                "content": json.dumps({"text": "一次"}), "uuid": "u-13-a"}
        a = self.assertJson(self.post(url, body, h), 200, code=0)
        b = self.assertJson(self.post(url, body, h), 200, code=0)
        self.assertEqual(a["data"]["message_id"], b["data"]["message_id"])
        self.assertJson(self.post(url, dict(body, uuid="x" * 51), h), 400, code=99992402)
        nouuid = dict(body)
        del nouuid["uuid"]
        self.post(url, nouuid, h)
        self.post(url, nouuid, h)
        ok = self.fake.messages(platform="feishu-chat", target="oc_13", accepted=True)
        self.assertEqual(len(ok), 3, ok)  # u-13-a once, and the two without uuid

    def test_wecom_duplicate_check(self):
        tok = self.wecom_tok().json()["access_token"]
        url = "/wecom/cgi-bin/message/send?access_token=" + tok
        body = {"touser": "zhaoliu", "msgtype": "markdown", "agentid": self.AGENT,
                "markdown": {"content": "同一条"}, "enable_duplicate_check": 1,
                "duplicate_check_interval": 600}
        self.assertJson(self.post(url, body), 200, errcode=0)
        self.assertJson(self.post(url, body), 200, errcode=0)
        self.assertJson(self.post(url, dict(body, markdown={"content": "另一条"})), 200,
                        errcode=0)
        self.assertJson(self.post(url, dict(body, duplicate_check_interval=4 * 3600 + 1)), 200,
                        errcode=40035)
        off = dict(body, enable_duplicate_check=0)
        self.post(url, off)
        self.post(url, off)
        ms = self.fake.messages(platform="wecom-appmsg", target="zhaoliu")
        self.assertEqual([m["accepted"] for m in ms], [True, False, True, False, True, True], ms)
        self.assertTrue(ms[1]["verdict"].startswith("duplicate"))

    def test_lost_answer(self):
        self.fake.add_target("wecom", "K13")
        self.fake.add_fault("K13", "lost", count=1)
        body = {"msgtype": "markdown", "markdown": {"content": "x"}}
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            self.post("/wecom/cgi-bin/webhook/send?key=K13", body)
        m = self.only_message(platform="wecom")
        self.assertTrue(m["accepted"], m)  # delivered, though nobody heard it


# ---- the SMS vendors (tests/fake/fake_sms.py) ----

import secrets  # noqa: E402

import fake_sms  # noqa: E402  (tests/fake)
import smssign  # noqa: E402  (tests/fake: signatures independent of zhuqi's)

TC = fake_sms.ACCOUNTS["tencent"]
ALI = fake_sms.ACCOUNTS["alibaba"]
EMPTY_SHA = hashlib.sha256(b"").hexdigest()


class TestChatMedia(FakeCase):
    """The media APIs behind files sent in a chat: Telegram getFile and
    the file download, WeCom media/get, each as strict as the platform."""

    TOKEN, CORP, AGENT = "777:media-bot", "wwmedia01", 1000002

    def setUp(self):
        super().setUp()
        self.fake.add_target("telegram", self.TOKEN)
        self.fake.add_target("wecom-app", self.CORP, app_secret="ws", agent_id=self.AGENT)

    def put(self, platform, ident, data=b"", name="", **kw):
        obj = dict(kw, platform=platform, id=ident, name=name,
                   data_b64=base64.b64encode(data).decode())
        return self.assertJson(self.post("/_media", obj), 200, ok=True)["path"]

    def test_telegram_get_file_and_download(self):
        path = self.put("telegram", "F1", b"\xff\xd8abc\xff\xd9")
        r = self.fake.request("GET", "/telegram/bot%s/getFile?file_id=F1" % self.TOKEN)
        j = self.assertJson(r, 200, ok=True)
        self.assertEqual((j["result"]["file_path"], j["result"]["file_size"]), (path, 7))
        r = self.fake.request("GET", "/telegram/file/bot%s/%s" % (self.TOKEN, path))
        self.assertEqual((r.status, r.body), (200, b"\xff\xd8abc\xff\xd9"))
        # The Bot API's refusals.
        r = self.fake.request("GET", "/telegram/bot%s/getFile?file_id=nope" % self.TOKEN)
        self.assertJson(r, 400, ok=False, description="Bad Request: invalid file_id")
        self.put("telegram", "BIG", size=20 * 1024 * 1024 + 1)
        r = self.post("/telegram/bot%s/getFile" % self.TOKEN, {"file_id": "BIG"})
        self.assertJson(r, 400, ok=False, description="Bad Request: file is too big")
        r = self.fake.request("GET", "/telegram/bot9:wrong/getFile?file_id=F1")
        self.assertJson(r, 401, ok=False)
        r = self.fake.request("GET", "/telegram/file/bot%s/photos/none.jpg" % self.TOKEN)
        self.assertEqual(r.status, 404)

    def test_media_delay(self):
        """delay_ms: the download answers late, and is recorded after a
        request that came in meanwhile."""
        for bad in (-1, 60001, "5", True):
            r = self.post("/_media", {"platform": "telegram", "id": "D0", "data_b64": "",
                                      "delay_ms": bad})
            self.assertEqual(r.status, 400, (bad, r))
        path = self.put("telegram", "D1", b"\xff\xd8slow\xff\xd9", delay_ms=3000)
        done = {}

        def slow():
            done["r"] = self.fake.request("GET", "/telegram/file/bot%s/%s" % (self.TOKEN, path))
        t = threading.Thread(target=slow)
        t.start()
        r = self.fake.request("GET", "/telegram/bot%s/getFile?file_id=D1" % self.TOKEN)
        self.assertJson(r, 200, ok=True)
        t.join(30)
        self.assertEqual((done["r"].status, done["r"].body), (200, b"\xff\xd8slow\xff\xd9"))
        ids = {m.get("file_path") or m.get("method"): m["id"] for m in self.fake.messages()}
        self.assertLess(ids["getFile"], ids[path])

    def test_wecom_media_get(self):
        self.put("wecom", "M1", b"%PDF-1.4 x %%EOF", "合同.pdf", ctype="application/pdf")
        r = self.fake.request("GET", "/wecom/cgi-bin/gettoken?corpid=%s&corpsecret=ws" % self.CORP)
        tok = self.assertJson(r, 200, errcode=0)["access_token"]
        r = self.fake.request("GET", "/wecom/cgi-bin/media/get?access_token=%s&media_id=M1" % tok)
        self.assertEqual((r.status, r.body), (200, b"%PDF-1.4 x %%EOF"))
        disp = r.headers.get("Content-Disposition", "").encode("latin-1").decode("utf-8")
        self.assertIn('filename="合同.pdf"', disp)
        r = self.fake.request("GET", "/wecom/cgi-bin/media/get?access_token=%s&media_id=M2" % tok)
        self.assertJson(r, 200, errcode=40007)
        r = self.fake.request("GET", "/wecom/cgi-bin/media/get?access_token=bad&media_id=M1")
        self.assertJson(r, 200, errcode=40014)
        r = self.fake.request("GET", "/wecom/cgi-bin/media/get?media_id=M1")
        self.assertJson(r, 200, errcode=41001)
        self.assertJson(self.post("/_tokens/expire", {}), 200, ok=True)
        r = self.fake.request("GET", "/wecom/cgi-bin/media/get?access_token=%s&media_id=M1" % tok)
        self.assertJson(r, 200, errcode=42001)


class SmsFakeCase(FakeCase):
    def host(self):
        return "127.0.0.1:%d" % self.fake.port

    def tencent(self, body, ts=None, secret_id=None, secret_key=None, action="SendSms"):
        """A SendSms request signed with smssign.tc3_sign; the answer's
        Response object."""
        raw = body if isinstance(body, bytes) else json.dumps(
            body, ensure_ascii=False, separators=(",", ":")).encode()
        ts = int(time.time()) if ts is None else ts
        sig = smssign.tc3_sign(secret_id or TC["key_id"], secret_key or TC["secret"], "sms",
                               self.host(), ts, raw)
        r = self.fake.request("POST", "/tencent/", raw, {
            "Host": self.host(), "Content-Type": "application/json; charset=utf-8",
            "X-TC-Action": action, "X-TC-Version": "2021-01-11", "X-TC-Timestamp": str(ts),
            "X-TC-Region": "ap-guangzhou", "Authorization": sig["authorization"]})
        self.assertEqual(r.status, 200, r)
        return r.json()["Response"]

    def tc_body(self, number="13800138000", template="2100001", params=("123456", "5"),
                sign=fake_sms.SIGN, app=None):
        return {"PhoneNumberSet": ["+86" + number], "SmsSdkAppId": app or TC["app_id"],
                "SignName": sign, "TemplateId": template, "TemplateParamSet": list(params)}

    def tc_code(self, resp):
        if "Error" in resp:
            return resp["Error"]["Code"]
        return resp["SendStatusSet"][0]["Code"]

    def alibaba(self, params, nonce=None, date=None, secret=None, key_id=None):
        """A SendSms request signed with smssign.acs3_sign: (status, JSON)."""
        pairs = list(params.items())
        date = date or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        hdrs = [("host", self.host()), ("x-acs-action", "SendSms"),
                ("x-acs-version", "2017-05-25"), ("x-acs-date", date),
                ("x-acs-signature-nonce", nonce or secrets.token_hex(16)),
                ("x-acs-content-sha256", EMPTY_SHA)]
        sig = smssign.acs3_sign(key_id or ALI["key_id"], secret or ALI["secret"], "POST", "/",
                                pairs, hdrs, EMPTY_SHA)
        headers = dict(hdrs)
        headers["Authorization"] = sig["authorization"]
        r = self.fake.request("POST", "/alibaba/?" + smssign.acs_query(pairs), b"", headers)
        return r.status, r.json()

    def ali_params(self, number="13900139000", template="SMS_480000001",
                   tparam='{"code":"123456"}', sign=fake_sms.SIGN):
        return {"PhoneNumbers": number, "SignName": sign, "TemplateCode": template,
                "TemplateParam": tparam}


class TestSmsTencentFake(SmsFakeCase):
    # "A minute" of 2 s: Tencent's 30 s per number is 1 s, its day 48 min.
    FAKE_ARGS = ("--rate-window", "2")

    def test_accepted_with_the_real_answer(self):
        resp = self.tencent(self.tc_body())
        (st,) = resp["SendStatusSet"]
        self.assertEqual(st["Code"], "Ok", resp)
        self.assertEqual(st["PhoneNumber"], "+8613800138000")
        self.assertEqual(st["Fee"], 1)
        self.assertEqual(st["IsoCode"], "CN")
        self.assertTrue(st["SerialNo"])
        self.assertTrue(resp["RequestId"])
        m = self.only_message(platform="tencent-sms", target="13800138000")
        self.assertEqual(m["content"], "【助企平台】您的验证码为123456，5分钟内有效，请勿泄露给他人。")
        page = self.fake.request("GET", "/").body.decode("utf-8")
        self.assertIn("【助企平台】您的验证码为123456", page)
        self.assertIn("13800138000", page)
        self.assertIn("腾讯云短信", page)

    def test_signature_clock_and_account(self):
        self.assertEqual(self.tc_code(self.tencent(self.tc_body(), secret_key="wrong")),
                         "AuthFailure.SignatureFailure")
        self.assertEqual(self.tc_code(self.tencent(self.tc_body(), ts=int(time.time()) - 301)),
                         "AuthFailure.SignatureExpire")
        self.assertEqual(self.tc_code(self.tencent(self.tc_body(), ts=int(time.time()) + 400)),
                         "AuthFailure.SignatureExpire")
        self.assertEqual(self.tc_code(self.tencent(self.tc_body(), secret_id="AKIDnobody")),
                         "AuthFailure.SecretIdNotFound")
        # The signed bytes are the sent bytes: a body changed after signing fails.
        raw = json.dumps(self.tc_body(), separators=(",", ":")).encode()
        ts = int(time.time())
        sig = smssign.tc3_sign(TC["key_id"], TC["secret"], "sms", self.host(), ts, raw)
        r = self.fake.request("POST", "/tencent/", raw.replace(b"123456", b"654321"), {
            "Host": self.host(), "Content-Type": "application/json; charset=utf-8",
            "X-TC-Action": "SendSms", "X-TC-Version": "2021-01-11", "X-TC-Timestamp": str(ts),
            "X-TC-Region": "ap-guangzhou", "Authorization": sig["authorization"]})
        self.assertEqual(r.json()["Response"]["Error"]["Code"], "AuthFailure.SignatureFailure")
        self.assertEqual(self.tc_code(self.tencent(self.tc_body(), action="SendStatus")),
                         "InvalidAction")
        self.assertEqual(self.fake.messages(accepted=True), [])

    def test_app_template_sign_and_params(self):
        cases = [
            (dict(app="1400000000"), "InvalidParameterValue.SdkAppIdNotExist"),
            (dict(template="9999999"), "FailedOperation.TemplateIncorrectOrUnapproved"),
            (dict(sign="别的签名"), "FailedOperation.SignatureIncorrectOrUnapproved"),
            (dict(params=("123456",)), "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"),
            (dict(params=("12a456", "5")), "InvalidParameterValue.TemplateParameterFormatError"),
            (dict(template="2100003", params=("TS1", "http://x.cn")),
             "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter"),
            (dict(number="12800138000"), "InvalidParameterValue.IncorrectPhoneNumber"),
        ]
        for kw, code in cases:
            self.assertEqual(self.tc_code(self.tencent(self.tc_body(**kw))), code, kw)
        self.assertEqual(self.tc_code(self.tencent(b"{not json")), "FailedOperation.JsonParseFail")

    def test_per_number_frequency(self):
        ok = self.tencent(self.tc_body(number="13800138011"))
        self.assertEqual(self.tc_code(ok), "Ok")
        again = self.tencent(self.tc_body(number="13800138011"))
        self.assertEqual(self.tc_code(again), "LimitExceeded.PhoneNumberThirtySecondLimit")
        self.assertEqual(again["SendStatusSet"][0]["Fee"], 0)
        # Another number is not held back.
        self.assertEqual(self.tc_code(self.tencent(self.tc_body(number="13800138012"))), "Ok")
        # Ten a day: after nine more, a half-"minute" apart, the next is refused.
        for _ in range(9):
            time.sleep(1.05)
            self.assertEqual(self.tc_code(self.tencent(self.tc_body(number="13800138011"))), "Ok")
        time.sleep(1.05)
        self.assertEqual(self.tc_code(self.tencent(self.tc_body(number="13800138011"))),
                         "LimitExceeded.PhoneNumberDailyLimit")

    def test_faults(self):
        self.fake.add_fault("13800138021", "throttle", platform="tencent-sms", count=1)
        self.assertEqual(self.tc_code(self.tencent(self.tc_body(number="13800138021"))),
                         "LimitExceeded.PhoneNumberThirtySecondLimit")
        self.fake.add_fault("13800138022", "fail", platform="tencent-sms", count=1,
                            style="AuthFailure.SignatureExpire")
        resp = self.tencent(self.tc_body(number="13800138022"))
        self.assertEqual(resp["Error"]["Code"], "AuthFailure.SignatureExpire")
        self.assertEqual(self.tc_code(self.tencent(self.tc_body(number="13800138022"))), "Ok")
        self.fake.add_fault("13800138023", "fail", platform="tencent-sms", count=1)
        self.assertEqual(self.tc_code(self.tencent(self.tc_body(number="13800138023"))),
                         "FailedOperation.PhoneNumberInBlacklist")


class TestSmsAlibabaFake(SmsFakeCase):
    # "A minute" of 2 s: Alibaba's hour is 2 min, its day 48 min.
    FAKE_ARGS = ("--rate-window", "2")

    def test_accepted_with_the_real_answer(self):
        status, j = self.alibaba(self.ali_params())
        self.assertEqual(status, 200, j)
        self.assertEqual(j["Code"], "OK", j)
        self.assertEqual(j["Message"], "OK")
        self.assertTrue(j["BizId"].endswith("^0"), j)
        self.assertTrue(j["RequestId"])
        m = self.only_message(platform="alibaba-sms", target="13900139000")
        self.assertEqual(m["content"], "【助企平台】您的验证码为123456，5分钟内有效，请勿泄露给他人。")

    def test_signature_nonce_and_clock(self):
        status, j = self.alibaba(self.ali_params(), secret="wrong")
        self.assertEqual((status, j["Code"]), (400, "SignatureDoesNotMatch"))
        status, j = self.alibaba(self.ali_params(), key_id="LTAInobody")
        self.assertEqual((status, j["Code"]), (404, "InvalidAccessKeyId.NotFound"))
        old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1000))
        status, j = self.alibaba(self.ali_params(), date=old)
        self.assertEqual((status, j["Code"]), (400, "InvalidTimeStamp.Expired"))
        nonce = secrets.token_hex(16)
        self.assertEqual(self.alibaba(self.ali_params(number="13900139001"), nonce=nonce)[1]["Code"],
                         "OK")
        status, j = self.alibaba(self.ali_params(number="13900139002"), nonce=nonce)
        self.assertEqual((status, j["Code"]), (400, "SignatureNonceUsed"))

    def test_template_sign_and_params(self):
        cases = [
            (dict(template="SMS_999"), "isv.SMS_TEMPLATE_ILLEGAL"),
            (dict(sign="别的签名"), "isv.SMS_SIGNATURE_ILLEGAL"),
            (dict(tparam='{"other":"123456"}'), "isv.TEMPLATE_MISSING_PARAMETERS"),
            (dict(tparam='{"code":123456}'), "isv.INVALID_JSON_PARAM"),
            (dict(tparam='not json'), "isv.INVALID_JSON_PARAM"),
            (dict(number="1390013900"), "isv.MOBILE_NUMBER_ILLEGAL"),
        ]
        for i, (kw, code) in enumerate(cases):
            kw.setdefault("number", "1390013902%d" % i)
            status, j = self.alibaba(self.ali_params(**kw))
            self.assertEqual((status, j["Code"]), (200, code), kw)

    def test_business_limit_control(self):
        self.assertEqual(self.alibaba(self.ali_params(number="13900139031"))[1]["Code"], "OK")
        status, j = self.alibaba(self.ali_params(number="13900139031"))
        self.assertEqual((status, j["Code"]), (200, "isv.BUSINESS_LIMIT_CONTROL"))
        self.assertIn("分钟级", j["Message"])
        for _ in range(4):
            time.sleep(2.05)
            self.assertEqual(self.alibaba(self.ali_params(number="13900139031"))[1]["Code"], "OK")
        time.sleep(2.05)
        status, j = self.alibaba(self.ali_params(number="13900139031"))
        self.assertEqual(j["Code"], "isv.BUSINESS_LIMIT_CONTROL")
        self.assertIn("小时级", j["Message"])


class TestSmsGatewayFake(SmsFakeCase):
    def send(self, body, key=fake_sms.ACCOUNTS["gateway"]["secret"]):
        return self.fake.request("POST", "/smsgw/send", body, {"X-Api-Key": key})

    def test_gateway(self):
        good = {"mobile": "13700137000", "content": "【助企平台】您的验证码为123456。",
                "requestId": "r-1"}
        r = self.send(good)
        self.assertJson(r, 200, code="0000")
        self.assertTrue(r.json()["data"]["msgId"])
        self.assertJson(self.send(good, key="wrong"), 401, code="E_AUTH")
        self.assertJson(self.send(dict(good, content="【别的】您好")), 200, code="E_SIGN")
        self.assertJson(self.send(dict(good, mobile="1370013700")), 200, code="E_MOBILE")
        self.fake.add_fault("13700137000", "throttle", platform="sms-gateway", count=1)
        self.assertJson(self.send(good), 200, code="FREQ_LIMIT")
        form = urllib.parse.urlencode(good).encode()
        r = self.fake.request("POST", "/smsgw/send", form, {
            "X-Api-Key": fake_sms.ACCOUNTS["gateway"]["secret"],
            "Content-Type": "application/x-www-form-urlencoded"})
        self.assertJson(r, 200, code="0000")
        ms = self.fake.messages(platform="sms-gateway", target="13700137000", accepted=True)
        self.assertEqual([m["content"] for m in ms], [good["content"]] * 2)

    def test_ini_for_zhuqi(self):
        d = tempfile.mkdtemp(prefix="zq-fake-sms-")
        try:
            key = os.path.join(d, "sms.key")
            text = fake_sms.ini_text("alibaba", "http://127.0.0.1:1", key)
            fake_sms.write_secret("alibaba", key)
            self.assertIn("provider = alibaba\n", text)
            self.assertIn("tpl_code = SMS_480000001: code\n", text)
            self.assertNotIn(ALI["secret"], text)
            self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()

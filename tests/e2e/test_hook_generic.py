"""The generic chat webhook through nginx: signed conversations that file a
complaint and a consultation, every rejection (bad signature, stale
timestamp, wrong secret, oversized body, malformed body) with nothing
stored, a replayed message ignored, the hand-over of a chat draft to the
web form, and every hook answering 404 when its platform is not
configured."""

import hashlib
import json
import signal
import time
import unittest
import uuid

from bot_util import add_target, all_final, notice, wait_report
from chatsign import (PREFIX, assert_nothing_stored, case_source, dedup_keys, file_case,
                      generic_sign)
from harness import StackCase, write_ini

SECRET = "e2e-generic-secret"


class GenericHook(StackCase, unittest.TestCase):
    STACK_ARGS = {
        "app_max_body": "256k",
        "ini": {"generic": {"secret": SECRET},
                "chat": {"max_body": "8k", "max_text": "4096", "web_base_url": "https://zhuqi.example.gov.cn"}},
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.schemas = {f: cls.stack.get("/api/forms/" + f).json() for f in ("consult", "complaint")}

    def post(self, payload, secret=SECRET, ts=None, raw=None, sig=None):
        body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
        ts = ts or str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Zhuqi-Timestamp": ts,
                   "X-Zhuqi-Signature": sig or generic_sign(secret, ts, body)}
        return self.stack.request("POST", "/hook/generic", body=body, headers=headers)

    def sender(self, user):
        def send(text):
            r = self.post({"user": user, "text": text, "id": uuid.uuid4().hex})
            self.assertEqual(r.status, 200, r)
            replies = r.json()["replies"]
            self.assertTrue(replies, r)
            for x in replies:
                self.assertLessEqual(len(x.encode()), 4096)
            return "\n\n".join(replies)
        return send

    def test_files_a_complaint(self):
        user = "g-" + uuid.uuid4().hex[:8]
        case = file_case(self, self.sender(user), self.schemas["complaint"], start="投诉")
        self.assertRegex(case, r"^TS\d{8}-\d{4,}$")
        self.assertEqual(case_source(self.stack, case), "chat:generic:" + user)
        answers = json.loads(self.stack.redis_command("HGET", PREFIX + "case:" + case, "answers"))
        self.assertEqual(answers["amount_fen"], 12345678)
        self.assertEqual(answers["mobile"], "13812345678")
        # The public lookup on the web finds it with the mobile.
        r = self.stack.request("POST", "/api/cases/%s/lookup" % case,
                               body=json.dumps({"mobile": "13812345678"}),
                               headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r)
        # And so does the chat.
        send = self.sender(user)
        self.assertIn("请回复提交时填写的手机号码", send("查询 " + case))
        out = send("13812345678")
        self.assertIn("当前状态：已提交", out)
        self.assertIn("138****5678", out)

    def test_files_a_consultation(self):
        user = "g-" + uuid.uuid4().hex[:8]
        case = file_case(self, self.sender(user), self.schemas["consult"], start="1")
        self.assertRegex(case, r"^ZX\d{8}-\d{4,}$")
        self.assertEqual(case_source(self.stack, case), "chat:generic:" + user)

    def test_rejections_store_nothing(self):
        user = "g-bad-" + uuid.uuid4().hex[:8]
        payload = {"user": user, "text": "投诉", "id": uuid.uuid4().hex}
        body = json.dumps(payload).encode()
        dedup_before = len(dedup_keys(self.stack, "generic"))
        # Bad signature.
        r = self.post(payload, sig="sha256=" + "0" * 64)
        self.assertErrorShape(r, 401, "bad_signature")
        # Signed with another secret (a wrong token).
        self.assertErrorShape(self.post(payload, secret="not-the-secret"), 401, "bad_signature")
        # Stale and future timestamps (window five minutes).
        self.assertErrorShape(self.post(payload, ts=str(int(time.time()) - 301)), 401,
                              "stale_timestamp")
        self.assertErrorShape(self.post(payload, ts=str(int(time.time()) + 400)), 401,
                              "stale_timestamp")
        # Missing signature headers.
        r = self.stack.request("POST", "/hook/generic", body=body,
                               headers={"Content-Type": "application/json"})
        self.assertErrorShape(r, 401, "bad_signature")
        # Oversized (over [chat] max_body = 8k) even when signed.
        big = {"user": user, "text": "长" * 4000, "id": "big"}
        self.assertErrorShape(self.post(big), 413, "too_large")
        # Signed but malformed.
        self.assertErrorShape(self.post(None, raw=b"{not json"), 400, "bad_request")
        self.assertErrorShape(self.post({"text": "no user"}), 400, "bad_request")
        assert_nothing_stored(self, self.stack, "generic", user)
        self.assertEqual(len(dedup_keys(self.stack, "generic")), dedup_before)

    def test_replayed_message_is_ignored(self):
        user = "g-replay-" + uuid.uuid4().hex[:8]
        payload = {"user": user, "text": "2", "id": "msg-replay-1"}
        ts = str(int(time.time()))
        first = self.post(payload, ts=ts)
        self.assertEqual(first.status, 200, first)
        self.assertIn("能否投诉", first.json()["replies"][0])
        v = self.stack.redis_command("HGET", PREFIX + "chat:generic:" + user, "v")
        # The same message again (a retry), and the very same request.
        again = self.post(payload)
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.json(), {"replies": []})
        same = self.post(payload, ts=ts)
        self.assertEqual(same.json(), {"replies": []})
        self.assertEqual(self.stack.redis_command("HGET", PREFIX + "chat:generic:" + user, "v"), v)
        # Without an id, the signature identifies a replayed request.
        p2 = {"user": user, "text": "1"}
        r1 = self.post(p2, ts=ts)
        self.assertIn("企业规模", r1.json()["replies"][0])
        self.assertEqual(self.post(p2, ts=ts).json(), {"replies": []})
        self.assertEqual(dedup_keys(self.stack, "generic") != [], True)
        ttl = self.stack.redis_command("TTL", PREFIX + "dedup:generic:msg-replay-1")
        self.assertGreater(ttl, 86000)

    def test_media_and_long_text(self):
        user = "g-media-" + uuid.uuid4().hex[:8]
        r = self.post({"user": user, "type": "image", "id": uuid.uuid4().hex})
        self.assertEqual(r.status, 200, r)
        self.assertIn("只能处理文字消息", r.json()["replies"][0])
        r = self.post({"user": user, "text": "字" * 2500, "id": uuid.uuid4().hex})
        self.assertEqual(r.status, 200, r)
        self.assertIn("每条消息最多 4096 字节", r.json()["replies"][0])
        # A NUL inside the JSON is refused by the parser: a malformed body.
        r = self.post({"user": user, "text": "a\u0000b", "id": uuid.uuid4().hex})
        self.assertErrorShape(r, 400, "bad_request")

    def test_handoff_to_the_web_form(self):
        user = "g-web-" + uuid.uuid4().hex[:8]
        send = self.sender(user)
        for text in ("投诉", "1", "小型企业", "1", "没有", "成都示例科技有限公司"):
            send(text)
        out = send("网页填写")
        self.assertIn("https://zhuqi.example.gov.cn/form.html?form=complaint#handoff=", out)
        token = out.split("#handoff=")[1].split()[0].strip()
        self.assertRegex(token, r"^[0-9a-f]{64}$")
        h = {"Content-Type": "application/json"}
        r = self.stack.request("POST", "/api/intake/complaint/handoff",
                               body=json.dumps({"token": token}), headers=h)
        self.assertEqual(r.status, 201, r)
        draft = r.json()
        self.assertEqual(draft["answers"]["company_name"], "成都示例科技有限公司")
        self.assertEqual(draft["step"], "complainant")
        self.assertEqual(draft["done"], ["eligibility"])
        cookie = r.header("Set-Cookie").split(";", 1)[0]
        self.assertTrue(cookie.startswith("zq_sid="))
        # The web session now holds the draft.
        r2 = self.stack.request("GET", "/api/intake/complaint", headers={"Cookie": cookie})
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual(r2.json()["answers"]["company_name"], "成都示例科技有限公司")
        self.assertEqual(r2.json()["csrf"], draft["csrf"])
        # Single use; another form; no token.
        self.assertErrorShape(self.stack.request("POST", "/api/intake/complaint/handoff",
                                                 body=json.dumps({"token": token}), headers=h),
                              410, "handoff_expired")
        self.assertErrorShape(self.stack.request("POST", "/api/intake/nope/handoff",
                                                 body=json.dumps({"token": token}), headers=h),
                              404, "unknown_form")
        self.assertErrorShape(self.stack.request("POST", "/api/intake/complaint/handoff",
                                                 body="{}", headers=h), 400, "bad_request")


class HooksNotConfigured(StackCase, unittest.TestCase):
    STACK_ARGS = {}

    def test_every_hook_is_404(self):
        for path in ("/hook/wecom", "/hook/dingtalk", "/hook/feishu", "/hook/telegram",
                     "/hook/generic"):
            r = self.stack.request("POST", path, body=b"{}",
                                   headers={"Content-Type": "application/json"})
            self.assertErrorShape(r, 404, "not_found")
        self.assertErrorShape(self.stack.get("/hook/wecom?echostr=x"), 404, "not_found")
        self.assertEqual(self.stack.redis_command("DBSIZE"), 0)


def chat_target(stack, user):
    """The subscription target of a generic chat user: its hash, or {}."""
    tid = "chat-generic-" + hashlib.sha1(("generic:" + user).encode()).hexdigest()[:16]
    rows = stack.redis_command("HGETALL", PREFIX + "target:" + tid) or []
    return dict(rows) if isinstance(rows, dict) else dict(zip(rows[0::2], rows[1::2]))


class GenericSubscribeRefused(StackCase, unittest.TestCase):
    """Without [generic] push_url, 订阅 is refused politely and stores no
    target."""

    STACK_ARGS = {"ini": {"generic": {"secret": SECRET}}}

    def test_subscribe_is_refused(self):
        user = "g-nosub-" + uuid.uuid4().hex[:8]
        body = json.dumps({"user": user, "text": "订阅 成都", "id": uuid.uuid4().hex},
                          ensure_ascii=False).encode()
        ts = str(int(time.time()))
        r = self.stack.request("POST", "/hook/generic", body=body,
                               headers={"Content-Type": "application/json",
                                        "X-Zhuqi-Timestamp": ts,
                                        "X-Zhuqi-Signature": generic_sign(SECRET, ts, body)})
        self.assertEqual(r.status, 200, r)
        self.assertIn("暂时不能推送提醒", "".join(r.json()["replies"]))
        self.assertEqual(chat_target(self.stack, user), {})


PUSH_NAME = "generic-subscribers"


class GenericSubscribe(StackCase, unittest.TestCase):
    """With [generic] push_url, 订阅 成都 on the generic channel creates a
    generic push target at that URL for the chat, signed with [generic]
    secret: a notice to 成都 reaches the fake platform (which checks
    X-Zhuqi-Signature with Python's hmac) with the chat's id in "chat";
    after 退订 the next notice does not."""

    STACK_ARGS = {"bot": True, "fake": True, "app_max_body": "256k",
                  "ini": {"generic": {"secret": SECRET},
                          "bot": {"retry_base_ms": 200, "retry_max_ms": 1000}}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        st = cls.stack
        # The fake's port is known only now: point push_url at it and reload.
        st.fake.add_target("generic", PUSH_NAME, secret=SECRET)
        mark = len(st.fcgi_log())
        st.ini["generic"]["push_url"] = st.fake.generic_url(PUSH_NAME) + "?from=zhuqi"
        write_ini(st.ini_path, st.ini)
        st.signal_fcgi(signal.SIGHUP)
        st.wait_for_log("fcgi", r"event=reload ok=1", timeout=15, since=mark)

    def say(self, user, chat, text):
        body = json.dumps({"user": user, "chat": chat, "text": text, "id": uuid.uuid4().hex},
                          ensure_ascii=False).encode()
        ts = str(int(time.time()))
        r = self.stack.request("POST", "/hook/generic", body=body,
                               headers={"Content-Type": "application/json",
                                        "X-Zhuqi-Timestamp": ts,
                                        "X-Zhuqi-Signature": generic_sign(SECRET, ts, body)})
        self.assertEqual(r.status, 200, r)
        return "\n\n".join(r.json()["replies"])

    def test_subscribe_notice_unsubscribe(self):
        st, fake = self.stack, self.stack.fake
        user, chat = "g-sub-" + uuid.uuid4().hex[:8], "room-" + uuid.uuid4().hex[:8]
        self.assertIn("订阅成功", self.say(user, chat, "订阅 成都"))
        t = chat_target(st, user)
        self.assertEqual(t.get("channel"), "generic", t)
        self.assertEqual(t["address"], fake.generic_url(PUSH_NAME) + "?from=zhuqi")
        self.assertEqual(t["chat_id"], chat)
        self.assertEqual(t["secret"], SECRET)
        for tag in ("tax", "tax_day", "510100", "region:510100"):
            self.assertIn(tag, t["tags"].split(","))
        # A target staff added, so that every notice has one line to wait for.
        control = "ctl-" + uuid.uuid4().hex[:8]
        add_target(st, id=control, channel="generic", address=fake.generic_url(control),
                   tags=["510100"])

        since = (fake.messages() or [{"id": 0}])[-1]["id"]
        nid = notice(st, "成都市服务通知", "**创客中国**报名开始", {"tags": ["510100"]})
        rep = wait_report(st, nid, all_final(2))
        self.assertEqual(rep["totals"]["sent"], 2, rep)
        (m,) = fake.messages(platform="generic", target=PUSH_NAME, since=since)
        self.assertTrue(m["accepted"], m)  # the fake checked the signature
        self.assertEqual(m["json"]["chat"], chat)
        self.assertEqual(m["json"]["title"], "成都市服务通知")
        self.assertIn("创客中国", m["json"]["markdown"])
        self.assertTrue(m["headers"].get("x-zhuqi-signature", "").startswith("sha256="), m)
        # The staff's own generic target has no chat.
        (c,) = fake.messages(platform="generic", target=control, since=since)
        self.assertNotIn("chat", c["json"])
        # The secret never reaches a log.
        self.assertNotIn(SECRET, st.fcgi_log())
        self.assertNotIn(SECRET, st.bot_log())

        self.assertIn("已退订", self.say(user, chat, "退订"))
        self.assertEqual(chat_target(st, user), {})
        since = fake.messages()[-1]["id"]
        nid = notice(st, "第二条通知", "退订之后", {"tags": ["510100"]})
        rep = wait_report(st, nid, all_final(1))
        self.assertEqual([line["target"] for line in rep["targets"]], [control], rep)
        self.assertEqual(fake.messages(platform="generic", target=PUSH_NAME, since=since), [])


if __name__ == "__main__":
    unittest.main()

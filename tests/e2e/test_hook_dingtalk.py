"""The DingTalk (钉钉) robot callback through nginx, signed here with
Python's hmac: a conversation that files a complaint (and one a
consultation), every reply found as an entry of the bot's priority lane
(outbox:prio) addressed to the message's session webhook; the rejections
(bad sign, stale timestamp, wrong app secret, oversized body, a session
webhook elsewhere) and a replayed msgId, with nothing stored. Delivery of
the lane's entries is zhuqi-bot's test."""

import json
import time
import unittest
import uuid

from chatsign import (PREFIX, assert_nothing_stored, case_source, dedup_keys, dingtalk_sign,
                      file_case, last_outbox_id, outbox_entries)
from harness import StackCase

SECRET = "e2eDingTalkAppSecret"
BASE = "http://127.0.0.1:9/dingtalk"  # the fake platform's address in tests


class DingTalkHook(StackCase, unittest.TestCase):
    STACK_ARGS = {
        "app_max_body": "256k",
        "ini": {"dingtalk": {"app_secret": SECRET}, "chat": {"max_body": "16k"},
                "channels": {"dingtalk_base_url": BASE}},
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.schemas = {f: cls.stack.get("/api/forms/" + f).json() for f in ("consult", "complaint")}

    def body(self, user, text, msgid=None, hook=None, expires=None, msgtype="text"):
        b = {"msgtype": msgtype, "msgId": msgid or "msg" + uuid.uuid4().hex,
             "createAt": int(time.time() * 1000), "conversationType": "1",
             "conversationId": "cid-" + user, "senderStaffId": user, "senderNick": "张三",
             "sessionWebhook": hook or BASE + "/session/" + user,
             "sessionWebhookExpiredTime": expires or int(time.time() * 1000) + 5400000}
        if msgtype == "text":
            b["text"] = {"content": text}
        return json.dumps(b, ensure_ascii=False).encode()

    def post(self, body, ts=None, secret=SECRET, sign=None):
        ts = ts or str(int(time.time() * 1000))
        return self.stack.request("POST", "/hook/dingtalk", body=body,
                                  headers={"Content-Type": "application/json; charset=utf-8",
                                           "timestamp": ts, "sign": sign or dingtalk_sign(secret, ts)})

    def replies_since(self, mark, user):
        out = []
        for _, f in outbox_entries(self.stack, mark):
            self.assertEqual(f["kind"], "reply")
            self.assertEqual(f["channel"], "dingtalk")
            self.assertEqual(f["url"], BASE + "/session/" + user)
            self.assertGreater(int(f["expires_ms"]), int(time.time() * 1000))
            self.assertIn("Content-Type: application/json", f["headers"])
            b = json.loads(f["body"])
            self.assertEqual(b["msgtype"], "text")
            self.assertLessEqual(len(b["text"]["content"].encode()), 20000)
            out.append(b["text"]["content"])
        return out

    def sender(self, user):
        def send(text):
            mark = last_outbox_id(self.stack)
            r = self.post(self.body(user, text))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json(), {})
            got = self.replies_since(mark, user)
            self.assertTrue(got, "no reply queued for %r" % text)
            return "\n\n".join(got)
        return send

    def test_files_a_complaint(self):
        user = "staff" + uuid.uuid4().hex[:8]
        case = file_case(self, self.sender(user), self.schemas["complaint"], start="投诉")
        self.assertRegex(case, r"^TS\d{8}-\d{4,}$")
        self.assertEqual(case_source(self.stack, case), "chat:dingtalk:" + user)

    def test_files_a_consultation(self):
        user = "staff" + uuid.uuid4().hex[:8]
        case = file_case(self, self.sender(user), self.schemas["consult"], start="1")
        self.assertEqual(case_source(self.stack, case), "chat:dingtalk:" + user)

    def test_picture_gets_a_polite_answer(self):
        user = "staff" + uuid.uuid4().hex[:8]
        mark = last_outbox_id(self.stack)
        r = self.post(self.body(user, None, msgtype="picture"))
        self.assertEqual(r.status, 200, r)
        self.assertIn("只能处理文字消息", self.replies_since(mark, user)[0])

    def test_rejections_store_nothing(self):
        user = "staff-bad-" + uuid.uuid4().hex[:8]
        mark = last_outbox_id(self.stack)
        dedup_before = len(dedup_keys(self.stack, "dingtalk"))
        body = self.body(user, "投诉")
        now = int(time.time() * 1000)
        self.assertErrorShape(self.post(body, sign="AAAA" + dingtalk_sign(SECRET, str(now))[4:]),
                              401, "bad_signature")
        self.assertErrorShape(self.post(body, secret="wrong-secret"), 401, "bad_signature")
        self.assertErrorShape(self.post(body, ts=str(now - 3601 * 1000)), 401, "stale_timestamp")
        self.assertErrorShape(self.post(body, ts=str(now + 3601 * 1000)), 401, "stale_timestamp")
        r = self.stack.request("POST", "/hook/dingtalk", body=body,
                               headers={"Content-Type": "application/json"})
        self.assertErrorShape(r, 401, "bad_signature")
        big = self.body(user, "长" * 6000)
        self.assertErrorShape(self.post(big), 413, "too_large")
        evil = self.body(user, "投诉", hook="https://attacker.example.com/x")
        self.assertErrorShape(self.post(evil), 400, "bad_message")
        assert_nothing_stored(self, self.stack, "dingtalk", user, outbox_before=mark)
        self.assertEqual(len(dedup_keys(self.stack, "dingtalk")), dedup_before)

    def test_replayed_msgid_is_ignored(self):
        user = "staff-replay-" + uuid.uuid4().hex[:8]
        body = self.body(user, "投诉", msgid="msgREPLAY1")
        mark = last_outbox_id(self.stack)
        self.assertEqual(self.post(body).status, 200)
        self.assertEqual(len(self.replies_since(mark, user)), 1)
        mark = last_outbox_id(self.stack)
        v = self.stack.redis_command("HGET", PREFIX + "chat:dingtalk:" + user, "v")
        # The same signed request replayed within the hour: 200, no reply.
        r = self.post(body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(last_outbox_id(self.stack), mark)
        self.assertEqual(self.stack.redis_command("HGET", PREFIX + "chat:dingtalk:" + user, "v"), v)

    def test_expired_session_webhook_queues_nothing(self):
        user = "staff-exp-" + uuid.uuid4().hex[:8]
        mark = last_outbox_id(self.stack)
        r = self.post(self.body(user, "你好", expires=int(time.time() * 1000) - 1000))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(last_outbox_id(self.stack), mark)


if __name__ == "__main__":
    unittest.main()

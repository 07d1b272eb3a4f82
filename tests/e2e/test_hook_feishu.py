"""The Feishu (飞书) event subscription through nginx, with events encrypted
and signed here (Python hashlib and the openssl command): the challenge,
plain and encrypted; a conversation that files a complaint (and one a
consultation), every reply found on the bot's priority lane addressed to
the IM reply API and marked for the tenant access token; the rejections
(bad signature, stale timestamp, wrong verification token, a plain event
while an Encrypt Key is set, an oversized body) and a replayed event_id,
with nothing stored."""

import json
import time
import unittest
import uuid

from chatsign import (PREFIX, Feishu, assert_nothing_stored, case_source, dedup_keys, file_case,
                      last_outbox_id, outbox_entries)
from harness import StackCase

TOKEN = "e2eVerificationToken"
KEY = "e2eEncryptKey"
BASE = "http://127.0.0.1:9/feishu"


class FeishuHook(StackCase, unittest.TestCase):
    STACK_ARGS = {
        "app_max_body": "256k",
        "ini": {"feishu": {"verification_token": TOKEN, "encrypt_key": KEY,
                           "app_id": "cli_e2e", "app_secret": "e2e-app-secret"},
                "chat": {"max_body": "16k"}, "channels": {"feishu_base_url": BASE}},
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.f = Feishu(TOKEN, KEY)
        cls.schemas = {f: cls.stack.get("/api/forms/" + f).json() for f in ("consult", "complaint")}

    def post(self, body, headers=None):
        h = headers if headers is not None else self.f.headers(body)
        return self.stack.request("POST", "/hook/feishu", body=body, headers=h)

    def replies_since(self, mark):
        out = []
        for _, e in outbox_entries(self.stack, mark):
            self.assertEqual(e["kind"], "reply")
            self.assertEqual(e["channel"], "feishu")
            self.assertEqual(e["auth"], "feishu_tenant_token")
            self.assertRegex(e["url"], r"^%s/open-apis/im/v1/messages/om_[0-9a-f]+/reply$" % BASE)
            b = json.loads(e["body"])
            self.assertEqual(b["msg_type"], "text")
            out.append(json.loads(b["content"])["text"])  # JSON inside JSON
        return out

    def sender(self, user):
        def send(text):
            mark = last_outbox_id(self.stack)
            r = self.post(self.f.event(user, text))
            self.assertEqual(r.status, 200, r)
            got = self.replies_since(mark)
            self.assertTrue(got, "no reply queued for %r" % text)
            return "\n\n".join(got)
        return send

    def test_challenge(self):
        plain = json.dumps({"challenge": "c-123", "token": TOKEN,
                            "type": "url_verification"}).encode()
        r = self.post(plain, headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"challenge": "c-123"})
        enc = json.dumps({"encrypt": self.f.encrypt(plain)}).encode()
        r = self.post(enc, headers={"Content-Type": "application/json"})
        self.assertEqual(r.json(), {"challenge": "c-123"})
        bad = json.dumps({"challenge": "c", "token": "wrong", "type": "url_verification"})
        self.assertErrorShape(self.post(bad.encode(), headers={}), 401, "bad_token")

    def test_files_a_complaint(self):
        user = "ou_" + uuid.uuid4().hex
        case = file_case(self, self.sender(user), self.schemas["complaint"], start="@_user_1 投诉")
        self.assertRegex(case, r"^TS\d{8}-\d{4,}$")
        self.assertEqual(case_source(self.stack, case), "chat:feishu:" + user)

    def test_files_a_consultation(self):
        user = "ou_" + uuid.uuid4().hex
        case = file_case(self, self.sender(user), self.schemas["consult"], start="咨询")
        self.assertEqual(case_source(self.stack, case), "chat:feishu:" + user)

    def test_image_gets_a_polite_answer(self):
        user = "ou_" + uuid.uuid4().hex
        mark = last_outbox_id(self.stack)
        r = self.post(self.f.event(user, mtype="image"))
        self.assertEqual(r.status, 200, r)
        self.assertIn("只能处理文字消息", self.replies_since(mark)[0])

    def test_rejections_store_nothing(self):
        user = "ou_bad" + uuid.uuid4().hex
        mark = last_outbox_id(self.stack)
        dedup_before = len(dedup_keys(self.stack, "feishu"))
        body = self.f.event(user, "投诉")
        h = self.f.headers(body)
        h["X-Lark-Signature"] = "0" * 64
        self.assertErrorShape(self.post(body, h), 401, "bad_signature")
        self.assertErrorShape(self.post(body, self.f.headers(body, key="other-key")), 401,
                              "bad_signature")
        # Past the 8 hours that cover Feishu's retries (15 s, 5 min, 1 h, 6 h).
        old = str(int(time.time()) - 8 * 3600 - 100)
        self.assertErrorShape(self.post(body, self.f.headers(body, ts=old)), 401,
                              "stale_timestamp")
        # Unsigned: only a URL check may come so; anything else gets the one
        # answer of a body that cannot be read (no decryption oracle).
        self.assertErrorShape(self.post(body, {"Content-Type": "application/json"}), 400,
                              "bad_ciphertext")
        wrong = self.f.event(user, "投诉", token="not-the-token")
        self.assertErrorShape(self.post(wrong), 401, "bad_token")
        plain = json.dumps({"schema": "2.0", "header": {"event_id": "x", "token": TOKEN,
                                                        "event_type": "im.message.receive_v1"},
                            "event": {}}).encode()
        self.assertErrorShape(self.post(plain), 401, "bad_signature")
        big = self.f.event(user, "长" * 6000)
        self.assertErrorShape(self.post(big), 413, "too_large")
        assert_nothing_stored(self, self.stack, "feishu", user, outbox_before=mark)
        self.assertEqual(len(dedup_keys(self.stack, "feishu")), dedup_before)

    def test_replayed_event_is_ignored(self):
        user = "ou_replay" + uuid.uuid4().hex
        body = self.f.event(user, "投诉", event_id="evt-replay-1")
        mark = last_outbox_id(self.stack)
        self.assertEqual(self.post(body).status, 200)
        self.assertEqual(len(self.replies_since(mark)), 1)
        mark = last_outbox_id(self.stack)
        v = self.stack.redis_command("HGET", PREFIX + "chat:feishu:" + user, "v")
        # Feishu retries with the same event_id (and a fresh signature).
        r = self.post(self.f.event(user, "投诉", event_id="evt-replay-1"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(last_outbox_id(self.stack), mark)
        self.assertEqual(self.stack.redis_command("HGET", PREFIX + "chat:feishu:" + user, "v"), v)


if __name__ == "__main__":
    unittest.main()

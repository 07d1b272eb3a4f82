"""The WeCom (企业微信) callback through nginx, against messages encrypted
and signed here with Python and the openssl command: the URL check, a
conversation that files a complaint (and one a consultation) with every
passive reply decrypted and its signature checked, and the rejections
(bad signature, stale timestamp, wrong token, another receiver id, a
DOCTYPE, an oversized body) and a replayed MsgId, with nothing stored."""

import time
import unittest
import urllib.parse
import uuid

from chatsign import (PREFIX, WeCom, assert_nothing_stored, case_source, dedup_keys, file_case)
from harness import StackCase

TOKEN = "e2eWeComToken"
AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP = "wwe2e0123456789ab"


class WeComHook(StackCase, unittest.TestCase):
    STACK_ARGS = {
        "app_max_body": "256k",
        "ini": {"wecom": {"token": TOKEN, "encoding_aes_key": AES, "corp_id": CORP},
                "chat": {"max_body": "16k"}},
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.w = WeCom(TOKEN, AES, CORP)
        cls.schemas = {f: cls.stack.get("/api/forms/" + f).json() for f in ("consult", "complaint")}

    def post(self, body, query):
        return self.stack.request("POST", "/hook/wecom?" + query, body=body.encode(),
                                  headers={"Content-Type": "text/xml"})

    def sender(self, user):
        def send(text):
            enc, body = self.w.message(user, text)
            r = self.post(body, self.w.query(enc))
            self.assertEqual(r.status, 200, r)
            out = self.w.reply_text(r.body.decode())
            self.assertTrue(out)
            self.assertLessEqual(len(out.encode()), 2048)
            return out
        return send

    def test_url_verification(self):
        plain = "2718281828459045"
        echo = self.w.encrypt(plain.encode())
        q = self.w.query(echo, extra="&echostr=" + urllib.parse.quote(echo, safe=""))
        r = self.stack.get("/hook/wecom?" + q)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body.decode(), plain)  # the plaintext alone
        # Wrong token, stale timestamp.
        q = self.w.query(echo, token="wrong", extra="&echostr=" + urllib.parse.quote(echo, safe=""))
        self.assertErrorShape(self.stack.get("/hook/wecom?" + q), 401, "bad_signature")
        q = self.w.query(echo, ts=str(int(time.time()) - 7200),
                         extra="&echostr=" + urllib.parse.quote(echo, safe=""))
        self.assertErrorShape(self.stack.get("/hook/wecom?" + q), 401, "stale_timestamp")

    def test_files_a_complaint(self):
        user = "wx" + uuid.uuid4().hex[:10]
        case = file_case(self, self.sender(user), self.schemas["complaint"], start="投诉")
        self.assertRegex(case, r"^TS\d{8}-\d{4,}$")
        self.assertEqual(case_source(self.stack, case), "chat:wecom:" + user)

    def test_files_a_consultation(self):
        user = "wx" + uuid.uuid4().hex[:10]
        case = file_case(self, self.sender(user), self.schemas["consult"], start="咨询")
        self.assertEqual(case_source(self.stack, case), "chat:wecom:" + user)

    def test_image_gets_a_polite_answer(self):
        user = "wx" + uuid.uuid4().hex[:10]
        enc, body = self.w.message(user, None, msgtype="image")
        r = self.post(body, self.w.query(enc))
        self.assertEqual(r.status, 200, r)
        self.assertIn("只能处理文字消息", self.w.reply_text(r.body.decode()))

    def test_rejections_store_nothing(self):
        user = "wx-bad-" + uuid.uuid4().hex[:8]
        dedup_before = len(dedup_keys(self.stack, "wecom"))
        enc, body = self.w.message(user, "投诉")
        # Bad signature, signed with a wrong token, stale timestamp.
        q = self.w.query(enc).replace("msg_signature=", "msg_signature=0")
        self.assertErrorShape(self.post(body, q), 401, "bad_signature")
        self.assertErrorShape(self.post(body, self.w.query(enc, token="wrong")), 401,
                              "bad_signature")
        self.assertErrorShape(self.post(body, self.w.query(enc, ts=str(int(time.time()) - 4000))),
                              401, "stale_timestamp")
        # Encrypted for another company (receiver id).
        enc2 = self.w.encrypt(b"<xml><FromUserName>x</FromUserName></xml>", receiver="wwother")
        body2 = "<xml><Encrypt><![CDATA[%s]]></Encrypt></xml>" % enc2
        self.assertErrorShape(self.post(body2, self.w.query(enc2)), 401, "bad_receiver")
        # A DOCTYPE (XXE attempt), signed correctly over its Encrypt.
        evil = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                "<xml><Encrypt><![CDATA[%s]]></Encrypt><X>&e;</X></xml>" % enc)
        self.assertErrorShape(self.post(evil, self.w.query(enc)), 400, "bad_xml")
        # Oversized ([chat] max_body = 16k).
        big = body.replace("</xml>", "<Pad>%s</Pad></xml>" % ("x" * 20000))
        self.assertErrorShape(self.post(big, self.w.query(enc)), 413, "too_large")
        assert_nothing_stored(self, self.stack, "wecom", user)
        self.assertEqual(len(dedup_keys(self.stack, "wecom")), dedup_before)

    def test_replayed_msgid_is_ignored(self):
        user = "wx-replay-" + uuid.uuid4().hex[:8]
        enc, body = self.w.message(user, "投诉", msgid="88880000111")
        r = self.post(body, self.w.query(enc))
        self.assertIn("能否投诉", self.w.reply_text(r.body.decode()))
        v = self.stack.redis_command("HGET", PREFIX + "chat:wecom:" + user, "v")
        # WeCom retries the same MsgId: an empty 200, nothing advanced.
        enc, body = self.w.message(user, "投诉", msgid="88880000111")
        r = self.post(body, self.w.query(enc))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"")
        self.assertEqual(self.stack.redis_command("HGET", PREFIX + "chat:wecom:" + user, "v"), v)


if __name__ == "__main__":
    unittest.main()

"""Security findings of issue 12 on the chat webhooks and the log, through
nginx with requests signed here (tests/e2e/chatsign.py):

- log values: a request whose path, headers and body carry '"', '\\' and
  key=value text still gives one log line whose fields parse one way;
- DingTalk signs only the timestamp: a timestamp/sign pair carries one
  msgId, and the window is [dingtalk] sign_window;
- Feishu with an Encrypt Key: X-Lark-Signature is checked before the body
  is decrypted, and every body that cannot be decrypted or read gets the
  same answer (no decryption oracle);
- Telegram and plain Feishu: an update older than [chat] dedup_ttl is not
  taken (its id may be forgotten), and dedup_ttl cannot be set below a
  signature window.
"""

import base64
import hashlib
import json
import os
import re
import tempfile
import time
import unittest
import uuid

from chatsign import (PREFIX, Feishu, aes_cbc, assert_nothing_stored, dedup_keys, dingtalk_sign,
                      last_outbox_id, pkcs7)
from harness import FCGI_BIN, ROOT, StackCase, run_program, write_ini

DT_SECRET = "e2eSecDingTalkSecret"
DT_BASE = "http://127.0.0.1:9/dingtalk"
TG_SECRET = "e2e_Sec-Telegram"
FS_TOKEN = "e2eSecVerificationToken"
FS_KEY = "e2eSecEncryptKey"

# One log field: key=value, the value bare (no space, quote or backslash
# unescaped) or quoted (with \" \\ \n \xNN inside).
FIELD = r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|(?:[^ "\\]|\\x[0-9a-f]{2}|\\n)*)'
LINE = re.compile(r"^\S+ (?:%s)(?: %s)*$" % (FIELD, FIELD))


def unescape(v):
    if v.startswith('"'):
        v = v[1:-1]
    out, i = bytearray(), 0
    b = v.encode()
    while i < len(b):
        if b[i:i + 1] == b"\\":
            c = b[i + 1:i + 2]
            if c == b"x":
                out.append(int(b[i + 2:i + 4], 16))
                i += 4
                continue
            out += {b"n": b"\n"}.get(c, c)
            i += 2
            continue
        out.append(b[i])
        i += 1
    return out.decode()


def fields(line):
    """The fields of a log line as a list of (key, value), or None when
    the line does not parse one way."""
    if not LINE.match(line):
        return None
    return [(k, unescape(v)) for k, v in re.findall(FIELD, line.split(" ", 1)[1])]


def dingtalk_body(user, text, msgid):
    return json.dumps({"msgtype": "text", "msgId": msgid, "text": {"content": text},
                       "conversationType": "1", "conversationId": "cid-" + user,
                       "senderStaffId": user, "senderNick": "张三",
                       "sessionWebhook": DT_BASE + "/session/" + user,
                       "sessionWebhookExpiredTime": int(time.time() * 1000) + 5400000},
                      ensure_ascii=False).encode()


class TestSecurityHooks(StackCase, unittest.TestCase):
    """DingTalk with a 10-minute window, Telegram, and Feishu in plain mode
    (no Encrypt Key) on one stack."""

    STACK_ARGS = {
        "app_max_body": "256k",
        "ini": {"dingtalk": {"app_secret": DT_SECRET, "sign_window": 600},
                "telegram": {"secret_token": TG_SECRET},
                "feishu": {"verification_token": FS_TOKEN, "app_id": "cli_sec",
                           "app_secret": "e2e-sec-secret"},
                "chat": {"max_body": "16k"}, "channels": {"dingtalk_base_url": DT_BASE}},
    }

    def dingtalk(self, body, ts=None, sign=None):
        ts = ts or str(int(time.time() * 1000))
        return self.stack.request("POST", "/hook/dingtalk", body=body,
                                  headers={"Content-Type": "application/json; charset=utf-8",
                                           "timestamp": ts,
                                           "sign": sign or dingtalk_sign(DT_SECRET, ts)})

    def log_lines(self, since, pattern):
        return [ln for ln in self.stack.fcgi_log()[since:].splitlines() if re.search(pattern, ln)]

    # --- 5: log values --------------------------------------------------

    def test_log_values_cannot_forge_fields(self):
        since = len(self.stack.fcgi_log())
        # The path (nginx decodes it), a header and the body.
        self.stack.request("GET", "/api/nope%22%20admin=1%20x=%5C%22%5C")
        self.dingtalk(b"{}", ts='1" admin=1 x=\\" y')
        evil = 'm" admin=1 x=\\" y=\\'
        user = "logu" + uuid.uuid4().hex[:8]
        body = dingtalk_body(user, "你好", evil)
        self.assertEqual(self.dingtalk(body).status, 200)
        self.assertEqual(self.dingtalk(body).status, 200)  # a retry: logged as duplicate
        self.stack.wait_for_log("fcgi", r"event=hook_duplicate", since=since)
        want = [("event=request", "path", '/api/nope" admin=1 x=\\"\\'),
                ("event=hook_rejected channel=dingtalk status=401", "reason",
                 'dingtalk: timestamp 1" admin=1 x=\\" y outside the window'),
                ("event=hook_duplicate", "msg_id", evil)]
        for marker, key, value in want:
            with self.subTest(marker=marker):
                lines = [ln for ln in self.log_lines(since, re.escape(marker))
                         if marker != "event=request" or "nope" in ln]
                self.assertEqual(len(lines), 1, lines)
                f = fields(lines[0])
                self.assertIsNotNone(f, "does not parse one way: " + lines[0])
                keys = [k for k, _ in f]
                self.assertEqual(len(keys), len(set(keys)), lines[0])
                self.assertNotIn("admin", keys, lines[0])
                self.assertEqual(dict(f)[key], value, lines[0])

    # --- 11: DingTalk's timestamp/sign pair ------------------------------

    def test_dingtalk_pair_carries_one_msgid(self):
        a, b = "dta" + uuid.uuid4().hex[:8], "dtb" + uuid.uuid4().hex[:8]
        ts = str(int(time.time() * 1000))
        first = dingtalk_body(a, "投诉", "msg-a-" + uuid.uuid4().hex)
        r = self.dingtalk(first, ts=ts)
        self.assertEqual(r.status, 200, r)
        keys = self.stack.redis_command("KEYS", PREFIX + "sig:dingtalk:*")
        self.assertTrue(keys)
        ttls = [self.stack.redis_command("TTL", k) for k in keys]
        self.assertTrue(all(0 < t <= 601 for t in ttls), ttls)
        mark = last_outbox_id(self.stack)
        since = len(self.stack.fcgi_log())
        # The captured pair with another body and msgId: refused like a bad sign.
        forged = dingtalk_body(b, "咨询", "msg-b-" + uuid.uuid4().hex)
        self.assertErrorShape(self.dingtalk(forged, ts=ts), 401, "bad_signature")
        assert_nothing_stored(self, self.stack, "dingtalk", b, outbox_before=mark)
        self.assertTrue(self.log_lines(since, r"event=hook_rejected channel=dingtalk status=401 "
                                              r'reason="signature already used by another message"'))
        # DingTalk's own retry (same msgId, same pair) is a duplicate as before.
        v = self.stack.redis_command("HGET", PREFIX + "chat:dingtalk:" + a, "v")
        r = self.dingtalk(first, ts=ts)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {})
        self.assertEqual(self.stack.redis_command("HGET", PREFIX + "chat:dingtalk:" + a, "v"), v)
        self.assertEqual(last_outbox_id(self.stack), mark)

    def test_dingtalk_window_is_configurable(self):
        user = "dtw" + uuid.uuid4().hex[:8]
        old = str(int(time.time() * 1000) - 700 * 1000)  # inside an hour, outside 600 s
        self.assertErrorShape(self.dingtalk(dingtalk_body(user, "投诉", "w-" + uuid.uuid4().hex),
                                            ts=old), 401, "stale_timestamp")
        assert_nothing_stored(self, self.stack, "dingtalk", user)
        recent = str(int(time.time() * 1000) - 500 * 1000)
        r = self.dingtalk(dingtalk_body(user, "投诉", "w-" + uuid.uuid4().hex), ts=recent)
        self.assertEqual(r.status, 200, r)

    # --- 13: updates older than the de-dup memory -------------------------

    def telegram(self, chat, date, update_id):
        body = json.dumps({"update_id": update_id, "message": {
            "message_id": update_id, "from": {"id": chat, "is_bot": False},
            "chat": {"id": chat, "type": "private"}, "date": date, "text": "投诉"}}).encode()
        return self.stack.request("POST", "/hook/telegram", body=body,
                                  headers={"Content-Type": "application/json",
                                           "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})

    def test_telegram_update_older_than_dedup_ttl_not_taken(self):
        chat = 880000000 + int.from_bytes(os.urandom(3), "big")
        before = len(dedup_keys(self.stack, "telegram"))
        r = self.telegram(chat, int(time.time()) - 86400 - 120, 990000000 + chat % 1000000)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {})
        assert_nothing_stored(self, self.stack, "telegram", str(chat))
        self.assertEqual(len(dedup_keys(self.stack, "telegram")), before)
        r = self.telegram(chat, int(time.time()) - 60, 991000000 + chat % 1000000)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json().get("method"), "sendMessage")

    def feishu_plain(self, user, created_ms):
        ev = {"schema": "2.0",
              "header": {"event_id": uuid.uuid4().hex, "token": FS_TOKEN,
                         "create_time": str(created_ms), "event_type": "im.message.receive_v1"},
              "event": {"sender": {"sender_id": {"open_id": user}, "sender_type": "user"},
                        "message": {"message_id": "om_" + uuid.uuid4().hex[:16],
                                    "chat_id": "oc_sec0001", "chat_type": "p2p",
                                    "message_type": "text",
                                    "content": json.dumps({"text": "投诉"})}}}
        return self.stack.request("POST", "/hook/feishu", body=json.dumps(ev).encode(),
                                  headers={"Content-Type": "application/json"})

    def test_feishu_plain_event_older_than_dedup_ttl_not_taken(self):
        user = "ou_stale" + uuid.uuid4().hex
        mark = last_outbox_id(self.stack)
        r = self.feishu_plain(user, int(time.time() * 1000) - (86400 + 120) * 1000)
        self.assertEqual(r.status, 200, r)
        assert_nothing_stored(self, self.stack, "feishu", user, outbox_before=mark)
        r = self.feishu_plain(user, int(time.time() * 1000) - 60 * 1000)
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(last_outbox_id(self.stack), mark)


class TestSecurityFeishuEncrypted(StackCase, unittest.TestCase):
    """Feishu with an Encrypt Key: no decryption oracle."""

    STACK_ARGS = {
        "ini": {"feishu": {"verification_token": FS_TOKEN, "encrypt_key": FS_KEY,
                           "app_id": "cli_sec", "app_secret": "e2e-sec-secret"}},
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.f = Feishu(FS_TOKEN, FS_KEY)

    def post(self, body, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return self.stack.request("POST", "/hook/feishu", body=body, headers=h)

    def envelope(self, raw):
        """An encrypt envelope around ciphertext of raw bytes (padded
        here or not)."""
        key = hashlib.sha256(FS_KEY.encode()).digest()
        iv = os.urandom(16)
        return json.dumps({"encrypt": base64.b64encode(iv + aes_cbc(key, iv, raw)).decode()}).encode()

    def test_signature_checked_before_decrypting(self):
        garbage = self.envelope(b"\0" * 32)  # bad padding
        r = self.post(garbage, self.f.headers(garbage, key="not-the-key"))
        self.assertErrorShape(r, 401, "bad_signature")
        r = self.post(garbage, {"X-Lark-Signature": "0" * 64})  # headers incomplete
        self.assertErrorShape(r, 401, "bad_signature")

    def test_undecryptable_bodies_get_one_answer(self):
        event = json.dumps({"schema": "2.0", "header": {
            "event_id": uuid.uuid4().hex, "token": FS_TOKEN, "event_type": "im.message.receive_v1",
            "create_time": str(int(time.time() * 1000))}, "event": {}}).encode()
        bodies = {
            "not base64": b'{"encrypt":"***"}',
            "too short": json.dumps({"encrypt": base64.b64encode(b"short").decode()}).encode(),
            "bad padding": self.envelope(b"\0" * 32),
            "not JSON": self.envelope(pkcs7(b"not json at all", 16)),
            "JSON, not an object": self.envelope(pkcs7(b"[1,2,3]", 16)),
            "an event, unsigned": self.envelope(pkcs7(event, 16)),
            "challenge, wrong token": self.envelope(pkcs7(json.dumps(
                {"challenge": "c", "token": "wrong", "type": "url_verification"}).encode(), 16)),
        }
        answers = {}
        for name, body in bodies.items():
            for signed in (False, True):
                if signed and name in ("an event, unsigned", "challenge, wrong token"):
                    continue
                r = self.post(body, self.f.headers(body) if signed else None)
                answers[(name, signed)] = (r.status, r.body)
        self.assertEqual(len(set(answers.values())), 1, answers)
        status, body = next(iter(answers.values()))
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["error"]["code"], "bad_ciphertext")
        # The URL check still comes unsigned, and signed events still work.
        chal = json.dumps({"challenge": "c-1", "token": FS_TOKEN,
                           "type": "url_verification"}).encode()
        r = self.post(self.envelope(pkcs7(chal, 16)))
        self.assertEqual((r.status, r.json()), (200, {"challenge": "c-1"}))
        ok = self.f.event("ou_sec" + uuid.uuid4().hex, "投诉")
        self.assertEqual(self.post(ok, self.f.headers(ok)).status, 200)


class TestSecurityDedupTtlConfig(unittest.TestCase):
    """[chat] dedup_ttl below a signature window is refused at start."""

    def check(self, sections):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "z.ini")
            base = {"server": {"listen": "unix:%s/fcgi.sock" % d},
                    "redis": {"address": "127.0.0.1:1"},
                    "intake": {"forms_dir": os.path.join(ROOT, "config", "forms"),
                               "regions": os.path.join(ROOT, "config", "regions.json"),
                               "holidays_dir": os.path.join(ROOT, "config", "holidays")}}
            base.update(sections)
            write_ini(path, base)
            return run_program([FCGI_BIN, "--check-config", path])

    def test_dedup_ttl_below_a_signature_window_refused(self):
        p = self.check({"dingtalk": {"app_secret": "x"}, "chat": {"dedup_ttl": 600}})
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("[chat] dedup_ttl: must be at least 3600, the dingtalk webhook's signature "
                      "window", p.stderr)
        p = self.check({"dingtalk": {"app_secret": "x", "sign_window": 300},
                        "chat": {"dedup_ttl": 300}})
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.check({"wecom": {"token": "t", "encoding_aes_key": "a" * 43, "corp_id": "c"},
                        "chat": {"dedup_ttl": 600}})
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("the wecom webhook's signature window", p.stderr)


if __name__ == "__main__":
    unittest.main()

"""What the chat platforms do on their side, written independently of
zhuqi's C code for the end-to-end tests: signatures with hashlib/hmac,
WeCom's and Feishu's AES envelopes with the `openssl enc -nopad` command
(padding by hand), and a driver that answers the dialogue's questions
from the form schemas until a case is filed.

Python 3 standard library and the openssl command only.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET

PREFIX = "zqe2e:"


# --- crypto ---------------------------------------------------------------


def aes_cbc(key, iv, data, decrypt=False):
    argv = ["openssl", "enc", "-aes-256-cbc", "-nopad", "-K", key.hex(), "-iv", iv.hex()]
    if decrypt:
        argv.insert(2, "-d")
    return subprocess.run(argv, input=data, stdout=subprocess.PIPE, check=True).stdout


def pkcs7(data, block):
    k = block - len(data) % block
    return data + bytes([k]) * k


def unpad(data, block):
    k = data[-1]
    assert 1 <= k <= block and data[-k:] == bytes([k]) * k, "bad padding"
    return data[:-k]


class WeCom:
    def __init__(self, token, aes43, corp):
        self.token, self.aes43, self.corp = token, aes43, corp
        self.key = base64.b64decode(aes43 + "=")

    def encrypt(self, msg, receiver=None):
        raw = os.urandom(16) + len(msg).to_bytes(4, "big") + msg + (receiver or self.corp).encode()
        return base64.b64encode(aes_cbc(self.key, self.key[:16], pkcs7(raw, 32))).decode()

    def decrypt(self, b64):
        raw = unpad(aes_cbc(self.key, self.key[:16], base64.b64decode(b64), decrypt=True), 32)
        n = int.from_bytes(raw[16:20], "big")
        assert raw[20 + n:].decode() == self.corp, "receiver id"
        return raw[20:20 + n]

    def sign(self, ts, nonce, enc, token=None):
        return hashlib.sha1("".join(sorted([token or self.token, ts, nonce, enc])).encode()).hexdigest()

    def query(self, enc, ts=None, token=None, extra=""):
        ts = ts or str(int(time.time()))
        nonce = str(int.from_bytes(os.urandom(4), "big"))
        return "msg_signature=%s&timestamp=%s&nonce=%s%s" % (
            self.sign(ts, nonce, enc, token), ts, nonce, extra)

    def message(self, user, text=None, msgtype="text", msgid=None):
        inner = ("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]>"
                 "</FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[%s]]></MsgType>"
                 "%s<MsgId>%s</MsgId><AgentID>1000002</AgentID></xml>"
                 % (self.corp, user, int(time.time()), msgtype,
                    "<Content><![CDATA[%s]]></Content>" % text if text is not None else
                    "<PicUrl><![CDATA[http://example.invalid/1.jpg]]></PicUrl>",
                    msgid or str(int.from_bytes(os.urandom(7), "big"))))
        enc = self.encrypt(inner.encode())
        body = ("<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[1000002]]>"
                "</AgentID><Encrypt><![CDATA[%s]]></Encrypt></xml>" % (self.corp, enc))
        return enc, body

    def reply_text(self, body):
        """Checks a passive reply's signature and returns its Content."""
        if not body:
            return ""
        root = ET.fromstring(body)
        enc = root.findtext("Encrypt")
        sig = self.sign(root.findtext("TimeStamp"), root.findtext("Nonce"), enc)
        assert sig == root.findtext("MsgSignature"), "reply signature"
        inner = ET.fromstring(self.decrypt(enc).decode())
        assert inner.findtext("MsgType") == "text"
        return inner.findtext("Content")


class Feishu:
    def __init__(self, token, encrypt_key):
        self.token, self.encrypt_key = token, encrypt_key

    def encrypt(self, plain):
        key = hashlib.sha256(self.encrypt_key.encode()).digest()
        iv = os.urandom(16)
        return base64.b64encode(iv + aes_cbc(key, iv, pkcs7(plain, 16))).decode()

    def headers(self, body, ts=None, key=None):
        ts = ts or str(int(time.time()))
        nonce = os.urandom(6).hex()
        sig = hashlib.sha256((ts + nonce + (key or self.encrypt_key)).encode() + body).hexdigest()
        return {"Content-Type": "application/json; charset=utf-8",
                "X-Lark-Request-Timestamp": ts, "X-Lark-Request-Nonce": nonce,
                "X-Lark-Signature": sig}

    def event(self, user, text=None, event_id=None, token=None, chat="oc_e2echat0001",
              mtype="text", chat_type="p2p", app_id="cli_e2e"):
        ev = {"schema": "2.0",
              "header": {"event_id": event_id or os.urandom(16).hex(),
                         "token": token or self.token, "create_time": str(int(time.time() * 1000)),
                         "event_type": "im.message.receive_v1", "tenant_key": "t1",
                         "app_id": app_id},
              "event": {"sender": {"sender_id": {"open_id": user}, "sender_type": "user"},
                        "message": {"message_id": "om_" + os.urandom(8).hex(), "chat_id": chat,
                                    "chat_type": chat_type, "message_type": mtype,
                                    "content": json.dumps({"text": text}, ensure_ascii=False)
                                    if mtype == "text" else json.dumps({"image_key": "img"})}}}
        plain = json.dumps(ev, ensure_ascii=False).encode()
        return json.dumps({"encrypt": self.encrypt(plain)}).encode()


def dingtalk_sign(secret, ts):
    mac = hmac.new(secret.encode(), ("%s\n%s" % (ts, secret)).encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def generic_sign(secret, ts, body):
    return "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body,
                                hashlib.sha256).hexdigest()


# --- the outbox lane ---------------------------------------------------------


def outbox_entries(stack, after="-"):
    """Entries of outbox:prio after the id `after` as (id, {field: value})."""
    start = "(" + after if after != "-" else "-"
    rows = stack.redis_command("XRANGE", PREFIX + "outbox:prio", start, "+")
    out = []
    for eid, fields in rows or []:
        out.append((eid, dict(zip(fields[0::2], fields[1::2]))))
    return out


def last_outbox_id(stack):
    rows = stack.redis_command("XREVRANGE", PREFIX + "outbox:prio", "+", "-", "COUNT", "1")
    return rows[0][0] if rows else "-"


# --- answering the dialogue --------------------------------------------------

SAMPLES = {
    "payer_type": "1",
    "size_at_signing": "小型企业",
    "overdue": "1",
    "proceedings": "没有",
    "legal_rep": "跳过",
    "respondent_contact": "跳过",
    "respondent_phone": "跳过",
    "respondent_address": "跳过",
    "contract_amount_fen": "150000",
    "paid_fen": "0",
    "issue_types": "1",
    "company_name": "成都示例科技有限公司",
    "size": "小型",
    "region": "成都",
    "address": "成都市高新区天府大道 100 号",
    "contact_name": "张三",
    "mobile": "138 1234 5678",
    "respondent_name": "某市某局",
    "respondent_type": "1",
    "respondent_uscc": "跳过",
    "respondent_region": "重庆",
    "contract_name": "办公设备采购合同",
    "contract_no": "HT-2026-001",
    "signing_date": "2026-01-05",
    "supply_type": "货物",
    "delivery_date": "2026-02-01",
    "acceptance_based": "否",
    "payment_term": "1",
    "amount_fen": "123,456.78",
    "undisputed_fen": "跳过",
    "due_date": "2026-03-03",
    "facts": "我公司于 2026 年 1 月签订合同并按期交付全部设备，对方至今未付款，多次催款无果。",
    "demand": "请求督促对方支付欠款及逾期利息。",
    "evidence": "合同、送货单、发票",
    "no_other_proceedings": "同意",
    "facts_true": "同意",
    "consent": "同意",
    "topic": "1",
    "question": "请问小规模纳税人增值税减免政策如何申请？",
    "preferred_time": "1",
}

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(body17):
    total = sum(ALPHABET.index(c) * w for c, w in zip(body17, WEIGHTS))
    return body17 + ALPHABET[(31 - total % 31) % 31]


SAMPLES["uscc"] = uscc("91510100MA61R7XQ3")


def question_of(schema, reply):
    """The field the reply asks: its "请填写：X" / "请选择：X" line, or a
    bool's label alone on a line."""
    lines = reply.split("\n")
    found = None
    for step in schema["steps"]:
        for f in step.get("fields", []):
            opt = "" if f["required"] else "（选填）"
            if f["type"] in ("enum", "region"):
                want = "请选择：" + f["label"] + opt
            elif f["type"] == "bool":
                want = f["label"] + opt
            else:
                want = "请填写：" + f["label"] + opt
            if want in lines:
                found = f
    return found


CASE_RE = re.compile(r"编号是：((TS|ZX)\d{8}-\d{4,})")


def file_case(test, send, schema, start="2", limit=60):
    """Drives a conversation: send(text) -> reply text. Returns the case id."""
    reply = send(start)
    for _ in range(limit):
        if "请核对" in reply:
            break
        f = question_of(schema, reply)
        test.assertIsNotNone(f, "no question found in reply:\n" + reply)
        reply = send(SAMPLES[f["id"]])
    test.assertIn("请核对", reply)
    test.assertIn("138****5678", reply)
    reply = send("确认")
    m = CASE_RE.search(reply)
    test.assertIsNotNone(m, "no case number in:\n" + reply)
    return m.group(1)


def assert_nothing_stored(test, stack, channel, user, outbox_before=None):
    """No chat state, no de-duplication mark for that user, no new outbox
    entry, no case from it."""
    test.assertEqual(stack.redis_command("EXISTS", PREFIX + "chat:%s:%s" % (channel, user)), 0)
    test.assertEqual(stack.redis_command("KEYS", PREFIX + "chat:%s:%s*" % (channel, user)), [])
    if outbox_before is not None:
        test.assertEqual(last_outbox_id(stack), outbox_before)


def dedup_keys(stack, channel):
    return stack.redis_command("KEYS", PREFIX + "dedup:%s:*" % channel) or []


def case_source(stack, case_id):
    return stack.redis_command("HGET", PREFIX + "case:" + case_id, "source")

#!/usr/bin/env python3
"""Generates tests/data/inbound/vectors.json: signatures and ciphertexts of
the chat platforms made independently of zhuqi's C code, with Python's
hashlib/hmac/base64 and the `openssl enc -aes-256-cbc -nopad` command (the
padding is done here, by hand, as each platform specifies it).

    python3 tests/data/inbound/gen_vectors.py > tests/data/inbound/vectors.json

Deterministic: the "random" bytes are fixed, so the output only changes
when this script does. tests/unit/test_inbound.c reads the file;
tests/e2e/chatsign.py does the same work at run time for the e2e tests.
"""

import base64
import hashlib
import hmac
import json
import subprocess
import sys


def aes_cbc(key, iv, data, decrypt=False):
    assert len(data) % 16 == 0
    argv = ["openssl", "enc", "-aes-256-cbc", "-nopad", "-K", key.hex(), "-iv", iv.hex()]
    if decrypt:
        argv.insert(2, "-d")
    out = subprocess.run(argv, input=data, stdout=subprocess.PIPE, check=True).stdout
    assert len(out) == len(data)
    return out


def pkcs7(data, block):
    k = block - len(data) % block
    return data + bytes([k]) * k


# --- WeCom ---------------------------------------------------------------

WECOM_TOKEN = "QDG6eK7vHw"
WECOM_AES = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"  # 43 characters
WECOM_CORP = "ww1234567890abcdef"


def wecom_key(aes43):
    return base64.b64decode(aes43 + "=")


def wecom_encrypt(msg, receiver, rnd16, aes43=WECOM_AES, pad_override=None):
    key = wecom_key(aes43)
    raw = rnd16 + len(msg).to_bytes(4, "big") + msg + receiver.encode()
    padded = pkcs7(raw, 32) if pad_override is None else pad_override(raw)
    return base64.b64encode(aes_cbc(key, key[:16], padded)).decode()


def wecom_sig(token, ts, nonce, enc):
    return hashlib.sha1("".join(sorted([token, ts, nonce, enc])).encode()).hexdigest()


def wecom_inner(user, msgtype, extra, msgid="7330000000000000001", ts="1764115200"):
    return ("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]>"
            "</FromUserName><CreateTime>%s</CreateTime><MsgType><![CDATA[%s]]></MsgType>%s"
            "%s<AgentID>1000002</AgentID></xml>"
            % (WECOM_CORP, user, ts, msgtype, extra,
               "<MsgId>%s</MsgId>" % msgid if msgid else "")).encode()


def wecom_outer(enc):
    return ("<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[1000002]]>"
            "</AgentID><Encrypt><![CDATA[%s]]></Encrypt></xml>" % (WECOM_CORP, enc))


def wecom():
    ts, nonce = "1764115200", "1372623149"
    rnd = bytes(range(16))
    out = {"token": WECOM_TOKEN, "encoding_aes_key": WECOM_AES, "corp_id": WECOM_CORP,
           "timestamp": ts, "nonce": nonce}
    echo_plain = "4617289314526178011"
    echostr = wecom_encrypt(echo_plain.encode(), WECOM_CORP, rnd)
    out["verify"] = {"echostr": echostr, "msg_signature": wecom_sig(WECOM_TOKEN, ts, nonce, echostr),
                     "plaintext": echo_plain}
    msgs = []
    cases = [
        ("text", "zhangsan", "text", "<Content><![CDATA[你好，我要投诉]]></Content>",
         {"kind": "text", "user": "zhangsan", "msg_id": "7330000000000000001",
          "text": "你好，我要投诉"}),
        ("cdata_split", "li.si", "text",
         "<Content><![CDATA[a]]]]><![CDATA[>b &amp; <c>]]></Content>",
         {"kind": "text", "user": "li.si", "msg_id": "7330000000000000001",
          "text": "a]]>b &amp; <c>"}),
        ("image", "zhangsan", "image", "<PicUrl><![CDATA[http://x/1.jpg]]></PicUrl>",
         {"kind": "other", "user": "zhangsan", "msg_id": "7330000000000000001"}),
    ]
    for name, user, mtype, extra, expect in cases:
        inner = wecom_inner(user, mtype, extra)
        enc = wecom_encrypt(inner, WECOM_CORP, rnd)
        msgs.append({"name": name, "msg_signature": wecom_sig(WECOM_TOKEN, ts, nonce, enc),
                     "body": wecom_outer(enc), "expect": expect})
    inner = wecom_inner("zhangsan", "event", "<Event><![CDATA[subscribe]]></Event>", msgid=None)
    enc = wecom_encrypt(inner, WECOM_CORP, rnd)
    msgs.append({"name": "subscribe", "msg_signature": wecom_sig(WECOM_TOKEN, ts, nonce, enc),
                 "body": wecom_outer(enc),
                 "expect": {"kind": "text", "user": "zhangsan", "text": "菜单"}})
    out["messages"] = msgs
    # Known-answer encryption: zq_chatcrypt_wecom_encrypt with these 16
    # bytes must give exactly this.
    plain = "<xml><Content><![CDATA[回复]]></Content></xml>"
    out["encrypt"] = {"random16_hex": rnd.hex(), "msg": plain,
                      "ciphertext": wecom_encrypt(plain.encode(), WECOM_CORP, rnd)}
    aligned = "x" * (64 - 20 - len(WECOM_CORP))  # a whole block of padding
    out["encrypt_aligned"] = {"random16_hex": rnd.hex(), "msg": aligned,
                              "ciphertext": wecom_encrypt(aligned.encode(), WECOM_CORP, rnd)}
    bad = []
    bad.append({"name": "other_receiver", "error": "auth",
                "ciphertext": wecom_encrypt(b"hello", "wwSOMEONEELSE", rnd)})
    bad.append({"name": "pad_zero", "error": "invalid",
                "ciphertext": wecom_encrypt(b"hello", WECOM_CORP, rnd,
                                            pad_override=lambda r: r + b"\0" * (32 - len(r) % 32))})
    bad.append({"name": "pad_33", "error": "invalid",
                "ciphertext": wecom_encrypt(b"hello", WECOM_CORP, rnd,
                                            pad_override=lambda r: r + bytes([33]) * (64 - len(r) % 32))})
    bad.append({"name": "pad_mixed", "error": "invalid",
                "ciphertext": wecom_encrypt(b"hello", WECOM_CORP, rnd,
                                            pad_override=lambda r: r + b"\x06" * (32 - len(r) % 32 - 6) + bytes([5, 6, 6, 6, 6, 6]))})
    key = wecom_key(WECOM_AES)
    raw = rnd + (1000).to_bytes(4, "big") + b"hello" + WECOM_CORP.encode()
    bad.append({"name": "length_too_big", "error": "invalid",
                "ciphertext": base64.b64encode(aes_cbc(key, key[:16], pkcs7(raw, 32))).decode()})
    bad.append({"name": "not_blocks", "error": "invalid",
                "ciphertext": base64.b64encode(b"0123456789abcdef").decode()})
    bad.append({"name": "not_base64", "error": "invalid", "ciphertext": "!!!!"})
    out["bad"] = bad
    doctype = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
               "<xml><Encrypt>&x;</Encrypt></xml>")
    out["doctype_body"] = doctype
    return out


# --- Feishu --------------------------------------------------------------

FEISHU_KEY = "kudryavka"
FEISHU_TOKEN = "v3rif1cat10nT0ken"


def feishu_encrypt(plain, iv, key=FEISHU_KEY):
    k = hashlib.sha256(key.encode()).digest()
    return base64.b64encode(iv + aes_cbc(k, iv, pkcs7(plain, 16))).decode()


def feishu_sig(ts, nonce, key, body):
    return hashlib.sha256((ts + nonce + key).encode() + body).hexdigest()


def feishu_event(text, event_id="5e3702a84e847582be8db7fb73283c02", mtype="text"):
    content = json.dumps({"text": text}, ensure_ascii=False) if mtype == "text" else \
        json.dumps({"image_key": "img_v2_xxx"})
    return {
        "schema": "2.0",
        "header": {"event_id": event_id, "token": FEISHU_TOKEN, "create_time": "1764115200000",
                   "event_type": "im.message.receive_v1", "tenant_key": "736588c9260f175d",
                   "app_id": "cli_a1b2c3d4e5f6"},
        "event": {
            "sender": {"sender_id": {"open_id": "ou_84aad35d084aa403a838cf73ee18467",
                                     "user_id": "e33ggbyz", "union_id": "on_8ed6aa67826108097d9ee143816345"},
                       "sender_type": "user", "tenant_key": "736588c9260f175d"},
            "message": {"message_id": "om_5ce6d572455d361153b7cb51da133945",
                        "create_time": "1764115200000", "chat_id": "oc_5ce6d572455d361153b7xx51da133945",
                        "chat_type": "group", "message_type": mtype, "content": content,
                        "mentions": [{"key": "@_user_1", "name": "助企"}]}},
    }


def feishu():
    iv = bytes(range(100, 116))
    ts, nonce = "1764115200", "a7b3c9d1"
    out = {"encrypt_key": FEISHU_KEY, "verification_token": FEISHU_TOKEN, "timestamp": ts,
           "nonce": nonce}
    plain = json.dumps(feishu_event("@_user_1 投诉"), ensure_ascii=False).encode()
    enc = feishu_encrypt(plain, iv)
    body = json.dumps({"encrypt": enc}).encode()
    out["decrypt"] = {"encrypt": enc, "plaintext": plain.decode()}
    out["event"] = {"body": body.decode(), "signature": feishu_sig(ts, nonce, FEISHU_KEY, body),
                    "expect": {"kind": "text", "user": "ou_84aad35d084aa403a838cf73ee18467",
                               "chat": "oc_5ce6d572455d361153b7xx51da133945",
                               "msg_id": "5e3702a84e847582be8db7fb73283c02",
                               "reply_to": "om_5ce6d572455d361153b7cb51da133945",
                               "text": " 投诉"}}
    plain2 = json.dumps(feishu_event("", event_id="img-event-1", mtype="image")).encode()
    enc2 = feishu_encrypt(plain2, iv)
    body2 = json.dumps({"encrypt": enc2}).encode()
    out["image_event"] = {"body": body2.decode(),
                          "signature": feishu_sig(ts, nonce, FEISHU_KEY, body2)}
    chal = json.dumps({"challenge": "ajls384kdjx98XX", "token": FEISHU_TOKEN,
                       "type": "url_verification"}).encode()
    out["challenge_plain"] = {"body": chal.decode(), "challenge": "ajls384kdjx98XX"}
    out["challenge_encrypted"] = {
        "body": json.dumps({"encrypt": feishu_encrypt(chal, iv)}), "challenge": "ajls384kdjx98XX"}
    bad_tok = json.dumps({"challenge": "x", "token": "wrong", "type": "url_verification"})
    out["challenge_wrong_token"] = {"body": bad_tok}
    wrong = json.dumps(feishu_event("你好")).replace(FEISHU_TOKEN, "not-the-token").encode()
    encw = json.dumps({"encrypt": feishu_encrypt(wrong, iv)}).encode()
    out["event_wrong_token"] = {"body": encw.decode(),
                                "signature": feishu_sig(ts, nonce, FEISHU_KEY, encw)}
    return out


# --- DingTalk and generic -------------------------------------------------

DINGTALK_SECRET = "SECxyzDingTalkAppSecret0123456789abcdef"
GENERIC_SECRET = "generic-secret-ABC"


def dingtalk_sign(secret, ts):
    mac = hmac.new(secret.encode(), ("%s\n%s" % (ts, secret)).encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def generic_sign(secret, ts, body):
    return "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()


def dingtalk():
    ts = "1764115200000"
    body = {"msgtype": "text", "text": {"content": " 投诉 "}, "msgId": "msgABCD1234==",
            "createAt": 1764115200000, "conversationType": "1",
            "conversationId": "cidAbCdEf123==", "senderId": "$:LWCP_v1:$Ab12+/=",
            "senderStaffId": "manager4321", "senderNick": "张三",
            "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=abc123",
            "sessionWebhookExpiredTime": 1764120600000, "chatbotUserId": "$:LWCP_v1:$bot",
            "isAdmin": False, "robotCode": "dingabc"}
    return {"app_secret": DINGTALK_SECRET, "timestamp": ts, "sign": dingtalk_sign(DINGTALK_SECRET, ts),
            "body": json.dumps(body, ensure_ascii=False),
            "expect": {"kind": "text", "user": "manager4321", "chat": "cidAbCdEf123==",
                       "msg_id": "msgABCD1234==", "text": " 投诉 ",
                       "reply_url": body["sessionWebhook"],
                       "reply_expires_ms": 1764120600000}}


def generic():
    ts = "1764115200"
    body = json.dumps({"user": "u-1", "text": "你好", "id": "m-1"}, ensure_ascii=False).encode()
    return {"secret": GENERIC_SECRET, "timestamp": ts, "body": body.decode(),
            "signature": generic_sign(GENERIC_SECRET, ts, body)}


def main():
    out = {
        "comment": "generated by tests/data/inbound/gen_vectors.py (hashlib, hmac, openssl enc)",
        "wecom": wecom(), "feishu": feishu(), "dingtalk": dingtalk(), "generic": generic(),
    }
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

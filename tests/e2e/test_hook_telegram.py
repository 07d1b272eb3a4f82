"""The Telegram webhook through nginx: a conversation that files a
complaint (and one a consultation) with every reply in the webhook
answer as a sendMessage call; /start, /help, /cancel; 订阅 and 退订
creating and removing the chat's push target; the rejections (wrong or
missing secret token, oversized body, malformed update) and a repeated
update_id, with nothing stored."""

import json
import time
import unittest
import uuid

from chatsign import (PREFIX, assert_nothing_stored, case_source, dedup_keys, file_case)
from harness import StackCase

SECRET = "e2e_Telegram-Secret"
BOT = "123456:e2e-bot-token"


class TelegramHook(StackCase, unittest.TestCase):
    STACK_ARGS = {
        "app_max_body": "256k",
        "ini": {"telegram": {"secret_token": SECRET, "bot_token": BOT},
                "chat": {"max_body": "16k"}},
    }
    next_update = 700000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.schemas = {f: cls.stack.get("/api/forms/" + f).json() for f in ("consult", "complaint")}

    def update(self, chat_id, text=None, update_id=None, extra=None):
        if update_id is None:
            TelegramHook.next_update += 1
            update_id = TelegramHook.next_update
        msg = {"message_id": update_id, "from": {"id": chat_id, "is_bot": False, "first_name": "Li"},
               "chat": {"id": chat_id, "type": "private"}, "date": int(time.time())}
        if text is not None:
            msg["text"] = text
        msg.update(extra or {})
        return json.dumps({"update_id": update_id, "message": msg}, ensure_ascii=False).encode()

    def post(self, body, secret=SECRET):
        h = {"Content-Type": "application/json"}
        if secret is not None:
            h["X-Telegram-Bot-Api-Secret-Token"] = secret
        return self.stack.request("POST", "/hook/telegram", body=body, headers=h)

    def sender(self, chat_id):
        def send(text):
            r = self.post(self.update(chat_id, text))
            self.assertEqual(r.status, 200, r)
            b = r.json()
            self.assertEqual(b["method"], "sendMessage")
            self.assertEqual(b["chat_id"], chat_id)
            self.assertNotIn("parse_mode", b)
            self.assertLessEqual(len(b["text"].encode()), 4096)
            return b["text"]
        return send

    def new_chat(self):
        return int(uuid.uuid4().int % 10**9) + 10**9

    def test_files_a_complaint(self):
        chat = self.new_chat()
        send = self.sender(chat)
        self.assertIn("您好", send("/start"))
        case = file_case(self, send, self.schemas["complaint"], start="2")
        self.assertRegex(case, r"^TS\d{8}-\d{4,}$")
        self.assertEqual(case_source(self.stack, case), "chat:telegram:%d" % chat)

    def test_files_a_consultation(self):
        chat = self.new_chat()
        case = file_case(self, self.sender(chat), self.schemas["consult"], start="1")
        self.assertEqual(case_source(self.stack, case), "chat:telegram:%d" % chat)

    def test_commands(self):
        send = self.sender(self.new_chat())
        self.assertIn("请选择：咨询类别", send("1"))
        self.assertIn("使用说明", send("/help"))
        self.assertIn("已取消", send("/cancel@zhuqi_bot"))
        r = self.post(self.update(self.new_chat(), extra={"sticker": {"file_id": "x"}}))
        self.assertIn("只能处理文字消息", r.json()["text"])

    def test_subscribe_and_unsubscribe(self):
        chat = self.new_chat()
        send = self.sender(chat)
        self.assertIn("订阅成功", send("订阅 成都"))
        ids = self.stack.redis_command("SMEMBERS", PREFIX + "targets:tag:tax")
        mine = [i for i in ids if self.stack.redis_command(
            "HGET", PREFIX + "target:" + i, "chat_id") == str(chat)]
        self.assertEqual(len(mine), 1)
        t = mine[0]
        self.assertEqual(self.stack.redis_command("HGET", PREFIX + "target:" + t, "channel"),
                         "telegram")
        self.assertEqual(self.stack.redis_command("HGET", PREFIX + "target:" + t, "address"), BOT)
        self.assertEqual(self.stack.redis_command("SISMEMBER", PREFIX + "targets:tag:510100", t), 1)
        self.assertIn("已退订", send("退订"))
        self.assertEqual(self.stack.redis_command("EXISTS", PREFIX + "target:" + t), 0)
        self.assertEqual(self.stack.redis_command("SISMEMBER", PREFIX + "targets:tag:tax", t), 0)

    def test_rejections_store_nothing(self):
        chat = self.new_chat()
        user = str(chat)
        dedup_before = len(dedup_keys(self.stack, "telegram"))
        body = self.update(chat, "投诉")
        self.assertErrorShape(self.post(body, secret="wrong"), 401, "bad_token")
        self.assertErrorShape(self.post(body, secret=None), 401, "bad_token")
        self.assertErrorShape(self.post(self.update(chat, "长" * 6000)), 413, "too_large")
        self.assertErrorShape(self.post(b'{"message":{}}'), 400, "bad_update")
        assert_nothing_stored(self, self.stack, "telegram", user)
        self.assertEqual(len(dedup_keys(self.stack, "telegram")), dedup_before)

    def test_repeated_update_is_ignored(self):
        chat = self.new_chat()
        body = self.update(chat, "投诉", update_id=999999001)
        r = self.post(body)
        self.assertIn("能否投诉", r.json()["text"])
        v = self.stack.redis_command("HGET", PREFIX + "chat:telegram:%d" % chat, "v")
        r = self.post(body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {})
        self.assertEqual(self.stack.redis_command("HGET", PREFIX + "chat:telegram:%d" % chat, "v"),
                         v)


if __name__ == "__main__":
    unittest.main()

"""Chat replies that go out through the platforms' APIs, end to end
(signed webhook through nginx → zhuqi-fcgi → the bot's priority lane →
zhuqi-bot → the fake platform), where the platforms are stricter than a
naive sender (issue 13):

- a reply in several parts (the complaint's review, with the reply limits
  set low) arrives in order, each part once, on Telegram, DingTalk and
  Feishu, even when the platform answers one middle part with a retryable
  error: the parts are one ordered series, the next leaving only after the
  platform took the one before;
- a Feishu reply goes through the IM API with the tenant token, so its
  frequency limits (99991400, 230020) are retried, not dead-lettered;
- a DingTalk group reply @-mentions the person who asked (at.atUserIds
  and "@<staff id>" in the text), a one-to-one reply does not;
- a DingTalk app robot message is split so that its msgParam stays within
  the 15,000 bytes groupMessages/send takes (the fake refuses more)."""

import json
import os
import time
import unittest
import uuid

from bot_util import all_final, notice, wait_report
from chatsign import PREFIX, SAMPLES, Feishu, dingtalk_sign, question_of
from harness import StackCase

TG_SECRET = "e2e_Telegram-Replies"
TG_BOT = "424242:e2e-replies-bot"
DT_KEY = "dinge2ereplies01"
DT_SECRET = "e2eDingTalkRepliesSecret"
FS_TOKEN = "e2eRepliesToken"
FS_KEY = "e2eRepliesEncryptKey"
FS_APP = "cli_e2e_replies"
FS_SECRET = "e2e-feishu-replies-secret"
PART_BYTES = 400  # the reply limits, low so that the review takes several parts

INI = {
    "telegram": {"secret_token": TG_SECRET, "bot_token": TG_BOT},
    "dingtalk": {"app_secret": DT_SECRET, "app_key": DT_KEY},
    "feishu": {"verification_token": FS_TOKEN, "encrypt_key": FS_KEY, "app_id": FS_APP,
               "app_secret": FS_SECRET},
    "channels": {"telegram_max_bytes": PART_BYTES, "dingtalk_max_bytes": PART_BYTES,
                 "feishu_max_bytes": PART_BYTES},
    "bot": {"retry_base_ms": 200, "retry_max_ms": 1000, "max_attempts": 5, "timeout_ms": 2000,
            "claim_idle_ms": 5000},
}
REVIEW_END = "回复“取消”放弃填写。"


class PlatformReplies(StackCase, unittest.TestCase):
    STACK_ARGS = {"bot": True, "fake": True, "app_max_body": "256k", "ini": INI}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.fake.add_target("feishu-app", FS_APP, app_secret=FS_SECRET)
        cls.stack.fake.add_target("dingtalk-app", DT_KEY, app_secret=DT_SECRET)
        cls.stack.fake.add_target("telegram", TG_BOT, rate_per_min=1000)
        cls.schema = cls.stack.get("/api/forms/complaint").json()
        cls.fs = Feishu(FS_TOKEN, FS_KEY)

    # -- the platforms' sides --------------------------------------------

    def mark(self):
        m = self.stack.fake.messages()
        return m[-1]["id"] if m else 0

    def accepted(self, platform, target, since):
        return [m for m in self.stack.fake.messages(platform=platform, target=target,
                                                    since=since) if m["accepted"]]

    def drained(self):
        return self.stack.outbox_drained(PREFIX)

    def received(self, platform, target, since):
        """What the fake accepted for target since the mark, once the bot
        has nothing left to send (no entry queued, none waiting to retry)."""
        self.stack.wait_for(lambda: self.accepted(platform, target, since) and self.drained(),
                            30, "the reply to %s" % target)
        self.last = (platform, target, since)
        return "".join(m["content"] for m in self.accepted(platform, target, since))

    def telegram(self, chat):
        """send(text) -> the reply: the webhook answer's sendMessage, or
        the messages the bot sent through the Bot API. A throttle on the
        second request to the bot is kept armed."""
        fake = self.stack.fake

        def send(text):
            if not [f for f in fake.request("GET", "/_faults").json()["faults"]
                    if f["target"] == TG_BOT]:
                fake.add_fault(TG_BOT, "throttle", platform="telegram", after=1, count=1,
                               retry_after=1)
            since = self.mark()
            upd = {"update_id": int(uuid.uuid4().int % 10 ** 9),
                   "message": {"message_id": 1, "from": {"id": chat, "is_bot": False,
                                                         "first_name": "Li"},
                               "chat": {"id": chat, "type": "private"},
                               "date": int(time.time()), "text": text}}
            r = self.stack.request("POST", "/hook/telegram",
                                   body=json.dumps(upd, ensure_ascii=False).encode(),
                                   headers={"Content-Type": "application/json",
                                            "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
            self.assertEqual(r.status, 200, r)
            b = r.json()
            if b.get("method") == "sendMessage":
                self.assertLessEqual(len(b["text"].encode()), PART_BYTES)
                self.last = None
                return b["text"]
            self.assertEqual(b, {})
            return self.received("telegram", TG_BOT, since)
        return send

    def dingtalk_post(self, user, text, group=None, session=None):
        base = self.stack.ini["channels"]["dingtalk_base_url"]
        session = session or "s" + uuid.uuid4().hex
        b = {"msgtype": "text", "text": {"content": text}, "msgId": "msg" + uuid.uuid4().hex,
             "createAt": int(time.time() * 1000), "conversationType": "2" if group else "1",
             "conversationId": group or "cid-single-" + user, "senderStaffId": user,
             "senderId": "$:LWCP_v1:$" + user, "senderNick": "张三", "robotCode": DT_KEY,
             "sessionWebhook": base + "/session/" + session,
             "sessionWebhookExpiredTime": int(time.time() * 1000) + 5400000}
        ts = str(int(time.time() * 1000))
        r = self.stack.request("POST", "/hook/dingtalk",
                               body=json.dumps(b, ensure_ascii=False).encode(),
                               headers={"Content-Type": "application/json; charset=utf-8",
                                        "timestamp": ts, "sign": dingtalk_sign(DT_SECRET, ts)})
        self.assertEqual(r.status, 200, r)
        return session

    def dingtalk(self, user):
        """send(text) -> what the session webhook received; the second
        request to each session is throttled (130101) once."""
        def send(text):
            since, session = self.mark(), "s" + uuid.uuid4().hex
            self.stack.fake.add_fault(session, "throttle", platform="dingtalk-session", after=1,
                                      count=1)
            self.dingtalk_post(user, text, session=session)
            return self.received("dingtalk-session", session, since)
        return send

    def feishu_post(self, user, text, message_id):
        ev = {"schema": "2.0",
              "header": {"event_id": os.urandom(16).hex(), "token": FS_TOKEN,
                         "create_time": str(int(time.time() * 1000)),
                         "event_type": "im.message.receive_v1", "tenant_key": "t1",
                         "app_id": FS_APP},
              "event": {"sender": {"sender_id": {"open_id": user}, "sender_type": "user"},
                        "message": {"message_id": message_id, "chat_id": "oc_" + user,
                                    "chat_type": "p2p", "message_type": "text",
                                    "content": json.dumps({"text": text}, ensure_ascii=False)}}}
        body = json.dumps({"encrypt": self.fs.encrypt(
            json.dumps(ev, ensure_ascii=False).encode())}).encode()
        r = self.stack.request("POST", "/hook/feishu", body=body, headers=self.fs.headers(body))
        self.assertEqual(r.status, 200, r)

    def feishu(self, user):
        """send(text) -> what the IM reply API received; the second request
        of each reply is throttled (99991400) once."""
        def send(text):
            since, mid = self.mark(), "om_" + uuid.uuid4().hex
            self.stack.fake.add_fault(mid, "throttle", platform="feishu-reply", after=1, count=1)
            self.feishu_post(user, text, mid)
            return self.received("feishu-reply", mid, since)
        return send

    def long_review(self, send):
        """Answers the complaint's questions (SAMPLES) up to the review,
        which comes in several parts, the second refused once by the
        platform with a retryable error. Checks that every request since
        the mark was the parts in order, the refused one sent again, each
        accepted part once, together the review. Returns the accepted."""
        self.last = None
        reply = send("2")
        for _ in range(60):
            if "请核对" in reply:
                break
            f = question_of(self.schema, reply)
            self.assertIsNotNone(f, "no question found in reply:\n" + reply)
            reply = send(SAMPLES[f["id"]])
        self.assertIn("请核对", reply)
        self.assertTrue(reply.endswith(REVIEW_END), reply)
        self.assertIsNotNone(self.last, "the review came in one part")
        platform, target, since = self.last
        time.sleep(1.0)  # anything sent twice would arrive meanwhile
        msgs = self.stack.fake.messages(platform=platform, target=target, since=since)
        ok = [m for m in msgs if m["accepted"]]
        self.assertGreaterEqual(len(ok), 3, msgs)
        self.assertEqual(["fault" in m for m in msgs], [False, True] + [False] * (len(msgs) - 2),
                         [m["verdict"] for m in msgs])
        self.assertEqual(len(ok), len(msgs) - 1)
        self.assertEqual("".join(m["content"] for m in ok), reply)
        return ok

    # -- issue 13 item 4: long replies in order -------------------------------------

    def test_telegram_long_review_in_order(self):
        chat = int(uuid.uuid4().int % 10 ** 9) + 10 ** 9
        for m in self.long_review(self.telegram(chat)):
            self.assertEqual(m["json"]["chat_id"], chat)
            self.assertLessEqual(len(m["json"]["text"].encode()), PART_BYTES)

    def test_dingtalk_long_review_in_order(self):
        for m in self.long_review(self.dingtalk("dtstaff" + uuid.uuid4().hex[:6])):
            self.assertNotIn("at", m["json"])  # one to one: nobody to @
            self.assertLessEqual(len(m["json"]["text"]["content"].encode()), PART_BYTES)

    def test_feishu_long_review_in_order(self):
        for m in self.long_review(self.feishu("ou_" + uuid.uuid4().hex[:8])):
            self.assertEqual(m["json"]["msg_type"], "text")

    # -- issue 13 item 3: Feishu replies are app (IM API) messages ------------------

    def test_feishu_reply_throttled_is_retried(self):
        """The IM API's frequency limits, 99991400 and 230020, once each:
        the reply is sent again and arrives; nothing is dead-lettered."""
        fake = self.stack.fake
        for style in ("99991400", "230020"):
            since = self.mark()
            mid = "om_" + uuid.uuid4().hex
            fake.add_fault(mid, "throttle", platform="feishu-reply", style=style, count=1)
            self.feishu_post("ou_" + uuid.uuid4().hex[:8], "你好", mid)
            self.received("feishu-reply", mid, since)
            msgs = fake.messages(platform="feishu-reply", target=mid, since=since)
            self.assertEqual([(m["status"], m["reply"].get("code")) for m in msgs],
                             [(400, int(style)), (200, 0)], msgs)
        self.assertEqual([line for line in self.stack.bot_log().splitlines()
                          if "event=dead_letter" in line and "channel=feishu" in line], [])

    def test_feishu_reply_answer_lost_arrives_once(self):
        """Feishu delivers a reply but its answer is lost: the part is sent
        again with the same uuid, which Feishu (and the fake) does not
        deliver twice; another message's reply has another uuid."""
        fake = self.stack.fake
        uuids = []
        for _ in range(2):
            since = self.mark()
            mid = "om_" + uuid.uuid4().hex
            fake.add_fault(mid, "lost", platform="feishu-reply", count=1)
            self.feishu_post("ou_" + uuid.uuid4().hex[:8], "你好", mid)
            self.stack.wait_for(lambda: len(fake.messages(platform="feishu-reply", target=mid,
                                                          since=since)) >= 2 and self.drained(),
                                30, "the reply sent again")
            msgs = fake.messages(platform="feishu-reply", target=mid, since=since)
            self.assertEqual([m["accepted"] for m in msgs], [True, False], msgs)
            self.assertTrue(msgs[1]["verdict"].startswith("duplicate"), msgs[1])
            u = msgs[0]["json"].get("uuid")
            self.assertTrue(u and len(u) <= 50, msgs[0]["json"])
            self.assertEqual(msgs[1]["json"]["uuid"], u)
            uuids.append(u)
        self.assertNotEqual(uuids[0], uuids[1])

    # -- issue 13 item 14: DingTalk group replies @ the asker -----------------------

    def test_dingtalk_group_reply_mentions_the_asker(self):
        staff = "gstaff" + uuid.uuid4().hex[:6]
        since = self.mark()
        session = self.dingtalk_post(staff, "菜单", group="cidGroup" + uuid.uuid4().hex[:8])
        self.received("dingtalk-session", session, since)
        (m,) = self.accepted("dingtalk-session", session, since)
        self.assertEqual(m["json"]["at"], {"atUserIds": [staff], "isAtAll": False})
        self.assertTrue(m["json"]["text"]["content"].startswith("@%s\n" % staff), m)
        self.assertEqual(m["at_user_ids"], [staff])
        self.assertNotIn("warnings", m)  # "@id" is in the text: DingTalk shows it
        # One to one: no mention.
        since = self.mark()
        session = self.dingtalk_post(staff, "菜单")
        self.received("dingtalk-session", session, since)
        (m,) = self.accepted("dingtalk-session", session, since)
        self.assertNotIn("at", m["json"])
        self.assertFalse(m["json"]["text"]["content"].startswith("@"))

    # -- issue 13 item 2: DingTalk app robot, msgParam within 15,000 bytes ----------

    def test_dingtalk_app_notice_split_under_msgparam_limit(self):
        """A notice of 15,000 bytes with quotes and line breaks (each
        escaped to two bytes in msgParam) to a DingTalk app robot group:
        every part accepted by the fake (which refuses msgParam over 15,000
        bytes), in order, nothing lost."""
        st, fake = self.stack, self.stack.fake
        cid = "cidBig" + uuid.uuid4().hex[:8]
        staff = "bigstaff" + uuid.uuid4().hex[:6]
        since = self.mark()
        self.dingtalk_post(staff, "订阅 成都", group=cid)
        body = "".join("第%d条 \"说明\"\n" % i for i in range(850))
        # Within the notices' 16,384 bytes and DingTalk's text limit, but
        # over 15,000 once escaped into msgParam.
        self.assertLess(len(body.encode()), 16384)
        self.assertGreater(len(json.dumps(body, ensure_ascii=False).encode()), 15000)
        nid = notice(st, "成都市服务通知", body, {"tags": ["510100"]})
        rep = wait_report(st, nid, all_final(1), timeout=30)
        self.assertEqual(rep["totals"]["sent"], 1, rep)
        msgs = fake.messages(platform="dingtalk-appmsg", target=cid, since=since)
        self.assertGreaterEqual(len(msgs), 2, msgs)
        self.assertTrue(all(m["accepted"] for m in msgs), [m["verdict"] for m in msgs])
        for m in msgs:
            self.assertLessEqual(len(m["json"]["msgParam"].encode()), 15000)
        got = "".join(m["content"] for m in msgs)
        for i in range(850):
            self.assertIn("第%d条 \"说明\"\n" % i, got)


if __name__ == "__main__":
    unittest.main()

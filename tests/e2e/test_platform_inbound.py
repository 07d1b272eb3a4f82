"""Inbound webhooks as the platforms really send them (issue 13, items 6,
7, 8 and 15), through nginx:

- WeCom MsgIds are unique per sender only: two members' messages with the
  same MsgId are both taken; the same member's repeat is a duplicate.
- WeCom events the flat XML parser cannot read (approval, template card
  and contact-change events nest five and six levels deep), signed and
  encrypted like any callback, get an empty 200 (a 4xx makes WeCom send
  them again); a bad signature or ciphertext still gets its 4xx.
- Feishu retries an unanswered event after 15 s, 5 min, 1 h and 6 h: a
  retry signed six hours ago is taken once, its repeat is a duplicate;
  past the eight-hour window it is refused.
- Telegram groups in privacy mode show the bot only commands: /menu,
  /subscribe, /status ... (also /cmd@BotName) stand for the menu words;
  with [telegram] username set, /cmd@OtherBot is left to that bot.
"""

import json
import os
import time
import unittest
import uuid

from chatsign import (PREFIX, Feishu, WeCom, assert_nothing_stored, dedup_keys, last_outbox_id,
                      outbox_entries)
from harness import StackCase

WECOM_TOKEN = "e2eWeComToken"
WECOM_AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP = "wwe2e0123456789ab"
FEISHU_TOKEN = "e2eVerificationToken"
FEISHU_KEY = "e2eEncryptKey"
TG_SECRET = "e2e_Telegram-Secret"
TG_BOT = "123456:e2e-bot-token"

# A WeCom approval status change (sys_approval_change), shaped as WeCom's
# "审批状态通知事件" documents it: SpRecord > Details > Approver > UserId
# is six levels below <xml>.
APPROVAL = """<xml>
<ToUserName><![CDATA[%(corp)s]]></ToUserName>
<FromUserName><![CDATA[sys]]></FromUserName>
<CreateTime>%(now)d</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[sys_approval_change]]></Event>
<AgentID>1000002</AgentID>
<ApprovalInfo>
  <SpNo>202612060001</SpNo>
  <SpName><![CDATA[费用报销]]></SpName>
  <SpStatus>1</SpStatus>
  <TemplateId><![CDATA[3TkZjxugodbqpEMk9bTS6mRq7f8b4Rnh1atwcaLA]]></TemplateId>
  <ApplyTime>%(now)d</ApplyTime>
  <Applyer>
    <UserId><![CDATA[WangXiaoMing]]></UserId>
    <Party><![CDATA[1]]></Party>
  </Applyer>
  <SpRecord>
    <SpStatus>1</SpStatus>
    <ApproverAttr>1</ApproverAttr>
    <Details>
      <Approver><UserId><![CDATA[LiHong]]></UserId></Approver>
      <Speech><![CDATA[]]></Speech>
      <SpStatus>1</SpStatus>
      <SpTime>0</SpTime>
    </Details>
  </SpRecord>
  <Notifyer><UserId><![CDATA[ZhangSan]]></UserId></Notifyer>
  <Comments>
    <CommentUserInfo><UserId><![CDATA[ZhangSan]]></UserId></CommentUserInfo>
    <CommentTime>%(now)d</CommentTime>
    <CommentContent><![CDATA[请尽快处理]]></CommentContent>
    <CommentId><![CDATA[6750538708562308114]]></CommentId>
  </Comments>
  <StatuChangeEvent>1</StatuChangeEvent>
</ApprovalInfo>
</xml>"""

# A template card button click (template_card_event) with a multiple
# choice: SelectedItems > SelectedItem > OptionIds > OptionId.
CARD = """<xml>
<ToUserName><![CDATA[%(corp)s]]></ToUserName>
<FromUserName><![CDATA[%(user)s]]></FromUserName>
<CreateTime>%(now)d</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[template_card_event]]></Event>
<EventKey><![CDATA[key111]]></EventKey>
<TaskId><![CDATA[taskid111]]></TaskId>
<CardType><![CDATA[vote_interaction]]></CardType>
<ResponseCode><![CDATA[ResponseCode]]></ResponseCode>
<AgentID>1000002</AgentID>
<SelectedItems>
  <SelectedItem>
    <QuestionKey><![CDATA[QuestionKey1]]></QuestionKey>
    <OptionIds>
      <OptionId><![CDATA[OptionId1]]></OptionId>
      <OptionId><![CDATA[OptionId2]]></OptionId>
    </OptionIds>
  </SelectedItem>
</SelectedItems>
</xml>"""

# A member's profile changed (change_contact, update_user) with extended
# attributes: ExtAttr > Item > Text > Value.
CONTACT = """<xml>
<ToUserName><![CDATA[%(corp)s]]></ToUserName>
<FromUserName><![CDATA[sys]]></FromUserName>
<CreateTime>%(now)d</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[change_contact]]></Event>
<ChangeType>update_user</ChangeType>
<UserID><![CDATA[%(user)s]]></UserID>
<Name><![CDATA[张三]]></Name>
<Department><![CDATA[1,2,3]]></Department>
<ExtAttr>
  <Item>
    <Name><![CDATA[爱好]]></Name>
    <Type>0</Type>
    <Text><Value><![CDATA[旅游]]></Value></Text>
  </Item>
  <Item>
    <Name><![CDATA[卡号]]></Name>
    <Type>1</Type>
    <Web><Title><![CDATA[企业微信]]></Title><Url><![CDATA[https://work.weixin.qq.com]]></Url></Web>
  </Item>
</ExtAttr>
</xml>"""


class PlatformInbound(StackCase, unittest.TestCase):
    STACK_ARGS = {
        "app_max_body": "256k",
        "ini": {"wecom": {"token": WECOM_TOKEN, "encoding_aes_key": WECOM_AES, "corp_id": CORP},
                "feishu": {"verification_token": FEISHU_TOKEN, "encrypt_key": FEISHU_KEY,
                           "app_id": "cli_e2e", "app_secret": "e2e-app-secret"},
                "telegram": {"secret_token": TG_SECRET, "bot_token": TG_BOT,
                             "username": "zhuqi_bot"},
                "chat": {"max_body": "16k"},
                "channels": {"feishu_base_url": "http://127.0.0.1:9/feishu"}},
    }
    next_update = 880000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.w = WeCom(WECOM_TOKEN, WECOM_AES, CORP)
        cls.f = Feishu(FEISHU_TOKEN, FEISHU_KEY)

    # ---- WeCom --------------------------------------------------------

    def wecom(self, body, query):
        return self.stack.request("POST", "/hook/wecom?" + query, body=body.encode(),
                                  headers={"Content-Type": "text/xml"})

    def wecom_version(self, user):
        return self.stack.redis_command("HGET", PREFIX + "chat:wecom:" + user, "v")

    def test_wecom_msgid_is_per_sender(self):
        """Two members' messages with one MsgId are both answered; a
        member's own repeat is a duplicate."""
        msgid = str(7000000000000000000 + uuid.uuid4().int % 10**17)
        a = "wxa" + uuid.uuid4().hex[:10]
        b = "wxb" + uuid.uuid4().hex[:10]
        enc, body = self.w.message(a, "投诉", msgid=msgid)
        r = self.wecom(body, self.w.query(enc))
        self.assertEqual(r.status, 200, r)
        self.assertIn("能否投诉", self.w.reply_text(r.body.decode()))
        va = self.wecom_version(a)
        enc, body = self.w.message(b, "投诉", msgid=msgid)
        r = self.wecom(body, self.w.query(enc))
        self.assertEqual(r.status, 200, r)
        self.assertIn("能否投诉", self.w.reply_text(r.body.decode()))
        self.assertIsNotNone(self.wecom_version(b))
        # a's retry of the same MsgId: an empty 200, nothing advanced.
        enc, body = self.w.message(a, "投诉", msgid=msgid)
        r = self.wecom(body, self.w.query(enc))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"")
        self.assertEqual(self.wecom_version(a), va)

    def wecom_event(self, template, user):
        inner = template % {"corp": CORP, "user": user, "now": int(time.time())}
        enc = self.w.encrypt(inner.encode())
        body = ("<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[1000002]]>"
                "</AgentID><Encrypt><![CDATA[%s]]></Encrypt></xml>" % (CORP, enc))
        return enc, body

    def test_wecom_nested_events_get_an_empty_200(self):
        user = "wxev" + uuid.uuid4().hex[:10]
        dedup_before = len(dedup_keys(self.stack, "wecom"))
        outbox_before = last_outbox_id(self.stack)
        for name, template in (("approval", APPROVAL), ("card", CARD), ("contact", CONTACT)):
            enc, body = self.wecom_event(template, user)
            r = self.wecom(body, self.w.query(enc))
            self.assertEqual((r.status, r.body), (200, b""), "%s: %r" % (name, r))
            # WeCom's retry of it: the same empty 200.
            r = self.wecom(body, self.w.query(enc))
            self.assertEqual((r.status, r.body), (200, b""), "%s: %r" % (name, r))
        # Still 4xx when the signature or the encryption is wrong.
        enc, body = self.wecom_event(APPROVAL, user)
        self.assertErrorShape(self.wecom(body, self.w.query(enc, token="wrong")), 401,
                              "bad_signature")
        enc2 = self.w.encrypt((APPROVAL % {"corp": CORP, "user": user, "now": 1}).encode(),
                              receiver="wwother")
        body2 = "<xml><Encrypt><![CDATA[%s]]></Encrypt></xml>" % enc2
        self.assertErrorShape(self.wecom(body2, self.w.query(enc2)), 401, "bad_receiver")
        bad = "A" * 64
        self.assertErrorShape(self.wecom("<xml><Encrypt><![CDATA[%s]]></Encrypt></xml>" % bad,
                                         self.w.query(bad)), 400, "bad_ciphertext")
        for who in (user, "sys"):
            assert_nothing_stored(self, self.stack, "wecom", who, outbox_before)
        self.assertEqual(len(dedup_keys(self.stack, "wecom")), dedup_before)

    # ---- Feishu -------------------------------------------------------

    def feishu_event(self, user, text, event_id, made_s):
        ev = {"schema": "2.0",
              "header": {"event_id": event_id, "token": FEISHU_TOKEN,
                         "create_time": str(made_s * 1000),
                         "event_type": "im.message.receive_v1", "tenant_key": "t1",
                         "app_id": "cli_e2e"},
              "event": {"sender": {"sender_id": {"open_id": user}, "sender_type": "user"},
                        "message": {"message_id": "om_" + os.urandom(8).hex(),
                                    "chat_id": "oc_" + uuid.uuid4().hex, "chat_type": "p2p",
                                    "message_type": "text",
                                    "content": json.dumps({"text": text}, ensure_ascii=False)}}}
        plain = json.dumps(ev, ensure_ascii=False).encode()
        return json.dumps({"encrypt": self.f.encrypt(plain)}).encode()

    def feishu(self, body, ts):
        return self.stack.request("POST", "/hook/feishu", body=body,
                                  headers=self.f.headers(body, ts=str(ts)))

    def test_feishu_retry_six_hours_later_taken_once(self):
        """Feishu's fourth retry comes about 6 h 5 min after the event, and
        a retry may carry the first attempt's signature timestamp."""
        user = "ou_retry" + uuid.uuid4().hex
        made = int(time.time()) - 6 * 3600 - 300
        body = self.feishu_event(user, "投诉", uuid.uuid4().hex, made)
        mark = last_outbox_id(self.stack)
        r = self.feishu(body, made)
        self.assertEqual(r.status, 200, r)
        got = outbox_entries(self.stack, mark)
        self.assertEqual(len(got), 1, got)
        self.assertIn("能否投诉", json.loads(json.loads(got[0][1]["body"])["content"])["text"])
        # The next retry (or a replay) of the same event_id: a duplicate.
        mark = last_outbox_id(self.stack)
        r = self.feishu(body, made)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(outbox_entries(self.stack, mark), [])
        # Past the eight hours that cover the retries: refused.
        old = int(time.time()) - 8 * 3600 - 120
        body = self.feishu_event(user, "菜单", uuid.uuid4().hex, old)
        self.assertErrorShape(self.feishu(body, old), 401, "stale_timestamp")

    # ---- Telegram -----------------------------------------------------

    def tg_update(self, chat_id, user_id, text):
        PlatformInbound.next_update += 1
        u = PlatformInbound.next_update
        msg = {"message_id": u, "date": int(time.time()), "text": text,
               "from": {"id": user_id, "is_bot": False, "first_name": "Li"},
               "chat": {"id": chat_id, "type": "supergroup", "title": "助企群"}}
        return json.dumps({"update_id": u, "message": msg}, ensure_ascii=False).encode()

    def tg_sender(self):
        chat = -(10**12 + uuid.uuid4().int % 10**9)
        user = 10**9 + uuid.uuid4().int % 10**9

        def send(text, answered=True):
            r = self.stack.request("POST", "/hook/telegram", body=self.tg_update(chat, user, text),
                                   headers={"Content-Type": "application/json",
                                            "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
            self.assertEqual(r.status, 200, r)
            b = r.json()
            if not answered:
                self.assertEqual(b, {})
                return None
            self.assertEqual((b["method"], b["chat_id"]), ("sendMessage", chat))
            return b["text"]
        return chat, send

    def test_telegram_slash_commands_in_a_group(self):
        chat, send = self.tg_sender()
        self.assertIn("您好", send("/start@zhuqi_bot"))
        self.assertIn("您好", send("/start deep-link-payload"))
        self.assertIn("请回复序号或文字选择", send("/menu@zhuqi_bot"))
        help_text = send("/help")
        self.assertIn("使用说明", help_text)
        self.assertIn("/subscribe", help_text)  # the group's way in, told in the help
        self.assertIn("请选择：咨询类别", send("/consult@zhuqi_bot"))
        self.assertIn("已取消", send("/cancel"))
        self.assertIn("能否投诉", send("/complaint"))
        self.assertIn("请回复序号或文字选择", send("/Menu@Zhuqi_Bot."))
        self.assertIn("案件编号", send("/status@zhuqi_bot"))
        self.assertIn("请回复序号或文字选择", send("/back"))
        self.assertIn("手机号码", send("/status TS20990101-0001"))
        send("/menu")
        self.assertIn("请回复企业所在的市（州）", send("/subscribe@zhuqi_bot"))
        self.assertIn("订阅成功", send("/skip"))
        self.assertIn("已退订", send("/unsubscribe@zhuqi_bot"))
        self.assertIn("订阅成功", send("/subscribe 成都"))
        ids = self.stack.redis_command("SMEMBERS", PREFIX + "targets:tag:510100") or []
        mine = [i for i in ids if self.stack.redis_command(
            "HGET", PREFIX + "target:" + i, "chat_id") == str(chat)]
        self.assertEqual(len(mine), 1)
        self.assertIn("已退订", send("/unsubscribe"))
        self.assertIn("近期", send("/classes"))

    def test_telegram_command_for_another_bot_is_left_alone(self):
        """With privacy mode off (or the bot an admin) a group shows the bot
        every command, also those addressed to other bots."""
        chat, send = self.tg_sender()
        send("/menu")
        v = self.stack.redis_command("HGET", PREFIX + "chat:telegram:%s" % chat, "v")
        send("/help@OtherBot", answered=False)
        send("/subscribe@other_bot 成都", answered=False)
        if v is not None:
            self.assertEqual(self.stack.redis_command(
                "HGET", PREFIX + "chat:telegram:%s" % chat, "v"), v)
        self.assertIn("使用说明", send("/help@ZHUQI_BOT"))


if __name__ == "__main__":
    unittest.main()

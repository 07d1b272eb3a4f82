"""The chat platforms' side of conversations with a stack, shared by the
tests of app pushes and chat subscriptions: one WeCom app, DingTalk app
robot, Feishu app and Telegram bot, their credentials, and a Chats helper
that says something as a user of each."""

import hashlib
import json
import os
import time
import uuid

from chatsign import PREFIX, Feishu, WeCom, dingtalk_sign

WECOM_TOKEN = "e2eWeComToken"
WECOM_AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP = "wwe2e0123456789ab"
AGENT = 1000002  # the AgentID chatsign.WeCom puts in its messages
WECOM_SECRET = "e2e-wecom-app-secret"
DT_KEY = "dinge2eappkey0001"
DT_SECRET = "e2eDingTalkAppSecret"
FS_TOKEN = "e2eVerificationToken"
FS_KEY = "e2eEncryptKey"
FS_APP = "cli_e2e_push"
FS_SECRET = "e2e-feishu-app-secret"
TG_TOKEN = "123456:e2eTelegramBotToken"
TG_SECRET = "e2eTelegramSecret_1"

# The [wecom], [dingtalk] and [feishu] sections of those apps.
APPS_INI = {
    "wecom": {"token": WECOM_TOKEN, "encoding_aes_key": WECOM_AES, "corp_id": CORP,
              "corp_secret": WECOM_SECRET, "agent_id": AGENT},
    "dingtalk": {"app_secret": DT_SECRET, "app_key": DT_KEY},
    "feishu": {"verification_token": FS_TOKEN, "encrypt_key": FS_KEY, "app_id": FS_APP,
               "app_secret": FS_SECRET},
}


class Chats:
    """The platforms' side of the conversations with the stack."""

    def __init__(self, test, stack):
        self.t, self.st = test, stack
        self.w = WeCom(WECOM_TOKEN, WECOM_AES, CORP)
        self.f = Feishu(FS_TOKEN, FS_KEY)

    def wecom(self, user, text):
        """Says text as a WeCom member; returns the passive reply."""
        enc, body = self.w.message(user, text)
        r = self.st.request("POST", "/hook/wecom?" + self.w.query(enc), body=body.encode(),
                            headers={"Content-Type": "text/xml"})
        self.t.assertEqual(r.status, 200, r)
        return self.w.reply_text(r.body.decode())

    def dingtalk(self, user, text, group=None):
        """Says text to the DingTalk robot, in a group (its conversation id)
        or one to one; the reply goes out through the session webhook."""
        base = self.st.ini["channels"]["dingtalk_base_url"]
        b = {"msgtype": "text", "text": {"content": text}, "msgId": "msg" + uuid.uuid4().hex,
             "createAt": int(time.time() * 1000), "conversationType": "2" if group else "1",
             "conversationId": group or "cid-single-" + user, "senderStaffId": user,
             "senderNick": "张三", "robotCode": DT_KEY,
             "sessionWebhook": base + "/session/" + user,
             "sessionWebhookExpiredTime": int(time.time() * 1000) + 5400000}
        ts = str(int(time.time() * 1000))
        r = self.st.request("POST", "/hook/dingtalk",
                            body=json.dumps(b, ensure_ascii=False).encode(),
                            headers={"Content-Type": "application/json; charset=utf-8",
                                     "timestamp": ts, "sign": dingtalk_sign(DT_SECRET, ts)})
        self.t.assertEqual(r.status, 200, r)

    def feishu(self, user, text, chat, group=False):
        """Says text in a Feishu chat (a group's when group)."""
        body = self.f.event(user, text, chat=chat, chat_type="group" if group else "p2p",
                            app_id=FS_APP)
        r = self.st.request("POST", "/hook/feishu", body=body, headers=self.f.headers(body))
        self.t.assertEqual(r.status, 200, r)

    def telegram(self, user, text, chat=None):
        """Says text to the Telegram bot, privately or in the supergroup
        chat; returns the webhook's answer."""
        chat = chat if chat is not None else user
        upd = {"update_id": int(time.time() * 1000) % 2 ** 31 + os.getpid(),
               "message": {"message_id": 1, "date": int(time.time()), "text": text,
                           "from": {"id": user, "is_bot": False, "first_name": "张"},
                           "chat": {"id": chat, "type": "private" if chat == user
                                    else "supergroup"}}}
        r = self.st.request("POST", "/hook/telegram",
                            body=json.dumps(upd, ensure_ascii=False).encode(),
                            headers={"Content-Type": "application/json",
                                     "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
        self.t.assertEqual(r.status, 200, r)
        return r

    def target(self, channel, user):
        """The subscription of a chat user (user: "group:<kind>:<chat>" for
        a group's, zq_target_group_id): the target hash, or {}."""
        tid = "chat-%s-%s" % (channel,
                              hashlib.sha1(("%s:%s" % (channel, user)).encode()).hexdigest()[:16])
        rows = self.st.redis_command("HGETALL", PREFIX + "target:" + tid) or []
        if isinstance(rows, dict):
            return dict(rows, _id=tid)
        d = dict(zip(rows[0::2], rows[1::2]))
        if d:
            d["_id"] = tid
        return d

"""Images and files sent in a chat (issue 15), end to end: a Telegram
update through nginx → zhuqi-fcgi (which only queues a fetch job) →
zhuqi-bot (getFile, the file download, the type from the bytes, the file
store) → the chat's draft → the case; the bot's answer (已收到 or why
not) through the fake's sendMessage. And a WeCom image through
media/get with the app's access token."""

import base64
import os
import json
import time
import unittest
import uuid

from chatsign import PREFIX, SAMPLES, WeCom, question_of
from bot_util import add_target, all_final, notice, wait_report
from harness import StackCase
from test_files import jpeg, pdf

TG_SECRET = "e2e_Telegram-Media"
TG_BOT = "515151:e2e-media-bot"
WC_TOKEN = "e2eMediaToken"
WC_AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WC_CORP = "wwe2emedia0001"
WC_SECRET = "e2e-wecom-media-secret"
WC_AGENT = 1000002

INI = {
    "telegram": {"secret_token": TG_SECRET, "bot_token": TG_BOT},
    "wecom": {"token": WC_TOKEN, "encoding_aes_key": WC_AES, "corp_id": WC_CORP,
              "corp_secret": WC_SECRET, "agent_id": WC_AGENT},
    # Downloads may take 4 x timeout_ms (16 s): room for SLOW_MS.
    "bot": {"timeout_ms": 4000},
}
# A slow platform's download (the fake's delay_ms): far longer than a
# notice takes, far shorter than the download's timeout.
SLOW_MS = 10000
NOTICE_BOT = "525252:e2e-media-notice-bot"
NOTE = "可以直接在对话中发送"


class ChatMedia(StackCase, unittest.TestCase):
    STACK_ARGS = {"bot": True, "fake": True, "app_max_body": "256k", "ini": INI}
    next_update = 910000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.fake.add_target("telegram", TG_BOT, rate_per_min=1000)
        cls.stack.fake.add_target("wecom-app", WC_CORP, app_secret=WC_SECRET, agent_id=WC_AGENT)
        cls.schemas = {f: cls.stack.get("/api/forms/" + f).json() for f in ("consult", "complaint")}
        cls.wc = WeCom(WC_TOKEN, WC_AES, WC_CORP)

    # -- Telegram's side ---------------------------------------------------

    def update(self, chat, text=None, extra=None):
        ChatMedia.next_update += 1
        msg = {"message_id": self.next_update, "from": {"id": chat, "is_bot": False},
               "chat": {"id": chat, "type": "private"}, "date": int(time.time())}
        if text is not None:
            msg["text"] = text
        msg.update(extra or {})
        body = json.dumps({"update_id": self.next_update, "message": msg}, ensure_ascii=False)
        r = self.stack.request("POST", "/hook/telegram", body=body.encode(), headers={
            "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
        self.assertEqual(r.status, 200, r)
        return r.json().get("text", "")

    def media(self, platform, data=b"", name="", size=None, delay_ms=0, mid=None):
        """Puts a file on the fake platform (again, with mid); returns its
        id."""
        mid = mid or "m" + uuid.uuid4().hex
        obj = {"platform": platform, "id": mid, "data_b64": base64.b64encode(data).decode(),
               "name": name, "delay_ms": delay_ms}
        if size is not None:
            obj["size"] = size
        r = self.stack.fake.request("POST", "/_media", obj)
        self.assertEqual(r.status, 200, r)
        return mid

    def photo(self, chat, data, caption=None, delay_ms=0, mid=None):
        mid = self.media("telegram", data, delay_ms=delay_ms, mid=mid)
        extra = {"photo": [{"file_id": "small" + mid, "file_unique_id": "s", "width": 90,
                            "height": 60, "file_size": 100},
                           {"file_id": mid, "file_unique_id": "b", "width": 1280,
                            "height": 960, "file_size": len(data)}]}
        if caption:
            extra["caption"] = caption
        return self.update(chat, extra=extra)

    def document(self, chat, data, name, size=None, stated=True):
        mid = self.media("telegram", data, name, size)
        doc = {"file_id": mid, "file_unique_id": "d", "file_name": name,
               "mime_type": "application/octet-stream"}
        if stated:
            doc["file_size"] = size if size is not None else len(data)
        return self.update(chat, extra={"document": doc})

    def bot_says(self, chat, since, what, timeout=30):
        """The bot's sendMessage texts to chat since the mark, once one
        contains what."""
        got = []

        def check():
            got[:] = [m.get("content", "") for m in self.stack.fake.messages(
                platform="telegram", target=TG_BOT, since=since)
                if m["accepted"] and str(m.get("chat_id")) == str(chat)]
            return any(what in t for t in got)
        try:
            self.stack.wait_for(check, timeout, "the bot's %r" % what, interval=0.1)
        except AssertionError as e:
            raise AssertionError("%s; got %r\nbot log:\n%s" % (e, got, self.stack._tail("bot", 30)))
        return got

    def mark(self):
        m = self.stack.fake.messages()
        return m[-1]["id"] if m else 0

    def new_chat(self):
        return int(uuid.uuid4().int % 10**9) + 10**9

    def to_files(self, send, form="complaint", start="2"):
        """Answers the questions until the one that says files may be sent
        here; returns that reply."""
        reply = send(start)
        for _ in range(60):
            if NOTE in reply:
                return reply
            f = question_of(self.schemas[form], reply)
            self.assertIsNotNone(f, "no question in:\n" + reply)
            reply = send(SAMPLES[f["id"]])
        self.fail("the files note never came")

    def finish(self, send, reply, form="complaint"):
        for _ in range(60):
            if "请核对" in reply:
                break
            f = question_of(self.schemas[form], reply)
            self.assertIsNotNone(f, "no question in:\n" + reply)
            reply = send(SAMPLES[f["id"]])
        self.assertIn("请核对", reply)
        return reply

    def confirm(self, send):
        reply = send("确认")
        self.assertIn("提交成功", reply)
        return reply.split("编号是：")[1].split("\n")[0].strip()

    def staff_case(self, case_id):
        r = self.stack.request("GET", "/api/admin/cases/" + case_id, headers={
            "Authorization": "Bearer " + self.stack.staff_token})
        self.assertEqual(r.status, 200, r)
        return r.json()["case"]

    def pending(self):
        return [m.decode() if isinstance(m, bytes) else m
                for m in self.stack.redis_command("ZRANGE", PREFIX + "files:pending", 0, -1)]

    def wecom_post(self, user, text=None, msgtype="text", extra=None):
        """A WeCom app callback from member user; returns the passive
        reply's text ("" when there is none)."""
        fields = "".join("<%s><![CDATA[%s]]></%s>" % (k, v, k) for k, v in (extra or {}).items())
        if text is not None:
            fields += "<Content><![CDATA[%s]]></Content>" % text
        inner = ("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]>"
                 "</FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[%s]]></MsgType>"
                 "%s<MsgId>%d</MsgId><AgentID>%d</AgentID></xml>"
                 % (WC_CORP, user, int(time.time()), msgtype, fields,
                    int.from_bytes(os.urandom(7), "big"), WC_AGENT))
        enc = self.wc.encrypt(inner.encode())
        body = ("<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[%d]]>"
                "</AgentID><Encrypt><![CDATA[%s]]></Encrypt></xml>" % (WC_CORP, WC_AGENT, enc))
        r = self.stack.request("POST", "/hook/wecom?" + self.wc.query(enc), body=body.encode(),
                               headers={"Content-Type": "text/xml"})
        self.assertEqual(r.status, 200, r)
        b = r.body.decode()
        return self.wc.reply_text(b) if "<Encrypt>" in b else ""

    # -- the tests -----------------------------------------------------------

    def test_photo_and_pdf_attached_to_the_case(self):
        chat = self.new_chat()
        send = lambda t: self.update(chat, t)  # noqa: E731
        note = self.to_files(send)
        self.assertIn("证据文件" + NOTE, note)
        m = self.mark()
        photo = jpeg(40000)
        # The webhook only queues the fetch: no reply in its answer.
        self.assertEqual(self.photo(chat, photo), "")
        said = self.bot_says(chat, m, "已收到：file_")
        self.assertRegex(said[-1], r"^已收到：file_\d+\.jpg（40 KB）$")
        m = self.mark()
        doc = pdf(5000)
        self.document(chat, doc, "采购合同.pdf")
        self.bot_says(chat, m, "已收到：采购合同.pdf（5 KB）")
        reply = self.finish(send, send(SAMPLES["evidence"]))
        self.assertIn("证据文件：其他：", reply)
        self.assertIn("采购合同.pdf", reply)
        case_id = self.confirm(send)
        case = self.staff_case(case_id)
        recs = case["answers"]["evidence_files"]
        self.assertEqual([(r["kind"], r["size"], r["type"]) for r in recs],
                         [("other", len(photo), "image/jpeg"), ("other", len(doc), "application/pdf")])
        self.assertEqual(recs[0]["by"], "chat:telegram")
        self.assertEqual([(f["name"], f["size"]) for f in case["files"]],
                         [(said[-1][4:-7], len(photo)), ("采购合同.pdf", len(doc))])
        # The bytes are the platform's, served to staff through nginx.
        r = self.stack.request("GET", case["files"][0]["url"], headers={
            "Authorization": "Bearer " + self.stack.staff_token})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, photo)
        # No longer pending: the sweep leaves them alone.
        self.assertFalse([p for p in self.pending() if p[:32] in (recs[0]["id"], recs[1]["id"])])

    def test_caption_names_the_kind(self):
        chat = self.new_chat()
        send = lambda t: self.update(chat, t)  # noqa: E731
        self.to_files(send)
        m = self.mark()
        self.photo(chat, jpeg(3000), caption="这是合同第一页")
        self.bot_says(chat, m, "已收到")
        reply = self.finish(send, send("跳过"))
        self.assertIn("证据文件：合同：", reply)

    def test_too_big_refused(self):
        chat = self.new_chat()
        send = lambda t: self.update(chat, t)  # noqa: E731
        self.to_files(send)
        # The size Telegram states is over [files] max_file_size: refused
        # at once, nothing fetched.
        reply = self.document(chat, b"", "扫描件.pdf", size=12 * 1048576)
        self.assertIn("文件过大", reply)
        self.assertIn("单个文件不能超过 10 MB", reply)
        # No size stated, and over Telegram's 20 MB: getFile refuses.
        m = self.mark()
        self.document(chat, b"", "录像.pdf", size=25 * 1048576, stated=False)
        said = self.bot_says(chat, m, "文件过大")
        self.assertTrue(any("20 MB" in t for t in said), said)
        refused = [x for x in self.stack.fake.messages(platform="telegram", since=m)
                   if x.get("reply", {}).get("description") == "Bad Request: file is too big"]
        self.assertEqual(len(refused), 1)

    def test_exe_refused(self):
        chat = self.new_chat()
        send = lambda t: self.update(chat, t)  # noqa: E731
        self.to_files(send)
        m = self.mark()
        exe = b"MZ\x90\x00" + b"\x00" * 2000
        self.document(chat, exe, "发票.jpg")
        said = self.bot_says(chat, m, "类型不能接收")
        self.assertTrue(any("JPG、PNG 图片和 PDF" in t for t in said), said)
        reply = self.finish(send, send("跳过"))
        self.assertNotIn("证据文件：", reply)
        self.assertEqual(list((p for p in self.pending() if p.endswith(":%d" % chat))), [])

    def test_no_files_question(self):
        chat = self.new_chat()
        # At the menu: nothing asks for files.
        self.update(chat, "菜单")
        reply = self.photo(chat, jpeg(2000))
        self.assertIn("当前没有需要上传文件的问题", reply)
        # Early in a complaint: the files question is still ahead.
        m = self.mark()
        reply = self.update(chat, "2")
        reply = self.photo(chat, jpeg(2000))
        self.assertIn("现在还不能接收文件", reply)
        self.assertIn("欠款方（付款方）是什么单位", reply, "the question is asked again")
        # Neither was queued: once there, a photo is fetched, and it is the
        # only file the bot asked Telegram for (jobs run in order).
        self.to_files(lambda t: self.update(chat, t), start=SAMPLES["payer_type"])
        self.photo(chat, jpeg(2500))
        self.bot_says(chat, m, "已收到")
        asked = [x for x in self.stack.fake.messages(platform="telegram", since=m)
                 if x.get("method") == "getFile"]
        self.assertEqual(len(asked), 1, asked)

    def test_download_failure_retried_then_reported(self):
        chat = self.new_chat()
        send = lambda t: self.update(chat, t)  # noqa: E731
        self.to_files(send)
        # The first two tries fail (502), the third gets through.
        self.stack.fake.add_fault(TG_BOT, "5xx", platform="telegram", count=2)
        m = self.mark()
        self.photo(chat, jpeg(5000))
        self.bot_says(chat, m, "已收到")
        self.stack.fake.clear_faults()
        self.assertRegex(self.stack.bot_log(), "chat_media_retry channel=telegram attempt=1")
        # Always failing: reported after the last try.
        self.stack.fake.add_fault(TG_BOT, "5xx", platform="telegram", count=3)
        m = self.mark()
        self.photo(chat, jpeg(5000))
        said = self.bot_says(chat, m, "文件接收失败")
        self.assertTrue(any("网页填写" in t for t in said), said)
        self.stack.fake.clear_faults()

    def test_wecom_image(self):
        user = "e2emedia" + uuid.uuid4().hex[:8]

        def send(text):
            return self.wecom_post(user, text=text)
        self.to_files(send)
        img = jpeg(8000)
        mid = self.media("wecom", img, "发票照片.jpg")
        m = self.mark()
        self.wecom_post(user, msgtype="image", extra={"MediaId": mid, "PicUrl": "http://x/y"})
        got = []

        def check():
            got[:] = [x.get("content", "") for x in self.stack.fake.messages(
                platform="wecom-appmsg", target=user, since=m) if x["accepted"]]
            return any("已收到：发票照片.jpg（8 KB）" in t for t in got)
        self.stack.wait_for(check, 30, "the bot's answer on WeCom")
        # An unknown MediaId: WeCom's 40007, refused without retrying.
        m = self.mark()
        self.wecom_post(user, msgtype="image", extra={"MediaId": "nosuchmedia"})

        def check2():
            got[:] = [x.get("content", "") for x in self.stack.fake.messages(
                platform="wecom-appmsg", target=user, since=m) if x["accepted"]]
            return any("文件接收失败" in t for t in got)
        self.stack.wait_for(check2, 30, "the refusal on WeCom")
        media = [x for x in self.stack.fake.messages(platform="wecom-media", since=m)]
        self.assertEqual([x["reply"]["errcode"] for x in media], [40007])


    # -- a slow platform holds its own job only, and no SIGTERM -------------

    def temp_files(self):
        return [n for n in os.listdir(self.stack.ini["files"]["upload_temp_dir"])
                if n.startswith("chatmedia.")]

    def downloading(self):
        """Waits until the bot writes the download's temporary file."""
        try:
            self.stack.wait_for(lambda: self.temp_files(), 30, "the download's temporary file")
        except AssertionError as e:
            raise AssertionError("%s\nbot log:\n%s" % (e, self.stack._tail("bot", 30)))

    def test_slow_download_does_not_hold_deliveries(self):
        st = self.stack
        st.fake.add_target("telegram", NOTICE_BOT, rate_per_min=1000)
        add_target(st, id="media-notice", channel="telegram", address=NOTICE_BOT,
                   chat_id="4242", tags=["media-notice"])
        chat = self.new_chat()
        self.to_files(lambda t: self.update(chat, t))
        m = self.mark()
        mid = "m" + uuid.uuid4().hex
        self.photo(chat, jpeg(3000), delay_ms=SLOW_MS, mid=mid)
        self.downloading()
        nid = notice(st, "下载期间的通知", "正文", {"tags": ["media-notice"]})
        wait_report(st, nid, all_final(1))
        self.bot_says(chat, m, "已收到")
        # The fake records the download when it answers: the notice went
        # out while the bot waited for the file.
        msgs = st.fake.messages(platform="telegram", since=m)
        path = [x["reply"]["result"]["file_path"] for x in msgs
                if x.get("method") == "getFile" and x["content"] == "getFile " + mid]
        sent = [x["id"] for x in msgs if x["target"] == NOTICE_BOT and x["accepted"]]
        got = [x["id"] for x in msgs if path and x.get("file_path") == path[0] and x["accepted"]]
        self.assertEqual((len(path), len(sent), len(got)), (1, 1, 1),
                         [(x["id"], x["path"]) for x in msgs])
        self.assertLess(sent[0], got[0])
        self.assertEqual(self.temp_files(), [])

    def test_sigterm_during_download(self):
        st = self.stack
        chat = self.new_chat()
        self.to_files(lambda t: self.update(chat, t))
        m = self.mark()
        mid = "m" + uuid.uuid4().hex
        self.photo(chat, jpeg(3000), delay_ms=SLOW_MS, mid=mid)
        self.downloading()
        try:
            # Stops within the contract, not after the download.
            self.assertStopsCleanly(st, "bot")
            self.assertEqual(self.temp_files(), [])
            self.assertFalse([x for x in st.fake.messages(platform="telegram", since=m)
                              if x.get("file_path")])
            self.assertIn("event=chat_media_abandoned channel=telegram", st.bot_log())
        finally:
            # The platform is quick again; the next bot takes the job.
            self.media("telegram", jpeg(3000), mid=mid)
            st.start_bot()
        said = self.bot_says(chat, m, "已收到")
        self.assertEqual(len([t for t in said if "已收到" in t]), 1, said)
        self.assertEqual(self.temp_files(), [])

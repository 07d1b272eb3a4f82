"""订阅 / 退订 in the chats of a WeCom app, a DingTalk app robot and a
Feishu app, end to end: users say "订阅 成都" through the signed webhooks
(nginx → zhuqi-fcgi), which creates push targets of the app kinds
(wecom-app, dingtalk-app, feishu-chat); a service notice to the region and
the monthly reminder reach them through each platform's app message API on
the fake platform, which checks the access token the bot fetched (valid,
not expired, of the right app), the agentid / robotCode, the required
fields and the sizes. Expired tokens are refreshed once and the message
sent again; throttling is retried, a member the app cannot reach is a dead
letter; 退订 stops the delivery. A WeCom reply too long for one passive
reply (the complaint's review) arrives whole and in order as app
messages, once even when WeCom retries the callback."""

import calendar
import hashlib
import json
import time
import unittest
import urllib.parse
import uuid

from bot_util import all_final, notice, post, wait_report
from chatsign import PREFIX, SAMPLES, WeCom, generic_sign, question_of, uscc
from chats import (AGENT, APPS_INI, CORP, Chats, DT_KEY, DT_SECRET, FS_APP, FS_SECRET, WECOM_AES,
                   WECOM_SECRET, WECOM_TOKEN)
from harness import Checks, Stack, StackCase, write_ini

INI = dict(APPS_INI, **{
    "bot": {"retry_base_ms": 200, "retry_max_ms": 1000, "max_attempts": 4, "timeout_ms": 2000,
            "claim_idle_ms": 5000},
})


def register_apps(fake):
    fake.add_target("wecom-app", CORP, app_secret=WECOM_SECRET, agent_id=AGENT)
    fake.add_target("dingtalk-app", DT_KEY, app_secret=DT_SECRET)
    fake.add_target("feishu-app", FS_APP, app_secret=FS_SECRET)


class AppPush(StackCase, unittest.TestCase):
    STACK_ARGS = {"bot": True, "fake": True, "app_max_body": "256k", "ini": INI}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        register_apps(cls.stack.fake)

    def setUp(self):
        self.c = Chats(self, self.stack)

    def subscribe_all(self, region_word, tag):
        """A WeCom member, a DingTalk group, a DingTalk member one to one and
        a Feishu group subscribe with region_word; returns their ids."""
        u = uuid.uuid4().hex[:8]
        ids = {"wecom": "wx." + u, "dt_user": "staff" + u, "dt_group_user": "gstaff" + u,
               "dt_group": "cidE2E%s+/=" % u, "fs_user": "ou_" + u, "fs_chat": "oc_e2e" + u}
        reply = self.c.wecom(ids["wecom"], "订阅 " + region_word)
        self.assertIn("订阅成功", reply)
        self.c.dingtalk(ids["dt_user"], "订阅 " + region_word)
        self.c.dingtalk(ids["dt_group_user"], "订阅 " + region_word, group=ids["dt_group"])
        self.c.feishu(ids["fs_user"], "订阅 " + region_word, ids["fs_chat"])
        want = {("wecom", ids["wecom"]): ("wecom-app", ids["wecom"]),
                ("dingtalk", ids["dt_user"]): ("dingtalk-app", "user:" + ids["dt_user"]),
                # A group's subscription belongs to the group (issue 13).
                ("dingtalk", "group:dingtalk-app:group:" + ids["dt_group"]):
                    ("dingtalk-app", "group:" + ids["dt_group"]),
                ("feishu", ids["fs_user"]): ("feishu-chat", ids["fs_chat"])}
        ids["targets"] = []
        for (ch, user), (kind, addr) in want.items():
            t = self.c.target(ch, user)
            self.assertEqual(t.get("channel"), kind, (ch, user, t))
            self.assertEqual(t["address"], addr)
            tags = t["tags"].split(",")
            for tg in ("tax", "tax_day", tag, "region:" + tag):
                self.assertIn(tg, tags)
            ids["targets"].append(t["_id"])
        return ids

    def test_subscribe_notice_token_refresh_unsubscribe(self):
        st, fake = self.stack, self.stack.fake
        ids = self.subscribe_all("成都", "510100")
        # The replies of DingTalk and Feishu went out through the bot.
        st.wait_for(lambda: fake.messages(platform="dingtalk-session", target=ids["dt_user"],
                                          accepted=True), 15, "the DingTalk reply")
        st.wait_for(lambda: [m for m in fake.messages(platform="feishu-reply", accepted=True)
                             if "订阅成功" in m["content"]], 15, "the Feishu reply")
        since = fake.messages()[-1]["id"]

        nid = notice(st, "成都市服务通知", "**创客中国**报名开始\n- 线上报名", {"tags": ["510100"]})
        rep = wait_report(st, nid, all_final(4))
        self.assertEqual(rep["totals"]["sent"], 4, rep)
        for line in rep["targets"]:
            self.assertEqual(line["attempts"], 1, line)

        (w,) = fake.messages(platform="wecom-appmsg", target=ids["wecom"], since=since)
        self.assertTrue(w["accepted"], w)
        self.assertEqual(w["json"]["agentid"], AGENT)
        self.assertEqual(w["json"]["msgtype"], "markdown")
        self.assertIn("成都市服务通知", w["content"])
        self.assertEqual(w["app_id"], CORP)
        self.assertIn("access_token=", w["path"])
        (g,) = fake.messages(platform="dingtalk-appmsg", target=ids["dt_group"], since=since)
        self.assertTrue(g["accepted"], g)
        self.assertTrue(g["path"].endswith("/v1.0/robot/groupMessages/send"), g["path"])
        self.assertEqual(g["json"]["robotCode"], DT_KEY)
        self.assertEqual(g["json"]["msgKey"], "sampleMarkdown")
        self.assertIn("创客中国", json.loads(g["json"]["msgParam"])["text"])
        self.assertTrue(g["headers"].get("x-acs-dingtalk-access-token"))
        (u,) = fake.messages(platform="dingtalk-appmsg", target=ids["dt_user"], since=since)
        self.assertTrue(u["accepted"], u)
        self.assertEqual(u["json"]["userIds"], [ids["dt_user"]])
        self.assertEqual(u["reply"]["invalidStaffIdList"], [])
        (f,) = fake.messages(platform="feishu-chat", target=ids["fs_chat"], since=since)
        self.assertTrue(f["accepted"], f)
        self.assertTrue(f["headers"]["authorization"].startswith("Bearer "))
        self.assertEqual(urllib.parse.parse_qs(urllib.parse.urlsplit(f["path"]).query),
                         {"receive_id_type": ["chat_id"]})
        self.assertIn("【成都市服务通知】", f["content"])
        # One token per app, shared by every send (cached in Redis).
        for p in ("wecom-app", "dingtalk-app"):
            self.assertEqual(len(fake.messages(platform=p, accepted=True, since=since)), 1, p)
        self.assertTrue(st.redis_command("GET", PREFIX + "wecom:access_token:%s:%d"
                                         % (CORP, AGENT)))
        self.assertTrue(st.redis_command("GET", PREFIX + "dingtalk:access_token:" + DT_KEY))

        # Every token expires on the platform's side before our cached copy:
        # each send is refused once, a fresh token is fetched, sent again.
        fake.expire_tokens()
        since = fake.messages()[-1]["id"]
        nid = notice(st, "第二条通知", "令牌过期之后", {"tags": ["510100"]})
        rep = wait_report(st, nid, all_final(4))
        self.assertEqual(rep["totals"]["sent"], 4, rep)
        for line in rep["targets"]:
            self.assertEqual(line["attempts"], 1, line)  # a refresh is not an attempt
        w = fake.messages(platform="wecom-appmsg", target=ids["wecom"], since=since)
        self.assertEqual([m["accepted"] for m in w], [False, True], w)
        self.assertEqual(w[0]["reply"]["errcode"], 42001)
        self.assertNotEqual(query_token(w[0]), query_token(w[1]))
        f = fake.messages(platform="feishu-chat", target=ids["fs_chat"], since=since)
        self.assertEqual([m["accepted"] for m in f], [False, True], f)
        self.assertEqual(f[0]["reply"]["code"], 99991677)
        g = fake.messages(platform="dingtalk-appmsg", target=ids["dt_group"], since=since)
        self.assertEqual([m["accepted"] for m in g], [False, True], g)
        self.assertEqual(g[0]["reply"]["code"], "InvalidAuthentication")
        self.assertEqual(g[0]["status"], 400)
        self.assertGreaterEqual(len(fake.messages(platform="wecom-app", since=since)), 1)
        self.assertIn("event=app_token_rejected", st.bot_log())

        # 退订: the WeCom member and the DingTalk group leave.
        self.assertIn("已退订", self.c.wecom(ids["wecom"], "退订"))
        self.c.dingtalk(ids["dt_group_user"], "退订", group=ids["dt_group"])
        self.assertEqual(self.c.target("wecom", ids["wecom"]), {})
        self.assertEqual(self.c.target("dingtalk", "group:dingtalk-app:group:" + ids["dt_group"]),
                         {})
        self.assertEqual(st.redis_command("SISMEMBER", PREFIX + "targets:tag:510100",
                                          ids["targets"][0]), 0)
        since = fake.messages()[-1]["id"]
        nid = notice(st, "第三条通知", "退订之后", {"tags": ["510100"]})
        rep = wait_report(st, nid, all_final(2))
        self.assertEqual(sorted(line["channel"] for line in rep["targets"]),
                         ["dingtalk-app", "feishu-chat"], rep)
        self.assertEqual(fake.messages(platform="wecom-appmsg", target=ids["wecom"], since=since),
                         [])
        self.assertEqual(fake.messages(platform="dingtalk-appmsg", target=ids["dt_group"],
                                       since=since), [])
        self.assertEqual(len(fake.messages(platform="feishu-chat", target=ids["fs_chat"],
                                           since=since, accepted=True)), 1)

    def test_throttle_retries_and_unreachable_member_fails(self):
        st, fake = self.stack, self.stack.fake
        ids = self.subscribe_all("绵阳", "510700")
        fake.add_fault(ids["dt_group"], "throttle", platform="dingtalk-appmsg", count=1)
        fake.add_fault(ids["fs_chat"], "throttle", platform="feishu-chat", count=1)
        # The member left the company: WeCom answers 81013 with invaliduser.
        fake.add_fault(ids["wecom"], "fail", platform="wecom-appmsg")
        nid = notice(st, "绵阳市服务通知", "正文", {"tags": ["510700"]})
        rep = wait_report(st, nid, all_final(4), timeout=30)
        lines = {l["channel"] + ":" + l["target"]: l for l in rep["targets"]}
        by_kind = {}
        for l in rep["targets"]:
            by_kind.setdefault(l["channel"], []).append(l)
        (w,) = by_kind["wecom-app"]
        self.assertEqual(w["status"], "failed", rep)
        self.assertEqual(w["attempts"], 1, rep)
        self.assertIn("81013", w["last_error"])
        (f,) = by_kind["feishu-chat"]
        self.assertEqual((f["status"], f["attempts"]), ("sent", 2), rep)
        dts = sorted((l["status"], l["attempts"]) for l in by_kind["dingtalk-app"])
        self.assertEqual(dts, [("sent", 1), ("sent", 2)], lines)
        g = fake.messages(platform="dingtalk-appmsg", target=ids["dt_group"])
        self.assertEqual([m["status"] for m in g], [403, 200], g)
        self.assertEqual(g[0]["reply"]["code"], "Forbidden.AccessDenied.QpsLimitForApi")
        dead = st.redis_command("XRANGE", PREFIX + "outbox:dead", "-", "+")
        mine = [dict(zip(e[1][::2], e[1][1::2])) for e in dead]
        self.assertIn(ids["targets"][0], [d["t"] for d in mine if d["n"] == nid])

    def test_token_endpoint_down_then_back(self):
        """WeCom's gettoken answers 502 once: the messages wait and go out
        with a token fetched later; nothing is dead-lettered."""
        st, fake = self.stack, self.stack.fake
        u = uuid.uuid4().hex[:8]
        users = ["wxdown%d%s" % (i, u) for i in range(3)]
        for user in users:
            self.assertIn("订阅成功", self.c.wecom(user, "订阅 德阳"))
        st.redis_command("DEL", PREFIX + "wecom:access_token:%s:%d" % (CORP, AGENT))
        since = fake.messages()[-1]["id"]
        fake.add_fault(CORP, "5xx", platform="wecom-app", count=1)
        nid = notice(st, "德阳市服务通知", "正文", {"tags": ["510600"]})
        rep = wait_report(st, nid, all_final(3), timeout=30)
        self.assertEqual(rep["totals"]["sent"], 3, rep)
        tokens = fake.messages(platform="wecom-app", since=since)
        self.assertEqual([m["status"] for m in tokens], [502, 200], tokens)
        for user in users:
            (m,) = fake.messages(platform="wecom-appmsg", target=user, since=since)
            self.assertTrue(m["accepted"], m)
        self.assertIn("wecom token: HTTP 502", st.bot_log())

    def test_chat_without_app_credentials_is_not_offered(self):
        """A WeCom message to another app of the company (its AgentID): 订阅
        says it cannot push there, and nothing is stored."""
        w = WeCom(WECOM_TOKEN, WECOM_AES, CORP)
        user = "wx-other-" + uuid.uuid4().hex[:6]
        inner = ("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]>"
                 "</FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                 "<Content><![CDATA[订阅 成都]]></Content><MsgId>%d</MsgId>"
                 "<AgentID>1000009</AgentID></xml>"
                 % (CORP, user, int(time.time()), uuid.uuid4().int % 10 ** 18))
        enc2 = w.encrypt(inner.encode())
        body_other = ("<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[1000009]]>"
                      "</AgentID><Encrypt><![CDATA[%s]]></Encrypt></xml>" % (CORP, enc2))
        r = self.stack.request("POST", "/hook/wecom?" + w.query(enc2), body=body_other.encode(),
                               headers={"Content-Type": "text/xml"})
        self.assertEqual(r.status, 200, r)
        self.assertIn("暂时不能推送提醒", w.reply_text(r.body.decode()))
        self.assertEqual(self.c.target("wecom", user), {})


GEN_SECRET = "e2e-generic-secret-long"
# Answers long enough that the review (40 characters of each shown) is
# well over the 2048 bytes of one passive reply.
LONG = dict(SAMPLES,
            company_name="成都示例科技有限公司（四川省成都市高新技术产业开发区天府软件园分公司）",
            address="四川省成都市高新区天府大道北段一千七百号环球中心东区十八楼一千八百零一号至一千八百零九号",
            respondent_name="某市某区某街道办事处下属某某国有资产经营管理有限责任公司第三分公司",
            contract_name="二〇二六年度办公设备及配套软件采购安装调试与三年运维服务合同（第一标段）",
            facts="我公司于二〇二六年一月签订合同并按期交付全部设备，经对方验收合格后至今未付款，" * 3,
            demand="请求督促对方依照合同约定立即支付全部欠款，并按照约定利率支付逾期付款利息。" * 2,
            evidence="合同原件复印件、送货单、验收单、增值税专用发票、多次书面催款函及邮寄凭证。" * 2,
            respondent_uscc=uscc("11510100MB0123456"), acceptance_based="是",
            acceptance_date="2026-02-10", payment_term="3",
            payment_term_note="验收合格后九十日内支付合同价款的百分之九十五，其余百分之五作为质量保证金一年后付清",
            undisputed_fen="100,000.00")
REVIEW_END = "回复“取消”放弃填写。"


class WeComLongReply(StackCase, unittest.TestCase):
    """The complaint's review does not fit one passive reply: with the app
    message API configured, the callback is answered empty and the whole
    review comes through WeCom's app message API, in order, cut on
    characters at 2048 bytes; a retried MsgId sends nothing more. The
    review is compared with the one the generic channel shows for the
    same answers."""

    STACK_ARGS = {"bot": True, "fake": True, "app_max_body": "256k",
                  "ini": dict(INI, generic={"secret": GEN_SECRET},
                              channels={"generic_max_bytes": 65536})}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        register_apps(cls.stack.fake)
        cls.schema = cls.stack.get("/api/forms/complaint").json()

    def generic(self, user):
        def send(text):
            body = json.dumps({"user": user, "text": text, "id": uuid.uuid4().hex},
                              ensure_ascii=False).encode()
            ts = str(int(time.time()))
            r = self.stack.request("POST", "/hook/generic", body=body,
                                   headers={"Content-Type": "application/json",
                                            "X-Zhuqi-Timestamp": ts,
                                            "X-Zhuqi-Signature": generic_sign(GEN_SECRET, ts,
                                                                              body)})
            self.assertEqual(r.status, 200, r)
            return "\n\n".join(r.json()["replies"])
        return send

    def drive_to_review(self, send):
        """Answers every question with LONG; returns the review."""
        reply = send("投诉")
        for _ in range(60):
            if "请核对" in reply:
                return reply
            f = question_of(self.schema, reply)
            self.assertIsNotNone(f, "no question found in reply:\n" + reply)
            reply = send(LONG[f["id"]])
        self.fail("no review")

    def test_long_review_arrives_whole_and_in_order(self):
        st, fake = self.stack, self.stack.fake
        w = WeCom(WECOM_TOKEN, WECOM_AES, CORP)
        user = "wx.long." + uuid.uuid4().hex[:8]
        want = self.drive_to_review(self.generic("g-" + user))
        self.assertTrue(want.endswith(REVIEW_END), want)
        self.assertGreater(len(want.encode()), 2048)  # 2270 bytes when written
        state = {"last": None}

        def post(body, enc):
            r = st.request("POST", "/hook/wecom?" + w.query(enc), body=body.encode(),
                           headers={"Content-Type": "text/xml"})
            self.assertEqual(r.status, 200, r)
            return r

        def send(text):
            enc, body = w.message(user, text)
            state["last"] = (enc, body)
            since = fake.messages()[-1]["id"] if fake.messages() else 0
            r = post(body, enc)
            out = w.reply_text(r.body.decode())
            if out:
                self.assertLessEqual(len(out.encode()), 2048)
                self.assertNotIn("未能全部显示", out)
                return out
            # Answered empty: the reply follows as app messages. WeCom
            # retries the callback at once (as if our answer was late): the
            # same empty answer, nothing queued twice.
            self.assertEqual(post(body, enc).body, b"")
            state["since"] = since
            st.wait_for(lambda: "".join(m["content"] for m in fake.messages(
                platform="wecom-appmsg", target=user, since=since,
                accepted=True)).endswith(REVIEW_END), 20, "the app messages")
            return "".join(m["content"] for m in fake.messages(
                platform="wecom-appmsg", target=user, since=since, accepted=True))

        got = self.drive_to_review(send)
        self.assertEqual(got, want)  # complete, in order, not a character lost
        # WeCom retries the callback with the same MsgId: an empty answer,
        # the dialogue does not move, nothing is queued or sent again.
        v = st.redis_command("HGET", PREFIX + "chat:wecom:" + user, "v")
        enc, body = state["last"]
        again = post(body, enc)
        self.assertEqual(again.body, b"")
        self.assertEqual(st.redis_command("HGET", PREFIX + "chat:wecom:" + user, "v"), v)
        # Let the bot finish whatever it would do, then look at everything
        # the member received since the review began.
        st.wait_for(lambda: st.outbox_drained(PREFIX), 10, "the priority lane to drain")
        time.sleep(1.0)
        msgs = fake.messages(platform="wecom-appmsg", target=user, since=state["since"])
        self.assertGreaterEqual(len(msgs), 2, msgs)
        self.assertTrue(all(m["accepted"] for m in msgs), msgs)
        self.assertEqual("".join(m["content"] for m in msgs), want)  # no part twice
        for m in msgs:
            self.assertEqual(m["json"]["msgtype"], "text")
            self.assertEqual(m["json"]["agentid"], AGENT)
            self.assertLessEqual(len(m["content"].encode()), 2048)
            self.assertIn("access_token=", m["path"])
        # The sends took slots in the member's rate-limit log (the one its
        # subscription would use: [channels] wecom_per_minute holds for both).
        tid = "chat-wecom-" + hashlib.sha1(("wecom:" + user).encode()).hexdigest()[:16]
        self.assertGreaterEqual(st.redis_command("ZCARD", PREFIX + "rl:" + tid), len(msgs))
        # And the dialogue goes on: 确认 files the case, answered passively.
        self.assertRegex(send("确认"), r"编号是：TS\d{8}-\d{4,}")


def query_token(msg):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(msg["path"]).query)["access_token"][0]


def offset_to(beijing):
    t = calendar.timegm(time.strptime(beijing, "%Y-%m-%dT%H:%M:%S")) - 8 * 3600
    return int(round(t - time.time()))


class MonthlyReminderToAppChats(Checks, unittest.TestCase):
    """The shipped reminder rule (config/reminders.json, audience tax_day)
    reaches the chats that said 订阅, on every app platform."""

    def test_eve_reminder_reaches_every_app_chat(self):
        st = Stack(name=self._testMethodName, fake=True, app_max_body="256k", ini=INI)
        self.addCleanup(st.close)
        register_apps(st.fake)
        c = Chats(self, st)
        u = uuid.uuid4().hex[:8]
        self.assertIn("请回复企业所在的市", c.wecom("wx" + u, "订阅"))
        self.assertIn("订阅成功", c.wecom("wx" + u, "跳过"))
        c.dingtalk("g" + u, "订阅 德阳", group="cidREM" + u)
        c.feishu("ou_" + u, "订阅 乐山", "oc_rem" + u)
        # A member who subscribed and left again gets nothing.
        c.wecom("wxgone" + u, "订阅 成都")
        c.wecom("wxgone" + u, "退订")
        st.ini["bot"]["clock_offset_s"] = offset_to("2026-12-26T16:07:02")
        write_ini(st.ini_path, st.ini)
        st.start_bot()
        fake = st.fake
        st.wait_for(lambda: (fake.messages(platform="wecom-appmsg", target="wx" + u,
                                           accepted=True)
                             and fake.messages(platform="dingtalk-appmsg", target="cidREM" + u,
                                               accepted=True)
                             and fake.messages(platform="feishu-chat", target="oc_rem" + u,
                                               accepted=True)), 30, "the reminder on every app")
        for p, t in (("wecom-appmsg", "wx" + u), ("dingtalk-appmsg", "cidREM" + u),
                     ("feishu-chat", "oc_rem" + u)):
            (m,) = fake.messages(platform=p, target=t)
            self.assertIn("税务助企宣讲日", m["content"], m)
            self.assertIn("明天", m["content"], m)
        self.assertEqual(fake.messages(platform="wecom-appmsg", target="wxgone" + u), [])
        mark = st.redis_command("GET", PREFIX + "sched:tax-day:2026-12:eve")
        self.assertTrue(mark and mark.startswith("RM"), mark)
        self.assertStopsCleanly(st, "bot")


if __name__ == "__main__":
    unittest.main()

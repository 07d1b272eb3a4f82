"""Push targets as the platforms really treat them (issue 13, items 9-12),
end to end through nginx, zhuqi-fcgi, zhuqi-bot and the fake platform:

- a throttled or ailing token endpoint (Feishu 99991400, DingTalk quota
  403s, WeCom -1/45009) makes the messages wait, while credentials the
  platform refuses (Feishu 10014, WeCom 40013, DingTalk
  invalidClientIdOrSecret) fail them at once;
- Feishu app messages carry a uuid and WeCom app messages ask for the
  duplicate check, both stable across retries, so a send whose answer
  was lost arrives once;
- a group's subscription belongs to the group: two members subscribing
  make one target, each notice arrives once, a member's 退订 ends it;
- a chat the bot was blocked in or removed from disables its target (with
  the reason, shown to staff), audiences skip it, staff or a new 订阅
  enable it again."""

import hashlib
import unittest
import uuid

from bot_util import all_final, get, notice, post, wait_report
from chatsign import PREFIX
from chats import (AGENT, APPS_INI, CORP, Chats, DT_KEY, DT_SECRET, FS_APP, FS_SECRET, TG_SECRET,
                   TG_TOKEN, WECOM_SECRET)
from harness import StackCase

INI = dict(APPS_INI, **{
    "telegram": {"bot_token": TG_TOKEN, "secret_token": TG_SECRET},
    "bot": {"retry_base_ms": 200, "retry_max_ms": 1000, "max_attempts": 6, "timeout_ms": 1500,
            "claim_idle_ms": 5000},
})

TOKEN_KEYS = ("wecom:access_token:%s:%d" % (CORP, AGENT), "dingtalk:access_token:" + DT_KEY,
              "feishu:tenant_token:" + FS_APP)


def chat_targets(stack):
    """Every stored target made by a chat subscription: {id: hash}."""
    out = {}
    for tid in stack.redis_command("SMEMBERS", PREFIX + "targets") or []:
        rows = stack.redis_command("HGETALL", PREFIX + "target:" + tid) or []
        d = rows if isinstance(rows, dict) else dict(zip(rows[0::2], rows[1::2]))
        if d.get("source", "").startswith("chat:"):
            out[tid] = d
    return out


def last_id(fake):
    m = fake.messages()
    return m[-1]["id"] if m else 0


def dead_of(stack, nid):
    """The dead letters of notice nid."""
    dead = stack.redis_command("XRANGE", PREFIX + "outbox:dead", "-", "+") or []
    rows = [dict(zip(e[1][::2], e[1][1::2])) for e in dead]
    return [d for d in rows if d.get("n") == nid]


def targets_to(stack, channel, address):
    return {k: v for k, v in chat_targets(stack).items()
            if v.get("channel") == channel and v.get("address") == address}


class PlatformTargets(StackCase, unittest.TestCase):
    STACK_ARGS = {"bot": True, "fake": True, "ini": INI}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        fake = cls.stack.fake
        fake.add_target("wecom-app", CORP, app_secret=WECOM_SECRET, agent_id=AGENT)
        fake.add_target("dingtalk-app", DT_KEY, app_secret=DT_SECRET)
        fake.add_target("feishu-app", FS_APP, app_secret=FS_SECRET)

    def setUp(self):
        self.c = Chats(self, self.stack)
        self.stack.fake.clear_faults()

    def forget_tokens(self):
        for k in TOKEN_KEYS:
            self.stack.redis_command("DEL", PREFIX + k)

    def subscribe_apps(self, word):
        """A WeCom member, a DingTalk member and a Feishu chat subscribe."""
        u = uuid.uuid4().hex[:8]
        self.mark = last_id(self.stack.fake)
        ids = {"wecom": "wx." + u, "dt_user": "staff" + u, "fs_user": "ou_" + u,
               "fs_chat": "oc_tok" + u}
        self.assertIn("订阅成功", self.c.wecom(ids["wecom"], "订阅 " + word))
        self.c.dingtalk(ids["dt_user"], "订阅 " + word)
        self.c.feishu(ids["fs_user"], "订阅 " + word, ids["fs_chat"])
        fake = self.stack.fake
        # The replies go out through the bot (the Feishu one with a tenant
        # token): let them finish before the test plays with the tokens.
        self.stack.wait_for(lambda: [m for m in fake.messages(platform="feishu-reply",
                                                              accepted=True, since=self.mark)
                                     if "订阅成功" in m["content"]], 15, "the Feishu reply")
        self.stack.wait_for(lambda: fake.messages(platform="dingtalk-session",
                                                  target=ids["dt_user"], accepted=True), 15,
                            "the DingTalk reply")
        return ids

    # -- item 9: token endpoints ------------------------------------------------

    def test_token_1_throttled_fetch_waits_and_sends(self):
        """Each token endpoint answers its throttling once: the messages
        wait and go out; nothing is dead-lettered as refused credentials."""
        st, fake = self.stack, self.stack.fake
        ids = self.subscribe_apps("泸州")
        self.forget_tokens()
        since = last_id(fake)
        fake.add_fault(FS_APP, "throttle", platform="feishu-app", count=1)
        fake.add_fault(DT_KEY, "throttle", platform="dingtalk-app", count=1,
                       style="Forbidden.AccessDenied.QpmLimitForAppkeyAndApi")
        fake.add_fault(CORP, "throttle", platform="wecom-app", count=1)
        nid = notice(st, "泸州市服务通知", "令牌接口限流", {"tags": ["510500"]})
        rep = wait_report(st, nid, all_final(3), timeout=40)
        self.assertEqual(rep["totals"]["sent"], 3, rep)
        toks = {p: [(m["status"], (m.get("reply") or {}).get("code",
                                                             (m.get("reply") or {}).get("errcode")))
                    for m in fake.messages(platform=p, since=since)]
                for p in ("feishu-app", "dingtalk-app", "wecom-app")}
        self.assertEqual(toks["feishu-app"][0], (400, 99991400), toks)
        self.assertEqual(toks["dingtalk-app"][0],
                         (403, "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi"), toks)
        self.assertEqual(toks["wecom-app"][0], (200, 45009), toks)
        for p in toks:
            self.assertEqual(toks[p][-1][0], 200, toks)
        for who, plat in ((ids["fs_chat"], "feishu-chat"), (ids["wecom"], "wecom-appmsg"),
                          (ids["dt_user"], "dingtalk-appmsg")):
            self.assertEqual(len(fake.messages(platform=plat, target=who, since=since,
                                               accepted=True)), 1, (plat, who))
        self.assertEqual(dead_of(st, nid), [])

    def test_token_2_refused_credentials_fail_at_once(self):
        """Credentials the platform refuses are a dead letter on the first
        attempt, with the platform's code."""
        st, fake = self.stack, self.stack.fake
        ids = self.subscribe_apps("内江")
        self.forget_tokens()
        fake.add_fault(FS_APP, "fail", platform="feishu-app")
        fake.add_fault(DT_KEY, "fail", platform="dingtalk-app")
        fake.add_fault(CORP, "fail", platform="wecom-app", code=40013)
        nid = notice(st, "内江市服务通知", "凭据错误", {"tags": ["511000"]})
        rep = wait_report(st, nid, all_final(3), timeout=30)
        self.assertEqual(rep["totals"]["failed"], 3, rep)
        errs = {l["channel"]: (l["attempts"], l["last_error"]) for l in rep["targets"]}
        self.assertIn("10014", errs["feishu-chat"][1])
        self.assertIn("invalidClientIdOrSecret", errs["dingtalk-app"][1])
        self.assertIn("40013", errs["wecom-app"][1])
        for a, _ in errs.values():
            self.assertLessEqual(a, 1, errs)
        fake.clear_faults()
        # The next fetch works again (after the moment the bot holds a
        # refusal, so that the app's other messages do not ask again).
        del ids

    # -- item 10: the platforms' duplicate suppression --------------------------

    def test_lost_answer_retry_is_delivered_once(self):
        """The platform delivers the message but its answer is lost: the bot
        sends again with the same uuid (Feishu) / the same JSON under the
        duplicate check (WeCom), and the chat sees the message once."""
        st, fake = self.stack, self.stack.fake
        ids = self.subscribe_apps("宜宾")
        since = last_id(fake)
        fake.add_fault(ids["fs_chat"], "lost", platform="feishu-chat", count=1)
        fake.add_fault(ids["wecom"], "lost", platform="wecom-appmsg", count=1)
        nid = notice(st, "宜宾市服务通知", "应答丢失之后重发", {"tags": ["511500"]})
        rep = wait_report(st, nid, all_final(3), timeout=40)
        self.assertEqual(rep["totals"]["sent"], 3, rep)
        # (The resend is the bot's retry, or libcurl's own when the lost
        # answer was on a reused connection: both send the same body.)

        f = fake.messages(platform="feishu-chat", target=ids["fs_chat"], since=since)
        self.assertEqual(len(f), 2, f)
        self.assertEqual([m["accepted"] for m in f], [True, False], f)
        self.assertTrue(f[1]["verdict"].startswith("duplicate"), f[1])
        u = f[0]["json"].get("uuid")
        self.assertTrue(u and len(u) <= 50, f[0]["json"])
        self.assertEqual(f[1]["json"]["uuid"], u)
        w = fake.messages(platform="wecom-appmsg", target=ids["wecom"], since=since)
        self.assertEqual([m["accepted"] for m in w], [True, False], w)
        self.assertTrue(w[1]["verdict"].startswith("duplicate"), w[1])
        self.assertEqual(w[0]["json"]["enable_duplicate_check"], 1)
        self.assertEqual(w[0]["json"], w[1]["json"])

        # Another notice to the same chat has another uuid: it is delivered.
        since = last_id(fake)
        nid = notice(st, "宜宾市服务通知", "第二条", {"tags": ["511500"]})
        wait_report(st, nid, all_final(3), timeout=30)
        f2 = fake.messages(platform="feishu-chat", target=ids["fs_chat"], since=since)
        self.assertEqual([m["accepted"] for m in f2], [True], f2)
        self.assertNotEqual(f2[0]["json"]["uuid"], u)

    # -- item 12: permanent failures disable the target -------------------------

    def test_gone_targets_are_disabled_skipped_and_enabled_again(self):
        st, fake = self.stack, self.stack.fake
        u = uuid.uuid4().hex[:8]
        tg_user = int(uuid.uuid4().int % 10 ** 9) + 10 ** 9
        fs_chat, wx = "oc_gone" + u, "wx.gone" + u
        fake.add_target("telegram", TG_TOKEN)
        self.c.telegram(tg_user, "订阅 乐山")
        self.c.feishu("ou_g" + u, "订阅 乐山", fs_chat, group=True)
        self.assertIn("订阅成功", self.c.wecom(wx, "订阅 乐山"))
        st.wait_for(lambda: len(self.region_targets("511100")) == 3, 10, "three subscriptions")

        # The bot was blocked in Telegram, taken out of the Feishu group,
        # and the WeCom member left the company.
        fake.add_fault(TG_TOKEN, "fail", platform="telegram")
        fake.add_fault(fs_chat, "fail", platform="feishu-chat")
        fake.add_fault(wx, "fail", platform="wecom-appmsg")
        nid = notice(st, "乐山市服务通知", "第一条", {"tags": ["511100"]})
        rep = wait_report(st, nid, all_final(3), timeout=30)
        self.assertEqual(rep["totals"]["failed"], 3, rep)
        fake.clear_faults()
        lst = {t["channel"]: t for t in self.region_targets("511100")}
        self.assertEqual(sorted(lst), ["feishu-chat", "telegram", "wecom-app"])
        for ch, word in (("telegram", "blocked"), ("feishu-chat", "230002"),
                         ("wecom-app", "81013")):
            t = lst[ch]
            self.assertIs(t["disabled"], True, t)
            self.assertIn(word, t["disabled_reason"], t)
            self.assertTrue(t["disabled_at"].startswith("20"), t)
        self.assertIn("event=target_disabled", st.bot_log())

        # Audiences skip them: no send, no dead letter, nothing counted.
        since = last_id(fake)
        nid = notice(st, "乐山市服务通知", "第二条", {"tags": ["511100"]})
        rep = wait_report(st, nid, lambda r: r["state"] == "done", timeout=30)
        self.assertEqual(rep["totals"]["total"], 0, rep)
        self.assertEqual([m for m in fake.messages(since=since)
                          if m["platform"] in ("telegram", "feishu-chat", "wecom-appmsg")], [])
        self.assertEqual(dead_of(st, nid), [])

        # Staff enable the Telegram chat again; the Feishu group says 订阅
        # again; the WeCom member stays disabled.
        r = post(st, "/api/admin/targets/%s/enable" % lst["telegram"]["id"], {})
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json()["target"]["disabled"], False)
        self.assertNotIn("disabled_reason", r.json()["target"])
        self.assertEqual(post(st, "/api/admin/targets/no-such-target/enable", {}).status, 404)
        self.c.feishu("ou_g" + u, "订阅 乐山", fs_chat, group=True)
        st.wait_for(lambda: not {t["channel"]: t for t in self.region_targets("511100")}
                    ["feishu-chat"]["disabled"], 10, "the Feishu group enabled again")
        since = last_id(fake)
        nid = notice(st, "乐山市服务通知", "第三条", {"tags": ["511100"]})
        rep = wait_report(st, nid, all_final(2), timeout=30)
        self.assertEqual(sorted(l["channel"] for l in rep["targets"]), ["feishu-chat", "telegram"])
        self.assertEqual(rep["totals"]["sent"], 2, rep)
        self.assertEqual(fake.messages(platform="wecom-appmsg", target=wx, since=since), [])

    def region_targets(self, code):
        r = get(self.stack, "/api/admin/targets?tag=" + code)
        self.assertEqual(r.status, 200, r)
        return r.json()["targets"]

    # -- item 11: subscriptions belong to the chat ------------------------------

    def test_group_subscription_belongs_to_the_group(self):
        st, fake = self.stack, self.stack.fake
        u = uuid.uuid4().hex[:8]
        cid, fs_chat = "cidGrp%s+/=" % u, "oc_grp" + u
        members = ["m1" + u, "m2" + u, "m3" + u]
        # Two members of a DingTalk group and two of a Feishu group say 订阅.
        self.c.dingtalk(members[0], "订阅 自贡", group=cid)
        self.c.dingtalk(members[1], "订阅 自贡", group=cid)
        self.c.feishu("ou_a" + u, "订阅 自贡", fs_chat, group=True)
        self.c.feishu("ou_b" + u, "订阅 自贡", fs_chat, group=True)
        st.wait_for(lambda: targets_to(st, "feishu-chat", fs_chat), 10, "the Feishu group")
        dt = targets_to(st, "dingtalk-app", "group:" + cid)
        fs = targets_to(st, "feishu-chat", fs_chat)
        self.assertEqual(list(dt), [group_tid("dingtalk", "dingtalk-app", "group:" + cid)], dt)
        self.assertEqual(list(fs), [group_tid("feishu", "feishu-chat", fs_chat)], fs)
        # A third member's subscription saved before subscriptions belonged
        # to the chat (a per-person record to the same group).
        legacy = person_tid("dingtalk", members[2])
        st.redis_command("HSET", PREFIX + "target:" + legacy, "id", legacy,
                         "channel", "dingtalk-app", "address", "group:" + cid, "secret", "",
                         "chat_id", "", "name", "聊天订阅（dingtalk）", "tags",
                         "tax,tax_day,510300,region:510300",
                         "source", "chat:dingtalk:" + members[2], "created_ms", "1",
                         "updated_ms", "1")
        for k in ("targets", "targets:tag:tax", "targets:tag:tax_day", "targets:tag:510300",
                  "targets:tag:region:510300"):
            st.redis_command("SADD", PREFIX + k, legacy)

        since = last_id(fake)
        nid = notice(st, "自贡市服务通知", "每个群只收一次", {"tags": ["510300"]})
        rep = wait_report(st, nid, all_final(2), timeout=30)
        self.assertEqual(rep["totals"]["sent"], 2, rep)
        got = fake.messages(platform="dingtalk-appmsg", target=cid, since=since)
        self.assertEqual(len(got), 1, got)
        self.assertEqual(len(fake.messages(platform="feishu-chat", target=fs_chat, since=since)),
                         1)

        # One member's 退订 ends the group's subscription, the old
        # per-person record included; the Feishu group keeps its own.
        self.c.dingtalk(members[1], "退订", group=cid)
        self.assertEqual(targets_to(st, "dingtalk-app", "group:" + cid), {})
        st.wait_for(lambda: [m for m in fake.messages(platform="dingtalk-session",
                                                      target=members[1], accepted=True)
                             if "已退订" in m["content"]], 15, "the 退订 reply")
        since = last_id(fake)
        nid = notice(st, "自贡市服务通知", "退订之后", {"tags": ["510300"]})
        rep = wait_report(st, nid, all_final(1), timeout=30)
        self.assertEqual([l["channel"] for l in rep["targets"]], ["feishu-chat"], rep)
        self.assertEqual(fake.messages(platform="dingtalk-appmsg", target=cid, since=since), [])

    def test_one_to_one_subscription_stays_the_persons(self):
        """Outside groups nothing changes: the id is the person's (a case's
        status notice finds it)."""
        u = uuid.uuid4().hex[:8]
        self.c.dingtalk("solo" + u, "订阅 自贡")
        t = self.stack.redis_command("HGET", PREFIX + "target:" + person_tid("dingtalk",
                                                                             "solo" + u),
                                     "address")
        self.assertEqual(t, "user:solo" + u)


def person_tid(channel, user):
    return "chat-%s-%s" % (channel, hashlib.sha1(("%s:%s" % (channel, user)).encode())
                           .hexdigest()[:16])


def group_tid(channel, kind, chat):
    return person_tid(channel, "group:%s:%s" % (kind, chat))


if __name__ == "__main__":
    unittest.main()

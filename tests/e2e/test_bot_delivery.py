"""zhuqi-bot end to end against the fake platform: every channel gets a
correctly signed message in its native format, throttling leads to a later
success, permanent errors and exhausted retries land in the dead letters
with the reason in the report, notices for later wait, the staff API's
authentication and validation, the class calendar and the dry run, and
case events (new case to the region's staff, status change to the chat)."""

import hashlib
import json
import os
import secrets
import time
import unittest

from bot_util import (DT_SECRET, FS_SECRET, GEN_SECRET, add_target, admin, all_final,
                      dingtalk_sign, feishu_sign, get, notice, post, query_of, report,
                      wait_report)
from harness import BOT_BIN, StackCase, run_program, sha256_hex
from staff_util import case_commands, complaint_answers, redis_pipeline

ADMIN = secrets.token_hex(16)
VIEWER = secrets.token_hex(16)


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(ts + 8 * 3600))


class TestBotDelivery(StackCase, unittest.TestCase):
    STACK_ARGS = {
        "bot": True,
        "fake": True,
        "ini": {
            "staff": {"token": ["e2e-admin:admin:%s" % sha256_hex(ADMIN),
                                "e2e-viewer:viewer:%s" % sha256_hex(VIEWER)]},
            "bot": {"retry_base_ms": 200, "retry_max_ms": 1000, "max_attempts": 4,
                    "timeout_ms": 2000, "claim_idle_ms": 5000},
            "feishu": {"app_id": "cli_e2e_app", "app_secret": "e2e-app-secret"},
        },
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.staff_token = ADMIN

    def fake_msgs(self, platform, target, accepted=None):
        return self.stack.fake.messages(platform=platform, target=target, accepted=accepted)

    def test_channels_native_and_signed(self):
        st, fake = self.stack, self.stack.fake
        fake.add_target("wecom", "wk-e2e-0001")
        fake.add_target("dingtalk", "dt-e2e-0001", secret=DT_SECRET)
        fake.add_target("feishu", "fs-e2e-0001", secret=FS_SECRET)
        fake.add_target("telegram", "123456:e2e-TOKEN_abc", chats=["-100777"])
        fake.add_target("generic", "gen-e2e-1", secret=GEN_SECRET)
        add_target(st, id="ch-wecom", channel="wecom-robot",
                   address="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wk-e2e-0001",
                   tags=["ch"])
        add_target(st, id="ch-ding", channel="dingtalk-robot", address="dt-e2e-0001",
                   secret=DT_SECRET, tags=["ch"])
        add_target(st, id="ch-feishu", channel="feishu-bot", address="fs-e2e-0001",
                   secret=FS_SECRET, tags=["ch"])
        add_target(st, id="ch-tg", channel="telegram", address="123456:e2e-TOKEN_abc",
                   chat_id="-100777", tags=["ch"])
        add_target(st, id="ch-gen", channel="generic", address=fake.generic_url("gen-e2e-1"),
                   secret=GEN_SECRET, tags=["ch"])
        nid = notice(st, "创客中国大赛报名开始", "**报名截止**：12 月 31 日\n- 线上报名\n- "
                     "[查看通知](https://example.gov.cn/n/1) & <注意>",
                     {"tags": ["ch"]}, mentions={"mobiles": ["13800138000"]})
        rep = wait_report(st, nid, all_final(5))
        self.assertEqual(rep["totals"]["sent"], 5, rep)
        for line in rep["targets"]:
            self.assertEqual(line["status"], "sent", line)
            self.assertEqual(line["attempts"], 1, line)

        wecom = self.fake_msgs("wecom", "wk-e2e-0001")
        self.assertTrue(all(m["accepted"] for m in wecom), wecom)
        kinds = [m["json"]["msgtype"] for m in wecom]
        self.assertIn("markdown", kinds)
        md = [m for m in wecom if m["json"]["msgtype"] == "markdown"][0]
        self.assertIn("创客中国大赛报名开始", md["json"]["markdown"]["content"])
        # Markdown cannot mention by mobile: a text message carries it.
        txt = [m for m in wecom if m["json"]["msgtype"] == "text"]
        self.assertEqual(len(txt), 1, wecom)
        self.assertIn("13800138000", txt[0]["json"]["text"]["mentioned_mobile_list"])

        (ding,) = self.fake_msgs("dingtalk", "dt-e2e-0001")
        self.assertTrue(ding["accepted"], ding)
        q = query_of(ding["path"])
        self.assertEqual(q["sign"][0], dingtalk_sign(DT_SECRET, int(q["timestamp"][0])))
        self.assertEqual(ding["json"]["msgtype"], "markdown")
        self.assertIn("创客中国", ding["json"]["markdown"]["title"])
        self.assertIn("13800138000", ding["json"]["at"]["atMobiles"])

        (fs,) = self.fake_msgs("feishu", "fs-e2e-0001")
        self.assertTrue(fs["accepted"], fs)
        self.assertEqual(fs["json"]["msg_type"], "interactive")
        self.assertEqual(fs["json"]["sign"], feishu_sign(FS_SECRET, int(fs["json"]["timestamp"])))

        (tg,) = self.fake_msgs("telegram", "123456:e2e-TOKEN_abc")
        self.assertTrue(tg["accepted"], tg)
        self.assertEqual(tg["json"]["parse_mode"], "HTML")
        self.assertEqual(str(tg["json"]["chat_id"]), "-100777")
        self.assertIn("<b>", tg["json"]["text"])
        self.assertIn("&amp; &lt;注意&gt;", tg["json"]["text"])

        (gen,) = self.fake_msgs("generic", "gen-e2e-1")
        # The fake checked X-Zhuqi-Signature against the secret.
        self.assertTrue(gen["accepted"], gen)
        self.assertEqual(gen["json"]["title"], "创客中国大赛报名开始")
        self.assertTrue(gen["headers"].get("x-zhuqi-signature", "").startswith("sha256="))

    def test_throttle_then_success(self):
        st, fake = self.stack, self.stack.fake
        fake.add_target("dingtalk", "dt-e2e-0002", secret=DT_SECRET)
        fake.add_target("telegram", "777:e2e-THROTTLED", chats=["42"])
        add_target(st, id="thr-ding", channel="dingtalk-robot", address="dt-e2e-0002",
                   secret=DT_SECRET, tags=["thr"])
        add_target(st, id="thr-tg", channel="telegram", address="777:e2e-THROTTLED",
                   chat_id="42", tags=["thr"])
        fake.add_fault("dt-e2e-0002", "throttle", count=2)
        fake.add_fault("777:e2e-THROTTLED", "throttle", count=1, retry_after=2)
        nid = notice(st, "限流测试", "正文", {"tags": ["thr"]})
        rep = wait_report(st, nid, all_final(2), timeout=30)
        lines = {l["target"]: l for l in rep["targets"]}
        self.assertEqual(lines["thr-ding"]["status"], "sent", rep)
        self.assertEqual(lines["thr-ding"]["attempts"], 3, rep)
        self.assertEqual(lines["thr-tg"]["status"], "sent", rep)
        self.assertEqual(lines["thr-tg"]["attempts"], 2, rep)
        ding = self.fake_msgs("dingtalk", "dt-e2e-0002")
        self.assertEqual([m["accepted"] for m in ding], [False, False, True], ding)
        tg = self.fake_msgs("telegram", "777:e2e-THROTTLED")
        self.assertEqual([m["accepted"] for m in tg], [False, True], tg)
        # retry_after (2 s) was honoured.
        self.assertGreaterEqual(tg[1]["ts"] - tg[0]["ts"], 1.9, tg)

    def test_permanent_error_is_dead_lettered(self):
        st = self.stack
        # A key the platform does not know: WeCom answers errcode 93000.
        add_target(st, id="dead-wecom", channel="wecom-robot", address="wk-e2e-unknown",
                   tags=["dead"])
        nid = notice(st, "错误测试", "正文", {"tags": ["dead"]})
        rep = wait_report(st, nid, all_final(1))
        (line,) = rep["targets"]
        self.assertEqual(line["status"], "failed", rep)
        self.assertEqual(line["attempts"], 1, rep)
        self.assertIn("93000", line["last_error"])
        self.assertEqual(rep["state"], "done")
        dead = st.redis_command("XRANGE", "zqe2e:outbox:dead", "-", "+")
        mine = [dict(zip(e[1][::2], e[1][1::2])) for e in dead]
        mine = [d for d in mine if d["n"] == nid]
        self.assertEqual(len(mine), 1, dead)
        self.assertEqual(mine[0]["t"], "dead-wecom")
        self.assertEqual(mine[0]["reason"], line["last_error"])

    def test_removed_robots_are_disabled(self):
        """A group robot removed from its group: its webhook no longer
        exists (WeCom 93000, DingTalk 300005, Feishu 19001). The target is
        disabled with the platform's words, and later notices skip it."""
        st = self.stack
        add_target(st, id="gone-wecom", channel="wecom-robot", address="wk-e2e-removed",
                   tags=["gone"])
        add_target(st, id="gone-ding", channel="dingtalk-robot", address="dt-e2e-removed",
                   secret=DT_SECRET, tags=["gone"])
        add_target(st, id="gone-feishu", channel="feishu-bot", address="fs-e2e-removed",
                   secret=FS_SECRET, tags=["gone"])
        nid = notice(st, "机器人已移除", "正文", {"tags": ["gone"]})
        rep = wait_report(st, nid, all_final(3))
        self.assertEqual(rep["totals"]["failed"], 3, rep)
        r = get(st, "/api/admin/targets?tag=gone")
        self.assertEqual(r.status, 200, r)
        got = {t["id"]: t for t in r.json()["targets"]}
        for tid, code in (("gone-wecom", "93000"), ("gone-ding", "300005"),
                          ("gone-feishu", "19001")):
            self.assertIs(got[tid]["disabled"], True, got[tid])
            self.assertIn(code, got[tid]["disabled_reason"], got[tid])
        nid = notice(st, "机器人已移除", "第二条", {"tags": ["gone"]})
        rep = wait_report(st, nid, lambda r: r["state"] == "done")
        self.assertEqual(rep["totals"]["total"], 0, rep)

    def test_retries_exhausted_are_dead_lettered(self):
        st, fake = self.stack, self.stack.fake
        add_target(st, id="dead-5xx", channel="generic", address=fake.generic_url("always-502"),
                   tags=["dead5"])
        fake.add_fault("always-502", "5xx", status=502)
        nid = notice(st, "重试耗尽", "正文", {"tags": ["dead5"]})
        rep = wait_report(st, nid, all_final(1), timeout=30)
        (line,) = rep["targets"]
        self.assertEqual(line["status"], "failed", rep)
        self.assertEqual(line["attempts"], 4, rep)
        self.assertIn("gave up after 4 attempts", line["last_error"])
        self.assertEqual(len(self.fake_msgs("generic", "always-502")), 4)

    def test_send_at_in_the_future_waits(self):
        st, fake = self.stack, self.stack.fake
        add_target(st, id="later", channel="generic", address=fake.generic_url("later"),
                   tags=["later"])
        at = time.time() + 4
        r = post(st, "/api/admin/notices", {"title": "稍后发送", "body": "正文",
                                            "audience": {"tags": ["later"]}, "send_at": iso(at)})
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json()["notice"]["state"], "scheduled")
        nid = r.json()["notice"]["id"]
        time.sleep(1.5)
        rep = report(st, nid)
        self.assertEqual(rep["state"], "scheduled", rep)
        self.assertEqual(rep["totals"]["total"], 0, rep)
        self.assertEqual(self.fake_msgs("generic", "later"), [])
        rep = wait_report(st, nid, all_final(1), timeout=20)
        self.assertEqual(rep["totals"]["sent"], 1, rep)
        (m,) = self.fake_msgs("generic", "later")
        self.assertGreaterEqual(m["ts"], int(at) - 0.01)

    def test_staff_auth(self):
        st = self.stack
        writes = [("POST", "/api/admin/targets"), ("DELETE", "/api/admin/targets/x1"),
                  ("POST", "/api/admin/classes"), ("POST", "/api/admin/notices")]
        reads = ["/api/admin/targets", "/api/admin/classes", "/api/admin/notices",
                 "/api/admin/notices/NT20261126-0001"]
        for method, path in writes:
            r = st.request(method, path, "{}", {"Content-Type": "application/json"})
            self.assertErrorShape(r, 401, r.json()["error"]["code"])
            r = st.request(method, path, "{}", admin(st, VIEWER))
            self.assertEqual(r.status, 403, (method, path, r))
        for path in reads:
            r = st.request("GET", path)
            self.assertEqual(r.status, 401, (path, r))
            r = st.request("GET", path, headers={"Authorization": "Bearer nope"})
            self.assertEqual(r.status, 401, (path, r))
        for path in reads[:3]:
            r = get(st, path, VIEWER)
            self.assertEqual(r.status, 200, (path, r))

    def test_validation(self):
        st = self.stack
        r = post(st, "/api/admin/notices", {"title": "t", "body": "b", "audience": {}})
        body = self.assertErrorShape(r, 422, "validation_failed")
        self.assertIn("audience", body["error"]["fields"])
        r = post(st, "/api/admin/notices", {"title": "", "body": "", "audience": {"tags": ["x"]},
                                            "send_at": "tomorrow"})
        fields = self.assertErrorShape(r, 422, "validation_failed")["error"]["fields"]
        self.assertEqual(sorted(fields), ["body", "send_at", "title"])
        r = post(st, "/api/admin/notices", {"title": "t", "body": "b",
                                            "audience": {"tags": ["x"]}, "extra": 1})
        self.assertErrorShape(r, 400, "bad_request")
        r = st.request("POST", "/api/admin/notices", "{not json", admin(st))
        self.assertErrorShape(r, 400, "malformed_json")
        r = st.request("POST", "/api/admin/notices", "a=b",
                       {"Authorization": "Bearer " + ADMIN,
                        "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 415, r)
        self.assertErrorShape(get(st, "/api/admin/notices/NOPE"), 404, "not_found")
        self.assertErrorShape(get(st, "/api/admin/notices/NT20990101-0001"), 404, "not_found")
        self.assertErrorShape(get(st, "/api/admin/notices?limit=0"), 400, "bad_request")
        r = st.request("DELETE", "/api/admin/targets/no-such-target", headers=admin(st))
        self.assertErrorShape(r, 404, "not_found")
        r = post(st, "/api/admin/targets", {"channel": "sms", "address": "x"})
        self.assertIn("channel", self.assertErrorShape(r, 422, "validation_failed")["error"]["fields"])
        r = post(st, "/api/admin/targets", {"channel": "generic", "address": "file:///etc/passwd"})
        self.assertIn("address", self.assertErrorShape(r, 422, "validation_failed")["error"]["fields"])
        r = post(st, "/api/admin/classes", {"date": "2026-13-01", "time": "9:00", "title": ""})
        self.assertErrorShape(r, 422, "validation_failed")
        self.assertErrorShape(get(st, "/api/admin/targets?tag=a%20b"), 400, "bad_request")
        # The same Idempotency-Key gives the same notice.
        h = {"Idempotency-Key": "e2e-idem-0001"}
        a = post(st, "/api/admin/notices", {"title": "t", "body": "b",
                                            "audience": {"targets": ["nobody"]}}, headers=h)
        b = post(st, "/api/admin/notices", {"title": "t", "body": "b",
                                            "audience": {"targets": ["nobody"]}}, headers=h)
        self.assertEqual(a.status, 202, a)
        self.assertEqual(a.json()["notice"]["id"], b.json()["notice"]["id"])
        self.assertFalse(b.json()["notice"]["created"])

    def test_targets_api(self):
        st = self.stack
        r = post(st, "/api/admin/targets", {"id": "tapi-1", "channel": "dingtalk-robot",
                                            "address": "dt-e2e-tapi-0001", "secret": "SECxyz",
                                            "name": "德阳企业群", "tags": ["region:510600"]})
        self.assertEqual(r.status, 201, r)
        t = r.json()["target"]
        self.assertTrue(t["has_secret"])
        self.assertNotIn("secret", t)
        self.assertNotIn("dt-e2e-tapi-0001", json.dumps(t))
        r = post(st, "/api/admin/targets", {"id": "tapi-1", "channel": "dingtalk-robot",
                                            "address": "dt-e2e-tapi-0001", "tags": ["staff"]})
        self.assertEqual(r.status, 200, r)
        lst = get(st, "/api/admin/targets?tag=staff").json()["targets"]
        self.assertIn("tapi-1", [x["id"] for x in lst])
        lst = get(st, "/api/admin/targets?tag=region:510600").json()["targets"]
        self.assertNotIn("tapi-1", [x["id"] for x in lst])
        r = st.request("DELETE", "/api/admin/targets/tapi-1", headers=admin(st))
        self.assertEqual(r.status, 200, r)
        r = st.request("DELETE", "/api/admin/targets/tapi-1", headers=admin(st))
        self.assertEqual(r.status, 404, r)

    def test_classes_and_dry_run(self):
        st = self.stack
        add_target(st, id="dry-wecom", channel="wecom-robot", address="wk-e2e-dry-0001",
                   name="成都税务群", tags=["tax_day"])
        r = post(st, "/api/admin/classes", {"id": "cls-e2e-1", "date": "2026-12-27",
                                            "time": "14:30", "title": "小规模纳税人增值税申报",
                                            "speaker": "王老师",
                                            "live_url": "https://live.example.cn/1227"})
        self.assertEqual(r.status, 201, r)
        r = post(st, "/api/admin/classes", {"id": "cls-e2e-1", "date": "2026-12-27",
                                            "time": "15:00", "title": "小规模纳税人增值税申报"})
        self.assertEqual(r.status, 200, r)
        classes = get(st, "/api/admin/classes").json()["classes"]
        self.assertEqual([c["time"] for c in classes if c["id"] == "cls-e2e-1"], ["15:00"])
        public = st.get("/api/classes").json()["classes"]
        self.assertIn("cls-e2e-1", [c["id"] for c in public])
        before = st.redis_command("ZCARD", "zqe2e:notices")

        p = run_program([BOT_BIN, "-c", st.ini_path, "--dry-run", "--at", "2026-12-26T16:07"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out = p.stdout
        self.assertIn("tax-day:2026-12:eve", out)
        self.assertIn("小规模纳税人增值税申报", out)
        self.assertIn("dry-wecom", out)
        self.assertIn("wecom-robot", out)
        self.assertIn('"msgtype":"markdown"', out)
        self.assertNotIn("tax-day:2026-12:day", out)
        # Nothing was written.
        self.assertIsNone(st.redis_command("GET", "zqe2e:sched:tax-day:2026-12:eve"))
        self.assertEqual(st.redis_command("ZCARD", "zqe2e:notices"), before)

        p = run_program([BOT_BIN, "-c", st.ini_path, "--dry-run", "--at", "2026-12-20T10:00"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("no reminder is due", p.stdout)
        self.assertIn("next: tax-day:2026-12:eve", p.stdout)
        # January 2027 has no class: the text says so plainly.
        p = run_program([BOT_BIN, "-c", st.ini_path, "--dry-run", "--at", "2027-01-27T09:07"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("暂未排期", p.stdout)

        p = run_program([BOT_BIN, "-c", st.ini_path, "--dry-run", "--at", "someday"])
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("--at someday", p.stderr)
        p = run_program([BOT_BIN, "-c", st.ini_path, "--at", "2026-12-26T16:00"])
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)

    def test_case_events(self):
        st, fake = self.stack, self.stack.fake
        add_target(st, id="staff-cd", channel="generic", address=fake.generic_url("staff-cd"),
                   tags=["staff", "region:510100"])
        add_target(st, id="staff-my", channel="generic", address=fake.generic_url("staff-my"),
                   tags=["staff", "region:510700"])
        chat_id = "chat-dingtalk-" + hashlib.sha1(b"dingtalk:user9").hexdigest()[:16]
        add_target(st, id=chat_id, channel="generic", address=fake.generic_url("chat-user9"),
                   tags=["tax_day"])
        st.redis_command("XADD", "zqe2e:events", "*", "type", "case_created",
                         "id", "TS20261126-0042", "form", "complaint", "region", "510100",
                         "source", "web", "dup_of", "")
        st.wait_for(lambda: fake.messages(platform="generic", target="staff-cd"), 15,
                    "the case announcement")
        (m,) = fake.messages(platform="generic", target="staff-cd")
        text = m["json"]["title"] + m["json"]["markdown"]
        self.assertIn("TS20261126-0042", text)
        self.assertIn("成都市", text)
        self.assertIn("拖欠中小企业款项投诉", text)
        # Only the staff of that region.
        notices = get(st, "/api/admin/notices?limit=100").json()["notices"]
        (ann,) = [n for n in notices if n["kind"] == "case"
                  and n["meta"].get("case") == "TS20261126-0042"]
        self.assertEqual(ann["totals"]["total"], 1, ann)
        self.assertEqual(fake.messages(platform="generic", target="staff-my"), [])

        st.redis_command("XADD", "zqe2e:events", "*", "type", "case_status",
                         "id", "TS20261126-0042", "form", "complaint", "from", "submitted",
                         "to", "accepted", "by", "alice", "note", "已受理，请等待转办。",
                         "source", "chat:dingtalk:user9", "at_ms", str(int(time.time() * 1000)))
        st.wait_for(lambda: fake.messages(platform="generic", target="chat-user9"), 15,
                    "the status message to the chat")
        (m,) = fake.messages(platform="generic", target="chat-user9")
        text = m["json"]["title"] + m["json"]["markdown"]
        self.assertIn("TS20261126-0042", text)
        self.assertIn("已受理", text)
        # The event's note is the move's message for the enterprise (the
        # internal note never enters the event): the chat says it.
        self.assertIn("已受理，请等待转办。", text)

    def test_withdrawal_told_to_the_region_staff(self):
        """An enterprise withdrew its case: the staff of its region hear of it
        at once, without personal data, once; other regions do not."""
        st, fake = self.stack, self.stack.fake
        add_target(st, id="staff-zg", channel="generic", address=fake.generic_url("staff-zg"),
                   tags=["staff", "region:510300"])
        add_target(st, id="staff-ls", channel="generic", address=fake.generic_url("staff-ls"),
                   tags=["staff", "region:511100"])
        cid = "TS20261206-0301"
        now = int(time.time() * 1000)
        redis_pipeline(st, case_commands(cid, "complaint", now, complaint_answers(301),
                                         status="withdrawn", mobile="13800140301",
                                         region="510300"))
        st.redis_command("XADD", "zqe2e:events", "*", "type", "case_status", "id", cid,
                         "form", "complaint", "from", "submitted", "to", "withdrawn",
                         "by", "enterprise", "note", "企业撤回：已与对方协商解决", "source", "web",
                         "at_ms", str(now))
        st.wait_for(lambda: fake.messages(platform="generic", target="staff-zg"), 15,
                    "the withdrawal told to the staff")
        (m,) = fake.messages(platform="generic", target="staff-zg")
        text = m["json"]["title"] + m["json"]["markdown"]
        self.assertIn("企业已撤回 " + cid, text)
        self.assertIn("自贡市", text)
        # No personal data: neither the company, the mobile nor its words.
        for word in (complaint_answers(301)["company_name"], "13800140301", "协商解决"):
            self.assertNotIn(word, text)
        self.assertEqual(fake.messages(platform="generic", target="staff-ls"), [])
        st.wait_for_log("bot", r"event=case_withdrawn_announced case=" + cid, 10)

    def test_chat_replies_on_the_priority_lane(self):
        """Replies the inbound adapters queue (chat_outbox.h layout) go out,
        a Feishu one with a tenant access token the bot fetches."""
        st, fake = self.stack, self.stack.fake
        fake.add_target("feishu-app", "cli_e2e_app", app_secret="e2e-app-secret")
        now = int(time.time() * 1000)
        st.redis_command("XADD", "zqe2e:outbox:prio", "*", "kind", "reply", "channel", "dingtalk",
                         "url", fake.url + "/dingtalk/session/sess-e2e-1",
                         "body", json.dumps({"msgtype": "text", "text": {"content": "您好，已收到"}},
                                            ensure_ascii=False),
                         "headers", "[]", "auth", "", "created_ms", str(now),
                         "expires_ms", str(now + 600000))
        st.redis_command("XADD", "zqe2e:outbox:prio", "*", "kind", "reply", "channel", "feishu",
                         "url", fake.url + "/feishu/open-apis/im/v1/messages/om_e2e_1/reply",
                         "body", json.dumps({"msg_type": "text",
                                             "content": json.dumps({"text": "飞书回复"},
                                                                   ensure_ascii=False)},
                                            ensure_ascii=False),
                         "headers", "[]", "auth", "feishu_tenant_token", "created_ms", str(now),
                         "expires_ms", "0")
        # An expired session webhook is not called at all.
        st.redis_command("XADD", "zqe2e:outbox:prio", "*", "kind", "reply", "channel", "dingtalk",
                         "url", fake.url + "/dingtalk/session/sess-e2e-old",
                         "body", "{}", "headers", "[]", "auth", "", "created_ms", str(now),
                         "expires_ms", str(now - 1000))
        st.wait_for(lambda: fake.messages(platform="feishu-reply", accepted=True), 15,
                    "the Feishu reply")
        st.wait_for(lambda: fake.messages(platform="dingtalk-session", target="sess-e2e-1",
                                          accepted=True), 15, "the DingTalk reply")
        (m,) = fake.messages(platform="feishu-reply", accepted=True)
        self.assertEqual(m["content"], "飞书回复")
        st.wait_for_log("bot", r"event=dead_letter notice=reply .*expired", 10)
        self.assertEqual(fake.messages(platform="dingtalk-session", target="sess-e2e-old"), [])


if __name__ == "__main__":
    unittest.main()

"""What the public pages ask the server for (issue 16, items 4, 5 and 8):
the draft state behind the start page's 继续填写 badge (draft, none,
expired; no personal data), the 14-day draft lifetime, the public class
list with 进入直播 / 观看回放 links by the server's clock, and the site
information ([site]) every footer and "cannot connect" state shows."""

import datetime as dt
import json
import os
import unittest

from harness import ROOT, StackCase, sha256_hex
from test_intake import Client, sample_for

BJ = dt.timezone(dt.timedelta(hours=8))
STAFF = "0123456789abcdef0123456789abcdef"
SITE = {
    "organizer": "四川省经济和信息化厅（测试）",
    "hotline": "028-12345678",
    "hotline_hours": "工作日 9:00-17:00",
    "icp": "蜀ICP备00000000号-1",
    "police": "川公网安备51010000000000号",
    "subscribe": "在企业微信中向“助企”回复“订阅”即可收到提醒。",
}


def bj_wall(ms_from_now):
    """(date, HH:MM) in Beijing time, ms_from_now from now."""
    t = dt.datetime.now(BJ) + dt.timedelta(milliseconds=ms_from_now)
    return t.strftime("%Y-%m-%d"), t.strftime("%H:%M")


class FormPagesCase(StackCase, unittest.TestCase):
    STACK_ARGS = {"ini": {"site": SITE,
                          "staff": {"token": "boss:admin:%s" % sha256_hex(STAFF)}}}

    def schema(self, form):
        r = self.stack.get("/api/forms/" + form)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def state(self, client, form="complaint"):
        r = client.call("GET", "/api/intake/%s/state" % form, csrf=False)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        return r.json()


class TestDraftState(FormPagesCase):
    def test_draft_lives_14_days_by_default(self):
        r = self.stack.get("/api/privacy")
        self.assertEqual(r.json()["retention"]["draft_seconds"], 14 * 86400)
        c = Client(self.stack)
        r = c.start("consult")
        self.assertEqual(r.status, 201, r)
        ttl = self.stack.redis_command("TTL", "zqe2e:sess:" + c.cookie.split("=", 1)[1])
        self.assertGreater(ttl, 13 * 86400)
        # The cookie outlives the session, so that expiry can be told apart
        # from "never started".
        max_age = int(r.header("Set-Cookie").split("Max-Age=")[1].split(";")[0])
        self.assertGreater(max_age, 14 * 86400)

    def test_none_without_a_cookie(self):
        self.assertEqual(self.state(Client(self.stack)), {"state": "none", "exists": False})

    def test_unknown_form(self):
        r = self.stack.get("/api/intake/nope/state")
        self.assertErrorShape(r, 404, "unknown_form")

    def test_draft_step_and_count_no_personal_data(self):
        s = self.schema("complaint")
        c = Client(self.stack)
        c.start("complaint", gate=False)
        self.assertEqual(self.state(c)["state"], "draft")
        self.assertEqual(self.state(c)["done"], 0)
        first = s["steps"][0]
        answers = {f["id"]: sample_for(f) for f in first["fields"]}
        r = c.call("PUT", "/api/intake/complaint/steps/" + first["id"], {"answers": answers})
        self.assertEqual(r.status, 200, r)
        # A step save keeps the cookie alive as long as the session.
        self.assertIn("Max-Age=", r.header("Set-Cookie") or "")
        st = self.state(c)
        self.assertEqual(st, {"state": "draft", "exists": True, "step": s["steps"][1]["id"],
                              "done": 1, "steps": len(s["steps"])})
        body = json.dumps(st, ensure_ascii=False)
        for v in answers.values():
            if isinstance(v, str) and len(v) > 3:
                self.assertNotIn(v, body)
        # The other form of the same session has no draft.
        self.assertEqual(self.state(c, "consult")["state"], "none")

    def test_expired_when_the_session_is_gone(self):
        c = Client(self.stack)
        c.start("complaint")
        sid = c.cookie.split("=", 1)[1]
        self.stack.redis_command("DEL", "zqe2e:sess:" + sid)
        self.assertEqual(self.state(c), {"state": "expired", "exists": False})
        # A cookie that names no session, whatever its shape: the same
        # answer (as the other intake routes' 410), never an error.
        bad = Client(self.stack)
        bad.cookie = "zq_sid=not-a-session"
        self.assertEqual(self.state(bad)["state"], "expired")


class TestClasses(FormPagesCase):
    def save(self, **c):
        r = self.stack.request("POST", "/api/admin/classes",
                               body=json.dumps(c, ensure_ascii=False).encode(),
                               headers={"Authorization": "Bearer " + STAFF,
                                        "Content-Type": "application/json"})
        self.assertIn(r.status, (200, 201), r)
        return r.json()["class"]

    def test_live_and_replay_links_by_the_servers_clock(self):
        hour = 3600 * 1000
        d, t = bj_wall(24 * hour)
        self.save(id="e2e-soon", date=d, time=t, title="即将开始的课",
                  live_url="https://live.example.cn/soon", replay_url="https://r.example.cn/x")
        d, t = bj_wall(-hour // 2)
        self.save(id="e2e-now", date=d, time=t, title="正在直播的课",
                  live_url="https://live.example.cn/now")
        d, t = bj_wall(-3 * hour)
        self.save(id="e2e-done", date=d, time=t, title="已结束有回放的课",
                  live_url="https://live.example.cn/old", replay_url="https://replay.example.cn/1")
        d, t = bj_wall(-4 * hour)
        self.save(id="e2e-gone", date=d, time=t, title="已结束没有回放的课")
        r = self.stack.get("/api/classes")
        self.assertEqual(r.status, 200, r)
        by_id = {c["id"]: c for c in r.json()["classes"]}
        self.assertNotIn("e2e-gone", by_id)
        soon, now, done = by_id["e2e-soon"], by_id["e2e-now"], by_id["e2e-done"]
        self.assertEqual(soon["state"], "upcoming")
        self.assertEqual(soon["live_url"], "https://live.example.cn/soon")
        self.assertNotIn("replay_url", soon)
        self.assertEqual(now["state"], "live")
        self.assertEqual(now["live_url"], "https://live.example.cn/now")
        self.assertEqual(done["state"], "ended")
        self.assertEqual(done["replay_url"], "https://replay.example.cn/1")
        self.assertNotIn("live_url", done)
        for c in (soon, now, done):
            self.assertRegex(c["starts_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:00\+08:00$")
            self.assertGreater(c["ends_at"], c["starts_at"])
            for k in ("title", "date", "time", "speaker"):
                self.assertIn(k, c)
        order = [c["id"] for c in r.json()["classes"]]
        self.assertLess(order.index("e2e-done"), order.index("e2e-now"))
        self.assertLess(order.index("e2e-now"), order.index("e2e-soon"))
        # The staff console can add the replay link to a class afterwards.
        d, t = bj_wall(-hour // 2)
        self.save(id="e2e-now", date=d, time=t, title="正在直播的课",
                  live_url="https://live.example.cn/now", replay_url="https://replay.example.cn/2")
        staff = self.stack.request("GET", "/api/admin/classes",
                                   headers={"Authorization": "Bearer " + STAFF}).json()
        self.assertIn("https://replay.example.cn/2",
                      [c.get("replay_url") for c in staff["classes"]])


class TestSite(FormPagesCase):
    def test_site_info_from_config(self):
        r = self.stack.get("/api/site")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"site": SITE})
        self.assertEqual(r.header("Cache-Control"), "public, max-age=300")

    def test_site_info_without_redis(self):
        # What the "cannot connect" states show must not need storage.
        with _Stopped(self.stack):
            r = self.stack.get("/api/site")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["site"]["hotline"], SITE["hotline"])


class _Stopped:
    """Redis stopped for the block, started again after."""

    def __init__(self, stack):
        self.stack = stack

    def __enter__(self):
        self.stack.stop_redis()

    def __exit__(self, *exc):
        self.stack.start_redis()


class TestNames(FormPagesCase):
    """One name per thing in what the pages and the chat are served."""

    def test_schemas_say_zai_xian_zi_xun_and_nin(self):
        self.assertEqual(self.schema("consult")["title"], "在线咨询")
        for form in ("consult", "complaint"):
            text = json.dumps(self.schema(form), ensure_ascii=False)
            self.assertNotIn("在线问诊", text)
            self.assertNotIn("你", text)

    def test_pages_and_templates(self):
        names = [os.path.join("nginx", "html", n) for n in os.listdir(os.path.join(ROOT, "nginx", "html"))
                 if n.endswith(".html")]
        names += [os.path.join("nginx", "html", "assets", n)
                  for n in os.listdir(os.path.join(ROOT, "nginx", "html", "assets")) if n.endswith(".js")]
        names += [os.path.join("config", "templates", n)
                  for n in os.listdir(os.path.join(ROOT, "config", "templates"))]
        for n in names:
            text = open(os.path.join(ROOT, n), encoding="utf-8").read()
            self.assertNotIn("在线问诊", text, n)
            self.assertNotIn("你", text, n)
            self.assertNotIn("税务课堂", text, n)


class TestDefaults(unittest.TestCase):
    def test_ini_says_14_days(self):
        ini = open(os.path.join(ROOT, "config", "zhuqi.ini"), encoding="utf-8").read()
        self.assertIn("session_ttl = 1209600", ini)


if __name__ == "__main__":
    unittest.main()

"""Security of the push side (issue 12): generic targets cannot be pointed
at loopback, private or other internal addresses (checked when saved and
again when zhuqi-bot connects, so a host name cannot dodge it), user:pass@
never gets in nor out, and a flood of new cases reaches each staff robot as
at most N single announcements plus one summary per window."""

import json
import re
import select
import socket
import time
import unittest

from bot_util import add_target, all_final, notice, post, redis_pipeline, wait_report
from harness import StackCase, free_port


class Listener:
    """A TCP socket listening on host:port that is never accepted from:
    a connection that reached it waits in its backlog, where received()
    sees it."""

    def __init__(self, host, port, family=socket.AF_INET):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.setblocking(False)

    def received(self):
        r, _, _ = select.select([self.sock], [], [], 0)
        return bool(r)

    def close(self):
        self.sock.close()


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class TestPushSSRF(StackCase, unittest.TestCase):
    STACK_ARGS = {
        "bot": True,
        "fake": True,
        "ini": {"bot": {"retry_base_ms": 200, "retry_max_ms": 1000, "max_attempts": 4,
                        "timeout_ms": 2000}},
    }

    def save(self, address, **kw):
        return post(self.stack, "/api/admin/targets",
                    dict(kw, channel="generic", address=address, tags=["ssrf-save"]))

    def assertRefused(self, r, *words):
        body = self.assertErrorShape(r, 422, "validation_failed")
        msg = body["error"]["fields"]["address"]
        self.assertTrue(any("\u4e00" <= ch <= "\u9fff" for ch in msg), msg)  # Chinese
        for w in words:
            self.assertIn(w, msg)
        return msg

    def test_save_refuses_http_userinfo_and_internal_literals(self):
        st = self.stack
        port = st.fake.port
        self.assertRefused(self.save("http://hooks.example.com/x"), "https://")
        self.assertRefused(self.save("http://127.0.0.1:%d/other-port" % (port + 1)))
        msg = self.assertRefused(self.save("https://alice:pw-9f3k@hooks.example.com/x"))
        self.assertNotIn("pw-9f3k", msg)
        self.assertRefused(self.save("https://token@hooks.example.com/x"))
        for addr in ("https://127.0.0.2:%d/x" % port, "https://[::1]:%d/x" % port,
                     "https://[::ffff:127.0.0.1]/x", "https://169.254.169.254/latest",
                     "https://10.0.0.1/x", "https://192.168.1.1/x", "https://100.64.0.1/x",
                     "https://[fd00::1]/x", "https://[fe80::1]/x", "https://0.0.0.0/x",
                     "https://224.0.0.1/x"):
            self.assertRefused(self.save(addr), "generic_allow")
        # Allowed: https to a name or a public address, and the listed
        # fake over plain http.
        for addr in ("https://hooks.example.com/x", "https://8.8.8.8/x",
                     "http://127.0.0.1:%d/generic/ok" % port):
            r = self.save(addr)
            self.assertIn(r.status, (200, 201), (addr, r))

    def test_views_never_echo_userinfo(self):
        """A target stored before these rules (here: straight into Redis)
        with user:pass@ is shown masked, and is never sent to."""
        st = self.stack
        p = st.ini["redis"]["prefix"]
        now = str(int(time.time() * 1000))
        redis_pipeline(st, [
            ["HSET", p + "target:legacy-ui", "id", "legacy-ui", "channel", "generic",
             "address", "https://alice:s3cr3t-pw@hooks.example.com/x?k=1", "secret", "",
             "chat_id", "", "name", "", "tags", "legacy-ui", "source", "test",
             "created_ms", now, "updated_ms", now],
            ["SADD", p + "targets", "legacy-ui"],
            ["SADD", p + "targets:tag:legacy-ui", "legacy-ui"],
        ])
        r = st.request("GET", "/api/admin/targets?tag=legacy-ui",
                       headers={"Authorization": "Bearer " + st.staff_token})
        self.assertEqual(r.status, 200, r)
        text = r.body.decode()
        self.assertNotIn("s3cr3t", text)
        self.assertNotIn("alice", text)
        (t,) = r.json()["targets"]
        self.assertEqual(t["address"], "https://***@hooks.example.com/x")
        nid = notice(st, "旧目标", "正文", {"tags": ["legacy-ui"]})
        rep = wait_report(st, nid, all_final(1))
        (line,) = rep["targets"]
        self.assertEqual(line["status"], "failed", rep)
        self.assertEqual(line["attempts"], 0, rep)  # refused before any send
        self.assertIn("user:pass@", line["last_error"])
        self.assertNotIn("s3cr3t", json.dumps(rep))
        self.assertNotIn("s3cr3t", st.bot_log())

    def test_connect_time_guard_refuses_names_and_stored_literals(self):
        """https://localhost:PORT passes the save (a name), but resolves to
        loopback: the bot refuses the socket, so nothing reaches the
        listener, and the delivery fails at once, for good. Literals
        stored before the rules fail the same way."""
        st = self.stack
        port = free_port()
        listeners = [Listener("127.0.0.1", port)]
        if ipv6_loopback():
            try:
                listeners.append(Listener("::1", port, socket.AF_INET6))
            except OSError:
                pass
        port2 = free_port()
        listeners.append(Listener("127.0.0.2", port2))
        try:
            add_target(st, id="ssrf-name", channel="generic",
                       address="https://localhost:%d/hook" % port, tags=["ssrf"])
            p = st.ini["redis"]["prefix"]
            now = str(int(time.time() * 1000))
            cmds = []
            for tid, addr in (("ssrf-v4", "https://127.0.0.2:%d/x" % port2),
                              ("ssrf-v6", "https://[::1]:%d/x" % port),
                              ("ssrf-mapped", "https://[::ffff:127.0.0.1]:%d/x" % port),
                              ("ssrf-http-name", "http://localhost:%d/x" % port)):
                cmds += [["HSET", p + "target:" + tid, "id", tid, "channel", "generic",
                          "address", addr, "secret", "", "chat_id", "", "name", "",
                          "tags", "ssrf", "source", "test", "created_ms", now,
                          "updated_ms", now],
                         ["SADD", p + "targets", tid],
                         ["SADD", p + "targets:tag:ssrf", tid]]
            redis_pipeline(st, cmds)
            nid = notice(st, "探测", "正文", {"tags": ["ssrf"]})
            rep = wait_report(st, nid, all_final(5))
            lines = {l["target"]: l for l in rep["targets"]}
            for tid, line in lines.items():
                self.assertEqual(line["status"], "failed", line)
                # Permanent: refused at the socket (1) or before (0), never retried.
                self.assertLessEqual(line["attempts"], 1, line)
            self.assertEqual(lines["ssrf-name"]["attempts"], 1)
            self.assertIn("refused by the address guard", lines["ssrf-name"]["last_error"])
            self.assertIn("loopback", lines["ssrf-name"]["last_error"])
            for tid in ("ssrf-v4", "ssrf-v6", "ssrf-mapped", "ssrf-http-name"):
                self.assertIn("refused", lines[tid]["last_error"], lines[tid])
            st.wait_for_log("bot", r"event=outbound_refused reason=\"connection to "
                            r"(127\.0\.0\.1|::1) port %d refused: loopback" % port, 5)
            for lst in listeners:
                self.assertFalse(lst.received(), "a connection reached the listener")
        finally:
            for lst in listeners:
                lst.close()

    def test_listed_fake_still_gets_generic_pushes(self):
        st, fake = self.stack, self.stack.fake
        add_target(st, id="ssrf-ok", channel="generic", address=fake.generic_url("ssrf-ok"),
                   tags=["ssrf-ok"])
        nid = notice(st, "放行", "正文", {"tags": ["ssrf-ok"]})
        rep = wait_report(st, nid, all_final(1))
        self.assertEqual(rep["targets"][0]["status"], "sent", rep)
        self.assertEqual(len(fake.messages(platform="generic", target="ssrf-ok")), 1)


PER_WINDOW = 3
WINDOW_MS = 3000
SUMMARY = re.compile(r"过去 (\d+) 秒内另有 (\d+) 件新案件，请登录工作台查看。")


def xadd_cases(stack, n, start=1, region="510100"):
    """Appends n case_created events as the intake does; returns
    [(stream id, case id)]."""
    out = []
    for i in range(start, start + n):
        cid = "TS20261206-%04d" % i
        sid = stack.redis_command("XADD", stack.ini["redis"]["prefix"] + "events", "*",
                                  "type", "case_created", "id", cid, "form", "complaint",
                                  "region", region, "source", "web", "dup_of", "")
        out.append((sid, cid))
    return out


class AnnounceChecks:
    """What a staff robot received for a flood of cases, against the
    decisions the bot stored per event (announce:ev:{sid}: the window and
    the targets that got the case alone)."""

    def robot_messages(self, robot):
        alone, summaries = [], []
        for m in self.stack.fake.messages(platform="generic", target=robot):
            j = m["json"]
            mo = SUMMARY.search(j["markdown"])
            if mo:
                summaries.append((int(mo.group(2)), re.findall(r"TS\d{8}-\d{4}", j["markdown"])))
            else:
                (cid,) = set(re.findall(r"TS\d{8}-\d{4}", j["title"] + j["markdown"]))
                alone.append(cid)
        return alone, summaries

    def covered(self, robot):
        alone, summaries = self.robot_messages(robot)
        return len(alone) + sum(k for k, _ in summaries)

    def wait_covered(self, robots, total):
        self.stack.wait_for(lambda: all(self.covered(r) >= total for r in robots), 60,
                            "every case announced alone or in a summary")

    def decisions(self, events):
        p = self.stack.ini["redis"]["prefix"]
        out = {}
        for sid, cid in events:
            d = self.stack.redis_command("GET", p + "announce:ev:" + sid)
            self.assertIsNotNone(d, sid)
            w, _, rest = d.partition("|")
            _, _, ids = rest.partition("|")
            out[cid] = (int(w), set(ids.split(",")) - {""})
        return out

    def check_robot(self, robot, events, dec):
        alone, summaries = self.robot_messages(robot)
        cases = [cid for _, cid in events]
        # Nothing twice, nothing lost.
        self.assertEqual(len(alone), len(set(alone)), alone)
        want_alone = {cid for cid in cases if robot in dec[cid][1]}
        self.assertEqual(set(alone), want_alone)
        rest = set(cases) - want_alone
        self.assertEqual(sum(k for k, _ in summaries), len(rest), summaries)
        for _, named in summaries:
            self.assertLessEqual(len(named), 5)
            self.assertTrue(set(named) <= rest, (named, rest))
        # Per window: at most N alone, and one summary when it overflowed.
        windows = {}
        for cid in cases:
            windows.setdefault(dec[cid][0], []).append(cid)
        overflowed = 0
        for w, ws in windows.items():
            n_alone = len([c for c in ws if c in want_alone])
            self.assertLessEqual(n_alone, PER_WINDOW, (w, ws))
            overflowed += n_alone < len(ws)
        self.assertEqual(len(summaries), overflowed, summaries)
        self.assertLessEqual(len(alone) + len(summaries), (PER_WINDOW + 1) * len(windows))
        return len(windows)


class TestAnnounceBatching(StackCase, AnnounceChecks, unittest.TestCase):
    STACK_ARGS = {
        "bot": True,
        "fake": True,
        "ini": {"events": {"announce_per_minute": PER_WINDOW,
                           "announce_window_ms": WINDOW_MS}},
    }

    def test_flood_of_50_cases_is_batched_per_robot(self):
        st = self.stack
        for robot, region in (("flood-a", "510100"), ("flood-b", "510100"),
                              ("flood-other", "510700")):
            add_target(st, id=robot, channel="generic", address=st.fake.generic_url(robot),
                       tags=["staff", "region:" + region])
        events = xadd_cases(st, 50)
        self.wait_covered(["flood-a", "flood-b"], 50)
        dec = self.decisions(events)
        for robot in ("flood-a", "flood-b"):
            self.check_robot(robot, events, dec)
        _, summaries = self.robot_messages("flood-a")
        self.assertTrue(summaries)
        self.assertEqual(st.fake.messages(platform="generic", target="flood-other"), [])
        # Nothing more comes (a summary sent twice would, within a window).
        time.sleep(WINDOW_MS / 1000 + 1)
        for robot in ("flood-a", "flood-b"):
            self.check_robot(robot, events, dec)


class TestAnnounceBatchingCrash(StackCase, AnnounceChecks, unittest.TestCase):
    STACK_ARGS = {
        "bot": False,
        "fake": True,
        "ini": {"events": {"announce_per_minute": PER_WINDOW,
                           "announce_window_ms": WINDOW_MS},
                # Not the morning digest to "staff" (caught up by a bot
                # started after 08:37 Beijing time): only announcements.
                "bot": {"claim_idle_ms": 3000, "timeout_ms": 2000, "digest_tag": "digest-e2e"}},
    }

    def test_killed_bot_neither_loses_nor_repeats_a_summary(self):
        """zhuqi-bot is killed after it has split the events (and maybe
        before it acknowledged them or sent the summaries), then a new
        one, and a second instance, finish the work: every case is covered
        once and each window has one summary per robot."""
        st = self.stack
        add_target(st, id="crash-a", channel="generic", address=st.fake.generic_url("crash-a"),
                   tags=["staff", "region:510100"])
        events = xadd_cases(st, 20, start=101)
        p = st.ini["redis"]["prefix"]
        st.start_bot()
        st.wait_for(lambda: all(st.redis_command("EXISTS", p + "announce:ev:" + sid)
                                for sid, _ in events), 20, "every event split")
        st.kill9("bot")
        st.start_bot("bot2")
        st.start_bot("bot3")
        self.wait_covered(["crash-a"], 20)
        dec = self.decisions(events)
        self.check_robot("crash-a", events, dec)
        time.sleep(WINDOW_MS / 1000 + 1)
        self.check_robot("crash-a", events, dec)
        st.wait_for(lambda: not st.redis_command("XPENDING", p + "events", "bot")[0], 15,
                    "every event acknowledged")


if __name__ == "__main__":
    unittest.main()

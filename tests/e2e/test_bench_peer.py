"""The bench's instruments measure what they say they measure.

BenchPeerTest: the PHP-FPM peer of the complaint step (bench/peer/, the
"PHP-FPM peer" row of make bench) keeps zhuqi's contract: every request here
goes to both, zhuqi and the peer behind the same nginx, and must get the
same status and the same error code and field messages. A peer that
answered 200 to what zhuqi refuses would make the bench's ratio
meaningless. Skipped only when php-fpm is not installed (scripts/deps.sh
test and bench install php-fpm and php-redis).

StaffBenchTest: bench/staff_bench.py's list run gets only 2xx answers and
its export is allowed (a handler's token), on a small set of cases.

ChatBenchTest: bench/chat_bench.lua's messages are turns inside the
complaint form (past the eligibility check, never back at the menu), all
answered 2xx. DingTalkBenchTest: its DingTalk messages, over several runs
against one stack as make bench sends them, are all taken (a timestamp and
sign of their own each), each queues its reply while zhuqi-bot is stopped
(the row measures the webhook, not the delivery), and bench/run.py's
delivery figure then sees every reply accepted by the fake platform.

The other instruments' tests follow the same idea: a benchmark of errors
or of a different request than it claims is worthless. None of them
depends on timing."""

import hashlib
import hmac
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
import tempfile
import unittest

import harness
from harness import ROOT, Checks
from test_intake import GOOD_USCC, OTHER_USCC, SAMPLE, bad_check

sys.path.insert(0, os.path.join(ROOT, "bench", "peer"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import peer as peer_mod  # noqa: E402  (bench/peer)
import staff_bench  # noqa: E402  (bench/)
import staff_util  # noqa: E402

PHP_FPM = peer_mod.find_php_fpm()


def load_bench_run():
    """bench/run.py as a module (tests/e2e has a run.py of its own)."""
    spec = importlib.util.spec_from_file_location("bench_run",
                                                  os.path.join(ROOT, "bench", "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Browser:
    """Keeps one target's cookie and CSRF token (port: zhuqi's or the peer's)."""

    def __init__(self, port):
        self.port = port
        self.cookie = None
        self.csrf = None

    def call(self, method, path, body=None, csrf=None, cookie=None):
        h = {}
        if cookie or self.cookie:
            h["Cookie"] = cookie or self.cookie
        if csrf or self.csrf:
            h["X-CSRF-Token"] = csrf or self.csrf
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            h["Content-Type"] = "application/json"
        r = harness.http_request(self.port, method, path, data, h)
        sc = r.header("Set-Cookie")
        if sc and sc.startswith("zq_sid=") and cookie is None:
            self.cookie = sc.split(";", 1)[0]
        return r

    def start(self):
        r = self.call("POST", "/api/intake/complaint")
        assert r.status in (200, 201), r
        self.csrf = r.json()["csrf"]
        return r


@unittest.skipIf(PHP_FPM is None, "php-fpm not installed (scripts/deps.sh test installs "
                 "php-fpm and php-redis)")
class BenchPeerTest(Checks, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory(prefix="zq-e2e-peer-")
        cls.peer = peer_mod.Peer(cls.tmp.name, harness.free_port(), children=2)
        cls.stack = load_bench_run().make_bench_stack_class(harness)(
            name="benchpeer", peer=cls.peer)
        try:
            cls.peer.start(cls.stack.redis_port, cls.stack.ini["redis"]["prefix"])
        except BaseException:
            cls.stack.close(raise_on_problems=False)
            raise
        schema = cls.stack.get("/api/forms/complaint").json()
        cls.gate = schema["steps"][0]
        cls.first = [s for s in schema["steps"] if not s.get("gate")][0]

    @classmethod
    def tearDownClass(cls):
        try:
            rc = cls.peer.stop()
            cls.stack.close()
            assert rc == 0, "php-fpm exited with %s:\n%s" % (rc, cls.peer.tail())
        finally:
            cls.tmp.cleanup()
            super().tearDownClass()

    def both(self):
        return Browser(self.stack.port), Browser(self.peer.port)

    def gate_answers(self, stop=None):
        """The eligibility answers that let the complaint go on; stop: the
        id of one field to answer with its first option that stops it."""
        out = {}
        for f in self.gate["fields"]:
            opts = f["options"]
            pick = next(o for o in opts if ("stop" in o) == (f["id"] == stop))
            out[f["id"]] = pick["value"]
        return out

    def started(self, stop=None):
        """Both targets with a draft whose eligibility check is answered."""
        pair = self.both()
        for b in pair:
            b.start()
            r = b.call("PUT", "/api/intake/complaint/steps/" + self.gate["id"],
                       {"answers": self.gate_answers(stop)})
            self.assertEqual(r.status, 200, r)
        return pair

    def step_path(self):
        return "/api/intake/complaint/steps/" + self.first["id"]

    def answers(self, **over):
        out = {f["id"]: SAMPLE.get(f["id"], "") for f in self.first["fields"]}
        out.update(over)
        return out

    def same(self, pair, method, path, body=None, status=None, **kw):
        """Sends the request to both; asserts the same status (and status
        when given) and, for errors, the same code and field messages.
        Returns the peer's answer."""
        z, p = (b.call(method, path, body, **kw) for b in pair)
        self.assertEqual(p.status, z.status, "peer %r, zhuqi %r" % (p, z))
        if status is not None:
            self.assertEqual(p.status, status, p)
        if p.status >= 400:
            ze, pe = z.json()["error"], p.json()["error"]
            self.assertEqual(pe["code"], ze["code"])
            self.assertEqual(pe.get("fields"), ze.get("fields"))
            self.assertErrorShape(p, p.status, ze["code"])
        return p

    def test_valid_step_200_like_zhuqi(self):
        pair = self.started()
        body = {"answers": self.answers(uscc=GOOD_USCC.lower(), mobile="+86 138-1234-5678")}
        z = pair[0].call("PUT", self.step_path(), body)
        p = pair[1].call("PUT", self.step_path(), body)
        self.assertEqual((z.status, p.status), (200, 200), (z, p))
        zj, pj = z.json(), p.json()
        for k in ("form", "step", "done"):
            self.assertEqual(pj[k], zj[k], k)
        self.assertEqual(pj["csrf"], pair[1].csrf)
        for f in self.first["fields"]:
            self.assertEqual(pj["answers"].get(f["id"]), zj["answers"].get(f["id"]), f["id"])
        self.assertEqual(pj["answers"]["uscc"], GOOD_USCC)
        self.assertEqual(pj["answers"]["mobile"], "13812345678")
        self.assertTrue(p.header("Set-Cookie", "").startswith("zq_sid="))

    def test_bad_uscc_422(self):
        pair = self.started()
        for bad in (bad_check(GOOD_USCC), GOOD_USCC[:17], "91510100MA61R7XQ3I",
                    bad_check(OTHER_USCC)):
            p = self.same(pair, "PUT", self.step_path(), {"answers": self.answers(uscc=bad)},
                          status=422)
            self.assertEqual(list(p.json()["error"]["fields"]), ["uscc"], bad)

    def test_bad_mobile_422(self):
        pair = self.started()
        for bad in ("12812345678", "1381234567", "138123456789", "138-1234-567a", "+1 13812345678"):
            p = self.same(pair, "PUT", self.step_path(), {"answers": self.answers(mobile=bad)},
                          status=422)
            self.assertEqual(list(p.json()["error"]["fields"]), ["mobile"], bad)

    def test_required_and_text_rules_422(self):
        pair = self.started()
        for over in ({"company_name": ""}, {"company_name": "甲"}, {"address": "一\n二三四五六"},
                     {"size": "huge"}, {"region": "999999"}, {"region": "重庆"},
                     {"contact_name": None}, {"extra": "x"}):
            self.same(pair, "PUT", self.step_path(), {"answers": self.answers(**over)},
                      status=422)
        # Numbered choices and region names, as zhuqi takes them.
        self.same(pair, "PUT", self.step_path(),
                  {"answers": self.answers(size="2", region="成都")}, status=200)

    def test_wrong_csrf_403(self):
        pair = self.started()
        self.same(pair, "PUT", self.step_path(), {"answers": self.answers()}, status=403,
                  csrf="0" * 64)

    def test_session_missing_or_gone(self):
        pair = self.both()
        self.same(pair, "PUT", self.step_path(), {"answers": self.answers()}, status=404)
        self.same(pair, "PUT", self.step_path(), {"answers": self.answers()}, status=410,
                  cookie="zq_sid=" + "a" * 64)

    def test_gate_first_and_its_stop_rules(self):
        pair = self.both()
        for b in pair:
            b.start()
        self.same(pair, "PUT", self.step_path(), {"answers": self.answers()}, status=409)
        stopped = self.started(stop=self.gate["fields"][0]["id"])
        p = self.same(stopped, "PUT", self.step_path(), {"answers": self.answers()}, status=422)
        self.assertEqual(list(p.json()["error"]["fields"]), ["_"])

    def test_malformed_body(self):
        pair = self.started()
        self.same(pair, "PUT", self.step_path(), {"no_answers": {}}, status=400)
        self.same(pair, "PUT", self.step_path(), {"answers": []}, status=400)


@unittest.skipIf(shutil.which("wrk") is None, "wrk not installed (scripts/deps.sh test installs it)")
class StaffBenchTest(unittest.TestCase):
    CASES = 300

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tokens = staff_util.Tokens()
        cls.stack = staff_bench.make_stack(harness, cls.tokens, name="staffbenchtest")
        staff_bench.store_cases(cls.stack, staff_util, cls.CASES)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stack.close()
        finally:
            super().tearDownClass()

    def test_list_run_is_all_2xx(self):
        li = staff_bench.run_list(self.stack, self.tokens.viewer, 1, 32)
        self.assertGreater(li["requests"], 0)
        self.assertEqual(li["non_2xx"], 0, li["wrk"])
        self.assertTrue(li["valid"], li["problems"])

    def test_export_with_a_role_that_may_export(self):
        r = self.stack.get("/api/admin/cases.csv",
                           headers=staff_util.auth(self.tokens.viewer))
        self.assertEqual(r.status, 403)  # why the benchmark uses a handler's token
        ex = staff_bench.run_export(self.stack, self.tokens.handler, self.stack.fcgi_pid(),
                                    self.CASES)
        self.assertEqual(ex["rows"], self.CASES)


@unittest.skipIf(shutil.which("wrk") is None, "wrk not installed (scripts/deps.sh test installs it)")
class ChatBenchTest(unittest.TestCase):
    USERS = 8
    SECRET = uuid.uuid4().hex

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack = harness.Stack(name="chatbench", ini={"generic": {"secret": cls.SECRET}},
                                  rates={z: staff_bench.NO_LIMIT
                                         for z in ("api", "intake", "cases", "hook")})

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stack.close()
        finally:
            super().tearDownClass()

    def say(self, user, text):
        """One signed generic message; returns the replies' text."""
        body = json.dumps({"user": user, "text": text, "id": uuid.uuid4().hex},
                          ensure_ascii=False).encode()
        ts = str(int(time.time()))
        sig = hmac.new(self.SECRET.encode(), ts.encode() + b"." + body,
                       hashlib.sha256).hexdigest()
        r = self.stack.request("POST", "/hook/generic", body=body, headers={
            "Content-Type": "application/json", "X-Zhuqi-Timestamp": ts,
            "X-Zhuqi-Signature": "sha256=" + sig})
        self.assertEqual(r.status, 200, r)
        return json.dumps(r.json()["replies"], ensure_ascii=False)

    def test_every_message_is_a_turn_inside_the_form(self):
        schema = self.stack.get("/api/forms/complaint").json()
        first = [st for st in schema["steps"] if not st.get("gate")][0]
        self.assertTrue(schema["steps"][0].get("gate"))
        run_id = uuid.uuid4().hex[:8]
        # One connection: each user's messages in order (no timing here).
        p = subprocess.run(
            ["wrk", "-t1", "-c1", "-d2s", "-s", os.path.join(ROOT, "bench", "chat_bench.lua"),
             "http://127.0.0.1:%d/hook/generic" % self.stack.port, "--", "generic", self.SECRET,
             str(self.USERS), run_id],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout)
        res = json.loads(re.search(r"^BENCH_JSON (\{.*\})$", p.stdout, re.M).group(1))
        self.assertEqual(res["errors"]["status"], 0, p.stdout)
        # Enough for every user to be past the eligibility check (5 turns).
        self.assertGreaterEqual(res["requests"], self.USERS * 7, p.stdout)
        label = first["fields"][0]["label"]
        last_gate = schema["steps"][0]["fields"][-1]["label"]
        for n in range(self.USERS):
            user = "bench-%s-1-%d" % (run_id, n)
            # Help names the question a user is at, and only inside a form.
            text = self.say(user, "帮助")
            self.assertIn("当前的问题", text, "user %d is not inside the form: %s" % (n, text))
            self.assertIn("请填写：" + label, text, "user %d: %s" % (n, text))
            # The complaint's, not the consultation's (which asks for a
            # company name too): back from it is the eligibility check.
            text = self.say(user, "返回")
            self.assertIn(last_gate, text, "user %d is not in the complaint: %s" % (n, text))

@unittest.skipIf(shutil.which("wrk") is None, "wrk not installed (scripts/deps.sh test installs it)")
class DingTalkBenchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bench = load_bench_run()
        # The secret bench/run.py's sample signs with.
        cls.SECRET = cls.bench.CHAT_SECRETS["dingtalk"]
        cls.stack = harness.Stack(name="dingtalkbench", fake=True,
                                  ini={"dingtalk": {"app_secret": cls.SECRET}},
                                  rates={z: staff_bench.NO_LIMIT
                                         for z in ("api", "intake", "cases", "hook")})

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stack.close()
        finally:
            super().tearDownClass()

    def test_runs_all_taken_replies_queued_then_delivered(self):
        alloc = self.bench.TsAlloc(2)
        base = self.stack.ini["channels"]["dingtalk_base_url"]
        url = "http://127.0.0.1:%d/hook/dingtalk" % self.stack.port
        argv = ["wrk", "-t2", "-c4", "-d1s", "-s", os.path.join(ROOT, "bench", "chat_bench.lua"),
                url, "--", "dingtalk", self.SECRET, base, "8", "-", self.bench.TS_BASE, "2"]
        total = 0
        # A sample, then two runs (make bench's warm-up and measured run).
        sample = self.bench.chat_sample(self.stack, "dingtalk", alloc)
        self.assertEqual(sample.status, 200, sample)
        total += 1
        for _ in range(2):
            res = self.bench.run_wrk(argv, alloc)
            errs = res["errors"]
            self.assertEqual(errs["status"], 0, res["text"])
            self.assertEqual(errs["connect"] + errs["read"] + errs["write"] + errs["timeout"], 0,
                             res["text"])
            self.assertGreater(res["requests"], 0)
            total += res["requests"]
        # No bot on this stack: every reply waits on the outbox. wrk's count
        # leaves out the requests still in flight when it stopped (at most
        # its 4 connections per run), which zhuqi may have answered.
        queued = self.bench.outbox_queued(self.stack)
        self.assertGreaterEqual(queued, total)
        self.assertLessEqual(queued, total + 2 * 4)
        logs = []
        d = self.bench.measure_delivery(self.stack, logs.append, timeout=120)
        self.assertEqual(d["problems"], [], logs)
        self.assertEqual(d["left"], 0)
        # Every reply queued is delivered (one of a request wrk gave up on
        # at its stop may join the outbox after the count above).
        self.assertGreaterEqual(d["accepted"], queued)
        self.assertLessEqual(d["accepted"], total + 2 * 4)


if __name__ == "__main__":
    unittest.main()

"""Starts tests/fake/fake_platform.py on a free loopback port and drives its
control API, for the e2e tests and benchmarks (Python 3 stdlib only).

    fake = FakePlatform(log="/tmp/x/fake.jsonl")      # started and ready
    fake.base_urls()   # {"wecom": "http://127.0.0.1:P/wecom", ...}
    fake.add_target("dingtalk", "T1", secret="SEC...")
    fake.add_target("wecom-app", "wwCORP", app_secret="S", agent_id=1000002)
    fake.add_fault("T1", "throttle", count=2)
    fake.messages(platform="dingtalk", target="T1", accepted=True)
    fake.stats()["by_target"]["dingtalk/T1"]["accepted"]
    fake.close()
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "fake_platform.py")
HOST = "127.0.0.1"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:300])


class FakePlatform:
    """The fake as a child process. args are extra command-line options
    (["--open"], ["--rate-window", "2"], ...)."""

    def __init__(self, port=None, log=None, args=(), ready_timeout=10.0):
        self.port = port or _free_port()
        cmd = [sys.executable, SCRIPT, "--port", str(self.port)] + list(args)
        if log:
            cmd += ["--log", log]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + ready_timeout
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode("utf-8", "replace")
                raise RuntimeError("fake platform exited: %s" % err)
            try:
                if self.request("GET", "/_health", timeout=1).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("fake platform did not start on port %d" % self.port)
            time.sleep(0.05)

    @property
    def url(self):
        return "http://%s:%d" % (HOST, self.port)

    def base_urls(self):
        """The base URLs for zq_channel_config / [channels] *_base_url
        ("dingtalk_api": DingTalk's new-style API, served under /dingtalk)."""
        urls = {p: "%s/%s" % (self.url, p) for p in ("wecom", "dingtalk", "feishu", "telegram")}
        urls["dingtalk_api"] = "%s/dingtalk" % self.url
        return urls

    def generic_url(self, name):
        return "%s/generic/%s" % (self.url, urllib.parse.quote(name, safe=""))

    def request(self, method, path, body=None, headers=None, timeout=30):
        """One request on a fresh connection; body may be a dict (sent as
        JSON), str or bytes."""
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False)
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return Response(r.status, r.headers, r.read())
        finally:
            conn.close()

    def _ok(self, method, path, body=None):
        r = self.request(method, path, body)
        if r.status != 200:
            raise AssertionError("%s %s: %r" % (method, path, r))
        return r.json()

    def add_target(self, platform, ident, secret="", **kw):
        """Registers one target (see fake_platform.py for the options)."""
        t = dict(kw, platform=platform, key=ident, secret=secret)
        return self._ok("POST", "/_targets", t)

    def add_targets(self, targets):
        return self._ok("POST", "/_targets", {"targets": targets})

    def add_fault(self, target, mode, **kw):
        return self._ok("POST", "/_faults", dict(kw, target=target, mode=mode))["fault"]

    def clear_faults(self):
        return self._ok("DELETE", "/_faults")

    def expire_tokens(self):
        """Every access token handed out so far expires now."""
        return self._ok("POST", "/_tokens/expire")["expired"]

    def messages(self, platform=None, target=None, since=0, accepted=None):
        q = {"since": since}
        if platform is not None:
            q["platform"] = platform
        if target is not None:
            q["target"] = target
        if accepted is not None:
            q["accepted"] = "1" if accepted else "0"
        return self._ok("GET", "/_messages?" + urllib.parse.urlencode(q))["messages"]

    def stats(self, totals=False):
        """{total, accepted, rejected, by_target}; totals=True leaves
        by_target out (a poll that costs the fake nothing per target)."""
        return self._ok("GET", "/_stats?totals=1" if totals else "/_stats")

    def reset(self, everything=False):
        return self._ok("POST", "/_reset" + ("?all=1" if everything else ""))

    def close(self):
        """SIGTERM, then wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        return self.proc.returncode

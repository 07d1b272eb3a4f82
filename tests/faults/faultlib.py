"""Shared pieces of the fault suite: a threaded load generator that drives
traffic through nginx and records every request, the intake flows it
runs, and small helpers around tests/e2e/harness.py's Stack.

Python 3 standard library only; nothing leaves 127.0.0.0/8.
"""

import json
import os
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.join(os.path.dirname(HERE), "e2e")
if E2E not in sys.path:
    sys.path.insert(0, E2E)

import harness  # noqa: E402
from test_intake import Client, sample_for  # noqa: E402  (the e2e intake helpers)

PREFIX = "zqe2e:"  # the harness's [redis] prefix
# nginx's per-address limits, out of the way: all traffic comes from
# 127.0.0.1, and a 429 would hide the errors we look for.
RATES = {z: ("100000r/s", 100000) for z in ("api", "intake", "cases", "hook")}


class FaultFailed(AssertionError):
    """A count came out wrong."""


class Skip(Exception):
    """Raised by a fault that cannot run on this machine (says why)."""


def check(cond, msg, *args):
    if not cond:
        raise FaultFailed(msg % args if args else msg)


class Rec:
    """One request as the client saw it."""

    __slots__ = ("t0", "t1", "method", "path", "status", "error", "retry_after", "kind")

    def __init__(self, t0, t1, method, path, status, error, retry_after, kind):
        self.t0, self.t1 = t0, t1
        self.method, self.path = method, path
        self.status, self.error = status, error
        self.retry_after = retry_after
        self.kind = kind

    @property
    def ok(self):
        return self.error is None and self.status is not None and self.status < 400

    def __repr__(self):
        return "<%s %s %s %s>" % (self.method, self.path, self.status, self.error or "")


class Recorder:
    """Thread-safe log of requests, with the Stack's port."""

    def __init__(self, stack, timeout=30.0):
        self.stack = stack
        self.timeout = timeout
        self.lock = threading.Lock()  # protects recs and notes
        self.recs = []
        self.notes = {}

    def request(self, method, path, body=None, headers=None, kind=None):
        """One request through nginx on a fresh connection; returns the
        harness Response, or None when the connection failed (recorded)."""
        t0 = time.monotonic()
        resp, err = None, None
        try:
            resp = self.stack.request(method, path, body=body, headers=headers,
                                      timeout=self.timeout)
        except Exception as e:  # a reset, a refused connection, a timeout
            err = "%s: %s" % (type(e).__name__, e)
        t1 = time.monotonic()
        rec = Rec(t0, t1, method, path, resp.status if resp else None, err,
                  resp.header("Retry-After") if resp else None, kind or path)
        with self.lock:
            self.recs.append(rec)
        return resp

    def note(self, key, value):
        with self.lock:
            self.notes.setdefault(key, []).append(value)

    def notes_of(self, key):
        with self.lock:
            return list(self.notes.get(key, []))

    def snapshot(self):
        with self.lock:
            return list(self.recs)


class Load:
    """Runs action(recorder, stop_event, worker_index) in n threads, each in
    a loop, until stop(). An exception inside an action is recorded as
    a crash of the load generator itself, which fails the fault."""

    def __init__(self, recorder, action, threads=4, pause=0.0):
        self.rec = recorder
        self.action = action
        self.pause = pause
        self.stop_ev = threading.Event()
        self.crashes = []
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(threads)]

    def _run(self, i):
        while not self.stop_ev.is_set():
            try:
                self.action(self.rec, self.stop_ev, i)
            except Exception as e:
                self.crashes.append("%s: %s" % (type(e).__name__, e))
                self.stop_ev.wait(0.2)
            if self.pause:
                self.stop_ev.wait(self.pause)

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self, timeout=60):
        self.stop_ev.set()
        for t in self.threads:
            t.join(timeout)
        alive = [t for t in self.threads if t.is_alive()]
        check(not alive, "%d load thread(s) still running %ds after stop", len(alive), timeout)
        check(not self.crashes, "load generator crashed: %s", self.crashes[:3])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if not self.stop_ev.is_set():
            self.stop_ev.set()
            for t in self.threads:
                t.join(60)


def summarise(recs):
    """{"requests", "ok", "errors", "by_status"} of a list of Rec."""
    by = {}
    for r in recs:
        k = r.status if r.error is None else "conn-error"
        by[k] = by.get(k, 0) + 1
    errors = [r for r in recs if not r.ok]
    return {"requests": len(recs), "ok": len(recs) - len(errors), "errors": errors,
            "by_status": by}


def fmt_status(by):
    return ", ".join("%s: %d" % (k, v) for k, v in sorted(by.items(), key=lambda kv: str(kv[0])))


# --- the intake flows -------------------------------------------------

_schemas = {}
_schemas_lock = threading.Lock()  # protects _schemas


def schema(stack, form):
    with _schemas_lock:
        if form not in _schemas:
            r = stack.get("/api/forms/" + form)
            check(r.status == 200, "GET /api/forms/%s: %r", form, r)
            _schemas[form] = r.json()
        return _schemas[form]


def steps_of(stack, form):
    return [s for s in schema(stack, form)["steps"] if not s.get("review")]


class Flow(Client):
    """test_intake's Client, with each request recorded."""

    def __init__(self, stack, rec):
        super().__init__(stack)
        self.rec = rec

    def call(self, method, path, body=None, headers=None, csrf=True, raw=None, kind=None):
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = self.cookie
        if csrf and self.csrf:
            h.setdefault("X-CSRF-Token", self.csrf)
        data = raw
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            h.setdefault("Content-Type", "application/json")
        r = self.rec.request(method, path, body=data, headers=h, kind=kind)
        sc = r.header("Set-Cookie") if r is not None else None
        if sc and sc.startswith("zq_sid="):
            self.cookie = sc.split(";", 1)[0]
        return r

    def start(self, form):
        r = self.call("POST", "/api/intake/" + form, csrf=False, kind="start")
        if r is not None and r.status in (200, 201):
            self.csrf = r.json()["csrf"]
        return r


def answers_for(step):
    return {f["id"]: sample_for(f) for f in step.get("fields", [])}


def ok(r):
    return r is not None and 200 <= r.status < 300


def fill(stack, rec, form, stop=None, retry=True):
    """Starts a draft and saves every step, retrying each request (the
    same request: starting and saving a step are idempotent) while it
    fails and retry is set. Returns the Flow, or None when stopped or
    when a request failed and retry is off."""
    c = Flow(stack, rec)
    while not ok(c.start(form)):
        if not retry or (stop is not None and stop.is_set()):
            return None
        time.sleep(0.05)
    for st in steps_of(stack, form):
        path = "/api/intake/%s/steps/%s" % (form, st["id"])
        while not ok(c.call("PUT", path, {"answers": answers_for(st)}, kind="step")):
            if not retry or (stop is not None and stop.is_set()):
                return None
            time.sleep(0.05)
    return c


def submit_until_acked(flow, rec, form, stop=None, deadline_s=60.0):
    """Submits with one Idempotency-Key, retrying with the same key until
    a 2xx (or the deadline, or until stop is set and at least one try was
    made). Returns the case id or None. Notes "acked" (id) and "tries"."""
    key = uuid.uuid4().hex
    t_end = time.monotonic() + deadline_s
    while time.monotonic() < t_end:
        r = flow.call("POST", "/api/intake/%s/submit" % form,
                      headers={"Idempotency-Key": key}, kind="submit")
        if ok(r):
            cid = r.json()["case"]["id"]
            rec.note("acked", cid)
            return cid
        if stop is not None and stop.is_set():
            rec.note("unacked", key)
            return None
        time.sleep(0.1)
    rec.note("unacked", key)
    return None


def case_present(stack, cid, port=None):
    """True when case cid (status and its history) is in Redis."""
    port = port or stack.redis_port
    status = stack.redis_command_at(port, "HGET", PREFIX + "case:" + cid, "status")
    loglen = stack.redis_command_at(port, "LLEN", PREFIX + "case:%s:log" % cid)
    return status is not None and loglen >= 1


def outage(recs, after):
    """(first failure, first success after it, last failure) in monotonic
    seconds among requests that ended after `after`; None when none
    failed."""
    fails = sorted((r for r in recs if not r.ok and r.t1 >= after), key=lambda r: r.t1)
    if not fails:
        return None
    first_fail = fails[0].t1
    later_ok = sorted((r for r in recs if r.ok and r.t0 >= first_fail), key=lambda r: r.t1)
    first_ok = later_ok[0].t1 if later_ok else None
    return first_fail, first_ok, fails[-1].t1


def nginx_cmd(stack, *args):
    """Runs the nginx binary against the stack's private prefix (e.g.
    "-s", "reload"); returns the CompletedProcess."""
    prefix = os.path.join(stack.dir, "nginx")
    main = os.path.join(prefix, "nginx.conf")
    err = os.path.join(stack.dir, "log", "nginx-error.log")
    nginx = harness.find_exe("nginx", "ZQ_NGINX")
    return subprocess.run([nginx, "-p", prefix, "-c", main, "-e", err] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)


def rerender_nginx(stack, **values):
    """Renders the site again with some placeholders changed (e.g.
    ZQ_FCGI_ADDR) and reloads nginx; waits until the new workers answer."""
    stack.nginx_values.update(values)
    prefix = os.path.join(stack.dir, "nginx")
    pid = os.path.join(stack.dir, "run", "nginx.pid")
    err = os.path.join(stack.dir, "log", "nginx-error.log")
    harness.render_nginx.write_private(prefix, stack.nginx_values, pid, err, environ={})
    t = nginx_cmd(stack, "-t", "-q")
    check(t.returncode == 0, "nginx -t: %s", t.stdout.decode("utf-8", "replace"))
    r = nginx_cmd(stack, "-s", "reload")
    check(r.returncode == 0, "nginx -s reload: %s", r.stdout.decode("utf-8", "replace"))
    time.sleep(0.5)


def nginx_worker_pids(stack):
    """The pids of nginx's current worker processes (children of the
    master)."""
    master = stack.procs["nginx"].pid
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            out.append(int(d))
    return sorted(out)

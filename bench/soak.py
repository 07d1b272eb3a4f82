#!/usr/bin/env python3
"""The soak behind `make soak`: one private stack (bench/run.py's: Redis,
zhuqi-fcgi, zhuqi-bot, nginx from nginx/zhuqi.conf, the fake platform) on
loopback, a mix of requests at half of the measured capacity for ten
minutes, and a pass/fail verdict.

    python3 bench/soak.py [BIN_DIR] [--seconds N] [--rate R] [--connections C]

BIN_DIR defaults to build/release. Environment (the options win):
SOAK_SECONDS (length of the soak, default 600), SOAK_RATE (requests/s to
hold; unset: measure the capacity first and take SOAK_FRACTION of it),
SOAK_FRACTION (default 0.5), SOAK_CONNECTIONS (wrk connections, one
thread each, default 16), SOAK_CAPACITY_SECONDS (the full-speed run that
measures the capacity, default 10), SOAK_SAMPLE_SECONDS (how often
VmRSS is read, default 5), SOAK_KINDS (keep only these kinds of the mix,
comma-separated, to find which one a finding comes from).

1. Warm-up (2 s of the mix at full speed, 200 complete submissions 16
   at a time; see warm_submissions()) and capacity: bench/soak.lua drives
   the mix with wrk at full speed (no pacing) for SOAK_CAPACITY_SECONDS;
   capacity = answers per second.
2. Soak: the same mix paced to SOAK_FRACTION x capacity for SOAK_SECONDS.
   The mix, per cycle of 100 requests (MIX): GET /api/ping, GET
   /api/health, a complaint step saved (8 drafts), a status lookup (4
   cases), a signed generic chat message, a signed DingTalk message (its
   reply goes through the outbox to the fake platform), the staff list.
   Beside it, from this process: a complete submission (start, every
   step, submit; complaint and consultation in turn) every 5 s, so Redis
   grows as in use, and a notice to 5 generic targets of the fake platform
   every minute (the first after 20 s), so zhuqi-bot works too.
3. VmRSS of zhuqi-fcgi and zhuqi-bot every SOAK_SAMPLE_SECONDS; the value
   after the first minute (after half the run when it is shorter than two
   minutes) is the reference, the last sample under load the end.
4. After the load: every notice delivered to every target, the outbox
   drained (no backlog, no dead letter), both programs stop cleanly.

Checks (PASS or MISS): zero errors (socket errors, non-2xx answers counted
by wrk's script and by the app's /api/metrics, requests never answered,
failed submissions or notices, dead letters, an undrained outbox, a
program that died or did not stop cleanly; the capacity run included);
the rate held (achieved >= 95% of the target); and for each program the
RSS at the end within 5% of the reference. Unlike `make bench`, the soak
is a pass/fail check: exit 0 when every check passes, 1 when one misses,
2 when the harness itself failed (a stack that does not start, a sample
request refused before the load, wrk missing or failing).

Prints a report and writes it as JSON to bench/out/soak-latest.json (and
bench/out/soak-YYYYmmdd-HHMMSS.json). Python 3 standard library only.
Nothing leaves 127.0.0.0/8.
"""

import argparse
import concurrent.futures
import datetime
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
import run as bench  # noqa: E402  (bench/run.py: the stack, samples, CPU and RSS)

ROOT = bench.ROOT
SOAK_LUA = os.path.join(BENCH_DIR, "soak.lua")
LATEST = "soak-latest.json"

# kind -> weight in a cycle of 100 requests, and the app's metrics route.
MIX = [
    ("ping", 10, "ping"),
    ("health", 10, "health"),
    ("step", 30, "intake_step"),
    ("lookup", 15, "case_lookup"),
    ("chat_generic", 20, "hook_generic"),
    ("chat_dingtalk", 5, "hook_dingtalk"),
    ("staff_list", 10, "admin_cases"),
]
DRAFTS = 8  # complaint drafts the step saves go round
LOOKUP_CASES = 4  # cases the lookups go round
CHAT_USERS = 256  # chat users per wrk thread
SUBMIT_EVERY_S = 5.0
WARM_SUBMISSIONS = 200  # before the capacity run, see warm_submissions()
NOTICE_EVERY_S = 60.0
FIRST_NOTICE_S = 20.0
NOTICE_TARGETS = 5
REFERENCE_S = 60  # "after the first minute"
RSS_TOLERANCE = 0.05
RATE_TOLERANCE = 0.95
WARMUP_S = 2
DRAIN_S = 60.0  # how long the outbox may take to drain after the load
WRK_SLACK_S = 60  # wrk must have exited this long after its duration

EXIT_PASS, EXIT_MISS, EXIT_HARNESS = 0, 1, 2


class HarnessError(Exception):
    """The soak could not run: exit 2."""


# --- the mix ------------------------------------------------------------

def lua_str(s):
    """A Lua string literal of s (str or bytes), any byte escaped as \\ddd."""
    if isinstance(s, str):
        s = s.encode("utf-8")
    out = []
    for b in s:
        if 32 <= b < 127 and b not in (34, 92):
            out.append(chr(b))
        else:
            out.append("\\%03d" % b)
    return '"' + "".join(out) + '"'


def lua_value(v):
    if isinstance(v, dict):
        return "{" + ", ".join("[%s] = %s" % (lua_str(k), lua_value(x))
                               for k, x in sorted(v.items())) + "}"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua_value(x) for x in v) + "}"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return lua_str(v)


def write_mix(path, kinds, rate, stack, dt_alloc):
    """The MIXFILE of bench/soak.lua, for one run of wrk: dt_alloc (a
    bench/run.py TsAlloc) gives the run's DingTalk timestamps a base of
    their own (zhuqi takes a timestamp/sign pair with one message only)."""
    mix = {"rate": float(rate), "kinds": kinds, "users": CHAT_USERS,
           "generic_secret": bench.CHAT_SECRETS["generic"],
           "dingtalk_secret": bench.CHAT_SECRETS["dingtalk"],
           "dingtalk_base": stack.ini["channels"]["dingtalk_base_url"],
           "dingtalk_ts_base": dt_alloc.take(), "dingtalk_ts_stride": dt_alloc.stride}
    with open(path, "w", encoding="ascii") as f:
        f.write("-- written by bench/soak.py\nreturn " + lua_value(mix) + "\n")


def build_kinds(stack, sc, log):
    """The kinds of the mix with their requests (made through the API
    like bench/run.py's rows), each checked once: HarnessError when a
    sample is not answered 2xx."""
    variants = {
        "ping": [{"method": "GET", "path": "/api/ping"}],
        "health": [{"method": "GET", "path": "/api/health"}],
        "staff_list": [{"method": "GET", "path": "/api/admin/cases?limit=50",
                        "headers": {"Authorization": "Bearer " + stack.staff_token}}],
        "step": [],
        "lookup": [],
    }
    try:
        for _ in range(DRAFTS):
            variants["step"].append(bench.setup_step(sc))
        for _ in range(LOOKUP_CASES):
            variants["lookup"].append(bench.setup_lookup(sc))
        bench.chat_selftest(stack.port)
    except Exception as e:
        raise HarnessError("setting up the mix: %s" % e) from e
    kinds = []
    for kind, weight, _route in MIX:
        if kind.startswith("chat_"):
            mode = kind[len("chat_"):]
            r = bench.chat_sample(stack, mode)
            if not 200 <= r.status < 300:
                raise HarnessError("sample %s answered %d: %r" % (kind, r.status, r))
            kinds.append({"kind": kind, "weight": weight, "gen": mode})
            continue
        vs = []
        for v in variants[kind]:
            v = {"method": v.get("method", "PUT" if kind == "step" else "POST"),
                 "path": v["path"], "headers": dict(v.get("headers") or {}),
                 "body": v.get("body")}
            r = stack.request(v["method"], v["path"], body=v["body"], headers=v["headers"])
            if not 200 <= r.status < 300:
                raise HarnessError("sample %s %s answered %d: %r" % (
                    v["method"], v["path"], r.status, r))
            if v["body"] is None:
                del v["body"]
            vs.append(v)
        kinds.append({"kind": kind, "weight": weight, "variants": vs})
    log("soak: mix of %d kinds, per cycle of %d requests: %s" % (
        len(kinds), sum(k["weight"] for k in kinds),
        ", ".join("%s %d" % (k["kind"], k["weight"]) for k in kinds)))
    return kinds


# --- wrk ----------------------------------------------------------------

def bucket_upper_us(b):
    """Upper bound of soak.lua's latency bucket b, in microseconds (10 s
    for the last bucket, which holds everything slower)."""
    if b < 200:
        return (b + 1) * 50
    return 10000 + (min(b, 10190) - 200 + 1) * 1000


def percentile_ms(hist, p):
    """p-th percentile (upper bucket bound) of {bucket: count}, in ms."""
    items = sorted((int(b), n) for b, n in hist.items())
    total = sum(n for _, n in items)
    if total == 0:
        return None
    want = math.ceil(total * p / 100.0)
    seen = 0
    for b, n in items:
        seen += n
        if seen >= want:
            return round(bucket_upper_us(b) / 1000.0, 2)
    return None


def merge_hist(hists):
    out = {}
    for h in hists:
        for b, n in h.items():
            out[b] = out.get(b, 0) + n
    return out


class Wrk:
    """bench/soak.lua under wrk, started in the background."""

    def __init__(self, port, mixfile, connections, seconds, outdir, name):
        self.seconds = seconds
        self.connections = connections
        self.out_path = os.path.join(outdir, "wrk-%s.out" % name)
        self.argv = ["wrk", "-t%d" % connections, "-c%d" % connections, "-d%ds" % seconds,
                     "--timeout", "5s", "-s", SOAK_LUA, "http://127.0.0.1:%d/" % port, "--",
                     mixfile, str(connections)]
        self.out = open(self.out_path, "w+b")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT)

    def elapsed(self):
        return time.monotonic() - self.t0

    def running(self):
        return self.proc.poll() is None

    def finish(self):
        """Waits for wrk; returns {wrk: BENCH_JSON, soak: SOAK_JSON}."""
        try:
            rc = self.proc.wait(max(self.seconds + WRK_SLACK_S - self.elapsed(), 1))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise HarnessError("wrk still running %d s after its duration: killed"
                               % WRK_SLACK_S)
        self.out.seek(0)
        text = self.out.read().decode("utf-8", "replace")
        self.out.close()
        m = re.search(r"^BENCH_JSON (\{.*\})$", text, re.M)
        threads = [json.loads(t) for t in re.findall(r"^SOAK_JSON (\{.*\})$", text, re.M)]
        if rc != 0 or m is None or len(threads) != self.connections:
            raise HarnessError("wrk failed (exit %d):\n%s" % (rc, text[-2000:]))
        return {"wrk": json.loads(m.group(1)), "soak": merge_threads(threads)}


def merge_threads(threads):
    """soak.lua's per-thread figures added up."""
    out = {"sent": {}, "answered": {}, "statuses": {}, "hist": {}, "inflight": {},
           "late": 0, "max_lag_us": 0}

    def add(dst, src):
        for k, v in src.items():
            if isinstance(v, dict):
                add(dst.setdefault(k, {}), v)
            else:
                dst[k] = dst.get(k, 0) + v

    for t in threads:
        for k in ("sent", "answered", "statuses", "hist"):
            add(out[k], t.get(k) or {})
        if t.get("inflight"):
            out["inflight"][t["inflight"]] = out["inflight"].get(t["inflight"], 0) + 1
        out["late"] += t.get("late", 0)
        out["max_lag_us"] = max(out["max_lag_us"], t.get("max_lag_us", 0))
    return out


def dingtalk_sent(res):
    """DingTalk messages one run of soak.lua sent (all threads): a bound of
    the timestamps any one thread used."""
    return int(res["soak"]["sent"].get("chat_dingtalk", 0)) + 1


def summarize_run(res, target_rate=None):
    """Counts and latencies of one wrk run of soak.lua."""
    w, s = res["wrk"], res["soak"]
    secs = w["duration_us"] / 1e6
    kinds = {}
    for kind, weight, _route in MIX:
        sent = int(s["sent"].get(kind, 0))
        answered = int(s["answered"].get(kind, 0))
        inflight = int(s["inflight"].get(kind, 0))
        st = {k: int(v) for k, v in s["statuses"].get(kind, {}).items()}
        h = s["hist"].get(kind, {})
        kinds[kind] = {"weight": weight, "sent": sent, "answered": answered,
                       "in_flight_at_stop": inflight,
                       "unanswered": max(sent - answered - inflight, 0),
                       "non2xx": sum(st.values()), "statuses": st,
                       "p50_ms": percentile_ms(h, 50), "p99_ms": percentile_ms(h, 99)}
    all_h = merge_hist(s["hist"].get(k, {}) for k, _w, _r in MIX)
    answered = sum(k["answered"] for k in kinds.values())
    out = {
        "seconds": round(secs, 2),
        "sent": sum(k["sent"] for k in kinds.values()),
        "answered": answered,
        "rate": round(answered / secs, 1) if secs > 0 else 0.0,
        "p50_ms": percentile_ms(all_h, 50),
        "p99_ms": percentile_ms(all_h, 99),
        "p999_ms": percentile_ms(all_h, 99.9),
        "max_ms": round(w["max_us"] / 1000.0, 2),
        "non2xx": sum(k["non2xx"] for k in kinds.values()),
        "wrk_status_errors": w["errors"]["status"],
        "socket_errors": {k: w["errors"][k] for k in ("connect", "read", "write", "timeout")},
        "unanswered": sum(k["unanswered"] for k in kinds.values()),
        "late": int(s.get("late", 0)),
        "max_lag_ms": round(s.get("max_lag_us", 0) / 1000.0, 1),
        "kinds": kinds,
    }
    if target_rate:
        out["target_rate"] = round(target_rate, 1)
        out["rate_ratio"] = round(out["rate"] / target_rate, 3)
    return out


def run_errors(r):
    """Error count of one summarized run, by what."""
    out = {}
    sock = sum(r["socket_errors"].values())
    if sock:
        out["socket errors"] = sock
    if r["non2xx"] or r["wrk_status_errors"]:
        out["non-2xx answers"] = max(r["non2xx"], r["wrk_status_errors"])
    if r["unanswered"]:
        out["requests never answered"] = r["unanswered"]
    return out


# --- the side traffic ---------------------------------------------------

def admin_headers(stack):
    return {"Authorization": "Bearer " + stack.staff_token, "Content-Type": "application/json"}


def make_targets(stack, n):
    tags = ["soak"]
    for i in range(n):
        name = "soak-%d" % i
        secret = uuid.uuid4().hex
        stack.fake.add_target("generic", name, secret=secret)
        body = json.dumps({"id": name, "channel": "generic",
                           "address": stack.fake.generic_url(name), "secret": secret,
                           "tags": tags}, ensure_ascii=False)
        r = stack.request("POST", "/api/admin/targets", body, admin_headers(stack))
        if r.status not in (200, 201):
            raise HarnessError("POST /api/admin/targets answered %r" % (r,))


class SideTraffic(threading.Thread):
    """Complete submissions every SUBMIT_EVERY_S and a notice to the soak
    targets every NOTICE_EVERY_S, until stopped."""

    def __init__(self, stack, sc, seconds):
        super().__init__(name="soak-side", daemon=True)
        self.stack, self.sc = stack, sc
        self.first_notice = min(FIRST_NOTICE_S, seconds / 3.0)
        self.stop_ev = threading.Event()
        self.counts = {"submit": {"sent": 0, "ok": 0}, "notice": {"sent": 0, "ok": 0}}
        self.errors = []
        self.notices = []

    def fail(self, what, msg):
        self.errors.append("%s: %s" % (what, msg))

    def submit(self, form):
        self.counts["submit"]["sent"] += 1
        try:
            self.sc.fill_and_submit(form)
            self.counts["submit"]["ok"] += 1
        except Exception as e:  # counted: a failed submission is an error of the soak
            self.fail("submit " + form, e)

    def notice(self, n):
        self.counts["notice"]["sent"] += 1
        body = json.dumps({"title": "助企浸泡测试通知 %d" % n,
                           "body": "**税务助企宣讲日**：本月 27 日。\n- 一\n- 二",
                           "audience": {"tags": ["soak"]}}, ensure_ascii=False)
        try:
            r = self.stack.request("POST", "/api/admin/notices", body,
                                   admin_headers(self.stack))
            if r.status != 202:
                raise RuntimeError("answered %r" % (r,))
            self.notices.append(r.json()["notice"]["id"])
            self.counts["notice"]["ok"] += 1
        except Exception as e:
            self.fail("notice", e)

    def run(self):
        t0 = time.monotonic()
        next_submit, next_notice, n_sub, n_not = SUBMIT_EVERY_S, self.first_notice, 0, 0
        while not self.stop_ev.is_set():
            t = time.monotonic() - t0
            if t >= next_notice:
                n_not += 1
                self.notice(n_not)
                next_notice += NOTICE_EVERY_S
            elif t >= next_submit:
                self.submit(("complaint", "consult")[n_sub % 2])
                n_sub += 1
                next_submit += SUBMIT_EVERY_S
            else:
                self.stop_ev.wait(min(next_submit, next_notice) - t)

    def stop(self):
        self.stop_ev.set()
        self.join(60)


def warm_submissions(sc, concurrency, log):
    """WARM_SUBMISSIONS complete submissions, `concurrency` at a time, so
    that the fcgi threads and malloc arenas a submission can land on have
    all seen one before the soak: the side traffic alone (one every 5 s)
    would take longer than the soak to reach them all, and the RSS would
    climb towards its plateau during the soak. Returns the errors."""
    failed = []

    def one(i):
        form = ("complaint", "consult")[i % 2]
        try:
            sc.fill_and_submit(form)
        except Exception as e:  # counted: an error of the soak
            failed.append("warm-up submit %s: %s" % (form, str(e)[:300]))

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as ex:
        list(ex.map(one, range(WARM_SUBMISSIONS)))
    log("soak: warm-up: %d complete submissions, %d at a time, in %.1f s" % (
        WARM_SUBMISSIONS, concurrency, time.monotonic() - t0))
    return failed


def notice_report(stack, nid):
    r = stack.get("/api/admin/notices/%s?limit=1" % nid, headers=admin_headers(stack))
    if r.status != 200:
        raise RuntimeError("GET notice %s answered %r" % (nid, r))
    return r.json()["notice"]["totals"]


def outbox_state(stack):
    """{pending, lag, delayed, dead} of the outbox streams."""
    p = stack.ini["redis"]["prefix"]
    out = {"pending": 0, "lag": 0, "delayed": 0, "dead": 0}
    for s in ("outbox", "outbox:prio"):
        try:
            groups = stack.redis_command("XINFO", "GROUPS", p + s)
        except Exception:
            groups = []
        for g in groups or []:
            d = dict(zip(g[::2], g[1::2]))
            out["pending"] += int(d.get("pending") or 0)
            out["lag"] += int(d.get("lag") or 0)
    out["delayed"] = int(stack.redis_command("ZCARD", p + "outbox:delayed") or 0)
    out["dead"] = int(stack.redis_command("XLEN", p + "outbox:dead") or 0)
    return out


def drain(stack, side, log):
    """After the load: every notice delivered, the outbox empty. Returns
    (figures, errors)."""
    errors = []
    deadline = time.monotonic() + DRAIN_S
    while True:
        ob = outbox_state(stack)
        totals = {}
        for nid in side.notices:
            try:
                totals[nid] = notice_report(stack, nid)
            except Exception as e:
                totals[nid] = {"error": str(e)}
        undelivered = [n for n, t in totals.items()
                       if t.get("error") or t.get("sent", 0) < NOTICE_TARGETS]
        busy = ob["pending"] + ob["lag"] + ob["delayed"]
        if (not undelivered and not busy) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    took = round(DRAIN_S - max(deadline - time.monotonic(), 0), 1)
    for nid in undelivered:
        errors.append("notice %s: %s of %d targets sent after %.0f s" % (
            nid, totals[nid].get("sent", totals[nid].get("error")), NOTICE_TARGETS, DRAIN_S))
    if busy:
        errors.append("outbox not drained %.0f s after the load: %r" % (DRAIN_S, ob))
    if ob["dead"]:
        errors.append("%d dead letters in the outbox" % ob["dead"])
    fake = {"total": 0, "accepted": 0, "rejected": 0, "by_platform": {}}
    try:
        st = stack.fake.stats()
        for key, v in st.get("by_target", {}).items():
            plat = fake["by_platform"].setdefault(key.split("/", 1)[0], {})
            for k, n in v.items():
                if isinstance(n, int):
                    plat[k] = plat.get(k, 0) + n
        fake.update(total=st["total"], accepted=st["accepted"], rejected=st["rejected"])
    except Exception as e:
        errors.append("fake platform stats: %s" % e)
    if fake["rejected"]:
        errors.append("the fake platform rejected %d of %d messages" % (fake["rejected"],
                                                                       fake["total"]))
    p = stack.ini["redis"]["prefix"]
    queued = {s: int(stack.redis_command("XLEN", p + s) or 0) for s in ("outbox", "outbox:prio")}
    log("soak: outbox %s after %.1f s (stream lengths %s); %d notices, %d fully delivered; "
        "the fake platform accepted %d of %d messages" % (
            ob, took, queued, len(totals), len(totals) - len(undelivered), fake["accepted"],
            fake["total"]))
    return {"outbox": ob, "drain_s": took, "notices": totals, "stream_lengths": queued,
            "fake": fake}, errors


# --- memory -------------------------------------------------------------

class Sampler:
    """VmRSS (KiB) of zhuqi-fcgi, zhuqi-bot and Redis over time."""

    PROGRAMS = ("fcgi", "bot")

    def __init__(self, stack):
        self.stack = stack
        self.samples = []  # {"t": s, "fcgi": kib, "bot": kib, "redis": kib}
        self.died = set()

    def take(self, t, load=True):
        """One sample at t seconds; load=False: taken after the load, kept
        for the record but not judged."""
        s = {"t": round(t, 1)}
        if not load:
            s["after_load"] = True
        for name in self.PROGRAMS + ("redis",):
            p = self.stack.procs.get(name)
            if p is None or not p.alive():
                if name in self.PROGRAMS:
                    self.died.add(name)
                continue
            v = bench.vm_status(p.pid)
            if "VmRSS" in v:
                s[name] = v["VmRSS"]
        # zhuqi-fcgi's allocator, from /api/metrics: bytes in use against
        # bytes held, to tell something kept from fragmentation.
        try:
            for mname, _, value in self.stack.metrics():
                if mname == "zhuqi_malloc_in_use_bytes":
                    s["fcgi_malloc_in_use"] = int(value) // 1024
                elif mname == "zhuqi_malloc_held_bytes":
                    s["fcgi_malloc_held"] = int(value) // 1024
        except Exception:  # noqa: BLE001  (a sample without them is still a sample)
            pass
        self.samples.append(s)
        return s

    def judge(self, ref_s):
        """Per program: reference (first sample at or after ref_s), end
        (last sample), change, verdict."""
        out = {}
        for name in self.PROGRAMS:
            pts = [s for s in self.samples if name in s and not s.get("after_load")]
            ref = next((s for s in pts if s["t"] >= ref_s), None)
            end = pts[-1] if pts else None
            res = {"program": "zhuqi-" + name, "result": "MISS", "why": []}
            if name in self.died:
                res["why"].append("zhuqi-%s died during the soak" % name)
            if ref is None or end is None or end["t"] <= ref["t"]:
                res["why"].append("no sample after %d s and later" % ref_s)
            else:
                change = (end[name] - ref[name]) / float(ref[name])
                res.update(ref_t=ref["t"], ref_kib=ref[name], end_t=end["t"],
                           end_kib=end[name], change=round(change, 4),
                           start_kib=pts[0][name], max_kib=max(s[name] for s in pts))
                if abs(change) > RSS_TOLERANCE:
                    res["why"].append("RSS %+.1f%% (%.1f -> %.1f MiB), more than %d%%" % (
                        change * 100, ref[name] / 1024.0, end[name] / 1024.0,
                        RSS_TOLERANCE * 100))
            if not res["why"]:
                res["result"] = "PASS"
            out[name] = res
        return out


def app_statuses(stack):
    """{route: {status: count}} from /api/metrics."""
    out = {}
    for name, labels, value in stack.metrics():
        if name == "zhuqi_http_requests_total":
            out.setdefault(labels.get("route"), {})[labels.get("status")] = int(value)
    return out


def app_non2xx(before, after):
    out = {}
    for route, st in after.items():
        for status, n in st.items():
            d = n - before.get(route, {}).get(status, 0)
            if d and not str(status).startswith("2"):
                out["%s %s" % (route, status)] = d
    return out


# --- the run ------------------------------------------------------------

def soak_phase(stack, sc, mixfile, seconds, connections, sample_s, ref_s, tmpdir, log):
    """The paced run with the side traffic and the sampler. Returns
    (wrk results, sampler, side, cpu cores, app non-2xx)."""
    sampler = Sampler(stack)
    side = SideTraffic(stack, sc, seconds)
    before = app_statuses(stack)
    sampler.take(0.0)
    meter = bench.CpuMeter(stack)
    meter.start()
    w = Wrk(stack.port, mixfile, connections, seconds, tmpdir, "soak")
    side.start()
    try:
        next_sample, next_log, end_sampled = sample_s, 60.0, False
        while w.running() and w.elapsed() < seconds + WRK_SLACK_S:
            t = w.elapsed()
            due = t >= next_sample
            final = not end_sampled and t >= seconds - 1.0
            if due or final:
                s = sampler.take(t)
                while next_sample <= t:
                    next_sample += sample_s
                end_sampled = end_sampled or final
                if t >= next_log:
                    log("  %4.0f s: zhuqi-fcgi %.1f MiB, zhuqi-bot %.1f MiB, %d submissions, "
                        "%d notices, %d side errors" % (
                            t, s.get("fcgi", 0) / 1024.0, s.get("bot", 0) / 1024.0,
                            side.counts["submit"]["sent"], side.counts["notice"]["sent"],
                            len(side.errors)))
                    next_log += 60.0
            time.sleep(0.2)
        cpu = meter.stop()
    finally:
        side.stop()
    res = w.finish()
    after = app_statuses(stack)
    return res, sampler, side, cpu, app_non2xx(before, after)


def judge(rep):
    checks = []
    errs = rep["errors"]
    n = sum(errs["counts"].values())
    checks.append({"id": "zero_errors", "check": "zero errors", "result": "PASS" if n == 0
                   else "MISS", "why": ["%s: %d" % kv for kv in sorted(errs["counts"].items())]
                   + errs["messages"][:10]})
    soak = rep.get("soak") or {}
    ratio = soak.get("rate_ratio")
    checks.append({"id": "rate_held", "check": "rate held (achieved >= %d%% of the target)"
                   % (RATE_TOLERANCE * 100),
                   "result": "PASS" if ratio is not None and ratio >= RATE_TOLERANCE else "MISS",
                   "why": [] if ratio is None or ratio >= RATE_TOLERANCE else [
                       "%.0f of %.0f req/s (%.0f%%)" % (soak["rate"], soak["target_rate"],
                                                        ratio * 100)]})
    for name, r in sorted(rep.get("rss", {}).items()):
        checks.append({"id": "rss_" + name, "check": "%s RSS at the end within %d%% of the "
                       "value after %d s" % (r["program"], RSS_TOLERANCE * 100,
                                             rep["config"]["reference_s"]),
                       "result": r["result"], "why": r["why"]})
    return checks


def fmt(v, spec):
    return "-" if v is None else spec % v


def print_report(rep):
    m, c = rep["machine"], rep["config"]
    print()
    print("zhuqi soak %s, rev %s" % (rep["started"], m["git_rev"]))
    print("machine: %d x %s, %s GiB, Linux %s, %s; nginx %s, redis %s, wrk %s" % (
        m["nproc"], m["cpu_model"], m["mem_gib"], m["kernel"], m["os"], m["nginx"], m["redis"],
        m["wrk"]))
    if rep["machine_busy_before"] > bench.NOISY_OTHER_CORES:
        print("warning: %.2f cores were busy before the run" % rep["machine_busy_before"])
    cap = rep.get("capacity")
    if cap:
        print("capacity: %d s of the mix at full speed, %d connections: %.0f req/s "
              "(p50 %s ms, p99 %s ms)" % (cap["seconds"], c["connections"], cap["rate"],
                                          fmt(cap["p50_ms"], "%.2f"), fmt(cap["p99_ms"], "%.2f")))
    else:
        print("capacity: not measured (SOAK_RATE given)")
    s = rep.get("soak")
    if not s:
        return
    print("soak: %d s at a target of %.0f req/s (%s), %d connections: achieved %.0f req/s "
          "(%.1f%%), %d requests sent > 10 ms late (max lag %.1f ms)" % (
              c["seconds"], s["target_rate"], c["rate_source"], c["connections"], s["rate"],
              s["rate_ratio"] * 100, s["late"], s["max_lag_ms"]))
    print()
    hdr = "%-16s %6s %10s %10s %8s %8s %8s" % ("kind", "share", "sent", "answered", "non-2xx",
                                                "p50 ms", "p99 ms")
    print(hdr)
    print("-" * len(hdr))
    cycle = sum(k["weight"] for k in s["kinds"].values())
    for kind, k in s["kinds"].items():
        print("%-16s %5.0f%% %10d %10d %8d %8s %8s" % (
            kind, 100.0 * k["weight"] / cycle, k["sent"], k["answered"], k["non2xx"], fmt(k["p50_ms"], "%.2f"),
            fmt(k["p99_ms"], "%.2f")))
    print("%-16s %6s %10d %10d %8d %8s %8s" % ("all", "", s["sent"], s["answered"], s["non2xx"],
                                              fmt(s["p50_ms"], "%.2f"), fmt(s["p99_ms"], "%.2f")))
    side = rep["side"]
    print("beside it: %d complete submissions (%d ok), %d notices to %d generic targets "
          "(%d accepted)" % (side["submit"]["sent"], side["submit"]["ok"],
                             side["notice"]["sent"], NOTICE_TARGETS, side["notice"]["ok"]))
    dr = rep.get("drain")
    if dr:
        print("after the load: outbox %s, drained in %.1f s" % (dr["outbox"], dr["drain_s"]))
    print()
    procs = ["nginx", "fcgi", "redis", "bot", "fake", "wrk", "other", "idle"]
    print("CPU (cores) during the soak " + "".join("%7s" % p for p in procs))
    print("%-27s " % "" + "".join("%7s" % fmt(rep["cpu_cores"].get(p), "%.2f") for p in procs))
    print()
    print("resident memory (VmRSS, MiB): before load, after %d s, end, change, max" %
          c["reference_s"])
    for name, r in sorted(rep["rss"].items()):
        if "ref_kib" in r:
            print("  %-11s %7.1f %7.1f %7.1f %+6.1f%% %7.1f" % (
                r["program"], r["start_kib"] / 1024.0, r["ref_kib"] / 1024.0,
                r["end_kib"] / 1024.0, r["change"] * 100, r["max_kib"] / 1024.0))
        else:
            print("  %-11s not measured" % r["program"])
    mem = [x for x in rep.get("rss_samples", []) if "fcgi_malloc_in_use" in x
           and not x.get("after_load")]
    ref = next((x for x in mem if x["t"] >= c["reference_s"]), None)
    if ref is not None and mem[-1] is not ref:
        print("  zhuqi-fcgi malloc (KiB, for the record): in use %d -> %d, held %d -> %d "
              "(after %d s -> end)" % (ref["fcgi_malloc_in_use"], mem[-1]["fcgi_malloc_in_use"],
                                       ref["fcgi_malloc_held"], mem[-1]["fcgi_malloc_held"],
                                       c["reference_s"]))
    print()
    e = rep["errors"]
    print("errors: %s" % (", ".join("%s %d" % kv for kv in sorted(e["counts"].items()))
                          or "none"))
    for msg in e["messages"][:10]:
        print("  " + msg)
    print()
    for ch in rep["checks"]:
        print("check %-62s %s%s" % (ch["check"], ch["result"],
                                     " (" + "; ".join(ch["why"]) + ")" if ch["why"] and
                                     ch["result"] != "PASS" else ""))


def write_json(rep):
    os.makedirs(bench.OUT_DIR, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(bench.OUT_DIR, "soak-%s.json" % stamp)
    data = json.dumps(rep, indent=2, ensure_ascii=False) + "\n"
    for p in (path, os.path.join(bench.OUT_DIR, LATEST)):
        tmp = p + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(data)
        os.replace(tmp, p)
    return path


def soak(a, harness, test_intake, rep, tmpdir, log):
    cfg = rep["config"]
    # nginx workers x keepalive + wrk's connections + the side traffic's.
    bcfg = {"threads": bench.keepalive_rule(cfg["nginx_workers"], bench.TEMPLATE_KEEPALIVE,
                                            a.connections + 4),
            "log_level": "info", "nginx_workers": cfg["nginx_workers"]}
    cfg["threads"] = bcfg["threads"]
    log("soak: stack (nginx %d worker, zhuqi-fcgi %d threads)" % (
        bcfg["nginx_workers"], bcfg["threads"]))
    try:
        stack = bench.start_stack(harness, bcfg, bench.TEMPLATE_KEEPALIVE, True, "soak",
                                  chat=True)
    except Exception as e:
        raise HarnessError("stack did not start: %s" % e) from e
    errors = rep["errors"]
    try:
        sc = bench.Scenario(stack, test_intake)
        kinds = build_kinds(stack, sc, log)
        make_targets(stack, NOTICE_TARGETS)
        total_s = a.seconds + a.capacity_seconds + WARMUP_S + 120
        bench.seed_lookup_counters(stack, minutes=total_s // 60 + 5)

        # A short run at full speed first, capacity measured or not: every
        # thread and connection the load will use is used once.
        capfile = os.path.join(tmpdir, "mix-capacity.lua")
        # soak.lua's threads are its connections: one timestamp lane each.
        dt_alloc = bench.TsAlloc(a.connections)
        write_mix(capfile, kinds, 0, stack, dt_alloc)
        log("soak: %d s warm-up at full speed" % WARMUP_S)
        warm_res = Wrk(stack.port, capfile, a.connections, WARMUP_S, tmpdir, "warmup").finish()
        dt_alloc.used(dingtalk_sent(warm_res))
        warm = summarize_run(warm_res)
        for what, n in run_errors(warm).items():
            errors["counts"]["warm-up: " + what] = n
        failed = warm_submissions(sc, a.connections, log)
        if failed:
            errors["counts"]["warm-up: failed submissions"] = len(failed)
            errors["messages"].extend(failed[:10])
        if a.rate:
            rate = a.rate
            cfg["rate_source"] = "SOAK_RATE"
        else:
            log("soak: measuring the capacity (%d s at full speed)" % a.capacity_seconds)
            write_mix(capfile, kinds, 0, stack, dt_alloc)
            cap_res = Wrk(stack.port, capfile, a.connections, a.capacity_seconds, tmpdir,
                          "capacity").finish()
            dt_alloc.used(dingtalk_sent(cap_res))
            cap = summarize_run(cap_res)
            rep["capacity"] = cap
            for what, n in run_errors(cap).items():
                errors["counts"]["capacity run: " + what] = n
            rate = cap["rate"] * a.fraction
            cfg["rate_source"] = "%.0f%% of the capacity" % (a.fraction * 100)
            log("  capacity %.0f req/s (p99 %s ms); soak at %.0f req/s" % (
                cap["rate"], cap["p99_ms"], rate))
        if not rate > 0:
            raise HarnessError("no rate to hold (capacity %r)" % rep.get("capacity"))
        cfg["rate"] = round(rate, 1)
        mixfile = os.path.join(tmpdir, "mix-soak.lua")
        write_mix(mixfile, kinds, rate, stack, dt_alloc)
        log("soak: %d s at %.0f req/s, %d connections; VmRSS every %d s" % (
            a.seconds, rate, a.connections, a.sample_seconds))
        res, sampler, side, cpu, app_bad = soak_phase(stack, sc, mixfile, a.seconds,
                                                      a.connections, a.sample_seconds,
                                                      cfg["reference_s"], tmpdir, log)
        s = summarize_run(res, rate)
        rep["soak"] = s
        rep["cpu_cores"] = cpu
        rep["side"] = side.counts
        rep["rss_samples"] = sampler.samples
        for what, n in run_errors(s).items():
            errors["counts"][what] = n
        if app_bad:
            errors["counts"]["non-2xx answers counted by the app"] = sum(app_bad.values())
            errors["messages"].append("the app answered: %s" % ", ".join(
                "%s x%d" % kv for kv in sorted(app_bad.items())))
        rep["app_non2xx"] = app_bad
        if side.errors:
            errors["counts"]["side traffic"] = len(side.errors)
            errors["messages"].extend(str(e)[:300] for e in side.errors)
        rep["drain"], drain_errors = drain(stack, side, log)
        if drain_errors:
            errors["counts"]["delivery"] = len(drain_errors)
            errors["messages"].extend(drain_errors)
        sampler.take(a.seconds + rep["drain"]["drain_s"], load=False)  # for the record
        rep["rss"] = sampler.judge(cfg["reference_s"])
        for name in sorted(sampler.died):
            errors["counts"]["zhuqi-%s died" % name] = 1
    finally:
        problems = stack.close(raise_on_problems=False)
        if problems:
            errors["counts"]["stack teardown"] = len(problems)
            errors["messages"].extend(problems)
            log("soak: stack teardown: " + "; ".join(problems))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bin_dir", nargs="?", default="build/release")
    ap.add_argument("--seconds", type=int, default=bench.env_int("SOAK_SECONDS", 600))
    # String defaults go through type= like the command line.
    ap.add_argument("--rate", type=float, default=os.environ.get("SOAK_RATE") or None,
                    help="requests/s to hold (default: SOAK_FRACTION of the measured capacity)")
    ap.add_argument("--fraction", type=float, default=os.environ.get("SOAK_FRACTION") or "0.5")
    ap.add_argument("--connections", type=int, default=bench.env_int("SOAK_CONNECTIONS", 16))
    ap.add_argument("--capacity-seconds", type=int,
                    default=bench.env_int("SOAK_CAPACITY_SECONDS", 10))
    ap.add_argument("--sample-seconds", type=int, default=bench.env_int("SOAK_SAMPLE_SECONDS", 5))
    ap.add_argument("--kinds", default=os.environ.get("SOAK_KINDS") or None,
                    help="comma-separated kinds to keep of the mix (%s), to find which one "
                    "a finding comes from; the side traffic runs anyway"
                    % ",".join(k for k, _w, _r in MIX))
    a = ap.parse_args(argv)
    if a.kinds:
        keep = set(a.kinds.split(","))
        unknown = keep - {k for k, _w, _r in MIX}
        if unknown:
            ap.error("unknown kinds: %s" % ", ".join(sorted(unknown)))
        MIX[:] = [m for m in MIX if m[0] in keep]
    if (a.seconds < 10 or a.connections < 1 or a.sample_seconds < 1 or not 0 < a.fraction <= 1
            or (a.rate is not None and not a.rate > 0)):
        ap.error("need --seconds >= 10, --connections >= 1, --sample-seconds >= 1, "
                 "0 < --fraction <= 1, --rate > 0")

    bin_dir = a.bin_dir if os.path.isabs(a.bin_dir) else os.path.join(ROOT, a.bin_dir)
    for b in ("zhuqi-fcgi", "zhuqi-bot"):
        if not os.access(os.path.join(bin_dir, b), os.X_OK):
            print("soak: %s/%s not built (make BUILD=release all)" % (bin_dir, b))
            return EXIT_HARNESS
    if shutil.which("wrk") is None:
        print("soak: wrk not found (scripts/deps.sh bench installs it)")
        return EXIT_HARNESS
    os.environ["ZQ_BIN_DIR"] = bin_dir  # the harness picks its binaries at import time
    sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
    import harness  # noqa: E402
    import test_intake  # noqa: E402  (the sample answers and the browser-like client)

    def log(msg):
        print(msg, flush=True)

    ref_s = min(REFERENCE_S, a.seconds // 2)
    rep = {"started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "machine": bench.machine_info(harness),
           "config": {"seconds": a.seconds, "connections": a.connections,
                      "wrk_threads": a.connections, "fraction": a.fraction,
                      "capacity_seconds": a.capacity_seconds, "warmup_seconds": WARMUP_S,
                      "sample_seconds": a.sample_seconds, "reference_s": ref_s,
                      "nginx_workers": bench.DEFAULT_NGINX_WORKERS,
                      "keepalive": bench.TEMPLATE_KEEPALIVE, "log_level": "info",
                      "mix": {k: w for k, w, _r in MIX}, "drafts": DRAFTS,
                      "lookup_cases": LOOKUP_CASES, "submit_every_s": SUBMIT_EVERY_S,
                      "notice_every_s": NOTICE_EVERY_S, "notice_targets": NOTICE_TARGETS,
                      "rss_tolerance": RSS_TOLERANCE, "rate_tolerance": RATE_TOLERANCE,
                      "bin_dir": os.path.relpath(bin_dir, ROOT)},
           "errors": {"counts": {}, "messages": []}, "rss": {}, "cpu_cores": {}}
    rep["machine_busy_before"] = bench.machine_busy()
    if rep["machine_busy_before"] > bench.NOISY_OTHER_CORES:
        log("soak: warning: %.2f cores busy before starting; the capacity measured will be "
            "lower" % rep["machine_busy_before"])
    tmpdir = tempfile.mkdtemp(prefix="zq-soak-")
    status = EXIT_PASS
    try:
        soak(a, harness, test_intake, rep, tmpdir, log)
    except HarnessError as e:
        rep["harness_error"] = str(e)
        log("soak: harness failure: %s" % e)
        status = EXIT_HARNESS
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    rep["checks"] = judge(rep) if status == EXIT_PASS else []
    if status == EXIT_PASS and any(c["result"] != "PASS" for c in rep["checks"]):
        status = EXIT_MISS
    rep["result"] = {EXIT_PASS: "PASS", EXIT_MISS: "MISS", EXIT_HARNESS: "HARNESS FAILURE"}[
        status]
    print_report(rep)
    path = write_json(rep)
    print("\nsoak: %s; wrote %s and bench/out/%s" % (rep["result"], os.path.relpath(path, ROOT),
                                                     LATEST))
    return status


if __name__ == "__main__":
    sys.exit(main())

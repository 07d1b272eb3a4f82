#!/usr/bin/env python3
"""The benchmark behind `make bench`: one private stack (Redis, zhuqi-fcgi,
zhuqi-bot, the real nginx site template) on loopback, driven by wrk with 32
connections and 2 threads, one fixed-length run per endpoint.

    python3 bench/run.py [BIN_DIR] [--seconds N] [--only ID,...] [--no-compare]

BIN_DIR defaults to build/release. Environment: BENCH_SECONDS (length of
each measured run, default 10), BENCH_WARMUP (unmeasured run before each
one, default 1), BENCH_NGINX_WORKERS (default 1: on the 2-core machine
one worker measured best, see docs/PERFORMANCE.md's profile; the FastCGI
keep-alive is nginx/zhuqi.conf's default, read from its "default:" line,
and zhuqi-fcgi gets workers x keepalive + connections threads),
BENCH_WAIT_QUIET (seconds to wait before each
row for other work on the machine to stop, default 0), BENCH_RETRIES (how
often a row during which other processes used the CPU is run again,
default 2; the quietest run is kept).

It prints one table (requests/s, p50, p99, non-2xx, ratio to /api/ping),
the CPU each process used during each run, the resident memory of
zhuqi-fcgi and zhuqi-bot afterwards, the goals with PASS/MISS (never a
failure exit), and /api/ping again with nginx's FastCGI keep-alive off,
with a keep-alive cache as large as the connections, and with the other
number of nginx workers. After the table: the CSV export of the 100,000
cases stored for the staff-list row (rows/s, zhuqi-fcgi RSS before/peak/
after; bench/staff_bench.py) and the bot fan-out to 10,000 generic targets
(seconds, bot peak RSS; bench/bot_fanout.py, on its own stack), and 1 MB
evidence uploads (MB/s, p99, zhuqi-fcgi RSS during them; bench/upload_bench.py). The same goes to bench/out/bench-YYYYmmdd-HHMMSS.json
and bench/out/latest.json.

A row whose sample request does not answer as expected, or during whose run
wrk or the app saw an error status or a socket error, is marked invalid: a
benchmark of errors is worthless. The exit status is non-zero only when the
harness itself failed (a stack that does not start, wrk missing).

Rows are a list of dicts: a later endpoint is one more entry in
endpoint_specs() (with a setup function when it needs state first).
Python 3 standard library only. Nothing leaves 127.0.0.0/8.
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DIR = os.path.join(ROOT, "bench")
OUT_DIR = os.path.join(BENCH_DIR, "out")
REPORT_LUA = os.path.join(BENCH_DIR, "report.lua")
REQUEST_LUA = os.path.join(BENCH_DIR, "request.lua")

CONNECTIONS = 32
WRK_THREADS = 2
NGINX_TEMPLATE = os.path.join(ROOT, "nginx", "zhuqi.conf")


def template_keepalive(path=NGINX_TEMPLATE):
    """nginx/zhuqi.conf's default for ${ZQ_FCGI_KEEPALIVE}, from its
    "default:" comment line (the one scripts/render_nginx.py reads)."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^#\s*\$\{ZQ_FCGI_KEEPALIVE\}\s+default:\s*(\d+)\s*$", line)
            if m:
                return int(m.group(1))
    sys.exit("bench: no \"${ZQ_FCGI_KEEPALIVE} default:\" line in %s" % path)


TEMPLATE_KEEPALIVE = template_keepalive()
# One nginx worker by default: on the 2-core machine the profile
# (docs/PERFORMANCE.md) shows nginx, zhuqi-fcgi, Redis and wrk contending
# for the same two cores; a second worker adds context switches and splits
# the FastCGI keep-alive cache without adding a core to run on, and 1
# worker measured best. BENCH_NGINX_WORKERS changes it.
DEFAULT_NGINX_WORKERS = 1
# Staff list and CSV export: cases stored after the other rows ran.
STAFF_CASES = 100000
# Bot fan-out: generic targets of one notice (bench/bot_fanout.py).
FANOUT_TARGETS = 10000
# Far above anything a loopback run reaches, so nginx never answers 429.
NO_LIMIT = ("1000000r/s", 1000000)
# [intake] lookup_per_minute is bounded to 100000 by lib/core/config.c; a 10 s
# run at full speed makes more lookups than that from one address, so the
# run also starts the per-minute counters far below zero (see
# seed_lookup_counters). The limiter still runs its Redis round trip.
LOOKUP_PER_MINUTE = 100000

# A run during which other processes used more than this many cores is
# flagged "noisy" (the machine may be shared with builds and tests).
NOISY_OTHER_CORES = 0.15

GOALS = [
    {"id": "ping", "text": "/api/ping >= 30,000 req/s with p99 < 3 ms",
     "row": "ping", "min_rps": 30000, "max_p99_ms": 3.0},
    {"id": "step", "text": "complaint step >= 80% of /api/ping's req/s with p99 < 5 ms",
     "row": "step", "min_ratio": 0.80, "max_p99_ms": 5.0},
    {"id": "chat_generic", "text": "generic chat message >= 60% of ping, p99 < 10 ms",
     "row": "chat_generic", "min_ratio": 0.60, "max_p99_ms": 10.0},
    {"id": "chat_dingtalk", "text": "DingTalk text message >= 60% of ping, p99 < 10 ms",
     "row": "chat_dingtalk", "min_ratio": 0.60, "max_p99_ms": 10.0},
    {"id": "staff_list", "text": "staff list page 1 (100k cases) p99 < 20 ms",
     "row": "staff_list", "max_p99_ms": 20.0},
    # Figures outside the table: key in rep, field, "min" or "max", bound.
    {"id": "export_rate", "text": "CSV export of 100k cases >= 50,000 rows/s",
     "figure": "export", "field": "rows_per_s", "min": 50000},
    {"id": "export_flat", "text": "zhuqi-fcgi RSS flat during export (peak <= before + 16 MiB)",
     "figure": "export", "field": "rss_kb_growth", "max": 16 * 1024},
    {"id": "upload_flat", "text": "zhuqi-fcgi RSS flat during 1 MB uploads (peak <= before + 16 MiB)",
     "figure": "upload", "field": "rss_kb_growth", "max": 16 * 1024},
    {"id": "fanout_time", "text": "bot fan-out to 10,000 generic targets < 3 s",
     "figure": "fanout", "field": "seconds", "max": 3.0, "strict": True},
    {"id": "fanout_rss", "text": "zhuqi-bot peak RSS during fan-out < 32 MB",
     "figure": "fanout", "field": "rss_kb", "max": 32 * 1024, "strict": True},
    {"id": "sms_time", "text": "10,000 progress SMS accepted by the fake Tencent endpoint < 3 s",
     "figure": "sms", "field": "seconds", "max": 3.0, "strict": True},
    {"id": "sms_rss", "text": "zhuqi-bot peak RSS while sending them < 32 MB",
     "figure": "sms", "field": "rss_kb", "max": 32 * 1024, "strict": True},
]


def env_int(name, default):
    v = os.environ.get(name)
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        sys.exit("bench: %s must be an integer, got %r" % (name, v))
    if n < 1:
        sys.exit("bench: %s must be at least 1" % name)
    return n


def keepalive_rule(nginx_workers, keepalive, connections):
    """zhuqi-fcgi threads for config/zhuqi.ini's rule: each connection
    nginx keeps idle pins a thread, and each request in flight needs one."""
    return nginx_workers * keepalive + connections


# --- the machine and the processes -------------------------------------

def _run_text(argv):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=10)
        return p.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine_info(harness):
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            mem_kb = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    rev = _run_text(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = _run_text(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])
    nginx = harness.find_exe("nginx", "ZQ_NGINX")
    redis = harness.find_exe("redis-server", "ZQ_REDIS_SERVER")
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_gib": round(mem_kb / 1048576, 1) if mem_kb else None,
        "kernel": platform.release(),
        "os": _os_name(),
        "nginx": _run_text([nginx, "-v"]).replace("nginx version: ", ""),
        "redis": _first_match(r"v=(\S+)", _run_text([redis, "--version"])),
        "wrk": _first_match(r"wrk (\S+)", _run_text(["wrk", "--version"])),
        "git_rev": rev + ("-dirty" if dirty and dirty != "unknown" else ""),
    }


def _os_name():
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def _first_match(rx, text):
    m = re.search(rx, text)
    return m.group(1) if m else text


CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid):
    """User + system CPU seconds of pid (all its threads), or None."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(d))
        except (OSError, IndexError, ValueError):
            continue
    return out


def machine_cpu():
    """(busy-but-not-softirq, softirq, idle) seconds from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq = v[:7]
    steal = v[7] if len(v) > 7 else 0
    return {"busy": (user + nice + system + irq + steal) / CLK_TCK,
            "softirq": softirq / CLK_TCK, "idle": (idle + iowait) / CLK_TCK}


def vm_status(pid):
    """{VmRSS, VmHWM} in KiB from /proc/PID/status, or {}."""
    out = {}
    try:
        with open("/proc/%d/status" % pid, encoding="ascii", errors="replace") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "Threads"):
                    out[k] = int(v.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return out


class CpuMeter:
    """CPU seconds used by each process of the stack (and by wrk, a child
    of ours, from getrusage) between start() and stop()."""

    def __init__(self, stack):
        self.stack = stack

    def _pids(self):
        pids = {}
        for name in ("fcgi", "redis", "bot"):
            p = self.stack.procs.get(name)
            if p is not None and p.alive():
                pids[name] = [p.pid]
        fake = getattr(self.stack, "fake", None)
        if fake is not None and fake.proc.poll() is None:
            pids["fake"] = [fake.proc.pid]  # the fake platform the bot delivers replies to
        ng = self.stack.procs.get("nginx")
        if ng is not None and ng.alive():
            pids["nginx"] = [ng.pid] + children_of(ng.pid)
        peer = getattr(self.stack, "peer", None)
        if peer is not None and peer.pids():
            pids["php"] = peer.pids()  # the PHP peer's php-fpm master and workers
        return pids

    def _sample(self):
        s = {}
        for name, pids in self.pids.items():
            s[name] = sum(proc_cpu_s(p) or 0.0 for p in pids)
        return s

    def start(self):
        self.pids = self._pids()
        self.t0 = time.monotonic()
        self.p0 = self._sample()
        self.m0 = machine_cpu()
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.c0 = ru.ru_utime + ru.ru_stime

    def stop(self):
        wall = time.monotonic() - self.t0
        p1 = self._sample()
        m1 = machine_cpu()
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = {name: round((p1[name] - self.p0[name]) / wall, 2) for name in p1}
        out["wrk"] = round((ru.ru_utime + ru.ru_stime - self.c0) / wall, 2)
        out["softirq"] = round((m1["softirq"] - self.m0["softirq"]) / wall, 2)
        out["idle"] = round((m1["idle"] - self.m0["idle"]) / wall, 2)
        busy = (m1["busy"] + m1["softirq"] - self.m0["busy"] - self.m0["softirq"]) / wall
        ours = sum(v for k, v in out.items() if k not in ("softirq", "idle"))
        out["busy_total"] = round(busy, 2)
        # Whatever else ran on the machine meanwhile (and kernel work not
        # charged to a process): a run with much of it is not comparable.
        out["other"] = round(max(busy - ours, 0.0), 2)
        return out


def machine_busy(seconds=2.0):
    """Cores busy on the machine over a short quiet look (before the run)."""
    m0 = machine_cpu()
    time.sleep(seconds)
    m1 = machine_cpu()
    return round((m1["busy"] + m1["softirq"] - m0["busy"] - m0["softirq"]) / seconds, 2)


# --- the stack ----------------------------------------------------------

def make_bench_stack_class(harness):
    class BenchStack(harness.Stack):
        """harness.Stack with a choice of nginx workers and of the FastCGI
        keep-alive (the template's, another cache size, or none)."""

        def __init__(self, nginx_workers=DEFAULT_NGINX_WORKERS, keepalive=TEMPLATE_KEEPALIVE,
                     peer=None, **kw):
            self.nginx_workers = nginx_workers
            self.keepalive = keepalive  # 0: no upstream keepalive, keep_conn off
            # bench/peer/peer.py's Peer: its server block goes into the same
            # nginx (its own port); its php-fpm starts once Redis is up.
            self.peer = peer
            super().__init__(**kw)

        def _template(self):
            path = self._template_keepalive()
            if self.peer is None:
                return path
            text = harness.render_nginx.read_template(path)
            text += self.peer.nginx_server(os.path.join(self.dir, "log", "peer-access.log"))
            path = os.path.join(self.dir, "zhuqi-with-peer.conf")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            return path

        def _template_keepalive(self):
            if self.keepalive == TEMPLATE_KEEPALIVE:
                return None  # the template as shipped
            self.nginx_values["ZQ_FCGI_KEEPALIVE"] = str(max(self.keepalive, 1))
            if self.keepalive > 0:
                return None
            # nginx refuses "keepalive 0": drop the directive and ask the
            # app to close after each request, as a site without keep-alive
            # would be configured.
            text = harness.render_nginx.read_template()
            text, n1 = re.subn(r"(?m)^(\s*)keepalive \$\{ZQ_FCGI_KEEPALIVE\};\n", "", text)
            text, n2 = re.subn(r"(?m)^(\s*)fastcgi_keep_conn on;", r"\1fastcgi_keep_conn off;",
                               text)
            if n1 != 1 or n2 != 1:
                raise harness.StackError("cannot turn keep-alive off in nginx/zhuqi.conf "
                                         "(template changed?)")
            path = os.path.join(self.dir, "zhuqi-nokeepalive.conf")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            return path

        def start_nginx(self):
            # As harness.Stack.start_nginx, with worker_processes and template.
            prefix = os.path.join(self.dir, "nginx")
            pid = os.path.join(self.dir, "run", "nginx.pid")
            err = os.path.join(self.dir, "log", "nginx-error.log")
            main = harness.render_nginx.write_private(
                prefix, self.nginx_values, pid, err, worker_processes=self.nginx_workers,
                template=self._template(), environ={})
            nginx = harness.find_exe("nginx", "ZQ_NGINX")
            test = subprocess.run([nginx, "-t", "-q", "-p", prefix, "-c", main, "-e", err],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            if test.returncode != 0:
                raise harness.StackError("nginx -t failed:\n"
                                         + test.stdout.decode("utf-8", "replace"))
            self._spawn("nginx", [nginx, "-p", prefix, "-c", main, "-e", err], expect_exit=0,
                        env=os.environ.copy())

    return BenchStack


def comparison_variants(workers):
    """(label, keepalive per nginx worker, nginx workers) of the /api/ping
    runs that go beside the main one; each gets threads by the rule."""
    out = [("keep-alive off (no keepalive, keep_conn off)", 0, workers)]
    per_worker = max(CONNECTIONS // workers, 1)
    if per_worker != TEMPLATE_KEEPALIVE:
        out.append(("keepalive %d (cache >= connections)" % per_worker, per_worker, workers))
    other = 2 if workers == 1 else 1
    out.append(("%d nginx worker%s, keepalive %d" % (other, "s" if other > 1 else "",
                                                     TEMPLATE_KEEPALIVE),
                TEMPLATE_KEEPALIVE, other))
    return out


# Chat secrets of the bench stack (loopback only, made up per run).
CHAT_SECRETS = {"generic": uuid.uuid4().hex, "dingtalk": uuid.uuid4().hex}


def start_stack(harness, cfg, keepalive, bot, name, chat=False, peer=None):
    """chat=True: [generic] secret and [dingtalk] app_secret set, and the
    fake platform started so the bot delivers DingTalk replies to it.
    peer: a bench/peer Peer whose server block the nginx gets too (its
    php-fpm is started by the caller once the stack is up)."""
    cls = make_bench_stack_class(harness)
    ini = {"server": {"threads": cfg["threads"]},
           "log": {"level": cfg["log_level"]},
           "intake": {"lookup_per_minute": LOOKUP_PER_MINUTE}}
    if chat:
        ini["generic"] = {"secret": CHAT_SECRETS["generic"]}
        ini["dingtalk"] = {"app_secret": CHAT_SECRETS["dingtalk"]}
    return cls(nginx_workers=cfg["nginx_workers"], keepalive=keepalive, bot=bot,
               debug_routes=False, name=name, fake=chat, peer=peer,
               rates={z: NO_LIMIT for z in ("api", "intake", "cases", "hook")},
               ini=ini)


# --- what is measured ---------------------------------------------------

class Scenario:
    """State the rows need (a draft session, a case), made through the API
    like a browser would, with the answers the end-to-end tests use."""

    def __init__(self, stack, intake):
        self.stack = stack
        self.intake = intake
        self.schemas = {}

    def schema(self, form):
        if form not in self.schemas:
            r = self.stack.get("/api/forms/" + form)
            if r.status != 200:
                raise RuntimeError("GET /api/forms/%s answered %d" % (form, r.status))
            self.schemas[form] = r.json()
        return self.schemas[form]

    def steps(self, form):
        """The steps after start() (whose Client passes the gate step)."""
        return [s for s in self.schema(form)["steps"] if not s.get("review") and not s.get("gate")]

    def answers(self, step):
        return {f["id"]: self.intake.sample_for(f) for f in step.get("fields", [])}

    def start(self, form):
        c = self.intake.Client(self.stack)
        r = c.start(form)
        if r.status not in (200, 201):
            raise RuntimeError("POST /api/intake/%s answered %d: %r" % (form, r.status, r))
        return c

    def fill_and_submit(self, form):
        c = self.start(form)
        for st in self.steps(form):
            r = c.call("PUT", "/api/intake/%s/steps/%s" % (form, st["id"]),
                       {"answers": self.answers(st)})
            if r.status != 200:
                raise RuntimeError("step %s answered %d: %r" % (st["id"], r.status, r))
        r = c.call("POST", "/api/intake/%s/submit" % form,
                   headers={"Idempotency-Key": uuid.uuid4().hex})
        if r.status not in (200, 201):
            raise RuntimeError("submit answered %d: %r" % (r.status, r))
        return r.json()["case"]


def json_body(obj):
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def setup_step(sc):
    """A complaint draft with its cookie and CSRF token; the first step's
    answers as the browser sends them. start() passes the eligibility check
    (the gate step), so this is the complainant step, the first after it;
    zhuqi checks the gate's stop rules on it too (none stops here)."""
    c = sc.start("complaint")
    first = sc.steps("complaint")[0]
    if first.get("gate") or not sc.schema("complaint")["steps"][0].get("gate"):
        raise RuntimeError("the complaint no longer starts with its eligibility check: "
                           "bench/run.py's step rows and bench/peer/ need a look")
    return {"path": "/api/intake/complaint/steps/" + first["id"],
            "body": json_body({"answers": sc.answers(first)}),
            "headers": {"Content-Type": "application/json", "Cookie": c.cookie,
                        "X-CSRF-Token": c.csrf},
            "note": "step %r, %d fields" % (first["id"], len(first.get("fields", [])))}


def setup_step_floor(sc):
    """/api/health (one Redis PING, no JSON) sent the complaint step's body
    and headers: what nginx, wrk and one Redis round trip cost for a request
    of the step's size. No step that touches Redis can do better, so its
    ratio to ping bounds the step's on this machine."""
    row = setup_step(sc)
    row["path"] = "/api/health"
    row["note"] = "the step's %d-byte body and headers, to /api/health" % len(row["body"])
    return row


def peer_request(port, method, path, body=None, headers=None):
    import harness  # noqa: E402  (tests/e2e, on sys.path)
    return harness.http_request(port, method, path, body, headers)


def setup_peer_step(sc):
    """The PHP peer (bench/peer/step.php on its own port of the same
    nginx): a draft started there and its eligibility check passed, as
    setup_step does on zhuqi; then the same body and headers as the step row."""
    peer = getattr(sc.stack, "peer", None)
    if peer is None or getattr(sc, "peer_error", None):
        raise RuntimeError(getattr(sc, "peer_error", None) or "no PHP peer on this stack")
    r = peer_request(peer.port, "POST", "/api/intake/complaint")
    if r.status != 201:
        raise RuntimeError("peer start answered %d: %r\n%s" % (r.status, r, peer.tail()))
    cookie = r.header("Set-Cookie").split(";", 1)[0]
    csrf = r.json()["csrf"]
    headers = {"Content-Type": "application/json", "Cookie": cookie, "X-CSRF-Token": csrf}
    gate = sc.schema("complaint")["steps"][0]
    ans = {f["id"]: next(o["value"] for o in f["options"] if "stop" not in o)
           for f in gate["fields"]}
    r = peer_request(peer.port, "PUT", "/api/intake/complaint/steps/" + gate["id"],
                     json_body({"answers": ans}), headers)
    if r.status != 200:
        raise RuntimeError("peer eligibility step answered %d: %r" % (r.status, r))
    first = sc.steps("complaint")[0]
    return {"path": "/api/intake/complaint/steps/" + first["id"], "port": peer.port,
            "body": json_body({"answers": sc.answers(first)}), "headers": headers,
            "note": "bench/peer/step.php under php-fpm (%d static workers, phpredis), step %r"
                    % (peer.children, first["id"])}


def setup_lookup(sc):
    case = sc.fill_and_submit("complaint")
    seed_lookup_counters(sc.stack)
    return {"path": "/api/cases/%s/lookup" % case["id"],
            "body": json_body({"mobile": sc.intake.SAMPLE["mobile"]}),
            "headers": {"Content-Type": "application/json"},
            "note": "case %s, 1 history entry" % case["id"]}


def seed_lookup_counters(stack, minutes=20):
    """Starts the per-minute lookup counters of 127.0.0.1 (fcgi/intake.c:
    rl:lookup:ADDR:MINUTE) far below zero for the coming minutes, so that
    INCR stays under [intake] lookup_per_minute for the whole run."""
    prefix = stack.ini["redis"]["prefix"]
    now_min = int(time.time()) // 60
    for m in range(now_min, now_min + minutes):
        stack.redis_command("SET", "%srl:lookup:127.0.0.1:%d" % (prefix, m), -(10 ** 15),
                            "EX", (minutes + 2) * 60)


# ZQ_CHAT_LUA: another script for the chat rows, e.g. bench/chat_midturn.lua
# (a mid-dialogue free-text answer) for `make profile`.
CHAT_LUA = os.path.abspath(os.environ.get("ZQ_CHAT_LUA")
                           or os.path.join(BENCH_DIR, "chat_bench.lua"))
# Chat users per wrk thread (bench/chat_bench.lua): each one's next message
# goes out 256 requests after its last, long after that one was answered.
CHAT_USERS = 256


# In a wrk argv: replaced, for each run of wrk, by a fresh base of the
# DingTalk timestamps (TsAlloc.take).
TS_BASE = "{ts_base}"


class TsAlloc:
    """DingTalk timestamps (ms) never used before on this stack. The sign
    covers only the timestamp, and zhuqi takes a timestamp/sign pair with
    one msgId only (a captured pair must not carry another body), so every
    message needs a timestamp of its own: chat_bench.lua sends thread t's
    n-th message (t from 1) with base + n * stride + t - 1. Each run of
    wrk gets a base past every timestamp used before (and not before now),
    and after it the next base moves past what it can have used (its
    answered requests plus the ones in flight). They run ahead of the
    clock, within [dingtalk] sign_window (3600 s) of it."""

    def __init__(self, stride):
        self.stride = stride
        self.next = 0
        self.cur = None

    def _now(self):
        return int(time.time() * 1000) + 1000

    def take(self):
        self.cur = max(self.next, self._now())
        self.next = self.cur + 600000  # until used() knows better (a failed run)
        return self.cur

    def used(self, requests):
        self.next = self.cur + (requests + CONNECTIONS + 1) * self.stride

    def one(self):
        """A timestamp for one message sent from here (the sample)."""
        ts = max(self.next, self._now())
        self.next = ts + 1
        return ts


def chat_sample(stack, mode, alloc=None):
    """One message signed here as chat_bench.lua signs it (HMAC-SHA256 in
    Python): checks the secrets and the stack before wrk runs."""
    import base64
    import hashlib
    import hmac
    secret = CHAT_SECRETS[mode].encode()
    mid = "sample-" + uuid.uuid4().hex
    if mode == "generic":
        body = json.dumps({"user": "bench-sample", "text": "2", "id": mid}).encode()
        ts = str(int(time.time()))
        sig = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Zhuqi-Timestamp": ts,
                   "X-Zhuqi-Signature": "sha256=" + sig}
    else:
        base = stack.ini["channels"]["dingtalk_base_url"]
        body = json.dumps({"msgtype": "text", "text": {"content": "2"}, "msgId": mid,
                           "conversationType": "1", "conversationId": "cid-sample",
                           "senderStaffId": "bench-sample",
                           "sessionWebhook": base + "/session/bench-sample",
                           "sessionWebhookExpiredTime": (int(time.time()) + 3600) * 1000}).encode()
        ts = str(alloc.one() if alloc is not None else int(time.time() * 1000))
        sign = base64.b64encode(hmac.new(secret, ("%s\n" % ts).encode() + secret,
                                         hashlib.sha256).digest()).decode()
        headers = {"Content-Type": "application/json", "timestamp": ts, "sign": sign}
    return stack.request("POST", "/hook/" + mode, body=body, headers=headers)


def chat_selftest(port):
    """chat_bench.lua's own SHA-256 against Python's (wrk -- selftest)."""
    import hashlib
    import hmac
    p = subprocess.run(["wrk", "-t1", "-c1", "-d1s", "-s", CHAT_LUA,
                        "http://127.0.0.1:%d/api/ping" % port,
                        "--", "selftest"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=30)
    want = ["sha256('abc') " + hashlib.sha256(b"abc").hexdigest(),
            "hmac " + hmac.new(b"key", b"The quick brown fox jumps over the lazy dog",
                               hashlib.sha256).hexdigest(),
            "long " + hashlib.sha256(b"a" * 1000).hexdigest()]
    missing = [w for w in want if w not in p.stdout]
    if missing:
        raise RuntimeError("chat_bench.lua selftest disagrees with Python: %r\n%s"
                           % (missing, p.stdout[-1000:]))


def chat_script_args(stack, mode, users, run_id="-"):
    """chat_bench.lua's arguments: users per wrk thread; run_id "-" for a
    random one per run of wrk (the same one for two runs continues the
    same users' dialogues: see bench/callgrind.py)."""
    args = [mode, CHAT_SECRETS[mode]]
    if mode == "dingtalk":
        args.append(stack.ini["channels"]["dingtalk_base_url"])
    args += [str(users), run_id]
    if mode == "dingtalk":
        args += [TS_BASE, str(WRK_THREADS)]
    return args


def setup_chat(mode):
    def setup(sc):
        chat_selftest(sc.stack.port)
        alloc = TsAlloc(WRK_THREADS) if mode == "dingtalk" else None
        args = chat_script_args(sc.stack, mode, CHAT_USERS)
        return {"path": "/hook/" + mode, "script": CHAT_LUA, "script_args": args,
                "ts_alloc": alloc, "sample": lambda stack: chat_sample(stack, mode, alloc),
                "note": "signed text \"1\" at the complaint's company name once past the "
                        "eligibility check (a wrong answer, the question asked again), new "
                        "message id per request, %d users per wrk thread (bench/chat_bench.lua)"
                        % CHAT_USERS}
    return setup


def outbox_queued(stack):
    """Entries on outbox:prio plus those waiting to be retried."""
    prefix = stack.ini["redis"]["prefix"]
    return stack.redis_command(
        "EVAL", "return redis.call('XLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2])", 2,
        prefix + "outbox:prio", prefix + "outbox:delayed")


def measure_delivery(stack, log, timeout=900.0):
    """Starts zhuqi-bot on the replies the DingTalk row queued (the bot was
    stopped during it) and times it until the outbox is empty: replies
    delivered per second to the fake platform (its session webhooks),
    zhuqi-bot's and the fake's CPU meanwhile."""
    queued = outbox_queued(stack)
    fake = stack.fake
    s0 = fake.stats(totals=True)
    fake_pid = fake.proc.pid
    f0 = proc_cpu_s(fake_pid) or 0.0
    t0 = time.monotonic()
    bot = stack.start_bot()
    b0 = 0.0  # a new process: all its CPU is this delivery's
    left = queued
    while left > 0 and time.monotonic() - t0 < timeout:
        time.sleep(0.05)
        left = outbox_queued(stack)
    secs = time.monotonic() - t0
    b1 = proc_cpu_s(bot.pid) or 0.0
    f1 = proc_cpu_s(fake_pid) or 0.0
    s1 = fake.stats(totals=True)
    out = {"queued": queued, "seconds": round(secs, 2), "left": left,
           "per_s": round(queued / secs, 1) if secs > 0 else None,
           "accepted": s1.get("accepted", 0) - s0.get("accepted", 0),
           "rejected": s1.get("rejected", 0) - s0.get("rejected", 0),
           "bot_cpu_s": round(b1 - b0, 2), "fake_cpu_s": round(f1 - f0, 2), "problems": []}
    if left:
        out["problems"].append("%d replies still queued after %.0f s" % (left, timeout))
    if out["rejected"]:
        out["problems"].append("the fake refused %d" % out["rejected"])
    log("  DingTalk replies: %d delivered in %.2f s = %.0f/s%s" % (
        queued - left, secs, out["per_s"] or 0,
        "" if not out["problems"] else " (" + "; ".join(out["problems"]) + ")"))
    return out


def setup_staff_list(sc):
    """Stores STAFF_CASES cases by pipeline (bench/staff_bench.py's
    store_cases, the layout of lib/intake/cases.c); runs after the other rows so
    their figures are measured on a small database."""
    import staff_bench  # noqa: E402  (bench/, on sys.path)
    import staff_util  # noqa: E402  (tests/e2e)
    # Cases the earlier rows made (the lookup's): the export holds them too.
    r = sc.stack.get("/api/admin/cases.csv",
                     headers={"Authorization": "Bearer " + sc.stack.staff_token})
    if r.status != 200:
        raise RuntimeError("GET /api/admin/cases.csv answered %d" % r.status)
    earlier = max(r.body.count(b"\n") - 1, 0)
    took = staff_bench.store_cases(sc.stack, staff_util, STAFF_CASES)
    sc.staff_cases_stored = STAFF_CASES + earlier
    print("  stored %d cases in %.1f s" % (STAFF_CASES, took), flush=True)
    return {"path": "/api/admin/cases?limit=50",
            "headers": {"Authorization": "Bearer " + sc.stack.staff_token},
            "note": "first page of 50, %d cases stored (%.1f s to store) + %d from earlier rows"
                    % (STAFF_CASES, took, earlier)}


def endpoint_specs():
    """The rows of the main run, in order. Each: id, label, method, path,
    expect (the status a sample must get), route (the app's metrics route,
    None for nginx alone), setup (fills path/body/headers from live state)."""
    return [
        {"id": "static", "label": "nginx static GET /index.html", "method": "GET",
         "path": "/index.html", "expect": 200, "route": None},
        {"id": "ping", "label": "GET /api/ping", "method": "GET", "path": "/api/ping",
         "expect": 200, "route": "ping"},
        {"id": "health", "label": "GET /api/health", "method": "GET", "path": "/api/health",
         "expect": 200, "route": "health"},
        {"id": "step", "label": "PUT complaint step", "method": "PUT", "expect": 200,
         "route": "intake_step", "setup": setup_step},
        {"id": "peer_step", "label": "PUT step, PHP-FPM peer", "method": "PUT", "expect": 200,
         "route": None, "setup": setup_peer_step},
        {"id": "step_floor", "label": "GET health + step body (floor)", "method": "GET",
         "expect": 200, "route": "health", "setup": setup_step_floor},
        {"id": "lookup", "label": "POST case lookup", "method": "POST", "expect": 200,
         "route": "case_lookup", "setup": setup_lookup},
        {"id": "chat_generic", "label": "POST generic chat message", "method": "POST",
         "expect": 200, "route": "hook_generic", "setup": setup_chat("generic")},
        # zhuqi-bot stopped during the row: it measures the webhook's own
        # work (the reply queued on outbox:prio), not the bot and the fake
        # platform delivering replies on the same two cores; the delivery
        # is measured after it (measure_delivery).
        {"id": "chat_dingtalk", "label": "POST DingTalk text message", "method": "POST",
         "expect": 200, "route": "hook_dingtalk", "setup": setup_chat("dingtalk"),
         "bot_off": True},
        # Last: its setup stores 100,000 cases, and the CSV export runs after it.
        {"id": "staff_list", "label": "GET staff list p1 (100k)", "method": "GET",
         "expect": 200, "route": "admin_cases", "setup": setup_staff_list},
    ]


# --- wrk ----------------------------------------------------------------

def wrk_argv(port, spec, seconds, tmpdir):
    url = "http://127.0.0.1:%d%s" % (spec.get("port") or port, spec["path"])
    argv = ["wrk", "-t%d" % WRK_THREADS, "-c%d" % CONNECTIONS, "-d%ds" % seconds, "--latency",
            "--timeout", "5s"]
    if spec.get("script"):
        return argv + ["-s", spec["script"], url, "--"] + list(spec.get("script_args", []))
    if spec["method"] == "GET" and not spec.get("body") and not spec.get("headers"):
        return argv + ["-s", REPORT_LUA, url]
    body = "-"
    if spec.get("body"):
        body = os.path.join(tmpdir, "%s.body" % spec["id"])
        with open(body, "wb") as f:
            f.write(spec["body"])
    hdrs = ["%s: %s" % kv for kv in sorted((spec.get("headers") or {}).items())]
    return argv + ["-s", REQUEST_LUA, url, "--", spec["method"], body] + hdrs


def run_wrk(argv, ts_alloc=None):
    """Runs wrk; returns report.lua's figures. ts_alloc (a TsAlloc): a
    fresh DingTalk timestamp base in place of TS_BASE, and its next base
    moved past this run's."""
    if ts_alloc is not None:
        argv = [str(ts_alloc.take()) if a == TS_BASE else a for a in argv]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace", timeout=600)
    m = re.search(r"^BENCH_JSON (\{.*\})$", p.stdout, re.M)
    if p.returncode != 0 or m is None:
        raise RuntimeError("wrk failed (exit %d):\n%s" % (p.returncode, p.stdout[-2000:]))
    res = json.loads(m.group(1))
    res["text"] = p.stdout[: m.start()].rstrip()
    if ts_alloc is not None:
        ts_alloc.used(res["requests"])
    return res


def app_counts(stack, route):
    """{status: count} of the app's requests on route, from /api/metrics."""
    out = {}
    if route is None:
        return out
    for name, labels, value in stack.metrics():
        if name == "zhuqi_http_requests_total" and labels.get("route") == route:
            out[labels.get("status")] = int(value)
    return out


def wait_quiet(limit_s, log):
    """Waits (up to limit_s) until the machine is quiet; returns the cores
    busy at the last look."""
    deadline = time.monotonic() + limit_s
    busy = machine_busy(1.0)
    if busy > NOISY_OTHER_CORES and limit_s > 0:
        log("  waiting for the machine to be quiet (%.2f cores busy)" % busy)
        while busy > NOISY_OTHER_CORES and time.monotonic() < deadline:
            busy = machine_busy(1.0)
    return busy


def measure(stack, spec, seconds, warmup, tmpdir, log, quiet_s=0, retries=0):
    """Runs one row; a noisy run (other work on the machine) is run again
    up to retries times, and the quietest one is kept. Returns its dict."""
    best = None
    for attempt in range(retries + 1):
        row = measure_once(stack, spec, seconds, warmup, tmpdir, log, quiet_s)
        row["attempts"] = attempt + 1
        if best is None or (row.get("cpu_cores", {}).get("other", 0)
                            < best.get("cpu_cores", {}).get("other", 0)):
            best = row
        if not row.get("noisy") or "cpu_cores" not in row:
            break
        if attempt < retries:
            log("  noisy run, measuring again")
    return best


def measure_once(stack, spec, seconds, warmup, tmpdir, log, quiet_s=0):
    """Runs one row once; returns its dict."""
    row = {"id": spec["id"], "name": spec["label"], "method": spec["method"],
           "path": spec.get("path"), "valid": False, "problems": []}
    if spec.get("note"):
        row["note"] = spec["note"]
    if spec.get("sample"):
        r = spec["sample"](stack)
    elif spec.get("port"):  # another server of the same nginx (the PHP peer)
        r = peer_request(spec["port"], spec["method"], spec["path"], spec.get("body"),
                         spec.get("headers"))
    else:
        r = stack.request(spec["method"], spec["path"], body=spec.get("body"),
                          headers=spec.get("headers"))
    row["sample_status"] = r.status
    if r.status != spec["expect"]:
        row["problems"].append("sample request answered %d, expected %d: %s"
                               % (r.status, spec["expect"], r.body[:200].decode("utf-8", "replace")))
        log("  %-28s skipped: %s" % (spec["label"], row["problems"][-1]))
        return row
    argv = wrk_argv(stack.port, spec, seconds, tmpdir)
    if quiet_s > 0:
        row["busy_before"] = wait_quiet(quiet_s, log)
    if warmup > 0:
        run_wrk(argv[:3] + ["-d%ds" % warmup] + argv[4:], spec.get("ts_alloc"))
    before = app_counts(stack, spec.get("route"))
    meter = CpuMeter(stack)
    meter.start()
    res = run_wrk(argv, spec.get("ts_alloc"))
    row["cpu_cores"] = meter.stop()
    after = app_counts(stack, spec.get("route"))
    statuses = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    statuses = {k: v for k, v in statuses.items() if v}

    secs = res["duration_us"] / 1e6
    errs = res["errors"]
    row.update({
        "requests": res["requests"],
        "seconds": round(secs, 2),
        "rps": round(res["requests"] / secs, 1) if secs > 0 else 0.0,
        "p50_ms": round(res["p50_us"] / 1000, 3),
        "p90_ms": round(res["p90_us"] / 1000, 3),
        "p99_ms": round(res["p99_us"] / 1000, 3),
        "p999_ms": round(res["p999_us"] / 1000, 3),
        "max_ms": round(res["max_us"] / 1000, 3),
        "non2xx": errs["status"],
        "socket_errors": {k: errs[k] for k in ("connect", "read", "write", "timeout")},
        "app_statuses": statuses,
    })
    if errs["status"]:
        row["problems"].append("wrk counted %d responses with status >= 400" % errs["status"])
    bad_app = {k: v for k, v in statuses.items() if not k.startswith("2")}
    if bad_app:
        row["problems"].append("the app answered %s" % ", ".join(
            "%s x%d" % kv for kv in sorted(bad_app.items())))
    sock = sum(row["socket_errors"].values())
    if sock:
        row["problems"].append("socket errors %r" % row["socket_errors"])
    row["valid"] = not row["problems"]
    if row["cpu_cores"].get("other", 0) > NOISY_OTHER_CORES:
        row["noisy"] = True
    log("  %-28s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  %s" % (
        spec["label"], row["rps"], row["p50_ms"], row["p99_ms"],
        "ok" if row["valid"] else "INVALID: " + "; ".join(row["problems"])))
    return row


def add_ratios(rows, base_id="ping"):
    base = next((r for r in rows if r["id"] == base_id and r.get("valid")), None)
    for r in rows:
        if base and r.get("rps") is not None and base["rps"]:
            r["ratio_to_ping"] = round(r["rps"] / base["rps"], 3)
        else:
            r["ratio_to_ping"] = None


# Issue 17's ratios, all from the rows of one run: (id, text, numerator
# row, denominator row, "rps" or "p99", ">=" or "<=", goal).
RATIOS = [
    ("step_floor_rps", "complaint step / floor req/s", "step", "step_floor", "rps", ">=", 0.8),
    ("chat_floor_rps", "generic chat / floor req/s", "chat_generic", "step_floor", "rps", ">=",
     0.7),
    ("step_floor_p99", "complaint step / floor p99", "step", "step_floor", "p99", "<=", 1.5),
    ("chat_floor_p99", "generic chat / floor p99", "chat_generic", "step_floor", "p99", "<=",
     1.5),
    ("step_peer_rps", "zhuqi step / PHP peer req/s", "step", "peer_step", "rps", ">=", 3.0),
]


def issue_ratios(rows):
    """The RATIOS of one run: a list of {id, text, value, goal, op, met};
    value None ("not measured") when a row is missing or invalid. Never a
    failure: timing is reported, not enforced."""
    by_id = {r["id"]: r for r in rows}
    out = []
    for rid, text, num, den, what, op, goal in RATIOS:
        a, b = by_id.get(num), by_id.get(den)
        key = "rps" if what == "rps" else "p99_ms"
        value = None
        why = None
        if a is None or b is None:
            why = "row %s not run" % (num if a is None else den)
        elif not a.get("valid") or not b.get("valid"):
            why = "row %s invalid" % (num if not a.get("valid") else den)
        elif not b.get(key):
            why = "row %s has no %s" % (den, key)
        else:
            value = round(a[key] / b[key], 3)
        met = None if value is None else (value >= goal if op == ">=" else value <= goal)
        out.append({"id": rid, "text": text, "value": value, "op": op, "goal": goal, "met": met,
                    "why": why})
    return out


def judge_figure(g, rep):
    res = {"id": g["id"], "goal": g["text"], "result": "MISS", "why": []}
    fig = rep.get(g["figure"]) or {}
    v = fig.get(g["field"])
    if fig.get("error") or v is None:
        res["why"].append("%s not measured%s" % (g["figure"], ": " + fig["error"]
                                                  if fig.get("error") else ""))
        return res
    res["value"] = v
    if "min" in g and v < g["min"]:
        res["why"].append("%s %s < %s" % (g["field"], v, g["min"]))
    if "max" in g and (v >= g["max"] if g.get("strict") else v > g["max"]):
        res["why"].append("%s %s %s %s" % (g["field"], v, ">=" if g.get("strict") else ">",
                                           g["max"]))
    for k in ("problems",):
        if fig.get(k):
            res["why"].append("; ".join(fig[k]))
    if not res["why"]:
        res["result"] = "PASS"
    return res


def judge_goals(rows, rep=None):
    by_id = {r["id"]: r for r in rows}
    out = []
    for g in GOALS:
        if "figure" in g:
            if rep is not None and g["figure"] in rep:
                out.append(judge_figure(g, rep))
            continue
        r = by_id.get(g["row"])
        if r is None:  # not run (--only); a failed setup leaves an invalid row
            continue
        res = {"id": g["id"], "goal": g["text"], "result": "MISS", "why": []}
        if r is None or not r.get("valid"):
            res["why"].append("row %s missing or invalid" % g["row"])
        else:
            if "min_rps" in g and r["rps"] < g["min_rps"]:
                res["why"].append("%.0f req/s < %d" % (r["rps"], g["min_rps"]))
            if "min_ratio" in g and (r["ratio_to_ping"] is None
                                     or r["ratio_to_ping"] < g["min_ratio"]):
                res["why"].append("ratio %s < %.2f" % (r["ratio_to_ping"], g["min_ratio"]))
            if "max_p99_ms" in g and r["p99_ms"] >= g["max_p99_ms"]:
                res["why"].append("p99 %.2f ms >= %.1f" % (r["p99_ms"], g["max_p99_ms"]))
            if not res["why"]:
                res["result"] = "PASS"
            if r.get("noisy"):
                res["why"].append("noisy run: other processes used %.2f cores"
                                  % r["cpu_cores"]["other"])
        out.append(res)
    return out


# --- output -------------------------------------------------------------

def fmt(v, spec):
    return "-" if v is None else spec % v


def row_flags(r):
    out = ""
    if not r.get("valid"):
        out += "  INVALID: " + "; ".join(r["problems"])
    if r.get("noisy"):
        out += "  (noisy: other processes used %.2f cores)" % r["cpu_cores"]["other"]
    return out


def print_report(rep):
    m = rep["machine"]
    c = rep["config"]
    print()
    print("zhuqi bench %s, rev %s" % (rep["started"], m["git_rev"]))
    print("machine: %d x %s, %s GiB, Linux %s, %s; nginx %s, redis %s, wrk %s" % (
        m["nproc"], m["cpu_model"], m["mem_gib"], m["kernel"], m["os"], m["nginx"], m["redis"],
        m["wrk"]))
    print("setup: wrk -t%d -c%d, %d s per row (+%d s warm-up); nginx %d workers, FastCGI "
          "keepalive %d per worker; zhuqi-fcgi %d threads (%s); log level %s" % (
              c["wrk_threads"], c["connections"], c["seconds"], c["warmup"], c["nginx_workers"],
              c["keepalive"], c["threads"], c["threads_rule"], c["log_level"]))
    if rep["machine_busy_before"] > NOISY_OTHER_CORES:
        print("warning: the machine was busy before the run (%.2f cores): figures are not "
              "comparable" % rep["machine_busy_before"])
    print()
    hdr = "%-30s %10s %8s %8s %8s %7s" % ("name", "req/s", "p50 ms", "p99 ms", "non-2xx", "/ping")
    print(hdr)
    print("-" * len(hdr))
    for r in rep["rows"]:
        print("%-30s %10s %8s %8s %8s %7s%s" % (
            r["name"], fmt(r.get("rps"), "%.0f"), fmt(r.get("p50_ms"), "%.2f"),
            fmt(r.get("p99_ms"), "%.2f"), fmt(r.get("non2xx"), "%d"),
            fmt(r.get("ratio_to_ping"), "%.2f"), row_flags(r)))
    print()
    procs = ["nginx", "fcgi", "redis", "bot", "fake", "php", "wrk", "other", "idle"]
    hdr = "%-30s" % "CPU (cores) during each run" + "".join("%8s" % p for p in procs)
    print(hdr)
    for r in rep["rows"]:
        cpu = r.get("cpu_cores")
        if cpu:
            print("%-30s" % r["name"] + "".join("%8s" % fmt(cpu.get(p), "%.2f") for p in procs))
    print()
    mem = rep["memory_kib"]
    print("resident memory after the run: " + ", ".join(
        "%s VmRSS %.1f MiB (peak %.1f MiB, %d threads)" % (
            name, v["VmRSS"] / 1024, v.get("VmHWM", 0) / 1024, v.get("Threads", 0))
        for name, v in mem.items() if v))
    ex = rep.get("export")
    if ex:
        print()
        if ex.get("error"):
            print("CSV export: not measured: %s" % ex["error"])
        else:
            print("CSV export of %d cases: %.1f MB in %.2f s = %.0f rows/s (zhuqi-fcgi %.2f CPU s);"
                  " zhuqi-fcgi RSS %.1f MiB before, %.1f MiB peak, %.1f MiB after" % (
                      ex["rows"], ex["bytes"] / 1e6, ex["seconds"], ex["rows_per_s"],
                      ex["fcgi_cpu_s"], ex["rss_kb_before"] / 1024, ex["rss_kb_peak"] / 1024,
                      ex["rss_kb_after"] / 1024))
    up = rep.get("upload")
    if up:
        if up.get("error"):
            print("uploads: not measured: %s" % up["error"])
        else:
            print("uploads of 1 MB files (%d clients): %d files in %.2f s = %.1f MB/s, p50 %.1f ms,"
                  " p99 %.1f ms; zhuqi-fcgi RSS %.1f MiB before, %.1f MiB peak, %.1f MiB after" % (
                      up["connections"], up["files"], up["seconds"], up["mb_per_s"],
                      up["p50_ms"] or 0, up["p99_ms"] or 0, up["rss_kb_before"] / 1024,
                      up["rss_kb_peak"] / 1024, up["rss_kb_after"] / 1024))
    fo = rep.get("fanout")
    if fo:
        if fo.get("error"):
            print("bot fan-out: not measured: %s" % fo["error"])
        else:
            print("bot fan-out, one notice to %d generic targets (no rate limit, fake platform):"
                  " %d sent, %d accepted in %.2f s (%.0f msg/s); zhuqi-bot peak RSS %.1f MiB" % (
                      fo["targets"], fo["sent"], fo["accepted"], fo["seconds"],
                      fo["msg_per_s"] or 0, fo["rss_kb"] / 1024))
    dd = rep.get("dingtalk_delivery")
    if dd:
        if dd.get("error"):
            print("DingTalk reply delivery: not measured: %s" % dd["error"])
        else:
            print("DingTalk reply delivery (zhuqi-bot stopped during the row, started after it): "
                  "%d replies queued, delivered to the fake's session webhooks in %.2f s = %.0f "
                  "replies/s (%d accepted, %d refused); zhuqi-bot %.2f CPU s, fake %.2f CPU s%s"
                  % (dd["queued"], dd["seconds"], dd["per_s"] or 0, dd["accepted"],
                     dd["rejected"], dd["bot_cpu_s"], dd["fake_cpu_s"],
                     "" if not dd["problems"] else "  PROBLEM: " + "; ".join(dd["problems"])))
    sm = rep.get("sms")
    if sm:
        if sm.get("error"):
            print("SMS: not measured: %s" % sm["error"])
        else:
            print("SMS, %d progress messages to as many numbers (fake Tencent endpoint, TC3 "
                  "checked): queued in %.2f s; %d accepted, %d refused in %.2f s (%.0f SMS/s); "
                  "zhuqi-bot peak RSS %.1f MiB" % (
                      sm["count"], sm["queue_seconds"], sm["accepted"], sm["rejected"],
                      sm["seconds"], sm["sms_per_s"] or 0, sm["rss_kb"] / 1024))
    sc = rep.get("sms_code")
    if sc:
        if sc.get("error"):
            print("SMS codes: not measured: %s" % sc["error"])
        else:
            print("POST /api/sms/code (a new number each, limits off, no bot): %.0f req/s, "
                  "p50 %.2f ms, p99 %.2f ms; %d requests, %d not 2xx; %d codes queued" % (
                      sc["rps"] or 0, sc["p50_ms"], sc["p99_ms"], sc["requests"],
                      sc["non_2xx"], sc["queued"]))
    if rep.get("ping_variants"):
        print()
        print("/api/ping with other nginx settings (zhuqi-fcgi threads by the rule; each "
              "variant on a fresh stack):")
        for r in rep["ping_variants"]:
            print("  %-44s %dw %3d thr %8s req/s  p50 %s ms  p99 %s ms  p99.9 %s ms%s" % (
                r["variant"], r["nginx_workers"], r["threads"], fmt(r.get("rps"), "%.0f"), fmt(r.get("p50_ms"), "%.2f"),
                fmt(r.get("p99_ms"), "%.2f"), fmt(r.get("p999_ms"), "%.2f"), row_flags(r)))
    if rep.get("ratios"):
        print()
        hdr = "%-34s %8s %8s  %s" % ("issue 17 ratio (this run)", "value", "goal", "met")
        print(hdr)
        print("-" * len(hdr))
        for q in rep["ratios"]:
            print("%-34s %8s %8s  %s" % (
                q["text"], fmt(q["value"], "%.2f"), "%s %.1f" % (q["op"], q["goal"]),
                "not measured (%s)" % q["why"] if q["met"] is None
                else "met" if q["met"] else "not met"))
    print()
    for g in rep["goals"]:
        print("goal %-60s %s%s" % (g["goal"], g["result"],
                                   "" if not g["why"] else " (" + "; ".join(g["why"]) + ")"))


def write_json(rep):
    os.makedirs(OUT_DIR, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(OUT_DIR, "bench-%s.json" % stamp)
    data = json.dumps(rep, indent=2, ensure_ascii=False) + "\n"
    for p in (path, os.path.join(OUT_DIR, "latest.json")):
        tmp = p + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(data)
        os.replace(tmp, p)
    return path


# --- main ---------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bin_dir", nargs="?", default="build/release")
    ap.add_argument("--seconds", type=int, default=env_int("BENCH_SECONDS", 10))
    ap.add_argument("--warmup", type=int, default=int(os.environ.get("BENCH_WARMUP", "1")))
    ap.add_argument("--nginx-workers", type=int,
                    default=env_int("BENCH_NGINX_WORKERS", DEFAULT_NGINX_WORKERS))
    ap.add_argument("--only", help="comma-separated row ids (%s), plus export, upload, fanout and sms"
                    % ",".join(s["id"] for s in endpoint_specs()))
    ap.add_argument("--no-fanout", action="store_true", help="skip the bot fan-out")
    ap.add_argument("--no-compare", action="store_true", help="skip the keep-alive comparison")
    ap.add_argument("--no-bot", action="store_true", help="do not start zhuqi-bot")
    ap.add_argument("--retries", type=int, default=int(os.environ.get("BENCH_RETRIES", "2")),
                    metavar="N", help="run a noisy row again up to N times, keep the quietest")
    ap.add_argument("--wait-quiet", type=int, default=int(os.environ.get("BENCH_WAIT_QUIET", "0")),
                    metavar="S", help="before each row, wait up to S seconds for other work on "
                    "the machine to stop")
    a = ap.parse_args(argv)

    bin_dir = a.bin_dir if os.path.isabs(a.bin_dir) else os.path.join(ROOT, a.bin_dir)
    for b in ("zhuqi-fcgi", "zhuqi-bot"):
        if not os.access(os.path.join(bin_dir, b), os.X_OK):
            sys.exit("bench: %s/%s not built (make BUILD=release all)" % (bin_dir, b))
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk not found (scripts/deps.sh bench installs it)")
    # The harness picks its binaries at import time.
    os.environ["ZQ_BIN_DIR"] = bin_dir
    sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
    import harness  # noqa: E402
    import test_intake  # noqa: E402  (the sample answers and the browser-like client)

    only = set(a.only.split(",")) if a.only else None
    specs = [s for s in endpoint_specs() if only is None or s["id"] in only]
    cfg = {
        "connections": CONNECTIONS, "wrk_threads": WRK_THREADS, "seconds": a.seconds,
        "warmup": a.warmup, "nginx_workers": a.nginx_workers, "keepalive": TEMPLATE_KEEPALIVE,
        "keepalive_source": "nginx/zhuqi.conf default: line",
        "staff_cases": STAFF_CASES, "fanout_targets": FANOUT_TARGETS,
        "threads": keepalive_rule(a.nginx_workers, TEMPLATE_KEEPALIVE, CONNECTIONS),
        "threads_rule": "nginx workers %d x keepalive %d + %d connections" % (
            a.nginx_workers, TEMPLATE_KEEPALIVE, CONNECTIONS),
        "log_level": "info",
        "log_note": "request logging at info (production's default): one line per request "
                    "from zhuqi-fcgi to a file, plus nginx's access log",
        "lookup_per_minute": LOOKUP_PER_MINUTE,
        "bin_dir": os.path.relpath(bin_dir, ROOT),
        "bot": not a.no_bot,
    }
    rep = {"started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "machine": machine_info(harness), "config": cfg, "rows": [], "memory_kib": {},
           "ping_variants": [], "goals": []}

    def log(msg):
        print(msg, flush=True)

    rep["machine_busy_before"] = machine_busy()
    if rep["machine_busy_before"] > NOISY_OTHER_CORES:
        log("bench: warning: %.2f cores busy before starting; other work on the machine "
            "will lower the figures" % rep["machine_busy_before"])
    tmpdir = tempfile.mkdtemp(prefix="zq-bench-")
    try:
        log("bench: main stack (%s)" % cfg["threads_rule"])
        peer = peer_error = None
        if any(s["id"] == "peer_step" for s in specs):
            sys.path.insert(0, os.path.join(BENCH_DIR, "peer"))
            import peer as peer_mod  # noqa: E402  (bench/peer)
            peer = peer_mod.Peer(tmpdir, harness.free_port())
        stack = start_stack(harness, cfg, TEMPLATE_KEEPALIVE, not a.no_bot, "bench", chat=True,
                            peer=peer)
        try:
            if peer is not None:
                try:
                    peer.start(stack.redis_port, stack.ini["redis"]["prefix"])
                    log("bench: PHP peer: php-fpm %s, %d workers on 127.0.0.1:%d" % (
                        peer.exe, peer.children, peer.port))
                except peer_mod.PeerError as e:
                    peer_error = "PHP peer not started: %s" % e
                    log("bench: " + peer_error)
            sc = Scenario(stack, test_intake)
            sc.peer_error = peer_error
            for spec in specs:
                spec = dict(spec)
                if spec.get("setup"):
                    try:
                        spec.update(spec.pop("setup")(sc))
                    except Exception as e:  # a row that cannot be set up is invalid, not fatal
                        log("  %-28s setup failed: %s" % (spec["label"], e))
                        rep["rows"].append({"id": spec["id"], "name": spec["label"],
                                            "valid": False,
                                            "problems": ["setup failed: %s" % e]})
                        continue
                bot_stopped = False
                if spec.get("bot_off"):
                    p = stack.procs.get("bot")
                    if p is not None and p.alive():
                        stack.stop("bot")
                        bot_stopped = True
                rep["rows"].append(measure(stack, spec, a.seconds, a.warmup, tmpdir, log,
                                           a.wait_quiet, a.retries))
                if bot_stopped:
                    log("bench: delivering the DingTalk row's replies (zhuqi-bot started)")
                    try:
                        rep["dingtalk_delivery"] = measure_delivery(stack, log)
                    except Exception as e:
                        rep["dingtalk_delivery"] = {"error": str(e)}
                        log("  delivery failed: %s" % e)
            if getattr(sc, "staff_cases_stored", 0) and (only is None or "export" in only
                                                         or "staff_list" in only):
                import staff_bench  # noqa: E402  (bench/)
                log("bench: CSV export of %d cases" % sc.staff_cases_stored)
                try:
                    if a.wait_quiet > 0:
                        wait_quiet(a.wait_quiet, log)
                    rep["export"] = staff_bench.run_export(stack, stack.staff_token,
                                                           stack.fcgi_pid(),
                                                           sc.staff_cases_stored)
                    log("  %d rows in %.2f s = %.0f rows/s" % (
                        rep["export"]["rows"], rep["export"]["seconds"],
                        rep["export"]["rows_per_s"]))
                except Exception as e:
                    rep["export"] = {"error": str(e)}
                    log("  export failed: %s" % e)
            if only is None or "upload" in only:
                import upload_bench  # noqa: E402  (bench/)
                log("bench: 1 MB evidence uploads")
                try:
                    if a.wait_quiet > 0:
                        wait_quiet(a.wait_quiet, log)
                    rep["upload"] = upload_bench.run_upload(stack, stack.fcgi_pid())
                    up = rep["upload"]
                    log("  %d files in %.2f s = %.1f MB/s, p99 %.1f ms" % (
                        up["files"], up["seconds"], up["mb_per_s"], up["p99_ms"] or 0))
                except Exception as e:
                    rep["upload"] = {"error": str(e)}
                    log("  upload failed: %s" % e)
            for name in ("fcgi", "bot"):
                p = stack.procs.get(name)
                if p is not None and p.alive():
                    rep["memory_kib"][name] = vm_status(p.pid)
        finally:
            if peer is not None and peer.stop() not in (0, None):
                log("bench: php-fpm exited with %s:\n%s" % (peer.proc.returncode, peer.tail()))
            problems = stack.close(raise_on_problems=False)
            if problems:
                log("bench: stack teardown: " + "; ".join(problems))

        if not a.no_compare and (only is None or "ping" in only):
            main_ping = next((r for r in rep["rows"] if r["id"] == "ping"), None)
            if main_ping is not None:
                rep["ping_variants"].append(dict(main_ping, threads=cfg["threads"],
                                             nginx_workers=cfg["nginx_workers"],
                                             keepalive=TEMPLATE_KEEPALIVE,
                                             variant="keepalive %d (template default)"
                                             % TEMPLATE_KEEPALIVE))
            ping = next(s for s in endpoint_specs() if s["id"] == "ping")
            for label, ka, workers in comparison_variants(a.nginx_workers):
                vcfg = dict(cfg, nginx_workers=workers,
                            threads=keepalive_rule(workers, ka, CONNECTIONS))
                log("bench: ping with %s, %d threads" % (label, vcfg["threads"]))
                st = start_stack(harness, vcfg, ka, False, "bench-ka%d-w%d" % (ka, workers))
                try:
                    r = measure(st, dict(ping), a.seconds, a.warmup, tmpdir, log, a.wait_quiet,
                                a.retries)
                finally:
                    st.close(raise_on_problems=False)
                r.update(variant=label, threads=vcfg["threads"], nginx_workers=workers,
                         keepalive=ka)
                rep["ping_variants"].append(r)
        if not a.no_fanout and (only is None or "fanout" in only):
            import bot_fanout  # noqa: E402  (bench/)
            log("bench: bot fan-out to %d generic targets" % FANOUT_TARGETS)
            try:
                if a.wait_quiet > 0:
                    wait_quiet(a.wait_quiet, log)
                rep["fanout"] = bot_fanout.run_fanout(harness, FANOUT_TARGETS)
                fo = rep["fanout"]
                fo["problems"] = []
                if fo["sent"] != FANOUT_TARGETS or fo["accepted"] != FANOUT_TARGETS:
                    fo["problems"].append("%d sent, %d accepted of %d" % (
                        fo["sent"], fo["accepted"], FANOUT_TARGETS))
                log("  %d sent in %.2f s, bot peak RSS %.1f MiB" % (
                    fo["sent"], fo["seconds"], fo["rss_kb"] / 1024))
            except Exception as e:
                rep["fanout"] = {"error": str(e)}
                log("  fan-out failed: %s" % e)
        if not a.no_fanout and (only is None or "sms" in only):
            import sms_bench  # noqa: E402  (bench/)
            log("bench: %d progress SMS through the fake Tencent endpoint" % FANOUT_TARGETS)
            try:
                if a.wait_quiet > 0:
                    wait_quiet(a.wait_quiet, log)
                rep["sms"] = sms_bench.run_sms(harness, FANOUT_TARGETS)
                sm = rep["sms"]
                sm["problems"] = []
                if sm["accepted"] != FANOUT_TARGETS:
                    sm["problems"].append("%d accepted of %d" % (sm["accepted"], FANOUT_TARGETS))
                log("  %d accepted in %.2f s, bot peak RSS %.1f MiB" % (
                    sm["accepted"], sm["seconds"], sm["rss_kb"] / 1024))
            except Exception as e:
                rep["sms"] = {"error": str(e)}
                log("  SMS failed: %s" % e)
            try:
                rep["sms_code"] = sms_bench.run_code_rate(harness, a.seconds)
                log("  POST /api/sms/code: %.0f req/s" % (rep["sms_code"]["rps"] or 0))
            except Exception as e:
                rep["sms_code"] = {"error": str(e)}
                log("  code endpoint failed: %s" % e)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)

    add_ratios(rep["rows"])
    rep["ratios"] = issue_ratios(rep["rows"])
    rep["goals"] = judge_goals(rep["rows"], rep)
    for r in rep["rows"] + rep["ping_variants"]:
        r.pop("text", None)
    print_report(rep)
    path = write_json(rep)
    print("\nwrote %s and bench/out/latest.json" % os.path.relpath(path, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())

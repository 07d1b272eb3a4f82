"""The PHP-FPM peer of zhuqi's complaint step (bench/peer/step.php): its
configuration, its php-fpm and its nginx server block.

    peer = Peer(tmpdir)                    # a port and a socket path
    text = peer.nginx_server()             # append to the site template
    ... start nginx with it, and Redis ...
    peer.start(redis_port, prefix)         # writes the config, starts php-fpm
    ... requests to 127.0.0.1:peer.port ...
    peer.stop()

php-fpm runs in the foreground (-F) with its own config in tmpdir, one
static pool listening on a unix socket there: never the system service.
The schema it validates with (the complaint's eligibility check and first
step, the regions) is written as a PHP array from config/forms and
config/regions.json, so opcache keeps it compiled. Standard library only.
"""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEP_PHP = os.path.join(ROOT, "bench", "peer", "step.php")
FORM = os.path.join(ROOT, "config", "forms", "complaint.json")
REGIONS = os.path.join(ROOT, "config", "regions.json")
# FPM workers of the static pool: each blocks on Redis for part of a
# request, so a few more than the 2 cores; 8 measured best of 4, 8 and 16
# on the 2-core machine (docs/PERFORMANCE.md). BENCH_PEER_CHILDREN changes it.
DEFAULT_CHILDREN = 8
# [intake] session_ttl's default (lib/core/config.c), as zhuqi's sessions.
SESSION_TTL_S = 1209600


class PeerError(Exception):
    pass


def find_php_fpm():
    """The php-fpm binary (Debian's php-fpm package: /usr/sbin/php-fpmX.Y),
    or None when it is not installed."""
    exe = os.environ.get("ZQ_PHP_FPM") or shutil.which("php-fpm")
    if exe:
        return exe
    found = sorted(glob.glob("/usr/sbin/php-fpm*"))
    return found[-1] if found else None


def php_literal(v, indent=""):
    """v (JSON-like) as a PHP expression."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    inner = indent + "  "
    if isinstance(v, dict):
        items = ["%s%s => %s" % (inner, php_literal(str(k)), php_literal(x, inner))
                 for k, x in v.items()]
    else:
        items = ["%s%s" % (inner, php_literal(x, inner)) for x in v]
    return "[\n" + ",\n".join(items) + "\n" + indent + "]" if items else "[]"


def _field(f):
    out = {"id": f["id"], "label": f["label"], "type": f["type"],
           "required": bool(f.get("required"))}
    for k in ("min", "max"):
        if k in f:
            out[k] = int(f[k])
    for k in ("multiline", "allow_outside"):
        if f.get(k):
            out[k] = True
    if "options" in f:
        out["options"] = []
        for o in f["options"]:
            oo = {"value": o["value"], "label": o["label"]}
            if "stop" in o:
                oo["stop"] = {"reason": o["stop"]["reason"], "where": o["stop"].get("where", "")}
            out["options"].append(oo)
    return out


def peer_config(redis_host, redis_port, prefix, form_path=FORM, regions_path=REGIONS):
    """The array step.php requires: the form's eligibility check and first
    step after it, the step after those, the regions by code, name and
    short name ([code, in Sichuan]), Redis and the session TTL."""
    with open(form_path, encoding="utf-8") as f:
        form = json.load(f)
    with open(regions_path, encoding="utf-8") as f:
        regions = json.load(f)
    steps = [s for s in form["steps"] if not s.get("review")]
    if not steps[0].get("gate"):
        raise PeerError("%s: the first step is not the eligibility check" % form_path)
    kept = steps[:2]
    for st in kept:
        for fld in st["fields"]:
            if fld["type"] not in ("text", "enum", "uscc", "mobile", "region") or fld.get("when") \
                    or fld.get("multiple"):
                raise PeerError("field %s (%s) is not one the peer validates: extend "
                                "bench/peer/step.php" % (fld["id"], fld["type"]))
    out_steps = []
    for st in kept:
        fields = [_field(x) for x in st["fields"]]
        out_steps.append({"id": st["id"], "gate": bool(st.get("gate")), "fields": fields,
                          "index": {x["id"]: True for x in fields}})
    reg = {}
    for group, sichuan in (("sichuan", True), ("outside", False)):
        for r in regions.get(group, []):
            for k in (r["code"], r.get("name"), r.get("short")):
                if k:
                    reg.setdefault(k, [r["code"], sichuan])
    return {"redis_host": redis_host, "redis_port": int(redis_port), "prefix": prefix,
            "ttl": SESSION_TTL_S, "regions": reg,
            "form": {"id": form["id"], "steps": out_steps,
                     "next_after": steps[2]["id"] if len(steps) > 2 else steps[-1]["id"]}}


class Peer:
    """One php-fpm serving bench/peer/step.php, its files in dir."""

    def __init__(self, dir, port, children=None):
        self.dir = os.path.join(dir, "php-peer")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port
        self.sock = os.path.join(self.dir, "php-fpm.sock")
        self.config = os.path.join(self.dir, "config.php")
        self.children = children or int(os.environ.get("BENCH_PEER_CHILDREN",
                                                       DEFAULT_CHILDREN))
        # FastCGI keep-alive from nginx to php-fpm: off, as Debian's
        # snippets/fastcgi-php.conf has it. With it on, each connection
        # nginx keeps idle pins an FPM worker (FPM serves one connection
        # per worker), and the workers left queue the rest: p99 in seconds.
        self.keepalive = int(os.environ.get("BENCH_PEER_KEEPALIVE", "0"))
        self.proc = None
        self.exe = find_php_fpm()

    def nginx_server(self, access_log):
        """A server block for the site file: 127.0.0.1:port to php-fpm,
        /api/ only (as zhuqi's), with an access log like the site's."""
        return """
# The PHP-FPM peer of the complaint step (bench/peer/, make bench only).
upstream zq_php_peer {
    server unix:%(sock)s;
%(keepalive)s}

server {
    listen 127.0.0.1:%(port)d;
    server_name localhost;
    access_log %(log)s;
    client_max_body_size 1m;

    location /api/ {
        fastcgi_pass zq_php_peer;
        fastcgi_keep_conn %(keep_conn)s;
        fastcgi_param SCRIPT_FILENAME %(script)s;
        fastcgi_param SCRIPT_NAME /step.php;
        fastcgi_param PEER_CONFIG %(config)s;
        fastcgi_param QUERY_STRING $query_string;
        fastcgi_param REQUEST_METHOD $request_method;
        fastcgi_param CONTENT_TYPE $content_type;
        fastcgi_param CONTENT_LENGTH $content_length;
        fastcgi_param REQUEST_URI $request_uri;
        fastcgi_param DOCUMENT_URI $document_uri;
        fastcgi_param SERVER_PROTOCOL $server_protocol;
        fastcgi_param GATEWAY_INTERFACE CGI/1.1;
        fastcgi_param REMOTE_ADDR $remote_addr;
        fastcgi_param REMOTE_PORT $remote_port;
        fastcgi_param SERVER_ADDR $server_addr;
        fastcgi_param SERVER_PORT $server_port;
        fastcgi_param SERVER_NAME $server_name;
    }
}
""" % {"sock": self.sock, "port": self.port,
       "keepalive": "    keepalive %d;\n" % self.keepalive if self.keepalive > 0 else "",
       "keep_conn": "on" if self.keepalive > 0 else "off", "log": access_log, "script": STEP_PHP,
       "config": self.config}

    def _fpm_conf(self):
        lines = [
            "[global]",
            "pid = %s" % os.path.join(self.dir, "php-fpm.pid"),
            "error_log = %s" % os.path.join(self.dir, "php-fpm.log"),
            "daemonize = no",
            "",
            "[peer]",
            "listen = %s" % self.sock,
            "listen.mode = 0666",
            "listen.backlog = 511",
            "pm = static",
            "pm.max_children = %d" % self.children,
            "pm.max_requests = 0",
            "catch_workers_output = yes",
            "php_admin_flag[log_errors] = on",
            "php_admin_flag[display_errors] = off",
            "php_admin_value[error_log] = %s" % os.path.join(self.dir, "php-error.log"),
            # The code and the config never change during a run.
            "php_admin_value[opcache.enable] = 1",
            "php_admin_value[opcache.validate_timestamps] = 0",
        ]
        if os.geteuid() == 0:
            # php-fpm refuses root workers unless told (-R below); the
            # bench's files belong to whoever started it.
            lines[6:6] = ["user = root", "group = root"]
        return "\n".join(lines) + "\n"

    def start(self, redis_port, prefix, redis_host="127.0.0.1", timeout=15.0):
        """Writes the config and starts php-fpm; returns once the socket
        accepts connections. Raises PeerError."""
        if self.exe is None:
            raise PeerError("php-fpm not installed (scripts/deps.sh bench installs php-fpm and "
                            "php-redis)")
        mods = subprocess.run([self.exe, "-m"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=30).stdout.split()
        if "redis" not in mods:
            raise PeerError("php-fpm has no redis extension (scripts/deps.sh bench installs "
                            "php-redis)")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write("<?php\n// Generated by bench/peer/peer.py; do not edit.\nreturn "
                    + php_literal(peer_config(redis_host, redis_port, prefix)) + ";\n")
        conf = os.path.join(self.dir, "php-fpm.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(self._fpm_conf())
        argv = [self.exe, "-F", "-y", conf, "-p", self.dir]
        if os.geteuid() == 0:
            argv.append("-R")
        self.log_path = os.path.join(self.dir, "php-fpm.out")
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.dir)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PeerError("php-fpm exited with %s:\n%s" % (self.proc.returncode,
                                                                  self.tail()))
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(self.sock)
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise PeerError("php-fpm not listening after %.0f s:\n%s" % (timeout, self.tail()))

    def tail(self, n=30):
        out = []
        for name in ("php-fpm.out", "php-fpm.log", "php-error.log"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                with open(p, encoding="utf-8", errors="replace") as f:
                    out.append("%s:\n%s" % (name, "".join(f.readlines()[-n:])))
        return "\n".join(out)

    def pids(self):
        """php-fpm's master and workers (for the CPU meter)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        out = [self.proc.pid]
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d, encoding="ascii", errors="replace") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                continue
        return out

    def stop(self, timeout=10.0):
        """SIGQUIT (graceful), then SIGKILL; returns php-fpm's exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGQUIT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

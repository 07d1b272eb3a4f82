"""Rolling restart: two zhuqi-fcgi instances behind one nginx upstream,
each stopped with SIGTERM and started again in turn while traffic runs
(GET, idempotent PUT, POST with an Idempotency-Key). No client may see an
error: nginx passes a request that met a closing instance to the other
one (fastcgi_next_upstream in nginx/zhuqi.conf)."""

import os
import re
import socket
import time

from faultlib import (PREFIX, RATES, Load, Recorder, answers_for, case_present, check, fill,
                      fmt_status, rerender_nginx, steps_of, submit_until_acked, summarise)
import harness

NAME = "rolling"
ROUNDS = 3  # each round restarts both instances


def _traffic(stack):
    def action(rec, stop, i):
        # A complete submission (POST start, PUT each step, POST submit
        # with a key), then a few reads. Nothing is retried here: every
        # request must succeed the first time.
        c = fill(stack, rec, "consult" if i % 2 else "complaint", retry=False)
        if c is None:
            return
        form = "consult" if i % 2 else "complaint"
        st = steps_of(stack, form)[0]
        c.call("PUT", "/api/intake/%s/steps/%s" % (form, st["id"]),
               {"answers": answers_for(st)}, kind="step-again")
        c.call("GET", "/api/intake/" + form, kind="draft")
        submit_until_acked(c, rec, form, stop=stop, deadline_s=0.01)
        rec.request("GET", "/api/health", kind="health")
        rec.request("GET", "/api/forms/" + form, kind="form")
    return action


def _start_instance(stack, name, ini_path, sock):
    stack._spawn(name, [harness.FCGI_BIN, "-c", ini_path])
    p = stack.procs[name]

    def ready():
        if not p.alive():
            raise AssertionError("%s exited while starting:\n%s" % (name, stack._tail(name)))
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1)
                s.connect(sock)
            return True
        except OSError:
            return False

    stack.wait_for(ready, 20, "%s to listen" % name)
    return p


def _stop_instance(stack, name):
    rc, took = stack.procs[name].terminate()
    check(rc == 0, "%s exit code %s after SIGTERM (%.1fs)\n%s", name, rc, took, stack._tail(name))
    return took


def run(out):
    stack = harness.Stack(name="fault-rolling", rates=RATES)
    try:
        sock_b = os.path.join(stack.dir, "run", "fcgi2.sock")
        ini_b = os.path.join(stack.dir, "zhuqi-b.ini")
        ini = {k: dict(v) for k, v in stack.ini.items()}
        ini["server"]["listen"] = "unix:" + sock_b
        harness.write_ini(ini_b, ini)
        socks = {"fcgi": ("unix:" + stack.fcgi_sock, stack.ini_path, stack.fcgi_sock),
                 "fcgi2": ("unix:" + sock_b, ini_b, sock_b)}
        _start_instance(stack, "fcgi2", ini_b, sock_b)
        rerender_nginx(stack, ZQ_FCGI_ADDR="%s %s" % (socks["fcgi"][0], socks["fcgi2"][0]))
        upstream = open(os.path.join(stack.dir, "nginx", "zhuqi.conf")).read()
        check(upstream.count("server unix:") == 2, "nginx upstream does not list both instances")

        rec = Recorder(stack)
        load = Load(rec, _traffic(stack), threads=6, pause=0.02).start()
        restarts = 0
        stop_times = []
        try:
            time.sleep(1.0)
            for _ in range(ROUNDS):
                for name in ("fcgi", "fcgi2"):
                    stop_times.append(_stop_instance(stack, name))
                    time.sleep(0.4)  # traffic through the other instance only
                    _start_instance(stack, name, socks[name][1], socks[name][2])
                    restarts += 1
                    time.sleep(0.4)
            time.sleep(0.5)
        finally:
            load.stop()
        recs = rec.snapshot()
        s = summarise(recs)
        acked = rec.notes_of("acked")
        out("injected: %d rolling restarts (SIGTERM, wait for exit 0, start again) of 2 "
            "zhuqi-fcgi instances behind one upstream; SIGTERM to exit %.2f-%.2f s"
            % (restarts, min(stop_times), max(stop_times)))
        out("counted: %d requests (%s), %d errors seen by clients; %d cases acknowledged"
            % (s["requests"], fmt_status(s["by_status"]), len(s["errors"]), len(acked)))
        check(s["requests"] >= 200, "too little traffic to prove anything: %d", s["requests"])
        check(not s["errors"], "clients saw %d error(s): %s", len(s["errors"]), s["errors"][:5])
        check(len(acked) >= 10, "too few submissions: %d", len(acked))
        missing = [c for c in acked if not case_present(stack, c)]
        check(not missing, "acknowledged cases missing: %s", missing[:5])
        check(len(set(acked)) == len(acked), "a case was acknowledged twice")
        stored = stack.redis_command("ZCARD", PREFIX + "cases:all")
        check(stored == len(acked), "%d cases stored for %d submissions", stored, len(acked))
        errlog = open(os.path.join(stack.dir, "log", "nginx-error.log"),
                      encoding="utf-8", errors="replace").read()
        closed = errlog.count("upstream prematurely closed connection")
        refused = len(re.findall(r"connect\(\) to unix:\S+ failed", errlog))
        served = {}
        for name in ("fcgi", "fcgi2"):
            served[name] = sum(p.log().count("event=request ") for p in
                               [stack.procs[name]] + [r for r in stack.retired if r.name == name])
        out("counted: nginx passed on %d request(s) that met a closing connection and %d "
            "refused connect(s); served by A/B: %d/%d" % (closed, refused, served["fcgi"],
                                                           served["fcgi2"]))
        check(min(served.values()) > s["requests"] // 10, "one instance served almost nothing")
        _stop_instance(stack, "fcgi2")
    finally:
        stack.close()

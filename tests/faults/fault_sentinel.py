"""Redis primary killed with kill -9 while a replica and three Sentinels run
on loopback (quorum 2, down-after 1000 ms, failover-timeout 5000 ms).
Traffic: complaint and consultation submissions (each retried with its
Idempotency-Key until acknowledged) and /api/health. After the promotion
zhuqi-fcgi and zhuqi-bot carry on against the new primary without a
restart; during the fail-over the API answers 503 with Retry-After and
nothing else; no acknowledged case is missing on the new primary (case
writes wait for the replica with WAIT: [redis] wait_replicas)."""

import os
import re
import signal
import time
import uuid

from bot_util import add_target, all_final, notice, wait_report
from faultlib import (PREFIX, RATES, Load, Recorder, case_present, check, fill, fmt_status,
                      outage, submit_until_acked, summarise)
import harness

NAME = "sentinel"


def _traffic(stack):
    def action(rec, stop, i):
        if i == 0:
            rec.request("GET", "/api/health", kind="health")
            stop.wait(0.05)
            return
        form = "complaint" if i % 2 else "consult"
        c = fill(stack, rec, form, stop=stop)
        if c is not None:
            submit_until_acked(c, rec, form, stop=stop)
    return action


def _frozen_replica(stack, out):
    """A submission while the replica acknowledges nothing: 503 (the case
    is on the primary only); the retry with the same key, once the
    replica is back, returns that same case and it is on the replica."""
    rec = Recorder(stack)
    c = fill(stack, rec, "consult")
    check(c is not None, "could not prepare a draft")
    key = uuid.uuid4().hex
    path = "/api/intake/consult/submit"
    replica = stack.procs["redis-replica"]
    os.kill(replica.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        r = c.call("POST", path, headers={"Idempotency-Key": key})
        took = time.monotonic() - t0
    finally:
        os.kill(replica.pid, signal.SIGCONT)
    check(r is not None and r.status == 503 and r.header("Retry-After"),
          "submission with the replica frozen answered %r, want 503 with Retry-After", r)
    cid = stack.redis_command("GET", "%sidem:consult:%s" % (PREFIX, key))
    check(cid is not None, "the refused case is not on the primary either")
    r2 = c.call("POST", path, headers={"Idempotency-Key": key})
    check(r2 is not None and r2.status == 200 and r2.json()["case"]["id"] == cid,
          "the retry answered %r, want 200 with case %s", r2, cid)
    check(case_present(stack, cid, stack.replica_port), "case %s not on the replica", cid)
    out("injected: the replica frozen (SIGSTOP) during one submission, then thawed")
    out("counted: that submission answered 503 after %.2f s (WAIT timeout 500 ms) with case %s "
        "on the primary only; the retry with its key: 200, same case, on the replica"
        % (took, cid))


def _wait_calls(stack, port):
    info = stack.redis_command_at(port, "INFO", "commandstats")
    m = re.search(r"^cmdstat_wait:calls=(\d+)", info, re.M)
    return int(m.group(1)) if m else 0


def run(out):
    stack = harness.Stack(name="fault-sentinel", sentinel=True, bot=True, fake=True, rates=RATES,
                          ini={"bot": {"retry_base_ms": 300, "retry_max_ms": 1500}})
    try:
        old_port, new_port = stack.redis_port, stack.replica_port
        check(stack.master_port() == old_port, "the Sentinels do not name the first master")
        fcgi_pid, bot_pid = stack.procs["fcgi"].pid, stack.procs["bot"].pid
        fcgi_log0, bot_log0 = len(stack.fcgi_log()), len(stack.bot_log())
        _frozen_replica(stack, out)

        rec = Recorder(stack)
        load = Load(rec, _traffic(stack), threads=5, pause=0.01).start()
        try:
            stack.wait_for(lambda: len(rec.notes_of("acked")) >= 20, 30, "20 cases before the kill")
            acked_before = list(rec.notes_of("acked"))
            waits = _wait_calls(stack, old_port)
            t_kill = time.monotonic()
            stack.kill9("redis")
            stack.wait_for(lambda: stack.master_port() == new_port, 30,
                           "the Sentinels to promote the replica", interval=0.1)
            t_promoted = time.monotonic()
            n0 = len(rec.notes_of("acked"))
            stack.wait_for(lambda: len(rec.notes_of("acked")) >= n0 + 20, 30,
                           "20 more cases on the new primary")
            time.sleep(0.5)
        finally:
            load.stop()

        recs = rec.snapshot()
        s = summarise(recs)
        acked = rec.notes_of("acked")
        during = [r for r in recs if r.t1 >= t_kill]
        o = outage(recs, t_kill)
        check(o is not None, "no request failed: the kill did not hit the traffic")
        first_fail, first_ok, last_fail = o
        check(first_ok is not None, "requests never succeeded again")
        out("injected: kill -9 of the Redis primary (127.0.0.1:%d) after %d acknowledged cases; "
            "Sentinels promoted 127.0.0.1:%d %.2f s after the kill"
            % (old_port, len(acked_before), new_port, t_promoted - t_kill))
        out("counted: %d requests (%s); %d after the kill"
            % (s["requests"], fmt_status(s["by_status"]), len(during)))
        out("counted: requests failed for %.2f s (first failure %.2f s after the kill, first "
            "success after it %.2f s, last failure %.2f s)"
            % (first_ok - first_fail, first_fail - t_kill, first_ok - t_kill, last_fail - t_kill))
        out("counted: WAIT calls on the old primary before the kill: %d (for %d cases)"
            % (waits, len(acked_before)))

        bad = [r for r in s["errors"] if r.status != 503 or not r.retry_after]
        out("counted: errors seen by clients: %d, of which not 503 with Retry-After: %d"
            % (len(s["errors"]), len(bad)))
        check(not bad, "errors other than 503 with Retry-After: %s", bad[:5])
        check(waits >= len(acked_before), "case writes did not WAIT for the replica: %d WAIT "
              "calls for %d cases", waits, len(acked_before))
        unacked = rec.notes_of("unacked")
        check(not unacked, "%d submission(s) never acknowledged", len(unacked))
        missing = [c for c in acked if not case_present(stack, c, new_port)]
        out("counted: %d cases acknowledged (%d before the kill), %d missing on the new primary"
            % (len(acked), len(acked_before), len(missing)))
        check(not missing, "acknowledged cases missing on the new primary: %s", missing[:5])
        check(len(set(acked)) == len(acked), "a case id was acknowledged twice")

        # Both programs carried on, same processes, against the new primary.
        check(stack.procs["fcgi"].pid == fcgi_pid and stack.procs["fcgi"].alive(),
              "zhuqi-fcgi was restarted or died")
        check(stack.procs["bot"].pid == bot_pid and stack.procs["bot"].alive(),
              "zhuqi-bot was restarted or died")
        peer = "peer=127.0.0.1:%d" % new_port
        check(peer in stack.fcgi_log()[fcgi_log0:], "zhuqi-fcgi never connected to the new "
              "primary")
        add_target(stack, id="fo-gen", channel="generic",
                   address=stack.fake.generic_url("fo-gen"), tags=["fo"])
        nid = notice(stack, "主从切换后的通知", "正文", {"tags": ["fo"]})
        rep = wait_report(stack, nid, all_final(1), timeout=30)
        check(rep["totals"]["sent"] == 1, "the bot did not deliver after the fail-over: %s",
              rep["totals"])
        got = stack.fake.messages(platform="generic", target="fo-gen", accepted=True)
        check(len(got) == 1, "the platform got %d messages, want 1", len(got))
        check(peer in stack.bot_log()[bot_log0:], "zhuqi-bot never connected to the new primary")
        out("counted: zhuqi-fcgi (pid %d) and zhuqi-bot (pid %d) not restarted; a notice made "
            "after the fail-over was delivered once" % (fcgi_pid, bot_pid))
    finally:
        stack.close()

"""nginx reloaded (`nginx -s reload`) several times while traffic runs: the
old workers finish what they hold (slow requests included) and the new
ones take over. No client may see an error.

The clients open a fresh connection per request, as the harness does: an
idle keep-alive connection that an old worker closes is the HTTP
keep-alive race every client must handle anyway (browsers retry it)."""

import time

from faultlib import (PREFIX, RATES, Load, Recorder, answers_for, case_present, check, fill,
                      fmt_status, nginx_cmd, nginx_worker_pids, steps_of, submit_until_acked,
                      summarise)
import harness

NAME = "reload"
RELOADS = 8


def _traffic(stack):
    def action(rec, stop, i):
        if i == 0:
            # Requests that are in flight while the workers change.
            rec.request("GET", "/api/_debug/sleep?ms=700", kind="slow")
            return
        form = "consult" if i % 2 else "complaint"
        c = fill(stack, rec, form, retry=False)
        if c is None:
            return
        st = steps_of(stack, form)[0]
        c.call("PUT", "/api/intake/%s/steps/%s" % (form, st["id"]),
               {"answers": answers_for(st)}, kind="step-again")
        submit_until_acked(c, rec, form, stop=stop, deadline_s=0.01)
        rec.request("GET", "/api/health", kind="health")
        rec.request("GET", "/", kind="static")
    return action


def run(out):
    stack = harness.Stack(name="fault-reload", rates=RATES)
    try:
        rec = Recorder(stack)
        generations = [nginx_worker_pids(stack)]
        reloads = []
        load = Load(rec, _traffic(stack), threads=5, pause=0.02).start()
        try:
            time.sleep(1.0)
            for _ in range(RELOADS):
                reloads.append(time.monotonic())
                r = nginx_cmd(stack, "-s", "reload")
                check(r.returncode == 0, "nginx -s reload: %s",
                      r.stdout.decode("utf-8", "replace"))
                time.sleep(0.5)
                generations.append(nginx_worker_pids(stack))
            time.sleep(1.0)
        finally:
            load.stop()
        recs = rec.snapshot()
        s = summarise(recs)
        acked = rec.notes_of("acked")
        # Slow requests that were in flight while a reload was signalled.
        slow = [r for r in recs if r.kind == "slow" and any(r.t0 < t < r.t1 for t in reloads)]
        distinct = len({tuple(g) for g in generations})
        out("injected: %d x nginx -s reload, 0.5 s apart, under load; worker pid sets seen: %d"
            % (RELOADS, distinct))
        out("counted: %d requests (%s), %d errors seen by clients; %d slow requests spanning "
            "reloads; %d cases acknowledged"
            % (s["requests"], fmt_status(s["by_status"]), len(s["errors"]), len(slow),
               len(acked)))
        check(stack.procs["nginx"].alive(), "nginx master died")
        check(distinct >= RELOADS // 2, "workers were not replaced: %s", generations)
        check(s["requests"] >= 200, "too little traffic: %d", s["requests"])
        check(len(slow) >= RELOADS // 2, "too few slow requests across reloads: %d", len(slow))
        check(not s["errors"], "clients saw %d error(s): %s", len(s["errors"]), s["errors"][:5])
        missing = [c for c in acked if not case_present(stack, c)]
        check(not missing, "acknowledged cases missing: %s", missing[:5])
        stored = stack.redis_command("ZCARD", PREFIX + "cases:all")
        check(stored == len(acked), "%d cases stored for %d submissions", stored, len(acked))
    finally:
        stack.close()

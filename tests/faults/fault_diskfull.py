"""Disk full for Redis' AOF: Redis keeps its data in a small tmpfs (mounted
in the stack's temp dir; skipped when mounting is not permitted), which
is filled up while submissions run. Submissions must answer 503, never a
2xx for a case that is not stored, and never 500; once space is freed
the service recovers without restarting zhuqi-fcgi, and every case
answered 2xx is readable, also after Redis reloads its AOF.

Two phases, because Redis behaves differently:
  everysec  the write that fails is kept in memory and retried; Redis
            stays up and refuses writes with MISCONF until the AOF can be
            written again, then recovers by itself.
  always    Redis cannot keep its fsync promise and exits at the first
            failed write (before answering it). The test frees the space
            and starts Redis again, as its supervisor would.
"""

import errno
import os
import queue
import subprocess
import time

from faultlib import (PREFIX, RATES, Load, Recorder, Skip, case_present, check, fill,
                      fmt_status, submit_until_acked, summarise)
import harness

NAME = "diskfull"
TMPFS_SIZE = "4m"


def _fill(path):
    """Writes path until the filesystem is full; returns the bytes written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    n = 0
    try:
        for chunk in (1 << 16, 4096, 512, 1):
            buf = b"\0" * chunk
            while True:
                try:
                    n += os.write(fd, buf)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return n


def _redis_argv(stack, data_dir, fsync):
    return stack._redis_argv(stack.redis_port, data_dir) + [
        "--appendfsync", fsync, "--auto-aof-rewrite-percentage", "0"]


def _start_redis(stack, data_dir, fsync):
    stack._spawn("redis", _redis_argv(stack, data_dir, fsync), expect_exit=None,
                 env=os.environ.copy())
    stack._wait_ready("redis", stack.redis_ping)


def _drafts(stack, rec, n):
    """n drafts with every step saved, ready to submit."""
    q = queue.Queue()
    for i in range(n):
        form = "consult" if i % 2 else "complaint"
        c = fill(stack, rec, form)
        check(c is not None, "could not prepare a draft")
        q.put((form, c))
    return q


def _traffic(stack, drafts):
    def action(rec, stop, i):
        if i == 0:
            # Fresh drafts meanwhile: starting and saving steps are writes too.
            c = fill(stack, rec, "consult", stop=stop)
            rec.request("GET", "/api/health", kind="health")
            if c is None:
                return
            stop.wait(0.1)
            return
        try:
            form, c = drafts.get_nowait()
        except queue.Empty:
            stop.wait(0.05)
            return
        # Retry with the same key until stored; not stopped by stop_ev:
        # every submission ends acknowledged once the disk has room.
        submit_until_acked(c, rec, form, deadline_s=60)
    return action


def _phase(stack, out, fsync, aof_dir, filler):
    rec = Recorder(stack)
    log0 = len(stack.fcgi_log())
    drafts = _drafts(stack, rec, 24)
    before = len(rec.snapshot())
    load = Load(rec, _traffic(stack, drafts), threads=3, pause=0.05).start()
    exited = False
    try:
        stack.wait_for(lambda: len(rec.notes_of("acked")) >= 4, 30, "submissions before the fill")
        acked_before = len(rec.notes_of("acked"))
        filled = _fill(filler)
        t_full = time.monotonic()

        def refused():
            return sum(1 for r in rec.snapshot() if r.kind == "submit" and r.status == 503
                       and r.t0 >= t_full)

        stack.wait_for(lambda: refused() >= 10, 30, "submissions refused with 503")
        time.sleep(1.0)
        if fsync == "always":
            stack.wait_for(lambda: not stack.procs["redis"].alive(), 10, "Redis to exit")
            exited = True
        else:
            check(stack.procs["redis"].alive(), "Redis died with appendfsync everysec")
            info = stack.redis_command("INFO", "persistence")
            check("aof_last_write_status:err" in info, "Redis did not notice the full disk")
        acked_full = len(rec.notes_of("acked"))
        refused_n = refused()
        os.unlink(filler)
        t_free = time.monotonic()
        if exited:
            _start_redis(stack, aof_dir, fsync)
        stack.wait_for(lambda: drafts.empty() and len(rec.notes_of("acked")) == 24, 60,
                       "every submission acknowledged after the space was freed")
        t_back = min((r.t1 for r in rec.snapshot() if r.kind == "submit" and r.ok
                      and r.t0 >= t_free), default=None)
    finally:
        load.stop()
    recs = rec.snapshot()[before:]
    s = summarise(recs)
    acked = rec.notes_of("acked")
    out("[%s] injected: filled the %s tmpfs (%d bytes) under Redis' AOF after %d cases; "
        "freed it after %.1f s%s"
        % (fsync, TMPFS_SIZE, filled, acked_before, t_free - t_full,
           "; Redis had exited, started again" if exited else "; Redis stayed up (MISCONF)"))
    out("[%s] counted: %d requests (%s); submissions refused with 503 while full: %d; "
        "acknowledged while full: %d; first acknowledged %.2f s after the space was freed"
        % (fsync, s["requests"], fmt_status(s["by_status"]), refused_n, acked_full - acked_before,
           (t_back - t_free) if t_back else -1))
    misconf = stack.fcgi_log()[log0:].count("redis refuses writes: MISCONF")
    out("[%s] counted: case writes refused by Redis with MISCONF, answered 503: %d"
        % (fsync, misconf))
    if fsync == "everysec":
        check(misconf >= 1, "no submission met MISCONF")
    bad = [r for r in s["errors"] if r.status != 503 or not r.retry_after]
    out("[%s] counted: errors seen by clients: %d, of which not 503 with Retry-After: %d"
        % (fsync, len(s["errors"]), len(bad)))
    check(not bad, "answers other than 503 with Retry-After: %s", bad[:5])
    check(refused_n >= 10, "only %d submissions refused", refused_n)
    missing = [c for c in acked if not case_present(stack, c)]
    check(not missing, "acknowledged cases not in Redis: %s", missing[:5])
    return acked


def run(out):
    stack = harness.Stack(name="fault-diskfull", redis=False, rates=RATES)
    aof = os.path.join(stack.dir, "aof")
    mounted = False
    try:
        os.makedirs(aof)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % TMPFS_SIZE,
                            "tmpfs", aof], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if m.returncode != 0:
            raise Skip("mount -t tmpfs is not permitted here: %s"
                       % m.stdout.decode("utf-8", "replace").strip())
        mounted = True
        filler = os.path.join(aof, "filler")
        fcgi_pid = stack.procs["fcgi"].pid
        _start_redis(stack, aof, "everysec")
        stack.wait_for(lambda: stack.get("/api/health").status == 200, 20, "health 200")

        acked = _phase(stack, out, "everysec", aof, filler)
        # Everything acknowledged is on disk too: Redis reloads it.
        stack.stop_redis()
        _start_redis(stack, aof, "always")
        missing = [c for c in acked if not case_present(stack, c)]
        out("[everysec] counted: %d cases acknowledged, %d missing after Redis reloaded its AOF"
            % (len(acked), len(missing)))
        check(not missing, "cases lost across the AOF reload: %s", missing[:5])

        acked2 = _phase(stack, out, "always", aof, filler)
        stack.stop_redis()
        _start_redis(stack, aof, "always")
        everything = acked + acked2
        missing = [c for c in everything if not case_present(stack, c)]
        stored = stack.redis_command("ZCARD", PREFIX + "cases:all")
        out("counted: %d cases acknowledged in both phases, %d stored, %d missing after the "
            "last AOF reload; zhuqi-fcgi pid %d throughout"
            % (len(everything), stored, len(missing), fcgi_pid))
        check(not missing, "cases lost: %s", missing[:5])
        check(stored == len(everything), "%d cases stored for %d acknowledged", stored,
              len(everything))
        check(stack.procs["fcgi"].pid == fcgi_pid and stack.procs["fcgi"].alive(),
              "zhuqi-fcgi was restarted")
        stack.wait_for(lambda: stack.get("/api/health").status == 200, 10,
                       "health 200 after the last Redis restart")
    finally:
        if mounted:
            p = stack.procs.get("redis")
            if p is not None and p.alive():
                p.kill()
            subprocess.run(["umount", aof], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack.close()

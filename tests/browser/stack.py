#!/usr/bin/env python3
"""A private zhuqi stack for the browser tests: tests/e2e/harness.py's Stack
(Redis, zhuqi-fcgi, the real nginx site serving nginx/html) on free loopback
ports.

    python3 tests/browser/stack.py

prints the base URL (http://127.0.0.1:PORT) as its first line, then reads
commands, one a line, on stdin and answers each with one JSON line on
stdout:

    stop fcgi | start fcgi       stop (SIGTERM) or start zhuqi-fcgi
    stop redis | start redis     the same for Redis
    redis ["ZADD","k","1","m"]   one Redis command (key prefix: stack prefix)
    prefix                       the Redis key prefix of this stack
    staff_token                  the admin staff token of this stack
    config {"sms":{...},…}       merge sections into the ini and restart
                                 zhuqi-fcgi with it (a test that needs
                                 another setting puts the old one back)
    ping                         {"ok": true}

It tears everything down on stdin EOF, SIGTERM or SIGINT, and exits 1 when
the teardown found a problem (a program that did not exit 0, or a sanitizer
report), with the details on stderr. Environment: ZQ_BIN_DIR (default
build/asan) and the rest of harness.py's.
"""

import json
import os
import signal
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

import harness  # noqa: E402


class Stop(Exception):
    pass


def on_signal(signum, frame):
    raise Stop()


def answer(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def run_command(stack, line):
    words = line.split(None, 1)
    cmd = words[0]
    arg = words[1] if len(words) > 1 else ""
    if cmd == "ping":
        return {"ok": True}
    if cmd == "prefix":
        return {"ok": True, "result": stack.ini["redis"]["prefix"]}
    if cmd == "staff_token":  # the admin bearer token (the staff console test)
        return {"ok": True, "result": stack.staff_token}
    if cmd in ("stop", "start") and arg in ("fcgi", "redis"):
        if cmd == "stop":
            if arg == "redis":
                stack.stop_redis()
                return {"ok": True}
            rc, took = stack.stop(arg)
            return {"ok": rc == 0, "rc": rc, "seconds": round(took, 2)}
        if arg == "fcgi":
            stack.start_fcgi()
        else:
            stack.start_redis()
        return {"ok": True}
    if cmd == "config":
        over = json.loads(arg)
        if not isinstance(over, dict):
            return {"ok": False, "error": "config wants a JSON object"}
        for sec, kv in over.items():
            stack.ini.setdefault(sec, {}).update(kv)
        # SMS on: the provider's account and templates on the fake.
        if over.get("sms", {}).get("provider", "none") != "none":
            stack._sms_through_fake(over)
        harness.write_ini(stack.ini_path, stack.ini)
        rc, took = stack.stop("fcgi")
        stack.start_fcgi()
        return {"ok": rc == 0, "rc": rc}
    if cmd == "redis":
        args = json.loads(arg)
        if not isinstance(args, list) or not args:
            return {"ok": False, "error": "redis wants a JSON array"}
        return {"ok": True, "result": stack.redis_command(*[str(a) for a in args])}
    return {"ok": False, "error": "unknown command %r" % line}


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    stack = None
    problems = []
    try:
        # The fake platform takes the SMS of the tests that turn SMS on
        # ("config"); off by default, as in a fresh installation.
        # [site]: what the footers and "cannot connect" states show.
        stack = harness.Stack(name="browser", fake=True, ini={
            "sms": {"provider": "none"},
            "site": {"organizer": "四川省经济和信息化厅（测试）", "hotline": "028-12345678",
                     "hotline_hours": "工作日 9:00-17:00", "icp": "蜀ICP备00000000号-1",
                     "police": "川公网安备51010000000000号"}})
        answer_line = "http://%s:%d" % (harness.HOST, stack.port)
        sys.stdout.write(answer_line + "\n")
        sys.stdout.flush()
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                answer(run_command(stack, line))
            except Stop:
                raise
            except Exception as e:  # report and keep serving
                answer({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
    except Stop:
        pass
    except Exception:
        traceback.print_exc()
        problems.append("stack failed")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if stack is not None:
            problems.extend(stack.close(raise_on_problems=False))
    if problems:
        sys.stderr.write("stack.py: teardown problems: %s\n" % "; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

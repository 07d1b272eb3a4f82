"""Helpers for the zhuqi-bot end-to-end tests (test_bot_*.py): the staff
API calls they make, waiting for a notice's report, and storing many
targets straight into Redis."""

import base64
import hashlib
import hmac
import json
import socket
import time
import urllib.parse

DT_SECRET = "SECe2e0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
FS_SECRET = "feishu-e2e-秘钥"
GEN_SECRET = "generic-e2e-secret"


def admin(stack, token=None):
    return {"Authorization": "Bearer " + (token or stack.staff_token),
            "Content-Type": "application/json"}


def post(stack, path, obj, token=None, headers=None):
    h = admin(stack, token)
    h.update(headers or {})
    return stack.request("POST", path, json.dumps(obj, ensure_ascii=False), h)


def get(stack, path, token=None):
    return stack.request("GET", path, headers=admin(stack, token))


def add_target(stack, **t):
    r = post(stack, "/api/admin/targets", t)
    if r.status not in (200, 201):
        raise AssertionError("POST /api/admin/targets %r: %r" % (t, r))
    return r.json()["target"]


def notice(stack, title, body, audience, **extra):
    obj = dict(extra, title=title, body=body, audience=audience)
    r = post(stack, "/api/admin/notices", obj)
    if r.status != 202:
        raise AssertionError("POST /api/admin/notices: %r" % (r,))
    return r.json()["notice"]["id"]


def report(stack, nid, limit=1000):
    r = get(stack, "/api/admin/notices/%s?limit=%d" % (nid, limit))
    if r.status != 200:
        raise AssertionError("GET notice %s: %r" % (nid, r))
    return r.json()["notice"]


def wait_report(stack, nid, done, timeout=30.0, what=None):
    """Polls the report until done(report) is true; returns it."""
    last = {}

    def check():
        last["r"] = report(stack, nid)
        return done(last["r"])

    try:
        stack.wait_for(check, timeout, what or "notice %s" % nid, interval=0.1)
    except AssertionError as e:
        raise AssertionError("%s; last report: %s\nbot log tail:\n%s"
                             % (e, json.dumps(last.get("r"), ensure_ascii=False)[:3000],
                                stack._tail("bot", 40)))
    return last["r"]


def all_final(total):
    return lambda r: (r["totals"]["total"] == total
                      and r["totals"]["sent"] + r["totals"]["failed"] == total)


def resp_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def redis_pipeline(stack, commands, batch=2000):
    with socket.create_connection(("127.0.0.1", stack.redis_port), timeout=30) as s:
        f = s.makefile("rb")
        for i in range(0, len(commands), batch):
            chunk = commands[i:i + batch]
            s.sendall(b"".join(resp_command(*c) for c in chunk))
            for _ in chunk:
                line = f.readline()
                if line.startswith(b"-"):
                    raise AssertionError("redis: %r" % line)
                if line.startswith(b"$"):
                    n = int(line[1:])
                    if n >= 0:
                        f.read(n + 2)


def store_generic_targets(stack, names, tag):
    """Stores generic targets pointing at the fake, tagged tag, like the
    staff API would (same hash layout), but in one pipelined round trip."""
    p = stack.ini["redis"]["prefix"]
    now = str(int(time.time() * 1000))
    cmds = []
    for n in names:
        cmds.append(["HSET", p + "target:" + n, "id", n, "channel", "generic", "address",
                     stack.fake.generic_url(n), "secret", "", "chat_id", "", "name", "",
                     "tags", tag, "source", "test", "created_ms", now, "updated_ms", now])
        cmds.append(["SADD", p + "targets", n])
        cmds.append(["SADD", p + "targets:tag:" + tag, n])
    redis_pipeline(stack, cmds)


def dingtalk_sign(secret, ts_ms):
    mac = hmac.new(secret.encode(), ("%d\n%s" % (ts_ms, secret)).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def feishu_sign(secret, ts_s):
    mac = hmac.new(("%d\n%s" % (ts_s, secret)).encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def query_of(path):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)

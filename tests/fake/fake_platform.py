#!/usr/bin/env python3
"""A fake messaging platform for the local stack and the e2e tests: it
receives what zhuqi-bot sends, keeps it in memory and shows it.

  fake_platform.py [--host 127.0.0.1] [--port 8090] [--log FILE]

  POST /<platform>/<target>   a platform's delivery endpoint (see PLATFORMS)
  GET  /                      the messages received, newest first (HTML)
  GET  /_messages             the same as JSON; ?platform=&target=&since=ID
  POST /_reset                forget every message

Each platform is a class with a name and a handle() method; add one to
PLATFORMS to fake another API (WeCom, DingTalk, Feishu, Telegram...).
Python 3 standard library only. Listens on loopback only.
"""

import argparse
import datetime
import html
import json
import signal
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 4 * 1024 * 1024
MAX_KEPT = 1000


class Store:
    """The messages received, oldest first; safe across handler threads."""

    def __init__(self):
        self._lock = threading.Lock()  # protects _items and _next_id
        self._items = []
        self._next_id = 1

    def add(self, record):
        with self._lock:
            record["id"] = self._next_id
            self._next_id += 1
            self._items.append(record)
            del self._items[:-MAX_KEPT]
            return record["id"]

    def list(self, platform=None, target=None, since=0):
        with self._lock:
            items = list(self._items)
        return [
            m
            for m in items
            if (platform is None or m["platform"] == platform)
            and (target is None or m["target"] == target)
            and m["id"] > since
        ]

    def reset(self):
        with self._lock:
            self._items = []


class Reply:
    """What a platform answers: status, JSON body, extra headers."""

    def __init__(self, status=200, body=None, headers=None):
        self.status = status
        self.body = {"ok": True} if body is None else body
        self.headers = headers or {}


class Platform:
    """Base of a fake platform. Subclasses set name and override handle();
    the request arrives parsed: target (the path after /<name>/), query,
    headers (a dict, lower-case names), raw body and, when it is JSON, the
    decoded body (else None)."""

    name = ""

    def handle(self, req):
        raise NotImplementedError

    def record(self, req, **extra):
        """What gets stored for the message page and /_messages."""
        rec = {
            "platform": self.name,
            "target": req["target"],
            "time": req["time"],
            "method": req["method"],
            "path": req["path"],
            "headers": req["headers"],
            "json": req["json"],
        }
        if req["json"] is None:
            rec["body"] = req["raw"].decode("utf-8", "replace")
        rec.update(extra)
        return rec


class Generic(Platform):
    """zhuqi's own generic webhook: JSON in, {"ok":true} out."""

    name = "generic"

    def handle(self, req):
        if req["json"] is None:
            return self.record(req, error="body is not JSON"), Reply(
                400, {"ok": False, "error": "body is not JSON"}
            )
        return self.record(req), Reply(200, {"ok": True})


PLATFORMS = {p.name: p for p in (Generic(),)}


def now_iso():
    return datetime.datetime.now().astimezone().isoformat(timespec="milliseconds")


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-platform/1"
    protocol_version = "HTTP/1.1"

    # --- plumbing -----------------------------------------------------

    def log_message(self, fmt, *args):
        self.server.log("%s %s" % (self.address_string(), fmt % args))

    def _send(self, status, body, ctype, headers=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status, obj, headers=None):
        body = json.dumps(obj, ensure_ascii=False, indent=None)
        self._send(status, body, "application/json; charset=utf-8", headers)

    def _read_body(self):
        n = self.headers.get("Content-Length")
        if n is None:
            return b""
        try:
            n = int(n)
        except ValueError:
            return None
        if n < 0 or n > MAX_BODY:
            return None
        return self.rfile.read(n)

    # --- routes -------------------------------------------------------

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/":
            return self._send(200, render_page(self.server.store.list()), "text/html; charset=utf-8")
        if url.path == "/_messages":
            q = urllib.parse.parse_qs(url.query)
            try:
                since = int(q.get("since", ["0"])[0])
            except ValueError:
                return self._json(400, {"ok": False, "error": "since must be a number"})
            msgs = self.server.store.list(
                q.get("platform", [None])[0], q.get("target", [None])[0], since
            )
            return self._json(200, {"messages": msgs})
        if url.path == "/_health":
            return self._json(200, {"ok": True})
        return self._json(404, {"ok": False, "error": "not found"})

    do_HEAD = do_GET

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        body = self._read_body()
        if body is None:
            self.close_connection = True
            return self._json(413, {"ok": False, "error": "bad or too large Content-Length"})
        if url.path == "/_reset":
            self.server.store.reset()
            return self._json(200, {"ok": True})
        parts = url.path.strip("/").split("/", 1)
        platform = PLATFORMS.get(parts[0])
        if platform is None:
            return self._json(404, {"ok": False, "error": "no such platform"})
        try:
            parsed = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            parsed = None
        req = {
            "target": urllib.parse.unquote(parts[1]) if len(parts) > 1 else "",
            "time": now_iso(),
            "method": self.command,
            "path": self.path,
            "query": urllib.parse.parse_qs(url.query),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "raw": body,
            "json": parsed,
        }
        record, reply = platform.handle(req)
        if record is not None:
            mid = self.server.store.add(record)
            self.server.log("received platform=%s target=%s id=%d" % (platform.name, req["target"], mid))
        return self._json(reply.status, reply.body, reply.headers)


PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="3">
<title>模拟消息平台</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
.m {{ border: 1px solid #ccc; border-radius: 6px; padding: .5em; margin: .5em 0; }}
.h {{ color: #555; font-size: .9em; }}
pre {{ white-space: pre-wrap; word-break: break-all; margin: .3em 0 0; }}
</style>
</head>
<body>
<h1>模拟消息平台</h1>
<p>共收到 {count} 条消息（最新的在前，每 3 秒刷新）。</p>
{items}
</body>
</html>
"""


def render_page(msgs):
    items = []
    for m in reversed(msgs):
        content = m["json"] if m.get("json") is not None else m.get("body", "")
        if not isinstance(content, str):
            content = json.dumps(content, ensure_ascii=False, indent=2)
        items.append(
            '<div class="m"><div class="h">#%d · %s · %s / %s%s</div><pre>%s</pre></div>'
            % (
                m["id"],
                html.escape(m["time"]),
                html.escape(m["platform"]),
                html.escape(m["target"]),
                (" · 错误：" + html.escape(m["error"])) if m.get("error") else "",
                html.escape(content),
            )
        )
    return PAGE.format(count=len(msgs), items="\n".join(items) or "<p>暂无消息。</p>")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, log_file=None):
        super().__init__(addr, Handler)
        self.store = Store()
        self._log_lock = threading.Lock()  # one line at a time in the log
        self._log_file = log_file

    def log(self, line):
        text = "%s %s\n" % (now_iso(), line)
        with self._log_lock:
            if self._log_file:
                self._log_file.write(text)
                self._log_file.flush()
            else:
                sys.stderr.write(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description="fake messaging platform for zhuqi")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--log", help="append the log here instead of stderr")
    a = ap.parse_args(argv)
    if not a.host.startswith("127."):
        ap.error("--host must be a loopback address (127.0.0.0/8)")
    log_file = open(a.log, "a", encoding="utf-8") if a.log else None
    srv = Server((a.host, a.port), log_file)

    def stop(signum, frame):
        # shutdown() waits for serve_forever, so run it off this thread.
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.log("listening on http://%s:%d/ platforms=%s"
            % (a.host, srv.server_address[1], ",".join(sorted(PLATFORMS))))
    srv.serve_forever()
    srv.server_close()
    srv.log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A fake of the messaging platforms zhuqi talks to, for the local stack
(`make run`) and the tests. It checks what the real platform checks
(target known, signature and timestamp window, body shape, msgtype, size
in UTF-8 bytes, rate per robot over a sliding window) and answers what the
real platform answers, error codes included (HTTP 200 with an error body
where the platform does that). It records everything it receives.

  fake_platform.py [--host 127.0.0.1] [--port 8090] [--log FILE]
                   [--keep N] [--rate-window S] [--targets FILE] [--open]

Base URLs for zhuqi (zq_channel_config / [channels] *_base_url):
  http://HOST:PORT/wecom  /dingtalk  /feishu  /telegram ; generic targets
  use the full URL http://HOST:PORT/generic/<name>. DingTalk's new-style
  API ([channels] dingtalk_api_base_url) is served under /dingtalk too.

Platform endpoints (all POST, JSON):
  /wecom/cgi-bin/webhook/send?key=K                  WeCom group robot
  /dingtalk/robot/send?access_token=T[&timestamp=&sign=]  DingTalk robot
  /dingtalk/session/<id>                             DingTalk sessionWebhook
  /feishu/open-apis/bot/v2/hook/<T>                  Feishu custom bot
  /feishu/open-apis/auth/v3/tenant_access_token/internal   tenant token
  /feishu/open-apis/im/v1/messages/<message_id>/reply      IM reply (Bearer)
  /feishu/open-apis/im/v1/messages?receive_id_type=chat_id IM send (Bearer)
  /telegram/bot<TOKEN>/sendMessage                   Telegram Bot API
  /generic/<name>                                    zhuqi's generic webhook
 The app message APIs (not in specs/channels.md; modelled on the vendors'
 public documentation):
  GET /wecom/cgi-bin/gettoken?corpid=&corpsecret=    WeCom app access token
  GET /wecom/cgi-bin/media/get?access_token=T&media_id=M   WeCom temporary media
                     (the bytes with Content-Disposition, or errcode 41001
                     no token, 40014 bad, 42001 expired, 40007 bad media_id)
  /telegram/bot<TOKEN>/getFile?file_id=F             Telegram file info (400
                     "Bad Request: invalid file_id" / "file is too big"
                     over 20 MB)
  GET /telegram/file/bot<TOKEN>/<file_path>          Telegram file download
 Files for those two: POST /_media {"platform": telegram|wecom, "id",
 "data_b64", "name"?, "size"? (the size Telegram states; default the
 bytes'), "ctype"?, "delay_ms"? (the download's answer waits that long,
 0-60000: a slow platform)}; DELETE /_media forgets them.
  /wecom/cgi-bin/message/send?access_token=T         WeCom app message
  /dingtalk/v1.0/oauth2/accessToken                  DingTalk app access token
  /dingtalk/v1.0/robot/groupMessages/send            DingTalk app robot, group
  /dingtalk/v1.0/robot/oToMessages/batchSend         DingTalk app robot, users
                                                     (header x-acs-dingtalk-
                                                     access-token)

 The SMS vendors (tests/fake/fake_sms.py): /tencent/ (SendSms, TC3),
 /alibaba/?... (SendSms, ACS3), /smsgw/send (a 政务 SMS gateway).

Control API (JSON):
  POST   /_targets   register targets: an object, a list, or {"targets":[...]}
                     {"platform": wecom|dingtalk|feishu|telegram|generic|
                      dingtalk-session|feishu-app|wecom-app|dingtalk-app
                      (or zhuqi's robot channel names),
                      "key"|"token"|"target"|"app_id": identifier (the
                      apps: Feishu app_id, WeCom corp id, DingTalk appKey),
                      "secret"?, "app_secret"? (the apps' secret),
                      "agent_id"? (wecom-app, required), "robot_code"?
                      (dingtalk-app; default: the appKey), "token_ttl_s"?
                      (the apps; default 7200),
                      "rate_per_min"?, "rate_per_sec"?, "window_s"?,
                      "max_bytes"?, "keywords"?: [..], "chats"?: [..]
                      (telegram chats; for the apps the chats, groups and
                      users their messages may go to; empty: any),
                      "blocked"?: [..] (telegram), "expires_ms"? (session),
                      "throttle_style"?: "11232"|"9499" (feishu),
                      "skew_s"? (generic, default 300)}
                     Registering again replaces the target and its window.
  GET    /_targets   the registered targets;  DELETE /_targets forgets them
  POST   /_faults    {"target": name or "*", "platform"?, "mode":
                      "down" (close without answer) | "lost" (handled as
                      usual, delivered if accepted, then the connection
                      closes without the answer) | "slow" ("ms", then
                      normal) | "throttle" (the platform's throttle answer;
                      "retry_after" for telegram/generic) | "fail" (a
                      permanent error; "code" to choose it) | "garbage"
                      (HTTP 200, not JSON) | "5xx" ("status", default 502),
                      "count"?: N (else until cleared), "after"?: N (let
                      N matching requests through first), "style"?: the
                      platform's variant of the answer (the Feishu throttle
                      code: 11232 | 9499 for the custom bot, 99991400 |
                      230020 for the IM API; a DingTalk error code string)}
                     "fail" on the token endpoints answers the platform's
                     refusal of the credentials (Feishu 10014 or "code"
                     10003; WeCom 40001 or 40013/40091/60020; DingTalk
                     invalidClientIdOrSecret, or "code" 40089); "throttle"
                     there its throttling (Feishu 99991400 in an HTTP 400,
                     WeCom 45009, DingTalk 403 QpsLimitForApi or "style").
  GET    /_faults    active faults;  DELETE /_faults clears them
  GET    /_messages  everything received, oldest first, as JSON;
                     ?platform=&target=&since=ID&accepted=1|0
  GET    /_stats     counts: total, accepted, rejected, by "platform/target" (?totals=1: without by_target)
                     (not limited by --keep: use it to count duplicates)
  POST   /_tokens/expire   every access token handed out so far expires now
                     (the next use gets the platform's "expired" answer)
  POST   /_reset     forget messages, counts, rate windows, faults, tokens
                     (targets stay; ?all=1 forgets them too)
  GET    /_health    {"ok":true}
  GET    /           the accepted messages, newest first (Chinese page,
                     refreshes every 3 s)

Rate limits count accepted messages only, per robot (Telegram: per bot
and chat) over a sliding window (--rate-window, or the target's window_s).

Unknown targets get the platform's own error (WeCom 93000, DingTalk
300005, Feishu 19001 / tenant token 10003, Telegram 401; WeCom gettoken
40013, DingTalk accessToken HTTP 400). Generic targets, DingTalk session
webhooks, Feishu replies and the app messages need no registration (the
app messages are authorised by their access token, checked against the
app that got it: unknown 40014 / InvalidAuthentication / 99991663,
expired 42001 / InvalidAuthentication / 99991677); --open registers
unknown targets on first use (no secret, so signatures are recorded but
not checked).
Records have "platform" wecom, dingtalk, dingtalk-session, feishu,
feishu-app (tenant tokens), feishu-reply, telegram, generic, wecom-app and
dingtalk-app (access tokens), wecom-appmsg, dingtalk-appmsg and
feishu-chat (app messages), "target" (the key / token / session id /
message id / generic name / app id / userid / chat id), "verdict"
("accepted" or the reason), "accepted", "status", "reply", "content" (the
text a reader would see), "warnings" and the request's headers and JSON.

Python 3 standard library only. Listens on loopback only.
"""

import argparse
import asyncio
import base64
import collections
import datetime
import gc
import hashlib
import hmac
import html
import json
import math
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler

MAX_BODY = 4 * 1024 * 1024
DEFAULT_KEEP = 20000
PAGE_SHOWN = 200
HOUR_S = 3600

# platform -> (messages per window, per second) unless the target says.
DEFAULT_RATE = {
    "wecom": (20, 0),
    "dingtalk": (20, 0),
    "dingtalk-session": (0, 0),
    "feishu": (100, 5),
    "feishu-app": (0, 0),
    "feishu-reply": (0, 0),
    "telegram": (20, 0),  # per chat
    "generic": (0, 0),
    # The app message APIs (vendor docs): WeCom 30 a minute to one member;
    # Feishu 5 a second to one chat; DingTalk states none per chat (the
    # custom robots' 20 a minute is used).
    "wecom-app": (0, 0),
    "dingtalk-app": (0, 0),
    "wecom-appmsg": (30, 0),
    "dingtalk-appmsg": (20, 0),
    "feishu-chat": (0, 5),
    "wecom-media": (0, 0),
}

# Size limits in UTF-8 bytes (Telegram: UTF-16 units of visible text).
DEFAULT_MAX = {
    "wecom": 4096,  # markdown.content; text.content is 2048
    "dingtalk": 20000,
    "dingtalk-session": 20000,
    "feishu": 20 * 1024,  # the whole request body
    "feishu-app": 150 * 1024,
    "feishu-reply": 150 * 1024,  # the content string
    "telegram": 4096,
    "generic": 65536,  # "markdown"
    "wecom-app": 2048,
    "dingtalk-app": 20000,
    "wecom-appmsg": 2048,  # markdown.content (text.content too)
    "wecom-media": 20 * 1024 * 1024,
    # groupMessages/send: msgParam, the JSON string as sent, at most 15,000
    # bytes (https://open.dingtalk.com/document/orgapp/the-robot-sends-a-group-message)
    "dingtalk-appmsg": 15000,
    "feishu-chat": 30 * 1024,  # the request body of a card; text: 150 KB
}

KINDS = {
    "wecom": "wecom", "wecom-robot": "wecom",
    "dingtalk": "dingtalk", "dingtalk-robot": "dingtalk",
    "dingtalk-session": "dingtalk-session",
    "feishu": "feishu", "feishu-bot": "feishu", "feishu-app": "feishu-app",
    "feishu-reply": "feishu-reply",
    "telegram": "telegram",
    "generic": "generic",
    "wecom-app": "wecom-app", "dingtalk-app": "dingtalk-app",
    "wecom-appmsg": "wecom-appmsg", "dingtalk-appmsg": "dingtalk-appmsg",
    "feishu-chat": "feishu-chat",
    "wecom-media": "wecom-media",
}

CHINESE = {
    "wecom": "企业微信群机器人",
    "dingtalk": "钉钉群机器人",
    "dingtalk-session": "钉钉会话回复",
    "feishu": "飞书群机器人",
    "feishu-app": "飞书应用令牌",
    "feishu-reply": "飞书消息回复",
    "telegram": "Telegram",
    "generic": "通用 Webhook",
    "wecom-app": "企业微信应用令牌",
    "dingtalk-app": "钉钉应用令牌",
    "wecom-appmsg": "企业微信应用消息",
    "dingtalk-appmsg": "钉钉应用机器人消息",
    "feishu-chat": "飞书应用消息",
}

# Records of access-token requests: not messages, so not on the page.
TOKEN_KINDS = ("feishu-app", "wecom-app", "dingtalk-app")

IDENT_KEYS = ("key", "token", "access_token", "target", "session", "app_id", "id")


# One encoder for the answers and the log (json.dumps with options builds
# a new one on each call); what it encodes is built here, never circular.
to_json = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


# Stands for the answer in a record while the record is encoded for the
# log; the answer's own encoding (made for the client) then replaces it.
# Random, so that nothing a client sends can look like it.
REPLY_MARK = "\x00reply-%s\x00" % secrets.token_hex(16)
REPLY_MARK_JSON = to_json(REPLY_MARK)

_now_second = (None, "", "")  # (second, its local date and time, UTC offset)


def now_iso():
    """Local time with milliseconds and the UTC offset, as
    datetime.now().astimezone().isoformat(timespec="milliseconds") gives
    it; that asks the C library for the zone each time: once a second here."""
    global _now_second
    sec, us = divmod(round(time.time() * 1000000), 1000000)
    if sec != _now_second[0]:
        iso = datetime.datetime.fromtimestamp(sec).astimezone().isoformat()
        _now_second = (sec, iso[:19], iso[19:])
    return "%s.%03d%s" % (_now_second[1], us // 1000, _now_second[2])


def utf8_len(s):
    return len(s.encode("utf-8"))


def utf16_len(s):
    return len(s.encode("utf-16-le")) // 2


class Reply:
    """What the fake answers, and how the message is recorded.

    verdict is "accepted" or a short reason; down closes the connection
    without any answer."""

    def __init__(self, status=200, body=None, headers=None, verdict="accepted",
                 raw=None, ctype="application/json; charset=utf-8", down=False):
        self.status = status
        self.body = body if body is not None else {}
        self.headers = headers or {}
        self.verdict = verdict
        self.raw = raw  # bytes sent as is instead of JSON
        self.ctype = ctype
        self.down = down

    @property
    def accepted(self):
        return self.verdict == "accepted"


GARBAGE = b"<html><body><h1>\xe7\xbd\x91\xe5\x85\xb3\xe7\xbb\xb4\xe6\x8a\xa4\xe4\xb8\xad</h1>gateway says hi</body></html>"


def html_error(status):
    text = "%d %s" % (status, {500: "Internal Server Error", 502: "Bad Gateway",
                               503: "Service Temporarily Unavailable",
                               504: "Gateway Time-out"}.get(status, "Error"))
    return ("<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>"
            "\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n" % (text, text)).encode()


# ---- shared state -----------------------------------------------------------


class State:
    """Targets, rate windows, faults, tokens and the messages received.
    One lock protects all of it (handlers run on the event loop's one
    thread; the lock keeps it safe for any caller off that thread)."""

    def __init__(self, keep=DEFAULT_KEEP, window_s=60.0, open_mode=False, log_file=None):
        self.lock = threading.Lock()
        self.keep = keep
        self.window_s = window_s
        self.open_mode = open_mode
        self.log_file = log_file
        self.log_lock = threading.Lock()  # the log file's lines
        self.targets = {}  # (kind, ident) -> dict
        self.windows = {}  # key -> deque of monotonic times of accepted sends
        self.faults = []
        self.tokens = {}  # access token -> (kind of app, app id, expires at time.time())
        self.seen = {}  # duplicate suppression: key -> (time.time(), the answer's body)
        self.messages = collections.deque(maxlen=keep)
        self.next_id = 1
        self.fault_id = 1
        self.stats = {}  # "platform/target" -> {"accepted": n, "rejected": n}
        self.total = self.accepted = 0

    # -- targets --

    def add_targets(self, items):
        parsed = [parse_target(t) for t in items]  # raises ValueError
        with self.lock:
            for t in parsed:
                key = (t["platform"], t["ident"])
                self.targets[key] = t
                for k in [k for k in self.windows if k[:2] == key]:
                    del self.windows[k]
        return len(parsed)

    def target(self, kind, ident):
        with self.lock:
            t = self.targets.get((kind, ident))
            if t is None and self.open_mode and ident:
                t = parse_target({"platform": kind, "key": ident})
                t["auto"] = True
                self.targets[(kind, ident)] = t
            return t

    def list_targets(self):
        with self.lock:
            return list(self.targets.values())

    def clear_targets(self):
        with self.lock:
            self.targets.clear()
            self.windows.clear()

    # -- rate limits --

    def rate_take(self, key, per_window, per_sec, window_s):
        """Counts one send for key when the limits allow it: at most
        per_window in any window_s seconds and per_sec in any second (0:
        no limit). Returns 0 when taken, else the seconds until a send
        would be allowed."""
        if per_window <= 0 and per_sec <= 0:
            return 0
        now = time.monotonic()
        with self.lock:
            q = self.windows.setdefault(key, collections.deque())
            horizon = max(window_s if per_window > 0 else 0.0, 1.0 if per_sec > 0 else 0.0)
            while q and q[0] <= now - horizon:
                q.popleft()
            for limit, span in ((per_window, window_s), (per_sec, 1.0)):
                if limit <= 0:
                    continue
                inside = [t for t in q if t > now - span]
                if len(inside) >= limit:
                    # Allowed again when the oldest of the last `limit` leaves.
                    return max(inside[len(inside) - limit] + span - now, 0.001)
            q.append(now)
            return 0

    def rate_take_spans(self, key, spans):
        """Counts one send for key when every (limit, seconds) in spans
        has room (limit 0: none); returns True when taken. Sends that do
        not fit take no slot in any span."""
        spans = [(n, w) for n, w in spans if n > 0]
        if not spans:
            return True
        now = time.monotonic()
        with self.lock:
            q = self.windows.setdefault(key, collections.deque())
            horizon = max(w for _, w in spans)
            while q and q[0] <= now - horizon:
                q.popleft()
            for limit, span in spans:
                if sum(1 for t in q if t > now - span) >= limit:
                    return False
            q.append(now)
            return True

    # -- faults --

    def add_fault(self, f):
        with self.lock:
            f["id"] = self.fault_id
            self.fault_id += 1
            self.faults.append(f)
            return dict(f)

    def take_fault(self, kind, ident):
        """The first fault for (kind, ident), counted down; or None. A
        fault for "feishu" also covers "feishu-app" and "feishu-reply"."""
        with self.lock:
            for f in self.faults:
                p = f["platform"]
                if p is not None and p != kind and not kind.startswith(p + "-"):
                    continue
                if f["target"] not in ("*", ident):
                    continue
                if f.get("after"):
                    # Let this many matching requests through first (a
                    # fault on a middle part of a series).
                    f["after"] -= 1
                    continue
                if f["count"] is not None:
                    f["count"] -= 1
                    if f["count"] <= 0:
                        self.faults.remove(f)
                return dict(f)
        return None

    def list_faults(self):
        with self.lock:
            return [dict(f) for f in self.faults]

    def clear_faults(self):
        with self.lock:
            self.faults.clear()

    # -- the platforms' own duplicate suppression --

    def seen_before(self, key, interval_s):
        """The body answered to key within interval_s seconds, or None."""
        now = time.time()
        with self.lock:
            v = self.seen.get(key)
            return v[1] if v is not None and now - v[0] < interval_s else None

    def remember(self, key, body):
        with self.lock:
            self.seen[key] = (time.time(), body)
            if len(self.seen) > 100000:
                self.seen.clear()

    # -- access tokens (Feishu tenant tokens, WeCom and DingTalk app tokens) --

    def new_token(self, app_id, ttl, kind="feishu-app"):
        tok = "t-" + secrets.token_hex(16)
        with self.lock:
            self.tokens[tok] = (kind, app_id, time.time() + ttl)
        return tok

    def token_state(self, tok, kind="feishu-app"):
        """("ok", app id), ("expired", app id) or ("unknown", None)."""
        with self.lock:
            v = self.tokens.get(tok) if tok else None
        if v is None or v[0] != kind:
            return "unknown", None
        return ("expired" if v[2] < time.time() else "ok"), v[1]

    def token_app(self, tok, kind="feishu-app"):
        st, app = self.token_state(tok, kind)
        return app if st == "ok" else None

    def expire_tokens(self):
        with self.lock:
            past = time.time() - 1
            for tok, v in self.tokens.items():
                self.tokens[tok] = (v[0], v[1], past)
            return len(self.tokens)

    # -- messages --

    def record(self, rec, reply_json=None):
        """Keeps rec and logs it; reply_json: rec["reply"] already
        encoded (for the answer), spliced into the log line as it is."""
        # Encoded before and written after the state's lock. Only this
        # caller holds rec until it is appended.
        body = None
        if self.log_file is not None:
            if reply_json is not None:
                reply, rec["reply"] = rec["reply"], REPLY_MARK
                body = to_json(rec).replace(REPLY_MARK_JSON, reply_json, 1)
                rec["reply"] = reply
            else:
                body = to_json(rec)
        with self.lock:
            rec["id"] = self.next_id
            self.next_id += 1
            self.messages.append(rec)
            self.total += 1
            key = rec["platform"] + "/" + rec["target"]
            s = self.stats.get(key)
            if s is None:
                s = self.stats[key] = {"accepted": 0, "rejected": 0}
            if rec["accepted"]:
                self.accepted += 1
                s["accepted"] += 1
            else:
                s["rejected"] += 1
        if body is not None:
            line = '{"id": %d, %s\n' % (rec["id"], body[1:])
            with self.log_lock:
                # One write(2) of the whole line, on disk before the
                # answer goes out (tests read the log right after).
                os.write(self.log_file.fileno(), line.encode("utf-8"))
        return rec["id"]

    def list(self, platform=None, target=None, since=0, accepted=None):
        with self.lock:
            items = list(self.messages)
        return [
            m for m in items
            if (platform is None or m["platform"] == platform)
            and (target is None or m["target"] == target)
            and m["id"] > since
            and (accepted is None or m["accepted"] == accepted)
        ]

    def get_stats(self):
        with self.lock:
            return {
                "total": self.total,
                "accepted": self.accepted,
                "rejected": self.total - self.accepted,
                "by_target": {k: dict(v) for k, v in self.stats.items()},
            }

    def get_totals(self):
        """get_stats without by_target: cheap enough to poll while
        thousands of targets are being sent to."""
        with self.lock:
            return {"total": self.total, "accepted": self.accepted,
                    "rejected": self.total - self.accepted}

    def reset(self, everything=False):
        with self.lock:
            self.messages.clear()
            self.stats.clear()
            self.total = self.accepted = 0
            self.windows.clear()
            self.faults.clear()
            self.tokens.clear()
            self.seen.clear()
            if everything:
                self.targets.clear()


def _int_field(t, name, default, lo=0, hi=10 ** 9):
    v = t.get(name, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise ValueError("%s must be a number in [%d, %d]" % (name, lo, hi))
    return v


def _str_list(t, name):
    v = t.get(name, [])
    if not isinstance(v, list) or not all(isinstance(x, (str, int)) and not isinstance(x, bool)
                                          for x in v):
        raise ValueError("%s must be a list of strings" % name)
    return [str(x) for x in v]


def parse_target(t):
    """A checked copy of a target registration (raises ValueError)."""
    if not isinstance(t, dict):
        raise ValueError("a target is a JSON object")
    kind = KINDS.get(t.get("platform"))
    if kind is None:
        raise ValueError("platform must be one of " + ", ".join(sorted(KINDS)))
    ident = None
    for k in IDENT_KEYS:
        if isinstance(t.get(k), str) and t[k]:
            ident = t[k]
            break
    if ident is None:
        raise ValueError("a target needs its key / token / target / app_id")
    secret = t.get("secret", "")
    if not isinstance(secret, str):
        raise ValueError("secret must be a string")
    app_secret = t.get("app_secret", "")
    if not isinstance(app_secret, str):
        raise ValueError("app_secret must be a string")
    robot_code = t.get("robot_code", "")
    if not isinstance(robot_code, str):
        raise ValueError("robot_code must be a string")
    if kind == "wecom-app" and not t.get("agent_id"):
        raise ValueError("a wecom-app needs its agent_id")
    per_min, per_sec = DEFAULT_RATE[kind]
    style = str(t.get("throttle_style", "11232"))
    if style not in ("11232", "9499"):
        raise ValueError("throttle_style must be 11232 or 9499")
    return {
        "platform": kind,
        "ident": ident,
        "secret": secret,
        "app_secret": app_secret,
        "rate_per_min": int(_int_field(t, "rate_per_min", per_min)),
        "rate_per_sec": int(_int_field(t, "rate_per_sec", per_sec)),
        # Per hour (60 windows): WeCom's 1000 app messages to one member.
        "rate_per_hour": int(_int_field(t, "rate_per_hour",
                                        1000 if kind == "wecom-appmsg" else 0)),
        "window_s": _int_field(t, "window_s", 0, 0, 86400),  # 0: the server's
        "max_bytes": int(_int_field(t, "max_bytes", DEFAULT_MAX[kind], 1)),
        "keywords": _str_list(t, "keywords"),
        "chats": _str_list(t, "chats"),
        "blocked": _str_list(t, "blocked"),
        "expires_ms": _int_field(t, "expires_ms", 0, 0, 10 ** 15),
        "throttle_style": style,
        "skew_s": _int_field(t, "skew_s", 300, 0, 10 ** 6),
        "token_ttl_s": _int_field(t, "token_ttl_s", 7200, 1, 10 ** 6),
        "agent_id": int(_int_field(t, "agent_id", 0, 0, 2 ** 31 - 1)),
        "robot_code": robot_code or ident,
    }


def parse_fault(f):
    if not isinstance(f, dict):
        raise ValueError("a fault is a JSON object")
    mode = f.get("mode")
    if mode not in ("down", "slow", "throttle", "fail", "garbage", "5xx", "lost"):
        raise ValueError("mode must be down, slow, throttle, fail, garbage, 5xx or lost")
    target = f.get("target", "*")
    if not isinstance(target, str) or not target:
        raise ValueError("target must be a name or \"*\"")
    platform = f.get("platform")
    if platform is not None:
        platform = KINDS.get(platform)
        if platform is None:
            raise ValueError("unknown platform")
    count = f.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError("count must be a positive integer")
    out = {"target": target, "platform": platform, "mode": mode, "count": count,
           "ms": _int_field(f, "ms", 2000, 0, 600000),
           "status": _int_field(f, "status", 502, 500, 599),
           "retry_after": _int_field(f, "retry_after", 1, 0, 86400)}
    if "code" in f:
        out["code"] = _int_field(f, "code", 0, -(10 ** 9), 10 ** 9)
    if "after" in f:
        out["after"] = _int_field(f, "after", 0, 0, 10 ** 6)
    # The platform's own variant of the answer: a Feishu throttle code
    # ("11232", "9499", "99991400", "230020"), a DingTalk error code string
    # ("Forbidden.AccessDenied.QpmLimit...", "invalidClientIdOrSecret"), a
    # Telegram description.
    if "style" in f:
        st = f["style"]
        if not isinstance(st, (str, int)) or isinstance(st, bool) or str(st) == "":
            raise ValueError("style must be a non-empty string")
        # A number is a Feishu code: only the ones Feishu answers.
        if str(st).isdigit() and str(st) not in ("11232", "9499", "99991400", "230020"):
            raise ValueError("a numeric style must be 11232, 9499, 99991400 or 230020")
        out["style"] = str(f["style"])[:200]
    return out


# ---- what each platform checks ----------------------------------------------


class Request:
    """One platform request, parsed."""

    def __init__(self, method, path, query, headers, raw):
        self.method = method
        self.path = path
        self.query = query  # dict of lists, decoded once
        self.headers = headers  # lower-case names
        self.raw = raw
        self.json = None
        self.json_error = None
        if raw:
            try:
                self.json = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                self.json_error = str(e)
        else:
            self.json_error = "empty body"
        self.kind = None
        self.ident = ""
        self.content = ""  # human-readable text for the page
        self.warnings = []
        self.extra = {}

    def q(self, name):
        v = self.query.get(name)
        return v[0] if v else None


class Platform:
    """Base of a fake platform: route() maps a path to (kind, endpoint,
    ident), handle() checks and answers; throttle()/fail() are its
    throttle and permanent-error answers (used by faults too)."""

    name = ""

    def route(self, rest, req):
        raise NotImplementedError

    def handle(self, state, target, endpoint, req):
        raise NotImplementedError

    def throttle(self, target, endpoint, req, fault=None, wait=1.0):
        raise NotImplementedError

    def fail(self, target, endpoint, req, code=None):
        raise NotImplementedError

    def unknown(self, endpoint, req):
        raise NotImplementedError

    @staticmethod
    def window(state, target):
        return target["window_s"] or state.window_s


def errcode(code, msg, verdict=None):
    return Reply(200, {"errcode": code, "errmsg": msg},
                 verdict=verdict or "errcode %d: %s" % (code, msg))


def keywords_ok(target, text):
    kws = target["keywords"]
    return not kws or any(k in text for k in kws)


def app_of(state, kind, ident):
    """The registration of an app (wecom-app, dingtalk-app, feishu-app)."""
    with state.lock:
        return state.targets.get((kind, ident))


def chat_allowed(app, ident):
    return not app["chats"] or ident in app["chats"]


# Files the chat platforms hold for their media APIs (POST /_media):
# (platform, id) -> {"data": bytes, "name", "size", "ctype", "path"}.
MEDIA = {}
MEDIA_LOCK = threading.Lock()
MEDIA_SEQ = [0]  # file paths stay unique when a file is put again
TG_FILE_MAX = 20 * 1024 * 1024  # getFile refuses larger files (Bot API docs)


def media_add(j):
    if not isinstance(j, dict) or j.get("platform") not in ("telegram", "wecom"):
        raise ValueError("platform must be telegram or wecom")
    ident = j.get("id")
    if not isinstance(ident, str) or not ident:
        raise ValueError("id must be a non-empty string")
    try:
        data = base64.b64decode(j.get("data_b64", ""), validate=True)
    except (ValueError, TypeError):
        raise ValueError("data_b64 must be base64")
    name = j.get("name") or ""
    size = j.get("size", len(data))
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError("size must be a number")
    delay = j.get("delay_ms", 0)
    if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= 60000:
        raise ValueError("delay_ms must be a number from 0 to 60000")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else "jpg"
    with MEDIA_LOCK:
        path = "%s/file_%d.%s" % ("documents" if name else "photos", MEDIA_SEQ[0], ext)
        MEDIA_SEQ[0] += 1
        MEDIA[(j["platform"], ident)] = {
            "data": data, "name": name, "size": size, "path": path,
            "ctype": j.get("ctype") or "application/octet-stream", "delay_ms": delay}
    return path


def media_get(platform, ident):
    with MEDIA_LOCK:
        return MEDIA.get((platform, ident))


def media_delay(m, req):
    """A slow platform: the download's answer waits while the server
    answers others. The event loop must not sleep: the request is paused
    (Handler.pause) and handled again after the delay, with m as what it
    resumes from, so that it is not paused twice."""
    if m.get("delay_ms"):
        req.handler.pause(m, m["delay_ms"] / 1000.0)


def media_by_path(path):
    with MEDIA_LOCK:
        for (p, _), m in MEDIA.items():
            if p == "telegram" and m["path"] == path:
                return m
    return None


class WeCom(Platform):
    name = "wecom"

    def route(self, rest, req):
        if rest == "cgi-bin/gettoken" and req.method == "GET":
            return "wecom-app", "token", req.q("corpid") or ""
        if rest == "cgi-bin/media/get" and req.method == "GET":
            return "wecom-media", "media", req.q("media_id") or ""
        if req.method != "POST":
            return None
        if rest == "cgi-bin/message/send":
            j = req.json if isinstance(req.json, dict) else {}
            user = j.get("touser")
            return "wecom-appmsg", "appmsg", user if isinstance(user, str) else ""
        if rest != "cgi-bin/webhook/send":
            return None
        return "wecom", "send", req.q("key") or ""

    def unknown(self, endpoint, req):
        if endpoint == "token":
            return errcode(40013, "invalid corpid")
        return errcode(93000, "invalid webhook url, hint: [fake] key not found")

    def throttle(self, target, endpoint, req, fault=None, wait=1.0):
        return errcode(45009, "api freq out of limit")

    def fail(self, target, endpoint, req, code=None):
        if endpoint == "token":
            # gettoken's refusals: 40001 invalid secret, 40013 invalid
            # corpid, 40091 secret format, 60020 caller IP not trusted.
            words = {40013: "invalid corpid", 40091: "secret is invalid",
                     60020: "not allow to access from your ip", 42001: "access_token expired"}
            c = code if code is not None else 40001
            return errcode(c, words.get(c, "invalid credential"))
        if endpoint == "appmsg":
            r = errcode(code if code is not None else 81013, "user & party & tag all invalid")
            r.body["invaliduser"] = req.ident
            return r
        return errcode(code if code is not None else 93000, "invalid webhook url")

    def token(self, state, target, req):
        """GET cgi-bin/gettoken?corpid=&corpsecret= (WeCom's own check:
        the secret of one of the company's apps)."""
        if not hmac.compare_digest((req.q("corpsecret") or "").encode(),
                                   target["app_secret"].encode()):
            return errcode(40001, "invalid credential")
        tok = state.new_token(target["ident"], target["token_ttl_s"], "wecom-app")
        req.content = "access_token for %s (agent %d)" % (target["ident"], target["agent_id"])
        return Reply(200, {"errcode": 0, "errmsg": "ok", "access_token": tok,
                           "expires_in": int(target["token_ttl_s"])})

    def appmsg(self, state, target, req):
        """POST cgi-bin/message/send?access_token=T: an app message."""
        tok = req.q("access_token")
        if not tok:
            return errcode(41001, "access_token missing")
        st, corp = state.token_state(tok, "wecom-app")
        if st == "unknown":
            return errcode(40014, "invalid access_token")
        if st == "expired":
            return errcode(42001, "access_token expired")
        app = app_of(state, "wecom-app", corp)
        if app is None:
            return errcode(40014, "invalid access_token")
        req.extra["app_id"] = corp
        j = req.json
        if not isinstance(j, dict):
            return errcode(40035, "invalid json request: %s" % (req.json_error or "not an object"))
        if j.get("agentid") != app["agent_id"] or isinstance(j.get("agentid"), bool):
            return errcode(40056, "invalid agentid")
        user = j.get("touser")
        if not isinstance(user, str) or not user:
            return errcode(40035, "invalid touser")
        mt = j.get("msgtype")
        if mt not in ("markdown", "text"):
            return errcode(40008, "invalid message type" if mt not in (
                "image", "voice", "video", "file", "textcard", "news", "mpnews",
                "miniprogram_notice", "template_card") else
                "fake platform: msgtype %s not simulated" % mt)
        body = j.get(mt)
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, str) or not content:
            return errcode(44004, "empty content")
        if utf8_len(content) > target["max_bytes"]:
            return errcode(40058, "content exceed max length %d" % target["max_bytes"])
        if not chat_allowed(app, user):
            r = errcode(81013, "user & party & tag all invalid")
            r.body["invaliduser"] = user
            return r
        req.content = content
        # enable_duplicate_check: the same request JSON within
        # duplicate_check_interval seconds (default 1800, at most 4 hours)
        # is answered but not delivered again (vendor docs, 发送应用消息).
        dup_key = None
        if j.get("enable_duplicate_check") == 1:
            iv = j.get("duplicate_check_interval", 1800)
            if not isinstance(iv, int) or isinstance(iv, bool) or iv < 1 or iv > 4 * HOUR_S:
                return errcode(40035, "invalid duplicate_check_interval")
            dup_key = ("wecom-appmsg", corp, json.dumps(j, sort_keys=True, ensure_ascii=False))
            prev = state.seen_before(dup_key, iv)
            if prev is not None:
                return Reply(200, prev, verdict="duplicate: the same message within %d s" % iv)
        window = self.window(state, target)
        if not state.rate_take_spans(("wecom-appmsg", corp, user), (
                (target["rate_per_min"], window),
                (target["rate_per_hour"], 60 * window))):
            # WeCom (访问频率限制, developer.work.weixin.qq.com/document/
            # path/90454): over 30 a minute or 1000 an hour to one member,
            # the excess is dropped: answered as sent, never delivered.
            return Reply(200, {"errcode": 0, "errmsg": "ok", "msgid": secrets.token_hex(12)},
                         verdict="dropped: over the member limit (WeCom drops silently)")
        body = {"errcode": 0, "errmsg": "ok", "msgid": secrets.token_hex(12)}
        if dup_key is not None:
            state.remember(dup_key, body)
        return Reply(200, body)

    def media(self, state, target, req):
        """GET cgi-bin/media/get?access_token=T&media_id=M (获取临时素材):
        the bytes, or a JSON errcode in an HTTP 200 as WeCom answers."""
        tok = req.q("access_token")
        if not tok:
            return errcode(41001, "access_token missing")
        st, corp = state.token_state(tok, "wecom-app")
        if st == "unknown" or app_of(state, "wecom-app", corp) is None:
            return errcode(40014, "invalid access_token")
        if st == "expired":
            return errcode(42001, "access_token expired")
        m = media_get("wecom", req.q("media_id") or "")
        if m is None:
            return errcode(40007, "invalid media_id")
        media_delay(m, req)
        req.content = "media %s (%d bytes)" % (req.q("media_id"), len(m["data"]))
        name = m["name"] or "image.jpg"
        # The name's UTF-8 bytes as they are (as WeCom sends them).
        disp = ('attachment; filename="%s"' % name).encode("utf-8").decode("latin-1")
        return Reply(200, raw=m["data"], ctype=m["ctype"], headers={"Content-Disposition": disp})

    def handle(self, state, target, endpoint, req):
        if endpoint == "token":
            return self.token(state, target, req)
        if endpoint == "appmsg":
            return self.appmsg(state, target, req)
        if endpoint == "media":
            return self.media(state, target, req)
        j = req.json
        if not isinstance(j, dict):
            return errcode(40035, "invalid json request: %s" % (req.json_error or "not an object"))
        mt = j.get("msgtype")
        if mt == "markdown":
            md = j.get("markdown")
            content = md.get("content") if isinstance(md, dict) else None
            limit = target["max_bytes"]
            if isinstance(md, dict) and "mentioned_mobile_list" in md:
                req.warnings.append("mentioned_mobile_list is ignored in markdown")
        elif mt == "text":
            tx = j.get("text")
            content = tx.get("content") if isinstance(tx, dict) else None
            limit = 2048
            if isinstance(tx, dict):
                for k in ("mentioned_list", "mentioned_mobile_list"):
                    if k in tx and (not isinstance(tx[k], list)
                                    or not all(isinstance(x, str) for x in tx[k])):
                        return errcode(40035, "invalid %s" % k)
                req.extra["mentions"] = tx.get("mentioned_mobile_list", [])
        elif mt in ("image", "news", "file", "voice", "template_card"):
            return errcode(40008, "fake platform: msgtype %s not simulated" % mt)
        else:
            return errcode(40008, "invalid message type")
        if not isinstance(content, str) or not content:
            return errcode(44004, "empty content")
        if utf8_len(content) > limit:
            return errcode(40058, "content exceed max length %d" % limit)
        req.content = content
        wait = state.rate_take(("wecom", target["ident"]), target["rate_per_min"],
                               target["rate_per_sec"], self.window(state, target))
        if wait:
            return self.throttle(target, endpoint, req)
        return Reply(200, {"errcode": 0, "errmsg": "ok"})


def dingtalk_body(j, req, target):
    """Checks a DingTalk robot body; returns None or the error Reply."""
    if not isinstance(j, dict):
        return errcode(40035, "缺少参数 json")
    mt = j.get("msgtype")
    if mt == "text":
        tx = j.get("text")
        content = tx.get("content") if isinstance(tx, dict) else None
        if not isinstance(content, str) or not content:
            return errcode(40035, "缺少参数 text.content")
        title = ""
    elif mt == "markdown":
        md = j.get("markdown")
        if not isinstance(md, dict):
            return errcode(40035, "缺少参数 markdown")
        content, title = md.get("text"), md.get("title")
        if not isinstance(content, str) or not content:
            return errcode(40035, "缺少参数 markdown.text")
        if not isinstance(title, str) or not title:
            return errcode(40035, "缺少参数 markdown.title")
    elif mt in ("link", "actionCard", "feedCard"):
        return errcode(40035, "fake platform: msgtype %s not simulated" % mt)
    else:
        return errcode(40035, "不支持的 msgtype")
    if utf8_len(content) > target["max_bytes"]:
        return errcode(460101, "message too long, exceed %d bytes" % target["max_bytes"])
    if not keywords_ok(target, title + content):
        return errcode(310000, "keywords not in content")
    at = j.get("at", {})
    if not isinstance(at, dict):
        return errcode(40035, "at must be an object")
    mobiles = at.get("atMobiles", [])
    if not isinstance(mobiles, list) or not all(isinstance(m, str) for m in mobiles):
        return errcode(40035, "atMobiles must be a list of strings")
    if "isAtAll" in at and not isinstance(at["isAtAll"], bool):
        return errcode(40035, "isAtAll must be a boolean")
    ids = at.get("atUserIds", [])
    if not isinstance(ids, list) or not all(isinstance(u, str) and u for u in ids):
        return errcode(40035, "atUserIds must be a list of user ids")
    for u in ids:
        if "@" + u not in content:
            req.warnings.append("@%s is not written in the text: DingTalk shows no mention" % u)
    req.extra["at_user_ids"] = ids
    for m in mobiles:
        if "@" + m not in content:
            req.warnings.append("@%s is not written in the text: DingTalk shows no mention" % m)
    req.extra["mentions"] = mobiles
    req.extra["at_all"] = bool(at.get("isAtAll", False))
    req.content = (("【%s】\n" % title) if title else "") + content
    return None


def acs_error(status, code, message, verdict=None):
    """An api.dingtalk.com error: HTTP 4xx with {code, message, requestid}."""
    return Reply(status, {"code": code, "message": message,
                          "requestid": secrets.token_hex(8).upper()},
                 verdict=verdict or "HTTP %d %s: %s" % (status, code, message))


DINGTALK_MSG_KEYS = ("sampleText", "sampleMarkdown", "sampleImageMsg", "sampleLink",
                     "sampleActionCard", "sampleActionCard2", "sampleActionCard3",
                     "sampleActionCard4", "sampleActionCard5", "sampleActionCard6",
                     "sampleAudio", "sampleFile", "sampleVideo")


class DingTalk(Platform):
    name = "dingtalk"

    def route(self, rest, req):
        if req.method != "POST":
            return None
        if rest == "robot/send":
            return "dingtalk", "send", req.q("access_token") or ""
        if rest.startswith("session/") and len(rest) > len("session/"):
            return "dingtalk-session", "session", urllib.parse.unquote(rest[len("session/"):])
        j = req.json if isinstance(req.json, dict) else {}
        if rest == "v1.0/oauth2/accessToken":
            app = j.get("appKey")
            return "dingtalk-app", "token", app if isinstance(app, str) else ""
        if rest == "v1.0/robot/groupMessages/send":
            cid = j.get("openConversationId")
            return "dingtalk-appmsg", "group", cid if isinstance(cid, str) else ""
        if rest == "v1.0/robot/oToMessages/batchSend":
            ids = j.get("userIds")
            ids = [u for u in ids if isinstance(u, str)] if isinstance(ids, list) else []
            return "dingtalk-appmsg", "oto", ",".join(ids)
        return None

    def unknown(self, endpoint, req):
        if endpoint == "token":
            return acs_error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        return errcode(300005, "token is not exist")

    def throttle(self, target, endpoint, req, fault=None, wait=1.0):
        if endpoint in ("token", "group", "oto"):
            # The gateway's quota codes vary (QpsLimitForApi,
            # QpmLimitForAppkeyAndApi, ...): "style" picks one.
            return acs_error(403, (fault or {}).get("style")
                             or "Forbidden.AccessDenied.QpsLimitForApi",
                             "请求被流控，超过了接口的QPS限制")
        return errcode(130101, "send too fast, exceed 20 times per minute")

    def fail(self, target, endpoint, req, code=None):
        if endpoint == "token":
            # The old-style gettoken answers errcode 40089 in a 200; the
            # v1.0 endpoint a 400 with a code string.
            if code == 40089:
                return errcode(40089, "不合法的appkey或appsecret")
            return acs_error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        if endpoint in ("group", "oto"):
            return acs_error(400, "resource.not.found", "机器人不在群内或会话不存在")
        return errcode(code if code is not None else 310000, "sign not match")

    def token(self, state, target, req):
        """POST v1.0/oauth2/accessToken {appKey, appSecret}."""
        j = req.json if isinstance(req.json, dict) else {}
        if not hmac.compare_digest(str(j.get("appSecret", "")).encode(),
                                   target["app_secret"].encode()):
            return acs_error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        tok = state.new_token(target["ident"], target["token_ttl_s"], "dingtalk-app")
        req.content = "accessToken for %s" % target["ident"]
        return Reply(200, {"accessToken": tok, "expireIn": int(target["token_ttl_s"])})

    def appmsg(self, state, target, endpoint, req):
        """The app robot's group and one-to-one sends."""
        st, key = state.token_state(req.headers.get("x-acs-dingtalk-access-token"),
                                    "dingtalk-app")
        if st != "ok":
            return acs_error(400, "InvalidAuthentication", "不合法的access_token",
                             "HTTP 400 InvalidAuthentication: %s token" % st)
        app = app_of(state, "dingtalk-app", key)
        if app is None:
            return acs_error(400, "InvalidAuthentication", "不合法的access_token")
        req.extra["app_id"] = key
        j = req.json
        if not isinstance(j, dict):
            return acs_error(400, "MissingBody", "body is mandatory for this action.")
        if not isinstance(j.get("robotCode"), str) or not j["robotCode"]:
            return acs_error(400, "MissingrobotCode", "robotCode is mandatory for this action.")
        if j["robotCode"] != app["robot_code"]:
            return acs_error(400, "robot.not.exist", "机器人不存在")
        if endpoint == "group":
            if not req.ident:
                return acs_error(400, "MissingopenConversationId",
                                 "openConversationId is mandatory for this action.")
        else:
            ids = j.get("userIds")
            if not isinstance(ids, list) or not ids or len(ids) > 20 or \
                    not all(isinstance(u, str) and u for u in ids):
                return acs_error(400, "invalidParameter.userIds",
                                 "userIds 应为 1 到 20 个 userId")
        key_ = j.get("msgKey")
        if key_ not in DINGTALK_MSG_KEYS:
            return acs_error(400, "invalidParameter.msgKey", "msgKey 不合法")
        if key_ not in ("sampleText", "sampleMarkdown"):
            return acs_error(400, "invalidParameter.msgKey",
                             "fake platform: msgKey %s not simulated" % key_)
        if isinstance(j.get("msgParam"), str) and utf8_len(j["msgParam"]) > target["max_bytes"]:
            return acs_error(400, "invalidParameter.msgParam.tooLong",
                             "msgParam 长度超过 %d 字节" % target["max_bytes"])
        try:
            param = json.loads(j.get("msgParam")) if isinstance(j.get("msgParam"), str) else None
        except ValueError:
            param = None
        if not isinstance(param, dict):
            return acs_error(400, "invalidParameter.msgParam", "msgParam 应为 JSON 字符串")
        if key_ == "sampleMarkdown":
            title, text = param.get("title"), param.get("text")
            if not isinstance(title, str) or not title or not isinstance(text, str) or not text:
                return acs_error(400, "invalidParameter.msgParam",
                                 "sampleMarkdown 需要 title 和 text")
        else:
            title, text = "", param.get("content")
            if not isinstance(text, str) or not text:
                return acs_error(400, "invalidParameter.msgParam", "sampleText 需要 content")
        req.content = (("【%s】\n" % title) if title else "") + text
        if endpoint == "group":
            if not chat_allowed(app, req.ident):
                return acs_error(400, "resource.not.found", "机器人不在群内或会话不存在")
            wait = state.rate_take(("dingtalk-appmsg", key, req.ident), target["rate_per_min"],
                                   target["rate_per_sec"], self.window(state, target))
            if wait:
                return self.throttle(target, endpoint, req)
            return Reply(200, {"processQueryKey": secrets.token_hex(16)})
        bad = [u for u in j["userIds"] if not chat_allowed(app, u)]
        limited = []
        for u in j["userIds"]:
            if u not in bad and state.rate_take(("dingtalk-appmsg", key, u),
                                                target["rate_per_min"], target["rate_per_sec"],
                                                self.window(state, target)):
                limited.append(u)
        r = Reply(200, {"processQueryKey": secrets.token_hex(16), "invalidStaffIdList": bad,
                        "flowControlledStaffIdList": limited})
        if bad or limited:
            r.verdict = "invalid users %s, flow-controlled users %s" % (bad, limited)
        return r

    def check_sign(self, target, req):
        ts, sign = req.q("timestamp"), req.q("sign")
        if ts is None or sign is None:
            return errcode(310000, "sign not match, more: [timestamp or sign missing]")
        try:
            ts_ms = int(ts)
        except ValueError:
            return errcode(310000, "invalid timestamp")
        if abs(time.time() * 1000 - ts_ms) > HOUR_S * 1000:
            return errcode(310000, "invalid timestamp", "errcode 310000: timestamp outside 1 h")
        secret = target["secret"].encode("utf-8")
        want = base64.b64encode(hmac.new(secret, ts.encode() + b"\n" + secret,
                                         hashlib.sha256).digest()).decode()
        # parse_qs decoded the query once: a sign encoded twice is still
        # "%2B..." here, and one not encoded at all has ' ' for '+'.
        if not hmac.compare_digest(want.encode(), sign.encode("utf-8", "replace")):
            return errcode(310000, "sign not match, more: [sign=%s]" % sign[:60])
        return None

    def handle(self, state, target, endpoint, req):
        if endpoint == "token":
            return self.token(state, target, req)
        if endpoint in ("group", "oto"):
            return self.appmsg(state, target, endpoint, req)
        if endpoint == "session":
            if target.get("expires_ms") and time.time() * 1000 > target["expires_ms"]:
                return errcode(300005, "session webhook expired")
        elif target["secret"] and not target.get("auto"):
            bad = self.check_sign(target, req)
            if bad is not None:
                return bad
        bad = dingtalk_body(req.json, req, target)
        if bad is not None:
            return bad
        wait = state.rate_take((target["platform"], target["ident"]), target["rate_per_min"],
                               target["rate_per_sec"], self.window(state, target))
        if wait:
            return self.throttle(target, endpoint, req)
        return Reply(200, {"errcode": 0, "errmsg": "ok"})


def feishu_reply(code, msg, status=200, verdict=None):
    return Reply(status, {"code": code, "msg": msg, "data": {}},
                 verdict=verdict or "code %d: %s" % (code, msg))


def card_texts(card):
    """The texts of a Feishu card; raises ValueError when malformed."""
    if not isinstance(card, dict):
        raise ValueError("card must be an object")
    out = []
    header = card.get("header")
    if header is not None:
        title = header.get("title") if isinstance(header, dict) else None
        if not isinstance(title, dict) or not isinstance(title.get("content"), str):
            raise ValueError("card.header.title.content missing")
        out.append("【%s】" % title["content"])
    els = card.get("elements")
    if els is None and isinstance(card.get("body"), dict):
        els = card["body"].get("elements")
    if els is None and isinstance(card.get("i18n_elements"), dict):
        els = next(iter(card["i18n_elements"].values()), None)
    if not isinstance(els, list) or not els:
        raise ValueError("card.elements must be a non-empty list")
    for el in els:
        if not isinstance(el, dict) or not isinstance(el.get("tag"), str):
            raise ValueError("every card element needs a tag")
        if el["tag"] == "markdown":
            if not isinstance(el.get("content"), str):
                raise ValueError("markdown element needs content")
            out.append(el["content"])
        elif el["tag"] == "div":
            t = el.get("text")
            if not isinstance(t, dict) or t.get("tag") not in ("plain_text", "lark_md") \
                    or not isinstance(t.get("content"), str):
                raise ValueError("div element needs text {tag, content}")
            out.append(t["content"])
    return "\n".join(out)


def feishu_content(msg_type, content):
    """The text of a Feishu message body of msg_type; raises ValueError."""
    if msg_type == "text":
        if not isinstance(content, dict) or not isinstance(content.get("text"), str) \
                or not content["text"]:
            raise ValueError("content.text missing")
        return content["text"]
    if msg_type == "post":
        post = content.get("post") if isinstance(content, dict) else None
        if not isinstance(post, dict) or not post:
            raise ValueError("content.post missing")
        return json.dumps(post, ensure_ascii=False)
    if msg_type == "interactive":
        return card_texts(content)
    if msg_type in ("image", "share_chat"):
        raise ValueError("fake platform: msg_type %s not simulated" % msg_type)
    raise ValueError("unknown msg_type")


class Feishu(Platform):
    name = "feishu"

    def route(self, rest, req):
        if rest.startswith("open-apis/bot/v2/hook/") and len(rest) > 22:
            return "feishu", "hook", urllib.parse.unquote(rest[22:])
        if rest == "open-apis/auth/v3/tenant_access_token/internal":
            app = req.json.get("app_id") if isinstance(req.json, dict) else None
            return "feishu-app", "token", app if isinstance(app, str) else ""
        m = re.fullmatch(r"open-apis/im/v1/messages/([^/]+)/reply", rest)
        if m:
            return "feishu-reply", "reply", urllib.parse.unquote(m.group(1))
        if rest == "open-apis/im/v1/messages":
            rid = req.json.get("receive_id") if isinstance(req.json, dict) else None
            return "feishu-chat", "send", rid if isinstance(rid, str) else ""
        return None

    def unknown(self, endpoint, req):
        if endpoint == "token":
            return feishu_reply(10003, "invalid param: app_id not found")
        return feishu_reply(19001, "param invalid: incoming webhook access token invalid")

    def throttle(self, target, endpoint, req, fault=None, wait=1.0):
        if endpoint != "hook":
            if (fault or {}).get("style") == "230020":
                return feishu_reply(230020, "This operation triggers the frequency limit.", 400)
            return feishu_reply(99991400, "request trigger frequency limit", 400)
        style = (fault or {}).get("style") or (target or {}).get("throttle_style", "11232")
        if str(style) == "9499":
            return feishu_reply(9499, "too many request", 400)
        return feishu_reply(11232, "frequency limited psm[lark.oapi.app_platform_runtime]")

    def fail(self, target, endpoint, req, code=None):
        if endpoint == "token":
            # auth/v3 refusals: 10003 invalid app_id, 10014 app secret invalid.
            c = code if code is not None else 10014
            return feishu_reply(c, "invalid param: app_id not found" if c == 10003
                                else "app secret invalid")
        if endpoint != "hook":
            return feishu_reply(code if code is not None else 230002,
                                "The bot can not be outside the group.", 400)
        return feishu_reply(code if code is not None else 19021,
                            "sign match fail or timestamp is not within one hour from current time")

    def handle(self, state, target, endpoint, req):
        if endpoint == "token":
            return self.token(state, target, req)
        if endpoint == "reply":
            return self.reply(state, req)
        if endpoint == "send":
            return self.send(state, target, req)
        j = req.json
        if len(req.raw) > target["max_bytes"]:
            return feishu_reply(9499, "Bad Request: request body exceeds %d bytes"
                                % target["max_bytes"], 400)
        if not isinstance(j, dict):
            return feishu_reply(9499, "Bad Request: body is not a JSON object", 400)
        if target["secret"] and not target.get("auto"):
            ts, sign = j.get("timestamp"), j.get("sign")
            bad = feishu_reply(19021, "sign match fail or timestamp is not within one hour "
                                      "from current time")
            if isinstance(ts, int) and not isinstance(ts, bool):
                ts = str(ts)
            if not isinstance(ts, str) or not isinstance(sign, str) or not ts.isdigit():
                return bad
            if abs(time.time() - int(ts)) > HOUR_S:
                bad.verdict = "code 19021: timestamp outside 1 h"
                return bad
            key = (ts + "\n" + target["secret"]).encode("utf-8")
            want = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            if not hmac.compare_digest(want.encode(), sign.encode("utf-8", "replace")):
                return bad
        mt = j.get("msg_type")
        body = j.get("card") if mt == "interactive" else j.get("content")
        if mt == "interactive" and isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError:
                body = None
        try:
            text = feishu_content(mt, body)
        except ValueError as e:
            return feishu_reply(9499, "Bad Request: %s" % e, 400)
        if not keywords_ok(target, text):
            return feishu_reply(19024, "Key Words Not Found")
        req.content = text
        wait = state.rate_take(("feishu", target["ident"]), target["rate_per_min"],
                               target["rate_per_sec"], self.window(state, target))
        if wait:
            return self.throttle(target, endpoint, req)
        return Reply(200, {"StatusCode": 0, "StatusMessage": "success", "code": 0,
                           "data": {}, "msg": "success"})

    def token(self, state, target, req):
        j = req.json if isinstance(req.json, dict) else {}
        if not target.get("auto") and not hmac.compare_digest(str(j.get("app_secret", "")).encode(),
                                   target["app_secret"].encode()):
            return feishu_reply(10014, "app secret invalid")
        tok = state.new_token(target["ident"], target["token_ttl_s"])
        req.content = "tenant_access_token for %s" % target["ident"]
        return Reply(200, {"code": 0, "msg": "ok", "tenant_access_token": tok,
                           "expire": int(target["token_ttl_s"])})

    @staticmethod
    def bearer(state, req):
        """The app of the request's tenant token, or (None, the error)."""
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return None, feishu_reply(99991661, "Missing access token for authorization. Please "
                                                "make a request with token attached.", 400)
        st, app = state.token_state(auth[7:], "feishu-app")
        if st == "expired":
            return None, feishu_reply(99991677, "Authentication token expired.", 400)
        if st != "ok":
            return None, feishu_reply(99991663, "Invalid access token for authorization. Please "
                                                "make a request with token attached.", 400)
        return app, None

    def send(self, state, target, req):
        """POST open-apis/im/v1/messages?receive_id_type=...: a message to a
        chat (or a person) of the app."""
        app_id, bad = self.bearer(state, req)
        if bad is not None:
            return bad
        req.extra["app_id"] = app_id
        app = app_of(state, "feishu-app", app_id)
        rtype = req.q("receive_id_type")
        if rtype not in ("chat_id", "open_id", "user_id", "union_id", "email"):
            return feishu_reply(99992402, "field validation failed: receive_id_type", 400)
        j = req.json
        if not isinstance(j, dict):
            return feishu_reply(9499, "Bad Request: body is not a JSON object", 400)
        if not req.ident:
            return feishu_reply(230001, "Your request contains an invalid request parameter: "
                                        "receive_id is empty", 400)
        mt, content = j.get("msg_type"), j.get("content")
        if not isinstance(content, str):
            return feishu_reply(230001, "Your request contains an invalid request parameter: "
                                        "content must be a JSON string", 400)
        limit = target["max_bytes"] if mt in ("interactive", "post") else 150 * 1024
        if len(req.raw) > limit:
            return feishu_reply(230025, "The length of the message content reaches its limit.",
                                400)
        try:
            text = feishu_content(mt, json.loads(content))
        except ValueError as e:
            return feishu_reply(230001, "Your request contains an invalid request parameter: %s"
                                % e, 400)
        if app is not None and not chat_allowed(app, req.ident):
            return feishu_reply(230002, "Bot/User can NOT be out of the chat.", 400)
        req.content = text
        # uuid: requests with the same uuid succeed at most once within an
        # hour (vendor docs, im/v1/messages create: 最大长度 50 字符).
        u = j.get("uuid")
        if u is not None and (not isinstance(u, str) or not u or len(u) > 50):
            return feishu_reply(99992402, "field validation failed: uuid", 400)
        dup_key = ("feishu-chat", app_id, u) if u else None
        if dup_key is not None:
            prev = state.seen_before(dup_key, HOUR_S)
            if prev is not None:
                return Reply(200, prev, verdict="duplicate: uuid %s seen within an hour" % u)
        wait = state.rate_take(("feishu-chat", app_id, req.ident), target["rate_per_min"],
                               target["rate_per_sec"], self.window(state, target))
        if wait:
            return feishu_reply(230020, "This operation triggers the frequency limit.", 400)
        body = {"code": 0, "msg": "success", "data": {
            "message_id": "om_" + secrets.token_hex(12), "chat_id": req.ident,
            "msg_type": mt, "body": {"content": content}}}
        if dup_key is not None:
            state.remember(dup_key, body)
        return Reply(200, body)

    def reply(self, state, req):
        app, bad = self.bearer(state, req)
        if bad is not None:
            return bad
        req.extra["app_id"] = app
        j = req.json
        if not isinstance(j, dict):
            return feishu_reply(9499, "Bad Request: body is not a JSON object", 400)
        mt, content = j.get("msg_type"), j.get("content")
        if not isinstance(content, str):
            return feishu_reply(230001, "Your request contains an invalid request parameter: "
                                        "content must be a JSON string", 400)
        if utf8_len(content) > DEFAULT_MAX["feishu-reply"]:
            return feishu_reply(230025, "The length of the message content reaches its limit.",
                                400)
        try:
            text = feishu_content(mt, json.loads(content))
        except ValueError as e:
            return feishu_reply(230001, "Your request contains an invalid request parameter: %s"
                                % e, 400)
        req.content = text
        # uuid: as on create, one delivery per uuid within an hour (vendor
        # docs, im/v1/messages/:message_id/reply: 最大长度 50 字符).
        u = j.get("uuid")
        if u is not None and (not isinstance(u, str) or not u or len(u) > 50):
            return feishu_reply(99992402, "field validation failed: uuid", 400)
        dup_key = ("feishu-reply", app, u) if u else None
        if dup_key is not None:
            prev = state.seen_before(dup_key, HOUR_S)
            if prev is not None:
                return Reply(200, prev, verdict="duplicate: uuid %s seen within an hour" % u)
        body = {"code": 0, "msg": "success", "data": {
            "message_id": "om_" + secrets.token_hex(12), "root_id": req.ident,
            "parent_id": req.ident, "msg_type": mt, "body": {"content": content}}}
        if dup_key is not None:
            state.remember(dup_key, body)
        return Reply(200, body)


TG_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
           "span", "tg-spoiler", "tg-emoji", "blockquote"}
TG_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
TG_ENTITY_VALUES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def telegram_html(text):
    """The visible text of Telegram HTML; raises ValueError with Telegram's
    words when it cannot be parsed."""
    out, stack, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "<":
            j = text.find(">", i)
            if j < 0:
                raise ValueError("can't parse entities: Unclosed start tag at byte offset %d"
                                 % utf8_len(text[:i]))
            tag = text[i + 1:j]
            if tag.startswith("/"):
                name = tag[1:].strip().lower()
                if not stack or stack[-1] != name:
                    raise ValueError("can't parse entities: Unmatched end tag at byte offset %d, "
                                     "expected \"</%s>\", found \"</%s>\""
                                     % (utf8_len(text[:i]), stack[-1] if stack else "", name))
                stack.pop()
            else:
                m = re.match(r"([a-zA-Z][a-zA-Z-]*)", tag)
                name = m.group(1).lower() if m else ""
                if name not in TG_TAGS:
                    raise ValueError("can't parse entities: Unsupported start tag \"%s\" at byte "
                                     "offset %d" % (name or tag[:10], utf8_len(text[:i])))
                if name == "a" and not re.search(r"\bhref\s*=\s*\"[^\"]*\"", tag):
                    raise ValueError("can't parse entities: <a> needs href")
                stack.append(name)
            i = j + 1
        elif c == "&":
            m = TG_ENTITY.match(text, i)
            if not m:
                raise ValueError("can't parse entities: Unsupported HTML entity at byte offset %d"
                                 % utf8_len(text[:i]))
            e = m.group(1)
            if e.startswith("#x"):
                out.append(chr(int(e[2:], 16)))
            elif e.startswith("#"):
                out.append(chr(int(e[1:])))
            else:
                out.append(TG_ENTITY_VALUES[e])
            i = m.end()
        else:
            out.append(c)
            i += 1
    if stack:
        raise ValueError("can't parse entities: Can't find end tag corresponding to start tag "
                         "\"%s\"" % stack[-1])
    return "".join(out)


def tg_error(status, description, extra=None):
    body = {"ok": False, "error_code": status, "description": description}
    if extra:
        body.update(extra)
    return Reply(status, body, verdict="%d: %s" % (status, description))


class Telegram(Platform):
    name = "telegram"

    def route(self, rest, req):
        m = re.fullmatch(r"file/bot([^/]+)/(.+)", rest)
        if m and req.method == "GET":
            req.extra["file_path"] = m.group(2)
            return "telegram", "file", urllib.parse.unquote(m.group(1))
        m = re.fullmatch(r"bot([^/]+)/([A-Za-z]+)", rest)
        if not m:
            return None
        req.extra["method"] = m.group(2)
        return "telegram", m.group(2), urllib.parse.unquote(m.group(1))

    def unknown(self, endpoint, req):
        return tg_error(401, "Unauthorized")

    def throttle(self, target, endpoint, req, fault=None, wait=1.0):
        n = (fault or {}).get("retry_after") or max(1, int(math.ceil(wait)))
        return tg_error(429, "Too Many Requests: retry after %d" % n,
                        {"parameters": {"retry_after": n}})

    def fail(self, target, endpoint, req, code=None):
        if code == 400:
            return tg_error(400, "Bad Request: chat not found")
        return tg_error(403, "Forbidden: bot was blocked by the user")

    def get_file(self, req):
        """getFile (file_id in the query or the JSON body): the file's
        path for the download, or the Bot API's refusals."""
        j = req.json if isinstance(req.json, dict) else {}
        fid = req.q("file_id") or j.get("file_id")
        if not isinstance(fid, str) or not fid:
            return tg_error(400, "Bad Request: file_id not specified")
        m = media_get("telegram", fid)
        if m is None:
            return tg_error(400, "Bad Request: invalid file_id")
        if m["size"] > TG_FILE_MAX:
            return tg_error(400, "Bad Request: file is too big")
        req.content = "getFile %s" % fid
        return Reply(200, {"ok": True, "result": {
            "file_id": fid, "file_unique_id": hashlib.sha1(fid.encode()).hexdigest()[:16],
            "file_size": m["size"], "file_path": m["path"]}})

    def file(self, req):
        m = media_by_path(req.extra.get("file_path", ""))
        if m is None:
            return tg_error(404, "Not Found")
        media_delay(m, req)
        req.content = "file %s (%d bytes)" % (m["path"], len(m["data"]))
        return Reply(200, raw=m["data"], ctype="application/octet-stream")

    def handle(self, state, target, endpoint, req):
        if endpoint == "getFile":
            return self.get_file(req)
        if endpoint == "file":
            return self.file(req)
        if endpoint != "sendMessage":
            return tg_error(404, "Not Found")
        j = req.json if isinstance(req.json, dict) else {}
        chat = j.get("chat_id")
        if chat is None or chat == "" or isinstance(chat, (bool, float, list, dict)):
            return tg_error(400, "Bad Request: chat_id is empty")
        chat = str(chat)
        req.extra["chat_id"] = chat
        if target["chats"] and chat not in target["chats"]:
            return tg_error(400, "Bad Request: chat not found")
        if chat in target["blocked"]:
            return tg_error(403, "Forbidden: bot was blocked by the user")
        text = j.get("text")
        if not isinstance(text, str) or not text.strip():
            return tg_error(400, "Bad Request: message text is empty")
        mode = j.get("parse_mode")
        if mode == "HTML":
            try:
                visible = telegram_html(text)
            except ValueError as e:
                return tg_error(400, "Bad Request: %s" % e)
        else:
            if mode not in (None, ""):
                req.warnings.append("parse_mode %s is not checked by the fake" % mode)
            visible = text
        if not visible.strip():
            return tg_error(400, "Bad Request: message text is empty")
        if utf16_len(visible) > target["max_bytes"]:
            return tg_error(400, "Bad Request: message is too long")
        req.content = visible
        wait = state.rate_take(("telegram", target["ident"], chat), target["rate_per_min"],
                               target["rate_per_sec"], self.window(state, target))
        if wait:
            return self.throttle(target, endpoint, req, wait=wait)
        return Reply(200, {"ok": True, "result": {
            "message_id": int(time.time() * 1000) % 2 ** 31, "date": int(time.time()),
            "chat": {"id": int(chat) if re.fullmatch(r"-?\d+", chat) else chat},
            "text": visible}})


class Generic(Platform):
    """zhuqi's own generic webhook: {"title","text","markdown","mentions"},
    signed with X-Zhuqi-Timestamp / X-Zhuqi-Signature when registered with a
    secret."""

    name = "generic"

    def route(self, rest, req):
        if not rest:
            return None
        return "generic", "hook", urllib.parse.unquote(rest)

    def unknown(self, endpoint, req):
        return Reply(404, {"ok": False, "error": "no such target"}, verdict="404: no such target")

    def throttle(self, target, endpoint, req, fault=None, wait=1.0):
        n = (fault or {}).get("retry_after") or max(1, int(math.ceil(wait)))
        return Reply(429, {"ok": False, "error": "too many requests"}, {"Retry-After": str(n)},
                     "429: too many requests")

    def fail(self, target, endpoint, req, code=None):
        status = code if code is not None and 400 <= code < 500 else 400
        return Reply(status, {"ok": False, "error": "rejected"}, verdict="%d: rejected" % status)

    def handle(self, state, target, endpoint, req):
        if target["secret"] and not target.get("auto"):
            ts = req.headers.get("x-zhuqi-timestamp")
            sig = req.headers.get("x-zhuqi-signature")
            if ts is None or sig is None or not ts.isdigit():
                return Reply(401, {"ok": False, "error": "missing signature"},
                             verdict="401: missing signature")
            if abs(time.time() - int(ts)) > target["skew_s"]:
                return Reply(401, {"ok": False, "error": "stale timestamp"},
                             verdict="401: stale timestamp")
            want = "sha256=" + hmac.new(target["secret"].encode("utf-8"),
                                        ts.encode() + b"." + req.raw, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(want.encode(), sig.encode("utf-8", "replace")):
                return Reply(401, {"ok": False, "error": "bad signature"},
                             verdict="401: bad signature")
        j = req.json
        if not isinstance(j, dict):
            return Reply(400, {"ok": False, "error": "body is not a JSON object"},
                         verdict="400: body is not a JSON object")
        for k in ("title", "text", "markdown"):
            if not isinstance(j.get(k), str):
                return Reply(400, {"ok": False, "error": "%s must be a string" % k},
                             verdict="400: %s must be a string" % k)
        ments = j.get("mentions", [])
        if not isinstance(ments, list) or not all(isinstance(m, str) for m in ments):
            return Reply(400, {"ok": False, "error": "mentions must be a list of strings"},
                         verdict="400: bad mentions")
        if utf8_len(j["markdown"]) > target["max_bytes"]:
            return Reply(413, {"ok": False, "error": "markdown too long"},
                         verdict="413: markdown too long")
        if "json" not in req.headers.get("content-type", ""):
            req.warnings.append("Content-Type is not JSON")
        req.content = (("【%s】\n" % j["title"]) if j["title"] else "") + j["markdown"]
        wait = state.rate_take(("generic", target["ident"]), target["rate_per_min"],
                               target["rate_per_sec"], self.window(state, target))
        if wait:
            return self.throttle(target, endpoint, req, wait=wait)
        return Reply(200, {"ok": True})


PLATFORMS = {p.name: p for p in (WeCom(), DingTalk(), Feishu(), Telegram(), Generic())}


# Kinds whose targets need no registration: generic webhooks, DingTalk
# session webhooks, Feishu replies and the app messages (authorised by
# their access token).
IMPLICIT = ("generic", "dingtalk-session", "feishu-reply", "wecom-appmsg", "dingtalk-appmsg",
            "feishu-chat", "wecom-media")


APP_MESSAGES = ("wecom-appmsg", "dingtalk-appmsg", "feishu-chat")

# The SMS vendors (Tencent, Alibaba, a 政务 gateway): tests/fake/fake_sms.py.
import fake_sms  # noqa: E402  (beside this file)

fake_sms.install(globals())

_IMPLICIT_TEMPLATES = {}


def open_generic(kind, ident):
    """The implicit registration of an unregistered target of IMPLICIT."""
    tpl = _IMPLICIT_TEMPLATES.get(kind)
    if tpl is None:
        tpl = _IMPLICIT_TEMPLATES[kind] = parse_target({"platform": kind, "target": "-"})
    t = dict(tpl, ident=ident)
    t["implicit"] = True
    return t


# ---- HTTP ---------------------------------------------------------------------


class BadRequest(Exception):
    pass


class Headers:
    """Request headers: case-insensitive get(), items() in arrival order.
    (http.server's own parsing goes through the email package, which costs
    more than everything else a request does here.)"""

    def __init__(self):
        self._items = []
        self._map = {}

    def add(self, name, value):
        self._items.append((name, value))
        self._map[name.lower()] = value

    def get(self, name, default=None):
        return self._map.get(name.lower(), default)

    def __getitem__(self, name):
        return self._map.get(name.lower())

    def __contains__(self, name):
        return name.lower() in self._map

    def items(self):
        return list(self._items)

    def lower_map(self):
        """The headers by lower-case name (the last of each), not a copy:
        Headers are made for one request and not changed after."""
        return self._map


MAX_HEADERS = 100
MAX_LINE = 65536


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-platform/2"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections end

    def __init__(self, conn):
        # One handler per connection, run by Conn for each request with
        # the request in rfile (a Reader over what has arrived); not the
        # base class's constructor, which would read the socket itself.
        self.server = conn.server
        self.connection = conn
        self.client_address = conn.peer
        self.rfile = conn.reader
        self.wfile = conn.writer
        self.close_connection = True
        self.resumed_fault = None  # the slow fault of a request resumed after it

    def log_message(self, fmt, *args):
        pass  # nothing per request: /_messages and --log have it all

    _date = (0, "")

    def date_time_string(self, timestamp=None):
        """The Date header, formatted once a second."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        now = int(time.time())
        if Handler._date[0] != now:
            Handler._date = (now, super().date_time_string(now))
        return Handler._date[1]

    def pause(self, fault, seconds):
        """A "slow" fault (or a slow media download, media_delay): the
        platform answers after seconds. The event loop must not sleep, so
        the request is parsed again and handled then (Conn.resume), with
        this fault instead of a new one; nothing before this point changed
        the state."""
        if self.resumed_fault is not fault:
            raise Paused(fault, seconds)

    def handle_expect_100(self):
        self.connection.send_continue()
        return True

    def parse_request(self):
        """A lean version of BaseHTTPRequestHandler.parse_request: request
        line, headers into Headers, keep-alive and Expect: 100-continue."""
        self.command = None
        self.request_version = version = self.default_request_version
        self.close_connection = True
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = line
        words = line.split()
        if len(words) != 3 or not words[2].startswith("HTTP/1."):
            self.send_error(400, "Bad request line")
            return False
        self.command, self.path, version = words
        self.request_version = version
        headers = self._fast_headers()
        slow = headers is None
        if slow:
            headers = Headers()
        for _ in range(MAX_HEADERS + 1 if slow else 0):
            raw = self.rfile.readline(MAX_LINE + 1)
            if len(raw) > MAX_LINE:
                self.send_error(431, "Header line too long")
                return False
            if raw in (b"\r\n", b"\n", b""):
                break
            name, sep, value = raw.decode("iso-8859-1").partition(":")
            if not sep or not name.strip() or name != name.strip():
                self.send_error(400, "Bad header line")
                return False
            headers.add(name, value.strip())
        else:
            if slow:
                self.send_error(431, "Too many headers")
                return False
        self.headers = headers
        conn = headers.get("Connection", "").lower()
        self.close_connection = conn == "close" or (version == "HTTP/1.0" and
                                                    conn != "keep-alive")
        if headers.get("Expect", "").lower() == "100-continue" and version != "HTTP/1.0":
            if not self.handle_expect_100():
                return False
        return True

    def _fast_headers(self):
        """The headers of a usual request at once, or None for the line by
        line parse below: the whole head has arrived, with CRLF line ends
        only and well within the limits (so that every bad head still
        gets that parse's answer)."""
        rd = self.rfile
        if not isinstance(rd, Reader) or not self.raw_requestline.endswith(b"\r\n"):
            return None
        buf, pos = rd.buf, rd.pos
        if buf.startswith(b"\r\n", pos):
            rd.pos = pos + 2
            return Headers()
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0 or end - pos > MAX_LINE:
            return None
        head = buf[pos:end]
        if head.count(b"\n") != head.count(b"\r\n"):
            return None
        lines = head.decode("iso-8859-1").split("\r\n")
        if len(lines) > MAX_HEADERS:
            return None
        headers = Headers()
        items, hmap = headers._items, headers._map
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                return None
            value = value.strip()
            items.append((name, value))
            hmap[name.lower()] = value
        rd.pos = end + 4
        return headers

    # -- plumbing --

    def _send(self, status, body, ctype, headers=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        lines = ["%s %d %s" % (self.protocol_version, status,
                               self.responses.get(status, ("Status",))[0]),
                 "Server: " + self.server_version,
                 "Date: " + self.date_time_string(),
                 "Content-Type: " + ctype,
                 "Content-Length: %d" % len(body),
                 "Cache-Control: no-store"]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + (body if self.command != "HEAD" else b""))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _json(self, status, obj, headers=None):
        self._send(status, to_json(obj),
                   "application/json; charset=utf-8", headers)

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            return self._read_chunked()
        n = self.headers.get("Content-Length")
        if n is None:
            return b""
        try:
            n = int(n)
        except ValueError:
            raise BadRequest("bad Content-Length")
        if n < 0 or n > MAX_BODY:
            raise BadRequest("bad or too large Content-Length")
        data = self.rfile.read(n)
        if len(data) != n:
            raise BadRequest("body shorter than Content-Length")
        return data

    def _read_chunked(self):
        parts, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise BadRequest("bad chunk size")
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise BadRequest("body too large")
            parts.append(self.rfile.read(size))
            self.rfile.readline(16)

    def _control_body(self, body):
        try:
            return json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("body is not JSON")

    # -- routes --

    def do_GET(self):
        st = self.server.state
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/":
            return self._send(200, render_page(st), "text/html; charset=utf-8")
        if url.path == "/_messages":
            try:
                since = int(q.get("since", ["0"])[0])
            except ValueError:
                return self._json(400, {"ok": False, "error": "since must be a number"})
            acc = q.get("accepted", [None])[0]
            acc = None if acc is None else acc in ("1", "true", "yes")
            platform = q.get("platform", [None])[0]
            platform = KINDS.get(platform, platform)
            msgs = st.list(platform, q.get("target", [None])[0], since, acc)
            return self._json(200, {"messages": msgs})
        if url.path == "/_stats":
            if q.get("totals", ["0"])[0] in ("1", "true", "yes"):
                return self._json(200, st.get_totals())
            return self._json(200, st.get_stats())
        if url.path == "/_targets":
            return self._json(200, {"targets": st.list_targets()})
        if url.path == "/_faults":
            return self._json(200, {"faults": st.list_faults()})
        if url.path == "/_health":
            return self._json(200, {"ok": True})
        if self.command == "GET" and url.path.strip("/").split("/", 1)[0] in PLATFORMS:
            return self._dispatch(st, url, b"")
        return self._json(404, {"ok": False, "error": "not found"})

    do_HEAD = do_GET

    def do_DELETE(self):
        url = urllib.parse.urlsplit(self.path)
        try:
            self._read_body()
        except BadRequest as e:
            self.close_connection = True
            return self._json(400, {"ok": False, "error": str(e)})
        if url.path == "/_faults":
            self.server.state.clear_faults()
            return self._json(200, {"ok": True})
        if url.path == "/_media":
            with MEDIA_LOCK:
                MEDIA.clear()
            return self._json(200, {"ok": True})
        if url.path == "/_targets":
            self.server.state.clear_targets()
            return self._json(200, {"ok": True})
        return self._json(404, {"ok": False, "error": "not found"})

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        try:
            body = self._read_body()
        except BadRequest as e:
            self.close_connection = True
            return self._json(413 if "large" in str(e) else 400, {"ok": False, "error": str(e)})
        st = self.server.state
        try:
            if url.path == "/_reset":
                q = urllib.parse.parse_qs(url.query)
                st.reset(q.get("all", ["0"])[0] in ("1", "true", "yes"))
                with MEDIA_LOCK:
                    MEDIA.clear()
                return self._json(200, {"ok": True})
            if url.path == "/_targets":
                j = self._control_body(body)
                if isinstance(j, dict) and isinstance(j.get("targets"), list):
                    j = j["targets"]
                n = st.add_targets(j if isinstance(j, list) else [j])
                return self._json(200, {"ok": True, "count": n})
            if url.path == "/_faults":
                f = st.add_fault(parse_fault(self._control_body(body)))
                return self._json(200, {"ok": True, "fault": f})
            if url.path == "/_media":
                return self._json(200, {"ok": True,
                                        "path": media_add(self._control_body(body))})
            if url.path == "/_tokens/expire":
                return self._json(200, {"ok": True, "expired": st.expire_tokens()})
        except (BadRequest, ValueError) as e:
            return self._json(400, {"ok": False, "error": str(e)})
        return self._dispatch(st, url, body)

    def _dispatch(self, st, url, body):
        """A request to a platform endpoint: checked, answered, recorded."""
        parts = url.path.strip("/").split("/", 1)
        platform = PLATFORMS.get(parts[0])
        if platform is None:
            return self._json(404, {"ok": False, "error": "no such platform"})
        req = Request(self.command, self.path,
                      urllib.parse.parse_qs(url.query, keep_blank_values=True) if url.query else {},
                      self.headers.lower_map(), body)
        req.handler = self  # a slow answer pauses through it (media_delay)
        routed = platform.route(parts[1] if len(parts) > 1 else "", req)
        if routed is None:
            return self._json(404, {"ok": False, "error": "no such endpoint"})
        req.kind, endpoint, req.ident = routed
        reply = self._platform(st, platform, endpoint, req)
        reply_json = to_json(reply.body) if reply.raw is None and not reply.down else None
        st.record(make_record(req, reply), reply_json)
        if reply.down:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return None
        if reply.raw is not None:
            return self._send(reply.status, reply.raw, reply.ctype, reply.headers)
        return self._send(reply.status, reply_json, "application/json; charset=utf-8",
                          reply.headers)

    def _platform(self, st, platform, endpoint, req):
        target = st.target(req.kind, req.ident)
        # An app message without its recipient is the platform's own
        # "missing field" error, checked behind the token.
        if target is None and req.kind in IMPLICIT and (req.ident or req.kind in APP_MESSAGES):
            target = open_generic(req.kind, req.ident)
        # A request resumed after a slow fault keeps that fault; one
        # resumed after a slow media download (media_delay) takes none.
        resumed = self.resumed_fault
        fault = resumed if resumed is not None and "mode" in resumed else st.take_fault(
            req.kind, req.ident)
        if fault is not None:
            mode = fault["mode"]
            req.extra["fault"] = mode
            req.fault = fault  # its options, for the platform's answer
            if mode == "slow":
                self.pause(fault, fault["ms"] / 1000.0)
            elif mode == "down":
                return Reply(verdict="fault: down (no answer)", down=True)
            elif mode == "lost":
                # The platform does the work, then the answer is lost on
                # the way back (a timeout for the sender): the message is
                # delivered (and recorded as such) but nobody hears it.
                if target is None:
                    r = platform.unknown(endpoint, req)
                else:
                    r = platform.handle(st, target, endpoint, req)
                r.down = True
                return r
            elif mode == "garbage":
                return Reply(200, raw=GARBAGE, ctype="text/html; charset=utf-8",
                             verdict="fault: garbage")
            elif mode == "5xx":
                return Reply(fault["status"], raw=html_error(fault["status"]),
                             ctype="text/html", verdict="fault: HTTP %d" % fault["status"])
            elif mode == "throttle":
                r = platform.throttle(target, endpoint, req, fault)
                r.verdict = "fault: throttle (%s)" % r.verdict
                return r
            elif mode == "fail":
                r = platform.fail(target, endpoint, req, fault.get("code"))
                r.verdict = "fault: fail (%s)" % r.verdict
                return r
        if target is None:
            return platform.unknown(endpoint, req)
        return platform.handle(st, target, endpoint, req)


def make_record(req, reply):
    rec = {
        "time": now_iso(),
        "ts": time.time(),
        "platform": req.kind,
        "target": req.ident,
        "method": req.method,
        "path": req.path,
        "headers": req.headers,
        "json": req.json,
        "verdict": reply.verdict,
        "accepted": reply.accepted,
        "status": None if reply.down else reply.status,
        "reply": None if reply.down else (
            reply.raw.decode("utf-8", "replace") if reply.raw is not None else reply.body),
        "content": req.content,
    }
    if req.json is None:
        rec["body"] = req.raw.decode("utf-8", "replace")
    if req.warnings:
        rec["warnings"] = req.warnings
    rec.update(req.extra)
    return rec


PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="3">
<title>模拟消息平台</title>
<style>
body {{ font-family: sans-serif; margin: 1em; max-width: 60em; }}
.m {{ border: 1px solid #ccc; border-radius: 6px; padding: .5em; margin: .5em 0; }}
.h {{ color: #555; font-size: .9em; }}
.w {{ color: #a60; font-size: .9em; }}
pre {{ white-space: pre-wrap; word-break: break-all; margin: .3em 0 0; }}
details {{ font-size: .85em; color: #444; }}
</style>
</head>
<body>
<h1>模拟消息平台</h1>
<p>这里显示 zhuqi-bot 发到模拟平台（企业微信、钉钉、飞书的群机器人和应用消息、Telegram、通用 Webhook）并被接受的消息，
最新的在前，每 3 秒自动刷新。共收到 {total} 条请求，接受 {accepted} 条，拒绝 {rejected} 条
（拒绝的原因见 <a href="/_messages?accepted=0">/_messages?accepted=0</a>）。</p>
{items}
</body>
</html>
"""


def render_page(st):
    stats = st.get_stats()
    msgs = [m for m in st.list(accepted=True) if m["platform"] not in TOKEN_KINDS][-PAGE_SHOWN:]
    items = []
    for m in reversed(msgs):
        raw = m["json"] if m.get("json") is not None else m.get("body", "")
        if not isinstance(raw, str):
            raw = json.dumps(raw, ensure_ascii=False, indent=2)
        warn = "".join('<div class="w">提示：%s</div>' % html.escape(w)
                       for w in m.get("warnings", []))
        items.append(
            '<div class="m"><div class="h">#%d · %s · %s · %s</div>%s<pre>%s</pre>'
            "<details><summary>原始请求</summary><pre>%s</pre></details></div>"
            % (m["id"], html.escape(m["time"]), html.escape(CHINESE.get(m["platform"],
                                                                        m["platform"])),
               html.escape(m["target"]), warn, html.escape(m.get("content") or ""),
               html.escape(raw)))
    return PAGE.format(total=stats["total"], accepted=stats["accepted"],
                       rejected=stats["rejected"],
                       items="\n".join(items) or "<p>暂无消息。</p>")


class NeedMore(Exception):
    """The request has not all arrived yet."""


class Paused(Exception):
    """A slow fault: answer this request after seconds."""

    def __init__(self, fault, seconds):
        super().__init__(seconds)
        self.fault = fault
        self.seconds = seconds


class Reader:
    """The handler's rfile: reads what has arrived on the connection as a
    blocking socket file would, except that where the socket would wait
    for more it raises NeedMore (the request is then parsed again from
    its start when more has arrived: no handler changes the state before
    it has read the whole request)."""

    __slots__ = ("buf", "pos", "eof")

    def __init__(self):
        self.buf = b""
        self.pos = 0
        self.eof = False

    def readline(self, limit=-1):
        buf, pos = self.buf, self.pos
        end = len(buf) if limit is None or limit < 0 else min(len(buf), pos + limit)
        i = buf.find(b"\n", pos, end)
        if i >= 0:
            end = i + 1
        elif not self.eof and (limit is None or limit < 0 or end - pos < limit):
            raise NeedMore()
        self.pos = end
        return buf[pos:end]

    def read(self, n=-1):
        buf, pos = self.buf, self.pos
        if n is None or n < 0:
            if not self.eof:
                raise NeedMore()
            end = len(buf)
        elif len(buf) - pos >= n:
            end = pos + n
        elif self.eof:
            end = len(buf)
        else:
            raise NeedMore()
        self.pos = end
        return buf[pos:end]


class Writer:
    """The handler's wfile: the answer, sent when the request is done."""

    __slots__ = ("parts",)

    def __init__(self):
        self.parts = []

    def write(self, data):
        self.parts.append(data)
        return len(data)

    def flush(self):
        pass


class Conn(asyncio.Protocol):
    """One client connection: HTTP/1.1 keep-alive, requests answered in
    order, each by Handler on the event loop's one thread. (A thread per
    connection cost more in switching and in the GIL than the requests
    themselves: 10,000 SMS spent most of the fake's CPU there.)"""

    def __init__(self, server):
        self.server = server
        self.transport = None
        self.peer = None
        self.buf = b""
        self.eof = False
        self.closed = False
        self.paused = None  # the timer of a slow fault's answer
        self.continued = False  # 100 Continue sent for this request
        self.last = time.monotonic()
        self.reader = Reader()
        self.writer = Writer()
        self.handler = None

    def connection_made(self, transport):
        self.transport = transport
        self.peer = transport.get_extra_info("peername")
        self.handler = Handler(self)
        self.server.conns.add(self)

    def connection_lost(self, exc):
        self.closed = True
        self.server.conns.discard(self)

    def data_received(self, data):
        self.buf = self.buf + data if self.buf else data
        self.last = time.monotonic()
        if self.paused is None:
            self.run()

    def eof_received(self):
        self.eof = True
        if self.paused is None:
            self.run()
        return True  # answers may still go out; run() closes

    def send_continue(self):
        if not self.continued:
            self.continued = True
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def shutdown(self, how):
        pass  # the "down" fault: close_connection is set, run() closes

    def close(self):
        self.closed = True
        self.transport.close()

    def resume(self, fault):
        self.paused = None
        self.handler.resumed_fault = fault
        self.run()

    def run(self):
        """Answers every request that has fully arrived."""
        h, rd, wr = self.handler, self.reader, self.writer
        while (self.buf or self.eof) and self.paused is None:
            rd.buf, rd.pos, rd.eof = self.buf, 0, self.eof
            wr.parts = []
            h.close_connection = True
            try:
                h.handle_one_request()
            except NeedMore:
                return
            except Paused as p:
                self.paused = self.server.loop.call_later(p.seconds, self.resume, p.fault)
                return
            except Exception:
                # As socketserver did: report, and drop the connection.
                sys.stderr.write("Exception occurred during processing of request from %r\n"
                                 % (self.peer,))
                traceback.print_exc()
                self.close()
                return
            finally:
                h.resumed_fault = None
            self.buf = self.buf[rd.pos:]
            self.continued = False
            self.last = time.monotonic()
            if wr.parts and not self.closed:
                self.transport.write(b"".join(wr.parts) if len(wr.parts) > 1 else wr.parts[0])
            if h.close_connection or self.closed:
                self.close()
                return


class Server:
    """The fake's HTTP/1.1 server: one thread, one event loop, one State."""

    def __init__(self, addr, state):
        self.state = state
        self.conns = set()
        self.loop = asyncio.new_event_loop()
        self.srv = self.loop.run_until_complete(self.loop.create_server(
            lambda: Conn(self), addr[0], addr[1], reuse_address=True, backlog=512))
        self.server_address = self.srv.sockets[0].getsockname()[:2]

    def sweep(self):
        """Closes connections silent for Handler.timeout, as the socket
        timeout of http.server did (not those waiting out a slow fault)."""
        old = time.monotonic() - Handler.timeout
        for c in [c for c in self.conns if c.paused is None and c.last < old]:
            c.close()
        self.loop.call_later(5, self.sweep)

    def serve_forever(self):
        self.loop.call_later(5, self.sweep)
        self.loop.run_forever()

    def shutdown(self):
        self.loop.call_soon_threadsafe(self.loop.stop)

    def server_close(self):
        self.srv.close()
        for c in list(self.conns):
            c.close()
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description="fake messaging platforms for zhuqi")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--log", help="append one JSON line per message received to this file")
    ap.add_argument("--keep", type=int, default=DEFAULT_KEEP,
                    help="messages kept in memory (default %(default)s)")
    ap.add_argument("--rate-window", type=float, default=60.0, metavar="S",
                    help="the rate-limit window in seconds (default 60)")
    ap.add_argument("--targets", help="a JSON file with targets to register at start")
    ap.add_argument("--open", action="store_true",
                    help="register unknown targets on first use (no signature checks)")
    a = ap.parse_args(argv)
    if not a.host.startswith("127."):
        ap.error("--host must be a loopback address (127.0.0.0/8)")
    if a.keep < 1 or a.rate_window <= 0:
        ap.error("--keep and --rate-window must be positive")
    # Records and windows are kept, and thousands of them are made a
    # second: collect cycles every 50,000 allocations, not 700 (nothing
    # per request makes a cycle; the full collections walk every record).
    gc.set_threshold(50000, 20, 20)
    log_file = open(a.log, "a", encoding="utf-8") if a.log else None
    state = State(a.keep, a.rate_window, a.open, log_file)
    if a.targets:
        with open(a.targets, encoding="utf-8") as f:
            j = json.load(f)
        state.add_targets(j.get("targets", []) if isinstance(j, dict) else j)
    srv = Server((a.host, a.port), state)

    srv.loop.add_signal_handler(signal.SIGTERM, srv.shutdown)
    srv.loop.add_signal_handler(signal.SIGINT, srv.shutdown)
    hello = {"event": "listening", "time": now_iso(),
             "url": "http://%s:%d/" % (a.host, srv.server_address[1]),
             "platforms": sorted(PLATFORMS), "open": a.open}
    if log_file is not None:
        log_file.write(json.dumps(hello) + "\n")
        log_file.flush()
    sys.stderr.write("fake platform listening on %s\n" % hello["url"])
    sys.stderr.flush()
    srv.serve_forever()
    srv.server_close()
    if log_file is not None:
        log_file.write(json.dumps({"event": "stopped", "time": now_iso()}) + "\n")
        log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Upload benchmark for `make bench` (bench/run.py calls run_upload on its
main stack): 1 MB evidence files (PDF-shaped) uploaded through nginx to
POST /api/intake/complaint/files, from CONNECTIONS clients at once, each
with drafts of its own (a new draft every max_files uploads). Reports
MB/s, the latency p50/p99 of one upload, and zhuqi-fcgi's resident memory
before, during (sampled every 20 ms) and after: nginx writes each body to
a file and zhuqi-fcgi only hashes and renames it, so its memory must stay
flat. Standard library only; nothing leaves 127.0.0.0/8."""

import http.client
import json
import threading
import time
import urllib.parse

FILE_BYTES = 1024 * 1024
CONNECTIONS = 4
UPLOADS = 240  # 240 MB in all
PER_DRAFT = 20


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pdf_bytes(n, salt):
    head, tail = b"%PDF-1.7\n%" + salt + b"\n", b"\ntrailer\n%%EOF\n"
    return head + b"0" * (n - len(head) - len(tail)) + tail


class Uploader:
    """One client: its own connection, session and drafts."""

    def __init__(self, port, k):
        self.port = port
        self.k = k
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = None
        self.csrf = None
        self.in_draft = 0

    def call(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf:
            h["X-CSRF-Token"] = self.csrf
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        sc = r.getheader("Set-Cookie")
        if sc and sc.startswith("zq_sid="):
            self.cookie = sc.split(";", 1)[0]
        return r.status, data

    def new_draft(self):
        self.cookie = self.csrf = None
        st, data = self.call("POST", "/api/intake/complaint")
        if st not in (200, 201):
            raise RuntimeError("draft: %d %r" % (st, data[:200]))
        self.csrf = json.loads(data)["csrf"]
        self.in_draft = 0

    def upload(self, body):
        if self.csrf is None or self.in_draft >= PER_DRAFT:
            self.new_draft()
        t0 = time.monotonic()
        st, data = self.call("POST", "/api/intake/complaint/files?kind=other", body,
                             {"Content-Type": "application/pdf",
                              "X-File-Name": urllib.parse.quote("材料.pdf")})
        took = time.monotonic() - t0
        if st != 201:
            raise RuntimeError("upload: %d %r" % (st, data[:200]))
        self.in_draft += 1
        return took


def run_upload(stack, pid, uploads=UPLOADS, connections=CONNECTIONS):
    """Returns {"files", "mb", "seconds", "mb_per_s", "p50_ms", "p99_ms",
    "rss_kb_before", "rss_kb_peak", "rss_kb_after", "rss_kb_growth"}."""
    bodies = [pdf_bytes(FILE_BYTES, str(i).encode()) for i in range(connections)]
    clients = [Uploader(stack.port, i) for i in range(connections)]
    for c in clients:  # warm: a draft each and one upload, not measured
        c.upload(bodies[c.k])
    lat, errors = [], []
    lock = threading.Lock()
    left = [uploads]
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(rss_kb(pid))
            time.sleep(0.02)

    def work(c):
        try:
            while True:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                took = c.upload(bodies[c.k])
                with lock:
                    lat.append(took)
        except Exception as e:  # reported, and the figure is marked
            with lock:
                errors.append(str(e))

    before = rss_kb(pid)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t0 = time.monotonic()
    workers = [threading.Thread(target=work, args=(c,)) for c in clients]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    seconds = time.monotonic() - t0
    stop.set()
    th.join()
    after = rss_kb(pid)
    for c in clients:
        c.conn.close()
    lat.sort()
    peak = max(samples + [before])
    n = len(lat)
    mb = n * FILE_BYTES / 1048576
    return {"files": n, "file_bytes": FILE_BYTES, "connections": connections, "mb": mb,
            "seconds": round(seconds, 3), "mb_per_s": round(mb / seconds, 1) if seconds else 0,
            "p50_ms": round(lat[n // 2] * 1000, 2) if n else None,
            "p99_ms": round(lat[min(n - 1, int(n * 0.99))] * 1000, 2) if n else None,
            "rss_kb_before": before, "rss_kb_peak": peak, "rss_kb_after": after,
            "rss_kb_growth": peak - before, "problems": errors[:3]}

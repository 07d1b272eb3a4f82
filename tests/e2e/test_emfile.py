"""zhuqi-fcgi under descriptor exhaustion: accept() failing with EMFILE is
backed off and retried, never the death of a worker thread. Talks FastCGI
directly to the app (no nginx) so the test controls every connection."""

import os
import shutil
import resource
import socket
import struct
import subprocess
import tempfile
import time
import unittest

from harness import FCGI_BIN, ROOT, Stack, child_env, sanitizer_findings, write_ini

FCGI_BEGIN, FCGI_END, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6


def _nv(name, value):
    out = b""
    for s in (name, value):
        n = len(s)
        out += bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return out + name + value


def _record(rtype, body, rid=1):
    return struct.pack(">BBHHBB", 1, rtype, rid, len(body), 0, 0) + body


def fcgi_request(sock_path, path, timeout=10.0):
    """One GET through the FastCGI protocol; returns the CGI response text."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    params = b"".join(_nv(k.encode(), v.encode()) for k, v in (
        ("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", path), ("REQUEST_URI", path),
        ("QUERY_STRING", ""), ("REMOTE_ADDR", "127.0.0.1")))
    s.sendall(_record(FCGI_BEGIN, struct.pack(">HB5x", 1, 0)) + _record(FCGI_PARAMS, params)
              + _record(FCGI_PARAMS, b"") + _record(FCGI_STDIN, b""))
    out, buf = b"", b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 8:
            _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", buf[:8])
            if len(buf) < 8 + clen + plen:
                break
            body, buf = buf[8:8 + clen], buf[8 + clen + plen:]
            if rtype == FCGI_STDOUT:
                out += body
            elif rtype == FCGI_END:
                s.close()
                return out.decode("utf-8", "replace")
    s.close()
    return out.decode("utf-8", "replace")


class TestAcceptEmfile(unittest.TestCase):
    def test_emfile_is_retried(self):
        # Redis from the harness; zhuqi-fcgi started here with a tiny
        # descriptor limit.
        stack = Stack(name="emfile")
        d = tempfile.mkdtemp(prefix="zq-e2e-emfile-")
        sock = os.path.join(d, "fcgi.sock")
        ini = os.path.join(d, "zhuqi.ini")
        write_ini(ini, {
            "server": {"listen": "unix:" + sock, "threads": 8},
            "redis": {"address": "127.0.0.1:%d" % stack.redis_port, "prefix": "zqemfile:"},
            "log": {"level": "info"},
            "intake": {"forms_dir": os.path.join(ROOT, "config", "forms"),
                       "regions": os.path.join(ROOT, "config", "regions.json"),
                       "holidays_dir": os.path.join(ROOT, "config", "holidays")},
        })
        log_path = os.path.join(d, "fcgi.log")
        with open(log_path, "w") as log:
            p = subprocess.Popen([FCGI_BIN, "-c", ini], stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=log, env=child_env())
        held = []
        try:
            deadline = time.time() + 20
            while not os.path.exists(sock) and time.time() < deadline:
                time.sleep(0.05)
            for _ in range(4):
                self.assertIn("200", fcgi_request(sock, "/api/health").split("\r\n")[0])
            # Leave the process two spare descriptors (fewer than its eight
            # workers), once the warm-up connections are closed.
            time.sleep(0.5)
            used = len(os.listdir("/proc/%d/fd" % p.pid))
            resource.prlimit(p.pid, resource.RLIMIT_NOFILE, (used + 2, used + 2))
            # Hold more idle connections than there are descriptors left.
            for _ in range(20):
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.connect(sock)
                held.append(c)
            deadline = time.time() + 10
            found = False
            while time.time() < deadline and not found:
                with open(log_path, errors="replace") as f:
                    found = "event=accept_failed" in f.read()
                time.sleep(0.1)
            self.assertTrue(found, "accept never failed: the limit did not bite")
            self.assertIsNone(p.poll(), "zhuqi-fcgi died under EMFILE")
            for c in held:
                c.close()
            held = []
            # Every worker is still there: more requests than threads succeed.
            for _ in range(30):
                status = fcgi_request(sock, "/api/ping").split("\r\n")[0]
                self.assertEqual(status, "Status: 200 OK")
        finally:
            for c in held:
                c.close()
            if p.poll() is None:
                p.terminate()
            rc = p.wait(15)
            with open(log_path, errors="replace") as f:
                text = f.read()
            stack.close()
        self.assertEqual(rc, 0, text[-2000:])
        self.assertIn("Too many open files", text)
        self.assertEqual(sanitizer_findings(text), [])
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()

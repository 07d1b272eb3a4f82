"""Issue 12, deployment: the site as shipped (nginx/zhuqi.conf rendered with
its defaults) is HTTPS with HSTS and plain HTTP only redirects; the local
plain-HTTP switch is explicit; audit addresses are REMOTE_ADDR; the access
log keeps staff searches out; the local surfaces (socket, rate limits,
dotfiles, admin allow-list, health detail) are closed; `make install`
installs a config only zhuqi can read that reaches Redis over a socket."""

import grp
import json
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import unittest
import uuid
import warnings

from harness import HOST, ROOT, Stack, StackCase, http_request, render_nginx
from staff_util import Tokens, case_commands, complaint_answers, ms_at, redis_pipeline

TOKENS = Tokens()
CASE = "TS20260921-0001"


def existing_group():
    """A group other than root's that exists here (for socket_group)."""
    for name in ("www-data", "nogroup", "daemon", "nobody"):
        try:
            return grp.getgrnam(name)
        except KeyError:
            continue
    return None


class TestDeployRender(unittest.TestCase):
    """The template's defaults are the production site: TLS on, HTTP only
    redirects; the local switch needs saying and stays on loopback."""

    def test_default_is_tls(self):
        site = render_nginx.render(environ={})
        self.assertRegex(site, r"\n\s*listen 443 ssl http2;")
        self.assertRegex(site, r"\n\s*listen 80;")
        self.assertIn("return 301 https://$host$request_uri;", site)
        self.assertIn("ssl_protocols TLSv1.2 TLSv1.3;", site)
        self.assertIn("ssl_certificate     /etc/ssl/zhuqi/fullchain.pem;", site)
        self.assertIn("ssl_session_tickets off;", site)
        self.assertIn("add_header Strict-Transport-Security $zhuqi_hsts always;", site)
        # Off by default: no allow-list, no trusted proxy.
        self.assertNotIn("set_real_ip_from", site)
        self.assertNotRegex(site, r"\n\s*allow (?!127\.0\.0\.1|::1)")
        # The only plain-HTTP server answers with the redirect.
        servers = site.split("\nserver {")[1:]
        plain = [s for s in servers if re.search(r"\n\s*listen [^;]*;", s)
                 and not re.search(r"\n\s*listen [^;]*ssl", s)]
        self.assertEqual(len(plain), 1, plain)
        self.assertNotIn("fastcgi_pass", plain[0])

    def test_default_limits_all_of_api(self):
        site = render_nginx.render(environ={})
        self.assertIn("limit_req_zone $binary_remote_addr zone=zhuqi_api:10m rate=20r/s;", site)
        for loc in re.findall(r"\n    location (?:= )?(/api/[^ ]*) \{(.*?)\n    \}", site, re.S):
            self.assertIn("limit_req zone=zhuqi_api", loc[1], loc[0])

    def test_local_switch_is_explicit_and_loopback(self):
        site = render_nginx.render(render_nginx.local_http_values("127.0.0.1:8080"), environ={})
        self.assertNotIn("ssl_certificate", site)
        self.assertNotIn("return 301", site)
        self.assertIn("listen 127.0.0.1:8080;", site)
        for bad in ({"ZQ_TLS": "off"},
                    {"ZQ_LOCAL_HTTP": "0.0.0.0:8080"},
                    {"ZQ_LOCAL_HTTP": "8080"},
                    {"ZQ_TLS": "maybe"},
                    {"ZQ_LISTEN": "443 ssl"}):
            with self.subTest(values=bad):
                with self.assertRaises(render_nginx.RenderError):
                    render_nginx.render(bad, environ={})

    def test_cli_local_http_flag(self):
        out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "render_nginx.py"),
                              "site", "--local-http", "127.0.0.1:8099"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             check=True).stdout
        self.assertIn("listen 127.0.0.1:8099;", out)
        self.assertNotIn("ssl_certificate", out)


class TestDeployTls(StackCase, unittest.TestCase):
    """A private nginx from the default template with a self-signed
    certificate, the app with its default cookie_secure."""

    STACK_ARGS = {"tls": True}

    def test_http_redirects_to_https(self):
        for path in ("/", "/form.html?x=1", "/api/health", "/api/admin/cases?q=1"):
            with self.subTest(path=path):
                r = http_request(self.stack.port, "GET", path)
                self.assertEqual(r.status, 301, r)
                self.assertEqual(r.header("Location"), "https://127.0.0.1" + path)
                self.assertNotIn(b"{", r.body)  # never the app's answer

    def test_hsts_on_static_and_api(self):
        for path, status in (("/", 200), ("/form.html", 200), ("/no-such-page", 404),
                             ("/api/health", 200), ("/api/ping", 200),
                             ("/api/no-such-thing", 404), ("/api/admin/cases", 401)):
            with self.subTest(path=path):
                r = self.stack.get(path)
                self.assertEqual(r.status, status, r)
                self.assertEqual(r.header("Strict-Transport-Security"),
                                 "max-age=31536000; includeSubDomains", r)

    def _handshake(self, version):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():  # TLSv1_1 is deprecated: that is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = version
            ctx.maximum_version = version
        with socket.create_connection((HOST, self.stack.tls_port), timeout=10) as raw:
            with ctx.wrap_socket(raw) as s:
                return s.version()

    def test_old_tls_refused(self):
        self.assertEqual(self._handshake(ssl.TLSVersion.TLSv1_2), "TLSv1.2")
        self.assertEqual(self._handshake(ssl.TLSVersion.TLSv1_3), "TLSv1.3")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            old = ssl.TLSVersion.TLSv1_1
        try:
            got = self._handshake(old)
        except ssl.SSLError as e:
            if "NO_PROTOCOLS_AVAILABLE" in str(e) or "no protocols available" in str(e):
                self.skipTest("this OpenSSL cannot offer TLSv1.1: %s" % e)
            return  # refused by the server
        except (ValueError, OSError) as e:
            if isinstance(e, ConnectionResetError):
                return
            self.skipTest("TLSv1.1 not testable here: %s" % e)
        self.fail("nginx accepted %s" % got)

    def test_cookie_secure_by_default(self):
        r = self.stack.request("POST", "/api/intake/consult")
        self.assertEqual(r.status, 201, r)
        cookie = r.header("Set-Cookie", "")
        self.assertTrue(cookie.startswith("zq_sid="), cookie)
        self.assertIn("; Secure", cookie)
        self.assertIn("HttpOnly", cookie)
        self.assertNotIn("event=cookie_secure_off", self.stack.fcgi_log())


class TestDeployCookieWarning(unittest.TestCase):
    def test_warns_outside_local_stack_only(self):
        st = Stack(name="CookieWarning", tls=True, ini={"server": {"cookie_secure": False}})
        try:
            r = st.request("POST", "/api/intake/consult")
            self.assertNotIn("Secure", r.header("Set-Cookie", ""))
            log = st.fcgi_log()
        finally:
            st.close()
        self.assertRegex(log, r"level=warn .*event=cookie_secure_off")
        # The local switch (the harness's default) says local_http = true.
        st = Stack(name="CookieLocal")
        try:
            log = st.fcgi_log()
        finally:
            st.close()
        self.assertNotIn("event=cookie_secure_off", log)


class TestDeployStaffTraces(StackCase, unittest.TestCase):
    """Audit addresses and the access log."""

    STACK_ARGS = {"ini": TOKENS.ini()}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        redis_pipeline(cls.stack, case_commands(CASE, "complaint", ms_at(2026, 9, 21),
                                                complaint_answers(1)))

    def call(self, method, path, token, body=None, headers=None):
        h = dict(headers or {})
        h["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            h["Content-Type"] = "application/json"
        return self.stack.request(method, path, body=data, headers=h)

    def test_audit_address_ignores_forwarded_for(self):
        forged = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Real-IP": "203.0.113.10"}
        r = self.call("POST", "/api/admin/cases/%s/notes" % CASE, TOKENS.handler,
                      {"text": "审计 " + uuid.uuid4().hex[:8]}, forged)
        self.assertIn(r.status, (200, 201), r)
        r = self.call("GET", "/api/admin/cases/" + CASE, TOKENS.viewer, headers=forged)
        self.assertEqual(r.status, 200, r)
        r = self.call("POST", "/api/admin/classes", TOKENS.admin,
                      {"id": "deploy-audit", "name": "审计测试", "targets": []}, forged)
        r = self.call("GET", "/api/admin/audit?limit=10", TOKENS.admin)
        self.assertEqual(r.status, 200, r)
        entries = r.json()["entries"]
        actions = {e["action"] for e in entries}
        self.assertTrue({"case_note", "case_view"} <= actions, entries)
        for e in entries:
            self.assertEqual(e["addr"], "127.0.0.1", e)

    def test_access_log_leaves_out_staff_queries(self):
        r = self.call("GET", "/api/admin/cases?q=13800138000&limit=5", TOKENS.viewer)
        self.assertEqual(r.status, 200, r)
        r = self.stack.get("/api/ping?probe=public-query-kept")
        self.assertEqual(r.status, 200, r)
        log = self.stack.wait_for(
            lambda: (lambda s: s if "public-query-kept" in s else None)(self.stack.access_log()),
            10, "the access log line of the public request")
        self.assertNotIn("13800138000", log)
        self.assertRegex(log, r'"GET /api/admin/cases HTTP/1\.1" 200 ')
        self.assertIn('"GET /api/ping?probe=public-query-kept HTTP/1.1" 200 ', log)


GROUP = existing_group()


class TestDeployLocalSurfaces(StackCase, unittest.TestCase):
    """Socket mode and group, dotfiles, the admin allow-list (127.0.0.2
    only, so the test client on 127.0.0.1 is refused), health detail."""

    html = None

    @classmethod
    def setUpClass(cls):
        cls.html = tempfile.mkdtemp(prefix="zq-e2e-html-")
        shutil.copytree(os.path.join(ROOT, "nginx", "html"), cls.html, dirs_exist_ok=True)
        with open(os.path.join(cls.html, ".secret"), "w") as f:
            f.write("DOTFILE-CONTENT\n")
        os.makedirs(os.path.join(cls.html, ".git"))
        with open(os.path.join(cls.html, ".git", "config"), "w") as f:
            f.write("DOTFILE-CONTENT\n")
        os.makedirs(os.path.join(cls.html, ".well-known"))
        with open(os.path.join(cls.html, ".well-known", "probe.txt"), "w") as f:
            f.write("acme\n")
        ini = TOKENS.ini()
        if GROUP is not None and os.geteuid() == 0:  # chown to a group we are not in
            ini["server"] = {"socket_group": GROUP.gr_name}
        cls.STACK_ARGS = {"ini": ini,
                          "nginx": {"ZQ_HTML_ROOT": cls.html, "ZQ_ADMIN_ALLOW": "127.0.0.2"}}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.html, ignore_errors=True)

    def test_socket_mode_0660(self):
        st = os.stat(self.stack.fcgi_sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        if GROUP is not None and os.geteuid() == 0:
            self.assertEqual(st.st_gid, GROUP.gr_gid)

    def test_dotfiles_not_served(self):
        for path in ("/.secret", "/.git/config", "/assets/../.secret", "/admin/.secret"):
            with self.subTest(path=path):
                r = self.stack.get(path)
                self.assertIn(r.status, (403, 404), r)
                self.assertNotIn(b"DOTFILE-CONTENT", r.body)
        self.assertEqual(self.stack.get("/.well-known/probe.txt").status, 200)

    def test_admin_allow_list(self):
        auth = {"Authorization": "Bearer " + TOKENS.admin}
        for path in ("/api/admin/cases", "/api/admin/me"):
            with self.subTest(path=path):
                r = self.stack.request("GET", path, headers=auth)
                self.assertErrorShape(r, 403, "forbidden")
                r = self.stack.request("GET", path, headers=auth, source="127.0.0.2")
                self.assertEqual(r.status, 200, r)
        r = self.stack.get("/admin/")
        self.assertEqual(r.status, 403, r)
        self.assertEqual(self.stack.get("/admin/", source="127.0.0.2").status, 200)
        # The public site is not behind the list.
        self.assertEqual(self.stack.get("/api/ping").status, 200)
        self.assertEqual(self.stack.get("/form.html").status, 200)

    def test_health_detail_for_loopback_only(self):
        st = self.stack
        st.redis_command("CONFIG", "SET", "min-replicas-to-write", "1")
        try:
            local = st.get("/api/health")
            remote = st.get("/api/health", source="127.0.0.2")
        finally:
            st.redis_command("CONFIG", "SET", "min-replicas-to-write", "0")
        body = self.assertErrorShape(local, 503, "storage_unavailable")
        self.assertIn("NOREPLICAS", body.get("redis_error", ""), local)
        body = self.assertErrorShape(remote, 503, "storage_unavailable")
        self.assertEqual(body.get("redis"), "read-only", remote)
        self.assertNotIn("NOREPLICAS", remote.body.decode("utf-8"), remote)
        self.assertNotIn("replica", remote.body.decode("utf-8").lower(), remote)


class TestDeployApiRate(StackCase, unittest.TestCase):
    """The general /api/ zone covers health and ping."""

    STACK_ARGS = {"rates": {"api": ("1r/m", 1)}}

    def test_health_and_ping_limited(self):
        for path in ("/api/health", "/api/ping"):
            with self.subTest(path=path):
                got = [self.stack.get(path) for _ in range(4)]
                limited = [r for r in got if r.status == 429]
                self.assertTrue(limited, [r.status for r in got])
                self.assertErrorShape(limited[0], 429, "rate_limited")
        # Static pages are not in the zone.
        self.assertEqual(self.stack.get("/form.html").status, 200)


def _build_flavour():
    """BUILD=... matching ZQ_BIN_DIR (build/asan -> asan), or None."""
    d = os.path.normpath(os.environ.get("ZQ_BIN_DIR", "build/asan"))
    parts = d.split(os.sep)
    if len(parts) >= 2 and parts[-2] == "build":
        return parts[-1]
    return None


class TestDeployInstall(unittest.TestCase):
    """`make install DESTDIR=...` (no systemd needed)."""

    def test_install_config_modes_and_redis(self):
        build = _build_flavour()
        if build is None:
            self.skipTest("ZQ_BIN_DIR is not build/<flavour>")
        dest = tempfile.mkdtemp(prefix="zq-e2e-install-")
        group = GROUP.gr_name if GROUP is not None else "root"
        try:
            r = subprocess.run(["make", "-C", ROOT, "install", "BUILD=" + build,
                                "DESTDIR=" + dest, "CONFIG_GROUP=" + group],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=600)
            self.assertEqual(r.returncode, 0, r.stdout[-3000:])
            ini = os.path.join(dest, "etc", "zhuqi", "zhuqi.ini")
            st = os.stat(ini)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
            if os.geteuid() == 0:
                self.assertEqual(st.st_uid, 0)
                self.assertEqual(st.st_gid, grp.getgrnam(group).gr_gid)
            with open(ini, encoding="utf-8") as f:
                text = f.read()
            address = re.search(r"^address\s*=\s*(\S+)\s*$", text, re.M).group(1)
            password = re.search(r"^password\s*=\s*(.*?)\s*$", text, re.M).group(1)
            self.assertTrue(address.startswith("unix:") or password,
                            "Redis over TCP without a password: %s" % address)
            self.assertRegex(text, r"(?m)^cookie_secure\s*=\s*true\s*$")
            self.assertRegex(text, r"(?m)^local_http\s*=\s*false\s*$")
            units = os.path.join(dest, "usr", "local", "lib", "systemd", "system")
            for unit in ("zhuqi-fcgi.service", "zhuqi-bot.service"):
                with open(os.path.join(units, unit), encoding="utf-8") as f:
                    u = f.read()
                with self.subTest(unit=unit):
                    self.assertRegex(u, r"(?m)^User=zhuqi$")
                    self.assertRegex(u, r"(?m)^Group=zhuqi$")
                    self.assertRegex(u, r"(?m)^SupplementaryGroups=.*\bredis\b")
                    self.assertNotIn("@PREFIX@", u)
            with open(os.path.join(units, "zhuqi-fcgi.service"), encoding="utf-8") as f:
                self.assertRegex(f.read(), r"(?m)^Environment=ZHUQI_SERVER_SOCKET_GROUP=www-data$")
        finally:
            shutil.rmtree(dest, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()

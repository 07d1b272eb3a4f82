"""The Debian package (make deb, debian/) on this machine: build, install
with dpkg, run the installed programs as the units would, upgrade to a
rebuilt package with a locally edited /etc/zhuqi/zhuqi.ini, remove, purge.

It needs root and dpkg-buildpackage (scripts/deps.sh test installs it);
without them it is skipped. It refuses to run (skips) when zhuqi is
already on the machine (a package or a `make install` into /etc/zhuqi), so
it never touches an operator's install. Two runs on one machine take turns
through a lock file. Nothing is started through systemd: the programs run
as the zhuqi user with the installed config, pointed by ZHUQI_* variables
at a private Redis and loopback ports, so no port or /etc path clashes with
the other tests or a local stack.
"""

import fcntl
import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

from harness import (HOST, ROOT, Proc, child_env, find_exe, free_port, http_request,
                     make_self_signed, render_nginx, sha256_hex)

LOCK = ("/run/lock" if os.path.isdir("/run/lock") else "/tmp") + "/zhuqi-e2e-deb.lock"
EDIT_MARK = "# e2e: a local edit that an upgrade must keep"
# Every path the package installs outside /usr/share/doc, and what purge
# must leave behind: none of them.
PACKAGE_PATHS = [
    "/usr/bin/zhuqi-fcgi", "/usr/bin/zhuqi-bot", "/usr/bin/zhuqi-admin",
    "/usr/share/zhuqi/html/index.html", "/etc/zhuqi/zhuqi.ini",
    "/etc/zhuqi/forms/complaint.json", "/etc/nginx/sites-available/zhuqi",
    "/lib/systemd/system/zhuqi-fcgi.service", "/lib/systemd/system/zhuqi-bot.service",
    "/var/lib/zhuqi",
]


def run(argv, timeout=600, check=True, env=None):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, errors="replace", timeout=timeout,
                       env=env)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s" % (" ".join(argv), p.returncode, p.stdout[-4000:]))
    return p


def dpkg_status():
    p = run(["dpkg-query", "-W", "-f=${Status} ${Version}", "zhuqi"], check=False)
    return p.stdout.strip() if p.returncode == 0 else ""


def upstream_version():
    with open(os.path.join(ROOT, "VERSION")) as f:
        return f.read().strip()


def mode_owner(path):
    st = os.stat(path)
    return (stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name,
            grp.getgrgid(st.st_gid).gr_name)


def skip_reason():
    if os.geteuid() != 0:
        return "needs root (dpkg -i)"
    if shutil.which("dpkg-buildpackage") is None or shutil.which("dh") is None:
        return "dpkg-buildpackage/debhelper missing (scripts/deps.sh test)"
    return None


@unittest.skipIf(skip_reason() is not None, skip_reason() or "")
class TestDebianPackage(unittest.TestCase):
    def setUp(self):
        self.lock = open(LOCK, "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        status = dpkg_status()
        if "installed" in status or "config-files" in status:
            self.skipTest("zhuqi is installed on this machine (%s): not touching it" % status)
        if os.path.exists("/etc/zhuqi") or os.path.exists("/etc/nginx/sites-available/zhuqi"):
            self.skipTest("/etc/zhuqi exists (a `make install`?): not touching it")
        self.user_existed = self._user_exists()
        self.dir = tempfile.mkdtemp(prefix="zq-e2e-deb-")
        os.chmod(self.dir, 0o755)  # the zhuqi user reaches its log there
        self.procs = []
        self.installed = False

    def tearDown(self):
        for p in self.procs:
            p.terminate()
        if self.installed or dpkg_status():
            run(["dpkg", "--purge", "zhuqi"], check=False)
        if not self.user_existed and self._user_exists():
            # The package keeps its user (policy); the test leaves the
            # machine as it found it.
            run(["userdel", "zhuqi"], check=False)
            run(["groupdel", "zhuqi"], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        fcntl.flock(self.lock, fcntl.LOCK_UN)
        self.lock.close()

    @staticmethod
    def _user_exists():
        try:
            pwd.getpwnam("zhuqi")
            return True
        except KeyError:
            return False

    # --- steps ----------------------------------------------------------

    def build(self, version=None, reuse=False):
        env = dict(os.environ)
        env.pop("DEB_VERSION", None)
        if version:
            env["DEB_VERSION"] = version
        if reuse:
            env["DEB_REUSE"] = "1"
        out = run([os.path.join(ROOT, "scripts", "deb.sh")], env=env).stdout.strip().splitlines()
        deb = os.path.join(ROOT, out[-1])
        self.assertTrue(os.path.isfile(deb), out)
        self.assertRegex(os.path.basename(deb), r"^zhuqi_[0-9][^_]*_amd64\.deb$")
        return deb

    def install(self, deb):
        self.installed = True
        run(["dpkg", "-i", deb])

    def start_programs(self, tag):
        """zhuqi-fcgi and zhuqi-bot from /usr/bin, as the zhuqi user with
        /etc/zhuqi/zhuqi.ini (as the units start them), a private Redis and
        nginx serving /usr/share/zhuqi/html; returns the HTTP port."""
        d = os.path.join(self.dir, tag)
        os.makedirs(os.path.join(d, "redis"))
        os.chmod(d, 0o755)
        redis_port, fcgi_port, http_port = free_port(), free_port(), free_port()
        redis = find_exe("redis-server", "ZQ_REDIS_SERVER")
        self.procs.append(Proc("redis", [redis, "--port", str(redis_port), "--bind", HOST,
                                         "--save", "", "--appendonly", "no",
                                         "--dir", os.path.join(d, "redis")],
                               os.path.join(d, "redis.log")))
        token = "deb-e2e-token"
        env = child_env({
            "ZHUQI_SERVER_LISTEN": "%s:%d" % (HOST, fcgi_port),
            "ZHUQI_REDIS_ADDRESS": "%s:%d" % (HOST, redis_port),
            "ZHUQI_REDIS_PREFIX": "zqdeb:",
            "ZHUQI_STAFF_TOKENS": "deb:admin:" + sha256_hex(token),
        })
        # Never the real platforms from a test.
        for p in ("wecom", "dingtalk", "dingtalk_api", "feishu", "telegram"):
            env["ZHUQI_CHANNELS_%s_BASE_URL" % p.upper()] = "http://127.0.0.1:9/" + p
        # setpriv execs the program itself (runuser would stay in between
        # and turn a clean exit on SIGTERM into a signal death).
        as_zhuqi = ["setpriv", "--reuid=zhuqi", "--regid=zhuqi", "--init-groups", "--"]
        cfg = "/etc/zhuqi/zhuqi.ini"
        check = run(as_zhuqi + ["/usr/bin/zhuqi-fcgi", "--check-config", cfg], env=env)
        self.assertIn("threads", check.stdout)
        fcgi = Proc("fcgi", as_zhuqi + ["/usr/bin/zhuqi-fcgi", "-c", cfg],
                    os.path.join(d, "fcgi.log"), env=env)
        self.procs.append(fcgi)
        bot = Proc("bot", as_zhuqi + ["/usr/bin/zhuqi-bot", "-c", cfg],
                   os.path.join(d, "bot.log"), env=env)
        self.procs.append(bot)
        values = render_nginx.local_http_values("%s:%d" % (HOST, http_port))
        values.update({"ZQ_SERVER_NAME": "localhost", "ZQ_HTML_ROOT": "/usr/share/zhuqi/html",
                       "ZQ_FCGI_ADDR": "%s:%d" % (HOST, fcgi_port),
                       "ZQ_ACCESS_LOG": os.path.join(d, "access.log")})
        prefix = os.path.join(d, "nginx")
        err = os.path.join(d, "nginx-error.log")
        main = render_nginx.write_private(prefix, values, os.path.join(d, "nginx.pid"), err,
                                          environ={})
        self.procs.append(Proc("nginx", [find_exe("nginx", "ZQ_NGINX"), "-p", prefix, "-c",
                                         main, "-e", err], os.path.join(d, "nginx.log")))
        deadline = time.monotonic() + 30
        last = None
        while time.monotonic() < deadline:
            self.assertTrue(fcgi.alive(), "zhuqi-fcgi exited:\n" + fcgi.log())
            self.assertTrue(bot.alive(), "zhuqi-bot exited:\n" + bot.log())
            try:
                last = http_request(http_port, "GET", "/api/health", timeout=2)
                if last.status == 200:
                    break
            except OSError as e:
                last = e
            time.sleep(0.2)
        else:
            self.fail("no healthy /api/health: %r\n%s" % (last, fcgi.log()[-2000:]))
        self.assertEqual(last.json().get("redis"), "up")
        page = http_request(http_port, "GET", "/", timeout=5)
        self.assertEqual(page.status, 200)
        self.assertIn("助企", page.body.decode("utf-8"))
        staff = http_request(http_port, "GET", "/api/admin/stats",
                             headers={"Authorization": "Bearer " + token}, timeout=5)
        self.assertEqual(staff.status, 200, staff)
        return http_port

    def stop_programs(self):
        for p in reversed(self.procs):
            rc, _ = p.terminate()
            if p.name in ("fcgi", "bot"):
                self.assertEqual(rc, 0, "%s did not stop cleanly:\n%s" % (p.name, p.log()[-2000:]))
        self.procs = []

    def check_layout(self, version):
        self.assertEqual(dpkg_status(), "install ok installed " + version)
        for path in PACKAGE_PATHS:
            self.assertTrue(os.path.exists(path), path)
        user = pwd.getpwnam("zhuqi")
        self.assertLess(user.pw_uid, 1000, "a system user")
        self.assertEqual(user.pw_shell, "/usr/sbin/nologin")
        self.assertEqual(mode_owner("/etc/zhuqi/zhuqi.ini"), (0o640, "root", "zhuqi"))
        self.assertEqual(mode_owner("/var/lib/zhuqi"), (0o750, "zhuqi", "zhuqi"))
        conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "zhuqi"]).stdout
        for f in ("/etc/zhuqi/zhuqi.ini", "/etc/nginx/sites-available/zhuqi",
                  "/etc/zhuqi/forms/complaint.json"):
            self.assertIn(f + " ", conffiles)
        depends = run(["dpkg-query", "-W", "-f=${Depends}", "zhuqi"]).stdout
        for dep in ("redis-server", "nginx", "libhiredis", "libfcgi", "libjansson", "libcurl",
                    "libssl", "libinih"):
            self.assertIn(dep, depends)
        # The installed site file is valid nginx once it has a certificate.
        site = open("/etc/nginx/sites-available/zhuqi", encoding="utf-8").read()
        self.assertIn("/usr/share/zhuqi/html", site)
        self.assertIn("unix:/run/zhuqi/zhuqi-fcgi.sock", site)
        cert, key = make_self_signed(self.dir)
        site = site.replace("/etc/ssl/zhuqi/fullchain.pem", cert)
        site = site.replace("/etc/ssl/zhuqi/privkey.pem", key)
        site = site.replace("/var/log/nginx/zhuqi.access.log", os.path.join(self.dir, "a.log"))
        for port in ("443", "80"):
            site = site.replace("listen %s" % port, "listen 127.0.0.1:%d" % free_port())
            site = site.replace("listen [::]:%s" % port, "listen [::1]:%d" % free_port())
        prefix = tempfile.mkdtemp(prefix="nginx-t-", dir=self.dir)
        with open(os.path.join(prefix, "site.conf"), "w", encoding="utf-8") as f:
            f.write(site)
        main = os.path.join(prefix, "nginx.conf")
        with open(main, "w", encoding="utf-8") as f:
            f.write(render_nginx.render_main(os.path.join(prefix, "site.conf"), prefix,
                                             os.path.join(prefix, "pid"),
                                             os.path.join(prefix, "err.log")))
        run([find_exe("nginx", "ZQ_NGINX"), "-t", "-q", "-p", prefix, "-c", main,
             "-e", os.path.join(prefix, "err.log")])

    # --- the test -------------------------------------------------------

    def test_install_upgrade_remove_purge(self):
        v1 = upstream_version()
        deb1 = self.build()
        self.assertEqual(os.path.basename(deb1), "zhuqi_%s_amd64.deb" % v1)
        self.install(deb1)
        self.check_layout(v1)
        self.start_programs("v1")

        # The operator edits the config; the upgrade must keep it.
        with open("/etc/zhuqi/zhuqi.ini", encoding="utf-8") as f:
            text = f.read()
        self.assertIn("\nthreads = 64\n", text)
        text = text.replace("\nthreads = 64\n", "\nthreads = 24\n", 1) + EDIT_MARK + "\n"
        with open("/etc/zhuqi/zhuqi.ini", "w", encoding="utf-8") as f:
            f.write(text)

        v2 = v1 + "+e2e1"
        deb2 = self.build(v2, reuse=True)
        self.install(deb2)
        self.check_layout(v2)
        with open("/etc/zhuqi/zhuqi.ini", encoding="utf-8") as f:
            self.assertEqual(f.read(), text, "the upgrade kept the local edit")
        self.assertFalse(os.path.exists("/etc/zhuqi/zhuqi.ini.dpkg-new"))
        self.assertFalse(os.path.exists("/etc/zhuqi/zhuqi.ini.dpkg-dist"))
        self.stop_programs()
        self.start_programs("v2")
        self.stop_programs()

        # Remove: programs gone, conffiles stay (policy).
        run(["dpkg", "--remove", "zhuqi"])
        self.assertFalse(os.path.exists("/usr/bin/zhuqi-fcgi"))
        self.assertFalse(os.path.exists("/usr/share/zhuqi"))
        self.assertTrue(os.path.exists("/etc/zhuqi/zhuqi.ini"))
        self.assertIn("config-files", dpkg_status())

        # Purge: nothing left but the system user (policy keeps it).
        run(["dpkg", "--purge", "zhuqi"])
        self.installed = False
        self.assertEqual(dpkg_status(), "")
        for path in PACKAGE_PATHS + ["/etc/zhuqi", "/usr/share/zhuqi"]:
            self.assertFalse(os.path.exists(path), "%s left after purge" % path)
        wants = "/etc/systemd/system/multi-user.target.wants"
        if os.path.isdir(wants):
            self.assertEqual([f for f in os.listdir(wants) if f.startswith("zhuqi")], [])
        self.assertTrue(self._user_exists(), "the zhuqi user stays (Debian policy)")


if __name__ == "__main__":
    unittest.main()


class TestMakeInstall(unittest.TestCase):
    """`make install` into a DESTDIR twice: the second keeps an edited
    zhuqi.ini and puts the shipped one beside it as zhuqi.ini.dist."""

    def test_existing_config_is_kept(self):
        dest = tempfile.mkdtemp(prefix="zq-e2e-install-")
        try:
            bin_dir = os.environ.get("ZQ_BIN_DIR", "build/asan").rstrip("/")
            build = os.path.basename(bin_dir)
            argv = ["make", "--no-print-directory", "-C", ROOT, "BUILD=" + build, "install",
                    "DESTDIR=" + dest, "PREFIX=/usr"]
            run(argv)
            cfg = os.path.join(dest, "etc", "zhuqi", "zhuqi.ini")
            with open(os.path.join(ROOT, "config", "zhuqi.ini"), encoding="utf-8") as f:
                shipped = f.read()
            with open(cfg, encoding="utf-8") as f:
                self.assertEqual(f.read(), shipped)
            self.assertEqual(stat.S_IMODE(os.stat(cfg).st_mode), 0o640)
            with open(cfg, "a", encoding="utf-8") as f:
                f.write(EDIT_MARK + "\n")
            out = run(argv).stdout
            self.assertIn("kept", out)
            with open(cfg, encoding="utf-8") as f:
                self.assertEqual(f.read(), shipped + EDIT_MARK + "\n")
            with open(cfg + ".dist", encoding="utf-8") as f:
                self.assertEqual(f.read(), shipped)
            self.assertTrue(os.path.exists(os.path.join(dest, "usr", "lib", "systemd", "system",
                                                        "zhuqi-fcgi.service")))
        finally:
            shutil.rmtree(dest, ignore_errors=True)

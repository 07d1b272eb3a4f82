"""Command line of both programs: --check-config (good and broken files,
secrets masked), --version, usage errors."""

import os
import re
import tempfile
import unittest

from harness import BOT_BIN, FCGI_BIN, ROOT, run_program, sanitizer_findings, sha256_hex, write_ini

SECRET = "e2e-Redis-Pa55word-should-never-show"
TOKEN_HASH = sha256_hex("e2e-staff-token")

PROGRAMS = (("zhuqi-fcgi", FCGI_BIN), ("zhuqi-bot", BOT_BIN))


class TestCheckConfig(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="zq-e2e-config-")
        self.good = os.path.join(self.dir, "good.ini")
        write_ini(self.good, {
            "server": {"listen": "unix:%s/fcgi.sock" % self.dir, "max_body": "64k",
                       "threads": 4},
            "redis": {"address": "127.0.0.1:1", "prefix": "zqcheck:"},
            "log": {"level": "warn"},
            "staff": {"token": "alice:admin:" + TOKEN_HASH},
            "intake": {"forms_dir": os.path.join(ROOT, "config", "forms"),
                       "regions": os.path.join(ROOT, "config", "regions.json"),
                       "holidays_dir": os.path.join(ROOT, "config", "holidays")},
        })

    def tearDown(self):
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))
        os.rmdir(self.dir)

    def run_clean(self, argv, env=None):
        p = run_program(argv, env)
        self.assertEqual(sanitizer_findings(p.stdout + p.stderr), [], p.stderr)
        return p

    def test_good_file(self):
        for prog, exe in PROGRAMS:
            with self.subTest(prog=prog):
                p = self.run_clean([exe, "--check-config", self.good],
                                   {"ZHUQI_REDIS_PASSWORD": SECRET})
                self.assertEqual(p.returncode, 0, p.stderr)
                out = p.stdout + p.stderr
                self.assertNotIn(SECRET, out, "the Redis password must be masked")
                self.assertIn("[server]", p.stdout)
                self.assertIn("fcgi.sock", p.stdout)
                self.assertRegex(p.stdout, r"max_body\s*=\s*(65536|64k)")
                self.assertRegex(p.stdout, r"(?m)^\s*password\s*=\s*\S", "password shown masked")

    def test_broken_schema(self):
        """A broken form schema stops zhuqi-fcgi, naming the file and the
        path inside it."""
        forms = os.path.join(self.dir, "forms")
        os.mkdir(forms)
        with open(os.path.join(ROOT, "config", "forms", "consult.json")) as f:
            text = f.read()
        with open(os.path.join(forms, "consult.json"), "w") as f:
            f.write(text.replace('"type": "mobile"', '"type": "telephone"', 1))
        cfg = os.path.join(self.dir, "schema.ini")
        write_ini(cfg, {"intake": {"forms_dir": forms,
                                   "regions": os.path.join(ROOT, "config", "regions.json")}})
        try:
            p = self.run_clean([FCGI_BIN, "--check-config", cfg])
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertRegex(p.stderr, r"consult\.json: steps\[\d+\]\.fields\[\d+\]\.type: ")
            self.assertIn("telephone", p.stderr)
        finally:
            os.unlink(os.path.join(forms, "consult.json"))
            os.rmdir(forms)

    def test_broken_file(self):
        bad = os.path.join(self.dir, "bad.ini")
        with open(bad, "w") as f:
            f.write("# a broken file\n[server]\nthreads = banana\nmax_body = 64k\n")
        for prog, exe in PROGRAMS:
            with self.subTest(prog=prog):
                p = self.run_clean([exe, "--check-config", bad])
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertRegex(p.stderr, r"(?m)^%s: %s:3: \[server\] threads: \S"
                                 % (re.escape(prog), re.escape(bad)))

    def test_unknown_key_and_section(self):
        # A typo must not be ignored silently. An unknown section may be
        # reported at its header line or at its first key.
        for text, line, where in (("[server]\nlisten = unix:/tmp/x.sock\nno_such_key = 1\n", "3",
                                   r"\[server\] no_such_key"),
                                  ("[nosuchsection]\nkey = 1\n", "[12]", r"\[nosuchsection\]")):
            bad = os.path.join(self.dir, "bad.ini")
            with open(bad, "w") as f:
                f.write(text)
            with self.subTest(where=where):
                p = self.run_clean([FCGI_BIN, "--check-config", bad])
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertRegex(p.stderr, r"zhuqi-fcgi: %s:%s: %s\S*:? \S"
                                 % (re.escape(bad), line, where))

    def test_run_with_broken_file_exits_2(self):
        bad = os.path.join(self.dir, "bad.ini")
        with open(bad, "w") as f:
            f.write("[redis]\naddress = not an address\n")
        for prog, exe in PROGRAMS:
            with self.subTest(prog=prog):
                p = self.run_clean([exe, "-c", bad])
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn("%s:2:" % bad, p.stderr)

    def test_missing_file_exits_2(self):
        missing = os.path.join(self.dir, "missing.ini")
        for prog, exe in PROGRAMS:
            with self.subTest(prog=prog):
                p = self.run_clean([exe, "-c", missing])
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(missing, p.stderr)

    def test_version(self):
        with open(os.path.join(ROOT, "VERSION")) as f:
            version = f.read().strip()
        for prog, exe in PROGRAMS:
            with self.subTest(prog=prog):
                p = self.run_clean([exe, "--version"])
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn(version, p.stdout)

    def test_usage_error_exits_2(self):
        for prog, exe in PROGRAMS:
            with self.subTest(prog=prog):
                p = self.run_clean([exe, "--no-such-option"])
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertTrue(p.stderr.strip())


if __name__ == "__main__":
    unittest.main()

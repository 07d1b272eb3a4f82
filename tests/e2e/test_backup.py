"""zhuqi-admin backup and restore (lib/core/backup.c) on a live stack:
cases in every status with their history, drafts, targets, a notice
delivered and one still in the outbox; a backup taken while submissions
keep coming; Redis wiped; the backup restored; everything compared key by
key and through the staff API; the queued notice then delivered exactly
once and the delivered one not again. And the refusals: a non-empty
instance, a damaged file, a foreign prefix, a backup without manifest."""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

from bot_util import add_target, all_final, get, notice, wait_report
from harness import BIN_DIR, StackCase, child_env, write_ini
from staff_util import case_commands, complaint_answers, consult_answers, redis_pipeline
from test_files import jpeg, pdf
from test_intake import Client, sample_for

ADMIN_BIN = os.path.join(BIN_DIR, "zhuqi-admin")
PREFIX = "zqe2e:"
COMPLAINT_STATUSES = ["submitted", "needs_info", "accepted", "rejected", "transferred",
                      "in_progress", "answered", "closed", "withdrawn"]
CONSULT_STATUSES = ["submitted", "assigned", "answered", "closed"]
TARGETS = ["bk-a", "bk-b", "bk-c"]


def admin(stack, *args, ini=None):
    return subprocess.run([ADMIN_BIN, "-c", ini or stack.ini_path] + list(args),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=child_env(), timeout=300)


def dump_state(stack):
    """{key: (type, value)} of every key under the prefix, values in a
    comparable form; keys that only pace or guard the programs (leases,
    rate windows, nonces) are left out, they are not data."""
    out = {}
    keys = stack.redis_command("KEYS", PREFIX + "*")
    for k in keys:
        t = stack.redis_command("TYPE", k)
        if t == "string":
            v = stack.redis_command("GET", k)
        elif t == "hash":
            flat = stack.redis_command("HGETALL", k)
            v = dict(zip(flat[::2], flat[1::2]))
        elif t == "list":
            v = stack.redis_command("LRANGE", k, 0, -1)
        elif t == "set":
            v = sorted(stack.redis_command("SMEMBERS", k))
        elif t == "zset":
            flat = stack.redis_command("ZRANGE", k, 0, -1, "WITHSCORES")
            v = dict(zip(flat[::2], flat[1::2]))
        elif t == "stream":
            v = {e[0]: e[1] for e in stack.redis_command("XRANGE", k, "-", "+")}
        else:
            continue
        out[k] = (t, v)
    return out


class TestBackupRestore(StackCase, unittest.TestCase):
    STACK_ARGS = {"bot": True, "fake": True,
                  "ini": {"bot": {"timeout_ms": 2000, "claim_idle_ms": 3000}}}

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="zq-e2e-backup-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def submit_consult(self, schema, n):
        c = Client(self.stack)
        r = c.start("consult")
        self.assertIn(r.status, (200, 201), r)
        for st in (s for s in schema["steps"] if not s.get("review")):
            ans = {f["id"]: sample_for(f) for f in st.get("fields", [])}
            if "company_name" in ans:
                ans["company_name"] = "备份测试企业%d" % n
            r = c.call("PUT", "/api/intake/consult/steps/%s" % st["id"], {"answers": ans})
            self.assertEqual(r.status, 200, r)
        r = c.call("POST", "/api/intake/consult/submit",
                   headers={"Idempotency-Key": uuid.uuid4().hex})
        self.assertEqual(r.status, 201, r)
        return r.json()["case"]["id"]

    def fill(self, schema):
        st = self.stack
        cmds = []
        ids = []
        t0 = int(time.time() * 1000) - 86400000 * 40
        for i, s in enumerate(COMPLAINT_STATUSES):
            cid = "TS20260101-%04d" % (i + 1)
            log = [{"at_ms": t0 + i, "from": "", "to": "submitted", "by": "web", "note": ""},
                   {"at_ms": t0 + i + 1000, "from": "submitted", "to": s, "by": "hd1",
                    "note": "备注%d" % i}]
            cmds += case_commands(cid, "complaint", t0 + i, complaint_answers(i), status=s,
                                  log=log)
            ids.append(cid)
        for i, s in enumerate(CONSULT_STATUSES):
            cid = "ZX20260101-%04d" % (i + 1)
            cmds += case_commands(cid, "consult", t0 + 100 + i, consult_answers(i), status=s)
            ids.append(cid)
        redis_pipeline(st, cmds)
        for n in range(3):
            ids.append(self.submit_consult(schema, n))
        # Drafts: started, one step saved, never submitted.
        for n in range(2):
            c = Client(st)
            self.assertIn(c.start("complaint").status, (200, 201))
        for name in TARGETS:
            add_target(st, id=name, channel="generic", address=st.fake.generic_url(name),
                       tags=["backup"])
        return ids

    def test_backup_under_load_wipe_restore(self):
        st = self.stack
        schema = st.request("GET", "/api/forms/consult").json()
        ids = self.fill(schema)
        delivered = notice(st, "已送达通知", "备份前已送达。", {"tags": ["backup"]})
        wait_report(st, delivered, all_final(len(TARGETS)))
        # The bot stops; the next notice waits in the outbox.
        self.assertEqual(st.stop("bot")[0], 0)
        queued = notice(st, "排队中通知", "备份时仍在发件箱。", {"tags": ["backup"]})
        before = dump_state(st)
        details = {cid: get(st, "/api/admin/cases/" + cid).json() for cid in ids}
        targets = get(st, "/api/admin/targets").json()

        # Submissions keep coming while the backup runs.
        acked, stop = [], threading.Event()
        errors = []

        def load():
            n = 100
            while not stop.is_set():
                try:
                    acked.append((time.monotonic(), self.submit_consult(schema, n)))
                except Exception as e:  # reported below, not lost in the thread
                    errors.append(repr(e))
                    return
                n += 1

        th = threading.Thread(target=load)
        th.start()
        st.wait_for(lambda: len(acked) >= 3, 30, "load to start")
        started = time.monotonic()
        backup = os.path.join(self.dir, "b1")
        p = admin(st, "backup", backup)
        stop.set()
        th.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(p.returncode, 0, p.stderr)
        live = dump_state(st)
        acked_before = [cid for t, cid in acked if t < started]
        self.assertEqual(sorted(os.listdir(backup)),
                         ["config.ini", "files", "manifest.json", "redis.rdb"])
        manifest = json.load(open(os.path.join(backup, "manifest.json")))
        self.assertEqual(manifest["prefix"], PREFIX)
        self.assertEqual(os.stat(backup).st_mode & 0o777, 0o700)
        cfg = open(os.path.join(backup, "config.ini"), encoding="utf-8").read()
        self.assertNotIn(st.ini["staff"]["token"].split(":")[2], cfg, "secrets masked")

        # Wipe everything, restore.
        st.redis_command("FLUSHALL")
        self.assertEqual(st.redis_command("DBSIZE"), 0)
        p = admin(st, "restore", backup)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"restored .*: \d+ keys")
        got = dump_state(st)

        # Every key that existed before the load: the same data, or (for a
        # key the load touched) between what it was and what it became.
        lost = []
        for k, (t, v) in before.items():
            if k not in got:
                lost.append(k)
                continue
            gt, gv = got[k]
            self.assertEqual(gt, t, k)
            if v == live.get(k, (t, v))[1]:
                self.assertEqual(gv, v, k)
            elif t in ("zset", "hash", "stream"):
                for field, value in v.items():
                    self.assertIn(field, gv, "%s lost %s" % (k, field))
                    if t != "hash":
                        self.assertEqual(gv[field], value, k)
            elif t in ("set", "list"):
                self.assertTrue(set(v) <= set(gv), k)
        self.assertEqual(lost, [], "keys lost by backup and restore")
        # Submissions acknowledged before the backup began are all there;
        # every case listed has its record and history.
        for cid in acked_before:
            self.assertIn(PREFIX + "case:" + cid, got)
        for cid in got[PREFIX + "cases:all"][1]:
            self.assertIn(PREFIX + "case:" + cid, got)
            self.assertIn(PREFIX + "case:%s:log" % cid, got)
        # Drafts keep a TTL.
        sess = [k for k in got if k.startswith(PREFIX + "sess:")]
        self.assertGreaterEqual(len(sess), 2)
        for k in sess:
            self.assertGreater(st.redis_command("PTTL", k), 0, k)
        # Through the staff API: every case with its history, every target.
        for cid in ids:
            self.assertEqual(get(st, "/api/admin/cases/" + cid).json(), details[cid], cid)
        # The list comes from a Redis set: its order may change with a restore.
        def by_id(j):
            return sorted(j["targets"], key=lambda t: t["id"])
        self.assertEqual(by_id(get(st, "/api/admin/targets").json()), by_id(targets))
        history = sum(len(d["case"]["history"]) for d in details.values())
        print("restore comparison: %d cases (%d history entries), %d targets, %d keys: 0 lost"
              % (len(ids) + len(acked_before), history, len(TARGETS), len(before)))

        # The queued notice goes out once; the delivered one not again.
        st.start_bot()
        wait_report(st, queued, all_final(len(TARGETS)))
        time.sleep(1.0)
        for name in TARGETS:
            titles = [m["json"]["title"]
                      for m in st.fake.messages(platform="generic", target=name)]
            self.assertEqual(sorted(titles), sorted(["排队中通知", "已送达通知"]), name)

    def test_evidence_files(self):
        """The directory store's files: in the backup (never the upload
        folder), checked by the manifest, restored into an emptied store
        and downloadable again."""
        st = self.stack
        store = st.ini["files"]["dir"]
        recs = []
        for data, kind, ctype in ((pdf(4000), "contract", "application/pdf"),
                                  (jpeg(3000), "invoice", "image/jpeg")):
            c = Client(st)
            self.assertIn(c.start("complaint").status, (200, 201))
            r = c.call("POST", "/api/intake/complaint/files?kind=" + kind, raw=data,
                       headers={"Content-Type": ctype, "X-File-Name": kind})
            self.assertEqual(r.status, 201, r)
            recs.append((r.json()["file"], data))
        cid = "TS20260101-0101"
        redis_pipeline(st, case_commands(cid, "complaint", int(time.time() * 1000) - 1000,
                                         complaint_answers(1, evidence_files=[recs[0][0]]),
                                         extra={"files_more": json.dumps([recs[1][0]])}))
        # Something nginx is still writing: not part of the store.
        with open(os.path.join(st.ini["files"]["upload_temp_dir"], "0000000001"), "wb") as f:
            f.write(b"partial upload")

        backup = os.path.join(self.dir, "bf")
        p = admin(st, "backup", backup)
        self.assertEqual(p.returncode, 0, p.stderr)
        manifest = json.load(open(os.path.join(backup, "manifest.json")))
        self.assertIn("files", manifest["parts"])
        self.assertEqual(manifest["not_included"], {})
        listed = {e["path"]: e["sha256"] for e in manifest["files"]}
        for rec, data in recs:
            rel = "files/%s/%s" % (rec["id"][:2], rec["id"])
            self.assertEqual(listed.get(rel), hashlib.sha256(data).hexdigest(), rel)
        self.assertEqual(sorted(p for p in listed if p.startswith("files/")),
                         sorted("files/%s/%s" % (r["id"][:2], r["id"]) for r, _ in recs),
                         "the store's files only, never the upload folder")

        # A damaged file is refused like the other parts.
        bad = os.path.join(self.dir, "bad")
        shutil.copytree(backup, bad)
        with open(os.path.join(bad, "files", recs[0][0]["id"][:2], recs[0][0]["id"]), "r+b") as f:
            f.seek(100)
            f.write(b"!")
        p = admin(st, "restore", "--check", bad)
        self.assertEqual(p.returncode, 1)
        self.assertIn("is damaged", p.stderr)

        # Redis and the store wiped; restored.
        st.redis_command("FLUSHALL")
        for name in os.listdir(store):
            if len(name) == 2:
                shutil.rmtree(os.path.join(store, name))
        p = admin(st, "restore", backup)
        self.assertEqual(p.returncode, 0, p.stderr)
        for rec, data in recs:
            path = os.path.join(store, rec["id"][:2], rec["id"])
            with open(path, "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), rec["sha256"])
            r = get(st, "/api/admin/cases/%s/files/%s" % (cid, rec["id"]))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, data)
        # Redis empty again but the file store is not: a second restore is
        # refused by the store. The bot writes keys of its own (leases,
        # heartbeats) right after a FLUSHALL: stop it first, so that it is
        # the store's refusal that is tested, not Redis's.
        bots = [n for n in ("bot", "bot2") if n in st.procs and st.procs[n].alive()]
        for n in bots:
            st.stop(n)
        try:
            st.redis_command("FLUSHALL")
            p = admin(st, "restore", backup)
            self.assertEqual(p.returncode, 1)
            self.assertIn("restore wants an empty store", p.stderr)
        finally:
            for n in bots:
                st.start_bot(n)
        for rec, _ in recs:
            with open(os.path.join(store, rec["id"][:2], rec["id"]), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), rec["sha256"])

    def test_refusals(self):
        st = self.stack
        backup = os.path.join(self.dir, "b")
        p = admin(st, "backup", backup)
        self.assertEqual(p.returncode, 0, p.stderr)
        # A backup needs a new or empty folder.
        p = admin(st, "backup", backup)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not empty", p.stderr)
        # Redis holds data: refused without --force.
        p = admin(st, "restore", backup)
        self.assertEqual(p.returncode, 1)
        self.assertIn("restore wants an empty instance", p.stderr)
        self.assertEqual(admin(st, "restore", "--check", backup).returncode, 0)
        # A damaged RDB.
        bad = os.path.join(self.dir, "bad")
        shutil.copytree(backup, bad)
        with open(os.path.join(bad, "redis.rdb"), "r+b") as f:
            f.seek(20)
            b = f.read(1)
            f.seek(20)
            f.write(bytes([b[0] ^ 0xFF]))
        p = admin(st, "restore", "--force", bad)
        self.assertEqual(p.returncode, 1)
        self.assertIn("redis.rdb is damaged", p.stderr)
        # A file added, a file lost.
        shutil.rmtree(bad)
        shutil.copytree(backup, bad)
        open(os.path.join(bad, "extra"), "w").close()
        p = admin(st, "restore", "--check", bad)
        self.assertEqual(p.returncode, 1)
        self.assertIn("files were added or lost", p.stderr)
        # No manifest: a backup cut short.
        os.unlink(os.path.join(bad, "manifest.json"))
        p = admin(st, "restore", "--check", bad)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no manifest.json", p.stderr)
        # Another instance's prefix.
        other = os.path.join(self.dir, "other.ini")
        ini = {s: dict(kv) for s, kv in st.ini.items()}
        ini["redis"]["prefix"] = "zqother:"
        write_ini(other, ini)
        p = admin(st, "restore", "--check", backup, ini=other)
        self.assertEqual(p.returncode, 1)
        self.assertIn("key prefix 'zqe2e:'", p.stderr)


if __name__ == "__main__":
    unittest.main()

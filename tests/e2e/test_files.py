"""Evidence files through nginx: uploads written to a file by nginx and
moved into the store by zhuqi-fcgi, the type from the bytes, the limits,
removal, a reload showing the uploads, submission, staff downloads through
X-Accel-Redirect (headers, audit), the enterprise refused, another draft's
file ids refused, and the sweep of a draft that was never submitted."""

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import uuid

from harness import FCGI_BIN, ROOT, Stack, StackCase, free_port, run_program, write_ini
from s3sig import Refused, SigProxy, verify
from test_intake import Client, sample_for
from test_sms_code import CodeClient

S3RVER = os.path.join(ROOT, "tests", "s3", "node_modules", "s3rver", "bin", "s3rver.js")
S3_BUCKET = "zhuqi-files"

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def pdf(size=2000):
    """A PDF-shaped file of exactly size bytes."""
    head, tail = b"%PDF-1.7\n", b"\ntrailer\n%%EOF\n"
    return head + b"x" * (size - len(head) - len(tail)) + tail


def jpeg(size=3000):
    head, tail = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", b"\xff\xd9"
    return head + bytes(i % 251 for i in range(size - len(head) - len(tail))) + tail


def png(size=1500):
    return PNG_HEAD + b"\x01" * (size - len(PNG_HEAD) - len(PNG_END)) + PNG_END


class FilesCase(StackCase):
    STACK_ARGS = {"ini": {"files": {"require_kinds": True}}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.schema = cls.stack.get("/api/forms/complaint").json()

    def staff(self, method, path):
        return self.stack.request(method, path,
                                  headers={"Authorization": "Bearer " + self.stack.staff_token})

    def start(self):
        c = Client(self.stack)
        r = c.start("complaint")
        self.assertIn(r.status, (200, 201), r)
        return c

    def upload(self, c, data, kind="contract", name="合同.pdf", ctype="application/pdf",
               form="complaint", csrf=True):
        h = {"Content-Type": ctype}
        if name is not None:
            h["X-File-Name"] = urllib.parse.quote(name)
        return c.call("POST", "/api/intake/%s/files?kind=%s" % (form, kind), raw=data,
                      headers=h, csrf=csrf)

    def fill(self, c, over=None):
        for st in self.schema["steps"]:
            if st.get("review"):
                continue
            ans = {f["id"]: (over or {}).get(f["id"], sample_for(f))
                   for f in st.get("fields", []) if f["type"] != "files"}
            r = c.call("PUT", "/api/intake/complaint/steps/" + st["id"], {"answers": ans})
            if r.status != 200:
                return r
        return r

    def submit(self, c):
        return c.call("POST", "/api/intake/complaint/submit",
                      headers={"Idempotency-Key": uuid.uuid4().hex})

    def store_path(self, fid):
        return os.path.join(self.stack.ini["files"]["dir"], fid[:2], fid)

    def incoming(self):
        return [n for n in os.listdir(self.stack.ini["files"]["upload_temp_dir"])]

    def assertIncomingEmpty(self):
        """No upload body left in nginx's temp folder. nginx unlinks a
        refused body when it finalizes the request, which may come just
        after the client has the answer: wait a little for it."""
        self.stack.wait_for(lambda: self.incoming() == [], 5, "the upload temp folder empty")


class TestFiles(FilesCase, unittest.TestCase):
    def test_schema_has_kinds(self):
        f = [f for st in self.schema["steps"] for f in st.get("fields", [])
             if f["id"] == "evidence_files"][0]
        self.assertEqual(f["type"], "files")
        kinds = {k["value"]: k for k in f["kinds"]}
        self.assertEqual(kinds["contract"]["label"], "合同")
        self.assertTrue(kinds["contract"]["required"])
        self.assertFalse(kinds["invoice"]["required"])
        self.assertIn("hint", kinds["dunning"])

    def test_upload_reload_remove_submit_download(self):
        c = self.start()
        body = pdf(5000)
        r = self.upload(c, body, name="采购合同 (盖章).pdf")
        self.assertEqual(r.status, 201, r)
        f = r.json()["file"]
        self.assertEqual(f["kind"], "contract")
        self.assertEqual(f["name"], "采购合同 (盖章).pdf")
        self.assertEqual(f["size"], 5000)
        self.assertEqual(f["type"], "application/pdf")
        self.assertEqual(f["sha256"], hashlib.sha256(body).hexdigest())
        self.assertEqual(len(f["id"]), 32)
        # In the store, byte for byte; nothing left in the upload folder.
        with open(self.store_path(f["id"]), "rb") as fh:
            self.assertEqual(fh.read(), body)
        self.assertIncomingEmpty()
        photo = jpeg()
        r = self.upload(c, photo, kind="invoice", name="IMG_0001.jpg", ctype="image/jpeg")
        self.assertEqual(r.status, 201, r)
        photo_id = r.json()["file"]["id"]
        gone = self.upload(c, png(), kind="other", name="x.png", ctype="image/png").json()["file"]
        # A reload shows the uploads (from the draft).
        r = c.call("GET", "/api/intake/complaint")
        self.assertEqual(r.status, 200, r)
        ids = [x["id"] for x in r.json()["answers"]["evidence_files"]]
        self.assertEqual(ids, [f["id"], photo_id, gone["id"]])
        # Removed before submitting: record and bytes.
        r = c.call("DELETE", "/api/intake/complaint/files/" + gone["id"])
        self.assertEqual(r.status, 200, r)
        self.assertFalse(os.path.exists(self.store_path(gone["id"])))
        r = c.call("DELETE", "/api/intake/complaint/files/" + gone["id"])
        self.assertErrorShape(r, 404, "file_not_found")
        r = self.fill(c)
        self.assertEqual(r.status, 200, r)
        r = self.submit(c)
        self.assertEqual(r.status, 201, r)
        case_id = r.json()["case"]["id"]
        # The case holds the records; the pending list has let them go.
        r = self.staff("GET", "/api/admin/cases/" + case_id)
        self.assertEqual(r.status, 200, r)
        recs = r.json()["case"]["answers"]["evidence_files"]
        self.assertEqual([x["id"] for x in recs], [f["id"], photo_id])
        pending = [m.decode() if isinstance(m, bytes) else m
                   for m in self.stack.redis_command("ZRANGE", "zqe2e:files:pending", 0, -1)]
        self.assertFalse([m for m in pending if m[:32] in (f["id"], photo_id)], pending)
        # The console's list, with the download paths.
        listed = r.json()["case"]["files"]
        self.assertEqual([(x["kind_label"], x["name"], x["size"]) for x in listed],
                         [("合同", "采购合同 (盖章).pdf", 5000), ("发票", "IMG_0001.jpg", len(photo))])
        self.assertEqual(listed[0]["url"], "/api/admin/cases/%s/files/%s" % (case_id, f["id"]))
        # The enterprise's lookup shows names and sizes, nothing more.
        r = c.call("POST", "/api/cases/%s/lookup" % case_id, {"mobile": sample_for({"id": "mobile"})})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["case"]["files"],
                         [{"kind": "合同", "name": "采购合同 (盖章).pdf", "size": 5000},
                          {"kind": "发票", "name": "IMG_0001.jpg", "size": len(photo)}])
        # The exports list the files (kind, name, size), never the bytes.
        r = self.staff("GET", "/api/admin/cases.csv?q=" + case_id)
        self.assertEqual(r.status, 200, r)
        csv = r.body.decode("utf-8-sig")
        self.assertIn("合同：采购合同 (盖章).pdf（5 KB）；发票：IMG_0001.jpg（3 KB）", csv)
        self.assertNotIn("%PDF", csv)
        r = self.staff("GET", "/api/admin/cases.jsonl?q=" + case_id)
        self.assertEqual(r.status, 200, r)
        self.assertIn("采购合同 (盖章).pdf", r.body.decode())
        self.assertNotIn("%PDF", r.body.decode())
        # Staff download: nginx sends the bytes, zhuqi-fcgi the headers.
        r = self.staff("GET", "/api/admin/cases/%s/files/%s" % (case_id, f["id"]))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, body)
        self.assertEqual(r.header("Content-Type"), "application/pdf")
        disp = r.header("Content-Disposition")
        self.assertTrue(disp.startswith("attachment;"), disp)
        self.assertIn("filename*=UTF-8''", disp)
        self.assertEqual(urllib.parse.unquote(disp.split("filename*=UTF-8''", 1)[1]),
                         "采购合同 (盖章).pdf")
        self.assertEqual(r.header("X-Accel-Redirect"), None)
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        r = self.staff("GET", "/api/admin/cases/%s/files/%s" % (case_id, photo_id))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, photo)
        self.assertEqual(r.header("Content-Type"), "image/jpeg")
        self.assertTrue(r.header("Content-Disposition").startswith("inline;"))
        # Audited, one entry per download.
        r = self.staff("GET", "/api/admin/audit?limit=5")
        entries = [e for e in r.json()["entries"] if e["action"] == "file_download"]
        self.assertEqual(len(entries), 2)
        self.assertEqual(entries[0]["target"], case_id)
        self.assertIn(photo_id, entries[0]["detail"])
        # Another case's file id, an unknown one.
        r = self.staff("GET", "/api/admin/cases/%s/files/%s" % (case_id, gone["id"]))
        self.assertErrorShape(r, 404, "file_not_found")
        # The enterprise (its session, no token) gets nothing; the internal
        # location is not reachable from outside.
        r = c.call("GET", "/api/admin/cases/%s/files/%s" % (case_id, f["id"]))
        self.assertEqual(r.status, 401, r)
        self.assertNotEqual(r.body, body)
        r = self.stack.get("/_zq_files/%s/%s" % (f["id"][:2], f["id"]))
        self.assertEqual(r.status, 404, r)
        self.assertNotEqual(r.body, body)

    def test_contract_required(self):
        c = self.start()
        r = self.fill(c)
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json()["error"]["fields"]["evidence_files"], "请上传合同")
        self.assertEqual(self.upload(c, jpeg(), kind="invoice").status, 201)
        self.assertEqual(self.fill(c).status, 422)
        self.assertEqual(self.upload(c, pdf()).status, 201)
        self.assertEqual(self.fill(c).status, 200)

    def test_types_from_bytes(self):
        c = self.start()
        # A PDF named .jpg and sent as image/jpeg is a PDF.
        r = self.upload(c, pdf(), name="scan.jpg", ctype="image/jpeg")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["file"]["type"], "application/pdf")
        # A PNG sent as application/pdf is a PNG.
        r = self.upload(c, png(), name="a.pdf", ctype="application/pdf")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["file"]["type"], "image/png")
        refused = [
            b"<!DOCTYPE html><html><script>alert(1)</script></html>",  # HTML
            b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 100,  # zip
            pdf(5000)[:3000],  # truncated PDF
            jpeg(5000)[:4000],  # truncated JPEG
            b"",  # empty
        ]
        for data in refused:
            r = self.upload(c, data, name="x.pdf")
            self.assertErrorShape(r, 415, "unsupported_type")
            self.assertIn("JPG", r.json()["error"]["message"])
        self.assertIncomingEmpty()
        r = c.call("GET", "/api/intake/complaint")
        self.assertEqual(len(r.json()["answers"]["evidence_files"]), 2)

    def test_bad_requests(self):
        c = self.start()
        self.assertErrorShape(self.upload(c, pdf(), csrf=False), 403, "csrf_failed")
        self.assertErrorShape(self.upload(c, pdf(), kind="selfie"), 400, "bad_kind")
        self.assertErrorShape(self.upload(c, pdf(), form="nope"), 404, "unknown_form")
        # No session at all.
        r = self.upload(Client(self.stack), pdf())
        self.assertErrorShape(r, 404, "no_draft")
        # No name: a default one.
        r = self.upload(c, pdf(), name=None)
        self.assertEqual(r.json()["file"]["name"], "文件")
        # A path in the name is cut to its last part.
        r = self.upload(c, pdf(), name="../../etc/合同.pdf")
        self.assertEqual(r.json()["file"]["name"], "合同.pdf")
        self.assertIncomingEmpty()

    def test_size_limits(self):
        c = self.start()
        mb = 1024 * 1024
        r = self.upload(c, pdf(10 * mb))
        self.assertEqual(r.status, 201, r)
        r = self.upload(c, pdf(11 * mb))
        self.assertEqual(r.status, 413, r)
        self.assertIn(r.json()["error"]["code"], ("file_too_large",))
        self.assertIn("文件过大", r.json()["error"]["message"])
        # 60 MB per draft: five more of 10 MB fit, then not a byte more.
        for _ in range(5):
            self.assertEqual(self.upload(c, pdf(10 * mb)).status, 201)
        r = self.upload(c, pdf(2000))
        self.assertErrorShape(r, 413, "files_too_large")
        self.assertIn("60 MB", r.json()["error"]["message"])
        self.assertIncomingEmpty()
        r = c.call("GET", "/api/intake/complaint")
        self.assertEqual(len(r.json()["answers"]["evidence_files"]), 6)

    def test_count_limit(self):
        c = self.start()
        for i in range(20):
            r = self.upload(c, jpeg(1000 + i), kind="other")
            self.assertEqual(r.status, 201, r)
        r = self.upload(c, jpeg(), kind="other")
        self.assertErrorShape(r, 409, "too_many_files")
        self.assertIn("20", r.json()["error"]["message"])
        self.assertIncomingEmpty()
        stored = sum(len(fs) for _, _, fs in os.walk(self.stack.ini["files"]["dir"]))
        self.assertGreaterEqual(stored, 20)

    def test_other_drafts_file_refused(self):
        a, b = self.start(), self.start()
        fa = self.upload(a, pdf()).json()["file"]
        # B cannot remove A's file...
        r = b.call("DELETE", "/api/intake/complaint/files/" + fa["id"])
        self.assertErrorShape(r, 404, "file_not_found")
        self.assertTrue(os.path.exists(self.store_path(fa["id"])))
        # ...nor claim it through a step: the field is the uploads only.
        self.fill(b)
        r = b.call("PUT", "/api/intake/complaint/steps/claim",
                   {"answers": {"facts": sample_for({"id": "facts"}),
                                "demand": sample_for({"id": "demand"}),
                                "evidence_files": [fa]}})
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json()["error"]["fields"]["evidence_files"], "请上传合同")
        r = b.call("GET", "/api/intake/complaint")
        self.assertNotIn("evidence_files", r.json()["answers"])
        # A's own is intact.
        r = a.call("GET", "/api/intake/complaint")
        self.assertEqual([x["id"] for x in r.json()["answers"]["evidence_files"]], [fa["id"]])


class TestResumeTakesFiles(FilesCase, unittest.TestCase):
    """A draft resumed on another device (mobile + SMS code) brings its
    uploads along. They move rather than being copied: the first device's
    draft no longer names them, so that every file belongs to one draft
    and is swept with that one only."""
    STACK_ARGS = {"fake": True, "ini": {"files": {"require_kinds": True},
                                        "sms": {"provider": "tencent"}}}

    def pending(self):
        return self.stack.redis_command("ZRANGE", "zqe2e:files:pending", "0", "-1") or []

    def test_uploads_follow_the_draft(self):
        first = self.start()
        ids = [self.upload(first, pdf(4000)).json()["file"]["id"],
               self.upload(first, jpeg(), kind="invoice", name="IMG_0002.jpg",
                           ctype="image/jpeg").json()["file"]["id"]]
        r = self.fill(first, {"mobile": "13800000071"})
        self.assertEqual(r.status, 200, r)
        second = self.start()
        sid2 = second.cookie.split("=", 1)[1]
        codes = CodeClient(self.stack)
        codes.cookie, codes.csrf = second.cookie, second.csrf
        codes.prove(self, "13800000071", "resume")
        r = second.call("POST", "/api/intake/complaint/resume", {"mobile": "13800000071"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual([f["id"] for f in r.json()["answers"]["evidence_files"]], ids)
        self.assertNotIn("files_left", r.json())
        # A reload on the second device shows them; the first has none.
        r = second.call("GET", "/api/intake/complaint")
        self.assertEqual([f["id"] for f in r.json()["answers"]["evidence_files"]], ids)
        r = first.call("GET", "/api/intake/complaint")
        self.assertNotIn("evidence_files", r.json()["answers"])
        self.assertEqual(sorted(self.pending()), sorted("%s:%s" % (i, sid2) for i in ids))
        # The first device cannot file them any more.
        self.assertEqual(self.submit(first).status, 422)
        # The second files them: the case has them, the bytes are kept.
        r = self.submit(second)
        self.assertEqual(r.status, 201, r)
        case = self.staff("GET", "/api/admin/cases/" + r.json()["case"]["id"]).json()["case"]
        self.assertEqual([f["id"] for f in case["answers"]["evidence_files"]], ids)
        self.assertEqual(self.pending(), [])
        for i in ids:
            self.assertTrue(os.path.exists(self.store_path(i)), i)


class TestFilesSweep(FilesCase, unittest.TestCase):
    STACK_ARGS = {"bot": True, "ini": {"files": {"require_kinds": True, "sweep_grace": 0},
                                       "bot": {"lease_ms": 1000}}}

    def test_expired_draft_files_removed(self):
        kept, lost = self.start(), self.start()
        fk = self.upload(kept, pdf()).json()["file"]
        fl = self.upload(lost, pdf()).json()["file"]
        fl2 = self.upload(lost, jpeg(), kind="invoice").json()["file"]
        for fid in (fk["id"], fl["id"], fl2["id"]):
            self.assertTrue(os.path.exists(self.store_path(fid)))
        # The lost draft's session expires; both entries look old (the
        # sweep looks only at entries older than the session TTL).
        sid = lost.cookie.split("=", 1)[1]
        self.stack.redis_command("DEL", "zqe2e:sess:" + sid)
        for m in self.stack.redis_command("ZRANGE", "zqe2e:files:pending", 0, -1):
            m = m.decode() if isinstance(m, bytes) else m
            self.stack.redis_command("ZADD", "zqe2e:files:pending", 1, m)
        self.stack.wait_for(lambda: not os.path.exists(self.store_path(fl["id"]))
                            and not os.path.exists(self.store_path(fl2["id"])),
                            20, "the expired draft's files to go")
        # The live draft's file stays, seen again now.
        self.assertTrue(os.path.exists(self.store_path(fk["id"])))
        members = [m.decode() if isinstance(m, bytes) else m
                   for m in self.stack.redis_command("ZRANGE", "zqe2e:files:pending", 0, -1)]
        self.assertEqual([m[:32] for m in members], [fk["id"]])
        score = float(self.stack.redis_command("ZSCORE", "zqe2e:files:pending", members[0]))
        self.assertGreater(score, 1)
        self.stack.wait_for_log("bot", r"event=files_swept count=2", timeout=5)


class S3rver:
    """s3rver (npm, installed by scripts/s3-test-deps.sh) on 127.0.0.1: a
    real S3 server implementation, with one bucket. Its access key is
    S3RVER (secret S3RVER); it checks the SigV4 request's shape and key
    id, not the signature itself."""

    def __init__(self):
        if not os.path.exists(S3RVER) or shutil.which("node") is None:
            raise RuntimeError("s3rver not installed: run scripts/s3-test-deps.sh "
                               "(scripts/test.sh does)")
        self.dir = tempfile.mkdtemp(prefix="zq-s3rver-")
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "s3rver.log"), "wb")
        self.proc = subprocess.Popen(
            ["node", S3RVER, "-d", os.path.join(self.dir, "data"), "-a", "127.0.0.1",
             "-p", str(self.port), "--no-vhost-buckets", "--configure-bucket", S3_BUCKET],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError("s3rver did not start")
                time.sleep(0.1)
        self.endpoint = "http://127.0.0.1:%d" % self.port

    def object_path(self, key):
        """Where s3rver keeps an object's bytes (its file store layout)."""
        return os.path.join(self.dir, "data", S3_BUCKET, key + "._S3rver_object")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class TestSigV4Checker(unittest.TestCase):
    """The proxy's own SigV4 check (tests/e2e/s3sig.py) against the
    worked examples of the AWS documentation, so that a signature it
    accepts from zhuqi is one S3 would accept."""

    KEYS = {"AKIAIOSFODNN7EXAMPLE": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    HOST = {"host": "examplebucket.s3.amazonaws.com"}

    def at(self, h=0, m=0):
        import datetime
        return datetime.datetime(2013, 5, 24, h, m, tzinfo=datetime.timezone.utc)

    def test_header_signed_get(self):
        h = dict(self.HOST, range="bytes=0-9", **{
            "x-amz-date": "20130524T000000Z",
            "x-amz-content-sha256": hashlib.sha256(b"").hexdigest(),
            "authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
                             "us-east-1/s3/aws4_request,SignedHeaders=host;range;"
                             "x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35"
                             "b5d6ed310bd44f0170aba48dd91039c6036bdb41"})
        self.assertEqual(verify("GET", "/test.txt", h, b"", self.KEYS, self.at()),
                         "AKIAIOSFODNN7EXAMPLE")
        for change, code in (({"range": "bytes=0-8"}, "SignatureDoesNotMatch"),
                             ({"x-amz-content-sha256": None}, "InvalidRequest"),
                             ({"x-amz-meta-x": "1"}, "InvalidRequest")):
            bad = dict(h, **change)
            bad = {k: v for k, v in bad.items() if v is not None}
            with self.assertRaises(Refused) as e:
                verify("GET", "/test.txt", bad, b"", self.KEYS, self.at())
            self.assertEqual(e.exception.code, code)
        with self.assertRaises(Refused) as e:
            verify("GET", "/test.txt", h, b"", {"AKIAIOSFODNN7EXAMPLE": "wrong"}, self.at())
        self.assertEqual((e.exception.status, e.exception.code), (403, "SignatureDoesNotMatch"))
        with self.assertRaises(Refused) as e:
            verify("GET", "/test.txt", h, b"", self.KEYS, self.at(1))
        self.assertEqual(e.exception.code, "RequestTimeTooSkewed")

    def test_presigned_get(self):
        url = ("/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE"
               "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z"
               "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5"
               "c0109b86d86835f995330da4c265957d157751f604d404")
        self.assertEqual(verify("GET", url, self.HOST, b"", self.KEYS, self.at(1)),
                         "AKIAIOSFODNN7EXAMPLE")
        with self.assertRaises(Refused) as e:
            verify("GET", url.replace("test.txt", "test.TXT"), self.HOST, b"", self.KEYS, self.at())
        self.assertEqual(e.exception.code, "SignatureDoesNotMatch")
        import datetime
        late = self.at() + datetime.timedelta(seconds=86401)
        with self.assertRaises(Refused) as e:
            verify("GET", url, self.HOST, b"", self.KEYS, late)
        self.assertEqual(e.exception.code, "AccessDenied")


class TestFilesS3(FilesCase, unittest.TestCase):
    """The same path with [files] backend = s3: uploads PUT to the object
    store, downloads fetched by nginx from a presigned URL, removal and the
    sweep through DELETE. Every request goes through a proxy that checks
    its SigV4 signature with the configured secret (s3sig.py: s3rver
    itself does not)."""

    @classmethod
    def setUpClass(cls):
        cls.s3 = S3rver()
        cls.sig = None
        try:
            cls.sig = SigProxy(cls.s3.port, {"S3RVER": "S3RVER"})
            secret = os.path.join(cls.s3.dir, "s3-secret")
            with open(secret, "w") as fh:
                fh.write("S3RVER\n")
            ini = {"files": {"require_kinds": True, "backend": "s3", "sweep_grace": 0,
                             "s3_endpoint": cls.sig.endpoint, "s3_bucket": S3_BUCKET,
                             "s3_access_key": "S3RVER", "s3_secret_file": secret},
                   "bot": {"lease_ms": 1000}}
            cls.stack = Stack(name=cls.__name__, ini=ini, bot=True,
                              nginx={"ZQ_S3_ENDPOINT": cls.sig.endpoint})
            cls.schema = cls.stack.get("/api/forms/complaint").json()
        except BaseException:
            if cls.sig is not None:
                cls.sig.close()
            cls.s3.close()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.sig.close()
            cls.s3.close()

    def test_wrong_secret_refused(self):
        """The store refuses zhuqi's signature (its secret is not the
        configured one): the upload fails with a Chinese 500, nothing is
        kept, and the log says in English what S3 said."""
        c = self.start()
        since = len(self.stack.fcgi_log())
        self.sig.set_secret("S3RVER", "not-the-configured-secret")
        try:
            r = self.upload(c, pdf(3000))
        finally:
            self.sig.set_secret("S3RVER", "S3RVER")
        self.assertErrorShape(r, 500, "internal_error")
        self.assertIn("服务器", r.json()["error"]["message"])
        self.assertIn(("PUT", "SignatureDoesNotMatch"), self.sig.counts()[1])
        log = self.stack.fcgi_log()[since:]
        self.assertRegex(log, r"event=upload_failed .*HTTP 403 SignatureDoesNotMatch")
        self.assertIncomingEmpty()
        draft = c.call("GET", "/api/intake/complaint").json()
        self.assertNotIn("evidence_files", draft["answers"])
        # With the right secret again, the same upload goes through.
        self.assertEqual(self.upload(c, pdf(3000)).status, 201)

    def test_secret_masked_in_dump(self):
        ini = os.path.join(self.s3.dir, "dump.ini")
        write_ini(ini, {"files": {"backend": "s3", "s3_secret": "not-to-be-shown-42"}})
        r = run_program([FCGI_BIN, "--check-config", ini])
        out = r.stdout if isinstance(r.stdout, str) else r.stdout.decode()
        self.assertIn("s3_secret = ", out)
        self.assertNotIn("not-to-be-shown-42", out)

    def test_upload_download_remove_sweep(self):
        c = self.start()
        body = pdf(7000)
        f = self.upload(c, body, name="合同.pdf").json()["file"]
        with open(self.s3.object_path(f["id"]), "rb") as fh:
            self.assertEqual(fh.read(), body)
        # Nothing in the local store, nothing left in the upload folder.
        self.assertFalse(os.path.exists(self.store_path(f["id"])))
        self.assertIncomingEmpty()
        photo = jpeg()
        p = self.upload(c, photo, kind="invoice", name="发票.jpg", ctype="image/jpeg").json()["file"]
        gone = self.upload(c, png(), kind="other", name="x.png").json()["file"]
        r = c.call("DELETE", "/api/intake/complaint/files/" + gone["id"])
        self.assertEqual(r.status, 200, r)
        self.assertFalse(os.path.exists(self.s3.object_path(gone["id"])))
        self.assertEqual(self.fill(c).status, 200)
        r = self.submit(c)
        self.assertEqual(r.status, 201, r)
        case_id = r.json()["case"]["id"]
        r = self.staff("GET", "/api/admin/cases/%s/files/%s" % (case_id, f["id"]))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, body)
        self.assertEqual(r.header("Content-Type"), "application/pdf")
        self.assertTrue(r.header("Content-Disposition").startswith("attachment;"))
        self.assertIsNone(r.header("X-Accel-Redirect"))
        r = self.staff("GET", "/api/admin/cases/%s/files/%s" % (case_id, p["id"]))
        self.assertEqual(r.body, photo)
        self.assertEqual(r.header("Content-Type"), "image/jpeg")
        self.assertTrue(r.header("Content-Disposition").startswith("inline;"))
        # Not from outside.
        r = self.stack.get("/_zq_s3/%s/%s" % (S3_BUCKET, f["id"]))
        self.assertEqual(r.status, 404, r)
        self.assertNotEqual(r.body, body)
        # An abandoned draft's upload goes from the object store too.
        lost = self.start()
        fl = self.upload(lost, pdf()).json()["file"]
        self.assertTrue(os.path.exists(self.s3.object_path(fl["id"])))
        sid = lost.cookie.split("=", 1)[1]
        self.stack.redis_command("DEL", "zqe2e:sess:" + sid)
        self.stack.redis_command("ZADD", "zqe2e:files:pending", 1, "%s:%s" % (fl["id"], sid))
        self.stack.wait_for(lambda: not os.path.exists(self.s3.object_path(fl["id"])), 20,
                            "the expired draft's object to go")
        self.assertTrue(os.path.exists(self.s3.object_path(f["id"])))
        # Every request was signed right: PUT (zhuqi-fcgi), GET (nginx,
        # presigned), DELETE (zhuqi-fcgi and the bot's sweep).
        checked, refused = self.sig.counts()
        self.assertEqual([x for x in refused if x[1] != "SignatureDoesNotMatch"], [])
        for m in ("PUT", "GET", "DELETE"):
            self.assertGreater(checked.get(m, 0), 0, checked)


if __name__ == "__main__":
    unittest.main()

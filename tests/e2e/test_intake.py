"""Intake over HTTP through nginx: both flows end to end, every class of bad
input, idempotent submission, duplicates, lookups, and Redis killed with
kill -9 during a burst of submissions."""

import json
import os
import threading
import time
import unittest
import uuid

from harness import ROOT, StackCase

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(body17):
    """A code with a correct GB 32100 check character, computed here
    independently of the C validator."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(body17, WEIGHTS))
    return body17 + ALPHABET[(31 - total % 31) % 31]


GOOD_USCC = uscc("91510100MA61R7XQ3")
OTHER_USCC = uscc("91510700MA6A12345")


def bad_check(code):
    """The same code with a wrong check character."""
    i = ALPHABET.index(code[-1])
    return code[:-1] + ALPHABET[(i + 1) % 31]


SAMPLE = {
    "topic": "tax",
    "company_name": "成都示例科技有限公司",
    "uscc": GOOD_USCC,
    "size": "small",
    "region": "510100",
    "address": "成都市高新区天府大道 100 号",
    "contact_name": "张三",
    "mobile": "138 1234 5678",
    "question": "请问小规模纳税人增值税减免政策如何申请？",
    "preferred_time": "anytime",
    "respondent_name": "某市某局",
    "respondent_type": "organ",
    "respondent_uscc": "",
    "respondent_region": "500000",
    "contract_name": "办公设备采购合同",
    "contract_no": "HT-2026-001",
    "signing_date": "2026-01-05",
    "supply_type": "goods",
    "delivery_date": "2026-02-01",
    "acceptance_date": "2026-02-05",
    "payment_term_days": "30",
    "contract_amount_fen": "150,000",
    "paid_fen": "0",
    "amount_fen": "123,456.78",
    "undisputed_fen": "100000",
    "due_date": "2026-03-03",
    "facts": "我公司于 2026 年 1 月签订合同并按期交付全部设备，对方验收合格后至今未付款。",
    "demand": "请求督促对方支付欠款及逾期利息。",
    "evidence": "合同、验收单、发票",
    "no_other_proceedings": True,
    "facts_true": True,
    "consent": True,
}


def sample_for(field):
    fid = field["id"]
    if fid in SAMPLE:
        return SAMPLE[fid]
    t = field.get("type")
    if t == "bool":
        return True
    if t == "enum":
        return field["options"][0]["value"]
    if t == "date":
        return "2026-01-10"
    if t == "money":
        return "1000"
    if t == "region":
        return "510100"
    if t == "mobile":
        return "13812345678"
    if t == "uscc":
        return GOOD_USCC
    return "测试内容测试内容测试内容测试内容测试内容"


class Client:
    """A browser-like client: keeps the session cookie and the CSRF token."""

    def __init__(self, stack):
        self.stack = stack
        self.cookie = None
        self.csrf = None

    def call(self, method, path, body=None, headers=None, csrf=True, raw=None):
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = self.cookie
        if csrf and self.csrf:
            h.setdefault("X-CSRF-Token", self.csrf)
        data = raw
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            h.setdefault("Content-Type", "application/json")
        r = self.stack.request(method, path, body=data, headers=h)
        sc = r.header("Set-Cookie")
        if sc and sc.startswith("zq_sid="):
            self.cookie = sc.split(";", 1)[0]
        return r

    def start(self, form, gate=True):
        """Starts a draft; with gate, answers the form's eligibility check
        (a gate step, first) so that the draft goes on to the next step."""
        r = self.call("POST", "/api/intake/" + form, csrf=False)
        if r.status in (200, 201):
            self.csrf = r.json()["csrf"]
            first = self.stack.get("/api/forms/" + form).json()["steps"][0]
            if gate and first.get("gate") and first["id"] not in r.json()["done"]:
                ans = {f["id"]: next(o["value"] for o in f["options"] if "stop" not in o)
                       for f in first["fields"]}
                g = self.call("PUT", "/api/intake/%s/steps/%s" % (form, first["id"]),
                              {"answers": ans})
                assert g.status == 200, g
        return r


class IntakeCase(StackCase, unittest.TestCase):
    STACK_ARGS = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.schemas = {}
        for form in ("consult", "complaint"):
            r = cls.stack.get("/api/forms/" + form)
            assert r.status == 200, r
            cls.schemas[form] = r.json()

    def steps(self, form):
        """The steps to fill after start() (which passes the gate)."""
        return [s for s in self.schemas[form]["steps"] if not s.get("review") and not s.get("gate")]

    def answers_for(self, step, **over):
        out = {}
        for f in step.get("fields", []):
            out[f["id"]] = over.get(f["id"], sample_for(f))
        return out

    def fill(self, form, client=None, **over):
        """Starts a draft and saves every step; returns the client."""
        c = client or Client(self.stack)
        r = c.start(form)
        self.assertIn(r.status, (200, 201), r)
        for st in self.steps(form):
            r = c.call("PUT", "/api/intake/%s/steps/%s" % (form, st["id"]),
                       {"answers": self.answers_for(st, **over)})
            self.assertEqual(r.status, 200, r)
        return c

    def submit(self, c, form, key=None):
        return c.call("POST", "/api/intake/%s/submit" % form,
                      headers={"Idempotency-Key": key or uuid.uuid4().hex})


class TestForms(IntakeCase):
    def test_list(self):
        r = self.stack.get("/api/forms")
        self.assertEqual(r.status, 200)
        ids = [f["id"] for f in r.json()]
        self.assertIn("consult", ids)
        self.assertIn("complaint", ids)
        for f in r.json():
            self.assertTrue(f["title"])

    def test_schema_etag(self):
        r = self.stack.get("/api/forms/complaint")
        self.assertEqual(r.status, 200)
        etag = r.header("ETag")
        self.assertTrue(etag and etag.startswith('"'), r)
        self.assertEqual(r.header("Cache-Control"), "no-cache")
        r2 = self.stack.get("/api/forms/complaint", headers={"If-None-Match": etag})
        self.assertEqual(r2.status, 304)
        labels = [f["label"] for s in self.schemas["complaint"]["steps"]
                  for f in s.get("fields", [])]
        self.assertTrue(all(labels))

    def test_unknown_form(self):
        self.assertErrorShape(self.stack.get("/api/forms/nope"), 404, "unknown_form")
        r = self.stack.request("POST", "/api/intake/nope")
        self.assertErrorShape(r, 404, "unknown_form")


class TestFlows(IntakeCase):
    def test_consultation_end_to_end(self):
        c = self.fill("consult")
        r = c.call("GET", "/api/intake/consult")
        self.assertEqual(r.status, 200)
        draft = r.json()
        self.assertEqual(draft["answers"]["mobile"], "13812345678")  # normalised
        key = uuid.uuid4().hex
        r = self.submit(c, "consult", key)
        self.assertEqual(r.status, 201, r)
        case = r.json()["case"]
        self.assertRegex(case["id"], r"^ZX\d{8}-\d{4,}$")
        self.assertEqual(case["status"], "submitted")
        self.assertEqual(case["contact"]["mobile"], "138****5678")
        self.assertEqual(case["history"][0]["status"], "submitted")
        # The same key again: the same case, 200, even though the draft is gone.
        r2 = self.submit(c, "consult", key)
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual(r2.json()["case"]["id"], case["id"])
        # Stored with history, indexes and an event for the bot.
        p = "zqe2e:"
        self.assertEqual(self.stack.redis_command("HGET", p + "case:" + case["id"], "status"),
                         "submitted")
        self.assertEqual(self.stack.redis_command("LLEN", p + "case:%s:log" % case["id"]), 1)
        self.assertIsNotNone(self.stack.redis_command("ZSCORE", p + "cases:all", case["id"]))
        self.assertIsNotNone(
            self.stack.redis_command("ZSCORE", p + "cases:type:consult", case["id"]))
        self.assertIsNotNone(
            self.stack.redis_command("ZSCORE", p + "cases:status:submitted", case["id"]))
        self.assertIsNotNone(
            self.stack.redis_command("ZSCORE", p + "cases:region:510100", case["id"]))
        self.assertGreaterEqual(self.stack.redis_command("XLEN", p + "events"), 1)

    def test_complaint_end_to_end_and_duplicate(self):
        c = self.fill("complaint")
        r = self.submit(c, "complaint")
        self.assertEqual(r.status, 201, r)
        first = r.json()["case"]
        self.assertRegex(first["id"], r"^TS\d{8}-\d{4,}$")
        self.assertNotIn("possible_duplicate", first)
        # A second complaint, another key, same complainant, respondent, amount.
        c2 = self.fill("complaint")
        r = self.submit(c2, "complaint")
        self.assertEqual(r.status, 201, r)
        second = r.json()["case"]
        self.assertNotEqual(second["id"], first["id"])
        # The mark is for staff only (issue 12 item 9): never in the public answer.
        self.assertNotIn("possible_duplicate", second)
        self.assertNotIn("dup_of", second)
        self.assertEqual(self.stack.redis_command(
            "HGET", "zqe2e:case:" + second["id"], "dup_of"), first["id"])
        # Another amount is no duplicate.
        c3 = self.fill("complaint", amount_fen="999.00", undisputed_fen="1")
        r = self.submit(c3, "complaint")
        self.assertEqual(r.status, 201, r)
        self.assertNotIn("possible_duplicate", r.json()["case"])

    def test_lookup(self):
        c = self.fill("consult")
        case = self.submit(c, "consult").json()["case"]
        path = "/api/cases/%s/lookup" % case["id"]
        anon = Client(self.stack)
        r = anon.call("POST", path, {"mobile": "+86 138-1234-5678"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["case"]["id"], case["id"])
        self.assertEqual(r.json()["case"]["contact"]["contact_name"], "张*")
        wrong = anon.call("POST", path, {"mobile": "13900000000"})
        unknown = anon.call("POST", "/api/cases/ZX20000101-9999/lookup",
                            {"mobile": "13812345678"})
        self.assertErrorShape(wrong, 404, "not_found")
        self.assertErrorShape(unknown, 404, "not_found")
        self.assertEqual(wrong.body, unknown.body)
        self.assertErrorShape(anon.call("POST", path, {"mobile": "123"}), 422,
                              "validation_failed")

    def test_lookup_reads_the_summary_not_the_answers(self):
        """The public view takes the two answers it shows from list_sum
        (no answers JSON parsed); a case without a usable list_sum (stored
        before it existed) is read whole, with the same result."""
        c = self.fill("consult")
        case = self.submit(c, "consult").json()["case"]
        key = "zqe2e:case:" + case["id"]
        path = "/api/cases/%s/lookup" % case["id"]
        anon = Client(self.stack)
        whole = anon.call("POST", path, {"mobile": "13812345678"}).json()["case"]
        self.assertEqual(whole["contact"]["company_name"], "成都示例科技有限公司")
        answers = self.stack.redis_command("HGET", key, "answers")
        # Answers gone, summary there: the view is the same.
        self.stack.redis_command("HDEL", key, "answers")
        r = anon.call("POST", path, {"mobile": "13812345678"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["case"]["contact"], whole["contact"])
        # An old case: answers, no summary (or one of another version).
        self.stack.redis_command("HSET", key, "answers", answers)
        for sums in (None, "0\x1fx\x1fy\x1f\x1f\x1f\x1f\x1f", "1\x1ftoo-short"):
            if sums is None:
                self.stack.redis_command("HDEL", key, "list_sum")
            else:
                self.stack.redis_command("HSET", key, "list_sum", sums)
            r = anon.call("POST", path, {"mobile": "13812345678"})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["case"]["contact"], whole["contact"], sums)

    def test_resume_keeps_answers(self):
        c = Client(self.stack)
        c.start("complaint")
        first = self.steps("complaint")[0]
        r = c.call("PUT", "/api/intake/complaint/steps/" + first["id"],
                   {"answers": self.answers_for(first)})
        self.assertEqual(r.status, 200, r)
        nxt = r.json()["step"]
        self.assertEqual(nxt, self.steps("complaint")[1]["id"])
        # A reload: start again with the cookie resumes the same draft.
        r = c.call("POST", "/api/intake/complaint", csrf=False)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["step"], nxt)
        self.assertEqual(r.json()["answers"]["uscc"], GOOD_USCC)


class TestDraftLayout(IntakeCase):
    """Drafts are stored one field per answer (a:{form}:{field}, d:{form});
    a draft stored whole (f:{form}) before that change is resumed."""

    def session_key(self, c):
        return "zqe2e:sess:" + c.cookie.split("=", 1)[1]

    def test_step_answer_is_the_draft_view(self):
        c = Client(self.stack)
        c.start("complaint")
        st = self.steps("complaint")[0]
        r = c.call("PUT", "/api/intake/complaint/steps/" + st["id"],
                   {"answers": self.answers_for(st)})
        self.assertEqual(r.status, 200, r)
        view = c.call("GET", "/api/intake/complaint").json()
        view.pop("verify")
        self.assertEqual(r.json(), view)
        self.assertEqual(list(r.json()), ["csrf", "form", "step", "answers", "done"])
        key = self.session_key(c)
        self.assertEqual(json.loads(self.stack.redis_command(
            "HGET", key, "a:complaint:mobile")), "13812345678")
        self.assertIsNone(self.stack.redis_command("HGET", key, "f:complaint"))

    def test_body_without_tree_as_with_tree(self):
        """A plain step's usual body is read and validated without a
        jansson tree (zq_jsonq_members, zq_step_validate_raw); the same
        answers in a body that reader leaves to jansson (\\u escapes)
        take the tree path. Both store the same bytes, answer the same,
        and refuse the same way."""
        st = self.steps("complaint")[0]
        ans = self.answers_for(st, company_name='　成都"甲"\\乙/公司\t ', legal_rep="  ",
                               uscc=" 9151 0100 ma61 r7xq 34 ", size="小型", region="成都",
                               mobile="+86 138-1234-5678")
        ans.pop("address")
        bad = dict(ans, uscc="91510100MA61R7XQ35", extra=1)
        results = []
        for ascii_only in (False, True):
            c = Client(self.stack)
            c.start("complaint")
            path = "/api/intake/complaint/steps/" + st["id"]
            body = lambda a: json.dumps({"answers": a}, ensure_ascii=ascii_only).encode()
            hdr = {"Content-Type": "application/json"}
            refused = c.call("PUT", path, raw=body(bad), headers=hdr)
            self.assertEqual(refused.status, 422, refused)
            saved = c.call("PUT", path, raw=body(dict(ans, address="成都市高新区天府大道")),
                           headers=hdr)
            self.assertEqual(saved.status, 200, saved)
            key = self.session_key(c)
            stored = {f: self.stack.redis_command("HGET", key, f)
                      for f in self.stack.redis_command("HKEYS", key)
                      if f.startswith(("a:complaint:", "d:complaint", "m:complaint"))}
            view = saved.json()
            view.pop("csrf")
            results.append((refused.json(), view, stored, saved.header("Set-Cookie") is not None))
        self.assertEqual(results[0], results[1])
        self.assertEqual(json.loads(results[0][2]["a:complaint:company_name"]),
                         '成都"甲"\\乙/公司')
        self.assertEqual(results[0][2]["a:complaint:legal_rep"], "null")
        self.assertEqual(results[0][2]["a:complaint:mobile"], '"13812345678"')
        self.assertIn("uscc", results[0][0]["error"]["fields"])
        self.assertIn("extra", results[0][0]["error"]["fields"])

    def test_draft_stored_whole_is_resumed(self):
        c = Client(self.stack)
        c.start("complaint")
        steps = self.steps("complaint")
        r = c.call("PUT", "/api/intake/complaint/steps/" + steps[0]["id"],
                   {"answers": self.answers_for(steps[0])})
        self.assertEqual(r.status, 200, r)
        before = r.json()
        # Rewrite the draft as a release before this layout stored it.
        key = self.session_key(c)
        fields = self.stack.redis_command("HKEYS", key)
        for f in fields:
            if f.startswith(("a:complaint:", "d:complaint", "m:complaint")):
                self.stack.redis_command("HDEL", key, f)
        legacy = {"step": before["step"], "answers": before["answers"], "done": before["done"]}
        self.stack.redis_command("HSET", key, "f:complaint",
                                 json.dumps(legacy, ensure_ascii=False))
        view = c.call("GET", "/api/intake/complaint").json()
        self.assertEqual(view["answers"], before["answers"])
        self.assertEqual(view["done"], before["done"])
        state = c.call("GET", "/api/intake/complaint/state").json()
        self.assertEqual(state["step"], steps[1]["id"])
        # The next step saves, and the draft is stored per answer from then on.
        r = c.call("PUT", "/api/intake/complaint/steps/" + steps[1]["id"],
                   {"answers": self.answers_for(steps[1])})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["answers"]["company_name"],
                         before["answers"]["company_name"])
        self.assertEqual(r.json()["done"], before["done"] + [steps[1]["id"]])
        self.assertIsNone(self.stack.redis_command("HGET", key, "f:complaint"))
        self.assertIsNotNone(self.stack.redis_command("HGET", key, "a:complaint:company_name"))
        # A step saved in one trip on the converted draft keeps the rest.
        r = c.call("PUT", "/api/intake/complaint/steps/" + steps[0]["id"],
                   {"answers": self.answers_for(steps[0], company_name="乙公司")})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["answers"]["company_name"], "乙公司")
        self.assertEqual(r.json()["done"], before["done"] + [steps[1]["id"]])
        for f in steps[1]["fields"]:
            self.assertIn(f["id"], r.json()["answers"])


class TestBadInput(IntakeCase):
    def test_csrf(self):
        c = Client(self.stack)
        c.start("consult")
        st = self.steps("consult")[0]
        path = "/api/intake/consult/steps/" + st["id"]
        r = c.call("PUT", path, {"answers": self.answers_for(st)}, csrf=False)
        self.assertErrorShape(r, 403, "csrf_failed")
        r = c.call("PUT", path, {"answers": self.answers_for(st)},
                   headers={"X-CSRF-Token": "0" * 64})
        self.assertErrorShape(r, 403, "csrf_failed")
        r = c.call("POST", "/api/intake/consult/submit", csrf=False,
                   headers={"Idempotency-Key": uuid.uuid4().hex})
        self.assertErrorShape(r, 403, "csrf_failed")

    def test_expired_session(self):
        c = Client(self.stack)
        c.start("consult")
        sid = c.cookie.split("=", 1)[1]
        self.stack.redis_command("DEL", "zqe2e:sess:" + sid)
        st = self.steps("consult")[0]
        r = c.call("PUT", "/api/intake/consult/steps/" + st["id"],
                   {"answers": self.answers_for(st)})
        self.assertErrorShape(r, 410, "session_expired")
        self.assertErrorShape(c.call("GET", "/api/intake/consult"), 410, "session_expired")
        # Starting again gives a fresh draft.
        r = c.start("consult")
        self.assertEqual(r.status, 201)

    def test_validation_errors_save_nothing(self):
        c = Client(self.stack)
        c.start("complaint", gate=False)
        gate_fields = self.schemas["complaint"]["steps"][0]["fields"]
        st = self.steps("complaint")[0]
        ans = self.answers_for(st, uscc=bad_check(GOOD_USCC), mobile="12345678901")
        # Nothing saved: the step after the gate is refused until it is done.
        r = c.call("PUT", "/api/intake/complaint/steps/" + st["id"], {"answers": ans})
        self.assertErrorShape(r, 409, "step_out_of_order")
        c.start("complaint")
        r = c.call("PUT", "/api/intake/complaint/steps/" + st["id"], {"answers": ans})
        body = self.assertErrorShape(r, 422, "validation_failed")
        fields = body["error"]["fields"]
        self.assertIn("uscc", fields)
        self.assertIn("mobile", fields)
        self.assertNotIn("company_name", fields)
        self.assertRegex(fields["uscc"], "[\u4e00-\u9fff]")
        draft = c.call("GET", "/api/intake/complaint").json()
        self.assertEqual(sorted(draft["answers"]), sorted(f["id"] for f in gate_fields))
        self.assertEqual(draft["done"], ["eligibility"])

    def test_wrong_types_and_unknown_fields(self):
        c = Client(self.stack)
        c.start("consult")
        st = self.steps("consult")[0]
        path = "/api/intake/consult/steps/" + st["id"]
        ans = self.answers_for(st)
        ans["not_a_field"] = "x"
        self.assertErrorShape(c.call("PUT", path, {"answers": ans}), 422, "validation_failed")
        ans = self.answers_for(st)
        first_text = next(f["id"] for f in st["fields"] if f["type"] == "text")
        ans[first_text] = {"nested": 1}
        self.assertErrorShape(c.call("PUT", path, {"answers": ans}), 422, "validation_failed")
        self.assertErrorShape(c.call("PUT", path, {"answers": ["x"]}), 400, "bad_request")
        r = c.call("PUT", path, raw=b'{"answers": {"a": "\xff"}}',
                   headers={"Content-Type": "application/json"})
        self.assertErrorShape(r, 400, "invalid_utf8")
        r = c.call("PUT", path, raw=b"answers=1",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertErrorShape(r, 415, "unsupported_media_type")
        r = c.call("PUT", path, raw=b'{"answers":', headers={"Content-Type": "application/json"})
        self.assertErrorShape(r, 400, "malformed_json")

    def test_too_long(self):
        c = Client(self.stack)
        c.start("consult")
        steps = self.steps("consult")
        for st in steps:
            ids = [f["id"] for f in st["fields"]]
            if "question" in ids:
                break
            c.call("PUT", "/api/intake/consult/steps/" + st["id"],
                   {"answers": self.answers_for(st)})
        ans = self.answers_for(st, question="问" * 2001)
        r = c.call("PUT", "/api/intake/consult/steps/" + st["id"], {"answers": ans})
        body = self.assertErrorShape(r, 422, "validation_failed")
        self.assertIn("question", body["error"]["fields"])

    def test_step_out_of_order(self):
        c = Client(self.stack)
        c.start("complaint")
        later = self.steps("complaint")[2]
        r = c.call("PUT", "/api/intake/complaint/steps/" + later["id"],
                   {"answers": self.answers_for(later)})
        body = self.assertErrorShape(r, 409, "step_out_of_order")
        self.assertEqual(body["error"]["step"], self.steps("complaint")[0]["id"])
        self.assertErrorShape(c.call("PUT", "/api/intake/complaint/steps/nope",
                                     {"answers": {}}), 404, "unknown_step")

    def test_submit_incomplete_and_without_key(self):
        c = Client(self.stack)
        c.start("complaint")
        r = c.call("POST", "/api/intake/complaint/submit")
        self.assertErrorShape(r, 400, "missing_idempotency_key")
        r = self.submit(c, "complaint")
        body = self.assertErrorShape(r, 422, "validation_failed")
        self.assertEqual(body["error"]["step"], self.steps("complaint")[0]["id"])

    def test_script_stored_inert(self):
        evil = "<script>alert(1)</script>成都公司"
        c = self.fill("consult", company_name=evil)
        r = self.submit(c, "consult")
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.header("Content-Type").startswith("application/json"))
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertEqual(r.json()["case"]["contact"]["company_name"], evil)
        self.assertNotIn(b"<script>", r.body.split(b'"company_name"')[0])


class TestLookupBodies(IntakeCase):
    """The lookup's body, written every way JSON allows (with room in the
    app's per-minute limit for all of them)."""

    STACK_ARGS = {"ini": {"intake": {"lookup_per_minute": 1000}}}

    def test_lookup_body_shapes(self):
        """The lookup reads the usual body {"mobile": "..."} without a
        parse: every other way of writing the same JSON gets the same
        answer, and what is not JSON (or not JSON by its type) the same
        errors as any other endpoint."""
        c = self.fill("consult")
        case = self.submit(c, "consult").json()["case"]
        path = "/api/cases/%s/lookup" % case["id"]
        json_ct = {"Content-Type": "application/json"}

        def post(body, headers=json_ct):
            return self.stack.request("POST", path, body=body, headers=headers)

        want = post(b'{"mobile":"13812345678"}')
        self.assertEqual(want.status, 200, want)
        same = [b' { "mobile" : "13812345678" } \n',
                b'{"mobile":"\\u0031\\u0033812345678"}',
                b'{"mobile":"13812345678","extra":1}',
                b'{"extra":[1,{"a":"b"}],"mobile":"13812345678"}',
                b'{"mobile":13812345678}',
                '{"mobile":"+86 138-1234-5678"}'.encode()]
        for body in same:
            r = post(body)
            self.assertEqual((r.status, r.json()), (200, want.json()), body)
        r = post(b'{"mobile":"13812345678"}',
                 {"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual((r.status, r.json()), (200, want.json()))
        self.assertErrorShape(post(b'{"mobile":"13812345678"}', {"Content-Type": "text/plain"}),
                              415, "unsupported_media_type")
        self.assertErrorShape(post(b'{"mobile":"13812345678"'), 400, "malformed_json")
        self.assertErrorShape(post(b'{"mobile":"13812345678"}}'), 400, "malformed_json")
        self.assertErrorShape(post(b'{"mobile":"1381234\x015678"}'), 400, "malformed_json")
        self.assertErrorShape(post(b'{"mobile":"138\xff"}'), 400, "invalid_utf8")
        self.assertErrorShape(post(b'{"mobile":"1","mobile":"13812345678"}'), 400,
                              "malformed_json")
        self.assertErrorShape(post(b'{"mobile":"123"}'), 422, "validation_failed")
        self.assertErrorShape(post(b'{"Mobile":"13812345678"}'), 422, "validation_failed")


class TestLookupRateLimit(IntakeCase):
    """The app's own limit on status lookups per client and minute, behind
    nginx's: the same answer for a known and an unknown case, then 429."""

    STACK_ARGS = {"ini": {"intake": {"lookup_per_minute": 3}}}

    def test_fourth_lookup_in_a_minute_is_refused(self):
        for _ in range(2):  # a minute boundary in the middle resets the count
            start = int(time.time()) // 60
            got = [self.stack.request("POST", "/api/cases/ZX20000101-%04d/lookup" % i,
                                      json.dumps({"mobile": "13812345678"}).encode(),
                                      {"Content-Type": "application/json"})
                   for i in range(4)]
            if int(time.time()) // 60 == start:
                break
        self.assertEqual([r.status for r in got[:3]], [404, 404, 404])
        self.assertErrorShape(got[3], 429, "rate_limited")
        self.assertRetryAfter(got[3])
        # A bad mobile is refused before it costs a lookup.
        r = self.stack.request("POST", "/api/cases/ZX20000101-0001/lookup",
                               json.dumps({"mobile": "12"}).encode(),
                               {"Content-Type": "application/json"})
        self.assertErrorShape(r, 422, "validation_failed")


class TestRedisKilledDuringSubmissions(IntakeCase):
    """Every case answered 2xx is still there, with its history, after Redis
    is killed with kill -9 in the middle of a burst and restarted."""

    def test_no_acknowledged_case_lost(self):
        clients = [self.fill("consult") for _ in range(120)]
        acked, errors, lock = [], [], threading.Lock()

        def worker(cs):
            for c in cs:
                key = uuid.uuid4().hex
                for _ in range(50):  # retry with the same key until stored
                    r = self.submit(c, "consult", key)
                    if r.status in (200, 201):
                        with lock:
                            acked.append(r.json()["case"]["id"])
                        break
                    with lock:
                        errors.append(r.status)
                    time.sleep(0.1)

        threads = [threading.Thread(target=worker, args=(clients[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        # Kill Redis once a quarter of the burst is acknowledged.
        deadline = time.time() + 30
        while time.time() < deadline:
            with lock:
                if len(acked) >= len(clients) // 4:
                    break
            time.sleep(0.001)
        self.stack.kill9("redis")
        with lock:
            at_kill = len(acked)
        time.sleep(1.0)
        self.stack.start_redis()
        for t in threads:
            t.join(120)
        self.assertEqual(len(acked), len(clients), "errors seen: %r" % errors)
        self.assertTrue(set(errors) <= {503, 502}, errors)
        self.assertEqual(len(set(acked)), len(acked))
        for cid in acked:
            self.assertEqual(self.stack.redis_command("HGET", "zqe2e:case:" + cid, "status"),
                             "submitted", cid)
            self.assertEqual(self.stack.redis_command("LLEN", "zqe2e:case:%s:log" % cid), 1)
        self.assertLess(at_kill, len(clients), "the kill came after the burst")
        print("redis-kill: killed after %d of %d; %d acknowledged, %d found; %d refused with %s"
              % (at_kill, len(clients), len(acked), len(acked), len(errors),
                 sorted(set(errors))))


if __name__ == "__main__":
    unittest.main()

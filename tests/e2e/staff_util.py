"""Helpers for the staff tests: tokens of each role, cases written straight
into Redis in the layout of lib/intake/cases.c with the list summary of
lib/intake/summary.c (fast, pipelined: thousands in a second), an independent
working-day calculator over config/holidays, and Beijing-time helpers.
Python 3 standard library only."""

import datetime as dt
import json
import os
import secrets
import socket

from harness import HOST, ROOT, sha256_hex

BJ = dt.timezone(dt.timedelta(hours=8))
PREFIX = "zqe2e:"


class Tokens:
    """One token per role (plus a second handler), and the ini lines."""

    def __init__(self):
        self.admin = secrets.token_hex(16)
        self.handler = secrets.token_hex(16)
        self.handler2 = secrets.token_hex(16)
        self.viewer = secrets.token_hex(16)

    def ini(self):
        return {"staff": {"token": [
            "boss:admin:%s" % sha256_hex(self.admin),
            "hd1:handler:%s" % sha256_hex(self.handler),
            "hd2:handler:%s" % sha256_hex(self.handler2),
            "look:viewer:%s" % sha256_hex(self.viewer),
        ]}}


def auth(token, **extra):
    h = {"Authorization": "Bearer " + token}
    h.update(extra)
    return h


def ms_at(y, m, d, hh=10, mm=0):
    """ms since the epoch of a Beijing wall-clock time."""
    return int(dt.datetime(y, m, d, hh, mm, tzinfo=BJ).timestamp() * 1000)


def bj_date(ms):
    return dt.datetime.fromtimestamp(ms / 1000, BJ).date()


def redis_pipeline(stack, commands, chunk=2000):
    """Sends many commands on one connection, reading replies as we go;
    returns nothing, raises on the first error reply."""
    def enc(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    with socket.create_connection((HOST, stack.redis_port), timeout=60) as s:
        f = s.makefile("rb")
        for i in range(0, len(commands), chunk):
            part = commands[i:i + chunk]
            s.sendall(b"".join(enc(c) for c in part))
            for _ in part:
                line = f.readline()
                if line.startswith(b"-"):
                    raise AssertionError("redis: %r" % line)
                if line[:1] == b"$":
                    n = int(line[1:-2])
                    if n >= 0:
                        f.read(n + 2)
                elif line[:1] == b"*":
                    # Our commands never answer arrays; keep it simple.
                    raise AssertionError("unexpected array reply")


SUMMARY_VERSION = "1"  # include/zhuqi/summary.h
SEP = "\x1f"
ROW_FIELDS = ("id form status created_ms updated_ms mobile region source dup_of handler office "
              "cross_region due_kind due_start due_date due_limit due_ext answered_ms "
              "answered_on_time result recovered_fen department review_on_time "
              "transfer_on_time rating rating_comment result_reason").split()


def summary_values(form, answers):
    """The list summary lib/intake/summary.c derives from the answers: company,
    contact, respondent, amount, topic, default office, partner."""
    complaint = form == "complaint"

    def text(k):
        v = answers.get(k)
        return v if isinstance(v, str) else ""

    amount = answers.get("amount_fen")
    r = text("respondent_region") if complaint else ""
    if not r:
        r = text("region")
    office, partner = "510000", ""
    if len(r.encode()) == 6:
        if r.startswith("51"):
            office = r
        else:
            partner = r
    return [text("company_name"), text("contact_name"),
            text("respondent_name") if complaint else "",
            str(amount) if complaint and type(amount) is int and amount >= 0 else "",
            "" if complaint else text("topic"), office, partner]


def list_packs(form, answers, fields):
    """list_sum and list_row (include/zhuqi/summary.h) of a case whose hash
    fields are the dict fields; None for a pack that cannot be written."""
    vals = summary_values(form, answers)
    list_sum = None if any(SEP in v for v in vals) else SEP.join([SUMMARY_VERSION] + vals)
    row = [fields.get(k) for k in ROW_FIELDS]
    row = ["" if v is None else "=" + str(v) for v in row]
    list_row = None if any(SEP in v for v in row) else SEP.join([SUMMARY_VERSION] + row)
    return list_sum, list_row


def case_commands(case_id, form, created_ms, answers, status="submitted", mobile="13812345678",
                  region="510100", source="web", log=None, extra=None, summary=True):
    """The commands that store one case as lib/intake/cases.c does (plus the
    status index of a later status and extra hash fields); summary=False
    leaves out the staff list's packs, as for cases stored before them."""
    ck = PREFIX + "case:" + case_id
    fields = ["id", case_id, "form", form, "status", status, "created_ms", created_ms,
              "updated_ms", created_ms, "answers", json.dumps(answers, ensure_ascii=False),
              "mobile", mobile, "region", region, "source", source, "dup_of", ""]
    for k, v in (extra or {}).items():
        fields += [k, v]
    if summary:
        list_sum, list_row = list_packs(form, answers, dict(zip(fields[::2], fields[1::2])))
        if list_sum is not None:
            fields += ["list_sum", list_sum]
        if list_row is not None:
            fields += ["list_row", list_row]
    if log is None:
        log = [{"at_ms": created_ms, "from": "", "to": "submitted", "by": source, "note": ""}]
    cmds = [["HSET", ck] + fields]
    for e in log:
        cmds.append(["RPUSH", ck + ":log", json.dumps(e, ensure_ascii=False)])
    for idx in ("cases:all", "cases:type:" + form, "cases:status:" + status,
                "cases:region:" + region):
        cmds.append(["ZADD", PREFIX + idx, created_ms, case_id])
    return cmds


def complaint_answers(n=0, **over):
    a = {
        "payer_type": "organ",
        "size_at_signing": "small",
        "overdue": "yes",
        "proceedings": "none",
        "company_name": "成都示例科技有限公司%d" % n,
        "uscc": "91510100MA61R7XQ3X",
        "size": "small",
        "region": "510100",
        "address": "成都市高新区天府大道 100 号",
        "contact_name": "张三",
        "mobile": "13812345678",
        "respondent_name": "某市某局%d" % n,
        "respondent_type": "organ",
        "respondent_uscc": None,
        "respondent_region": "510100",
        "contract_name": "办公设备采购合同",
        "contract_no": "HT-2026-%04d" % n,
        "signing_date": "2026-01-05",
        "supply_type": "goods",
        "delivery_date": "2026-02-01",
        "acceptance_based": False,
        "payment_term": "days_30",
        "contract_amount_fen": 20000000,
        "paid_fen": 0,
        "amount_fen": 12345678 + n,
        "undisputed_fen": 100000,
        "due_date": "2026-03-03",
        "facts": "我公司按期交付全部设备，对方至今未付款。",
        "demand": "请求督促对方支付欠款。",
        "evidence": "合同、验收单、发票",
        "no_other_proceedings": True,
        "facts_true": True,
        "consent": True,
    }
    a.update(over)
    return a


def consult_answers(n=0, **over):
    a = {
        "topic": "tax",
        "company_name": "绵阳咨询企业%d" % n,
        "uscc": None,
        "region": "510700",
        "contact_name": "李四",
        "mobile": "13912345678",
        "question": "请问小规模纳税人增值税减免政策如何申请？",
        "preferred_time": "anytime",
    }
    a.update(over)
    return a


def case_id(prefix, day, seq):
    return "%s%s-%04d" % (prefix, day, seq)


class WorkCal:
    """Working days from config/holidays, computed here independently of
    lib/core/calendar.c and lib/intake/workflow.c."""

    def __init__(self):
        self.years = {}

    def _year(self, y):
        if y not in self.years:
            p = os.path.join(ROOT, "config", "holidays", "%d.json" % y)
            if not os.path.exists(p):
                self.years[y] = None
            else:
                j = json.load(open(p, encoding="utf-8"))
                off, work = set(), set()
                for item in j["days_off"]:
                    a, _, b = item.partition("/")
                    a = dt.date.fromisoformat(a)
                    b = dt.date.fromisoformat(b) if b else a
                    while a <= b:
                        off.add(a)
                        a += dt.timedelta(days=1)
                for item in j["workdays"]:
                    work.add(dt.date.fromisoformat(item))
                self.years[y] = (off, work)
        return self.years[y]

    def is_workday(self, d):
        y = self._year(d.year)
        if y is None:
            return d.weekday() < 5
        off, work = y
        if d in work:
            return True
        if d in off:
            return False
        return d.weekday() < 5

    def add_workdays(self, d, n):
        while n > 0:
            d += dt.timedelta(days=1)
            if self.is_workday(d):
                n -= 1
        return d

    def next_workday(self, d):
        while not self.is_workday(d):
            d += dt.timedelta(days=1)
        return d

    def workdays_between(self, a, b):
        if b < a:
            return -self.workdays_between(b, a)
        n = 0
        while a < b:
            a += dt.timedelta(days=1)
            n += self.is_workday(a)
        return n

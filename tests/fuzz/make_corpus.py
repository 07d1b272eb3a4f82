#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/
from the project's own test data (tests/data, config/, the e2e samples) and a
few edge cases. Each seed starts with the bytes the target reads first (a mode
byte, lines), as described at the top of tests/fuzz/fuzz_<target>.c.

Run from anywhere: python3 tests/fuzz/make_corpus.py. It rewrites every seed
it makes (deterministic names) and leaves other files alone.

  --check   write nothing; exit 1 naming every seed that is missing from
            tests/fuzz/corpus or differs from what the generator makes now
            (make fuzz runs it first, so a stale corpus fails CI)."""

import glob
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")

VEC = json.load(open(os.path.join(ROOT, "tests/data/inbound/vectors.json"), encoding="utf-8"))


def b(s):
    return s if isinstance(s, bytes) else s.encode("utf-8")


def read(rel):
    with open(os.path.join(ROOT, rel), "rb") as f:
        return f.read()


def seed(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safe(name):
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


# ---- the HTTP layer ----

def http():
    qs = [
        "a=1&b=2", "form=complaint&step=company", "page=2&status=new&region=510100",
        "q=%E6%88%90%E9%83%BD&x=%e4%b8%ad", "note=a%26b%3Dc+d%2Be", "a=%00", "a=%zz", "a=%4",
        "a+b=c+d", "&&&=&", "=", "a", "a==b", "%F0%9F%98%80=%C0%AF", "k=" + "x" * 300,
        "company=%E6%88%90%E9%83%BD%E6%9F%90%E6%9F%90&mobile=13800000000",
    ]
    for i, q in enumerate(qs):
        seed("urlencoded", "q%02d" % i, bytes([1 | (i % 3) << 1]) + b(q))
        seed("urlencoded", "f%02d" % i, bytes([0x80 | 0x7e]) + b(q))
    cookies = [
        "zq_session=abc123; zq_csrf=def456", ' a = "quoted" ;b=2;;; c', "zq_session=",
        "=novalue; x=1", "name", '"="', "a=1; a=2; a=3; a=4; a=5",
    ]
    for i, c in enumerate(cookies):
        seed("cookies", "c%02d" % i, bytes([2 + i]) + b(c))
    for i, a in enumerate(["Bearer fuzz-admin-token", "Bearer fuzz-viewer", "bearer fuzz-viewer",
                           "Bearer  fuzz-admin-token", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer",
                           "req-1234_abc.def"]):
        seed("cookies", "a%02d" % i, bytes([0x40 * (i % 4) + 8]) + b(a))

    bodies = [
        {"s": "助企 — 四川", "n": 42, "a": [1, 2.5, None, True], "o": {"k": "v"}},
        {"answers": {"company_name": "成都示例科技有限公司", "mobile": "138 1234 5678"}},
        {"answers": {}}, {"idempotency_key": "9f1c2b7e-1111-4222-8333-444455556666"},
        {"mobile": "13812345678", "case_id": "TS20260315000001"},
    ]
    uris = ["/api/_debug/echo", "/api/intake/complaint/steps/company", "/api/intake/consult/submit",
            "/api/cases/TS20260315000001/lookup", "/api/admin/cases.csv?x=1", "/api/forms/%E4%B8%AD",
            "/hook/wecom?msg_signature=x", "/api/%00", "/api/forms/a%2Fb", "/%ff"]
    n = 0
    for i, u in enumerate(uris):
        for j, body in enumerate(bodies[:2] if i else bodies):
            mode = (n % 3) | ((i % 2) << 2) | ((1 + n % 4) << 3)
            seed("json_body", "j%02d" % n, bytes([mode]) + b(u) + b"\n" +
                 json.dumps(body, ensure_ascii=False).encode())
            n += 1
    for k, raw in enumerate([b'{"a":', b"{'a':1}", b"[1,2", b"not json", b'{"a":"\xff"}',
                             b'{"a":"\xc3\x28"}', b'{"a":"\xed\xa0\x80"}', b'{"a":1,"a":2}',
                             b'"\\u0000"', b"[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]",
                             b'{"a":1e999}', b"\xef\xbb\xbf{}"]):
        seed("json_body", "bad%02d" % k, bytes([k % 4 | 8]) + b"/api/_debug/echo\n" + raw)


# ---- the small parsers of lib/core/buf.c and the log masks ----

def buf():
    for name, data in [
        ("utf8_cjk", b"\x00" + b("中文")), ("utf8_mixed", b"\x05" + b("中文abc😀")),
        ("overlong", b"\x01\xc0\xaf"), ("surrogate", b"\x01\xed\xa0\x80"),
        ("above_max", b"\x02\xf4\x90\x80\x80"), ("ll_ts", b"\x0099999999999"),
        ("ll_min", b"\x00-9223372036854775808"), ("ll_over", b"\x009223372036854775808"),
        ("ll_neg", b"\x02-27"), ("date_bad", b"\x042026-02-29"), ("date_leap", b"\x042024-02-29"),
        ("mask_text", b"\x08" + b("我的电话是13812345678请回电")),
        ("mask_mobile", b"\x30+86 138-1234-5678"), ("mask_name", b"\x20" + b("张三丰")),
        ("json_escape", b"\x07\x22\x5c\x08\x0c\x0a\x0d\x09\x01\x7f"),
    ]:
        seed("buf", name, data)


# ---- the staff API's JSON ----

def admin():
    targets = [
        {"channel": "wecom-robot", "address": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx",
         "name": "成都办", "tags": ["510100", "staff"]},
        {"channel": "wecom-robot", "address": "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"},
        {"id": "dt-1", "channel": "dingtalk-robot",
         "address": "https://oapi.dingtalk.com/robot/send?access_token=abc123", "secret": "SECabc"},
        {"channel": "feishu-bot", "address": "https://open.feishu.cn/open-apis/bot/v2/hook/2d5e-xx",
         "secret": "fs-secret", "tags": ["tax_day"]},
        {"channel": "telegram", "address": "123456:ABC-DEF", "chat_id": "-1001234567890"},
        {"channel": "telegram", "address": "123456:ABC-DEF", "chat_id": "@channel_name"},
        {"channel": "generic", "address": "https://example.cn/hook?x=1", "secret": "g"},
        {"channel": "generic", "address": "file:///etc/passwd"}, {"channel": "sms", "address": "x"},
        {"channel": "wecom-robot", "address": "k", "secret": "not used"},
        {"channel": "wecom-robot", "address": "k", "tags": ["a,b", "", "x" * 70]},
    ]
    for i, t in enumerate(targets):
        seed("admin", "target%02d" % i, b"\x00" + json.dumps(t, ensure_ascii=False).encode())
    classes = [
        {"date": "2026-12-27", "time": "14:30", "title": "年度汇算清缴", "speaker": "王老师",
         "live_url": "https://live.example.cn/1227", "replay_url": "https://replay.example.cn/1227"},
        {"id": "c-1", "date": "2026-02-29", "time": "25:00", "title": ""},
        {"date": "2026-01-27", "time": "9:5", "title": "x", "live_url": "javascript:alert(1)"},
    ]
    for i, c in enumerate(classes):
        seed("admin", "class%02d" % i, b"\x01" + json.dumps(c, ensure_ascii=False).encode())
    for i, a in enumerate([{"tags": ["later"]}, {"targets": ["nobody"]}, {"all": True},
                           {"tags": ["a", "b"], "match": "all", "targets": ["t-1"]}, {},
                           {"tags": "x"}, {"match": "some", "tags": ["a"]}, {"tags": ["a", "a"]}]):
        seed("admin", "audience%02d" % i, b"\x02" + json.dumps(a, ensure_ascii=False).encode())
    for i, m in enumerate([{"mobiles": ["13800000001"], "all": True}, {"mobiles": ["+86 138-0000-0001"]},
                           {"mobiles": ["12345"]}, {"all": False}, {"mobiles": ["13800000001", "13800000001"]}]):
        seed("admin", "mentions%02d" % i, b"\x03" + json.dumps(m).encode())
    for i, t in enumerate(["2026-11-26T09:30", "2026-11-26T09:30:00Z", "2026-11-26 09:30:15.123+08:00",
                           "2026-11-26T09:30-05:30", "2026-02-30T00:00", "tomorrow", "9999-12-31T23:59:59Z"]):
        seed("admin", "time%02d" % i, b"\x04" + b(t))
    for i, l in enumerate(["-1d 16:00", "0d 09:00", "27d 23:59", "-28d 00:00", "1d 24:00", "0d 9:00"]):
        seed("admin", "lead%02d" % i, b"\x05" + b(l))
    seed("admin", "inline", b"\x06" + json.dumps({"id": "", "channel": "dingtalk-robot",
                                                  "address": "https://oapi.dingtalk.com/robot/sendBySession?session=abc",
                                                  "secret": "", "chat_id": ""}).encode())
    for i, src in enumerate(["chat:wecom:zhangsan", "chat:telegram:4242", "web", "chat::", "chat:x"]):
        seed("admin", "chat_id%02d" % i, b"\x07" + b(src))


# ---- forms ----

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(body17):
    total = sum(ALPHABET.index(c) * w for c, w in zip(body17, WEIGHTS))
    return body17 + ALPHABET[(31 - total % 31) % 31]


GOOD_USCC = uscc("91510100MA61R7XQ3")

VALUES = {
    "text": ["成都示例科技有限公司", "  张三  ", "", "   ", "a\u0000b", "\u3000全角空格\u3000",
             "line1\nline2", "\u200b"],
    "enum": ["small", "1", "小型企业", "99", "0", "SMALL", "其他"],
    "uscc": [GOOD_USCC, GOOD_USCC.lower(), GOOD_USCC[:9] + " " + GOOD_USCC[9:], GOOD_USCC[:-1] + "0",
             "91510100MA61R7XQ3I", "12345678901234567", "９１５１０１００ＭＡ６１Ｒ７ＸＱ３"],
    "mobile": ["13812345678", "138 1234 5678", "+86 138-1234-5678", "8613812345678", "12345678901",
               "１３８１２３４５６７８", "138123456789"],
    "money": ["123,456.78", "1,234.50元", "100000", "0.01", "0", "-1", "1.234", "9999999999.99",
              "100000000000", "１２３", "12万", "1e5", "￥12.3", "12.30元"],
    "date": ["2026-01-05", "2026-1-5", "2026年1月5日", "2026/01/05", "2024-02-29", "2026-02-29",
             "2099-01-01", "0000-00-00", "2026-03-15", "20260105"],
    "region": ["510100", "成都", "成都市", "500000", "重庆", "510000", "999999", "天府新区"],
    "bool": ["是", "否", "true", "false", "1", "0", "yes", "同意"],
    # A files field takes the upload API's list (JSON, below); typed text is refused.
    "files": ["合同照片", ""],
}

# JSON values of a files field (mode 1): the upload records as stored.
FILES_JSON = [
    '[{"id":"0123456789abcdef0123456789abcdef","kind":"contract","name":"合同.pdf","size":1000,'
    '"type":"application/pdf"}]',
    '[{"id":"0123456789abcdef0123456789abcdef","kind":"other"}]',
    '[{"id":"../x","kind":"contract"}]',
    '[{"kind":"contract"},1,null,"x"]',
    '[]',
    '{"id":"0123456789abcdef0123456789abcdef"}',
]


def fields():
    out = []
    for form in ("complaint", "consult"):
        d = json.load(open(os.path.join(ROOT, "config/forms/%s.json" % form), encoding="utf-8"))
        for st in d["steps"]:
            for f in st.get("fields", []):
                out.append((form, st, f))
    return out


def validate():
    allf = fields()
    for i, (form, st, f) in enumerate(allf):
        for k, v in enumerate(VALUES[f["type"]]):
            seed("validate", "%s_%s_%d" % (form, f["id"], k), bytes([i, 0 | (k % 2) << 3 | (k % 3 == 0) << 4]) + b(v))
        if f["id"] in ("company_name", "question", "facts"):
            seed("validate", "%s_%s_long" % (form, f["id"]), bytes([i, 0]) + b("测" * 2001))
        if f["type"] == "files":
            for k, v in enumerate(FILES_JSON):
                seed("validate", "%s_%s_json%d" % (form, f["id"], k), bytes([i, 1]) + b(v))
        if f["type"] in ("money", "bool"):
            seed("validate", "%s_%s_int" % (form, f["id"]), bytes([i, 2]) + (12345600).to_bytes(8, "big"))
            seed("validate", "%s_%s_json" % (form, f["id"]), bytes([i, 1]) + b"true")
            seed("validate", "%s_%s_num" % (form, f["id"]), bytes([i, 1]) + b"12.5")
    # A step's answers, and all answers at submit.
    import importlib.util
    spec = importlib.util.spec_from_file_location("ti", os.path.join(ROOT, "tests/e2e/test_intake.py"))
    sample = {}
    try:
        sys.path.insert(0, os.path.join(ROOT, "tests/e2e"))
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        sample = m.SAMPLE
    except Exception:  # the e2e harness may need things this script does not
        sample = {"company_name": "成都示例科技有限公司", "uscc": GOOD_USCC, "mobile": "13812345678"}
    seen = set()
    for i, (form, st, f) in enumerate(allf):
        if (form, st["id"]) in seen:
            continue
        seen.add((form, st["id"]))
        ans = {x["id"]: sample.get(x["id"], VALUES[x["type"]][0]) for x in st.get("fields", [])}
        seed("validate", "step_%s_%s" % (form, st["id"]), bytes([i, 4]) + json.dumps(ans, ensure_ascii=False).encode())
        ans["unknown"] = 1
        seed("validate", "step_%s_%s_unknown" % (form, st["id"]), bytes([i, 4]) + json.dumps(ans, ensure_ascii=False).encode())
    for form in ("complaint", "consult"):
        i = next(k for k, x in enumerate(allf) if x[0] == form)
        ans = {x[2]["id"]: sample.get(x[2]["id"], VALUES[x[2]["type"]][0]) for x in allf if x[0] == form}
        seed("validate", "all_%s" % form, bytes([i, 5]) + json.dumps(ans, ensure_ascii=False).encode())
        seed("validate", "all_%s_empty" % form, bytes([i, 5]) + b"{}")


def schema():
    seed("schema", "complaint", b"\x00" + read("config/forms/complaint.json"))
    seed("schema", "consult", b"\x00" + read("config/forms/consult.json"))
    seed("schema", "complaint_with_consult", b"\x02" + read("config/forms/complaint.json"))
    seed("schema", "regions", b"\x01" + read("config/regions.json"))
    for d in sorted(glob.glob(os.path.join(ROOT, "tests/data/forms/*"))):
        name = os.path.basename(d)
        for f in sorted(glob.glob(os.path.join(d, "forms", "*.json"))):
            seed("schema", safe("%s_%s" % (name, os.path.basename(f))), b"\x00" + open(f, "rb").read())
        r = os.path.join(d, "regions.json")
        if os.path.exists(r):
            seed("schema", safe(name + "_regions"), b"\x01" + open(r, "rb").read())


def calendar():
    for f in sorted(glob.glob(os.path.join(ROOT, "config/holidays/*.json"))):
        seed("calendar", "config_" + os.path.basename(f), bytes([1 | 9 << 1]) + open(f, "rb").read())
    for i, f in enumerate(sorted(glob.glob(os.path.join(ROOT, "tests/data/holidays/*/*")))):
        if os.path.isfile(f) and not f.endswith(("expect", "README")):
            name = os.path.basename(os.path.dirname(f)) + "_" + os.path.basename(f)
            seed("calendar", safe(name), bytes([(i % 2) | (i % 40) << 1]) + open(f, "rb").read())


def config():
    seed("config", "zhuqi.ini", read("config/zhuqi.ini"))
    for f in sorted(glob.glob(os.path.join(ROOT, "tests/data/config/*.ini"))):
        seed("config", os.path.basename(f), open(f, "rb").read())


def template():
    for f in sorted(glob.glob(os.path.join(ROOT, "config/templates/*.md"))):
        case = os.path.basename(f).startswith("case_")
        seed("template", os.path.basename(f), bytes([0xff if case else 0xfe]) + open(f, "rb").read())
        seed("template", "empty_vars_" + os.path.basename(f), bytes([1 if case else 0]) + open(f, "rb").read())
    for i, t in enumerate(["# 标题\n", "# {{case.id}}\n{{#case.duplicate}}\n重复\n{{/case.duplicate}}\n",
                           "# t\n{{unknown}}", "# t\n{{case.id", "# t\n}}", "# t\n{{#case.id}}x",
                           "# t\n{{/case.id}}", "# {{#case.id}}x{{/case.id}}\n", "#t", "# \n",
                           "# t\n" + "{{#case.id}}" * 9 + "{{/case.id}}" * 9,
                           "# t\n  {{^case.type}}  \r\n无\n{{/case.type}}\n\n\n"]):
        seed("template", "edge%02d" % i, bytes([0xff - 2 * i]) + b(t))


def channel():
    bodies = [
        "**案件 TS20260315000001** 已受理\n- 时间：2026-03-15\n- 地点：[成都](https://example.com/a?b=1&c=2)",
        "<b>not a tag</b> & \"quotes\" 'single' &amp; &#x4E2D;",
        ("办理进度更新。" * 40 + "\n") * 10,
        "😀" * 1100,
        "- item **bold [link](http://x.y/z)** end\n* second\n  - nested",
        "a" * 5000,
        "**unclosed bold\n[bad link](javascript:alert(1))\n[x](http://a b)",
        "\r\n\t\x01control\x7f",
    ]
    titles = ["税务助企宣讲日", "", "标题" * 120, "<b>&</b>"]
    n = 0
    for kind in range(5):
        for i, body in enumerate(bodies):
            mode = kind | (8 if i % 2 else 0) | (16 if i % 3 == 0 else 0) | (32 if i == 4 else 0)
            lim = 0 if i % 2 == 0 else (i * 7) % 256
            seed("channel", "k%d_%02d" % (kind, i), bytes([mode, lim]) + b(titles[i % 4]) + b"\n" + b(body))
            n += 1


def classify():
    answers = [
        (0, 1, "", '{"errcode":0,"errmsg":"ok"}'), (0, 1, "", '{"errcode":45009,"errmsg":"api freq out of limit"}'),
        (0, 1, "", '{"errcode":93000,"errmsg":"invalid webhook url"}'), (1, 1, "", '{"errcode":310000,"errmsg":"sign not match"}'),
        (1, 1, "", '{"errcode":130101,"errmsg":"send too fast"}'), (2, 1, "", '{"code":0,"msg":"success","data":{}}'),
        (2, 1, "", '{"code":9499,"msg":"too many request"}'), (2, 1, "", '{"StatusCode":0,"StatusMessage":"success"}'),
        (3, 1, "", '{"ok":true,"result":{"message_id":1}}'), (3, 9, "", '{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}'),
        (3, 5, "", '{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}'),
        (4, 9, "120", ""), (4, 9, "Wed, 21 Oct 2015 07:28:00 GMT", ""), (4, 10, "99999999999", "<html>oops</html>"),
        (0, 1, "", "<html><body>502 Bad Gateway</body></html>"), (0, 0, "", ""), (1, 4, "", "moved"),
        (2, 1, "", '{"code":"0"}'), (0, 1, "", '{"errcode":-1,"errmsg":"system busy \xff"}'),
        # Answers that say the destination is gone (zq_channel_target_gone).
        (3, 6, "", '{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}'),
        (7, 5, "", '{"code":230002,"msg":"Bot/User can NOT be out of the chat."}'),
        (5, 1, "", '{"errcode":81013,"errmsg":"user & party & tag all invalid"}'),
        (5, 1, "", '{"errcode":0,"errmsg":"ok","invaliduser":"zhangsan"}'),
    ]
    for i, (kind, st, ra, body) in enumerate(answers):
        seed("classify", "a%02d" % i, bytes([kind | (16 if ra else 0), st]) + b(ra) + b"\n" + b(body))



def sms():
    """Answers to SendSms (specs/sms.md §1.4, §2.4): mode bit 0 is Alibaba,
    bit 1 also builds a request from the body's lines."""
    ok_tc = ('{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619",'
             '"PhoneNumber":"+8613800138000","Fee":1,"SessionContext":"case-42","Code":"Ok",'
             '"Message":"send success","IsoCode":"CN"}],"RequestId":"a0aabda6-cf91-4f3e-a81f-9198114a2279"}}')
    answers = [
        (0, 1, 0, ok_tc),
        (0, 1, 0, '{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"签名错误"},'
                  '"RequestId":"r"}}'),
        (0, 1, 1, '{"Response":{"SendStatusSet":[{"Code":"Ok","SerialNo":"1"},{"Code":'
                  '"LimitExceeded.PhoneNumberDailyLimit","Message":"单个手机号日下发短信条数超过设定的上限"}]}}'),
        (0, 1, 0, '{"Response":{"Error":{"Code":"LimitExceeded.PhoneNumberThirtySecondLimit"}}}'),
        (0, 1, 0, '{"Response":{"Error":{"Code":"InternalError.Timeout","Message":"timeout"}}}'),
        (0, 1, 0, '{"Response":{"Error":{"Code":"InvalidParameterValue.IncorrectPhoneNumber"}}}'),
        (0, 10, 0, "<html><body>502 Bad Gateway</body></html>"),
        (0, 1, 0, '{"Response":{}}'), (0, 0, 0, ""), (0, 4, 0, "moved"),
        (1, 1, 0, '{"Code":"OK","Message":"OK","BizId":"9006197469364984^0","RequestId":"F655A8D5-B967-440B-8683-DAD6FF8DE990"}'),
        (1, 1, 2, '{"Code":"isv.MONTH_LIMIT_CONTROL","Message":"触发月发送上限","RequestId":"x"}'),
        (1, 1, 0, '{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控Permits:1","RequestId":"x"}'),
        (1, 8, 0, '{"Code":"Throttling.User","Message":"Request was denied due to user flow control."}'),
        (1, 6, 0, '{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched"}'),
        (1, 11, 0, '{"Code":"ServiceUnavailable","Message":"busy"}'),
        (1, 1, 0, '{"Code":"isv.MOBILE_NUMBER_ILLEGAL","Message":"非法手机号 \xff"}'),
        (2, 1, 0, "secret\n腾讯云\n1110\n123456\n+8613800138000\ncase-42"),
        (3, 1, 0, 'secret\n阿里云短信测试\nSMS_154950909\n{"x":"y"}\n13800138000\nTS20261206-0001'),
        (3, 1, 0, "s\n\x01bad\nT\n1\n12800138000\n"),
    ]
    for i, (mode, st, ck, body) in enumerate(answers):
        seed("sms", "a%02d" % i, bytes([mode, st, ck]) + b(body))


def sms_gateway():
    """A 政务 gateway's answers and [sms] templates: a status byte (0x80:
    http_success 202; 0x40: Retry-After 7), then the success, error and
    message-id pointers, a tpl_<use> value, and the body."""
    seeds = [
        (1, "/code", "", "/data/msgId", "1110: code, minutes",
         '{"code":"0000","msg":"ok","data":{"msgId":"gw-1"}}'),
        (1, "/code", "", "", "SMS_1: caseno=case, status", '{"code":"FREQ_LIMIT","msg":"slow"}'),
        (0x41, "/code", "/err/0/c", "", "x: code,,", '{"code":9,"err":[{"c":"SYSTEM_BUSY"}]}'),
        (0x88, "", "", "", "", "0: Accepted for delivery"),
        (1, "/r~1s/0/c~0d", "", "/r~1s/1", "2100004: case, status, deadline",
         '{"r/s":[{"c~d":true},"id-9"]}'),
        (10, "/code", "", "", "a b: code", "<html>502</html>"),
        (5, "/code", "/msg", "", "1: Code", '{"code":"E_MOBILE","msg":"13800138000 \xff\x01"}'),
        (1, "/a/01", "/~2", "/" * 50, "1:" + "code," * 9, '{"a":[1,2]}'),
    ]
    for i, (st, ok, err, mid, tpl, body) in enumerate(seeds):
        seed("sms_gateway", "g%02d" % i,
             bytes([st]) + b("\n".join([ok, err, mid, tpl, body])))


# ---- chat platforms ----

def xml():
    for f in sorted(glob.glob(os.path.join(ROOT, "tests/data/inbound/xml/*.xml"))):
        seed("xml", os.path.basename(f), open(f, "rb").read())
    for m in VEC["wecom"]["messages"]:
        seed("xml", "wecom_" + m["name"], b(m["body"]))
    seed("xml", "wecom_doctype", b(VEC["wecom"]["doctype_body"]))
    seed("xml", "empty_root", b"<xml/>")
    seed("xml", "refs", b"<xml><A>&#65;&#x10FFFF;&#xD800;</A></xml>")


INNER = [
    "<xml><ToUserName><![CDATA[ww1234567890abcdef]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
    "<CreateTime>1764115200</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好，我要投诉]]></Content>"
    "<MsgId>7330000000000000001</MsgId><AgentID>1000002</AgentID></xml>",
    "<xml><ToUserName><![CDATA[ww1234567890abcdef]]></ToUserName><FromUserName><![CDATA[li.si]]></FromUserName>"
    "<CreateTime>1764115200</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>",
    "<xml><FromUserName><![CDATA[zhangsan]]></FromUserName><MsgType><![CDATA[image]]></MsgType>"
    "<PicUrl><![CDATA[http://x/y.png]]></PicUrl><MsgId>1</MsgId></xml>",
    "<xml><FromUserName>zhangsan</FromUserName><MsgType>text</MsgType><Content>a]]&gt;b &amp;amp; &lt;c&gt;</Content><MsgId>2</MsgId></xml>",
    "<xml><FromUserName><![CDATA[u]]></FromUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event></xml>",
]


def wecom():
    w = VEC["wecom"]
    for m in w["messages"]:
        seed("wecom", "outer_" + m["name"], b"\x00" + b(m["body"]))
        seed("wecom", "raw_" + m["name"], b"\x03" + b(m["msg_signature"]) + b"\n" + b(w["timestamp"]) + b"\n" +
             b(w["nonce"]) + b"\n" + b(m["body"]))
    for i, x in enumerate(INNER):
        seed("wecom", "inner%02d" % i, b"\x01" + b(x))
    seed("wecom", "verify", b"\x02" + b(w["verify"]["echostr"]))
    seed("wecom", "verify_head", b"\x0a" + b(w["verify"]["echostr"].replace("+", " ")))
    seed("wecom", "doctype", b"\x00" + b(w["doctype_body"]))
    for bad in w["bad"]:
        seed("wecom", "bad_" + bad["name"], b"\x00<xml><Encrypt><![CDATA[" + b(bad["ciphertext"]) + b"]]></Encrypt></xml>")


def chatcrypt():
    w, f = VEC["wecom"], VEC["feishu"]
    seed("chatcrypt", "b64_key", b"\x00" + b(w["encoding_aes_key"]))
    seed("chatcrypt", "b64_pad", b"\x00QUJD")
    seed("chatcrypt", "b64_pad1", b"\x00QUI=")
    seed("chatcrypt", "b64_bad", b"\x00QU=I")
    for k, v in (("verify", w["verify"]["echostr"]), ("encrypt", w["encrypt"]["ciphertext"]),
                 ("aligned", w["encrypt_aligned"]["ciphertext"])):
        seed("chatcrypt", "wecom_" + k, b"\x01" + b(v))
    for bad in w["bad"]:
        seed("chatcrypt", "wecom_bad_" + bad["name"], b"\x01" + b(bad["ciphertext"]))
    corp = b(w["corp_id"])
    for i, msg in enumerate([b"", b"hello", b"x" * 26, b(INNER[0])]):
        framed = bytes(range(16)) + len(msg).to_bytes(4, "big") + msg + corp
        seed("chatcrypt", "wecom_framed%d" % i, b"\x0a" + framed)
        seed("chatcrypt", "wecom_framed_badpad%d" % i, b"\x02" + framed)
        seed("chatcrypt", "wecom_framed_other%d" % i, b"\x0a" + framed[:-1])
        seed("chatcrypt", "roundtrip%d" % i, b"\x0d" + msg)
    seed("chatcrypt", "feishu_decrypt", b"\x03" + b(f["decrypt"]["encrypt"]))
    seed("chatcrypt", "feishu_framed", b"\x0c0123456789abcdef" + b(f["decrypt"]["plaintext"]))
    seed("chatcrypt", "feishu_framed_badpad", b"\x040123456789abcdef" + b("x" * 20))
    seed("chatcrypt", "signature", b"\x06" + b(w["token"]) + b"\n" + b(w["timestamp"]) + b"\n" + b(w["nonce"]) +
         b"\n" + b(w["verify"]["echostr"]))
    seed("chatcrypt", "short_key", b"\x07" + b(w["verify"]["echostr"]))


def feishu():
    f = VEC["feishu"]
    plain_event = f["decrypt"]["plaintext"]
    seed("feishu", "plain_challenge", b"\x00" + b(f["challenge_plain"]["body"]))
    seed("feishu", "plain_challenge_wrong", b"\x00" + b(f["challenge_wrong_token"]["body"]))
    seed("feishu", "plain_event", b"\x00" + b(plain_event))
    ev = json.loads(plain_event)
    ev["event"]["message"]["message_type"] = "image"
    ev["event"]["message"]["content"] = '{"image_key":"img_x"}'
    seed("feishu", "plain_image", b"\x00" + json.dumps(ev, ensure_ascii=False).encode())
    v1 = {"uuid": "u-1", "token": f["verification_token"], "type": "event_callback",
          "event": {"type": "message", "text": "hi"}}
    seed("feishu", "plain_v1", b"\x00" + json.dumps(v1).encode())
    seed("feishu", "enc_event", b"\x01" + b(plain_event))
    seed("feishu", "enc_challenge", b"\x01" + b(f["challenge_plain"]["body"]))
    ev = json.loads(plain_event)
    ev["event"]["sender"]["sender_type"] = "app"
    seed("feishu", "enc_bot", b"\x01" + json.dumps(ev, ensure_ascii=False).encode())
    ev = json.loads(plain_event)
    ev["event"]["message"]["content"] = '{"text":"@_user_1 @_all 投诉 @_user_12"}'
    seed("feishu", "enc_mentions", b"\x01" + json.dumps(ev, ensure_ascii=False).encode())
    for k in ("event", "image_event", "event_wrong_token"):
        seed("feishu", "outer_" + k, b"\x02" + b(f[k]["body"]))
        seed("feishu", "raw_" + k, b"\x03" + b(f["timestamp"]) + b"\n" + b(f["nonce"]) + b"\n" +
             b(f[k]["signature"]) + b"\n" + b(f[k]["body"]))
    seed("feishu", "outer_challenge_encrypted", b"\x02" + b(f["challenge_encrypted"]["body"]))


def dingtalk():
    d = VEC["dingtalk"]
    seed("dingtalk", "text", b"\x00" + b(d["body"]))
    seed("dingtalk", "raw", b"\x01" + b(d["timestamp"]) + b"\n" + b(d["sign"]) + b"\n" + b(d["body"]))
    body = json.loads(d["body"])
    body["msgtype"] = "picture"
    seed("dingtalk", "picture", b"\x02" + json.dumps(body, ensure_ascii=False).encode())
    body = json.loads(d["body"])
    body["sessionWebhook"] = "https://evil.example/robot"
    seed("dingtalk", "evil_hook", b"\x00" + json.dumps(body, ensure_ascii=False).encode())
    body = json.loads(d["body"])
    body["msgId"] = 12345
    del body["senderStaffId"]
    body["conversationType"] = "2"
    seed("dingtalk", "group_int_id", b"\x04" + json.dumps(body, ensure_ascii=False).encode())
    seed("dingtalk", "stale", b"\xff" + b(d["body"]))


def telegram():
    upd = {"update_id": 10001, "message": {"message_id": 5, "from": {"id": 4242, "is_bot": False, "first_name": "Li"},
                                           "chat": {"id": 4242, "type": "private"}, "date": 1764115200, "text": "投诉"}}
    seed("telegram", "text", b"\x00" + json.dumps(upd, ensure_ascii=False).encode())
    seed("telegram", "text_nobot", b"\x02" + json.dumps(upd, ensure_ascii=False).encode())
    seed("telegram", "secret", b"\x01fuzz_Secret-Token\n" + json.dumps(upd, ensure_ascii=False).encode())
    seed("telegram", "wrong_secret", b"\x01wrong\n" + json.dumps(upd).encode())
    u = json.loads(json.dumps(upd))
    del u["message"]["text"]
    u["message"]["photo"] = [{"file_id": "x"}]
    seed("telegram", "photo", b"\x00" + json.dumps(u).encode())
    u = json.loads(json.dumps(upd))
    u["message"]["chat"] = {"id": -1001234567890, "type": "supergroup"}
    u["message"]["text"] = "a\u0000b"
    seed("telegram", "group_nul", b"\x00" + json.dumps(u).encode())
    seed("telegram", "edited", b"\x00" + json.dumps({"update_id": 3, "edited_message": upd["message"]}).encode())
    u = json.loads(json.dumps(upd))
    u["message"]["from"]["is_bot"] = True
    seed("telegram", "bot", b"\x00" + json.dumps(u).encode())
    seed("telegram", "not_update", b"\x00[1,2,3]")


def generic():
    g = VEC["generic"]
    seed("generic", "text", b"\x00" + b(g["body"]))
    seed("generic", "raw", b"\x01" + b(g["timestamp"]) + b"\n" + b(g["signature"]) + b"\n" + b(g["body"]))
    for i, body in enumerate([{"user": "u-2", "text": "投诉", "id": 7, "chat": "c-1"},
                              {"user": "u-3", "type": "image"}, {"user": "", "text": "x"},
                              {"user": "u" * 200, "text": "x"}, {"user": "u-4"},
                              {"user": "u-5", "text": "a\u0000b", "id": "x" * 300}]):
        seed("generic", "body%d" % i, bytes([i * 2]) + json.dumps(body, ensure_ascii=False).encode())
    seed("generic", "stale", b"\xfe" + b(g["body"]))


# ---- the staff list's row JSON ----

def rowjson():
    awk = "引号\"反斜杠\\ 控制\x01\x1f 制表\t <b>&amp;</b> 😀𠀀"
    rows = [
        # mode, time, due limit, lines (fuzz_rowjson.c), answers
        (0x1f, 0x9a00, 30, ["TS20260313-0001", "complaint", "transferred", "13812345678",
                            "510100", "chat:wecom", "TS20260301-0009", "hd1", "510000", "500000",
                            "answer", "2026-03-02", "2026-04-01", "公司" + awk, "联系人😀",
                            "被投诉方", "", "12345678", "510000", "500000"], {}),
        (0x2a, 0x9a00, 0, ["TS20260313-0002", "complaint", "submitted", "+8613912345678",
                           "510300", "web", "", "", "", "", "", "", "", "", "", "", "", "", "",
                           ""],
         {"company_name": awk, "contact_name": "王\"五", "respondent_name": "𠀀欠款方\\",
          "region": "510300", "respondent_region": "500000", "amount_fen": 99, "flag": True,
          "nothing": None}),
        (0x0a, 0x9a00, 0, ["TS20260313-0003", "consult", "assigned", "", "511300", "", "", "",
                           "", "", "", "", "", "", "", "", "", "", "", ""],
         {"topic": "\u2028线\"\\", "region": "511300"}),
        (0xcd, 0x0000, 255, ["x", "complaint", "accepted", "abc", "999999", "", "", "", "",
                             "", "transfer", "bad", "2026-02-30", "", "名" * 300, "", "话" * 300,
                             "1" * 23, "5", "x"], None),
        (0x02, 0xffff, 7, ["TS1", "consult", "submitted"] + [""] * 17, "[1,2]"),
        # stored answers with a NUL after a literal (jansson's parser lets it pass)
        (0x22, 0x9a00, 0, ["TS3", "consult", "submitted"] + [""] * 17,
         '{"flag":true\x00,"x":null}'),
        # a contact name longer than the writer keeps, cut inside no character
        (0x04, 0x9a00, 0, ["TS2", "complaint", "submitted"] + [""] * 11 + ["a" + "名" * 300]
         + [""] * 5, None),
    ]
    for i, (mode, tm, lim, lines, ans) in enumerate(rows):
        head = bytes([mode, tm >> 8, tm & 0xff, lim]) + b("\n".join(lines) + "\n")
        if isinstance(ans, str):
            rest = b(ans)
        elif ans is None:
            rest = b""
        else:
            rest = json.dumps(ans, ensure_ascii=(i % 2 == 1), separators=(",", ":")).encode()
        seed("rowjson", "row%02d" % i, head + rest)
        seed("rowjson", "raw%02d" % i, bytes([head[0] | 0x20]) + head[1:] + rest)


def pubview():
    # mode, creation day (2 bytes), today after it, lines (fuzz_pubview.c), entries
    entries = [
        '{"at_ms":1767231000000,"from":"","to":"submitted","by":"web","note":""}',
        '{"kind":"assign","at_ms":1767317400000,"from":"submitted","to":"submitted"}',
        '{ "at_ms" : 1767403800000, "from":"submitted","to":"needs_info","note":"内部",'
        '"message":"请补充 <合同> \\"x\\"","supply_by":"2026-01-20","public":false }',
        '{"at_ms":1.7674e12,"to":"submitted","from":"needs_info","supplement":{"text":"已补",'
        '"files":[{"kind_label":"合同","name":"a.pdf","size":12},{"name":"b"},7]}}',
        '{"kind":"extension","at_ms":1767490200000,"days":60}',
        '{"at_ms":"x","to":5,"message":null,"public":true,"note":"旧"}',
    ]
    cases = [
        (0x03, 0, 3, ["needs_info", "complaint", "", "", "某公司", "张三", "13812345678",
                      '[{"kind":"contract","name":"x.pdf","size":3}]'], entries),
        (0x01, 40, 20, ["transferred", "complaint", "", "", "", "", "", "[]"],
         entries[:2] + ['{"at_ms":1767662000000,"from":"accepted","to":"transferred"}',
                        entries[4]]),
        (0x02, 300, 63, ["closed", "consult", "satisfied", "很好\"<>&", "公司\\", "李",
                         "+8613912345678", "{}"], entries[:1]),
        (0x01, 700, 1, ["submitted", "unknown", "x", "", "", "", "", "not json"],
         ["not json", "[1]", "{}", entries[5]]),
    ]
    for i, (mode, day, after, lines, log) in enumerate(cases):
        head = bytes([mode, day >> 8, day & 0xff, after]) + b("\n".join(lines) + "\n")
        seed("pubview", "case%02d" % i, head + b("\n".join(log)))


def netguard():
    lists = ["", "127.0.0.1:8090", "10.1.2.0/24, [::1]:8443", "fd00::/8, [fd00::/8]:443",
             "192.168.0.1/33", "[::1", "1.2.3.4:99999"]
    urls = ["https://example.gov.cn/hook", "http://127.0.0.1:8090/x", "https://u:p@host/",
            "https://[::ffff:127.0.0.1]/", "https://10.0.0.1:443/a?b#c", "ftp://x/",
            "https://@/", "https://[fe80::1%25eth0]/"]
    addrs = [bytes([127, 0, 0, 1]), bytes([100, 64, 1, 1]), bytes([8, 8, 8, 8]),
             bytes(10) + b"\xff\xff" + bytes([127, 0, 0, 1]) + b"\x01\xbb",
             b"\xfd" + bytes(15) + b"\x20\xfb", b"\x20\x02\x0a" + bytes(13) + b"\x00\x50"]
    for i, u in enumerate(urls):
        seed("netguard", "u%02d" % i,
             b(lists[i % len(lists)]) + b"\n" + b(u) + b"\n" + addrs[i % len(addrs)])


def jsonq():
    """Step bodies as the pages send them, and the shapes the quick reader
    leaves to jansson."""
    sys.path.insert(0, os.path.join(ROOT, "tests/e2e"))
    from test_intake import sample_for
    form = json.load(open(os.path.join(ROOT, "config/forms/complaint.json"), encoding="utf-8"))
    for st in form["steps"]:
        ans = {f["id"]: sample_for(f) for f in st.get("fields", [])}
        seed("jsonq", "step_%s" % st["id"], json.dumps({"answers": ans}, ensure_ascii=False).encode())
    for k, raw in enumerate([b"{}", b' {"a" : [1, -2, true, false, null, {}, []]} ',
                             rb'{"a":"\\\"\/\b\f\n\r\t"}', b'{"a":"\u4e2d"}', b'{"a":1.5}',
                             b'{"a":01}', b'{"a":9223372036854775808}', b'{"a":1,"a":2}',
                             b'{"a":"\xff"}', b"[]", b'{"a":tru}', b'{"a":1} x']):
        seed("jsonq", "edge%02d" % k, raw)


def generate():
    http()
    admin()
    buf()
    validate()
    schema()
    calendar()
    config()
    template()
    channel()
    classify()
    sms()
    sms_gateway()
    xml()
    wecom()
    chatcrypt()
    feishu()
    dingtalk()
    telegram()
    generic()
    rowjson()
    pubview()
    netguard()
    jsonq()


def check():
    """Generates into a scratch folder and compares with the committed
    corpus. Returns the number of stale or missing seeds."""
    global OUT
    committed, OUT = OUT, tempfile.mkdtemp(prefix="zq-corpus-")
    bad = 0
    try:
        generate()
        for t in sorted(os.listdir(OUT)):
            for name in sorted(os.listdir(os.path.join(OUT, t))):
                want = open(os.path.join(OUT, t, name), "rb").read()
                path = os.path.join(committed, t, name)
                if not os.path.exists(path):
                    print("corpus: missing %s/%s" % (t, name))
                    bad += 1
                elif open(path, "rb").read() != want:
                    print("corpus: stale %s/%s" % (t, name))
                    bad += 1
    finally:
        shutil.rmtree(OUT)
        OUT = committed
    if bad:
        print("corpus: %d seed(s) differ from tests/fuzz/make_corpus.py; "
              "run it and commit tests/fuzz/corpus" % bad)
    else:
        print("corpus: fresh")
    return bad


def main():
    if sys.argv[1:] == ["--check"]:
        sys.exit(1 if check() else 0)
    if sys.argv[1:]:
        sys.exit(__doc__)
    generate()
    for t in sorted(os.listdir(OUT)):
        print("%-12s %3d seeds" % (t, len(os.listdir(os.path.join(OUT, t)))))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The SMS vendors of the fake platform (tests/fake/fake_platform.py
installs them; /work/shared/specs/sms.md has the wire formats):

  POST /tencent/        Tencent Cloud SMS SendSms (API 3.0, TC3-HMAC-SHA256)
  POST /alibaba/?...    Alibaba Cloud SMS SendSms (ACS3-HMAC-SHA256, params
                        in the query)
  POST|GET /smsgw/send  a 政务 SMS gateway (X-Api-Key; JSON, form or query
                        fields mobile, content, requestId)

Each checks what the vendor checks, with its error codes: the signature
(recomputed with smssign.py, an implementation independent of zhuqi's),
the clock (Tencent X-TC-Timestamp within 5 minutes: AuthFailure.
SignatureExpire; Alibaba x-acs-date within 15 minutes: InvalidTimeStamp.
Expired; a nonce seen before: SignatureNonceUsed), the account, the
approved sign names and templates, the template's parameters, and the
per-number frequency of sms.md §3.1 (Tencent 1 per 30 s and 10 a day:
LimitExceeded.PhoneNumberThirtySecondLimit / PhoneNumberDailyLimit;
Alibaba 1 a minute, 5 an hour, 10 a day: isv.BUSINESS_LIMIT_CONTROL),
in "minutes" of the fake's --rate-window like every other limit. Accepted
messages are recorded with platform tencent-sms, alibaba-sms or
sms-gateway, target = the 11-digit number and content = what the phone
shows (【签名】 and the template's text with the values).

Faults (POST /_faults, target = the number or "*", platform tencent-sms |
alibaba-sms | sms-gateway): "throttle" answers the vendor's per-number
limit, "fail" a permanent error; "style" names the vendor code to answer
instead (e.g. AuthFailure.SignatureExpire, SignatureNonceUsed,
RequestLimitExceeded, isv.SMS_TEMPLATE_ILLEGAL, FREQ_LIMIT).

The accounts (ACCOUNTS) are fixed, and so are their templates; the
stack's configuration comes from them:

  fake_sms.py ini PROVIDER BASE_URL SECRET_FILE
      prints the [sms] and [sms_gateway] sections for zhuqi.ini that send
      through this fake with PROVIDER (tencent, alibaba or gateway), and
      writes the account's secret into SECRET_FILE (mode 0600).
"""

import bisect
import collections
import datetime
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
import smssign  # noqa: E402  (tests/fake, stdlib only)

SIGN = "助企平台"

# The vendors' accounts, with their approved signs and templates. The
# Tencent keys are the example keys of sms.md §5 (T1).
ACCOUNTS = {
    "tencent": {
        "key_id": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        "secret": "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        "app_id": "1400006666",
        "signs": [SIGN],
        "templates": {
            "2100001": ("您的验证码为{1}，{2}分钟内有效，请勿泄露给他人。", True),
            "2100002": ("您的案件{1}{2}，办理期限至{3}。可凭编号和手机号码在进度查询中查看。", False),
            "2100003": ("您的案件{1}{2}。可凭编号和手机号码在进度查询中查看。", False),
            "2100004": ("您的案件{1}{2}，请于{3}前补充材料。", False),
        },
    },
    "alibaba": {
        "key_id": "LTAI5tZhuqiFakeAccessKey",
        "secret": "zhuqi-fake-alibaba-access-key-secret",
        "signs": [SIGN],
        "templates": {
            # A verification-code template has exactly one variable (§2.1).
            "SMS_480000001": ("您的验证码为${code}，5分钟内有效，请勿泄露给他人。", True),
            "SMS_480000002": ("您的案件${caseno}${status}，办理期限至${deadline}。"
                              "可凭编号和手机号码在进度查询中查看。", False),
            "SMS_480000003": ("您的案件${caseno}${status}。可凭编号和手机号码在进度查询中查看。",
                              False),
            "SMS_480000004": ("您的案件${caseno}${status}，请于${deadline}前补充材料。", False),
        },
    },
    "gateway": {
        "secret": "zhuqi-fake-gateway-api-key",
        "signs": [SIGN],
    },
}

# zhuqi's templates for these accounts, per use (config.h's ZQ_SMS_USES).
TPL = {
    "tencent": {
        "code": "2100001: code, minutes",
        "accepted": "2100002: case, status, deadline",
        "rejected": "2100003: case, status",
        "transferred": "2100002: case, status, deadline",
        "needs_info": "2100004: case, status, deadline",
        "answered": "2100003: case, status",
        "closed": "2100003: case, status",
    },
    "alibaba": {
        "code": "SMS_480000001: code",
        "accepted": "SMS_480000002: caseno=case, status, deadline",
        "rejected": "SMS_480000003: caseno=case, status",
        "transferred": "SMS_480000002: caseno=case, status, deadline",
        "needs_info": "SMS_480000004: caseno=case, status, deadline",
        "answered": "SMS_480000003: caseno=case, status",
        "closed": "SMS_480000003: caseno=case, status",
    },
}
TEXT = {
    "code": "您的验证码为{code}，{minutes}分钟内有效，请勿泄露给他人。",
    "accepted": "您的案件{case}{status}，办理期限至{deadline}。可凭编号和手机号码在进度查询中查看。",
    "rejected": "您的案件{case}{status}。可凭编号和手机号码在进度查询中查看。",
    "transferred": "您的案件{case}{status}，办理期限至{deadline}。可凭编号和手机号码在进度查询中查看。",
    "needs_info": "您的案件{case}{status}，请于{deadline}前补充材料。",
    "answered": "您的案件{case}{status}。可凭编号和手机号码在进度查询中查看。",
    "closed": "您的案件{case}{status}。可凭编号和手机号码在进度查询中查看。",
}

KINDS = ("tencent-sms", "alibaba-sms", "sms-gateway")
CHINESE = {"tencent-sms": "腾讯云短信", "alibaba-sms": "阿里云短信", "sms-gateway": "政务短信网关"}

TC_SKEW_S = 300
ALI_SKEW_S = 900
NONCE_TTL_S = 900
MAX_CHARS = 500  # Alibaba's hard cap on one message (§3.3)


def ini_text(provider, base_url, secret_file):
    """The [sms] and [sms_gateway] sections sending through the fake at
    base_url ("http://127.0.0.1:8090") with provider."""
    acc = ACCOUNTS[provider]
    lines = ["[sms]", "provider = %s" % provider,
             "tencent_base_url = %s/tencent" % base_url,
             "alibaba_base_url = %s/alibaba" % base_url,
             "secret_file = %s" % secret_file,
             "sign_name = %s" % SIGN]
    if provider in ("tencent", "alibaba"):
        lines.append("key_id = %s" % acc["key_id"])
    if provider == "tencent":
        lines.append("app_id = %s" % acc["app_id"])
    for use, tpl in TPL.get(provider, TPL["tencent"]).items():
        lines.append("tpl_%s = %s" % (use, tpl))
    for use, text in TEXT.items():
        lines.append("text_%s = %s" % (use, text))
    lines += ["", "[sms_gateway]",
              "url = %s/smsgw/send" % base_url,
              "auth = header",
              "auth_header = X-Api-Key",
              "field_1 = mobile = {phone_bare}",
              "field_2 = content = {rendered_text}",
              "field_3 = requestId = {uuid}",
              "success_pointer = /code",
              "success_values = \"0000\"",
              "msgid_pointer = /data/msgId",
              "error_message_pointer = /msg",
              "retry_codes = SYSTEM_BUSY",
              "throttle_codes = FREQ_LIMIT"]
    return "\n".join(lines) + "\n"


def ini_sections(provider, base_url, secret_file):
    """ini_text as {section: {key: value}} (harness.write_ini)."""
    out, sec = {}, None
    for line in ini_text(provider, base_url, secret_file).splitlines():
        if line.startswith("["):
            sec = out.setdefault(line.strip("[]"), {})
        elif " = " in line:
            k, v = line.split(" = ", 1)
            sec[k] = v
    return out


def write_secret(provider, path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(ACCOUNTS[provider]["secret"] + "\n")
    os.chmod(path, 0o600)


MOBILE = re.compile(r"1[3-9]\d{9}")
TC_AUTH = re.compile(r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/sms/"
                     r"tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})")
TC_VAR = re.compile(r"\{(\d+)\}")
OTP_PARAM = re.compile(r"\d{0,6}")
URL_PARAM = re.compile(r"https?://|www\.", re.I)
TC_NVARS = {}  # a template's text -> how many variables it has


def bare_number(s):
    """The 11 digits of a mainland mobile in any form the vendors take,
    or None."""
    if not isinstance(s, str):
        return None
    for p in ("+86", "0086", "86"):
        if s.startswith(p) and len(s) == len(p) + 11:
            s = s[len(p):]
            break
    return s if MOBILE.fullmatch(s) else None


def sms_chars(text):
    return len(text)


def fee_of(text):
    n = sms_chars(text)
    return 1 if n <= 70 else -(-n // 67)


def install(ns):
    """Adds the SMS vendors to fake_platform.py's tables (ns: its globals)."""
    Reply = ns["Reply"]
    Platform = ns["Platform"]

    def request_id():
        # Unique, not secret: no read of the system's random source.
        h = "%032x" % random.getrandbits(128)
        return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])

    def take(state, key, spans):
        """One send for key under every (limit, seconds) span: None when
        taken, else the index of the span that is full (nothing taken)."""
        now = time.monotonic()
        with state.lock:
            q = state.windows.get(key)
            if q is None:
                q = state.windows[key] = collections.deque()
            horizon = max(w for _, w in spans)
            while q and q[0] <= now - horizon:
                q.popleft()
            # q holds monotonic times in order: the sends within span are
            # those after the bisection point.
            for i, (limit, span) in enumerate(spans):
                if limit > 0 and len(q) - bisect.bisect_right(q, now - span) >= limit:
                    return i
            q.append(now)
            return None

    def nonce_seen(state, key_id, nonce):
        """True when nonce was used with key_id within NONCE_TTL_S; else
        remembers it."""
        now = time.time()
        with state.lock:
            seen = state.__dict__.setdefault("sms_nonces", {})
            if len(seen) > 100000:
                for k in [k for k, t in seen.items() if now - t > NONCE_TTL_S]:
                    del seen[k]
            t = seen.get((key_id, nonce))
            if t is not None and now - t <= NONCE_TTL_S:
                return True
            seen[(key_id, nonce)] = now
            return False

    def fault_style(req):
        """The vendor code a "fail" fault asks for (its "style"), or None."""
        return (getattr(req, "fault", None) or {}).get("style")

    # ---- Tencent ----

    def tc_error(code, msg):
        return Reply(200, {"Response": {"Error": {"Code": code, "Message": msg},
                                        "RequestId": request_id()}},
                     verdict="%s: %s" % (code, msg))

    def tc_status(number, code, msg, session, fee=0, serial=""):
        return {"SerialNo": serial, "PhoneNumber": "+86" + number if number else "",
                "Fee": fee, "SessionContext": session, "Code": code, "Message": msg,
                "IsoCode": "CN" if number else "DEF"}

    def tc_number_error(req, code, msg):
        """A per-number error (§1.4): HTTP 200, the code in SendStatusSet."""
        j = req.json if isinstance(req.json, dict) else {}
        sess = j.get("SessionContext") if isinstance(j.get("SessionContext"), str) else ""
        return Reply(200, {"Response": {"SendStatusSet": [tc_status(req.ident, code, msg, sess)],
                                        "RequestId": request_id()}},
                     verdict="%s: %s" % (code, msg))

    def tc_code_answer(req, code):
        if "PhoneNumber" in code or code.startswith("LimitExceeded.Delivery"):
            return tc_number_error(req, code, "fake: %s" % code)
        return tc_error(code, "fake: %s" % code)

    class TencentSms(Platform):
        name = "tencent"

        def route(self, rest, req):
            if req.method != "POST" or rest not in ("", "/"):
                return None
            j = req.json if isinstance(req.json, dict) else {}
            nums = j.get("PhoneNumberSet")
            first = nums[0] if isinstance(nums, list) and nums else None
            return "tencent-sms", "send", bare_number(first) or "-"

        def unknown(self, endpoint, req):
            return tc_error("InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误")

        def throttle(self, target, endpoint, req, fault=None, wait=1.0):
            style = (fault or {}).get("style")
            if style:
                return tc_code_answer(req, style)
            return tc_number_error(req, "LimitExceeded.PhoneNumberThirtySecondLimit",
                                   "单个手机号30秒内下发短信条数超过设定的上限")

        def fail(self, target, endpoint, req, code=None):
            style = fault_style(req)
            if style:
                return tc_code_answer(req, style)
            return tc_number_error(req, "FailedOperation.PhoneNumberInBlacklist",
                                   "手机号在免打扰名单库中")

        def handle(self, state, target, endpoint, req):
            acc = ACCOUNTS["tencent"]
            h = req.headers
            if h.get("x-tc-action") != "SendSms":
                return tc_error("InvalidAction", "接口不存在。")
            if h.get("x-tc-version") != "2021-01-11":
                return tc_error("NoSuchVersion", "接口版本不存在。")
            if not h.get("x-tc-region"):
                return tc_error("MissingParameter", "缺少参数 Region。")
            m = TC_AUTH.fullmatch(h.get("authorization", ""))
            if not m:
                return tc_error("AuthFailure.InvalidAuthorization", "请求头部的 Authorization "
                                "不符合腾讯云标准。")
            if m.group(1) != acc["key_id"]:
                return tc_error("AuthFailure.SecretIdNotFound", "密钥不存在。")
            ts = h.get("x-tc-timestamp", "")
            if not ts.isdigit():
                return tc_error("InvalidParameter", "Timestamp 参数错误。")
            if abs(time.time() - int(ts)) > TC_SKEW_S:
                return tc_error("AuthFailure.SignatureExpire",
                                "签名过期。Timestamp 和服务器时间相差不得超过五分钟，"
                                "请检查本地时间是否和标准时间同步。")
            if m.group(3) != "content-type;host":
                return tc_error("AuthFailure.SignatureFailure", "请求签名验证失败（SignedHeaders）。")
            want = smssign.tc3_sign(acc["key_id"], acc["secret"], "sms", h.get("host", ""),
                                    int(ts), req.raw, h.get("content-type", ""))
            if not hmac.compare_digest(want["signature"], m.group(4)):
                return tc_error("AuthFailure.SignatureFailure", "请求签名验证失败，请检查您的签名计算"
                                "是否正确。")
            if "application/json" not in h.get("content-type", ""):
                return tc_error("InvalidParameter", "Content-Type 不支持。")
            j = req.json
            if not isinstance(j, dict):
                return tc_error("FailedOperation.JsonParseFail", "解析请求包体时候失败。")
            nums = j.get("PhoneNumberSet")
            if not isinstance(nums, list) or not nums:
                return tc_error("MissingParameter", "缺少参数 PhoneNumberSet。")
            if len(nums) > 200:
                return tc_error("LimitExceeded.PhoneNumberCountLimit", "调用接口单次提交的手机号个数"
                                "超过200个。")
            app = j.get("SmsSdkAppId")
            if not isinstance(app, str):
                return tc_error("MissingParameter", "缺少参数 SmsSdkAppId。")
            if app != acc["app_id"]:
                return tc_error("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId 不存在。")
            sign = j.get("SignName")
            if sign not in acc["signs"]:
                return tc_error("FailedOperation.SignatureIncorrectOrUnapproved",
                                "签名格式错误或者签名未审批，签名只能由中英文、数字组成，要求2 - 12个字。")
            tpl = acc["templates"].get(j.get("TemplateId"))
            if tpl is None:
                return tc_error("FailedOperation.TemplateIncorrectOrUnapproved",
                                "模板未审批或请求的内容与审核通过的模板内容不匹配。")
            text, otp = tpl
            params = j.get("TemplateParamSet", [])
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return tc_error("InvalidParameterFormat", "TemplateParamSet 格式错误。")
            nvars = TC_NVARS.get(text)
            if nvars is None:
                nvars = TC_NVARS[text] = len(set(TC_VAR.findall(text)))
            if len(params) != nvars:
                return tc_error("FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                                "请求内容与审核通过的模板内容不匹配。")
            if otp and not all(OTP_PARAM.fullmatch(p) for p in params):
                return tc_error("InvalidParameterValue.TemplateParameterFormatError",
                                "验证码模板参数格式错误，验证码类模板，模板变量只能传入0 - 6位（包括6位）纯数字。")
            if any(URL_PARAM.search(p) for p in params):
                return tc_error("InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
                                "禁止在模板变量中使用 URL。")
            sess = j.get("SessionContext", "")
            if not isinstance(sess, str) or len(sess.encode()) >= 512:
                return tc_error("InvalidParameterValue", "SessionContext 过长。")
            rendered = "【%s】%s" % (sign, TC_VAR.sub(lambda mm: params[int(mm.group(1)) - 1]
                                                if 0 < int(mm.group(1)) <= len(params) else "",
                                                text))
            fee = fee_of(rendered)
            minute = state.window_s
            out, ok = [], 0
            for n in nums:
                num = bare_number(n)
                if num is None:
                    out.append(tc_status("", "InvalidParameterValue.IncorrectPhoneNumber",
                                         "手机号格式错误", sess))
                    continue
                full = take(state, ("tencent-sms", num), ((1, minute / 2), (10, 1440 * minute)))
                if full is not None:
                    code = ("LimitExceeded.PhoneNumberThirtySecondLimit" if full == 0 else
                            "LimitExceeded.PhoneNumberDailyLimit")
                    msg = ("单个手机号30秒内下发短信条数超过设定的上限" if full == 0 else
                           "单个手机号日下发短信条数超过设定的上限")
                    out.append(tc_status(num, code, msg, sess))
                    continue
                ok += 1
                out.append(tc_status(num, "Ok", "send success", sess, fee,
                                     "2640:%d%012x" % (int(time.time()), random.getrandbits(48))))
            req.content = rendered
            req.extra["sms"] = {"template": j.get("TemplateId"), "params": params,
                                "fee": fee, "chars": sms_chars(rendered)}
            first_bad = next((s for s in out if s["Code"] != "Ok"), None)
            verdict = "accepted" if ok else "%s: %s" % (first_bad["Code"], first_bad["Message"])
            return Reply(200, {"Response": {"SendStatusSet": out, "RequestId": request_id()}},
                         verdict=verdict)

    # ---- Alibaba ----

    ALI_STATUS = {"SignatureDoesNotMatch": 400, "IncompleteSignature": 400,
                  "InvalidAccessKeyId.NotFound": 404, "SignatureNonceUsed": 400,
                  "InvalidTimeStamp.Expired": 400, "InvalidTimeStamp.Format": 400,
                  "MissingParameter": 400, "InvalidAction.NotFound": 404,
                  "InvalidVersion": 400, "Throttling.User": 400, "ServiceUnavailable": 503}

    def ali_error(code, msg):
        status = ALI_STATUS.get(code, 400 if code.startswith("Throttling") else 200)
        return Reply(status, {"Code": code, "Message": msg, "RequestId": request_id()},
                     verdict="%s: %s" % (code, msg))

    class AlibabaSms(Platform):
        name = "alibaba"

        def route(self, rest, req):
            if req.method != "POST" or rest not in ("", "/"):
                return None
            nums = req.q("PhoneNumbers") or ""
            return "alibaba-sms", "send", bare_number(nums.split(",")[0]) or "-"

        def unknown(self, endpoint, req):
            return ali_error("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")

        def throttle(self, target, endpoint, req, fault=None, wait=1.0):
            style = (fault or {}).get("style")
            if style:
                return ali_error(style, "fake: %s" % style)
            return ali_error("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")

        def fail(self, target, endpoint, req, code=None):
            style = fault_style(req)
            if style:
                return ali_error(style, "fake: %s" % style)
            return ali_error("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")

        def handle(self, state, target, endpoint, req):
            acc = ACCOUNTS["alibaba"]
            h = req.headers
            auth = h.get("authorization")
            if not auth:
                return ali_error("IncompleteSignature", "The request signature does not conform "
                                 "to Aliyun standards.")
            m = re.fullmatch(r"ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([a-z0-9;-]+),"
                             r"Signature=([0-9a-f]{64})", auth)
            if not m:
                return ali_error("IncompleteSignature", "The request signature does not conform "
                                 "to Aliyun standards.")
            if m.group(1) != acc["key_id"]:
                return ali_error("InvalidAccessKeyId.NotFound", "Specified access key is not "
                                 "found.")
            if h.get("x-acs-action") != "SendSms":
                return ali_error("InvalidAction.NotFound", "Specified api is not found, please "
                                 "check your url and method.")
            if h.get("x-acs-version") != "2017-05-25":
                return ali_error("InvalidVersion", "Specified parameter Version is not valid.")
            signed = m.group(2).split(";")
            for need in ("host", "x-acs-action", "x-acs-content-sha256", "x-acs-date",
                         "x-acs-signature-nonce", "x-acs-version"):
                if need not in signed:
                    return ali_error("IncompleteSignature", "The header %s must be signed." % need)
            try:
                date = datetime.datetime.strptime(h.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ")
            except ValueError:
                return ali_error("InvalidTimeStamp.Format", "Specified time stamp or date value "
                                 "is not well formatted.")
            skew = abs(time.time() - date.replace(tzinfo=datetime.timezone.utc).timestamp())
            if skew > ALI_SKEW_S:
                return ali_error("InvalidTimeStamp.Expired", "Specified time stamp or date value "
                                 "is expired.")
            payload = hashlib.sha256(req.raw).hexdigest()
            if h.get("x-acs-content-sha256") != payload:
                return ali_error("SignatureDoesNotMatch", "Specified signature is not matched "
                                 "with our calculation (x-acs-content-sha256).")
            query = urllib.parse.parse_qsl(urllib.parse.urlsplit(req.path).query,
                                           keep_blank_values=True)
            want = smssign.acs3_sign(acc["key_id"], acc["secret"], "POST", "/", query,
                                     [(n, h.get(n, "")) for n in signed], payload)
            if not hmac.compare_digest(want["signature"], m.group(3)):
                return ali_error("SignatureDoesNotMatch", "Specified signature is not matched "
                                 "with our calculation.")
            nonce = h.get("x-acs-signature-nonce", "")
            if not nonce or nonce_seen(state, acc["key_id"], nonce):
                return ali_error("SignatureNonceUsed", "Specified signature nonce was used "
                                 "already.")
            p = dict(query)
            if not p.get("PhoneNumbers"):
                return ali_error("MissingPhoneNumbers", "PhoneNumbers is mandatory for this "
                                 "action.")
            nums = [bare_number(n) for n in p["PhoneNumbers"].split(",")]
            if None in nums:
                return ali_error("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
            if len(nums) > 1000:
                return ali_error("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
            sign = p.get("SignName")
            if sign not in acc["signs"]:
                return ali_error("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
            tpl = acc["templates"].get(p.get("TemplateCode"))
            if tpl is None:
                return ali_error("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
            text, otp = tpl
            try:
                params = json.loads(p.get("TemplateParam") or "{}")
            except ValueError:
                return ali_error("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
            if not isinstance(params, dict) or not all(isinstance(v, str)
                                                       for v in params.values()):
                return ali_error("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
            names = re.findall(r"\$\{(\w+)\}", text)
            missing = [n for n in names if n not in params]
            if missing:
                return ali_error("isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量")
            if otp and not all(4 <= len(params[n]) <= 6 for n in names):
                return ali_error("isv.PARAM_LENGTH_LIMIT", "参数超出长度限制")
            rendered = "【%s】%s" % (sign, re.sub(r"\$\{(\w+)\}", lambda mm: params[mm.group(1)],
                                                 text))
            if sms_chars(rendered) > MAX_CHARS:
                return ali_error("isv.PARAM_LENGTH_LIMIT", "参数超出长度限制")
            minute = state.window_s
            for num in nums:
                full = take(state, ("alibaba-sms", num),
                            ((1, minute), (5, 60 * minute), (10, 1440 * minute)))
                if full is not None:
                    return ali_error("isv.BUSINESS_LIMIT_CONTROL",
                                     ("触发分钟级流控Permits:1", "触发小时级流控Permits:5",
                                      "触发天级流控Permits:10")[full])
            req.content = rendered
            req.extra["sms"] = {"template": p.get("TemplateCode"), "params": params,
                                "out_id": p.get("OutId", ""), "chars": sms_chars(rendered)}
            return Reply(200, {"Code": "OK", "Message": "OK",
                               "BizId": "%d^0" % (int(time.time() * 1000) * 1000 +
                                                  secrets.randbelow(1000)),
                               "RequestId": request_id()})

    # ---- the 政务 gateway ----

    def gw_error(code, msg, status=200):
        return Reply(status, {"code": code, "msg": msg}, verdict="%s: %s" % (code, msg))

    class SmsGateway(Platform):
        name = "smsgw"

        def fields(self, req):
            ctype = req.headers.get("content-type", "")
            if req.method == "GET":
                return {k: v[0] for k, v in req.query.items()}
            if "json" in ctype:
                return req.json if isinstance(req.json, dict) else None
            if "x-www-form-urlencoded" in ctype:
                return dict(urllib.parse.parse_qsl(req.raw.decode("utf-8", "replace"),
                                                   keep_blank_values=True))
            return None

        def route(self, rest, req):
            if rest != "send" or req.method not in ("GET", "POST"):
                return None
            f = self.fields(req) or {}
            return "sms-gateway", "send", bare_number(f.get("mobile")) or "-"

        def unknown(self, endpoint, req):
            return gw_error("E_MOBILE", "手机号码格式错误")

        def throttle(self, target, endpoint, req, fault=None, wait=1.0):
            style = (fault or {}).get("style")
            return gw_error(style or "FREQ_LIMIT", "发送频率过快")

        def fail(self, target, endpoint, req, code=None):
            return gw_error(fault_style(req) or "E_MOBILE", "号码在黑名单中")

        def handle(self, state, target, endpoint, req):
            acc = ACCOUNTS["gateway"]
            if not hmac.compare_digest(req.headers.get("x-api-key", "").encode(),
                                       acc["secret"].encode()):
                return gw_error("E_AUTH", "invalid api key", 401)
            f = self.fields(req)
            if f is None:
                return gw_error("E_PARAM", "请求格式错误", 400)
            num = bare_number(f.get("mobile"))
            if num is None:
                return gw_error("E_MOBILE", "手机号码格式错误")
            content = f.get("content")
            if not isinstance(content, str) or not content:
                return gw_error("E_PARAM", "缺少短信内容")
            m = re.match(r"【([^】]{2,12})】", content)
            if not m or m.group(1) not in acc["signs"]:
                return gw_error("E_SIGN", "签名未报备")
            if sms_chars(content) > MAX_CHARS:
                return gw_error("E_LENGTH", "短信内容过长")
            req.content = content
            req.extra["sms"] = {"request_id": f.get("requestId", ""), "chars": sms_chars(content)}
            return Reply(200, {"code": "0000", "msg": "ok",
                               "data": {"msgId": "gw-" + secrets.token_hex(8)}})

    plats = (TencentSms(), AlibabaSms(), SmsGateway())
    ns["PLATFORMS"].update({p.name: p for p in plats})
    ns["KINDS"].update({k: k for k in KINDS})
    ns["CHINESE"].update(CHINESE)
    ns["DEFAULT_RATE"].update({k: (0, 0) for k in KINDS})
    ns["DEFAULT_MAX"].update({k: MAX_CHARS for k in KINDS})
    ns["IMPLICIT"] = tuple(ns["IMPLICIT"]) + KINDS
    return plats


def main(argv):
    if len(argv) == 5 and argv[1] == "ini" and argv[2] in ACCOUNTS:
        write_secret(argv[2], argv[4])
        sys.stdout.write(ini_text(argv[2], argv[3], argv[4]))
        return 0
    sys.stderr.write("usage: fake_sms.py ini tencent|alibaba|gateway BASE_URL SECRET_FILE\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

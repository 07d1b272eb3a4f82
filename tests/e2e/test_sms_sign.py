"""The SMS vendors' signatures: tests/fake/smssign.py (Python's standard
library, the reference the fake platform will check requests with) against
every vector of specs/sms.md §5, and zhuqi's C implementation
(lib/push/sms_sign.c, through `test_sms --cross`) against it on random
inputs. No stack needed."""

import os
import random
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fake"))
import harness  # noqa: E402
import smssign  # noqa: E402

T_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
T_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


class TestSmsSignVectors(unittest.TestCase):
    def test_t1_tc3_documented(self):
        body = ('{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], '
                '"Name": "instance-name"}]}')
        s = smssign.tc3_sign(T_ID, T_KEY, "cvm", "cvm.tencentcloudapi.com", 1551113065, body)
        self.assertEqual(s["date"], "2019-02-25")
        self.assertEqual(s["payload"],
                         "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
        self.assertEqual(s["canonical"],
                         "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031")
        self.assertEqual(s["authorization"],
                         "TC3-HMAC-SHA256 Credential=%s/2019-02-25/cvm/tc3_request, "
                         "SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a45"
                         "07b9bddcbaa8e581f516e8da2f66e2c5a96525168" % T_ID)
        keys = [k.hex() for k in smssign.tc3_keys(T_KEY, "2019-02-25", "cvm")]
        self.assertEqual(keys, [
            "d1308c81fe71cfd4e06437bbc067b2b8a3d2d8c0e375d547f15c41d5214b395a",
            "3c7cb7c7795393edc14fd2e0e6434a518564b4504b88e94f5d11bf59ba3e7050",
            "ac658d5dde49e9bfdd14e04e062f66b05d9f637d44b8a8d845327d4a77f666b1"])

    def test_t2_tc3_sendsms(self):
        body = ('{"PhoneNumberSet":["+8613800138000"],"SmsSdkAppId":"1400006666",'
                '"SignName":"腾讯云","TemplateId":"1110","TemplateParamSet":["123456","5"]}')
        self.assertEqual(len(body.encode()), 141)
        s = smssign.tc3_sign(T_ID, T_KEY, "sms", "sms.tencentcloudapi.com", 1765012345, body)
        self.assertEqual(s["payload"],
                         "45f181b30a0851cc6cbb33fcba656f69c904df3f21b0fd3b33b19aed75e18e54")
        self.assertEqual(s["canonical"],
                         "029067b88beec9b46cb1997f76e8c186d8ab7afafde8b9fdf9016edfc4a475d5")
        self.assertEqual(s["signature"],
                         "a22639e547569cca82eceb91451787780c2e111be3b3285e5b4746961a4e9ef1")

    def test_a1_a3_rpc_documented(self):
        a1 = [("AccessKeyId", "testid"), ("Action", "DescribeRegions"), ("Format", "XML"),
              ("SignatureMethod", "HMAC-SHA1"),
              ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
              ("SignatureVersion", "1.0"), ("Timestamp", "2016-02-23T12:46:24Z"),
              ("Version", "2014-05-26")]
        self.assertEqual(
            smssign.acs_v1_string_to_sign("GET", a1),
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26"
            "SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
            "%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D"
            "2014-05-26")
        self.assertEqual(smssign.acs_v1_sign("testsecret", "GET", a1), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=")
        self.assertEqual(smssign.acs_v1_sign("testsecret", "POST", a1), "MxbnVAM4w6sft9xjVpe/GCKueuk=")
        a3 = [("query", "test"), ("body", "test")]
        self.assertEqual(smssign.acs_v1_string_to_sign("GET", a3),
                         "GET&%2F&body%3Dtest%26query%3Dtest")
        self.assertEqual(smssign.acs_v1_sign("secret", "GET", a3), "XlUyV4sXjOuX5FnjUz9IF9tm5rU=")

    def test_a2_a4_rpc_sendsms(self):
        a2 = [("AccessKeyId", "testId"), ("Action", "SendSms"), ("Format", "XML"), ("OutId", "123"),
              ("PhoneNumbers", "15300000001"), ("RegionId", "cn-hangzhou"),
              ("SignName", "阿里云短信测试专用"), ("SignatureMethod", "HMAC-SHA1"),
              ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
              ("SignatureVersion", "1.0"), ("TemplateCode", "SMS_71390007"),
              ("TemplateParam", '{"customer":"test"}'), ("Timestamp", "2017-07-12T02:42:19Z"),
              ("Version", "2017-05-25")]
        self.assertEqual(smssign.acs_v1_sign("testSecret", "GET", a2), "zJDF+Lrzhj/ThnlvIToysFRq6t4=")
        self.assertEqual(smssign.acs_v1_sign("testsecret", "GET", a2), "EpROzuoKhdewdxdmVWhll2qdKbk=")
        self.assertEqual(smssign.acs_encode("zJDF+Lrzhj/ThnlvIToysFRq6t4="),
                         "zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D")
        a4 = [("AccessKeyId", "testId"), ("Action", "SendSms"), ("Format", "JSON"),
              ("OutId", "TS20261206-0001"), ("PhoneNumbers", "13800138000"),
              ("RegionId", "cn-hangzhou"), ("SignName", "阿里云短信测试"),
              ("SignatureMethod", "HMAC-SHA1"),
              ("SignatureNonce", "c7a0e6b2-6d1f-4d7e-9f3a-2b1c0d9e8f70"),
              ("SignatureVersion", "1.0"), ("TemplateCode", "SMS_154950909"),
              ("TemplateParam", '{"caseno":"TS20261206-0001","status":"已受理"}'),
              ("Timestamp", "2026-12-06T02:30:00Z"), ("Version", "2017-05-25")]
        self.assertEqual(smssign.acs_v1_sign("testSecret", "POST", a4), "sCTP8o6wS/yOtTMuwGirVpZ6XXY=")
        self.assertEqual(smssign.acs_v1_sign("testSecret", "GET", a4), "/Tc+UEU0Vt1ShP1A58WHhOgBCJ0=")

    def test_v1_v3_acs3(self):
        h = [("host", "ecs.cn-shanghai.aliyuncs.com"), ("x-acs-action", "RunInstances"),
             ("x-acs-version", "2014-05-26"), ("x-acs-date", "2023-10-26T10:22:32Z"),
             ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
             ("x-acs-content-sha256", EMPTY)]
        q = [("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"),
             ("RegionId", "cn-shanghai")]
        s = smssign.acs3_sign("YourAccessKeyId", "YourAccessKeySecret", "POST", "/", q, h, EMPTY)
        self.assertEqual(s["canonical"],
                         "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259")
        self.assertEqual(s["authorization"],
                         "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;"
                         "x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;"
                         "x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d85391"
                         "2eee15083a6f0f3283c0")
        s = smssign.acs3_sign("acesskey", "secret", "GET", "", [("test", "ok"), ("empty", "")],
                              [("x-acs-test", "http"), ("x-acs-TEST", "https")],
                              "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23")
        self.assertEqual(s["authorization"],
                         "ACS3-HMAC-SHA256 Credential=acesskey,SignedHeaders=x-acs-test,"
                         "Signature=da772425f29289d3460d5fc961455d40c5e8c6afd0888b78a910c991e6a14846")
        h = [("host", "dysmsapi.aliyuncs.com"), ("x-acs-action", "SendSms"),
             ("x-acs-version", "2017-05-25"), ("x-acs-date", "2026-12-06T02:30:00Z"),
             ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
             ("x-acs-content-sha256", EMPTY)]
        q = [("PhoneNumbers", "13800138000"), ("SignName", "阿里云短信测试"),
             ("TemplateCode", "SMS_154950909"), ("TemplateParam", '{"code":"123456"}')]
        s = smssign.acs3_sign("YourAccessKeyId", "YourAccessKeySecret", "POST", "/", q, h, EMPTY)
        self.assertEqual(s["canonical"],
                         "3d8a88c64ea89998c058fc823437fbcddc7b2a5a1bf87d7b0570067841483e16")
        self.assertEqual(s["signature"],
                         "df589fe5a2eb45a032c0770675c28ac2d63ea5d39af0ac6edd10ca6ae6da1323")


# Characters the random values are drawn from: the encoder's edge cases
# (space, "*", "~", "/", "+", "%", "=", "&"), JSON, and multi-byte UTF-8.
ALPHABET = ("abcXYZ019-_.~ *+/%=&:?#\"'\\{}[],;" + "已受理投诉短信测试" + "😀é")


def rand_text(rng, lo=0, hi=24):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(lo, hi)))


def rand_name(rng):
    return "".join(rng.choice("abcdefgABCDEFG_-.") for _ in range(rng.randint(1, 12)))


class TestSmsSignCross(unittest.TestCase):
    """zhuqi's C signer and smssign.py agree on random inputs."""

    def run_c(self, lines):
        exe = os.path.join(harness.BIN_DIR, "tests", "test_sms")
        if not os.access(exe, os.X_OK):
            self.fail("%s is missing: build it first (make BUILD=asan tests-bin)" % exe)
        p = subprocess.run([exe, "--cross"], input="".join(l + "\n" for l in lines).encode(),
                           stdout=subprocess.PIPE, timeout=120, check=True)
        return p.stdout.decode().splitlines()

    def test_cross_random(self):
        rng = random.Random(14)
        lines, want = [], []
        for _ in range(40):
            sid, key, host = rand_name(rng), rand_text(rng, 1), rand_name(rng) + ".example"
            ts = rng.randint(0, 4102444800)
            body = rand_text(rng, 0, 200)
            lines.append("\t".join(["tc3", sid, key, "sms", host, str(ts), body]))
            want.append(smssign.tc3_sign(sid, key, "sms", host, ts, body)["authorization"])

            params = [(rand_name(rng), rand_text(rng)) for _ in range(rng.randint(0, 8))]
            secret, method = rand_text(rng, 1), rng.choice(["GET", "POST"])
            lines.append("\t".join(["v1", secret, method] + [x for kv in params for x in kv]))
            want.append(smssign.acs_v1_sign(secret, method, params))

            query = [(rand_name(rng), rand_text(rng)) for _ in range(rng.randint(0, 6))]
            headers = [(rng.choice(["x-acs-a", "X-ACS-A", "host", "x-acs-b"]),
                        rand_text(rng, 0, 12).strip(" ") or "v") for _ in range(rng.randint(1, 6))]
            payload = smssign.sha256_hex(rand_text(rng).encode())
            kid, uri = rand_name(rng), rng.choice(["/", ""])
            lines.append("\t".join(["acs3", kid, secret, method, uri, payload, str(len(query))] +
                                   [x for kv in query + headers for x in kv]))
            want.append(smssign.acs3_sign(kid, secret, method, uri, query, headers,
                                          payload)["authorization"])
        got = self.run_c(lines)
        self.assertEqual(len(got), len(want))
        for line, g, w in zip(lines, got, want):
            self.assertEqual(g, w, "input: %r" % line)

"""Request bodies through nginx to the debug echo route: JSON, forms, size
limits (nginx's and the app's), content types, malformed input."""

import json
import unittest
import urllib.parse

from harness import StackCase

ECHO = "/api/_debug/echo"
JSON = {"Content-Type": "application/json"}
APP_MAX = 64 * 1024
NGINX_MAX = 1024 * 1024


def json_of_size(n):
    """A valid JSON document of exactly n bytes."""
    head, tail = b'{"pad":"', b'"}'
    return head + b"x" * (n - len(head) - len(tail)) + tail


class TestJsonBody(StackCase, unittest.TestCase):
    STACK_ARGS = {"app_max_body": "64k", "nginx_max_body": "1m"}

    def test_echo_json(self):
        doc = {"s": "助企 — 四川", "n": 42, "a": [1, 2.5, None, True], "o": {"k": "v"}}
        r = self.stack.request("POST", ECHO, json.dumps(doc, ensure_ascii=False), JSON)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "application/json; charset=utf-8")
        self.assertEqual(r.json(), {"json": doc})

    def test_json_with_charset_param(self):
        r = self.stack.request("POST", ECHO, b'{"a":1}',
                               {"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"json": {"a": 1}})

    def test_malformed_json_400(self):
        for body in (b'{"a":', b"{'a':1}", b"[1,2", b"not json"):
            with self.subTest(body=body):
                r = self.stack.request("POST", ECHO, body, JSON)
                self.assertErrorShape(r, 400, "malformed_json")

    def test_invalid_utf8_400(self):
        for body in (b'{"a":"\xff"}', b'{"a":"\xc3\x28"}', b'{"a":"\xed\xa0\x80"}'):
            with self.subTest(body=body):
                r = self.stack.request("POST", ECHO, body, JSON)
                self.assertErrorShape(r, 400, "invalid_utf8")

    def test_unsupported_media_type_415(self):
        for ctype in ("text/plain", "application/xml", "multipart/form-data; boundary=x"):
            with self.subTest(ctype=ctype):
                r = self.stack.request("POST", ECHO, b"hello", {"Content-Type": ctype})
                self.assertErrorShape(r, 415, "unsupported_media_type")

    def test_missing_content_type_415(self):
        r = self.stack.request("POST", ECHO, b'{"a":1}')
        self.assertErrorShape(r, 415, "unsupported_media_type")


class TestFormBody(StackCase, unittest.TestCase):
    def test_form_parsed(self):
        form = {"company": "成都某某科技有限公司", "mobile": "13800000000", "note": "a&b=c d+e"}
        r = self.stack.request("POST", ECHO, urllib.parse.urlencode(form),
                               {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"form": form})


class TestBodyLimits(StackCase, unittest.TestCase):
    """The app's max_body (64k) sits below nginx's client_max_body_size
    (1m): each limit answers 413 in the same JSON shape."""

    STACK_ARGS = {"app_max_body": "64k", "nginx_max_body": "1m"}

    def test_just_under_app_limit_ok(self):
        r = self.stack.request("POST", ECHO, json_of_size(APP_MAX - 1024), JSON)
        self.assertEqual(r.status, 200, r)

    def test_app_413(self):
        r = self.stack.request("POST", ECHO, json_of_size(APP_MAX + 16 * 1024), JSON)
        self.assertErrorShape(r, 413, "too_large")
        self.assertTrue(r.header("X-Request-Id"), r)

    def test_nginx_413(self):
        r = self.stack.request("POST", ECHO, json_of_size(NGINX_MAX + 512 * 1024), JSON)
        self.assertErrorShape(r, 413, "too_large")
        self.assertTrue(r.header("X-Request-Id"), r)

    def test_nginx_413_on_declared_length(self):
        # nginx refuses on Content-Length alone, before any body is read.
        r = self.stack.request("POST", ECHO, b"", {"Content-Type": "application/json",
                                                   "Content-Length": str(NGINX_MAX * 8)})
        self.assertErrorShape(r, 413, "too_large")

    def test_still_serving_after_413s(self):
        self.stack.request("POST", ECHO, json_of_size(APP_MAX * 2), JSON)
        r = self.stack.request("POST", ECHO, b'{"ok":1}', JSON)
        self.assertEqual(r.status, 200, r)


class TestDebugRoutesOff(StackCase, unittest.TestCase):
    STACK_ARGS = {"debug_routes": False}

    def test_debug_routes_are_404(self):
        r = self.stack.request("POST", ECHO, b'{"a":1}', JSON)
        self.assertErrorShape(r, 404, "not_found")
        r = self.stack.get("/api/_debug/sleep?ms=1")
        self.assertErrorShape(r, 404, "not_found")


if __name__ == "__main__":
    unittest.main()

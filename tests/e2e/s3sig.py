"""A signature-checking proxy in front of s3rver, for the S3 tests.

s3rver checks a SigV4 request's shape and key id but not its signature,
so a request signed wrongly would pass it. This proxy computes AWS
Signature Version 4 itself, from the AWS documentation (Signature
Version 4 for S3: the canonical request, the string to sign, the signing
key derived from the secret, date, region and service), for both
header-signed requests (Authorization) and presigned URLs (X-Amz-*
query), and refuses what S3 refuses, with S3's error codes:

  403 SignatureDoesNotMatch   the signature is not the one the secret gives
  403 InvalidAccessKeyId      an unknown access key
  403 AccessDenied            a presigned URL past its X-Amz-Expires
  403 RequestTimeTooSkewed    x-amz-date more than 15 minutes off
  400 InvalidRequest          x-amz-content-sha256 missing on a
                              header-signed request, or an x-amz-* header
                              left out of SignedHeaders
  400 XAmzContentSHA256Mismatch  the body's hash is not the one signed
  400 AuthorizationHeaderMalformed  a credential scope S3 cannot parse

What passes goes to s3rver unchanged and its answer comes back.
Python 3 standard library only; listens on 127.0.0.1."""

import datetime
import hashlib
import hmac
import http.client
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SKEW_S = 15 * 60


def _h(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret, day, region, service="s3"):
    k = _h(("AWS4" + secret).encode("utf-8"), day)
    k = _h(k, region)
    k = _h(k, service)
    return _h(k, "aws4_request")


def uri_encode(s, slash=True):
    """RFC 3986 percent-encoding, unreserved characters kept ('/' too in a
    path: S3 encodes each segment once)."""
    safe = "-_.~" + ("/" if not slash else "")
    return urllib.parse.quote(s, safe=safe)


def canonical_query(pairs):
    enc = sorted((uri_encode(k), uri_encode(v)) for k, v in pairs)
    return "&".join("%s=%s" % kv for kv in enc)


def canonical_request(method, path, pairs, headers, signed, payload_hash):
    # The path as sent is already encoded: S3 takes it as it is (no
    # second encoding, no normalisation).
    lines = [method, path or "/", canonical_query(pairs)]
    for name in signed:
        v = headers.get(name)
        v = " ".join(v.strip().split()) if v is not None else ""
        lines.append("%s:%s" % (name, v))
    return "\n".join(lines) + "\n\n" + ";".join(signed) + "\n" + payload_hash


def string_to_sign(amz_date, scope, creq):
    return "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (
        amz_date, scope, hashlib.sha256(creq.encode("utf-8")).hexdigest())


class Refused(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _parse_date(amz):
    try:
        return datetime.datetime.strptime(amz, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        raise Refused(403, "AccessDenied", "X-Amz-Date is not a valid ISO 8601 basic date")


def verify(method, target, headers, body, keys, now=None):
    """Checks one request's SigV4 signature. headers: lower-case names.
    keys: access key -> secret. Returns the access key, or raises
    Refused."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    url = urllib.parse.urlsplit(target)
    pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
    q = dict(pairs)
    presigned = "X-Amz-Signature" in q
    if presigned:
        if q.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
            raise Refused(400, "AuthorizationQueryParametersError",
                          "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        cred, signed_s, sig = (q.get("X-Amz-Credential", ""), q.get("X-Amz-SignedHeaders", ""),
                               q["X-Amz-Signature"])
        amz_date = q.get("X-Amz-Date", "")
        payload = q.get("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
        pairs = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
        when = _parse_date(amz_date)
        try:
            expires = int(q.get("X-Amz-Expires", ""))
        except ValueError:
            raise Refused(400, "AuthorizationQueryParametersError",
                          "X-Amz-Expires should be a number")
        if expires < 1 or expires > 604800:
            raise Refused(400, "AuthorizationQueryParametersError",
                          "X-Amz-Expires must be between 1 and 604800 seconds")
        if now > when + datetime.timedelta(seconds=expires):
            raise Refused(403, "AccessDenied", "Request has expired")
    else:
        auth = headers.get("authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            raise Refused(403, "AccessDenied", "Access Denied")
        parts = {}
        for item in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = item.strip().partition("=")
            parts[k] = v
        cred, signed_s, sig = (parts.get("Credential", ""), parts.get("SignedHeaders", ""),
                               parts.get("Signature", ""))
        amz_date = headers.get("x-amz-date", "")
        payload = headers.get("x-amz-content-sha256")
        if payload is None:
            raise Refused(400, "InvalidRequest",
                          "Missing required header for this request: x-amz-content-sha256")
        when = _parse_date(amz_date)
        if abs((now - when).total_seconds()) > SKEW_S:
            raise Refused(403, "RequestTimeTooSkewed",
                          "The difference between the request time and the current time is "
                          "too large.")
        if payload not in ("UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"):
            if payload != hashlib.sha256(body).hexdigest():
                raise Refused(400, "XAmzContentSHA256Mismatch",
                              "The provided 'x-amz-content-sha256' header does not match what "
                              "was computed.")
    scope_parts = cred.split("/")
    if len(scope_parts) != 5 or scope_parts[3] != "s3" or scope_parts[4] != "aws4_request":
        raise Refused(400, "AuthorizationHeaderMalformed",
                      "The authorization header is malformed; the Credential is mal-formed.")
    access, day, region = scope_parts[0], scope_parts[1], scope_parts[2]
    if access not in keys:
        raise Refused(403, "InvalidAccessKeyId",
                      "The AWS Access Key Id you provided does not exist in our records.")
    if day != amz_date[:8]:
        raise Refused(400, "AuthorizationHeaderMalformed",
                      "The authorization header is malformed; the credential date does not "
                      "match X-Amz-Date.")
    signed = signed_s.split(";") if signed_s else []
    if "host" not in signed or signed != sorted(signed):
        raise Refused(400, "AuthorizationHeaderMalformed",
                      "The authorization header is malformed; SignedHeaders must include host "
                      "and be sorted.")
    if not presigned:
        for name in headers:
            if name.startswith("x-amz-") and name not in signed:
                raise Refused(400, "InvalidRequest",
                              "Header %s must be signed" % name)
    creq = canonical_request(method, url.path, pairs, headers, signed, payload)
    sts = string_to_sign(amz_date, "/".join(scope_parts[1:]), creq)
    want = hmac.new(signing_key(keys[access], day, region), sts.encode("utf-8"),
                    hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):
        raise Refused(403, "SignatureDoesNotMatch",
                      "The request signature we calculated does not match the signature you "
                      "provided. Check your key and signing method.")
    return access


class SigProxy:
    """The proxy: SigProxy(upstream_port, {access: secret}).endpoint; keys
    may be changed while it runs (set_secret). checked counts the
    requests that passed, by method; refused lists (method, code)."""

    def __init__(self, upstream_port, keys):
        self.upstream = upstream_port
        self.keys = dict(keys)
        self.lock = threading.Lock()
        self.checked = {}
        self.refused = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n > 0 else b""

            def _handle(self):
                body = self._body()
                headers = {k.lower(): v for k, v in self.headers.items()}
                with proxy.lock:
                    keys = dict(proxy.keys)
                try:
                    verify(self.command, self.path, headers, body, keys)
                except Refused as e:
                    with proxy.lock:
                        proxy.refused.append((self.command, e.code))
                    xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                           "<Message>%s</Message><RequestId>zqsigproxy</RequestId></Error>"
                           % (e.code, e.message)).encode()
                    self.send_response(e.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(xml)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(xml)
                    return
                with proxy.lock:
                    proxy.checked[self.command] = proxy.checked.get(self.command, 0) + 1
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream, timeout=60)
                try:
                    fwd = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("connection", "expect", "content-length")}
                    if body or self.command in ("PUT", "POST"):
                        fwd["Content-Length"] = str(len(body))
                    conn.request(self.command, self.path, body=body or None, headers=fwd)
                    r = conn.getresponse()
                    data = r.read()
                    self.send_response(r.status)
                    for k, v in r.getheaders():
                        if k.lower() not in ("connection", "transfer-encoding", "content-length",
                                             "keep-alive"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_DELETE = do_HEAD = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def set_secret(self, access, secret):
        with self.lock:
            self.keys[access] = secret

    def counts(self):
        with self.lock:
            return dict(self.checked), list(self.refused)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

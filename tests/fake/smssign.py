"""Independent implementation of the SMS vendors' signatures
(/work/shared/specs/sms.md §1.3, §2.2, §2.3) with Python's standard library
only: the tests check zhuqi's C code (lib/push/sms_sign.c) and the fake
platform's checks against it."""

import base64
import functools
import hashlib
import hmac
import time
import urllib.parse


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def _b(s):
    return s if isinstance(s, bytes) else s.encode("utf-8")


# ---- Tencent Cloud TC3-HMAC-SHA256 ----

# The derived keys depend only on the secret, the UTC date and the
# service (§1.3), so a verifier may keep them for the day: the fake
# platform checks thousands of signatures a second with one secret.
@functools.lru_cache(maxsize=64)
def tc3_keys(secret_key, date, service):
    """(SecretDate, SecretService, SecretSigning), raw bytes."""
    k_date = hmac.new(_b("TC3" + secret_key), _b(date), hashlib.sha256).digest()
    k_service = hmac.new(k_date, _b(service), hashlib.sha256).digest()
    k_signing = hmac.new(k_service, b"tc3_request", hashlib.sha256).digest()
    return k_date, k_service, k_signing


def tc3_sign(secret_id, secret_key, service, host, timestamp, body,
             content_type="application/json; charset=utf-8"):
    """A dict with date, payload, canonical (hex SHA-256 of the canonical
    request), signature and authorization, for a POST to "/"."""
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    payload = sha256_hex(_b(body))
    canonical = "POST\n/\n\ncontent-type:%s\nhost:%s\n\ncontent-type;host\n%s" % (
        content_type, host, payload)
    hashed = sha256_hex(_b(canonical))
    scope = "%s/%s/tc3_request" % (date, service)
    sts = "TC3-HMAC-SHA256\n%d\n%s\n%s" % (timestamp, scope, hashed)
    key = tc3_keys(secret_key, date, service)[2]
    sig = hmac.digest(key, _b(sts), "sha256").hex()  # one call into OpenSSL
    auth = ("TC3-HMAC-SHA256 Credential=%s/%s, SignedHeaders=content-type;host, Signature=%s"
            % (secret_id, scope, sig))
    return {"date": date, "payload": payload, "canonical": hashed, "signature": sig,
            "authorization": auth}


# ---- Alibaba Cloud ----

def acs_encode(s):
    """Percent-encoding of §2.2: unreserved kept, every other byte %XX."""
    return urllib.parse.quote(_b(s), safe="-_.~")


def acs_query(params, bare_empty=False):
    """params: (name, value) pairs; sorted byte-wise by name, then value."""
    items = sorted(((_b(k), _b(v)) for k, v in params))
    out = []
    for k, v in items:
        if bare_empty and v == b"":
            out.append(acs_encode(k))
        else:
            out.append(acs_encode(k) + "=" + acs_encode(v))
    return "&".join(out)


def acs_v1_string_to_sign(method, params):
    return method + "&" + acs_encode("/") + "&" + acs_encode(acs_query(params))


def acs_v1_sign(secret, method, params):
    sts = acs_v1_string_to_sign(method, params)
    mac = hmac.new(_b(secret + "&"), _b(sts), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def acs3_sign(key_id, secret, method, uri, query, headers, payload_sha256):
    """query: (name, value) pairs; headers: (name, value) pairs, all signed.
    A dict with canonical (hex SHA-256), signature and authorization."""
    merged = {}
    for k, v in headers:
        merged.setdefault(k.lower(), []).append(v.strip(" \t"))
    names = sorted(merged)
    canon_headers = "".join("%s:%s\n" % (n, ",".join(sorted(merged[n]))) for n in names)
    signed = ";".join(names)
    canonical = "\n".join([method, uri, acs_query(query, bare_empty=True), canon_headers,
                           signed, payload_sha256])
    hashed = sha256_hex(_b(canonical))
    sig = hmac.new(_b(secret), _b("ACS3-HMAC-SHA256\n" + hashed), hashlib.sha256).hexdigest()
    auth = "ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s" % (key_id, signed, sig)
    return {"canonical": hashed, "signature": sig, "authorization": auth}

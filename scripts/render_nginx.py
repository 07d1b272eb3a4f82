#!/usr/bin/env python3
"""Renders nginx/zhuqi.conf (the site template) and, for a private instance,
a main nginx.conf around it. Used by scripts/stack.sh and tests/e2e, so the
local stack and the tests run the very same site config.

  render_nginx.py site [--template FILE] [--set NAME=VALUE ...] [-o OUT]
  render_nginx.py main --site FILE --prefix DIR --pid FILE --error-log FILE [-o OUT]
  render_nginx.py defaults [--template FILE]

Values come from the "default:" lines in the template's comment block, then
ZQ_* environment variables, then --set. Lines between "#@if ZQ_NAME" and
"#@endif" are kept only when ZQ_NAME is not "off" (blocks may nest).
Python 3 standard library only.

The local switch (plain HTTP on loopback, no TLS) for `make run` and the
tests: --local-http 127.0.0.1:PORT, i.e. ZQ_TLS=off ZQ_HTTP_LISTEN=off
ZQ_LOCAL_HTTP=127.0.0.1:PORT.
"""

import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = os.path.join(ROOT, "nginx", "zhuqi.conf")

# Placeholders whose value may list several items: the line holding one is
# repeated for each item (e.g. one `server` line per FastCGI instance).
LIST_PLACEHOLDERS = {"ZQ_FCGI_ADDR", "ZQ_ADMIN_ALLOW", "ZQ_REAL_IP_FROM"}
# Placeholders whose value may hold several words ("80 default_server").
MULTIWORD_PLACEHOLDERS = {"ZQ_LISTEN", "ZQ_SERVER_NAME"}

_PLACEHOLDER = re.compile(r"\$\{(ZQ_[A-Z0-9_]+)\}")
_IF_LINE = re.compile(r"^\s*#@if\s+(ZQ_[A-Z0-9_]+)\s*$")
_ENDIF_LINE = re.compile(r"^\s*#@endif\s*$")
# What the local switch may listen on: loopback only.
_LOOPBACK_LISTEN = re.compile(r"^(127\.0\.0\.1|\[::1\]):[0-9]{1,5}$")
_DEFAULT_LINE = re.compile(r"^#\s+\$\{(ZQ_[A-Z0-9_]+)\}\s+default:\s*(\S.*?)\s*$")
# Characters that would let a value escape its directive.
_UNSAFE = re.compile(r"[;{}\"'`\n\r\\#$]")

# The MIME types the site serves: written out so a private prefix does not
# depend on /etc/nginx/mime.types.
MIME_TYPES = [
    ("text/html", "html htm"),
    ("text/css", "css"),
    ("text/plain", "txt"),
    ("text/csv", "csv"),
    ("application/javascript", "js mjs"),
    ("application/json", "json map"),
    ("application/manifest+json", "webmanifest"),
    ("application/xml", "xml"),
    ("image/svg+xml", "svg svgz"),
    ("image/png", "png"),
    ("image/jpeg", "jpg jpeg"),
    ("image/gif", "gif"),
    ("image/webp", "webp"),
    ("image/x-icon", "ico"),
    ("font/woff", "woff"),
    ("font/woff2", "woff2"),
    ("application/pdf", "pdf"),
]


class RenderError(Exception):
    pass


def read_template(path=None):
    with open(path or TEMPLATE, encoding="utf-8") as f:
        return f.read()


def template_defaults(text):
    """The {NAME: default} pairs documented in the template's comments."""
    out = {}
    for line in text.splitlines():
        m = _DEFAULT_LINE.match(line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def template_placeholders(text):
    """Names used outside comments (the ones that must get a value)."""
    names = set()
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        names.update(_PLACEHOLDER.findall(line))
    return names


def _check_value(name, value):
    items = split_list(value) if name in LIST_PLACEHOLDERS else [value]
    if not items:
        raise RenderError("%s: empty value" % name)
    for item in items:
        if item == "" or _UNSAFE.search(item) or (
            name not in LIST_PLACEHOLDERS | MULTIWORD_PLACEHOLDERS and re.search(r"\s", item)
        ):
            raise RenderError("%s: unsafe or empty value %r" % (name, item))


def split_list(value):
    return [v for v in re.split(r"[\s,]+", value.strip()) if v]


def resolve_values(text, overrides=None, environ=None):
    """Defaults from the template, then ZQ_* from environ, then overrides."""
    environ = os.environ if environ is None else environ
    known = template_defaults(text)
    used = template_placeholders(text)
    undocumented = used - set(known)
    if undocumented:
        raise RenderError("placeholders without a default line: " + ", ".join(sorted(undocumented)))
    values = dict(known)
    for name in known:
        if name in environ:
            values[name] = environ[name]
    for name, value in (overrides or {}).items():
        if name not in known:
            raise RenderError("unknown placeholder %s (known: %s)" % (name, ", ".join(sorted(known))))
        values[name] = str(value)
    for name, value in values.items():
        _check_value(name, value)
    _check_tls(values)
    return values


def local_http_values(addr):
    """The placeholder values of the local switch: the site over plain
    HTTP on the loopback address addr, no TLS, no redirect server."""
    return {"ZQ_TLS": "off", "ZQ_HTTP_LISTEN": "off", "ZQ_LOCAL_HTTP": addr}


def _check_tls(values):
    """TLS on unless switched off for a local, loopback-only site."""
    tls = values.get("ZQ_TLS")
    local = values.get("ZQ_LOCAL_HTTP", "off")
    if tls is None:
        return
    if tls not in ("on", "off"):
        raise RenderError("ZQ_TLS: on or off, got %r" % tls)
    if local != "off" and not _LOOPBACK_LISTEN.match(local):
        raise RenderError("ZQ_LOCAL_HTTP: plain HTTP serves the site on loopback only "
                          "(127.0.0.1:PORT or [::1]:PORT), got %r" % local)
    if tls == "off" and local == "off":
        raise RenderError("ZQ_TLS=off needs ZQ_LOCAL_HTTP (a loopback address): "
                          "the site is never served over plain HTTP elsewhere")
    if tls == "on" and re.search(r"\bssl\b", values.get("ZQ_LISTEN", "")):
        raise RenderError("ZQ_LISTEN: give the address only; the template adds ssl")


def render_site(text, values):
    """Substitutes ${ZQ_*}; list placeholders repeat their line; drops the
    "#@if ZQ_NAME" blocks whose placeholder is "off"."""
    out = []
    keep = []  # one bool per open #@if
    for n, line in enumerate(text.splitlines(keepends=True), 1):
        m = _IF_LINE.match(line)
        if m:
            if m.group(1) not in values:
                raise RenderError("line %d: #@if on unknown placeholder %s" % (n, m.group(1)))
            keep.append(values[m.group(1)] != "off")
            continue
        if _ENDIF_LINE.match(line):
            if not keep:
                raise RenderError("line %d: #@endif without #@if" % n)
            keep.pop()
            continue
        if not all(keep):
            continue
        lists = [n for n in _PLACEHOLDER.findall(line) if n in LIST_PLACEHOLDERS]
        if lists and not line.lstrip().startswith("#"):
            name = lists[0]
            for item in split_list(values[name]):
                one = dict(values)
                one[name] = item
                out.append(_PLACEHOLDER.sub(lambda m: one[m.group(1)], line))
            continue
        out.append(_PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), line))
    if keep:
        raise RenderError("#@if without #@endif")
    return "".join(out)


def render(overrides=None, template=None, environ=None):
    text = read_template(template)
    return render_site(text, resolve_values(text, overrides, environ))


def render_main(site, prefix, pid, error_log, worker_processes=1, user=None,
                error_level="notice", worker_connections=512):
    """A main nginx.conf for a private, foreground instance under prefix
    (temp paths there), including the rendered site file."""
    for p in (site, prefix, pid, error_log):
        if not os.path.isabs(p):
            raise RenderError("render_main wants absolute paths, got %r" % p)
    if user is None and hasattr(os, "geteuid") and os.geteuid() == 0:
        # Workers must read the html and connect to the app's socket, which
        # belong to whoever started the stack.
        user = "root"
    types = "".join("        %-26s %s;\n" % (t, ext) for t, ext in MIME_TYPES)
    lines = [
        "# Generated by scripts/render_nginx.py for a private nginx; do not edit.",
        "daemon off;",
        "worker_processes %d;" % worker_processes,
        "pid %s;" % pid,
        "error_log %s %s;" % (error_log, error_level),
    ]
    if user:
        lines.append("user %s;" % user)
    lines += [
        "",
        "events {",
        "    worker_connections %d;" % worker_connections,
        "}",
        "",
        "http {",
        "    types {",
        types.rstrip("\n"),
        "    }",
        "    default_type application/octet-stream;",
        "    sendfile on;",
        "    keepalive_timeout 65s;",
        "    access_log off;",
        "    client_body_temp_path %s;" % os.path.join(prefix, "client_body"),
        "    fastcgi_temp_path %s;" % os.path.join(prefix, "fastcgi"),
        "    proxy_temp_path %s;" % os.path.join(prefix, "proxy"),
        "    uwsgi_temp_path %s;" % os.path.join(prefix, "uwsgi"),
        "    scgi_temp_path %s;" % os.path.join(prefix, "scgi"),
        "",
        "    include %s;" % site,
        "}",
        "",
    ]
    return "\n".join(lines)


def write_private(prefix, site_values, pid, error_log, worker_processes=1, template=None,
                  environ=None):
    """Renders both files into prefix (site: prefix/zhuqi.conf, main:
    prefix/nginx.conf), creates the temp dirs, returns the main path."""
    os.makedirs(prefix, exist_ok=True)
    for d in ("client_body", "fastcgi", "proxy", "uwsgi", "scgi"):
        os.makedirs(os.path.join(prefix, d), exist_ok=True)
    site = os.path.join(prefix, "zhuqi.conf")
    main = os.path.join(prefix, "nginx.conf")
    _write(site, render(site_values, template, environ))
    _write(main, render_main(site, prefix, pid, error_log, worker_processes))
    return main


def _write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _parse_sets(pairs):
    out = {}
    for p in pairs or []:
        if "=" not in p:
            raise RenderError("--set wants NAME=VALUE, got %r" % p)
        k, v = p.split("=", 1)
        out[k.strip()] = v
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("site", help="render the site template")
    s.add_argument("--template", default=TEMPLATE)
    s.add_argument("--set", action="append", metavar="NAME=VALUE")
    s.add_argument("--local-http", metavar="ADDR",
                   help="the local switch: plain HTTP on this loopback address, no TLS")
    s.add_argument("-o", "--out")
    m = sub.add_parser("main", help="a main nginx.conf for a private instance")
    m.add_argument("--site", required=True)
    m.add_argument("--prefix", required=True)
    m.add_argument("--pid", required=True)
    m.add_argument("--error-log", required=True)
    m.add_argument("--workers", type=int, default=1)
    m.add_argument("-o", "--out")
    d = sub.add_parser("defaults", help="list the placeholders and their defaults")
    d.add_argument("--template", default=TEMPLATE)
    a = ap.parse_args(argv)
    try:
        if a.cmd == "site":
            sets = local_http_values(a.local_http) if a.local_http else {}
            sets.update(_parse_sets(a.set))
            text = render(sets, a.template)
        elif a.cmd == "main":
            text = render_main(os.path.abspath(a.site), os.path.abspath(a.prefix),
                               os.path.abspath(a.pid), os.path.abspath(a.error_log), a.workers)
        else:
            vals = template_defaults(read_template(a.template))
            text = "".join("%s=%s\n" % kv for kv in sorted(vals.items()))
    except (RenderError, OSError) as e:
        print("render_nginx: %s" % e, file=sys.stderr)
        return 2
    if getattr(a, "out", None):
        _write(a.out, text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

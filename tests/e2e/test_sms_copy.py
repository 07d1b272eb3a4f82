"""The forms' copy does not promise what zhuqi does not do: no field's
text says the enterprise will be notified (通知 / 短信) — whether an SMS
goes out depends on [sms] in the config, so a promise belongs to the pages
that know it, not to the schema. No stack needed."""

import json
import os
import re
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FORMS = os.path.join(ROOT, "config", "forms")
HTML = os.path.join(ROOT, "nginx", "html")


def texts(node):
    """Every string under node."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from texts(v)
    elif isinstance(node, list):
        for v in node:
            yield from texts(v)


class TestSmsCopy(unittest.TestCase):
    def test_no_form_promises_notifications(self):
        names = [n for n in sorted(os.listdir(FORMS)) if n.endswith(".json")]
        self.assertTrue(names)
        for name in names:
            with open(os.path.join(FORMS, name), encoding="utf-8") as f:
                form = json.load(f)
            for s in texts(form):
                for word in ("进度通知", "短信通知", "通知您", "接收受理"):
                    self.assertNotIn(word, s, "%s promises a notice: %s" % (name, s))

    def test_pages_promise_sms_only_when_hidden(self):
        """A page may say SMS will come only in an element that starts
        hidden; its script shows it when the server says SMS is on."""
        hidden = re.compile(r"<(\w+)[^>]*\bhidden\b[^>]*>[^<]*</\1>")
        for name in sorted(os.listdir(HTML)):
            if not name.endswith(".html"):
                continue
            with open(os.path.join(HTML, name), encoding="utf-8") as f:
                page = hidden.sub("", f.read())
            # "短信验证码" (a code the visitor asks for) is no promise.
            for word in ("短信通知", "发短信", "以短信", "通过短信", "告知您", "通知您"):
                self.assertNotIn(word, page, "%s promises a message" % name)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""The push demo of `make run` (called by scripts/stack.sh): demo targets
for every channel on the fake platform, a class for the next
tax-assistance day, a reminder rule that is due at start, and one service
notice, so that a newcomer sees a reminder and a notice arrive for each
channel at http://127.0.0.1:8090/.

  stack_demo.py rules OUT SHIPPED      write OUT: the SHIPPED rules plus a
                                       demo rule due now (Beijing time)
  stack_demo.py setup                  fake targets, zhuqi targets, a class
  stack_demo.py notice                 post the demo notice, print its id

Environment: PORT (nginx), FAKE_PORT, TOKEN_FILE (the staff token).
Python 3 standard library only; talks to 127.0.0.1 only.
"""

import datetime
import json
import os
import sys
import urllib.error
import urllib.request

PORT = int(os.environ.get("PORT", "8080"))
FAKE_PORT = int(os.environ.get("FAKE_PORT", "8090"))
BJ = datetime.timezone(datetime.timedelta(hours=8))

DEMO_TAGS = ["demo", "tax_day", "staff", "region:510100"]
DINGTALK_SECRET = "SECdemo0123456789abcdef0123456789abcdef0123456789abcdef012345678"
FEISHU_SECRET = "demo-feishu-secret"
GENERIC_SECRET = "demo-generic-secret"
FAKE = "http://127.0.0.1:%d" % FAKE_PORT
TARGETS = [
    # (fake registration, zhuqi target)
    ({"platform": "wecom", "key": "demo-wecom-robot-key"},
     {"id": "demo-wecom", "channel": "wecom-robot", "address": "demo-wecom-robot-key",
      "name": "演示：企业微信群"}),
    ({"platform": "dingtalk", "key": "demo-dingtalk-token", "secret": DINGTALK_SECRET},
     {"id": "demo-dingtalk", "channel": "dingtalk-robot", "address": "demo-dingtalk-token",
      "secret": DINGTALK_SECRET, "name": "演示：钉钉群"}),
    ({"platform": "feishu", "key": "demo-feishu-hook", "secret": FEISHU_SECRET},
     {"id": "demo-feishu", "channel": "feishu-bot", "address": "demo-feishu-hook",
      "secret": FEISHU_SECRET, "name": "演示：飞书群"}),
    ({"platform": "telegram", "key": "123456:DEMO-telegram-token", "chats": ["-1001000000001"]},
     {"id": "demo-telegram", "channel": "telegram", "address": "123456:DEMO-telegram-token",
      "chat_id": "-1001000000001", "name": "演示：Telegram 群"}),
    ({"platform": "generic", "key": "demo-generic", "secret": GENERIC_SECRET},
     {"id": "demo-generic", "channel": "generic", "address": FAKE + "/generic/demo-generic",
      "secret": GENERIC_SECRET, "name": "演示：通用 Webhook"}),
    # Chats of the apps (what 订阅 in an app chat creates), reached through
    # the app message APIs with the access tokens the bot fetches; the apps'
    # credentials are in the [wecom], [dingtalk] and [feishu] sections that
    # scripts/stack.sh writes.
    ({"platform": "wecom-app", "key": "wwdemo0000000001", "app_secret": "demo-wecom-app-secret",
      "agent_id": 1000002},
     {"id": "demo-wecom-app", "channel": "wecom-app", "address": "demo.zhangsan",
      "name": "演示：企业微信应用（成员）"}),
    ({"platform": "dingtalk-app", "key": "dingdemoappkey01", "app_secret": "demo-dingtalk-app-secret"},
     {"id": "demo-dingtalk-app", "channel": "dingtalk-app", "address": "group:cidDEMO000001==",
      "name": "演示：钉钉应用机器人（群）"}),
    ({"platform": "feishu-app", "key": "cli_demo_app", "app_secret": "demo-feishu-app-secret"},
     {"id": "demo-feishu-chat", "channel": "feishu-chat", "address": "oc_demo000000000001",
      "name": "演示：飞书应用（群聊）"}),
]


def call(url, method="GET", body=None, token=None):
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read().decode() or "{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "{}")


def token():
    with open(os.environ["TOKEN_FILE"]) as f:
        return f.read().strip()


def api(path, body=None, method="POST"):
    status, out = call("http://127.0.0.1:%d%s" % (PORT, path), method, body, token())
    if status >= 300:
        sys.exit("stack demo: %s %s answered %d: %s" % (method, path, status, out))
    return out


def next_27th(today):
    if today.day <= 27:
        return today.replace(day=27)
    y, m = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return datetime.date(y, m, 27)


def cmd_rules(out, shipped):
    now = datetime.datetime.now(BJ)
    with open(shipped, encoding="utf-8") as f:
        rules = json.load(f)["rules"]
    # Due at start: today, at this very minute; its id changes every
    # minute, so every `make run` shows one.
    rules.append({
        "id": "demo-now", "title": "税务助企宣讲日（演示提醒）", "day_of_month": now.day,
        "shift": "keep", "audience": {"tags": ["demo"]}, "template": "tax_day.md",
        "leads": [{"id": "start-%s" % now.strftime("%H%M"), "at": now.strftime("0d %H:%M")}]})
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"rules": rules}, f, ensure_ascii=False, indent=2)


def cmd_setup():
    for reg, target in TARGETS:
        status, out = call(FAKE + "/_targets", "POST", reg)
        if status != 200:
            sys.exit("stack demo: fake /_targets answered %d: %s" % (status, out))
        api("/api/admin/targets", dict(target, tags=DEMO_TAGS))
    day = next_27th(datetime.datetime.now(BJ).date())
    api("/api/admin/classes", {"id": "demo-class", "date": day.isoformat(), "time": "14:30",
                               "title": "小规模纳税人增值税优惠政策解读", "speaker": "税务局讲师",
                               "live_url": "https://live.example.invalid/tax-day"})


def cmd_notice():
    out = api("/api/admin/notices", {
        "title": "【演示】创客中国中小企业创新创业大赛报名开始",
        "body": "**报名时间**：即日起至本月底\n- 线上报名，免报名费\n- 优秀项目推荐参加全国赛\n"
                "详情请见[大赛通知](https://example.invalid/notice)。",
        "audience": {"tags": ["demo"]}})
    print(out["notice"]["id"])


def main(argv):
    if len(argv) == 4 and argv[1] == "rules":
        cmd_rules(argv[2], argv[3])
    elif len(argv) == 2 and argv[1] == "setup":
        cmd_setup()
    elif len(argv) == 2 and argv[1] == "notice":
        cmd_notice()
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The staff digest: on a working morning zhuqi-bot sends the targets
tagged staff one message listing, per office, the cases overdue or due
within two working days; once per day, across instances."""

import json
import time
import unittest

from bot_util import add_target
from harness import Checks, Stack, write_ini
from test_bot_reliability import offset_to


class TestStaffDigest(Checks, unittest.TestCase):
    def test_digest_on_a_working_morning(self):
        st = Stack(name="digest", fake=True, bot=False)
        self.addCleanup(st.close)
        p = st.ini["redis"]["prefix"]
        # A complaint submitted long ago and still waiting for review: its
        # review deadline has passed, so it is overdue.
        old_ms = int((time.time() - 40 * 86400) * 1000)
        cid = "TS20261001-0001"
        answers = {"company_name": "成都逾期测试有限公司", "region": "510100",
                   "respondent_name": "某局", "respondent_region": "510100",
                   "contact_name": "张三", "mobile": "13812345678"}
        st.redis_command("HSET", p + "case:" + cid, "id", cid, "form", "complaint",
                         "status", "submitted", "created_ms", str(old_ms),
                         "updated_ms", str(old_ms), "answers",
                         json.dumps(answers, ensure_ascii=False), "mobile", "13812345678",
                         "region", "510100", "source", "web", "dup_of", "")
        st.redis_command("RPUSH", p + "case:%s:log" % cid, json.dumps(
            {"at_ms": old_ms, "from": "", "to": "submitted", "by": "web", "note": ""}))
        for idx in ("cases:all", "cases:type:complaint", "cases:status:submitted",
                    "cases:region:510100"):
            st.redis_command("ZADD", p + idx, str(old_ms), cid)
        add_target(st, id="staff-desk", channel="generic",
                   address=st.fake.generic_url("staff-desk"), tags=["staff"])
        add_target(st, id="not-staff", channel="generic",
                   address=st.fake.generic_url("not-staff"), tags=["tax_day"])
        # Thursday 2026-12-03, 08:38 Beijing time: a working morning, after
        # the digest of 08:30 left at 08:37 (off the half hour).
        st.ini["bot"].update(clock_offset_s=offset_to("2026-12-03T08:38:00"),
                             digest_time="08:30", poll_ms=100)
        write_ini(st.ini_path, st.ini)
        st.start_bot("bot")
        st.start_bot("bot2")
        st.wait_for(lambda: st.fake.messages(platform="generic", target="staff-desk"), 20,
                    "the digest")
        time.sleep(2.5)  # both schedulers ran again
        msgs = st.fake.messages(platform="generic", target="staff-desk")
        self.assertEqual(len(msgs), 1, msgs)
        body = msgs[0]["json"]
        self.assertIn("办件期限提醒", body["title"])
        self.assertIn(cid, body["markdown"])
        self.assertIn("已逾期", body["markdown"])
        self.assertNotIn("13812345678", body["markdown"])
        # December without a 2027 holiday file: the staff are told (issue
        # 16 item 16).
        self.assertIn("尚未配置 2027 年节假日安排", body["markdown"])
        self.assertEqual(st.fake.messages(platform="generic", target="not-staff"), [])
        self.assertTrue(st.redis_command("GET", p + "sched:digest:2026-12-03"))


if __name__ == "__main__":
    unittest.main()

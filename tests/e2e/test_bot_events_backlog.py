"""Case events filed while zhuqi-bot had never run are announced once it
starts (the consumer group reads the stream from its start), except those
older than a day, which are acknowledged without a message."""

import time
import unittest

from bot_util import add_target
from harness import StackCase


class TestEventsBeforeFirstStart(StackCase, unittest.TestCase):
    # The morning digest goes to "staff" too: a bot started after 08:37
    # Beijing time catches it up, which is not what is counted here.
    STACK_ARGS = {"bot": False, "fake": True, "ini": {"bot": {"digest_tag": "digest-e2e"}}}

    def test_backlog_announced_once_old_skipped(self):
        st, fake = self.stack, self.stack.fake
        add_target(st, id="staff-cd", channel="generic", address=fake.generic_url("staff-cd"),
                   tags=["staff", "region:510100"])
        old_ms = int(time.time() * 1000) - 2 * 24 * 3600 * 1000
        st.redis_command("XADD", "zqe2e:events", "%d-0" % old_ms, "type", "case_created",
                         "id", "TS20261124-0001", "form", "complaint", "region", "510100",
                         "source", "web", "dup_of", "")
        st.redis_command("XADD", "zqe2e:events", "*", "type", "case_created",
                         "id", "TS20261126-0007", "form", "complaint", "region", "510100",
                         "source", "web", "dup_of", "")
        # No consumer group yet: the bot has never run on this Redis.
        self.assertEqual(st.redis_command("EXISTS", "zqe2e:events"), 1)
        st.start_bot()
        st.wait_for(lambda: fake.messages(platform="generic", target="staff-cd"), 15,
                    "the announcement of the case filed before the bot started")
        # Give the old one every chance to show up, then check it did not.
        st.wait_for(lambda: not st.redis_command("XPENDING", "zqe2e:events", "bot")[0], 15,
                    "every event acknowledged")
        msgs = fake.messages(platform="generic", target="staff-cd")
        self.assertEqual(len(msgs), 1, msgs)
        text = msgs[0]["json"]["title"] + msgs[0]["json"]["markdown"]
        self.assertIn("TS20261126-0007", text)
        self.assertNotIn("TS20261124-0001", text)


if __name__ == "__main__":
    unittest.main()

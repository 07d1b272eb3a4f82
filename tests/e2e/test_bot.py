"""zhuqi-bot's life: clean start and stop, and a start while Redis is down."""

import re
import time
import unittest

from harness import Checks, Stack

REDIS_TROUBLE = re.compile(r"(?im)^.*level=(warn|error)\b.*redis.*$")


class TestBotLifecycle(Checks, unittest.TestCase):
    def test_starts_and_stops_cleanly(self):
        st = Stack(bot=True, name="BotLifecycle")
        self.addCleanup(st.close)
        bot = st.procs["bot"]
        st.wait_for(lambda: st.bot_log().strip(), 10, "the bot to log something")
        time.sleep(1.0)  # a crash shortly after start would show here
        self.assertTrue(bot.alive(), st.bot_log())
        self.assertStopsCleanly(st, "bot")

    def test_survives_redis_down_at_start(self):
        st = Stack(bot=True, redis=False, name="BotNoRedis")
        self.addCleanup(st.close)
        bot = st.procs["bot"]
        st.wait_for(lambda: REDIS_TROUBLE.search(st.bot_log()), 15,
                    "the bot to log (warn/error) that Redis is unreachable")
        time.sleep(2.0)  # it keeps retrying rather than giving up
        self.assertTrue(bot.alive(), st.bot_log())
        st.start_redis()
        time.sleep(1.0)
        self.assertTrue(bot.alive(), st.bot_log())
        self.assertStopsCleanly(st, "bot")

    def test_stops_while_redis_down(self):
        st = Stack(bot=True, name="BotRedisGone")
        self.addCleanup(st.close)
        st.stop_redis()
        st.wait_for(lambda: REDIS_TROUBLE.search(st.bot_log()), 15,
                    "the bot to notice Redis is gone")
        self.assertTrue(st.procs["bot"].alive(), st.bot_log())
        self.assertStopsCleanly(st, "bot")


if __name__ == "__main__":
    unittest.main()

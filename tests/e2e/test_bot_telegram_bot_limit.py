"""Telegram's limit per bot, over all its chats ([channels]
telegram_bot_per_second): a notice to 30 chats of one bot, with the limit
set to 5 a second, reaches the fake platform at about 5 a second, so the
30 take at least 5 seconds however fast the machine (without the per-bot
limit they all go out at once: each chat gets only one). Chat replies on
the priority lane count too. Every message arrives, and the per-bot log in
Redis is named by a hash of the token, never the token."""

import hashlib
import json
import time
import unittest

from bot_util import add_target, all_final, notice, wait_report
from harness import StackCase

TOKEN = "765432:e2e-PerBot_limit-token"
OTHER = "765433:e2e-another-bot"
REPLIES = "765434:e2e-replying-bot"
N, PER_SECOND, NREPLY = 30, 5, 20


def ts(m):
    return m["ts"]  # when the fake received it (Unix seconds)


class TelegramPerBotLimit(StackCase, unittest.TestCase):
    STACK_ARGS = {
        "bot": True,
        "fake": True,
        "ini": {
            "channels": {"telegram_bot_per_second": PER_SECOND},
            "bot": {"retry_base_ms": 200, "retry_max_ms": 1000, "max_attempts": 4,
                    "timeout_ms": 2000},
        },
    }

    def test_thirty_chats_of_one_bot(self):
        st, fake = self.stack, self.stack.fake
        fake.add_target("telegram", TOKEN)
        fake.add_target("telegram", OTHER)
        fake.add_target("telegram", REPLIES)
        for i in range(N):
            add_target(st, id="tgbot-%02d" % i, channel="telegram", address=TOKEN,
                       chat_id=str(-1001000 - i), tags=["perbot"])
        # One chat of another bot: its own log, not slowed by the first bot.
        add_target(st, id="tgbot-other", channel="telegram", address=OTHER, chat_id="-1002000",
                   tags=["perbot"])
        prefix = st.ini["redis"]["prefix"]
        want_key = prefix + "rl:tgbot:" + hashlib.sha256(TOKEN.encode()).hexdigest()[:16]
        nid = notice(st, "每机器人限速", "正文", {"tags": ["perbot"]})
        # Long replies of a third bot continue on the priority lane
        # (chat_outbox.h), one entry per message, each to another chat.
        now = str(int(time.time() * 1000))
        for i in range(NREPLY):
            st.redis_command("XADD", prefix + "outbox:prio", "*", "kind", "reply",
                             "channel", "telegram",
                             "url", "%s/telegram/bot%s/sendMessage" % (fake.url, REPLIES),
                             "body", json.dumps({"chat_id": 3000 + i, "text": "回复 %d" % i},
                                                ensure_ascii=False),
                             "headers", "[]", "auth", "", "created_ms", now, "expires_ms", "0")
        # While the notice goes out, the bot's log exists under the hash.
        st.wait_for(lambda: want_key in (st.redis_command("KEYS", prefix + "rl:tgbot:*") or []),
                    20, "the per-bot rate-limit log")
        rep = wait_report(st, nid, all_final(N + 1), timeout=90)
        self.assertEqual(rep["totals"]["sent"], N + 1, rep)
        for k in st.redis_command("KEYS", prefix + "*") or []:
            self.assertNotIn(TOKEN, k)
            self.assertNotIn(OTHER, k)

        msgs = fake.messages(platform="telegram", target=TOKEN)
        self.assertEqual(len(msgs), N, msgs)
        self.assertTrue(all(m["accepted"] for m in msgs), msgs)
        self.assertEqual(len({m["chat_id"] for m in msgs}), N)
        times = sorted(ts(m) for m in msgs)
        # 5 per (1 s + slack) window: the 26th send starts at least five
        # windows after the first. Generous margin: one whole second.
        self.assertGreaterEqual(times[-1] - times[0], N / PER_SECOND - 2,
                                "30 messages of one bot in %.2f s" % (times[-1] - times[0]))
        # Never a burst: at most twice the limit in any second (network
        # jitter may move a message by a little, not the limiter's work).
        for i, t in enumerate(times):
            self.assertLessEqual(sum(1 for u in times[i:] if u < t + 1.0), 2 * PER_SECOND,
                                 "burst after message %d: %s" % (i, times))
        # The other bot's message was not held back behind the 30.
        (o,) = fake.messages(platform="telegram", target=OTHER)
        self.assertTrue(o["accepted"], o)
        self.assertLess(ts(o) - times[0], N / PER_SECOND - 2)
        # The replies went out at the same pace.
        st.wait_for(lambda: len(fake.messages(platform="telegram", target=REPLIES,
                                              accepted=True)) == NREPLY, 60, "the replies")
        rt = sorted(ts(m) for m in fake.messages(platform="telegram", target=REPLIES))
        self.assertEqual(len(rt), NREPLY)
        self.assertGreaterEqual(rt[-1] - rt[0], NREPLY / PER_SECOND - 2,
                                "%d replies of one bot in %.2f s" % (NREPLY, rt[-1] - rt[0]))


if __name__ == "__main__":
    unittest.main()

-- wrk script for the chat webhooks: signed text messages, each one an
-- ordinary turn in the middle of the complaint dialogue, a new message id on
-- every request (so the de-duplication never drops one and every request
-- runs the dialogue: load the state, validate, save it with compare-and-set).
--
--   wrk -t2 -c32 -d10s -s bench/chat_bench.lua http://127.0.0.1:PORT/hook/generic \
--       -- generic SECRET [USERS [RUN_ID]]
--   wrk -t2 -c32 -d10s -s bench/chat_bench.lua http://127.0.0.1:PORT/hook/dingtalk \
--       -- dingtalk APP_SECRET DINGTALK_BASE_URL [USERS [RUN_ID [TS_BASE STRIDE]]]
--
-- SECRET is [generic] secret, APP_SECRET [dingtalk] app_secret,
-- DINGTALK_BASE_URL [channels] dingtalk_base_url of the stack under test.
-- USERS (default 256) chat users per wrk thread take turns, one request
-- each in rotation, so a user's next message goes out long after its last
-- one was answered. RUN_ID (default or "-": random) goes into the user
-- names, bench-RUN_ID-THREAD-N (N from 0 to USERS - 1).
--
-- DingTalk's sign covers only the timestamp (ms), and zhuqi takes one
-- timestamp/sign pair with one msgId only (a captured pair must not carry
-- another body), so every message gets a timestamp of its own, and its
-- sign: thread t (from 1) sends its n-th message (from 0) with TS_BASE + n *
-- STRIDE + t - 1 (STRIDE >= the number of threads). bench/run.py gives each
-- run a TS_BASE past the timestamps of the runs before on the same stack;
-- by default TS_BASE is now and STRIDE 16 (a second run against the same
-- stack within [dingtalk] sign_window may then reuse a timestamp: 401).
--
-- What a request measures. Each user's messages, in order:
--   "2"                 the menu's choice 2: start the complaint
--   "1", "1", ...       the eligibility check's questions (4 today), each
--                       answered with its first option (none of them stops
--                       the complaint), then the complainant step's first
--                       question, the company name, answered "1" over and
--                       over: one character where at least 2 are needed.
-- So once past its first 5 messages a user stays at one question for
-- the rest of the run, and every request is the same ordinary turn inside
-- the form as before issue 17: a wrong free-text answer (load the state and
-- the de-duplication marks, validate the answer, say why it is wrong and
-- ask the question again, save the state with compare-and-set). A valid
-- answer costs a little more (the whole step is validated, the eligibility
-- check's stop rules included, and the next question is asked), but it
-- moves the user on, and a user moved back and forth ("返回") drifts when
-- two of its messages cross (one slow request overtaken by later ones): a
-- repeated wrong answer keeps every user where it is whatever the order,
-- and a "1" that overtakes the "2" before it starts the consultation,
-- whose steady state is the same kind of turn.
-- Until issue 17 every message was "2", which became a valid answer when
-- the eligibility check came first: users cycled through the start, two
-- answers and a stop (back at the menu). The user names carry a random run
-- id, so the warm-up run's dialogues do not leak into the measured one;
-- the first 5 turns of each user (start and eligibility answers,
-- also ordinary turns) are 512 x 5 of the measured run's requests.
--
-- Generic: X-Zhuqi-Signature = sha256=hex(HMAC-SHA256(secret, ts + "." +
-- body)) is computed per request (the body carries the message id), with
-- the SHA-256 of bench/chat_sign.lua (LuaJIT bit ops; wrk embeds LuaJIT),
-- which builds both messages for bench/soak.lua too. DingTalk: the sign
-- (HMAC-SHA256 of the timestamp) is computed per request as said above.
-- DingTalk replies are queued on outbox:prio for zhuqi-bot: bench/run.py
-- runs the row with zhuqi-bot stopped and measures their delivery after
-- it; never point dingtalk_base_url anywhere but the fake platform.
--
--   wrk -s bench/chat_bench.lua http://127.0.0.1/ -- selftest
-- prints the HMAC of known vectors and exits, to check the SHA-256 here.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
local sign = dofile(dir .. "chat_sign.lua")
local sha256, hmac_sha256, hex, base64 = sign.sha256, sign.hmac_sha256, sign.hex, sign.base64
local fmt, rep = string.format, string.rep

local mode, secret, base, users
local run_id = "0"
local counter = 0
-- wrk calls request() once on its first thread before the run, to check
-- the request, and never sends that one: it must not use up a turn (the
-- first user's "2" would be lost, and its "1" start the consultation).
local verifying = false
local tid = 0
local threads = 0
local ts_base, ts_stride

function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

function init(args)
   mode = args[1]
   if mode == "selftest" then
      -- Expected values: Python hmac/hashlib (see tests/data/inbound).
      print("sha256('abc') " .. hex(sha256("abc")))
      print("hmac " .. hex(hmac_sha256("key", "The quick brown fox jumps over the lazy dog")))
      print("long " .. hex(sha256(rep("a", 1000))))
      print("dingtalk " .. base64(hmac_sha256("secret", "1764115200000\nsecret")))
      os.exit(0)
   end
   secret = assert(args[2], "secret missing")
   local rest = 3
   if mode == "dingtalk" then
      base = assert(args[3], "dingtalk base URL missing")
      rest = 4
   elseif mode ~= "generic" then
      error("mode must be generic, dingtalk or selftest")
   end
   users = tonumber(args[rest] or "256")
   tid = tonumber(wrk.thread:get("tid")) or math.random(1, 1000000)
   -- LuaJIT's math.random starts from the same seed in every run.
   local f = io.open("/dev/urandom", "rb")
   if args[rest + 1] and args[rest + 1] ~= "-" then
      run_id = args[rest + 1]
   elseif f then
      run_id = hex(f:read(4))
   else
      run_id = tostring(os.time())
   end
   if f then
      f:close()
   end
   if mode == "dingtalk" then
      ts_base = tonumber(args[rest + 2] or tostring(os.time() * 1000))
      ts_stride = tonumber(args[rest + 3] or "16")
      assert(tid <= ts_stride, "more wrk threads than the timestamp STRIDE")
   end
   verifying = tid == 1
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

-- The text of a user's turn-th message (0-based), as described above.
local function text_of(turn)
   if turn == 0 then
      return "2"
   end
   return "1"
end

function request()
   local n = counter
   if verifying then
      verifying = false
   else
      counter = counter + 1
   end
   local user = fmt("bench-%s-%d-%d", run_id, tid, n % users)
   local id = fmt("b%s-%d-%d", run_id, tid, n)
   local text = text_of(math.floor(n / users))
   local body, headers
   if mode == "generic" then
      body, headers = sign.generic(secret, user, id, text)
   else
      local ts = fmt("%.0f", ts_base + n * ts_stride + tid - 1)
      body, headers = sign.dingtalk(base, user, id, ts, sign.dingtalk_sign_at(secret, ts), text)
   end
   for k, v in pairs(headers) do
      wrk.headers[k] = v
   end
   return wrk.format(nil, nil, nil, body)
end

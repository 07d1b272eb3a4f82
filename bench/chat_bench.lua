-- wrk script for the chat webhooks: signed messages in the middle of a
-- dialogue, a new message id on every request (so the de-duplication never
-- drops one and every request runs the dialogue: load the state, validate
-- an answer, save it with compare-and-set).
--
--   wrk -t2 -c32 -d10s -s bench/chat_bench.lua http://127.0.0.1:PORT/hook/generic \
--       -- generic SECRET [USERS]
--   wrk -t2 -c32 -d10s -s bench/chat_bench.lua http://127.0.0.1:PORT/hook/dingtalk \
--       -- dingtalk APP_SECRET DINGTALK_BASE_URL [USERS]
--
-- SECRET is [generic] secret, APP_SECRET [dingtalk] app_secret,
-- DINGTALK_BASE_URL [channels] dingtalk_base_url of the stack under test.
-- USERS (default 256) chat users are spread over the requests. Each user's
-- first message is "2" (start the complaint); every later one is "2" too:
-- the answer 2 to the eligibility check's questions (事业单位, 小型企业,
-- then 还没有到期, which stops the flow), so a user cycles through starting
-- the complaint, two answers and the stop, and every request does the full
-- work of a dialogue turn (load the state, validate, save).
--
-- Generic: X-Zhuqi-Signature = sha256=hex(HMAC-SHA256(secret, ts + "." +
-- body)) is computed per request (the body carries the message id), with
-- the SHA-256 of bench/chat_sign.lua (LuaJIT bit ops; wrk embeds LuaJIT),
-- which builds both messages for bench/soak.lua too. DingTalk: the
-- sign covers only the timestamp, so it is computed once, at start (valid
-- for an hour), and the body (with msgId) varies per request. DingTalk
-- replies are queued on outbox:prio: keep zhuqi-bot from delivering them
-- to a real address (point dingtalk_base_url at the fake platform).
--
--   wrk -s bench/chat_bench.lua http://127.0.0.1/ -- selftest
-- prints the HMAC of known vectors and exits, to check the SHA-256 here.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
local sign = dofile(dir .. "chat_sign.lua")
local sha256, hmac_sha256, hex, base64 = sign.sha256, sign.hmac_sha256, sign.hex, sign.base64
local fmt, rep = string.format, string.rep

local mode, secret, base, users
local counter = 0
local tid = 0
local threads = 0
local dingtalk_ts, dingtalk_sign

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
   if mode == "generic" then
      users = tonumber(args[3] or "256")
   elseif mode == "dingtalk" then
      base = assert(args[3], "dingtalk base URL missing")
      users = tonumber(args[4] or "256")
      dingtalk_ts, dingtalk_sign = sign.dingtalk_sign(secret)
   else
      error("mode must be generic, dingtalk or selftest")
   end
   tid = tonumber(wrk.thread:get("tid")) or math.random(1, 1000000)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local user = fmt("bench-%d-%d", counter % users, tid)
   local id = fmt("b%d-%d-%d", tid, os.time(), counter)
   local body, headers
   if mode == "generic" then
      body, headers = sign.generic(secret, user, id)
   else
      body, headers = sign.dingtalk(base, user, id, dingtalk_ts, dingtalk_sign)
   end
   for k, v in pairs(headers) do
      wrk.headers[k] = v
   end
   return wrk.format(nil, nil, nil, body)
end

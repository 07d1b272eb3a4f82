-- wrk script for a mid-dialogue chat turn on /hook/generic: each of USERS
-- users (default 8, more than the connections in flight so that a user's
-- messages arrive in order) answers the menu and the eligibility check
-- once (2: 投诉, then 2, 2, 1, 1), then alternates a free-text answer to
-- 企业名称 (company_name, validated like the web form, the state saved)
-- and 返回 (back to that question, the answer deleted). The first 5 x
-- USERS requests are that setup; run long enough for it not to count.
--
--   ZQ_CHAT_LUA=bench/chat_midturn.lua PROFILE_ROWS=chat_generic make profile
--   wrk -t1 -c4 -d10s -s bench/chat_midturn.lua http://127.0.0.1:PORT/hook/generic \
--       -- generic SECRET [USERS]
--
-- Signed as bench/chat_bench.lua signs (bench/chat_sign.lua); "selftest"
-- prints the same vectors.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
local sign = dofile(dir .. "chat_sign.lua")
local fmt = string.format
local secret, users
local counter = 0
local setup = {"2", "2", "2", "1", "1"}
local sent = {}

function init(args)
   if args[1] == "selftest" then
      print("sha256('abc') " .. sign.hex(sign.sha256("abc")))
      print("hmac " .. sign.hex(sign.hmac_sha256("key", "The quick brown fox jumps over the lazy dog")))
      print("long " .. sign.hex(sign.sha256(string.rep("a", 1000))))
      os.exit(0)
   end
   secret = assert(args[2], "secret missing")
   users = tonumber(args[3] or "8")
   wrk.method = "POST"
end

function request()
   counter = counter + 1
   local u = counter % users
   local n = (sent[u] or 0) + 1
   sent[u] = n
   local text
   if n <= #setup then
      text = setup[n]
   elseif (n - #setup) % 2 == 1 then
      text = "成都蓉城建材有限责任公司"
   else
      text = "返回"
   end
   local body = fmt('{"user":"mid-%d","text":"%s","id":"m%d-%d"}', u, text, os.time(), counter)
   local ts = tostring(os.time())
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["X-Zhuqi-Timestamp"] = ts
   wrk.headers["X-Zhuqi-Signature"] = "sha256=" .. sign.hex(sign.hmac_sha256(secret, ts .. "." .. body))
   return wrk.format(nil, nil, nil, body)
end

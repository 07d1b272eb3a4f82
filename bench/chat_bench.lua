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
-- first message is "2" (start the complaint); every later one is "2" too,
-- which is a wrong answer to the first question (企业名称 needs two
-- characters), so every user stays mid-flow and every request does the full
-- work of an answer that fails validation.
--
-- Generic: X-Zhuqi-Signature = sha256=hex(HMAC-SHA256(secret, ts + "." +
-- body)) is computed per request (the body carries the message id), with
-- the SHA-256 below (LuaJIT bit ops; wrk embeds LuaJIT). DingTalk: the
-- sign covers only the timestamp, so it is computed once, at start (valid
-- for an hour), and the body (with msgId) varies per request. DingTalk
-- replies are queued on outbox:prio: keep zhuqi-bot from delivering them
-- to a real address (point dingtalk_base_url at the fake platform).
--
--   wrk -s bench/chat_bench.lua http://127.0.0.1/ -- selftest
-- prints the HMAC of known vectors and exits, to check the SHA-256 here.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local bit = require("bit")
local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local rshift, lshift, ror, tobit = bit.rshift, bit.lshift, bit.ror, bit.tobit
local byte, char, rep, fmt = string.byte, string.char, string.rep, string.format

local K = {
   0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
   0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
   0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
   0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
   0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
   0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
   0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
   0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

-- SHA-256 of a string, as 32 raw bytes.
local function sha256(msg)
   local h0, h1, h2, h3 = 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a
   local h4, h5, h6, h7 = 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
   local ml = #msg
   local bits = ml * 8
   local tail = ""
   for i = 7, 0, -1 do
      tail = tail .. char(math.floor(bits / 2 ^ (8 * i)) % 256)
   end
   msg = msg .. "\128" .. rep("\0", (55 - ml) % 64) .. tail
   local w = {}
   for chunk = 1, #msg, 64 do
      for i = 0, 15 do
         local a, b, c, d = byte(msg, chunk + 4 * i, chunk + 4 * i + 3)
         w[i] = tobit(bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d))
      end
      for i = 16, 63 do
         local x, y = w[i - 15], w[i - 2]
         local s0 = bxor(ror(x, 7), ror(x, 18), rshift(x, 3))
         local s1 = bxor(ror(y, 17), ror(y, 19), rshift(y, 10))
         w[i] = tobit(w[i - 16] + s0 + w[i - 7] + s1)
      end
      local a, b, c, d, e, f, g, h = h0, h1, h2, h3, h4, h5, h6, h7
      for i = 0, 63 do
         local S1 = bxor(ror(e, 6), ror(e, 11), ror(e, 25))
         local ch = bxor(band(e, f), band(bnot(e), g))
         local t1 = tobit(h + S1 + ch + K[i + 1] + w[i])
         local S0 = bxor(ror(a, 2), ror(a, 13), ror(a, 22))
         local maj = bxor(band(a, b), band(a, c), band(b, c))
         local t2 = tobit(S0 + maj)
         h, g, f, e, d, c, b, a = g, f, e, tobit(d + t1), c, b, a, tobit(t1 + t2)
      end
      h0, h1, h2, h3 = tobit(h0 + a), tobit(h1 + b), tobit(h2 + c), tobit(h3 + d)
      h4, h5, h6, h7 = tobit(h4 + e), tobit(h5 + f), tobit(h6 + g), tobit(h7 + h)
   end
   local out = {}
   for _, v in ipairs({h0, h1, h2, h3, h4, h5, h6, h7}) do
      out[#out + 1] = char(band(rshift(v, 24), 255), band(rshift(v, 16), 255),
                           band(rshift(v, 8), 255), band(v, 255))
   end
   return table.concat(out)
end

local function hmac_sha256(key, msg)
   if #key > 64 then key = sha256(key) end
   key = key .. rep("\0", 64 - #key)
   local ipad, opad = {}, {}
   for i = 1, 64 do
      local k = byte(key, i)
      ipad[i] = char(bxor(k, 0x36))
      opad[i] = char(bxor(k, 0x5c))
   end
   return sha256(table.concat(opad) .. sha256(table.concat(ipad) .. msg))
end

local function hex(s)
   return (s:gsub(".", function(c) return fmt("%02x", byte(c)) end))
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(s)
   local out = {}
   for i = 1, #s, 3 do
      local a, b, c = byte(s, i, i + 2)
      local n = a * 65536 + (b or 0) * 256 + (c or 0)
      local q = {}
      for j = 3, 0, -1 do
         local v = math.floor(n / 64 ^ j) % 64
         q[#q + 1] = B64:sub(v + 1, v + 1)
      end
      if not b then q[3], q[4] = "=", "=" elseif not c then q[4] = "=" end
      out[#out + 1] = table.concat(q)
   end
   return table.concat(out)
end

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
      dingtalk_ts = tostring(os.time() * 1000)
      dingtalk_sign = base64(hmac_sha256(secret, dingtalk_ts .. "\n" .. secret))
   else
      error("mode must be generic, dingtalk or selftest")
   end
   tid = tonumber(wrk.thread:get("tid")) or math.random(1, 1000000)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local user = fmt("bench-%d", counter % users)
   local id = fmt("b%d-%d-%d", tid, os.time(), counter)
   local body
   if mode == "generic" then
      body = fmt('{"user":"%s-%d","text":"2","id":"%s"}', user, tid, id)
      local ts = tostring(os.time())
      wrk.headers["X-Zhuqi-Timestamp"] = ts
      wrk.headers["X-Zhuqi-Signature"] = "sha256=" .. hex(hmac_sha256(secret, ts .. "." .. body))
   else
      body = fmt('{"msgtype":"text","text":{"content":"2"},"msgId":"%s",' ..
                 '"conversationType":"1","conversationId":"cid-%s-%d",' ..
                 '"senderStaffId":"%s-%d","sessionWebhook":"%s/session/%s-%d",' ..
                 '"sessionWebhookExpiredTime":%d}',
                 id, user, tid, user, tid, base, user, tid, (os.time() + 3600) * 1000)
      wrk.headers["timestamp"] = dingtalk_ts
      wrk.headers["sign"] = dingtalk_sign
   end
   return wrk.format(nil, nil, nil, body)
end

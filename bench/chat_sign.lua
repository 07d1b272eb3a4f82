-- Signing for the chat webhooks, shared by bench/chat_bench.lua and
-- bench/soak.lua: SHA-256 and HMAC-SHA256 in LuaJIT bit ops (wrk embeds
-- LuaJIT), hex and base64, and the two signed messages the benches send.
--
--   local sign = dofile(dir .. "chat_sign.lua")
--   local body, headers = sign.generic(secret, user, id)
--   local ts, s = sign.dingtalk_sign(app_secret)       -- valid for an hour
--   local body, headers = sign.dingtalk(base, user, id, ts, s)
--
-- Both messages are the text "2" (start a complaint, or, mid-flow, answer 2
-- to a question of its eligibility check).

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

-- A generic webhook message from user with message id and text (default
-- "2"; inserted as is: no quote or backslash in it): the body and the
-- X-Zhuqi-Timestamp / X-Zhuqi-Signature headers ([generic] secret).
local function generic(secret, user, id, text)
   local body = fmt('{"user":"%s","text":"%s","id":"%s"}', user, text or "2", id)
   local ts = tostring(os.time())
   return body, {
      ["Content-Type"] = "application/json",
      ["X-Zhuqi-Timestamp"] = ts,
      ["X-Zhuqi-Signature"] = "sha256=" .. hex(hmac_sha256(secret, ts .. "." .. body)),
   }
end

-- DingTalk's sign of timestamp ts (ms, a string): base64(HMAC-SHA256(
-- app_secret, ts + "\n" + app_secret)).
local function dingtalk_sign_at(app_secret, ts)
   return base64(hmac_sha256(app_secret, ts .. "\n" .. app_secret))
end

-- DingTalk's sign covers only the timestamp (ms): ts, sign for now.
local function dingtalk_sign(app_secret)
   local ts = tostring(os.time() * 1000)
   return ts, dingtalk_sign_at(app_secret, ts)
end

-- A DingTalk robot text message from user with message id and text (as
-- generic's); replies go to base .. "/session/" .. user (point base at the
-- fake platform).
local function dingtalk(base, user, id, ts, sign, text)
   local body = fmt('{"msgtype":"text","text":{"content":"%s"},"msgId":"%s",' ..
                    '"conversationType":"1","conversationId":"cid-%s",' ..
                    '"senderStaffId":"%s","sessionWebhook":"%s/session/%s",' ..
                    '"sessionWebhookExpiredTime":%d}',
                    text or "2", id, user, user, base, user, (os.time() + 3600) * 1000)
   return body, {["Content-Type"] = "application/json", ["timestamp"] = ts, ["sign"] = sign}
end

return {
   sha256 = sha256, hmac_sha256 = hmac_sha256, hex = hex, base64 = base64,
   generic = generic, dingtalk_sign = dingtalk_sign, dingtalk_sign_at = dingtalk_sign_at,
   dingtalk = dingtalk,
}

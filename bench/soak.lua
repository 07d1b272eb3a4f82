-- wrk script of the soak (bench/soak.py): a fixed mix of requests, paced to
-- a target rate, with every answer counted per kind.
--
--   wrk -tN -cN -d600s -s bench/soak.lua http://127.0.0.1:PORT/ -- MIXFILE N
--
-- MIXFILE is a Lua file written by bench/soak.py that returns
--   { rate = R,            -- requests/s of the whole run; 0: full speed
--     kinds = { { kind = "ping", weight = 10,
--                 variants = { { method = "GET", path = "/api/ping",
--                                headers = {...}, body = "..." }, ... } },
--               { kind = "chat_generic", weight = 20, gen = "generic" },
--               { kind = "chat_dingtalk", weight = 5, gen = "dingtalk" }, ... },
--     generic_secret = "...", dingtalk_secret = "...", dingtalk_base = "...",
--     users = 256 }
-- A static kind cycles through its variants (pre-formatted once); a "gen"
-- kind is built per request: a signed chat message with a new message id
-- (bench/chat_sign.lua).
--
-- Run with as many threads as connections (-tN -cN), and N again after
-- MIXFILE (the per-thread rate is R/N): each thread then has
-- exactly one request in flight at a time, so response() knows the kind
-- of the answer it is given. Each thread sends R/N requests a second on an
-- absolute schedule (delay() waits for the next slot; a thread behind
-- schedule sends at once and counts the lag), and picks kinds from a
-- shuffled cycle of the weights, so the mix is exact over every cycle.
--
-- At the end it prints wrk's "BENCH_JSON {...}" line (bench/report.lua)
-- and one "SOAK_JSON {...}" line per thread: per kind sent, answered,
-- statuses (non-2xx by status), a latency histogram (bucket -> count; see
-- bucket()); the kind in flight when wrk stopped (false: none); and how
-- late the thread ran behind its schedule.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
local bench_done = done
local sign = dofile(dir .. "chat_sign.lua")
local ffi = require("ffi")
local fmt, floor = string.format, math.floor

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } zq_soak_timespec;
int clock_gettime(int clk, zq_soak_timespec *tp);
]]
local ts_buf = ffi.new("zq_soak_timespec")

local function now_us()
   ffi.C.clock_gettime(1, ts_buf) -- CLOCK_MONOTONIC
   return tonumber(ts_buf.tv_sec) * 1000000 + floor(tonumber(ts_buf.tv_nsec) / 1000)
end

-- Latency histogram buckets: 50 us wide below 10 ms, 1 ms wide below
-- 10 s, one bucket beyond. bench/soak.py's bucket_upper_us() inverts it.
local function bucket(us)
   if us < 10000 then
      return floor(us / 50)
   elseif us < 10000000 then
      return 200 + floor((us - 10000) / 1000)
   end
   return 10190
end

local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
   thread:set("tid", #threads)
end

-- Per thread: what done() prints. wrk's thread:get cannot copy tables
-- safely (its table copy pops one slot too many), so done() reads the
-- global soak_stats, which the metatable of _G (below) makes a JSON
-- string on demand.
local sent, answered, statuses, hist = {}, {}, {}, {}
local inflight_kind = false -- the kind of the request in flight, false when none
local late, max_lag_us = 0, 0

local mix, cycle, pos, tid
local interval_us, next_us = 0, nil
local current_start = 0
local counter = 0
local dt_n = 0 -- DingTalk messages built on this thread
-- wrk calls request() once on the first thread to check the request
-- before the run; delay() runs before every real request.
local running = false

function init(args)
   local path = assert(args[1], "usage: -- MIXFILE")
   mix = dofile(path)
   tid = tonumber(wrk.thread:get("tid")) or 1
   local n = tonumber(args[2]) or 1 -- threads of the run, for the per-thread rate
   if mix.rate and mix.rate > 0 then
      interval_us = n * 1000000 / mix.rate
   end
   -- Pre-format the static requests; build the weighted cycle.
   cycle = {}
   for _, k in ipairs(mix.kinds) do
      sent[k.kind], answered[k.kind], statuses[k.kind], hist[k.kind] = 0, 0, {}, {}
      if k.variants then
         k.reqs = {}
         for i, v in ipairs(k.variants) do
            local h = {}
            for name, value in pairs(v.headers or {}) do
               h[name] = value
            end
            k.reqs[i] = wrk.format(v.method, v.path, h, v.body)
         end
         k.next = (tid - 1) % #k.reqs + 1
      end
      for _ = 1, k.weight do
         cycle[#cycle + 1] = k
      end
   end
   math.randomseed(tid * 7919)
   for i = #cycle, 2, -1 do
      local j = math.random(1, i)
      cycle[i], cycle[j] = cycle[j], cycle[i]
   end
   pos = (tid * 13) % #cycle
end

function delay()
   running = true
   if interval_us == 0 then
      return 0
   end
   local now = now_us()
   if next_us == nil then
      -- Spread the threads' first slots over one interval.
      next_us = now + floor(interval_us * math.random())
   end
   local wait = next_us - now
   next_us = next_us + interval_us
   if wait <= 0 then
      if -wait > 10000 then
         late = late + 1
      end
      if -wait > max_lag_us then
         max_lag_us = -wait
      end
      return 0
   end
   return floor(wait / 1000)
end

local function build(k)
   counter = counter + 1
   local user = fmt("soak-%d-%d", counter % (mix.users or 256), tid)
   local id = fmt("s%d-%d-%d", tid, os.time(), counter)
   local body, headers
   if k.gen == "generic" then
      body, headers = sign.generic(mix.generic_secret, user, id)
      return wrk.format("POST", "/hook/generic", headers, body)
   end
   -- DingTalk: the sign covers the timestamp only, and zhuqi takes a
   -- timestamp/sign pair with one message only: a timestamp of its own
   -- per message, thread t's n-th at base + n * stride + t - 1, the base
   -- (past every earlier run's) from bench/soak.py's MIXFILE.
   local ts = fmt("%.0f", mix.dingtalk_ts_base + dt_n * mix.dingtalk_ts_stride + tid - 1)
   dt_n = dt_n + 1
   body, headers = sign.dingtalk(mix.dingtalk_base, user, id, ts,
                                 sign.dingtalk_sign_at(mix.dingtalk_secret, ts))
   return wrk.format("POST", "/hook/dingtalk", headers, body)
end

function request()
   pos = pos % #cycle + 1
   local k = cycle[pos]
   local req
   if k.gen then
      req = build(k)
   else
      req = k.reqs[k.next]
      k.next = k.next % #k.reqs + 1
   end
   if not running then
      return req
   end
   sent[k.kind] = sent[k.kind] + 1
   inflight_kind = k.kind
   current_start = now_us()
   return req
end

function response(status, headers, body)
   local kind = inflight_kind
   if not kind then
      return
   end
   inflight_kind = false
   answered[kind] = answered[kind] + 1
   if status < 200 or status > 299 then
      local s = tostring(status)
      statuses[kind][s] = (statuses[kind][s] or 0) + 1
   end
   local b = bucket(now_us() - current_start)
   hist[kind][b] = (hist[kind][b] or 0) + 1
end

-- Minimal JSON for tables of tables of numbers with string or number keys.
local function json(v)
   if type(v) == "table" then
      local out = {}
      for key, val in pairs(v) do
         out[#out + 1] = fmt("%q:%s", tostring(key), json(val))
      end
      return "{" .. table.concat(out, ",") .. "}"
   elseif type(v) == "number" then
      return fmt("%d", v)
   elseif type(v) == "string" then
      return fmt("%q", v)
   end
   return v and "true" or "false"
end

setmetatable(_G, {__index = function(_, name)
   if name == "soak_stats" then
      return json({sent = sent, answered = answered, statuses = statuses, hist = hist,
                   inflight = inflight_kind, late = late, max_lag_us = max_lag_us})
   end
end})

function done(summary, latency, requests)
   bench_done(summary, latency, requests)
   for _, t in ipairs(threads) do
      io.write("SOAK_JSON " .. t:get("soak_stats") .. "\n")
   end
end

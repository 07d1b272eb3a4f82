-- POST /api/sms/code for wrk, a new mobile number on every request (the
-- per-number limits never bite; bench/sms_bench.py turns the per-client
-- and daily limits off). Arguments after "--": COOKIE CSRF.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local threads = 0

function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

function init(args)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Cookie"] = args[1]
   wrk.headers["X-CSRF-Token"] = args[2]
   n = 0
end

function request()
   n = n + 1
   local body = string.format('{"mobile":"13%d%08d","purpose":"lookup"}', tid % 10, n)
   return wrk.format(nil, nil, nil, body)
end

-- One fixed request for wrk, built once per thread (no request() function,
-- so wrk sends a pre-formatted request and the script costs nothing per
-- request). Arguments after "--":
--   METHOD BODYFILE [HEADER ...]
-- BODYFILE is a file whose bytes are the body, or "-" for none; each
-- HEADER is "Name: value". Used by bench/run.py for the rows that need a
-- body, a cookie or a token.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

function init(args)
   wrk.method = args[1] or "GET"
   local path = args[2]
   if path ~= nil and path ~= "-" then
      local f = assert(io.open(path, "rb"))
      wrk.body = f:read("*a")
      f:close()
   end
   wrk.headers = wrk.headers or {}
   for i = 3, #args do
      local name, value = args[i]:match("^([^:]+):%s*(.*)$")
      assert(name, "bad header argument: " .. args[i])
      wrk.headers[name] = value
   end
end

-- A fixed batch through wrk (benchmarks/versus_kannel.py): every thread sends its share of requests once, notes
-- when its first request left and its last answer came (CLOCK_MONOTONIC through LuaJIT's ffi: wrk's own rate
-- divides by the whole -d duration, not by the batch), writes done-<thread>.json and stops.
--
--   wrk -t T -c C -d <ceiling> -s batch.lua URL -- <mode> <dir> <share> <host> [<prefix> <suffix>]
-- mode "signed":  <dir>/requests-<thread>.tsv, one prepared POST per line: x-ms-date, x-ms-content-sha256,
--                 Authorization, body (tab-separated); each is sent once (smsgrid refuses a replayed signature).
-- mode "kannel":  GET <prefix><tag><suffix>, the tag unique per request (it names the message in its dlr-url).
-- mode "ping":    GET the URL's path.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local now_ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
  return tonumber(now_ts.tv_sec) + tonumber(now_ts.tv_nsec) * 1e-9
end

local next_thread = 0
function setup(thread)
  thread:set("id", next_thread)
  next_thread = next_thread + 1
end

local requests, dir, share
local sent, answered, ok, first_at, last_at = 0, 0, 0, 0, 0
local statuses = {}

function init(args)
  local mode, host = args[1], args[4]
  dir, share = args[2], tonumber(args[3])
  requests = {}
  if mode == "signed" then
    local path = wrk.path
    for line in io.lines(dir .. "/requests-" .. id .. ".tsv") do
      local date, hash, auth, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", path, {
        ["Host"] = host,
        ["Content-Type"] = "application/json",
        ["x-ms-date"] = date,
        ["x-ms-content-sha256"] = hash,
        ["Authorization"] = auth,
      }, body)
    end
  elseif mode == "kannel" then
    local prefix, suffix = args[5], args[6]
    -- The share plus one request per connection: those left in flight when the thread stops.
    for n = 1, share + 1024 do
      requests[n] = wrk.format("GET", prefix .. "t" .. id .. "-" .. n .. suffix, { ["Host"] = host })
    end
  else
    requests[1] = wrk.format("GET", wrk.path, { ["Host"] = host })
  end
end

function request()
  if sent == 0 then
    first_at = now()
  end
  sent = sent + 1
  return requests[sent] or requests[#requests]
end

function response(status, headers, body)
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 200 and status < 300 then
    ok = ok + 1
  end
  if answered == share then
    last_at = now()
    local parts = {}
    for code, count in pairs(statuses) do
      parts[#parts + 1] = string.format('"%d": %d', code, count)
    end
    local out = io.open(dir .. "/done-" .. id .. ".json", "w")
    out:write(string.format('{"thread": %d, "answered": %d, "ok": %d, "first_at": %.6f, "last_at": %.6f, ' ..
      '"statuses": {%s}}', id, answered, ok, first_at, last_at, table.concat(parts, ", ")))
    out:close()
    wrk.thread:stop()
  end
end

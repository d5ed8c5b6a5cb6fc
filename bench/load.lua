-- The request mix of bench/bench_load.py, for wrk 4 (LuaJIT). Not meant to be run by hand.
--
--   wrk ... -s bench/load.lua URL -- TAG KEY FARM_PORT CACHED_PCT UNCACHED_PCT OUT_DIR
--
-- Each request is drawn at random: CACHED_PCT% a GET of one of the 7 statistics (6 top lists and
-- the summary, served from the cache when an entry is there), UNCACHED_PCT% the same with
-- ?cache=false (recomputed from the database), the rest POST /urls/ with a URL never sent before
-- (thread id + counter; a distinct 127.x.y.z host of the farm's address space, so the compute can
-- probe it) and the bench's API key.
--
-- response() cannot know which request an answer belongs to (a thread serves many connections, and
-- wrk hands over no connection), so what was SENT is counted per kind in request(), and ANSWERS
-- are counted per status and per what they say they are: a `cached: true` or `cached: false`
-- header is a statistic, a 201 (`Location`) or a 409 (`id` of the existing monitor) is a POST,
-- anything else is "other" (its first bodies are kept as samples). The monitor id of each 201 is
-- written to OUT_DIR/created-TAG-THREAD.txt, so the bench can look every one up in the database.
--
-- Latency: wrk's own figures (done()'s `latency`) are corrected for coordinated omission (wrk's
-- stats_correct adds a synthetic sample for each expected interval a slow answer held a connection
-- up), so they describe a client sending at a steady rate, not the requests actually made. The
-- POSTs are also timed here as they were made: a 201 echoes the URL, whose counter finds the
-- request's start (a monotonic clock read through LuaJIT's ffi, just before wrk starts its own).
--
-- done() runs in the main thread only: the threads are kept by setup() and read with thread:get.
-- It prints lines starting with "load " for the bench to parse; latencies are in microseconds.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_load_timespec;
  int clock_gettime(int clock, bench_load_timespec *ts);
]]
local timespec = ffi.new("bench_load_timespec")
local CLOCK_MONOTONIC = 1

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1e6 + tonumber(timespec.tv_nsec) / 1e3
end

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local PATHS = {
  "/urls/top/success/hour", "/urls/top/success/week", "/urls/top/success/month",
  "/urls/top/fail/hour", "/urls/top/fail/week", "/urls/top/fail/month",
  "/urls/summary",
}
local MAX_SAMPLES = 5 -- bodies of unexpected answers kept per thread

function init(args)
  tag, key, port, out_dir = args[1], args[2], args[3], args[6]
  cached_pct, uncached_pct = tonumber(args[4]), tonumber(args[5])
  sent = { cached = 0, uncached = 0, post = 0 }
  answers = {} -- "class status" -> count
  samples = {} -- "status body" of unexpected answers, at most MAX_SAMPLES
  posts = 0
  post_started = {} -- counter -> start, microseconds; removed when its answer comes
  post_us = {} -- latency of each POST answered 201, microseconds
  math.randomseed(os.time() * 100 + tid)
  created = io.open(string.format("%s/created-%s-%d.txt", out_dir, tag, tid), "w")
  created:setvbuf("line") -- a write per 201: a few thousand a second at most
  post_headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }
end

function request()
  local roll = math.random(100)
  if roll <= cached_pct then
    sent.cached = sent.cached + 1
    return wrk.format("GET", PATHS[math.random(#PATHS)])
  elseif roll <= cached_pct + uncached_pct then
    sent.uncached = sent.uncached + 1
    return wrk.format("GET", PATHS[math.random(#PATHS)] .. "?cache=false")
  end
  sent.post = sent.post + 1
  posts = posts + 1
  -- 127.128.0.0 and up, a /16 per thread (then the next ones): the seeded monitors use 127.1-127.x.
  local host = string.format(
    "127.%d.%d.%d", 128 + (tid * 8 + math.floor(posts / 65536)) % 120,
    math.floor(posts / 256) % 256, posts % 256)
  local name = string.format("load %s-%d-%d", tag, tid, posts)
  local body = string.format('{"name":"%s","url":"http://%s:%s/ok/%s-%d-%d"}',
    name, host, port, tag, tid, posts)
  post_started[posts] = now_us()
  return wrk.format("POST", "/urls/", post_headers, body)
end

local function count(class, status)
  local k = class .. " " .. status
  answers[k] = (answers[k] or 0) + 1
end

function response(status, headers, body)
  local cached, location = nil, nil
  for name, value in pairs(headers) do
    local lower = string.lower(name)
    if lower == "cached" then cached = value elseif lower == "location" then location = value end
  end
  if cached == "true" then
    count("get-cached", status)
  elseif cached == "false" then
    count("get-computed", status)
  elseif status == 201 and location then
    count("post", status)
    created:write(string.match(location, "(%d+)$") or "?", "\n")
    local n = tonumber(string.match(body, "/ok/[^/\"]-%-%d+%-(%d+)\""))
    if n and post_started[n] then
      table.insert(post_us, now_us() - post_started[n])
      post_started[n] = nil
    end
  elseif status == 409 and string.find(body, '"id"', 1, true) then
    count("post", status)
  else
    count("other", status)
  end
  if (status < 200 or status > 299) and status ~= 409 and #samples < MAX_SAMPLES then
    table.insert(samples, status .. " " .. string.gsub(string.sub(body, 1, 300), "%s+", " "))
  end
end

function done(summary, latency, requests)
  local totals = { cached = 0, uncached = 0, post = 0 }
  local classes = {}
  local posts_us = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("sent")
    for k, v in pairs(s) do totals[k] = totals[k] + v end
    for k, v in pairs(thread:get("answers")) do classes[k] = (classes[k] or 0) + v end
    for _, sample in ipairs(thread:get("samples")) do io.write("load sample ", sample, "\n") end
    for _, us in ipairs(thread:get("post_us")) do table.insert(posts_us, us) end
  end
  for k, v in pairs(totals) do io.write(string.format("load sent %s %d\n", k, v)) end
  for k, v in pairs(classes) do io.write(string.format("load answers %s %d\n", k, v)) end
  local e = summary.errors
  io.write(string.format(
    "load summary requests %d duration_us %d connect %d read %d write %d status %d timeout %d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout))
  io.write(string.format(
    "load latency_us mean %.0f p50 %d p75 %d p90 %d p99 %d p99.9 %d max %d\n",
    latency.mean, latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max))
  table.sort(posts_us)
  local function pct(p) -- nearest rank
    if #posts_us == 0 then return -1 end
    return posts_us[math.max(1, math.ceil(p / 100 * #posts_us))]
  end
  io.write(string.format(
    "load post_latency_us n %d p50 %.0f p90 %.0f p99 %.0f p99.9 %.0f max %.0f\n",
    #posts_us, pct(50), pct(90), pct(99), pct(99.9), pct(100)))
end

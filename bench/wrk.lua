-- wrk.lua - the request mix for `make bench`: POST /ping with a valid body and
-- a key chosen by BENCH_MODE (one | distinct | random over BENCH_KEYS keys).
local mode   = os.getenv("BENCH_MODE") or "one"
local nkeys  = tonumber(os.getenv("BENCH_KEYS") or "1") or 1
local body   = '{"request":"ping"}'
local host   = nil
local n      = 0

wrk.method = "POST"
wrk.body   = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-secret-key"] = "bench-one"

local counter = 1
function setup(thread)
	-- Distinct keys stay distinct across threads and across rounds.
	thread:set("prefix", string.format("t%d-%d-", counter, os.time()))
	counter = counter + 1
end

function init(args)
	-- prefix is the global setup() gave this thread.
	prefix = prefix or "t0-"
	math.randomseed(os.time() + (tonumber(string.match(prefix, "%d+")) or 0))
	host = wrk.headers["Host"]
end

function request()
	if mode == "one" then
		return wrk.format()
	end
	local key
	n = n + 1
	if mode == "distinct" then
		key = prefix .. n
	else
		-- The same key names bench/prefill writes: "k0" .. "k<N-1>".
		key = "k" .. math.random(0, nkeys - 1)
	end
	return wrk.format(nil, nil, {
		["Host"] = host,
		["Content-Type"] = "application/json",
		["x-secret-key"] = key,
	}, body)
end

function done(summary, latency, requests)
	local secs = summary.duration / 1e6
	local e = summary.errors
	io.write(string.format(
		"RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d non2xx=%d sockerr=%d\n",
		summary.requests / secs, latency:percentile(50), latency:percentile(99),
		summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end

-- decide.lua - one rate-limit decision on Redis, the same sliding windows as
-- src/limiter.c: prune, decide both limits, record `now` only on admission.
--
-- KEYS[1] the key's window, KEYS[2] the global window (one hash tag, so the
-- script is legal on Redis Cluster). ARGV: key limit, key window ms, global
-- limit, global window ms. `now` (ms since the epoch) is defined by the
-- prelude the caller prepends: Redis TIME in production (store_redis.c),
-- a test-supplied time only in the differential test's own copy.
--
-- A window is a list of admission times, oldest first. After load() it is
-- sorted, every entry is live and none lies after now, so the figures
-- limiter.c finds by walking buckets are single LINDEXes here: a window
-- that had room holds at most `limit` entries after an admission.
--
-- Returns {now, admit, rewrite, key used, reset, retry, age,
--          global used, reset, retry, age}; retry and age are 0 unless full.

local function num(x)
	return tonumber(x)
end

-- Brings a window to the invariant above; returns its length and whether it
-- had to be rewritten (entries after now: a clock stepped back).
local function load(k, win)
	local n = redis.call('LLEN', k)
	if n == 0 then
		return 0, false
	end
	if num(redis.call('LINDEX', k, -1)) > now then
		-- Future entries count as now (limiter.c's rule), so a key is never
		-- locked out for longer than its window.
		local all = redis.call('LRANGE', k, 0, -1)
		local keep = {}
		for i = 1, #all do
			local t = num(all[i])
			if t > now then t = now end
			if t > now - win then keep[#keep + 1] = t end
		end
		redis.call('DEL', k)
		local i = 1
		while i <= #keep do
			local j = math.min(i + 999, #keep)
			local chunk = {}
			for m = i, j do chunk[#chunk + 1] = string.format('%.0f', keep[m]) end
			redis.call('RPUSH', k, unpack(chunk))
			i = j + 1
		end
		if #keep > 0 then
			redis.call('PEXPIRE', k, win)
		end
		return #keep, true
	end
	-- Expired entries leave from the head; each is popped once.
	while n > 0 and num(redis.call('LINDEX', k, 0)) <= now - win do
		redis.call('LPOP', k)
		n = n - 1
	end
	return n, false
end

-- used, reset, retry, age of a loaded window of n entries.
local function inspect(k, n, limit, win)
	if n == 0 then
		return 0, 0, 0, 0
	end
	local reset = num(redis.call('LINDEX', k, 0)) + win - now
	if n < limit then
		return n, reset, 0, 0
	end
	-- Room returns when the (n - limit + 1)-th oldest expires; the window
	-- filled at the limit-th oldest.
	local retry = num(redis.call('LINDEX', k, n - limit)) + win - now
	local age = now - num(redis.call('LINDEX', k, limit - 1))
	return n, reset, retry, age
end

local kl, kw = num(ARGV[1]), num(ARGV[2])
local gl, gw = num(ARGV[3]), num(ARGV[4])

local kn, krw = load(KEYS[1], kw)
local gn, grw = load(KEYS[2], gw)
local admit = kn < kl and gn < gl
if admit then
	-- As an integer string: Lua numbers are doubles.
	local t = string.format('%.0f', now)
	redis.call('RPUSH', KEYS[1], t)
	redis.call('PEXPIRE', KEYS[1], kw)
	redis.call('RPUSH', KEYS[2], t)
	redis.call('PEXPIRE', KEYS[2], gw)
	kn = kn + 1
	gn = gn + 1
end
local ku, kr, kt, ka = inspect(KEYS[1], kn, kl, kw)
local gu, gr, gt, ga = inspect(KEYS[2], gn, gl, gw)
return {now, admit and 1 or 0, (krw or grw) and 1 or 0,
	ku, kr, kt, ka, gu, gr, gt, ga}

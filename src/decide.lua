-- decide.lua - one rate-limit decision on Redis, the same sliding windows as
-- src/limiter.c: prune, decide both limits, record `now` only on admission.
--
-- KEYS[1] the key's window, KEYS[2] the global window (one hash tag, so the
-- script is legal on Redis Cluster). ARGV: key limit, key window ms, global
-- limit, global window ms. `now` (ms since the epoch) is defined by the
-- prelude the caller prepends: Redis TIME in production (store_redis.c),
-- a test-supplied time only in the differential test's own copy. The
-- prelude also sets `ttl_extra` (ms added to every PEXPIRE): 0 in
-- production; the test's fake times run apart from Redis's own expiry.
--
-- A window is a list of admission times, oldest first, always sorted. As in
-- limiter.c, a refusal changes nothing (not even expired entries: a clock
-- stepped back must see what limiter.c sees); an admission drops the
-- expired prefix and appends now; a window holding times after now (a
-- clock stepped back) is rewritten clamped to now, admitted or not. The
-- figures limiter.c finds by walking buckets are single LINDEXes here, and
-- a window that had room holds at most `limit` live entries afterwards.
--
-- Returns {now, admit, rewrite, key used, reset, retry, age,
--          global used, reset, retry, age}; retry and age are 0 unless full.

local function num(x)
	return tonumber(x)
end

-- Future entries count as now (limiter.c's rule), so a key is never locked
-- out for longer than its window.
local function at(k, i)
	return math.min(num(redis.call('LINDEX', k, i)), now)
end

-- A window's length, its expired prefix and whether it holds future times.
local function scan(k, win)
	local n = redis.call('LLEN', k)
	if n == 0 then
		return 0, 0, false
	end
	local future = num(redis.call('LINDEX', k, -1)) > now
	local dead = 0
	while dead < n and at(k, dead) <= now - win do
		dead = dead + 1
	end
	return n, dead, future
end

-- Drops the expired prefix and clamps future times; returns the new length.
local function compact(k, win, n, dead, future)
	if n == 0 then
		return 0
	end
	if future then
		local all = redis.call('LRANGE', k, dead, -1)
		redis.call('DEL', k)
		local i = 1
		while i <= #all do
			local j = math.min(i + 999, #all)
			local chunk = {}
			for m = i, j do
				chunk[#chunk + 1] = string.format('%.0f', math.min(num(all[m]), now))
			end
			redis.call('RPUSH', k, unpack(chunk))
			i = j + 1
		end
		if #all > 0 then
			redis.call('PEXPIRE', k, win + ttl_extra)
		end
	elseif dead == n then
		redis.call('DEL', k)
	elseif dead > 0 then
		redis.call('LTRIM', k, dead, -1)
	end
	return n - dead
end

-- used, reset, retry, age of the live entries k[off .. off + used - 1].
local function inspect(k, off, used, limit, win)
	if used == 0 then
		return 0, 0, 0, 0
	end
	local reset = at(k, off) + win - now
	if used < limit then
		return used, reset, 0, 0
	end
	-- Room returns when the (used - limit + 1)-th oldest expires; the
	-- window filled at the limit-th oldest.
	local retry = at(k, off + used - limit) + win - now
	local age = now - at(k, off + limit - 1)
	return used, reset, retry, age
end

local kl, kw = num(ARGV[1]), num(ARGV[2])
local gl, gw = num(ARGV[3]), num(ARGV[4])

local kn, kdead, kfut = scan(KEYS[1], kw)
local gn, gdead, gfut = scan(KEYS[2], gw)
local admit = kn - kdead < kl and gn - gdead < gl
local rewrite = kfut or gfut
local koff, goff = kdead, gdead
if rewrite then
	kn = compact(KEYS[1], kw, kn, kdead, kfut)
	gn = compact(KEYS[2], gw, gn, gdead, gfut)
	koff, goff = 0, 0
end
if admit then
	-- As an integer string: Lua numbers are doubles. RPUSH is the first
	-- write: under maxmemory + noeviction it fails before anything changed
	-- (once a script has written, Redis lets it go on writing).
	local t = string.format('%.0f', now)
	redis.call('RPUSH', KEYS[1], t)
	redis.call('RPUSH', KEYS[2], t)
	if koff > 0 then
		redis.call('LTRIM', KEYS[1], koff, -1)
	end
	if goff > 0 then
		redis.call('LTRIM', KEYS[2], goff, -1)
	end
	redis.call('PEXPIRE', KEYS[1], kw + ttl_extra)
	redis.call('PEXPIRE', KEYS[2], gw + ttl_extra)
	kn = kn - koff + 1
	gn = gn - goff + 1
	koff, goff = 0, 0
end
local ku, kr, kt, ka = inspect(KEYS[1], koff, kn - koff, kl, kw)
local gu, gr, gt, ga = inspect(KEYS[2], goff, gn - goff, gl, gw)
return {now, admit and 1 or 0, rewrite and 1 or 0,
	ku, kr, kt, ka, gu, gr, gt, ga}

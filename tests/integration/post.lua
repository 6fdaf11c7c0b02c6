-- post.lua - wrk script: POST /ping with a JSON ping. PP_WRK_KEY is the key;
-- with PP_WRK_DISTINCT=1 every request carries a key of its own.
local key = os.getenv("PP_WRK_KEY") or "wrk-key"
local distinct = os.getenv("PP_WRK_DISTINCT") == "1"

wrk.method = "POST"
wrk.path = "/ping"
wrk.body = '{"request":"ping"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-secret-key"] = key

local threads = 0
function setup(thread)
	threads = threads + 1
	thread:set("thread_id", threads)
end

if distinct then
	local n = 0
	function request()
		n = n + 1
		wrk.headers["x-secret-key"] = key .. "-" .. tostring(thread_id or 0) .. "-" .. n
		return wrk.format()
	end
end

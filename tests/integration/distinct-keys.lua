-- wrk script: POST /ping with a new key on every request (a key flood).
local n = 0
local tag = tostring(math.random(1, 1000000000))
request = function()
	n = n + 1
	return wrk.format("POST", "/ping", {
		["Host"] = "localhost",
		["Content-Type"] = "application/json",
		["x-secret-key"] = "flood-" .. tag .. "-" .. n,
	}, '{"request":"ping"}')
end

#!/bin/bash
# noquota.sh - invalid requests and refusals consume no quota, per key or
# global: after a flood of them, exactly the limits' worth of pings pass.
. "$(dirname "$0")/../lib.sh"
pp_setup
pp_start_server per_key_limit=2 per_key_window=60s global_limit=3 global_window=60s

JSON='Content-Type: application/json'
head -c 5000 /dev/zero | tr '\0' ' ' >"$PP_TMP/big"
invalid_round() { # KEY: one of each invalid request, each checked
	local k=$1
	pp_request POST /ping -H "$JSON" -H "x-secret-key: $k" --data-binary '{"request":'
	pp_expect_status 400
	pp_request POST /ping -H "$JSON" -H "x-secret-key: $k" --data-binary '{"request":"pong"}'
	pp_expect_status 400
	pp_request POST /ping -H "$JSON" -H "x-secret-key: $k" --data-binary '[]'
	pp_expect_status 400
	pp_request POST /ping -H 'Content-Type: text/plain' -H "x-secret-key: $k" --data-binary '{"request":"ping"}'
	pp_expect_status 415
	pp_request POST /ping -H "$JSON" -H "x-secret-key: $k" --data-binary "@$PP_TMP/big"
	pp_expect_status 413
	pp_request GET /ping -H "x-secret-key: $k"
	pp_expect_status 405
	pp_request POST /ping/ -H "$JSON" -H "x-secret-key: $k" --data-binary '{"request":"ping"}'
	pp_expect_status 404
}
for i in 1 2 3; do invalid_round nq-a; invalid_round "nq-other-$i"; done
pp_request POST /ping -H "$JSON" --data-binary '{"request":"ping"}'
pp_expect_status 400

# Per key: exactly 2 pass.
pp_ping nq-a; pp_expect_status 200
pp_ping nq-a; pp_expect_status 200
pp_ping nq-a; pp_expect_status 429
pp_expect_json .limit '"per-key"'
# Refusals record nothing either: more of them, then the global window still
# has exactly one place left.
for i in 1 2 3 4 5; do pp_ping nq-a; pp_expect_status 429; done
invalid_round nq-b
pp_ping nq-b; pp_expect_status 200
pp_ping nq-c; pp_expect_status 429
pp_expect_json .limit '"global"'
pp_done

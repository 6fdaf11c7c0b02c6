#!/bin/bash
# api.sh - every row of SPEC's API table through nginx and real workers, with
# exact bodies and headers: pong, 429 per-key and global with RateLimit-Policy,
# RateLimit and Retry-After, the error rows, and Retry-After being exact.
# Windows are long where only formats are checked, so a loaded machine (slow
# requests) cannot let a window expire mid-check.
. "$(dirname "$0")/lib.sh"
pp_setup

MSG='"You have exceeded your request-limits."'
# rl_field NAME PARAM: the PARAM of item NAME in the last RateLimit header.
rl_field() {
	pp_header RateLimit | tr ',' '\n' | grep -F "\"$1\"" | tr ';' '\n' | sed -n "s/^ *$2=//p"
}
T10='([1-9]|10)' # whole seconds left of a 10 s window, rounded up

# --- A. 200 and 429 per-key: bodies and quota headers ----------------------------
pp_start_server per_key_limit=3 per_key_window=10s global_limit=100 global_window=10s
pp_ping api-key-1
pp_expect_status 200
pp_expect_api_framing
pp_expect_json . '{"response":"pong"}'
pp_expect_header RateLimit-Policy '"per-key";q=3;w=10, "global";q=100;w=10'
pp_expect_header RateLimit "\"per-key\";r=2;t=$T10, \"global\";r=99;t=$T10"
pp_expect_no_header Retry-After
pp_ping api-key-1
pp_expect_status 200
pp_expect_header RateLimit "\"per-key\";r=1;t=$T10, \"global\";r=98;t=$T10"
pp_ping api-key-1
pp_expect_status 200
pp_expect_header RateLimit "\"per-key\";r=0;t=$T10, \"global\";r=97;t=$T10"

pp_ping api-key-1
pp_expect_status 429
pp_expect_api_framing
pp_expect_json '.message' "$MSG"
pp_expect_json '.limit' '"per-key"'
pp_expect_json 'keys' '["limit","message","retry_after","throttle_age"]'
pp_expect_json_ok '(.retry_after | type == "number") and .retry_after > 0 and .retry_after <= 10'
pp_expect_json_ok '(.throttle_age | type == "number") and .throttle_age == (.throttle_age | floor) and .throttle_age >= 0 and .throttle_age < 10'
pp_expect_header Retry-After "$T10"
pp_expect_header RateLimit-Policy '"per-key";q=3;w=10, "global";q=100;w=10'
pp_expect_header RateLimit "\"per-key\";r=0;t=$T10, \"global\";r=97;t=$T10"
ra=$(pp_header Retry-After)
want_ra=$(jq -r '.retry_after | ceil' "$PP_BODY")
[ "$ra" = "$want_ra" ] || pp_fail "Retry-After $ra is not ceil(retry_after $(jq .retry_after "$PP_BODY")) = $want_ra"
[ "$(rl_field per-key t)" = "$ra" ] || pp_fail "RateLimit per-key t=$(rl_field per-key t), Retry-After $ra"
# Another key is not throttled by this one.
pp_ping api-key-2
pp_expect_status 200
pp_expect_header RateLimit "\"per-key\";r=2;t=$T10, \"global\";r=96;t=$T10"

# --- A. error rows: status, error code, framing, no quota headers ---------------
pp_request POST /ping -H 'Content-Type: application/json' --data-binary '{"request":"ping"}'
pp_expect_status 400
pp_expect_json .error '"missing_secret_key"'
pp_expect_no_header RateLimit
pp_expect_no_header Retry-After
pp_request POST /ping -H 'Content-Type: application/json' -H "x-secret-key: $(head -c 257 /dev/zero | tr '\0' k)" --data-binary '{"request":"ping"}'
pp_expect_status 400
pp_expect_json .error '"invalid_secret_key"'
pp_ping api-key-3 '{"request":'
pp_expect_status 400
pp_expect_json .error '"invalid_json"'
pp_expect_no_header RateLimit
pp_ping api-key-3 '{"request":"pong"}'
pp_expect_status 400
pp_expect_json .error '"wrong_payload"'
pp_request POST /ping -H 'Content-Type: text/plain' -H 'x-secret-key: api-key-3' --data-binary '{"request":"ping"}'
pp_expect_status 415
pp_expect_json .error '"unsupported_media_type"'
pp_expect_json_ok '.message | contains("application/json")'
head -c 8192 /dev/zero | tr '\0' ' ' >"$PP_TMP/big"
pp_request POST /ping -H 'Content-Type: application/json' -H 'x-secret-key: api-key-3' --data-binary "@$PP_TMP/big"
pp_expect_status 413
pp_expect_json .error '"payload_too_large"'
pp_expect_api_framing
pp_request GET /ping -H 'x-secret-key: api-key-3'
pp_expect_status 405
pp_expect_json .error '"method_not_allowed"'
pp_expect_header Allow 'POST'
pp_expect_api_framing
pp_request POST /nowhere -H 'Content-Type: application/json' -H 'x-secret-key: api-key-3' --data-binary '{"request":"ping"}'
pp_expect_status 404
pp_expect_json .error '"not_found"'
pp_expect_api_framing

# Keep-alive: several answers on one connection stay framed.
out=$(curl -s -m 10 -H 'Content-Type: application/json' -H 'x-secret-key: api-key-ka' \
	--data-binary '{"request":"ping"}' "$PP_URL/ping" "$PP_URL/ping" -w '|%{http_code} %{num_connects}\n')
[ "$out" = '{"response":"pong"}|200 1
{"response":"pong"}|200 0' ] || pp_fail "keep-alive answers: $out"

# --- B. 429 global (a fresh store) -------------------------------------------
pp_stop_server
pp_start_server db_path="$PP_TMP/db2" per_key_limit=100 per_key_window=60s global_limit=2 global_window=10s
pp_ping g-key-1
pp_expect_status 200
pp_expect_header RateLimit-Policy '"per-key";q=100;w=60, "global";q=2;w=10'
pp_expect_header RateLimit "\"per-key\";r=99;t=(5[1-9]|60), \"global\";r=1;t=$T10"
pp_ping g-key-2
pp_expect_status 200
pp_ping g-key-3
pp_expect_status 429
pp_expect_api_framing
pp_expect_json '.message' "$MSG"
pp_expect_json '.limit' '"global"'
pp_expect_json_ok '.retry_after > 0 and .retry_after <= 10'
pp_expect_json_ok '.throttle_age == (.throttle_age | floor) and .throttle_age >= 0 and .throttle_age < 10'
pp_expect_header Retry-After "$T10"
pp_expect_header RateLimit "\"per-key\";r=100;t=0, \"global\";r=0;t=$T10"
[ "$(rl_field global t)" = "$(pp_header Retry-After)" ] ||
	pp_fail "RateLimit global t=$(rl_field global t), Retry-After $(pp_header Retry-After)"

# --- C. Retry-After is exact (a short window, a fresh store) ----------------------
pp_stop_server
pp_start_server db_path="$PP_TMP/db3" per_key_limit=1 per_key_window=3s global_limit=1000 global_window=1s
pp_ping exact-key
pp_expect_status 200
pp_ping exact-key
t429=$(date +%s.%N)
pp_expect_status 429
retry=$(jq -r '.retry_after // 0' "$PP_BODY")
sleep_until() { # seconds after the 429 arrived
	local d
	d=$(awk -v t0="$t429" -v off="$1" -v now="$(date +%s.%N)" 'BEGIN { d = t0 + off - now; print (d > 0 ? d : 0) }')
	sleep "$d"
}
# A little before the moment: still refused (and refusals record nothing, so
# this does not push the moment back).
if awk -v r="$retry" 'BEGIN { exit !(r > 0.6) }'; then
	sleep_until "$(awk -v r="$retry" 'BEGIN { print r - 0.3 }')"
	pp_ping exact-key
	if [ "$PP_STATUS" = 200 ]; then
		# On a loaded machine the ping may reach a worker late. Judge by
		# nginx's clock: wrong only if answered before the admission's
		# request had even arrived + the window.
		first_in=$(awk '$5 == "/ping" && $2 == 200 { print $1 - $3; exit }' "$PP_ACCESS_LOG")
		last_out=$(awk '$5 == "/ping" { t = $1 } END { print t }' "$PP_ACCESS_LOG")
		if awk -v a="$first_in" -v b="$last_out" 'BEGIN { exit !(b < a + 3.0) }'; then
			pp_fail "admitted at $last_out, before the window of the admission at $first_in freed"
		else
			pp_log "the early ping arrived late (load): refusal before Retry-After not judged"
		fi
	else
		pp_expect_status 429
		pp_expect_json .limit '"per-key"'
	fi
else
	pp_log "retry_after $retry: too short to try a ping before it (slow machine)"
fi
# Just after it: admitted, never later than the body said (unless the late
# early ping above took the place).
if [ "$PP_STATUS" != 200 ]; then
	sleep_until "$(awk -v r="$retry" 'BEGIN { print r + 0.02 }')"
	pp_ping exact-key
	pp_expect_status 200
fi
pp_done

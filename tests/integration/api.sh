#!/bin/bash
# api.sh - every row of SPEC's API table through nginx and real workers, with
# exact bodies and headers: pong, 429 per-key and global with RateLimit-Policy,
# RateLimit and Retry-After, the error rows, and Retry-After being exact.
. "$(dirname "$0")/lib.sh"
pp_setup
pp_start_server per_key_limit=3 per_key_window=2s global_limit=100 global_window=1s

MSG='"You have exceeded your request-limits."'
# rl_field NAME PARAM: the PARAM of item NAME in the last RateLimit header.
rl_field() {
	pp_header RateLimit | tr ',' '\n' | grep -F "\"$1\"" | tr ';' '\n' | sed -n "s/^ *$2=//p"
}

# --- 200: body, framing, quota headers ---------------------------------------
pp_ping api-key-1
pp_expect_status 200
pp_expect_api_framing
pp_expect_json . '{"response":"pong"}'
pp_expect_header RateLimit-Policy '"per-key";q=3;w=2, "global";q=100;w=1'
pp_expect_header RateLimit '"per-key";r=2;t=2, "global";r=99;t=1'
pp_expect_no_header Retry-After
pp_ping api-key-1
pp_expect_status 200
pp_expect_header RateLimit '"per-key";r=1;t=[12], "global";r=98;t=1'
pp_ping api-key-1
pp_expect_status 200
pp_expect_header RateLimit '"per-key";r=0;t=[12], "global";r=97;t=1'

# --- 429 per-key ---------------------------------------------------------------
pp_ping api-key-1
t429=$(date +%s.%N)
pp_expect_status 429
pp_expect_api_framing
pp_expect_json '.message' "$MSG"
pp_expect_json '.limit' '"per-key"'
pp_expect_json 'keys' '["limit","message","retry_after","throttle_age"]'
pp_expect_json_ok '(.retry_after | type == "number") and .retry_after > 0 and .retry_after <= 2'
pp_expect_json_ok '(.throttle_age | type == "number") and .throttle_age == (.throttle_age | floor) and .throttle_age >= 0 and .throttle_age <= 1'
pp_expect_header Retry-After '[12]'
pp_expect_header RateLimit-Policy '"per-key";q=3;w=2, "global";q=100;w=1'
pp_expect_header RateLimit '"per-key";r=0;t=[12], "global";r=[0-9]+;t=1'
retry=$(jq -r .retry_after "$PP_BODY")
ra=$(pp_header Retry-After)
# The header is the body's value rounded up, and the per-key t agrees.
want_ra=$(jq -r '.retry_after | ceil' "$PP_BODY")
[ "$ra" = "$want_ra" ] || pp_fail "Retry-After $ra is not ceil(retry_after $retry) = $want_ra"
[ "$(rl_field per-key t)" = "$ra" ] || pp_fail "RateLimit per-key t=$(rl_field per-key t), Retry-After $ra"

# Retry-After is exact: a little before it, still refused (refusals record
# nothing, so this does not push it back); just after it, admitted.
# Sleeps are measured from the moment the 429 arrived.
sleep_until() { # seconds after t429
	local d
	d=$(awk -v t0="$t429" -v off="$1" -v now="$(date +%s.%N)" 'BEGIN { d = t0 + off - now; print (d > 0 ? d : 0) }')
	sleep "$d"
}
if awk -v r="$retry" 'BEGIN { exit !(r > 0.6) }'; then
	sleep_until "$(awk -v r="$retry" 'BEGIN { print r - 0.3 }')"
	pp_ping api-key-1
	pp_expect_status 429
	pp_expect_json .limit '"per-key"'
else
	pp_fail "retry_after $retry: too short to test (the earlier requests were slow)"
fi
sleep_until "$(awk -v r="$retry" 'BEGIN { print r + 0.02 }')"
pp_ping api-key-1
pp_expect_status 200

# Another key is not throttled by this one.
pp_ping api-key-2
pp_expect_status 200

# --- error rows: status, error code, no quota headers --------------------------
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

# --- keep-alive: several answers on one connection stay framed -------------------
out=$(curl -s -m 10 -H 'Content-Type: application/json' -H 'x-secret-key: api-key-ka' \
	--data-binary '{"request":"ping"}' "$PP_URL/ping" "$PP_URL/ping" -w '|%{http_code} %{num_connects}\n')
[ "$out" = '{"response":"pong"}|200 1
{"response":"pong"}|200 0' ] || pp_fail "keep-alive answers: $out"

# --- 429 global ---------------------------------------------------------------
pp_stop_server
# A fresh store: the global window above still holds admissions.
pp_start_server db_path="$PP_TMP/db2" per_key_limit=100 per_key_window=60s global_limit=2 global_window=2s
pp_ping g-key-1
pp_expect_status 200
pp_expect_header RateLimit-Policy '"per-key";q=100;w=60, "global";q=2;w=2'
pp_expect_header RateLimit '"per-key";r=99;t=(60|59), "global";r=1;t=2'
pp_ping g-key-2
pp_expect_status 200
pp_ping g-key-3
pp_expect_status 429
pp_expect_api_framing
pp_expect_json '.message' "$MSG"
pp_expect_json '.limit' '"global"'
pp_expect_json_ok '.retry_after > 0 and .retry_after <= 2'
pp_expect_header Retry-After '[12]'
pp_expect_header RateLimit '"per-key";r=100;t=[0-9]+, "global";r=0;t=[12]'
[ "$(rl_field global t)" = "$(pp_header Retry-After)" ] ||
	pp_fail "RateLimit global t=$(rl_field global t), Retry-After $(pp_header Retry-After)"
sleep "$(jq -r '.retry_after + 0.05' "$PP_BODY")"
pp_ping g-key-3
pp_expect_status 200
pp_done

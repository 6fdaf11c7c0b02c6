#!/bin/bash
# api.sh - every row of SPEC's API table through nginx and real workers, with
# exact bodies and headers: pong, 429 per-key and global with RateLimit-Policy,
# RateLimit and Retry-After, the error rows, and Retry-After being exact.
# Windows are long where only formats are checked, so a loaded machine (slow
# requests) cannot let a window expire mid-check.
. "$(dirname "$0")/../lib.sh"
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
# Judged from the client's side of the same host clock, so no ping goes
# unjudged: a refusal decided at d (send429 <= d <= recv429) frees at d + r.
# A ping answered before send429 + r was decided before that moment and must
# be refused; one sent after recv429 + r must be admitted. Each ping is timed
# around its whole request, so a slow machine only makes the bounds looser.
pp_stop_server
pp_start_server db_path="$PP_TMP/db3" per_key_limit=1 per_key_window=2s global_limit=1000 global_window=1s
now() { date +%s.%N; }
sleep_until() { # an absolute time from now()
	local d
	d=$(awk -v t="$1" -v now="$(now)" 'BEGIN { d = t - now; print (d > 0 ? d : 0) }')
	sleep "$d"
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
# exact_cycle KEY: one admission, one refusal, pings up to the moment and one
# just after it. Returns 0 when judged (failures are recorded), 2 when a
# late ping left it undecidable (then the caller tries a fresh key).
exact_cycle() {
	local key=$1 send429 recv429 r before after lead leads s e judged=0 margin=
	pp_ping "$key"
	pp_expect_status 200
	send429=$(now)
	pp_ping "$key"
	recv429=$(now)
	pp_expect_status 429
	pp_expect_json .limit '"per-key"'
	# The raw text: jq would print 1.890 as 1.89.
	r=$(grep -o '"retry_after":[0-9.]*' "$PP_BODY" | cut -d: -f2)
	[[ $r =~ ^[0-9]+\.[0-9]{3}$ ]] || { pp_fail "retry_after '$r' is not seconds with ms"; return 0; }
	before=$(awk -v s="$send429" -v r="$r" 'BEGIN { printf "%.3f", s + r }')
	after=$(awk -v e="$recv429" -v r="$r" 'BEGIN { printf "%.3f", e + r }')
	# Refused up to the moment: at once, then closer to it, as close as four
	# times this machine's round trip allows (refusals record nothing, so
	# these do not push it back).
	leads=$(awk -v r="$r" -v s="$send429" -v e="$recv429" 'BEGIN {
		l = 4 * (e - s) + 0.05; if (l < 0.25) l = 0.25
		printf "%s", r; if (l < r) printf " %.3f", l }')
	for lead in $leads; do
		sleep_until "$(awk -v b="$before" -v l="$lead" 'BEGIN { printf "%.3f", b - l }')"
		s=$(now)
		pp_ping "$key"
		e=$(now)
		if lt "$e" "$before"; then
			judged=$((judged + 1))
			margin=$(awk -v e="$e" -v b="$before" 'BEGIN { printf "%.3f", b - e }')
			[ "$PP_STATUS" = 429 ] || { pp_fail "admitted $margin s before the moment retry_after $r named"; return 0; }
		elif [ "$PP_STATUS" = 200 ]; then
			# Late and admitted: an after-ping if sent after the moment.
			lt "$s" "$after" && return 2
			[ "$judged" -gt 0 ] || return 2
			pp_log "refused up to $margin s before retry_after $r; admitted when sent after it"
			return 0
		elif ! lt "$s" "$after"; then
			pp_fail "refused though sent after the moment retry_after $r named"
			return 0
		fi
	done
	[ "$judged" -gt 0 ] || return 2
	# Admitted just after it.
	sleep_until "$(awk -v a="$after" 'BEGIN { printf "%.3f", a + 0.005 }')"
	pp_ping "$key"
	pp_expect_status 200
	pp_log "refused up to $margin s before retry_after $r ($judged pings judged), admitted 5 ms after it"
	return 0
}
done_c=
for attempt in 1 2 3; do
	exact_cycle "exact-key-$attempt" && { done_c=1; break; }
	pp_log "attempt $attempt: a ping was too slow to judge; a fresh key"
done
[ -n "$done_c" ] || pp_fail "Retry-After could not be judged in 3 tries (pings far slower than the first)"
pp_done

#!/bin/bash
# global.sh - the global limit across distinct keys: one by one (limit named
# "global"), then under load with a new key per request through 4 workers.
. "$(dirname "$0")/lib.sh"
pp_setup
pp_require wrk
pp_start_server per_key_limit=1000 per_key_window=60s global_limit=3 global_window=2s

for i in 1 2 3; do
	pp_ping "global-seq-$i"
	pp_expect_status 200
done
for i in 4 5 6; do
	pp_ping "global-seq-$i"
	pp_expect_status 429
	pp_expect_json .limit '"global"'
	pp_expect_header RateLimit '"per-key";r=1000;t=0, "global";r=0;t=[12]'
done
# Let the sequential admissions expire before the load starts.
sleep "$(jq -r '.retry_after + 0.05' "$PP_BODY")"
pp_ping global-seq-7
pp_expect_status 200
sleep 2.05

: >"$PP_ACCESS_LOG"
PP_WRK_KEY=global-load PP_WRK_DISTINCT=1 pp_load 5 16
pp_check_windows 3 2
[ "${PP_REFUSED:-0}" -gt 100 ] || pp_fail "only ${PP_REFUSED:-0} refusals: the load did not hammer"
pp_done

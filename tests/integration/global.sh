#!/bin/bash
# global.sh - the global limit across distinct keys: one by one (the 429 names
# the "global" limit), then under load with a new key per request through 4
# workers, where nginx's access log must show exact sliding windows.
. "$(dirname "$0")/../lib.sh"
pp_setup
pp_require wrk

# One by one; a long window so slow requests cannot let it expire mid-check.
pp_start_server per_key_limit=1000 per_key_window=60s global_limit=3 global_window=10s
for i in 1 2 3; do
	pp_ping "global-seq-$i"
	pp_expect_status 200
done
for i in 4 5 6; do
	pp_ping "global-seq-$i"
	pp_expect_status 429
	pp_expect_json .limit '"global"'
	pp_expect_header RateLimit '"per-key";r=1000;t=0, "global";r=0;t=([1-9]|10)'
done
pp_stop_server

# Under load, a short window and a fresh store.
pp_start_server db_path="$PP_TMP/db2" per_key_limit=1000 per_key_window=60s global_limit=3 global_window=2s
PP_WRK_KEY=global-load PP_WRK_DISTINCT=1 pp_load 5 16
pp_check_windows 3 2
[ "${PP_REFUSED:-0}" -gt 100 ] || pp_fail "only ${PP_REFUSED:-0} refusals: the load did not hammer"
pp_done

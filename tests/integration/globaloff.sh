#!/bin/bash
# globaloff.sh - global_limit = off through nginx: many distinct keys pass
# (the default 2 per second would refuse most), the quota headers carry only
# the per-key item, and a refusal is always the per-key limit's.
. "$(dirname "$0")/../lib.sh"
pp_setup

pp_start_server per_key_limit=2 per_key_window=60s global_limit=off global_window=1s
grep -q 'global off' "$PP_TMP/workers.log" || pp_fail "the start-up line does not say the global limit is off"

for i in $(seq 1 20); do
	pp_ping "off-key-$i"
	pp_expect_status 200
	pp_expect_header RateLimit-Policy '"per-key";q=2;w=60'
	pp_expect_header RateLimit '"per-key";r=1;t=60'
done
pp_ping off-key-1
pp_expect_status 200
pp_expect_header RateLimit '"per-key";r=0;t=(4[0-9]|5[0-9]|60)'
pp_ping off-key-1
pp_expect_status 429
pp_expect_json .limit '"per-key"'
pp_expect_header RateLimit-Policy '"per-key";q=2;w=60'
pp_expect_header RateLimit '"per-key";r=0;t=(4[0-9]|5[0-9]|60)'
pp_expect_header Retry-After '(4[0-9]|5[0-9]|60)'
pp_expect_api_framing

pp_request GET /metrics
pp_check "grep -qx 'pingpong_throttled_total{limit=\"global\"} 0' '$PP_BODY'" "a global refusal was counted"
pp_check "grep -qx 'pingpong_throttled_total{limit=\"per-key\"} 1' '$PP_BODY'" "the per-key refusal was not counted once"
pp_done

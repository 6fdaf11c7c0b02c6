#!/usr/bin/env bash
# tests/faults/readyz-sizes.sh - every configuration `pingpong-fcgi -t`
# accepts is ready: /readyz answers 200 on every call, not once and then
# 503 (the probe used to write 2 x per_key_limit buckets, far more than the
# start-up map check allowed for). One too small for its probe is refused.
. "${PP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
pp_setup
export PP_WORKERS=2

# check_ready KEY=VALUE...: -t accepts it, and a served store stays ready.
check_ready() {
	pp_write_config "$@"
	"$PP_FCGI" -t -c "$PP_TMP/pingpong.conf" >"$PP_TMP/t.out" 2>&1 ||
		{ pp_fail "-t refuses $*: $(head -c 300 "$PP_TMP/t.out")"; return; }
	rm -rf "$PP_TMP/db"
	pp_start_server "$@"
	local i
	for i in 1 2 3 4 5 6; do
		pp_request GET /readyz
		pp_expect_status 200
		pp_ping "k$i"; pp_expect_status 200
	done
	grep -q 'readiness probe failed' "$PP_TMP/workers.log" &&
		pp_fail "$*: a probe failed: $(grep -m1 'readiness probe failed' "$PP_TMP/workers.log")"
	pp_stop_server
}

check_ready per_key_limit=1000000 per_key_window=24h global_limit=1000 global_window=24h
check_ready per_key_limit=1000000 per_key_window=60s global_limit=100 db_map_size=4M

# The same limits with a map too small for windows plus probe: refused at
# start-up, naming the key.
pp_write_config per_key_limit=1000000 per_key_window=60s global_limit=100 db_map_size=3M
if "$PP_FCGI" -t -c "$PP_TMP/pingpong.conf" >"$PP_TMP/t.out" 2>&1; then
	pp_fail "-t accepts a 3M map for limits that need about 4M"
else
	grep -q db_map_size "$PP_TMP/t.out" || pp_fail "refusal does not name db_map_size: $(cat "$PP_TMP/t.out")"
fi
pp_done

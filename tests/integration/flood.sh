#!/bin/bash
# flood.sh - SPEC: "a flood of distinct keys cannot fill the map and stop the
# service". Two halves: a map too small for what the limits can keep live is
# refused at start-up (so no configuration that starts can be filled), and a
# 2 MiB map that the check accepts survives a flood of new keys lasting
# several 1 s windows: no 5xx, the global limit exact, new keys still pong,
# /readyz ready (dead windows are reclaimed as it goes).
. "$(dirname "$0")/../lib.sh"
pp_setup
pp_require wrk

# 1. Refused at start-up, with a message that says what to change.
cat >"$PP_TMP/small.conf" <<EOF2
db_path = $PP_TMP/small
db_map_size = 1M
per_key_window = 60s
global_limit = 1000000
global_window = 1s
EOF2
if "$PP_BUILDDIR/pingpong-fcgi" -t -c "$PP_TMP/small.conf" >"$PP_TMP/small.out" 2>&1; then
	pp_fail "a 1 MiB map for 60 million live admissions was accepted"
fi
grep -q 'db_map_size 1 MiB is too small' "$PP_TMP/small.out" ||
	pp_fail "the start-up error does not name db_map_size: $(cat "$PP_TMP/small.out")"

# 2. The largest global limit a 2 MiB map accepts with 1 s windows, flooded.
pp_start_server db_map_size=2M per_key_limit=10 per_key_window=1s \
	global_limit=1500 global_window=1s
PP_WRK_KEY="flood" PP_WRK_DISTINCT=1 pp_load 6 8
total=$(awk '$5 == "/ping"' "$PP_ACCESS_LOG" | wc -l)
admitted=$(awk '$5 == "/ping" && $2 == 200' "$PP_ACCESS_LOG" | wc -l)
n5xx=$(awk '$5 == "/ping" && $2 >= 500' "$PP_ACCESS_LOG" | wc -l)
pp_log "flood: $total distinct keys, $admitted admitted, $n5xx answered 5xx"
# About 130 bytes a live admission: without reclaiming, 2 MiB holds ~10000.
[ "$admitted" -gt 5000 ] || pp_fail "only $admitted keys admitted: too small a flood to prove reclaiming"
[ "$n5xx" -eq 0 ] || pp_fail "$n5xx answers were 5xx during the flood"
pp_check_windows 1500 1
grep -q 'map full' "$PP_TMP/workers.log" && pp_fail "the map filled: $(grep 'map full' "$PP_TMP/workers.log" | head -1)"
sleep 1.1
for i in 1 2 3; do
	pp_ping "after-flood-$i"
	pp_expect_status 200
done
pp_request GET /readyz
pp_expect_status 200
pp_done

#!/usr/bin/env bash
# tests/faults/smallmap.sh - the smallest map the server accepts (1M), 1 s
# windows, a flood of distinct keys over several windows: far more keys than
# the map holds, so only reclaiming dead windows keeps it going. No 5xx, and
# the limits stay exact afterwards.
. "${PP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
pp_setup
pp_require wrk mdb_stat

export PP_WORKERS=2
pp_start_server db_map_size=1M per_key_limit=2 per_key_window=1s \
	global_limit=1000000 global_window=1s log_level=warn

# 1M below the minimum is refused at start-up, naming the key.
echo "db_path = $PP_TMP/db2" >"$PP_TMP/tiny.conf"
echo "db_map_size = 512K" >>"$PP_TMP/tiny.conf"
timeout 5 "$PP_BUILDDIR/pingpong-fcgi" -c "$PP_TMP/tiny.conf" </dev/null >"$PP_TMP/tiny.out" 2>&1
rc=$?
pp_check '[ "$rc" -ne 0 ] && grep -q db_map_size "$PP_TMP/tiny.out"' \
	"db_map_size = 512K: exit $rc, '$(head -c 200 "$PP_TMP/tiny.out")'"

# A distinct key per request for 4 windows, bounded by wrk's -d.
BENCH_MODE=distinct timeout 20 wrk -t1 -c8 -d4s --timeout 2s -s "$PP_SRCDIR/bench/wrk.lua" \
	"$PP_URL/ping" >"$PP_TMP/wrk.out" 2>&1
pp_log "wrk: $(grep -E 'requests in|Non-2xx' "$PP_TMP/wrk.out" | tr '\n' ' ')"

pp_access_lines /ping | awk '{print $2}' | sort | uniq -c >"$PP_TMP/statuses"
pp_log "statuses: $(tr -s ' \n' ' ' <"$PP_TMP/statuses")"
admitted=$(awk '$2 == 200 {print $1}' "$PP_TMP/statuses")
admitted=${admitted:-0}
bad=$(awk '$2 != 200 {n += $1} END {print n + 0}' "$PP_TMP/statuses")
pp_check '[ "$bad" -eq 0 ]' "$bad answers were not 200 (every key was new and the global limit high)"

# Dead windows were reclaimed: without it every admitted key would still
# have its window; with it only about the last window's keys remain.
mdb_stat -a "$PP_TMP/db" >"$PP_TMP/stat" 2>&1
pp_check '[ $? -eq 0 ]' "mdb_stat -a failed: $(tail -n 3 "$PP_TMP/stat")"
windows=$(awk '/Status of windows/ {f = 1} f && /Entries/ {print $2; exit}' "$PP_TMP/stat")
pp_log "$admitted keys admitted over 4 windows; ${windows:-?} windows left in the map"
pp_check '[ "$admitted" -gt 2000 ]' "only $admitted keys admitted in 4 s"
pp_check '[ -n "$windows" ] && [ "$windows" -lt $((admitted / 2)) ]' \
	"$windows windows kept of $admitted admitted: dead windows are not reclaimed"

# Exact afterwards: a fresh key gets exactly its 2, then 429, then 2 again.
for i in 1 2; do pp_ping exact-key; pp_expect_status 200; done
pp_ping exact-key; pp_expect_status 429
sleep 1.1
pp_ping exact-key; pp_expect_status 200

grep -i 'map full' "$PP_TMP/workers.log" >/dev/null && pp_log "workers logged: $(grep -i 'map full' "$PP_TMP/workers.log" | head -n 2)"
pp_done

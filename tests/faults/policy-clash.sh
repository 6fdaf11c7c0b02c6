#!/usr/bin/env bash
# tests/faults/policy-clash.sh - workers with other limits on the same
# db_path would prune each other's windows (a 1 s pruner erased a
# 10-per-minute history). A worker whose limits differ from those of live
# workers on its db_path refuses to start, naming both; once the old
# workers are stopped, the new limits start on the same directory.
. "${PP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
pp_setup
export PP_WORKERS=2

pp_start_server per_key_limit=3 per_key_window=60s global_limit=1000 global_window=1s
for i in 1 2 3; do pp_ping minute-key; pp_expect_status 200; done
pp_ping minute-key; pp_expect_status 429

# One worker with a 1 s window on the same store, on a socket of its own.
printf 'db_path = %s\nper_key_limit = 3\nper_key_window = 1s\nglobal_limit = 1000\nglobal_window = 1s\n' \
	"$PP_TMP/db" >"$PP_TMP/other.conf"
timeout 10 spawn-fcgi -s "$PP_TMP/other.sock" -n -- "$PP_FCGI" -c "$PP_TMP/other.conf" \
	</dev/null >"$PP_TMP/other.log" 2>&1
rc=$?
pp_log "other-limits worker: exit $rc: $(grep -m1 'other limits' "$PP_TMP/other.log")"
pp_check '[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]' "a worker with other limits started on the same db_path (exit $rc)"
grep -q 'per_key_window=60000ms' "$PP_TMP/other.log" && grep -q 'per_key_window=1000ms' "$PP_TMP/other.log" ||
	pp_fail "the refusal does not name both policies: $(cat "$PP_TMP/other.log")"

# The minute window is intact.
sleep 1.2
pp_ping minute-key; pp_expect_status 429

# New limits after stopping the old workers: accepted, on the same directory.
pp_stop_server
pp_start_server per_key_limit=3 per_key_window=1s global_limit=1000 global_window=1s
pp_ping fresh-key; pp_expect_status 200
n=$(ls "$PP_TMP/db" | grep -c '^policy-.*\.lock$')
pp_check '[ "$n" -eq 1 ]' "$n policy lock files in db_path, want 1 (the stale one removed)"
pp_done

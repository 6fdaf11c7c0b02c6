#!/usr/bin/env bash
# store-full.sh - a store that cannot record: a stuck reader pins the pages a
# 2 MiB map needs, so writes hit MDB_MAP_FULL. Expect 503 store_unavailable
# with Retry-After: 1, refusals still answered from the snapshot, /readyz 503,
# few log lines, recovery once the reader goes, and with fail_open = yes the
# same situation admitted.
. "$PP_SRCDIR/tests/lib.sh"
pp_setup
pp_require wrk
hold="$PP_BUILDDIR/tests/integration/hold-reader"
[ -x "$hold" ] || pp_die "no $hold (make check builds it)"

# 60 s key windows keep the throttled key throttled through the flood; the
# map is the smallest the start-up check accepts for these limits.
limits=(db_map_size=5M per_key_limit=2 per_key_window=60s global_limit=200 global_window=1s)
pp_start_server "${limits[@]}"

# Holds a reader in the background; its PID in $reader.
hold_reader() {
	"$hold" "$PP_TMP/db" >"$PP_TMP/hold.out" 2>&1 &
	reader=$!
	pp_track "$reader"
	local i
	for i in $(seq 1 50); do
		grep -q holding "$PP_TMP/hold.out" && return 0
		sleep 0.1
	done
	pp_die "hold-reader did not start: $(cat "$PP_TMP/hold.out")"
}

# Floods distinct keys until a new key gets $1 (bounded at 30 s); the probe
# key's status is left in PP_STATUS.
flood_until() {
	local want=$1 end=$((SECONDS + 30)) round
	for round in $(seq 1 30); do
		[ $SECONDS -lt $end ] || break
		timeout 10 wrk -t1 -c4 -d1s -s "$PP_SRCDIR/tests/integration/distinct-keys.lua" "$PP_URL" \
			>"$PP_TMP/wrk.$want.$round" 2>&1
		sleep 1.1 # let the global window free, so the probe is not refused
		pp_ping "probe-$want-$round"
		[ "$PP_STATUS" = "$want" ] && return 0
	done
	return 1
}

pp_ping throttled; pp_ping throttled; pp_ping throttled
pp_expect_status 429

hold_reader
pp_check "flood_until 503" "the map never filled behind a stuck reader (last status $PP_STATUS)"
pp_expect_json .error '"store_unavailable"'
pp_expect_header Retry-After '^1$'
pp_expect_api_framing
pp_expect_no_header RateLimit

# A refusal needs no write: a key refused before is still refused, not 503.
pp_ping throttled; pp_ping throttled; pp_ping throttled
pp_expect_status 429
pp_request GET /readyz
pp_expect_status 503
pp_expect_json .error '"store_unavailable"'
# The 503 of /readyz says nothing; the log says why (rate-limited).
grep -q 'readiness probe failed: MDB_MAP_FULL' "$PP_TMP/workers.log" ||
	pp_fail "no log line says why /readyz failed"

lines=$(grep -c 'map full' "$PP_TMP/workers.log")
errors=$(grep -c ' 503 ' "$PP_ACCESS_LOG")
pp_log "503 answers: $errors, map-full log lines: $lines"
pp_check "[ $lines -ge 1 ]" "no log line says the map is full"
pp_check "[ $lines -le $((4 * 4)) ]" "$lines map-full log lines: a storm"
grep -q 'flood-' "$PP_TMP/workers.log" && pp_fail "a key appears in the log"

# The reader dies without closing: its slot is stale until a worker clears
# it, which a full map makes it do; then the pages are reused.
kill -KILL "$reader"; wait "$reader" 2>/dev/null
sleep 1.1
pp_ping after-recovery
pp_expect_status 200
pp_check "grep -q 'cleared [0-9]* stale reader' '$PP_TMP/workers.log'" "the dead reader's slot was not reported cleared" 
pp_request GET /readyz
pp_expect_status 200

# fail_open = yes: the same situation is admitted (and logged).
pp_stop_workers
pp_write_config "${limits[@]}" fail_open=yes
pp_start_workers
pp_wait_healthz || pp_die "workers did not come back"
hold_reader
errors_before=$(grep -c ' 503 ' "$PP_ACCESS_LOG")
end=$((SECONDS + 30)); admitted_open=0
while [ $SECONDS -lt $end ]; do
	timeout 10 wrk -t1 -c4 -d1s -s "$PP_SRCDIR/tests/integration/distinct-keys.lua" "$PP_URL" >/dev/null 2>&1
	grep -q 'fail_open admitted' "$PP_TMP/workers.log" && { admitted_open=1; break; }
done
pp_check "[ $admitted_open = 1 ]" "fail_open never logged an admission on a full map"
errors_after=$(grep -c ' 503 ' "$PP_ACCESS_LOG")
pp_check "[ $errors_after = $errors_before ]" "$((errors_after - errors_before)) answers were 503 with fail_open = yes"
sleep 1.1
pp_ping fail-open-key
pp_expect_status 200
pp_expect_json .response '"pong"'
pp_expect_no_header RateLimit
pp_kill_pid "$reader"
pp_done

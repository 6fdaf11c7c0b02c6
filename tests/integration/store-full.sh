#!/usr/bin/env bash
# store-full.sh - a store that cannot record (1 MiB map filled by live keys):
# 503 store_unavailable with Retry-After: 1, refusals still answered from the
# snapshot, few log lines; with fail_open = yes the same request is admitted.
. "$PP_SRCDIR/tests/integration/lib.sh"
pp_setup
pp_require wrk

# Hour-long key windows: nothing expires, so the map really stays full.
pp_start_server db_map_size=1M per_key_limit=2 per_key_window=1h \
	global_limit=1000000 global_window=1s

pp_ping throttled-before; pp_ping throttled-before; pp_ping throttled-before
pp_expect_status 429

# Flood until the map is full: a few seconds alone, longer on a busy machine;
# bounded at 60 s.
full=0
end=$((SECONDS + 60))
for round in $(seq 1 30); do
	[ $SECONDS -lt $end ] || break
	timeout 20 wrk -t2 -c4 -d3s -s "$PP_SRCDIR/tests/integration/distinct-keys.lua" "$PP_URL" >"$PP_TMP/wrk.$round" 2>&1
	pp_ping "after-flood-$round"
	if [ "$PP_STATUS" = 503 ]; then full=1; break; fi
done
pp_check "[ $full = 1 ]" "a 1 MiB map never filled up (last status $PP_STATUS)"
pp_expect_json .error '"store_unavailable"'
pp_expect_header Retry-After '^1$'
pp_expect_api_framing
pp_expect_no_header RateLimit

# The key throttled before the flood is refused from the read snapshot, not
# turned into an error.
pp_ping throttled-before
pp_expect_status 429

# Map-full is logged, but not once per refused request.
lines=$(grep -c 'map full' "$PP_TMP/workers.log")
errors=$(grep -c ' 503 ' "$PP_ACCESS_LOG")
pp_log "503 answers: $errors, map-full log lines: $lines"
pp_check "[ $lines -ge 1 ]" "no log line says the map is full"
pp_check "[ $lines -le 12 ]" "$lines map-full log lines: a storm"
grep -q 'flood-' "$PP_TMP/workers.log" && pp_fail "a key appears in the log"

# fail_open = yes: the same store, the same request, admitted and logged.
pp_stop_workers
pp_write_config db_map_size=1M per_key_limit=2 per_key_window=1h \
	global_limit=1000000 global_window=1s fail_open=yes
pp_start_workers
pp_wait_healthz || pp_die "workers did not come back"
# Restarted workers free pages the old readers pinned: flood until full again.
admitted_open=0
end=$((SECONDS + 60))
for round in $(seq 1 30); do
	[ $SECONDS -lt $end ] || break
	timeout 20 wrk -t2 -c4 -d2s -s "$PP_SRCDIR/tests/integration/distinct-keys.lua" "$PP_URL" >"$PP_TMP/wrk.open.$round" 2>&1
	pp_ping "fail-open-$round"
	if [ "$PP_STATUS" = 200 ] && [ -z "$(pp_header RateLimit)" ]; then admitted_open=1; break; fi
done
pp_check "[ $admitted_open = 1 ]" "fail_open never admitted without quota fields (last status $PP_STATUS)"
pp_expect_json .response '"pong"'
pp_check "grep -q 'fail_open admitted' '$PP_TMP/workers.log'" "fail_open admission not logged"
pp_done

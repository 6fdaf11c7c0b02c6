#!/usr/bin/env bash
# tests/faults/clockstep.sh - the host clock stepped back an hour while a key
# is throttled: the key is locked out no longer than its window (SPEC), and
# Retry-After never promises more than the window.
# Only the test build of the worker honours the offset file (src/clock.c).
PP_FCGI=${PP_BUILDDIR:-.}/tests/pingpong-fcgi-testclock
. "${PP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
pp_setup

# The workers add the offset in this file (ms, re-read at every request) to
# the real clock; set before the workers start so they inherit it.
export PINGPONG_TEST_CLOCK_OFFSET_FILE=$PP_TMP/clock-offset
echo 0 >"$PINGPONG_TEST_CLOCK_OFFSET_FILE"
export PP_WORKERS=2
pp_start_server per_key_limit=3 per_key_window=3s global_limit=1000 global_window=1s

for i in 1 2 3; do pp_ping stepped; pp_expect_status 200; done
pp_ping stepped
pp_expect_status 429
t_full=$(date +%s%N)

# Step back an hour: every stored admission now lies in the future.
echo -3600000 >"$PINGPONG_TEST_CLOCK_OFFSET_FILE"
pp_ping stepped
pp_expect_status 429
ra=$(pp_header Retry-After)
pp_check '[[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] && [ "$ra" -le 3 ]' \
	"Retry-After after the step is '$ra', want 1..3 (the window)"
pp_expect_json_ok '.retry_after > 0 and .retry_after <= 3'
pp_expect_header RateLimit '.*"per-key";r=0;t=[123]([^0-9].*)?'

# An unrelated key is not affected by the step.
pp_ping fresh-after-step
pp_expect_status 200

# The key is free again within its window (3 s from the step, plus slack for a loaded machine),
# not an hour later. Bounded poll.
freed=
for i in $(seq 1 60); do
	pp_ping stepped
	if [ "$PP_STATUS" = 200 ]; then freed=1; break; fi
	sleep 0.1
done
waited=$((($(date +%s%N) - t_full) / 1000000))
pp_check '[ -n "$freed" ]' "key still refused ${waited} ms after the step back (window 3000 ms)"
pp_check '[ "$waited" -le 4500 ]' "key locked out ${waited} ms after the step (window 3000 ms)"
# And it is limited exactly in the new timeline: 3 in a window, then 429.
for i in 2 3; do pp_ping stepped; pp_expect_status 200; done
pp_ping stepped
pp_expect_status 429

# The clock comes back (stepped forward an hour): the admissions made in the
# stepped timeline are an hour old, so the key has its whole quota at once
# (this also proves the workers did use the offset).
echo 0 >"$PINGPONG_TEST_CLOCK_OFFSET_FILE"
pp_ping stepped
pp_expect_status 200
pp_expect_header RateLimit '.*"per-key";r=2;.*'
pp_done

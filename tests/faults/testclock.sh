#!/usr/bin/env bash
# tests/faults/testclock.sh - PINGPONG_TEST_CLOCK_OFFSET_FILE moves the clock
# of the test build only: the installed pingpong-fcgi ignores it, so an
# environment variable cannot shift a production server's windows.
. "${PP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
pp_setup

# Nothing of the test clock is compiled into the release binary.
if grep -q PINGPONG_TEST_CLOCK_OFFSET_FILE "$PP_BUILDDIR/pingpong-fcgi"; then
	pp_fail "the release pingpong-fcgi contains PINGPONG_TEST_CLOCK_OFFSET_FILE"
fi

export PINGPONG_TEST_CLOCK_OFFSET_FILE=$PP_TMP/clock-offset
echo 0 >"$PINGPONG_TEST_CLOCK_OFFSET_FILE"
export PP_WORKERS=2
pp_start_server per_key_limit=1 per_key_window=60s global_limit=1000 global_window=1s

# Release build: a clock pushed two minutes ahead would free the 60 s window;
# ignored, the key stays refused.
pp_ping shifted; pp_expect_status 200
echo 120000 >"$PINGPONG_TEST_CLOCK_OFFSET_FILE"
pp_ping shifted; pp_expect_status 429

# The test build honours it (so clockstep.sh tests what it means to).
pp_stop_server
echo 0 >"$PINGPONG_TEST_CLOCK_OFFSET_FILE"
PP_FCGI=$PP_BUILDDIR/tests/pingpong-fcgi-testclock
rm -rf "$PP_TMP/db"
pp_start_server per_key_limit=1 per_key_window=60s global_limit=1000 global_window=1s
pp_ping shifted2; pp_expect_status 200
pp_ping shifted2; pp_expect_status 429
echo 120000 >"$PINGPONG_TEST_CLOCK_OFFSET_FILE"
pp_ping shifted2; pp_expect_status 200
pp_done

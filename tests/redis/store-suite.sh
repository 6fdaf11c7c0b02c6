#!/bin/bash
# store-suite.sh - the store property suite (tests/unit/test_store: the
# 8-process hammer, restart persistence, keys never in clear) run against the
# Redis backend too, on a redis-server of this test's own.
. "$(dirname "$0")/lib.sh"
pp_redis_setup
pp_redis_start
PP_TEST_REDIS_URL="unix:$PP_REDIS_SOCK" "$PP_BUILDDIR/tests/unit/test_store" ||
	pp_fail "the store suite failed against Redis"
pp_done

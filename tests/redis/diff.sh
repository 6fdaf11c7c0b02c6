#!/bin/bash
# diff.sh - the differential test: src/decide.lua on a real redis-server
# against src/limiter.c, >= 100 000 random decisions, 0 mismatches allowed.
. "$(dirname "$0")/lib.sh"
pp_redis_setup
pp_redis_start
"$PP_BUILDDIR/tests/redis/diff-script" "$PP_REDIS_SOCK" "${PP_DIFF_DECISIONS:-120000}" \
	"${PP_DIFF_SEED:-$(date +%s)}" || pp_fail "the script and limiter.c disagree (seed above)"
pp_done

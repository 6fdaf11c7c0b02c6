#!/bin/bash
# ctl-stats.sh - pingpongctl stats on a big store, beside live workers: one
# walk over every stored window, quick enough at 100k (and 1M) keys.
# make check uses 100k keys (prefill ~1-2 s); PP_CTL_KEYS=1000000 runs the
# 1M case (prefill ~20 s on a 2-core machine; stats took 0.06 s there).
. "$(dirname "$0")/../lib.sh"
pp_setup
ctl="$PP_BUILDDIR/pingpongctl" prefill="$PP_BUILDDIR/bench/prefill"
[ -x "$ctl" ] && [ -x "$prefill" ] || pp_die "no $ctl or $prefill (build first)"
keys=${PP_CTL_KEYS:-100000}

pp_start_server per_key_limit=3 per_key_window=10m global_limit=10000 global_window=1s
timeout 120 "$prefill" -c "$PP_TMP/pingpong.conf" -n "$keys" >"$PP_TMP/prefill.out" 2>&1 ||
	pp_die "prefill: $(cat "$PP_TMP/prefill.out")"
pp_ping after-prefill; pp_expect_status 200

# Stats while a load runs against the same store (bounded: 3 s of wrk).
if command -v wrk >/dev/null 2>&1; then
	PP_WRK_KEY=ctl-load PP_WRK_DISTINCT=1 timeout 25 wrk -t1 -c4 -d3s --timeout 5s \
		-s "$PP_SRCDIR/tests/integration/post.lua" "$PP_URL/ping" >"$PP_TMP/wrk.out" 2>&1 &
	load=$!
	pp_track "$load"
	sleep 0.5
fi
start=$(date +%s%N)
timeout 20 "$ctl" -c "$PP_TMP/pingpong.conf" --json stats >"$PP_TMP/stats.json" 2>"$PP_TMP/stats.err"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ -n "${load:-}" ] && wait "$load"
pp_log "stats over $keys keys: ${ms} ms: $(cat "$PP_TMP/stats.json")"
pp_check '[ $rc = 0 ]' "stats: exit $rc: $(cat "$PP_TMP/stats.err")"
# Generous for a loaded 2-core machine: a full scan of 1M windows fits.
pp_check '[ $ms -lt 3000 ]' "stats took $ms ms over $keys keys"
pp_check "jq -e --argjson n $keys '.windows >= \$n and .live_windows >= \$n and .fill > 0 and .fill < 1' \
	'$PP_TMP/stats.json' >/dev/null" "stats: $(cat "$PP_TMP/stats.json")"
# The workers kept answering beside it.
pp_ping after-stats; pp_expect_status 200
pp_done

#!/usr/bin/env bash
# tests/deploy/metrics-format.sh - the exposition src/metrics.c renders passes
# `promtool check metrics` (Prometheus's own parser and linter).
set -uo pipefail
b=${PP_BUILDDIR:?}
command -v promtool >/dev/null || { echo "FAIL: promtool missing (Debian package prometheus)"; exit 1; }
. "${PP_SRCDIR:?}/tests/lib.sh"
pp_tmpdir pp-metrics
tmp=$PP_TMP
PP_METRICS_DUMP=$tmp/metrics.txt "$b/tests/unit/test_metrics" || { echo "FAIL: could not render metrics"; exit 1; }
grep -q '^pingpong_request_duration_seconds_bucket{le="+Inf"} 3$' "$tmp/metrics.txt" ||
	{ echo "FAIL: unexpected exposition:"; cat "$tmp/metrics.txt"; exit 1; }
if ! out=$(promtool check metrics < "$tmp/metrics.txt" 2>&1); then
	echo "FAIL: promtool check metrics:"; echo "$out"; cat "$tmp/metrics.txt"; exit 1
fi
echo "ok: promtool accepts the exposition"

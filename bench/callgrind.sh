#!/usr/bin/env bash
# bench/callgrind.sh - instructions per decision of pp_store_hit (keyed hash +
# LMDB + limiter), counted by callgrind on a synthetic clock: a figure that
# does not drift with machine load. Prints a markdown table; BENCH_TOP=1 adds
# the costliest functions of each case.
set -uo pipefail
B=${PP_BUILDDIR:?}
N=${CALLGRIND_HITS:-2000}
# Warm-up hits (not counted): 1.2 s of synthetic clock at 10 hits a ms, so a
# 1 s global window holds its steady-state ~1000 buckets when counting starts.
WARM=${CALLGRIND_WARM:-12000}
command -v valgrind >/dev/null || { echo "callgrind: valgrind not installed"; exit 0; }
[ -x "$B/bench/hitloop" ] || { echo "callgrind: $B/bench/hitloop not built"; exit 1; }

tmp=$(mktemp -d /tmp/pp-callgrind.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

# case NAME HITLOOP_FLAGS CONFIG_LINES...
run_case() {
	local name=$1 flags=$2; shift 2
	mkdir -p "$tmp/$name"
	{ echo "db_path = $tmp/$name"; echo "db_map_size = 256M"; echo "log_level = error"
	  local kv; for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done; } >"$tmp/$name.conf"
	valgrind --tool=callgrind --toggle-collect=measured_hit \
		--callgrind-out-file="$tmp/$name.out" \
		"$B/bench/hitloop" -c "$tmp/$name.conf" -n "$N" -w "$WARM" $flags >"$tmp/$name.log" 2>&1 ||
		{ echo "| $name | failed: $(tail -n 2 "$tmp/$name.log" | tr '\n' ' ') | |"; return; }
	local ir admitted
	ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$tmp/$name.out")
	admitted=$(sed -n 's/^hitloop: [0-9]* hits, \([0-9]*\) admitted$/\1/p' "$tmp/$name.log")
	printf '| %s | %s | %s of %s |\n' "$name" "$(awk -v i="$ir" -v n="$N" 'BEGIN {printf "%.0f", i / n}')" \
		"${admitted:-?}" "$N"
	if [ "${BENCH_TOP:-0}" = 1 ] && command -v callgrind_annotate >/dev/null; then
		callgrind_annotate --inclusive=yes "$tmp/$name.out" 2>/dev/null | sed -n '/^Ir/,$p' | head -n 25 >"$tmp/$name.top"
	fi
}

echo "| case (pp_store_hit in steady state, 10 hits per ms of synthetic clock) | instructions per decision | admitted |"
echo "|---|---:|---:|"
# Configs the server accepts (its map check: global_limit x (per-key window /
# global window + 1) live admissions must fit db_map_size).
run_case refuse_key "" per_key_limit=10 per_key_window=60s global_limit=1000 global_window=1s
run_case refuse_global "-d" per_key_limit=10 per_key_window=60s global_limit=2 global_window=1s
run_case admit_distinct "-d" per_key_limit=10 per_key_window=1s global_limit=100000 global_window=1s
run_case admit_distinct_g10ms "-d" per_key_limit=10 per_key_window=1s global_limit=1000 global_window=10ms
run_case admit_distinct_g60s "-d" per_key_limit=10 per_key_window=1s global_limit=100000 global_window=60s
if [ "${BENCH_TOP:-0}" = 1 ]; then
	for f in "$tmp"/*.top; do
		[ -f "$f" ] || continue
		echo; echo "Top inclusive costs, $(basename "$f" .top):"; echo '```'; cat "$f"; echo '```'
	done
fi

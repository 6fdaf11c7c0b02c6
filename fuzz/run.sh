#!/usr/bin/env bash
# fuzz/run.sh - builds the libFuzzer targets (clang, --enable-fuzzing) in
# build-fuzz/ and runs each for FUZZ_SECONDS (default 30) from its seed corpus.
# Exits 0 if no target found a crash, 1 if one did, 77 if clang can't fuzz
# (naming the missing package for tests/run-test's skip policy).
# pp-test-timeout: 900
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${FUZZ_SECONDS:-30}
bdir=${FUZZ_BUILDDIR:-$top/build-fuzz}
jobs=${PP_JOBS:-2}

skip() { # skip PACKAGE MESSAGE
	echo "SKIP ($1): fuzz: $2"
	[ -z "${PP_SKIP_FILE:-}" ] || echo "$1" >>"$PP_SKIP_FILE"
	exit 77
}
command -v clang >/dev/null || skip clang "clang not installed (Debian packages clang and libclang-rt-dev, in scripts/packages)"
# libFuzzer's runtime comes with libclang-rt-*-dev; probe it before building.
probe=$(mktemp -d) || exit 1
trap 'rm -rf "$probe"' EXIT
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe/p.c"
clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>"$probe/err" ||
	skip libclang-rt-dev "clang cannot link libFuzzer (Debian package libclang-rt-dev, in scripts/packages): $(head -n 3 "$probe/err")"

cd "$top" || exit 1
[ -x configure ] || autoreconf -fi >/dev/null || { echo "fuzz: autoreconf failed"; exit 1; }
mkdir -p "$bdir"
(cd "$bdir" && { [ -f Makefile ] || "$top/configure" -q CC=clang --enable-fuzzing; }) ||
	{ echo "fuzz: configure failed"; exit 1; }
targets=$(cd "$top/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
for t in $targets; do
	make -C "$bdir" -s -j"$jobs" "fuzz/$t" || { echo "fuzz: building $t failed"; exit 1; }
done

rc=0
for t in $targets; do
	name=${t#fuzz_}
	work="$probe/$name"
	mkdir -p "$work/corpus" "$work/artifacts"
	# Run on a copy: the committed seeds stay small and reviewed.
	[ -d "$top/fuzz/corpus/$name" ] && cp "$top/fuzz/corpus/$name"/* "$work/corpus/" 2>/dev/null
	echo "fuzz: $t for ${secs}s"
	if ! UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
		"$bdir/fuzz/$t" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
			-print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" \
			>"$work/log" 2>&1; then
		echo "fuzz: $t FAILED; last lines:"
		tail -n 40 "$work/log"
		for a in "$work/artifacts"/*; do
			[ -f "$a" ] || continue
			mkdir -p "$top/fuzz/crashes"
			cp "$a" "$top/fuzz/crashes/$name-$(basename "$a")"
			echo "fuzz: reproducer saved as fuzz/crashes/$name-$(basename "$a")"
		done
		rc=1
	else
		grep -E '^stat::number_of_executed_units|^Done' "$work/log" | sed "s/^/fuzz: $t: /"
	fi
done
exit $rc

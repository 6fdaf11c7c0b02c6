#!/usr/bin/env bash
# tests/faults/valgrind.sh - every unit test binary (UNIT_TESTS) under valgrind
# memcheck, Check's fork off so the tests run inside valgrind: leaks and
# invalid accesses fail. Usage: valgrind.sh [TEST-BINARY...] (default: all).
# pp-test-timeout: 1200
set -uo pipefail
B=${PP_BUILDDIR:-$(pwd)}
. "${PP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pp_require valgrind

if [ $# -gt 0 ]; then
	tests=("$@")
else
	# Inside make check the parent's MAKEFLAGS would add directory lines.
	read -r -a tests <<<"$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -s --no-print-directory -C "$B" print-unit-tests 2>/dev/null | grep -v '^make' | tail -n 1)"
fi
[ "${#tests[@]}" -gt 0 ] || { echo "FAIL: no unit tests listed by make print-unit-tests"; exit 1; }

# test_store's hammer (8 processes, 3 s of wall clock) measures time and
# cannot pass at valgrind's speed: it is tagged "timing" and left out below
# (CK_EXCLUDE_TAGS); the rest of test_store runs. PP_VALGRIND_SKIP leaves out
# whole binaries, by hand only.
skip=" ${PP_VALGRIND_SKIP-} "

pp_tmpdir pp-valgrind
tmp=$PP_TMP
fails=0
for t in "${tests[@]}"; do
	case $skip in *" $t "*) echo "SKIP: $t (PP_VALGRIND_SKIP)"; continue ;; esac
	bin=$t
	[ -x "$bin" ] || bin=$B/$t
	[ -x "$bin" ] || { echo "FAIL: $t not built"; fails=$((fails + 1)); continue; }
	log=$tmp/$(basename "$t").log
	# Bounded: the unit tests take seconds; valgrind makes that ~30x.
	if CK_FORK=no CK_DEFAULT_TIMEOUT=120 CK_EXCLUDE_TAGS=timing timeout 600 valgrind --tool=memcheck -q \
		--error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --track-origins=yes \
		"$bin" >"$log" 2>&1; then
		echo "PASS: $t under valgrind"
	else
		echo "FAIL: $t under valgrind; last lines:"
		tail -n 40 "$log"
		fails=$((fails + 1))
	fi
done
[ "$fails" -eq 0 ]

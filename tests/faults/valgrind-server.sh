#!/usr/bin/env bash
# tests/faults/valgrind-server.sh - the workers themselves under valgrind
# memcheck while the integration tests of the API (every request case, the
# quota headers, invalid requests) run against them: any invalid access or
# use of uninitialised memory on the request path fails.
# pp-test-timeout: 900
set -uo pipefail
. "${PP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pp_require valgrind
pp_tmpdir pp-vgserver
logs=$PP_TMP
export PP_WORKER_WRAPPER="$(command -v valgrind) --error-exitcode=99 --track-origins=yes --log-file=$logs/vg.%p.log"
export PP_WORKERS=2
rc=0
for t in cases.sh noquota.sh; do
	echo "# $t with the workers under valgrind"
	bash "$PP_SRCDIR/tests/integration/$t" || { echo "FAIL: $t under valgrind"; rc=1; }
done
n=$(ls "$logs"/vg.*.log 2>/dev/null | wc -l)
[ "$n" -ge 2 ] || { echo "FAIL: no valgrind logs: the workers did not run under valgrind"; exit 1; }
bad=$(grep -L 'ERROR SUMMARY: 0 errors' "$logs"/vg.*.log)
if [ -n "$bad" ]; then
	echo "FAIL: memcheck found errors in a worker:"
	for f in $bad; do grep -E -A20 '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched)' "$f" | head -60; done
	rc=1
fi
grep -h 'ERROR SUMMARY' "$logs"/vg.*.log | sort | uniq -c | sed 's/^/# /'
exit $rc

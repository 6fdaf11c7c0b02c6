# bench/lib.sh - sourced by bench/run.sh and bench/refusal-cache.sh: the build
# and source folders, the knobs both read, the tests' harness (temp dir,
# worker groups, nginx writer and start, every PID stopped on exit) and the
# tools every bench needs. Usage: . bench/lib.sh HARNESS TEMP-PREFIX, where
# HARNESS is tests/lib.sh or a layer over it (tests/redis/lib.sh,
# tests/integration/refusal-cache-lib.sh), relative to the source folder.
set -uo pipefail

B=${PP_BUILDDIR:?PP_BUILDDIR must name the build directory}
S=${PP_SRCDIR:?PP_SRCDIR must name the source directory}
SECS=${BENCH_SECONDS:-3}
CONNS=${BENCH_CONNS:-32}
WORKERS=${BENCH_WORKERS:-2}
PP_NGINX=${NGINX:-${PP_NGINX:-/usr/sbin/nginx}}
. "$S/$1"

# A bench that cannot run ends with a message, never a skip.
die() { echo "bench: $*" >&2; exit 1; }

# bench_require CMD...: a bench is no test, so a missing tool ends it
# (naming scripts/packages) rather than skipping.
bench_require() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || die "$t not found (see scripts/packages)"
	done
}
bench_require wrk spawn-fcgi multiwatch
[ -x "$PP_NGINX" ] || die "nginx not found at $PP_NGINX"

pp_tmpdir "$2"
tmp=$PP_TMP

# start_group NAME PROG [ARGS...]: WORKERS processes on $tmp/NAME.sock,
# multiwatch's PID in grp_NAME (for the CPU figures).
start_group() {
	local name=$1
	shift
	pp_spawn_workers "$tmp/$name.sock" "$tmp/$name.log" "$WORKERS" "$@"
	pp_track "$PP_SPAWNED"
	eval "grp_$name=$PP_SPAWNED"
}

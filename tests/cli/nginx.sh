# tests/cli/nginx.sh - sourced by the client's shell tests: tests/lib.sh (temp
# dir, free port, nginx by PID, pp_check/pp_fail/pp_done) plus a stub nginx
# with the test's own locations and no server behind it.
#
#   cli_setup                   temp dir $PP_TMP (www/ is the stub's root), the
#                               EXIT trap stops what we started
#   cli_nginx_start PORT CONF   nginx on 127.0.0.1:PORT with CONF inside server {}
#                               access log $PP_TMP/access.log: "msec status method uri"
#   cli_stub CONF               nginx with CONF on a free port: $CLI_PORT, and
#                               $CLI_BASE = http://127.0.0.1:$CLI_PORT
#   cli_run SECS OUT ARGS...    the client with ARGS, SIGINT after SECS;
#                               stdout+stderr to OUT, exit code in $CLI_RC
#   cli_gaps [URI], cli_events KIND FILE
#   PINGPONG                    the client binary under test
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PINGPONG=$PP_BUILDDIR/pingpong
# The stub's access log: the fields the client tests read.
PP_NGINX_LOG='$msec $status $request_method $uri'
# No FastCGI behind the stub: a path it has no location for is a 404.
PP_NGINX_PASS=
# On a failure, the client's output next to nginx's logs.
PP_FAIL_LOGS='*.out access.log'
PP_KEEP=${PP_KEEP:-${CLI_KEEP:-}}

# The client binary and nginx are needed; no worker is (stubs only).
cli_setup() {
	pp_require nginx
	[ -x "$PINGPONG" ] || pp_die "no $PINGPONG (build first)"
	pp_tmpdir pp-cli
	mkdir -p "$PP_TMP/www"
}

# The stub's CONF after a document root of $PP_TMP/www (html502.sh makes
# its "up" file there); a port already taken ends the test.
cli_nginx_start() {
	local PP_NGINX_EXTRA="		root $PP_TMP/www;
$2"
	pp_nginx_conf "$1"
	pp_start_nginx "$1" || pp_die "nginx did not start on port $1: port taken"
}

# A stub on a port of its own, for tests that need no fixed one.
cli_stub() {
	CLI_PORT=$(pp_free_port) || exit 1
	CLI_BASE=http://127.0.0.1:$CLI_PORT
	cli_nginx_start "$CLI_PORT" "$1"
}

# The client as a person stops it: SIGINT after SECS (its exit 130 is checked).
cli_run() {
	local secs=$1 out=$2
	shift 2
	timeout --preserve-status -s INT "$secs" "$PINGPONG" "$@" >"$out" 2>&1
	CLI_RC=$?
}

# Differences between consecutive access-log times of POST URI (default
# /ping), one a line.
cli_gaps() {
	awk -v u="${1:-/ping}" '$3 == "POST" && $4 == u { if (n++) printf "%.3f\n", $1 - prev; prev = $1 }' \
		"$PP_TMP/access.log"
}

# Number of --json events of one kind in a file.
cli_events() { grep -c "\"event\":\"$1\"" "$2"; }

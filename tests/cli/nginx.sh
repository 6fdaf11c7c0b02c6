# tests/cli/nginx.sh - sourced by the client's shell tests: a temp dir, a
# small nginx with the test's own locations on a free port, checks. No server.
#
#   cli_setup                   temp dir $CLI_TMP, EXIT trap stops what we started
#   cli_free_port               prints a free 127.0.0.1 port (never 8080)
#   cli_nginx_start PORT CONF   nginx on 127.0.0.1:PORT with CONF inside server {}
#                               access log $CLI_TMP/access.log: "msec status method uri"
#   cli_nginx_stop
#   cli_stub CONF               nginx with CONF on a free port: $CLI_PORT, and
#                               $CLI_BASE = http://127.0.0.1:$CLI_PORT
#   cli_run SECS OUT ARGS...    the client with ARGS, SIGINT after SECS;
#                               stdout+stderr to OUT, exit code in $CLI_RC
#   cli_fail MSG / cli_check COND MSG / cli_done
#   PINGPONG                    the client binary under test

PP_BUILDDIR=${PP_BUILDDIR:-$(pwd)}
PINGPONG=$PP_BUILDDIR/pingpong
NGINX=${PP_NGINX:-/usr/sbin/nginx}
CLI_FAILS=0
CLI_NGINX_PID=

cli_fail() { CLI_FAILS=$((CLI_FAILS + 1)); echo "FAIL: $*" >&2; }
cli_check() { eval "$1" || cli_fail "$2 [$1]"; }
cli_done() {
	if [ "$CLI_FAILS" -gt 0 ]; then
		echo "$(basename "$0"): $CLI_FAILS check(s) failed" >&2
		exit 1
	fi
	echo "$(basename "$0"): all checks passed"
	exit 0
}

cli_cleanup() {
	local rc=$?
	trap - EXIT
	cli_nginx_stop
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -d "${CLI_TMP:-}" ]; then
		for f in "$CLI_TMP"/*.out "$CLI_TMP/access.log" "$CLI_TMP/error.log"; do
			[ -s "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
		done
	fi
	[ -n "${CLI_TMP:-}" ] && [ -z "${CLI_KEEP:-}" ] && rm -rf "$CLI_TMP"
	exit "$rc"
}

cli_setup() {
	[ -x "$NGINX" ] || { echo "SKIP: no nginx at $NGINX" >&2; exit 77; }
	[ -x "$PINGPONG" ] || { echo "ERROR: no $PINGPONG (build first)" >&2; exit 1; }
	CLI_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pp-cli.XXXXXX") || exit 1
	chmod 755 "$CLI_TMP"
	mkdir -p "$CLI_TMP/www" "$CLI_TMP/nginx"
	trap cli_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

cli_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cli_free_port() { "$PP_SRCDIR/tests/free-port"; }

cli_nginx_start() {
	local port=$1 conf=$2 user='' i
	[ "$(id -u)" -eq 0 ] && user="user root;"
	cat >"$CLI_TMP/nginx.conf" <<NGINXCONF
$user
worker_processes 1;
pid $CLI_TMP/nginx.pid;
error_log $CLI_TMP/error.log warn;
events { worker_connections 64; }
http {
	log_format cli '\$msec \$status \$request_method \$uri';
	access_log $CLI_TMP/access.log cli;
	client_body_temp_path $CLI_TMP/nginx/client_body;
	fastcgi_temp_path $CLI_TMP/nginx/fastcgi;
	proxy_temp_path $CLI_TMP/nginx/proxy;
	uwsgi_temp_path $CLI_TMP/nginx/uwsgi;
	scgi_temp_path $CLI_TMP/nginx/scgi;
	server {
		listen 127.0.0.1:$port;
		root $CLI_TMP/www;
$conf
	}
}
NGINXCONF
	"$NGINX" -p "$CLI_TMP" -c "$CLI_TMP/nginx.conf" -g 'daemon off;' \
		</dev/null >"$CLI_TMP/nginx.out" 2>&1 &
	CLI_NGINX_PID=$!
	for i in $(seq 1 100); do
		cli_port_open "$port" && return 0
		kill -0 "$CLI_NGINX_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "ERROR: nginx did not start on port $port: $(cat "$CLI_TMP/nginx.out")" >&2
	exit 1
}

cli_nginx_stop() {
	local pid=$CLI_NGINX_PID i
	[ -n "$pid" ] || return 0
	CLI_NGINX_PID=
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cli_stub() {
	CLI_PORT=$(cli_free_port) || exit 1
	CLI_BASE=http://127.0.0.1:$CLI_PORT
	cli_nginx_start "$CLI_PORT" "$1"
}

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
		"$CLI_TMP/access.log"
}

# Number of --json events of one kind in a file.
cli_events() { grep -c "\"event\":\"$1\"" "$2"; }

# tests/lib.sh - the one harness every shell test sources (integration, CLI,
# faults, Redis, deploy) and bench/ too: a temp dir, real nginx in front of
# spawn-fcgi/multiwatch workers on a free 127.0.0.1 port, stopped by PID, asserts.
#
# API (keep stable, other tests use it):
#   pp_setup                      temp dir in $PP_TMP, EXIT trap stops all by PID;
#                                 needs the worker binary, nginx, spawn-fcgi...
#   pp_tmpdir [PREFIX]            only the temp dir and the EXIT trap
#   pp_at_exit COMMAND            a clean-up of the test's own, run by that trap
#   pp_track PID                  a background PID the trap stops
#   pp_wait_for SECONDS CMD...    polls CMD, bounded
#   pp_require CMD...             skip (77) naming the package if a tool is missing
#   pp_skip REASON MESSAGE        skip (77), naming why (tests/run-test policy)
#   pp_free_port                  prints a free 127.0.0.1 TCP port
#   pp_start_server KEY=VALUE...  config + workers + nginx; exports PP_PORT,
#                                 PP_URL, PP_ACCESS_LOG; waits for /healthz
#   pp_stop_server                stops nginx and the workers
#   pp_start_workers / pp_stop_workers / pp_restart_workers
#   pp_spawn_workers SOCK LOG N PROG [ARGS...]   any FastCGI group (bench)
#   pp_nginx_conf PORT            $PP_TMP/nginx.conf (parameters below)
#   pp_start_nginx PORT           nginx on that conf, by PID; waits for PORT
#   pp_request METHOD PATH [curl args...]   sets PP_STATUS, PP_BODY, PP_HEADERS
#   pp_ping KEY [BODY]            POST /ping with JSON content type
#   pp_ping_until_200 TRIES PAUSE KEY-FORMAT   bounded wait for an admission
#   pp_expect_status N, pp_expect_header NAME ERE, pp_expect_no_header NAME,
#   pp_expect_json JQ-FILTER VALUE, pp_expect_json_ok JQ-BOOL-EXPR,
#   pp_expect_api_framing         application/json + exact Content-Length
#   pp_fail MSG, pp_check COND MSG, pp_done (exit 0 or 1 with a count)
#   pp_header NAME                prints the last answer's header value
#   pp_load SECONDS CONNS         wrk load of pings (post.lua), bounded
#   pp_check_windows LIMIT WINDOW_S [URI]   admissions in the access log obey
#                                 the sliding window exactly
#   pp_over_admitted LIMIT WINDOW_MS        windows provably over the limit
# Env: PP_BUILDDIR (binary dir), PP_FCGI (the worker binary, default
# $PP_BUILDDIR/pingpong-fcgi), PP_WORKERS (default 4), PP_KEEP (keep the temp
# dir), PP_NGINX (nginx binary, default /usr/sbin/nginx).
# nginx.conf parameters (shell variables, each optional; see pp_nginx_conf):
# PP_NGINX_MAIN, PP_NGINX_PROCS, PP_NGINX_LOG, PP_NGINX_HTTP, PP_NGINX_EXTRA
# (extra server-level directives, e.g. location blocks), PP_NGINX_PASS.

PP_BUILDDIR=${PP_BUILDDIR:-$(pwd)}
PP_SRCDIR=${PP_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PP_NGINX=${PP_NGINX:-/usr/sbin/nginx}
PP_FCGI=${PP_FCGI:-$PP_BUILDDIR/pingpong-fcgi}
PP_FAILS=0
PP_PIDS=()
PP_AT_EXIT=()
PP_WORKERS_PID=
PP_NGINX_PID=

# Progress lines go to stderr with "# ", so they read as comments in the log.
pp_log() { echo "# $*" >&2; }
# A failed check is counted, not fatal: the test goes on and reports all of
# them; pp_done turns the count into the exit status.
pp_fail() {
	PP_FAILS=$((PP_FAILS + 1))
	echo "FAIL: $*" >&2
}
pp_check() { # pp_check "test expression" "message"
	if ! eval "$1"; then pp_fail "$2 [$1]"; fi
}
# pp_skip REASON MESSAGE: exit 77 naming why this machine cannot run the test.
# REASON is a package name (a tool is missing) or a condition such as
# "container"; tests/run-test fails the skip unless PP_ALLOW_SKIP lists it.
pp_skip() {
	local reason=$1
	shift
	echo "SKIP ($reason): $*" >&2
	[ -z "${PP_SKIP_FILE:-}" ] || echo "$reason" >>"$PP_SKIP_FILE"
	exit 77
}
# What leaves the test unable to go on (no server, no port): exit at once.
pp_die() { echo "ERROR: $*" >&2; exit 1; }

# The end of every test: 1 with the count if any check failed, else 0.
pp_done() {
	if [ "$PP_FAILS" -gt 0 ]; then
		echo "$(basename "$0"): $PP_FAILS check(s) failed" >&2
		exit 1
	fi
	echo "$(basename "$0"): all checks passed"
	exit 0
}

# The Debian package (scripts/packages) that ships a command.
pp_package_of() {
	case $1 in
	mdb_stat | mdb_dump) echo lmdb-utils ;;
	pgrep | pkill | ps) echo procps ;;
	promtool) echo prometheus ;;
	man) echo man-db ;;
	systemd-analyze) echo systemd ;;
	redis-server | redis-cli) echo redis-server ;;
	node) echo nodejs ;;
	*) echo "$1" ;;
	esac
}

# pp_require CMD...: each command is there, or the test skips naming the
# package that ships it (a failure under scripts/test unless allowed).
pp_require() {
	local c pkg
	for c in "$@"; do
		pkg=$(pp_package_of "$c")
		if [ "$c" = nginx ]; then
			[ -x "$PP_NGINX" ] || pp_skip nginx "nginx not found at $PP_NGINX (Debian package nginx, in scripts/packages)"
		else
			command -v "$c" >/dev/null 2>&1 ||
				pp_skip "$pkg" "$c not installed (Debian package $pkg, in scripts/packages)"
		fi
	done
}

# Stops one PID: TERM, a bounded wait, then KILL. Only ever our own PIDs.
pp_kill_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		# A zombie child of this shell only goes away with wait.
		if [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]; then break; fi
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] &&
		kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# Direct children of a PID (by /proc, never by name).
pp_children() {
	# Field 4 of stat is the parent; comm (field 2) may hold spaces, so cut
	# after its closing parenthesis.
	cat /proc/[0-9]*/stat 2>/dev/null | sed -n 's/^\([0-9]*\) (.*) [A-Za-z] \([0-9]*\) .*/\1 \2/p' |
		awk -v p="$1" '$2 == p { print $1 }'
}

# pp_at_exit COMMAND: run COMMAND (a test's own clean-up: containers,
# mounts) in the EXIT trap, first, before the PIDs are stopped.
pp_at_exit() { PP_AT_EXIT+=("$1"); }

# The EXIT trap: runs the pp_at_exit commands, stops every PID the test
# started, fails the test on a sanitizer report, shows the server side of a
# failure (workers.log, error.log and the files in PP_FAIL_LOGS, names
# relative to $PP_TMP) and removes the temp dir unless PP_KEEP (or
# PP_KEEP_FAILED on a failure).
pp_cleanup() {
	local rc=$? pid f c
	trap - EXIT
	for c in "${PP_AT_EXIT[@]}"; do eval "$c"; done
	pp_stop_server
	for pid in "${PP_PIDS[@]}"; do pp_kill_pid "$pid"; done
	# Under a sanitizer build a worker's report lands in workers.log, and
	# multiwatch would quietly restart it: any report fails the test.
	if [ -n "${PP_TMP:-}" ] && grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$PP_TMP/workers.log" 2>/dev/null; then
		echo "FAIL: a sanitizer reported in workers.log:" >&2
		grep -E -A12 'AddressSanitizer|LeakSanitizer|runtime error:' "$PP_TMP/workers.log" | head -40 >&2
		[ "$rc" -eq 0 ] && rc=1
	fi
	if [ -n "${PP_TMP:-}" ] && [ -d "$PP_TMP" ]; then
		if [ -n "${PP_KEEP:-}" ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "${PP_KEEP_FAILED:-}" ]; }; then
			echo "# kept $PP_TMP" >&2
		else
			if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
				# Show the server side of a failure before the evidence goes.
				for f in $(cd "$PP_TMP" && echo workers.log error.log ${PP_FAIL_LOGS:-}); do
					f=$PP_TMP/$f
					[ -s "$f" ] && { echo "--- ${f#"$PP_TMP"/} (tail)" >&2; tail -n 30 "$f" >&2; }
				done
			fi
			rm -rf "$PP_TMP"
		fi
	fi
	exit "$rc"
}

# pp_tmpdir [PREFIX]: the test's temp dir ($PP_TMP, mode 755: nginx workers
# and lighttpd may drop privileges) and the EXIT trap that cleans up, for
# tests that start no workers of their own (the client's, deploy, bench).
pp_tmpdir() {
	PP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/${1:-pp-test}.XXXXXX") || pp_die "mktemp failed"
	chmod 755 "$PP_TMP"
	export PP_TMP
	trap pp_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

# pp_setup: the temp dir and trap, and what pp_start_server needs: the
# worker binary (built by make check), nginx, spawn-fcgi, multiwatch, curl, jq.
pp_setup() {
	pp_tmpdir pp-test
	[ -x "$PP_FCGI" ] || pp_die "no $PP_FCGI (build first; make check builds the test binaries)"
	pp_require nginx spawn-fcgi multiwatch curl jq
}

# pp_wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds
# (0) or SECONDS pass (1): every wait on another process is bounded.
pp_wait_for() {
	local n=$(($1 * 10)) i
	shift
	for i in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}

# Remembers a background PID for the EXIT trap.
pp_track() { PP_PIDS+=("$1"); }

# True when something accepts on 127.0.0.1:PORT (bash's /dev/tcp, no tool).
pp_port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# One free-port picker for every test and bench: tests/free-port.
pp_free_port() { "$PP_SRCDIR/tests/free-port"; }

# pp_write_config KEY=VALUE...: $PP_TMP/pingpong.conf, the store in $PP_TMP/db.
pp_write_config() {
	local kv
	{
		echo "# written by tests/lib.sh"
		echo "db_path = $PP_TMP/db"
		for kv in "$@"; do
			echo "${kv%%=*} = ${kv#*=}"
		done
	} >"$PP_TMP/pingpong.conf"
}

# pp_spawn_workers SOCK LOG N PROG [ARGS...]: N processes of PROG under
# multiwatch on the unix socket SOCK, as conf/ runs them (spawn-fcgi -n
# hands the socket over as fd 0); output appended to LOG. PP_SPAWNED is
# multiwatch's PID, for the caller to stop (pp_track, or as PP_WORKERS_PID).
# Waits (5 s) for the socket. PP_SOCK_MODE (e.g. 0600) sets its mode. multiwatch is looked up
# on PATH here because it execs PROG without a PATH search, and a test may
# put a wrapper first on PATH (faults/kill9.sh).
pp_spawn_workers() {
	local sock=$1 log=$2 n=$3 i
	local -a mode=()
	shift 3
	[ -z "${PP_SOCK_MODE:-}" ] || mode=(-M "$PP_SOCK_MODE")
	rm -f "$sock"
	spawn-fcgi -s "$sock" "${mode[@]}" -n -- "$(command -v multiwatch)" -f "$n" -- "$@" \
		</dev/null >>"$log" 2>&1 &
	PP_SPAWNED=$!
	for i in $(seq 1 100); do
		[ -S "$sock" ] && return 0
		kill -0 "$PP_SPAWNED" 2>/dev/null || break
		sleep 0.05
	done
	pp_die "workers did not create $sock; $log: $(tail -n 5 "$log" 2>/dev/null)"
}

# The test's own workers on $PP_TMP/fcgi.sock. PP_WORKER_WRAPPER (words,
# e.g. "/usr/bin/valgrind --log-file=DIR/vg.%p") runs each under a tool.
pp_start_workers() {
	local -a wrap
	read -r -a wrap <<<"${PP_WORKER_WRAPPER:-}"
	pp_spawn_workers "$PP_TMP/fcgi.sock" "$PP_TMP/workers.log" "${PP_WORKERS:-4}" \
		"${wrap[@]}" "$PP_FCGI" -c "$PP_TMP/pingpong.conf"
	PP_WORKERS_PID=$PP_SPAWNED
}

# multiwatch forwards TERM to its children and waits; whatever survives the
# bounded wait is killed by PID.
pp_stop_workers() {
	[ -n "$PP_WORKERS_PID" ] || return 0
	local kids
	kids=$(pp_children "$PP_WORKERS_PID")
	pp_kill_pid "$PP_WORKERS_PID"
	local k
	for k in $kids; do
		kill -0 "$k" 2>/dev/null && kill -KILL "$k" 2>/dev/null
	done
	PP_WORKERS_PID=
}

# New workers on the same config and socket (nginx keeps running).
pp_restart_workers() {
	pp_stop_workers
	pp_start_workers
	pp_wait_healthz || pp_die "workers did not answer /healthz after restart"
}

# The workers' PIDs: multiwatch's children, by /proc.
pp_worker_pids() { [ -n "$PP_WORKERS_PID" ] && pp_children "$PP_WORKERS_PID"; }

# pp_nginx_conf PORT: $PP_TMP/nginx.conf, every path inside $PP_TMP,
# with one server on 127.0.0.1:PORT (none when PORT is empty: the servers
# are then all in PP_NGINX_HTTP). One writer for every test and bench, so
# the shell variables below say how a config differs:
#   PP_NGINX_MAIN   main-context lines (load_module ...)
#   PP_NGINX_PROCS  worker_processes (1)
#   PP_NGINX_LOG    log_format of $PP_TMP/access.log, or "off"; the default
#                   fields "msec status request_time method uri
#                   upstream_response_time body_bytes" are what
#                   pp_check_windows and pp_access_lines read
#   PP_NGINX_HTTP   http-context lines after the common ones (zones,
#                   includes, whole server blocks)
#   PP_NGINX_EXTRA  server-context lines of PORT's server (locations)
#   PP_NGINX_PASS   the unix socket "location /" passes to (default
#                   $PP_TMP/fcgi.sock); set and empty: no such location (a
#                   stub server answering from its own locations)
pp_nginx_conf() {
	local port=$1 user= pass=${PP_NGINX_PASS-$PP_TMP/fcgi.sock}
	local log="${PP_NGINX_LOG:-\$msec \$status \$request_time \$request_method \$uri \$upstream_response_time \$body_bytes_sent}"
	[ "$(id -u)" -eq 0 ] && user="user root;"
	if [ "$log" = off ]; then
		log="access_log off;"
	else
		log="log_format pp '$log';
	access_log $PP_TMP/access.log pp;"
	fi
	mkdir -p "$PP_TMP/nginx"
	{
		cat <<NGINX
# written by tests/lib.sh
${PP_NGINX_MAIN:-}
$user
worker_processes ${PP_NGINX_PROCS:-1};
pid $PP_TMP/nginx.pid;
error_log $PP_TMP/error.log warn;
events { worker_connections 1024; }
http {
	$log
	client_body_temp_path $PP_TMP/nginx/client_body;
	fastcgi_temp_path $PP_TMP/nginx/fastcgi;
	proxy_temp_path $PP_TMP/nginx/proxy;
	uwsgi_temp_path $PP_TMP/nginx/uwsgi;
	scgi_temp_path $PP_TMP/nginx/scgi;
	keepalive_timeout 60s;
	keepalive_requests 1000000;
${PP_NGINX_HTTP:-}
NGINX
		if [ -n "$port" ]; then
			cat <<NGINX
	server {
		listen 127.0.0.1:$port;
		server_name localhost;
${PP_NGINX_EXTRA:-}
NGINX
			[ -z "$pass" ] || cat <<NGINX
		location / {
			include /etc/nginx/fastcgi_params;
			fastcgi_pass unix:$pass;
		}
NGINX
			echo "	}"
		fi
		echo "}"
	} >"$PP_TMP/nginx.conf"
}

# The config pp_start_server writes: pp_nginx_conf as the test's variables
# set it. A harness layer may replace this function (refusal-cache-lib.sh
# puts the shipped refusal cache in front of /ping).
pp_write_nginx_conf() { pp_nginx_conf "$@"; }

# Bounded (10 s) wait for /healthz to answer 200 through nginx.
pp_wait_healthz() {
	local i code
	for i in $(seq 1 100); do
		code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$PP_URL/healthz" 2>/dev/null)
		[ "$code" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}

# pp_start_nginx PORT: nginx in the foreground on $PP_TMP/nginx.conf (its
# PID in PP_NGINX_PID, stopped by pp_stop_server or the EXIT trap); waits
# (10 s, a loaded machine) until PORT accepts. Returns 1 when another process took PORT
# between the pick and the bind (the caller picks another); any other
# failure ends the test.
pp_start_nginx() {
	local port=$1 i
	"$PP_NGINX" -p "$PP_TMP" -e "$PP_TMP/error.log" -c "$PP_TMP/nginx.conf" -g 'daemon off;' \
		</dev/null >>"$PP_TMP/nginx.out" 2>&1 &
	PP_NGINX_PID=$!
	for i in $(seq 1 200); do
		pp_port_in_use "$port" && return 0
		kill -0 "$PP_NGINX_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$PP_NGINX_PID" 2>/dev/null && pp_die "nginx did not listen on $port within 10 s"
	wait "$PP_NGINX_PID" 2>/dev/null
	PP_NGINX_PID=
	grep -q 'Address already in use' "$PP_TMP/nginx.out" "$PP_TMP/error.log" 2>/dev/null && return 1
	pp_die "nginx did not start: $(tail -n 5 "$PP_TMP/nginx.out" "$PP_TMP/error.log" 2>/dev/null)"
}

# pp_start_server KEY=VALUE...: config, workers, then nginx on a free port;
# a port taken between the pick and the bind costs a retry, not the test.
pp_start_server() {
	pp_write_config "$@"
	mkdir -p "$PP_TMP/db"
	: >"$PP_TMP/access.log"
	pp_start_workers
	local try port
	for try in 1 2 3 4 5; do
		port=$(pp_free_port) || pp_die "no free port"
		pp_write_nginx_conf "$port"
		export PP_PORT=$port PP_URL="http://127.0.0.1:$port" PP_ACCESS_LOG="$PP_TMP/access.log"
		if pp_start_nginx "$port"; then
			pp_wait_healthz && return 0
			pp_die "no 200 from $PP_URL/healthz within 10 s; workers.log: $(tail -n 5 "$PP_TMP/workers.log")"
		fi
	done
	pp_die "nginx found no free port in 5 tries"
}

# Stops nginx, then the workers, by PID (the EXIT trap calls it too).
pp_stop_server() {
	if [ -n "$PP_NGINX_PID" ]; then
		pp_kill_pid "$PP_NGINX_PID"
		PP_NGINX_PID=
	fi
	pp_stop_workers
}

# --- requests and assertions --------------------------------------------------

# pp_request METHOD PATH [curl args...]: one request, a fresh connection.
# Sets PP_STATUS, PP_BODY (file), PP_HEADERS (file).
pp_request() {
	local method=$1 path=$2
	shift 2
	PP_BODY=$PP_TMP/last.body
	PP_HEADERS=$PP_TMP/last.headers
	PP_LAST="$method $path"
	PP_STATUS=$(curl -s -m 10 -X "$method" -o "$PP_BODY" -D "$PP_HEADERS" \
		-w '%{http_code}' -H 'Expect:' "$@" "$PP_URL$path") || PP_STATUS=000
}

# pp_ping KEY [BODY]: a well-formed ping (KEY empty = no header).
pp_ping() {
	local key=$1 body=${2-'{"request":"ping"}'}
	if [ -n "$key" ]; then
		pp_request POST /ping -H 'Content-Type: application/json' \
			-H "x-secret-key: $key" --data-binary "$body"
	else
		pp_request POST /ping -H 'Content-Type: application/json' --data-binary "$body"
	fi
}

# pp_ping_until_200 TRIES PAUSE KEY: pings until one is admitted (0) or
# TRIES pings, PAUSE s apart, were not (1), as a service coming back is
# waited for. KEY is a printf format given the try's number ("k-%d": a
# fresh key each try; no %d: the same key).
pp_ping_until_200() {
	local tries=$1 pause=$2 fmt=$3 i key
	for i in $(seq 1 "$tries"); do
		# shellcheck disable=SC2059
		key=$(printf "$fmt" "$i")
		pp_ping "$key"
		[ "$PP_STATUS" = 200 ] && return 0
		sleep "$pause"
	done
	return 1
}

# Prints the value of the last answer's header NAME (case-insensitive, first).
pp_header() {
	awk -v n="$1" 'BEGIN { n = tolower(n) }
		{ sub(/\r$/, "") }
		{ i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) {
			v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v; exit } }' "$PP_HEADERS"
}

# The last answer's status is N.
pp_expect_status() {
	[ "$PP_STATUS" = "$1" ] ||
		pp_fail "$PP_LAST: status $PP_STATUS, want $1; body: $(head -c 300 "$PP_BODY")"
}

pp_expect_header() { # NAME ERE (whole value must match)
	local v
	v=$(pp_header "$1")
	[[ "$v" =~ ^($2)$ ]] || pp_fail "$PP_LAST: header $1 is '$v', want /^$2\$/"
}

# The last answer has no header NAME.
pp_expect_no_header() {
	grep -qi "^$1:" "$PP_HEADERS" && pp_fail "$PP_LAST: unexpected header $(grep -i "^$1:" "$PP_HEADERS" | tr -d '\r')"
	return 0
}

pp_expect_json() { # JQ-FILTER VALUE (compared as jq -c output)
	local got
	got=$(jq -c "$1" <"$PP_BODY" 2>/dev/null) || got="<not JSON>"
	[ "$got" = "$2" ] || pp_fail "$PP_LAST: $1 is $got, want $2; body: $(head -c 300 "$PP_BODY")"
}

pp_expect_json_ok() { # JQ expression that must be true
	jq -e "$1" <"$PP_BODY" >/dev/null 2>&1 ||
		pp_fail "$PP_LAST: body fails ($1): $(head -c 300 "$PP_BODY")"
}

# SPEC: every answer is application/json with a correct Content-Length.
pp_expect_api_framing() {
	local ct cl size
	ct=$(pp_header Content-Type)
	[[ "$ct" =~ ^application/json([[:space:]]*;.*)?$ ]] ||
		pp_fail "$PP_LAST: Content-Type '$ct', want application/json"
	cl=$(pp_header Content-Length)
	size=$(wc -c <"$PP_BODY")
	[ "$cl" = "$size" ] || pp_fail "$PP_LAST: Content-Length '$cl', body has $size bytes"
	jq -e . <"$PP_BODY" >/dev/null 2>&1 || pp_fail "$PP_LAST: body is not JSON: $(head -c 200 "$PP_BODY")"
}

# Lines of the access log as "msec status method uri" for one path.
pp_access_lines() {
	awk -v u="$1" '$5 == u { print $1, $2, $4, $5 }' "$PP_ACCESS_LOG"
}

# pp_load SECONDS CONNECTIONS [wrk args...]: POSTs pings with wrk (post.lua;
# PP_WRK_KEY / PP_WRK_DISTINCT=1 choose the keys), bounded in time.
pp_load() {
	local secs=$1 conns=$2
	shift 2
	pp_require wrk
	timeout $((secs + 20)) wrk -t2 -c"$conns" -d"${secs}s" --timeout 5s \
		-s "$PP_SRCDIR/tests/integration/post.lua" "$@" "$PP_URL/ping" >"$PP_TMP/wrk.out" 2>&1 ||
		pp_fail "wrk failed: $(tail -n 5 "$PP_TMP/wrk.out")"
}

# pp_check_windows LIMIT WINDOW_SECONDS [URI]: from nginx's access log (msec,
# status), checks that the admissions (200s) of URI are exactly what a sliding
# window allows under constant demand: no window (t - W, t] holds more than
# LIMIT, no 429 while fewer than LIMIT were admitted in the window before it,
# and the total is what the windows allow over the run. Log times trail the
# workers' decisions by the answer's latency: PP_WINDOW_TOL seconds (0.25,
# for a loaded 2-core machine) absorb that; test_store checks to the ms. Only 200 and 429 may appear. Sets PP_ADMITTED, PP_REFUSED.
pp_check_windows() {
	local limit=$1 w=$2 uri=${3:-/ping} tol=${PP_WINDOW_TOL:-0.25} out
	# The checked windows are W - tol long: a tolerance of half the window
	# or more would leave nothing to check.
	if ! awk -v t="$tol" -v w="$w" 'BEGIN { exit !(t >= 0 && t < w / 2) }'; then
		pp_fail "windows: PP_WINDOW_TOL=$tol must be below half the window ($w s): nothing would be checked"
		return
	fi
	out=$(awk -v u="$uri" '$5 == u { print $1, $2 }' "$PP_ACCESS_LOG" | sort -n -k1,1 |
		awk -v L="$limit" -v W="$w" -v tol="$tol" '
		$2 == 499 { next } # wrk closed the connection at its deadline
		{ t[++n] = $1; s[n] = $2 }
		$2 == 200 { a[++na] = $1 }
		$2 != 200 && $2 != 429 { other++; if (other <= 3) print "FAIL status " $2 " at " $1 }
		END {
			if (na == 0) { print "FAIL no admissions at all"; exit }
			lo = 1; bad = 0
			for (j = 1; j <= na; j++) {
				while (lo < j && a[lo] <= a[j] - W + tol) lo++
				if (j - lo + 1 > L && bad++ < 3)
					printf "FAIL %d admissions in (%.3f, %.3f], limit %d\n", j - lo + 1, a[j] - W + tol, a[j], L
			}
			lo = 1; hi = 0; bad2 = 0; nref = 0
			for (i = 1; i <= n; i++) {
				if (s[i] != 429) continue
				nref++
				while (hi < na && a[hi + 1] <= t[i] + tol) hi++
				while (lo <= na && a[lo] <= t[i] - W - tol) lo++
				if (hi - lo + 1 < L && bad2++ < 3)
					printf "FAIL 429 at %.3f with only %d admissions in (%.3f, %.3f]\n", t[i], hi - lo + 1, t[i] - W - tol, t[i] + tol
			}
			d = t[n] - a[1]
			elo = L * (int((d - tol) / W) + 1); ehi = L * (int((d + tol) / W) + 1)
			if (na < elo || na > ehi)
				printf "FAIL %d admissions over %.3f s, the windows allow %d..%d\n", na, d, elo, ehi
			printf "STATS %d %d %.3f %d %d\n", na, nref, d, elo, ehi
		}')
	local line
	# No STATS line: the checker died or printed nothing, which is no pass.
	[[ $out == *STATS* || $out == *FAIL* ]] ||
		pp_fail "windows (limit $limit per ${w}s, $uri): the check printed no result: '$out'"
	while IFS= read -r line; do
		case $line in
		FAIL*) pp_fail "windows (limit $limit per ${w}s, $uri): ${line#FAIL }" ;;
		STATS*)
			set -- $line
			PP_ADMITTED=$2 PP_REFUSED=$3
			pp_log "$uri: $2 admitted, $3 refused over $4 s (windows allow $5..$6)"
			;;
		esac
	done <<<"$out"
}

# pp_over_admitted LIMIT WINDOW_MS: prints how many runs of LIMIT+1
# admissions (200s of /ping in the access log) provably fit in less than
# WINDOW_MS, the first three on stderr. nginx logs $msec when the answer is
# done, so a decision fell in [msec - request_time, msec]: a window counts
# only when the admissions do not fit apart even with every decision as far
# from the others as its interval allows (a test that cannot tell the
# decision's own time, as pp_check_windows can, under kill -9 or a full map).
# The admissions, "start end" sorted, stay in $PP_TMP/admits.
pp_over_admitted() {
	awk '$5 == "/ping" && $2 == 200 {printf "%.3f %.3f\n", $1 - $3, $1}' "$PP_ACCESS_LOG" |
		sort -n >"$PP_TMP/admits"
	awk -v L="$1" -v W="$2" '
		{s[NR] = $1; e[NR] = $2}
		END {
			bad = 0
			for (i = 1; i + L <= NR; i++) {
				hi = 0
				for (j = i; j <= i + L; j++) if (e[j] > hi) hi = e[j]
				if ((hi - s[i]) * 1000 < W) { bad++; if (bad <= 3) printf "over-admitted from %.3f to %.3f\n", s[i], hi > "/dev/stderr" }
			}
			print bad
		}' "$PP_TMP/admits"
}

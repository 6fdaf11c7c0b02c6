# tests/deploy/common.sh - sourced by the deploy tests: a temp dir, free ports,
# the shipped nginx site started on them, and cleanup of every PID started.
# shellcheck shell=bash
set -uo pipefail
B=${PP_BUILDDIR:?PP_BUILDDIR is set by make check}
S=${PP_SRCDIR:?PP_SRCDIR is set by make check}
NGINX=${NGINX:-/usr/sbin/nginx}
tmp=$(mktemp -d) || exit 1
chmod 755 "$tmp" # nginx workers and lighttpd may drop privileges
pids=()

cleanup() {
	local p i
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
# On failure, the workers' own lines first (nginx's may be many).
fail() {
	echo "FAIL: $*"
	[ -f "$tmp/stderr" ] && { grep 'pingpong-fcgi' "$tmp/stderr" | tail -10; tail -5 "$tmp/stderr"; }
	exit 1
}
# pp_require CMD... (each tool there, or a skip naming its Debian package) and
# pp_skip REASON MESSAGE come from the integration harness.
. "$S/tests/lib.sh"
skip() { pp_skip "$@"; } # skip REASON MESSAGE

# A TCP port on 127.0.0.1 nothing listens on (never 8080).
free_port() { "$PP_SRCDIR/tests/free-port"; }

# Waits (at most 5 s) until URL answers with the given status.
wait_status() {
	local url=$1 want=$2 i code
	for i in $(seq 1 50); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url")
		[ "$code" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

# POST /ping with key $2 to base URL $1; prints the status, body in $tmp/body.
ping_status() {
	curl -s -o "$tmp/body" -w '%{http_code}' --max-time 5 -X POST \
		-H "x-secret-key: $2" -H 'Content-Type: application/json' \
		--data '{"request":"ping"}' "$1/ping"
}

# Writes $tmp/nginx/nginx.conf: the shipped site (conf/nginx/pingpong.conf)
# on $1 (public) and $2 (ops, loopback), talking to the FastCGI socket $3.
nginx_conf() {
	local http=$1 ops=$2 sock=$3
	mkdir -p "$tmp/nginx"
	sed -e "s/listen 8080;/listen 127.0.0.1:$http;/" -e "s/listen 127.0.0.1:8081;/listen 127.0.0.1:$ops;/" \
	    -e '/listen \[/d' -e "s#unix:/run/pingpong/pingpong.sock#unix:$sock#" \
	    "$S/conf/nginx/pingpong.conf" > "$tmp/nginx/site.conf"
	cat > "$tmp/nginx/nginx.conf" <<CONF
worker_processes 1;
user root;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    access_log $tmp/nginx/access.log;
    client_body_temp_path $tmp/nginx/body;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    proxy_temp_path $tmp/nginx/proxy;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    include $tmp/nginx/site.conf;
}
CONF
	cp /etc/nginx/fastcgi_params "$tmp/nginx/fastcgi_params"
}

# Starts nginx with nginx_conf's configuration.
start_nginx() {
	nginx_conf "$@"
	"$NGINX" -e stderr -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" \
		-g "daemon off; pid $tmp/nginx/nginx.pid; error_log stderr;" 2>>"$tmp/stderr" &
	pids+=($!)
}

# Starts N workers with spawn-fcgi + multiwatch on socket $2, the shipped
# default pingpong.conf, and the store in $tmp/db; extra env from the caller.
start_workers() {
	local n=$1 sock=$2
	mkdir -p "$tmp/db"
	PINGPONG_DB_PATH=$tmp/db spawn-fcgi -n -s "$sock" -M 0600 -- \
		/usr/bin/multiwatch -f "$n" -- "$B/pingpong-fcgi" -c "$B/conf/pingpong.conf" 2>>"$tmp/stderr" &
	pids+=($!)
}

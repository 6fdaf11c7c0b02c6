# tests/redis/lib.sh - what the Redis store tests add to tests/lib.sh:
# a redis-server of the test's own (temp dir, unix socket + free loopback port,
# stopped by PID) and several "hosts" (nginx + workers groups) side by side.
#
#   pp_redis_start [redis-server args...]  exports PP_REDIS_PORT, PP_REDIS_SOCK,
#                                           PP_REDIS_PID, PP_REDIS_URL (tcp)
#   pp_redis_cli ARGS...                    redis-cli on the test's socket
#   pp_redis_stop                           TERM by PID (data is not saved)
#   pp_host_start NAME KEY=VALUE...         one host: its own dir, db_path,
#                                           workers and nginx; URL in PP_HOST_URL_NAME
#   pp_host_stop NAME
# The test's EXIT trap stops all of them by PID (pp_track).

# shellcheck source=../lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

pp_redis_require() {
	pp_require redis-server redis-cli
}

pp_redis_cli() {
	redis-cli -s "$PP_REDIS_SOCK" "$@"
}

pp_redis_start() {
	local dir=$PP_TMP/redis i
	mkdir -p "$dir"
	PP_REDIS_SOCK=$dir/redis.sock
	PP_REDIS_PORT=${PP_REDIS_PORT:-$(pp_free_port)} || pp_die "no free port"
	rm -f "$PP_REDIS_SOCK"
	redis-server --port "$PP_REDIS_PORT" --bind 127.0.0.1 --unixsocket "$PP_REDIS_SOCK" \
		--unixsocketperm 700 --dir "$dir" --save '' --appendonly no \
		--daemonize no --logfile "$dir/redis.log" "$@" </dev/null >/dev/null 2>&1 &
	PP_REDIS_PID=$!
	pp_track "$PP_REDIS_PID"
	for i in $(seq 1 100); do
		[ "$(pp_redis_cli PING 2>/dev/null)" = PONG ] && break
		kill -0 "$PP_REDIS_PID" 2>/dev/null || pp_die "redis-server exited: $(tail -n 5 "$dir/redis.log")"
		sleep 0.05
	done
	[ "$(pp_redis_cli PING 2>/dev/null)" = PONG ] || pp_die "redis-server did not answer PING"
	export PP_REDIS_SOCK PP_REDIS_PORT PP_REDIS_PID PP_REDIS_URL="redis://127.0.0.1:$PP_REDIS_PORT/0"
}

pp_redis_stop() {
	pp_kill_pid "$PP_REDIS_PID"
}

# A key secret every host shares (0600, >= 32 bytes).
pp_key_secret() {
	local f=$PP_TMP/key-secret
	if [ ! -s "$f" ]; then
		(umask 077; head -c 48 /dev/urandom >"$f")
	fi
	echo "$f"
}

# pp_host_start NAME KEY=VALUE...: lib.sh's server in $PP_TMP/NAME. The base
# PP_TMP comes back afterwards; the host's PIDs go to the EXIT trap.
pp_host_start() {
	local name=$1 base=$PP_TMP
	shift
	mkdir -p "$base/$name"
	PP_TMP=$base/$name
	pp_start_server "$@"
	PP_TMP=$base
	eval "PP_HOST_URL_$name=\$PP_URL PP_HOST_NGINX_$name=\$PP_NGINX_PID PP_HOST_WORKERS_$name=\$PP_WORKERS_PID"
	pp_track "$PP_NGINX_PID"
	pp_track "$PP_WORKERS_PID"
	PP_NGINX_PID= PP_WORKERS_PID=
}

pp_host_stop() {
	local name=$1
	eval "PP_NGINX_PID=\$PP_HOST_NGINX_$name PP_WORKERS_PID=\$PP_HOST_WORKERS_$name"
	pp_stop_server
}

# pp_merge_logs OUT HOST...: the hosts' access logs as one, by time (one
# machine, one clock), for pp_check_windows.
pp_merge_logs() {
	local out=$1 h files=()
	shift
	for h in "$@"; do files+=("$PP_TMP/$h/access.log"); done
	sort -n -k1,1 "${files[@]}" >"$out"
}

# pp_max_in_window LOG WINDOW_S [URI]: the most 200s in any (t - W, t].
pp_max_in_window() {
	awk -v u="${3:-/ping}" '$5 == u && $2 == 200 { print $1 }' "$1" | sort -n |
		awk -v W="$2" '{ a[++n] = $1; while (a[lo + 1] <= $1 - W) lo++; if (n - lo > m) m = n - lo }
			END { print m + 0 }'
}

# pp_host_load HOST SECONDS CONNS [wrk args]: wrk against one host, in the
# background (PID in PP_LAST_LOAD); output in $PP_TMP/HOST/wrk.out.
pp_host_load() {
	local h=$1 secs=$2 conns=$3 url
	shift 3
	eval "url=\$PP_HOST_URL_$h"
	timeout $((secs + 20)) wrk -t1 -c"$conns" -d"${secs}s" --timeout 5s \
		-s "$PP_SRCDIR/tests/integration/post.lua" "$@" "$url/ping" >"$PP_TMP/$h/wrk.out" 2>&1 &
	PP_LAST_LOAD=$!
	pp_track "$PP_LAST_LOAD"
}

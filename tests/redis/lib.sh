# tests/redis/lib.sh - what the Redis store tests add to tests/lib.sh:
# a redis-server of the test's own (temp dir, unix socket + free loopback port,
# stopped by PID) and several "hosts" (nginx + workers groups) side by side.
#
#   pp_redis_setup [CMD...]                 pp_setup, and Redis's tools
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

# Redis's tools, or a skip naming the package (redis-server ships both).
pp_redis_require() {
	pp_require redis-server redis-cli
}

# pp_redis_setup [CMD...]: every Redis test's start: lib.sh's temp dir and
# tools, redis-server and redis-cli, and the other commands it names.
pp_redis_setup() {
	pp_setup
	pp_require redis-server redis-cli "$@"
}

# redis-cli on the test's own Redis (its unix socket).
pp_redis_cli() {
	redis-cli -s "$PP_REDIS_SOCK" "$@"
}

# The test's Redis on a unix socket and a free port; waits (5 s) for PONG.
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

# Stops the test's Redis by PID (nothing is saved).
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

# Stops one host's nginx and workers by the PIDs pp_host_start kept.
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

# True when the redis-server on 127.0.0.1:PORT answers PING.
pp_redis_pong() { [ "$(redis-cli -p "$1" PING 2>/dev/null)" = PONG ]; }

# pp_redis_node NAME PORT [redis-server args...]: one more redis-server of
# the test's own (dir $PP_TMP/NAME, 127.0.0.1:PORT, nothing saved), tracked
# for the EXIT trap, its PID in PP_LAST_REDIS; waits (5 s) for PONG.
pp_redis_node() {
	local name=$1 port=$2
	shift 2
	mkdir -p "$PP_TMP/$name"
	redis-server --port "$port" --bind 127.0.0.1 --dir "$PP_TMP/$name" --save '' --appendonly no \
		--logfile "$PP_TMP/$name/redis.log" "$@" </dev/null >/dev/null 2>&1 &
	PP_LAST_REDIS=$!
	pp_track "$PP_LAST_REDIS"
	pp_wait_for 5 pp_redis_pong "$port" ||
		pp_die "redis $name did not start: $(tail -n 3 "$PP_TMP/$name/redis.log" 2>/dev/null)"
}

# pp_sentinel NAME PORT PRIMARY_PORT QUORUM: a Sentinel on PORT watching
# "ppmaster" (down after 1000 ms, failover timeout 5 s), tracked.
pp_sentinel() {
	local name=$1 port=$2 primary=$3 quorum=$4
	mkdir -p "$PP_TMP/$name"
	cat >"$PP_TMP/$name/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
dir $PP_TMP/$name
logfile $PP_TMP/$name/sentinel.log
sentinel monitor ppmaster 127.0.0.1 $primary $quorum
sentinel down-after-milliseconds ppmaster 1000
sentinel failover-timeout ppmaster 5000
CONF
	redis-server "$PP_TMP/$name/sentinel.conf" --sentinel </dev/null >/dev/null 2>&1 &
	pp_track $!
}

# pp_redis_cluster NODES REPLICAS [redis-server args...]: a Redis Cluster of
# NODES nodes (c1..cN, an explicit bus port each), REPLICAS per master, up
# (cluster_state:ok on every node) within 20 s. Ports in PP_CLUSTER_PORTS,
# PIDs in PP_CLUSTER_PIDS (same order).
pp_redis_cluster() {
	local n=$1 replicas=$2 i port bus
	local -a nodes=()
	shift 2
	PP_CLUSTER_PORTS=() PP_CLUSTER_PIDS=()
	for i in $(seq 1 "$n"); do
		port=$(pp_free_port) || pp_die "no free port"
		bus=$(pp_free_port) || pp_die "no free port"
		pp_redis_node "c$i" "$port" --cluster-enabled yes --cluster-port "$bus" \
			--cluster-config-file "$PP_TMP/c$i/nodes.conf" "$@"
		PP_CLUSTER_PORTS+=("$port") PP_CLUSTER_PIDS+=("$PP_LAST_REDIS")
		nodes+=("127.0.0.1:$port")
	done
	redis-cli --cluster create "${nodes[@]}" --cluster-replicas "$replicas" --cluster-yes \
		>"$PP_TMP/cluster-create.log" 2>&1 ||
		pp_die "cluster create failed: $(tail -n 3 "$PP_TMP/cluster-create.log")"
	pp_wait_for 20 pp_cluster_ok || pp_die "the cluster did not come up"
}

# True when every node of pp_redis_cluster says cluster_state:ok.
pp_cluster_ok() {
	local port
	for port in "${PP_CLUSTER_PORTS[@]}"; do
		redis-cli -p "$port" CLUSTER INFO | grep -q '^cluster_state:ok' || return 1
	done
}

# --- failover under load (failover-sentinel.sh, failover-cluster.sh) --------
# pp_failover_flood PORT STORE-KEY=VALUE...: hosts a and b on the Redis
# the STORE keys name (redis_url, or redis_sentinels and redis_master),
# LIMIT per WINDOW s per key, no global limit, short Redis timeouts; a
# one-key flood of 14 s on both, 4 s in; the run's only Redis key, read from
# the node on PORT, in PP_FLOOD_KEY. The kill comes next.
pp_failover_flood() {
	local keys port=$1 h
	shift
	for h in a b; do
		pp_host_start "$h" store=redis "$@" "key_secret_file=$(pp_key_secret)" \
			redis_timeout=300ms redis_retry=200ms \
			per_key_limit="$LIMIT" per_key_window="${WINDOW}s" global_limit=off
	done
	pp_host_load a 14 6
	PP_FLOOD_PIDS=$PP_LAST_LOAD
	pp_host_load b 14 6
	PP_FLOOD_PIDS="$PP_FLOOD_PIDS $PP_LAST_LOAD"
	sleep 4
	keys=$(redis-cli -p "$port" --scan --pattern '*')
	pp_check '[ "$(echo "$keys" | grep -c .)" = 1 ]' "expected one window key (global_limit = off), got: $keys"
	PP_FLOOD_KEY=$keys
}

# pp_failover_judge WORD NEW_PORT T_KILL T_MOVED SURVIVED: once the flood
# ends, judges hosts a and b's merged access log against LIMIT per WINDOW
# s. SURVIVED is the window the replica held right after the kill, at
# T_KILL; T_MOVED when it took over; NEW_PORT the new primary (WORD
# "primary" or "master", for the messages).
# What the failover provably lost: admissions logged before the kill, at or
# after the oldest surviving entry, that the replica does not hold (the
# window is a sorted list, so only its newest entries can be missing). Every
# surviving admission was logged at or after its Redis time, and nothing
# older than the oldest survivor falls in its window. No window may hold
# more than LIMIT plus that loss. Service resumes by itself: admissions
# after the failover and no 503 in the flood's last 3 s; and the new
# primary's script cache started empty: NOSCRIPT, then SCRIPT LOAD, there.
pp_failover_judge() {
	local word=$1 new=$2 t_kill=$3 t_moved=$4 survived=$5 log=$PP_TMP/merged.log
	local lost max after last late503 n503 other noscript loads
	# shellcheck disable=SC2086
	wait $PP_FLOOD_PIDS
	pp_merge_logs "$log" a b
	lost=$(awk -v k="$t_kill" -v first="$(echo "$survived" | awk '{ print $1 / 1000 }')" \
		-v n="$(echo "$survived" | wc -w)" -v W="$WINDOW" '
		$5 == "/ping" && $2 == 200 && $1 <= k + 0.5 {
			if (n > 0 ? $1 >= first : $1 > k - W) c++
		}
		END { l = c - n; print (l > 0 ? l : 0) }' "$log")
	max=$(awk '$5 == "/ping" && $2 == 200 { print $1 }' "$log" | sort -n |
		awk -v W="$WINDOW" -v tol=0.25 '{ a[++n] = $1; while (a[lo + 1] <= $1 - W + tol) lo++; if (n - lo > m) m = n - lo }
			END { print m + 0 }')
	pp_log "most admissions in any ${WINDOW} s window: $max (limit $LIMIT, provably lost in the failover: $lost)"
	pp_check '[ "$max" -le $((LIMIT + lost)) ]' "$max admissions in one window: more than $LIMIT + $lost lost"
	pp_check '[ "$lost" -le "$LIMIT" ]' "$lost lost admissions: more than one window's worth"

	after=$(awk -v t="$t_moved" '$5 == "/ping" && $2 == 200 && $1 > t' "$log" | wc -l)
	last=$(awk '$5 == "/ping" { t = $1 } END { print t }' "$log")
	late503=$(awk -v e="$last" '$5 == "/ping" && $2 == 503 && $1 > e - 3' "$log" | wc -l)
	n503=$(awk '$5 == "/ping" && $2 == 503' "$log" | wc -l)
	pp_log "$after admissions after the failover; $n503 answers 503 during it"
	pp_check '[ "$after" -ge 1 ]' "no admission after the failover"
	pp_check '[ "$late503" = 0 ]' "$late503 answers 503 in the last 3 s: service did not resume"
	pp_check '[ "$n503" -ge 1 ]' "no 503 at all: was the $word really killed under load?"
	other=$(awk '$5 == "/ping" && $2 != 200 && $2 != 429 && $2 != 503 && $2 != 499' "$log" | wc -l)
	pp_check '[ "$other" = 0 ]' "$other answers other than 200/429/503"
	noscript=$(redis-cli -p "$new" INFO errorstats | tr -d '\r' | sed -n 's/^errorstat_NOSCRIPT:count=\([0-9]*\).*/\1/p')
	loads=$(redis-cli -p "$new" INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_script|load:calls=\([0-9]*\).*/\1/p')
	pp_log "new $word: ${noscript:-0} NOSCRIPT, ${loads:-0} SCRIPT LOAD"
	pp_check '[ "${noscript:-0}" -ge 1 ] && [ "${loads:-0}" -ge 1 ]' "the NOSCRIPT path never ran on the new $word"
}

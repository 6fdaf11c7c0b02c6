#!/bin/bash
# failover-sentinel.sh - the primary killed (kill -9) during a one-key flood on
# two hosts, Sentinel (1 primary + 1 replica + 3 sentinels, down-after 1000 ms)
# promoting the replica: service resumes by itself, no window ever holds more
# than the limit plus what the failover provably lost (admissions the primary
# acknowledged and never replicated: read from the replica right after the
# kill, see docs/DEPLOY.md "What a Redis failover can forgive"), and the new
# primary saw NOSCRIPT and SCRIPT LOAD (its script cache starts empty).
# Then: a worker refuses a node Sentinel names that reports itself a replica.
. "$(dirname "$0")/lib.sh"
pp_setup
pp_redis_require
pp_require wrk
secret=$(pp_key_secret)
export PP_WORKERS=2
LIMIT=5 WINDOW=5

pp_redis_start
primary=$PP_REDIS_PORT

wait_for() { # SECONDS CMD...: polls every 0.1 s
	local n=$(($1 * 10)) i
	shift
	for i in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}
start_redis() { # NAME PORT ARGS...
	local name=$1 port=$2
	shift 2
	mkdir -p "$PP_TMP/$name"
	redis-server --port "$port" --bind 127.0.0.1 --dir "$PP_TMP/$name" --save '' --appendonly no \
		--logfile "$PP_TMP/$name/redis.log" "$@" </dev/null >/dev/null 2>&1 &
	pp_track $!
	wait_for 5 bash -c "[ \"\$(redis-cli -p $port PING 2>/dev/null)\" = PONG ]" || pp_die "redis $name did not start"
}

replica=$(pp_free_port) || pp_die "no free port"
start_redis replica "$replica" --replicaof 127.0.0.1 "$primary"
sports=() sentinels=
for i in 1 2 3; do
	p=$(pp_free_port) || pp_die "no free port"
	mkdir -p "$PP_TMP/sentinel$i"
	cat >"$PP_TMP/sentinel$i/sentinel.conf" <<CONF
port $p
bind 127.0.0.1
dir $PP_TMP/sentinel$i
logfile $PP_TMP/sentinel$i/sentinel.log
sentinel monitor ppmaster 127.0.0.1 $primary 2
sentinel down-after-milliseconds ppmaster 1000
sentinel failover-timeout ppmaster 5000
CONF
	redis-server "$PP_TMP/sentinel$i/sentinel.conf" --sentinel </dev/null >/dev/null 2>&1 &
	pp_track $!
	sports+=("$p")
	sentinels=${sentinels:+$sentinels,}127.0.0.1:$p
done

link_up() { redis-cli -p "$replica" INFO replication | grep -q 'master_link_status:up'; }
ready() { # every sentinel knows the replica and the two other sentinels
	local p
	for p in "${sports[@]}"; do
		redis-cli -p "$p" SENTINEL replicas ppmaster 2>/dev/null | grep -qx "$replica" || return 1
		[ "$(redis-cli -p "$p" SENTINEL sentinels ppmaster 2>/dev/null | grep -cx 'runid')" -ge 2 ] || return 1
	done
}
wait_for 10 link_up || pp_die "the replica did not sync"
wait_for 20 ready || pp_die "the sentinels did not learn the replica and each other"

for h in a b; do
	pp_host_start "$h" store=redis "redis_sentinels=$sentinels" redis_master=ppmaster \
		"key_secret_file=$secret" redis_timeout=300ms redis_retry=200ms \
		per_key_limit=$LIMIT per_key_window=${WINDOW}s global_limit=off
done

# The flood: 14 s on each host; the primary dies 4 s in.
pp_host_load a 14 6; la=$PP_LAST_LOAD
pp_host_load b 14 6; lb=$PP_LAST_LOAD
sleep 4
# Every pingpong key of this run, so the replica's copy can be read at once.
keys=$(redis-cli -p "$primary" --scan --pattern '*')
pp_check '[ "$(echo "$keys" | grep -c .)" = 1 ]' "expected one window key (global_limit = off), got: $keys"
t_kill=$(date +%s.%N)
kill -9 "$PP_REDIS_PID"
# Nothing reaches the replica from here until it is promoted (>= 1 s): its
# copy of the window is what survived.
survived=$(redis-cli -p "$replica" LRANGE "$keys" 0 -1 | tr '\n' ' ')
pp_log "killed the primary at $t_kill; the replica holds: ${survived:-nothing}"
moved() { redis-cli -p "${sports[0]}" SENTINEL get-master-addr-by-name ppmaster | tail -n 1 | grep -qx "$replica"; }
wait_for 10 moved || pp_die "Sentinel did not fail over within 10 s"
t_moved=$(date +%s.%N)
pp_log "Sentinel names the replica $(awk -v a="$t_kill" -v b="$t_moved" 'BEGIN { printf "%.1f", b - a }') s after the kill"
wait "$la" "$lb"
pp_merge_logs "$PP_TMP/merged.log" a b

# What the failover provably lost: admissions logged before the kill, at or
# after the oldest surviving entry, that the replica does not hold (the
# window is a sorted list, so only its newest entries can be missing). Every
# surviving admission was logged at or after its Redis time, and nothing
# older than the oldest survivor falls in its window.
lost=$(awk -v k="$t_kill" -v first="$(echo "$survived" | awk '{ print $1 / 1000 }')" \
	-v n="$(echo "$survived" | wc -w)" -v W="$WINDOW" '
	$5 == "/ping" && $2 == 200 && $1 <= k + 0.5 {
		if (n > 0 ? $1 >= first : $1 > k - W) c++
	}
	END { l = c - n; print (l > 0 ? l : 0) }' "$PP_TMP/merged.log")
max=$(awk '$5 == "/ping" && $2 == 200 { print $1 }' "$PP_TMP/merged.log" | sort -n |
	awk -v W="$WINDOW" -v tol=0.25 '{ a[++n] = $1; while (a[lo + 1] <= $1 - W + tol) lo++; if (n - lo > m) m = n - lo }
		END { print m + 0 }')
pp_log "most admissions in any ${WINDOW} s window: $max (limit $LIMIT, provably lost in the failover: $lost)"
pp_check '[ "$max" -le $((LIMIT + lost)) ]' "$max admissions in one window: more than $LIMIT + $lost lost"
pp_check '[ "$lost" -le "$LIMIT" ]' "$lost lost admissions: more than one window's worth"

# Service resumed by itself: admissions after the failover, on the new
# primary, and no 503 in the last 3 s of the flood.
after=$(awk -v t="$t_moved" '$5 == "/ping" && $2 == 200 && $1 > t' "$PP_TMP/merged.log" | wc -l)
last=$(awk '$5 == "/ping" { t = $1 } END { print t }' "$PP_TMP/merged.log")
late503=$(awk -v e="$last" '$5 == "/ping" && $2 == 503 && $1 > e - 3' "$PP_TMP/merged.log" | wc -l)
n503=$(awk '$5 == "/ping" && $2 == 503' "$PP_TMP/merged.log" | wc -l)
pp_log "$after admissions after the failover; $n503 answers 503 during it"
pp_check '[ "$after" -ge 1 ]' "no admission after the failover"
pp_check '[ "$late503" = 0 ]' "$late503 answers 503 in the last 3 s: service did not resume"
pp_check '[ "$n503" -ge 1 ]' "no 503 at all: was the primary really killed under load?"
other=$(awk '$5 == "/ping" && $2 != 200 && $2 != 429 && $2 != 503 && $2 != 499' "$PP_TMP/merged.log" | wc -l)
pp_check '[ "$other" = 0 ]' "$other answers other than 200/429/503"
# The replica's script cache was empty: NOSCRIPT, then SCRIPT LOAD, there.
noscript=$(redis-cli -p "$replica" INFO errorstats | tr -d '\r' | sed -n 's/^errorstat_NOSCRIPT:count=\([0-9]*\).*/\1/p')
loads=$(redis-cli -p "$replica" INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_script|load:calls=\([0-9]*\).*/\1/p')
pp_log "new primary: ${noscript:-0} NOSCRIPT, ${loads:-0} SCRIPT LOAD"
pp_check '[ "${noscript:-0}" -ge 1 ] && [ "${loads:-0}" -ge 1 ]' "the NOSCRIPT path never ran on the new primary"
grep -q 'redis store back' "$PP_TMP/a/workers.log" "$PP_TMP/b/workers.log" ||
	pp_fail "no worker logged 'redis store back'"
pp_host_stop a; pp_host_stop b

# A node that reports itself a replica is never taken for the primary, even
# while Sentinel still names it and it accepts writes (replica-read-only no):
# the new primary is demoted under a standalone Redis of its own.
other_port=$(pp_free_port) || pp_die "no free port"
start_redis other "$other_port"
redis-cli -p "$replica" CONFIG SET replica-read-only no >/dev/null
redis-cli -p "$replica" REPLICAOF 127.0.0.1 "$other_port" >/dev/null
redis-cli -p "$replica" ROLE | head -n 1 | grep -qx slave || pp_die "could not demote $replica"
wait_for 5 bash -c "redis-cli -p $replica INFO replication | grep -q master_link_status:up" ||
	pp_die "the demoted node did not sync"
moved || pp_die "Sentinel no longer names $replica: the check below would prove nothing"
before=$(redis-cli -p "$replica" DBSIZE)
pp_start_server store=redis "redis_sentinels=$sentinels" redis_master=ppmaster \
	"key_secret_file=$secret" redis_timeout=300ms redis_retry=200ms per_key_limit=3 \
	per_key_window=30s global_limit=off
pp_ping replica-key
pp_expect_status 503
pp_check '[ "$(redis-cli -p "$replica" DBSIZE)" = "$before" ]' "a worker wrote to a node that reports itself a replica"
grep -q 'reports itself a replica' "$PP_TMP/workers.log" ||
	pp_fail "no log line names the replica: $(grep redis "$PP_TMP/workers.log" | tail -n 2)"
pp_done

#!/bin/bash
# failover-cluster.sh - the master owning pingpong's slot killed (kill -9)
# during a one-key flood on two hosts, on a 3-master/3-replica Redis Cluster
# (cluster-node-timeout 1000 ms, explicit --cluster-port): its replica takes
# over, the workers (pointed at another master) come back through MOVED by
# themselves, no window holds more than the limit plus what the failover
# provably lost (as in failover-sentinel.sh), and the new master saw NOSCRIPT
# and SCRIPT LOAD.
. "$(dirname "$0")/lib.sh"
pp_setup
pp_redis_require
pp_require wrk
secret=$(pp_key_secret)
export PP_WORKERS=2
LIMIT=5 WINDOW=5

wait_for() { # SECONDS CMD...: polls every 0.1 s
	local n=$(($1 * 10)) i
	shift
	for i in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}
ports=() pids=()
for n in 1 2 3 4 5 6; do
	port=$(pp_free_port) || pp_die "no free port"
	bus=$(pp_free_port) || pp_die "no free port"
	mkdir -p "$PP_TMP/c$n"
	redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-port "$bus" \
		--cluster-config-file "$PP_TMP/c$n/nodes.conf" --cluster-node-timeout 1000 --dir "$PP_TMP/c$n" \
		--save '' --appendonly no --logfile "$PP_TMP/c$n/redis.log" </dev/null >/dev/null 2>&1 &
	pp_track $!
	ports+=("$port") pids+=($!)
done
for port in "${ports[@]}"; do
	wait_for 5 bash -c "[ \"\$(redis-cli -p $port PING 2>/dev/null)\" = PONG ]" || pp_die "node :$port did not start"
done
nodes=()
for port in "${ports[@]}"; do nodes+=("127.0.0.1:$port"); done
redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes \
	>"$PP_TMP/cluster-create.log" 2>&1 || pp_die "cluster create failed: $(tail -n 3 "$PP_TMP/cluster-create.log")"
all_ok() {
	local port
	for port in "${ports[@]}"; do
		redis-cli -p "$port" CLUSTER INFO | grep -q '^cluster_state:ok' || return 1
	done
}
wait_for 20 all_ok || pp_die "the cluster did not come up"

slot=$(redis-cli -p "${ports[0]}" CLUSTER KEYSLOT pp)
owner=$(redis-cli -p "${ports[0]}" CLUSTER NODES | awk -v s="$slot" '$3 ~ /master/ {
	for (i = 9; i <= NF; i++) { split($i, r, "-"); if (r[2] == "") r[2] = r[1];
		if (s + 0 >= r[1] + 0 && s + 0 <= r[2] + 0) { split($2, a, "[:@]"); print a[2], $1 } } }')
owner_port=${owner% *} owner_id=${owner#* }
replica=$(redis-cli -p "${ports[0]}" CLUSTER NODES | awk -v m="$owner_id" '$3 ~ /slave/ && $4 == m { split($2, a, "[:@]"); print a[2] }')
[ -n "$owner_port" ] && [ -n "$replica" ] || pp_die "no owner or replica for slot $slot"
seed=
for i in "${!ports[@]}"; do
	p=${ports[$i]}
	[ "$p" != "$owner_port" ] && [ "$p" != "$replica" ] &&
		redis-cli -p "$p" ROLE | head -n 1 | grep -qx master && { seed=$p; break; }
done
[ -n "$seed" ] || pp_die "no other master"
link_up() { redis-cli -p "$replica" INFO replication | grep -q 'master_link_status:up'; }
wait_for 10 link_up || pp_die "the owner's replica :$replica never synced (it would not take over)"
owner_pid=
for i in "${!ports[@]}"; do [ "${ports[$i]}" = "$owner_port" ] && owner_pid=${pids[$i]}; done
pp_log "slot $slot on :$owner_port (replica :$replica); hosts pointed at :$seed"

for h in a b; do
	pp_host_start "$h" store=redis "redis_url=redis://127.0.0.1:$seed/0" "key_secret_file=$secret" \
		redis_timeout=300ms redis_retry=200ms \
		per_key_limit=$LIMIT per_key_window=${WINDOW}s global_limit=off
done

pp_host_load a 14 6; la=$PP_LAST_LOAD
pp_host_load b 14 6; lb=$PP_LAST_LOAD
sleep 4
keys=$(redis-cli -p "$owner_port" --scan --pattern '*')
pp_check '[ "$(echo "$keys" | grep -c .)" = 1 ]' "expected one window key (global_limit = off), got: $keys"
t_kill=$(date +%s.%N)
kill -9 "$owner_pid"
# A cluster replica answers MOVED unless the connection says READONLY.
survived=$(printf 'READONLY\nLRANGE %s 0 -1\n' "$keys" | redis-cli -p "$replica" | tail -n +2 | tr '\n' ' ')
pp_log "killed the slot's master at $t_kill; its replica holds: ${survived:-nothing}"
promoted() { redis-cli -p "$replica" ROLE | head -n 1 | grep -qx master; }
wait_for 10 promoted || pp_die "the replica did not take over within 10 s"
t_moved=$(date +%s.%N)
pp_log "the replica is master $(awk -v a="$t_kill" -v b="$t_moved" 'BEGIN { printf "%.1f", b - a }') s after the kill"
wait "$la" "$lb"
pp_merge_logs "$PP_TMP/merged.log" a b

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

after=$(awk -v t="$t_moved" '$5 == "/ping" && $2 == 200 && $1 > t' "$PP_TMP/merged.log" | wc -l)
last=$(awk '$5 == "/ping" { t = $1 } END { print t }' "$PP_TMP/merged.log")
late503=$(awk -v e="$last" '$5 == "/ping" && $2 == 503 && $1 > e - 3' "$PP_TMP/merged.log" | wc -l)
n503=$(awk '$5 == "/ping" && $2 == 503' "$PP_TMP/merged.log" | wc -l)
pp_log "$after admissions after the failover; $n503 answers 503 during it"
pp_check '[ "$after" -ge 1 ]' "no admission after the failover"
pp_check '[ "$late503" = 0 ]' "$late503 answers 503 in the last 3 s: service did not resume"
pp_check '[ "$n503" -ge 1 ]' "no 503 at all: was the master really killed under load?"
other=$(awk '$5 == "/ping" && $2 != 200 && $2 != 429 && $2 != 503 && $2 != 499' "$PP_TMP/merged.log" | wc -l)
pp_check '[ "$other" = 0 ]' "$other answers other than 200/429/503"
noscript=$(redis-cli -p "$replica" INFO errorstats | tr -d '\r' | sed -n 's/^errorstat_NOSCRIPT:count=\([0-9]*\).*/\1/p')
loads=$(redis-cli -p "$replica" INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_script|load:calls=\([0-9]*\).*/\1/p')
pp_log "new master: ${noscript:-0} NOSCRIPT, ${loads:-0} SCRIPT LOAD"
pp_check '[ "${noscript:-0}" -ge 1 ] && [ "${loads:-0}" -ge 1 ]' "the NOSCRIPT path never ran on the new master"
pp_done

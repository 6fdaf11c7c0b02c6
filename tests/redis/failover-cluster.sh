#!/bin/bash
# failover-cluster.sh - the master owning pingpong's slot killed (kill -9)
# during a one-key flood on two hosts, on a 3-master/3-replica Redis Cluster
# (cluster-node-timeout 1000 ms, explicit --cluster-port): its replica takes
# over, the workers (pointed at another master) come back through MOVED by
# themselves, no window holds more than the limit plus what the failover
# provably lost (as in failover-sentinel.sh), and the new master saw NOSCRIPT
# and SCRIPT LOAD.
. "$(dirname "$0")/lib.sh"
pp_redis_setup wrk
export PP_WORKERS=2
LIMIT=5 WINDOW=5

pp_redis_cluster 6 1 --cluster-node-timeout 1000
ports=("${PP_CLUSTER_PORTS[@]}") pids=("${PP_CLUSTER_PIDS[@]}")

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
pp_wait_for 10 link_up || pp_die "the owner's replica :$replica never synced (it would not take over)"
owner_pid=
for i in "${!ports[@]}"; do [ "${ports[$i]}" = "$owner_port" ] && owner_pid=${pids[$i]}; done
pp_log "slot $slot on :$owner_port (replica :$replica); hosts pointed at :$seed"

pp_failover_flood "$owner_port" "redis_url=redis://127.0.0.1:$seed/0"
keys=$PP_FLOOD_KEY
t_kill=$(date +%s.%N)
kill -9 "$owner_pid"
# A cluster replica answers MOVED unless the connection says READONLY.
survived=$(printf 'READONLY\nLRANGE %s 0 -1\n' "$keys" | redis-cli -p "$replica" | tail -n +2 | tr '\n' ' ')
pp_log "killed the slot's master at $t_kill; its replica holds: ${survived:-nothing}"
promoted() { redis-cli -p "$replica" ROLE | head -n 1 | grep -qx master; }
pp_wait_for 10 promoted || pp_die "the replica did not take over within 10 s"
t_moved=$(date +%s.%N)
pp_log "the replica is master $(awk -v a="$t_kill" -v b="$t_moved" 'BEGIN { printf "%.1f", b - a }') s after the kill"
pp_failover_judge master "$replica" "$t_kill" "$t_moved" "$survived"
pp_done

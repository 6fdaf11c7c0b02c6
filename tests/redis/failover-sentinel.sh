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
pp_redis_setup wrk
secret=$(pp_key_secret)
export PP_WORKERS=2
LIMIT=5 WINDOW=5

pp_redis_start
primary=$PP_REDIS_PORT

replica=$(pp_free_port) || pp_die "no free port"
pp_redis_node replica "$replica" --replicaof 127.0.0.1 "$primary"
sports=() sentinels=
for i in 1 2 3; do
	p=$(pp_free_port) || pp_die "no free port"
	pp_sentinel "sentinel$i" "$p" "$primary" 2
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
pp_wait_for 10 link_up || pp_die "the replica did not sync"
pp_wait_for 20 ready || pp_die "the sentinels did not learn the replica and each other"

# The flood: 14 s on each host; the primary dies 4 s in. Every pingpong key
# of this run, so the replica's copy can be read at once.
pp_failover_flood "$primary" "redis_sentinels=$sentinels" redis_master=ppmaster
keys=$PP_FLOOD_KEY
t_kill=$(date +%s.%N)
kill -9 "$PP_REDIS_PID"
# Nothing reaches the replica from here until it is promoted (>= 1 s): its
# copy of the window is what survived.
survived=$(redis-cli -p "$replica" LRANGE "$keys" 0 -1 | tr '\n' ' ')
pp_log "killed the primary at $t_kill; the replica holds: ${survived:-nothing}"
moved() { redis-cli -p "${sports[0]}" SENTINEL get-master-addr-by-name ppmaster | tail -n 1 | grep -qx "$replica"; }
pp_wait_for 10 moved || pp_die "Sentinel did not fail over within 10 s"
t_moved=$(date +%s.%N)
pp_log "Sentinel names the replica $(awk -v a="$t_kill" -v b="$t_moved" 'BEGIN { printf "%.1f", b - a }') s after the kill"
pp_failover_judge primary "$replica" "$t_kill" "$t_moved" "$survived"
grep -q 'redis store back' "$PP_TMP/a/workers.log" "$PP_TMP/b/workers.log" ||
	pp_fail "no worker logged 'redis store back'"
pp_host_stop a; pp_host_stop b

# A node that reports itself a replica is never taken for the primary, even
# while Sentinel still names it and it accepts writes (replica-read-only no):
# the new primary is demoted under a standalone Redis of its own.
other_port=$(pp_free_port) || pp_die "no free port"
pp_redis_node other "$other_port"
redis-cli -p "$replica" CONFIG SET replica-read-only no >/dev/null
redis-cli -p "$replica" REPLICAOF 127.0.0.1 "$other_port" >/dev/null
redis-cli -p "$replica" ROLE | head -n 1 | grep -qx slave || pp_die "could not demote $replica"
pp_wait_for 5 bash -c "redis-cli -p $replica INFO replication | grep -q master_link_status:up" ||
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

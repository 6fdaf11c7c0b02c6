#!/bin/bash
# sentinel.sh - redis_sentinels + redis_master: the worker asks Sentinel
# where the primary is, and after a failover (SENTINEL FAILOVER) it follows
# the new primary: the old one answers READONLY, the context is dropped, the
# next connect asks Sentinel again. The windows replicated before the
# failover still count.
. "$(dirname "$0")/lib.sh"
pp_redis_setup
secret=$(pp_key_secret)
export PP_WORKERS=1
pp_redis_start
primary=$PP_REDIS_PORT

replica=$(pp_free_port) || pp_die "no free port"
pp_redis_node replica "$replica" --replicaof 127.0.0.1 "$primary"
sport=$(pp_free_port) || pp_die "no free port"
pp_sentinel sentinel "$sport" "$primary" 1

link_up() { redis-cli -p "$replica" INFO replication | grep -q 'master_link_status:up'; }
known() { redis-cli -p "$sport" SENTINEL replicas ppmaster 2>/dev/null | grep -qx "$replica"; }
pp_wait_for 10 link_up || pp_die "the replica did not sync"
pp_wait_for 15 known || pp_die "Sentinel did not learn the replica"

pp_start_server store=redis "redis_sentinels=127.0.0.1:$sport" redis_master=ppmaster \
	"key_secret_file=$secret" redis_timeout=300ms redis_retry=200ms per_key_limit=3 \
	per_key_window=30s global_limit=1000 global_window=30s
pp_ping sentinel-key
pp_expect_status 200
pp_ping sentinel-key
pp_expect_status 200
pp_check '[ "$(redis-cli -p "$primary" DBSIZE)" -ge 2 ]' "nothing stored on the primary Sentinel names"

# Let the replica have the two admissions, then fail over.
pp_wait_for 5 bash -c "[ \"\$(redis-cli -p $replica DBSIZE)\" -ge 2 ]" || pp_fail "the replica never got the windows"
redis-cli -p "$sport" SENTINEL FAILOVER ppmaster >/dev/null
moved() { redis-cli -p "$sport" SENTINEL get-master-addr-by-name ppmaster | tail -n 1 | grep -qx "$replica"; }
pp_wait_for 10 moved || pp_die "Sentinel did not fail over"
is_primary() { redis-cli -p "$replica" ROLE | head -n 1 | grep -qx master; }
pp_wait_for 10 is_primary || pp_die "the replica was not promoted"

# The worker follows: within a few tries the third admission lands on the
# new primary, and the fourth is refused (the window came along).
pp_ping_until_200 30 0.2 sentinel-key ||
	pp_fail "no 200 within 6 s of the failover: $(grep redis "$PP_TMP/workers.log" | tail -n 2)"
pp_expect_header RateLimit '"per-key";r=0;t=[0-9]+, "global";r=[0-9]+;t=[0-9]+'
pp_ping sentinel-key
pp_expect_status 429
pp_done

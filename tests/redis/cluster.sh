#!/bin/bash
# cluster.sh - the Redis store on a 3-node Redis Cluster: both keys of a
# decision share one hash tag (no CROSSSLOT), a worker pointed at a node that
# does not own the slot follows MOVED, and during a slot migration it follows
# ASK (ASKING, and a NOSCRIPT reload on the importing node).
. "$(dirname "$0")/lib.sh"
pp_redis_setup
secret=$(pp_key_secret)
export PP_WORKERS=1

pp_redis_cluster 3 0
ports=("${PP_CLUSTER_PORTS[@]}")

slot=$(redis-cli -p "${ports[0]}" CLUSTER KEYSLOT pp)
# The node owning the slot, and another one.
owner=$(redis-cli -p "${ports[0]}" CLUSTER NODES | awk -v s="$slot" '{
	for (i = 9; i <= NF; i++) { split($i, r, "-"); if (r[2] == "") r[2] = r[1];
		if (s + 0 >= r[1] + 0 && s + 0 <= r[2] + 0) { split($2, a, "[:@]"); print a[2], $1 } } }')
owner_port=${owner% *} owner_id=${owner#* }
for p in "${ports[@]}"; do [ "$p" != "$owner_port" ] && { other=$p; break; }; done
other_id=$(redis-cli -p "$other" CLUSTER MYID)
pp_log "slot $slot of tag {pp} is on :$owner_port; the host is pointed at :$other"

# MOVED: the host starts at the wrong node.
pp_start_server store=redis "redis_url=redis://127.0.0.1:$other/0" "key_secret_file=$secret" \
	redis_timeout=500ms per_key_limit=3 per_key_window=10s global_limit=1000 global_window=10s
for i in 1 2 3; do
	pp_ping cluster-key
	pp_expect_status 200
done
pp_ping cluster-key
pp_expect_status 429
pp_check '[ "$(redis-cli -p "$owner_port" DBSIZE)" -ge 1 ]' "nothing stored on the owning node"
pp_check '[ "$(redis-cli -p "$other" DBSIZE)" = 0 ]' "keys stored on a node that does not own the slot"
pp_check '! grep -q "CROSSSLOT\|redis store lost" "$PP_TMP/workers.log"' "errors: $(grep redis "$PP_TMP/workers.log" | tail -n 2)"

# ASK: migrate the slot from the owner to the other node, as resharding
# does: mark it, move the keys, and a decision on them is redirected with
# ASK to the importing node, which never saw the script (NOSCRIPT reload).
pp_ping ask-key
pp_expect_status 200
redis-cli -p "$other" CLUSTER SETSLOT "$slot" IMPORTING "$owner_id" >/dev/null
redis-cli -p "$owner_port" CLUSTER SETSLOT "$slot" MIGRATING "$other_id" >/dev/null
keys=$(redis-cli -p "$owner_port" CLUSTER GETKEYSINSLOT "$slot" 100)
# shellcheck disable=SC2086
mig=$(redis-cli -p "$owner_port" MIGRATE 127.0.0.1 "$other" "" 0 5000 KEYS $keys)
pp_check '[ "$mig" = OK ]' "MIGRATE answered '$mig'"
pp_check '[ "$(redis-cli -p "$owner_port" DBSIZE)" = 0 ]' "keys left on the migrating node"
pp_ping ask-key
pp_expect_status 200
# The window came along: the second admission of three.
pp_expect_header RateLimit '"per-key";r=1;t=([1-9]|10), "global";r=[0-9]+;t=[0-9]+'
pp_ping ask-key
pp_expect_status 200
pp_ping ask-key
pp_expect_status 429
pp_check '[ "$(redis-cli -p "$owner_port" DBSIZE)" = 0 ]' "a decision during the migration wrote to the migrating node"
pp_check '! grep -q "redis store lost" "$PP_TMP/workers.log"' "errors: $(grep redis "$PP_TMP/workers.log" | tail -n 2)"
pp_done

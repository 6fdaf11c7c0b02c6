#!/bin/bash
# cluster-seeds.sh - redis_url as a list of seeds: with the first seed dead
# (a free port, nothing listening) the workers go on to the next one, on a
# 3-node Redis Cluster (then MOVED to the slot's owner) and on one plain
# Redis, and admit exactly the limit under a concurrent flood; with only the
# dead seed they answer 503 as before (on_store_error = reject). A first seed
# that is stopped (SIGSTOP: it accepts and never answers) costs each worker
# one failed try, then the next connection starts after it.
. "$(dirname "$0")/lib.sh"
pp_setup
pp_redis_require
pp_require wrk
secret=$(pp_key_secret)
export PP_WORKERS=2
LIMIT=5

pp_redis_cluster 3 0
ports=("${PP_CLUSTER_PORTS[@]}")

dead=$(pp_free_port) || pp_die "no free port"
pp_check '! pp_port_in_use "$dead"' "something listens on the 'dead' port $dead"
slot=$(redis-cli -p "${ports[0]}" CLUSTER KEYSLOT pp)
owner=$(redis-cli -p "${ports[0]}" CLUSTER NODES | awk -v s="$slot" '{
	for (i = 9; i <= NF; i++) { split($i, r, "-"); if (r[2] == "") r[2] = r[1];
		if (s + 0 >= r[1] + 0 && s + 0 <= r[2] + 0) { split($2, a, "[:@]"); print a[2] } } }')
# The live seed is a node that does not own the slot: the path is dead
# seed, live seed, MOVED to the owner.
for p in "${ports[@]}"; do [ "$p" != "$owner" ] && { live=$p; break; }; done
[ -n "$owner" ] && [ -n "$live" ] || pp_die "no owner of slot $slot"
pp_log "slot $slot on :$owner; seeds :$dead (nothing there), :$live"

common=("key_secret_file=$secret" redis_timeout=300ms redis_retry=200ms on_store_error=reject
	"per_key_limit=$LIMIT" per_key_window=20s global_limit=off)

# flood HOST KEY [LOST]: 3 s of 4 connections on one key; exactly LIMIT
# 200s, the rest 429, and no 503; or with LOST, at most LOST workers lost
# the store (each once) and the 503s (the failed try, then the hold-off)
# end in the first 1.5 s.
flood() {
	local h=$1 maxlost=${3:-0} ok n429 n503 late503 other lost
	PP_WRK_KEY=$2 pp_host_load "$h" 3 4
	wait "$PP_LAST_LOAD"
	ok=$(awk '$5 == "/ping" && $2 == 200' "$PP_TMP/$h/access.log" | wc -l)
	n429=$(awk '$5 == "/ping" && $2 == 429' "$PP_TMP/$h/access.log" | wc -l)
	n503=$(awk '$5 == "/ping" && $2 == 503' "$PP_TMP/$h/access.log" | wc -l)
	late503=$(awk '$5 == "/ping" { if (!t0) t0 = $1; if ($2 == 503 && $1 > t0 + 1.5) n++ } END { print n + 0 }' \
		"$PP_TMP/$h/access.log")
	other=$(awk '$5 == "/ping" && $2 != 200 && $2 != 429 && $2 != 503 && $2 != 499' "$PP_TMP/$h/access.log" | wc -l)
	lost=$(grep -c "redis store lost" "$PP_TMP/$h/workers.log")
	pp_log "$h: $ok admitted, $n429 refused, $n503 answered 503, $other other answers"
	pp_check '[ "$ok" = "$LIMIT" ]' "$h: $ok admissions of one key, limit $LIMIT"
	pp_check '[ "$n429" -ge 10 ]' "$h: only $n429 refusals: did the flood run?"
	if [ "$maxlost" = 0 ]; then
		pp_check '[ "$n503" = 0 ] && [ "$lost" = 0 ]' \
			"$h: $n503 answers 503, $lost 'lost' lines: $(grep redis "$PP_TMP/$h/workers.log" | tail -n 2)"
	else
		pp_check '[ "$lost" -le "$maxlost" ] && [ "$late503" = 0 ]' \
			"$h: $lost 'lost' lines (at most $maxlost), $late503 answers 503 after 1.5 s: $(grep redis "$PP_TMP/$h/workers.log" | tail -n 3)"
	fi
	pp_check '[ "$other" = 0 ]' "$h: $other answers other than 200/429/503: $(awk '$2 != 200 && $2 != 429 && $2 != 503 { print $2 }' "$PP_TMP/$h/access.log" | sort | uniq -c | tr '\n' ' ')"
}

# --- Cluster: dead seed first, then a live node --------------------------
pp_host_start cs store=redis "redis_url=redis://127.0.0.1:$dead/0, redis://127.0.0.1:$live/0" "${common[@]}"
pp_check 'grep -q "seeds 127.0.0.1:$dead, 127.0.0.1:$live" "$PP_TMP/cs/workers.log"' \
	"the start-up line does not list both seeds: $(grep -m1 redis "$PP_TMP/cs/workers.log")"
flood cs seeds-cluster
keys=$(redis-cli -p "$owner" --scan --pattern '*' | grep -c .)
pp_check '[ "$keys" -ge 1 ]' "nothing stored on the slot's owner :$owner"
pp_host_stop cs

# --- Cluster: the dead seed alone fails as before ------------------------
pp_host_start cd store=redis "redis_url=redis://127.0.0.1:$dead/0" "${common[@]}"
PP_URL=$PP_HOST_URL_cd
for i in 1 2 3; do
	pp_ping seeds-dead
	pp_expect_status 503
	pp_expect_json .error '"store_unavailable"'
done
pp_check 'grep -q "redis store lost: connect" "$PP_TMP/cd/workers.log"' \
	"no 'lost' line for the dead seed: $(grep redis "$PP_TMP/cd/workers.log" | tail -n 2)"
pp_host_stop cd

# --- One plain Redis: "dead,live" -----------------------------------------
pp_redis_start
pp_host_start ps store=redis "redis_url=redis://127.0.0.1:$dead/0,$PP_REDIS_URL" "${common[@]}"
flood ps seeds-plain
pp_check '[ "$(pp_redis_cli --scan | grep -c .)" -ge 1 ]' "nothing stored on the plain Redis"
pp_host_stop ps

# --- A stopped first seed: it accepts TCP and answers nothing ------------
# Each worker's first try reaches it and times out (a 503); the next
# connection starts after it, at the live seed, and stays there.
stopped=$(pp_free_port) || pp_die "no free port"
pp_redis_node stopped "$stopped"
stopped_pid=$PP_LAST_REDIS
kill -STOP "$stopped_pid"
pp_host_start st store=redis "redis_url=redis://127.0.0.1:$stopped/0,$PP_REDIS_URL" "${common[@]}"
flood st seeds-stopped "$PP_WORKERS"
pp_check '[ "$(grep -c "redis store back" "$PP_TMP/st/workers.log")" -ge 1 ]' \
	"no worker came back through the second seed: $(grep redis "$PP_TMP/st/workers.log" | tail -n 2)"
pp_host_stop st
kill -CONT "$stopped_pid"
pp_done

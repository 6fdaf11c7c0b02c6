#!/bin/bash
# fleet.sh - two hosts (two nginx + worker groups, each with its own db_path)
# on one Redis: 16 connections on one key split across both, and distinct keys
# against the global limit; the merged access logs must show exact sliding
# windows. The same one-key run on LMDB (each host its own) shows the 2x the
# Redis store is built to fix: the control that lets this test fail.
. "$(dirname "$0")/lib.sh"
pp_redis_setup wrk
pp_redis_start
secret=$(pp_key_secret)
export PP_WORKERS=2

redis_hosts() {
	local h
	for h in a b; do
		pp_host_start "$h" store=redis "redis_url=unix:$PP_REDIS_SOCK" "key_secret_file=$secret" \
			redis_timeout=500ms "$@"
	done
}

flood() { # SECONDS, then wrk args for both hosts
	local secs=$1 pa pb
	shift
	pp_host_load a "$secs" 8 "$@"; pa=$PP_LAST_LOAD
	pp_host_load b "$secs" 8 "$@"; pb=$PP_LAST_LOAD
	wait "$pa" "$pb"
	pp_merge_logs "$PP_TMP/merged.log" a b
}

# One key, both hosts: exact across the fleet.
redis_hosts per_key_limit=5 per_key_window=2s global_limit=1000 global_window=1s
before=$(pp_redis_cli INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\).*/\1/p')
PP_WRK_KEY=fleet-one-key flood 5
PP_ACCESS_LOG=$PP_TMP/merged.log pp_check_windows 5 2
evalsha=$(( $(pp_redis_cli INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\).*/\1/p') - ${before:-0} ))
total=$(awk '$5 == "/ping"' "$PP_TMP/merged.log" | wc -l)
pp_log "one key on two hosts: $total requests, $evalsha EVALSHA"
pp_check '[ "$total" -gt 400 ]' "only $total requests: the flood did not hammer"
# The refusal cache: Redis sees about one call per admission, not one per request.
pp_check '[ $((evalsha * 100)) -lt $((total * 5)) ]' "$evalsha script calls for $total requests (>= 5%)"
for h in a b; do
	pp_check '[ "$(awk '"'"'$5 == "/ping" && $2 == 200'"'"' "$PP_TMP/'$h'/access.log" | wc -l)" -gt 0 ]' "host $h admitted nothing"
done
pp_host_stop a; pp_host_stop b
rm -f "$PP_TMP"/a/access.log "$PP_TMP"/b/access.log

# Distinct keys: the global limit holds across hosts.
redis_hosts db_path="$PP_TMP/db-g" per_key_limit=1000 per_key_window=60s global_limit=3 global_window=2s
PP_WRK_KEY=fleet-distinct PP_WRK_DISTINCT=1 flood 5
PP_ACCESS_LOG=$PP_TMP/merged.log pp_check_windows 3 2
pp_host_stop a; pp_host_stop b
rm -f "$PP_TMP"/a/access.log "$PP_TMP"/b/access.log

# Control: the same one-key flood with each host on its own LMDB.
for h in a b; do
	pp_host_start "$h" db_path="$PP_TMP/$h/db-lmdb" per_key_limit=5 per_key_window=2s \
		global_limit=1000 global_window=1s
done
PP_WRK_KEY=fleet-one-key flood 5
max=$(pp_max_in_window "$PP_TMP/merged.log" 2)
pp_log "LMDB per host: at most $max admissions in a 2 s window (limit 5)"
pp_check '[ "$max" -ge 9 ]' "LMDB on two hosts admitted at most $max in a window: the control shows no 2x"
pp_done

#!/bin/bash
# basic.sh - one host on the Redis store: exact limits and quota headers as
# LMDB gives them, keys only as keyed hashes under one hash tag, every key
# expiring, NOSCRIPT after SCRIPT FLUSH, /metrics series, /readyz with Redis away.
. "$(dirname "$0")/lib.sh"
pp_redis_setup
pp_redis_start
secret=$(pp_key_secret)
PP_WORKERS=2 pp_start_server store=redis "redis_url=unix:$PP_REDIS_SOCK" "key_secret_file=$secret" \
	per_key_limit=3 per_key_window=5s global_limit=100 global_window=5s redis_timeout=200ms \
	redis_retry=300ms

key="redis-basic-$$"
for i in 1 2 3; do
	pp_ping "$key"
	pp_expect_status 200
done
pp_expect_header RateLimit '"per-key";r=0;t=[45], "global";r=9[0-9];t=[45]'
pp_ping "$key"
pp_expect_status 429
pp_expect_json .limit '"per-key"'
pp_expect_header Retry-After '[1-5]'
pp_expect_json_ok '.retry_after > 0 and .retry_after <= 5'

# pingpongctl on the same config: the window, the count, a reset.
ctl() { "$PP_BUILDDIR/pingpongctl" -c "$PP_TMP/pingpong.conf" --json "$@"; }
pp_check '[ "$(echo "$key" | ctl inspect | jq -c "[.backend, .key.used, .key.stored, .admit]")" = "[\"redis\",3,true,false]" ]' \
	"pingpongctl inspect: $(echo "$key" | ctl inspect)"
pp_check '[ "$(ctl stats | jq .windows)" = 1 ]' "pingpongctl stats: $(ctl stats)"

# Only keyed hashes, under one hash tag, each with a TTL within its window.
keys=$(pp_redis_cli --scan)
pp_check '! grep -q "$key" <<<"$keys"' "the key is stored in clear"
pp_check '[ "$(grep -c "^pp:{pp}:k:[0-9a-f]\{32\}$" <<<"$keys")" = 1 ]' "one per-key window named pp:{pp}:k:<hash>: $keys"
pp_check 'grep -qx "pp:{pp}:g" <<<"$keys"' "no global window pp:{pp}:g: $keys"
for k in $keys; do
	ttl=$(pp_redis_cli PTTL "$k")
	# -2: it expired since the scan; -1 (no expiry) must never be.
	pp_check '[ "$ttl" -ne -1 ] && [ "$ttl" -le 5000 ]' "$k has PTTL $ttl"
done

pp_check '[ "$(echo "$key" | ctl reset | jq .found)" = true ]' "pingpongctl reset found nothing"
pp_check '[ "$(echo "$key" | ctl inspect | jq .key.used)" = 0 ]' "the window survived pingpongctl reset"

# An empty script cache (a restart, a failover): NOSCRIPT, load, retry.
script_calls() { pp_redis_cli INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_script|load:calls=\([0-9]*\).*/\1/p'; }
before=$(script_calls)
pp_redis_cli SCRIPT FLUSH >/dev/null
pp_ping "other-$$"
pp_expect_status 200
pp_check '[ "$(script_calls)" -gt "$before" ]' "no SCRIPT LOAD after SCRIPT FLUSH (SCRIPT LOAD calls $before -> $(script_calls))"
pp_check '! grep -q "redis store lost" "$PP_TMP/workers.log"' "NOSCRIPT was logged as a store failure"

pp_request GET /readyz
pp_expect_status 200
pp_expect_json .status '"ready"'
pp_request GET /metrics
pp_expect_status 200
pp_check 'grep -q "^pingpong_store_up 1$" "$PP_BODY"' "pingpong_store_up is not 1"
pp_check 'grep -q "^pingpong_store_calls_total{outcome=\"ok\"} [1-9]" "$PP_BODY"' "no ok store calls counted"
pp_check 'grep -q "^pingpong_store_call_duration_seconds_count [1-9]" "$PP_BODY"' "no store latency"

# Redis away: /readyz stays 200 (every pod unready at once would be worse).
pp_redis_stop
pp_ping "$key-gone"
pp_expect_status 503
pp_request GET /readyz
pp_expect_status 200
pp_expect_json .store '"unavailable"'
pp_request GET /metrics
pp_check 'grep -q "^pingpong_store_up 0$" "$PP_BODY"' "pingpong_store_up is not 0 with Redis stopped"
pp_check '[ "$(grep -c "redis store lost" "$PP_TMP/workers.log")" -le 2 ]' "more than one 'lost' line per worker"
pp_done

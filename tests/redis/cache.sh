#!/bin/bash
# cache.sh - the refusal cache on one host: a limit raised by a restart is
# honoured at once (entries carry their limits), a reset (the key deleted in
# Redis) is seen within refusal_cache_max, and cache hits are counted.
. "$(dirname "$0")/lib.sh"
pp_redis_setup
pp_redis_start
secret=$(pp_key_secret)
export PP_WORKERS=2
common=(store=redis "redis_url=unix:$PP_REDIS_SOCK" "key_secret_file=$secret" refusal_cache_max=2s
	global_limit=1000 global_window=1s per_key_window=60s)
pp_start_server "${common[@]}" per_key_limit=2
key="cache-$$"
pp_ping "$key"; pp_expect_status 200
pp_ping "$key"; pp_expect_status 200
for i in 1 2 3 4; do
	pp_ping "$key"; pp_expect_status 429
	pp_expect_header Retry-After '(59|60)'
done
pp_request GET /metrics
hits=$(sed -n 's/^pingpong_refusal_cache_hits_total \([0-9]*\)$/\1/p' "$PP_BODY")
pp_check '[ "${hits:-0}" -ge 2 ]' "only ${hits:-0} refusal-cache hits for 4 refusals of one key by 2 workers"

# A restart with a higher limit: the cached refusal was made under 2.
pp_write_config "${common[@]}" per_key_limit=4
pp_restart_workers
pp_ping "$key"; pp_expect_status 200
pp_ping "$key"; pp_expect_status 200
pp_ping "$key"; pp_expect_status 429
pp_ping "$key"; pp_expect_status 429

# A reset: delete the key's window in Redis. The cache may still refuse for
# up to refusal_cache_max (2 s), then Redis is asked and admits.
t0=$(date +%s%N)
for k in $(pp_redis_cli --scan --pattern 'pp:{pp}:k:*'); do pp_redis_cli DEL "$k" >/dev/null; done
pp_ping "$key"
first=$PP_STATUS
ok=
for i in $(seq 1 40); do
	pp_ping "$key"
	[ "$PP_STATUS" = 200 ] && { ok=$(( ($(date +%s%N) - t0) / 1000000 )); break; }
	pp_expect_status 429
	sleep 0.1
done
pp_log "after the reset: first answer $first, a 200 after ${ok:-never} ms"
pp_check '[ "$first" = 429 ]' "the first ping after the reset was $first: the cache was not in use"
pp_check '[ -n "$ok" ] && [ "$ok" -le 2600 ]' "the reset was not seen within refusal_cache_max (2 s): ${ok:-never} ms"
pp_done

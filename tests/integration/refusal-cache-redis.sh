#!/bin/bash
# refusal-cache-redis.sh - nginx's refusal cache and the Redis store's own
# (refusal_cache = yes, on by default) together: a 429 answered from the
# server's cache carries the same kind of expiry, computed from its retry
# figures, and 16 connections on one key keep exact sliding windows.
. "$(dirname "$0")/../redis/lib.sh"
. "$(dirname "$0")/refusal-cache-lib.sh"
pp_redis_setup wrk
pp_cache_require
pp_redis_start
secret=$(pp_key_secret)
pp_start_server store=redis "redis_url=unix:$PP_REDIS_SOCK" "key_secret_file=$secret" \
	refusal_cache=yes per_key_limit=5 per_key_window=2s global_limit=100000 global_window=1s \
	nginx_refusal_cache=yes
pp_cache_flood redis-hot-key
pp_request GET /metrics
shits=$(sed -n 's/^pingpong_refusal_cache_hits_total \([0-9]*\)$/\1/p' "$PP_BODY")
pp_log "the server's own refusal cache answered ${shits:-0} of the refusals that reached it"
[ "${shits:-0}" -gt 0 ] || pp_fail "the server's refusal cache was never used: the two were not on together"
grep -E 'Requests/sec|Non-2xx|Socket errors' "$PP_TMP/wrk.out" | sed 's/^/# wrk: /' >&2
pp_done

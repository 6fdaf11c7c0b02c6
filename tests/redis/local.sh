#!/bin/bash
# local.sh - on_store_error = local: with Redis away each host decides from
# its own LMDB windows, exact per host (the generic layer's fallback).
. "$(dirname "$0")/lib.sh"
pp_redis_setup
secret=$(pp_key_secret)
PP_WORKERS=2 pp_start_server store=redis "redis_url=redis://127.0.0.1:$(pp_free_port)/0" \
	"key_secret_file=$secret" redis_timeout=100ms redis_retry=500ms on_store_error=local \
	per_key_limit=3 per_key_window=10s global_limit=1000 global_window=1s
for i in 1 2 3; do
	pp_ping local-key
	pp_expect_status 200
done
pp_ping local-key
pp_expect_status 429
pp_expect_json .limit '"per-key"'
pp_done

#!/bin/bash
# faults.sh - Redis going away under the Redis store: kill -9 mid-flood
# (reject: fast 503s; admit: 200s; local: exact per host from LMDB), SIGSTOP
# (no request waits much longer than redis_timeout; the hold-off answers the
# rest at once), a restart with an empty script cache, a full Redis
# (maxmemory + noeviction: a clear error, nothing admitted). on_store_error =
# local has its own test (local.sh).
. "$(dirname "$0")/lib.sh"
pp_redis_setup wrk
secret=$(pp_key_secret)
export PP_WORKERS=2
PP_REDIS_PORT=$(pp_free_port)
pp_redis_start

host() { # NAME on_store_error [KEY=VALUE...]
	local h=$1 mode=$2
	shift 2
	pp_host_start "$h" store=redis "redis_url=redis://127.0.0.1:$PP_REDIS_PORT/0" \
		"key_secret_file=$secret" redis_timeout=100ms redis_retry=500ms "on_store_error=$mode" \
		db_path="$PP_TMP/$h/db" "$@"
	eval "PP_URL=\$PP_HOST_URL_$h"
}

# Timed ping: sets PP_STATUS and PP_SECS.
tping() {
	local t0 t1
	t0=$(date +%s%N)
	pp_ping "$1"
	t1=$(date +%s%N)
	PP_SECS=$(( (t1 - t0) / 1000000 ))
}

# --- kill -9 mid-flood, on_store_error = reject ---------------------------
host r reject per_key_limit=5 per_key_window=2s
pp_host_load r 4 8 ; load=$PP_LAST_LOAD
export PP_WRK_KEY=faults-flood
sleep 1.5
kill -KILL "$PP_REDIS_PID"
wait "$load"
n503=$(awk '$5 == "/ping" && $2 == 503' "$PP_TMP/r/access.log" | wc -l)
slow=$(awk '$5 == "/ping" && $2 == 503 && $3 > 0.6' "$PP_TMP/r/access.log" | wc -l)
pp_log "reject: $n503 answers 503 after kill -9, $slow slower than 0.6 s"
pp_check '[ "$n503" -gt 100 ]' "only $n503 answers 503 after Redis was killed"
pp_check '[ "$slow" -eq 0 ]' "$slow 503s took longer than 0.6 s (redis_timeout 100ms)"
other=$(awk '$5 == "/ping" && $2 != 200 && $2 != 429 && $2 != 503 && $2 != 499' "$PP_TMP/r/access.log" | wc -l)
pp_check '[ "$other" -eq 0 ]' "$other answers other than 200/429/503"
for i in 1 2 3; do
	tping "after-kill-$i"
	pp_expect_status 503
	pp_expect_json .error '"store_unavailable"'
	pp_check '[ "$PP_SECS" -lt 600 ]' "a 503 took $PP_SECS ms"
done
lost=$(grep -c "redis store lost" "$PP_TMP/r/workers.log")
pp_check '[ "$lost" -ge 1 ] && [ "$lost" -le 2 ]' "$lost 'redis store lost' lines from 2 workers (want one each at most)"
pp_host_stop r

# --- admit, Redis still dead (local: tests/redis/local.sh) ------------------------------------
host ad admit per_key_limit=2 per_key_window=10s
for i in 1 2 3 4; do
	pp_ping admit-key
	pp_expect_status 200
done
pp_host_stop ad


# --- restart: empty script cache; then SIGSTOP -----------------------------
pp_redis_start
host s reject per_key_limit=100 per_key_window=10s global_limit=1000 global_window=1s
ok=0
for i in $(seq 1 20); do
	pp_ping "restart-$i"
	[ "$PP_STATUS" = 200 ] && ok=$((ok + 1))
	[ "$ok" -ge 3 ] && break
	sleep 0.1
done
pp_check '[ "$ok" -ge 3 ]' "no 200s after Redis came back (NOSCRIPT path)"
loads=$(pp_redis_cli INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_script|load:calls=\([0-9]*\).*/\1/p')
pp_check '[ "${loads:-0}" -ge 1 ]' "the restarted Redis never got SCRIPT LOAD"

kill -STOP "$PP_REDIS_PID"
from=$(wc -l <"$PP_TMP/s/access.log")
max=0; n503=0
for i in $(seq 1 20); do
	tping "stopped-$i"
	[ "$PP_STATUS" = 503 ] && n503=$((n503 + 1))
	[ "$PP_SECS" -gt "$max" ] && max=$PP_SECS
done
kill -CONT "$PP_REDIS_PID"
# nginx's request_time is the server's side; curl's adds process start-up,
# which a loaded 2-core machine stretches.
smax=$(tail -n +"$((from + 1))" "$PP_TMP/s/access.log" | awk '$5 == "/ping" && $3 > m { m = $3 } END { print m + 0 }')
slow=$(tail -n +"$((from + 1))" "$PP_TMP/s/access.log" | awk '$5 == "/ping" && $3 > 0.35' | wc -l)
pp_log "SIGSTOP: $n503 of 20 answered 503, slowest $smax s in nginx, $max ms in curl (redis_timeout 100ms)"
pp_check '[ "$n503" -eq 20 ]' "only $n503 of 20 pings answered 503 with Redis stopped"
pp_check '[ "$slow" -eq 0 ]' "$slow requests took over 0.35 s in nginx with Redis stopped (slowest $smax s, redis_timeout 100ms)"
pp_check '[ "$max" -lt 1500 ]' "a request waited $max ms with Redis stopped (redis_timeout 100ms)"
pp_ping_until_200 30 0.1 'continued-%d' || pp_fail "no 200 within 3 s of SIGCONT"
pp_check 'grep -q "redis store back" "$PP_TMP/s/workers.log"' "no 'redis store back' line"

# --- a full Redis: noeviction refuses the script's writes --------------------
pp_check '[ "$(pp_redis_cli CONFIG SET maxmemory-policy noeviction)" = OK ]' "CONFIG SET maxmemory-policy failed"
pp_check '[ "$(pp_redis_cli CONFIG SET maxmemory 1)" = OK ]' "CONFIG SET maxmemory failed"
sleep 0.6 # past the hold-off of any failure before
keys_before=$(pp_redis_cli DBSIZE)
for i in 1 2 3; do
	pp_ping "full-$i"
	pp_expect_status 503
done
pp_check '[ "$(pp_redis_cli DBSIZE)" -le "$keys_before" ]' "keys were written to a full Redis (some may expire meanwhile, none may appear)"
pp_check 'grep -q "OOM" "$PP_TMP/s/workers.log"' "the log does not say Redis is out of memory"
pp_redis_cli CONFIG SET maxmemory 0 >/dev/null
pp_done

#!/usr/bin/env bash
# tests/deploy/metrics.sh - shape 1 (spawn-fcgi + multiwatch behind the
# shipped nginx site): requests spread over 4 workers are counted exactly in
# /metrics, whichever worker answers the scrape; promtool accepts the output;
# /metrics is not on the public port.
. "$PP_SRCDIR/tests/deploy/common.sh"
PP_NGINX=$NGINX pp_require promtool pgrep curl spawn-fcgi multiwatch nginx
N=120
http=$(pp_free_port) && ops=$(pp_free_port) || fail "no free port"
export PINGPONG_PER_KEY_LIMIT=3 PINGPONG_PER_KEY_WINDOW=60s
export PINGPONG_GLOBAL_LIMIT=1000 PINGPONG_GLOBAL_WINDOW=1s
start_workers 4 "$tmp/fcgi.sock"
start_nginx "$http" "$ops" "$tmp/fcgi.sock"
wait_status "http://127.0.0.1:$ops/readyz" 200 || fail "/readyz never answered 200"

workers=$(pgrep -P "$PP_WORKERS_PID" | tr '\n' ' ')
[ "$(echo $workers | wc -w)" -eq 4 ] || fail "want 4 workers under multiwatch, have: $workers"
declare -A before
for w in $workers; do before[$w]=$(awk '/^syscr/ {print $2}' "/proc/$w/io"); done

# N pings with distinct keys, 8 at a time (bounded: N requests, 5 s each).
seq 1 "$N" | timeout 60 xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 \
	-X POST -H 'x-secret-key: k{}' -H 'Content-Type: application/json' \
	--data '{"request":"ping"}' "http://127.0.0.1:$http/ping" > "$tmp/codes"
[ "$(grep -c '^200$' "$tmp/codes")" -eq "$N" ] || fail "not all $N pings got 200: $(sort "$tmp/codes" | uniq -c)"
# One key over its limit of 3: 3 admitted, 2 refused by the per-key limit.
for _ in 1 2 3 4 5; do ping_status "http://127.0.0.1:$http" same-key >> "$tmp/same"; echo >> "$tmp/same"; done
[ "$(tr '\n' ' ' < "$tmp/same")" = "200 200 200 429 429 " ] || fail "one key: $(tr '\n' ' ' < "$tmp/same")"
# 7 requests without a key: 400, no quota used.
for _ in $(seq 1 7); do
	curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data '{"request":"ping"}' \
		"http://127.0.0.1:$http/ping"
done

busy=0
for w in $workers; do
	after=$(awk '/^syscr/ {print $2}' "/proc/$w/io")
	[ $((after - before[$w])) -ge 5 ] && busy=$((busy + 1))
done
[ "$busy" -ge 2 ] || fail "the requests were not spread: only $busy worker(s) read requests"

code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/metrics")
[ "$code" = 404 ] || fail "/metrics on the public port answered $code, want 404"

# Several scrapes, each likely from another worker: every one exact. The
# readiness probe above was one 200, and each scrape counts before the next.
val() { awk -v k="$1" '$1 == k {print $2}' "$tmp/metrics"; }
for i in 1 2 3 4 5 6; do
	curl -fsS -o "$tmp/metrics" "http://127.0.0.1:$ops/metrics" || fail "GET /metrics"
	want200=$((N + 3 + 1 + i - 1))
	[ "$(val 'pingpong_requests_total{code="200"}')" = "$want200" ] ||
		{ grep requests_total "$tmp/metrics"; fail "scrape $i: code 200 is not $want200"; }
	[ "$(val 'pingpong_requests_total{code="429"}')" = 2 ] || fail "scrape $i: code 429 is not 2"
	[ "$(val 'pingpong_requests_total{code="400"}')" = 7 ] || fail "scrape $i: code 400 is not 7"
	[ "$(val 'pingpong_throttled_total{limit="per-key"}')" = 2 ] || fail "scrape $i: per-key throttles"
	[ "$(val 'pingpong_throttled_total{limit="global"}')" = 0 ] || fail "scrape $i: global throttles"
	[ "$(val 'pingpong_request_duration_seconds_count')" = $((want200 + 2 + 7)) ] ||
		fail "scrape $i: histogram count"
done
grep -q '^pingpong_build_info{version="[^"]*"} 1$' "$tmp/metrics" || fail "no build info"
# The map's fill (the "map filling" alert): pages in use, never above the map.
used=$(val pingpong_store_map_used_bytes) size=$(val pingpong_store_map_size_bytes)
[ -n "$used" ] && [ -n "$size" ] && [ "$used" -gt 0 ] && [ "$used" -le "$size" ] ||
	fail "map gauges: used '$used' of '$size' bytes"
out=$(promtool check metrics < "$tmp/metrics" 2>&1) || fail "promtool check metrics: $out"
echo "ok: $N pings over $busy busy workers counted exactly; promtool accepts /metrics"

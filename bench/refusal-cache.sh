#!/usr/bin/env bash
# bench/refusal-cache.sh - `make bench-refusal-cache`: a one-key flood through
# one nginx, four ways side by side: the bare libfcgi responder (the floor),
# nginx limit_req in front of it, pingpong, and pingpong behind the shipped
# refusal cache (nginx_refusal_cache = yes). wrk on loopback, rounds
# alternated, medians. Figures, never asserted.
ROUNDS=${BENCH_ROUNDS:-3}
# The tests' harness and its refusal-cache layer (the shipped cache snippets).
. "${PP_SRCDIR:?PP_SRCDIR must name the source directory}/bench/lib.sh" \
	tests/integration/refusal-cache-lib.sh pp-bench-rc
[ -f "$PP_NJS_MODULE" ] || die "njs module missing: install libnginx-mod-http-js"
[ -x "$B/bench/floor" ] || die "$B/bench/floor not built (make bench-refusal-cache builds it)"

mkdir -p "$tmp/db"
# SPEC's defaults; one pingpong group serves both pingpong variants (the
# header costs nothing where nginx does not cache), each with its own key.
printf 'db_path = %s\nnginx_refusal_cache = yes\n' "$tmp/db" >"$tmp/pingpong.conf"
start_group floor "$B/bench/floor"
start_group pp "$B/pingpong-fcgi" -c "$tmp/pingpong.conf"
pp_cache_snippets "$tmp/cache"

declare -A port
for v in floor limitreq pingpong cached; do port[$v]=$(pp_free_port) || die "no free port"; done
PP_NGINX_MAIN=$PP_CACHE_MAIN PP_NGINX_LOG=off PP_NGINX_HTTP="
	limit_req_zone \$http_x_secret_key zone=perkey:10m rate=10r/m;
	map \$host \$pp_everyone { default one; }
	limit_req_zone \$pp_everyone zone=global:1m rate=2r/s;
	limit_req_status 429;
$PP_CACHE_HTTP
	server { listen 127.0.0.1:${port[floor]};
		location = /ping { include /etc/nginx/fastcgi_params; fastcgi_pass unix:$tmp/floor.sock; } }
	server { listen 127.0.0.1:${port[limitreq]};
		location = /ping { limit_req zone=perkey nodelay; limit_req zone=global nodelay;
			include /etc/nginx/fastcgi_params; fastcgi_pass unix:$tmp/floor.sock; } }
	server { listen 127.0.0.1:${port[pingpong]};
		location = /ping { include /etc/nginx/fastcgi_params; fastcgi_pass unix:$tmp/pp.sock; } }
	server { listen 127.0.0.1:${port[cached]};
		location = /ping { include /etc/nginx/fastcgi_params; fastcgi_pass unix:$tmp/pp.sock;
			$PP_CACHE_LOCATION } }" pp_nginx_conf ""
pp_start_nginx "${port[floor]}" || die "nginx did not start: port ${port[floor]} taken"

# run VARIANT SECONDS: prints "rps p99_ms"
run() {
	local v=$1 d=$2 out
	out=$(BENCH_MODE=one timeout $((d + 10)) wrk -t1 -c"$CONNS" -d"${d}s" --timeout 2s --latency \
		-H "x-secret-key: bench-$v" -s "$S/bench/wrk.lua" "http://127.0.0.1:${port[$v]}/ping" 2>&1) || return 1
	awk '/^Requests\/sec/ { r = $2 } /^ +99%/ { p = $2 }
		END { if (p ~ /us$/) p = p / 1000; else if (p ~ /ms$/) p = p + 0; else if (p ~ /s$/) p = p * 1000
		      print r, p }' <<<"$out"
}
variants="floor limitreq pingpong cached"
for v in $variants; do run "$v" 1 >/dev/null; done
declare -A res
for r in $(seq 1 "$ROUNDS"); do
	set -- $variants
	for _ in $(seq 2 "$r"); do set -- "${@:2}" "$1"; done
	for v in "$@"; do res[$v]+="$(run "$v" "$SECS")"$'\n'; done
done
med() { sort -n -k"$2","$2" <<<"${res[$1]}" | sed '/^$/d' | awk -v c="$2" '{ a[NR] = $c } END { print a[int((NR + 1) / 2)] }'; }
# The table as bench/README.md has it, ready to paste (the cached ratio in
# bold: the issue's target is >= 2x the floor), then the ratio to pingpong
# without the cache, and the machine's load: ratios taken at a load above
# the core count are not a measurement.
f=$(med floor 1)
declare -A label=([floor]="bare libfcgi responder (floor)" [limitreq]="nginx limit_req, one key"
	[pingpong]="pingpong" [cached]="pingpong + nginx refusal cache")
echo "Measured $(date -u +%Y-%m-%d) on $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
	"$ROUNDS rounds x ${SECS} s alternated, wrk -t1 -c$CONNS, $WORKERS workers per group, nginx worker_processes ${PP_NGINX_PROCS:-1} (PP_NGINX_PROCS); medians:"
echo
echo "| variant (one-key flood) | req/s | × floor | p99 ms |"
echo "|---|---:|---:|---:|"
for v in $variants; do
	rps=$(med "$v" 1)
	x=$(awk -v a="$rps" -v b="$f" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	[ "$v" = cached ] && x="**$x**"
	printf '| %s | %.0f | %s | %s |\n' "${label[$v]}" "$rps" "$x" "$(med "$v" 2)"
done
echo
awk -v c="$(med cached 1)" -v p="$(med pingpong 1)" -v f="$f" 'BEGIN {
	printf "cache vs floor %.2fx (target >= 2x: %s), vs pingpong without it %.2fx\n",
		(f > 0 ? c / f : 0), ((f > 0 && c / f >= 2) ? "met" : "NOT met"), (p > 0 ? c / p : 0) }'

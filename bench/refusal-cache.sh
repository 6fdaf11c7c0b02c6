#!/usr/bin/env bash
# bench/refusal-cache.sh - `make bench-refusal-cache`: a one-key flood through
# one nginx, four ways side by side: the bare libfcgi responder (the floor),
# nginx limit_req in front of it, pingpong, and pingpong behind the shipped
# refusal cache (nginx_refusal_cache = yes). wrk on loopback, rounds
# alternated, medians. Figures, never asserted.
set -uo pipefail

B=${PP_BUILDDIR:?PP_BUILDDIR must name the build directory}
S=${PP_SRCDIR:?PP_SRCDIR must name the source directory}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-3}
CONNS=${BENCH_CONNS:-32}
WORKERS=${BENCH_WORKERS:-2}
NGINX=${NGINX:-/usr/sbin/nginx}
NJS=/usr/lib/nginx/modules/ngx_http_js_module.so

die() { echo "bench: $*" >&2; exit 1; }
for t in wrk spawn-fcgi multiwatch; do
	command -v "$t" >/dev/null || die "$t not found (see scripts/packages)"
done
[ -f "$NJS" ] || die "njs module missing: install libnginx-mod-http-js"
[ -x "$B/bench/floor" ] || die "$B/bench/floor not built (make bench-refusal-cache builds it)"

tmp=$(mktemp -d /tmp/pp-bench-rc.XXXXXX) || die "mktemp failed"
pids=()
cleanup() {
	local p
	[ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

group() { # NAME PROG ARGS...
	local name=$1; shift
	spawn-fcgi -s "$tmp/$name.sock" -n -- "$(command -v multiwatch)" -f "$WORKERS" -- "$@" \
		>>"$tmp/$name.log" 2>&1 &
	pids+=($!)
}
mkdir -p "$tmp/db" "$tmp/cache" "$tmp/nginx"
# SPEC's defaults; one pingpong group serves both pingpong variants (the
# header costs nothing where nginx does not cache), each with its own key.
printf 'db_path = %s\nnginx_refusal_cache = yes\n' "$tmp/db" >"$tmp/pingpong.conf"
group floor "$B/bench/floor"
group pp "$B/pingpong-fcgi" -c "$tmp/pingpong.conf"
(umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' |
	sed 's/.*/set $pingpong_cache_secret &;\n/' >"$tmp/pingpong-cache-secret.conf")
sed -e "s|/var/cache/nginx/pingpong|$tmp/cache|" -e "s|/etc/nginx/|$tmp/|" \
	"$S/conf/nginx/pingpong-refusal-cache.conf" >"$tmp/pingpong-refusal-cache.conf"
sed -e "s|/etc/nginx/|$tmp/|" "$S/conf/nginx/pingpong-refusal-cache-location.conf" \
	>"$tmp/pingpong-refusal-cache-location.conf"
cp "$S/conf/nginx/pingpong-cache-key.js" "$tmp/"

declare -A port
for v in floor limitreq pingpong cached; do port[$v]=$("$S/tests/free-port") || die "no free port"; done
user=; [ "$(id -u)" -eq 0 ] && user="user root;"
cat >"$tmp/nginx.conf" <<EOF2
load_module $NJS;
$user
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx/body;
	fastcgi_temp_path $tmp/nginx/fastcgi;
	limit_req_zone \$http_x_secret_key zone=perkey:10m rate=10r/m;
	map \$host \$pp_everyone { default one; }
	limit_req_zone \$pp_everyone zone=global:1m rate=2r/s;
	limit_req_status 429;
	include $tmp/pingpong-refusal-cache.conf;
	server { listen 127.0.0.1:${port[floor]};
		location = /ping { include /etc/nginx/fastcgi_params; fastcgi_pass unix:$tmp/floor.sock; } }
	server { listen 127.0.0.1:${port[limitreq]};
		location = /ping { limit_req zone=perkey nodelay; limit_req zone=global nodelay;
			include /etc/nginx/fastcgi_params; fastcgi_pass unix:$tmp/floor.sock; } }
	server { listen 127.0.0.1:${port[pingpong]};
		location = /ping { include /etc/nginx/fastcgi_params; fastcgi_pass unix:$tmp/pp.sock; } }
	server { listen 127.0.0.1:${port[cached]};
		location = /ping { include /etc/nginx/fastcgi_params; fastcgi_pass unix:$tmp/pp.sock;
			include $tmp/pingpong-refusal-cache-location.conf; } }
}
EOF2
"$NGINX" -p "$tmp" -c "$tmp/nginx.conf" || die "nginx did not start: $(tail -n 3 "$tmp/error.log")"
sleep 0.5

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
	"$ROUNDS rounds x ${SECS} s alternated, wrk -t1 -c$CONNS, $WORKERS workers per group; medians:"
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

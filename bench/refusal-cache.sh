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
PP_NGINX=${NGINX:-${PP_NGINX:-/usr/sbin/nginx}}
# The tests' harness and its refusal-cache layer: temp dir, worker groups,
# the shipped cache snippets, nginx writer and start, stopped by PID on exit.
. "$S/tests/integration/refusal-cache-lib.sh"

die() { echo "bench: $*" >&2; exit 1; }
for t in wrk spawn-fcgi multiwatch; do
	command -v "$t" >/dev/null || die "$t not found (see scripts/packages)"
done
[ -f "$PP_NJS_MODULE" ] || die "njs module missing: install libnginx-mod-http-js"
[ -x "$B/bench/floor" ] || die "$B/bench/floor not built (make bench-refusal-cache builds it)"

pp_tmpdir pp-bench-rc
tmp=$PP_TMP
group() { # NAME PROG ARGS...
	local name=$1; shift
	pp_spawn_workers "$tmp/$name.sock" "$tmp/$name.log" "$WORKERS" "$@"
	pp_track "$PP_SPAWNED"
}
mkdir -p "$tmp/db"
# SPEC's defaults; one pingpong group serves both pingpong variants (the
# header costs nothing where nginx does not cache), each with its own key.
printf 'db_path = %s\nnginx_refusal_cache = yes\n' "$tmp/db" >"$tmp/pingpong.conf"
group floor "$B/bench/floor"
group pp "$B/pingpong-fcgi" -c "$tmp/pingpong.conf"
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
f=$(med floor 1)
echo "one-key flood, wrk -t1 -c$CONNS, $ROUNDS rounds x ${SECS}s alternated, $WORKERS workers per group; medians; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| variant | req/s | × floor | p99 ms |"
echo "|---|---:|---:|---:|"
for v in $variants; do
	rps=$(med "$v" 1)
	printf '| %s | %.0f | %.2f | %s |\n' "$v" "$rps" "$(awk -v a="$rps" -v b="$f" 'BEGIN { print a / b }')" "$(med "$v" 2)"
done

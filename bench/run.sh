#!/usr/bin/env bash
# bench/run.sh - `make bench`: one nginx, every variant side by side behind it,
# wrk on loopback in alternated rounds; writes medians and ratios to a table.
ROUNDS=${BENCH_ROUNDS:-4}
THREADS=${BENCH_THREADS:-1}
NKEYS=${BENCH_KEYS:-1000000}
# tests/redis/lib.sh: the tests' harness, and the Redis store's redis-server.
. "${PP_SRCDIR:?PP_SRCDIR must name the source directory}/bench/lib.sh" tests/redis/lib.sh pp-bench
OUT=${BENCH_OUT:-$B/bench/results.md}
bench_require mdb_stat
[ -x "$B/bench/floor" ] || die "$B/bench/floor not built (make bench builds it)"

fcgi=
for f in "$B/pingpong-fcgi" "$B/src/pingpong-fcgi"; do
	[ -x "$f" ] && fcgi=$f && break
done

# write_conf NAME DBDIR KEY=VALUE...: a pingpong config file.
write_conf() {
	local name=$1 db=$2; shift 2
	mkdir -p "$db"
	{
		echo "db_path = $db"
		local kv
		for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
	} >"$tmp/$name.conf"
}

# --- the worker groups ---------------------------------------------------------
start_group floor "$B/bench/floor"
variants="ret limitreq floor"
if [ -n "$fcgi" ]; then
	# Flood: SPEC's default limits, so nearly every request is refused.
	write_conf flood "$tmp/db-flood" db_map_size=64M per_key_limit=10 per_key_window=60s \
		global_limit=2 global_window=1s log_level=error
	# Admit: a global limit far above what wrk can send and a new key per
	# request, so every request is admitted and written. The server refuses
	# a map smaller than its limits can keep live (global_limit x (per-key
	# window / global window + 1) admissions), hence 1 s per-key windows.
	write_conf admit "$tmp/db-admit" db_map_size=256M per_key_limit=10 per_key_window=1s \
		global_limit=100000 global_window=1s log_level=error
	# Many keys: one admission per key fills it (limit 1 an hour); the same
	# flood over 1 and over NKEYS live keys compares the cost of a big tree.
	# The global limit lets NKEYS admissions be live in the hour.
	write_conf keys1 "$tmp/db-keys1" db_map_size=1G per_key_limit=1 per_key_window=3600s \
		global_limit=1000000 global_window=3600s log_level=error
	write_conf keysN "$tmp/db-keysN" db_map_size=1G per_key_limit=1 per_key_window=3600s \
		global_limit=1000000 global_window=3600s log_level=error
	if [ -x "$B/bench/prefill" ]; then
		"$B/bench/prefill" -c "$tmp/keys1.conf" -n 1 >"$tmp/prefill1.log" 2>&1 ||
			die "prefill of 1 key failed: $(cat "$tmp/prefill1.log")"
		t0=$(date +%s.%N)
		"$B/bench/prefill" -c "$tmp/keysN.conf" -n "$NKEYS" >"$tmp/prefillN.log" 2>&1 ||
			die "prefill of $NKEYS keys failed: $(cat "$tmp/prefillN.log")"
		prefill_secs=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {printf "%.1f", a - b}')
		variants="$variants flood1 floodN admit keys1 keysN"
	else
		variants="$variants flood1 floodN admit"
	fi
	for g in flood admit keys1 keysN; do
		[ -f "$tmp/$g.conf" ] && start_group "$g" "$fcgi" -c "$tmp/$g.conf"
	done
fi
# The Redis store (store = redis, refusal cache on), on a redis-server of its
# own on a unix socket: the same flood and admit variants.
if [ -n "$fcgi" ] && command -v redis-server >/dev/null; then
	pp_redis_start --maxmemory-policy noeviction
	redis_pid=$PP_REDIS_PID
	write_conf rflood "$tmp/db-rflood" store=redis "redis_url=unix:$PP_REDIS_SOCK" \
		"key_secret_file=$(pp_key_secret)" per_key_limit=10 per_key_window=60s \
		global_limit=2 global_window=1s log_level=error
	write_conf radmit "$tmp/db-radmit" store=redis "redis_url=unix:$PP_REDIS_SOCK" \
		"key_secret_file=$(pp_key_secret)" per_key_limit=10 per_key_window=1s \
		global_limit=100000 global_window=1s log_level=error
	start_group rflood "$fcgi" -c "$tmp/rflood.conf"
	start_group radmit "$fcgi" -c "$tmp/radmit.conf"
	variants="$variants rflood1 rfloodN radmit"
fi
# BENCH_ONLY="floor rflood1 ..." runs only those variants.
if [ -n "${BENCH_ONLY:-}" ]; then
	variants=$(for v in $variants; do case " $BENCH_ONLY " in *" $v "*) echo "$v" ;; esac; done | tr '\n' ' ')
fi

# --- nginx: one server block per variant ---------------------------------------
declare -A port mode keys what
add_variant() { port[$1]=$(pp_free_port) || die "no free port"; mode[$1]=$2; keys[$1]=$3; what[$1]=$4; }
add_variant ret      one      1 "nginx return 200 (ceiling)"
add_variant limitreq one      1 "nginx limit_req, one key (nearly all 429)"
add_variant floor    one      1 "bare libfcgi responder (floor)"
add_variant flood1   one      1 "pingpong, one-key flood (nearly all 429)"
add_variant floodN   distinct 1 "pingpong, distinct key per request (nearly all 429)"
add_variant admit    distinct 1 "pingpong, admit path (every request admitted and written)"
add_variant keys1    random   1 "pingpong, flood over 1 live key (all 429, per-key)"
add_variant keysN    random   "$NKEYS" "pingpong, flood over $NKEYS live keys (all 429, per-key)"
add_variant shipped  one      1 "pingpong, one-key flood through the shipped conf/nginx/pingpong.conf"
add_variant rflood1  one      1 "pingpong on Redis, one-key flood (refusal cache)"
add_variant rfloodN  distinct 1 "pingpong on Redis, distinct key per request (refusal cache)"
add_variant radmit   distinct 1 "pingpong on Redis, admit path (one EVALSHA per request)"
shipped_conf=$S/conf/nginx/pingpong.conf
if [ -n "$fcgi" ] && [ -f "$shipped_conf" ] && { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" shipped "* ]]; }; then
	variants="$variants shipped"
fi

upstream_of() {
	case $1 in
	floor|limitreq) echo floor ;;
	flood1|floodN) echo flood ;;
	rflood1|rfloodN) echo rflood ;;
	*) echo "$1" ;;
	esac
}

# The servers' part of nginx.conf, for pp_nginx_conf's PP_NGINX_HTTP.
servers() {
	cat <<NGX
	client_max_body_size 8k;
	# nginx's own limiter with SPEC's default limits, for context.
	map \$host \$pp_everyone { default one; }
	limit_req_zone \$http_x_secret_key zone=perkey:10m rate=10r/m;
	limit_req_zone \$pp_everyone zone=global:1m rate=2r/s;
	limit_req_status 429;
NGX
	for v in $variants; do
		if [ "$v" = shipped ]; then
			# The shipped site as is, moved to our ports, socket and paths.
			sed -e "s|listen 8080;|listen 127.0.0.1:${port[shipped]};|" \
				-e "s|listen 127.0.0.1:8081;|listen 127.0.0.1:$(pp_free_port);|" \
				-e '/listen \[::1\?\]:80[0-9]*;/d' \
				-e "s|unix:/run/pingpong/pingpong.sock|unix:$tmp/flood.sock|" \
				-e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
				-e "s|^upstream pingpong_fcgi|upstream pp_shipped|; s|fastcgi_pass pingpong_fcgi;|fastcgi_pass pp_shipped;|" \
				"$shipped_conf"
			continue
		fi
		echo "	server {"
		echo "		listen 127.0.0.1:${port[$v]};"
		if [ "$v" = ret ]; then
			echo "		location = /ping { default_type application/json; return 200 '{\"response\":\"pong\"}'; }"
		else
			echo "		location = /ping {"
			if [ "$v" = limitreq ]; then
				# return would run before limit_req (rewrite phase): pass on.
				echo "			limit_req zone=perkey nodelay;"
				echo "			limit_req zone=global nodelay;"
			fi
			echo "			include /etc/nginx/fastcgi_params;"
			echo "			fastcgi_pass unix:$tmp/$(upstream_of "$v").sock;"
			echo "		}"
		fi
		echo "	}"
	done
}
PP_NGINX_PROCS=2 PP_NGINX_LOG=off PP_NGINX_HTTP=$(servers) pp_nginx_conf ""
set -- $variants
pp_start_nginx "${port[$1]}" || die "nginx did not start: port ${port[$1]} taken"

# Wait until every variant answers (workers are up), bounded.
for v in $variants; do
	ok=
	for i in $(seq 1 50); do
		code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
			-H 'x-secret-key: warmup' --data '{"request":"ping"}' "http://127.0.0.1:${port[$v]}/ping")
		case $code in 200|429) ok=1; break ;; esac
		sleep 0.1
	done
	[ -n "$ok" ] || die "variant $v never answered (last status $code); logs: $(tail -n 5 "$tmp"/*.log)"
done

# run_wrk VARIANT SECONDS: prints "rps p99_us non2xx requests p50_us".
run_wrk() {
	local v=$1 d=$2 line
	line=$(BENCH_MODE=${mode[$v]} BENCH_KEYS=${keys[$v]} \
		timeout $((d + 10)) wrk -t"$THREADS" -c"$CONNS" -d"${d}s" --timeout 2s \
		-s "$S/bench/wrk.lua" "http://127.0.0.1:${port[$v]}/ping" 2>&1 | grep '^RESULT') || return 1
	set -- $line
	local rps=${2#rps=} p50=${3#p50_us=} p99=${4#p99_us=} req=${5#requests=} non2xx=${6#non2xx=}
	echo "$rps $p99 $non2xx $req $p50"
}

# CPU ticks (user + system) of a variant's FastCGI workers so far, and
# Redis's own for the Redis variants: per request, next to the floor's.
group_cpu() {
	local g mw p t=0
	g=$(upstream_of "$1")
	eval "mw=\${grp_$g:-}"
	[ -n "$mw" ] || { echo 0; return; }
	for p in $(pgrep -P "$mw"); do
		t=$((t + $(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
redis_cpu() { [ -n "${redis_pid:-}" ] && awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$redis_pid/stat" || echo 0; }
: >"$tmp/cpu"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: variants: $variants; $ROUNDS rounds x ${SECS}s, wrk -t$THREADS -c$CONNS, $WORKERS FastCGI workers"
# Warm-up. A worker maps the 1M-key file fresh and takes a page fault on the
# first touch of each page (~31k pages): give that variant longer, so the
# rounds measure the steady state (the first-touch cost is reported apart).
for v in $variants; do
	w=1
	[ "$v" = keysN ] && w=${BENCH_KEYS_WARM:-8}
	run_wrk "$v" "$w" >/dev/null
done
: >"$tmp/raw"
set -- $variants
nv=$#
for r in $(seq 1 "$ROUNDS"); do
	# Rotate the order each round so no variant always runs first or last.
	order=$(echo $variants | tr ' ' '\n' | awk -v r="$r" -v n="$nv" '{a[NR]=$0} END {for (i = 0; i < n; i++) print a[(i + r - 1) % n + 1]}')
	for v in $order; do
		c0=$(group_cpu "$v")
		res=$(run_wrk "$v" "$SECS") || { echo "bench: wrk failed on $v" >&2; continue; }
		echo "$v $(( $(group_cpu "$v") - c0 )) $(echo "$res" | awk '{print $4}')" >>"$tmp/cpu"
		echo "$v $res" >>"$tmp/raw"
		echo "bench: round $r $v: $res"
	done
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print 0; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
med() { awk -v v="$1" -v c="$2" '$1 == v {print $c}' "$tmp/raw" | median; }

floor_rps=$(med floor 2)
floor_p99=$(med floor 3)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }

# --- store size and worker memory ------------------------------------------------
mem_report=
if [ -n "$fcgi" ] && [ -d "$tmp/db-keysN" ]; then
	keysN_bytes=$(du -b "$tmp/db-keysN/data.mdb" | cut -f1)
	stat_a=$(mdb_stat -a "$tmp/db-keysN" 2>&1)
	stat_e=$(mdb_stat -e "$tmp/db-keysN" 2>&1)
	psize=$(echo "$stat_e" | awk -F': ' '/Page size/ {print $2; exit}')
	pages_used=$(echo "$stat_e" | awk -F': ' '/Number of pages used/ {print $2; exit}')
	# Pages held by the trees (branch + leaf + overflow) over every database.
	tree_pages=$(echo "$stat_a" | awk -F': ' '/(Branch|Leaf|Overflow) pages/ {s += $2} END {print s + 0}')
	bytes_per_key=$(awk -v t="$tree_pages" -v p="$psize" -v n="$NKEYS" 'BEGIN {printf "%.1f", t * p / n}')
	used_per_key=$(awk -v t="$pages_used" -v p="$psize" -v n="$NKEYS" 'BEGIN {printf "%.1f", t * p / n}')
	mem_report="$mem_report
- LMDB with $NKEYS live keys: data.mdb holds $pages_used pages of $psize bytes in use
  (${used_per_key} bytes per live key, free pages included), trees alone $tree_pages pages
  (**${bytes_per_key} bytes per live key**). Prefill took ${prefill_secs:-?} s."
fi
if [ -n "$fcgi" ]; then
	for g in keysN admit flood; do
		eval "mw=\${grp_$g:-}"
		[ -n "$mw" ] || continue
		w=$(pgrep -P "$mw" | head -n1)
		[ -n "$w" ] && [ -r "/proc/$w/smaps" ] || continue
		# Sum Rss of every mapping, and of the data.mdb mapping alone.
		read -r total db <<<"$(awk '
			/^[0-9a-f]+-[0-9a-f]+ / {isdb = ($NF ~ /data\.mdb$/)}
			/^Rss:/ {t += $2; if (isdb) d += $2}
			END {print t + 0, d + 0}' "/proc/$w/smaps")"
		mem_report="$mem_report
- Worker RSS ($g group, pid $w): $((total - db)) KiB without the mapped database
  ($total KiB in all, $db KiB of it data.mdb pages)."
	done
fi

# --- the table ---------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
{
	echo "# pingpong bench results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $($PP_NGINX -v 2>&1 | sed 's/.*: //'),"
	echo "load average before: $load0, after: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the host skews the medians),"
	echo "wrk -t$THREADS -c$CONNS, $ROUNDS rounds x ${SECS} s per variant alternated, $WORKERS FastCGI workers per group, nginx worker_processes ${PP_NGINX_PROCS:-1} (PP_NGINX_PROCS); medians."
	echo
	echo "| variant | req/s | × floor | p50 ms | p99 ms | p99 × floor | non-2xx |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for v in $variants; do
		rps=$(med "$v" 2); p99=$(med "$v" 3); p50=$(med "$v" 6)
		non=$(awk -v v="$v" '$1 == v {n += $4; t += $5} END {if (t) printf "%.1f%%", 100 * n / t; else print "n/a"}' "$tmp/raw")
		printf '| %s | %.0f | %s | %.2f | %.2f | %s | %s |\n' "${what[$v]}" "$rps" \
			"$(ratio "$rps" "$floor_rps")" "$(awk -v x="$p50" 'BEGIN {print x / 1000}')" \
			"$(awk -v x="$p99" 'BEGIN {print x / 1000}')" "$(ratio "$p99" "$floor_p99")" "$non"
	done
	echo
	if [ -n "$fcgi" ]; then
		echo "Targets:"
		chk() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {ok = (op == ">=") ? a >= b : a <= b; print ok ? "met" : "MISSED"}'; }
		f1=$(ratio "$(med flood1 2)" "$floor_rps"); fN=$(ratio "$(med floodN 2)" "$floor_rps")
		ad=$(ratio "$(med admit 2)" "$floor_rps"); lp=$(ratio "$(med flood1 3)" "$floor_p99")
		echo "- one-key flood throughput $f1 × floor (target >= 0.90): $(chk "$f1" '>=' 0.90)"
		echo "- distinct-key flood throughput $fN × floor (target >= 0.90): $(chk "$fN" '>=' 0.90)"
		echo "- admit path throughput $ad × floor (target >= 0.85): $(chk "$ad" '>=' 0.85)"
		echo "- one-key flood p99 $lp × floor's (target <= 1.5): $(chk "$lp" '<=' 1.5)"
		if [ -n "${port[keysN]:-}" ] && grep -q '^keysN ' "$tmp/raw"; then
			kk=$(ratio "$(med keysN 2)" "$(med keys1 2)")
			echo "- $NKEYS live keys vs 1: $kk × (target >= 0.90): $(chk "$kk" '>=' 0.90)"
		fi
	else
		echo "pingpong-fcgi not built: only the reference variants ran."
	fi
	[ -n "$mem_report" ] && echo "$mem_report"
	if grep -q '^r' "$tmp/cpu"; then
		hz=$(getconf CLK_TCK)
		us() { awk -v v="$1" -v hz="$hz" '$1 == v {t += $2; n += $3} END {if (n) printf "%.1f", t * 1e6 / hz / n; else print "n/a"}' "$tmp/cpu"; }
		echo
		echo "Worker CPU per request (user + system, all rounds), and the Redis store's cost:"
		echo
		echo "| variant | worker µs/request | × floor's |"
		echo "|---|---:|---:|"
		fu=$(us floor)
		for v in $variants; do
			case $v in ret|limitreq|shipped) continue ;; esac
			printf '| %s | %s | %s |\n' "${what[$v]}" "$(us "$v")" "$(ratio "$(us "$v")" "$fu")"
		done
		echo
		rs=$(pp_redis_cli INFO commandstats 2>/dev/null | tr -d '\r')
		echo "Redis (redis-server, INFO commandstats over the whole run): evalsha" \
			"$(echo "$rs" | sed -n 's/^cmdstat_evalsha:\(calls=[0-9]*,usec=[0-9]*,usec_per_call=[0-9.]*\).*/\1/p');" \
			"redis-server CPU $(awk -v t="$(redis_cpu)" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}') s."
	fi
	if [ "${BENCH_CALLGRIND:-1}" = 1 ] && [ -n "$fcgi" ] && command -v valgrind >/dev/null; then
		echo
		echo "Instructions per decision (callgrind, bench/callgrind.sh):"
		echo
		PP_BUILDDIR=$B bash "$S/bench/callgrind.sh"
		if [ -n "${port[keysN]:-}" ] && grep -q '^keysN ' "$tmp/raw"; then
			# The same refusal with 1 and with NKEYS live keys in the tree.
			for g in keys1 keysN; do
				n=1; [ "$g" = keysN ] && n=$NKEYS
				valgrind --tool=callgrind --toggle-collect=measured_hit \
					--callgrind-out-file="$tmp/cg-$g.out" "$B/bench/hitloop" \
					-c "$tmp/$g.conf" -n 2000 -k "$n" >/dev/null 2>&1
				ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg-$g.out" 2>/dev/null)
				printf '| refuse, a random one of %s live keys | %s | 0 of 2000 |\n' "$n" \
					"$(awk -v i="${ir:-0}" 'BEGIN {printf "%.0f", i / 2000}')"
			done
		fi
	fi
	echo
	echo "Raw rounds (variant req/s p99_us non2xx requests p50_us):"
	echo '```'
	cat "$tmp/raw"
	echo '```'
} >"$OUT"
cat "$OUT"

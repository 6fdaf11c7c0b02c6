#!/bin/bash
# refusal-cache-phase.sh - the one-second phase of nginx's refusal cache. nginx
# keeps an entry while its whole-second clock is <= the expiry, so a window
# filled early in a second frees early in a later second S: a refusal cached
# to the end of S - 1 is right, one cached "for N seconds" from a refusal
# made in S, just before the window frees, outlives it by up to a second.
# Fill a 2 s window early in a second, ping every 20 ms across the moment it
# frees: no 429 after it frees, and the first admission comes at once (within
# 0.4 s on a loaded machine; the naive expiry delays it 0.75 s or more).
. "$(dirname "$0")/refusal-cache-lib.sh"
pp_setup
pp_cache_require
W=2
pp_start_server per_key_limit=1 per_key_window=${W}s global_limit=100000 nginx_refusal_cache=yes

frac_ms() { local n; n=$(date +%N); echo $((10#${n:0:3})); }

# One round with a fresh key; prints "ok", "gap-missed" or failures.
round() {
	local key=$1 i f
	# Early in a second: between 50 and 250 ms past it (bounded wait).
	for i in $(seq 1 400); do
		f=$(frac_ms)
		[ "$f" -ge 50 ] && [ "$f" -le 250 ] && break
		sleep 0.01
	done
	local mark n urls=()
	mark=$(wc -l <"$PP_ACCESS_LOG")
	# One curl, one connection, a request every 20 ms: forking a curl per
	# ping is far too slow on a loaded machine. The first fills the window (limit 1).
	n=$(( (W * 1000 + 700) / 20 ))
	for i in $(seq 1 "$n"); do urls+=("$PP_URL/ping"); done
	timeout $((W + 15)) curl -s --rate 50/s -X POST -H 'Expect:' \
		-H 'Content-Type: application/json' -H "x-secret-key: $key" \
		--data-binary '{"request":"ping"}' "${urls[@]}" >/dev/null ||
		echo "FAIL curl failed or timed out"
	tail -n +$((mark + 1)) "$PP_ACCESS_LOG" | awk -v W="$W" '
		$5 != "/ping" { next }
		$2 == 200 { a[++na] = $1 }
		{ t[++n] = $1; s[n] = $2; rt[n] = $3; c[n] = $8 }
		END {
			if (na < 2) { print "FAIL only " na " admissions in the round"; exit }
			free = a[1] + W
			gap = 0; hit = 0; bad = 0
			for (i = 1; i <= n; i++) {
				if (s[i] == 429 && c[i] == "HIT" && t[i] < free) hit++
				# Refused after the last second boundary before the
				# window freed: a naive expiry would cache it.
				if (s[i] == 429 && t[i] >= int(free) && t[i] < free) gap++
				if (s[i] == 429 && t[i] - rt[i] > free + 0.05 && t[i] < a[2] && bad++ < 3)
					printf "FAIL 429 (%s) at %.3f, the window freed at %.3f\n", c[i], t[i], free
			}
			if (a[2] > free + 0.4)
				printf "FAIL first admission after the window freed (%.3f) came at %.3f\n", free, a[2]
			if (hit == 0) print "FAIL no refusal came from the cache"
			printf "INFO filled at %.3f, freed %.3f, next admission %.3f, %d cache hits, %d refusals in the last part-second\n", a[1], free, a[2], hit, gap
			print (gap > 0 ? "ok" : "gap-missed")
		}'
}

proved=0
for r in 1 2 3; do
	out=$(round "phase-key-$r")
	while IFS= read -r line; do
		case $line in
		FAIL*) pp_fail "round $r: ${line#FAIL }" ;;
		INFO*) pp_log "round $r: ${line#INFO }" ;;
		ok) proved=1 ;;
		esac
	done <<<"$out"
	[ "$proved" -eq 1 ] && break
done
[ "$proved" -eq 1 ] || pp_fail "no round had a refusal between the last second boundary and the window freeing (too slow a machine?)"
pp_done

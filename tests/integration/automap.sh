#!/bin/bash
# automap.sh - db_map_size = auto through nginx: global_limit = 100000 starts
# with no size given (the map sized from the limits), while the same limits
# with an explicit 64M stop start-up naming db_map_size.
. "$(dirname "$0")/../lib.sh"
pp_setup

limits=(per_key_limit=10 per_key_window=60s global_limit=100000 global_window=1s)
pp_write_config "${limits[@]}" db_map_size=64M
out=$("$PP_BUILDDIR/pingpong-fcgi" -t -c "$PP_TMP/pingpong.conf" 2>&1) && pp_fail "64M accepted for 100000/s: $out"
grep -q 'db_map_size 64 MiB is too small' <<<"$out" || pp_fail "the error does not name db_map_size: $out"

pp_start_server "${limits[@]}"
pp_ping auto-map
pp_expect_status 200
line=$(grep -m1 'started:' "$PP_TMP/workers.log")
[[ $line =~ map\ ([0-9]+)\ MiB\ \(auto\) ]] || pp_fail "start-up line without an auto map: $line"
mib=${BASH_REMATCH[1]:-0}
# 100000 x 61 live admissions x 260 bytes + 1 MiB, rounded up: 1514 MiB.
pp_check '[ "$mib" -ge 1500 ] && [ "$mib" -le 1600 ]' "auto map of $mib MiB for 100000/s"
if [ -x "$PP_BUILDDIR/pingpongctl" ]; then
	max=$("$PP_BUILDDIR/pingpongctl" -c "$PP_TMP/pingpong.conf" --json stats | jq .bytes_max)
	pp_check '[ "$max" = $((mib << 20)) ]' "the store's map is $max bytes, the start-up line says $mib MiB"
fi
pp_done

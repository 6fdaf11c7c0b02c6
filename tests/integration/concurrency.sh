#!/bin/bash
# concurrency.sh - 16 keep-alive connections hammer one key through 4 workers
# for a few seconds; nginx's access log must show exact sliding windows.
. "$(dirname "$0")/../lib.sh"
pp_setup
pp_require wrk
pp_start_server db_map_size=128M per_key_limit=5 per_key_window=2s global_limit=100000 global_window=1s
PP_WRK_KEY=one-hot-key pp_load 5 16
pp_check_windows 5 2
[ "${PP_REFUSED:-0}" -gt 100 ] || pp_fail "only ${PP_REFUSED:-0} refusals: the load did not hammer"
grep -E 'Requests/sec|Non-2xx|Socket errors' "$PP_TMP/wrk.out" | sed 's/^/# wrk: /' >&2
pp_done

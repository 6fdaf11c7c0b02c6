# slow.sh - answers that take longer than the interval (the original client
# crashed on a request over a second): the client waits for them, skips the
# ticks it missed instead of bursting, and a request past --timeout is one
# "timeout" error line followed by a retry, never a crash.
. "$(dirname "$0")/nginx.sh"
cli_setup

# limit_rate makes nginx trickle the answer: ~230 bytes at 100 B/s take
# 1.2-2 s; at 1 B/s it never arrives within the timeout.
cli_stub '
		location = /slow/ping {
			default_type application/json;
			limit_rate 100;
			limit_rate_after 0;
			return 200 "{\"response\":\"pong\"}                                                         ";
		}
		location = /stall/ping {
			default_type application/json;
			limit_rate 1;
			limit_rate_after 0;
			return 200 "{\"response\":\"pong\"}                                                         ";
		}'

# 1. Slow pongs, interval 1 s: sent at 0, 2, 4 s (the ticks at 1, 3 s are
#    missed while waiting), never two back to back.
timeout 20 "$PINGPONG" --url "$CLI_BASE/slow/ping" --count 3 --timeout 5 --json \
	>"$PP_TMP/slow.out" 2>"$PP_TMP/slow.err"
rc=$?
pp_check '[ "$rc" -eq 0 ]' "want exit 0 after 3 slow pongs, got $rc"
pp_check '[ "$(cli_events pong "$PP_TMP/slow.out")" -eq 3 ]' "want 3 pongs"
pp_check '[ "$(cli_events error "$PP_TMP/slow.out")" -eq 0 ]' "a slow answer is not an error"
lat=$(sed -n 's/.*"latency_ms":\([0-9]*\).*/\1/p' "$PP_TMP/slow.out" | head -n 1)
pp_check '[ "${lat:-0}" -ge 1000 ]' "the stub should take over a second, took ${lat:-?} ms"
gaps=$(cli_gaps /slow/ping | tr '\n' ' ')
pp_check 'echo "$gaps" | awk "{ exit !(NF == 2 && \$1 >= 1.5 && \$2 >= 1.5) }"' \
	"answers should end about 2 s apart, never in a burst; gaps: $gaps"

# 2. An answer that never comes within --timeout 0.5: attempts at 0 and
#    1.5 s (0.5 s timeout + 1 s backoff), each a timeout line; then Ctrl-C.
timeout --preserve-status -s INT 3.2 "$PINGPONG" --url "$CLI_BASE/stall/ping" \
	--timeout 0.5 >"$PP_TMP/stall.out" 2>&1
rc=$?
pp_check '[ "$rc" -eq 130 ]' "SIGINT should give 130, got $rc"
n=$(grep -c 'error: no answer within 0.5 s (--timeout): .*; retrying in' "$PP_TMP/stall.out")
pp_check '[ "$n" -eq 2 ]' "want 2 timeout lines, got $n"
pp_check 'grep -q "^pingpong: 2 sent, 0 pongs, 0 throttled, 2 errors in" "$PP_TMP/stall.out"' "summary line"
pp_done

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
	>"$CLI_TMP/slow.out" 2>"$CLI_TMP/slow.err"
rc=$?
cli_check '[ "$rc" -eq 0 ]' "want exit 0 after 3 slow pongs, got $rc"
cli_check '[ "$(cli_events pong "$CLI_TMP/slow.out")" -eq 3 ]' "want 3 pongs"
cli_check '[ "$(cli_events error "$CLI_TMP/slow.out")" -eq 0 ]' "a slow answer is not an error"
lat=$(sed -n 's/.*"latency_ms":\([0-9]*\).*/\1/p' "$CLI_TMP/slow.out" | head -n 1)
cli_check '[ "${lat:-0}" -ge 1000 ]' "the stub should take over a second, took ${lat:-?} ms"
gaps=$(cli_gaps /slow/ping | tr '\n' ' ')
cli_check 'echo "$gaps" | awk "{ exit !(NF == 2 && \$1 >= 1.5 && \$2 >= 1.5) }"' \
	"answers should end about 2 s apart, never in a burst; gaps: $gaps"

# 2. An answer that never comes within --timeout 0.5: attempts at 0 and
#    1.5 s (0.5 s timeout + 1 s backoff), each a timeout line; then Ctrl-C.
timeout --preserve-status -s INT 3.2 "$PINGPONG" --url "$CLI_BASE/stall/ping" \
	--timeout 0.5 >"$CLI_TMP/stall.out" 2>&1
rc=$?
cli_check '[ "$rc" -eq 130 ]' "SIGINT should give 130, got $rc"
n=$(grep -c 'error: no answer within 0.5 s (--timeout): .*; retrying in' "$CLI_TMP/stall.out")
cli_check '[ "$n" -eq 2 ]' "want 2 timeout lines, got $n"
cli_check 'grep -q "^pingpong: 2 sent, 0 pongs, 0 throttled, 2 errors in" "$CLI_TMP/stall.out"' "summary line"
cli_done

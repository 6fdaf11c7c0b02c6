# pipe.sh - a reader that goes away or a disk that fills ends the client at
# once with exit 4 and one line on stderr, instead of pinging on forever
# (and spending quota) with nobody reading: `pingpong --json | head -2`.
. "$(dirname "$0")/nginx.sh"
cli_setup

cli_stub '
		location = /ping {
			default_type application/json;
			return 200 "{\"response\":\"pong\"}";
		}'

# 1. head takes the start line and one pong, then exits: the next event
#    (the second pong, at 0.2 s) meets a closed pipe.
start=$(date +%s.%N)
timeout -s INT 10 "$PINGPONG" --url "$CLI_BASE/ping" --json --interval 0.2 \
	2>"$CLI_TMP/head.err" | head -n 2 >"$CLI_TMP/head.out"
rc=${PIPESTATUS[0]}
end=$(date +%s.%N)
cli_check '[ "$rc" -eq 4 ]' "a closed pipe should end the client with 4, got $rc (130: it ran until the timeout)"
cli_check 'awk -v a="$start" -v b="$end" "BEGIN { exit !(b - a < 3) }"' "the client kept running after head exited"
cli_check 'grep -q "^pingpong: cannot write to standard output (Broken pipe)" "$CLI_TMP/head.err"' \
	"one line on stderr naming the cause: $(cat "$CLI_TMP/head.err")"
cli_check '[ "$(wc -l <"$CLI_TMP/head.err")" -eq 1 ]' "exactly one line on stderr"
n=$(grep -c ' 200 POST /ping$' "$CLI_TMP/access.log")
cli_check '[ "$n" -ge 2 ] && [ "$n" -le 3 ]' "no pings after the reader left: nginx saw $n"

# 2. Text output too, and --quiet, whose only line is the summary.
: >"$CLI_TMP/access.log"
timeout -s INT 10 "$PINGPONG" --url "$CLI_BASE/ping" --interval 0.2 \
	2>"$CLI_TMP/text.err" | head -n 1 >/dev/null
rc=${PIPESTATUS[0]}
cli_check '[ "$rc" -eq 4 ]' "text output: want 4, got $rc"

# 3. A full disk (/dev/full: every write is ENOSPC).
if [ -w /dev/full ]; then
	timeout -s INT 10 "$PINGPONG" --url "$CLI_BASE/ping" --count 3 \
		>/dev/full 2>"$CLI_TMP/full.err"
	rc=$?
	cli_check '[ "$rc" -eq 4 ]' "a full disk should end the client with 4, got $rc"
	cli_check 'grep -q "^pingpong: cannot write to standard output (No space left on device)" "$CLI_TMP/full.err"' \
		"stderr should name the cause: $(cat "$CLI_TMP/full.err")"
	timeout -s INT 10 "$PINGPONG" --url "$CLI_BASE/ping" --count 2 --quiet \
		>/dev/full 2>"$CLI_TMP/quiet.err"
	rc=$?
	cli_check '[ "$rc" -eq 4 ]' "--quiet: a summary that cannot be written is exit 4, got $rc"
	"$PINGPONG" --help >/dev/full 2>"$CLI_TMP/help.err"
	rc=$?
	cli_check '[ "$rc" -eq 4 ] && grep -q "^pingpong: cannot write to standard output" "$CLI_TMP/help.err"' \
		"--help to a full disk: want 4 and a line on stderr, got $rc: $(cat "$CLI_TMP/help.err")"
fi
cli_done

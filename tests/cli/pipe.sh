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
	2>"$PP_TMP/head.err" | head -n 2 >"$PP_TMP/head.out"
rc=${PIPESTATUS[0]}
end=$(date +%s.%N)
pp_check '[ "$rc" -eq 4 ]' "a closed pipe should end the client with 4, got $rc (130: it ran until the timeout)"
pp_check 'awk -v a="$start" -v b="$end" "BEGIN { exit !(b - a < 3) }"' "the client kept running after head exited"
pp_check 'grep -q "^pingpong: cannot write to standard output (Broken pipe)" "$PP_TMP/head.err"' \
	"one line on stderr naming the cause: $(cat "$PP_TMP/head.err")"
pp_check '[ "$(wc -l <"$PP_TMP/head.err")" -eq 1 ]' "exactly one line on stderr"
n=$(grep -c ' 200 POST /ping$' "$PP_TMP/access.log")
pp_check '[ "$n" -ge 2 ] && [ "$n" -le 3 ]' "no pings after the reader left: nginx saw $n"

# 2. Text output too, and --quiet, whose only line is the summary.
: >"$PP_TMP/access.log"
timeout -s INT 10 "$PINGPONG" --url "$CLI_BASE/ping" --interval 0.2 \
	2>"$PP_TMP/text.err" | head -n 1 >/dev/null
rc=${PIPESTATUS[0]}
pp_check '[ "$rc" -eq 4 ]' "text output: want 4, got $rc"

# 3. A full disk (/dev/full: every write is ENOSPC).
if [ -w /dev/full ]; then
	timeout -s INT 10 "$PINGPONG" --url "$CLI_BASE/ping" --count 3 \
		>/dev/full 2>"$PP_TMP/full.err"
	rc=$?
	pp_check '[ "$rc" -eq 4 ]' "a full disk should end the client with 4, got $rc"
	pp_check 'grep -q "^pingpong: cannot write to standard output (No space left on device)" "$PP_TMP/full.err"' \
		"stderr should name the cause: $(cat "$PP_TMP/full.err")"
	timeout -s INT 10 "$PINGPONG" --url "$CLI_BASE/ping" --count 2 --quiet \
		>/dev/full 2>"$PP_TMP/quiet.err"
	rc=$?
	pp_check '[ "$rc" -eq 4 ]' "--quiet: a summary that cannot be written is exit 4, got $rc"
	"$PINGPONG" --help >/dev/full 2>"$PP_TMP/help.err"
	rc=$?
	pp_check '[ "$rc" -eq 4 ] && grep -q "^pingpong: cannot write to standard output" "$PP_TMP/help.err"' \
		"--help to a full disk: want 4 and a line on stderr, got $rc: $(cat "$PP_TMP/help.err")"
fi
pp_done

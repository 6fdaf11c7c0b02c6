# backoff.sh - against a server that refuses with the original service's bare
# 429 (a JSON message, no Retry-After, no RateLimit), the client backs off
# 1, 2, 4 ... s instead of hammering it or sleeping a fixed minute.
. "$(dirname "$0")/nginx.sh"
cli_setup

cli_stub '
		location = /ping {
			default_type application/json;
			return 429 "{\"message\":\"You have exceeded your request-limits.\"}";
		}'

# Requests are due at 0, 1, 3, 7 s (then 15): four in 9 s.
timeout --preserve-status -s INT 9 "$PINGPONG" --url "$CLI_BASE" \
	--json --key backoff-test >"$PP_TMP/client.out" 2>"$PP_TMP/client.err"
rc=$?
out=$PP_TMP/client.out

pp_check '[ "$rc" -eq 130 ]' "SIGINT should end the client with 130, got $rc"
n=$(grep -c ' 429 POST /ping$' "$PP_TMP/access.log")
pp_check '[ "$n" -eq 4 ]' "want 4 refused requests in 9 s (0, 1, 3, 7 s), nginx saw $n"
want="1 2 4"
k=0
for gap in $(cli_gaps); do
	w=$(echo "$want" | cut -d' ' -f$((k + 1)))
	[ -n "$w" ] || break
	# Never early; late only by what a loaded machine adds.
	awk -v g="$gap" -v w="$w" 'BEGIN { exit !(g >= w - 0.05 && g <= w + 0.9) }' ||
		pp_fail "gap $((k + 1)) between requests is $gap s, want about $w s"
	k=$((k + 1))
done
pp_check '[ "$k" -eq 3 ]' "want 3 gaps to check, got $k"

pp_check '[ "$(cli_events throttled "$out")" -eq 4 ]' "want 4 throttled events"
# The client says what it does: backoff, 1 s then 2 then 4 then 8.
got=$(grep '"event":"throttled"' "$out" | sed -n 's/.*"resume_in":\([0-9.]*\).*/\1/p' | tr '\n' ' ')
pp_check '[ "$got" = "1.0 2.0 4.0 8.0 " ]' "resume_in should be 1 2 4 8, got '$got'"
pp_check 'grep "\"event\":\"throttled\"" "$out" | grep -q "\"reason\":\"backoff\""' "throttled events should say backoff"
pp_check 'grep -q "\"event\":\"summary\".*\"sent\":4,\"pongs\":0,\"throttled\":4,\"errors\":0" "$out"' \
	"summary should count 4 sent, 4 throttled: $(tail -n 1 "$out")"
pp_check '[ ! -s "$PP_TMP/client.err" ]' "nothing on stderr: $(cat "$PP_TMP/client.err")"
pp_done

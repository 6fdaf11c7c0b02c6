# quota_hint.sh - the client honours the server's timing hints: with
# RateLimit r=0 it pauses for t without sending a request that would be
# refused; on a 429 with Retry-After it waits exactly that long. (A stub
# server in nginx: the hints are fixed, so the spacing is exact.)
. "$(dirname "$0")/nginx.sh"
cli_setup

cli_stub '
		location = /ping {
			default_type application/json;
			add_header RateLimit-Policy "\"per-key\";q=1;w=2, \"global\";q=2;w=1" always;
			add_header RateLimit "\"per-key\";r=0;t=2, \"global\";r=1;t=1" always;
			return 200 "{\"response\":\"pong\"}";
		}
		location = /refuse/ping {
			default_type application/json;
			add_header Retry-After 2 always;
			return 429 "{\"message\":\"You have exceeded your request-limits.\",\"limit\":\"global\",\"retry_after\":1.2,\"throttle_age\":0}";
		}'

# 1. r=0, t=2 after every pong: pings 2 s apart, not 1 s; 3 pongs in ~4 s.
start=$(date +%s.%N)
timeout 15 "$PINGPONG" --url "$CLI_BASE/ping" --count 3 --json \
	>"$PP_TMP/quota.out" 2>"$PP_TMP/quota.err"
rc=$?
end=$(date +%s.%N)
out=$PP_TMP/quota.out
pp_check '[ "$rc" -eq 0 ]' "want exit 0 after 3 pongs, got $rc"
pp_check '[ "$(cli_events pong "$out")" -eq 3 ]' "want 3 pongs"
pp_check '[ "$(cli_events pause "$out")" -eq 2 ]' "want 2 pause events (the last pong ends the run)"
pp_check 'grep "\"event\":\"pause\"" "$out" | grep -q "\"limit\":\"per-key\",\"reason\":\"quota\",\"resume_in\":2"' \
	"pause events should name per-key, quota, 2 s"
pp_check 'grep -q "\"policy\":\"per-key\",\"remaining\":0,\"reset\":2,\"quota\":1,\"window\":2" "$out"' \
	"pong events should carry the parsed quota"
gaps=$(cli_gaps | tr '\n' ' ')
pp_check 'echo "$gaps" | awk "{ exit !(NF == 2 && \$1 >= 1.98 && \$1 <= 2.8 && \$2 >= 1.98 && \$2 <= 2.8) }"' \
	"pings should be 2 s apart; gaps: $gaps"
pp_check 'awk -v a="$start" -v b="$end" "BEGIN { exit !(b - a < 6.5) }"' "3 pongs took too long"

# 2. 429 with Retry-After: 2 (the body says 1.2): wait the longer, 2 s.
: >"$PP_TMP/access.log"
timeout --preserve-status -s INT 3.5 "$PINGPONG" --url "$CLI_BASE/refuse/ping" \
	>"$PP_TMP/refuse.out" 2>&1
rc=$?
pp_check '[ "$rc" -eq 130 ]' "SIGINT should give 130, got $rc"
n=$(grep -c 'throttled by the global limit (HTTP 429): pausing 2 s, until ' "$PP_TMP/refuse.out")
pp_check '[ "$n" -eq 2 ]' "want 2 'throttled by the global limit ... pausing 2 s' lines, got $n"
pp_check 'grep -q "resumed after 2\.[0-9] s" "$PP_TMP/refuse.out"' "want a 'resumed' line"
n=$(grep -c ' 429 POST /refuse/ping$' "$PP_TMP/access.log")
pp_check '[ "$n" -eq 2 ]' "want 2 requests in 3.5 s (at 0 and 2 s), nginx saw $n"
pp_done

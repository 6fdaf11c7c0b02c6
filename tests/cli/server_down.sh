# server_down.sh - nothing listens on the port: the client says why, keeps
# retrying with backoff, never crashes; when the server comes up it carries
# on and gets its pongs. SIGINT prints the summary and exits 130.
. "$(dirname "$0")/nginx.sh"
cli_setup

port=$(pp_free_port) || exit 1
url="http://127.0.0.1:$port/ping"

# 1. Human output, server down: attempts at 0 and 1 s, then Ctrl-C.
timeout --preserve-status -s INT 2.5 "$PINGPONG" --url "$url" --key down-test \
	>"$PP_TMP/human.out" 2>&1
rc=$?
pp_check '[ "$rc" -eq 130 ]' "SIGINT should give 130, got $rc"
n=$(grep -c 'error: cannot reach the server: .*; retrying in [12] s, at ' "$PP_TMP/human.out")
pp_check '[ "$n" -eq 2 ]' "want 2 'cannot reach the server ... retrying' lines, got $n"
pp_check 'grep -q "^pingpong: 2 sent, 0 pongs, 0 throttled, 2 errors in .* (signal)$" "$PP_TMP/human.out"' \
	"the summary line is missing or wrong"

# 2. --json, --count 2: down at first; nginx starts once the client has
#    reported two failed attempts (at 0 and 1 s), so the next ones (3 s and
#    on) get pongs, and the client ends with 0.
timeout 20 "$PINGPONG" --url "$url" --key down-test --count 2 --json \
	>"$PP_TMP/json.out" 2>"$PP_TMP/json.err" &
client=$!
for i in $(seq 1 100); do
	[ "$(cli_events error "$PP_TMP/json.out")" -ge 2 ] && break
	sleep 0.1
done
cli_nginx_start "$port" '
		location = /ping {
			default_type application/json;
			return 200 "{\"response\":\"pong\"}";
		}'
wait "$client"
rc=$?
out=$PP_TMP/json.out
pp_check '[ "$rc" -eq 0 ]' "the client should end with 0 after 2 pongs, got $rc"
errors=$(cli_events error "$out")
pp_check '[ "$errors" -ge 2 ]' "want at least 2 error events, got $errors"
pp_check '[ "$(grep -c "\"error\":\"connect\"" "$out")" -eq "$errors" ]' "errors should be of kind connect"
pp_check '[ "$(cli_events pong "$out")" -eq 2 ]' "want 2 pongs after the server came up"
pp_check 'grep -q "\"event\":\"summary\".*\"sent\":$((errors + 2)),\"pongs\":2,\"throttled\":0,\"errors\":$errors,\"stopped_by\":\"count\"" "$out"' \
	"summary: $(tail -n 1 "$out")"
n=$(grep -c ' 200 POST /ping$' "$PP_TMP/access.log")
pp_check '[ "$n" -eq 2 ]' "nginx should have seen exactly 2 pings, saw $n"
pp_check '[ ! -s "$PP_TMP/json.err" ]' "nothing on stderr: $(cat "$PP_TMP/json.err")"
pp_done

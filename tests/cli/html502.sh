# html502.sh - a proxy's HTML error page (502) is not a crash and not a pong:
# the client says so in one line, backs off, and carries on when the API
# answers again.
. "$(dirname "$0")/nginx.sh"
cli_setup

# /ping answers nginx's own HTML 502 page until the file "up" exists.
cli_stub '
		location = /ping {
			default_type application/json;
			if (-f $document_root/up) {
				return 200 "{\"response\":\"pong\"}";
			}
			return 502;
		}'
url="$CLI_BASE/ping"

# 1. Human output: attempts at 0 and 1 s, then Ctrl-C.
timeout --preserve-status -s INT 2.5 "$PINGPONG" --url "$url" >"$PP_TMP/human.out" 2>&1
rc=$?
pp_check '[ "$rc" -eq 130 ]' "SIGINT should give 130, got $rc"
n=$(grep -c 'error: HTTP 502 with a body that is not JSON (text/html.*; retrying in' "$PP_TMP/human.out")
pp_check '[ "$n" -eq 2 ]' "want 2 lines naming the HTML 502, got $n"

# 2. --json --count 2: the page is fixed once the client has reported two
#    502s (at 0 and 1 s); the attempts at 3 and 4 s get pongs.
: >"$PP_TMP/access.log"
timeout 20 "$PINGPONG" --url "$url" --count 2 --json >"$PP_TMP/json.out" 2>"$PP_TMP/json.err" &
client=$!
for i in $(seq 1 100); do
	[ "$(cli_events error "$PP_TMP/json.out")" -ge 2 ] && break
	sleep 0.1
done
touch "$PP_TMP/www/up"
wait "$client"
rc=$?
out=$PP_TMP/json.out
pp_check '[ "$rc" -eq 0 ]' "want exit 0 after 2 pongs, got $rc"
pp_check '[ "$(grep -c "\"error\":\"not_json\",\"status\":502" "$out")" -eq 2 ]' "want 2 not_json 502 errors"
pp_check '[ "$(cli_events pong "$out")" -eq 2 ]' "want 2 pongs once the API is back"
gaps=$(cli_gaps | tr '\n' ' ')
pp_check 'echo "$gaps" | awk "{ exit !(\$1 >= 0.95 && \$1 <= 1.9 && \$2 >= 1.95 && \$2 <= 2.9) }"' \
	"after the 502s the client should back off 1 s then 2 s; gaps: $gaps"
pp_check '[ ! -s "$PP_TMP/json.err" ]' "nothing on stderr: $(cat "$PP_TMP/json.err")"
pp_done

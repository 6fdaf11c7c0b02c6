# several_urls.sh - `--url A --url B`: the pings take turns between two
# hosts (two nginx listeners, each serving only its own path, so a ping sent
# to the wrong host would be a 404), the start line names both, and a
# throttle from one host pauses the client for both (one shared limit).
. "$(dirname "$0")/nginx.sh"
cli_setup

P2=$(pp_free_port) || exit 1
pong='default_type application/json; return 200 "{\"response\":\"pong\"}";'
# The CONF goes inside the first server {}: close it and open the second.
cli_stub "
		location = /a/ping { $pong }
		location = /a/refuse/ping { $pong }
	}
	server {
		listen 127.0.0.1:$P2;
		location = /b/ping { $pong }
		location = /b/refuse/ping {
			default_type application/json;
			add_header Retry-After 2 always;
			return 429 '{\"message\":\"You have exceeded your request-limits.\",\"limit\":\"per-key\",\"retry_after\":2,\"throttle_age\":0}';
		}"
A=$CLI_BASE/a B=http://127.0.0.1:$P2/b

# 1. Six pongs, 0.2 s apart, alternating A B A B A B.
timeout 15 "$PINGPONG" --url "$A/ping" --url "$B/ping" --interval 0.2 --count 6 \
	>"$PP_TMP/rr.out" 2>&1
rc=$?
pp_check '[ "$rc" -eq 0 ]' "want exit 0 after 6 pongs, got $rc"
seq=$(awk '$3 == "POST" { printf "%s %s,", $2, $4 }' "$PP_TMP/access.log")
pp_check '[ "$seq" = "200 /a/ping,200 /b/ping,200 /a/ping,200 /b/ping,200 /a/ping,200 /b/ping," ]' \
	"pings should alternate between the hosts; got: $seq"
pp_check 'grep -q "POST $A/ping, $B/ping every" "$PP_TMP/rr.out"' "the start line should name both hosts"

# 2. B refuses with Retry-After: 2: the next ping, to A, waits those 2 s.
: >"$PP_TMP/access.log"
timeout 15 "$PINGPONG" --url "$A/refuse/ping" --url "$B/refuse/ping" --interval 0.2 --count 2 \
	--json >"$PP_TMP/pause.out" 2>&1
rc=$?
pp_check '[ "$rc" -eq 0 ]' "want exit 0 after 2 pongs, got $rc"
seq=$(awk '$3 == "POST" { printf "%s,", $2 }' "$PP_TMP/access.log")
pp_check '[ "$seq" = "200,429,200," ]' "want pong, throttled, pong; got: $seq"
gap=$(awk '$3 == "POST" { t[++n] = $1 } END { printf "%.3f", t[3] - t[2] }' "$PP_TMP/access.log")
pp_check 'awk -v g="$gap" "BEGIN { exit !(g >= 1.98 && g <= 2.8) }"' \
	"a throttle from one host should pause the client for both (2 s); gap $gap s"

# 3. More than eight --urls, or --url with --port: usage errors (exit 2).
args=()
for i in 1 2 3 4 5 6 7 8 9; do args+=(--url "$A/ping"); done
"$PINGPONG" "${args[@]}" >"$PP_TMP/many.out" 2>&1
pp_check '[ "$?" -eq 2 ] && grep -q "at most 8" "$PP_TMP/many.out"' "9 --urls should be a usage error"
pp_done

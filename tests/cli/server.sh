# server.sh - the client against the real server (pingpong-fcgi behind nginx,
# tests/lib.sh) with a short limit, 2 per 3 s per key: --count 6
# gets its 6 pongs as fast as the limit allows and nginx logs no refused
# (429) request from it, because the client pauses on RateLimit r=0.
. "$(dirname "$0")/../lib.sh"
pp_setup
pp_start_server per_key_limit=2 per_key_window=3s global_limit=2 global_window=1s

out=$PP_TMP/client.out
start=$(date +%s.%N)
PINGPONG_KEY=cli-integration timeout 30 "$PP_BUILDDIR/pingpong" --url "$PP_URL" --count 6 --json \
	>"$out" 2>"$PP_TMP/client.err"
rc=$?
end=$(date +%s.%N)

pp_check '[ "$rc" -eq 0 ]' "the client should end with 0 after 6 pongs, got $rc: $(tail -n 3 "$out")"
pp_check '[ "$(grep -c "\"event\":\"pong\"" "$out")" -eq 6 ]' "want 6 pong events"
pp_check '[ "$(grep -c "\"event\":\"throttled\"" "$out")" -eq 0 ]' "the client was refused"
pp_check '[ "$(grep -c "\"event\":\"error\"" "$out")" -eq 0 ]' "the client saw errors: $(grep '"event":"error"' "$out" | head -n 2)"
# 2 per 3 s at 1 ping/s: pongs at 0, 1, 3, 4, 6, 7 s, a pause after every second
# one, narrowed below the server's rounded-up t by the client's own history.
pp_check '[ "$(grep "\"event\":\"pause\"" "$out" | grep -c "\"limit\":\"per-key\"")" -eq 2 ]' \
	"want 2 pauses on the per-key limit: $(grep '"event":"pause"' "$out")"
pp_check 'grep -q "\"policy\":\"per-key\",\"remaining\":[01],\"reset\":[0-9]*,\"quota\":2,\"window\":3" "$out"' \
	"pong events should carry the server's RateLimit fields: $(grep -m1 '"event":"pong"' "$out")"
took=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
pp_check 'awk -v t="$took" "BEGIN { exit !(t >= 5.9 && t <= 8.8) }"' \
	"6 pongs at 2 per 3 s should take about 7 s, took $took s"

pp_access_lines /ping >"$PP_TMP/pings"
n=$(wc -l <"$PP_TMP/pings")
refused=$(awk '$2 == 429' "$PP_TMP/pings" | wc -l)
pp_check '[ "$n" -eq 6 ]' "nginx should log exactly 6 pings, logged $n"
pp_check '[ "$refused" -eq 0 ]' "nginx logged $refused refused (429) pings: $(cat "$PP_TMP/pings")"
pp_check '[ ! -s "$PP_TMP/client.err" ]' "client stderr: $(cat "$PP_TMP/client.err")"
pp_done

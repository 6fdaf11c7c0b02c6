# rejected.sh - exit codes and what is never printed: usage errors (2, at
# once, also for a URL no request can fix), --help/--version (0), a request
# the server rejects itself (400, 404: 3, no retry loop), and a key given by
# the user never appears in the output.
. "$(dirname "$0")/nginx.sh"
cli_setup

"$PINGPONG" --help >"$PP_TMP/help.out" 2>&1
pp_check '[ $? -eq 0 ] && grep -q -- "--interval SECONDS" "$PP_TMP/help.out"' "--help"
"$PINGPONG" --version >"$PP_TMP/version.out" 2>&1
pp_check '[ $? -eq 0 ] && grep -q "^pingpong [0-9]" "$PP_TMP/version.out"' "--version"
for args in "--count 0" "--interval -1" "--port 70000" "--url http://h --port 1" "--bogus" "extra"; do
	# shellcheck disable=SC2086
	"$PINGPONG" $args >"$PP_TMP/usage.out" 2>"$PP_TMP/usage.err"
	rc=$?
	pp_check '[ "$rc" -eq 2 ]' "'$args' should be a usage error (2), got $rc"
	pp_check '[ ! -s "$PP_TMP/usage.out" ] && grep -q "^pingpong: " "$PP_TMP/usage.err"' \
		"'$args': one line on stderr, nothing on stdout"
done
# What no request can fix fails at once, before anything is sent (main
# retried these forever): another scheme, a host with a space, bad URLs.
for arg in "--url=ftp://127.0.0.1/ping" "--url=file:///etc/passwd" "--endpoint=a b" \
	"--endpoint=h/x" "--url=http://a b/ping" "--url=http://[::1/ping"; do
	timeout 5 "$PINGPONG" "$arg" >"$PP_TMP/usage.out" 2>"$PP_TMP/usage.err"
	rc=$?
	pp_check '[ "$rc" -eq 2 ]' "'$arg' should be a usage error (2) at once, got $rc"
	pp_check '[ ! -s "$PP_TMP/usage.out" ] && grep -q "^pingpong: " "$PP_TMP/usage.err"' \
		"'$arg': one line on stderr, nothing on stdout"
done

cli_stub '
		location = /ping {
			default_type application/json;
			return 400 "{\"error\":\"invalid_secret_key\",\"message\":\"x-secret-key must be at most 256 bytes\"}";
		}
		location = /wrong/ping {
			return 404;
		}'

timeout 10 "$PINGPONG" --url "$CLI_BASE/ping" --key topsecret-1234 \
	>"$PP_TMP/400.out" 2>&1
rc=$?
pp_check '[ "$rc" -eq 3 ]' "a 400 should end the client with 3, got $rc"
pp_check 'grep -q "error: HTTP 400 invalid_secret_key: x-secret-key must be at most 256 bytes; the server rejects this request, giving up" "$PP_TMP/400.out"' \
	"the 400 line"
pp_check 'grep -q "^pingpong: 1 sent, 0 pongs, 0 throttled, 1 error in .* (rejected)$" "$PP_TMP/400.out"' "summary after a 400"

PINGPONG_KEY=envsecret-5678 timeout 10 "$PINGPONG" --url "$CLI_BASE/wrong/ping" --json \
	>"$PP_TMP/404.out" 2>&1
rc=$?
pp_check '[ "$rc" -eq 3 ]' "a 404 should end the client with 3, got $rc"
pp_check 'grep -q "\"event\":\"fatal\".*\"status\":404" "$PP_TMP/404.out"' "a fatal event for the 404"
pp_check 'grep -q "\"key_source\":\"PINGPONG_KEY\"" "$PP_TMP/404.out"' "key source named"

n=$(grep -c ' POST /ping$\| POST /wrong/ping$' "$PP_TMP/access.log")
pp_check '[ "$n" -eq 2 ]' "one request each, no retry loop: nginx saw $n"
pp_check '! grep -q "topsecret-1234\|envsecret-5678" "$PP_TMP"/*.out' "a user's key was printed"
pp_done

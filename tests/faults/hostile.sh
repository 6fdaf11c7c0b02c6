#!/usr/bin/env bash
# tests/faults/hostile.sh - hostile input through nginx: control bytes, NUL and
# invalid UTF-8 in the key, 8 KiB headers, 1 MiB and chunked bodies, truncated,
# deeply nested and duplicate-member JSON. Each gets SPEC's status (or nginx's
# own answer where nginx refuses first), and nothing invalid costs quota.
. "${PP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
pp_setup

export PP_WORKERS=2
pp_start_server per_key_limit=100 per_key_window=60s global_limit=1000 global_window=60s

K=hostile-key
valid_k=0    # admissions expected on K
valid_all=0  # admissions expected in all

# r of one limit in the last answer's RateLimit header ("per-key" or "global").
r_of() { pp_header RateLimit | sed -n "s/.*\"$1\";r=\([0-9]*\).*/\1/p"; }

# raw NAME: sends $PP_TMP/NAME.req as is (bytes curl will not send) and
# splits the answer into PP_STATUS, PP_HEADERS, PP_BODY.
raw() {
	local name=$1
	PP_LAST="raw $name"
	PP_HEADERS=$PP_TMP/$name.h
	PP_BODY=$PP_TMP/$name.b
	timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; cat "$2" >&3; cat <&3' _ \
		"$PP_PORT" "$PP_TMP/$name.req" >"$PP_TMP/$name.resp" 2>/dev/null
	PP_STATUS=$(head -n 1 "$PP_TMP/$name.resp" | awk '{print $2}')
	PP_STATUS=${PP_STATUS:-000}
	# Headers end at the first empty line; the body follows.
	awk '/^\r?$/ {exit} {print}' "$PP_TMP/$name.resp" >"$PP_HEADERS"
	awk 'f {print} /^\r?$/ && !f {f = 1}' "$PP_TMP/$name.resp" | head -c -1 >"$PP_BODY"
}

# req NAME KEY-BYTES (printf %b escapes) BODY-BYTES [EXTRA-HEADER-LINES]
req() {
	local name=$1 key=$2 body=$3 extra=${4:-}
	printf '%b' "$body" >"$PP_TMP/$name.body"
	{
		printf 'POST /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n'
		printf 'Content-Type: application/json\r\n'
		printf 'x-secret-key: %b\r\n' "$key"
		[ -n "$extra" ] && printf '%b' "$extra"
		printf 'Content-Length: %d\r\n\r\n' "$(wc -c <"$PP_TMP/$name.body")"
		cat "$PP_TMP/$name.body"
	} >"$PP_TMP/$name.req"
	raw "$name"
}

# ours STATUS ERROR: the answer is pingpong's, with SPEC's framing.
ours() {
	pp_expect_status "$1"
	pp_expect_api_framing
	[ -n "${2:-}" ] && pp_expect_json .error "\"$2\""
	return 0
}
# nginx_says STATUS: nginx refused before FastCGI (documented in bench/README.md).
nginx_says() {
	pp_expect_status "$1"
	grep -qi '^Server: nginx' "$PP_HEADERS" || pp_fail "$PP_LAST: expected nginx's own answer"
	pp_log "$PP_LAST: nginx answers $PP_STATUS itself ($(pp_header Content-Type))"
}

PING='{"request":"ping"}'

# Baseline.
pp_ping "$K"
pp_expect_status 200
valid_k=$((valid_k + 1)); valid_all=$((valid_all + 1))
rk0=$(r_of per-key); rg0=$(r_of global)

# --- the key -------------------------------------------------------------------
req nul 'abc\x00def' "$PING";            nginx_says 400
req ctrl01 'abc\x01def' "$PING";         ours 400 invalid_secret_key
req ctrl1f 'abc\x1fdef' "$PING";         ours 400 invalid_secret_key
req del 'abc\x7fdef' "$PING";            ours 400 invalid_secret_key
req tab 'abc\tdef' "$PING";              ours 400 invalid_secret_key
req esc '\x1b[31mred' "$PING";           ours 400 invalid_secret_key
# Invalid UTF-8 in the key: SPEC bans only length and control bytes, so the
# key is valid bytes; with a bad body it is still refused, counting nothing.
req utf8bad '\xff\xfe\xc3\x28' '{"request":'; ours 400 invalid_json
req utf8ok '\xff\xfe\xc3\x28' "$PING";   ours 200
valid_all=$((valid_all + 1))
long257=$(head -c 257 /dev/zero | tr '\0' k)
req key257 "$long257" "$PING";           ours 400 invalid_secret_key
key8k=$(head -c 8000 /dev/zero | tr '\0' k)
req key8k "$key8k" "$PING";              ours 400 invalid_secret_key
# Past nginx's large_client_header_buffers (8k a line): nginx refuses.
key9k=$(head -c 9000 /dev/zero | tr '\0' k)
req key9k "$key9k" "$PING";              nginx_says 400
# 8 KiB of other headers around a bad body: still only the body's error.
junk=$(head -c 7000 /dev/zero | tr '\0' j)
req bigheaders "$K" '{"request":"ping"' "X-Junk: $junk\r\nX-Junk2: $junk\r\n"; ours 400 invalid_json

# --- the body ------------------------------------------------------------------
head -c 1048576 /dev/zero | tr '\0' ' ' >"$PP_TMP/mib"
req mib "$K" "$(cat "$PP_TMP/mib")"'{"request":"ping"}' 2>/dev/null
# nginx's default client_max_body_size is 1m: 1 MiB plus the ping is over it.
nginx_says 413
# Exactly 1 MiB is within nginx's limit and reaches pingpong, which reads
# 4 KiB + 1 of it and answers 413 at once.
req mib_exact "$K" "$(head -c 1048558 /dev/zero | tr '\0' ' ')$PING" 2>/dev/null
ours 413 payload_too_large
pp_check '[ "$(wc -c <"$PP_TMP/mib_exact.body")" -eq 1048576 ]' "the 1 MiB body is not 1 MiB"
# Exactly 4097 bytes reaches pingpong: over SPEC's cap.
req cap4097 "$K" "$(head -c 4079 /dev/zero | tr '\0' ' ')$PING"; ours 413 payload_too_large
req cap4096 "$K" "$(head -c 4078 /dev/zero | tr '\0' ' ')$PING"; ours 200
valid_k=$((valid_k + 1)); valid_all=$((valid_all + 1))

# Chunked: nginx reassembles the body and passes CONTENT_LENGTH on.
chunked() { # NAME BODY: the body sent as 100-byte chunks
	local name=$1 body=$2 i
	printf '%s' "$body" >"$PP_TMP/$name.body"
	{
		printf 'POST /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n'
		printf 'Content-Type: application/json\r\nx-secret-key: %s\r\n' "$K"
		printf 'Transfer-Encoding: chunked\r\n\r\n'
		local n=${#body}
		for ((i = 0; i < n; i += 100)); do
			local part=${body:i:100}
			printf '%x\r\n%s\r\n' "${#part}" "$part"
		done
		printf '0\r\n\r\n'
	} >"$PP_TMP/$name.req"
	raw "$name"
}
chunked chunk_bad '{"request": "pi';                  ours 400 invalid_json
chunked chunk_big "$(head -c 6000 /dev/zero | tr '\0' ' ')$PING"; ours 413 payload_too_large
chunked chunk_ok "$PING";                             ours 200
valid_k=$((valid_k + 1)); valid_all=$((valid_all + 1))

# --- the JSON ------------------------------------------------------------------
req trunc1 "$K" '{"request":"ping"';   ours 400 invalid_json
req trunc2 "$K" '{"requ';              ours 400 invalid_json
req trunc3 "$K" '{';                   ours 400 invalid_json
req nulbody "$K" '{"request":"ping"}\x00'; ours 400 invalid_json
# \u0000 is valid JSON that jansson refuses by default: 400 either way.
req nulstr "$K" '{"request":"pi\\u0000ng"}'; ours 400
pp_expect_json_ok '.error == "invalid_json" or .error == "wrong_payload"'
req badutf8 "$K" '{"request":"\xc3\x28"}'; ours 400 invalid_json
req empty "$K" '';                     ours 400 invalid_json
deep=$(head -c 2040 /dev/zero | tr '\0' '[')$(head -c 2040 /dev/zero | tr '\0' ']')
req deep_array "$K" "$deep";           ours 400 invalid_json
deepo=$(for i in $(seq 1 600); do printf '{"a":'; done; printf 1; for i in $(seq 1 600); do printf '}'; done)
req deep_object "$K" "$deepo";         ours 400 wrong_payload
# Deeper than jansson parses (2048): refused, the worker lives.
deeper=$(head -c 2100 /dev/zero | tr '\0' '[')$(head -c 1990 /dev/zero | tr '\0' ']')
req deeper "$K" "$deeper";             ours 400 invalid_json
# Valid, deeply nested beside the ping: admitted (SPEC: other members ignored).
req deep_ok "$K" '{"request":"ping","x":'"$(head -c 1500 /dev/zero | tr '\0' '[')$(head -c 1500 /dev/zero | tr '\0' ']')"'}'
ours 200
valid_k=$((valid_k + 1)); valid_all=$((valid_all + 1))
req dup1 "$K" '{"request":"ping","request":"ping"}'; ours 400 invalid_json
req dup2 "$K" '{"request":"pong","request":"ping"}'; ours 400 invalid_json
req number "$K" '{"request":1e999999}'; ours 400
req bigstr "$K" "{\"request\":\"$(head -c 4000 /dev/zero | tr '\0' p)\"}"; ours 400 wrong_payload

# --- nothing invalid was counted ------------------------------------------------
pp_ping "$K"
pp_expect_status 200
valid_k=$((valid_k + 1)); valid_all=$((valid_all + 1))
rk1=$(r_of per-key); rg1=$(r_of global)
pp_check '[ "$rk1" -eq $((rk0 - (valid_k - 1))) ]' \
	"per-key r went from $rk0 to $rk1, want $((rk0 - (valid_k - 1))) (only valid pings count)"
pp_check '[ "$rg1" -eq $((rg0 - (valid_all - 1))) ]' \
	"global r went from $rg0 to $rg1, want $((rg0 - (valid_all - 1))) (only valid pings count)"
# And every worker is still there and answering.
pp_request GET /healthz
pp_expect_status 200
pp_done

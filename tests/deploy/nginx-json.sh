#!/usr/bin/env bash
# tests/deploy/nginx-json.sh - every answer nginx gives by itself through the
# shipped site (conf/nginx/pingpong.conf) is the API's JSON, never an HTML
# page: requests nginx cannot parse (sent raw over a socket, since curl only
# sends well-formed ones), 414, 501, 505, 494, 405, 502, 413, 404, on both
# the public and the ops port. No workers run: nginx answers alone.
. "$PP_SRCDIR/tests/deploy/common.sh"
command -v jq >/dev/null || fail "jq missing (Debian package jq)"
[ -x "$NGINX" ] || fail "nginx missing (Debian package nginx)"

port=$(pp_free_port) && ops=$(pp_free_port) || fail "no free port"
[ "$port" != "$ops" ] || ops=$(pp_free_port) || fail "no free port"
start_nginx "$port" "$ops" "$tmp/none.sock"
wait_status "http://127.0.0.1:$port/ping" 502 || fail "nginx did not start on $port"

# raw PORT BYTES: sends BYTES (printf format) on a new connection and leaves
# the whole answer, CRs removed, in $tmp/raw.
raw() {
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "$2" >&3 && cat <&3' _ "$1" "$2" \
		2>/dev/null | tr -d '\r' > "$tmp/raw"
}

# expect PORT STATUS ERROR-CODE WHAT BYTES: the answer to BYTES is STATUS
# with a JSON body {"error":ERROR-CODE,"message":...}, Content-Type
# application/json and a Content-Length that matches the body.
expect() {
	local p=$1 want=$2 code=$3 what=$4 status type len body
	raw "$p" "$5"
	status=$(sed -n '1s/^HTTP\/1\.[01] \([0-9]*\) .*/\1/p' "$tmp/raw")
	type=$(sed -n '/^$/q; s/^Content-Type: //Ip' "$tmp/raw")
	len=$(sed -n '/^$/q; s/^Content-Length: //Ip' "$tmp/raw")
	body=$(sed '1,/^$/d' "$tmp/raw")
	[ "$status" = "$want" ] && [ "$type" = application/json ] &&
		[ "$len" = "$(sed '1,/^$/d' "$tmp/raw" | wc -c)" ] &&
		[ "$(printf '%s' "$body" | jq -r .error 2>/dev/null)" = "$code" ] &&
		printf '%s' "$body" | jq -e '.message | type == "string"' >/dev/null 2>&1 ||
		fail "$what: want $want $code as JSON, got: $(head -c 400 "$tmp/raw")"
	echo "ok   $what: $want $code"
}

H='Host: x\r\nConnection: close\r\n'
long=$(head -c 9000 /dev/zero | tr '\0' a)
for p in "$port" "$ops"; do
	[ "$p" = "$port" ] && side=public || side=ops
	# Not parseable: no URI exists yet, so the error page must be a URI.
	expect "$p" 400 bad_request "$side: lower-case method" "post /ping HTTP/1.1\r\n$H\r\n"
	expect "$p" 400 bad_request "$side: GARBAGE" "GARBAGE\r\n\r\n"
	expect "$p" 400 bad_request "$side: a path without /" "GET ping HTTP/1.1\r\n$H\r\n"
	expect "$p" 400 bad_request "$side: a NUL in a header" "POST /ping HTTP/1.1\r\n${H}x-secret-key: a\0b\r\n\r\n"
	expect "$p" 400 bad_request "$side: HTTP/1.1 without Host" "GET /ping HTTP/1.1\r\nConnection: close\r\n\r\n"
	expect "$p" 505 http_version_not_supported "$side: HTTP/2.0 request line" "GET /ping HTTP/2.0\r\n$H\r\n"
	expect "$p" 501 not_implemented "$side: unknown transfer coding" \
		"POST /ping HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n"
	expect "$p" 414 uri_too_long "$side: a 9000-byte URI" "GET /$long HTTP/1.1\r\n$H\r\n"
	expect "$p" 400 header_too_large "$side: a 9000-byte header" "GET /ping HTTP/1.1\r\n${H}x-secret-key: $long\r\n\r\n"
	expect "$p" 405 method_not_allowed "$side: TRACE" "TRACE /ping HTTP/1.1\r\n$H\r\n"
	grep -q '^Allow: ' "$tmp/raw" || fail "$side: 405 without an Allow header"
	expect "$p" 404 not_found "$side: the error pages are internal" "GET /_pingpong/error/500 HTTP/1.1\r\n$H\r\n"
done

# Well-formed requests nginx answers itself.
expect "$port" 502 bad_gateway "public: no worker behind the socket" \
	"POST /ping HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 18\r\n\r\n{\"request\":\"ping\"}"
expect "$ops" 502 bad_gateway "ops: /readyz without a worker" "GET /readyz HTTP/1.1\r\n$H\r\n"
head -c 20000 /dev/zero | tr '\0' x > "$tmp/big"
code=$(curl -s -o "$tmp/b" -w '%{http_code} %{content_type}' --max-time 5 -X POST \
	-H 'Content-Type: application/json' --data-binary "@$tmp/big" "http://127.0.0.1:$port/ping")
[ "$code" = "413 application/json" ] && [ "$(jq -r .error "$tmp/b")" = payload_too_large ] ||
	fail "a 20 kB body: want a JSON 413, got $code: $(head -c 300 "$tmp/b")"
echo "ok   public: a 20 kB body: 413 payload_too_large"
expect "$port" 404 not_found "public: /metrics is not public" "GET /metrics HTTP/1.1\r\n$H\r\n"
expect "$ops" 404 not_found "ops: any other path" "GET /ping HTTP/1.1\r\n$H\r\n"

# None of these may have fallen back to nginx's stock pages.
! grep -q 'empty URI in redirect' "$tmp/error.log" || fail "nginx: $(grep -m1 'empty URI' "$tmp/error.log")"
echo "ok: every answer nginx gives by itself through the shipped site is JSON"

#!/usr/bin/env bash
# tests/deploy/docs.sh - what ships beside the binary is right: every config
# key the server accepts is in pingpong.conf(5) and the default pingpong.conf,
# which pingpong-fcgi -t accepts; the man pages render without warnings; the
# systemd units pass systemd-analyze verify; the nginx site passes nginx -t.
. "$PP_SRCDIR/tests/deploy/common.sh"

# The keys as the server knows them: -t lists every key of its table as
# "key = value" (fail_open, a synonym, is not listed but stays documented).
keys=$("$B/pingpong-fcgi" -t -c /dev/null 2>&1 | sed -n 's/^\([a-z_]*\) = .*/\1/p')
[ "$(echo "$keys" | wc -w)" -ge 8 ] || fail "could not read the key list from pingpong-fcgi -t: $keys"
for k in $keys fail_open; do
	grep -q "^\.BI $k " "$S/man/pingpong.conf.5.in" || fail "pingpong.conf(5) does not document $k"
	grep -q "^#\? *$k *=" "$S/conf/pingpong.conf.in" || fail "conf/pingpong.conf does not show $k"
done
echo "ok   every key documented: $(echo $keys)"
out=$("$B/pingpong-fcgi" -t -c "$B/conf/pingpong.conf" 2>&1) || fail "default pingpong.conf rejected: $out"
echo "ok   $out"

for m in man/pingpong-fcgi.8 man/pingpong.conf.5; do
	[ -s "$B/$m" ] || fail "$m not built"
	! grep -q '@[a-z]*@' "$B/$m" || fail "$m has unsubstituted @vars@"
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$B/$m" 2>&1 >/dev/null) || fail "man $m failed"
	[ -z "$w" ] || fail "man --warnings $m: $w"
done
echo "ok   man pages render cleanly"

if command -v systemd-analyze >/dev/null; then
	mkdir -p "$tmp/units"
	cp "$S/conf/systemd/pingpong.socket" "$B/conf/systemd/pingpong.service" "$tmp/units/"
	w=$(cd "$tmp/units" && systemd-analyze verify --man=no ./pingpong.socket ./pingpong.service 2>&1) ||
		fail "systemd-analyze verify: $w"
	[ -z "$w" ] || fail "systemd-analyze verify: $w"
	echo "ok   systemd units verify"
else
	echo "note: systemd-analyze missing; units not verified"
fi

port=$(free_port) && ops=$(free_port) || fail "no free port"
nginx_conf "$port" "$ops" "$tmp/none.sock"
w=$("$NGINX" -t -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g "pid $tmp/nginx/t.pid;" 2>&1) || fail "nginx -t: $w"

# nginx's own errors are JSON too: no worker behind the socket (502), a body
# over nginx's cap (413), the ops endpoints on the public port (404).
start_nginx "$port" "$ops" "$tmp/none.sock"
wait_status "http://127.0.0.1:$port/ping" 502 || fail "no 502 without workers"
expect_json() { # expect_json STATUS ERROR-CODE curl-args...
	local want=$1 code=$2; shift 2
	curl -s -o "$tmp/b" -w '%{http_code} %{content_type}' --max-time 5 "$@" > "$tmp/h"
	[ "$(cat "$tmp/h")" = "$want application/json" ] && grep -q "\"error\":\"$code\"" "$tmp/b" ||
		fail "want $want $code as JSON, got $(cat "$tmp/h"): $(head -c 300 "$tmp/b")"
}
expect_json 502 bad_gateway -X POST -H 'Content-Type: application/json' -d '{"request":"ping"}' \
	"http://127.0.0.1:$port/ping"
head -c 20000 /dev/zero | tr '\0' 'x' > "$tmp/big"
expect_json 413 payload_too_large -X POST -H 'Content-Type: application/json' --data-binary "@$tmp/big" \
	"http://127.0.0.1:$port/ping"
expect_json 404 not_found "http://127.0.0.1:$port/metrics"
expect_json 400 header_too_large -H "x-secret-key: $(head -c 9000 /dev/zero | tr '\0' k)" \
	"http://127.0.0.1:$port/ping"
# A NUL byte in a header: curl cannot send one, so bash writes the request.
nul=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"
	printf "POST /ping HTTP/1.1\r\nHost: x\r\nx-secret-key: a\0b\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" >&3
	cat <&3' _ "$port" 2>/dev/null | tr -d '\r')
case $nul in
*"HTTP/1.1 400"*"Content-Type: application/json"*'"error":"bad_request"'*) ;;
*) fail "a NUL in a header: want a JSON 400 from nginx, got: $(printf '%s' "$nul" | head -c 300)" ;;
esac
expect_json 502 bad_gateway "http://127.0.0.1:$ops/readyz"
echo "ok   nginx's own 400/502/413/404 answers are JSON"
echo "ok: docs, units and the nginx site check out"

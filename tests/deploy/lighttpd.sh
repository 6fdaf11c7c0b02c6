#!/usr/bin/env bash
# tests/deploy/lighttpd.sh - shape 2: the shipped lighttpd config, where
# mod_fastcgi starts the workers itself (bin-path) and the limits come from
# bin-environment (per-key limit 2 here): 200 200 then 429; probes work from
# 127.0.0.1; unknown paths get the API's JSON 404.
. "$PP_SRCDIR/tests/deploy/common.sh"
LIGHTTPD=${LIGHTTPD:-/usr/sbin/lighttpd}
[ -x "$LIGHTTPD" ] || fail "lighttpd missing (scripts/packages lists it)"
port=$(pp_free_port) || fail "no free port"
mkdir -p "$tmp/db" "$tmp/www"

# The shipped file with this test's binary, socket, store and a limit of 2.
sed -e "s#\"/usr/bin/pingpong-fcgi -c /etc/pingpong/pingpong.conf\"#\"$B/pingpong-fcgi -c $B/conf/pingpong.conf\"#" \
    -e "s#/run/lighttpd/pingpong.sock#$tmp/pingpong.sock#" \
    -e 's#"PINGPONG_PER_KEY_LIMIT" => "10"#"PINGPONG_PER_KEY_LIMIT" => "2"#' \
    -e "s#\"bin-environment\" => (#\"bin-environment\" => (\n            \"PINGPONG_DB_PATH\" => \"$tmp/db\",\n            \"PINGPONG_GLOBAL_LIMIT\" => \"1000\",#" \
    -e 's#"max-procs"       => 4#"max-procs"       => 2#' \
    "$S/conf/lighttpd/pingpong.conf" > "$tmp/pingpong-site.conf"
grep -q "\"$B/pingpong-fcgi" "$tmp/pingpong-site.conf" || fail "bin-path not found in conf/lighttpd/pingpong.conf"
grep -q '"PINGPONG_PER_KEY_LIMIT" => "2"' "$tmp/pingpong-site.conf" || fail "bin-environment not found"
cat > "$tmp/lighttpd.conf" <<CONF
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $port
server.pid-file = "$tmp/lighttpd.pid"
server.errorlog = "$tmp/lighttpd-error.log"
server.upload-dirs = ( "$tmp" )
include "$tmp/pingpong-site.conf"
CONF
"$LIGHTTPD" -tt -f "$tmp/lighttpd.conf" > "$tmp/check" 2>&1 || fail "lighttpd -tt: $(cat "$tmp/check")"
"$LIGHTTPD" -D -f "$tmp/lighttpd.conf" 2>>"$tmp/stderr" &
pp_track $!
url=http://127.0.0.1:$port
wait_status "$url/healthz" 200 || { cat "$tmp/lighttpd-error.log"; fail "/healthz never answered 200"; }

got=""
for _ in 1 2 3; do got="$got $(ping_status "$url" lighttpd-key)"; done
[ "$got" = " 200 200 429" ] || fail "statuses:$got (want 200 200 429: the bin-environment limit of 2)"
grep -q '"limit":"per-key"' "$tmp/body" || fail "429 body: $(cat "$tmp/body")"
# Another key still has room: the limit is per key, not a lighttpd artefact.
[ "$(ping_status "$url" other-key)" = 200 ] || fail "another key was refused"

[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ] || fail "/readyz"
curl -s -o "$tmp/nf" -w '%{http_code}\n%{content_type}\n' "$url/nope" > "$tmp/nfh"
[ "$(head -1 "$tmp/nfh")" = 404 ] && grep -q application/json "$tmp/nfh" && grep -q not_found "$tmp/nf" ||
	fail "unknown path: $(cat "$tmp/nfh" "$tmp/nf")"
# Both workers mod_fastcgi started count into the same store.
n=$(grep -c 'started' "$tmp/stderr" "$tmp/lighttpd-error.log" | awk -F: '{s += $2} END {print s}')
[ "$n" -ge 2 ] || fail "want 2 workers started by lighttpd, saw $n start lines"
echo "ok: lighttpd bin-path workers, bin-environment limit 2: 200 200 429"

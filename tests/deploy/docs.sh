#!/usr/bin/env bash
# tests/deploy/docs.sh - what ships beside the binary is right: every config
# key the server accepts is in pingpong.conf(5) and the default pingpong.conf,
# which pingpong-fcgi -t accepts; the man pages render without warnings; the
# systemd units pass systemd-analyze verify; the nginx site passes nginx -t
# (what it answers by itself: nginx-json.sh).
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

# The options, as GNU and Debian tools have them: --help and --version beside
# -h and -V; help on stdout and 0, a bad option: the same text on stderr and 2.
# Every text ends in a newline (otherwise the next line runs into it).
fcgi=$B/pingpong-fcgi
ends_nl() { [ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]; }
for o in -h --help; do
	"$fcgi" "$o" > "$tmp/o" 2> "$tmp/e" || fail "pingpong-fcgi $o exited $?"
	grep -q '^usage: pingpong-fcgi' "$tmp/o" && [ ! -s "$tmp/e" ] && ends_nl "$tmp/o" ||
		fail "pingpong-fcgi $o: want the usage on stdout ending in a newline, got: $(cat "$tmp/o" "$tmp/e")"
done
for o in -V --version; do
	v=$("$fcgi" "$o") || fail "pingpong-fcgi $o exited $?"
	[ "$v" = "pingpong-fcgi $(sed -n 's/^AC_INIT(\[pingpong\], *\[\([^]]*\)\].*/\1/p' "$S/configure.ac")" ] ||
		fail "pingpong-fcgi $o printed '$v'"
done
for o in --bogus -x extra; do
	"$fcgi" "$o" > "$tmp/o" 2> "$tmp/e" && fail "pingpong-fcgi $o exited 0"
	rc=$?
	[ "$rc" = 2 ] && [ ! -s "$tmp/o" ] && grep -q '^usage: pingpong-fcgi' "$tmp/e" && ends_nl "$tmp/e" ||
		fail "pingpong-fcgi $o: want exit 2 and the usage on stderr ending in a newline, got $rc: $(cat "$tmp/e")"
done
for o in '\\-h ", " \\-\\-help' '\\-V ", " \\-\\-version'; do
	grep -q "^\.BR $o\$" "$S/man/pingpong-fcgi.8.in" || fail "pingpong-fcgi(8) does not document $o"
done
echo "ok   pingpong-fcgi -h/--help, -V/--version, bad options: exit codes, streams, final newlines"

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

port=$(pp_free_port) && ops=$(pp_free_port) || fail "no free port"
nginx_conf "$port" "$ops" "$tmp/none.sock"
w=$("$NGINX" -t -p "$tmp" -c "$tmp/nginx.conf" 2>&1) || fail "nginx -t: $w"

echo "ok   nginx -t accepts the shipped site (its own answers: nginx-json.sh)"
echo "ok: docs, units and the nginx site check out"

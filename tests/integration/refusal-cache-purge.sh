#!/bin/bash
# refusal-cache-purge.sh - the shipped purge of nginx's refusal cache works,
# and the clock stepped back needs it. 1. The units verify
# (pingpong-cache-purge.service, and its timer with OnClockChange=yes), and
# pingpong.service purges with the same command. 2. Refusals of several keys
# cached, the purge run as shipped (its ExecStart= lines, the directory moved
# into the test's): the cache directory holds no file and each key's next
# ping reaches the server. 3. The host clock stepped back a minute, nginx's
# (libfaketime) and the workers' (the test clock) alike: without a purge a
# cached 429 outlives its window by the step (wrong 429s, proven by the 200
# that follows a purge at once); with the purge the timer runs on a clock
# change, the key is admitted again within its window. nginx runs with an
# open_file_cache in http {}, which the snippet must override for a purge to
# take effect.
# pp-test-timeout: 180
PP_FCGI=${PP_BUILDDIR:-.}/tests/pingpong-fcgi-testclock
. "$(dirname "$0")/refusal-cache-lib.sh"
pp_setup
pp_cache_require
pp_require systemd-analyze faketime
units=$PP_SRCDIR/conf/systemd
# libfaketime, from Debian's faketime (the library lives in a multiarch dir).
ft_lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
[ -n "$ft_lib" ] || pp_skip faketime "libfaketime.so.1 not found (Debian package faketime, in scripts/packages)"

# 1. The units as shipped.
mkdir -p "$PP_TMP/units"
cp "$units/pingpong-cache-purge.service" "$units/pingpong-cache-purge.timer" "$PP_TMP/units/"
w=$(cd "$PP_TMP/units" && systemd-analyze verify --man=no ./pingpong-cache-purge.timer ./pingpong-cache-purge.service 2>&1) ||
	pp_fail "systemd-analyze verify: $w"
[ -z "$w" ] || pp_fail "systemd-analyze verify: $w"
grep -qx 'OnClockChange=yes' "$units/pingpong-cache-purge.timer" || pp_fail "the timer does not fire on a clock change"
# The commands, without ExecStart='s prefix characters (-+@:!).
purge_cmds() { sed -n "s/^$1=[-+@:!]*//p" "$2"; }
purge=$(purge_cmds ExecStart "$units/pingpong-cache-purge.service" | grep find | head -n 1)
[ -n "$purge" ] || pp_fail "no find command in pingpong-cache-purge.service"
purge_cmds ExecStartPre "$units/pingpong.service.in" | grep -qxF "$purge" ||
	pp_fail "pingpong.service's ExecStartPre does not purge as pingpong-cache-purge.service does: $purge"

# purge_as_shipped: the purge unit's ExecStart= lines, in order, with the
# cache directory moved into the test's (the timer runs exactly these).
purge_as_shipped() {
	local cmd from=/var/cache/nginx/pingpong to=$PP_TMP/cache
	while IFS= read -r cmd; do
		cmd=${cmd//"$from"/"$to"}
		eval "$cmd" || pp_fail "purge command failed: $cmd"
	done < <(purge_cmds ExecStart "$units/pingpong-cache-purge.service")
}

# nginx under libfaketime: its wall clock is the real one plus the offset
# in nginx-clock ("+0", "-60": seconds), re-read on every call
# (FAKETIME_NO_CACHE); its monotonic clock (timers) stays real. nginx clears
# its workers' environment but for the names "env" keeps. The http {} gets
# an open_file_cache, as an operator's nginx.conf may have: the location
# snippet must turn it off, or nginx serves purged entries from the
# descriptors it keeps.
echo +0 >"$PP_TMP/nginx-clock"
cat >"$PP_TMP/nginx-faketime" <<EOF
#!/bin/sh
export LD_PRELOAD=$ft_lib FAKETIME_TIMESTAMP_FILE=$PP_TMP/nginx-clock FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1
exec $PP_NGINX "\$@"
EOF
chmod +x "$PP_TMP/nginx-faketime"
PP_NGINX=$PP_TMP/nginx-faketime
PP_NGINX_MAIN="env FAKETIME_TIMESTAMP_FILE;
env FAKETIME_NO_CACHE;
env FAKETIME_DONT_FAKE_MONOTONIC;"
PP_NGINX_HTTP="	open_file_cache max=1000 inactive=60s;"
# The workers' clock: the real one plus this offset (ms; src/clock.c, test build).
export PINGPONG_TEST_CLOCK_OFFSET_FILE=$PP_TMP/worker-clock
echo 0 >"$PINGPONG_TEST_CLOCK_OFFSET_FILE"
# step_back SECONDS: the host clock, as both see it, to SECONDS behind real time.
step_back() {
	echo "-$1" >"$PP_TMP/nginx-clock"
	echo "-$(($1 * 1000))" >"$PINGPONG_TEST_CLOCK_OFFSET_FILE"
}

export PP_WORKERS=2
pp_start_server per_key_limit=3 per_key_window=6s global_limit=100000 nginx_refusal_cache=yes
grep -q '^env FAKETIME_TIMESTAMP_FILE;' "$PP_TMP/nginx.conf" && grep -q 'open_file_cache max=' "$PP_TMP/nginx.conf" ||
	pp_fail "the nginx.conf written by refusal-cache-lib.sh no longer takes this test's env and open_file_cache lines"
# cping KEY [BODY]: a ping as pp_ping sends it, lighter (polled below); sets
# PP_STATUS, and CACHE to its $upstream_cache_status from the access log.
cping() {
	PP_STATUS=$(curl -s -o /dev/null -m 5 -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-H "x-secret-key: $1" --data-binary "${2-{\"request\":\"ping\"\}}" "$PP_URL/ping")
	CACHE=$(tail -n 1 "$PP_ACCESS_LOG" | awk '{ print $8 }')
}
# The same ping, not canonical (spaces in the JSON): nginx never looks it up,
# so it shows what pingpong itself decides.
probe() { cping "$1" '{ "request": "ping" }'; }
# refuse_cached KEY: pings KEY until nginx answers its refusal from the cache
# (bounded). The window is 6 s so that a slow machine still gets there: the
# entry of a refusal lives until a second before its window frees.
refuse_cached() {
	local i
	for i in $(seq 1 20); do
		cping "$1"
		[ "$PP_STATUS $CACHE" = "429 HIT" ] && return 0
	done
	pp_fail "$1: no refusal came from nginx's cache in 20 pings (last $PP_STATUS $CACHE)"
}
# probe_until_admitted KEY SECONDS: probes KEY every 0.1 s until pingpong
# admits it, at most SECONDS; PP_STATUS is the last answer.
probe_until_admitted() {
	local end=$(($(date +%s%N) + $2 * 1000000000))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		probe "$1"
		[ "$PP_STATUS" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}

# nginx really runs on the faked clock: its Date header follows the file.
step_back 3600
pp_request GET /healthz
d=$(date -d "$(pp_header Date)" +%s)
[ $(($(date +%s) - d)) -ge 3590 ] || pp_fail "nginx's clock did not step back (Date: $(pp_header Date)); libfaketime not in effect"
step_back 0

# 2. The purge as shipped: every file goes, and each key's next ping reaches
# the server (a MISS; an expired entry would still be a file and EXPIRED).
for k in 1 2 3 4; do refuse_cached "purge-$k"; done
files=$(find "$PP_TMP/cache" -type f | wc -l)
[ "$files" -ge 4 ] || pp_fail "only $files cache files for 4 refused keys"
purge_as_shipped
files=$(find "$PP_TMP/cache" -type f | wc -l)
[ "$files" -eq 0 ] || pp_fail "$files cache files left after the purge"
for k in 1 2 3 4; do
	cping "purge-$k"
	[ "$CACHE" = MISS ] || pp_fail "purge-$k: after the purge the ping was $PP_STATUS $CACHE, want a MISS (reaching the server)"
done

# 3. The clock stepped back a minute while a key's refusal is cached. After
# the step pingpong frees the key within its window (6 s) of seeing it again
# (tests/faults/clockstep.sh); the probe shows when. Then the key has room
# for 2 more pings: a 429 for them is wrong.
# 3a. No purge: nginx's entry now ends a minute late, so it refuses them.
refuse_cached clock-nopurge
step_back 60
probe_until_admitted clock-nopurge 10 || pp_fail "clock-nopurge: pingpong did not free the key within 10 s of the step ($PP_STATUS)"
wrong=0
for i in 1 2; do
	cping clock-nopurge
	[ "$PP_STATUS $CACHE" = "429 HIT" ] && wrong=$((wrong + 1))
done
pp_log "no purge: $wrong of 2 pings with room in the window refused from nginx's cache"
[ "$wrong" -eq 2 ] || pp_fail "without a purge, want the cached 429 to outlive the step (2 wrong 429s), got $wrong"
# 3b. Stepped back another minute and purged as the timer does on a clock
# change: the same room admits both pings.
refuse_cached clock-purge
step_back 120
purge_as_shipped
probe_until_admitted clock-purge 10 || pp_fail "clock-purge: pingpong did not free the key within 10 s of the step ($PP_STATUS)"
for i in 1 2; do
	cping clock-purge
	[ "$PP_STATUS" = 200 ] || pp_fail "after the step and the purge, ping $i of clock-purge: $PP_STATUS $CACHE, want 200"
done
pp_done

#!/bin/bash
# ctl.sh - pingpongctl beside live workers behind nginx: inspect after 3
# admissions shows 3 of 3 used; reset lets the key straight back in; reset
# --global frees the global window; stats counts the windows; the key only
# ever goes in on stdin and never comes out; exit codes as pingpongctl(8).
. "$(dirname "$0")/../lib.sh"
pp_setup
ctl="$PP_BUILDDIR/pingpongctl"
[ -x "$ctl" ] || pp_die "no $ctl (build first)"

KEY='ctl customer-x/secret'
pp_start_server per_key_limit=3 per_key_window=60s global_limit=6 global_window=60s
conf="$PP_TMP/pingpong.conf"
out="$PP_TMP/ctl.out" errf="$PP_TMP/ctl.err"
# ctl ARGS... (the key, if any, in $STDIN): exit status in $rc
ctl_run() {
	printf '%s' "${STDIN-}" | "$ctl" -c "$conf" "$@" >"$out" 2>"$errf"
	rc=$?
	cat "$out" "$errf" >>"$PP_TMP/ctl.all"
}

for i in 1 2 3; do pp_ping "$KEY"; pp_expect_status 200; done
STDIN=$KEY ctl_run inspect
pp_check '[ $rc = 0 ]' "inspect: exit $rc: $(cat "$errf")"
pp_check "grep -q '^per-key window: *3 of 3 used' '$out'" "inspect does not show 3 of 3 used: $(cat "$out")"
pp_check "grep -q 'refused by the per-key limit' '$out'" "inspect does not say a request would be refused: $(cat "$out")"
STDIN=$KEY ctl_run --json inspect
pp_check '[ $rc = 0 ]' "inspect --json: exit $rc"
pp_check "jq -e '.backend == \"lmdb\" and .key.used == 3 and .key.limit == 3 and .key.remaining == 0 and
	.key.next_free_ms > 50000 and .key.stored and .admit == false and .refused_by == \"per-key\" and
	.global.used == 3 and .global.limit == 6' '$out' >/dev/null" "inspect --json: $(cat "$out")"
# With a trailing newline (echo, here-strings) it is the same key.
echo "$KEY" | "$ctl" -c "$conf" --json inspect >"$out" 2>"$errf"
pp_check "jq -e '.key.used == 3' '$out' >/dev/null" "a trailing newline changed the key: $(cat "$out")"

pp_ping "$KEY"; pp_expect_status 429
STDIN=$KEY ctl_run reset
pp_check '[ $rc = 0 ]' "reset: exit $rc: $(cat "$errf")"
pp_check "grep -q 'cleared' '$out'" "reset: $(cat "$out")"
# Straight back in, through the running workers.
pp_ping "$KEY"; pp_expect_status 200
pp_expect_header RateLimit '"per-key";r=2;t=60, "global";r=2;t=(5[0-9]|60)'
STDIN=$KEY ctl_run --json reset
pp_check "jq -e '.reset == \"key\" and .found == true' '$out' >/dev/null" "reset --json: $(cat "$out")"
STDIN=$KEY ctl_run --json reset
pp_check '[ $rc = 0 ]' "a second reset: exit $rc"
pp_check "jq -e '.found == false' '$out' >/dev/null" "a second reset found a window: $(cat "$out")"

# The global window: fill it, see the refusal, reset it, a new key passes.
pp_ping ctl-g1; pp_ping ctl-g2; pp_expect_status 200
pp_ping ctl-g3; pp_expect_status 429
pp_expect_json .limit '"global"'
STDIN= ctl_run reset --global
pp_check '[ $rc = 0 ]' "reset --global: exit $rc: $(cat "$errf")"
pp_ping ctl-g3; pp_expect_status 200

STDIN= ctl_run --json stats
pp_check '[ $rc = 0 ]' "stats: exit $rc: $(cat "$errf")"
pp_check "jq -e '.backend == \"lmdb\" and .windows == 3 and .live_windows == 3 and .bytes_used > 0 and
	.bytes_max == 67108864 and .fill > 0 and .fill < 0.1' '$out' >/dev/null" "stats --json: $(cat "$out")"
STDIN= ctl_run stats
pp_check "grep -q '^per-key windows: *3 stored, 3 live' '$out'" "stats: $(cat "$out")"

# Exit codes and the key's privacy.
STDIN= ctl_run inspect
pp_check '[ $rc = 2 ]' "inspect without a key: exit $rc, want 2"
printf '%s' "$KEY" >"$PP_TMP/k"
"$ctl" -c "$conf" inspect "$KEY" </dev/null >"$out" 2>"$errf"; rc=$?
cat "$out" "$errf" >>"$PP_TMP/ctl.all"
pp_check '[ $rc = 2 ]' "a key on the command line: exit $rc, want 2"
STDIN=$(printf 'bad\001key') ctl_run inspect
pp_check '[ $rc = 2 ]' "a key with a control byte: exit $rc, want 2"
STDIN=$KEY ctl_run frobnicate
pp_check '[ $rc = 2 ]' "an unknown command: exit $rc, want 2"
STDIN= ctl_run stats --global
pp_check '[ $rc = 2 ]' "stats --global: exit $rc, want 2"
# The same PINGPONG_* overrides as the workers: another db_path has no store.
STDIN= PINGPONG_DB_PATH="$PP_TMP/nowhere" ctl_run stats
pp_check '[ $rc = 4 ]' "no store there: exit $rc, want 4: $(cat "$errf")"
pp_check "[ ! -e '$PP_TMP/nowhere' ]" "pingpongctl created a store"
STDIN= PINGPONG_PER_KEY_WINDOW=soon ctl_run stats
pp_check '[ $rc = 3 ]' "a bad configuration: exit $rc, want 3"
pp_check "grep -q per_key_window '$errf'" "the configuration error does not name the key: $(cat "$errf")"
"$ctl" --version | grep -q '^pingpongctl ' || pp_fail "--version"
# Its man page is built, substituted and renders without warnings.
man8="$PP_BUILDDIR/man/pingpongctl.8"
pp_check "[ -s '$man8' ] && ! grep -q '@[a-z]*@' '$man8'" "man/pingpongctl.8 missing or unsubstituted"
if command -v man >/dev/null 2>&1; then
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$man8" 2>&1 >/dev/null)
	pp_check '[ -z "$w" ]' "man --warnings pingpongctl.8: $w"
fi

grep -qF "$KEY" "$PP_TMP/ctl.all" && pp_fail "pingpongctl printed the key"
grep -qF 'customer-x' "$PP_TMP/ctl.all" && pp_fail "pingpongctl printed part of the key"
grep -qF 'customer-x' "$PP_TMP/workers.log" && pp_fail "a worker logged the key"
# No reader slot left behind by the tool's runs (mdb_stat -r lists them).
if command -v mdb_stat >/dev/null 2>&1; then
	slots=$(mdb_stat -rr "$PP_TMP/db" 2>/dev/null | awk 'NF == 3 && $1 ~ /^[0-9]+$/ && $3 != "-" { n++ } END { print n + 0 }')
	pp_log "reader slots holding a snapshot: $slots"
	pp_check "[ $slots = 0 ]" "a reader slot still holds a snapshot after pingpongctl"
fi
pp_done

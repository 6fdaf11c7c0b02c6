#!/usr/bin/env bash
# tests/faults/diskfull.sh - db_path on a small tmpfs that fills up under a
# distinct-key flood. Nothing may die of SIGBUS: with the map reserved on
# disk (it fits), a full disk changes nothing; with a map larger than the
# disk (no reservation, pwrite), a full disk is 503 store_unavailable, one
# log line naming the disk, workers alive, and service back by itself once
# space is freed. A worker started on a full disk (metrics.shm new) comes up.
. "${PP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
pp_setup
pp_require wrk mount umount
[ "$(id -u)" -eq 0 ] || pp_skip "mounting a tmpfs needs root"

MOUNTS=()
# Unmount before lib.sh's EXIT trap removes the temp dir (nginx and the
# workers first: they hold files on the mounts).
diskfull_cleanup() {
	local m
	pp_stop_server
	for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m"; done
}
pp_at_exit diskfull_cleanup

# mount_tmpfs DIR SIZE: a fresh tmpfs on DIR; skips if the system refuses.
mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" 2>"$PP_TMP/mount.err" ||
		pp_skip "cannot mount a tmpfs here: $(cat "$PP_TMP/mount.err")"
	MOUNTS+=("$1")
}

# Fills the file system holding $1 to the last byte (dd stops at ENOSPC).
fill_disk() {
	dd if=/dev/zero of="$1/filler" bs=64k status=none 2>/dev/null
	dd if=/dev/zero of="$1/filler2" bs=4k status=none 2>/dev/null
	local avail
	avail=$(df --output=avail -B1 "$1" | tail -n 1 | tr -d ' ')
	[ "$avail" -lt 65536 ] || pp_die "could not fill $1: $avail bytes still free"
}

# flood SECONDS: distinct keys, bounded in time.
flood() {
	timeout $(($1 + 15)) wrk -t1 -c8 -d"$1s" --timeout 2s \
		-s "$PP_SRCDIR/tests/integration/distinct-keys.lua" "$PP_URL" >"$PP_TMP/wrk.out" 2>&1
	pp_log "wrk: $(grep -E 'requests in|Non-2xx' "$PP_TMP/wrk.out" | tr '\n' ' ')"
}

# Statuses of /ping since access-log line $1; only 200, 429, 503 (and wrk's
# 499 at its deadline) are allowed.
check_statuses() {
	tail -n +"$1" "$PP_ACCESS_LOG" | awk '$5 == "/ping" {print $2}' | sort | uniq -c >"$PP_TMP/statuses"
	pp_log "statuses: $(tr -s ' \n' ' ' <"$PP_TMP/statuses")"
	local bad
	bad=$(awk '$2 != 200 && $2 != 429 && $2 != 503 && $2 != 499 {n += $1} END {print n + 0}' "$PP_TMP/statuses")
	pp_check '[ "$bad" -eq 0 ]' "$bad answers were not 200, 429 or 503 (a worker died?)"
}

export PP_WORKERS=2
DB=$PP_TMP/db

# --- 1. The map fits the disk: reserved, written through the map. ----------
mount_tmpfs "$DB" 8m
pp_start_server db_map_size=4M per_key_limit=2 per_key_window=10s global_limit=500 global_window=1s
pids_before=$(pp_worker_pids | sort | tr '\n' ' ')
grep -q 'cannot reserve' "$PP_TMP/workers.log" && pp_fail "a 4M map on an 8M tmpfs was not reserved: $(grep 'cannot reserve' "$PP_TMP/workers.log" | head -1)"
fill_disk "$DB"
start=$(($(wc -l <"$PP_ACCESS_LOG") + 1))
flood 3
check_statuses "$start"
admitted=$(awk '$2 == 200 {print $1}' "$PP_TMP/statuses")
pp_check '[ "${admitted:-0}" -gt 100 ]' "only ${admitted:-0} admissions with the map reserved on a full disk"
pids_after=$(pp_worker_pids | sort | tr '\n' ' ')
pp_check '[ "$pids_before" = "$pids_after" ]' "workers changed from $pids_before to $pids_after: one died"
pp_request GET /readyz; pp_expect_status 200

# A worker started on the full disk with no metrics.shm: it must come up
# (without metrics, saying so), not die of SIGBUS writing the new file.
pp_stop_workers
rm -f "$DB/metrics.shm"
fill_disk "$DB"
pp_start_workers
pp_wait_healthz || pp_fail "workers started on a full disk do not answer /healthz"
pp_ping after-restart; pp_expect_status 200
grep -q 'metrics unavailable' "$PP_TMP/workers.log" || pp_fail "no log line says metrics are unavailable on the full disk"
pp_stop_server
umount "$DB" && MOUNTS=()

# --- 2. The map is larger than the disk: pwrite, ENOSPC is a store error. ---
mount_tmpfs "$DB" 2m
pp_start_server per_key_limit=2 per_key_window=60s global_limit=2000 global_window=1s
grep -q "cannot reserve .*data.mdb" "$PP_TMP/workers.log" || pp_fail "no log line says the 64M map could not be reserved on a 2M disk"
pp_ping throttled; pp_ping throttled; pp_ping throttled; pp_expect_status 429
pids_before=$(pp_worker_pids | sort | tr '\n' ' ')
fill_disk "$DB"

lines_before=$(wc -l <"$PP_TMP/workers.log")
start=$(($(wc -l <"$PP_ACCESS_LOG") + 1))
flood 3
check_statuses "$start"
n503=$(awk '$2 == 503 {print $1}' "$PP_TMP/statuses")
pp_check '[ "${n503:-0}" -gt 0 ]' "no 503 while the disk was full"
pp_ping full-disk-key
pp_expect_status 503
pp_expect_json .error '"store_unavailable"'
pp_expect_api_framing
# Refusals come from the snapshot and need no disk.
pp_ping throttled; pp_expect_status 429
pp_request GET /healthz; pp_expect_status 200
pp_request GET /readyz; pp_expect_status 503
pids_after=$(pp_worker_pids | sort | tr '\n' ' ')
pp_check '[ "$pids_before" = "$pids_after" ]' "workers changed from $pids_before to $pids_after: one died"

tail -n +"$((lines_before + 1))" "$PP_TMP/workers.log" >"$PP_TMP/full.log"
lines=$(grep -c "no space left on the disk holding $DB" "$PP_TMP/full.log")
pp_log "disk-full log lines: $lines; first: $(grep -m1 'no space' "$PP_TMP/full.log")"
pp_check '[ "$lines" -ge 1 ]' "no log line names the full disk ($DB)"
# At most one line per worker per 10 s (admissions and probes may each say it).
pp_check '[ "$lines" -le $((2 * PP_WORKERS)) ]' "$lines disk-full lines: a storm"
other=$(grep -c 'error' "$PP_TMP/full.log")
pp_check '[ "$other" -le $((3 * PP_WORKERS)) ]' "$other error lines in the log while the disk was full"

# Space returns: service is back without a restart.
rm -f "$DB/filler" "$DB/filler2"
pp_ping_until_200 20 0.2 'after-space-%d' || pp_fail "no 200 after space was freed (last $PP_STATUS)"
pp_request GET /readyz; pp_expect_status 200
pids_after=$(pp_worker_pids | sort | tr '\n' ' ')
pp_check '[ "$pids_before" = "$pids_after" ]' "workers changed from $pids_before to $pids_after"

# fail_open = yes: the full disk admits instead (and says so).
pp_stop_server
pp_start_server per_key_limit=2 per_key_window=60s global_limit=2000 global_window=1s fail_open=yes
fill_disk "$DB"
flood 2
pp_ping fail-open-key
pp_expect_status 200
grep -q 'fail_open admitted' "$PP_TMP/workers.log" || pp_fail "fail_open admitted nothing on the full disk"
pp_done

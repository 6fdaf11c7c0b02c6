#!/bin/bash
# restart.sh - the windows live in LMDB, not in a worker: restarting every
# worker keeps a throttled key throttled, and a worker killed with -9 leaves
# the others (and its replacement) answering.
. "$(dirname "$0")/../lib.sh"
pp_setup
pp_start_server per_key_limit=3 per_key_window=60s global_limit=1000 global_window=1s

for i in 1 2 3; do pp_ping restart-key; pp_expect_status 200; done
pp_ping restart-key
pp_expect_status 429
before=$(jq -r .retry_after "$PP_BODY")
old=$(pp_worker_pids | sort | tr '\n' ' ')

pp_restart_workers
new=$(pp_worker_pids | sort | tr '\n' ' ')
[ -n "$new" ] || pp_fail "no workers after the restart"
for p in $new; do
	case " $old " in *" $p "*) pp_fail "worker $p survived the restart (old: $old)" ;; esac
done

pp_ping restart-key
pp_expect_status 429
pp_expect_json .limit '"per-key"'
pp_expect_json_ok ".retry_after > 0 and .retry_after <= $before"
pp_ping restart-other-key
pp_expect_status 200

# kill -9 one worker by PID: multiwatch replaces it, nobody else notices.
victim=$(pp_worker_pids | head -n 1)
[ -n "$victim" ] || pp_die "no worker to kill"
kill -KILL "$victim" || pp_fail "kill -9 of worker $victim failed"
# Bounded wait: the victim is gone (multiwatch reaps it) and replaced.
for i in $(seq 1 50); do
	alive=$(pp_worker_pids | tr '\n' ' ')
	case " $alive " in *" $victim "*) ;; *) [ "$(echo $alive | wc -w)" -eq "${PP_WORKERS:-4}" ] && break ;; esac
	sleep 0.1
done
case " $(pp_worker_pids | tr '\n' ' ') " in
*" $victim "*) pp_fail "worker $victim still runs after kill -9" ;;
esac
[ -e "/proc/$victim" ] && [ "$(awk '{print $3}' "/proc/$victim/stat" 2>/dev/null)" != Z ] &&
	pp_fail "process $victim still alive after kill -9"
for i in $(seq 1 12); do
	pp_ping "after-kill-$i"
	pp_expect_status 200
done
pp_ping restart-key
pp_expect_status 429
n=$(pp_worker_pids | wc -l)
[ "$n" -eq "${PP_WORKERS:-4}" ] || pp_fail "$n workers after kill -9, want ${PP_WORKERS:-4}"
pp_done

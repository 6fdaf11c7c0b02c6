#!/usr/bin/env bash
# tests/faults/man-facts.sh - facts the man pages state about the running
# server: the size of metrics.shm, and that every multiwatch example
# restarts dying workers (-r 3 -t 1000, see pingpong-fcgi(8)).
. "${PP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
pp_setup
export PP_WORKERS=1
man8=$PP_SRCDIR/man/pingpong-fcgi.8.in

pp_start_server
size=$(stat -c %s "$PP_TMP/db/metrics.shm")
said=$(grep -A1 'metrics.shm$' "$man8" | sed -n 's/.*counters (\([0-9]*\) bytes.*/\1/p')
pp_check '[ "$size" = "$said" ]' "metrics.shm is $size bytes, pingpong-fcgi(8) says '${said:-nothing}'"

bad=$(grep -n 'multiwatch -f' "$PP_SRCDIR"/man/*.in | grep -v -- '-r 3 -t 1000')
pp_check '[ -z "$bad" ]' "man page multiwatch examples without -r 3 -t 1000: $bad"
pp_done

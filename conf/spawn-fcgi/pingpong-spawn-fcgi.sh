#!/bin/sh
# pingpong-spawn-fcgi.sh - shape 1: spawn-fcgi binds the socket nginx talks to
# and hands it (fd 0) to multiwatch, which keeps WORKERS pingpong-fcgi running.
# Run as root: spawn-fcgi drops to the pingpong user and gives the socket to
# nginx's group. -n keeps it in the foreground (for a supervisor); drop it to
# let spawn-fcgi daemonize. Stop with SIGTERM to multiwatch (it stops the
# workers).
set -eu
WORKERS=${WORKERS:-4}
SOCKET=${SOCKET:-/run/pingpong/pingpong.sock}
CONF=${CONF:-/etc/pingpong/pingpong.conf}

mkdir -p "$(dirname "$SOCKET")"
exec /usr/bin/spawn-fcgi -n -s "$SOCKET" -M 0660 -u pingpong -g pingpong -U pingpong -G www-data -- \
	/usr/bin/multiwatch -f "$WORKERS" -r 3 -t 1000 -- /usr/bin/pingpong-fcgi -c "$CONF"

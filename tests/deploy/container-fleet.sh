#!/usr/bin/env bash
# tests/deploy/container-fleet.sh - containers on one Redis: the image (built
# from the Dockerfile as tests/deploy/container.sh builds it, with the same
# cached base and package stages) run twice with podman on the host network,
# on different ports, PINGPONG_STORE=redis, the same key secret file mounted
# read-only; one Redis container (redis-server from Debian in a small image
# on the same base, tagged localhost/pingpong-ci-cache:redis so later runs
# reuse it). One key hammered through both containers for 4 s is admitted
# exactly per_key_limit times in all (/metrics of both, and Redis's window).
# If the Redis image cannot be built (no Debian mirror from inside a build),
# the test says so and uses a redis-server process on the host instead.
# Skips as container.sh does (reason "container") where nested containers
# are impossible; PP_SKIP_CONTAINER=1 skips the same way.
# pp-test-timeout: 1800
set -uo pipefail
src=${PP_SRCDIR:?}
cache=${PP_CI_CACHE:-/var/cache/pingpong-ci}
base=docker.io/library/debian:bookworm-slim
image=localhost/pingpong-ci-fleet:$$
redis_image=localhost/pingpong-ci-cache:redis
names=(pingpong-fleet-a-$$ pingpong-fleet-b-$$ pingpong-fleet-redis-$$)
LIMIT=5
. "$src/tests/lib.sh" # pp_require, pp_skip

[ "${PP_SKIP_CONTAINER:-0}" != 1 ] || pp_skip container "PP_SKIP_CONTAINER=1"
fail() { echo "FAIL: $*"; exit 1; }
pp_require podman runc debootstrap curl wrk redis-cli
[ "$(id -u)" -eq 0 ] || pp_skip container "needs root (rootful podman) and this runs as $(id -un)"

tmp=$(mktemp -d) || exit 1
host_redis=
cleanup() {
	local n
	for n in "${names[@]}"; do podman rm -f -t 0 "$n" >/dev/null 2>&1; done
	podman rmi -f "$image" >/dev/null 2>&1
	# No image prune here: container.sh may be building at the same time.
	[ -z "$host_redis" ] || { kill "$host_redis" 2>/dev/null; wait "$host_redis" 2>/dev/null; }
	rm -rf "$tmp"
}
trap cleanup EXIT

# As container.sh: runc, and rlimits root here cannot raise.
cat > "$tmp/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$tmp/containers.conf

# --- the base image (container.sh makes and caches it the same way) ---------
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || fail "no Debian mirror found in /etc/apt/sources.list.d/debian.sources"
tarball=$cache/bookworm-minbase.tar
make_tarball() {
	[ -s "$tarball" ] && return 0
	mkdir -p "$cache" || fail "cannot create $cache"
	root=$(mktemp -d "$cache/root.XXXXXX") || fail "mktemp in $cache"
	if ! debootstrap --variant=minbase bookworm "$root" "$mirror" > "$tmp/debootstrap.log" 2>&1; then
		tail -20 "$tmp/debootstrap.log"; rm -rf "$root"; fail "debootstrap failed"
	fi
	tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball" || fail "tar of the base"
	rm -rf "$root"
}
can_run() {
	if ! podman image exists "$base" 2>"$tmp/probe.log"; then
		make_tarball
		podman import -q - "$base" < "$tarball" >>"$tmp/probe.log" 2>&1 || return 1
	fi
	timeout 120 podman run --rm --pull=never --network host "$base" true >>"$tmp/probe.log" 2>&1
}
if ! can_run; then
	mkdir -p "$cache/vfs-storage" "$cache/vfs-run" || fail "cannot create $cache/vfs-storage"
	printf '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n' \
		"$cache/vfs-storage" "$cache/vfs-run" >"$tmp/storage.conf"
	export CONTAINERS_STORAGE_CONF=$tmp/storage.conf
	can_run || pp_skip container "nested containers are impossible here (podman with overlay and vfs storage): $(tail -n 3 "$tmp/probe.log" | tr '\n' ' ')"
fi

build() { # build [podman build options...] CONTEXT
	if ! timeout 600 podman build --pull=never --network host --format docker "$@" > "$tmp/build.log" 2>&1; then
		tail -40 "$tmp/build.log"; fail "podman build $*"
	fi
}
build -f "$src/Dockerfile" --target build-deps -t localhost/pingpong-ci-cache:build-deps "$src"
build -f "$src/Dockerfile" --target runtime-deps -t localhost/pingpong-ci-cache:runtime-deps "$src"
build -f "$src/Dockerfile" -t "$image" "$src"
echo "# image built after $SECONDS s"
# The image carries the Redis backend: hiredis linked into the worker.
podman run --rm --pull=never --entrypoint /bin/sh "$image" -c \
	'ldd /usr/bin/pingpong-fcgi 2>/dev/null || ldd /usr/sbin/pingpong-fcgi' >"$tmp/ldd" 2>&1
grep -q libhiredis "$tmp/ldd" || fail "the image's pingpong-fcgi does not link hiredis: $(head -c 400 "$tmp/ldd")"

# --- one Redis ----------------------------------------------------------------
free_port() { "$PP_SRCDIR/tests/free-port"; }
rport=$(free_port)
redis_args=(--port "$rport" --bind 127.0.0.1 --save '' --appendonly no --maxmemory-policy noeviction)
if ! podman image exists "$redis_image"; then
	mkdir -p "$tmp/redis-ctx"
	cat > "$tmp/redis-ctx/Containerfile" <<'CF'
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/*
USER redis
ENTRYPOINT ["redis-server"]
CF
	timeout 300 podman build --pull=never --network host --format docker -t "$redis_image" \
		"$tmp/redis-ctx" > "$tmp/redis-build.log" 2>&1 || podman rmi -f "$redis_image" >/dev/null 2>&1
fi
if podman image exists "$redis_image"; then
	podman run -d --name "${names[2]}" --network host "$redis_image" "${redis_args[@]}" \
		>/dev/null 2>"$tmp/redis-run.err" || fail "podman run redis: $(cat "$tmp/redis-run.err")"
	echo "# Redis in a container ($redis_image) on 127.0.0.1:$rport"
else
	echo "# NOTE: no Redis image could be built here ($(tail -n 2 "$tmp/redis-build.log" | tr '\n' ' ')):"
	echo "# using a redis-server process on the host, as the containers would use any Redis"
	redis-server "${redis_args[@]}" --dir "$tmp" --logfile "$tmp/redis.log" </dev/null >/dev/null 2>&1 &
	host_redis=$!
fi
for _ in $(seq 1 50); do [ "$(redis-cli -p "$rport" PING 2>/dev/null)" = PONG ] && break; sleep 0.1; done
[ "$(redis-cli -p "$rport" PING 2>/dev/null)" = PONG ] || fail "Redis did not answer on $rport"

# --- two pingpong containers --------------------------------------------------
# One secret for both, read-only; owned by the image's user, mode 0600.
mkdir -p "$tmp/secrets"
(umask 077; head -c 48 /dev/urandom > "$tmp/secrets/key-secret")
chown -R 10001:10001 "$tmp/secrets"
declare -A http ops
for h in a b; do
	http[$h]=$(free_port); ops[$h]=$(free_port)
	mkdir -p "$tmp/state-$h" "$tmp/run-$h" && chown 10001:10001 "$tmp/state-$h" "$tmp/run-$h"
	n=${names[0]}; [ "$h" = b ] && n=${names[1]}
	podman run -d --name "$n" --network host --health-interval disable \
		--read-only --read-only-tmpfs=false -v "$tmp/run-$h:/run/pingpong" \
		--cap-drop ALL --security-opt no-new-privileges \
		-e HTTP_PORT="${http[$h]}" -e OPS_PORT="${ops[$h]}" -e WORKERS=2 \
		-e PINGPONG_STORE=redis -e PINGPONG_REDIS_URL="redis://127.0.0.1:$rport/0" \
		-e PINGPONG_KEY_SECRET_FILE=/run/secrets/pingpong-key-secret \
		-v "$tmp/secrets/key-secret:/run/secrets/pingpong-key-secret:ro" \
		-e PINGPONG_PER_KEY_LIMIT=$LIMIT -e PINGPONG_PER_KEY_WINDOW=120s \
		-e PINGPONG_GLOBAL_LIMIT=100000 -e PINGPONG_GLOBAL_WINDOW=1s \
		-v "$tmp/state-$h:/var/lib/pingpong" "$image" >/dev/null 2>"$tmp/run.err" ||
		fail "podman run $h: $(cat "$tmp/run.err")"
done
for h in a b; do
	ok=0
	for _ in $(seq 1 50); do
		curl -fsS -o /dev/null "http://127.0.0.1:${ops[$h]}/readyz" 2>/dev/null && { ok=1; break; }
		sleep 0.2
	done
	[ "$ok" = 1 ] || { podman logs "${names[0]}" "${names[1]}" 2>&1 | tail -30; fail "container $h never ready"; }
done

# --- one key through both ------------------------------------------------------
for h in a b; do
	PP_WRK_KEY=container-fleet-key timeout 30 wrk -t1 -c8 -d4s --timeout 5s \
		-s "$src/tests/integration/post.lua" "http://127.0.0.1:${http[$h]}/ping" >"$tmp/wrk-$h" 2>&1 &
done
wait
# Admissions as the clients saw them (wrk: answers minus non-2xx; the
# containers' /metrics also count probes), refusals per container from
# /metrics.
admitted() {
	awk '/requests in/ { n = $1 } /Non-2xx or 3xx responses:/ { bad = $NF } END { print n - bad }' "$tmp/wrk-$1"
}
throttled() {
	curl -fsS "http://127.0.0.1:${ops[$1]}/metrics" |
		awk '$1 == "pingpong_throttled_total{limit=\"per-key\"}" { print $2 + 0; f = 1 } END { if (!f) print 0 }'
}
ok_a=$(admitted a) ok_b=$(admitted b) ref_a=$(throttled a) ref_b=$(throttled b)
echo "# container a: $ok_a admitted, $ref_a refused; container b: $ok_b admitted, $ref_b refused"
[ $((ref_a + ref_b)) -gt 100 ] || fail "only $((ok_a + ok_b + ref_a + ref_b)) answers: the key was not hammered"
[ "$ref_a" -gt 0 ] && [ "$ref_b" -gt 0 ] || fail "one container refused nothing: both must see the shared window"
[ $((ok_a + ok_b)) -eq "$LIMIT" ] ||
	fail "$((ok_a + ok_b)) admissions through both containers, limit $LIMIT (LMDB per container would give up to $((2 * LIMIT)))"
# Redis holds that one window, with the limit's worth of admissions.
keys=$(redis-cli -p "$rport" --scan --pattern '*:k:*')
n=0
for k in $keys; do
	[ "$(redis-cli -p "$rport" TYPE "$k")" = list ] && n=$((n + $(redis-cli -p "$rport" LLEN "$k")))
done
[ "$n" -eq "$LIMIT" ] || fail "Redis's window holds $n admission times, want $LIMIT: $keys"
echo "ok: two containers on one Redis admitted $((ok_a + ok_b)) of $((ok_a + ok_b + ref_a + ref_b)) for one key (limit $LIMIT); $SECONDS s in all"

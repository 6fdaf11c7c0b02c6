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
image=localhost/pingpong-ci-fleet:$$
redis_image=localhost/pingpong-ci-cache:redis
names=(pingpong-fleet-a-$$ pingpong-fleet-b-$$ pingpong-fleet-redis-$$)
LIMIT=5
. "$src/tests/deploy/common.sh" # $tmp, pp_free_port, container_*

container_setup
pp_require wrk redis-cli
cleanup() {
	local n
	for n in "${names[@]}"; do podman rm -f -t 0 "$n" >/dev/null 2>&1; done
	podman rmi -f "$image" >/dev/null 2>&1
	# No image prune here: container.sh may be building at the same time.
}
pp_at_exit cleanup

# The base image and the Dockerfile's stages, as container.sh makes them.
container_ready_base
container_image "$image"
# The image carries the Redis backend: hiredis linked into the worker.
podman run --rm --pull=never --entrypoint /bin/sh "$image" -c \
	'ldd /usr/bin/pingpong-fcgi 2>/dev/null || ldd /usr/sbin/pingpong-fcgi' >"$tmp/ldd" 2>&1
grep -q libhiredis "$tmp/ldd" || fail "the image's pingpong-fcgi does not link hiredis: $(head -c 400 "$tmp/ldd")"

# --- one Redis ----------------------------------------------------------------
rport=$(pp_free_port)
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
	pp_track $!
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
	http[$h]=$(pp_free_port); ops[$h]=$(pp_free_port)
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

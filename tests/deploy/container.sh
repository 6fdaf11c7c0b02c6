#!/usr/bin/env bash
# tests/deploy/container.sh - builds the Dockerfile and runs the image with
# podman (runc, host network, no registry): /ping answers 200 until the
# per-key limit set by PINGPONG_PER_KEY_LIMIT, then 429; probes answer on
# the ops port; the HEALTHCHECK passes; SIGTERM stops it cleanly.
# No registry is reachable: the debian:bookworm-slim base is made with
# debootstrap from this machine's Debian mirror, its tarball cached in
# $PP_CI_CACHE (default /var/cache/pingpong-ci). The base image and the two
# package stages (tagged localhost/pingpong-ci-cache:*) stay in podman's store
# between runs so only the sources are rebuilt (~1 min); the test's own image
# and container are removed.
# Where nested containers are impossible (an unprivileged container without
# a working storage driver or runtime) it first retries with the vfs storage
# driver, then skips naming the reason "container"; scripts/test fails that
# skip unless PP_ALLOW_SKIP=container. PP_SKIP_CONTAINER=1 skips the same way.
# pp-test-timeout: 1800
set -uo pipefail
src=${PP_SRCDIR:?}
image=localhost/pingpong-ci:$$
name=pingpong-ci-$$
. "$src/tests/deploy/common.sh" # $tmp, pp_free_port, container_*

container_setup
cleanup() {
	podman rm -f -t 0 "$name" >/dev/null 2>&1
	podman rmi -f "$image" >/dev/null 2>&1
	# Untagged layers of this build (the tagged cache stages are kept).
	podman image prune -f >/dev/null 2>&1
}
pp_at_exit cleanup

# --- the base image ---------------------------------------------------------
container_ready_base
echo "# base ready after $SECONDS s ($(podman info --format '{{.Store.GraphDriverName}}' 2>/dev/null) storage)"

# --- build ------------------------------------------------------------------
container_image "$image"

# --- run --------------------------------------------------------------------
http=$(pp_free_port); ops=$(pp_free_port)
mkdir -p "$tmp/state" "$tmp/run" && chown 10001:10001 "$tmp/state" "$tmp/run"
# As kubernetes/deployment.yaml runs it: read-only root, /run/pingpong a
# fresh writable directory (an emptyDir there), no capabilities, no privilege
# escalation.
podman run -d --name "$name" --network host --health-interval disable \
	--read-only --read-only-tmpfs=false -v "$tmp/run:/run/pingpong" \
	--cap-drop ALL --security-opt no-new-privileges \
	-e HTTP_PORT="$http" -e OPS_PORT="$ops" -e WORKERS=2 \
	-e PINGPONG_PER_KEY_LIMIT=3 -e PINGPONG_PER_KEY_WINDOW=60s \
	-e PINGPONG_GLOBAL_LIMIT=100 -e PINGPONG_GLOBAL_WINDOW=1s \
	-e PINGPONG_SERVICE_HOST=10.0.0.1 \
	-v "$tmp/state:/var/lib/pingpong" "$image" >/dev/null 2>"$tmp/run.err" || fail "podman run: $(cat "$tmp/run.err")"

ready=0
for _ in $(seq 1 50); do
	if curl -fsS -o /dev/null "http://127.0.0.1:$ops/readyz" 2>/dev/null; then ready=1; break; fi
	sleep 0.2
done
[ "$ready" -eq 1 ] || { podman logs "$name" 2>&1 | tail -30; fail "/readyz never answered 200"; }

ping() {
	curl -s -o "$tmp/body" -w '%{http_code}' --max-time 5 -X POST \
		-H 'x-secret-key: container-test' -H 'Content-Type: application/json' \
		--data '{"request":"ping"}' "http://127.0.0.1:$http/ping"
}
got=""
for _ in 1 2 3 4; do got="$got $(ping)"; done
[ "$got" = " 200 200 200 429" ] || { podman logs "$name" 2>&1 | tail -30; fail "statuses:$got (want 200 200 200 429)"; }
grep -q '"limit":"per-key"' "$tmp/body" || fail "429 body: $(cat "$tmp/body")"

code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/metrics")
[ "$code" = 404 ] || fail "/metrics on the public port answered $code, want 404"
curl -fsS "http://127.0.0.1:$ops/metrics" > "$tmp/metrics" || fail "/metrics on the ops port"
grep -q '^pingpong_requests_total{code="429"} 1$' "$tmp/metrics" ||
	{ cat "$tmp/metrics"; fail "metrics do not count the 429"; }
[ -s "$tmp/state/data.mdb" ] || fail "no LMDB environment on the volume: $(ls "$tmp/state")"

podman healthcheck run "$name" > "$tmp/health" 2>&1 || fail "HEALTHCHECK failed: $(cat "$tmp/health")"

podman top "$name" user comm > "$tmp/top" 2>&1 || fail "podman top: $(cat "$tmp/top")"
grep -q 'pingpong-fcgi' "$tmp/top" && grep -q 'nginx' "$tmp/top" || fail "podman top shows no workers or nginx: $(cat "$tmp/top")"
root=$(awk 'NR > 1 && $1 == "root"' "$tmp/top")
[ -z "$root" ] || fail "processes running as root: $root"

start=$SECONDS
podman stop -t 10 "$name" >/dev/null 2>"$tmp/stop.err" || fail "podman stop: $(cat "$tmp/stop.err")"
rc=$(podman inspect -f '{{.State.ExitCode}}' "$name")
[ "$rc" = 0 ] || { podman logs "$name" 2>&1 | tail -20; fail "exit code $rc after SIGTERM, want 0"; }
[ $((SECONDS - start)) -lt 8 ] || fail "SIGTERM took $((SECONDS - start)) s: not handled"
echo "ok: image built and ran; 200 200 200 429; probes on the ops port; clean stop in $((SECONDS - start)) s; $SECONDS s in all"

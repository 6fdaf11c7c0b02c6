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
cache=${PP_CI_CACHE:-/var/cache/pingpong-ci}
base=docker.io/library/debian:bookworm-slim
image=localhost/pingpong-ci:$$
name=pingpong-ci-$$
. "$src/tests/lib.sh" # pp_require, pp_skip

[ "${PP_SKIP_CONTAINER:-0}" != 1 ] || pp_skip container "PP_SKIP_CONTAINER=1"
fail() { echo "FAIL: $*"; exit 1; }
pp_require podman runc debootstrap curl
[ "$(id -u)" -eq 0 ] || pp_skip container "needs root (rootful podman) and this runs as $(id -un)"

tmp=$(mktemp -d) || exit 1
cleanup() {
	podman rm -f -t 0 "$name" >/dev/null 2>&1
	podman rmi -f "$image" >/dev/null 2>&1
	# Untagged layers of this build (the tagged cache stages are kept).
	podman image prune -f >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

# crun refuses this machine's mixed cgroups, and root here cannot raise
# rlimits past the current ones.
cat > "$tmp/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$tmp/containers.conf

# --- the base image ---------------------------------------------------------
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
if [ -z "$mirror" ]; then
	mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
fi
[ -n "$mirror" ] || fail "no Debian mirror found in /etc/apt/sources.list.d/debian.sources"
tarball=$cache/bookworm-minbase.tar
make_tarball() { # once; cached in $cache
	[ -s "$tarball" ] && return 0
	echo "# making the base with debootstrap (once; cached in $cache)"
	mkdir -p "$cache" || fail "cannot create $cache"
	root=$(mktemp -d "$cache/root.XXXXXX") || fail "mktemp in $cache"
	if ! debootstrap --variant=minbase bookworm "$root" "$mirror" > "$tmp/debootstrap.log" 2>&1; then
		tail -20 "$tmp/debootstrap.log"; rm -rf "$root"; fail "debootstrap failed"
	fi
	tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball" || fail "tar of the base"
	rm -rf "$root"
}
# The base in podman's store, and one container run from it: what this
# machine's storage driver and runtime can do, before our image is involved.
can_run() {
	if ! podman image exists "$base" 2>"$tmp/probe.log"; then
		make_tarball
		podman import -q - "$base" < "$tarball" >>"$tmp/probe.log" 2>&1 || return 1
	fi
	timeout 120 podman run --rm --pull=never --network host "$base" true >>"$tmp/probe.log" 2>&1
}
if ! can_run; then
	echo "# podman's default storage cannot run a container here: $(tail -n 2 "$tmp/probe.log" | tr '\n' ' ')"
	echo "# retrying with the vfs storage driver (slower, works on an overlay root)"
	mkdir -p "$cache/vfs-storage" "$cache/vfs-run" || fail "cannot create $cache/vfs-storage"
	printf '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n' \
		"$cache/vfs-storage" "$cache/vfs-run" >"$tmp/storage.conf"
	export CONTAINERS_STORAGE_CONF=$tmp/storage.conf
	can_run || pp_skip container "nested containers are impossible here (podman with overlay and vfs storage): $(tail -n 3 "$tmp/probe.log" | tr '\n' ' ')"
fi
echo "# base ready after $SECONDS s ($(podman info --format '{{.Store.GraphDriverName}}' 2>/dev/null) storage)"

# --- build ------------------------------------------------------------------
build() { # build [podman build options...]: bounded, log kept for failures
	if ! timeout 600 podman build --pull=never --network host --format docker \
		-f "$src/Dockerfile" "$@" "$src" > "$tmp/build.log" 2>&1; then
		tail -40 "$tmp/build.log"; fail "podman build $*"
	fi
}
build --target build-deps -t localhost/pingpong-ci-cache:build-deps
build --target runtime-deps -t localhost/pingpong-ci-cache:runtime-deps
echo "# package stages ready after $SECONDS s"
build -t "$image"
echo "# image built after $SECONDS s"

# --- run --------------------------------------------------------------------
free_port() { "$PP_SRCDIR/tests/free-port"; }
http=$(free_port); ops=$(free_port)
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

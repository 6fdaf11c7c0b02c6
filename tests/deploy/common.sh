# tests/deploy/common.sh - sourced by the deploy tests: tests/lib.sh's temp dir
# ($tmp), free ports and PIDs stopped on exit; the shipped nginx site and
# workers started as conf/ runs them; the container tests' cached base image.
# shellcheck shell=bash
set -uo pipefail
B=${PP_BUILDDIR:?PP_BUILDDIR is set by make check}
S=${PP_SRCDIR:?PP_SRCDIR is set by make check}
PP_NGINX=${NGINX:-${PP_NGINX:-/usr/sbin/nginx}}
NGINX=$PP_NGINX
# pp_require CMD... (each tool there, or a skip naming its Debian package),
# pp_skip REASON MESSAGE, pp_free_port, pp_track and the nginx writer.
. "$S/tests/lib.sh"
pp_tmpdir pp-deploy
tmp=$PP_TMP

# The deploy tests stop at their first failure: pp_fail's line, then the
# workers' own lines (nginx's may be many; the EXIT trap shows error.log).
fail() {
	pp_fail "$*"
	[ -f "$tmp/stderr" ] && { grep 'pingpong-fcgi' "$tmp/stderr" | tail -10; tail -5 "$tmp/stderr"; }
	exit 1
}
# skip REASON MESSAGE: the deploy tests' name for pp_skip.
skip() { pp_skip "$@"; }

# Waits (at most 5 s) until URL answers with the given status.
wait_status() {
	local url=$1 want=$2 i code
	for i in $(seq 1 50); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url")
		[ "$code" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

# POST /ping with key $2 to base URL $1; prints the status, body in $tmp/body.
ping_status() {
	curl -s -o "$tmp/body" -w '%{http_code}' --max-time 5 -X POST \
		-H "x-secret-key: $2" -H 'Content-Type: application/json' \
		--data '{"request":"ping"}' "$1/ping"
}

# Writes $tmp/nginx.conf (tests/lib.sh's writer): the shipped site
# (conf/nginx/pingpong.conf) on $1 (public) and $2 (ops, loopback), talking
# to the FastCGI socket $3. Its "include fastcgi_params" is relative to the
# config's folder, so a copy of Debian's sits there.
nginx_conf() {
	local http=$1 ops=$2 sock=$3
	sed -e "s/listen 8080;/listen 127.0.0.1:$http;/" -e "s/listen 127.0.0.1:8081;/listen 127.0.0.1:$ops;/" \
		-e '/listen \[/d' -e "s#unix:/run/pingpong/pingpong.sock#unix:$sock#" \
		"$S/conf/nginx/pingpong.conf" >"$tmp/site.conf"
	cp /etc/nginx/fastcgi_params "$tmp/fastcgi_params"
	PP_NGINX_HTTP="	include /etc/nginx/mime.types;
	include $tmp/site.conf;" pp_nginx_conf ""
}

# Starts nginx with nginx_conf's configuration (by PID; waits for the
# public port).
start_nginx() {
	nginx_conf "$@"
	pp_start_nginx "$1" || fail "nginx did not start: port $1 taken"
}

# Starts N workers with spawn-fcgi + multiwatch on socket $2, the shipped
# default pingpong.conf, and the store in $tmp/db; extra env from the caller.
# multiwatch's PID is PP_WORKERS_PID.
start_workers() {
	local n=$1 sock=$2
	mkdir -p "$tmp/db"
	PINGPONG_DB_PATH=$tmp/db PP_SOCK_MODE=0600 pp_spawn_workers "$sock" "$tmp/stderr" "$n" \
		"$B/pingpong-fcgi" -c "$B/conf/pingpong.conf"
	PP_WORKERS_PID=$PP_SPAWNED
}

# --- containers (container.sh, container-fleet.sh) ---------------------------
# container_setup: rootful podman with runc, or a skip naming "container";
# CONTAINERS_CONF set for this test only.
container_setup() {
	[ "${PP_SKIP_CONTAINER:-0}" != 1 ] || pp_skip container "PP_SKIP_CONTAINER=1"
	pp_require podman runc debootstrap curl
	[ "$(id -u)" -eq 0 ] || pp_skip container "needs root (rootful podman) and this runs as $(id -un)"
	# crun refuses this machine's mixed cgroups, and root here cannot raise
	# rlimits past the current ones.
	cat >"$tmp/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
	export CONTAINERS_CONF=$tmp/containers.conf
	container_cache=${PP_CI_CACHE:-/var/cache/pingpong-ci}
	container_base=docker.io/library/debian:bookworm-slim
}

# The debootstrap tarball of the base, made once from this machine's Debian
# mirror and cached in $container_cache (no registry is reachable).
container_make_tarball() {
	local mirror root
	container_tarball=$container_cache/bookworm-minbase.tar
	[ -s "$container_tarball" ] && return 0
	mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	[ -n "$mirror" ] || fail "no Debian mirror found in /etc/apt/sources.list.d/debian.sources"
	echo "# making the base with debootstrap (once; cached in $container_cache)"
	mkdir -p "$container_cache" || fail "cannot create $container_cache"
	root=$(mktemp -d "$container_cache/root.XXXXXX") || fail "mktemp in $container_cache"
	if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
		tail -20 "$tmp/debootstrap.log"; rm -rf "$root"; fail "debootstrap failed"
	fi
	tar -C "$root" -cf "$container_tarball.tmp" . && mv "$container_tarball.tmp" "$container_tarball" ||
		fail "tar of the base"
	rm -rf "$root"
}

# The base in podman's store, and one container run from it: what this
# machine's storage driver and runtime can do, before our image is involved.
container_can_run() {
	if ! podman image exists "$container_base" 2>"$tmp/probe.log"; then
		container_make_tarball
		podman import -q - "$container_base" <"$container_tarball" >>"$tmp/probe.log" 2>&1 || return 1
	fi
	timeout 120 podman run --rm --pull=never --network host "$container_base" true >>"$tmp/probe.log" 2>&1
}

# container_ready_base: the base image ready to run, with podman's default
# storage, else the vfs driver (slower, works on an overlay root), else a
# skip naming "container".
container_ready_base() {
	container_can_run && return 0
	echo "# podman's default storage cannot run a container here: $(tail -n 2 "$tmp/probe.log" | tr '\n' ' ')"
	echo "# retrying with the vfs storage driver (slower, works on an overlay root)"
	mkdir -p "$container_cache/vfs-storage" "$container_cache/vfs-run" ||
		fail "cannot create $container_cache/vfs-storage"
	printf '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n' \
		"$container_cache/vfs-storage" "$container_cache/vfs-run" >"$tmp/storage.conf"
	export CONTAINERS_STORAGE_CONF=$tmp/storage.conf
	container_can_run || pp_skip container "nested containers are impossible here (podman with overlay and vfs storage): $(tail -n 3 "$tmp/probe.log" | tr '\n' ' ')"
}

# container_build [podman build options...] CONTEXT: bounded, log kept for
# failures.
container_build() {
	if ! timeout 600 podman build --pull=never --network host --format docker "$@" >"$tmp/build.log" 2>&1; then
		tail -40 "$tmp/build.log"; fail "podman build $*"
	fi
}

# container_image IMAGE: the Dockerfile built as IMAGE; its two package
# stages stay tagged localhost/pingpong-ci-cache:* between runs, so only the
# sources are rebuilt.
container_image() {
	container_build -f "$S/Dockerfile" --target build-deps -t localhost/pingpong-ci-cache:build-deps "$S"
	container_build -f "$S/Dockerfile" --target runtime-deps -t localhost/pingpong-ci-cache:runtime-deps "$S"
	echo "# package stages ready after $SECONDS s"
	container_build -f "$S/Dockerfile" -t "$1" "$S"
	echo "# image built after $SECONDS s"
}

#!/usr/bin/env bash
# tests/deploy/manifests.sh - kubernetes/, both shapes: the exact one
# (kubernetes/, one replica on LMDB) and the fleet (kubernetes/fleet/, an
# overlay on kubernetes/base/: Redis, HPA). yamllint; each kustomization
# lists every file of its folder; check-manifests.mjs renders each shape
# (kustomize.mjs, compared with `kubectl kustomize` when one is installed),
# validates every rendered document against the Kubernetes schemas (npm
# kubernetes-models), checks how the pieces fit and that the store fits the
# replica count; tsc --noEmit over kubernetes-types rejects unknown fields;
# each shape's PINGPONG_* environment is real config keys that pingpong-fcgi
# -t accepts. The npm tools are pinned by tests/deploy/package-lock.json and
# installed with npm ci in a temp dir (Debian bookworm: packages nodejs and
# npm; node 18 runs them). No kubectl needed: bookworm's is 1.20.
. "$PP_SRCDIR/tests/deploy/common.sh"
k=$S/kubernetes
# Every tool up front, with the Debian package that brings it (scripts/packages).
need() { command -v "$1" >/dev/null || fail "$1 missing (Debian package $2)"; }
need yamllint yamllint
need node nodejs
need npm npm
need jq jq

out=$(yamllint -s -c "$S/tests/deploy/yamllint.yml" "$k" 2>&1) || fail "yamllint: $out"
echo "ok   yamllint (kubernetes/, base/, fleet/)"

# listed KUSTOMIZATION PREFIX DIR: every YAML file of DIR but the
# kustomization itself is listed (as PREFIX<file>), and nothing else.
listed() {
	local kz=$1 prefix=$2 dir=$3 l p
	l=$(sed -n 's/^  - //p' "$kz" | grep -v '^\.\./' | sort | tr '\n' ' ')
	p=$(for f in "$dir"/*.yaml; do
		[ "$(basename "$f")" = kustomization.yaml ] || echo "$prefix$(basename "$f")"
	done | sort | tr '\n' ' ')
	[ -n "$p" ] && [ "$l" = "$p" ] || fail "${kz#"$S/"} lists '$l', its folder has '$p'"
}
listed "$k/base/kustomization.yaml" "" "$k/base"
listed "$k/kustomization.yaml" "base/" "$k/base"
listed "$k/fleet/kustomization.yaml" "" "$k/fleet"
grep -vqx "$k/kustomization.yaml" <<< "$(ls "$k"/*.yaml)" && fail "manifests outside base/ in kubernetes/: $(ls "$k"/*.yaml)"
grep -qx '  - \.\./base' "$k/fleet/kustomization.yaml" || fail "kubernetes/fleet is not an overlay on ../base"
echo "ok   each kustomization lists every file of its folder"

mkdir -p "$tmp/npm"
cp "$S/tests/deploy/package.json" "$S/tests/deploy/package-lock.json" "$S/tests/deploy/.npmrc" \
   "$S/tests/deploy/tsconfig.json" "$S/tests/deploy/check-manifests.mjs" "$S/tests/deploy/kustomize.mjs" "$tmp/npm/"
if ! (cd "$tmp/npm" && timeout 300 npm ci --no-audit --no-fund --prefer-offline) > "$tmp/npm.log" 2>&1; then
	tail -20 "$tmp/npm.log"
	# A machine that cannot reach the npm registry (no route, or a TLS
	# proxy whose CA it lacks) cannot fetch the pinned tools: a named skip,
	# which scripts/test fails unless PP_ALLOW_SKIP lists npm-registry.
	grep -qE 'SELF_SIGNED_CERT|UNABLE_TO_(GET|VERIFY)|CERT_|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|ENETUNREACH' "$tmp/npm.log" &&
		pp_skip npm-registry "npm ci cannot reach the npm registry from this machine (see above); the schema checks need its pinned packages"
	fail "npm ci"
fi
(cd "$tmp/npm" && node check-manifests.mjs "$tmp/npm/manifests.ts" "$S/docs/DEPLOY.md" "$k" "$k/fleet") ||
	fail "manifest checks (above)"
if ! out=$(cd "$tmp/npm" && ./node_modules/.bin/tsc -p tsconfig.json 2>&1); then
	fail "unknown or mistyped fields (tsc): $out"
fi
echo "ok   no unknown fields (tsc --noEmit over kubernetes-types)"

# Each shape's environment for pingpong-fcgi (ConfigMap, then the
# container's env): real keys (a typo would be ignored silently, since
# unknown PINGPONG_* names are) and values pingpong-fcgi -t accepts, with
# the secret files stood in for by files of the same kind.
keys=$("$B/pingpong-fcgi" -t -c /dev/null 2>&1 | sed -n 's/^\([a-z_]*\) = .*/\1/p'; echo fail_open)
[ "$(echo "$keys" | wc -l)" -ge 8 ] || fail "could not read the key list from pingpong-fcgi -t: $keys"
head -c 32 /dev/urandom > "$tmp/key-secret" && chmod 0400 "$tmp/key-secret"
printf 'a-password\n' > "$tmp/redis-password"
for shape in kubernetes fleet; do
	jq -r --arg s "$shape" '.[$s] as $d
		| ($d[] | select(.kind == "ConfigMap" and .metadata.name == "pingpong-limits") | .data | to_entries[]
		   | "\(.key)=\(.value)"),
		  ($d[] | select(.kind == "Deployment" and .metadata.name == "pingpong") | .spec.template.spec.containers[]
		   | select(.name == "pingpong") | .env[]? | "\(.name)=\(.value)")' "$tmp/npm/manifests.json" > "$tmp/env.$shape"
	env=()
	while IFS= read -r line; do
		name=${line%%=*}; value=${line#*=}
		case "$name" in
		PINGPONG_*)
			key=$(echo "${name#PINGPONG_}" | tr 'A-Z' 'a-z')
			grep -qx "$key" <<< "$keys" || fail "$shape: $name names no config key"
			case $key in
			key_secret_file) value=$tmp/key-secret ;;
			redis_password_file) value=$tmp/redis-password ;;
			esac
			env+=("$name=$value") ;;
		WORKERS) [[ $value =~ ^[1-9][0-9]*$ ]] || fail "$shape: WORKERS=$value" ;;
		*) fail "$shape: unexpected variable $name" ;;
		esac
	done < "$tmp/env.$shape"
	[ ${#env[@]} -ge 4 ] || fail "$shape: no PINGPONG_* limits found"
	if out=$(env "${env[@]}" PINGPONG_DB_PATH="$tmp/db" "$B/pingpong-fcgi" -t -c /dev/null 2>&1); then
		echo "ok   $shape: pingpong-fcgi -t accepts its environment: $(echo "$out" | head -1)"
	elif [[ $out == *"'redis' is not built into this pingpong-fcgi"* ]]; then
		echo "note $shape: this pingpong-fcgi has no Redis store; its keys are checked, not its values"
	else
		fail "$shape: pingpong-fcgi -t rejects the environment: $out"
	fi
done

# The image and the manifests agree on the user and the ports.
grep -q '^USER 10001:10001$' "$S/Dockerfile" && grep -q 'runAsUser: 10001$' "$k/base/deployment.yaml" ||
	fail "Dockerfile USER and runAsUser differ"
grep -q '^EXPOSE 8080 8081$' "$S/Dockerfile" || fail "Dockerfile EXPOSE is not 8080 8081"
echo "ok: kubernetes/ lints, renders, validates, types and fits together, in both shapes"

#!/usr/bin/env bash
# tests/deploy/manifests.sh - kubernetes/: yamllint; every document valid
# against the Kubernetes schemas (npm kubernetes-models); no unknown field
# (typed with kubernetes-types, tsc --noEmit); the pieces fit together; the
# ConfigMap's PINGPONG_* keys are real config keys that pingpong-fcgi accepts;
# kustomization.yaml lists every manifest. The npm tools are pinned by
# tests/deploy/package-lock.json and installed with npm ci in a temp dir.
. "$PP_SRCDIR/tests/deploy/common.sh"
k=$S/kubernetes
command -v yamllint >/dev/null || fail "yamllint missing (Debian package yamllint)"
command -v npm >/dev/null || fail "npm missing (nodejs from this machine kind, or apt-get install npm)"

out=$(yamllint -s -c "$S/tests/deploy/yamllint.yml" "$k" 2>&1) || fail "yamllint: $out"
echo "ok   yamllint"

manifests=()
for f in "$k"/*.yaml; do [ "$(basename "$f")" = kustomization.yaml ] || manifests+=("$f"); done
[ ${#manifests[@]} -ge 5 ] || fail "expected at least 5 manifests in kubernetes/"
listed=$(sed -n 's/^  - //p' "$k/kustomization.yaml" | sort | tr '\n' ' ')
present=$(for f in "${manifests[@]}"; do basename "$f"; done | sort | tr '\n' ' ')
[ "$listed" = "$present" ] || fail "kustomization.yaml lists '$listed', kubernetes/ has '$present'"

mkdir -p "$tmp/npm"
cp "$S/tests/deploy/package.json" "$S/tests/deploy/package-lock.json" "$S/tests/deploy/.npmrc" \
   "$S/tests/deploy/tsconfig.json" "$S/tests/deploy/check-manifests.mjs" "$tmp/npm/"
if ! (cd "$tmp/npm" && timeout 300 npm ci --no-audit --no-fund --prefer-offline) > "$tmp/npm.log" 2>&1; then
	tail -20 "$tmp/npm.log"; fail "npm ci"
fi
(cd "$tmp/npm" && node check-manifests.mjs "$tmp/npm/manifests.ts" "${manifests[@]}") ||
	fail "manifest checks (above)"
if ! out=$(cd "$tmp/npm" && ./node_modules/.bin/tsc -p tsconfig.json 2>&1); then
	fail "unknown or mistyped fields (tsc): $out"
fi
echo "ok   no unknown fields (tsc --noEmit over kubernetes-types)"

# The ConfigMap's limits: real keys (a typo would be ignored silently, since
# unknown PINGPONG_* names are) and values pingpong-fcgi accepts.
# The key list is pingpong-fcgi -t's (its key table), plus the synonym fail_open.
keys=$("$B/pingpong-fcgi" -t -c /dev/null 2>&1 | sed -n 's/^\([a-z_]*\) = .*/\1/p'; echo fail_open)
env=()
while IFS= read -r line; do
	name=${line%%:*}; value=${line#*: }; value=${value//\"/}
	case "$name" in
	PINGPONG_*)
		key=$(echo "${name#PINGPONG_}" | tr 'A-Z' 'a-z')
		echo "$keys" | grep -qx "$key" || fail "ConfigMap: $name names no config key"
		env+=("$name=$value") ;;
	WORKERS) [[ $value =~ ^[1-9][0-9]*$ ]] || fail "ConfigMap: WORKERS=$value" ;;
	*) fail "ConfigMap: unexpected key $name" ;;
	esac
done < <(sed -n '/^data:/,$ s/^  \([A-Z_]*: .*\)/\1/p' "$k/configmap.yaml")
[ ${#env[@]} -ge 4 ] || fail "ConfigMap: no PINGPONG_* limits found"
out=$(env "${env[@]}" PINGPONG_DB_PATH="$tmp/db" "$B/pingpong-fcgi" -t -c "$B/conf/pingpong.conf" 2>&1) ||
	fail "pingpong-fcgi -t rejects the ConfigMap: $out"
echo "ok   ConfigMap accepted: $out"

# The image and the manifests agree on the user and the ports.
grep -q '^USER 10001:10001$' "$S/Dockerfile" && grep -q 'runAsUser: 10001$' "$k/deployment.yaml" ||
	fail "Dockerfile USER and runAsUser differ"
grep -q '^EXPOSE 8080 8081$' "$S/Dockerfile" || fail "Dockerfile EXPOSE is not 8080 8081"
echo "ok: kubernetes/ lints, validates, types and fits together"

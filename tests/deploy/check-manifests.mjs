// check-manifests.mjs - renders each kustomize shape of kubernetes/
// (kustomize.mjs; compared with `kubectl kustomize` when a kubectl is
// installed), validates every rendered document against the Kubernetes
// OpenAPI schemas (kubernetes-models), and writes a TypeScript file typing
// each one (kubernetes-types) for `tsc --noEmit`, whose excess-property check
// catches fields no schema knows. Then checks what no schema knows: the
// pieces fit together (selectors, port names, ConfigMap name), the Ingress
// routes /ping unchanged, probes and the security context are as
// docs/DEPLOY.md says, and the store fits the replica count: LMDB is per pod
// (one replica, Recreate, no HPA), the fleet is on Redis (replicas >= 2,
// RollingUpdate, an HPA on the Deployment, PDB, secrets from a Secret, a
// NetworkPolicy, a Redis with noeviction and no persistence).
// usage: node check-manifests.mjs OUT.ts DEPLOY.md SHAPE-DIR...
// Writes OUT.ts and OUT.json ({shape: [documents]}).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { parseAllDocuments } from "yaml";
import { canonical, render } from "./kustomize.mjs";

const [out, deployDoc, ...shapes] = process.argv.slice(2);
// apiVersion/kind -> [kubernetes-models module, kubernetes-types module]
const known = {
  "v1/ConfigMap": ["v1/ConfigMap", "core/v1"],
  "v1/Service": ["v1/Service", "core/v1"],
  "apps/v1/Deployment": ["apps/v1/Deployment", "apps/v1"],
  "apps/v1/StatefulSet": ["apps/v1/StatefulSet", "apps/v1"],
  "networking.k8s.io/v1/Ingress": ["networking.k8s.io/v1/Ingress", "networking/v1"],
  "networking.k8s.io/v1/NetworkPolicy": ["networking.k8s.io/v1/NetworkPolicy", "networking/v1"],
  "policy/v1/PodDisruptionBudget": ["policy/v1/PodDisruptionBudget", "policy/v1"],
  "autoscaling/v2/HorizontalPodAutoscaler": ["autoscaling/v2/HorizontalPodAutoscaler", "autoscaling/v2"],
};
let failed = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failed++;
}

// The validator must reject what is wrong, under whatever node runs it.
{
  const { Deployment } = await import("kubernetes-models/apps/v1/Deployment");
  let rejected = false;
  try {
    new Deployment({ metadata: { name: "x" }, spec: { replicas: "two", selector: {}, template: {} } }).validate();
  } catch {
    rejected = true;
  }
  check(rejected, "the schema validator rejects a Deployment with replicas: \"two\"");
}

// A tsc canary: an unknown field must be an error, or @ts-expect-error fails.
const ts = [
  `import type { Deployment as Canary } from "kubernetes-types/apps/v1";\n` +
    `// @ts-expect-error: replica is no field of DeploymentSpec\n` +
    `export const canary: Canary = { spec: { replica: 1, selector: {}, template: {} } };\n`,
];
const rendered = {};
for (const dir of shapes) {
  const shape = basename(dir);
  let docs;
  try {
    docs = render(dir);
  } catch (e) {
    check(false, `${shape}: render: ${e.message}`);
    continue;
  }
  rendered[shape] = docs;
  // The same render as a real kustomize's, when a kubectl is here.
  let theirs = null;
  try {
    const y = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    theirs = parseAllDocuments(y, { version: "1.1" }).map((d) => d.toJS()).filter((d) => d != null);
  } catch (e) {
    console.log(`note ${shape}: no render from kubectl (${e.code === "ENOENT" ? "not installed" : e.message.split("\n")[0]})`);
  }
  if (theirs) check(canonical(docs) === canonical(theirs), `${shape}: kubectl kustomize renders the same documents`);
  for (const doc of docs) {
    const key = `${doc.apiVersion}/${doc.kind}`;
    const where = `${shape}: ${doc.kind}/${doc.metadata?.name}`;
    if (!known[key]) {
      check(false, `${where}: no schema known for ${key}`);
      continue;
    }
    const [model, types] = known[key];
    const mod = await import(`kubernetes-models/${model}`);
    try {
      new mod[doc.kind](doc).validate();
      console.log(`ok   ${where}: schema`);
    } catch (e) {
      check(false, `${where}: ${e.message}`);
    }
    const n = ts.length;
    ts.push(`import type { ${doc.kind} as T${n} } from "kubernetes-types/${types}";\n` +
            `// ${where}\nexport const d${n}: T${n} = ${JSON.stringify(doc, null, 2)};\n`);
  }
}
writeFileSync(out, ts.join("\n"));
writeFileSync(out.replace(/\.ts$/, ".json"), JSON.stringify(rendered));

// --- what no schema knows ----------------------------------------------------
const matches = (sel, labels) => sel && Object.keys(sel).length > 0 &&
  Object.entries(sel).every(([k, v]) => labels?.[k] === v);
const workloads = (docs) => docs.filter((d) => d.kind === "Deployment" || d.kind === "StatefulSet");
// The environment a container sees: its ConfigMaps (envFrom), then env.
function envOf(docs, c) {
  const env = {};
  for (const ref of c.envFrom || []) {
    const cm = docs.find((d) => d.kind === "ConfigMap" && d.metadata.name === ref.configMapRef?.name);
    Object.assign(env, cm?.data || {});
  }
  for (const e of c.env || []) env[e.name] = e.value ?? (e.valueFrom ? "(from a reference)" : "");
  return env;
}
const isPingpong = (c) => /^pingpong(:|@|$)/.test(c.image.split("/").pop());
const storeOf = (docs, c) => (envOf(docs, c).PINGPONG_STORE || "lmdb").toLowerCase();

const secretCommands = [...readFileSync(deployDoc, "utf8").matchAll(/kubectl create secret generic ([a-z0-9-]+)([^`]*?)(?:\n\n|```)/g)];

for (const [shape, docs] of Object.entries(rendered)) {
  const one = (kind, name) => docs.filter((d) => d.kind === kind && (!name || d.metadata.name === name));
  const [dep] = one("Deployment", "pingpong"), [svc] = one("Service", "pingpong"), [ing] = one("Ingress");
  const [pdb] = one("PodDisruptionBudget"), [cm] = one("ConfigMap", "pingpong-limits");
  check(dep && svc && ing && pdb && cm, `${shape}: the pingpong Deployment, Service, Ingress, PDB and ConfigMap`);
  if (!(dep && svc && ing && pdb && cm)) continue;
  const pod = dep.spec.template;
  const c = pod.spec.containers.find((x) => x.name === "pingpong");
  const labels = pod.metadata.labels;
  const portNames = c.ports.map((p) => p.name);
  check(matches(dep.spec.selector.matchLabels, labels), `${shape}: Deployment selector matches its pod labels`);
  check(matches(svc.spec.selector, labels), `${shape}: Service selector matches the pod labels`);
  check(matches(pdb.spec.selector.matchLabels, labels), `${shape}: PDB selector matches the pod labels`);
  check(svc.spec.ports.every((p) => portNames.includes(p.targetPort)), `${shape}: Service targetPorts are container ports`);
  const cmRef = (c.envFrom || []).map((e) => e.configMapRef?.name);
  check(cmRef.includes(cm.metadata.name), `${shape}: the container takes its limits from the ConfigMap`);
  const probe = (p) => p?.httpGet && `${p.httpGet.path}@${p.httpGet.port}`;
  check(probe(c.livenessProbe) === "/healthz@ops", `${shape}: liveness probe: /healthz on the ops port`);
  check(probe(c.readinessProbe) === "/readyz@ops", `${shape}: readiness probe: /readyz on the ops port`);
  for (const w of workloads(docs)) {
    for (const x of [...(w.spec.template.spec.initContainers || []), ...w.spec.template.spec.containers]) {
      const where = `${shape}: ${w.metadata.name}/${x.name}`;
      check(x.resources?.requests?.cpu && x.resources?.limits?.memory, `${where}: resources set`);
      check(w.spec.template.spec.securityContext?.runAsNonRoot === true &&
            x.securityContext?.readOnlyRootFilesystem === true &&
            x.securityContext?.allowPrivilegeEscalation === false,
            `${where}: non-root, read-only root, no privilege escalation`);
    }
  }
  const mount = (path) => c.volumeMounts.find((m) => m.mountPath === path);
  const vol = (m) => m && pod.spec.volumes.find((v) => v.name === m.name);
  check(vol(mount("/var/lib/pingpong"))?.emptyDir !== undefined, `${shape}: db_path on an emptyDir at /var/lib/pingpong`);
  check(vol(mount("/run/pingpong"))?.emptyDir !== undefined, `${shape}: writable /run/pingpong for nginx and the socket`);
  const paths = ing.spec.rules.flatMap((r) => r.http.paths);
  check(paths.length > 0 && paths.every((p) => p.path === "/ping" && p.pathType === "Exact"),
        `${shape}: the Ingress routes exactly /ping`);
  check(paths.every((p) => p.backend.service.name === svc.metadata.name &&
        svc.spec.ports.some((sp) => sp.name === p.backend.service.port.name && sp.targetPort === "http")),
        `${shape}: the Ingress points at the Service's http port`);
  const annotations = Object.keys(ing.metadata.annotations || {});
  check(!annotations.some((a) => /rewrite|app-root|configuration-snippet/.test(a)),
        `${shape}: no rewrite annotations: /ping reaches the pod unchanged`);
  check(one("Secret").length === 0, `${shape}: no Secret in the manifests (made with kubectl create secret)`);

  // The store decides the shape. Every pingpong container of every workload.
  const hpas = one("HorizontalPodAutoscaler");
  const stores = new Set();
  for (const w of workloads(docs)) {
    for (const x of w.spec.template.spec.containers.filter(isPingpong)) {
      const store = storeOf(docs, x);
      stores.add(store);
      const scaled = hpas.some((h) => h.spec.scaleTargetRef.name === w.metadata.name && h.spec.scaleTargetRef.kind === w.kind);
      if (store === "lmdb") {
        check(w.spec.replicas === 1 && !scaled,
              `${shape}: ${w.metadata.name} on LMDB has one replica and no HPA (LMDB is per pod)`);
        check(w.spec.strategy?.type === "Recreate", `${shape}: ${w.metadata.name} on LMDB: Recreate, never two pods counting separately`);
      } else {
        check(store === "redis", `${shape}: ${w.metadata.name}: store ${store} (lmdb or redis)`);
      }
    }
  }
  if (!stores.has("redis")) continue;

  // --- the fleet ---------------------------------------------------------------
  check(stores.size === 1, `${shape}: every pingpong pod on the Redis store`);
  check(dep.spec.replicas >= 2, `${shape}: replicas >= 2 (${dep.spec.replicas})`);
  check(dep.spec.strategy?.type === "RollingUpdate" && dep.spec.strategy.rollingUpdate?.maxUnavailable === 0,
        `${shape}: RollingUpdate, no pod down before its successor is ready`);
  const [hpa] = hpas;
  check(hpas.length === 1 && hpa.apiVersion === "autoscaling/v2", `${shape}: one autoscaling/v2 HPA`);
  if (hpa) {
    const t = hpa.spec.scaleTargetRef;
    check(t.apiVersion === "apps/v1" && t.kind === "Deployment" && t.name === dep.metadata.name,
          `${shape}: the HPA targets the pingpong Deployment`);
    check(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas >= hpa.spec.minReplicas &&
          dep.spec.replicas >= hpa.spec.minReplicas && dep.spec.replicas <= hpa.spec.maxReplicas,
          `${shape}: HPA ${hpa.spec.minReplicas}..${hpa.spec.maxReplicas} around replicas ${dep.spec.replicas}`);
    check((hpa.spec.metrics || []).every((m) => m.type !== "Resource" ||
          c.resources?.requests?.[m.resource.name]), `${shape}: the HPA's resources have requests to scale on`);
  }
  check(pdb.spec.maxUnavailable === 1 && pdb.spec.minAvailable === undefined,
        `${shape}: the PDB lets one pod go at a time`);

  // Secrets: the key secret and the Redis password come from a Secret volume,
  // directly or copied by an init container from its mount.
  const env = envOf(docs, c);
  const secretVolumes = new Map(pod.spec.volumes.filter((v) => v.secret).map((v) => [v.name, v.secret]));
  const fromSecret = (path, x) => (x.volumeMounts || []).some((m) => secretVolumes.has(m.name) &&
    path.startsWith(`${m.mountPath}/`));
  const copiedFromSecret = (path) => (pod.spec.initContainers || []).some((ic) => {
    const cmd = [...(ic.command || []), ...(ic.args || [])];
    return cmd[cmd.length - 1] === path && fromSecret(cmd[cmd.length - 2] || "", ic);
  });
  const onMount = (path) => c.volumeMounts.some((m) => path.startsWith(`${m.mountPath}/`));
  for (const name of ["PINGPONG_KEY_SECRET_FILE", "PINGPONG_REDIS_PASSWORD_FILE"]) {
    const p = env[name] || "";
    check(p.startsWith("/") && onMount(p) && (fromSecret(p, c) || copiedFromSecret(p)),
          `${shape}: ${name}=${p} is a file from the Secret`);
  }
  check(!("PINGPONG_REDIS_PASSWORD" in env) && !("PINGPONG_KEY_SECRET" in env), `${shape}: no secret in plain env`);
  const usedSecrets = new Set([...secretVolumes.values()].map((s) => s.secretName));
  for (const w of workloads(docs)) {
    for (const x of w.spec.template.spec.containers) {
      for (const e of x.env || []) if (e.valueFrom?.secretKeyRef) usedSecrets.add(e.valueFrom.secretKeyRef.name);
    }
  }
  for (const s of usedSecrets) {
    const cmd = secretCommands.find((m) => m[1] === s);
    const keys = [...secretVolumes.values()].filter((v) => v.secretName === s).flatMap((v) => (v.items || []).map((i) => i.key));
    check(cmd && keys.every((k) => cmd[2].includes(k)),
          `${shape}: docs/DEPLOY.md creates Secret ${s} with the keys ${keys.join(", ")}`);
  }

  // Redis: the URL's host is a Service of the render selecting a Redis pod,
  // which runs noeviction without persistence; the NetworkPolicy admits the
  // pingpong pods only.
  const url = /^redis:\/\/(?:[^@/]*@)?([a-z0-9.-]+):(\d+)/.exec(env.PINGPONG_REDIS_URL || "");
  check(url, `${shape}: PINGPONG_REDIS_URL is a redis:// URL (${env.PINGPONG_REDIS_URL})`);
  const rsvc = url && one("Service", url[1].split(".")[0])[0];
  check(rsvc, `${shape}: a Service for the Redis of PINGPONG_REDIS_URL (${url?.[1]})`);
  if (!rsvc) continue;
  const rwork = workloads(docs).find((w) => matches(rsvc.spec.selector, w.spec.template.metadata.labels));
  check(rwork, `${shape}: Service ${rsvc.metadata.name} selects a Redis workload`);
  if (!rwork) continue;
  const rpod = rwork.spec.template;
  const rc = rpod.spec.containers[0];
  const rport = rsvc.spec.ports.find((p) => String(p.port) === url[2]);
  const cport = rport && rc.ports.find((p) => p.name === rport.targetPort || p.containerPort === rport.targetPort);
  check(cport, `${shape}: the URL's port ${url[2]} reaches the Redis container`);
  const args = (rc.args || []).join(" ");
  check(/--maxmemory-policy noeviction\b/.test(args), `${shape}: Redis runs with maxmemory-policy noeviction`);
  check((rc.args || []).some((a, i) => a === "--save" && rc.args[i + 1] === ""),
        `${shape}: Redis keeps no RDB snapshots (--save "")`);
  check(/--appendonly no\b/.test(args), `${shape}: Redis keeps no AOF (--appendonly no)`);
  check(!(rpod.spec.volumes || []).some((v) => v.persistentVolumeClaim) && !(rwork.spec.volumeClaimTemplates || []).length,
        `${shape}: no persistent volume for Redis`);
  check(/requirepass/.test(args), `${shape}: Redis requires the password`);
  const nps = one("NetworkPolicy").filter((np) => matches(np.spec.podSelector.matchLabels, rpod.metadata.labels));
  check(nps.length > 0, `${shape}: a NetworkPolicy selects the Redis pods`);
  check(nps.length > 0 && nps.every((np) => (np.spec.policyTypes || []).includes("Ingress") &&
        (np.spec.ingress || []).length > 0 &&
        np.spec.ingress.every((r) => (r.from || []).length > 0 &&
          r.from.every((f) => f.podSelector && !f.namespaceSelector && !f.ipBlock && matches(f.podSelector.matchLabels, labels)) &&
          (r.ports || []).length > 0 && r.ports.every((p) => p.port === cport?.containerPort || p.port === cport?.name))),
        `${shape}: Redis accepts connections from the pingpong pods only, on its port`);
}
// Across the shapes: none has more than one replica (or an HPA) on LMDB,
// and the fleet exists.
check(Object.values(rendered).some((docs) => docs.some((d) => d.kind === "HorizontalPodAutoscaler")),
      "a shape with an HPA (the fleet) was checked");
process.exit(failed ? 1 : 0);

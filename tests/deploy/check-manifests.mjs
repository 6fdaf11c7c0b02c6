// check-manifests.mjs - validates every document in the given YAML files
// against the Kubernetes OpenAPI schemas (kubernetes-models), and writes a
// TypeScript file typing each one (kubernetes-types) for `tsc --noEmit`,
// whose excess-property check catches fields no schema knows.
// Then checks what no schema knows: the pieces fit together (selectors,
// port names, ConfigMap name), the Ingress routes /ping unchanged, probes
// and the security context are as docs/DEPLOY.md says.
// usage: node check-manifests.mjs OUT.ts FILE.yaml...
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { parseAllDocuments } from "yaml";

const [out, ...files] = process.argv.slice(2);
// apiVersion/kind -> [kubernetes-models module, kubernetes-types module]
const known = {
  "v1/ConfigMap": ["v1/ConfigMap", "core/v1"],
  "v1/Service": ["v1/Service", "core/v1"],
  "apps/v1/Deployment": ["apps/v1/Deployment", "apps/v1"],
  "networking.k8s.io/v1/Ingress": ["networking.k8s.io/v1/Ingress", "networking/v1"],
  "policy/v1/PodDisruptionBudget": ["policy/v1/PodDisruptionBudget", "policy/v1"],
};
let failed = 0;
const ts = [];
const docs = [];
for (const file of files) {
  for (const d of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (d.errors.length) {
      console.log(`FAIL ${file}: ${d.errors.map((e) => e.message).join("; ")}`);
      failed++;
      continue;
    }
    const doc = d.toJS();
    if (doc === null) continue;
    const id = `${doc.apiVersion}/${doc.kind}`;
    const where = `${basename(file)} ${doc.kind}/${doc.metadata?.name}`;
    if (!known[id]) {
      console.log(`FAIL ${where}: no schema known for ${id}`);
      failed++;
      continue;
    }
    const [model, types] = known[id];
    const mod = await import(`kubernetes-models/${model}`);
    try {
      new mod[doc.kind](doc).validate();
      console.log(`ok   ${where}: schema`);
    } catch (e) {
      console.log(`FAIL ${where}: ${e.message}`);
      failed++;
    }
    const n = ts.length;
    ts.push(`import type { ${doc.kind} as T${n} } from "kubernetes-types/${types}";\n` +
            `// ${where}\nexport const d${n}: T${n} = ${JSON.stringify(doc, null, 2)};\n`);
    docs.push(doc);
  }
}
writeFileSync(out, ts.join("\n"));
writeFileSync(out.replace(/\.ts$/, ".json"), JSON.stringify(docs));

function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failed++;
}
const one = (kind) => docs.filter((d) => d.kind === kind);
const [dep] = one("Deployment"), [svc] = one("Service"), [ing] = one("Ingress");
const [pdb] = one("PodDisruptionBudget"), [cm] = one("ConfigMap");
check(dep && svc && ing && pdb && cm, "one each of Deployment, Service, Ingress, PDB, ConfigMap");
if (dep && svc && ing && pdb && cm) {
  const pod = dep.spec.template;
  const c = pod.spec.containers[0];
  const labels = pod.metadata.labels;
  const matches = (sel) => sel && Object.entries(sel).every(([k, v]) => labels[k] === v);
  const portNames = c.ports.map((p) => p.name);
  check(dep.spec.replicas === 1, "one replica: LMDB is per pod, so only one enforces the limits exactly");
  check(dep.spec.strategy?.type === "Recreate", "Recreate: never two pods counting separately");
  check(matches(dep.spec.selector.matchLabels), "Deployment selector matches its pod labels");
  check(matches(svc.spec.selector), "Service selector matches the pod labels");
  check(matches(pdb.spec.selector.matchLabels), "PDB selector matches the pod labels");
  check(svc.spec.ports.every((p) => portNames.includes(p.targetPort)), "Service targetPorts are container ports");
  const cmRef = (c.envFrom || []).map((e) => e.configMapRef?.name);
  check(cmRef.includes(cm.metadata.name), "the container takes its limits from the ConfigMap");
  const probe = (p) => p?.httpGet && `${p.httpGet.path}@${p.httpGet.port}`;
  check(probe(c.livenessProbe) === "/healthz@ops", "liveness probe: /healthz on the ops port");
  check(probe(c.readinessProbe) === "/readyz@ops", "readiness probe: /readyz on the ops port");
  check(c.resources?.requests?.cpu && c.resources?.limits?.memory, "resources set");
  check(pod.spec.securityContext?.runAsNonRoot === true && c.securityContext?.readOnlyRootFilesystem === true &&
        c.securityContext?.allowPrivilegeEscalation === false, "non-root, read-only root, no privilege escalation");
  const mount = (path) => c.volumeMounts.find((m) => m.mountPath === path);
  const vol = (m) => m && pod.spec.volumes.find((v) => v.name === m.name);
  check(vol(mount("/var/lib/pingpong"))?.emptyDir !== undefined, "LMDB on an emptyDir at /var/lib/pingpong");
  check(vol(mount("/run/pingpong"))?.emptyDir !== undefined, "writable /run/pingpong for nginx and the socket");
  const paths = ing.spec.rules.flatMap((r) => r.http.paths);
  check(paths.length > 0 && paths.every((p) => p.path === "/ping" && p.pathType === "Exact"),
        "the Ingress routes exactly /ping");
  check(paths.every((p) => p.backend.service.name === svc.metadata.name &&
        svc.spec.ports.some((sp) => sp.name === p.backend.service.port.name && sp.targetPort === "http")),
        "the Ingress points at the Service's http port");
  const annotations = Object.keys(ing.metadata.annotations || {});
  check(!annotations.some((a) => /rewrite|app-root|configuration-snippet/.test(a)),
        "no rewrite annotations: /ping reaches the pod unchanged");
}
process.exit(failed ? 1 : 0);

// kustomize.mjs - renders a kustomization directory the way `kubectl
// kustomize` does, for the subset kubernetes/ uses (resources, bases,
// patchesStrategicMerge: kustomize v2's fields, which Debian bookworm's
// kubectl 1.20 knows too), so make check needs no kubectl. Anything else in
// a kustomization.yaml is an error here rather than a silent difference;
// check-manifests.mjs compares this render with a real kubectl's when one is
// installed.
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

const FIELDS = new Set(["apiVersion", "kind", "resources", "bases", "patchesStrategicMerge"]);

// The strategic-merge keys of the lists kubernetes/ patches (the Kubernetes
// API's patchMergeKey); other lists of objects are refused below.
const MERGE_KEYS = {
  containers: "name",
  initContainers: "name",
  env: "name",
  volumes: "name",
  volumeMounts: "mountPath",
  topologySpreadConstraints: "topologyKey",
};

// YAML as Kubernetes reads it (YAML 1.1 would read 0440 as octal: the
// manifests avoid leading zeros, and the 1.1 schema is used here as well).
export function readDocs(file) {
  const out = [];
  for (const d of parseAllDocuments(readFileSync(file, "utf8"), { version: "1.1" })) {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
    const doc = d.toJS();
    if (doc !== null && doc !== undefined) out.push(doc);
  }
  return out;
}

const isMap = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const clone = (v) => (v === undefined ? v : JSON.parse(JSON.stringify(v)));
const id = (d) => `${d.kind}/${d.metadata?.name}`;

function merge(base, patch, where) {
  if (isMap(patch) && isMap(base)) {
    if (patch.$patch === "replace") {
      const r = clone(patch);
      delete r.$patch;
      return r;
    }
    const r = clone(base);
    for (const [k, v] of Object.entries(patch)) {
      if (k.startsWith("$")) throw new Error(`${where}: directive ${k} not supported by this renderer`);
      if (v === null) delete r[k];
      else r[k] = k in r ? merge(r[k], v, `${where}.${k}`) : clone(v);
    }
    return r;
  }
  if (Array.isArray(patch) && Array.isArray(base)) {
    const field = where.split(".").pop();
    const key = MERGE_KEYS[field];
    if (!key) {
      if (patch.some(isMap) || base.some(isMap))
        throw new Error(`${where}: no merge key known for a list of objects`);
      return clone(patch); // scalars: the patch replaces the list
    }
    const r = clone(base);
    const added = [];
    for (const item of patch) {
      const at = r.findIndex((b) => b[key] === item[key]);
      if (item.$patch === "delete") {
        if (at >= 0) r.splice(at, 1);
      } else if (at >= 0) {
        r[at] = merge(r[at], item, `${where}[${item[key]}]`);
      } else {
        added.push(clone(item));
      }
    }
    return [...added, ...r]; // as kustomize: new items first
  }
  return clone(patch);
}

export function render(dir) {
  dir = resolve(dir);
  const [k] = readDocs(join(dir, "kustomization.yaml"));
  for (const f of Object.keys(k)) {
    if (!FIELDS.has(f)) throw new Error(`${dir}/kustomization.yaml: field ${f} not supported by this renderer`);
  }
  const docs = [];
  const add = (d, from) => {
    if (docs.some((o) => id(o) === id(d))) throw new Error(`${from}: ${id(d)} defined twice`);
    docs.push(d);
  };
  for (const b of k.bases || []) for (const d of render(join(dir, b))) add(d, b);
  for (const r of k.resources || []) {
    const p = join(dir, r);
    if (statSync(p).isDirectory()) for (const d of render(p)) add(d, r);
    else for (const d of readDocs(p)) add(d, r);
  }
  for (const p of k.patchesStrategicMerge || []) {
    for (const patch of readDocs(join(dir, p))) {
      const at = docs.findIndex((d) => id(d) === id(patch) && d.apiVersion === patch.apiVersion);
      if (at < 0) throw new Error(`${p}: patch target ${id(patch)} not found`);
      docs[at] = merge(docs[at], patch, id(patch));
    }
  }
  return docs;
}

// A form two renders of the same thing share: documents by kind/name,
// keys sorted, lists with a merge key sorted by it (their order means
// nothing to Kubernetes, and kustomize versions order them differently).
export function canonical(docs) {
  const norm = (v, field) => {
    if (Array.isArray(v)) {
      const key = MERGE_KEYS[field];
      const items = v.map((x) => norm(x));
      if (key) items.sort((a, b) => String(a[key]).localeCompare(String(b[key])));
      return items;
    }
    if (isMap(v)) {
      const r = {};
      for (const k of Object.keys(v).sort()) r[k] = norm(v[k], k);
      return r;
    }
    return v;
  };
  return JSON.stringify(docs.map((d) => norm(d)).sort((a, b) => id(a).localeCompare(id(b))));
}

// node kustomize.mjs DIR: the render as JSON.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(render(process.argv[2]), null, 2));
}

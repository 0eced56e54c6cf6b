// Validates Kubernetes manifests (the multi-document YAML that `kubectl kustomize` renders)
// against the upstream OpenAPI schemas, with kubernetes-models (compiled from the Kubernetes
// OpenAPI document) and @kubernetes-models/prometheus-operator (from the operator's CRDs).
//   node validate.mjs RENDERED.yaml [--json OUT.json]
// Prints one line per object and exits 0 when every object is valid; 1 when any is not (each
// error with its object and JSON path), or when an object's apiVersion/kind has no schema here
// (never skipped); 2 on bad usage or unreadable YAML. --json writes the objects as a JSON array
// for further checks (tests/deploy/manifests_test.cpp).
import { readFileSync, writeFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// apiVersion group -> the package that models it. The core group ("v1") has no group part.
const packages = {
  "": "kubernetes-models",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};
const builtinGroups = new Set([
  "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
  "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
]);

async function modelFor(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  let spec;
  if (group === "") spec = `kubernetes-models/${version}`;
  else if (builtinGroups.has(group)) spec = `kubernetes-models/${group}/${version}`;
  else if (packages[group]) spec = `${packages[group]}/${group}/${version}`;
  else return null;
  try {
    const mod = await import(spec);
    return mod[kind] ?? null;
  } catch {
    return null;
  }
}

const args = process.argv.slice(2);
const jsonAt = args.indexOf("--json");
const jsonOut = jsonAt >= 0 ? args[jsonAt + 1] : null;
const file = args.find((a, i) => jsonAt < 0 || (i !== jsonAt && i !== jsonAt + 1));
if (!file || (jsonAt >= 0 && !jsonOut)) {
  console.error("usage: node validate.mjs RENDERED.yaml [--json OUT.json]");
  process.exit(2);
}
const docs = parseAllDocuments(readFileSync(file, "utf8"));
const objects = [];
for (const d of docs) {
  if (d.errors.length) {
    console.error(`${file}: YAML error: ${d.errors[0].message}`);
    process.exit(2);
  }
  const o = d.toJS();
  if (o !== null && o !== undefined) objects.push(o);
}
let failed = 0;
for (const o of objects) {
  const id = `${o.apiVersion}/${o.kind} ${o.metadata?.namespace ? o.metadata.namespace + "/" : ""}${o.metadata?.name}`;
  const Model = o.apiVersion && o.kind ? await modelFor(o.apiVersion, o.kind) : null;
  if (!Model) {
    console.log(`INVALID ${id}: no schema for apiVersion ${o.apiVersion}, kind ${o.kind}`);
    ++failed;
    continue;
  }
  try {
    new Model(o).validate();
    console.log(`ok ${id}`);
  } catch (e) {
    console.log(`INVALID ${id}: ${e.message}`);
    ++failed;
  }
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(objects, null, 1));
console.log(`${objects.length - failed} valid, ${failed} invalid`);
process.exit(failed === 0 && objects.length > 0 ? 0 : 1);

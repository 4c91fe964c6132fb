// Validates Kubernetes manifests against the API's schemas, strictly: kubernetes-models checks types,
// required fields and enums; the models of @kubernetes/client-node give every object's known fields, so a
// misspelt or misplaced field fails too (the API server would drop it silently). Kustomization files are
// checked for the files they name. Usage: node validate.mjs DIR... ; prints one line per object, exits 1
// on any problem.
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { join, dirname, relative } from "node:path";
import { parseAllDocuments } from "yaml";
import * as client from "@kubernetes/client-node";

const problems = [];
let checked = 0;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

function modelFor(apiVersion, kind) {
  const version = apiVersion.split("/").pop();
  const name = version.charAt(0).toUpperCase() + version.slice(1) + kind;
  return client[name]?.getAttributeTypeMap ? client[name] : null;
}

// Unknown fields, recursively, from the client's attribute maps.
function strict(value, type, path) {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return problems.push(`${path}: expected a list`);
    value.forEach((item, i) => strict(item, array[1], `${path}[${i}]`));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    for (const [key, item] of Object.entries(value)) strict(item, map[1], `${path}.${key}`);
    return;
  }
  const model = client[type];
  if (!model?.getAttributeTypeMap || typeof value !== "object") return;
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [key, item] of Object.entries(value)) {
    if (!fields.has(key)) problems.push(`${path}: unknown field '${key}' (${type})`);
    else strict(item, fields.get(key), `${path}.${key}`);
  }
}

function checkKustomization(file, doc) {
  const known = new Set(["apiVersion", "kind", "namespace", "namePrefix", "nameSuffix", "resources", "components",
    "patches", "configMapGenerator", "secretGenerator", "generatorOptions", "labels", "commonLabels",
    "commonAnnotations", "images", "replicas"]);
  for (const key of Object.keys(doc)) if (!known.has(key)) problems.push(`${file}: unknown kustomization field '${key}'`);
  for (const resource of [...(doc.resources ?? []), ...(doc.components ?? [])]) {
    const path = join(dirname(file), resource);
    if (!existsSync(path)) problems.push(`${file}: resource '${resource}' does not exist`);
    else if (statSync(path).isDirectory() && !existsSync(join(path, "kustomization.yaml"))) problems.push(`${file}: '${resource}' has no kustomization.yaml`);
  }
  for (const patch of doc.patches ?? []) {
    if (patch.path && !existsSync(join(dirname(file), patch.path))) problems.push(`${file}: patch '${patch.path}' does not exist`);
  }
  for (const generator of doc.configMapGenerator ?? []) {
    for (const entry of generator.files ?? []) {
      const source = entry.includes("=") ? entry.split("=")[1] : entry;
      if (!existsSync(join(dirname(file), source))) problems.push(`${file}: configMapGenerator file '${source}' does not exist`);
    }
  }
}

for (const root of process.argv.slice(2)) {
  for (const file of files(root)) {
    const shown = relative(process.cwd(), file);
    const docs = parseAllDocuments(readFileSync(file, "utf8"));
    for (const parsed of docs) {
      if (parsed.errors.length > 0) { problems.push(`${shown}: ${parsed.errors[0].message}`); continue; }
      const doc = parsed.toJS();
      if (doc === null) continue;
      if (doc.kind === "Kustomization") { checkKustomization(file, doc); checked++; console.log(`checked ${shown} Kustomization`); continue; }
      // A patch file holds a partial object: only its fields are checked, not required ones.
      const isPatch = /(^|\/)patches\//.test(file);
      const { apiVersion, kind } = doc;
      if (!apiVersion || !kind) { problems.push(`${shown}: no apiVersion/kind`); continue; }
      const model = modelFor(apiVersion, kind);
      if (!model) { problems.push(`${shown}: unknown ${apiVersion} ${kind}`); continue; }
      const before = problems.length;
      strict(doc, model.name, `${shown} ${kind}/${doc.metadata?.name}`);
      if (!isPatch) {
        const modulePath = apiVersion.includes("/") ? `kubernetes-models/${apiVersion}/${kind}` : `kubernetes-models/v1/${kind}`;
        try {
          const module = await import(modulePath);
          new module[kind](doc).validate();
        } catch (e) {
          problems.push(`${shown} ${kind}/${doc.metadata?.name}: ${e.message.split("\n").slice(0, 3).join(" ")}`);
        }
      }
      checked++;
      if (problems.length === before) console.log(`checked ${shown} ${kind}/${doc.metadata?.name}${isPatch ? " (patch)" : ""}`);
    }
  }
}

for (const problem of problems) console.log(`PROBLEM ${problem}`);
console.log(`${checked} objects checked, ${problems.length} problems`);
process.exit(problems.length === 0 && checked > 0 ? 0 : 1);

// Validates rendered Kubernetes manifests (multi-document YAML) offline
// against the API schemas shipped in the npm packages kubernetes-models
// (core/apps/policy/autoscaling/networking...), @kubernetes-models/cert-manager
// and @kubernetes-models/prometheus-operator (their CRDs' OpenAPI schemas):
// types, required fields, enums and formats. On top, unknown fields are
// errors (like `kubectl --validate=strict`): the field names allowed at each
// level are read from the packages' type declarations, because the OpenAPI
// schemas themselves do not forbid extra properties.
//
// Usage: node validate_manifests.mjs MODULES_DIR FILE...
// Exit 0 when every object is valid; 1 with one line per error otherwise.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modulesDir, ...files] = process.argv.slice(2);
if (!modulesDir || files.length === 0) {
  console.error("usage: validate_manifests.mjs MODULES_DIR FILE...");
  process.exit(2);
}
const yaml = (await import(pathToFileURL(path.join(modulesDir, "js-yaml/index.js")))).default;

// apiVersion group → package folder holding GROUP/VERSION/Kind.js.
function modelFile(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  let base;
  if (group === "cert-manager.io") {
    base = path.join(modulesDir, "@kubernetes-models/cert-manager/cert-manager.io");
  } else if (group === "monitoring.coreos.com") {
    base = path.join(modulesDir, "@kubernetes-models/prometheus-operator/monitoring.coreos.com");
  } else {
    base = path.join(modulesDir, "kubernetes-models", group);
  }
  return path.join(base, version, `${kind}.js`);
}

// ---- Unknown-field check from the .d.ts declarations ----
// A declaration file has `import { IName } from "./File.js";` lines and
// `export interface IName { "field"?: Type; ... }` blocks.
const declCache = new Map();
function readDecl(file) {
  if (declCache.has(file)) return declCache.get(file);
  let text = "";
  try {
    text = fs.readFileSync(file.replace(/\.js$/, ".d.ts"), "utf8");
  } catch {
    declCache.set(file, null);
    return null;
  }
  text = text.replace(/\/\*[\s\S]*?\*\//g, "");
  const imports = new Map();
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
      const alias = name.split(/\s+as\s+/);
      imports.set(alias[alias.length - 1], m[2]);
    }
  }
  const interfaces = new Map();
  for (const m of text.matchAll(/export interface (\w+)(?:\s+extends\s+[^{]+)?\s*\{/g)) {
    const open = m.index + m[0].length - 1;
    interfaces.set(m[1], parseFields(text.slice(open + 1, matchingBrace(text, open))));
  }
  // An interface that only `extends` another lists no fields itself; its
  // class (`class IssuerSpec ... implements IIssuerSpec`) lists them all.
  for (const m of text.matchAll(/export declare class \w+[^{]*implements (\w+)\s*\{/g)) {
    const open = m.index + m[0].length - 1;
    const fields = parseFields(text.slice(open + 1, matchingBrace(text, open)));
    interfaces.set(m[1], new Map([...(interfaces.get(m[1]) ?? []), ...fields]));
  }
  // `export type { IDeploymentSpec as IIoK8sApiAppsV1DeploymentSpec }`
  for (const m of text.matchAll(/export type \{([^}]*)\}/g)) {
    for (const entry of m[1].split(",")) {
      const [local, exported] = entry.trim().split(/\s+as\s+/);
      if (exported && interfaces.has(local)) interfaces.set(exported, interfaces.get(local));
    }
  }
  const decl = { file, imports, interfaces };
  declCache.set(file, decl);
  return decl;
}

// Resolves a type name used in `decl` to [declaration, interface fields].
function resolveType(decl, name) {
  if (decl.interfaces.has(name)) return [decl, decl.interfaces.get(name)];
  const from = decl.imports.get(name);
  if (!from) return null;
  let target;
  if (from.startsWith(".")) {
    target = path.resolve(path.dirname(decl.file), from);
  } else {
    // "@kubernetes-models/apimachinery/_definitions/X" style package paths.
    target = path.join(modulesDir, from);
  }
  if (!target.endsWith(".js")) target += ".js";
  const other = readDecl(target);
  if (!other) return null;
  if (other.interfaces.has(name)) return [other, other.interfaces.get(name)];
  // Re-exported under another name: follow one level.
  for (const [n, f] of other.interfaces) if (n === name) return [other, f];
  const deeper = other.imports.has(name) ? resolveType(other, name) : null;
  return deeper;
}

function checkFields(decl, typeText, value, where, errors) {
  if (value === null || value === undefined || !decl) return;
  typeText = typeText.trim();
  let m;
  if ((m = typeText.match(/^Array<([\s\S]+)>$/))) {
    if (Array.isArray(value)) value.forEach((v, i) => checkFields(decl, m[1], v, `${where}[${i}]`, errors));
    return;
  }
  if ((m = typeText.match(/^\{\s*\[\w+:\s*string\]:\s*([\s\S]+?);?\s*\}$/))) {
    if (typeof value === "object") for (const [k, v] of Object.entries(value)) checkFields(decl, m[1], v, `${where}.${k}`, errors);
    return;
  }
  if (typeText.startsWith("{")) {
    // An inline object type: check its fields.
    const fields = parseFields(typeText.slice(1, matchingBrace(typeText, 0)));
    if (typeof value === "object" && !Array.isArray(value)) checkObject(decl, fields, value, where, errors);
    return;
  }
  if (!/^I\w+$/.test(typeText)) return;  // primitives, unions, unknown
  const resolved = resolveType(decl, typeText);
  if (!resolved || typeof value !== "object" || Array.isArray(value)) return;
  checkObject(resolved[0], resolved[1], value, where, errors);
}

// Index of the bracket closing the one at `open`.
function matchingBrace(text, open) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "{" || c === "<" || c === "(" || c === "[") depth++;
    else if (c === "}" || c === ">" || c === ")" || c === "]") {
      if (--depth === 0) return i;
    }
  }
  return text.length;
}

// `"name"?: Type; ...` (an interface or inline object body) → Map name → Type.
function parseFields(body) {
  const fields = new Map();
  let depth = 0, start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === "{" || c === "<" || c === "(" || c === "[") depth++;
    else if (c === "}" || c === ">" || c === ")" || c === "]") depth--;
    if (depth === 0 && c === ";") {
      const f = body.slice(start, i).trim().match(/^"?([\w$@.\/-]+)"?\??\s*:\s*([\s\S]+)$/);
      if (f) fields.set(f[1], f[2].trim());
      start = i + 1;
    }
  }
  return fields;
}

function checkObject(decl, fields, value, where, errors) {
  for (const [key, v] of Object.entries(value)) {
    if (!fields.has(key)) {
      errors.push(`${where}.${key}: unknown field`);
      continue;
    }
    checkFields(decl, fields.get(key), v, `${where}.${key}`, errors);
  }
}

// ---- Main ----
let failures = 0, count = 0;
for (const file of files) {
  const docs = yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d != null);
  for (const doc of docs) {
    count++;
    const id = `${file}: ${doc.kind ?? "?"}/${doc.metadata?.name ?? "?"}`;
    if (!doc.apiVersion || !doc.kind) {
      console.error(`${id}: no apiVersion/kind`);
      failures++;
      continue;
    }
    const modFile = modelFile(doc.apiVersion, doc.kind);
    if (!fs.existsSync(modFile)) {
      console.error(`${id}: no schema for ${doc.apiVersion} ${doc.kind}`);
      failures++;
      continue;
    }
    const mod = await import(pathToFileURL(modFile));
    const Model = mod[doc.kind];
    const errors = [];
    try {
      new Model(doc).validate();
    } catch (e) {
      errors.push(e.message);
    }
    const decl = readDecl(modFile);
    const top = decl && [...decl.interfaces.values()][0];
    if (top) checkObject(decl, top, doc, "", errors);
    for (const e of errors) console.error(`${id}: ${e}`);
    if (errors.length) failures++;
  }
}
if (count === 0) {
  console.error("validate_manifests: no objects found");
  process.exit(1);
}
console.log(`validate_manifests: ${count} objects, ${failures} invalid`);
process.exit(failures ? 1 : 0);

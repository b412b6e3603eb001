import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as parsed from YAML; only the fields every object has are typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** A kustomization.yaml, restricted to the fields `renderKustomization` implements. */
export interface Kustomization {
  resources?: string[];
  configMapGenerator?: { name: string; files: string[]; options?: { disableNameSuffixHash?: boolean; labels?: Record<string, string> } }[];
  patches?: { path: string; target: { group?: string; version?: string; kind: string; name: string } }[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

interface PatchOp {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'configMapGenerator', 'patches', 'images']);

/** Every document of a YAML file; throws on the first YAML error. */
export function readYamlDocuments(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    return doc.toJS() as unknown;
  });
}

/** The kustomization.yaml of `dir`; throws on a field `renderKustomization` does not implement. */
export function readKustomization(dir: string): Kustomization {
  const [k] = readYamlDocuments(join(dir, 'kustomization.yaml')) as Record<string, unknown>[];
  if (k === undefined) throw new Error(`${dir}/kustomization.yaml is empty`);
  const unknown = [
    ...Object.keys(k).filter((key) => !SUPPORTED.has(key)),
    ...((k.configMapGenerator ?? []) as object[]).flatMap((g) => Object.keys(g).filter((key) => !['name', 'files', 'options'].includes(key))),
    ...((k.patches ?? []) as object[]).flatMap((p) => Object.keys(p).filter((key) => !['path', 'target'].includes(key))),
    ...((k.images ?? []) as object[]).flatMap((i) => Object.keys(i).filter((key) => !['name', 'newName', 'newTag'].includes(key))),
  ];
  if (unknown.length > 0) throw new Error(`${dir}/kustomization.yaml: renderKustomization does not implement ${unknown.join(', ')}`);
  return k as Kustomization;
}

/**
 * What `kubectl kustomize dir` prints, for the subset of kustomize these manifests use: resources
 * (files and kustomization directories, rendered first with their own transformers), ConfigMap
 * generators without a name hash, JSON 6902 patches with a target, then image rewrites, in
 * kustomize's order. Anything else throws, so the tests never check a half-rendered manifest.
 */
export function renderKustomization(dir: string): K8sObject[] {
  const k = readKustomization(dir);
  const objects: K8sObject[] = [];
  for (const entry of k.resources ?? []) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) objects.push(...renderKustomization(path));
    else objects.push(...(readYamlDocuments(path) as K8sObject[]));
  }
  for (const gen of k.configMapGenerator ?? []) {
    if (gen.options?.disableNameSuffixHash !== true) throw new Error(`${gen.name}: name hash suffixes are not implemented`);
    const data = Object.fromEntries(gen.files.map((f) => [basename(f), readFileSync(join(dir, f), 'utf8')]));
    const metadata = { name: gen.name, ...(gen.options.labels ? { labels: gen.options.labels } : {}) };
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata, data });
  }
  for (const patch of k.patches ?? []) {
    const ops = readYamlDocuments(join(dir, patch.path))[0] as PatchOp[];
    const targets = objects.filter((o) => o.kind === patch.target.kind && o.metadata.name === patch.target.name);
    if (targets.length !== 1) throw new Error(`${patch.path}: ${targets.length} objects match its target`);
    for (const op of ops) applyPatchOp(targets[0], op);
  }
  for (const image of k.images ?? []) {
    for (const container of podContainers(objects)) {
      if (container.image !== image.name && !container.image?.startsWith(`${image.name}:`)) continue;
      const tag = image.newTag ?? container.image.slice(image.name.length + 1);
      container.image = `${image.newName ?? image.name}${tag ? `:${tag}` : ''}`;
    }
  }
  return objects;
}

/** Every container and init container of every pod template. */
export function podContainers(objects: readonly K8sObject[]): { name: string; image?: string; [field: string]: unknown }[] {
  return objects.flatMap((o) => {
    const spec = (o.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec;
    if (spec === undefined) return [];
    return [...((spec.initContainers as []) ?? []), ...((spec.containers as []) ?? [])];
  });
}

/** Applies one RFC 6902 operation (add, remove, replace, test) in place; throws where kustomize fails. */
export function applyPatchOp(doc: unknown, { op, path, value }: PatchOp): void {
  const tokens = path.split('/').slice(1).map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
  const last = tokens.pop();
  if (last === undefined) throw new Error(`${op} ${path}: the whole document cannot be patched`);
  let parent = doc;
  for (const t of tokens) {
    parent = (parent as Record<string, unknown> | null)?.[t];
    if (parent === undefined || parent === null || typeof parent !== 'object') throw new Error(`${op} ${path}: ${t} does not exist`);
  }
  const container = parent as Record<string, unknown>;
  if (Array.isArray(container)) {
    const index = last === '-' ? container.length : Number(last);
    const max = op === 'add' ? container.length : container.length - 1;
    if (!Number.isInteger(index) || index < 0 || index > max) throw new Error(`${op} ${path}: index out of range`);
    if (op === 'add') container.splice(index, 0, value);
    else if (op === 'remove') container.splice(index, 1);
    else if (op === 'replace') container[index] = value;
    else if (!isDeepStrictEqual(container[index], value)) throw new Error(`test ${path} failed`);
    return;
  }
  if (op !== 'add' && !(last in container)) throw new Error(`${op} ${path}: ${last} does not exist`);
  if (op === 'add' || op === 'replace') container[last] = value;
  else if (op === 'remove') delete container[last];
  else if (!isDeepStrictEqual(container[last], value)) throw new Error(`test ${path} failed`);
}

import { isAlias, isMap, isSeq, Parser, parseAllDocuments, type Document, type Node } from 'yaml';
import { planInjection, type InjectSettings, type Plan } from './plan.js';
import { segmentsOf, type PatchOp } from './types.js';
import { findTemplates, valueAt } from './workloads.js';

/** One pod template found in the manifests, and what injection did (or would do) to it. */
export interface TemplateResult {
  /** `deployment/llm-gateway` (with `#N` for the Nth document when it is not the first). */
  readonly template: string;
  readonly plan: Plan;
}

export interface InjectedManifests {
  /** The manifests with the sidecar added; documents without a change are byte for byte the input. */
  readonly text: string;
  readonly templates: readonly TemplateResult[];
}

/** Thrown for input that is not YAML; the message has the line and column. */
export class ManifestSyntaxError extends Error {}

/**
 * Adds the sidecar to every pod template in Kubernetes YAML (one or more documents) that asks
 * for it, as `planInjection` decides. A document without a change is copied as it was, text and
 * all; a changed one is re-printed by the `yaml` package, which keeps its comments, key order and
 * scalar styles but may re-space flow collections and re-indent. YAML 1.1 is used both ways, as
 * Kubernetes reads manifests, so `0644` stays an octal mode and `yes` stays as written.
 *
 * Injecting the output again changes nothing.
 */
export function injectManifests(text: string, settings: InjectSettings): InjectedManifests {
  const docs = parseAllDocuments(text, { version: '1.1', prettyErrors: true });
  const list: Document.Parsed[] = Array.isArray(docs) ? docs : [];
  for (const doc of list) {
    const [error] = doc.errors;
    if (error !== undefined) throw new ManifestSyntaxError(error.message);
  }
  const chunks = documentChunks(text, list.length);
  const templates: TemplateResult[] = [];
  const out: string[] = [];
  list.forEach((doc, i) => {
    const js: unknown = doc.toJS({ maxAliasCount: 1000 });
    let changed = false;
    for (const location of findTemplates(js)) {
      const plan = planInjection(valueAt(js, location.path) as never, settings);
      templates.push({ template: i === 0 ? location.name : `${location.name} (document ${i + 1})`, plan });
      if (plan.action !== 'inject') continue;
      applyOps(doc, location.path, plan.ops);
      changed = true;
    }
    const original = chunks?.[i];
    if (!changed && original !== undefined) out.push(original);
    else out.push(doc.toString({ lineWidth: 0, flowCollectionPadding: false, indentSeq: original === undefined || indentsSequences(original) }));
  });
  return { text: list.length === 0 ? text : out.join(''), templates };
}

/**
 * The input cut at the start of each document (its `---`): chunk i is document i with the
 * comments and markers around it. Undefined if the parser's view disagrees with the documents.
 */
function documentChunks(text: string, count: number): string[] | undefined {
  const starts: number[] = [];
  for (const token of new Parser().parse(text)) if (token.type === 'document') starts.push(token.offset);
  if (starts.length !== count) return undefined;
  return starts.map((start, i) => text.slice(i === 0 ? 0 : start, starts[i + 1] ?? text.length));
}

/** Whether the document indents block sequences under their key (`key:\n  - a`) rather than not (`key:\n- a`). */
function indentsSequences(text: string): boolean {
  const lines = text.split('\n');
  let indented = 0;
  let flush = 0;
  for (let i = 0; i + 1 < lines.length; i++) {
    const key = /^( *)[^\s#-][^#]*:\s*(#.*)?$/.exec(lines[i] as string);
    if (key === null) continue;
    const item = /^( *)- /.exec(lines[i + 1] as string);
    if (item === null) continue;
    if ((item[1] as string).length > (key[1] as string).length) indented++;
    else flush++;
  }
  return indented >= flush;
}

/** Applies `add` operations (paths relative to the template at `base`) to the YAML document's nodes. */
function applyOps(doc: Document.Parsed, base: readonly (string | number)[], ops: readonly PatchOp[]): void {
  for (const op of ops) {
    const path = [...base.map(String), ...segmentsOf(op.path)];
    const last = path.pop() as string;
    let node: unknown = doc.contents;
    for (const key of path) node = child(node, key, op.path);
    const value = doc.createNode(op.value, { aliasDuplicateObjects: false });
    if (isSeq(node)) {
      if (last === '-') node.items.push(value);
      else node.items.splice(Number(last), 0, value);
    } else if (isMap(node)) {
      node.set(last, value);
    } else {
      throw new ManifestSyntaxError(`cannot add ${op.path}: its parent is not a map or a list`);
    }
  }
}

function child(node: unknown, key: string, path: string): Node {
  if (isAlias(node)) throw new ManifestSyntaxError(`cannot add ${path}: the template uses a YAML alias (*${node.source}) there; expand it first`);
  const next: unknown = isSeq(node) ? node.get(Number(key), true) : isMap(node) ? node.get(key, true) : undefined;
  if (next === undefined || next === null) throw new ManifestSyntaxError(`cannot add ${path}: ${key} is missing`);
  if (isAlias(next)) throw new ManifestSyntaxError(`cannot add ${path}: the template uses a YAML alias (*${next.source}) there; expand it first`);
  return next as Node;
}

import {
  LineCounter,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Node,
  type Tags,
} from 'yaml';
import type { Bundle, DocPath } from '../../model/bundle.js';
import type { SourcePosition } from '../../model/issue.js';
import { createSourceLookup, NODE_ALIAS, NODE_MAP, NODE_OTHER, NODE_SEQ, type SourceTable } from './source-table.js';
import { SourceTableBuilder } from './source-table-builder.js';

/**
 * The document part of a Bundle: the plain data plus where its nodes and keys are in the text,
 * answered from `table` (which a loader thread hands over with the data).
 */
export type YamlDocument = Pick<Bundle, 'data' | 'keysAt' | 'duplicateKeys'> & {
  /** Never undefined here: a path that is not in the document gives its nearest existing ancestor. */
  readonly locate: (path: DocPath) => SourcePosition;
  readonly table: SourceTable;
};

/** A YAML error, positioned in the text (line 0 when the parser cannot tell where). */
export interface YamlProblem {
  readonly message: string;
  readonly line: number;
  readonly column: number;
}

/**
 * Parses YAML (or JSON) text as PyYAML's `safe_load` (which LiteLLM uses) would: YAML 1.1, so
 * yes/no/on/off are booleans and `<<` merges, and duplicate keys keep the last value.
 * Returns every problem instead when PyYAML would reject the text.
 */
export function parseYamlDocument(text: string): { ok: true; document: YamlDocument } | { ok: false; problems: YamlProblem[] } {
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, {
      lineCounter,
      version: '1.1',
      customTags: pyyamlTags,
      uniqueKeys: false,
      prettyErrors: false,
      logLevel: 'error', // 'silent' would also drop the multiple-documents error
    });
  } catch (e) {
    // The parser recurses per level of nesting, and most (not all) of its overflows become errors.
    if (!(e instanceof RangeError)) throw e;
    return { ok: false, problems: [{ message: tooDeepMessage(), line: 0, column: 0 }] };
  }
  // PyYAML's safe_load rejects tags it cannot construct; `yaml` only warns.
  const problems = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED')].map((e) => {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    return { message: e.message, line, column: col };
  });
  // The parser's own stack overflow, caught and located: say why, once (the rest follows from it).
  const overflow = problems.find((p) => /maximum call stack/i.test(p.message));
  if (overflow !== undefined) return { ok: false, problems: [{ ...overflow, message: tooDeepMessage() }] };
  if (problems.length > 0) return { ok: false, problems };
  // Before anything that recurses per level (toJS, and the data's structured clone to the main thread).
  const structural = nodeProblems(doc, lineCounter);
  if (structural.length > 0) return { ok: false, problems: structural };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, problems: [{ message: e instanceof Error ? e.message : String(e), line: 0, column: 0 }] };
  }
  const table = tableOf(doc, lineCounter);
  const lookup = createSourceLookup(table);
  // Aliases can nest the data deeper than the document's own nodes.
  const deepPath = pathTooDeep(data);
  if (deepPath !== undefined) return { ok: false, problems: [{ message: tooDeepMessage(), ...lookup.locate(deepPath) }] };
  return { ok: true, document: { data, table, ...lookup } };
}

/**
 * How deep mappings and lists may nest (the top level is 1). Bundles need fewer than ten levels;
 * PyYAML gives up at a few hundred (Python's recursion limit), and the parser, the data's copy to
 * the main thread and compile recurse once per level, so a deeper document is refused up front.
 */
export const MAX_NESTING = 100;

/** The problem's message for a document nested deeper than MAX_NESTING. */
export function tooDeepMessage(): string {
  return `the document nests mappings and lists more than ${MAX_NESTING} levels deep; a bundle needs only a few`;
}

/**
 * What PyYAML would refuse in the document's nodes, found walking without recursion: a mapping or
 * list nested deeper than MAX_NESTING (the first one found), and every mapping key that is a list
 * or a mapping (PyYAML: "found unhashable key"; `yaml` would stringify `? [a, b]` into a policy
 * named "[ a, b ]"). Sorted by position.
 */
function nodeProblems(doc: Document.Parsed, lines: LineCounter): YamlProblem[] {
  const problems: YamlProblem[] = [];
  const stack: [Node, number][] = isNodeLike(doc.contents) ? [[doc.contents, 1]] : [];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [node, depth] = top;
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth > MAX_NESTING) {
      problems.push({ message: tooDeepMessage(), ...positionOf(node, lines) });
      break;
    }
    for (const item of node.items) {
      if (!isPair(item)) {
        if (isNodeLike(item)) stack.push([item, depth + 1]);
        continue;
      }
      const key = item.key;
      const kind = collectionKind(key, doc);
      if (kind !== undefined && isNodeLike(key)) {
        const message = `a mapping key must be a string (or another scalar), not a ${kind}: PyYAML, which LiteLLM uses, fails on it ("found unhashable key")`;
        problems.push({ message, ...positionOf(key, lines) });
      }
      if (isNodeLike(key)) stack.push([key, depth + 1]);
      if (isNodeLike(item.value)) stack.push([item.value, depth + 1]);
    }
  }
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** 'list' or 'mapping' when `key` is one (directly or through an alias), else undefined. */
function collectionKind(key: unknown, doc: Document.Parsed): 'list' | 'mapping' | undefined {
  const node = isAlias(key) ? key.resolve(doc) : key;
  return isSeq(node) ? 'list' : isMap(node) ? 'mapping' : undefined;
}

/**
 * The path of a value nested deeper than MAX_NESTING in plain data (aliases share subtrees, so a
 * subtree is walked again only when reached deeper than before), without recursion.
 */
function pathTooDeep(data: unknown): DocPath | undefined {
  const deepestAt = new Map<object, number>();
  const stack: { value: unknown; path: readonly (string | number)[] }[] = [{ value: data, path: [] }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { value, path } = top;
    if (typeof value !== 'object' || value === null) continue;
    if (path.length >= MAX_NESTING) return path;
    if ((deepestAt.get(value) ?? -1) >= path.length) continue;
    deepestAt.set(value, path.length);
    if (Array.isArray(value)) value.forEach((v: unknown, i) => stack.push({ value: v, path: [...path, i] }));
    else for (const [k, v] of Object.entries(value)) stack.push({ value: v, path: [...path, k] });
  }
  return undefined;
}

function positionOf(node: Node, lines: LineCounter): SourcePosition {
  const offset = node.range?.[0];
  if (offset === undefined) return { line: 0, column: 0 };
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

// PyYAML's YAML 1.1 booleans: unlike the `yaml` package's 1.1 schema, `y` and `n` stay strings.
const PYYAML_TRUE = /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/;
const PYYAML_FALSE = /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;

function pyyamlTags(tags: Tags): Tags {
  return tags.map((t) =>
    typeof t === 'object' && t.tag === 'tag:yaml.org,2002:bool' && 'test' in t && t.test
      ? { ...t, test: t.identify?.(true) ? PYYAML_TRUE : PYYAML_FALSE }
      : t,
  );
}

/**
 * The source table of a parsed document: every node and key with its position, breadth first.
 * Alias nodes point at their anchor's node, so lookups follow them; `<<` pairs are kept as merges.
 */
function tableOf(doc: Document.Parsed, lines: LineCounter): SourceTable {
  const builder = new SourceTableBuilder();
  const queue: Node[] = [];
  const ids = new Map<Node, number>();
  const position = (node: Node): SourcePosition => {
    const offset = node.range?.[0];
    if (offset === undefined) return { line: 0, column: 0 };
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  const add = (node: Node): number => {
    const kind = isMap(node) ? NODE_MAP : isSeq(node) ? NODE_SEQ : isAlias(node) ? NODE_ALIAS : NODE_OTHER;
    const id = builder.node(kind, position(node));
    ids.set(node, id);
    queue.push(node);
    return id;
  };
  if (doc.contents) add(doc.contents);
  for (let n = 0; n < queue.length; n++) {
    const node = queue[n];
    if (isSeq(node)) {
      builder.open(n);
      for (const item of node.items) {
        if (isNodeLike(item)) builder.item(n, add(item), position(item));
        else builder.item(n, undefined, { line: 0, column: 0 });
      }
    } else if (isMap(node)) {
      builder.open(n);
      for (const pair of node.items) {
        const key = pair.key;
        const value = isNodeLike(pair.value) ? pair.value : null;
        const keyAt = isNodeLike(key) ? position(key) : undefined;
        const isMerge = isMergeKey(key);
        const valueId = value === null ? undefined : add(value);
        // The value node, or the key when the value is empty (`key:` with nothing after it).
        const at = value !== null && !isEmpty(value) ? position(value) : (keyAt ?? { line: 0, column: 0 });
        builder.pair(
          n,
          {
            name: isMerge ? '<<' : keyName(key),
            isString: isScalar(key) && typeof key.value === 'string',
            source: isScalar(key) && typeof key.source === 'string' ? key.source : String(key),
            isMerge,
            position: keyAt,
          },
          valueId,
          at,
        );
      }
    }
  }
  // After numbering: an alias's anchor may come later in breadth-first order.
  for (const [node, id] of ids) {
    if (!isAlias(node)) continue;
    const target = node.resolve(doc);
    builder.alias(id, target === undefined ? -1 : (ids.get(target) ?? -1));
  }
  return builder.build();
}

// In YAML 1.1 mode `yaml` resolves a plain `<<` key to a symbol.
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === 'symbol';
}

// `key:` with nothing after it: an empty null scalar, positioned after the colon.
function isEmpty(node: Node): boolean {
  return node.range !== undefined && node.range !== null && node.range[0] === node.range[1];
}

function isNodeLike(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && 'range' in v;
}

/** The key as `yaml`'s toJS stringifies it into a plain object (see addPairToJSMap). */
function keyName(key: unknown): string {
  if (key === null || key === undefined) return '';
  if (isScalar(key)) {
    const v = key.value;
    if (v === null || v === undefined) return '';
    if (typeof v !== 'object') return String(v);
  }
  return String(key);
}

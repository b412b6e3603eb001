import { parseTree, type Node } from 'jsonc-parser';
import type { DocPath, DuplicateKey, SourceKey } from '../model/bundle.js';
import type { SourcePosition } from '../model/issue.js';
import type { YamlDocument } from './yaml-document.js';

/**
 * Reads strict JSON fast: `JSON.parse` for the data, and jsonc-parser's offset tree for positions,
 * key order and duplicates. The `yaml` package parses about 1 MB/s, so a 10,000-policy bundle takes
 * seconds as YAML and a fraction of a second this way. Returns undefined when the text is not
 * strict JSON; the caller then reads it as YAML (JSON that PyYAML reads differently, such as
 * duplicate keys, behaves the same: the last value wins and the duplicate is reported).
 */
export function parseJsonDocument(text: string): YamlDocument | undefined {
  if (!/^\s*\{/.test(text)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  const root = parseTree(text, [], { disallowComments: true, allowTrailingComma: false });
  if (root === undefined) return undefined;
  const toPosition = positionsOf(text);
  const at = (node: Node): SourcePosition => toPosition(node.offset);

  const locate = (path: DocPath): SourcePosition => {
    let node = root;
    for (const part of path) {
      const next = childOf(node, part);
      if (next === undefined) break;
      node = next;
    }
    return at(node);
  };

  const keysAt = (path: DocPath): readonly SourceKey[] | undefined => {
    let node: Node | undefined = root;
    for (const part of path) node = node && childOf(node, part);
    if (node?.type !== 'object') return undefined;
    const keys = new Map<string, { source: string; positions: SourcePosition[] }>();
    for (const prop of node.children ?? []) {
      const keyNode = prop.children?.[0];
      if (keyNode === undefined) continue;
      const name = String(keyNode.value);
      const entry = keys.get(name) ?? { source: text.slice(keyNode.offset, keyNode.offset + keyNode.length), positions: [] };
      entry.positions.push(at(keyNode));
      keys.set(name, entry);
    }
    return [...keys].map(([name, k]) => Object.freeze({ name, isString: true, source: k.source, positions: k.positions }));
  };

  const duplicateKeys: DuplicateKey[] = [];
  const walk = (node: Node, path: (string | number)[]): void => {
    if (node.type === 'array') node.children?.forEach((child, i) => walk(child, [...path, i]));
    if (node.type !== 'object') return;
    const seen = new Map<string, SourcePosition[]>();
    for (const prop of node.children ?? []) {
      const [keyNode, valueNode] = prop.children ?? [];
      if (keyNode === undefined) continue;
      const name = String(keyNode.value);
      const positions = seen.get(name);
      if (positions === undefined) seen.set(name, [at(keyNode)]);
      else positions.push(at(keyNode));
      if (valueNode !== undefined) walk(valueNode, [...path, name]);
    }
    for (const [name, positions] of seen)
      if (positions.length > 1) duplicateKeys.push(Object.freeze({ path: [...path, name], positions }));
  };
  walk(root, []);

  return Object.freeze({ data, locate, keysAt, duplicateKeys: Object.freeze(duplicateKeys) });
}

/** The child of an object (the last property with that key, as JSON.parse keeps) or array. */
function childOf(node: Node, part: string | number): Node | undefined {
  if (node.type === 'array') return typeof part === 'number' ? node.children?.[part] : undefined;
  if (node.type !== 'object') return undefined;
  const props = node.children ?? [];
  for (let i = props.length - 1; i >= 0; i--) {
    const prop = props[i] as Node;
    if (prop.children?.[0]?.value === part) return prop.children[1];
  }
  return undefined;
}

/** Offset -> 1-based line and column, by binary search over line starts. */
function positionsOf(text: string): (offset: number) => SourcePosition {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (starts[lo] as number) + 1 };
  };
}

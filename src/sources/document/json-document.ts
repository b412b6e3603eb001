import { visit } from 'jsonc-parser';
import type { DuplicateKey } from '../../model/bundle.js';
import type { SourcePosition } from '../../model/issue.js';
import { createSourceLookup, NODE_MAP, NODE_OTHER, NODE_SEQ, type SourceTable } from './source-table.js';
import { SourceTableBuilder, type BuilderKey } from './source-table-builder.js';
import { MAX_NESTING, tooDeepMessage, type YamlDocument, type YamlProblem } from './yaml-document.js';

/**
 * Reads strict JSON fast: `JSON.parse` for the data, and one pass of jsonc-parser's visitor for
 * positions, key order and duplicates. The `yaml` package parses about 1 MB/s, so a 10,000-policy bundle takes
 * seconds as YAML and a fraction of a second this way. Returns undefined when the text is not
 * strict JSON; the caller then reads it as YAML (JSON that PyYAML reads differently, such as
 * duplicate keys, behaves the same: the last value wins and the duplicate is reported). JSON
 * nested deeper than MAX_NESTING is a located problem: the visitor (and everything after it that
 * walks the data) recurses once per level.
 */
export function parseJsonDocument(text: string): { ok: true; document: YamlDocument } | { ok: false; problems: YamlProblem[] } | undefined {
  if (!/^\s*\{/.test(text)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  const deep = tooDeepAt(text);
  if (deep !== undefined) {
    const { line, column } = positionsOf(text)(deep);
    return { ok: false, problems: [{ message: tooDeepMessage(), line, column }] };
  }
  const { table, duplicateKeys } = tableOf(text);
  return { ok: true, document: Object.freeze({ data, table, ...createSourceLookup(table, duplicateKeys) }) };
}

/** The offset of the first `{` or `[` nested deeper than MAX_NESTING in strict JSON text, if any. */
function tooDeepAt(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote, over escapes.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_NESTING) return i;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return undefined;
}

/** A value seen inside an object or array, added to the table when its container closes. */
interface Pending {
  readonly key: BuilderKey | undefined;
  readonly value: number;
  readonly at: SourcePosition;
}

/** An object or array being read. */
interface Frame {
  readonly node: number;
  readonly isObject: boolean;
  readonly entries: Pending[];
  /** Its key or index in its parent ('' for the root). */
  readonly name: string | number;
  /** The property whose value comes next. */
  key: BuilderKey | undefined;
}

/**
 * The source table of strict JSON text (see SourceTable) and its duplicate keys, in one pass of
 * jsonc-parser's visitor: no syntax tree is built. A container's entries are added when it closes,
 * so they are contiguous. Positions are offsets turned into lines at `\n`, as YAML counts them.
 */
function tableOf(text: string): { table: SourceTable; duplicateKeys: DuplicateKey[] } {
  const toPosition = positionsOf(text);
  const builder = new SourceTableBuilder();
  const duplicateKeys: DuplicateKey[] = [];
  const frames: Frame[] = [];

  const add = (kind: number, offset: number): void => {
    const at = toPosition(offset);
    const id = builder.node(kind, at);
    const parent = frames[frames.length - 1];
    let name: string | number = '';
    if (parent?.isObject) {
      name = (parent.key as BuilderKey).name;
      parent.entries.push({ key: parent.key, value: id, at });
      parent.key = undefined;
    } else if (parent !== undefined) {
      name = parent.entries.length;
      parent.entries.push({ key: undefined, value: id, at });
    }
    if (kind !== NODE_OTHER) frames.push({ node: id, isObject: kind === NODE_MAP, entries: [], name, key: undefined });
  };
  const close = (): void => {
    const frame = frames.pop() as Frame;
    builder.open(frame.node);
    for (const e of frame.entries) {
      if (e.key === undefined) builder.item(frame.node, e.value, e.at);
      else builder.pair(frame.node, e.key, e.value, e.at);
    }
    if (frame.isObject) duplicateKeys.push(...duplicatesIn(frame, frames));
  };

  visit(
    text,
    {
      onObjectBegin: (offset) => add(NODE_MAP, offset),
      onArrayBegin: (offset) => add(NODE_SEQ, offset),
      onObjectEnd: close,
      onArrayEnd: close,
      onLiteralValue: (_value, offset) => add(NODE_OTHER, offset),
      onObjectProperty: (name, offset, length) => {
        const source = text.slice(offset, offset + length);
        (frames[frames.length - 1] as Frame).key = { name, source, isString: true, isMerge: false, position: toPosition(offset) };
      },
    },
    { disallowComments: true, allowTrailingComma: false },
  );
  return { table: builder.build(), duplicateKeys };
}

/** The keys given more than once in a closed object; `ancestors` are the frames still open. */
function duplicatesIn(frame: Frame, ancestors: readonly Frame[]): DuplicateKey[] {
  const keys = frame.entries.map((e) => e.key as BuilderKey);
  // Most objects are small and have no duplicates: check without allocating a map first.
  let hasDuplicate = false;
  if (keys.length <= 16) {
    for (let i = 0; i < keys.length && !hasDuplicate; i++) for (let j = 0; j < i; j++) if (keys[i]?.name === keys[j]?.name) hasDuplicate = true;
  } else {
    hasDuplicate = new Set(keys.map((k) => k.name)).size < keys.length;
  }
  if (!hasDuplicate) return [];
  const positions = new Map<string, SourcePosition[]>();
  for (const k of keys) positions.set(k.name, [...(positions.get(k.name) ?? []), k.position as SourcePosition]);
  const path = ancestors.length === 0 ? [] : [...ancestors.slice(1).map((f) => f.name), frame.name];
  return [...positions].filter(([, at]) => at.length > 1).map(([name, at]) => Object.freeze({ path: [...path, name], positions: at }));
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

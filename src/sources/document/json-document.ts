import { visit } from 'jsonc-parser';
import type { DuplicateKey } from '../../model/bundle.js';
import type { SourcePosition } from '../../model/issue.js';
import { createSourceLookup, NODE_MAP, NODE_OTHER, NODE_SEQ, type SourceTable } from './source-table.js';
import { SourceTableBuilder } from './source-table-builder.js';
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

/** An object or array being read; its entries so far are the pending entries from `start` on. */
interface Frame {
  readonly node: number;
  readonly isObject: boolean;
  readonly start: number;
  /** Its key or index in its parent ('' for the root). */
  readonly name: string | number;
}

/**
 * The source table of strict JSON text (see SourceTable) and its duplicate keys, in one pass of
 * jsonc-parser's visitor: no syntax tree is built. A container's entries are added when it closes,
 * so they are contiguous. Positions are offsets turned into lines at `\n`, as YAML counts them.
 * This runs once per node of a bundle on the loader thread (10,000 policies: ~300,000 nodes), so
 * nothing here allocates per node: pending entries wait in parallel stacks of numbers and strings,
 * and positions come from a cursor that only moves forward, as the visitor's offsets do.
 */
function tableOf(text: string): { table: SourceTable; duplicateKeys: DuplicateKey[] } {
  const builder = new SourceTableBuilder();
  const duplicateKeys: DuplicateKey[] = [];
  const frames: Frame[] = [];
  // The entries of the containers still open (the first `top` slots): value node, position, and for
  // members the key. Slots are overwritten, never removed: shrinking an array costs more.
  let top = 0;
  const values: number[] = [];
  const lines: number[] = [];
  const columns: number[] = [];
  const keyNames: string[] = [];
  const keySources: string[] = [];
  const keyLines: number[] = [];
  const keyColumns: number[] = [];
  // The member whose value comes next.
  let keyName = '';
  let keySource = '';
  let keyLine = 0;
  let keyColumn = 0;
  // The line of the last offset seen, and where it starts.
  let line = 1;
  let lineStart = 0;
  let nextBreak = text.indexOf('\n');
  const seek = (offset: number): void => {
    while (nextBreak !== -1 && nextBreak < offset) {
      line++;
      lineStart = nextBreak + 1;
      nextBreak = text.indexOf('\n', lineStart);
    }
  };

  const add = (kind: number, offset: number): void => {
    seek(offset);
    const column = offset - lineStart + 1;
    const id = builder.nodeAt(kind, line, column);
    const parent = frames[frames.length - 1];
    let name: string | number = '';
    if (parent !== undefined) {
      name = parent.isObject ? keyName : top - parent.start;
      values[top] = id;
      lines[top] = line;
      columns[top] = column;
      keyNames[top] = parent.isObject ? keyName : '';
      keySources[top] = keySource;
      keyLines[top] = keyLine;
      keyColumns[top] = keyColumn;
      top++;
    }
    if (kind !== NODE_OTHER) frames.push({ node: id, isObject: kind === NODE_MAP, start: top, name });
  };
  const close = (): void => {
    const frame = frames.pop() as Frame;
    const { node, start } = frame;
    const end = top;
    builder.open(node);
    for (let i = start; i < end; i++) {
      if (frame.isObject)
        builder.memberAt(node, keyNames[i] as string, keySources[i] as string, keyLines[i] as number, keyColumns[i] as number, values[i] as number, lines[i] as number, columns[i] as number);
      else builder.itemAt(node, values[i] as number, lines[i] as number, columns[i] as number);
    }
    if (frame.isObject && hasDuplicate(keyNames, start, end)) duplicateKeys.push(...duplicatesIn(frame, end, frames));
    top = start;
  };
  /** The keys given more than once in an object whose members are pending from frame.start to end; `ancestors` are the frames still open. */
  const duplicatesIn = (frame: Frame, end: number, ancestors: readonly Frame[]): DuplicateKey[] => {
    const positions = new Map<string, SourcePosition[]>();
    for (let i = frame.start; i < end; i++) {
      const at = { line: keyLines[i] as number, column: keyColumns[i] as number };
      positions.set(keyNames[i] as string, [...(positions.get(keyNames[i] as string) ?? []), at]);
    }
    const path = ancestors.length === 0 ? [] : [...ancestors.slice(1).map((f) => f.name), frame.name];
    return [...positions].filter(([, at]) => at.length > 1).map(([name, at]) => Object.freeze({ path: [...path, name], positions: at }));
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
        seek(offset);
        keyName = name;
        keySource = text.slice(offset, offset + length);
        keyLine = line;
        keyColumn = offset - lineStart + 1;
      },
    },
    { disallowComments: true, allowTrailingComma: false },
  );
  return { table: builder.build(), duplicateKeys };
}

/** Whether a name occurs twice in names[start..end): most objects are small, checked without a set. */
function hasDuplicate(names: readonly string[], start: number, end: number): boolean {
  if (end - start <= 16) {
    for (let i = start + 1; i < end; i++) for (let j = start; j < i; j++) if (names[i] === names[j]) return true;
    return false;
  }
  return new Set(names.slice(start, end)).size < end - start;
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

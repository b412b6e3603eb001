import type { Bundle, DocPath, DuplicateKey, SourceKey } from '../../model/bundle.js';
import type { SourcePosition } from '../../model/issue.js';

/**
 * Where every node and key of a parsed document is, in flat typed arrays plus one string list, so
 * a loader thread can hand it over for the cost of a transfer (no per-node objects to clone).
 * Nodes are numbered breadth first from the root (0), so a node's entries are contiguous:
 * `first[n] .. first[n] + count[n]` in the entry arrays. An empty document has no nodes.
 */
export interface SourceTable {
  /** Per node: NODE_OTHER, NODE_MAP, NODE_SEQ or NODE_ALIAS. */
  readonly kind: Uint8Array;
  /** Per node: 1-based line and column (0 when unknown). */
  readonly line: Int32Array;
  readonly column: Int32Array;
  /** Per node: its first entry (maps and sequences), or the node an alias points at (-1 if none). */
  readonly first: Int32Array;
  /** Per node: how many entries it has. */
  readonly count: Int32Array;
  /** Per entry: the value's node, ENTRY_NULL (a key without a value node) or ENTRY_ABSENT (a sequence item that is no node). */
  readonly value: Int32Array;
  /** Per entry: where `locate` puts a path ending here (the value, or the key when the value is empty). */
  readonly entryLine: Int32Array;
  readonly entryColumn: Int32Array;
  /** Per map entry: the key's name and source text in `strings`; FLAG_STRING, FLAG_MERGE (a YAML `<<`), FLAG_NO_KEY (a key that is no node: not addressable). */
  readonly name: Int32Array;
  readonly source: Int32Array;
  readonly flags: Uint8Array;
  readonly keyLine: Int32Array;
  readonly keyColumn: Int32Array;
  readonly strings: readonly string[];
}

export const NODE_OTHER = 0;
export const NODE_MAP = 1;
export const NODE_SEQ = 2;
export const NODE_ALIAS = 3;
export const ENTRY_NULL = -1;
export const ENTRY_ABSENT = -2;
export const FLAG_STRING = 1;
export const FLAG_MERGE = 2;
export const FLAG_NO_KEY = 4;

/** The typed arrays of a table, for a transfer list. */
export function tableBuffers(t: SourceTable): ArrayBuffer[] {
  const arrays = [t.kind, t.line, t.column, t.first, t.count, t.value, t.entryLine, t.entryColumn, t.name, t.source, t.flags, t.keyLine, t.keyColumn];
  return arrays.map((a) => a.buffer as ArrayBuffer);
}

/** A Bundle's document lookups; `locate` always answers (a document has a root). */
export type SourceLookup = Pick<Bundle, 'keysAt' | 'duplicateKeys'> & { readonly locate: (path: DocPath) => SourcePosition };

/** A map's keys and lookups, built on first use. */
interface MapIndex {
  /** Explicit keys by name: the last entry with that name (the value PyYAML and JSON.parse keep). */
  readonly byName: Map<string, number>;
  readonly merges: readonly number[];
  readonly keys: readonly SourceKey[];
}

/** A found child: its entry (for the position) and its value node (-1 for none). */
interface Child {
  readonly entry: number;
  readonly node: number;
}

/**
 * `locate`, `keysAt` and `duplicateKeys` of a Bundle, answered from a table. `locate` gives the
 * value node at a path (the key when the value is empty), else the nearest existing ancestor (line 1,
 * column 1 for an empty document); a mapping lookup takes the last explicit key, then YAML `<<`
 * sources in order. `keysAt` lists a mapping's explicit keys in document order (first occurrence).
 */
export function createSourceLookup(
  t: SourceTable,
  /** Already found (by the thread that built the table), to skip the walk. */
  duplicateKeys?: readonly DuplicateKey[],
): SourceLookup {
  const maps = new Map<number, MapIndex>();
  const deref = (n: number): number => (n >= 0 && t.kind[n] === NODE_ALIAS ? (t.first[n] as number) : n);
  const at = (line: number | undefined, column: number | undefined): SourcePosition => ({ line: line ?? 0, column: column ?? 0 });

  const mapIndex = (n: number): MapIndex => {
    let index = maps.get(n);
    if (index !== undefined) return index;
    const byName = new Map<string, number>();
    const merges: number[] = [];
    const keys = new Map<string, { name: string; isString: boolean; source: string; positions: SourcePosition[] }>();
    const end = (t.first[n] as number) + (t.count[n] as number);
    for (let e = t.first[n] as number; e < end; e++) {
      const flags = t.flags[e] as number;
      if (flags & FLAG_MERGE) {
        if ((t.value[e] as number) >= 0) merges.push(t.value[e] as number);
        continue;
      }
      const name = t.strings[t.name[e] as number] as string;
      byName.set(name, e);
      const position = at(t.keyLine[e], t.keyColumn[e]);
      const key = keys.get(name);
      if (key !== undefined) key.positions.push(position);
      else keys.set(name, { name, isString: (flags & FLAG_STRING) !== 0, source: t.strings[t.source[e] as number] as string, positions: [position] });
    }
    index = { byName, merges, keys: [...keys.values()] };
    maps.set(n, index);
    return index;
  };

  const lookup = (n: number, name: string, seen?: Set<number>): number | undefined => {
    const index = mapIndex(n);
    const entry = index.byName.get(name);
    if (entry !== undefined || index.merges.length === 0 || seen?.has(n)) return entry;
    seen ??= new Set();
    seen.add(n);
    for (const source of index.merges) {
      const target = deref(source);
      const targets = t.kind[target] === NODE_SEQ ? entriesOf(target).map((e) => deref(t.value[e] as number)) : [target];
      for (const m of targets) {
        const found = m >= 0 && t.kind[m] === NODE_MAP ? lookup(m, name, seen) : undefined;
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };

  const entriesOf = (n: number): number[] => {
    const out: number[] = [];
    for (let e = t.first[n] as number, end = e + (t.count[n] as number); e < end; e++) out.push(e);
    return out;
  };

  const child = (n: number, segment: string | number): Child | undefined => {
    const c = deref(n);
    if (c < 0) return undefined;
    let entry: number | undefined;
    if (t.kind[c] === NODE_SEQ) entry = typeof segment === 'number' && segment >= 0 && segment < (t.count[c] as number) ? (t.first[c] as number) + segment : undefined;
    else if (t.kind[c] === NODE_MAP) entry = lookup(c, String(segment));
    if (entry === undefined || t.value[entry] === ENTRY_ABSENT || (t.flags[entry] as number) & FLAG_NO_KEY) return undefined;
    return { entry, node: t.value[entry] as number };
  };

  const locate = (path: DocPath): SourcePosition => {
    if (t.kind.length === 0) return { line: 1, column: 1 };
    let node = 0;
    let position = at(t.line[0], t.column[0]);
    for (const segment of path) {
      const found = child(node, segment);
      if (found === undefined) break;
      node = found.node;
      position = at(t.entryLine[found.entry], t.entryColumn[found.entry]);
    }
    return position;
  };

  const keysAt = (path: DocPath): readonly SourceKey[] | undefined => {
    if (t.kind.length === 0) return undefined;
    let node = 0;
    for (const segment of path) {
      const found = child(node, segment);
      if (found === undefined) return undefined;
      node = found.node;
    }
    const map = deref(node);
    return map >= 0 && t.kind[map] === NODE_MAP ? mapIndex(map).keys : undefined;
  };

  return { locate, keysAt, duplicateKeys: Object.freeze(duplicateKeys ?? duplicatesOf(t, mapIndex)) };
}

/** Every key given more than once in one mapping: a walk that does not follow aliases or `<<`. */
function duplicatesOf(t: SourceTable, mapIndex: (n: number) => MapIndex): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  if (t.kind.length === 0) return found;
  // One path, extended and shortened as the walk goes: copied only for a duplicate.
  const path: (string | number)[] = [];
  const walk = (n: number): void => {
    const first = t.first[n] as number;
    const end = first + (t.count[n] as number);
    if (t.kind[n] === NODE_SEQ) {
      for (let e = first; e < end; e++) {
        if ((t.value[e] as number) < 0) continue;
        path.push(e - first);
        walk(t.value[e] as number);
        path.pop();
      }
      return;
    }
    if (t.kind[n] !== NODE_MAP) return;
    // Only maps with a repeated name need their key table.
    let names: Set<number> | undefined = new Set();
    for (let e = first; e < end && names !== undefined; e++) {
      if ((t.flags[e] as number) & FLAG_MERGE) continue;
      if (names.has(t.name[e] as number)) names = undefined;
      else names.add(t.name[e] as number);
    }
    if (names === undefined) {
      for (const key of mapIndex(n).keys) if (key.positions.length > 1) found.push(Object.freeze({ path: [...path, key.name], positions: key.positions }));
    }
    for (let e = first; e < end; e++) {
      if ((t.flags[e] as number) & FLAG_MERGE || (t.value[e] as number) < 0) continue;
      path.push(t.strings[t.name[e] as number] as string);
      walk(t.value[e] as number);
      path.pop();
    }
  };
  walk(0);
  return found;
}

import {
  LineCounter,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Node,
  type Pair,
  type Tags,
  type YAMLMap,
} from 'yaml';
import type { Bundle, DocPath, DuplicateKey, SourceKey } from '../model/bundle.js';
import type { SourcePosition } from '../model/issue.js';

/** The document part of a Bundle: the plain data plus where its nodes and keys are in the text. */
export type YamlDocument = Pick<Bundle, 'data' | 'keysAt' | 'duplicateKeys'> & {
  /** Never undefined here: a path that is not in the document gives its nearest existing ancestor. */
  readonly locate: (path: DocPath) => SourcePosition;
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
  const doc = parseDocument(text, {
    lineCounter,
    version: '1.1',
    customTags: pyyamlTags,
    uniqueKeys: false,
    prettyErrors: false,
    logLevel: 'error', // 'silent' would also drop the multiple-documents error
  });
  // PyYAML's safe_load rejects tags it cannot construct; `yaml` only warns.
  const problems = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED')].map((e) => {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    return { message: e.message, line, column: col };
  });
  if (problems.length > 0) return { ok: false, problems };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, problems: [{ message: e instanceof Error ? e.message : String(e), line: 0, column: 0 }] };
  }
  const index = new SourceIndex(doc, lineCounter);
  return {
    ok: true,
    document: {
      data,
      locate: (path) => index.locate(path),
      keysAt: (path) => index.keysAt(path),
      duplicateKeys: index.duplicates(),
    },
  };
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

/** Finds nodes and keys of one parsed document by path; per-mapping key tables are built on first use. */
class SourceIndex {
  private readonly tables = new WeakMap<YAMLMap, KeyTable>();

  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** The value node at `path` (the key when the value is empty), else the nearest existing ancestor. */
  locate(path: DocPath): SourcePosition {
    let at: Node | null = this.doc.contents;
    let pos = at ? this.position(at) : { line: 1, column: 1 };
    for (const segment of path) {
      const found = this.child(at, segment);
      if (!found) break;
      at = found.value;
      pos = this.position(found.value && !isEmpty(found.value) ? found.value : found.key);
    }
    return pos;
  }

  /** Keys merged in with YAML 1.1 `<<` are not listed (they are in `data`). */
  keysAt(path: DocPath): readonly SourceKey[] | undefined {
    let at: Node | null = this.doc.contents;
    for (const segment of path) {
      const found = this.child(at, segment);
      if (!found) return undefined;
      at = found.value;
    }
    const map = this.deref(at);
    return isMap(map) ? this.table(map).keys : undefined;
  }

  /** One walk over the document. Aliases are not followed: their anchor is walked where it is defined. */
  duplicates(): readonly DuplicateKey[] {
    const found: DuplicateKey[] = [];
    const walk = (node: unknown, path: DocPath): void => {
      if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i]));
      if (!isMap(node)) return;
      for (const key of this.table(node).keys) {
        if (key.positions.length > 1) found.push({ path: [...path, key.name], positions: key.positions });
      }
      for (const pair of node.items) if (!isMergeKey(pair.key)) walk(pair.value, [...path, keyName(pair.key)]);
    };
    walk(this.doc.contents, []);
    return found;
  }

  private child(node: Node | null, segment: string | number): { key: Node; value: Node | null } | undefined {
    const coll = this.deref(node);
    if (isSeq(coll)) {
      const item = typeof segment === 'number' ? coll.items[segment] : undefined;
      return isNodeLike(item) ? { key: item, value: item } : undefined;
    }
    if (!isMap(coll)) return undefined;
    const pair = this.lookup(coll, String(segment));
    if (!pair || !isNodeLike(pair.key)) return undefined;
    return { key: pair.key, value: isNodeLike(pair.value) ? pair.value : null };
  }

  // Explicit keys win (the last occurrence, as PyYAML); then `<<` sources in order, earlier first.
  private lookup(map: YAMLMap, name: string, seen?: Set<YAMLMap>): Pair | undefined {
    const table = this.table(map);
    const pair = table.pairs.get(name);
    if (pair || table.merges.length === 0 || seen?.has(map)) return pair;
    seen = seen ?? new Set();
    seen.add(map);
    for (const source of table.merges) {
      const target = this.deref(source);
      const maps = isSeq(target) ? target.items.map((i) => this.deref(isNodeLike(i) ? i : null)) : [target];
      for (const m of maps) {
        const found = isMap(m) ? this.lookup(m, name, seen) : undefined;
        if (found) return found;
      }
    }
    return undefined;
  }

  private table(map: YAMLMap): KeyTable {
    let table = this.tables.get(map);
    if (table) return table;
    const pairs = new Map<string, Pair>();
    const keys = new Map<string, { name: string; isString: boolean; source: string; positions: SourcePosition[] }>();
    const merges: Node[] = [];
    for (const pair of map.items) {
      const key = pair.key;
      if (isMergeKey(key)) {
        if (isNodeLike(pair.value)) merges.push(pair.value);
        continue;
      }
      const name = keyName(key);
      pairs.set(name, pair);
      const position = isNodeLike(key) ? this.position(key) : { line: 0, column: 0 };
      const entry = keys.get(name);
      if (entry) entry.positions.push(position);
      else
        keys.set(name, {
          name,
          isString: isScalar(key) && typeof key.value === 'string',
          source: isScalar(key) && typeof key.source === 'string' ? key.source : String(key),
          positions: [position],
        });
    }
    table = { pairs, merges, keys: [...keys.values()] };
    this.tables.set(map, table);
    return table;
  }

  private deref(node: Node | null): Node | null {
    return isAlias(node) ? (node.resolve(this.doc) ?? null) : node;
  }

  private position(node: Node): SourcePosition {
    const offset = node.range?.[0];
    if (offset === undefined) return { line: 0, column: 0 };
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }
}

interface KeyTable {
  readonly pairs: ReadonlyMap<string, Pair>;
  readonly merges: readonly Node[];
  readonly keys: readonly SourceKey[];
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

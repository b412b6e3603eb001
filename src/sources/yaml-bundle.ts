import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
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
import { PdpError } from '../errors.js';
import type { Bundle, DocPath } from '../model/bundle.js';
import type { Issue, SourcePosition } from '../model/issue.js';
import type { PolicySource } from './source.js';

/** Default limit on a bundle file's size: 16 MiB. */
export const DEFAULT_MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

export interface YamlBundleSourceOptions {
  /** The YAML or JSON file (a LiteLLM config.yaml, or just its policy sections). */
  readonly path: string;
  /** Larger files are rejected with BUNDLE_INVALID. Default 16 MiB. */
  readonly maxBundleBytes?: number;
}

/**
 * A mapping key as written in the source: what the plain `data` cannot show.
 * `positions` holds every occurrence in document order; more than one means a duplicate key,
 * of which PyYAML (and `data`) keep the last value.
 */
export interface SourceKey {
  /** The key as it appears in `data` (non-string keys are stringified: `123`, `true`, ``). */
  readonly name: string;
  /** False when YAML reads the key as a number, boolean, null, date or collection, not a string. */
  readonly isString: boolean;
  /** The key as written, e.g. `on` or `123`. */
  readonly source: string;
  readonly positions: readonly SourcePosition[];
}

/** A key given more than once in one mapping: its path and every occurrence, in document order. */
export interface DuplicateKey {
  readonly path: DocPath;
  readonly positions: readonly SourcePosition[];
}

/**
 * A policy source reading one YAML or JSON file. `load()` reads it whole, hashes the bytes and
 * parses them as PyYAML (which LiteLLM uses) would.
 */
export function createYamlBundleSource(options: YamlBundleSourceOptions): PolicySource {
  const maxBytes = options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  return {
    origin: options.path,
    load: async () => bundleFromBytes(await readBundleFile(options.path, maxBytes), options.path),
  };
}

/**
 * Parses bundle text exactly as `load()` parses file bytes (the hash is of the UTF-8 bytes).
 * Throws PdpError BUNDLE_INVALID with one `unparseable` issue per YAML error.
 */
export function parseBundleText(text: string, origin: string): Bundle {
  return bundleFromBytes(Buffer.from(text, 'utf8'), origin);
}

/**
 * The keys of the mapping at `path`, in document order (first occurrence), with their positions,
 * duplicates and types. Undefined when the bundle did not come from this source or `path` is not
 * a mapping. Keys merged in with YAML 1.1 `<<` are not listed (they are in `data`).
 */
export function sourceKeysAt(bundle: Bundle, path: DocPath): readonly SourceKey[] | undefined {
  return sourceIndexes.get(bundle)?.keysAt(path);
}

/**
 * Every key given more than once in one mapping anywhere in the document (PyYAML and `data` keep
 * the last value): the path of the key and every occurrence. Empty for bundles from elsewhere.
 */
export function duplicateKeysOf(bundle: Bundle): readonly DuplicateKey[] {
  return sourceIndexes.get(bundle)?.duplicates() ?? [];
}

const sourceIndexes = new WeakMap<Bundle, SourceIndex>();

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

async function readBundleFile(path: string, maxBytes: number): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      if (size > maxBytes) throw tooLarge(path, size, maxBytes);
      bytes = await file.readFile();
    } finally {
      await file.close();
    }
  } catch (e) {
    if (e instanceof PdpError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw new PdpError('SOURCE_UNAVAILABLE', `cannot read bundle ${path}: ${reason}; check the path and permissions`, {
      cause: e,
    });
  }
  // The file may have grown between stat and read.
  if (bytes.length > maxBytes) throw tooLarge(path, bytes.length, maxBytes);
  return bytes;
}

function tooLarge(path: string, size: number, maxBytes: number): PdpError {
  const message = `bundle ${path} is ${size} bytes, over the limit of ${maxBytes} bytes; raise maxBundleBytes or make the bundle smaller`;
  return new PdpError('BUNDLE_INVALID', message, {
    issues: [Object.freeze({ severity: 'error', rule: 'invalid_bundle', message, file: path, line: 0, column: 0, path: '' })],
  });
}

function bundleFromBytes(bytes: Uint8Array, origin: string): Bundle {
  const hash = createHash('sha256').update(bytes).digest('hex');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw unparseable(origin, [{ message: 'the file is not valid UTF-8', line: 0, column: 0 }]);
  }
  const lineCounter = new LineCounter();
  // YAML 1.1 like PyYAML (yes/no/on/off are booleans, `<<` merges); duplicate keys keep the last value.
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
  if (problems.length > 0) throw unparseable(origin, problems);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw unparseable(origin, [{ message: e instanceof Error ? e.message : String(e), line: 0, column: 0 }]);
  }
  const index = new SourceIndex(doc, lineCounter);
  const bundle: Bundle = Object.freeze({ origin, hash, data, locate: (path: DocPath) => index.locate(path) });
  sourceIndexes.set(bundle, index);
  return bundle;
}

interface Problem {
  readonly message: string;
  readonly line: number;
  readonly column: number;
}

function unparseable(origin: string, problems: readonly Problem[]): PdpError {
  const issues: Issue[] = problems.map((p) =>
    Object.freeze({ severity: 'error', rule: 'unparseable', message: p.message, file: origin, line: p.line, column: p.column, path: '' }),
  );
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new PdpError(
    'BUNDLE_INVALID',
    `cannot parse bundle ${origin}: ${first.message} at line ${first.line}, column ${first.column}${more}; fix the YAML or JSON syntax`,
    { issues },
  );
}

/** Finds nodes and keys of one parsed document by path; per-mapping key tables are built on first use. */
class SourceIndex {
  private readonly tables = new WeakMap<YAMLMap, KeyTable>();
  private duplicateKeys: DuplicateKey[] | undefined;

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

  /** One walk over the document, on first use. Aliases are not followed: their anchor is walked where it is defined. */
  duplicates(): readonly DuplicateKey[] {
    if (this.duplicateKeys) return this.duplicateKeys;
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
    this.duplicateKeys = found;
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

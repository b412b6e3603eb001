import type { SourcePosition } from '../../model/issue.js';
import { ENTRY_ABSENT, ENTRY_NULL, FLAG_MERGE, FLAG_NO_KEY, FLAG_STRING, type SourceTable } from './source-table.js';

/** A mapping key as a parser sees it. `position` undefined: the key is no node (not addressable). */
export interface BuilderKey {
  readonly name: string;
  readonly source: string;
  readonly isString: boolean;
  readonly isMerge: boolean;
  readonly position: SourcePosition | undefined;
}

/**
 * Builds a SourceTable from a parser's tree. The caller adds the root with `node`, then visits
 * nodes in the order `node` numbered them (breadth first), adding each one's entries before moving
 * on; `node` numbers a child when its entry is added, so every node's entries are contiguous.
 */
export class SourceTableBuilder {
  // Columns of numbers outside the JS heap: a large bundle has hundreds of thousands of nodes,
  // and growing JS arrays that long was most of the loader's garbage collection.
  readonly #kind = new IntColumn();
  readonly #line = new IntColumn();
  readonly #column = new IntColumn();
  readonly #first = new IntColumn();
  readonly #count = new IntColumn();
  readonly #value = new IntColumn();
  readonly #entryLine = new IntColumn();
  readonly #entryColumn = new IntColumn();
  readonly #name = new IntColumn();
  readonly #source = new IntColumn();
  readonly #flags = new IntColumn();
  readonly #keyLine = new IntColumn();
  readonly #keyColumn = new IntColumn();
  readonly #strings: string[] = [];
  readonly #stringIds = new Map<string, number>();

  /** Numbers a new node (in visiting order) and returns its number. */
  node(kind: number, position: SourcePosition): number {
    return this.nodeAt(kind, position.line, position.column);
  }

  /** `node`, with the position as numbers (no object per node: the JSON reader's form). */
  nodeAt(kind: number, line: number, column: number): number {
    this.#kind.push(kind);
    this.#line.push(line);
    this.#column.push(column);
    this.#first.push(this.#value.length);
    this.#count.push(0);
    return this.#kind.length - 1;
  }

  /** Points alias node `n` at node `target` (-1 when it resolves to nothing). */
  alias(n: number, target: number): void {
    this.#first.set(n, target);
  }

  /** Starts the entries of node `n`: call before adding them. */
  open(n: number): void {
    this.#first.set(n, this.#value.length);
  }

  /** Adds a sequence item of node `n`: its node, or undefined when the item is no node. */
  item(n: number, value: number | undefined, position: SourcePosition): void {
    this.itemAt(n, value ?? ENTRY_ABSENT, position.line, position.column);
  }

  /** `item` with the value's node (or ENTRY_ABSENT) and the position as numbers. */
  itemAt(n: number, value: number, line: number, column: number): void {
    this.#entry(n, value, line, column);
    this.#name.push(-1);
    this.#source.push(-1);
    this.#flags.push(0);
    this.#keyLine.push(line);
    this.#keyColumn.push(column);
  }

  /** Adds a mapping pair of node `n`: its key, its value's node (undefined: none) and where `locate` points. */
  pair(n: number, key: BuilderKey, value: number | undefined, position: SourcePosition): void {
    this.#entry(n, value ?? ENTRY_NULL, position.line, position.column);
    this.#name.push(this.#id(key.name));
    this.#source.push(this.#id(key.source));
    this.#flags.push((key.isString ? FLAG_STRING : 0) | (key.isMerge ? FLAG_MERGE : 0) | (key.position === undefined ? FLAG_NO_KEY : 0));
    this.#keyLine.push(key.position?.line ?? 0);
    this.#keyColumn.push(key.position?.column ?? 0);
  }

  /**
   * `pair` for a JSON member: a string key (`name`, written as `source`) at keyLine:keyColumn whose
   * value is node `value`, at line:column.
   */
  memberAt(n: number, name: string, source: string, keyLine: number, keyColumn: number, value: number, line: number, column: number): void {
    this.#entry(n, value, line, column);
    this.#name.push(this.#id(name));
    this.#source.push(this.#id(source));
    this.#flags.push(FLAG_STRING);
    this.#keyLine.push(keyLine);
    this.#keyColumn.push(keyColumn);
  }

  /** The finished table (typed arrays, ready to transfer). */
  build(): SourceTable {
    return {
      kind: Uint8Array.from(this.#kind.values()),
      line: this.#line.values(),
      column: this.#column.values(),
      first: this.#first.values(),
      count: this.#count.values(),
      value: this.#value.values(),
      entryLine: this.#entryLine.values(),
      entryColumn: this.#entryColumn.values(),
      name: this.#name.values(),
      source: this.#source.values(),
      flags: Uint8Array.from(this.#flags.values()),
      keyLine: this.#keyLine.values(),
      keyColumn: this.#keyColumn.values(),
      strings: this.#strings,
    };
  }

  #entry(n: number, value: number, line: number, column: number): void {
    this.#value.push(value);
    this.#entryLine.push(line);
    this.#entryColumn.push(column);
    this.#count.set(n, this.#count.get(n) + 1);
  }

  #id(s: string): number {
    let id = this.#stringIds.get(s);
    if (id === undefined) {
      id = this.#strings.length;
      this.#strings.push(s);
      this.#stringIds.set(s, id);
    }
    return id;
  }
}

/** A growable list of 32-bit integers. */
class IntColumn {
  #items = new Int32Array(1024);
  length = 0;

  push(v: number): void {
    if (this.length === this.#items.length) {
      const grown = new Int32Array(this.#items.length * 2);
      grown.set(this.#items);
      this.#items = grown;
    }
    this.#items[this.length++] = v;
  }

  get(i: number): number {
    return this.#items[i] as number;
  }

  set(i: number, v: number): void {
    this.#items[i] = v;
  }

  /** A copy of the items, exactly as long as the list. */
  values(): Int32Array {
    return this.#items.slice(0, this.length);
  }
}

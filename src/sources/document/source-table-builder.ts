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
  readonly #kind: number[] = [];
  readonly #line: number[] = [];
  readonly #column: number[] = [];
  readonly #first: number[] = [];
  readonly #count: number[] = [];
  readonly #value: number[] = [];
  readonly #entryLine: number[] = [];
  readonly #entryColumn: number[] = [];
  readonly #name: number[] = [];
  readonly #source: number[] = [];
  readonly #flags: number[] = [];
  readonly #keyLine: number[] = [];
  readonly #keyColumn: number[] = [];
  readonly #strings: string[] = [];
  readonly #stringIds = new Map<string, number>();

  /** Numbers a new node (in visiting order) and returns its number. */
  node(kind: number, position: SourcePosition): number {
    this.#kind.push(kind);
    this.#line.push(position.line);
    this.#column.push(position.column);
    this.#first.push(this.#value.length);
    this.#count.push(0);
    return this.#kind.length - 1;
  }

  /** Points alias node `n` at node `target` (-1 when it resolves to nothing). */
  alias(n: number, target: number): void {
    this.#first[n] = target;
  }

  /** Starts the entries of node `n`: call before adding them. */
  open(n: number): void {
    this.#first[n] = this.#value.length;
  }

  /** Adds a sequence item of node `n`: its node, or undefined when the item is no node. */
  item(n: number, value: number | undefined, position: SourcePosition): void {
    this.#entry(n, value ?? ENTRY_ABSENT, position);
    this.#name.push(-1);
    this.#source.push(-1);
    this.#flags.push(0);
    this.#keyLine.push(position.line);
    this.#keyColumn.push(position.column);
  }

  /** Adds a mapping pair of node `n`: its key, its value's node (undefined: none) and where `locate` points. */
  pair(n: number, key: BuilderKey, value: number | undefined, position: SourcePosition): void {
    this.#entry(n, value ?? ENTRY_NULL, position);
    this.#name.push(this.#id(key.name));
    this.#source.push(this.#id(key.source));
    this.#flags.push((key.isString ? FLAG_STRING : 0) | (key.isMerge ? FLAG_MERGE : 0) | (key.position === undefined ? FLAG_NO_KEY : 0));
    this.#keyLine.push(key.position?.line ?? 0);
    this.#keyColumn.push(key.position?.column ?? 0);
  }

  /** The finished table (typed arrays, ready to transfer). */
  build(): SourceTable {
    return {
      kind: Uint8Array.from(this.#kind),
      line: Int32Array.from(this.#line),
      column: Int32Array.from(this.#column),
      first: Int32Array.from(this.#first),
      count: Int32Array.from(this.#count),
      value: Int32Array.from(this.#value),
      entryLine: Int32Array.from(this.#entryLine),
      entryColumn: Int32Array.from(this.#entryColumn),
      name: Int32Array.from(this.#name),
      source: Int32Array.from(this.#source),
      flags: Uint8Array.from(this.#flags),
      keyLine: Int32Array.from(this.#keyLine),
      keyColumn: Int32Array.from(this.#keyColumn),
      strings: this.#strings,
    };
  }

  #entry(n: number, value: number, position: SourcePosition): void {
    this.#value.push(value);
    this.#entryLine.push(position.line);
    this.#entryColumn.push(position.column);
    this.#count[n] = (this.#count[n] as number) + 1;
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

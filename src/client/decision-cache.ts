import type { DeepPartial, ResolveRequest, ResolveResponse } from '../gen/guardrail/pdp/v1/resolve.js';

/** A Resolve request as a plain object: any field may be left out (proto3 defaults apply). */
export type ResolveRequestInput = DeepPartial<ResolveRequest>;

/**
 * A Resolve answer: the ResolveResponse's fields, plus `stale`: true only for an answer from the
 * cache given because the sidecar could not answer (`failMode: 'stale'`). Answers are frozen (the
 * cache shares them between callers).
 */
export type ResolveResult = ResolveResponse & { readonly stale: boolean };

/**
 * The canonical key of a request: every field that Resolve reads, in a fixed order, with a missing
 * scalar (`-`) kept apart from an empty one (`0:`), as the server keeps LiteLLM's None apart from
 * "". Lists keep their order. `context: {}` and no context are the same request. Each string is
 * prefixed by its length, so no value can be mistaken for a separator (and it costs a third of
 * JSON.stringify: bench/client-child.mjs).
 */
export function requestKey(r: ResolveRequestInput): string {
  const c = r.context;
  const policies = `|${list(r.requestPolicies)}|${list(r.keyPolicies)}|${list(r.teamPolicies)}`;
  return c === undefined ? `---0${policies}` : `${scalar(c.teamAlias)}${scalar(c.keyAlias)}${scalar(c.model)}${list(c.tags)}${policies}`;
}

function scalar(v: string | undefined | null): string {
  return v === undefined || v === null ? '-' : `${v.length}:${v}`;
}

function list(v: readonly string[] | undefined): string {
  if (v === undefined || v.length === 0) return '0';
  let out = `${v.length}`;
  for (const x of v) out += `,${x.length}:${x}`;
  return out;
}

interface Entry {
  readonly revision: string;
  readonly result: ResolveResult;
  readonly bytes: number;
  /** Used since it was (re)inserted: spared once by eviction (see DecisionCache). */
  isUsed: boolean;
  /** The same answer marked stale, built the first time it is needed. */
  staleResult?: ResolveResult;
}

/**
 * A cached answer holds about 600 heap bytes plus 5 per byte of its encoding (objects and arrays
 * per message and list, string headers, the entry and its map slot): counted as 640 + 6 per byte,
 * which stays above what `node --expose-gc bench/client-cache-heap.mjs` measures.
 */
const ENTRY_OVERHEAD_BYTES = 640;
const HEAP_PER_WIRE_BYTE = 6;

/**
 * Resolve answers by canonical request, each tagged with the revision that answered it; at most
 * `maxEntries` answers and `maxBytes` estimated bytes (2 per key character, HEAP_PER_WIRE_BYTE per
 * byte of the encoded answer, ENTRY_OVERHEAD_BYTES each). Eviction approximates least recently
 * used with a second chance (CLOCK): a hit only marks its entry used, and eviction, from the
 * oldest, moves a used entry to the back unmarked instead of dropping it. Moving an entry on
 * every hit (a Map delete and set) cost more than the rest of a hit together.
 * Which revision is current is the caller's business (the Watch stream); `get` answers only for it.
 */
export class DecisionCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(limits: { readonly maxEntries: number; readonly maxBytes: number }) {
    this.#maxEntries = limits.maxEntries;
    this.#maxBytes = limits.maxBytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Estimated bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The answer for `key` if it was given by `revision` (and marks it used). */
  get(key: string, revision: string): ResolveResult | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.revision !== revision) return undefined;
    entry.isUsed = true;
    return entry.result;
  }

  /** The last answer kept for `key`, whatever its revision, marked stale; for failMode 'stale'. */
  stale(key: string): ResolveResult | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    entry.staleResult ??= Object.freeze({ ...entry.result, stale: true });
    return entry.staleResult;
  }

  /** Keeps `result` (given by `revision`, `wireBytes` long on the wire) for `key`. */
  set(key: string, revision: string, result: ResolveResult, wireBytes: number): void {
    const bytes = 2 * key.length + HEAP_PER_WIRE_BYTE * wireBytes + ENTRY_OVERHEAD_BYTES;
    this.#remove(key);
    if (bytes > this.#maxBytes) return;
    this.#entries.set(key, { revision, result, bytes, isUsed: false });
    this.#bytes += bytes;
    while (this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const [oldest, entry] = this.#entries.entries().next().value as [string, Entry];
      this.#entries.delete(oldest);
      if (entry.isUsed && oldest !== key) {
        entry.isUsed = false;
        this.#entries.set(oldest, entry); // its second chance
      } else this.#bytes -= entry.bytes;
    }
  }

  /** Drops every answer not given by `revision`. */
  retainRevision(revision: string): void {
    for (const [key, entry] of this.#entries) if (entry.revision !== revision) this.#remove(key);
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #remove(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }
}

/** Freezes an answer and everything in it, so a caller cannot change what the cache hands to others. */
export function freezeResult(response: ResolveResponse): ResolveResult {
  return deepFreeze({ ...response, stale: false });
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) deepFreeze(v as object);
  return Object.freeze(o);
}

import type { DeepPartial, ResolveRequest, ResolveResponse } from '../gen/guardrail/pdp/v1/resolve.js';

/** A Resolve request as a plain object: any field may be left out (proto3 defaults apply). */
export type ResolveRequestInput = DeepPartial<ResolveRequest>;

/**
 * A Resolve answer: the ResolveResponse's fields, plus `stale`: true only for an answer from the
 * cache given because the sidecar could not answer (`failMode: 'stale'`). Answers are frozen (the
 * cache shares them between callers).
 */
export type ResolveResult = ResolveResponse & { readonly stale: boolean };

const NONE: readonly string[] = [];

/**
 * The canonical key of a request: every field that Resolve reads, in a fixed order, with a missing
 * scalar (`null`) kept apart from an empty one (`""`), as the server keeps LiteLLM's None apart from
 * "". Lists keep their order. `context: {}` and no context are the same request.
 */
export function requestKey(r: ResolveRequestInput): string {
  const c = r.context;
  return JSON.stringify([
    c?.teamAlias ?? null,
    c?.keyAlias ?? null,
    c?.model ?? null,
    c?.tags ?? NONE,
    r.requestPolicies ?? NONE,
    r.keyPolicies ?? NONE,
    r.teamPolicies ?? NONE,
  ]);
}

interface Entry {
  readonly revision: string;
  readonly result: ResolveResult;
  readonly bytes: number;
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
 * byte of the encoded answer, ENTRY_OVERHEAD_BYTES each), least recently used evicted first.
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

  /** The answer for `key` if it was given by `revision` (and marks it recently used). */
  get(key: string, revision: string): ResolveResult | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.revision !== revision) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
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
    this.#entries.set(key, { revision, result, bytes });
    this.#bytes += bytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
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

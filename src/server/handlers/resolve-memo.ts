import type { ResolveDecision, ResolveRequest } from '../../model/decision.js';
import type { Snapshot } from '../../model/snapshot.js';

/** Default cap on memoized answers per snapshot. */
export const DEFAULT_MEMO_ENTRIES = 10_000;
/** Default cap on the bytes a snapshot's memo holds (keys plus encoded answers). */
export const DEFAULT_MEMO_BYTES = 16 * 1024 * 1024;
/** Requests larger than this are answered without the memo (their key would cost more than it saves). */
export const MAX_MEMO_KEY_BYTES = 2048;

/** One memoized answer: the encoded ResolveResponse, and what the decision log needs to see it. */
export interface MemoEntry {
  /** The encoded ResolveResponse, sent as is. Never mutated. */
  readonly bytes: Buffer;
  /** The checked request and its decision; kept only when a decision log may want them. */
  readonly logged: { readonly request: ResolveRequest; readonly decision: ResolveDecision } | undefined;
}

export interface ResolveMemoLimits {
  /** Most entries held (default DEFAULT_MEMO_ENTRIES); 0 turns the memo off. */
  readonly maxEntries?: number;
  /** Most bytes held, keys (one byte per character) plus answers (default DEFAULT_MEMO_BYTES). */
  readonly maxBytes?: number;
  /**
   * Store an answer only on its request's second miss (default true). The doorkeeper is a Bloom
   * filter of the requests that missed (3 bits per request, about 32 bits per memo entry: 64 KB
   * for 10,000 entries), cleared after 4 x maxEntries requests: requests seen once do not
   * displace answers that are asked for again. A false positive only stores an answer early.
   */
  readonly isSecondMissOnly?: boolean;
}

/**
 * A bounded memo of Resolve answers for one snapshot, keyed by the request's exact bytes (as a
 * latin1 string: one character per byte, so equal keys mean equal bytes, which decode to the same
 * request and therefore the same answer; no hash, no collision). Full means the oldest entry is
 * evicted first (insertion order), which costs O(1) and never stalls a call the way clearing
 * everything at once would on a working set just above the cap.
 */
export class ResolveMemo {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly #entries = new Map<string, MemoEntry>();
  /** The keys in insertion order, oldest at #head (a queue compacted as it empties). */
  readonly #order: string[] = [];
  #head = 0;
  #bytes = 0;
  /** The doorkeeper's bits (a Bloom filter of requests that missed), and how many it took since cleared. */
  readonly #seen: Uint32Array | undefined;
  #seenCount = 0;

  constructor({ maxEntries = DEFAULT_MEMO_ENTRIES, maxBytes = DEFAULT_MEMO_BYTES, isSecondMissOnly = true }: ResolveMemoLimits = {}) {
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
    // 32 bits per entry, a power of two (at most 2^32 bits).
    if (isSecondMissOnly && maxEntries > 0) this.#seen = new Uint32Array(2 ** Math.min(27, Math.ceil(Math.log2(maxEntries))));
  }

  /**
   * Whether the answer to a request that just missed should be stored: always without a
   * doorkeeper; with one, when the doorkeeper has seen the key miss before (since it was last
   * cleared). Otherwise the key is remembered and nothing is stored.
   */
  shouldStore(key: string): boolean {
    const seen = this.#seen;
    if (seen === undefined) return true;
    const bitMask = seen.length * 32 - 1;
    // Three positions by double hashing of two 32-bit hashes of the key.
    const h1 = hashKey(key, 0x811c9dc5);
    const h2 = hashKey(key, 0x2545f491) | 1;
    let isSeen = true;
    for (let i = 0; i < 3; i++) {
      const bit = (h1 + Math.imul(i, h2)) & bitMask;
      const word = bit >>> 5;
      const flag = 1 << (bit & 31);
      if (((seen[word] as number) & flag) === 0) {
        isSeen = false;
        seen[word] = (seen[word] as number) | flag;
      }
    }
    if (isSeen) return true;
    if (++this.#seenCount >= 4 * this.maxEntries) {
      seen.fill(0);
      this.#seenCount = 0;
    }
    return false;
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes held (keys plus answers). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The entry for this key, if memoized. */
  get(key: string): MemoEntry | undefined {
    return this.#entries.get(key);
  }

  /** Memoizes an answer, evicting the oldest entries to stay within both caps. */
  set(key: string, entry: MemoEntry): void {
    const cost = key.length + entry.bytes.byteLength;
    if (this.maxEntries === 0 || cost > this.maxBytes || this.#entries.has(key)) return;
    while (this.#entries.size >= this.maxEntries || this.#bytes + cost > this.maxBytes) this.#evictOldest();
    this.#entries.set(key, entry);
    this.#order.push(key);
    this.#bytes += cost;
  }

  // Not the Map's own order: V8 keeps deleted entries in a Map's table until it is rebuilt, and a
  // new iterator walks past all of them, so taking the first entry of a full memo cost ~8 µs.
  #evictOldest(): void {
    const key = this.#order[this.#head] as string;
    this.#order[this.#head++] = '';
    if (this.#head >= 1024 && this.#head * 2 >= this.#order.length) {
      this.#order.copyWithin(0, this.#head);
      this.#order.length -= this.#head;
      this.#head = 0;
    }
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= key.length + entry.bytes.byteLength;
  }
}

/** FNV-1a over the key's characters (bytes, as latin1) from `seed`, mixed (murmur3's finalizer). */
function hashKey(key: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The memos of every live snapshot, each owned by its snapshot: a new revision starts with an
 * empty memo, and a snapshot's memo is garbage once the snapshot is (a WeakMap, so no answer of
 * an old revision is ever served or kept).
 */
export class SnapshotMemos {
  readonly #limits: ResolveMemoLimits;
  readonly #memos = new WeakMap<Snapshot, ResolveMemo>();

  constructor(limits: ResolveMemoLimits = {}) {
    this.#limits = limits;
  }

  /** The memo of `snapshot`, created empty on first use. */
  for(snapshot: Snapshot): ResolveMemo {
    let memo = this.#memos.get(snapshot);
    if (memo === undefined) this.#memos.set(snapshot, (memo = new ResolveMemo(this.#limits)));
    return memo;
  }

  /** The memo of `snapshot` if one was created (for diagnostics and tests). */
  peek(snapshot: Snapshot): ResolveMemo | undefined {
    return this.#memos.get(snapshot);
  }
}

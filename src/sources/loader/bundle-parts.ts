import { deserialize, serialize } from 'node:v8';
import type { Bundle, BundleFile, DuplicateKey } from '../../model/bundle.js';
import type { Steps } from '../../steps.js';
import { createSourceLookup, tableBuffers, type SourceTable } from '../document/source-table.js';

/**
 * A Bundle as the loader thread hands it over: its data serialized in pieces (so the receiving
 * thread rebuilds it a slice at a time instead of in one long clone) and its source table (typed
 * arrays: moved, not copied). Plain data: it crosses a thread boundary as is.
 */
export interface BundleParts {
  readonly origin: string;
  readonly hash: string;
  /** v8-serialized pieces of `data` (see `splitData`), in order. */
  readonly pieces: readonly Uint8Array[];
  /** Where the document's nodes are; undefined for a source with no document (a db). */
  readonly table: SourceTable | undefined;
  readonly duplicateKeys: readonly DuplicateKey[];
  /** The files the bundle names, as read (see sources/referenced-files.ts). */
  readonly files: readonly (readonly [string, BundleFile])[];
}

/** Entries per piece: about a millisecond to deserialize for policy- or attachment-sized entries. */
const PIECE_ENTRIES = 500;

type Piece =
  | readonly ['root', unknown]
  | readonly ['value', string, unknown]
  | readonly ['array', string, readonly unknown[]]
  | readonly ['object', string, readonly (readonly [string, unknown])[]];

/** The parts of a bundle, ready to post (see `partsTransferList`). */
export function partsOf(
  origin: string,
  hash: string,
  data: unknown,
  document?: { readonly table: SourceTable; readonly duplicateKeys: readonly DuplicateKey[] },
  files: ReadonlyMap<string, BundleFile> = new Map(),
): BundleParts {
  return { origin, hash, pieces: splitData(data), table: document?.table, duplicateKeys: document?.duplicateKeys ?? [], files: [...files] };
}

/** The buffers of `parts` that can be moved rather than copied. */
export function partsTransferList(parts: BundleParts): ArrayBuffer[] {
  return parts.table === undefined ? [] : tableBuffers(parts.table);
}

/**
 * Rebuilds the Bundle on the receiving thread, one piece per step (about a millisecond each), so
 * the receiving thread can drive it in slices (`runSliced`). The result equals the Bundle the loader
 * thread built (same data, locations, keys, duplicates and hash). Frozen.
 */
export function* bundleFromParts(parts: BundleParts): Steps<Bundle> {
  let data: unknown;
  for (const bytes of parts.pieces) {
    data = applyPiece(data, deserialize(bytes) as Piece);
    yield;
  }
  const lookup = parts.table === undefined ? NO_DOCUMENT : createSourceLookup(parts.table, parts.duplicateKeys);
  const files = parts.files.length === 0 ? {} : { files: new Map(parts.files) };
  return Object.freeze({ origin: parts.origin, hash: parts.hash, data, ...lookup, ...files });
}

const NO_DOCUMENT: Pick<Bundle, 'locate' | 'keysAt' | 'duplicateKeys'> = Object.freeze({
  locate: () => undefined,
  keysAt: () => undefined,
  duplicateKeys: Object.freeze([]),
});

/**
 * Splits a document's data into pieces: a top-level mapping by key, and each large list or mapping
 * under it (`policies`, `policy_attachments`, ...) into runs of entries. Other data is one piece.
 */
function splitData(data: unknown): Uint8Array[] {
  if (!isPlainObject(data)) return [serialize(['root', data] satisfies Piece)];
  const pieces: Uint8Array[] = [serialize(['root', {}] satisfies Piece)];
  for (const key of Object.keys(data)) {
    const value = data[key];
    if (Array.isArray(value) && value.length > PIECE_ENTRIES) {
      for (let i = 0; i < value.length; i += PIECE_ENTRIES) pieces.push(serialize(['array', key, value.slice(i, i + PIECE_ENTRIES)] satisfies Piece));
    } else if (isPlainObject(value) && Object.keys(value).length > PIECE_ENTRIES) {
      const entries = Object.entries(value);
      for (let i = 0; i < entries.length; i += PIECE_ENTRIES) pieces.push(serialize(['object', key, entries.slice(i, i + PIECE_ENTRIES)] satisfies Piece));
    } else {
      pieces.push(serialize(['value', key, value] satisfies Piece));
    }
  }
  return pieces;
}

function applyPiece(data: unknown, piece: Piece): unknown {
  if (piece[0] === 'root') return piece[1];
  const root = data as Record<string, unknown>;
  if (piece[0] === 'value') {
    define(root, piece[1], piece[2]);
  } else if (piece[0] === 'array') {
    if (!Object.hasOwn(root, piece[1])) define(root, piece[1], []);
    (root[piece[1]] as unknown[]).push(...piece[2]);
  } else {
    if (!Object.hasOwn(root, piece[1])) define(root, piece[1], {});
    const target = root[piece[1]] as Record<string, unknown>;
    for (const [k, v] of piece[2]) define(target, k, v);
  }
  return data;
}

// defineProperty: a key may be `__proto__`.
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

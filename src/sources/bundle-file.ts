import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { PdpError } from '../errors.js';
import type { Bundle } from '../model/bundle.js';
import { hashOf } from './document/bundle-text.js';
import type { PolicySource } from './source.js';
import { watchForChanges } from './watch.js';
import { loadInWorker } from './loader/caller.js';

/** Default limit on a bundle file's size: 16 MiB. */
export const DEFAULT_MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

/** Options of `createBundleFileSource`. */
export interface BundleFileSourceOptions {
  /** The YAML or JSON file (a LiteLLM config.yaml, or just its policy sections). */
  readonly path: string;
  /** Larger files are rejected with BUNDLE_INVALID. Default 16 MiB. */
  readonly maxBundleBytes?: number;
  /** Quiet period after a change in the directory before `watch` reports it. */
  readonly debounceMs?: number;
  /** Called when watching the directory fails (the source then may not see changes). */
  readonly onWatchError?: (err: Error) => void;
  /** The loader thread's heap in MB (see `loaderLimits`); unset, Node's default. */
  readonly loaderHeapMb?: number;
}

/**
 * A policy source reading one YAML or JSON file. `load()` reads it whole, hashes the bytes and
 * parses them as PyYAML (which LiteLLM uses) would, on a loader thread (`loadInWorker`: parsing a
 * 10,000-policy bundle takes hundreds of milliseconds as JSON and seconds as YAML, which must not
 * stall RPCs); bytes with the hash of the last bundle it built give that same (frozen) Bundle back
 * without parsing again, as long as that Bundle is still in use somewhere (the source holds it
 * weakly: once compiled, a Bundle and its source table are garbage).
 *
 * `watch` watches the file's directory (see `watchFile`) and reports a change only when what is
 * there differs from what the last `load()` found: other bytes, or another read error. So a busy
 * directory, a rewrite with the same bytes or a second event for the same deletion costs a read
 * and a hash, not an activation.
 */
export function createBundleFileSource(options: BundleFileSourceOptions): PolicySource {
  const { path } = options;
  const maxBytes = options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  // Weakly: a 10,000-policy Bundle (data, source table) is ~14 MiB that the snapshot never needs.
  let last: { readonly hash: string; readonly bundle: WeakRef<Bundle> } | undefined;
  // What the last load() found (see `fingerprint`), to tell whether the file changed since.
  let lastFound: string | undefined;

  const load = async (): Promise<Bundle> => {
    const read = await readOnce(path, maxBytes);
    lastFound = fingerprint(read);
    if (!read.ok) throw read.error;
    const kept = last?.hash === read.hash ? last.bundle.deref() : undefined;
    if (kept !== undefined) return kept;
    const bundle = await loadInWorker({ kind: 'file', origin: path, bytes: read.bytes, hash: read.hash }, { heapMb: options.loaderHeapMb });
    last = { hash: read.hash, bundle: new WeakRef(bundle) };
    return bundle;
  };
  const isChanged = async (): Promise<boolean> => fingerprint(await readOnce(path, maxBytes)) !== lastFound;

  return {
    origin: path,
    load,
    watch: (onChange) =>
      watchForChanges(path, { debounceMs: options.debounceMs, onError: options.onWatchError }, isChanged, onChange),
  };
}

/**
 * How a bundle file is opened: never blocking (a FIFO opens at once instead of waiting for a writer,
 * which would hold a threadpool thread forever) and never becoming the controlling terminal.
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

/**
 * Reads the whole file, refusing anything that is not a regular file (a device such as /dev/zero
 * never ends, a FIFO blocks) and reading at most `maxBytes + 1` bytes whatever the file's size says
 * (stat reports 0 for devices, and a file may grow while it is read).
 */
async function readBundleFile(path: string, maxBytes: number): Promise<Uint8Array> {
  let read: Uint8Array | undefined;
  let size = 0;
  try {
    // Checked before opening, so that a device is never even opened, and again on the open file,
    // which is what counts (the path may be replaced between the two).
    if (!(await stat(path)).isFile()) throw notRegularFile(path);
    const file = await open(path, OPEN_FLAGS);
    try {
      const s = await file.stat();
      if (!s.isFile()) throw notRegularFile(path);
      size = s.size;
      read = size > maxBytes ? undefined : await readAtMost(file, maxBytes, size);
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
  // Over the limit, by its size or because it grew while it was read.
  if (read === undefined) throw tooLarge(path, size, maxBytes);
  return read;
}

/** The file's bytes, or undefined once it has more than `maxBytes`. `sizeHint` sizes the first buffer. */
async function readAtMost(file: FileHandle, maxBytes: number, sizeHint: number): Promise<Uint8Array | undefined> {
  // One byte over the limit tells "exactly at the limit" from "over it".
  let buffer = Buffer.allocUnsafe(Math.min(sizeHint, maxBytes) + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > maxBytes) return undefined;
      const grown = Buffer.allocUnsafe(Math.min(2 * buffer.length, maxBytes + 1));
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    const { bytesRead } = await file.read(buffer, length, buffer.length - length, null);
    if (bytesRead === 0) return buffer.subarray(0, length);
    length += bytesRead;
  }
}

function notRegularFile(path: string): PdpError {
  return new PdpError('SOURCE_UNAVAILABLE', `cannot read bundle ${path}: not a regular file (a device, FIFO, socket or directory); point it at a file`);
}

function tooLarge(path: string, size: number, maxBytes: number): PdpError {
  const what = size > maxBytes ? `is ${size} bytes, over` : 'grew while it was read, past';
  const message = `bundle ${path} ${what} the limit of ${maxBytes} bytes (${formatMiB(maxBytes)}); make it smaller, or serve a large policy set from a SQLite db (guardrail-pdp compile, docs/sqlite-db.md)`;
  return new PdpError('BUNDLE_INVALID', message, {
    issues: [Object.freeze({ severity: 'error', rule: 'invalid_bundle', message, file: path, line: 0, column: 0, path: '' })],
  });
}

function formatMiB(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}

/** One read of the bundle file: its bytes and their hash, or the PdpError saying why not. */
type FileRead = { ok: true; bytes: Uint8Array; hash: string } | { ok: false; error: unknown };

async function readOnce(path: string, maxBytes: number): Promise<FileRead> {
  try {
    const bytes = await readBundleFile(path, maxBytes);
    return { ok: true, bytes, hash: hashOf(bytes) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Equal for equal bytes, and for the same read error (e.g. a deletion seen twice). */
function fingerprint(read: FileRead): string {
  return read.ok ? `bytes ${read.hash}` : `error ${(read.error as Error).message}`;
}

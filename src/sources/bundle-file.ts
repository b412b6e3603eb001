import { open } from 'node:fs/promises';
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
    const bundle = await loadInWorker({ kind: 'file', origin: path, bytes: read.bytes, hash: read.hash });
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

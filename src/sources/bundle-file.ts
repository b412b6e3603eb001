import { PdpError } from '../errors.js';
import type { Bundle } from '../model/bundle.js';
import { hashOf } from './document/bundle-text.js';
import type { PolicySource } from './source.js';
import { watchForChanges } from './watch.js';
import { Loader } from './loader/caller.js';
import { FileReadError, readRegularFile } from './read-file.js';
import { DEFAULT_MAX_REFERENCED_FILE_BYTES, filesFingerprint, recordedFingerprint, watchedFiles } from './referenced-files.js';

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
  /** LiteLLM's content filter categories directory, for built-in category names (see referenced-files.ts). */
  readonly contentFilterCategoriesDir?: string;
  /** The most bytes one file the bundle names may have. Default 4 MiB. */
  readonly maxFileBytes?: number;
}

/**
 * A policy source reading one YAML or JSON file. `load()` reads it whole, hashes the bytes and
 * parses them as PyYAML (which LiteLLM uses) would, on a loader thread (`Loader`: parsing a
 * 10,000-policy bundle takes hundreds of milliseconds as JSON and seconds as YAML, which must not
 * stall RPCs); bytes with the hash of the last bundle it built give that same (frozen) Bundle back
 * without parsing again, as long as that Bundle is still in use somewhere (the source holds it
 * weakly: once compiled, a Bundle and its source table are garbage).
 *
 * The files the bundle names (a content filter's category and blocked-words files) are read with
 * it, on the loader thread (sources/referenced-files.ts), and are part of it: the Bundle carries
 * them, its hash covers them, and a change to one is a change to the bundle.
 *
 * `watch` watches the file's directory and the directories of the files it names (see
 * `watchFile`) and reports a change only when what is there differs from what the last `load()`
 * found: other bytes, or another read error. So a busy directory, a rewrite with the same bytes or
 * a second event for the same deletion costs a read and a hash, not an activation.
 */
export function createBundleFileSource(options: BundleFileSourceOptions): PolicySource {
  const { path } = options;
  const maxBytes = options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_REFERENCED_FILE_BYTES;
  // Weakly: a 10,000-policy Bundle (data, source table) is ~14 MiB that the snapshot never needs.
  let last: { readonly hash: string; readonly bundle: WeakRef<Bundle> } | undefined;
  // What the last load() found (see `fingerprint`), to tell whether the file changed since.
  let lastFound: string | undefined;
  // The files the last bundle named (absolute paths) and what was in them then.
  let lastFiles: readonly string[] = [];
  let lastFilesFound = '';
  let resyncWatch: (() => void) | undefined;
  const loader = new Loader({ heapMb: options.loaderHeapMb });

  const load = async (): Promise<Bundle> => {
    const read = await readOnce(path, maxBytes);
    if (!read.ok) {
      lastFound = fingerprint(read);
      throw read.error;
    }
    const kept = last?.hash === read.hash ? last.bundle.deref() : undefined;
    if (kept !== undefined && (lastFiles.length === 0 || (await filesFingerprint(lastFiles, maxFileBytes)) === lastFilesFound)) {
      lastFound = `${fingerprint(read)}\n${lastFilesFound}`;
      return kept;
    }
    // Set before parsing too: bytes that fail to parse are not reported again until they change.
    lastFound = `${fingerprint(read)}\n${lastFilesFound}`;
    const files = { categoriesDir: options.contentFilterCategoriesDir, maxFileBytes };
    const bundle = await loader.load({ kind: 'file', origin: path, bytes: read.bytes, hash: read.hash, files });
    lastFiles = watchedFiles(bundle);
    lastFilesFound = recordedFingerprint(bundle);
    lastFound = `${fingerprint(read)}\n${lastFilesFound}`;
    last = { hash: read.hash, bundle: new WeakRef(bundle) };
    resyncWatch?.();
    return bundle;
  };
  const isChanged = async (): Promise<boolean> => {
    const read = await readOnce(path, maxBytes);
    const found = read.ok ? `${fingerprint(read)}\n${await filesFingerprint(lastFiles, maxFileBytes)}` : fingerprint(read);
    return found !== lastFound;
  };

  return {
    origin: path,
    load,
    watch: (onChange) => {
      const stop = watchForChanges(
        () => [path, ...lastFiles],
        { debounceMs: options.debounceMs, onError: options.onWatchError, onActivity: () => loader.prepare() },
        isChanged,
        onChange,
        (sync) => (resyncWatch = sync),
      );
      return async () => {
        await stop();
        loader.close();
      };
    },
  };
}

/** Reads the bundle file (see readRegularFile), with the bundle's own messages. */
async function readBundleFile(path: string, maxBytes: number): Promise<Uint8Array> {
  try {
    return await readRegularFile(path, maxBytes);
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    if (e.kind === 'too_large') throw tooLarge(path, e.size, maxBytes);
    if (e.kind === 'not_regular') throw notRegularFile(path);
    throw new PdpError('SOURCE_UNAVAILABLE', `cannot read bundle ${path}: ${e.message}; check the path and permissions`, { cause: e.cause });
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

import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { PdpError } from '../../errors.js';
import type { Bundle } from '../../model/bundle.js';
import type { PolicySource } from '../source.js';
import { watchForChanges } from '../watch.js';
import { Loader } from '../loader/caller.js';
import { filesFingerprint, recordedFingerprint, watchedFiles } from '../referenced-files.js';

/** Options of `createSqliteDbSource`. */
export interface SqliteDbSourceOptions {
  /** The db file (see sqlite-schema.ts). Producers replace it atomically: write elsewhere, rename into place. */
  readonly path: string;
  /** Quiet period after a change in the directory before `watch` reports it. Default 250 ms. */
  readonly debounceMs?: number;
  /** Called when watching the directory fails (the source then may not see changes). */
  readonly onWatchError?: (err: Error) => void;
  /** The loader thread's heap in MB (see `loaderLimits`); unset, Node's default. */
  readonly loaderHeapMb?: number;
  /** LiteLLM's content filter categories directory, for built-in category names (see referenced-files.ts). */
  readonly contentFilterCategoriesDir?: string;
}

/**
 * A policy source reading a SQLite db of LiteLLM's policy tables. `load()` opens the file
 * read-only, reads every table in one transaction and closes it; the Bundle's `data` has the config
 * sections compile/parse reads plus `policy_versions` (draft and published rows), and its `hash`
 * is the sha256 of a canonical JSON of `data`, so the revision follows the content, not the bytes.
 * The db has no document: `locate` and `keysAt` answer undefined.
 *
 * Unreadable, missing or locked files throw SOURCE_UNAVAILABLE; corrupt files, files that are not
 * guardrail-pdp dbs (missing tables or columns, a newer format_version) and bad rows throw
 * BUNDLE_INVALID. better-sqlite3 is synchronous, so the reading (and hashing) runs on a loader
 * thread (see `Loader`) and never blocks the event loop.
 *
 * `watch` watches the file's directory and reports a change when the file was replaced (new inode)
 * or modified (size, mtime) since the last successful load, or cannot be stat'ed.
 */
export function createSqliteDbSource(options: SqliteDbSourceOptions): PolicySource {
  const { path } = options;
  // The file as it was just before the last successful load; undefined after a failure.
  let loaded: string | undefined;
  // The files its guardrails name (relative to the db's directory) and what was in them.
  let files: readonly string[] = [];
  let filesFound = '';
  let resyncWatch: (() => void) | undefined;
  const loader = new Loader({ heapMb: options.loaderHeapMb });

  const load = async (): Promise<Bundle> => {
    loaded = undefined;
    // Stat first: a change after this point differs from `signature` and is reported again.
    const signature = signatureOf(await statFile(path));
    const request = { kind: 'db' as const, path, files: { categoriesDir: options.contentFilterCategoriesDir } };
    const bundle = await loader.load(request);
    files = watchedFiles(bundle);
    filesFound = recordedFingerprint(bundle);
    loaded = signature;
    resyncWatch?.();
    return bundle;
  };

  // A stat that fails rejects, and watchForChanges reports that as a change: load() says why.
  const isChanged = async (): Promise<boolean> =>
    signatureOf(await stat(path)) !== loaded || (files.length > 0 && (await filesFingerprint(files)) !== filesFound);

  return {
    origin: path,
    load,
    watch: (onChange) => {
      const stop = watchForChanges(
        () => [path, ...files],
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

async function statFile(path: string): Promise<Stats> {
  let s: Stats;
  try {
    s = await stat(path);
  } catch (e) {
    throw new PdpError('SOURCE_UNAVAILABLE', `cannot read db ${path}: ${(e as Error).message}; check the path and permissions`, { cause: e });
  }
  if (!s.isFile()) throw new PdpError('SOURCE_UNAVAILABLE', `cannot read db ${path}: not a regular file`);
  return s;
}

function signatureOf(s: Stats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

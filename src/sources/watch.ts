import { basename, dirname, join, resolve } from 'node:path';
import { watch } from 'chokidar';

/** Default quiet period after the last change before `onChange` runs. */
export const DEFAULT_DEBOUNCE_MS = 250;

/** Options of `watchFile`. */
export interface WatchFileOptions {
  /** Quiet period after the last relevant event before `onChange` runs. Default 250 ms. */
  readonly debounceMs?: number;
  /** Called when the watcher itself fails (e.g. the inotify limit is reached). */
  readonly onError?: (err: Error) => void;
  /**
   * Called once the watcher sees events. A change made before that is not reported, so a caller
   * that loaded the file before watching should check it again here.
   */
  readonly onReady?: () => void;
}

/**
 * Calls `onChange` (debounced: a burst of events gives one call) whenever `path` may have changed.
 *
 * It watches the file's directory, not the file, because files are rarely edited in place:
 * editors and producers write a temp file and rename it over the old one, files are deleted and
 * re-created, and Kubernetes updates a ConfigMap volume by pointing a new `..data_tmp` symlink at
 * a new timestamped directory and renaming it over `..data` (with `file -> ..data/file`). Events
 * on the file's name and on any `..`-prefixed entry count; everything else in the directory is
 * ignored. Returns an async stop that cancels a pending call and closes the watcher.
 */
export function watchFile(path: string, options: WatchFileOptions, onChange: () => void): () => Promise<void> {
  const file = resolve(path);
  const dir = dirname(file);
  const name = basename(file);
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  // A directory that never goes quiet must still be reloaded now and then.
  const maxWaitMs = Math.max(4 * debounceMs, 1000);
  const isRelevant = (p: string): boolean => {
    const base = basename(p);
    return base === name || base.startsWith('..');
  };

  let timer: NodeJS.Timeout | undefined;
  let firstPendingAt = 0;
  let isStopped = false;
  const fire = (): void => {
    timer = undefined;
    if (!isStopped) onChange();
  };
  const schedule = (): void => {
    if (isStopped) return;
    const now = Date.now();
    if (timer === undefined) firstPendingAt = now;
    else clearTimeout(timer);
    timer = setTimeout(fire, Math.max(0, Math.min(debounceMs, firstPendingAt + maxWaitMs - now)));
  };

  // followSymlinks (the default) matters: chokidar then watches `file`'s resolved target, so a
  // `..data` swap surfaces as a change of `file` as well as addDir/unlinkDir of the timestamped dirs.
  const watcher = watch(dir, {
    depth: 0,
    ignoreInitial: true,
    ignored: (p: string) => p !== dir && join(dir, basename(p)) === p && !isRelevant(p),
  });
  watcher.on('all', (_event, p) => {
    if (isRelevant(p)) schedule();
  });
  watcher.on('ready', () => {
    if (!isStopped) options.onReady?.();
  });
  watcher.on('error', (err) => options.onError?.(err instanceof Error ? err : new Error(String(err))));

  return async () => {
    isStopped = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    await watcher.close();
  };
}

/**
 * A source's `watch`: on every directory event (and once when the watcher is ready, since the file
 * may have changed between the first load and the watcher starting), asks `isChanged` whether the
 * file differs from what the last load read, and calls `onChange` if so or if the check itself
 * fails (a gone or unreadable file: the load will say why). Nothing is reported after stop.
 */
export function watchForChanges(
  path: string,
  options: Omit<WatchFileOptions, 'onReady'>,
  isChanged: () => Promise<boolean>,
  onChange: () => void,
): () => Promise<void> {
  let isStopped = false;
  const report = (): void => {
    if (!isStopped) onChange();
  };
  const check = (): void => {
    isChanged().then((changed) => changed && report(), report);
  };
  const stop = watchFile(path, { ...options, onReady: check }, check);
  return () => {
    isStopped = true;
    return stop();
  };
}

import { statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { watch } from 'chokidar';

/** Default quiet period after the last change before `onChange` runs. */
export const DEFAULT_DEBOUNCE_MS = 250;

/** Options of `watchFile`. */
export interface WatchFileOptions {
  /**
   * Quiet period after the last relevant event before `onChange` runs, and how long a file written
   * in place must stay unchanged before its write counts as finished. Default 250 ms.
   */
  readonly debounceMs?: number;
  /** Called when the watcher itself fails (e.g. the inotify limit is reached). */
  readonly onError?: (err: Error) => void;
  /**
   * Called once the watcher sees events and the file has settled (unchanged for the settle time,
   * see `watchFile`). A change made before that is not reported, so a caller that loaded the file
   * before watching should check it again here.
   */
  readonly onReady?: () => void;
  /**
   * Called on every event about a watched file as soon as it happens, before the write settles
   * and before the debounce: the report that may follow comes later (a source starts its loader
   * thread here, see Loader.prepare). It may fire without a report ever following.
   */
  readonly onActivity?: () => void;
}

/** A write counts as finished once the file's size and events have been still this long, at least. */
const MIN_SETTLE_MS = 50;

/**
 * Calls `onChange` (debounced: a burst of events gives one call) whenever `path` may have changed.
 *
 * It watches the file's directory, not the file, because files are rarely edited in place:
 * editors and producers write a temp file and rename it over the old one, files are deleted and
 * re-created, and Kubernetes updates a ConfigMap volume by pointing a new `..data_tmp` symlink at
 * a new timestamped directory and renaming it over `..data` (with `file -> ..data/file`). Events
 * on the file's name and on any `..`-prefixed entry count; everything else in the directory is
 * ignored. Returns an async stop that cancels a pending call and closes the watcher.
 *
 * A file written in place is reported only once the writing has settled: chokidar holds its add
 * and change events until the file's size has not changed (and no event came) for `debounceMs`
 * (at least MIN_SETTLE_MS), so a slow writer is not read half-way, even by the maximum wait below.
 * A write already under way when the watcher becomes ready is waited for the same way before
 * `onReady`. A writer that pauses longer than that mid-file can still be caught: producers should
 * write elsewhere and rename into place, which is never seen half-done. Deletions and the `..data`
 * directory swap are not held (they are atomic).
 */
export function watchFile(path: string | readonly string[], options: WatchFileOptions, onChange: () => void): () => Promise<void> {
  // Several files are watched through their one directory (they must share it).
  const files = (typeof path === 'string' ? [path] : path).map((p) => resolve(p));
  const file = files[0] as string;
  const dir = dirname(file);
  const names = new Set(files.map((f) => basename(f)));
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  // A directory that never goes quiet must still be reloaded now and then.
  const maxWaitMs = Math.max(4 * debounceMs, 1000);
  const isRelevant = (p: string): boolean => {
    const base = basename(p);
    return names.has(base) || base.startsWith('..');
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
  const settleMs = Math.max(debounceMs, MIN_SETTLE_MS);
  const pollMs = Math.min(100, Math.max(10, Math.round(settleMs / 5)));
  const watcher = watch(dir, {
    depth: 0,
    ignoreInitial: true,
    awaitWriteFinish: { stabilityThreshold: settleMs, pollInterval: pollMs },
    ignored: (p: string) => p !== dir && join(dir, basename(p)) === p && !isRelevant(p),
  });
  watcher.on('all', (_event, p) => {
    if (isRelevant(p)) schedule();
  });
  // The file system's own events, which chokidar holds back until a write settles.
  if (options.onActivity !== undefined) {
    const onActivity = options.onActivity;
    watcher.on('raw', (_event, p) => {
      if (isStopped || typeof p !== 'string' || !isRelevant(p)) return;
      try {
        onActivity();
      } catch (e) {
        // A hint that failed must not take the watcher (and the process) down.
        options.onError?.(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }
  // A write that began before the watcher was ready has no event to hold: wait for it here.
  let readyTimer: NodeJS.Timeout | undefined;
  watcher.on('ready', () => {
    if (isStopped) return;
    let last = '';
    let stillSince = Date.now();
    const poll = (): void => {
      readyTimer = undefined;
      if (isStopped) return;
      const now = Date.now();
      const seen = files.map(statSignature).join('|');
      if (seen !== last) [last, stillSince] = [seen, now];
      if (now - stillSince >= settleMs) options.onReady?.();
      else readyTimer = setTimeout(poll, pollMs);
    };
    poll();
  });
  watcher.on('error', (err) => options.onError?.(err instanceof Error ? err : new Error(String(err))));

  return async () => {
    isStopped = true;
    if (timer !== undefined) clearTimeout(timer);
    if (readyTimer !== undefined) clearTimeout(readyTimer);
    timer = undefined;
    await watcher.close();
  };
}

/** What changes when a file is written: its identity, size and modification time ('' when it cannot be stat'ed). */
function statSignature(file: string): string {
  try {
    const s = statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return '';
  }
}

/**
 * A source's `watch`: on every directory event (and once when a watcher is ready, since a file
 * may have changed between the first load and the watcher starting), asks `isChanged` whether what
 * the last load read differs now, and calls `onChange` if so or if the check itself fails (a gone
 * or unreadable file: the load will say why). Nothing is reported after stop.
 *
 * `paths` are the files to watch: one, or a function giving the current list (a bundle and the
 * files it names, which change with each load). A function is asked again after every check, and
 * the directories watched follow it: one watcher per directory. `register` receives the function
 * that does that, for a source to call after a load changed the list.
 */
export function watchForChanges(
  paths: string | (() => readonly string[]),
  options: Omit<WatchFileOptions, 'onReady'>,
  isChanged: () => Promise<boolean>,
  onChange: () => void,
  register?: (sync: () => void) => void,
): () => Promise<void> {
  let isStopped = false;
  const report = (): void => {
    if (!isStopped) onChange();
  };
  const watchers = new Map<string, { readonly names: string; readonly stop: () => Promise<void> }>();
  const sync = (): void => {
    if (isStopped) return;
    const byDir = new Map<string, string[]>();
    for (const p of typeof paths === 'string' ? [paths] : paths()) {
      const file = resolve(p);
      const list = byDir.get(dirname(file)) ?? [];
      list.push(file);
      byDir.set(dirname(file), list);
    }
    for (const [dir, watcher] of watchers) {
      if (byDir.get(dir)?.sort().join('\n') !== watcher.names) {
        watchers.delete(dir);
        void watcher.stop();
      }
    }
    for (const [dir, files] of byDir) {
      if (watchers.has(dir)) continue;
      watchers.set(dir, { names: files.sort().join('\n'), stop: watchFile(files, { ...options, onReady: check }, check) });
    }
  };
  const check = (): void => {
    isChanged().then(
      (changed) => {
        if (changed) report();
        sync();
      },
      () => {
        report();
        sync();
      },
    );
  };
  sync();
  register?.(sync);
  return async () => {
    isStopped = true;
    const stops = [...watchers.values()].map((w) => w.stop());
    watchers.clear();
    await Promise.all(stops);
  };
}

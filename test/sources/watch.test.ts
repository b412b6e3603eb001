import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBundleFileSource } from '../../src/sources/bundle-file.js';
import { watchFile } from '../../src/sources/watch.js';
import { waitFor } from '../helpers/watch.js';

const DEBOUNCE_MS = 50;
/** Long enough for a stray second call to show up after the first (several debounce periods). */
const QUIET_MS = 6 * DEBOUNCE_MS;

let dir: string;
let stops: (() => Promise<void>)[];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-watch-'));
  stops = [];
});
afterEach(async () => {
  await Promise.all(stops.map((stop) => stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Watches `file` and resolves once the watcher is ready; `calls()` counts onChange calls. */
async function watching(file: string, debounceMs = DEBOUNCE_MS): Promise<{ calls: () => number; stop: () => Promise<void> }> {
  let calls = 0;
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const stop = watchFile(file, { debounceMs, onReady: ready }, () => calls++);
  stops.push(stop);
  await isReady;
  return { calls: () => calls, stop };
}

/** Builds a Kubernetes ConfigMap volume: dir/bundle.yaml -> ..data/bundle.yaml, ..data -> ..<ts>. */
function configMap(content: string): string {
  const ts = '..2026_11_21_10_00_00.000000001';
  fs.mkdirSync(path.join(dir, ts));
  fs.writeFileSync(path.join(dir, ts, 'bundle.yaml'), content);
  fs.symlinkSync(ts, path.join(dir, '..data'));
  fs.symlinkSync('..data/bundle.yaml', path.join(dir, 'bundle.yaml'));
  return path.join(dir, 'bundle.yaml');
}

/** Updates a ConfigMap volume as the kubelet does: new timestamped dir, ..data_tmp, rename, remove the old. */
function updateConfigMap(content: string): void {
  const old = fs.readlinkSync(path.join(dir, '..data'));
  const ts = `..2026_11_21_10_00_01.${process.hrtime.bigint()}`;
  fs.mkdirSync(path.join(dir, ts));
  fs.writeFileSync(path.join(dir, ts, 'bundle.yaml'), content);
  fs.symlinkSync(ts, path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  fs.rmSync(path.join(dir, old), { recursive: true });
}

describe('watchFile', () => {
  it('reports an in-place rewrite', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, 'a: 1\n');
    const w = await watching(file);
    fs.writeFileSync(file, 'a: 2\n');
    await waitFor(() => w.calls() >= 1, 5000, 'onChange');
  });

  it('reports an atomic rename of a temp file over the file', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, 'a: 1\n');
    const w = await watching(file);
    fs.writeFileSync(`${file}.tmp`, 'a: 2\n');
    fs.renameSync(`${file}.tmp`, file);
    await waitFor(() => w.calls() >= 1, 5000, 'onChange');
  });

  it('reports a deletion and then the re-creation', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, 'a: 1\n');
    const w = await watching(file);
    fs.rmSync(file);
    await waitFor(() => w.calls() >= 1, 5000, 'onChange after the deletion');
    const afterDelete = w.calls();
    fs.writeFileSync(file, 'a: 2\n');
    await waitFor(() => w.calls() > afterDelete, 5000, 'onChange after the re-creation');
  });

  it('reports a ConfigMap update that swaps the ..data symlink', async () => {
    const file = configMap('a: 1\n');
    const w = await watching(file);
    updateConfigMap('a: 2\n');
    await waitFor(() => w.calls() >= 1, 5000, 'onChange');
    expect(fs.readFileSync(file, 'utf8')).toBe('a: 2\n');
    // And again: the watcher follows the new ..data target, not the deleted one.
    const afterFirst = w.calls();
    await sleep(QUIET_MS);
    updateConfigMap('a: 3\n');
    await waitFor(() => w.calls() > afterFirst, 5000, 'onChange after the second update');
  });

  it('coalesces a burst of writes into one call', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, 'a: 0\n');
    // A longer debounce than elsewhere: on a loaded machine chokidar may report a write late.
    const debounceMs = 300;
    const w = await watching(file, debounceMs);
    for (let i = 1; i <= 10; i++) {
      fs.writeFileSync(file, `a: ${i}\n`);
      await sleep(5);
    }
    await waitFor(() => w.calls() >= 1, 5000, 'onChange');
    await sleep(2 * debounceMs);
    expect(w.calls()).toBe(1);
  });

  it('ignores other files in the directory', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, 'a: 1\n');
    const w = await watching(file);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello\n');
    fs.writeFileSync(path.join(dir, 'other.yaml'), 'b: 1\n');
    await sleep(QUIET_MS);
    expect(w.calls()).toBe(0);
  });

  it('calls onActivity at once for a write to the file or a ConfigMap swap, before the settled and debounced report, and not for other files', async () => {
    const file = configMap('a: 1\n');
    const seen: string[] = [];
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    stops.push(watchFile(file, { debounceMs: 300, onReady: ready, onActivity: () => seen.push('activity') }, () => seen.push('change')));
    await isReady;
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello\n');
    await sleep(QUIET_MS);
    expect(seen).toEqual([]);
    updateConfigMap('a: 2\n');
    await waitFor(() => seen.includes('change'), 5000, 'onChange');
    expect(seen[0]).toBe('activity');
  });

  it('reports an onActivity that throws to onError, and still reports the change', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, 'a: 1\n');
    const errors: string[] = [];
    let calls = 0;
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const onActivity = (): void => {
      throw new Error('no thread');
    };
    stops.push(watchFile(file, { debounceMs: DEBOUNCE_MS, onReady: ready, onActivity, onError: (e) => errors.push(e.message) }, () => calls++));
    await isReady;
    fs.writeFileSync(file, 'a: 2\n');
    await waitFor(() => calls >= 1, 5000, 'onChange');
    expect(errors[0]).toBe('no thread');
  });

  it('stops calling after stop() resolves', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, 'a: 1\n');
    const w = await watching(file);
    fs.writeFileSync(file, 'a: 2\n'); // pending when stop() runs: cancelled, not delivered
    await w.stop();
    fs.writeFileSync(file, 'a: 3\n');
    await sleep(QUIET_MS);
    expect(w.calls()).toBe(0);
  });
});

// The YAML source's use of watchFile and its content cache (see also yaml-bundle.test.ts).
describe('createBundleFileSource: caching and watching', () => {
  it('returns the same Bundle without parsing again when the bytes are unchanged', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, 'policies: {}\n');
    const source = createBundleFileSource({ path: file });
    const first = await source.load();
    fs.writeFileSync(file, 'policies: {}\n');
    expect(await source.load()).toBe(first);
    fs.writeFileSync(file, 'policies: { a: {} }\n');
    expect(await source.load()).not.toBe(first);
  });

  it('reports a change of content but not a rewrite of the same bytes', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, 'policies: {}\n');
    const source = createBundleFileSource({ path: file, debounceMs: DEBOUNCE_MS });
    await source.load();
    let calls = 0;
    stops.push(source.watch!(() => calls++));
    await sleep(QUIET_MS); // the ready-time check finds the same bytes
    fs.writeFileSync(file, 'policies: {}\n');
    await sleep(QUIET_MS);
    expect(calls).toBe(0);
    fs.writeFileSync(file, 'policies: { a: {} }\n');
    await waitFor(() => calls === 1, 5000, 'onChange');
  });

  it('reports a change made before the watcher was ready', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, 'policies: {}\n');
    const source = createBundleFileSource({ path: file, debounceMs: DEBOUNCE_MS });
    await source.load();
    fs.writeFileSync(file, 'policies: { a: {} }\n'); // after load(), before watch()
    let calls = 0;
    stops.push(source.watch!(() => calls++));
    await waitFor(() => calls >= 1, 5000, 'onChange');
  });

  it('reports a deletion, so the failure can be surfaced', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, 'policies: {}\n');
    const source = createBundleFileSource({ path: file, debounceMs: DEBOUNCE_MS });
    await source.load();
    let calls = 0;
    stops.push(source.watch!(() => calls++));
    await sleep(QUIET_MS);
    fs.rmSync(file);
    await waitFor(() => calls >= 1, 5000, 'onChange');
    await expect(source.load()).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE' });
  });
});

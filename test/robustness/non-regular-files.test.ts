// Issue 11, defect 6: the bundle size cap must hold for files that are not regular files. stat
// reports 0 bytes for a device or a FIFO, so a bundle symlinked to /dev/zero was read without end
// (RSS 3 GB in 15 s), and a FIFO blocked a threadpool thread forever (the process then cannot exit).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PdpError } from '../../src/errors.js';
import { createBundleFileSource } from '../../src/sources/bundle-file.js';
import { loadInWorker } from '../../src/sources/loader/caller.js';

let dir: string;
let fifos: string[];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-robust-nonregular-'));
  fifos = [];
});
afterEach(() => {
  // A reader stuck in a blocking open of a FIFO (the defect) is released by opening the write end.
  for (const fifo of fifos) {
    try {
      fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch {
      // ENXIO: no reader is waiting, as it should be.
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function mkfifo(name: string): string {
  const file = path.join(dir, name);
  execFileSync('mkfifo', [file]);
  fifos.push(file);
  return file;
}

/** What `promise` settles to within `ms`: its error, 'loaded', or 'pending'. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  const settled = promise.then(
    () => 'loaded',
    (e: unknown) => e,
  );
  try {
    return await Promise.race([settled, pending]);
  } finally {
    clearTimeout(timer);
  }
}

describe('non-regular bundle files (issue 11, defect 6)', () => {
  it('refuses a bundle symlinked to /dev/zero at once, without reading it', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.symlinkSync('/dev/zero', file);
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const outcome = await settledWithin(createBundleFileSource({ path: file }).load(), 2000);
    clearInterval(sampler);
    expect(outcome).toBeInstanceOf(PdpError);
    expect((outcome as PdpError).code).toBe('SOURCE_UNAVAILABLE');
    expect((outcome as PdpError).message).toContain('not a regular file');
    expect(peak - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    const fifo = mkfifo('bundle.yaml');
    const outcome = await settledWithin(createBundleFileSource({ path: fifo }).load(), 2000);
    expect(outcome).toBeInstanceOf(PdpError);
    expect((outcome as PdpError).code).toBe('SOURCE_UNAVAILABLE');
    expect((outcome as PdpError).message).toContain('not a regular file');
  });

  it('refuses a bundle symlinked to a FIFO', async () => {
    const fifo = mkfifo('real.fifo');
    const file = path.join(dir, 'bundle.yaml');
    fs.symlinkSync(fifo, file);
    const outcome = await settledWithin(createBundleFileSource({ path: file }).load(), 2000);
    expect((outcome as PdpError).code).toBe('SOURCE_UNAVAILABLE');
  });

  it('says how to get under the size cap (nothing sets maxBundleBytes)', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, `policies: {}\n${'#'.repeat(2000)}\n`);
    const outcome = await settledWithin(createBundleFileSource({ path: file, maxBundleBytes: 1000 }).load(), 2000);
    expect((outcome as PdpError).code).toBe('BUNDLE_INVALID');
    // Nothing sets maxBundleBytes: the advice must be something a user can do.
    expect((outcome as PdpError).message).not.toContain('maxBundleBytes');
    expect((outcome as PdpError).message).toContain('make it smaller');
  });

  it("refuses a db that became a FIFO after the source's check, on the loader thread, without blocking", async () => {
    // The db source stats the file before starting the loader thread; the thread opens the path
    // itself later. Asking the thread directly is the path being swapped in between.
    const fifo = mkfifo('policies.db');
    const outcome = await settledWithin(loadInWorker({ kind: 'db', path: fifo }), 5000);
    expect(outcome).toBeInstanceOf(PdpError);
    expect((outcome as PdpError).code).toBe('SOURCE_UNAVAILABLE');
    expect((outcome as PdpError).message).toContain('not a regular file');
  });
});

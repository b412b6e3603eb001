import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadInWorker } from '../../src/sources/loader/caller.js';
import type { PolicySource } from '../../src/sources/source.js';
import { createBundleFileSource } from '../../src/sources/bundle-file.js';
import { activatorFor } from '../helpers/activator.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-activator-loading-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const GOOD = 'policies:\n  a: {guardrails: {add: [x]}}\npolicy_attachments:\n  - {policy: a, scope: "*"}\n';

describe('Activator with sources that load on a loader thread', () => {
  it('keeps the last good snapshot when the file becomes malformed, and reports the parse error', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, GOOD);
    const { holder, activator, events } = activatorFor(createBundleFileSource({ path: file }));
    expect((await activator.activate()).kind).toBe('activated');
    const good = holder.current();

    fs.writeFileSync(file, 'policies:\n  a: [unclosed\n');
    const result = await activator.activate();
    expect(result.kind).toBe('failed');
    if (result.kind !== 'failed') return;
    expect(result.error.code).toBe('BUNDLE_INVALID');
    expect(result.issues.map((i) => i.rule)).toContain('unparseable');
    expect(holder.current()).toBe(good);
    expect(events.map((e) => e.kind)).toEqual(['activated', 'failed']);
  });

  it('keeps the last good snapshot when the loader thread runs out of its heap, and says why', async () => {
    const bytes = Buffer.from(GOOD);
    const request = { kind: 'file' as const, origin: 'crashy.yaml', bytes, hash: createHash('sha256').update(bytes).digest('hex') };
    let loads = 0;
    const source: PolicySource = {
      origin: 'crashy.yaml',
      // The second load gets a heap too small to start the loader: the thread dies.
      load: () => loadInWorker(request, loads++ === 0 ? {} : { heapMb: 2 }),
    };
    const { holder, activator, events } = activatorFor(source);
    expect((await activator.activate()).kind).toBe('activated');
    const good = holder.current();

    const result = await activator.activate();
    expect(result.kind).toBe('failed');
    if (result.kind !== 'failed') return;
    expect(result.error.code).toBe('BUNDLE_INVALID');
    expect(result.error.message).toContain('loading crashy.yaml');
    expect(holder.current()).toBe(good);
    expect(activator.lastFailure?.message).toContain('MB of heap a loader thread may use');
    expect(events.map((e) => e.kind)).toEqual(['activated', 'failed']);
  });
});

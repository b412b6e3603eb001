import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseBundle } from '../../../src/compile/parse/parse.js';
import { PdpError } from '../../../src/errors.js';
import type { Bundle, DocPath } from '../../../src/model/bundle.js';
import { readDbBundleData } from '../../../src/sources/sqlite/sqlite-read.js';
import { writeSqliteDb } from '../../../src/sources/sqlite/sqlite-writer.js';
import { Loader, loadInWorker } from '../../../src/sources/loader/caller.js';
import { parseBundleText } from '../../../src/sources/document/bundle-text.js';
import { finish } from '../../../src/steps.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-worker-loader-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** What the loader thread is sent for a file: its bytes and their sha256. */
function fileRequest(text: string, origin: string) {
  const bytes = Buffer.from(text, 'utf8');
  return { kind: 'file' as const, origin, bytes, hash: createHash('sha256').update(bytes).digest('hex') };
}

/** Every path into `data`, plus a missing key and a missing index under each. */
function pathsOf(data: unknown, at: DocPath = [], out: DocPath[] = []): DocPath[] {
  out.push(at, [...at, 'missing'], [...at, 99]);
  if (Array.isArray(data)) data.forEach((v, i) => pathsOf(v, [...at, i], out));
  else if (data !== null && typeof data === 'object' && !(data instanceof Date))
    for (const [k, v] of Object.entries(data)) pathsOf(v, [...at, k], out);
  return out;
}

function expectSameBundle(actual: Bundle, expected: Bundle): void {
  expect(actual.origin).toBe(expected.origin);
  expect(actual.hash).toBe(expected.hash);
  expect(actual.data).toStrictEqual(expected.data);
  expect(actual.duplicateKeys).toEqual(expected.duplicateKeys);
  for (const p of pathsOf(expected.data)) {
    expect(actual.locate(p), JSON.stringify(p)).toEqual(expected.locate(p));
    expect(actual.keysAt(p), JSON.stringify(p)).toEqual(expected.keysAt(p));
  }
}

/** A bundle large enough that its sections cross the thread in several pieces. */
function bigJson(policies: number): string {
  const doc = {
    guardrails: [{ guardrail_name: 'pii', litellm_params: { guardrail: 'presidio' } }],
    policies: Object.fromEntries(
      Array.from({ length: policies }, (_, i) => [`p${i}`, { guardrails: { add: ['pii'] }, ...(i % 3 ? { inherit: `p${i - 1}` } : {}) }]),
    ),
    policy_attachments: Array.from({ length: 2 * policies }, (_, i) => ({ policy: `p${i % policies}`, teams: [`t${i}`] })),
  };
  return JSON.stringify(doc, null, 1).replace('"p0": {', '"7": {"description": "integer-like"},\n"__proto__": {"description": "own key"},\n"p0": {');
}

const YAML = `base: &base
  guardrails: {add: [pii]}
policies:
  a:
    <<: *base
    description: on
  10: {}
  "20": {}
  b:
    guardrails:
      add: [x, y]
      add: [z]
  created: 2024-01-02
policy_attachments:
  - {policy: a, scope: "*"}
  - policy: b
    teams: [t1, t2]
`;

describe('loadInWorker', () => {
  it('loads YAML on the loader thread to the same Bundle as in-thread parsing: data, locations, keys, duplicates, hash', async () => {
    const request = fileRequest(YAML, 'x.yaml');
    expectSameBundle(await loadInWorker(request), parseBundleText(YAML, 'x.yaml'));
  });

  it('loads a large JSON bundle, sent in pieces, to the same Bundle as in-thread parsing', async () => {
    const text = bigJson(700);
    const bundle = await loadInWorker(fileRequest(text, 'big.json'));
    expectSameBundle(bundle, parseBundleText(text, 'big.json'));
    const policies = (bundle.data as { policies: Record<string, unknown> }).policies;
    expect(Object.hasOwn(policies, '__proto__')).toBe(true);
    expect(bundle.keysAt(['policies'])?.slice(0, 3).map((k) => k.name)).toEqual(['7', '__proto__', 'p0']);
  });

  it('reads a db on the loader thread to the same data and hash as reading it in-thread', async () => {
    const file = path.join(dir, 'policies.db');
    writeSqliteDb(file, finish(parseBundle(parseBundleText(bigJson(600), 'b.json'))).parsed, { revision: 'test' });
    const bundle = await loadInWorker({ kind: 'db', path: file });
    const inThread = readDbBundleData(file);
    expect(bundle.data).toStrictEqual(inThread.data);
    expect(bundle.hash).toBe(inThread.hash);
    expect(bundle.locate(['policies'])).toBeUndefined();
    expect(bundle.keysAt([])).toBeUndefined();
    expect(bundle.duplicateKeys).toEqual([]);
  });

  it('rejects a malformed file with the same BUNDLE_INVALID error and issues as in-thread parsing', async () => {
    const text = 'policies:\n  a: [unclosed\n';
    const inThread = (() => {
      try {
        parseBundleText(text, 'bad.yaml');
      } catch (e) {
        return e as PdpError;
      }
      throw new Error('expected a parse error');
    })();
    const err: unknown = await loadInWorker(fileRequest(text, 'bad.yaml')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PdpError);
    expect((err as PdpError).code).toBe('BUNDLE_INVALID');
    expect((err as PdpError).message).toBe(inThread.message);
    expect((err as PdpError).issues).toEqual(inThread.issues);
  });

  it('rejects with the db errors of the in-thread reader, e.g. a file that is not a db', async () => {
    const file = path.join(dir, 'not.db');
    fs.writeFileSync(file, 'policies:\n  alpha: {}\n'.repeat(200));
    const err: unknown = await loadInWorker({ kind: 'db', path: file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PdpError);
    expect((err as PdpError).code).toBe('BUNDLE_INVALID');
    expect((err as PdpError).message).toContain(file);
  });

  it('turns a loader thread out of its heap into BUNDLE_INVALID naming the origin, its size and the limit', async () => {
    const err: unknown = await loadInWorker(fileRequest(bigJson(3000), 'huge.json'), { heapMb: 4 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PdpError);
    expect((err as PdpError).code).toBe('BUNDLE_INVALID');
    expect((err as PdpError).message).toMatch(/^loading huge\.json \(\d+\.\d MiB\) needs more than the 4 MB of heap a loader thread may use \(--loader-heap-mb\); not loaded: /);
    expect((err as PdpError).issues).toEqual([expect.objectContaining({ severity: 'error', rule: 'invalid_bundle', file: 'huge.json' })]);
  });
});

describe('Loader: a thread prepared ahead of its load', () => {
  it('serves the next load, to the same Bundle as in-thread parsing, and is used once', async () => {
    const loader = new Loader({ heapMb: 96 });
    loader.prepare();
    loader.prepare(); // a burst of file events prepares one thread
    expect(loader.isPrepared).toBe(true);
    const first = await loader.load(fileRequest(YAML, 'x.yaml'));
    expect(loader.isPrepared).toBe(false);
    expectSameBundle(first, parseBundleText(YAML, 'x.yaml'));
    const text = bigJson(300);
    loader.prepare();
    expectSameBundle(await loader.load(fileRequest(text, 'big.json')), parseBundleText(text, 'big.json'));
    // Its limits are the loader's: a prepared thread runs out of heap like a new one.
    const small = new Loader({ heapMb: 4 });
    small.prepare();
    const err = await small.load(fileRequest(bigJson(3000), 'huge.json')).catch((e: unknown) => e);
    expect((err as PdpError).code).toBe('BUNDLE_INVALID');
  });

  it('ends when no load takes it within its idle time, or on close()', async () => {
    const loader = new Loader({ preparedIdleMs: 50 });
    loader.prepare();
    await new Promise((r) => setTimeout(r, 300));
    expect(loader.isPrepared).toBe(false);
    loader.prepare();
    loader.close();
    expect(loader.isPrepared).toBe(false);
    // And a load after either starts a thread of its own.
    expectSameBundle(await loader.load(fileRequest(YAML, 'x.yaml')), parseBundleText(YAML, 'x.yaml'));
  });

  it('never keeps the process alive while it waits', () => {
    const caller = new URL('../../../dist/sources/loader/caller.js', import.meta.url).href;
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', `import { Loader } from ${JSON.stringify(caller)}; new Loader().prepare();`], { timeout: 8000 });
    expect(child.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000); // well before its 10 s idle time
  });
});

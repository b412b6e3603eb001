import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PdpError } from '../../src/errors.js';
import { createBundleFileSource } from '../../src/sources/bundle-file.js';
import { parseBundleText } from '../../src/sources/document/bundle-text.js';
import { describeSourceContract } from './source-contract.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-yaml-bundle-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: string | Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

async function loadError(file: string, maxBundleBytes?: number): Promise<PdpError> {
  const err: unknown = await createBundleFileSource({ path: file, maxBundleBytes }).load().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PdpError);
  return err as PdpError;
}

const YAML = `policies:
  base:
    guardrails:
      add: [pii, toxicity]
policy_attachments:
  - policy: base
    scope: "*"
`;

describe('createBundleFileSource', () => {
  it('loads a YAML file into plain data with its origin', async () => {
    const file = write('bundle.yaml', YAML);
    const source = createBundleFileSource({ path: file });
    const bundle = await source.load();
    expect(source.origin).toBe(file);
    expect(bundle.origin).toBe(file);
    expect(bundle.data).toEqual({
      policies: { base: { guardrails: { add: ['pii', 'toxicity'] } } },
      policy_attachments: [{ policy: 'base', scope: '*' }],
    });
  });

  it('loads a JSON file the same way', async () => {
    const json = JSON.stringify({ policies: { base: { guardrails: { add: ['pii'] } } } }, null, 2);
    const bundle = await createBundleFileSource({ path: write('bundle.json', json) }).load();
    expect(bundle.data).toEqual({ policies: { base: { guardrails: { add: ['pii'] } } } });
  });

  it('hashes the raw bytes with sha256', async () => {
    const bundle = await createBundleFileSource({ path: write('b.yaml', YAML) }).load();
    expect(bundle.hash).toBe(createHash('sha256').update(YAML).digest('hex'));
  });

  it('gives the same hash for the same bytes and a different one after a change', async () => {
    const file = write('b.yaml', YAML);
    const source = createBundleFileSource({ path: file });
    const first = (await source.load()).hash;
    expect((await source.load()).hash).toBe(first);
    fs.writeFileSync(file, `${YAML}# a comment changes the bytes\n`);
    expect((await source.load()).hash).not.toBe(first);
  });

  it('gives the same Bundle back for unchanged bytes while that Bundle is in use', async () => {
    const source = createBundleFileSource({ path: write('b.yaml', YAML) });
    const first = await source.load();
    expect(await source.load()).toBe(first);
  });

  it('does not keep a loaded Bundle alive once nothing else uses it', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const source = createBundleFileSource({ path: write('b.yaml', YAML) });
    // Loaded in a function of its own, so no local of this test holds the Bundle.
    const loadWeakly = async (): Promise<WeakRef<object>> => new WeakRef(await source.load());
    const ref = await loadWeakly();
    await new Promise((r) => setImmediate(r)); // a WeakRef keeps its target until the current job ends
    gc();
    expect(ref.deref()).toBeUndefined();
    expect((await source.load()).hash).toBe(createHash('sha256').update(YAML).digest('hex'));
  });

  it('hashes parseBundleText input like the same file', async () => {
    const loaded = await createBundleFileSource({ path: write('b.yaml', YAML) }).load();
    expect(parseBundleText(YAML, 'x.yaml').hash).toBe(loaded.hash);
  });

  it('treats an empty file as an empty document', async () => {
    const bundle = await createBundleFileSource({ path: write('empty.yaml', '') }).load();
    expect(bundle.data).toBeNull();
  });

  it('treats a file of comments as an empty document', () => {
    expect(parseBundleText('# nothing yet\n', 'c.yaml').data).toBeNull();
  });

  it('reports an unreadable file as SOURCE_UNAVAILABLE naming the path', async () => {
    const missing = path.join(dir, 'missing.yaml');
    const err = await loadError(missing);
    expect(err.code).toBe('SOURCE_UNAVAILABLE');
    expect(err.message).toMatch(new RegExp(`^cannot read bundle ${missing}: .*ENOENT.*; check the path and permissions$`));
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('reports a directory as SOURCE_UNAVAILABLE', async () => {
    const err = await loadError(dir);
    expect(err.code).toBe('SOURCE_UNAVAILABLE');
  });

  it('rejects a file over maxBundleBytes as BUNDLE_INVALID', async () => {
    const err = await loadError(write('big.yaml', YAML), 10);
    expect(err.code).toBe('BUNDLE_INVALID');
    expect(err.message).toContain(`is ${Buffer.byteLength(YAML)} bytes, over the limit of 10 bytes`);
  });

  it('reports every YAML error at once as unparseable issues with line and column', async () => {
    const file = write('bad.yaml', 'policies:\n  a: [1, 2\n  b: "x\n');
    const err = await loadError(file);
    expect(err.code).toBe('BUNDLE_INVALID');
    expect(err.message).toContain(`cannot parse bundle ${file}:`);
    expect(err.issues.length).toBeGreaterThan(1);
    for (const issue of err.issues) {
      expect(issue).toMatchObject({ severity: 'error', rule: 'unparseable', file, path: '' });
      expect(issue.line).toBeGreaterThanOrEqual(2);
      expect(issue.column).toBeGreaterThanOrEqual(1);
    }
  });

  it('locates a syntax error on its line', () => {
    const err = (() => {
      try {
        parseBundleText('policies:\n  a: 1\n b: 2\n', 'x.yaml');
      } catch (e) {
        return e as PdpError;
      }
      throw new Error('expected a parse error');
    })();
    expect(err.issues[0]).toMatchObject({ rule: 'unparseable', line: 3 });
  });

  it('rejects more than one document, as PyYAML safe_load does', () => {
    expect(() => parseBundleText('a: 1\n---\nb: 2\n', 'x.yaml')).toThrow(/multiple documents/);
  });

  it('rejects tags PyYAML safe_load cannot construct', () => {
    expect(() => parseBundleText('policies: !include other.yaml\n', 'x.yaml')).toThrow(/Unresolved tag: !include/);
  });

  it('rejects bytes that are not UTF-8', async () => {
    const err = await loadError(write('latin1.yaml', Uint8Array.from([0x61, 0x3a, 0x20, 0xe9, 0x0a])));
    expect(err.issues[0]).toMatchObject({ rule: 'unparseable', message: 'the file is not valid UTF-8' });
  });

  it('reads YAML 1.1 booleans as PyYAML does: on and yes are booleans, y and n are strings', () => {
    const bundle = parseBundleText('a: on\nb: yes\nc: y\nd: n\ne: off\n', 'x.yaml');
    expect(bundle.data).toEqual({ a: true, b: true, c: 'y', d: 'n', e: false });
  });

  it('applies YAML merge keys as PyYAML does', () => {
    const bundle = parseBundleText('base: &b {add: [pii]}\nchild:\n  <<: *b\n  remove: [x]\n', 'x.yaml');
    expect(bundle.data).toEqual({ base: { add: ['pii'] }, child: { add: ['pii'], remove: ['x'] } });
  });

  it('keeps the last value of a duplicate key, as PyYAML does', () => {
    const bundle = parseBundleText('a: 1\nb: 2\na: 3\n', 'x.yaml');
    expect(bundle.data).toEqual({ a: 3, b: 2 });
  });
});

describe('locate', () => {
  const bundle = parseBundleText(YAML, 'x.yaml');

  it('returns the 1-based position of the value node for a present key', () => {
    expect(bundle.locate(['policies', 'base', 'guardrails', 'add'])).toEqual({ line: 4, column: 12 });
  });

  it('returns the position of a sequence item', () => {
    expect(bundle.locate(['policies', 'base', 'guardrails', 'add', 1])).toEqual({ line: 4, column: 18 });
    expect(bundle.locate(['policy_attachments', 0, 'scope'])).toEqual({ line: 7, column: 12 });
  });

  it('returns the nearest existing ancestor when the path is missing', () => {
    expect(bundle.locate(['policies', 'base', 'inherit'])).toEqual({ line: 3, column: 5 });
    expect(bundle.locate(['policies', 'nope', 'guardrails'])).toEqual({ line: 2, column: 3 });
  });

  it('returns the key when the value is empty', () => {
    expect(parseBundleText('a:\n  b:\n', 'x.yaml').locate(['a', 'b'])).toEqual({ line: 2, column: 3 });
  });

  it('returns the last occurrence of a duplicate key', () => {
    expect(parseBundleText('a: 1\nb: 2\na: 3\n', 'x.yaml').locate(['a'])).toEqual({ line: 3, column: 4 });
  });

  it('finds keys merged in with <<', () => {
    const merged = parseBundleText('base: &b\n  add: [pii]\nchild:\n  <<: *b\n', 'x.yaml');
    expect(merged.locate(['child', 'add'])).toEqual({ line: 2, column: 8 });
  });

  it('locates nodes in JSON', () => {
    const json = parseBundleText('{\n  "policies": {\n    "p": {"inherit": "q"}\n  }\n}\n', 'x.json');
    expect(json.locate(['policies', 'p', 'inherit'])).toEqual({ line: 3, column: 22 });
  });

  it('returns line 1 for the root of an empty document', () => {
    expect(parseBundleText('', 'x.yaml').locate(['policies'])).toEqual({ line: 1, column: 1 });
  });
});

describe('keysAt', () => {
  it('lists keys in document order, including integer-like keys', () => {
    const bundle = parseBundleText('policies:\n  b: {}\n  "10": {}\n  a: {}\n', 'x.yaml');
    expect(bundle.keysAt(['policies'])?.map((k) => k.name)).toEqual(['b', '10', 'a']);
  });

  it('gives every position of a duplicate key', () => {
    const bundle = parseBundleText('policies:\n  a: {}\n  b: {}\n  a: {}\n', 'x.yaml');
    const a = bundle.keysAt(['policies'])?.find((k) => k.name === 'a');
    expect(a?.positions).toEqual([
      { line: 2, column: 3 },
      { line: 4, column: 3 },
    ]);
  });

  it('flags keys YAML reads as numbers, booleans or null', () => {
    const bundle = parseBundleText('123: {}\non: {}\n"quoted": {}\n~: {}\n', 'x.yaml');
    expect(bundle.keysAt([])?.map((k) => [k.name, k.isString, k.source])).toEqual([
      ['123', false, '123'],
      ['true', false, 'on'],
      ['quoted', true, 'quoted'],
      ['', false, '~'],
    ]);
  });

  it('is undefined for a path that is not a mapping', () => {
    const bundle = parseBundleText('a: [1]\n', 'x.yaml');
    expect(bundle.keysAt(['a'])).toBeUndefined();
  });
});

describe('duplicateKeys', () => {
  it('lists every duplicate key with its path and every occurrence, anywhere in the document', () => {
    const bundle = parseBundleText('a: 1\nb:\n  - {x: 1, x: 2, x: 3}\na: 2\n', 'x.yaml');
    expect(bundle.duplicateKeys).toEqual([
      { path: ['a'], positions: [{ line: 1, column: 1 }, { line: 4, column: 1 }] },
      { path: ['b', 0, 'x'], positions: [{ line: 3, column: 6 }, { line: 3, column: 12 }, { line: 3, column: 18 }] },
    ]);
  });

  it('finds duplicate keys in JSON too', () => {
    expect(parseBundleText('{"policies": {"p": {}, "p": {}}}', 'x.json').duplicateKeys.map((d) => d.path)).toEqual([['policies', 'p']]);
  });
});

const CONTRACT_TEXT = {
  initial: 'policies:\n  alpha: {}\n',
  changed: 'policies:\n  beta: {}\n',
  bad: 'policies:\n  alpha: [unclosed\n',
};
describeSourceContract('createBundleFileSource', {
  async write(dir, variant) {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, CONTRACT_TEXT[variant]);
    return file;
  },
  create: (file) => createBundleFileSource({ path: file, debounceMs: 20 }),
});

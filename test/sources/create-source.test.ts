import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finish } from '../../src/steps.js';
import { parseBundle } from '../../src/compile/parse/parse.js';
import { createSource } from '../../src/sources/create-source.js';
import { writeSqliteDb } from '../../src/sources/sqlite/sqlite-writer.js';
import { bundleFromYaml } from '../helpers/bundle.js';

const YAML = 'policies:\n  a: {guardrails: {add: [g]}}\n';

describe('createSource', () => {
  it('reads a bundle file for kind bundle and a SQLite db for kind db, with the path as origin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdp-create-source-'));
    const file = join(dir, 'bundle.yaml');
    const db = join(dir, 'policies.db');
    writeFileSync(file, YAML);
    writeSqliteDb(db, finish(parseBundle(bundleFromYaml(YAML))).parsed, { revision: 'r' });

    const fromFile = createSource({ kind: 'bundle', path: file });
    const fromDb = createSource({ kind: 'db', path: db });
    expect([fromFile.origin, fromDb.origin]).toEqual([file, db]);
    const [a, b] = [await fromFile.load(), await fromDb.load()];
    // Only a document has positions: the file's bundle locates its policy, the db's cannot.
    expect(a.locate(['policies', 'a'])?.line).toBe(2);
    expect(b.locate(['policies', 'a'])).toBeUndefined();
    expect(finish(parseBundle(b)).parsed.policies.map((p) => p.name)).toEqual(['a']);
  });
});

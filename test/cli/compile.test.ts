import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, EXAMPLE } from '../helpers/cli.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-cli-compile-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function dump(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = ['LiteLLM_PolicyTable', 'LiteLLM_PolicyAttachmentTable', 'pdp_guardrails', 'pdp_meta'];
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}" ORDER BY 1`).all()]));
  } finally {
    db.close();
  }
}

const CONTEXTS = [
  '{"team_alias":"health-team","model":"gpt-4"}',
  '{"key_alias":"dev-key-1"}',
  '{"context":{"tags":["provider-x"],"model":"anthropic/claude"},"request_policies":["strict-mode"]}',
  '{"model":"gpt-4o-mini","team_alias":"healthcare-team"}',
].join('\n');

describe('guardrail-pdp compile', () => {
  it('writes the example bundle as a db that resolves like the bundle (all but the revision)', async () => {
    const db = path.join(dir, 'policies.db');
    const r = await cli(['compile', EXAMPLE, '-o', db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${db}: written (6 policies, 5 attachments, 6 guardrails; 0 errors, 0 warnings; mode strict)`);
    const contexts = path.join(dir, 'contexts.jsonl');
    fs.writeFileSync(contexts, CONTEXTS);
    const fromDb = await cli(['resolve', '--db', db, '--contexts', contexts]);
    const fromBundle = await cli(['resolve', '--bundle', EXAMPLE, '--contexts', contexts]);
    expect(fromDb.code).toBe(0);
    const strip = (out: string): unknown[] =>
      out
        .trim()
        .split('\n')
        .map((l) => ({ ...JSON.parse(l), revision: undefined }));
    expect(strip(fromDb.stdout)).toEqual(strip(fromBundle.stdout));
    expect(strip(fromDb.stdout)).toHaveLength(4);
  });

  it('refuses an invalid bundle: exit 1, every issue printed, nothing written', async () => {
    const bundle = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bundle, 'policies:\n  a:\n    inherit: nope\n');
    const db = path.join(dir, 'policies.db');
    const r = await cli(['compile', bundle, '-o', db]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${bundle}:3:14: error invalid_inheritance: Parent policy 'nope' not found [policies.a.inherit]`);
    expect(r.stdout).toContain(`${bundle}: invalid (1 error, 0 warnings; mode strict); ${db} not written`);
    expect(fs.existsSync(db)).toBe(false);
  });

  it('writes in compat mode what strict mode refuses', async () => {
    const bundle = path.join(dir, 'compat.yaml');
    fs.writeFileSync(bundle, 'policies:\n  a:\n    inherit: nope\n');
    const db = path.join(dir, 'policies.db');
    const r = await cli(['compile', bundle, '-o', db, '--mode', 'compat']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('warning invalid_inheritance');
    expect((await cli(['resolve', '--db', db, '--mode', 'compat', '--context', '{}'])).code).toBe(0);
  });

  it('gives identical rows when the same bundle is compiled twice (timestamps too with SOURCE_DATE_EPOCH)', async () => {
    const [a, b, c] = ['a.db', 'b.db', 'c.db'].map((f) => path.join(dir, f)) as [string, string, string];
    expect((await cli(['compile', EXAMPLE, '-o', a])).code).toBe(0);
    expect((await cli(['compile', EXAMPLE, '-o', b])).code).toBe(0);
    // Without SOURCE_DATE_EPOCH only the *_at columns and pdp_meta's created_at (the clock) may differ.
    const withoutTimes = (tables: Record<string, unknown[]>): unknown =>
      Object.entries(tables).map(([table, rows]) => [
        table,
        (rows as Record<string, unknown>[])
          .filter((row) => row.key !== 'created_at')
          .map((row) => Object.fromEntries(Object.entries(row).filter(([column]) => !column.endsWith('_at')))),
      ]);
    expect(withoutTimes(dump(b))).toEqual(withoutTimes(dump(a)));
    const epoch = { SOURCE_DATE_EPOCH: '1767225600' };
    expect((await cli(['compile', EXAMPLE, '-o', a], epoch)).code).toBe(0);
    expect((await cli(['compile', EXAMPLE, '-o', c], epoch)).code).toBe(0);
    expect(dump(c)).toEqual(dump(a));
    expect(dump(a).pdp_meta).toContainEqual({ key: 'created_at', value: '2026-01-01T00:00:00.000Z' });
  });

  it('exits 2 for a missing bundle, a missing -o, or an unwritable output', async () => {
    const missing = await cli(['compile', path.join(dir, 'none.yaml'), '-o', path.join(dir, 'x.db')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('none.yaml');
    const noOutput = await cli(['compile', EXAMPLE]);
    expect(noOutput.code).toBe(2);
    expect(noOutput.stderr).toContain('-o FILE.db is required');
    const unwritable = await cli(['compile', EXAMPLE, '-o', path.join(dir, 'no-such-dir', 'x.db')]);
    expect(unwritable.code).toBe(2);
    expect(unwritable.stderr).toContain('cannot write db');
  });
});

describe('guardrail-pdp resolve --db', () => {
  it('takes exactly one of --bundle and --db', async () => {
    const both = await cli(['resolve', '--bundle', EXAMPLE, '--db', 'x.db', '--context', '{}']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give exactly one of --bundle or --db');
    const neither = await cli(['resolve', '--context', '{}']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('give --bundle FILE or --db FILE.db to answer offline');
  });

  it('exits 2 naming the db when it is not a guardrail-pdp db', async () => {
    const db = path.join(dir, 'empty.db');
    fs.writeFileSync(db, '');
    const r = await cli(['resolve', '--db', db, '--context', '{}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a guardrail-pdp db: missing table');
  });
});

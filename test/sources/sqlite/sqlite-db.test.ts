import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compile } from '../../../src/compile/compile.js';
import { parseBundle } from '../../../src/compile/parse/parse.js';
import { resolve } from '../../../src/engine/resolve.js';
import { PdpError } from '../../../src/errors.js';
import type { RequestContext } from '../../../src/model/decision.js';
import { createSqliteDbSource } from '../../../src/sources/sqlite/sqlite-db.js';
import { SCHEMA_SQL } from '../../../src/sources/sqlite/sqlite-schema.js';
import { writeSqliteDb, writeSqliteRows } from '../../../src/sources/sqlite/sqlite-writer.js';
import type { DbRows } from '../../../src/sources/sqlite/sqlite-rows.js';
import { bundleFromYaml } from '../../helpers/bundle.js';
import { describeSourceContract } from '../source-contract.js';
import { finish } from '../../../src/steps.js';


/** Writes a bundle through the writer (temp file + rename, as producers should). */
function writeYaml(file: string, yaml: string): void {
  writeSqliteDb(file, finish(parseBundle(bundleFromYaml(yaml))).parsed, { revision: 'test' });
}

const ALPHA = 'guardrails:\n  - {guardrail_name: pii, litellm_params: {guardrail: presidio}}\npolicies:\n  alpha: {guardrails: {add: [pii]}}\n';
const BETA = 'guardrails:\n  - {guardrail_name: pii, litellm_params: {guardrail: presidio}}\npolicies:\n  beta: {guardrails: {add: [pii]}}\n';

describeSourceContract('createSqliteDbSource', {
  async write(dir, variant) {
    const file = path.join(dir, 'policies.db');
    if (variant === 'bad') {
      fs.writeFileSync(`${file}.new`, 'policies:\n  alpha: {}\n'.repeat(200));
      fs.renameSync(`${file}.new`, file);
    } else {
      writeYaml(file, variant === 'initial' ? ALPHA : BETA);
    }
    return file;
  },
  create: (file) => createSqliteDbSource({ path: file, debounceMs: 20 }),
});

let dir: string;
let stops: (() => Promise<void>)[];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-sqlite-db-'));
  stops = [];
});
afterEach(async () => {
  await Promise.all(stops.map((stop) => stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function loadError(file: string): Promise<PdpError> {
  const err: unknown = await createSqliteDbSource({ path: file }).load().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PdpError);
  return err as PdpError;
}

/** An empty guardrail-pdp db (schema and meta rows) made with raw SQL, not the writer. */
function emptyDb(file: string, meta: Record<string, string> = {}): Database.Database {
  const db = new Database(file);
  db.pragma('synchronous = OFF'); // test speed: no fsync per statement
  db.exec(SCHEMA_SQL);
  const rows = { format: 'guardrail-pdp', format_version: '1', revision: 'r1', created_at: '2026-01-01T00:00:00.000Z', ...meta };
  const insert = db.prepare('INSERT INTO pdp_meta (key, value) VALUES (?, ?)');
  for (const [k, v] of Object.entries(rows)) insert.run(k, v);
  return db;
}

function insertPolicy(db: Database.Database, row: Record<string, unknown>): void {
  const cols = Object.keys(row);
  db.prepare(`INSERT INTO "LiteLLM_PolicyTable" (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...Object.values(row));
}

// ---- LiteLLM's rows as a producer stores them (compile --from-postgres reads them from Postgres:
// test/cli/postgres-sync.test.ts): arrays and JSON as JSON text, timestamps as ISO text, NULLs kept.

const T = (day: number, hour: number): string => `2026-01-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00.000Z`;

const LITELLM_ROWS: DbRows = {
  policies: [
    {
      policy_id: '3f0b8c1e-0000-4000-8000-000000000001', policy_name: 'baseline', inherit: null, description: 'Base, for "all" requests',
      guardrails_add: '["pii_masking","prompt_injection"]', guardrails_remove: '[]', condition: '{}', pipeline: null,
      version_number: 1, version_status: 'production', parent_version_id: null, is_latest: 1, published_at: null, production_at: T(10, 9),
      created_at: T(10, 9), created_by: 'admin', updated_at: T(10, 9), updated_by: null,
    },
    {
      policy_id: '3f0b8c1e-0000-4000-8000-000000000002', policy_name: 'hipaa', inherit: 'baseline', description: null,
      guardrails_add: '["hipaa_audit"]', guardrails_remove: '["prompt_injection"]', condition: '{"model": ["gpt-4.*", "claude-3.*"]}', pipeline: null,
      version_number: 1, version_status: 'published', parent_version_id: null, is_latest: 0, published_at: T(11, 10), production_at: null,
      created_at: T(11, 9), created_by: 'admin', updated_at: T(11, 9), updated_by: null,
    },
    {
      policy_id: '3f0b8c1e-0000-4000-8000-000000000003', policy_name: 'hipaa', inherit: 'baseline', description: 'v2\ntwo lines',
      guardrails_add: '["hipaa_audit","toxicity_filter"]', guardrails_remove: '["prompt_injection"]', condition: '{"model": "gpt-4.*"}', pipeline: null,
      version_number: 2, version_status: 'production', parent_version_id: '3f0b8c1e-0000-4000-8000-000000000002', is_latest: 0,
      published_at: T(12, 10), production_at: T(12, 11), created_at: T(12, 9), created_by: 'admin', updated_at: T(12, 9), updated_by: null,
    },
    {
      policy_id: '3f0b8c1e-0000-4000-8000-000000000004', policy_name: 'hipaa', inherit: 'baseline', description: 'draft',
      guardrails_add: '["hipaa_audit","secrets_filter"]', guardrails_remove: '[]', condition: '{}',
      pipeline: '{"mode": "pre_call", "steps": [{"on_fail": "block", "on_pass": "allow", "guardrail": "secrets_filter"}]}',
      version_number: 3, version_status: 'draft', parent_version_id: '3f0b8c1e-0000-4000-8000-000000000003', is_latest: 1,
      published_at: null, production_at: null, created_at: T(13, 9), created_by: 'admin', updated_at: T(13, 9), updated_by: null,
    },
  ],
  attachments: [
    { attachment_id: 'b-attach', policy_name: 'hipaa', scope: null, teams: '["health-*","team, with comma"]', keys: '[]', models: '[]', tags: '[]', created_at: T(12, 9), created_by: null, updated_at: T(12, 9), updated_by: null },
    { attachment_id: 'a-attach', policy_name: 'hipaa', scope: null, teams: '[]', keys: '[]', models: '["gpt-4"]', tags: '[]', created_at: T(12, 9), created_by: null, updated_at: T(12, 9), updated_by: null },
    { attachment_id: 'z-global', policy_name: 'baseline', scope: '*', teams: '[]', keys: '[]', models: '[]', tags: '[]', created_at: T(10, 9), created_by: null, updated_at: T(10, 9), updated_by: null },
  ],
  guardrails: ['pii_masking', 'prompt_injection', 'hipaa_audit', 'toxicity_filter', 'secrets_filter'].map((guardrail_name) => ({
    guardrail_name,
    litellm_params: JSON.stringify({ guardrail: 'custom', mode: 'pre_call' }),
  })),
};

/** A db of LITELLM_ROWS, written as compile --from-postgres writes one. */
function litellmDb(file: string): void {
  writeSqliteRows(file, LITELLM_ROWS, { revision: 'test' });
}

const LITELLM_DATA = {
  guardrails: ['hipaa_audit', 'pii_masking', 'prompt_injection', 'secrets_filter', 'toxicity_filter'].map((guardrail_name) => ({ guardrail_name, litellm_params: { guardrail: 'custom', mode: 'pre_call' } })),
  policies: {
    baseline: {
      inherit: null,
      description: 'Base, for "all" requests',
      guardrails: { add: ['pii_masking', 'prompt_injection'], remove: [] },
      condition: {},
      pipeline: null,
    },
    hipaa: {
      inherit: 'baseline',
      description: 'v2\ntwo lines',
      guardrails: { add: ['hipaa_audit', 'toxicity_filter'], remove: ['prompt_injection'] },
      condition: { model: 'gpt-4.*' },
      pipeline: null,
    },
  },
  policy_attachments: [
    { policy: 'baseline', scope: '*', teams: [], keys: [], models: [], tags: [] },
    { policy: 'hipaa', scope: null, teams: [], keys: [], models: ['gpt-4'], tags: [] },
    { policy: 'hipaa', scope: null, teams: ['health-*', 'team, with comma'], keys: [], models: [], tags: [] },
  ],
  policy_versions: [
    {
      policy_id: '3f0b8c1e-0000-4000-8000-000000000002',
      policy_name: 'hipaa',
      version_number: 1,
      version_status: 'published',
      inherit: 'baseline',
      description: null,
      guardrails: { add: ['hipaa_audit'], remove: ['prompt_injection'] },
      condition: { model: ['gpt-4.*', 'claude-3.*'] },
      pipeline: null,
    },
    {
      policy_id: '3f0b8c1e-0000-4000-8000-000000000004',
      policy_name: 'hipaa',
      version_number: 3,
      version_status: 'draft',
      inherit: 'baseline',
      description: 'draft',
      guardrails: { add: ['hipaa_audit', 'secrets_filter'], remove: [] },
      condition: {},
      pipeline: { mode: 'pre_call', steps: [{ on_fail: 'block', on_pass: 'allow', guardrail: 'secrets_filter' }] },
    },
  ],
};

describe("createSqliteDbSource: LiteLLM's rows", () => {
  it("reads LiteLLM's rows: production rows live, drafts and published rows as versions", async () => {
    const file = path.join(dir, 'policies.db');
    litellmDb(file);
    const bundle = await createSqliteDbSource({ path: file }).load();
    expect(bundle.data).toEqual(LITELLM_DATA);
    const result = finish(compile(bundle, { mode: 'strict' }));
    expect(result.issues).toEqual([]);
    expect(result.ok && [...result.snapshot.policies.keys()].sort()).toEqual(['baseline', 'hipaa']);
  });

  it('serves a draft version to a request naming policy_<policy_id>, and the production row to others', async () => {
    const file = path.join(dir, 'policies.db');
    litellmDb(file);
    const result = finish(compile(await createSqliteDbSource({ path: file }).load(), { mode: 'strict' }));
    if (!result.ok) throw new Error('compiles');
    const context: RequestContext = { teamAlias: undefined, keyAlias: undefined, model: 'gpt-4', tags: [] };
    const ask = (requestPolicies: string[]): readonly string[] =>
      resolve(result.snapshot, { context, requestPolicies, keyPolicies: [], teamPolicies: [] }).guardrails;
    expect(ask([])).toEqual(['hipaa_audit', 'pii_masking', 'prompt_injection', 'toxicity_filter']);
    // The draft (v3) adds secrets_filter in a pipeline step and drops toxicity_filter.
    expect(ask(['policy_3f0b8c1e-0000-4000-8000-000000000004'])).toEqual(['hipaa_audit', 'pii_masking', 'prompt_injection']);
  });

  it('orders attachments by created_at, then attachment_id', async () => {
    const file = path.join(dir, 'policies.db');
    litellmDb(file);
    const { parsed } = finish(parseBundle(await createSqliteDbSource({ path: file }).load()));
    expect(parsed.attachments.map((a) => [a.policy, a.isGlobal, a.teams, a.models])).toEqual([
      ['baseline', true, undefined, undefined],
      ['hipaa', false, undefined, ['gpt-4']],
      ['hipaa', false, ['health-*', 'team, with comma'], undefined],
    ]);
  });

});

describe('createSqliteDbSource', () => {
  it('takes the highest version_number when several production rows share a name', async () => {
    const file = path.join(dir, 'policies.db');
    const db = emptyDb(file);
    insertPolicy(db, { policy_id: 'a1', policy_name: 'a', guardrails_add: '["old"]', version_number: 1, version_status: 'production' });
    insertPolicy(db, { policy_id: 'a2', policy_name: 'a', guardrails_add: '["new"]', version_number: 2, version_status: 'production' });
    db.close();
    const data = (await createSqliteDbSource({ path: file }).load()).data as { policies: Record<string, { guardrails: { add: string[] } }> };
    expect(data.policies.a?.guardrails.add).toEqual(['new']);
  });

  it("derives the hash from the content, not from the file's bytes or the meta rows", async () => {
    const build = (file: string, order: 'ab' | 'ba', params: string, revision: string): Promise<string> => {
      const db = emptyDb(file, { revision });
      const g = db.prepare('INSERT INTO pdp_guardrails (guardrail_name, litellm_params) VALUES (?, ?)');
      const rows: [string, string][] = [
        ['a', params],
        ['b', '{"guardrail": "custom"}'],
      ];
      for (const [name, p] of order === 'ab' ? rows : rows.reverse()) g.run(name, p);
      db.close();
      return createSqliteDbSource({ path: file }).load().then((b) => b.hash);
    };
    const first = await build(path.join(dir, '1.db'), 'ab', '{"guardrail": "presidio", "mode": "pre_call"}', 'r1');
    const reordered = await build(path.join(dir, '2.db'), 'ba', '{"mode":"pre_call","guardrail":"presidio"}', 'r2');
    const changed = await build(path.join(dir, '3.db'), 'ab', '{"guardrail": "presidio", "mode": "post_call"}', 'r1');
    expect(reordered).toBe(first);
    expect(changed).not.toBe(first);
  });

  it('has no document positions: locate and keysAt answer undefined, no duplicate keys', async () => {
    const file = path.join(dir, 'policies.db');
    litellmDb(file);
    const bundle = await createSqliteDbSource({ path: file }).load();
    expect(bundle.locate(['policies', 'hipaa'])).toBeUndefined();
    expect(bundle.keysAt(['policies'])).toBeUndefined();
    expect(bundle.duplicateKeys).toEqual([]);
    expect(Object.isFrozen(bundle)).toBe(true);
  });

  it('reports every invalid JSON or wrongly typed column, naming the table, row and column', async () => {
    const file = path.join(dir, 'policies.db');
    const db = emptyDb(file);
    insertPolicy(db, { policy_id: 'p1', policy_name: 'a', guardrails_add: '["pii"', condition: '' });
    insertPolicy(db, { policy_id: 'p2', policy_name: 'b', guardrails_remove: '"pii"', pipeline: '[1]' });
    db.prepare(`INSERT INTO "LiteLLM_PolicyAttachmentTable" (attachment_id, policy_name, tags) VALUES ('t1', 'a', '[1]')`).run();
    db.prepare(`INSERT INTO pdp_guardrails VALUES ('g', '"presidio"')`).run();
    db.close();
    const err = await loadError(file);
    expect(err.code).toBe('BUNDLE_INVALID');
    expect(err.issues.map((i) => i.path)).toEqual([
      'pdp_guardrails[guardrail_name=g].litellm_params',
      'LiteLLM_PolicyTable[policy_id=p1].guardrails_add',
      'LiteLLM_PolicyTable[policy_id=p1].condition',
      'LiteLLM_PolicyTable[policy_id=p2].guardrails_remove',
      'LiteLLM_PolicyTable[policy_id=p2].pipeline',
      'LiteLLM_PolicyAttachmentTable[attachment_id=t1].tags',
    ]);
    for (const issue of err.issues) expect(issue).toMatchObject({ severity: 'error', rule: 'invalid_bundle', file, line: 0, column: 0 });
    expect(err.issues[1]?.message).toMatch(/^LiteLLM_PolicyTable row policy_id=p1: guardrails_add is not valid JSON: .*; store a JSON array of strings/);
    expect(err.issues[2]?.message).toContain('(an empty string; store NULL for none)');
    expect(err.issues[3]?.message).toBe(
      'LiteLLM_PolicyTable row policy_id=p2: guardrails_remove must be a JSON array of strings, e.g. ["pii_masking"] ([] for none), got "pii"',
    );
    expect(err.message).toContain('(and 5 more)');
  });

  it('rejects a missing file with SOURCE_UNAVAILABLE naming the path', async () => {
    const file = path.join(dir, 'missing.db');
    const err = await loadError(file);
    expect(err.code).toBe('SOURCE_UNAVAILABLE');
    expect(err.message).toContain(file);
  });

  it('rejects a db locked by a writer with SOURCE_UNAVAILABLE, without waiting, and loads once it commits', async () => {
    const file = path.join(dir, 'policies.db');
    litellmDb(file);
    const writer = new Database(file);
    writer.exec('BEGIN EXCLUSIVE');
    const started = Date.now();
    const err = await loadError(file);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err.code).toBe('SOURCE_UNAVAILABLE');
    expect(err.message).toContain('db is locked by a writer; producers should write elsewhere and rename into place');
    writer.exec('COMMIT');
    writer.close();
    await expect(createSqliteDbSource({ path: file }).load()).resolves.toBeDefined();
  });

  it('rejects a truncated db with BUNDLE_INVALID', async () => {
    const file = path.join(dir, 'policies.db');
    const db = emptyDb(file);
    db.transaction(() => {
      for (let i = 0; i < 500; i++) insertPolicy(db, { policy_id: `p${i}`, policy_name: `policy-${i}`, description: 'x'.repeat(200) });
    })();
    db.close();
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const err = await loadError(file);
    expect(err.code).toBe('BUNDLE_INVALID');
    expect(err.message).toContain('truncated, corrupt or not a SQLite db');
    expect(err.issues[0]).toMatchObject({ rule: 'invalid_bundle', file });
  });

  it('rejects an empty file as not a guardrail-pdp db', async () => {
    const file = path.join(dir, 'policies.db');
    fs.writeFileSync(file, '');
    const err = await loadError(file);
    expect(err.code).toBe('BUNDLE_INVALID');
    expect(err.message).toContain('not a guardrail-pdp db: missing table LiteLLM_PolicyTable');
  });

  it('rejects a file that is not a SQLite db with BUNDLE_INVALID', async () => {
    const file = path.join(dir, 'policies.db');
    fs.writeFileSync(file, 'policies:\n  a: {}\n'.repeat(100));
    const err = await loadError(file);
    expect(err.code).toBe('BUNDLE_INVALID');
    expect(err.message).toContain('SQLITE_NOTADB');
  });

  it('rejects a db without our tables, naming every missing table and column', async () => {
    const file = path.join(dir, 'policies.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE "LiteLLM_PolicyTable" (policy_id TEXT, policy_name TEXT);
      CREATE TABLE "LiteLLM_PolicyAttachmentTable" (attachment_id TEXT, policy_name TEXT, scope TEXT, teams TEXT, keys TEXT, models TEXT, tags TEXT);
      CREATE TABLE pdp_guardrails (guardrail_name TEXT, litellm_params TEXT);`);
    db.close();
    const err = await loadError(file);
    expect(err.code).toBe('BUNDLE_INVALID');
    expect(err.issues.map((i) => i.message)).toEqual([
      'not a guardrail-pdp db: table LiteLLM_PolicyTable is missing columns inherit, description, guardrails_add, guardrails_remove, condition, pipeline, version_number, version_status; create it with `guardrail-pdp compile` (from a bundle or --from-postgres)',
      'not a guardrail-pdp db: table LiteLLM_PolicyAttachmentTable is missing column created_at; create it with `guardrail-pdp compile` (from a bundle or --from-postgres)',
      'not a guardrail-pdp db: missing table pdp_meta; create it with `guardrail-pdp compile` (from a bundle or --from-postgres)',
    ]);
  });

  it('rejects a db whose pdp_meta names another format', async () => {
    const file = path.join(dir, 'policies.db');
    emptyDb(file, { format: 'something-else' }).close();
    const err = await loadError(file);
    expect(err.code).toBe('BUNDLE_INVALID');
    expect(err.message).toContain(`not a guardrail-pdp db: pdp_meta says format "something-else"`);
  });

  it('rejects a db with a newer format_version, saying to upgrade', async () => {
    const file = path.join(dir, 'policies.db');
    emptyDb(file, { format_version: '2' }).close();
    const err = await loadError(file);
    expect(err.code).toBe('BUNDLE_INVALID');
    expect(err.message).toContain('format_version 2 is newer than this guardrail-pdp reads (1); upgrade guardrail-pdp');
  });
});

describe('createSqliteDbSource watch', () => {
  /** Loads, then watches; resolves once a first quiet period has passed. */
  async function watched(file: string): Promise<{ changes: () => number }> {
    const source = createSqliteDbSource({ path: file, debounceMs: 20 });
    await source.load();
    let changes = 0;
    stops.push(source.watch!(() => changes++));
    await sleep(300);
    return { changes: () => changes };
  }

  async function waitForChange(w: { changes: () => number }, withinMs: number): Promise<number> {
    const started = Date.now();
    while (w.changes() === 0) {
      if (Date.now() - started > withinMs) throw new Error(`no change reported within ${withinMs} ms`);
      await sleep(10);
    }
    return Date.now() - started;
  }

  it('notices within 1 s that the db was replaced by a rename', async () => {
    const file = path.join(dir, 'policies.db');
    writeYaml(file, ALPHA);
    const w = await watched(file);
    writeYaml(file, BETA);
    expect(await waitForChange(w, 1000)).toBeLessThan(1000);
  });

  it('notices a db modified in place', async () => {
    const file = path.join(dir, 'policies.db');
    writeYaml(file, ALPHA);
    const w = await watched(file);
    const db = new Database(file);
    db.prepare(`UPDATE "LiteLLM_PolicyTable" SET description = 'changed'`).run();
    db.close();
    await waitForChange(w, 1000);
  });

  it('ignores other files in the directory and a db that did not change', async () => {
    const file = path.join(dir, 'policies.db');
    writeYaml(file, ALPHA);
    const w = await watched(file);
    fs.writeFileSync(path.join(dir, 'other.db'), 'x');
    fs.writeFileSync(path.join(dir, 'policies.db.new'), 'x');
    const fd = fs.openSync(file, 'r');
    fs.closeSync(fd);
    await sleep(300);
    expect(w.changes()).toBe(0);
  });
});

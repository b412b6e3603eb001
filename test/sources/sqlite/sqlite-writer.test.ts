import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compile } from '../../../src/compile/compile.js';
import { parseBundle } from '../../../src/compile/parse/parse.js';
import { resolve } from '../../../src/engine/resolve.js';
import type { RequestContext } from '../../../src/model/decision.js';
import { createSqliteDbSource } from '../../../src/sources/sqlite/sqlite-db.js';
import { policyIdOf, writeSqliteDb, writeSqliteRows } from '../../../src/sources/sqlite/sqlite-writer.js';
import { readDbMeta } from '../../../src/sources/sqlite/sqlite-read.js';
import { createBundleFileSource } from '../../../src/sources/bundle-file.js';
import { bundleFromYaml } from '../../helpers/bundle.js';
import { finish } from '../../../src/steps.js';

const EXAMPLE = new URL('../../../examples/bundle.yaml', import.meta.url).pathname;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-sqlite-writer-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function rows(file: string, sql: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

describe('writeSqliteDb', () => {
  it('writes a bundle that loads back to the same parsed policies, attachments and guardrails', async () => {
    const bundle = await createBundleFileSource({ path: EXAMPLE }).load();
    const file = path.join(dir, 'policies.db');
    writeSqliteDb(file, finish(parseBundle(bundle)).parsed, { revision: bundle.hash });
    const back = finish(parseBundle(await createSqliteDbSource({ path: file }).load()));
    const original = finish(parseBundle(bundle));
    expect(back.issues).toEqual([]);
    expect(back.parsed.policies).toEqual([...original.parsed.policies].sort((a, b) => (a.name < b.name ? -1 : 1)));
    expect(back.parsed.attachments).toEqual(original.parsed.attachments);
    // The db keeps guardrails by name, so their positions (`index`) are the db's, not the file's.
    const content = ({ index: _, ...g }: (typeof original.parsed.guardrails)[number]) => g;
    expect(back.parsed.guardrails.map(content)).toEqual([...original.parsed.guardrails].sort((a, b) => (a.name < b.name ? -1 : 1)).map(content));
  });

  it('gives the same Resolve answers as the bundle it was written from', async () => {
    const bundle = await createBundleFileSource({ path: EXAMPLE }).load();
    const file = path.join(dir, 'policies.db');
    writeSqliteDb(file, finish(parseBundle(bundle)).parsed, { revision: bundle.hash });
    const fromYaml = finish(compile(bundle, { mode: 'strict' }));
    const fromDb = finish(compile(await createSqliteDbSource({ path: file }).load(), { mode: 'strict' }));
    if (!fromYaml.ok || !fromDb.ok) throw new Error('both compile');
    const contexts: RequestContext[] = [
      { teamAlias: 'health-team', keyAlias: undefined, model: 'gpt-4', tags: [] },
      { teamAlias: undefined, keyAlias: 'dev-key-1', model: 'anthropic/claude', tags: ['provider-x'] },
      { teamAlias: 'healthcare-team', keyAlias: undefined, model: 'gpt-4o-mini', tags: [] },
    ];
    for (const context of contexts) {
      const request = { context, requestPolicies: ['strict-mode'], keyPolicies: [], teamPolicies: [] };
      const a = resolve(fromYaml.snapshot, request);
      const b = resolve(fromDb.snapshot, request);
      expect({ ...b, revision: a.revision }).toEqual(a);
      expect(b.appliedPolicies.length).toBeGreaterThan(0);
    }
  });

  it('writes production rows with ids derived from the names, and attachment ids in bundle order', () => {
    const file = path.join(dir, 'policies.db');
    const yaml = 'policies:\n  b: {}\n  a: {condition: {model: null}}\npolicy_attachments:\n  - {policy: b, scope: "*"}\n  - {policy: a, teams: []}\n';
    writeSqliteDb(file, finish(parseBundle(bundleFromYaml(yaml))).parsed, { revision: 'r', now: new Date('2026-02-03T04:05:06.789Z') });
    expect(rows(file, 'SELECT policy_id, policy_name, condition, version_number, version_status, is_latest, production_at FROM "LiteLLM_PolicyTable" ORDER BY policy_name')).toEqual([
      { policy_id: policyIdOf('a'), policy_name: 'a', condition: '{"model":null}', version_number: 1, version_status: 'production', is_latest: 1, production_at: '2026-02-03T04:05:06.789Z' },
      { policy_id: policyIdOf('b'), policy_name: 'b', condition: '{}', version_number: 1, version_status: 'production', is_latest: 1, production_at: '2026-02-03T04:05:06.789Z' },
    ]);
    expect(policyIdOf('a')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(rows(file, 'SELECT attachment_id, policy_name, scope, teams, created_at FROM "LiteLLM_PolicyAttachmentTable" ORDER BY attachment_id')).toEqual([
      { attachment_id: 'att-000001', policy_name: 'b', scope: '*', teams: '[]', created_at: '2026-02-03T04:05:06.789Z' },
      { attachment_id: 'att-000002', policy_name: 'a', scope: null, teams: '[]', created_at: '2026-02-03T04:05:06.789Z' },
    ]);
    expect(rows(file, 'SELECT key, value FROM pdp_meta ORDER BY key')).toEqual([
      { key: 'created_at', value: '2026-02-03T04:05:06.789Z' },
      { key: 'format', value: 'guardrail-pdp' },
      { key: 'format_version', value: '1' },
      { key: 'revision', value: 'r' },
    ]);
  });

  it('keeps draft and published versions, numbering the production row after them', async () => {
    const yaml = `policies:
  a: {guardrails: {add: [x]}}
policy_versions:
  - {policy_id: v-draft, policy_name: a, version_number: 2, version_status: draft, guardrails: {add: [y]}}
  - {policy_id: v-pub, policy_name: a, version_number: 1, version_status: published}
`;
    const file = path.join(dir, 'policies.db');
    const parsed = finish(parseBundle(bundleFromYaml(yaml)));
    expect(parsed.issues).toEqual([]);
    writeSqliteDb(file, parsed.parsed, { revision: 'r' });
    expect(rows(file, 'SELECT policy_id, version_number, version_status FROM "LiteLLM_PolicyTable" ORDER BY version_number')).toEqual([
      { policy_id: 'v-pub', version_number: 1, version_status: 'published' },
      { policy_id: 'v-draft', version_number: 2, version_status: 'draft' },
      { policy_id: policyIdOf('a'), version_number: 3, version_status: 'production' },
    ]);
    const back = finish(parseBundle(await createSqliteDbSource({ path: file }).load())).parsed;
    expect(back.versions.map((v) => [v.id, v.status, v.spec.add])).toEqual([
      ['v-pub', 'published', []],
      ['v-draft', 'draft', ['y']],
    ]);
  });

  it('replaces the file by a rename and leaves no temp file behind, even when writing fails', () => {
    const file = path.join(dir, 'policies.db');
    fs.writeFileSync(file, 'old');
    const inode = fs.statSync(file).ino;
    writeSqliteDb(file, finish(parseBundle(bundleFromYaml('policies:\n  a: {}\n'))).parsed, { revision: 'r' });
    expect(fs.statSync(file).ino).not.toBe(inode);
    expect(fs.readdirSync(dir)).toEqual(['policies.db']);
    // The same policy twice breaks the primary key halfway through the write.
    const parsed = finish(parseBundle(bundleFromYaml('policies:\n  a: {}\n'))).parsed;
    expect(() => writeSqliteDb(file, { ...parsed, policies: [...parsed.policies, ...parsed.policies] }, { revision: 'r' })).toThrow();
    expect(fs.readdirSync(dir)).toEqual(['policies.db']);
    expect(rows(file, 'SELECT policy_name FROM "LiteLLM_PolicyTable"')).toEqual([{ policy_name: 'a' }]);
  });
});

describe('writeSqliteRows', () => {
  const policy = {
    policy_id: 'p1', policy_name: 'a', inherit: null, description: null, guardrails_add: '["g"]', guardrails_remove: '[]',
    condition: '{"model": null}', pipeline: null, version_number: 4, version_status: 'production', parent_version_id: 'p0',
    is_latest: 1, published_at: '2026-01-02T03:04:05.678Z', production_at: null, created_at: '2026-01-01T00:00:00.000Z',
    created_by: 'admin', updated_at: '2026-01-01T00:00:00.000Z', updated_by: null,
  };

  it('stores the rows as they are, with the meta rows it is given', async () => {
    const file = path.join(dir, 'policies.db');
    const attachment = { attachment_id: 'x', policy_name: 'a', scope: '*', created_at: '2026-01-01T00:00:00.000Z' };
    writeSqliteRows(
      file,
      { policies: [policy], attachments: [attachment], guardrails: [{ guardrail_name: 'g', litellm_params: '{"guardrail":"custom"}' }] },
      { revision: 'r1', meta: { postgres_fingerprint: 'f1' } },
    );
    expect(rows(file, 'SELECT * FROM "LiteLLM_PolicyTable"')).toEqual([policy]);
    // Columns a row leaves out take their defaults.
    expect(rows(file, 'SELECT teams, tags, updated_at IS NOT NULL AS u FROM "LiteLLM_PolicyAttachmentTable"')).toEqual([{ teams: '[]', tags: '[]', u: 1 }]);
    expect(readDbMeta(file)?.get('postgres_fingerprint')).toBe('f1');
    expect(readDbMeta(file)?.get('revision')).toBe('r1');
    expect(readDbMeta(path.join(dir, 'missing.db'))).toBeUndefined();
    const bundle = await createSqliteDbSource({ path: file }).load();
    expect(bundle.data).toMatchObject({ policies: { a: { guardrails: { add: ['g'], remove: [] }, condition: { model: null } } } });
  });

  it('refuses a column the table does not have, and leaves nothing behind', () => {
    const file = path.join(dir, 'policies.db');
    expect(() => writeSqliteRows(file, { policies: [{ ...policy, priority: 1 }], attachments: [], guardrails: [] }, { revision: 'r' })).toThrow(
      'LiteLLM_PolicyTable has no column priority',
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

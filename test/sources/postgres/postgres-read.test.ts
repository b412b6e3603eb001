import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PdpError } from '../../../src/errors.js';
import { LiteLLMDatabase } from '../../../src/sources/postgres/postgres-read.js';
import { activityQuery, fingerprintQuery } from '../../../src/sources/postgres/litellm-tables.js';
import { createLiteLLMTables, LiteLLMWrites } from '../../helpers/litellm-postgres.js';
import { startPostgres, SUPERUSER_PASSWORD, type TestPostgres } from '../../helpers/postgres.js';

// A real PostgreSQL (a throwaway cluster on a Unix socket): never skipped. Without initdb the
// cluster does not start and every test here fails, saying how to install it.
let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => pg?.stop());

async function withDb<T>(url: string, f: (db: LiteLLMDatabase) => Promise<T>): Promise<T> {
  const db = await LiteLLMDatabase.connect(url);
  try {
    return await f(db);
  } finally {
    await db.close();
  }
}

async function failure(p: Promise<unknown>): Promise<PdpError> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PdpError);
  return e as PdpError;
}

describe('LiteLLMDatabase.readPolicyTables', () => {
  const schema = 'reads';
  const url = (): string => `${pg.url()}&schema=${schema}`;
  beforeAll(async () => {
    await createLiteLLMTables(pg, schema);
    const t = (name: string): string => `"${schema}"."${name}"`;
    await pg.query(`
      INSERT INTO ${t('LiteLLM_PolicyTable')} (policy_id, policy_name, version_number, version_status, parent_version_id, is_latest,
        published_at, production_at, inherit, description, guardrails_add, guardrails_remove, condition, pipeline,
        created_at, created_by, updated_at, updated_by) VALUES
      ('id-1', 'baseline', 1, 'production', NULL, true, NULL, '2026-01-10 09:00:00.123', NULL, 'Base, for "all"',
        ARRAY['pii_masking', 'prompt_injection'], ARRAY[]::TEXT[], '{}', NULL, '2026-01-10 09:00:00.123', 'admin', '2026-01-10 09:00:00.123', NULL),
      ('id-2', 'hipaa', 2, 'draft', 'id-1', true, NULL, NULL, 'baseline', E'two\\nlines',
        NULL, ARRAY['prompt_injection'], '{"model": ["gpt-4.*"]}',
        '{"mode": "pre_call", "steps": [{"guardrail": "pii_masking", "on_fail": "block", "on_pass": "allow", "pass_data": false, "modify_response_message": null}]}',
        '2026-01-11 09:00:00', 'admin', '2026-01-11 09:00:00', 'admin');
      INSERT INTO ${t('LiteLLM_PolicyAttachmentTable')} (attachment_id, policy_name, scope, teams, keys, models, tags, created_at, updated_at) VALUES
        ('att-1', 'baseline', '*', ARRAY[]::TEXT[], ARRAY[]::TEXT[], ARRAY[]::TEXT[], NULL, '2026-01-10 09:00:00', '2026-01-10 09:00:00'),
        ('att-2', 'hipaa', NULL, ARRAY['health-*', 'team, with "quotes"'], ARRAY[]::TEXT[], ARRAY['gpt-4'], ARRAY['prod-*'], '2026-01-11 09:00:00', '2026-01-11 09:00:00');
      INSERT INTO ${t('LiteLLM_GuardrailsTable')} (guardrail_id, guardrail_name, litellm_params, status, updated_at) VALUES
        ('g1', 'pii_masking', '{"guardrail": "presidio", "mode": "pre_call", "default_on": false}', 'active', now()),
        ('g2', 'prompt_injection', '{"guardrail": "lakera", "mode": "pre_call"}', 'active', now()),
        ('g3', 'team_filter', '{"guardrail": "custom", "mode": "pre_call"}', 'pending_review', now()),
        ('g4', 'rejected_one', '{"guardrail": "custom", "mode": "pre_call"}', 'rejected', now());
    `);
  });

  it('reads every version and attachment, and the active guardrails only, as the SQLite db stores them', async () => {
    const { rows, bytes, fingerprint } = await withDb(url(), (db) => db.readPolicyTables());
    const byId = (a: Record<string, unknown>, b: Record<string, unknown>): number => String(a.policy_id ?? a.attachment_id ?? a.guardrail_name).localeCompare(String(b.policy_id ?? b.attachment_id ?? b.guardrail_name));
    expect([...rows.policies].sort(byId)).toEqual([
      {
        policy_id: 'id-1', policy_name: 'baseline', inherit: null, description: 'Base, for "all"',
        guardrails_add: '["pii_masking","prompt_injection"]', guardrails_remove: '[]', condition: '{}', pipeline: null,
        version_number: 1, version_status: 'production', parent_version_id: null, is_latest: 1, published_at: null,
        production_at: '2026-01-10T09:00:00.123Z', created_at: '2026-01-10T09:00:00.123Z', created_by: 'admin',
        updated_at: '2026-01-10T09:00:00.123Z', updated_by: null,
      },
      {
        policy_id: 'id-2', policy_name: 'hipaa', inherit: 'baseline', description: 'two\nlines',
        guardrails_add: '[]', guardrails_remove: '["prompt_injection"]', condition: '{"model": ["gpt-4.*"]}',
        pipeline: '{"mode": "pre_call", "steps": [{"on_fail": "block", "on_pass": "allow", "guardrail": "pii_masking", "pass_data": false, "modify_response_message": null}]}',
        version_number: 2, version_status: 'draft', parent_version_id: 'id-1', is_latest: 1, published_at: null, production_at: null,
        created_at: '2026-01-11T09:00:00.000Z', created_by: 'admin', updated_at: '2026-01-11T09:00:00.000Z', updated_by: 'admin',
      },
    ]);
    expect([...rows.attachments].sort(byId).map((a) => [a.attachment_id, a.scope, a.teams, a.models, a.tags])).toEqual([
      ['att-1', '*', '[]', '[]', '[]'],
      ['att-2', null, '["health-*","team, with \\"quotes\\""]', '["gpt-4"]', '["prod-*"]'],
    ]);
    expect([...rows.guardrails].sort(byId)).toEqual([
      { guardrail_name: 'pii_masking', litellm_params: '{"mode": "pre_call", "guardrail": "presidio", "default_on": false}' },
      { guardrail_name: 'prompt_injection', litellm_params: '{"mode": "pre_call", "guardrail": "lakera"}' },
    ]);
    expect(bytes).toBeGreaterThan(500);
    expect(fingerprint).toMatch(/^2:\d+\/2:\d+\/4:\d+$/);
  });

  it('moves the fingerprint on every insert, update and delete, whoever writes, and only then', async () => {
    // The value is a function of the live row versions: each write makes it differ from the value
    // before. (Deleting a row just inserted brings back the same rows, and the same value.)
    const fp = (): Promise<string> => withDb(url(), (db) => db.fingerprint());
    const t = `"${schema}"."LiteLLM_PolicyAttachmentTable"`;
    const seen = [await fp()];
    expect(await fp()).toBe(seen[0]); // nothing changed
    await pg.query(`INSERT INTO ${t} (attachment_id, policy_name, updated_at) VALUES ('att-3', 'baseline', now())`);
    seen.push(await fp());
    // An update by hand that leaves updated_at alone: same count, still a change.
    await pg.query(`UPDATE ${t} SET models = ARRAY['gpt-4o'] WHERE attachment_id = 'att-3'`);
    seen.push(await fp());
    await pg.query(`DELETE FROM ${t} WHERE attachment_id = 'att-3'`);
    seen.push(await fp());
    // A delete and an insert in one transaction: same count, a newer transaction id.
    await pg.query(`BEGIN; DELETE FROM ${t} WHERE attachment_id = 'att-1'; INSERT INTO ${t} (attachment_id, policy_name, scope, updated_at) VALUES ('att-1', 'baseline', '*', now()); COMMIT`);
    seen.push(await fp());
    for (let i = 1; i < seen.length; i++) expect(seen[i], `write ${i}`).not.toBe(seen[i - 1]);
    expect(new Set(seen).size).toBe(seen.length - 1); // after the delete: the rows, and the value, of the start
    // A team's guardrail waiting for review changes the fingerprint too (a full read then finds the same content).
    await pg.query(`UPDATE "${schema}"."LiteLLM_GuardrailsTable" SET reviewed_at = now() WHERE guardrail_id = 'g4'`);
    expect(await fp()).not.toBe(seen.at(-1));
  });

  it('re-reads only the tables whose part of the fingerprint moved, giving the rows a full read gives', async () => {
    const first = await withDb(url(), (db) => db.readPolicyTables());
    await pg.query(`UPDATE "${schema}"."LiteLLM_PolicyAttachmentTable" SET tags = ARRAY['changed'] WHERE attachment_id = 'att-2'`);
    const again = await withDb(url(), (db) => db.readPolicyTables(first));
    const full = await withDb(url(), (db) => db.readPolicyTables());
    expect(again.rows).toEqual(full.rows);
    expect(again.rows.policies).toBe(first.rows.policies); // reused, not read
    expect(again.rows.attachments).not.toBe(first.rows.attachments);
    expect(again.bytes).toBeLessThan(full.bytes);
  });

  it('finds the tables through the search_path when the URL names no schema', async () => {
    await pg.query(`CREATE ROLE path_user LOGIN PASSWORD 'path-user-pw'; ALTER ROLE path_user SET search_path = ${schema};
      GRANT USAGE ON SCHEMA ${schema} TO path_user; GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO path_user`);
    const { rows } = await withDb(pg.url({ user: 'path_user', password: 'path-user-pw' }), (db) => db.readPolicyTables());
    expect(rows.policies).toHaveLength(2);
  });
});

describe('LiteLLMDatabase: an older LiteLLM', () => {
  it('reads tables without the versioning, pipeline, tags and status columns as LiteLLM reads them', async () => {
    await createLiteLLMTables(pg, 'old');
    await pg.query(`
      ALTER TABLE old."LiteLLM_PolicyTable" DROP COLUMN version_number, DROP COLUMN version_status, DROP COLUMN parent_version_id,
        DROP COLUMN is_latest, DROP COLUMN published_at, DROP COLUMN production_at, DROP COLUMN pipeline;
      ALTER TABLE old."LiteLLM_PolicyAttachmentTable" DROP COLUMN tags;
      ALTER TABLE old."LiteLLM_GuardrailsTable" DROP COLUMN status;
      INSERT INTO old."LiteLLM_PolicyTable" (policy_id, policy_name, guardrails_add) VALUES ('p', 'a', ARRAY['g']);
      INSERT INTO old."LiteLLM_PolicyAttachmentTable" (attachment_id, policy_name, scope) VALUES ('x', 'a', '*');
      INSERT INTO old."LiteLLM_GuardrailsTable" (guardrail_id, guardrail_name, litellm_params, updated_at) VALUES ('g', 'g', '{"guardrail": "custom"}', now());
    `);
    const { rows } = await withDb(`${pg.url()}&schema=old`, (db) => db.readPolicyTables());
    expect(rows.policies[0]).toMatchObject({ version_number: 1, version_status: 'production', is_latest: 1, pipeline: null });
    expect(rows.attachments[0]).toMatchObject({ tags: '[]' });
    expect(rows.guardrails).toHaveLength(1);
  });
});

describe('LiteLLMDatabase: errors', () => {
  it('names a missing table, and every missing required column', async () => {
    await pg.query(`CREATE SCHEMA partial; CREATE TABLE partial."LiteLLM_PolicyTable" (policy_id TEXT, policy_name TEXT);
      CREATE TABLE partial."LiteLLM_PolicyAttachmentTable" (attachment_id TEXT)`);
    const err = await failure(withDb(`${pg.url()}&schema=partial`, (db) => db.readPolicyTables()));
    expect(err.code).toBe('BUNDLE_INVALID');
    expect(err.issues.map((i) => i.message)).toEqual([
      expect.stringContaining('table LiteLLM_PolicyTable has no columns inherit, description, guardrails_add, guardrails_remove, condition, created_at, created_by, updated_at, updated_by'),
      expect.stringContaining('table LiteLLM_PolicyAttachmentTable has no columns policy_name, scope, teams, keys, models'),
      expect.stringContaining("not LiteLLM's database: no table LiteLLM_GuardrailsTable in schema partial"),
    ]);
    // The change check names the missing table too.
    const check = await failure(withDb(`${pg.url()}&schema=partial`, (db) => db.fingerprint()));
    expect(check.message).toMatch(/not LiteLLM's database: relation "partial.LiteLLM_GuardrailsTable" does not exist/);
  });

  it('reports an unreachable database, a wrong password and a missing grant without the password', async () => {
    const nowhere = await failure(LiteLLMDatabase.connect(`postgresql://pdp_admin:${SUPERUSER_PASSWORD}@/litellm?host=/nonexistent-dir`));
    expect(nowhere.code).toBe('SOURCE_UNAVAILABLE');
    expect(nowhere.message).toMatch(/^cannot connect to postgresql:\/\/pdp_admin:\*\*\*@\/litellm\?host=\/nonexistent-dir: connect ENOENT/);
    const wrong = await failure(LiteLLMDatabase.connect(pg.url({ password: 'wrong-password-123' })));
    expect(wrong.message).toContain('password authentication failed for user "pdp_admin"');
    await pg.query(`CREATE ROLE nogrants LOGIN PASSWORD 'nogrants-pw'`);
    const denied = await failure(withDb(`${pg.url({ user: 'nogrants', password: 'nogrants-pw' })}&schema=reads`, (db) => db.readPolicyTables()));
    expect(denied.message).toMatch(/permission denied for (schema|table)/);
    for (const e of [nowhere, wrong, denied]) {
      expect(e.message).not.toContain(SUPERUSER_PASSWORD);
      expect(e.message).not.toContain('wrong-password-123');
      expect(e.message).not.toContain('nogrants-pw');
    }
  });
});

describe('LiteLLMDatabase.readPrincipalPolicies', () => {
  it("reads the keys' and teams' policies columns, only rows that have some", async () => {
    await createLiteLLMTables(pg, 'principals');
    await pg.query(`
      INSERT INTO principals."LiteLLM_TeamTable" (team_id, team_alias, policies) VALUES ('t1', 'health', ARRAY['hipaa']), ('t2', 'other', ARRAY[]::TEXT[]);
      INSERT INTO principals."LiteLLM_VerificationToken" (token, key_alias, team_id, policies) VALUES
        ('hash1', 'dev-key', 't1', ARRAY['strict', 'pii']), ('hash2', NULL, NULL, NULL), ('hash3', 'no-policies', NULL, ARRAY[]::TEXT[]);
    `);
    const p = await withDb(`${pg.url()}&schema=principals`, (db) => db.readPrincipalPolicies());
    expect(p).toEqual({
      keys: [{ keyAlias: 'dev-key', teamId: 't1', policies: ['strict', 'pii'] }],
      teams: [{ teamId: 't1', teamAlias: 'health', policies: ['hipaa'] }],
    });
  });
});

describe('sizing: 10,000 policies', () => {
  // The figures docs/postgres.md gives a platform team: what one change check and one full read
  // cost, measured here on LiteLLM's schema with rows shaped as its API writes them.
  it('costs one short row per check and about 5 MB per full read', async () => {
    await createLiteLLMTables(pg, 'sizing');
    const w = new LiteLLMWrites(pg, 'sizing');
    await w.createGuardrail('pii_masking', { guardrail: 'presidio', mode: 'pre_call', default_on: false });
    await w.createGuardrail('prompt_injection', { guardrail: 'lakera', mode: 'pre_call', api_key: 'os.environ/LAKERA_API_KEY' });
    await pg.query(`
      INSERT INTO sizing."LiteLLM_PolicyTable" (policy_id, policy_name, version_number, version_status, is_latest, production_at, inherit,
        description, guardrails_add, guardrails_remove, condition, created_at, updated_at, created_by, updated_by)
      SELECT gen_random_uuid()::text, 'team-policy-' || i, 1, 'production', true, now(), CASE WHEN i > 1 THEN 'team-policy-1' END,
        'Guardrails for team ' || i, ARRAY['pii_masking', 'prompt_injection'], ARRAY[]::TEXT[],
        CASE WHEN i % 3 = 0 THEN '{"model": "gpt-4.*"}'::jsonb ELSE '{"model": null}'::jsonb END, now(), now(), 'admin@example.com', 'admin@example.com'
      FROM generate_series(1, 10000) AS i;
      INSERT INTO sizing."LiteLLM_PolicyAttachmentTable" (attachment_id, policy_name, teams, created_at, updated_at, created_by, updated_by)
      SELECT gen_random_uuid()::text, 'team-policy-' || i, ARRAY['team-' || i], now(), now(), 'admin@example.com', 'admin@example.com'
      FROM generate_series(1, 10000) AS i;
      ANALYZE sizing."LiteLLM_PolicyTable"; ANALYZE sizing."LiteLLM_PolicyAttachmentTable";
    `);
    const url = `${pg.url()}&schema=sizing`;
    const check = await withDb(url, async (db) => {
      const before = db.bytesReceived();
      const t0 = performance.now();
      await db.fingerprint();
      const scanned = { query: db.bytesReceived() - before, ms: performance.now() - t0 };
      const t1 = performance.now();
      const activity = await db.activity();
      return { connect: before, ...scanned, activity, statsQuery: db.bytesReceived() - before - scanned.query, statsMs: performance.now() - t1 };
    });
    const read = await withDb(url, async (db) => {
      const t0 = performance.now();
      const r = await db.readPolicyTables();
      return { bytes: r.bytes, ms: performance.now() - t0, policies: r.rows.policies.length };
    });
    // An edited policy: only the policy table is read again.
    const edit = await withDb(url, async (db) => {
      const previous = await db.readPolicyTables();
      await pg.query(`UPDATE sizing."LiteLLM_PolicyTable" SET guardrails_add = ARRAY['pii_masking'], updated_at = now() WHERE policy_name = 'team-policy-7'`);
      return (await db.readPolicyTables(previous)).bytes;
    });
    const plan = await pg.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${fingerprintQuery('sizing')}`);
    const top = (plan.rows[0]?.['QUERY PLAN'] as [{ Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number }; 'Execution Time': number }])[0];
    const blocks = top.Plan['Shared Hit Blocks'] + top.Plan['Shared Read Blocks'];
    const q = activityQuery('sizing');
    const statsPlan = await pg.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${q.text}`, q.values);
    const statsServerMs = (statsPlan.rows[0]?.['QUERY PLAN'] as [{ 'Execution Time': number }])[0]['Execution Time'];
    console.log(
      `sizing (10,000 policies, 10,000 attachments): connect ${check.connect} B, check ${check.query} B in ${check.ms.toFixed(1)} ms ` +
        `(server ${top['Execution Time'].toFixed(1)} ms, ${blocks} buffers = ${((blocks * 8192) / 1e6).toFixed(1)} MB scanned); ` +
        `full read ${read.bytes} B in ${read.ms.toFixed(0)} ms; after a policy edit ${edit} B; ` +
        `statistics check ${check.statsQuery} B in ${check.statsMs.toFixed(1)} ms (server ${statsServerMs.toFixed(2)} ms)`,
    );
    expect(check.activity).toMatch(/^\d+\/\d+\/\d+$/);
    expect(check.statsQuery).toBeLessThan(200);
    expect(read.policies).toBe(10_000);
    expect(check.query).toBeLessThan(200);
    expect(check.connect).toBeLessThan(2_000);
    expect(read.bytes).toBeGreaterThan(2_000_000);
    expect(read.bytes).toBeLessThan(10_000_000);
    expect(edit).toBeLessThan(read.bytes * 0.7);
  }, 60_000);
});

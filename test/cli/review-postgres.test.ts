import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { createLiteLLMTables, LiteLLMWrites } from '../helpers/litellm-postgres.js';
import { startPostgres, SUPERUSER_PASSWORD, type TestPostgres } from '../helpers/postgres.js';

// `diff` and `impact` against LiteLLM's live database: a throwaway PostgreSQL cluster with LiteLLM's
// tables, rows written as its API writes them. Never skipped: without initdb, beforeAll fails.

let pg: TestPostgres;
let dir: string;
let url: string;
beforeAll(async () => {
  pg = await startPostgres();
  await createLiteLLMTables(pg, 'review');
  url = `${pg.url()}&schema=review`;
  const w = new LiteLLMWrites(pg, 'review');
  await w.createGuardrail('pii_masking', { guardrail: 'presidio', mode: 'pre_call' });
  await w.createGuardrail('prompt_injection', { guardrail: 'lakera', mode: 'pre_call' });
  await w.createGuardrail('hipaa_audit', { guardrail: 'custom', mode: 'post_call' });
  await w.createPolicy({ name: 'baseline', add: ['pii_masking'] });
  await w.createPolicy({ name: 'hipaa', inherit: 'baseline', add: ['hipaa_audit'] });
  await w.createPolicy({ name: 'strict', add: ['prompt_injection'] });
  await w.attach({ policy: 'baseline', scope: '*' });
  await w.attach({ policy: 'hipaa', teams: ['health-*'] });
  await pg.query(`
    INSERT INTO review."LiteLLM_TeamTable" (team_id, team_alias, metadata, models, policies) VALUES
      ('t1', 'health-eu', '{"tags": ["phi"]}', ARRAY['gpt-4o'], ARRAY[]::TEXT[]),
      ('t2', 'legal', '{}', NULL, ARRAY['strict']);
    INSERT INTO review."LiteLLM_VerificationToken" (token, key_alias, team_id, metadata, models, policies) VALUES
      ('hash1', 'eu-app', 't1', '{"tags": ["prod"]}', ARRAY[]::TEXT[], ARRAY[]::TEXT[]),
      ('hash2', NULL, 't1', '{}', NULL, NULL),
      ('hash3', 'contracts', 't2', '{}', ARRAY['claude-3'], ARRAY[]::TEXT[]),
      ('hash4', 'loner', NULL, '{}', NULL, ARRAY['strict']);
  `);
}, 60_000);
afterAll(async () => pg?.stop());
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-review-pg-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The same policies as a bundle, with the health attachment gone. */
function proposed(): string {
  const p = path.join(dir, 'proposed.yaml');
  fs.writeFileSync(
    p,
    `guardrails:
  - {guardrail_name: pii_masking, litellm_params: {guardrail: presidio, mode: pre_call}}
  - {guardrail_name: prompt_injection, litellm_params: {guardrail: lakera, mode: pre_call}}
  - {guardrail_name: hipaa_audit, litellm_params: {guardrail: custom, mode: post_call}}
policies:
  baseline: {guardrails: {add: [pii_masking]}}
  hipaa: {inherit: baseline, guardrails: {add: [hipaa_audit]}}
  strict: {guardrails: {add: [prompt_injection]}}
policy_attachments:
  - {policy: baseline, scope: "*"}
`,
  );
  return p;
}

describe("diff and impact against LiteLLM's Postgres", () => {
  it('diffs production (postgres:env:VAR) against a proposed bundle, and the gate fails on the lost guardrail', async () => {
    const r = await cli(['diff', 'postgres:env:LITELLM_DB', proposed(), '--json', '--fail-on', 'removed'], { LITELLM_DB: url });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { old: string; requests: { classes: { class: string }[]; removed: string[] }[] };
    expect(report.old).toMatch(/^postgresql:\/\/pdp_admin:\*\*\*@/);
    expect(r.stdout).not.toContain(SUPERUSER_PASSWORD);
    expect(report.requests.map((g) => [g.classes.map((c) => c.class), g.removed])).toEqual([[['team=health-*'], ['hipaa_audit']]]);
    // The other way round it only adds: the gate passes.
    expect((await cli(['diff', proposed(), `postgres:${url}`, '--fail-on', 'removed'])).code).toBe(0);
  });

  it('exits 2 when the database cannot be reached, without printing the password', async () => {
    const bad = `postgresql://pdp_admin:${SUPERUSER_PASSWORD}@/litellm?host=${encodeURIComponent(path.join(dir, 'no-socket'))}`;
    const r = await cli(['diff', `postgres:${bad}`, proposed()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot connect to');
    expect(r.stderr).not.toContain(SUPERUSER_PASSWORD);
  });

  it("reads LiteLLM's keys and teams as the inventory: aliases, metadata tags, models (the team's when a key has none), policies", async () => {
    const r = await cli(['impact', `postgres:${url}`, '--inventory', 'postgres:env:LITELLM_DB', '--json'], { LITELLM_DB: url });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { keys: number; unnamed_keys: number; teams: number; requests: number; policies: { policy: string; key_aliases: string[]; unnamed_keys: number; team_aliases: string[] }[] };
    expect([report.keys, report.unnamed_keys, report.teams]).toEqual([4, 1, 2]);
    const reach = Object.fromEntries(report.policies.map((p) => [p.policy, [p.key_aliases.sort(), p.unnamed_keys, p.team_aliases.sort()]]));
    expect(reach).toEqual({
      baseline: [['contracts', 'eu-app', 'loner'], 1, ['health-eu', 'legal']],
      hipaa: [['eu-app'], 1, ['health-eu']],
      // legal's team policy reaches its team and its key; loner names strict itself.
      strict: [['contracts', 'loner'], 0, ['legal']],
    });
    // With --against: dropping the health attachment changes eu-app's, the unnamed key's and health-eu's requests (each with gpt-4o, the team's model).
    const against = await cli(['impact', proposed(), '--against', `postgres:${url}`, '--inventory', `postgres:${url}`, '--json']);
    const changes = JSON.parse(against.stdout) as { changes: { kind: string; key_alias: string | null; team_alias: string; model: string; removed: string[] }[]; unnamed_key_changes: { count: number; removed: string[] }[] };
    expect(changes.changes.map((c) => `${c.kind} ${c.key_alias ?? c.team_alias} ${c.model} -${c.removed.join(',')}`)).toEqual([
      'key eu-app gpt-4o -hipaa_audit',
      'team health-eu gpt-4o -hipaa_audit',
    ]);
    expect(changes.unnamed_key_changes.map((c) => [c.count, c.removed])).toEqual([[1, ['hipaa_audit']]]);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pgModule from 'pg';
import { CHECKS_PER_SCAN, PostgresSync } from '../../src/cli/postgres-sync.js';
import { readDbMeta } from '../../src/sources/sqlite/sqlite-read.js';
import { startApp, type Started } from '../helpers/app.js';
import { cli, MAIN } from '../helpers/cli.js';
import { createLiteLLMTables, LiteLLMWrites } from '../helpers/litellm-postgres.js';
import { startPostgres, SUPERUSER_PASSWORD, type TestPostgres } from '../helpers/postgres.js';
import type { ResolveResponse } from '../../src/gen/guardrail/pdp/v1/resolve.js';

// `compile --from-postgres` against a real PostgreSQL (a throwaway cluster on a Unix socket, with
// LiteLLM's tables as its Prisma schema makes them and rows written as its API writes them).
// Never skipped: without initdb, beforeAll fails saying how to install PostgreSQL.

let pg: TestPostgres;
let dir: string;
let schemaCount = 0;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => pg?.stop());
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-pg-sync-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A fresh schema with LiteLLM's tables, its URL, and LiteLLM's writes into it. */
async function litellm(): Promise<{ url: string; w: LiteLLMWrites; schema: string }> {
  const schema = `s${++schemaCount}`;
  await createLiteLLMTables(pg, schema);
  return { url: `${pg.url()}&schema=${schema}`, w: new LiteLLMWrites(pg, schema), schema };
}

/** A small policy set as an admin builds it in LiteLLM's UI: guardrails, policies, a draft, attachments. */
async function seed(w: LiteLLMWrites): Promise<{ baseline: string; draft: string }> {
  await w.createGuardrail('pii_masking', { guardrail: 'presidio', mode: 'pre_call', default_on: false });
  await w.createGuardrail('prompt_injection', { guardrail: 'lakera', mode: 'pre_call' });
  await w.createGuardrail('hipaa_audit', { guardrail: 'custom', mode: 'post_call' });
  await w.createGuardrail('team_checker', { guardrail: 'custom', mode: 'pre_call' }, 'pending_review');
  const baseline = await w.createPolicy({ name: 'baseline', add: ['pii_masking'], description: 'Everyone' });
  await w.createPolicy({ name: 'hipaa', inherit: 'baseline', add: ['hipaa_audit'], model: 'gpt-4.*' });
  await w.createPolicy({
    name: 'screened',
    add: ['prompt_injection', 'hipaa_audit'],
    pipeline: { mode: 'pre_call', steps: [{ guardrail: 'prompt_injection', on_pass: 'next', on_fail: 'block' }, { guardrail: 'hipaa_audit' }] },
  });
  await w.attach({ policy: 'baseline', scope: '*' });
  await w.attach({ policy: 'hipaa', teams: ['health-*'] });
  await w.attach({ policy: 'screened', tags: ['screened'] });
  const draft = await w.createDraft(baseline);
  await w.updateDraft(draft, { add: ['pii_masking', 'prompt_injection'] });
  return { baseline, draft };
}

async function resolveDb(db: string, context: object, requestPolicies: string[] = []): Promise<{ guardrails?: string[]; revision: string }> {
  const r = await cli(['resolve', '--db', db, '--context', JSON.stringify(context), ...requestPolicies.flatMap((p) => ['--request-policy', p])]);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { guardrails?: string[]; revision: string };
}

describe('compile --from-postgres', () => {
  it("writes LiteLLM's policies, versions, attachments and active guardrails as a db the sidecar serves", async () => {
    const { url, w } = await litellm();
    const { draft } = await seed(w);
    const db = path.join(dir, 'policies.db');
    const r = await cli(['compile', '--from-postgres', url, '-o', db]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^\S+policies\.db: written from postgresql:\/\/pdp_admin:\*\*\*@\/litellm\?host=\S+ \(3 policies, 1 draft or published versions, 3 attachments, 3 guardrails; 0 errors, 0 warnings; mode strict; \d+ bytes read\); serve it with --db \S+\n$/,
    );
    expect((await resolveDb(db, { team_alias: 'health-eu', model: 'gpt-4o' })).guardrails).toEqual(['hipaa_audit', 'pii_masking']);
    expect((await resolveDb(db, { model: 'gpt-4o' })).guardrails).toEqual(['pii_masking']);
    // The pipeline as LiteLLM stores it (every step field, nulls included).
    const screened = JSON.parse((await cli(['resolve', '--db', db, '--context', '{"tags":["screened"]}'])).stdout) as { pipelines: { pipeline: { steps: unknown[] } }[] };
    expect(screened.pipelines[0]?.pipeline.steps).toEqual([
      { guardrail: 'prompt_injection', onPass: 'NEXT', onFail: 'BLOCK' },
      { guardrail: 'hipaa_audit', onPass: 'ALLOW', onFail: 'BLOCK' },
    ]);
    // The draft is served to a request naming it, as LiteLLM does.
    expect((await resolveDb(db, { model: 'gpt-4o' }, [`policy_${draft}`])).guardrails).toEqual(['pii_masking', 'prompt_injection']);
    expect(readDbMeta(db)?.get('source')).toBe('postgres');
  });

  it('takes the URL from a variable with env:VAR, and adds the guardrails of a LiteLLM config', async () => {
    const { url, w } = await litellm();
    await w.createPolicy({ name: 'p', add: ['from_config'] });
    await w.attach({ policy: 'p', scope: '*' });
    const config = path.join(dir, 'config.yaml');
    fs.writeFileSync(config, 'model_list: []\nguardrails:\n  - guardrail_name: from_config\n    litellm_params: {guardrail: custom, mode: pre_call}\n');
    const db = path.join(dir, 'policies.db');
    const r = await cli(['compile', '--from-postgres', 'env:DATABASE_URL', '--config', config, '-o', db], { DATABASE_URL: url });
    expect(r.stderr).toBe('');
    expect((await resolveDb(db, {})).guardrails).toEqual(['from_config']);
    // A guardrail defined in both places is refused.
    await w.createGuardrail('from_config', { guardrail: 'custom', mode: 'post_call' });
    const twice = await cli(['compile', '--from-postgres', 'env:DATABASE_URL', '--config', config, '-o', db], { DATABASE_URL: url });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(`guardrail from_config is defined both in ${config} and in LiteLLM_GuardrailsTable`);
    const unset = await cli(['compile', '--from-postgres', 'env:NOT_SET_ANYWHERE', '-o', db]);
    expect([unset.code, unset.stderr.split('\n')[0]]).toEqual([2, '--from-postgres env:NOT_SET_ANYWHERE: the variable NOT_SET_ANYWHERE is not set']);
  });

  it('checks the rows with the compile flags the sidecars use: --require-executable, --content-filter-categories', async () => {
    const { url, w } = await litellm();
    await seed(w);
    const db = path.join(dir, 'policies.db');
    // presidio, lakera and custom are kinds the gateway runs: fine for Resolve, refused when pipelines must run here.
    const strict = await cli(['compile', '--from-postgres', url, '-o', db, '--require-executable']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/error not_executable: guardrail 'prompt_injection' \(lakera\)/);
    expect(fs.existsSync(db)).toBe(false);
    const byVariable = await cli(['compile', '--from-postgres', url, '-o', db], { PDP_REQUIRE_EXECUTABLE: 'true' });
    expect(byVariable.code).toBe(1);

    // A content filter defined in LiteLLM's UI with a built-in category: read from the directory given, as serve does.
    const { url: url2, w: w2 } = await litellm();
    await w2.createGuardrail('harm', { guardrail: 'litellm_content_filter', mode: 'pre_call', categories: [{ category: 'harmful_self_harm', enabled: true, action: 'BLOCK', severity_threshold: 'medium' }] });
    await w2.createPolicy({ name: 'p', add: ['harm'], pipeline: { mode: 'pre_call', steps: [{ guardrail: 'harm', on_pass: 'allow', on_fail: 'block' }] } });
    await w2.attach({ policy: 'p', scope: '*' });
    const without = await cli(['compile', '--from-postgres', url2, '-o', db, '--require-executable']);
    expect(without.code).toBe(1);
    expect(without.stdout).toContain("needs LiteLLM's categories directory");
    const categories = path.resolve('test/fixtures/bundles/litellm-categories');
    const withDir = await cli(['compile', '--from-postgres', url2, '-o', db, '--require-executable', '--content-filter-categories', categories]);
    expect([withDir.code, withDir.stderr]).toEqual([0, '']);
    const input = JSON.stringify({ messages: [{ role: 'user', content: 'I want to kill myself' }] });
    const run = await cli(['pipeline', '--db', db, '--content-filter-categories', categories, '--policy', 'p', '--input', input]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({ terminalAction: 'BLOCK' });
  });

  it('refuses a bad command line with exit 2 and the usage', async () => {
    const db = path.join(dir, 'policies.db');
    const cases: [string[], string][] = [
      [['--watch', '30', 'bundle.yaml'], '--watch goes with --from-postgres'],
      [['--from-postgres', 'postgresql://db/x', '--watch', 'soon'], "--watch: 'soon' is not a number of seconds from 0.1 to 86400"],
      [['--from-postgres', 'postgresql://db/x', '--metrics-listen', '127.0.0.1:9465'], '--metrics-listen goes with --watch'],
      [['--from-postgres', 'mysql://u:hunter22@db/x'], "--from-postgres: 'mysql://u:***@db/x' is not a postgres:// or postgresql:// URL"],
      [['--from-postgres', 'postgresql://db/x', 'bundle.yaml'], '--from-postgres takes no bundle file'],
      [['--from-postgres', 'postgresql://db/x', '--bundle', 'bundle.yaml'], '--from-postgres takes no bundle file'],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['compile', ...args, '-o', db]);
      expect([r.code, r.stderr], args.join(' ')).toEqual([2, expect.stringContaining(message)]);
      expect(r.stderr).toContain('usage: guardrail-pdp compile');
      expect(r.stderr).not.toContain('hunter22');
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  describe('bad input: a clear error, nothing written, no password', () => {
    let db: string;
    let before: Buffer;
    beforeEach(async () => {
      const { url, w } = await litellm();
      await seed(w);
      db = path.join(dir, 'policies.db');
      expect((await cli(['compile', '--from-postgres', url, '-o', db])).code).toBe(0);
      before = fs.readFileSync(db);
    });
    const unchanged = (): void => {
      expect(fs.readFileSync(db).equals(before)).toBe(true);
      expect(fs.readdirSync(dir)).toEqual(['policies.db']);
    };
    const noPassword = (r: { stdout: string; stderr: string }): void => expect(r.stdout + r.stderr).not.toContain(SUPERUSER_PASSWORD);

    it('an unreachable database (exit 2)', async () => {
      const r = await cli(['compile', '--from-postgres', `postgresql://pdp_admin:${SUPERUSER_PASSWORD}@/litellm?host=${dir}/nowhere`, '-o', db]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^cannot connect to postgresql:\/\/pdp_admin:\*\*\*@\/litellm\?host=\S+\/nowhere: connect ENOENT/);
      noPassword(r);
      unchanged();
    });

    it('a wrong password (exit 2)', async () => {
      const r = await cli(['compile', '--from-postgres', pg.url({ password: 'not-the-password' }), '-o', db]);
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('password authentication failed for user "pdp_admin" (SQLSTATE 28P01)')]);
      expect(r.stderr).not.toContain('not-the-password');
      unchanged();
    });

    it('a database without LiteLLM\'s tables (exit 2)', async () => {
      await pg.query('CREATE SCHEMA IF NOT EXISTS empty');
      const r = await cli(['compile', '--from-postgres', `${pg.url()}&schema=empty`, '-o', db]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("not LiteLLM's database: no table LiteLLM_PolicyTable in schema empty");
      noPassword(r);
      unchanged();
    });

    it('a JSON column that does not parse, or holds the wrong shape (exit 1, every bad column named)', async () => {
      const { url, w, schema } = await litellm();
      await w.createPolicy({ name: 'a' });
      // A JSON column stored as text by hand, and a jsonb column holding a JSON string (double-encoded).
      await pg.query(`ALTER TABLE ${schema}."LiteLLM_PolicyTable" ALTER COLUMN pipeline TYPE TEXT;
        UPDATE ${schema}."LiteLLM_PolicyTable" SET pipeline = '{"mode": "pre_call", steps: []}', condition = to_jsonb('{"model": "gpt-4"}'::text)`);
      const r = await cli(['compile', '--from-postgres', url, '-o', db]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/error invalid_bundle: LiteLLM_PolicyTable row policy_id=\S+: condition must be a JSON object or NULL, got "{\\"model\\": \\"gpt-4\\"}" \[LiteLLM_PolicyTable\[policy_id=\S+\]\.condition\]/);
      expect(r.stdout).toMatch(/error invalid_bundle: LiteLLM_PolicyTable row policy_id=\S+: pipeline is not valid JSON: .*; store a JSON object or NULL/);
      expect(r.stderr).toContain(`not replaced`);
      noPassword(r);
      unchanged();
    });

    it('policies that do not validate (exit 1, issues printed)', async () => {
      const { url, w } = await litellm();
      await w.createPolicy({ name: 'orphan', inherit: 'missing-parent' });
      const r = await cli(['compile', '--from-postgres', url, '-o', db]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("error invalid_inheritance: Parent policy 'missing-parent' not found");
      expect(r.stderr).toMatch(/: invalid \(1 error, \d+ warnings?; mode strict\); \S+policies\.db not replaced/);
      unchanged();
    });
  });
});

describe('PostgresSync rounds (the --watch loop)', () => {
  it('checks cheaply, reads only after a change, replaces the db only when its content changed', async () => {
    const { url, w, schema } = await litellm();
    const { baseline } = await seed(w);
    const db = path.join(dir, 'policies.db');
    const sync = new PostgresSync({ url, output: db, mode: 'strict' });
    const first = await sync.round();
    expect([first.check, first.sync, first.exitCode]).toEqual(['changed', 'written', 0]);
    const inode = fs.statSync(db).ino;
    const quiet = await sync.round();
    expect([quiet.check, quiet.sync]).toEqual(['unchanged', undefined]);
    expect(quiet.bytes).toBeLessThan(1_000);
    expect(fs.statSync(db).ino).toBe(inode);
    // A write that changes no served content (a team's guardrail still waiting for review): read, not replaced.
    await pg.query(`UPDATE ${schema}."LiteLLM_GuardrailsTable" SET submitted_at = now() WHERE guardrail_name = 'team_checker'`);
    const same = await sync.round();
    expect([same.check, same.sync]).toEqual(['changed', 'unchanged']);
    expect(fs.statSync(db).ino).toBe(inode);
    // Approving it changes what is served.
    await w.approveGuardrail('team_checker');
    expect((await sync.round()).sync).toBe('written');
    expect(fs.statSync(db).ino).not.toBe(inode);
    // Rows that do not validate keep the last db, and are not read again until the next change.
    const good = fs.readFileSync(db);
    const broken = await w.createPolicy({ name: 'broken', inherit: 'nope' });
    const invalid = await sync.round();
    expect([invalid.check, invalid.sync, invalid.exitCode]).toEqual(['changed', 'invalid', 1]);
    expect(fs.readFileSync(db).equals(good)).toBe(true);
    expect((await sync.round()).check).toBe('unchanged');
    await pg.query(`DELETE FROM ${schema}."LiteLLM_PolicyTable" WHERE policy_id = $1`, [broken]);
    expect((await sync.round()).sync).toBe('unchanged');
    // A restarted producer picks up the db and its fingerprint: no read while nothing changed.
    const restarted = new PostgresSync({ url, output: db, mode: 'strict' });
    restarted.resume();
    expect(restarted.servedRevision()).toBe(sync.servedRevision());
    await w.updateDraft(baseline, {}); // production rows are not editable: no change
    expect((await restarted.round()).check).toBe('unchanged');
    // A db removed from under it is written again, though the database did not change.
    fs.rmSync(db);
    expect((await restarted.round()).sync).toBe('written');
    expect(fs.existsSync(db)).toBe(true);
  });

  it("answers quiet checks from PostgreSQL's statistics, and scans the tables only when they move or every 10th check", async () => {
    const { url, w } = await litellm();
    await seed(w);
    const sync = new PostgresSync({ url, output: path.join(dir, 'policies.db'), mode: 'strict' });
    expect((await sync.round()).sync).toBe('written');
    const checks = [];
    for (let i = 0; i < 2 * CHECKS_PER_SCAN; i++) checks.push(await sync.round());
    expect(checks.map((c) => c.check)).toEqual(Array(2 * CHECKS_PER_SCAN).fill('unchanged'));
    const scans = checks.flatMap((c, i) => (c.scanned ? [i + 1] : []));
    expect(scans).toEqual([CHECKS_PER_SCAN, 2 * CHECKS_PER_SCAN]);
    // A write moves the statistics: the next check scans, and the read follows.
    await w.createPolicy({ name: 'added' });
    const after = await sync.round();
    expect([after.check, after.scanned, after.sync]).toEqual(['changed', true, 'written']);
    expect((await sync.round()).scanned).toBe(false);
  });

  it('finds a write from a session that reports its statistics late (as LiteLLM\'s connections do)', async () => {
    const { url, w, schema } = await litellm();
    await seed(w);
    const sync = new PostgresSync({ url, output: path.join(dir, 'policies.db'), mode: 'strict' });
    expect((await sync.round()).sync).toBe('written');
    const writer = new pgModule.Client({ connectionString: pg.url() });
    await writer.connect();
    try {
      await writer.query(`UPDATE "${schema}"."LiteLLM_PolicyTable" SET guardrails_add = ARRAY['prompt_injection'] WHERE policy_name = 'baseline'`);
      const started = Date.now();
      let outcome = await sync.round();
      while (outcome.check === 'unchanged' && Date.now() - started < 20_000) {
        await new Promise((r) => setTimeout(r, 100));
        outcome = await sync.round();
      }
      expect([outcome.check, outcome.sync]).toEqual(['changed', 'written']);
      // PostgreSQL reports a session's counters within about a second of its going idle.
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await writer.end();
    }
  });

  it('keeps the db when the database goes away, and catches up when it is back', async () => {
    const { url, w } = await litellm();
    await seed(w);
    const db = path.join(dir, 'policies.db');
    const sync = new PostgresSync({ url: url.replace(/host=[^&]+/, `host=${encodeURIComponent(dir)}`), output: db, mode: 'strict' });
    const down = await sync.round();
    expect([down.check, down.exitCode, fs.existsSync(db)]).toEqual(['failed', 2, false]);
    expect(down.error).toMatch(/^cannot connect to postgresql:\/\/pdp_admin:\*\*\*@/);
    expect((await new PostgresSync({ url, output: db, mode: 'strict' }).round()).sync).toBe('written');
  });
});

describe('compile --from-postgres --watch with a serving sidecar', () => {
  let app: Started | undefined;
  let producer: ChildProcess | undefined;
  afterEach(async () => {
    producer?.kill('SIGKILL');
    await app?.stop();
    app = undefined;
    producer = undefined;
  });

  const resolveOnce = (a: Started, context: object): Promise<ResolveResponse> =>
    new Promise((resolve, reject) =>
      a.client.resolve({ context, requestPolicies: [], keyPolicies: [], teamPolicies: [] } as never, (err, res) => (err ? reject(err) : resolve(res))),
    );

  it('changes the Resolve answer soon after a row changes in Postgres, logs counters, serves /metrics, exits 0 on SIGTERM', async () => {
    const { url, w, schema } = await litellm();
    await seed(w);
    const db = path.join(dir, 'policies.db');
    // The seed container's one-shot compile, then the sidecar and the watching producer.
    expect((await cli(['compile', '--from-postgres', 'env:DATABASE_URL', '-o', db], { DATABASE_URL: url })).code).toBe(0);
    // The sidecar with serve's default debounce, so the latency printed below is what a pod sees with --watch 1.
    app = await startApp(db, { source: { kind: 'db', path: db }, config: { debounceMs: 250 } });
    const started = app;
    const out: string[] = [];
    producer = spawn(
      process.execPath,
      [MAIN, 'compile', '--from-postgres', 'env:DATABASE_URL', '-o', db, '--watch', '1', '--metrics-listen', '127.0.0.1:0'],
      { env: { ...process.env, DATABASE_URL: url } },
    );
    const child = producer;
    child.stdout?.on('data', (d: Buffer) => out.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => out.push(d.toString()));
    const logs = (): Record<string, unknown>[] =>
      out.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const waitFor = async (what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> => {
      const until = Date.now() + ms;
      while (!(await ok())) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}; producer output:\n${out.join('')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitFor('the producer to resume', () => logs().some((l) => l.msg === "watching LiteLLM's database"));
    expect(logs().find((l) => l.msg === "watching LiteLLM's database")?.resumedRevision).toEqual(expect.any(String));
    const context = { teamAlias: 'health-eu', model: 'gpt-4o', tags: [] };
    expect((await resolveOnce(started, context)).guardrails).toEqual(['hipaa_audit', 'pii_masking']);

    // An admin adds a guardrail to the live 'hipaa' policy (by hand: production rows are not editable in the UI).
    const changedAt = performance.now();
    await pg.query(`UPDATE ${schema}."LiteLLM_PolicyTable" SET guardrails_add = ARRAY['hipaa_audit', 'prompt_injection'], updated_at = now() WHERE policy_name = 'hipaa'`);
    await waitFor('the new answer', async () => (await resolveOnce(started, context)).guardrails.includes('prompt_injection'));
    const latencyMs = performance.now() - changedAt;
    console.log(`row change to changed Resolve answer: ${latencyMs.toFixed(0)} ms (--watch 1, sidecar debounce 250 ms)`);
    expect(latencyMs).toBeLessThan(8_000);

    const written = logs().find((l) => l.msg === 'db written');
    expect(written).toMatchObject({ check: 'changed', sync: 'written', policies: 3, counters: { written: 1 } });
    expect(JSON.stringify(logs())).not.toContain(SUPERUSER_PASSWORD);
    const address = (logs().find((l) => l.msg === 'admin HTTP listening') as { address: string }).address;
    const metrics = await (await fetch(`http://${address}/metrics`)).text();
    expect(metrics).toMatch(/pdp_postgres_syncs_total\{result="written"\} 1/);
    expect(metrics).toMatch(/pdp_postgres_checks_total\{result="unchanged"\} [1-9]/);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logs().at(-1)?.msg).toBe('stopped');
  }, 30_000);
});

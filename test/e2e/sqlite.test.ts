import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseBundle } from '../../src/compile/parse/parse.js';
import { writeSqliteDb } from '../../src/sources/sqlite/sqlite-writer.js';
import { bundleFromYaml } from '../helpers/bundle.js';
import { callResolve, startApp, type Started } from '../helpers/app.js';
import { finish } from '../../src/steps.js';

/** One guardrail, one policy attached globally: different guardrail names give different revisions. */
function writeDb(file: string, guardrail: string): void {
  const yaml = `guardrails:
  - {guardrail_name: ${guardrail}, litellm_params: {guardrail: presidio, mode: pre_call}}
policies:
  base: {guardrails: {add: [${guardrail}]}}
policy_attachments:
  - {policy: base, scope: "*"}
`;
  writeSqliteDb(file, finish(parseBundle(bundleFromYaml(yaml))).parsed, { revision: guardrail });
}

let dir: string;
let s: Started | undefined;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-e2e-sqlite-'));
});
afterEach(async () => {
  await s?.stop();
  s = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('serving a SQLite db over gRPC', () => {
  it('answers Resolve from the db, and from the new db within 2 s of a rename into place', async () => {
    const file = path.join(dir, 'policies.db');
    writeDb(file, 'g1');
    s = await startApp(file, { source: { kind: 'db', path: file } });
    const first = await callResolve(s.client, { context: { tags: [] } });
    expect(first.guardrails).toEqual(['g1']);
    expect(first.appliedPolicies).toEqual(['base']);

    writeDb(file, 'g2'); // a temp file in the same directory, renamed over the served one
    const deadline = Date.now() + 2000;
    let res = first;
    while (res.revision === first.revision) {
      if (Date.now() > deadline) throw new Error('the new db was not served within 2 s');
      await new Promise((r) => setTimeout(r, 20));
      res = await callResolve(s.client, { context: { tags: [] } });
    }
    expect(res.guardrails).toEqual(['g2']);
  });

  it('keeps serving the last good db when the file is replaced by one that is not a db', async () => {
    const file = path.join(dir, 'policies.db');
    writeDb(file, 'g1');
    s = await startApp(file, { source: { kind: 'db', path: file } });
    const before = await callResolve(s.client, { context: { tags: [] } });
    fs.writeFileSync(`${file}.new`, 'not a db'.repeat(100));
    fs.renameSync(`${file}.new`, file);
    const app = s.app;
    const deadline = Date.now() + 2000;
    while (app.activator.lastFailure === undefined) {
      if (Date.now() > deadline) throw new Error('the bad db was not tried within 2 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(app.activator.lastFailure.message).toContain('truncated, corrupt or not a SQLite db');
    const after = await callResolve(s.client, { context: { tags: [] } });
    expect(after.revision).toBe(before.revision);
    expect(after.guardrails).toEqual(['g1']);
  });
});

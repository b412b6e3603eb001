// Issue 11: a reload storm under load. The real app on 127.0.0.1:0 answers Resolve calls without
// pause while its bundle is rewritten 200 times, in place and by rename alternately. No call may
// fail, and every answer must be consistent with exactly one revision: each revision's bundle
// gives each team a guardrail named after it, so an answer's guardrails must be those of the
// bundle its `revision` field names.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActivationEvent } from '../../src/activation/activator.js';
import { revisionOf } from '../../src/compile/compile.js';
import { hashOf } from '../../src/sources/document/bundle-text.js';
import { callResolve, startApp, type Started } from '../helpers/app.js';

const REWRITES = 200;
const TEAMS = 12;
const CALLERS = 4;

/** Bundle number `k`: every policy adds a guardrail named after k, so answers tell revisions apart. */
function bundleText(k: number): string {
  const lines = [`# revision marker ${k}`, 'policies:'];
  for (let j = 0; j < TEAMS; j++) lines.push(`  p${j}:`, '    guardrails:', `      add: [r${k}-p${j}, shared]`);
  lines.push('policy_attachments:');
  for (let j = 0; j < TEAMS; j++) lines.push(`  - {policy: p${j}, teams: [team-${j}]}`);
  return `${lines.join('\n')}\n`;
}

const expectedFor = (k: number, team: number): string[] => [`r${k}-p${team}`, 'shared'].sort();

let dir: string;
let app: Started | undefined;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-robust-storm-'));
});
afterEach(async () => {
  await app?.stop();
  app = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a reload storm under load (issue 11)', () => {
  it(`answers every call from exactly one revision through ${REWRITES} rewrites, in place and by rename`, { timeout: 60_000 }, async () => {
    const file = path.join(dir, 'bundle.yaml');
    const revisions = new Map<string, number>();
    for (let k = 0; k <= REWRITES; k++) revisions.set(revisionOf(hashOf(Buffer.from(bundleText(k))), 'strict'), k);
    fs.writeFileSync(file, bundleText(0));
    app = await startApp(file, { config: { debounceMs: 20 } });
    const started = app;
    const events: ActivationEvent[] = [];
    started.app.activator.subscribe((e) => events.push(e));

    let isStorming = true;
    const stats = { calls: 0, failures: 0, inconsistent: 0, revisionsSeen: new Set<number>() };
    const problems: string[] = [];
    const caller = async (id: number): Promise<void> => {
      for (let n = 0; isStorming; n++) {
        const team = (id + n) % TEAMS;
        stats.calls++;
        try {
          const answer = await callResolve(started.client, { context: { teamAlias: `team-${team}`, keyAlias: '', model: '', tags: [] } });
          const k = revisions.get(answer.revision);
          if (k === undefined || JSON.stringify(answer.guardrails) !== JSON.stringify(expectedFor(k, team))) {
            stats.inconsistent++;
            if (problems.length < 5) problems.push(`revision ${answer.revision} (bundle ${String(k)}) answered ${JSON.stringify(answer.guardrails)} for team-${team}`);
          } else {
            stats.revisionsSeen.add(k);
          }
        } catch (e) {
          stats.failures++;
          if (problems.length < 5) problems.push(String(e));
        }
      }
    };
    const callers = Array.from({ length: CALLERS }, (_, id) => caller(id));

    const stormStarted = performance.now();
    for (let k = 1; k <= REWRITES; k++) {
      const text = bundleText(k);
      if (k % 2 === 0) {
        // In place, in two writes: a reader can catch the file empty or half-written.
        const fd = fs.openSync(file, 'w');
        const half = Math.floor(text.length / 2);
        fs.writeSync(fd, text.slice(0, half));
        await sleep(1);
        fs.writeSync(fd, text.slice(half));
        fs.closeSync(fd);
      } else {
        fs.writeFileSync(`${file}.tmp`, text);
        fs.renameSync(`${file}.tmp`, file);
      }
      // Faster than a reload (settle 50 ms + debounce 20 ms) now and then, so writes also pile up.
      await sleep(k % 10 === 0 ? 5 : 80);
    }
    const finalRevision = revisionOf(hashOf(Buffer.from(bundleText(REWRITES))), 'strict');
    const deadline = Date.now() + 10_000;
    while (started.app.holder.current()?.revision !== finalRevision) {
      if (Date.now() > deadline) throw new Error('the last rewrite was not activated within 10 s');
      await sleep(20);
    }
    await sleep(100);
    isStorming = false;
    await Promise.all(callers);
    const stormSeconds = (performance.now() - stormStarted) / 1000;

    const activated = events.filter((e) => e.kind === 'activated').length;
    const failed = events.filter((e) => e.kind === 'failed').length;
    console.log(
      `reload storm: ${REWRITES} rewrites in ${stormSeconds.toFixed(1)} s, ${stats.calls} Resolve calls, ${stats.failures} failed, ` +
        `${stats.inconsistent} inconsistent, ${stats.revisionsSeen.size} revisions answered from, ${activated} activations, ${failed} failed activations`,
    );
    for (const e of events) if (e.kind === 'failed') console.log(`refused reload: ${e.message}`);
    expect(problems).toEqual([]);
    expect(stats.failures).toBe(0);
    expect(stats.inconsistent).toBe(0);
    expect(stats.calls).toBeGreaterThan(1000);
    // Every activated snapshot was a whole bundle: all of its teams and their guardrails.
    for (const e of events) {
      if (e.kind !== 'activated') continue;
      expect(e.snapshot.policies.size).toBe(TEAMS);
      expect(e.snapshot.attachments.size).toBe(TEAMS);
    }
    expect(activated).toBeGreaterThan(REWRITES / 4);
    expect(stormSeconds).toBeLessThan(45);
  });
});

// Issue 11, defect 4: a truncated or empty bundle was activated, and requests lost their guardrails
// (fail-open). A file rewritten in place was caught after its first 13 lines, parsed (a YAML prefix
// usually does) and activated: Resolve for a team returned [] instead of its two guardrails. A 0-byte
// file activated an empty snapshot.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActivationEvent } from '../../src/activation/activator.js';
import { callResolve, startApp, type Started } from '../helpers/app.js';

const DEBOUNCE_MS = 100;
const POLICIES = 20;

/**
 * A bundle of POLICIES policies, each attached to its own team, with two guardrails per team that
 * depend on `variant` (so two variants differ in content but not in size).
 */
function bundleText(variant: number, policies = POLICIES): string {
  const lines = ['guardrails:'];
  for (let g = 0; g < 4; g++) lines.push(`  - {guardrail_name: g${g}, litellm_params: {guardrail: presidio, mode: pre_call}}`);
  lines.push('policies:');
  for (let i = 0; i < policies; i++) lines.push(`  p${i}:`, `    guardrails:`, `      add: [g${(i + variant) % 4}, g${(i + variant + 1) % 4}]`);
  lines.push('policy_attachments:');
  for (let i = 0; i < policies; i++) lines.push(`  - {policy: p${i}, teams: [team-${i}]}`);
  return `${lines.join('\n')}\n`;
}

/** What team-`i` gets from a bundle of `variant`. */
const guardrailsOf = (variant: number, i: number): string[] => [`g${(i + variant) % 4}`, `g${(i + variant + 1) % 4}`].sort();

let dir: string;
let file: string;
let app: Started | undefined;
let events: ActivationEvent[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-robust-partial-'));
  file = path.join(dir, 'bundle.yaml');
  events = [];
});
afterEach(async () => {
  await app?.stop();
  app = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function serve(text: string, config: { allowShrink?: boolean } = {}): Promise<Started> {
  fs.writeFileSync(file, text);
  app = await startApp(file, { config: { debounceMs: DEBOUNCE_MS, ...config } });
  app.app.activator.subscribe((e) => events.push(e));
  return app;
}

/** Replaces the file as producers should: write elsewhere, rename into place. */
function replace(text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

/** The next activation event after `count` events, within 5 s. */
async function eventAfter(count: number): Promise<ActivationEvent> {
  const deadline = Date.now() + 5000;
  while (events.length <= count) {
    if (Date.now() > deadline) throw new Error('no activation event within 5 s');
    await sleep(10);
  }
  return events[count] as ActivationEvent;
}

async function teamGuardrails(started: Started, i: number): Promise<string[]> {
  return (await callResolve(started.client, { context: { teamAlias: `team-${i}`, keyAlias: '', model: '', tags: [] } })).guardrails;
}

describe('partial and empty bundles (issue 11, defect 4)', () => {
  it('never activates a bundle being rewritten in place, however long the writing takes', async () => {
    const started = await serve(bundleText(0));
    const text = bundleText(1);
    const lines = text.split(/(?<=\n)/);
    // In place, a line every few milliseconds for longer than the watcher's longest wait (1 s).
    const fd = fs.openSync(file, 'w');
    const answers: string[][] = [];
    for (const [n, line] of lines.entries()) {
      fs.writeSync(fd, line);
      await sleep(1200 / lines.length);
      if (n % 10 === 0) answers.push(await teamGuardrails(started, POLICIES - 1));
    }
    fs.closeSync(fd);
    const deadline = Date.now() + 5000;
    while (!events.some((e) => e.kind === 'activated' && e.snapshot.policies.get('p0')?.guardrailsFor(undefined).includes('g2'))) {
      if (Date.now() > deadline) throw new Error(`the rewritten bundle was not activated: ${events.map((e) => e.kind).join(', ')}`);
      await sleep(20);
    }
    for (const e of events) {
      if (e.kind !== 'activated') continue;
      expect(e.snapshot.policies.size, 'an activated snapshot has every policy').toBe(POLICIES);
      expect(e.snapshot.attachments.size, 'an activated snapshot has every attachment').toBe(POLICIES);
    }
    // Every answer during the rewrite was the old bundle's or the new one's, never [].
    for (const a of answers) expect([guardrailsOf(0, POLICIES - 1), guardrailsOf(1, POLICIES - 1)]).toContainEqual(a);
    expect(await teamGuardrails(started, 0)).toEqual(guardrailsOf(1, 0));
  });

  it("refuses the bundle's first 12 lines (a file caught half-written) and keeps every team's guardrails", async () => {
    const started = await serve(bundleText(0));
    // The guardrails and two whole policies: it parses and validates, and has no attachments.
    replace(bundleText(1).split('\n').slice(0, 12).join('\n'));
    const event = await eventAfter(0);
    expect(event.kind).toBe('failed');
    if (event.kind !== 'failed') return;
    expect(event.error.code).toBe('BUNDLE_INVALID');
    for (let i = 0; i < POLICIES; i += 7) expect(await teamGuardrails(started, i)).toEqual(guardrailsOf(0, i));
  });

  it('refuses a 0-byte file, a file of comments and a config with none of the policy sections, with a clear issue', async () => {
    const started = await serve(bundleText(0));
    const cases = ['', '# being regenerated\n', 'model_list:\n  - model_name: gpt-4\n'];
    for (const [n, text] of cases.entries()) {
      replace(text);
      const event = await eventAfter(n);
      expect(event.kind, JSON.stringify(text)).toBe('failed');
      if (event.kind !== 'failed') return;
      expect(event.error.code).toBe('BUNDLE_INVALID');
      expect(event.issues).toHaveLength(1);
      expect(event.issues[0]).toMatchObject({ severity: 'error', rule: 'invalid_bundle', file });
      expect(event.issues[0]?.message).toContain('`policies: {}`');
      expect(await teamGuardrails(started, 3)).toEqual(guardrailsOf(0, 3));
    }
  });

  it('serves no policies when the bundle says so with `policies: {}`', async () => {
    const started = await serve('policies: {}\n');
    expect(started.app.holder.current()?.policies.size).toBe(0);
    expect(await teamGuardrails(started, 0)).toEqual([]);
  });

  it('refuses a reload that drops more than half of what is served, with a located issue', async () => {
    const started = await serve(bundleText(0));
    const serving = started.app.holder.current()?.revision;
    // 4 of 20 policies and attachments are left: a truncated export looks like this.
    replace(bundleText(1, 4));
    const event = await eventAfter(0);
    expect(event.kind).toBe('failed');
    if (event.kind !== 'failed') return;
    expect(event.issues).toEqual([expect.objectContaining({ severity: 'error', rule: 'drastic_shrink', file, path: 'policies', line: 7, column: 3 })]);
    expect(event.message).toContain('20 policies and 20 attachments with 4 policies and 4 attachments');
    expect(event.serving?.revision).toBe(serving);
    expect(started.app.holder.current()?.revision).toBe(serving);
    expect(await teamGuardrails(started, 12)).toEqual(guardrailsOf(0, 12));
    // Half is not "more than half".
    replace(bundleText(1, 10));
    expect((await eventAfter(1)).kind).toBe('activated');
  });

  it('activates the shrinking reload when the bundle ends with the marker', async () => {
    const started = await serve(bundleText(0));
    replace(`${bundleText(1, 4)}guardrail_pdp: {allow_shrink: true}\n`);
    const event = await eventAfter(0);
    expect(event.kind).toBe('activated');
    expect(started.app.holder.current()?.policies.size).toBe(4);
  });

  it('ignores the marker unless it ends the bundle (a prefix of the file must not carry it)', async () => {
    const started = await serve(bundleText(0));
    replace(`guardrail_pdp: {allow_shrink: true}\n${bundleText(1, 4)}`);
    const event = await eventAfter(0);
    expect(event.kind).toBe('failed');
    if (event.kind !== 'failed') return;
    expect(event.issues.map((i) => i.rule)).toEqual(['invalid_bundle']);
    expect(event.issues[0]?.message).toContain('is the last section of the bundle');
    expect(started.app.holder.current()?.policies.size).toBe(POLICIES);
  });

  it('activates the shrinking reload when serve runs with --allow-shrink', async () => {
    const started = await serve(bundleText(0), { allowShrink: true });
    replace(bundleText(1, 4));
    expect((await eventAfter(0)).kind).toBe('activated');
    expect(started.app.holder.current()?.policies.size).toBe(4);
  });
});

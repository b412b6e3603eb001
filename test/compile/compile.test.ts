import { describe, expect, it } from 'vitest';
import { compile, type CompileResult } from '../../src/compile/compile.js';
import { finish, runSliced } from '../../src/steps.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { bundleFromYaml } from '../helpers/bundle.js';
import { ctx } from '../helpers/snapshot.js';

const NOW = () => new Date('2025-01-01T00:00:00Z');

/** A bundle with inheritance, conditions, an unknown key (a warning) and attachments in every dimension. */
function bundleText(policies: number, variant = ''): string {
  const lines = ['guardrails:', '  - {guardrail_name: pii, litellm_params: {guardrail: presidio}}', '  - {guardrail_name: tox, litellm_params: {guardrail: presidio}}', 'policies:'];
  for (let i = 0; i < policies; i++) {
    const inherit = i % 4 ? `, inherit: p${i - 1}` : '';
    const condition = i % 5 === 0 ? ', condition: {model: ["gpt-4.*", claude]}' : '';
    lines.push(`  p${i}: {guardrails: {add: [${i % 2 ? 'pii' : 'tox'}]${i % 7 === 0 ? ', remove: [pii]' : ''}}${inherit}${condition}${i === 3 ? `, typo${variant}: 1` : ''}}`);
  }
  lines.push('policy_attachments:', '  - {policy: p0, scope: "*"}');
  for (let i = 1; i < 2 * policies; i++) {
    const where = i % 3 === 0 ? `teams: [team-${i}]` : i % 3 === 1 ? `keys: [key-${i}-*]` : `tags: [tag-${i}], models: [gpt-4*]`;
    lines.push(`  - {policy: p${i % policies}, ${where}}`);
  }
  return `${lines.join('\n')}\n`;
}

const CONTEXTS = [ctx(), ctx({ teamAlias: 'team-3', model: 'gpt-4o' }), ctx({ keyAlias: 'key-4-x', tags: ['tag-5'], model: 'gpt-4o' })];

/** What the hot path can observe of a snapshot. */
function observable(result: CompileResult) {
  if (!result.ok) return { issues: result.issues };
  const s: Snapshot = result.snapshot;
  return {
    issues: result.issues,
    revision: s.revision,
    policies: [...s.policies.values()].map((p) => [p.name, p.chain, p.guardrailsFor(undefined), p.guardrailsFor('gpt-4o'), p.appliesTo('claude')]),
    matches: CONTEXTS.map((c) => s.attachments.match(c).map((m) => [m.attachment.index, m.matchedVia])),
    guardrails: [...s.guardrails.keys()],
  };
}

describe('compile', () => {
  it('yields at least once per policy and attachment', () => {
    const steps = compile(bundleFromYaml(bundleText(50)), { mode: 'strict', now: NOW });
    let yields = 0;
    while (!steps.next().done) yields++;
    expect(yields).toBeGreaterThanOrEqual(50 + 100);
  });

  it('gives the same snapshot, revision and warnings run back to back or interleaved with another compile', () => {
    const a = bundleFromYaml(bundleText(120), 'a.yaml');
    const b = bundleFromYaml(bundleText(80, '2'), 'b.yaml');
    const stepsA = compile(a, { mode: 'strict', now: NOW });
    const stepsB = compile(b, { mode: 'strict', now: NOW });
    let resultA: CompileResult | undefined;
    let resultB: CompileResult | undefined;
    while (resultA === undefined || resultB === undefined) {
      if (resultA === undefined) {
        const step = stepsA.next();
        if (step.done) resultA = step.value;
      }
      if (resultB === undefined) {
        const step = stepsB.next();
        if (step.done) resultB = step.value;
      }
    }
    const expectedA = finish(compile(a, { mode: 'strict', now: NOW }));
    expect(resultA.ok).toBe(true);
    expect(resultA.issues.map((i) => i.rule)).toEqual(['unknown_key']);
    expect(observable(resultA)).toEqual(observable(expectedA));
    expect(observable(resultB)).toEqual(observable(finish(compile(b, { mode: 'strict', now: NOW }))));
  });

  it('reports the same issues run in slices as back to back for a bundle it rejects', async () => {
    const bundle = bundleFromYaml(bundleText(30).replace('policy_attachments:', '  p99: {inherit: missing, guardrails: {add: [nope]}}\npolicy_attachments:'));
    const stepped = await runSliced(compile(bundle, { mode: 'strict', now: NOW }), 0);
    const direct = finish(compile(bundle, { mode: 'strict', now: NOW }));
    expect(stepped.ok).toBe(false);
    expect(stepped.issues).toEqual(direct.issues);
    expect(stepped.issues.filter((i) => i.severity === 'error').length).toBeGreaterThan(0);
  });
});

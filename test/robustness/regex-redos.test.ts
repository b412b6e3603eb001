// Issue 11, defect 1: patterns that backtrack catastrophically passed strict validation, and
// matching was unbounded, so a short model name or prompt could hold the event loop for seconds to
// days (every RPC, /healthz and SIGTERM waited). Through the public interfaces: bundles compiled
// as the activator compiles them, Resolve (engine/resolve.ts) and ExecutePipeline
// (engine/pipeline.ts). The times asserted are generous bounds for what took 3.6 s to forever.
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { finish } from '../../src/steps.js';
import { executePipeline } from '../../src/engine/pipeline.js';
import { resolve } from '../../src/engine/resolve.js';
import type { ValidationMode } from '../../src/model/policy.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { bundleFromYaml } from '../helpers/bundle.js';
import { pipelineInput } from '../helpers/pipeline.js';
import { ctx, req } from '../helpers/snapshot.js';

const r = String.raw;

/** Compiles; the issues when it does not. */
function compiled(yaml: string, mode: ValidationMode): { snapshot: Snapshot | undefined; rules: string[] } {
  const result = finish(compile(bundleFromYaml(yaml), { mode }));
  return { snapshot: result.ok ? result.snapshot : undefined, rules: result.issues.map((i) => `${i.severity} ${i.rule}`) };
}

const conditionBundle = (pattern: string): string => `guardrails:
  - {guardrail_name: g, litellm_params: {guardrail: presidio}}
policies:
  p:
    guardrails: {add: [g]}
    condition: {model: ${JSON.stringify(pattern)}}
policy_attachments:
  - {policy: p, scope: "*"}
`;

const filterBundle = (pattern: string): string => `guardrails:
  - guardrail_name: cf
    litellm_params:
      guardrail: litellm_content_filter
      mode: pre_call
      patterns:
        - {pattern_type: prebuilt, pattern_name: email, action: MASK}
        - {pattern_type: regex, pattern: ${JSON.stringify(pattern)}, name: custom, action: MASK}
policies:
  p:
    guardrails: {add: [cf]}
    pipeline:
      mode: pre_call
      steps:
        - {guardrail: cf, on_pass: allow, on_fail: block}
`;

/** Resolve for one model, timed. */
function resolveTimed(snapshot: Snapshot, model: string): { applied: readonly string[]; ms: number } {
  const started = performance.now();
  const decision = resolve(snapshot, req({ model }));
  return { applied: decision.appliedPolicies, ms: performance.now() - started };
}

/** ExecutePipeline of policy p over one user message, with a 5 s deadline, timed. */
async function pipelineTimed(snapshot: Snapshot, content: string): Promise<{ outcome: string; detail: string; ms: number }> {
  const pipeline = snapshot.policies.get('p')?.spec.pipeline;
  if (pipeline === undefined) throw new Error('no pipeline');
  const started = performance.now();
  const result = await executePipeline(snapshot, pipeline, pipelineInput({ messages: [{ role: 'user', content }], context: ctx() }), {
    deadline: Date.now() + 5_000,
  });
  const [step] = result.steps;
  return { outcome: step?.outcome ?? '', detail: step?.detail ?? '', ms: performance.now() - started };
}

describe('strict validation rejects what used to pass it', () => {
  it.each([
    ['a custom content-filter pattern checked without the (?i) it runs with (6.6 s on 37 bytes)', filterBundle('(?:xy|XY|Xy)+z')],
    ['a condition with a counted repeat of an optional item (3.6 s on a 49-character model)', conditionBundle('(?:[a-z0-9]?){24}[a-z0-9]{24}')],
    ['a condition with two overlapping pairs of loops (9 s on a 4096-character model)', conditionBundle(r`\d+\d+x\d+\d+`)],
  ])('%s', (_, yaml) => {
    expect(compiled(yaml, 'strict').rules).toContain('error unsafe_regex');
  });
});

describe('compiling a bundle runs no pattern unbounded', () => {
  // 24+ mandatory iterations that can each match nothing in two ways: 3.3 s on one character, 20 s
  // on three. Compiling runs each new regex on '' and '\u0100' (V8 compiles lazily).
  const found = r`(?:[-a]?|(\dbx*)?|(?:\d*1{6,})*1*[a-z]{6}){24,28}\w*(?:\w*-{2}a*)?-`;
  it.each([
    ['a condition, strict', conditionBundle(found), 'strict', 'error unsafe_regex'],
    ['a condition, compat', conditionBundle(found), 'compat', 'warning unsafe_regex'],
    ['a custom content-filter pattern, compat', filterBundle(found), 'compat', 'warning unsafe_regex'],
  ] as const)('%s', (_, yaml, mode, rule) => {
    const started = performance.now();
    const { rules } = compiled(yaml, mode);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(rules).toContain(rule);
  });
});

describe('no pattern can hold the event loop (compat mode runs unsafe patterns)', () => {
  it('a compat condition that backtracks exponentially: Resolve answers at once, the model does not match', () => {
    const { snapshot } = compiled(conditionBundle('(a+)+$'), 'compat');
    if (snapshot === undefined) throw new Error('did not compile');
    const hostile = resolveTimed(snapshot, `${'a'.repeat(31)}!`); // ~10 s unbounded (x1.8 per character): days at 40
    expect(hostile.ms).toBeLessThan(1_000);
    expect(hostile.applied).toEqual([]);
    expect(resolveTimed(snapshot, 'aaaa').applied).toEqual(['p']);
  });

  it('a compat condition with a counted repeat of an optional item (3.6 s on a 49-character model)', () => {
    const { snapshot } = compiled(conditionBundle('(?:[a-z0-9]?){24}[a-z0-9]{24}'), 'compat');
    if (snapshot === undefined) throw new Error('did not compile');
    expect(resolveTimed(snapshot, 'a'.repeat(49)).ms).toBeLessThan(1_000);
    expect(resolveTimed(snapshot, 'a'.repeat(30)).applied).toEqual(['p']);
  });

  it('a compat custom pattern that backtracks exponentially under (?i): the step ends in error at once', async () => {
    const { snapshot } = compiled(filterBundle('(?:xy|XY|Xy)+z'), 'compat');
    if (snapshot === undefined) throw new Error('did not compile');
    const hostile = await pipelineTimed(snapshot, `${'xy'.repeat(18)}!`);
    expect(hostile.ms).toBeLessThan(1_000);
    expect(hostile).toEqual(expect.objectContaining({ outcome: 'error', detail: expect.stringContaining('pattern matching exceeded its time budget') }));
    expect(hostile.detail).not.toContain('xyxy');
    expect(await pipelineTimed(snapshot, 'say XYxyz')).toEqual(expect.objectContaining({ outcome: 'pass' }));
  });

  it.each([
    ['[a-z]+x over 50 KB of letters (42 s over 100 KB)', '[a-z]+x', 'a'.repeat(50_000)],
    ['a common email pattern over 30,000 letters (3.6 s)', r`[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}`, 'a'.repeat(30_000)],
  ])('an accepted custom pattern searched from every position: %s', async (_, pattern, text) => {
    const { snapshot } = compiled(filterBundle(pattern), 'strict');
    if (snapshot === undefined) throw new Error('did not compile');
    const hostile = await pipelineTimed(snapshot, text);
    expect(hostile.ms).toBeLessThan(2_000);
    expect(hostile.outcome).toBe('error');
  });

  it('a large prompt is checked in steps: other work runs while it is being checked', async () => {
    const { snapshot } = compiled(filterBundle(r`\b[A-Z]{3}-\d{4}\b`), 'strict');
    if (snapshot === undefined) throw new Error('did not compile');
    let turns = 0;
    let counting = true;
    const count = (): void => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    const result = await pipelineTimed(snapshot, 'mail jane@example.com about ABC-1234. '.repeat(20_000)); // 760 KB
    counting = false;
    expect(result.outcome).toBe('pass');
    expect(turns).toBeGreaterThan(1);
  });
});

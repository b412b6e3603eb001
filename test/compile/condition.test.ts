import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { compileCondition, CONDITION_BUDGET_MS, DIRECT_MAX_MODEL_LENGTH } from '../../src/compile/condition.js';
import { MEMO_LIMIT } from '../../src/compile/memo.js';
import { bundleFromYaml } from '../helpers/bundle.js';
import { finish } from '../../src/steps.js';

const test = (model: string | readonly string[] | null, subject: string | undefined): boolean =>
  compileCondition({ model }).test(subject);

describe('compileCondition (LiteLLM §2)', () => {
  it('matches every model, and a missing one, when there is no condition', () => {
    expect(compileCondition(undefined).test('gpt-4')).toBe(true);
    expect(compileCondition(undefined).test(undefined)).toBe(true);
  });

  it('matches everything when condition.model is null', () => {
    expect(test(null, 'anything')).toBe(true);
    expect(test(null, undefined)).toBe(true);
  });

  it('never matches a missing request model against a non-null condition', () => {
    expect(test('.*', undefined)).toBe(false);
    expect(test(['.*'], undefined)).toBe(false);
  });

  it('matches a list if any element matches, and an empty list never', () => {
    expect(test(['claude-3.*', 'gpt-4'], 'gpt-4')).toBe(true);
    expect(test(['claude-3.*', 'gpt-4'], 'gpt-4o')).toBe(false);
    expect(test([], 'gpt-4')).toBe(false);
  });

  it('anchors at both ends (fullmatch): "gpt-4" does not match gpt-4o', () => {
    expect(test('gpt-4', 'gpt-4o')).toBe(false);
    expect(test('gpt-4', 'my-gpt-4')).toBe(false);
  });

  it('treats the pattern as a regex: "gpt.4" matches gpt-4', () => {
    expect(test('gpt.4', 'gpt-4')).toBe(true);
  });

  it('honours Python inline flags: "(?i)gpt-4" matches GPT-4', () => {
    expect(test('(?i)gpt-4', 'GPT-4')).toBe(true);
  });

  it('never matches a non-empty model with an empty pattern', () => {
    expect(test('', 'gpt-4')).toBe(false);
  });

  it('matches an invalid regex literally, because the exact comparison runs first', () => {
    const c = compileCondition({ model: 'gpt-4(' });
    expect(c.test('gpt-4(')).toBe(true);
    expect(c.test('gpt-4')).toBe(false);
    expect(c.problems).toEqual([expect.objectContaining({ pattern: 'gpt-4(', reason: 'invalid' })]);
  });

  it('matches a bare "*" only against the literal model "*" (it is not a glob)', () => {
    expect(test('*', '*')).toBe(true);
    expect(test('*', 'gpt-4')).toBe(false);
  });

  it('does not let "." match a newline (Python semantics)', () => {
    expect(test('gpt.*', 'gpt-4\n')).toBe(false);
    expect(test('gpt.*', 'gpt-4')).toBe(true);
  });

  it('reports which list element is invalid', () => {
    const c = compileCondition({ model: ['ok.*', '(unclosed'] });
    expect(c.problems).toEqual([expect.objectContaining({ index: 1, pattern: '(unclosed' })]);
  });

  it('keeps answering correctly after its memo table fills and is cleared', () => {
    const c = compileCondition({ model: 'm-1.*' });
    for (let i = 0; i < MEMO_LIMIT + 10; i++) expect(c.test(`m-${i}`)).toBe(String(i).startsWith('1'));
    expect(c.test('m-1')).toBe(true);
    expect(c.test('m-2')).toBe(false);
  });
});

describe('compileCondition with a cache', () => {
  it('compiles equal conditions once and shares the result', () => {
    const cache = new Map();
    const first = compileCondition({ model: ['gpt-4.*', 'claude'] }, cache);
    expect(compileCondition({ model: ['gpt-4.*', 'claude'] }, cache)).toBe(first);
    expect(compileCondition({ model: ['claude', 'gpt-4.*'] }, cache)).not.toBe(first);
    expect(first.test('gpt-4o')).toBe(true);
  });

  it('keeps a string and a one-element list apart: their problems point at different places', () => {
    const cache = new Map();
    const single = compileCondition({ model: 'gpt-4(' }, cache);
    const list = compileCondition({ model: ['gpt-4('] }, cache);
    expect(single.problems).toEqual([expect.objectContaining({ index: undefined, reason: 'invalid' })]);
    expect(list.problems).toEqual([expect.objectContaining({ index: 0, reason: 'invalid' })]);
  });

  it('shares one condition test between policies with equal conditions in a snapshot', () => {
    const yaml = 'policies: { a: { condition: { model: "gpt-4.*" } }, b: { condition: { model: "gpt-4.*" } } }';
    const result = finish(compile(bundleFromYaml(yaml), { mode: 'strict' }));
    if (!result.ok) throw new Error('did not compile');
    const a = result.snapshot.policies.get('a');
    expect(a?.appliesTo).toBe(result.snapshot.policies.get('b')?.appliesTo);
    expect(a?.appliesTo('gpt-4o')).toBe(true);
    expect(a?.appliesTo('claude')).toBe(false);
  });
});

describe('compileCondition: catastrophic backtracking', () => {
  it('reports a pattern that can backtrack exponentially as unsafe, and still evaluates it', () => {
    const c = compileCondition({ model: '(a+)+$' });
    expect(c.problems).toEqual([
      { index: undefined, pattern: '(a+)+$', reason: 'unsafe', message: expect.stringMatching(/^nested quantifier: a\+ /) },
    ]);
    expect(c.test('aaa')).toBe(true);
    expect(c.test('b')).toBe(false);
  });

  it('stops an unsafe pattern at its time budget: the model does not match', () => {
    const c = compileCondition({ model: ['(a+)+$', 'gpt-4.*'] });
    const started = performance.now();
    expect(c.test(`${'a'.repeat(40)}!`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000); // unbounded: days
    expect(c.test('gpt-4o')).toBe(true); // the other element still runs
  });

  it('shares one budget between the conditions a model is tested against in one turn', async () => {
    const conditions = Array.from({ length: 20 }, (_, i) => compileCondition({ model: `(a+)+$|x${i}` }));
    const model = `${'a'.repeat(40)}!`;
    const started = performance.now();
    for (const c of conditions) expect(c.test(model)).toBe(false);
    // 20 unsafe patterns, one budget: not 20 budgets.
    expect(performance.now() - started).toBeLessThan(CONDITION_BUDGET_MS * 5);
    await new Promise((resolve) => setImmediate(resolve));
    // A new turn renews it: a pattern it did not reach before still gets to run.
    expect(compileCondition({ model: '(a+)+$|x' }).test('aaaa')).toBe(true);
  });

  it('runs a linear pattern directly on a long model, and a quadratic one under the budget', () => {
    const long = 'gpt-4'.padEnd(4000, 'x');
    expect(compileCondition({ model: 'gpt-4.*' }).test(long)).toBe(true);
    expect(compileCondition({ model: String.raw`\d+\d+x` }).test(`${'1'.repeat(4000)}x`)).toBe(true);
    expect(compileCondition({ model: String.raw`\d+\d+x` }).test(`${'1'.repeat(DIRECT_MAX_MODEL_LENGTH)}x`)).toBe(true);
  });

  it('reports which list element is unsafe, and nothing for the safe ones', () => {
    const c = compileCondition({ model: ['gpt-4.*', '(?i)claude-3-(opus|sonnet).*', '(.*a){20}'] });
    expect(c.problems).toEqual([expect.objectContaining({ index: 2, pattern: '(.*a){20}', reason: 'unsafe' })]);
  });

  it('does not also report a pattern Python rejects as unsafe', () => {
    expect(compileCondition({ model: '(a+)+(' }).problems).toEqual([expect.objectContaining({ reason: 'invalid' })]);
  });
});

describe('compile: unsafe condition patterns (rule unsafe_regex)', () => {
  const yaml = `guardrails:
  - {guardrail_name: pii, litellm_params: {guardrail: presidio}}
policies:
  ok-policy:
    guardrails: {add: [pii]}
    condition: {model: "gpt-4.*"}
  slow-policy:
    guardrails: {add: [pii]}
    condition:
      model: "(a+)+$"
policy_attachments:
  - {policy: slow-policy, scope: "*"}
`;

  it('rejects a strict bundle with an error located at the pattern', () => {
    const result = finish(compile(bundleFromYaml(yaml, 'bundle.yaml'), { mode: 'strict' }));
    expect(result.ok).toBe(false);
    expect(result.issues).toEqual([
      expect.objectContaining({ severity: 'error', rule: 'unsafe_regex', file: 'bundle.yaml', line: 10, path: 'policies.slow-policy.condition.model' }),
    ]);
    const [issue] = result.issues;
    expect(issue?.message).toContain(`"(a+)+$" of policy 'slow-policy'`);
    expect(issue?.message).toContain('nested quantifier');
    expect(issue?.message).toContain('the bundle is rejected');
  });

  it('loads a compat bundle with a warning that says the pattern runs only under a time budget', () => {
    const result = finish(compile(bundleFromYaml(yaml, 'bundle.yaml'), { mode: 'compat' }));
    expect(result.ok).toBe(true);
    expect(result.issues).toEqual([expect.objectContaining({ severity: 'warning', rule: 'unsafe_regex', line: 10 })]);
    expect(result.issues[0]?.message).toContain(`compat mode runs it only under a time budget (${CONDITION_BUDGET_MS} ms per request)`);
    expect(result.issues[0]?.message).toContain('does not match');
    if (result.ok) expect(result.snapshot.policies.get('slow-policy')?.appliesTo('aaa')).toBe(true);
  });

  it('tells the listener once per pattern that ran out of its budget, with the pattern and never the model', () => {
    const events: unknown[] = [];
    const result = finish(compile(bundleFromYaml(yaml, 'bundle.yaml'), { mode: 'compat', guardrailEnv: { onPatternTimeout: (e) => events.push(e) } }));
    if (!result.ok) throw new Error('did not compile');
    const slow = result.snapshot.policies.get('slow-policy');
    expect(slow?.appliesTo(`${'a'.repeat(40)}!`)).toBe(false);
    expect(slow?.appliesTo(`${'a'.repeat(41)}!`)).toBe(false);
    expect(events).toEqual([{ use: 'condition', pattern: '(a+)+$', budgetMs: CONDITION_BUDGET_MS }]);
  });
});

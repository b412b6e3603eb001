import { describe, expect, it } from 'vitest';
import { parseBundle } from '../../src/compile/parse/parse.js';
import { validateBundle } from '../../src/compile/validate.js';
import type { Issue } from '../../src/model/issue.js';
import type { ValidationMode } from '../../src/model/policy.js';
import { bundleFromYaml } from '../helpers/bundle.js';
import { finish } from '../../src/steps.js';

/** The validator's issues only (a policy that fails to parse is reported by the parser, not here). */
function validate(yaml: string, mode: ValidationMode = 'strict'): Issue[] {
  const bundle = bundleFromYaml(yaml);
  return finish(validateBundle(bundle, finish(parseBundle(bundle)).parsed, mode));
}

const GUARDRAILS = `guardrails:
  - {guardrail_name: pii, litellm_params: {guardrail: presidio, mode: pre_call}}
  - {guardrail_name: toxicity, litellm_params: {guardrail: openai_moderation, mode: pre_call}}
`;

/** A chain p0 <- p1 <- ... <- p{n-1}: each policy inherits the one before it. */
function chain(n: number): string {
  const lines = ['policies:', '  p0: {}'];
  for (let i = 1; i < n; i++) lines.push(`  p${i}: {inherit: p${i - 1}}`);
  return `${lines.join('\n')}\n`;
}

describe('validateBundle', () => {
  it('accepts the example config of docs/semantics.md §11', () => {
    const yaml = `
guardrails:
  - guardrail_name: pii_masking
    litellm_params: {guardrail: presidio, mode: pre_call}
  - guardrail_name: prompt_injection
    litellm_params: {guardrail: lakera, mode: pre_call}
  - guardrail_name: toxicity_filter
    litellm_params: {guardrail: openai_moderation, mode: pre_call}
  - guardrail_name: hipaa_audit
    litellm_params: {guardrail: custom, mode: post_call}
policies:
  global-baseline:
    description: "Base guardrails for all requests"
    guardrails:
      add: [pii_masking, prompt_injection]
  healthcare-compliance:
    inherit: global-baseline
    guardrails:
      add: [hipaa_audit]
      remove: [prompt_injection]
    condition:
      model: ["gpt-4.*", "claude-3.*"]
  legacy-style:
    guardrails: [toxicity_filter]
  gpt4-pipeline:
    guardrails:
      add: [pii_masking, toxicity_filter]
    pipeline:
      mode: pre_call
      steps:
        - guardrail: pii_masking
          on_pass: next
          on_fail: block
          pass_data: true
        - guardrail: toxicity_filter
          on_fail: modify_response
          modify_response_message: "I can't help with that."
policy_attachments:
  - policy: global-baseline
    scope: "*"
  - policy: healthcare-compliance
    teams: [healthcare-team, "health-*"]
    tags: ["health-*"]
  - policy: legacy-style
    keys: ["dev-key-*"]
  - policy: gpt4-pipeline
    models: [gpt-4, "gpt-4*"]
`;
    const bundle = bundleFromYaml(yaml);
    const { parsed, issues } = finish(parseBundle(bundle));
    expect(issues).toEqual([]);
    expect(finish(validateBundle(bundle, parsed, 'strict'))).toEqual([]);
  });

  it('rejects guardrails.add naming a guardrail the bundle does not define', () => {
    const issues = validate(`${GUARDRAILS}policies:\n  p:\n    guardrails:\n      add: [pii, pi]\n`);
    expect(issues).toEqual([
      {
        severity: 'error',
        rule: 'invalid_guardrail',
        message: "Guardrail 'pi' not found in guardrail registry",
        file: 'test.yaml',
        line: 7,
        column: 18,
        path: 'policies.p.guardrails.add[1]',
      },
    ]);
  });

  it('locates an unknown guardrail of the legacy list form in the list', () => {
    expect(validate(`${GUARDRAILS}policies:\n  p:\n    guardrails: [nope]\n`)[0]).toMatchObject({ path: 'policies.p.guardrails[0]', line: 6 });
  });

  it('checks no guardrail names when the bundle defines none, and says so once', () => {
    const issues = validate('policies:\n  p: {guardrails: [a]}\n  q: {guardrails: {remove: [b]}}\n');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ severity: 'warning', rule: 'invalid_guardrail', path: 'guardrails', line: 1 });
    expect(issues[0]!.message).toMatch(/^guardrail names are not checked because the bundle defines no guardrails/);
  });

  it('says nothing about unchecked names when no policy names a guardrail', () => {
    expect(validate('policies:\n  p: {}\n')).toEqual([]);
  });

  it('warns about guardrails.remove naming an undefined guardrail', () => {
    expect(validate(`${GUARDRAILS}policies:\n  p:\n    guardrails: {remove: [nope]}\n`)).toEqual([
      expect.objectContaining({
        severity: 'warning',
        rule: 'invalid_guardrail',
        path: 'policies.p.guardrails.remove[0]',
        line: 6,
        message: "Guardrail 'nope' in remove list not found in guardrail registry",
      }),
    ]);
  });

  it('rejects a pipeline step whose guardrail is only inherited, not in the policy own guardrails.add', () => {
    const issues = validate(`${GUARDRAILS}policies:
  base: {guardrails: [toxicity]}
  p:
    inherit: base
    guardrails: {add: [pii]}
    pipeline:
      steps:
        - guardrail: pii
        - guardrail: toxicity
`);
    expect(issues).toEqual([
      expect.objectContaining({
        severity: 'error',
        rule: 'invalid_guardrail',
        path: 'policies.p.pipeline.steps[1].guardrail',
        line: 12,
        column: 22,
        message: "Pipeline step 1 guardrail 'toxicity' is not in the policy's guardrails.add list",
      }),
    ]);
  });

  it('rejects a pipeline step whose guardrail the bundle does not define', () => {
    const issues = validate(`${GUARDRAILS}policies:\n  p:\n    guardrails: {add: [pii, ghost]}\n    pipeline: {steps: [{guardrail: ghost}]}\n`);
    expect(issues.map((i) => [i.severity, i.path, i.message])).toEqual([
      ['error', 'policies.p.guardrails.add[1]', "Guardrail 'ghost' not found in guardrail registry"],
      ['error', 'policies.p.pipeline.steps[0].guardrail', "Pipeline step 0 guardrail 'ghost' not found in guardrail registry"],
    ]);
  });

  it('does not cascade from a guardrail definition that failed to parse', () => {
    expect(validate('guardrails:\n  - guardrail_name: pii\npolicies:\n  p: {guardrails: [pii]}\n')).toEqual([]);
  });

  it('rejects a missing parent, once, at the inherit of the policy holding it', () => {
    const issues = validate('policies:\n  child:\n    inherit: ghost\n  grandchild:\n    inherit: child\n');
    expect(issues).toEqual([
      {
        severity: 'error',
        rule: 'invalid_inheritance',
        message: "Parent policy 'ghost' not found",
        file: 'test.yaml',
        line: 3,
        column: 14,
        path: 'policies.child.inherit',
      },
    ]);
  });

  it('counts a policy that failed to parse as defined', () => {
    expect(validate('policies:\n  broken: {guardrails: pii}\n  child: {inherit: broken}\n')).toEqual([]);
  });

  it('reports a cycle for every policy in it, naming the revisited policy in walk order', () => {
    const issues = validate('policies:\n  a: {inherit: b}\n  b: {inherit: a}\n');
    expect(issues.map((i) => [i.rule, i.path, i.line, i.message])).toEqual([
      ['circular_inheritance', 'policies.a.inherit', 2, 'Circular inheritance detected: a -> b -> a'],
      ['circular_inheritance', 'policies.b.inherit', 3, 'Circular inheritance detected: b -> a -> b'],
    ]);
  });

  it('reports a cycle reached from outside it at the first revisited policy', () => {
    const issues = validate('policies:\n  a: {inherit: b}\n  b: {inherit: a}\n  c: {inherit: a}\n');
    expect(issues.map((i) => [i.path, i.message])).toContainEqual(['policies.a.inherit', 'Circular inheritance detected: c -> a -> b -> a']);
    expect(issues).toHaveLength(3);
  });

  it('reports a policy inheriting itself', () => {
    expect(validate('policies:\n  p: {inherit: p}\n').map((i) => i.message)).toEqual(['Circular inheritance detected: p -> p']);
  });

  it('reports a straight chain of 103 policies exactly three times, naming p0, p1 and p2', () => {
    const issues = validate(chain(103));
    expect(issues.map((i) => [i.severity, i.rule, i.path, i.message])).toEqual([
      ['error', 'circular_inheritance', 'policies.p0.inherit', 'Inheritance chain too deep (exceeded max depth of 100)'],
      ['error', 'circular_inheritance', 'policies.p1.inherit', 'Inheritance chain too deep (exceeded max depth of 100)'],
      ['error', 'circular_inheritance', 'policies.p2.inherit', 'Inheritance chain too deep (exceeded max depth of 100)'],
    ]);
  });

  it('accepts a straight chain of 100 policies', () => {
    expect(validate(chain(100))).toEqual([]);
  });

  it('downgrades LiteLLM validation errors to warnings with the same rule and message in compat mode', () => {
    const yaml = `${GUARDRAILS}policies:\n  p:\n    inherit: ghost\n    guardrails: [nope]\n    pipeline: {steps: [{guardrail: pii}]}\n  a: {inherit: a}\n`;
    const strict = validate(yaml, 'strict');
    const compat = validate(yaml, 'compat');
    expect(strict.map((i) => i.severity)).toEqual(['error', 'error', 'error', 'error']);
    expect(compat).toEqual(strict.map((i) => ({ ...i, severity: 'warning' })));
  });

  it('keeps parse errors as errors in compat mode', () => {
    const bundle = bundleFromYaml('policies:\n  p: {guardrails: pii}\npolicy_attachments:\n  - {policy: p, teams: t}\n');
    const { parsed, issues } = finish(parseBundle(bundle));
    const all = [...issues, ...finish(validateBundle(bundle, parsed, 'compat'))];
    expect(all.map((i) => [i.severity, i.rule])).toEqual([
      ['error', 'invalid_syntax'],
      ['error', 'invalid_attachment'],
    ]);
  });

  it('warns about an attachment naming a policy that is not defined', () => {
    expect(validate('policies:\n  p: {}\npolicy_attachments:\n  - policy: p\n  - policy: ghost\n')).toEqual([
      {
        severity: 'warning',
        rule: 'unknown_policy',
        message: "attachment names policy 'ghost', which is not defined; LiteLLM never applies it",
        file: 'test.yaml',
        line: 5,
        column: 13,
        path: 'policy_attachments[1].policy',
      },
    ]);
  });

  it('warns about an attachment without a policy', () => {
    expect(validate('policy_attachments:\n  - scope: "*"\n')).toEqual([
      expect.objectContaining({ severity: 'warning', rule: 'unknown_policy', path: 'policy_attachments[0]', line: 2 }),
    ]);
  });

  it('does not warn about an attachment without a policy when a policy named "" is defined: it applies that one', () => {
    expect(validate('policies:\n  "": {}\npolicy_attachments:\n  - scope: "*"\n')).toEqual([]);
  });

  it('does not warn about an attachment to a policy that failed to parse', () => {
    expect(validate('policies:\n  broken: {guardrails: pii}\npolicy_attachments:\n  - policy: broken\n')).toEqual([]);
  });

  it('reports every issue of every policy at once, sorted by line', () => {
    const issues = validate(`${GUARDRAILS}policies:\n  a: {guardrails: [x]}\n  b: {inherit: ghost}\n  c: {guardrails: [y]}\n`);
    expect(issues.map((i) => i.line)).toEqual([5, 6, 7]);
  });
});

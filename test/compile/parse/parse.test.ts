import { describe, expect, it } from 'vitest';
import { parseBundle } from '../../../src/compile/parse/parse.js';
import type { Issue } from '../../../src/model/issue.js';
import { bundleFromYaml } from '../../helpers/bundle.js';
import { finish } from '../../../src/steps.js';

function parse(yaml: string) {
  return finish(parseBundle(bundleFromYaml(yaml)));
}

/** The only issue of a parse, failing if there is not exactly one. */
function onlyIssue(yaml: string): Issue {
  const { issues } = parse(yaml);
  expect(issues).toHaveLength(1);
  return issues[0]!;
}

function policyNames(yaml: string): string[] {
  return parse(yaml).parsed.policies.map((p) => p.name);
}

describe('parseBundle: the top level', () => {
  it('rejects an empty bundle, saying how to serve no policies on purpose', () => {
    for (const text of ['', '# nothing yet\n', '---\n']) {
      const issue = onlyIssue(text);
      expect(issue).toMatchObject({ severity: 'error', rule: 'invalid_bundle', path: '', file: 'test.yaml' });
      expect(issue.message).toContain('the bundle is empty');
      expect(issue.message).toContain('`policies: {}`');
    }
  });

  it('parses `policies: {}` to nothing, without issues', () => {
    const none = new Set();
    expect(parse('policies: {}\n')).toEqual({
      parsed: { guardrails: [], policies: [], attachments: [], versions: [], brokenPolicyNames: none, guardrailNames: none, legacyListPolicies: none, allowsShrink: false },
      issues: [],
    });
  });

  it('reads the shrink marker `guardrail_pdp: {allow_shrink: true}` when it is the last section', () => {
    const { parsed, issues } = parse('policies: {}\nguardrail_pdp: {allow_shrink: true}\n');
    expect(issues).toEqual([]);
    expect(parsed.allowsShrink).toBe(true);
    expect(parse('policies: {}\nguardrail_pdp: {allow_shrink: false}\n').parsed.allowsShrink).toBe(false);
  });

  it('rejects the shrink marker before another section: a prefix of the file must not carry it', () => {
    const { parsed, issues } = parse('guardrail_pdp: {allow_shrink: true}\npolicies: {}\n');
    expect(parsed.allowsShrink).toBe(false);
    expect(issues).toEqual([expect.objectContaining({ severity: 'error', rule: 'invalid_bundle', path: 'guardrail_pdp.allow_shrink', line: 1, column: 17 })]);
    expect(issues[0]?.message).toContain("(here 'policies' follows it)");
  });

  it('rejects a malformed guardrail_pdp section and warns about its unknown keys', () => {
    expect(onlyIssue('policies: {}\nguardrail_pdp: [allow_shrink]\n')).toMatchObject({ severity: 'error', rule: 'invalid_bundle', path: 'guardrail_pdp' });
    expect(onlyIssue('policies: {}\nguardrail_pdp: {allow_shrink: "yes please"}\n')).toMatchObject({ severity: 'error', path: 'guardrail_pdp.allow_shrink' });
    const typo = onlyIssue('policies: {}\nguardrail_pdp: {allow_shrinks: true}\n');
    expect(typo).toMatchObject({ severity: 'warning', rule: 'unknown_key', path: 'guardrail_pdp.allow_shrinks' });
    expect(typo.message).toContain("did you mean 'allow_shrink'?");
  });

  it('rejects a top level that is not a mapping', () => {
    expect(onlyIssue('- a\n- b\n')).toMatchObject({ severity: 'error', rule: 'invalid_bundle', path: '', line: 1, file: 'test.yaml' });
  });

  it('ignores the rest of a LiteLLM config silently', () => {
    const { issues } = parse('model_list:\n  - model_name: gpt-4\nlitellm_settings: {drop_params: true}\ngeneral_settings: {}\npolicies: {}\n');
    expect(issues).toEqual([]);
  });

  it('rejects a document with none of the policy sections, or only null ones', () => {
    for (const text of ['model_list:\n  - model_name: gpt-4\n', 'guardrails:\npolicies:\npolicy_attachments:\n']) {
      const issue = onlyIssue(text);
      expect(issue).toMatchObject({ severity: 'error', rule: 'invalid_bundle', path: '', line: 1 });
      expect(issue.message).toContain("has none of the sections 'guardrails:', 'policies:', 'policy_attachments:', 'policy_versions:'");
    }
  });

  it('accepts a config with only guardrails (its policies may come from a db)', () => {
    expect(parse('guardrails:\n  - {guardrail_name: pii, litellm_params: {guardrail: presidio}}\n').issues).toEqual([]);
  });

  it('warns about a top-level key that looks like a misspelt section', () => {
    const issue = onlyIssue('policies: {}\npolicy_attachment:\n  - policy: a\n');
    expect(issue).toMatchObject({ severity: 'warning', rule: 'unknown_key', path: 'policy_attachment', line: 2, column: 1 });
    expect(issue.message).toContain("did you mean 'policy_attachments'?");
  });

  it('treats null sections beside a present one as empty', () => {
    expect(parse('guardrails:\npolicies: {}\npolicy_attachments:\n').issues).toEqual([]);
  });

  it('rejects a policies section that is not a mapping', () => {
    expect(onlyIssue('policies:\n  - a\n')).toMatchObject({ severity: 'error', rule: 'invalid_bundle', path: 'policies', line: 2 });
  });

  it('rejects a policy_attachments section that is not a list', () => {
    expect(onlyIssue('policy_attachments:\n  policy: a\n')).toMatchObject({ severity: 'error', rule: 'invalid_bundle', path: 'policy_attachments' });
  });

  it('rejects a guardrails section that is not a list', () => {
    expect(onlyIssue('guardrails: pii\n')).toMatchObject({ severity: 'error', rule: 'invalid_bundle', path: 'guardrails' });
  });
});

describe('parseBundle: policies', () => {
  it('parses every field of a policy', () => {
    const { parsed, issues } = parse(`
policies:
  hipaa:
    inherit: base
    description: HIPAA
    guardrails:
      add: [pii, audit]
      remove: [injection]
    condition:
      model: ["gpt-4.*", claude]
    pipeline:
      mode: post_call
      steps:
        - guardrail: pii
          on_pass: next
          on_fail: modify_response
          pass_data: true
          modify_response_message: sorry
        - guardrail: audit
`);
    expect(issues).toEqual([]);
    expect(parsed.policies).toEqual([
      {
        name: 'hipaa',
        inherit: 'base',
        description: 'HIPAA',
        add: ['pii', 'audit'],
        remove: ['injection'],
        condition: { model: ['gpt-4.*', 'claude'] },
        pipeline: {
          mode: 'post_call',
          steps: [
            { guardrail: 'pii', onPass: 'next', onFail: 'modify_response', onError: undefined, passData: true, modifyResponseMessage: 'sorry', timeoutMs: undefined },
            { guardrail: 'audit', onPass: 'allow', onFail: 'block', onError: undefined, passData: false, modifyResponseMessage: undefined, timeoutMs: undefined },
          ],
        },
      },
    ]);
  });

  it('returns frozen specs', () => {
    const policy = parse('policies:\n  p:\n    guardrails: [a]\n').parsed.policies[0]!;
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.add)).toBe(true);
  });

  it('keeps policies in document order, integer-like names included', () => {
    expect(policyNames('policies:\n  zeta: {}\n  "10": {}\n  alpha: {}\n')).toEqual(['zeta', '10', 'alpha']);
  });

  it('reads the legacy list form of guardrails as add', () => {
    const policy = parse('policies:\n  p:\n    guardrails: [a, b]\n').parsed.policies[0]!;
    expect(policy).toMatchObject({ add: ['a', 'b'], remove: [] });
  });

  it('records what later stages need: broken policy names, every guardrail name, legacy-list policies', () => {
    const { parsed } = parse(
      'guardrails:\n  - {guardrail_name: ok, litellm_params: {guardrail: presidio}}\n  - {guardrail_name: no_params}\n' +
        'policies:\n  legacy: {guardrails: [ok]}\n  modern: {guardrails: {add: [ok]}}\n  broken: {guardrails: ok}\n  123: {}\n',
    );
    expect(parsed.policies.map((p) => p.name)).toEqual(['legacy', 'modern']);
    expect([...parsed.brokenPolicyNames]).toEqual(['broken', '123']);
    expect([...parsed.guardrailNames]).toEqual(['ok', 'no_params']);
    expect([...parsed.legacyListPolicies]).toEqual(['legacy']);
  });

  it('reads falsy guardrails as none', () => {
    const { parsed, issues } = parse('policies:\n  p:\n    guardrails: []\n  q:\n    guardrails:\n  r:\n    guardrails: {add: null, remove: []}\n');
    expect(issues).toEqual([]);
    expect(parsed.policies.map((p) => [p.add, p.remove])).toEqual([
      [[], []],
      [[], []],
      [[], []],
    ]);
  });

  it('rejects guardrails given as a bare string: add must be a list', () => {
    const { parsed, issues } = parse('policies:\n  p:\n    guardrails: pii\n');
    expect(parsed.policies).toEqual([]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ severity: 'error', rule: 'invalid_syntax', path: 'policies.p.guardrails', line: 3, column: 17 });
    expect(issues[0]!.message).toMatch(/^Invalid policy 'p': add must be a list/);
  });

  it('rejects guardrails.add that is not a list', () => {
    const issue = onlyIssue('policies:\n  p:\n    guardrails:\n      add: pii\n');
    expect(issue).toMatchObject({ rule: 'invalid_syntax', path: 'policies.p.guardrails.add', line: 4 });
    expect(issue.message).toBe("Invalid policy 'p': guardrails.add must be a list of strings, got a string");
  });

  it('rejects non-string guardrail names without coercing them', () => {
    const issue = onlyIssue('policies:\n  p:\n    guardrails:\n      remove: [a, 42]\n');
    expect(issue).toMatchObject({ rule: 'invalid_syntax', path: 'policies.p.guardrails.remove[1]', line: 4, column: 19 });
    expect(issue.message).toBe("Invalid policy 'p': guardrails.remove[1] must be a string, got a number (42)");
  });

  it('reports every problem of one policy at once and leaves the policy out', () => {
    const { parsed, issues } = parse('policies:\n  p:\n    inherit: 5\n    guardrails: {add: [1]}\n  ok: {}\n');
    expect(parsed.policies.map((p) => p.name)).toEqual(['ok']);
    expect(issues.map((i) => i.path)).toEqual(['policies.p.inherit', 'policies.p.guardrails.add[0]']);
  });

  it('rejects a policy that is not a mapping', () => {
    expect(onlyIssue('policies:\n  p:\n')).toMatchObject({ rule: 'invalid_syntax', path: 'policies.p', message: "Invalid policy 'p': a policy must be a mapping, got null" });
  });

  it('reads an empty inherit as no parent', () => {
    expect(parse('policies:\n  p: {inherit: ""}\n').parsed.policies[0]!.inherit).toBeUndefined();
  });

  it('rejects a description that is not a string', () => {
    expect(onlyIssue('policies:\n  p: {description: [a]}\n')).toMatchObject({ rule: 'invalid_syntax', path: 'policies.p.description' });
  });
});

describe('parseBundle: conditions', () => {
  const conditionOf = (yaml: string) => parse(yaml).parsed.policies[0]?.condition;

  it('reads condition: {} as no condition', () => {
    expect(conditionOf('policies:\n  p:\n    condition: {}\n')).toBeUndefined();
  });

  it('reads condition: {model: null} as a condition that always matches', () => {
    expect(conditionOf('policies:\n  p:\n    condition: {model: null}\n')).toEqual({ model: null });
  });

  it('reads a condition without model as model null, warning about the unknown key', () => {
    const { parsed, issues } = parse('policies:\n  p:\n    condition:\n      models: gpt-4\n');
    expect(parsed.policies[0]!.condition).toEqual({ model: null });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ severity: 'warning', rule: 'unknown_key', path: 'policies.p.condition.models', line: 4, column: 7 });
    expect(issues[0]!.message).toContain("did you mean 'model'?");
  });

  it('reads a string model and a list model', () => {
    expect(conditionOf('policies:\n  p: {condition: {model: gpt-4}}\n')).toEqual({ model: 'gpt-4' });
    expect(conditionOf('policies:\n  p: {condition: {model: []}}\n')).toEqual({ model: [] });
  });

  it('rejects a condition that is not a mapping, as LiteLLM crashes on it', () => {
    const issue = onlyIssue('policies:\n  p:\n    condition: gpt-4\n');
    expect(issue).toMatchObject({ severity: 'error', rule: 'invalid_syntax', path: 'policies.p.condition', line: 3 });
    expect(issue.message).toContain("AttributeError: 'str' object has no attribute 'get'");
  });

  it('rejects a model that is neither a string, a list of strings nor null', () => {
    expect(onlyIssue('policies:\n  p: {condition: {model: 4}}\n')).toMatchObject({ rule: 'invalid_syntax', path: 'policies.p.condition.model' });
    expect(onlyIssue('policies:\n  p: {condition: {model: [a, true]}}\n')).toMatchObject({ rule: 'invalid_syntax', path: 'policies.p.condition.model[1]' });
  });

  it('suggests attachments for a team condition', () => {
    expect(onlyIssue('policies:\n  p: {condition: {teams: [a]}}\n').message).toContain('conditions only support model; scope by teams with policy_attachments');
  });
});

describe('parseBundle: pipelines', () => {
  const pipelineOf = (yaml: string) => parse(yaml).parsed.policies[0]?.pipeline;

  it('reads pipeline: null as no pipeline', () => {
    expect(pipelineOf('policies:\n  p:\n    pipeline:\n')).toBeUndefined();
  });

  it('defaults the mode to pre_call', () => {
    expect(pipelineOf('policies:\n  p:\n    pipeline: {steps: [{guardrail: a}]}\n')?.mode).toBe('pre_call');
  });

  it('rejects an unknown mode with LiteLLM message', () => {
    const issue = onlyIssue('policies:\n  p:\n    pipeline: {mode: during_call, steps: [{guardrail: a}]}\n');
    expect(issue).toMatchObject({ rule: 'invalid_syntax', path: 'policies.p.pipeline.mode', line: 3 });
    expect(issue.message).toBe("Invalid policy 'p': pipeline.mode: Invalid mode 'during_call'. Must be one of: ['post_call', 'pre_call']");
  });

  it('rejects an explicit null mode', () => {
    expect(onlyIssue('policies:\n  p:\n    pipeline: {mode: null, steps: [{guardrail: a}]}\n').path).toBe('policies.p.pipeline.mode');
  });

  it('rejects a pipeline without steps', () => {
    expect(onlyIssue('policies:\n  p:\n    pipeline: {mode: pre_call, steps: []}\n').message).toBe("Invalid policy 'p': pipeline.steps must have at least 1 step");
    expect(onlyIssue('policies:\n  p:\n    pipeline: {mode: pre_call}\n').path).toBe('policies.p.pipeline.steps');
  });

  it('rejects a pipeline that is not a mapping', () => {
    expect(onlyIssue('policies:\n  p:\n    pipeline: [a]\n')).toMatchObject({ rule: 'invalid_syntax', path: 'policies.p.pipeline' });
  });

  it('rejects a step without a guardrail', () => {
    const issue = onlyIssue('policies:\n  p:\n    pipeline:\n      steps:\n        - on_fail: block\n');
    expect(issue).toMatchObject({ rule: 'invalid_syntax', path: 'policies.p.pipeline.steps[0]', line: 5 });
    expect(issue.message).toBe("Invalid policy 'p': pipeline.steps[0].guardrail is required");
  });

  it('rejects a step that is not a mapping', () => {
    expect(onlyIssue('policies:\n  p:\n    pipeline: {steps: [pii]}\n').path).toBe('policies.p.pipeline.steps[0]');
  });

  it('rejects actions case-sensitively with LiteLLM message', () => {
    const issue = onlyIssue('policies:\n  p:\n    pipeline:\n      steps:\n        - guardrail: a\n          on_fail: Block\n');
    expect(issue).toMatchObject({ rule: 'invalid_syntax', path: 'policies.p.pipeline.steps[0].on_fail', line: 6, column: 20 });
    expect(issue.message).toBe(
      "Invalid policy 'p': pipeline.steps[0].on_fail: Invalid action 'Block'. Must be one of: ['allow', 'block', 'modify_response', 'next']",
    );
  });

  it('rejects an unknown key in a step, at the key, with a suggestion', () => {
    const issue = onlyIssue('policies:\n  p:\n    pipeline:\n      steps:\n        - guardrail: a\n          onFail: block\n');
    expect(issue).toMatchObject({ severity: 'error', rule: 'invalid_syntax', path: 'policies.p.pipeline.steps[0].onFail', line: 6, column: 11 });
    expect(issue.message).toBe("Invalid policy 'p': pipeline.steps[0]: unknown key 'onFail' (Extra inputs are not permitted); did you mean 'on_fail'?");
  });

  it('reads the on_error and timeout_ms extensions', () => {
    const step = pipelineOf('policies:\n  p:\n    pipeline: {steps: [{guardrail: a, on_error: allow, timeout_ms: 250}]}\n')?.steps[0];
    expect(step).toMatchObject({ onError: 'allow', timeoutMs: 250, onFail: 'block' });
  });

  it('rejects a timeout_ms that is not a positive integer', () => {
    expect(onlyIssue('policies:\n  p:\n    pipeline: {steps: [{guardrail: a, timeout_ms: 0}]}\n').path).toBe('policies.p.pipeline.steps[0].timeout_ms');
    expect(onlyIssue('policies:\n  p:\n    pipeline: {steps: [{guardrail: a, timeout_ms: 1.5}]}\n').path).toBe('policies.p.pipeline.steps[0].timeout_ms');
  });

  it('reads pass_data as pydantic does, rejecting what pydantic rejects', () => {
    expect(pipelineOf('policies:\n  p:\n    pipeline: {steps: [{guardrail: a, pass_data: "true"}]}\n')?.steps[0]?.passData).toBe(true);
    expect(onlyIssue('policies:\n  p:\n    pipeline: {steps: [{guardrail: a, pass_data: maybe}]}\n').path).toBe('policies.p.pipeline.steps[0].pass_data');
  });

  it('warns about an unknown key in a pipeline', () => {
    expect(onlyIssue('policies:\n  p:\n    pipeline: {step: [], steps: [{guardrail: a}]}\n')).toMatchObject({ severity: 'warning', rule: 'unknown_key', path: 'policies.p.pipeline.step' });
  });
});

describe('parseBundle: unknown keys in policies', () => {
  it('warns at the key, naming it and the policy, and suggests guardrails for guardrail', () => {
    const { parsed, issues } = parse('policies:\n  p:\n    guardrail:\n      - pii\n');
    expect(parsed.policies[0]!.add).toEqual([]);
    expect(issues).toEqual([
      {
        severity: 'warning',
        rule: 'unknown_key',
        message: "unknown key 'guardrail' in policy 'p' is ignored by LiteLLM; did you mean 'guardrails'?",
        file: 'test.yaml',
        line: 3,
        column: 5,
        path: 'policies.p.guardrail',
      },
    ]);
  });

  it('suggests inherit for inherits and condition for conditions', () => {
    const { issues } = parse('policies:\n  p:\n    inherits: q\n    conditions: {model: x}\n  q: {}\n');
    expect(issues.map((i) => i.message)).toEqual([
      "unknown key 'inherits' in policy 'p' is ignored by LiteLLM; did you mean 'inherit'?",
      "unknown key 'conditions' in policy 'p' is ignored by LiteLLM; did you mean 'condition'?",
    ]);
  });

  it('suggests guardrails.add for add at the policy level', () => {
    expect(onlyIssue('policies:\n  p:\n    add: [a]\n').message).toContain("did you mean 'guardrails.add'?");
  });

  it('warns about an unknown key inside guardrails', () => {
    expect(onlyIssue('policies:\n  p:\n    guardrails: {add: [a], remvoe: [b]}\n')).toMatchObject({
      severity: 'warning',
      path: 'policies.p.guardrails.remvoe',
      message: "unknown key 'remvoe' in the guardrails of policy 'p' is ignored by LiteLLM; did you mean 'remove'?",
    });
  });

  it('warns without a suggestion when nothing is close', () => {
    expect(onlyIssue('policies:\n  p:\n    owner: team-a\n').message).toBe("unknown key 'owner' in policy 'p' is ignored by LiteLLM");
  });
});

describe('parseBundle: YAML keys', () => {
  it('rejects a policy name YAML reads as a boolean or a number, and leaves it out', () => {
    const { parsed, issues } = parse('policies:\n  on: {}\n  123: {}\n  ok: {}\n');
    expect(parsed.policies.map((p) => p.name)).toEqual(['ok']);
    expect(issues.map((i) => [i.rule, i.severity, i.line])).toEqual([
      ['invalid_bundle', 'error', 2],
      ['invalid_bundle', 'error', 3],
    ]);
    expect(issues[0]!.message).toContain('reads it as the boolean True');
  });

  it('rejects a policy defined twice, naming both lines, and keeps the last as LiteLLM', () => {
    const { parsed, issues } = parse('policies:\n  a:\n    guardrails: [x]\n  b: {}\n  a:\n    guardrails: [y]\n');
    expect(parsed.policies.find((p) => p.name === 'a')?.add).toEqual(['y']);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      severity: 'error',
      rule: 'invalid_bundle',
      path: 'policies.a',
      line: 5,
      column: 3,
      message: "policy 'a' is defined twice (lines 2 and 5); LiteLLM would silently keep the last",
    });
  });

  it('rejects a key given twice inside a policy', () => {
    const issue = onlyIssue('policies:\n  a:\n    inherit: x\n    inherit: y\n  x: {}\n  y: {}\n');
    expect(issue).toMatchObject({ rule: 'invalid_bundle', path: 'policies.a.inherit', line: 4 });
    expect(issue.message).toBe("key 'inherit' is given twice in policies.a (lines 3 and 4); LiteLLM would silently keep the last");
  });

  it('rejects a key given three times in an attachment, naming every line', () => {
    const issue = onlyIssue('policy_attachments:\n  - policy: a\n    teams: [x]\n    teams: [y]\n    teams: [z]\n');
    expect(issue).toMatchObject({ rule: 'invalid_bundle', path: 'policy_attachments[0].teams', line: 5, column: 5 });
    expect(issue.message).toBe("key 'teams' is given 3 times in policy_attachments[0] (lines 3, 4 and 5); LiteLLM would silently keep the last");
  });

  it('rejects a section given twice at the top level', () => {
    expect(onlyIssue('policies: {}\npolicies: {}\n')).toMatchObject({ rule: 'invalid_bundle', path: 'policies', line: 2 });
  });

  it('leaves duplicate keys outside the policy sections to LiteLLM', () => {
    expect(parse('litellm_settings: {a: 1, a: 2}\nlitellm_settings: {}\npolicies: {}\n').issues).toEqual([]);
  });
});

describe('parseBundle: attachments', () => {
  it('parses an attachment with its position as index', () => {
    const { parsed, issues } = parse('policy_attachments:\n  - policy: a\n    teams: [t1, "t-*"]\n    keys: [k]\n    models: [m]\n    tags: [x]\n');
    expect(issues).toEqual([]);
    expect(parsed.attachments).toEqual([{ index: 0, policy: 'a', isGlobal: false, teams: ['t1', 't-*'], keys: ['k'], models: ['m'], tags: ['x'] }]);
  });

  it('keeps an attachment without policy as policy ""', () => {
    expect(parse('policy_attachments:\n  - teams: [t]\n').parsed.attachments[0]).toMatchObject({ policy: '', teams: ['t'] });
  });

  it('reads empty lists as unset', () => {
    expect(parse('policy_attachments:\n  - {policy: a, teams: [], tags: []}\n').parsed.attachments[0]).toMatchObject({ teams: undefined, tags: undefined });
  });

  it('makes scope "*" global', () => {
    expect(parse('policy_attachments:\n  - {policy: a, scope: "*"}\n').parsed.attachments[0]).toMatchObject({ isGlobal: true });
  });

  it('warns that lists beside a global scope are ignored', () => {
    const issue = onlyIssue('policy_attachments:\n  - policy: a\n    scope: "*"\n    teams: [t]\n');
    expect(issue).toMatchObject({ severity: 'warning', rule: 'invalid_attachment', path: 'policy_attachments[0].teams', line: 4, column: 5 });
    expect(issue.message).toBe("teams is ignored: scope '*' makes the attachment global");
  });

  it('warns that any other scope is ignored', () => {
    const { parsed, issues } = parse('policy_attachments:\n  - {policy: a, scope: team}\n');
    expect(parsed.attachments[0]!.isGlobal).toBe(false);
    expect(issues).toEqual([expect.objectContaining({ severity: 'warning', path: 'policy_attachments[0].scope', message: "scope 'team' is ignored: only '*' makes an attachment global" })]);
  });

  it('rejects a list field that is not a list, as LiteLLM loader raises', () => {
    const { parsed, issues } = parse('policy_attachments:\n  - policy: a\n    teams: t\n');
    expect(parsed.attachments).toEqual([]);
    expect(issues).toEqual([
      expect.objectContaining({
        severity: 'error',
        rule: 'invalid_attachment',
        path: 'policy_attachments[0].teams',
        line: 3,
        message: "Invalid attachment: teams must be a list of strings, got a string",
      }),
    ]);
  });

  it('rejects a non-string item of a list field', () => {
    expect(onlyIssue('policy_attachments:\n  - {policy: a, tags: [1]}\n')).toMatchObject({ rule: 'invalid_attachment', path: 'policy_attachments[0].tags[0]' });
  });

  it('rejects a policy that is not a string, including null', () => {
    expect(onlyIssue('policy_attachments:\n  - {policy: 5}\n')).toMatchObject({ rule: 'invalid_attachment', path: 'policy_attachments[0].policy' });
    expect(onlyIssue('policy_attachments:\n  - {policy: null}\n')).toMatchObject({ rule: 'invalid_attachment', path: 'policy_attachments[0].policy' });
  });

  it('rejects an attachment that is not a mapping', () => {
    expect(onlyIssue('policy_attachments:\n  - a\n')).toMatchObject({ severity: 'error', rule: 'invalid_attachment', path: 'policy_attachments[0]' });
  });

  it('warns about unknown keys, suggesting the right one', () => {
    expect(onlyIssue('policy_attachments:\n  - {policy: a, team: [t]}\n')).toMatchObject({
      severity: 'warning',
      rule: 'unknown_key',
      path: 'policy_attachments[0].team',
      message: "unknown key 'team' in policy_attachments[0] is ignored by LiteLLM; did you mean 'teams'?",
    });
  });

  it('says priority is not supported by this LiteLLM version', () => {
    expect(onlyIssue('policy_attachments:\n  - {policy: a, priority: 1}\n').message).toBe(
      "unknown key 'priority' in policy_attachments[0] is ignored by LiteLLM: priority is a later LiteLLM feature, not supported by this LiteLLM version",
    );
  });
});

describe('parseBundle: guardrails', () => {
  it('parses a guardrail definition', () => {
    const { parsed, issues } = parse('guardrails:\n  - guardrail_name: pii\n    litellm_params: {guardrail: presidio, mode: pre_call, language: en}\n');
    expect(issues).toEqual([]);
    expect(parsed.guardrails).toEqual([{ index: 0, name: 'pii', kind: 'presidio', mode: 'pre_call', params: { guardrail: 'presidio', mode: 'pre_call', language: 'en' } }]);
  });

  it('keeps a list mode and drops a tag-based mode object', () => {
    const { parsed } = parse(
      'guardrails:\n  - {guardrail_name: a, litellm_params: {guardrail: x, mode: [pre_call, post_call]}}\n  - {guardrail_name: b, litellm_params: {guardrail: x, mode: {tags: {t: pre_call}}}}\n',
    );
    expect(parsed.guardrails.map((g) => g.mode)).toEqual([['pre_call', 'post_call'], undefined]);
  });

  it('rejects a definition without guardrail_name, located at the entry', () => {
    expect(onlyIssue('guardrails:\n  - litellm_params: {guardrail: presidio}\n')).toMatchObject({ severity: 'error', rule: 'invalid_bundle', path: 'guardrails[0].guardrail_name', line: 2, column: 5 });
  });

  it('rejects a definition without litellm_params.guardrail', () => {
    expect(onlyIssue('guardrails:\n  - guardrail_name: pii\n    litellm_params:\n      mode: pre_call\n')).toMatchObject({
      rule: 'invalid_bundle',
      path: 'guardrails[0].litellm_params.guardrail',
      line: 4,
    });
  });

  it('rejects two guardrails with the same name', () => {
    const { parsed, issues } = parse('guardrails:\n  - {guardrail_name: pii, litellm_params: {guardrail: a}}\n  - {guardrail_name: pii, litellm_params: {guardrail: b}}\n');
    expect(parsed.guardrails.map((g) => g.kind)).toEqual(['a']);
    expect(issues).toEqual([
      expect.objectContaining({ severity: 'error', rule: 'duplicate_guardrail', path: 'guardrails[1].guardrail_name', line: 3, message: "guardrail 'pii' is defined twice (guardrails[0] and guardrails[1]); guardrail names must be unique" }),
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { APPLIED_POLICIES_HEADER, POLICY_SOURCES_HEADER, resolve } from '../../src/engine/resolve.js';
import { req, snapshotOf } from '../helpers/snapshot.js';

// A child whose own condition fails, under an unconditional parent: the §7 divergence.
const DIVERGENCE = `
policies:
  base: { guardrails: { add: [pii] } }
  gpt-only:
    inherit: base
    guardrails: { add: [gpt_check] }
    condition: { model: "gpt-.*" }
policy_attachments:
  - policy: gpt-only
    teams: [t]
`;

describe('resolve: combining policies (LiteLLM §7b)', () => {
  it('lets an attached child whose condition fails still contribute its ancestors (request path)', () => {
    const d = resolve(snapshotOf(DIVERGENCE), req({ teamAlias: 't', model: 'claude-3' }));
    expect(d.guardrails).toEqual(['pii']);
    expect(d.appliedPolicies).toEqual([]);
    expect(d.matchedPolicies).toEqual([
      { policyName: 'gpt-only', matchedVia: 'team:t', applied: false, guardrails: ['pii'], inheritanceChain: ['base', 'gpt-only'] },
    ]);
    expect(d.headers).toEqual({});
  });

  it('keeps the /policies/resolve answer (§7a) derivable: only applied matched policies count there', () => {
    const d = resolve(snapshotOf(DIVERGENCE), req({ teamAlias: 't', model: 'claude-3' }));
    const endpoint = [...new Set(d.matchedPolicies.filter((m) => m.applied).flatMap((m) => m.guardrails))].sort();
    expect(endpoint).toEqual([]);
    const applied = resolve(snapshotOf(DIVERGENCE), req({ teamAlias: 't', model: 'gpt-4' }));
    expect(applied.appliedPolicies).toEqual(['gpt-only']);
    expect(applied.guardrails).toEqual(['gpt_check', 'pii']);
  });

  it('drops attachments that name undefined policies', () => {
    const s = snapshotOf('policies: { p: { guardrails: [a] } }\npolicy_attachments: [{ policy: ghost, scope: "*" }, { policy: p, scope: "*" }]', 'compat');
    const d = resolve(s, req());
    expect(d.matchedPolicies.map((m) => m.policyName)).toEqual(['p']);
    expect(d.guardrails).toEqual(['a']);
  });

  it('never lets a remove in one chain take away another attached policy\'s guardrail', () => {
    const s = snapshotOf(`
policies:
  adds: { guardrails: [pii] }
  removes: { guardrails: { add: [x], remove: [pii] } }
policy_attachments: [{ policy: adds, scope: "*" }, { policy: removes, scope: "*" }]`);
    expect(resolve(s, req()).guardrails).toEqual(['pii', 'x']);
  });

  it('sorts the guardrail list and keeps applied policies in attachment order', () => {
    const s = snapshotOf(`
policies:
  z: { guardrails: [zeta, alpha] }
  a: { guardrails: [mid] }
policy_attachments: [{ policy: z, scope: "*" }, { policy: a, scope: "*" }]`);
    const d = resolve(s, req());
    expect(d.guardrails).toEqual(['alpha', 'mid', 'zeta']);
    expect(d.appliedPolicies).toEqual(['z', 'a']);
  });

  it('answers with the snapshot revision', () => {
    const s = snapshotOf(DIVERGENCE);
    expect(resolve(s, req()).revision).toBe(s.revision);
  });
});

describe('resolve: named policies (docs/semantics.md, difference 1)', () => {
  const NAMED = `
policies:
  base: { guardrails: [pii] }
  extra: { inherit: base, guardrails: [extra_check] }
  gated: { guardrails: [gated_check], condition: { model: "gpt-4" } }
  attached: { guardrails: [att] }
policy_attachments: [{ policy: attached, scope: "*" }]
`;

  it('adds the guardrails of request, key and team policies, resolved with inheritance', () => {
    const d = resolve(snapshotOf(NAMED), req({}, { requestPolicies: ['extra'] }));
    expect(d.guardrails).toEqual(['att', 'extra_check', 'pii']);
    expect(resolve(snapshotOf(NAMED), req({}, { keyPolicies: ['base'] })).guardrails).toEqual(['att', 'pii']);
    expect(resolve(snapshotOf(NAMED), req({}, { teamPolicies: ['base'] })).guardrails).toEqual(['att', 'pii']);
  });

  it('lists named policies after attached ones, in request, key, team order, once each', () => {
    const d = resolve(
      snapshotOf(NAMED),
      req({}, { requestPolicies: ['extra', 'attached'], keyPolicies: ['base', 'extra'], teamPolicies: ['base'] }),
    );
    expect(d.appliedPolicies).toEqual(['attached', 'extra', 'base']);
  });

  it('ignores unknown named policies', () => {
    const d = resolve(snapshotOf(NAMED), req({}, { requestPolicies: ['nope'], keyPolicies: ['policy_123'] }));
    expect(d.appliedPolicies).toEqual(['attached']);
    expect(d.guardrails).toEqual(['att']);
  });

  it('applies a named policy only when its own condition holds, and gives it no source header', () => {
    const off = resolve(snapshotOf(NAMED), req({ model: 'gpt-3' }, { requestPolicies: ['gated'] }));
    expect(off.appliedPolicies).toEqual(['attached']);
    expect(off.guardrails).toEqual(['att']);
    const on = resolve(snapshotOf(NAMED), req({ model: 'gpt-4' }, { requestPolicies: ['gated'] }));
    expect(on.appliedPolicies).toEqual(['attached', 'gated']);
    expect(on.guardrails).toEqual(['att', 'gated_check']);
    expect(on.headers[POLICY_SOURCES_HEADER]).toBe('attached=scope:*');
  });
});

describe('resolve: headers (LiteLLM §6)', () => {
  const s = snapshotOf(`
policies:
  hipaa: { guardrails: [h] }
  baseline: { guardrails: [b] }
  named: { guardrails: [n] }
policy_attachments:
  - { policy: hipaa, tags: ["health*"] }
  - { policy: baseline, scope: "*" }
`);

  it('joins applied policies with "," and sources with "; " as name=matched_via', () => {
    const d = resolve(s, req({ tags: ['healthcare'] }, { requestPolicies: ['named'] }));
    expect(d.headers).toEqual({
      [APPLIED_POLICIES_HEADER]: 'hipaa,baseline,named',
      [POLICY_SOURCES_HEADER]: 'hipaa=tag:healthcare; baseline=scope:*',
    });
  });

  it('omits both headers when nothing applies', () => {
    const empty = snapshotOf('policies: { p: { guardrails: [a] } }');
    expect(resolve(empty, req()).headers).toEqual({});
  });
});

describe('resolve: pipelines (LiteLLM §7b steps 6-7)', () => {
  const PIPE = `
policies:
  piped:
    guardrails: { add: [g1, g2] }
    condition: { model: "gpt-4" }
    pipeline:
      steps:
        - { guardrail: g1, on_pass: next }
        - { guardrail: g2 }
  plain: { guardrails: [g1, other] }
  named-piped:
    guardrails: [g3]
    pipeline: { steps: [{ guardrail: g3 }] }
policy_attachments:
  - { policy: plain, scope: "*" }
  - { policy: piped, models: ["*"] }
`;

  it('collects pipelines of matched policies in attachment order, even when their condition fails', () => {
    const d = resolve(snapshotOf(PIPE), req({ model: 'claude' }));
    expect(d.pipelines.map((p) => p.policyName)).toEqual(['piped']);
    expect(d.pipelines[0]?.pipeline).toEqual({
      mode: 'pre_call',
      steps: [
        { guardrail: 'g1', onPass: 'next', onFail: 'block', onError: undefined, passData: false, modifyResponseMessage: undefined, timeoutMs: undefined },
        { guardrail: 'g2', onPass: 'allow', onFail: 'block', onError: undefined, passData: false, modifyResponseMessage: undefined, timeoutMs: undefined },
      ],
    });
    expect(d.pipelineManagedGuardrails).toEqual(['g1', 'g2']);
  });

  it('removes pipeline-managed guardrails from the flat list even when another policy contributed them', () => {
    const d = resolve(snapshotOf(PIPE), req({ model: 'gpt-4' }));
    expect(d.guardrails).toEqual(['other']);
  });

  it('does not collect pipelines of named policies (LiteLLM only runs attached ones)', () => {
    const d = resolve(snapshotOf(PIPE), req({ model: 'x' }, { requestPolicies: ['named-piped'] }));
    expect(d.pipelines.map((p) => p.policyName)).toEqual(['piped']);
    expect(d.guardrails).toEqual(['g3', 'other']);
  });
});

describe('resolve: an attachment without a policy (docs/semantics.md §3)', () => {
  it('applies the policy named "", as LiteLLM\'s loader defaults the name to ""; its chain is empty, as LiteLLM\'s walk stops at an empty name', () => {
    const yaml = 'guardrails:\n  - {guardrail_name: g, litellm_params: {guardrail: presidio}}\npolicies:\n  "":\n    guardrails: {add: [g]}\n    pipeline: {steps: [{guardrail: g}]}\npolicy_attachments:\n  - {teams: [t]}\n';
    const snapshot = snapshotOf(yaml);
    const d = resolve(snapshot, req({ teamAlias: 't' }));
    expect(d.appliedPolicies).toEqual(['']);
    expect(d.matchedPolicies).toEqual([expect.objectContaining({ policyName: '', matchedVia: 'team:t', applied: true, inheritanceChain: [], guardrails: [] })]);
    expect(d.pipelines.map((p) => p.policyName)).toEqual(['']);
    expect(resolve(snapshot, req({ teamAlias: 'other' })).appliedPolicies).toEqual([]);
  });

  it('applies nothing when no policy is named ""', () => {
    const d = resolve(snapshotOf('policies:\n  p: {}\npolicy_attachments:\n  - {scope: "*"}\n'), req({}));
    expect(d.guardrails).toEqual([]);
    expect(d.appliedPolicies).toEqual([]);
  });
});

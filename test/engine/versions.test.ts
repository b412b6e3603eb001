import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { resolve } from '../../src/engine/resolve.js';
import { bundleFromYaml } from '../helpers/bundle.js';
import { req, snapshotOf } from '../helpers/snapshot.js';
import { finish } from '../../src/steps.js';

// What a db source emits: production policies plus draft/published versions (docs/semantics.md §9).
const VERSIONED = `
policies:
  base: { guardrails: [pii] }
  hipaa: { inherit: base, guardrails: [hipaa_audit] }
  child: { inherit: hipaa, guardrails: [child_check] }
  policy_literal: { guardrails: [literal] }
policy_attachments:
  - { policy: child, teams: [t] }
policy_versions:
  - policy_id: d1
    policy_name: hipaa
    version_number: 2
    version_status: draft
    guardrails: { add: [hipaa_v2], remove: [pii] }
  - policy_id: p1
    policy_name: hipaa
    version_number: 3
    version_status: published
    inherit: base
    guardrails: [hipaa_v3]
    condition: { model: "gpt-4.*" }
  - policy_id: n1
    policy_name: brand-new
    version_number: 1
    version_status: draft
    guardrails: [fresh]
`;

describe('policy versions (docs/semantics.md §9, difference 5)', () => {
  const s = snapshotOf(VERSIONED);

  it('swaps a draft in for its same-named policy for that request only', () => {
    const withDraft = resolve(s, req({}, { requestPolicies: ['policy_d1'] }));
    expect(withDraft.appliedPolicies).toEqual(['hipaa']);
    expect(withDraft.guardrails).toEqual(['hipaa_v2']);
    const live = resolve(s, req({}, { requestPolicies: ['hipaa'] }));
    expect(live.guardrails).toEqual(['hipaa_audit', 'pii']);
  });

  it('makes descendants inherit from the version, including attached ones', () => {
    const d = resolve(s, req({ teamAlias: 't' }, { requestPolicies: ['policy_d1'] }));
    expect(d.matchedPolicies[0]).toMatchObject({ policyName: 'child', guardrails: ['child_check', 'hipaa_v2'] });
    expect(resolve(s, req({ teamAlias: 't' })).matchedPolicies[0]?.guardrails).toEqual(['child_check', 'hipaa_audit', 'pii']);
  });

  it("uses the version's own inherit and condition", () => {
    const off = resolve(s, req({ model: 'claude' }, { requestPolicies: ['policy_p1'] }));
    expect(off.appliedPolicies).toEqual([]);
    expect(off.guardrails).toEqual(['pii']);
    const on = resolve(s, req({ model: 'gpt-4o' }, { requestPolicies: ['policy_p1'] }));
    expect(on.appliedPolicies).toEqual(['hipaa']);
    expect(on.guardrails).toEqual(['hipaa_v3', 'pii']);
  });

  it('lets a later id for the same policy win', () => {
    expect(resolve(s, req({ model: 'gpt-4' }, { requestPolicies: ['policy_d1', 'policy_p1'] })).guardrails).toEqual(['hipaa_v3', 'pii']);
    expect(resolve(s, req({ model: 'gpt-4' }, { requestPolicies: ['policy_p1', 'policy_d1'] })).guardrails).toEqual(['hipaa_v2']);
  });

  it('can try a version of a policy that has no live version yet', () => {
    expect(resolve(s, req({}, { requestPolicies: ['policy_n1'] })).appliedPolicies).toEqual(['brand-new']);
  });

  it('makes a policy whose parent has no live version inherit from a version of that parent (compat mode)', () => {
    const yaml = VERSIONED.replace('policy_attachments:', '  orphan: { inherit: brand-new, guardrails: [o] }\n  grandchild: { inherit: orphan }\npolicy_attachments:\n  - { policy: grandchild, teams: [t2] }');
    const orphans = snapshotOf(yaml, 'compat');
    const live = resolve(orphans, req({ teamAlias: 't2' })).matchedPolicies[0];
    expect(live).toMatchObject({ policyName: 'grandchild', guardrails: ['o'], inheritanceChain: ['orphan', 'grandchild'] });
    const tried = resolve(orphans, req({ teamAlias: 't2' }, { requestPolicies: ['policy_n1'] })).matchedPolicies[0];
    expect(tried).toMatchObject({ policyName: 'grandchild', guardrails: ['fresh', 'o'], inheritanceChain: ['brand-new', 'orphan', 'grandchild'] });
  });

  it('skips unknown ids silently and strips spaces after the prefix', () => {
    expect(resolve(s, req({}, { requestPolicies: ['policy_nope'] })).appliedPolicies).toEqual([]);
    expect(resolve(s, req({}, { requestPolicies: ['policy_ d1 '] })).guardrails).toEqual(['hipaa_v2']);
  });

  it('reads a string that names a live policy as a name, even with the policy_ prefix', () => {
    expect(resolve(s, req({}, { requestPolicies: ['policy_literal'] })).guardrails).toEqual(['literal']);
  });

  it('does not apply versions named in key or team policies', () => {
    expect(resolve(s, req({}, { keyPolicies: ['policy_d1'] })).appliedPolicies).toEqual([]);
  });

  it('ignores a broken version with a warning instead of rejecting the live policies', () => {
    const result = finish(compile(
      bundleFromYaml(`${VERSIONED}
  - { policy_id: bad, policy_name: hipaa, version_number: 4, version_status: draft, guardrails: "pii" }
  - { policy_id: prod, policy_name: hipaa, version_number: 5, version_status: production }
`),
      { mode: 'strict' },
    ));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect([...result.snapshot.versions.keys()]).toEqual(['d1', 'p1', 'n1']);
    const messages = result.issues.map((i) => `${i.severity} ${i.message}`);
    expect(messages).toContainEqual(expect.stringMatching(/^warning draft version bad of 'hipaa' is ignored: Invalid policy 'hipaa'/));
    expect(messages).toContainEqual(expect.stringMatching(/^warning .*version prod has status 'production'/));
  });
});

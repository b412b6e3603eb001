import { describe, expect, it } from 'vitest';
import { inheritanceChain } from '../../src/compile/policies.js';
import type { PolicySpec } from '../../src/model/policy.js';
import { snapshotOf } from '../helpers/snapshot.js';

const specs = (parents: Record<string, string | undefined>) =>
  new Map(
    Object.entries(parents).map(([name, inherit]) => [
      name,
      { name, inherit, description: undefined, add: [], remove: [], condition: undefined, pipeline: undefined } as PolicySpec,
    ]),
  );

describe('inheritance chains (LiteLLM §4)', () => {
  it('runs root first and ends with the policy itself', () => {
    expect(inheritanceChain('c', specs({ a: undefined, b: 'a', c: 'b' }))).toEqual(['a', 'b', 'c']);
  });

  it('is empty for a missing policy', () => {
    expect(inheritanceChain('ghost', specs({ a: undefined }))).toEqual([]);
  });

  it('stops at the child when the parent is missing', () => {
    expect(inheritanceChain('b', specs({ b: 'ghost' }))).toEqual(['b']);
  });

  it('stops a cycle at the first revisited name: a->b->a gives [b, a] for a', () => {
    expect(inheritanceChain('a', specs({ a: 'b', b: 'a' }))).toEqual(['b', 'a']);
    expect(inheritanceChain('b', specs({ a: 'b', b: 'a' }))).toEqual(['a', 'b']);
  });

  it('gives [p] for a policy that inherits itself', () => {
    expect(inheritanceChain('p', specs({ p: 'p' }))).toEqual(['p']);
  });

  it('treats an empty inherit as no parent', () => {
    expect(inheritanceChain('p', specs({ p: '', '': undefined }))).toEqual(['p']);
  });
});

describe('applying a chain (LiteLLM §4)', () => {
  const guardrailsOf = (yaml: string, name: string, model?: string, mode: 'strict' | 'compat' = 'strict') =>
    snapshotOf(yaml, mode).policies.get(name)?.guardrailsFor(model);

  it('lets remove beat add within one policy', () => {
    expect(guardrailsOf('policies: { p: { guardrails: { add: [a, b], remove: [b] } } }', 'p')).toEqual(['a']);
  });

  it('lets a descendant re-add what an ancestor removed', () => {
    const yaml = `policies:
  root: { guardrails: { add: [a, b] } }
  mid: { inherit: root, guardrails: { remove: [b] } }
  leaf: { inherit: mid, guardrails: { add: [b] } }`;
    expect(guardrailsOf(yaml, 'mid')).toEqual(['a']);
    expect(guardrailsOf(yaml, 'leaf')).toEqual(['a', 'b']);
  });

  it('treats removing an absent guardrail as a no-op', () => {
    expect(guardrailsOf('policies: { p: { guardrails: { add: [a], remove: [zzz] } } }', 'p')).toEqual(['a']);
  });

  it('skips a member whose condition fails, adds and removes alike, while its descendants apply', () => {
    const yaml = `policies:
  root: { guardrails: { add: [a, b] } }
  mid:
    inherit: root
    guardrails: { add: [m], remove: [a] }
    condition: { model: "gpt-4.*" }
  leaf: { inherit: mid, guardrails: { add: [l] } }`;
    expect(guardrailsOf(yaml, 'leaf', 'gpt-4o')).toEqual(['b', 'l', 'm']);
    expect(guardrailsOf(yaml, 'leaf', 'claude-3')).toEqual(['a', 'b', 'l']);
    expect(guardrailsOf(yaml, 'leaf', undefined)).toEqual(['a', 'b', 'l']);
  });

  it('applies each member of a cycle once (compat mode)', () => {
    const yaml = `policies:
  a: { inherit: b, guardrails: { add: [x], remove: [y] } }
  b: { inherit: a, guardrails: { add: [y, z] } }`;
    expect(guardrailsOf(yaml, 'a', undefined, 'compat')).toEqual(['x', 'z']);
    expect(guardrailsOf(yaml, 'b', undefined, 'compat')).toEqual(['x', 'y', 'z']);
  });

  it('resolves a chain with two model conditions for every combination of their outcomes', () => {
    const yaml = `policies:
  root: { guardrails: { add: [a, x] }, condition: { model: "gpt-4.*" } }
  mid: { inherit: root, guardrails: { add: [b], remove: [x] }, condition: { model: ".*-mini" } }
  leaf: { inherit: mid, guardrails: { add: [c] } }`;
    expect(guardrailsOf(yaml, 'leaf', 'gpt-4o')).toEqual(['a', 'c', 'x']);
    expect(guardrailsOf(yaml, 'leaf', 'gpt-4o-mini')).toEqual(['a', 'b', 'c']);
    expect(guardrailsOf(yaml, 'leaf', 'claude-mini')).toEqual(['b', 'c']);
    expect(guardrailsOf(yaml, 'leaf', 'claude')).toEqual(['c']);
    expect(guardrailsOf(yaml, 'leaf', undefined)).toEqual(['c']);
    // Asked again (now memoized), in another order.
    expect(guardrailsOf(yaml, 'leaf', 'gpt-4o-mini')).toEqual(['a', 'b', 'c']);
  });

  it('resolves chains with more model conditions than fit one outcome mask (ten)', () => {
    const policies = Array.from({ length: 10 }, (_, i) => {
      const inherit = i === 0 ? '' : ` inherit: p${i - 1},`;
      return `  p${i}: {${inherit} guardrails: { add: [g${i}] }, condition: { model: "m${i}|all" } }`;
    });
    const snapshot = snapshotOf(`policies:\n${policies.join('\n')}`);
    const leaf = snapshot.policies.get('p9');
    expect(leaf?.guardrailsFor('all')).toEqual(['g0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7', 'g8', 'g9']);
    expect(leaf?.guardrailsFor('m3')).toEqual(['g3']);
    expect(leaf?.guardrailsFor('m9')).toEqual(['g9']);
    expect(leaf?.guardrailsFor('other')).toEqual([]);
    expect(leaf?.guardrailsFor(undefined)).toEqual([]);
    expect(snapshot.policies.get('p7')?.guardrailsFor('m3')).toEqual(['g3']);
  });

  it('gives policies with equal resolved guardrails one shared frozen list', () => {
    const snapshot = snapshotOf('policies: { a: { guardrails: [x, y] }, b: { guardrails: { add: [y, x] } }, c: { guardrails: [x] } }');
    const listOf = (name: string) => snapshot.policies.get(name)?.guardrailsFor(undefined);
    expect(listOf('a')).toBe(listOf('b'));
    expect(listOf('a')).not.toBe(listOf('c'));
    expect(Object.isFrozen(listOf('a'))).toBe(true);
  });

  it('ignores a missing parent (compat mode)', () => {
    expect(guardrailsOf('policies: { p: { inherit: ghost, guardrails: [a] } }', 'p', undefined, 'compat')).toEqual(['a']);
  });
});

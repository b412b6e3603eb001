import { describe, expect, it } from 'vitest';
import { compileCondition, type CompiledCondition } from '../../src/compile/condition.js';
import { compilePolicies, inheritanceChain } from '../../src/compile/policies.js';
import { finish } from '../../src/steps.js';
import type { PolicySpec } from '../../src/model/policy.js';
import { snapshotOf } from '../helpers/snapshot.js';
import { seededRandom } from '../helpers/random.js';

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

describe('shared chains (compiled once per policy from the parent, issue 11 defect 5)', () => {
  /** A deterministic random generator: an integer below n. A failure names its seed. */
  const randomOf = (seed: number) => {
    const random = seededRandom(seed);
    return (n: number) => (random() * n) | 0;
  };

  /** LiteLLM's §4 walk, member by member: the reference the compiled lists must equal. */
  function walkedGuardrails(name: string, specs: ReadonlyMap<string, PolicySpec>, conditions: ReadonlyMap<string, CompiledCondition>, model: string | undefined): string[] {
    const set = new Set<string>();
    for (const member of inheritanceChain(name, specs)) {
      const condition = conditions.get(member);
      if (condition !== undefined && !condition.test(model)) continue;
      const spec = specs.get(member) as PolicySpec;
      for (const g of spec.add) set.add(g);
      for (const g of spec.remove) set.delete(g);
    }
    return [...set].sort();
  }

  it('give the chains and guardrails of walking each chain, for random graphs with cycles, missing parents and conditions', () => {
    const models = [undefined, 'gpt-4o', 'claude-3', 'm1', 'other'];
    const patterns = ['gpt-4.*', 'claude-.*', 'm1|gpt-4o', '.*'];
    for (let seed = 1; seed <= 1000; seed++) {
      const random = randomOf(seed);
      // Few names and mostly inheriting: cycles are common, and so are chains with several conditions.
      const size = 1 + random(seed % 2 === 0 ? 6 : 40);
      const names = Array.from({ length: size }, (_, i) => (random(30) === 0 ? '' : `p${i}`));
      const guardrails = ['a', 'b', 'c', 'd', 'e'];
      const specs = new Map<string, PolicySpec>();
      const conditions = new Map<string, CompiledCondition>();
      const isSmall = seed % 2 === 0;
      for (const name of names) {
        const r = isSmall ? random(7) : random(10);
        const inherit = r < 6 ? (names[random(size)] as string) : r < 7 ? 'ghost' : r < 8 ? '' : undefined;
        const pick = () => Array.from({ length: random(3) }, () => guardrails[random(guardrails.length)] as string);
        specs.set(name, { name, inherit, description: undefined, add: pick(), remove: pick(), condition: undefined, pipeline: undefined });
        const c = random(isSmall ? 4 : 6);
        if (c < 2) conditions.set(name, compileCondition({ model: patterns[random(patterns.length)] as string }));
        else if (c === 2) conditions.set(name, compileCondition({ model: null }));
      }
      const compiled = finish(compilePolicies(specs, conditions));
      for (const name of specs.keys()) {
        const policy = compiled.get(name);
        expect(policy?.chain, `seed ${seed} chain of '${name}'`).toEqual(inheritanceChain(name, specs));
        for (const model of models) {
          expect(policy?.guardrailsFor(model), `seed ${seed} guardrails of '${name}' for ${model}`).toEqual(walkedGuardrails(name, specs, conditions, model));
        }
      }
    }
  });

  it('compile a long chain and a long cycle in compat mode to the same chains as walking them', () => {
    for (const shape of ['chain', 'cycle']) {
      const n = 1000;
      const lines = ['policies:'];
      for (let i = 0; i < n; i++) {
        const parent = shape === 'cycle' ? `p${(i + n - 1) % n}` : i > 0 ? `p${i - 1}` : '';
        lines.push(`  p${i}: {guardrails: {add: [g${i % 3}]${i % 5 === 0 ? ', remove: [g1]' : ''}}${parent ? `, inherit: ${parent}` : ''}}`);
      }
      const snapshot = snapshotOf(lines.join('\n'), 'compat');
      const specs = new Map([...snapshot.policies.values()].map((p) => [p.name, p.spec]));
      for (const name of ['p0', 'p1', 'p127', 'p128', 'p129', 'p500', 'p999']) {
        const policy = snapshot.policies.get(name);
        expect(policy?.chain).toEqual(inheritanceChain(name, specs));
        expect(policy?.guardrailsFor(undefined)).toEqual(walkedGuardrails(name, specs, new Map(), undefined));
      }
    }
  });

  it('keep at most a bounded number of guardrail names, and still answer past it', () => {
    // Each policy adds its own guardrail: the lists along a chain of 3,000 hold 4.5 million names.
    const n = 3000;
    const specs = new Map<string, PolicySpec>();
    for (let i = 0; i < n; i++) {
      const name = `p${i}`;
      specs.set(name, { name, inherit: i > 0 ? `p${i - 1}` : undefined, description: undefined, add: [`g${i}`], remove: i === n - 1 ? ['g0'] : [], condition: undefined, pipeline: undefined });
    }
    const compiled = finish(compilePolicies(specs, new Map()));
    for (const name of ['p0', 'p1000', `p${n - 2}`, `p${n - 1}`]) {
      expect(compiled.get(name)?.guardrailsFor(undefined)).toEqual(walkedGuardrails(name, specs, new Map(), undefined));
    }
  });
});

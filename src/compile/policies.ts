import type { PolicySpec } from '../model/policy.js';
import type { CompiledPolicy } from '../model/snapshot.js';
import type { CompiledCondition } from './condition.js';
import { memoByModel } from './memo.js';

/**
 * LiteLLM's `resolve_inheritance_chain` (§4): root first, ending with the policy. A missing policy
 * yields []; a missing parent ends the chain at the child; on a cycle the walk stops at the first
 * revisited name, so each member appears once. An empty `inherit` means no parent (Python falsiness).
 */
export function inheritanceChain(name: string, specs: ReadonlyMap<string, PolicySpec>): string[] {
  const visited = new Set<string>();
  const leafFirst: string[] = [];
  let current: string | undefined = name;
  while (current !== undefined && current !== '' && !visited.has(current)) {
    const spec = specs.get(current);
    if (spec === undefined) break;
    visited.add(current);
    leafFirst.push(current);
    current = spec.inherit;
  }
  return leafFirst.reverse();
}

/**
 * Compiles every policy (or only the names in `only`): its chain, its own condition, and its guardrails per model (§4 applying
 * the chain: a member whose condition fails contributes neither adds nor removes; descendants still
 * apply; within a member, remove beats add). Chains with no model-dependent condition are resolved
 * once here; the others are memoized per model string.
 */
export function compilePolicies(
  specs: ReadonlyMap<string, PolicySpec>,
  conditions: ReadonlyMap<string, CompiledCondition>,
  only?: Iterable<string>,
): Map<string, CompiledPolicy> {
  const out = new Map<string, CompiledPolicy>();
  const selected = only === undefined ? specs.values() : [...only].map((n) => specs.get(n) as PolicySpec);
  for (const spec of selected) {
    const chain = Object.freeze(inheritanceChain(spec.name, specs));
    const members = chain.map((n) => ({ spec: specs.get(n) as PolicySpec, condition: conditions.get(n) }));
    const resolve = (model: string | undefined): readonly string[] => {
      const set = new Set<string>();
      for (const m of members) {
        if (m.condition !== undefined && !m.condition.test(model)) continue;
        for (const g of m.spec.add) set.add(g);
        for (const g of m.spec.remove) set.delete(g);
      }
      return Object.freeze([...set].sort());
    };
    const isStatic = members.every((m) => m.condition === undefined || m.condition.isConstant);
    let guardrailsFor: (model: string | undefined) => readonly string[];
    if (isStatic) {
      const fixed = resolve(undefined);
      guardrailsFor = () => fixed;
    } else {
      guardrailsFor = memoByModel(resolve);
    }
    const own = conditions.get(spec.name);
    out.set(
      spec.name,
      Object.freeze({
        name: spec.name,
        spec,
        chain,
        appliesTo: own === undefined ? () => true : own.test,
        guardrailsFor,
      }),
    );
  }
  return out;
}

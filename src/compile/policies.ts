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
  // A pushed-to array keeps spare capacity (17 slots for one name); every policy keeps its chain.
  return leafFirst.reverse().slice();
}

/** Compiles the named policies (see `compilePolicies`); equal guardrail lists are shared between them. */
export type PolicyCompiler = (names: Iterable<string>) => Map<string, CompiledPolicy>;

/**
 * A compiler for the policies in `specs`, to be called in batches (the activator yields between
 * them) that share its tables: one frozen list per distinct static guardrail list, and one
 * per-model memo per distinct sequence of conditions in a chain (see `Policy`). Drop it once
 * the batches are done: only what the policies need stays reachable from them.
 */
export function createPolicyCompiler(
  specs: ReadonlyMap<string, PolicySpec>,
  conditions: ReadonlyMap<string, CompiledCondition>,
): PolicyCompiler {
  const lists = new Map<string, readonly string[]>();
  const outcomes = new Map<string, Outcomes>();
  const conditionIds = new Map<CompiledCondition, number>();
  const share = (list: readonly string[]): readonly string[] => {
    const key = JSON.stringify(list);
    const shared = lists.get(key);
    if (shared !== undefined) return shared;
    lists.set(key, list);
    return list;
  };
  const outcomesOf = (conds: readonly CompiledCondition[]): Outcomes => {
    const key = conds.map((c) => conditionIds.get(c) ?? conditionIds.set(c, conditionIds.size).size - 1).join(',');
    let found = outcomes.get(key);
    if (found === undefined) outcomes.set(key, (found = createOutcomes(conds)));
    return found;
  };

  return (names) => {
    const out = new Map<string, CompiledPolicy>();
    for (const name of names) {
      const spec = specs.get(name) as PolicySpec;
      const chain = Object.freeze(inheritanceChain(name, specs));
      const members = chain.map((n) => specs.get(n) as PolicySpec);
      const memberConditions = chain.map((n) => conditions.get(n)).map((c) => (c === undefined || c.isConstant ? undefined : c));
      const conds = memberConditions.filter((c): c is CompiledCondition => c !== undefined);
      const own = conditions.get(name);
      const appliesTo = own === undefined ? ALWAYS : own.test;
      let policy: Policy;
      if (conds.length === 0) {
        policy = new Policy(name, spec, chain, appliesTo, share(chainGuardrails(members, memberConditions, () => true)), undefined);
      } else {
        const outcomes = conds.length <= MAX_OUTCOME_BITS ? outcomesOf(conds) : undefined;
        const dynamic: DynamicChain = { members: Object.freeze(members), conditions: Object.freeze(memberConditions), outcomes, byOutcome: undefined, byModel: undefined };
        policy = new Policy(name, spec, chain, appliesTo, undefined, dynamic);
      }
      out.set(name, policy);
    }
    return out;
  };
}

/**
 * Compiles every policy (or only the names in `only`): its chain, its own condition, and its guardrails per model (§4 applying
 * the chain: a member whose condition fails contributes neither adds nor removes; descendants still
 * apply; within a member, remove beats add). Chains with no model-dependent condition are resolved
 * once here; the others once per outcome of their conditions, on first use.
 */
export function compilePolicies(
  specs: ReadonlyMap<string, PolicySpec>,
  conditions: ReadonlyMap<string, CompiledCondition>,
  only?: Iterable<string>,
): Map<string, CompiledPolicy> {
  return createPolicyCompiler(specs, conditions)(only ?? specs.keys());
}

/** Chains with more model-dependent conditions than this memoize their lists per model instead. */
const MAX_OUTCOME_BITS = 8;

const ALWAYS = (): boolean => true;

/**
 * Which of a chain's model-dependent conditions hold for a model, as a bit mask (bit j: the j-th
 * in chain order), memoized per model. Shared by every chain with the same conditions, so the
 * memory for request model strings grows with the distinct conditions, not with the policies.
 */
type Outcomes = (model: string | undefined) => number;

function createOutcomes(conds: readonly CompiledCondition[]): Outcomes {
  return memoByModel((model) => {
    let mask = 0;
    for (let j = 0; j < conds.length; j++) if ((conds[j] as CompiledCondition).test(model)) mask |= 1 << j;
    return mask;
  });
}

/** What a policy with model-dependent conditions in its chain needs to resolve its guardrails. */
interface DynamicChain {
  readonly members: readonly PolicySpec[];
  /** Per member: its model-dependent condition, or undefined (it always applies). */
  readonly conditions: readonly (CompiledCondition | undefined)[];
  /** Undefined when the chain has too many conditions for a mask: lists are then memoized per model. */
  readonly outcomes: Outcomes | undefined;
  /** Lists by outcome mask (or, without `outcomes`, per model), made on first use. */
  byOutcome: (readonly string[] | undefined)[] | undefined;
  byModel: ((model: string | undefined) => readonly string[]) | undefined;
}

/**
 * A compiled policy. One class with its logic on the prototype, so a policy costs its fields:
 * a static chain holds its (shared) list; a dynamic one its members and one list per outcome of
 * its conditions, computed on first use (at most 2^MAX_OUTCOME_BITS, usually 2). Frozen (the
 * lists a dynamic chain computes later live in its DynamicChain).
 */
class Policy implements CompiledPolicy {
  readonly name: string;
  readonly spec: PolicySpec;
  readonly chain: readonly string[];
  readonly appliesTo: (model: string | undefined) => boolean;
  readonly #fixed: readonly string[] | undefined;
  readonly #dynamic: DynamicChain | undefined;

  constructor(
    name: string,
    spec: PolicySpec,
    chain: readonly string[],
    appliesTo: (model: string | undefined) => boolean,
    fixed: readonly string[] | undefined,
    dynamic: DynamicChain | undefined,
  ) {
    this.name = name;
    this.spec = spec;
    this.chain = chain;
    this.appliesTo = appliesTo;
    this.#fixed = fixed;
    this.#dynamic = dynamic;
    Object.freeze(this);
  }

  guardrailsFor(model: string | undefined): readonly string[] {
    return this.#fixed ?? this.#resolve(model);
  }

  // No closure is made here: a captured local would cost a context allocation on every call.
  #resolve(model: string | undefined): readonly string[] {
    const chain = this.#dynamic as DynamicChain;
    if (chain.outcomes === undefined) return (chain.byModel ??= memoPerModel(chain))(model);
    const mask = chain.outcomes(model);
    const byOutcome = (chain.byOutcome ??= []);
    return byOutcome[mask] ?? (byOutcome[mask] = forOutcome(chain, mask));
  }
}

function forOutcome(chain: DynamicChain, mask: number): readonly string[] {
  return chainGuardrails(chain.members, chain.conditions, (_, j) => ((mask >> j) & 1) === 1);
}

function memoPerModel(chain: DynamicChain): (model: string | undefined) => readonly string[] {
  return memoByModel((model) => chainGuardrails(chain.members, chain.conditions, (c) => c.test(model)));
}

/**
 * Applies a chain root to leaf (§4): a member whose condition does not hold (`holds` is asked with
 * the condition and its index among the chain's conditions) contributes nothing. Sorted, frozen.
 */
function chainGuardrails(
  members: readonly PolicySpec[],
  conditions: readonly (CompiledCondition | undefined)[],
  holds: (condition: CompiledCondition, index: number) => boolean,
): readonly string[] {
  const set = new Set<string>();
  let j = 0;
  for (let i = 0; i < members.length; i++) {
    const condition = conditions[i];
    if (condition !== undefined && !holds(condition, j++)) continue;
    const spec = members[i] as PolicySpec;
    for (const g of spec.add) set.add(g);
    for (const g of spec.remove) set.delete(g);
  }
  return Object.freeze([...set].sort());
}

import type { PolicySpec } from '../model/policy.js';
import type { CompiledPolicy } from '../model/snapshot.js';
import type { CompiledCondition } from './condition.js';
import { memoByModel } from './memo.js';
import type { Steps } from '../steps.js';

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

/** A member of a compiled chain: its spec and its model-dependent condition (undefined: it always applies). */
interface Member {
  readonly spec: PolicySpec;
  readonly condition: CompiledCondition | undefined;
}

/**
 * A policy's inheritance chain (§4), shared with its ancestors' chains: a chain is its parent's
 * chain plus the policy (a `Link`), so a chain of 10,000 policies costs one link per policy instead
 * of 50 million names. A cycle's members each see the cycle rotated, ending with themselves, so they
 * share one `Ring` and differ only by where they start. Policies hanging off a cycle extend the
 * chain of the member they inherit from, as any other.
 */
type Chain = Link | Ring;

const NO_NAMES: readonly string[] = Object.freeze([]);

/** Chains up to this length keep their names as one array, built once (strict mode allows 100). */
const SHARED_NAMES_MAX = 128;

/** A chain: `prefix` (the parent's chain; undefined at a root) and then the policy, itself the last member. */
class Link implements Member {
  readonly length: number;
  /** The names root first, when the chain is short enough to keep them; otherwise built on each read. */
  readonly names: readonly string[] | undefined;

  constructor(
    readonly spec: PolicySpec,
    readonly condition: CompiledCondition | undefined,
    readonly prefix: Chain | undefined,
  ) {
    this.length = (prefix?.length ?? 0) + 1;
    const prefixNames = prefix === undefined ? NO_NAMES : prefix.names;
    this.names = prefixNames !== undefined && this.length <= SHARED_NAMES_MAX ? Object.freeze(prefixNames.concat(spec.name)) : undefined;
    Object.freeze(this);
  }
}

/**
 * The chain of a cycle's member. `ring` lists the cycle in walk order (each entry's parent is the
 * next one, the last one's is the first); the chain of the member at `start` walks from it around
 * the ring and stops before revisiting it, so root first it is ring[start-1], ring[start-2], ...,
 * ring[start] (indices modulo the ring's length).
 */
class Ring {
  readonly names: readonly string[] | undefined;

  constructor(
    readonly ring: readonly Member[],
    readonly start: number,
  ) {
    this.names = ring.length <= SHARED_NAMES_MAX ? Object.freeze(membersOf(this).map((m) => m.spec.name)) : undefined;
    Object.freeze(this);
  }

  get length(): number {
    return this.ring.length;
  }
}

/** The chain's members, root first: a new array, as long as the chain. */
function membersOf(chain: Chain | undefined): Member[] {
  if (chain === undefined) return [];
  const out = new Array<Member>(chain.length);
  let i = chain.length;
  let at: Chain | undefined = chain;
  while (at instanceof Link) {
    out[--i] = at;
    at = at.prefix;
  }
  if (at !== undefined) {
    const { ring, start } = at;
    // Root first is the walk from `start` backwards: the member `start` ends it.
    for (let j = 0; j < ring.length; j++) out[--i] = ring[(start + j) % ring.length] as Member;
  }
  return out;
}

/** The chain's names, root first: shared for chains up to SHARED_NAMES_MAX, else a new frozen array. */
function namesOf(chain: Chain | undefined): readonly string[] {
  if (chain === undefined) return NO_NAMES;
  return chain.names ?? Object.freeze(membersOf(chain).map((m) => m.spec.name));
}

/** What compiling a chain found: the chain, and what its guardrails depend on. */
interface ChainInfo {
  readonly chain: Chain | undefined;
  /**
   * The guardrails when no member has a model-dependent condition (shared between equal lists);
   * undefined for such a chain when the lists outgrew LIST_NAMES_MAX (then built on each call).
   */
  readonly fixed: readonly string[] | undefined;
  /** How many members have a model-dependent condition. */
  readonly conditionCount: number;
  /** Those conditions in chain order, while there are at most MAX_OUTCOME_BITS (empty beyond). */
  readonly conditions: readonly CompiledCondition[];
}

/** The chain of a policy named '' (LiteLLM's walk stops at once on a falsy name): empty. */
const EMPTY_CHAIN: ChainInfo = Object.freeze({ chain: undefined, fixed: Object.freeze([]), conditionCount: 0, conditions: Object.freeze([]) });

/**
 * Work units per step: a unit is a chain link, a step of a walk, a policy or a guardrail name
 * copied into a list, each about a microsecond or less, so a step stays around a millisecond
 * whatever the chains.
 */
const WORK_PER_STEP = 1000;

/**
 * Guardrail names kept in the lists of one compile (about 8 bytes each). Realistic bundles stay
 * far below (10,000 policies with 10 guardrails each, before sharing, are 100,000), but the lists
 * of a compat-mode chain of 10,000 policies each adding its own guardrail hold 50 million names:
 * past this, a list is built on each call instead (correct, slower, and only for such bundles).
 */
const LIST_NAMES_MAX = 4_000_000;

/** What is left of LIST_NAMES_MAX, shared by the compile and the lists dynamic chains make later. */
interface ListBudget {
  names: number;
}

/**
 * Compiles the named policies (every policy in `specs` when `only` is undefined), in steps of
 * bounded work (see `compile`): its chain, its own condition, and its guardrails per model (§4
 * applying the chain: a member whose condition fails contributes neither adds nor removes;
 * descendants still apply; within a member, remove beats add). Chains are built once per policy
 * from the parent's (shared, see `Chain`), and so are the guardrails of chains with no
 * model-dependent condition: the parent's list plus the policy's adds minus its removes. The
 * others are resolved once per outcome of their conditions, on first use. Equal lists are one
 * frozen list, and chains with the same conditions share one per-model memo (see `Policy`). What
 * the compiled policies need stays reachable from them, nothing else.
 */
export function* compilePolicies(
  specs: ReadonlyMap<string, PolicySpec>,
  conditions: ReadonlyMap<string, CompiledCondition>,
  only?: Iterable<string>,
): Steps<Map<string, CompiledPolicy>> {
  const lists = new Map<string, readonly string[]>();
  const outcomes = new Map<string, Outcomes>();
  const conditionIds = new Map<CompiledCondition, number>();
  const infos = new Map<string, ChainInfo>();
  const budget: ListBudget = { names: LIST_NAMES_MAX };
  let work = 0;
  /** The one frozen list equal to `list`, or undefined once the lists are over budget. */
  const keep = (list: readonly string[]): readonly string[] | undefined => {
    if (list.length > budget.names) return undefined;
    const key = JSON.stringify(list);
    const shared = lists.get(key);
    if (shared !== undefined) return shared;
    budget.names -= list.length;
    lists.set(key, list);
    return list;
  };
  const outcomesOf = (conds: readonly CompiledCondition[]): Outcomes => {
    const key = conds.map((c) => conditionIds.get(c) ?? conditionIds.set(c, conditionIds.size).size - 1).join(',');
    let found = outcomes.get(key);
    if (found === undefined) outcomes.set(key, (found = createOutcomes(conds)));
    return found;
  };
  const conditionOf = (name: string): CompiledCondition | undefined => {
    const c = conditions.get(name);
    return c === undefined || c.isConstant ? undefined : c;
  };
  const memberOf = (name: string): Member => Object.freeze({ spec: specs.get(name) as PolicySpec, condition: conditionOf(name) });

  /** The chain `prefix` + `name`, with its fixed list or conditions derived from the prefix's. */
  const extend = (name: string, prefix: ChainInfo | undefined): ChainInfo => {
    const chain = new Link(specs.get(name) as PolicySpec, conditionOf(name), prefix?.chain);
    const member: Member = chain;
    const conditionCount = (prefix?.conditionCount ?? 0) + (member.condition === undefined ? 0 : 1);
    work += 2;
    if (conditionCount === 0) {
      const base = prefix === undefined ? NO_NAMES : prefix.fixed;
      let fixed: readonly string[] | undefined;
      if (base !== undefined) {
        const applied = applyMember(base, member.spec);
        if (applied !== base) work += applied.length;
        fixed = applied === prefix?.fixed ? applied : keep(applied);
      }
      return { chain, fixed, conditionCount, conditions: NO_CONDITIONS };
    }
    const conds =
      conditionCount > MAX_OUTCOME_BITS
        ? NO_CONDITIONS
        : member.condition === undefined
          ? (prefix as ChainInfo).conditions
          : Object.freeze([...(prefix?.conditions ?? NO_CONDITIONS), member.condition]);
    return { chain, fixed: undefined, conditionCount, conditions: conds };
  };

  /** The chains of a cycle's members (`names` in walk order), each the ring rotated. */
  function* ring(names: readonly string[]): Steps<ChainInfo[]> {
    const members = Object.freeze(names.map(memberOf));
    const k = members.length;
    // Ring indices of the members with a model-dependent condition, ascending.
    const conditioned: number[] = [];
    members.forEach((m, i) => m.condition !== undefined && conditioned.push(i));
    const out = new Array<ChainInfo>(k);
    if (conditioned.length > 0) {
      for (let s = 0; s < k; s++) {
        let conds = NO_CONDITIONS;
        if (conditioned.length <= MAX_OUTCOME_BITS) {
          // Root first is s-1, s-2, ..., 0, k-1, ..., s: descending below s, then descending from the top.
          const below = conditioned.filter((i) => i < s).reverse();
          const rest = conditioned.filter((i) => i >= s).reverse();
          conds = Object.freeze([...below, ...rest].map((i) => (members[i] as Member).condition as CompiledCondition));
        }
        out[s] = { chain: new Ring(members, s), fixed: undefined, conditionCount: conditioned.length, conditions: conds };
        if ((work += 2 + MAX_OUTCOME_BITS) >= WORK_PER_STEP) yield* pause();
      }
      return out;
    }
    // Which guardrails each member's chain ends with: walking up from member s, the first member
    // touching a guardrail decides it (remove beats add within a member). Sweeping the ring twice
    // backwards, `decided` holds that for every guardrail, seen from s; `inCount` counts the ins.
    const decided = new Map<string, boolean>();
    let inCount = 0;
    const decide = (g: string, isIn: boolean): void => {
      if ((decided.get(g) ?? false) !== isIn) inCount += isIn ? 1 : -1;
      decided.set(g, isIn);
    };
    let list: readonly string[] | undefined;
    let isCurrent = false;
    for (let i = 2 * k - 1; i >= 0; i--) {
      const s = i % k;
      const spec = (members[s] as Member).spec;
      for (const g of spec.add) decide(g, true);
      for (const g of spec.remove) decide(g, false);
      if (spec.add.length > 0 || spec.remove.length > 0) isCurrent = false;
      work += 1 + spec.add.length + spec.remove.length;
      if (i < k) {
        if (!isCurrent) {
          isCurrent = true;
          list = inCount > budget.names ? undefined : keep(Object.freeze([...decided].filter(([, isIn]) => isIn).map(([g]) => g).sort()));
          work += list === undefined ? 1 : decided.size;
        }
        out[s] = { chain: new Ring(members, s), fixed: list, conditionCount: 0, conditions: NO_CONDITIONS };
      }
      if (work >= WORK_PER_STEP) yield* pause();
    }
    return out;
  }

  function* pause(): Steps<void> {
    work = 0;
    yield;
  }

  /**
   * Compiles the chain of `name` and of every ancestor not compiled yet: walks up to a compiled
   * ancestor, a root, a missing parent or a revisit (§4), then builds the chains back down.
   */
  function* infoOf(name: string): Steps<ChainInfo> {
    const known = infos.get(name);
    if (known !== undefined) return known;
    if (name === '') return EMPTY_CHAIN;
    const path: string[] = [];
    const onPath = new Map<string, number>();
    let base: ChainInfo | undefined;
    let cycleAt = -1;
    for (let current: string | undefined = name; current !== undefined && current !== ''; ) {
      base = infos.get(current);
      if (base !== undefined) break;
      const spec = specs.get(current);
      if (spec === undefined) break;
      const at = onPath.get(current);
      if (at !== undefined) {
        cycleAt = at;
        break;
      }
      onPath.set(current, path.length);
      path.push(current);
      current = spec.inherit;
      if (++work >= WORK_PER_STEP) yield* pause();
    }
    let end = path.length;
    if (cycleAt >= 0) {
      const members = yield* ring(path.slice(cycleAt));
      members.forEach((info, j) => infos.set(path[cycleAt + j] as string, info));
      end = cycleAt;
      base = members[0];
    }
    for (let i = end - 1; i >= 0; i--) {
      const info = extend(path[i] as string, base);
      infos.set(path[i] as string, info);
      base = info;
      if (work >= WORK_PER_STEP) yield* pause();
    }
    return infos.get(name) as ChainInfo;
  }

  const out = new Map<string, CompiledPolicy>();
  for (const name of only ?? specs.keys()) {
    const spec = specs.get(name) as PolicySpec;
    const info = yield* infoOf(name);
    const own = conditions.get(name);
    const appliesTo = own === undefined ? ALWAYS : own.test;
    let dynamic: DynamicChain | undefined;
    if (info.conditionCount > 0) {
      const outcomes = info.conditionCount <= MAX_OUTCOME_BITS ? outcomesOf(info.conditions) : undefined;
      dynamic = new DynamicChain(info.chain as Chain, outcomes, budget);
    }
    out.set(name, new Policy(name, spec, info.chain, appliesTo, info.fixed, dynamic));
    if (++work >= WORK_PER_STEP) yield* pause();
  }
  return out;
}

const NO_CONDITIONS: readonly CompiledCondition[] = Object.freeze([]);

/** `list` (sorted) with a member's adds and then its removes applied: the same list when it has neither. Sorted, frozen. */
function applyMember(list: readonly string[], spec: PolicySpec): readonly string[] {
  if (spec.add.length === 0 && spec.remove.length === 0) return list;
  const set = new Set(list);
  for (const g of spec.add) set.add(g);
  for (const g of spec.remove) set.delete(g);
  return Object.freeze([...set].sort());
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
class DynamicChain {
  /** Lists by outcome mask (or, without `outcomes`, per model), made on first use. */
  byOutcome: (readonly string[] | undefined)[] | undefined;
  byModel: ((model: string | undefined) => readonly string[]) | undefined;

  constructor(
    readonly chain: Chain,
    /** Undefined when the chain has too many conditions for a mask: lists are then memoized per model. */
    readonly outcomes: Outcomes | undefined,
    /** Lists by outcome are kept while this lasts, and built on each call after. */
    readonly budget: ListBudget,
  ) {}

  /** The members' specs, root first: a new array each time (chains are shared, see `Chain`). */
  get members(): readonly PolicySpec[] {
    return membersOf(this.chain).map((m) => m.spec);
  }

  /** Per member: its model-dependent condition, or undefined (it always applies). A new array each time. */
  get conditions(): readonly (CompiledCondition | undefined)[] {
    return membersOf(this.chain).map((m) => m.condition);
  }
}

/**
 * A compiled policy. One class with its logic on the prototype, so a policy costs its fields:
 * a static chain holds its (shared) list; a dynamic one its chain and one list per outcome of
 * its conditions, computed on first use (at most 2^MAX_OUTCOME_BITS, usually 2). Frozen (the
 * lists a dynamic chain computes later live in its DynamicChain).
 */
class Policy implements CompiledPolicy {
  readonly name: string;
  readonly spec: PolicySpec;
  readonly appliesTo: (model: string | undefined) => boolean;
  readonly #chain: Chain | undefined;
  readonly #fixed: readonly string[] | undefined;
  readonly #dynamic: DynamicChain | undefined;

  constructor(
    name: string,
    spec: PolicySpec,
    chain: Chain | undefined,
    appliesTo: (model: string | undefined) => boolean,
    fixed: readonly string[] | undefined,
    dynamic: DynamicChain | undefined,
  ) {
    this.name = name;
    this.spec = spec;
    this.#chain = chain;
    this.appliesTo = appliesTo;
    this.#fixed = fixed;
    this.#dynamic = dynamic;
    Object.freeze(this);
  }

  /** Shared for chains up to SHARED_NAMES_MAX long; a longer one is built on each read (see `Chain`). */
  get chain(): readonly string[] {
    return namesOf(this.#chain);
  }

  guardrailsFor(model: string | undefined): readonly string[] {
    return this.#fixed ?? this.#resolve(model);
  }

  // No closure is made here: a captured local would cost a context allocation on every call.
  #resolve(model: string | undefined): readonly string[] {
    const chain = this.#dynamic;
    // A chain without model-dependent conditions whose list was over budget.
    if (chain === undefined) return chainGuardrails(membersOf(this.#chain).map(specOf), NO_MEMBER_CONDITIONS, ALWAYS);
    if (chain.outcomes === undefined) return (chain.byModel ??= memoPerModel(chain))(model);
    const mask = chain.outcomes(model);
    const byOutcome = (chain.byOutcome ??= []);
    const kept = byOutcome[mask];
    if (kept !== undefined) return kept;
    const list = forOutcome(chain, mask);
    if (list.length <= chain.budget.names) {
      chain.budget.names -= list.length;
      byOutcome[mask] = list;
    }
    return list;
  }
}

const specOf = (m: Member): PolicySpec => m.spec;
const NO_MEMBER_CONDITIONS: readonly undefined[] = Object.freeze([]);

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

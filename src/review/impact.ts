import { resolve } from '../engine/resolve.js';
import type { ResolveRequest } from '../model/decision.js';
import type { Snapshot } from '../model/snapshot.js';
import type { Principal } from './inventory.js';
import { changeKey, compareOutcomes, outcomeOf, type Change, type Outcome } from './change.js';
import { DimensionClasses } from './value-classes.js';

/** What a key's or team's requests get, on one side. */
interface Answer extends Outcome {
  /** Policies that reach it: matched by an attachment or named, with their inheritance chains. Sorted. */
  readonly reached: readonly string[];
}

/** A request class's answer, and its change from the `against` side (computed once per class). */
interface Entry {
  readonly id: number;
  readonly now: Answer;
  readonly change: Change | undefined;
}

/** Keys and teams whose requests fall in the same classes. */
interface Group {
  readonly reached: readonly string[];
  readonly keys: string[];
  unnamed: number;
  readonly teams: Set<string>;
}

/** One policy's reach. Aliases in inventory order within each group of alike keys. */
export interface PolicyReach {
  readonly policy: string;
  readonly keys: readonly string[];
  readonly unnamedKeys: number;
  readonly teams: readonly string[];
}

/** A key or team whose requests (for one model) get other guardrails or pipelines on the new side. */
export interface PrincipalChange extends Change {
  readonly kind: 'key' | 'team';
  readonly keyAlias: string | undefined;
  readonly teamAlias: string | undefined;
  readonly model: string | undefined;
}

export interface ImpactReport {
  readonly keys: number;
  readonly unnamedKeys: number;
  readonly teams: number;
  /** Requests resolved (one per key or team and model), and how many distinct classes they fell in. */
  readonly contexts: number;
  readonly distinctContexts: number;
  readonly policies: readonly PolicyReach[];
  /** Named keys and teams whose guardrails change (only with an `against` snapshot). */
  readonly changes: readonly PrincipalChange[];
  /** Unnamed keys whose guardrails change, counted per change. */
  readonly unnamedChanges: readonly (Change & { readonly count: number })[];
}

/**
 * The blast radius of a policy set over an inventory (docs/policy-review.md#impact). Each key is
 * resolved once per model it lists (once with no model when it lists none) with its alias, team,
 * tags, its own `policies` as key_policies and its team's as team_policies; each team likewise
 * with no key and its `policies` as team_policies. The engine's `resolve` answers; answers are
 * memoised per class of request (the class of the team, key and each tag under every pattern of
 * both sides, the model, and the named policies), so 100,000 keys cost a few thousand resolves.
 * A policy reaches a key or team when it is matched or named and defined, or in the chain of one
 * that is; a team is reached when its own row is or one of its keys is.
 */
export class ImpactCounter {
  readonly #current: Snapshot;
  readonly #against: Snapshot | undefined;
  readonly #classes: Record<'teams' | 'keys' | 'tags', DimensionClasses>;
  /** Answers per request class (see the class comment), each with a dense id. */
  readonly #memo = new Map<string, Entry>();
  /**
   * Keys and teams grouped by the request classes of all their models (one entry for most): what
   * reaches them is the union of those classes' answers, computed once per group; their aliases
   * are collected here and counted per policy in `report()`.
   */
  readonly #groups = new Map<string, Group>();
  readonly #changes: PrincipalChange[] = [];
  readonly #unnamedChanges = new Map<string, { change: Change; count: number }>();
  readonly #teams = new Set<string>();
  #keys = 0;
  #unnamedKeys = 0;
  #contexts = 0;

  constructor(current: Snapshot, against?: Snapshot) {
    this.#current = current;
    this.#against = against;
    this.#classes = { teams: new DimensionClasses(), keys: new DimensionClasses(), tags: new DimensionClasses() };
    for (const s of against === undefined ? [current] : [current, against]) {
      for (const spec of s.attachments.specs) {
        if (spec.isGlobal) continue;
        for (const d of ['teams', 'keys', 'tags'] as const) if (spec[d] !== undefined) this.#classes[d].add(spec[d] as readonly string[]);
      }
    }
  }

  /** Resolves one key or team (memoised) and counts what reaches it. */
  add(p: Principal): void {
    if (p.kind === 'key') {
      this.#keys++;
      if (p.keyAlias === undefined) this.#unnamedKeys++;
    }
    if (p.teamAlias !== undefined) this.#teams.add(p.teamAlias);
    let ids = '';
    let single: Entry | undefined;
    const entries: Entry[] = [];
    for (const model of p.models.length === 0 ? [undefined] : p.models) {
      this.#contexts++;
      const request: ResolveRequest = {
        context: { teamAlias: p.teamAlias, keyAlias: p.kind === 'key' ? p.keyAlias : undefined, model, tags: p.tags },
        requestPolicies: [],
        keyPolicies: p.kind === 'key' ? p.policies : [],
        teamPolicies: p.kind === 'key' ? p.teamPolicies : p.policies,
      };
      const entry = this.#entry(request);
      single = entry;
      entries.push(entry);
      ids += `${entry.id},`;
      if (entry.change !== undefined) this.#count(p, model, entry.change);
    }
    let group = this.#groups.get(ids);
    if (group === undefined) {
      const reached = entries.length === 1 ? (single as Entry).now.reached : [...new Set(entries.flatMap((e) => e.now.reached))];
      this.#groups.set(ids, (group = { reached, keys: [], unnamed: 0, teams: new Set() }));
    }
    if (p.kind === 'key') {
      if (p.keyAlias === undefined) group.unnamed++;
      else group.keys.push(p.keyAlias);
    }
    if (p.teamAlias !== undefined) group.teams.add(p.teamAlias);
  }

  report(): ImpactReport {
    const reach = new Map<string, { keys: string[]; unnamed: number; teams: Set<string> }>();
    for (const name of this.#current.policies.keys()) reach.set(name, { keys: [], unnamed: 0, teams: new Set() });
    for (const g of this.#groups.values()) {
      for (const name of g.reached) {
        const r = reach.get(name);
        if (r === undefined) continue;
        for (const k of g.keys) r.keys.push(k);
        r.unnamed += g.unnamed;
        for (const t of g.teams) r.teams.add(t);
      }
    }
    const policies = [...reach]
      .map(([policy, r]) => ({ policy, keys: r.keys, unnamedKeys: r.unnamed, teams: [...r.teams] }))
      .sort((a, b) => b.keys.length + b.unnamedKeys - (a.keys.length + a.unnamedKeys) || b.teams.length - a.teams.length || (a.policy < b.policy ? -1 : 1));
    return {
      keys: this.#keys,
      unnamedKeys: this.#unnamedKeys,
      teams: this.#teams.size,
      contexts: this.#contexts,
      distinctContexts: this.#memo.size,
      policies,
      changes: this.#changes,
      unnamedChanges: [...this.#unnamedChanges.values()].map(({ change, count }) => ({ ...change, count })),
    };
  }

  /** The memoised answers for a request: keyed by the class of each value, not the value (see the class comment). */
  #entry(request: ResolveRequest): Entry {
    const c = request.context;
    let tags = '';
    if (c.tags.length === 1) tags = this.#classes.tags.classOf(c.tags[0]);
    else if (c.tags.length > 1) tags = [...new Set(c.tags.map((t) => this.#classes.tags.classOf(t)))].sort().join('\u0001');
    const key =
      `${this.#classes.teams.classOf(c.teamAlias)}\u0000${this.#classes.keys.classOf(c.keyAlias)}\u0000${c.model === undefined ? '\u0002' : c.model}` +
      `\u0000${tags}\u0000${request.keyPolicies.join('\u0001')}\u0000${request.teamPolicies.join('\u0001')}`;
    let found = this.#memo.get(key);
    if (found === undefined) {
      const now = answerOf(this.#current, request);
      const change = this.#against === undefined ? undefined : compareOutcomes(answerOf(this.#against, request), now);
      found = { id: this.#memo.size, now, change };
      this.#memo.set(key, found);
    }
    return found;
  }

  /** Records a key's or team's change (for one model); unnamed keys are counted per change. */
  #count(p: Principal, model: string | undefined, change: Change): void {
    if (p.kind === 'key' && p.keyAlias === undefined) {
      const key = changeKey(change);
      const seen = this.#unnamedChanges.get(key);
      if (seen === undefined) this.#unnamedChanges.set(key, { change, count: 1 });
      else seen.count++;
      return;
    }
    this.#changes.push({ kind: p.kind, keyAlias: p.keyAlias, teamAlias: p.teamAlias, model, ...change });
  }
}

function answerOf(snapshot: Snapshot, request: ResolveRequest): Answer {
  const d = resolve(snapshot, request);
  const reached = new Set<string>();
  const addChain = (name: string): void => {
    const p = snapshot.policies.get(name);
    if (p === undefined) return;
    for (const member of p.chain) reached.add(member);
  };
  for (const m of d.matchedPolicies) addChain(m.policyName);
  for (const name of [...request.keyPolicies, ...request.teamPolicies]) addChain(name);
  return { ...outcomeOf(d), reached: [...reached].sort() };
}

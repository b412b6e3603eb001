import { resolve } from '../engine/resolve.js';
import type { RequestContext } from '../model/decision.js';
import type { AttachmentSpec, ConditionSpec } from '../model/policy.js';
import type { Snapshot } from '../model/snapshot.js';
import { changeKey, compareOutcomes, outcomeOf, pipelineKey, type Change, type Outcome } from './change.js';
import { attachmentKey, DEFAULT_BOUND, enumerateWitnesses, type EnumerationBound } from './enumerate.js';
import { conditionSamples, conditionTest } from './model-samples.js';

/** One context class and its witness request. */
export interface ContextClass {
  readonly label: string;
  readonly witness: RequestContext;
}

/** Classes that change alike. */
export interface ChangeGroup extends Change {
  readonly classes: readonly ContextClass[];
}

/** An attachment or policy whose classes the bound left out, while it differs between the sides. */
export interface NotEnumerated {
  readonly policy: string;
  /** The attachment's lists, or undefined for a condition. */
  readonly attachment: AttachmentSpec | undefined;
  readonly reason: string;
}

export interface DiffReport {
  readonly cells: number;
  readonly witnesses: number;
  /** Changes of requests by their attachments' classes. */
  readonly requests: readonly ChangeGroup[];
  /** Changes of policies a request, key or team names (request_policies, key_policies, team_policies). */
  readonly named: readonly ChangeGroup[];
  readonly notEnumerated: readonly NotEnumerated[];
  /** Attachments the bound cut that are the same on both sides, with the same policy. */
  readonly unchangedNotEnumerated: number;
}

/**
 * Which requests gain or lose guardrails or pipelines between two snapshots (docs/policy-review.md):
 * every witness of `enumerateWitnesses` is resolved on both sides with the engine's `resolve`, and
 * compared by the guardrails that run (the flat list plus pipeline-managed ones) and by pipelines.
 * Per cell, model classes that change alike are written `model=*`, and when every class changes
 * alike there is one class, `*`; then classes with the same change are grouped. Every policy defined on a side is also compared as a named policy (what a
 * request, key or team naming it gets), per model class its chains' conditions make.
 */
export function diffSnapshots(old: Snapshot, next: Snapshot, bound: EnumerationBound = DEFAULT_BOUND): DiffReport {
  const { witnesses, cells, unlisted } = enumerateWitnesses(old, next, bound);

  // Per cell, the changes of its model witnesses, in order.
  const perCell = new Map<string, { label: string; change: Change | undefined; witness: RequestContext; model: string }[]>();
  for (const w of witnesses) {
    const change = compareOutcomes(outcome(old, w.context), outcome(next, w.context));
    let list = perCell.get(w.cell);
    if (list === undefined) perCell.set(w.cell, (list = []));
    list.push({ label: w.label, change, witness: w.context, model: w.model });
  }
  const rows: { label: string; witness: RequestContext; change: Change }[] = [];
  const all = [...perCell.values()].flat();
  const firstKey = all[0]?.change === undefined ? undefined : changeKey(all[0].change);
  if (firstKey !== undefined && all.length > 1 && all.every((x) => x.change !== undefined && changeKey(x.change) === firstKey)) {
    // Every class changes alike: one row for any request.
    rows.push({ label: '*', witness: (all[0] as (typeof all)[number]).witness, change: (all[0] as (typeof all)[number]).change as Change });
    perCell.clear();
  }
  for (const [cell, list] of perCell) {
    const first = list[0];
    if (first === undefined) continue;
    const key = first.change === undefined ? undefined : changeKey(first.change);
    if (list.length > 1 && key !== undefined && list.every((x) => x.change !== undefined && changeKey(x.change) === key)) {
      rows.push({ label: cell === '' ? 'model=*' : `${cell}, model=*`, witness: first.witness, change: first.change as Change });
      continue;
    }
    for (const x of list) if (x.change !== undefined) rows.push({ label: x.label, witness: x.witness, change: x.change });
  }

  const named: { label: string; witness: RequestContext; change: Change }[] = [];
  for (const name of new Set([...old.policies.keys(), ...next.policies.keys()])) {
    const list = namedWitnesses(name, old, next).map((w) => ({
      label: w.label,
      witness: { teamAlias: undefined, keyAlias: undefined, model: w.model, tags: [] },
      change: compareOutcomes(namedOutcome(old, name, w.model), namedOutcome(next, name, w.model)),
    }));
    const key = list[0]?.change === undefined ? undefined : changeKey(list[0].change);
    if (list.length > 1 && key !== undefined && list.every((x) => x.change !== undefined && changeKey(x.change) === key)) {
      named.push({ label: `policy=${name}`, witness: (list[0] as (typeof list)[number]).witness, change: list[0]?.change as Change });
      continue;
    }
    for (const x of list) if (x.change !== undefined) named.push({ label: x.label, witness: x.witness, change: x.change });
  }

  const notEnumerated: NotEnumerated[] = [];
  let unchangedNotEnumerated = 0;
  const keysOf = (s: Snapshot): Set<string> => new Set(s.attachments.specs.map(attachmentKey));
  const oldKeys = keysOf(old);
  const newKeys = keysOf(next);
  for (const { spec, reason } of unlisted.attachments) {
    const key = attachmentKey(spec);
    if (oldKeys.has(key) && newKeys.has(key) && policyFingerprint(old, spec.policy) === policyFingerprint(next, spec.policy)) unchangedNotEnumerated++;
    else notEnumerated.push({ policy: spec.policy, attachment: spec, reason });
  }
  for (const [policy, patterns] of unlisted.conditions) {
    if (policyFingerprint(old, policy) === policyFingerprint(next, policy)) continue;
    notEnumerated.push({ policy, attachment: undefined, reason: `no witness model found for condition ${patterns.map((p) => JSON.stringify(p)).join(', ')}` });
  }

  return { cells, witnesses: witnesses.length, requests: group(rows), named: group(named), notEnumerated, unchangedNotEnumerated };
}

function outcome(snapshot: Snapshot, context: RequestContext): Outcome {
  return outcomeOf(resolve(snapshot, { context, requestPolicies: [], keyPolicies: [], teamPolicies: [] }));
}

/** What naming the policy gives a request: its chain's guardrails for the model, and its pipeline's. */
function namedOutcome(snapshot: Snapshot, name: string, model: string | undefined): Outcome {
  const policy = snapshot.policies.get(name);
  if (policy === undefined) return { guardrails: new Set(), pipelines: new Map() };
  const guardrails = new Set(policy.guardrailsFor(model));
  const pipeline = policy.spec.pipeline;
  if (pipeline !== undefined) for (const s of pipeline.steps) guardrails.add(s.guardrail);
  return { guardrails, pipelines: pipeline === undefined ? new Map() : new Map([[name, pipelineKey(pipeline)]]) };
}

/** The models a named policy's chains (both sides) tell apart: unset, a fresh model, and condition samples. */
function namedWitnesses(name: string, old: Snapshot, next: Snapshot): { label: string; model: string | undefined }[] {
  const conditions = new Map<string, ConditionSpec>();
  for (const s of [old, next]) {
    for (const member of s.policies.get(name)?.chain ?? []) {
      const c = s.policies.get(member)?.spec.condition;
      if (c !== undefined && c.model !== null) conditions.set(JSON.stringify(c.model), c);
    }
  }
  const label = `policy=${name}`;
  if (conditions.size === 0) return [{ label, model: undefined }];
  const conds = [...conditions.values()];
  const tests = conds.map(conditionTest);
  const regex = (c: ConditionSpec): string => (typeof c.model === 'string' ? `/${c.model}/` : (c.model as readonly string[]).map((m) => `/${m}/`).join('|'));
  const seen = new Set<string>();
  const out: { label: string; model: string | undefined }[] = [];
  // A fresh model first: the missing one usually answers alike (a condition never holds without a model).
  for (const model of ['zz-other-model', undefined, ...conds.flatMap((c) => conditionSamples(c).models)]) {
    const sig = tests.map((t) => (t.test(model) ? '1' : '0')).join('');
    if (seen.has(sig)) continue;
    seen.add(sig);
    const holding = conds.filter((_, i) => sig[i] === '1').map(regex);
    const modelLabel = model === undefined ? '(unset)' : holding.length === 0 ? `!${conds.map(regex).join(',')}` : holding.join(' ');
    out.push({ label: `${label}, model=${modelLabel}`, model });
  }
  return out;
}

/** Rows with the same change as one group; groups that remove guardrails first, then by size. */
function group(rows: readonly { label: string; witness: RequestContext; change: Change }[]): ChangeGroup[] {
  const groups = new Map<string, { change: Change; classes: ContextClass[] }>();
  for (const r of rows) {
    const key = changeKey(r.change);
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { change: r.change, classes: [] }));
    g.classes.push({ label: r.label, witness: r.witness });
  }
  return [...groups.values()]
    .map((g) => ({ ...g.change, classes: g.classes }))
    .sort((a, b) => Number(b.removed.length > 0) - Number(a.removed.length > 0) || b.classes.length - a.classes.length);
}

/** A policy's content as resolution sees it: its chain's specs (a change to an ancestor changes it). */
function policyFingerprint(snapshot: Snapshot, name: string): string {
  const p = snapshot.policies.get(name);
  if (p === undefined) return '';
  return JSON.stringify(p.chain.map((n) => snapshot.policies.get(n)?.spec));
}

import type { ResolveDecision } from '../model/decision.js';
import type { PipelineSpec } from '../model/policy.js';

/** What changes for one request between two policy sets. Lists are sorted. */
export interface Change {
  /** Guardrails that run on the new side only (flat or in a pipeline). */
  readonly added: readonly string[];
  /** Guardrails that run on the old side only. */
  readonly removed: readonly string[];
  /** Policies whose pipeline is new, gone, or different. */
  readonly pipelines: { readonly added: readonly string[]; readonly removed: readonly string[]; readonly changed: readonly string[] };
}

/** What a request gets on one side, as `diff` and `impact` compare it. */
export interface Outcome {
  /** Guardrails that run: the flat list and the pipeline-managed ones. */
  readonly guardrails: ReadonlySet<string>;
  /** Pipelines by policy, each as pipelineKey. */
  readonly pipelines: ReadonlyMap<string, string>;
}

/** The outcome of a Resolve decision. */
export function outcomeOf(d: ResolveDecision): Outcome {
  return {
    guardrails: new Set([...d.guardrails, ...d.pipelineManagedGuardrails]),
    pipelines: new Map(d.pipelines.map((p) => [p.policyName, pipelineKey(p.pipeline)])),
  };
}

/** A pipeline as a comparable string. */
export function pipelineKey(p: PipelineSpec): string {
  return JSON.stringify(p);
}

/** The change from one outcome to another, or undefined when there is none. */
export function compareOutcomes(a: Outcome, b: Outcome): Change | undefined {
  const added = [...b.guardrails].filter((g) => !a.guardrails.has(g)).sort();
  const removed = [...a.guardrails].filter((g) => !b.guardrails.has(g)).sort();
  const pAdded = [...b.pipelines.keys()].filter((p) => !a.pipelines.has(p)).sort();
  const pRemoved = [...a.pipelines.keys()].filter((p) => !b.pipelines.has(p)).sort();
  const pChanged = [...a.pipelines].filter(([p, k]) => b.pipelines.has(p) && b.pipelines.get(p) !== k).map(([p]) => p).sort();
  if (added.length + removed.length + pAdded.length + pRemoved.length + pChanged.length === 0) return undefined;
  return { added, removed, pipelines: { added: pAdded, removed: pRemoved, changed: pChanged } };
}

/** Equal for equal changes (grouping). */
export function changeKey(c: Change): string {
  return JSON.stringify([c.added, c.removed, c.pipelines.added, c.pipelines.removed, c.pipelines.changed]);
}

import type { MatchedPolicy, PolicyPipeline, ResolveDecision, ResolveRequest } from '../model/decision.js';
import type { AttachmentMatch, CompiledPolicy, Snapshot } from '../model/snapshot.js';

/** Prefix of a version id in request_policies (LiteLLM §9): `policy_<policy_id>`. */
export const VERSION_PREFIX = 'policy_';

/** Header naming the applied policies (LiteLLM §6). */
export const APPLIED_POLICIES_HEADER = 'x-litellm-applied-policies';
/** Header naming why each applied attached policy matched (LiteLLM §6). */
export const POLICY_SOURCES_HEADER = 'x-litellm-policy-sources';

/**
 * Resolves a request against a snapshot: LiteLLM's request path (docs/semantics.md §7b) with its deliberate differences.
 * - Attached policies (first matching attachment each, defined only) all contribute their guardrails
 *   resolved with the context, whether or not their own condition holds (§7b step 5).
 * - Named policies (request, key, team) that exist contribute theirs too (difference 1).
 * - Applied policies: attached then named, defined, own condition true; sources list the attached ones.
 * - Pipelines of matched policies, in attachment order, regardless of condition (§7b step 6); their
 *   step guardrails leave the flat list even when another policy contributed them (step 7).
 * - `policy_<id>` in request policies swaps a draft/published version in for its same-named
 *   policy, for this request only (§9, difference 5); the version's name then counts as named.
 * Every set-derived list is sorted (difference 2).
 */
export function resolve(snapshot: Snapshot, request: ResolveRequest): ResolveDecision {
  const { context } = request;
  const model = context.model;
  const { policies, requestPolicies } = applyVersions(snapshot, request.requestPolicies);
  // Lists are gathered in scratch arrays and copied out at their final size: a call allocates
  // what it returns, not the growth steps of five arrays and a Set (docs/performance.md).
  let names = 0; // guardrail names gathered, repeats included, in NAMES
  let matched = 0;
  let appliedCount = 0;
  let sourceCount = 0;
  let pipelineCount = 0;

  const matches = snapshot.attachments.match(context);
  for (let i = 0; i < matches.length; i++) {
    const match = matches[i] as AttachmentMatch;
    const policy = policies.get(match.attachment.policy);
    if (policy === undefined) continue;
    const isApplied = policy.appliesTo(model);
    const resolved = policy.guardrailsFor(model);
    for (let j = 0; j < resolved.length; j++) NAMES[names++] = resolved[j] as string;
    MATCHED[matched++] = {
      policyName: policy.name,
      matchedVia: match.matchedVia,
      applied: isApplied,
      guardrails: resolved,
      inheritanceChain: policy.chain,
    };
    if (isApplied) {
      APPLIED[appliedCount++] = policy.name;
      SOURCES[sourceCount++] = `${policy.name}=${match.matchedVia}`;
    }
    if (policy.spec.pipeline !== undefined) PIPELINES[pipelineCount++] = { policyName: policy.name, pipeline: policy.spec.pipeline };
  }

  for (let list = 0; list < 3; list++) {
    const named = list === 0 ? requestPolicies : list === 1 ? request.keyPolicies : request.teamPolicies;
    for (let i = 0; i < named.length; i++) {
      const name = named[i] as string;
      const policy = policies.get(name);
      if (policy === undefined) continue;
      // Key and team policies resolve with a model-only context in LiteLLM; conditions read only the model.
      const resolved = policy.guardrailsFor(model);
      for (let j = 0; j < resolved.length; j++) NAMES[names++] = resolved[j] as string;
      if (policy.appliesTo(model) && !includes(APPLIED, appliedCount, name)) APPLIED[appliedCount++] = name;
    }
  }

  const pipelines = PIPELINES.slice(0, pipelineCount);
  let managed: string[];
  if (pipelineCount === 0) managed = [];
  else {
    let steps = 0;
    for (const { pipeline } of pipelines) for (const step of pipeline.steps) STEPS[steps++] = step.guardrail;
    managed = sortedUnique(STEPS, steps, undefined);
  }
  const applied = APPLIED.slice(0, appliedCount);

  const headers: Record<string, string> = {};
  if (appliedCount > 0) headers[APPLIED_POLICIES_HEADER] = applied.join(',');
  if (sourceCount > 0) headers[POLICY_SOURCES_HEADER] = SOURCES.slice(0, sourceCount).join('; ');

  const decision: ResolveDecision = {
    guardrails: sortedUnique(NAMES, names, managed),
    appliedPolicies: applied,
    matchedPolicies: MATCHED.slice(0, matched),
    pipelines,
    pipelineManagedGuardrails: managed,
    headers,
    revision: snapshot.revision,
  };
  // Drop the scratch arrays' references to this call's objects (not their storage: no truncation).
  MATCHED.fill(undefined as unknown as MatchedPolicy, 0, matched);
  PIPELINES.fill(undefined as unknown as PolicyPipeline, 0, pipelineCount);
  SOURCES.fill('', 0, sourceCount);
  APPLIED.fill('', 0, appliedCount);
  return decision;
}

// Scratch arrays of resolve(), reused by every call (it is synchronous and never re-entered).
const NAMES: string[] = [];
const STEPS: string[] = [];
const APPLIED: string[] = [];
const SOURCES: string[] = [];
const MATCHED: MatchedPolicy[] = [];
const PIPELINES: PolicyPipeline[] = [];

function includes(list: readonly string[], count: number, name: string): boolean {
  for (let i = 0; i < count; i++) if (list[i] === name) return true;
  return false;
}

/** Lists this short are sorted in place by insertion (Array#sort allocates a work array). */
const INSERTION_SORT_MAX = 32;

/**
 * The first `count` names of `scratch`, sorted as Array#sort sorts strings (by UTF-16 code
 * units), repeats and the names in `without` (sorted) left out, as a new array. Reorders `scratch`.
 */
function sortedUnique(scratch: string[], count: number, without: readonly string[] | undefined): string[] {
  let sorted: string[] = scratch;
  if (count > INSERTION_SORT_MAX) sorted = scratch.slice(0, count).sort();
  else {
    for (let i = 1; i < count; i++) {
      const v = scratch[i] as string;
      let j = i - 1;
      for (; j >= 0 && (scratch[j] as string) > v; j--) scratch[j + 1] = scratch[j] as string;
      scratch[j + 1] = v;
    }
  }
  let unique = 0;
  for (let i = 0; i < count; i++) {
    const v = sorted[i] as string;
    if (unique > 0 && sorted[unique - 1] === v) continue;
    sorted[unique++] = v;
  }
  if (without !== undefined && without.length > 0) {
    let kept = 0;
    for (let i = 0; i < unique; i++) {
      const v = sorted[i] as string;
      if (!without.includes(v)) sorted[kept++] = v;
    }
    unique = kept;
  }
  return sorted.slice(0, unique);
}

/**
 * Splits request policies into names and version ids. A string that names a live policy is a name
 * (LiteLLM would read every `policy_` string as an id, hiding policies named so); otherwise
 * `policy_<id>` looks the id up among draft and published versions, and unknown ids are skipped.
 */
function applyVersions(
  snapshot: Snapshot,
  named: readonly string[],
): { policies: ReadonlyMap<string, CompiledPolicy>; requestPolicies: readonly string[] } {
  if (snapshot.versions.size === 0) return { policies: snapshot.policies, requestPolicies: named };
  let ids: string[] | undefined;
  const names: string[] = [];
  for (const entry of named) {
    if (snapshot.policies.has(entry) || !entry.startsWith(VERSION_PREFIX)) {
      names.push(entry);
      continue;
    }
    const id = entry.slice(VERSION_PREFIX.length).trim();
    const version = snapshot.versions.get(id);
    if (version === undefined) continue;
    (ids ??= []).push(id);
    names.push(version.spec.name);
  }
  return ids === undefined
    ? { policies: snapshot.policies, requestPolicies: named }
    : { policies: snapshot.withVersions(ids), requestPolicies: names };
}

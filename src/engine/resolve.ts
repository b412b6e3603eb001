import type { MatchedPolicy, PolicyPipeline, ResolveDecision, ResolveRequest } from '../model/decision.js';
import type { CompiledPolicy, Snapshot } from '../model/snapshot.js';

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
  const guardrails = new Set<string>();
  const applied: string[] = [];
  const sources: string[] = [];
  const matchedPolicies: MatchedPolicy[] = [];
  const pipelines: PolicyPipeline[] = [];

  for (const match of snapshot.attachments.match(context)) {
    const policy = policies.get(match.attachment.policy);
    if (policy === undefined) continue;
    const isApplied = policy.appliesTo(model);
    const resolved = policy.guardrailsFor(model);
    for (const g of resolved) guardrails.add(g);
    matchedPolicies.push({
      policyName: policy.name,
      matchedVia: match.matchedVia,
      applied: isApplied,
      guardrails: resolved,
      inheritanceChain: policy.chain,
    });
    if (isApplied) {
      applied.push(policy.name);
      sources.push(`${policy.name}=${match.matchedVia}`);
    }
    if (policy.spec.pipeline !== undefined) pipelines.push({ policyName: policy.name, pipeline: policy.spec.pipeline });
  }

  for (const names of [requestPolicies, request.keyPolicies, request.teamPolicies]) {
    for (const name of names) {
      const policy = policies.get(name);
      if (policy === undefined) continue;
      // Key and team policies resolve with a model-only context in LiteLLM; conditions read only the model.
      for (const g of policy.guardrailsFor(model)) guardrails.add(g);
      if (policy.appliesTo(model) && !applied.includes(name)) applied.push(name);
    }
  }

  const managed = new Set<string>();
  for (const { pipeline } of pipelines) for (const step of pipeline.steps) managed.add(step.guardrail);
  for (const g of managed) guardrails.delete(g);

  const headers: Record<string, string> = {};
  if (applied.length > 0) headers[APPLIED_POLICIES_HEADER] = applied.join(',');
  if (sources.length > 0) headers[POLICY_SOURCES_HEADER] = sources.join('; ');

  return {
    guardrails: [...guardrails].sort(),
    appliedPolicies: applied,
    matchedPolicies,
    pipelines,
    pipelineManagedGuardrails: [...managed].sort(),
    headers,
    revision: snapshot.revision,
  };
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

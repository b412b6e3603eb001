import type { PipelineSpec } from './policy.js';

/**
 * The request being decided (LiteLLM's PolicyMatchContext). `undefined` is LiteLLM's None and
 * differs from "": a missing value matches only the literal pattern "*".
 */
export interface RequestContext {
  readonly teamAlias: string | undefined;
  readonly keyAlias: string | undefined;
  readonly model: string | undefined;
  /** Empty means no tags (LiteLLM turns [] into None). */
  readonly tags: readonly string[];
}

/** A Resolve question: the context plus policies named by the request body, the key and the team. */
export interface ResolveRequest {
  readonly context: RequestContext;
  readonly requestPolicies: readonly string[];
  readonly keyPolicies: readonly string[];
  readonly teamPolicies: readonly string[];
}

/** One attached policy that matched, with its attribution and resolved guardrails. */
export interface MatchedPolicy {
  readonly policyName: string;
  readonly matchedVia: string;
  /** Its own condition holds. */
  readonly applied: boolean;
  /** Sorted. */
  readonly guardrails: readonly string[];
  readonly inheritanceChain: readonly string[];
}

export interface PolicyPipeline {
  readonly policyName: string;
  readonly pipeline: PipelineSpec;
}

/** The answer to a Resolve question (docs/api.md, ResolveResponse). */
export interface ResolveDecision {
  /** Sorted; pipeline-managed guardrails removed. */
  readonly guardrails: readonly string[];
  readonly appliedPolicies: readonly string[];
  readonly matchedPolicies: readonly MatchedPolicy[];
  readonly pipelines: readonly PolicyPipeline[];
  /** Sorted. */
  readonly pipelineManagedGuardrails: readonly string[];
  /** `x-litellm-applied-policies` and `x-litellm-policy-sources`, present only when non-empty. */
  readonly headers: Readonly<Record<string, string>>;
  readonly revision: string;
}

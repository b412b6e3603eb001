/**
 * The parsed, validated shapes of LiteLLM's config sections (docs/semantics.md §1, §3, §8, §11).
 * Produced by compile/parse; all arrays are frozen.
 */

/** A pipeline step action (case-sensitive in config). */
export type Action = 'allow' | 'block' | 'next' | 'modify_response';

/** Which hook a pipeline runs in. */
export type PipelineMode = 'pre_call' | 'post_call';

export interface PipelineStepSpec {
  readonly guardrail: string;
  /** Default 'allow'. */
  readonly onPass: Action;
  /** Default 'block'. */
  readonly onFail: Action;
  /** Unset: errors use onFail (docs/semantics.md, difference 4). */
  readonly onError: Action | undefined;
  readonly passData: boolean;
  readonly modifyResponseMessage: string | undefined;
  /** Per-step time limit; undefined means the guardrail's own default. */
  readonly timeoutMs: number | undefined;
}

export interface PipelineSpec {
  readonly mode: PipelineMode;
  /** At least one. */
  readonly steps: readonly PipelineStepSpec[];
}

/**
 * A policy condition. `model` null means "always matches" (LiteLLM's `condition: {model: null}`).
 * `condition: {}` or no condition at all is represented by PolicySpec.condition === undefined.
 */
export interface ConditionSpec {
  readonly model: string | readonly string[] | null;
}

export interface PolicySpec {
  readonly name: string;
  readonly inherit: string | undefined;
  readonly description: string | undefined;
  /** guardrails.add, or the legacy list form; empty when unset or falsy. */
  readonly add: readonly string[];
  /** guardrails.remove; empty when unset or falsy. */
  readonly remove: readonly string[];
  readonly condition: ConditionSpec | undefined;
  readonly pipeline: PipelineSpec | undefined;
}

/**
 * An attachment as configured. A list that is unset or empty is `undefined` (LiteLLM treats
 * both alike: teams/keys/models default to match-all, tags are not checked).
 */
export interface AttachmentSpec {
  /** Position in policy_attachments, 0-based: the match order. */
  readonly index: number;
  /** The policy name; "" when missing, as LiteLLM. */
  readonly policy: string;
  /** `scope: "*"`: matches everything, every other field ignored. */
  readonly isGlobal: boolean;
  readonly teams: readonly string[] | undefined;
  readonly keys: readonly string[] | undefined;
  readonly models: readonly string[] | undefined;
  readonly tags: readonly string[] | undefined;
}

/** A guardrail definition (`guardrails:` entry): its name, kind and settings. */
export interface GuardrailSpec {
  /** Position in `guardrails:`, 0-based (issues point at it). */
  readonly index: number;
  readonly name: string;
  /** litellm_params.guardrail, e.g. "presidio", "litellm_content_filter". */
  readonly kind: string;
  /** litellm_params.mode, as given (string or list), if any. */
  readonly mode: string | readonly string[] | undefined;
  /** litellm_params as given. */
  readonly params: Readonly<Record<string, unknown>>;
}

/**
 * A draft or published version of a policy (from a db source, docs/semantics.md §9). Never live:
 * `policy_<id>` in a request's policies swaps it in for the same-named policy, for that request.
 */
export interface PolicyVersionSpec {
  /** policy_id. */
  readonly id: string;
  readonly status: 'draft' | 'published';
  readonly versionNumber: number;
  /** The version's content; `spec.name` is the policy name it replaces. */
  readonly spec: PolicySpec;
}

/** The validation mode: strict rejects LiteLLM's validation errors; compat loads what LiteLLM's db sync would. */
export type ValidationMode = 'strict' | 'compat';

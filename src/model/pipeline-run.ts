import type { RequestContext } from './decision.js';
import type { ChatMessage } from './guardrail.js';
import type { Action, PipelineMode, PipelineSpec } from './policy.js';

/** Which pipeline to run: a policy's own (from the snapshot) or one given with the request. */
export type PipelineTarget =
  | { readonly kind: 'policy'; readonly policyName: string }
  | { readonly kind: 'inline'; readonly pipeline: PipelineSpec };

/**
 * The content a pipeline runs over. A pre_call pipeline checks (and may mask) `messages`; a
 * post_call pipeline checks (and may mask) `responseText`. The other field is carried through
 * unchanged.
 */
export interface PipelineInput {
  readonly messages: readonly ChatMessage[];
  /** Required (checked before execution) when the pipeline is post_call. */
  readonly responseText: string | undefined;
  readonly context: RequestContext;
  /** The caller's request id (LiteLLM's litellm_call_id); may be "". */
  readonly requestId: string;
}

/** An ExecutePipeline question: a target, the hook it is asked in, and the content. */
export interface PipelineRequest extends PipelineInput {
  readonly target: PipelineTarget;
  /** The hook the caller is in; undefined means "the pipeline's own mode". */
  readonly mode: PipelineMode | undefined;
}

/** How one guardrail call ended (LiteLLM's pass | fail | error). */
export type StepOutcome = 'pass' | 'fail' | 'error';

/** The action that ends a pipeline run. */
export type TerminalAction = Exclude<Action, 'next'>;

/** One executed step. `detail` is the guardrail's reason or our error text: never prompt text. */
export interface StepResult {
  readonly guardrail: string;
  /** The guardrail's kind (`litellm_params.guardrail`); "" when the guardrail is not defined. */
  readonly kind: string;
  readonly outcome: StepOutcome;
  /** The action taken: on_pass, on_fail, or on_error (falling back to on_fail). */
  readonly action: Action;
  /** "" on a pass. */
  readonly detail: string;
  /** Wall time of the step, fractional milliseconds. */
  readonly durationMs: number;
}

/**
 * The verdict of one pipeline run. `steps` holds the executed steps only, in order, the last one
 * being the step whose action ended the run (or the last step, when every step said `next`).
 */
export interface PipelineResult {
  readonly terminalAction: TerminalAction;
  readonly steps: readonly StepResult[];
  /**
   * The working copy at the end: the input, with the replacement texts of every passing step
   * that has pass_data applied in turn. Equal to the input when nothing was forwarded.
   */
  readonly messages: readonly ChatMessage[];
  /** As `messages`, for post_call pipelines; the input's value otherwise. */
  readonly responseText: string | undefined;
  /** The blocking step's detail when the run ends in `block` ("" when it blocked on a pass). */
  readonly errorMessage: string;
  /**
   * When the run ends in `modify_response`: the step's modify_response_message, else its detail,
   * else {@link DEFAULT_MODIFY_RESPONSE_MESSAGE}; never empty then. "" for other actions.
   */
  readonly modifyResponseMessage: string;
  /** The snapshot revision that answered. */
  readonly revision: string;
}

/** LiteLLM's proxy message for a modify_response with no message and no detail. */
export const DEFAULT_MODIFY_RESPONSE_MESSAGE = 'Response modified by pipeline';

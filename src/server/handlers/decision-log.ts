import type { Logger } from 'pino';
import type { ResolveDecision, ResolveRequest } from '../../model/decision.js';

/** One ExecutePipeline answer, as the decision log records it: identifiers and outcomes, no text. */
export interface PipelineDecision {
  /** The caller's request id (LiteLLM's litellm_call_id); may be "". */
  readonly requestId: string;
  readonly revision: string;
  /** The policy whose pipeline ran; undefined for an inline pipeline. */
  readonly policyName: string | undefined;
  /** e.g. "pre_call" or "post_call". */
  readonly mode: string;
  /** e.g. "allow", "block", "modify_response". */
  readonly terminalAction: string;
  /** Each step's guardrail name, outcome and action; never its detail (a vendor may echo text there). */
  readonly steps: readonly { readonly guardrail: string; readonly outcome: string; readonly action: string }[];
}

/**
 * The optional decision log: one JSON line per sampled decision, for audits and debugging.
 * Only identifiers appear: revision, policy and guardrail names, the context's team alias, key
 * alias and model (identifiers the gateway configures, not prompt text), the request id, actions
 * and outcomes. Never messages, response text, guardrail details or tags (tags are caller-supplied
 * free text, so only their count is logged).
 */
export interface DecisionLog {
  /** False when the sample rate is 0: callers may skip building entries. */
  readonly isEnabled: boolean;
  /** Logs one Resolve decision, if sampled. */
  resolve(request: ResolveRequest, decision: ResolveDecision): void;
  /** Logs one ExecutePipeline decision, if sampled. */
  pipeline(decision: PipelineDecision): void;
}

export interface DecisionLogOptions {
  readonly log: Logger;
  /** Fraction of decisions logged, 0..1; 0 turns the log off. */
  readonly sampleRate: number;
  /** Uniform in [0, 1); Math.random unless a test fixes it. */
  readonly random?: () => number;
}

/** Creates the decision log. With `sampleRate` 0 every method returns at once. */
export function createDecisionLog({ log, sampleRate, random = Math.random }: DecisionLogOptions): DecisionLog {
  const decisionLog = log.child({ component: 'decision-log' });
  const isEnabled = sampleRate > 0;
  const isSampled = (): boolean => isEnabled && (sampleRate >= 1 || random() < sampleRate);
  return {
    isEnabled,
    resolve(request, decision) {
      if (!isSampled()) return;
      const { context } = request;
      decisionLog.info(
        {
          rpc: 'Resolve',
          revision: decision.revision,
          teamAlias: context.teamAlias,
          keyAlias: context.keyAlias,
          model: context.model,
          tagCount: context.tags.length,
          appliedPolicies: decision.appliedPolicies,
          guardrails: decision.guardrails,
          pipelines: decision.pipelines.map((p) => p.policyName),
        },
        'decision',
      );
    },
    pipeline(decision) {
      if (!isSampled()) return;
      decisionLog.info(
        {
          rpc: 'ExecutePipeline',
          requestId: decision.requestId,
          revision: decision.revision,
          policyName: decision.policyName,
          mode: decision.mode,
          terminalAction: decision.terminalAction,
          steps: decision.steps.map(({ guardrail, outcome, action }) => ({ guardrail, outcome, action })),
        },
        'decision',
      );
    },
  };
}

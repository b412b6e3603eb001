import { PdpError } from '../errors.js';
import type { PipelineRequest } from '../model/pipeline-run.js';
import type { PipelineMode, PipelineSpec } from '../model/policy.js';
import type { Snapshot } from '../model/snapshot.js';

/**
 * The pipeline a request runs, checked against the snapshot that will run it. Throws
 * UNKNOWN_POLICY for a policy that is not defined or has no pipeline, and INVALID_REQUEST (naming
 * the field) for an inline step whose guardrail the snapshot does not define, a `mode` other than
 * the pipeline's own (LiteLLM runs a pipeline only in its own hook), or a post_call pipeline
 * without `response_text`. Messages name policies and guardrails, never content.
 */
export function pipelineFor(snapshot: Snapshot, request: PipelineRequest): PipelineSpec {
  const { target } = request;
  let pipeline: PipelineSpec;
  if (target.kind === 'policy') {
    const policy = snapshot.policies.get(target.policyName);
    if (policy === undefined) {
      throw new PdpError(
        'UNKNOWN_POLICY',
        `policy '${target.policyName}' not found in revision ${snapshot.revision}; ${snapshot.policies.size} policies loaded`,
      );
    }
    if (policy.spec.pipeline === undefined) {
      throw new PdpError('UNKNOWN_POLICY', `policy '${target.policyName}' has no pipeline in revision ${snapshot.revision}`);
    }
    pipeline = policy.spec.pipeline;
  } else {
    pipeline = target.pipeline;
    pipeline.steps.forEach((step, i) => {
      if (!snapshot.guardrails.has(step.guardrail)) {
        throw new PdpError(
          'INVALID_REQUEST',
          `pipeline.steps[${i}].guardrail: guardrail '${step.guardrail}' is not defined in revision ${snapshot.revision}`,
        );
      }
    });
  }
  if (request.mode !== undefined && request.mode !== pipeline.mode) {
    throw new PdpError(
      'INVALID_REQUEST',
      `mode is ${modeName(request.mode)} but the pipeline runs in ${modeName(pipeline.mode)}; leave mode unset or send the pipeline's own mode`,
    );
  }
  if (pipeline.mode === 'post_call' && request.responseText === undefined) {
    throw new PdpError('INVALID_REQUEST', 'response_text is required: the pipeline runs in POST_CALL, over the response');
  }
  return pipeline;
}

function modeName(mode: PipelineMode): string {
  return mode === 'pre_call' ? 'PRE_CALL' : 'POST_CALL';
}

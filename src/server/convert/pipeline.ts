// Proto <-> model for ExecutePipeline: request validation (everything that needs no snapshot) and
// the response.
import { PdpError } from '../../errors.js';
import type { PipelineRequest, PipelineResult, StepOutcome } from '../../model/pipeline-run.js';
import type { Action as ModelAction, PipelineMode, PipelineSpec, PipelineStepSpec } from '../../model/policy.js';
import {
  Action,
  ExecutePipelineResponse,
  type ExecutePipelineRequest as PbExecutePipelineRequest,
  Mode,
  Outcome,
  type ChatMessage as PbChatMessage,
  type Pipeline,
} from '../../gen/guardrail/pdp/v1/pipeline.js';
import { ACTIONS, checkValue, MAX_LIST_LENGTH, toRequestContext } from './resolve.js';

/** Longest accepted `timeout_ms` of an inline pipeline step (10 minutes). */
export const MAX_STEP_TIMEOUT_MS = 600_000;

/**
 * Most text one call may ask the guardrails to check: `messages[].content` and `response_text`
 * together, in characters (UTF-16 units, what the checks scan). Measured: one content-filter step
 * with every prebuilt pattern took 50 to 110 ms over 1 Mi characters in-process (12 kinds of
 * text) and 70 to 130 ms in the server, so with the executor yielding between slow steps a
 * Resolve waits about that long behind a pipeline at the limit. Within the 4 MiB request limit
 * alone, a three-step pipeline over 3.9 million characters held the event loop for 1.4 s. 1 Mi
 * characters is about 260,000 tokens, beyond most models' context windows.
 */
export const MAX_PIPELINE_TEXT_CHARS = 1024 * 1024;

/**
 * Most messages in one call. Each message costs every step a fixed overhead (a content filter:
 * about 1 µs per message and pattern set), so within the 4 MiB request limit half a million
 * one-character messages would take a content-filter step about half a second.
 */
export const MAX_PIPELINE_MESSAGES = 10_000;

const MODEL_ACTIONS = new Map<Action, ModelAction>([
  [Action.ALLOW, 'allow'],
  [Action.BLOCK, 'block'],
  [Action.NEXT, 'next'],
  [Action.MODIFY_RESPONSE, 'modify_response'],
]);

const OUTCOMES: Record<StepOutcome, Outcome> = { pass: Outcome.PASS, fail: Outcome.FAIL, error: Outcome.ERROR };

/**
 * Proto ExecutePipelineRequest -> model request, with every check that needs no snapshot: exactly
 * one target; an inline pipeline validated like a bundle's (mode, at least one step, non-empty
 * guardrail names, known actions, sane timeouts); known modes; a role on every message; at most
 * MAX_PIPELINE_MESSAGES messages and MAX_PIPELINE_TEXT_CHARS characters of text to check; Resolve's
 * bounds on names and the context. Throws INVALID_REQUEST naming the field, never echoing content.
 * The checks against the snapshot follow in engine/pipeline-target.ts.
 */
export function toPipelineRequest(msg: PbExecutePipelineRequest): PipelineRequest {
  if ((msg.policyName === undefined) === (msg.pipeline === undefined))
    throw new PdpError('INVALID_REQUEST', 'target: give exactly one of policy_name or pipeline');
  let target: PipelineRequest['target'];
  if (msg.pipeline !== undefined) target = { kind: 'inline', pipeline: toPipelineSpec(msg.pipeline) };
  else {
    const policyName = msg.policyName ?? '';
    if (policyName === '') throw new PdpError('INVALID_REQUEST', 'policy_name is empty; give a policy name');
    checkValue(policyName, 'policy_name');
    target = { kind: 'policy', policyName };
  }
  if (msg.messages.length > MAX_PIPELINE_MESSAGES)
    throw new PdpError('INVALID_REQUEST', `messages has ${msg.messages.length} entries; at most ${MAX_PIPELINE_MESSAGES} are accepted`);
  let textChars = 0;
  msg.messages.forEach((m, i) => {
    if (m.role === '') throw new PdpError('INVALID_REQUEST', `messages[${i}].role is empty; give the message's role (e.g. user)`);
    checkValue(m.role, `messages[${i}].role`);
    textChars += m.content.length;
    if (textChars > MAX_PIPELINE_TEXT_CHARS) throw textTooLong(`messages[${i}].content`, textChars);
  });
  textChars += msg.responseText?.length ?? 0;
  if (textChars > MAX_PIPELINE_TEXT_CHARS) throw textTooLong('response_text', textChars);
  return {
    target,
    mode: toPipelineMode(msg.mode, 'mode'),
    messages: msg.messages,
    responseText: msg.responseText,
    context: toRequestContext(msg.context),
    requestId: checkValue(msg.requestId, 'request_id') ?? '',
  };
}

function textTooLong(field: string, total: number): PdpError {
  return new PdpError(
    'INVALID_REQUEST',
    `${field} brings the text to check to ${total} characters; at most ${MAX_PIPELINE_TEXT_CHARS} are accepted (messages[].content and response_text together)`,
  );
}

/** Proto Mode -> model mode; undefined for MODE_UNSPECIFIED. Throws INVALID_REQUEST for unknown values. */
export function toPipelineMode(mode: Mode, field: string): PipelineMode | undefined {
  if (mode === Mode.MODE_UNSPECIFIED) return undefined;
  if (mode === Mode.PRE_CALL) return 'pre_call';
  if (mode === Mode.POST_CALL) return 'post_call';
  throw new PdpError('INVALID_REQUEST', `${field} has an unknown value; expected PRE_CALL or POST_CALL`);
}

/** Proto Action -> model action; undefined for ACTION_UNSPECIFIED (the field's default applies). */
export function toModelAction(action: Action, field: string): ModelAction | undefined {
  if (action === Action.ACTION_UNSPECIFIED) return undefined;
  const a = MODEL_ACTIONS.get(action);
  if (a === undefined) throw new PdpError('INVALID_REQUEST', `${field} has an unknown value; expected ALLOW, BLOCK, NEXT or MODIFY_RESPONSE`);
  return a;
}

// An inline pipeline, checked as parse-pipeline.ts checks a bundle's. Guardrail names are checked
// against the snapshot later. Frozen, like a compiled pipeline.
function toPipelineSpec(p: Pipeline): PipelineSpec {
  // A bundle's pipeline without a mode is pre_call (LiteLLM's config parser); proto3 cannot tell
  // an unset mode from MODE_UNSPECIFIED, so both mean pre_call here too.
  const mode = toPipelineMode(p.mode, 'pipeline.mode') ?? 'pre_call';
  if (p.steps.length === 0) throw new PdpError('INVALID_REQUEST', 'pipeline.steps must have at least 1 step');
  if (p.steps.length > MAX_LIST_LENGTH)
    throw new PdpError('INVALID_REQUEST', `pipeline.steps has ${p.steps.length} steps; at most ${MAX_LIST_LENGTH} are accepted`);
  const steps = p.steps.map((s, i): PipelineStepSpec => {
    const at = `pipeline.steps[${i}]`;
    if (s.guardrail === '') throw new PdpError('INVALID_REQUEST', `${at}.guardrail is empty; give a guardrail_name`);
    checkValue(s.guardrail, `${at}.guardrail`);
    if (!Number.isSafeInteger(s.timeoutMs) || s.timeoutMs < 0 || s.timeoutMs > MAX_STEP_TIMEOUT_MS) {
      const message = `${at}.timeout_ms must be a whole number of milliseconds from 0 (the guardrail's default) to ${MAX_STEP_TIMEOUT_MS}`;
      throw new PdpError('INVALID_REQUEST', message);
    }
    return Object.freeze({
      guardrail: s.guardrail,
      onPass: toModelAction(s.onPass, `${at}.on_pass`) ?? 'allow',
      onFail: toModelAction(s.onFail, `${at}.on_fail`) ?? 'block',
      onError: toModelAction(s.onError, `${at}.on_error`),
      passData: s.passData,
      modifyResponseMessage: checkValue(s.modifyResponseMessage, `${at}.modify_response_message`),
      timeoutMs: s.timeoutMs === 0 ? undefined : s.timeoutMs,
    });
  });
  return Object.freeze({ mode, steps: Object.freeze(steps) });
}

/** Model pipeline result -> proto ExecutePipelineResponse. */
export function toExecutePipelineResponse(r: PipelineResult): ExecutePipelineResponse {
  return {
    terminalAction: ACTIONS[r.terminalAction],
    steps: r.steps.map((s) => ({
      guardrail: s.guardrail,
      outcome: OUTCOMES[s.outcome],
      action: ACTIONS[s.action],
      detail: s.detail,
      durationMs: s.durationMs,
    })),
    messages: r.messages as PbChatMessage[],
    errorMessage: r.errorMessage,
    modifyResponseMessage: r.modifyResponseMessage,
    revision: r.revision,
    responseText: r.responseText,
  };
}

/** The proto3 JSON form of a pipeline result: what grpcurl prints for the same answer. */
export function toExecutePipelineResponseJson(r: PipelineResult): unknown {
  return ExecutePipelineResponse.toJSON(toExecutePipelineResponse(r));
}

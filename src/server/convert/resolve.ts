import { PdpError } from '../../errors.js';
import type { RequestContext, ResolveDecision, ResolveRequest } from '../../model/decision.js';
import type { Action as ModelAction, PipelineSpec } from '../../model/policy.js';
import type { RequestContext as PbRequestContext } from '../../gen/guardrail/pdp/v1/context.js';
import { Action, Mode, type Pipeline } from '../../gen/guardrail/pdp/v1/pipeline.js';
import { ResolveResponse, type ResolveRequest as PbResolveRequest } from '../../gen/guardrail/pdp/v1/resolve.js';

/** Longest accepted alias, model, tag or policy name, in UTF-16 units. */
export const MAX_VALUE_LENGTH = 4096;
/** Most tags, and most names per policy list, in one request. */
export const MAX_LIST_LENGTH = 256;

/**
 * Proto ResolveRequest -> model request, checking bounds. Throws INVALID_REQUEST naming the field
 * (never echoing its value).
 */
export function toResolveRequest(msg: PbResolveRequest): ResolveRequest {
  return {
    context: toRequestContext(msg.context),
    requestPolicies: checkList(msg.requestPolicies, 'request_policies', false),
    keyPolicies: checkList(msg.keyPolicies, 'key_policies', false),
    teamPolicies: checkList(msg.teamPolicies, 'team_policies', false),
  };
}

/** Proto RequestContext (absent: all unset) -> model context, checking bounds under `context.`. */
export function toRequestContext(c: PbRequestContext | undefined): RequestContext {
  return {
    teamAlias: checkValue(c?.teamAlias, 'context.team_alias'),
    keyAlias: checkValue(c?.keyAlias, 'context.key_alias'),
    model: checkValue(c?.model, 'context.model'),
    tags: checkList(c?.tags ?? [], 'context.tags', true),
  };
}

/** Checks a string's length bound; throws INVALID_REQUEST naming the field (never its value). */
export function checkValue(value: string | undefined, field: string): string | undefined {
  if (value !== undefined && value.length > MAX_VALUE_LENGTH)
    throw new PdpError('INVALID_REQUEST', `${field} is longer than ${MAX_VALUE_LENGTH} characters`);
  return value;
}

/** Checks a list's length bound and each entry's (and, unless allowed, that none is empty). */
export function checkList(values: readonly string[], field: string, isEmptyAllowed: boolean): readonly string[] {
  if (values.length > MAX_LIST_LENGTH)
    throw new PdpError('INVALID_REQUEST', `${field} has ${values.length} entries; at most ${MAX_LIST_LENGTH} are accepted`);
  // A plain loop, not forEach: no closure per call on the hot path; the field name is built only to throw.
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as string;
    if (!isEmptyAllowed && v === '') throw new PdpError('INVALID_REQUEST', `${field}[${i}] is empty; give a policy name`);
    if (v.length > MAX_VALUE_LENGTH) checkValue(v, `${field}[${i}]`);
  }
  return values;
}

/** Model decision -> proto ResolveResponse. */
export function toResolveResponse(d: ResolveDecision): ResolveResponse {
  return {
    guardrails: d.guardrails as string[],
    appliedPolicies: d.appliedPolicies as string[],
    matchedPolicies: d.matchedPolicies.map((m) => ({
      policyName: m.policyName,
      matchedVia: m.matchedVia,
      applied: m.applied,
      guardrails: m.guardrails as string[],
      inheritanceChain: m.inheritanceChain as string[],
    })),
    pipelines: d.pipelines.map((p) => ({ policyName: p.policyName, pipeline: toPipeline(p.pipeline) })),
    pipelineManagedGuardrails: d.pipelineManagedGuardrails as string[],
    headers: { ...d.headers },
    revision: d.revision,
  };
}

/** The proto3 JSON form of a decision: what grpcurl prints for the same answer. */
export function toResolveResponseJson(d: ResolveDecision): unknown {
  return ResolveResponse.toJSON(toResolveResponse(d));
}

/** Model action -> proto enum. */
export const ACTIONS: Record<ModelAction, Action> = {
  allow: Action.ALLOW,
  block: Action.BLOCK,
  next: Action.NEXT,
  modify_response: Action.MODIFY_RESPONSE,
};

/** Model pipeline -> proto Pipeline. */
export function toPipeline(p: PipelineSpec): Pipeline {
  return {
    mode: p.mode === 'pre_call' ? Mode.PRE_CALL : Mode.POST_CALL,
    steps: p.steps.map((s) => ({
      guardrail: s.guardrail,
      onPass: ACTIONS[s.onPass],
      onFail: ACTIONS[s.onFail],
      onError: s.onError === undefined ? Action.ACTION_UNSPECIFIED : ACTIONS[s.onError],
      passData: s.passData,
      modifyResponseMessage: s.modifyResponseMessage,
      timeoutMs: s.timeoutMs ?? 0,
    })),
  };
}

import type { ActivationEvent } from '../../activation/activator.js';
import { PdpError } from '../../errors.js';
import type { RequestContext, ResolveDecision, ResolveRequest } from '../../model/decision.js';
import type { Issue as ModelIssue } from '../../model/issue.js';
import type { Action as ModelAction, PipelineSpec } from '../../model/policy.js';
import type { Snapshot } from '../../model/snapshot.js';
import type { RequestContext as PbRequestContext } from '../../gen/guardrail/pdp/v1/context.js';
import { Action, Mode, type Pipeline } from '../../gen/guardrail/pdp/v1/pipeline.js';
import { ResolveRequest as PbResolveRequest, ResolveResponse } from '../../gen/guardrail/pdp/v1/resolve.js';
import { Issue_Severity, WatchEvent_Kind, type Issue, type WatchEvent } from '../../gen/guardrail/pdp/v1/watch.js';

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
  values.forEach((v, i) => {
    if (!isEmptyAllowed && v === '') throw new PdpError('INVALID_REQUEST', `${field}[${i}] is empty; give a policy name`);
    checkValue(v, `${field}[${i}]`);
  });
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

/**
 * Parses a ResolveRequest from its proto3 JSON form (snake_case or lowerCamelCase names).
 * Unknown keys are errors, so a typo never silently resolves a different context.
 */
export function resolveRequestFromJson(json: unknown, where: string): PbResolveRequest {
  checkKeys(json, REQUEST_KEYS, where);
  const obj = json as Record<string, unknown>;
  for (const key of ['request_policies', 'requestPolicies', 'key_policies', 'keyPolicies', 'team_policies', 'teamPolicies'])
    checkStringList(obj[key], `${where}.${key}`);
  const context = obj['context'];
  if (context !== undefined && context !== null) {
    checkKeys(context, CONTEXT_KEYS, `${where}.context`);
    const ctx = context as Record<string, unknown>;
    for (const key of ['team_alias', 'teamAlias', 'key_alias', 'keyAlias', 'model']) {
      const v = ctx[key];
      if (v !== undefined && v !== null && typeof v !== 'string')
        throw new PdpError('INVALID_REQUEST', `${where}.context.${key} must be a string or null`);
    }
    checkStringList(ctx['tags'], `${where}.context.tags`);
  }
  return PbResolveRequest.fromJSON(json);
}

export function checkStringList(v: unknown, field: string): void {
  if (v === undefined || v === null) return;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new PdpError('INVALID_REQUEST', `${field} must be a list of strings`);
}

const CONTEXT_KEYS = new Set(['team_alias', 'teamAlias', 'key_alias', 'keyAlias', 'model', 'tags']);
const REQUEST_KEYS = new Set([
  'context',
  'request_policies',
  'requestPolicies',
  'key_policies',
  'keyPolicies',
  'team_policies',
  'teamPolicies',
]);

/** True when a JSON object looks like a RequestContext rather than a whole ResolveRequest. */
export function isContextJson(json: unknown): boolean {
  return typeof json === 'object' && json !== null && !Array.isArray(json) && Object.keys(json).every((k) => CONTEXT_KEYS.has(k));
}

function checkKeys(json: unknown, allowed: ReadonlySet<string>, where: string): void {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new PdpError('INVALID_REQUEST', `${where} must be a JSON object`);
  for (const key of Object.keys(json))
    if (!allowed.has(key))
      throw new PdpError('INVALID_REQUEST', `${where} has unknown field '${key}'; expected one of ${[...allowed].filter((k) => k.includes('_') || !/[A-Z]/.test(k)).join(', ')}`);
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

/** Model issue -> proto Issue (line and column stay 0 when unknown). */
export function toIssue(i: ModelIssue): Issue {
  return {
    severity: i.severity === 'error' ? Issue_Severity.ERROR : Issue_Severity.WARNING,
    rule: i.rule,
    message: i.message,
    file: i.file,
    line: Math.max(0, i.line),
    column: Math.max(0, i.column),
    path: i.path,
  };
}

/** The Watch event announcing a snapshot: ACTIVATED, with its warnings, at `occurredAt`. */
export function toActivatedEvent(s: Snapshot, occurredAt: Date, issues: readonly ModelIssue[]): WatchEvent {
  return { kind: WatchEvent_Kind.ACTIVATED, ...servingFields(s, s.origin), issues: issues.map(toIssue), occurredAt, message: '' };
}

/**
 * Activation event -> Watch event. ACTIVATION_FAILED describes the snapshot that keeps serving
 * (empty revision if none) and carries every issue of the rejected input.
 */
export function toWatchEvent(e: ActivationEvent): WatchEvent {
  if (e.kind === 'activated') return toActivatedEvent(e.snapshot, e.at, e.issues);
  const { failure } = e;
  return {
    kind: WatchEvent_Kind.ACTIVATION_FAILED,
    ...servingFields(e.serving, failure.origin),
    issues: failure.issues.map(toIssue),
    occurredAt: e.at,
    message: failure.message,
  };
}

function servingFields(
  s: Snapshot | undefined,
  origin: string,
): Pick<WatchEvent, 'revision' | 'origin' | 'loadedAt' | 'policyCount' | 'attachmentCount'> {
  return {
    revision: s?.revision ?? '',
    origin: s?.origin ?? origin,
    loadedAt: s?.loadedAt,
    policyCount: s?.policies.size ?? 0,
    attachmentCount: s?.attachments.size ?? 0,
  };
}

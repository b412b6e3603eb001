import type { ActivationEvent } from '../activation/activator.js';
import { PdpError } from '../errors.js';
import type { RequestContext, ResolveDecision, ResolveRequest } from '../model/decision.js';
import type { Issue as ModelIssue } from '../model/issue.js';
import type { PipelineRequest, PipelineResult, StepOutcome } from '../model/pipeline-run.js';
import type { Action as ModelAction, PipelineMode, PipelineSpec, PipelineStepSpec } from '../model/policy.js';
import type { Snapshot } from '../model/snapshot.js';
import type { RequestContext as PbRequestContext } from '../gen/guardrail/pdp/v1/context.js';
import {
  Action,
  ExecutePipelineRequest as PbExecutePipelineRequest,
  ExecutePipelineResponse,
  Mode,
  Outcome,
  type ChatMessage as PbChatMessage,
  type Pipeline,
} from '../gen/guardrail/pdp/v1/pipeline.js';
import { ResolveRequest as PbResolveRequest, ResolveResponse } from '../gen/guardrail/pdp/v1/resolve.js';
import { Issue_Severity, WatchEvent_Kind, type Issue, type WatchEvent } from '../gen/guardrail/pdp/v1/watch.js';

/** Longest accepted alias, model, tag or policy name, in UTF-16 units. */
export const MAX_VALUE_LENGTH = 4096;
/** Most tags, and most names per policy list, in one request. */
export const MAX_LIST_LENGTH = 256;

/**
 * Proto ResolveRequest -> model request, checking bounds. Throws INVALID_REQUEST naming the field
 * (never echoing its value).
 */
export function toResolveRequest(msg: PbResolveRequest): ResolveRequest {
  const c = msg.context;
  const context: RequestContext = {
    teamAlias: checkValue(c?.teamAlias, 'context.team_alias'),
    keyAlias: checkValue(c?.keyAlias, 'context.key_alias'),
    model: checkValue(c?.model, 'context.model'),
    tags: checkList(c?.tags ?? [], 'context.tags', true),
  };
  return {
    context,
    requestPolicies: checkList(msg.requestPolicies, 'request_policies', false),
    keyPolicies: checkList(msg.keyPolicies, 'key_policies', false),
    teamPolicies: checkList(msg.teamPolicies, 'team_policies', false),
  };
}

function checkValue(value: string | undefined, field: string): string | undefined {
  if (value !== undefined && value.length > MAX_VALUE_LENGTH)
    throw new PdpError('INVALID_REQUEST', `${field} is longer than ${MAX_VALUE_LENGTH} characters`);
  return value;
}

function checkList(values: readonly string[], field: string, isEmptyAllowed: boolean): readonly string[] {
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

function checkStringList(v: unknown, field: string): void {
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

const ACTIONS: Record<ModelAction, Action> = {
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

/** Longest accepted `timeout_ms` of an inline pipeline step (10 minutes). */
export const MAX_STEP_TIMEOUT_MS = 600_000;

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
 * guardrail names, known actions, sane timeouts); known modes; a role on every message; Resolve's
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
  msg.messages.forEach((m, i) => {
    if (m.role === '') throw new PdpError('INVALID_REQUEST', `messages[${i}].role is empty; give the message's role (e.g. user)`);
    checkValue(m.role, `messages[${i}].role`);
  });
  const c = msg.context;
  return {
    target,
    mode: toPipelineMode(msg.mode, 'mode'),
    messages: msg.messages,
    responseText: msg.responseText,
    context: {
      teamAlias: checkValue(c?.teamAlias, 'context.team_alias'),
      keyAlias: checkValue(c?.keyAlias, 'context.key_alias'),
      model: checkValue(c?.model, 'context.model'),
      tags: checkList(c?.tags ?? [], 'context.tags', true),
    },
    requestId: checkValue(msg.requestId, 'request_id') ?? '',
  };
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

/**
 * Parses an ExecutePipelineRequest from its proto3 JSON form (snake_case or lowerCamelCase
 * names). Unknown fields, wrong types and unknown enum names are INVALID_REQUEST errors naming
 * the field under `where`, so a typo never runs a different request.
 */
export function executePipelineRequestFromJson(json: unknown, where: string): PbExecutePipelineRequest {
  checkShape(json, EXECUTE_PIPELINE_SHAPE, where);
  return PbExecutePipelineRequest.fromJSON(json);
}

/** A JSON value's expected shape: a scalar type, `enum:A|B` (names or their numbers), an object, or a list of one. */
type Shape = string | ShapeFields | readonly [ShapeFields];
interface ShapeFields {
  readonly [snakeName: string]: Shape;
}

const ACTION_ENUM = 'enum:ACTION_UNSPECIFIED|ALLOW|BLOCK|NEXT|MODIFY_RESPONSE';
const MODE_ENUM = 'enum:MODE_UNSPECIFIED|PRE_CALL|POST_CALL';
const STEP_SHAPE: ShapeFields = {
  guardrail: 'string',
  on_pass: ACTION_ENUM,
  on_fail: ACTION_ENUM,
  on_error: ACTION_ENUM,
  pass_data: 'boolean',
  modify_response_message: 'string',
  timeout_ms: 'uint',
};
const EXECUTE_PIPELINE_SHAPE: ShapeFields = {
  policy_name: 'string',
  pipeline: { mode: MODE_ENUM, steps: [STEP_SHAPE] },
  mode: MODE_ENUM,
  messages: [{ role: 'string', content: 'string' }],
  response_text: 'string',
  context: { team_alias: 'string', key_alias: 'string', model: 'string', tags: 'string[]' },
  request_id: 'string',
};

function checkShape(v: unknown, shape: Shape, where: string): void {
  if (v === null || v === undefined) return; // proto3 JSON: null means the default
  if (typeof shape === 'string') return checkScalar(v, shape, where);
  if (isShapeList(shape)) {
    if (!Array.isArray(v)) throw new PdpError('INVALID_REQUEST', `${where} must be a list`);
    v.forEach((x: unknown, i) => checkShape(x, shape[0], `${where}[${i}]`));
    return;
  }
  if (typeof v !== 'object' || Array.isArray(v)) throw new PdpError('INVALID_REQUEST', `${where} must be a JSON object`);
  for (const [key, value] of Object.entries(v)) {
    const field = shape[key] ?? shape[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
    if (field === undefined)
      throw new PdpError('INVALID_REQUEST', `${where} has unknown field '${key}'; expected one of ${Object.keys(shape).join(', ')}`);
    checkShape(value, field, `${where}.${key}`);
  }
}

function isShapeList(shape: ShapeFields | readonly [ShapeFields]): shape is readonly [ShapeFields] {
  return Array.isArray(shape);
}

function checkScalar(v: unknown, type: string, where: string): void {
  if (type === 'string[]') return checkStringList(v, where);
  if (type.startsWith('enum:')) {
    const names = type.slice('enum:'.length).split('|');
    const isKnown = typeof v === 'string' ? names.includes(v) : Number.isInteger(v) && (v as number) >= 0 && (v as number) < names.length;
    if (!isKnown) throw new PdpError('INVALID_REQUEST', `${where} must be one of ${names.join(', ')}`);
    return;
  }
  const isOk = type === 'uint' ? Number.isSafeInteger(v) && (v as number) >= 0 : typeof v === type;
  if (!isOk) throw new PdpError('INVALID_REQUEST', `${where} must be ${type === 'uint' ? 'a whole number, 0 or more' : `a ${type}`}`);
}

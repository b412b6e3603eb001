import { PdpError } from '../errors.js';
import type { DocPath } from '../model/bundle.js';
import { ExecutePipelineRequest } from '../gen/guardrail/pdp/v1/pipeline.js';
import { ResolveRequest } from '../gen/guardrail/pdp/v1/resolve.js';

// The CLI's request input: proto3 JSON, as grpcurl takes it (snake_case or lowerCamelCase names).
// Every value is checked against the message's shape before the generated fromJSON reads it, which
// would otherwise drop unknown fields and coerce wrong types: a typo must never run a different
// request. Errors are INVALID_REQUEST naming the field under `where` (e.g. `--context`).

/**
 * A request value that does not fit the message's shape: INVALID_REQUEST, plus `path`, where the
 * value sits under the checked value (as written: snake_case or lowerCamelCase), so a caller that
 * knows where the request came from (a test suite's YAML) can point at it.
 */
export class RequestJsonError extends PdpError {
  constructor(
    message: string,
    readonly path: DocPath,
  ) {
    super('INVALID_REQUEST', message);
  }
}

/** A JSON value's expected shape: a scalar type, `enum:A|B` (names or their numbers), an object, or a list of one. */
type Shape = string | ShapeFields | readonly [ShapeFields];
interface ShapeFields {
  readonly [snakeName: string]: Shape;
}

const CONTEXT_SHAPE: ShapeFields = { team_alias: 'string', key_alias: 'string', model: 'string', tags: 'string[]' };
const RESOLVE_SHAPE: ShapeFields = {
  context: CONTEXT_SHAPE,
  request_policies: 'string[]',
  key_policies: 'string[]',
  team_policies: 'string[]',
};
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
  context: CONTEXT_SHAPE,
  request_id: 'string',
};

/** Parses a ResolveRequest from its proto3 JSON form. */
export function resolveRequestFromJson(json: unknown, where: string): ResolveRequest {
  checkShape(json, RESOLVE_SHAPE, where);
  return ResolveRequest.fromJSON(json);
}

/** Parses an ExecutePipelineRequest from its proto3 JSON form. */
export function executePipelineRequestFromJson(json: unknown, where: string): ExecutePipelineRequest {
  checkShape(json, EXECUTE_PIPELINE_SHAPE, where);
  return ExecutePipelineRequest.fromJSON(json);
}

/** True when a JSON object looks like a RequestContext rather than a whole ResolveRequest. */
export function isContextJson(json: unknown): boolean {
  return isObject(json) && Object.keys(json).every((key) => fieldOf(CONTEXT_SHAPE, key) !== undefined);
}

function checkShape(v: unknown, shape: Shape, where: string, path: DocPath = []): void {
  if (v === null || v === undefined) return; // proto3 JSON: null means the default
  if (typeof shape === 'string') return checkScalar(v, shape, where, path);
  if (isShapeList(shape)) {
    if (!Array.isArray(v)) throw new RequestJsonError(`${where} must be a list`, path);
    v.forEach((x: unknown, i) => checkShape(x, shape[0], `${where}[${i}]`, [...path, i]));
    return;
  }
  if (!isObject(v)) throw new RequestJsonError(`${where} must be a JSON object`, path);
  for (const [key, value] of Object.entries(v)) {
    const field = fieldOf(shape, key);
    if (field === undefined)
      throw new RequestJsonError(`${where} has unknown field '${key}'; expected one of ${Object.keys(shape).join(', ')}`, [...path, key]);
    checkShape(value, field, `${where}.${key}`, [...path, key]);
  }
}

/** A field's shape by its snake_case or lowerCamelCase name. */
function fieldOf(shape: ShapeFields, key: string): Shape | undefined {
  const snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return Object.hasOwn(shape, key) ? shape[key] : Object.hasOwn(shape, snake) ? shape[snake] : undefined;
}

function isShapeList(shape: ShapeFields | readonly [ShapeFields]): shape is readonly [ShapeFields] {
  return Array.isArray(shape);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkScalar(v: unknown, type: string, where: string, path: DocPath): void {
  if (type === 'string[]') {
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new RequestJsonError(`${where} must be a list of strings`, path);
    return;
  }
  if (type.startsWith('enum:')) {
    const names = type.slice('enum:'.length).split('|');
    const isKnown = typeof v === 'string' ? names.includes(v) : Number.isInteger(v) && (v as number) >= 0 && (v as number) < names.length;
    if (!isKnown) throw new RequestJsonError(`${where} must be one of ${names.join(', ')}`, path);
    return;
  }
  const isOk = type === 'uint' ? Number.isSafeInteger(v) && (v as number) >= 0 : typeof v === type;
  if (!isOk) throw new RequestJsonError(`${where} must be ${type === 'uint' ? 'a whole number, 0 or more' : `a ${type}`}`, path);
}

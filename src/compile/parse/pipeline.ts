import { describeValue } from '../../model/describe.js';
import type { DocPath } from '../../model/bundle.js';
import type { Action, PipelineMode, PipelineSpec, PipelineStepSpec } from '../../model/policy.js';
import { didYouMean, isMapping, type Bad, type ParseContext } from './context.js';

const STEP_KEYS = ['guardrail', 'on_fail', 'on_pass', 'pass_data', 'modify_response_message', 'on_error', 'timeout_ms'];
const ACTIONS: readonly Action[] = ['allow', 'block', 'modify_response', 'next'];
const MODES: readonly PipelineMode[] = ['post_call', 'pre_call'];
// LiteLLM prints sorted(...) of its sets in these messages.
const ACTION_LIST = `['allow', 'block', 'modify_response', 'next']`;
const MODE_LIST = `['post_call', 'pre_call']`;

/**
 * The `pipeline:` of policy `name`, as LiteLLM's pydantic models validate it: a mode and at least
 * one step. Problems go to `bad`; undefined when there are any. Frozen.
 */
export function parsePipeline(ctx: ParseContext, name: string, raw: unknown, bad: Bad): PipelineSpec | undefined {
  const path = ['policies', name, 'pipeline'];
  if (!isMapping(raw)) {
    bad(`pipeline must be a mapping with mode and steps, got ${describeValue(raw)}`, path);
    return undefined;
  }
  ctx.unknownKeys(raw, path, ['mode', 'steps'], `the pipeline of policy '${name}'`);
  let ok = true;
  const fail: Bad = (cause, at, atKey) => {
    bad(cause, at, atKey);
    ok = false;
  };
  // The config parser fills in pre_call; an explicit null is still not a string.
  const mode = Object.hasOwn(raw, 'mode') ? raw.mode : 'pre_call';
  if (typeof mode !== 'string') fail(`pipeline.mode must be a string, got ${describeValue(mode)}`, [...path, 'mode']);
  else if (!(MODES as readonly string[]).includes(mode)) fail(`pipeline.mode: Invalid mode '${mode}'. Must be one of: ${MODE_LIST}`, [...path, 'mode']);
  const steps = raw.steps;
  if (!Array.isArray(steps)) {
    fail(`pipeline.steps must be a list of at least 1 step, got ${describeValue(steps)}`, [...path, 'steps']);
    return undefined;
  }
  if (steps.length === 0) fail('pipeline.steps must have at least 1 step', [...path, 'steps']);
  const parsed = steps.map((s: unknown, i) => parseStep(s, i, [...path, 'steps', i], fail));
  if (!ok) return undefined;
  return Object.freeze({ mode: mode as PipelineMode, steps: Object.freeze(parsed as PipelineStepSpec[]) });
}

// Unknown step keys are errors, not warnings: the step model forbids extra inputs.
function parseStep(raw: unknown, i: number, path: DocPath, bad: Bad): PipelineStepSpec | undefined {
  const label = `pipeline.steps[${i}]`;
  if (!isMapping(raw)) {
    bad(`${label} must be a mapping with a guardrail, got ${describeValue(raw)}`, path);
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (STEP_KEYS.includes(key)) continue;
    bad(`${label}: unknown key '${key}' (Extra inputs are not permitted)${didYouMean(key, STEP_KEYS)}`, [...path, key], true);
  }
  const action = (key: 'on_fail' | 'on_pass' | 'on_error', fallback: Action | undefined): Action | undefined => {
    if (!Object.hasOwn(raw, key) || (key === 'on_error' && raw[key] === null)) return fallback;
    const v = raw[key];
    if (typeof v === 'string' && (ACTIONS as readonly string[]).includes(v)) return v as Action;
    if (typeof v !== 'string') bad(`${label}.${key} must be a string, got ${describeValue(v)}`, [...path, key]);
    else bad(`${label}.${key}: Invalid action '${v}'. Must be one of: ${ACTION_LIST}`, [...path, key]);
    return undefined;
  };
  const guardrail = raw.guardrail;
  if (guardrail === undefined) bad(`${label}.guardrail is required`, path);
  else if (typeof guardrail !== 'string') bad(`${label}.guardrail must be a string, got ${describeValue(guardrail)}`, [...path, 'guardrail']);
  const onFail = action('on_fail', 'block');
  const onPass = action('on_pass', 'allow');
  const onError = action('on_error', undefined);
  const passData = Object.hasOwn(raw, 'pass_data') ? pydanticBool(raw.pass_data) : false;
  if (passData === undefined) bad(`${label}.pass_data must be a boolean, got ${describeValue(raw.pass_data)}`, [...path, 'pass_data']);
  const message = raw.modify_response_message;
  if (message !== undefined && message !== null && typeof message !== 'string') {
    bad(`${label}.modify_response_message must be a string, got ${describeValue(message)}`, [...path, 'modify_response_message']);
  }
  const timeout = raw.timeout_ms;
  const isTimeoutOk = timeout === undefined || timeout === null || (Number.isSafeInteger(timeout) && (timeout as number) > 0);
  if (!isTimeoutOk) bad(`${label}.timeout_ms must be a positive integer (milliseconds), got ${describeValue(timeout)}`, [...path, 'timeout_ms']);
  if (typeof guardrail !== 'string' || !onFail || !onPass || passData === undefined) return undefined;
  return Object.freeze({
    guardrail,
    onPass,
    onFail,
    onError,
    passData,
    modifyResponseMessage: typeof message === 'string' ? message : undefined,
    timeoutMs: typeof timeout === 'number' ? timeout : undefined,
  });
}

/** pydantic v2's lax bool: true/false, 0/1, and the usual strings; undefined when it would fail. */
function pydanticBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  if (typeof v !== 'string') return undefined;
  const s = v.toLowerCase();
  if (['1', 'on', 't', 'true', 'y', 'yes'].includes(s)) return true;
  if (['0', 'off', 'f', 'false', 'n', 'no'].includes(s)) return false;
  return undefined;
}

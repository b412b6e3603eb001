import { describeValue } from '../../model/describe.js';
import type { DocPath } from '../../model/bundle.js';
import type { GuardrailSpec } from '../../model/policy.js';
import { isMapping, isStringList, type ParseContext } from './context.js';

/**
 * One entry of `guardrails:`, as LiteLLM's guardrail initialisation reads it: a guardrail_name and
 * litellm_params with a kind. Undefined (after reporting `invalid_bundle`) when it is unusable. Frozen.
 */
export function parseGuardrail(ctx: ParseContext, entry: unknown, i: number): GuardrailSpec | undefined {
  const path = ['guardrails', i];
  const bad = (message: string, at: DocPath): undefined => {
    ctx.error('invalid_bundle', message, at);
    return undefined;
  };
  if (!isMapping(entry)) {
    return bad(`guardrails[${i}] must be a mapping with guardrail_name and litellm_params, got ${describeValue(entry)}`, path);
  }
  const name = entry.guardrail_name;
  if (typeof name !== 'string' || name === '') {
    return bad(`guardrails[${i}] needs a guardrail_name (a non-empty string), got ${describeValue(name)}`, [...path, 'guardrail_name']);
  }
  const params = entry.litellm_params;
  if (!isMapping(params)) {
    return bad(`guardrail '${name}' needs litellm_params, a mapping with guardrail: <kind>, got ${describeValue(params)}`, [...path, 'litellm_params']);
  }
  const kind = params.guardrail;
  if (typeof kind !== 'string' || kind === '') {
    const message = `guardrail '${name}' needs litellm_params.guardrail (its kind, e.g. presidio), got ${describeValue(kind)}`;
    return bad(message, [...path, 'litellm_params', 'guardrail']);
  }
  const mode = params.mode;
  // A mapping is LiteLLM's tag-based Mode object: kept in params, not a plain mode.
  if (!(mode === undefined || mode === null || typeof mode === 'string' || isMapping(mode) || isStringList(mode))) {
    const message = `guardrail '${name}': litellm_params.mode must be a string or a list of strings, got ${describeValue(mode)}`;
    return bad(message, [...path, 'litellm_params', 'mode']);
  }
  return Object.freeze({
    index: i,
    name,
    kind,
    mode: typeof mode === 'string' ? mode : isStringList(mode) ? Object.freeze([...mode]) : undefined,
    params: Object.freeze({ ...params }),
  });
}

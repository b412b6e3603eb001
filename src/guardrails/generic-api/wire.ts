import { describeValue } from '../../model/describe.js';
import type { GuardrailInput, GuardrailVerdict } from '../../model/guardrail.js';

/** The path LiteLLM appends to `api_base` (unless `api_base` already ends with it). */
export const GENERIC_API_PATH = '/beta/litellm_basic_guardrail_api';

/** LiteLLM's reason when a BLOCKED answer has no (or an empty) `blocked_reason`. */
export const DEFAULT_BLOCKED_REASON = 'Content violates policy';

/** A vendor's `blocked_reason` is kept in `detail` up to this many UTF-16 units. */
export const MAX_BLOCKED_REASON_CHARS = 1000;

/**
 * The request body LiteLLM's `GenericGuardrailAPIRequest` sends, with every field it dumps (null
 * where the sidecar has nothing), so a vendor server written for LiteLLM reads it unchanged.
 * `request_data` holds only the fields that have a value, as LiteLLM's metadata dict does.
 */
export function genericApiRequestBody(input: GuardrailInput, additionalParams: Readonly<Record<string, unknown>>): string {
  const requestData: Record<string, string> = {};
  if (input.context.keyAlias !== undefined) requestData.user_api_key_alias = input.context.keyAlias;
  if (input.context.teamAlias !== undefined) requestData.user_api_key_team_alias = input.context.teamAlias;
  return JSON.stringify({
    input_type: input.inputType,
    litellm_call_id: input.requestId === '' ? null : input.requestId,
    litellm_trace_id: null,
    structured_messages:
      input.inputType === 'request' ? input.messages.map((m) => ({ role: m.role, content: m.content })) : null,
    images: null,
    tools: null,
    texts: input.texts,
    request_data: requestData,
    request_headers: null,
    litellm_version: null,
    additional_provider_specific_params: additionalParams,
    tool_calls: null,
    model: input.context.model ?? null,
  });
}

/**
 * Turns a parsed 2xx answer into a verdict: NONE passes, GUARDRAIL_INTERVENED passes with its
 * `texts` (which must be one string per input text), BLOCKED fails with its reason (capped).
 * Anything else is an `error` whose detail names the problem, never the body's text.
 * `where` names the API in details.
 */
export function genericApiVerdict(value: unknown, inputTextCount: number, where: string): GuardrailVerdict {
  const bad = (what: string): GuardrailVerdict => ({
    outcome: 'error',
    detail: `the guardrail API at ${where} answered with an unexpected shape: ${what}`,
  });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return bad(`expected a JSON object, got ${describeValue(value)}`);
  }
  const body = value as Record<string, unknown>;
  const action = body.action;
  if (typeof action !== 'string') return bad(`"action" must be a string, got ${describeValue(action)}`);
  switch (action) {
    case 'NONE':
      return { outcome: 'pass' };
    case 'BLOCKED': {
      const reason = body.blocked_reason;
      if (reason !== undefined && reason !== null && typeof reason !== 'string') {
        return bad(`"blocked_reason" must be a string, got ${describeValue(reason)}`);
      }
      return { outcome: 'fail', detail: capReason(reason || DEFAULT_BLOCKED_REASON) };
    }
    case 'GUARDRAIL_INTERVENED': {
      const texts = body.texts;
      if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) {
        return bad(`GUARDRAIL_INTERVENED needs "texts", an array of strings, got ${describeValue(texts)}`);
      }
      if (texts.length !== inputTextCount) {
        return bad(`GUARDRAIL_INTERVENED returned ${texts.length} texts for ${inputTextCount} input texts`);
      }
      return { outcome: 'pass', texts: Object.freeze([...(texts as string[])]) };
    }
    default:
      return {
        outcome: 'error',
        detail: `the guardrail API at ${where} answered with unknown action ${JSON.stringify(action.slice(0, 40))}; expected NONE, BLOCKED or GUARDRAIL_INTERVENED`,
      };
  }
}

function capReason(reason: string): string {
  if (reason.length <= MAX_BLOCKED_REASON_CHARS) return reason;
  let cut = reason.slice(0, MAX_BLOCKED_REASON_CHARS);
  // Do not leave half of a surrogate pair at the end.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

import { GUARDRAIL_KINDS } from '../../src/guardrails/index.js';
import type { GuardrailCheck, GuardrailInput, GuardrailVerdict } from '../../src/model/guardrail.js';
import type { ValidationMode } from '../../src/model/policy.js';

/** A problem a guardrail kind reported while compiling, with its path under litellm_params joined by dots. */
export interface Reported {
  readonly severity: string;
  readonly rule: string;
  readonly message: string;
  readonly path: string;
}

/** Compiles one guardrail of `kind` from its litellm_params (minus guardrail and mode), through the registry. */
export function buildGuardrail(
  kind: string,
  params: Record<string, unknown>,
  mode: ValidationMode = 'strict',
): { check: GuardrailCheck | undefined; issues: Reported[] } {
  const issues: Reported[] = [];
  const result = GUARDRAIL_KINDS.get(kind)?.compile(
    { index: 0, name: 'g', kind, mode: 'pre_call', params: { guardrail: kind, mode: 'pre_call', ...params } },
    { env: {}, mode, report: (severity, rule, message, path) => issues.push({ severity, rule, message, path: path.join('.') }) },
  );
  return { check: result?.check, issues };
}

/** The check of a guardrail that must compile; throws with its issues otherwise. */
export function checkOf(kind: string, params: Record<string, unknown>): GuardrailCheck {
  const { check, issues } = buildGuardrail(kind, params);
  if (check === undefined) throw new Error(`did not compile: ${issues.map((i) => i.message).join('; ')}`);
  return check;
}

/** Runs a synchronous check over texts, as a request's user messages or as a response. */
export function runSync(check: GuardrailCheck, texts: readonly string[], inputType: 'request' | 'response' = 'request'): GuardrailVerdict {
  const input: GuardrailInput = {
    inputType,
    texts,
    messages: inputType === 'request' ? texts.map((content) => ({ role: 'user', content })) : [],
    context: { teamAlias: undefined, keyAlias: undefined, model: undefined, tags: [] },
    requestId: '',
    signal: new AbortController().signal,
  };
  return check(input) as GuardrailVerdict;
}

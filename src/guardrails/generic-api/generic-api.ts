import { describeValue } from '../../model/describe.js';
import type { GuardrailSpec } from '../../model/policy.js';
import { createGenericApiCheck, type GenericApiTarget } from './check.js';
import { GENERIC_API_PATH } from './wire.js';
import type { GuardrailCompileContext, GuardrailKind } from '../kind.js';
import { createParamReporter, isAbsent, isMapping, warnUnknownKeys } from '../params.js';

/** `litellm_params.timeout` when unset, in seconds. */
export const DEFAULT_GENERIC_API_TIMEOUT_SECONDS = 5;
/** The longest `litellm_params.timeout` accepted, in seconds. */
export const MAX_GENERIC_API_TIMEOUT_SECONDS = 3600;

// Headers the HTTP client owns (undici rejects or overrides them): a configured one is a mistake.
const CLIENT_OWNED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect']);
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const OWN_KEYS = new Set(['api_base', 'api_key', 'headers', 'additional_provider_specific_params', 'timeout']);

/**
 * LiteLLM's Generic Guardrail API (`guardrail: generic_guardrail_api`): POSTs the texts to
 * `api_base` + `/beta/litellm_basic_guardrail_api` and follows the answer's `action`. Settings:
 * `api_base` (required, http or https), `api_key` (sent as `x-api-key`), `headers`,
 * `additional_provider_specific_params`, `timeout` (seconds, default 5); `os.environ/NAME` values
 * arrive resolved (guardrails/env-references.ts). Every bad setting is
 * reported, located under `litellm_params`; then no check is built. Other keys are warned about
 * (a typo there would silently do nothing).
 */
export const genericGuardrailApi: GuardrailKind = {
  kind: 'generic_guardrail_api',
  compile(spec, ctx) {
    const target = parseTarget(spec, ctx);
    if (target === undefined) return undefined;
    const observe = ctx.env.onHttpCall;
    const check = createGenericApiCheck(target, ctx.env.dispatcher, (seconds, result) =>
      observe?.('generic_guardrail_api', seconds, result),
    );
    return { check, timeoutMs: target.timeoutMs };
  },
};

function parseTarget(spec: GuardrailSpec, ctx: GuardrailCompileContext): GenericApiTarget | undefined {
  const report = createParamReporter(spec, ctx);
  const bad = (message: string, ...path: string[]): void => report.error(message, path);
  const p = spec.params;
  warnUnknownKeys(p, OWN_KEYS, [], report);

  // A missing api_base is reported at litellm_params, which has a location in the file.
  const isMissing = p.api_base === undefined || p.api_base === null || p.api_base === '';
  const url = parseApiBase(p.api_base, (m) => (isMissing ? bad(m) : bad(m, 'api_base')));

  // Content-Type first, then the configured headers, then api_key: later ones win, as in LiteLLM.
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (!isAbsent(p.headers)) {
    if (!isMapping(p.headers)) bad(`headers must be a mapping of header names to strings, got ${describeValue(p.headers)}`, 'headers');
    else {
      for (const [name, value] of Object.entries(p.headers)) {
        const problem = headerProblem(name, value);
        if (problem !== undefined) bad(problem, 'headers', name);
        else headers[name.toLowerCase()] = value as string;
      }
    }
  }
  if (!isAbsent(p.api_key)) {
    if (typeof p.api_key !== 'string' || p.api_key === '') bad(`api_key must be a non-empty string, got ${describeValue(p.api_key)}`, 'api_key');
    else if (!HEADER_VALUE.test(p.api_key)) bad('api_key contains characters not allowed in an HTTP header (line breaks or control characters)', 'api_key');
    else headers['x-api-key'] = p.api_key;
  }

  let additionalParams: Readonly<Record<string, unknown>> = Object.freeze({});
  const extra = p.additional_provider_specific_params;
  if (!isAbsent(extra)) {
    if (!isMapping(extra)) bad(`additional_provider_specific_params must be a mapping, got ${describeValue(extra)}`, 'additional_provider_specific_params');
    else additionalParams = Object.freeze({ ...extra });
  }

  let timeoutSeconds = DEFAULT_GENERIC_API_TIMEOUT_SECONDS;
  if (!isAbsent(p.timeout)) {
    const t = p.timeout;
    if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > MAX_GENERIC_API_TIMEOUT_SECONDS) {
      bad(`timeout must be a number of seconds above 0 and at most ${MAX_GENERIC_API_TIMEOUT_SECONDS}, got ${typeof t === 'number' ? t : describeValue(t)}`, 'timeout');
    } else timeoutSeconds = t;
  }

  if (report.hasErrors || url === undefined) return undefined;
  return Object.freeze({ url, headers: Object.freeze(headers), additionalParams, timeoutMs: Math.max(1, Math.round(timeoutSeconds * 1000)) });
}

/** The endpoint URL, as LiteLLM builds it: api_base without trailing slashes, plus the API path. */
function parseApiBase(value: unknown, bad: (message: string) => void): string | undefined {
  const problem = apiBaseProblem(value);
  if (problem !== undefined) {
    bad(problem);
    return undefined;
  }
  const base = value as string;
  return base.endsWith(GENERIC_API_PATH) ? base : `${base.replace(/\/+$/, '')}${GENERIC_API_PATH}`;
}

function apiBaseProblem(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') {
    return 'api_base is required: the http(s) URL of the guardrail API (the sidecar does not read GENERIC_GUARDRAIL_API_BASE)';
  }
  if (typeof value !== 'string') return `api_base must be a URL string, got ${describeValue(value)}`;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return `api_base ${JSON.stringify(value)} is not a valid URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `api_base must be an http or https URL, got the scheme ${JSON.stringify(parsed.protocol.slice(0, -1))}`;
  }
  // The URL ends up in error details and logs: credentials belong in headers or api_key.
  if (parsed.username !== '' || parsed.password !== '') return 'api_base must not contain credentials; use api_key or headers';
  // LiteLLM appends the path to the string, which would land inside a query or fragment.
  if (value.includes('?') || value.includes('#')) return 'api_base must not have a query or fragment (LiteLLM appends the API path to it)';
  return undefined;
}

function headerProblem(name: string, value: unknown): string | undefined {
  if (!HTTP_TOKEN.test(name)) return `header name ${JSON.stringify(name)} is not a valid HTTP header name`;
  if (CLIENT_OWNED_HEADERS.has(name.toLowerCase())) return `header ${JSON.stringify(name)} is set by the HTTP client and cannot be configured`;
  if (typeof value !== 'string') return `header ${JSON.stringify(name)} must be a string, got ${describeValue(value)}`;
  if (!HEADER_VALUE.test(value)) return `header ${JSON.stringify(name)} contains characters not allowed in an HTTP header (line breaks or control characters)`;
  return undefined;
}

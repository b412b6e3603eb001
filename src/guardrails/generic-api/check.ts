import type { Dispatcher } from 'undici';
import type { GuardrailCheck, GuardrailInput, GuardrailVerdict } from '../../model/guardrail.js';
import { genericApiRequestBody, genericApiVerdict } from './wire.js';
import { postJson, type JsonPostResult } from './post-json.js';

/** A validated generic_guardrail_api configuration: everything a call needs, computed once. */
export interface GenericApiTarget {
  /** The full endpoint: api_base plus LiteLLM's path. */
  readonly url: string;
  /** Content-Type, the configured headers and x-api-key, merged by lower-cased name. Frozen. */
  readonly headers: Readonly<Record<string, string>>;
  readonly additionalParams: Readonly<Record<string, unknown>>;
  readonly timeoutMs: number;
}

/** How the check reports each call: to GuardrailEnv.onHttpCall. */
export type HttpCallObserver = (seconds: number, result: 'ok' | 'error' | 'timeout') => void;

/** The response body cap: at least 1 MiB, more for big requests (masked texts come back whole). */
export const MIN_RESPONSE_CAP_BYTES = 1024 * 1024;
/** The response body cap as a multiple of the request body's size, when that is more than 1 MiB. */
export const RESPONSE_CAP_REQUEST_MULTIPLE = 4;

/**
 * The check for one generic_guardrail_api guardrail. Each call POSTs once and ends when the answer
 * is read, when `timeoutMs` passes, or when `input.signal` aborts, whichever is first; no timer or
 * listener outlives the call. Details name the endpoint and what went wrong, never request or
 * response text (except a BLOCKED answer's own reason). `observe` sees every call once.
 */
export function createGenericApiCheck(
  target: GenericApiTarget,
  dispatcher: Dispatcher | undefined,
  observe: HttpCallObserver,
): GuardrailCheck {
  return async (input: GuardrailInput): Promise<GuardrailVerdict> => {
    const started = performance.now();
    const { verdict, result } = await call(target, dispatcher, input);
    try {
      observe((performance.now() - started) / 1000, result);
    } catch {
      // An observer's failure must not change the verdict.
    }
    return verdict;
  };
}

async function call(
  target: GenericApiTarget,
  dispatcher: Dispatcher | undefined,
  input: GuardrailInput,
): Promise<{ verdict: GuardrailVerdict; result: 'ok' | 'error' | 'timeout' }> {
  const body = genericApiRequestBody(input, target.additionalParams);
  const maxResponseBytes = Math.max(MIN_RESPONSE_CAP_BYTES, RESPONSE_CAP_REQUEST_MULTIPLE * Buffer.byteLength(body));
  // One controller for both ends of the call's time: our own timeout and the caller's signal.
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, target.timeoutMs);
  const forward = (): void => controller.abort();
  if (input.signal.aborted) controller.abort();
  else input.signal.addEventListener('abort', forward, { once: true });
  let res: JsonPostResult;
  try {
    res = await postJson({ url: target.url, headers: target.headers, body, dispatcher, signal: controller.signal, maxResponseBytes });
  } finally {
    clearTimeout(timer);
    input.signal.removeEventListener('abort', forward);
  }
  const at = target.url;
  switch (res.kind) {
    case 'json': {
      const verdict = genericApiVerdict(res.value, input.texts.length, at);
      return { verdict, result: verdict.outcome === 'error' ? 'error' : 'ok' };
    }
    case 'aborted': {
      const detail = timedOut
        ? `no answer from the guardrail API at ${at} within ${target.timeoutMs} ms (litellm_params.timeout)`
        : `the call to the guardrail API at ${at} was cancelled: the step's time is up`;
      return { verdict: { outcome: 'error', detail }, result: 'timeout' };
    }
    case 'status':
      return error(`the guardrail API at ${at} answered HTTP ${res.status}; expected 2xx`);
    case 'too_large':
      return error(`the guardrail API at ${at} sent a response over ${maxResponseBytes} bytes; stopped reading it`);
    case 'not_json':
      return error(`the guardrail API at ${at} answered HTTP ${res.status} with a body that is not JSON`);
    case 'network':
      return error(`cannot reach the guardrail API at ${at}: ${networkReason(res.code)}`);
  }
}

function error(detail: string): { verdict: GuardrailVerdict; result: 'error' } {
  return { verdict: { outcome: 'error', detail }, result: 'error' };
}

const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  UND_ERR_SOCKET: 'the connection closed before a complete answer',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'the response body stalled',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the TLS certificate does not match the host',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the TLS certificate cannot be verified',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the TLS certificate is self-signed',
  CERT_HAS_EXPIRED: 'the TLS certificate has expired',
};

function networkReason(code: string): string {
  const reason = NETWORK_REASONS[code];
  return reason === undefined ? `request failed (${code})` : `${reason} (${code})`;
}

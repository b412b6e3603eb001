import type { Dispatcher } from 'undici';
import { loadUndici } from './http-pool.js';

/** One JSON POST to a remote guardrail. */
export interface JsonPostRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON text to send. */
  readonly body: string;
  /** The keep-alive pool; undici's global dispatcher when undefined. */
  readonly dispatcher: Dispatcher | undefined;
  /** Aborting it ends the call (connecting, waiting or reading) at once. */
  readonly signal: AbortSignal;
  /** Reading stops, and the response stream is destroyed, past this many body bytes. */
  readonly maxResponseBytes: number;
}

/**
 * How a JSON POST ended. Never carries the response body's text (it may echo the prompt), only
 * the parsed value of a 2xx JSON answer.
 */
export type JsonPostResult =
  | { readonly kind: 'json'; readonly status: number; readonly value: unknown }
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'too_large'; readonly status: number }
  | { readonly kind: 'not_json'; readonly status: number }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'network'; readonly code: string };

// Error responses are read this far so the connection can be reused; bigger ones are dropped.
const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * POSTs JSON and reads a JSON answer. Never throws: every failure is a result. Every response
 * body is consumed or destroyed, so a kept-alive connection is either reusable or closed.
 */
export async function postJson(req: JsonPostRequest): Promise<JsonPostResult> {
  if (req.signal.aborted) return { kind: 'aborted' };
  let res: Dispatcher.ResponseData;
  try {
    res = await loadUndici().request(req.url, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      dispatcher: req.dispatcher,
      signal: req.signal,
    });
  } catch (err) {
    return failure(err, req.signal);
  }
  const status = res.statusCode;
  if (status < 200 || status > 299) {
    await res.body.dump({ limit: DRAIN_LIMIT_BYTES, signal: req.signal }).catch(() => undefined);
    return { kind: 'status', status };
  }
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > req.maxResponseBytes) {
    res.body.destroy();
    return { kind: 'too_large', status };
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > req.maxResponseBytes) {
        res.body.destroy();
        return { kind: 'too_large', status };
      }
      chunks.push(chunk);
    }
  } catch (err) {
    res.body.destroy();
    return failure(err, req.signal);
  }
  try {
    return { kind: 'json', status, value: JSON.parse(Buffer.concat(chunks, total).toString('utf8')) as unknown };
  } catch {
    return { kind: 'not_json', status };
  }
}

function failure(err: unknown, signal: AbortSignal): JsonPostResult {
  if (signal.aborted) return { kind: 'aborted' };
  return { kind: 'network', code: errorCode(err) };
}

/** The error's code (undici's or the socket's), never its message: messages may quote anything. */
function errorCode(err: unknown): string {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return 'UNKNOWN';
}

import {
  status,
  type MethodDefinition,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';

/** Default cap on decision API calls in flight: far above a gateway pod's concurrency, small enough to bound memory. */
export const DEFAULT_MAX_IN_FLIGHT = 2048;

/**
 * Admission control for one server: unary calls in flight plus open server streams, capped at
 * `maxInFlight`. A call is in flight from its arrival (grpc-js has parsed its headers; see
 * CallInterceptor) to its status, so calls still waiting inside grpc-js for their message count
 * too. Beyond the cap a new call fails fast with RESOURCE_EXHAUSTED instead of queueing, so memory
 * stays bounded however hard clients push.
 */
export class CallLimiter {
  readonly maxInFlight: number;
  #unary = 0;
  #streams = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(maxInFlight: number = DEFAULT_MAX_IN_FLIGHT) {
    this.maxInFlight = maxInFlight;
  }

  /** Unary calls admitted and not yet answered. */
  get unaryInFlight(): number {
    return this.#unary;
  }

  /** Server streams (Watch) open. */
  get openStreams(): number {
    return this.#streams;
  }

  /** Whether one more call fits under the cap. */
  get hasRoom(): boolean {
    return this.#unary + this.#streams < this.maxInFlight;
  }

  /** Resolves once no unary call is in flight (at once if none is). */
  whenUnaryIdle(): Promise<void> {
    if (this.#unary === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** @internal Called by the interceptor. */
  enter(isStream: boolean): void {
    if (isStream) this.#streams++;
    else this.#unary++;
  }

  /** @internal Called by the interceptor, once per `enter`. */
  leave(isStream: boolean): void {
    if (isStream) return void this.#streams--;
    if (--this.#unary > 0 || this.#idleWaiters.length === 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}

/** The refusal of a call whose deadline passed before its handler could start. */
export const LATE = Object.freeze({
  code: status.DEADLINE_EXCEEDED,
  details: 'the deadline passed before the call started; nothing was done',
});

/**
 * Why a call must not start, or undefined if it may: its deadline has already passed
 * (DEADLINE_EXCEEDED, no work done) or the server is at its cap (RESOURCE_EXHAUSTED).
 */
export function refusal(deadlineMs: number, limiter: CallLimiter): { code: status; details: string } | undefined {
  // No deadline (Infinity) skips the clock read.
  if (deadlineMs !== Infinity && deadlineMs <= Date.now()) return LATE;
  if (!limiter.hasRoom)
    return {
      code: status.RESOURCE_EXHAUSTED,
      details: `the sidecar is at its limit of ${limiter.maxInFlight} calls in flight; retry with backoff`,
    };
  return undefined;
}

/**
 * Wraps a service's unary handlers once, at registration, so a handler that throws (a bug) is
 * logged and answered INTERNAL "internal error" (grpc-js would put the exception's message on the
 * wire). Adds no allocation per call. Other handlers pass through unchanged.
 */
export function guardService<T extends UntypedServiceImplementation>(definition: ServiceDefinition, impl: T, log: Logger): T {
  const out: UntypedServiceImplementation = { ...impl };
  for (const [name, def] of Object.entries(definition) as [string, MethodDefinition<unknown, unknown>][]) {
    // grpc-js finds a handler by the definition's key or, for proto-loader definitions, its originalName.
    const key = name in impl ? name : def.originalName;
    const handler = key === undefined ? undefined : impl[key];
    if (key === undefined || handler === undefined || def.requestStream || def.responseStream) continue;
    const fn = handler as (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void;
    out[key] = ((call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
      try {
        fn(call, callback);
      } catch (e) {
        log.error({ err: e, method: def.path }, 'handler threw');
        callback({ code: status.INTERNAL, details: 'internal error' });
      }
    }) as UntypedHandleCall;
  }
  return out as T;
}

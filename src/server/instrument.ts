import {
  status,
  type MethodDefinition,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { GrpcMethodMetrics, GrpcServerMetrics, GrpcType } from '../metrics/grpc-server.js';

/** Default cap on decision API calls in flight: far above a gateway pod's concurrency, small enough to bound memory. */
export const DEFAULT_MAX_IN_FLIGHT = 2048;

/**
 * Admission control for one server: unary calls in flight plus open server streams, capped at
 * `maxInFlight`. Beyond the cap a new call fails fast with RESOURCE_EXHAUSTED instead of queueing,
 * so memory stays bounded however hard clients push.
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

  /** @internal Called by the wrapper. */
  enter(isStream: boolean): void {
    if (isStream) this.#streams++;
    else this.#unary++;
  }

  /** @internal Called by the wrapper, once per `enter`. */
  leave(isStream: boolean): void {
    if (isStream) return void this.#streams--;
    if (--this.#unary > 0 || this.#idleWaiters.length === 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}

export interface InstrumentOptions {
  readonly metrics: GrpcServerMetrics;
  /** Admission control; without it calls are only measured (the health service: probes must never be shed). */
  readonly limiter?: CallLimiter;
  /** Where a handler that throws (a bug) is reported. */
  readonly log: Logger;
}

/**
 * Wraps a service implementation once, at registration: every unary and server-streaming handler
 * records the standard gRPC series (started, handled by code, handling seconds; a stream is handled
 * when it ends). With a limiter, a call is refused before its handler runs when its deadline has
 * already passed (DEADLINE_EXCEEDED, no work done) or the server is at its cap (RESOURCE_EXHAUSTED).
 * Client- and bidi-streaming handlers pass through unchanged.
 */
export function instrumentService<T extends UntypedServiceImplementation>(
  definition: ServiceDefinition,
  impl: T,
  opts: InstrumentOptions,
): T {
  const out: UntypedServiceImplementation = { ...impl };
  for (const [name, def] of Object.entries(definition) as [string, MethodDefinition<unknown, unknown>][]) {
    // grpc-js finds a handler by the definition's key or, for proto-loader definitions, its originalName.
    const key = name in impl ? name : def.originalName;
    const handler = key === undefined ? undefined : impl[key];
    if (key === undefined || handler === undefined || def.requestStream) continue;
    const type: GrpcType = def.responseStream ? 'server_stream' : 'unary';
    const m = opts.metrics.method(type, def.path);
    out[key] = (def.responseStream ? wrapServerStream : wrapUnary)(handler, m, opts) as UntypedHandleCall;
  }
  return out as T;
}

function wrapUnary(handler: UntypedHandleCall, m: GrpcMethodMetrics, { limiter, log }: InstrumentOptions) {
  const fn = handler as (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void;
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
    m.started();
    const refusal = limiter === undefined ? undefined : refuse(call.getDeadline(), limiter);
    if (refusal !== undefined) {
      m.handled(refusal.code, 0);
      return callback(refusal);
    }
    limiter?.enter(false);
    const t0 = performance.now();
    let isDone = false;
    const done: sendUnaryData<unknown> = (err, value, trailer, flags) => {
      if (!isDone) {
        isDone = true;
        limiter?.leave(false);
        m.handled(!err ? status.OK : (err.code ?? status.UNKNOWN), (performance.now() - t0) / 1000);
      }
      callback(err, value, trailer, flags);
    };
    try {
      fn(call, done);
    } catch (e) {
      // A handler that throws is a bug; answer INTERNAL rather than leave the call and its slot hanging.
      log.error({ err: e, method: m.labels.grpc_method }, 'handler threw');
      done({ code: status.INTERNAL, details: 'internal error' });
    }
  };
}

function wrapServerStream(handler: UntypedHandleCall, m: GrpcMethodMetrics, { limiter }: InstrumentOptions) {
  const fn = handler as (call: ServerWritableStream<unknown, unknown>) => void;
  return (call: ServerWritableStream<unknown, unknown>): void => {
    m.started();
    const refusal = limiter === undefined ? undefined : refuse(call.getDeadline(), limiter);
    if (refusal !== undefined) {
      m.handled(refusal.code, 0);
      call.emit('error', refusal); // grpc-js turns an emitted error into the call's status
      return;
    }
    limiter?.enter(true);
    const t0 = performance.now();
    let code: number = status.OK;
    let isDone = false;
    const finish = (final: number): void => {
      if (isDone) return;
      isDone = true;
      limiter?.leave(true);
      m.handled(final, (performance.now() - t0) / 1000);
    };
    // grpc-js answers an emitted error by calling end(); listen first so the code is known by then.
    call.prependListener('error', (e: { code?: number }) => (code = e.code ?? status.UNKNOWN));
    const end = call.end.bind(call);
    call.end = ((...args: Parameters<typeof end>) => {
      finish(code);
      return end(...args);
    }) as typeof call.end;
    // grpc-js also emits 'cancelled' after a normal end; the first of the two wins.
    call.on('cancelled', () => finish(status.CANCELLED));
    fn(call);
  };
}

/** Why a call must not start, or undefined if it may. */
function refuse(deadline: Date | number, limiter: CallLimiter): { code: status; details: string } | undefined {
  const deadlineMs = typeof deadline === 'number' ? deadline : deadline.getTime();
  // No deadline (Infinity) skips the clock read.
  if (deadlineMs !== Infinity && deadlineMs <= Date.now())
    return { code: status.DEADLINE_EXCEEDED, details: 'the deadline passed before the call started; nothing was done' };
  if (!limiter.hasRoom)
    return {
      code: status.RESOURCE_EXHAUSTED,
      details: `the sidecar is at its limit of ${limiter.maxInFlight} calls in flight; retry with backoff`,
    };
  return undefined;
}

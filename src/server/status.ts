import {
  status,
  type MethodDefinition,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type StatusObject,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { deadlinePassed, notReady, PdpError, type PdpErrorCode } from '../errors.js';

const GRPC: Record<PdpErrorCode, status> = {
  INVALID_REQUEST: status.INVALID_ARGUMENT,
  UNKNOWN_POLICY: status.NOT_FOUND,
  NOT_READY: status.UNAVAILABLE,
  OVERLOADED: status.RESOURCE_EXHAUSTED,
  DEADLINE_PASSED: status.DEADLINE_EXCEEDED,
  BUNDLE_INVALID: status.FAILED_PRECONDITION,
  SOURCE_UNAVAILABLE: status.UNAVAILABLE,
  INVALID_CONFIG: status.FAILED_PRECONDITION,
  INTERNAL: status.INTERNAL,
};

/** A status as grpc-js sends it: a code and details. */
export type WireStatus = Readonly<Pick<StatusObject, 'code' | 'details'>>;

/**
 * The only place that maps errors to gRPC statuses: every error the decision API sends goes through
 * here. The message goes on the wire; the cause goes to the log only, and only for INTERNAL errors
 * (bugs), when a logger is given.
 */
export function toStatus(e: unknown, log?: Logger): WireStatus {
  const err = PdpError.from(e);
  if (err.code === 'INTERNAL') log?.error({ err: err.cause ?? err }, 'internal error');
  return { code: GRPC[err.code], details: err.message };
}

/** Statuses the hot path sends as they are, made once: no allocation per refused call. */
export const STATUS = Object.freeze({
  NOT_READY: Object.freeze(toStatus(notReady())),
  DEADLINE_PASSED: Object.freeze(toStatus(deadlinePassed())),
  INTERNAL: Object.freeze(toStatus(PdpError.from(undefined))),
});

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
        callback(STATUS.INTERNAL);
      }
    }) as UntypedHandleCall;
  }
  return out as T;
}

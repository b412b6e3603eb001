import { status, type StatusObject } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { PdpError, type PdpErrorCode } from '../errors.js';

const GRPC: Record<PdpErrorCode, status> = {
  INVALID_REQUEST: status.INVALID_ARGUMENT,
  UNKNOWN_POLICY: status.NOT_FOUND,
  NOT_READY: status.UNAVAILABLE,
  GUARDRAIL_TIMEOUT: status.DEADLINE_EXCEEDED,
  GUARDRAIL_FAILED: status.INTERNAL,
  BUNDLE_INVALID: status.FAILED_PRECONDITION,
  SOURCE_UNAVAILABLE: status.UNAVAILABLE,
  INVALID_CONFIG: status.FAILED_PRECONDITION,
  INTERNAL: status.INTERNAL,
};

/**
 * The only place that maps errors to gRPC statuses. The message goes on the wire; the cause goes
 * to the log only (and only for INTERNAL errors, which are bugs).
 */
export function toStatus(e: unknown, log: Logger): Partial<StatusObject> {
  const err = PdpError.from(e);
  if (err.code === 'INTERNAL') log.error({ err: err.cause ?? err }, 'internal error');
  return { code: GRPC[err.code], details: err.message };
}

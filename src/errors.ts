import type { Issue } from './model/issue.js';

/**
 * The closed set of reasons the PDP could not do what was asked. Each maps to one gRPC status in
 * server/status.ts, the only place that knows gRPC codes; a new wire status starts here.
 */
export type PdpErrorCode =
  /** The request is malformed or out of bounds (INVALID_ARGUMENT); the message names the field. */
  | 'INVALID_REQUEST'
  /** The request names a policy the active snapshot does not have (NOT_FOUND). */
  | 'UNKNOWN_POLICY'
  /** No snapshot is active yet (UNAVAILABLE). */
  | 'NOT_READY'
  /** The server is at its cap of calls in flight (RESOURCE_EXHAUSTED). */
  | 'OVERLOADED'
  /** The call's deadline passed before its work could start (DEADLINE_EXCEEDED). */
  | 'DEADLINE_PASSED'
  /** A bundle that does not compile (FAILED_PRECONDITION); carries its issues. */
  | 'BUNDLE_INVALID'
  /** A source that cannot be read (UNAVAILABLE). */
  | 'SOURCE_UNAVAILABLE'
  /** A bad configuration (FAILED_PRECONDITION). */
  | 'INVALID_CONFIG'
  /** A bug (INTERNAL): the message is generic, the cause goes to the log. */
  | 'INTERNAL';

/**
 * The one error type of the PDP. `message` is safe to show a caller (never prompt text);
 * `cause` is for the log only.
 */
export class PdpError extends Error {
  override readonly name = 'PdpError';
  readonly issues: readonly Issue[];

  constructor(
    readonly code: PdpErrorCode,
    message: string,
    options?: { cause?: unknown; issues?: readonly Issue[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.issues = options?.issues ?? [];
  }

  /** Wraps anything thrown into a PdpError; unknown errors become INTERNAL with a generic message. */
  static from(e: unknown): PdpError {
    return e instanceof PdpError ? e : new PdpError('INTERNAL', 'internal error', { cause: e });
  }
}

/** The answer before the first activation, with what to do. */
export function notReady(): PdpError {
  return new PdpError('NOT_READY', 'no policy snapshot is active yet; retry once the sidecar reports SERVING');
}

/** The refusal of a call beyond the cap of calls in flight. */
export function overloaded(maxInFlight: number): PdpError {
  return new PdpError('OVERLOADED', `the sidecar is at its limit of ${maxInFlight} calls in flight; retry with backoff`);
}

/** The refusal of a call whose deadline passed before its handler could start. */
export function deadlinePassed(): PdpError {
  return new PdpError('DEADLINE_PASSED', 'the deadline passed before the call started; nothing was done');
}

import type { Issue } from './model/issue.js';

/** The closed set of reasons the PDP could not do what was asked. Mapped to gRPC once, in server/status.ts. */
export type PdpErrorCode =
  | 'INVALID_REQUEST'
  | 'UNKNOWN_POLICY'
  | 'NOT_READY'
  | 'GUARDRAIL_TIMEOUT'
  | 'GUARDRAIL_FAILED'
  | 'BUNDLE_INVALID'
  | 'SOURCE_UNAVAILABLE'
  | 'INVALID_CONFIG'
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

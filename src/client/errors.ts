import { status, type ServiceError } from '@grpc/grpc-js';

/** gRPC status codes, by name (grpc-js's `status` enum), re-exported so callers need no grpc-js import. */
export { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * The one error the client raises: the call's gRPC status `code` (a number of `GrpcStatus`), its
 * name (`codeName`, e.g. `UNAVAILABLE`) and the server's `details`. A decision is never an error
 * (a blocked prompt is an ExecutePipeline answer); this means no answer could be had.
 */
export class PdpClientError extends Error {
  override readonly name = 'PdpClientError';
  readonly code: status;
  readonly codeName: string;
  readonly details: string;

  constructor(code: status, details: string, options?: { cause?: unknown }) {
    const codeName = status[code] ?? `CODE_${code}`;
    super(`${codeName}: ${details}`, options);
    this.code = code;
    this.codeName = codeName;
    this.details = details;
  }
}

/** A grpc-js error (or anything thrown) as a PdpClientError; an unexpected error becomes UNKNOWN. */
export function toClientError(e: unknown): PdpClientError {
  if (e instanceof PdpClientError) return e;
  if (isServiceError(e)) return new PdpClientError(e.code, e.details, { cause: e });
  return new PdpClientError(status.UNKNOWN, e instanceof Error ? e.message : String(e), { cause: e });
}

function isServiceError(e: unknown): e is ServiceError {
  return e instanceof Error && typeof (e as Partial<ServiceError>).code === 'number' && typeof (e as Partial<ServiceError>).details === 'string';
}

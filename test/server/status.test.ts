import { Writable } from 'node:stream';
import { status, type sendUnaryData, type StatusObject } from '@grpc/grpc-js';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { PdpError, type PdpErrorCode } from '../../src/errors.js';
import { guardService, toStatus } from '../../src/server/status.js';

function capture(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino({ level: 'error' }, new Writable({ write: (chunk, _e, cb) => void (lines.push(String(chunk)), cb()) }));
  return { log, lines };
}

const method = (path: string) => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: (x: unknown) => Buffer.from(String(x)),
  requestDeserialize: (b: Buffer) => b.toString(),
  responseSerialize: (x: unknown) => Buffer.from(String(x)),
  responseDeserialize: (b: Buffer) => b.toString(),
});

describe('toStatus', () => {
  it('maps every error code to its gRPC status, with the message as details', () => {
    const expected: Record<PdpErrorCode, status> = {
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
    for (const [code, grpc] of Object.entries(expected)) {
      expect(toStatus(new PdpError(code as PdpErrorCode, `m ${code}`))).toEqual({ code: grpc, details: `m ${code}` });
    }
  });

  it('answers anything else INTERNAL "internal error" and logs its cause, never putting it on the wire', () => {
    const { log, lines } = capture();
    expect(toStatus(new Error('secret prompt text'), log)).toEqual({ code: status.INTERNAL, details: 'internal error' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('internal error');
  });
});

describe('guardService', () => {
  it('answers INTERNAL "internal error" and logs when a unary handler throws, never the exception text', async () => {
    const { log, lines } = capture();
    const impl = guardService(
      { ask: method('/test.v1.Svc/Ask') },
      {
        ask: () => {
          throw new Error('secret prompt text');
        },
      } as never,
      log,
    ) as unknown as { ask: (call: unknown, cb: sendUnaryData<unknown>) => void };
    const err = await new Promise<Partial<StatusObject> | null>((resolve) => impl.ask({}, (e) => resolve(e)));
    expect(err).toEqual({ code: status.INTERNAL, details: 'internal error' });
    expect(lines.some((l) => l.includes('handler threw') && l.includes('/test.v1.Svc/Ask'))).toBe(true);
  });
});

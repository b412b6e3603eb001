import { connect, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';

/** A status as read from a call's trailers. */
export interface RawStatus {
  readonly code: number;
  readonly details: string;
}

/**
 * One unary gRPC call over raw HTTP/2: `message` is sent as one frame exactly as given, with any
 * extra headers (e.g. a `grpc-timeout` the grpc-js client would never send). Resolves to the
 * status code and message from the trailers.
 */
export async function rawUnary(address: string, path: string, message: Uint8Array, headers: OutgoingHttpHeaders = {}): Promise<RawStatus> {
  const session = rawSession(address);
  try {
    return await session.unary(path, message, headers);
  } finally {
    session.close();
  }
}

/** One HTTP/2 connection for many raw unary calls (see rawUnary). */
export function rawSession(address: string): {
  unary(path: string, message: Uint8Array, headers?: OutgoingHttpHeaders): Promise<RawStatus>;
  close(): void;
} {
  const session: ClientHttp2Session = connect(`http://${address}`);
  let failure: Error | undefined;
  session.on('error', (e) => (failure = e));
  return {
    unary(path, message, headers = {}) {
      return new Promise((resolve, reject) => {
        if (failure !== undefined) return reject(failure);
        const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
        const frame = Buffer.alloc(5 + message.length);
        frame.writeUInt32BE(message.length, 1);
        Buffer.from(message).copy(frame, 5);
        let received: Record<string, unknown> = {};
        req.on('response', (h) => (received = { ...h }));
        req.on('trailers', (t) => (received = { ...received, ...t }));
        req.on('error', reject);
        req.resume();
        req.on('close', () =>
          resolve({ code: Number(received['grpc-status']), details: decodeURIComponent(String(received['grpc-message'] ?? '')) }),
        );
        req.end(frame);
      });
    },
    close() {
      session.close();
    },
  };
}

import { connect, type OutgoingHttpHeaders } from 'node:http2';

/**
 * One unary gRPC call over raw HTTP/2: `message` is sent as one frame exactly as given, with any
 * extra headers (e.g. a `grpc-timeout` the grpc-js client would never send). Resolves to the
 * status code and message from the trailers.
 */
export function rawUnary(
  address: string,
  path: string,
  message: Uint8Array,
  headers: OutgoingHttpHeaders = {},
): Promise<{ code: number; details: string }> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://${address}`);
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    Buffer.from(message).copy(frame, 5);
    let received: Record<string, unknown> = {};
    req.on('response', (h) => (received = { ...h }));
    req.on('trailers', (t) => (received = { ...received, ...t }));
    req.resume();
    req.on('close', () => {
      session.close();
      resolve({ code: Number(received['grpc-status']), details: decodeURIComponent(String(received['grpc-message'] ?? '')) });
    });
    req.end(frame);
  });
}

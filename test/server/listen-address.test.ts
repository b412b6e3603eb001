import { describe, expect, it } from 'vitest';
import { isLoopback, listenRefusal, parseListenAddress } from '../../src/server/listen-address.js';

const tcp = (host: string) => ({ kind: 'tcp' as const, host, port: 50051 });

describe('isLoopback', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST'])('is true for %s', (host) => {
    expect(isLoopback(tcp(host))).toBe(true);
  });

  it.each(['0.0.0.0', '::', '10.0.0.5', '128.0.0.1', '::ffff:10.0.0.1', 'fe80::1', 'pdp.example.com', 'localhost.example.com'])(
    'is false for %s',
    (host) => {
      expect(isLoopback(tcp(host))).toBe(false);
    },
  );

  it('is true for a Unix socket', () => {
    expect(isLoopback(parseListenAddress('unix:///run/pdp.sock', '--listen'))).toBe(true);
  });
});

describe('listenRefusal', () => {
  it('refuses plaintext on a non-loopback address, naming the way out', () => {
    const reason = listenRefusal(tcp('0.0.0.0'), false, false);
    expect(reason).toContain('--listen: 0.0.0.0:50051 is not a loopback address');
    expect(reason).toContain('--tls-cert');
    expect(reason).toContain('--insecure-listen');
  });

  it('allows TLS, an explicit --insecure-listen, or loopback', () => {
    expect(listenRefusal(tcp('0.0.0.0'), true, false)).toBeUndefined();
    expect(listenRefusal(tcp('0.0.0.0'), false, true)).toBeUndefined();
    expect(listenRefusal(tcp('127.0.0.1'), false, false)).toBeUndefined();
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createServer, type Socket } from 'node:net';
import { HttpPool, MAX_CONNECTIONS_PER_ORIGIN } from '../../../src/guardrails/generic-api/http-pool.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

// Serves a bundle from the built app in a fresh process and reports whether undici was loaded.
const probe = (bundle: string): boolean => {
  const script = `
    import { createRequire } from 'node:module';
    const { createApp } = await import(${JSON.stringify(join(root, 'dist/app.js'))});
    const app = createApp({ source: { kind: 'bundle', path: ${JSON.stringify(bundle)} }, mode: 'strict',
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
      logLevel: 'silent', shutdownGraceMs: 1000, debounceMs: 50, decisionLogSampleRate: 0, maxInFlight: 100 });
    await app.start();
    const loaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/undici/'));
    await app.stop();
    process.stdout.write(String(loaded));`;
  const file = join(mkdtempSync(join(tmpdir(), 'pdp-undici-')), 'probe.mjs');
  writeFileSync(file, script);
  return execFileSync(process.execPath, [file], { cwd: root, encoding: 'utf8' }) === 'true';
};

describe('HttpPool', () => {
  it('leaves undici unloaded when no bundle guardrail calls HTTP, and loads it for one that does', () => {
    expect(probe('test/fixtures/bundles/litellm-spec/bundle.yaml')).toBe(false);
    expect(probe('test/fixtures/bundles/http-guardrail/bundle.yaml')).toBe(true);
  });

  it('creates its dispatcher once, on first use, and closes cleanly whether used or not', async () => {
    const unused = new HttpPool();
    await unused.close();
    const pool = new HttpPool();
    expect(pool.dispatcher).toBe(pool.dispatcher);
    await pool.close();
  });

  it('opens at most MAX_CONNECTIONS_PER_ORIGIN connections to a vendor that never answers', async () => {
    const sockets = new Set<Socket>();
    let opened = 0;
    const server = createServer((socket) => {
      opened++;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const pool = new HttpPool();
    const aborts = new AbortController();
    const requests = Array.from({ length: MAX_CONNECTIONS_PER_ORIGIN + 72 }, () =>
      pool.dispatcher
        .request({ origin: `http://127.0.0.1:${port}`, path: '/', method: 'POST', body: '{}', signal: aborts.signal })
        .catch(() => undefined),
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(opened).toBe(MAX_CONNECTIONS_PER_ORIGIN);
    } finally {
      aborts.abort();
      await Promise.all(requests);
      await pool.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
